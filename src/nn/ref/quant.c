/*
 * Quantization arithmetic shared by the reference kernels, and the QUANTIZE
 * and DEQUANTIZE kernels.
 */
#include "nn/ref/quant.h"

#include <math.h>
#include <string.h>

float nn_ref_f16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
	uint32_t exponent = (h >> 10) & 0x1fu;
	uint32_t mantissa = h & 0x3ffu;
	uint32_t bits;
	if (exponent == 0) {
		/* Zero or subnormal: mantissa * 2^-24, exact in float32. */
		float magnitude = (float)mantissa * 0x1p-24f;
		return sign ? -magnitude : magnitude;
	} else if (exponent == 31) {
		bits = sign | 0x7f800000u | (mantissa << 13);
	} else {
		bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
	}
	float f;
	memcpy(&f, &bits, sizeof f);
	return f;
}

uint16_t nn_ref_f32_to_f16(float f)
{
	uint32_t x;
	memcpy(&x, &f, sizeof x);
	uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
	uint32_t exponent = (x >> 23) & 0xffu;
	uint32_t mantissa = x & 0x7fffffu;
	if (exponent == 0xff) /* Infinity stays infinity; NaN stays a (quiet) NaN. */
		return (uint16_t)(sign | 0x7c00u | (mantissa ? 0x200u | (mantissa >> 13) : 0));
	int e = (int)exponent - 127 + 15;
	if (e >= 31)
		return (uint16_t)(sign | 0x7c00u);
	if (e <= 0) {
		/* Below float16's normal range: a subnormal, or zero when under half the smallest one. */
		if (e < -10)
			return sign;
		uint32_t full = mantissa | 0x800000u;
		int shift = 14 - e;
		uint32_t q = full >> shift;
		uint32_t rem = full & ((1u << shift) - 1);
		uint32_t half = 1u << (shift - 1);
		if (rem > half || (rem == half && (q & 1)))
			q++;
		return (uint16_t)(sign | q);
	}
	uint32_t q = ((uint32_t)e << 10) | (mantissa >> 13);
	uint32_t rem = mantissa & 0x1fffu;
	/* A carry out of the mantissa correctly bumps the exponent, up to infinity. */
	if (rem > 0x1000u || (rem == 0x1000u && (q & 1)))
		q++;
	return (uint16_t)(sign | q);
}

int nn_ref_dtype_range(nn_dtype t, int32_t *qmin, int32_t *qmax)
{
	switch (t) {
	case NN_U8:
		*qmin = 0, *qmax = 255;
		return 1;
	case NN_I8:
		*qmin = -128, *qmax = 127;
		return 1;
	case NN_I16:
		*qmin = -32768, *qmax = 32767;
		return 1;
	case NN_I32:
		*qmin = INT32_MIN, *qmax = INT32_MAX;
		return 1;
	default:
		*qmin = 0, *qmax = 0;
		return 0;
	}
}

static int32_t clamp_to_int32(double q, int32_t zero_point, int32_t qmin, int32_t qmax)
{
	if (isnan(q))
		return zero_point < qmin ? qmin : zero_point > qmax ? qmax : zero_point;
	if (q <= (double)qmin)
		return qmin;
	if (q >= (double)qmax)
		return qmax;
	return (int32_t)q;
}

int32_t nn_ref_quantize_value(double real, float scale, int32_t zero_point, int32_t qmin, int32_t qmax)
{
	/* Single precision, as TensorFlow Lite's QUANTIZE divides: exact matches on float inputs. */
	float q = roundf((float)real / scale);
	return clamp_to_int32((double)q + zero_point, zero_point, qmin, qmax);
}

int32_t nn_ref_requantize(int64_t acc, double multiplier, int32_t zero_point, int32_t qmin, int32_t qmax)
{
	return clamp_to_int32(round((double)acc * multiplier) + zero_point, zero_point, qmin, qmax);
}

void nn_ref_act_range(nn_activation act, float *lo, float *hi)
{
	switch (act) {
	case NN_ACT_RELU:
		*lo = 0.0f, *hi = INFINITY;
		break;
	case NN_ACT_RELU6:
		*lo = 0.0f, *hi = 6.0f;
		break;
	case NN_ACT_RELU_N1_TO_1:
		*lo = -1.0f, *hi = 1.0f;
		break;
	default:
		*lo = -INFINITY, *hi = INFINITY;
		break;
	}
}

void nn_ref_act_range_q(nn_activation act, nn_dtype t, float scale, int32_t zero_point, int32_t *qmin,
			int32_t *qmax)
{
	nn_ref_dtype_range(t, qmin, qmax);
	float lo, hi;
	nn_ref_act_range(act, &lo, &hi);
	if (lo > -INFINITY) {
		int32_t q = nn_ref_quantize_value(lo, scale, zero_point, *qmin, *qmax);
		*qmin = q > *qmin ? q : *qmin;
	}
	if (hi < INFINITY) {
		int32_t q = nn_ref_quantize_value(hi, scale, zero_point, *qmin, *qmax);
		*qmax = q < *qmax ? q : *qmax;
	}
}

float nn_ref_scale(const nn_tensor *t, int c)
{
	if (t->quant.count <= 0 || !t->quant.scale)
		return 1.0f;
	return t->quant.scale[t->quant.count > 1 && c >= 0 && c < t->quant.count ? c : 0];
}

int32_t nn_ref_zero_point(const nn_tensor *t, int c)
{
	if (t->quant.count <= 0 || !t->quant.zero_point)
		return 0;
	return t->quant.zero_point[t->quant.count > 1 && c >= 0 && c < t->quant.count ? c : 0];
}

float nn_ref_read(const nn_tensor *t, size_t i)
{
	float scale = nn_ref_scale(t, 0);
	int32_t zp = nn_ref_zero_point(t, 0);
	switch (t->dtype) {
	case NN_F32:
		return ((const float *)t->data)[i];
	case NN_F16:
		return nn_ref_f16_to_f32(((const uint16_t *)t->data)[i]);
	case NN_U8:
		return nn_ref_dequantize_value(((const uint8_t *)t->data)[i], scale, zp);
	case NN_I8:
		return nn_ref_dequantize_value(((const int8_t *)t->data)[i], scale, zp);
	case NN_I16:
		return nn_ref_dequantize_value(((const int16_t *)t->data)[i], scale, zp);
	case NN_I32:
		/* In double: an int32 minus its zero point need not fit in a float's mantissa. */
		return (float)((double)scale * ((double)((const int32_t *)t->data)[i] - zp));
	case NN_I64:
		return (float)((const int64_t *)t->data)[i];
	case NN_BOOL:
		return ((const uint8_t *)t->data)[i] ? 1.0f : 0.0f;
	case NN_DTYPE_COUNT:
		break;
	}
	return 0.0f;
}

void nn_ref_write(nn_tensor *t, size_t i, float v)
{
	float scale = nn_ref_scale(t, 0);
	int32_t zp = nn_ref_zero_point(t, 0);
	int32_t qmin, qmax;
	nn_ref_dtype_range(t->dtype, &qmin, &qmax);
	switch (t->dtype) {
	case NN_F32:
		((float *)t->data)[i] = v;
		break;
	case NN_F16:
		((uint16_t *)t->data)[i] = nn_ref_f32_to_f16(v);
		break;
	case NN_U8:
		((uint8_t *)t->data)[i] = (uint8_t)nn_ref_quantize_value(v, scale, zp, qmin, qmax);
		break;
	case NN_I8:
		((int8_t *)t->data)[i] = (int8_t)nn_ref_quantize_value(v, scale, zp, qmin, qmax);
		break;
	case NN_I16:
		((int16_t *)t->data)[i] = (int16_t)nn_ref_quantize_value(v, scale, zp, qmin, qmax);
		break;
	case NN_I32:
		((int32_t *)t->data)[i] = nn_ref_quantize_value(v, scale, zp, qmin, qmax);
		break;
	case NN_I64: {
		double r = round((double)v);
		int64_t q = isnan(r) ? 0 : r >= 0x1p63 ? INT64_MAX : r <= -0x1p63 ? INT64_MIN : (int64_t)r;
		((int64_t *)t->data)[i] = q;
		break;
	}
	case NN_BOOL:
		((uint8_t *)t->data)[i] = v != 0.0f;
		break;
	case NN_DTYPE_COUNT:
		break;
	}
}

int nn_ref_same_encoding(const nn_tensor *a, const nn_tensor *b)
{
	if (a->dtype != b->dtype)
		return 0;
	int qa = a->quant.count > 0, qb = b->quant.count > 0;
	if (!qa && !qb)
		return 1;
	if (a->quant.count != b->quant.count)
		return 0;
	for (int c = 0; c < a->quant.count; c++)
		if (nn_ref_scale(a, c) != nn_ref_scale(b, c) || nn_ref_zero_point(a, c) != nn_ref_zero_point(b, c))
			return 0;
	return a->quant.count == 1 || a->quant.axis == b->quant.axis;
}

int nn_ref_check_quant(const nn_node *n, const nn_tensor *t, const char *role, int per_channel, char *why,
		       size_t whylen)
{
	int32_t qmin, qmax;
	if (t->dtype == NN_F32 || t->dtype == NN_F16 || !nn_ref_dtype_range(t->dtype, &qmin, &qmax))
		return 1;
	if (t->quant.count <= 0 || !t->quant.scale)
		return nn_ref_fail(why, whylen, n, 0, "%s %s has no quantization parameters", nn_dtype_name(t->dtype),
				   role);
	if (t->quant.count > 1) {
		if (!per_channel)
			return nn_ref_fail(why, whylen, n, 0, "per-channel quantization of the %s is not supported",
					   role);
		if (t->quant.axis < 0 || t->quant.axis >= t->rank || t->quant.count != t->shape[t->quant.axis])
			return nn_ref_fail(why, whylen, n, 0,
					   "the %s has %d per-channel scales along axis %d, not matching its shape",
					   role, t->quant.count, t->quant.axis);
	}
	for (int c = 0; c < t->quant.count; c++) {
		float s = t->quant.scale[c];
		int32_t zp = t->quant.zero_point ? t->quant.zero_point[c] : 0;
		if (!(s > 0.0f) || isinf(s))
			return nn_ref_fail(why, whylen, n, 0, "the %s has an invalid scale %g", role, (double)s);
		if (zp < qmin || zp > qmax)
			return nn_ref_fail(why, whylen, n, 0, "the %s has zero point %d outside the %s range", role,
					   (int)zp, nn_dtype_name(t->dtype));
	}
	return 1;
}

int nn_ref_quant_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen)
{
	const nn_tensor *in = nn_ref_input(g, n, 0);
	const nn_tensor *out = n->n_outputs == 1 ? nn_ref_output(g, n, 0) : NULL;
	if (!in || !out)
		return nn_ref_fail(why, whylen, n, 0, "expects one input and one output");
	if (n->op == NN_OP_QUANTIZE) {
		if (in->dtype != NN_F32 && in->dtype != NN_F16 && in->dtype != NN_U8 && in->dtype != NN_I8 &&
		    in->dtype != NN_I16)
			return nn_ref_fail(why, whylen, n, 0, "%s input is not supported", nn_dtype_name(in->dtype));
		if (out->dtype != NN_U8 && out->dtype != NN_I8 && out->dtype != NN_I16)
			return nn_ref_fail(why, whylen, n, 0, "%s output is not supported", nn_dtype_name(out->dtype));
		/* Per-channel output scales (ONNX QuantizeLinear with an axis) from float input only. */
		int float_in = in->dtype == NN_F32 || in->dtype == NN_F16;
		return nn_ref_check_quant(n, in, "input", 0, why, whylen) &&
		       nn_ref_check_quant(n, out, "output", float_in, why, whylen);
	}
	if (in->dtype != NN_F16 && in->dtype != NN_U8 && in->dtype != NN_I8 && in->dtype != NN_I16 &&
	    in->dtype != NN_I32)
		return nn_ref_fail(why, whylen, n, 0, "%s input is not supported", nn_dtype_name(in->dtype));
	if (out->dtype != NN_F32)
		return nn_ref_fail(why, whylen, n, 0, "%s output is not supported", nn_dtype_name(out->dtype));
	/* Constant weights are often quantized per channel, so DEQUANTIZE accepts that. */
	return nn_ref_check_quant(n, in, "input", 1, why, whylen);
}

int nn_ref_quant_run(nn_graph *g, const nn_node *n, char *err, size_t errlen)
{
	const nn_tensor *in = nn_ref_input(g, n, 0);
	nn_tensor *out = nn_ref_output(g, n, 0);
	if (!nn_ref_same_shape(in, out)) {
		char a[NN_REF_SHAPE_BUF], b[NN_REF_SHAPE_BUF];
		return nn_ref_fail(err, errlen, n, NN_ERR_SHAPE, "input %s and output %s differ in shape",
				   nn_ref_shape_str(in, a), nn_ref_shape_str(out, b));
	}
	size_t count = (size_t)nn_ref_elements(in);

	int in8 = in->dtype == NN_U8 || in->dtype == NN_I8, out8 = out->dtype == NN_U8 || out->dtype == NN_I8;
	if (in8 && in->quant.count <= 1 && (out8 || out->dtype == NN_F32)) {
		/*
		 * An 8-bit input has 256 possible values: convert those once through
		 * the exact per-element path and look the rest up. Int8 models fed
		 * uint8 images requantize the whole input this way on every run.
		 */
		uint8_t code[256];
		float real[256];
		nn_tensor one_in = *in, one_out = *out;
		for (int v = 0; v < 256; v++) {
			uint8_t b = (uint8_t)v;
			one_in.data = &b;
			float f = nn_ref_read(&one_in, 0);
			real[v] = f;
			if (out8) {
				one_out.data = &code[v];
				nn_ref_write(&one_out, 0, f);
			}
		}
		const uint8_t *src = in->data;
		if (out8) {
			uint8_t *dst = out->data;
			for (size_t i = 0; i < count; i++)
				dst[i] = code[src[i]];
		} else {
			float *dst = out->data;
			for (size_t i = 0; i < count; i++)
				dst[i] = real[src[i]];
		}
		return NN_OK;
	}

	if (n->op == NN_OP_QUANTIZE && out->quant.count > 1) {
		/* Per-channel QUANTIZE: channel c of flat index i is (i / inner) % channels, as below. */
		size_t channels = (size_t)out->shape[out->quant.axis], inner = 1;
		for (int d = out->quant.axis + 1; d < out->rank; d++)
			inner *= (size_t)out->shape[d];
		int32_t qmin, qmax;
		nn_ref_dtype_range(out->dtype, &qmin, &qmax);
		for (size_t i = 0; i < count; i++) {
			int c = (int)((i / inner) % channels);
			nn_ref_store_q(out, i,
				       nn_ref_quantize_value(nn_ref_read(in, i), nn_ref_scale(out, c),
							     nn_ref_zero_point(out, c), qmin, qmax));
		}
		return NN_OK;
	}

	if (n->op == NN_OP_QUANTIZE || in->quant.count <= 1) {
		for (size_t i = 0; i < count; i++)
			nn_ref_write(out, i, nn_ref_read(in, i));
		return NN_OK;
	}

	/* Per-channel DEQUANTIZE: the channel of flat index i is (i / inner) % channels. */
	size_t channels = (size_t)in->shape[in->quant.axis], inner = 1;
	for (int d = in->quant.axis + 1; d < in->rank; d++)
		inner *= (size_t)in->shape[d];
	float *dst = out->data;
	for (size_t i = 0; i < count; i++) {
		int c = (int)((i / inner) % channels);
		int32_t q;
		switch (in->dtype) {
		case NN_U8:
			q = ((const uint8_t *)in->data)[i];
			break;
		case NN_I8:
			q = ((const int8_t *)in->data)[i];
			break;
		case NN_I16:
			q = ((const int16_t *)in->data)[i];
			break;
		default:
			q = ((const int32_t *)in->data)[i];
			break;
		}
		dst[i] = (float)((double)nn_ref_scale(in, c) * ((double)q - nn_ref_zero_point(in, c)));
	}
	return NN_OK;
}
