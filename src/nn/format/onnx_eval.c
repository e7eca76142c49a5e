/*
 * Values known at load time and the ops that compute them: the shape
 * subgraphs of exported models (Shape -> Gather -> Unsqueeze -> Concat ->
 * Reshape, Cast, Slice, arithmetic on the sizes) evaluated with ONNX's
 * semantics, so that the ops reading them (Reshape, Resize, Expand, ...)
 * see constants. Floating values compute in float32 as ONNX does; integers
 * in int64 (wrapping like the machine would be wrong: overflow is refused).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/format/onnx_internal.h"

ox_val *ox_val_new(ox *c, int dtype, int rank, const int64_t *dims)
{
	ox_val *v = ox_alloc(c, sizeof *v);
	if (!v)
		return NULL;
	v->dtype = dtype;
	v->rank = rank;
	v->n = 1;
	for (int d = 0; d < rank; d++) {
		v->dims[d] = dims[d];
		v->n *= dims[d];
	}
	if (ox_is_float(dtype))
		v->f = ox_alloc(c, (size_t)(v->n ? v->n : 1) * sizeof *v->f);
	else
		v->i = ox_alloc(c, (size_t)(v->n ? v->n : 1) * sizeof *v->i);
	return v->f || v->i ? v : NULL;
}

double ox_val_get(const ox_val *v, int64_t k)
{
	return v->f ? (double)v->f[k] : (double)v->i[k];
}

int64_t ox_val_int(const ox_val *v, int64_t k)
{
	if (v->i)
		return v->i[k];
	double d = v->f[k];
	if (!(d > -9.2e18 && d < 9.2e18))
		return d > 0 ? INT64_MAX : INT64_MIN;
	return (int64_t)d;
}

int ox_axis(ox *c, int64_t axis, int rank, int *out)
{
	if (axis < -rank || axis >= (rank ? rank : 1))
		return ox_nfail(c, NN_ERR_FORMAT, "axis %lld is out of range for rank %d", (long long)axis, rank);
	*out = (int)(axis < 0 ? axis + rank : axis);
	return 0;
}

/* Output dims of NumPy broadcasting a and b. */
int ox_broadcast_dims(ox *c, int ra, const int64_t *a, int rb, const int64_t *b, int *rank, int64_t *out)
{
	int r = ra > rb ? ra : rb;
	for (int d = 0; d < r; d++) {
		int64_t x = d - (r - ra) >= 0 ? a[d - (r - ra)] : 1, y = d - (r - rb) >= 0 ? b[d - (r - rb)] : 1;
		if (x != y && x != 1 && y != 1)
			return ox_nfail(c, NN_ERR_SHAPE, "shapes do not broadcast (dimension %d: %lld vs %lld)", d,
					(long long)x, (long long)y);
		out[d] = x == 1 ? y : x;
	}
	*rank = r;
	return 0;
}

/* The flat index into v of the output element at idx (of rank r) under broadcasting. */
static int64_t bidx(const ox_val *v, int r, const int64_t *idx)
{
	int64_t k = 0;
	for (int d = 0; d < v->rank; d++) {
		int64_t i = idx[d + r - v->rank];
		k = k * v->dims[d] + (v->dims[d] == 1 ? 0 : i);
	}
	return k;
}

static void next_index(int r, const int64_t *dims, int64_t *idx)
{
	for (int d = r - 1; d >= 0; d--) {
		if (++idx[d] < dims[d])
			return;
		idx[d] = 0;
	}
}

static int64_t count_of(int rank, const int64_t *dims)
{
	int64_t n = 1;
	for (int d = 0; d < rank; d++) {
		if (dims[d] < 0)
			return -1;
		n *= dims[d];
		if (n > OX_MAX_EVAL_ELEMENTS)
			return -1;
	}
	return n;
}

static void set_val(ox_val *v, int64_t k, double x)
{
	if (v->f)
		v->f[k] = (float)x;
	else if (v->dtype == OX_BOOL)
		v->i[k] = x != 0;
	else if (!(x > -9.2e18 && x < 9.2e18))
		v->i[k] = x > 0 ? INT64_MAX : x < 0 ? INT64_MIN : 0; /* NaN and out of range: no undefined conversion */
	else
		v->i[k] = (int64_t)x;
}

/* Elementwise ops of one to three inputs. */
static int eval_elementwise(ox *c, const ox_node *n, int n_in, ox_val **in)
{
	int rank = in[0]->rank;
	int64_t dims[NN_MAX_RANK];
	memcpy(dims, in[0]->dims, sizeof dims);
	for (int k = 1; k < n_in; k++) {
		int64_t tmp[NN_MAX_RANK];
		int r;
		if (ox_broadcast_dims(c, rank, dims, in[k]->rank, in[k]->dims, &r, tmp) < 0)
			return NN_ERR_SHAPE;
		rank = r;
		memcpy(dims, tmp, sizeof dims);
	}
	if (count_of(rank, dims) < 0)
		return 0;
	const char *op = n->op;
	int cmp = !strcmp(op, "Equal") || !strcmp(op, "Less") || !strcmp(op, "Greater") || !strcmp(op, "Not") ||
		  !strcmp(op, "And") || !strcmp(op, "Or") || !strcmp(op, "LessOrEqual") || !strcmp(op, "GreaterOrEqual");
	int dtype = cmp ? OX_BOOL : !strcmp(op, "Where") ? in[1]->dtype : in[0]->dtype;
	ox_val *o = ox_val_new(c, dtype, rank, dims);
	if (!o)
		return NN_ERR_NOMEM;
	int64_t idx[NN_MAX_RANK] = { 0 };
	/* The integer path only when every operand holds integers (Pow may mix an integer base with a float exponent). */
	int is_int = 1;
	for (int k = 0; k < n_in; k++)
		if (!in[k]->i && (k > 0 || strcmp(op, "Where")))
			is_int = 0;
	if (!strcmp(op, "Where"))
		is_int = in[1]->i && in[2]->i;
	for (int64_t k = 0; k < o->n; k++, next_index(rank, dims, idx)) {
		if (is_int && !cmp && strcmp(op, "Where") && o->i) {
			int64_t a = in[0]->i[bidx(in[0], rank, idx)], b = n_in > 1 ? in[1]->i[bidx(in[1], rank, idx)] : 0, r;
			if (!strcmp(op, "Add")) {
				if (__builtin_add_overflow(a, b, &r))
					return ox_nfail(c, NN_ERR_FORMAT, "integer overflow evaluating at load time");
			} else if (!strcmp(op, "Sub")) {
				if (__builtin_sub_overflow(a, b, &r))
					return ox_nfail(c, NN_ERR_FORMAT, "integer overflow evaluating at load time");
			} else if (!strcmp(op, "Mul")) {
				if (__builtin_mul_overflow(a, b, &r))
					return ox_nfail(c, NN_ERR_FORMAT, "integer overflow evaluating at load time");
			} else if (!strcmp(op, "Div")) {
				if (b == 0 || (a == INT64_MIN && b == -1))
					return ox_nfail(c, NN_ERR_FORMAT, "integer division by zero evaluating at load time");
				r = a / b;
			} else if (!strcmp(op, "Mod")) {
				if (b == 0 || (a == INT64_MIN && b == -1))
					return ox_nfail(c, NN_ERR_FORMAT, "integer division by zero evaluating at load time");
				r = a % b;
				if (r != 0 && ((r < 0) != (b < 0)) && !ox_attr_i(n, "fmod", 0))
					r += b;
			} else if (!strcmp(op, "Pow")) {
				double pw = pow((double)a, (double)b);
				if (!(pw > -9.2e18 && pw < 9.2e18))
					return ox_nfail(c, NN_ERR_FORMAT, "integer overflow evaluating at load time");
				r = (int64_t)pw;
			} else if (!strcmp(op, "Min")) {
				r = a < b ? a : b;
			} else if (!strcmp(op, "Max")) {
				r = a > b ? a : b;
			} else if (!strcmp(op, "Neg")) {
				r = a == INT64_MIN ? a : -a;
			} else if (!strcmp(op, "Abs")) {
				r = a < 0 && a != INT64_MIN ? -a : a;
			} else {
				r = a; /* Identity, Floor, Ceil of integers */
			}
			o->i[k] = r;
			continue;
		}
		double a = ox_val_get(in[0], bidx(in[0], rank, idx));
		double b = n_in > 1 ? ox_val_get(in[1], bidx(in[1], rank, idx)) : 0, r;
		float fa = (float)a, fb = (float)b;
		if (!strcmp(op, "Add")) r = fa + fb;
		else if (!strcmp(op, "Sub")) r = fa - fb;
		else if (!strcmp(op, "Mul")) r = fa * fb;
		else if (!strcmp(op, "Div")) r = fa / fb;
		else if (!strcmp(op, "Pow")) r = powf(fa, fb);
		else if (!strcmp(op, "Mod")) {
			r = fmodf(fa, fb);
			if (!ox_attr_i(n, "fmod", 0) && r != 0 && ((r < 0) != (fb < 0)))
				r += fb;
		}
		else if (!strcmp(op, "Min")) r = fa < fb ? fa : fb;
		else if (!strcmp(op, "Max")) r = fa > fb ? fa : fb;
		else if (!strcmp(op, "Neg")) r = -fa;
		else if (!strcmp(op, "Abs")) r = fabsf(fa);
		else if (!strcmp(op, "Sqrt")) r = sqrtf(fa);
		else if (!strcmp(op, "Floor")) r = floorf(fa);
		else if (!strcmp(op, "Ceil")) r = ceilf(fa);
		else if (!strcmp(op, "Reciprocal")) r = 1.0f / fa;
		else if (!strcmp(op, "Equal")) r = is_int ? in[0]->i[bidx(in[0], rank, idx)] == in[1]->i[bidx(in[1], rank, idx)] : a == b;
		else if (!strcmp(op, "Less")) r = a < b;
		else if (!strcmp(op, "Greater")) r = a > b;
		else if (!strcmp(op, "LessOrEqual")) r = a <= b;
		else if (!strcmp(op, "GreaterOrEqual")) r = a >= b;
		else if (!strcmp(op, "Not")) r = a == 0;
		else if (!strcmp(op, "And")) r = a != 0 && b != 0;
		else if (!strcmp(op, "Or")) r = a != 0 || b != 0;
		else if (!strcmp(op, "Where")) {
			const ox_val *src = a != 0 ? in[1] : in[2];
			int64_t j = bidx(src, rank, idx);
			if (o->i)
				o->i[k] = ox_val_int(src, j);
			else
				o->f[k] = src->f ? src->f[j] : (float)src->i[j];
			continue;
		} else r = a;
		set_val(o, k, r);
	}
	return ox_bind_const(c, n, 0, o) < 0 ? NN_ERR_NOMEM : 2;
}

/* Resolves ONNX Slice's starts/ends/axes/steps against dims: begin, step and count per dimension. */
int ox_slice_resolve(ox *c, int rank, const int64_t *dims, int n_ax, const int64_t *starts, const int64_t *ends,
		     const int64_t *axes, const int64_t *steps, int64_t *begin, int64_t *step, int64_t *count)
{
	for (int d = 0; d < rank; d++) {
		begin[d] = 0;
		step[d] = 1;
		count[d] = dims[d];
	}
	int seen[NN_MAX_RANK] = { 0 };
	for (int k = 0; k < n_ax; k++) {
		int a;
		if (ox_axis(c, axes ? axes[k] : k, rank, &a) < 0)
			return NN_ERR_FORMAT;
		if (seen[a]++)
			return ox_nfail(c, NN_ERR_FORMAT, "axis %d is sliced twice", a);
		int64_t dim = dims[a], s = starts[k], e = ends[k], st = steps ? steps[k] : 1;
		if (st == 0)
			return ox_nfail(c, NN_ERR_FORMAT, "a slice step of 0");
		if (s < 0)
			s = s < -dim ? 0 : s + dim;
		if (e < 0)
			e = e < -dim ? -1 : e + dim;
		if (st > 0) {
			s = s > dim ? dim : s;
			e = e < 0 ? 0 : e > dim ? dim : e;
		} else {
			s = s > dim - 1 ? dim - 1 : s;
			e = e > dim - 1 ? dim - 1 : e;
		}
		int64_t cnt = st > 0 ? (e - s + st - 1) / st : (s - e + (-st) - 1) / (-st);
		if (cnt < 0)
			cnt = 0;
		begin[a] = cnt ? s : 0;
		step[a] = st;
		count[a] = cnt;
	}
	return 0;
}

/* The int64 list a const input holds (at most max); -1 when too long. */
static int const_list(const ox_val *v, int64_t *out, int max)
{
	if (!v || v->n > max)
		return -1;
	for (int64_t k = 0; k < v->n; k++)
		out[k] = ox_val_int(v, k);
	return (int)v->n;
}

/* Reshape's target shape: 0 copies (unless allowzero), -1 is inferred. */
int ox_reshape_dims(ox *c, const ox_node *n, int rank, const int64_t *dims, const ox_val *shape, int *out_rank,
		    int64_t *out)
{
	if (!shape || shape->rank != 1 || shape->n > NN_MAX_RANK)
		return ox_nfail(c, NN_ERR_UNSUPPORTED, "the new shape must be a constant list of at most %d values",
				NN_MAX_RANK);
	int allowzero = (int)ox_attr_i(n, "allowzero", 0);
	int64_t total = 1, known = 1;
	for (int d = 0; d < rank; d++)
		total *= dims[d];
	int infer = -1;
	for (int k = 0; k < shape->n; k++) {
		int64_t v = ox_val_int(shape, k);
		if (v == 0 && !allowzero) {
			if (k >= rank)
				return ox_nfail(c, NN_ERR_SHAPE, "shape value 0 at %d copies a dimension the input lacks", k);
			v = dims[k];
		}
		if (v == -1) {
			if (infer >= 0)
				return ox_nfail(c, NN_ERR_SHAPE, "two -1 in the new shape");
			infer = k;
			v = 1;
		} else if (v < 0 || v > OX_MAX_DIM) {
			return ox_nfail(c, NN_ERR_SHAPE, "shape value %lld", (long long)v);
		}
		out[k] = v;
		known *= v;
	}
	if (infer >= 0) {
		if (known == 0 || total % known)
			return ox_nfail(c, NN_ERR_SHAPE, "cannot infer -1: %lld elements into %lld", (long long)total,
					(long long)known);
		out[infer] = total / known;
		known = total;
	}
	if (known != total)
		return ox_nfail(c, NN_ERR_SHAPE, "cannot reshape %lld elements into %lld", (long long)total,
				(long long)known);
	*out_rank = (int)shape->n;
	return 0;
}

/* Unsqueeze/Squeeze axes: the attribute before opset 13, the second input from 13 on. */
int ox_squeeze_axes(ox *c, const ox_node *n, int64_t *axes, int *count)
{
	if (c->opset >= 13) {
		*count = 0;
		if (n->n_in < 2 || !n->in[1][0])
			return 0;
		ox_val *a = ox_in_const(c, n, 1);
		int k = const_list(a, axes, NN_MAX_RANK);
		if (k < 0)
			return ox_nfail(c, NN_ERR_UNSUPPORTED, "the axes input must be a constant list");
		*count = k;
		return 0;
	}
	return ox_attr_ints(c, n, "axes", axes, NN_MAX_RANK, count);
}

/* Shape after Unsqueeze (insert) or Squeeze (remove; no axes: every 1). */
int ox_squeeze_dims(ox *c, const ox_node *n, int unsqueeze, int rank, const int64_t *dims, int *out_rank, int64_t *out)
{
	int64_t axes[NN_MAX_RANK];
	int na;
	if (ox_squeeze_axes(c, n, axes, &na) < 0)
		return NN_ERR_FORMAT;
	if (unsqueeze) {
		int r = rank + na, ins[NN_MAX_RANK] = { 0 };
		if (r > NN_MAX_RANK)
			return ox_nfail(c, NN_ERR_UNSUPPORTED, "rank past %d", NN_MAX_RANK);
		for (int k = 0; k < na; k++) {
			int a;
			if (ox_axis(c, axes[k], r, &a) < 0)
				return NN_ERR_FORMAT;
			if (ins[a]++)
				return ox_nfail(c, NN_ERR_FORMAT, "axis %d repeated", a);
		}
		for (int d = 0, j = 0; d < r; d++)
			out[d] = ins[d] ? 1 : dims[j++];
		*out_rank = r;
		return 0;
	}
	int drop[NN_MAX_RANK] = { 0 };
	for (int k = 0; k < na; k++) {
		int a;
		if (ox_axis(c, axes[k], rank, &a) < 0)
			return NN_ERR_FORMAT;
		if (dims[a] != 1)
			return ox_nfail(c, NN_ERR_SHAPE, "cannot squeeze axis %d of size %lld", a, (long long)dims[a]);
		drop[a] = 1;
	}
	int r = 0;
	for (int d = 0; d < rank; d++)
		if (na ? !drop[d] : dims[d] != 1)
			out[r++] = dims[d];
	*out_rank = r;
	return 0;
}

static int eval_gather(ox *c, const ox_node *n, ox_val *data, ox_val *ind)
{
	int axis;
	if (ox_axis(c, ox_attr_i(n, "axis", 0), data->rank, &axis) < 0)
		return NN_ERR_FORMAT;
	int rank = data->rank - 1 + ind->rank;
	if (rank > NN_MAX_RANK)
		return 0;
	int64_t dims[NN_MAX_RANK];
	int r = 0;
	for (int d = 0; d < axis; d++)
		dims[r++] = data->dims[d];
	for (int d = 0; d < ind->rank; d++)
		dims[r++] = ind->dims[d];
	for (int d = axis + 1; d < data->rank; d++)
		dims[r++] = data->dims[d];
	if (count_of(rank, dims) < 0)
		return 0;
	ox_val *o = ox_val_new(c, data->dtype, rank, dims);
	if (!o)
		return NN_ERR_NOMEM;
	int64_t outer = 1, inner = 1, dim = data->dims[axis];
	for (int d = 0; d < axis; d++)
		outer *= data->dims[d];
	for (int d = axis + 1; d < data->rank; d++)
		inner *= data->dims[d];
	int64_t k = 0;
	for (int64_t a = 0; a < outer; a++)
		for (int64_t j = 0; j < ind->n; j++) {
			int64_t i = ox_val_int(ind, j);
			if (i < 0)
				i += dim;
			if (i < 0 || i >= dim)
				return ox_nfail(c, NN_ERR_FORMAT, "index %lld is out of range for dimension %lld",
						(long long)ox_val_int(ind, j), (long long)dim);
			for (int64_t b = 0; b < inner; b++, k++) {
				int64_t s = (a * dim + i) * inner + b;
				if (o->f)
					o->f[k] = data->f[s];
				else
					o->i[k] = data->i[s];
			}
		}
	return ox_bind_const(c, n, 0, o) < 0 ? NN_ERR_NOMEM : 2;
}

static int eval_concat(ox *c, const ox_node *n)
{
	ox_val *first = ox_in_const(c, n, 0);
	int axis;
	if (ox_axis(c, ox_attr_i(n, "axis", 0), first->rank, &axis) < 0)
		return NN_ERR_FORMAT;
	int64_t dims[NN_MAX_RANK];
	memcpy(dims, first->dims, sizeof dims);
	dims[axis] = 0;
	int dtype = first->dtype;
	for (int k = 0; k < n->n_in; k++) {
		ox_val *v = ox_in_const(c, n, k);
		if (!v)
			continue;
		if (v->rank != first->rank)
			return ox_nfail(c, NN_ERR_SHAPE, "inputs of ranks %d and %d", first->rank, v->rank);
		for (int d = 0; d < v->rank; d++)
			if (d != axis && v->dims[d] != first->dims[d])
				return ox_nfail(c, NN_ERR_SHAPE, "inputs differ in dimension %d", d);
		if (ox_is_float(v->dtype) != ox_is_float(dtype))
			return ox_nfail(c, NN_ERR_FORMAT, "inputs of different types");
		dims[axis] += v->dims[axis];
	}
	if (count_of(first->rank, dims) < 0)
		return 0;
	ox_val *o = ox_val_new(c, dtype, first->rank, dims);
	if (!o)
		return NN_ERR_NOMEM;
	int64_t outer = 1, inner = 1;
	for (int d = 0; d < axis; d++)
		outer *= dims[d];
	for (int d = axis + 1; d < first->rank; d++)
		inner *= dims[d];
	int64_t k = 0;
	for (int64_t a = 0; a < outer; a++)
		for (int j = 0; j < n->n_in; j++) {
			ox_val *v = ox_in_const(c, n, j);
			if (!v)
				continue;
			int64_t len = v->dims[axis] * inner;
			for (int64_t b = 0; b < len; b++, k++) {
				if (o->f)
					o->f[k] = v->f[a * len + b];
				else
					o->i[k] = v->i[a * len + b];
			}
		}
	return ox_bind_const(c, n, 0, o) < 0 ? NN_ERR_NOMEM : 2;
}

/* The same elements under new dims. */
static int rebind(ox *c, const ox_node *n, const ox_val *v, int rank, const int64_t *dims)
{
	ox_val *o = ox_alloc(c, sizeof *o);
	if (!o)
		return NN_ERR_NOMEM;
	*o = *v;
	o->rank = rank;
	memcpy(o->dims, dims, (size_t)rank * sizeof *dims);
	return ox_bind_const(c, n, 0, o) < 0 ? NN_ERR_NOMEM : 2;
}

static int eval_slice(ox *c, const ox_node *n, ox_val *x)
{
	int64_t st[NN_MAX_RANK], en[NN_MAX_RANK], ax[NN_MAX_RANK], sp[NN_MAX_RANK];
	int ns, ne, na = -1, np = -1;
	if (c->opset < 10) {
		if (ox_attr_ints(c, n, "starts", st, NN_MAX_RANK, &ns) < 0 || ox_attr_ints(c, n, "ends", en, NN_MAX_RANK, &ne) < 0 ||
		    ox_attr_ints(c, n, "axes", ax, NN_MAX_RANK, &na) < 0)
			return NN_ERR_FORMAT;
		if (!ox_attr_get(n, "axes"))
			na = -1;
	} else {
		ns = const_list(ox_in_const(c, n, 1), st, NN_MAX_RANK);
		ne = const_list(ox_in_const(c, n, 2), en, NN_MAX_RANK);
		if (n->n_in > 3 && n->in[3][0])
			na = const_list(ox_in_const(c, n, 3), ax, NN_MAX_RANK);
		if (n->n_in > 4 && n->in[4][0])
			np = const_list(ox_in_const(c, n, 4), sp, NN_MAX_RANK);
	}
	if (ns < 0 || ne != ns || (na >= 0 && na != ns) || (np >= 0 && np != ns))
		return ox_nfail(c, NN_ERR_FORMAT, "starts, ends, axes and steps differ in length");
	int64_t b[NN_MAX_RANK], s[NN_MAX_RANK], cnt[NN_MAX_RANK];
	if (ox_slice_resolve(c, x->rank, x->dims, ns, st, en, na >= 0 ? ax : NULL, np >= 0 ? sp : NULL, b, s, cnt) < 0)
		return NN_ERR_FORMAT;
	ox_val *o = ox_val_new(c, x->dtype, x->rank, cnt);
	if (!o)
		return NN_ERR_NOMEM;
	int64_t idx[NN_MAX_RANK] = { 0 };
	for (int64_t k = 0; k < o->n; k++, next_index(x->rank, cnt, idx)) {
		int64_t j = 0;
		for (int d = 0; d < x->rank; d++)
			j = j * x->dims[d] + b[d] + idx[d] * s[d];
		if (o->f)
			o->f[k] = x->f[j];
		else
			o->i[k] = x->i[j];
	}
	return ox_bind_const(c, n, 0, o) < 0 ? NN_ERR_NOMEM : 2;
}

static int eval_cast(ox *c, const ox_node *n, ox_val *x)
{
	int to = (int)ox_attr_i(n, "to", 0);
	if (to == OX_STRING || !ox_attr_get(n, "to"))
		return 0;
	ox_val *o = ox_val_new(c, to, x->rank, x->dims);
	if (!o)
		return NN_ERR_NOMEM;
	for (int64_t k = 0; k < x->n; k++) {
		if (o->f) {
			o->f[k] = x->f ? x->f[k] : (float)x->i[k];
			continue;
		}
		int64_t v = ox_val_int(x, k);
		switch (to) {
		case OX_BOOL: v = x->f ? x->f[k] != 0 : v != 0; break;
		case OX_UINT8: v = (uint8_t)v; break;
		case OX_INT8: v = (int8_t)v; break;
		case OX_INT16: v = (int16_t)v; break;
		case OX_INT32: v = (int32_t)v; break;
		default: break;
		}
		o->i[k] = v;
	}
	return ox_bind_const(c, n, 0, o) < 0 ? NN_ERR_NOMEM : 2;
}

static int eval_transpose(ox *c, const ox_node *n, ox_val *x)
{
	int64_t perm[NN_MAX_RANK];
	int np;
	if (ox_attr_ints(c, n, "perm", perm, NN_MAX_RANK, &np) < 0)
		return NN_ERR_FORMAT;
	if (!np) {
		np = x->rank;
		for (int d = 0; d < np; d++)
			perm[d] = np - 1 - d;
	}
	if (np != x->rank)
		return ox_nfail(c, NN_ERR_FORMAT, "perm has %d values for rank %d", np, x->rank);
	int64_t dims[NN_MAX_RANK], istride[NN_MAX_RANK];
	int used[NN_MAX_RANK] = { 0 };
	for (int d = 0; d < np; d++) {
		if (perm[d] < 0 || perm[d] >= np || used[perm[d]]++)
			return ox_nfail(c, NN_ERR_FORMAT, "perm is not a permutation");
		dims[d] = x->dims[perm[d]];
	}
	int64_t s = 1;
	for (int d = np - 1; d >= 0; d--) {
		istride[d] = s;
		s *= x->dims[d];
	}
	ox_val *o = ox_val_new(c, x->dtype, np, dims);
	if (!o)
		return NN_ERR_NOMEM;
	int64_t idx[NN_MAX_RANK] = { 0 };
	for (int64_t k = 0; k < o->n; k++, next_index(np, dims, idx)) {
		int64_t j = 0;
		for (int d = 0; d < np; d++)
			j += idx[d] * istride[perm[d]];
		if (o->f)
			o->f[k] = x->f[j];
		else
			o->i[k] = x->i[j];
	}
	return ox_bind_const(c, n, 0, o) < 0 ? NN_ERR_NOMEM : 2;
}

static int eval_expand(ox *c, const ox_node *n, ox_val *x, ox_val *shape)
{
	int64_t sh[NN_MAX_RANK], dims[NN_MAX_RANK];
	int ns = const_list(shape, sh, NN_MAX_RANK), r;
	if (ns < 0 || ox_broadcast_dims(c, x->rank, x->dims, ns, sh, &r, dims) < 0 || count_of(r, dims) < 0)
		return 0;
	ox_val *o = ox_val_new(c, x->dtype, r, dims);
	if (!o)
		return NN_ERR_NOMEM;
	int64_t idx[NN_MAX_RANK] = { 0 };
	for (int64_t k = 0; k < o->n; k++, next_index(r, dims, idx)) {
		int64_t j = bidx(x, r, idx);
		if (o->f)
			o->f[k] = x->f[j];
		else
			o->i[k] = x->i[j];
	}
	return ox_bind_const(c, n, 0, o) < 0 ? NN_ERR_NOMEM : 2;
}

static int all_const(ox *c, const ox_node *n)
{
	int any = 0;
	for (int k = 0; k < n->n_in; k++) {
		if (!n->in[k][0])
			continue;
		if (!ox_in_const(c, n, k))
			return 0;
		any = 1;
	}
	return any;
}

/* 2 when evaluated (outputs bound), 0 when not evaluable here, < 0 on error. */
static int eval(ox *c, const ox_node *n)
{
	const char *op = n->op;
	if (n->domain[0] && strcmp(n->domain, "ai.onnx"))
		return 0;
	if (!strcmp(op, "Constant")) {
		const ox_attr *a = n->n_attr ? &n->attr[0] : NULL;
		if (!a)
			return ox_nfail(c, NN_ERR_FORMAT, "a Constant without a value");
		ox_val *v = NULL;
		int64_t one = 1;
		if (a->type == OX_A_TENSOR && a->t)
			v = a->t;
		else if (!strcmp(a->name, "value_float") || !strcmp(a->name, "value_floats")) {
			int many = a->type == OX_A_FLOATS;
			int64_t cnt = many ? a->n : 1;
			if (!(v = ox_val_new(c, OX_FLOAT, many, &cnt)))
				return NN_ERR_NOMEM;
			for (int64_t k = 0; k < cnt; k++)
				v->f[k] = many ? a->floats[k] : a->f;
		} else if (!strcmp(a->name, "value_int") || !strcmp(a->name, "value_ints")) {
			int many = a->type == OX_A_INTS;
			int64_t cnt = many ? a->n : 1;
			if (!(v = ox_val_new(c, OX_INT64, many, &cnt)))
				return NN_ERR_NOMEM;
			for (int64_t k = 0; k < cnt; k++)
				v->i[k] = many ? a->ints[k] : a->i;
		} else {
			(void)one;
			return ox_unsupported(c, "Constant attribute '%s' is not supported", a->name);
		}
		return ox_bind_const(c, n, 0, v) < 0 ? NN_ERR_NOMEM : 2;
	}
	if (!strcmp(op, "Shape") || !strcmp(op, "Size")) {
		ox_value *x = ox_in(c, n, 0);
		if (!x)
			return ox_nfail(c, NN_ERR_FORMAT, "no input");
		int rank;
		int64_t dims[NN_MAX_RANK];
		int src = x->c ? -1 : x->t >= 0 ? x->t : x->lz_src;
		int src_rank = src < 0 ? 0 : x->t >= 0 ? ox_T(c, src)->rank : x->lz_rank;
		int64_t from = ox_attr_i(n, "start", 0);
		if (src >= 0 && ox_T(c, src)->dynamic_rows &&
		    (!strcmp(op, "Size") || (from < 0 ? from + src_rank : from) <= 0))
			return ox_unsupported(c, "%s of '%s', whose row count is known only at run time", op, n->in[0]);
		if (x->c) {
			rank = x->c->rank;
			memcpy(dims, x->c->dims, sizeof dims);
		} else if (x->t < 0 && x->lz_src >= 0) {
			rank = x->lz_rank;
			for (int d = 0; d < rank; d++)
				dims[d] = x->lz_shape[d];
		} else {
			nn_tensor *t = ox_T(c, x->t);
			rank = t->rank;
			for (int d = 0; d < rank; d++)
				dims[d] = t->shape[d];
		}
		if (!strcmp(op, "Size")) {
			ox_val *v = ox_val_new(c, OX_INT64, 0, NULL);
			if (!v)
				return NN_ERR_NOMEM;
			v->i[0] = 1;
			for (int d = 0; d < rank; d++)
				v->i[0] *= dims[d];
			return ox_bind_const(c, n, 0, v) < 0 ? NN_ERR_NOMEM : 2;
		}
		int64_t start = ox_attr_i(n, "start", 0), end = ox_attr_i(n, "end", rank);
		if (start < 0)
			start += rank;
		if (end < 0)
			end += rank;
		start = start < 0 ? 0 : start > rank ? rank : start;
		end = end < start ? start : end > rank ? rank : end;
		int64_t cnt = end - start;
		ox_val *v = ox_val_new(c, OX_INT64, 1, &cnt);
		if (!v)
			return NN_ERR_NOMEM;
		for (int64_t k = 0; k < cnt; k++)
			v->i[k] = dims[start + k];
		return ox_bind_const(c, n, 0, v) < 0 ? NN_ERR_NOMEM : 2;
	}
	if (!all_const(c, n))
		return 0;
	ox_val *in[3] = { ox_in_const(c, n, 0), n->n_in > 1 ? ox_in_const(c, n, 1) : NULL,
			  n->n_in > 2 ? ox_in_const(c, n, 2) : NULL };
	if (!in[0])
		return 0;
	if (in[0]->n > OX_MAX_EVAL_ELEMENTS)
		return 0;
	static const char *const unary[] = { "Neg", "Abs", "Sqrt", "Floor", "Ceil", "Reciprocal", "Not", NULL };
	static const char *const binary[] = { "Add", "Sub", "Mul", "Div", "Pow", "Equal", "Less", "Greater",
					      "LessOrEqual", "GreaterOrEqual", "And", "Or", "Mod", NULL };
	for (int k = 0; unary[k]; k++)
		if (!strcmp(op, unary[k]))
			return eval_elementwise(c, n, 1, in);
	for (int k = 0; binary[k]; k++)
		if (!strcmp(op, binary[k]))
			return in[1] ? eval_elementwise(c, n, 2, in) : ox_nfail(c, NN_ERR_FORMAT, "needs two inputs");
	if ((!strcmp(op, "Min") || !strcmp(op, "Max")) && n->n_in == 2 && in[1])
		return eval_elementwise(c, n, 2, in);
	if (!strcmp(op, "Where"))
		return in[1] && in[2] ? eval_elementwise(c, n, 3, in) : ox_nfail(c, NN_ERR_FORMAT, "needs three inputs");
	if (!strcmp(op, "DequantizeLinear") && in[1] && in[1]->f && !in[0]->f) {
		/* Quantized weights (QDQ models): float at load time. */
		ox_val *s = in[1], *z = in[2];
		if (z && (z->n != s->n || !z->i))
			return 0;
		int axis = 0;
		if (s->n > 1 && (ox_axis(c, ox_attr_i(n, "axis", 1), in[0]->rank, &axis) < 0 || in[0]->dims[axis] != s->n))
			return 0;
		ox_val *o = ox_val_new(c, OX_FLOAT, in[0]->rank, in[0]->dims);
		if (!o)
			return NN_ERR_NOMEM;
		int64_t inner = 1;
		for (int d = axis + 1; d < in[0]->rank; d++)
			inner *= in[0]->dims[d];
		for (int64_t k = 0; k < o->n; k++) {
			int64_t ch = s->n > 1 ? (k / inner) % s->n : 0;
			o->f[k] = (float)(in[0]->i[k] - (z ? z->i[ch] : 0)) * s->f[ch];
		}
		return ox_bind_const(c, n, 0, o) < 0 ? NN_ERR_NOMEM : 2;
	}
	if (!strcmp(op, "Dropout") && ((n->n_in > 2 && n->in[2][0] && (!in[2] || ox_val_int(in[2], 0))) ||
					(n->n_out > 1 && n->out[1][0])))
		return 0; /* training mode or the mask: the mapping refuses it */
	if (!strcmp(op, "Identity") || !strcmp(op, "Dropout"))
		return ox_bind_const(c, n, 0, in[0]) < 0 ? NN_ERR_NOMEM : 2;
	if (!strcmp(op, "Gather"))
		return in[1] ? eval_gather(c, n, in[0], in[1]) : ox_nfail(c, NN_ERR_FORMAT, "needs two inputs");
	if (!strcmp(op, "Concat"))
		return eval_concat(c, n);
	if (!strcmp(op, "Slice"))
		return eval_slice(c, n, in[0]);
	if (!strcmp(op, "Cast"))
		return eval_cast(c, n, in[0]);
	if (!strcmp(op, "Transpose"))
		return eval_transpose(c, n, in[0]);
	if (!strcmp(op, "Expand"))
		return in[1] ? eval_expand(c, n, in[0], in[1]) : ox_nfail(c, NN_ERR_FORMAT, "needs two inputs");
	if (!strcmp(op, "Unsqueeze") || !strcmp(op, "Squeeze")) {
		int r;
		int64_t dims[NN_MAX_RANK];
		if (ox_squeeze_dims(c, n, op[0] == 'U', in[0]->rank, in[0]->dims, &r, dims) < 0)
			return NN_ERR_FORMAT;
		return rebind(c, n, in[0], r, dims);
	}
	if (!strcmp(op, "Reshape")) {
		int r;
		int64_t dims[NN_MAX_RANK];
		if (ox_reshape_dims(c, n, in[0]->rank, in[0]->dims, in[1], &r, dims) < 0)
			return NN_ERR_FORMAT;
		return rebind(c, n, in[0], r, dims);
	}
	if (!strcmp(op, "Flatten")) {
		int a;
		if (ox_axis(c, ox_attr_i(n, "axis", 1), in[0]->rank + 1, &a) < 0)
			return NN_ERR_FORMAT;
		int64_t dims[2] = { 1, 1 };
		for (int d = 0; d < in[0]->rank; d++)
			dims[d >= a] *= in[0]->dims[d];
		return rebind(c, n, in[0], 2, dims);
	}
	if (!strcmp(op, "ConstantOfShape")) {
		int64_t dims[NN_MAX_RANK];
		int r = const_list(in[0], dims, NN_MAX_RANK);
		if (r < 0 || count_of(r, dims) < 0)
			return 0;
		const ox_attr *a = ox_attr_get(n, "value");
		int dtype = a && a->t ? a->t->dtype : OX_FLOAT;
		ox_val *o = ox_val_new(c, dtype, r, dims);
		if (!o)
			return NN_ERR_NOMEM;
		for (int64_t k = 0; k < o->n; k++)
			set_val(o, k, a && a->t && a->t->n ? ox_val_get(a->t, 0) : 0);
		if (o->i && a && a->t && a->t->n)
			for (int64_t k = 0; k < o->n; k++)
				o->i[k] = a->t->i[0];
		return ox_bind_const(c, n, 0, o) < 0 ? NN_ERR_NOMEM : 2;
	}
	if (!strcmp(op, "Range")) {
		if (!in[1] || !in[2])
			return ox_nfail(c, NN_ERR_FORMAT, "needs three inputs");
		if (in[0]->dtype != in[1]->dtype || in[0]->dtype != in[2]->dtype || in[0]->n != 1 || in[1]->n != 1 ||
		    in[2]->n != 1)
			return ox_nfail(c, NN_ERR_FORMAT, "start, limit and delta must be scalars of one type");
		double s = ox_val_get(in[0], 0), l = ox_val_get(in[1], 0), d = ox_val_get(in[2], 0);
		if (d == 0)
			return ox_nfail(c, NN_ERR_FORMAT, "a Range with delta 0");
		double cnt = ceil((l - s) / d);
		int64_t nn = cnt > 0 ? (int64_t)(cnt < (double)OX_MAX_EVAL_ELEMENTS ? cnt : -1) : 0;
		if (nn < 0)
			return 0;
		ox_val *o = ox_val_new(c, in[0]->dtype, 1, &nn);
		if (!o)
			return NN_ERR_NOMEM;
		for (int64_t k = 0; k < nn; k++) {
			if (o->f)
				o->f[k] = (float)(s + (double)k * d);
			else
				o->i[k] = in[0]->i[0] + k * in[2]->i[0];
		}
		return ox_bind_const(c, n, 0, o) < 0 ? NN_ERR_NOMEM : 2;
	}
	return 0;
}

int ox_eval_node(ox *c, const ox_node *n)
{
	int rc = eval(c, n);
	return rc == 2 ? 2 : rc;
}
