/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <limits.h>

#include "addr.h"

struct ip_addr addr_make(int family, const void *bytes) {
        struct ip_addr a = { .family = (uint8_t) family };

        if (family == AF_INET) {
                memcpy(a.u.bytes, bytes, 4);
                a.prefixlen = 32;
        } else {
                memcpy(a.u.bytes, bytes, 16);
                a.prefixlen = 128;
        }
        return a;
}

static unsigned addr_bits(const struct ip_addr *a) {
        return a->family == AF_INET ? 32 : 128;
}

/* True when no bit after the first prefixlen bits is set. */
static bool host_bits_clear(const struct ip_addr *a, unsigned prefixlen) {
        for (unsigned bit = prefixlen; bit < addr_bits(a); bit++)
                if (a->u.bytes[bit / 8] & (0x80 >> (bit % 8)))
                        return false;
        return true;
}

int addr_parse(const char *s, struct ip_addr *ret) {
        char buf[ADDR_STRLEN];
        const char *slash;
        struct ip_addr a = { 0 };
        unsigned long len;
        size_t n;

        if (!s)
                return -EINVAL;
        slash = strchr(s, '/');
        n = slash ? (size_t) (slash - s) : strlen(s);
        if (n == 0 || n >= sizeof(buf))
                return -EINVAL;
        memcpy(buf, s, n);
        buf[n] = 0;

        if (inet_pton(AF_INET, buf, a.u.bytes) == 1)
                a.family = AF_INET;
        else if (inet_pton(AF_INET6, buf, a.u.bytes) == 1)
                a.family = AF_INET6;
        else
                return -EINVAL;

        len = addr_bits(&a);
        if (slash) {
                char *end;

                /* Digits only: strtoul would accept " 24", "+24" and "0x18". */
                if (slash[1] < '0' || slash[1] > '9' || strlen(slash + 1) > 3)
                        return -EINVAL;
                errno = 0;
                len = strtoul(slash + 1, &end, 10);
                if (errno != 0 || *end || len > addr_bits(&a))
                        return -EINVAL;
                if (!host_bits_clear(&a, (unsigned) len))
                        return -EINVAL;
        }
        a.prefixlen = (uint8_t) len;
        *ret = a;
        return 0;
}

const char *addr_to_string(const struct ip_addr *a, char *buf) {
        if (!inet_ntop(a->family, a->u.bytes, buf, INET6_ADDRSTRLEN)) {
                snprintf(buf, ADDR_STRLEN, "(invalid)");
                return buf;
        }
        if (a->prefixlen != addr_bits(a))
                snprintf(buf + strlen(buf), ADDR_STRLEN - strlen(buf), "/%u", a->prefixlen);
        return buf;
}

int addr_compare(const struct ip_addr *a, const struct ip_addr *b) {
        int r;

        if (a->family != b->family)
                return a->family < b->family ? -1 : 1;
        r = memcmp(a->u.bytes, b->u.bytes, a->family == AF_INET ? 4 : 16);
        if (r != 0)
                return r;
        return a->prefixlen < b->prefixlen ? -1 : a->prefixlen > b->prefixlen ? 1 : 0;
}

int addr_compare_qsort(const void *a, const void *b) {
        return addr_compare(a, b);
}

bool addr_in_prefix(const struct ip_addr *a, const struct ip_addr *p) {
        unsigned full, rest;

        if (a->family != p->family || a->prefixlen < p->prefixlen)
                return false;
        full = p->prefixlen / 8;
        rest = p->prefixlen % 8;
        if (memcmp(a->u.bytes, p->u.bytes, full) != 0)
                return false;
        if (rest == 0)
                return true;
        return ((a->u.bytes[full] ^ p->u.bytes[full]) & (uint8_t) (0xff << (8 - rest))) == 0;
}

struct range {
        const char *prefix;
        enum addr_class class;
        const char *reason;
};

/* What a DNS answer must never put on the allow-list, and what it may only with allow_private=yes
 * (DNS rebinding protection: a hostile or hijacked zone must not open paths into the LAN). */
static const struct range ranges[] = {
        { "0.0.0.0/8",       ADDR_RESERVED, "\"this network\" (0.0.0.0/8)" },
        { "127.0.0.0/8",     ADDR_RESERVED, "loopback (127.0.0.0/8)" },
        { "169.254.0.0/16",  ADDR_RESERVED, "link-local (169.254.0.0/16)" },
        { "224.0.0.0/4",     ADDR_RESERVED, "multicast (224.0.0.0/4)" },
        { "240.0.0.0/4",     ADDR_RESERVED, "reserved (240.0.0.0/4)" },
        { "::/128",          ADDR_RESERVED, "unspecified (::)" },
        { "::1/128",         ADDR_RESERVED, "loopback (::1)" },
        { "::ffff:0:0/96",   ADDR_RESERVED, "IPv4-mapped IPv6 (::ffff:0:0/96)" },
        { "fe80::/10",       ADDR_RESERVED, "link-local (fe80::/10)" },
        { "ff00::/8",        ADDR_RESERVED, "multicast (ff00::/8)" },
        { "10.0.0.0/8",      ADDR_PRIVATE,  "private (10.0.0.0/8)" },
        { "172.16.0.0/12",   ADDR_PRIVATE,  "private (172.16.0.0/12)" },
        { "192.168.0.0/16",  ADDR_PRIVATE,  "private (192.168.0.0/16)" },
        { "100.64.0.0/10",   ADDR_PRIVATE,  "shared address space (100.64.0.0/10)" },
        { "fc00::/7",        ADDR_PRIVATE,  "unique local (fc00::/7)" },
        { "64:ff9b:1::/48",  ADDR_PRIVATE,  "local-use NAT64 (64:ff9b:1::/48)" },
};

static const struct range *addr_find_range(const struct ip_addr *a) {
        static const uint8_t nat64[12] = { 0x00, 0x64, 0xff, 0x9b };

        /* The well-known NAT64 prefix (RFC 6052) reaches the IPv4 address it embeds: 64:ff9b::a00:1
         * is 10.0.0.1 behind a NAT64 gateway, judged as that. */
        if (a->family == AF_INET6 && a->prefixlen == 128 && memcmp(a->u.bytes, nat64, sizeof(nat64)) == 0) {
                struct ip_addr v4 = addr_make(AF_INET, a->u.bytes + 12);
                return addr_find_range(&v4);
        }
        for (size_t i = 0; i < ELEMENTSOF(ranges); i++) {
                struct ip_addr p;

                if (addr_parse(ranges[i].prefix, &p) < 0)
                        abort(); /* the table above is wrong */
                if (addr_in_prefix(a, &p))
                        return &ranges[i];
        }
        return NULL;
}

enum addr_class addr_classify(const struct ip_addr *a) {
        const struct range *r = addr_find_range(a);
        return r ? r->class : ADDR_PUBLIC;
}

const char *addr_class_reason(const struct ip_addr *a) {
        const struct range *r = addr_find_range(a);
        return r ? r->reason : "public";
}
