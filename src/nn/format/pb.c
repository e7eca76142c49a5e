#include "nn/format/pb.h"

#include <string.h>

/* Reads a varint at *p, never past end. */
static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (*p >= end)
			return NN_PB_TRUNCATED;
		uint8_t b = *(*p)++;
		/* The tenth byte may carry only the top bit of 64. */
		if (shift == 63 && b > 1)
			return NN_PB_BAD_VARINT;
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return NN_PB_BAD_VARINT;
}

int nn_pb_read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	return read_varint(p, end, v);
}

static uint64_t read_le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int nn_pb_next(nn_pb *m, nn_pb_field *f)
{
	if (m->p >= m->end)
		return NN_PB_EOF;
	uint64_t key;
	int rc = read_varint(&m->p, m->end, &key);
	if (rc < 0)
		return rc;
	if (key >> 3 == 0 || key >> 3 > 0x1fffffff)
		return NN_PB_BAD_NUMBER;
	memset(f, 0, sizeof *f);
	f->number = (uint32_t)(key >> 3);
	f->wire = (int)(key & 7);
	size_t left = (size_t)(m->end - m->p);
	switch (f->wire) {
	case NN_PB_VARINT:
		return (rc = read_varint(&m->p, m->end, &f->u)) < 0 ? rc : 1;
	case NN_PB_I64:
		if (left < 8)
			return NN_PB_TRUNCATED;
		f->u = read_le(m->p, 8);
		m->p += 8;
		return 1;
	case NN_PB_I32:
		if (left < 4)
			return NN_PB_TRUNCATED;
		f->u = read_le(m->p, 4);
		m->p += 4;
		return 1;
	case NN_PB_LEN: {
		uint64_t len;
		if ((rc = read_varint(&m->p, m->end, &len)) < 0)
			return rc;
		left = (size_t)(m->end - m->p);
		if (len > left)
			return NN_PB_TRUNCATED;
		f->data = m->p;
		f->len = (size_t)len;
		m->p += len;
		return 1;
	}
	default:
		return NN_PB_BAD_WIRE;
	}
}

const char *nn_pb_strerror(int code)
{
	switch (code) {
	case NN_PB_TRUNCATED:
		return "a field runs past the end of its message";
	case NN_PB_BAD_VARINT:
		return "a varint is longer than 64 bits";
	case NN_PB_BAD_WIRE:
		return "a field has a wire type that is not varint, fixed32, fixed64 or length-delimited";
	case NN_PB_BAD_NUMBER:
		return "a field number is 0 or past 2^29";
	default:
		return "malformed protobuf";
	}
}

float nn_pb_float(const nn_pb_field *f)
{
	uint32_t bits = (uint32_t)f->u;
	float v;
	memcpy(&v, &bits, sizeof v);
	return v;
}

double nn_pb_double(const nn_pb_field *f)
{
	double v;
	memcpy(&v, &f->u, sizeof v);
	return v;
}

int64_t nn_pb_packed_varints(const nn_pb_field *f, int64_t *out, int64_t cap)
{
	if (f->wire != NN_PB_LEN)
		return NN_PB_BAD_WIRE;
	const uint8_t *p = f->data, *end = f->data + f->len;
	int64_t n = 0;
	while (p < end) {
		uint64_t v;
		int rc = read_varint(&p, end, &v);
		if (rc < 0)
			return rc;
		if (out && n < cap)
			out[n] = (int64_t)v;
		n++;
	}
	return n;
}

static int64_t packed_fixed(const nn_pb_field *f, int width, void *out, int64_t cap)
{
	if (f->wire != NN_PB_LEN)
		return NN_PB_BAD_WIRE;
	if (f->len % (size_t)width)
		return NN_PB_TRUNCATED;
	int64_t n = (int64_t)(f->len / (size_t)width);
	if (out) {
		int64_t k = n < cap ? n : cap;
		for (int64_t i = 0; i < k; i++) {
			uint64_t v = read_le(f->data + i * width, width);
			if (width == 4)
				((uint32_t *)out)[i] = (uint32_t)v;
			else
				((uint64_t *)out)[i] = v;
		}
	}
	return n;
}

int64_t nn_pb_packed_fixed32(const nn_pb_field *f, uint32_t *out, int64_t cap)
{
	return packed_fixed(f, 4, out, cap);
}

int64_t nn_pb_packed_fixed64(const nn_pb_field *f, uint64_t *out, int64_t cap)
{
	return packed_fixed(f, 8, out, cap);
}

int nn_pb_eq(const nn_pb_field *f, const char *s)
{
	size_t n = strlen(s);
	return f->wire == NN_PB_LEN && f->len == n && !memcmp(f->data, s, n);
}
