/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The manager wires the rooms together and runs the loop: configuration -> resolver answers ->
 * ledger -> desired set contents -> one nftables transaction -> state file. It owns all runtime
 * state; the configuration stays read-only and a reload builds a new one. */
#include <signal.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "config.h"
#include "ledger.h"
#include "log.h"
#include "manager.h"
#include "metrics.h"
#include "nft.h"
#include "nft-queue.h"
#include "paths.h"
#include "prioq.h"
#include "reload.h"
#include "resolver.h"
#include "schedule.h"
#include "snoop.h"
#include "state.h"
#include "status.h"

/* Answers are coalesced for this long before one transaction is sent; a foreign change is
 * repaired after the same delay, well inside the promised second. */
#define APPLY_DELAY_USEC (50 * USEC_PER_MSEC)
/* Timers of refreshes may fire up to a tenth of their delay late, at most this much, so wake-ups
 * can be batched without stretching a refresh of seconds (tests, demo) noticeably. */
#define REFRESH_ACCURACY_MAX_USEC (1 * USEC_PER_SEC)
/* The state file is written at most this often while running (every change reaches it within
 * this time; the exit writes at once): with thousands of hosts an fsync per answer would wear
 * out a gateway's flash for nothing, since DNS re-resolves everything at start anyway. */
#define STATE_SAVE_INTERVAL_USEC (5 * USEC_PER_SEC)
/* At most this many additions are logged one by one per answer; more are summarised. */
#define ADDED_LOG_MAX 8
/* Rejected answers remembered per host, so each is logged once. */
#define REJECTED_MEMORY 64
/* Hosts whose refresh is due are handed to the resolver while fewer than this many are in
 * flight or queued there; the rest wait in the refresh queue, where they cost nothing more.
 * Four times the resolver's in-flight bound keeps it busy between two answers. */
#define DISPATCH_MAX 256

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

static usec_t boottime_now(struct manager *m) {
        usec_t t;

        if (sd_event_now(m->event, CLOCK_BOOTTIME, &t) < 0)
                t = now_usec(CLOCK_BOOTTIME);
        return t;
}

/* The ledger runs on CLOCK_BOOTTIME (time asleep counts); people and the state file want
 * wall-clock time. */
static usec_t boottime_to_realtime_at(usec_t now_b, usec_t now_r, usec_t t) {
        if (t == USEC_INFINITY)
                return USEC_INFINITY;
        if (t >= now_b)
                return now_r + (t - now_b);
        return now_r > now_b - t ? now_r - (now_b - t) : 0;
}

static usec_t boottime_to_realtime(usec_t t) {
        return boottime_to_realtime_at(now_usec(CLOCK_BOOTTIME), now_usec(CLOCK_REALTIME), t);
}

static void host_done(struct host *h) {
        prioq_remove(h->group->manager->refresh_queue, &h->queue_idx);
        free(h->rejected);
        h->rejected = NULL;
        free(h->error_text);
        h->error_text = NULL;
}

/* Sets (or with NULL or "" clears) the reason of the host's failure. Out of memory the reason
 * is lost, nothing else: it is only shown. At most as long as the state file keeps it. */
static void host_set_error(struct host *h, const char *text) {
        free(h->error_text);
        h->error_text = isempty(text) ? NULL : strndup(text, sizeof(((struct state_host *) NULL)->last_error) - 1);
}

static void group_state_done(struct group_state *g) {
        for (size_t i = 0; i < g->n_hosts; i++)
                host_done(&g->hosts[i]);
        free(g->hosts);
        ledger_free(g->ledger);
        *g = (struct group_state) { 0 };
}

static void groups_free(struct group_state *groups, size_t n) {
        for (size_t i = 0; i < n; i++)
                group_state_done(&groups[i]);
        free(groups);
}

static void tc_lookups_free(struct manager *m);

static void manager_free(struct manager *m) {
        if (!m)
                return;
        /* The queue first: its replies get their verdicts before anything else goes. Then the
         * resolver: freeing it drops its pending callbacks into the hosts. */
        snoop_free(m->snoop);
        resolver_free(m->resolver);
        tc_lookups_free(m);
        groups_free(m->groups, m->n_groups);
        prioq_free(m->refresh_queue);
        sd_event_source_disable_unref(m->refresh_timer);
        nft_free(m->nft);
        metrics_free(m->metrics);
        sd_event_source_disable_unref(m->apply_timer);
        sd_event_source_disable_unref(m->expire_timer);
        sd_event_source_disable_unref(m->save_timer);
        config_free(m->config);
        free(m->config_path);
        sd_event_unref(m->event);
        free(m);
}

static inline void manager_freep(struct manager **m) { manager_free(*m); }

/* Builds runtime state for every group of c; nothing is started yet. */
static int groups_new(struct manager *m, const struct config *c, struct group_state **ret, size_t *ret_n) {
        struct group_state *groups;
        int r;

        groups = calloc(MAX(c->n_groups, (size_t) 1), sizeof(*groups));
        if (!groups)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_groups; i++) {
                struct group_state *g = &groups[i];

                g->manager = m;
                g->config = &c->groups[i];
                r = ledger_new(&g->ledger);
                if (r < 0)
                        goto fail;
                g->hosts = calloc(MAX(g->config->n_hosts, (size_t) 1), sizeof(*g->hosts));
                if (!g->hosts) {
                        r = -ENOMEM;
                        goto fail;
                }
                g->n_hosts = g->config->n_hosts;
                for (size_t j = 0; j < g->n_hosts; j++)
                        g->hosts[j] = (struct host) {
                                .group = g,
                                .name = g->config->hosts[j],
                                .queue_idx = PRIOQ_IDX_NULL,
                        };
        }
        *ret = groups;
        *ret_n = c->n_groups;
        return 0;
fail:
        groups_free(groups, c->n_groups);
        return r;
}

/* Makes room in the refresh queue for every host of groups, so that scheduling never fails. */
static int manager_reserve_hosts(struct manager *m, const struct group_state *groups, size_t n) {
        size_t hosts = 0;

        for (size_t i = 0; i < n; i++)
                hosts += groups[i].n_hosts;
        return prioq_reserve(m->refresh_queue, hosts);
}

static struct host *group_find_host(struct group_state *g, const char *name) {
        for (size_t i = 0; i < g->n_hosts; i++)
                if (streq(g->hosts[i].name, name))
                        return &g->hosts[i];
        return NULL;
}

static bool group_has_family(const struct group *g, const struct ip_addr *a) {
        return g->family & (a->family == AF_INET ? FAMILY_IPV4 : FAMILY_IPV6);
}

/* The DNS rebinding rule: never loopback, link-local, multicast, ...; private ranges only with
 * allow_private=yes. Applies to fresh answers and to what a state file or a reload carries over,
 * so tightening allow_private takes effect at once. */
static bool address_allowed(const struct config *c, const struct ip_addr *a) {
        enum addr_class cls = addr_classify(a);
        return cls == ADDR_PUBLIC || (cls == ADDR_PRIVATE && c->allow_private);
}

/* ---- desired kernel contents ---- */

struct element_list {
        struct nft_element *items;
        size_t n;
};

/* The index of the first entry whose address family is at least family, in an array of n
 * entries of size bytes sorted by addr_compare (family first), the address offset bytes into
 * each. The entries of one family are from_family(family) to from_family(family + 1). */
static size_t from_family(const void *base, size_t n, size_t size, size_t offset, int family) {
        size_t lo = 0, hi = n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                const struct ip_addr *a = (const void *) ((const uint8_t *) base + mid * size + offset);

                if (a->family < family)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

/* The elements of one set: static entries (no timeout) and every unexpired ledger address,
 * sorted, without duplicates and without anything a static entry already covers (an interval
 * set refuses overlaps). Both inputs are sorted already, the static entries also disjoint (see
 * struct group): one merge, with a binary search per ledger address, O(s + l log s). */
static int group_elements(const struct group_state *g, int family, struct element_list *ret) {
        const struct group *gc = g->config;
        struct element_list l = { 0 };
        const struct ledger_entry *e;
        size_t n, sb, se, lb, le, i, j;

        e = ledger_entries(g->ledger, &n);
        sb = from_family(gc->addresses, gc->n_addresses, sizeof(*gc->addresses), 0, family);
        se = from_family(gc->addresses, gc->n_addresses, sizeof(*gc->addresses), 0, family + 1);
        lb = from_family(e, n, sizeof(*e), offsetof(struct ledger_entry, addr), family);
        le = from_family(e, n, sizeof(*e), offsetof(struct ledger_entry, addr), family + 1);

        l.items = malloc(MAX((se - sb) + (le - lb), (size_t) 1) * sizeof(*l.items));
        if (!l.items)
                return -ENOMEM;
        for (i = sb, j = lb; i < se || j < le;) {
                if (j < le && group_static_covers(gc, &e[j].addr)) {
                        j++;
                        continue;
                }
                if (j >= le || (i < se && addr_compare(&gc->addresses[i], &e[j].addr) < 0)) {
                        l.items[l.n++] = (struct nft_element) { .addr = gc->addresses[i++], .expiry = USEC_INFINITY };
                        continue;
                }
                /* Provenance in the kernel: `nft list set` names the host that brought the
                 * address (the ledger's names live as long as the ledger). A static entry
                 * (also one DNS returns) carries none: it is the operator's. */
                l.items[l.n++] = (struct nft_element) { .addr = e[j].addr, .expiry = e[j].expiry,
                                                        .comment = ledger_host_name(g->ledger, e[j].host) };
                j++;
        }
        *ret = l;
        return 0;
}

struct desired {
        struct nft_ruleset ruleset;
        struct nft_group *groups;
        char **comments;
        struct element_list *lists; /* two per group */
        size_t n;
};

static void desired_done(struct desired *d) {
        for (size_t i = 0; i < d->n; i++) {
                free(d->comments[i]);
                free(d->lists[2 * i].items);
                free(d->lists[2 * i + 1].items);
        }
        free(d->groups);
        free(d->comments);
        free(d->lists);
        *d = (struct desired) { 0 };
}

static char *group_comment(const struct group *g) {
        char *s = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&s, &size);

        if (!f)
                return NULL;
        fprintf(f, "%s%s%s", g->product ?: "", g->product && g->description ? ": " : "", g->description ?: "");
        if (!g->product && !g->description)
                fprintf(f, "%s", g->name);
        /* What goes beyond 127 bytes is cut below: no need to hold all of a thousand names. */
        for (size_t i = 0; i < g->n_hosts && ftell(f) <= 128; i++)
                fprintf(f, "%s%s", i == 0 ? " (" : " ", g->hosts[i]);
        if (g->n_hosts > 0)
                fputc(')', f);
        if (fclose(f) != 0) {
                free(s);
                return NULL;
        }
        /* nft keeps comments to 128 bytes (NFT_USERDATA_MAXLEN is larger, but nft(8) refuses
         * longer ones when reading a saved ruleset back): cut at a character boundary. */
        if (strlen(s) > 127) {
                size_t n = 124;
                while (n > 0 && ((unsigned char) s[n] & 0xc0) == 0x80)
                        n--;
                strcpy(s + n, "...");
        }
        return s;
}

static int manager_desired(struct manager *m, struct desired *ret) {
        const struct config *c = m->config;
        struct desired d = { 0 };

        d.n = m->n_groups;
        d.groups = calloc(MAX(d.n, (size_t) 1), sizeof(*d.groups));
        d.comments = calloc(MAX(d.n, (size_t) 1), sizeof(*d.comments));
        d.lists = calloc(MAX(2 * d.n, (size_t) 1), sizeof(*d.lists));
        if (!d.groups || !d.comments || !d.lists)
                goto oom;

        for (size_t i = 0; i < d.n; i++) {
                const struct group_state *g = &m->groups[i];
                struct nft_group *ng = &d.groups[i];
                bool interval = false;

                for (size_t j = 0; j < g->config->n_addresses; j++)
                        if (g->config->addresses[j].prefixlen != (g->config->addresses[j].family == AF_INET ? 32 : 128))
                                interval = true;

                d.comments[i] = group_comment(g->config);
                if (!d.comments[i])
                        goto oom;
                if (group_elements(g, AF_INET, &d.lists[2 * i]) < 0 ||
                    group_elements(g, AF_INET6, &d.lists[2 * i + 1]) < 0)
                        goto oom;

                *ng = (struct nft_group) {
                        .name = g->config->name,
                        .comment = d.comments[i],
                        .families = g->config->family,
                        .interval = interval,
                        .v4 = d.lists[2 * i].items,
                        .n_v4 = d.lists[2 * i].n,
                        .v6 = d.lists[2 * i + 1].items,
                        .n_v6 = d.lists[2 * i + 1].n,
                        .allow = g->config->allow,
                        .n_allow = g->config->n_allow,
                };
        }
        d.ruleset = (struct nft_ruleset) {
                .family = c->table_family,
                .table = c->table,
                .chain = c->chain,
                .groups = d.groups,
                .n_groups = d.n,
        };
        *ret = d;
        return 0;
oom:
        desired_done(&d);
        return -ENOMEM;
}

/* ---- state file ---- */

/* Streams the ledgers and hosts into the file: nothing the size of the state is built in memory. */
static int manager_state_write(struct manager *m, struct state_writer *w) {
        usec_t now_b = now_usec(CLOCK_BOOTTIME), now_r = now_usec(CLOCK_REALTIME);
        int r = 0;

        for (size_t i = 0; i < m->n_groups && r >= 0; i++) {
                struct group_state *g = &m->groups[i];
                const struct ledger_entry *e;
                size_t n;

                e = ledger_entries(g->ledger, &n);
                for (size_t j = 0; j < n && r >= 0; j++)
                        r = state_writer_address(w, g->config->name, ledger_host_name(g->ledger, e[j].host), &e[j].addr,
                                                 boottime_to_realtime_at(now_b, now_r, e[j].expiry),
                                                 boottime_to_realtime_at(now_b, now_r, e[j].last_seen),
                                                 boottime_to_realtime_at(now_b, now_r, e[j].first_seen));
                for (size_t j = 0; j < g->n_hosts && r >= 0; j++) {
                        struct host *h = &g->hosts[j];
                        struct state_host sh = {
                                .last_success = h->last_success,
                                .last_failure = h->last_failure,
                                .failing_since = h->failing_since,
                                .failures = h->failures,
                                .next_refresh = h->next_refresh ? boottime_to_realtime_at(now_b, now_r, h->next_refresh) : 0,
                        };
                        snprintf(sh.group, sizeof(sh.group), "%s", g->config->name);
                        snprintf(sh.host, sizeof(sh.host), "%s", h->name);
                        snprintf(sh.last_error, sizeof(sh.last_error), "%s", h->error_text ?: "");
                        r = state_writer_host(w, &sh);
                }
        }
        if (r < 0)
                return r;
        return state_writer_commit(w);
}

/* What is on disk after a failed save, for its message: the file as before, the new one (the
 * rename went through, the directory's fsync did not), or none at all. before: the file's
 * identity before the save (st_ino 0: there was none). */
static const char *state_failure_outcome(const char *path, const struct stat *before) {
        struct stat now;

        if (stat(path, &now) < 0)
                return "there is no state file, so a restart now would begin without the addresses learnt";
        if (before->st_ino == 0 || now.st_ino != before->st_ino || now.st_dev != before->st_dev)
                return "the new one is in place, but may not survive a power failure";
        return "keeping the previous one";
}

/* Writes the state file now. Returns 0, or a negative errno (logged once per run of failures,
 * and tried again later). */
static int manager_save_state(struct manager *m) {
        _cleanup_(state_writer_freep) struct state_writer *w = NULL;
        struct stat before = { .st_ino = 0 };
        int r;

        if (m->mode == MANAGER_DRY_RUN)
                return 0;
        if (stat(m->config->state_file, &before) < 0)
                before.st_ino = 0;
        r = state_writer_new(m->config->state_file, now_usec(CLOCK_REALTIME), &w);
        if (r >= 0)
                r = manager_state_write(m, w);
        if (r < 0) {
                /* Said once per run of failures: a full disk must not also fill the journal. */
                if (!m->save_failing) {
                        if (r == -E2BIG)
                                log_warning("Failed to write state file %s: the state is larger than a state file may be "
                                            "(%u addresses, %u hosts, 64 MiB); %s.", m->config->state_file,
                                            STATE_ADDRESSES_MAX, STATE_HOSTS_MAX,
                                            state_failure_outcome(m->config->state_file, &before));
                        else
                                log_warning_errno(r, "Failed to write state file %s: %m; %s.", m->config->state_file,
                                                  state_failure_outcome(m->config->state_file, &before));
                }
                m->save_failing = true;
                /* Try again after the usual interval rather than at the next change, which may
                 * be hours away. */
                if (m->save_timer) {
                        (void) sd_event_source_set_time(m->save_timer, now_usec(CLOCK_MONOTONIC) + STATE_SAVE_INTERVAL_USEC);
                        (void) sd_event_source_set_enabled(m->save_timer, SD_EVENT_ONESHOT);
                }
                return r;
        }
        if (m->save_failing)
                log_info("Wrote state file %s again after earlier failures.", m->config->state_file);
        m->save_failing = false;
        m->state_dirty = false;
        m->last_save = now_usec(CLOCK_MONOTONIC);
        /* Nothing is pending any more: no wake-up for nothing (the idle daemon makes no syscall). */
        if (m->save_timer)
                (void) sd_event_source_set_enabled(m->save_timer, SD_EVENT_OFF);
        return 0;
}

static int on_save_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct manager *m = userdata;

        if (m->state_dirty)
                (void) manager_save_state(m);
        return 0;
}

/* Marks the state as changed; the daemon writes it within STATE_SAVE_INTERVAL_USEC. */
static void manager_state_changed(struct manager *m) {
        m->state_dirty = true;
        /* Until the first round has ended the save waits for its end, which writes the file
         * anyway (before READY=1): a save per answer in between would write a big restored
         * state twice before the daemon is ready. */
        if (m->mode != MANAGER_DAEMON || (!m->ready && (!m->queried || m->round_left > 0)) || !m->save_timer ||
            sd_event_source_get_enabled(m->save_timer, NULL) > 0)
                return;
        (void) sd_event_source_set_time(m->save_timer,
                                        MAX(now_usec(CLOCK_MONOTONIC), m->last_save + STATE_SAVE_INTERVAL_USEC));
        (void) sd_event_source_set_enabled(m->save_timer, SD_EVENT_ONESHOT);
}

/* Restoring a state file: records are collected per group in a compact form (the ledger's
 * own entry: 48 bytes), checked against the configuration as they come, and each group's
 * ledger is built in one pass at the end, so the cost is O(n log n) in any record order. */

struct restore_name {
        const char *group;
        const char *host;
        uint32_t group_index;
        uint32_t host_index;
};

struct restore_host {
        uint32_t group_index;
        uint32_t host_index;
        struct state_host record;
};

struct restore_records {
        struct ledger_entry *items;
        size_t n, allocated;
        /* With snoop=yes, names below the group's domains= learned from DNS replies: they follow
         * the configured hosts in the group's host numbering. A name may stand here more than once
         * (records come in runs of one name; ledger_restore_many() interns each name once). */
        char **learned;
        size_t n_learned, allocated_learned;
};

struct restore {
        struct manager *m;
        usec_t now_r, now_b;
        struct restore_name *names;     /* every configured host, by (group, host) */
        size_t n_names;
        size_t last_name;               /* the previous record's host: records come in runs */
        struct restore_records *groups; /* per m->groups[] */
        struct restore_host *hosts;
        size_t n_hosts, allocated_hosts;
        size_t dropped;                 /* expired, not configured or not allowed */
};

static int restore_name_compare(const void *a, const void *b) {
        const struct restore_name *x = a, *y = b;
        int c = strcmp(x->group, y->group);

        return c != 0 ? c : strcmp(x->host, y->host);
}

static const struct restore_name *restore_find(struct restore *rs, const char *group, const char *host) {
        struct restore_name key = { .group = group, .host = host };
        const struct restore_name *found;

        if (rs->last_name < rs->n_names && restore_name_compare(&key, &rs->names[rs->last_name]) == 0)
                return &rs->names[rs->last_name];
        found = bsearch(&key, rs->names, rs->n_names, sizeof(*rs->names), restore_name_compare);
        if (found)
                rs->last_name = (size_t) (found - rs->names);
        return found;
}

/* The realtime value a save writes for a boottime value, at the clocks read at the start. */
static usec_t restore_to_realtime(const struct restore *rs, usec_t t) {
        return boottime_to_realtime_at(rs->now_b, rs->now_r, t);
}

static int restore_add(struct restore *rs, uint32_t group_index, uint32_t host_index,
                       const struct state_address *a, usec_t expiry, usec_t last_seen, usec_t first_seen) {
        struct restore_records *records = &rs->groups[group_index];

        if (grow_array((void **) &records->items, &records->allocated, records->n + 1, sizeof(*records->items)) < 0)
                return -ENOMEM;
        records->items[records->n++] = (struct ledger_entry) {
                .addr = a->addr,
                .host = host_index,
                .expiry = expiry,
                .last_seen = last_seen,
                .first_seen = first_seen,
        };
        return 0;
}

/* Never longer than one validity from now: a gateway that boots with a wrong clock, or a
 * validity= shortened since, must not make addresses permanent. */
static usec_t restore_expiry(const struct restore *rs, const struct group_state *g, usec_t expiry_r) {
        usec_t left = MIN(expiry_r - rs->now_r, g->config->validity);

        return left > USEC_INFINITY - rs->now_b ? USEC_INFINITY - 1 : rs->now_b + left;
}

static usec_t restore_last_seen(const struct restore *rs, usec_t last_seen_r) {
        return last_seen_r >= rs->now_r ? rs->now_b :
               rs->now_b > rs->now_r - last_seen_r ? rs->now_b - (rs->now_r - last_seen_r) : 0;
}

/* Never after last_seen (a file may say anything). Like last_seen, a time before this boot
 * becomes the boot: the ledger's clock starts there. */
static usec_t restore_first_seen(const struct restore *rs, const struct state_address *a) {
        return restore_last_seen(rs, MIN(a->first_seen, a->last_seen));
}

/* A record of a name that is no configured host: kept when snoop=yes and the name is below the
 * group's domains= (learned from a DNS reply), under the same rules as any other record. */
static int restore_on_learned_address(struct restore *rs, const struct state_address *a) {
        struct manager *m = rs->m;
        struct restore_records *records;
        struct group_state *g = NULL;
        size_t gi;

        for (gi = 0; m->config->snoop && gi < m->n_groups; gi++)
                if (streq(m->groups[gi].config->name, a->group)) {
                        g = &m->groups[gi];
                        break;
                }
        if (!g || !group_matches_name(g->config, a->host) ||
            !group_has_family(g->config, &a->addr) || !address_allowed(m->config, &a->addr)) {
                rs->dropped++;
                return 0;
        }
        records = &rs->groups[gi];
        if (records->n_learned == 0 || !streq(records->learned[records->n_learned - 1], a->host)) {
                char *name;

                if (g->n_hosts + records->n_learned + 1 > UINT32_MAX)
                        return -ENOMEM;
                if (grow_array((void **) &records->learned, &records->allocated_learned, records->n_learned + 1,
                               sizeof(*records->learned)) < 0)
                        return -ENOMEM;
                name = strdup(a->host);
                if (!name)
                        return -ENOMEM;
                records->learned[records->n_learned++] = name;
        }
        return restore_add(rs, (uint32_t) gi, (uint32_t) (g->n_hosts + records->n_learned - 1), a,
                           restore_expiry(rs, g, a->expiry), restore_last_seen(rs, a->last_seen),
                           restore_first_seen(rs, a));
}

static int restore_on_address(const struct state_address *a, void *userdata) {
        struct restore *rs = userdata;
        const struct restore_name *name = restore_find(rs, a->group, a->host);
        struct group_state *g;
        usec_t expiry, last_seen;

        if (!name && a->expiry > rs->now_r)
                return restore_on_learned_address(rs, a);
        if (!name || a->expiry <= rs->now_r) {
                rs->dropped++;
                return 0;
        }
        g = &rs->m->groups[name->group_index];
        if (!group_has_family(g->config, &a->addr) || !address_allowed(rs->m->config, &a->addr)) {
                rs->dropped++;
                return 0;
        }
        expiry = restore_expiry(rs, g, a->expiry);
        last_seen = restore_last_seen(rs, a->last_seen);

        return restore_add(rs, name->group_index, name->host_index, a, expiry, last_seen,
                           restore_first_seen(rs, a));
}

/* Host records are kept aside and applied only once the whole file has been read. */
static int restore_on_host(const struct state_host *h, void *userdata) {
        struct restore *rs = userdata;
        const struct restore_name *name = restore_find(rs, h->group, h->host);

        if (!name)
                return 0;
        if (grow_array((void **) &rs->hosts, &rs->allocated_hosts, rs->n_hosts + 1, sizeof(*rs->hosts)) < 0)
                return -ENOMEM;
        rs->hosts[rs->n_hosts++] = (struct restore_host) {
                .group_index = name->group_index,
                .host_index = name->host_index,
                .record = *h,
        };
        return 0;
}

static void restore_done(struct restore *rs) {
        for (size_t i = 0; rs->groups && i < rs->m->n_groups; i++) {
                free(rs->groups[i].items);
                for (size_t j = 0; j < rs->groups[i].n_learned; j++)
                        free(rs->groups[i].learned[j]);
                free(rs->groups[i].learned);
        }
        free(rs->groups);
        free(rs->names);
        free(rs->hosts);
}

static int restore_new(struct manager *m, struct restore *ret) {
        struct restore rs = {
                .m = m,
                .now_r = now_usec(CLOCK_REALTIME),
                .now_b = now_usec(CLOCK_BOOTTIME),
        };
        size_t k = 0;

        for (size_t i = 0; i < m->n_groups; i++)
                rs.n_names += m->groups[i].n_hosts;
        rs.groups = calloc(MAX(m->n_groups, 1u), sizeof(*rs.groups));
        rs.names = calloc(MAX(rs.n_names, 1u), sizeof(*rs.names));
        if (!rs.groups || !rs.names) {
                restore_done(&rs);
                return -ENOMEM;
        }
        for (size_t i = 0; i < m->n_groups; i++)
                for (size_t j = 0; j < m->groups[i].n_hosts; j++)
                        rs.names[k++] = (struct restore_name) {
                                .group = m->groups[i].config->name,
                                .host = m->groups[i].hosts[j].name,
                                .group_index = (uint32_t) i,
                                .host_index = (uint32_t) j,
                        };
        qsort(rs.names, rs.n_names, sizeof(*rs.names), restore_name_compare);
        *ret = rs;
        return 0;
}

struct restore_rank {
        usec_t expiry;
        uint64_t size;
};

static int restore_rank_compare(const void *a, const void *b) {
        const struct restore_rank *x = a, *y = b;

        return x->expiry > y->expiry ? -1 : x->expiry < y->expiry;
}

/* Everything restored must fit in the next save: the host lines the configuration adds may not
 * have been in the file, and times may be written with more digits than the file had. Rarely
 * needed (a file near the size limit); then the addresses that expire first go, all those of
 * one expiry together. Returns how many were dropped, or -ENOMEM. */
static ssize_t restore_fit(struct manager *m, const struct restore *rs) {
        _cleanup_free_ struct restore_rank *rank = NULL;
        uint64_t budget = STATE_FILE_MAX - state_frame_size_max(), used = 0;
        size_t n = 0, k = 0, dropped = 0;
        usec_t threshold;

        for (size_t i = 0; i < m->n_groups; i++) {
                const struct group_state *g = &m->groups[i];
                const struct ledger_entry *e = ledger_entries(g->ledger, &n);

                for (size_t j = 0; j < g->n_hosts; j++)
                        budget -= MIN(budget, state_host_size_max(g->config->name, g->hosts[j].name));
                for (size_t j = 0; j < n; j++)
                        used += state_address_size(g->config->name, ledger_host_name(g->ledger, e[j].host), &e[j].addr,
                                                   restore_to_realtime(rs, e[j].expiry),
                                                   restore_to_realtime(rs, e[j].last_seen),
                                                   restore_to_realtime(rs, e[j].first_seen));
        }
        if (used <= budget)
                return 0;

        n = 0;
        for (size_t i = 0; i < m->n_groups; i++) {
                size_t n_group;
                ledger_entries(m->groups[i].ledger, &n_group);
                n += n_group;
        }
        rank = malloc(n * sizeof(*rank));
        if (!rank)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_groups; i++) {
                const struct group_state *g = &m->groups[i];
                size_t n_group;
                const struct ledger_entry *e = ledger_entries(g->ledger, &n_group);

                for (size_t j = 0; j < n_group; j++)
                        rank[k++] = (struct restore_rank) {
                                .expiry = e[j].expiry,
                                .size = state_address_size(g->config->name, ledger_host_name(g->ledger, e[j].host),
                                                           &e[j].addr, restore_to_realtime(rs, e[j].expiry),
                                                           restore_to_realtime(rs, e[j].last_seen),
                                                           restore_to_realtime(rs, e[j].first_seen)),
                        };
        }
        qsort(rank, n, sizeof(*rank), restore_rank_compare);
        used = 0;
        for (k = 0; k < n && used + rank[k].size <= budget; k++)
                used += rank[k].size;
        threshold = rank[k].expiry; /* k < n: the whole did not fit */
        for (size_t i = 0; i < m->n_groups; i++)
                dropped += ledger_expire(m->groups[i].ledger, threshold, NULL, NULL);
        return (ssize_t) dropped;
}

static void restore_refused(struct manager *m, int r, const char *why) {
        const char *what = r == -EFBIG ? "is too large" :
                           r == -EBADMSG ? "is corrupt, truncated or of another version" : "cannot be read";
        char aside[4096];
        int k;

        /* Corrupt, or unreadable for another reason: either way it is moved aside, never
         * overwritten unseen by the next save. */
        k = state_set_aside(m->config->state_file, aside, sizeof(aside));
        if (k < 0)
                log_warning_errno(k, "State file %s %s (%s) and could not be moved aside: %m; starting empty.",
                                  m->config->state_file, what, why);
        else
                log_warning("State file %s %s (%s); moved it to %s and starting empty.",
                            m->config->state_file, what, why, aside);
}

static void group_limit_snooped(struct group_state *g);

/* Before any DNS query: put back what the state file says is still valid, with its remaining
 * time (not a fresh validity), so a gateway rebooting while DNS is down keeps its allow-list. */
static void manager_restore_state(struct manager *m) {
        _cleanup_(restore_done) struct restore rs = { 0 };
        struct state_reader reader = {
                .on_address = restore_on_address,
                .on_host = restore_on_host,
        };
        size_t restored = 0, duplicates = 0, over = 0, hosts_over = 0, most = 0;
        const char *most_host = NULL;
        char also[128] = "";
        ssize_t unfit;
        int r;

        if (restore_new(m, &rs) < 0) {
                log_oom();
                return;
        }
        reader.userdata = &rs;
        r = state_read(m->config->state_file, &reader);
        if (r == -ENOENT)
                return;
        if (r == -ENOMEM) {
                log_oom();
                return;
        }
        if (r < 0) {
                restore_refused(m, r, reader.why);
                return;
        }

        for (size_t i = 0; i < m->n_groups; i++) {
                struct group_state *g = &m->groups[i];
                const struct restore_records *records = &rs.groups[i];
                _cleanup_free_ const char **names = calloc(MAX(g->n_hosts + records->n_learned, 1u), sizeof(char *));
                struct ledger_restore_stats stats;
                size_t n;

                if (!names) {
                        log_oom();
                        return;
                }
                for (size_t j = 0; j < g->n_hosts; j++)
                        names[j] = g->hosts[j].name;
                for (size_t j = 0; j < records->n_learned; j++)
                        names[g->n_hosts + j] = records->learned[j];
                r = ledger_restore_many(g->ledger, names, g->n_hosts + records->n_learned,
                                        TAKE_PTR(rs.groups[i].items), rs.groups[i].n,
                                        MIN(m->config->max_addresses, RESOLVER_MAX_ADDRS), &stats);
                if (r < 0) {
                        log_error_errno(r, "Failed to restore group %s from the state file: %m", g->config->name);
                        continue;
                }
                if (m->config->snoop)
                        group_limit_snooped(g);
                ledger_entries(g->ledger, &n);
                restored += n;
                duplicates += stats.duplicates;
                over += stats.over_limit;
                hosts_over += stats.hosts_over_limit;
                if (stats.most_over_count > most) {
                        most = stats.most_over_count;
                        most_host = ledger_host_name(g->ledger, stats.most_over);
                }
        }
        unfit = restore_fit(m, &rs);
        if (unfit < 0) {
                log_oom();
                unfit = 0;
        }
        restored -= MIN(restored, (size_t) unfit);
        for (size_t i = 0; i < rs.n_hosts; i++) {
                const struct restore_host *rh = &rs.hosts[i];
                struct host *h = &m->groups[rh->group_index].hosts[rh->host_index];

                h->last_success = rh->record.last_success;
                h->last_failure = rh->record.last_failure;
                h->failing_since = rh->record.failing_since;
                h->failures = rh->record.failures;
                host_set_error(h, rh->record.last_error);
        }

        /* What was left out is said once, in total. */
        if (over > 0)
                log_warning("State file %s: dropped %zu address%s beyond max_addresses=%u per family of %zu host%s, "
                            "keeping the latest to expire (the most from %s: %zu).",
                            m->config->state_file, over, over == 1 ? "" : "es",
                            MIN(m->config->max_addresses, RESOLVER_MAX_ADDRS),
                            hosts_over, hosts_over == 1 ? "" : "s", most_host, most);
        if (unfit > 0)
                log_warning("State file %s: dropped the %zd address%s expiring first, so that the next save stays within the state file's limit of 64 MiB.",
                            m->config->state_file, unfit, unfit == 1 ? "" : "es");
        if (duplicates > 0)
                snprintf(also, sizeof(also), "; %zu record%s of an address another record carries with a later expiry",
                         duplicates, duplicates == 1 ? "" : "s");
        log_event(LOG_INFO, MESSAGE_STATE_RESTORED, NULL, NULL, NULL,
                  "Restored %zu address%s from %s (%zu expired, no longer configured or no longer allowed%s).",
                  restored, restored == 1 ? "" : "es", m->config->state_file, rs.dropped, also);
}

/* ---- notify ---- */

static void manager_update_status(struct manager *m) {
        size_t hosts = 0, addresses = 0, failing = 0;
        const struct host *first_failing = NULL;
        usec_t next = USEC_INFINITY, now = boottime_now(m);
        char status[640], health[400], since[TIMESTAMP_MAX], in[DURATION_MAX], refresh[DURATION_MAX + 32];

        if (m->mode != MANAGER_DAEMON)
                return;
        for (size_t i = 0; i < m->n_groups; i++) {
                const struct group_state *g = &m->groups[i];
                size_t n;

                ledger_entries(g->ledger, &n);
                addresses += n + g->config->n_addresses;
                hosts += g->n_hosts;
                for (size_t j = 0; j < g->n_hosts; j++) {
                        const struct host *h = &g->hosts[j];
                        if (h->failures > 0) {
                                failing++;
                                if (!first_failing || h->failing_since < first_failing->failing_since)
                                        first_failing = h;
                        }
                        if (h->next_refresh > 0)
                                next = MIN(next, h->next_refresh);
                }
        }
        if (failing > 0) {
                time_t t = (time_t) (first_failing->failing_since / USEC_PER_SEC);
                struct tm tm;

                if (!localtime_r(&t, &tm) || strftime(since, sizeof(since), "%H:%M", &tm) == 0)
                        snprintf(since, sizeof(since), "?");
                snprintf(health, sizeof(health), "%zu host%s failing (%s since %s)", failing,
                         failing == 1 ? "" : "s", first_failing->name, since);
        } else
                snprintf(health, sizeof(health), "all hosts answering");
        if (hosts == 0) {
                /* No DNS at all: no health to report, nothing ever refreshes. */
                (void) sd_notifyf(false, "STATUS=%zu group%s, %zu static address%s, no host names to refresh",
                                  m->n_groups, m->n_groups == 1 ? "" : "s", addresses, addresses == 1 ? "" : "es");
                return;
        }
        if (next == USEC_INFINITY)
                snprintf(refresh, sizeof(refresh), "refreshing now");
        else
                snprintf(refresh, sizeof(refresh), "next refresh in %s",
                         format_duration(in, sizeof(in), next > now ? next - now : 0));
        snprintf(status, sizeof(status), "%zu group%s, %zu host%s, %zu address%s; %s; %s",
                 m->n_groups, m->n_groups == 1 ? "" : "s", hosts, hosts == 1 ? "" : "s",
                 addresses, addresses == 1 ? "" : "es", health, refresh);
        (void) sd_notifyf(false, "STATUS=%s", status);
}

static void manager_maybe_ready(struct manager *m) {
        /* Ready means the sets exist: an operator's ruleset using them can load now. */
        if (m->ready || m->round_left > 0 || (m->mode == MANAGER_DAEMON && !m->applied))
                return;
        m->ready = true;
        if (m->mode == MANAGER_DAEMON)
                (void) sd_notify(false, "READY=1");
        /* What changed since the first round's save (manager_state_changed() may have waited). */
        if (m->state_dirty)
                manager_state_changed(m);
}

/* ---- applying ---- */

static int on_apply_timer(sd_event_source *s, uint64_t usec, void *userdata);

/* Arms the apply timer, unless it is already armed to fire sooner. */
static void manager_schedule_apply_in(struct manager *m, usec_t delay) {
        usec_t now, armed;

        if (m->mode != MANAGER_DAEMON || !m->apply_timer)
                return;
        if (sd_event_now(m->event, CLOCK_MONOTONIC, &now) < 0)
                now = now_usec(CLOCK_MONOTONIC);
        if (sd_event_source_get_enabled(m->apply_timer, NULL) > 0 &&
            sd_event_source_get_time(m->apply_timer, &armed) >= 0 && armed <= now + delay)
                return;
        (void) sd_event_source_set_time(m->apply_timer, now + delay);
        (void) sd_event_source_set_enabled(m->apply_timer, SD_EVENT_ONESHOT);
}

static void manager_schedule_apply(struct manager *m) {
        manager_schedule_apply_in(m, APPLY_DELAY_USEC);
}

static void manager_log_nft_error(int r, const struct nft_error *err, const char *what, const char *outcome) {
        log_error_errno(r, "Failed to %s (%s%s%s): %m; %s.", what,
                        err->object[0] ? err->object : "nftables",
                        err->hint[0] ? ": " : "", err->hint, outcome);
}

/* Builds what the kernel should hold from the configuration and the ledgers and sends it in one
 * transaction (nothing when unchanged, unless force). Returns what nft_apply() returns. */
static int manager_transaction(struct manager *m, bool force, struct nft_error *err) {
        _cleanup_(desired_done) struct desired d = { 0 };
        int r;

        r = manager_desired(m, &d);
        if (r < 0)
                return r;
        if (m->mode == MANAGER_DRY_RUN)
                return nft_write_script(stdout, &d.ruleset, boottime_now(m));
        r = nft_apply(m->nft, &d.ruleset, boottime_now(m), force, err);
        metrics_count_transaction(m->metrics, &d.ruleset, r);
        return r;
}

/* Whether a failed transaction may go through when sent again unchanged: the kernel or the
 * socket was short of memory, or the replies were lost. Anything else is the kernel refusing
 * the configuration itself (a set of the operator's in the way, no permission, ...). */
static bool nft_failure_is_transient(int r, const struct nft_error *err) {
        return err->unknown || r == -ENOBUFS || r == -ENOMEM || r == -EAGAIN || r == -EINTR || r == -ETIMEDOUT;
}

static size_t names_find(char (*names)[NFT_SET_NAME_LEN], size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (streq(names[i], name))
                        return i;
        return SIZE_MAX;
}

/* After a transaction whose replies were lost (err->unknown), finds out from the kernel what it
 * holds and makes that certain. The generation tells whether anything was committed since the
 * send; when nothing was, the kernel holds what it held before. When something was, the sets
 * read back show whether they are the transaction's, and it is sent once more (forced: the same
 * contents again change nothing if it did go in), so that afterwards its outcome is known.
 * Logs what it found. Returns 1 when the current configuration is in force, 0 when the
 * transaction was not committed, or a negative errno when the second attempt failed too (err
 * then describes that one). */
static int manager_settle_unknown(struct manager *m, const char *what, int error, struct nft_error *err) {
        _cleanup_(desired_done) struct desired d = { 0 };
        _cleanup_free_ char (*sets)[NFT_SET_NAME_LEN] = NULL;
        char missing[256] = "", moved[64];
        size_t n_sets = 0, n_missing = 0;
        uint32_t gen, gen_before = err->generation;
        bool gen_known = err->generation_known;
        int r;

        r = nft_get_generation(m->nft, &gen);
        if (r >= 0 && gen_known && gen == gen_before) {
                log_warning("The kernel's replies to %s were lost (%s); the nftables generation is still %" PRIu32
                            ", so it was not committed.", what, strerror(-error), gen);
                return 0;
        }
        r = manager_desired(m, &d);
        if (r < 0)
                return r;
        if (nft_read_own_sets(m->nft, d.ruleset.family, d.ruleset.table, &sets, &n_sets) >= 0)
                for (size_t i = 0; i < d.ruleset.n_groups; i++)
                        for (int k = 0; k < 2; k++) {
                                const struct nft_group *g = &d.ruleset.groups[i];
                                char name[NFT_SET_NAME_LEN];

                                if (!(g->families & (k == 0 ? FAMILY_IPV4 : FAMILY_IPV6)))
                                        continue;
                                snprintf(name, sizeof(name), "%s_%s", g->name, k == 0 ? "v4" : "v6");
                                if (names_find(sets, n_sets, name) != SIZE_MAX)
                                        continue;
                                if (n_missing++ < 4)
                                        snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), "%s%s",
                                                 n_missing > 1 ? ", " : "", name);
                        }

        r = manager_transaction(m, true, err);
        if (r < 0) {
                manager_log_nft_error(r, err, "send it again after its replies were lost", "its outcome is unknown");
                return r;
        }
        if (gen_known)
                snprintf(moved, sizeof(moved), "moved from %" PRIu32 " to %" PRIu32, gen_before, gen);
        else
                snprintf(moved, sizeof(moved), "is %" PRIu32 " (unread before the send)", gen);
        if (n_missing == 0)
                log_warning("The kernel's replies to %s were lost (%s); the nftables generation %s and every set "
                            "it makes is there, so it was committed; sent it once more to be certain: it is in force.",
                            what, strerror(-error), moved);
        else
                log_warning("The kernel's replies to %s were lost (%s); the nftables generation %s but %zu of its "
                            "sets were missing (%s%s), so it was not committed; sent it again: it is in force.",
                            what, strerror(-error), moved, n_missing, missing, n_missing > 4 ? ", ..." : "");
        return 1;
}

/* Sends the desired contents to the kernel (nothing when unchanged). Returns 0, or a negative
 * errno with *ret_transient telling whether sending it again later may succeed (a retry is
 * then scheduled). */
static int manager_apply_full(struct manager *m, bool *ret_transient) {
        struct nft_error err = { 0 };
        bool force = m->force_apply;
        int r;

        if (m->mode == MANAGER_DRY_RUN) {
                r = manager_transaction(m, true, &err);
                return r < 0 ? log_error_errno(r, "Failed to write the nft script: %m") : 0;
        }

        m->force_apply = false;
        r = manager_transaction(m, force, &err);
        if (r < 0 && err.unknown) {
                int k = manager_settle_unknown(m, "the nftables transaction", r, &err);
                if (k > 0)
                        r = 1;
                else if (k < 0)
                        r = k;
                /* Not committed: the same failure, known now to have changed nothing. */
        }
        if (r < 0) {
                bool transient = nft_failure_is_transient(r, &err);

                /* The kernel still has the previous allow-list. Try again after retry_min (a
                 * forced repair stays forced); say it once, not at every attempt. */
                m->force_apply = force;
                if (!m->apply_failing)
                        manager_log_nft_error(r, &err, "apply nftables transaction",
                                              !m->applied && !transient ? "the kernel refuses this configuration" :
                                              transient ? "keeping the previous allow-list and trying again" :
                                                          "keeping the previous allow-list");
                else
                        log_debug("nftables transaction failed again: %s", strerror(-r));
                m->apply_failing = true;
                manager_schedule_apply_in(m, m->config->retry_min);
                if (ret_transient)
                        *ret_transient = transient;
                return r;
        }
        /* A foreign change may have taken the snooping chains too (flush ruleset). */
        if (force && m->snoop) {
                const struct config *c = m->config;
                struct nft_queue_spec spec = { c->table_family, c->table, c->snoop_queue, c->snoop_servers, c->n_snoop_servers };
                enum nft_queue_kind kind;
                int k = nft_queue_install(&spec, &kind, &err);

                if (k < 0)
                        manager_log_nft_error(k, &err, "put back the DNS snooping chains", "trying again at the next repair");
        }
        if (m->apply_failing)
                log_info("nftables transaction applied again after earlier failures.");
        m->apply_failing = false;
        m->applied = true;
        if (r > 0)
                log_debug("Applied nftables transaction.");
        return 0;
}

static int manager_apply(struct manager *m) {
        return manager_apply_full(m, NULL);
}

static int on_apply_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct manager *m = userdata;

        (void) manager_apply(m);
        /* READY=1 may have waited for this: the first round is done, the allow-list was not in. */
        if (m->queried)
                manager_maybe_ready(m);
        manager_update_status(m);
        return 0;
}

static void on_nft_leftover(struct nft *n, int error, const struct nft_error *what, void *userdata) {
        log_warning_errno(error, "%s: %s: %m", what->object, what->hint);
}

static void on_foreign_change(struct nft *n, void *userdata) {
        struct manager *m = userdata;

        log_event(LOG_WARNING, MESSAGE_SET_RESTORED, NULL, NULL, NULL,
                  "Another program changed or removed allowlistd's nftables objects in table %s; putting them back.",
                  m->config->table);
        metrics_count_foreign_change(m->metrics);
        m->force_apply = true;
        manager_schedule_apply(m);
}

/* ---- expiry ---- */

static void on_entry_expired(const struct ledger *l, const struct ledger_entry *e, void *userdata) {
        struct group_state *g = userdata;
        char a[ADDR_STRLEN];

        log_event(LOG_INFO, MESSAGE_ADDRESSES_EXPIRED, g->config->name, ledger_host_name(l, e->host),
                  addr_to_string(&e->addr, a), "%s: -%s (group %s: validity ran out without DNS returning it again)",
                  ledger_host_name(l, e->host), a, g->config->name);
}

/* Makes sure the expiry timer fires no later than when: an answer only ever sets expiries to
 * when or later, so this keeps the timer at or before the earliest one without looking at every
 * address. If it fires early (the addresses were seen again meanwhile), on_expire_timer() looks
 * once and arms it for the true earliest: every address is confirmed at least every validity/2,
 * so that happens at most about once per validity/2, not once per answer. */
static void manager_arm_expire_by(struct manager *m, usec_t when) {
        usec_t armed;

        if (m->mode != MANAGER_DAEMON)
                return;
        if (sd_event_source_get_enabled(m->expire_timer, NULL) > 0 &&
            sd_event_source_get_time(m->expire_timer, &armed) >= 0 && armed <= when)
                return;
        (void) sd_event_source_set_time(m->expire_timer, when);
        (void) sd_event_source_set_enabled(m->expire_timer, SD_EVENT_ONESHOT);
}

/* Arms the expiry timer for the earliest expiry of all: a pass over every address, for the
 * expiry timer itself, start and reload. */
static void manager_arm_expire(struct manager *m) {
        usec_t next = USEC_INFINITY;

        if (m->mode != MANAGER_DAEMON)
                return;
        for (size_t i = 0; i < m->n_groups; i++)
                next = MIN(next, ledger_next_expiry(m->groups[i].ledger));
        if (next == USEC_INFINITY) {
                (void) sd_event_source_set_enabled(m->expire_timer, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time(m->expire_timer, next);
        (void) sd_event_source_set_enabled(m->expire_timer, SD_EVENT_ONESHOT);
}

static int on_expire_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct manager *m = userdata;
        usec_t now = boottime_now(m);
        size_t removed = 0;

        for (size_t i = 0; i < m->n_groups; i++)
                removed += ledger_expire(m->groups[i].ledger, now, on_entry_expired, &m->groups[i]);
        metrics_count_expired(m->metrics, removed);
        if (removed > 0) {
                manager_state_changed(m);
                manager_schedule_apply(m);
        }
        manager_arm_expire(m);
        return 0;
}

/* ---- resolution ---- */

static void host_query(struct host *h);

static int host_compare_refresh(const void *a, const void *b) {
        const struct host *x = a, *y = b;

        if (x->next_refresh != y->next_refresh)
                return x->next_refresh < y->next_refresh ? -1 : 1;
        /* Ties in configuration order, so the first round asks in the order of the file. */
        return x < y ? -1 : x > y;
}

/* Arms the refresh timer for the first waiting host, or switches it off when none waits or the
 * first one is due already (then answers in flight call manager_dispatch() again). */
static void manager_arm_refresh(struct manager *m) {
        const struct host *first = prioq_peek(m->refresh_queue);
        usec_t now, accuracy;

        if (m->mode != MANAGER_DAEMON || !m->refresh_timer)
                return;
        now = boottime_now(m);
        if (!first || first->next_refresh <= now) {
                (void) sd_event_source_set_enabled(m->refresh_timer, SD_EVENT_OFF);
                return;
        }
        /* Up to a tenth of the delay late, so wake-ups can be batched; 0 would mean sd-event's
         * default of 250 ms, not "exact". */
        accuracy = CLAMP((first->next_refresh - now) / 10, USEC_PER_MSEC, REFRESH_ACCURACY_MAX_USEC);
        (void) sd_event_source_set_time(m->refresh_timer, first->next_refresh);
        (void) sd_event_source_set_time_accuracy(m->refresh_timer, accuracy);
        (void) sd_event_source_set_enabled(m->refresh_timer, SD_EVENT_ONESHOT);
}

/* Asks DNS for every host whose refresh is due, as long as the resolver has fewer than
 * DISPATCH_MAX queries of ours; then arms the timer for the next one. */
static void manager_dispatch(struct manager *m) {
        usec_t now = boottime_now(m);
        struct host *h;

        while ((h = prioq_peek(m->refresh_queue)) && h->next_refresh <= now &&
               resolver_pending(m->resolver) < DISPATCH_MAX) {
                prioq_remove(m->refresh_queue, &h->queue_idx);
                host_query(h);
        }
        manager_arm_refresh(m);
}

static int on_refresh_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        manager_dispatch(userdata);
        return 0;
}

/* Puts h in the refresh queue for when (0: now) and re-arms the timer if h comes first. The
 * queue has room for every host (manager_reserve_hosts()), so this cannot fail. */
static void host_schedule(struct host *h, usec_t when) {
        struct manager *m = h->group->manager;
        bool was_first = prioq_peek(m->refresh_queue) == h;

        h->next_refresh = when;
        if (h->queue_idx != PRIOQ_IDX_NULL)
                prioq_reshuffle(m->refresh_queue, &h->queue_idx);
        else
                (void) prioq_put(m->refresh_queue, h, &h->queue_idx);
        if (was_first || prioq_peek(m->refresh_queue) == h)
                manager_arm_refresh(m);
}

/* True when this rejection was logged before; remembers up to REJECTED_MEMORY per host, then
 * says once that it stops naming them, so a hostile zone cannot flood the journal. */
static bool host_already_rejected(struct host *h, const struct ip_addr *a) {
        for (size_t i = 0; i < h->n_rejected; i++)
                if (addr_compare(&h->rejected[i], a) == 0)
                        return true;
        if (h->n_rejected == REJECTED_MEMORY)
                return true;
        if (!h->rejected) {
                h->rejected = malloc(REJECTED_MEMORY * sizeof(*h->rejected));
                if (!h->rejected)
                        return false; /* logged every time, until memory is back */
        }
        h->rejected[h->n_rejected++] = *a;
        if (h->n_rejected == REJECTED_MEMORY)
                log_warning("%s: %d refused addresses logged; further ones from this host are dropped without a message.",
                            h->name, REJECTED_MEMORY);
        return false;
}

/* The same for the addresses refused from snooped replies, per group (its names are many). */
static bool snooped_already_rejected(struct group_state *g, const struct ip_addr *a) {
        struct rejected_memory *r = &g->snoop_rejected;

        for (size_t i = 0; i < r->n; i++)
                if (addr_compare(&r->addrs[i], a) == 0)
                        return true;
        if (r->n == REJECTED_MEMORY)
                return true;
        r->addrs[r->n++] = *a;
        if (r->n == REJECTED_MEMORY)
                log_warning("%s: %d refused addresses from snooped DNS replies logged; further ones are dropped without a message.",
                            g->config->name, REJECTED_MEMORY);
        return false;
}

/* Keeps what may go on the allow-list: no loopback/link-local/multicast/..., no private ranges
 * unless allow_private=yes (DNS rebinding), the group's families only, at most max_addresses per
 * family. Writes into out (sized n); returns the count. */
static size_t host_filter_answer(struct host *h, const struct ip_addr *in, size_t n, struct ip_addr *out) {
        const struct config *c = h->group->manager->config;
        const struct group *g = h->group->config;
        size_t k = 0, per_family[2] = { 0, 0 };
        bool cut = false;
        char a[ADDR_STRLEN], reason[ADDR_REASON_MAX];

        for (size_t i = 0; i < n; i++) {
                int fi = in[i].family == AF_INET ? 0 : 1;

                if (!group_has_family(g, &in[i]))
                        continue;
                if (!address_allowed(c, &in[i])) {
                        if (!host_already_rejected(h, &in[i]))
                                log_event(LOG_WARNING, NULL, g->name, h->name, addr_to_string(&in[i], a),
                                          "%s: ignoring %s from DNS: %s addresses are never allowed%s.",
                                          h->name, a, addr_class_reason(&in[i], reason),
                                          addr_classify(&in[i]) == ADDR_PRIVATE ? " unless allow_private=yes" : "");
                        continue;
                }
                if (per_family[fi] >= c->max_addresses) {
                        cut = true;
                        continue;
                }
                per_family[fi]++;
                out[k++] = in[i];
        }
        if (cut && !h->warned_cut)
                log_warning("%s: DNS returned more than max_addresses=%u addresses for one family; using the first %u.",
                            h->name, c->max_addresses, c->max_addresses);
        h->warned_cut = cut;
        return k;
}

static void on_entry_added(const struct ledger *l, const struct ledger_entry *e, void *userdata) {
        struct group_state *g = userdata;
        const char *host = g->answer_host;
        char a[ADDR_STRLEN], until[TIMESTAMP_MAX];
        size_t n;

        if (++g->added_logged > ADDED_LOG_MAX)
                return;
        n = ledger_host_count(l, host);
        log_event(LOG_INFO, MESSAGE_ADDRESSES_ADDED, g->config->name, host, addr_to_string(&e->addr, a),
                  "%s: +%s (now %zu address%s, valid until %s)", host, a, n, n == 1 ? "" : "es",
                  format_timestamp(until, sizeof(until), boottime_to_realtime(e->expiry)));
}

static void host_on_result(struct resolver *r, const struct resolver_result *res, void *userdata) {
        struct host *h = userdata;
        struct group_state *g = h->group;
        struct manager *m = g->manager;
        const struct config *c = m->config;
        usec_t now = boottime_now(m), now_r = now_usec(CLOCK_REALTIME), delay;
        _cleanup_free_ struct ip_addr *addrs = NULL;
        size_t n = 0;
        int added = 0;

        h->in_flight = false;
        metrics_count_lookup(m->metrics, metrics_lookup_result(res));
        if (h->first_round) {
                h->first_round = false;
                m->round_left--;
        }

        if (res->n_addrs > 0) {
                addrs = calloc(res->n_addrs, sizeof(*addrs));
                if (!addrs) {
                        log_oom();
                        host_schedule(h, now + c->retry_min);
                        goto done;
                }
                n = host_filter_answer(h, res->addrs, res->n_addrs, addrs);
        }

        if (n > 0) {
                g->added_logged = 0;
                g->answer_host = h->name;
                added = ledger_record(g->ledger, h->name, addrs, n, now, g->config->validity, on_entry_added, g);
                if (added > 0)
                        metrics_count_added(m->metrics, (size_t) added);
                if (added < 0)
                        log_oom();
                else if (added > ADDED_LOG_MAX)
                        log_event(LOG_INFO, MESSAGE_ADDRESSES_ADDED, g->config->name, h->name, NULL,
                                  "%s: %d more addresses added (now %zu addresses).", h->name,
                                  added - ADDED_LOG_MAX, ledger_host_count(g->ledger, h->name));
                /* Extended expiries must reach the kernel too: the element timeouts grow. */
                manager_state_changed(m);
        }

        if (res->error == 0) {
                if (h->failures > 0) {
                        char d[DURATION_MAX];
                        log_event(LOG_INFO, MESSAGE_RESOLUTION_RECOVERED, g->config->name, h->name, NULL,
                                  "%s: DNS answers again after %u failure%s over %s.", h->name, h->failures,
                                  h->failures == 1 ? "" : "s",
                                  format_duration(d, sizeof(d), now_r > h->failing_since ? now_r - h->failing_since : 0));
                }
                if (n == 0) {
                        /* Said once when it starts; every refresh after that would say it again
                         * for the whole validity, which is days. */
                        size_t left = ledger_host_count(g->ledger, h->name);
                        char kept[96];

                        if (left > 0)
                                snprintf(kept, sizeof(kept), "keeping its %zu address%s until each one's validity ends",
                                         left, left == 1 ? "" : "es");
                        else
                                snprintf(kept, sizeof(kept), "no addresses to keep");
                        log_event(!h->empty_logged ? (left > 0 ? LOG_WARNING : LOG_INFO) : LOG_DEBUG,
                                  NULL, g->config->name, h->name, NULL, "%s: %s; %s.", h->name,
                                  res->nxdomain ? "name does not exist (NXDOMAIN)" : "DNS returned no usable address",
                                  kept);
                        h->empty_logged = true;
                } else {
                        h->empty_logged = false;
                        if (added == 0)
                                log_debug("%s: refreshed, no change (%zu address%s).", h->name, n, n == 1 ? "" : "es");
                }
                h->failures = 0;
                h->failing_since = 0;
                h->last_success = now_r;
                host_set_error(h, NULL);
                h->warned_expiry = false;
                delay = schedule_after_success(n > 0 ? res->min_ttl : USEC_INFINITY, g->config->refresh,
                                               c->refresh_min, g->config->validity);
        } else {
                size_t kept = ledger_host_count(g->ledger, h->name);
                uint64_t rnd = 0;
                usec_t expiry;

                m->any_failed = true;
                h->empty_logged = false;
                if (h->failures == 0) {
                        h->failing_since = now_r;
                        if (kept > 0)
                                log_event(LOG_WARNING, MESSAGE_RESOLUTION_FAILED, g->config->name, h->name, NULL,
                                          "%s: DNS lookup failed (%s); keeping its %zu address%s until each one's validity ends.",
                                          h->name, res->error_text ?: strerror(-res->error), kept, kept == 1 ? "" : "es");
                        else
                                log_event(LOG_WARNING, MESSAGE_RESOLUTION_FAILED, g->config->name, h->name, NULL,
                                          "%s: DNS lookup failed (%s); no addresses to keep.",
                                          h->name, res->error_text ?: strerror(-res->error));
                } else
                        log_debug("%s: DNS lookup failed again (%s), %u in a row.", h->name,
                                  res->error_text ?: strerror(-res->error), h->failures + 1);
                h->failures++;
                h->last_failure = now_r;
                host_set_error(h, res->error_text ?: strerror(-res->error));
                (void) getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK);
                expiry = ledger_host_next_expiry(g->ledger, h->name);
                /* Backoff, but never past the last tenth of the validity: the warning below must get
                 * its chance, and the host its last attempts, before the addresses go. */
                delay = schedule_retry_before_expiry(now, schedule_after_failure(h->failures, c->retry_min, c->retry_max, rnd),
                                                     expiry, g->config->validity);

                if (!h->warned_expiry && expiry != USEC_INFINITY &&
                    schedule_expiry_is_near(now, expiry, g->config->validity)) {
                        char failed[DURATION_MAX], at[TIMESTAMP_MAX];
                        h->warned_expiry = true;
                        log_event(LOG_WARNING, MESSAGE_EXPIRY_WARNING, g->config->name, h->name, NULL,
                                  "%s: DNS has failed for %s; its addresses start leaving the allow-list at %s.",
                                  h->name, format_duration(failed, sizeof(failed), now_r - MIN(now_r, h->failing_since)),
                                  format_timestamp(at, sizeof(at), boottime_to_realtime(expiry)));
                }
        }
        manager_state_changed(m);
        host_schedule(h, now + delay);
done:
        if (n > 0)
                manager_arm_expire_by(m, now + g->config->validity);
        /* Before the check below: the last hosts of the first round may fail to start. */
        manager_dispatch(m);
        if (m->ready)
                manager_schedule_apply(m);
        else if (m->round_left == 0 && m->mode == MANAGER_DAEMON) {
                /* The first round is complete: apply it, then tell systemd we are ready. */
                (void) manager_apply(m);
                manager_save_state(m);
                (void) metrics_flush(m->metrics);
                manager_maybe_ready(m);
                manager_update_status(m);
        }
}

static void host_query(struct host *h) {
        struct manager *m = h->group->manager;
        int r;

        if (h->in_flight)
                return;
        r = resolver_query(m->resolver, h->name, h->group->config->family, host_on_result, h);
        if (r < 0) {
                log_error_errno(r, "%s: failed to start DNS query: %m", h->name);
                /* Not waited for by the first round: it will never answer. */
                if (h->first_round) {
                        h->first_round = false;
                        m->round_left--;
                }
                host_schedule(h, boottime_now(m) + m->config->retry_min);
                return;
        }
        h->in_flight = true;
}

/* Makes every host due now and counts it in the first round, then hands the first of them to
 * the resolver; answers take the rest along (manager_dispatch()). */
static void manager_query_all(struct manager *m) {
        m->queried = true;
        for (size_t i = 0; i < m->n_groups; i++)
                for (size_t j = 0; j < m->groups[i].n_hosts; j++) {
                        struct host *h = &m->groups[i].hosts[j];
                        if (h->in_flight)
                                continue;
                        h->first_round = true;
                        m->round_left++;
                        host_schedule(h, 0);
                }
        manager_dispatch(m);
}

/* ---- snooping ---- */

static int learned_expiry_compare(const void *a, const void *b) {
        const struct ledger_entry *x = a, *y = b;
        return x->expiry < y->expiry ? -1 : x->expiry > y->expiry;
}

/* A name learned from snooped replies: below a domain and not a configured host (checked in that
 * order: the domains are few, the hosts may be many). */
static bool group_learned_name(struct group_state *g, const char *name) {
        return group_matches_name(g->config, name) && !group_find_host(g, name);
}

/* At most max_snooped learned addresses per group: those expiring first make room. Said once. */
static void group_limit_snooped(struct group_state *g) {
        const struct config *c = g->manager->config;
        _cleanup_free_ struct ledger_entry *learned = NULL;
        const struct ledger_entry *e;
        size_t n, k = 0;

        e = ledger_entries(g->ledger, &n);
        for (size_t i = 0; i < n; i++)
                k += group_learned_name(g, ledger_host_name(g->ledger, e[i].host));
        if (k <= c->max_snooped)
                return;
        learned = calloc(k, sizeof(*learned));
        if (!learned) {
                log_oom();
                return;
        }
        k = 0;
        for (size_t i = 0; i < n; i++)
                if (group_learned_name(g, ledger_host_name(g->ledger, e[i].host)))
                        learned[k++] = e[i];
        qsort(learned, k, sizeof(*learned), learned_expiry_compare);
        for (size_t i = 0; i < k - c->max_snooped; i++)
                (void) ledger_remove(g->ledger, &learned[i].addr);
        if (!g->snooped_full_said)
                log_warning("Group %s holds max_snooped=%u addresses learned from DNS replies; the ones expiring first make room for new ones.",
                            g->config->name, c->max_snooped);
        g->snooped_full_said = true;
}

/* Addresses of a name below some group's domains= (from a snooped reply, or the lookup of a
 * truncated one): through the same filter as resolved ones and into the ledger under that name,
 * with the group's validity. Returns whether the kernel must learn of it. */
static bool snoop_learn(struct manager *m, const char *name, const struct ip_addr *in, size_t n_in) {
        const struct config *c = m->config;
        usec_t now = boottime_now(m);
        bool changed = false;
        char a[ADDR_STRLEN], reason[ADDR_REASON_MAX];

        for (size_t i = 0; i < m->n_groups; i++) {
                struct group_state *g = &m->groups[i];
                struct ip_addr addrs[SNOOP_DNS_ADDRS_MAX];
                size_t n = 0;
                int added;

                if (!group_matches_name(g->config, name))
                        continue;
                for (size_t j = 0; j < n_in && n < ELEMENTSOF(addrs); j++) {
                        const struct ip_addr *x = &in[j];

                        if (!group_has_family(g->config, x))
                                continue;
                        if (!address_allowed(c, x)) {
                                if (!snooped_already_rejected(g, x))
                                        log_event(LOG_WARNING, NULL, g->config->name, name, addr_to_string(x, a),
                                                  "%s: ignoring %s from a snooped DNS reply: %s addresses are never allowed%s.",
                                                  name, a, addr_class_reason(x, reason),
                                                  addr_classify(x) == ADDR_PRIVATE ? " unless allow_private=yes" : "");
                                continue;
                        }
                        addrs[n++] = *x;
                }
                if (n == 0)
                        continue;
                g->added_logged = 0;
                g->answer_host = name;
                added = ledger_record(g->ledger, name, addrs, n, now, g->config->validity, on_entry_added, g);
                if (added < 0) {
                        log_oom();
                        continue;
                }
                if (added > ADDED_LOG_MAX)
                        log_event(LOG_INFO, MESSAGE_ADDRESSES_ADDED, g->config->name, name, NULL,
                                  "%s: %d more addresses added (now %zu addresses).", name,
                                  added - ADDED_LOG_MAX, ledger_host_count(g->ledger, name));
                metrics_snoop_learned(m->metrics, (size_t) added);
                metrics_count_added(m->metrics, (size_t) added);
                group_limit_snooped(g);
                /* Known addresses too: their timeouts grow. */
                changed = true;
        }
        if (changed) {
                manager_state_changed(m);
                manager_arm_expire(m);
        }
        return changed;
}

static bool name_snooped(const struct manager *m, const char *name) {
        for (size_t i = 0; i < m->n_groups; i++)
                if (group_matches_name(m->groups[i].config, name))
                        return true;
        return false;
}

/* A truncated reply names no (or not all) addresses: its name is asked once more through the
 * resolver, which retries over TCP, and the reply waits for that (at most snoop_hold_max). */
struct tc_lookup {
        struct manager *manager;
        uint64_t token;
        size_t slot;
};

static void tc_lookups_free(struct manager *m) {
        for (size_t i = 0; i < ELEMENTSOF(m->tc_lookups); i++) {
                free(m->tc_lookups[i]);
                m->tc_lookups[i] = NULL;
        }
}

static void on_tc_result(struct resolver *r, const struct resolver_result *res, void *userdata) {
        struct tc_lookup *t = userdata;
        struct manager *m = t->manager;

        m->tc_lookups[t->slot] = NULL;
        if (snoop_learn(m, res->host, res->addrs, res->n_addrs))
                (void) manager_apply(m);
        snoop_release(m->snoop, t->token);
        free(t);
}

static enum snoop_decision on_snooped_reply(struct snoop *s, const struct snoop_dns_reply *reply, uint64_t token,
                                            void *userdata) {
        struct manager *m = userdata;
        struct tc_lookup *t;
        size_t slot;

        metrics_snoop_reply(m->metrics, name_snooped(m, reply->name));
        if (!name_snooped(m, reply->name))
                return SNOOP_ACCEPT;
        if (!reply->truncated)
                return snoop_learn(m, reply->name, reply->addrs, reply->n_addrs) ? SNOOP_HOLD_COMMIT : SNOOP_ACCEPT;

        for (slot = 0; slot < ELEMENTSOF(m->tc_lookups) && m->tc_lookups[slot]; slot++)
                ;
        if (slot == ELEMENTSOF(m->tc_lookups))
                return SNOOP_ACCEPT; /* a burst of them: the client asks over TCP, unseen */
        t = calloc(1, sizeof(*t));
        if (!t)
                return SNOOP_ACCEPT;
        *t = (struct tc_lookup) { .manager = m, .token = token, .slot = slot };
        if (resolver_query(m->resolver, reply->name, reply->qtype == 1 ? FAMILY_IPV4 : FAMILY_IPV6, on_tc_result, t) < 0) {
                free(t);
                return SNOOP_ACCEPT;
        }
        m->tc_lookups[slot] = t;
        log_debug("%s: truncated DNS reply, asking for it myself before releasing it.", reply->name);
        return SNOOP_HOLD_RELEASE;
}

static void on_snoop_released(struct snoop *s, usec_t held, bool late, void *userdata) {
        struct manager *m = userdata;

        if (late)
                metrics_snoop_released_on_bound(m->metrics);
        else
                metrics_snoop_held(m->metrics, held);
}

/* The transaction for the replies of one round; they are released once it returns. */
static int on_snoop_commit(struct snoop *s, void *userdata) {
        return manager_apply(userdata);
}

/* Starts listening (before the chains exist, so no reply waits for a listener that is not
 * there yet) and puts the chains in; or, with snoop=no, removes chains an earlier run left. */
static int manager_snoop_start(struct manager *m) {
        const struct config *c = m->config;
        struct nft_queue_spec spec = {
                .family = c->table_family,
                .table = c->table,
                .queue = c->snoop_queue,
                .servers = c->snoop_servers,
                .n_servers = c->n_snoop_servers,
        };
        enum nft_queue_kind kind;
        struct nft_error err = { 0 };
        int r;

        if (!c->snoop) {
                r = nft_queue_remove(c->table_family, c->table, &err);
                if (r < 0)
                        manager_log_nft_error(r, &err, "remove the DNS snooping chains", "leaving them (with bypass, DNS passes)");
                return 0;
        }
        static const struct snoop_callbacks cb = {
                .on_reply = on_snooped_reply,
                .on_commit = on_snoop_commit,
                .on_released = on_snoop_released,
        };

        r = snoop_new(m->event, c->snoop_queue, c->snoop_hold_max, &cb, m, &m->snoop);
        if (r < 0)
                return log_error_errno(r, "Failed to listen on NFQUEUE %u for DNS snooping%s: %m", c->snoop_queue,
                                       r == -EBUSY ? " (another program listens on it: choose another snoop_queue=)" :
                                       r == -EPERM ? " (needs CAP_NET_ADMIN)" : "");
        r = nft_queue_install(&spec, &kind, &err);
        if (r < 0) {
                manager_log_nft_error(r, &err, "add the DNS snooping chains", "not snooping");
                m->snoop = snoop_free(m->snoop);
                return r;
        }
        log_info("Snooping DNS replies on NFQUEUE %u (%s) for the domains of %zu group%s.", c->snoop_queue,
                 nft_queue_kind_to_string(kind), m->n_groups, m->n_groups == 1 ? "" : "s");
        return 0;
}

static bool snoop_config_equal(const struct config *a, const struct config *b) {
        if (a->snoop != b->snoop || a->snoop_queue != b->snoop_queue || a->snoop_hold_max != b->snoop_hold_max ||
            a->n_snoop_servers != b->n_snoop_servers)
                return false;
        for (size_t i = 0; i < a->n_snoop_servers; i++)
                if (addr_compare(&a->snoop_servers[i], &b->snoop_servers[i]) != 0)
                        return false;
        return true;
}

/* ---- reload ---- */

/* Copies runtime state of groups that survive a reload into the new ones (the old ones stay
 * untouched, so a rejected reload can go back to them): the addresses of hosts still configured,
 * if the new configuration still allows them (allow_private=, family= may have tightened), capped
 * at the new validity from now; and each host's health and schedule, the schedule capped at the
 * new refresh (a shortened validity must not leave the next lookup after the expiry). Hosts that
 * were failing ask at once when the DNS servers changed. Returns 0 or -ENOMEM. */
static int host_order_by_name(const void *a, const void *b) {
        return strcmp((*(struct host *const *) a)->name, (*(struct host *const *) b)->name);
}

static int host_name_compare(size_t i, const void *key, const void *userdata) {
        struct host *const *by_name = userdata;

        return strcmp(by_name[i]->name, key);
}

/* The hosts of g sorted by name, for host_find() (a group may have thousands); NULL: -ENOMEM. */
static struct host **group_hosts_by_name(const struct group_state *g) {
        struct host **by_name = malloc(MAX(g->n_hosts, (size_t) 1) * sizeof(*by_name));

        if (!by_name)
                return NULL;
        for (size_t i = 0; i < g->n_hosts; i++)
                by_name[i] = &g->hosts[i];
        qsort(by_name, g->n_hosts, sizeof(*by_name), host_order_by_name);
        return by_name;
}

static struct host *host_find(struct host *const *by_name, size_t n, const char *name) {
        bool found;
        size_t at = binary_search(0, n, name, host_name_compare, by_name, &found);

        return found ? by_name[at] : NULL;
}

static int groups_carry_over(const struct config *c, bool servers_changed, usec_t now,
                             const struct group_state *old, size_t n_old, struct group_state *new, size_t n_new) {
        for (size_t i = 0; i < n_new; i++) {
                struct group_state *ng = &new[i];
                const struct group_state *og = NULL;
                const struct group *gc = ng->config;
                _cleanup_free_ struct host **new_by_name = NULL, **old_by_name = NULL;
                const struct ledger_entry *e;
                usec_t refresh_cap;
                size_t n;

                for (size_t j = 0; j < n_old; j++)
                        if (streq(old[j].config->name, gc->name))
                                og = &old[j];
                if (!og)
                        continue;
                new_by_name = group_hosts_by_name(ng);
                old_by_name = group_hosts_by_name(og);
                if (!new_by_name || !old_by_name)
                        return -ENOMEM;

                e = ledger_entries(og->ledger, &n);
                for (size_t k = 0; k < n; k++) {
                        const char *host = ledger_host_name(og->ledger, e[k].host);

                        if ((host_find(new_by_name, ng->n_hosts, host) || (c->snoop && group_matches_name(gc, host))) &&
                            group_has_family(gc, &e[k].addr) &&
                            address_allowed(c, &e[k].addr) &&
                            ledger_restore(ng->ledger, host, &e[k].addr, MIN(e[k].expiry, now + gc->validity),
                                           e[k].last_seen, e[k].first_seen) < 0)
                                return -ENOMEM;
                }

                refresh_cap = now + (gc->refresh > 0 ? gc->refresh : gc->validity / 2);
                for (size_t k = 0; k < ng->n_hosts; k++) {
                        struct host *nh = &ng->hosts[k];
                        const struct host *oh = host_find(old_by_name, og->n_hosts, nh->name);

                        if (!oh)
                                continue;
                        nh->failures = oh->failures;
                        nh->last_success = oh->last_success;
                        nh->last_failure = oh->last_failure;
                        nh->failing_since = oh->failing_since;
                        nh->warned_expiry = oh->warned_expiry;
                        nh->empty_logged = oh->empty_logged;
                        host_set_error(nh, oh->error_text);
                        /* 0: ask now. An answer in flight is dropped with the old resolver. */
                        if (oh->in_flight || (servers_changed && oh->failures > 0) || oh->next_refresh == 0)
                                nh->next_refresh = 0;
                        else
                                nh->next_refresh = MIN(oh->next_refresh, refresh_cap);
                }
        }
        return 0;
}

/* The transaction of a new configuration (installed in m). A transient failure is tried once
 * more at once, so that a lost datagram does not reject a good configuration; lost replies are
 * settled from what the kernel holds. Returns 0 when the new configuration is in force; else a
 * negative errno, with *ret_rollback set when the kernel may hold part of it. */
static int manager_reload_transaction(struct manager *m, struct nft_error *err, bool *ret_rollback) {
        for (unsigned attempt = 0;; attempt++) {
                int r = manager_transaction(m, m->force_apply || attempt > 0, err);

                if (r >= 0)
                        return 0;
                if (err->unknown) {
                        /* The kernel may be running the new configuration already: what it
                         * holds decides; a guess either way would leave kernel and daemon apart. */
                        int k = manager_settle_unknown(m, "the new configuration's transaction", r, err);
                        if (k > 0)
                                return 0;
                        if (k < 0) {
                                *ret_rollback = true;
                                return k;
                        }
                        err->unknown = false; /* known now: not committed */
                } else if (!nft_failure_is_transient(r, err))
                        return r;
                if (attempt > 0)
                        return r;
                log_info("The new configuration's transaction failed (%s), nothing of it committed; trying once more.",
                         strerror(-r));
        }
}

static int manager_reload(struct manager *m) {
        _cleanup_config_ struct config *c = NULL;
        struct group_state *groups = NULL, *old_groups = m->groups;
        struct config *old_config = m->config;
        struct resolver *resolver = NULL;
        struct nft_error err = { 0 };
        size_t n_groups = 0, n_old = m->n_groups;
        usec_t now = boottime_now(m);
        bool rollback = false;
        int r;

        (void) sd_notifyf(false, "RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long) now_usec(CLOCK_MONOTONIC));

        r = config_load(m->config_path, &c);
        if (r >= 0)
                r = config_check_runnable(c);
        if (r >= 0 && (c->table_family != old_config->table_family || !streq(c->table, old_config->table) ||
                       !streq_ptr(c->chain, old_config->chain))) {
                log_error("%s: table= or chain= changed; restart allowlistd to move its objects.", m->config_path);
                r = -EINVAL;
        }
        if (r >= 0)
                r = groups_new(m, c, &groups, &n_groups);
        if (r >= 0)
                r = manager_reserve_hosts(m, groups, n_groups);
        if (r >= 0)
                r = groups_carry_over(c, !streq_ptr(c->dns_servers, old_config->dns_servers), now,
                                      old_groups, n_old, groups, n_groups);
        /* A new resolver for the new servers: the old one's in-flight queries are dropped and
         * asked again, so nothing is waited for. */
        if (r >= 0)
                r = resolver_new(m->event, c->dns_servers, &resolver);
        if (r >= 0) {
                /* The kernel has the last word: the new configuration is accepted only once its
                 * transaction went in. Until then nothing of the old state has changed. */
                m->groups = groups;
                m->n_groups = n_groups;
                m->config = c;
                r = manager_reload_transaction(m, &err, &rollback);
                if (r < 0) {
                        m->groups = old_groups;
                        m->n_groups = n_old;
                        m->config = old_config;
                }
        }
        if (r < 0) {
                resolver_free(resolver);
                groups_free(groups, n_groups);
                if (rollback) {
                        log_event(LOG_ERR, MESSAGE_RELOAD_REJECTED, NULL, NULL, NULL,
                                  "Rejected the new configuration in %s: the outcome of its transaction could not be "
                                  "made certain (%s); putting the previous one back in full.",
                                  m->config_path, strerror(-r));
                        m->force_apply = true;
                        manager_schedule_apply_in(m, 0);
                } else if (nft_failure_is_transient(r, &err))
                        log_event(LOG_ERR, MESSAGE_RELOAD_REJECTED, NULL, NULL, NULL,
                                  "Rejected the new configuration in %s: its transaction failed twice, the kernel or "
                                  "the socket short of memory (%s: %s%s%s); nothing of it was committed; still "
                                  "running on the previous one, unchanged.", m->config_path,
                                  err.object[0] ? err.object : "nftables", strerror(-r), err.hint[0] ? ": " : "", err.hint);
                else if (err.object[0])
                        log_event(LOG_ERR, MESSAGE_RELOAD_REJECTED, NULL, NULL, NULL,
                                  "Rejected the new configuration in %s: the kernel refused its transaction (%s: %s%s%s); "
                                  "still running on the previous one, unchanged.",
                                  m->config_path, err.object, strerror(-r), err.hint[0] ? ": " : "", err.hint);
                else
                        log_event(LOG_ERR, MESSAGE_RELOAD_REJECTED, NULL, NULL, NULL,
                                  "Rejected the new configuration in %s (%s); still running on the previous one, unchanged.",
                                  m->config_path, strerror(-r));
                if (m->ready)
                        (void) sd_notify(false, "READY=1");
                return r;
        }

        /* Accepted: the old resolver goes before the old hosts its callbacks point to. */
        c = NULL;
        if (!snoop_config_equal(m->config, old_config)) {
                m->snoop = snoop_free(m->snoop);
                (void) manager_snoop_start(m);
        }
        m->force_apply = false;
        m->apply_failing = false;
        if (metrics_set_path(m->metrics, m->config->metrics_file) < 0)
                log_oom();
        resolver_free(m->resolver);
        tc_lookups_free(m); /* their callbacks went with the old resolver */
        m->resolver = resolver;
        groups_free(old_groups, n_old);
        config_free(old_config);

        if (!m->ready) {
                /* Reloaded during the first round: its dropped queries will never answer, so
                 * count the round again over the new hosts, or READY=1 would never come. */
                m->round_left = 0;
                manager_query_all(m);
                if (m->round_left == 0) /* no hosts left: static addresses only */
                        manager_maybe_ready(m);
        } else {
                for (size_t i = 0; i < m->n_groups; i++)
                        for (size_t j = 0; j < m->groups[i].n_hosts; j++) {
                                struct host *h = &m->groups[i].hosts[j];
                                host_schedule(h, MAX(h->next_refresh, now));
                        }
                manager_dispatch(m);
        }
        manager_state_changed(m);
        manager_arm_expire(m);

        log_event(LOG_INFO, MESSAGE_CONFIG_RELOADED, NULL, NULL, NULL,
                  "Reloaded %s: %zu group%s.", m->config_path, m->n_groups, m->n_groups == 1 ? "" : "s");
        /* Before the first round is done, READY=1 still waits for it. */
        if (m->ready)
                (void) sd_notify(false, "READY=1");
        manager_update_status(m);
        return 0;
}

/* ---- metrics ---- */

/* The gauges of the moment, for each write of the metrics file. */
static void manager_collect_metrics(struct metrics *mt, void *userdata) {
        struct manager *m = userdata;
        usec_t now = boottime_now(m);

        for (size_t i = 0; i < m->n_groups; i++) {
                const struct group_state *g = &m->groups[i];
                const struct ledger_entry *e;
                size_t n, v4 = 0, v6 = 0, expiring = 0;

                e = ledger_entries(g->ledger, &n);
                for (size_t j = 0; j < g->config->n_addresses; j++)
                        g->config->addresses[j].family == AF_INET ? v4++ : v6++;
                for (size_t j = 0; j < n; j++) {
                        struct host *h;

                        e[j].addr.family == AF_INET ? v4++ : v6++;
                        if (!schedule_expiry_is_near(now, e[j].expiry, g->config->validity))
                                continue;
                        h = group_find_host((struct group_state *) g, ledger_host_name(g->ledger, e[j].host));
                        if (h && h->failures > 0)
                                expiring++;
                }
                if (metrics_add_group(mt, g->config->name, v4, v6, expiring) < 0)
                        return;
                for (size_t j = 0; j < g->n_hosts; j++)
                        if (metrics_add_host(mt, g->config->name, g->hosts[j].name, g->hosts[j].last_success,
                                             g->hosts[j].failures) < 0)
                                return;
        }
}

/* ---- signals and main loop ---- */

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        reload_reply(si, manager_reload(userdata));
        return 0;
}

static int on_sigterm(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct manager *m = userdata;

        (void) sd_notify(false, "STOPPING=1");
        return sd_event_exit(m->event, 0);
}

static int manager_new(const char *config_path, enum manager_mode mode, struct manager **ret) {
        _cleanup_(manager_freep) struct manager *m = NULL;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return log_oom();
        m->mode = mode;
        m->config_path = strdup(config_path);
        if (!m->config_path)
                return log_oom();

        r = config_load(config_path, &m->config);
        if (r < 0)
                return r;
        r = config_check_runnable(m->config);
        if (r < 0)
                return r;

        r = sd_event_new(&m->event);
        if (r < 0)
                return log_error_errno(r, "Failed to create event loop: %m");

        r = prioq_new(host_compare_refresh, &m->refresh_queue);
        if (r >= 0)
                r = groups_new(m, m->config, &m->groups, &m->n_groups);
        if (r >= 0)
                r = manager_reserve_hosts(m, m->groups, m->n_groups);
        if (r < 0)
                return log_oom();

        r = resolver_new(m->event, m->config->dns_servers, &m->resolver);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the DNS resolver (dns_servers=%s): %m",
                                       m->config->dns_servers ?: "from /etc/resolv.conf");

        if (mode != MANAGER_DRY_RUN) {
                r = nft_open(&m->nft);
                if (r < 0)
                        return log_error_errno(r, "Failed to open the nftables netlink socket%s: %m",
                                               r == -EPERM || r == -EACCES ? " (needs CAP_NET_ADMIN)" : "");
                nft_set_leftover_callback(m->nft, on_nft_leftover, m);
                r = metrics_new(mode == MANAGER_DAEMON ? m->event : NULL, m->config->metrics_file,
                                manager_collect_metrics, m, &m->metrics);
                if (r < 0)
                        return log_oom();
        }

        *ret = TAKE_PTR(m);
        return 0;
}

static int manager_setup_daemon(struct manager *m) {
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m");

        if ((r = sd_event_add_signal(m->event, NULL, SIGTERM, on_sigterm, m)) < 0 ||
            (r = sd_event_add_signal(m->event, NULL, SIGINT, on_sigterm, m)) < 0 ||
            (r = sd_event_add_signal(m->event, NULL, SIGHUP, on_sighup, m)) < 0)
                return log_error_errno(r, "Failed to install signal handlers: %m");

        r = sd_event_add_time(m->event, &m->refresh_timer, CLOCK_BOOTTIME, 0, USEC_PER_MSEC, on_refresh_timer, m);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->refresh_timer, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_time(m->event, &m->apply_timer, CLOCK_MONOTONIC, 0, USEC_PER_MSEC, on_apply_timer, m);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->apply_timer, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_time(m->event, &m->expire_timer, CLOCK_BOOTTIME, 0, 10 * USEC_PER_MSEC, on_expire_timer, m);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->expire_timer, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_time(m->event, &m->save_timer, CLOCK_MONOTONIC, 0, 10 * USEC_PER_MSEC, on_save_timer, m);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->save_timer, SD_EVENT_OFF);
        if (r < 0)
                return log_error_errno(r, "Failed to create timers: %m");

        /* Pings WATCHDOG=1 from the loop itself when WATCHDOG_USEC is set. */
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                return log_error_errno(r, "Failed to enable the watchdog: %m");

        r = nft_monitor_start(m->nft, m->event, on_foreign_change, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch nftables events%s: %m",
                                       r == -EPERM || r == -EACCES ? " (needs CAP_NET_ADMIN)" : "");
        return 0;
}

/* Resolves every host once on a private loop (for --once and --dry-run). */
static void manager_run_round(struct manager *m) {
        manager_query_all(m);
        while (m->round_left > 0 && resolver_pending(m->resolver) > 0)
                if (sd_event_run(m->event, UINT64_MAX) < 0)
                        break;
}

int manager_run(const char *config_path, enum manager_mode mode) {
        _cleanup_(manager_freep) struct manager *m = NULL;
        int r;

        r = manager_new(config_path, mode, &m);
        if (r < 0)
                return 1;

        /* The daemon's setup needs CAP_NET_ADMIN (the nftables event group): find out before
         * claiming to restore anything. */
        if (mode == MANAGER_DAEMON && manager_setup_daemon(m) < 0)
                return 1;
        if (mode != MANAGER_DRY_RUN)
                manager_restore_state(m);

        if (mode != MANAGER_DAEMON) {
                manager_run_round(m);
                m->force_apply = true;
                r = manager_apply(m);
                if (r < 0)
                        return 1;
                manager_save_state(m);
                (void) metrics_flush(m->metrics);
                return m->any_failed ? 2 : 0;
        }

        /* The restored allow-list goes in before any DNS query: the sets exist and hold what is
         * still valid even if DNS never answers. A transient failure (the kernel short of
         * memory, replies lost) is retried like one at run time, and READY=1 waits for it;
         * only a configuration the kernel refuses ends the start. */
        m->force_apply = true;
        {
                bool transient = false;
                r = manager_apply_full(m, &transient);
                if (r < 0 && !transient)
                        return 1;
        }
        manager_arm_expire(m);
        if (manager_snoop_start(m) < 0)
                return 1;

        manager_query_all(m);
        if (m->round_left == 0) { /* no hosts at all: static addresses only */
                manager_save_state(m);
                (void) metrics_flush(m->metrics);
                manager_maybe_ready(m);
        }
        manager_update_status(m);

        r = sd_event_loop(m->event);
        if (r < 0)
                log_error_errno(r, "Event loop failed: %m");
        /* Every reply still queued gets its verdict now, before anything slower. */
        m->snoop = snoop_free(m->snoop);

        /* Exiting without any state file after a failed save is a failure: the next start
         * begins without the allow-list learnt so far. (With the previous file there, it begins
         * from that.) */
        if (manager_save_state(m) < 0 && access(m->config->state_file, F_OK) < 0) {
                log_error("Exiting with no state file at %s: the next start begins without the addresses learnt.",
                          m->config->state_file);
                r = -EIO;
        }
        (void) metrics_flush(m->metrics);
        if (m->config->on_exit == ON_EXIT_REMOVE) {
                _cleanup_(desired_done) struct desired d = { 0 };
                struct nft_error err = { 0 };

                if (m->config->snoop) {
                        int k = nft_queue_remove(m->config->table_family, m->config->table, &err);
                        if (k < 0)
                                manager_log_nft_error(k, &err, "remove the DNS snooping chains on exit",
                                                      "leaving them (with bypass, DNS passes)");
                }
                if (manager_desired(m, &d) >= 0) {
                        int k = nft_remove(m->nft, &d.ruleset, &err);
                        if (k < 0)
                                manager_log_nft_error(k, &err, "remove the allow-list on exit",
                                                      "leaving it in place; its elements expire by their timeouts");
                }
        }
        return r < 0 ? 1 : 0;
}

int manager_status(const char *config_path, const char *what, bool json) {
        _cleanup_config_ struct config *c = NULL;
        _cleanup_(state_freep) struct state *s = NULL;
        const char *path;
        int r;

        /* Without a readable configuration the state file is still worth showing. */
        if (config_load(config_path, &c) < 0)
                log_warning("Showing the state file without the configuration.");
        path = c ? c->state_file : DEFAULT_STATE_FILE;

        r = state_load(path, &s);
        if (r == -ENOENT) {
                log_error("No state file at %s: allowlistd has not run yet with this configuration.", path);
                return 1;
        }
        if (r < 0) {
                log_error_errno(r, "Failed to read state file %s: %m", path);
                return 1;
        }
        if (what)
                return status_query(what, c, s, now_usec(CLOCK_REALTIME), json, stdout);
        if (json)
                state_print_json(s, c, now_usec(CLOCK_REALTIME), stdout);
        else
                state_print_table(s, c, now_usec(CLOCK_REALTIME), stdout);
        return 0;
}
