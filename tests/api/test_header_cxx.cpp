// The public header compiles as C++ (warnings as errors) and links: the
// options macros, the extern "C" guards, a round trip through the library.
#include "erg/erg.h"

#include <cstdio>
#include <cstring>

int main() {
    erg_runtime_options ro = ERG_RUNTIME_OPTIONS_INIT;
    erg_model_options mo = ERG_MODEL_OPTIONS_INIT;
    erg_session_options so = ERG_SESSION_OPTIONS_INIT;
    ro.log_level = ERG_LOG_NONE;
    erg_runtime *rt = nullptr;
    int failures = 0;
    failures += erg_runtime_create(&ro, &rt) != ERG_OK;
    failures += std::strcmp(erg_status_str(ERG_FORMAT), "ERG_FORMAT") != 0;
    failures += mo.struct_size != sizeof mo || so.struct_size != sizeof so || so.n_ctx != 0;
    failures += erg_runtime_device_count(rt) < 1;
    erg_runtime_destroy(rt);
    std::printf("test_header_cxx: %d failed\n", failures);
    return failures ? 1 : 0;
}
