/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What one write of the metrics file costs during a large outage: every host of a group failing
 * and every address near its expiry, so the "expiring" gauge looks up the host of each address.
 * Prints, side by side for growing groups, the median of manager_collect_metrics() and of the
 * earlier way (a walk over the group's hosts per address), per address. Not a test: it asserts
 * only that both count the same, never how fast. */
#include <arpa/inet.h>
#include <time.h>

#include "bench-util.h"
#include "manager-internal.h"
#include "schedule.h"

#define RUNS 7
#define ADDRS_PER_HOST 4
/* Short, so that "now" on CLOCK_BOOTTIME lies a whole validity after the boot. */
#define VALIDITY (10 * USEC_PER_MINUTE)

/* The "expiring" figure the way it was counted before: a walk over the hosts per address. */
static size_t expiring_by_walk(struct group_state *g, usec_t now) {
        const struct ledger_entry *e;
        size_t n, expiring = 0;

        e = ledger_entries(g->ledger, &n);
        for (size_t j = 0; j < n; j++) {
                struct host *h;

                if (!schedule_expiry_is_near(now, e[j].expiry, g->config->validity))
                        continue;
                h = group_find_host(g, ledger_host_name(g->ledger, e[j].host));
                if (h && h->failures > 0)
                        expiring++;
        }
        return expiring;
}

static void bench(size_t n_hosts) {
        struct manager m = { 0 };
        struct metrics *mt = NULL;
        char *text = NULL, *out = NULL;
        size_t size = 0, out_size = 0;
        FILE *f;
        usec_t now = now_usec(CLOCK_BOOTTIME), seen;
        double t_new[RUNS], t_old[RUNS];
        size_t walked = 0;
        char want[128];

        /* Seen 95% of a validity ago: in the last tenth, near expiry. */
        CHECK(now > VALIDITY);
        seen = now - VALIDITY / 100 * 95;
        f = open_memstream(&text, &size);
        CHECK(f);
        fprintf(f, "[g]\nvalidity = 10m\nhosts =");
        for (size_t i = 0; i < n_hosts; i++)
                fprintf(f, "%sh%zu.example.com\n", i == 0 ? " " : "\t", i);
        CHECK(fclose(f) == 0);
        CHECK(config_load_string(text, "bench", &m.config) >= 0);
        CHECK(m.config->groups[0].validity == VALIDITY);
        CHECK(prioq_new(host_compare_refresh, &m.refresh_queue) >= 0);
        CHECK(groups_new(&m, m.config, &m.groups, &m.n_groups) >= 0);
        CHECK(metrics_new(NULL, NULL, manager_collect_metrics, &m, &mt) >= 0);

        for (size_t i = 0; i < n_hosts; i++) {
                struct group_state *g = &m.groups[0];
                struct ip_addr a[ADDRS_PER_HOST];

                for (size_t k = 0; k < ADDRS_PER_HOST; k++) {
                        uint32_t v = htonl(0x0b000000u + (uint32_t) (i * ADDRS_PER_HOST + k));
                        a[k] = addr_make(AF_INET, &v);
                }
                CHECK(ledger_record(g->ledger, g->hosts[i].name, a, ADDRS_PER_HOST, seen, VALIDITY, NULL, NULL) ==
                      ADDRS_PER_HOST);
                g->hosts[i].failures = 1;
        }

        for (int r = 0; r < RUNS; r++) {
                double t0;

                f = open_memstream(&out, &out_size);
                CHECK(f);
                t0 = now_ms();
                CHECK(metrics_write_text(mt, f) == 0);
                t_new[r] = now_ms() - t0;
                CHECK(fclose(f) == 0);
                /* Both ways count every address. */
                snprintf(want, sizeof(want), "allowlistd_addresses_expiring_while_failing{group=\"g\"} %zu\n",
                         n_hosts * ADDRS_PER_HOST);
                if (!strstr(out, want))
                        fputs(out, stderr);
                CHECK(strstr(out, want));
                free(out);
                out = NULL;

                t0 = now_ms();
                walked = expiring_by_walk(&m.groups[0], now_usec(CLOCK_BOOTTIME));
                t_old[r] = now_ms() - t0;
                CHECK(walked == n_hosts * ADDRS_PER_HOST);
        }
        printf("%6zu hosts, %6zu addresses near expiry: metrics write %8.2f ms (%6.3f us/address, whole file); "
               "walk per address %9.2f ms (%7.3f us/address, the count alone); ratio %.0fx\n",
               n_hosts, walked, median(t_new, RUNS), median(t_new, RUNS) * 1e3 / (double) walked,
               median(t_old, RUNS), median(t_old, RUNS) * 1e3 / (double) walked,
               median(t_old, RUNS) / median(t_new, RUNS));

        metrics_free(mt);
        groups_free(m.groups, m.n_groups);
        prioq_free(m.refresh_queue);
        config_free(m.config);
        free(text);
}

int main(void) {
        bench(1000);
        bench(3000);
        bench(10000);
        return 0;
}
