/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The manager wires the rooms together and runs the loop: configuration -> resolver answers ->
 * ledger -> desired set contents -> one nftables transaction -> state file. It owns all runtime
 * state; the configuration stays read-only and a reload builds a new one.
 * This room is the lifecycle and the order of a run: creating and freeing the manager, its
 * timers and signals, --once/--dry-run/daemon, --status. The work is done in the other rooms
 * (manager-internal.h: groups, hosts, snoop, apply, state, notify, reload, metrics); nothing
 * there calls back here. */
#include <signal.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "manager-internal.h"
#include "paths.h"
#include "reload.h"
#include "state.h"
#include "status.h"

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
        if (m->config->on_exit == ON_EXIT_REMOVE)
                manager_remove_on_exit(m);
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
