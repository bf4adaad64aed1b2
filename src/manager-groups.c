/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Runtime state of groups and hosts: building and freeing it, finding hosts, and the rules
 * every source of addresses shares (families, the rebinding rule, the max_snooped bound). No
 * timers, no I/O, no calls into the other rooms: they all call here. */
#include "manager-internal.h"
#include "state.h"

static void host_done(struct host *h) {
        prioq_remove(h->group->manager->refresh_queue, &h->queue_idx);
        free(h->rejected);
        h->rejected = NULL;
        free(h->error_text);
        h->error_text = NULL;
}

/* Sets (or with NULL or "" clears) the reason of the host's failure. Out of memory the reason
 * is lost, nothing else: it is only shown. At most as long as the state file keeps it. */
void host_set_error(struct host *h, const char *text) {
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

void groups_free(struct group_state *groups, size_t n) {
        for (size_t i = 0; i < n; i++)
                group_state_done(&groups[i]);
        free(groups);
}

/* Builds runtime state for every group of c; nothing is started yet. */
int groups_new(struct manager *m, const struct config *c, struct group_state **ret, size_t *ret_n) {
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
int manager_reserve_hosts(struct manager *m, const struct group_state *groups, size_t n) {
        size_t hosts = 0;

        for (size_t i = 0; i < n; i++)
                hosts += groups[i].n_hosts;
        return prioq_reserve(m->refresh_queue, hosts);
}

struct host *group_find_host(struct group_state *g, const char *name) {
        for (size_t i = 0; i < g->n_hosts; i++)
                if (streq(g->hosts[i].name, name))
                        return &g->hosts[i];
        return NULL;
}

bool group_has_family(const struct group *g, const struct ip_addr *a) {
        return g->family & (a->family == AF_INET ? FAMILY_IPV4 : FAMILY_IPV6);
}

/* The DNS rebinding rule: never loopback, link-local, multicast, ...; private ranges only with
 * allow_private=yes. Applies to fresh answers and to what a state file or a reload carries over,
 * so tightening allow_private takes effect at once. */
bool address_allowed(const struct config *c, const struct ip_addr *a) {
        enum addr_class cls = addr_classify(a);
        return cls == ADDR_PUBLIC || (cls == ADDR_PRIVATE && c->allow_private);
}

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
void group_limit_snooped(struct group_state *g) {
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

static int host_order_by_name(const void *a, const void *b) {
        return strcmp((*(struct host *const *) a)->name, (*(struct host *const *) b)->name);
}

static int host_name_compare(size_t i, const void *key, const void *userdata) {
        struct host *const *by_name = userdata;

        return strcmp(by_name[i]->name, key);
}

/* The hosts of g sorted by name, for host_find() (a group may have thousands); NULL: -ENOMEM. */
struct host **group_hosts_by_name(const struct group_state *g) {
        struct host **by_name = malloc(MAX(g->n_hosts, (size_t) 1) * sizeof(*by_name));

        if (!by_name)
                return NULL;
        for (size_t i = 0; i < g->n_hosts; i++)
                by_name[i] = &g->hosts[i];
        qsort(by_name, g->n_hosts, sizeof(*by_name), host_order_by_name);
        return by_name;
}

struct host *host_find(struct host *const *by_name, size_t n, const char *name) {
        bool found;
        size_t at = binary_search(0, n, name, host_name_compare, by_name, &found);

        return found ? by_name[at] : NULL;
}
