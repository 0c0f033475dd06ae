/* test_models.h: tiny models made at test time by erg's own model maker. */
#ifndef ERG_TESTS_TEST_MODELS_H
#define ERG_TESTS_TEST_MODELS_H

#include "model/synth.h"

/* Writes a tiny model of arch and ftype to a fresh file under the temp dir;
 * fills path (the caller removes it). False on failure (printed). */
bool test_make_model(erg_arch arch, erg_ftype ftype, uint64_t seed, char *path, size_t size);

/* The same from a full spec. */
bool test_make_model_spec(const erg_synth_spec *spec, char *path, size_t size);

#endif
