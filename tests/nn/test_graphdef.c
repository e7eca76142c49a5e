/*
 * Tests of the TensorFlow GraphDef reader (src/nn/format/graphdef.c): every
 * TensorProto form (tensor_content, each repeated value field packed and
 * one by one, the last value repeated, zeros for none), every AttrValue
 * case, NodeDef and GraphDef, all built here with pb_builder.h; hostile
 * messages (truncation, varint overflow, lengths past the end, bad dtypes,
 * more values than elements, ranks past NN_MAX_RANK, deep nesting, limits),
 * each of which must fail with a message naming the node and the field;
 * and OpenCV's face detector from ../shared/assets, skipped by name when
 * absent.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/format/graphdef.h"
#include "nn/format/pb.h"
#include "nn/nn.h"
#include "graphdef_builder.h"
#include "test.h"

#define DIMS(...) (int)(sizeof((int64_t[]){ __VA_ARGS__ }) / sizeof(int64_t)), (const int64_t[]){ __VA_ARGS__ }

typedef struct rd {
	nn_tf_graph g;
	nn_tf_reader r;
	char err[512];
} rd;

static void rd_init(rd *x)
{
	memset(x, 0, sizeof *x);
	x->r.g = &x->g;
	x->r.source = "t.pb";
	x->r.err = x->err;
	x->r.errlen = sizeof x->err;
}

static void rd_fini(rd *x)
{
	nn_tf_graph_free(&x->g);
}

/* Reads t (and frees it) into *out; returns the reader's code. */
static int read_t(rd *x, pbb *t, nn_tf_tensor *out)
{
	int rc = nn_tf_read_tensor(&x->r, t->p, t->len, "node 'c' attr 'value'", out);
	pbb_free(t);
	return rc;
}

#define CHECK_FAILS(rc, x, text)                                                            \
	do {                                                                                \
		CHECK_MSG((rc) < 0, "expected a failure with \"%s\"", text);                \
		CHECK_MSG(strstr((x)->err, text) != NULL, "message \"%s\" lacks \"%s\"", (x)->err, text); \
		CHECK_MSG(strncmp((x)->err, "t.pb: ", 6) == 0, "message \"%s\" does not name the file", (x)->err); \
	} while (0)

static float f32(const nn_tf_tensor *t, int64_t i)
{
	float v;
	memcpy(&v, (const uint8_t *)t->data + i * 4, 4);
	return v;
}

/* ---- TensorProto forms ---- */

TEST(graphdef_tensor_content)
{
	rd x;
	rd_init(&x);
	float v[6] = { 1, -2, 3.5f, 4, 5, -6.25f };
	pbb t = gd_tensor(1, DIMS(2, 3));
	pbb_bytes(&t, GD_T_CONTENT, v, sizeof v);
	nn_tf_tensor out;
	CHECK_MSG(read_t(&x, &t, &out) == 0, "%s", x.err);
	CHECK(out.dtype == NN_TF_FLOAT && out.rank == 2 && out.dims[0] == 2 && out.dims[1] == 3 && out.elements == 6);
	CHECK(!memcmp(out.data, v, sizeof v));
	CHECK(x.r.total_bytes == 32); /* 24 bytes, rounded up to the arena's alignment */
	rd_fini(&x);
}

TEST(graphdef_tensor_content_borrowed_when_aligned)
{
	rd x;
	rd_init(&x);
	x.r.borrow = 1;
	/* The content starts at offset 2 + tag/length bytes: find where it lands and test both alignments. */
	for (int shift = 0; shift < 4; shift++) {
		pbb t = { 0 };
		pbb_int(&t, GD_T_DTYPE, 1);
		gd_shape(&t, GD_T_SHAPE, DIMS(2));
		for (int i = 0; i < shift; i++)
			pbb_int(&t, 3, 0); /* version_number: two bytes each, moves the content */
		float v[2] = { 7, 8 };
		pbb_bytes(&t, GD_T_CONTENT, v, sizeof v);
		/* A copy at a 16-aligned address so that the content's own alignment is its offset's. */
		uint8_t *buf = aligned_alloc(16, 64);
		memcpy(buf, t.p, t.len);
		nn_tf_tensor out;
		CHECK_MSG(nn_tf_read_tensor(&x.r, buf, t.len, NULL, &out) == 0, "%s", x.err);
		const uint8_t *content = buf + t.len - sizeof v;
		CHECK(f32(&out, 0) == 7 && f32(&out, 1) == 8);
		if ((uintptr_t)content % 4 == 0)
			CHECK(out.data == content);
		else
			CHECK(out.data != content && (uintptr_t)out.data % 4 == 0);
		free(buf);
		pbb_free(&t);
	}
	rd_fini(&x);
}

TEST(graphdef_tensor_float_val_forms)
{
	rd x;
	rd_init(&x);
	nn_tf_tensor out;

	/* Packed, as many values as elements. */
	pbb t = gd_tensor(1, DIMS(3));
	pbb_packed_floats(&t, GD_T_FLOAT, (const float[]){ 1, 2, 3 }, 3);
	CHECK_MSG(read_t(&x, &t, &out) == 0, "%s", x.err);
	CHECK(f32(&out, 0) == 1 && f32(&out, 1) == 2 && f32(&out, 2) == 3);

	/* One by one. */
	t = gd_tensor(1, DIMS(3));
	pbb_float(&t, GD_T_FLOAT, 4);
	pbb_float(&t, GD_T_FLOAT, 5);
	pbb_float(&t, GD_T_FLOAT, 6);
	CHECK_MSG(read_t(&x, &t, &out) == 0, "%s", x.err);
	CHECK(f32(&out, 0) == 4 && f32(&out, 1) == 5 && f32(&out, 2) == 6);

	/* Packed and unpacked runs in one message, in order. */
	t = gd_tensor(1, DIMS(4));
	pbb_packed_floats(&t, GD_T_FLOAT, (const float[]){ 1, 2 }, 2);
	pbb_float(&t, GD_T_FLOAT, 3);
	pbb_packed_floats(&t, GD_T_FLOAT, (const float[]){ 9 }, 1);
	CHECK_MSG(read_t(&x, &t, &out) == 0, "%s", x.err);
	CHECK(f32(&out, 0) == 1 && f32(&out, 1) == 2 && f32(&out, 2) == 3 && f32(&out, 3) == 9);

	/* One value: a scalar broadcast to the shape. */
	t = gd_tensor(1, DIMS(2, 3));
	pbb_float(&t, GD_T_FLOAT, 0.5f);
	CHECK_MSG(read_t(&x, &t, &out) == 0, "%s", x.err);
	CHECK(out.elements == 6);
	for (int i = 0; i < 6; i++)
		CHECK(f32(&out, i) == 0.5f);

	/* Fewer values than elements: the last one fills the rest. */
	t = gd_tensor(1, DIMS(5));
	pbb_packed_floats(&t, GD_T_FLOAT, (const float[]){ 1, 2 }, 2);
	CHECK_MSG(read_t(&x, &t, &out) == 0, "%s", x.err);
	CHECK(f32(&out, 0) == 1 && f32(&out, 1) == 2 && f32(&out, 2) == 2 && f32(&out, 4) == 2);

	/* No values: zeros. */
	t = gd_tensor(1, DIMS(3));
	CHECK_MSG(read_t(&x, &t, &out) == 0, "%s", x.err);
	CHECK(out.data && f32(&out, 0) == 0 && f32(&out, 2) == 0);

	/* No shape: a scalar. */
	t = (pbb){ 0 };
	pbb_int(&t, GD_T_DTYPE, 1);
	pbb_float(&t, GD_T_FLOAT, -3);
	CHECK_MSG(read_t(&x, &t, &out) == 0, "%s", x.err);
	CHECK(out.rank == 0 && out.elements == 1 && f32(&out, 0) == -3);

	/* Zero elements. */
	t = gd_tensor(1, DIMS(0, 4));
	CHECK_MSG(read_t(&x, &t, &out) == 0, "%s", x.err);
	CHECK(out.elements == 0 && out.rank == 2);
	rd_fini(&x);
}

/* Reads a one-field tensor of dtype and rank-1 shape n whose values are given as varints in field. */
static nn_tf_tensor varint_tensor(rd *x, int dtype, uint32_t field, const int64_t *v, int nv, int64_t n, int packed)
{
	pbb t = gd_tensor(dtype, DIMS(n));
	if (packed) {
		pbb_packed_varints(&t, field, v, nv);
	} else {
		for (int i = 0; i < nv; i++)
			pbb_int(&t, field, v[i]);
	}
	nn_tf_tensor out;
	CHECK_MSG(read_t(x, &t, &out) == 0, "dtype %d: %s", dtype, x->err);
	CHECK(out.dtype == (nn_tf_dtype)dtype && out.elements == n && out.data);
	return out;
}

TEST(graphdef_tensor_integer_types)
{
	rd x;
	rd_init(&x);
	for (int packed = 0; packed < 2; packed++) {
		nn_tf_tensor t = varint_tensor(&x, NN_TF_INT32, GD_T_INT, (const int64_t[]){ -5, 70000 }, 2, 3, packed);
		const int32_t *i32 = t.data;
		CHECK(i32[0] == -5 && i32[1] == 70000 && i32[2] == 70000);

		t = varint_tensor(&x, NN_TF_QINT32, GD_T_INT, (const int64_t[]){ -7 }, 1, 2, packed);
		CHECK(((const int32_t *)t.data)[1] == -7);

		t = varint_tensor(&x, NN_TF_INT16, GD_T_INT, (const int64_t[]){ -2, 300 }, 2, 2, packed);
		CHECK(((const int16_t *)t.data)[0] == -2 && ((const int16_t *)t.data)[1] == 300);

		t = varint_tensor(&x, NN_TF_UINT16, GD_T_INT, (const int64_t[]){ 65535 }, 1, 1, packed);
		CHECK(((const uint16_t *)t.data)[0] == 65535);

		t = varint_tensor(&x, NN_TF_QINT16, GD_T_INT, (const int64_t[]){ -300 }, 1, 1, packed);
		CHECK(((const int16_t *)t.data)[0] == -300);

		t = varint_tensor(&x, NN_TF_QUINT16, GD_T_INT, (const int64_t[]){ 40000 }, 1, 1, packed);
		CHECK(((const uint16_t *)t.data)[0] == 40000);

		t = varint_tensor(&x, NN_TF_INT8, GD_T_INT, (const int64_t[]){ -1, 127 }, 2, 4, packed);
		const int8_t *i8 = t.data;
		CHECK(i8[0] == -1 && i8[1] == 127 && i8[3] == 127);

		t = varint_tensor(&x, NN_TF_UINT8, GD_T_INT, (const int64_t[]){ 255, 0 }, 2, 2, packed);
		CHECK(((const uint8_t *)t.data)[0] == 255 && ((const uint8_t *)t.data)[1] == 0);

		t = varint_tensor(&x, NN_TF_QINT8, GD_T_INT, (const int64_t[]){ -128 }, 1, 2, packed);
		CHECK(((const int8_t *)t.data)[0] == -128 && ((const int8_t *)t.data)[1] == -128);

		t = varint_tensor(&x, NN_TF_QUINT8, GD_T_INT, (const int64_t[]){ 200, 17 }, 2, 2, packed);
		CHECK(((const uint8_t *)t.data)[0] == 200 && ((const uint8_t *)t.data)[1] == 17);

		t = varint_tensor(&x, NN_TF_INT64, GD_T_INT64, (const int64_t[]){ -1, INT64_MAX }, 2, 3, packed);
		const int64_t *i64 = t.data;
		CHECK(i64[0] == -1 && i64[1] == INT64_MAX && i64[2] == INT64_MAX);

		t = varint_tensor(&x, NN_TF_UINT32, GD_T_UINT32, (const int64_t[]){ 4000000000 }, 1, 1, packed);
		CHECK(((const uint32_t *)t.data)[0] == 4000000000u);

		t = varint_tensor(&x, NN_TF_UINT64, GD_T_UINT64, (const int64_t[]){ -1 }, 1, 2, packed);
		CHECK(((const uint64_t *)t.data)[1] == UINT64_MAX);

		t = varint_tensor(&x, NN_TF_BOOL, GD_T_BOOL, (const int64_t[]){ 1, 0, 5 }, 3, 4, packed);
		const uint8_t *b = t.data;
		CHECK(b[0] == 1 && b[1] == 0 && b[2] == 1 && b[3] == 1);

		/* float16 bits in half_val: 1.0 is 0x3c00, -2.0 is 0xc000. */
		t = varint_tensor(&x, NN_TF_HALF, GD_T_HALF, (const int64_t[]){ 0x3c00, 0xc000 }, 2, 3, packed);
		const uint16_t *h = t.data;
		CHECK(h[0] == 0x3c00 && h[1] == 0xc000 && h[2] == 0xc000);

		/* bfloat16 bits in half_val too: 1.0 is 0x3f80. */
		t = varint_tensor(&x, NN_TF_BFLOAT16, GD_T_HALF, (const int64_t[]){ 0x3f80 }, 1, 2, packed);
		CHECK(((const uint16_t *)t.data)[0] == 0x3f80 && ((const uint16_t *)t.data)[1] == 0x3f80);
	}
	rd_fini(&x);
}

TEST(graphdef_tensor_double_and_string)
{
	rd x;
	rd_init(&x);
	nn_tf_tensor out;
	pbb t = gd_tensor(NN_TF_DOUBLE, DIMS(3));
	pbb_packed_doubles(&t, GD_T_DOUBLE, (const double[]){ 1e300, -0.125 }, 2);
	CHECK_MSG(read_t(&x, &t, &out) == 0, "%s", x.err);
	const double *d = out.data;
	CHECK(d[0] == 1e300 && d[1] == -0.125 && d[2] == -0.125);

	t = gd_tensor(NN_TF_DOUBLE, DIMS(2));
	pbb_double(&t, GD_T_DOUBLE, 2.5);
	pbb_double(&t, GD_T_DOUBLE, 3.5);
	CHECK_MSG(read_t(&x, &t, &out) == 0, "%s", x.err);
	CHECK(((const double *)out.data)[1] == 3.5);

	t = gd_tensor(NN_TF_STRING, DIMS(3));
	pbb_str(&t, GD_T_STRING, "ab");
	pbb_bytes(&t, GD_T_STRING, "c\0d", 3);
	CHECK_MSG(read_t(&x, &t, &out) == 0, "%s", x.err);
	const nn_tf_string *s = out.data;
	CHECK(s[0].len == 2 && !memcmp(s[0].s, "ab", 2));
	CHECK(s[1].len == 3 && !memcmp(s[1].s, "c\0d", 3));
	CHECK(s[2].len == 3 && s[2].s == s[1].s);

	/* No values: empty strings, never NULL. */
	t = gd_tensor(NN_TF_STRING, DIMS(2));
	CHECK_MSG(read_t(&x, &t, &out) == 0, "%s", x.err);
	s = out.data;
	CHECK(s[0].s && s[0].len == 0 && s[1].s && !strcmp(s[1].s, ""));
	rd_fini(&x);
}

TEST(graphdef_tensor_unheld_dtypes_keep_shape)
{
	rd x;
	rd_init(&x);
	nn_tf_tensor out;
	/* complex64 (8), resource (20), variant (21): dtype and shape, no values. */
	int dts[] = { 8, 18, 20, 21, 24, 29 };
	for (size_t i = 0; i < sizeof dts / sizeof dts[0]; i++) {
		pbb t = gd_tensor(dts[i], DIMS(2, 2));
		pbb_packed_floats(&t, GD_T_SCOMPLEX, (const float[]){ 1, 2 }, 2);
		CHECK_MSG(read_t(&x, &t, &out) == 0, "dtype %d: %s", dts[i], x.err);
		CHECK(out.dtype == (nn_tf_dtype)dts[i] && out.elements == 4 && out.data == NULL);
	}
	rd_fini(&x);
}

/* ---- bad tensors ---- */

TEST(graphdef_tensor_errors)
{
	rd x;
	rd_init(&x);
	nn_tf_tensor out;

	pbb t = gd_tensor(1, DIMS(2));
	pbb_packed_floats(&t, GD_T_FLOAT, (const float[]){ 1, 2, 3 }, 3);
	CHECK_FAILS(read_t(&x, &t, &out), &x, "3 values in float_val for a tensor of 2 elements");
	CHECK(strstr(x.err, "node 'c' attr 'value'"));

	t = gd_tensor(1, DIMS(2));
	pbb_packed_varints(&t, GD_T_INT, (const int64_t[]){ 1, 2 }, 2);
	CHECK_FAILS(read_t(&x, &t, &out), &x, "a float tensor with values in int_val (its values belong in float_val)");

	t = gd_tensor(99, DIMS(2));
	CHECK_FAILS(read_t(&x, &t, &out), &x, "dtype 99 is not a TensorFlow DataType");

	t = gd_tensor(0, DIMS(2));
	CHECK_FAILS(read_t(&x, &t, &out), &x, "dtype 0 is not a TensorFlow DataType");

	t = gd_tensor(1, DIMS(2, 2));
	pbb_bytes(&t, GD_T_CONTENT, "12345678", 8);
	CHECK_FAILS(read_t(&x, &t, &out), &x, "tensor_content has 8 bytes, expected 16 (4 float elements of 4 bytes)");

	t = gd_tensor(1, DIMS(1, 1, 1, 1, 1, 1, 1));
	int rc = read_t(&x, &t, &out);
	CHECK_FAILS(rc, &x, "more than 6 dimensions");
	CHECK(rc == NN_ERR_UNSUPPORTED);

	t = gd_tensor(1, DIMS(2, -1));
	CHECK_FAILS(read_t(&x, &t, &out), &x, "unknown dimension 1");

	t = gd_tensor(1, DIMS(-2));
	CHECK_FAILS(read_t(&x, &t, &out), &x, "dimension 0 is -2");

	t = (pbb){ 0 };
	pbb_int(&t, GD_T_DTYPE, 1);
	{
		pbb s = { 0 };
		pbb_int(&s, 3, 1);
		pbb_msg(&t, GD_T_SHAPE, &s);
	}
	CHECK_FAILS(read_t(&x, &t, &out), &x, "a constant tensor of unknown rank");

	/* 2^31 * 2^31 * 2^31 elements overflow any size. */
	t = gd_tensor(1, DIMS((int64_t)1 << 31, (int64_t)1 << 31, (int64_t)1 << 31));
	CHECK_FAILS(read_t(&x, &t, &out), &x, "more than 2^62 elements");

	/* 2^29 floats are 2 GiB: at the limit; one more element is past it (refused before any allocation). */
	t = gd_tensor(1, DIMS(((int64_t)1 << 29) + 1));
	pbb_float(&t, GD_T_FLOAT, 1);
	CHECK_FAILS(read_t(&x, &t, &out), &x, "more than the 2147483648 bytes a tensor may have");

	/* The reader's own limits. */
	x.r.max_tensor_bytes = 64;
	t = gd_tensor(1, DIMS(17));
	pbb_float(&t, GD_T_FLOAT, 1);
	CHECK_FAILS(read_t(&x, &t, &out), &x, "more than the 64 bytes");
	x.r.max_tensor_bytes = 0;
	x.r.max_total_bytes = 100;
	x.r.total_bytes = 0;
	t = gd_tensor(1, DIMS(16));
	CHECK(read_t(&x, &t, &out) == 0);
	t = gd_tensor(1, DIMS(16));
	int rc2 = read_t(&x, &t, &out);
	CHECK_FAILS(rc2, &x, "the graph takes more than the 100 bytes a reader may allocate");
	CHECK(rc2 == NN_ERR_NOMEM);
	x.r.max_total_bytes = 0;

	/* A packed fixed32 run that does not divide into whole floats. */
	t = gd_tensor(1, DIMS(2));
	pbb_bytes(&t, GD_T_FLOAT, "\0\0\x80\x3f\0", 5);
	CHECK_FAILS(read_t(&x, &t, &out), &x, "float_val: a field runs past the end");

	/* float_val written as a varint. */
	t = gd_tensor(1, DIMS(2));
	pbb_int(&t, GD_T_FLOAT, 1);
	CHECK_FAILS(read_t(&x, &t, &out), &x, "field float_val is neither fixed32 nor packed");

	/* dtype written as a string. */
	t = (pbb){ 0 };
	pbb_str(&t, GD_T_DTYPE, "float");
	CHECK_FAILS(read_t(&x, &t, &out), &x, "field dtype (1) is length-delimited, expected varint");
	rd_fini(&x);
}

TEST(graphdef_wire_errors)
{
	rd x;
	rd_init(&x);
	nn_tf_tensor out;
	/* A varint of eleven bytes. */
	pbb t = { 0 };
	pbb_tag(&t, GD_T_DTYPE, 0);
	pbb_raw(&t, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11);
	CHECK_FAILS(read_t(&x, &t, &out), &x, "a varint is longer than 64 bits");

	/* A length past the end of the message. */
	t = (pbb){ 0 };
	pbb_int(&t, GD_T_DTYPE, 1);
	pbb_tag(&t, GD_T_CONTENT, 2);
	pbb_varint(&t, 1000);
	pbb_raw(&t, "abcd", 4);
	CHECK_FAILS(read_t(&x, &t, &out), &x, "a field runs past the end of its message (in a TensorProto)");

	/* A length of 2^63. */
	t = (pbb){ 0 };
	pbb_tag(&t, GD_T_CONTENT, 2);
	pbb_varint(&t, (uint64_t)1 << 63);
	CHECK_FAILS(read_t(&x, &t, &out), &x, "runs past the end");

	/* A group (wire type 3). */
	t = (pbb){ 0 };
	pbb_tag(&t, 7, 3);
	CHECK_FAILS(read_t(&x, &t, &out), &x, "wire type");

	/* Field number 0. */
	t = (pbb){ 0 };
	pbb_raw(&t, "\x02\x00", 2);
	CHECK_FAILS(read_t(&x, &t, &out), &x, "field number is 0");

	/* A varint cut short inside a packed run. */
	t = gd_tensor(NN_TF_INT32, DIMS(2));
	pbb_bytes(&t, GD_T_INT, "\x01\x80", 2);
	CHECK_FAILS(read_t(&x, &t, &out), &x, "int_val");
	rd_fini(&x);
}

/* ---- attrs ---- */

static int read_n(rd *x, pbb *n, nn_tf_node *out)
{
	int rc = nn_tf_read_node(&x->r, n->p, n->len, out);
	pbb_free(n);
	return rc;
}

TEST(graphdef_node_and_scalar_attrs)
{
	rd x;
	rd_init(&x);
	/* The attrs before the name on the wire: messages must still name the node. */
	pbb n = { 0 };
	pbb v = { 0 };
	pbb_int(&v, GD_A_I, -3);
	gd_attr(&n, "i", &v);
	pbb_str(&n, 1, "conv/1");
	pbb_str(&n, 2, "Conv2D");
	pbb_str(&n, 3, "input");
	pbb_str(&n, 3, "w:1");
	pbb_str(&n, 3, "^ctl");
	pbb_str(&n, 4, "/device:CPU:0");
	pbb_str(&v, GD_A_S, "SAME");
	gd_attr(&n, "padding", &v);
	pbb_bytes(&v, GD_A_S, "\x00\xff", 2);
	gd_attr(&n, "bytes", &v);
	pbb_float(&v, GD_A_F, 0.25f);
	gd_attr(&n, "epsilon", &v);
	pbb_int(&v, GD_A_B, 1);
	gd_attr(&n, "flag", &v);
	pbb_int(&v, GD_A_TYPE, NN_TF_QUINT8);
	gd_attr(&n, "T", &v);
	gd_shape(&v, GD_A_SHAPE, DIMS(-1, 300, 300, 3));
	gd_attr(&n, "shape", &v);
	{
		pbb s = { 0 };
		pbb_int(&s, 3, 1);
		pbb_msg(&v, GD_A_SHAPE, &s);
	}
	gd_attr(&n, "unknown_shape", &v);
	pbb_str(&v, GD_A_PLACEHOLDER, "dt");
	gd_attr(&n, "ph", &v);
	gd_attr(&n, "empty", &v); /* an AttrValue with nothing set */
	/* A map entry repeated: the later one wins, as in protobuf maps. */
	pbb_int(&v, GD_A_I, 7);
	gd_attr(&n, "i", &v);
	{
		pbb t = gd_tensor(1, DIMS(1));
		pbb_float(&t, GD_T_FLOAT, 9);
		pbb_msg(&v, GD_A_TENSOR, &t);
	}
	gd_attr(&n, "value", &v);

	nn_tf_node nd;
	CHECK_MSG(read_n(&x, &n, &nd) == 0, "%s", x.err);
	CHECK(!strcmp(nd.name, "conv/1") && !strcmp(nd.op, "Conv2D"));
	CHECK(nd.n_inputs == 3 && !strcmp(nd.inputs[0], "input") && !strcmp(nd.inputs[1], "w:1") &&
	      !strcmp(nd.inputs[2], "^ctl"));
	CHECK_MSG(nd.n_attrs == 11, "%d attrs", nd.n_attrs);
	const nn_tf_attr *a = nn_tf_node_attr(&nd, "i");
	CHECK(a && a->kind == NN_TF_ATTR_INT && a->i == 7);
	a = nn_tf_node_attr(&nd, "padding");
	CHECK(a && a->kind == NN_TF_ATTR_STRING && a->s_len == 4 && !strcmp(a->s, "SAME"));
	a = nn_tf_node_attr(&nd, "bytes");
	CHECK(a && a->kind == NN_TF_ATTR_STRING && a->s_len == 2 && (uint8_t)a->s[1] == 0xff);
	a = nn_tf_node_attr(&nd, "epsilon");
	CHECK(a && a->kind == NN_TF_ATTR_FLOAT && a->f == 0.25);
	a = nn_tf_node_attr(&nd, "flag");
	CHECK(a && a->kind == NN_TF_ATTR_BOOL && a->b == 1);
	a = nn_tf_node_attr(&nd, "T");
	CHECK(a && a->kind == NN_TF_ATTR_TYPE && a->type == NN_TF_QUINT8);
	a = nn_tf_node_attr(&nd, "shape");
	CHECK(a && a->kind == NN_TF_ATTR_SHAPE && a->rank == 4 && a->dims[0] == -1 && a->dims[1] == 300 &&
	      a->dims[3] == 3);
	a = nn_tf_node_attr(&nd, "unknown_shape");
	CHECK(a && a->kind == NN_TF_ATTR_SHAPE && a->rank == -1);
	a = nn_tf_node_attr(&nd, "ph");
	CHECK(a && a->kind == NN_TF_ATTR_PLACEHOLDER && !strcmp(a->s, "dt"));
	a = nn_tf_node_attr(&nd, "empty");
	CHECK(a && a->kind == NN_TF_ATTR_LIST && a->n == 0);
	a = nn_tf_node_attr(&nd, "value");
	CHECK(a && a->kind == NN_TF_ATTR_TENSOR && a->tensor->elements == 1 && f32(a->tensor, 0) == 9);
	rd_fini(&x);
}

TEST(graphdef_list_attrs)
{
	rd x;
	rd_init(&x);
	pbb n = gd_node("n", "Op");
	pbb v = { 0 }, l = { 0 };

	pbb_packed_varints(&l, 3, (const int64_t[]){ 1, 2 }, 2);
	pbb_int(&l, 3, -4); /* an unpacked value after a packed run */
	pbb_msg(&v, GD_A_LIST, &l);
	gd_attr(&n, "ints", &v);

	pbb_packed_floats(&l, 4, (const float[]){ 0.5f, 1.5f }, 2);
	pbb_msg(&v, GD_A_LIST, &l);
	gd_attr(&n, "floats", &v);

	pbb_int(&l, 5, 1);
	pbb_int(&l, 5, 0);
	pbb_msg(&v, GD_A_LIST, &l);
	gd_attr(&n, "bools", &v);

	pbb_packed_varints(&l, 6, (const int64_t[]){ NN_TF_FLOAT, NN_TF_INT32 }, 2);
	pbb_msg(&v, GD_A_LIST, &l);
	gd_attr(&n, "types", &v);

	pbb_str(&l, 2, "BiasAdd");
	pbb_str(&l, 2, "Relu");
	pbb_msg(&v, GD_A_LIST, &l);
	gd_attr(&n, "strings", &v);

	gd_shape(&l, 7, DIMS(1, 2));
	gd_shape(&l, 7, DIMS(-1));
	pbb_msg(&v, GD_A_LIST, &l);
	gd_attr(&n, "shapes", &v);

	{
		pbb t = gd_tensor(NN_TF_INT32, DIMS(2));
		pbb_packed_varints(&t, GD_T_INT, (const int64_t[]){ 5, 6 }, 2);
		pbb_msg(&l, 8, &t);
	}
	pbb_msg(&v, GD_A_LIST, &l);
	gd_attr(&n, "tensors", &v);

	{
		pbb fn = { 0 };
		pbb_str(&fn, 1, "f1");
		pbb_msg(&l, 9, &fn);
		pbb_str(&fn, 1, "f2");
		pbb_msg(&l, 9, &fn);
	}
	pbb_msg(&v, GD_A_LIST, &l);
	gd_attr(&n, "funcs", &v);

	pbb_msg(&v, GD_A_LIST, &l); /* an empty list */
	gd_attr(&n, "none", &v);

	nn_tf_node nd;
	CHECK_MSG(read_n(&x, &n, &nd) == 0, "%s", x.err);
	const nn_tf_attr *a = nn_tf_node_attr(&nd, "ints");
	CHECK(a && a->kind == NN_TF_ATTR_LIST && a->list_kind == NN_TF_ATTR_INT && a->n == 3);
	CHECK(a->ints[0] == 1 && a->ints[1] == 2 && a->ints[2] == -4);
	a = nn_tf_node_attr(&nd, "floats");
	CHECK(a && a->list_kind == NN_TF_ATTR_FLOAT && a->n == 2 && a->floats[1] == 1.5);
	a = nn_tf_node_attr(&nd, "bools");
	CHECK(a && a->list_kind == NN_TF_ATTR_BOOL && a->n == 2 && a->ints[0] == 1 && a->ints[1] == 0);
	a = nn_tf_node_attr(&nd, "types");
	CHECK(a && a->list_kind == NN_TF_ATTR_TYPE && a->n == 2 && a->types[1] == NN_TF_INT32);
	a = nn_tf_node_attr(&nd, "strings");
	CHECK(a && a->list_kind == NN_TF_ATTR_STRING && a->n == 2 && !strcmp(a->strings[1], "Relu") &&
	      a->string_lens[0] == 7);
	a = nn_tf_node_attr(&nd, "shapes");
	CHECK(a && a->list_kind == NN_TF_ATTR_SHAPE && a->n == 2 && a->ranks[0] == 2 && a->shape_dims[0][1] == 2 &&
	      a->ranks[1] == 1 && a->shape_dims[1][0] == -1);
	a = nn_tf_node_attr(&nd, "tensors");
	CHECK(a && a->list_kind == NN_TF_ATTR_TENSOR && a->n == 1 && a->tensors[0].elements == 2 &&
	      ((const int32_t *)a->tensors[0].data)[1] == 6);
	a = nn_tf_node_attr(&nd, "funcs");
	CHECK(a && a->list_kind == NN_TF_ATTR_FUNC && a->n == 2 && !strcmp(a->strings[1], "f2"));
	a = nn_tf_node_attr(&nd, "none");
	CHECK(a && a->kind == NN_TF_ATTR_LIST && a->n == 0);
	rd_fini(&x);
}

/* A func attr whose NameAttrList holds a func attr, depth deep. */
static void nested_func(pbb *v, int depth)
{
	pbb fn = { 0 };
	pbb_str(&fn, 1, "f");
	if (depth > 0) {
		pbb inner = { 0 };
		nested_func(&inner, depth - 1);
		pbb e = { 0 };
		pbb_str(&e, 1, "g");
		pbb_msg(&e, 2, &inner);
		pbb_msg(&fn, 2, &e);
	}
	pbb_msg(v, GD_A_FUNC, &fn);
}

TEST(graphdef_func_attrs_and_depth)
{
	rd x;
	rd_init(&x);
	pbb n = gd_node("call", "StatefulPartitionedCall");
	pbb v = { 0 };
	{
		pbb fn = { 0 };
		pbb_str(&fn, 1, "__inference_f_12");
		pbb e = { 0 }, ev = { 0 };
		pbb_int(&ev, GD_A_TYPE, NN_TF_FLOAT);
		pbb_str(&e, 1, "T");
		pbb_msg(&e, 2, &ev);
		pbb_msg(&fn, 2, &e);
		pbb_msg(&v, GD_A_FUNC, &fn);
	}
	gd_attr(&n, "f", &v);
	nn_tf_node nd;
	CHECK_MSG(read_n(&x, &n, &nd) == 0, "%s", x.err);
	const nn_tf_attr *a = nn_tf_node_attr(&nd, "f");
	CHECK(a && a->kind == NN_TF_ATTR_FUNC && !strcmp(a->s, "__inference_f_12") && a->n_func_attrs == 1);
	CHECK(!strcmp(a->func_attrs[0].name, "T") && a->func_attrs[0].kind == NN_TF_ATTR_TYPE &&
	      a->func_attrs[0].type == NN_TF_FLOAT);

	/* NN_TF_MAX_DEPTH levels read; deeper is refused with a message. */
	n = gd_node("deep", "Op");
	nested_func(&v, NN_TF_MAX_DEPTH - 1);
	gd_attr(&n, "f", &v);
	CHECK_MSG(read_n(&x, &n, &nd) == 0, "%s", x.err);

	n = gd_node("deeper", "Op");
	nested_func(&v, 200);
	gd_attr(&n, "f", &v);
	CHECK_FAILS(read_n(&x, &n, &nd), &x, "attrs nested more than 16 deep");
	CHECK(strstr(x.err, "node 'deeper' attr 'f' attr 'g'"));
	rd_fini(&x);
}

/* Everything the reader allocates counts against its budget: 2-byte empty shapes cannot become megabytes. */
TEST(graphdef_allocation_budget)
{
	rd x;
	rd_init(&x);
	x.r.max_total_bytes = 64 << 10;
	pbb n = gd_node("n", "Op"), v = { 0 }, l = { 0 };
	for (int i = 0; i < 20000; i++)
		pbb_bytes(&l, 7, "", 0);
	pbb_msg(&v, GD_A_LIST, &l);
	gd_attr(&n, "_output_shapes", &v);
	nn_tf_node nd;
	CHECK_FAILS(read_n(&x, &n, &nd), &x, "node 'n' attr '_output_shapes': the graph takes more than the 65536 bytes");
	CHECK(x.r.total_bytes <= 64 << 10);
	/* 1000 of them fit, and read as shapes of rank 0. */
	x.r.total_bytes = 0;
	n = gd_node("n", "Op");
	for (int i = 0; i < 1000; i++)
		pbb_bytes(&l, 7, "", 0);
	pbb_msg(&v, GD_A_LIST, &l);
	gd_attr(&n, "_output_shapes", &v);
	CHECK_MSG(read_n(&x, &n, &nd) == 0, "%s", x.err);
	CHECK(nd.attrs[0].n == 1000 && nd.attrs[0].ranks[999] == 0);
	rd_fini(&x);
}

TEST(graphdef_node_errors)
{
	rd x;
	rd_init(&x);
	nn_tf_node nd;
	pbb n = { 0 };
	pbb_str(&n, 2, "Const");
	CHECK_FAILS(read_n(&x, &n, &nd), &x, "a node with no name");

	n = (pbb){ 0 };
	pbb_str(&n, 1, "c");
	CHECK_FAILS(read_n(&x, &n, &nd), &x, "node 'c': no op");

	n = gd_node("c", "Const");
	pbb_bytes(&n, 3, "a\0b", 3);
	CHECK_FAILS(read_n(&x, &n, &nd), &x, "node 'c': an input is a string with a NUL byte in it");

	n = gd_node("c", "Const");
	pbb_str(&n, 3, "");
	CHECK_FAILS(read_n(&x, &n, &nd), &x, "an input is empty");

	n = gd_node("c", "Const");
	pbb_int(&n, 4, 1);
	CHECK_FAILS(read_n(&x, &n, &nd), &x, "field device (4) is varint, expected length-delimited");

	/* An attr entry with no key. */
	n = gd_node("c", "Const");
	{
		pbb e = { 0 }, v = { 0 };
		pbb_int(&v, GD_A_I, 1);
		pbb_msg(&e, 2, &v);
		pbb_msg(&n, 5, &e);
	}
	CHECK_FAILS(read_n(&x, &n, &nd), &x, "node 'c': an attr with no name");

	/* A list of two kinds. */
	n = gd_node("c", "Const");
	{
		pbb v = { 0 }, l = { 0 };
		pbb_int(&l, 3, 1);
		pbb_float(&l, 4, 1);
		pbb_msg(&v, GD_A_LIST, &l);
		gd_attr(&n, "mixed", &v);
	}
	CHECK_FAILS(read_n(&x, &n, &nd), &x, "node 'c' attr 'mixed': a list with both list.i and list.f values");

	/* A shape attr of rank 7. */
	n = gd_node("c", "Placeholder");
	{
		pbb v = { 0 };
		gd_shape(&v, GD_A_SHAPE, DIMS(1, 1, 1, 1, 1, 1, 1));
		gd_attr(&n, "shape", &v);
	}
	CHECK_FAILS(read_n(&x, &n, &nd), &x, "node 'c' attr 'shape': a shape of more than 6 dimensions");

	/* A type past int. */
	n = gd_node("c", "Const");
	{
		pbb v = { 0 };
		pbb_int(&v, GD_A_TYPE, (int64_t)1 << 40);
		gd_attr(&n, "T", &v);
	}
	CHECK_FAILS(read_n(&x, &n, &nd), &x, "node 'c' attr 'T': type 1099511627776 is not a TensorFlow DataType");

	/* A bad tensor inside an attr names the node and the attr. */
	n = gd_node("weights", "Const");
	{
		pbb v = { 0 }, t = gd_tensor(NN_TF_QUINT8, DIMS(2));
		pbb_packed_varints(&t, GD_T_INT, (const int64_t[]){ 1, 2, 3 }, 3);
		pbb_msg(&v, GD_A_TENSOR, &t);
		gd_attr(&n, "value", &v);
	}
	CHECK_FAILS(read_n(&x, &n, &nd), &x, "node 'weights' attr 'value': 3 values in int_val for a tensor of 2 elements");
	rd_fini(&x);
}

/* ---- graphs ---- */

/* Placeholder -> Relu, with a float Const. */
static pbb small_graph(void)
{
	pbb g = { 0 };
	pbb n = gd_node("x", "Placeholder"), v = { 0 };
	pbb_int(&v, GD_A_TYPE, NN_TF_FLOAT);
	gd_attr(&n, "dtype", &v);
	gd_shape(&v, GD_A_SHAPE, DIMS(1, -1, -1, 3));
	gd_attr(&n, "shape", &v);
	pbb_msg(&g, 1, &n);
	n = gd_node("c", "Const");
	{
		pbb t = gd_tensor(NN_TF_FLOAT, DIMS(3));
		pbb_packed_floats(&t, GD_T_FLOAT, (const float[]){ 1, 2, 3 }, 3);
		pbb_msg(&v, GD_A_TENSOR, &t);
	}
	gd_attr(&n, "value", &v);
	pbb_int(&v, GD_A_TYPE, NN_TF_FLOAT);
	gd_attr(&n, "dtype", &v);
	pbb_msg(&g, 1, &n);
	n = gd_node("y", "Add");
	pbb_str(&n, 3, "x");
	pbb_str(&n, 3, "c");
	pbb_msg(&g, 1, &n);
	pbb lib = { 0 };
	pbb_str(&lib, 1, "library bytes");
	pbb_msg(&g, 2, &lib);
	pbb ver = { 0 };
	pbb_int(&ver, 1, 27);
	pbb_msg(&g, 4, &ver);
	return g;
}

TEST(graphdef_graph)
{
	rd x;
	rd_init(&x);
	pbb g = small_graph();
	CHECK(nn_graphdef_sniff(g.p, g.len));
	nn_graphdef_info info;
	CHECK_MSG(nn_graphdef_read(&x.r, g.p, g.len, &info) == 0, "%s", x.err);
	CHECK(x.g.n_nodes == 3);
	CHECK(!strcmp(x.g.nodes[0].name, "x") && !strcmp(x.g.nodes[2].op, "Add") && x.g.nodes[2].n_inputs == 2);
	CHECK(info.producer == 27 && info.library_len == 15 && info.library == g.p + g.len - 4 - 15);
	const nn_tf_attr *a = nn_tf_node_attr(&x.g.nodes[1], "value");
	CHECK(a && a->tensor->elements == 3 && f32(a->tensor, 2) == 3);
	pbb_free(&g);
	rd_fini(&x);

	/* Not GraphDefs: a SavedModel (schema version first), a TFLite file, nothing. */
	CHECK(!nn_graphdef_sniff("\x08\x01\x12\x00", 4));
	CHECK(!nn_graphdef_sniff("\x1c\0\0\0TFL3", 8));
	CHECK(!nn_graphdef_sniff("", 0));
	CHECK(!nn_graphdef_sniff("\x0a\x05", 2));
}

TEST(graphdef_graph_errors)
{
	rd x;
	rd_init(&x);
	pbb g = small_graph();
	pbb n = gd_node("y", "Relu");
	pbb_msg(&g, 1, &n);
	CHECK_FAILS(nn_graphdef_read(&x.r, g.p, g.len, NULL), &x, "two nodes are called 'y'");
	pbb_free(&g);

	g = (pbb){ 0 };
	pbb_int(&g, 1, 5);
	CHECK_FAILS(nn_graphdef_read(&x.r, g.p, g.len, NULL), &x, "GraphDef: field node (1) is varint");
	pbb_free(&g);

	/* A node without a name is named by its place. */
	g = small_graph();
	n = (pbb){ 0 };
	pbb_str(&n, 2, "Relu");
	pbb_msg(&g, 1, &n);
	CHECK_FAILS(nn_graphdef_read(&x.r, g.p, g.len, NULL), &x, "node 3: a node with no name");
	pbb_free(&g);
	rd_fini(&x);
}

/* Every prefix and every single-bit flip of a graph: 0 or an error with a message, never a crash. */
TEST(graphdef_truncated_and_flipped)
{
	pbb g = small_graph();
	int truncated_fail = 0;
	for (size_t len = 0; len < g.len; len++) {
		rd x;
		rd_init(&x);
		uint8_t *copy = malloc(len ? len : 1); /* exactly len bytes, so that ASan sees any overread */
		memcpy(copy, g.p, len);
		int rc = nn_graphdef_read(&x.r, copy, len, NULL);
		if (rc < 0) {
			CHECK_MSG(strncmp(x.err, "t.pb: ", 6) == 0, "prefix %zu: \"%s\"", len, x.err);
			truncated_fail++;
		}
		free(copy);
		rd_fini(&x);
	}
	/* Cutting inside a node or the versions leaves a length past the end. */
	CHECK_MSG(truncated_fail > (int)g.len / 2, "%d of %zu prefixes failed", truncated_fail, g.len);
	{
		rd x;
		rd_init(&x);
		CHECK_FAILS(nn_graphdef_read(&x.r, g.p, g.len - 1, NULL), &x, "runs past the end");
		rd_fini(&x);
	}
	for (size_t i = 0; i < g.len * 8; i++) {
		rd x;
		rd_init(&x);
		uint8_t *copy = malloc(g.len);
		memcpy(copy, g.p, g.len);
		copy[i / 8] ^= (uint8_t)(1u << (i % 8));
		x.r.max_total_bytes = 1 << 20;
		if (nn_graphdef_read(&x.r, copy, g.len, NULL) < 0)
			CHECK_MSG(x.err[0] && strncmp(x.err, "t.pb: ", 6) == 0, "flip %zu: \"%s\"", i, x.err);
		free(copy);
		rd_fini(&x);
	}
	pbb_free(&g);
}

/* nn_model_load finds a GraphDef by its content, whatever the file's name, and says what it needs. */
TEST(graphdef_model_load_dispatch)
{
	char path[] = "/tmp/vigil-graphdef-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	pbb g = { 0 };
	gd_placeholder(&g, "image", GD_FLOAT, 4, (const int64_t[]){ -1, -1, -1, 3 });
	pbb n = gd_node("y", "Relu");
	gd_input(&n, "image");
	gd_add(&g, &n);
	CHECK(write(fd, g.p, g.len) == (ssize_t)g.len);
	close(fd);
	pbb_free(&g);
	nn_model *m = NULL;
	char err[512];
	CHECK(nn_model_load(&m, path, err, sizeof err) == NN_ERR_SHAPE && !m);
	CHECK_MSG(strstr(err, path) && strstr(err, "input 'image' has no fixed size: give it with --input-size WxH"),
		  "%s", err);
	/* With a size the reader hands the graph on (what the builder makes of it is tested with tf_ops). */
	nn_load_options lo = { .input_w = 32, .input_h = 16 };
	int rc = nn_model_load_ex(&m, path, &lo, err, sizeof err);
	CHECK_MSG(!strstr(err, "no fixed size"), "%s", err);
	nn_model_free(m);
	unlink(path);

	/* A .pb that is no GraphDef: a SavedModel's first bytes (schema version). */
	char pb[] = "/tmp/vigil-graphdef-XXXXXX.pb";
	fd = mkstemps(pb, 3);
	CHECK(fd >= 0);
	CHECK(write(fd, "\x08\x01\x12\x00", 4) == 4);
	close(fd);
	CHECK(nn_model_load(&m, pb, err, sizeof err) == NN_ERR_FORMAT);
	CHECK_MSG(strstr(err, "not a frozen TensorFlow GraphDef"), "%s", err);
	unlink(pb);
	(void)rc;
}

/*
 * A GraphDef through the whole engine: an input of unknown size given by
 * nn_load_options, a 1x1 convolution whose filter comes as tensor_content
 * and whose bias is one float_val broadcast, then Relu. Expected values
 * worked out by a loop here.
 */
TEST(graphdef_runs_through_the_engine)
{
	char path[] = "/tmp/vigil-graphdef-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	const float w[3 * 2] = { 1, -1, 0.5f, 2, -0.25f, 0 }; /* HWIO [1, 1, 3, 2] */
	const float bias = -0.5f;
	pbb g = { 0 };
	gd_placeholder(&g, "image", GD_FLOAT, 4, (const int64_t[]){ -1, -1, -1, 3 });
	gd_const_f32(&g, "w", DIMS(1, 1, 3, 2), w, 6);
	gd_const_f32(&g, "b", DIMS(2), &bias, 1);
	pbb n = gd_node("conv", "Conv2D");
	gd_input(&n, "image");
	gd_input(&n, "w");
	gd_attr_type(&n, "T", GD_FLOAT);
	gd_attr_ints(&n, "strides", 4, (const int64_t[]){ 1, 1, 1, 1 });
	gd_attr_s(&n, "padding", "VALID");
	gd_attr_s(&n, "data_format", "NHWC");
	gd_add(&g, &n);
	n = gd_node("bias", "BiasAdd");
	gd_input(&n, "conv");
	gd_input(&n, "b");
	gd_attr_type(&n, "T", GD_FLOAT);
	gd_add(&g, &n);
	n = gd_node("out", "Relu");
	gd_input(&n, "bias");
	gd_attr_type(&n, "T", GD_FLOAT);
	gd_add(&g, &n);
	CHECK(write(fd, g.p, g.len) == (ssize_t)g.len);
	close(fd);
	pbb_free(&g);

	nn_model *m = NULL;
	char err[512];
	nn_load_options lo = { .input_w = 4, .input_h = 2 };
	CHECK_MSG(nn_model_load_ex(&m, path, &lo, err, sizeof err) == 0, "%s", err);
	unlink(path);
	CHECK_MSG(nn_model_prepare(m, &(nn_prepare_options){ .threads = 1 }, err, sizeof err) == 0, "%s", err);
	nn_tensor *in = nn_model_input(m, 0);
	CHECK(in && in->rank == 4 && in->shape[0] == 1 && in->shape[1] == 2 && in->shape[2] == 4 && in->shape[3] == 3);
	float *x = in->data;
	for (int i = 0; i < 2 * 4 * 3; i++)
		x[i] = (float)((i * 5) % 7) - 3;
	CHECK_MSG(nn_model_run(m, err, sizeof err) == 0, "%s", err);
	CHECK(nn_model_output_count(m) == 1);
	const nn_tensor *out = nn_model_output(m, 0);
	CHECK(out->rank == 4 && out->shape[1] == 2 && out->shape[2] == 4 && out->shape[3] == 2);
	CHECK_MSG(!strcmp(out->name, "out"), "%s", out->name);
	const float *y = out->data;
	for (int p = 0; p < 8; p++) {
		for (int c = 0; c < 2; c++) {
			float v = bias;
			for (int k = 0; k < 3; k++)
				v += x[p * 3 + k] * w[k * 2 + c];
			v = v > 0 ? v : 0;
			CHECK_MSG(fabsf(y[p * 2 + c] - v) < 1e-5f, "pixel %d channel %d: %g, expected %g", p, c, y[p * 2 + c], v);
		}
	}
	nn_model_free(m);
}

/* Found by fuzz_graphdef: a dilated convolution whose BatchToSpaceND lacks its crops input. */
TEST(graphdef_dilation_fold_with_missing_input)
{
	pbb g = { 0 };
	static float w[3 * 3 * 3 * 2];
	gd_placeholder(&g, "data", GD_FLOAT, 4, (const int64_t[]){ 1, 8, 8, 3 });
	gd_const_i32(&g, "block", DIMS(2), (const int64_t[]){ 2, 2 }, 2);
	gd_const_i32(&g, "pads", DIMS(2, 2), (const int64_t[]){ 2, 2, 2, 2 }, 4);
	gd_const_f32(&g, "w", DIMS(3, 3, 3, 2), w, 3 * 3 * 3 * 2);
	pbb n = gd_node("s2b", "SpaceToBatchND");
	gd_input(&n, "data");
	gd_input(&n, "block");
	gd_input(&n, "pads");
	gd_attr_type(&n, "T", GD_FLOAT);
	gd_add(&g, &n);
	n = gd_node("conv", "Conv2D");
	gd_input(&n, "s2b");
	gd_input(&n, "w");
	gd_attr_type(&n, "T", GD_FLOAT);
	gd_attr_ints(&n, "strides", 4, (const int64_t[]){ 1, 1, 1, 1 });
	gd_attr_s(&n, "padding", "VALID");
	gd_add(&g, &n);
	n = gd_node("b2s", "BatchToSpaceND");
	gd_input(&n, "conv");
	gd_input(&n, "block");
	gd_attr_type(&n, "T", GD_FLOAT);
	gd_add(&g, &n);
	nn_graph *ig = NULL;
	char err[512];
	int rc = nn_graphdef_load_buffer(&ig, g.p, g.len, "t.pb", NULL, err, sizeof err);
	pbb_free(&g);
	CHECK(rc < 0 && !ig);
	CHECK_MSG(strstr(err, "t.pb: ") && strstr(err, "b2s") && strstr(err, "has 2 inputs"), "%s", err);
}

/* ---- OpenCV's face detector ---- */

static char *assets_path(const char *rel)
{
	const char *dir = getenv("VIGIL_ASSETS");
	if (!dir)
		dir = VG_ASSETS_DIR;
	size_t n = strlen(dir) + strlen(rel) + 2;
	char *p = malloc(n);
	snprintf(p, n, "%s/%s", dir, rel);
	return p;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	rewind(f);
	uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
	*len = fread(b, 1, (size_t)n, f);
	fclose(f);
	return b;
}

TEST(graphdef_opencv_face_detector)
{
	char *path = assets_path("models/tf_frozen/opencv_face_detector_uint8.pb");
	size_t len;
	uint8_t *buf = slurp(path, &len);
	if (!buf) {
		free(path);
		SKIP("graphdef_opencv_face_detector: models/tf_frozen/opencv_face_detector_uint8.pb absent");
	}
	rd x;
	rd_init(&x);
	CHECK(nn_graphdef_sniff(buf, len));
	CHECK_MSG(nn_graphdef_read(&x.r, buf, len, NULL) == 0, "%s", x.err);
	CHECK_MSG(x.g.n_nodes == 570, "%d nodes", x.g.n_nodes);
	int consts = 0, dequant = 0, quint8 = 0;
	int64_t weights = 0;
	for (int i = 0; i < x.g.n_nodes; i++) {
		const nn_tf_node *n = &x.g.nodes[i];
		if (!strcmp(n->op, "Dequantize")) {
			dequant++;
			const nn_tf_attr *mode = nn_tf_node_attr(n, "mode");
			/* This file's Dequantize nodes say MIN_FIRST (the same arithmetic as MIN_COMBINED for quint8). */
			CHECK(mode && mode->kind == NN_TF_ATTR_STRING && !strcmp(mode->s, "MIN_FIRST"));
		}
		if (strcmp(n->op, "Const"))
			continue;
		consts++;
		const nn_tf_attr *v = nn_tf_node_attr(n, "value");
		CHECK(v && v->kind == NN_TF_ATTR_TENSOR && v->tensor->data);
		if (v->tensor->dtype == NN_TF_QUINT8) {
			quint8++;
			weights += v->tensor->elements;
		}
	}
	CHECK(consts == 333 && dequant == 103);
	CHECK_MSG(quint8 == 103, "%d quint8 constants", quint8);
	/* Most of the file is the uint8 weights. */
	CHECK_MSG(weights > (int64_t)len * 9 / 10 && weights < (int64_t)len, "%lld weights in %zu bytes",
		  (long long)weights, len);
	CHECK(!strcmp(x.g.nodes[0].name, "data") && !strcmp(x.g.nodes[0].op, "Placeholder"));
	rd_fini(&x);
	free(buf);
	free(path);
}

TEST_SUITE(nn_graphdef,
	   TEST_ENTRY(graphdef_tensor_content),
	   TEST_ENTRY(graphdef_tensor_content_borrowed_when_aligned),
	   TEST_ENTRY(graphdef_tensor_float_val_forms),
	   TEST_ENTRY(graphdef_tensor_integer_types),
	   TEST_ENTRY(graphdef_tensor_double_and_string),
	   TEST_ENTRY(graphdef_tensor_unheld_dtypes_keep_shape),
	   TEST_ENTRY(graphdef_tensor_errors),
	   TEST_ENTRY(graphdef_wire_errors),
	   TEST_ENTRY(graphdef_node_and_scalar_attrs),
	   TEST_ENTRY(graphdef_list_attrs),
	   TEST_ENTRY(graphdef_func_attrs_and_depth),
	   TEST_ENTRY(graphdef_allocation_budget),
	   TEST_ENTRY(graphdef_node_errors),
	   TEST_ENTRY(graphdef_graph),
	   TEST_ENTRY(graphdef_graph_errors),
	   TEST_ENTRY(graphdef_truncated_and_flipped),
	   TEST_ENTRY(graphdef_model_load_dispatch),
	   TEST_ENTRY(graphdef_runs_through_the_engine),
	   TEST_ENTRY(graphdef_dilation_fold_with_missing_input),
	   TEST_ENTRY(graphdef_opencv_face_detector));
