/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The resolver without any network: argument checks, and the answer path (what it makes of a
 * DNS answer: CNAME chains, TTLs, bounds, malformed messages) through resolver_parse_answer().
 * The exchanges with a server are in tests/integration/resolver-loopback.c. */
#include <arpa/inet.h>

#include "config.h"
#include "dns-build.h"
#include "resolver.h"
#include "test-util.h"

#define TYPE_A 1
#define TYPE_CNAME 5
#define TYPE_AAAA 28

struct collected {
        size_t n;
};

static void on_result(struct resolver *r, const struct resolver_result *res, void *userdata) {
        ((struct collected *) userdata)->n++;
}

static void run_for(sd_event *e, usec_t duration) {
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + duration, now;

        while ((now = now_usec(CLOCK_MONOTONIC)) < deadline)
                ASSERT_TRUE(sd_event_run(e, deadline - now) >= 0);
}

static void test_validation(sd_event *e) {
        struct resolver *r = NULL;
        struct collected c = {};
        char long_name[300];

        ASSERT_EQ(-EINVAL, resolver_new(e, "", &r));
        ASSERT_EQ(-EINVAL, resolver_new(e, "not-an-address", &r));
        ASSERT_TRUE(r == NULL);

        ASSERT_EQ(0, resolver_new(e, "127.0.0.1:9", &r));
        ASSERT_EQ(-EINVAL, resolver_query(r, "", FAMILY_BOTH, on_result, &c));
        ASSERT_EQ(-EINVAL, resolver_query(r, "a.test.", FAMILY_BOTH, on_result, &c));
        ASSERT_EQ(-EINVAL, resolver_query(r, "a.test", 0, on_result, &c));
        ASSERT_EQ(-EINVAL, resolver_query(r, "a.test", 4, on_result, &c));
        memset(long_name, 'a', sizeof(long_name));
        long_name[HOST_NAME_MAX_LEN + 1] = 0;
        ASSERT_EQ(-EINVAL, resolver_query(r, long_name, FAMILY_IPV4, on_result, &c));
        ASSERT_UEQ(0, resolver_pending(r));
        /* 253 characters is fine (a DNS name of 63-byte labels would be, too). */
        for (size_t i = 63; i < HOST_NAME_MAX_LEN; i += 64)
                long_name[i] = '.';
        long_name[HOST_NAME_MAX_LEN] = 0;
        ASSERT_EQ(0, resolver_query(r, long_name, FAMILY_IPV4, on_result, &c));
        ASSERT_UEQ(1, resolver_pending(r));
        /* Freed with that query outstanding: no callback, no leak. */
        resolver_free(r);
        run_for(e, 50 * USEC_PER_MSEC);
        ASSERT_UEQ(0, c.n);
}

static struct resolver_answer answer;

static int parse(const uint8_t *buf, size_t len, int family) {
        memset(&answer, 0xaa, sizeof(answer));
        return resolver_parse_answer(buf, len, family, &answer);
}

static const char *addr_n(size_t i) {
        static char buf[ADDR_STRLEN];
        return addr_to_string(&answer.addrs[i], buf);
}

static void test_parse_chain(void) {
        static const uint8_t target[] = { 1, 't', 4, 't', 'e', 's', 't', 0 };
        static const uint8_t a[4] = { 192, 0, 2, 7 }, other[4] = { 192, 0, 2, 99 };
        uint8_t buf[512];
        size_t off, rdata_at;

        /* cname.test CNAME t.test (TTL 30); t.test A 192.0.2.7 (TTL 300): good for 30 s. */
        off = dns_put_question(buf, "cname.test", TYPE_A);
        rdata_at = off + 12;
        off = dns_put_rr(buf, off, DNS_HEADER_SIZE, TYPE_CNAME, 30, target, sizeof(target));
        off = dns_put_rr(buf, off, (uint16_t) rdata_at, TYPE_A, 300, a, 4);
        dns_put16(buf + 6, 2);
        ASSERT_EQ(0, parse(buf, off, AF_INET));
        ASSERT_UEQ(1, answer.n_addrs);
        ASSERT_STREQ("192.0.2.7", addr_n(0));
        ASSERT_UEQ(30 * USEC_PER_SEC, answer.min_ttl);
        ASSERT_TRUE(!answer.cut);
        /* The same answer read as AAAA: no address of that family (c-ares 1.18 says so with
         * success and none, later versions with ENODATA: both mean no address). */
        ASSERT_TRUE(parse(buf, off, AF_INET6) == -ENODATA || answer.n_addrs == 0);

        /* An A record of a name off the chain (the question's name is the CNAME's owner, so
         * an A for the owner would count; one for another name does not). */
        off = dns_put_question(buf, "cname.test", TYPE_A);
        rdata_at = off + 12;
        off = dns_put_rr(buf, off, DNS_HEADER_SIZE, TYPE_CNAME, 30, target, sizeof(target));
        buf[off] = 1; buf[off + 1] = 'x'; dns_put16(buf + off + 2, (uint16_t) (0xc000 | (rdata_at + 2)));
        off += 4;
        dns_put16(buf + off, TYPE_A); dns_put16(buf + off + 2, 1); dns_put32(buf + off + 4, 60);
        dns_put16(buf + off + 8, 4); memcpy(buf + off + 10, other, 4);
        off += 14;
        dns_put16(buf + 6, 2);
        ASSERT_TRUE(parse(buf, off, AF_INET) == -ENODATA || answer.n_addrs == 0);
}

static void test_parse_ttls(void) {
        static const uint8_t a[4] = { 192, 0, 2, 8 }, b[4] = { 192, 0, 2, 9 };
        uint8_t buf[512];
        size_t off;

        /* The same address twice: both returned (the resolver deduplicates), the smaller TTL. */
        off = dns_put_question(buf, "dup.test", TYPE_A);
        off = dns_put_rr(buf, off, DNS_HEADER_SIZE, TYPE_A, 50, a, 4);
        off = dns_put_rr(buf, off, DNS_HEADER_SIZE, TYPE_A, 40, a, 4);
        dns_put16(buf + 6, 2);
        ASSERT_EQ(0, parse(buf, off, AF_INET));
        ASSERT_UEQ(2, answer.n_addrs);
        ASSERT_UEQ(40 * USEC_PER_SEC, answer.min_ttl);

        /* TTL 0 is passed on as 0: the caller clamps. */
        off = dns_put_question(buf, "zero.test", TYPE_A);
        off = dns_put_rr(buf, off, DNS_HEADER_SIZE, TYPE_A, 0, a, 4);
        off = dns_put_rr(buf, off, DNS_HEADER_SIZE, TYPE_A, 600, b, 4);
        dns_put16(buf + 6, 2);
        ASSERT_EQ(0, parse(buf, off, AF_INET));
        ASSERT_UEQ(2, answer.n_addrs);
        ASSERT_STREQ("192.0.2.9", addr_n(1));
        ASSERT_UEQ(0, answer.min_ttl);

        /* A TTL with the top bit set means 0 (RFC 2181 8), not 68 years. */
        off = dns_put_question(buf, "high.test", TYPE_A);
        off = dns_put_rr(buf, off, DNS_HEADER_SIZE, TYPE_A, 0x80000000u, a, 4);
        dns_put16(buf + 6, 1);
        ASSERT_EQ(0, parse(buf, off, AF_INET));
        ASSERT_UEQ(0, answer.min_ttl);
}

static void test_parse_aaaa(void) {
        struct in6_addr a6 = {};
        uint8_t buf[512];
        size_t off;

        ASSERT_TRUE(inet_pton(AF_INET6, "2001:db8::5", &a6) == 1);
        off = dns_put_question(buf, "v6.test", TYPE_AAAA);
        off = dns_put_rr(buf, off, DNS_HEADER_SIZE, TYPE_AAAA, 120, &a6, 16);
        dns_put16(buf + 6, 1);
        ASSERT_EQ(0, parse(buf, off, AF_INET6));
        ASSERT_UEQ(1, answer.n_addrs);
        ASSERT_EQ(AF_INET6, answer.addrs[0].family);
        ASSERT_STREQ("2001:db8::5", addr_n(0));
        ASSERT_UEQ(120 * USEC_PER_SEC, answer.min_ttl);
        ASSERT_TRUE(parse(buf, off, AF_INET) == -ENODATA || answer.n_addrs == 0);
        ASSERT_EQ(-EAFNOSUPPORT, parse(buf, off, AF_UNIX));
}

static void test_parse_malformed(void) {
        static const uint8_t a[4] = { 192, 0, 2, 10 };
        uint8_t buf[512];
        size_t off, full;

        off = dns_put_question(buf, "bad.test", TYPE_A);
        full = dns_put_rr(buf, off, DNS_HEADER_SIZE, TYPE_A, 60, a, 4);
        dns_put16(buf + 6, 1);
        ASSERT_EQ(0, parse(buf, full, AF_INET));
        /* Cut anywhere: never an empty answer taken for "no address", never a read beyond. */
        for (size_t len = 0; len < full; len++) {
                int r = parse(buf, len, AF_INET);
                if (r != -EBADMSG) {
                        fprintf(stderr, "cut at %zu of %zu: %d\n", len, full, r);
                        abort();
                }
        }
        /* Claims an answer, then stops inside it. */
        dns_put16(buf + off, 0xc00c);
        ASSERT_EQ(-EBADMSG, parse(buf, off + 2, AF_INET));
        /* A compression pointer to itself. */
        dns_put16(buf + off, (uint16_t) (0xc000 | off));
        ASSERT_EQ(-EBADMSG, parse(buf, full, AF_INET));
        /* An A record with 5 bytes of data is no address (c-ares skips it). */
        off = dns_put_question(buf, "bad.test", TYPE_A);
        off = dns_put_rr(buf, off, DNS_HEADER_SIZE, TYPE_A, 60, "\1\2\3\4\5", 5);
        dns_put16(buf + 6, 1);
        ASSERT_TRUE(parse(buf, off, AF_INET) < 0);
}

/* More than RESOLVER_MAX_ADDRS addresses: the first ones, flagged as cut. */
static void test_parse_bound(void) {
        static uint8_t buf[32768];
        size_t off = dns_put_question(buf, "many.test", TYPE_A);

        for (unsigned i = 0; i < RESOLVER_MAX_ADDRS + 5; i++) {
                uint8_t a[4] = { 198, 18, (uint8_t) (i / 256), (uint8_t) (i % 256) };
                off = dns_put_rr(buf, off, DNS_HEADER_SIZE, TYPE_A, 100 + i, a, 4);
        }
        dns_put16(buf + 6, RESOLVER_MAX_ADDRS + 5);
        ASSERT_EQ(0, parse(buf, off, AF_INET));
        ASSERT_TRUE(answer.cut);
        ASSERT_UEQ(RESOLVER_MAX_ADDRS, answer.n_addrs);
        ASSERT_STREQ("198.18.3.255", addr_n(RESOLVER_MAX_ADDRS - 1));
        ASSERT_UEQ(100 * USEC_PER_SEC, answer.min_ttl);
}

int main(void) {
        sd_event *e = NULL;

        ASSERT_TRUE(sd_event_new(&e) >= 0);
        test_validation(e);
        sd_event_unref(e);
        test_parse_chain();
        test_parse_ttls();
        test_parse_aaaa();
        test_parse_malformed();
        test_parse_bound();
        return 0;
}
