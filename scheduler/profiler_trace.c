/* Chrome trace event format: {"traceEvents": [...]}, times in µs. */
#include "scheduler/profiler_report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static cJSON *thread_name(int tid, const char *name) {
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "name", "thread_name");
    cJSON_AddStringToObject(m, "ph", "M");
    cJSON_AddNumberToObject(m, "pid", 1);
    cJSON_AddNumberToObject(m, "tid", tid);
    cJSON *args = cJSON_AddObjectToObject(m, "args");
    cJSON_AddStringToObject(args, "name", name);
    return m;
}

static cJSON *node_event(const erg_profiler *p, const erg_profile_event *ev, int tid) {
    const erg_profile_row *r = &p->rows[ev->row];
    char shape[48], dtype[24];
    erg_profile_row_shape(r, shape, sizeof shape);
    erg_profile_row_dtype(r, dtype, sizeof dtype);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", erg_op_name(r->op));
    cJSON_AddStringToObject(o, "cat", erg_profile_phase_name(ev->phase));
    cJSON_AddStringToObject(o, "ph", "X");
    cJSON_AddNumberToObject(o, "ts", ev->start_s * 1e6);
    cJSON_AddNumberToObject(o, "dur", ev->seconds * 1e6);
    cJSON_AddNumberToObject(o, "pid", 1);
    cJSON_AddNumberToObject(o, "tid", tid);
    cJSON *args = cJSON_AddObjectToObject(o, "args");
    cJSON_AddStringToObject(args, "shape", shape);
    cJSON_AddStringToObject(args, "dtype", dtype);
    cJSON_AddNumberToObject(args, "run", ev->step);
    return o;
}

erg_status erg_profile_write_trace(const char *path, const erg_profiler *const *profiles,
                                   size_t n, erg_diag *diag) {
    cJSON *root = cJSON_CreateObject();
    cJSON *events = root ? cJSON_AddArrayToObject(root, "traceEvents") : NULL;
    if (!events) {
        cJSON_Delete(root);
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "trace");
    }
    cJSON_AddStringToObject(root, "displayTimeUnit", "ms");
    for (size_t d = 0; d < n; d++) {
        const erg_profiler *p = profiles[d];
        int tid = (int)d + 1;
        cJSON_AddItemToArray(events, thread_name(tid, p->device));
        for (size_t i = 0; i < p->n_events; i++)
            cJSON_AddItemToArray(events, node_event(p, &p->events[i], tid));
    }
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "trace text");
    FILE *f = fopen(path, "wb");
    if (!f) {
        int err = errno;
        free(text);
        return erg_fail(diag, ERG_IO, "trace %s: %s", path, strerror(err));
    }
    size_t len = strlen(text);
    bool ok = fwrite(text, 1, len, f) == len;
    ok = fclose(f) == 0 && ok;
    free(text);
    if (!ok)
        return erg_fail(diag, ERG_IO, "trace %s: write failed", path);
    return ERG_OK;
}
