/*
 * decode-npy: decodes a model's outputs held in .npy files (from ONNX
 * Runtime, say) with vigil's decoders, and prints the detections as JSON,
 * boxes normalised to the model's input.
 *
 * usage: decode-npy DECODER W H [--threshold T] [--labels FILE] OUT.npy...
 * DECODER is "auto" or a --decoder name; W x H the model input's size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/npy.h"
#include "detect/detector.h"
#include "detect/labels.h"
#include "nn/nn.h"

#define MAX_OUT 16

static void json_str(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: decode-npy DECODER W H [--threshold T] [--labels FILE] OUT.npy...\n");
		return 2;
	}
	const char *decoder = argv[1];
	int w = atoi(argv[2]), h = atoi(argv[3]);
	float threshold = 0;
	const char *labels_path = NULL;
	int first = 4;
	while (first + 1 < argc && argv[first][0] == '-') {
		if (!strcmp(argv[first], "--threshold"))
			threshold = strtof(argv[first + 1], NULL);
		else if (!strcmp(argv[first], "--labels"))
			labels_path = argv[first + 1];
		else {
			fprintf(stderr, "decode-npy: unknown option %s\n", argv[first]);
			return 2;
		}
		first += 2;
	}
	int n = argc - first;
	if (n < 1 || n > MAX_OUT || w <= 0 || h <= 0) {
		fprintf(stderr, "decode-npy: give W, H and 1 to %d .npy files\n", MAX_OUT);
		return 2;
	}
	vg_npy arrays[MAX_OUT];
	nn_tensor t[MAX_OUT];
	char err[512];
	for (int i = 0; i < n; i++) {
		if (vg_npy_read_file(&arrays[i], argv[first + i], err, sizeof err) < 0) {
			fprintf(stderr, "decode-npy: %s\n", err);
			return 1;
		}
		if (arrays[i].dtype != VG_NPY_F32 || arrays[i].rank > 6) {
			fprintf(stderr, "decode-npy: %s: expected float32 of rank 6 at most\n", argv[first + i]);
			return 1;
		}
		memset(&t[i], 0, sizeof t[i]);
		t[i].name = argv[first + i];
		t[i].dtype = NN_F32;
		t[i].rank = arrays[i].rank;
		for (int k = 0; k < arrays[i].rank; k++)
			t[i].shape[k] = (int)arrays[i].shape[k];
		t[i].data = arrays[i].data;
	}
	vg_labels labels = { 0 };
	if (labels_path && vg_labels_load(&labels, labels_path, err, sizeof err) < 0) {
		fprintf(stderr, "decode-npy: %s\n", err);
		return 1;
	}
	vg_detection dets[VG_MAX_DETECTIONS];
	vg_decoder_kind kind;
	char reason[512];
	int count = vg_decode_tensors(t, n, w, h, NULL, decoder, threshold, &kind, reason, sizeof reason, dets,
				      VG_MAX_DETECTIONS, err, sizeof err);
	if (count < 0) {
		fprintf(stderr, "decode-npy: %s\n", err);
		return 1;
	}
	printf("{\"decoder\": ");
	json_str(vg_decoder_name(kind));
	printf(", \"reason\": ");
	json_str(reason);
	printf(", \"detections\": [");
	for (int i = 0; i < count; i++) {
		const vg_detection *d = &dets[i];
		printf("%s\n  {\"class\": %d, \"label\": ", i ? "," : "", d->class_id);
		json_str(vg_labels_get(&labels, d->class_id));
		printf(", \"score\": %.5f, \"box\": [%.5f, %.5f, %.5f, %.5f]}", (double)d->score, (double)d->x0,
		       (double)d->y0, (double)d->x1, (double)d->y1);
	}
	printf("]}\n");
	vg_labels_free(&labels);
	for (int i = 0; i < n; i++)
		vg_npy_free(&arrays[i]);
	return 0;
}
