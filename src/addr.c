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

/* Where a range carries an IPv4 address inside an IPv6 one, so the IPv4 rules judge it too:
 * a NAT64, 6to4 or Teredo address of 10.0.0.1 leads to 10.0.0.1 as surely as an A record. */
enum addr_embedding {
        EMBED_NONE,
        EMBED_LOW32,  /* the last 32 bits: IPv4-mapped, -compatible, -translated, NAT64 /96 */
        EMBED_6TO4,   /* bits 16..47 (RFC 3056 2) */
        EMBED_TEREDO, /* server in bits 32..63, client in bits 96..127 inverted (RFC 4380 4) */
};

struct range {
        const char *prefix;
        enum addr_class class;
        const char *reason;
        enum addr_embedding embedding;
};

/* Every range of IANA's IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890 and the
 * RFCs that updated them, as of 2025), plus multicast and the IPv6 forms that embed an IPv4
 * address, each with a deliberate verdict. First match wins: narrower ranges come first.
 *
 * The question is DNS rebinding: may a hostile or hijacked zone open a path from the outside
 * into the local network or the gateway itself?
 *   ADDR_RESERVED (never): the host itself, link scope, one-to-many, addresses that are no
 *     unicast destination anywhere, and anycast service addresses that reach "the nearest"
 *     server, which on a local network is a local device. No vendor's server is there.
 *   ADDR_PRIVATE (only with allow_private=yes): addresses of a site or an operator's domain.
 *   ADDR_PUBLIC: routed on the Internet, and ranges no network routes at all (documentation,
 *     benchmarking): an allow-list entry for them opens nothing. The tests and examples use
 *     the documentation and benchmarking ranges as vendors' servers on purpose. */
static const struct range ranges[] = {
        /* IPv4 Special-Purpose Address Registry. */
        { "0.0.0.0/8",        ADDR_RESERVED, "\"this network\" (0.0.0.0/8)", EMBED_NONE },             /* RFC 791 */
        { "10.0.0.0/8",       ADDR_PRIVATE,  "private (10.0.0.0/8)", EMBED_NONE },                     /* RFC 1918 */
        { "100.64.0.0/10",    ADDR_PRIVATE,  "shared address space (100.64.0.0/10)", EMBED_NONE },     /* RFC 6598 */
        { "127.0.0.0/8",      ADDR_RESERVED, "loopback (127.0.0.0/8)", EMBED_NONE },                   /* RFC 1122 */
        { "169.254.0.0/16",   ADDR_RESERVED, "link-local (169.254.0.0/16)", EMBED_NONE },              /* RFC 3927 */
        { "172.16.0.0/12",    ADDR_PRIVATE,  "private (172.16.0.0/12)", EMBED_NONE },                  /* RFC 1918 */
        /* 192.0.0.0/24 names elements of the local access network: the DS-Lite tunnel ends
         * (the CPE itself), the NAT64 discovery name, anycast to the nearest PCP/TURN server. */
        { "192.0.0.0/29",     ADDR_RESERVED, "DS-Lite (192.0.0.0/29)", EMBED_NONE },                   /* RFC 7335 */
        { "192.0.0.8/32",     ADDR_RESERVED, "IPv4 dummy address (192.0.0.8)", EMBED_NONE },           /* RFC 7600 */
        { "192.0.0.9/32",     ADDR_RESERVED, "PCP anycast (192.0.0.9)", EMBED_NONE },                  /* RFC 7723 */
        { "192.0.0.10/32",    ADDR_RESERVED, "TURN anycast (192.0.0.10)", EMBED_NONE },                /* RFC 8155 */
        { "192.0.0.170/31",   ADDR_RESERVED, "NAT64 discovery (192.0.0.170/31)", EMBED_NONE },         /* RFC 8880 */
        { "192.0.0.0/24",     ADDR_RESERVED, "IETF protocol assignments (192.0.0.0/24)", EMBED_NONE }, /* RFC 6890 */
        { "192.0.2.0/24",     ADDR_PUBLIC,   "documentation (192.0.2.0/24)", EMBED_NONE },             /* RFC 5737 */
        { "192.31.196.0/24",  ADDR_PUBLIC,   "AS112 (192.31.196.0/24)", EMBED_NONE },                  /* RFC 7535 */
        { "192.52.193.0/24",  ADDR_PUBLIC,   "AMT (192.52.193.0/24)", EMBED_NONE },                    /* RFC 7450 */
        /* Anycast to the nearest 6to4 relay (and 192.88.99.2, 6a44: RFC 6751), deprecated. */
        { "192.88.99.0/24",   ADDR_RESERVED, "6to4 relay anycast (192.88.99.0/24)", EMBED_NONE },      /* RFC 7526 */
        { "192.168.0.0/16",   ADDR_PRIVATE,  "private (192.168.0.0/16)", EMBED_NONE },                 /* RFC 1918 */
        { "192.175.48.0/24",  ADDR_PUBLIC,   "AS112 (192.175.48.0/24)", EMBED_NONE },                  /* RFC 7534 */
        { "198.18.0.0/15",    ADDR_PUBLIC,   "benchmarking (198.18.0.0/15)", EMBED_NONE },             /* RFC 2544 */
        { "198.51.100.0/24",  ADDR_PUBLIC,   "documentation (198.51.100.0/24)", EMBED_NONE },          /* RFC 5737 */
        { "203.0.113.0/24",   ADDR_PUBLIC,   "documentation (203.0.113.0/24)", EMBED_NONE },           /* RFC 5737 */
        { "224.0.0.0/4",      ADDR_RESERVED, "multicast (224.0.0.0/4)", EMBED_NONE },                  /* RFC 5771 */
        { "255.255.255.255/32", ADDR_RESERVED, "broadcast (255.255.255.255)", EMBED_NONE },            /* RFC 919 */
        { "240.0.0.0/4",      ADDR_RESERVED, "reserved (240.0.0.0/4)", EMBED_NONE },                   /* RFC 1112 */

        /* IPv6 Special-Purpose Address Registry. */
        { "::/128",           ADDR_RESERVED, "unspecified (::)", EMBED_NONE },                         /* RFC 4291 */
        { "::1/128",          ADDR_RESERVED, "loopback (::1)", EMBED_NONE },                           /* RFC 4291 */
        /* Never on the wire (RFC 4291 2.5.5.2): a socket's notation for an IPv4 peer. */
        { "::ffff:0:0/96",    ADDR_RESERVED, "IPv4-mapped (::ffff:0:0/96)", EMBED_LOW32 },
        /* Not in the registry, but IPv4 in IPv6 all the same: the deprecated IPv4-compatible
         * (RFC 4291 2.5.5.1) and SIIT's IPv4-translated (RFC 2765 2.1) forms. */
        { "::/96",            ADDR_PUBLIC,   "IPv4-compatible (::/96)", EMBED_LOW32 },
        { "::ffff:0:0:0/96",  ADDR_PUBLIC,   "IPv4-translated (::ffff:0:0:0/96)", EMBED_LOW32 },
        /* The well-known NAT64 prefix of DNS64 answers: exactly the IPv4 address's verdict. */
        { "64:ff9b::/96",     ADDR_PUBLIC,   "NAT64 (64:ff9b::/96)", EMBED_LOW32 },                    /* RFC 6052 */
        /* Local-use NAT64: the site's own translator, and where the IPv4 address sits depends
         * on a prefix length (/48 to /96) only the site knows, so it is the site's like a ULA. */
        { "64:ff9b:1::/48",   ADDR_PRIVATE,  "local-use NAT64 (64:ff9b:1::/48)", EMBED_NONE },         /* RFC 8215 */
        { "100::/64",         ADDR_RESERVED, "discard-only (100::/64)", EMBED_NONE },                  /* RFC 6666 */
        { "100:0:0:1::/64",   ADDR_RESERVED, "dummy prefix (100:0:0:1::/64)", EMBED_NONE },            /* RFC 9780 */
        /* Both IPv4 addresses in a Teredo address are judged: the server (where a client
         * qualifies) and the client's mapped address, stored inverted, where a relay sends
         * the packets, so 10.0.0.1 there is a path into a LAN that runs a Teredo relay. */
        { "2001::/32",        ADDR_PUBLIC,   "Teredo (2001::/32)", EMBED_TEREDO },                     /* RFC 4380 */
        { "2001:1::1/128",    ADDR_RESERVED, "PCP anycast (2001:1::1)", EMBED_NONE },                  /* RFC 7723 */
        { "2001:1::2/128",    ADDR_RESERVED, "TURN anycast (2001:1::2)", EMBED_NONE },                 /* RFC 8155 */
        { "2001:1::3/128",    ADDR_RESERVED, "DNS-SD SRP anycast (2001:1::3)", EMBED_NONE },           /* RFC 9665 */
        { "2001:2::/48",      ADDR_PUBLIC,   "benchmarking (2001:2::/48)", EMBED_NONE },               /* RFC 5180 */
        { "2001:3::/32",      ADDR_PUBLIC,   "AMT (2001:3::/32)", EMBED_NONE },                        /* RFC 7450 */
        { "2001:4:112::/48",  ADDR_PUBLIC,   "AS112 (2001:4:112::/48)", EMBED_NONE },                  /* RFC 7535 */
        { "2001:10::/28",     ADDR_RESERVED, "deprecated ORCHID (2001:10::/28)", EMBED_NONE },         /* RFC 4843 */
        /* Cryptographic identifiers that no router forwards (RFC 7343 2): opens nothing. */
        { "2001:20::/28",     ADDR_PUBLIC,   "ORCHIDv2 (2001:20::/28)", EMBED_NONE },                  /* RFC 7343 */
        { "2001:30::/28",     ADDR_PUBLIC,   "drone remote ID (2001:30::/28)", EMBED_NONE },           /* RFC 9374 */
        /* The rest of the block is unassigned: no unicast destination. */
        { "2001::/23",        ADDR_RESERVED, "IETF protocol assignments (2001::/23)", EMBED_NONE },    /* RFC 2928 */
        { "2001:db8::/32",    ADDR_PUBLIC,   "documentation (2001:db8::/32)", EMBED_NONE },            /* RFC 3849 */
        { "2002::/16",        ADDR_PUBLIC,   "6to4 (2002::/16)", EMBED_6TO4 },                         /* RFC 3056 */
        { "2620:4f:8000::/48", ADDR_PUBLIC,  "AS112 (2620:4f:8000::/48)", EMBED_NONE },                /* RFC 7534 */
        { "3fff::/20",        ADDR_PUBLIC,   "documentation (3fff::/20)", EMBED_NONE },                /* RFC 9637 */
        /* Segment routing SIDs live inside one operator's SR domain. */
        { "5f00::/16",        ADDR_PRIVATE,  "SRv6 SIDs (5f00::/16)", EMBED_NONE },                    /* RFC 9602 */
        { "fc00::/7",         ADDR_PRIVATE,  "unique local (fc00::/7)", EMBED_NONE },                  /* RFC 4193 */
        { "fe80::/10",        ADDR_RESERVED, "link-local (fe80::/10)", EMBED_NONE },                   /* RFC 4291 */
        { "ff00::/8",         ADDR_RESERVED, "multicast (ff00::/8)", EMBED_NONE },                     /* RFC 4291 */
};

static const struct range *addr_find_range(const struct ip_addr *a) {
        static struct ip_addr parsed[ELEMENTSOF(ranges)];
        static bool have_parsed;

        if (!have_parsed) {
                for (size_t i = 0; i < ELEMENTSOF(ranges); i++)
                        if (addr_parse(ranges[i].prefix, &parsed[i]) < 0)
                                abort(); /* the table above is wrong */
                have_parsed = true;
        }
        for (size_t i = 0; i < ELEMENTSOF(ranges); i++)
                if (addr_in_prefix(a, &parsed[i]))
                        return &ranges[i];
        return NULL;
}

static enum addr_class class_stricter(enum addr_class a, enum addr_class b) {
        /* ADDR_PUBLIC < ADDR_PRIVATE < ADDR_RESERVED */
        return a > b ? a : b;
}

struct verdict {
        enum addr_class class;
        const struct range *range;    /* NULL: public, in no range */
        /* Set when an embedded IPv4 address is stricter than the range: */
        const struct range *v4_range;
        struct ip_addr v4;
        const char *v4_role;          /* "" or, for Teredo, "server " / "client " */
};

static void judge_embedded(struct verdict *v, const uint8_t bytes[4], bool invert, const char *role) {
        uint8_t b[4];
        struct ip_addr v4;
        const struct range *r;

        for (size_t i = 0; i < 4; i++)
                b[i] = invert ? (uint8_t) ~bytes[i] : bytes[i];
        v4 = addr_make(AF_INET, b);
        r = addr_find_range(&v4);
        if (!r || class_stricter(r->class, v->class) == v->class)
                return;
        v->class = r->class;
        v->v4_range = r;
        v->v4 = v4;
        v->v4_role = role;
}

static struct verdict addr_judge(const struct ip_addr *a) {
        const struct range *r = addr_find_range(a);
        struct verdict v = { .class = r ? r->class : ADDR_PUBLIC, .range = r, .v4_role = "" };

        if (!r)
                return v;
        switch (r->embedding) {
        case EMBED_NONE:
                break;
        case EMBED_LOW32:
                judge_embedded(&v, a->u.bytes + 12, false, "");
                break;
        case EMBED_6TO4:
                judge_embedded(&v, a->u.bytes + 2, false, "");
                break;
        case EMBED_TEREDO:
                judge_embedded(&v, a->u.bytes + 4, false, "server ");
                judge_embedded(&v, a->u.bytes + 12, true, "client ");
                break;
        }
        return v;
}

enum addr_class addr_classify(const struct ip_addr *a) {
        return addr_judge(a).class;
}

const char *addr_class_reason(const struct ip_addr *a, char buf[static ADDR_REASON_MAX]) {
        struct verdict v = addr_judge(a);
        char s[ADDR_STRLEN];

        if (!v.range)
                snprintf(buf, ADDR_REASON_MAX, "public");
        else if (!v.v4_range)
                snprintf(buf, ADDR_REASON_MAX, "%s", v.range->reason);
        else
                snprintf(buf, ADDR_REASON_MAX, "%s %s %s%s, %s", v.range->reason,
                         v.range->embedding == EMBED_TEREDO ? "with" : "of", v.v4_role,
                         addr_to_string(&v.v4, s), v.v4_range->reason);
        return buf;
}
