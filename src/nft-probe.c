/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the kernel has before an apply: the table, its sets and how they are declared, and
 * whether that is what the daemon can fill. */
#include <libnftnl/chain.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "nft-internal.h"
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

/* Dumps of the table's sets before giving up when each is interrupted by another commit: one
 * takes a millisecond or so, a commit of another program's seldom comes more than once in it. */
#define NFT_DUMP_ATTEMPTS 10

static int table_cb(const struct nlmsghdr *nlh, void *data) {
        struct nft_probe_result *p = data;
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
        struct nft_probe_result *p = data;
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
        p->sets[p->n_sets] = (struct nft_kernel_set) {
                .flags = nftnl_set_get_u32(s, NFTNL_SET_FLAGS),
                .key_type = nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE),
                .key_len = nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN),
                .timeout_ms = nftnl_set_is_set(s, NFTNL_SET_TIMEOUT) ? nftnl_set_get_u64(s, NFTNL_SET_TIMEOUT) : 0,
                .size = nftnl_set_is_set(s, NFTNL_SET_DESC_SIZE) ? nftnl_set_get_u32(s, NFTNL_SET_DESC_SIZE) : 0,
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
int nft_probe(struct nft *n, int family, const char *table, struct nft_probe_result *p) {
        char buf[NFT_REQUEST_BUFFER];
        struct nlmsghdr *nlh;
        int r;

        *p = (struct nft_probe_result) { .table = table };

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

        /* A commit during the dump marks the rest of it NLM_F_DUMP_INTR, which libmnl reports
         * as EINTR: what was read may mix two generations. Dump again at once, as nft does
         * (nft_cache_update()), rather than fail the apply until retry_min; bounded, so a
         * ruleset that never stops changing still ends in an error. */
        for (unsigned attempt = 1;; attempt++) {
                struct nftnl_set *s = nftnl_set_alloc();
                if (!s)
                        return -ENOMEM;
                nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
                nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSET, (uint16_t) family, NLM_F_DUMP, n->seq++);
                nftnl_set_nlmsg_build_payload(nlh, s);
                nftnl_set_free(s);

                p->n_sets = 0;
                p->r = 0;
                r = nft_request(n, nlh, set_dump_cb, p);
                if (r >= 0)
                        r = p->r;
                if (r != -EINTR || attempt == NFT_DUMP_ATTEMPTS)
                        break;
        }
        if (r == -ENOENT) /* the table went away in between */
                r = 0, p->table_exists = false, p->n_sets = 0;
        return r;
}

const struct nft_kernel_set *nft_probe_find(const struct nft_probe_result *p, const char *name) {
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
int nft_kernel_set_check(const struct nft_kernel_set *ks, int af, bool need_interval, char *hint, size_t size) {
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

static int ignore_cb(const struct nlmsghdr *nlh, void *data) {
        return MNL_CB_OK;
}

int nft_chain_exists(struct nft *n, int family, const char *table, const char *chain) {
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
