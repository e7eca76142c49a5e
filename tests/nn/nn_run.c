/*
 * Test tool: runs a model on raw input bytes and writes every output, so that
 * tests can compare vigil's engine with an independent executor.
 * usage: nn-run [--threads N] [--reference] [--input-size WxH] MODEL INPUT.bin OUTDIR
 * Writes OUTDIR/i.bin per output (raw tensor bytes) and prints one line per
 * output: index, name, dtype, shape, scale, zero point. Inputs after the
 * first (such as an LSTM's state) are filled with zero bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn.h"

int main(int argc, char **argv)
{
	nn_prepare_options po = { .threads = 1 };
	nn_load_options lo = { 0 };
	int a = 1;
	for (; a < argc && argv[a][0] == '-'; a++) {
		if (!strcmp(argv[a], "--threads") && a + 1 < argc)
			po.threads = atoi(argv[++a]);
		else if (!strcmp(argv[a], "--reference"))
			po.reference_only = 1;
		else if (!strcmp(argv[a], "--input-size") && a + 1 < argc &&
			 sscanf(argv[a + 1], "%dx%d", &lo.input_w, &lo.input_h) == 2)
			a++;
		else
			break;
	}
	if (argc - a != 3) {
		fprintf(stderr, "usage: nn-run [--threads N] [--reference] [--input-size WxH] MODEL INPUT.bin OUTDIR\n");
		return 2;
	}
	char err[512];
	nn_model *m;
	if (nn_model_load_ex(&m, argv[a], &lo, err, sizeof err) < 0 || nn_model_prepare(m, &po, err, sizeof err) < 0) {
		fprintf(stderr, "nn-run: %s\n", err);
		return 2;
	}
	for (int i = 1; i < nn_model_input_count(m); i++)
		memset(nn_model_input(m, i)->data, 0, nn_tensor_bytes(nn_model_input(m, i)));
	nn_tensor *in = nn_model_input(m, 0);
	FILE *f = fopen(argv[a + 1], "rb");
	size_t want = nn_tensor_bytes(in);
	if (!f || fread(in->data, 1, want, f) != want) {
		fprintf(stderr, "nn-run: %s: need %zu bytes of input\n", argv[a + 1], want);
		return 2;
	}
	fclose(f);
	if (nn_model_run(m, err, sizeof err) < 0) {
		fprintf(stderr, "nn-run: %s\n", err);
		return 1;
	}
	for (int i = 0; i < nn_model_output_count(m); i++) {
		/* An output whose row count is known only at run time: the rows this run filled. */
		nn_tensor filled = *nn_model_output(m, i);
		if (filled.dynamic_rows)
			filled.shape[0] = nn_model_output_rows(m, i);
		const nn_tensor *t = &filled;
		char path[4096];
		snprintf(path, sizeof path, "%s/%d.bin", argv[a + 2], i);
		FILE *o = fopen(path, "wb");
		if (!o || fwrite(t->data, 1, nn_tensor_bytes(t), o) != nn_tensor_bytes(t) || fclose(o) != 0) {
			fprintf(stderr, "nn-run: cannot write %s\n", path);
			return 1;
		}
		printf("%d\t%s\t%s\t", i, t->name ? t->name : "", nn_dtype_name(t->dtype));
		for (int d = 0; d < t->rank; d++)
			printf("%s%d", d ? "," : "", t->shape[d]);
		printf("\t%g\t%d\n", t->quant.count ? t->quant.scale[0] : 0.0,
		       t->quant.count && t->quant.zero_point ? t->quant.zero_point[0] : 0);
	}
	nn_model_free(m);
	return 0;
}
