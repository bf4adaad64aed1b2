/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One dump of a set's elements (NFT_MSG_GETSETELEM), searched for the element holding an
 * address. A dump rather than a single GETSETELEM: it works the same for hash sets and interval
 * sets on every kernel, and --status asks once. */
#include <libmnl/libmnl.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <time.h>

#include "nft-internal.h"
#include "nft-query.h"

/* A dump message is at most 32 KiB (the kernel's netlink dump size, nowadays): room for two. */
#define NFT_QUERY_RECV_BUFFER (64 * 1024)

/* Interval sets keep each range as a start element and an end element (flag INTERVAL_END, key
 * one past the last address). */
struct query {
        struct ip_addr addr;
        size_t key_len;
        bool found;          /* best is the greatest start key <= addr */
        uint8_t best_key[16];
        struct nft_query_element best;
        uint8_t (*ends)[16]; /* every end key, to find the one closing best */
        size_t n_ends, allocated_ends;
        int error;
};

static void comment_from_udata(const uint8_t *d, uint32_t len, char out[static NFT_QUERY_COMMENT_MAX + 1]) {
        uint32_t off = 0;

        out[0] = 0;
        /* off <= len throughout: every step is checked against what is left. */
        while (d && len - off >= 2) {
                uint8_t type = d[off], l = d[off + 1];
                size_t n = 0;

                if ((uint32_t) l > len - off - 2)
                        return;
                if (type == NFTNL_UDATA_SET_ELEM_COMMENT) {
                        for (uint8_t i = 0; i < l && d[off + 2 + i] && n < NFT_QUERY_COMMENT_MAX; i++) {
                                uint8_t c = d[off + 2 + i];
                                out[n++] = c >= 0x20 && c < 0x7f ? (char) c : '?';
                        }
                        out[n] = 0;
                        return;
                }
                off += 2U + l;
        }
}

static int element_cb(struct nftnl_set_elem *e, void *data) {
        struct query *q = data;
        uint32_t len = 0, flags = 0;
        const void *key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
        const void *ud;

        if (!key || len != q->key_len)
                return 0;
        if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS))
                flags = nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS);
        if (flags & NFT_SET_ELEM_INTERVAL_END) {
                if (grow_array((void **) &q->ends, &q->allocated_ends, q->n_ends + 1, sizeof(*q->ends)) < 0) {
                        q->error = -ENOMEM;
                        return -1;
                }
                memcpy(q->ends[q->n_ends++], key, len);
                return 0;
        }
        if (memcmp(key, q->addr.u.bytes, len) > 0 || (q->found && memcmp(key, q->best_key, len) <= 0))
                return 0;

        q->found = true;
        memcpy(q->best_key, key, len);
        q->best = (struct nft_query_element) { .element = addr_make(q->addr.family, key) };
        if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_TIMEOUT))
                q->best.timeout = nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_TIMEOUT) * USEC_PER_MSEC;
        if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_EXPIRATION))
                q->best.expires = nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_EXPIRATION) * USEC_PER_MSEC;
        ud = nftnl_set_elem_get(e, NFTNL_SET_ELEM_USERDATA, &len);
        comment_from_udata(ud, ud ? len : 0, q->best.comment);
        return 0;
}

static int dump_cb(const struct nlmsghdr *nlh, void *data) {
        struct query *q = data;
        struct nftnl_set *s = nftnl_set_alloc();
        int r = MNL_CB_OK;

        if (!s) {
                q->error = -ENOMEM;
                return MNL_CB_ERROR;
        }
        if (nftnl_set_elems_nlmsg_parse(nlh, s) < 0) {
                q->error = -EBADMSG;
                r = MNL_CB_ERROR;
        } else if (nftnl_set_elem_foreach(s, element_cb, q) < 0)
                r = MNL_CB_ERROR;
        nftnl_set_free(s);
        return r;
}

/* One past the last address of the range starting at best: the smallest end key above it. */
static bool range_end(const struct query *q, uint8_t ret[static 16]) {
        bool any = false;

        for (size_t i = 0; i < q->n_ends; i++)
                if (memcmp(q->ends[i], q->best_key, q->key_len) > 0 && (!any || memcmp(q->ends[i], ret, q->key_len) < 0)) {
                        memcpy(ret, q->ends[i], q->key_len);
                        any = true;
                }
        return any;
}

/* Describes [first, end) as a prefix when it is one, else as a range. */
static void describe_range(struct nft_query_element *e, const uint8_t *end, size_t len) {
        uint8_t last[16];
        unsigned bits = (unsigned) len * 8, p = 0;
        bool borrow = true;

        memcpy(last, end, len);
        for (size_t i = len; i-- > 0 && borrow;)
                borrow = last[i]-- == 0;
        while (p < bits && ((e->element.u.bytes[p / 8] ^ last[p / 8]) & (0x80 >> (p % 8))) == 0)
                p++;
        for (unsigned b = p; b < bits; b++) {
                uint8_t m = 0x80 >> (b % 8);
                if ((e->element.u.bytes[b / 8] & m) || !(last[b / 8] & m)) {
                        e->range = true;
                        e->last = addr_make(e->element.family, last);
                        return;
                }
        }
        e->element.prefixlen = (uint8_t) p;
}

int nft_query_element(int family, const char *table, const char *set, const struct ip_addr *addr,
                      struct nft_query_element *ret) {
        struct query q = { .addr = *addr, .key_len = addr->family == AF_INET ? 4 : 16 };
        struct mnl_socket *nl = NULL;
        struct nftnl_set *s = NULL;
        _cleanup_free_ char *buf = NULL;
        struct nlmsghdr *nlh;
        uint32_t seq = (uint32_t) time(NULL), portid;
        uint8_t end[16];
        int r;

        buf = malloc(NFT_QUERY_RECV_BUFFER);
        s = nftnl_set_alloc();
        if (!buf || !s) {
                r = -ENOMEM;
                goto finish;
        }
        nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
        if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
                r = -errno;
                goto finish;
        }
        portid = mnl_socket_get_portid(nl);

        nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
        nftnl_set_set_str(s, NFTNL_SET_NAME, set);
        nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, (uint16_t) family, NLM_F_DUMP | NLM_F_ACK, seq);
        nftnl_set_elems_nlmsg_build_payload(nlh, s);
        if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
                r = -errno;
                goto finish;
        }
        for (;;) {
                ssize_t n = mnl_socket_recvfrom(nl, buf, NFT_QUERY_RECV_BUFFER);

                if (n < 0) {
                        r = -errno;
                        goto finish;
                }
                errno = 0;
                r = mnl_cb_run(buf, (size_t) n, seq, portid, dump_cb, &q);
                if (r < 0) {
                        r = q.error < 0 ? q.error : errno > 0 ? -errno : -EPROTO;
                        goto finish;
                }
                if (r == MNL_CB_STOP)
                        break;
        }

        r = 0;
        if (!q.found)
                goto finish;
        if (memcmp(q.best_key, addr->u.bytes, q.key_len) == 0 && q.n_ends == 0)
                r = 1; /* a hash set, or an interval set holding just this address */
        else if (range_end(&q, end) && memcmp(addr->u.bytes, end, q.key_len) < 0) {
                describe_range(&q.best, end, q.key_len);
                r = 1;
        }
        if (r == 1)
                *ret = q.best;
finish:
        free(q.ends);
        nftnl_set_free(s);
        if (nl)
                mnl_socket_close(nl);
        return r;
}

const char *nft_query_family_name(int family) {
        return nft_family_to_string(family);
}
