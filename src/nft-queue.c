/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The snooping queue's chains through libnftnl on a netlink socket of their own. They change
 * only at start-up, reload and repair, so a short blocking exchange is fine here. */
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <time.h>

#include "nft-queue.h"

/* After the operator's filter chains (priority filter, 0), so a reply their policy drops is
 * not held for nothing. */
#define QUEUE_CHAIN_PRIORITY 10
#define QUEUE_BATCH_SIZE (64 * 1024)
/* The kernel answers a batch of this size in microseconds; a commit lock held by another
 * process is what can take long. */
#define QUEUE_ACK_TIMEOUT_SEC 5
/* struct xt_NFQ_info_v3 of <linux/netfilter/xt_NFQUEUE.h>: queuenum, queues_total, flags,
 * padded to XT_ALIGN (8), the size nft_compat checks. */
#define XT_NFQUEUE_REVISION 3
#define XT_NFQUEUE_INFO_SIZE 8
#define XT_NFQ_FLAG_BYPASS 0x01
#define IP_CT_DIR_REPLY_VALUE 1

const char *nft_queue_kind_to_string(enum nft_queue_kind k) {
        switch (k) {
        case NFT_QUEUE_EXPRESSION:
                return "queue expression";
        case NFT_QUEUE_XT_TARGET:
                return "xtables NFQUEUE target";
        }
        return "?";
}

struct queue_batch {
        char *buf;
        size_t size;
        uint32_t seq_first, seq;
        int family;
        const char *table;
        const char *objects[80]; /* per message after BEGIN: the chain it concerns, for errors */
};

static struct nlmsghdr *msg_begin(struct queue_batch *b, uint16_t type, uint16_t flags, const char *object) {
        struct nlmsghdr *nlh;
        size_t i = b->seq - b->seq_first - 1;

        if (b->size + 4096 > QUEUE_BATCH_SIZE || i >= ELEMENTSOF(b->objects))
                return NULL;
        b->objects[i] = object;
        nlh = nftnl_nlmsg_build_hdr(b->buf + b->size, type, (uint16_t) b->family, flags | NLM_F_ACK, b->seq++);
        return nlh;
}

static void msg_end(struct queue_batch *b, struct nlmsghdr *nlh) {
        b->size += NLMSG_ALIGN(nlh->nlmsg_len);
}

static int add_table(struct queue_batch *b) {
        struct nftnl_table *t = nftnl_table_alloc();
        struct nlmsghdr *nlh;

        if (!t)
                return -ENOMEM;
        nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, (uint32_t) b->family);
        nftnl_table_set_str(t, NFTNL_TABLE_NAME, b->table);
        nlh = msg_begin(b, NFT_MSG_NEWTABLE, NLM_F_CREATE, NULL);
        if (nlh) {
                nftnl_table_nlmsg_build_payload(nlh, t);
                msg_end(b, nlh);
        }
        nftnl_table_free(t);
        return nlh ? 0 : -ENOMEM;
}

static int add_chain(struct queue_batch *b, const char *name, uint32_t hook, uint16_t type) {
        struct nftnl_chain *c = nftnl_chain_alloc();
        struct nlmsghdr *nlh;

        if (!c)
                return -ENOMEM;
        nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, (uint32_t) b->family);
        nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, b->table);
        nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
        if (type == NFT_MSG_NEWCHAIN) {
                nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
                nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, QUEUE_CHAIN_PRIORITY);
                nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
                nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
        }
        nlh = msg_begin(b, type, type == NFT_MSG_NEWCHAIN ? NLM_F_CREATE : 0, name);
        if (nlh) {
                nftnl_chain_nlmsg_build_payload(nlh, c);
                msg_end(b, nlh);
        }
        nftnl_chain_free(c);
        return nlh ? 0 : -ENOMEM;
}

static struct nftnl_expr *expr_load(const char *kind, uint32_t key_attr, uint32_t key, uint32_t dreg_attr) {
        struct nftnl_expr *e = nftnl_expr_alloc(kind);

        if (e) {
                nftnl_expr_set_u32(e, key_attr, key);
                nftnl_expr_set_u32(e, dreg_attr, NFT_REG_1);
        }
        return e;
}

static struct nftnl_expr *expr_eq(const void *data, uint32_t len) {
        struct nftnl_expr *e = nftnl_expr_alloc("cmp");

        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
                nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
                nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
        }
        return e;
}

static struct nftnl_expr *expr_payload_load(uint32_t base, uint32_t offset, uint32_t len) {
        struct nftnl_expr *e = expr_load("payload", NFTNL_EXPR_PAYLOAD_BASE, base, NFTNL_EXPR_PAYLOAD_DREG);

        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
                nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
        }
        return e;
}

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
                info[0] = queue;              /* queuenum, host order as xtables keeps it */
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

/* One rule: [meta nfproto F] [ip(6) saddr S] meta l4proto udp udp sport 53 ct direction reply
 * queue num N bypass. */
static int add_rule(struct queue_batch *b, const char *chain, enum nft_queue_kind kind, uint16_t queue,
                    const struct ip_addr *server) {
        struct nftnl_rule *r = nftnl_rule_alloc();
        struct nlmsghdr *nlh;
        uint8_t udp = IPPROTO_UDP, reply = IP_CT_DIR_REPLY_VALUE;
        uint16_t port = htons(53);
        struct nftnl_expr *e[8] = { NULL };
        size_t n = 0;

        if (!r)
                return -ENOMEM;
        nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, (uint32_t) b->family);
        nftnl_rule_set_str(r, NFTNL_RULE_TABLE, b->table);
        nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
        if (server) {
                uint8_t nfproto = server->family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;
                if (b->family == NFPROTO_INET) {
                        e[n++] = expr_load("meta", NFTNL_EXPR_META_KEY, NFT_META_NFPROTO, NFTNL_EXPR_META_DREG);
                        e[n++] = expr_eq(&nfproto, 1);
                }
                e[n++] = expr_payload_load(NFT_PAYLOAD_NETWORK_HEADER, server->family == AF_INET ? 12 : 8,
                                           server->family == AF_INET ? 4 : 16);
                e[n++] = expr_eq(server->u.bytes, server->family == AF_INET ? 4 : 16);
        }
        e[n++] = expr_load("meta", NFTNL_EXPR_META_KEY, NFT_META_L4PROTO, NFTNL_EXPR_META_DREG);
        e[n++] = expr_eq(&udp, 1);
        e[n++] = expr_payload_load(NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2);
        e[n++] = expr_eq(&port, 2);
        for (size_t i = 0; i < n; i++)
                if (!e[i])
                        goto oom;
        for (size_t i = 0; i < n; i++) {
                nftnl_rule_add_expr(r, e[i]);
                e[i] = NULL;
        }
        n = 0;
        e[n++] = expr_load("ct", NFTNL_EXPR_CT_KEY, NFT_CT_DIRECTION, NFTNL_EXPR_CT_DREG);
        e[n++] = expr_eq(&reply, 1);
        e[n++] = expr_queue(kind, queue);
        for (size_t i = 0; i < n; i++)
                if (!e[i])
                        goto oom;
        for (size_t i = 0; i < n; i++) {
                nftnl_rule_add_expr(r, e[i]);
                e[i] = NULL;
        }

        nlh = msg_begin(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, chain);
        if (nlh) {
                nftnl_rule_nlmsg_build_payload(nlh, r);
                msg_end(b, nlh);
        }
        nftnl_rule_free(r);
        return nlh ? 0 : -ENOMEM;
oom:
        for (size_t i = 0; i < ELEMENTSOF(e); i++)
                if (e[i])
                        nftnl_expr_free(e[i]);
        nftnl_rule_free(r);
        return -ENOMEM;
}

/* A flush of one chain's rules: DELRULE naming only the chain. */
static int flush_chain(struct queue_batch *b, const char *chain) {
        struct nftnl_rule *r = nftnl_rule_alloc();
        struct nlmsghdr *nlh;

        if (!r)
                return -ENOMEM;
        nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, (uint32_t) b->family);
        nftnl_rule_set_str(r, NFTNL_RULE_TABLE, b->table);
        nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
        nlh = msg_begin(b, NFT_MSG_DELRULE, 0, chain);
        if (nlh) {
                nftnl_rule_nlmsg_build_payload(nlh, r);
                msg_end(b, nlh);
        }
        nftnl_rule_free(r);
        return nlh ? 0 : -ENOMEM;
}

static void error_fill(struct nft_error *err, const struct queue_batch *b, const char *object, const char *hint) {
        const char *fam = b->family == NFPROTO_IPV4 ? "ip" : b->family == NFPROTO_IPV6 ? "ip6" : "inet";

        if (!err)
                return;
        if (object)
                snprintf(err->object, sizeof(err->object), "chain %s %s %s", fam, b->table, object);
        else
                snprintf(err->object, sizeof(err->object), "table %s %s", fam, b->table);
        snprintf(err->hint, sizeof(err->hint), "%s", hint ? hint : "");
}

/* Sends the batch and reads one acknowledgement per message; the first error wins, named by the
 * object of its message. ignore_enoent: deleting what is not there is fine. */
static int batch_commit(struct queue_batch *b, bool ignore_enoent, struct nft_error *err) {
        struct mnl_socket *nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
        size_t expected = b->seq - b->seq_first - 2, acked = 0;
        struct timeval tv = { .tv_sec = QUEUE_ACK_TIMEOUT_SEC };
        _cleanup_free_ char *rbuf = NULL;
        int error = 0;

        if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
                int r = -errno;
                if (nl)
                        mnl_socket_close(nl);
                error_fill(err, b, NULL, r == -EPERM ? "needs CAP_NET_ADMIN" : "opening a netlink socket");
                return r;
        }
        (void) setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        rbuf = malloc(MNL_SOCKET_BUFFER_SIZE);
        if (!rbuf || mnl_socket_sendto(nl, b->buf, b->size) < 0) {
                int r = rbuf ? -errno : -ENOMEM;
                mnl_socket_close(nl);
                error_fill(err, b, NULL, "sending the batch");
                return r;
        }
        while (acked < expected) {
                ssize_t k = mnl_socket_recvfrom(nl, rbuf, MNL_SOCKET_BUFFER_SIZE);
                int len;

                if (k < 0) {
                        int r = errno == EAGAIN ? -ETIMEDOUT : -errno;
                        mnl_socket_close(nl);
                        error_fill(err, b, NULL, "waiting for the kernel's replies");
                        return r;
                }
                len = (int) k;
                for (struct nlmsghdr *nlh = (struct nlmsghdr *) rbuf; mnl_nlmsg_ok(nlh, len);
                     nlh = mnl_nlmsg_next(nlh, &len)) {
                        const struct nlmsgerr *e;
                        size_t i;

                        if (nlh->nlmsg_type != NLMSG_ERROR || mnl_nlmsg_get_payload_len(nlh) < sizeof(*e))
                                continue;
                        e = mnl_nlmsg_get_payload(nlh);
                        if (nlh->nlmsg_seq <= b->seq_first || nlh->nlmsg_seq >= b->seq - 1)
                                continue;
                        i = nlh->nlmsg_seq - b->seq_first - 1;
                        acked++;
                        if (e->error != 0 && !(ignore_enoent && e->error == -ENOENT) && error == 0) {
                                error = e->error < 0 ? e->error : -e->error;
                                error_fill(err, b, b->objects[i], NULL);
                        }
                }
        }
        mnl_socket_close(nl);
        return error;
}

static int batch_start(struct queue_batch *b, int family, const char *table) {
        *b = (struct queue_batch) {
                .buf = malloc(QUEUE_BATCH_SIZE),
                .family = family,
                .table = table,
                /* Distinct from one run to the next, and from the daemon's other socket. */
                .seq_first = (uint32_t) time(NULL),
        };
        if (!b->buf)
                return -ENOMEM;
        b->seq = b->seq_first;
        nftnl_batch_begin(b->buf, b->seq++);
        b->size = NLMSG_ALIGN(((struct nlmsghdr *) b->buf)->nlmsg_len);
        return 0;
}

static void batch_finish(struct queue_batch *b) {
        struct nlmsghdr *nlh = nftnl_batch_end(b->buf + b->size, b->seq++);
        b->size += NLMSG_ALIGN(nlh->nlmsg_len);
}

static int install(const struct nft_queue_spec *spec, enum nft_queue_kind kind, struct nft_error *err) {
        static const struct { const char *name; uint32_t hook; } chains[] = {
                { NFT_QUEUE_CHAIN_FORWARD, NF_INET_FORWARD },
                { NFT_QUEUE_CHAIN_OUTPUT, NF_INET_LOCAL_OUT },
        };
        struct queue_batch b;
        int r;

        r = batch_start(&b, spec->family, spec->table);
        if (r < 0)
                return r;
        r = add_table(&b);
        for (size_t i = 0; i < ELEMENTSOF(chains) && r >= 0; i++) {
                r = add_chain(&b, chains[i].name, chains[i].hook, NFT_MSG_NEWCHAIN);
                if (r >= 0)
                        r = flush_chain(&b, chains[i].name);
                if (spec->n_servers == 0 && r >= 0)
                        r = add_rule(&b, chains[i].name, kind, spec->queue, NULL);
                for (size_t j = 0; j < spec->n_servers && r >= 0; j++)
                        r = add_rule(&b, chains[i].name, kind, spec->queue, &spec->servers[j]);
        }
        if (r >= 0) {
                batch_finish(&b);
                r = batch_commit(&b, false, err);
        }
        free(b.buf);
        return r;
}

int nft_queue_install(const struct nft_queue_spec *spec, enum nft_queue_kind *ret_kind, struct nft_error *err) {
        int r;

        if (err)
                memset(err, 0, sizeof(*err));
        /* Beyond the batch's room (objects[]): the configuration allows at most 32. */
        if (spec->n_servers > 32)
                return -E2BIG;
        r = install(spec, NFT_QUEUE_EXPRESSION, err);
        if (r == -ENOENT || r == -EOPNOTSUPP) {
                if (err)
                        memset(err, 0, sizeof(*err));
                r = install(spec, NFT_QUEUE_XT_TARGET, err);
                if (r >= 0)
                        *ret_kind = NFT_QUEUE_XT_TARGET;
                return r;
        }
        if (r >= 0)
                *ret_kind = NFT_QUEUE_EXPRESSION;
        return r;
}

int nft_queue_remove(int family, const char *table, struct nft_error *err) {
        static const char *const chains[] = { NFT_QUEUE_CHAIN_FORWARD, NFT_QUEUE_CHAIN_OUTPUT };
        int r = 0;

        if (err)
                memset(err, 0, sizeof(*err));
        /* One transaction each: a missing one (ENOENT) would abort a shared batch. */
        for (size_t i = 0; i < ELEMENTSOF(chains) && r >= 0; i++) {
                struct queue_batch b;

                r = batch_start(&b, family, table);
                if (r < 0)
                        return r;
                r = add_chain(&b, chains[i], 0, NFT_MSG_DELCHAIN);
                if (r >= 0) {
                        batch_finish(&b);
                        r = batch_commit(&b, true, err);
                }
                free(b.buf);
        }
        return r;
}
