/*
 * test.h: the minimal harness every C test uses. Checks count failures and
 * print file:line with the values; main returns erg_test_result().
 * A test that cannot run here (e.g. the CPU lacks AVX-512) calls
 * ERG_TEST_SKIP, which exits with 77: ctest reports it as skipped, not passed.
 */
#ifndef ERG_TESTS_TEST_H
#define ERG_TESTS_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int erg_test_failures_;
static int erg_test_checks_;

#define ERG_TEST_SKIP(...)                                                                 \
    do {                                                                                   \
        printf("SKIP: ");                                                                  \
        printf(__VA_ARGS__);                                                               \
        printf("\n");                                                                      \
        exit(77);                                                                          \
    } while (0)

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        erg_test_checks_++;                                                                \
        if (!(cond)) {                                                                     \
            erg_test_failures_++;                                                          \
            printf("%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                \
        }                                                                                  \
    } while (0)

#define CHECK_MSG(cond, ...)                                                               \
    do {                                                                                   \
        erg_test_checks_++;                                                                \
        if (!(cond)) {                                                                     \
            erg_test_failures_++;                                                          \
            printf("%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);                \
            printf(__VA_ARGS__);                                                           \
            printf("\n");                                                                  \
        }                                                                                  \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                 \
    do {                                                                                   \
        long long a_ = (long long)(a), b_ = (long long)(b);                                \
        erg_test_checks_++;                                                                \
        if (a_ != b_) {                                                                    \
            erg_test_failures_++;                                                          \
            printf("%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, #b,   \
                   a_, b_);                                                                \
        }                                                                                  \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                              \
    do {                                                                                   \
        double a_ = (double)(a), b_ = (double)(b);                                         \
        erg_test_checks_++;                                                                \
        if (!(fabs(a_ - b_) <= (tol))) {                                                   \
            erg_test_failures_++;                                                          \
            printf("%s:%d: |%s - %s| <= %g failed: %.9g vs %.9g\n", __FILE__, __LINE__, #a, \
                   #b, (double)(tol), a_, b_);                                             \
        }                                                                                  \
    } while (0)

#define CHECK_STATUS(expr, expected)                                                       \
    do {                                                                                   \
        int s_ = (int)(expr);                                                              \
        erg_test_checks_++;                                                                \
        if (s_ != (int)(expected)) {                                                       \
            erg_test_failures_++;                                                          \
            printf("%s:%d: %s returned %d, expected %d\n", __FILE__, __LINE__, #expr, s_,  \
                   (int)(expected));                                                       \
        }                                                                                  \
    } while (0)

static inline int erg_test_result(const char *name) {
    printf("%s: %d checks, %d failed\n", name, erg_test_checks_, erg_test_failures_);
    return erg_test_failures_ ? 1 : 0;
}

#endif
