/* test_logits.h: what the device tests ask of logits and of the runtime. */
#ifndef ERG_TESTS_TEST_LOGITS_H
#define ERG_TESTS_TEST_LOGITS_H

#include "erg/erg.h"

#include <stdbool.h>
#include <stddef.h>

/* Normalised error ||got - want|| / ||want|| (the plain norm where want is
 * all zeros). */
double test_nrmse(const float *got, const float *want, size_t n);

/* Whether the runtime found a device of this name ("vulkan:0", "opencl:0"). */
bool test_has_device(erg_runtime *rt, const char *name);

/* For the tests that place work across vulkan:0 and opencl:0: where either
 * is missing, destroys rt and ends the test, failed (exit 1) when
 * ERG_REQUIRE_DEVICES names both backends, else skipped (exit 77). */
void test_need_vulkan_and_opencl(erg_runtime *rt);

#endif
