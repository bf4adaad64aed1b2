/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "metrics.h"
#include "paths.h"
#include "test-util.h"

static void collect(struct metrics *m, void *userdata) {
        ASSERT_EQ(0, metrics_add_group(m, "ga", 3, 1, 0));
        ASSERT_EQ(0, metrics_add_group(m, "gb", 1, 0, 1));
        ASSERT_EQ(0, metrics_add_host(m, "ga", "a.example", 1700000000123456, 0));
        ASSERT_EQ(0, metrics_add_host(m, "gb", "we\"ird\\", 0, 4));
}

/* The caller's buffer: open_memstream() writes through these pointers until fclose(). */
static void text(struct metrics *m, char **s, size_t *n) {
        FILE *f = open_memstream(s, n);

        ASSERT_TRUE(f);
        ASSERT_EQ(0, metrics_write_text(m, f));
        ASSERT_EQ(0, fclose(f));
}

/* From the first line naming name to the end. */
static const char *from(const char *s, const char *name) {
        const char *p = strstr(s, name);
        ASSERT_TRUE(p);
        while (p > s && p[-1] != '\n')
                p--;
        return p;
}

static void test_text(void) {
        struct metrics *m = NULL;
        struct nft_element v4[2] = { 0 }, v6[1] = { 0 };
        struct nft_group groups[] = {
                { .name = "ga", .families = FAMILY_BOTH, .v4 = v4, .n_v4 = 2, .v6 = v6, .n_v6 = 1 },
                { .name = "gb", .families = FAMILY_IPV4, .v4 = v4, .n_v4 = 1 },
        };
        struct nft_ruleset rs = { .table = "allowlistd", .groups = groups, .n_groups = 2 };
        char *s = NULL;
        size_t n = 0;

        ASSERT_EQ(0, metrics_new(NULL, NULL, collect, NULL, &m));
        metrics_count_lookup(m, METRICS_LOOKUP_OK);
        metrics_count_lookup(m, METRICS_LOOKUP_OK);
        metrics_count_lookup(m, METRICS_LOOKUP_TIMEOUT);
        metrics_count_added(m, 5);
        metrics_count_expired(m, 2);
        metrics_count_transaction(m, &rs, 1);
        metrics_count_transaction(m, &rs, 0);  /* nothing to send: no transaction */
        metrics_count_transaction(m, NULL, -EPERM);
        metrics_count_foreign_change(m);
        metrics_snoop_reply(m, true);
        metrics_snoop_reply(m, false);
        metrics_snoop_learned(m, 3);
        metrics_snoop_held(m, 1500);
        metrics_snoop_held(m, 2 * USEC_PER_SEC);
        metrics_snoop_released_on_bound(m);

        text(m, &s, &n);
        ASSERT_TRUE(strncmp(s, "# HELP allowlistd_build_info ", 29) == 0);
        ASSERT_TRUE(strstr(s, "\nallowlistd_build_info{version=\"" PACKAGE_VERSION "\"} 1\n"));
        ASSERT_STREQ(
"# HELP allowlistd_set_elements Elements of each nftables set, as of the last transaction that went through.\n"
"# TYPE allowlistd_set_elements gauge\n"
"allowlistd_set_elements{set=\"ga_v4\",group=\"ga\",family=\"ipv4\"} 2\n"
"allowlistd_set_elements{set=\"ga_v6\",group=\"ga\",family=\"ipv6\"} 1\n"
"allowlistd_set_elements{set=\"gb_v4\",group=\"gb\",family=\"ipv4\"} 1\n"
"# HELP allowlistd_addresses Addresses each group allows, static entries and DNS answers, by family.\n"
"# TYPE allowlistd_addresses gauge\n"
"allowlistd_addresses{group=\"ga\",family=\"ipv4\"} 3\n"
"allowlistd_addresses{group=\"ga\",family=\"ipv6\"} 1\n"
"allowlistd_addresses{group=\"gb\",family=\"ipv4\"} 1\n"
"allowlistd_addresses{group=\"gb\",family=\"ipv6\"} 0\n"
"# HELP allowlistd_addresses_expiring_while_failing Addresses in the last tenth of their validity while the host that brought them fails: about to lose access.\n"
"# TYPE allowlistd_addresses_expiring_while_failing gauge\n"
"allowlistd_addresses_expiring_while_failing{group=\"ga\"} 0\n"
"allowlistd_addresses_expiring_while_failing{group=\"gb\"} 1\n"
"# HELP allowlistd_addresses_added_total Addresses DNS brought that were new to their group.\n"
"# TYPE allowlistd_addresses_added_total counter\n"
"allowlistd_addresses_added_total 5\n"
"# HELP allowlistd_addresses_expired_total Addresses that left their group because their validity ran out.\n"
"# TYPE allowlistd_addresses_expired_total counter\n"
"allowlistd_addresses_expired_total 2\n"
"# HELP allowlistd_lookups_total DNS lookups of configured hosts, by result.\n"
"# TYPE allowlistd_lookups_total counter\n"
"allowlistd_lookups_total{result=\"ok\"} 2\n"
"allowlistd_lookups_total{result=\"nxdomain\"} 0\n"
"allowlistd_lookups_total{result=\"servfail\"} 0\n"
"allowlistd_lookups_total{result=\"timeout\"} 1\n"
"allowlistd_lookups_total{result=\"refused\"} 0\n"
"allowlistd_lookups_total{result=\"error\"} 0\n"
"# HELP allowlistd_host_last_success_timestamp_seconds When DNS last answered for the host, seconds since the epoch; 0 = never.\n"
"# TYPE allowlistd_host_last_success_timestamp_seconds gauge\n"
"allowlistd_host_last_success_timestamp_seconds{group=\"ga\",host=\"a.example\"} 1700000000.123456\n"
"allowlistd_host_last_success_timestamp_seconds{group=\"gb\",host=\"we\\\"ird\\\\\"} 0.000000\n"
"# HELP allowlistd_host_consecutive_failures Failed DNS lookups of the host since its last success.\n"
"# TYPE allowlistd_host_consecutive_failures gauge\n"
"allowlistd_host_consecutive_failures{group=\"ga\",host=\"a.example\"} 0\n"
"allowlistd_host_consecutive_failures{group=\"gb\",host=\"we\\\"ird\\\\\"} 4\n"
"# HELP allowlistd_nft_transactions_total nftables transactions committed.\n"
"# TYPE allowlistd_nft_transactions_total counter\n"
"allowlistd_nft_transactions_total 1\n"
"# HELP allowlistd_nft_transaction_errors_total nftables transactions the kernel refused (the previous allow-list stayed).\n"
"# TYPE allowlistd_nft_transaction_errors_total counter\n"
"allowlistd_nft_transaction_errors_total 1\n"
"# HELP allowlistd_nft_foreign_changes_total Changes by other programs to allowlistd's nftables objects, each put back by the next transaction.\n"
"# TYPE allowlistd_nft_foreign_changes_total counter\n"
"allowlistd_nft_foreign_changes_total 1\n"
"# HELP allowlistd_snoop_replies_total DNS replies seen by snooping.\n"
"# TYPE allowlistd_snoop_replies_total counter\n"
"allowlistd_snoop_replies_total 2\n"
"# HELP allowlistd_snoop_replies_matched_total Snooped DNS replies whose question matched a configured name.\n"
"# TYPE allowlistd_snoop_replies_matched_total counter\n"
"allowlistd_snoop_replies_matched_total 1\n"
"# HELP allowlistd_snoop_addresses_learned_total Addresses from snooped replies that were new to the allow-list.\n"
"# TYPE allowlistd_snoop_addresses_learned_total counter\n"
"allowlistd_snoop_addresses_learned_total 3\n"
"# HELP allowlistd_snoop_hold_seconds How long snooped replies were held until their addresses were in the kernel.\n"
"# TYPE allowlistd_snoop_hold_seconds summary\n"
"allowlistd_snoop_hold_seconds_sum 2.001500\n"
"allowlistd_snoop_hold_seconds_count 2\n"
"# HELP allowlistd_snoop_replies_released_on_bound_total Snooped replies released before their addresses were confirmed, because the hold bound ran out.\n"
"# TYPE allowlistd_snoop_replies_released_on_bound_total counter\n"
"allowlistd_snoop_replies_released_on_bound_total 1\n",
                from(s, "# HELP allowlistd_set_elements"));
        free(s);

        /* Without a path nothing is written, and that is no error. */
        ASSERT_EQ(0, metrics_flush(m));
        metrics_free(m);

        /* NULL: every call is a no-op (the daemon without metrics). */
        metrics_count_lookup(NULL, METRICS_LOOKUP_OK);
        metrics_count_transaction(NULL, &rs, 1);
        metrics_snoop_held(NULL, 1);
        ASSERT_EQ(0, metrics_flush(NULL));
}

static void test_lookup_result(void) {
        ASSERT_EQ(METRICS_LOOKUP_OK, metrics_lookup_result(&(struct resolver_result) { .error = 0 }));
        ASSERT_EQ(METRICS_LOOKUP_NXDOMAIN, metrics_lookup_result(&(struct resolver_result) { .error = 0, .nxdomain = true }));
        ASSERT_EQ(METRICS_LOOKUP_TIMEOUT, metrics_lookup_result(&(struct resolver_result) { .error = -ETIMEDOUT, .error_text = "timeout" }));
        ASSERT_EQ(METRICS_LOOKUP_SERVFAIL, metrics_lookup_result(&(struct resolver_result) { .error = -EIO, .error_text = "SERVFAIL" }));
        ASSERT_EQ(METRICS_LOOKUP_SERVFAIL, metrics_lookup_result(&(struct resolver_result) { .error = -EIO, .error_text = "SERVFAIL (AAAA)" }));
        ASSERT_EQ(METRICS_LOOKUP_REFUSED, metrics_lookup_result(&(struct resolver_result) { .error = -EACCES, .error_text = "REFUSED" }));
        ASSERT_EQ(METRICS_LOOKUP_REFUSED, metrics_lookup_result(&(struct resolver_result) { .error = -ECONNREFUSED }));
        ASSERT_EQ(METRICS_LOOKUP_ERROR, metrics_lookup_result(&(struct resolver_result) { .error = -EBADMSG }));
        ASSERT_EQ(METRICS_LOOKUP_ERROR, metrics_lookup_result(&(struct resolver_result) { .error = -EIO, .error_text = "weird" }));
}

int main(void) {
        test_text();
        test_lookup_result();
        return 0;
}
