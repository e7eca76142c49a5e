/* Not written yet. */
#include "test.h"

const vg_test vg_suite_nn_graph[] = { { 0, 0 } };
