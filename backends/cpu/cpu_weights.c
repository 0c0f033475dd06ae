/* Packing a model's matmul weights for the CPU kernels, once per model. The
 * packed copy is what matmuls read; lookups (GET_ROWS) and the reference
 * path keep reading the file. */
#include "backends/cpu/cpu_weights.h"

#include "backends/cpu/cpu_device.h"
#include "backends/cpu/pack.h"

#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

struct erg_backend_weights {
    const erg_allocator *alloc;
    erg_cpu_packed_weight *w; /* per weight index */
    size_t n;
    void *memory;             /* every packed matrix, one allocation */
};

void erg_cpu_weights_free(erg_backend_weights *w) {
    if (!w)
        return;
    erg_free(w->alloc, w->memory);
    erg_free(w->alloc, w->w);
    erg_free(w->alloc, w);
}

/* The layout weight i gets on this device (NONE: read in place). */
static erg_cpu_pack layout_for(const erg_backend_device *dev, const erg_weight_desc *d) {
    if (dev->no_repack || !d->matmul || d->ne[2] * d->ne[3] != 1)
        return ERG_CPU_PACK_NONE;
    erg_cpu_pack p = erg_cpu_pack_choose(d->dtype, d->ne[0], d->ne[1]);
    return dev->kernels->matmul_packed[p].gemm ? p : ERG_CPU_PACK_NONE;
}

/* The packed copy is what the CPU's matmuls read from now on, so the
 * source's pages go back to the kernel as each matrix is packed, and the
 * two copies are not resident together (except a tied embedding table,
 * whose rows lookups still read every step: the caller keeps it).
 * MADV_PAGEOUT keeps the data (file pages are read again, anonymous ones
 * come back from swap) for whatever reads it later: the reference path,
 * another device's upload. Only whole pages inside the matrix; where the
 * kernel lacks the advice, nothing changes. */
static void page_out(const void *data, size_t bytes) {
#if defined(MADV_PAGEOUT)
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0)
        return;
    uintptr_t lo = ((uintptr_t)data + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
    uintptr_t hi = ((uintptr_t)data + bytes) & ~((uintptr_t)page - 1);
    if (hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_PAGEOUT);
#else
    (void)data;
    (void)bytes;
#endif
}

erg_status erg_cpu_weights_prepare(erg_backend_device *dev, const erg_weight_desc *weights,
                                   size_t n, erg_backend_weights **out, size_t *bytes,
                                   erg_diag *diag) {
    *out = NULL;
    *bytes = 0;
    erg_backend_weights *w = erg_calloc(dev->alloc, 1, sizeof *w);
    if (!w || !(w->w = erg_calloc(dev->alloc, n ? n : 1, sizeof *w->w))) {
        erg_free(dev->alloc, w);
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "CPU weight table of %zu tensors", n);
    }
    w->alloc = dev->alloc;
    w->n = n;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        erg_cpu_pack p = layout_for(dev, &weights[i]);
        w->w[i].pack = p;
        w->w[i].group_bytes = erg_cpu_pack_group_bytes(p, weights[i].ne[0]);
        total += w->w[i].group_bytes * (size_t)(weights[i].ne[1] / ERG_CPU_PACK_ROWS);
    }
    if (total) {
        w->memory = erg_aligned_alloc(dev->alloc, total, 64);
        if (!w->memory) {
            erg_cpu_weights_free(w);
            return erg_fail(diag, ERG_OUT_OF_MEMORY, "packed CPU weights of %.1f MiB",
                            (double)total / 1048576.0);
        }
    }
    char *p = w->memory;
    for (size_t i = 0; i < n; i++) {
        if (w->w[i].pack == ERG_CPU_PACK_NONE)
            continue;
        const erg_weight_desc *d = &weights[i];
        erg_cpu_pack_rows(w->w[i].pack, d->data, d->row_bytes, d->ne[1], d->ne[0], p);
        if (!d->lookup) /* a tied embedding is still read row by row */
            page_out(d->data, d->row_bytes * (size_t)d->ne[1]);
        w->w[i].data = p;
        p += w->w[i].group_bytes * (size_t)(d->ne[1] / ERG_CPU_PACK_ROWS);
    }
    *bytes = total;
    *out = w;
    return ERG_OK;
}

const erg_cpu_packed_weight *erg_cpu_weights_packed(const erg_backend_weights *w, int32_t ext_id) {
    if (!w || ext_id < 0 || (size_t)ext_id >= w->n || w->w[ext_id].pack == ERG_CPU_PACK_NONE)
        return NULL;
    return &w->w[ext_id];
}
