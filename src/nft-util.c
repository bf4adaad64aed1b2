/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Pieces shared by the netlink path (nft.c) and the --dry-run text (nft-script.c), so that both
 * describe exactly the same ruleset. */
#include "nft-internal.h"
#include <linux/netfilter.h>


const char *nft_family_to_string(int family) {
        switch (family) {
        case NFPROTO_INET:
                return "inet";
        case NFPROTO_IPV4:
                return "ip";
        case NFPROTO_IPV6:
                return "ip6";
        }
        return "unknown";
}

int nft_group_elements(const struct nft_group *g, int af, const struct nft_element **ret, size_t *ret_n,
                       struct nft_element **ret_owned) {
        struct nft_element *e = NULL;
        size_t n = 0;
        int r;

        *ret_owned = NULL;
        if (!g->elements) {
                *ret = af == AF_INET ? g->v4 : g->v6;
                *ret_n = af == AF_INET ? g->n_v4 : g->n_v6;
                return 0;
        }
        r = g->elements(g, af, &e, &n);
        if (r < 0)
                return r;
        *ret = *ret_owned = e;
        *ret_n = n;
        return 0;
}

bool nft_group_wants(const struct nft_ruleset *want, const struct nft_group *g, int af) {
        unsigned bit = af == AF_INET ? FAMILY_IPV4 : FAMILY_IPV6;

        if (!(g->families & bit))
                return false;
        switch (want->family) {
        case NFPROTO_INET:
                return true;
        case NFPROTO_IPV4:
                return af == AF_INET;
        case NFPROTO_IPV6:
                return af == AF_INET6;
        }
        return false;
}

uint64_t nft_timeout_sec(usec_t expiry, usec_t now) {
        usec_t left;

        if (expiry == USEC_INFINITY)
                return 0;
        /* Already expired (the caller should have dropped it): the shortest life the kernel
         * allows, never 0, which would mean "forever". */
        if (expiry <= now)
                return 1;
        left = expiry - now;
        return CLAMP((left + USEC_PER_SEC - 1) / USEC_PER_SEC, 1ULL, NFT_TIMEOUT_MAX_SEC);
}

void nft_comment_sanitize(const char *in, char out[static NFT_COMMENT_MAX + 1]) {
        size_t n = 0;

        for (const unsigned char *p = (const unsigned char *) (in ? in : ""); *p && n < NFT_COMMENT_MAX; p++)
                out[n++] = *p == '"' ? '\'' : *p < 0x20 || *p == 0x7f ? ' ' : (char) *p;
        /* Cut before a UTF-8 sequence the limit split: back off over continuation bytes and
         * the lead byte that owns them when the sequence is incomplete. */
        if (in && strlen(in) > n) {
                size_t k = n;
                while (k > 0 && ((unsigned char) out[k - 1] & 0xc0) == 0x80)
                        k--;
                if (k > 0 && ((unsigned char) out[k - 1] & 0xc0) == 0xc0) {
                        unsigned char lead = (unsigned char) out[k - 1];
                        size_t want = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
                        if (n - (k - 1) < want)
                                n = k - 1;
                }
        }
        out[n] = 0;
}

void nft_element_iter_init(struct nft_element_iter *it, const struct nft_element *elements, size_t n,
                           int af, bool interval) {
        *it = (struct nft_element_iter) {
                .elements = elements,
                .n = elements ? n : 0,
                .af = af,
                .interval = interval,
        };
}

const struct nft_element *nft_element_iter_next(struct nft_element_iter *it, uint8_t first[static 16],
                                                uint8_t last_plus_one[static 16], bool *ret_to_top) {
        size_t len = it->af == AF_INET ? 4 : 16;
        unsigned bits = (unsigned) len * 8;

        for (; it->i < it->n; it->i++) {
                const struct nft_element *e = &it->elements[it->i];
                uint8_t last[16];
                bool carry = true;

                if (e->addr.family != it->af || e->addr.prefixlen > bits ||
                    (!it->interval && e->addr.prefixlen != bits))
                        continue;

                /* first: host bits cleared; last: host bits set. A single address (nearly every
                 * element of a set DNS fills) is both: no masking, which every apply does for
                 * every element twice. */
                if (e->addr.prefixlen == bits) {
                        memcpy(first, e->addr.u.bytes, len);
                        memcpy(last, e->addr.u.bytes, len);
                } else
                        for (size_t b = 0; b < len; b++) {
                                unsigned keep = e->addr.prefixlen >= (b + 1) * 8 ? 8 :
                                                e->addr.prefixlen <= b * 8 ? 0 : e->addr.prefixlen - b * 8;
                                uint8_t mask = (uint8_t) (0xff00u >> keep);
                                first[b] = e->addr.u.bytes[b] & mask;
                                last[b] = first[b] | (uint8_t) ~mask;
                        }
                /* Sorted, no duplicates, no overlaps: the next range starts after the previous
                 * one ended. Anything else is skipped rather than sent. */
                if (it->have_prev && nft_key_compare(first, it->prev_last, len) <= 0)
                        continue;

                memcpy(it->prev_last, last, len);
                it->have_prev = true;
                memcpy(last_plus_one, last, len);
                for (size_t b = len; carry && b-- > 0;)
                        carry = ++last_plus_one[b] == 0;
                *ret_to_top = carry;
                it->i++;
                return e;
        }
        return NULL;
}

size_t nft_group_protocols(const struct nft_group *g, uint8_t protos[static 2]) {
        size_t n = 0;

        for (size_t i = 0; i < g->n_allow && n < 2; i++) {
                uint8_t p = g->allow[i].proto;
                if (p != IPPROTO_TCP && p != IPPROTO_UDP)
                        continue;
                if (n == 1 && protos[0] == p)
                        continue;
                protos[n++] = p;
        }
        return n;
}

static int port_range_compare(const void *a, const void *b) {
        const struct port_range *x = a, *y = b;

        if (x->first != y->first)
                return x->first < y->first ? -1 : 1;
        return x->last < y->last ? -1 : x->last > y->last;
}

size_t nft_group_ports(const struct nft_group *g, uint8_t proto, struct port_range *ret) {
        size_t n = 0, m = 0;

        for (size_t i = 0; i < g->n_allow; i++)
                if (g->allow[i].proto == proto && g->allow[i].first <= g->allow[i].last)
                        ret[n++] = g->allow[i];
        qsort(ret, n, sizeof(*ret), port_range_compare);
        /* nft refuses overlapping intervals in an anonymous set; merge them (and adjacent ones,
         * which is what nft would print anyway). */
        for (size_t i = 0; i < n; i++) {
                if (m > 0 && (unsigned) ret[i].first <= (unsigned) ret[m - 1].last + 1) {
                        ret[m - 1].last = MAX(ret[m - 1].last, ret[i].last);
                        continue;
                }
                ret[m++] = ret[i];
        }
        return m;
}

bool nft_udata_has_owner_mark(const void *data, uint32_t len) {
        const uint8_t *d = data;
        const size_t value_len = sizeof(NFT_UDATA_SET_OWNER_VALUE);
        uint32_t off = 0;

        /* off <= len throughout: every step is checked against what is left. */
        while (d && len - off >= 2) {
                uint8_t type = d[off], l = d[off + 1];

                if ((uint32_t) l > len - off - 2)
                        return false;
                if (type == NFT_UDATA_SET_OWNER && l == value_len &&
                    memcmp(d + off + 2, NFT_UDATA_SET_OWNER_VALUE, value_len) == 0)
                        return true;
                off += 2U + l;
        }
        return false;
}
