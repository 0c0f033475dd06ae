#include "graph/dump.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdlib.h>

const char *erg_tensor_kind_name(erg_tensor_kind kind) {
    static const char *const names[] = {"activation", "input", "weight", "state", "view",
                                         "unused"};
    return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : "invalid";
}

static void shape_text(const erg_tensor *t, char *buf, size_t n) {
    int dims = 4;
    while (dims > 1 && t->ne[dims - 1] == 1)
        dims--;
    size_t used = (size_t)snprintf(buf, n, "%s [", erg_dtype_name(t->dtype));
    for (int i = 0; i < dims && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%lld", i ? "," : "", (long long)t->ne[i]);
    if (used < n)
        snprintf(buf + used, n - used, "]");
}

/* Writes s as a DOT string body: quotes and backslashes escaped (tensor
 * names come from model files). */
static void dot_text(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        fputc(*s, f);
    }
}

erg_status erg_graph_dump_dot(const erg_graph *g, FILE *f, erg_diag *diag) {
    fprintf(f, "digraph erg {\n  rankdir=TB;\n  node [fontname=\"monospace\", fontsize=10];\n");
    /* Leaves the nodes read: weights, inputs, state. */
    for (size_t t = 0; t < g->n_tensors; t++) {
        const erg_tensor *tt = &g->tensors[t];
        if (tt->producer >= 0)
            continue;
        char shape[96];
        shape_text(tt, shape, sizeof shape);
        fprintf(f, "  t%zu [shape=%s, label=\"", t, tt->kind == ERG_TENSOR_WEIGHT ? "note" : "ellipse");
        dot_text(f, tt->name);
        fprintf(f, "\\n%s\"];\n", shape);
    }
    for (size_t i = 0; i < g->n_nodes; i++) {
        const erg_node *n = &g->nodes[i];
        const erg_tensor *d = &g->tensors[n->dst];
        char shape[96];
        shape_text(d, shape, sizeof shape);
        fprintf(f, "  t%d [shape=box%s, label=\"%s\\n", n->dst,
                erg_op_is_view(n->op) ? ", style=dashed" : ", style=filled, fillcolor=\"#e8eef7\"",
                erg_op_name(n->op));
        dot_text(f, d->name);
        fprintf(f, "\\n%s\"];\n", shape);
        for (int s = 0; s < n->n_src; s++)
            fprintf(f, "  t%d -> t%d%s;\n", n->src[s], n->dst,
                    erg_op_is_view(n->op) && s > 0 ? " [style=dotted]" : "");
    }
    fprintf(f, "}\n");
    if (ferror(f))
        return erg_fail(diag, ERG_IO, "writing the DOT graph failed");
    return ERG_OK;
}

/* The objects below return NULL if any part could not be allocated. */
static cJSON *tensor_json(const erg_tensor *t, int32_t id) {
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    bool ok = true;
    ok = ok && cJSON_AddNumberToObject(o, "id", id);
    ok = ok && cJSON_AddStringToObject(o, "name", t->name);
    ok = ok && cJSON_AddStringToObject(o, "kind", erg_tensor_kind_name(t->kind));
    ok = ok && cJSON_AddStringToObject(o, "dtype", erg_dtype_name(t->dtype));
    double ne[4], nb[4];
    for (int i = 0; i < 4; i++) {
        ne[i] = (double)t->ne[i];
        nb[i] = (double)t->nb[i];
    }
    ok = ok && cJSON_AddItemToObject(o, "shape", cJSON_CreateDoubleArray(ne, 4));
    ok = ok && cJSON_AddItemToObject(o, "strides", cJSON_CreateDoubleArray(nb, 4));
    ok = ok && cJSON_AddNumberToObject(o, "bytes", (double)erg_tensor_nbytes(t));
    if (t->kind == ERG_TENSOR_VIEW) {
        ok = ok && cJSON_AddNumberToObject(o, "view_of", t->view_src);
        ok = ok && cJSON_AddNumberToObject(o, "view_offset", (double)t->view_offset);
    }
    if (t->flags & ERG_TENSOR_FLAG_OUTPUT)
        ok = ok && cJSON_AddBoolToObject(o, "output", 1);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *node_json(const erg_node *n, int32_t id) {
    cJSON *o = cJSON_CreateObject();
    bool ok = o && cJSON_AddNumberToObject(o, "id", id) &&
              cJSON_AddStringToObject(o, "op", erg_op_name(n->op)) &&
              cJSON_AddItemToObject(o, "src", cJSON_CreateIntArray(n->src, n->n_src)) &&
              cJSON_AddNumberToObject(o, "dst", n->dst) &&
              cJSON_AddItemToObject(o, "iparams", cJSON_CreateIntArray(n->iparams, ERG_MAX_IPARAMS)) &&
              cJSON_AddItemToObject(o, "fparams",
                                    cJSON_CreateFloatArray(n->fparams, ERG_MAX_FPARAMS));
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

erg_status erg_graph_dump_json(const erg_graph *g, FILE *f, erg_diag *diag) {
    cJSON *root = cJSON_CreateObject();
    cJSON *tensors = cJSON_AddArrayToObject(root, "tensors");
    cJSON *nodes = cJSON_AddArrayToObject(root, "nodes");
    if (!root || !tensors || !nodes) {
        cJSON_Delete(root);
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "building the JSON graph");
    }
    bool ok = true;
    for (size_t t = 0; t < g->n_tensors && ok; t++)
        ok = cJSON_AddItemToArray(tensors, tensor_json(&g->tensors[t], (int32_t)t));
    for (size_t i = 0; i < g->n_nodes && ok; i++)
        ok = cJSON_AddItemToArray(nodes, node_json(&g->nodes[i], (int32_t)i));
    if (!ok) {
        cJSON_Delete(root);
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "building the JSON graph");
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "printing the JSON graph");
    fputs(text, f);
    fputc('\n', f);
    free(text);
    if (ferror(f))
        return erg_fail(diag, ERG_IO, "writing the JSON graph failed");
    return ERG_OK;
}
