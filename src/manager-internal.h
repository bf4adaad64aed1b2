/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the manager's rooms share: the runtime state (struct manager, its groups and hosts) and
 * the few functions one room calls in another. Calls go one way, from the loop down:
 *   manager.c -> reload -> {snoop, hosts} -> apply -> notify -> state -> groups
 * (snoop also uses hosts' on_entry_added(); every room uses groups). Nothing here calls up that
 * chain; a new cross-room call that would, belongs in a different room. Everything else stays
 * static in its room. */
#pragma once

#include <systemd/sd-event.h>

#include "config.h"
#include "ledger.h"
#include "log.h"
#include "manager.h"
#include "metrics.h"
#include "nft.h"
#include "prioq.h"
#include "resolver.h"
#include "snoop.h"

/* At most this many additions are logged one by one per answer; more are summarised. */
#define ADDED_LOG_MAX 8
/* Rejected answers remembered per host, so each is logged once. */
#define REJECTED_MEMORY 64

struct manager;
struct group_state;
struct tc_lookup;

/* Refused addresses already logged, so a hostile zone cannot flood the journal. */
struct rejected_memory {
        struct ip_addr addrs[REJECTED_MEMORY];
        size_t n;
};

/* Kept small: there may be tens of thousands. */
struct host {
        struct group_state *group;
        const char *name;      /* the configuration's string: it outlives the host */
        size_t queue_idx;      /* in manager->refresh_queue, PRIOQ_IDX_NULL while not waiting */
        usec_t next_refresh;   /* CLOCK_BOOTTIME */
        usec_t last_success;   /* CLOCK_REALTIME, 0 = never */
        usec_t last_failure;   /* CLOCK_REALTIME */
        usec_t failing_since;  /* CLOCK_REALTIME, 0 while healthy */
        unsigned failures;     /* consecutive */
        bool in_flight;
        bool first_round;      /* counted in manager->round_left until its first answer */
        bool warned_expiry;
        bool warned_cut;
        bool empty_logged;     /* NXDOMAIN / empty answer said once, until addresses come back */
        uint8_t n_rejected;
        /* The last failure's reason while failing, else NULL (host_set_error()); allocated, as
         * most hosts never have one. */
        char *error_text;
        /* Allocated at the first refused address: almost no host ever has one. */
        struct ip_addr *rejected;
};

struct group_state {
        struct manager *manager;
        const struct group *config; /* points into manager->config */
        struct ledger *ledger;
        struct host *hosts;
        size_t n_hosts;
        size_t added_logged; /* per answer, for ADDED_LOG_MAX */
        const char *answer_host;
        bool snooped_full_said;   /* max_snooped reached: said once */
        struct rejected_memory snoop_rejected; /* from snooped replies, for all names of the group */
};

struct manager {
        sd_event *event;
        enum manager_mode mode;
        char *config_path;
        struct config *config;
        struct group_state *groups;
        size_t n_groups;
        struct resolver *resolver;
        struct nft *nft;
        struct snoop *snoop;     /* snoop=yes: the DNS reply queue */
        struct tc_lookup *tc_lookups[16]; /* lookups of truncated snooped replies in flight */
        struct metrics *metrics;
        /* Every waiting host, earliest next_refresh first, behind one timer (chrony's scheduler
         * does the same): one event source and 16 bytes per host instead of a timer each. */
        struct prioq *refresh_queue;
        sd_event_source *refresh_timer;
        sd_event_source *apply_timer;
        sd_event_source *expire_timer;
        sd_event_source *save_timer;
        usec_t last_save;    /* CLOCK_MONOTONIC */
        bool force_apply;    /* next apply rewrites everything (foreign change) */
        bool apply_failing;  /* the last transaction failed: retrying, logged once */
        bool save_failing;   /* the last state file write failed: retrying, logged once */
        bool state_dirty;
        bool ready;          /* READY=1 sent */
        bool applied;        /* a transaction went in: the allow-list is in the kernel */
        bool queried;        /* the first round of queries has started */
        size_t round_left;   /* queries of the first round still out */
        bool any_failed;     /* --once: some name failed */
        int exit_code;
};

static inline usec_t boottime_now(struct manager *m) {
        usec_t t;

        if (sd_event_now(m->event, CLOCK_BOOTTIME, &t) < 0)
                t = now_usec(CLOCK_BOOTTIME);
        return t;
}

/* The ledger runs on CLOCK_BOOTTIME (time asleep counts); people and the state file want
 * wall-clock time. */
static inline usec_t boottime_to_realtime_at(usec_t now_b, usec_t now_r, usec_t t) {
        if (t == USEC_INFINITY)
                return USEC_INFINITY;
        if (t >= now_b)
                return now_r + (t - now_b);
        return now_r > now_b - t ? now_r - (now_b - t) : 0;
}

static inline usec_t boottime_to_realtime(usec_t t) {
        return boottime_to_realtime_at(now_usec(CLOCK_BOOTTIME), now_usec(CLOCK_REALTIME), t);
}

/* ---- manager-groups.c: runtime state of groups and hosts ---- */

/* Sets (or with NULL or "" clears) the reason of the host's failure (kept for the state file). */
void host_set_error(struct host *h, const char *text);
/* Frees n groups built by groups_new(). */
void groups_free(struct group_state *groups, size_t n);
/* Builds runtime state for every group of c; nothing is started yet. */
int groups_new(struct manager *m, const struct config *c, struct group_state **ret, size_t *ret_n);
/* Makes room in the refresh queue for every host of groups, so that scheduling never fails. */
int manager_reserve_hosts(struct manager *m, const struct group_state *groups, size_t n);
/* The configured host of g named name, or NULL (a linear search: for one name at a time). */
struct host *group_find_host(struct group_state *g, const char *name);
/* The hosts of g sorted by name, for host_find() (a group may have thousands); NULL: -ENOMEM. */
struct host **group_hosts_by_name(const struct group_state *g);
/* The host named name in by_name (from group_hosts_by_name(), n of them), or NULL. */
struct host *host_find(struct host *const *by_name, size_t n, const char *name);
/* Whether a's family is one of the group's (family=). */
bool group_has_family(const struct group *g, const struct ip_addr *a);
/* The DNS rebinding rule (allow_private=): whether a may go on an allow-list at all. */
bool address_allowed(const struct config *c, const struct ip_addr *a);
/* At most max_snooped learned addresses in g: those expiring first make room. */
void group_limit_snooped(struct group_state *g);

/* ---- manager-state.c: the state file ---- */

/* Writes the state file now; 0 or a negative errno (logged once per run of failures). */
int manager_save_state(struct manager *m);
/* Marks the state as changed; the daemon writes it within STATE_SAVE_INTERVAL_USEC. */
void manager_state_changed(struct manager *m);
/* The save timer's callback (armed by manager_state_changed()). */
int on_save_timer(sd_event_source *s, uint64_t usec, void *userdata);
/* Puts back what the state file says is still valid, before any DNS query. */
void manager_restore_state(struct manager *m);

/* ---- manager-notify.c: readiness and STATUS= ---- */

/* Sends STATUS= with the counts and health of the moment (daemon only). */
void manager_update_status(struct manager *m);
/* Sends READY=1 once the first round is done and (daemon) the allow-list is in. */
void manager_maybe_ready(struct manager *m);

/* ---- manager-apply.c: desired contents, transactions, expiry ---- */

/* Arms the apply timer, unless it is already armed to fire sooner. */
void manager_schedule_apply_in(struct manager *m, usec_t delay);
/* Arms the apply timer for the usual coalescing delay. */
void manager_schedule_apply(struct manager *m);
/* Logs a failed nftables operation once, naming the object the kernel blamed and the outcome. */
void manager_log_nft_error(int r, const struct nft_error *err, const char *what, const char *outcome);
/* One transaction of the desired contents (nothing when unchanged, unless force). */
int manager_transaction(struct manager *m, bool force, struct nft_error *err);
/* Whether a failed transaction may go through when sent again unchanged. */
bool nft_failure_is_transient(int r, const struct nft_error *err);
/* After a transaction whose replies were lost: 1 in force, 0 not committed, or a negative errno. */
int manager_settle_unknown(struct manager *m, const char *what, int error, struct nft_error *err);
/* Sends the desired contents; on failure *ret_transient says whether a retry may succeed. */
int manager_apply_full(struct manager *m, bool *ret_transient);
/* manager_apply_full() without asking whether a failure is transient. */
int manager_apply(struct manager *m);
/* on_exit=remove: takes the snooping chains and the allow-list out of the kernel. */
void manager_remove_on_exit(struct manager *m);
/* Makes sure the expiry timer fires no later than when. */
void manager_arm_expire_by(struct manager *m, usec_t when);
/* Arms the expiry timer for the earliest expiry of all (a pass over every address). */
void manager_arm_expire(struct manager *m);
/* Callbacks of the apply and expiry timers, the netlink socket and the nftables monitor. */
int on_apply_timer(sd_event_source *s, uint64_t usec, void *userdata);
int on_expire_timer(sd_event_source *s, uint64_t usec, void *userdata);
void on_nft_leftover(struct nft *n, int error, const struct nft_error *what, void *userdata);
void on_foreign_change(struct nft *n, void *userdata);

/* ---- manager-hosts.c: refresh scheduling and answers ---- */

/* The refresh queue's order: earliest next_refresh first, ties in configuration order. */
int host_compare_refresh(const void *a, const void *b);
/* Puts h in the refresh queue for when (0: now); cannot fail. */
void host_schedule(struct host *h, usec_t when);
/* Asks DNS for every host whose refresh is due, within DISPATCH_MAX; arms the refresh timer. */
void manager_dispatch(struct manager *m);
/* Makes every host due now and counts it in the first round. */
void manager_query_all(struct manager *m);
/* The refresh timer's callback. */
int on_refresh_timer(sd_event_source *s, uint64_t usec, void *userdata);
/* The ledger's hook for a new address of the answer being recorded (g->answer_host). */
void on_entry_added(const struct ledger *l, const struct ledger_entry *e, void *userdata);

/* ---- manager-snoop.c: DNS snooping ---- */

/* Starts snooping (snoop=yes) or removes the chains an earlier run left (snoop=no). */
int manager_snoop_start(struct manager *m);
/* Whether a and b snoop the same way (snoop, queue, hold bound, servers). */
bool manager_snoop_config_equal(const struct config *a, const struct config *b);
/* Before a reload's transaction: listens on the queue of c when c turns snooping on or moves it
 * to another queue (*ret_listener, NULL otherwise), so that a queue another program holds
 * rejects the reload while nothing has changed yet. Returns 0 or a negative errno, logged. */
int manager_snoop_prepare(struct manager *m, const struct config *c, struct snoop **ret_listener);
/* After the reload was accepted (m->config is the new one): removes the chains (snoop=no), or
 * moves the rules to listener's queue and lets the old listener go, or replaces the rules and
 * the listener of the same queue as the change needs. Failures are logged: not snooping. */
void manager_snoop_switch(struct manager *m, const struct config *old, struct snoop *listener);
/* Frees the lookups of truncated replies (their callbacks went with the resolver). */
void tc_lookups_free(struct manager *m);

/* ---- manager-reload.c ---- */

/* SIGHUP: loads, checks and installs the configuration anew; 0, or a negative errno with the
 * previous configuration still in force. */
int manager_reload(struct manager *m);

/* ---- manager-metrics.c ---- */

/* The gauges of the moment, for each write of the metrics file. */
void manager_collect_metrics(struct metrics *mt, void *userdata);
