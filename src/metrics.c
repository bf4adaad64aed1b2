/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Prometheus text exposition format, version 0.0.4: one "# HELP" and one "# TYPE" line per
 * metric family, then its samples; label values escaped (\\, \", \n). Names follow Prometheus'
 * conventions: the allowlistd_ prefix, _total for counters, base units (seconds), and no label
 * per address (a label value per address would make a series per address: unbounded). */
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"
#include "metrics.h"
#include "paths.h"

/* At most one write per this interval while changes keep coming: node_exporter reads the file
 * when Prometheus scrapes (typically every 15 s or more), so more would be wasted. */
#define METRICS_WRITE_INTERVAL_USEC (5 * USEC_PER_SEC)

struct metrics_group {
        const char *name; /* the collect callback's, valid during one write */
        size_t v4, v6, expiring;
};

struct metrics_host {
        const char *group, *name;
        usec_t last_success;
        unsigned failures;
};

/* One set's element count as of the last transaction (or check) that went through. */
struct metrics_set {
        char group[GROUP_NAME_MAX + 1];
        bool v6;
        size_t n;
};

struct metrics {
        sd_event *event;
        sd_event_source *timer;
        char *path;
        metrics_collect_cb collect;
        void *userdata;
        usec_t last_write; /* CLOCK_MONOTONIC */
        bool dirty;
        bool write_failing;
        usec_t start_time; /* CLOCK_REALTIME */

        uint64_t lookups[_METRICS_LOOKUP_MAX];
        uint64_t added, expired;
        uint64_t transactions, transaction_errors, foreign_changes;
        uint64_t snoop_replies, snoop_matched, snoop_learned, snoop_held, snoop_released_on_bound;
        usec_t snoop_hold_sum;

        struct metrics_set *sets;
        size_t n_sets, allocated_sets;
        /* Filled by the collect callback during a write. */
        struct metrics_group *groups;
        size_t n_groups, allocated_groups;
        struct metrics_host *hosts;
        size_t n_hosts, allocated_hosts;
};

static const char *const lookup_result_label[_METRICS_LOOKUP_MAX] = {
        [METRICS_LOOKUP_OK] = "ok",
        [METRICS_LOOKUP_NXDOMAIN] = "nxdomain",
        [METRICS_LOOKUP_SERVFAIL] = "servfail",
        [METRICS_LOOKUP_TIMEOUT] = "timeout",
        [METRICS_LOOKUP_REFUSED] = "refused",
        [METRICS_LOOKUP_ERROR] = "error",
};

static int on_metrics_timer(sd_event_source *s, uint64_t usec, void *userdata);

int metrics_new(sd_event *e, const char *path, metrics_collect_cb collect, void *userdata, struct metrics **ret) {
        struct metrics *m = calloc(1, sizeof(*m));
        int r;

        if (!m)
                return -ENOMEM;
        m->collect = collect;
        m->userdata = userdata;
        m->start_time = now_usec(CLOCK_REALTIME);
        r = metrics_set_path(m, path);
        if (r >= 0 && e) {
                m->event = sd_event_ref(e);
                r = sd_event_add_time(e, &m->timer, CLOCK_MONOTONIC, 0, 100 * USEC_PER_MSEC, on_metrics_timer, m);
                if (r >= 0)
                        r = sd_event_source_set_enabled(m->timer, SD_EVENT_OFF);
        }
        if (r < 0) {
                metrics_free(m);
                return r;
        }
        *ret = m;
        return 0;
}

struct metrics *metrics_free(struct metrics *m) {
        if (!m)
                return NULL;
        sd_event_source_disable_unref(m->timer);
        sd_event_unref(m->event);
        free(m->path);
        free(m->sets);
        free(m->groups);
        free(m->hosts);
        free(m);
        return NULL;
}

int metrics_set_path(struct metrics *m, const char *path) {
        char *p = NULL;

        if (!m)
                return 0;
        if (path) {
                p = strdup(path);
                if (!p)
                        return -ENOMEM;
        }
        free(m->path);
        m->path = p;
        m->write_failing = false;
        return 0;
}

/* ---- the text ---- */

static void write_label_value(FILE *f, const char *s) {
        fputc('"', f);
        for (; *s; s++)
                if (*s == '\\' || *s == '"')
                        fprintf(f, "\\%c", *s);
                else if (*s == '\n')
                        fputs("\\n", f);
                else
                        fputc(*s, f);
        fputc('"', f);
}

static void write_family(FILE *f, const char *name, const char *type, const char *help) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Seconds with microseconds, as Prometheus' floats. */
static void write_seconds(FILE *f, usec_t usec) {
        fprintf(f, "%llu.%06llu\n", (unsigned long long) (usec / USEC_PER_SEC),
                (unsigned long long) (usec % USEC_PER_SEC));
}

static void write_counter(FILE *f, const char *name, const char *help, uint64_t value) {
        write_family(f, name, "counter", help);
        fprintf(f, "%s %llu\n", name, (unsigned long long) value);
}

int metrics_write_text(struct metrics *m, FILE *f) {
        m->n_groups = m->n_hosts = 0;
        if (m->collect)
                m->collect(m, m->userdata);

        write_family(f, "allowlistd_build_info", "gauge", "Always 1; the version of the running allowlistd.");
        fputs("allowlistd_build_info{version=", f);
        write_label_value(f, PACKAGE_VERSION);
        fputs("} 1\n", f);
        write_family(f, "allowlistd_start_timestamp_seconds", "gauge", "When the daemon started, seconds since the epoch.");
        fputs("allowlistd_start_timestamp_seconds ", f);
        write_seconds(f, m->start_time);

        write_family(f, "allowlistd_set_elements", "gauge",
                     "Elements of each nftables set, as of the last transaction that went through.");
        for (size_t i = 0; i < m->n_sets; i++) {
                fprintf(f, "allowlistd_set_elements{set=\"%s_%s\",group=", m->sets[i].group, m->sets[i].v6 ? "v6" : "v4");
                write_label_value(f, m->sets[i].group);
                fprintf(f, ",family=\"%s\"} %zu\n", m->sets[i].v6 ? "ipv6" : "ipv4", m->sets[i].n);
        }
        write_family(f, "allowlistd_addresses", "gauge",
                     "Addresses each group allows, static entries and DNS answers, by family.");
        for (size_t i = 0; i < m->n_groups; i++)
                for (int v6 = 0; v6 <= 1; v6++) {
                        fputs("allowlistd_addresses{group=", f);
                        write_label_value(f, m->groups[i].name);
                        fprintf(f, ",family=\"%s\"} %zu\n", v6 ? "ipv6" : "ipv4", v6 ? m->groups[i].v6 : m->groups[i].v4);
                }
        write_family(f, "allowlistd_addresses_expiring_while_failing", "gauge",
                     "Addresses in the last tenth of their validity while the host that brought them fails: about to lose access.");
        for (size_t i = 0; i < m->n_groups; i++) {
                fputs("allowlistd_addresses_expiring_while_failing{group=", f);
                write_label_value(f, m->groups[i].name);
                fprintf(f, "} %zu\n", m->groups[i].expiring);
        }
        write_counter(f, "allowlistd_addresses_added_total", "Addresses DNS brought that were new to their group.", m->added);
        write_counter(f, "allowlistd_addresses_expired_total",
                      "Addresses that left their group because their validity ran out.", m->expired);

        write_family(f, "allowlistd_lookups_total", "counter", "DNS lookups of configured hosts, by result.");
        for (size_t i = 0; i < _METRICS_LOOKUP_MAX; i++)
                fprintf(f, "allowlistd_lookups_total{result=\"%s\"} %llu\n", lookup_result_label[i],
                        (unsigned long long) m->lookups[i]);
        write_family(f, "allowlistd_host_last_success_timestamp_seconds", "gauge",
                     "When DNS last answered for the host, seconds since the epoch; 0 = never.");
        for (size_t i = 0; i < m->n_hosts; i++) {
                fputs("allowlistd_host_last_success_timestamp_seconds{group=", f);
                write_label_value(f, m->hosts[i].group);
                fputs(",host=", f);
                write_label_value(f, m->hosts[i].name);
                fputs("} ", f);
                write_seconds(f, m->hosts[i].last_success);
        }
        write_family(f, "allowlistd_host_consecutive_failures", "gauge",
                     "Failed DNS lookups of the host since its last success.");
        for (size_t i = 0; i < m->n_hosts; i++) {
                fputs("allowlistd_host_consecutive_failures{group=", f);
                write_label_value(f, m->hosts[i].group);
                fputs(",host=", f);
                write_label_value(f, m->hosts[i].name);
                fprintf(f, "} %u\n", m->hosts[i].failures);
        }

        write_counter(f, "allowlistd_nft_transactions_total", "nftables transactions committed.", m->transactions);
        write_counter(f, "allowlistd_nft_transaction_errors_total",
                      "nftables transactions the kernel refused (the previous allow-list stayed).", m->transaction_errors);
        write_counter(f, "allowlistd_nft_foreign_changes_total",
                      "Changes by other programs to allowlistd's nftables objects, each put back by the next transaction.",
                      m->foreign_changes);

        write_counter(f, "allowlistd_snoop_replies_total", "DNS replies seen by snooping.", m->snoop_replies);
        write_counter(f, "allowlistd_snoop_replies_matched_total",
                      "Snooped DNS replies whose question matched a configured name.", m->snoop_matched);
        write_counter(f, "allowlistd_snoop_addresses_learned_total",
                      "Addresses from snooped replies that were new to the allow-list.", m->snoop_learned);
        write_family(f, "allowlistd_snoop_hold_seconds", "summary",
                     "How long snooped replies were held until their addresses were in the kernel.");
        fputs("allowlistd_snoop_hold_seconds_sum ", f);
        write_seconds(f, m->snoop_hold_sum);
        fprintf(f, "allowlistd_snoop_hold_seconds_count %llu\n", (unsigned long long) m->snoop_held);
        write_counter(f, "allowlistd_snoop_replies_released_on_bound_total",
                      "Snooped replies released before their addresses were confirmed, because the hold bound ran out.",
                      m->snoop_released_on_bound);

        /* The names were the callback's: not valid after this write. */
        m->n_groups = m->n_hosts = 0;
        return ferror(f) ? -EIO : 0;
}

/* ---- the file ---- */

static int metrics_write_file(struct metrics *m) {
        _cleanup_(atomic_file_release) struct atomic_file file = { .dir_fd = -EBADF };
        int r;

        /* Not *.prom until the rename: the textfile collector reads only those, so it never
         * sees half a file. node_exporter runs as another user: 0644. */
        r = atomic_file_open(m->path, false, &file);
        if (r < 0)
                return r;
        r = metrics_write_text(m, file.f);
        if (r < 0)
                return r;
        return atomic_file_commit(&file, /* durable= */ false);
}

int metrics_flush(struct metrics *m) {
        int r;

        if (!m || !m->path)
                return 0;
        r = metrics_write_file(m);
        if (m->timer)
                m->last_write = now_usec(CLOCK_MONOTONIC);
        if (r < 0) {
                if (!m->write_failing)
                        log_warning_errno(r, "Failed to write metrics file %s: %m; trying again at the next change.", m->path);
                m->write_failing = true;
                return r;
        }
        if (m->write_failing)
                log_info("Wrote metrics file %s again after earlier failures.", m->path);
        m->write_failing = false;
        m->dirty = false;
        /* Nothing pending: no wake-up for nothing (the idle daemon makes no system call). */
        if (m->timer)
                (void) sd_event_source_set_enabled(m->timer, SD_EVENT_OFF);
        return 0;
}

static int on_metrics_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct metrics *m = userdata;

        if (m->dirty)
                (void) metrics_flush(m);
        return 0;
}

static void metrics_changed(struct metrics *m) {
        m->dirty = true;
        if (!m->path || !m->timer || sd_event_source_get_enabled(m->timer, NULL) > 0)
                return;
        (void) sd_event_source_set_time(m->timer, MAX(now_usec(CLOCK_MONOTONIC), m->last_write + METRICS_WRITE_INTERVAL_USEC));
        (void) sd_event_source_set_enabled(m->timer, SD_EVENT_ONESHOT);
}

/* ---- events ---- */

/* The errors are resolver.c's ares_status_to_errno(). c-ares before 1.20 reports a SERVFAIL or
 * REFUSED answer of the last server as ECONNREFUSED, like a refused connection: those count
 * as refused. */
enum metrics_lookup_result metrics_lookup_result(const struct resolver_result *res) {
        switch (res->error) {
        case 0:
                return res->nxdomain ? METRICS_LOOKUP_NXDOMAIN : METRICS_LOOKUP_OK;
        case -ETIMEDOUT:
                return METRICS_LOOKUP_TIMEOUT;
        case -EIO:
                return res->error_text && strstr(res->error_text, "SERVFAIL") ? METRICS_LOOKUP_SERVFAIL : METRICS_LOOKUP_ERROR;
        case -EACCES:
        case -ECONNREFUSED:
                return METRICS_LOOKUP_REFUSED;
        default:
                return METRICS_LOOKUP_ERROR;
        }
}

void metrics_count_lookup(struct metrics *m, enum metrics_lookup_result result) {
        if (!m)
                return;
        m->lookups[result]++;
        metrics_changed(m);
}

void metrics_count_added(struct metrics *m, size_t n) {
        if (!m || n == 0)
                return;
        m->added += n;
        metrics_changed(m);
}

void metrics_count_expired(struct metrics *m, size_t n) {
        if (!m || n == 0)
                return;
        m->expired += n;
        metrics_changed(m);
}

static void metrics_record_sets(struct metrics *m, const struct nft_ruleset *want) {
        m->n_sets = 0;
        for (size_t i = 0; i < want->n_groups; i++) {
                const struct nft_group *g = &want->groups[i];

                for (int v6 = 0; v6 <= 1; v6++) {
                        if (!(g->families & (v6 ? FAMILY_IPV6 : FAMILY_IPV4)))
                                continue;
                        /* Out of memory: the counts of the other sets are still right. */
                        if (grow_array((void **) &m->sets, &m->allocated_sets, m->n_sets + 1, sizeof(*m->sets)) < 0)
                                return;
                        m->sets[m->n_sets] = (struct metrics_set) { .v6 = v6, .n = v6 ? g->n_v6 : g->n_v4 };
                        snprintf(m->sets[m->n_sets].group, sizeof(m->sets[m->n_sets].group), "%s", g->name);
                        m->n_sets++;
                }
        }
}

void metrics_count_transaction_result(struct metrics *m, int r) {
        if (!m)
                return;
        if (r < 0)
                m->transaction_errors++;
        else if (r > 0)
                m->transactions++;
        metrics_changed(m);
}

void metrics_record_ruleset(struct metrics *m, const struct nft_ruleset *want) {
        if (!m)
                return;
        metrics_record_sets(m, want);
        metrics_changed(m);
}

void metrics_count_transaction(struct metrics *m, const struct nft_ruleset *want, int r) {
        if (r >= 0)
                metrics_record_ruleset(m, want);
        metrics_count_transaction_result(m, r);
}

void metrics_count_foreign_change(struct metrics *m) {
        if (!m)
                return;
        m->foreign_changes++;
        metrics_changed(m);
}

void metrics_snoop_reply(struct metrics *m, bool matched) {
        if (!m)
                return;
        m->snoop_replies++;
        if (matched)
                m->snoop_matched++;
        metrics_changed(m);
}

void metrics_snoop_learned(struct metrics *m, size_t n) {
        if (!m || n == 0)
                return;
        m->snoop_learned += n;
        metrics_changed(m);
}

void metrics_snoop_held(struct metrics *m, usec_t held) {
        if (!m)
                return;
        m->snoop_held++;
        m->snoop_hold_sum += held;
        metrics_changed(m);
}

void metrics_snoop_released_on_bound(struct metrics *m) {
        if (!m)
                return;
        m->snoop_released_on_bound++;
        metrics_changed(m);
}

/* ---- gauges, from the collect callback ---- */

int metrics_add_group(struct metrics *m, const char *group, size_t v4, size_t v6, size_t expiring) {
        if (grow_array((void **) &m->groups, &m->allocated_groups, m->n_groups + 1, sizeof(*m->groups)) < 0)
                return -ENOMEM;
        m->groups[m->n_groups++] = (struct metrics_group) { .name = group, .v4 = v4, .v6 = v6, .expiring = expiring };
        return 0;
}

int metrics_add_host(struct metrics *m, const char *group, const char *host, usec_t last_success, unsigned failures) {
        if (grow_array((void **) &m->hosts, &m->allocated_hosts, m->n_hosts + 1, sizeof(*m->hosts)) < 0)
                return -ENOMEM;
        m->hosts[m->n_hosts++] = (struct metrics_host) {
                .group = group, .name = host, .last_success = last_success, .failures = failures,
        };
        return 0;
}
