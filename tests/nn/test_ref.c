/* Not written yet. */
#include "test.h"

const vg_test vg_suite_nn_ref[] = { { 0, 0 } };
