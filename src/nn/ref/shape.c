/* Not written yet: refuses every op it is asked about. */
#include "nn/ref/quant.h"

int nn_ref_shape_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen)
{
	(void)g;
	return nn_ref_fail(why, whylen, n, 0, "no reference kernel yet");
}

int nn_ref_shape_run(nn_graph *g, const nn_node *n, char *err, size_t errlen)
{
	(void)g;
	return nn_ref_fail(err, errlen, n, NN_ERR_UNSUPPORTED, "no reference kernel yet");
}
