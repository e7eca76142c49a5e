/*
 * TOPK (TensorFlow's TopKV2 with sorted=true) along the last axis: the k
 * largest entries of each row, largest first (or with p.topk.smallest, ONNX's
 * largest = 0, the k smallest, smallest first), equal values in the order of
 * their indices, with their indices (int32, or int64 if the loader asks).
 * float32, float16 and the integer types; quantized inputs are ranked by
 * their raw values, which orders them as their real values (the scale is
 * positive), and the values output must share the input's quantization.
 *
 * NaN ranks below every number, -infinity included (NaNs among themselves by
 * index), so a NaN is only ever selected when a row has fewer than k numbers.
 * TensorFlow leaves NaN's rank unspecified; this choice keeps a stray NaN
 * score out of detections. -0.0 and +0.0 are equal.
 *
 * CenterNet runs this on every frame over 128*128*80 = 1,310,720 class
 * scores with k = 100, so a row is scanned once against a min-heap of the k
 * best so far: an entry that does not beat the heap's worst costs one
 * comparison, and the k survivors are sorted at the end (O(n log k) in all).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ref/shape_ops.h"

static int topk_dtype(nn_dtype t)
{
	return t == NN_F32 || t == NN_F16 || nn_ref_is_int_dtype(t);
}

int nn_ref_topk_check(const nn_graph *g, const nn_node *n, char *msg, size_t len)
{
	const nn_tensor *in = nn_ref_input(g, n, 0);
	const nn_tensor *values = n->n_outputs == 2 ? nn_ref_output(g, n, 0) : NULL;
	const nn_tensor *indices = n->n_outputs == 2 ? nn_ref_output(g, n, 1) : NULL;
	/* A second input, TFLite's k tensor, may stay attached: p.topk.k holds its value. */
	if (n->n_inputs < 1 || n->n_inputs > 2 || !in || !values || !indices)
		return nn_ref_fail(msg, len, n, NN_ERR_FORMAT, "expects one input and two outputs, values and indices");
	if (!topk_dtype(in->dtype))
		return nn_ref_fail(msg, len, n, NN_ERR_UNSUPPORTED, "%s input is not supported",
				   nn_dtype_name(in->dtype));
	if (values->dtype != in->dtype)
		return nn_ref_fail(msg, len, n, NN_ERR_UNSUPPORTED, "%s values output with %s input is not supported",
				   nn_dtype_name(values->dtype), nn_dtype_name(in->dtype));
	if (!nn_ref_same_encoding(in, values))
		return nn_ref_fail(msg, len, n, NN_ERR_UNSUPPORTED,
				   "the values output's quantization differs from the input's");
	if (indices->dtype != NN_I32 && indices->dtype != NN_I64)
		return nn_ref_fail(msg, len, n, NN_ERR_UNSUPPORTED, "indices output of type %s is not supported",
				   nn_dtype_name(indices->dtype));
	char a[NN_REF_SHAPE_BUF], b[NN_REF_SHAPE_BUF];
	if (in->rank < 1)
		return nn_ref_fail(msg, len, n, NN_ERR_SHAPE, "the input must have rank 1 or more, not be a scalar");
	int last = in->rank - 1, k = n->p.topk.k;
	if (k < 0 || k > in->shape[last])
		return nn_ref_fail(msg, len, n, NN_ERR_SHAPE, "k = %d is outside [0, %d], the last dimension of "
				   "input %s",
				   k, in->shape[last], nn_ref_shape_str(in, a));
	for (int o = 0; o < 2; o++) {
		const nn_tensor *t = o ? indices : values;
		int fits = t->rank == in->rank && t->shape[last] == k;
		for (int d = 0; fits && d < last; d++)
			fits = t->shape[d] == in->shape[d];
		if (!fits)
			return nn_ref_fail(msg, len, n, NN_ERR_SHAPE, "%s output %s is not input %s with its last "
					   "dimension cut to k = %d",
					   o ? "indices" : "values", nn_ref_shape_str(t, a), nn_ref_shape_str(in, b), k);
	}
	return 0;
}

/*
 * The heaps hold the best entries seen so far with the worst at the root.
 * An entry is worse than another when its value ranks lower, or, for equal
 * values, when its index is higher.
 */
typedef struct fentry {
	float v;
	int32_t i;
} fentry;

typedef struct ientry {
	int64_t v;
	int32_t i;
} ientry;

/* a ranks below b; NaN below every number. */
static inline int f_below(float a, float b)
{
	return a < b || (isnan(a) && !isnan(b));
}

static inline int f_worse(const fentry *a, const fentry *b)
{
	return f_below(a->v, b->v) || (!f_below(b->v, a->v) && a->i > b->i);
}

static inline int i_worse(const ientry *a, const ientry *b)
{
	return a->v < b->v || (a->v == b->v && a->i > b->i);
}

/* Sift-down, heapify and an in-place sort (best first), for one entry type and its order. */
#define DEFINE_HEAP(prefix, entry, worse)                                              \
	static void prefix##_sift(entry *h, size_t size, size_t i)                     \
	{                                                                              \
		entry x = h[i];                                                        \
		for (;;) {                                                             \
			size_t c = 2 * i + 1;                                          \
			if (c >= size)                                                 \
				break;                                                 \
			if (c + 1 < size && worse(&h[c + 1], &h[c]))                   \
				c++;                                                   \
			if (!worse(&h[c], &x))                                         \
				break;                                                 \
			h[i] = h[c];                                                   \
			i = c;                                                         \
		}                                                                      \
		h[i] = x;                                                              \
	}                                                                              \
	static void prefix##_heapify(entry *h, size_t size)                            \
	{                                                                              \
		for (size_t i = size / 2; i-- > 0;)                                    \
			prefix##_sift(h, size, i);                                     \
	}                                                                              \
	/* Moves the worst to the end, again and again: the array ends best first. */ \
	static void prefix##_sort(entry *h, size_t size)                               \
	{                                                                              \
		for (size_t end = size; end > 1; end--) {                              \
			entry t = h[0];                                                \
			h[0] = h[end - 1];                                             \
			h[end - 1] = t;                                                \
			prefix##_sift(h, end - 1, 0);                                  \
		}                                                                      \
	}

DEFINE_HEAP(fheap, fentry, f_worse)
DEFINE_HEAP(iheap, ientry, i_worse)

/*
 * Later entries have higher indices, so one beats the root only with a
 * strictly higher rank: a value equal to the root's loses the tie. With a
 * NaN at the root, any number beats it.
 */
#define SCAN_FLOAT(LOAD)                                                      \
	do {                                                                  \
		for (int32_t i = 0; i < k; i++)                               \
			h[i] = (fentry){ LOAD(i), i };                        \
		fheap_heapify(h, (size_t)k);                                  \
		float root = h[0].v;                                          \
		int root_nan = isnan(root);                                   \
		for (int32_t i = k; i < row; i++) {                           \
			float v = LOAD(i);                                    \
			if (!(v > root) && !(root_nan && !isnan(v)))          \
				continue;                                     \
			h[0] = (fentry){ v, i };                              \
			fheap_sift(h, (size_t)k, 0);                          \
			root = h[0].v;                                        \
			root_nan = isnan(root);                               \
		}                                                             \
		fheap_sort(h, (size_t)k);                                     \
	} while (0)

#define SCAN_INT(LOAD)                                                        \
	do {                                                                  \
		for (int32_t i = 0; i < k; i++)                               \
			h[i] = (ientry){ LOAD(i), i };                        \
		iheap_heapify(h, (size_t)k);                                  \
		int64_t root = h[0].v;                                        \
		for (int32_t i = k; i < row; i++) {                           \
			int64_t v = LOAD(i);                                  \
			if (v <= root)                                        \
				continue;                                     \
			h[0] = (ientry){ v, i };                              \
			iheap_sift(h, (size_t)k, 0);                          \
			root = h[0].v;                                        \
		}                                                             \
		iheap_sort(h, (size_t)k);                                     \
	} while (0)

#define LOAD_F32(i) (((const float *)src)[i])
#define LOAD_F16(i) nn_ref_f16_to_f32(((const uint16_t *)src)[i])
#define LOAD_U8(i) ((int64_t)((const uint8_t *)src)[i])
#define LOAD_I8(i) ((int64_t)((const int8_t *)src)[i])
#define LOAD_I16(i) ((int64_t)((const int16_t *)src)[i])
#define LOAD_I32(i) ((int64_t)((const int32_t *)src)[i])
#define LOAD_I64(i) (((const int64_t *)src)[i])

/* Whether any of the 16 values at x is above root; an OR of comparisons, which GCC vectorizes. */
static int any_above16(const float *restrict x, float root)
{
	int any = 0;
	for (int j = 0; j < 16; j++)
		any |= x[j] > root;
	return any;
}

/*
 * SCAN_FLOAT for float32, first asking of each block of 16 whether any value
 * beats a root that is a number: on CenterNet's masked heat map almost none
 * does, and the block costs one vectorized test instead of 16 comparisons.
 */
static void f32_row(const float *src, int32_t row, int32_t k, fentry *h)
{
	for (int32_t i = 0; i < k; i++)
		h[i] = (fentry){ src[i], i };
	fheap_heapify(h, (size_t)k);
	float root = h[0].v;
	for (int32_t i = k; i < row; i++) {
		if (i % 16 == 0 && row - i >= 16 && !isnan(root) && !any_above16(src + i, root)) {
			i += 15;
			continue;
		}
		float v = src[i];
		if (!(v > root) && !(isnan(root) && !isnan(v)))
			continue;
		h[0] = (fentry){ v, i };
		fheap_sift(h, (size_t)k, 0);
		root = h[0].v;
	}
	fheap_sort(h, (size_t)k);
}

static void float_row(nn_dtype dt, const void *src, int32_t row, int32_t k, fentry *h)
{
	if (dt == NN_F32)
		f32_row(src, row, k, h);
	else
		SCAN_FLOAT(LOAD_F16);
}

static void int_row(nn_dtype dt, const void *src, int32_t row, int32_t k, ientry *h)
{
	switch (dt) {
	case NN_U8:
		SCAN_INT(LOAD_U8);
		break;
	case NN_I8:
		SCAN_INT(LOAD_I8);
		break;
	case NN_I16:
		SCAN_INT(LOAD_I16);
		break;
	case NN_I32:
		SCAN_INT(LOAD_I32);
		break;
	default:
		SCAN_INT(LOAD_I64);
		break;
	}
}

/* Heaps up to this size live on the stack: no allocation per frame for the usual k (CenterNet's is 100). */
#define STACK_ENTRIES 256

int nn_ref_topk_run(nn_graph *g, const nn_node *n, char *err, size_t errlen)
{
	const nn_tensor *in = nn_ref_input(g, n, 0);
	nn_tensor *values = nn_ref_output(g, n, 0), *indices = nn_ref_output(g, n, 1);
	int32_t row = in->shape[in->rank - 1], k = n->p.topk.k;
	size_t count = (size_t)nn_ref_elements(in);
	if (k == 0 || count == 0)
		return NN_OK;
	size_t rows = count / (size_t)row;
	size_t es = nn_dtype_size(in->dtype);
	int is_float = in->dtype == NN_F32 || in->dtype == NN_F16;

	union {
		fentry f[STACK_ENTRIES];
		ientry i[STACK_ENTRIES];
	} stack;
	void *heap = &stack;
	if (k > STACK_ENTRIES) {
		heap = malloc((size_t)k * (is_float ? sizeof(fentry) : sizeof(ientry)));
		if (!heap)
			return nn_ref_fail(err, errlen, n, NN_ERR_NOMEM, "out of memory for a heap of k = %d", k);
	}

	/*
	 * p.topk.smallest (ONNX largest = 0): the k largest of the row's values
	 * reversed in order, -x for floats and ~x (= -x - 1, which cannot
	 * overflow) for integers, ranked in a scratch row; equal values still go
	 * by index. The values are copied from the input.
	 */
	void *rev = NULL;
	if (n->p.topk.smallest) {
		rev = malloc((size_t)row * (is_float ? sizeof(float) : sizeof(int64_t)));
		if (!rev) {
			if (heap != &stack)
				free(heap);
			return nn_ref_fail(err, errlen, n, NN_ERR_NOMEM, "out of memory for a row of %d", row);
		}
	}
	for (size_t r = 0; r < rows; r++) {
		const char *src = (const char *)in->data + r * (size_t)row * es;
		char *vdst = (char *)values->data + r * (size_t)k * es;
		size_t base = r * (size_t)k;
		const void *rank_src = src;
		nn_dtype rank_dt = in->dtype;
		if (rev && is_float) {
			for (int32_t i = 0; i < row; i++)
				((float *)rev)[i] = -(in->dtype == NN_F32 ? LOAD_F32(i) : LOAD_F16(i));
			rank_src = rev, rank_dt = NN_F32;
		} else if (rev) {
			for (int32_t i = 0; i < row; i++)
				((int64_t *)rev)[i] = ~nn_ref_load_int(in, r * (size_t)row + (size_t)i);
			rank_src = rev, rank_dt = NN_I64;
		}
		if (is_float) {
			fentry *h = heap;
			float_row(rank_dt, rank_src, row, k, h);
			for (int32_t j = 0; j < k; j++)
				memcpy(vdst + (size_t)j * es, src + (size_t)h[j].i * es, es);
			for (int32_t j = 0; j < k; j++) {
				if (indices->dtype == NN_I32)
					((int32_t *)indices->data)[base + (size_t)j] = h[j].i;
				else
					((int64_t *)indices->data)[base + (size_t)j] = h[j].i;
			}
		} else {
			ientry *h = heap;
			int_row(rank_dt, rank_src, row, k, h);
			for (int32_t j = 0; j < k; j++)
				memcpy(vdst + (size_t)j * es, src + (size_t)h[j].i * es, es);
			for (int32_t j = 0; j < k; j++) {
				if (indices->dtype == NN_I32)
					((int32_t *)indices->data)[base + (size_t)j] = h[j].i;
				else
					((int64_t *)indices->data)[base + (size_t)j] = h[j].i;
			}
		}
	}
	free(rev);
	if (heap != &stack)
		free(heap);
	return NN_OK;
}
