#ifndef VG_TEST_H
#define VG_TEST_H

/*
 * A tiny unit-test harness in the manner of libuv's: every test runs in a
 * child process with a timeout, so a crash or a hang fails that test alone.
 * Each test file defines its tests with TEST(name) and lists them once in a
 * TEST_LIST; test_main.c runs them and prints TAP-style lines:
 *   ok 3 - slot_latest_wins
 *   not ok 4 - pool_reuse (tests/unit/test_frame.c:42: CHECK(a == b))
 * and a last line "N passed, N failed".
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct vg_test {
	const char *name;
	void (*fn)(void);
} vg_test;

#define TEST(name) static void test_##name(void)
#define TEST_ENTRY(name) { #name, test_##name }

/* Fails the running test with the source location and the expression. */
#define CHECK(cond)                                                                              \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
			exit(1);                                                                 \
		}                                                                                \
	} while (0)

#define CHECK_MSG(cond, ...)                                                   \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, \
				__LINE__, #cond);                              \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
			exit(1);                                               \
		}                                                              \
	} while (0)

/* Comparisons that print both sides when they fail. */
#define CHECK_EQ_INT(a, b)                                                                          \
	do {                                                                                        \
		long long a_ = (long long)(a), b_ = (long long)(b);                                 \
		CHECK_MSG(a_ == b_, "%lld != %lld", a_, b_);                                       \
	} while (0)
#define CHECK_EQ_STR(a, b)                                                                          \
	do {                                                                                        \
		const char *a_ = (a), *b_ = (b);                                                    \
		CHECK_MSG(strcmp(a_, b_) == 0, "\"%s\" != \"%s\"", a_, b_);                        \
	} while (0)
#define CHECK_NEAR(a, b, tol)                                                                       \
	do {                                                                                        \
		double a_ = (double)(a), b_ = (double)(b);                                          \
		CHECK_MSG(a_ - b_ <= (tol) && b_ - a_ <= (tol), "%.9g is not %.9g within %g", a_, b_, \
			  (double)(tol));                                                           \
	} while (0)

/* Each test file exports its table through this, and test_main.c collects them. */
#define TEST_SUITE(suite, ...)                                  \
	const vg_test vg_suite_##suite[] = { __VA_ARGS__, { 0, 0 } }

/* Skips the running test (exit code 77, as Automake and Meson use). */
#define SKIP(...)                                  \
	do {                                       \
		fprintf(stderr, "SKIP: " __VA_ARGS__); \
		fputc('\n', stderr);               \
		exit(77);                          \
	} while (0)

#endif
