#ifndef VG_ULTRALYTICS_H
#define VG_ULTRALYTICS_H

#include <stddef.h>

/*
 * Ultralytics' model metadata: class names, input size, stride, task. Its
 * ONNX exports store each key in metadata_props as a Python literal
 * ("names" = "{0: 'person', ...}", "imgsz" = "[640, 640]"); its TFLite
 * exports zip the whole dict onto the file as temp_meta.txt (a Python
 * literal) or metadata.json (JSON).
 */
typedef enum vg_ultra_source {
	VG_ULTRA_NONE = 0,
	VG_ULTRA_ONNX_PROPS,    /* metadata_props: boxes in input pixels */
	VG_ULTRA_TEMP_META,     /* temp_meta.txt zipped onto a TFLite file: boxes normalised */
	VG_ULTRA_METADATA_JSON, /* metadata.json likewise */
} vg_ultra_source;

typedef struct vg_ultra_meta {
	vg_ultra_source source;
	char **names;            /* indexed by class id, NULL where none is named */
	int n_names;             /* highest id + 1 */
	int imgsz_w, imgsz_h;    /* 0 when not given */
	int stride;              /* 0 when not given */
	char task[32];           /* "detect", "segment", ...; "" when not given */
} vg_ultra_meta;

/*
 * Fills meta from a dict (the whole metadata, or a dict of the keys read one
 * by one). Class ids must be 0..4095; names may be a dict {id: name} or a
 * list. 0, or -1 with err naming the key.
 */
struct vg_py;
int vg_ultra_meta_from_dict(vg_ultra_meta *meta, const struct vg_py *dict, char *err, size_t errlen);

/* Parses the metadata's text (a whole dict as a Python literal or JSON). */
int vg_ultra_meta_parse(vg_ultra_meta *meta, const char *text, size_t len, char *err, size_t errlen);

/*
 * Reads a model's Ultralytics metadata: 1 when found (meta filled), 0 when
 * the model has none, -1 with err (naming the key or file) when it is there
 * but malformed.
 */
struct nn_model;
int vg_ultra_meta_load(vg_ultra_meta *meta, const struct nn_model *m, char *err, size_t errlen);

void vg_ultra_meta_free(vg_ultra_meta *meta);

#endif
