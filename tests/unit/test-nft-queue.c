/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The snooping chains' messages, built without a kernel and read back with libnftnl: both
 * forms of the queue (the nftables expression, the xtables NFQUEUE target as iptables-nft
 * writes it) attribute by attribute, the base chain's hook, priority and policy, and one rule
 * per snoop_servers= entry. */
#include <arpa/inet.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_NFQUEUE.h>

#include "nft-internal.h"
#include "test-util.h"

struct built {
        char rules[4][1024]; /* nftnl_rule_snprintf() of each NEWRULE */
        size_t n_rules;
        struct nftnl_expr *queue[4]; /* owned by rule[] */
        struct nftnl_rule *rule[4];
        size_t n_msgs;
        uint16_t types[16];
        uint32_t hook;
        int32_t prio;
        uint32_t policy;
        char chain_type[16];
};

static int last_expr(struct nftnl_expr *e, void *data) {
        *(struct nftnl_expr **) data = e;
        return 0;
}

static void built_free(struct built *out) {
        for (size_t i = 0; i < out->n_rules; i++)
                nftnl_rule_free(out->rule[i]);
}

/* Builds one chain's messages (snoop_forward on the forward hook) and reads them back. */
static void build(int family, enum nft_queue_kind kind, uint16_t queue, const struct ip_addr *servers, size_t n,
                  struct built *out) {
        struct nft_queue_spec spec = { .family = family, .table = "filter", .queue = queue, .servers = servers,
                                       .n_servers = n };
        struct nft nf = { .seq = 1 };
        struct nft_batch b;
        int len;

        memset(out, 0, sizeof(*out));
        ASSERT_EQ(0, nft_batch_init(&b, &nf, family, "filter", NFT_QUEUE_CHAIN_FORWARD));
        ASSERT_EQ(0, nft_queue_batch_chain(&b, &spec, kind, NF_INET_FORWARD));
        ASSERT_EQ(0, nft_batch_finish(&b));
        /* A chain's few messages fit in the batch's first page. */
        ASSERT_EQ(1, b.n_pages);
        ASSERT_EQ(b.size, b.pages[0].iov_len);
        len = (int) b.pages[0].iov_len;
        for (const struct nlmsghdr *nlh = (const struct nlmsghdr *) b.pages[0].iov_base; mnl_nlmsg_ok(nlh, len);
             nlh = mnl_nlmsg_next(nlh, &len)) {
                uint16_t type = NFNL_MSG_TYPE(nlh->nlmsg_type);

                ASSERT_TRUE(out->n_msgs < ELEMENTSOF(out->types));
                out->types[out->n_msgs++] = type;
                if (type == NFT_MSG_NEWCHAIN) {
                        struct nftnl_chain *c = nftnl_chain_alloc();
                        ASSERT_EQ(0, nftnl_chain_nlmsg_parse(nlh, c));
                        ASSERT_STREQ(NFT_QUEUE_CHAIN_FORWARD, nftnl_chain_get_str(c, NFTNL_CHAIN_NAME));
                        out->hook = nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM);
                        out->prio = nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO);
                        out->policy = nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY);
                        snprintf(out->chain_type, sizeof(out->chain_type), "%s", nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE));
                        nftnl_chain_free(c);
                } else if (type == NFT_MSG_NEWRULE) {
                        struct nftnl_rule *r = nftnl_rule_alloc();
                        ASSERT_TRUE(out->n_rules < ELEMENTSOF(out->rules));
                        ASSERT_EQ(0, nftnl_rule_nlmsg_parse(nlh, r));
                        ASSERT_STREQ(NFT_QUEUE_CHAIN_FORWARD, nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
                        nftnl_rule_snprintf(out->rules[out->n_rules], sizeof(out->rules[0]), r, NFTNL_OUTPUT_DEFAULT, 0);
                        ASSERT_EQ(0, nftnl_expr_foreach(r, last_expr, &out->queue[out->n_rules]));
                        out->rule[out->n_rules++] = r;
                }
        }
        nft_batch_done(&b);
}

/* As `nft --debug=netlink add rule inet filter f ip saddr 192.0.2.53 udp sport 53 ct direction
 * reply queue num 3 bypass` prints it (nft 1.0.6), QUEUE being the last line. */
#define RULE_V4_SERVER                                  \
        "inet filter snoop_forward\n"                   \
        "  [ meta load nfproto => reg 1 ]\n"            \
        "  [ cmp eq reg 1 0x00000002 ]\n"               \
        "  [ payload load 4b @ network header + 12 => reg 1 ]\n" \
        "  [ cmp eq reg 1 0x350200c0 ]\n"
#define RULE_V6_SERVER                                  \
        "inet filter snoop_forward\n"                   \
        "  [ meta load nfproto => reg 1 ]\n"            \
        "  [ cmp eq reg 1 0x0000000a ]\n"               \
        "  [ payload load 16b @ network header + 8 => reg 1 ]\n" \
        "  [ cmp eq reg 1 0xb80d0120 0x00000000 0x00000000 0x53000000 ]\n"
#define RULE_TAIL                                       \
        "  [ meta load l4proto => reg 1 ]\n"            \
        "  [ cmp eq reg 1 0x00000011 ]\n"               \
        "  [ payload load 2b @ transport header + 0 => reg 1 ]\n" \
        "  [ cmp eq reg 1 0x00003500 ]\n"               \
        "  [ ct load direction => reg 1 ]\n"            \
        "  [ cmp eq reg 1 0x00000001 ]\n"
#define QUEUE_EXPR "  [ queue num 3 bypass ]\n"
#define QUEUE_TARGET "  [ target name NFQUEUE rev 3 ]\n"

static void check_chain(const struct built *o, size_t n_rules) {
        ASSERT_EQ(4 + n_rules + 1, o->n_msgs);
        ASSERT_EQ(NFNL_MSG_BATCH_BEGIN, o->types[0]);
        ASSERT_EQ(NFT_MSG_NEWTABLE, o->types[1]);
        ASSERT_EQ(NFT_MSG_NEWCHAIN, o->types[2]);
        ASSERT_EQ(NFT_MSG_DELRULE, o->types[3]); /* the flush, before the new rules */
        for (size_t i = 0; i < n_rules; i++)
                ASSERT_EQ(NFT_MSG_NEWRULE, o->types[4 + i]);
        ASSERT_EQ(NFNL_MSG_BATCH_END, o->types[4 + n_rules]);
        ASSERT_EQ(NF_INET_FORWARD, o->hook);
        ASSERT_EQ(10, o->prio); /* filter + 10: after the operator's filter chains */
        ASSERT_EQ(NF_ACCEPT, o->policy);
        ASSERT_STREQ("filter", o->chain_type);
        ASSERT_EQ(n_rules, o->n_rules);
}

/* The queue expression: num 3, total 1, flags bypass (no fanout): what nft writes. */
static void test_expression(const struct ip_addr *servers) {
        struct built o;

        build(NFPROTO_INET, NFT_QUEUE_EXPRESSION, 3, servers, 2, &o);
        check_chain(&o, 2);
        ASSERT_STREQ(RULE_V4_SERVER RULE_TAIL QUEUE_EXPR, o.rules[0]);
        ASSERT_STREQ(RULE_V6_SERVER RULE_TAIL QUEUE_EXPR, o.rules[1]);
        for (size_t i = 0; i < 2; i++) {
                ASSERT_STREQ("queue", nftnl_expr_get_str(o.queue[i], NFTNL_EXPR_NAME));
                ASSERT_EQ(3, nftnl_expr_get_u16(o.queue[i], NFTNL_EXPR_QUEUE_NUM));
                ASSERT_EQ(1, nftnl_expr_get_u16(o.queue[i], NFTNL_EXPR_QUEUE_TOTAL));
                ASSERT_EQ(NFT_QUEUE_FLAG_BYPASS, nftnl_expr_get_u16(o.queue[i], NFTNL_EXPR_QUEUE_FLAGS));
                ASSERT_TRUE(!nftnl_expr_is_set(o.queue[i], NFTNL_EXPR_QUEUE_SREG_QNUM));
        }
        built_free(&o);

        /* No snoop_servers: one rule, from any source. */
        build(NFPROTO_INET, NFT_QUEUE_EXPRESSION, 3, NULL, 0, &o);
        check_chain(&o, 1);
        ASSERT_STREQ("inet filter snoop_forward\n" RULE_TAIL QUEUE_EXPR, o.rules[0]);
        built_free(&o);

        /* A table of family ip: no nfproto match (the table sees IPv4 only). */
        build(NFPROTO_IPV4, NFT_QUEUE_EXPRESSION, 65535, servers, 1, &o);
        check_chain(&o, 1);
        ASSERT_STREQ("ip filter snoop_forward\n"
                     "  [ payload load 4b @ network header + 12 => reg 1 ]\n"
                     "  [ cmp eq reg 1 0x350200c0 ]\n" RULE_TAIL "  [ queue num 65535 bypass ]\n",
                     o.rules[0]);
        built_free(&o);
}

/* The xtables target as iptables-nft writes `-j NFQUEUE --queue-num 3 --queue-bypass`: name
 * NFQUEUE, revision 3, info a struct xt_NFQ_info_v3 in host order padded to XT_ALIGN. */
static void test_target(const struct ip_addr *servers) {
        struct xt_NFQ_info_v3 want = { .queuenum = 3, .queues_total = 1, .flags = NFQ_FLAG_BYPASS };
        uint8_t want_bytes[XT_ALIGN(sizeof(struct xt_NFQ_info_v3))] = { 0 };
        struct built o;

        memcpy(want_bytes, &want, sizeof(want));
        build(NFPROTO_INET, NFT_QUEUE_XT_TARGET, 3, servers, 2, &o);
        check_chain(&o, 2);
        ASSERT_STREQ(RULE_V4_SERVER RULE_TAIL QUEUE_TARGET, o.rules[0]);
        ASSERT_STREQ(RULE_V6_SERVER RULE_TAIL QUEUE_TARGET, o.rules[1]);
        for (size_t i = 0; i < 2; i++) {
                uint32_t len = 0;
                const void *info = nftnl_expr_get(o.queue[i], NFTNL_EXPR_TG_INFO, &len);

                ASSERT_STREQ("target", nftnl_expr_get_str(o.queue[i], NFTNL_EXPR_NAME));
                ASSERT_STREQ("NFQUEUE", nftnl_expr_get_str(o.queue[i], NFTNL_EXPR_TG_NAME));
                ASSERT_EQ(3, nftnl_expr_get_u32(o.queue[i], NFTNL_EXPR_TG_REV));
                ASSERT_EQ(sizeof(want_bytes), len);
                ASSERT_EQ(8, len);
                ASSERT_TRUE(memcmp(info, want_bytes, sizeof(want_bytes)) == 0);
        }
        built_free(&o);
}

int main(void) {
        struct ip_addr servers[2];

        ASSERT_EQ(0, addr_parse("192.0.2.53", &servers[0]));
        ASSERT_EQ(0, addr_parse("2001:db8::53", &servers[1]));
        test_expression(servers);
        test_target(servers);
        ASSERT_STREQ("queue expression", nft_queue_kind_to_string(NFT_QUEUE_EXPRESSION));
        ASSERT_STREQ("xtables NFQUEUE target", nft_queue_kind_to_string(NFT_QUEUE_XT_TARGET));
        return 0;
}
