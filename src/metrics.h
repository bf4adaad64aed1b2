/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <systemd/sd-event.h>

#include "nft.h"
#include "resolver.h"
#include "util.h"

/* Counters and gauges for Prometheus, written as a text exposition file for node_exporter's
 * textfile collector: to a temporary file in the same directory, then renamed, after changes
 * at most every METRICS_WRITE_INTERVAL_USEC and at once by metrics_flush(). No timer runs
 * while nothing changes. Every function accepts m == NULL and then does nothing. */
struct metrics;

/* A lookup's outcome, the result="..." label of allowlistd_lookups_total. */
enum metrics_lookup_result {
        METRICS_LOOKUP_OK,
        METRICS_LOOKUP_NXDOMAIN,
        METRICS_LOOKUP_SERVFAIL,
        METRICS_LOOKUP_TIMEOUT,
        METRICS_LOOKUP_REFUSED,
        METRICS_LOOKUP_ERROR, /* malformed answer, NOTIMP, out of memory, ... */
        _METRICS_LOOKUP_MAX,
};

/* Asked at each write for the gauges of the moment: calls metrics_add_group() and
 * metrics_add_host() for every configured group and host. */
typedef void (*metrics_collect_cb)(struct metrics *m, void *userdata);

/* Creates the counters; path NULL writes nothing (yet: see metrics_set_path()). e may be NULL
 * (--once: only metrics_flush() writes). Returns 0 or -ENOMEM. */
int metrics_new(sd_event *e, const char *path, metrics_collect_cb collect, void *userdata, struct metrics **ret);
struct metrics *metrics_free(struct metrics *m);
static inline void metrics_freep(struct metrics **m) { metrics_free(*m); }

/* A reload's metrics_file=: NULL stops writing (the old file stays). Returns 0 or -ENOMEM. */
int metrics_set_path(struct metrics *m, const char *path);

/* Writes the file now, if there is a path (at exit, after the first round). Logs a failure
 * once per run of failures; returns 0 or -errno. */
int metrics_flush(struct metrics *m);

/* Events, counted where they happen; each schedules a write. */
enum metrics_lookup_result metrics_lookup_result(const struct resolver_result *res);
void metrics_count_lookup(struct metrics *m, enum metrics_lookup_result result);
void metrics_count_added(struct metrics *m, size_t n);
void metrics_count_expired(struct metrics *m, size_t n);
/* One nft_apply() of want that returned r: a committed transaction (r > 0), nothing to send
 * (0) or a refused one (< 0). When r >= 0 the kernel's sets hold want's elements. */
void metrics_count_transaction(struct metrics *m, const struct nft_ruleset *want, int r);
/* The same in two steps, for nft_apply_async(): the sets of want as sent, then the outcome. */
void metrics_record_ruleset(struct metrics *m, const struct nft_ruleset *want);
void metrics_count_transaction_result(struct metrics *m, int r);
void metrics_count_foreign_change(struct metrics *m);

/* DNS snooping: a reply seen on the wire, and whether its question matched a configured name. */
void metrics_snoop_reply(struct metrics *m, bool matched);
/* Addresses from snooped replies that were new to the allow-list. */
void metrics_snoop_learned(struct metrics *m, size_t n);
/* A reply held until its addresses were in the kernel, for held usec. */
void metrics_snoop_held(struct metrics *m, usec_t held);
/* A reply released unconfirmed because the hold bound ran out. */
void metrics_snoop_released_on_bound(struct metrics *m);

/* For metrics_collect_cb only. v4/v6: addresses the group allows (static entries and DNS);
 * expiring: DNS addresses in the last tenth of their validity while their host is failing. */
int metrics_add_group(struct metrics *m, const char *group, size_t v4, size_t v6, size_t expiring);
/* last_success: CLOCK_REALTIME usec, 0 = never. */
int metrics_add_host(struct metrics *m, const char *group, const char *host, usec_t last_success,
                     unsigned failures);

/* Writes the exposition text (the file's content) to f. For tests. */
int metrics_write_text(struct metrics *m, FILE *f);
