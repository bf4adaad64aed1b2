/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A binary min-heap of (address, expiry) records, one pushed whenever a learned address gets a
 * new expiry, none ever updated in place: the ledger keeps addresses in address order, so an
 * index into it would move with every insertion, and the ledger already answers "is this
 * record still true" in O(log n). A record is live when the ledger has its address, with that
 * expiry, under a learned name; the count of live ones is kept from the notes, the expiries and
 * the removals here. */
#include "learned.h"

struct learned_record {
        struct ip_addr addr;
        usec_t expiry;
};

struct learned {
        struct learned_record *heap;
        size_t n, allocated;
        size_t count;      /* live records */
        bool rebuild;      /* a note was lost (out of memory): rebuild before trusting the heap */
        learned_entry_func is_learned;
        void *userdata;
};

static bool record_before(const struct learned_record *a, const struct learned_record *b) {
        return a->expiry < b->expiry || (a->expiry == b->expiry && addr_compare(&a->addr, &b->addr) < 0);
}

static void sift_up(struct learned *l, size_t i) {
        struct learned_record r = l->heap[i];

        while (i > 0 && record_before(&r, &l->heap[(i - 1) / 2])) {
                l->heap[i] = l->heap[(i - 1) / 2];
                i = (i - 1) / 2;
        }
        l->heap[i] = r;
}

static void sift_down(struct learned *l, size_t i) {
        struct learned_record r = l->heap[i];

        for (;;) {
                size_t c = 2 * i + 1;

                if (c >= l->n)
                        break;
                if (c + 1 < l->n && record_before(&l->heap[c + 1], &l->heap[c]))
                        c++;
                if (!record_before(&l->heap[c], &r))
                        break;
                l->heap[i] = l->heap[c];
                i = c;
        }
        l->heap[i] = r;
}

static void heap_pop(struct learned *l) {
        l->heap[0] = l->heap[--l->n];
        if (l->n > 0)
                sift_down(l, 0);
}

static int heap_reserve(struct learned *l, size_t n) {
        struct learned_record *h;
        size_t a;

        if (n <= l->allocated)
                return 0;
        a = MAX(n, MAX(l->allocated * 2, (size_t) 16));
        h = reallocarray(l->heap, a, sizeof(*h));
        if (!h)
                return -ENOMEM;
        l->heap = h;
        l->allocated = a;
        return 0;
}

/* The live records only, from the ledger: O(n) for its n entries, heapified in O(count). */
static int learned_rebuild(struct learned *l, const struct ledger *ledger) {
        const struct ledger_entry *e;
        size_t n, k = 0;
        int r;

        e = ledger_entries(ledger, &n);
        for (size_t i = 0; i < n; i++)
                k += l->is_learned(ledger, &e[i], l->userdata);
        r = heap_reserve(l, k);
        if (r < 0)
                return r;
        l->n = 0;
        for (size_t i = 0; i < n; i++)
                if (l->is_learned(ledger, &e[i], l->userdata))
                        l->heap[l->n++] = (struct learned_record) { .addr = e[i].addr, .expiry = e[i].expiry };
        for (size_t i = l->n / 2; i-- > 0;)
                sift_down(l, i);
        l->count = l->n;
        l->rebuild = false;
        return 0;
}

int learned_new(const struct ledger *ledger, learned_entry_func is_learned, void *userdata, struct learned **ret) {
        struct learned *l = calloc(1, sizeof(*l));
        int r;

        if (!l)
                return -ENOMEM;
        l->is_learned = is_learned;
        l->userdata = userdata;
        r = learned_rebuild(l, ledger);
        if (r < 0) {
                learned_free(l);
                return r;
        }
        *ret = l;
        return 0;
}

struct learned *learned_free(struct learned *l) {
        if (!l)
                return NULL;
        free(l->heap);
        free(l);
        return NULL;
}

int learned_note(struct learned *l, const struct ip_addr *addr, usec_t expiry, bool added) {
        if (added)
                l->count++;
        if (heap_reserve(l, l->n + 1) < 0) {
                l->rebuild = true;
                return -ENOMEM;
        }
        l->heap[l->n] = (struct learned_record) { .addr = *addr, .expiry = expiry };
        sift_up(l, l->n++);
        return 0;
}

void learned_forget(struct learned *l) {
        if (l->count > 0)
                l->count--;
}

size_t learned_count(const struct learned *l) {
        return l->count;
}

size_t learned_make_room(struct learned *l, struct ledger *ledger, size_t max) {
        size_t removed = 0;

        /* Every record beyond twice the live ones (and a little) was pushed since the last
         * rebuild, so rebuilding costs O(1) amortised per note. */
        if ((l->rebuild || l->n > 2 * l->count + 64) && learned_rebuild(l, ledger) < 0)
                return 0;
        while (l->count > max && l->n > 0) {
                const struct learned_record *r = &l->heap[0];
                const struct ledger_entry *e = ledger_find(ledger, &r->addr);

                if (e && e->expiry == r->expiry && l->is_learned(ledger, e, l->userdata)) {
                        (void) ledger_remove(ledger, &r->addr);
                        l->count--;
                        removed++;
                }
                heap_pop(l);
        }
        /* Live records ran out first: the count was high (entries taken over by configured
         * hosts); it is exact again. */
        if (l->n == 0)
                l->count = 0;
        return removed;
}
