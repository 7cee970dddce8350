/*
 * tests/unit/test.h: the tiny unit test harness (Redis testhelp.h).
 * A test file defines test functions and a table, then TEST_MAIN(table).
 * Output: one "ok NAME"/"FAIL NAME" line per test, failure details, and
 * "N passed, N failed" alone on the last line. Exit status 1 on failure.
 */
#ifndef PB_TEST_H
#define PB_TEST_H

#include <stdio.h>
#include <string.h>

static int test_failed_now;

#define T_ASSERT(c)                                                        \
	do {                                                               \
		if (!(c)) {                                                \
			fprintf(stderr, "  %s:%d: assertion failed: %s\n", \
				__FILE__, __LINE__, #c);                   \
			test_failed_now = 1;                               \
			return;                                            \
		}                                                          \
	} while (0)

#define T_EQ_INT(a, b)                                                       \
	do {                                                                 \
		long long a_ = (long long)(a), b_ = (long long)(b);          \
		if (a_ != b_) {                                              \
			fprintf(stderr, "  %s:%d: %s == %lld, expected %lld\n", \
				__FILE__, __LINE__, #a, a_, b_);             \
			test_failed_now = 1;                                 \
			return;                                              \
		}                                                            \
	} while (0)

#define T_EQ_STR(a, b)                                                       \
	do {                                                                 \
		const char *a_ = (a), *b_ = (b);                             \
		if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {       \
			fprintf(stderr,                                      \
				"  %s:%d: %s\n    got:      %s\n    expected: %s\n", \
				__FILE__, __LINE__, #a, a_ ? a_ : "(null)",  \
				b_ ? b_ : "(null)");                         \
			test_failed_now = 1;                                 \
			return;                                              \
		}                                                            \
	} while (0)

struct test_case {
	const char *name;
	void (*fn)(void);
};

static inline int
test_run(const struct test_case *t)
{
	int pass = 0, fail = 0;
	for (; t->name; t++) {
		test_failed_now = 0;
		t->fn();
		if (test_failed_now) {
			printf("FAIL %s\n", t->name);
			fail++;
		} else {
			printf("ok %s\n", t->name);
			pass++;
		}
		fflush(stdout);
	}
	printf("%d passed, %d failed\n", pass, fail);
	return fail ? 1 : 0;
}

#define TEST_MAIN(table)            \
	int main(void)              \
	{                           \
		return test_run(table); \
	}

#endif
