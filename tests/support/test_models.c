#include "tests/support/test_models.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

bool test_make_model_spec(const erg_synth_spec *spec, char *path, size_t size) {
    const char *dir = getenv("TMPDIR");
    snprintf(path, size, "%s/erg-test-%s-%d-XXXXXX", dir && *dir ? dir : "/tmp",
             erg_arch_name(spec->arch), (int)getpid());
    int fd = mkstemp(path);
    if (fd < 0) {
        printf("cannot create a temp file %s\n", path);
        return false;
    }
    close(fd);
    erg_diag diag = {{0}};
    if (erg_synth_write(NULL, spec, path, 2, &diag) != ERG_OK) {
        printf("making a test model failed: %s\n", diag.msg);
        remove(path);
        return false;
    }
    return true;
}

bool test_make_model(erg_arch arch, erg_ftype ftype, uint64_t seed, char *path, size_t size) {
    erg_synth_spec spec;
    erg_diag diag = {{0}};
    if (erg_synth_preset("tiny", (int)arch, &spec, &diag) != ERG_OK) {
        printf("%s\n", diag.msg);
        return false;
    }
    spec.ftype = ftype;
    spec.seed = seed;
    return test_make_model_spec(&spec, path, size);
}
