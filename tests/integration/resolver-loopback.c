/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The resolver against a fake DNS server on a loopback UDP socket in the same sd-event loop:
 * needs loopback, so it runs from resolver-loopback.sh in the test's network namespace (the
 * argument-checking and answer-parsing parts are unit tests in tests/unit/test-resolver.c).
 * The fake holds every query until none has arrived for QUIET, then answers them all: so it
 * sees exactly how many queries the resolver keeps in flight. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>

#include "config.h"
#include "resolver.h"
#include "dns-build.h"  /* tests/unit */
#include "test-util.h" /* tests/unit */

#define QUIET (20 * USEC_PER_MSEC)
#define MAX_HELD 1024

struct held_query {
        struct sockaddr_in from;
        uint8_t buf[512];
        size_t len;
};

struct fake_server {
        int fd;
        uint16_t port;
        sd_event_source *io, *quiet;
        struct held_query held[MAX_HELD];
        size_t n_held, max_held, n_received;
        char first_names[64][64]; /* names of the first queries, in arrival order */
};

struct collected {
        size_t n;
        struct resolver_result last;
        char host[256], error_text[128];
        struct ip_addr addrs[16];
        size_t order[512];      /* index (userdata) of each result, in callback order */
        struct resolver *free_in_callback;
};

/* Reads the question name of a query as "a.b.c" (no trailing dot); returns the offset after
 * the question's type and class, or 0 when malformed. */
static size_t question_end(const uint8_t *p, size_t len, char *name, size_t size) {
        size_t off = 12, used = 0;

        name[0] = 0;
        while (off < len && p[off] != 0) {
                size_t l = p[off++];
                if (l > 63 || off + l > len || used + l + 2 > size)
                        return 0;
                if (used > 0)
                        name[used++] = '.';
                memcpy(name + used, p + off, l);
                used += l;
                name[used] = 0;
                off += l;
        }
        off += 1 + 4;
        return off <= len ? off : 0;
}

/* Builds the fake's answer to one query: see the names used in main(). */
static size_t fake_answer(const struct held_query *q, uint8_t *out) {
        char name[256];
        size_t qend = question_end(q->buf, q->len, name, sizeof(name)), off;
        uint16_t type, ancount = 0;
        unsigned idx;

        ASSERT_TRUE(qend > 0);
        type = (uint16_t) (q->buf[qend - 4] << 8 | q->buf[qend - 3]);
        memcpy(out, q->buf, qend);  /* header and question; the query's OPT record is dropped */
        out[2] = 0x81;              /* QR, RD */
        out[3] = 0x80;              /* RA, NOERROR */
        dns_put16(out + 10, 0);         /* ARCOUNT */
        off = qend;

        if (sscanf(name, "h%u.test", &idx) == 1) {
                if (type == 1) {
                        uint8_t a[4] = { 10, 0, (uint8_t) (idx / 256), (uint8_t) (idx % 256) };
                        off = dns_put_rr(out, off, 12, 1, 42, a, 4);
                } else {
                        struct in6_addr a6 = {};
                        a6.s6_addr[0] = 0xfd;
                        a6.s6_addr[15] = (uint8_t) idx;
                        off = dns_put_rr(out, off, 12, 28, 42, &a6, 16);
                }
                ancount = 1;
        } else if (streq(name, "cname.test") && type == 1) {
                /* cname.test CNAME t.test (TTL 30); t.test A 192.0.2.7 (TTL 300). */
                static const uint8_t target[] = { 1, 't', 4, 't', 'e', 's', 't', 0 };
                static const uint8_t a[4] = { 192, 0, 2, 7 };
                size_t rdata_at = off + 12;
                off = dns_put_rr(out, off, 12, 5, 30, target, sizeof(target));
                off = dns_put_rr(out, off, (uint16_t) rdata_at, 1, 300, a, 4);
                ancount = 2;
        } else if (streq(name, "dup.test") && type == 1) {
                static const uint8_t a[4] = { 192, 0, 2, 8 };
                off = dns_put_rr(out, off, 12, 1, 50, a, 4);
                off = dns_put_rr(out, off, 12, 1, 40, a, 4);
                ancount = 2;
        } else if (streq(name, "zero.test") && type == 1) {
                static const uint8_t a[4] = { 192, 0, 2, 9 };
                off = dns_put_rr(out, off, 12, 1, 0, a, 4);
                ancount = 1;
        } else if (streq(name, "bad.test")) {
                /* Claims an answer, then stops inside it. */
                dns_put16(out + off, 0xc00c);
                off += 2;
                ancount = 1;
        } else if (streq(name, "sf6.test")) {
                if (type == 1) {
                        static const uint8_t a[4] = { 192, 0, 2, 10 };
                        off = dns_put_rr(out, off, 12, 1, 60, a, 4);
                        ancount = 1;
                } else
                        out[3] = 0x82; /* SERVFAIL */
        } else if (streq(name, "nx.test"))
                out[3] = 0x83; /* NXDOMAIN */
        dns_put16(out + 6, ancount);
        return off;
}

static int on_quiet(sd_event_source *s, uint64_t usec, void *userdata) {
        struct fake_server *f = userdata;
        uint8_t out[2048];

        for (size_t i = 0; i < f->n_held; i++) {
                size_t len = fake_answer(&f->held[i], out);
                ASSERT_TRUE(sendto(f->fd, out, len, 0, (struct sockaddr *) &f->held[i].from,
                                   sizeof(f->held[i].from)) == (ssize_t) len);
        }
        f->n_held = 0;
        return 0;
}

static int on_fake_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct fake_server *f = userdata;

        for (;;) {
                struct held_query *q = &f->held[f->n_held];
                socklen_t sl = sizeof(q->from);
                ssize_t n;

                ASSERT_TRUE(f->n_held < MAX_HELD);
                n = recvfrom(fd, q->buf, sizeof(q->buf), MSG_DONTWAIT, (struct sockaddr *) &q->from, &sl);
                if (n < 0) {
                        ASSERT_TRUE(errno == EAGAIN);
                        break;
                }
                q->len = (size_t) n;
                if (f->n_received < ELEMENTSOF(f->first_names))
                        ASSERT_TRUE(question_end(q->buf, q->len, f->first_names[f->n_received], 64) > 0);
                f->n_received++;
                f->n_held++;
                f->max_held = MAX(f->max_held, f->n_held);
        }
        ASSERT_TRUE(sd_event_source_set_time(f->quiet, now_usec(CLOCK_MONOTONIC) + QUIET) >= 0);
        ASSERT_TRUE(sd_event_source_set_enabled(f->quiet, SD_EVENT_ONESHOT) >= 0);
        return 0;
}

static void fake_start(sd_event *e, struct fake_server *f) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t sl = sizeof(sa);

        memset(f, 0, sizeof(*f));
        f->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        ASSERT_TRUE(f->fd >= 0);
        ASSERT_TRUE(bind(f->fd, (struct sockaddr *) &sa, sizeof(sa)) == 0);
        ASSERT_TRUE(getsockname(f->fd, (struct sockaddr *) &sa, &sl) == 0);
        f->port = ntohs(sa.sin_port);
        ASSERT_TRUE(sd_event_add_io(e, &f->io, f->fd, EPOLLIN, on_fake_io, f) >= 0);
        ASSERT_TRUE(sd_event_add_time(e, &f->quiet, CLOCK_MONOTONIC, USEC_INFINITY, 1, on_quiet, f) >= 0);
        ASSERT_TRUE(sd_event_source_set_enabled(f->quiet, SD_EVENT_OFF) >= 0);
}

static void fake_stop(struct fake_server *f) {
        sd_event_source_disable_unref(f->io);
        sd_event_source_disable_unref(f->quiet);
        close(f->fd);
}

static void on_result(struct resolver *r, const struct resolver_result *res, void *userdata) {
        struct collected *c = userdata;

        ASSERT_TRUE(c->n < ELEMENTSOF(c->order));
        c->n++;
        c->last = *res;
        snprintf(c->host, sizeof(c->host), "%s", res->host);
        snprintf(c->error_text, sizeof(c->error_text), "%s", res->error_text ? res->error_text : "");
        ASSERT_TRUE(res->n_addrs <= ELEMENTSOF(c->addrs));
        if (res->n_addrs > 0) /* addrs may be NULL then, and memcpy(NULL) is undefined */
                memcpy(c->addrs, res->addrs, res->n_addrs * sizeof(struct ip_addr));
        c->last.addrs = c->addrs;
        if (c->free_in_callback) {
                resolver_free(c->free_in_callback);
                c->free_in_callback = NULL;
        }
}

/* For the many-hosts case: one collected per host would be large; count and check instead. */
struct bulk {
        size_t n, index_seen[200];
};

static void on_bulk_result(struct resolver *r, const struct resolver_result *res, void *userdata) {
        struct bulk *b = userdata;
        unsigned idx;
        char a[ADDR_STRLEN], want[ADDR_STRLEN];

        ASSERT_EQ(0, res->error);
        ASSERT_TRUE(sscanf(res->host, "h%u.test", &idx) == 1 && idx < ELEMENTSOF(b->index_seen));
        ASSERT_EQ(0, b->index_seen[idx]);
        b->index_seen[idx] = 1;
        ASSERT_UEQ(1, res->n_addrs);
        ASSERT_UEQ(42 * USEC_PER_SEC, res->min_ttl);
        snprintf(want, sizeof(want), "10.0.%u.%u", idx / 256, idx % 256);
        ASSERT_STREQ(want, addr_to_string(&res->addrs[0], a));
        b->n++;
}

static void run_until(sd_event *e, bool (*done)(void *), void *userdata, usec_t timeout) {
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + timeout;

        while (!done(userdata)) {
                usec_t now = now_usec(CLOCK_MONOTONIC);
                ASSERT_TRUE(now < deadline);
                ASSERT_TRUE(sd_event_run(e, deadline - now) >= 0);
        }
}

static void run_for(sd_event *e, usec_t duration) {
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + duration, now;

        while ((now = now_usec(CLOCK_MONOTONIC)) < deadline)
                ASSERT_TRUE(sd_event_run(e, deadline - now) >= 0);
}

static bool bulk_done(void *userdata) { return ((struct bulk *) userdata)->n == 200; }
static bool collected_one(void *userdata) { return ((struct collected *) userdata)->n == 1; }
static bool fake_has_queries(void *userdata) { return ((struct fake_server *) userdata)->n_held > 0; }

static void servers_for(const struct fake_server *f, char *buf, size_t size) {
        snprintf(buf, size, "127.0.0.1:%u", f->port);
}

/* 200 single-family hosts: the fake never holds more than 64, the first 64 are the first 64
 * asked (FIFO), and every host gets its own answer. */
static void test_inflight_bound(sd_event *e) {
        static struct fake_server f;
        struct resolver *r = NULL;
        struct bulk b = {};
        char servers[64], name[32];

        fake_start(e, &f);
        servers_for(&f, servers, sizeof(servers));
        ASSERT_EQ(0, resolver_new(e, servers, &r));
        for (unsigned i = 0; i < 200; i++) {
                snprintf(name, sizeof(name), "h%u.test", i);
                ASSERT_EQ(0, resolver_query(r, name, FAMILY_IPV4, on_bulk_result, &b));
        }
        ASSERT_UEQ(200, resolver_pending(r));
        run_until(e, bulk_done, &b, 5 * USEC_PER_SEC);
        ASSERT_UEQ(64, f.max_held);
        ASSERT_UEQ(200, f.n_received);
        for (unsigned i = 0; i < 64; i++) {
                snprintf(name, sizeof(name), "h%u.test", i);
                ASSERT_STREQ(name, f.first_names[i]);
        }
        ASSERT_UEQ(0, resolver_pending(r));
        /* Idle: no timer, no socket event; the loop sleeps through (0: nothing dispatched). */
        ASSERT_EQ(0, sd_event_run(e, 300 * USEC_PER_MSEC));
        resolver_free(r);
        fake_stop(&f);
}

/* One host, both families unless families says otherwise; returns what the callback got. */
static void resolve_one(sd_event *e, struct fake_server *f, const char *host, unsigned families,
                        struct collected *c) {
        struct resolver *r = NULL;
        char servers[64];

        memset(c, 0, sizeof(*c));
        servers_for(f, servers, sizeof(servers));
        ASSERT_EQ(0, resolver_new(e, servers, &r));
        ASSERT_EQ(0, resolver_query(r, host, families, on_result, c));
        run_until(e, collected_one, c, 10 * USEC_PER_SEC);
        ASSERT_STREQ(host, c->host);
        resolver_free(r);
}

static void test_answers(sd_event *e) {
        static struct fake_server f;
        struct collected c;
        char a[ADDR_STRLEN];

        fake_start(e, &f);

        /* CNAME TTL 30 below the A's 300: the address is good for 30 s. */
        resolve_one(e, &f, "cname.test", FAMILY_IPV4, &c);
        ASSERT_EQ(0, c.last.error);
        ASSERT_UEQ(1, c.last.n_addrs);
        ASSERT_STREQ("192.0.2.7", addr_to_string(&c.addrs[0], a));
        ASSERT_UEQ(30 * USEC_PER_SEC, c.last.min_ttl);

        /* The same address twice: once, with the smaller TTL. */
        resolve_one(e, &f, "dup.test", FAMILY_IPV4, &c);
        ASSERT_EQ(0, c.last.error);
        ASSERT_UEQ(1, c.last.n_addrs);
        ASSERT_UEQ(40 * USEC_PER_SEC, c.last.min_ttl);

        /* TTL 0 is passed on as 0: the caller clamps. */
        resolve_one(e, &f, "zero.test", FAMILY_IPV4, &c);
        ASSERT_UEQ(1, c.last.n_addrs);
        ASSERT_UEQ(0, c.last.min_ttl);

        /* Both families combined, sorted, one TTL. */
        resolve_one(e, &f, "h5.test", FAMILY_BOTH, &c);
        ASSERT_EQ(0, c.last.error);
        ASSERT_UEQ(2, c.last.n_addrs);
        ASSERT_STREQ("10.0.0.5", addr_to_string(&c.addrs[0], a));
        ASSERT_STREQ("fd00::5", addr_to_string(&c.addrs[1], a));
        ASSERT_UEQ(42 * USEC_PER_SEC, c.last.min_ttl);

        /* NXDOMAIN: an answer, flagged, no addresses, no TTL. */
        resolve_one(e, &f, "nx.test", FAMILY_BOTH, &c);
        ASSERT_EQ(0, c.last.error);
        ASSERT_TRUE(c.last.nxdomain);
        ASSERT_UEQ(0, c.last.n_addrs);
        ASSERT_UEQ(USEC_INFINITY, c.last.min_ttl);

        /* An answer that ends inside its record: a failure, not an empty answer. */
        resolve_one(e, &f, "bad.test", FAMILY_IPV4, &c);
        ASSERT_EQ(-EBADMSG, c.last.error);
        ASSERT_STREQ("malformed answer", c.error_text);
        ASSERT_UEQ(0, c.last.n_addrs);

        /* A answered, AAAA SERVFAIL: a failure that still carries the A. */
        resolve_one(e, &f, "sf6.test", FAMILY_BOTH, &c);
        ASSERT_EQ(-ECONNREFUSED, c.last.error);
        ASSERT_STREQ("SERVFAIL/REFUSED/connection refused (AAAA)", c.error_text);
        ASSERT_TRUE(!c.last.nxdomain);
        ASSERT_UEQ(1, c.last.n_addrs);
        ASSERT_STREQ("192.0.2.10", addr_to_string(&c.addrs[0], a));
        ASSERT_UEQ(60 * USEC_PER_SEC, c.last.min_ttl);

        fake_stop(&f);
}

/* resolver_free() with queries in flight at the server and more queued: no callback ever,
 * nothing leaks (ASan), and freeing from inside a callback is just as quiet. */
static void test_free_pending(sd_event *e) {
        static struct fake_server f;
        struct resolver *r = NULL;
        struct collected c = {};
        char servers[64], name[32];

        fake_start(e, &f);
        servers_for(&f, servers, sizeof(servers));

        ASSERT_EQ(0, resolver_new(e, servers, &r));
        for (unsigned i = 0; i < 100; i++) {
                snprintf(name, sizeof(name), "h%u.test", i);
                ASSERT_EQ(0, resolver_query(r, name, FAMILY_BOTH, on_result, &c));
        }
        run_until(e, fake_has_queries, &f, 5 * USEC_PER_SEC);
        ASSERT_UEQ(100, resolver_pending(r));
        resolver_free(r);
        run_for(e, 100 * USEC_PER_MSEC); /* the fake answers into a closed socket */
        ASSERT_UEQ(0, c.n);

        ASSERT_EQ(0, resolver_new(e, servers, &r));
        for (unsigned i = 0; i < 100; i++) {
                snprintf(name, sizeof(name), "h%u.test", i);
                ASSERT_EQ(0, resolver_query(r, name, FAMILY_BOTH, on_result, &c));
        }
        c.free_in_callback = r;
        run_until(e, collected_one, &c, 5 * USEC_PER_SEC);
        run_for(e, 100 * USEC_PER_MSEC);
        ASSERT_UEQ(1, c.n);

        fake_stop(&f);
}

int main(void) {
        sd_event *e = NULL;

        ASSERT_TRUE(sd_event_new(&e) >= 0);
        test_inflight_bound(e);
        test_answers(e);
        test_free_pending(e);
        sd_event_unref(e);
        return 0;
}
