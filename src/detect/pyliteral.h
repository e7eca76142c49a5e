#ifndef VG_PYLITERAL_H
#define VG_PYLITERAL_H

#include <stddef.h>

/*
 * A bounded parser of Python literals as Ultralytics writes its model
 * metadata ({'names': {0: 'person', ...}, 'imgsz': [640, 640], ...}): dicts,
 * lists, tuples, ints, floats, strings in either quote style with
 * backslash escapes, True, False, None. JSON's true, false and null are
 * taken too, so metadata.json reads with the same parser. Nesting is limited
 * to VG_PY_MAX_DEPTH, the text to VG_PY_MAX_TEXT bytes and the values to
 * VG_PY_MAX_VALUES; anything else is an error naming the byte offset.
 */
#define VG_PY_MAX_DEPTH 32
#define VG_PY_MAX_TEXT (4 << 20)
#define VG_PY_MAX_VALUES 100000

typedef enum vg_py_type {
	VG_PY_NONE,
	VG_PY_BOOL,
	VG_PY_INT,
	VG_PY_FLOAT,
	VG_PY_STR,
	VG_PY_LIST,
	VG_PY_TUPLE,
	VG_PY_DICT,
} vg_py_type;

typedef struct vg_py {
	vg_py_type type;
	long long i;          /* bool, int */
	double f;             /* float (and int, converted) */
	char *s;              /* str: NUL-terminated, UTF-8 (\x, \u escapes encoded) */
	size_t len;           /* str: bytes, not counting the NUL */
	int n;                /* list, tuple: items; dict: pairs */
	struct vg_py *items;  /* list, tuple: n items; dict: 2n, key then value */
} vg_py;

/* Parses the whole text (surrounding white space allowed). 0 with *out, or -1 with err. */
int vg_py_parse(const char *text, size_t len, vg_py **out, char *err, size_t errlen);
void vg_py_free(vg_py *v);

/* The value of a dict under a string key, or NULL. */
const vg_py *vg_py_get(const vg_py *dict, const char *key);

/* Whether v is a number (int, or float), and its value. */
int vg_py_number(const vg_py *v, double *out);

#endif
