/*
 * What fusing SiLU gains: x * sigmoid(x) on YOLO-sized float tensors, one
 * thread, three ways:
 *   unfused  LOGISTIC then MUL, two XNNPACK nodes and a tensor between them
 *            (the sigmoid is made a graph output so that the fuse pass
 *            leaves it, which adds no work);
 *   xnnpack  one SILU node on XNNPACK (its sigmoid into a scratch buffer,
 *            then its multiply), what runs where the CPU lacks AVX-512F;
 *   native   one SILU node on the native AVX-512 kernel (one pass).
 * Prints the median and the fastest of ROUNDS runs per way, in interleaved
 * rounds, the ratios to unfused, and bench/run's RESULT lines.
 *
 *   ninja -C build bench/bench-silu && ./build/bench/bench-silu [rounds]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/backend/native.h"
#include "nn/model.h"

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int add_tensor(nn_graph *g, const char *name, const int *shape)
{
	int t = nn_graph_add_tensor(g, name);
	if (t < 0)
		exit(1);
	g->tensors[t].dtype = NN_F32;
	g->tensors[t].rank = 4;
	memcpy(g->tensors[t].shape, shape, 4 * sizeof *shape);
	return t;
}

static nn_model *build(const int *shape, int fused, int no_native)
{
	nn_graph *g = nn_graph_create("silu");
	int x = add_tensor(g, "x", shape), s = add_tensor(g, "s", shape), y = add_tensor(g, "y", shape);
	nn_node *n = nn_graph_add_node(g, NN_OP_LOGISTIC, 1, 1);
	n->inputs[0] = x, n->outputs[0] = s;
	n = nn_graph_add_node(g, NN_OP_MUL, 2, 1);
	n->inputs[0] = x, n->inputs[1] = s, n->outputs[0] = y;
	g->inputs = malloc(sizeof(int));
	g->outputs = malloc(2 * sizeof(int));
	g->inputs[0] = x;
	g->n_inputs = 1;
	g->outputs[0] = y;
	g->outputs[1] = s;
	g->n_outputs = fused ? 1 : 2;
	nn_model *m;
	char err[512];
	nn_prepare_options opt = { .threads = 1, .no_native = no_native };
	if (nn_model_from_graph(&m, g, err, sizeof err) || nn_model_prepare(m, &opt, err, sizeof err)) {
		fprintf(stderr, "bench-silu: %s\n", err);
		exit(1);
	}
	nn_tensor *in = nn_model_input(m, 0);
	float *v = in->data;
	for (int64_t i = 0; i < nn_tensor_elements(in); i++)
		v[i] = (float)((i * 2654435761u) % 2000) / 100.0f - 10.0f;
	return m;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 200;
	if (rounds < 5)
		rounds = 5;
	static const int shapes[][4] = { { 1, 208, 208, 16 }, { 1, 104, 104, 32 }, { 1, 52, 52, 64 }, { 1, 26, 26, 128 } };
	const char *names[3] = { "unfused", "xnnpack", "native" };
	printf("SiLU, one thread, %d interleaved rounds; median (fastest) in microseconds\n", rounds);
	printf("%-16s %18s %18s %18s %9s %9s\n", "shape", names[0], names[1], names[2], "xnn/unf", "nat/unf");
	for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
		nn_model *m[3] = { build(shapes[k], 0, 1), build(shapes[k], 1, 1),
				   nn_native_available() ? build(shapes[k], 1, 0) : NULL };
		double *t[3];
		for (int w = 0; w < 3; w++)
			t[w] = calloc((size_t)rounds, sizeof(double));
		char err[256];
		for (int r = -3; r < rounds; r++)
			for (int w = 0; w < 3; w++) {
				if (!m[w])
					continue;
				double t0 = now_us();
				if (nn_model_run(m[w], err, sizeof err)) {
					fprintf(stderr, "bench-silu: %s\n", err);
					return 1;
				}
				if (r >= 0)
					t[w][r] = now_us() - t0;
			}
		double med[3] = { 0, 0, 0 }, best[3] = { 0, 0, 0 };
		for (int w = 0; w < 3; w++) {
			qsort(t[w], (size_t)rounds, sizeof(double), cmp);
			med[w] = t[w][rounds / 2];
			best[w] = t[w][0];
		}
		char shape[32], cell[3][32];
		snprintf(shape, sizeof shape, "%dx%dx%dx%d", shapes[k][0], shapes[k][1], shapes[k][2], shapes[k][3]);
		for (int w = 0; w < 3; w++)
			if (m[w])
				snprintf(cell[w], sizeof cell[w], "%.1f (%.1f)", med[w], best[w]);
			else
				snprintf(cell[w], sizeof cell[w], "no AVX-512F");
		printf("%-16s %18s %18s %18s %9.2f %9.2f\n", shape, cell[0], cell[1], cell[2], med[1] / med[0],
		       m[2] ? med[2] / med[0] : 0.0);
		if (m[2])
			printf("RESULT\tsilu %s fused speed-up\t%.2f\tx\t>1\n", shape, med[0] / med[2]);
		for (int w = 0; w < 3; w++) {
			free(t[w]);
			if (m[w])
				nn_model_free(m[w]);
		}
	}
	return 0;
}
