/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The pure parts of the nft module: timeouts, comments, the element walk, port merging, the
 * --dry-run script and the difference of a set's content (built into a batch, never sent). The kernel side is covered by tests/integration/nft-*.sh. */
#include <arpa/inet.h>
#include <malloc.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "nft-internal.h"

#define ASSERT_EQ(a, b)                                                                            \
        do {                                                                                       \
                long long _a = (long long) (a), _b = (long long) (b);                              \
                if (_a != _b) {                                                                    \
                        fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, #a, _a, _b); \
                        abort();                                                                   \
                }                                                                                  \
        } while (0)
#define ASSERT_STREQ(a, b)                                                                         \
        do {                                                                                       \
                if (strcmp((a), (b)) != 0) {                                                       \
                        fprintf(stderr, "%s:%d: got \"%s\", expected \"%s\"\n", __FILE__, __LINE__, (a), (b)); \
                        abort();                                                                   \
                }                                                                                  \
        } while (0)

static struct nft_element elem(const char *text, uint8_t len, usec_t expiry) {
        struct nft_element e = { .expiry = expiry };
        e.addr.family = strchr(text, ':') ? AF_INET6 : AF_INET;
        e.addr.prefixlen = len;
        if (inet_pton(e.addr.family, text, e.addr.u.bytes) != 1)
                abort();
        return e;
}

static void test_timeout(void) {
        usec_t now = 1000 * USEC_PER_SEC;
        ASSERT_EQ(nft_timeout_sec(USEC_INFINITY, now), 0);
        ASSERT_EQ(nft_timeout_sec(now, now), 1);             /* never 0: that is "forever" */
        ASSERT_EQ(nft_timeout_sec(now - 5, now), 1);
        ASSERT_EQ(nft_timeout_sec(now + 1, now), 1);         /* rounded up */
        ASSERT_EQ(nft_timeout_sec(now + USEC_PER_SEC, now), 1);
        ASSERT_EQ(nft_timeout_sec(now + USEC_PER_SEC + 1, now), 2);
        ASSERT_EQ(nft_timeout_sec(now + 3600 * USEC_PER_SEC, now), 3600);
        ASSERT_EQ(nft_timeout_sec(UINT64_MAX - 1, now), NFT_TIMEOUT_MAX_SEC);
}

static void test_comment(void) {
        char out[NFT_COMMENT_MAX + 1], in[300];

        nft_comment_sanitize("WiseMo \"csall\"\nhosts", out);
        ASSERT_STREQ(out, "WiseMo 'csall' hosts");
        nft_comment_sanitize(NULL, out);
        ASSERT_STREQ(out, "");
        /* 127 ASCII bytes then a 2-byte character: the cut falls inside it, so it goes. */
        memset(in, 'a', 127);
        strcpy(in + 127, "\xc3\xa6zz");
        nft_comment_sanitize(in, out);
        ASSERT_EQ(strlen(out), 127);
        memset(in, 'a', 126);
        strcpy(in + 126, "\xc3\xa6zz");
        nft_comment_sanitize(in, out);
        ASSERT_EQ(strlen(out), 128);
}

static void test_iter(void) {
        struct nft_element e[] = {
                elem("10.0.0.0", 8, USEC_INFINITY),
                elem("10.1.0.0", 16, 5),      /* inside the previous prefix: skipped */
                elem("192.0.2.1", 32, 7),
                elem("192.0.2.1", 32, 7),     /* duplicate: skipped */
                elem("2001:db8::1", 128, 7),  /* wrong family: skipped */
                elem("192.0.2.0", 32, 7),     /* unsorted: skipped */
                elem("255.255.255.0", 24, USEC_INFINITY),
        };
        struct nft_element_iter it;
        uint8_t first[16], next[16];
        bool top;

        nft_element_iter_init(&it, e, ELEMENTSOF(e), AF_INET, true);
        ASSERT_EQ(nft_element_iter_next(&it, first, next, &top) == &e[0], 1);
        ASSERT_EQ(top, 0);
        ASSERT_EQ(next[0], 11);
        ASSERT_EQ(nft_element_iter_next(&it, first, next, &top) == &e[2], 1);
        ASSERT_EQ(next[3], 2);
        ASSERT_EQ(nft_element_iter_next(&it, first, next, &top) == &e[6], 1);
        ASSERT_EQ(top, 1); /* no end element past the top of the address space */
        ASSERT_EQ(nft_element_iter_next(&it, first, next, &top) == NULL, 1);

        /* Without interval flag a prefix cannot be stored: skipped. */
        nft_element_iter_init(&it, e, ELEMENTSOF(e), AF_INET, false);
        ASSERT_EQ(nft_element_iter_next(&it, first, next, &top) == &e[2], 1);
        ASSERT_EQ(nft_element_iter_next(&it, first, next, &top) == NULL, 1);
}

static void test_ports(void) {
        struct port_range allow[] = {
                { IPPROTO_TCP, 1970, 1980 }, { IPPROTO_UDP, 53, 53 }, { IPPROTO_TCP, 80, 80 },
                { IPPROTO_TCP, 1975, 1990 }, { IPPROTO_TCP, 81, 81 },
        }, out[ELEMENTSOF(allow)];
        struct nft_group g = { .name = "g", .allow = allow, .n_allow = ELEMENTSOF(allow) };
        uint8_t protos[2];

        ASSERT_EQ(nft_group_protocols(&g, protos), 2);
        ASSERT_EQ(protos[0], IPPROTO_TCP);
        ASSERT_EQ(protos[1], IPPROTO_UDP);
        ASSERT_EQ(nft_group_ports(&g, IPPROTO_TCP, out), 2);
        ASSERT_EQ(out[0].first, 80);
        ASSERT_EQ(out[0].last, 81);
        ASSERT_EQ(out[1].first, 1970);
        ASSERT_EQ(out[1].last, 1990);
}

/* An elements callback for test_script(): a copy of the group's userdata array for AF_INET. */
static int script_elements_cb(const struct nft_group *g, int af, struct nft_element **ret, size_t *ret_n) {
        const struct nft_element *src = g->userdata;
        size_t n = af == AF_INET ? g->n_v4 : 0;

        *ret = n > 0 ? malloc(n * sizeof(**ret)) : NULL;
        if (n > 0 && !*ret)
                return -ENOMEM;
        if (n > 0)
                memcpy(*ret, src, n * sizeof(**ret));
        *ret_n = n;
        return 0;
}

/* The same script whether the group holds its elements or builds them on demand. */
static void test_script(void) {
        for (int on_demand = 0; on_demand < 2; on_demand++) {
                struct nft_element v4[] = { elem("192.0.2.1", 32, 3600 * USEC_PER_SEC), elem("198.51.100.0", 24, USEC_INFINITY) };
                struct port_range allow[] = { { IPPROTO_TCP, 80, 80 }, { IPPROTO_TCP, 1970, 1970 } };
                struct nft_group g = {
                        .name = "csall", .comment = "WiseMo", .families = FAMILY_BOTH, .interval = true,
                        .v4 = on_demand ? NULL : v4, .n_v4 = ELEMENTSOF(v4),
                        .elements = on_demand ? script_elements_cb : NULL, .userdata = v4,
                        .allow = allow, .n_allow = ELEMENTSOF(allow),
                };
                struct nft_ruleset want = { .family = NFPROTO_IPV4, .table = "t", .chain = "c", .groups = &g, .n_groups = 1 };
                char *text = NULL;
                size_t size = 0;
                FILE *f = open_memstream(&text, &size);

                ASSERT_EQ(nft_write_script(f, &want, 0), 0);
                fclose(f);
                ASSERT_STREQ(text,
                        "#!/usr/sbin/nft -f\n"
                        "# allowlistd --dry-run: what one full apply would do, in one transaction\n"
                        "add table ip t\n"
                        "add set ip t csall_v4 { type ipv4_addr; flags interval,timeout; comment \"WiseMo\"; }\n"
                        "add chain ip t c\n"
                        "flush set ip t csall_v4\n"
                        "add element ip t csall_v4 { 192.0.2.1 timeout 3600s, 198.51.100.0/24 }\n"
                        "flush chain ip t c\n"
                        "add rule ip t c ip daddr @csall_v4 tcp dport { 80, 1970 } counter accept comment \"csall\"\n");
                free(text);
        }
}

/* Looks for the mark in an exact-size heap copy, so that ASan sees any read past the end. */
static bool mark_in(const void *data, uint32_t len) {
        void *copy = malloc(len ? len : 1);
        bool r;

        if (!copy)
                abort();
        memcpy(copy, data, len);
        r = nft_udata_has_owner_mark(copy, len);
        free(copy);
        return r;
}

static void test_owner_mark(void) {
        struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(256);
        const uint8_t *d;
        uint32_t len, marked_len;
        uint8_t buf[64];

        if (!ud)
                abort();
        /* What nft_apply() writes: byte order, comment, then the mark. */
        ASSERT_EQ(nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_KEYBYTEORDER, 2), true);
        ASSERT_EQ(nftnl_udata_put_strz(ud, NFTNL_UDATA_SET_COMMENT, "WiseMo csall"), true);
        len = nftnl_udata_buf_len(ud);
        d = nftnl_udata_buf_data(ud);
        ASSERT_EQ(mark_in(d, len), false); /* an operator's set: byte order and comment only */
        ASSERT_EQ(nftnl_udata_put_strz(ud, NFT_UDATA_SET_OWNER, NFT_UDATA_SET_OWNER_VALUE), true);
        marked_len = nftnl_udata_buf_len(ud);
        d = nftnl_udata_buf_data(ud);
        ASSERT_EQ(marked_len, len + 2 + sizeof(NFT_UDATA_SET_OWNER_VALUE));
        ASSERT_EQ(mark_in(d, marked_len), true);
        /* Cut anywhere inside the mark: not ours, and nothing read past the end. */
        for (uint32_t l = 0; l < marked_len; l++)
                ASSERT_EQ(mark_in(d, l), false);
        ASSERT_EQ(nft_udata_has_owner_mark(NULL, 10), false);

        /* The mark alone, then variants that are not it. */
        buf[0] = NFT_UDATA_SET_OWNER;
        buf[1] = (uint8_t) sizeof(NFT_UDATA_SET_OWNER_VALUE);
        memcpy(buf + 2, NFT_UDATA_SET_OWNER_VALUE, sizeof(NFT_UDATA_SET_OWNER_VALUE));
        ASSERT_EQ(mark_in(buf, 2 + sizeof(NFT_UDATA_SET_OWNER_VALUE)), true);
        buf[1] = (uint8_t) (sizeof(NFT_UDATA_SET_OWNER_VALUE) - 1); /* without its NUL */
        ASSERT_EQ(mark_in(buf, 2 + sizeof(NFT_UDATA_SET_OWNER_VALUE)), false);
        buf[1] = (uint8_t) sizeof(NFT_UDATA_SET_OWNER_VALUE);
        buf[2] = 'A'; /* another value */
        ASSERT_EQ(mark_in(buf, 2 + sizeof(NFT_UDATA_SET_OWNER_VALUE)), false);
        buf[2] = NFT_UDATA_SET_OWNER_VALUE[0];
        buf[0] = NFTNL_UDATA_SET_COMMENT; /* the same text as a comment */
        ASSERT_EQ(mark_in(buf, 2 + sizeof(NFT_UDATA_SET_OWNER_VALUE)), false);
        /* A length claiming more than is left hides a mark after it. */
        buf[0] = NFTNL_UDATA_SET_COMMENT;
        buf[1] = 0xff;
        buf[2] = NFT_UDATA_SET_OWNER;
        buf[3] = (uint8_t) sizeof(NFT_UDATA_SET_OWNER_VALUE);
        memcpy(buf + 4, NFT_UDATA_SET_OWNER_VALUE, sizeof(NFT_UDATA_SET_OWNER_VALUE));
        ASSERT_EQ(mark_in(buf, 4 + sizeof(NFT_UDATA_SET_OWNER_VALUE)), false);
        /* An empty TLV before it is skipped. */
        buf[1] = 0;
        ASSERT_EQ(mark_in(buf, 4 + sizeof(NFT_UDATA_SET_OWNER_VALUE)), true);
        nftnl_udata_buf_free(ud);
}

/* Elements of each kind in one page's element messages: deleted, added, added with an
 * expiration (extended in place). */
static void count_page(const struct iovec *page, size_t *del, size_t *add, size_t *in_place) {
        int len = (int) page->iov_len;

        for (const struct nlmsghdr *nlh = page->iov_base; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
                uint16_t type = NFNL_MSG_TYPE(nlh->nlmsg_type);
                const struct nlattr *a, *e, *x;

                if (type != NFT_MSG_NEWSETELEM && type != NFT_MSG_DELSETELEM)
                        continue;
                mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
                        if (mnl_attr_get_type(a) != NFTA_SET_ELEM_LIST_ELEMENTS)
                                continue;
                        mnl_attr_for_each_nested(e, a) {
                                bool expiration = false;
                                mnl_attr_for_each_nested(x, e)
                                        expiration = expiration || mnl_attr_get_type(x) == NFTA_SET_ELEM_EXPIRATION;
                                if (type == NFT_MSG_DELSETELEM)
                                        (*del)++;
                                else
                                        (*add)++;
                                *in_place += expiration;
                        }
                }
        }
}

/* The same over every page of the batch. */
static void count_batch(const struct nft_batch *b, size_t *del, size_t *add, size_t *in_place) {
        *del = *add = *in_place = 0;
        for (size_t p = 0; p < b->n_pages; p++)
                count_page(&b->pages[p], del, add, in_place);
}

/* The difference of two sets against a simple model, on random contents: what is sent, in
 * which order, and what is recorded as the kernel's content afterwards. */
static void test_set_content(void) {
        const usec_t now = 1000 * USEC_PER_SEC;
        const usec_t expiries[] = { USEC_INFINITY, now + 3600 * USEC_PER_SEC, now + 7200 * USEC_PER_SEC,
                                    now + 5 * USEC_PER_SEC /* within the margin */ };
        unsigned seed = 1, again_rounds = 0;

        for (int round = 0; round < 2000; round++) {
                struct nft n = { .seq = 1 };
                struct nft_batch b;
                struct nft_element old[64], want[64];
                size_t n_old = 0, n_want = 0, del, add, in_place;
                size_t e_added = 0, e_deleted = 0, e_updated = 0, e_in_place = 0, e_del_msgs = 0, e_ghosts = 0;
                bool e_again = false, may_in_place = round % 2 == 0;
                struct nft_set_content c;
                int r;

                for (unsigned k = 0; k < 1 + (unsigned) round % 64; k++) {
                        char text[32];
                        unsigned v = (unsigned) rand_r(&seed);
                        bool in_old = v % 2 == 0;
                        usec_t e = expiries[(v / 2) % 16 == 0 ? 3 : (v / 32) % 3];

                        snprintf(text, sizeof(text), "192.0.2.%u", k);
                        if (in_old)
                                old[n_old++] = elem(text, 32, e);
                        /* Kept (same expiry or another), vanished, or new. */
                        if ((v / 128) % 3 != 0)
                                want[n_want++] = elem(text, 32, in_old && (v / 384) % 2 == 0 ? e :
                                                                expiries[(v / 768) % 3]);
                }
                /* The model. */
                for (size_t i = 0, j = 0; i < n_old || j < n_want;) {
                        int cmp = i == n_old ? 1 : j == n_want ? -1 :
                                  memcmp(old[i].addr.u.bytes, want[j].addr.u.bytes, 4);
                        bool near = old[i < n_old ? i : 0].expiry != USEC_INFINITY &&
                                    old[i < n_old ? i : 0].expiry <= now + NFT_EXPIRY_MARGIN_USEC;
                        if (cmp < 0) {
                                if (!near)
                                        e_deleted++, e_del_msgs++;
                                else
                                        e_ghosts++;
                                i++;
                        } else if (cmp > 0) {
                                e_added++;
                                j++;
                        } else {
                                if (old[i].expiry != want[j].expiry) {
                                        e_updated++;
                                        if (may_in_place && old[i].expiry != USEC_INFINITY &&
                                            want[j].expiry != USEC_INFINITY)
                                                e_in_place++;
                                        else if (near)
                                                e_again = true;
                                        else
                                                e_del_msgs++;
                                }
                                i++, j++;
                        }
                }

                /* What the kernel holds: the old content as a refill records it. */
                ASSERT_EQ(nft_batch_init(&b, &n, NFPROTO_INET, "t", NULL), 0);
                c = (struct nft_set_content) { .set = "s_v4", .af = AF_INET, .refill = true, .now = now,
                                               .elements = old, .n_elements = n_old };
                ASSERT_EQ(nft_batch_set_content(&b, &c), 0);
                ASSERT_EQ(c.n_applied, n_old);
                ASSERT_EQ(c.added, n_old);
                nft_batch_done(&b);

                ASSERT_EQ(nft_batch_init(&b, &n, NFPROTO_INET, "t", NULL), 0);
                {
                        size_t size0 = b.size;
                        struct nft_set_content d = { .set = "s_v4", .af = AF_INET, .in_place = may_in_place,
                                                     .now = now, .elements = want, .n_elements = n_want,
                                                     .old = c.applied, .n_old = c.n_applied };
                        r = nft_batch_set_content(&b, &d);
                        again_rounds += e_again;
                        if (e_again) {
                                ASSERT_EQ(r, -EAGAIN);
                                ASSERT_EQ(b.size, size0); /* nothing of it left in the batch */
                        } else {
                                bool adds_begun = false;
                                ASSERT_EQ(r, 0);
                                ASSERT_EQ(d.added, e_added);
                                ASSERT_EQ(d.deleted, e_deleted);
                                ASSERT_EQ(d.updated, e_updated);
                                count_batch(&b, &del, &add, &in_place);
                                ASSERT_EQ(del, e_del_msgs);
                                ASSERT_EQ(add, e_added + e_updated);
                                ASSERT_EQ(in_place, e_in_place);
                                /* Deletions before additions. */
                                for (size_t i = 0; i < b.n_msgs; i++) {
                                        adds_begun = adds_begun || b.msgs[i].op == NFT_OP_ADD_ELEMENTS;
                                        if (b.msgs[i].op == NFT_OP_DEL_ELEMENTS)
                                                ASSERT_EQ(adds_begun, false);
                                }
                                /* Recorded: exactly the wanted content, and the vanished
                                 * elements left to their timeouts as ghosts. */
                                ASSERT_EQ(d.n_applied, n_want + e_ghosts);
                                for (size_t i = 0, j = 0; i < d.n_applied; i++) {
                                        const struct nft_applied *a =
                                                (const void *) (d.applied + i * nft_applied_stride(AF_INET));
                                        if (a->ghost) {
                                                e_ghosts--;
                                                continue;
                                        }
                                        ASSERT_EQ(memcmp(a->key, want[j].addr.u.bytes, 4), 0);
                                        ASSERT_EQ(a->expiry == want[j].expiry, true);
                                        ASSERT_EQ(a->prefixlen, 32);
                                        j++;
                                }
                                ASSERT_EQ(e_ghosts, 0);
                        }
                        free(d.applied);
                }
                nft_batch_done(&b);
                free(c.applied);
        }
        /* Both outcomes were exercised. */
        ASSERT_EQ(again_rounds > 100 && again_rounds < 1900, true);
}

/* An element left to its timeout comes back before the timeout surely ran out: it may still be
 * in the kernel, where a plain add would change nothing. In place it is added with an
 * expiration; without, the set is refilled. Long after, it is forgotten. */
static void test_ghost(void) {
        const usec_t now = 1000 * USEC_PER_SEC, soon = now + 2 * USEC_PER_SEC;
        struct nft_element e1[] = { elem("192.0.2.1", 32, now + 3600 * USEC_PER_SEC), elem("192.0.2.2", 32, soon) };
        struct nft_element e2[] = { elem("192.0.2.1", 32, now + 3600 * USEC_PER_SEC) };
        struct nft_element e3[] = { elem("192.0.2.1", 32, now + 3600 * USEC_PER_SEC),
                                    elem("192.0.2.2", 32, now + 7200 * USEC_PER_SEC) };

        for (int in_place = 0; in_place < 2; in_place++) {
                struct nft n = { .seq = 1 };
                struct nft_batch b;
                struct nft_set_content c1 = { .set = "s", .af = AF_INET, .refill = true, .now = now,
                                              .elements = e1, .n_elements = 2 };
                struct nft_set_content c2 = { .set = "s", .af = AF_INET, .in_place = in_place, .now = soon,
                                              .elements = e2, .n_elements = 1 };
                struct nft_set_content c3 = { .set = "s", .af = AF_INET, .in_place = in_place, .now = soon,
                                              .elements = e3, .n_elements = 2 };
                struct nft_set_content c4 = { .set = "s", .af = AF_INET, .in_place = in_place,
                                              .now = soon + NFT_GHOST_USEC, .elements = e2, .n_elements = 1 };
                size_t del, add, inp;

                ASSERT_EQ(nft_batch_init(&b, &n, NFPROTO_INET, "t", NULL), 0);
                ASSERT_EQ(nft_batch_set_content(&b, &c1), 0);
                nft_batch_done(&b);
                /* 192.0.2.2 vanishes at its expiry: not deleted, remembered. */
                ASSERT_EQ(nft_batch_init(&b, &n, NFPROTO_INET, "t", NULL), 0);
                c2.old = c1.applied, c2.n_old = c1.n_applied;
                ASSERT_EQ(nft_batch_set_content(&b, &c2), 0);
                ASSERT_EQ(c2.deleted, 0);
                ASSERT_EQ(c2.n_applied, 2);
                nft_batch_done(&b);
                /* It comes back at once. */
                ASSERT_EQ(nft_batch_init(&b, &n, NFPROTO_INET, "t", NULL), 0);
                c3.old = c2.applied, c3.n_old = c2.n_applied;
                if (in_place) {
                        ASSERT_EQ(nft_batch_set_content(&b, &c3), 0);
                        count_batch(&b, &del, &add, &inp);
                        ASSERT_EQ(del, 0);
                        ASSERT_EQ(add, 1);
                        ASSERT_EQ(inp, 1);
                        ASSERT_EQ(c3.n_applied, 2);
                } else
                        ASSERT_EQ(nft_batch_set_content(&b, &c3), -EAGAIN);
                nft_batch_done(&b);
                /* Long after, the ghost is gone. */
                ASSERT_EQ(nft_batch_init(&b, &n, NFPROTO_INET, "t", NULL), 0);
                c4.old = c2.applied, c4.n_old = c2.n_applied;
                ASSERT_EQ(nft_batch_set_content(&b, &c4), 0);
                ASSERT_EQ(c4.n_applied, 1);
                nft_batch_done(&b);
                free(c1.applied);
                free(c2.applied);
                free(c3.applied);
                free(c4.applied);
        }
}

/* What a batch's pages hold: element counts, those with a comment (userdata) and those with an
 * expiration; every page must end exactly at its last message (none crosses into the next). */
struct page_census {
        size_t elements, comments, expirations;
};

static void census_batch(const struct nft_batch *b, struct page_census *c) {
        size_t total = 0;

        *c = (struct page_census) { 0 };
        for (size_t p = 0; p < b->n_pages; p++) {
                int len = (int) b->pages[p].iov_len;
                const struct nlmsghdr *nlh;

                ASSERT_EQ(b->pages[p].iov_len <= NFT_BATCH_PAGE, true);
                total += b->pages[p].iov_len;
                for (nlh = b->pages[p].iov_base; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
                        const struct nlattr *a, *e, *x;

                        if (NFNL_MSG_TYPE(nlh->nlmsg_type) != NFT_MSG_NEWSETELEM)
                                continue;
                        mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
                                if (mnl_attr_get_type(a) != NFTA_SET_ELEM_LIST_ELEMENTS)
                                        continue;
                                mnl_attr_for_each_nested(e, a) {
                                        c->elements++;
                                        mnl_attr_for_each_nested(x, e) {
                                                c->comments += mnl_attr_get_type(x) == NFTA_SET_ELEM_USERDATA;
                                                c->expirations += mnl_attr_get_type(x) == NFTA_SET_ELEM_EXPIRATION;
                                        }
                                }
                        }
                }
                ASSERT_EQ(len, 0);
        }
        ASSERT_EQ(total, b->size);
}

/* The batch is built in pages that hold whole messages and go with the batch, and a refresh
 * round that extends every lifetime in place is no larger than the batch that created the set:
 * elements the kernel surely still has are sent without their comment (it would keep its own),
 * those that may have run out (or ghosts) with it. */
static void test_batch_pages(void) {
        const usec_t now = 1000 * USEC_PER_SEC;
        const size_t n_elements = 40000;
        struct nft_element *e = calloc(n_elements, sizeof(*e));
        struct nft n = { .seq = 1 };
        struct nft_batch b;
        struct page_census census;
        size_t created;

        ASSERT_EQ(e != NULL, true);
        for (size_t i = 0; i < n_elements; i++) {
                char text[64];
                snprintf(text, sizeof(text), "2001:db8::%zx:%zx", i / 65536, i % 65536);
                e[i] = elem(text, 128, now + 3600 * USEC_PER_SEC);
                /* The one at 100 runs out within the margin: it may be gone by the commit. */
                if (i == 100)
                        e[i].expiry = now + USEC_PER_SEC;
                e[i].comment = "a-host-name-of-sixty-four-characters.example-vendor-cloud.test";
        }

        ASSERT_EQ(nft_batch_init(&b, &n, NFPROTO_INET, "t", NULL), 0);
        struct nft_set_content c = { .set = "s_v6", .af = AF_INET6, .refill = true, .now = now,
                                     .elements = e, .n_elements = n_elements };
        ASSERT_EQ(nft_batch_set_content(&b, &c), 0);
        ASSERT_EQ(nft_batch_finish(&b), 0);
        census_batch(&b, &census);
        ASSERT_EQ(census.elements, n_elements);
        ASSERT_EQ(census.comments, n_elements);
        ASSERT_EQ(census.expirations, 0);
        /* Several pages, each filled but for less than one message's room. */
        ASSERT_EQ(b.n_pages > 1, true);
        for (size_t p = 0; p + 1 < b.n_pages; p++)
                ASSERT_EQ(b.pages[p].iov_len + NFT_MSG_ROOM > NFT_BATCH_PAGE, true);
        created = b.size;
        nft_batch_done(&b);
        ASSERT_EQ(b.n_pages, 0);
        ASSERT_EQ(b.size, 0);

        /* The refresh round: every expiry moves an hour on. */
        for (size_t i = 0; i < n_elements; i++)
                e[i].expiry += 3600 * USEC_PER_SEC;
        ASSERT_EQ(nft_batch_init(&b, &n, NFPROTO_INET, "t", NULL), 0);
        struct nft_set_content d = { .set = "s_v6", .af = AF_INET6, .in_place = true, .now = now,
                                     .elements = e, .n_elements = n_elements, .old = c.applied,
                                     .n_old = c.n_applied };
        ASSERT_EQ(nft_batch_set_content(&b, &d), 0);
        ASSERT_EQ(nft_batch_finish(&b), 0);
        census_batch(&b, &census);
        ASSERT_EQ(d.updated, n_elements);
        ASSERT_EQ(census.elements, n_elements);
        ASSERT_EQ(census.expirations, n_elements);
        ASSERT_EQ(census.comments, 1); /* the one that may have run out */
        ASSERT_EQ(b.size <= created, true);
        /* Sized for what it holds, not for the old and the new content together: it lives
         * beside the old record until the batch is in. */
        ASSERT_EQ(d.n_applied, n_elements);
        ASSERT_EQ(malloc_usable_size(d.applied) < n_elements * nft_applied_stride(AF_INET6) * 3 / 2, true);
        nft_batch_done(&b);

        /* Taken back (a set that must be refilled): the pages it had opened go too. */
        ASSERT_EQ(nft_batch_init(&b, &n, NFPROTO_INET, "t", NULL), 0);
        {
                size_t size0 = b.size, msgs0 = b.n_msgs, pages0 = b.n_pages;
                struct nft_set_content f = { .set = "s_v6", .af = AF_INET6, .refill = true, .now = now,
                                             .elements = e, .n_elements = n_elements };
                ASSERT_EQ(nft_batch_set_content(&b, &f), 0);
                ASSERT_EQ(b.n_pages > pages0, true);
                nft_batch_rewind(&b, size0, msgs0);
                ASSERT_EQ(b.size, size0);
                ASSERT_EQ(b.n_msgs, msgs0);
                ASSERT_EQ(b.n_pages, pages0);
                free(f.applied);
        }
        nft_batch_done(&b);
        free(c.applied);
        free(d.applied);
        free(e);
}

int main(void) {
        test_timeout();
        test_comment();
        test_iter();
        test_ports();
        test_script();
        test_owner_mark();
        test_set_content();
        test_ghost();
        test_batch_pages();
        return 0;
}
