/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What systemd is told: READY=1 once the allow-list is in after the first round, and STATUS=.
 * Reads runtime state; changes nothing but the ready flag. */
#include <time.h>
#include <systemd/sd-daemon.h>

#include "manager-internal.h"

void manager_update_status(struct manager *m) {
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

void manager_maybe_ready(struct manager *m) {
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
