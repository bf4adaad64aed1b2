/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The daemon's chain and its rules, expression by expression as nft 1.0.6 generates them. */
#include <arpa/inet.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/udata.h>

#include "nft-internal.h"
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

static int batch_chain(struct nft_batch *b, enum nft_op op, bool base, uint32_t hook, int32_t priority) {
        struct nlmsghdr *nlh = NULL;

        if (op == NFT_OP_FLUSH_CHAIN) {
                struct nftnl_rule *r = nftnl_rule_alloc();
                if (!r)
                        return -ENOMEM;
                nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, (uint32_t) b->family);
                nftnl_rule_set_str(r, NFTNL_RULE_TABLE, b->table);
                nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, b->chain);
                nlh = nft_batch_begin_msg(b, NFT_MSG_DELRULE, 0, op, NULL);
                if (nlh) {
                        nftnl_rule_nlmsg_build_payload(nlh, r);
                        nft_batch_end_msg(b, nlh);
                }
                nftnl_rule_free(r);
        } else {
                struct nftnl_chain *c = nftnl_chain_alloc();
                if (!c)
                        return -ENOMEM;
                nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, (uint32_t) b->family);
                nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, b->table);
                nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, b->chain);
                if (base) {
                        nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
                        nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, priority);
                        nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
                        nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
                }
                nlh = nft_batch_begin_msg(b, op == NFT_OP_NEW_CHAIN ? NFT_MSG_NEWCHAIN : NFT_MSG_DELCHAIN,
                                      op == NFT_OP_NEW_CHAIN ? NLM_F_CREATE : 0, op, NULL);
                if (nlh) {
                        nftnl_chain_nlmsg_build_payload(nlh, c);
                        nft_batch_end_msg(b, nlh);
                }
                nftnl_chain_free(c);
        }
        return nlh ? 0 : -ENOMEM;
}

/* NEWCHAIN (create if missing), DELCHAIN, or a flush (DELRULE naming only the chain). */
int nft_batch_chain(struct nft_batch *b, enum nft_op op) {
        return batch_chain(b, op, false, 0, 0);
}

int nft_batch_base_chain(struct nft_batch *b, uint32_t hook, int32_t priority) {
        return batch_chain(b, NFT_OP_NEW_CHAIN, true, hook, priority);
}

int nft_batch_add_rule(struct nft_batch *b, struct nftnl_rule *rule, const char *name) {
        struct nlmsghdr *nlh = nft_batch_begin_msg(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, NFT_OP_NEW_RULE, name);

        if (!nlh)
                return -ENOMEM;
        nftnl_rule_nlmsg_build_payload(nlh, rule);
        nft_batch_end_msg(b, nlh);
        return 0;
}

int nft_rule_add(struct nftnl_rule *r, struct nftnl_expr *e) {
        if (!e)
                return -ENOMEM;
        nftnl_rule_add_expr(r, e);
        return 0;
}

struct nftnl_expr *nft_expr_two(const char *kind, uint16_t attr1, uint32_t value1, uint16_t attr2, uint32_t value2) {
        struct nftnl_expr *e = nftnl_expr_alloc(kind);

        if (e) {
                nftnl_expr_set_u32(e, attr1, value1);
                nftnl_expr_set_u32(e, attr2, value2);
        }
        return e;
}

struct nftnl_expr *nft_expr_meta(uint32_t key) {
        return nft_expr_two("meta", NFTNL_EXPR_META_KEY, key, NFTNL_EXPR_META_DREG, NFT_REG_1);
}

struct nftnl_expr *nft_expr_cmp(uint32_t op, const void *data, uint32_t len) {
        struct nftnl_expr *e = nftnl_expr_alloc("cmp");

        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
                nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
                nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
        }
        return e;
}

struct nftnl_expr *nft_expr_payload(uint32_t base, uint32_t offset, uint32_t len) {
        struct nftnl_expr *e = nftnl_expr_alloc("payload");

        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
                nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
                nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
                nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
        }
        return e;
}

static struct nftnl_expr *expr_lookup(const char *set, uint32_t set_id) {
        struct nftnl_expr *e = nftnl_expr_alloc("lookup");

        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
                nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
                if (set_id)
                        nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, set_id);
        }
        return e;
}

static struct nftnl_expr *expr_counter(void) {
        struct nftnl_expr *e = nftnl_expr_alloc("counter");

        if (e) {
                nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_PACKETS, 0);
                nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_BYTES, 0);
        }
        return e;
}

static struct nftnl_expr *expr_accept(void) {
        return nft_expr_two("immediate", NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT, NFTNL_EXPR_IMM_VERDICT, NF_ACCEPT);
}

/* An anonymous constant set of ports for `tcp dport { 80, 1970-1980 }`, with its elements;
 * returns its id for the rule's lookup. */
static int batch_port_set(struct nft_batch *b, const char *group, const struct port_range *ports, size_t n,
                          uint32_t *ret_id) {
        struct nft_elem_writer w = { .b = b, .set = "__set%d", .msg_name = group };
        bool interval = false;
        uint32_t id = b->next_set_id++;
        int r;

        for (size_t i = 0; i < n; i++)
                interval = interval || ports[i].first != ports[i].last;
        r = nft_batch_set(b, NFT_OP_NEW_PORT_SET, "__set%d", AF_UNSPEC, interval, group, id, (uint32_t) n);
        if (r < 0)
                return r;
        w.set_id = id;
        /* The element nft sends first for an interval set that does not start at 0. */
        if (interval && ports[0].first != 0) {
                uint16_t zero = 0;
                r = nft_elem_writer_put(&w, &zero, sizeof(zero), true, 0, 0, NULL);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n; i++) {
                uint16_t first = htons(ports[i].first), next = htons((uint16_t) (ports[i].last + 1));
                r = nft_elem_writer_put(&w, &first, sizeof(first), false, 0, 0, NULL);
                if (r >= 0 && interval && ports[i].last != UINT16_MAX)
                        r = nft_elem_writer_put(&w, &next, sizeof(next), true, 0, 0, NULL);
                if (r < 0)
                        return r;
        }
        nft_elem_writer_flush(&w);
        *ret_id = id;
        return 0;
}

/* `[meta nfproto ipv4] ip daddr @NAME_v4 [meta l4proto tcp] tcp dport PORTS counter accept
 * comment "NAME"`, expression by expression as nft 1.0.6 generates it. */
int nft_batch_rule(struct nft_batch *b, const struct nft_group *g, int af, uint8_t proto) {
        _cleanup_free_ struct port_range *ports = NULL;
        struct nftnl_udata_buf *ud = NULL;
        char set[NFT_SET_NAME_MAX + 1];
        struct nftnl_rule *rule = NULL;
        uint32_t set_id = 0;
        size_t n_ports;
        int r = -ENOMEM;

        ports = calloc(MAX(g->n_allow, (size_t) 1), sizeof(*ports));
        if (!ports)
                return -ENOMEM;
        n_ports = nft_group_ports(g, proto, ports);
        if (n_ports == 0)
                return 0;
        /* One port is a plain cmp, one range a pair of cmps (as nft generates them); more
         * need an anonymous set. */
        if (n_ports > 1) {
                r = batch_port_set(b, g->name, ports, n_ports, &set_id);
                if (r < 0)
                        return r;
                r = -ENOMEM;
        }

        rule = nftnl_rule_alloc();
        ud = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
        if (!rule || !ud)
                goto finish;
        nftnl_rule_set_u32(rule, NFTNL_RULE_FAMILY, (uint32_t) b->family);
        nftnl_rule_set_str(rule, NFTNL_RULE_TABLE, b->table);
        nftnl_rule_set_str(rule, NFTNL_RULE_CHAIN, b->chain);
        snprintf(set, sizeof(set), "%s_%s", g->name, af == AF_INET ? "v4" : "v6");

        if (b->family == NFPROTO_INET) {
                uint8_t nfproto = af == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;
                if (nft_rule_add(rule, nft_expr_meta(NFT_META_NFPROTO)) < 0 ||
                    nft_rule_add(rule, nft_expr_cmp(NFT_CMP_EQ, &nfproto, sizeof(nfproto))) < 0)
                        goto finish;
        }
        if (nft_rule_add(rule, af == AF_INET ? nft_expr_payload(NFT_PAYLOAD_NETWORK_HEADER, 16, 4) :
                                           nft_expr_payload(NFT_PAYLOAD_NETWORK_HEADER, 24, 16)) < 0 ||
            nft_rule_add(rule, expr_lookup(set, 0)) < 0 ||
            nft_rule_add(rule, nft_expr_meta(NFT_META_L4PROTO)) < 0 ||
            nft_rule_add(rule, nft_expr_cmp(NFT_CMP_EQ, &proto, sizeof(proto))) < 0 ||
            nft_rule_add(rule, nft_expr_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2)) < 0)
                goto finish;
        if (set_id) {
                if (nft_rule_add(rule, expr_lookup("__set%d", set_id)) < 0)
                        goto finish;
        } else if (ports[0].first == ports[0].last) {
                uint16_t port = htons(ports[0].first);
                if (nft_rule_add(rule, nft_expr_cmp(NFT_CMP_EQ, &port, sizeof(port))) < 0)
                        goto finish;
        } else {
                uint16_t first = htons(ports[0].first), last = htons(ports[0].last);
                if (nft_rule_add(rule, nft_expr_cmp(NFT_CMP_GTE, &first, sizeof(first))) < 0 ||
                    nft_rule_add(rule, nft_expr_cmp(NFT_CMP_LTE, &last, sizeof(last))) < 0)
                        goto finish;
        }
        if (nft_rule_add(rule, expr_counter()) < 0 || nft_rule_add(rule, expr_accept()) < 0)
                goto finish;
        if (!nftnl_udata_put_strz(ud, NFTNL_UDATA_RULE_COMMENT, g->name))
                goto finish;
        nftnl_rule_set_data(rule, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud), (uint32_t) nftnl_udata_buf_len(ud));

        r = nft_batch_add_rule(b, rule, g->name);
finish:
        if (ud)
                nftnl_udata_buf_free(ud);
        if (rule)
                nftnl_rule_free(rule);
        return r;
}
