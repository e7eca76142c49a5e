/*
 * Indexing and layout ops of TensorFlow graphs' in-graph post-processing:
 * TRANSPOSE, STRIDED_SLICE, GATHER, SPLIT and SPARSE_TO_DENSE. They move
 * elements as bytes, so they take every dtype; a quantized output must share
 * its input's scale and zero point (nothing is requantized). This file also
 * dispatches the other ops added with them: CAST (cast.c), TOPK (topk.c),
 * FLOOR_DIV, FLOOR_MOD and EQUAL (broadcast.c).
 *
 * The semantics are TensorFlow's. What a loader must put in the graph:
 *
 * TRANSPOSE: one input (a second one, TFLite's perm tensor, may stay attached
 * and is ignored); p.transpose.perm[d] for d < rank is a permutation of
 * 0..rank-1, and output.shape[d] == input.shape[perm[d]].
 *
 * STRIDED_SLICE is rank-preserving: output.rank == input.rank. For every
 * input dimension d, p.slice.begin[d] is the index of the first element taken
 * (resolved: masks applied, negative indices wrapped, clamped as TensorFlow
 * clamps), p.slice.stride[d] the step (non-zero, negative to go backwards),
 * and output.shape[d] the number of elements taken, which the loader computes
 * from the resolved end as max(0, ceil((end - begin) / stride)) (the end is
 * exclusive: a negative stride running through index 0 has end -1, so
 * x[::-1] of 5 elements is begin 4, stride -1, extent 5). Every
 * element taken, begin[d] + i * stride[d] for i < output.shape[d], must lie
 * inside the input (the kernel refuses the node otherwise); dimensions with
 * no element taken are not checked. TensorFlow's other masks map onto that:
 *   - ellipsis_mask: the dimensions it covers are whole (begin 0, stride 1,
 *     extent = the input's);
 *   - shrink_axis_mask: the axis is kept with extent 1 (begin = the index),
 *     and the loader adds a RESHAPE after the slice that drops it;
 *   - new_axis_mask: the new axis has no input dimension and no entry in
 *     p.slice; the RESHAPE after the slice inserts it.
 * So a TensorFlow StridedSlice with shrink or new axes becomes STRIDED_SLICE
 * + RESHAPE. A STRIDED_SLICE whose output rank differs from its input's is
 * refused: p.slice holds no end, and the per-dimension counts cannot be told
 * from the output's shape ([4,4] -> [4] may be x[0,:] or x[:,0]). Extra
 * inputs (TensorFlow's begin, end and strides tensors) may stay attached and
 * are ignored.
 *
 * GATHER: inputs params (any dtype, rank >= 1) and indices (int32 or int64,
 * any shape, scalar included); p.gather.axis (negative counts from the end);
 * output shape params.shape[:axis] + indices.shape + params.shape[axis+1:].
 * An index outside [0, params.shape[axis]) is an error at run time naming
 * the node and the index, as TensorFlow's CPU kernel reports it.
 *
 * SPLIT: one input; p.split.axis (negative counts from the end); output i
 * has the input's shape except along the axis, and the outputs' extents
 * along it sum to the input's.
 *
 * SPARSE_TO_DENSE: inputs sparse_indices (int32/int64: a scalar or [n] for a
 * 1-D output, or [n, rank]), output_shape (int32/int64 [rank]; its values
 * must equal the output tensor's shape), sparse_values ([n] or a scalar) and
 * default_value (one element), values, default and output of one dtype. An
 * index outside the output is an error. Unlike TensorFlow's default
 * validate_indices, unsorted and repeated indices are accepted; for a
 * repeated index the last value wins.
 */
#include <stdio.h>
#include <string.h>

#include "nn/ref/shape_ops.h"

/* Writes "a,b,c" for n ints into buf (NN_REF_SHAPE_BUF bytes); returns buf. */
static const char *ints_str(const int *v, int n, char *buf)
{
	size_t len = 0;
	buf[0] = '\0';
	for (int i = 0; i < n && len < NN_REF_SHAPE_BUF; i++)
		len += (size_t)snprintf(buf + len, NN_REF_SHAPE_BUF - len, i ? ",%d" : "%d", v[i]);
	return buf;
}

/* Writes "[i,j,k]", the multi-index of flat element i of t, into buf (NN_REF_SHAPE_BUF bytes); "" for a scalar. */
static const char *index_str(const nn_tensor *t, size_t flat, char *buf)
{
	int idx[NN_MAX_RANK] = { 0 };
	for (int d = t->rank - 1; d >= 0; d--) {
		size_t dim = (size_t)t->shape[d];
		idx[d] = dim ? (int)(flat % dim) : 0;
		flat = dim ? flat / dim : 0;
	}
	if (t->rank == 0)
		return buf[0] = '\0', buf;
	char inner[NN_REF_SHAPE_BUF];
	snprintf(buf, NN_REF_SHAPE_BUF, "[%s]", ints_str(idx, t->rank, inner));
	return buf;
}

/* The output must hold the same kind of numbers as the input it copies from. */
static int check_same_kind(const nn_node *n, const nn_tensor *src, const char *role, const nn_tensor *out,
			   char *msg, size_t len)
{
	if (out->dtype != src->dtype)
		return nn_ref_fail(msg, len, n, NN_ERR_UNSUPPORTED, "%s output with %s %s is not supported",
				   nn_dtype_name(out->dtype), nn_dtype_name(src->dtype), role);
	if (!nn_ref_same_encoding(src, out))
		return nn_ref_fail(msg, len, n, NN_ERR_UNSUPPORTED,
				   "the output's quantization differs from the %s's (requantizing is not supported)",
				   role);
	return 0;
}

static size_t product(const int *shape, int from, int to)
{
	size_t p = 1;
	for (int d = from; d < to; d++)
		p *= (size_t)shape[d];
	return p;
}

/*
 * Fills dst, an array of the given shape laid out contiguously, from src,
 * where element (i_0, ..., i_r-1) is at element offset base + sum(i_d *
 * step[d]) (steps may be negative). rank >= 1 and no dimension is 0. Rows
 * along the last dimension are copied in one go when they are contiguous.
 */
static void copy_strided(char *dst, const char *src, ptrdiff_t base, int rank, const int *shape,
			 const ptrdiff_t *step, size_t es)
{
	int idx[NN_MAX_RANK] = { 0 };
	ptrdiff_t off = base;
	int inner = shape[rank - 1];
	ptrdiff_t s = step[rank - 1], pes = (ptrdiff_t)es;
	size_t row_bytes = (size_t)inner * es;
	for (;;) {
		const char *p = src + off * pes;
		if (s == 1) {
			memcpy(dst, p, row_bytes);
		} else {
			/* Constant sizes let the compiler turn each memcpy into a load and a store. */
			switch (es) {
			case 1:
				for (int j = 0; j < inner; j++)
					dst[j] = p[j * s];
				break;
			case 2:
				for (int j = 0; j < inner; j++)
					memcpy(dst + j * 2, p + j * s * 2, 2);
				break;
			case 4:
				for (int j = 0; j < inner; j++)
					memcpy(dst + j * 4, p + j * s * 4, 4);
				break;
			default:
				for (int j = 0; j < inner; j++)
					memcpy(dst + (size_t)j * es, p + j * s * pes, es);
				break;
			}
		}
		dst += row_bytes;
		int d = rank - 2;
		for (; d >= 0; d--) {
			off += step[d];
			if (++idx[d] < shape[d])
				break;
			off -= step[d] * shape[d];
			idx[d] = 0;
		}
		if (d < 0)
			return;
	}
}

/* TRANSPOSE. */

static int transpose_check(const nn_graph *g, const nn_node *n, char *msg, size_t len)
{
	const nn_tensor *in = nn_ref_input(g, n, 0);
	const nn_tensor *out = n->n_outputs == 1 ? nn_ref_output(g, n, 0) : NULL;
	if (n->n_inputs < 1 || n->n_inputs > 2 || !in || !out)
		return nn_ref_fail(msg, len, n, NN_ERR_FORMAT, "expects one input and one output");
	int rc = check_same_kind(n, in, "input", out, msg, len);
	if (rc < 0)
		return rc;
	char a[NN_REF_SHAPE_BUF], b[NN_REF_SHAPE_BUF], c[NN_REF_SHAPE_BUF];
	int rank = in->rank;
	if (out->rank != rank)
		return nn_ref_fail(msg, len, n, NN_ERR_SHAPE, "output %s and input %s differ in rank",
				   nn_ref_shape_str(out, a), nn_ref_shape_str(in, b));
	const int *perm = n->p.transpose.perm;
	int seen[NN_MAX_RANK] = { 0 };
	for (int d = 0; d < rank; d++) {
		if (perm[d] < 0 || perm[d] >= rank || seen[perm[d]])
			return nn_ref_fail(msg, len, n, NN_ERR_FORMAT, "perm [%s] is not a permutation of 0..%d",
					   ints_str(perm, rank, a), rank - 1);
		seen[perm[d]] = 1;
	}
	for (int d = 0; d < rank; d++)
		if (out->shape[d] != in->shape[perm[d]])
			return nn_ref_fail(msg, len, n, NN_ERR_SHAPE, "output %s is not input %s permuted by [%s]",
					   nn_ref_shape_str(out, a), nn_ref_shape_str(in, b), ints_str(perm, rank, c));
	return 0;
}

/*
 * Whether perm moves a trailing block of dimensions in front of the block
 * before it, leaving the leading ones: [0..k-1, m..r-1, k..m-1]. Such a
 * transpose (NCHW to NHWC and back among them) is a batch of matrix
 * transposes, of rows x cols elements each.
 */
static int as_matrices(const nn_tensor *in, const int *perm, size_t *batch, size_t *rows, size_t *cols)
{
	int r = in->rank, k = 0;
	while (k < r && perm[k] == k)
		k++;
	if (k >= r - 1)
		return 0;
	int m = perm[k];
	for (int d = k; d < r; d++) {
		int want = d - k < r - m ? m + (d - k) : k + (d - k - (r - m));
		if (perm[d] != want)
			return 0;
	}
	*batch = product(in->shape, 0, k);
	*rows = product(in->shape, k, m);
	*cols = product(in->shape, m, r);
	return 1;
}

/* Matrix transposes of 4-byte elements, in square tiles so that both sides stay in cache. */
static void transpose_matrices32(uint32_t *dst, const uint32_t *src, size_t batch, size_t rows, size_t cols)
{
	enum { TILE = 32 };
	for (size_t b = 0; b < batch; b++, src += rows * cols, dst += rows * cols)
		for (size_t r0 = 0; r0 < rows; r0 += TILE)
			for (size_t c0 = 0; c0 < cols; c0 += TILE) {
				size_t r1 = r0 + TILE < rows ? r0 + TILE : rows;
				size_t c1 = c0 + TILE < cols ? c0 + TILE : cols;
				for (size_t c = c0; c < c1; c++)
					for (size_t i = r0; i < r1; i++)
						dst[c * rows + i] = src[i * cols + c];
			}
}

static int transpose_run(nn_graph *g, const nn_node *n)
{
	const nn_tensor *in = nn_ref_input(g, n, 0);
	nn_tensor *out = nn_ref_output(g, n, 0);
	size_t es = nn_dtype_size(in->dtype);
	if (nn_ref_elements(out) == 0)
		return NN_OK;
	if (in->rank == 0) {
		memcpy(out->data, in->data, es);
		return NN_OK;
	}
	size_t batch, rows, cols;
	if (es == 4 && as_matrices(in, n->p.transpose.perm, &batch, &rows, &cols)) {
		transpose_matrices32(out->data, in->data, batch, rows, cols);
		return NN_OK;
	}
	ptrdiff_t step[NN_MAX_RANK];
	for (int d = 0; d < out->rank; d++)
		step[d] = (ptrdiff_t)product(in->shape, n->p.transpose.perm[d] + 1, in->rank);
	copy_strided(out->data, in->data, 0, out->rank, out->shape, step, es);
	return NN_OK;
}

/* STRIDED_SLICE: the contract is at the top of this file. */

static int slice_check(const nn_graph *g, const nn_node *n, char *msg, size_t len)
{
	const nn_tensor *in = nn_ref_input(g, n, 0);
	const nn_tensor *out = n->n_outputs == 1 ? nn_ref_output(g, n, 0) : NULL;
	if (n->n_inputs < 1 || n->n_inputs > 4 || !in || !out)
		return nn_ref_fail(msg, len, n, NN_ERR_FORMAT, "expects one input and one output");
	int rc = check_same_kind(n, in, "input", out, msg, len);
	if (rc < 0)
		return rc;
	char a[NN_REF_SHAPE_BUF], b[NN_REF_SHAPE_BUF];
	if (out->rank != in->rank)
		return nn_ref_fail(msg, len, n, NN_ERR_UNSUPPORTED,
				   "output %s and input %s differ in rank; the loader must keep the slice "
				   "rank-preserving (shrunk axes with extent 1) and reshape after it",
				   nn_ref_shape_str(out, a), nn_ref_shape_str(in, b));
	for (int d = 0; d < in->rank; d++) {
		int begin = n->p.slice.begin[d], stride = n->p.slice.stride[d], count = out->shape[d];
		if (stride == 0)
			return nn_ref_fail(msg, len, n, NN_ERR_FORMAT, "stride 0 along dimension %d", d);
		if (count == 0)
			continue;
		int64_t last = begin + (int64_t)(count - 1) * stride;
		if (begin < 0 || begin >= in->shape[d] || last < 0 || last >= in->shape[d])
			return nn_ref_fail(msg, len, n, NN_ERR_SHAPE,
					   "along dimension %d, %d elements from %d in steps of %d end at %lld, "
					   "outside input %s",
					   d, count, begin, stride, (long long)last, nn_ref_shape_str(in, a));
	}
	return 0;
}

static int slice_run(nn_graph *g, const nn_node *n)
{
	const nn_tensor *in = nn_ref_input(g, n, 0);
	nn_tensor *out = nn_ref_output(g, n, 0);
	size_t es = nn_dtype_size(in->dtype);
	if (nn_ref_elements(out) == 0)
		return NN_OK;
	if (in->rank == 0) {
		memcpy(out->data, in->data, es);
		return NN_OK;
	}
	ptrdiff_t base = 0, step[NN_MAX_RANK];
	for (int d = 0; d < in->rank; d++) {
		ptrdiff_t in_stride = (ptrdiff_t)product(in->shape, d + 1, in->rank);
		base += (ptrdiff_t)n->p.slice.begin[d] * in_stride;
		step[d] = (ptrdiff_t)n->p.slice.stride[d] * in_stride;
	}
	copy_strided(out->data, in->data, base, out->rank, out->shape, step, es);
	return NN_OK;
}

/* GATHER. */

static int gather_axis(const nn_node *n, const nn_tensor *params)
{
	int axis = n->p.gather.axis;
	return axis < 0 ? axis + params->rank : axis;
}

static int gather_check(const nn_graph *g, const nn_node *n, char *msg, size_t len)
{
	const nn_tensor *params = nn_ref_input(g, n, 0), *indices = nn_ref_input(g, n, 1);
	const nn_tensor *out = n->n_outputs == 1 ? nn_ref_output(g, n, 0) : NULL;
	if (n->n_inputs != 2 || !params || !indices || !out)
		return nn_ref_fail(msg, len, n, NN_ERR_FORMAT, "expects params, indices and one output");
	if (indices->dtype != NN_I32 && indices->dtype != NN_I64)
		return nn_ref_fail(msg, len, n, NN_ERR_UNSUPPORTED, "indices of type %s are not supported",
				   nn_dtype_name(indices->dtype));
	int rc = check_same_kind(n, params, "params", out, msg, len);
	if (rc < 0)
		return rc;
	char a[NN_REF_SHAPE_BUF], b[NN_REF_SHAPE_BUF], c[NN_REF_SHAPE_BUF];
	if (params->rank < 1)
		return nn_ref_fail(msg, len, n, NN_ERR_SHAPE, "params must have rank 1 or more, not be a scalar");
	int axis = gather_axis(n, params);
	if (axis < 0 || axis >= params->rank)
		return nn_ref_fail(msg, len, n, NN_ERR_FORMAT, "axis %d is outside params %s", n->p.gather.axis,
				   nn_ref_shape_str(params, a));
	int want[2 * NN_MAX_RANK], rank = 0;
	for (int d = 0; d < axis; d++)
		want[rank++] = params->shape[d];
	for (int d = 0; d < indices->rank; d++)
		want[rank++] = indices->shape[d];
	for (int d = axis + 1; d < params->rank; d++)
		want[rank++] = params->shape[d];
	int fits = out->rank == rank;
	for (int d = 0; fits && d < rank; d++)
		fits = out->shape[d] == want[d];
	if (!fits)
		return nn_ref_fail(msg, len, n, NN_ERR_SHAPE, "output %s is not params %s gathered along axis %d by "
				   "indices %s",
				   nn_ref_shape_str(out, a), nn_ref_shape_str(params, b), axis,
				   nn_ref_shape_str(indices, c));
	return 0;
}

static int gather_run(nn_graph *g, const nn_node *n, char *err, size_t errlen)
{
	const nn_tensor *params = nn_ref_input(g, n, 0), *indices = nn_ref_input(g, n, 1);
	nn_tensor *out = nn_ref_output(g, n, 0);
	int axis = gather_axis(n, params);
	size_t n_idx = (size_t)nn_ref_elements(indices);
	int64_t limit = params->shape[axis];
	/* All indices are checked before anything is written, as TensorFlow does. */
	for (size_t i = 0; i < n_idx; i++) {
		int64_t v = nn_ref_load_int(indices, i);
		if (v < 0 && n->p.gather.negative)
			v += limit;
		if (v < 0 || v >= limit) {
			char where[NN_REF_SHAPE_BUF];
			return nn_ref_fail(err, errlen, n, NN_ERR_ARG, "indices%s = %lld is not in [0, %lld)",
					   index_str(indices, i, where), (long long)v, (long long)limit);
		}
	}
	size_t outer = product(params->shape, 0, axis);
	size_t chunk = product(params->shape, axis + 1, params->rank) * nn_dtype_size(params->dtype);
	if (chunk == 0 || n_idx == 0)
		return NN_OK;
	const char *src = params->data;
	char *dst = out->data;
	for (size_t o = 0; o < outer; o++) {
		const char *block = src + o * (size_t)limit * chunk;
		for (size_t i = 0; i < n_idx; i++, dst += chunk)
		{
			int64_t v = nn_ref_load_int(indices, i);
			memcpy(dst, block + (size_t)(v < 0 ? v + limit : v) * chunk, chunk);
		}
	}
	return NN_OK;
}

/* SPLIT. */

static int split_check(const nn_graph *g, const nn_node *n, char *msg, size_t len)
{
	const nn_tensor *in = nn_ref_input(g, n, 0);
	if (n->n_inputs != 1 || !in || n->n_outputs < 1)
		return nn_ref_fail(msg, len, n, NN_ERR_FORMAT, "expects one input and at least one output");
	char a[NN_REF_SHAPE_BUF], b[NN_REF_SHAPE_BUF];
	int axis = n->p.split.axis < 0 ? n->p.split.axis + in->rank : n->p.split.axis;
	if (axis < 0 || axis >= in->rank)
		return nn_ref_fail(msg, len, n, NN_ERR_FORMAT, "axis %d is outside input %s", n->p.split.axis,
				   nn_ref_shape_str(in, a));
	int64_t total = 0;
	for (int i = 0; i < n->n_outputs; i++) {
		const nn_tensor *out = nn_ref_output(g, n, i);
		int rc = check_same_kind(n, in, "input", out, msg, len);
		if (rc < 0)
			return rc;
		int fits = out->rank == in->rank;
		for (int d = 0; fits && d < in->rank; d++)
			fits = d == axis || out->shape[d] == in->shape[d];
		if (!fits)
			return nn_ref_fail(msg, len, n, NN_ERR_SHAPE, "output %d %s does not match input %s outside "
					   "axis %d",
					   i, nn_ref_shape_str(out, a), nn_ref_shape_str(in, b), axis);
		total += out->shape[axis];
	}
	if (total != in->shape[axis])
		return nn_ref_fail(msg, len, n, NN_ERR_SHAPE, "the outputs take %lld along axis %d, input %s has %d",
				   (long long)total, axis, nn_ref_shape_str(in, a), in->shape[axis]);
	return 0;
}

static int split_run(nn_graph *g, const nn_node *n)
{
	const nn_tensor *in = nn_ref_input(g, n, 0);
	int axis = n->p.split.axis < 0 ? n->p.split.axis + in->rank : n->p.split.axis;
	size_t outer = product(in->shape, 0, axis);
	size_t inner = product(in->shape, axis + 1, in->rank) * nn_dtype_size(in->dtype);
	const char *src = in->data;
	for (size_t o = 0; o < outer; o++)
		for (int i = 0; i < n->n_outputs; i++) {
			nn_tensor *out = nn_ref_output(g, n, i);
			size_t chunk = (size_t)out->shape[axis] * inner;
			if (chunk == 0)
				continue;
			memcpy((char *)out->data + o * chunk, src, chunk);
			src += chunk;
		}
	return NN_OK;
}

/* SPARSE_TO_DENSE. */

static int sparse_check(const nn_graph *g, const nn_node *n, char *msg, size_t len)
{
	const nn_tensor *idx = nn_ref_input(g, n, 0), *shp = nn_ref_input(g, n, 1);
	const nn_tensor *vals = nn_ref_input(g, n, 2), *def = nn_ref_input(g, n, 3);
	const nn_tensor *out = n->n_outputs == 1 ? nn_ref_output(g, n, 0) : NULL;
	if (n->n_inputs != 4 || !idx || !shp || !vals || !def || !out)
		return nn_ref_fail(msg, len, n, NN_ERR_FORMAT,
				   "expects sparse_indices, output_shape, sparse_values, default_value and one output");
	if (idx->dtype != NN_I32 && idx->dtype != NN_I64)
		return nn_ref_fail(msg, len, n, NN_ERR_UNSUPPORTED, "sparse_indices of type %s are not supported",
				   nn_dtype_name(idx->dtype));
	if (shp->dtype != NN_I32 && shp->dtype != NN_I64)
		return nn_ref_fail(msg, len, n, NN_ERR_UNSUPPORTED, "output_shape of type %s is not supported",
				   nn_dtype_name(shp->dtype));
	int rc = check_same_kind(n, vals, "sparse_values", out, msg, len);
	if (rc < 0 || (rc = check_same_kind(n, def, "default_value", out, msg, len)) < 0)
		return rc;
	char a[NN_REF_SHAPE_BUF], b[NN_REF_SHAPE_BUF];
	if (idx->rank > 2)
		return nn_ref_fail(msg, len, n, NN_ERR_SHAPE, "sparse_indices %s is not a scalar, vector or matrix",
				   nn_ref_shape_str(idx, a));
	int64_t n_elems = idx->rank > 0 ? idx->shape[0] : 1;
	int n_dims = idx->rank > 1 ? idx->shape[1] : 1;
	if (shp->rank != 1 || shp->shape[0] != n_dims)
		return nn_ref_fail(msg, len, n, NN_ERR_SHAPE, "output_shape %s should be [%d] for sparse_indices %s",
				   nn_ref_shape_str(shp, a), n_dims, nn_ref_shape_str(idx, b));
	if (out->rank != n_dims)
		return nn_ref_fail(msg, len, n, NN_ERR_SHAPE, "output %s should have rank %d for sparse_indices %s",
				   nn_ref_shape_str(out, a), n_dims, nn_ref_shape_str(idx, b));
	if (vals->rank > 1 || (vals->rank == 1 && vals->shape[0] != n_elems))
		return nn_ref_fail(msg, len, n, NN_ERR_SHAPE, "sparse_values %s should be [] or [%lld]",
				   nn_ref_shape_str(vals, a), (long long)n_elems);
	if (nn_ref_elements(def) != 1)
		return nn_ref_fail(msg, len, n, NN_ERR_SHAPE, "default_value %s is not a scalar",
				   nn_ref_shape_str(def, a));
	return 0;
}

static int sparse_run(nn_graph *g, const nn_node *n, char *err, size_t errlen)
{
	const nn_tensor *idx = nn_ref_input(g, n, 0), *shp = nn_ref_input(g, n, 1);
	const nn_tensor *vals = nn_ref_input(g, n, 2), *def = nn_ref_input(g, n, 3);
	nn_tensor *out = nn_ref_output(g, n, 0);
	char a[NN_REF_SHAPE_BUF], b[NN_REF_SHAPE_BUF];
	int n_dims = out->rank;
	for (int d = 0; d < n_dims; d++) {
		int64_t v = nn_ref_load_int(shp, (size_t)d);
		if (v != out->shape[d])
			return nn_ref_fail(err, errlen, n, NN_ERR_SHAPE,
					   "output_shape holds %lld in dimension %d, the output tensor is %s",
					   (long long)v, d, nn_ref_shape_str(out, a));
	}
	size_t es = nn_dtype_size(out->dtype);
	size_t count = (size_t)nn_ref_elements(out);
	size_t n_elems = idx->rank > 0 ? (size_t)idx->shape[0] : 1;
	/* Check every index first, so that a bad one leaves the output untouched. */
	for (size_t i = 0; i < n_elems; i++)
		for (int d = 0; d < n_dims; d++) {
			int64_t c = nn_ref_load_int(idx, i * (size_t)n_dims + (size_t)d);
			if (c >= 0 && c < out->shape[d])
				continue;
			int coord[NN_MAX_RANK];
			for (int k = 0; k < n_dims; k++) {
				int64_t v = nn_ref_load_int(idx, i * (size_t)n_dims + (size_t)k);
				coord[k] = v < INT32_MIN ? INT32_MIN : v > INT32_MAX ? INT32_MAX : (int)v;
			}
			return nn_ref_fail(err, errlen, n, NN_ERR_ARG,
					   "sparse_indices[%zu] = [%s] is out of bounds for output %s", i,
					   ints_str(coord, n_dims, a), nn_ref_shape_str(out, b));
		}
	if (count == 0)
		return NN_OK;

	/* The default value, then doubling copies of what is filled so far. */
	char *dst = out->data;
	memcpy(dst, def->data, es);
	for (size_t filled = 1; filled < count;) {
		size_t k = filled < count - filled ? filled : count - filled;
		memcpy(dst + filled * es, dst, k * es);
		filled += k;
	}
	const char *src = vals->data;
	size_t val_step = vals->rank == 0 ? 0 : es;
	for (size_t i = 0; i < n_elems; i++) {
		size_t off = 0;
		for (int d = 0; d < n_dims; d++)
			off = off * (size_t)out->shape[d] + (size_t)nn_ref_load_int(idx, i * (size_t)n_dims + (size_t)d);
		memcpy(dst + off * es, src + i * val_step, es);
	}
	return NN_OK;
}

/* Dispatch. */

/* Whether every tensor of the node has a known dtype and a valid shape: all later checks rely on both. */
static int check_tensors(const nn_graph *g, const nn_node *n, char *msg, size_t len)
{
	for (int i = 0; i < n->n_inputs + n->n_outputs; i++) {
		int is_input = i < n->n_inputs;
		int slot = is_input ? i : i - n->n_inputs;
		const nn_tensor *t = is_input ? nn_ref_input(g, n, slot) : nn_ref_output(g, n, slot);
		if (!t)
			continue;
		if (nn_dtype_size(t->dtype) == 0)
			return nn_ref_fail(msg, len, n, NN_ERR_FORMAT, "%s %d '%s' has an unknown dtype %d",
					   is_input ? "input" : "output", slot, t->name ? t->name : "", (int)t->dtype);
		if (nn_ref_elements(t) < 0) {
			char buf[NN_REF_SHAPE_BUF];
			return nn_ref_fail(msg, len, n, NN_ERR_SHAPE, "%s %d '%s' has an invalid shape %s",
					   is_input ? "input" : "output", slot, t->name ? t->name : "",
					   nn_ref_shape_str(t, buf));
		}
	}
	return 0;
}

static int check(const nn_graph *g, const nn_node *n, char *msg, size_t len)
{
	int rc = check_tensors(g, n, msg, len);
	if (rc < 0)
		return rc;
	switch (n->op) {
	case NN_OP_TRANSPOSE:
		return transpose_check(g, n, msg, len);
	case NN_OP_STRIDED_SLICE:
		return slice_check(g, n, msg, len);
	case NN_OP_GATHER:
		return gather_check(g, n, msg, len);
	case NN_OP_SPLIT:
		return split_check(g, n, msg, len);
	case NN_OP_SPARSE_TO_DENSE:
		return sparse_check(g, n, msg, len);
	case NN_OP_CAST:
		return nn_ref_cast_check(g, n, msg, len);
	case NN_OP_TOPK:
		return nn_ref_topk_check(g, n, msg, len);
	case NN_OP_FLOOR_DIV:
	case NN_OP_FLOOR_MOD:
	case NN_OP_EQUAL:
		return nn_ref_broadcast_check(g, n, msg, len);
	default:
		return nn_ref_fail(msg, len, n, NN_ERR_UNSUPPORTED, "no reference kernel");
	}
}

int nn_ref_shape_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen)
{
	return check(g, n, why, whylen) == 0;
}

int nn_ref_shape_run(nn_graph *g, const nn_node *n, char *err, size_t errlen)
{
	/*
	 * nn_ref_run has had the node accepted already; checking again costs a few
	 * comparisons and keeps every kernel below safe from any other caller.
	 */
	int rc = check(g, n, err, errlen);
	if (rc < 0)
		return rc;
	switch (n->op) {
	case NN_OP_TRANSPOSE:
		return transpose_run(g, n);
	case NN_OP_STRIDED_SLICE:
		return slice_run(g, n);
	case NN_OP_GATHER:
		return gather_run(g, n, err, errlen);
	case NN_OP_SPLIT:
		return split_run(g, n);
	case NN_OP_SPARSE_TO_DENSE:
		return sparse_run(g, n, err, errlen);
	case NN_OP_CAST:
		return nn_ref_cast_run(g, n, err, errlen);
	case NN_OP_TOPK:
		return nn_ref_topk_run(g, n, err, errlen);
	case NN_OP_FLOOR_DIV:
	case NN_OP_FLOOR_MOD:
	case NN_OP_EQUAL:
		return nn_ref_broadcast_run(g, n, err, errlen);
	default:
		return nn_ref_fail(err, errlen, n, NN_ERR_UNSUPPORTED, "no reference kernel");
	}
}
