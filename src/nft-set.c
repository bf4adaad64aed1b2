/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Set and element messages: NEWSET/DELSET/flush of the daemon's sets and the element lists,
 * cut before a netlink attribute would overflow. */
#include <arpa/inet.h>
#include <endian.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>

#include "nft-internal.h"
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

/* An element list is one netlink attribute, whose length is 16 bits: start a new message
 * before the nest could overflow (nftables' mnl_nft_attr_nest_overflow()). */
#define NFT_ELEMENTS_NEST_MAX (UINT16_MAX - 512U)
#define NFT_ELEMENT_MAX_SIZE 128U
#define NFT_BYTEORDER_BIG_ENDIAN 2 /* nft's enum byteorder, kept in set userdata */

/* NEWSET for a named set of ours (create if missing) or for an anonymous constant port set
 * (set_id != 0; comment is then the group the rule is for, named in errors), or DELSET, or a
 * flush (DELSETELEM without elements). */
int nft_batch_set(struct nft_batch *b, enum nft_op op, const char *name, int af, bool interval,
                     const char *comment, uint32_t set_id, uint32_t n_ports) {
        struct nftnl_udata_buf *ud = NULL;
        struct nftnl_set *s = nftnl_set_alloc();
        struct nlmsghdr *nlh = NULL;
        uint16_t type = 0;
        int r = -ENOMEM;

        if (!s)
                return -ENOMEM;
        nftnl_set_set_u32(s, NFTNL_SET_FAMILY, (uint32_t) b->family);
        nftnl_set_set_str(s, NFTNL_SET_TABLE, b->table);
        nftnl_set_set_str(s, NFTNL_SET_NAME, name);

        switch (op) {
        case NFT_OP_NEW_SET: {
                char c[NFT_COMMENT_MAX + 1];

                nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_TIMEOUT | (interval ? NFT_SET_INTERVAL : 0));
                nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, af == AF_INET ? NFT_TYPE_IPV4_ADDR : NFT_TYPE_IPV6_ADDR);
                nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, af == AF_INET ? 4 : 16);
                /* The kernel insists on an id for every new set, named or not. */
                nftnl_set_set_u32(s, NFTNL_SET_ID, b->next_set_id++);
                /* The userdata nft itself writes, so `nft list` shows the comment. */
                ud = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
                if (!ud)
                        goto finish;
                nft_comment_sanitize(comment, c);
                if (!nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_KEYBYTEORDER, NFT_BYTEORDER_BIG_ENDIAN) ||
                    (c[0] && !nftnl_udata_put_strz(ud, NFTNL_UDATA_SET_COMMENT, c)) ||
                    !nftnl_udata_put_strz(ud, NFT_UDATA_SET_OWNER, NFT_UDATA_SET_OWNER_VALUE))
                        goto finish;
                nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud),
                                   (uint32_t) nftnl_udata_buf_len(ud));
                type = NFT_MSG_NEWSET;
                break;
        }
        case NFT_OP_NEW_PORT_SET:
                nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_ANONYMOUS | NFT_SET_CONSTANT |
                                                      (interval ? NFT_SET_INTERVAL : 0));
                nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, NFT_TYPE_INET_SERVICE);
                nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, 2);
                nftnl_set_set_u32(s, NFTNL_SET_ID, set_id);
                nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, n_ports);
                type = NFT_MSG_NEWSET;
                break;
        case NFT_OP_DEL_SET:
                type = NFT_MSG_DELSET;
                break;
        case NFT_OP_FLUSH_SET:
                type = NFT_MSG_DELSETELEM;
                break;
        case NFT_OP_BEGIN:
        case NFT_OP_END:
        case NFT_OP_NEW_TABLE:
        case NFT_OP_DEL_TABLE:
        case NFT_OP_NEW_CHAIN:
        case NFT_OP_DEL_CHAIN:
        case NFT_OP_FLUSH_CHAIN:
        case NFT_OP_NEW_RULE:
        case NFT_OP_ADD_ELEMENTS:
                r = -EINVAL;
                goto finish;
        }

        nlh = nft_batch_begin_msg(b, type, type == NFT_MSG_NEWSET ? NLM_F_CREATE : 0, op,
                              op == NFT_OP_NEW_PORT_SET ? comment : name);
        if (!nlh)
                goto finish;
        if (type == NFT_MSG_DELSETELEM) {
                /* nftnl_set has no builder for a bare DELSETELEM: table and set, no elements,
                 * which the kernel reads as "flush". */
                mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, b->table);
                mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, name);
        } else
                nftnl_set_nlmsg_build_payload(nlh, s);
        nft_batch_end_msg(b, nlh);
        r = 0;
finish:
        if (ud)
                nftnl_udata_buf_free(ud);
        nftnl_set_free(s);
        return r;
}


int nft_elem_writer_flush(struct nft_elem_writer *w) {
        if (!w->nlh)
                return 0;
        mnl_attr_nest_end(w->nlh, w->list);
        nft_batch_end_msg(w->b, w->nlh);
        w->nlh = NULL;
        return 0;
}

int nft_elem_writer_put(struct nft_elem_writer *w, const void *key, size_t len, bool end, uint64_t timeout_ms) {
        struct nlattr *e, *k;

        if (w->nlh && (size_t) ((char *) mnl_nlmsg_get_payload_tail(w->nlh) - (char *) w->list) >
                              NFT_ELEMENTS_NEST_MAX - NFT_ELEMENT_MAX_SIZE)
                nft_elem_writer_flush(w);
        if (!w->nlh) {
                w->nlh = nft_batch_begin_msg(w->b, NFT_MSG_NEWSETELEM, NLM_F_CREATE, NFT_OP_ADD_ELEMENTS, w->msg_name);
                if (!w->nlh)
                        return -ENOMEM;
                mnl_attr_put_strz(w->nlh, NFTA_SET_ELEM_LIST_TABLE, w->b->table);
                mnl_attr_put_strz(w->nlh, NFTA_SET_ELEM_LIST_SET, w->set);
                if (w->set_id)
                        mnl_attr_put_u32(w->nlh, NFTA_SET_ELEM_LIST_SET_ID, htonl(w->set_id));
                w->list = mnl_attr_nest_start(w->nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
        }
        e = mnl_attr_nest_start(w->nlh, NFTA_LIST_ELEM);
        k = mnl_attr_nest_start(w->nlh, NFTA_SET_ELEM_KEY);
        mnl_attr_put(w->nlh, NFTA_DATA_VALUE, len, key);
        mnl_attr_nest_end(w->nlh, k);
        if (end)
                mnl_attr_put_u32(w->nlh, NFTA_SET_ELEM_FLAGS, htonl(NFT_SET_ELEM_INTERVAL_END));
        if (timeout_ms > 0)
                mnl_attr_put_u64(w->nlh, NFTA_SET_ELEM_TIMEOUT, htobe64(timeout_ms));
        mnl_attr_nest_end(w->nlh, e);
        return 0;
}

int nft_batch_elements(struct nft_batch *b, const char *set, int af, bool interval,
                          const struct nft_element *elements, size_t n_elements, usec_t now) {
        struct nft_elem_writer w = { .b = b, .set = set, .msg_name = set };
        size_t len = af == AF_INET ? 4 : 16;
        struct nft_element_iter it;
        const struct nft_element *e;
        uint8_t first[16], next[16];
        bool to_top;
        int r;

        nft_element_iter_init(&it, elements, n_elements, af, interval);
        while ((e = nft_element_iter_next(&it, first, next, &to_top))) {
                r = nft_elem_writer_put(&w, first, len, false, nft_timeout_sec(e->expiry, now) * 1000);
                if (r < 0)
                        return r;
                /* An interval is its start plus an end element one past its last address; a
                 * range reaching the top of the address space has no end element (as in nft). */
                if (interval && !to_top) {
                        r = nft_elem_writer_put(&w, next, len, true, 0);
                        if (r < 0)
                                return r;
                }
        }
        return nft_elem_writer_flush(&w);
}
