/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Drives the nft module from a small spec file, for the integration tests and the benchmark.
 *
 *   nft-driver apply SPEC...       apply each spec in turn in one process (one nft_apply each);
 *                                  an argument sleep=N waits N seconds in between (msleep=N
 *                                  milliseconds), run=CMD runs
 *                                  a shell command (someone else's change) in between; goes on
 *                                  after a failure, exit status 1 if any failed
 *   nft-driver force SPEC          apply with force
 *   nft-driver script SPEC         print the --dry-run script
 *   nft-driver queue FAMILY TABLE QUEUE auto|expression|target [SERVER...]  install the
 *                                  snooping chains (nft_queue_install(), or one form only);
 *                                  prints "installed: KIND" or the error
 *   nft-driver queue-remove FAMILY TABLE  remove them (nft_queue_remove())
 *   nft-driver generation -        print the ruleset generation id (to count transactions)
 *   nft-driver kick-on-generation PID  print "ready", then SIGUSR1 PID as soon as the generation
 *                                  moves (someone else's commit has begun)
 *   nft-driver remove SPEC [run=CMD...]  apply, run the commands, nft_remove
 *   nft-driver monitor SPEC SECS [SPEC2]  apply, then re-apply with force on every foreign
 *                                  change; on SIGUSR1 apply SPEC2 instead (a reload)
 *   nft-driver bench SPEC RUNS [monitor|fresh]  apply RUNS times (expiries moved each time),
 *                                  print the median in ms; with monitor, while subscribed to
 *                                  events; with fresh, each time into an empty ruleset from a new
 *                                  handle (a first start: the sets are created)
 *   nft-driver enobufs SPEC        apply with the batch socket's receive buffer shrunk so that
 *                                  ACKs are lost (ENOBUFS), then twice more with it restored
 *   nft-driver bench-delta SPEC_A SPEC_B RUNS  apply A, then B and A in turn RUNS times (each a
 *                                  difference), then A with force RUNS times (each a refill);
 *                                  prints the medians: "delta MS BYTES refill MS BYTES"
 *   nft-driver async SPEC_A SPEC_B COUNT [sync]  COUNT transactions on an event loop, A and B in
 *                                  turn, each started when the previous one's callback came
 *                                  (nft_apply_async(); with sync, nft_apply() from a timer); a
 *                                  5 ms timer counts its ticks while a transaction is in flight;
 *                                  prints "committed N failed F ticks T longest MS blocked MS
 *                                  total MS" (blocked: the longest call to nft_apply_async();
 *                                  total: the time transactions were in flight after
 *                                  that call returned)
 * Environment: NFT_DRIVER_UPDATE=replace or in-place chooses how lifetimes are extended instead
 * of what the kernel's version says; NFT_DRIVER_STATS=1 prints after each committed apply
 * "stats: bytes=B added=A deleted=D updated=U refilled=R".
 * Objects let go of but not deleted are printed as "leftover: OBJECT: HINT: strerror", as the
 * daemon logs them.
 *
 * Spec lines:
 *   table inet|ip|ip6 NAME
 *   chain NAME | chain -
 *   group NAME [families=both|v4|v6] [interval=0|1] [comment=TEXT TO END OF LINE]
 *   elem NAME ADDR[/LEN] SECONDS|- [COMMENT] (seconds to expiry, - for static; the element's
 *                                           comment, to the end of the line)
 *   range NAME FIRST-IPV4 COUNT SECONDS|-   (COUNT consecutive IPv4 addresses)
 *   allow NAME tcp|udp PORT|FIRST-LAST...
 * Errors are printed as the daemon logs them: "OBJECT: HINT: strerror". */
#include <arpa/inet.h>
#include <limits.h>
#include <linux/netfilter.h>
#include <signal.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "nft-internal.h" /* enobufs: the batch socket */
#include "nft.h"

#define MAX_GROUPS 64

struct spec_group {
        struct nft_group g;
        char name[GROUP_NAME_MAX + 1];
        char comment[512];
        struct nft_element *v4, *v6;
        size_t n_v4, n_v6, a_v4, a_v6;
        struct port_range allow[64];
        /* seconds to expiry, parallel to v4/v6 (UINT64_MAX: static) */
        uint64_t *s4, *s6;
        size_t a_s4, a_s6;
};

struct spec {
        int family;
        char table[64], chain[64];
        bool has_chain;
        struct spec_group groups[MAX_GROUPS];
        struct nft_group flat[MAX_GROUPS];
        size_t n_groups;
};

static void die(const char *what) {
        fprintf(stderr, "nft-driver: %s\n", what);
        exit(2);
}

static struct spec_group *find_group(struct spec *s, const char *name) {
        for (size_t i = 0; i < s->n_groups; i++)
                if (streq(s->groups[i].name, name))
                        return &s->groups[i];
        die("unknown group");
        return NULL;
}

static void add_element(struct spec_group *g, const struct ip_addr *a, uint64_t secs, const char *comment) {
        bool v4 = a->family == AF_INET;
        struct nft_element **e = v4 ? &g->v4 : &g->v6;
        uint64_t **sv = v4 ? &g->s4 : &g->s6;
        size_t *n = v4 ? &g->n_v4 : &g->n_v6;

        if (grow_array((void **) e, v4 ? &g->a_v4 : &g->a_v6, *n + 1, sizeof(**e)) < 0 ||
            grow_array((void **) sv, v4 ? &g->a_s4 : &g->a_s6, *n + 1, sizeof(**sv)) < 0)
                die("out of memory");
        (*e)[*n] = (struct nft_element) { .addr = *a };
        (*sv)[*n] = secs;
        if (comment && !((*e)[*n].comment = strdup(comment)))
                die("out of memory");
        (*n)++;
}

static uint64_t parse_secs(const char *s) {
        if (streq(s, "-"))
                return UINT64_MAX;
        return strtoull(s, NULL, 10);
}

static void parse_addr(const char *text, struct ip_addr *ret) {
        char buf[128], *slash;
        struct ip_addr a = { 0 };

        snprintf(buf, sizeof(buf), "%s", text);
        slash = strchr(buf, '/');
        if (slash)
                *slash++ = 0;
        if (inet_pton(AF_INET, buf, a.u.bytes) == 1)
                a.family = AF_INET, a.prefixlen = 32;
        else if (inet_pton(AF_INET6, buf, a.u.bytes) == 1)
                a.family = AF_INET6, a.prefixlen = 128;
        else
                die("bad address");
        if (slash)
                a.prefixlen = (uint8_t) atoi(slash);
        *ret = a;
}

static void parse_spec(const char *path, struct spec *s) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        char line[1024];

        if (!f)
                die("cannot open spec");
        memset(s, 0, sizeof(*s));
        s->family = NFPROTO_INET;
        snprintf(s->table, sizeof(s->table), "allowlistd");
        while (fgets(line, sizeof(line), f)) {
                char *save = NULL, *kw, *name, *rest;

                line[strcspn(line, "\n")] = 0;
                kw = strtok_r(line, " ", &save);
                if (!kw || kw[0] == '#')
                        continue;
                if (streq(kw, "table")) {
                        const char *fam = strtok_r(NULL, " ", &save);
                        s->family = streq(fam, "ip") ? NFPROTO_IPV4 : streq(fam, "ip6") ? NFPROTO_IPV6 : NFPROTO_INET;
                        snprintf(s->table, sizeof(s->table), "%s", strtok_r(NULL, " ", &save));
                        continue;
                }
                if (streq(kw, "chain")) {
                        name = strtok_r(NULL, " ", &save);
                        s->has_chain = !streq(name, "-");
                        snprintf(s->chain, sizeof(s->chain), "%s", name);
                        continue;
                }
                name = strtok_r(NULL, " ", &save);
                if (!name)
                        die("missing group name");
                if (streq(kw, "group")) {
                        struct spec_group *g;
                        if (s->n_groups == MAX_GROUPS)
                                die("too many groups");
                        g = &s->groups[s->n_groups++];
                        snprintf(g->name, sizeof(g->name), "%s", name);
                        g->g.families = FAMILY_BOTH;
                        while ((rest = strtok_r(NULL, " ", &save))) {
                                if (strncmp(rest, "families=", 9) == 0)
                                        g->g.families = streq(rest + 9, "v4") ? FAMILY_IPV4 :
                                                        streq(rest + 9, "v6") ? FAMILY_IPV6 : FAMILY_BOTH;
                                else if (strncmp(rest, "interval=", 9) == 0)
                                        g->g.interval = atoi(rest + 9) != 0;
                                else if (strncmp(rest, "comment=", 8) == 0) {
                                        /* the rest of the line, spaces included */
                                        snprintf(g->comment, sizeof(g->comment), "%s%s%s", rest + 8,
                                                 save && *save ? " " : "", save ? save : "");
                                        break;
                                }
                        }
                } else if (streq(kw, "elem")) {
                        struct ip_addr a;
                        uint64_t secs;
                        parse_addr(strtok_r(NULL, " ", &save), &a);
                        secs = parse_secs(strtok_r(NULL, " ", &save));
                        add_element(find_group(s, name), &a, secs, save && *save ? save : NULL);
                } else if (streq(kw, "range")) {
                        struct ip_addr a;
                        uint32_t first;
                        unsigned long count;
                        uint64_t secs;
                        parse_addr(strtok_r(NULL, " ", &save), &a);
                        count = strtoul(strtok_r(NULL, " ", &save), NULL, 10);
                        secs = parse_secs(strtok_r(NULL, " ", &save));
                        memcpy(&first, a.u.bytes, 4);
                        for (unsigned long i = 0; i < count; i++) {
                                uint32_t v = htonl(ntohl(first) + (uint32_t) i);
                                memcpy(a.u.bytes, &v, 4);
                                add_element(find_group(s, name), &a, secs, NULL);
                        }
                } else if (streq(kw, "allow")) {
                        struct spec_group *g = find_group(s, name);
                        const char *proto = strtok_r(NULL, " ", &save);
                        while ((rest = strtok_r(NULL, " ", &save)) && g->g.n_allow < ELEMENTSOF(g->allow)) {
                                struct port_range *p = &g->allow[g->g.n_allow++];
                                char *dash = strchr(rest, '-');
                                p->proto = streq(proto, "udp") ? IPPROTO_UDP : IPPROTO_TCP;
                                p->first = (uint16_t) atoi(rest);
                                p->last = dash ? (uint16_t) atoi(dash + 1) : p->first;
                        }
                } else
                        die("unknown spec line");
        }
}

/* Fills in expiries relative to now and the flat group array the ruleset points to. */
static void spec_ruleset(struct spec *s, usec_t now, usec_t shift, struct nft_ruleset *ret) {
        for (size_t i = 0; i < s->n_groups; i++) {
                struct spec_group *g = &s->groups[i];
                for (size_t j = 0; j < g->n_v4; j++)
                        g->v4[j].expiry = g->s4[j] == UINT64_MAX ? USEC_INFINITY : now + shift + g->s4[j] * USEC_PER_SEC;
                for (size_t j = 0; j < g->n_v6; j++)
                        g->v6[j].expiry = g->s6[j] == UINT64_MAX ? USEC_INFINITY : now + shift + g->s6[j] * USEC_PER_SEC;
                g->g.name = g->name;
                g->g.comment = g->comment[0] ? g->comment : NULL;
                g->g.v4 = g->v4;
                g->g.v6 = g->v6;
                g->g.n_v4 = g->n_v4;
                g->g.n_v6 = g->n_v6;
                g->g.allow = g->allow;
                s->flat[i] = g->g;
        }
        *ret = (struct nft_ruleset) {
                .family = s->family,
                .table = s->table,
                .chain = s->has_chain ? s->chain : NULL,
                .groups = s->flat,
                .n_groups = s->n_groups,
        };
}

static void spec_free(struct spec *s) {
        for (size_t i = 0; i < s->n_groups; i++) {
                for (size_t j = 0; j < s->groups[i].n_v4; j++)
                        free((char *) s->groups[i].v4[j].comment);
                for (size_t j = 0; j < s->groups[i].n_v6; j++)
                        free((char *) s->groups[i].v6[j].comment);
                free(s->groups[i].v4);
                free(s->groups[i].v6);
                free(s->groups[i].s4);
                free(s->groups[i].s6);
        }
}

static struct nft *driver_nft; /* for the statistics */

static int report(int r, const struct nft_error *err) {
        const char *s = getenv("NFT_DRIVER_STATS");

        if (r < 0) {
                printf("error: %s: %s: %s\n", err->object, err->hint, strerror(-r));
                fflush(stdout);
        } else if (r > 0 && s && streq(s, "1") && driver_nft) {
                const struct nft_stats *st = &driver_nft->stats;
                printf("stats: bytes=%zu added=%zu deleted=%zu updated=%zu refilled=%zu\n", st->bytes, st->added,
                       st->deleted, st->updated, st->refilled);
                fflush(stdout);
        }
        return r;
}

static void on_leftover(struct nft *n, int error, const struct nft_error *what, void *userdata) {
        printf("leftover: %s: %s: %s\n", what->object, what->hint, strerror(-error));
        fflush(stdout);
}

/* Lost ACKs must not leave replies queued that later exchanges take for their own. */
static int run_enobufs(struct nft *n, struct spec *s) {
        struct nft_ruleset want;
        struct nft_error err;
        usec_t base = now_usec(CLOCK_BOOTTIME);
        int small = 1, r, failed = 0;

        /* As small as the kernel allows, and marked as big so that the module does not raise it. */
        if (setsockopt(mnl_socket_get_fd(n->nl), SOL_SOCKET, SO_RCVBUFFORCE, &small, sizeof(small)) < 0)
                return -errno;
        n->rcvbuf = INT_MAX / 2;
        for (int i = 0; i < 3; i++) {
                if (i == 1)
                        n->rcvbuf = 0;
                spec_ruleset(s, base, 0, &want);
                r = report(nft_apply(n, &want, now_usec(CLOCK_BOOTTIME), false, &err), &err);
                if (r >= 0)
                        printf("%s\n", r > 0 ? "committed" : "unchanged");
                fflush(stdout);
                failed += i > 0 && r < 0;
        }
        return failed ? -EIO : 0;
}

struct monitor_ctx {
        struct nft *n;
        struct spec *spec;
        const char *next_spec;
        unsigned restores;
};

/* SIGUSR1: the configuration changes (a reload): apply the second spec, without force. */
static int on_sigusr1(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct monitor_ctx *m = userdata;
        struct nft_ruleset want;
        struct nft_error err;
        int r;

        if (!m->next_spec)
                return 0;
        spec_free(m->spec);
        parse_spec(m->next_spec, m->spec);
        spec_ruleset(m->spec, now_usec(CLOCK_BOOTTIME), 0, &want);
        r = report(nft_apply(m->n, &want, now_usec(CLOCK_BOOTTIME), false, &err), &err);
        if (r >= 0)
                printf("reloaded: %s\n", r > 0 ? "committed" : "unchanged");
        fflush(stdout);
        return 0;
}

static void on_foreign_change(struct nft *n, void *userdata) {
        struct monitor_ctx *m = userdata;
        struct nft_ruleset want;
        struct nft_error err;
        int r;

        spec_ruleset(m->spec, now_usec(CLOCK_BOOTTIME), 0, &want);
        r = report(nft_apply(n, &want, now_usec(CLOCK_BOOTTIME), true, &err), &err);
        printf("restored after a foreign change: %s\n", r >= 0 ? "ok" : "failed");
        fflush(stdout);
        m->restores++;
}

static int run_monitor(struct nft *n, struct spec *s, unsigned seconds, const char *next_spec) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        struct monitor_ctx m = { .n = n, .spec = s, .next_spec = next_spec };
        struct nft_ruleset want;
        struct nft_error err;
        int r;

        r = sd_event_default(&e);
        if (r < 0)
                return r;
        spec_ruleset(s, now_usec(CLOCK_BOOTTIME), 0, &want);
        r = report(nft_apply(n, &want, now_usec(CLOCK_BOOTTIME), false, &err), &err);
        if (r < 0)
                return r;
        r = nft_monitor_start(n, e, on_foreign_change, &m);
        if (r < 0)
                return r;
        /* Our own applies must not come back as foreign changes. */
        spec_ruleset(s, now_usec(CLOCK_BOOTTIME), 0, &want);
        r = report(nft_apply(n, &want, now_usec(CLOCK_BOOTTIME), true, &err), &err);
        if (r < 0)
                return r;
        printf("monitoring\n");
        fflush(stdout);
        r = sd_event_add_time_relative(e, NULL, CLOCK_MONOTONIC, seconds * USEC_PER_SEC, 0, NULL, NULL);
        if (r < 0)
                return r;
        {
                sigset_t mask;
                sigemptyset(&mask);
                sigaddset(&mask, SIGTERM);
                sigaddset(&mask, SIGUSR1);
                if (sigprocmask(SIG_BLOCK, &mask, NULL) >= 0) {
                        (void) sd_event_add_signal(e, NULL, SIGTERM, NULL, NULL);
                        (void) sd_event_add_signal(e, NULL, SIGUSR1, on_sigusr1, &m);
                }
        }
        r = sd_event_loop(e);
        printf("restores: %u\n", m.restores);
        return r;
}

static int compare_usec(const void *a, const void *b) {
        usec_t x = *(const usec_t *) a, y = *(const usec_t *) b;
        return x < y ? -1 : x > y;
}

static int run_bench(struct nft *n, struct spec *s, unsigned runs, bool monitor, bool fresh) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_free_ usec_t *t = calloc(runs ? runs : 1, sizeof(usec_t));
        struct nft_ruleset want;
        struct nft_error err;
        int r;

        if (!t)
                return -ENOMEM;
        if (monitor) {
                r = sd_event_default(&e);
                if (r < 0)
                        return r;
                r = nft_monitor_start(n, e, NULL, NULL);
                if (r < 0)
                        return r;
        }
        for (unsigned i = 0; i < runs; i++) {
                _cleanup_(nft_freep) struct nft *fn = NULL;
                usec_t start, now;

                if (fresh) {
                        if (system("nft flush ruleset") != 0)
                                return -EIO;
                        r = nft_open(&fn);
                        if (r < 0)
                                return r;
                }
                start = now_usec(CLOCK_MONOTONIC);
                now = now_usec(CLOCK_BOOTTIME);
                /* Move every expiry so that every run sends the whole content. */
                spec_ruleset(s, now, (usec_t) (i + 1) * USEC_PER_SEC, &want);
                r = report(nft_apply(fn ?: n, &want, now, false, &err), &err);
                if (r < 0)
                        return r;
                t[i] = now_usec(CLOCK_MONOTONIC) - start;
                if (e)
                        (void) sd_event_run(e, 0); /* drain whatever events arrived */
        }
        qsort(t, runs, sizeof(*t), compare_usec);
        printf("%.2f\n", (double) t[runs / 2] / 1000.0);
        return 0;
}

struct async_ctx {
        struct nft *n;
        sd_event *e;
        struct spec *specs[2];
        unsigned left, committed, failed, ticks;
        bool sync, in_flight;
        usec_t base, started, longest, blocked, total;
};

static void async_next(struct async_ctx *c);

static void async_done(struct nft *n, int r, const struct nft_error *err, void *userdata) {
        struct async_ctx *c = userdata;
        usec_t took = now_usec(CLOCK_MONOTONIC) - c->started;

        c->in_flight = false;
        c->longest = MAX(c->longest, took);
        c->total += took;
        if (r < 0) {
                report(r, err);
                c->failed++;
        } else
                c->committed += r > 0;
        async_next(c);
}

static void async_next(struct async_ctx *c) {
        struct nft_ruleset want;
        struct nft_error err;
        int r;

        if (c->left == 0) {
                (void) sd_event_exit(c->e, 0);
                return;
        }
        spec_ruleset(c->specs[c->left-- % 2], c->base, 0, &want);
        c->started = now_usec(CLOCK_MONOTONIC);
        c->in_flight = true;
        if (c->sync) {
                r = nft_apply(c->n, &want, now_usec(CLOCK_BOOTTIME), false, &err);
                async_done(c->n, r, &err, c);
                return;
        }
        r = nft_apply_async(c->n, c->e, &want, now_usec(CLOCK_BOOTTIME), false, async_done, c, &err);
        c->blocked = MAX(c->blocked, now_usec(CLOCK_MONOTONIC) - c->started);
        /* In flight from here: what the call itself took, the loop could not tick in. */
        c->started = now_usec(CLOCK_MONOTONIC);
        if (r < 0)
                async_done(c->n, r, &err, c);
}

static int on_async_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        struct async_ctx *c = userdata;

        c->ticks += c->in_flight;
        return sd_event_source_set_time_relative(s, 5 * USEC_PER_MSEC);
}

static int on_async_start(sd_event_source *s, void *userdata) {
        async_next(userdata);
        return 0;
}

static int run_async(struct nft *n, struct spec *a, struct spec *b, unsigned count, bool sync) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        struct async_ctx c = { .n = n, .specs = { a, b }, .left = count, .sync = sync,
                               .base = now_usec(CLOCK_BOOTTIME) };
        sd_event_source *tick = NULL;
        int r;

        r = sd_event_new(&e);
        if (r < 0)
                return r;
        c.e = e;
        r = sd_event_add_time_relative(e, &tick, CLOCK_MONOTONIC, 5 * USEC_PER_MSEC, 1, on_async_tick, &c);
        if (r >= 0)
                r = sd_event_source_set_enabled(tick, SD_EVENT_ON);
        if (r >= 0)
                r = sd_event_add_defer(e, NULL, on_async_start, &c);
        if (r >= 0)
                r = sd_event_loop(e);
        sd_event_source_disable_unref(tick);
        printf("committed %u failed %u ticks %u longest %.1f blocked %.1f total %.1f\n", c.committed, c.failed,
               c.ticks, (double) c.longest / 1000.0, (double) c.blocked / 1000.0, (double) c.total / 1000.0);
        return r < 0 ? r : c.failed ? -EIO : 0;
}

/* One changed element in a big set: the difference against a full refill of the same set. */
static int run_bench_delta(struct nft *n, struct spec *a, struct spec *b, unsigned runs) {
        _cleanup_free_ usec_t *td = calloc(runs ? runs : 1, sizeof(usec_t));
        _cleanup_free_ usec_t *tr = calloc(runs ? runs : 1, sizeof(usec_t));
        _cleanup_free_ usec_t *bd = calloc(runs ? runs : 1, sizeof(usec_t));
        _cleanup_free_ usec_t *br = calloc(runs ? runs : 1, sizeof(usec_t));
        usec_t base = now_usec(CLOCK_BOOTTIME);
        struct nft_ruleset want;
        struct nft_error err;
        int r;

        if (!td || !tr || !bd || !br || runs == 0)
                return -ENOMEM;
        spec_ruleset(a, base, 0, &want);
        r = report(nft_apply(n, &want, now_usec(CLOCK_BOOTTIME), false, &err), &err);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < 2 * runs; i++) {
                bool refill = i >= runs;
                struct spec *s = refill ? a : (i % 2 == 0 ? b : a);
                usec_t start, now = now_usec(CLOCK_BOOTTIME);

                spec_ruleset(s, base, 0, &want);
                start = now_usec(CLOCK_MONOTONIC);
                r = report(nft_apply(n, &want, now, refill, &err), &err);
                if (r < 0)
                        return r;
                (refill ? tr : td)[i % runs] = now_usec(CLOCK_MONOTONIC) - start;
                (refill ? br : bd)[i % runs] = n->stats.bytes;
        }
        qsort(td, runs, sizeof(*td), compare_usec);
        qsort(tr, runs, sizeof(*tr), compare_usec);
        qsort(bd, runs, sizeof(*bd), compare_usec);
        qsort(br, runs, sizeof(*br), compare_usec);
        printf("delta %.3f %" PRIu64 " refill %.3f %" PRIu64 "\n", (double) td[runs / 2] / 1000.0, bd[runs / 2],
               (double) tr[runs / 2] / 1000.0, br[runs / 2]);
        return 0;
}

static int gen_cb(const struct nlmsghdr *nlh, void *data) {
        const struct nlattr *a;

        mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
                if (mnl_attr_get_type(a) == NFTA_GEN_ID)
                        *(uint32_t *) data = ntohl(mnl_attr_get_u32(a));
        return MNL_CB_OK;
}

/* NFT_MSG_GETGEN with plain libmnl: the module keeps its own copy private. */
/* Reads the ruleset generation id through nl. */
static int read_generation(struct mnl_socket *nl, uint32_t *ret) {
        static char buf[16384];
        static uint32_t seq;
        struct nlmsghdr *nlh;
        struct nfgenmsg *g;
        uint32_t id = 0;
        ssize_t k;
        int r = -EIO;

        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
        nlh->nlmsg_seq = ++seq;
        g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
        g->nfgen_family = AF_UNSPEC;
        g->version = NFNETLINK_V0;
        if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
                return -EIO;
        while ((k = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0) {
                r = mnl_cb_run(buf, (size_t) k, seq, mnl_socket_get_portid(nl), gen_cb, &id);
                if (r <= MNL_CB_STOP)
                        break;
        }
        if (r != MNL_CB_STOP)
                return -EIO;
        *ret = id;
        return 0;
}

/* generation: prints the id. kick-on-generation PID: prints "ready", then sends PID SIGUSR1 the
 * moment the generation moves, i.e. as soon as someone else's commit has begun (the kernel moves
 * the generation at the start of a commit and reports it only at the end). */
static int generation_mode(pid_t kick) {
        struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
        uint32_t g0, g;
        int r = -EIO;

        if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 || read_generation(nl, &g0) < 0)
                goto finish;
        if (kick <= 0) {
                printf("%" PRIu32 "\n", g0);
                r = 0;
                goto finish;
        }
        printf("ready\n");
        fflush(stdout);
        do
                if (read_generation(nl, &g) < 0)
                        goto finish;
        while (g == g0);
        r = kill(kick, SIGUSR1) < 0 ? -errno : 0;
finish:
        if (nl)
                mnl_socket_close(nl);
        return r;
}

/* queue FAMILY TABLE QUEUE auto|expression|target [SERVER...], queue-remove FAMILY TABLE. */
static int queue_mode(int argc, char **argv) {
        struct ip_addr servers[8];
        struct nft_queue_spec spec = { 0 };
        enum nft_queue_kind kind = NFT_QUEUE_EXPRESSION;
        struct nft_error err;
        int r;

        if (argc < 2)
                die("usage: nft-driver queue FAMILY TABLE QUEUE auto|expression|target [SERVER...]");
        spec.family = streq(argv[0], "ip") ? NFPROTO_IPV4 : streq(argv[0], "ip6") ? NFPROTO_IPV6 : NFPROTO_INET;
        spec.table = argv[1];
        if (argc == 2)
                return report(nft_queue_remove(spec.family, spec.table, &err), &err);
        if (argc < 4 || argc - 4 > (int) ELEMENTSOF(servers))
                die("usage: nft-driver queue FAMILY TABLE QUEUE auto|expression|target [SERVER...]");
        spec.queue = (uint16_t) atoi(argv[2]);
        for (int i = 4; i < argc; i++)
                if (addr_parse(argv[i], &servers[spec.n_servers++]) < 0)
                        die("bad server address");
        spec.servers = servers;
        if (streq(argv[3], "auto"))
                r = nft_queue_install(&spec, &kind, &err);
        else {
                kind = streq(argv[3], "target") ? NFT_QUEUE_XT_TARGET : NFT_QUEUE_EXPRESSION;
                r = nft_queue_install_kind(&spec, kind, &err);
        }
        r = report(r, &err);
        if (r >= 0)
                printf("installed: %s\n", nft_queue_kind_to_string(kind));
        return r;
}

int main(int argc, char *argv[]) {
        _cleanup_(nft_freep) struct nft *n = NULL;
        static struct spec s;
        struct nft_ruleset want;
        struct nft_error err;
        const char *mode;
        int r = 0;

        if (argc < 3)
                die("usage: nft-driver apply|force|script|remove|monitor|bench SPEC...");
        mode = argv[1];
        if (streq(mode, "generation"))
                return generation_mode(0) < 0 ? 1 : 0;
        if (streq(mode, "kick-on-generation"))
                return generation_mode((pid_t) atoi(argv[2])) < 0 ? 1 : 0;
        if (streq(mode, "script")) {
                parse_spec(argv[2], &s);
                spec_ruleset(&s, now_usec(CLOCK_BOOTTIME), 0, &want);
                r = nft_write_script(stdout, &want, now_usec(CLOCK_BOOTTIME));
                spec_free(&s);
                return r < 0 ? 1 : 0;
        }

        if (streq(mode, "queue") || streq(mode, "queue-remove"))
                return queue_mode(argc - 2, argv + 2) < 0 ? 1 : 0;

        r = nft_open(&n);
        if (r < 0) {
                printf("error: netlink socket: %s\n", strerror(-r));
                return 1;
        }
        nft_set_leftover_callback(n, on_leftover, NULL);
        driver_nft = n;
        {
                const char *u = getenv("NFT_DRIVER_UPDATE");
                if (u && streq(u, "replace"))
                        n->update_in_place = false;
                else if (u && streq(u, "in-place"))
                        n->update_in_place = true;
        }
        if (streq(mode, "apply") || streq(mode, "force")) {
                /* Expiries count from the start, so the same spec twice is the same content
                 * and its timeouts shrink from one apply to the next. */
                usec_t base = now_usec(CLOCK_BOOTTIME);
                bool failed = false;
                for (int i = 2; i < argc; i++) {
                        usec_t now;
                        if (strncmp(argv[i], "sleep=", 6) == 0) {
                                sleep((unsigned) atoi(argv[i] + 6));
                                continue;
                        }
                        if (strncmp(argv[i], "msleep=", 7) == 0) {
                                usleep((useconds_t) atoi(argv[i] + 7) * 1000);
                                continue;
                        }
                        if (strncmp(argv[i], "run=", 4) == 0) {
                                fflush(stdout);
                                if (system(argv[i] + 4) != 0)
                                        die("run= command failed");
                                continue;
                        }
                        now = now_usec(CLOCK_BOOTTIME);
                        spec_free(&s);
                        parse_spec(argv[i], &s);
                        spec_ruleset(&s, base, 0, &want);
                        r = report(nft_apply(n, &want, now, streq(mode, "force"), &err), &err);
                        if (r >= 0)
                                printf("%s\n", r > 0 ? "committed" : "unchanged");
                        failed = failed || r < 0;
                }
                r = failed ? -EIO : 0;
        } else if (streq(mode, "remove")) {
                parse_spec(argv[2], &s);
                spec_ruleset(&s, now_usec(CLOCK_BOOTTIME), 0, &want);
                r = report(nft_apply(n, &want, now_usec(CLOCK_BOOTTIME), false, &err), &err);
                for (int i = 3; r >= 0 && i < argc; i++)
                        if (strncmp(argv[i], "run=", 4) != 0 || system(argv[i] + 4) != 0)
                                die("run= command failed");
                if (r >= 0)
                        r = report(nft_remove(n, &want, &err), &err);
        } else if (streq(mode, "monitor") && argc >= 4) {
                parse_spec(argv[2], &s);
                r = run_monitor(n, &s, (unsigned) atoi(argv[3]), argc >= 5 ? argv[4] : NULL);
        } else if (streq(mode, "enobufs")) {
                parse_spec(argv[2], &s);
                r = run_enobufs(n, &s);
        } else if (streq(mode, "async") && argc >= 5) {
                static struct spec s2;
                parse_spec(argv[2], &s);
                parse_spec(argv[3], &s2);
                r = run_async(n, &s, &s2, (unsigned) atoi(argv[4]), argc >= 6 && streq(argv[5], "sync"));
                spec_free(&s2);
        } else if (streq(mode, "bench-delta") && argc >= 5) {
                static struct spec s2;
                parse_spec(argv[2], &s);
                parse_spec(argv[3], &s2);
                r = run_bench_delta(n, &s, &s2, (unsigned) atoi(argv[4]));
                spec_free(&s2);
        } else if (streq(mode, "bench") && argc >= 4) {
                parse_spec(argv[2], &s);
                r = run_bench(n, &s, (unsigned) atoi(argv[3]), argc >= 5 && streq(argv[4], "monitor"),
                              argc >= 5 && streq(argv[4], "fresh"));
        } else
                die("unknown mode");
        spec_free(&s);
        return r < 0 ? 1 : 0;
}
