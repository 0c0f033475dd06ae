/* The merge loop of the tokenizers (see tokenizer_merge.h): a binary heap
 * of candidate pairs, stale entries skipped when popped. */
#include "model/tokenizer_merge.h"
#include "model/unicode.h"

typedef struct pair {
    double priority;
    size_t left, right, len; /* len: the merged length, to spot stale pairs */
} pair;

typedef struct heap {
    const erg_allocator *alloc;
    pair *items;
    size_t n, cap;
} heap;

static bool better(const pair *a, const pair *b) {
    return a->priority > b->priority || (a->priority == b->priority && a->left < b->left);
}

static bool heap_push(heap *h, pair p) {
    if (h->n == h->cap &&
        !erg_grow_array(h->alloc, (void **)&h->items, sizeof *h->items, &h->cap, h->n + 1))
        return false;
    size_t i = h->n++;
    while (i > 0 && better(&p, &h->items[(i - 1) / 2])) {
        h->items[i] = h->items[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->items[i] = p;
    return true;
}

static pair heap_pop(heap *h) {
    pair top = h->items[0], last = h->items[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && better(&h->items[c + 1], &h->items[c]))
            c++;
        if (!better(&h->items[c], &last))
            break;
        h->items[i] = h->items[c];
        i = c;
    }
    if (h->n)
        h->items[i] = last;
    return top;
}

static bool try_pair(heap *h, const char *text, const erg_merge_symbol *s, ptrdiff_t l, ptrdiff_t r,
                     erg_merge_priority_fn priority, const void *ctx) {
    if (l < 0 || r < 0)
        return true;
    pair p = {.left = (size_t)l, .right = (size_t)r, .len = s[l].len + s[r].len};
    if (!priority(ctx, text + s[l].start, s[l].len, text + s[r].start, s[r].len, &p.priority))
        return true;
    return heap_push(h, p);
}

bool erg_merge_run(const erg_allocator *alloc, const char *text, size_t len,
                   erg_merge_priority_fn priority, const void *ctx, erg_merge_symbol **out,
                   size_t *n_out) {
    *out = NULL;
    *n_out = 0;
    erg_merge_symbol *s = erg_calloc(alloc, len ? len : 1, sizeof *s);
    if (!s)
        return false;
    size_t n = 0;
    for (size_t off = 0; off < len; n++) {
        size_t cl = erg_utf8_seq_len((unsigned char)text[off]);
        cl = cl && off + cl <= len ? cl : 1;
        s[n] =
            (erg_merge_symbol){off, cl, (ptrdiff_t)n - 1, off + cl < len ? (ptrdiff_t)n + 1 : -1};
        off += cl;
    }
    heap h = {.alloc = alloc};
    bool ok = true;
    for (size_t i = 0; ok && i + 1 < n; i++)
        ok = try_pair(&h, text, s, (ptrdiff_t)i, (ptrdiff_t)i + 1, priority, ctx);
    while (ok && h.n) {
        pair p = heap_pop(&h);
        erg_merge_symbol *l = &s[p.left], *r = &s[p.right];
        if (l->len == 0 || r->len == 0 || l->len + r->len != p.len || l->next != (ptrdiff_t)p.right)
            continue; /* one side changed since the pair was queued */
        l->len += r->len;
        r->len = 0;
        l->next = r->next;
        if (r->next >= 0)
            s[r->next].prev = (ptrdiff_t)p.left;
        ok = try_pair(&h, text, s, l->prev, (ptrdiff_t)p.left, priority, ctx) &&
             try_pair(&h, text, s, (ptrdiff_t)p.left, l->next, priority, ctx);
    }
    erg_free(alloc, h.items);
    if (!ok) {
        erg_free(alloc, s);
        return false;
    }
    *out = s;
    *n_out = n;
    return true;
}
