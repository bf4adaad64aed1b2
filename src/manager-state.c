/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The state file: saving the ledgers and hosts (at most every STATE_SAVE_INTERVAL_USEC while
 * running) and restoring them at start. Reads and writes only runtime state; sends nothing to the
 * kernel and schedules no lookups (the callers do, from what is restored). */
#include <sys/stat.h>

#include "manager-internal.h"
#include "state.h"

/* The state file is written at most this often while running (every change reaches it within
 * this time; the exit writes at once): with thousands of hosts an fsync per answer would wear
 * out a gateway's flash for nothing, since DNS re-resolves everything at start anyway. */
#define STATE_SAVE_INTERVAL_USEC (5 * USEC_PER_SEC)

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
int manager_save_state(struct manager *m) {
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

int on_save_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct manager *m = userdata;

        if (m->state_dirty)
                (void) manager_save_state(m);
        return 0;
}

/* Marks the state as changed; the daemon writes it within STATE_SAVE_INTERVAL_USEC. */
void manager_state_changed(struct manager *m) {
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

/* Before any DNS query: put back what the state file says is still valid, with its remaining
 * time (not a fresh validity), so a gateway rebooting while DNS is down keeps its allow-list. */
void manager_restore_state(struct manager *m) {
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
