#ifndef NN_REF_NMS_H
#define NN_REF_NMS_H

#include "nn/ref/quant.h"
#include "nn/ref/ref.h"

/* NON_MAX_SUPPRESSION (ONNX NonMaxSuppression): see nms.c. */
int nn_ref_nms_supports(const nn_graph *g, const nn_node *n, char *why, size_t whylen);
int nn_ref_nms_run(nn_graph *g, const nn_node *n, char *err, size_t errlen);

#endif
