/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The priority queue against a simple model on random operations: puts, removals, key changes
 * and pops, with every item's index checked after each step. */
#include "prioq.h"
#include "test-util.h"

#define ITEMS 300

struct item {
        uint64_t key;
        unsigned id;
        size_t idx;
        bool in;
};

static int item_compare(const void *a, const void *b) {
        const struct item *x = a, *y = b;

        if (x->key != y->key)
                return x->key < y->key ? -1 : 1;
        return (x->id > y->id) - (x->id < y->id);
}

/* The first item in the model: a pass over all of them. */
static struct item *model_first(struct item *items) {
        struct item *first = NULL;

        for (size_t i = 0; i < ITEMS; i++)
                if (items[i].in && (!first || item_compare(&items[i], first) < 0))
                        first = &items[i];
        return first;
}

static void check(struct prioq *q, struct item *items) {
        size_t n = 0;

        for (size_t i = 0; i < ITEMS; i++) {
                ASSERT_TRUE(items[i].in == (items[i].idx != PRIOQ_IDX_NULL));
                n += items[i].in;
        }
        ASSERT_UEQ(n, prioq_size(q));
        ASSERT_TRUE(prioq_peek(q) == model_first(items));
}

int main(void) {
        static struct item items[ITEMS];
        struct prioq *q = NULL;
        unsigned seed = 9;

        ASSERT_EQ(0, prioq_new(item_compare, &q));
        ASSERT_TRUE(prioq_peek(q) == NULL);
        ASSERT_TRUE(prioq_pop(q) == NULL);
        for (unsigned i = 0; i < ITEMS; i++)
                items[i] = (struct item) { .id = i, .idx = PRIOQ_IDX_NULL };

        for (int step = 0; step < 100000; step++) {
                struct item *it = &items[rand_r(&seed) % ITEMS];

                switch (rand_r(&seed) % 4) {
                case 0:
                        if (!it->in) {
                                it->key = (uint64_t) (rand_r(&seed) % 1000);
                                ASSERT_EQ(0, prioq_put(q, it, &it->idx));
                                it->in = true;
                        }
                        break;
                case 1:
                        prioq_remove(q, &it->idx); /* also for one not in the queue: nothing */
                        it->in = false;
                        break;
                case 2:
                        it->key = (uint64_t) (rand_r(&seed) % 1000);
                        prioq_reshuffle(q, &it->idx);
                        break;
                case 3: {
                        struct item *first = model_first(items);
                        ASSERT_TRUE(prioq_pop(q) == first);
                        if (first)
                                first->in = false;
                        break;
                }
                }
                check(q, items);
        }

        /* Popping everything gives the model's order. */
        for (struct item *first; (first = model_first(items)); first->in = false)
                ASSERT_TRUE(prioq_pop(q) == first);
        ASSERT_UEQ(0, prioq_size(q));
        prioq_clear(q);
        prioq_free(q);
        return 0;
}
