#include "nn/format/slice_spec.h"

#include <stdio.h>

#include "nn/nn.h"

int nn__slice_resolve(const int *shape, int rank, const int64_t *begin, const int64_t *end, const int64_t *strides,
		      int m, nn_slice_masks masks, nn_slice_spec *out, char *why, size_t whylen)
{
	enum { NEW_AXIS = -1, SHRINK = -2 };
	int64_t ell = masks.ellipsis, nam = masks.new_axis, sam = masks.shrink_axis, bm = masks.begin, em = masks.end;
	int R = rank, sparse = m;
	if (m < 0 || m > NN_SLICE_MAX_SPEC) {
		snprintf(why, whylen, "%d slice values, expected at most %d", m, NN_SLICE_MAX_SPEC);
		return NN_ERR_FORMAT;
	}
	if (ell & (ell - 1)) {
		snprintf(why, whylen, "ellipsis_mask marks more than one ellipsis");
		return NN_ERR_FORMAT;
	}

	/* Sparse to dense. Without an ellipsis, one is implied after the last index. */
	int seen = 0, new_after = 0;
	for (int i = 0; i < m; i++) {
		if (seen && (nam >> i & 1))
			new_after++;
		if (ell >> i & 1)
			seen = 1;
	}
	if (!seen) {
		ell |= (int64_t)1 << m;
		sparse = m + 1;
	}
	int64_t db[NN_MAX_RANK] = { 0 }, de[NN_MAX_RANK] = { 0 }, ds[NN_MAX_RANK];
	int dbm[NN_MAX_RANK] = { 0 }, dem[NN_MAX_RANK] = { 0 }, dsh[NN_MAX_RANK] = { 0 };
	int gather[NN_MAX_RANK + NN_SLICE_MAX_SPEC + 1], ng = 0, full = 0;
	for (int i = 0; i < sparse; i++) {
		if (ell >> i & 1) {
			int next = R - (sparse - i) + 1 + new_after;
			if (next > R)
				next = R;
			for (; full < next; full++) {
				ds[full] = 1;
				dbm[full] = dem[full] = 1;
				gather[ng++] = full;
			}
		} else if (nam >> i & 1) {
			gather[ng++] = NEW_AXIS;
		} else {
			if (full >= R) {
				snprintf(why, whylen, "the slice has more dimensions than the input's %d", R);
				return NN_ERR_FORMAT;
			}
			db[full] = begin[i];
			de[full] = end[i];
			ds[full] = strides[i];
			dbm[full] = (int)(bm >> i & 1);
			dem[full] = (int)(em >> i & 1);
			dsh[full] = (int)(sam >> i & 1);
			gather[ng++] = dsh[full] ? SHRINK : full;
			full++;
		}
	}
	for (; full < R; full++) {
		ds[full] = 1;
		dbm[full] = dem[full] = 1;
		gather[ng++] = full;
	}

	/* Canonical begin and extent per dimension. */
	for (int d = 0; d < R; d++) {
		int64_t s = ds[d], dim = shape[d], b, e;
		if (s == 0 || s < -INT32_MAX || s > INT32_MAX) {
			snprintf(why, whylen, "stride %lld of dimension %d is invalid", (long long)s, d);
			return NN_ERR_FORMAT;
		}
		if (dsh[d]) {
			if (s <= 0) {
				snprintf(why, whylen, "only stride 1 is allowed on a shrunk dimension (%d)", d);
				return NN_ERR_FORMAT;
			}
			b = db[d] < 0 ? dim + db[d] : db[d];
			if (b < 0 || b >= dim) {
				snprintf(why, whylen, "index %lld is outside dimension %d of size %lld", (long long)db[d], d,
					 (long long)dim);
				return NN_ERR_SHAPE;
			}
			e = b + 1;
		} else {
			int64_t lo = s > 0 ? 0 : -1, hi = s > 0 ? dim : dim - 1;
			if (dbm[d])
				b = s > 0 ? lo : hi;
			else {
				b = db[d] < 0 ? dim + db[d] : db[d];
				b = b < lo ? lo : b > hi ? hi : b;
			}
			if (dem[d])
				e = s > 0 ? hi : lo;
			else {
				e = de[d] < 0 ? dim + de[d] : de[d];
				e = e < lo ? lo : e > hi ? hi : e;
			}
		}
		int64_t len = e - b, size = 0;
		if (len != 0 && (len < 0) == (s < 0))
			size = len / s + (len % s != 0);
		out->shape[d] = size;
		/* An empty extent reads nothing; its begin is kept in range all the same. */
		if (size == 0)
			b = 0;
		out->begin[d] = (int)b;
		out->stride[d] = (int)s;
	}
	int frank = 0;
	for (int k = 0; k < ng; k++) {
		if (gather[k] == SHRINK)
			continue;
		if (frank >= NN_MAX_RANK) {
			snprintf(why, whylen, "the result would have more than %d dimensions", NN_MAX_RANK);
			return NN_ERR_UNSUPPORTED;
		}
		out->final[frank++] = gather[k] == NEW_AXIS ? 1 : out->shape[gather[k]];
	}
	out->final_rank = frank;
	return 0;
}

int nn__dilated_conv(const int64_t in[2], const int64_t k[2], int same, const int64_t block[2], const int64_t pads[4],
		     const int64_t crops[4], int64_t max_param, int64_t before[2], int64_t after[2], int64_t out[2],
		     char *why, size_t whylen)
{
	/*
	 * Output z of the chain reads input z + b*dy - (pb + b*pt - cb) for tap
	 * dy: a convolution with dilation b and that much padding before; its
	 * output size is the chain's, which sets the padding after.
	 */
	for (int a = 0; a < 2; a++) {
		int64_t b = block[a], padded = in[a] + pads[2 * a] + pads[2 * a + 1];
		if (b < 1 || padded % b) {
			snprintf(why, whylen, "the padded %s %lld is not a multiple of the block %lld", a ? "width" : "height",
				 (long long)padded, (long long)b);
			return NN_ERR_SHAPE;
		}
		int64_t inner = padded / b, pt = same ? (k[a] - 1) / 2 : 0;
		int64_t inner_out = same ? inner : inner - k[a] + 1;
		out[a] = b * inner_out - crops[2 * a] - crops[2 * a + 1];
		before[a] = pads[2 * a] + b * pt - crops[2 * a];
		after[a] = out[a] + b * (k[a] - 1) - in[a] - before[a];
		if (inner_out < 1 || out[a] < 1 || before[a] < 0 || after[a] < 0 || before[a] > max_param ||
		    after[a] > max_param) {
			snprintf(why, whylen,
				 "its SpaceToBatchND paddings and BatchToSpaceND crops do not make a dilated convolution along "
				 "the %s",
				 a ? "width" : "height");
			return NN_ERR_UNSUPPORTED;
		}
	}
	return 0;
}
