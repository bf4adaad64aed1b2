/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "ledger.h"

/* The addresses a group learned from snooped DNS replies, ordered by expiry, so that keeping
 * them under max_snooped costs O(log n) per learned address instead of a scan and sort of the
 * group per answer. Pure logic beside the group's ledger, which stays the truth: a record here
 * may be stale (the address's expiry moved on, it expired, or a configured host's answer took
 * it over); stale records are recognised against the ledger when they come first and dropped,
 * and the index is rebuilt from the ledger once stale records outnumber live ones. */
struct learned;

/* Whether a ledger entry belongs to a learned name (not a configured host). */
typedef bool (*learned_entry_func)(const struct ledger *l, const struct ledger_entry *e, void *userdata);

/* An index of ledger's learned entries as they are now (O(n) for the ledger's n entries).
 * Returns 0 or -ENOMEM. */
int learned_new(const struct ledger *ledger, learned_entry_func is_learned, void *userdata, struct learned **ret);
struct learned *learned_free(struct learned *l);
static inline void learned_freep(struct learned **l) { learned_free(*l); }

/* Says that addr, an entry of a learned name in the ledger, has expiry now; added: it was no
 * learned entry before (new to the ledger, or taken over from a configured host). O(log n).
 * Returns 0 or -ENOMEM (then rebuilt at the next learned_make_room()). */
int learned_note(struct learned *l, const struct ip_addr *addr, usec_t expiry, bool added);

/* Says that one learned entry left the ledger otherwise (it expired). */
void learned_forget(struct learned *l);

/* Removes from the ledger the learned entries that expire first until at most max are left;
 * returns how many it removed. O(log n) per record it looks at. */
size_t learned_make_room(struct learned *l, struct ledger *ledger, size_t max);

/* Learned entries in the ledger (exact unless a configured host took some over since the last
 * rebuild: then at most that many more). */
size_t learned_count(const struct learned *l);
