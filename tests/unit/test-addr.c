/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "addr.h"
#include "test-util.h"

static void test_parse_roundtrip(void) {
        static const char *const good[] = {
                "192.0.2.1", "192.0.2.0/24", "0.0.0.0/0", "2001:db8::1", "2001:db8::/32", "::/0",
                "203.0.113.255", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        };
        char buf[ADDR_STRLEN];

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                struct ip_addr a;
                ASSERT_EQ(0, addr_parse(good[i], &a));
                ASSERT_STREQ(good[i], addr_to_string(&a, buf));
        }
}

static void test_parse_bad(void) {
        static const char *const bad[] = {
                "", "192.0.2", "192.0.2.256", "192.0.2.1/33", "2001:db8::/129", "192.0.2.1/24",
                "2001:db8::1/32", "192.0.2.0/", "192.0.2.0/+24", "192.0.2.0/ 24", "192.0.2.0/0x18",
                "example.com", "192.0.2.0/24/1", "::1%lo", "192.0.2.0/0024",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct ip_addr a;
                if (addr_parse(bad[i], &a) != -EINVAL) {
                        fprintf(stderr, "accepted \"%s\"\n", bad[i]);
                        abort();
                }
        }
}

#define PUB ADDR_PUBLIC
#define PRI ADDR_PRIVATE
#define RES ADDR_RESERVED

struct verdict_case {
        const char *addr;
        enum addr_class class;
        const char *reason;
};

static void check_verdicts(const struct verdict_case *cases, size_t n) {
        for (size_t i = 0; i < n; i++) {
                char reason[ADDR_REASON_MAX];
                struct ip_addr a;

                ASSERT_EQ(0, addr_parse(cases[i].addr, &a));
                addr_class_reason(&a, reason);
                if (addr_classify(&a) != cases[i].class || !streq(reason, cases[i].reason)) {
                        fprintf(stderr, "%s: class %d \"%s\", expected %d \"%s\"\n", cases[i].addr,
                                addr_classify(&a), reason, cases[i].class, cases[i].reason);
                        abort();
                }
        }
}

/* One address at each end of every range of IANA's IPv4 Special-Purpose Address Registry, and
 * its neighbours outside. */
static void test_classify_ipv4(void) {
        static const struct verdict_case cases[] = {
                { "0.0.0.0", RES, "\"this network\" (0.0.0.0/8)" },
                { "0.255.255.255", RES, "\"this network\" (0.0.0.0/8)" },
                { "1.0.0.0", PUB, "public" },
                { "9.255.255.255", PUB, "public" },
                { "10.0.0.0", PRI, "private (10.0.0.0/8)" },
                { "10.255.255.255", PRI, "private (10.0.0.0/8)" },
                { "11.0.0.0", PUB, "public" },
                { "100.63.255.255", PUB, "public" },
                { "100.64.0.0", PRI, "shared address space (100.64.0.0/10)" },
                { "100.127.255.255", PRI, "shared address space (100.64.0.0/10)" },
                { "100.128.0.0", PUB, "public" },
                { "127.0.0.0", RES, "loopback (127.0.0.0/8)" },
                { "127.255.255.255", RES, "loopback (127.0.0.0/8)" },
                { "169.254.0.0", RES, "link-local (169.254.0.0/16)" },
                { "169.254.255.255", RES, "link-local (169.254.0.0/16)" },
                { "169.255.0.0", PUB, "public" },
                { "172.15.255.255", PUB, "public" },
                { "172.16.0.0", PRI, "private (172.16.0.0/12)" },
                { "172.31.255.255", PRI, "private (172.16.0.0/12)" },
                { "172.32.0.0", PUB, "public" },
                { "191.255.255.255", PUB, "public" },
                { "192.0.0.0", RES, "DS-Lite (192.0.0.0/29)" },
                { "192.0.0.2", RES, "DS-Lite (192.0.0.0/29)" },
                { "192.0.0.7", RES, "DS-Lite (192.0.0.0/29)" },
                { "192.0.0.8", RES, "IPv4 dummy address (192.0.0.8)" },
                { "192.0.0.9", RES, "PCP anycast (192.0.0.9)" },
                { "192.0.0.10", RES, "TURN anycast (192.0.0.10)" },
                { "192.0.0.11", RES, "IETF protocol assignments (192.0.0.0/24)" },
                { "192.0.0.169", RES, "IETF protocol assignments (192.0.0.0/24)" },
                { "192.0.0.170", RES, "NAT64 discovery (192.0.0.170/31)" },
                { "192.0.0.171", RES, "NAT64 discovery (192.0.0.170/31)" },
                { "192.0.0.172", RES, "IETF protocol assignments (192.0.0.0/24)" },
                { "192.0.0.255", RES, "IETF protocol assignments (192.0.0.0/24)" },
                { "192.0.1.0", PUB, "public" },
                { "192.0.2.0", PUB, "documentation (192.0.2.0/24)" },
                { "192.0.2.255", PUB, "documentation (192.0.2.0/24)" },
                { "192.31.196.1", PUB, "AS112 (192.31.196.0/24)" },
                { "192.52.193.1", PUB, "AMT (192.52.193.0/24)" },
                { "192.88.98.255", PUB, "public" },
                { "192.88.99.0", RES, "6to4 relay anycast (192.88.99.0/24)" },
                { "192.88.99.2", RES, "6to4 relay anycast (192.88.99.0/24)" },
                { "192.88.99.255", RES, "6to4 relay anycast (192.88.99.0/24)" },
                { "192.88.100.0", PUB, "public" },
                { "192.167.255.255", PUB, "public" },
                { "192.168.0.0", PRI, "private (192.168.0.0/16)" },
                { "192.168.255.255", PRI, "private (192.168.0.0/16)" },
                { "192.169.0.0", PUB, "public" },
                { "192.175.48.1", PUB, "AS112 (192.175.48.0/24)" },
                { "198.17.255.255", PUB, "public" },
                { "198.18.0.0", PUB, "benchmarking (198.18.0.0/15)" },
                { "198.19.255.255", PUB, "benchmarking (198.18.0.0/15)" },
                { "198.20.0.0", PUB, "public" },
                { "198.51.100.7", PUB, "documentation (198.51.100.0/24)" },
                { "203.0.113.7", PUB, "documentation (203.0.113.0/24)" },
                { "223.255.255.255", PUB, "public" },
                { "224.0.0.0", RES, "multicast (224.0.0.0/4)" },
                { "239.255.255.255", RES, "multicast (224.0.0.0/4)" },
                { "240.0.0.0", RES, "reserved (240.0.0.0/4)" },
                { "255.255.255.254", RES, "reserved (240.0.0.0/4)" },
                { "255.255.255.255", RES, "broadcast (255.255.255.255)" },
                { "1.1.1.1", PUB, "public" },
        };
        check_verdicts(cases, ELEMENTSOF(cases));
}

/* The same for IANA's IPv6 Special-Purpose Address Registry, multicast and link-local. */
static void test_classify_ipv6(void) {
        static const struct verdict_case cases[] = {
                { "::", RES, "unspecified (::)" },
                { "::1", RES, "loopback (::1)" },
                { "::ffff:0:0", RES, "IPv4-mapped (::ffff:0:0/96)" },
                { "::ffff:192.0.2.1", RES, "IPv4-mapped (::ffff:0:0/96)" },
                { "::ffff:ffff:ffff", RES, "IPv4-mapped (::ffff:0:0/96)" },
                { "::1:0:0:0", PUB, "public" },
                { "64:ff9b::", RES, "NAT64 (64:ff9b::/96) of 0.0.0.0, \"this network\" (0.0.0.0/8)" },
                { "64:ff9b::ffff:ffff", RES, "NAT64 (64:ff9b::/96) of 255.255.255.255, broadcast (255.255.255.255)" },
                { "64:ff9b::1:0:0", PUB, "public" },
                { "64:ff9b:1::", PRI, "local-use NAT64 (64:ff9b:1::/48)" },
                { "64:ff9b:1:ffff:ffff:ffff:ffff:ffff", PRI, "local-use NAT64 (64:ff9b:1::/48)" },
                { "64:ff9b:2::", PUB, "public" },
                { "100::", RES, "discard-only (100::/64)" },
                { "100::ffff:ffff:ffff:ffff", RES, "discard-only (100::/64)" },
                { "100:0:0:1::", RES, "dummy prefix (100:0:0:1::/64)" },
                { "100:0:0:1:ffff:ffff:ffff:ffff", RES, "dummy prefix (100:0:0:1::/64)" },
                { "100:0:0:2::", PUB, "public" },
                { "2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", PUB, "public" },
                { "2001:1::", RES, "IETF protocol assignments (2001::/23)" },
                { "2001:1::1", RES, "PCP anycast (2001:1::1)" },
                { "2001:1::2", RES, "TURN anycast (2001:1::2)" },
                { "2001:1::3", RES, "DNS-SD SRP anycast (2001:1::3)" },
                { "2001:1::4", RES, "IETF protocol assignments (2001::/23)" },
                { "2001:2::", PUB, "benchmarking (2001:2::/48)" },
                { "2001:2:0:ffff::1", PUB, "benchmarking (2001:2::/48)" },
                { "2001:2:1::", RES, "IETF protocol assignments (2001::/23)" },
                { "2001:3::1", PUB, "AMT (2001:3::/32)" },
                { "2001:4:112::1", PUB, "AS112 (2001:4:112::/48)" },
                { "2001:4:113::1", RES, "IETF protocol assignments (2001::/23)" },
                { "2001:10::1", RES, "deprecated ORCHID (2001:10::/28)" },
                { "2001:1f:ffff::1", RES, "deprecated ORCHID (2001:10::/28)" },
                { "2001:20::1", PUB, "ORCHIDv2 (2001:20::/28)" },
                { "2001:2f:ffff::1", PUB, "ORCHIDv2 (2001:20::/28)" },
                { "2001:30::1", PUB, "drone remote ID (2001:30::/28)" },
                { "2001:3f:ffff::1", PUB, "drone remote ID (2001:30::/28)" },
                { "2001:40::1", RES, "IETF protocol assignments (2001::/23)" },
                { "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", RES, "IETF protocol assignments (2001::/23)" },
                { "2001:200::1", PUB, "public" },
                { "2001:db7:ffff::1", PUB, "public" },
                { "2001:db8::", PUB, "documentation (2001:db8::/32)" },
                { "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", PUB, "documentation (2001:db8::/32)" },
                { "2001:db9::", PUB, "public" },
                { "2620:4f:8000::1", PUB, "AS112 (2620:4f:8000::/48)" },
                { "3fff::", PUB, "documentation (3fff::/20)" },
                { "3fff:fff:ffff::1", PUB, "documentation (3fff::/20)" },
                { "3fff:1000::", PUB, "public" },
                { "5eff:ffff::1", PUB, "public" },
                { "5f00::1", PRI, "SRv6 SIDs (5f00::/16)" },
                { "5f00:ffff::1", PRI, "SRv6 SIDs (5f00::/16)" },
                { "5f01::1", PUB, "public" },
                { "fbff:ffff::1", PUB, "public" },
                { "fc00::", PRI, "unique local (fc00::/7)" },
                { "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", PRI, "unique local (fc00::/7)" },
                { "fe00::1", PUB, "public" },
                { "fe80::1", RES, "link-local (fe80::/10)" },
                { "febf:ffff::1", RES, "link-local (fe80::/10)" },
                /* Site-local was deprecated by RFC 3879 and is in no registry; left public. */
                { "fec0::1", PUB, "public" },
                { "ff00::", RES, "multicast (ff00::/8)" },
                { "ff02::1", RES, "multicast (ff00::/8)" },
                { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", RES, "multicast (ff00::/8)" },
        };
        check_verdicts(cases, ELEMENTSOF(cases));
}

/* Every IPv6 form that carries an IPv4 address is judged by the IPv4 rules as well: the answers
 * of the report (NAT64, 6to4 and IPv4-compatible forms of 10.0.0.1 and 192.168.1.1), and the
 * others of each form. */
static void test_classify_embedded(void) {
        static const struct verdict_case cases[] = {
                /* NAT64, well-known prefix (RFC 6052 2.1). */
                { "64:ff9b::a00:1", PRI, "NAT64 (64:ff9b::/96) of 10.0.0.1, private (10.0.0.0/8)" },
                { "64:ff9b::10.0.0.1", PRI, "NAT64 (64:ff9b::/96) of 10.0.0.1, private (10.0.0.0/8)" },
                { "64:ff9b::c0a8:101", PRI, "NAT64 (64:ff9b::/96) of 192.168.1.1, private (192.168.0.0/16)" },
                { "64:ff9b::ac10:1", PRI, "NAT64 (64:ff9b::/96) of 172.16.0.1, private (172.16.0.0/12)" },
                { "64:ff9b::6440:1", PRI, "NAT64 (64:ff9b::/96) of 100.64.0.1, shared address space (100.64.0.0/10)" },
                { "64:ff9b::7f00:1", RES, "NAT64 (64:ff9b::/96) of 127.0.0.1, loopback (127.0.0.0/8)" },
                { "64:ff9b::a9fe:a9fe", RES, "NAT64 (64:ff9b::/96) of 169.254.169.254, link-local (169.254.0.0/16)" },
                { "64:ff9b::e000:1", RES, "NAT64 (64:ff9b::/96) of 224.0.0.1, multicast (224.0.0.0/4)" },
                { "64:ff9b::c000:aa", RES, "NAT64 (64:ff9b::/96) of 192.0.0.170, NAT64 discovery (192.0.0.170/31)" },
                { "64:ff9b::c000:201", PUB, "NAT64 (64:ff9b::/96)" },
                { "64:ff9b::101:101", PUB, "NAT64 (64:ff9b::/96)" },
                /* 6to4 (RFC 3056 2): the /48 of a site behind that IPv4 address. */
                { "2002:c0a8:101::1", PRI, "6to4 (2002::/16) of 192.168.1.1, private (192.168.0.0/16)" },
                { "2002:a00:1:ffff::1", PRI, "6to4 (2002::/16) of 10.0.0.1, private (10.0.0.0/8)" },
                { "2002:7f00:1::1", RES, "6to4 (2002::/16) of 127.0.0.1, loopback (127.0.0.0/8)" },
                { "2002::1", RES, "6to4 (2002::/16) of 0.0.0.0, \"this network\" (0.0.0.0/8)" },
                { "2002:c000:201::1", PUB, "6to4 (2002::/16)" },
                { "2002:101:101::1", PUB, "6to4 (2002::/16)" },
                /* IPv4-compatible (RFC 4291 2.5.5.1, deprecated). */
                { "::10.0.0.1", PRI, "IPv4-compatible (::/96) of 10.0.0.1, private (10.0.0.0/8)" },
                { "::192.168.1.1", PRI, "IPv4-compatible (::/96) of 192.168.1.1, private (192.168.0.0/16)" },
                { "::127.0.0.1", RES, "IPv4-compatible (::/96) of 127.0.0.1, loopback (127.0.0.0/8)" },
                { "::0.0.0.2", RES, "IPv4-compatible (::/96) of 0.0.0.2, \"this network\" (0.0.0.0/8)" },
                { "::1.1.1.1", PUB, "IPv4-compatible (::/96)" },
                /* IPv4-translated (RFC 2765 2.1). */
                { "::ffff:0:10.0.0.1", PRI, "IPv4-translated (::ffff:0:0:0/96) of 10.0.0.1, private (10.0.0.0/8)" },
                { "::ffff:0:127.0.0.1", RES, "IPv4-translated (::ffff:0:0:0/96) of 127.0.0.1, loopback (127.0.0.0/8)" },
                { "::ffff:0:1.1.1.1", PUB, "IPv4-translated (::ffff:0:0:0/96)" },
                /* IPv4-mapped: never, whatever it maps. */
                { "::ffff:10.0.0.1", RES, "IPv4-mapped (::ffff:0:0/96)" },
                { "::ffff:1.1.1.1", RES, "IPv4-mapped (::ffff:0:0/96)" },
                /* Local-use NAT64: the site's, private whatever the prefix length. */
                { "64:ff9b:1::a00:1", PRI, "local-use NAT64 (64:ff9b:1::/48)" },
                { "64:ff9b:1::7f00:1", PRI, "local-use NAT64 (64:ff9b:1::/48)" },
                { "64:ff9b:1::101:101", PRI, "local-use NAT64 (64:ff9b:1::/48)" },
                /* Teredo (RFC 4380 4): 2001:0:SERVER:FLAGS:~PORT:~CLIENT. Server 192.0.2.1,
                 * client 198.51.100.7 (inverted: 39cc:9bf8) is what a real one looks like. */
                { "2001:0:c000:201:0:ffff:39cc:9bf8", PUB, "Teredo (2001::/32)" },
                { "2001:0:a00:1:0:ffff:39cc:9bf8", PRI, "Teredo (2001::/32) with server 10.0.0.1, private (10.0.0.0/8)" },
                { "2001:0:7f00:1:0:ffff:39cc:9bf8", RES, "Teredo (2001::/32) with server 127.0.0.1, loopback (127.0.0.0/8)" },
                /* client 10.0.0.1 = ~f5ff:fffe; 127.0.0.1 = ~80ff:fffe */
                { "2001:0:c000:201:0:ffff:f5ff:fffe", PRI, "Teredo (2001::/32) with client 10.0.0.1, private (10.0.0.0/8)" },
                { "2001:0:c000:201:0:ffff:80ff:fffe", RES, "Teredo (2001::/32) with client 127.0.0.1, loopback (127.0.0.0/8)" },
                /* The stricter of the two decides: private server, loopback client. */
                { "2001:0:a00:1:0:ffff:80ff:fffe", RES, "Teredo (2001::/32) with client 127.0.0.1, loopback (127.0.0.0/8)" },
                /* The client field as it is (not inverted) would be 192.168.1.1; inverted it is
                 * 63.87.254.254, public. */
                { "2001:0:c000:201:0:ffff:c0a8:101", PUB, "Teredo (2001::/32)" },
                /* All-zero client field: the inverted client is 255.255.255.255. */
                { "2001::", RES, "Teredo (2001::/32) with server 0.0.0.0, \"this network\" (0.0.0.0/8)" },
        };
        check_verdicts(cases, ELEMENTSOF(cases));
}

static void test_compare_prefix(void) {
        struct ip_addr a, b, p;

        ASSERT_EQ(0, addr_parse("192.0.2.1", &a));
        ASSERT_EQ(0, addr_parse("192.0.2.2", &b));
        ASSERT_TRUE(addr_compare(&a, &b) < 0);
        ASSERT_TRUE(addr_compare(&b, &a) > 0);
        ASSERT_EQ(0, addr_compare(&a, &a));
        ASSERT_EQ(0, addr_parse("2001:db8::1", &b));
        ASSERT_TRUE(addr_compare(&a, &b) < 0); /* IPv4 sorts first */

        ASSERT_EQ(0, addr_parse("192.0.2.0/25", &p));
        ASSERT_TRUE(addr_in_prefix(&a, &p));
        ASSERT_EQ(0, addr_parse("192.0.2.128", &a));
        ASSERT_TRUE(!addr_in_prefix(&a, &p));
        ASSERT_EQ(0, addr_parse("192.0.2.0/24", &a));
        ASSERT_TRUE(!addr_in_prefix(&a, &p)); /* wider than p */
        ASSERT_TRUE(addr_in_prefix(&p, &a));
        ASSERT_TRUE(!addr_in_prefix(&b, &p)); /* other family */

        {
                uint8_t raw[4] = { 198, 51, 100, 7 };
                char buf[ADDR_STRLEN];
                a = addr_make(AF_INET, raw);
                ASSERT_STREQ("198.51.100.7", addr_to_string(&a, buf));
                ASSERT_EQ(32, a.prefixlen);
        }
}

int main(void) {
        test_parse_roundtrip();
        test_parse_bad();
        test_classify_ipv4();
        test_classify_ipv6();
        test_classify_embedded();
        test_compare_prefix();
        return 0;
}
