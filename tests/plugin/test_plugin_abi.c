/*
 * The plugin ABI's layout, frozen: sizes and offsets of the structs that
 * cross the boundary on LP64 targets. A change here is an ABI change: a new
 * major version, or (appending only) a new minor one.
 */
#include "erg/erg_plugin.h"
#include "tests/test.h"

#include <stddef.h>

int main(void) {
#if defined(__LP64__)
    CHECK_EQ_INT(ERG_PLUGIN_ABI_VERSION, 0x10001);
    CHECK_EQ_INT(sizeof(erg_plugin_host), 80);
    CHECK_EQ_INT(offsetof(erg_plugin_host, dequantize_row), 72);
    CHECK_EQ_INT(sizeof(erg_plugin_device_info), 296);
    CHECK_EQ_INT(offsetof(erg_plugin_device_info, memory_bytes), 280);
    CHECK_EQ_INT(sizeof(erg_plugin_tensor), 80);
    CHECK_EQ_INT(offsetof(erg_plugin_tensor, ne), 24);
    CHECK_EQ_INT(offsetof(erg_plugin_tensor, data), 72);
    CHECK_EQ_INT(sizeof(erg_plugin_op), 72);
    CHECK_EQ_INT(offsetof(erg_plugin_op, dst), 32);
    CHECK_EQ_INT(sizeof(erg_plugin_graph), 48);
    CHECK_EQ_INT(sizeof(erg_plugin_support), 168);
    CHECK_EQ_INT(sizeof(erg_plugin_compile_stats), 32);
    CHECK_EQ_INT(sizeof(erg_plugin_counters), 32);
    CHECK_EQ_INT(offsetof(erg_plugin_api, probe), 32);
    CHECK_EQ_INT(offsetof(erg_plugin_api, execute), 192);
    /* ABI 1.0's table ended at 232 bytes; 1.1 appended op_times. */
    CHECK_EQ_INT(offsetof(erg_plugin_api, op_times), 232);
    CHECK_EQ_INT(sizeof(erg_plugin_api), 240);
#endif
    /* Every struct starts with its size. */
    CHECK_EQ_INT(offsetof(erg_plugin_api, struct_size), 0);
    CHECK_EQ_INT(offsetof(erg_plugin_host, struct_size), 0);
    CHECK_EQ_INT(offsetof(erg_plugin_tensor, struct_size), 0);
    CHECK_EQ_INT(offsetof(erg_plugin_op, struct_size), 0);
    CHECK_EQ_INT(offsetof(erg_plugin_graph, struct_size), 0);
    CHECK_EQ_INT(offsetof(erg_plugin_support, struct_size), 0);
    return erg_test_result("test_plugin_abi");
}
