/* Compiled graphs as bytes, so erg can cache them on disk (what a real SDK
 * calls a context binary): the tensors, the ops with their modelled times,
 * and the device-format weights the matmuls read. Read back with every
 * count and size checked against the bytes there are. */
#include "sim.h"

#include <string.h>

/* Layout, in host byte order (a cached blob stays on the machine that made
 * it): magic; u32 n_tensors, n_ops, n_weights, weight_bits; f64 seconds;
 * per tensor i64 ne[4], u64 nbytes, u32 constant (44 bytes); per op u32
 * kind, n_src, src[4], dst, f32 f0, f64 seconds, i32 weight (44 bytes);
 * per weight u64 hash, i64 k, n, u32 gguf_type, dtype, i8 q[k * n],
 * f32 scale[n]. */
static const char magic[8] = {'N', 'P', 'U', 'S', 'I', 'M', 0, 1};

typedef struct out_bytes {
    unsigned char *buf; /* NULL: only count */
    size_t size;
} out_bytes;

static void put(out_bytes *o, const void *p, size_t n) {
    if (o->buf)
        memcpy(o->buf + o->size, p, n);
    o->size += n;
}

/* The weight table lists each matrix once, in order of first use; index[i]
 * is op i's entry (-1: none). Returns the table's length. */
static uint32_t weight_table(const erg_plugin_compiled *c, const sim_weights **table,
                             int32_t *index) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < c->n_ops; i++) {
        const sim_weights *w = c->ops[i].w;
        index[i] = -1;
        if (!w)
            continue;
        uint32_t j = 0;
        while (j < n && table[j] != w)
            j++;
        if (j == n)
            table[n++] = w;
        index[i] = (int32_t)j;
    }
    return n;
}

static void write_blob(const erg_plugin_compiled *c, const sim_weights **table,
                       const int32_t *index, uint32_t n_weights, out_bytes *o) {
    uint32_t head[4] = {c->n_tensors, c->n_ops, n_weights, (uint32_t)c->dev->prof.weight_bits};
    put(o, magic, sizeof magic);
    put(o, head, sizeof head);
    put(o, &c->seconds, sizeof c->seconds);
    for (uint32_t i = 0; i < c->n_tensors; i++) {
        const sim_tensor *t = &c->tensors[i];
        uint64_t nbytes = t->nbytes;
        uint32_t constant = t->constant;
        put(o, t->ne, sizeof t->ne);
        put(o, &nbytes, sizeof nbytes);
        put(o, &constant, sizeof constant);
    }
    for (uint32_t i = 0; i < c->n_ops; i++) {
        const sim_op *op = &c->ops[i];
        uint32_t f[7] = {(uint32_t)op->kind, op->n_src, op->src[0], op->src[1],
                         op->src[2],         op->src[3], op->dst};
        put(o, f, sizeof f);
        put(o, &op->f0, sizeof op->f0);
        put(o, &op->seconds, sizeof op->seconds);
        put(o, &index[i], sizeof index[i]);
    }
    for (uint32_t i = 0; i < n_weights; i++) {
        const sim_weights *w = table[i];
        uint32_t types[2] = {w->gguf_type, w->dtype};
        put(o, &w->hash, sizeof w->hash);
        put(o, &w->k, sizeof w->k);
        put(o, &w->n, sizeof w->n);
        put(o, types, sizeof types);
        put(o, w->q, (size_t)(w->k * w->n));
        put(o, w->scale, (size_t)w->n * sizeof *w->scale);
    }
}

erg_plugin_result sim_serialize(const erg_plugin_compiled *c, void *buf, size_t cap,
                                size_t *size, char *err) {
    if (!c || !size) {
        sim_err(err, "serialize: bad arguments");
        return ERG_PLUGIN_E_INVALID;
    }
    const sim_weights **table = sim_alloc(c->n_ops * sizeof *table);
    int32_t *index = sim_alloc(c->n_ops * sizeof *index);
    erg_plugin_result r = ERG_PLUGIN_OK;
    if (!table || !index) {
        sim_err(err, "serialize: out of memory");
        r = ERG_PLUGIN_E_NO_MEMORY;
    } else {
        uint32_t n_weights = weight_table(c, table, index);
        out_bytes o = {NULL, 0};
        write_blob(c, table, index, n_weights, &o);
        *size = o.size;
        if (buf && cap < o.size) {
            sim_err(err, "serialize: %zu bytes needed, %zu given", o.size, cap);
            r = ERG_PLUGIN_E_INVALID;
        } else if (buf) {
            o = (out_bytes){buf, 0};
            write_blob(c, table, index, n_weights, &o);
        }
    }
    sim_free(table);
    sim_free(index);
    return r;
}

typedef struct in_bytes {
    const unsigned char *p;
    size_t left;
} in_bytes;

static bool get(in_bytes *in, void *out, size_t n) {
    if (n > in->left)
        return false;
    memcpy(out, in->p, n);
    in->p += n;
    in->left -= n;
    return true;
}

static bool read_tensors(in_bytes *in, erg_plugin_compiled *c) {
    for (uint32_t i = 0; i < c->n_tensors; i++) {
        sim_tensor *t = &c->tensors[i];
        uint64_t nbytes;
        uint32_t constant;
        if (!get(in, t->ne, sizeof t->ne) || !get(in, &nbytes, sizeof nbytes) ||
            !get(in, &constant, sizeof constant) || nbytes > SIZE_MAX || constant > 1)
            return false;
        t->nbytes = (size_t)nbytes;
        t->constant = constant;
    }
    return true;
}

/* Ops, their operands in range; weight_of[i] is op i's weight (-1: none). */
static bool read_ops(in_bytes *in, erg_plugin_compiled *c, int32_t *weight_of,
                     uint32_t n_weights) {
    for (uint32_t i = 0; i < c->n_ops; i++) {
        sim_op *op = &c->ops[i];
        uint32_t f[7];
        if (!get(in, f, sizeof f) || !get(in, &op->f0, sizeof op->f0) ||
            !get(in, &op->seconds, sizeof op->seconds) ||
            !get(in, &weight_of[i], sizeof weight_of[i]))
            return false;
        op->kind = (erg_plugin_op_kind)f[0];
        op->n_src = f[1];
        memcpy(op->src, f + 2, sizeof op->src);
        op->dst = f[6];
        bool matmul = op->kind == ERG_PLUGIN_OP_MATMUL;
        if (op->n_src < 1 || op->n_src > 2 || op->dst >= c->n_tensors ||
            matmul != (weight_of[i] >= 0) || weight_of[i] >= (int32_t)n_weights)
            return false;
        for (uint32_t s = 0; s < op->n_src; s++)
            if (op->src[s] >= c->n_tensors)
                return false;
    }
    return true;
}

/* One weight matrix: the device's copy if it has these bytes already,
 * else a new one it adopts. */
static erg_plugin_result read_weights(in_bytes *in, erg_plugin_device *dev, sim_weights **out,
                                      char *err) {
    sim_weights h;
    memset(&h, 0, sizeof h);
    uint32_t types[2];
    if (!get(in, &h.hash, sizeof h.hash) || !get(in, &h.k, sizeof h.k) ||
        !get(in, &h.n, sizeof h.n) || !get(in, types, sizeof types) || h.k <= 0 || h.n <= 0 ||
        h.k > (int64_t)(in->left / (size_t)h.n) ||
        (size_t)(h.k * h.n) + (size_t)h.n * sizeof(float) > in->left) {
        sim_err(err, "deserialize: a weight matrix runs past the blob's end");
        return ERG_PLUGIN_E_INVALID;
    }
    h.gguf_type = types[0];
    h.dtype = types[1];
    h.bytes = (double)h.k * (double)h.n * dev->prof.weight_bits / 8.0 + (double)h.n * 4.0;
    size_t qn = (size_t)(h.k * h.n), sn = (size_t)h.n * sizeof(float);
    for (sim_weights *w = dev->weights; w; w = w->next)
        if (w->hash == h.hash && w->k == h.k && w->n == h.n && w->gguf_type == h.gguf_type &&
            w->dtype == h.dtype) {
            in->p += qn + sn;
            in->left -= qn + sn;
            *out = w;
            return ERG_PLUGIN_OK;
        }
    sim_weights *w = sim_alloc(sizeof *w);
    if (w) {
        *w = h;
        w->q = sim_alloc(qn);
        w->scale = sim_alloc(sn);
    }
    if (!w || !w->q || !w->scale) {
        if (w) {
            sim_free(w->q);
            sim_free(w->scale);
        }
        sim_free(w);
        sim_err(err, "deserialize: out of memory for %lld x %lld weights", (long long)h.k,
                (long long)h.n);
        return ERG_PLUGIN_E_NO_MEMORY;
    }
    get(in, w->q, qn);
    get(in, w->scale, sn);
    w->next = dev->weights;
    dev->weights = w;
    dev->weight_bytes += w->bytes;
    *out = w;
    return ERG_PLUGIN_OK;
}

/* Elements of a tensor execute reads or writes as F32, or -1 when its shape
 * is garbage, it is a constant, or its bytes are too few. */
static int64_t f32_elements(const sim_tensor *t) {
    int64_t n = 1;
    for (int d = 0; d < 4; d++) {
        if (t->ne[d] < 1 || t->ne[d] > (1 << 30) || n > INT64_MAX / t->ne[d])
            return -1;
        n *= t->ne[d];
    }
    return t->constant || (uint64_t)n > t->nbytes / 4 ? -1 : n;
}

/* A modelled time: finite, not negative (NaN fails too). */
static bool time_ok(double s) { return s >= 0 && s < 1e9; }

/* What execute relies on and compile had from op_support. */
static bool op_fits(const erg_plugin_compiled *c, const sim_op *op) {
    const sim_tensor *y = &c->tensors[op->dst], *a = &c->tensors[op->src[0]];
    const sim_tensor *b = &c->tensors[op->src[op->n_src - 1]];
    int64_t n = f32_elements(y);
    if (!time_ok(op->seconds))
        return false;
    switch (op->kind) {
    case ERG_PLUGIN_OP_MATMUL:
        return op->n_src == 2 && n > 0 && f32_elements(b) > 0 && op->w->k == b->ne[0] &&
               op->w->n == y->ne[0] && b->ne[1] == y->ne[1] && b->ne[2] * b->ne[3] == 1 &&
               y->ne[2] * y->ne[3] == 1;
    case ERG_PLUGIN_OP_ADD:
    case ERG_PLUGIN_OP_MUL:
    case ERG_PLUGIN_OP_SWIGLU:
        return op->n_src == 2 && n > 0 && f32_elements(a) >= n && f32_elements(b) >= n;
    case ERG_PLUGIN_OP_SCALE:
    case ERG_PLUGIN_OP_SILU: return op->n_src == 1 && n > 0 && f32_elements(a) >= n;
    default: return false;
    }
}

static erg_plugin_result read_blob(erg_plugin_device *dev, in_bytes *in, erg_plugin_compiled *c,
                                   uint32_t n_weights, char *err) {
    int32_t *weight_of = sim_alloc(c->n_ops * sizeof *weight_of);
    sim_weights **weights = sim_alloc((n_weights ? n_weights : 1) * sizeof *weights);
    erg_plugin_result r = ERG_PLUGIN_E_NO_MEMORY;
    sim_err(err, "deserialize: out of memory");
    if (weight_of && weights) {
        r = ERG_PLUGIN_E_INVALID;
        sim_err(err, "deserialize: malformed tensors or ops");
        if (read_tensors(in, c) && read_ops(in, c, weight_of, n_weights)) {
            r = ERG_PLUGIN_OK;
            for (uint32_t i = 0; i < n_weights && r == ERG_PLUGIN_OK; i++)
                r = read_weights(in, dev, &weights[i], err);
        }
    }
    if (r == ERG_PLUGIN_OK && in->left) {
        sim_err(err, "deserialize: %zu trailing bytes", in->left);
        r = ERG_PLUGIN_E_INVALID;
    }
    for (uint32_t i = 0; i < c->n_ops && r == ERG_PLUGIN_OK; i++) {
        c->ops[i].w = weight_of[i] >= 0 ? weights[weight_of[i]] : NULL;
        if (!op_fits(c, &c->ops[i])) {
            sim_err(err, "deserialize: op %u does not fit its tensors", i);
            r = ERG_PLUGIN_E_INVALID;
        }
    }
    sim_free(weight_of);
    sim_free(weights);
    return r;
}

erg_plugin_result sim_deserialize(erg_plugin_device *dev, const void *buf, size_t size,
                                  erg_plugin_compiled **out, char *err) {
    if (!dev || !buf || !out) {
        sim_err(err, "deserialize: bad arguments");
        return ERG_PLUGIN_E_INVALID;
    }
    *out = NULL;
    in_bytes in = {buf, size};
    char m[sizeof magic];
    uint32_t head[4];
    double seconds;
    if (!get(&in, m, sizeof m) || memcmp(m, magic, sizeof m) != 0 ||
        !get(&in, head, sizeof head) || !get(&in, &seconds, sizeof seconds)) {
        sim_err(err, "deserialize: not an npu-sim blob");
        return ERG_PLUGIN_E_INVALID;
    }
    /* Every tensor and op takes 44 bytes: counts beyond what is there are
     * garbage. */
    if (head[0] == 0 || head[1] == 0 || head[0] > in.left / 44 || head[1] > in.left / 44 ||
        head[2] > head[1] || head[3] != (uint32_t)dev->prof.weight_bits || !time_ok(seconds)) {
        sim_err(err, "deserialize: implausible header (%u tensors, %u ops, %u weights, int%u, "
                     "%g s)", head[0], head[1], head[2], head[3], seconds);
        return ERG_PLUGIN_E_INVALID;
    }
    erg_plugin_compiled *c = sim_alloc(sizeof *c);
    if (c) {
        memset(c, 0, sizeof *c);
        c->tensors = sim_alloc(head[0] * sizeof *c->tensors);
        c->ops = sim_alloc(head[1] * sizeof *c->ops);
    }
    if (!c || !c->tensors || !c->ops) {
        sim_compiled_free(c);
        sim_err(err, "deserialize: out of memory");
        return ERG_PLUGIN_E_NO_MEMORY;
    }
    memset(c->ops, 0, head[1] * sizeof *c->ops);
    c->dev = dev;
    c->n_tensors = head[0];
    c->n_ops = head[1];
    c->seconds = seconds;
    erg_plugin_result r = read_blob(dev, &in, c, head[2], err);
    if (r != ERG_PLUGIN_OK) {
        sim_compiled_free(c);
        return r;
    }
    *out = c;
    return ERG_PLUGIN_OK;
}
