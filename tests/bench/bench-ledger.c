/* SPDX-License-Identifier: GPL-2.0-or-later */
/* How the ledger scales: one answer merged into a large ledger, a large expiry, iteration.
 * Prints medians of several runs (CLOCK_MONOTONIC) and the memory an entry costs. Not a test:
 * it asserts only that the ledger did what was timed, never how fast. */
#include <arpa/inet.h>
#include <malloc.h>
#include <time.h>

#include "bench-util.h"
#include "ledger.h"

#define RUNS 21
#define LARGE 100000
#define ANSWER 1000
#define VALIDITY (7 * USEC_PER_DAY)
#define T0 (1000 * USEC_PER_SEC)

/* Even n: the large ledger's addresses; odd n: addresses that fall between them, so a merge
 * touches the whole array (the worst case). IPv4 and IPv6 alternate. */
static struct ip_addr bench_addr(unsigned n) {
        unsigned m = n / 2, value = 2 * (m / 2) + n % 2;
        uint8_t b[16] = { 0x20, 0x01, 0x0d, 0xb8 };

        if (m % 2 == 0) {
                uint32_t v = htonl(0x10000000u + value);
                return addr_make(AF_INET, &v);
        }
        b[12] = (uint8_t) (value >> 24); b[13] = (uint8_t) (value >> 16);
        b[14] = (uint8_t) (value >> 8); b[15] = (uint8_t) value;
        return addr_make(AF_INET6, b);
}

static size_t heap_in_use(void) {
        struct mallinfo2 mi = mallinfo2();
        return mi.uordblks + mi.hblkhd;
}

/* The large ledger: LARGE entries in answers of ANSWER from four hosts. */
static struct ledger *make_large(void) {
        struct ledger *l;
        struct ip_addr *answer = malloc(ANSWER * sizeof(*answer));
        static const char *const hosts[] = { "a.example", "b.example", "c.example", "d.example" };

        CHECK(answer);
        CHECK(ledger_new(&l) == 0);
        for (unsigned j = 0; j < LARGE / ANSWER; j++) {
                for (unsigned i = 0; i < ANSWER; i++)
                        answer[i] = bench_addr(2 * (i * (LARGE / ANSWER) + j)); /* scattered */
                CHECK(ledger_record(l, hosts[j % 4], answer, ANSWER, T0 + j * USEC_PER_SEC, VALIDITY, NULL, NULL) == ANSWER);
        }
        free(answer);
        return l;
}

static void report(const char *what, double *samples) {
        printf("%-44s median %8.3f ms (runs %d)\n", what, median(samples, RUNS), RUNS);
}

int main(void) {
        struct ledger *l;
        struct ip_addr *fresh, *known, *all;
        double samples[RUNS];
        size_t before, after, n;
        const usec_t now = T0 + USEC_PER_DAY;

        fresh = malloc(ANSWER * sizeof(*fresh));
        known = malloc(ANSWER * sizeof(*known));
        all = malloc(LARGE * sizeof(*all));
        CHECK(fresh && known && all);
        for (unsigned i = 0; i < ANSWER; i++) {
                fresh[i] = bench_addr(2 * (i * (LARGE / ANSWER)) + 1); /* new, spread over the array */
                known[i] = bench_addr(2 * (i * (LARGE / ANSWER) + 7));
        }
        for (unsigned i = 0; i < LARGE; i++)
                all[i] = bench_addr(2 * i);

        /* Memory: what the heap grew by for the large ledger. */
        before = heap_in_use();
        l = make_large();
        after = heap_in_use();
        ledger_entries(l, &n);
        CHECK(n == LARGE);
        printf("memory: sizeof(struct ledger_entry) %zu B; %d entries use %zu B of heap (%.1f B/entry; "
               "the array doubles, so 1x-2x of %zu B/entry); a record of k addresses, m new, "
               "needs k*%zu + m*%zu B more while it runs\n",
               sizeof(struct ledger_entry), LARGE, after - before, (double) (after - before) / LARGE,
               sizeof(struct ledger_entry), sizeof(struct ip_addr) + sizeof(size_t) + sizeof(bool),
               sizeof(struct ledger_entry));

        /* 1,000 new addresses merged into 100,000 (then expired again, untimed). */
        for (int r = 0; r < RUNS; r++) {
                double t = now_ms();
                CHECK(ledger_record(l, "fresh.example", fresh, ANSWER, now, 1, NULL, NULL) == ANSWER);
                samples[r] = now_ms() - t;
                CHECK(ledger_expire(l, now + 1, NULL, NULL) == ANSWER);
        }
        report("ledger_record 1000 new into 100000:", samples);

        /* 1,000 known addresses: binary searches and updates only. */
        for (int r = 0; r < RUNS; r++) {
                double t = now_ms();
                CHECK(ledger_record(l, "a.example", known, ANSWER, now + (usec_t) r, VALIDITY, NULL, NULL) == 0);
                samples[r] = now_ms() - t;
        }
        report("ledger_record 1000 known into 100000:", samples);

        /* One answer holding every address (a worst-case refresh). */
        for (int r = 0; r < RUNS; r++) {
                double t = now_ms();
                CHECK(ledger_record(l, "a.example", all, LARGE, now + (usec_t) r, VALIDITY, NULL, NULL) == 0);
                samples[r] = now_ms() - t;
        }
        report("ledger_record 100000 known into 100000:", samples);

        for (int r = 0; r < RUNS; r++) {
                volatile uint64_t sink = 0;
                const struct ledger_entry *e;
                double t = now_ms();
                e = ledger_entries(l, &n);
                for (size_t i = 0; i < n; i++)
                        sink += e[i].expiry ^ e[i].addr.u.bytes[3];
                samples[r] = now_ms() - t;
                CHECK(n == LARGE);
        }
        report("ledger_entries iteration of 100000:", samples);

        for (int r = 0; r < RUNS; r++) {
                double t = now_ms();
                CHECK(ledger_next_expiry(l) != USEC_INFINITY);
                samples[r] = now_ms() - t;
        }
        report("ledger_next_expiry of 100000:", samples);

        for (int r = 0; r < RUNS; r++) {
                double t = now_ms();
                CHECK(ledger_host_count(l, "a.example") == LARGE);
                samples[r] = now_ms() - t;
        }
        report("ledger_host_count of 100000:", samples);

        for (int r = 0; r < RUNS; r++) {
                double t = now_ms();
                CHECK(ledger_expire(l, T0, NULL, NULL) == 0);
                samples[r] = now_ms() - t;
        }
        report("ledger_expire none of 100000:", samples);
        ledger_free(l);

        /* Expiring everything: a fresh large ledger per run. */
        for (int r = 0; r < RUNS; r++) {
                double t;
                l = make_large();
                t = now_ms();
                CHECK(ledger_expire(l, USEC_INFINITY, NULL, NULL) == LARGE);
                samples[r] = now_ms() - t;
                ledger_free(l);
        }
        report("ledger_expire 100000 of 100000:", samples);

        /* Restoring a state file, which is written in entries order. */
        {
                struct ledger *src = make_large();
                const struct ledger_entry *e = ledger_entries(src, &n);
                for (int r = 0; r < RUNS; r++) {
                        double t = now_ms();
                        CHECK(ledger_new(&l) == 0);
                        for (size_t i = 0; i < n; i++)
                                CHECK(ledger_restore(l, ledger_host_name(src, e[i].host), &e[i].addr,
                                                     e[i].expiry, e[i].last_seen, e[i].last_seen) == 0);
                        samples[r] = now_ms() - t;
                        ledger_free(l);
                }
                report("ledger_restore 100000 in order:", samples);
                ledger_free(src);
        }

        free(fresh);
        free(known);
        free(all);
        return 0;
}
