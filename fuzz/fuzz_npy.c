/*
 * libFuzzer target for the .npy reader (vigil run's inputs come from such
 * files). Checks beyond "no crash": a parsed array's element count is its
 * shape's product, and writing its header and data back and parsing that
 * gives the same dtype, shape and bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vg_npy a;
	char err[512];
	if (vg_npy_parse(&a, data, size, "fuzz.npy", err, sizeof err) < 0) {
		if (!memchr(err, '\0', sizeof err) || strncmp(err, "fuzz.npy", 8) != 0)
			abort();
		return 0;
	}
	int64_t count = 1;
	for (int i = 0; i < a.rank; i++)
		count *= a.shape[i];
	if (count != a.count || a.rank < 0 || a.rank > VG_NPY_MAX_RANK)
		abort();
	size_t bytes = (size_t)a.count * vg_npy_dtype_size(a.dtype);
	char head[2048];
	size_t h = vg_npy_header(head, sizeof head, a.dtype, a.rank, a.shape);
	if (!h)
		abort();
	uint8_t *again = malloc(h + bytes + 1);
	if (!again) {
		vg_npy_free(&a);
		return 0;
	}
	memcpy(again, head, h);
	if (bytes)
		memcpy(again + h, a.data, bytes);
	vg_npy b;
	if (vg_npy_parse(&b, again, h + bytes, "again.npy", err, sizeof err) < 0)
		abort();
	if (b.dtype != a.dtype || b.rank != a.rank || memcmp(b.shape, a.shape, sizeof a.shape) != 0 ||
	    b.count != a.count || (bytes && memcmp(b.data, a.data, bytes) != 0))
		abort();
	vg_npy_free(&b);
	free(again);
	vg_npy_free(&a);
	return 0;
}
