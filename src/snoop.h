/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <systemd/sd-event.h>

#include "snoop-dns.h"
#include "util.h"

/* DNS snooping: a second source of answers beside the resolver. The kernel queues DNS replies
 * (nft-queue.c's chains) to an NFQUEUE this room listens on through libnetfilter_queue's
 * libmnl helpers; each reply is parsed (snoop-dns.c) and handed to the owner, which learns
 * from it; replies that taught something are held until the owner's transaction is in the
 * kernel, then accepted, or at snoop_hold_max, whichever comes first. Every reply is accepted:
 * snooping never drops DNS. Nothing here waits for the kernel (see snoop.c). */
struct snoop;

/* What the owner wants done with a reply. */
enum snoop_decision {
        SNOOP_ACCEPT,       /* nothing to wait for: accepted at once */
        SNOOP_HOLD_COMMIT,  /* it changed what the kernel must hold: accepted once its round is committed */
        SNOOP_HOLD_RELEASE, /* held until snoop_release(token) (a lookup of a truncated reply) */
};

/* A parsed reply; token names it for snoop_release(). */
typedef enum snoop_decision (*snoop_reply_cb)(struct snoop *s, const struct snoop_dns_reply *reply, uint64_t token,
                                              void *userdata);
/* Starts one transaction with what the replies of round (and before) changed, and returns 0:
 * the owner then calls snoop_committed(s, round, r) from the loop once the kernel answered (the
 * held replies of the round are accepted then). Never more than one round in flight: replies
 * held meanwhile join the next one. A negative errno: nothing started, the round's replies go
 * at once (counted as released unconfirmed). */
typedef int (*snoop_commit_cb)(struct snoop *s, uint64_t round, void *userdata);

/* A held reply was accepted after held usec; late: past hold_max (or its transaction failed). */
typedef void (*snoop_released_cb)(struct snoop *s, usec_t held, bool late, void *userdata);

struct snoop_callbacks {
        snoop_reply_cb on_reply;
        snoop_commit_cb on_commit;
        snoop_released_cb on_released; /* may be NULL */
};

struct snoop_stats {
        uint64_t replies;       /* queued packets read */
        uint64_t unparsed;      /* not a reply snooping reads (malformed, cut, not DNS) */
        uint64_t held;          /* held for a transaction */
        uint64_t released_late; /* held longer than hold_max */
        uint64_t commit_failed; /* released although their transaction failed */
        uint64_t truncated;     /* TC set on a reply the owner wanted */
        uint64_t lost;          /* ENOBUFS: queue messages the socket dropped */
};

/* Binds NFQUEUE queue on e, each configuration attribute in its own acknowledged message
 * (bind; copy the whole packet up to 65531 bytes; fail-open with its mask; queue length),
 * unbinding again on any refusal. Returns 0 or a negative errno: -EBUSY when another process
 * listens on that queue, -EPERM without CAP_NET_ADMIN. */
int snoop_new(sd_event *e, uint16_t queue, usec_t hold_max, const struct snoop_callbacks *cb, void *userdata,
              struct snoop **ret);

/* A new snoop_hold_max (a reload), for the replies held now too; the queue stays bound, so no
 * reply passes unread meanwhile. */
void snoop_set_hold_max(struct snoop *s, usec_t hold_max);

/* Whether some socket is bound to NFQUEUE queue in this network namespace (as
 * /proc/net/netfilter/nfnetlink_queue lists it): 1 or 0, or a negative errno when that cannot be
 * read. */
int snoop_queue_bound(uint16_t queue);

/* Gives every reply still waiting in the socket its verdict (accept), then unbinds and closes
 * the queue: a queue closed with replies in it would drop them. */
struct snoop *snoop_free(struct snoop *s);
static inline void snoop_freep(struct snoop **s) { snoop_free(*s); }

const struct snoop_stats *snoop_get_stats(const struct snoop *s);

/* The transaction of round (see snoop_commit_cb) is over: r >= 0 committed, negative failed
 * (the replies go all the same, counted as released unconfirmed). Replies already released at
 * snoop_hold_max are not released twice; a round that is not the one in flight is ignored. */
void snoop_committed(struct snoop *s, uint64_t round, int r);

/* Accepts the reply held as token (SNOOP_HOLD_RELEASE); one already released at its hold_max
 * is fine. */
void snoop_release(struct snoop *s, uint64_t token);
/* The same once what the lookup taught is in the kernel: the reply joins the next round. */
void snoop_release_after_commit(struct snoop *s, uint64_t token);
