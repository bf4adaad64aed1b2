/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The snooping parser: replies built byte by byte (IPv4 and IPv6 around them), the CNAME chain
 * and its owner names, every refusal class, and every prefix of a good packet. */
#include <arpa/inet.h>

#include "snoop-dns.h"
#include "test-util.h"

struct pkt {
        uint8_t b[4096];
        size_t n;
};

static void put(struct pkt *p, const void *data, size_t n) {
        ASSERT_TRUE(p->n + n <= sizeof(p->b));
        memcpy(p->b + p->n, data, n);
        p->n += n;
}

static void put8(struct pkt *p, uint8_t v) { put(p, &v, 1); }
static void put16(struct pkt *p, uint16_t v) { put8(p, (uint8_t) (v >> 8)); put8(p, (uint8_t) v); }
static void put32(struct pkt *p, uint32_t v) { put16(p, (uint16_t) (v >> 16)); put16(p, (uint16_t) v); }

/* "a.senso.cloud" in wire form. */
static void put_name(struct pkt *p, const char *s) {
        while (*s) {
                size_t l = strcspn(s, ".");
                put8(p, (uint8_t) l);
                put(p, s, l);
                s += l;
                if (*s == '.')
                        s++;
        }
        put8(p, 0);
}

static void dns_header(struct pkt *p, uint16_t flags, uint16_t qd, uint16_t an) {
        put16(p, 0x1234);
        put16(p, flags);
        put16(p, qd);
        put16(p, an);
        put16(p, 0);
        put16(p, 0);
}

static void question(struct pkt *p, const char *name, uint16_t type) {
        put_name(p, name);
        put16(p, type);
        put16(p, 1);
}

static void rr(struct pkt *p, const char *owner, uint16_t type, const void *rdata, uint16_t rdlen) {
        put_name(p, owner);
        put16(p, type);
        put16(p, 1);
        put32(p, 300);
        put16(p, rdlen);
        put(p, rdata, rdlen);
}

static void rr_a(struct pkt *p, const char *owner, const char *addr) {
        uint8_t b[4];
        ASSERT_EQ(1, inet_pton(AF_INET, addr, b));
        rr(p, owner, 1, b, 4);
}

static void rr_cname(struct pkt *p, const char *owner, const char *target) {
        struct pkt t = { .n = 0 };
        put_name(&t, target);
        rr(p, owner, 5, t.b, (uint16_t) t.n);
}

/* Wraps a DNS message in IPv4 (or IPv6) and UDP from port 53 to the client. */
static struct pkt wrap(const struct pkt *dns, bool v6, uint16_t sport) {
        struct pkt p = { .n = 0 };
        uint16_t ulen = (uint16_t) (8 + dns->n);

        if (!v6) {
                uint8_t src[4] = { 192, 0, 2, 53 }, dst[4] = { 10, 1, 0, 2 };
                put8(&p, 0x45);
                put8(&p, 0);
                put16(&p, (uint16_t) (20 + ulen));
                put32(&p, 0);
                put8(&p, 64);
                put8(&p, 17);
                put16(&p, 0);
                put(&p, src, 4);
                put(&p, dst, 4);
        } else {
                uint8_t src[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x53 }, dst[16] = { 0xfd, [15] = 2 };
                put32(&p, 0x60000000);
                put16(&p, ulen);
                put8(&p, 17);
                put8(&p, 64);
                put(&p, src, 16);
                put(&p, dst, 16);
        }
        put16(&p, sport);
        put16(&p, 40000);
        put16(&p, ulen);
        put16(&p, 0);
        put(&p, dns->b, dns->n);
        return p;
}

/* Parses p from an exactly sized heap copy, so ASan sees any read past its end. */
static int parse(const struct pkt *p, struct snoop_dns_reply *ret) {
        uint8_t *copy = malloc(MAX(p->n, (size_t) 1));
        int r;

        ASSERT_TRUE(copy);
        memcpy(copy, p->b, p->n);
        r = snoop_dns_parse(copy, p->n, ret);
        free(copy);
        return r;
}

static const char *addr_str(const struct ip_addr *a) {
        static char buf[ADDR_STRLEN];
        return addr_to_string(a, buf);
}

static void test_simple_a(void) {
        struct pkt d = { .n = 0 }, p;
        struct snoop_dns_reply r;

        dns_header(&d, 0x8180, 1, 2);
        question(&d, "A1.Senso.Cloud", 1);
        rr_a(&d, "a1.senso.cloud", "198.51.100.7");
        rr_a(&d, "A1.SENSO.CLOUD", "198.51.100.8");
        p = wrap(&d, false, 53);
        ASSERT_EQ(0, parse(&p, &r));
        ASSERT_STREQ("a1.senso.cloud", r.name);
        ASSERT_UEQ(1, r.qtype);
        ASSERT_TRUE(!r.truncated);
        ASSERT_UEQ(2, r.n_addrs);
        ASSERT_STREQ("198.51.100.7", addr_str(&r.addrs[0]));
        ASSERT_STREQ("198.51.100.8", addr_str(&r.addrs[1]));
        ASSERT_STREQ("10.1.0.2", addr_str(&r.client));

        /* Every shorter prefix is refused, never read past. */
        for (size_t n = 0; n < p.n; n++) {
                struct pkt q = p;
                q.n = n;
                ASSERT_TRUE(parse(&q, &r) < 0);
        }
}

static void test_aaaa_v6(void) {
        struct pkt d = { .n = 0 }, p;
        struct snoop_dns_reply r;
        uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x99 };

        dns_header(&d, 0x8180, 1, 2);
        question(&d, "x.service.signalr.net", 28);
        rr(&d, "x.service.signalr.net", 28, a6, 16);
        rr_a(&d, "x.service.signalr.net", "198.51.100.1"); /* not the question's type */
        p = wrap(&d, true, 53);
        ASSERT_EQ(0, parse(&p, &r));
        ASSERT_STREQ("x.service.signalr.net", r.name);
        ASSERT_UEQ(1, r.n_addrs);
        ASSERT_STREQ("2001:db8::99", addr_str(&r.addrs[0]));
        ASSERT_STREQ("fd00::2", addr_str(&r.client));
}

/* Only the chain from the question name counts; addresses of other owners are ignored. */
static void test_cname_chain(void) {
        struct pkt d = { .n = 0 }, p;
        struct snoop_dns_reply r;

        dns_header(&d, 0x8180, 1, 5);
        question(&d, "x.senso.cloud", 1);
        rr_a(&d, "evil.test", "203.0.113.66");                   /* unrelated owner */
        rr_a(&d, "x.senso.cloud", "203.0.113.67");               /* owner has a CNAME: not the end */
        rr_cname(&d, "cdn.example.net", "edge.example.net");
        rr_cname(&d, "x.senso.cloud", "cdn.example.net");
        rr_a(&d, "edge.example.net", "198.51.100.20");
        p = wrap(&d, false, 53);
        ASSERT_EQ(0, parse(&p, &r));
        ASSERT_STREQ("x.senso.cloud", r.name);
        ASSERT_UEQ(1, r.n_addrs);
        ASSERT_STREQ("198.51.100.20", addr_str(&r.addrs[0]));

        /* A loop ends after SNOOP_DNS_CHAIN_MAX links with no address. */
        d.n = 0;
        dns_header(&d, 0x8180, 1, 3);
        question(&d, "l.senso.cloud", 1);
        rr_cname(&d, "l.senso.cloud", "m.senso.cloud");
        rr_cname(&d, "m.senso.cloud", "l.senso.cloud");
        rr_a(&d, "q.senso.cloud", "198.51.100.21");
        p = wrap(&d, false, 53);
        ASSERT_EQ(0, parse(&p, &r));
        ASSERT_UEQ(0, r.n_addrs);
}

static void test_compression(void) {
        struct pkt d = { .n = 0 }, p;
        struct snoop_dns_reply r;
        uint8_t a[4] = { 198, 51, 100, 30 };

        dns_header(&d, 0x8180, 1, 1);
        question(&d, "c.senso.cloud", 1);
        put16(&d, 0xc00c); /* the question name */
        put16(&d, 1);
        put16(&d, 1);
        put32(&d, 60);
        put16(&d, 4);
        put(&d, a, 4);
        p = wrap(&d, false, 53);
        ASSERT_EQ(0, parse(&p, &r));
        ASSERT_UEQ(1, r.n_addrs);

        /* A pointer to itself, and one forward. */
        d.n = 0;
        dns_header(&d, 0x8180, 1, 0);
        put16(&d, 0xc00c);
        put16(&d, 1);
        put16(&d, 1);
        p = wrap(&d, false, 53);
        ASSERT_EQ(-EBADMSG, parse(&p, &r));
        d.n = 0;
        dns_header(&d, 0x8180, 1, 0);
        put16(&d, 0xc010);
        put16(&d, 1);
        put16(&d, 1);
        put_name(&d, "x");
        p = wrap(&d, false, 53);
        ASSERT_EQ(-EBADMSG, parse(&p, &r));
}

static void test_refusals(void) {
        struct pkt d = { .n = 0 }, p;
        struct snoop_dns_reply r;
        static const uint16_t bad_flags[] = {
                0x0100, /* a query */
                0x8983, /* NXDOMAIN */
                0x8182, /* SERVFAIL */
                0xa980, /* opcode 4 (NOTIFY) */
        };

        for (size_t i = 0; i < ELEMENTSOF(bad_flags); i++) {
                d.n = 0;
                dns_header(&d, bad_flags[i], 1, 1);
                question(&d, "a.senso.cloud", 1);
                rr_a(&d, "a.senso.cloud", "198.51.100.1");
                p = wrap(&d, false, 53);
                ASSERT_EQ(-ENOMSG, parse(&p, &r));
        }

        /* Two questions; none; type MX; class CH. */
        d.n = 0;
        dns_header(&d, 0x8180, 2, 0);
        question(&d, "a.senso.cloud", 1);
        question(&d, "b.senso.cloud", 1);
        p = wrap(&d, false, 53);
        ASSERT_EQ(-ENOMSG, parse(&p, &r));
        d.n = 0;
        dns_header(&d, 0x8180, 0, 0);
        p = wrap(&d, false, 53);
        ASSERT_EQ(-ENOMSG, parse(&p, &r));
        d.n = 0;
        dns_header(&d, 0x8180, 1, 0);
        question(&d, "a.senso.cloud", 15);
        p = wrap(&d, false, 53);
        ASSERT_EQ(-ENOMSG, parse(&p, &r));
        d.n = 0;
        dns_header(&d, 0x8180, 1, 0);
        put_name(&d, "a.senso.cloud");
        put16(&d, 1);
        put16(&d, 3);
        p = wrap(&d, false, 53);
        ASSERT_EQ(-ENOMSG, parse(&p, &r));

        /* A '.' or a space inside a label: not a host name. */
        d.n = 0;
        dns_header(&d, 0x8180, 1, 0);
        put8(&d, 7);
        put(&d, "a.senso", 7);
        put_name(&d, "cloud");
        put16(&d, 1);
        put16(&d, 1);
        p = wrap(&d, false, 53);
        ASSERT_EQ(-ENOMSG, parse(&p, &r));

        /* A record with 5 bytes of data. */
        d.n = 0;
        dns_header(&d, 0x8180, 1, 1);
        question(&d, "a.senso.cloud", 1);
        rr(&d, "a.senso.cloud", 1, "\x01\x02\x03\x04\x05", 5);
        p = wrap(&d, false, 53);
        ASSERT_EQ(-EBADMSG, parse(&p, &r));

        /* Answer count larger than what follows. */
        d.n = 0;
        dns_header(&d, 0x8180, 1, 2);
        question(&d, "a.senso.cloud", 1);
        rr_a(&d, "a.senso.cloud", "198.51.100.1");
        p = wrap(&d, false, 53);
        ASSERT_EQ(-EBADMSG, parse(&p, &r));

        /* Not from port 53; not UDP; IP length beyond the buffer. */
        d.n = 0;
        dns_header(&d, 0x8180, 1, 1);
        question(&d, "a.senso.cloud", 1);
        rr_a(&d, "a.senso.cloud", "198.51.100.1");
        p = wrap(&d, false, 5353);
        ASSERT_EQ(-EPROTONOSUPPORT, parse(&p, &r));
        p = wrap(&d, false, 53);
        p.b[9] = 6;
        ASSERT_EQ(-EPROTONOSUPPORT, parse(&p, &r));
        p = wrap(&d, false, 53);
        p.b[3] += 1;
        ASSERT_EQ(-EBADMSG, parse(&p, &r));
        p = wrap(&d, true, 53);
        p.b[5] += 1;
        ASSERT_EQ(-EBADMSG, parse(&p, &r));
        p = wrap(&d, false, 53);
        p.b[6] = 0x20; /* more fragments */
        ASSERT_EQ(-EPROTONOSUPPORT, parse(&p, &r));
}

static void test_truncated(void) {
        struct pkt d = { .n = 0 }, p;
        struct snoop_dns_reply r;

        dns_header(&d, 0x8380, 1, 1);
        question(&d, "t.senso.cloud", 1);
        put8(&d, 0xc0); /* cut in the middle of the answer: TC says so */
        p = wrap(&d, false, 53);
        ASSERT_EQ(0, parse(&p, &r));
        ASSERT_TRUE(r.truncated);
        ASSERT_STREQ("t.senso.cloud", r.name);
        ASSERT_UEQ(0, r.n_addrs);
}

/* More addresses than SNOOP_DNS_ADDRS_MAX: the first ones are kept. */
static void test_many(void) {
        struct pkt d = { .n = 0 }, p;
        struct snoop_dns_reply r;

        dns_header(&d, 0x8180, 1, 100);
        question(&d, "m.senso.cloud", 1);
        for (unsigned i = 0; i < 100; i++) {
                char a[32];
                snprintf(a, sizeof(a), "198.51.100.%u", i);
                rr_a(&d, "m.senso.cloud", a);
        }
        p = wrap(&d, false, 53);
        ASSERT_EQ(0, parse(&p, &r));
        ASSERT_UEQ(SNOOP_DNS_ADDRS_MAX, r.n_addrs);
        ASSERT_STREQ("198.51.100.63", addr_str(&r.addrs[63]));
}

int main(void) {
        test_simple_a();
        test_aaaa_v6();
        test_cname_chain();
        test_compression();
        test_refusals();
        test_truncated();
        test_many();
        return 0;
}
