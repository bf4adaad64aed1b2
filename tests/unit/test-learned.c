/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The expiry index of learned addresses against the ledger itself: making room removes the
 * learned entries that expire first, skips stale records (extended, expired, taken over by a
 * configured host), never touches configured hosts' entries, and stays right over many random
 * answers. */
#include <stdio.h>

#include "learned.h"
#include "test-util.h"

#define VALIDITY 1000

static bool is_learned(const struct ledger *l, const struct ledger_entry *e, void *userdata) {
        const char *name = ledger_host_name(l, e->host);
        size_t n = strlen(name), k = strlen(".learned.test");

        return n > k && streq(name + n - k, ".learned.test");
}

static struct ip_addr addr(unsigned i) {
        char s[32];
        struct ip_addr a;

        snprintf(s, sizeof(s), "198.18.%u.%u", i / 250, i % 250 + 1);
        ASSERT_EQ(0, addr_parse(s, &a));
        return a;
}

static size_t ledger_learned(const struct ledger *l) {
        const struct ledger_entry *e;
        size_t n, k = 0;

        e = ledger_entries(l, &n);
        for (size_t i = 0; i < n; i++)
                k += is_learned(l, &e[i], NULL);
        return k;
}

/* What the manager does for one learned answer: note each address, then make room. */
static void learn(struct ledger *l, struct learned *x, const char *name, unsigned i, usec_t now, size_t max) {
        struct ip_addr a = addr(i);
        const struct ledger_entry *e = ledger_find(l, &a);
        bool was = e && is_learned(l, e, NULL);

        ASSERT_TRUE(ledger_record(l, name, &a, 1, now, VALIDITY, NULL, NULL) >= 0);
        e = ledger_find(l, &a);
        ASSERT_TRUE(e != NULL);
        ASSERT_EQ(0, learned_note(x, &a, e->expiry, !was));
        (void) learned_make_room(x, l, max);
}

static bool has(const struct ledger *l, unsigned i) {
        struct ip_addr a = addr(i);
        return ledger_find(l, &a) != NULL;
}

static void test_basic(void) {
        struct ledger *l = NULL;
        struct learned *x = NULL;
        struct ip_addr a;

        ASSERT_EQ(0, ledger_new(&l));
        /* A configured host's address: older than every learned one, never made room with. */
        a = addr(100);
        ASSERT_EQ(1, ledger_record(l, "host.example", &a, 1, 5000, VALIDITY, NULL, NULL));
        ASSERT_EQ(0, learned_new(l, is_learned, NULL, &x));
        ASSERT_UEQ(0, learned_count(x));

        for (unsigned i = 0; i < 10; i++)
                learn(l, x, "n.learned.test", i, 10 + i, 5);
        ASSERT_UEQ(5, learned_count(x));
        ASSERT_UEQ(5, ledger_learned(l));
        for (unsigned i = 0; i < 10; i++)
                ASSERT_TRUE(has(l, i) == (i >= 5));
        ASSERT_TRUE(has(l, 100));

        /* 5 is seen again: 6 expires first now, and goes for the next one. */
        learn(l, x, "m.learned.test", 5, 100, 5);
        ASSERT_UEQ(5, learned_count(x));
        learn(l, x, "n.learned.test", 20, 101, 5);
        ASSERT_TRUE(has(l, 5));
        ASSERT_TRUE(!has(l, 6));
        ASSERT_UEQ(5, ledger_learned(l));

        /* One expires: forgotten, and room is made for nothing more. */
        ASSERT_UEQ(1, ledger_expire(l, 17 + VALIDITY, NULL, NULL)); /* 7, seen at 17 */
        learned_forget(x);
        ASSERT_UEQ(4, learned_count(x));
        learn(l, x, "n.learned.test", 21, 102, 5);
        ASSERT_UEQ(5, ledger_learned(l));
        ASSERT_TRUE(has(l, 8));

        /* A configured host takes 8 over: no learned entry any more, never removed as one. */
        a = addr(8);
        ASSERT_EQ(0, ledger_record(l, "host.example", &a, 1, 103, VALIDITY, NULL, NULL));
        learn(l, x, "n.learned.test", 22, 104, 5);
        ASSERT_TRUE(has(l, 8));
        ASSERT_TRUE(ledger_learned(l) <= 5);

        learned_free(x);
        ledger_free(l);
}

/* Many answers with names and addresses drawn at random: after each, the learned entries are
 * at most max, the one just learned is there, and the ones made room with expired no later
 * than any that stayed. */
static void test_random(void) {
        struct ledger *l = NULL;
        struct learned *x = NULL;
        unsigned seed = 7;
        const size_t max = 50;

        ASSERT_EQ(0, ledger_new(&l));
        ASSERT_EQ(0, learned_new(l, is_learned, NULL, &x));
        for (usec_t now = 1; now < 20000; now++) {
                struct ledger_entry before[64];
                unsigned i = rand_r(&seed) % 400;
                char name[64];
                const struct ledger_entry *e;
                size_t n, n_before;
                usec_t min_left = USEC_INFINITY, max_gone = 0;

                e = ledger_entries(l, &n_before);
                ASSERT_TRUE(n_before <= ELEMENTSOF(before));
                if (n_before > 0) /* e is NULL for an empty ledger */
                        memcpy(before, e, n_before * sizeof(*e));
                snprintf(name, sizeof(name), "n%u.learned.test", rand_r(&seed) % 20);
                learn(l, x, name, i, now, max);
                ASSERT_TRUE(ledger_learned(l) <= max);
                ASSERT_UEQ(ledger_learned(l), learned_count(x));
                ASSERT_TRUE(has(l, i));
                e = ledger_entries(l, &n);
                for (size_t k = 0; k < n; k++)
                        min_left = MIN(min_left, e[k].expiry);
                for (size_t k = 0; k < n_before; k++)
                        if (!ledger_find(l, &before[k].addr))
                                max_gone = MAX(max_gone, before[k].expiry);
                ASSERT_TRUE(max_gone <= min_left);
        }
        learned_free(x);
        ledger_free(l);
}

int main(void) {
        test_basic();
        test_random();
        return 0;
}
