/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The snooping queue's chains, as batches of nft-batch.c on a handle of their own: they change
 * only at start-up, reload and repair, and a handle apart from the sets' one never waits for
 * (nor drains the replies of) a transaction of the sets in flight. */
#include <arpa/inet.h>
#include <stdio.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "nft-internal.h"

/* After the operator's filter chains (priority filter, 0), so a reply their policy drops is
 * not held for nothing. */
#define QUEUE_CHAIN_PRIORITY 10
/* struct xt_NFQ_info_v3 of <linux/netfilter/xt_NFQUEUE.h>: queuenum, queues_total, flags
 * (u16 each, host order), padded to XT_ALIGN (8), the size nft_compat checks. Revision 3 is
 * the one iptables-nft 1.8.9 writes for `-j NFQUEUE --queue-num N --queue-bypass`. */
#define XT_NFQUEUE_REVISION 3
#define XT_NFQUEUE_INFO_SIZE 8
#define XT_NFQ_FLAG_BYPASS 0x01
#define IP_CT_DIR_REPLY_VALUE 1
#define DNS_PORT 53

static const struct {
        const char *name;
        uint32_t hook;
} queue_chains[] = {
        { NFT_QUEUE_CHAIN_FORWARD, NF_INET_FORWARD },
        { NFT_QUEUE_CHAIN_OUTPUT, NF_INET_LOCAL_OUT },
};

const char *nft_queue_kind_to_string(enum nft_queue_kind k) {
        switch (k) {
        case NFT_QUEUE_EXPRESSION:
                return "queue expression";
        case NFT_QUEUE_XT_TARGET:
                return "xtables NFQUEUE target";
        }
        return "?";
}

/* `queue num N bypass` as nft 1.0.6 writes it (netlink_gen_queue_stmt(): num, total 1, flags
 * when not 0), or `-j NFQUEUE --queue-num N --queue-bypass` as iptables-nft does (the
 * `target` expression of nft_compat). */
static struct nftnl_expr *expr_queue(enum nft_queue_kind kind, uint16_t queue) {
        struct nftnl_expr *e;

        switch (kind) {
        case NFT_QUEUE_EXPRESSION:
                e = nftnl_expr_alloc("queue");
                if (e) {
                        nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_NUM, queue);
                        nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_TOTAL, 1);
                        nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_FLAGS, NFT_QUEUE_FLAG_BYPASS);
                }
                return e;
        case NFT_QUEUE_XT_TARGET: {
                /* libnftnl takes ownership of the info buffer. */
                uint16_t *info = calloc(1, XT_NFQUEUE_INFO_SIZE);

                e = nftnl_expr_alloc("target");
                if (!e || !info) {
                        free(info);
                        if (e)
                                nftnl_expr_free(e);
                        return NULL;
                }
                info[0] = queue;              /* queuenum */
                info[1] = 1;                  /* queues_total */
                info[2] = XT_NFQ_FLAG_BYPASS; /* flags */
                nftnl_expr_set_str(e, NFTNL_EXPR_TG_NAME, "NFQUEUE");
                nftnl_expr_set_u32(e, NFTNL_EXPR_TG_REV, XT_NFQUEUE_REVISION);
                nftnl_expr_set(e, NFTNL_EXPR_TG_INFO, info, XT_NFQUEUE_INFO_SIZE);
                return e;
        }
        }
        return NULL;
}

/* `[meta nfproto F] [ip(6) saddr S] meta l4proto udp udp sport 53 ct direction reply QUEUE`. */
static int batch_queue_rule(struct nft_batch *b, enum nft_queue_kind kind, uint16_t queue,
                            const struct ip_addr *server) {
        struct nftnl_rule *rule = nftnl_rule_alloc();
        uint8_t udp = IPPROTO_UDP, reply = IP_CT_DIR_REPLY_VALUE;
        uint16_t port = htons(DNS_PORT);
        int r = -ENOMEM;

        if (!rule)
                return -ENOMEM;
        nftnl_rule_set_u32(rule, NFTNL_RULE_FAMILY, (uint32_t) b->family);
        nftnl_rule_set_str(rule, NFTNL_RULE_TABLE, b->table);
        nftnl_rule_set_str(rule, NFTNL_RULE_CHAIN, b->chain);
        if (server) {
                bool v4 = server->family == AF_INET;
                uint8_t nfproto = v4 ? NFPROTO_IPV4 : NFPROTO_IPV6;

                if (b->family == NFPROTO_INET &&
                    (nft_rule_add(rule, nft_expr_meta(NFT_META_NFPROTO)) < 0 ||
                     nft_rule_add(rule, nft_expr_cmp(NFT_CMP_EQ, &nfproto, sizeof(nfproto))) < 0))
                        goto finish;
                if (nft_rule_add(rule, nft_expr_payload(NFT_PAYLOAD_NETWORK_HEADER, v4 ? 12 : 8, v4 ? 4 : 16)) < 0 ||
                    nft_rule_add(rule, nft_expr_cmp(NFT_CMP_EQ, server->u.bytes, v4 ? 4 : 16)) < 0)
                        goto finish;
        }
        if (nft_rule_add(rule, nft_expr_meta(NFT_META_L4PROTO)) < 0 ||
            nft_rule_add(rule, nft_expr_cmp(NFT_CMP_EQ, &udp, sizeof(udp))) < 0 ||
            nft_rule_add(rule, nft_expr_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2)) < 0 ||
            nft_rule_add(rule, nft_expr_cmp(NFT_CMP_EQ, &port, sizeof(port))) < 0 ||
            nft_rule_add(rule, nft_expr_two("ct", NFTNL_EXPR_CT_KEY, NFT_CT_DIRECTION, NFTNL_EXPR_CT_DREG, NFT_REG_1)) < 0 ||
            nft_rule_add(rule, nft_expr_cmp(NFT_CMP_EQ, &reply, sizeof(reply))) < 0 ||
            nft_rule_add(rule, expr_queue(kind, queue)) < 0)
                goto finish;
        r = nft_batch_add_rule(b, rule, b->chain);
finish:
        nftnl_rule_free(rule);
        return r;
}

int nft_queue_batch_chain(struct nft_batch *b, const struct nft_queue_spec *spec, enum nft_queue_kind kind,
                          uint32_t hook) {
        int r;

        r = nft_batch_table(b, NFT_OP_NEW_TABLE);
        if (r >= 0)
                r = nft_batch_base_chain(b, hook, QUEUE_CHAIN_PRIORITY);
        if (r >= 0)
                r = nft_batch_chain(b, NFT_OP_FLUSH_CHAIN);
        if (r >= 0 && spec->n_servers == 0)
                r = batch_queue_rule(b, kind, spec->queue, NULL);
        for (size_t i = 0; i < spec->n_servers && r >= 0; i++)
                r = batch_queue_rule(b, kind, spec->queue, &spec->servers[i]);
        return r;
}

/* Whether a refusal of the queue expression means that the kernel does not have it (nf_tables
 * answers ENOENT for an expression type it cannot find or load), so the xtables target is
 * worth trying. */
static bool queue_expression_missing(int r) {
        return r == -ENOENT || r == -EOPNOTSUPP;
}

/* The hint that replaces nft_error_set()'s for a refused rule (which speaks of groups). */
static void queue_error_hint(struct nft_error *err, int r, enum nft_queue_kind kind, uint16_t queue) {
        if (!err || r == -EPERM || r == -EACCES)
                return;
        switch (kind) {
        case NFT_QUEUE_EXPRESSION:
                if (queue_expression_missing(r)) {
                        snprintf(err->hint, sizeof(err->hint),
                                 "the kernel has no nftables queue expression (module nft_queue, CONFIG_NFT_QUEUE)");
                        return;
                }
                break;
        case NFT_QUEUE_XT_TARGET:
                if (queue_expression_missing(r)) {
                        snprintf(err->hint, sizeof(err->hint),
                                 "the kernel has neither the nftables queue expression (nft_queue) nor the xtables "
                                 "NFQUEUE target (xt_NFQUEUE with nft_compat)");
                        return;
                }
                break;
        }
        snprintf(err->hint, sizeof(err->hint), "adding the DNS snooping rule (queue %u, %s)", queue,
                 nft_queue_kind_to_string(kind));
}

/* One chain, in a transaction of its own. */
static int install_chain(struct nft *n, const struct nft_queue_spec *spec, enum nft_queue_kind kind, size_t i,
                         struct nft_error *err) {
        struct nft_batch b;
        int r;

        r = nft_batch_init(&b, n, spec->family, spec->table, queue_chains[i].name);
        if (r >= 0)
                r = nft_queue_batch_chain(&b, spec, kind, queue_chains[i].hook);
        if (r >= 0)
                r = nft_batch_finish(&b);
        if (r >= 0) {
                r = nft_batch_send(&b, err);
                if (r < 0 && err && strstr(err->hint, "adding a rule"))
                        queue_error_hint(err, r, kind, spec->queue);
        }
        nft_batch_done(&b);
        return r;
}

int nft_queue_install_kind(const struct nft_queue_spec *spec, enum nft_queue_kind kind, struct nft_error *err) {
        _cleanup_(nft_freep) struct nft *n = NULL;
        int r;

        if (err)
                memset(err, 0, sizeof(*err));
        r = nft_open(&n);
        if (r < 0) {
                if (err)
                        snprintf(err->hint, sizeof(err->hint), "opening a netlink socket");
                return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(queue_chains) && r >= 0; i++)
                r = install_chain(n, spec, kind, i, err);
        return r;
}

int nft_queue_install(const struct nft_queue_spec *spec, enum nft_queue_kind *ret_kind, struct nft_error *err) {
        int r;

        r = nft_queue_install_kind(spec, NFT_QUEUE_EXPRESSION, err);
        if (queue_expression_missing(r)) {
                /* Refused before anything of it was committed: the first chain's transaction
                 * failed on its first rule. */
                r = nft_queue_install_kind(spec, NFT_QUEUE_XT_TARGET, err);
                if (r >= 0)
                        *ret_kind = NFT_QUEUE_XT_TARGET;
                return r;
        }
        if (r >= 0)
                *ret_kind = NFT_QUEUE_EXPRESSION;
        return r;
}

int nft_queue_remove(int family, const char *table, struct nft_error *err) {
        _cleanup_(nft_freep) struct nft *n = NULL;
        int r;

        if (err)
                memset(err, 0, sizeof(*err));
        r = nft_open(&n);
        if (r < 0)
                return r;
        /* One transaction each: a missing one (ENOENT) would abort a shared batch. */
        for (size_t i = 0; i < ELEMENTSOF(queue_chains) && r >= 0; i++) {
                struct nft_batch b;

                r = nft_batch_init(&b, n, family, table, queue_chains[i].name);
                if (r >= 0)
                        r = nft_batch_chain(&b, NFT_OP_DEL_CHAIN);
                if (r >= 0)
                        r = nft_batch_finish(&b);
                if (r >= 0) {
                        r = nft_batch_send(&b, err);
                        if (r == -ENOENT) {
                                r = 0;
                                if (err)
                                        memset(err, 0, sizeof(*err));
                        }
                }
                nft_batch_done(&b);
        }
        return r;
}
