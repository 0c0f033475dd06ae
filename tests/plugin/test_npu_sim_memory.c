/*
 * npu-sim's memory and execution through the ABI directly, as a vendor's
 * plugin would be driven: buffers, copies in and out (and out-of-range
 * copies refused), a buffer over host memory, abilities that match the
 * functions offered, and an ADD executed with wait and signal fences.
 */
#include "backends/plugin/plugin_lib.h"
#include "tests/test.h"

#include <string.h>

static erg_plugin_tensor f32_vector(int64_t n) {
    erg_plugin_tensor t;
    memset(&t, 0, sizeof t);
    t.struct_size = sizeof t;
    t.dtype = ERG_PLUGIN_DT_F32;
    t.ne[0] = n;
    t.ne[1] = t.ne[2] = t.ne[3] = 1;
    t.nbytes = (size_t)n * sizeof(float);
    t.is_static = 1;
    return t;
}

static void test_abilities(const erg_plugin_api *api) {
    erg_plugin_device_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    char err[ERG_PLUGIN_ERR_MAX] = "";
    CHECK(api->device_info(0, &info, err) == ERG_PLUGIN_OK);
    /* What it says it can do is what its table offers. */
    CHECK(!(info.abilities & ERG_PLUGIN_CAN_IMPORT_HOST) == !api->buffer_import_host);
    CHECK(!(info.abilities & ERG_PLUGIN_CAN_IMPORT_DMABUF) == !api->buffer_import_dmabuf);
    CHECK(!(info.abilities & ERG_PLUGIN_CAN_EXPORT_DMABUF) == !api->buffer_export_dmabuf);
    CHECK(!(info.abilities & ERG_PLUGIN_CAN_MAP) == !api->buffer_map);
    CHECK(info.abilities & ERG_PLUGIN_SIMULATED);
    CHECK(info.driver[0] == '\0' && info.bus_path[0] == '\0'); /* claims no real device */
}

static void test_buffers(const erg_plugin_api *api, erg_plugin_device *dev) {
    char err[ERG_PLUGIN_ERR_MAX] = "";
    erg_plugin_buffer *b = NULL, *host = NULL;
    float in[4] = {1, 2, 3, 4}, out[4] = {0};
    CHECK(api->buffer_alloc(dev, sizeof in, ERG_PLUGIN_MEM_DEVICE, &b, err) == ERG_PLUGIN_OK);
    CHECK(api->copy_to_device(b, 0, in, sizeof in, err) == ERG_PLUGIN_OK);
    CHECK(api->copy_from_device(b, 4, out, 12, err) == ERG_PLUGIN_OK);
    CHECK(out[0] == 2 && out[2] == 4);
    CHECK(api->copy_to_device(b, 8, in, sizeof in, err) == ERG_PLUGIN_E_INVALID);
    CHECK(strstr(err, "16 bytes at 8 outside a buffer of 16") != NULL);
    float mem[4] = {0};
    CHECK(api->buffer_import_host(dev, mem, sizeof mem, &host, err) == ERG_PLUGIN_OK);
    CHECK(api->copy_to_device(host, 0, in, sizeof in, err) == ERG_PLUGIN_OK);
    CHECK(mem[3] == 4); /* the buffer is the host's memory */
    api->buffer_free(host);
    api->buffer_free(b);
}

/* y = a + b on the device; execute waits on `ready` and signals `done`. */
static void test_execute(const erg_plugin_api *api, erg_plugin_device *dev) {
    erg_plugin_tensor t[3] = {f32_vector(4), f32_vector(4), f32_vector(4)};
    erg_plugin_op op;
    memset(&op, 0, sizeof op);
    op.struct_size = sizeof op;
    op.kind = ERG_PLUGIN_OP_ADD;
    op.n_src = 2;
    op.src[1] = 1;
    op.dst = 2;
    erg_plugin_graph g = {sizeof g, 3, 1, t, sizeof t[0], &op, sizeof op};
    erg_plugin_support sup;
    memset(&sup, 0, sizeof sup);
    sup.struct_size = sizeof sup;
    CHECK(api->op_support(dev, &g, &sup) == ERG_PLUGIN_OK && sup.verdict == ERG_PLUGIN_YES);
    char err[ERG_PLUGIN_ERR_MAX] = "";
    erg_plugin_compiled *c = NULL;
    erg_plugin_compile_stats cs = {.struct_size = sizeof cs};
    CHECK(api->compile(dev, &g, &c, &cs, err) == ERG_PLUGIN_OK && c);
    erg_plugin_buffer *buf[3] = {NULL, NULL, NULL};
    for (int i = 0; i < 3; i++)
        CHECK(api->buffer_alloc(dev, 16, ERG_PLUGIN_MEM_DEVICE, &buf[i], err) == ERG_PLUGIN_OK);
    float a[4] = {1, 2, 3, 4}, b[4] = {10, 20, 30, 40}, y[4] = {0};
    api->copy_to_device(buf[0], 0, a, sizeof a, err);
    api->copy_to_device(buf[1], 0, b, sizeof b, err);
    erg_plugin_fence *ready = NULL, *done = NULL;
    CHECK(api->fence_create(dev, &ready, err) == ERG_PLUGIN_OK);
    CHECK(api->fence_create(dev, &done, err) == ERG_PLUGIN_OK);
    /* Nothing signals `done` yet, and an execute waiting on it is refused. */
    CHECK(api->fence_wait(done, 0, err) == ERG_PLUGIN_E_INVALID);
    CHECK(api->execute(c, buf, 3, done, ready, err) == ERG_PLUGIN_E_INVALID);
    CHECK(api->execute(c, buf, 3, NULL, ready, err) == ERG_PLUGIN_OK);
    CHECK(api->execute(c, buf, 3, ready, done, err) == ERG_PLUGIN_OK);
    CHECK(api->fence_wait(done, UINT64_MAX, err) == ERG_PLUGIN_OK);
    CHECK(api->copy_from_device(buf[2], 0, y, sizeof y, err) == ERG_PLUGIN_OK);
    CHECK(y[0] == 11 && y[3] == 44);
    /* Too few bindings: refused, not read past. */
    CHECK(api->execute(c, buf, 2, NULL, NULL, err) == ERG_PLUGIN_E_INVALID);
    erg_plugin_counters k = {.struct_size = sizeof k};
    CHECK(api->counters(dev, &k, err) == ERG_PLUGIN_OK);
    CHECK(k.simulated == 1 && k.busy_seconds > 0 && k.energy_joules > 0);
    api->fence_destroy(ready);
    api->fence_destroy(done);
    for (int i = 0; i < 3; i++)
        api->buffer_free(buf[i]);
    api->compiled_free(c);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        printf("usage: %s PATH/liberg-plugin-npu-sim.so\n", argv[0]);
        return 1;
    }
    erg_logger quiet = {NULL, NULL, ERG_LOG_NONE};
    erg_plugin_lib *lib = NULL;
    erg_diag diag = {{0}};
    CHECK(erg_plugin_lib_open(argv[1], NULL, &quiet, &lib, &diag) == ERG_OK);
    if (!lib)
        return erg_test_result("test_npu_sim_memory");
    erg_plugin_device *dev = NULL;
    char err[ERG_PLUGIN_ERR_MAX] = "";
    CHECK(lib->api.device_open(0, &dev, err) == ERG_PLUGIN_OK);
    if (dev) {
        test_abilities(&lib->api);
        test_buffers(&lib->api, dev);
        test_execute(&lib->api, dev);
        lib->api.device_close(dev);
    }
    erg_plugin_lib_close(lib);
    return erg_test_result("test_npu_sim_memory");
}
