/*
 * onnx-conformance: ONNX's backend node tests (Debian's libonnx-testdata:
 * DIR/test_NAME/model.onnx with test_data_set_0/input_*.pb and output_*.pb)
 * through vigil's ONNX loader and engine.
 *
 * usage: onnx-conformance [--list-failures] [--filter SUBSTRING] [DIR]
 * (DIR defaults to /usr/share/libonnx-testdata/data/node)
 *
 * Prints one line per test, "NAME: pass", "NAME: fail (max err E at K)" or
 * "NAME: unsupported (why)", then a summary: counts over every test and over
 * the tests whose op is in issue 12's list (the op of a one-node model; a
 * model of several nodes, such as the expanded function bodies, counts
 * under its test name's op when that is in the list).
 *
 * The backend tests feed weights as graph inputs; a model that does not load
 * with every input at run time (a Conv whose filter is an input) is loaded
 * again with every input but the first given as a constant, and then with
 * every input a constant (shapes fed as inputs: ConstantOfShape, Reshape).
 * A pass of that last kind exercised the loader's load-time evaluation (or
 * the constant-folding pass), not the run-time kernels: it is marked so, and
 * the summary counts those passes apart.
 *
 * Tolerance: ONNX's backend test runner's, |got - want| <= atol + rtol *
 * |want| with rtol 1e-3 and atol 1e-7, for floats; integers and bools exact;
 * NaN matches NaN.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nn/format/onnx.h"
#include "nn/model.h"

#define MAX_IO 16

static const char *const issue_ops[] = {
	"Conv", "ConvTranspose", "BatchNormalization", "Relu", "LeakyRelu", "PRelu", "Elu", "Sigmoid", "HardSigmoid",
	"HardSwish", "Tanh", "Softmax", "LogSoftmax", "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Exp", "Log", "Neg",
	"Abs", "Min", "Max", "Sum", "Mean", "MatMul", "Gemm", "MaxPool", "AveragePool", "GlobalAveragePool",
	"GlobalMaxPool", "Resize", "Upsample", "Concat", "Split", "Slice", "Gather", "GatherElements", "Reshape",
	"Flatten", "Transpose", "Squeeze", "Unsqueeze", "Shape", "Size", "Constant", "ConstantOfShape", "Expand",
	"Tile", "Pad", "ReduceMean", "ReduceMax", "ReduceSum", "ReduceMin", "ArgMax", "Clip", "Cast", "Where", "Equal",
	"Greater", "Less", "Not", "And", "TopK", "NonMaxSuppression", "Identity", "Dropout", "DepthToSpace",
	"SpaceToDepth", "InstanceNormalization", "Erf", "QuantizeLinear", "DequantizeLinear", "QLinearConv",
	"QLinearMatMul", "ConvInteger", "MatMulInteger", "DynamicQuantizeLinear", NULL,
};

static int in_issue_list(const char *op)
{
	for (int i = 0; issue_ops[i]; i++)
		if (!strcmp(issue_ops[i], op))
			return 1;
	return 0;
}

/* "test_reduce_mean_..." -> the listed op whose snake_case spelling is the longest prefix of the name. */
static const char *op_of_name(const char *test)
{
	const char *best = NULL;
	size_t best_len = 0;
	const char *s = test + 5;
	for (int i = 0; issue_ops[i]; i++) {
		char snake[64];
		size_t k = 0;
		for (const char *p = issue_ops[i]; *p && k + 2 < sizeof snake; p++) {
			if (*p >= 'A' && *p <= 'Z' && p != issue_ops[i] && !(p[-1] >= 'A' && p[-1] <= 'Z'))
				snake[k++] = '_';
			snake[k++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
		}
		snake[k] = '\0';
		size_t n = strlen(snake);
		if (!strncmp(s, snake, n) && (s[n] == '_' || !s[n]) && n > best_len) {
			best = issue_ops[i];
			best_len = n;
		}
	}
	return best;
}

static void *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct stat st;
	if (fstat(fileno(f), &st) < 0 || st.st_size < 0) {
		fclose(f);
		return NULL;
	}
	void *buf = malloc((size_t)st.st_size + 1);
	if (buf && fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = (size_t)st.st_size;
	return buf;
}

typedef struct io {
	int n;
	nn_tensor t[MAX_IO];
	void *raw[MAX_IO];
	size_t raw_len[MAX_IO];
} io;

static void io_free(io *x)
{
	for (int i = 0; i < x->n; i++) {
		free(x->t[i].data);
		free(x->t[i].name);
		free(x->raw[i]);
	}
	x->n = 0;
}

static int read_io(const char *dir, const char *prefix, io *x, char *why, size_t cap)
{
	x->n = 0;
	for (int i = 0; i < MAX_IO; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/test_data_set_0/%s_%d.pb", dir, prefix, i);
		size_t len;
		void *buf = read_file(path, &len);
		if (!buf)
			break;
		if (nn_onnx_read_tensor(buf, len, &x->t[x->n], why, cap) < 0) {
			free(buf);
			return -1;
		}
		x->raw[x->n] = buf;
		x->raw_len[x->n] = len;
		x->n++;
	}
	return 0;
}

static double value_at(const nn_tensor *t, int64_t k)
{
	switch (t->dtype) {
	case NN_F32: return ((const float *)t->data)[k];
	case NN_U8: case NN_BOOL: return ((const uint8_t *)t->data)[k];
	case NN_I8: return ((const int8_t *)t->data)[k];
	case NN_I16: return ((const int16_t *)t->data)[k];
	case NN_I32: return ((const int32_t *)t->data)[k];
	case NN_I64: return (double)((const int64_t *)t->data)[k];
	default: return NAN;
	}
}

enum { PASS, FAIL, UNSUPPORTED };

static int run_test(const char *dir, char *why, size_t cap, int *at_load)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/model.onnx", dir);
	size_t len;
	void *model = read_file(path, &len);
	if (!model)
		return snprintf(why, cap, "cannot read model.onnx"), UNSUPPORTED;
	io in = { 0 }, want = { 0 };
	int result = UNSUPPORTED;
	nn_model *m = NULL;
	if (read_io(dir, "input", &in, why, cap) < 0 || read_io(dir, "output", &want, why, cap) < 0)
		goto done;
	char err[1024];
	nn_graph *g = NULL;
	int rc = nn_onnx_load_buffer(&g, model, len, path, NULL, err, sizeof err);
	int consts = 0;
	if (rc == NN_ERR_UNSUPPORTED && in.n > 1) {
		/* Weights fed as inputs: take every input but the first as a constant. */
		const void *data[MAX_IO];
		size_t lens[MAX_IO];
		for (int i = 1; i < in.n; i++) {
			data[i - 1] = in.raw[i];
			lens[i - 1] = in.raw_len[i];
		}
		nn_onnx_options o = { .n_consts = in.n - 1, .const_data = data, .const_len = lens };
		char err2[1024];
		if (nn_onnx_load_buffer(&g, model, len, path, &o, err2, sizeof err2) >= 0) {
			rc = 0;
			consts = 1;
		} else {
			snprintf(err, sizeof err, "%s", err2);
		}
	}
	if (rc == NN_ERR_UNSUPPORTED && in.n >= 1) {
		/* Shapes fed as inputs (ConstantOfShape, Reshape): every input a constant, evaluated at load time. */
		const void *data[MAX_IO];
		size_t lens[MAX_IO];
		for (int i = 0; i < in.n; i++) {
			data[i] = in.raw[i];
			lens[i] = in.raw_len[i];
		}
		nn_onnx_options o = { .n_consts = in.n, .const_data = data, .const_len = lens };
		char err2[1024];
		if (nn_onnx_load_buffer(&g, model, len, path, &o, err2, sizeof err2) >= 0) {
			rc = 0;
			consts = 2;
		}
	}
	if (rc < 0) {
		snprintf(why, cap, "%s", err);
		goto done;
	}
	if (nn_model_from_graph(&m, g, err, sizeof err) < 0 ||
	    nn_model_prepare(m, &(nn_prepare_options){ .threads = 1 }, err, sizeof err) < 0) {
		snprintf(why, cap, "%s", err);
		goto done;
	}
	int n_in = nn_model_input_count(m);
	for (int i = 0; i < n_in; i++) {
		nn_tensor *t = nn_model_input(m, i);
		const nn_tensor *src = NULL;
		for (int k = 0; k < in.n; k++)
			if (!strcmp(in.t[k].name, t->name))
				src = &in.t[k];
		if (!src && i < in.n && consts != 1)
			src = &in.t[i];
		if (!src || src->dtype != t->dtype || nn_tensor_bytes(src) != nn_tensor_bytes(t)) {
			snprintf(why, cap, "input '%s' does not match the test's data", t->name);
			goto done;
		}
		memcpy(t->data, src->data, nn_tensor_bytes(t));
	}
	if (nn_model_run(m, err, sizeof err) < 0) {
		snprintf(why, cap, "%s", err);
		goto done;
	}
	if (nn_model_output_count(m) != want.n) {
		snprintf(why, cap, "%d outputs, the test has %d", nn_model_output_count(m), want.n);
		result = FAIL;
		goto done;
	}
	double worst = 0;
	int64_t worst_at = -1;
	for (int i = 0; i < want.n; i++) {
		const nn_tensor *got = nn_model_output(m, i), *w = &want.t[i];
		/* An output whose row count is known only at run time: its filled rows only. */
		int64_t got_n = nn_tensor_elements(got);
		if (got->dynamic_rows && got->shape[0] > 0)
			got_n = got_n / got->shape[0] * nn_model_output_rows(m, i);
		if (got_n != nn_tensor_elements(w)) {
			snprintf(why, cap, "output %d has %lld elements, expected %lld", i, (long long)got_n,
				 (long long)nn_tensor_elements(w));
			result = FAIL;
			goto done;
		}
		int exact = w->dtype != NN_F32;
		for (int64_t k = 0; k < nn_tensor_elements(w); k++) {
			double a = value_at(got, k), b = value_at(w, k);
			if (isnan(a) && isnan(b))
				continue;
			double e = fabs(a - b), lim = exact ? 0 : 1e-7 + 1e-3 * fabs(b);
			if (!(e <= lim) && (isnan(e) || e - lim > worst || worst_at < 0)) {
				worst = isnan(e) ? INFINITY : e;
				worst_at = k;
			}
		}
	}
	if (worst_at >= 0) {
		snprintf(why, cap, "max err %.3g at %lld", worst, (long long)worst_at);
		result = FAIL;
	} else {
		result = PASS;
		*at_load = consts == 2;
	}
done:
	nn_model_free(m);
	io_free(&in);
	io_free(&want);
	free(model);
	return result;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	const char *root = "/usr/share/libonnx-testdata/data/node", *filter = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--filter") && i + 1 < argc)
			filter = argv[++i];
		else if (argv[i][0] == '-') {
			fprintf(stderr, "usage: onnx-conformance [--filter SUBSTRING] [DIR]\n");
			return 2;
		} else
			root = argv[i];
	}
	DIR *d = opendir(root);
	if (!d) {
		fprintf(stderr, "onnx-conformance: cannot open %s\n", root);
		return 2;
	}
	char **names = NULL;
	int n = 0, cap = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (strncmp(e->d_name, "test_", 5) || (filter && !strstr(e->d_name, filter)))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			char **nn = realloc(names, (size_t)cap * sizeof *nn);
			if (!nn)
				return 2;
			names = nn;
		}
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, (size_t)n, sizeof *names, cmp_str);
	int count[3] = { 0 }, listed[3] = { 0 }, n_at_load = 0, listed_at_load = 0;
	for (int i = 0; i < n; i++) {
		char dir[4096], why[1200] = "", path[4200];
		snprintf(dir, sizeof dir, "%s/%s", root, names[i]);
		snprintf(path, sizeof path, "%s/model.onnx", dir);
		const char *op = NULL;
		size_t len;
		void *buf = read_file(path, &len);
		nn_onnx_info info;
		if (buf && nn_onnx_read_info(buf, len, &info) >= 0 && info.n_nodes == 1)
			op = in_issue_list(info.first_op) ? info.first_op : NULL;
		else
			op = op_of_name(names[i]);
		free(buf);
		int at_load = 0;
		int r = run_test(dir, why, sizeof why, &at_load);
		for (char *p = why; *p; p++)
			if (*p == '\n')
				*p = ' ';
		static const char *const word[] = { "pass", "fail", "unsupported" };
		if (r == PASS)
			printf("%s: pass%s%s\n", names[i], at_load ? " (every input a constant: evaluated at load time)" : "",
			       op ? "" : " (op not in the list)");
		else
			printf("%s: %s (%s)%s\n", names[i], word[r], why, op ? "" : " (op not in the list)");
		if (r == PASS && at_load) {
			n_at_load++;
			if (op)
				listed_at_load++;
		}
		count[r]++;
		if (op)
			listed[r]++;
		free(names[i]);
	}
	free(names);
	int total = listed[0] + listed[1] + listed[2];
	printf("summary: %d tests: %d pass, %d fail, %d unsupported; ops of the issue's list: %d tests, %d pass "
	       "(%.1f%%), %d fail, %d unsupported; of the passes, %d (%d listed) only with every input a constant\n",
	       n, count[PASS], count[FAIL], count[UNSUPPORTED], total, listed[PASS],
	       total ? 100.0 * listed[PASS] / total : 0.0, listed[FAIL], listed[UNSUPPORTED], n_at_load, listed_at_load);
	return 0;
}
