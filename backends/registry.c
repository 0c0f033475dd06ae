/* The one place backends are registered, each guarded by its build option.
 * The CPU comes first: it is the fallback and the reference. The vendor
 * plugins found on this machine follow the built-in backends. */
#include "backends/backend.h"

#include "backends/cpu/cpu_backend.h"
#ifdef ERG_HAVE_VULKAN
#include "backends/vulkan/vk_backend.h"
#endif
#ifdef ERG_HAVE_OPENCL
#include "backends/opencl/cl_backend.h"
#endif
#ifdef ERG_HAVE_PLUGINS
#include "backends/plugin/plugin_backend.h"

#include <pthread.h>
#endif

static const erg_backend *const registered[] = {
    &erg_cpu_backend,
#ifdef ERG_HAVE_VULKAN
    &erg_vulkan_backend,
#endif
#ifdef ERG_HAVE_OPENCL
    &erg_opencl_backend,
#endif
};
#define N_REGISTERED (sizeof registered / sizeof registered[0])

#ifdef ERG_HAVE_PLUGINS
static const erg_backend *all[N_REGISTERED + ERG_PLUGIN_SLOTS];
static size_t n_all;
static pthread_once_t all_once = PTHREAD_ONCE_INIT;

static void collect(void) {
    size_t n_plugins;
    const erg_backend *const *plugins = erg_plugin_backends(&n_plugins);
    for (size_t i = 0; i < N_REGISTERED; i++)
        all[n_all++] = registered[i];
    for (size_t i = 0; i < n_plugins; i++)
        all[n_all++] = plugins[i];
}

const erg_backend *const *erg_backends(size_t *count) {
    pthread_once(&all_once, collect);
    *count = n_all;
    return all;
}
#else
const erg_backend *const *erg_backends(size_t *count) {
    *count = N_REGISTERED;
    return registered;
}
#endif
