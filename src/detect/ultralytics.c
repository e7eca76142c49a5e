#include "detect/ultralytics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/pyliteral.h"
#include "nn/nn.h"

#define MAX_CLASS_ID 4095

void vg_ultra_meta_free(vg_ultra_meta *m)
{
	for (int i = 0; i < m->n_names; i++)
		free(m->names[i]);
	free(m->names);
	memset(m, 0, sizeof *m);
}

static int set_name(vg_ultra_meta *m, long long id, const vg_py *name, char *err, size_t errlen)
{
	if (id < 0 || id > MAX_CLASS_ID) {
		snprintf(err, errlen, "'names': class id %lld outside 0..%d", id, MAX_CLASS_ID);
		return -1;
	}
	if (!name || name->type != VG_PY_STR) {
		snprintf(err, errlen, "'names': the name of class %lld is not a string", id);
		return -1;
	}
	if (id >= m->n_names) {
		char **nn = realloc(m->names, (size_t)(id + 1) * sizeof *nn);
		if (!nn) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		memset(nn + m->n_names, 0, (size_t)(id + 1 - m->n_names) * sizeof *nn);
		m->names = nn;
		m->n_names = (int)id + 1;
	}
	free(m->names[id]);
	m->names[id] = strdup(name->s);
	if (!m->names[id]) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int read_names(vg_ultra_meta *m, const vg_py *v, char *err, size_t errlen)
{
	if (v->type == VG_PY_DICT) {
		for (int i = 0; i < v->n; i++) {
			const vg_py *k = &v->items[2 * i];
			long long id;
			if (k->type == VG_PY_INT) {
				id = k->i;
			} else if (k->type == VG_PY_STR) {
				/* JSON turns the ids into strings. */
				char *end;
				id = strtoll(k->s, &end, 10);
				if (!k->s[0] || *end) {
					snprintf(err, errlen, "'names': key '%.40s' is not a class id", k->s);
					return -1;
				}
			} else {
				snprintf(err, errlen, "'names': a key is not a class id");
				return -1;
			}
			if (set_name(m, id, &v->items[2 * i + 1], err, errlen) < 0)
				return -1;
		}
		return 0;
	}
	if (v->type == VG_PY_LIST || v->type == VG_PY_TUPLE) {
		for (int i = 0; i < v->n; i++)
			if (set_name(m, i, &v->items[i], err, errlen) < 0)
				return -1;
		return 0;
	}
	snprintf(err, errlen, "'names': expected a dict of class ids to names, or a list");
	return -1;
}

static int size_value(const vg_py *v, int *out)
{
	double d;
	if (!vg_py_number(v, &d) || d < 1 || d > 16384 || d != (double)(int)d)
		return -1;
	*out = (int)d;
	return 0;
}

int vg_ultra_meta_from_dict(vg_ultra_meta *m, const vg_py *dict, char *err, size_t errlen)
{
	if (!dict || dict->type != VG_PY_DICT) {
		snprintf(err, errlen, "expected a dict");
		return -1;
	}
	const vg_py *v;
	if ((v = vg_py_get(dict, "names")) && read_names(m, v, err, errlen) < 0)
		return -1;
	if ((v = vg_py_get(dict, "imgsz"))) {
		/* [h, w] (Ultralytics' order), or one number for a square. */
		int h, w;
		if (size_value(v, &h) == 0) {
			w = h;
		} else if ((v->type == VG_PY_LIST || v->type == VG_PY_TUPLE) && v->n == 2 &&
			   size_value(&v->items[0], &h) == 0 && size_value(&v->items[1], &w) == 0) {
		} else {
			snprintf(err, errlen, "'imgsz': expected [height, width] or a number, each 1 to 16384");
			return -1;
		}
		m->imgsz_w = w;
		m->imgsz_h = h;
	}
	if ((v = vg_py_get(dict, "stride")) && size_value(v, &m->stride) < 0) {
		snprintf(err, errlen, "'stride': expected a whole number from 1 to 16384");
		return -1;
	}
	if ((v = vg_py_get(dict, "task"))) {
		if (v->type != VG_PY_STR) {
			snprintf(err, errlen, "'task': expected a string");
			return -1;
		}
		snprintf(m->task, sizeof m->task, "%s", v->s);
	}
	return 0;
}

int vg_ultra_meta_parse(vg_ultra_meta *m, const char *text, size_t len, char *err, size_t errlen)
{
	vg_py *v;
	char why[256];
	if (vg_py_parse(text, len, &v, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	int rc = vg_ultra_meta_from_dict(m, v, err, errlen);
	vg_py_free(v);
	return rc;
}

/* ONNX metadata_props: one literal per key; built into a dict of those present. */
static int load_props(vg_ultra_meta *m, const struct nn_model *model, char *err, size_t errlen)
{
	static const char *const keys[] = { "names", "imgsz", "stride", "task" };
	int found = 0;
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		const char *text = nn_model_metadata(model, keys[i]);
		if (!text)
			continue;
		vg_py *v;
		char why[256];
		if (!strcmp(keys[i], "task")) {
			/* Written as a bare word (detect), not a literal. */
			snprintf(m->task, sizeof m->task, "%s", text);
			continue;
		}
		if (vg_py_parse(text, strlen(text), &v, why, sizeof why) < 0) {
			snprintf(err, errlen, "metadata '%s': %s", keys[i], why);
			return -1;
		}
		vg_py pair[2] = { { .type = VG_PY_STR, .s = (char *)keys[i], .len = strlen(keys[i]) }, *v };
		vg_py dict = { .type = VG_PY_DICT, .n = 1, .items = pair };
		int rc = vg_ultra_meta_from_dict(m, &dict, err, errlen);
		vg_py_free(v);
		if (rc < 0)
			return -1;
		found = 1;
	}
	return found;
}

int vg_ultra_meta_load(vg_ultra_meta *m, const struct nn_model *model, char *err, size_t errlen)
{
	memset(m, 0, sizeof *m);
	int rc = load_props(m, model, err, errlen);
	if (rc < 0) {
		vg_ultra_meta_free(m);
		return -1;
	}
	if (rc > 0 && m->n_names > 0) {
		m->source = VG_ULTRA_ONNX_PROPS;
		return 1;
	}
	vg_ultra_meta_free(m);
	static const struct {
		const char *file;
		vg_ultra_source source;
	} files[] = { { "temp_meta.txt", VG_ULTRA_TEMP_META }, { "metadata.json", VG_ULTRA_METADATA_JSON } };
	for (size_t i = 0; i < 2; i++) {
		const char *text = nn_model_metadata(model, files[i].file);
		if (!text)
			continue;
		char why[256];
		if (vg_ultra_meta_parse(m, text, strlen(text), why, sizeof why) < 0) {
			snprintf(err, errlen, "metadata file '%s': %s", files[i].file, why);
			vg_ultra_meta_free(m);
			return -1;
		}
		m->source = files[i].source;
		return 1;
	}
	return 0;
}
