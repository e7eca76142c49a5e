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

/*
 * A comma-separated list of classes (names, matched without case, or ids)
 * into at most max ids. Messages name the option ("--classes") and whose
 * classes they are ("this model"), and add no_labels (what to give
 * instead) when labels is NULL or empty. Returns the number of ids (at
 * least 1), or -1 with a message in err.
 */
int vg_labels_parse_classes(const vg_labels *labels, const char *list, const char *option, const char *whose,
			    const char *no_labels, int *ids, int max, char *err, size_t errlen);

void vg_labels_free(vg_labels *labels);

#endif
