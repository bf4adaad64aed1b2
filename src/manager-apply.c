/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the kernel should hold and getting it there: the desired set contents from the
 * configuration and the ledgers, one transaction per change (coalesced by the apply timer),
 * settling transactions whose replies were lost, repairing foreign changes, and expiring
 * addresses. Never asks DNS and never touches the state file itself (it marks it changed).
 *
 * While the daemon runs, transactions go through nft_apply_async(): the kernel may hold a
 * transaction's send for as long as another process holds the nftables commit lock, and
 * nothing on the loop waits for that (snooped replies have a hold bound to keep). One is in
 * flight at a time; whatever is asked for meanwhile goes in one more from its callback, with
 * the snooped round waiting for it. What still waits for the lock, synchronously: the start's
 * first transaction (before READY=1), --once and --dry-run, a reload's transaction and its
 * settling (manager-reload.c, which first gives up the one in flight), on_exit=remove,
 * putting the snooping chains back after a foreign change, and deleting the sets of groups a
 * reload removed (nft_plan_done()). */
#include "manager-internal.h"
#include "nft-queue.h"

/* Answers are coalesced for this long before one transaction is sent; a foreign change is
 * repaired after the same delay, well inside the promised second. */
#define APPLY_DELAY_USEC (50 * USEC_PER_MSEC)

/* ---- desired kernel contents ---- */

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

/* The static entries and ledger addresses of one family: the bound of group_elements(), found
 * without going through them. */
static size_t group_elements_max(const struct group_state *g, int family) {
        const struct group *gc = g->config;
        const struct ledger_entry *e;
        size_t n;

        e = ledger_entries(g->ledger, &n);
        return from_family(gc->addresses, gc->n_addresses, sizeof(*gc->addresses), 0, family + 1) -
               from_family(gc->addresses, gc->n_addresses, sizeof(*gc->addresses), 0, family) +
               from_family(e, n, sizeof(*e), offsetof(struct ledger_entry, addr), family + 1) -
               from_family(e, n, sizeof(*e), offsetof(struct ledger_entry, addr), family);
}

/* The elements of one set: static entries (no timeout) and every unexpired ledger address,
 * sorted, without duplicates and without anything a static entry already covers (an interval
 * set refuses overlaps). Both inputs are sorted already, the static entries also disjoint (see
 * struct group): one merge, with a binary search per ledger address, O(s + l log s). Writes
 * them to out (room for group_elements_max()) unless it is NULL; returns how many there are. */
static size_t group_elements(const struct group_state *g, int family, struct nft_element *out) {
        const struct group *gc = g->config;
        const struct ledger_entry *e;
        size_t n, sb, se, lb, le, i, j, k = 0;

        e = ledger_entries(g->ledger, &n);
        sb = from_family(gc->addresses, gc->n_addresses, sizeof(*gc->addresses), 0, family);
        se = from_family(gc->addresses, gc->n_addresses, sizeof(*gc->addresses), 0, family + 1);
        lb = from_family(e, n, sizeof(*e), offsetof(struct ledger_entry, addr), family);
        le = from_family(e, n, sizeof(*e), offsetof(struct ledger_entry, addr), family + 1);

        for (i = sb, j = lb; i < se || j < le;) {
                /* No static entry of the family (a group of host names only): none covers. */
                if (j < le && se > sb && group_static_covers(gc, &e[j].addr))
                        j++;
                else if (j >= le || (i < se && addr_compare(&gc->addresses[i], &e[j].addr) < 0)) {
                        if (out)
                                out[k] = (struct nft_element) { .addr = gc->addresses[i], .expiry = USEC_INFINITY };
                        k++, i++;
                } else {
                        /* Provenance in the kernel: `nft list set` names the host that brought
                         * the address (the ledger's names live as long as the ledger). A static
                         * entry (also one DNS returns) carries none: it is the operator's. */
                        if (out)
                                out[k] = (struct nft_element) { .addr = e[j].addr, .expiry = e[j].expiry,
                                                                .comment = ledger_host_name(g->ledger, e[j].host) };
                        k++, j++;
                }
        }
        return k;
}

/* nft_elements_cb: the apply asks for one set's elements when it comes to that set (and frees
 * them), so they never exist for every set at once. */
static int desired_elements(const struct nft_group *ng, int af, struct nft_element **ret, size_t *ret_n) {
        const struct group_state *g = ng->userdata;
        struct nft_element *items;
        size_t max = group_elements_max(g, af);

        items = malloc(MAX(max, (size_t) 1) * sizeof(*items));
        if (!items)
                return -ENOMEM;
        *ret_n = group_elements(g, af, items);
        *ret = items;
        return 0;
}

struct desired {
        struct nft_ruleset ruleset;
        struct nft_group *groups;
        char **comments;
        size_t n;
};

static void desired_done(struct desired *d) {
        for (size_t i = 0; i < d->n; i++)
                free(d->comments[i]);
        free(d->groups);
        free(d->comments);
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
        if (!d.groups || !d.comments)
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

                *ng = (struct nft_group) {
                        .name = g->config->name,
                        .comment = d.comments[i],
                        .families = g->config->family,
                        .interval = interval,
                        /* Counted now, built by the apply one set at a time. */
                        .n_v4 = group_elements(g, AF_INET, NULL),
                        .n_v6 = group_elements(g, AF_INET6, NULL),
                        .elements = desired_elements,
                        .userdata = g,
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

/* ---- applying ---- */

/* Arms the apply timer, unless it is already armed to fire sooner. */
void manager_schedule_apply_in(struct manager *m, usec_t delay) {
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

void manager_schedule_apply(struct manager *m) {
        manager_schedule_apply_in(m, APPLY_DELAY_USEC);
}

void manager_log_nft_error(int r, const struct nft_error *err, const char *what, const char *outcome) {
        log_error_errno(r, "Failed to %s (%s%s%s): %m; %s.", what,
                        err->object[0] ? err->object : "nftables",
                        err->hint[0] ? ": " : "", err->hint, outcome);
}

/* Builds what the kernel should hold from the configuration and the ledgers and sends it in one
 * transaction (nothing when unchanged, unless force). Returns what nft_apply() returns. */
int manager_transaction(struct manager *m, bool force, struct nft_error *err) {
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
bool nft_failure_is_transient(int r, const struct nft_error *err) {
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
int manager_settle_unknown(struct manager *m, const char *what, int error, struct nft_error *err) {
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

/* What follows a transaction's outcome r (forced or not): a failure is logged once and retried
 * after retry_min; a success puts back the snooping chains after a forced repair. Returns 0, or
 * r with *ret_transient telling whether sending it again later may succeed. */
static int manager_apply_result(struct manager *m, int r, const struct nft_error *err, bool force, bool *ret_transient) {
        if (r < 0) {
                bool transient = nft_failure_is_transient(r, err);

                /* The kernel still has the previous allow-list. Try again after retry_min (a
                 * forced repair stays forced); say it once, not at every attempt. */
                m->force_apply = m->force_apply || force;
                if (!m->apply_failing)
                        manager_log_nft_error(r, err, "apply nftables transaction",
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
                struct nft_error qerr = { 0 };
                enum nft_queue_kind kind;
                int k = nft_queue_install(&spec, &kind, &qerr);

                if (k < 0)
                        manager_log_nft_error(k, &qerr, "put back the DNS snooping chains", "trying again at the next repair");
        }
        if (m->apply_failing)
                log_info("nftables transaction applied again after earlier failures.");
        m->apply_failing = false;
        m->applied = true;
        if (r > 0)
                log_debug("Applied nftables transaction.");
        return 0;
}

/* Gives up the asynchronous transaction in flight, if any, waiting for its send (behind the
 * commit lock another process may hold): for the synchronous ones of the start, reload and
 * exit. What it did is unknown, so the next apply reads the sets back; a snooped round it
 * carried goes with the synchronous transaction instead (manager_sync_round_done()), or, when
 * that is rejected, with the apply scheduled here. */
void manager_apply_cancel(struct manager *m) {
        if (!m->nft || !nft_apply_pending(m->nft))
                return;
        nft_apply_cancel(m->nft);
        if (m->snoop_round_inflight)
                m->snoop_round_next = m->snoop_round_inflight;
        m->snoop_round_inflight = 0;
        /* What it carried is asked for again (a forced repair stays forced): the synchronous
         * transaction that follows sends it too when it succeeds, and this apply then finds
         * nothing to send; when that one fails or is never sent (a rejected reload), this
         * apply is what puts it in. */
        m->force_apply |= m->apply_inflight_force;
        m->apply_dirty = true;
        manager_schedule_apply_in(m, 0);
}

/* After a synchronous transaction of outcome r: the snooped round waiting for a transaction
 * went with it (it was built from the same ledgers). */
void manager_sync_round_done(struct manager *m, int r) {
        uint64_t round = m->snoop_round_next;

        m->snoop_round_next = 0;
        snoop_committed(m->snoop, round, r);
}

/* Sends the desired contents to the kernel (nothing when unchanged) and waits for the kernel:
 * at the start, for the modes that run once, and in dry-run. Returns 0, or a negative errno
 * with *ret_transient telling whether sending it again later may succeed (a retry is then
 * scheduled). */
int manager_apply_full(struct manager *m, bool *ret_transient) {
        struct nft_error err = { 0 };
        bool force = m->force_apply;
        int r;

        if (m->mode == MANAGER_DRY_RUN) {
                r = manager_transaction(m, true, &err);
                return r < 0 ? log_error_errno(r, "Failed to write the nft script: %m") : 0;
        }

        manager_apply_cancel(m);
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
        r = manager_apply_result(m, r, &err, force, ret_transient);
        manager_sync_round_done(m, r);
        return r;
}

int manager_apply(struct manager *m) {
        return manager_apply_full(m, NULL);
}

static void on_applied(struct nft *n, int r, const struct nft_error *e, void *userdata) {
        struct manager *m = userdata;
        struct nft_error err = *e;
        uint64_t round = m->snoop_round_inflight;
        bool force = m->apply_inflight_force;

        m->snoop_round_inflight = 0;
        metrics_count_transaction_result(m->metrics, r);
        if (r < 0 && err.unknown) {
                uint32_t gen;

                /* GETGEN does not wait for the commit lock. Unmoved: nothing was committed.
                 * Moved: perhaps ours, perhaps someone else's; the next transaction reads the
                 * sets back and sends everything (the plan forgot what it believed). */
                if (nft_get_generation(m->nft, &gen) >= 0 && err.generation_known && gen == err.generation)
                        log_warning("The kernel's replies to the nftables transaction were lost (%s); the nftables generation is still %" PRIu32
                                    ", so it was not committed.", strerror(-r), gen);
                else
                        log_warning("The kernel's replies to the nftables transaction were lost (%s); sending it again in full.",
                                    strerror(-r));
                m->force_apply = true;
                /* At once, unless that was a full one already: then after retry_min. */
                if (force)
                        manager_schedule_apply_in(m, m->config->retry_min);
                else
                        m->apply_dirty = true;
        } else
                (void) manager_apply_result(m, r, &err, force, NULL);
        /* Unknown counts as failed for the held replies: released, unconfirmed. */
        snoop_committed(m->snoop, round, r);
        /* READY=1 may have waited for this: the first round is done, the allow-list was not in. */
        if (m->queried)
                manager_maybe_ready(m);
        manager_update_status(m);
        if (m->apply_dirty || m->snoop_round_next)
                manager_apply_async(m);
}

/* Sends the desired contents to the kernel without waiting on the loop (nft_apply_async()); a
 * snooped round waiting for it goes with it. While one is in flight, marks the next. */
void manager_apply_async(struct manager *m) {
        _cleanup_(desired_done) struct desired d = { 0 };
        struct nft_error err = { 0 };
        bool force = m->force_apply;
        int r;

        if (m->mode != MANAGER_DAEMON) {
                (void) manager_apply(m);
                return;
        }
        if (nft_apply_pending(m->nft)) {
                m->apply_dirty = true;
                return;
        }
        /* It carries everything asked for so far. */
        m->apply_dirty = false;
        (void) sd_event_source_set_enabled(m->apply_timer, SD_EVENT_OFF);
        m->force_apply = false;
        m->snoop_round_inflight = m->snoop_round_next;
        m->snoop_round_next = 0;
        m->apply_inflight_force = force;
        r = manager_desired(m, &d);
        if (r >= 0)
                r = nft_apply_async(m->nft, m->event, &d.ruleset, boottime_now(m), force, on_applied, m, &err);
        if (r >= 0) {
                metrics_record_ruleset(m->metrics, &d.ruleset);
                return;
        }
        /* Nothing was sent: the same as a failed transaction. */
        metrics_count_transaction_result(m->metrics, r);
        (void) manager_apply_result(m, r, &err, force, NULL);
        {
                uint64_t round = m->snoop_round_inflight;

                m->snoop_round_inflight = 0;
                snoop_committed(m->snoop, round, r);
        }
}

int on_apply_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        manager_apply_async(userdata);
        return 0;
}

void on_nft_leftover(struct nft *n, int error, const struct nft_error *what, void *userdata) {
        log_warning_errno(error, "%s: %s: %m", what->object, what->hint);
}

void on_foreign_change(struct nft *n, void *userdata) {
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

        /* A learned one: the group's index counts one fewer. */
        if (g->learned && group_entry_learned(l, e, g))
                learned_forget(g->learned);
        log_event(LOG_INFO, MESSAGE_ADDRESSES_EXPIRED, g->config->name, ledger_host_name(l, e->host),
                  addr_to_string(&e->addr, a), "%s: -%s (group %s: validity ran out without DNS returning it again)",
                  ledger_host_name(l, e->host), a, g->config->name);
}

/* Makes sure the expiry timer fires no later than when: an answer only ever sets expiries to
 * when or later, so this keeps the timer at or before the earliest one without looking at every
 * address. If it fires early (the addresses were seen again meanwhile), on_expire_timer() looks
 * once and arms it for the true earliest: every address is confirmed at least every validity/2,
 * so that happens at most about once per validity/2, not once per answer. */
void manager_arm_expire_by(struct manager *m, usec_t when) {
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
void manager_arm_expire(struct manager *m) {
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

int on_expire_timer(sd_event_source *s, uint64_t usec, void *userdata) {
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

/* on_exit=remove: the snooping chains and the allow-list leave the kernel with the daemon. */
void manager_remove_on_exit(struct manager *m) {
        _cleanup_(desired_done) struct desired d = { 0 };
        struct nft_error err = { 0 };

        manager_apply_cancel(m);
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
