/* Not written yet. */
#include "nn/graph.h"
