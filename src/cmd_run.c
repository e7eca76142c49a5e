/*
 * vigil run: the bare model, for people who debug it. Runs a model once on
 * inputs from NumPy .npy files (or on an image, prepared as serve and detect
 * prepare frames for it), writes every output as a .npy file and prints each
 * output's shape, dtype and range. No decoder, no labels: the tensors alone,
 * so that they can be compared with the framework the model came from.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "core/log.h"
#include "core/npy.h"
#include "detect/detector.h"
#include "detect/model_config.h"
#include "nn/model.h"
#include "nn/ref/quant.h"
#include "options.h"
#include "source/source.h"

#define MAX_INPUT_OPTIONS 64

enum { OPT_INPUT = 600, OPT_IMAGE, OPT_OUTPUTS, OPT_RUN_INPUT_SIZE };

static const struct option run_options[] = {
	{ "model", required_argument, NULL, OPT_MODEL },
	{ "input", required_argument, NULL, OPT_INPUT },
	{ "image", required_argument, NULL, OPT_IMAGE },
	{ "outputs", required_argument, NULL, OPT_OUTPUTS },
	{ "input-size", required_argument, NULL, OPT_RUN_INPUT_SIZE },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "sidecar", required_argument, NULL, OPT_SIDECAR },
	{ "resize", required_argument, NULL, OPT_RESIZE },
	{ "mean", required_argument, NULL, OPT_MEAN },
	{ "std", required_argument, NULL, OPT_STD },
	{ "bgr", no_argument, NULL, OPT_BGR },
	{ "reference-kernels", no_argument, NULL, OPT_REFERENCE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void run_usage(FILE *out)
{
	fprintf(out,
		"usage: vigil run MODEL [--input NAME=FILE.npy ...] [--image IMAGE] --outputs DIR [options]\n"
		"\n"
		"Runs the model once and writes every output as DIR/NAME.npy (NumPy's format: np.load reads\n"
		"it), and every input as the model took it (converted, or prepared from the image) as\n"
		"DIR/inputs/NAME.npy. Prints one line per input and per output: name, dtype and shape,\n"
		"minimum and maximum, and for quantized tensors the scale and zero point (real = scale *\n"
		"(q - zero_point)); tensors are written as the model holds them, not dequantized. For\n"
		"comparing vigil's engine with the framework a model came from.\n"
		"\n"
		"  -m, --model FILE        the model (or give it as the first argument)\n"
		"      --input NAME=FILE   a .npy file for the input called NAME (as vigil inspect lists them;\n"
		"                          a number picks an input by its index); repeatable. A single --input\n"
		"                          without NAME= goes to the model's only input. The array must have\n"
		"                          the input's shape (a missing leading batch dimension of 1 is added)\n"
		"                          and dtype, or one that converts without loss of meaning: float64 or\n"
		"                          float16 to float32, integers to another integer type when every\n"
		"                          value fits\n"
		"      --image IMAGE       the model's first input from an image (or a video's first frame),\n"
		"                          resized and normalised as vigil serve and detect prepare frames for\n"
		"                          this model: its sidecar, built-in defaults and the options below\n"
		"  -o, --outputs DIR       where the outputs go (created if missing). Characters of output\n"
		"                          names other than letters, digits, '.', '-' and '_' (such as '/' and\n"
		"                          ':') become '_' in file names: StatefulPartitionedCall:0 is written\n"
		"                          as StatefulPartitionedCall_0.npy; a name that would repeat gets the\n"
		"                          output's index appended\n"
		"      --input-size WxH    the size of an image input the model leaves open (-1); a model with\n"
		"                          a fixed size must be given that size or none\n"
		"      --threads N         inference threads (default 1)\n"
		"      --sidecar FILE      the model's settings (default: found next to the model; \"none\")\n"
		"      --resize MODE       --image: stretch (default) or letterbox\n"
		"      --mean R,G,B        --image, float inputs: subtracted from pixel values (default 127.5)\n"
		"      --std R,G,B         --image, float inputs: pixel values are divided by it (default 127.5)\n"
		"      --bgr               --image: channels in BGR order\n"
		"      --reference-kernels run every node on the plain-C reference kernels\n"
		"  -h, --help              show this help\n"
		"\n"
		"Inputs given neither by --input nor --image are an error, except a video model's state inputs\n"
		"(an input that an output of the same shape and type feeds back, such as an LSTM's c and h):\n"
		"those start at zero, as on the first frame in vigil detect and serve, and the line printed\n"
		"for them says so.\n"
		"\n"
		"Exit status: 0 when the outputs were written, 1 when the model failed to run or an output\n"
		"could not be written, 2 for bad usage, a model that cannot be loaded, or a bad input.\n");
}

static void npy_shape_text(const vg_npy *a, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "%s (", vg_npy_dtype_name(a->dtype));
	for (int i = 0; i < a->rank && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%" PRId64, i ? ", " : "", a->shape[i]);
	if (n < len)
		snprintf(buf + n, len - n, "%s)", a->rank == 1 ? "," : "");
}

static const char *tensor_name(const nn_tensor *t)
{
	return t->name ? t->name : "";
}

static int same_layout(const nn_tensor *a, const nn_tensor *b)
{
	if (a->dtype != b->dtype || a->rank != b->rank)
		return 0;
	for (int i = 0; i < a->rank; i++)
		if (a->shape[i] != b->shape[i])
			return 0;
	return 1;
}

/* A video model's state input: not the first, and an output of its shape and type feeds it back. */
static int is_state_input(nn_model *m, int i)
{
	if (i == 0)
		return 0;
	const nn_tensor *in = nn_model_input(m, i);
	for (int o = 0; o < nn_model_output_count(m); o++)
		if (same_layout(in, nn_model_output(m, o)))
			return 1;
	return 0;
}

/* Which input a --input NAME=FILE names: the longest input name followed by '=', else an index. */
static int input_by_name(nn_model *m, const char *spec, const char **file)
{
	int best = -1;
	size_t best_len = 0;
	for (int i = 0; i < nn_model_input_count(m); i++) {
		const char *name = tensor_name(nn_model_input(m, i));
		size_t n = strlen(name);
		if (n && !strncmp(spec, name, n) && spec[n] == '=' && (best < 0 || n > best_len)) {
			best = i;
			best_len = n;
		}
	}
	if (best >= 0) {
		*file = spec + best_len + 1;
		return best;
	}
	const char *eq = strchr(spec, '=');
	if (eq && eq > spec) {
		long idx;
		char num[16];
		size_t n = (size_t)(eq - spec);
		if (n < sizeof num) {
			memcpy(num, spec, n);
			num[n] = '\0';
			if (vg_parse_int(num, 0, nn_model_input_count(m) - 1, &idx) == 0) {
				*file = eq + 1;
				return (int)idx;
			}
		}
	}
	return -1;
}

static void list_inputs(nn_model *m, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = '\0';
	for (int i = 0; i < nn_model_input_count(m) && n < len; i++) {
		char s[128];
		nn_tensor_shape_str(nn_model_input(m, i), s, sizeof s);
		n += (size_t)snprintf(buf + n, len - n, "%s%d '%s' %s", i ? ", " : "", i,
				      tensor_name(nn_model_input(m, i)), s);
	}
}

static int is_int_npy(vg_npy_dtype t)
{
	return t != VG_NPY_F16 && t != VG_NPY_F32 && t != VG_NPY_F64 && t != VG_NPY_BOOL;
}

static int npy_is_nn_dtype(vg_npy_dtype a, nn_dtype t)
{
	switch (t) {
	case NN_F32: return a == VG_NPY_F32;
	case NN_F16: return a == VG_NPY_F16;
	case NN_U8: return a == VG_NPY_U8;
	case NN_I8: return a == VG_NPY_I8;
	case NN_I16: return a == VG_NPY_I16;
	case NN_I32: return a == VG_NPY_I32;
	case NN_I64: return a == VG_NPY_I64;
	case NN_BOOL: return a == VG_NPY_BOOL;
	default: return 0;
	}
}

/* Element i of an integer array, widened; *neg set for negative values of signed types. */
static int64_t npy_int_at(const vg_npy *a, int64_t i, uint64_t *as_unsigned)
{
	const void *d = a->data;
	int64_t v = 0;
	*as_unsigned = 0;
	switch (a->dtype) {
	case VG_NPY_I8: v = ((const int8_t *)d)[i]; break;
	case VG_NPY_U8: v = ((const uint8_t *)d)[i]; break;
	case VG_NPY_I16: v = ((const int16_t *)d)[i]; break;
	case VG_NPY_U16: v = ((const uint16_t *)d)[i]; break;
	case VG_NPY_I32: v = ((const int32_t *)d)[i]; break;
	case VG_NPY_U32: v = ((const uint32_t *)d)[i]; break;
	case VG_NPY_I64: v = ((const int64_t *)d)[i]; break;
	case VG_NPY_U64: {
		uint64_t u = ((const uint64_t *)d)[i];
		if (u > INT64_MAX)
			*as_unsigned = u;
		v = (int64_t)(u & INT64_MAX);
		break;
	}
	default: break;
	}
	return v;
}

static void int_range(nn_dtype t, int64_t *lo, int64_t *hi)
{
	switch (t) {
	case NN_U8: *lo = 0, *hi = UINT8_MAX; break;
	case NN_I8: *lo = INT8_MIN, *hi = INT8_MAX; break;
	case NN_I16: *lo = INT16_MIN, *hi = INT16_MAX; break;
	case NN_I32: *lo = INT32_MIN, *hi = INT32_MAX; break;
	default: *lo = INT64_MIN, *hi = INT64_MAX; break;
	}
}

/*
 * Puts the array into the input tensor: the same dtype as it is, float64 and
 * float16 to float32 (and float32 or float64 to float16), integers to
 * another integer type when every value fits. *how says what was done.
 */
static int fill_from_npy(nn_tensor *t, int index, const vg_npy *a, const char *file, char *how, size_t howlen,
			 char *err, size_t errlen)
{
	char want[128], got[160];
	nn_tensor_shape_str(t, want, sizeof want);
	npy_shape_text(a, got, sizeof got);
	int batch_added = 0, shape_ok = a->rank == t->rank;
	for (int i = 0; shape_ok && i < t->rank; i++)
		shape_ok = a->shape[i] == t->shape[i];
	if (!shape_ok && t->rank >= 1 && a->rank == t->rank - 1 && t->shape[0] == 1) {
		shape_ok = 1;
		for (int i = 0; i < a->rank; i++)
			shape_ok &= a->shape[i] == t->shape[i + 1];
		batch_added = shape_ok;
	}
	if (!shape_ok) {
		snprintf(err, errlen, "input %d '%s' is %s; %s holds %s: the shapes differ", index, tensor_name(t), want,
			 file, got);
		return -1;
	}
	int64_t n = nn_tensor_elements(t);
	const char *conv = "";
	if (npy_is_nn_dtype(a->dtype, t->dtype)) {
		memcpy(t->data, a->data, nn_tensor_bytes(t));
		if (t->dtype == NN_BOOL)
			for (int64_t i = 0; i < n; i++)
				((uint8_t *)t->data)[i] = ((uint8_t *)t->data)[i] != 0;
	} else if (t->dtype == NN_F32 && (a->dtype == VG_NPY_F64 || a->dtype == VG_NPY_F16)) {
		float *o = t->data;
		for (int64_t i = 0; i < n; i++)
			o[i] = a->dtype == VG_NPY_F64 ? (float)((const double *)a->data)[i]
						       : nn_ref_f16_to_f32(((const uint16_t *)a->data)[i]);
		conv = a->dtype == VG_NPY_F64 ? ", converted from float64" : ", converted from float16";
	} else if (t->dtype == NN_F16 && (a->dtype == VG_NPY_F32 || a->dtype == VG_NPY_F64)) {
		uint16_t *o = t->data;
		for (int64_t i = 0; i < n; i++)
			o[i] = nn_ref_f32_to_f16(a->dtype == VG_NPY_F64 ? (float)((const double *)a->data)[i]
									: ((const float *)a->data)[i]);
		conv = a->dtype == VG_NPY_F64 ? ", converted from float64" : ", converted from float32";
	} else if (is_int_npy(a->dtype) &&
		   (t->dtype == NN_U8 || t->dtype == NN_I8 || t->dtype == NN_I16 || t->dtype == NN_I32 || t->dtype == NN_I64)) {
		int64_t lo, hi;
		int_range(t->dtype, &lo, &hi);
		for (int64_t i = 0; i < n; i++) {
			uint64_t big;
			int64_t v = npy_int_at(a, i, &big);
			if (big || v < lo || v > hi) {
				char val[32];
				if (big)
					snprintf(val, sizeof val, "%" PRIu64, big);
				else
					snprintf(val, sizeof val, "%" PRId64, v);
				snprintf(err, errlen, "input %d '%s' is %s; %s holds %s whose element %" PRId64
					 " (%s) does not fit %s",
					 index, tensor_name(t), want, file, got, i, val, nn_dtype_name(t->dtype));
				return -1;
			}
			switch (t->dtype) {
			case NN_U8: ((uint8_t *)t->data)[i] = (uint8_t)v; break;
			case NN_I8: ((int8_t *)t->data)[i] = (int8_t)v; break;
			case NN_I16: ((int16_t *)t->data)[i] = (int16_t)v; break;
			case NN_I32: ((int32_t *)t->data)[i] = (int32_t)v; break;
			default: ((int64_t *)t->data)[i] = v; break;
			}
		}
		conv = ", converted from a wider or other integer type";
	} else {
		char hint[192] = "";
		if (t->quant.count >= 1 && !is_int_npy(a->dtype))
			snprintf(hint, sizeof hint, " (the input is quantized, real = %g * (q - %d): quantize the values "
				 "and save them as %s)", (double)t->quant.scale[0],
				 t->quant.zero_point ? t->quant.zero_point[0] : 0, nn_dtype_name(t->dtype));
		else if (t->dtype == NN_F32 && is_int_npy(a->dtype))
			snprintf(hint, sizeof hint, " (give the values the model expects as float32, e.g. "
				 "a.astype(np.float32) after its normalisation)");
		snprintf(err, errlen, "input %d '%s' is %s; %s holds %s: the dtypes differ%s", index, tensor_name(t),
			 want, file, got, hint);
		return -1;
	}
	snprintf(how, howlen, "%s%s%s%s", file, batch_added ? ", batch dimension added" : "", conv,
		 a->was_fortran ? ", from Fortran order" : "");
	return 0;
}

/* The value of element i as a double (quantized values as they are stored). */
static double element(const nn_tensor *t, int64_t i)
{
	switch (t->dtype) {
	case NN_F32: return ((const float *)t->data)[i];
	case NN_F16: return nn_ref_f16_to_f32(((const uint16_t *)t->data)[i]);
	case NN_U8: return ((const uint8_t *)t->data)[i];
	case NN_I8: return ((const int8_t *)t->data)[i];
	case NN_I16: return ((const int16_t *)t->data)[i];
	case NN_I32: return ((const int32_t *)t->data)[i];
	case NN_I64: return (double)((const int64_t *)t->data)[i];
	case NN_BOOL: return ((const uint8_t *)t->data)[i] != 0;
	default: return 0;
	}
}

/* "min -1.5 max 3.25" (with the real range of quantized tensors, and any NaN or infinity counted). */
static void range_text(const nn_tensor *t, char *buf, size_t len)
{
	int64_t n = nn_tensor_elements(t), nan = 0, inf = 0;
	double lo = INFINITY, hi = -INFINITY;
	for (int64_t i = 0; i < n; i++) {
		double v = element(t, i);
		if (isnan(v)) {
			nan++;
			continue;
		}
		if (isinf(v))
			inf++;
		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
	}
	size_t k;
	if (n == 0 || nan == n)
		k = (size_t)snprintf(buf, len, "min - max -");
	else
		k = (size_t)snprintf(buf, len, "min %.9g max %.9g", lo, hi);
	if (t->quant.count == 1 && k < len) {
		double s = t->quant.scale[0];
		int zp = t->quant.zero_point ? t->quant.zero_point[0] : 0;
		k += (size_t)snprintf(buf + k, len - k, "  scale %.9g zero_point %d", s, zp);
		if (n && nan < n && k < len)
			k += (size_t)snprintf(buf + k, len - k, " (real %.6g .. %.6g)", s * (lo - zp), s * (hi - zp));
	} else if (t->quant.count > 1 && k < len) {
		k += (size_t)snprintf(buf + k, len - k, "  per-channel quantization (%d scales, axis %d)", t->quant.count,
				      t->quant.axis);
	}
	if (nan && k < len)
		k += (size_t)snprintf(buf + k, len - k, "  %" PRId64 " NaN", nan);
	if (inf && k < len)
		snprintf(buf + k, len - k, "  %" PRId64 " infinite", inf);
}

static int npy_dtype_of(nn_dtype t, vg_npy_dtype *out)
{
	static const struct {
		nn_dtype nn;
		vg_npy_dtype npy;
	} map[] = {
		{ NN_F32, VG_NPY_F32 }, { NN_F16, VG_NPY_F16 }, { NN_U8, VG_NPY_U8 },  { NN_I8, VG_NPY_I8 },
		{ NN_I16, VG_NPY_I16 }, { NN_I32, VG_NPY_I32 }, { NN_I64, VG_NPY_I64 }, { NN_BOOL, VG_NPY_BOOL },
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (map[i].nn == t) {
			*out = map[i].npy;
			return 0;
		}
	return -1;
}

/* An output's file name: the tensor's name with anything but [A-Za-z0-9._-] made '_', never "." or "..". */
static void file_name_for(const char *name, int index, char *buf, size_t len)
{
	size_t n = 0;
	for (const char *p = name; *p && n + 1 < len && n < 200; p++) {
		char c = *p;
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
			 c == '-' || c == '_';
		buf[n++] = ok ? c : '_';
	}
	buf[n] = '\0';
	if (n == 0)
		snprintf(buf, len, "output_%d", index);
	else if (buf[0] == '.')
		buf[0] = '_';
}

/* Writes a tensor as DIR/FILE.npy, FILE its sanitised name made unique among names[0..index-1]; 0 or -1. */
static int write_tensor(const char *dir, const nn_tensor *t, int index, char (*names)[256], char *path, size_t pathlen,
			char *err, size_t errlen)
{
	file_name_for(tensor_name(t), index, names[index], sizeof names[index]);
	for (int p = 0; p < index; p++)
		if (!strcmp(names[p], names[index])) {
			size_t l = strlen(names[index]);
			snprintf(names[index] + l, sizeof names[index] - l, "_%d", index);
			break;
		}
	snprintf(path, pathlen, "%s/%s.npy", dir, names[index]);
	vg_npy_dtype dt;
	if (npy_dtype_of(t->dtype, &dt) < 0) {
		snprintf(err, errlen, "'%s': no .npy type for %s", tensor_name(t), nn_dtype_name(t->dtype));
		return -1;
	}
	int64_t shape[NN_MAX_RANK];
	for (int d = 0; d < t->rank; d++)
		shape[d] = t->shape[d];
	return vg_npy_write_file(path, dt, t->rank, shape, t->data, err, errlen);
}

static int make_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	if (stat(dir, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		snprintf(err, errlen, "--outputs: '%s' exists and is not a directory", dir);
		return -1;
	}
	if (mkdir(dir, 0777) != 0) {
		snprintf(err, errlen, "--outputs: cannot create '%s': %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

static int parse_size(const char *s, int *w, int *h)
{
	char *end;
	errno = 0;
	long a = strtol(s, &end, 10);
	if (end == s || (*end != 'x' && *end != 'X') || errno)
		return -1;
	const char *t = end + 1;
	long b = strtol(t, &end, 10);
	if (end == t || *end || errno || a < 1 || b < 1 || a > 16384 || b > 16384)
		return -1;
	*w = (int)a;
	*h = (int)b;
	return 0;
}

/* The model's first input from an image, prepared with the model's settings as vigil serve and detect do. */
static int fill_from_image(nn_model *m, const vg_detector_options *dopt, const char *image, char *how, size_t howlen,
			   char *err, size_t errlen)
{
	nn_tensor *in = nn_model_input(m, 0);
	int n_out = nn_model_output_count(m), n_state = 0;
	const nn_tensor **outs = calloc((size_t)(n_out > 0 ? n_out : 1), sizeof *outs);
	if (!outs) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* The settings see the outputs that are not state, as the detector's do. */
	int k = 0;
	for (int o = 0; o < n_out; o++) {
		int feeds = 0;
		for (int i = 1; i < nn_model_input_count(m); i++)
			feeds |= same_layout(nn_model_input(m, i), nn_model_output(m, o));
		if (!feeds)
			outs[k++] = nn_model_output(m, o);
	}
	for (int i = 1; i < nn_model_input_count(m); i++)
		n_state += is_state_input(m, i);
	vg_model_config cfg;
	char note[256] = "";
	int rc = vg_detector_load_settings(&cfg, dopt, in, outs, k, n_state, note, sizeof note, err, errlen);
	free(outs);
	if (rc < 0)
		return -1;
	vg_preprocess_config pc;
	vg_detector_resolve_preprocess(dopt, &cfg, in, &pc);
	vg_preprocess *pp = NULL;
	char why[384];
	if (vg_preprocess_create(&pp, in, &pc, why, sizeof why) < 0) {
		snprintf(err, errlen, "--image: %s: %s", dopt->model, why);
		vg_model_config_free(&cfg);
		return -1;
	}
	vg_source_options so = { .uri = image, .pace = 0 };
	vg_source *src = NULL;
	vg_frame *frame = NULL;
	rc = -1;
	if (vg_source_open(&src, &so, NULL, why, sizeof why) < 0) {
		snprintf(err, errlen, "--image: %s", why);
	} else if (vg_source_read(src, &frame) != 0 || !frame) {
		snprintf(err, errlen, "--image: %s: no frame could be decoded", image);
	} else if (vg_preprocess_run(pp, frame, in) < 0) {
		snprintf(err, errlen, "--image: cannot scale a %dx%d frame to the model's input", frame->width,
			 frame->height);
	} else {
		char norm[128];
		if (pc.has_norm)
			snprintf(norm, sizeof norm, "(pixel - %g,%g,%g) / %g,%g,%g", (double)pc.mean[0], (double)pc.mean[1],
				 (double)pc.mean[2], (double)pc.std[0], (double)pc.std[1], (double)pc.std[2]);
		else if (in->dtype == NN_F32)
			snprintf(norm, sizeof norm, "(pixel - 127.5) / 127.5");
		else
			snprintf(norm, sizeof norm, "raw pixel values%s", in->dtype == NN_I8 ? " - 128" : "");
		snprintf(how, howlen, "%s (%dx%d, %s to %dx%d, %s, %s, %s; settings: %s)", image, frame->width,
			 frame->height, pc.resize == VG_RESIZE_LETTERBOX ? "letterboxed" : "stretched",
			 vg_preprocess_width(pp), vg_preprocess_height(pp), pc.bgr ? "BGR" : "RGB",
			 pc.nchw ? "NCHW" : "NHWC", norm,
			 cfg.origin[0] ? cfg.origin : "options and generic defaults");
		rc = 0;
	}
	if (frame)
		vg_frame_unref(frame);
	vg_source_destroy(src);
	vg_preprocess_destroy(pp);
	vg_model_config_free(&cfg);
	return rc;
}

/* The state inputs nobody gave: real zero (the quantized zero point), as a video's first frame starts. */
static void zero_state(nn_tensor *t)
{
	size_t n = nn_tensor_bytes(t);
	int32_t zp = t->quant.count && t->quant.zero_point ? t->quant.zero_point[0] : 0;
	if (t->dtype == NN_U8 || t->dtype == NN_I8)
		memset(t->data, (int)(uint8_t)zp, n);
	else
		memset(t->data, 0, n);
}

int vg_cmd_run(int argc, char **argv)
{
	vg_detector_options dopt = { 0 };
	const char *specs[MAX_INPUT_OPTIONS];
	int n_specs = 0, input_w = 0, input_h = 0;
	const char *image = NULL, *out_dir = NULL;
	char err[1024];
	int c;
	optind = 1;
	opterr = 0;
	vg_log_set_level(VG_LOG_WARN);
	while ((c = getopt_long(argc, argv, ":m:o:h", run_options, NULL)) != -1) {
		int m = vg_model_option(c, optarg, &dopt, err, sizeof err);
		if (m < 0) {
			fprintf(stderr, "vigil: %s\n", err);
			return VG_EXIT_BAD_INPUT;
		}
		if (m > 0)
			continue;
		switch (c) {
		case OPT_INPUT:
			if (n_specs == MAX_INPUT_OPTIONS) {
				fprintf(stderr, "vigil: more than %d --input options\n", MAX_INPUT_OPTIONS);
				return VG_EXIT_BAD_INPUT;
			}
			specs[n_specs++] = optarg;
			break;
		case OPT_IMAGE:
			if (image) {
				fprintf(stderr, "vigil: --image given twice\n");
				return VG_EXIT_BAD_INPUT;
			}
			image = optarg;
			break;
		case 'o':
		case OPT_OUTPUTS:
			out_dir = optarg;
			break;
		case OPT_RUN_INPUT_SIZE:
			if (parse_size(optarg, &input_w, &input_h) < 0) {
				fprintf(stderr, "vigil: --input-size expects WIDTHxHEIGHT such as 300x300, not '%s'\n", optarg);
				return VG_EXIT_BAD_INPUT;
			}
			break;
		case 'h':
			run_usage(stdout);
			return VG_EXIT_OK;
		case ':':
			fprintf(stderr, "vigil: option '%s' needs a value\n", argv[optind - 1]);
			return VG_EXIT_BAD_INPUT;
		default:
			fprintf(stderr, "vigil: unknown option '%s' (see vigil run --help)\n", argv[optind - 1]);
			return VG_EXIT_BAD_INPUT;
		}
	}
	if (!dopt.model && optind < argc)
		dopt.model = argv[optind++];
	if (!dopt.model || optind < argc) {
		fprintf(stderr, "vigil: run takes one model%s (see vigil run --help)\n",
			optind < argc ? ", and inputs with --input or --image" : "");
		return VG_EXIT_BAD_INPUT;
	}
	if (!out_dir) {
		fprintf(stderr, "vigil: run needs --outputs DIR (see vigil run --help)\n");
		return VG_EXIT_BAD_INPUT;
	}
	if (!n_specs && !image) {
		fprintf(stderr, "vigil: run needs inputs: --input NAME=FILE.npy or --image IMAGE (see vigil run --help)\n");
		return VG_EXIT_BAD_INPUT;
	}

	nn_model *m;
	nn_prepare_options po = { .threads = dopt.threads > 0 ? dopt.threads : 1, .reference_only = dopt.reference_only };
	/* The size also goes to the loader, for models whose image input leaves it open (ONNX's [N,3,H,W]). */
	nn_load_options lo = { .input_w = input_w, .input_h = input_h };
	if (nn_model_load_ex(&m, dopt.model, &lo, err, sizeof err) < 0) {
		fprintf(stderr, "vigil: %s\n", err);
		return VG_EXIT_BAD_INPUT;
	}
	if (nn_model_prepare(m, &po, err, sizeof err) < 0) {
		fprintf(stderr, "vigil: %s\n", err);
		nn_model_free(m);
		return VG_EXIT_BAD_INPUT;
	}
	int n_in = nn_model_input_count(m), status = VG_EXIT_BAD_INPUT;
	char **how = calloc((size_t)(n_in > 0 ? n_in : 1), sizeof *how);
	if (!how) {
		fprintf(stderr, "vigil: out of memory\n");
		nn_model_free(m);
		return VG_EXIT_FAILURE;
	}
	char inputs[2048];
	list_inputs(m, inputs, sizeof inputs);
	if (n_in < 1) {
		fprintf(stderr, "vigil: %s: the model has no input\n", dopt.model);
		goto done;
	}
	if (input_w) {
		/* The engine's shapes are fixed once loaded: a size the model fixes must be the one given. */
		const nn_tensor *t = nn_model_input(m, 0);
		if (t->rank != 4) {
			fprintf(stderr, "vigil: --input-size %dx%d: input 0 '%s' of %s is not an image (its inputs: %s)\n",
				input_w, input_h, tensor_name(t), dopt.model, inputs);
			goto done;
		}
		int nchw = t->shape[1] == 3 && t->shape[3] != 3;
		int w = t->shape[nchw ? 3 : 2], h = t->shape[nchw ? 2 : 1];
		if (w != input_w || h != input_h) {
			fprintf(stderr, "vigil: --input-size %dx%d: input 0 '%s' of %s is %dx%d, a size the model fixes; "
				"give that size or leave --input-size out\n", input_w, input_h, tensor_name(t), dopt.model,
				w, h);
			goto done;
		}
	}

	for (int s = 0; s < n_specs; s++) {
		const char *file = NULL;
		int idx = input_by_name(m, specs[s], &file);
		if (idx < 0) {
			int others_state = 1;
			for (int i = 1; i < n_in; i++)
				others_state &= is_state_input(m, i);
			if (others_state && (!strchr(specs[s], '=') || access(specs[s], F_OK) == 0)) {
				idx = 0;
				file = specs[s];
			} else if (strchr(specs[s], '=')) {
				fprintf(stderr, "vigil: --input %s: the model has no input called '%.*s' (its inputs: %s)\n",
					specs[s], (int)(strchr(specs[s], '=') - specs[s]), specs[s], inputs);
				goto done;
			} else {
				fprintf(stderr, "vigil: --input %s: the model has %d inputs; say which with NAME=FILE.npy "
					"(its inputs: %s)\n", specs[s], n_in, inputs);
				goto done;
			}
		}
		if (how[idx]) {
			fprintf(stderr, "vigil: input %d '%s' is given twice\n", idx, tensor_name(nn_model_input(m, idx)));
			goto done;
		}
		vg_npy a;
		if (vg_npy_read_file(&a, file, err, sizeof err) < 0) {
			fprintf(stderr, "vigil: --input: %s\n", err);
			goto done;
		}
		char text[1024];
		int rc = fill_from_npy(nn_model_input(m, idx), idx, &a, file, text, sizeof text, err, sizeof err);
		vg_npy_free(&a);
		if (rc < 0) {
			fprintf(stderr, "vigil: %s\n", err);
			goto done;
		}
		how[idx] = strdup(text);
	}
	if (image) {
		if (how[0]) {
			fprintf(stderr, "vigil: input 0 '%s' is given twice (--input and --image)\n",
				tensor_name(nn_model_input(m, 0)));
			goto done;
		}
		char text[1024];
		if (fill_from_image(m, &dopt, image, text, sizeof text, err, sizeof err) < 0) {
			fprintf(stderr, "vigil: %s\n", err);
			goto done;
		}
		how[0] = strdup(text);
	}
	char missing[2048];
	size_t mlen = 0;
	int n_missing = 0;
	missing[0] = '\0';
	for (int i = 0; i < n_in; i++) {
		if (how[i])
			continue;
		if (is_state_input(m, i)) {
			zero_state(nn_model_input(m, i));
			how[i] = strdup("not given: a state input, at zero as on a video's first frame");
			continue;
		}
		char s[128];
		nn_tensor_shape_str(nn_model_input(m, i), s, sizeof s);
		if (mlen < sizeof missing)
			mlen += (size_t)snprintf(missing + mlen, sizeof missing - mlen, "%s%d '%s' %s", n_missing ? ", " : "",
						 i, tensor_name(nn_model_input(m, i)), s);
		n_missing++;
	}
	if (n_missing) {
		fprintf(stderr, "vigil: no value for the model's input%s %s: give --input NAME=FILE.npy%s\n",
			n_missing > 1 ? "s" : "", missing, n_missing == 1 && !how[0] ? " or --image IMAGE" : "");
		goto done;
	}
	for (int i = 0; i < n_in; i++)
		if (!how[i]) {
			fprintf(stderr, "vigil: out of memory\n");
			status = VG_EXIT_FAILURE;
			goto done;
		}
	if (make_dir(out_dir, err, sizeof err) < 0) {
		fprintf(stderr, "vigil: %s\n", err);
		goto done;
	}

	/* The inputs as the model takes them (converted, prepared from the image) go to DIR/inputs. */
	char in_dir[4096], path[4096];
	snprintf(in_dir, sizeof in_dir, "%s/inputs", out_dir);
	int n_out = nn_model_output_count(m);
	int n_names = n_in > n_out ? n_in : n_out;
	char(*names)[256] = calloc((size_t)(n_names > 0 ? n_names : 1), sizeof *names);
	if (!names) {
		fprintf(stderr, "vigil: out of memory\n");
		status = VG_EXIT_FAILURE;
		goto done;
	}
	if (make_dir(in_dir, err, sizeof err) < 0) {
		fprintf(stderr, "vigil: %s\n", err);
		free(names);
		goto done;
	}
	for (int i = 0; i < n_in; i++) {
		const nn_tensor *t = nn_model_input(m, i);
		char s[128], r[256];
		nn_tensor_shape_str(t, s, sizeof s);
		range_text(t, r, sizeof r);
		if (write_tensor(in_dir, t, i, names, path, sizeof path, err, sizeof err) < 0) {
			fprintf(stderr, "vigil: input %d %s\n", i, err);
			free(names);
			status = VG_EXIT_FAILURE;
			goto done;
		}
		printf("input %d  %s  %s  %s  <- %s\n", i, tensor_name(t), s, r, how[i]);
	}
	if (nn_model_run(m, err, sizeof err) < 0) {
		fprintf(stderr, "vigil: %s\n", err);
		free(names);
		status = VG_EXIT_FAILURE;
		goto done;
	}
	status = VG_EXIT_OK;
	for (int o = 0; o < n_out; o++) {
		/* An output whose row count is known only at run time: the rows this run filled. */
		nn_tensor filled = *nn_model_output(m, o);
		if (filled.dynamic_rows)
			filled.shape[0] = nn_model_output_rows(m, o);
		const nn_tensor *t = &filled;
		char s[128], r[256];
		nn_tensor_shape_str(t, s, sizeof s);
		range_text(t, r, sizeof r);
		if (write_tensor(out_dir, t, o, names, path, sizeof path, err, sizeof err) < 0) {
			fprintf(stderr, "vigil: output %d %s\n", o, err);
			status = VG_EXIT_FAILURE;
			continue;
		}
		printf("output %d  %s  %s  %s  -> %s\n", o, tensor_name(t), s, r, path);
	}
	free(names);
done:
	for (int i = 0; i < n_in; i++)
		free(how[i]);
	free(how);
	nn_model_free(m);
	return status;
}
