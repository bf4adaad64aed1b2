/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The daemon's nftables objects, written through libnftnl + libmnl: one batch per apply, every
 * message its own sequence number, every reply matched back to the object it was about
 * (the pattern of nftables src/mnl.c). */
#include <arpa/inet.h>
#include <endian.h>
#include <limits.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <poll.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "nft-internal.h"

/* Every message but an element list is far below this; element lists are cut to fit. */
#define NFT_MSG_ROOM (8U * 1024U)
/* An element list is one netlink attribute, whose length is 16 bits: start a new message
 * before the nest could overflow (nftables' mnl_nft_attr_nest_overflow()). */
#define NFT_ELEMENTS_NEST_MAX (UINT16_MAX - 512U)
#define NFT_ELEMENT_MAX_SIZE 128U
#define NFT_RECV_BUFFER (32U * 1024U)
#define NFT_REQUEST_BUFFER 8192 /* one GET request */
/* Replies are queued while the kernel processes the batch inside our sendmsg(); this bounds the
 * wait for any that are not there yet. */
#define NFT_ACK_TIMEOUT_MSEC 5000
/* Bounds the datagrams thrown away before an exchange (each at least one ACK). */
#define NFT_DRAIN_MAX 65536U

#define NFT_TYPE_IPV4_ADDR 7
#define NFT_TYPE_IPV6_ADDR 8
#define NFT_TYPE_INET_SERVICE 13
#define NFT_BYTEORDER_BIG_ENDIAN 2 /* nft's enum byteorder, kept in set userdata */

enum nft_op {
        NFT_OP_BEGIN,
        NFT_OP_END,
        NFT_OP_NEW_TABLE,
        NFT_OP_DEL_TABLE,
        NFT_OP_NEW_CHAIN,
        NFT_OP_DEL_CHAIN,
        NFT_OP_FLUSH_CHAIN,
        NFT_OP_NEW_RULE,
        NFT_OP_NEW_SET,
        NFT_OP_DEL_SET,
        NFT_OP_FLUSH_SET,
        NFT_OP_ADD_ELEMENTS,
        NFT_OP_NEW_PORT_SET,
};

static const char *nft_op_to_string(enum nft_op op) {
        switch (op) {
        case NFT_OP_BEGIN:
        case NFT_OP_END:
                return "starting the transaction";
        case NFT_OP_NEW_TABLE:
                return "creating the table";
        case NFT_OP_DEL_TABLE:
                return "deleting the table";
        case NFT_OP_NEW_CHAIN:
                return "creating the chain";
        case NFT_OP_DEL_CHAIN:
                return "deleting the chain";
        case NFT_OP_FLUSH_CHAIN:
                return "flushing the chain";
        case NFT_OP_NEW_RULE:
                return "adding a rule";
        case NFT_OP_NEW_SET:
                return "creating the set";
        case NFT_OP_DEL_SET:
                return "deleting the set";
        case NFT_OP_FLUSH_SET:
                return "flushing the set";
        case NFT_OP_ADD_ELEMENTS:
                return "adding elements";
        case NFT_OP_NEW_PORT_SET:
                return "adding the port set of a rule";
        }
        return "?";
}

/* What one message of the batch was about, so its reply can name the object. */
struct nft_msg {
        enum nft_op op;
        bool acked;
        char name[NFT_SET_NAME_MAX + 1]; /* set name, or the group of a rule; empty for others */
};

struct nft_batch {
        struct nft *n;
        int family;
        const char *table, *chain;
        size_t size;
        uint32_t seq_first;
        uint32_t next_set_id;
        struct nft_msg *msgs;
        size_t n_msgs, allocated_msgs;
};

/* Frees what the batch holds and leaves it empty, so that a second call (a cleanup path
 * after an early one) is harmless. */
static void nft_batch_done(struct nft_batch *b) {
        free(b->msgs);
        b->msgs = NULL;
        b->n_msgs = b->allocated_msgs = 0;
}

static void error_set(struct nft_error *err, const struct nft_batch *b, const struct nft_msg *m, int error,
                      const char *detail) {
        const char *fam = nft_family_to_string(b->family);
        const char *hint = NULL;
        int e = abs(error);

        if (!err)
                return;
        switch (m->op) {
        case NFT_OP_BEGIN:
        case NFT_OP_END:
        case NFT_OP_NEW_TABLE:
        case NFT_OP_DEL_TABLE:
                snprintf(err->object, sizeof(err->object), "table %s %s", fam, b->table);
                break;
        case NFT_OP_NEW_CHAIN:
        case NFT_OP_DEL_CHAIN:
        case NFT_OP_FLUSH_CHAIN:
        case NFT_OP_NEW_RULE:
        case NFT_OP_NEW_PORT_SET:
                snprintf(err->object, sizeof(err->object), "chain %s %s %s", fam, b->table, b->chain);
                break;
        case NFT_OP_NEW_SET:
        case NFT_OP_DEL_SET:
        case NFT_OP_FLUSH_SET:
        case NFT_OP_ADD_ELEMENTS:
                snprintf(err->object, sizeof(err->object), "set %s %s %s", fam, b->table, m->name);
                break;
        }

        if (e == EPERM || e == EACCES)
                hint = "needs CAP_NET_ADMIN";
        else if (e == EAFNOSUPPORT || e == EPROTONOSUPPORT ||
                 ((m->op == NFT_OP_BEGIN || m->op == NFT_OP_NEW_TABLE) && (e == ENOENT || e == EOPNOTSUPP)))
                hint = "nf_tables is not available in this kernel";
        else if (m->op == NFT_OP_NEW_SET && e == EEXIST)
                hint = "exists with another type or other flags";
        else if (m->op == NFT_OP_DEL_SET && e == EBUSY)
                hint = "still used by a rule outside the daemon's chain";
        else if (m->op == NFT_OP_ADD_ELEMENTS && e == ENFILE)
                hint = "the set is full (declared with a size limit?)";

        if (m->op == NFT_OP_NEW_RULE || m->op == NFT_OP_NEW_PORT_SET)
                snprintf(err->hint, sizeof(err->hint), "%s%s%s for group %s%s%s", hint ? hint : "", hint ? ", " : "",
                         nft_op_to_string(m->op), m->name, detail ? ": " : "", detail ? detail : "");
        else if (hint)
                snprintf(err->hint, sizeof(err->hint), "%s%s%s", hint, detail ? ": " : "", detail ? detail : "");
        else
                snprintf(err->hint, sizeof(err->hint), "%s%s%s", nft_op_to_string(m->op), detail ? ": " : "",
                         detail ? detail : "");
}

/* Makes room for one more message of at most NFT_MSG_ROOM + an element list, and records what it is
 * about; returns where its header goes. */
static char *batch_reserve(struct nft_batch *b, enum nft_op op, const char *name) {
        struct nft *n = b->n;
        size_t need = b->size + NFT_MSG_ROOM + UINT16_MAX;
        int r;

        if (need > n->batch_allocated) {
                size_t a = MAX(need, n->batch_allocated * 2);
                char *p = realloc(n->batch, a);
                if (!p)
                        return NULL;
                n->batch = p;
                n->batch_allocated = a;
        }
        r = grow_array((void **) &b->msgs, &b->allocated_msgs, b->n_msgs + 1, sizeof(*b->msgs));
        if (r < 0)
                return NULL;
        b->msgs[b->n_msgs] = (struct nft_msg) { .op = op };
        snprintf(b->msgs[b->n_msgs].name, sizeof(b->msgs[b->n_msgs].name), "%s", name ? name : "");
        b->n_msgs++;
        return n->batch + b->size;
}

static uint32_t batch_seq(const struct nft_batch *b) {
        return b->seq_first + (uint32_t) (b->n_msgs - 1);
}

static struct nlmsghdr *batch_begin_msg(struct nft_batch *b, uint16_t type, uint16_t flags, enum nft_op op,
                                        const char *name) {
        char *p = batch_reserve(b, op, name);

        if (!p)
                return NULL;
        return nftnl_nlmsg_build_hdr(p, type, (uint16_t) b->family, flags | NLM_F_ACK, batch_seq(b));
}

static void batch_end_msg(struct nft_batch *b, struct nlmsghdr *nlh) {
        b->size += NLMSG_ALIGN(nlh->nlmsg_len);
}

static int batch_init(struct nft_batch *b, struct nft *n, int family, const char *table, const char *chain) {
        char *p;

        *b = (struct nft_batch) {
                .n = n,
                .family = family,
                .table = table,
                .chain = chain ? chain : "",
                .seq_first = n->seq,
                .next_set_id = 1,
        };
        p = batch_reserve(b, NFT_OP_BEGIN, NULL);
        if (!p)
                return -ENOMEM;
        batch_end_msg(b, nftnl_batch_begin(p, batch_seq(b)));
        return 0;
}

static int batch_finish(struct nft_batch *b) {
        char *p = batch_reserve(b, NFT_OP_END, NULL);

        if (!p)
                return -ENOMEM;
        batch_end_msg(b, nftnl_batch_end(p, batch_seq(b)));
        /* Sequence numbers of a batch are never reused by the next one, so a late reply of an
         * old batch cannot be taken for a new one. */
        b->n->seq += (uint32_t) b->n_msgs;
        return 0;
}

static int batch_table(struct nft_batch *b, enum nft_op op) {
        struct nftnl_table *t = nftnl_table_alloc();
        struct nlmsghdr *nlh;

        if (!t)
                return -ENOMEM;
        nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, (uint32_t) b->family);
        nftnl_table_set_str(t, NFTNL_TABLE_NAME, b->table);
        nlh = batch_begin_msg(b, op == NFT_OP_NEW_TABLE ? NFT_MSG_NEWTABLE : NFT_MSG_DELTABLE,
                              op == NFT_OP_NEW_TABLE ? NLM_F_CREATE : 0, op, NULL);
        if (nlh) {
                nftnl_table_nlmsg_build_payload(nlh, t);
                batch_end_msg(b, nlh);
        }
        nftnl_table_free(t);
        return nlh ? 0 : -ENOMEM;
}

/* NEWCHAIN (create if missing), DELCHAIN, or a flush (DELRULE naming only the chain). */
static int batch_chain(struct nft_batch *b, enum nft_op op) {
        struct nlmsghdr *nlh = NULL;

        if (op == NFT_OP_FLUSH_CHAIN) {
                struct nftnl_rule *r = nftnl_rule_alloc();
                if (!r)
                        return -ENOMEM;
                nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, (uint32_t) b->family);
                nftnl_rule_set_str(r, NFTNL_RULE_TABLE, b->table);
                nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, b->chain);
                nlh = batch_begin_msg(b, NFT_MSG_DELRULE, 0, op, NULL);
                if (nlh) {
                        nftnl_rule_nlmsg_build_payload(nlh, r);
                        batch_end_msg(b, nlh);
                }
                nftnl_rule_free(r);
        } else {
                struct nftnl_chain *c = nftnl_chain_alloc();
                if (!c)
                        return -ENOMEM;
                nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, (uint32_t) b->family);
                nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, b->table);
                nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, b->chain);
                nlh = batch_begin_msg(b, op == NFT_OP_NEW_CHAIN ? NFT_MSG_NEWCHAIN : NFT_MSG_DELCHAIN,
                                      op == NFT_OP_NEW_CHAIN ? NLM_F_CREATE : 0, op, NULL);
                if (nlh) {
                        nftnl_chain_nlmsg_build_payload(nlh, c);
                        batch_end_msg(b, nlh);
                }
                nftnl_chain_free(c);
        }
        return nlh ? 0 : -ENOMEM;
}

/* NEWSET for a named set of ours (create if missing) or for an anonymous constant port set
 * (set_id != 0; comment is then the group the rule is for, named in errors), or DELSET, or a
 * flush (DELSETELEM without elements). */
static int batch_set(struct nft_batch *b, enum nft_op op, const char *name, int af, bool interval,
                     const char *comment, uint32_t set_id, uint32_t n_ports) {
        struct nftnl_udata_buf *ud = NULL;
        struct nftnl_set *s = nftnl_set_alloc();
        struct nlmsghdr *nlh = NULL;
        uint16_t type;
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

        nlh = batch_begin_msg(b, type, type == NFT_MSG_NEWSET ? NLM_F_CREATE : 0, op,
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
        batch_end_msg(b, nlh);
        r = 0;
finish:
        if (ud)
                nftnl_udata_buf_free(ud);
        nftnl_set_free(s);
        return r;
}

/* Writes NEWSETELEM messages, starting a new one whenever the element list attribute would
 * overflow its 16-bit length. */
struct elem_writer {
        struct nft_batch *b;
        const char *set;
        const char *msg_name;
        uint32_t set_id;
        struct nlmsghdr *nlh;
        struct nlattr *list;
};

static int elem_writer_flush(struct elem_writer *w) {
        if (!w->nlh)
                return 0;
        mnl_attr_nest_end(w->nlh, w->list);
        batch_end_msg(w->b, w->nlh);
        w->nlh = NULL;
        return 0;
}

static int elem_writer_put(struct elem_writer *w, const void *key, size_t len, bool end, uint64_t timeout_ms) {
        struct nlattr *e, *k;

        if (w->nlh && (size_t) ((char *) mnl_nlmsg_get_payload_tail(w->nlh) - (char *) w->list) >
                              NFT_ELEMENTS_NEST_MAX - NFT_ELEMENT_MAX_SIZE)
                elem_writer_flush(w);
        if (!w->nlh) {
                w->nlh = batch_begin_msg(w->b, NFT_MSG_NEWSETELEM, NLM_F_CREATE, NFT_OP_ADD_ELEMENTS, w->msg_name);
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

static int batch_elements(struct nft_batch *b, const char *set, int af, bool interval,
                          const struct nft_element *elements, size_t n_elements, usec_t now) {
        struct elem_writer w = { .b = b, .set = set, .msg_name = set };
        size_t len = af == AF_INET ? 4 : 16;
        struct nft_element_iter it;
        const struct nft_element *e;
        uint8_t first[16], next[16];
        bool to_top;
        int r;

        nft_element_iter_init(&it, elements, n_elements, af, interval);
        while ((e = nft_element_iter_next(&it, first, next, &to_top))) {
                r = elem_writer_put(&w, first, len, false, nft_timeout_sec(e->expiry, now) * 1000);
                if (r < 0)
                        return r;
                /* An interval is its start plus an end element one past its last address; a
                 * range reaching the top of the address space has no end element (as in nft). */
                if (interval && !to_top) {
                        r = elem_writer_put(&w, next, len, true, 0);
                        if (r < 0)
                                return r;
                }
        }
        return elem_writer_flush(&w);
}

static int rule_add(struct nftnl_rule *r, struct nftnl_expr *e) {
        if (!e)
                return -ENOMEM;
        nftnl_rule_add_expr(r, e);
        return 0;
}

static struct nftnl_expr *expr_meta(uint32_t key) {
        struct nftnl_expr *e = nftnl_expr_alloc("meta");

        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
                nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
        }
        return e;
}

static struct nftnl_expr *expr_cmp(uint32_t op, const void *data, uint32_t len) {
        struct nftnl_expr *e = nftnl_expr_alloc("cmp");

        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
                nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
                nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
        }
        return e;
}

static struct nftnl_expr *expr_payload(uint32_t base, uint32_t offset, uint32_t len) {
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
        struct nftnl_expr *e = nftnl_expr_alloc("immediate");

        if (e) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
                nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_ACCEPT);
        }
        return e;
}

/* An anonymous constant set of ports for `tcp dport { 80, 1970-1980 }`, with its elements;
 * returns its id for the rule's lookup. */
static int batch_port_set(struct nft_batch *b, const char *group, const struct port_range *ports, size_t n,
                          uint32_t *ret_id) {
        struct elem_writer w = { .b = b, .set = "__set%d", .msg_name = group };
        bool interval = false;
        uint32_t id = b->next_set_id++;
        int r;

        for (size_t i = 0; i < n; i++)
                interval = interval || ports[i].first != ports[i].last;
        r = batch_set(b, NFT_OP_NEW_PORT_SET, "__set%d", AF_UNSPEC, interval, group, id, (uint32_t) n);
        if (r < 0)
                return r;
        w.set_id = id;
        /* The element nft sends first for an interval set that does not start at 0. */
        if (interval && ports[0].first != 0) {
                uint16_t zero = 0;
                r = elem_writer_put(&w, &zero, sizeof(zero), true, 0);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n; i++) {
                uint16_t first = htons(ports[i].first), next = htons((uint16_t) (ports[i].last + 1));
                r = elem_writer_put(&w, &first, sizeof(first), false, 0);
                if (r >= 0 && interval && ports[i].last != UINT16_MAX)
                        r = elem_writer_put(&w, &next, sizeof(next), true, 0);
                if (r < 0)
                        return r;
        }
        elem_writer_flush(&w);
        *ret_id = id;
        return 0;
}

/* `[meta nfproto ipv4] ip daddr @NAME_v4 [meta l4proto tcp] tcp dport PORTS counter accept
 * comment "NAME"`, expression by expression as nft 1.0.6 generates it. */
static int batch_rule(struct nft_batch *b, const struct nft_group *g, int af, uint8_t proto) {
        _cleanup_free_ struct port_range *ports = NULL;
        struct nftnl_udata_buf *ud = NULL;
        char set[NFT_SET_NAME_MAX + 1];
        struct nftnl_rule *rule = NULL;
        struct nlmsghdr *nlh;
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
                if (rule_add(rule, expr_meta(NFT_META_NFPROTO)) < 0 ||
                    rule_add(rule, expr_cmp(NFT_CMP_EQ, &nfproto, sizeof(nfproto))) < 0)
                        goto finish;
        }
        if (rule_add(rule, af == AF_INET ? expr_payload(NFT_PAYLOAD_NETWORK_HEADER, 16, 4) :
                                           expr_payload(NFT_PAYLOAD_NETWORK_HEADER, 24, 16)) < 0 ||
            rule_add(rule, expr_lookup(set, 0)) < 0 ||
            rule_add(rule, expr_meta(NFT_META_L4PROTO)) < 0 ||
            rule_add(rule, expr_cmp(NFT_CMP_EQ, &proto, sizeof(proto))) < 0 ||
            rule_add(rule, expr_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2)) < 0)
                goto finish;
        if (set_id) {
                if (rule_add(rule, expr_lookup("__set%d", set_id)) < 0)
                        goto finish;
        } else if (ports[0].first == ports[0].last) {
                uint16_t port = htons(ports[0].first);
                if (rule_add(rule, expr_cmp(NFT_CMP_EQ, &port, sizeof(port))) < 0)
                        goto finish;
        } else {
                uint16_t first = htons(ports[0].first), last = htons(ports[0].last);
                if (rule_add(rule, expr_cmp(NFT_CMP_GTE, &first, sizeof(first))) < 0 ||
                    rule_add(rule, expr_cmp(NFT_CMP_LTE, &last, sizeof(last))) < 0)
                        goto finish;
        }
        if (rule_add(rule, expr_counter()) < 0 || rule_add(rule, expr_accept()) < 0)
                goto finish;
        if (!nftnl_udata_put_strz(ud, NFTNL_UDATA_RULE_COMMENT, g->name))
                goto finish;
        nftnl_rule_set_data(rule, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud), (uint32_t) nftnl_udata_buf_len(ud));

        nlh = batch_begin_msg(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, NFT_OP_NEW_RULE, g->name);
        if (!nlh)
                goto finish;
        nftnl_rule_nlmsg_build_payload(nlh, rule);
        batch_end_msg(b, nlh);
        r = 0;
finish:
        if (ud)
                nftnl_udata_buf_free(ud);
        if (rule)
                nftnl_rule_free(rule);
        return r;
}

static int socket_buffer(struct nft *n, int opt, int force_opt, int *current, size_t want) {
        int fd = mnl_socket_get_fd(n->nl);
        int v = (int) MIN(want, (size_t) INT_MAX / 2);

        if (v <= *current)
                return 0;
        /* The kernel doubles the value; sendmsg() refuses a batch larger than the send buffer
         * (EMSGSIZE near 7,500 IPv4 elements with the default). FORCE passes rmem/wmem_max
         * and needs CAP_NET_ADMIN, which every nftables change needs anyway. */
        if (setsockopt(fd, SOL_SOCKET, force_opt, &v, sizeof(v)) < 0 &&
            setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v)) < 0)
                return -errno;
        *current = v;
        return 0;
}

/* The extended ack message, if the kernel gave one. */
static const char *ack_message(const struct nlmsghdr *nlh) {
        const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
        size_t off = sizeof(*e);
        const struct nlattr *attr;

        if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
                return NULL;
        if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
                off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
        if (off > mnl_nlmsg_get_payload_len(nlh))
                return NULL;
        mnl_attr_for_each_payload((const void *) ((const char *) e + off), mnl_nlmsg_get_payload_len(nlh) - off) {
                if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
                    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
                        return mnl_attr_get_str(attr);
        }
        return NULL;
}

/* Replies left over from an earlier exchange (the rest of the ACKs after ENOBUFS, after a
 * timeout, or after a refused batch whose first reply said it all) would otherwise be read as
 * the answers to the next one, and that one's answers as the next one's, for ever: drop them.
 * Sequence numbers are never reused, so one arriving later still is skipped by its number. */
static void nft_drain(struct nft *n, char *buf) {
        int fd = mnl_socket_get_fd(n->nl);

        for (unsigned i = 0; i < NFT_DRAIN_MAX; i++)
                if (recv(fd, buf, NFT_RECV_BUFFER, MSG_DONTWAIT) < 0 && errno != EINTR && errno != ENOBUFS)
                        return;
}

/* One datagram of replies, waiting at most NFT_ACK_TIMEOUT_MSEC; returns its length or a
 * negative errno. */
static ssize_t nft_recv(struct nft *n, char *buf) {
        int fd = mnl_socket_get_fd(n->nl);

        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                ssize_t k = recv(fd, buf, NFT_RECV_BUFFER, MSG_DONTWAIT);
                int r;

                if (k >= 0)
                        return k;
                if (errno == EINTR)
                        continue;
                if (errno != EAGAIN)
                        return -errno;
                r = poll(&p, 1, NFT_ACK_TIMEOUT_MSEC);
                if (r == 0)
                        return -ETIMEDOUT;
                if (r < 0 && errno != EINTR)
                        return -errno;
        }
}

/* Sends the whole batch with one sendmsg() and reads replies until every message is
 * accounted for: a failed batch still ACKs the messages before (and after) the failing one,
 * and the first error in batch order is the one reported. */
static int batch_send(struct nft_batch *b, struct nft_error *err) {
        struct nft *n = b->n;
        size_t expected = b->n_msgs - 2, acked = 0; /* BEGIN and END are not ACKed */
        size_t failed = SIZE_MAX;
        int error = 0, r;
        char detail[160] = "";
        _cleanup_free_ char *buf = NULL;

        r = socket_buffer(n, SO_SNDBUF, SO_SNDBUFFORCE, &n->sndbuf, b->size + 64 * 1024);
        if (r >= 0)
                r = socket_buffer(n, SO_RCVBUF, SO_RCVBUFFORCE, &n->rcvbuf, MAX(b->n_msgs * 1024, (size_t) 256 * 1024));
        if (r < 0) {
                error_set(err, b, &b->msgs[0], r, "cannot size the socket buffers");
                return r;
        }
        buf = malloc(NFT_RECV_BUFFER);
        if (!buf)
                return -ENOMEM;
        nft_drain(n, buf);

        if (mnl_socket_sendto(n->nl, n->batch, b->size) < 0) {
                r = -errno;
                error_set(err, b, &b->msgs[0], r, "sending the batch");
                return r;
        }

        while (acked < expected) {
                ssize_t k = nft_recv(n, buf);
                int len;

                if (k < 0) {
                        /* ENOBUFS: replies were lost, so whether the batch was committed is
                         * unknown; the caller forgets what it believed about the kernel, and
                         * the next exchange drops the replies still queued. */
                        r = (int) k;
                        error_set(err, b, &b->msgs[0], r,
                                  r == -ETIMEDOUT ? "waiting for the kernel's replies" : "reading the kernel's replies");
                        if (err)
                                err->unknown = true;
                        return r;
                }
                /* libmnl walks with an int length (never a pointer into the ssize_t: on a
                 * big-endian 64-bit machine that is its high word); nft_recv() returns at most
                 * NFT_RECV_BUFFER, so this only guards the conversion. */
                if (k > INT_MAX)
                        return -EMSGSIZE;
                len = (int) k;
                for (struct nlmsghdr *nlh = (struct nlmsghdr *) buf; mnl_nlmsg_ok(nlh, len);
                     nlh = mnl_nlmsg_next(nlh, &len)) {
                        const struct nlmsgerr *e;
                        size_t i;

                        if (nlh->nlmsg_type != NLMSG_ERROR ||
                            mnl_nlmsg_get_payload_len(nlh) < sizeof(struct nlmsgerr))
                                continue;
                        e = mnl_nlmsg_get_payload(nlh);
                        i = (size_t) (nlh->nlmsg_seq - b->seq_first);
                        if (i >= b->n_msgs || b->msgs[i].acked)
                                continue; /* not ours, or a late reply to an older batch */
                        b->msgs[i].acked = true;
                        acked++;
                        if (e->error != 0 && i < failed) {
                                const char *m = ack_message(nlh);
                                failed = i;
                                error = e->error < 0 ? e->error : -e->error;
                                snprintf(detail, sizeof(detail), "%s", m ? m : "");
                        }
                        /* An error for BEGIN (no permission, no nf_tables) means the kernel
                         * refused the whole batch and there will be nothing else. */
                        if (e->error != 0 && i == 0)
                                acked = expected;
                }
        }

        if (error < 0) {
                error_set(err, b, &b->msgs[failed], error, detail[0] ? detail : NULL);
                return error;
        }
        return 0;
}

/* Sends one request (not a batch) and feeds every reply to cb until the kernel says done.
 * Replies with another sequence number are late answers to something older: skipped, never
 * an error (mnl_cb_run() alone would fail with EPROTO, and leave this request's own reply
 * queued for the next one to trip over). */
static int nft_request(struct nft *n, struct nlmsghdr *nlh, mnl_cb_t cb, void *data) {
        _cleanup_free_ char *buf = malloc(NFT_RECV_BUFFER);
        uint32_t seq = nlh->nlmsg_seq;
        int r;

        if (!buf)
                return -ENOMEM;
        nft_drain(n, buf);
        if (mnl_socket_sendto(n->nl, nlh, nlh->nlmsg_len) < 0)
                return -errno;
        for (;;) {
                ssize_t k = nft_recv(n, buf);
                int len;

                if (k < 0)
                        return (int) k;
                len = (int) k;
                for (const struct nlmsghdr *m = (const struct nlmsghdr *) buf; mnl_nlmsg_ok(m, len);
                     m = mnl_nlmsg_next(m, &len)) {
                        if (m->nlmsg_seq != seq)
                                continue;
                        errno = 0;
                        r = mnl_cb_run(m, m->nlmsg_len, seq, n->portid, cb, data);
                        if (r < 0)
                                return errno > 0 ? -errno : -EPROTO;
                        if (r == MNL_CB_STOP)
                                return 0;
                }
        }
}

struct gen_reply {
        uint32_t id;
        bool found;
};

static int gen_cb(const struct nlmsghdr *nlh, void *data) {
        struct gen_reply *g = data;
        const struct nlattr *a;

        mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
                if (mnl_attr_get_type(a) == NFTA_GEN_ID && mnl_attr_validate(a, MNL_TYPE_U32) >= 0) {
                        g->id = ntohl(mnl_attr_get_u32(a));
                        g->found = true;
                }
        }
        return MNL_CB_OK;
}

int nft_get_generation(struct nft *n, uint32_t *ret) {
        char buf[NFT_REQUEST_BUFFER];
        struct gen_reply g = { .found = false };
        struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK, n->seq++);
        int r;

        r = nft_request(n, nlh, gen_cb, &g);
        if (r < 0)
                return r;
        if (!g.found)
                return -EPROTO;
        *ret = g.id;
        return 0;
}

/* A set as the kernel has it, from the GETSET dump of the table. */
struct kernel_set {
        char name[NFT_SET_NAME_MAX + 1];
        uint32_t flags, key_type, key_len;
        uint64_t timeout_ms; /* the set's default element timeout, 0: none */
        bool expressions;    /* statements for its elements (`counter` in the declaration) */
        bool ours;           /* carries the daemon's mark: created by this or an earlier run */
};

struct probe {
        const char *table;
        bool table_exists;
        uint32_t table_use;
        struct kernel_set *sets;
        size_t n_sets, allocated_sets;
        int r;
};

static int table_cb(const struct nlmsghdr *nlh, void *data) {
        struct probe *p = data;
        struct nftnl_table *t = nftnl_table_alloc();

        if (!t)
                return MNL_CB_ERROR;
        if (nftnl_table_nlmsg_parse(nlh, t) >= 0) {
                p->table_exists = true;
                p->table_use = nftnl_table_get_u32(t, NFTNL_TABLE_USE);
        }
        nftnl_table_free(t);
        return MNL_CB_OK;
}

static int set_dump_cb(const struct nlmsghdr *nlh, void *data) {
        struct probe *p = data;
        struct nftnl_set *s = nftnl_set_alloc();
        const char *name, *table;

        if (!s) {
                p->r = -ENOMEM;
                return MNL_CB_OK;
        }
        if (nftnl_set_nlmsg_parse(nlh, s) < 0)
                goto finish;
        name = nftnl_set_get_str(s, NFTNL_SET_NAME);
        table = nftnl_set_get_str(s, NFTNL_SET_TABLE);
        /* Longer names cannot be ours. */
        if (!name || !table || !streq(table, p->table) || strlen(name) > NFT_SET_NAME_MAX)
                goto finish;
        if (grow_array((void **) &p->sets, &p->allocated_sets, p->n_sets + 1, sizeof(*p->sets)) < 0) {
                p->r = -ENOMEM;
                goto finish;
        }
        p->sets[p->n_sets] = (struct kernel_set) {
                .flags = nftnl_set_get_u32(s, NFTNL_SET_FLAGS),
                .key_type = nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE),
                .key_len = nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN),
                .timeout_ms = nftnl_set_is_set(s, NFTNL_SET_TIMEOUT) ? nftnl_set_get_u64(s, NFTNL_SET_TIMEOUT) : 0,
                .expressions = nftnl_set_is_set(s, NFTNL_SET_EXPR) || nftnl_set_is_set(s, NFTNL_SET_EXPRESSIONS),
        };
        if (nftnl_set_is_set(s, NFTNL_SET_USERDATA)) {
                uint32_t len = 0;
                const void *ud = nftnl_set_get_data(s, NFTNL_SET_USERDATA, &len);
                p->sets[p->n_sets].ours = nft_udata_has_owner_mark(ud, len);
        }
        strcpy(p->sets[p->n_sets++].name, name);
finish:
        nftnl_set_free(s);
        return MNL_CB_OK;
}

/* What exists of the table and its sets before the first apply (and on force), so that
 * operator-declared sets are checked and a set is only ever recreated when it carries our
 * mark. */
static int nft_probe(struct nft *n, int family, const char *table, struct probe *p) {
        char buf[NFT_REQUEST_BUFFER];
        struct nlmsghdr *nlh;
        int r;

        *p = (struct probe) { .table = table };

        {
                struct nftnl_table *t = nftnl_table_alloc();
                if (!t)
                        return -ENOMEM;
                nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
                nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, (uint16_t) family, NLM_F_ACK, n->seq++);
                nftnl_table_nlmsg_build_payload(nlh, t);
                nftnl_table_free(t);
        }
        r = nft_request(n, nlh, table_cb, p);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;

        {
                struct nftnl_set *s = nftnl_set_alloc();
                if (!s)
                        return -ENOMEM;
                nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
                nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSET, (uint16_t) family, NLM_F_DUMP, n->seq++);
                nftnl_set_nlmsg_build_payload(nlh, s);
                nftnl_set_free(s);
        }
        r = nft_request(n, nlh, set_dump_cb, p);
        if (r >= 0)
                r = p->r;
        if (r == -ENOENT) /* the table went away in between */
                r = 0, p->table_exists = false, p->n_sets = 0;
        return r;
}

static const struct kernel_set *probe_find(const struct probe *p, const char *name) {
        for (size_t i = 0; i < p->n_sets; i++)
                if (streq(p->sets[i].name, name))
                        return &p->sets[i];
        return NULL;
}

static const char *set_type_to_string(uint32_t type, char buf[static 32]) {
        if (type == NFT_TYPE_IPV4_ADDR)
                return "ipv4_addr";
        if (type == NFT_TYPE_IPV6_ADDR)
                return "ipv6_addr";
        snprintf(buf, 32, "type %" PRIu32, type);
        return buf;
}

/* nft's words for set flags, in the order `nft list` prints them. */
static const char *set_flags_to_string(uint32_t flags, char *buf, size_t size) {
        static const struct { uint32_t flag; const char *word; } words[] = {
                { NFT_SET_CONSTANT, "constant" }, { NFT_SET_EVAL, "dynamic" },
                { NFT_SET_INTERVAL, "interval" }, { NFT_SET_TIMEOUT, "timeout" },
                { NFT_SET_ANONYMOUS, "anonymous" }, { NFT_SET_MAP, "map" },
                { NFT_SET_OBJECT, "object" }, { NFT_SET_CONCAT, "concat" },
                { NFT_SET_EXPR, "expr" },
        };
        size_t used = 0;

        buf[0] = 0;
        for (size_t i = 0; i < ELEMENTSOF(words); i++) {
                int k;
                if (!(flags & words[i].flag))
                        continue;
                k = snprintf(buf + used, size - used, "%s%s", used ? "," : "", words[i].word);
                if (k < 0 || (size_t) k >= size - used)
                        break;
                used += (size_t) k;
                flags &= ~words[i].flag;
        }
        if (flags && used < size)
                snprintf(buf + used, size - used, "%s0x%" PRIx32, used ? "," : "", flags);
        return buf;
}

/* A timeout in milliseconds as nft writes it ("1h", "1d2h30m", "1500ms" as "1s500ms"). */
static const char *set_timeout_to_string(uint64_t ms, char *buf, size_t size) {
        static const struct { uint64_t unit; const char *suffix; } units[] = {
                { 24ULL * 3600 * 1000, "d" }, { 3600ULL * 1000, "h" }, { 60ULL * 1000, "m" },
                { 1000, "s" }, { 1, "ms" },
        };
        size_t used = 0;

        buf[0] = 0;
        for (size_t i = 0; i < ELEMENTSOF(units) && ms > 0; i++) {
                uint64_t n = ms / units[i].unit;
                int k;
                if (n == 0)
                        continue;
                ms -= n * units[i].unit;
                k = snprintf(buf + used, size - used, "%" PRIu64 "%s", n, units[i].suffix);
                if (k < 0 || (size_t) k >= size - used)
                        break;
                used += (size_t) k;
        }
        return buf;
}

/* Whether a set that exists can hold what the daemon puts in it exactly as the daemon's NEWSET
 * describes it (the kernel answers EEXIST to a NEWSET whose flags or statements differ from
 * the existing set's); else says what differs. The flags must be timeout, plus interval when
 * the group has prefixes; interval is accepted on a set that does not need it (single
 * addresses then go as ranges). A default timeout is refused: the static addresses, sent
 * without a timeout of their own, would take it and vanish. */
static int kernel_set_check(const struct kernel_set *ks, int af, bool need_interval, char *hint, size_t size) {
        uint32_t type = af == AF_INET ? NFT_TYPE_IPV4_ADDR : NFT_TYPE_IPV6_ADDR;
        uint32_t required = NFT_SET_TIMEOUT | (need_interval ? NFT_SET_INTERVAL : 0);
        uint32_t expected = required | (ks->flags & NFT_SET_INTERVAL);
        uint32_t extra = ks->flags & ~(NFT_SET_TIMEOUT | NFT_SET_INTERVAL);
        char b1[128], b2[128], b3[128];

        if (ks->key_type != type || ks->key_len != (af == AF_INET ? 4U : 16U))
                snprintf(hint, size, "exists with type %s, expected %s", set_type_to_string(ks->key_type, b1),
                         set_type_to_string(type, b2));
        else if (ks->expressions || (ks->flags & NFT_SET_EXPR))
                snprintf(hint, size, "exists with statements for its elements (such as counter), expected a plain "
                         "set: remove them from its declaration");
        else if (extra)
                snprintf(hint, size, "exists with flags %s, expected flags %s: the daemon cannot fill a set with "
                         "flags %s", set_flags_to_string(ks->flags, b1, sizeof(b1)),
                         set_flags_to_string(expected, b2, sizeof(b2)), set_flags_to_string(extra, b3, sizeof(b3)));
        else if ((ks->flags & required) != required)
                snprintf(hint, size, "exists without flags %s%s%s, expected flags %s",
                         !(ks->flags & NFT_SET_TIMEOUT) ? "timeout" : "",
                         !(ks->flags & NFT_SET_TIMEOUT) && need_interval && !(ks->flags & NFT_SET_INTERVAL) ? "," : "",
                         need_interval && !(ks->flags & NFT_SET_INTERVAL) ? "interval" : "",
                         set_flags_to_string(expected, b2, sizeof(b2)));
        else if (ks->timeout_ms > 0)
                snprintf(hint, size, "exists with a default timeout (timeout %s) that static addresses would take, "
                         "so they would vanish: remove `timeout %s` from its declaration",
                         set_timeout_to_string(ks->timeout_ms, b1, sizeof(b1)), b1);
        else
                return 0;
        return -EEXIST;
}

/* What one set of the ruleset needs in this apply. */
struct wanted_set {
        const struct nft_group *g;
        int af;
        char name[NFT_SET_NAME_MAX + 1];
        bool interval;  /* elements go as ranges: the kernel set has (or gets) flags interval */
        bool created;   /* made by the daemon (this run or an earlier one: it carries our mark) */
        bool recreate;  /* ours, but with the wrong flags: delete and create in this batch */
        char differs[180]; /* what is wrong with it, for an error when it cannot be deleted (room
                            * left in nft_error.hint for saying so) */
        bool changed;
        uint64_t fingerprint;
};

static uint64_t hash_u64(uint64_t h, uint64_t v) {
        h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
        return h * 0xff51afd7ed558ccdULL;
}

static uint64_t hash_str(uint64_t h, const char *s) {
        uint64_t v = 0xcbf29ce484222325ULL;

        for (; s && *s; s++)
                v = (v ^ (unsigned char) *s) * 0x100000001b3ULL;
        return hash_u64(h, v);
}

/* Content of a set including every expiry: a refreshed timeout is a change worth sending. */
static uint64_t set_fingerprint(const struct wanted_set *w, const struct nft_element *e, size_t n) {
        uint64_t h = hash_u64(0, (uint64_t) w->af << 1 | w->interval);

        h = hash_str(h, w->g->comment);
        for (size_t i = 0; i < n; i++) {
                uint64_t a, c;
                memcpy(&a, e[i].addr.u.bytes, 8);
                memcpy(&c, e[i].addr.u.bytes + 8, 8);
                h = hash_u64(h, (uint64_t) e[i].addr.family << 8 | e[i].addr.prefixlen);
                h = hash_u64(h, a);
                h = hash_u64(h, c);
                h = hash_u64(h, e[i].expiry);
        }
        return hash_u64(h, n);
}

static uint64_t chain_fingerprint(const struct nft_ruleset *want) {
        uint64_t h = hash_str(0, want->chain);

        for (size_t i = 0; i < want->n_groups; i++) {
                const struct nft_group *g = &want->groups[i];
                h = hash_str(h, g->name);
                h = hash_u64(h, (uint64_t) nft_group_wants(want, g, AF_INET) << 1 | nft_group_wants(want, g, AF_INET6));
                for (size_t j = 0; j < g->n_allow; j++)
                        h = hash_u64(h, (uint64_t) g->allow[j].proto << 32 | (uint64_t) g->allow[j].first << 16 |
                                                g->allow[j].last);
        }
        return h;
}

static struct nft_tracked_set *tracked_find(struct nft *n, const char *name) {
        for (size_t i = 0; i < n->n_sets; i++)
                if (streq(n->sets[i].name, name))
                        return &n->sets[i];
        return NULL;
}

static const struct wanted_set *wanted_find(const struct wanted_set *w, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (streq(w[i].name, name))
                        return &w[i];
        return NULL;
}

/* Forgets what we believed about the kernel (other table, or an unknown outcome). */
static void nft_forget(struct nft *n, bool keep_identity) {
        if (!keep_identity) {
                n->n_sets = 0;
                n->table_created = false;
                free(n->table);
                free(n->chain);
                n->table = n->chain = NULL;
                n->family = 0;
        }
        for (size_t i = 0; i < n->n_sets; i++)
                n->sets[i].fingerprint = 0;
        n->chain_known = false;
        n->probed = false;
}

static bool identity_matches(const struct nft *n, const struct nft_ruleset *want) {
        return n->table && n->family == want->family && streq(n->table, want->table) &&
               streq_ptr(n->chain, want->chain);
}

static int ruleset_validate(const struct nft_ruleset *want, struct nft_error *err) {
        const char *problem = NULL;

        if (want->family != NFPROTO_INET && want->family != NFPROTO_IPV4 && want->family != NFPROTO_IPV6)
                problem = "unsupported table family";
        else if (isempty(want->table) || strlen(want->table) >= NFT_TABLE_MAXNAMELEN)
                problem = "invalid table name";
        else if (want->chain && (!*want->chain || strlen(want->chain) >= NFT_CHAIN_MAXNAMELEN))
                problem = "invalid chain name";
        for (size_t i = 0; !problem && i < want->n_groups; i++)
                if (isempty(want->groups[i].name) || strlen(want->groups[i].name) > GROUP_NAME_MAX)
                        problem = "invalid group name";
        if (!problem)
                return 0;
        if (err) {
                snprintf(err->object, sizeof(err->object), "table %s %s", nft_family_to_string(want->family),
                         want->table ? want->table : "");
                snprintf(err->hint, sizeof(err->hint), "%s", problem);
        }
        return -EINVAL;
}

static int wanted_build(const struct nft_ruleset *want, struct wanted_set **ret, size_t *ret_n,
                        struct nft_error *err) {
        _cleanup_free_ struct wanted_set *w = calloc(MAX(want->n_groups * 2, (size_t) 1), sizeof(*w));
        size_t n = 0;

        if (!w)
                return -ENOMEM;
        for (size_t i = 0; i < want->n_groups; i++)
                for (int k = 0; k < 2; k++) {
                        int af = k == 0 ? AF_INET : AF_INET6;
                        if (!nft_group_wants(want, &want->groups[i], af))
                                continue;
                        w[n] = (struct wanted_set) { .g = &want->groups[i], .af = af, .interval = want->groups[i].interval };
                        snprintf(w[n].name, sizeof(w[n].name), "%s_%s", want->groups[i].name, k == 0 ? "v4" : "v6");
                        if (wanted_find(w, n, w[n].name)) {
                                if (err) {
                                        snprintf(err->object, sizeof(err->object), "set %s %s %s",
                                                 nft_family_to_string(want->family), want->table, w[n].name);
                                        snprintf(err->hint, sizeof(err->hint), "two groups of the same name");
                                }
                                return -EINVAL;
                        }
                        n++;
                }
        *ret = TAKE_PTR(w);
        *ret_n = n;
        return 0;
}

static int tracking_update(struct nft *n, const struct nft_ruleset *want, const struct wanted_set *w, size_t n_w,
                           uint64_t chain_fp) {
        _cleanup_free_ struct nft_tracked_set *sets = calloc(MAX(n_w, (size_t) 1), sizeof(*sets));
        char *table = NULL, *chain = NULL;

        if (!sets)
                return -ENOMEM;
        if (!identity_matches(n, want)) {
                table = strdup(want->table);
                chain = want->chain ? strdup(want->chain) : NULL;
                if (!table || (want->chain && !chain)) {
                        free(table);
                        free(chain);
                        return -ENOMEM;
                }
                free(n->table);
                free(n->chain);
                n->table = table;
                n->chain = chain;
                n->family = want->family;
        }
        for (size_t i = 0; i < n_w; i++) {
                strcpy(sets[i].name, w[i].name);
                sets[i].fingerprint = w[i].fingerprint;
                sets[i].created = w[i].created;
                sets[i].interval = w[i].interval;
        }
        free(n->sets);
        n->sets = TAKE_PTR(sets);
        n->n_sets = n->allocated_sets = n_w;
        n->chain_fingerprint = chain_fp;
        n->chain_known = true;
        n->probed = true;
        return 0;
}

/* A set of ours with the wrong flags (say, made before a static prefix came in) cannot be
 * recreated while someone else's rule uses it: say what is wrong with it, not only that it is
 * busy, since that is what the operator has to fix. */
static void explain_busy_recreate(const struct nft_ruleset *want, const struct wanted_set *w, size_t n_w,
                                  struct nft_error *err) {
        for (size_t i = 0; i < n_w; i++) {
                char object[sizeof(err->object)];

                if (!w[i].recreate)
                        continue;
                snprintf(object, sizeof(object), "set %s %s %s", nft_family_to_string(want->family), want->table,
                         w[i].name);
                if (streq(object, err->object)) {
                        snprintf(err->hint, sizeof(err->hint), "%s; it cannot be recreated while a rule outside "
                                 "the daemon's chain uses it", w[i].differs);
                        return;
                }
        }
}

/* A transaction of its own for one object the daemon lets go of (set NULL: the chain), so that
 * a reference someone else holds fails only this object. The chain goes with its rules: the
 * kernel refuses to delete a chain that still has any. */
static int send_single(struct nft *n, int family, const char *table, const char *chain, enum nft_op op,
                       const char *set, struct nft_error *err) {
        struct nft_batch b;
        int r;

        r = batch_init(&b, n, family, table, chain);
        if (r >= 0)
                switch (op) {
                case NFT_OP_DEL_CHAIN:
                        r = batch_chain(&b, NFT_OP_FLUSH_CHAIN);
                        if (r >= 0)
                                r = batch_chain(&b, NFT_OP_DEL_CHAIN);
                        break;
                case NFT_OP_FLUSH_CHAIN:
                case NFT_OP_DEL_TABLE:
                        r = op == NFT_OP_DEL_TABLE ? batch_table(&b, op) : batch_chain(&b, op);
                        break;
                case NFT_OP_DEL_SET:
                case NFT_OP_FLUSH_SET:
                        r = batch_set(&b, op, set, AF_UNSPEC, false, NULL, 0, 0);
                        break;
                case NFT_OP_BEGIN:
                case NFT_OP_END:
                case NFT_OP_NEW_TABLE:
                case NFT_OP_NEW_CHAIN:
                case NFT_OP_NEW_RULE:
                case NFT_OP_NEW_SET:
                case NFT_OP_ADD_ELEMENTS:
                case NFT_OP_NEW_PORT_SET:
                        r = -EINVAL;
                        break;
                }
        if (r >= 0)
                r = batch_finish(&b);
        if (r >= 0)
                r = batch_send(&b, err);
        else if (err) {
                struct nft_msg m = { .op = op };
                snprintf(m.name, sizeof(m.name), "%s", set ? set : "");
                error_set(err, &b, &m, r, "building the batch");
        }
        nft_batch_done(&b);
        return r;
}

/* Deletes a set (or, set NULL, the chain) the daemon no longer wants. When a rule of someone
 * else still refers to it (EBUSY: an operator's `ip daddr @NAME_v4` or `jump allowlistd`), it
 * is flushed instead, so it allows nothing, and reported once; it is then no longer ours and
 * never retried. Returns 0 when the object is gone or flushed, else the kernel's error with err
 * filled. commits counts our transactions, for the monitor. */
static int release_object(struct nft *n, int family, const char *table, const char *chain, const char *set,
                          unsigned *commits, struct nft_error *err) {
        struct nft_error busy;
        int r;

        r = send_single(n, family, table, chain, set ? NFT_OP_DEL_SET : NFT_OP_DEL_CHAIN, set, err);
        if (r >= 0)
                (*commits)++;
        if (r >= 0 || r == -ENOENT) /* gone already: nothing to do */
                return 0;
        if (r != -EBUSY)
                return r;

        r = send_single(n, family, table, chain, set ? NFT_OP_FLUSH_SET : NFT_OP_FLUSH_CHAIN, set, err);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        (*commits)++;
        if (set)
                snprintf(busy.object, sizeof(busy.object), "set %s %s %s", nft_family_to_string(family), table, set);
        else
                snprintf(busy.object, sizeof(busy.object), "chain %s %s %s", nft_family_to_string(family), table,
                         chain);
        snprintf(busy.hint, sizeof(busy.hint), "%s, so it was flushed instead of deleted and allows nothing now; "
                 "the daemon no longer manages it", set ? "a rule outside the daemon's chain still uses it" :
                                                          "a rule outside it still jumps to it");
        if (n->on_leftover)
                n->on_leftover(n, -EBUSY, &busy, n->leftover_userdata);
        return 0;
}

/* After a batch of unknown outcome: the sets it would have created are remembered as
 * possibly there (with no content known), so that they are deleted when no longer wanted. */
static int tracking_add_possible(struct nft *n, const struct wanted_set *w, size_t n_w) {
        for (size_t i = 0; i < n_w; i++) {
                if (!w[i].created || tracked_find(n, w[i].name))
                        continue;
                if (grow_array((void **) &n->sets, &n->allocated_sets, n->n_sets + 1, sizeof(*n->sets)) < 0)
                        return -ENOMEM;
                n->sets[n->n_sets] = (struct nft_tracked_set) { .created = true, .interval = w[i].interval };
                strcpy(n->sets[n->n_sets++].name, w[i].name);
        }
        return 0;
}

int nft_read_own_sets(struct nft *n, int family, const char *table, char (**ret)[NFT_SET_NAME_LEN], size_t *ret_n) {
        struct probe p = { .r = 0 };
        char (*names)[NFT_SET_NAME_LEN];
        size_t k = 0;
        int r;

        r = nft_probe(n, family, table, &p);
        if (r < 0) {
                free(p.sets);
                return r;
        }
        names = calloc(MAX(p.n_sets, (size_t) 1), sizeof(*names));
        if (!names) {
                free(p.sets);
                return -ENOMEM;
        }
        for (size_t i = 0; i < p.n_sets; i++)
                if (p.sets[i].ours)
                        strcpy(names[k++], p.sets[i].name);
        free(p.sets);
        *ret = names;
        *ret_n = k;
        return 0;
}

void nft_set_leftover_callback(struct nft *n, nft_leftover_cb cb, void *userdata) {
        n->on_leftover = cb;
        n->leftover_userdata = userdata;
}

int nft_apply(struct nft *n, const struct nft_ruleset *want, usec_t now, bool force, struct nft_error *err) {
        _cleanup_free_ struct wanted_set *w = NULL;
        struct nft_batch b = { .n = NULL };
        struct probe p = { .r = 0 };
        _cleanup_free_ char (*vanished)[NFT_SET_NAME_MAX + 1] = NULL;
        bool need_probe, chain_changed, any = force, table_created;
        size_t n_w = 0, n_vanished = 0;
        unsigned commits = 0;
        uint64_t chain_fp;
        int r;

        if (err)
                memset(err, 0, sizeof(*err));
        r = ruleset_validate(want, err);
        if (r < 0)
                return r;
        r = wanted_build(want, &w, &n_w, err);
        if (r < 0)
                return r;
        if (!identity_matches(n, want))
                nft_forget(n, false);
        table_created = n->table_created;

        need_probe = force || !n->probed;
        for (size_t i = 0; i < n_w && !need_probe; i++) {
                const struct nft_tracked_set *t = tracked_find(n, w[i].name);
                need_probe = !t || (w[i].interval && !t->interval);
        }
        if (need_probe) {
                r = nft_probe(n, want->family, want->table, &p);
                if (r < 0) {
                        struct nft_batch eb = { .family = want->family, .table = want->table };
                        struct nft_msg m = { .op = NFT_OP_NEW_TABLE };
                        error_set(err, &eb, &m, r, "reading the table's sets");
                        goto finish;
                }
                if (!p.table_exists)
                        table_created = true;
        }

        for (size_t i = 0; i < n_w; i++) {
                const struct nft_tracked_set *t = tracked_find(n, w[i].name);

                if (need_probe) {
                        const struct kernel_set *ks = probe_find(&p, w[i].name);
                        if (!ks)
                                w[i].created = true;
                        else {
                                char hint[sizeof(w[i].differs)];
                                /* Ours only with our mark: a set an earlier run made is ours as
                                 * much as one of this run, while one that `nft -f` redeclared
                                 * (even from a saved copy of ours) is the operator's. */
                                w[i].created = ks->ours;
                                if (kernel_set_check(ks, w[i].af, w[i].g->interval, hint, sizeof(hint)) < 0) {
                                        if (!w[i].created) {
                                                if (err) {
                                                        snprintf(err->object, sizeof(err->object), "set %s %s %s",
                                                                 nft_family_to_string(want->family), want->table,
                                                                 w[i].name);
                                                        snprintf(err->hint, sizeof(err->hint), "%s", hint);
                                                }
                                                r = -EEXIST;
                                                goto finish;
                                        }
                                        w[i].recreate = true;
                                        snprintf(w[i].differs, sizeof(w[i].differs), "%s", hint);
                                } else
                                        /* An operator's interval set takes single addresses as ranges. */
                                        w[i].interval = w[i].interval || (ks->flags & NFT_SET_INTERVAL);
                        }
                } else {
                        w[i].created = t->created;
                        w[i].interval = w[i].interval || t->interval;
                }
                w[i].fingerprint = set_fingerprint(&w[i], w[i].af == AF_INET ? w[i].g->v4 : w[i].g->v6,
                                                   w[i].af == AF_INET ? w[i].g->n_v4 : w[i].g->n_v6);
                /* A set we believed filled but that a probe did not find was deleted behind our
                 * back: it needs its content again. */
                w[i].changed = force || w[i].recreate || !t || t->fingerprint != w[i].fingerprint ||
                               (need_probe && !probe_find(&p, w[i].name));
                any = any || w[i].changed;
        }

        chain_fp = chain_fingerprint(want);
        chain_changed = want->chain && (force || !n->chain_known || n->chain_fingerprint != chain_fp);
        for (size_t i = 0; i < n_w; i++)
                chain_changed = chain_changed || (want->chain && w[i].recreate);
        for (size_t i = 0; i < n->n_sets; i++)
                if (!wanted_find(w, n_w, n->sets[i].name))
                        chain_changed = chain_changed || want->chain, any = true;
        any = any || chain_changed;
        if (!any) {
                r = 0;
                goto finish;
        }

        r = batch_init(&b, n, want->family, want->table, want->chain);
        if (r >= 0)
                r = batch_table(&b, NFT_OP_NEW_TABLE);
        if (r >= 0 && want->chain)
                r = batch_chain(&b, NFT_OP_NEW_CHAIN);
        /* Rules go before the sets they use can be deleted or recreated. */
        if (r >= 0 && chain_changed)
                r = batch_chain(&b, NFT_OP_FLUSH_CHAIN);
        for (size_t i = 0; r >= 0 && i < n_w; i++)
                if (w[i].recreate)
                        r = batch_set(&b, NFT_OP_DEL_SET, w[i].name, w[i].af, false, NULL, 0, 0);
        for (size_t i = 0; r >= 0 && i < n_w; i++)
                r = batch_set(&b, NFT_OP_NEW_SET, w[i].name, w[i].af, w[i].interval, w[i].g->comment, 0, 0);
        for (size_t i = 0; r >= 0 && i < n_w; i++) {
                if (!w[i].changed)
                        continue;
                r = batch_set(&b, NFT_OP_FLUSH_SET, w[i].name, w[i].af, false, NULL, 0, 0);
                if (r >= 0)
                        r = batch_elements(&b, w[i].name, w[i].af, w[i].interval,
                                           w[i].af == AF_INET ? w[i].g->v4 : w[i].g->v6,
                                           w[i].af == AF_INET ? w[i].g->n_v4 : w[i].g->n_v6, now);
        }
        for (size_t i = 0; r >= 0 && chain_changed && i < n_w; i++) {
                uint8_t protos[2];
                size_t k = nft_group_protocols(w[i].g, protos);
                for (size_t j = 0; r >= 0 && j < k; j++)
                        r = batch_rule(&b, w[i].g, w[i].af, protos[j]);
        }
        if (r >= 0)
                r = batch_finish(&b);
        if (r < 0) {
                if (err) {
                        snprintf(err->object, sizeof(err->object), "table %s %s", nft_family_to_string(want->family),
                                 want->table);
                        snprintf(err->hint, sizeof(err->hint), "building the batch");
                }
                goto finish;
        }

        /* The sets of groups that disappeared are not in this batch: an operator's rule may
         * still use one, and the kernel's EBUSY would roll back everything, at every apply,
         * until the configuration changes. They go afterwards, one by one. */
        vanished = calloc(MAX(n->n_sets, (size_t) 1), sizeof(*vanished));
        if (!vanished) {
                r = -ENOMEM;
                goto finish;
        }
        for (size_t i = 0; i < n->n_sets; i++)
                if (!wanted_find(w, n_w, n->sets[i].name))
                        strcpy(vanished[n_vanished++], n->sets[i].name);

        nft_monitor_pause(n);
        /* Only for a caller that has to find out, after lost replies, whether this went in. */
        if (err)
                err->generation_known = nft_get_generation(n, &err->generation) >= 0;
        r = batch_send(&b, err);
        if (r >= 0)
                commits++;
        if (r < 0) {
                /* The kernel rolled the batch back (or, with lost replies, we cannot know):
                 * look again next time instead of trusting the fingerprints. */
                nft_forget(n, true);
                if (r == -EBUSY && err)
                        explain_busy_recreate(want, w, n_w, err);
                if (err && err->unknown) {
                        /* It may have gone in: its new sets may exist, so an apply without them
                         * must delete them, and one step of the generation may be ours. */
                        (void) tracking_add_possible(n, w, n_w);
                        commits++;
                }
                goto resume;
        }
        r = tracking_update(n, want, w, n_w, chain_fp);
        if (r < 0) {
                nft_forget(n, true);
                goto resume;
        }
        n->table_created = table_created;
        /* Forgotten now whatever happens: a failure is reported once, not retried for ever. */
        for (size_t i = 0; i < n_vanished; i++) {
                struct nft_error e = { 0 };
                int k = release_object(n, want->family, want->table, want->chain, vanished[i], &commits, &e);
                if (k < 0 && n->on_leftover)
                        n->on_leftover(n, k, &e, n->leftover_userdata);
        }
        r = 1;
resume:
        nft_monitor_resume(n, commits);
finish:
        nft_batch_done(&b);
        free(p.sets);
        return r;
}

static int ignore_cb(const struct nlmsghdr *nlh, void *data) {
        return MNL_CB_OK;
}

static int chain_exists(struct nft *n, int family, const char *table, const char *chain) {
        char buf[NFT_REQUEST_BUFFER];
        struct nftnl_chain *c = nftnl_chain_alloc();
        struct nlmsghdr *nlh;
        int r;

        if (!c)
                return -ENOMEM;
        nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
        nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, chain);
        nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, (uint16_t) family, NLM_F_ACK, n->seq++);
        nftnl_chain_nlmsg_build_payload(nlh, c);
        nftnl_chain_free(c);
        r = nft_request(n, nlh, ignore_cb, NULL);
        if (r == -ENOENT)
                return 0;
        return r < 0 ? r : 1;
}

int nft_remove(struct nft *n, const struct nft_ruleset *want, struct nft_error *err) {
        _cleanup_free_ struct wanted_set *w = NULL;
        struct probe p = { .r = 0 };
        bool table_created = identity_matches(n, want) && n->table_created;
        bool chain_present = false;
        unsigned commits = 0;
        size_t n_w = 0;
        int r, first = 0;

        if (err)
                memset(err, 0, sizeof(*err));
        r = ruleset_validate(want, err);
        if (r < 0)
                return r;
        r = wanted_build(want, &w, &n_w, err);
        if (r < 0)
                return r;
        nft_forget(n, false);

        r = nft_probe(n, want->family, want->table, &p);
        if (r >= 0 && p.table_exists && want->chain) {
                r = chain_exists(n, want->family, want->table, want->chain);
                chain_present = r > 0;
        }
        if (r < 0) {
                struct nft_batch eb = { .family = want->family, .table = want->table };
                struct nft_msg m = { .op = NFT_OP_DEL_TABLE };
                error_set(err, &eb, &m, r, "reading the table");
                goto finish;
        }
        if (!p.table_exists) {
                r = 0;
                goto finish;
        }

        /* Each object on its own and best effort: a `jump` or an `@set` of the operator's keeps
         * that one object (flushed), never the others, and is not a failure. The chain first:
         * its rules use the sets. The first real error (no permission, ...) is returned. */
        nft_monitor_pause(n);
        if (chain_present) {
                r = release_object(n, want->family, want->table, want->chain, NULL, &commits, err);
                if (r < 0 && first == 0)
                        first = r;
        }
        for (size_t i = 0; i < n_w; i++) {
                struct nft_error e = { 0 };
                if (!probe_find(&p, w[i].name))
                        continue;
                r = release_object(n, want->family, want->table, want->chain, w[i].name, &commits,
                                   first == 0 ? err : &e);
                if (r < 0 && first == 0)
                        first = r;
        }

        /* The table goes only when this process made it and nothing else lives in it now. */
        if (table_created && first == 0) {
                free(p.sets);
                r = nft_probe(n, want->family, want->table, &p);
                if (r < 0) {
                        struct nft_batch eb = { .family = want->family, .table = want->table };
                        struct nft_msg m = { .op = NFT_OP_DEL_TABLE };
                        error_set(err, &eb, &m, r, "reading the table");
                } else if (p.table_exists && p.table_use == 0) {
                        r = send_single(n, want->family, want->table, want->chain, NFT_OP_DEL_TABLE, NULL, err);
                        if (r >= 0)
                                commits++;
                        else if (r == -EBUSY || r == -ENOENT) { /* someone put something there meanwhile */
                                if (err)
                                        memset(err, 0, sizeof(*err));
                                r = 0;
                        }
                }
                if (r < 0 && first == 0)
                        first = r;
        }
        nft_monitor_resume(n, commits);
        r = first;
finish:
        free(p.sets);
        return r;
}

int nft_open(struct nft **ret) {
        struct nft *n = calloc(1, sizeof(*n));
        int one = 1, r;

        if (!n)
                return -ENOMEM;
        n->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
        if (!n->nl) {
                r = -errno;
                goto fail;
        }
        if (mnl_socket_bind(n->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
                r = -errno;
                goto fail;
        }
        /* Error replies without a copy of the (possibly 64 KiB) failing message, with the
         * kernel's own explanation when it has one. */
        (void) mnl_socket_setsockopt(n->nl, NETLINK_CAP_ACK, &one, sizeof(one));
        (void) mnl_socket_setsockopt(n->nl, NETLINK_EXT_ACK, &one, sizeof(one));
        n->portid = mnl_socket_get_portid(n->nl);
        n->seq = (uint32_t) time(NULL);
        *ret = n;
        return 0;
fail:
        nft_free(n);
        return r;
}

struct nft *nft_free(struct nft *n) {
        if (!n)
                return NULL;
        nft_monitor_free(n);
        if (n->nl)
                mnl_socket_close(n->nl);
        free(n->batch);
        free(n->sets);
        free(n->table);
        free(n->chain);
        free(n);
        return NULL;
}
