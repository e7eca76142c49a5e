/*
 * FULLY_CONNECTED: output[b, o] = bias[o] + sum_i input[b, i] * weights[o, i],
 * where the input is flattened to [batch, in] with in = weights' second
 * dimension, as TensorFlow Lite does. Float32, and uint8/int8 with per-tensor
 * or per-output-channel weight scales.
 */
#include "nn/ref/quant.h"

int nn_ref_fc_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen)
{
	const nn_tensor *in = nn_ref_input(g, n, 0), *w = nn_ref_input(g, n, 1), *bias = nn_ref_input(g, n, 2);
	const nn_tensor *out = n->n_outputs == 1 ? nn_ref_output(g, n, 0) : NULL;
	if (!in || !w || !out)
		return nn_ref_fail(why, whylen, n, 0, "expects an input, weights, an optional bias and one output");
	if ((unsigned)n->p.fc.act > NN_ACT_RELU_N1_TO_1)
		return nn_ref_fail(why, whylen, n, 0, "unknown fused activation %d", (int)n->p.fc.act);
	nn_dtype dt = in->dtype;
	if (dt != NN_F32 && dt != NN_U8 && dt != NN_I8)
		return nn_ref_fail(why, whylen, n, 0, "%s input is not supported", nn_dtype_name(dt));
	if (w->dtype != dt)
		return nn_ref_fail(why, whylen, n, 0, "%s weights with %s input are not supported",
				   nn_dtype_name(w->dtype), nn_dtype_name(dt));
	if (out->dtype != dt)
		return nn_ref_fail(why, whylen, n, 0, "%s output with %s input is not supported",
				   nn_dtype_name(out->dtype), nn_dtype_name(dt));
	nn_dtype bias_dt = dt == NN_F32 ? NN_F32 : NN_I32;
	if (bias && bias->dtype != bias_dt)
		return nn_ref_fail(why, whylen, n, 0, "%s bias with %s input is not supported (expected %s)",
				   nn_dtype_name(bias->dtype), nn_dtype_name(dt), nn_dtype_name(bias_dt));
	if (dt == NN_F32)
		return 1;
	if (!nn_ref_check_quant(n, in, "input", 0, why, whylen) ||
	    !nn_ref_check_quant(n, out, "output", 0, why, whylen) ||
	    !nn_ref_check_quant(n, w, "weights", 1, why, whylen))
		return 0;
	if (w->quant.count > 1 && w->quant.axis != 0)
		return nn_ref_fail(why, whylen, n, 0, "per-channel weight scales along axis %d are not supported",
				   w->quant.axis);
	return 1;
}

int nn_ref_fc_run(nn_graph *g, const nn_node *n, char *err, size_t errlen)
{
	const nn_tensor *input = nn_ref_input(g, n, 0), *weights = nn_ref_input(g, n, 1), *bias = nn_ref_input(g, n, 2);
	nn_tensor *output = nn_ref_output(g, n, 0);
	char a[NN_REF_SHAPE_BUF], b[NN_REF_SHAPE_BUF];
	if (weights->rank != 2 || weights->shape[1] < 1)
		return nn_ref_fail(err, errlen, n, NN_ERR_SHAPE, "weights have shape %s, expected [out, in]",
				   nn_ref_shape_str(weights, a));
	int units = weights->shape[0], depth = weights->shape[1];
	int64_t in_count = nn_ref_elements(input);
	if (in_count % depth != 0)
		return nn_ref_fail(err, errlen, n, NN_ERR_SHAPE, "input %s does not split into rows of %d",
				   nn_ref_shape_str(input, a), depth);
	int64_t batch = in_count / depth;
	if (nn_ref_elements(output) != batch * units || output->rank < 1 || output->shape[output->rank - 1] != units)
		return nn_ref_fail(err, errlen, n, NN_ERR_SHAPE,
				   "output has shape %s, expected %lld rows of %d from input %s",
				   nn_ref_shape_str(output, a), (long long)batch, units, nn_ref_shape_str(input, b));
	if (bias && nn_ref_elements(bias) != units)
		return nn_ref_fail(err, errlen, n, NN_ERR_SHAPE, "bias has %lld values for %d units",
				   (long long)nn_ref_elements(bias), units);

	if (input->dtype == NN_F32) {
		const float *in = input->data, *w = weights->data, *bs = bias ? bias->data : NULL;
		float *out = output->data;
		float lo, hi;
		nn_ref_act_range(n->p.fc.act, &lo, &hi);
		for (int64_t r = 0; r < batch; r++)
			for (int u = 0; u < units; u++) {
				const float *x = in + (size_t)r * depth, *row = w + (size_t)u * depth;
				double acc = bs ? bs[u] : 0.0;
				for (int i = 0; i < depth; i++)
					acc += (double)x[i] * row[i];
				float v = (float)acc;
				out[(size_t)r * units + u] = v < lo ? lo : v > hi ? hi : v;
			}
		return NN_OK;
	}

	const int32_t *bs = bias ? bias->data : NULL;
	int32_t in_zp = nn_ref_zero_point(input, 0), out_zp = nn_ref_zero_point(output, 0);
	float in_scale = nn_ref_scale(input, 0), out_scale = nn_ref_scale(output, 0);
	int32_t qmin, qmax;
	nn_ref_act_range_q(n->p.fc.act, output->dtype, out_scale, out_zp, &qmin, &qmax);
	for (int64_t r = 0; r < batch; r++)
		for (int u = 0; u < units; u++) {
			size_t x = (size_t)r * depth, row = (size_t)u * depth;
			int32_t w_zp = nn_ref_zero_point(weights, u);
			int64_t acc = bs ? bs[u] : 0;
			for (int i = 0; i < depth; i++)
				acc += (int64_t)(nn_ref_load_q(input, x + i) - in_zp) *
				       (nn_ref_load_q(weights, row + i) - w_zp);
			double multiplier = (double)in_scale * nn_ref_scale(weights, u) / out_scale;
			nn_ref_store_q(output, (size_t)r * units + u,
				       nn_ref_requantize(acc, multiplier, out_zp, qmin, qmax));
		}
	return NN_OK;
}
