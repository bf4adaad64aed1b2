/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <systemd/sd-event.h>

#include "addr.h"
#include "config.h"
#include "util.h"

/* The kernel side: the daemon's table, sets and chain, written through libnftnl + libmnl in
 * one netlink batch per apply, and a monitor that notices when someone else changes them. */
struct nft;

/* One element of a set: an address or (interval sets only) a prefix. */
struct nft_element {
        struct ip_addr addr;
        usec_t expiry; /* CLOCK_BOOTTIME usec; USEC_INFINITY: no timeout (static entry) */
        /* Shown by `nft list set` (the host that brought the address), or NULL. Sent when the
         * element is added, not compared: a new comment alone sends nothing. */
        const char *comment;
};

/* Room for a set's name: NAME_v4 or NAME_v6, and the terminating NUL. */
#define NFT_SET_NAME_LEN (GROUP_NAME_MAX + 5)

struct nft_group;
/* Builds the elements of one of g's sets (af AF_INET or AF_INET6) at the moment the apply needs
 * them, as an array the caller frees (*ret NULL when there are none), sorted by address, with no
 * duplicates or overlaps. Returns 0 or -ENOMEM. */
typedef int (*nft_elements_cb)(const struct nft_group *g, int af, struct nft_element **ret, size_t *ret_n);

/* What one group should look like in the kernel. */
struct nft_group {
        const char *name;    /* sets NAME_v4 / NAME_v6 */
        const char *comment; /* set and rule comment: product, description, hosts */
        unsigned families;   /* enum family_mask: which of the two sets exist */
        bool interval;       /* the group has static prefixes: sets get flags interval */
        const struct nft_element *v4, *v6; /* sorted by address, no duplicates, no overlaps */
        size_t n_v4, n_v6;   /* also with elements: how many it gives */
        /* Instead of v4 and v6: an apply builds each set's elements when it comes to that set
         * and frees them after, so that one set's elements exist at a time, not the whole
         * ruleset's for the whole transaction. userdata is for it. */
        nft_elements_cb elements;
        const void *userdata;
        const struct port_range *allow;
        size_t n_allow;
};

/* Everything the daemon owns, as it should be after the apply. */
struct nft_ruleset {
        int family;        /* NFPROTO_INET, NFPROTO_IPV4, NFPROTO_IPV6 */
        const char *table;
        const char *chain; /* NULL: sets only */
        const struct nft_group *groups;
        size_t n_groups;
};

/* Where an apply failed, for the message the caller logs. */
struct nft_error {
        char object[128]; /* "set inet allowlistd csall_v4" */
        char hint[256];   /* "needs CAP_NET_ADMIN", "exists with type ipv6_addr, expected ipv4_addr", ... */
        /* The batch went out but its replies were lost (ENOBUFS, a timeout): the kernel may have
         * committed it or not. generation is the ruleset generation read just before the send
         * (generation_known false when that read failed), to compare with nft_get_generation(). */
        bool unknown;
        bool generation_known;
        uint32_t generation;
};

/* Opens the netlink socket. Returns 0 or a negative errno. */
int nft_open(struct nft **ret);
struct nft *nft_free(struct nft *n);
static inline void nft_freep(struct nft **n) { nft_free(*n); }

/* Makes the kernel match want in one transaction: creates what is missing, replaces the content
 * of every set that changed since the last successful apply (flush + add, timeouts from expiry
 * and now, at least 1 s), rebuilds the chain's rules when they changed. After that commit
 * the sets of groups that disappeared since the last apply are deleted best effort, each in a
 * transaction of its own (see nft_set_leftover_callback()). Sends nothing when nothing
 * changed, unless force. now is CLOCK_BOOTTIME usec. On failure the kernel is unchanged (the batch is rolled
 * back), err is filled and a negative errno returned. Returns 1 when a transaction was
 * committed, 0 when there was nothing to send. */
int nft_apply(struct nft *n, const struct nft_ruleset *want, usec_t now, bool force, struct nft_error *err);

/* The outcome of nft_apply_async(): r as nft_apply() returns it (1 committed, 0 nothing to
 * send, negative errno with err filled: the kernel is unchanged, or, with -ETIMEDOUT or
 * -ENOBUFS, its state unknown and the next apply refills). */
typedef void (*nft_apply_cb)(struct nft *n, int r, const struct nft_error *err, void *userdata);

/* The same transaction as nft_apply(), for an event loop that must never wait on the netlink
 * socket: the batch is sent from a thread of its own (the kernel processes a batch inside
 * sendmsg(), behind the commit lock another process may hold for a long time) and its replies
 * are read from an io source on e; cb is called from e once they are in, or 5 s after the send
 * without them (-ETIMEDOUT), or with 0 when there was nothing to send. Never called from inside
 * this call. The send itself has no bound (another commit ends when it ends): a caller that
 * must not wait long bounds its own wait with a timer of its own and treats the callback when
 * it comes. nft_free() waits for a send in progress. want is only read during this call. What is not asynchronous: reading the table's
 * sets before the first apply and on force (GET requests, which do not wait for the commit
 * lock), and deleting the sets of vanished groups afterwards. One transaction at a time:
 * -EBUSY while one is in flight, also for nft_apply() and nft_remove(). A refusal with ENOENT
 * (an element someone else deleted) is not retried here: apply again, it refills. Returns 0
 * when the callback will come, or a negative errno (err filled) and no callback. */
int nft_apply_async(struct nft *n, sd_event *e, const struct nft_ruleset *want, usec_t now, bool force,
                    nft_apply_cb cb, void *userdata, struct nft_error *err);
/* Whether a transaction of nft_apply_async() is in flight. */
bool nft_apply_pending(const struct nft *n);
/* Gives up the transaction of nft_apply_async() in flight, if any, without its callback: waits
 * for its send to return (behind the commit lock), then forgets what the kernel holds, so the
 * next apply reads the sets back. For a synchronous transaction that must go next. */
void nft_apply_cancel(struct nft *n);

/* Deletes the daemon's chain and sets (on_exit=remove), each in a transaction of its own: one
 * that someone else's rule still refers to (a `jump`, an `@set`) is flushed instead, so it
 * matches nothing, and reported through the leftover callback; that is not a failure. The
 * table is deleted only if it is then empty and was created by this process. */
int nft_remove(struct nft *n, const struct nft_ruleset *want, struct nft_error *err);

/* Called once for each object the daemon let go of but could not delete (the sets of a group
 * that disappeared, after nft_apply() committed; the chain and sets on nft_remove()), then
 * forgotten: never retried. error is -EBUSY when a rule of someone else still refers to it
 * and it was flushed instead; what names the object and says what was done. */
typedef void (*nft_leftover_cb)(struct nft *n, int error, const struct nft_error *what, void *userdata);
void nft_set_leftover_callback(struct nft *n, nft_leftover_cb cb, void *userdata);

/* Watches nftables events on e: calls on_foreign_change once (debounced) after any
 * transaction from another process that touched the daemon's table, sets or chain, or when
 * events were lost (ENOBUFS) and the generation is not the one of our last commit. */
typedef void (*nft_change_cb)(struct nft *n, void *userdata);
int nft_monitor_start(struct nft *n, sd_event *e, nft_change_cb on_foreign_change, void *userdata);

/* The current ruleset generation (NFT_MSG_GETGEN): every committed transaction moves it by one. */
int nft_get_generation(struct nft *n, uint32_t *ret);

/* The names of the sets in table that carry the daemon's mark, as the kernel has them now (an
 * array of n names, freed with free()), so that a caller can see what a transaction of unknown
 * outcome left. A missing table gives none. */
int nft_read_own_sets(struct nft *n, int family, const char *table, char (**ret)[NFT_SET_NAME_LEN], size_t *ret_n);

/* Writes an nft -f script equivalent to the transaction nft_apply(force=true) would send. */
int nft_write_script(FILE *f, const struct nft_ruleset *want, usec_t now);
