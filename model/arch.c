/* The supported architectures and what distinguishes them. */
#include "model/model.h"

#include <string.h>

static const char *const names[ERG_ARCH_COUNT] = {"llama", "qwen2", "qwen3"};

const char *erg_arch_name(erg_arch arch) {
    return (unsigned)arch < ERG_ARCH_COUNT ? names[arch] : "unknown";
}

int erg_arch_parse(const char *name) {
    for (int a = 0; a < ERG_ARCH_COUNT; a++)
        if (name && strcmp(name, names[a]) == 0)
            return a;
    return -1;
}

const char *erg_arch_supported_list(void) { return "llama, qwen2, qwen3"; }
