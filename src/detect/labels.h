#ifndef VG_LABELS_H
#define VG_LABELS_H

#include <stddef.h>

/*
 * Class names. Two file formats are read:
 *   - one name per line, line N naming class N; a first line "???" is the
 *     background placeholder of TensorFlow's object-detection label maps and
 *     is dropped, since detection models number their classes after it;
 *   - "ID NAME" per line (Coral's format), ids possibly sparse.
 */
typedef struct vg_labels {
	char **names;  /* indexed by class id; NULL where the file names none */
	int count;
} vg_labels;

int vg_labels_load(vg_labels *out, const char *path, char *err, size_t errlen);

/* Parses label text already in memory (e.g. from a model's metadata). */
int vg_labels_parse(vg_labels *out, const char *text, size_t len, char *err, size_t errlen);

/* Copies a plain list of names (index = class id). */
int vg_labels_from_list(vg_labels *out, const char *const *names, int count);

/* The 80 COCO class names, 0-based and contiguous: person, bicycle, car, ... toothbrush. */
#define VG_COCO80_COUNT 80
extern const char *const vg_coco80_labels[VG_COCO80_COUNT];

/* The name of a class, or NULL when unknown. */
const char *vg_labels_get(const vg_labels *labels, int class_id);

void vg_labels_free(vg_labels *labels);

#endif
