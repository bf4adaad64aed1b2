/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Config grammar: the happy path field by field, every error class with its exact message,
 * inih r55's pitfalls (long lines, NUL bytes, continuations), product profiles, and a bounded
 * seeded mutation loop that must never crash or leak (run under ASan). */
#include <fcntl.h>

#include <ini.h>

#include "config.h"
/* After config.h: <linux/netfilter.h> clashes with <netinet/in.h> when included first. */
#include <linux/netfilter.h>
#include "log.h"
#include "paths.h"
#include "test-util.h"

#define PRODUCTS SRCDIR "/tests/unit/data/products"
#define DAEMON_PRODUCTS "[daemon]\nproduct_dir = " PRODUCTS "\n"

/* Runs config_load_string() with stderr captured into *ret_err. */
static int load_capture(const char *text, struct config **ret, char **ret_err) {
        FILE *tmp = tmpfile();
        int saved, r;
        long size;
        char *err;

        ASSERT_TRUE(tmp);
        fflush(stderr);
        saved = dup(STDERR_FILENO);
        ASSERT_TRUE(saved >= 0);
        ASSERT_TRUE(dup2(fileno(tmp), STDERR_FILENO) >= 0);
        r = config_load_string(text, "test.conf", ret);
        fflush(stderr);
        ASSERT_TRUE(dup2(saved, STDERR_FILENO) >= 0);
        close(saved);
        size = ftell(tmp);
        ASSERT_TRUE(size >= 0);
        err = calloc(1, (size_t) size + 1);
        ASSERT_TRUE(err);
        rewind(tmp);
        ASSERT_EQ(size, (long) fread(err, 1, (size_t) size, tmp));
        fclose(tmp);
        *ret_err = err;
        return r;
}

/* Loading text must fail with exactly the given messages on stderr. */
static void expect_errors(const char *text, const char *expected, int line) {
        struct config *c = NULL;
        char *err = NULL;
        int r = load_capture(text, &c, &err);

        if (r != -EINVAL || !streq(err, expected)) {
                fprintf(stderr, "test-config.c:%d: expected -EINVAL and\n%s--- got %d and\n%s---\n", line, expected,
                        r, err);
                abort();
        }
        ASSERT_TRUE(c == NULL);
        free(err);
}
#define EXPECT_ERRORS(text, expected) expect_errors(text, expected, __LINE__)

/* Loading text must succeed silently. */
static struct config *expect_ok(const char *text, int line) {
        struct config *c = NULL;
        char *err = NULL;
        int r = load_capture(text, &c, &err);

        if (r != 0 || *err) {
                fprintf(stderr, "test-config.c:%d: expected success, got %d and\n%s---\n", line, r, err);
                abort();
        }
        free(err);
        return c;
}
#define EXPECT_OK(text) expect_ok(text, __LINE__)

static char *summary(const struct config *c) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        ASSERT_TRUE(f);
        config_print_summary(c, f);
        fclose(f);
        return buf;
}

static void test_defaults(void) {
        _cleanup_config_ struct config *c = EXPECT_OK("[g]\nhosts = a.example.com\n");
        const struct group *g;

        ASSERT_STREQ("test.conf", c->path);
        ASSERT_EQ(NFPROTO_INET, c->table_family);
        ASSERT_STREQ("allowlistd", c->table);
        ASSERT_STREQ("allowlistd", c->chain);
        ASSERT_TRUE(c->dns_servers == NULL);
        ASSERT_STREQ(DEFAULT_STATE_FILE, c->state_file);
        ASSERT_TRUE(c->metrics_file == NULL);
        ASSERT_STREQ(DEFAULT_PRODUCT_DIR, c->product_dir);
        ASSERT_UEQ(0, c->n_products);
        ASSERT_UEQ(USEC_PER_MINUTE, c->refresh_min);
        ASSERT_UEQ(10 * USEC_PER_SEC, c->retry_min);
        ASSERT_UEQ(USEC_PER_HOUR, c->retry_max);
        ASSERT_UEQ(256, c->max_addresses);
        ASSERT_TRUE(!c->allow_private);
        ASSERT_EQ(ON_EXIT_KEEP, c->on_exit);
        ASSERT_UEQ(1, c->n_groups);
        g = &c->groups[0];
        ASSERT_STREQ("g", g->name);
        ASSERT_TRUE(g->product == NULL && g->description == NULL);
        ASSERT_UEQ(1, g->n_hosts);
        ASSERT_STREQ("a.example.com", g->hosts[0]);
        ASSERT_UEQ(0, g->n_addresses);
        ASSERT_UEQ(0, g->n_allow);
        ASSERT_UEQ(0, g->n_domains);
        ASSERT_UEQ(USEC_PER_HOUR, g->validity);
        ASSERT_UEQ(0, g->refresh);
        ASSERT_UEQ(FAMILY_BOTH, g->family);
        ASSERT_TRUE(!g->needs_hosts);
        ASSERT_STREQ("test.conf", g->file);
        ASSERT_UEQ(1, g->line);
        ASSERT_EQ(0, config_check_runnable(c));
}

static void test_happy_path(void) {
        _cleanup_config_ struct config *c = EXPECT_OK(
                "; allowlistd test configuration\n"
                "# comments start with '#' or ';' at the beginning of a line\n"
                "[csall]\n"
                "product = WiseMo myCloud\n"
                "description = Connection Servers ; inline comment after whitespace\n"
                "hosts = CSall.WiseMo.com.\n"
                "allow = tcp/80 tcp/1970\n"
                "validity = 7d\n"
                "\n"
                "[daemon]\n"
                "table = inet filter\n"
                "chain = allowlistd_fwd\n"
                "dns_servers = 127.0.0.1:5353, [2001:db8::53]:53\n"
                "  192.0.2.53,[2001:DB8::1]\n"
                "state_file = /tmp/allowlistd-test/state\n"
                "products = alpha\n"
                "product_dir = " PRODUCTS "\n"
                "refresh_min = 2m\n"
                "retry_min = 5s\n"
                "retry_max = 2h\n"
                "max_addresses = 65536\n"
                "allow_private = yes\n"
                "on_exit = remove\n"
                "\n"
                "[lan]\n"
                "description = LAN case\n"
                "addresses = 192.0.2.0/24 2001:db8::/32\n"
                "\t198.51.100.7\n"
                "addresses = 2001:db8:1::1\n"
                "allow = tcp/80 udp/80 tcp/1970 udp/1970\n"
                "  udp/49152-65535\n"
                "family = both\n"
                "validity = 6s\n"
                "refresh = 3s\n"
                "[v4only]\n"
                "hosts = a.example.com\n"
                "hosts = b.example.com c.example.com\n"
                "family = ipv4\n"
                "domains = senso.cloud *.service.signalr.net\n");
        const struct group *g;
        char buf[ADDR_STRLEN], *s;

        ASSERT_EQ(NFPROTO_INET, c->table_family);
        ASSERT_STREQ("filter", c->table);
        ASSERT_STREQ("allowlistd_fwd", c->chain);
        ASSERT_STREQ("127.0.0.1:5353,[2001:db8::53]:53,192.0.2.53:53,[2001:db8::1]:53", c->dns_servers);
        ASSERT_STREQ("/tmp/allowlistd-test/state", c->state_file);
        ASSERT_STREQ(PRODUCTS, c->product_dir);
        ASSERT_UEQ(1, c->n_products);
        ASSERT_STREQ("alpha", c->products[0]);
        ASSERT_UEQ(2 * USEC_PER_MINUTE, c->refresh_min);
        ASSERT_UEQ(5 * USEC_PER_SEC, c->retry_min);
        ASSERT_UEQ(2 * USEC_PER_HOUR, c->retry_max);
        ASSERT_UEQ(65536, c->max_addresses);
        ASSERT_TRUE(c->allow_private);
        ASSERT_EQ(ON_EXIT_REMOVE, c->on_exit);

        /* Main file groups in file order, then the products' in products= order. */
        ASSERT_UEQ(5, c->n_groups);
        ASSERT_STREQ("csall", c->groups[0].name);
        ASSERT_STREQ("lan", c->groups[1].name);
        ASSERT_STREQ("v4only", c->groups[2].name);
        ASSERT_STREQ("alpha-cm", c->groups[3].name);
        ASSERT_STREQ("alpha-relay", c->groups[4].name);

        g = config_find_group(c, "csall");
        ASSERT_TRUE(g == &c->groups[0]);
        ASSERT_STREQ("WiseMo myCloud", g->product);
        ASSERT_STREQ("Connection Servers", g->description);
        ASSERT_UEQ(1, g->n_hosts);
        ASSERT_STREQ("csall.wisemo.com", g->hosts[0]);
        ASSERT_UEQ(2, g->n_allow);
        ASSERT_UEQ(IPPROTO_TCP, g->allow[0].proto);
        ASSERT_UEQ(80, g->allow[0].first);
        ASSERT_UEQ(80, g->allow[0].last);
        ASSERT_UEQ(1970, g->allow[1].first);
        ASSERT_UEQ(7 * USEC_PER_DAY, g->validity);
        ASSERT_UEQ(0, g->refresh);
        ASSERT_UEQ(FAMILY_BOTH, g->family);
        ASSERT_STREQ("test.conf", g->file);
        ASSERT_UEQ(3, g->line);

        g = config_find_group(c, "lan");
        ASSERT_STREQ("LAN case", g->description);
        ASSERT_TRUE(g->product == NULL);
        ASSERT_UEQ(0, g->n_hosts);
        /* Sorted, and 2001:db8:1::1 dropped: 2001:db8::/32 covers it. */
        ASSERT_UEQ(3, g->n_addresses);
        ASSERT_UEQ(1, g->n_addresses_covered);
        ASSERT_STREQ("192.0.2.0/24", addr_to_string(&g->addresses[0], buf));
        ASSERT_STREQ("198.51.100.7", addr_to_string(&g->addresses[1], buf));
        ASSERT_STREQ("2001:db8::/32", addr_to_string(&g->addresses[2], buf));
        ASSERT_UEQ(5, g->n_allow);
        ASSERT_UEQ(IPPROTO_UDP, g->allow[1].proto);
        ASSERT_UEQ(80, g->allow[1].first);
        ASSERT_UEQ(IPPROTO_UDP, g->allow[4].proto);
        ASSERT_UEQ(49152, g->allow[4].first);
        ASSERT_UEQ(65535, g->allow[4].last);
        ASSERT_UEQ(6 * USEC_PER_SEC, g->validity);
        ASSERT_UEQ(3 * USEC_PER_SEC, g->refresh);
        ASSERT_UEQ(25, g->line);

        g = config_find_group(c, "v4only");
        ASSERT_UEQ(3, g->n_hosts);
        ASSERT_STREQ("c.example.com", g->hosts[2]);
        ASSERT_UEQ(FAMILY_IPV4, g->family);
        ASSERT_UEQ(2, g->n_domains);
        ASSERT_STREQ("senso.cloud", g->domains[0]);
        ASSERT_STREQ("service.signalr.net", g->domains[1]);

        g = config_find_group(c, "alpha-relay");
        ASSERT_STREQ(PRODUCTS "/alpha.conf", g->file);
        ASSERT_UEQ(9, g->line);
        ASSERT_STREQ("Alpha", g->product);
        ASSERT_UEQ(2, g->n_hosts);
        ASSERT_STREQ("relay2.alpha.example", g->hosts[1]);
        ASSERT_UEQ(7 * USEC_PER_DAY, g->validity);
        ASSERT_UEQ(USEC_PER_HOUR, g->refresh);
        ASSERT_TRUE(config_find_group(c, "nope") == NULL);
        ASSERT_EQ(0, config_check_runnable(c));

        s = summary(c);
        ASSERT_STREQ(
                "csall: WiseMo myCloud / Connection Servers: 1 host, 0 static, allow tcp/80 tcp/1970, validity 7d, refresh auto\n"
                "lan: LAN case: 0 hosts, 3 static (1 more inside its prefixes), allow tcp/80 udp/80 tcp/1970 udp/1970 udp/49152-65535, validity 6s, refresh 3s\n"
                "v4only: 3 hosts, 0 static, allow nothing, validity 1h, refresh auto, ipv4 only\n"
                "alpha-cm: Alpha / Connection Manager: 1 host, 0 static, allow tcp/80 tcp/443, validity 30d, refresh auto\n"
                "alpha-relay: Alpha: 2 hosts, 0 static, allow udp/3478 udp/49152-65535, validity 7d, refresh 1h\n"
                "Not enforced by periodic resolution:\n"
                "  v4only: *.senso.cloud\n"
                "  v4only: *.service.signalr.net\n"
                "  alpha-relay: *.alpha.example\n"
                "5 groups, 7 hosts, 3 static entries, 11 allow rules, 3 domains not enforced; table inet filter, chain allowlistd_fwd\n",
                s);
        free(s);
}

/* What allowlistd.conf(5) says about continuation lines and its EXAMPLE (without the profile). */
static void test_man_page_claims(void) {
        _cleanup_config_ struct config *c = EXPECT_OK("[g]\nhosts = a.example\n\n  # indented comment\n\tb.example\n");
        _cleanup_config_ struct config *e = EXPECT_OK(
                "[daemon]\ntable = inet filter\nchain = allowlistd\n\n"
                "# WiseMo Hosts in the branch office, reached over a site-to-site link\n"
                "[branch-hosts]\nproduct = WiseMo myCloud\ndescription = Branch office Hosts\n"
                "addresses = 198.51.100.0/28\n  2001:db8:10::/64\nallow = tcp/80 udp/80 tcp/1970 udp/1970\n");
        char *s;

        ASSERT_UEQ(2, c->groups[0].n_hosts);
        ASSERT_STREQ("b.example", c->groups[0].hosts[1]);
        s = summary(e);
        ASSERT_STREQ("branch-hosts: WiseMo myCloud / Branch office Hosts: 0 hosts, 2 static, allow tcp/80 udp/80 tcp/1970 udp/1970, validity 1h, refresh auto\n"
                     "1 group, 0 hosts, 2 static entries, 4 allow rules, 0 domains not enforced; table inet filter, chain allowlistd\n",
                     s);
        free(s);
}

static void test_table_family(void) {
        _cleanup_config_ struct config *c = EXPECT_OK(
                "[daemon]\ntable = ip6 fw\nchain =\ndns_servers =\n[g]\naddresses = 2001:db8::1\n");
        char *s;

        ASSERT_EQ(NFPROTO_IPV6, c->table_family);
        ASSERT_STREQ("fw", c->table);
        ASSERT_TRUE(c->chain == NULL);
        ASSERT_TRUE(c->dns_servers == NULL);
        /* The family of an ip6 table is the groups' default. */
        ASSERT_UEQ(FAMILY_IPV6, c->groups[0].family);
        s = summary(c);
        ASSERT_STREQ("g: 0 hosts, 1 static, allow nothing, validity 1h, refresh auto, ipv6 only\n"
                     "1 group, 0 hosts, 1 static entry, 0 allow rules, 0 domains not enforced; table ip6 fw, no chain (sets only)\n",
                     s);
        free(s);

        EXPECT_ERRORS("[daemon]\ntable = ip fw\n[g]\nhosts = a.example\nfamily = both\naddresses = 2001:db8::1\n",
                      "error: test.conf:5: family = both in group 'g', but table ip fw holds only ipv4 rules; set family = ipv4 or use table = inet fw\n");
        EXPECT_ERRORS("[g]\naddresses = 192.0.2.1\nfamily = ipv6\n",
                      "error: test.conf:2: 192.0.2.1 is an IPv4 address but group 'g' has family ipv6; remove it or change family\n");
}

static void test_products(void) {
        _cleanup_config_ struct config *c = EXPECT_OK(DAEMON_PRODUCTS "products = wilife\n");
        const struct group *g;
        char *err = NULL, *s;
        FILE *tmp;
        int saved;

        ASSERT_UEQ(1, c->n_groups);
        g = &c->groups[0];
        ASSERT_STREQ("wilife", g->name);
        ASSERT_TRUE(g->needs_hosts);
        ASSERT_UEQ(0, g->n_hosts);
        ASSERT_UEQ(3, g->n_allow);
        s = summary(c);
        ASSERT_STREQ("wilife: WiLife / Relay: 0 hosts, 0 static, allow tcp/80 tcp/443 tcp/5222, validity 1h, refresh auto\n"
                     "Not enforced by periodic resolution:\n"
                     "  wilife: no destinations: add the hosts your WiLife installation uses\n"
                     "1 group, 0 hosts, 0 static entries, 3 allow rules, 0 domains not enforced; table inet allowlistd, chain allowlistd\n",
                     s);
        free(s);

        /* The daemon refuses to run it until the operator adds hosts. */
        tmp = tmpfile();
        ASSERT_TRUE(tmp);
        fflush(stderr);
        saved = dup(STDERR_FILENO);
        dup2(fileno(tmp), STDERR_FILENO);
        ASSERT_EQ(-EINVAL, config_check_runnable(c));
        fflush(stderr);
        dup2(saved, STDERR_FILENO);
        close(saved);
        err = calloc(1, 1024);
        rewind(tmp);
        ASSERT_TRUE(fread(err, 1, 1023, tmp) > 0);
        fclose(tmp);
        ASSERT_STREQ("error: " PRODUCTS "/wilife.conf:2: group 'wilife' has no destinations: add the hosts your WiLife installation uses to hosts= (see the comment in the profile)\n",
                     err);
        free(err);

        /* Adding hosts in a profile group of its own is the only way: groups are unique. */
        EXPECT_ERRORS(DAEMON_PRODUCTS "products = nosuch\n",
                      "error: test.conf:3: unknown product 'nosuch' (no " PRODUCTS "/nosuch.conf); available in " PRODUCTS ": alpha, broken, clash, daemon, wilife\n");
        EXPECT_ERRORS("[daemon]\nproduct_dir = /nonexistent/products\nproducts = alpha\n",
                      "error: test.conf:3: profile file /nonexistent/products/alpha.conf of product 'alpha' is missing: cannot read product_dir /nonexistent/products: No such file or directory; set product_dir = to the directory holding the profiles\n");
        EXPECT_ERRORS("[daemon]\nproducts = ../etc/passwd Alpha a.b\n",
                      "error: test.conf:2: bad product name '../etc/passwd'; a product is named by lower-case letters, digits and '-', as its file in product_dir without .conf (wisemo-mycloud)\n"
                      "error: test.conf:2: bad product name 'Alpha'; a product is named by lower-case letters, digits and '-', as its file in product_dir without .conf (wisemo-mycloud)\n"
                      "error: test.conf:2: bad product name 'a.b'; a product is named by lower-case letters, digits and '-', as its file in product_dir without .conf (wisemo-mycloud)\n");
        EXPECT_ERRORS(DAEMON_PRODUCTS "products = alpha\n  alpha\n",
                      "error: test.conf:4: product 'alpha' listed twice (first at line 3); remove one\n");
        /* A group defined in the main file and again in a profile. */
        EXPECT_ERRORS("[csall]\nhosts = csall.wisemo.com\n" DAEMON_PRODUCTS "products = clash\n",
                      "error: " PRODUCTS "/clash.conf:3: group 'csall' defined twice: here and at test.conf:1; rename or merge one\n");
        /* Two profiles defining the same group. */
        EXPECT_ERRORS(DAEMON_PRODUCTS "products = alpha alpha-again\n",
                      "error: test.conf:3: unknown product 'alpha-again' (no " PRODUCTS "/alpha-again.conf); available in " PRODUCTS ": alpha, broken, clash, daemon, wilife\n");
        EXPECT_ERRORS(DAEMON_PRODUCTS "products = daemon\n",
                      "error: " PRODUCTS "/daemon.conf:2: [daemon] is not allowed in a product profile; put daemon settings in the main configuration file\n");
        /* Errors inside a profile name the profile's file and line. */
        EXPECT_ERRORS(DAEMON_PRODUCTS "products = broken\n",
                      "error: " PRODUCTS "/broken.conf:2: '*.broken.example' is a wildcard: wildcards cannot be pre-resolved; put the domain in domains= instead\n"
                      "error: " PRODUCTS "/broken.conf:3: port out of range in 'tcp/0'; ports are 1 to 65535\n"
                      "error: " PRODUCTS "/broken.conf:1: group 'broken' has no hosts and no addresses; give it at least one destination in hosts= or addresses=\n");
}

static void test_metrics_file(void) {
        _cleanup_config_ struct config *c = EXPECT_OK("[daemon]\nmetrics_file = /var/lib/prometheus/node-exporter/allowlistd.prom\n"
                                                      "[g]\nhosts = a.example.com\n");
        _cleanup_config_ struct config *off = EXPECT_OK("[daemon]\nmetrics_file =\n"
                                                        "[g]\nhosts = a.example.com\n");

        ASSERT_STREQ("/var/lib/prometheus/node-exporter/allowlistd.prom", c->metrics_file);
        ASSERT_TRUE(off->metrics_file == NULL); /* empty: off */
}

static void test_group_errors(void) {
        EXPECT_ERRORS("[daemon]\nmetrics_file = allowlistd.prom\n[g]\naddresses = 192.0.2.1\n",
                      "error: test.conf:2: metrics_file 'allowlistd.prom' is not an absolute path; write a path starting with '/'\n");
        EXPECT_ERRORS("[g]\nhosts = a.example\nhsots = b.example\n",
                      "error: test.conf:3: unknown key 'hsots' in group [g]; valid keys: hosts, addresses, allow, domains, validity, refresh, family, product, description\n");
        EXPECT_ERRORS("[daemon]\nallow_privat = yes\ntable = inet x\n",
                      "error: test.conf:2: unknown key 'allow_privat' in [daemon]; valid keys: table, chain, dns_servers, state_file, metrics_file, products, product_dir, refresh_min, retry_min, retry_max, max_addresses, allow_private, on_exit, snoop, snoop_queue, snoop_servers, snoop_hold_max, max_snooped\n");
        EXPECT_ERRORS("[daemon]\nhosts = a.example\n",
                      "error: test.conf:2: unknown key 'hosts' in [daemon]; valid keys: table, chain, dns_servers, state_file, metrics_file, products, product_dir, refresh_min, retry_min, retry_max, max_addresses, allow_private, on_exit, snoop, snoop_queue, snoop_servers, snoop_hold_max, max_snooped\n");
        EXPECT_ERRORS("table = inet x\n[g]\nhosts = a.example\n",
                      "error: test.conf:1: 'table' outside of any section; put it under [daemon] or a [GROUP]\n");
        EXPECT_ERRORS("[g]\nhosts = a.example\n\n[g]\nhosts = b.example\n",
                      "error: test.conf:4: group 'g' defined twice: here and at test.conf:1; rename or merge one\n");
        EXPECT_ERRORS("[daemon]\n[daemon]\n[g]\nhosts = a.example\n",
                      "error: test.conf:2: [daemon] defined twice (first at test.conf:1); merge them\n");
        EXPECT_ERRORS("[Csall]\nhosts = a.example\n[9g]\nhosts = a.example\n[a.b]\nhosts = a.example\n[]\nhosts = a.example\n",
                      "error: test.conf:1: bad group name 'Csall'; a group name is a lower-case letter followed by up to 30 lower-case letters, digits, '_' or '-'\n"
                      "error: test.conf:3: bad group name '9g'; a group name is a lower-case letter followed by up to 30 lower-case letters, digits, '_' or '-'\n"
                      "error: test.conf:5: bad group name 'a.b'; a group name is a lower-case letter followed by up to 30 lower-case letters, digits, '_' or '-'\n"
                      "error: test.conf:7: bad group name ''; a group name is a lower-case letter followed by up to 30 lower-case letters, digits, '_' or '-'\n");
        EXPECT_ERRORS("[abcdefghijklmnopqrstuvwxyz-12345]\nhosts = a.example\n",
                      "error: test.conf:1: group name 'abcdefghijklmnopqrstuvwxyz-12345' is too long (32 characters); use at most 31, because it names the sets NAME_v4 and NAME_v6\n");
        {
                /* 31 characters is fine. */
                _cleanup_config_ struct config *c = EXPECT_OK("[abcdefghijklmnopqrstuvwxyz-1234]\nhosts = a.example\n");
                ASSERT_STREQ("abcdefghijklmnopqrstuvwxyz-1234", c->groups[0].name);
        }
        EXPECT_ERRORS("[g\nhosts = a.example\n",
                      "error: test.conf:1: section header without closing ']'; write [NAME]\n");
        EXPECT_ERRORS("[g] junk\nhosts = a.example\n",
                      "error: test.conf:1: unexpected text after ']'; write [NAME] alone on its line\n");
        EXPECT_ERRORS("[g]\nhosts: a.example\n",
                      "error: test.conf:2: ':' is not a separator here; write KEY = VALUE\n"
                      "error: test.conf:1: group 'g' has no hosts and no addresses; give it at least one destination in hosts= or addresses=\n");
        /* Indented lines after a refused line are not taken as more values of an earlier key. */
        EXPECT_ERRORS("[g]\nhosts = a.example\nallow: tcp/22\n  tcp/23\njust words\n  b.example\n",
                      "error: test.conf:3: ':' is not a separator here; write KEY = VALUE\n"
                      "error: test.conf:5: 'just words' is not KEY = VALUE, [SECTION] or a comment; a comment starts with '#' or ';' at the beginning of a line, or ' ;' after a value\n");
        EXPECT_ERRORS("[g]\nhosts = a.example\njust words\n",
                      "error: test.conf:3: 'just words' is not KEY = VALUE, [SECTION] or a comment; a comment starts with '#' or ';' at the beginning of a line, or ' ;' after a value\n");
        /* Empty group: no hosts, no addresses, no explicit "hosts =". */
        EXPECT_ERRORS("[g]\nallow = tcp/80\ndomains = senso.cloud\n[h]\n",
                      "error: test.conf:1: group 'g' has no hosts and no addresses; give it at least one destination in hosts= or addresses=, or set snoop = yes to learn its domains= from DNS replies\n"
                      "error: test.conf:4: group 'h' has no hosts and no addresses; give it at least one destination in hosts= or addresses=\n");
        /* Duplicate scalar key names both lines. */
        EXPECT_ERRORS("[g]\nhosts = a.example\nvalidity = 1h\nvalidity = 2h\n",
                      "error: test.conf:4: 'validity' set twice in [g] (first at line 3); keep one\n");
        EXPECT_ERRORS("[daemon]\nallow_private = no\nallow_private = yes\n",
                      "error: test.conf:3: 'allow_private' set twice in [daemon] (first at line 2); keep one\n");
        /* An indented line continues the previous key: never a way to set another key. */
        EXPECT_ERRORS("[g]\nhosts = a.example\ndescription = x\n  allow = tcp/22\n",
                      "error: test.conf:4: indented line continues 'description', which takes one value; remove the indentation to start a new key\n");
        /* Continuations of an unknown key are not reported again. */
        EXPECT_ERRORS("[g]\nhosts = a.example\nbogus = 1\n  2\n  3\n",
                      "error: test.conf:3: unknown key 'bogus' in group [g]; valid keys: hosts, addresses, allow, domains, validity, refresh, family, product, description\n");
}

static void test_value_errors(void) {
        EXPECT_ERRORS("[g]\nhosts = a.example\nvalidity = 7 days\nrefresh = 1x\n",
                      "error: test.conf:3: bad duration '7 days' for validity; write a number with s, m, h or d (90s, 15m, 1h, 7d)\n"
                      "error: test.conf:4: bad duration '1x' for refresh; write a number with s, m, h or d (90s, 15m, 1h, 7d)\n");
        EXPECT_ERRORS("[g]\nhosts = a.example\nvalidity = 0\nrefresh = 0s\n",
                      "error: test.conf:3: validity must be longer than 0; write a duration such as 10s or 1h\n"
                      "error: test.conf:4: refresh must be longer than 0; write auto or a duration such as 1h\n");
        EXPECT_ERRORS("[g]\nhosts = a.example\nvalidity = 366d\nvalidity2 = 1\n",
                      "error: test.conf:3: validity '366d' is longer than 365d; use at most 365d\n"
                      "error: test.conf:4: unknown key 'validity2' in group [g]; valid keys: hosts, addresses, allow, domains, validity, refresh, family, product, description\n");
        EXPECT_ERRORS("[g]\nhosts = a.example\nvalidity =\n",
                      "error: test.conf:3: bad duration '' for validity; write a number with s, m, h or d (90s, 15m, 1h, 7d)\n");
        /* refresh never later than validity/2. */
        EXPECT_ERRORS("[g]\nhosts = a.example\nrefresh = 31m\n",
                      "error: test.conf:3: refresh 31m exceeds half the validity 1h of group 'g'; use refresh = auto or at most 30m\n");
        EXPECT_ERRORS("[g]\nhosts = a.example\nrefresh = 4s\nvalidity = 6s\n",
                      "error: test.conf:3: refresh 4s exceeds half the validity 6s of group 'g'; use refresh = auto or at most 3s\n");
        EXPECT_ERRORS("[g]\nhosts = a.example\nallow = tcp/0 tcp/65536 udp/99999999 tcp/1-0\n",
                      "error: test.conf:3: port out of range in 'tcp/0'; ports are 1 to 65535\n"
                      "error: test.conf:3: port out of range in 'tcp/65536'; ports are 1 to 65535\n"
                      "error: test.conf:3: port out of range in 'udp/99999999'; ports are 1 to 65535\n"
                      "error: test.conf:3: port out of range in 'tcp/1-0'; ports are 1 to 65535\n");
        EXPECT_ERRORS("[g]\nhosts = a.example\nallow = udp/65535-49152\n",
                      "error: test.conf:3: reversed range in 'udp/65535-49152'; write the lower port first: udp/49152-65535\n");
        EXPECT_ERRORS("[g]\nhosts = a.example\nallow = icmp/1 TCP/80 tcp80 tcp/ tcp/8o tcp/1- tcp/80 tcp/80\n",
                      "error: test.conf:3: bad protocol 'icmp' in 'icmp/1'; use tcp or udp\n"
                      "error: test.conf:3: bad protocol 'TCP' in 'TCP/80'; use tcp or udp\n"
                      "error: test.conf:3: bad allow item 'tcp80'; write PROTOCOL/PORT or PROTOCOL/FIRST-LAST (tcp/443, udp/49152-65535)\n"
                      "error: test.conf:3: bad allow item 'tcp/'; write PROTOCOL/PORT or PROTOCOL/FIRST-LAST (tcp/443, udp/49152-65535)\n"
                      "error: test.conf:3: bad allow item 'tcp/8o'; write PROTOCOL/PORT or PROTOCOL/FIRST-LAST (tcp/443, udp/49152-65535)\n"
                      "error: test.conf:3: bad allow item 'tcp/1-'; write PROTOCOL/PORT or PROTOCOL/FIRST-LAST (tcp/443, udp/49152-65535)\n"
                      "error: test.conf:3: 'tcp/80' listed twice in group 'g'; remove one\n");
        EXPECT_ERRORS("[g]\naddresses = 192.0.2.1/24 300.1.1.1 2001:db8::/129 0.0.0.0/0 ::/0 example.com\n",
                      "error: test.conf:2: bad address '192.0.2.1/24'; write an IPv4 or IPv6 address or prefix with no host bits set (192.0.2.0/24, 2001:db8::/32)\n"
                      "error: test.conf:2: bad address '300.1.1.1'; write an IPv4 or IPv6 address or prefix with no host bits set (192.0.2.0/24, 2001:db8::/32)\n"
                      "error: test.conf:2: bad address '2001:db8::/129'; write an IPv4 or IPv6 address or prefix with no host bits set (192.0.2.0/24, 2001:db8::/32)\n"
                      "error: test.conf:2: '0.0.0.0/0' would allow every address; use a narrower prefix\n"
                      "error: test.conf:2: '::/0' would allow every address; use a narrower prefix\n"
                      "error: test.conf:2: bad address 'example.com'; write an IPv4 or IPv6 address or prefix with no host bits set (192.0.2.0/24, 2001:db8::/32)\n"
                      "error: test.conf:1: group 'g' has no hosts and no addresses; give it at least one destination in hosts= or addresses=\n");
        /* A static address listed twice, also across lines and spellings. */
        EXPECT_ERRORS("[g]\naddresses = 192.0.2.1 2001:db8::1\naddresses = 2001:DB8:0::1\n",
                      "error: test.conf:3: address 2001:db8::1 listed twice in group 'g' (first at line 2); remove one\n");
        EXPECT_ERRORS("[g]\nhosts = a.example.com\n  b.example.com A.Example.Com.\n",
                      "error: test.conf:3: host 'a.example.com' listed twice in group 'g' (first at line 2); remove one\n");
        EXPECT_ERRORS("[g]\nhosts = *.senso.cloud\n",
                      "error: test.conf:2: '*.senso.cloud' is a wildcard: wildcards cannot be pre-resolved; put the domain in domains= instead\n"
                      "error: test.conf:1: group 'g' has no hosts and no addresses; give it at least one destination in hosts= or addresses=\n");
        EXPECT_ERRORS("[g]\nhosts = a_b.example -a.example a-.example a..example .a.example a.123 192.0.2.1 ok.example\n",
                      "error: test.conf:2: bad host name 'a_b.example': '_' is not allowed; use letters, digits, '-' and '.' (RFC 1123)\n"
                      "error: test.conf:2: bad host name '-a.example': a label must not begin or end with '-'\n"
                      "error: test.conf:2: bad host name 'a-.example': a label must not begin or end with '-'\n"
                      "error: test.conf:2: bad host name 'a..example': empty label; write names like host.example.com\n"
                      "error: test.conf:2: bad host name '.a.example': empty label; write names like host.example.com\n"
                      "error: test.conf:2: bad host name 'a.123': the last label must not be all digits\n"
                      "error: test.conf:2: '192.0.2.1' is an address, not a host name; put it in addresses= instead\n");
        EXPECT_ERRORS("[g]\nhosts = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example\n",
                      "error: test.conf:2: bad host name 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example': a label is 64 characters long; a label has at most 63\n"
                      "error: test.conf:1: group 'g' has no hosts and no addresses; give it at least one destination in hosts= or addresses=\n");
        /* A 254-character name cannot be written: "hosts = " plus the name exceeds the 199-character
         * line, which is refused first (test_long_lines); the 253 check guards other callers. */
        EXPECT_ERRORS("[g]\nhosts = a.example\ndomains = *.a.*.example a_b.example senso.cloud *.senso.cloud\n",
                      "error: test.conf:3: bad domain 'a.*.example': write it without wildcards (senso.cloud for *.senso.cloud)\n"
                      "error: test.conf:3: bad domain 'a_b.example': '_' is not allowed; use letters, digits, '-' and '.' (RFC 1123)\n"
                      "error: test.conf:3: domain 'senso.cloud' listed twice in group 'g'; remove one\n");
        EXPECT_ERRORS("[g]\nhosts = a.example\nfamily = ipv46\n",
                      "error: test.conf:3: bad family 'ipv46'; write both, ipv4 or ipv6\n");
        EXPECT_ERRORS("[g]\nhosts = a.example\ndescription = say \"hi\"\nproduct = 0123456789012345678901234567890123456789012345678901234567890123456789\n",
                      "error: test.conf:3: description contains a control character, '\"' or '\\'; use plain text\n"
                      "error: test.conf:4: product is too long (70 characters); use at most 64\n");
}

static void test_daemon_errors(void) {
        EXPECT_ERRORS("[daemon]\nallow_private = maybe\non_exit = flush\n",
                      "error: test.conf:2: bad boolean 'maybe' for allow_private; write yes or no\n"
                      "error: test.conf:3: bad on_exit 'flush'; write keep or remove\n");
        EXPECT_ERRORS("[daemon]\ntable = bridge fw\n[x]\nhosts = a.example\n",
                      "error: test.conf:2: bad table 'bridge fw'; write FAMILY NAME with FAMILY inet, ip or ip6 and a NAME of a letter followed by up to 63 letters, digits, '_' or '-' (table = inet allowlistd)\n");
        EXPECT_ERRORS("[daemon]\ntable = inet\n",
                      "error: test.conf:2: bad table 'inet'; write FAMILY NAME with FAMILY inet, ip or ip6 and a NAME of a letter followed by up to 63 letters, digits, '_' or '-' (table = inet allowlistd)\n");
        EXPECT_ERRORS("[daemon]\ntable = inet my;table\n",
                      "error: test.conf:2: bad table 'inet my;table'; write FAMILY NAME with FAMILY inet, ip or ip6 and a NAME of a letter followed by up to 63 letters, digits, '_' or '-' (table = inet allowlistd)\n");
        EXPECT_ERRORS("[daemon]\ntable = inet a b\n",
                      "error: test.conf:2: bad table 'inet a b'; write FAMILY NAME with FAMILY inet, ip or ip6 and a NAME of a letter followed by up to 63 letters, digits, '_' or '-' (table = inet allowlistd)\n");
        /* Words of the nft language: an nft script cannot name such a table or chain. */
        EXPECT_ERRORS("[daemon]\ntable = inet log\n",
                      "error: test.conf:2: bad table 'inet log': 'log' is a word of the nft language, which an nft script (and so --dry-run's) cannot use as a table name; choose another NAME (table = inet allowlistd)\n");
        EXPECT_ERRORS("[daemon]\ntable = ip6 set\n",
                      "error: test.conf:2: bad table 'ip6 set': 'set' is a word of the nft language, which an nft script (and so --dry-run's) cannot use as a table name; choose another NAME (table = inet allowlistd)\n");
        EXPECT_ERRORS("[daemon]\n\ntable = ip accept\nchain = counter\n",
                      "error: test.conf:3: bad table 'ip accept': 'accept' is a word of the nft language, which an nft script (and so --dry-run's) cannot use as a table name; choose another NAME (table = inet allowlistd)\n"
                      "error: test.conf:4: bad chain name 'counter': a word of the nft language, which an nft script (and so --dry-run's) cannot use as a chain name; choose another (chain = allowlistd)\n");
        EXPECT_ERRORS("[daemon]\nchain = auto-merge\n",
                      "error: test.conf:2: bad chain name 'auto-merge': a word of the nft language, which an nft script (and so --dry-run's) cannot use as a chain name; choose another (chain = allowlistd)\n");
        EXPECT_ERRORS("[daemon]\nchain = xt\n",
                      "error: test.conf:2: bad chain name 'xt': a word of the nft language, which an nft script (and so --dry-run's) cannot use as a chain name; choose another (chain = allowlistd)\n");
        /* Words nft knows only in a scope, and other cases, work in a script: accepted. */
        config_free(EXPECT_OK("[daemon]\ntable = inet filter\nchain = nat\n[g]\nhosts = a.example\n"));
        config_free(EXPECT_OK("[daemon]\ntable = inet LOG\nchain = counters\n[g]\nhosts = a.example\n"));
        config_free(EXPECT_OK("[daemon]\ntable = ip log-table\nchain = dport\n[g]\nhosts = a.example\n"));
        EXPECT_ERRORS("[daemon]\nchain = 1chain\n",
                      "error: test.conf:2: bad chain name '1chain'; use a letter followed by up to 63 letters, digits, '_' or '-', or leave it empty for sets only\n");
        EXPECT_ERRORS("[daemon]\nchain = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
                      "error: test.conf:2: bad chain name 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'; use a letter followed by up to 63 letters, digits, '_' or '-', or leave it empty for sets only\n");
        EXPECT_ERRORS("[daemon]\ndns_servers = 127.0.0.1:0 2001:db8::53 [2001:db8::53 localhost 1.2.3.4:x [::1]x\n",
                      "error: test.conf:2: bad port in dns_servers entry '127.0.0.1:0'; ports are 1 to 65535\n"
                      "error: test.conf:2: bad dns_servers entry '2001:db8::53'; write an IPv6 server in brackets: [2001:db8::53] or [2001:db8::53]:53\n"
                      "error: test.conf:2: bad dns_servers entry '[2001:db8::53'; write IPv4[:PORT] or [IPv6][:PORT], e.g. 127.0.0.1:5353, [2001:db8::53]:53\n"
                      "error: test.conf:2: bad dns_servers entry 'localhost'; write IPv4[:PORT] or [IPv6][:PORT], e.g. 127.0.0.1:5353, [2001:db8::53]:53\n"
                      "error: test.conf:2: bad port in dns_servers entry '1.2.3.4:x'; ports are 1 to 65535\n"
                      "error: test.conf:2: bad dns_servers entry '[::1]x'; write IPv4[:PORT] or [IPv6][:PORT], e.g. 127.0.0.1:5353, [2001:db8::53]:53\n");
        EXPECT_ERRORS("[daemon]\nmax_addresses = 0\n[d2]\n",
                      "error: test.conf:2: bad max_addresses '0'; write a number from 1 to 65536\n"
                      "error: test.conf:3: group 'd2' has no hosts and no addresses; give it at least one destination in hosts= or addresses=\n");
        EXPECT_ERRORS("[daemon]\nmax_addresses = 65537\n",
                      "error: test.conf:2: bad max_addresses '65537'; write a number from 1 to 65536\n");
        EXPECT_ERRORS("[daemon]\nmax_addresses = -1\n",
                      "error: test.conf:2: bad max_addresses '-1'; write a number from 1 to 65536\n");
        EXPECT_ERRORS("[daemon]\nretry_min = 2h\n",
                      "error: test.conf:2: retry_min 2h exceeds retry_max 1h; make retry_min the smaller one\n");
        EXPECT_ERRORS("[daemon]\nretry_max = 5s\n",
                      "error: test.conf:2: retry_min 10s exceeds retry_max 5s; make retry_min the smaller one\n");
        EXPECT_ERRORS("[daemon]\nrefresh_min = 0\nstate_file = relative/state\nproduct_dir = products\n",
                      "error: test.conf:2: refresh_min must be longer than 0; write a duration such as 10s or 1h\n"
                      "error: test.conf:3: state_file 'relative/state' is not an absolute path; write a path starting with '/'\n"
                      "error: test.conf:4: product_dir 'products' is not an absolute path; write a path starting with '/'\n");
        {
                _cleanup_config_ struct config *c = EXPECT_OK("[daemon]\nproduct_dir =\nretry_min = 1h\n");
                ASSERT_STREQ(DEFAULT_PRODUCT_DIR, c->product_dir);
                ASSERT_UEQ(USEC_PER_HOUR, c->retry_min);
                ASSERT_UEQ(0, c->n_groups);
        }
}

/* inih r55 splits a line longer than its 200-byte buffer and parses the tail as a key of its own. */
static void test_long_lines(void) {
        char text[1024], pad[256];

        memset(pad, 'x', sizeof(pad));
        /* The smuggling case: "state_file = /" and 185 characters fill inih's 199; the tail would
         * be read as "allow_private = yes" (see test_inih_premise). */
        snprintf(text, sizeof(text), "[daemon]\nstate_file = /%.185sallow_private = yes\n", pad);
        EXPECT_ERRORS(text,
                      "error: test.conf:2: line too long (max 199 characters); split the list over indented continuation lines\n");
        snprintf(text, sizeof(text), "[g]\nhosts = a.example\ndescription = %.185sallow_private = yes\n", pad);
        EXPECT_ERRORS(text,
                      "error: test.conf:3: line too long (max 199 characters); split the list over indented continuation lines\n");

        /* Exactly 199 characters is accepted, 200 is not. */
        snprintf(text, sizeof(text), "[daemon]\nstate_file = /%.185s\n", pad);
        ASSERT_EQ(199, (int) strlen("state_file = /") + 185);
        {
                _cleanup_config_ struct config *c = EXPECT_OK(text);
                ASSERT_EQ(186, (int) strlen(c->state_file));
        }
        snprintf(text, sizeof(text), "[daemon]\nstate_file = /%.186s\n", pad);
        EXPECT_ERRORS(text,
                      "error: test.conf:2: line too long (max 199 characters); split the list over indented continuation lines\n");
        /* Also without a final newline, and in a comment. */
        snprintf(text, sizeof(text), "[daemon]\n# %.198s", pad);
        EXPECT_ERRORS(text,
                      "error: test.conf:2: line too long (max 199 characters); split the list over indented continuation lines\n");
}

static int record_key(void *user, const char *section, const char *name, const char *value) {
        if (streq(name, "allow_private") && streq(value, "yes"))
                *(bool *) user = true;
        return 1;
}

/* The reason for the reader: plain inih r55 does split the line and hands over the tail as a key.
 * If a future inih stops doing that, this test says so and the reader can be simplified. */
static void test_inih_premise(void) {
        char text[512], pad[256];
        bool smuggled = false;

        memset(pad, 'x', sizeof(pad));
        snprintf(text, sizeof(text), "[daemon]\nstate_file = /%.185sallow_private = yes\n", pad);
        ini_parse_string(text, record_key, &smuggled);
        ASSERT_TRUE(smuggled);
}

/* A NUL byte would truncate a value in inih: refused, so it needs a real file. */
static void test_nul_byte(void) {
        static const char content[] = "[g]\nhosts = a.example\ndescription = abc\0allow_private = yes\n";
        char path[] = "/tmp/test-config-XXXXXX", *err = NULL;
        struct config *c = NULL;
        FILE *tmp = tmpfile();
        int fd, saved, r;
        long size;

        fd = mkstemp(path);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(sizeof(content) - 1, write(fd, content, sizeof(content) - 1));
        close(fd);

        fflush(stderr);
        saved = dup(STDERR_FILENO);
        dup2(fileno(tmp), STDERR_FILENO);
        r = config_load(path, &c);
        fflush(stderr);
        dup2(saved, STDERR_FILENO);
        close(saved);
        size = ftell(tmp);
        err = calloc(1, (size_t) size + 1);
        rewind(tmp);
        ASSERT_EQ(size, (long) fread(err, 1, (size_t) size, tmp));
        fclose(tmp);
        ASSERT_EQ(-EINVAL, r);
        ASSERT_TRUE(c == NULL);
        {
                char expected[256];
                snprintf(expected, sizeof(expected), "error: %s:3: NUL byte in line; remove it\n", path);
                ASSERT_STREQ(expected, err);
        }
        free(err);

        /* The same file without the NUL byte loads through config_load(). */
        fd = open(path, O_WRONLY | O_TRUNC);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(41, write(fd, "[g]\nhosts = a.example\ndescription = abc\n\n", 41));
        close(fd);
        ASSERT_EQ(0, config_load(path, &c));
        ASSERT_STREQ(path, c->path);
        ASSERT_STREQ("abc", c->groups[0].description);
        config_free(c);
        unlink(path);

        /* A missing main file is -ENOENT. */
        c = NULL;
        fflush(stderr);
        saved = dup(STDERR_FILENO);
        fd = open("/dev/null", O_WRONLY);
        dup2(fd, STDERR_FILENO);
        r = config_load("/nonexistent/allowlistd.conf", &c);
        fflush(stderr);
        dup2(saved, STDERR_FILENO);
        close(saved);
        close(fd);
        ASSERT_EQ(-ENOENT, r);
        ASSERT_TRUE(c == NULL);
}

/* A vendor list of 2,000 names on indented continuation lines. */
static void test_continuation_2000(void) {
        size_t size = 2000 * 24 + 256, used = 0;
        char *text = malloc(size);
        struct config *c;
        char name[64];

        ASSERT_TRUE(text);
        used += (size_t) snprintf(text + used, size - used, "[big]\nallow = tcp/443\nhosts = h0.example.com\n");
        for (int i = 1; i < 2000; i++) {
                /* Five names per line keeps each line well under 199 characters. */
                used += (size_t) snprintf(text + used, size - used, "%sh%d.example.com%s", i % 5 == 1 ? "    " : " ", i,
                                          i % 5 == 0 || i == 1999 ? "\n" : "");
                ASSERT_TRUE(used < size);
        }
        used += (size_t) snprintf(text + used, size - used, "# done\nvalidity = 7d\n");
        c = EXPECT_OK(text);
        ASSERT_UEQ(2000, c->groups[0].n_hosts);
        for (int i = 0; i < 2000; i++) {
                snprintf(name, sizeof(name), "h%d.example.com", i);
                ASSERT_STREQ(name, c->groups[0].hosts[i]);
        }
        ASSERT_UEQ(7 * USEC_PER_DAY, c->groups[0].validity);
        config_free(c);
        free(text);
}

/* Appends to a growing text; aborts on allocation failure. */
static void append(char **text, size_t *used, size_t *size, const char *s) {
        size_t n = strlen(s);

        if (*used + n + 1 > *size) {
                *size = (*used + n + 1) * 2;
                *text = realloc(*text, *size);
                ASSERT_TRUE(*text);
        }
        memcpy(*text + *used, s, n + 1);
        *used += n;
}

static void test_bounds(void) {
        char *text = NULL, buf[128];
        size_t used = 0, size = 0;

        /* 10,000 hosts in a group are fine, one more is not. */
        append(&text, &used, &size, "[big]\nhosts =\n");
        for (int i = 0; i < 10001; i++) {
                snprintf(buf, sizeof(buf), "  h%d.example.com\n", i);
                append(&text, &used, &size, buf);
        }
        EXPECT_ERRORS(text, "error: test.conf:10003: too many hosts (at most 10000 per group and 100000 in all)\n");
        text[used - strlen(buf)] = 0;
        {
                _cleanup_config_ struct config *c = EXPECT_OK(text);
                ASSERT_UEQ(10000, c->groups[0].n_hosts);
        }

        /* 1,000 groups are fine, one more is not. */
        used = 0;
        text[0] = 0;
        for (int i = 0; i < 1001; i++) {
                snprintf(buf, sizeof(buf), "[g%d]\naddresses = 192.0.2.%d\n", i, i % 256);
                append(&text, &used, &size, buf);
        }
        EXPECT_ERRORS(text, "error: test.conf:2001: too many groups (at most 1000)\n");
        text[used - strlen(buf)] = 0;
        {
                _cleanup_config_ struct config *c = EXPECT_OK(text);
                ASSERT_UEQ(1000, c->n_groups);
                ASSERT_STREQ("g999", c->groups[999].name);
        }
        free(text);
}

/* Static entries against a simple model, on random inputs: many IPv4 and IPv6 prefixes of
 * random lengths in a small space, so that they nest and repeat often. After the load the
 * group's entries must be sorted, disjoint, each one of those written, and together cover
 * exactly what the written ones cover; group_static_covers() must answer, for random addresses
 * and prefixes, what a pass over every written entry answers. */
static void random_prefix(unsigned *seed, int family, struct ip_addr *ret) {
        uint8_t bytes[16] = { 0 };
        unsigned len, max = family == AF_INET ? 32 : 128;

        /* Everything under 10.0.0.0/22 or 2001:db8::/118 (the last 10 bits vary), lengths
         * from /22 (/118) to the single address, singles more often. */
        if (family == AF_INET)
                bytes[0] = 10;
        else {
                bytes[0] = 0x20, bytes[1] = 0x01, bytes[2] = 0x0d, bytes[3] = 0xb8;
        }
        bytes[max / 8 - 2] = (uint8_t) (rand_r(seed) & 3);
        bytes[max / 8 - 1] = (uint8_t) rand_r(seed);
        len = rand_r(seed) % 2 ? max : max - (unsigned) (rand_r(seed) % 11);
        for (unsigned bit = len; bit < max; bit++)
                bytes[bit / 8] &= (uint8_t) ~(0x80 >> (bit % 8));
        *ret = addr_make(family, bytes);
        ret->prefixlen = (uint8_t) len;
}

static bool model_covers(const struct ip_addr *written, size_t n, const struct ip_addr *a) {
        for (size_t i = 0; i < n; i++)
                if (addr_in_prefix(a, &written[i]))
                        return true;
        return false;
}

static void test_static_coverage_model(void) {
        unsigned seed = 9;

        for (int round = 0; round < 40; round++) {
                size_t n = 1 + (size_t) (rand_r(&seed) % 300), n_written = 0, used = 0, size = 0;
                struct ip_addr *written = calloc(n, sizeof(*written));
                _cleanup_config_ struct config *c = NULL;
                const struct group *g;
                char *text = NULL, line[ADDR_STRLEN + 8], a_text[ADDR_STRLEN];

                ASSERT_TRUE(written);
                append(&text, &used, &size, "[g]\naddresses =\n");
                for (size_t i = 0; i < n; i++) {
                        struct ip_addr a;
                        bool seen = false;

                        random_prefix(&seed, rand_r(&seed) % 3 ? AF_INET : AF_INET6, &a);
                        for (size_t j = 0; j < n_written; j++)
                                seen = seen || addr_compare(&written[j], &a) == 0;
                        if (seen) /* an exact repeat is an error of its own */
                                continue;
                        written[n_written++] = a;
                        snprintf(line, sizeof(line), "  %s\n", addr_to_string(&a, a_text));
                        append(&text, &used, &size, line);
                }
                c = EXPECT_OK(text);
                g = &c->groups[0];
                ASSERT_UEQ(n_written, g->n_addresses + g->n_addresses_covered);

                /* Sorted, disjoint, each one written, each written one inside a kept one. */
                for (size_t i = 0; i < g->n_addresses; i++) {
                        ASSERT_TRUE(i == 0 || addr_compare(&g->addresses[i - 1], &g->addresses[i]) < 0);
                        for (size_t j = 0; j < g->n_addresses; j++)
                                ASSERT_TRUE(i == j || !addr_in_prefix(&g->addresses[i], &g->addresses[j]));
                        ASSERT_TRUE(model_covers(written, n_written, &g->addresses[i]));
                        ASSERT_TRUE(!model_covers(g->addresses, i, &g->addresses[i]));
                }
                for (size_t i = 0; i < n_written; i++) {
                        ASSERT_TRUE(model_covers(g->addresses, g->n_addresses, &written[i]));
                        ASSERT_TRUE(group_static_covers(g, &written[i]));
                }
                /* Random queries, inside and outside the space, both families. */
                for (int q = 0; q < 2000; q++) {
                        struct ip_addr a;

                        random_prefix(&seed, q % 2 ? AF_INET : AF_INET6, &a);
                        if (q % 7 == 0)
                                a.u.bytes[1] ^= 1; /* outside the space */
                        ASSERT_EQ(model_covers(written, n_written, &a), group_static_covers(g, &a));
                }
                free(written);
                free(text);
        }
}

static void test_static_bounds(void) {
        char *text = NULL, buf[64];
        size_t used = 0, size = 0;

        /* 1,000,000 static entries in a group are fine, one more is not. */
        append(&text, &used, &size, "[big]\naddresses =\n");
        for (unsigned i = 0; i < 1000001; i++) {
                snprintf(buf, sizeof(buf), "  %u.%u.%u.%u\n", 16 + (i >> 24), (i >> 16) & 255, (i >> 8) & 255, i & 255);
                append(&text, &used, &size, buf);
        }
        EXPECT_ERRORS(text, "error: test.conf:1000003: too many addresses in group 'big' (at most 1000000 per group); "
                            "use broader prefixes or split the group\n");
        text[used - strlen(buf)] = 0;
        {
                _cleanup_config_ struct config *c = EXPECT_OK(text);
                ASSERT_UEQ(1000000, c->groups[0].n_addresses);
                ASSERT_TRUE(group_static_covers(&c->groups[0], &c->groups[0].addresses[999999]));
        }
        free(text);
}

static void test_error_cap(void) {
        /* 60 bad lines: the first 50 are reported, then it stops. */
        char text[4096];
        size_t used = 0;
        struct config *c = NULL;
        char *err = NULL;
        unsigned lines = 0;

        used += (size_t) snprintf(text + used, sizeof(text) - used, "[g]\n");
        for (int i = 0; i < 60; i++)
                used += (size_t) snprintf(text + used, sizeof(text) - used, "bad%d = 1\n", i);
        ASSERT_EQ(-EINVAL, load_capture(text, &c, &err));
        for (const char *s = err; (s = strchr(s, '\n')); s++)
                lines++;
        ASSERT_UEQ(51, lines);
        ASSERT_TRUE(strstr(err, "error: test.conf:51: unknown key 'bad49' in group [g]"));
        ASSERT_TRUE(strstr(err, "error: test.conf: too many errors, stopping after 50\n"));
        ASSERT_TRUE(!strstr(err, "bad50"));
        free(err);
}

static void test_group_equal(void) {
        static const char text[] =
                "[a]\nproduct = P\ndescription = D\nhosts = x.example y.example\naddresses = 192.0.2.1\n"
                "allow = tcp/80\ndomains = d.example\nvalidity = 7d\nrefresh = 1h\nfamily = ipv4\n";
        _cleanup_config_ struct config *a = EXPECT_OK(text);
        _cleanup_config_ struct config *b = EXPECT_OK(text);
        static const char *const variants[] = {
                "[b]\nproduct = P\ndescription = D\nhosts = x.example y.example\naddresses = 192.0.2.1\nallow = tcp/80\ndomains = d.example\nvalidity = 7d\nrefresh = 1h\nfamily = ipv4\n",
                "[a]\nproduct = Q\ndescription = D\nhosts = x.example y.example\naddresses = 192.0.2.1\nallow = tcp/80\ndomains = d.example\nvalidity = 7d\nrefresh = 1h\nfamily = ipv4\n",
                "[a]\nproduct = P\nhosts = x.example y.example\naddresses = 192.0.2.1\nallow = tcp/80\ndomains = d.example\nvalidity = 7d\nrefresh = 1h\nfamily = ipv4\n",
                "[a]\nproduct = P\ndescription = D\nhosts = x.example z.example\naddresses = 192.0.2.1\nallow = tcp/80\ndomains = d.example\nvalidity = 7d\nrefresh = 1h\nfamily = ipv4\n",
                "[a]\nproduct = P\ndescription = D\nhosts = x.example y.example\naddresses = 192.0.2.2\nallow = tcp/80\ndomains = d.example\nvalidity = 7d\nrefresh = 1h\nfamily = ipv4\n",
                "[a]\nproduct = P\ndescription = D\nhosts = x.example y.example\naddresses = 192.0.2.1\nallow = udp/80\ndomains = d.example\nvalidity = 7d\nrefresh = 1h\nfamily = ipv4\n",
                "[a]\nproduct = P\ndescription = D\nhosts = x.example y.example\naddresses = 192.0.2.1\nallow = tcp/80\ndomains = e.example\nvalidity = 7d\nrefresh = 1h\nfamily = ipv4\n",
                "[a]\nproduct = P\ndescription = D\nhosts = x.example y.example\naddresses = 192.0.2.1\nallow = tcp/80\ndomains = d.example\nvalidity = 6d\nrefresh = 1h\nfamily = ipv4\n",
                "[a]\nproduct = P\ndescription = D\nhosts = x.example y.example\naddresses = 192.0.2.1\nallow = tcp/80\ndomains = d.example\nvalidity = 7d\nrefresh = auto\nfamily = ipv4\n",
                "[a]\nproduct = P\ndescription = D\nhosts = x.example y.example\naddresses = 192.0.2.1\nallow = tcp/80\ndomains = d.example\nvalidity = 7d\nrefresh = 1h\nfamily = both\n",
        };

        ASSERT_TRUE(group_equal(&a->groups[0], &b->groups[0]));
        for (size_t i = 0; i < ELEMENTSOF(variants); i++) {
                _cleanup_config_ struct config *v = EXPECT_OK(variants[i]);
                if (group_equal(&a->groups[0], &v->groups[0])) {
                        fprintf(stderr, "variant %zu compares equal\n", i);
                        abort();
                }
        }
        ASSERT_STREQ("tcp", proto_to_string(IPPROTO_TCP));
        ASSERT_STREQ("udp", proto_to_string(IPPROTO_UDP));
        ASSERT_STREQ("?", proto_to_string(1));
}

/* Seeded, bounded random mutations of a valid file: only 0 or -EINVAL, never a crash or a leak. */
static void test_mutations(void) {
        static const char base[] =
                "[daemon]\ntable = inet allowlistd\nchain = allowlistd\ndns_servers = 127.0.0.1:5353, [::1]:53\n"
                "products = alpha wilife\nproduct_dir = " PRODUCTS "\nrefresh_min = 1m\nretry_min = 10s\nretry_max = 1h\n"
                "max_addresses = 256\nallow_private = no\non_exit = keep\n"
                "[csall]\nproduct = WiseMo myCloud\ndescription = Connection Servers\nhosts = csall.wisemo.com\n"
                "  b.example.com\nallow = tcp/80 tcp/1970 udp/49152-65535\nvalidity = 7d\nrefresh = auto\n"
                "[lan]\naddresses = 192.0.2.0/24 2001:db8::/32\nfamily = both\ndomains = senso.cloud\n";
        static const char alphabet[] = "[]=; #\n\t*/-.:,0123456789abcdxyzAZ_\"\\\xff";
        uint64_t seed = 0x9e3779b97f4a7c15ULL;
        unsigned ok = 0, bad = 0;
        int devnull, saved;

        fflush(stderr);
        saved = dup(STDERR_FILENO);
        devnull = open("/dev/null", O_WRONLY);
        ASSERT_TRUE(saved >= 0 && devnull >= 0);
        dup2(devnull, STDERR_FILENO);
        for (int iter = 0; iter < 3000; iter++) {
                char text[sizeof(base) + 64];
                size_t len = sizeof(base) - 1;
                int mutations;
                struct config *c = NULL;
                int r;

                memcpy(text, base, len + 1);
#define NEXT() (seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17, seed)
                mutations = 1 + (int) (NEXT() % 6);
                for (int m = 0; m < mutations; m++) {
                        size_t pos = (size_t) (NEXT() % (len + 1));
                        switch (NEXT() % 3) {
                        case 0: /* insert */
                                if (len + 1 < sizeof(text)) {
                                        memmove(text + pos + 1, text + pos, len - pos + 1);
                                        text[pos] = alphabet[NEXT() % (sizeof(alphabet) - 1)];
                                        len++;
                                }
                                break;
                        case 1: /* delete */
                                if (pos < len) {
                                        memmove(text + pos, text + pos + 1, len - pos);
                                        len--;
                                }
                                break;
                        default: /* replace */
                                if (pos < len)
                                        text[pos] = alphabet[NEXT() % (sizeof(alphabet) - 1)];
                                break;
                        }
                }
#undef NEXT
                r = config_load_string(text, "mutated.conf", &c);
                if (r != 0 && r != -EINVAL) {
                        dup2(saved, STDERR_FILENO);
                        fprintf(stderr, "iteration %d: unexpected %d for:\n%s\n", iter, r, text);
                        abort();
                }
                if (r == 0) {
                        ASSERT_TRUE(c != NULL);
                        /* Whatever was accepted must print. */
                        {
                                FILE *f = fopen("/dev/null", "w");
                                config_print_summary(c, f);
                                fclose(f);
                        }
                        config_check_runnable(c);
                        ok++;
                } else {
                        ASSERT_TRUE(c == NULL);
                        bad++;
                }
                config_free(c);
        }
        fflush(stderr);
        dup2(saved, STDERR_FILENO);
        close(saved);
        close(devnull);
        printf("mutations: %u accepted, %u refused\n", ok, bad);
        ASSERT_TRUE(ok > 0 && bad > 0);
}

/* The shipped file loads as it is, and each "#key = value" it documents first for a [daemon]
 * key, uncommented, gives exactly the built-in default. */
static void test_shipped_config(void) {
        static const char *const daemon_keys[] = {
                "table", "chain", "dns_servers", "state_file", "products", "product_dir", "refresh_min",
                "retry_min", "retry_max", "max_addresses", "allow_private", "on_exit", "snoop",
                "snoop_queue", "snoop_servers", "snoop_hold_max", "max_snooped",
        };
        _cleanup_config_ struct config *shipped = NULL, *uncommented = NULL, *defaults = NULL;
        bool seen[ELEMENTSOF(daemon_keys)] = { false };
        size_t size = 0, used = 0, n = 0;
        char *text = NULL, *line = NULL;
        FILE *f;

        ASSERT_EQ(0, config_load(SRCDIR "/conf/allowlistd.conf", &shipped));
        ASSERT_UEQ(0, shipped->n_groups);
        ASSERT_UEQ(0, shipped->n_products);
        defaults = EXPECT_OK("");

        f = fopen(SRCDIR "/conf/allowlistd.conf", "re");
        ASSERT_TRUE(f);
        text = calloc(1, 65536);
        ASSERT_TRUE(text);
        while (getline(&line, &size, f) > 0) {
                const char *out = line;

                if (line[0] == '#')
                        for (size_t i = 0; i < ELEMENTSOF(daemon_keys); i++) {
                                size_t k = strlen(daemon_keys[i]);
                                if (!seen[i] && strncmp(line + 1, daemon_keys[i], k) == 0 &&
                                    strncmp(line + 1 + k, " =", 2) == 0) {
                                        seen[i] = true;
                                        out = line + 1;
                                        n++;
                                }
                        }
                ASSERT_TRUE(used + strlen(out) < 65536);
                memcpy(text + used, out, strlen(out));
                used += strlen(out);
        }
        free(line);
        fclose(f);
        ASSERT_UEQ(ELEMENTSOF(daemon_keys), n);
        uncommented = EXPECT_OK(text);
        free(text);
        ASSERT_EQ(defaults->table_family, uncommented->table_family);
        ASSERT_STREQ(defaults->table, uncommented->table);
        ASSERT_STREQ(defaults->chain, uncommented->chain);
        ASSERT_TRUE(uncommented->dns_servers == NULL);
        ASSERT_STREQ("/var/lib/allowlistd/state", uncommented->state_file);
        ASSERT_STREQ(defaults->product_dir, uncommented->product_dir);
        ASSERT_UEQ(0, uncommented->n_products);
        ASSERT_UEQ(defaults->refresh_min, uncommented->refresh_min);
        ASSERT_UEQ(defaults->retry_min, uncommented->retry_min);
        ASSERT_UEQ(defaults->retry_max, uncommented->retry_max);
        ASSERT_UEQ(defaults->max_addresses, uncommented->max_addresses);
        ASSERT_EQ(defaults->allow_private, uncommented->allow_private);
        ASSERT_EQ(defaults->on_exit, uncommented->on_exit);
        ASSERT_EQ(defaults->snoop, uncommented->snoop);
        ASSERT_UEQ(defaults->snoop_queue, uncommented->snoop_queue);
        ASSERT_UEQ(0, uncommented->n_snoop_servers);
        ASSERT_UEQ(defaults->snoop_hold_max, uncommented->snoop_hold_max);
        ASSERT_UEQ(defaults->max_snooped, uncommented->max_snooped);
        ASSERT_UEQ(0, uncommented->n_groups);
}

/* snoop = yes enforces domains=: such a group may stand alone, and the summary says so. */
static void test_snoop(void) {
        _cleanup_config_ struct config *d = EXPECT_OK("[g]\nhosts = a.example\n");
        _cleanup_config_ struct config *c = EXPECT_OK(
                "[daemon]\nsnoop = yes\nsnoop_queue = 7\nsnoop_servers = 192.0.2.53, 2001:db8::53\n"
                "snoop_hold_max = 250ms\nmax_snooped = 100\n"
                "[senso]\ndomains = *.senso.cloud service.signalr.net\nallow = tcp/443\n");
        char *s;

        ASSERT_TRUE(!(d->snoop));
        ASSERT_UEQ(0, d->snoop_queue);
        ASSERT_UEQ(0, d->n_snoop_servers);
        ASSERT_UEQ(USEC_PER_SEC, d->snoop_hold_max);
        ASSERT_UEQ(4096, d->max_snooped);

        ASSERT_TRUE(c->snoop);
        ASSERT_UEQ(7, c->snoop_queue);
        ASSERT_UEQ(2, c->n_snoop_servers);
        ASSERT_UEQ(AF_INET6, c->snoop_servers[1].family);
        ASSERT_UEQ(250 * USEC_PER_MSEC, c->snoop_hold_max);
        ASSERT_UEQ(100, c->max_snooped);
        s = summary(c);
        ASSERT_STREQ("senso: 0 hosts, 0 static, allow tcp/443, validity 1h, refresh auto\n"
                     "Enforced by DNS snooping (queue 7):\n"
                     "  senso: *.senso.cloud\n"
                     "  senso: *.service.signalr.net\n"
                     "1 group, 0 hosts, 0 static entries, 1 allow rule, 2 domains snooped; table inet allowlistd, chain allowlistd\n",
                     s);
        free(s);

        /* Label boundaries, case, and not the apex. */
        ASSERT_TRUE(domain_matches("senso.cloud", "a1.senso.cloud"));
        ASSERT_TRUE(domain_matches("senso.cloud", "x.y.senso.cloud"));
        ASSERT_TRUE(domain_matches("senso.cloud", "A1.SENSO.Cloud"));
        ASSERT_TRUE(!(domain_matches("senso.cloud", "senso.cloud")));
        ASSERT_TRUE(!(domain_matches("senso.cloud", "evilsenso.cloud")));
        ASSERT_TRUE(!(domain_matches("senso.cloud", ".senso.cloud")));
        ASSERT_TRUE(!(domain_matches("senso.cloud", "senso.cloud.evil.test")));
        ASSERT_TRUE(!(domain_matches("senso.cloud", "cloud")));
        ASSERT_TRUE(!(domain_matches("senso.cloud", "")));
        ASSERT_TRUE(group_matches_name(&c->groups[0], "x.service.signalr.net"));
        ASSERT_TRUE(!(group_matches_name(&c->groups[0], "service.signalr.net")));

        EXPECT_ERRORS("[g]\ndomains = senso.cloud\n",
                      "error: test.conf:1: group 'g' has no hosts and no addresses; give it at least one destination in hosts= or addresses=, or set snoop = yes to learn its domains= from DNS replies\n");
        EXPECT_ERRORS("[daemon]\nsnoop_queue = 65536\n",
                      "error: test.conf:2: bad snoop_queue '65536'; write a queue number from 0 to 65535\n");
        EXPECT_ERRORS("[daemon]\nsnoop_hold_max = 11s\n",
                      "error: test.conf:2: bad snoop_hold_max '11s'; write a duration from 1ms to 10s, such as 1s or 500ms\n");
        EXPECT_ERRORS("[daemon]\nmax_snooped = 0\n",
                      "error: test.conf:2: bad max_snooped '0'; write a number from 1 to 1000000\n");
        EXPECT_ERRORS("[daemon]\ntable = ip6 fw\nsnoop_servers = 192.0.2.53\n[g]\nhosts = a.example\n",
                      "error: test.conf:3: snoop_servers lists 192.0.2.53, but table ip6 fw sees only IPv6 packets; remove it or use table = inet fw\n");
        EXPECT_ERRORS("[daemon]\nsnoop_servers = 192.0.2.0/24\n",
                      "error: test.conf:2: bad snoop_servers entry '192.0.2.0/24'; write the IPv4 or IPv6 address of a DNS resolver (192.0.2.53, 2001:db8::53)\n");
}

int main(void) {
        test_metrics_file();
        test_defaults();
        test_snoop();
        test_happy_path();
        test_man_page_claims();
        test_table_family();
        test_products();
        test_group_errors();
        test_value_errors();
        test_daemon_errors();
        test_inih_premise();
        test_long_lines();
        test_nul_byte();
        test_continuation_2000();
        test_bounds();
        test_static_coverage_model();
        test_static_bounds();
        test_error_cap();
        test_group_equal();
        test_shipped_config();
        test_mutations();
        return 0;
}
