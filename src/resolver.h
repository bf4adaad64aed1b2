/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <systemd/sd-event.h>

#include "addr.h"
#include "util.h"

/* c-ares on sd-event: A and AAAA lookups of exact names, many at once with a bounded number
 * in flight, CNAME chains followed, TCP retry on truncation. */
struct resolver;

/* The outcome of one resolver_query(): every family asked for, combined. */
struct resolver_result {
        const char *host;
        /* 0: DNS answered every family (possibly with no address: NXDOMAIN or no data).
         * <0: at least one family failed (timeout, SERVFAIL, REFUSED, connection refused,
         * malformed answer); addrs still holds what the other family returned. */
        int error;
        const char *error_text; /* "timeout", "SERVFAIL", ...; NULL when error == 0 */
        bool nxdomain;          /* the name does not exist */
        const struct ip_addr *addrs; /* valid only during the callback, unfiltered, deduplicated */
        size_t n_addrs;
        /* Smallest TTL along the chains that produced addrs (CNAMEs included), USEC_INFINITY
         * when there are none. May be 0: the caller clamps it. */
        usec_t min_ttl;
};

typedef void (*resolver_cb)(struct resolver *r, const struct resolver_result *result, void *userdata);

/* Creates a resolver on event loop e. servers: c-ares CSV ("127.0.0.1:5353,[::1]:53"), or NULL
 * for /etc/resolv.conf. Fails in a few seconds on a dead server, never consults /etc/hosts,
 * never appends a search domain. */
int resolver_new(sd_event *e, const char *servers, struct resolver **ret);
struct resolver *resolver_free(struct resolver *r);
static inline void resolver_freep(struct resolver **r) { resolver_free(*r); }

/* Starts resolving host (a name without trailing dot) for families (enum family_mask); cb is
 * called exactly once, later, from the event loop, unless resolver_free() comes first (then
 * never). Queries beyond the in-flight bound wait in a queue. Returns 0, -EINVAL (empty host,
 * longer than 253, trailing dot, families not within FAMILY_BOTH) or -ENOMEM. */
int resolver_query(struct resolver *r, const char *host, unsigned families, resolver_cb cb, void *userdata);

/* Number of queries started and not yet reported. */
size_t resolver_pending(const struct resolver *r);

/* Addresses accepted per family and answer. A 64 KiB TCP answer holds at most ~4000 A
 * records; nobody legitimate sends more than a few dozen. */
#define RESOLVER_MAX_ADDRS 1024

/* What one DNS answer to an A or AAAA query gives. */
struct resolver_answer {
        int family;
        struct ip_addr addrs[RESOLVER_MAX_ADDRS]; /* in answer order, not deduplicated */
        size_t n_addrs;
        bool cut;       /* the answer held more than RESOLVER_MAX_ADDRS: the first ones are kept */
        /* Smallest TTL along the chains that produced addrs, CNAMEs included; USEC_INFINITY
         * when there are none. */
        usec_t min_ttl;
};

/* Parses the DNS message abuf, the answer to an A (family AF_INET) or AAAA (AF_INET6) query:
 * the addresses at the end of the CNAME chain from the question's name. No I/O, no logging: the
 * resolver's answer path, open to tests and the fuzzer. Returns 0, -ENODATA (no address of the
 * family), -EBADMSG (malformed), -ENOMEM or -EAFNOSUPPORT; ret is written on success only. */
int resolver_parse_answer(const uint8_t *abuf, size_t alen, int family, struct resolver_answer *ret);
