/*
 * libFuzzer target for the Python-literal parser and Ultralytics metadata
 * (detect/pyliteral.c, detect/ultralytics.c): any bytes are parsed; a parse
 * either fails with a message naming the byte, or gives a value that is
 * walked whole (every string read to its NUL) and read as Ultralytics
 * metadata, whose names must then be strings; then everything is freed
 * (LeakSanitizer).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detect/pyliteral.h"
#include "detect/ultralytics.h"

static size_t walk(const vg_py *v, int depth)
{
	if (depth > VG_PY_MAX_DEPTH + 1)
		abort();
	size_t n = 1;
	switch (v->type) {
	case VG_PY_STR:
		if (strlen(v->s) > v->len)
			abort();
		break;
	case VG_PY_LIST:
	case VG_PY_TUPLE:
		for (int i = 0; i < v->n; i++)
			n += walk(&v->items[i], depth + 1);
		break;
	case VG_PY_DICT:
		for (int i = 0; i < 2 * v->n; i++)
			n += walk(&v->items[i], depth + 1);
		break;
	default: break;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vg_py *v;
	char err[256];
	err[0] = '\0';
	if (vg_py_parse((const char *)data, size, &v, err, sizeof err) < 0) {
		if (!strstr(err, "at byte") && !strstr(err, "bytes"))
			abort();
	} else {
		if (walk(v, 0) > VG_PY_MAX_VALUES)
			abort();
		vg_py_free(v);
	}
	vg_ultra_meta m = { 0 };
	if (vg_ultra_meta_parse(&m, (const char *)data, size, err, sizeof err) == 0) {
		for (int i = 0; i < m.n_names; i++)
			if (m.names[i] && strlen(m.names[i]) > size)
				abort();
		if (m.imgsz_w < 0 || m.imgsz_h < 0)
			abort();
	}
	vg_ultra_meta_free(&m);
	return 0;
}
