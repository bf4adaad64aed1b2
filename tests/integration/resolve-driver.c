/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Runs the resolver module alone on an sd-event loop, for the integration tests and the
 * benchmark. Resolves every name given (arguments, or one per line from --file), then prints one
 * line per name, sorted by name:
 *
 *   NAME ok|fail nxdomain=0|1 ttl=SECONDS|none addrs=ADDR,ADDR,... [error=TEXT]
 *
 * addrs are sorted (IPv4 first) and empty when there are none; error= only on fail, and last
 * because its text may contain spaces. --summary prints one line with counts and the elapsed
 * time instead. Exit status: 0 when every result arrived (whatever it said), 1 otherwise. */
#include <getopt.h>
#include <time.h>

#include "config.h"
#include "log.h"
#include "resolver.h"

#define MAX_NAMES 100000

struct driver;

struct outcome {
        struct driver *driver;
        char *host;
        bool done;
        int error;
        char *error_text;
        bool nxdomain;
        usec_t min_ttl;
        struct ip_addr *addrs;
        size_t n_addrs;
};

struct driver {
        sd_event *event;
        struct resolver *resolver;
        struct outcome *outcomes;
        size_t n_outcomes, allocated_outcomes;
        size_t n_done;
        size_t free_after; /* 0: never */
        bool freed;
        size_t late_callbacks;
};

static void on_result(struct resolver *r, const struct resolver_result *res, void *userdata) {
        struct outcome *o = userdata;
        struct driver *d = o->driver;

        if (d->freed) {
                d->late_callbacks++;
                return;
        }
        if (o->done || !streq(o->host, res->host)) {
                fprintf(stderr, "callback for %s twice or for the wrong host (%s)\n", o->host, res->host);
                exit(EXIT_FAILURE);
        }
        o->done = true;
        o->error = res->error;
        o->error_text = res->error_text ? strdup(res->error_text) : NULL;
        o->nxdomain = res->nxdomain;
        o->min_ttl = res->min_ttl;
        if (res->n_addrs > 0) {
                o->addrs = calloc(res->n_addrs, sizeof(struct ip_addr));
                if (!o->addrs) {
                        fprintf(stderr, "out of memory\n");
                        exit(EXIT_FAILURE);
                }
                memcpy(o->addrs, res->addrs, res->n_addrs * sizeof(struct ip_addr));
                o->n_addrs = res->n_addrs;
                qsort(o->addrs, o->n_addrs, sizeof(struct ip_addr), addr_compare_qsort);
        }
        d->n_done++;

        if (d->free_after > 0 && d->n_done == d->free_after) {
                /* From inside the callback, with queries outstanding: nothing more may be
                 * reported, nothing may leak. */
                d->resolver = resolver_free(d->resolver);
                d->freed = true;
                sd_event_exit(d->event, 0);
                return;
        }
        if (d->n_done == d->n_outcomes)
                sd_event_exit(d->event, 0);
}

static int add_name(struct driver *d, const char *name) {
        int r;

        if (d->n_outcomes >= MAX_NAMES)
                return -E2BIG;
        r = grow_array((void **) &d->outcomes, &d->allocated_outcomes, d->n_outcomes + 1, sizeof(struct outcome));
        if (r < 0)
                return r;
        d->outcomes[d->n_outcomes] = (struct outcome) { .driver = d, .host = strdup(name) };
        if (!d->outcomes[d->n_outcomes].host)
                return -ENOMEM;
        d->n_outcomes++;
        return 0;
}

static int read_names(struct driver *d, const char *path) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        char line[512];

        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f)) {
                line[strcspn(line, " \t\r\n")] = 0;
                if (line[0] == 0 || line[0] == '#')
                        continue;
                int r = add_name(d, line);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int compare_outcomes(const void *a, const void *b) {
        const struct outcome *x = a, *y = b;
        return strcmp(x->host, y->host);
}

static void print_outcome(const struct outcome *o) {
        char buf[ADDR_STRLEN];

        printf("%s %s nxdomain=%i ", o->host, o->error < 0 ? "fail" : "ok", o->nxdomain);
        if (o->min_ttl == USEC_INFINITY)
                printf("ttl=none");
        else
                printf("ttl=%llu", (unsigned long long) (o->min_ttl / USEC_PER_SEC));
        printf(" addrs=");
        for (size_t i = 0; i < o->n_addrs; i++)
                printf("%s%s", i > 0 ? "," : "", addr_to_string(&o->addrs[i], buf));
        if (o->error < 0)
                printf(" error=%s", o->error_text ? o->error_text : "(null)");
        printf("\n");
}

static void help(void) {
        printf("resolve-driver [--servers CSV] [--family 4|6|both] [--file NAMES] [--summary]\n"
               "               [--free-after N] [NAME...]\n"
               "Without --servers, c-ares reads /etc/resolv.conf.\n");
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "servers", required_argument, NULL, 's' },
                { "family", required_argument, NULL, 'f' },
                { "file", required_argument, NULL, 'F' },
                { "summary", no_argument, NULL, 'S' },
                { "free-after", required_argument, NULL, 'x' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        struct driver d = {};
        const char *servers = NULL;
        unsigned families = FAMILY_BOTH;
        bool summary = false;
        usec_t start, elapsed;
        size_t n_ok = 0, n_fail = 0, n_addrs = 0;
        int c, r, ret = EXIT_FAILURE;

        log_open();
        while ((c = getopt_long(argc, argv, "s:f:F:Sx:h", options, NULL)) >= 0)
                switch (c) {
                case 's':
                        servers = optarg;
                        break;
                case 'f':
                        if (streq(optarg, "4"))
                                families = FAMILY_IPV4;
                        else if (streq(optarg, "6"))
                                families = FAMILY_IPV6;
                        else if (streq(optarg, "both"))
                                families = FAMILY_BOTH;
                        else {
                                fprintf(stderr, "bad --family %s\n", optarg);
                                return EXIT_FAILURE;
                        }
                        break;
                case 'F':
                        r = read_names(&d, optarg);
                        if (r < 0) {
                                fprintf(stderr, "cannot read %s: %s\n", optarg, strerror(-r));
                                return EXIT_FAILURE;
                        }
                        break;
                case 'S':
                        summary = true;
                        break;
                case 'x':
                        d.free_after = strtoul(optarg, NULL, 10);
                        break;
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                default:
                        return EXIT_FAILURE;
                }
        for (int i = optind; i < argc; i++)
                if (add_name(&d, argv[i]) < 0) {
                        fprintf(stderr, "out of memory\n");
                        return EXIT_FAILURE;
                }
        if (d.n_outcomes == 0) {
                help();
                return EXIT_FAILURE;
        }

        r = sd_event_new(&d.event);
        if (r < 0) {
                fprintf(stderr, "sd_event_new: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        r = resolver_new(d.event, servers, &d.resolver);
        if (r < 0) {
                fprintf(stderr, "resolver_new: %s\n", strerror(-r));
                goto finish;
        }

        start = now_usec(CLOCK_MONOTONIC);
        for (size_t i = 0; i < d.n_outcomes; i++) {
                r = resolver_query(d.resolver, d.outcomes[i].host, families, on_result, &d.outcomes[i]);
                if (r < 0) {
                        fprintf(stderr, "resolver_query(%s): %s\n", d.outcomes[i].host, strerror(-r));
                        goto finish;
                }
        }
        if (resolver_pending(d.resolver) != d.n_outcomes) {
                fprintf(stderr, "resolver_pending() = %zu, expected %zu\n",
                        resolver_pending(d.resolver), d.n_outcomes);
                goto finish;
        }
        r = sd_event_loop(d.event);
        elapsed = now_usec(CLOCK_MONOTONIC) - start;
        if (r < 0) {
                fprintf(stderr, "sd_event_loop: %s\n", strerror(-r));
                goto finish;
        }
        if (d.freed) {
                /* Give any wrongly surviving source a chance to fire. */
                for (int i = 0; i < 20; i++)
                        (void) sd_event_run(d.event, 50 * USEC_PER_MSEC);
                printf("freed after %zu of %zu, late callbacks: %zu\n", d.n_done, d.n_outcomes, d.late_callbacks);
                ret = d.late_callbacks == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
                goto finish;
        }
        if (resolver_pending(d.resolver) != 0) {
                fprintf(stderr, "resolver_pending() = %zu after all callbacks\n", resolver_pending(d.resolver));
                goto finish;
        }

        qsort(d.outcomes, d.n_outcomes, sizeof(struct outcome), compare_outcomes);
        for (size_t i = 0; i < d.n_outcomes; i++) {
                const struct outcome *o = &d.outcomes[i];
                if (o->error < 0)
                        n_fail++;
                else
                        n_ok++;
                n_addrs += o->n_addrs;
                if (!summary)
                        print_outcome(o);
        }
        if (summary)
                printf("names=%zu ok=%zu fail=%zu addresses=%zu elapsed_ms=%llu\n", d.n_outcomes, n_ok, n_fail,
                       n_addrs, (unsigned long long) (elapsed / USEC_PER_MSEC));
        fprintf(stderr, "elapsed_ms=%llu\n", (unsigned long long) (elapsed / USEC_PER_MSEC));
        ret = d.n_done == d.n_outcomes ? EXIT_SUCCESS : EXIT_FAILURE;

finish:
        resolver_free(d.resolver);
        sd_event_unref(d.event);
        for (size_t i = 0; i < d.n_outcomes; i++) {
                free(d.outcomes[i].host);
                free(d.outcomes[i].error_text);
                free(d.outcomes[i].addrs);
        }
        free(d.outcomes);
        return ret;
}
