/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Shared by the rooms of the nft module, not for other modules. Who uses whom, one way:
 *   nft.c (apply, remove: decides)  -> nft-set.c, nft-chain.c (messages), nft-probe.c (GETs)
 *                                   -> nft-monitor.c (told what to watch; reports back only
 *                                      through its callback)
 *   nft-queue.c (the snooping chains, on a handle of their own) -> nft-chain.c (messages)
 *   nft-set.c, nft-chain.c, nft-probe.c, nft-queue.c -> nft-batch.c (the socket, batches, replies)
 *   everything                      -> nft-util.c (pure helpers), also used by nft-script.c */

#include <endian.h>
#include <sys/uio.h>
#include <libmnl/libmnl.h>

#include "nft-monitor.h"
#include "nft-queue.h"
#include "nft.h"

struct nftnl_expr;
struct nftnl_rule;

#define NFT_SET_NAME_MAX (GROUP_NAME_MAX + 4) /* NAME_v4 */
/* nft(8) refuses longer comments ("comment too long, 128 characters maximum allowed"); the
 * netlink path uses the same limit so --dry-run and the kernel agree. */
#define NFT_COMMENT_MAX 128
/* Element timeouts are clamped to ten years: far beyond any validity, far below the
 * kernel's jiffies overflow check (-ERANGE). */
#define NFT_TIMEOUT_MAX_SEC (10ULL * 365 * 24 * 3600)

/* The daemon's mark in the userdata of every set it creates, so that a later run knows the set
 * is its own and may recreate it when it needs other flags (a static prefix came in: interval).
 * A TLV type nft does not know: nft 1.0.6's set_parse_udata_cb() skips unknown types, so
 * `nft list` shows the set as before and nothing of the mark. A set (re)declared from the
 * operator's file, even a saved copy of ours, carries no mark and is the operator's. */
#define NFT_UDATA_SET_OWNER 0xa1
#define NFT_UDATA_SET_OWNER_VALUE "allowlistd"

/* A vanished element whose expiry is this close is left to the kernel's timeout, and one that
 * would need deleting is sent with its set refilled: it may be gone by the time a batch commits. */
#define NFT_EXPIRY_MARGIN_USEC (10 * USEC_PER_SEC)
/* How long after its expiry such an element is remembered: its kernel timeout ends at most a
 * second after the expiry, plus the time our last batch took to commit. */
#define NFT_GHOST_USEC (2 * NFT_EXPIRY_MARGIN_USEC)

/* One element as the last successful apply left it, for the next apply to diff against.
 * Records of nft_applied_stride(af) bytes, sorted as they were sent (by key). */
struct nft_applied {
        usec_t expiry;     /* USEC_INFINITY: no timeout */
        uint8_t prefixlen;
        bool ghost;        /* no longer wanted, left to its timeout, which may not have run out */
        uint8_t key[];     /* first address, big endian: 4 or 16 bytes */
};
size_t nft_applied_stride(int af);

struct nft_tracked_set {
        char name[NFT_SET_NAME_MAX + 1];
        uint64_t fingerprint; /* content of the last successful apply */
        bool created;         /* made by the daemon (this run or an earlier one): carries its mark */
        bool interval;        /* the kernel set has flags interval: elements go as ranges */
        uint32_t size;        /* the kernel set's size limit, 0: none */
        uint8_t *applied;     /* its elements after the last successful apply; NULL: unknown */
        size_t n_applied;
};

/* What the last committed apply sent, for tests and benchmarks. */
struct nft_stats {
        size_t bytes;         /* the batch */
        size_t added, deleted, updated; /* elements, by difference */
        size_t refilled;      /* sets flushed and filled whole */
};

struct nft {
        struct mnl_socket *nl;
        uint32_t portid;
        uint32_t seq;

        int sndbuf, rcvbuf;     /* what we set, so it is only raised */

        /* What the last successful apply left in the kernel. */
        int family;
        char *table, *chain;
        bool table_created;
        bool probed;            /* the table's sets were checked since the last change */
        bool chain_known;
        uint64_t chain_fingerprint;
        struct nft_tracked_set *sets;
        size_t n_sets, allocated_sets;

        nft_leftover_cb on_leftover;
        void *leftover_userdata;

        /* Linux 6.12 and later extend an element's lifetime when it is added again with another
         * timeout or an expiration; before, it takes a delete and an add in the same batch. */
        bool update_in_place;
        struct nft_stats stats;

        struct nft_async *async;     /* the transaction of nft_apply_async() in flight, or NULL */
        struct nft_sender *sender;   /* the thread that sends them, from the first on */

        struct nft_monitor *monitor; /* NULL until nft_monitor_start() */
        nft_change_cb on_change;
        void *change_userdata;
};

/* Orders two addresses of len bytes (4 or 16, big endian) as memcmp() does, in a few loads:
 * every element of an apply goes through it twice. */
static inline int nft_key_compare(const uint8_t *a, const uint8_t *b, size_t len) {
        uint64_t x, y;

        if (len == 4) {
                uint32_t p, q;
                memcpy(&p, a, 4);
                memcpy(&q, b, 4);
                p = be32toh(p);
                q = be32toh(q);
                return p < q ? -1 : p > q;
        }
        for (size_t i = 0; i < len; i += 8) {
                memcpy(&x, a + i, 8);
                memcpy(&y, b + i, 8);
                x = be64toh(x);
                y = be64toh(y);
                if (x != y)
                        return x < y ? -1 : 1;
        }
        return 0;
}

/* "inet", "ip", "ip6". */
const char *nft_family_to_string(int family);

/* The elements of g's set of family af: its array, or built by its callback (then also in
 * *ret_owned, which the caller frees). Returns 0 or -ENOMEM. */
int nft_group_elements(const struct nft_group *g, int af, const struct nft_element **ret, size_t *ret_n,
                       struct nft_element **ret_owned);

/* Whether the set NAME_v4 (af AF_INET) or NAME_v6 exists for g in a table of this family. */
bool nft_group_wants(const struct nft_ruleset *want, const struct nft_group *g, int af);

/* The element timeout in seconds, rounded up, at least 1 (the kernel reads 0 as "never");
 * 0 means a static element without timeout. */
uint64_t nft_timeout_sec(usec_t expiry, usec_t now);

/* Copies a comment into out, at most NFT_COMMENT_MAX bytes (cut at a UTF-8 boundary), with
 * the characters nft's quoted strings cannot carry (", newline, control characters) replaced. */
void nft_comment_sanitize(const char *in, char out[static NFT_COMMENT_MAX + 1]);

/* Walks the elements of one set, skipping whatever breaks the caller's promise (other family,
 * a prefix in a non-interval set, unsorted, duplicate or overlapping entries), so that a bad
 * list can neither crash nor make the kernel refuse the batch. */
struct nft_element_iter {
        const struct nft_element *elements;
        size_t n, i;
        int af;
        bool interval;
        bool have_prev;
        uint8_t prev_last[16];
};
void nft_element_iter_init(struct nft_element_iter *it, const struct nft_element *elements, size_t n,
                           int af, bool interval);
/* Returns the next usable element with its first and last address (big endian, 4 or 16
 * bytes used) and whether last is the top of the address space, or NULL at the end. */
const struct nft_element *nft_element_iter_next(struct nft_element_iter *it, uint8_t first[static 16],
                                                uint8_t last_plus_one[static 16], bool *ret_to_top);

/* Whether a set's userdata (NFTNL_UDATA TLVs: type, length, value) carries the daemon's mark.
 * It comes from the kernel, written by whoever made the set: every length is checked against
 * what is left (nftnl_udata_parse() checks none). */
bool nft_udata_has_owner_mark(const void *data, uint32_t len);

/* The protocols of a group's allow= in first-seen order; returns how many (at most 2). */
size_t nft_group_protocols(const struct nft_group *g, uint8_t protos[static 2]);

/* The port ranges of one protocol, sorted, overlapping and adjacent ones merged; returns how
 * many were written to ret (which holds g->n_allow entries). */
size_t nft_group_ports(const struct nft_group *g, uint8_t proto, struct port_range *ret);

/* Sizes of the batch exchange. */
#define NFT_REQUEST_BUFFER 8192 /* one GET request */
#define NFT_RECV_BUFFER (32U * 1024U)

#define NFT_TYPE_IPV4_ADDR 7
#define NFT_TYPE_IPV6_ADDR 8
#define NFT_TYPE_INET_SERVICE 13

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
        NFT_OP_DEL_ELEMENTS,
        NFT_OP_NEW_PORT_SET,
};

/* What one message of the batch was about, so its reply can name the object. */
struct nft_msg {
        enum nft_op op;
        bool acked;
        char name[NFT_SET_NAME_MAX + 1]; /* set name, or the group of a rule; empty for others */
};

/* A batch is built in pages of this size, each holding whole messages, and sent with one
 * sendmsg() over all of them (nftables' mnl_batch): nothing as large as the batch is ever
 * allocated, grown or copied, and the pages go back to the system with the batch. A page is
 * only address space until written: what a batch costs in memory is what it holds. */
#define NFT_BATCH_PAGE (1024U * 1024U)
/* sendmsg() takes at most UIO_MAXIOV pieces: a batch of up to 1 GiB. */
#define NFT_BATCH_PAGES_MAX 1024U

struct nft_batch {
        struct nft *n;
        int family;
        const char *table, *chain;
        size_t size;                 /* bytes in all pages */
        struct iovec *pages;         /* iov_len: the bytes used in each */
        size_t n_pages, allocated_pages;
        uint32_t seq_first;
        uint32_t next_set_id;
        struct nft_msg *msgs;
        size_t n_msgs, allocated_msgs;
};

/* A set as the kernel has it, from the GETSET dump of the table. */
struct nft_kernel_set {
        char name[NFT_SET_NAME_MAX + 1];
        uint32_t flags, key_type, key_len;
        uint64_t timeout_ms; /* the set's default element timeout, 0: none */
        uint32_t size;       /* its size limit, 0: none */
        bool expressions;    /* statements for its elements (`counter` in the declaration) */
        bool ours;           /* carries the daemon's mark: created by this or an earlier run */
};

struct nft_probe_result {
        const char *table;
        bool table_exists;
        uint32_t table_use;
        struct nft_kernel_set *sets;
        size_t n_sets, allocated_sets;
        int r;
};

/* ---- nft.c: one apply in steps, for the synchronous and the event-loop paths ---- */

struct nft_plan;
/* Decides what an apply sends and builds its batch (reading the kernel's sets when it must);
 * pauses the monitor. Returns 1 with *ret to send, 0 when there is nothing to send, or a
 * negative errno with err filled. */
int nft_plan_new(struct nft *n, const struct nft_ruleset *want, usec_t now, bool force, struct nft_error *err,
                 struct nft_plan **ret);
struct nft_batch *nft_plan_batch(struct nft_plan *pl);
/* Whether some set goes as a difference (a refusal with ENOENT is then worth a refill). */
bool nft_plan_has_delta(const struct nft_plan *pl);
/* After the batch's replies, r being their result: what the kernel now holds (or that it is
 * unknown), the sets of vanished groups let go of, the monitor resumed. Returns 1 or r < 0. */
int nft_plan_done(struct nft_plan *pl, int r, struct nft_error *err);
/* Without nft_plan_done(), the outcome counts as unknown. */
struct nft_plan *nft_plan_free(struct nft_plan *pl);
static inline void nft_plan_freep(struct nft_plan **pl) { nft_plan_free(*pl); }

/* Tells the monitor what is ours now. */
void nft_watch_update(struct nft *n);

/* ---- nft-async.c ---- */

/* For nft_free(): gives up the transaction in flight, if any (nft_apply_cancel()), and stops
 * the thread that sends them. */
void nft_async_cancel(struct nft *n);

/* ---- nft-batch.c ---- */

/* Starts a batch (BEGIN) for objects of one table; chain may be NULL. */
int nft_batch_init(struct nft_batch *b, struct nft *n, int family, const char *table, const char *chain);
/* Ends it (END); the sequence numbers it used are never used again. */
int nft_batch_finish(struct nft_batch *b);
/* Frees what the batch holds and leaves it empty: a second call is harmless. */
void nft_batch_done(struct nft_batch *b);
/* The header of one more message about op (name: the set, or the group of a rule; may be
 * NULL), with room for NFT_MSG_ROOM bytes behind it: every message but an element list is far
 * below that, and element lists check nft_batch_msg_fits() for each element. NULL when out of
 * memory or the batch would exceed NFT_BATCH_PAGES_MAX pages. */
#define NFT_MSG_ROOM (8U * 1024U)
struct nlmsghdr *nft_batch_begin_msg(struct nft_batch *b, uint16_t type, uint16_t flags, enum nft_op op,
                                     const char *name);
/* Whether the open message nlh (the last begun) can grow by more bytes within its page. */
bool nft_batch_msg_fits(const struct nft_batch *b, const struct nlmsghdr *nlh, size_t more);
void nft_batch_end_msg(struct nft_batch *b, struct nlmsghdr *nlh);
/* Takes back every message after the first n_msgs, which ended at size bytes. */
void nft_batch_rewind(struct nft_batch *b, size_t size, size_t n_msgs);
/* NEWTABLE (create if missing) or DELTABLE. */
int nft_batch_table(struct nft_batch *b, enum nft_op op);
/* Sends the batch in one sendmsg() and waits for every reply; on failure err names the object
 * of the first message the kernel refused. */
int nft_batch_send(struct nft_batch *b, struct nft_error *err);

/* The same in steps, for the event loop: sizes the socket buffers and drops stale replies
 * (prepare), sends (transmit: touches nothing but the socket and the batch, so another thread
 * may run it; the batch's pages go back to the system then, its size stays), then feeds each datagram of replies until it returns true, and takes the
 * result. nft_acks_read_error() fills err for a failed read or a timeout. */
struct nft_acks {
        size_t expected, acked, failed;
        int error;
        char detail[160];
};
int nft_batch_prepare_send(struct nft_batch *b, struct nft_error *err);
int nft_batch_transmit(struct nft_batch *b);
void nft_acks_init(const struct nft_batch *b, struct nft_acks *a);
bool nft_acks_feed(struct nft_batch *b, struct nft_acks *a, const char *buf, int len);
int nft_acks_result(const struct nft_batch *b, const struct nft_acks *a, struct nft_error *err);
int nft_acks_read_error(const struct nft_batch *b, int r, struct nft_error *err);
/* Fills err for message m of b (or a message like it) failing with error. */
void nft_error_set(struct nft_error *err, const struct nft_batch *b, const struct nft_msg *m, int error,
                   const char *detail);
/* Sends one request (not a batch) and feeds every reply of its sequence number to cb. */
int nft_request(struct nft *n, struct nlmsghdr *nlh, mnl_cb_t cb, void *data);
/* nft_get_generation() (nft.h) is here too: NFT_MSG_GETGEN on the batch socket. */

/* ---- nft-set.c ---- */

/* Writes NEWSETELEM messages, starting a new one whenever the element list attribute would
 * overflow its 16-bit length. */
struct nft_elem_writer {
        struct nft_batch *b;
        const char *set;
        const char *msg_name;
        uint32_t set_id;
        bool delete;          /* DELSETELEM instead of NEWSETELEM */
        struct nlmsghdr *nlh;
        struct nlattr *list;
};
/* One element: end marks an interval's end element; timeout_ms 0: none; expiration_ms 0: none;
 * comment NULL or "": none. */
int nft_elem_writer_put(struct nft_elem_writer *w, const void *key, size_t len, bool end, uint64_t timeout_ms,
                        uint64_t expiration_ms, const char *comment);
int nft_elem_writer_flush(struct nft_elem_writer *w);

/* NEWSET for a named set of ours (create if missing) or for an anonymous constant port set
 * (set_id != 0; comment is then the group the rule is for, named in errors), or DELSET, or a
 * flush (DELSETELEM without elements). */
int nft_batch_set(struct nft_batch *b, enum nft_op op, const char *name, int af, bool interval,
                  const char *comment, uint32_t set_id, uint32_t n_ports);
/* The elements one set needs in a batch. */
struct nft_set_content {
        const char *set;
        int af;
        bool interval;
        bool in_place;          /* the kernel extends lifetimes in place */
        bool refill;            /* the set is new or flushed in this batch: old is not looked at */
        usec_t now;
        const struct nft_element *elements; /* wanted, sorted (see nft_element_iter) */
        size_t n_elements;
        const uint8_t *old;     /* what the kernel has (nft_applied records) */
        size_t n_old;

        uint8_t *applied;       /* out: what it holds once the batch is in; the caller frees it */
        size_t n_applied;
        size_t added, deleted, updated; /* out */
};
/* Writes the difference between old and the wanted elements: new ones added, vanished ones
 * deleted, changed lifetimes extended (in place, or deleted and added again), or every wanted
 * element after a flush (refill). Returns -EAGAIN with nothing written when the difference
 * cannot be sent safely (an element to delete may already have timed out in the kernel): the
 * caller flushes and refills the set. */
int nft_batch_set_content(struct nft_batch *b, struct nft_set_content *c);

/* ---- nft-chain.c ---- */

/* NEWCHAIN (create if missing), DELCHAIN, or a flush (DELRULE naming only the chain). */
int nft_batch_chain(struct nft_batch *b, enum nft_op op);
/* The rule of group g for one family and protocol (nothing when it allows no port of it). */
int nft_batch_rule(struct nft_batch *b, const struct nft_group *g, int af, uint8_t proto);
/* NEWCHAIN of a base chain (create if missing): type filter, hook, priority, policy accept. */
int nft_batch_base_chain(struct nft_batch *b, uint32_t hook, int32_t priority);
/* Expressions as nft generates them, loading into or comparing register 1 (NULL when out of
 * memory); nft_rule_add() takes e (-ENOMEM for NULL). */
struct nftnl_expr *nft_expr_meta(uint32_t key);
/* An expression of kind with two u32 attributes (meta/ct load, immediate verdict). */
struct nftnl_expr *nft_expr_two(const char *kind, uint16_t attr1, uint32_t value1, uint16_t attr2, uint32_t value2);
struct nftnl_expr *nft_expr_cmp(uint32_t op, const void *data, uint32_t len);
struct nftnl_expr *nft_expr_payload(uint32_t base, uint32_t offset, uint32_t len);
int nft_rule_add(struct nftnl_rule *r, struct nftnl_expr *e);
/* NEWRULE (appended) for rule; name: what errors name it by (the group). */
int nft_batch_add_rule(struct nft_batch *b, struct nftnl_rule *rule, const char *name);

/* ---- nft-queue.c ---- */

/* The messages of one snooping chain: NEWTABLE, its base chain on hook (b->chain), a flush, and
 * its rules (one per server, or one for any), the queue given as kind. */
int nft_queue_batch_chain(struct nft_batch *b, const struct nft_queue_spec *spec, enum nft_queue_kind kind,
                          uint32_t hook);

/* ---- nft-probe.c ---- */

/* What exists of the table and its sets (p->sets to be freed by the caller). */
int nft_probe(struct nft *n, int family, const char *table, struct nft_probe_result *p);
const struct nft_kernel_set *nft_probe_find(const struct nft_probe_result *p, const char *name);
/* 0 when an existing set can be filled by the daemon as it is, else -EEXIST and what differs. */
int nft_kernel_set_check(const struct nft_kernel_set *ks, int af, bool need_interval, char *hint, size_t size);
/* 1 when the chain exists, 0 when not, or a negative errno. */
int nft_chain_exists(struct nft *n, int family, const char *table, const char *chain);
