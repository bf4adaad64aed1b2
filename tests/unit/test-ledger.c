/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The ledger on a fake clock: plain usec_t values that the tests advance, no sleeping. Most
 * scenarios run against a deliberately naive model (linear search, no sorting tricks) and compare
 * every entry after every step, plus hand-computed spot checks of the WiseMo semantics. */
#include <arpa/inet.h>

#include "ledger.h"
#include "schedule.h"
#include "test-util.h"

#define SEC USEC_PER_SEC
#define DAY USEC_PER_DAY
#define T0 (1000 * SEC) /* boot time of the fake clock's first answer: not 0, to catch "0 means unset" */

/* Address number i: even numbers are IPv4 198.18.0.0 + i/2, odd ones IPv6 2001:db8::i/2. */
static struct ip_addr test_addr(unsigned i) {
        uint8_t b[16] = { 0 };
        unsigned k = i / 2;

        if (i % 2 == 0) {
                uint32_t v = htonl(0xc6120000u + k);
                return addr_make(AF_INET, &v);
        }
        b[0] = 0x20; b[1] = 0x01; b[2] = 0x0d; b[3] = 0xb8;
        b[12] = (uint8_t) (k >> 24); b[13] = (uint8_t) (k >> 16); b[14] = (uint8_t) (k >> 8); b[15] = (uint8_t) k;
        return addr_make(AF_INET6, b);
}

static unsigned test_addr_index(const struct ip_addr *a) {
        if (a->family == AF_INET)
                return 2 * (ntohl(a->u.in.s_addr) - 0xc6120000u);
        return 2 * (((unsigned) a->u.bytes[12] << 24) | ((unsigned) a->u.bytes[13] << 16) |
                    ((unsigned) a->u.bytes[14] << 8) | a->u.bytes[15]) + 1;
}

static struct ip_addr parse(const char *s) {
        struct ip_addr a;
        ASSERT_EQ(0, addr_parse(s, &a));
        return a;
}

static const struct ledger_entry *find(const struct ledger *l, const struct ip_addr *a) {
        size_t n;
        const struct ledger_entry *e = ledger_entries(l, &n);

        for (size_t i = 0; i < n; i++)
                if (addr_compare(&e[i].addr, a) == 0)
                        return &e[i];
        return NULL;
}

static void assert_entry(const struct ledger *l, const struct ip_addr *a, usec_t expiry, usec_t last_seen,
                         const char *host) {
        const struct ledger_entry *e = find(l, a);
        ASSERT_TRUE(e);
        ASSERT_UEQ(expiry, e->expiry);
        ASSERT_UEQ(last_seen, e->last_seen);
        ASSERT_STREQ(host, ledger_host_name(l, e->host));
}

static void assert_sorted(const struct ledger *l) {
        size_t n;
        const struct ledger_entry *e = ledger_entries(l, &n);

        for (size_t i = 1; i < n; i++)
                ASSERT_TRUE(addr_compare(&e[i - 1].addr, &e[i].addr) < 0);
}

/* Field by field: the padding inside struct ledger_entry is not part of its value. */
static void assert_entries_equal(const struct ledger_entry *a, const struct ledger_entry *b, size_t n) {
        for (size_t i = 0; i < n; i++) {
                ASSERT_EQ(0, addr_compare(&a[i].addr, &b[i].addr));
                ASSERT_UEQ(a[i].expiry, b[i].expiry);
                ASSERT_UEQ(a[i].last_seen, b[i].last_seen);
                ASSERT_UEQ(a[i].host, b[i].host);
        }
}

static uint64_t xorshift64(uint64_t *state) {
        uint64_t x = *state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return *state = x;
}

/* ---- callback recorder ---- */

struct event {
        struct ip_addr addr;
        char host[64];
        usec_t expiry;
};

struct events {
        struct event *v;
        size_t n, allocated;
};

static void record_event(const struct ledger *l, const struct ledger_entry *e, void *userdata) {
        struct events *ev = userdata;
        const char *host = ledger_host_name(l, e->host);

        ASSERT_TRUE(host);
        ASSERT_EQ(0, grow_array((void **) &ev->v, &ev->allocated, ev->n + 1, sizeof(struct event)));
        ev->v[ev->n].addr = e->addr;
        snprintf(ev->v[ev->n].host, sizeof(ev->v[ev->n].host), "%s", host);
        ev->v[ev->n].expiry = e->expiry;
        ev->n++;
}

static void events_reset(struct events *ev) { ev->n = 0; }
static void events_free(struct events *ev) { free(ev->v); *ev = (struct events) { 0 }; }

static int event_cmp(const void *a, const void *b) {
        return addr_compare(&((const struct event *) a)->addr, &((const struct event *) b)->addr);
}

/* ---- naive model ---- */

struct model {
        struct event *v; /* addr, host (last seen by), expiry */
        usec_t *last_seen;
        size_t n, allocated, allocated_ls;
};

/* Records like the ledger should; appends every new address to added. */
static void model_record(struct model *m, const char *host, const struct ip_addr *addrs, size_t n,
                         usec_t now, usec_t validity, struct events *added) {
        for (size_t i = 0; i < n; i++) {
                size_t j;
                for (j = 0; j < m->n; j++)
                        if (addr_compare(&m->v[j].addr, &addrs[i]) == 0)
                                break;
                if (j == m->n) {
                        ASSERT_EQ(0, grow_array((void **) &m->v, &m->allocated, m->n + 1, sizeof(struct event)));
                        ASSERT_EQ(0, grow_array((void **) &m->last_seen, &m->allocated_ls, m->n + 1, sizeof(usec_t)));
                        m->v[j] = (struct event) { .addr = addrs[i], .expiry = 0 };
                        m->n++;
                        ASSERT_EQ(0, grow_array((void **) &added->v, &added->allocated, added->n + 1, sizeof(struct event)));
                        added->v[added->n] = m->v[j];
                        snprintf(added->v[added->n].host, sizeof(added->v[added->n].host), "%s", host);
                        added->v[added->n].expiry = now + validity;
                        added->n++;
                }
                m->v[j].expiry = MAX(m->v[j].expiry, now + validity);
                m->last_seen[j] = now;
                snprintf(m->v[j].host, sizeof(m->v[j].host), "%s", host);
        }
}

static void model_expire(struct model *m, usec_t now, struct events *expired) {
        size_t w = 0;

        for (size_t i = 0; i < m->n; i++) {
                if (m->v[i].expiry <= now) {
                        ASSERT_EQ(0, grow_array((void **) &expired->v, &expired->allocated, expired->n + 1, sizeof(struct event)));
                        expired->v[expired->n++] = m->v[i];
                        continue;
                }
                m->v[w] = m->v[i];
                m->last_seen[w] = m->last_seen[i];
                w++;
        }
        m->n = w;
}

static void model_free(struct model *m) {
        free(m->v);
        free(m->last_seen);
        *m = (struct model) { 0 };
}

static void assert_events_equal(struct events *expected, struct events *actual) {
        ASSERT_UEQ(expected->n, actual->n);
        if (expected->n == 0)
                return;
        qsort(expected->v, expected->n, sizeof(struct event), event_cmp);
        qsort(actual->v, actual->n, sizeof(struct event), event_cmp);
        for (size_t i = 0; i < expected->n; i++) {
                ASSERT_EQ(0, addr_compare(&expected->v[i].addr, &actual->v[i].addr));
                ASSERT_STREQ(expected->v[i].host, actual->v[i].host);
                ASSERT_UEQ(expected->v[i].expiry, actual->v[i].expiry);
        }
}

static void assert_ledger_equals_model(const struct ledger *l, const struct model *m) {
        size_t n;
        usec_t next = USEC_INFINITY;

        ledger_entries(l, &n);
        ASSERT_UEQ(m->n, n);
        assert_sorted(l);
        for (size_t i = 0; i < m->n; i++) {
                const struct ledger_entry *f = find(l, &m->v[i].addr);
                ASSERT_TRUE(f);
                ASSERT_UEQ(m->v[i].expiry, f->expiry);
                ASSERT_UEQ(m->last_seen[i], f->last_seen);
                ASSERT_STREQ(m->v[i].host, ledger_host_name(l, f->host));
                next = MIN(next, m->v[i].expiry);
        }
        ASSERT_UEQ(next, ledger_next_expiry(l));
        /* Each host's count and earliest expiry, by a pass over the model. */
        for (size_t i = 0; i < m->n; i++) {
                size_t count = 0;
                usec_t host_next = USEC_INFINITY;
                bool first = true;

                for (size_t j = 0; j < m->n; j++)
                        if (streq(m->v[i].host, m->v[j].host)) {
                                first = first && j >= i;
                                count++;
                                host_next = MIN(host_next, m->v[j].expiry);
                        }
                if (!first) /* checked at its first entry */
                        continue;
                ASSERT_UEQ(count, ledger_host_count(l, m->v[i].host));
                ASSERT_UEQ(host_next, ledger_host_next_expiry(l, m->v[i].host));
        }
}

/* One step of both: expire at now, compare removals; the callers then record. */
static void step_expire(struct ledger *l, struct model *m, usec_t now) {
        struct events expected = { 0 }, actual = { 0 };

        model_expire(m, now, &expected);
        ASSERT_UEQ(expected.n, ledger_expire(l, now, record_event, &actual));
        assert_events_equal(&expected, &actual);
        assert_ledger_equals_model(l, m);
        events_free(&expected);
        events_free(&actual);
}

static int step_record(struct ledger *l, struct model *m, const char *host, const struct ip_addr *addrs,
                       size_t n, usec_t now, usec_t validity) {
        struct events expected = { 0 }, actual = { 0 };
        int r;

        model_record(m, host, addrs, n, now, validity, &expected);
        r = ledger_record(l, host, addrs, n, now, validity, record_event, &actual);
        ASSERT_UEQ(expected.n, r);
        assert_events_equal(&expected, &actual);
        assert_ledger_equals_model(l, m);
        events_free(&expected);
        events_free(&actual);
        return r;
}

/* ---- whole validity cycles ---- */

#define POOL 10
#define WINDOW 3

/* Host a answers round-robin subsets of a pool, then fewer, then just pool[0]; host b returns
 * one extra address (pool[POOL]) every time. Both refresh on the schedule a TTL gives. The
 * phases are fractions of validity: [0, V/3) rotate over the whole pool, [V/3, V/2) alternate
 * {0,1}/{2,3}, then {0} until 1.6 V. */
static void run_cycle(const char *host_a, const char *host_b, usec_t validity, usec_t ttl, usec_t expected_step) {
        _cleanup_(ledger_freep) struct ledger *l = NULL;
        struct model m = { 0 };
        struct ip_addr pool[POOL + 1];
        usec_t last_seen[POOL + 1] = { 0 };
        unsigned expired_count[POOL + 1] = { 0 }, checked_before[POOL + 1] = { 0 };
        const usec_t end = T0 + validity / 2 + validity + validity / 10;
        unsigned step = 0;

        for (unsigned i = 0; i <= POOL; i++)
                pool[i] = test_addr(1000 + i);
        ASSERT_EQ(0, ledger_new(&l));

        for (usec_t now = T0; now < end; step++) {
                struct ip_addr answer[WINDOW];
                size_t n = 0;
                usec_t delay;

                /* Just before an address's expiry it is still there, at its expiry it goes. */
                step_expire(l, &m, now - 1);
                for (unsigned i = 0; i <= POOL; i++)
                        if (last_seen[i] != 0 && last_seen[i] + validity == now) {
                                ASSERT_TRUE(find(l, &pool[i]));
                                checked_before[i]++;
                        }
                {
                        struct events ev = { 0 };
                        ledger_expire(l, now, record_event, &ev);
                        for (size_t k = 0; k < ev.n; k++) {
                                unsigned i = test_addr_index(&ev.v[k].addr) - 1000;
                                ASSERT_TRUE(i <= POOL);
                                ASSERT_UEQ(last_seen[i] + validity, now);
                                ASSERT_UEQ(now, ev.v[k].expiry);
                                ASSERT_STREQ(i == POOL ? host_b : host_a, ev.v[k].host);
                                expired_count[i]++;
                        }
                        events_reset(&ev);
                        model_expire(&m, now, &ev);
                        assert_ledger_equals_model(l, &m);
                        for (unsigned i = 0; i <= POOL; i++)
                                if (last_seen[i] != 0 && last_seen[i] + validity == now)
                                        ASSERT_TRUE(!find(l, &pool[i]));
                        events_free(&ev);
                }

                if (now < T0 + validity / 3)
                        for (unsigned k = 0; k < WINDOW; k++)
                                answer[n++] = pool[(step * WINDOW + k) % POOL];
                else if (now < T0 + validity / 2) {
                        answer[n++] = pool[step % 2 == 0 ? 0 : 2];
                        answer[n++] = pool[step % 2 == 0 ? 1 : 3];
                } else
                        answer[n++] = pool[0];

                /* Before anything can have run out (T0 + validity) every address ever seen is
                 * there, however the answers shrank; after, exactly those seen within validity. */
                {
                        size_t c, seen = 0;
                        ledger_entries(l, &c);
                        for (unsigned i = 0; i <= POOL; i++)
                                if (last_seen[i] != 0) {
                                        seen++;
                                        ASSERT_TRUE(!!find(l, &pool[i]) == (now < last_seen[i] + validity));
                                }
                        if (now < T0 + validity)
                                ASSERT_UEQ(seen, c);
                }

                step_record(l, &m, host_a, answer, n, now, validity);
                for (size_t k = 0; k < n; k++)
                        last_seen[test_addr_index(&answer[k]) - 1000] = now;
                step_record(l, &m, host_b, &pool[POOL], 1, now, validity);
                last_seen[POOL] = now;

                /* Accumulation of round-robin subsets: 3, 6, 9, then the whole pool (+ host b's). */
                {
                        size_t c;
                        ledger_entries(l, &c);
                        if (step < 4 && now < T0 + validity / 3)
                                ASSERT_UEQ(MIN((step + 1) * WINDOW, POOL) + 1, c);
                        ASSERT_UEQ(c - 1, ledger_host_count(l, host_a));
                        ASSERT_UEQ(1, ledger_host_count(l, host_b));
                }

                delay = schedule_after_success(ttl, 0, 60 * SEC, validity);
                ASSERT_UEQ(expected_step, delay);
                now += delay;
        }

        /* At the end: the address answered every time and host b's are there, valid a full
         * validity from the last refresh; every other pool address expired exactly once, exactly
         * at last seen + validity, and was seen present 1us before. */
        {
                size_t c;
                usec_t last = T0 + (step - 1) * expected_step;
                ledger_entries(l, &c);
                ASSERT_UEQ(2, c);
                assert_entry(l, &pool[0], last + validity, last, host_a);
                assert_entry(l, &pool[POOL], last + validity, last, host_b);
                ASSERT_UEQ(0, expired_count[0]);
                ASSERT_UEQ(0, expired_count[POOL]);
                for (unsigned i = 1; i < POOL; i++) {
                        ASSERT_UEQ(last_seen[i] != 0, expired_count[i]);
                        ASSERT_UEQ(last_seen[i] != 0, checked_before[i]);
                }
                /* The phase boundaries, by hand: pool[4..9] were last seen in the rotation, pool[1..3]
                 * in the alternation (when refreshes came often enough to have one). */
                for (unsigned i = 4; i < POOL; i++)
                        ASSERT_TRUE(last_seen[i] < T0 + validity / 3);
                if (expected_step < validity / 6)
                        for (unsigned i = 1; i < 4; i++)
                                ASSERT_TRUE(last_seen[i] >= T0 + validity / 3 && last_seen[i] < T0 + validity / 2);
                ASSERT_UEQ(1, ledger_host_count(l, host_a));
                ASSERT_UEQ(last + validity, ledger_host_next_expiry(l, host_a));
        }
        model_free(&m);
}

static void test_cycle_7d(void) {
        /* csall.wisemo.com: 7 days, refresh auto, TTL 300s -> every 300s. */
        run_cycle("csall.wisemo.com", "csall2.wisemo.com", 7 * DAY, 300 * SEC, 300 * SEC);
        /* A TTL below refresh_min refreshes at refresh_min. */
        run_cycle("csall.wisemo.com", "csall2.wisemo.com", 7 * DAY, 5 * SEC, 60 * SEC);
}

static void test_cycle_30d(void) {
        /* mycloudall/skinsall: 30 days; a TTL of a day, and one above validity/2 (clamped). */
        run_cycle("mycloudall.wisemo.com", "skinsall.wisemo.com", 30 * DAY, DAY, DAY);
        run_cycle("mycloudall.wisemo.com", "skinsall.wisemo.com", 30 * DAY, 3600 * SEC, 3600 * SEC);
        run_cycle("mycloudall.wisemo.com", "skinsall.wisemo.com", 30 * DAY, 40 * DAY, 15 * DAY);
}

/* ---- NXDOMAIN / empty answers ---- */

static void test_empty_answers(void) {
        _cleanup_(ledger_freep) struct ledger *l = NULL;
        const usec_t v = 7 * DAY;
        struct ip_addr a = parse("203.0.113.7"), b = parse("2001:db8::7"), c = parse("198.51.100.9");
        struct ip_addr first[] = { a, b, c }, second[] = { b, a };
        struct events ev = { 0 };
        usec_t now;
        size_t n;

        ASSERT_EQ(0, ledger_new(&l));
        ASSERT_EQ(3, ledger_record(l, "csall.wisemo.com", first, 3, T0, v, NULL, NULL));
        ASSERT_EQ(0, ledger_record(l, "csall.wisemo.com", second, 2, T0 + 300 * SEC, v, NULL, NULL));
        assert_entry(l, &c, T0 + v, T0, "csall.wisemo.com");
        assert_entry(l, &a, T0 + 300 * SEC + v, T0 + 300 * SEC, "csall.wisemo.com");
        ASSERT_UEQ(T0 + v, ledger_next_expiry(l));

        /* From now on NXDOMAIN: an answer with nothing in it, retried at refresh_min. */
        for (now = T0 + 600 * SEC; now <= T0 + 300 * SEC + v + 600 * SEC;
             now += schedule_after_success(USEC_INFINITY, 0, 60 * SEC, v)) {
                ASSERT_UEQ(60 * SEC, schedule_after_success(USEC_INFINITY, 0, 60 * SEC, v));
                if (now == T0 + v || now == T0 + 300 * SEC + v) {
                        size_t before;
                        ledger_entries(l, &before);
                        ASSERT_UEQ(0, ledger_expire(l, now - 1, NULL, NULL));
                        ledger_entries(l, &n);
                        ASSERT_UEQ(before, n);
                }
                events_reset(&ev);
                ledger_expire(l, now, record_event, &ev);
                if (now == T0 + v) {
                        ASSERT_UEQ(1, ev.n);
                        ASSERT_EQ(0, addr_compare(&c, &ev.v[0].addr));
                        ASSERT_STREQ("csall.wisemo.com", ev.v[0].host);
                } else if (now == T0 + 300 * SEC + v) {
                        ASSERT_UEQ(2, ev.n);
                        ASSERT_EQ(0, addr_compare(&a, &ev.v[0].addr)); /* IPv4 sorts first */
                        ASSERT_EQ(0, addr_compare(&b, &ev.v[1].addr));
                } else
                        ASSERT_UEQ(0, ev.n);

                ASSERT_EQ(0, ledger_record(l, "csall.wisemo.com", NULL, 0, now, v, record_event, &ev));
                ASSERT_EQ(0, ledger_record(l, "csall.wisemo.com", &a, 0, now, v, record_event, &ev));

                ledger_entries(l, &n);
                if (now < T0 + v) {
                        ASSERT_UEQ(3, n);
                        assert_entry(l, &c, T0 + v, T0, "csall.wisemo.com"); /* nothing refreshed */
                        assert_entry(l, &b, T0 + 300 * SEC + v, T0 + 300 * SEC, "csall.wisemo.com");
                } else if (now < T0 + 300 * SEC + v) {
                        ASSERT_UEQ(2, n);
                        ASSERT_UEQ(T0 + 300 * SEC + v, ledger_host_next_expiry(l, "csall.wisemo.com"));
                } else {
                        ASSERT_UEQ(0, n);
                        ASSERT_UEQ(USEC_INFINITY, ledger_next_expiry(l));
                        ASSERT_UEQ(USEC_INFINITY, ledger_host_next_expiry(l, "csall.wisemo.com"));
                        ASSERT_UEQ(0, ledger_host_count(l, "csall.wisemo.com"));
                }
        }
        events_free(&ev);
}

/* ---- failures: no answer at all, backoff ---- */

static void test_failures(void) {
        _cleanup_(ledger_freep) struct ledger *l = NULL;
        _cleanup_free_ struct ledger_entry *snapshot = NULL;
        const usec_t v = 7 * DAY, warn_from = T0 + v / 10 * 9;
        struct ip_addr addrs[] = { parse("203.0.113.1"), parse("203.0.113.2"), parse("2001:db8::1") };
        const struct ledger_entry *e;
        usec_t now = T0, prev = T0;
        unsigned failures = 0;
        bool warned = false, crossed = false;
        size_t n;

        ASSERT_EQ(0, ledger_new(&l));
        ASSERT_EQ(3, ledger_record(l, "csall.wisemo.com", addrs, 3, T0, v, NULL, NULL));
        e = ledger_entries(l, &n);
        snapshot = malloc(n * sizeof(*e));
        ASSERT_TRUE(snapshot);
        memcpy(snapshot, e, n * sizeof(*e));

        /* The host fails from the first refresh on: nothing is recorded, retries back off. */
        now += schedule_after_success(300 * SEC, 0, 60 * SEC, v);
        while (now <= T0 + v + 2 * 3600 * SEC) {
                usec_t next_expiry = ledger_host_next_expiry(l, "csall.wisemo.com");
                bool near;

                failures++;
                if (prev < T0 + v && now >= T0 + v) {
                        ASSERT_UEQ(0, ledger_expire(l, T0 + v - 1, NULL, NULL));
                        ASSERT_UEQ(3, ledger_expire(l, T0 + v, NULL, NULL));
                        crossed = true;
                }
                ASSERT_UEQ(0, ledger_expire(l, now, NULL, NULL));
                e = ledger_entries(l, &n);
                if (now < T0 + v) {
                        /* Unchanged, byte for byte. */
                        ASSERT_UEQ(3, n);
                        assert_entries_equal(snapshot, e, n);
                        ASSERT_UEQ(T0 + v, next_expiry);
                        near = schedule_expiry_is_near(now, next_expiry, v);
                        ASSERT_TRUE(near == (now >= warn_from));
                        warned |= near;
                } else
                        ASSERT_UEQ(0, n);

                prev = now;
                now += schedule_after_failure(failures, 10 * SEC, 3600 * SEC, UINT64_C(1) << 63);
        }
        ASSERT_TRUE(warned);
        ASSERT_TRUE(crossed);
        /* 10s doubling reaches the 1h cap after 10 failures; 7 days of hourly retries follow. */
        ASSERT_TRUE(failures > 7 * 24 && failures < 7 * 24 + 20);

        /* Recovery: everything comes back as new, valid a full validity. */
        {
                struct events ev = { 0 };
                ASSERT_EQ(3, ledger_record(l, "csall.wisemo.com", addrs, 3, now, v, record_event, &ev));
                ASSERT_UEQ(3, ev.n);
                for (unsigned i = 0; i < 3; i++)
                        assert_entry(l, &addrs[i], now + v, now, "csall.wisemo.com");
                events_free(&ev);
        }
}

/* ---- shared addresses ---- */

static void test_shared(void) {
        _cleanup_(ledger_freep) struct ledger *l = NULL;
        const usec_t v = 7 * DAY;
        struct ip_addr x = parse("203.0.113.10"), y = parse("203.0.113.20"), z = parse("2001:db8::30");
        struct ip_addr ans_a[] = { x, y }, ans_b[] = { y, z };
        struct events ev = { 0 };

        ASSERT_EQ(0, ledger_new(&l));
        ASSERT_EQ(2, ledger_record(l, "a.example", ans_a, 2, T0, v, record_event, &ev));
        ASSERT_EQ(1, ledger_record(l, "b.example", ans_b, 2, T0 + 10 * SEC, v, record_event, &ev));
        ASSERT_UEQ(3, ev.n);
        ASSERT_EQ(0, addr_compare(&z, &ev.v[2].addr));
        ASSERT_STREQ("b.example", ev.v[2].host);
        assert_entry(l, &y, T0 + 10 * SEC + v, T0 + 10 * SEC, "b.example"); /* moved to the last one */
        ASSERT_UEQ(1, ledger_host_count(l, "a.example"));
        ASSERT_UEQ(2, ledger_host_count(l, "b.example"));
        ASSERT_UEQ(0, ledger_host_count(l, "c.example"));
        ASSERT_UEQ(T0 + v, ledger_host_next_expiry(l, "a.example"));
        ASSERT_UEQ(T0 + 10 * SEC + v, ledger_host_next_expiry(l, "b.example"));
        ASSERT_UEQ(USEC_INFINITY, ledger_host_next_expiry(l, "c.example"));

        /* a returns y again: y moves back to a. */
        ASSERT_EQ(0, ledger_record(l, "a.example", &y, 1, T0 + DAY, v, NULL, NULL));
        assert_entry(l, &y, T0 + DAY + v, T0 + DAY, "a.example");
        ASSERT_UEQ(2, ledger_host_count(l, "a.example"));
        ASSERT_UEQ(1, ledger_host_count(l, "b.example"));

        /* b stops returning y (only z from now); a keeps returning y until day 3, then NXDOMAIN. */
        ASSERT_EQ(0, ledger_record(l, "b.example", &z, 1, T0 + 2 * DAY, v, NULL, NULL));
        ASSERT_EQ(0, ledger_record(l, "a.example", &y, 1, T0 + 3 * DAY, v, NULL, NULL));
        ASSERT_EQ(0, ledger_record(l, "a.example", NULL, 0, T0 + 4 * DAY, v, NULL, NULL));
        ASSERT_EQ(0, ledger_record(l, "b.example", &z, 1, T0 + 5 * DAY, v, NULL, NULL));

        /* x (a, day 0) goes at T0 + 7d; y stays until a's last sighting + 7d, though b dropped it
         * at day 2; z as long as b keeps it. */
        ASSERT_UEQ(0, ledger_expire(l, T0 + v - 1, NULL, NULL));
        events_reset(&ev);
        ASSERT_UEQ(1, ledger_expire(l, T0 + v, record_event, &ev));
        ASSERT_EQ(0, addr_compare(&x, &ev.v[0].addr));
        ASSERT_STREQ("a.example", ev.v[0].host);
        ASSERT_UEQ(0, ledger_expire(l, T0 + 3 * DAY + v - 1, NULL, NULL));
        assert_entry(l, &y, T0 + 3 * DAY + v, T0 + 3 * DAY, "a.example");
        events_reset(&ev);
        ASSERT_UEQ(1, ledger_expire(l, T0 + 3 * DAY + v, record_event, &ev));
        ASSERT_EQ(0, addr_compare(&y, &ev.v[0].addr));
        ASSERT_STREQ("a.example", ev.v[0].host);
        ASSERT_UEQ(1, ledger_host_count(l, "b.example"));
        assert_entry(l, &z, T0 + 5 * DAY + v, T0 + 5 * DAY, "b.example");
        ASSERT_UEQ(0, ledger_host_count(l, "a.example"));

        /* The other way round: b sees y after a (later expiry, b's) then a sees it again on the
         * same schedule: the later sighting always wins and moves the host. */
        ASSERT_EQ(1, ledger_record(l, "a.example", &y, 1, T0 + 20 * DAY, v, NULL, NULL));
        ASSERT_EQ(0, ledger_record(l, "b.example", &y, 1, T0 + 20 * DAY + 1, v, NULL, NULL));
        assert_entry(l, &y, T0 + 20 * DAY + 1 + v, T0 + 20 * DAY + 1, "b.example");
        events_free(&ev);
}

/* ---- restore ---- */

static void test_restore(void) {
        _cleanup_(ledger_freep) struct ledger *l = NULL;
        const usec_t v = 7 * DAY, now = T0 + 10 * DAY;
        struct ip_addr a = parse("203.0.113.1"), b = parse("203.0.113.2"), c = parse("2001:db8::3");
        struct events ev = { 0 };
        size_t n;

        ASSERT_EQ(0, ledger_new(&l));
        /* Out of order on purpose (c, a, b), with remaining expiries. */
        ASSERT_EQ(0, ledger_restore(l, "csall.wisemo.com", &c, now + 2 * DAY, now - 5 * DAY, now - 5 * DAY));
        ASSERT_EQ(0, ledger_restore(l, "csall.wisemo.com", &a, now + 1 * DAY, now - 6 * DAY, now - 6 * DAY));
        ASSERT_EQ(0, ledger_restore(l, "mycloudall.wisemo.com", &b, now + 3 * DAY, now - 4 * DAY, now - 4 * DAY));
        assert_sorted(l);
        ledger_entries(l, &n);
        ASSERT_UEQ(3, n);
        assert_entry(l, &a, now + 1 * DAY, now - 6 * DAY, "csall.wisemo.com");
        assert_entry(l, &c, now + 2 * DAY, now - 5 * DAY, "csall.wisemo.com");
        assert_entry(l, &b, now + 3 * DAY, now - 4 * DAY, "mycloudall.wisemo.com");

        /* Duplicates in the state file: the later expiry wins, with its host and last_seen. */
        ASSERT_EQ(0, ledger_restore(l, "other.example", &a, now + 1 * DAY - 1, now, now));
        assert_entry(l, &a, now + 1 * DAY, now - 6 * DAY, "csall.wisemo.com");
        ASSERT_EQ(0, ledger_restore(l, "other.example", &a, now + 1 * DAY, now, now));
        assert_entry(l, &a, now + 1 * DAY, now - 6 * DAY, "csall.wisemo.com");
        ASSERT_EQ(0, ledger_restore(l, "other.example", &a, now + 4 * DAY, now - DAY, now - DAY));
        assert_entry(l, &a, now + 4 * DAY, now - DAY, "other.example");
        ledger_entries(l, &n);
        ASSERT_UEQ(3, n);

        /* Restored entries age out by their remaining expiry, not a fresh validity. */
        ASSERT_UEQ(0, ledger_expire(l, now + 2 * DAY - 1, NULL, NULL));
        ASSERT_UEQ(1, ledger_expire(l, now + 2 * DAY, record_event, &ev));
        ASSERT_EQ(0, addr_compare(&c, &ev.v[0].addr));
        ASSERT_STREQ("csall.wisemo.com", ev.v[0].host);

        /* Seen again: the new expiry when it is later, no on_added (it was there). b's restored
         * expiry (now + 3d) is later than a sighting with validity 1d: b keeps it. */
        events_reset(&ev);
        ASSERT_EQ(0, ledger_record(l, "csall.wisemo.com", &a, 1, now + DAY, v, record_event, &ev));
        ASSERT_UEQ(0, ev.n);
        assert_entry(l, &a, now + DAY + v, now + DAY, "csall.wisemo.com");
        ASSERT_EQ(0, ledger_record(l, "skinsall.wisemo.com", &b, 1, now + DAY, DAY, NULL, NULL));
        assert_entry(l, &b, now + 3 * DAY, now + DAY, "skinsall.wisemo.com");

        /* Restoring with an earlier expiry after a sighting changes nothing. */
        ASSERT_EQ(0, ledger_restore(l, "csall.wisemo.com", &b, now, now - 7 * DAY, now - 7 * DAY));
        assert_entry(l, &b, now + 3 * DAY, now + DAY, "skinsall.wisemo.com");

        /* Bad arguments. */
        ASSERT_EQ(-EINVAL, ledger_restore(l, NULL, &a, now, now, now));
        ASSERT_EQ(-EINVAL, ledger_restore(l, "x", NULL, now, now, now));
        events_free(&ev);
}

static void test_restore_order(void) {
        _cleanup_(ledger_freep) struct ledger *sorted = NULL, *reversed = NULL;
        const unsigned count = 3000;
        const struct ledger_entry *e1, *e2;
        size_t n1, n2;

        ASSERT_EQ(0, ledger_new(&sorted));
        ASSERT_EQ(0, ledger_new(&reversed));
        for (unsigned i = 0; i < count; i++) {
                /* test_addr order: IPv4 ascending then IPv6 ascending = address order */
                unsigned k = i < count / 2 ? 2 * i : 2 * (i - count / 2) + 1;
                struct ip_addr a = test_addr(k), r = test_addr(count - 1 - k);
                ASSERT_EQ(0, ledger_restore(sorted, "h", &a, T0 + k, T0, T0));
                ASSERT_EQ(0, ledger_restore(reversed, "h", &r, T0 + count - 1 - k, T0, T0));
        }
        e1 = ledger_entries(sorted, &n1);
        e2 = ledger_entries(reversed, &n2);
        ASSERT_UEQ(count, n1);
        ASSERT_UEQ(count, n2);
        assert_sorted(sorted);
        assert_sorted(reversed);
        for (size_t i = 0; i < n1; i++) {
                ASSERT_EQ(0, addr_compare(&e1[i].addr, &e2[i].addr));
                ASSERT_UEQ(e1[i].expiry, e2[i].expiry);
                ASSERT_UEQ(T0 + test_addr_index(&e1[i].addr), e1[i].expiry);
        }
}

/* ---- callbacks and odd input ---- */

static void test_callbacks(void) {
        _cleanup_(ledger_freep) struct ledger *l = NULL;
        const usec_t v = DAY;
        struct ip_addr in[] = {
                parse("203.0.113.5"), parse("2001:db8::5"), parse("203.0.113.5"), parse("203.0.113.4"),
                parse("2001:db8::5"), parse("203.0.113.5"),
        };
        struct ip_addr again[] = { parse("203.0.113.4"), parse("203.0.113.6"), parse("203.0.113.6") };
        struct events added = { 0 }, expired = { 0 };
        size_t n;

        ASSERT_EQ(0, ledger_new(&l));
        /* Duplicates: each address added (and reported) once, in address order. */
        ASSERT_EQ(3, ledger_record(l, "h.example", in, ELEMENTSOF(in), T0, v, record_event, &added));
        ASSERT_UEQ(3, added.n);
        ASSERT_EQ(0, addr_compare(&in[3], &added.v[0].addr));
        ASSERT_EQ(0, addr_compare(&in[0], &added.v[1].addr));
        ASSERT_EQ(0, addr_compare(&in[1], &added.v[2].addr));
        for (unsigned i = 0; i < 3; i++) {
                ASSERT_STREQ("h.example", added.v[i].host);
                ASSERT_UEQ(T0 + v, added.v[i].expiry);
        }
        ledger_entries(l, &n);
        ASSERT_UEQ(3, n);

        /* Only the new one is reported; the known one is refreshed silently. */
        events_reset(&added);
        ASSERT_EQ(1, ledger_record(l, "g.example", again, ELEMENTSOF(again), T0 + 1, v, record_event, &added));
        ASSERT_UEQ(1, added.n);
        ASSERT_EQ(0, addr_compare(&again[1], &added.v[0].addr));
        ASSERT_STREQ("g.example", added.v[0].host);
        assert_entry(l, &again[0], T0 + 1 + v, T0 + 1, "g.example");

        /* Same answer again: nothing new; NULL callbacks are fine. */
        events_reset(&added);
        ASSERT_EQ(0, ledger_record(l, "g.example", again, ELEMENTSOF(again), T0 + 2, v, record_event, &added));
        ASSERT_UEQ(0, added.n);
        ASSERT_EQ(0, ledger_record(l, "g.example", again, ELEMENTSOF(again), T0 + 2, v, NULL, NULL));

        /* Expiry reports exactly the two from h (T0 + v), with h's name; g's stay. */
        ASSERT_UEQ(0, ledger_expire(l, T0 + v - 1, record_event, &expired));
        ASSERT_UEQ(0, expired.n);
        ASSERT_UEQ(2, ledger_expire(l, T0 + v, record_event, &expired));
        ASSERT_UEQ(2, expired.n);
        ASSERT_EQ(0, addr_compare(&in[0], &expired.v[0].addr));
        ASSERT_EQ(0, addr_compare(&in[1], &expired.v[1].addr));
        ASSERT_STREQ("h.example", expired.v[0].host);
        ASSERT_STREQ("h.example", expired.v[1].host);
        ASSERT_UEQ(0, ledger_host_count(l, "h.example"));
        ASSERT_UEQ(2, ledger_host_count(l, "g.example"));
        ASSERT_UEQ(2, ledger_expire(l, USEC_INFINITY - 1, NULL, NULL));
        ASSERT_UEQ(0, ledger_expire(l, USEC_INFINITY, NULL, NULL));

        events_free(&added);
        events_free(&expired);
}

static void test_odd_input(void) {
        _cleanup_(ledger_freep) struct ledger *l = NULL;
        struct ip_addr a4 = parse("1.2.3.4"), a6 = parse("::ffff:102:304"), mapped = parse("::102:304");
        struct ip_addr garbage = a4, net = parse("1.2.3.0"), prefix = parse("1.2.3.0/24");
        struct ip_addr both[4];
        size_t n;

        ASSERT_EQ(0, ledger_new(&l));
        /* Same bytes, different families or prefix lengths: different entries. Bytes past an
         * IPv4 address do not make it a different one. */
        garbage.u.bytes[8] = 0xaa;
        both[0] = a4; both[1] = a6; both[2] = mapped; both[3] = garbage;
        ASSERT_EQ(3, ledger_record(l, "h", both, 4, T0, DAY, NULL, NULL));
        ASSERT_EQ(0, ledger_record(l, "h", &garbage, 1, T0, DAY, NULL, NULL));
        ASSERT_EQ(1, ledger_record(l, "h", &net, 1, T0, DAY, NULL, NULL));
        ASSERT_EQ(1, ledger_record(l, "h", &prefix, 1, T0, DAY, NULL, NULL));
        ledger_entries(l, &n);
        ASSERT_UEQ(5, n);
        assert_sorted(l);

        /* validity 0: expires at once; a huge validity saturates instead of wrapping. */
        {
                struct ip_addr z = parse("203.0.113.99"), w = parse("203.0.113.98");
                ASSERT_EQ(1, ledger_record(l, "h", &z, 1, T0, 0, NULL, NULL));
                assert_entry(l, &z, T0, T0, "h");
                ASSERT_EQ(1, ledger_record(l, "h", &w, 1, T0, USEC_INFINITY - 5, NULL, NULL));
                assert_entry(l, &w, USEC_INFINITY, T0, "h");
                ASSERT_UEQ(6, ledger_expire(l, T0 + DAY, NULL, NULL));
                ledger_entries(l, &n);
                ASSERT_UEQ(1, n);
                ASSERT_UEQ(USEC_INFINITY, ledger_next_expiry(l));
        }

        /* A shorter validity later (config reload) never shortens an expiry already promised. */
        {
                struct ip_addr s = parse("192.0.2.77");
                ASSERT_EQ(1, ledger_record(l, "h", &s, 1, T0, 7 * DAY, NULL, NULL));
                ASSERT_EQ(0, ledger_record(l, "h2", &s, 1, T0 + DAY, DAY, NULL, NULL));
                assert_entry(l, &s, T0 + 7 * DAY, T0 + DAY, "h2");
        }

        /* Bad arguments and empty ledgers. */
        ASSERT_EQ(-EINVAL, ledger_record(l, NULL, &a4, 1, T0, DAY, NULL, NULL));
        ASSERT_EQ(-EINVAL, ledger_record(l, "h", NULL, 1, T0, DAY, NULL, NULL));
        ASSERT_EQ(-EINVAL, ledger_record(NULL, "h", &a4, 1, T0, DAY, NULL, NULL));
        ASSERT_TRUE(ledger_host_name(l, 1000) == NULL);
        ASSERT_UEQ(0, ledger_host_count(l, "never.example"));
        ASSERT_UEQ(USEC_INFINITY, ledger_next_expiry(NULL));
        ASSERT_TRUE(ledger_free(NULL) == NULL);
        {
                _cleanup_(ledger_freep) struct ledger *empty = NULL;
                ASSERT_EQ(0, ledger_new(&empty));
                ASSERT_TRUE(ledger_entries(empty, &n) == NULL || n == 0);
                ASSERT_UEQ(0, n);
                ASSERT_UEQ(0, ledger_expire(empty, USEC_INFINITY, NULL, NULL));
                ASSERT_UEQ(USEC_INFINITY, ledger_next_expiry(empty));
        }
}

/* ---- random answers against the model ---- */

/* Random answer sizes (0 to a whole pool, with duplicates), hosts, validities and expiry times:
 * the galloping search and the block merge meet every layout, checked entry by entry. */
static void test_random_against_model(void) {
        _cleanup_(ledger_freep) struct ledger *l = NULL;
        static const char *const hosts[] = { "a.example", "b.example", "c.example" };
        struct model m = { 0 };
        struct ip_addr answer[400];
        uint64_t rng = 7;
        usec_t now = T0;

        ASSERT_EQ(0, ledger_new(&l));
        for (unsigned round = 0; round < 3000; round++) {
                unsigned kind = (unsigned) (xorshift64(&rng) % 10);
                size_t n = kind < 6 ? xorshift64(&rng) % 8 : kind < 9 ? xorshift64(&rng) % 60 : xorshift64(&rng) % 400;

                for (size_t i = 0; i < n; i++)
                        answer[i] = test_addr((unsigned) (xorshift64(&rng) % 300));
                step_record(l, &m, hosts[xorshift64(&rng) % 3], answer, n, now,
                            (1 + xorshift64(&rng) % 50) * SEC);
                now += xorshift64(&rng) % (5 * SEC);
                if (xorshift64(&rng) % 4 == 0)
                        step_expire(l, &m, now);
        }
        model_free(&m);
}

/* ---- bulk restore against a model ---- */

struct model_record {
        struct ip_addr addr;
        uint32_t host;
        usec_t expiry, last_seen;
        bool kept;
};

/* a before b in the model's preference: later expiry, later last_seen, then the tie-break. */
static bool model_better(const struct model_record *a, const struct model_record *b, bool by_host) {
        if (a->expiry != b->expiry)
                return a->expiry > b->expiry;
        if (a->last_seen != b->last_seen)
                return a->last_seen > b->last_seen;
        return by_host ? a->host < b->host : addr_compare(&a->addr, &b->addr) < 0;
}

/* The rules as ledger.h states them, the slow way: every record against every other. */
static size_t model_restore(struct model_record *r, size_t n, size_t max_per_family, size_t *ret_duplicates) {
        size_t kept = 0, duplicates = 0;

        for (size_t i = 0; i < n; i++) {
                r[i].kept = true;
                for (size_t j = 0; j < n; j++)
                        if (j != i && addr_compare(&r[i].addr, &r[j].addr) == 0 &&
                            (model_better(&r[j], &r[i], true) ||
                             (j < i && !model_better(&r[i], &r[j], true)))) {
                                r[i].kept = false; /* a better one, or an identical earlier one */
                                break;
                        }
                if (!r[i].kept)
                        duplicates++;
        }
        for (size_t i = 0; i < n; i++) {
                size_t better = 0;

                if (!r[i].kept)
                        continue;
                for (size_t j = 0; j < n; j++)
                        if (j != i && r[j].kept && r[j].host == r[i].host && r[j].addr.family == r[i].addr.family &&
                            model_better(&r[j], &r[i], false))
                                better++;
                r[i].kept = better < max_per_family;
        }
        for (size_t i = 0; i < n; i++)
                kept += r[i].kept;
        *ret_duplicates = duplicates;
        return kept;
}

static usec_t model_first_seen(const struct model_record *model, const usec_t *first_seen, size_t n,
                               const struct ip_addr *a) {
        usec_t earliest = USEC_INFINITY;

        for (size_t i = 0; i < n; i++)
                if (addr_compare(&model[i].addr, a) == 0)
                        earliest = MIN(earliest, first_seen[i]);
        return earliest;
}

static void test_restore_many_against_model(void) {
        static const char *const hosts[] = { "a.example", "b.example", "c.example", "d.example" };
        uint64_t rng = 11;

        for (unsigned round = 0; round < 400; round++) {
                _cleanup_(ledger_freep) struct ledger *l = NULL;
                size_t n = xorshift64(&rng) % 300, max = 1 + xorshift64(&rng) % 40, kept, duplicates, k = 0, n_out;
                struct model_record *model = calloc(MAX(n, 1u), sizeof(*model));
                struct ledger_entry *records = calloc(MAX(n, 1u), sizeof(*records));
                usec_t *first_seen = calloc(MAX(n, 1u), sizeof(*first_seen));
                struct ledger_restore_stats stats;
                /* Small ranges, so duplicates, equal expiries and equal last_seen all occur. */
                unsigned pool = 1 + (unsigned) (xorshift64(&rng) % 200);

                ASSERT_TRUE(model && records && first_seen);
                for (size_t i = 0; i < n; i++) {
                        model[i] = (struct model_record) {
                                .addr = test_addr((unsigned) (xorshift64(&rng) % pool)),
                                .host = (uint32_t) (xorshift64(&rng) % ELEMENTSOF(hosts)),
                                .expiry = T0 + xorshift64(&rng) % 20,
                                .last_seen = T0 - xorshift64(&rng) % 3,
                        };
                        records[i] = (struct ledger_entry) {
                                .addr = model[i].addr,
                                .host = model[i].host,
                                .expiry = model[i].expiry,
                                .last_seen = model[i].last_seen,
                                .first_seen = T0 - 3 - xorshift64(&rng) % 10,
                        };
                        first_seen[i] = records[i].first_seen;
                }
                kept = model_restore(model, n, max, &duplicates);

                ASSERT_EQ(0, ledger_new(&l));
                ASSERT_EQ(0, ledger_restore_many(l, hosts, ELEMENTSOF(hosts), records, n, max, &stats));
                assert_sorted(l);
                ledger_entries(l, &n_out);
                ASSERT_UEQ(kept, n_out);
                ASSERT_UEQ(duplicates, stats.duplicates);
                ASSERT_UEQ(n - duplicates - kept, stats.over_limit);
                for (size_t i = 0; i < n; i++) {
                        const struct ledger_entry *found;

                        if (!model[i].kept)
                                continue;
                        k++;
                        found = find(l, &model[i].addr);
                        ASSERT_TRUE(found);
                        ASSERT_UEQ(model[i].expiry, found->expiry);
                        ASSERT_UEQ(model[i].last_seen, found->last_seen);
                        ASSERT_STREQ(hosts[model[i].host], ledger_host_name(l, found->host));
                        /* Since the earliest of all records of the address, kept or not. */
                        ASSERT_UEQ(model_first_seen(model, first_seen, n, &model[i].addr), found->first_seen);
                }
                ASSERT_UEQ(kept, k);
                /* Each host's own list agrees: its count and its earliest expiry. */
                for (uint32_t h = 0; h < ELEMENTSOF(hosts); h++) {
                        size_t count = 0;
                        usec_t earliest = USEC_INFINITY;

                        for (size_t i = 0; i < n; i++)
                                if (model[i].kept && model[i].host == h) {
                                        count++;
                                        earliest = MIN(earliest, model[i].expiry);
                                }
                        ASSERT_UEQ(count, ledger_host_count(l, hosts[h]));
                        ASSERT_UEQ(earliest, ledger_host_next_expiry(l, hosts[h]));
                }
                free(model);
                free(first_seen);
        }
}

static void test_restore_many_edges(void) {
        _cleanup_(ledger_freep) struct ledger *l = NULL;
        static const char *const hosts[] = { "a.example" };
        enum { N = 100000 };
        struct ledger_entry *records = calloc(N, sizeof(*records));
        struct ledger_restore_stats stats;
        const struct ledger_entry *e;
        size_t n, v4 = 0;

        /* One host, 100,000 addresses out of order: 256 per family stay, those expiring last. */
        ASSERT_TRUE(records);
        for (size_t i = 0; i < N; i++)
                records[i] = (struct ledger_entry) {
                        .addr = test_addr((unsigned) ((i * 7919) % N)),
                        .expiry = T0 + (i * 7919) % N,
                        .last_seen = T0,
                };
        ASSERT_EQ(0, ledger_new(&l));
        ASSERT_EQ(0, ledger_restore_many(l, hosts, 1, records, N, 256, &stats));
        e = ledger_entries(l, &n);
        ASSERT_UEQ(512, n);
        ASSERT_UEQ(N - 512, stats.over_limit);
        ASSERT_UEQ(1, stats.hosts_over_limit);
        ASSERT_UEQ(0, stats.most_over);
        ASSERT_UEQ(N - 512, stats.most_over_count);
        for (size_t i = 0; i < n; i++) {
                unsigned k = test_addr_index(&e[i].addr);
                v4 += e[i].addr.family == AF_INET;
                ASSERT_UEQ(T0 + k, e[i].expiry);
                ASSERT_TRUE(k >= N - 512);
        }
        ASSERT_UEQ(256, v4);
        assert_sorted(l);

        /* Only into an empty ledger; bad host indexes; the array is taken over either way. */
        records = calloc(1, sizeof(*records));
        ASSERT_TRUE(records);
        ASSERT_EQ(-EBUSY, ledger_restore_many(l, hosts, 1, records, 1, 256, NULL));
        ledger_free(l);
        ASSERT_EQ(0, ledger_new(&l));
        records = calloc(1, sizeof(*records));
        ASSERT_TRUE(records);
        records[0].host = 1;
        ASSERT_EQ(-EINVAL, ledger_restore_many(l, hosts, 1, records, 1, 256, NULL));
        ASSERT_EQ(0, ledger_restore_many(l, hosts, 1, NULL, 0, 256, NULL));
        ledger_entries(l, &n);
        ASSERT_UEQ(0, n);
        /* A group without hosts (static entries only) restores nothing, successfully. */
        ledger_free(l);
        ASSERT_EQ(0, ledger_new(&l));
        ASSERT_EQ(0, ledger_restore_many(l, NULL, 0, NULL, 0, 256, NULL));
}

/* ---- 100,000 entries, IPv4 and IPv6 mixed ---- */

static void test_large(void) {
        enum { COUNT = 100000, ANSWER = 1000, HOSTS = 4 };
        _cleanup_(ledger_freep) struct ledger *l = NULL, *copy = NULL;
        _cleanup_free_ struct ip_addr *addrs = NULL, *all = NULL;
        _cleanup_free_ unsigned *answer_of = NULL;
        const usec_t v = 7 * DAY;
        const struct ledger_entry *e;
        uint64_t rng = 42;
        size_t n, removed_cb = 0, added_total = 0;
        char host[HOSTS][16];

        addrs = malloc(COUNT * sizeof(*addrs));
        all = malloc((COUNT + ANSWER) * sizeof(*all));
        answer_of = malloc(COUNT * sizeof(*answer_of));
        ASSERT_TRUE(addrs && all && answer_of);
        for (unsigned i = 0; i < COUNT; i++)
                addrs[i] = test_addr(i);
        for (unsigned i = COUNT - 1; i > 0; i--) {
                unsigned j = (unsigned) (xorshift64(&rng) % (i + 1));
                struct ip_addr t = addrs[i];
                addrs[i] = addrs[j];
                addrs[j] = t;
        }
        for (unsigned h = 0; h < HOSTS; h++)
                snprintf(host[h], sizeof(host[h]), "big%u.example", h);

        ASSERT_EQ(0, ledger_new(&l));
        for (unsigned j = 0; j < COUNT / ANSWER; j++) {
                int r = ledger_record(l, host[j % HOSTS], addrs + j * ANSWER, ANSWER, T0 + j * SEC, v, NULL, NULL);
                ASSERT_EQ(ANSWER, r);
                added_total += (size_t) r;
                for (unsigned k = 0; k < ANSWER; k++)
                        answer_of[test_addr_index(&addrs[j * ANSWER + k])] = j;
        }
        ASSERT_UEQ(COUNT, added_total);
        e = ledger_entries(l, &n);
        ASSERT_UEQ(COUNT, n);
        assert_sorted(l);
        for (size_t i = 0; i < n; i++) {
                unsigned j = answer_of[test_addr_index(&e[i].addr)];
                ASSERT_UEQ(T0 + j * SEC + v, e[i].expiry);
                ASSERT_STREQ(host[j % HOSTS], ledger_host_name(l, e[i].host));
        }
        /* IPv4 sorts before IPv6: the first half is all IPv4. */
        ASSERT_EQ(AF_INET, e[COUNT / 2 - 1].addr.family);
        ASSERT_EQ(AF_INET6, e[COUNT / 2].addr.family);
        for (unsigned h = 0; h < HOSTS; h++)
                ASSERT_UEQ(COUNT / HOSTS, ledger_host_count(l, host[h]));
        ASSERT_UEQ(T0 + v, ledger_next_expiry(l));

        /* The state file round trip: restoring in entries order gives the same ledger. */
        ASSERT_EQ(0, ledger_new(&copy));
        for (size_t i = 0; i < n; i++)
                ASSERT_EQ(0, ledger_restore(copy, ledger_host_name(l, e[i].host), &e[i].addr, e[i].expiry, e[i].last_seen, e[i].last_seen));
        {
                size_t n2;
                const struct ledger_entry *e2 = ledger_entries(copy, &n2);
                ASSERT_UEQ(n, n2);
                for (size_t i = 0; i < n; i++) {
                        ASSERT_EQ(0, addr_compare(&e[i].addr, &e2[i].addr));
                        ASSERT_UEQ(e[i].expiry, e2[i].expiry);
                        ASSERT_UEQ(e[i].last_seen, e2[i].last_seen);
                        ASSERT_STREQ(ledger_host_name(l, e[i].host), ledger_host_name(copy, e2[i].host));
                }
        }

        /* Answers 0..50 run out: exactly 51,000 go, with callbacks; the rest are untouched. */
        ASSERT_UEQ(0, ledger_expire(l, T0 + v - 1, NULL, NULL));
        {
                struct events ev = { 0 };
                ASSERT_UEQ(51 * ANSWER, ledger_expire(l, T0 + 50 * SEC + v, record_event, &ev));
                removed_cb = ev.n;
                for (size_t i = 0; i < ev.n; i++) {
                        unsigned j = answer_of[test_addr_index(&ev.v[i].addr)];
                        ASSERT_TRUE(j <= 50);
                        ASSERT_STREQ(host[j % HOSTS], ev.v[i].host);
                }
                events_free(&ev);
        }
        ASSERT_UEQ(51 * ANSWER, removed_cb);
        e = ledger_entries(l, &n);
        ASSERT_UEQ(COUNT - 51 * ANSWER, n);
        assert_sorted(l);
        for (size_t i = 0; i < n; i++)
                ASSERT_TRUE(answer_of[test_addr_index(&e[i].addr)] > 50);

        /* One answer with everything (and 1,000 duplicates) brings the 51,000 back. */
        memcpy(all, addrs, COUNT * sizeof(*all));
        memcpy(all + COUNT, addrs + 5000, ANSWER * sizeof(*all));
        ASSERT_EQ(51 * ANSWER, ledger_record(l, "all.example", all, COUNT + ANSWER, T0 + DAY, v, NULL, NULL));
        e = ledger_entries(l, &n);
        ASSERT_UEQ(COUNT, n);
        assert_sorted(l);
        for (size_t i = 0; i < n; i++) {
                ASSERT_UEQ(T0 + DAY + v, e[i].expiry);
                ASSERT_STREQ("all.example", ledger_host_name(l, e[i].host));
        }
        ASSERT_UEQ(COUNT, ledger_host_count(l, "all.example"));
        ASSERT_UEQ(0, ledger_host_count(l, host[0]));

        ASSERT_UEQ(COUNT, ledger_expire(l, T0 + DAY + v, NULL, NULL));
        ledger_entries(l, &n);
        ASSERT_UEQ(0, n);
        ASSERT_UEQ(COUNT, ledger_expire(copy, USEC_INFINITY, NULL, NULL));
}

/* ---- -ENOMEM leaves the ledger as it was ---- */

#ifndef __SANITIZE_ADDRESS__
/* Fault injection by interposing malloc in this test binary (glibc allows it, and its own
 * strdup/qsort go through it too). Not with ASan, which owns malloc itself. */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);

static int allocations_until_failure = -1;

static bool allocation_fails(void) {
        if (allocations_until_failure < 0)
                return false;
        if (allocations_until_failure == 0)
                return true;
        allocations_until_failure--;
        return false;
}

void *malloc(size_t size) {
        if (allocation_fails()) {
                errno = ENOMEM;
                return NULL;
        }
        return __libc_malloc(size);
}

void *calloc(size_t n, size_t size) {
        if (allocation_fails()) {
                errno = ENOMEM;
                return NULL;
        }
        return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size) {
        if (allocation_fails()) {
                errno = ENOMEM;
                return NULL;
        }
        return __libc_realloc(p, size);
}

static void count_event(const struct ledger *l, const struct ledger_entry *e, void *userdata) {
        (*(size_t *) userdata)++; /* no allocation: it runs while failures are injected */
}

static void test_enomem(void) {
        _cleanup_(ledger_freep) struct ledger *l = NULL;
        struct ip_addr known[8], answer[12];
        unsigned failed = 0;

        /* Under valgrind (or any allocator that takes malloc over) injection has no effect. */
        {
                void *(*volatile allocate)(size_t) = malloc; /* else gcc elides malloc + free */
                void *p;
                allocations_until_failure = 0;
                p = allocate(1);
                allocations_until_failure = -1;
                if (p) {
                        free(p);
                        fprintf(stderr, "malloc is not ours: skipping -ENOMEM injection\n");
                        return;
                }
        }

        ASSERT_EQ(0, ledger_new(&l));
        for (unsigned i = 0; i < ELEMENTSOF(known); i++)
                known[i] = test_addr(2 * i);
        ASSERT_EQ(8, ledger_record(l, "old.example", known, ELEMENTSOF(known), T0, DAY, NULL, NULL));
        /* Half known, half new (and enough new ones to make the array grow past 8). */
        for (unsigned i = 0; i < ELEMENTSOF(answer); i++)
                answer[i] = test_addr(i);

        for (int k = 0;; k++) {
                struct ledger_entry before[8];
                size_t added = 0;
                const struct ledger_entry *e;
                size_t n;
                int r;

                e = ledger_entries(l, &n);
                ASSERT_UEQ(8, n);
                memcpy(before, e, sizeof(before));

                allocations_until_failure = k;
                r = ledger_record(l, "new.example", answer, ELEMENTSOF(answer), T0 + SEC, DAY, count_event, &added);
                allocations_until_failure = -1;
                if (r == -ENOMEM) {
                        failed++;
                        e = ledger_entries(l, &n);
                        ASSERT_UEQ(8, n);
                        assert_entries_equal(before, e, n);
                        ASSERT_UEQ(0, added);
                        ASSERT_UEQ(0, ledger_host_count(l, "new.example"));
                        continue;
                }
                ASSERT_EQ(6, r);
                ASSERT_UEQ(6, added);
                break;
        }
        /* host name, answer copy, added buffer, array growth: each failure was seen. */
        ASSERT_TRUE(failed >= 4);
        ASSERT_UEQ(12, ledger_host_count(l, "new.example")); /* 6 new + 6 known, all now new's */
        ASSERT_UEQ(2, ledger_host_count(l, "old.example"));

        /* restore: host name or growth failing changes nothing either. */
        failed = 0;
        for (int k = 0;; k++) {
                struct ip_addr a = parse("2001:db8:ffff::1");
                size_t n0, n;
                int r;

                ledger_entries(l, &n0);
                allocations_until_failure = k;
                r = ledger_restore(l, "restored.example", &a, T0 + DAY, T0, T0);
                allocations_until_failure = -1;
                ledger_entries(l, &n);
                if (r == -ENOMEM) {
                        failed++;
                        ASSERT_UEQ(n0, n);
                        continue;
                }
                ASSERT_EQ(0, r);
                ASSERT_UEQ(n0 + 1, n);
                break;
        }
        ASSERT_TRUE(failed >= 1);
}
#endif

/* Snooped names come and go by the thousand: removal by address, and names nothing refers to
 * any more are forgotten so the name table stays bounded. */
static void test_remove_and_forget(void) {
        _cleanup_(ledger_freep) struct ledger *l = NULL;
        const struct ledger_entry *e;
        struct ip_addr a0 = test_addr(0);
        size_t n;

        ASSERT_EQ(0, ledger_new(&l));
        ASSERT_EQ(1, ledger_record(l, "keep.example", &a0, 1, 0, USEC_PER_HOUR, NULL, NULL));
        for (unsigned i = 1; i <= 10000; i++) {
                char name[64];
                struct ip_addr a = test_addr(i);
                snprintf(name, sizeof(name), "n%u.senso.cloud", i);
                ASSERT_EQ(1, ledger_record(l, name, &a, 1, i, USEC_PER_HOUR, NULL, NULL));
                if (i > 100) {
                        struct ip_addr old = test_addr(i - 100);
                        ASSERT_TRUE(ledger_remove(l, &old));
                }
        }
        e = ledger_entries(l, &n);
        ASSERT_UEQ(101, n);
        for (size_t i = 0; i < n; i++)
                ASSERT_TRUE(ledger_host_name(l, e[i].host) != NULL);
        ASSERT_UEQ(1, ledger_host_count(l, "keep.example"));
        ASSERT_UEQ(1, ledger_host_count(l, "n10000.senso.cloud"));
        ASSERT_UEQ(0, ledger_host_count(l, "n9900.senso.cloud"));
        ASSERT_UEQ(1, ledger_host_count(l, "n9901.senso.cloud"));
        /* At most about twice the names in use are kept, not all 10,001 ever seen. */
        ASSERT_TRUE(ledger_host_name(l, 1000) == NULL);
        ASSERT_TRUE(!ledger_remove(l, &(struct ip_addr) { .family = AF_INET, .prefixlen = 32 }));
        /* Every name an entry uses is still right after the renumbering. */
        for (size_t i = 0; i < n; i++) {
                const char *h = ledger_host_name(l, e[i].host);
                ASSERT_TRUE(streq(h, "keep.example") || strncmp(h, "n", 1) == 0);
        }
        /* Expiry forgets names too: nothing refers to them afterwards. */
        ASSERT_UEQ(101, ledger_expire(l, 2 * USEC_PER_HOUR + 20000, NULL, NULL));
        ASSERT_UEQ(0, ledger_host_count(l, "keep.example"));
}

/* first_seen: set when an address enters the ledger, kept while it stays allowed whichever
 * host answers it again, set anew once it expired and comes back; of restored duplicates the
 * earliest (each record proves the address allowed since its own first_seen). */
static void test_first_seen(void) {
        _cleanup_(ledger_freep) struct ledger *l = NULL;
        struct ip_addr a = parse("192.0.2.1"), b = parse("192.0.2.2");
        static const char *const hosts[] = { "a.example", "b.example" };
        struct ledger_entry *records;
        struct ledger_restore_stats stats;

        ASSERT_EQ(0, ledger_new(&l));
        ASSERT_EQ(1, ledger_record(l, "a.example", &a, 1, T0, 7 * DAY, NULL, NULL));
        ASSERT_UEQ(T0, find(l, &a)->first_seen);
        /* Answered again, by another host too: expiry and last_seen move, first_seen stays. */
        ASSERT_EQ(0, ledger_record(l, "a.example", &a, 1, T0 + DAY, 7 * DAY, NULL, NULL));
        ASSERT_EQ(0, ledger_record(l, "b.example", &a, 1, T0 + 2 * DAY, 7 * DAY, NULL, NULL));
        assert_entry(l, &a, T0 + 9 * DAY, T0 + 2 * DAY, "b.example");
        ASSERT_UEQ(T0, find(l, &a)->first_seen);
        /* Expired, then back: allowed again only since its return. */
        ASSERT_UEQ(1, ledger_expire(l, T0 + 9 * DAY, NULL, NULL));
        ASSERT_EQ(1, ledger_record(l, "a.example", &a, 1, T0 + 10 * DAY, 7 * DAY, NULL, NULL));
        ASSERT_UEQ(T0 + 10 * DAY, find(l, &a)->first_seen);

        /* ledger_restore(): the later expiry wins the record, the earlier first_seen the since. */
        ASSERT_EQ(0, ledger_restore(l, "b.example", &b, T0 + 5 * DAY, T0 + 2 * DAY, T0 + DAY));
        ASSERT_EQ(0, ledger_restore(l, "a.example", &b, T0 + 3 * DAY, T0 + 2, T0 + 1));
        assert_entry(l, &b, T0 + 5 * DAY, T0 + 2 * DAY, "b.example");
        ASSERT_UEQ(T0 + 1, find(l, &b)->first_seen);
        ASSERT_EQ(0, ledger_restore(l, "a.example", &b, T0 + 6 * DAY, T0 + 3 * DAY, T0 + 2 * DAY));
        assert_entry(l, &b, T0 + 6 * DAY, T0 + 3 * DAY, "a.example");
        ASSERT_UEQ(T0 + 1, find(l, &b)->first_seen);

        /* ledger_restore_many(): the same rule, whatever the records' order. */
        l = ledger_free(l);
        ASSERT_EQ(0, ledger_new(&l));
        records = calloc(3, sizeof(*records));
        ASSERT_TRUE(records);
        records[0] = (struct ledger_entry) { .addr = a, .host = 0, .expiry = T0 + 5 * DAY, .last_seen = T0,
                                             .first_seen = T0 - SEC };
        records[1] = (struct ledger_entry) { .addr = a, .host = 1, .expiry = T0 + 6 * DAY, .last_seen = T0 + DAY,
                                             .first_seen = T0 };
        records[2] = (struct ledger_entry) { .addr = b, .host = 1, .expiry = T0 + 6 * DAY, .last_seen = T0 + DAY,
                                             .first_seen = T0 + DAY };
        ASSERT_EQ(0, ledger_restore_many(l, hosts, 2, records, 3, 256, &stats));
        ASSERT_UEQ(1, stats.duplicates);
        assert_entry(l, &a, T0 + 6 * DAY, T0 + DAY, "b.example");
        ASSERT_UEQ(T0 - SEC, find(l, &a)->first_seen);
        ASSERT_UEQ(T0 + DAY, find(l, &b)->first_seen);
}

int main(void) {
        test_remove_and_forget();
        test_cycle_7d();
        test_cycle_30d();
        test_empty_answers();
        test_failures();
        test_shared();
        test_restore();
        test_restore_order();
        test_first_seen();
        test_callbacks();
        test_odd_input();
        test_random_against_model();
        test_restore_many_against_model();
        test_restore_many_edges();
        test_large();
#ifndef __SANITIZE_ADDRESS__
        test_enomem();
#endif
        return 0;
}
