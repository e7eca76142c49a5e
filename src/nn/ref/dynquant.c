/*
 * DYNAMIC_QUANTIZE (ONNX DynamicQuantizeLinear): a float32 input quantized
 * to uint8 with parameters taken from its own range at run time:
 *   lo = min(0, min(x)), hi = max(0, max(x)),
 *   scale = (hi - lo) / 255 (1 when hi == lo, that is an all-zero input, as
 *           ONNX Runtime does, where the specification would divide by 0),
 *   zero_point = saturate(round(0 - lo / scale)),
 *   y = saturate(round(x / scale) + zero_point),
 * every rounding half to even and saturation to [0, 255]. Outputs: y,
 * scale (float32, one element) and zero point (uint8, one element). y is raw
 * uint8: its quantization is in the other two outputs, not in the tensor.
 */
#include <math.h>
#include <stdint.h>

#include "nn/ref/qops.h"
#include "nn/ref/quant.h"

int nn_ref_dynquant_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen)
{
	const nn_tensor *x = nn_ref_input(g, n, 0);
	if (!x || n->n_outputs < 1 || n->n_outputs > 3)
		return nn_ref_fail(why, whylen, n, 0, "expects one input and up to three outputs");
	if (x->dtype != NN_F32)
		return nn_ref_fail(why, whylen, n, 0, "%s input (float32 only)", nn_dtype_name(x->dtype));
	static const nn_dtype want[3] = { NN_U8, NN_F32, NN_U8 };
	for (int k = 0; k < n->n_outputs; k++) {
		const nn_tensor *t = n->outputs[k] >= 0 ? nn_ref_output(g, n, k) : NULL;
		if (t && t->dtype != want[k])
			return nn_ref_fail(why, whylen, n, 0, "output %d of type %s, expected %s", k,
					   nn_dtype_name(t->dtype), nn_dtype_name(want[k]));
		if (t && k > 0 && nn_ref_elements(t) != 1)
			return nn_ref_fail(why, whylen, n, 0, "output %d must hold one element", k);
	}
	return 1;
}

/* round half to even, then saturate to [0, 255]. */
static uint8_t sat_u8(float v)
{
	float r = nearbyintf(v);
	if (!(r >= 0.0f))
		return 0; /* also NaN */
	return r >= 255.0f ? 255 : (uint8_t)r;
}

int nn_ref_dynquant_run(nn_graph *g, const nn_node *n, char *err, size_t errlen)
{
	const nn_tensor *x = nn_ref_input(g, n, 0);
	nn_tensor *y = nn_ref_output(g, n, 0);
	nn_tensor *ts = n->n_outputs > 1 ? nn_ref_output(g, n, 1) : NULL;
	nn_tensor *tz = n->n_outputs > 2 ? nn_ref_output(g, n, 2) : NULL;
	size_t count = (size_t)nn_ref_elements(x);
	if (y && (size_t)nn_ref_elements(y) != count) {
		char a[NN_REF_SHAPE_BUF], b[NN_REF_SHAPE_BUF];
		return nn_ref_fail(err, errlen, n, NN_ERR_SHAPE, "input %s and output %s differ in size",
				   nn_ref_shape_str(x, a), nn_ref_shape_str(y, b));
	}
	const float *in = x->data;
	float lo = 0.0f, hi = 0.0f;
	for (size_t i = 0; i < count; i++) {
		lo = in[i] < lo ? in[i] : lo;
		hi = in[i] > hi ? in[i] : hi;
	}
	float scale = hi == lo ? 1.0f : (hi - lo) / 255.0f;
	uint8_t zp = sat_u8(0.0f - lo / scale);
	if (y) {
		uint8_t *out = y->data;
		for (size_t i = 0; i < count; i++) {
			float r = nearbyintf(in[i] / scale) + (float)zp;
			out[i] = sat_u8(r);
		}
	}
	if (ts)
		*(float *)ts->data = scale;
	if (tz)
		*(uint8_t *)tz->data = zp;
	return NN_OK;
}
