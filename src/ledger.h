/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "addr.h"
#include "util.h"

/* The validity ledger of one destination group: address -> expiry. Pure logic, no I/O and
 * no clock of its own: every call takes "now" (CLOCK_BOOTTIME usec in the daemon, a fake
 * clock in tests).
 *
 * Semantics (WiseMo's guarantee: an address returned by DNS stays valid for N days after the
 * lookup): expiry = latest time the address was seen in an answer for any of the group's hosts
 * + the group's validity. A smaller answer removes nothing; addresses leave only through
 * ledger_expire(). */
struct ledger;

struct ledger_entry {
        struct ip_addr addr; /* 18 bytes: host fills the padding before the times (48 in all) */
        uint32_t host;     /* index into the ledger's host names: ledger_host_name() */
        usec_t expiry;     /* when it stops being allowed */
        usec_t last_seen;  /* the answer that set expiry */
        usec_t first_seen; /* when it entered the ledger: allowed without a gap since then */
};

int ledger_new(struct ledger **ret);
struct ledger *ledger_free(struct ledger *l);
static inline void ledger_freep(struct ledger **l) { ledger_free(*l); }

/* Called for an address that is new to the ledger (added), or that leaves it (expired). e is
 * valid only during the call and the callback must not modify the ledger. */
typedef void (*ledger_entry_cb)(const struct ledger *l, const struct ledger_entry *e, void *userdata);

/* Records one successful answer of host: each address gets expiry = max(old, now + validity)
 * and last_seen = now (an address seen again moves to this host); first_seen = now only for an
 * address not in the ledger (one that expired and comes back starts anew). Duplicates in addrs
 * are fine.
 * on_added (may be NULL) is called for each address that was not in the ledger.
 * Returns the number of added addresses, or -ENOMEM (ledger unchanged). */
int ledger_record(struct ledger *l, const char *host, const struct ip_addr *addrs, size_t n,
                  usec_t now, usec_t validity, ledger_entry_cb on_added, void *userdata);

/* Puts back one entry from the state file with its remaining expiry (not a fresh validity).
 * An entry already present keeps the later expiry (with that record's last_seen and host) and
 * the earlier first_seen: both records say the address was allowed, so it was since the
 * earlier. Returns 0 or -ENOMEM. O(1) when entries come in ledger_entries() order, O(N) each
 * otherwise. */
int ledger_restore(struct ledger *l, const char *host, const struct ip_addr *addr,
                   usec_t expiry, usec_t last_seen, usec_t first_seen);

/* What ledger_restore_many() left out. */
struct ledger_restore_stats {
        size_t duplicates;       /* records of an address that another record carries with a later expiry */
        size_t over_limit;       /* records beyond max_per_family of their host */
        size_t hosts_over_limit; /* hosts that had such records */
        uint32_t most_over;      /* the host with the most of them: ledger_host_name() */
        size_t most_over_count;
};

/* Fills an empty ledger from a state file's records in O(n log n), as if each host had
 * answered with its own addresses: of the records of one address the one with the latest
 * expiry wins (then the latest last_seen, then the lowest host index) and takes the earliest
 * first_seen of them all (as ledger_restore() does), and each host keeps at
 * most max_per_family addresses per family, those with the latest expiry (then the latest
 * last_seen, then the lowest address), like an answer cut at max_addresses. records[i].host
 * indexes hosts[] (n_hosts names, all interned). records (malloc()ed) is always taken over: it
 * becomes the ledger's array, or is freed on failure. Returns 0, -EBUSY when the ledger is not
 * empty, -EINVAL for a host index out of range, or -ENOMEM (ledger unchanged). */
int ledger_restore_many(struct ledger *l, const char *const *hosts, size_t n_hosts,
                        struct ledger_entry *records, size_t n, size_t max_per_family,
                        struct ledger_restore_stats *ret_stats);

/* Removes every entry with expiry <= now, calling on_expired (may be NULL) for each before it
 * goes. Returns how many were removed. */
size_t ledger_expire(struct ledger *l, usec_t now, ledger_entry_cb on_expired, void *userdata);
/* (Like ledger_remove(), it may forget names no entry refers to any more, renumbering host
 * indices.) */

/* The entry of addr, or NULL; O(log N), valid until the next modifying call. */
const struct ledger_entry *ledger_find(const struct ledger *l, const struct ip_addr *addr);

/* Removes addr (whatever its expiry); names no entry refers to any more may be forgotten (host
 * indices of entries change then). Returns whether it was there. */
bool ledger_remove(struct ledger *l, const struct ip_addr *addr);

/* Earliest expiry in the ledger, USEC_INFINITY when empty. O(N): not for every answer. */
usec_t ledger_next_expiry(const struct ledger *l);

/* Earliest expiry among the addresses last seen for host, USEC_INFINITY when none. O(k log N)
 * for the host's k addresses. */
usec_t ledger_host_next_expiry(const struct ledger *l, const char *host);

/* Number of addresses last seen for host (for "now 14 addresses"). O(log hosts). */
size_t ledger_host_count(const struct ledger *l, const char *host);

/* All entries, sorted by address (addr_compare), valid until the next modifying call. */
const struct ledger_entry *ledger_entries(const struct ledger *l, size_t *ret_n);

/* The host name of an entry. */
const char *ledger_host_name(const struct ledger *l, uint32_t host);
