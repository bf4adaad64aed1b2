/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SIGHUP: a new configuration is loaded, checked, given the runtime state of what survives
 * and accepted only once its transaction is in; otherwise the previous one stays, unchanged.
 * Calls into every other room; none calls back here. */
#include <systemd/sd-daemon.h>

#include "manager-internal.h"

/* Copies runtime state of groups that survive a reload into the new ones (the old ones stay
 * untouched, so a rejected reload can go back to them): the addresses of hosts still configured,
 * if the new configuration still allows them (allow_private=, family= may have tightened), capped
 * at the new validity from now; and each host's health and schedule, the schedule capped at the
 * new refresh (a shortened validity must not leave the next lookup after the expiry). Hosts that
 * were failing ask at once when the DNS servers changed. Returns 0 or -ENOMEM. */
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
        manager_apply_cancel(m);
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

int manager_reload(struct manager *m) {
        _cleanup_config_ struct config *c = NULL;
        struct group_state *groups = NULL, *old_groups = m->groups;
        struct config *old_config = m->config;
        struct resolver *resolver = NULL;
        struct nft_error err = { 0 };
        size_t n_groups = 0, n_old = m->n_groups;
        usec_t now = boottime_now(m);
        struct snoop *listener = NULL;
        bool rollback = false, snoop_failed = false;
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
                r = manager_snoop_prepare(m, c, &listener);
                snoop_failed = r < 0;
        }
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
                snoop_free(listener);
                if (snoop_failed)
                        log_event(LOG_ERR, MESSAGE_RELOAD_REJECTED, NULL, NULL, NULL,
                                  "Rejected the new configuration in %s: cannot listen on NFQUEUE %u for DNS snooping "
                                  "(%s); still running on the previous one, unchanged.",
                                  m->config_path, c->snoop_queue, strerror(-r));
                else if (rollback) {
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
                /* A snooped round waiting for a transaction stays waiting: for the one in
                 * flight, or for the apply manager_apply_cancel() scheduled, never released
                 * before its addresses are in. */
                return r;
        }

        /* Accepted: the old resolver goes before the old hosts its callbacks point to. */
        c = NULL;
        manager_sync_round_done(m, 0);
        m->force_apply = false;
        m->apply_failing = false;
        /* After those: a switch that fails asks for a forced repair. */
        if (!manager_snoop_config_equal(m->config, old_config))
                manager_snoop_switch(m, old_config, listener);
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
