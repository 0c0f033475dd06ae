/*
 * Building erg's OpenCL program for a device. The binary cache is tried
 * first; a build from source writes a new entry. Variants that use an
 * extension (sub-group reductions) are chosen by build options where the
 * device lists the extension; should such a build fail, the portable
 * kernels are built instead. The tiled matmul kernels are built only for
 * devices that run them (-DERG_TILED): on PoCL they were a third of the
 * compile time of a cold cache, for kernels a CPU device never launches.
 */
#include "backends/opencl/cl_program.h"

#include "backends/opencl/cl_cache.h"
#include "backends/opencl/cl_enumerate.h"
#include "backends/opencl/cl_sources.h"
#include "hal/cache_dir.h"
#include "hal/timer.h"

#include <stdio.h>
#include <string.h>

/* Characters of the compiler's log a diag quotes (the log gets it all). */
#define LOG_EXCERPT 360

static const erg_dtype weight_types[ERG_CL_N_WEIGHT_TYPES] = {
    ERG_DT_F32,  ERG_DT_F16,  ERG_DT_BF16, ERG_DT_Q4_0, ERG_DT_Q4_1, ERG_DT_Q5_0,
    ERG_DT_Q5_1, ERG_DT_Q8_0, ERG_DT_Q4_K, ERG_DT_Q5_K, ERG_DT_Q6_K};

int erg_cl_weight_index(erg_dtype t) {
    for (int i = 0; i < ERG_CL_N_WEIGHT_TYPES; i++)
        if (weight_types[i] == t)
            return i;
    return -1;
}

void erg_cl_kernel_name(erg_cl_kernel k, char *buf, size_t n) {
    static const char *const singles[] = {"k_elementwise", "k_rms_norm", "k_softmax",
                                          "k_rope",        "k_cpy",      "k_attention"};
    static const char *const families[] = {"k_get_rows_", "k_matvec_", "k_matmul_",
                                           "k_matvec_swiglu_", "k_matmul_swiglu_"};
    if (k < ERG_CL_K_GET_ROWS) {
        snprintf(buf, n, "%s", singles[k]);
        return;
    }
    int i = (int)k - ERG_CL_K_GET_ROWS;
    snprintf(buf, n, "%s%s", families[i / ERG_CL_N_WEIGHT_TYPES],
             erg_dtype_name(weight_types[i % ERG_CL_N_WEIGHT_TYPES]));
}

bool erg_cl_kernel_tiled(erg_cl_kernel k) {
    return (k >= ERG_CL_K_MATMUL && k < ERG_CL_K_MATMUL + ERG_CL_N_WEIGHT_TYPES) ||
           (k >= ERG_CL_K_MATMUL_SWIGLU && k < ERG_CL_K_MATMUL_SWIGLU + ERG_CL_N_WEIGHT_TYPES);
}

/* Options for the device's extensions; "" when there are none. */
static const char *extension_options(const erg_cl_build_target *t) {
    if (erg_cl_has_extension(t->cl, t->device, "cl_intel_subgroups"))
        return "-DERG_SUBGROUPS -DERG_SUBGROUPS_INTEL";
    if (erg_cl_has_extension(t->cl, t->device, "cl_khr_subgroups"))
        return "-cl-std=CL2.0 -DERG_SUBGROUPS";
    return "";
}

/* The build options: the kernel set, then the extensions' if any. */
static void build_options(const erg_cl_build_target *t, const char *extensions, char *buf,
                          size_t n) {
    snprintf(buf, n, "%s%s%s", t->tiled ? "-DERG_TILED" : "",
             t->tiled && extensions[0] ? " " : "", extensions);
}

static uint64_t source_hash(void) {
    uint64_t h = ERG_FNV1A64_SEED;
    for (size_t i = 0; i < erg_cl_n_sources; i++) {
        h = erg_fnv1a64(erg_cl_sources[i].name, strlen(erg_cl_sources[i].name), h);
        h = erg_fnv1a64(erg_cl_sources[i].text, erg_cl_sources[i].len, h);
    }
    return h;
}

/* What a cached binary must have been built for. */
static void cache_key(const erg_cl_build_target *t, const char *options, char *buf, size_t n) {
    char plat[128], dev[128], dev_version[128], driver[128];
    erg_cl_platform_string(t->cl, t->platform, CL_PLATFORM_VERSION, plat, sizeof plat);
    erg_cl_device_string(t->cl, t->device, CL_DEVICE_NAME, dev, sizeof dev);
    erg_cl_device_string(t->cl, t->device, CL_DEVICE_VERSION, dev_version, sizeof dev_version);
    erg_cl_device_string(t->cl, t->device, CL_DRIVER_VERSION, driver, sizeof driver);
    snprintf(buf, n,
             "erg opencl program\nplatform: %s\ndevice: %s\ndevice version: %s\ndriver: %s\n"
             "options: %s\nsource: %016llx\n",
             plat, dev, dev_version, driver, options, (unsigned long long)source_hash());
}

/* The compiler's log; NULL if there is none (free with erg_free). */
static char *build_log(const erg_cl_build_target *t, cl_program prog) {
    size_t len = 0;
    if (t->cl->clGetProgramBuildInfo(prog, t->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &len) !=
            CL_SUCCESS ||
        len == 0)
        return NULL;
    char *text = erg_malloc(t->alloc, len + 1);
    if (!text)
        return NULL;
    if (t->cl->clGetProgramBuildInfo(prog, t->device, CL_PROGRAM_BUILD_LOG, len, text, NULL) !=
        CL_SUCCESS) {
        erg_free(t->alloc, text);
        return NULL;
    }
    text[len] = '\0';
    return text;
}

static erg_status build_from_source(const erg_cl_build_target *t, const char *options,
                                    cl_program *out, erg_diag *diag) {
    /* Each file after a #line naming it, so that the compiler's messages
     * point into shaders/opencl. */
    enum { MAX_FILES = 16 };
    char lines[MAX_FILES][64];
    const char *texts[2 * MAX_FILES];
    size_t lens[2 * MAX_FILES];
    size_t n = erg_cl_n_sources < MAX_FILES ? erg_cl_n_sources : MAX_FILES;
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(lines[i], sizeof lines[i], "#line 1 \"%s\"\n", erg_cl_sources[i].name);
        texts[2 * i] = lines[i];
        lens[2 * i] = w > 0 && (size_t)w < sizeof lines[i] ? (size_t)w : 0;
        texts[2 * i + 1] = erg_cl_sources[i].text;
        lens[2 * i + 1] = erg_cl_sources[i].len;
    }
    cl_int err;
    cl_program prog =
        t->cl->clCreateProgramWithSource(t->ctx, (cl_uint)(2 * n), texts, lens, &err);
    if (err != CL_SUCCESS)
        return erg_cl_fail(diag, err, "%s: clCreateProgramWithSource", t->device_label);
    err = t->cl->clBuildProgram(prog, 1, &t->device, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        char *log = build_log(t, prog);
        erg_status st = erg_fail(diag, erg_cl_status(err),
                                 "%s: clBuildProgram (options '%s') failed: %s (%d); compiler "
                                 "log: %.*s",
                                 t->device_label, options, erg_cl_error_name(err), (int)err,
                                 LOG_EXCERPT, log ? log : "(none)");
        if (log)
            ERG_LOGI(t->log, "%s: OpenCL compiler log (options '%s'):\n%s", t->device_label,
                     options, log);
        erg_free(t->alloc, log);
        t->cl->clReleaseProgram(prog);
        return st;
    }
    *out = prog;
    return ERG_OK;
}

static cl_int build_from_binary(const erg_cl_build_target *t, const char *options,
                                const void *binary, size_t len, cl_program *out) {
    const unsigned char *bins[1] = {binary};
    cl_int err, status = CL_SUCCESS;
    cl_program prog = t->cl->clCreateProgramWithBinary(t->ctx, 1, &t->device, &len, bins, &status,
                                                       &err);
    if (err == CL_SUCCESS && status != CL_SUCCESS)
        err = status;
    if (err != CL_SUCCESS) {
        if (prog)
            t->cl->clReleaseProgram(prog);
        return err;
    }
    err = t->cl->clBuildProgram(prog, 1, &t->device, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        t->cl->clReleaseProgram(prog);
        return err;
    }
    *out = prog;
    return CL_SUCCESS;
}

/* Writes prog's binary to the cache entry at path (a failure is logged and
 * otherwise ignored: the cache only saves time). */
static bool store_binary(const erg_cl_build_target *t, cl_program prog, const char *path,
                         const char *key) {
    size_t size = 0;
    erg_diag why = {{0}};
    unsigned char *bin = NULL;
    bool ok = false;
    if (t->cl->clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) !=
            CL_SUCCESS ||
        size == 0) {
        erg_fail(&why, ERG_UNSUPPORTED, "the driver gives no program binary");
    } else if (!(bin = erg_malloc(t->alloc, size))) {
        erg_fail(&why, ERG_OUT_OF_MEMORY, "out of memory for a %zu-byte binary", size);
    } else if (t->cl->clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bin, &bin, NULL) !=
               CL_SUCCESS) {
        erg_fail(&why, ERG_UNSUPPORTED, "the driver gives no program binary");
    } else {
        ok = erg_cl_cache_write(t->alloc, path, key, bin, size, &why);
    }
    if (!ok)
        ERG_LOGI(t->log, "%s: OpenCL program not cached (%s); continuing without the cache",
                 t->device_label, why.msg);
    erg_free(t->alloc, bin);
    return ok;
}

/* The program for these options: from the cache, else from source. */
static erg_status obtain(const erg_cl_build_target *t, const char *options, cl_program *out,
                         erg_cl_build_report *r, erg_diag *diag) {
    char dir[900], key[1024];
    erg_diag no_dir = {{0}};
    cache_key(t, options, key, sizeof key);
    r->cache_path[0] = '\0';
    if (erg_cache_dir("opencl", dir, sizeof dir, &no_dir) != ERG_OK)
        ERG_LOGI(t->log, "%s: no OpenCL program cache: %s", t->device_label, no_dir.msg);
    else if (erg_cl_cache_path(dir, key, r->cache_path, sizeof r->cache_path)) {
        void *bin = NULL;
        size_t len = 0;
        char why[256] = "";
        erg_cl_cache_result res = erg_cl_cache_read(t->alloc, r->cache_path, key, &bin, &len, why,
                                                    sizeof why);
        if (res == ERG_CL_CACHE_HIT) {
            cl_int err = build_from_binary(t, options, bin, len, out);
            erg_free(t->alloc, bin);
            if (err == CL_SUCCESS) {
                r->from_cache = true;
                return ERG_OK;
            }
            snprintf(why, sizeof why, "the driver refused the binary: %s (%d)",
                     erg_cl_error_name(err), (int)err);
        }
        if (res != ERG_CL_CACHE_MISS) {
            r->cache_rejected = true;
            ERG_LOGI(t->log, "%s: OpenCL program cache entry %s unusable (%s): rebuilding",
                     t->device_label, r->cache_path, why);
        }
    }
    ERG_RETURN_IF_ERROR(build_from_source(t, options, out, diag));
    if (r->cache_path[0])
        r->cache_written = store_binary(t, *out, r->cache_path, key);
    return ERG_OK;
}

/* Every kernel is in the program and runs with ERG_CL_LWS work-items. */
static erg_status check_kernels(const erg_cl_build_target *t, cl_program prog, erg_diag *diag) {
    for (int k = 0; k < ERG_CL_K_COUNT; k++) {
        if (!t->tiled && erg_cl_kernel_tiled((erg_cl_kernel)k))
            continue;
        char name[64];
        erg_cl_kernel_name((erg_cl_kernel)k, name, sizeof name);
        cl_int err;
        cl_kernel kernel = t->cl->clCreateKernel(prog, name, &err);
        if (err != CL_SUCCESS)
            return erg_cl_fail(diag, err, "%s: clCreateKernel(%s)", t->device_label, name);
        size_t wg = 0;
        err = t->cl->clGetKernelWorkGroupInfo(kernel, t->device, CL_KERNEL_WORK_GROUP_SIZE,
                                              sizeof wg, &wg, NULL);
        t->cl->clReleaseKernel(kernel);
        if (err != CL_SUCCESS)
            return erg_cl_fail(diag, err, "%s: clGetKernelWorkGroupInfo(%s)", t->device_label,
                               name);
        if (wg < ERG_CL_LWS)
            return erg_fail(diag, ERG_UNSUPPORTED,
                            "%s: kernel %s runs at most %zu work-items per group; erg's kernels "
                            "need %d",
                            t->device_label, name, wg, ERG_CL_LWS);
    }
    return ERG_OK;
}

erg_status erg_cl_program_build(const erg_cl_build_target *t, cl_program *out,
                                erg_cl_build_report *report, erg_diag *diag) {
    *out = NULL;
    memset(report, 0, sizeof *report);
    double t0 = erg_time_s();
    const char *extensions = extension_options(t);
    build_options(t, extensions, report->options, sizeof report->options);
    erg_status st = obtain(t, report->options, out, report, diag);
    if (st != ERG_OK && extensions[0]) {
        ERG_LOGI(t->log, "%s: kernels with '%s' did not build (%s); using the portable ones",
                 t->device_label, report->options, diag ? diag->msg : "");
        build_options(t, "", report->options, sizeof report->options);
        report->portable = true;
        st = obtain(t, report->options, out, report, diag);
    }
    if (st == ERG_OK && (st = check_kernels(t, *out, diag)) != ERG_OK) {
        t->cl->clReleaseProgram(*out);
        *out = NULL;
    }
    report->seconds = erg_time_s() - t0;
    return st;
}
