/* erg_generate (erg.h, "Text"): prompt, then sample, stream and stop. The
 * text goes out through a hold-back buffer so that a stop string split
 * across tokens is never shown in part. */
#include "runtime/internal.h"

#include "hal/timer.h"
#include "model/sampler.h"
#include "model/tokenizer.h"

#include <string.h>

#define DEFAULT_PENALTY_WINDOW 64

typedef struct gen {
    erg_session *s;
    erg_generate_options o;
    const erg_vocab *v;
    float *logits;
    erg_candidate *cand;
    int32_t *recent; /* the penalty window, a ring */
    size_t n_recent, recent_cap, recent_next;
    erg_detok detok;
    char *text; /* detokenized, not yet shown */
    size_t len, cap;
    erg_stop_reason stop;
} gen;

static void remember(gen *g, int32_t token) {
    g->recent[g->recent_next] = token;
    g->recent_next = (g->recent_next + 1) % g->recent_cap;
    if (g->n_recent < g->recent_cap)
        g->n_recent++;
}

/* Shows text[0..n) and drops it from the buffer. */
static void show(gen *g, size_t n, int32_t token) {
    if (n && g->o.on_text && !g->o.on_text(g->o.user, g->text, n, token))
        g->stop = ERG_STOP_ABORTED;
    memmove(g->text, g->text + n, g->len - n);
    g->len -= n;
}

/* Shows what no stop string can claim; stops at a stop string. */
static void release(gen *g, int32_t token, bool final) {
    size_t keep = 0;
    for (size_t i = 0; i < g->o.n_stop; i++) {
        const char *stop = g->o.stop[i];
        size_t sl = stop ? strlen(stop) : 0;
        if (!sl)
            continue;
        for (size_t at = 0; at + sl <= g->len; at++)
            if (memcmp(g->text + at, stop, sl) == 0) {
                g->len = at; /* the stop string and anything after are dropped */
                show(g, at, token);
                if (g->stop == ERG_STOP_NONE)
                    g->stop = ERG_STOP_STRING;
                return;
            }
        /* The longest end of the text that may still grow into this stop string. */
        for (size_t k = sl - 1 < g->len ? sl - 1 : g->len; k > keep; k--)
            if (memcmp(g->text + g->len - k, stop, k) == 0) {
                keep = k;
                break;
            }
    }
    show(g, final ? g->len : g->len - keep, token);
}

static erg_status step(gen *g, erg_rng *rng, uint32_t n_vocab) {
    erg_sampler_params sp = {g->o.temperature, g->o.top_k,          g->o.top_p,
                             g->o.min_p,       g->o.repeat_penalty, g->o.presence_penalty};
    int32_t next =
        erg_sampler_sample(&sp, g->logits, n_vocab, g->recent, g->n_recent, g->cand, rng);
    remember(g, next);
    if (!g->o.ignore_eos && erg_vocab_is_eog(g->v, next)) {
        g->stop = ERG_STOP_EOS;
        return ERG_OK;
    }
    if (!erg_detok_push(&g->detok, next, &g->text, &g->len, &g->cap))
        return ERG_OUT_OF_MEMORY;
    release(g, next, false);
    if (g->stop != ERG_STOP_NONE)
        return ERG_OK;
    if (erg_session_n_past(g->s) >= erg_session_n_ctx(g->s)) {
        g->stop = ERG_STOP_CONTEXT_FULL;
        return ERG_OK;
    }
    return erg_session_eval(g->s, &next, 1, ERG_LOGITS_LAST, g->logits, n_vocab);
}

static erg_status run(gen *g, const int32_t *prompt, size_t n_prompt, erg_generate_result *r) {
    uint32_t n_vocab = g->s->model->data->hp.n_vocab;
    double t0 = erg_time_s();
    ERG_RETURN_IF_ERROR(
        erg_session_eval(g->s, prompt, n_prompt, ERG_LOGITS_LAST, g->logits, n_vocab));
    r->n_prompt = (uint32_t)n_prompt;
    r->prompt_seconds = erg_time_s() - t0;
    t0 = erg_time_s();
    for (size_t i = n_prompt > g->recent_cap ? n_prompt - g->recent_cap : 0; i < n_prompt; i++)
        remember(g, prompt[i]);
    erg_rng rng;
    erg_rng_seed(&rng, g->o.seed);
    erg_status st = ERG_OK;
    while (st == ERG_OK && g->stop == ERG_STOP_NONE) {
        if (g->o.should_abort && g->o.should_abort(g->o.user)) {
            g->stop = ERG_STOP_ABORTED;
        } else if (g->o.n_predict && r->n_generated >= g->o.n_predict) {
            g->stop = ERG_STOP_LIMIT;
        } else {
            r->n_generated++;
            st = step(g, &rng, n_vocab);
        }
    }
    if (st == ERG_OK && g->stop != ERG_STOP_STRING && g->stop != ERG_STOP_ABORTED) {
        if (!erg_detok_flush(&g->detok, &g->text, &g->len, &g->cap))
            return ERG_OUT_OF_MEMORY;
        release(g, -1, true);
    }
    r->generate_seconds = erg_time_s() - t0;
    r->stop_reason = g->stop;
    return st;
}

erg_status erg_generate(erg_session *s, const int32_t *prompt, size_t n_prompt,
                        const erg_generate_options *options, erg_generate_result *result) {
    if (!s)
        return ERG_INVALID_ARGUMENT;
    erg_diag diag = {{0}};
    gen g = {.s = s};
    erg_generate_result r = {.struct_size = sizeof r};
    erg_status st = erg_rt_read_options(options, &g.o, sizeof g.o, "erg_generate_options", &diag);
    if (st == ERG_OK && (!prompt || n_prompt == 0))
        st =
            erg_fail(&diag, ERG_INVALID_ARGUMENT, "generation needs a prompt of one token or more");
    if (st == ERG_OK && g.o.n_stop && !g.o.stop)
        st = erg_fail(&diag, ERG_INVALID_ARGUMENT, "n_stop is %zu but stop is NULL", g.o.n_stop);
    if (st == ERG_OK)
        st = erg_rt_model_vocab(s->model, &g.v, &diag);
    if (st != ERG_OK)
        return erg_rt_set_error(s->last_error, st, &diag);
    const erg_allocator *a = &s->model->rt->alloc;
    uint32_t n_vocab = s->model->data->hp.n_vocab;
    g.recent_cap = g.o.penalty_last_n ? g.o.penalty_last_n : DEFAULT_PENALTY_WINDOW;
    g.logits = erg_malloc(a, n_vocab * sizeof *g.logits);
    g.cand = erg_malloc(a, n_vocab * sizeof *g.cand);
    g.recent = erg_malloc(a, g.recent_cap * sizeof *g.recent);
    erg_detok_init(&g.detok, g.v, g.o.show_special);
    if (!g.logits || !g.cand || !g.recent)
        st = erg_fail(&diag, ERG_OUT_OF_MEMORY, "sampling buffers for %u tokens", n_vocab);
    else if ((st = run(&g, prompt, n_prompt, &r)) == ERG_OUT_OF_MEMORY)
        erg_fail(&diag, st, "generating: out of memory for the text");
    /* A failed eval has set the session's error already. */
    if (st == ERG_OUT_OF_MEMORY)
        erg_rt_set_error(s->last_error, st, &diag);
    erg_free(a, g.logits);
    erg_free(a, g.cand);
    erg_free(a, g.recent);
    erg_free(g.v->alloc, g.text);
    if (result && result->struct_size)
        erg_rt_copy_out(result, result->struct_size, &r, sizeof r);
    return st;
}
