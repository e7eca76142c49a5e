/*
 * Test tool: vigil's Caffe SSD PriorBox priors and DetectionOutput decoding on
 * their own, for comparison with OpenCV's layers (tests/integration/
 * test_ssd_priorbox.py). The settings are those vigil uses for MODEL's file
 * name (its built-in defaults, for an input of WxH), with an optional sidecar
 * over them.
 *   ssd-priorbox-run [--sidecar FILE] priors MODEL WxH OUT.bin
 *       writes the priors as float32 (xmin, ymin, xmax, ymax) and prints their count
 *   ssd-priorbox-run [--sidecar FILE] decode MODEL WxH LOC.bin CONF.bin THRESHOLD
 *       prints one line per detection, best first: class score x0 y0 x1 y1
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/decode.h"
#include "detect/model_config.h"

static float *read_floats(const char *path, long *count)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fseek(f, 0, SEEK_SET);
	float *v = size > 0 ? malloc((size_t)size) : NULL;
	if (v && fread(v, 1, (size_t)size, f) != (size_t)size) {
		free(v);
		v = NULL;
	}
	fclose(f);
	*count = size / (long)sizeof(float);
	return v;
}

int main(int argc, char **argv)
{
	const char *sidecar = NULL;
	int a = 1;
	if (a + 1 < argc && !strcmp(argv[a], "--sidecar")) {
		sidecar = argv[a + 1];
		a += 2;
	}
	int w = 0, h = 0;
	if (argc - a < 4 || sscanf(argv[a + 2], "%dx%d", &w, &h) != 2) {
		fprintf(stderr, "usage: ssd-priorbox-run [--sidecar FILE] priors MODEL WxH OUT.bin\n"
				"       ssd-priorbox-run [--sidecar FILE] decode MODEL WxH LOC.bin CONF.bin THRESHOLD\n");
		return 2;
	}
	char err[512];
	nn_tensor in;
	memset(&in, 0, sizeof in);
	in.dtype = NN_F32;
	in.rank = 4;
	in.shape[0] = 1;
	in.shape[1] = h;
	in.shape[2] = w;
	in.shape[3] = 3;
	vg_model_config cfg;
	vg_model_config_builtin(&cfg, argv[a + 1], &in, NULL, 0);
	if (sidecar) {
		vg_model_config side;
		if (vg_model_config_load(&side, sidecar, err, sizeof err) < 0) {
			fprintf(stderr, "ssd-priorbox-run: %s\n", err);
			return 2;
		}
		vg_model_config_overlay(&cfg, &side);
	}
	if (!cfg.has_priors) {
		fprintf(stderr, "ssd-priorbox-run: no prior layers for %s\n", argv[a + 1]);
		return 2;
	}
	int n = vg_priors_generate(&cfg.priors, w, h, NULL, 0, err, sizeof err);
	if (n < 1) {
		fprintf(stderr, "ssd-priorbox-run: %s\n", err);
		return 2;
	}
	float *priors = malloc((size_t)n * 4 * sizeof *priors);
	vg_priors_generate(&cfg.priors, w, h, priors, n, NULL, 0);
	int rc = 0;
	if (!strcmp(argv[a], "priors")) {
		FILE *o = fopen(argv[a + 3], "wb");
		if (!o || fwrite(priors, sizeof *priors, (size_t)n * 4, o) != (size_t)n * 4 || fclose(o) != 0) {
			fprintf(stderr, "ssd-priorbox-run: cannot write %s\n", argv[a + 3]);
			rc = 1;
		}
		printf("%d\n", n);
	} else if (!strcmp(argv[a], "decode") && argc - a == 6) {
		long n_loc, n_conf;
		float *loc = read_floats(argv[a + 3], &n_loc), *conf = read_floats(argv[a + 4], &n_conf);
		if (!loc || !conf || n_loc != 4L * n || n_conf % n || n_conf / n < 2) {
			fprintf(stderr, "ssd-priorbox-run: need %d location values and %d x classes confidences\n", 4 * n,
				n);
			return 2;
		}
		vg_detection_output_params p = {
			.num_classes = (int)(n_conf / n),
			.background_label_id = 0,
			.nms_threshold = cfg.iou > 0 ? cfg.iou : 0.45f,
			.top_k = cfg.top_k > 0 ? cfg.top_k : 400,
			.keep_top_k = cfg.max_detections > 0 ? cfg.max_detections : 200,
		};
		const float caffe[4] = { 0.1f, 0.1f, 0.2f, 0.2f };
		memcpy(p.variances, cfg.has_variances ? cfg.priors.variances : caffe, sizeof p.variances);
		vg_detection *dets = malloc(VG_MAX_DETECTIONS * sizeof *dets);
		int k = vg_decode_ssd_priorbox(loc, conf, priors, n, &p, (float)atof(argv[a + 5]), dets,
					       VG_MAX_DETECTIONS);
		for (int i = 0; i < k; i++)
			printf("%d %.7f %.7f %.7f %.7f %.7f\n", dets[i].class_id, (double)dets[i].score, (double)dets[i].x0,
			       (double)dets[i].y0, (double)dets[i].x1, (double)dets[i].y1);
		free(dets);
		free(loc);
		free(conf);
	} else {
		fprintf(stderr, "ssd-priorbox-run: unknown command '%s'\n", argv[a]);
		rc = 2;
	}
	free(priors);
	vg_model_config_free(&cfg);
	return rc;
}
