/* A stand-in for libnvidia-ml.so.1 with one GPU, for test_energy_nvml.
 * ERG_NVML_STUB_MODE picks its behaviour:
 *   ok           total energy rises 250 mJ per read
 *   stuck        total energy never moves
 *   unsupported  no total energy; power usage 42 W
 *   none         neither total energy nor power usage
 *   init_fail    nvmlInit_v2 fails */
#include <stdlib.h>
#include <string.h>

#define NVML_SUCCESS 0
#define NVML_ERROR_UNINITIALIZED 1
#define NVML_ERROR_NOT_SUPPORTED 3

/* Exported with default visibility whatever the build's preset is. */
#define STUB_API __attribute__((visibility("default")))

typedef void *nvml_device;

static int gpu; /* the address is the handle */
static unsigned long long energy_mj = 1000000;
static int initialised;

static const char *mode(void) {
    const char *m = getenv("ERG_NVML_STUB_MODE");
    return m ? m : "ok";
}

STUB_API int nvmlInit_v2(void);
STUB_API int nvmlShutdown(void);
STUB_API int nvmlDeviceGetCount_v2(unsigned *count);
STUB_API int nvmlDeviceGetHandleByIndex_v2(unsigned index, nvml_device *dev);
STUB_API int nvmlDeviceGetName(nvml_device dev, char *name, unsigned length);
STUB_API int nvmlDeviceGetTotalEnergyConsumption(nvml_device dev, unsigned long long *mj);
STUB_API int nvmlDeviceGetPowerUsage(nvml_device dev, unsigned *mw);
/* For the test: how many nvmlInit_v2 calls have no matching shutdown. */
STUB_API int erg_nvml_stub_open_count(void);

int nvmlInit_v2(void) {
    if (strcmp(mode(), "init_fail") == 0)
        return NVML_ERROR_UNINITIALIZED;
    initialised++;
    return NVML_SUCCESS;
}

int nvmlShutdown(void) {
    initialised--;
    return NVML_SUCCESS;
}

int erg_nvml_stub_open_count(void) { return initialised; }

int nvmlDeviceGetCount_v2(unsigned *count) {
    *count = 1;
    return NVML_SUCCESS;
}

int nvmlDeviceGetHandleByIndex_v2(unsigned index, nvml_device *dev) {
    if (index != 0)
        return NVML_ERROR_NOT_SUPPORTED;
    *dev = &gpu;
    return NVML_SUCCESS;
}

int nvmlDeviceGetName(nvml_device dev, char *name, unsigned length) {
    (void)dev;
    strncpy(name, "Stub GPU", length);
    name[length - 1] = '\0';
    return NVML_SUCCESS;
}

int nvmlDeviceGetTotalEnergyConsumption(nvml_device dev, unsigned long long *mj) {
    (void)dev;
    const char *m = mode();
    if (strcmp(m, "unsupported") == 0 || strcmp(m, "none") == 0)
        return NVML_ERROR_NOT_SUPPORTED;
    if (strcmp(m, "ok") == 0)
        energy_mj += 250;
    *mj = energy_mj;
    return NVML_SUCCESS;
}

int nvmlDeviceGetPowerUsage(nvml_device dev, unsigned *mw) {
    (void)dev;
    if (strcmp(mode(), "none") == 0)
        return NVML_ERROR_NOT_SUPPORTED;
    *mw = 42000;
    return NVML_SUCCESS;
}
