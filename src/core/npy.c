#include "core/npy.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const struct {
	const char *name;
	char kind; /* the descr's letter: f, i, u, b */
	unsigned char size;
} dtypes[VG_NPY_DTYPE_COUNT] = {
	[VG_NPY_F16] = { "float16", 'f', 2 },  [VG_NPY_F32] = { "float32", 'f', 4 },
	[VG_NPY_F64] = { "float64", 'f', 8 },  [VG_NPY_I8] = { "int8", 'i', 1 },
	[VG_NPY_U8] = { "uint8", 'u', 1 },     [VG_NPY_I16] = { "int16", 'i', 2 },
	[VG_NPY_U16] = { "uint16", 'u', 2 },   [VG_NPY_I32] = { "int32", 'i', 4 },
	[VG_NPY_U32] = { "uint32", 'u', 4 },   [VG_NPY_I64] = { "int64", 'i', 8 },
	[VG_NPY_U64] = { "uint64", 'u', 8 },   [VG_NPY_BOOL] = { "bool", 'b', 1 },
};

static const char *const descrs[VG_NPY_DTYPE_COUNT] = {
	[VG_NPY_F16] = "<f2", [VG_NPY_F32] = "<f4", [VG_NPY_F64] = "<f8", [VG_NPY_I8] = "|i1",
	[VG_NPY_U8] = "|u1",  [VG_NPY_I16] = "<i2", [VG_NPY_U16] = "<u2", [VG_NPY_I32] = "<i4",
	[VG_NPY_U32] = "<u4", [VG_NPY_I64] = "<i8", [VG_NPY_U64] = "<u8", [VG_NPY_BOOL] = "|b1",
};

static const char magic[6] = { '\x93', 'N', 'U', 'M', 'P', 'Y' };

size_t vg_npy_dtype_size(vg_npy_dtype t)
{
	return (unsigned)t < VG_NPY_DTYPE_COUNT ? dtypes[t].size : 0;
}

const char *vg_npy_dtype_name(vg_npy_dtype t)
{
	return (unsigned)t < VG_NPY_DTYPE_COUNT ? dtypes[t].name : "unknown";
}

const char *vg_npy_dtype_descr(vg_npy_dtype t)
{
	return (unsigned)t < VG_NPY_DTYPE_COUNT ? descrs[t] : "?";
}

/* The header parser: a cursor over the header's bytes, and where to report. */
typedef struct cursor {
	const char *p, *end, *start;
	const char *name;
	char *err;
	size_t errlen;
} cursor;

static int fail(cursor *c, const char *fmt, ...)
{
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errlen, "%s: .npy header, at byte %td of it: %s", c->name, c->p - c->start, what);
	return -1;
}

static void skip_space(cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static int expect(cursor *c, char ch, const char *where)
{
	skip_space(c);
	if (c->p >= c->end)
		return fail(c, "the header ends where '%c' %s was expected", ch, where);
	if (*c->p != ch)
		return fail(c, "expected '%c' %s, found '%c'", ch, where, *c->p >= 0x20 && *c->p < 0x7f ? *c->p : '?');
	c->p++;
	return 0;
}

/* A Python string literal without escapes: 'abc' or "abc". The view goes to *s, *n. */
static int parse_string(cursor *c, const char **s, size_t *n, const char *what)
{
	skip_space(c);
	if (c->p >= c->end)
		return fail(c, "the header ends where %s was expected", what);
	if (*c->p != '\'' && *c->p != '"')
		return fail(c, "expected %s as a quoted string", what);
	char q = *c->p++;
	const char *b = c->p;
	while (c->p < c->end && *c->p != q) {
		if (*c->p == '\\' || *c->p == '\n')
			return fail(c, "%s: escapes and line breaks are not expected in a .npy header string", what);
		c->p++;
	}
	if (c->p >= c->end)
		return fail(c, "%s: the string is not closed", what);
	*s = b;
	*n = (size_t)(c->p - b);
	c->p++;
	return 0;
}

static int word_is(const char *s, size_t n, const char *w)
{
	return strlen(w) == n && memcmp(s, w, n) == 0;
}

static int parse_descr(cursor *c, vg_npy *a)
{
	skip_space(c);
	if (c->p < c->end && *c->p == '[')
		return fail(c, "'descr' is a list: structured (record) dtypes are not supported, only plain numeric "
			       "arrays");
	const char *s;
	size_t n;
	if (parse_string(c, &s, &n, "'descr'") < 0)
		return -1;
	/* One byte order mark, one kind letter, the size in bytes. */
	int matched = -1;
	if (n == 3 && (s[0] == '<' || s[0] == '>' || s[0] == '|' || s[0] == '=')) {
		for (int t = 0; t < VG_NPY_DTYPE_COUNT; t++)
			if (s[1] == dtypes[t].kind && s[2] == '0' + dtypes[t].size)
				matched = t;
	}
	if (matched < 0) {
		c->p -= n + 1;
		return fail(c, "'descr' is '%.*s'; supported are <f2 <f4 <f8 |i1 |u1 <i2 <u2 <i4 <u4 <i8 <u8 |b1 "
			       "(or big-endian '>')",
			    (int)(n > 40 ? 40 : n), s);
	}
	a->dtype = (vg_npy_dtype)matched;
	/* '|' means no byte order, which only a one-byte type may say; '=' is the host's (little-endian) order. */
	if (s[0] == '|' && dtypes[matched].size > 1) {
		c->p -= n + 1;
		return fail(c, "'descr' '%.*s' gives no byte order for a %u-byte type", (int)n, s, dtypes[matched].size);
	}
	a->was_big_endian = s[0] == '>' && dtypes[matched].size > 1;
	return 0;
}

static int parse_bool(cursor *c, int *out)
{
	skip_space(c);
	size_t left = (size_t)(c->end - c->p);
	if (left >= 4 && !memcmp(c->p, "True", 4)) {
		*out = 1;
		c->p += 4;
		return 0;
	}
	if (left >= 5 && !memcmp(c->p, "False", 5)) {
		*out = 0;
		c->p += 5;
		return 0;
	}
	return fail(c, "'fortran_order' must be True or False");
}

/* A tuple of non-negative integers: (), (5,), (1, 224, 224, 3). Python 2's writers appended L: (3L, 4L). */
static int parse_shape(cursor *c, vg_npy *a)
{
	if (expect(c, '(', "to open 'shape' (a tuple)") < 0)
		return -1;
	int rank = 0, trailing_comma = 0;
	for (;;) {
		skip_space(c);
		if (c->p < c->end && *c->p == ')') {
			c->p++;
			break;
		}
		if (c->p >= c->end || *c->p < '0' || *c->p > '9')
			return fail(c, "'shape' must hold non-negative whole numbers");
		if (rank == VG_NPY_MAX_RANK)
			return fail(c, "'shape' has more than %d dimensions", VG_NPY_MAX_RANK);
		int64_t v = 0;
		while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
			int digit = *c->p - '0';
			if (v > (INT64_MAX - digit) / 10)
				return fail(c, "dimension %d of 'shape' overflows 64 bits", rank);
			v = v * 10 + digit;
			c->p++;
		}
		if (c->p < c->end && *c->p == 'L')
			c->p++;
		a->shape[rank++] = v;
		skip_space(c);
		trailing_comma = 0;
		if (c->p < c->end && *c->p == ',') {
			c->p++;
			trailing_comma = 1;
		} else if (c->p < c->end && *c->p != ')') {
			return fail(c, "expected ',' or ')' in 'shape'");
		}
	}
	/* (5) is the number 5 in Python, not a tuple. */
	if (rank == 1 && !trailing_comma) {
		c->p--;
		return fail(c, "'shape' (N) is not a tuple: a one-dimensional shape is written (N,)");
	}
	a->rank = rank;
	return 0;
}

/* The dict literal: exactly 'descr', 'fortran_order' and 'shape', each once, in any order. */
static int parse_header(cursor *c, vg_npy *a, int *fortran)
{
	if (expect(c, '{', "at the start of the header (a Python dict)") < 0)
		return -1;
	int seen[3] = { 0, 0, 0 };
	for (;;) {
		skip_space(c);
		if (c->p < c->end && *c->p == '}') {
			c->p++;
			break;
		}
		const char *k;
		size_t kn;
		if (parse_string(c, &k, &kn, "a key") < 0)
			return -1;
		int which = word_is(k, kn, "descr") ? 0 : word_is(k, kn, "fortran_order") ? 1 : word_is(k, kn, "shape") ? 2 : -1;
		if (which < 0) {
			c->p -= kn + 1;
			return fail(c, "unexpected key '%.*s' (a .npy header has 'descr', 'fortran_order' and 'shape')",
				    (int)(kn > 40 ? 40 : kn), k);
		}
		if (seen[which]) {
			c->p -= kn + 1;
			return fail(c, "key '%.*s' given twice", (int)kn, k);
		}
		seen[which] = 1;
		if (expect(c, ':', "after a key") < 0)
			return -1;
		int rc = which == 0 ? parse_descr(c, a) : which == 1 ? parse_bool(c, fortran) : parse_shape(c, a);
		if (rc < 0)
			return -1;
		skip_space(c);
		if (c->p < c->end && *c->p == ',')
			c->p++;
		else if (c->p < c->end && *c->p != '}')
			return fail(c, "expected ',' or '}' after the value of '%.*s'", (int)kn, k);
	}
	static const char *const keys[3] = { "descr", "fortran_order", "shape" };
	for (int i = 0; i < 3; i++)
		if (!seen[i])
			return fail(c, "the key '%s' is missing", keys[i]);
	/* np.save pads with spaces and ends with a newline; nothing else may follow the dict. */
	skip_space(c);
	if (c->p != c->end)
		return fail(c, "unexpected bytes after the dict (only spaces and a newline may pad it)");
	return 0;
}

static void swap_bytes(uint8_t *d, int64_t count, size_t size)
{
	for (int64_t i = 0; i < count; i++, d += size)
		for (size_t a = 0, b = size - 1; a < b; a++, b--) {
			uint8_t t = d[a];
			d[a] = d[b];
			d[b] = t;
		}
}

/* Fortran order (first index fastest) to C order (last index fastest). */
static void fortran_to_c(uint8_t *dst, const uint8_t *src, const int64_t *shape, int rank, int64_t count, size_t size)
{
	int64_t idx[VG_NPY_MAX_RANK] = { 0 }, stride[VG_NPY_MAX_RANK];
	int64_t s = 1;
	for (int k = 0; k < rank; k++) {
		stride[k] = s;
		s *= shape[k];
	}
	int64_t f = 0;
	for (int64_t i = 0; i < count; i++) {
		memcpy(dst + (size_t)i * size, src + (size_t)f * size, size);
		for (int k = rank - 1; k >= 0; k--) {
			idx[k]++;
			f += stride[k];
			if (idx[k] < shape[k])
				break;
			f -= idx[k] * stride[k];
			idx[k] = 0;
		}
	}
}

int vg_npy_parse(vg_npy *out, const void *buf, size_t len, const char *name, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	const uint8_t *b = buf;
	if (!name)
		name = "(memory)";
	if (len < 10 || memcmp(b, magic, sizeof magic) != 0) {
		snprintf(err, errlen, "%s: not a .npy file (it does not start with \\x93NUMPY)", name);
		return -1;
	}
	int major = b[6], minor = b[7];
	if (major < 1 || major > 3 || minor != 0) {
		snprintf(err, errlen, "%s: .npy format version %d.%d; supported are 1.0, 2.0 and 3.0", name, major, minor);
		return -1;
	}
	size_t prefix = major == 1 ? 10 : 12;
	if (len < prefix) {
		snprintf(err, errlen, "%s: .npy header length: the file ends after %zu bytes", name, len);
		return -1;
	}
	uint32_t hlen = major == 1 ? (uint32_t)b[8] | (uint32_t)b[9] << 8
				   : (uint32_t)b[8] | (uint32_t)b[9] << 8 | (uint32_t)b[10] << 16 | (uint32_t)b[11] << 24;
	if (hlen > VG_NPY_MAX_HEADER) {
		snprintf(err, errlen, "%s: .npy header length %" PRIu32 " is past the limit of %u bytes", name, hlen,
			 VG_NPY_MAX_HEADER);
		return -1;
	}
	if (hlen > len - prefix) {
		snprintf(err, errlen, "%s: .npy header length %" PRIu32 " runs past the end of the file (%zu bytes)", name,
			 hlen, len);
		return -1;
	}
	vg_npy a = { .version = major };
	int fortran = 0;
	cursor c = { .p = (const char *)b + prefix, .end = (const char *)b + prefix + hlen, .name = name, .err = err,
		     .errlen = errlen };
	c.start = c.p;
	if (parse_header(&c, &a, &fortran) < 0)
		return -1;

	size_t size = dtypes[a.dtype].size;
	int64_t count = 1;
	for (int i = 0; i < a.rank; i++) {
		if (a.shape[i] != 0 && count > INT64_MAX / a.shape[i]) {
			snprintf(err, errlen, "%s: .npy shape: the element count overflows 64 bits", name);
			return -1;
		}
		count *= a.shape[i];
	}
	size_t have = len - prefix - hlen;
	if ((uint64_t)count > (uint64_t)(SIZE_MAX / size) || (size_t)count * size != have) {
		char dims[160];
		size_t n = 0;
		for (int i = 0; i < a.rank && n < sizeof dims - 24; i++)
			n += (size_t)snprintf(dims + n, sizeof dims - n, "%s%" PRId64, i ? ", " : "", a.shape[i]);
		dims[n] = '\0';
		if ((uint64_t)count > (uint64_t)(SIZE_MAX / size))
			snprintf(err, errlen, "%s: .npy data: shape (%s) of %s is too large", name, dims,
				 dtypes[a.dtype].name);
		else
			snprintf(err, errlen, "%s: .npy data: shape (%s%s) of %s needs %zu bytes, the file has %zu after "
				 "its header", name, dims, a.rank == 1 ? "," : "", dtypes[a.dtype].name,
				 (size_t)count * size, have);
		return -1;
	}
	a.count = count;
	a.data = malloc(have ? have : 1);
	if (!a.data) {
		snprintf(err, errlen, "%s: out of memory for %zu bytes of data", name, have);
		return -1;
	}
	const uint8_t *src = b + prefix + hlen;
	if (fortran && a.rank > 1)
		fortran_to_c(a.data, src, a.shape, a.rank, count, size);
	else
		memcpy(a.data, src, have);
	a.was_fortran = fortran;
	if (a.was_big_endian)
		swap_bytes(a.data, count, size);
	*out = a;
	return 0;
}

int vg_npy_read_file(vg_npy *out, const char *path, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
		fclose(f);
		snprintf(err, errlen, "%s: not a regular file", path);
		return -1;
	}
	if ((unsigned long long)st.st_size > SIZE_MAX / 2) {
		fclose(f);
		snprintf(err, errlen, "%s: file too large", path);
		return -1;
	}
	size_t len = (size_t)st.st_size;
	void *buf = malloc(len ? len : 1);
	if (!buf) {
		fclose(f);
		snprintf(err, errlen, "%s: out of memory reading %zu bytes", path, len);
		return -1;
	}
	size_t got = fread(buf, 1, len, f);
	int bad = ferror(f);
	fclose(f);
	if (got != len || bad) {
		free(buf);
		snprintf(err, errlen, "%s: read %zu of %zu bytes", path, got, len);
		return -1;
	}
	int rc = vg_npy_parse(out, buf, len, path, err, errlen);
	free(buf);
	return rc;
}

size_t vg_npy_header(char *buf, size_t cap, vg_npy_dtype dtype, int rank, const int64_t *shape)
{
	if ((unsigned)dtype >= VG_NPY_DTYPE_COUNT || rank < 0 || rank > VG_NPY_MAX_RANK || (rank && !shape))
		return 0;
	char dict[64 + VG_NPY_MAX_RANK * 22];
	size_t n = (size_t)snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (",
				    descrs[dtype]);
	for (int i = 0; i < rank; i++) {
		if (shape[i] < 0)
			return 0;
		n += (size_t)snprintf(dict + n, sizeof dict - n, "%s%" PRId64, i ? ", " : "", shape[i]);
	}
	n += (size_t)snprintf(dict + n, sizeof dict - n, "%s), }", rank == 1 ? "," : "");
	/* Version 1.0 (its 16-bit header length is plenty for 32 dimensions); the data starts at a multiple of 64. */
	size_t prefix = 10;
	size_t total = (prefix + n + 1 + 63) / 64 * 64;
	if (total > cap)
		return 0;
	size_t hlen = total - prefix;
	memcpy(buf, magic, sizeof magic);
	buf[6] = 1;
	buf[7] = 0;
	buf[8] = (char)(hlen & 0xff);
	buf[9] = (char)(hlen >> 8);
	memcpy(buf + prefix, dict, n);
	memset(buf + prefix + n, ' ', hlen - n - 1);
	buf[total - 1] = '\n';
	return total;
}

int vg_npy_write_file(const char *path, vg_npy_dtype dtype, int rank, const int64_t *shape, const void *data,
		      char *err, size_t errlen)
{
	char head[256 + VG_NPY_MAX_RANK * 22];
	size_t hlen = vg_npy_header(head, sizeof head, dtype, rank, shape);
	if (!hlen) {
		snprintf(err, errlen, "%s: cannot describe this array in a .npy header", path);
		return -1;
	}
	uint64_t count = 1;
	for (int i = 0; i < rank; i++) {
		if (shape[i] != 0 && count > UINT64_MAX / (uint64_t)shape[i]) {
			snprintf(err, errlen, "%s: the array's element count overflows", path);
			return -1;
		}
		count *= (uint64_t)shape[i];
	}
	size_t size = dtypes[dtype].size;
	if (count > SIZE_MAX / size) {
		snprintf(err, errlen, "%s: the array is too large", path);
		return -1;
	}
	FILE *f = fopen(path, "wb");
	if (!f) {
		snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
		return -1;
	}
	size_t bytes = (size_t)count * size;
	int ok = fwrite(head, 1, hlen, f) == hlen && (bytes == 0 || fwrite(data, 1, bytes, f) == bytes);
	int saved = errno;
	if (fclose(f) != 0 && ok) {
		ok = 0;
		saved = errno;
	}
	if (!ok) {
		snprintf(err, errlen, "%s: cannot write: %s", path, strerror(saved));
		return -1;
	}
	return 0;
}

void vg_npy_free(vg_npy *a)
{
	if (!a)
		return;
	free(a->data);
	a->data = NULL;
}
