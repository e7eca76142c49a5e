#ifndef VG_NPY_H
#define VG_NPY_H

/*
 * NumPy's .npy files (format versions 1.0, 2.0 and 3.0): one array, its
 * dtype, shape and order in a small Python-literal header, then the raw
 * elements. `vigil run` reads its inputs from them and writes its outputs as
 * them, so that a model's tensors can be compared with NumPy (np.load) and
 * fed from it (np.save).
 *
 * The reader takes only what np.save writes for plain arrays: a header dict
 * with exactly the keys 'descr', 'fortran_order' and 'shape', a descr of one
 * of the numeric types below (little- or big-endian; big-endian data is
 * converted), and exactly as many data bytes as the shape says. Fortran-order
 * arrays are transposed to C order. Structured dtypes, strings and objects
 * (pickles) are refused with a message that says so. Everything read from
 * the file is bounds-checked; the shape's element count is overflow-checked.
 *
 * This lives outside the engine (src/nn/) on purpose: the engine reads model
 * formats and knows nothing of files of tensors, which are the command
 * line's business; and .npy has dtypes (float64, the unsigned 16- to 64-bit
 * integers) the engine does not.
 */

#include <stddef.h>
#include <stdint.h>

/* NumPy allows 64 dimensions (32 before NumPy 2.0); no real tensor comes near. */
#define VG_NPY_MAX_RANK 32

/* Headers past this many bytes are refused (NumPy itself refuses past 10000 by default). */
#define VG_NPY_MAX_HEADER (1u << 20)

typedef enum vg_npy_dtype {
	VG_NPY_F16 = 0,
	VG_NPY_F32,
	VG_NPY_F64,
	VG_NPY_I8,
	VG_NPY_U8,
	VG_NPY_I16,
	VG_NPY_U16,
	VG_NPY_I32,
	VG_NPY_U32,
	VG_NPY_I64,
	VG_NPY_U64,
	VG_NPY_BOOL,
	VG_NPY_DTYPE_COUNT,
} vg_npy_dtype;

typedef struct vg_npy {
	vg_npy_dtype dtype;
	int rank;                          /* 0 for a scalar */
	int64_t shape[VG_NPY_MAX_RANK];
	int64_t count;                     /* elements: the product of the shape (1 for a scalar) */
	void *data;                        /* count elements, C order, little-endian; owned */
	int version;                       /* the file's major version: 1, 2 or 3 */
	int was_fortran;                   /* the file was in Fortran order (data has been transposed) */
	int was_big_endian;                /* the file was big-endian (data has been converted) */
} vg_npy;

/* Bytes per element. */
size_t vg_npy_dtype_size(vg_npy_dtype t);
/* NumPy's name: "float32", "uint8", "bool". */
const char *vg_npy_dtype_name(vg_npy_dtype t);
/* The descr np.save writes: "<f4", "|u1", "|b1". */
const char *vg_npy_dtype_descr(vg_npy_dtype t);

/*
 * Parses a whole .npy file held in buf. name is the file's name, for
 * messages. On success fills *out (its data is a copy the caller frees with
 * vg_npy_free) and returns 0; on failure returns -1 with one message in err
 * that names the file, the part of it (magic, version, header length,
 * header, a header key, data) and what was expected.
 */
int vg_npy_parse(vg_npy *out, const void *buf, size_t len, const char *name, char *err, size_t errlen);

/* Reads and parses a .npy file; 0, or -1 with a message in err. */
int vg_npy_read_file(vg_npy *out, const char *path, char *err, size_t errlen);

/*
 * Writes the header of an array of the given dtype and C-order shape, as
 * np.save does (version 1.0, padded with spaces and a newline so that the
 * data starts at a multiple of 64). Returns the header's length, or 0 when cap is too small
 * or the arguments are bad. The array's bytes follow the header.
 */
size_t vg_npy_header(char *buf, size_t cap, vg_npy_dtype dtype, int rank, const int64_t *shape);

/*
 * Writes a whole .npy file: the header, then count elements of data
 * (little-endian, C order). 0, or -1 with a message naming the path.
 */
int vg_npy_write_file(const char *path, vg_npy_dtype dtype, int rank, const int64_t *shape, const void *data,
		      char *err, size_t errlen);

void vg_npy_free(vg_npy *a);

#endif
