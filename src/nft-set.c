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
/* The largest element: nests, an IPv6 key, flags, timeout, expiration and a comment of
 * NFT_COMMENT_MAX bytes (196 bytes). */
#define NFT_ELEMENT_MAX_SIZE 256U
#define NFT_BYTEORDER_BIG_ENDIAN 2 /* nft's enum byteorder, kept in set userdata */

/* NEWSET for a named set of ours (create if missing) or for an anonymous constant port set
 * (set_id != 0; comment is then the group the rule is for, named in errors), or DELSET, or a
 * flush (DELSETELEM without elements). */
int nft_batch_set(struct nft_batch *b, enum nft_op op, const char *name, int af, bool interval,
                  const char *comment, uint32_t set_id, uint32_t desc_size) {
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
                /* Sized for its content, the kernel's hash table is allocated once instead of
                 * growing by doubling through a big first fill. It is also the set's limit. */
                if (desc_size > 0)
                        nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, desc_size);
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
                nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, desc_size);
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
        case NFT_OP_DEL_ELEMENTS:
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

int nft_elem_writer_put(struct nft_elem_writer *w, const void *key, size_t len, bool end, uint64_t timeout_ms,
                        uint64_t expiration_ms, const char *comment) {
        struct nlattr *e, *k;

        if (w->nlh && ((size_t) ((char *) mnl_nlmsg_get_payload_tail(w->nlh) - (char *) w->list) >
                               NFT_ELEMENTS_NEST_MAX - NFT_ELEMENT_MAX_SIZE ||
                       !nft_batch_msg_fits(w->b, w->nlh, NFT_ELEMENT_MAX_SIZE)))
                nft_elem_writer_flush(w);
        if (!w->nlh) {
                w->nlh = w->delete ?
                        nft_batch_begin_msg(w->b, NFT_MSG_DELSETELEM, 0, NFT_OP_DEL_ELEMENTS, w->msg_name) :
                        nft_batch_begin_msg(w->b, NFT_MSG_NEWSETELEM, NLM_F_CREATE, NFT_OP_ADD_ELEMENTS, w->msg_name);
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
        if (expiration_ms > 0)
                mnl_attr_put_u64(w->nlh, NFTA_SET_ELEM_EXPIRATION, htobe64(expiration_ms));
        if (comment && *comment) {
                /* What nft writes for `comment "..."`: one NFTNL_UDATA_SET_ELEM_COMMENT TLV
                 * (type 0, length, the string with its NUL), so `nft list set` shows it. */
                char c[NFT_COMMENT_MAX + 1];
                uint8_t ud[2 + sizeof(c)];
                size_t l;

                nft_comment_sanitize(comment, c);
                l = strlen(c) + 1;
                if (l > 1) {
                        ud[0] = 0; /* NFTNL_UDATA_SET_ELEM_COMMENT */
                        ud[1] = (uint8_t) l;
                        memcpy(ud + 2, c, l);
                        mnl_attr_put(w->nlh, NFTA_SET_ELEM_USERDATA, 2 + l, ud);
                }
        }
        mnl_attr_nest_end(w->nlh, e);
        return 0;
}

size_t nft_applied_stride(int af) {
        /* The key right behind the prefix length, each record aligned for its expiry: 16 bytes
         * for IPv4, 32 for IPv6. */
        size_t s = offsetof(struct nft_applied, key) + (af == AF_INET ? 4 : 16);
        return (s + sizeof(usec_t) - 1) / sizeof(usec_t) * sizeof(usec_t);
}

/* stride: nft_applied_stride() of the set's family, taken once per set, not per element. */
static struct nft_applied *applied_at(const uint8_t *base, size_t stride, size_t i) {
        return (struct nft_applied *) (base + i * stride);
}

/* One past the last address of key/prefixlen, and whether the range reaches the top. */
static void range_next(const uint8_t *key, size_t len, uint8_t prefixlen, uint8_t next[static 16], bool *ret_to_top) {
        bool carry = true;

        for (size_t b = len; b-- > 0;) {
                unsigned keep = prefixlen >= (b + 1) * 8 ? 8 : prefixlen <= b * 8 ? 0 : prefixlen - (unsigned) b * 8;
                uint8_t last = key[b] | (uint8_t) ~(0xff00u >> keep);
                next[b] = (uint8_t) (last + carry);
                carry = carry && last == 0xff;
        }
        *ret_to_top = carry;
}

/* An element (with its end element in an interval set) to add, or to delete (w->delete). */
static int put_element(struct nft_elem_writer *w, const struct nft_set_content *c, const uint8_t *key,
                       uint8_t prefixlen, usec_t expiry, const char *comment, bool in_place) {
        size_t len = c->af == AF_INET ? 4 : 16;
        uint64_t timeout_ms = w->delete ? 0 : nft_timeout_sec(expiry, c->now) * 1000;
        uint8_t next[16];
        bool to_top;
        int r;

        /* In place (Linux 6.12 and later), a different timeout alone is not enough when it
         * happens to equal the one the element was added with: the expiration moves it. */
        r = nft_elem_writer_put(w, key, len, false, timeout_ms, in_place ? timeout_ms : 0, w->delete ? NULL : comment);
        if (r < 0 || !c->interval)
                return r;
        /* An interval is its start plus an end element one past its last address; a range
         * reaching the top of the address space has no end element (as in nft). */
        range_next(key, len, prefixlen, next, &to_top);
        return to_top ? 0 : nft_elem_writer_put(w, next, len, true, 0, 0, NULL);
}

/* Whether the kernel may have dropped the element on its own by the time this batch commits:
 * its timeout ran from our last commit, rounded up to a second, so it lives at least until
 * its expiry; the margin covers the time until this batch is in. */
static bool may_have_expired(usec_t expiry, usec_t now) {
        return expiry != USEC_INFINITY && (expiry <= now || expiry - now <= NFT_EXPIRY_MARGIN_USEC);
}

static int compare_key(const uint8_t *key, uint8_t prefixlen, const struct nft_applied *o, size_t len) {
        int c = nft_key_compare(key, o->key, len);

        if (c != 0)
                return c;
        return prefixlen < o->prefixlen ? -1 : prefixlen > o->prefixlen;
}

int nft_batch_set_content(struct nft_batch *b, struct nft_set_content *c) {
        size_t len = c->af == AF_INET ? 4 : 16, stride = nft_applied_stride(c->af);
        size_t size0 = b->size, msgs0 = b->n_msgs;
        _cleanup_free_ uint8_t *applied = NULL;
        /* What the kernel will hold: the wanted elements and the ghosts of vanished ones,
         * counted by the deletion pass (a refill has no ghosts), so that the record of it is
         * no larger than it: it lives beside the old one until the batch is in. */
        size_t n_applied = 0, n_keep = c->n_elements;
        int r;

        c->added = c->deleted = c->updated = 0;

        /* Deletions first: an element that goes and comes back in the same batch (a lifetime
         * extended where the kernel cannot do it in place) must be deleted before it is added,
         * or the add finds it still there and does nothing. The kernel commits the batch at
         * once: no reader sees it missing. */
        for (int pass = c->refill ? 1 : 0; pass < 2; pass++) {
                struct nft_elem_writer w = { .b = b, .set = c->set, .msg_name = c->set, .delete = pass == 0 };
                struct nft_element_iter it;
                const struct nft_element *e;
                uint8_t first[16], next[16];
                bool to_top;
                size_t i = 0, n_old = c->refill ? 0 : c->n_old;

                if (pass == 1) {
                        applied = malloc(MAX(n_keep, (size_t) 1) * stride);
                        if (!applied)
                                return -ENOMEM;
                } else
                        n_keep = 0;
                nft_element_iter_init(&it, c->elements, c->n_elements, c->af, c->interval);
                e = nft_element_iter_next(&it, first, next, &to_top);
                while (e || i < n_old) {
                        const struct nft_applied *o = i < n_old ? applied_at(c->old, stride, i) : NULL;
                        int cmp = !o ? -1 : !e ? 1 : compare_key(first, e->addr.prefixlen, o, len);
                        bool add = false, in_place = false;

                        if (cmp > 0) {
                                /* Gone from the wanted content. One whose timeout is running
                                 * out anyway is left to the kernel (deleting it after the
                                 * kernel dropped it would fail the whole batch) and kept as a
                                 * ghost until it surely has: should it come back meanwhile, it
                                 * may still be there, and a plain add would change nothing. In
                                 * an interval set its end element would stay behind: refill. */
                                if (o->ghost) {
                                        if (c->now - MIN(c->now, o->expiry) >= NFT_GHOST_USEC)
                                                ; /* surely gone: forgotten */
                                        else if (pass == 0)
                                                n_keep++;
                                        else
                                                memcpy(applied_at(applied, stride, n_applied++), o, stride);
                                } else if (may_have_expired(o->expiry, c->now)) {
                                        if (c->interval)
                                                goto refill;
                                        if (pass == 0)
                                                n_keep++;
                                        else {
                                                struct nft_applied *a = applied_at(applied, stride, n_applied++);
                                                memcpy(a, o, stride);
                                                a->ghost = true;
                                        }
                                } else if (pass == 0) {
                                        r = put_element(&w, c, o->key, o->prefixlen, 0, NULL, false);
                                        if (r < 0)
                                                return r;
                                        c->deleted++;
                                }
                                i++;
                                continue;
                        }
                        if (cmp < 0)
                                add = true, c->added += pass;
                        else if (o->ghost || o->expiry != e->expiry) {
                                in_place = c->in_place && !c->interval && o->expiry != USEC_INFINITY &&
                                           e->expiry != USEC_INFINITY;
                                /* Re-adding a timed element without a timeout would make it
                                 * permanent, and one with a timeout over a static one changes
                                 * nothing: those, and every update where the kernel cannot
                                 * extend in place, are a delete and an add. */
                                if (pass == 0 && !in_place) {
                                        if (may_have_expired(o->expiry, c->now))
                                                goto refill;
                                        r = put_element(&w, c, o->key, o->prefixlen, 0, NULL, false);
                                        if (r < 0)
                                                return r;
                                }
                                add = true;
                                if (o->ghost)
                                        c->added += pass;
                                else
                                        c->updated += pass;
                        }
                        if (pass == 0)
                                n_keep++;
                        else {
                                struct nft_applied *a = applied_at(applied, stride, n_applied++);
                                /* Extended in place, an element the kernel surely still has
                                 * keeps its comment: sent again, the kernel would ignore it,
                                 * and it would make the batch of a refresh round larger than
                                 * the one that created the set. A ghost, or one whose timeout
                                 * may have run out, may be created anew: it needs one. */
                                bool known = in_place && !o->ghost && !may_have_expired(o->expiry, c->now);
                                if (add) {
                                        r = put_element(&w, c, first, e->addr.prefixlen, e->expiry,
                                                        known ? NULL : e->comment, in_place);
                                        if (r < 0)
                                                return r;
                                }
                                a->expiry = e->expiry;
                                a->prefixlen = e->addr.prefixlen;
                                a->ghost = false;
                                memcpy(a->key, first, len);
                        }
                        if (cmp == 0)
                                i++;
                        e = nft_element_iter_next(&it, first, next, &to_top);
                }
                r = nft_elem_writer_flush(&w);
                if (r < 0)
                        return r;
        }
        c->applied = TAKE_PTR(applied);
        c->n_applied = n_applied;
        return 0;
refill:
        /* Nothing of this set stays in the batch: the caller flushes and refills it. */
        nft_batch_rewind(b, size0, msgs0);
        c->added = c->deleted = c->updated = 0;
        return -EAGAIN;
}
