/* vigil inspect: what a model is and how vigil will run it. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "core/log.h"
#include "detect/detector.h"
#include "detect/model_config.h"
#include "nn/model.h"
#include "nn/format/tflite.h"
#include "options.h"

/* What the file says about itself, before vigil builds anything from it: TFLite's own op names and counts. */
static void print_tflite_info(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return;
	/* A folder (a SavedModel) opens too, and then claims to be LONG_MAX bytes long. */
	struct stat st;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		fclose(f);
		return;
	}
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *buf = len > 8 ? malloc((size_t)len) : NULL;
	int ok = buf && fread(buf, 1, (size_t)len, f) == (size_t)len;
	fclose(f);
	nn_tflite_info info;
	char err[256];
	if (!ok || memcmp(buf + 4, "TFL3", 4) != 0 || nn_tflite_read_info(&info, buf, (size_t)len, path, err, sizeof err) < 0) {
		free(buf);
		return;
	}
	printf("format: TensorFlow Lite, schema %u%s%s%s%s\n", info.schema_version, info.description ? ", \"" : "",
	       info.description ? info.description : "", info.description ? "\"" : "",
	       info.n_subgraphs > 1 ? " (more than one subgraph: only the first runs)" : "");
	if (info.meta_name)
		printf("metadata: %s%s%s%s%s%s%s\n", info.meta_name, info.meta_version ? " version " : "",
		       info.meta_version ? info.meta_version : "", info.meta_author ? ", by " : "",
		       info.meta_author ? info.meta_author : "", info.meta_license ? ", licence: " : "",
		       info.meta_license ? info.meta_license : "");
	printf("operators in the file: %d\n", info.n_ops);
	/* Counts per name, in order of first appearance. */
	for (int i = 0; i < info.n_ops; i++) {
		int seen = 0, count = 0;
		for (int j = 0; j < i && !seen; j++)
			seen = !strcmp(info.op_names[j], info.op_names[i]);
		if (seen)
			continue;
		for (int j = i; j < info.n_ops; j++)
			count += !strcmp(info.op_names[j], info.op_names[i]);
		printf("  %-32s %4d\n", info.op_names[i], count);
	}
	nn_tflite_info_free(&info);
	free(buf);
}

static void print_tensor(int i, const nn_tensor *t)
{
	printf("  %d  %-40s %-8s [", i, t->name ? t->name : "?", nn_dtype_name(t->dtype));
	for (int d = 0; d < t->rank; d++)
		printf("%s%d", d ? "," : "", t->shape[d]);
	printf("]");
	if (t->quant.count == 1)
		printf("  scale %g zero_point %d", t->quant.scale[0], t->quant.zero_point ? t->quant.zero_point[0] : 0);
	else if (t->quant.count > 1)
		printf("  per-channel (%d scales, axis %d)", t->quant.count, t->quant.axis);
	if (t->dynamic_rows)
		printf("  (rows known at run time: up to %d)", t->rank ? t->shape[0] : 0);
	printf("\n");
}

int vg_cmd_inspect(int argc, char **argv)
{
	static const struct option opts[] = { VG_MODEL_OPTIONS, { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	vg_detector_options dopt = { 0 };
	char err[512];
	int c;
	optind = 1;
	opterr = 0;
	vg_log_set_level(VG_LOG_WARN);
	while ((c = getopt_long(argc, argv, ":m:h", opts, NULL)) != -1) {
		int m = vg_model_option(c, optarg, &dopt, err, sizeof err);
		if (m < 0) {
			fprintf(stderr, "vigil: %s\n", err);
			return VG_EXIT_BAD_INPUT;
		}
		if (m > 0)
			continue;
		if (c == 'h') {
			printf("usage: vigil inspect MODEL [--labels FILE] [--decoder NAME] [--sidecar FILE]\n\n"
			       "Prints the model's inputs and outputs with their quantization, its ops and which\n"
			       "run on XNNPACK or on reference kernels, the decoder vigil picks for it and why,\n"
			       "and how frames are prepared for it (options over sidecar over built-in defaults).\n");
			return VG_EXIT_OK;
		}
		fprintf(stderr, "vigil: unknown or incomplete option '%s' (see vigil inspect --help)\n", argv[optind - 1]);
		return VG_EXIT_BAD_INPUT;
	}
	if (!dopt.model && optind < argc)
		dopt.model = argv[optind++];
	if (!dopt.model || optind < argc) {
		fprintf(stderr, "vigil: inspect takes one model file (see vigil inspect --help)\n");
		return VG_EXIT_BAD_INPUT;
	}

	struct stat st;
	if (stat(dopt.model, &st) != 0) {
		fprintf(stderr, "vigil: cannot open model '%s'\n", dopt.model);
		return VG_EXIT_BAD_INPUT;
	}
	if (S_ISDIR(st.st_mode))
		printf("model: %s (a folder)\n", dopt.model);
	else
		printf("model: %s (%.1f MiB)\n", dopt.model, (double)st.st_size / 1048576.0);
	print_tflite_info(dopt.model);
	nn_model *m;
	nn_load_options lo = { .input_w = dopt.input_w, .input_h = dopt.input_h };
	if ((!lo.input_w &&
	     vg_model_config_input_size(dopt.model, dopt.sidecar, &lo.input_w, &lo.input_h, err, sizeof err) < 0) ||
	    nn_model_load_ex(&m, dopt.model, &lo, err, sizeof err) < 0) {
		printf("cannot run: %s\n", err);
		fprintf(stderr, "vigil: %s\n", err);
		return VG_EXIT_BAD_INPUT;
	}
	/* A file that holds several things to run (a SavedModel's signatures and functions) says which one vigil took. */
	if (nn_model_origin(m))
		printf("runs: %s\n", nn_model_origin(m));
	/* The keys of the text the file carries (ONNX metadata_props, zips on TFLite files); values can be long. */
	for (int i = 0;; i++) {
		const char *key;
		if (!nn_model_metadata_at(m, i, &key))
			break;
		printf("%s%s", i ? ", " : "metadata keys: ", key);
		if (!nn_model_metadata_at(m, i + 1, &key))
			printf("\n");
	}
	const nn_graph *g = nn_model_graph(m);
	int loaded_nodes = g->n_nodes;
	nn_prepare_options po = { .threads = 1 };
	if (nn_model_prepare(m, &po, err, sizeof err) < 0) {
		printf("cannot run: %s\n", err);
		nn_model_free(m);
		return VG_EXIT_BAD_INPUT;
	}
	printf("inputs:\n");
	for (int i = 0; i < nn_model_input_count(m); i++)
		print_tensor(i, nn_model_input(m, i));
	printf("outputs:\n");
	for (int i = 0; i < nn_model_output_count(m); i++)
		print_tensor(i, nn_model_output(m, i));

	g = nn_model_graph(m);
	printf("engine nodes: %d loaded, %d after constant folding and activation fusion\n", loaded_nodes, g->n_nodes);
	int count[NN_OP_COUNT][NN_BACKEND_COUNT] = { { 0 } };
	int per_backend[NN_BACKEND_COUNT] = { 0 };
	for (int i = 0; i < g->n_nodes; i++) {
		count[g->nodes[i].op][g->nodes[i].runs_on]++;
		per_backend[g->nodes[i].runs_on]++;
	}
	printf("  %-28s %6s %8s %8s %10s\n", "op", "count", "native", "xnnpack", "reference");
	for (int op = 0; op < NN_OP_COUNT; op++) {
		const int *k = count[op];
		if (k[0] + k[1] + k[2] == 0)
			continue;
		printf("  %-28s %6d %8d %8d %10d\n", nn_op_name((nn_op)op), k[0] + k[1] + k[2], k[NN_BACKEND_NATIVE],
		       k[NN_BACKEND_XNNPACK], k[NN_BACKEND_REFERENCE]);
	}
	printf("  of %d nodes, %d run on vigil's native kernels, %d on XNNPACK and %d on reference kernels; every op "
	       "is supported\n",
	       g->n_nodes, per_backend[NN_BACKEND_NATIVE], per_backend[NN_BACKEND_XNNPACK],
	       per_backend[NN_BACKEND_REFERENCE]);
	printf("arena: %.1f KiB of activations; %.3f GFLOPs per inference\n", (double)nn_model_arena_bytes(m) / 1024.0,
	       (double)nn_model_flops(m) / 1e9);
	int n_labels = 0;
	nn_model_labels(m, &n_labels);
	printf("labels in the model: %d\n", n_labels);
	nn_model_free(m);

	vg_detector *det;
	if (vg_detector_create(&det, &dopt, err, sizeof err) < 0) {
		printf("decoder: none: %s\n", err);
		return VG_EXIT_OK;
	}
	printf("decoder: %s (%s)\n", vg_detector_decoder_name(det), vg_detector_decoder_reason(det));
	printf("preprocessing and filtering: %s\n", vg_detector_config_summary(det));
	if (vg_detector_state_count(det) > 0)
		printf("state carried from frame to frame (output -> input): %s; starts at zero, reset when the "
		       "source starts again\n",
		       vg_detector_state_summary(det));
	vg_detector_destroy(det);
	return VG_EXIT_OK;
}
