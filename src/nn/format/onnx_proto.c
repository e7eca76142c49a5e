/*
 * The ONNX loader's protobuf messages (field numbers from onnx.proto):
 * TensorProto (raw_data and every typed field, in each element type the
 * loader keeps), AttributeProto, NodeProto and ValueInfoProto, read with
 * pb.c into the load's arena. The model and graph walk is in onnx.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/format/onnx_internal.h"
#include "nn/format/pb.h"
#include "nn/ref/quant.h"

int ox_pb_error(ox *c, int rc, const char *what)
{
	return ox_fail(c, NN_ERR_FORMAT, "malformed %s: %s", what, nn_pb_strerror(rc));
}

static size_t dtype_bytes(int d)
{
	switch (d) {
	case OX_FLOAT: case OX_INT32: case OX_UINT32: return 4;
	case OX_UINT8: case OX_INT8: case OX_BOOL: return 1;
	case OX_UINT16: case OX_INT16: case OX_FLOAT16: case OX_BFLOAT16: return 2;
	case OX_INT64: case OX_DOUBLE: case OX_UINT64: return 8;
	default: return 0;
	}
}

/* One element of raw little-endian data as the value's storage. */
static void store_raw(ox_val *v, int64_t k, const uint8_t *p)
{
	uint64_t u = 0;
	size_t sz = dtype_bytes(v->dtype);
	for (size_t b = 0; b < sz; b++)
		u |= (uint64_t)p[b] << (8 * b);
	switch (v->dtype) {
	case OX_FLOAT: { float f; uint32_t w = (uint32_t)u; memcpy(&f, &w, 4); v->f[k] = f; break; }
	case OX_DOUBLE: { double d; memcpy(&d, &u, 8); v->f[k] = (float)d; break; }
	case OX_FLOAT16: v->f[k] = nn_ref_f16_to_f32((uint16_t)u); break;
	case OX_BFLOAT16: { float f; uint32_t w = (uint32_t)u << 16; memcpy(&f, &w, 4); v->f[k] = f; break; }
	case OX_INT8: v->i[k] = (int8_t)u; break;
	case OX_INT16: v->i[k] = (int16_t)u; break;
	case OX_INT32: v->i[k] = (int32_t)u; break;
	case OX_INT64: v->i[k] = (int64_t)u; break;
	case OX_UINT8: case OX_UINT16: case OX_UINT32: case OX_BOOL: v->i[k] = (int64_t)u; break;
	case OX_UINT64: v->i[k] = (int64_t)u; break;
	default: break;
	}
}

/*
 * uint16 and uint32 values fit the int64 storage (and the IR holds them as
 * int32 and int64, ox_dtype_to_nn); uint64 ones do up to 2^63 - 1, and a
 * larger one is refused rather than turned negative.
 */
static int check_uint64(ox *c, ox_val *v, const char *what, const char *name, ox_val **out)
{
	if (v->dtype == OX_UINT64)
		for (int64_t k = 0; k < v->n; k++)
			if (v->i[k] < 0)
				return ox_fail(c, NN_ERR_UNSUPPORTED, "%s '%s': uint64 value %llu is past 2^63 - 1", what,
					       name, (unsigned long long)v->i[k]);
	*out = v;
	return 0;
}

/* Reads a TensorProto into a load-time value. what names it in messages. */
int ox_read_tensor(ox *c, nn_pb m, const char *what, ox_val **out, const char **name_out)
{
	int64_t dims[NN_MAX_RANK];
	int rank = 0, dtype = 0, external = 0;
	const char *name = "";
	nn_pb_field f, raw = { 0 };
	int have_raw = 0, n_typed = 0, typed_num = 0;
	int64_t typed_count = 0;
	nn_pb it = m;
	int rc;
	while ((rc = nn_pb_next(&it, &f)) > 0) {
		switch (f.number) {
		case 1:
			if (f.wire == NN_PB_LEN) {
				int64_t k = nn_pb_packed_varints(&f, NULL, 0);
				if (k < 0)
					return ox_pb_error(c, (int)k, what);
				if (rank + k > NN_MAX_RANK)
					return ox_fail(c, NN_ERR_UNSUPPORTED, "%s: rank past %d", what, NN_MAX_RANK);
				nn_pb_packed_varints(&f, dims + rank, k);
				rank += (int)k;
			} else if (f.wire == NN_PB_VARINT) {
				if (rank >= NN_MAX_RANK)
					return ox_fail(c, NN_ERR_UNSUPPORTED, "%s: rank past %d", what, NN_MAX_RANK);
				dims[rank++] = nn_pb_int64(&f);
			}
			break;
		case 2: if (f.wire == NN_PB_VARINT) dtype = (int)nn_pb_int64(&f); break;
		case 3: return ox_fail(c, NN_ERR_UNSUPPORTED, "%s: segmented tensors are not supported", what);
		case 8: if (f.wire == NN_PB_LEN && !(name = ox_strndup(c, (const char *)f.data, f.len))) return NN_ERR_NOMEM; break;
		case 9: if (f.wire == NN_PB_LEN) { raw = f; have_raw = 1; } break;
		case 13: external = 1; break;
		case 14: if (f.wire == NN_PB_VARINT && f.u == 1) external = 1; break;
		case 4: case 5: case 7: case 10: case 11:
			if (typed_num && typed_num != (int)f.number)
				return ox_fail(c, NN_ERR_FORMAT, "%s: values in two typed fields", what);
			typed_num = (int)f.number;
			if (f.wire == NN_PB_LEN) {
				int64_t k = f.number == 4 ? nn_pb_packed_fixed32(&f, NULL, 0)
					    : f.number == 10 || f.number == 11 ? nn_pb_packed_fixed64(&f, NULL, 0)
										: nn_pb_packed_varints(&f, NULL, 0);
				if (k < 0)
					return ox_pb_error(c, (int)k, what);
				typed_count += k;
			} else {
				typed_count++;
			}
			n_typed++;
			break;
		case 6: return ox_fail(c, NN_ERR_UNSUPPORTED, "%s: string tensors are not supported", what);
		default: break;
		}
	}
	if (rc < 0)
		return ox_pb_error(c, rc, what);
	if (name_out)
		*name_out = name;
	if (external)
		return ox_fail(c, NN_ERR_UNSUPPORTED,
			       "%s%s%s: tensor data in an external file is not supported (save the model with its weights "
			       "inside, e.g. onnx.save(model, path, save_as_external_data=False))",
			       what, *name ? " " : "", name);
	size_t esz = dtype_bytes(dtype);
	if (!esz)
		return ox_fail(c, NN_ERR_UNSUPPORTED, "%s '%s': data type %s (%d) is not supported", what, name,
			       ox_dtype_name(dtype), dtype);
	int64_t n = 1;
	for (int d = 0; d < rank; d++) {
		if (dims[d] < 0 || dims[d] > OX_MAX_DIM)
			return ox_fail(c, NN_ERR_FORMAT, "%s '%s': dimension %d is %lld", what, name, d, (long long)dims[d]);
		n *= dims[d];
		if (n > OX_MAX_TENSOR_ELEMENTS)
			return ox_fail(c, NN_ERR_UNSUPPORTED, "%s '%s': more than %lld elements", what, name,
				       (long long)OX_MAX_TENSOR_ELEMENTS);
	}
	/* The data must be there before anything the size of the shape is allocated. */
	if (have_raw && raw.len != (size_t)n * esz)
		return ox_fail(c, NN_ERR_FORMAT, "%s '%s': raw_data holds %zu bytes, its shape needs %lld", what, name,
			       raw.len, (long long)n * (long long)esz);
	if (!have_raw && typed_count != n)
		return ox_fail(c, NN_ERR_FORMAT, "%s '%s': holds %lld values, its shape needs %lld", what, name,
			       (long long)typed_count, (long long)n);
	ox_val *v = ox_val_new(c, dtype, rank, dims);
	if (!v)
		return NN_ERR_NOMEM;
	if (have_raw) {
		for (int64_t k = 0; k < n; k++)
			store_raw(v, k, raw.data + (size_t)k * esz);
		return check_uint64(c, v, what, name, out);
	}
	if (typed_count != n)
		return ox_fail(c, NN_ERR_FORMAT, "%s '%s': holds %lld values, its shape needs %lld", what, name,
			       (long long)typed_count, (long long)n);
	int want = ox_is_float(dtype) && dtype != OX_FLOAT16 && dtype != OX_BFLOAT16
			   ? (dtype == OX_DOUBLE ? 10 : 4)
		   : dtype == OX_INT64 ? 7
		   : dtype == OX_UINT32 || dtype == OX_UINT64 ? 11
				       : 5;
	if (n && typed_num != want)
		return ox_fail(c, NN_ERR_FORMAT, "%s '%s': %s values in the wrong field (%d)", what, name,
			       ox_dtype_name(dtype), typed_num);
	int64_t k = 0;
	it = m;
	while (k < n && nn_pb_next(&it, &f) > 0) {
		if ((int)f.number != typed_num)
			continue;
		uint64_t vals[256];
		if (f.wire == NN_PB_LEN) {
			/* Packed: decode by walking the bytes. */
			const uint8_t *p = f.data, *end = f.data + f.len;
			while (p < end && k < n) {
				uint64_t u;
				if (typed_num == 4) {
					u = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24;
					p += 4;
				} else if (typed_num == 10) {
					u = 0;
					for (int b = 0; b < 8; b++)
						u |= (uint64_t)p[b] << (8 * b);
					p += 8;
				} else if (nn_pb_read_varint(&p, end, &u) < 0) {
					return ox_fail(c, NN_ERR_FORMAT, "%s '%s': bad varint", what, name);
				}
				vals[0] = u;
				goto store;
			store:
				if (typed_num == 4) {
					float fl; uint32_t w = (uint32_t)vals[0]; memcpy(&fl, &w, 4); v->f[k] = fl;
				} else if (typed_num == 10) {
					double d; memcpy(&d, &vals[0], 8); v->f[k] = (float)d;
				} else if (dtype == OX_FLOAT16) {
					v->f[k] = nn_ref_f16_to_f32((uint16_t)vals[0]);
				} else if (dtype == OX_BFLOAT16) {
					float fl; uint32_t w = (uint32_t)vals[0] << 16; memcpy(&fl, &w, 4); v->f[k] = fl;
				} else if (typed_num == 5) {
					v->i[k] = dtype == OX_UINT8 ? (int64_t)(uint8_t)vals[0]
						  : dtype == OX_BOOL ? (int64_t)(vals[0] != 0)
						  : dtype == OX_INT8  ? (int64_t)(int8_t)vals[0]
						  : dtype == OX_INT16 ? (int64_t)(int16_t)vals[0]
								      : (int64_t)(int32_t)vals[0];
				} else {
					v->i[k] = (int64_t)vals[0];
				}
				k++;
			}
		} else {
			vals[0] = f.u;
			if (typed_num == 4) {
				float fl; uint32_t w = (uint32_t)f.u; memcpy(&fl, &w, 4); v->f[k] = fl;
			} else if (typed_num == 10) {
				double d; memcpy(&d, &vals[0], 8); v->f[k] = (float)d;
			} else if (dtype == OX_FLOAT16) {
				v->f[k] = nn_ref_f16_to_f32((uint16_t)f.u);
			} else if (dtype == OX_BFLOAT16) {
				float fl; uint32_t w = (uint32_t)f.u << 16; memcpy(&fl, &w, 4); v->f[k] = fl;
			} else if (typed_num == 5) {
				v->i[k] = dtype == OX_UINT8 ? (int64_t)(uint8_t)f.u
					  : dtype == OX_BOOL ? (int64_t)(f.u != 0)
					  : dtype == OX_INT8  ? (int64_t)(int8_t)f.u
					  : dtype == OX_INT16 ? (int64_t)(int16_t)f.u
							      : (int64_t)(int32_t)f.u;
			} else {
				v->i[k] = (int64_t)f.u;
			}
			k++;
		}
	}
	return check_uint64(c, v, what, name, out);
}

static int read_attr(ox *c, nn_pb m, const char *node, ox_attr *a)
{
	nn_pb_field f;
	int rc, n_floats = 0, n_ints = 0;
	char what[256];
	snprintf(what, sizeof what, "attribute of node '%s'", node);
	a->name = "";
	nn_pb it = m;
	/* First pass: scalars and counts. */
	while ((rc = nn_pb_next(&it, &f)) > 0) {
		switch (f.number) {
		case 1: if (f.wire == NN_PB_LEN && !(a->name = ox_strndup(c, (const char *)f.data, f.len))) return NN_ERR_NOMEM; break;
		case 20: if (f.wire == NN_PB_VARINT) a->type = (int)f.u; break;
		case 2: if (f.wire == NN_PB_I32) a->f = nn_pb_float(&f); break;
		case 3: if (f.wire == NN_PB_VARINT) a->i = nn_pb_int64(&f); break;
		case 4: if (f.wire == NN_PB_LEN && !(a->s = ox_strndup(c, (const char *)f.data, f.len))) return NN_ERR_NOMEM; break;
		case 5:
			if (f.wire == NN_PB_LEN) {
				snprintf(what, sizeof what, "tensor attribute of node '%s'", node);
				if ((rc = ox_read_tensor(c, nn_pb_sub(&f), what, &a->t, NULL)) < 0)
					return rc;
			}
			break;
		case 7:
			if (f.wire == NN_PB_LEN) {
				int64_t k = nn_pb_packed_fixed32(&f, NULL, 0);
				if (k < 0)
					return ox_pb_error(c, (int)k, what);
				n_floats += (int)(k > OX_MAX_ITEMS ? OX_MAX_ITEMS : k);
			} else
				n_floats++;
			break;
		case 8:
			if (f.wire == NN_PB_LEN) {
				int64_t k = nn_pb_packed_varints(&f, NULL, 0);
				if (k < 0)
					return ox_pb_error(c, (int)k, what);
				n_ints += (int)(k > OX_MAX_ITEMS ? OX_MAX_ITEMS : k);
			} else
				n_ints++;
			break;
		case 21: return ox_fail(c, NN_ERR_UNSUPPORTED, "node '%s': attribute references (functions) are not supported", node);
		default: break;
		}
		if (n_floats > OX_MAX_ITEMS || n_ints > OX_MAX_ITEMS)
			return ox_fail(c, NN_ERR_UNSUPPORTED, "%s: too many values", what);
	}
	if (rc < 0)
		return ox_pb_error(c, rc, what);
	if (!a->type) {
		/* IR version 1 files leave the type out: infer it from what is set. */
		a->type = a->s ? OX_A_STRING : a->t ? OX_A_TENSOR : n_ints ? OX_A_INTS : n_floats ? OX_A_FLOATS : OX_A_INT;
	}
	if (a->type == OX_A_STRING && !a->s)
		a->s = "";
	if (n_floats && !(a->floats = ox_alloc(c, (size_t)n_floats * sizeof(float))))
		return NN_ERR_NOMEM;
	if (n_ints && !(a->ints = ox_alloc(c, (size_t)n_ints * sizeof(int64_t))))
		return NN_ERR_NOMEM;
	int kf = 0, ki = 0;
	it = m;
	while (nn_pb_next(&it, &f) > 0) {
		if (f.number == 7) {
			if (f.wire == NN_PB_LEN) {
				int64_t k = f.len / 4;
				for (int64_t j = 0; j < k && kf < n_floats; j++) {
					uint32_t w;
					memcpy(&w, f.data + 4 * j, 4);
					float fl;
					memcpy(&fl, &w, 4);
					a->floats[kf++] = fl;
				}
			} else if (f.wire == NN_PB_I32 && kf < n_floats)
				a->floats[kf++] = nn_pb_float(&f);
		} else if (f.number == 8) {
			if (f.wire == NN_PB_LEN && ki < n_ints) {
				int64_t got = nn_pb_packed_varints(&f, a->ints + ki, n_ints - ki);
				ki += (int)(got > 0 ? got : 0);
			} else if (f.wire == NN_PB_VARINT && ki < n_ints)
				a->ints[ki++] = nn_pb_int64(&f);
		}
	}
	a->n = a->type == OX_A_FLOATS ? kf : ki;
	return 0;
}

static int read_strings(ox *c, nn_pb m, uint32_t number, const char ***out, int *count)
{
	nn_pb it = m;
	nn_pb_field f;
	int n = 0;
	while (nn_pb_next(&it, &f) > 0)
		if (f.number == number && f.wire == NN_PB_LEN)
			n++;
	if (n > OX_MAX_ITEMS)
		return ox_fail(c, NN_ERR_UNSUPPORTED, "a node with %d inputs or outputs", n);
	const char **s = ox_alloc(c, ((size_t)n + 1) * sizeof *s);
	if (!s)
		return NN_ERR_NOMEM;
	int k = 0;
	it = m;
	while (nn_pb_next(&it, &f) > 0)
		if (f.number == number && f.wire == NN_PB_LEN && !(s[k++] = ox_strndup(c, (const char *)f.data, f.len)))
			return NN_ERR_NOMEM;
	*out = s;
	*count = n;
	return 0;
}

int ox_read_node(ox *c, nn_pb m, int index, ox_node *n)
{
	nn_pb_field f;
	int rc, n_attr = 0;
	n->name = n->op = n->domain = "";
	nn_pb it = m;
	while ((rc = nn_pb_next(&it, &f)) > 0) {
		if (f.wire != NN_PB_LEN)
			continue;
		if (f.number == 3 && !(n->name = ox_strndup(c, (const char *)f.data, f.len)))
			return NN_ERR_NOMEM;
		if (f.number == 4 && !(n->op = ox_strndup(c, (const char *)f.data, f.len)))
			return NN_ERR_NOMEM;
		if (f.number == 7 && !(n->domain = ox_strndup(c, (const char *)f.data, f.len)))
			return NN_ERR_NOMEM;
		if (f.number == 5)
			n_attr++;
	}
	if (rc < 0) {
		char what[64];
		snprintf(what, sizeof what, "node %d", index);
		return ox_pb_error(c, rc, what);
	}
	if (!n->op[0])
		return ox_fail(c, NN_ERR_FORMAT, "node %d ('%s') has no op_type", index, n->name);
	if ((rc = read_strings(c, m, 1, &n->in, &n->n_in)) < 0 || (rc = read_strings(c, m, 2, &n->out, &n->n_out)) < 0)
		return rc;
	if (n_attr > OX_MAX_ITEMS || !(n->attr = ox_alloc(c, ((size_t)n_attr + 1) * sizeof *n->attr)))
		return NN_ERR_NOMEM;
	it = m;
	while (nn_pb_next(&it, &f) > 0)
		if (f.number == 5 && f.wire == NN_PB_LEN &&
		    (rc = read_attr(c, nn_pb_sub(&f), n->name[0] ? n->name : n->op, &n->attr[n->n_attr++])) < 0)
			return rc;
	return 0;
}


int ox_read_value_info(ox *c, nn_pb m, ox_vinfo *vi)
{
	nn_pb_field f, g, h, d, e;
	vi->name = "";
	vi->rank = -1;
	nn_pb it = m;
	while (nn_pb_next(&it, &f) > 0) {
		if (f.number == 1 && f.wire == NN_PB_LEN && !(vi->name = ox_strndup(c, (const char *)f.data, f.len)))
			return NN_ERR_NOMEM;
		if (f.number != 2 || f.wire != NN_PB_LEN)
			continue;
		nn_pb tp = nn_pb_sub(&f);
		while (nn_pb_next(&tp, &g) > 0) {
			if (g.number != 1 || g.wire != NN_PB_LEN)
				continue;
			nn_pb tt = nn_pb_sub(&g);
			while (nn_pb_next(&tt, &h) > 0) {
				if (h.number == 1 && h.wire == NN_PB_VARINT)
					vi->elem = (int)h.u;
				if (h.number != 2 || h.wire != NN_PB_LEN)
					continue;
				vi->rank = 0;
				nn_pb sh = nn_pb_sub(&h);
				while (nn_pb_next(&sh, &d) > 0) {
					if (d.number != 1 || d.wire != NN_PB_LEN)
						continue;
					if (vi->rank >= NN_MAX_RANK)
						return ox_fail(c, NN_ERR_UNSUPPORTED, "input '%s': rank past %d", vi->name,
							       NN_MAX_RANK);
					int k = vi->rank++;
					vi->dims[k] = -1;
					vi->params[k] = NULL;
					nn_pb dm = nn_pb_sub(&d);
					while (nn_pb_next(&dm, &e) > 0) {
						if (e.number == 1 && e.wire == NN_PB_VARINT)
							vi->dims[k] = nn_pb_int64(&e);
						if (e.number == 2 && e.wire == NN_PB_LEN &&
						    !(vi->params[k] = ox_strndup(c, (const char *)e.data, e.len)))
							return NN_ERR_NOMEM;
					}
				}
			}
		}
	}
	return 0;
}

