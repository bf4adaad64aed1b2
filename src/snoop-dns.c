/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The DNS reply parser of snooping. Written for this one job rather than through c-ares'
 * ares_parse_a_reply()/ares_parse_aaaa_reply(): those accept any RCODE and TC, take addresses
 * from any owner name, and allocate; here the owner of every address must be the end of the
 * CNAME chain that starts at the question name (RFC 1034 4.3.2), nothing is allocated, and the
 * IP and UDP headers around the message are checked too. */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "snoop-dns.h"

#define DNS_HEADER_SIZE 12
#define DNS_NAME_WIRE_MAX 255   /* RFC 1035 2.3.4 */
#define DNS_POINTER_HOPS_MAX 64 /* every hop goes strictly backwards anyway */
/* Answer records looked at: a reply with more is cut to these (each is at least 11 bytes). */
#define DNS_ANSWERS_MAX 512

#define DNS_TYPE_A 1
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_AAAA 28
#define DNS_CLASS_IN 1

struct dns_msg {
        const uint8_t *p;
        size_t n;
};

/* A name in uncompressed wire form, lower-cased: compared byte for byte, so "a.b" as one label
 * never equals the two labels a and b. */
struct dns_name {
        uint8_t wire[DNS_NAME_WIRE_MAX];
        size_t len;
};

static uint16_t get16(const uint8_t *p) {
        return (uint16_t) (p[0] << 8 | p[1]);
}

/* Reads the name at *pos, following compression pointers (each strictly backwards, so no
 * loop), into ret; *pos moves past the name's bytes in place. Returns 0 or -EBADMSG. */
static int read_name(const struct dns_msg *m, size_t *pos, struct dns_name *ret) {
        size_t p = *pos, end = SIZE_MAX, len = 0;
        unsigned hops = 0;

        for (;;) {
                uint8_t l;

                if (p >= m->n)
                        return -EBADMSG;
                l = m->p[p];
                if ((l & 0xc0) == 0xc0) {
                        size_t target;

                        if (p + 1 >= m->n || ++hops > DNS_POINTER_HOPS_MAX)
                                return -EBADMSG;
                        target = (size_t) (l & 0x3f) << 8 | m->p[p + 1];
                        if (end == SIZE_MAX)
                                end = p + 2;
                        if (target >= p)
                                return -EBADMSG;
                        p = target;
                        continue;
                }
                if (l & 0xc0) /* 0x40, 0x80: extended and reserved label types */
                        return -EBADMSG;
                if (len + 1 + l > DNS_NAME_WIRE_MAX || p + 1 + l > m->n)
                        return -EBADMSG;
                ret->wire[len++] = l;
                if (l == 0)
                        break;
                for (size_t i = 0; i < l; i++) {
                        uint8_t c = m->p[p + 1 + i];
                        ret->wire[len++] = c >= 'A' && c <= 'Z' ? (uint8_t) (c - 'A' + 'a') : c;
                }
                p += 1 + l;
        }
        ret->len = len;
        *pos = end == SIZE_MAX ? p + 1 : end;
        return 0;
}

static bool name_equal(const struct dns_name *a, const struct dns_name *b) {
        return a->len == b->len && memcmp(a->wire, b->wire, a->len) == 0;
}

/* The text form of a host name: only letters, digits, '-' and '_' in labels, not the root.
 * Returns 0 or -ENOMSG. */
static int name_to_host(const struct dns_name *n, char ret[static HOST_NAME_MAX_LEN + 1]) {
        size_t out = 0;

        if (n->len < 2)
                return -ENOMSG;
        for (size_t i = 0; n->wire[i] != 0; i += 1 + n->wire[i]) {
                if (out > 0)
                        ret[out++] = '.';
                for (size_t j = 1; j <= n->wire[i]; j++) {
                        uint8_t c = n->wire[i + j];
                        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
                                return -ENOMSG;
                        ret[out++] = (char) c;
                }
        }
        /* 255 wire bytes are at most 253 characters: the first length byte and the root's
         * give no character. */
        ret[out] = 0;
        return 0;
}

struct dns_rr {
        size_t owner;  /* offset of the owner name */
        uint16_t type, class;
        size_t rdata;  /* offset */
        uint16_t rdlen;
};

/* Reads one resource record's fixed part at *pos; *pos moves past its data. */
static int read_rr(const struct dns_msg *m, size_t *pos, struct dns_rr *ret) {
        struct dns_name skip;
        size_t p = *pos;
        int r;

        ret->owner = p;
        r = read_name(m, &p, &skip);
        if (r < 0)
                return r;
        if (p + 10 > m->n)
                return -EBADMSG;
        ret->type = get16(m->p + p);
        ret->class = get16(m->p + p + 2);
        ret->rdlen = get16(m->p + p + 8);
        ret->rdata = p + 10;
        if (ret->rdata + ret->rdlen > m->n)
                return -EBADMSG;
        *pos = ret->rdata + ret->rdlen;
        return 0;
}

static int parse_dns(const struct dns_msg *m, struct snoop_dns_reply *out) {
        struct dns_rr rrs[DNS_ANSWERS_MAX];
        struct dns_name qname, chain;
        uint16_t flags, qdcount, ancount, qtype, qclass;
        size_t pos = DNS_HEADER_SIZE, n_rrs;
        int r;

        if (m->n < DNS_HEADER_SIZE)
                return -EBADMSG;
        flags = get16(m->p + 2);
        qdcount = get16(m->p + 4);
        ancount = get16(m->p + 6);
        if (!(flags & 0x8000) || ((flags >> 11) & 0xf) != 0 || (flags & 0xf) != 0 || qdcount != 1)
                return -ENOMSG;

        r = read_name(m, &pos, &qname);
        if (r < 0)
                return r;
        if (pos + 4 > m->n)
                return -EBADMSG;
        qtype = get16(m->p + pos);
        qclass = get16(m->p + pos + 2);
        pos += 4;
        if (qclass != DNS_CLASS_IN || (qtype != DNS_TYPE_A && qtype != DNS_TYPE_AAAA))
                return -ENOMSG;
        r = name_to_host(&qname, out->name);
        if (r < 0)
                return r;
        out->qtype = qtype;
        out->truncated = flags & 0x0200;
        out->n_addrs = 0;
        if (out->truncated) /* what follows may be cut anywhere: learn from a full answer only */
                return 0;

        n_rrs = MIN((size_t) ancount, (size_t) DNS_ANSWERS_MAX);
        for (size_t i = 0; i < n_rrs; i++) {
                r = read_rr(m, &pos, &rrs[i]);
                if (r < 0)
                        return r;
                if (rrs[i].class != DNS_CLASS_IN)
                        continue;
                if (rrs[i].type == DNS_TYPE_A && rrs[i].rdlen != 4)
                        return -EBADMSG;
                if (rrs[i].type == DNS_TYPE_AAAA && rrs[i].rdlen != 16)
                        return -EBADMSG;
        }

        /* Follow the chain: each step a CNAME owned by the current name. */
        chain = qname;
        for (unsigned hop = 0; hop < SNOOP_DNS_CHAIN_MAX; hop++) {
                bool found = false;

                for (size_t i = 0; i < n_rrs && !found; i++) {
                        struct dns_name owner;
                        size_t p = rrs[i].owner;

                        if (rrs[i].type != DNS_TYPE_CNAME || rrs[i].class != DNS_CLASS_IN)
                                continue;
                        if (read_name(m, &p, &owner) < 0)
                                return -EBADMSG;
                        if (!name_equal(&owner, &chain))
                                continue;
                        p = rrs[i].rdata;
                        if (read_name(m, &p, &chain) < 0 || p != rrs[i].rdata + rrs[i].rdlen)
                                return -EBADMSG;
                        found = true;
                }
                if (!found)
                        break;
        }

        for (size_t i = 0; i < n_rrs && out->n_addrs < SNOOP_DNS_ADDRS_MAX; i++) {
                struct dns_name owner;
                size_t p = rrs[i].owner;

                if (rrs[i].type != qtype || rrs[i].class != DNS_CLASS_IN)
                        continue;
                if (read_name(m, &p, &owner) < 0)
                        return -EBADMSG;
                if (!name_equal(&owner, &chain))
                        continue;
                out->addrs[out->n_addrs++] = addr_make(qtype == DNS_TYPE_A ? AF_INET : AF_INET6, m->p + rrs[i].rdata);
        }
        return 0;
}

int snoop_dns_parse(const uint8_t *packet, size_t len, struct snoop_dns_reply *ret) {
        struct snoop_dns_reply out;
        size_t l4, end;
        struct dns_msg m;
        uint16_t ulen;
        int r;

        if (!packet || len < 1)
                return -EBADMSG;
        switch (packet[0] >> 4) {
        case 4: {
                size_t ihl = (size_t) (packet[0] & 0xf) * 4;
                if (len < 20 || ihl < 20 || ihl > len)
                        return -EBADMSG;
                end = get16(packet + 2);
                if (end < ihl || end > len)
                        return -EBADMSG;
                /* Conntrack reassembles before the forward and output hooks: a fragment here is
                 * not ours to read. */
                if (packet[9] != IPPROTO_UDP || (get16(packet + 6) & 0x3fff) != 0)
                        return -EPROTONOSUPPORT;
                out.client = addr_make(AF_INET, packet + 16);
                l4 = ihl;
                break;
        }
        case 6:
                if (len < 40)
                        return -EBADMSG;
                end = 40 + (size_t) get16(packet + 4);
                if (end > len)
                        return -EBADMSG;
                /* Extension headers are not walked: a resolver's reply carries none. */
                if (packet[6] != IPPROTO_UDP)
                        return -EPROTONOSUPPORT;
                out.client = addr_make(AF_INET6, packet + 24);
                l4 = 40;
                break;
        default:
                return -EPROTONOSUPPORT;
        }

        if (end - l4 < 8)
                return -EBADMSG;
        if (get16(packet + l4) != 53)
                return -EPROTONOSUPPORT;
        ulen = get16(packet + l4 + 4);
        if (ulen < 8 || ulen > end - l4)
                return -EBADMSG;

        m = (struct dns_msg) { .p = packet + l4 + 8, .n = ulen - 8 };
        r = parse_dns(&m, &out);
        if (r < 0)
                return r;
        *ret = out;
        return 0;
}
