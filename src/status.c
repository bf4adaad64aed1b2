/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>

#include "json.h"
#include "log.h"
#include "nft-query.h"
#include "status.h"

/* Enough for "tcp/49152-65535". */
#define PORTS_STRLEN 16

/* One reason an address is (or was) allowed: a record of the state file, or a static entry. */
struct status_reason {
        const char *group;
        const struct group *config;        /* NULL: the group is not configured (any more) */
        const struct state_address *learned; /* from DNS, or NULL */
        const struct ip_addr *static_entry; /* from addresses=, or NULL */
};

/* What one of the kernel's sets has for the address. */
struct status_kernel {
        const char *group;
        char set[GROUP_NAME_MAX + 4];
        int result; /* nft_query_element(): 1 found, 0 not, <0 error */
        struct nft_query_element element;
};

static const char *port_range_to_string(const struct port_range *p, char buf[static PORTS_STRLEN]) {
        if (p->first == p->last)
                snprintf(buf, PORTS_STRLEN, "%s/%u", proto_to_string(p->proto), p->first);
        else
                snprintf(buf, PORTS_STRLEN, "%s/%u-%u", proto_to_string(p->proto), p->first, p->last);
        return buf;
}

static void print_ports(const struct group *g, FILE *f) {
        char p[PORTS_STRLEN];

        if (!g) {
                fputs("not configured", f);
                return;
        }
        if (g->n_allow == 0)
                fputs("no ports", f);
        for (size_t i = 0; i < g->n_allow; i++)
                fprintf(f, "%s%s", i > 0 ? " " : "", port_range_to_string(&g->allow[i], p));
}

static void json_ports(struct json *j, const struct group *g) {
        char p[PORTS_STRLEN];

        if (!g) {
                json_string(j, "ports", NULL);
                return;
        }
        json_open(j, "ports", '[');
        for (size_t i = 0; i < g->n_allow; i++)
                json_string(j, NULL, port_range_to_string(&g->allow[i], p));
        json_close(j, ']');
}

/* "until 2026-11-21 12:03:00 UTC (6d23h left)" or "expired 2026-11-21 12:03:00 UTC (5s ago)". */
static void print_expiry(usec_t expiry, usec_t now, FILE *f) {
        char t[TIMESTAMP_MAX], d[DURATION_MAX];

        if (expiry > now)
                fprintf(f, "until %s (%s left)", format_timestamp(t, sizeof(t), expiry),
                        format_duration(d, sizeof(d), expiry - now));
        else
                fprintf(f, "expired %s (%s ago)", format_timestamp(t, sizeof(t), expiry),
                        format_duration(d, sizeof(d), now - expiry));
}

/* "allowed since 2026-11-14 12:03:00 UTC, " while the record allows, "allowed from ..., " once it
 * expired; nothing for a record that does not know (0). */
static void print_since(const struct state_address *a, usec_t now, FILE *f) {
        char t[TIMESTAMP_MAX];

        if (a->first_seen > 0)
                fprintf(f, "allowed %s %s, ", a->expiry > now ? "since" : "from",
                        format_timestamp(t, sizeof(t), a->first_seen));
}

static bool host_configured(const struct group *g, const char *host) {
        for (size_t i = 0; g && i < g->n_hosts; i++)
                if (streq(g->hosts[i], host))
                        return true;
        return false;
}

/* A name learned from snooped DNS replies: below one of the group's domains= with snoop=yes. */
static bool host_snooped(const struct config *c, const struct group *g, const char *host) {
        return c && c->snoop && g && !host_configured(g, host) && group_matches_name(g, host);
}

/* ---- --status ADDRESS ---- */

static int collect_reasons(const struct ip_addr *a, const struct config *c, const struct state *s,
                           struct status_reason **ret, size_t *ret_n) {
        struct status_reason *r = NULL;
        size_t n = 0, allocated = 0;

        for (size_t i = 0; i < s->n_addresses; i++) {
                const struct state_address *sa = &s->addresses[i];

                if (addr_compare(&sa->addr, a) != 0)
                        continue;
                if (grow_array((void **) &r, &allocated, n + 1, sizeof(*r)) < 0)
                        goto oom;
                r[n++] = (struct status_reason) {
                        .group = sa->group, .config = c ? config_find_group(c, sa->group) : NULL, .learned = sa,
                };
        }
        for (size_t i = 0; c && i < c->n_groups; i++)
                for (size_t k = 0; k < c->groups[i].n_addresses; k++) {
                        const struct ip_addr *p = &c->groups[i].addresses[k];

                        if (!addr_in_prefix(a, p))
                                continue;
                        if (grow_array((void **) &r, &allocated, n + 1, sizeof(*r)) < 0)
                                goto oom;
                        r[n++] = (struct status_reason) {
                                .group = c->groups[i].name, .config = &c->groups[i], .static_entry = p,
                        };
                }
        *ret = r;
        *ret_n = n;
        return 0;
oom:
        free(r);
        return -ENOMEM;
}

/* A record allows the address while it is unexpired and its group and host are configured
 * (the daemon drops the others at its next start or reload). */
static bool reason_allows(const struct status_reason *r, const struct config *c, usec_t now) {
        if (r->static_entry)
                return true;
        if (r->learned->expiry <= now)
                return false;
        return !c || (r->config && (host_configured(r->config, r->learned->host) ||
                                    host_snooped(c, r->config, r->learned->host)));
}

/* Asks the kernel's set of each configured group of the address' family. */
static int collect_kernel(const struct ip_addr *a, const struct config *c, struct status_kernel **ret, size_t *ret_n) {
        struct status_kernel *k;
        size_t n = 0;

        k = calloc(MAX(c->n_groups, (size_t) 1), sizeof(*k));
        if (!k)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_groups; i++) {
                const struct group *g = &c->groups[i];
                bool v4 = a->family == AF_INET;

                if (!(g->family & (v4 ? FAMILY_IPV4 : FAMILY_IPV6)))
                        continue;
                k[n].group = g->name;
                snprintf(k[n].set, sizeof(k[n].set), "%s_%s", g->name, v4 ? "v4" : "v6");
                k[n].result = nft_query_element(c->table_family, c->table, k[n].set, a, &k[n].element);
                n++;
        }
        *ret = k;
        *ret_n = n;
        return 0;
}

static const char *kernel_error(int r) {
        return r == -EPERM || r == -EACCES ? "cannot read it (needs CAP_NET_ADMIN)" :
               r == -ENOENT ? "no such set" : strerror(-r);
}

static void print_element(const struct nft_query_element *e, FILE *f) {
        char a[ADDR_STRLEN], d[DURATION_MAX];

        fputs(addr_to_string(&e->element, a), f);
        if (e->range)
                fprintf(f, "-%s", addr_to_string(&e->last, a));
        if (e->timeout > 0)
                fprintf(f, " timeout %s", format_duration(d, sizeof(d), e->timeout));
        if (e->expires > 0)
                fprintf(f, " expires %s", format_duration(d, sizeof(d), e->expires));
        if (e->comment[0])
                fprintf(f, " comment \"%s\"", e->comment);
}

static void print_address(const char *what, const struct config *c, bool allowed, const char *why,
                          const struct status_reason *r, size_t n_r, const struct status_kernel *k, size_t n_k,
                          usec_t now, FILE *f) {
        char a[ADDR_STRLEN], t[TIMESTAMP_MAX];

        fprintf(f, "%s: %s%s%s\n", what, allowed ? "allowed" : "not allowed", why ? ": " : "", why ?: "");
        for (size_t i = 0; i < n_r; i++) {
                fprintf(f, "  group %s (", r[i].group);
                print_ports(r[i].config, f);
                fputs("): ", f);
                if (r[i].static_entry) {
                        fprintf(f, "static %s, no expiry\n", addr_to_string(r[i].static_entry, a));
                        continue;
                }
                fprintf(f, "host %s%s, ", r[i].learned->host,
                        host_snooped(c, r[i].config, r[i].learned->host) ? " (learned from snooped DNS replies)" :
                        c && r[i].config && !host_configured(r[i].config, r[i].learned->host) ? " (not configured)" : "");
                print_since(r[i].learned, now, f);
                fprintf(f, "last in DNS %s, ",
                        r[i].learned->last_seen ? format_timestamp(t, sizeof(t), r[i].learned->last_seen) : "never");
                print_expiry(r[i].learned->expiry, now, f);
                fputc('\n', f);
        }
        for (size_t i = 0; i < n_k; i++) {
                fprintf(f, "  kernel: set %s %s %s: ", nft_query_family_name(c->table_family), c->table, k[i].set);
                if (k[i].result > 0)
                        print_element(&k[i].element, f);
                else if (k[i].result == 0)
                        fputs("no element", f);
                else
                        fputs(kernel_error(k[i].result), f);
                fputc('\n', f);
        }
}

static void json_address(const char *what, const struct config *c, bool allowed, const char *why,
                         const struct status_reason *r, size_t n_r, const struct status_kernel *k, size_t n_k,
                         usec_t now, FILE *f) {
        char a[ADDR_STRLEN];
        struct json j;

        json_begin(&j, f);
        json_string(&j, "address", what);
        json_bool(&j, "allowed", allowed);
        json_string(&j, "reason", why);
        json_uint(&j, "now", now);
        json_open(&j, "groups", '[');
        for (size_t i = 0; i < n_r; i++) {
                json_open(&j, NULL, '{');
                json_string(&j, "group", r[i].group);
                json_bool(&j, "configured", r[i].config != NULL);
                json_ports(&j, r[i].config);
                json_string(&j, "static", r[i].static_entry ? addr_to_string(r[i].static_entry, a) : NULL);
                json_string(&j, "host", r[i].learned ? r[i].learned->host : NULL);
                json_time(&j, "first_seen", r[i].learned ? r[i].learned->first_seen : 0);
                json_time(&j, "last_seen", r[i].learned ? r[i].learned->last_seen : 0);
                json_time(&j, "expiry", r[i].learned ? r[i].learned->expiry : 0);
                json_bool(&j, "allows", reason_allows(&r[i], c, now));
                json_close(&j, '}');
        }
        json_close(&j, ']');
        json_open(&j, "kernel", '[');
        for (size_t i = 0; i < n_k; i++) {
                const struct nft_query_element *e = &k[i].element;

                json_open(&j, NULL, '{');
                json_string(&j, "family", nft_query_family_name(c->table_family));
                json_string(&j, "table", c->table);
                json_string(&j, "set", k[i].set);
                json_string(&j, "error", k[i].result < 0 ? kernel_error(k[i].result) : NULL);
                if (k[i].result > 0) {
                        json_string(&j, "element", addr_to_string(&e->element, a));
                        json_string(&j, "last", e->range ? addr_to_string(&e->last, a) : NULL);
                        json_time(&j, "timeout_usec", e->timeout);
                        json_time(&j, "expires_in_usec", e->expires);
                        json_string(&j, "comment", e->comment[0] ? e->comment : NULL);
                } else
                        json_string(&j, "element", NULL);
                json_close(&j, '}');
        }
        json_close(&j, ']');
        json_end(&j);
}

static int status_address(const char *what, const struct ip_addr *a, const struct config *c, const struct state *s,
                          usec_t now, bool json, FILE *f) {
        _cleanup_free_ struct status_reason *r = NULL;
        _cleanup_free_ struct status_kernel *k = NULL;
        size_t n_r = 0, n_k = 0;
        bool records = false, readable = false, in_kernel = false, allowed;
        const char *why = NULL;

        if (collect_reasons(a, c, s, &r, &n_r) < 0 || (c && collect_kernel(a, c, &k, &n_k) < 0)) {
                log_oom();
                return 1;
        }
        for (size_t i = 0; i < n_r; i++)
                records = records || reason_allows(&r[i], c, now);
        for (size_t i = 0; i < n_k; i++) {
                readable = readable || k[i].result >= 0;
                in_kernel = in_kernel || k[i].result > 0;
        }
        /* Shown: the sets that hold it, and the sets of the groups that have a record of it. */
        for (size_t i = 0, kept = 0; i < n_k; i++) {
                bool show = k[i].result > 0;

                for (size_t l = 0; l < n_r && !show; l++)
                        show = streq(k[i].group, r[l].group);
                if (show)
                        k[kept++] = k[i];
                if (i + 1 == n_k)
                        n_k = kept;
        }
        /* The kernel has the last word when it can be asked. */
        allowed = records && (!readable || in_kernel);
        if (n_r == 0)
                why = "no group has it";
        else if (!records)
                why = "its validity ran out or its group or host is no longer configured";
        else if (!allowed)
                why = "the kernel's sets do not hold it (is allowlistd running?)";
        else if (!readable)
                why = "as recorded; the kernel's sets could not be read";

        if (json)
                json_address(what, c, allowed, why, r, n_r, k, n_k, now, f);
        else
                print_address(what, c, allowed, why, r, n_r, k, n_k, now, f);
        return allowed ? 0 : 1;
}

/* ---- --status NAME ---- */

static const struct state_host *find_state_host(const struct state *s, const char *group, const char *host) {
        for (size_t i = 0; i < s->n_hosts; i++)
                if (streq(s->hosts[i].group, group) && streq(s->hosts[i].host, host))
                        return &s->hosts[i];
        return NULL;
}

static void print_host(const struct state *s, const char *group, const char *host, bool snooped, usec_t now, FILE *f) {
        const struct state_host *h = find_state_host(s, group, host);
        char t[TIMESTAMP_MAX], d[DURATION_MAX];
        size_t n = 0;

        fprintf(f, "  host %s: ", host);
        if (!h && snooped)
                fputs("learned from snooped DNS replies", f);
        else if (!h)
                fputs("not resolved yet", f);
        else if (h->failures > 0)
                fprintf(f, "failing since %s (%u failure%s, last: %s)",
                        h->failing_since ? format_timestamp(t, sizeof(t), h->failing_since) : "?", h->failures,
                        h->failures == 1 ? "" : "s", h->last_error[0] ? h->last_error : "?");
        else
                fprintf(f, "answering, last success %s",
                        h->last_success ? format_timestamp(t, sizeof(t), h->last_success) : "never");
        if (h && h->failures > 0 && h->last_success)
                fprintf(f, ", last success %s", format_timestamp(t, sizeof(t), h->last_success));
        if (h && h->next_refresh > now)
                fprintf(f, ", next lookup in %s", format_duration(d, sizeof(d), h->next_refresh - now));
        fputc('\n', f);
        for (size_t i = 0; i < s->n_addresses; i++) {
                const struct state_address *a = &s->addresses[i];
                char addr[ADDR_STRLEN];

                if (!streq(a->group, group) || !streq(a->host, host))
                        continue;
                fprintf(f, "    %s ", addr_to_string(&a->addr, addr));
                print_since(a, now, f);
                print_expiry(a->expiry, now, f);
                fputc('\n', f);
                n++;
        }
        if (n == 0)
                fputs("    no addresses\n", f);
}

static void json_host(struct json *j, const struct state *s, const char *group, const char *host, usec_t now) {
        const struct state_host *h = find_state_host(s, group, host);

        json_open(j, NULL, '{');
        json_string(j, "name", host);
        json_bool(j, "failing", h && h->failures > 0);
        json_time(j, "last_success", h ? h->last_success : 0);
        json_time(j, "failing_since", h ? h->failing_since : 0);
        json_uint(j, "failures", h ? h->failures : 0);
        json_string(j, "last_error", h && h->last_error[0] ? h->last_error : NULL);
        json_time(j, "next_refresh", h ? h->next_refresh : 0);
        json_open(j, "addresses", '[');
        for (size_t i = 0; i < s->n_addresses; i++) {
                const struct state_address *a = &s->addresses[i];
                char addr[ADDR_STRLEN];

                if (!streq(a->group, group) || !streq(a->host, host))
                        continue;
                json_open(j, NULL, '{');
                json_string(j, "address", addr_to_string(&a->addr, addr));
                json_time(j, "first_seen", a->first_seen);
                json_time(j, "last_seen", a->last_seen);
                json_uint(j, "expiry", a->expiry);
                json_bool(j, "expired", a->expiry <= now);
                json_close(j, '}');
        }
        json_close(j, ']');
        json_close(j, '}');
}

/* The group's header and static entries (whole group), then its hosts: all of them, or only
 * host. */
static void print_group(const struct config *c, const struct group *g, const struct state *s, const char *host,
                        usec_t now, FILE *f) {
        char a[ADDR_STRLEN], d[DURATION_MAX];

        fprintf(f, "group %s (", g->name);
        print_ports(g, f);
        fprintf(f, "; validity %s)\n", format_duration(d, sizeof(d), g->validity));
        for (size_t i = 0; !host && i < g->n_addresses; i++)
                fprintf(f, "  static %s\n", addr_to_string(&g->addresses[i], a));
        for (size_t i = 0; i < g->n_hosts; i++)
                if (!host || streq(host, g->hosts[i]))
                        print_host(s, g->name, g->hosts[i], false, now, f);
        if (host && host_snooped(c, g, host))
                print_host(s, g->name, host, true, now, f);
}

static void json_group(struct json *j, const struct config *c, const struct group *g, const struct state *s,
                       const char *host, usec_t now) {
        char a[ADDR_STRLEN];

        json_open(j, NULL, '{');
        json_string(j, "name", g->name);
        json_ports(j, g);
        json_uint(j, "validity_usec", g->validity);
        json_open(j, "static", '[');
        for (size_t i = 0; !host && i < g->n_addresses; i++)
                json_string(j, NULL, addr_to_string(&g->addresses[i], a));
        json_close(j, ']');
        json_open(j, "hosts", '[');
        for (size_t i = 0; i < g->n_hosts; i++)
                if (!host || streq(host, g->hosts[i]))
                        json_host(j, s, g->name, g->hosts[i], now);
        if (host && host_snooped(c, g, host))
                json_host(j, s, g->name, host, now);
        json_close(j, ']');
        json_close(j, '}');
}

/* The name as the configuration stores host names: lower case, no trailing dot. NULL when out of
 * memory. */
static char *name_normalize(const char *what) {
        char *name = strdup(what);
        size_t n;

        if (!name)
                return NULL;
        for (char *p = name; *p; p++)
                *p = (char) tolower((unsigned char) *p);
        n = strlen(name);
        if (n > 1 && name[n - 1] == '.')
                name[n - 1] = 0;
        return name;
}

static int status_name(const char *what, const struct config *c, const struct state *s, usec_t now, bool json, FILE *f) {
        _cleanup_free_ char *name = name_normalize(what);
        const struct group *group;
        bool any = false;
        struct json j;

        if (!name) {
                log_oom();
                return 1;
        }

        group = c ? config_find_group(c, name) : NULL;
        if (json) {
                json_begin(&j, f);
                json_string(&j, "name", name);
                json_string(&j, "kind", group ? "group" : "host");
                json_uint(&j, "now", now);
                json_open(&j, "groups", '[');
        }
        for (size_t i = 0; c && i < c->n_groups; i++) {
                const struct group *g = &c->groups[i];

                if (group ? g != group : !host_configured(g, name) && !host_snooped(c, g, name))
                        continue;
                if (json)
                        json_group(&j, c, g, s, group ? NULL : name, now);
                else
                        print_group(c, g, s, group ? NULL : name, now, f);
                any = true;
        }
        if (json) {
                json_close(&j, ']');
                json_bool(&j, "known", any);
                json_end(&j);
        } else if (!any)
                fprintf(f, "%s: no group or host of that name in %s\n", name, c ? c->path : "the configuration");
        return any ? 0 : 1;
}

int status_query(const char *what, const struct config *c, const struct state *s, usec_t now, bool json, FILE *f) {
        struct ip_addr a;

        if (addr_parse(what, &a) >= 0) {
                if (a.prefixlen != (a.family == AF_INET ? 32 : 128)) {
                        log_error("--status takes one address, not a prefix: %s", what);
                        return 1;
                }
                return status_address(what, &a, c, s, now, json, f);
        }
        return status_name(what, c, s, now, json, f);
}

/* ---- reading only what a query shows ---- */

/* The records one query shows: those of one address, of one group or of one host (in any
 * group). Nothing set: every record. */
struct status_filter {
        const struct ip_addr *addr;
        const char *group;
        const char *host;
        bool none;
};

static bool filter_address(const struct state_address *a, void *userdata) {
        const struct status_filter *q = userdata;

        return !q->none && (!q->addr || addr_compare(&a->addr, q->addr) == 0) &&
               (!q->group || streq(a->group, q->group)) && (!q->host || streq(a->host, q->host));
}

static bool filter_host(const struct state_host *h, void *userdata) {
        const struct status_filter *q = userdata;

        /* status_address() shows no host records. */
        return !q->none && !q->addr && (!q->group || streq(h->group, q->group)) && (!q->host || streq(h->host, q->host));
}

int status_load(const char *path, const char *what, const struct config *c, struct state **ret) {
        _cleanup_free_ char *name = NULL;
        struct status_filter q = {};
        struct ip_addr a;

        /* The same choice as status_query(): an address, else a group's name, else a host's. */
        if (what && addr_parse(what, &a) >= 0) {
                q.addr = &a;
                /* A prefix is refused by status_query(); nothing to read for it. */
                q.none = a.prefixlen != (a.family == AF_INET ? 32 : 128);
        } else if (what) {
                name = name_normalize(what);
                if (!name)
                        return -ENOMEM;
                if (c && config_find_group(c, name))
                        q.group = name;
                else
                        q.host = name;
        }
        return state_load_filtered(path, &(struct state_filter) {
                .keep_address = filter_address, .keep_host = filter_host, .userdata = &q }, ret);
}
