/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "prioq.h"

struct prioq_item {
        void *data;
        size_t *idx;
};

struct prioq {
        prioq_compare_func compare;
        struct prioq_item *items;
        size_t n, allocated;
};

int prioq_new(prioq_compare_func compare, struct prioq **ret) {
        struct prioq *q;

        if (!compare || !ret)
                return -EINVAL;
        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        q->compare = compare;
        *ret = q;
        return 0;
}

struct prioq *prioq_free(struct prioq *q) {
        if (!q)
                return NULL;
        prioq_clear(q);
        free(q->items);
        free(q);
        return NULL;
}

static void swap(struct prioq *q, size_t i, size_t j) {
        struct prioq_item t = q->items[i];

        q->items[i] = q->items[j];
        q->items[j] = t;
        *q->items[i].idx = i;
        *q->items[j].idx = j;
}

static size_t shuffle_up(struct prioq *q, size_t i) {
        while (i > 0) {
                size_t parent = (i - 1) / 2;

                if (q->compare(q->items[i].data, q->items[parent].data) >= 0)
                        break;
                swap(q, i, parent);
                i = parent;
        }
        return i;
}

static void shuffle_down(struct prioq *q, size_t i) {
        for (;;) {
                size_t left = 2 * i + 1, right = left + 1, first = i;

                if (left < q->n && q->compare(q->items[left].data, q->items[first].data) < 0)
                        first = left;
                if (right < q->n && q->compare(q->items[right].data, q->items[first].data) < 0)
                        first = right;
                if (first == i)
                        return;
                swap(q, i, first);
                i = first;
        }
}

int prioq_reserve(struct prioq *q, size_t n) {
        return n > 0 ? grow_array((void **) &q->items, &q->allocated, n, sizeof(*q->items)) : 0;
}

int prioq_put(struct prioq *q, void *data, size_t *idx) {
        if (grow_array((void **) &q->items, &q->allocated, q->n + 1, sizeof(*q->items)) < 0)
                return -ENOMEM;
        q->items[q->n] = (struct prioq_item) { data, idx };
        *idx = q->n++;
        shuffle_up(q, *idx);
        return 0;
}

void prioq_remove(struct prioq *q, size_t *idx) {
        size_t i = *idx;

        if (i >= q->n || q->items[i].idx != idx)
                return;
        *idx = PRIOQ_IDX_NULL;
        if (i == --q->n)
                return;
        /* The last item takes the hole and moves whichever way its key says. */
        q->items[i] = q->items[q->n];
        *q->items[i].idx = i;
        if (shuffle_up(q, i) == i)
                shuffle_down(q, i);
}

void prioq_reshuffle(struct prioq *q, size_t *idx) {
        size_t i = *idx;

        if (i >= q->n || q->items[i].idx != idx)
                return;
        if (shuffle_up(q, i) == i)
                shuffle_down(q, i);
}

void *prioq_peek(const struct prioq *q) {
        return q && q->n > 0 ? q->items[0].data : NULL;
}

void *prioq_pop(struct prioq *q) {
        void *data = prioq_peek(q);

        if (data)
                prioq_remove(q, q->items[0].idx);
        return data;
}

size_t prioq_size(const struct prioq *q) {
        return q ? q->n : 0;
}

void prioq_clear(struct prioq *q) {
        for (size_t i = 0; i < q->n; i++)
                *q->items[i].idx = PRIOQ_IDX_NULL;
        q->n = 0;
}
