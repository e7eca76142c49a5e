/*
 * Tests of the protobuf wire-format reader (src/nn/format/pb.c) and the
 * TensorFlow graph arena (src/nn/format/tf_graph.c): every wire type, the
 * packed forms, and each way a message can be malformed.
 */
#include <stdint.h>
#include <string.h>

#include "nn/format/pb.h"
#include "nn/format/tf_graph.h"
#include "test.h"

static nn_pb msg(const uint8_t *b, size_t n)
{
	return nn_pb_of(b, n);
}

TEST(pb_every_wire_type)
{
	/* field 1 varint 150; field 2 fixed64 1.5; field 3 bytes "hi"; field 4 fixed32 -2.0f */
	static const uint8_t b[] = { 0x08, 0x96, 0x01, 0x11, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 0x1a, 2, 'h', 'i',
				     0x25, 0, 0, 0, 0xc0 };
	nn_pb m = msg(b, sizeof b);
	nn_pb_field f;
	CHECK(nn_pb_next(&m, &f) == 1 && f.number == 1 && f.wire == NN_PB_VARINT && f.u == 150);
	CHECK(nn_pb_next(&m, &f) == 1 && f.number == 2 && f.wire == NN_PB_I64 && nn_pb_double(&f) == 1.5);
	CHECK(nn_pb_next(&m, &f) == 1 && f.number == 3 && f.wire == NN_PB_LEN && nn_pb_eq(&f, "hi") && !nn_pb_eq(&f, "h"));
	CHECK(nn_pb_next(&m, &f) == 1 && f.number == 4 && f.wire == NN_PB_I32 && nn_pb_float(&f) == -2.0f);
	CHECK(nn_pb_next(&m, &f) == NN_PB_EOF);
}

TEST(pb_signed_varints)
{
	/* int64 -1 is ten bytes; sint64 -3 is zigzag 5. */
	static const uint8_t b[] = { 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x10, 0x05 };
	nn_pb m = msg(b, sizeof b);
	nn_pb_field f;
	CHECK(nn_pb_next(&m, &f) == 1 && nn_pb_int64(&f) == -1);
	CHECK(nn_pb_next(&m, &f) == 1 && nn_pb_sint64(&f) == -3);
	CHECK(nn_pb_next(&m, &f) == NN_PB_EOF);
}

TEST(pb_embedded_and_packed)
{
	/* field 1: message { field 2: packed varints 3, 270, 1 }; field 3: packed fixed32 1.0f, 2.0f */
	static const uint8_t b[] = { 0x0a, 6, 0x12, 4, 3, 0x8e, 0x02, 1, 0x1a, 8, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40 };
	nn_pb m = msg(b, sizeof b);
	nn_pb_field f, g;
	CHECK(nn_pb_next(&m, &f) == 1 && f.wire == NN_PB_LEN);
	nn_pb sub = nn_pb_sub(&f);
	CHECK(nn_pb_next(&sub, &g) == 1 && g.number == 2);
	int64_t v[3];
	CHECK(nn_pb_packed_varints(&g, NULL, 0) == 3);
	CHECK(nn_pb_packed_varints(&g, v, 3) == 3 && v[0] == 3 && v[1] == 270 && v[2] == 1);
	CHECK(nn_pb_packed_varints(&g, v, 1) == 3 && v[0] == 3);
	CHECK(nn_pb_next(&sub, &g) == NN_PB_EOF);
	CHECK(nn_pb_next(&m, &f) == 1);
	uint32_t w[2];
	CHECK(nn_pb_packed_fixed32(&f, w, 2) == 2 && w[0] == 0x3f800000u && w[1] == 0x40000000u);
	CHECK(nn_pb_packed_fixed64(&f, NULL, 0) == 1);
	f.len = 7;
	CHECK(nn_pb_packed_fixed32(&f, w, 2) == NN_PB_TRUNCATED);
}

TEST(pb_malformed)
{
	nn_pb_field f;
	static const uint8_t long_len[] = { 0x0a, 5, 'a', 'b' };
	nn_pb m = msg(long_len, sizeof long_len);
	CHECK(nn_pb_next(&m, &f) == NN_PB_TRUNCATED);
	static const uint8_t cut_varint[] = { 0x08, 0x80 };
	m = msg(cut_varint, sizeof cut_varint);
	CHECK(nn_pb_next(&m, &f) == NN_PB_TRUNCATED);
	static const uint8_t cut_fixed[] = { 0x0d, 1, 2, 3 };
	m = msg(cut_fixed, sizeof cut_fixed);
	CHECK(nn_pb_next(&m, &f) == NN_PB_TRUNCATED);
	static const uint8_t overlong[] = { 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02 };
	m = msg(overlong, sizeof overlong);
	CHECK(nn_pb_next(&m, &f) == NN_PB_BAD_VARINT);
	static const uint8_t eleven[] = { 0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 };
	m = msg(eleven, sizeof eleven);
	CHECK(nn_pb_next(&m, &f) == NN_PB_BAD_VARINT);
	static const uint8_t group[] = { 0x0b };
	m = msg(group, sizeof group);
	CHECK(nn_pb_next(&m, &f) == NN_PB_BAD_WIRE);
	static const uint8_t zero[] = { 0x00, 0x01 };
	m = msg(zero, sizeof zero);
	CHECK(nn_pb_next(&m, &f) == NN_PB_BAD_NUMBER);
	/* A length past 2^63 must not wrap the bounds check. */
	static const uint8_t huge[] = { 0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	m = msg(huge, sizeof huge);
	CHECK(nn_pb_next(&m, &f) == NN_PB_TRUNCATED);
	static const uint8_t bad_packed[] = { 0x0a, 1, 0x80 };
	m = msg(bad_packed, sizeof bad_packed);
	CHECK(nn_pb_next(&m, &f) == 1 && nn_pb_packed_varints(&f, NULL, 0) == NN_PB_TRUNCATED);
	CHECK(strstr(nn_pb_strerror(NN_PB_TRUNCATED), "past the end"));
}

TEST(tf_arena_and_dtypes)
{
	nn_tf_graph g = { 0 };
	char *s = nn_tf_strdup(&g, "Conv2D", 4);
	CHECK(s && !strcmp(s, "Conv"));
	/* A request larger than a block gets a block of its own; later small ones still fit. */
	uint8_t *big = nn_tf_alloc(&g, (size_t)1 << 20);
	CHECK(big && big[12345] == 0);
	big[(1 << 20) - 1] = 7;
	double *d = nn_tf_alloc(&g, sizeof *d);
	CHECK(d && ((uintptr_t)d % _Alignof(max_align_t)) == 0 && *d == 0);
	CHECK(nn_tf_alloc(&g, SIZE_MAX) == NULL);
	nn_tf_graph_free(&g);
	CHECK(g.arena == NULL && g.nodes == NULL);
	CHECK(nn_tf_dtype_size(NN_TF_QUINT8) == 1 && nn_tf_dtype_size(NN_TF_HALF) == 2 &&
	      nn_tf_dtype_size(NN_TF_INT64) == 8 && nn_tf_dtype_size(NN_TF_STRING) == 0);
	CHECK(!strcmp(nn_tf_dtype_name(NN_TF_QUINT8), "quint8"));
	nn_tf_attr attrs[2] = { { .name = "T", .kind = NN_TF_ATTR_TYPE, .type = NN_TF_FLOAT },
				{ .name = "mode", .kind = NN_TF_ATTR_STRING, .s = "MIN_COMBINED", .s_len = 12 } };
	nn_tf_node n = { .name = "dq", .op = "Dequantize", .n_attrs = 2, .attrs = attrs };
	CHECK(nn_tf_node_attr(&n, "mode") == &attrs[1] && !nn_tf_node_attr(&n, "axis"));
}

TEST_SUITE(nn_pb, TEST_ENTRY(pb_every_wire_type), TEST_ENTRY(pb_signed_varints), TEST_ENTRY(pb_embedded_and_packed),
	   TEST_ENTRY(pb_malformed), TEST_ENTRY(tf_arena_and_dtypes));
