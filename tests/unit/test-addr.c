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

static void test_classify(void) {
        static const struct { const char *a; enum addr_class c; } cases[] = {
                { "0.1.2.3", ADDR_RESERVED }, { "127.0.0.1", ADDR_RESERVED },
                { "169.254.1.1", ADDR_RESERVED }, { "224.0.0.1", ADDR_RESERVED },
                { "239.255.255.255", ADDR_RESERVED }, { "240.0.0.1", ADDR_RESERVED },
                { "255.255.255.255", ADDR_RESERVED }, { "::", ADDR_RESERVED }, { "::1", ADDR_RESERVED },
                { "fe80::1", ADDR_RESERVED }, { "febf::1", ADDR_RESERVED }, { "ff02::1", ADDR_RESERVED },
                { "::ffff:192.0.2.1", ADDR_RESERVED },
                { "10.1.2.3", ADDR_PRIVATE }, { "172.16.0.1", ADDR_PRIVATE }, { "172.31.255.255", ADDR_PRIVATE },
                { "192.168.1.1", ADDR_PRIVATE }, { "100.64.0.1", ADDR_PRIVATE }, { "100.127.255.255", ADDR_PRIVATE },
                { "fc00::1", ADDR_PRIVATE }, { "fdff::1", ADDR_PRIVATE },
                /* NAT64 (RFC 6052, 8215): judged by the IPv4 address they lead to. */
                { "64:ff9b::10.0.0.1", ADDR_PRIVATE }, { "64:ff9b::192.168.1.1", ADDR_PRIVATE },
                { "64:ff9b::127.0.0.1", ADDR_RESERVED }, { "64:ff9b::0.0.0.0", ADDR_RESERVED },
                { "64:ff9b:1::1", ADDR_PRIVATE }, { "64:ff9b::198.51.100.7", ADDR_PUBLIC },
                { "172.15.255.255", ADDR_PUBLIC }, { "172.32.0.0", ADDR_PUBLIC }, { "100.128.0.0", ADDR_PUBLIC },
                { "192.0.2.1", ADDR_PUBLIC }, { "203.0.113.7", ADDR_PUBLIC }, { "2001:db8::1", ADDR_PUBLIC },
                { "fec0::1", ADDR_PUBLIC }, { "1.1.1.1", ADDR_PUBLIC }, { "223.255.255.255", ADDR_PUBLIC },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct ip_addr a;
                ASSERT_EQ(0, addr_parse(cases[i].a, &a));
                if (addr_classify(&a) != cases[i].c) {
                        fprintf(stderr, "%s: class %d, expected %d\n", cases[i].a, addr_classify(&a), cases[i].c);
                        abort();
                }
        }
        {
                struct ip_addr a;
                ASSERT_EQ(0, addr_parse("10.0.0.1", &a));
                ASSERT_STREQ("private (10.0.0.0/8)", addr_class_reason(&a));
        }
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
        test_classify();
        test_compare_prefix();
        return 0;
}
