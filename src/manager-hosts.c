/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Host lookups: the refresh queue behind one timer, queries, and answers through the filter
 * into the ledger, with each host's health. Asks for an apply and a save; never builds a
 * transaction or writes the state file itself, and knows nothing of snooping. */
#include <sys/random.h>

#include "manager-internal.h"
#include "schedule.h"

/* Timers of refreshes may fire up to a tenth of their delay late, at most this much, so wake-ups
 * can be batched without stretching a refresh of seconds (tests, demo) noticeably. */
#define REFRESH_ACCURACY_MAX_USEC (1 * USEC_PER_SEC)
/* Hosts whose refresh is due are handed to the resolver while fewer than this many are in
 * flight or queued there; the rest wait in the refresh queue, where they cost nothing more.
 * Four times the resolver's in-flight bound keeps it busy between two answers. */
#define DISPATCH_MAX 256

/* ---- resolution ---- */

static void host_query(struct host *h);

int host_compare_refresh(const void *a, const void *b) {
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
void manager_dispatch(struct manager *m) {
        usec_t now = boottime_now(m);
        struct host *h;

        while ((h = prioq_peek(m->refresh_queue)) && h->next_refresh <= now &&
               resolver_pending(m->resolver) < DISPATCH_MAX) {
                prioq_remove(m->refresh_queue, &h->queue_idx);
                host_query(h);
        }
        manager_arm_refresh(m);
}

int on_refresh_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        manager_dispatch(userdata);
        return 0;
}

/* Puts h in the refresh queue for when (0: now) and re-arms the timer if h comes first. The
 * queue has room for every host (manager_reserve_hosts()), so this cannot fail. */
void host_schedule(struct host *h, usec_t when) {
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

void on_entry_added(const struct ledger *l, const struct ledger_entry *e, void *userdata) {
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
void manager_query_all(struct manager *m) {
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

