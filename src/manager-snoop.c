/* SPDX-License-Identifier: GPL-2.0-or-later */
/* DNS snooping wiring: names below a group's domains= learned from replies on the NFQUEUE, the
 * lookups of truncated replies, and the queue's callbacks (hold, commit, release). Learned
 * addresses go through the same filter and ledger as resolved ones; the bound (max_snooped) is
 * the groups room's. Does not schedule host lookups. */
#include "manager-internal.h"
#include "nft-queue.h"

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

/* Addresses of a name below some group's domains= (from a snooped reply, or the lookup of a
 * truncated one): through the same filter as resolved ones and into the ledger under that name,
 * with the group's validity. Returns whether the kernel must learn of it. */
static bool snoop_learn(struct manager *m, const char *name, const struct ip_addr *in, size_t n_in) {
        const struct config *c = m->config;
        usec_t now = boottime_now(m);
        usec_t first_expiry = USEC_INFINITY;
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
                added = group_record_learned(g, name, addrs, n, now, on_entry_added);
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
                first_expiry = MIN(first_expiry, now + g->config->validity);
        }
        if (changed) {
                manager_state_changed(m);
                /* As for a resolved answer: no pass over every address per reply. */
                manager_arm_expire_by(m, first_expiry);
                /* Whether or not a reply waits for it (one released at snoop_hold_max while a
                 * transaction was in flight does not): the next transaction. */
                if (nft_apply_pending(m->nft))
                        m->apply_dirty = true;
                else
                        manager_schedule_apply(m);
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

void tc_lookups_free(struct manager *m) {
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
                snoop_release_after_commit(m->snoop, t->token);
        else
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

/* The transaction for the replies of one round; they are released from its callback
 * (manager_apply_async() calls snoop_committed()). */
static int on_snoop_commit(struct snoop *s, uint64_t round, void *userdata) {
        struct manager *m = userdata;

        m->snoop_round_next = round;
        manager_apply_async(m);
        return 0;
}

static const struct snoop_callbacks snoop_cb = {
        .on_reply = on_snooped_reply,
        .on_commit = on_snoop_commit,
        .on_released = on_snoop_released,
};

/* Binds c's queue for m; logs a failure. */
static int snoop_listen(struct manager *m, const struct config *c, struct snoop **ret) {
        int r = snoop_new(m->event, c->snoop_queue, c->snoop_hold_max, &snoop_cb, m, ret);

        if (r < 0)
                log_error_errno(r, "Failed to listen on NFQUEUE %u for DNS snooping%s: %m", c->snoop_queue,
                                r == -EBUSY ? " (another program listens on it: choose another snoop_queue=)" :
                                r == -EPERM ? " (needs CAP_NET_ADMIN)" : "");
        return r;
}

/* Puts the chains of m->config in (replacing their rules), or says why not. */
static int snoop_install(struct manager *m) {
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

        r = nft_queue_install(&spec, &kind, &err);
        if (r < 0) {
                manager_log_nft_error(r, &err, "add the DNS snooping chains", "not snooping");
                return r;
        }
        log_info("Snooping DNS replies on NFQUEUE %u (%s%s) for the domains of %zu group%s.", c->snoop_queue,
                 nft_queue_kind_to_string(kind),
                 kind == NFT_QUEUE_XT_TARGET ? ": the kernel has no nftables queue expression, nft_queue" : "",
                 m->n_groups, m->n_groups == 1 ? "" : "s");
        return 0;
}

static void snoop_remove(struct manager *m, const char *when) {
        struct nft_error err = { 0 };
        int r = nft_queue_remove(m->config->table_family, m->config->table, &err);

        if (r < 0)
                manager_log_nft_error(r, &err, when, "leaving them (with bypass, DNS passes)");
}

/* Starts listening (before the chains exist, so no reply waits for a listener that is not
 * there yet) and puts the chains in; or, with snoop=no, removes chains an earlier run left. */
int manager_snoop_start(struct manager *m) {
        int r;

        if (!m->config->snoop) {
                snoop_remove(m, "remove the DNS snooping chains");
                return 0;
        }
        r = snoop_listen(m, m->config, &m->snoop);
        if (r < 0)
                return r;
        r = snoop_install(m);
        if (r < 0)
                m->snoop = snoop_free(m->snoop);
        return r;
}

static bool snoop_servers_equal(const struct config *a, const struct config *b) {
        if (a->n_snoop_servers != b->n_snoop_servers)
                return false;
        for (size_t i = 0; i < a->n_snoop_servers; i++)
                if (addr_compare(&a->snoop_servers[i], &b->snoop_servers[i]) != 0)
                        return false;
        return true;
}

bool manager_snoop_config_equal(const struct config *a, const struct config *b) {
        return a->snoop == b->snoop && a->snoop_queue == b->snoop_queue && a->snoop_hold_max == b->snoop_hold_max &&
               snoop_servers_equal(a, b);
}

int manager_snoop_prepare(struct manager *m, const struct config *c, struct snoop **ret_listener) {
        *ret_listener = NULL;
        if (!c->snoop || (m->snoop && c->snoop_queue == m->config->snoop_queue))
                return 0;
        return snoop_listen(m, c, ret_listener);
}

/* The chains could not be (all) put in after an accepted reload: each goes in a transaction of
 * its own, so some may send to the new queue and some to the old one, or match the old servers.
 * The new listener stays, and a forced apply after retry_min puts the chains back as the
 * configuration says (manager_apply_result()'s repair), instead of leaving the domains
 * unenforced until the next reload. */
static void snoop_install_later(struct manager *m) {
        m->force_apply = true;
        manager_schedule_apply_in(m, m->config->retry_min);
}

void manager_snoop_switch(struct manager *m, const struct config *old, struct snoop *listener) {
        const struct config *c = m->config;

        if (!c->snoop) {
                m->snoop = snoop_free(m->snoop);
                if (old->snoop) {
                        snoop_remove(m, "remove the DNS snooping chains");
                        log_info("Stopped snooping DNS replies (snoop=no): domains= are not enforced.");
                }
                return;
        }
        if (listener) {
                /* The rules move to the new queue, whose listener is there already; the old one
                 * then gives what it still holds its verdict. */
                struct snoop *previous = m->snoop;

                m->snoop = listener;
                if (snoop_install(m) < 0)
                        snoop_install_later(m);
                snoop_free(previous);
                return;
        }
        /* The same queue and listener: a new hold bound applies at once; other servers take new
         * rules. */
        if (c->snoop_hold_max != old->snoop_hold_max)
                snoop_set_hold_max(m->snoop, c->snoop_hold_max);
        if (!snoop_servers_equal(c, old) && snoop_install(m) < 0)
                snoop_install_later(m);
}
