/*
 * test-lib.h - a tiny TAP producer for C unit tests, run by prove.
 *
 *	int main(void) {
 *		TEST_IS_INT(1 + 1, 2, "adds");
 *		TEST_IS_STR(s, "x", "names %s", what);
 *		return test_done();
 *	}
 */
#ifndef SPAMTRAP_TEST_LIB_H
#define SPAMTRAP_TEST_LIB_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int test_count, test_failed;

__attribute__((format(printf, 4, 5), unused))
static int test_ok(int cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	test_count++;
	printf("%s %d - ", cond ? "ok" : "not ok", test_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!cond) {
		test_failed++;
		printf("#   Failed test at %s:%d\n", file, line);
	}
	fflush(stdout);
	return cond;
}

#define TEST_OK(cond, ...) test_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define TEST_IS_INT(got, want, ...) do { \
	long long got_ = (long long)(got), want_ = (long long)(want); \
	if (!TEST_OK(got_ == want_, __VA_ARGS__)) \
		printf("#   got: %lld\n#   expected: %lld\n", got_, want_); \
} while (0)

#define TEST_IS_STR(got, want, ...) do { \
	const char *got_ = (got), *want_ = (want); \
	int same_ = (got_ == NULL && want_ == NULL) || \
		(got_ != NULL && want_ != NULL && strcmp(got_, want_) == 0); \
	if (!TEST_OK(same_, __VA_ARGS__)) \
		printf("#   got: \"%s\"\n#   expected: \"%s\"\n", \
		       got_ ? got_ : "(null)", want_ ? want_ : "(null)"); \
} while (0)

/* a substring check, for error messages */
#define TEST_LIKE(got, part, ...) do { \
	const char *got_ = (got), *part_ = (part); \
	if (!TEST_OK(got_ != NULL && strstr(got_, part_) != NULL, __VA_ARGS__)) \
		printf("#   got: \"%s\"\n#   expected to contain: \"%s\"\n", \
		       got_ ? got_ : "(null)", part_); \
} while (0)

__attribute__((unused))
static int test_done(void)
{
	printf("1..%d\n", test_count);
	return test_failed ? 1 : 0;
}

#endif
