/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The metrics file's gauges, collected from runtime state at each write. Reads only. */
#include "manager-internal.h"
#include "schedule.h"

/* The gauges of the moment, for each write of the metrics file. */
void manager_collect_metrics(struct metrics *mt, void *userdata) {
        struct manager *m = userdata;
        usec_t now = boottime_now(m);

        for (size_t i = 0; i < m->n_groups; i++) {
                const struct group_state *g = &m->groups[i];
                _cleanup_free_ struct host **by_name = NULL;
                bool indexed = false;
                const struct ledger_entry *e;
                size_t n, v4 = 0, v6 = 0, expiring = 0;

                e = ledger_entries(g->ledger, &n);
                for (size_t j = 0; j < g->config->n_addresses; j++)
                        g->config->addresses[j].family == AF_INET ? v4++ : v6++;
                for (size_t j = 0; j < n; j++) {
                        const char *name;
                        struct host *h;

                        e[j].addr.family == AF_INET ? v4++ : v6++;
                        if (!schedule_expiry_is_near(now, e[j].expiry, g->config->validity))
                                continue;
                        /* In a long outage most addresses are near their expiry: their hosts are
                         * found through an index by name, built once per group and write, not by
                         * a walk over all hosts per address (O(n log h), not O(n h)). Out of
                         * memory the walk still gives the same figure. */
                        if (!indexed) {
                                by_name = group_hosts_by_name(g);
                                indexed = true;
                        }
                        name = ledger_host_name(g->ledger, e[j].host);
                        h = by_name ? host_find(by_name, g->n_hosts, name) : group_find_host((struct group_state *) g, name);
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
