/* Replacing a GGUF file's tokenizer section with a tokenizer.json's: every
 * other key and every tensor is copied as it is. */
#include "model/vocab_import.h"

#include <stdio.h>
#include <string.h>

static erg_status copy_all_but_tokenizer(erg_gguf *g, erg_gguf_writer *w) {
    for (uint64_t i = 0; i < erg_gguf_kv_count(g); i++)
        if (strncmp(erg_gguf_kv_key(g, i), "tokenizer.", 10) != 0)
            ERG_RETURN_IF_ERROR(erg_gguf_writer_copy_kv(w, g, i));
    return ERG_OK;
}

static erg_status copy_tensors(erg_gguf *g, erg_gguf_writer *w) {
    for (uint64_t i = 0; i < erg_gguf_tensor_count(g); i++) {
        const erg_gguf_tensor *t = erg_gguf_tensor_at(g, i);
        ERG_RETURN_IF_ERROR(
            erg_gguf_writer_add_tensor(w, t->name.ptr, t->dtype, t->n_dims, t->ne, t->data));
    }
    return ERG_OK;
}

erg_status erg_vocab_embed_json(const erg_allocator *alloc, const char *path, const char *json_path,
                                erg_diag *diag) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tok-tmp", path) >= (int)sizeof tmp)
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "the path %s is too long", path);
    erg_gguf *g = NULL;
    erg_gguf_writer *w = NULL;
    uint32_t n_tokens = 0;
    erg_status st = erg_gguf_open_file(alloc, path, false, &g, diag);
    if (st == ERG_OK)
        st = erg_gguf_writer_create(alloc, &w, diag);
    if (st == ERG_OK && (st = copy_all_but_tokenizer(g, w)) != ERG_OK)
        erg_fail(diag, st, "copying the keys of %s", path);
    if (st == ERG_OK)
        st = erg_vocab_import_json(alloc, json_path, w, &n_tokens, diag);
    if (st == ERG_OK && (st = copy_tensors(g, w)) != ERG_OK)
        erg_fail(diag, st, "copying the tensors of %s", path);
    if (st == ERG_OK)
        st = erg_gguf_writer_write(w, tmp, diag);
    erg_gguf_writer_free(w);
    erg_gguf_close(g);
    if (st == ERG_OK && rename(tmp, path) != 0) {
        remove(tmp);
        st = erg_fail(diag, ERG_IO, "cannot replace %s", path);
    }
    return st;
}
