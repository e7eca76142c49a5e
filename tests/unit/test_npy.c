/* The .npy reader and writer: round trips, every dtype and version, NumPy's own bytes, and malformed headers. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/npy.h"
#include "test.h"

/* A .npy file in memory: version, the header text as given (padded here to 64), then data bytes. */
static size_t make_file(uint8_t *buf, size_t cap, int major, const char *header, const void *data, size_t data_len)
{
	size_t prefix = major == 1 ? 10 : 12;
	size_t n = strlen(header);
	size_t total = (prefix + n + 1 + 63) / 64 * 64;
	CHECK(total + data_len <= cap);
	memcpy(buf, "\x93NUMPY", 6);
	buf[6] = (uint8_t)major;
	buf[7] = 0;
	size_t hlen = total - prefix;
	for (size_t i = 0; i < prefix - 8; i++)
		buf[8 + i] = (uint8_t)(hlen >> (8 * i));
	memcpy(buf + prefix, header, n);
	memset(buf + prefix + n, ' ', hlen - n - 1);
	buf[total - 1] = '\n';
	if (data_len)
		memcpy(buf + total, data, data_len);
	return total + data_len;
}

/* Parses and expects failure with a message containing each of the given fragments. */
static void expect_error(const uint8_t *buf, size_t len, const char *frag1, const char *frag2)
{
	vg_npy a;
	char err[512] = "";
	int rc = vg_npy_parse(&a, buf, len, "t.npy", err, sizeof err);
	CHECK_MSG(rc < 0, "parsed, expected an error mentioning '%s'", frag1);
	CHECK_MSG(strstr(err, "t.npy") != NULL, "message does not name the file: %s", err);
	CHECK_MSG(strstr(err, frag1) != NULL, "message '%s' lacks '%s'", err, frag1);
	CHECK_MSG(!frag2 || strstr(err, frag2) != NULL, "message '%s' lacks '%s'", err, frag2);
	CHECK(a.data == NULL);
}

static void expect_header_error(const char *header, size_t data_len, const char *frag1, const char *frag2)
{
	static uint8_t buf[8192];
	static uint8_t zeros[4096];
	size_t len = make_file(buf, sizeof buf, 1, header, zeros, data_len);
	expect_error(buf, len, frag1, frag2);
}

TEST(npy_round_trip_every_dtype)
{
	static uint8_t buf[4096];
	int64_t shape[3] = { 2, 3, 4 };
	for (int t = 0; t < VG_NPY_DTYPE_COUNT; t++) {
		size_t size = vg_npy_dtype_size((vg_npy_dtype)t);
		uint8_t data[24 * 8];
		for (size_t i = 0; i < sizeof data; i++)
			data[i] = (uint8_t)(i * 37 + (size_t)t);
		if (t == VG_NPY_BOOL)
			for (size_t i = 0; i < sizeof data; i++)
				data[i] &= 1;
		size_t h = vg_npy_header((char *)buf, sizeof buf, (vg_npy_dtype)t, 3, shape);
		CHECK(h > 0 && h % 64 == 0 && buf[h - 1] == '\n');
		memcpy(buf + h, data, 24 * size);
		vg_npy a;
		char err[256];
		CHECK_MSG(vg_npy_parse(&a, buf, h + 24 * size, "t.npy", err, sizeof err) == 0, "%s: %s",
			  vg_npy_dtype_name((vg_npy_dtype)t), err);
		CHECK(a.dtype == (vg_npy_dtype)t);
		CHECK(a.rank == 3 && a.shape[0] == 2 && a.shape[1] == 3 && a.shape[2] == 4 && a.count == 24);
		CHECK(a.version == 1 && !a.was_fortran && !a.was_big_endian);
		CHECK(memcmp(a.data, data, 24 * size) == 0);
		vg_npy_free(&a);
	}
}

TEST(npy_descr_names)
{
	CHECK(!strcmp(vg_npy_dtype_descr(VG_NPY_F32), "<f4"));
	CHECK(!strcmp(vg_npy_dtype_descr(VG_NPY_U8), "|u1"));
	CHECK(!strcmp(vg_npy_dtype_descr(VG_NPY_BOOL), "|b1"));
	CHECK(!strcmp(vg_npy_dtype_name(VG_NPY_F64), "float64"));
	CHECK(vg_npy_dtype_size(VG_NPY_U64) == 8 && vg_npy_dtype_size(VG_NPY_F16) == 2);
}

TEST(npy_header_forms)
{
	/* Scalars, one dimension, empty arrays, as np.save writes them. */
	static uint8_t buf[512];
	int64_t one[1] = { 5 }, empty[2] = { 0, 3 };
	size_t h = vg_npy_header((char *)buf, sizeof buf, VG_NPY_I32, 1, one);
	CHECK(h == 128);
	CHECK(strstr((char *)buf + 10, "'shape': (5,), }") != NULL);
	h = vg_npy_header((char *)buf, sizeof buf, VG_NPY_F64, 0, NULL);
	CHECK(h == 128 && buf[8] == 118 && buf[9] == 0);
	CHECK(strstr((char *)buf + 10, "'shape': (), }") != NULL);
	double v = 2.5;
	memcpy(buf + h, &v, 8);
	vg_npy a;
	char err[256];
	CHECK(vg_npy_parse(&a, buf, h + 8, "t.npy", err, sizeof err) == 0);
	CHECK(a.rank == 0 && a.count == 1 && ((double *)a.data)[0] == 2.5);
	vg_npy_free(&a);
	h = vg_npy_header((char *)buf, sizeof buf, VG_NPY_F32, 2, empty);
	CHECK(vg_npy_parse(&a, buf, h, "t.npy", err, sizeof err) == 0);
	CHECK(a.rank == 2 && a.count == 0);
	vg_npy_free(&a);
	/* Too small a buffer, a negative dimension and a bad dtype write nothing. */
	CHECK(vg_npy_header((char *)buf, 32, VG_NPY_F32, 1, one) == 0);
	int64_t neg[1] = { -1 };
	CHECK(vg_npy_header((char *)buf, sizeof buf, VG_NPY_F32, 1, neg) == 0);
	CHECK(vg_npy_header((char *)buf, sizeof buf, VG_NPY_DTYPE_COUNT, 1, one) == 0);
}

/* Bytes written by NumPy 1.24's np.save and np.lib.format.write_array. */
TEST(npy_numpy_written_files)
{
	static const char v1_f32[] =
		"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
		"                                                          \n"
		"\x00\x00\x00\x00\x00\x00\x80?\x00\x00\x00@\x00\x00@@\x00\x00\x80@\x00\x00\xa0@";
	vg_npy a;
	char err[256];
	CHECK_MSG(vg_npy_parse(&a, v1_f32, sizeof v1_f32 - 1, "v1.npy", err, sizeof err) == 0, "%s", err);
	CHECK(a.dtype == VG_NPY_F32 && a.rank == 2 && a.shape[0] == 2 && a.shape[1] == 3);
	for (int i = 0; i < 6; i++)
		CHECK(((float *)a.data)[i] == (float)i);
	vg_npy_free(&a);

	/* Version 2.0, big-endian int16, Fortran order: [[1,2,3],[4,5,6]]. */
	static const char v2_be_f[] =
		"\x93NUMPY\x02\x00t\x00\x00\x00{'descr': '>i2', 'fortran_order': True, 'shape': (2, 3), }"
		"                                                         \n"
		"\x00\x01\x00\x04\x00\x02\x00\x05\x00\x03\x00\x06";
	CHECK_MSG(vg_npy_parse(&a, v2_be_f, sizeof v2_be_f - 1, "v2.npy", err, sizeof err) == 0, "%s", err);
	CHECK(a.version == 2 && a.dtype == VG_NPY_I16 && a.was_fortran && a.was_big_endian);
	for (int i = 0; i < 6; i++)
		CHECK_MSG(((int16_t *)a.data)[i] == i + 1, "element %d is %d", i, ((int16_t *)a.data)[i]);
	vg_npy_free(&a);

	/* Version 3.0 (UTF-8 header), bool. */
	static const char v3_bool[] =
		"\x93NUMPY\x03\x00t\x00\x00\x00{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }"
		"                                                          \n\x01\x00";
	CHECK_MSG(vg_npy_parse(&a, v3_bool, sizeof v3_bool - 1, "v3.npy", err, sizeof err) == 0, "%s", err);
	CHECK(a.version == 3 && a.dtype == VG_NPY_BOOL && a.rank == 1 && a.shape[0] == 2);
	CHECK(((uint8_t *)a.data)[0] == 1 && ((uint8_t *)a.data)[1] == 0);
	vg_npy_free(&a);
}

TEST(npy_versions_and_spellings)
{
	static uint8_t buf[1024];
	float data[4] = { 1, 2, 3, 4 };
	vg_npy a;
	char err[256];
	const char *headers[] = {
		"{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }",
		"{\"shape\": (4,), \"descr\": \"<f4\", \"fortran_order\": False}",
		"{'descr':'=f4','fortran_order':False,'shape':(4L,)}",
		"  { 'fortran_order' : False , 'shape' : ( 4 , ) , 'descr' : '<f4' , }  ",
	};
	for (int major = 1; major <= 3; major++) {
		for (size_t h = 0; h < sizeof headers / sizeof headers[0]; h++) {
			size_t len = make_file(buf, sizeof buf, major, headers[h], data, sizeof data);
			CHECK_MSG(vg_npy_parse(&a, buf, len, "t.npy", err, sizeof err) == 0, "v%d '%s': %s", major,
				  headers[h], err);
			CHECK(a.version == major && a.rank == 1 && a.shape[0] == 4 && a.dtype == VG_NPY_F32);
			CHECK(memcmp(a.data, data, sizeof data) == 0);
			vg_npy_free(&a);
		}
	}
	/* Old files padded to 16 rather than 64: any padding is accepted. */
	static const char v1_16[] = "\x93NUMPY\x01\x00\x46\x00{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }"
				    "            \n\x07\x09";
	CHECK_MSG(vg_npy_parse(&a, v1_16, sizeof v1_16 - 1, "t.npy", err, sizeof err) == 0, "%s", err);
	CHECK(((uint8_t *)a.data)[1] == 9);
	vg_npy_free(&a);
}

TEST(npy_big_endian_conversion)
{
	static uint8_t buf[1024];
	const uint8_t be_f4[8] = { 0x3f, 0x80, 0, 0, 0xc0, 0, 0, 0 }; /* 1.0, -2.0 */
	size_t len = make_file(buf, sizeof buf, 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", be_f4, 8);
	vg_npy a;
	char err[256];
	CHECK(vg_npy_parse(&a, buf, len, "t.npy", err, sizeof err) == 0);
	CHECK(a.was_big_endian && ((float *)a.data)[0] == 1.0f && ((float *)a.data)[1] == -2.0f);
	vg_npy_free(&a);
	const uint8_t be_u8[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	len = make_file(buf, sizeof buf, 1, "{'descr': '>u8', 'fortran_order': False, 'shape': (1,), }", be_u8, 8);
	CHECK(vg_npy_parse(&a, buf, len, "t.npy", err, sizeof err) == 0);
	CHECK(((uint64_t *)a.data)[0] == 0x0102030405060708ull);
	vg_npy_free(&a);
	/* A one-byte type has no order to convert. */
	len = make_file(buf, sizeof buf, 1, "{'descr': '>u1', 'fortran_order': False, 'shape': (2,), }", be_u8, 2);
	CHECK(vg_npy_parse(&a, buf, len, "t.npy", err, sizeof err) == 0);
	CHECK(!a.was_big_endian && ((uint8_t *)a.data)[1] == 2);
	vg_npy_free(&a);
}

TEST(npy_fortran_order_three_dims)
{
	/* Shape (2, 3, 4) in Fortran order: element (i, j, k) at i + 2 * (j + 3 * k); the value is its C index. */
	static uint8_t buf[1024];
	int32_t f[24];
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 3; j++)
			for (int k = 0; k < 4; k++)
				f[i + 2 * (j + 3 * k)] = (i * 3 + j) * 4 + k;
	size_t len = make_file(buf, sizeof buf, 1, "{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3, 4), }", f,
			       sizeof f);
	vg_npy a;
	char err[256];
	CHECK(vg_npy_parse(&a, buf, len, "t.npy", err, sizeof err) == 0);
	CHECK(a.was_fortran);
	for (int i = 0; i < 24; i++)
		CHECK_MSG(((int32_t *)a.data)[i] == i, "element %d is %d", i, ((int32_t *)a.data)[i]);
	vg_npy_free(&a);
}

TEST(npy_bad_prefix)
{
	static uint8_t buf[256];
	size_t len = make_file(buf, sizeof buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", "\0\0\0\0", 4);
	expect_error(buf, 5, "not a .npy file", NULL);
	expect_error(buf, 0, "not a .npy file", NULL);
	uint8_t copy[256];
	memcpy(copy, buf, len);
	copy[1] = 'n';
	expect_error(copy, len, "not a .npy file", NULL);
	memcpy(copy, buf, len);
	copy[6] = 4;
	expect_error(copy, len, "version 4.0", NULL);
	copy[6] = 1;
	copy[7] = 1;
	expect_error(copy, len, "version 1.1", NULL);
	copy[6] = 0;
	copy[7] = 0;
	expect_error(copy, len, "version 0.0", NULL);
	/* Version 2 needs 12 bytes before its header. */
	memcpy(copy, "\x93NUMPY\x02\x00\x10\x00", 10);
	expect_error(copy, 11, "header length", "ends");
	/* A header length past the end, and past the limit. */
	memcpy(copy, buf, len);
	copy[8] = 0xff;
	copy[9] = 0x7f;
	expect_error(copy, len, "header length 32767", "past the end");
	memcpy(copy, "\x93NUMPY\x02\x00\x00\x00\x00\x10", 12);
	expect_error(copy, 12, "past the limit", NULL);
	/* Header cut short. */
	expect_error(buf, 30, "header length", "past the end");
}

TEST(npy_malformed_headers)
{
	expect_header_error("", 0, "the header ends", "'{'");
	expect_header_error("['descr', '<f4']", 0, "expected '{'", NULL);
	expect_header_error("{'descr': '<f4', 'fortran_order': False}", 4, "'shape' is missing", NULL);
	expect_header_error("{'fortran_order': False, 'shape': ()}", 4, "'descr' is missing", NULL);
	expect_header_error("{'descr': '<f4', 'shape': ()}", 4, "'fortran_order' is missing", NULL);
	expect_header_error("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': ()}", 4, "given twice",
			    NULL);
	expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (), 'extra': 1}", 4, "unexpected key 'extra'",
			    NULL);
	expect_header_error("{descr: '<f4', 'fortran_order': False, 'shape': ()}", 4, "a key", "quoted string");
	expect_header_error("{'descr' '<f4', 'fortran_order': False, 'shape': ()}", 4, "expected ':'", NULL);
	expect_header_error("{'descr': '<f4' 'fortran_order': False, 'shape': ()}", 4, "expected ',' or '}'", NULL);
	expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': ()", 4, "ends", NULL);
	/* Strings. */
	expect_header_error("{'descr': '<f4, 'fortran_order': False, 'shape': ()}", 4, "'descr' is '<f4, '", NULL);
	expect_header_error("{'descr': '<f\\x34', 'fortran_order': False, 'shape': ()}", 4, "escapes", NULL);
	expect_header_error("{'descr': '<f4", 4, "line breaks", NULL);
	static const char unclosed[] = "\x93NUMPY\x01\x00\x0e\x00{'descr': '<f4";
	expect_error((const uint8_t *)unclosed, sizeof unclosed - 1, "not closed", NULL);
	/* Dtypes. */
	expect_header_error("{'descr': '<f3', 'fortran_order': False, 'shape': ()}", 4, "'descr' is '<f3'", NULL);
	expect_header_error("{'descr': '<c8', 'fortran_order': False, 'shape': ()}", 8, "'descr' is '<c8'", NULL);
	expect_header_error("{'descr': '|O', 'fortran_order': False, 'shape': ()}", 8, "'descr' is '|O'", NULL);
	expect_header_error("{'descr': '<U5', 'fortran_order': False, 'shape': ()}", 20, "'descr' is '<U5'", NULL);
	expect_header_error("{'descr': 'f4', 'fortran_order': False, 'shape': ()}", 4, "'descr' is 'f4'", NULL);
	expect_header_error("{'descr': '|f4', 'fortran_order': False, 'shape': ()}", 4, "no byte order", NULL);
	expect_header_error("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': ()}", 4, "structured", NULL);
	expect_header_error("{'descr': 4, 'fortran_order': False, 'shape': ()}", 4, "quoted string", NULL);
	/* fortran_order. */
	expect_header_error("{'descr': '<f4', 'fortran_order': 0, 'shape': ()}", 4, "True or False", NULL);
	expect_header_error("{'descr': '<f4', 'fortran_order': true, 'shape': ()}", 4, "True or False", NULL);
	/* Shapes. */
	expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (1)}", 4, "not a tuple", "(N,)");
	expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': [1]}", 4, "expected '('", NULL);
	expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}", 4, "non-negative", NULL);
	expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (1.5,)}", 4, "expected ',' or ')'", NULL);
	expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (1,,)}", 4, "non-negative", NULL);
	expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (None,)}", 4, "non-negative", NULL);
	expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (1 2)}", 4, "expected ',' or ')'", NULL);
	expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", 4,
			    "overflows 64 bits", NULL);
	expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, "
			    "1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)}",
			    4, "more than 32 dimensions", NULL);
	/* Only padding may follow the dict. */
	expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': ()} x", 4, "after the dict", NULL);
	expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': ()}}", 4, "after the dict", NULL);
}

TEST(npy_data_length)
{
	expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", 20, "needs 24 bytes",
			    "has 20");
	expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", 28, "needs 24 bytes",
			    "has 28");
	expect_header_error("{'descr': '<f8', 'fortran_order': False, 'shape': (3,)}", 0, "shape (3,) of float64", NULL);
	/* Element counts that overflow 64 bits, and sizes that overflow the address space. */
	expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4)}", 4,
			    "overflows 64 bits", NULL);
	expect_header_error("{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904,)}", 8, "too large",
			    NULL);
	/* A zero dimension means no data, whatever the others say. */
	static uint8_t buf[512];
	size_t len = make_file(buf, sizeof buf, 1,
			       "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 9223372036854775807)}", NULL, 0);
	vg_npy a;
	char err[256];
	CHECK_MSG(vg_npy_parse(&a, buf, len, "t.npy", err, sizeof err) == 0, "%s", err);
	CHECK(a.count == 0);
	vg_npy_free(&a);
}

TEST(npy_files)
{
	char dir[] = "/tmp/vigil-npy-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[128];
	snprintf(path, sizeof path, "%s/a.npy", dir);
	int64_t shape[4] = { 1, 2, 2, 3 };
	float data[12];
	for (int i = 0; i < 12; i++)
		data[i] = (float)i * 0.5f - 1;
	char err[256];
	CHECK(vg_npy_write_file(path, VG_NPY_F32, 4, shape, data, err, sizeof err) == 0);
	vg_npy a;
	CHECK_MSG(vg_npy_read_file(&a, path, err, sizeof err) == 0, "%s", err);
	CHECK(a.rank == 4 && a.count == 12 && memcmp(a.data, data, sizeof data) == 0);
	vg_npy_free(&a);
	/* A missing file, a directory, an unwritable path: errors naming them. */
	snprintf(path, sizeof path, "%s/missing.npy", dir);
	CHECK(vg_npy_read_file(&a, path, err, sizeof err) < 0 && strstr(err, "missing.npy") && strstr(err, "cannot open"));
	CHECK(vg_npy_read_file(&a, dir, err, sizeof err) < 0 && strstr(err, "not a regular file"));
	snprintf(path, sizeof path, "%s/no/such/dir.npy", dir);
	CHECK(vg_npy_write_file(path, VG_NPY_F32, 4, shape, data, err, sizeof err) < 0 && strstr(err, "cannot create"));
	snprintf(path, sizeof path, "%s/a.npy", dir);
	unlink(path);
	rmdir(dir);
}

TEST_SUITE(npy, TEST_ENTRY(npy_round_trip_every_dtype), TEST_ENTRY(npy_descr_names), TEST_ENTRY(npy_header_forms),
	   TEST_ENTRY(npy_numpy_written_files), TEST_ENTRY(npy_versions_and_spellings),
	   TEST_ENTRY(npy_big_endian_conversion), TEST_ENTRY(npy_fortran_order_three_dims), TEST_ENTRY(npy_bad_prefix),
	   TEST_ENTRY(npy_malformed_headers), TEST_ENTRY(npy_data_length), TEST_ENTRY(npy_files));
