/*
 * vigil bench: inference latency of a model, like TensorFlow Lite's
 * benchmark_model: warm-up runs, then timed runs on a fixed pseudo-random
 * input, reported as min / p50 / p90 / mean and achieved GFLOP/s.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "core/clock.h"
#include "core/log.h"
#include "detect/detector.h"
#include "detect/model_config.h"
#include "nn/model.h"
#include "options.h"

enum { OPT_RUNS = 500, OPT_WARMUP, OPT_PROFILE, OPT_NO_NATIVE };

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static void fill_input(nn_tensor *t)
{
	/* A fixed xorshift sequence: the same input every time, without a real image. */
	uint32_t s = 2463534242u;
	size_t bytes = nn_tensor_bytes(t);
	if (t->dtype == NN_F32) {
		float *f = t->data;
		for (size_t i = 0; i < bytes / 4; i++) {
			s ^= s << 13, s ^= s >> 17, s ^= s << 5;
			f[i] = (float)(s % 2001) / 1000.0f - 1.0f;
		}
	} else {
		uint8_t *b = t->data;
		for (size_t i = 0; i < bytes; i++) {
			s ^= s << 13, s ^= s >> 17, s ^= s << 5;
			b[i] = (uint8_t)s;
		}
	}
}

typedef struct op_time {
	double us;
	int nodes;
} op_time;

static void print_profile(nn_model *m, const double *node_us, int runs)
{
	const nn_graph *g = nn_model_graph(m);
	op_time per_op[NN_OP_COUNT][NN_BACKEND_COUNT];
	memset(per_op, 0, sizeof per_op);
	double total = 0;
	for (int i = 0; i < g->n_nodes; i++) {
		nn_backend b = g->nodes[i].runs_on;
		per_op[g->nodes[i].op][b].us += node_us[i] / runs;
		per_op[g->nodes[i].op][b].nodes++;
		total += node_us[i] / runs;
	}
	printf("\nprofile (mean per inference, sum of nodes %.3f ms):\n", total / 1000.0);
	printf("  %-28s %-10s %6s %10s %7s\n", "op", "backend", "nodes", "ms", "share");
	for (int op = 0; op < NN_OP_COUNT; op++)
		for (int b = NN_BACKEND_COUNT - 1; b >= 0; b--)
			if (per_op[op][b].nodes)
				printf("  %-28s %-10s %6d %10.3f %6.1f%%\n", nn_op_name((nn_op)op), nn_backend_name((nn_backend)b),
				       per_op[op][b].nodes, per_op[op][b].us / 1000.0, 100.0 * per_op[op][b].us / total);
	/* The ten slowest nodes. */
	printf("\n  slowest nodes:\n");
	int *order = malloc((size_t)g->n_nodes * sizeof *order);
	if (!order)
		return;
	for (int i = 0; i < g->n_nodes; i++)
		order[i] = i;
	for (int k = 0; k < 10 && k < g->n_nodes; k++) {
		int best = k;
		for (int i = k + 1; i < g->n_nodes; i++)
			if (node_us[order[i]] > node_us[order[best]])
				best = i;
		int t = order[k];
		order[k] = order[best];
		order[best] = t;
		const nn_node *n = &g->nodes[order[k]];
		printf("  %4d %-22s %-9s %8.3f ms  %s\n", order[k], nn_op_name(n->op), nn_model_node_backend(m, order[k]),
		       node_us[order[k]] / runs / 1000.0, n->name ? n->name : "");
	}
	free(order);
}

int vg_cmd_bench(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "threads", required_argument, NULL, 't' },
		{ "runs", required_argument, NULL, OPT_RUNS },
		{ "warmup", required_argument, NULL, OPT_WARMUP },
		{ "profile", no_argument, NULL, OPT_PROFILE },
		{ "reference-kernels", no_argument, NULL, 'r' },
		{ "no-native", no_argument, NULL, OPT_NO_NATIVE },
		{ "input-size", required_argument, NULL, OPT_INPUT_SIZE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	long threads = 1, runs = 50, warmup = 5;
	int profile = 0, reference = 0, no_native = 0, c;
	vg_detector_options dopt = { 0 };
	char err[512];
	optind = 1;
	opterr = 0;
	vg_log_set_level(VG_LOG_WARN);
	while ((c = getopt_long(argc, argv, ":m:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			path = optarg;
			break;
		case 't':
			if (vg_parse_int(optarg, 1, 64, &threads) < 0) {
				fprintf(stderr, "vigil: --threads expects a whole number from 1 to 64, not '%s'\n", optarg);
				return VG_EXIT_BAD_INPUT;
			}
			break;
		case OPT_RUNS:
		case OPT_WARMUP:
			if (vg_parse_int(optarg, c == OPT_RUNS ? 1 : 0, 100000, c == OPT_RUNS ? &runs : &warmup) < 0) {
				fprintf(stderr, "vigil: --%s expects a whole number, not '%s'\n",
					c == OPT_RUNS ? "runs" : "warmup", optarg);
				return VG_EXIT_BAD_INPUT;
			}
			break;
		case OPT_PROFILE:
			profile = 1;
			break;
		case 'r':
			reference = 1;
			break;
		case OPT_NO_NATIVE:
			no_native = 1;
			break;
		case OPT_INPUT_SIZE:
			if (vg_model_option(c, optarg, &dopt, err, sizeof err) < 0) {
				fprintf(stderr, "vigil: %s\n", err);
				return VG_EXIT_BAD_INPUT;
			}
			break;
		case 'h':
			printf("usage: vigil bench MODEL [--threads N] [--runs N] [--warmup N] [--profile] [--no-native]\n"
			       "                   [--input-size WxH]\n\n"
			       "Times inference alone (no decoding, no pre- or post-processing) on a fixed input.\n"
			       "--profile adds the time per op type and the slowest nodes.\n"
			       "--no-native leaves vigil's own AVX-512 kernels out: XNNPACK runs those nodes.\n"
			       "--input-size sets the input size of a model that leaves it unknown (default: the\n"
			       "model's sidecar's \"input_size\").\n");
			return VG_EXIT_OK;
		default:
			fprintf(stderr, "vigil: unknown or incomplete option '%s' (see vigil bench --help)\n", argv[optind - 1]);
			return VG_EXIT_BAD_INPUT;
		}
	}
	if (!path && optind < argc)
		path = argv[optind++];
	if (!path || optind < argc) {
		fprintf(stderr, "vigil: bench takes one model file (see vigil bench --help)\n");
		return VG_EXIT_BAD_INPUT;
	}
	nn_model *m;
	nn_prepare_options po = { .threads = (int)threads, .reference_only = reference, .no_native = no_native };
	nn_load_options lo = { .input_w = dopt.input_w, .input_h = dopt.input_h };
	if ((!lo.input_w && vg_model_config_input_size(path, NULL, &lo.input_w, &lo.input_h, err, sizeof err) < 0) ||
	    nn_model_load_ex(&m, path, &lo, err, sizeof err) < 0 || nn_model_prepare(m, &po, err, sizeof err) < 0) {
		fprintf(stderr, "vigil: %s\n", err);
		return VG_EXIT_BAD_INPUT;
	}
	for (int i = 0; i < nn_model_input_count(m); i++)
		fill_input(nn_model_input(m, i));
	for (long i = 0; i < warmup; i++) {
		if (nn_model_run(m, err, sizeof err) < 0) {
			fprintf(stderr, "vigil: %s\n", err);
			nn_model_free(m);
			return VG_EXIT_FAILURE;
		}
	}
	const nn_graph *g = nn_model_graph(m);
	int64_t *lat = malloc((size_t)runs * sizeof *lat);
	double *node_us = calloc((size_t)g->n_nodes + 1, sizeof *node_us);
	if (!lat || !node_us) {
		fprintf(stderr, "vigil: out of memory\n");
		return VG_EXIT_FAILURE;
	}
	if (profile)
		nn_model_set_profiling(m, 1);
	int status = VG_EXIT_OK;
	for (long i = 0; i < runs; i++) {
		int64_t t0 = vg_mono_us();
		if (nn_model_run(m, err, sizeof err) < 0) {
			fprintf(stderr, "vigil: %s\n", err);
			status = VG_EXIT_FAILURE;
			runs = i;
			break;
		}
		lat[i] = vg_mono_us() - t0;
		if (profile)
			for (int n = 0; n < g->n_nodes; n++)
				node_us[n] += nn_model_node_time_us(m, n);
	}
	if (runs > 0) {
		int64_t sum = 0;
		for (long i = 0; i < runs; i++)
			sum += lat[i];
		qsort(lat, (size_t)runs, sizeof *lat, cmp_i64);
		double p50 = (double)lat[runs / 2] / 1000.0;
		double flops = (double)nn_model_flops(m);
		printf("%s: threads %ld, %ld runs after %ld warm-up: min %.3f ms  p50 %.3f ms  p90 %.3f ms  mean %.3f ms"
		       "  %.2f GFLOP/s (%.3f GFLOPs per run)%s\n",
		       path, threads, runs, warmup, (double)lat[0] / 1000.0, p50, (double)lat[(runs * 9) / 10] / 1000.0,
		       (double)sum / (double)runs / 1000.0, flops / (p50 / 1000.0) / 1e9, flops / 1e9,
		       reference ? " [reference kernels]" : "");
		if (profile)
			print_profile(m, node_us, (int)runs);
	}
	free(lat);
	free(node_us);
	nn_model_free(m);
	return status;
}
