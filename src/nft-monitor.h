/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Watches nftables events for transactions of other processes that touch the objects it was
 * told to watch, and reports them (debounced) through one callback. It knows nothing of how the
 * objects are made and never calls into the rest of the nft module: the owner of the batch
 * socket (nft.c) says what to watch, when its own commits begin and end, and what generation
 * the kernel is at after them. */

#include <systemd/sd-event.h>

#include "util.h"

struct nft_monitor;

typedef void (*nft_monitor_cb)(void *userdata);

/* Subscribes to the nftables event group on e. own_portid is the batch socket's (its events are
 * ours), generation the ruleset generation now. Returns 0 or a negative errno. */
int nft_monitor_new(sd_event *e, uint32_t own_portid, uint32_t generation, nft_monitor_cb on_foreign_change,
                    void *userdata, struct nft_monitor **ret);
struct nft_monitor *nft_monitor_free(struct nft_monitor *m);

/* What is ours from now on: table NULL watches nothing; chain may be NULL; the names are copied.
 * On -ENOMEM every set of the table counts as ours (a needless repair rather than a missed one). */
int nft_monitor_watch(struct nft_monitor *m, int family, const char *table, const char *chain,
                      const char *const *sets, size_t n_sets);

/* Around our own commits, so that they cost no event per element: pause before the first,
 * rejoin after the last, then account with how many transactions of ours went in (each moves
 * the generation by at most one) and the generation read after rejoining (gen_error < 0: it
 * could not be read). */
void nft_monitor_pause(struct nft_monitor *m);
void nft_monitor_rejoin(struct nft_monitor *m);
void nft_monitor_account(struct nft_monitor *m, unsigned commits, int gen_error, uint32_t generation);
