/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The shipped product profiles (conf/products) against the vendor documents they come from.
 * Every group, host, port, validity and domain below is written from the documents in
 * shared/vendor-docs, not from the profiles, so a profile that drifts from its document fails.
 * The file checks run on their own; the profile contents are checked through the real config
 * parser, and only a parser that is not there yet (-ENOSYS) makes this test skip. */
#include <dirent.h>
#include <netinet/in.h>

#include "config.h"
#include "test-util.h"

#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP
#define MAX_EXPECTED 8
#define PRODUCT_DIR SRCDIR "/conf/products"

struct expected_group {
        const char *name;
        const char *description;             /* NULL: only required to be non-empty */
        const char *hosts[MAX_EXPECTED];      /* NULL-terminated */
        const char *domains[MAX_EXPECTED];    /* NULL-terminated */
        struct port_range allow[MAX_EXPECTED]; /* terminated by proto 0 */
        usec_t validity;
        bool needs_hosts;
};

struct expected_product {
        const char *name;     /* products = NAME loads NAME.conf */
        const char *document; /* the vendor document every group comment must name */
        const char *product;  /* product = */
        bool runnable;        /* config_check_runnable() accepts it */
        struct expected_group groups[MAX_EXPECTED]; /* terminated by name NULL */
};

/* The documents give no validity except WiseMo's, so the others use the default. */
#define DEFAULT_VALIDITY USEC_PER_HOUR

static const struct expected_product products[] = {
        {
                /* "Purpose Ports DNS lookup name Validity days"; all connections are TCP. */
                .name = "wisemo-mycloud",
                .document = "wisemo-mycloud-firewall-guide.txt",
                .product = "WiseMo myCloud",
                .runnable = true,
                .groups = {
                        { .name = "wisemo_cm", .description = "Connection Manager",
                          .hosts = { "mycloudall.wisemo.com" },
                          .allow = { { TCP, 80, 80 }, { TCP, 443, 443 } },
                          .validity = 30 * USEC_PER_DAY },
                        { .name = "wisemo_cs", .description = "Connection Servers",
                          .hosts = { "csall.wisemo.com" },
                          .allow = { { TCP, 80, 80 }, { TCP, 1970, 1970 } },
                          .validity = 7 * USEC_PER_DAY },
                        { .name = "wisemo_skins", .description = "Skin server",
                          .hosts = { "skinsall.wisemo.com" },
                          .allow = { { TCP, 80, 80 }, { TCP, 443, 443 }, { TCP, 8085, 8085 } },
                          .validity = 30 * USEC_PER_DAY },
                },
        },
        {
                /* HTTPS rows on 443; "443, 3478 UDP, STUN, TURN, HTTPS" plus METHOD 3's
                 * "Port: 49152-65535 ... Protocol: UDP" for both sturn hosts. */
                .name = "senso",
                .document = "senso-firewall-exclusions.txt",
                .product = "senso",
                .runnable = true,
                .groups = {
                        { .name = "senso_https",
                          .hosts = { "sensoeugeneral.blob.core.windows.net",
                                     "sensoeustorage.blob.core.windows.net",
                                     "sensologarchivestorage.blob.core.windows.net" },
                          .domains = { "senso.cloud", "service.signalr.net" },
                          .allow = { { TCP, 443, 443 } },
                          .validity = DEFAULT_VALIDITY },
                        { .name = "senso_sturn_eu",
                          .hosts = { "senso-sturn-northeu.cloudapp.net" },
                          .allow = { { TCP, 443, 443 }, { UDP, 3478, 3478 }, { UDP, 49152, 65535 } },
                          .validity = DEFAULT_VALIDITY },
                        { .name = "senso_sturn_us",
                          .hosts = { "senso-sturn-centralusa.cloudapp.net" },
                          .allow = { { TCP, 443, 443 }, { UDP, 3478, 3478 }, { UDP, 49152, 65535 } },
                          .validity = DEFAULT_VALIDITY },
                },
        },
        {
                /* "CDN endpoint", "443 (TCP)"; "STUN/TURN Redundancies" with "3478 (TCP/UDP)
                 * and 5349 (TCP/UDP)". Traffic Manager and datacentre names: not in the document. */
                .name = "remotespark",
                .document = "remotespark-network-firewall-rules.txt",
                .product = "RemoteSpark",
                .runnable = true,
                .groups = {
                        { .name = "remotespark_cdn",
                          .hosts = { "cdn.kognitivspark.net" },
                          .allow = { { TCP, 443, 443 } },
                          .validity = DEFAULT_VALIDITY },
                        { .name = "remotespark_stun_turn",
                          .hosts = { "global.turn.twilio.com", "stun.google.com" },
                          .allow = { { TCP, 3478, 3478 }, { UDP, 3478, 3478 },
                                     { TCP, 5349, 5349 }, { UDP, 5349, 5349 } },
                          .validity = DEFAULT_VALIDITY },
                },
        },
        {
                /* Version 3.x: "TCP to port 9555 on oem.trispen.com", "TCP to port 9555 on
                 * lookup.trispen.com", "TCP to port 5222 on lookup.trispen.com". */
                .name = "trispen-atheoffice",
                .document = "trispen-atheoffice-firewall.txt",
                .product = "Trispen @TheOffice",
                .runnable = true,
                .groups = {
                        { .name = "trispen_oem",
                          .hosts = { "oem.trispen.com" },
                          .allow = { { TCP, 9555, 9555 } },
                          .validity = DEFAULT_VALIDITY },
                        { .name = "trispen_lookup",
                          .hosts = { "lookup.trispen.com" },
                          .allow = { { TCP, 9555, 9555 }, { TCP, 5222, 5222 } },
                          .validity = DEFAULT_VALIDITY },
                },
        },
        {
                /* No host names in the document: "WiLife Online TCP: ports 80, 443, 5222",
                 * "Relay Mode Remote Viewing TCP: 80, 443, 554, 1755", "Email Notifications TCP:
                 * port 25 (or other custom SMTP port such as 465 for GMAIL)". */
                .name = "wilife",
                .document = "wilife-v2.1-firewall.txt",
                .product = "WiLife",
                .runnable = false,
                .groups = {
                        { .name = "wilife_online",
                          .allow = { { TCP, 80, 80 }, { TCP, 443, 443 }, { TCP, 5222, 5222 } },
                          .validity = DEFAULT_VALIDITY, .needs_hosts = true },
                        { .name = "wilife_webclient",
                          .allow = { { TCP, 80, 80 }, { TCP, 443, 443 }, { TCP, 554, 554 },
                                     { TCP, 1755, 1755 } },
                          .validity = DEFAULT_VALIDITY, .needs_hosts = true },
                        { .name = "wilife_mail",
                          .allow = { { TCP, 25, 25 }, { TCP, 465, 465 } },
                          .validity = DEFAULT_VALIDITY, .needs_hosts = true },
                },
        },
};

static void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

static size_t count_strings(const char *const *v) {
        size_t n = 0;

        while (n < MAX_EXPECTED && v[n])
                n++;
        return n;
}

static size_t count_ports(const struct port_range *v) {
        size_t n = 0;

        while (n < MAX_EXPECTED && v[n].proto != 0)
                n++;
        return n;
}

static size_t count_groups(const struct expected_product *p) {
        size_t n = 0;

        while (n < MAX_EXPECTED && p->groups[n].name)
                n++;
        return n;
}

static bool ends_with(const char *s, const char *suffix) {
        size_t l = strlen(s), k = strlen(suffix);

        return l >= k && streq(s + l - k, suffix);
}

/* Same members in any order: equal counts and every expected string present exactly once. */
static void assert_same_strings(const char *what, const char *group, const char *const *expected,
                                char *const *actual, size_t n_actual) {
        size_t n = count_strings(expected);

        if (n != n_actual) {
                fprintf(stderr, "%s: %s: expected %zu entries, got %zu\n", group, what, n, n_actual);
                abort();
        }
        for (size_t i = 0; i < n; i++) {
                size_t found = 0;

                for (size_t j = 0; j < n_actual; j++)
                        if (actual[j] && streq(expected[i], actual[j]))
                                found++;
                if (found != 1) {
                        fprintf(stderr, "%s: %s: \"%s\" found %zu times, expected once\n",
                                group, what, expected[i], found);
                        abort();
                }
        }
}

static void assert_same_ports(const char *group, const struct port_range *expected,
                              const struct port_range *actual, size_t n_actual) {
        size_t n = count_ports(expected);

        if (n != n_actual) {
                fprintf(stderr, "%s: allow: expected %zu entries, got %zu\n", group, n, n_actual);
                abort();
        }
        for (size_t i = 0; i < n; i++) {
                size_t found = 0;

                for (size_t j = 0; j < n_actual; j++)
                        if (expected[i].proto == actual[j].proto && expected[i].first == actual[j].first &&
                            expected[i].last == actual[j].last)
                                found++;
                if (found != 1) {
                        fprintf(stderr, "%s: allow: %s/%u-%u found %zu times, expected once\n", group,
                                expected[i].proto == TCP ? "tcp" : "udp", expected[i].first,
                                expected[i].last, found);
                        abort();
                }
        }
}

static void check_group(const struct expected_product *p, const struct expected_group *e,
                        const struct group *g) {
        char file[64];

        fprintf(stderr, "  %s\n", e->name);
        ASSERT_STREQ(e->name, g->name);
        ASSERT_STREQ(p->product, g->product);
        if (e->description)
                ASSERT_STREQ(e->description, g->description);
        else
                ASSERT_TRUE(!isempty(g->description));
        assert_same_strings("hosts", e->name, e->hosts, g->hosts, g->n_hosts);
        ASSERT_UEQ(0, g->n_addresses); /* the documents give names, never addresses */
        assert_same_strings("domains", e->name, e->domains, g->domains, g->n_domains);
        assert_same_ports(e->name, e->allow, g->allow, g->n_allow);
        ASSERT_UEQ(e->validity, g->validity);
        ASSERT_UEQ(0, g->refresh); /* auto: no document says how often to look */
        ASSERT_UEQ(FAMILY_BOTH, g->family);
        ASSERT_EQ(e->needs_hosts, g->needs_hosts);

        /* Defined in the product's own profile, not elsewhere. */
        snprintf(file, sizeof(file), "%s.conf", p->name);
        ASSERT_TRUE(g->file);
        ASSERT_TRUE(ends_with(g->file, file));
        ASSERT_TRUE(g->line > 0);
}

static int load_products(const char *names, struct config **ret) {
        char text[512];
        int r;

        ASSERT_TRUE((size_t) snprintf(text, sizeof(text), "[daemon]\nproducts = %s\nproduct_dir = %s\n",
                                      names, PRODUCT_DIR) < sizeof(text));
        r = config_load_string(text, "test-products.conf", ret);
        if (r == -ENOSYS) {
                fprintf(stderr, "config_load_string() is not implemented yet, skipping\n");
                exit(77);
        }
        return r;
}

/* Finds the one group called name; aborts when there is none or more than one. */
static const struct group *find_group_once(const struct config *c, const char *name) {
        const struct group *found = NULL;

        for (size_t i = 0; i < c->n_groups; i++)
                if (streq(c->groups[i].name, name)) {
                        ASSERT_TRUE(!found);
                        found = &c->groups[i];
                }
        if (!found) {
                fprintf(stderr, "group %s not loaded\n", name);
                abort();
        }
        ASSERT_TRUE(config_find_group(c, name) == found);
        return found;
}

/* Each profile alone: exactly its groups, and runnable unless it needs the operator's hosts. */
static void test_each_profile(void) {
        for (size_t i = 0; i < ELEMENTSOF(products); i++) {
                const struct expected_product *p = &products[i];
                _cleanup_config_ struct config *c = NULL;
                size_t n = count_groups(p);

                fprintf(stderr, "profile %s\n", p->name);
                ASSERT_EQ(0, load_products(p->name, &c));
                ASSERT_UEQ(1, c->n_products);
                ASSERT_STREQ(p->name, c->products[0]);
                ASSERT_STREQ(PRODUCT_DIR, c->product_dir);
                ASSERT_UEQ(n, c->n_groups);
                for (size_t j = 0; j < n; j++)
                        check_group(p, &p->groups[j], find_group_once(c, p->groups[j].name));
                ASSERT_EQ(p->runnable ? 0 : -EINVAL, config_check_runnable(c));
        }
}

/* All profiles at once, as a user may enable them: group names are unique across the files,
 * and the result runs exactly when every enabled profile is runnable on its own. */
static void test_all_profiles(bool with_unrunnable) {
        _cleanup_config_ struct config *c = NULL;
        char names[256] = "";
        size_t n_groups = 0, n_products = 0;

        for (size_t i = 0; i < ELEMENTSOF(products); i++) {
                if (!products[i].runnable && !with_unrunnable)
                        continue;
                strcat(names, " ");
                strcat(names, products[i].name);
                n_groups += count_groups(&products[i]);
                n_products++;
        }
        fprintf(stderr, "profiles%s\n", names);
        ASSERT_EQ(0, load_products(names + 1, &c));
        ASSERT_UEQ(n_products, c->n_products);
        ASSERT_UEQ(n_groups, c->n_groups);
        for (size_t i = 0; i < ELEMENTSOF(products); i++) {
                if (!products[i].runnable && !with_unrunnable)
                        continue;
                for (size_t j = 0; j < count_groups(&products[i]); j++)
                        check_group(&products[i], &products[i].groups[j],
                                    find_group_once(c, products[i].groups[j].name));
        }
        ASSERT_EQ(with_unrunnable ? -EINVAL : 0, config_check_runnable(c));
}

static const struct expected_product *find_expected(const char *file) {
        for (size_t i = 0; i < ELEMENTSOF(products); i++) {
                char name[64];

                snprintf(name, sizeof(name), "%s.conf", products[i].name);
                if (streq(name, file))
                        return &products[i];
        }
        return NULL;
}

/* Without the parser: every file in conf/products is a profile tested here, and the file
 * keeps to what the parser and an auditor need: lines that fit inih's 200-byte buffer, no
 * '#' after a value (only ';' starts an inline comment), no [daemon] section, and a comment
 * naming the vendor document directly above every group. */
static void test_profile_files(void) {
        _cleanup_(closedirp) DIR *d = opendir(PRODUCT_DIR);
        size_t n_files = 0;
        struct dirent *de;

        ASSERT_TRUE(d);
        while ((de = readdir(d))) {
                const struct expected_product *p;
                _cleanup_fclose_ FILE *f = NULL;
                char path[512], line[512];
                bool comment_names_document = false;
                unsigned lineno = 0;
                size_t n_groups = 0;

                if (de->d_name[0] == '.')
                        continue;
                p = find_expected(de->d_name);
                if (!p) {
                        fprintf(stderr, "%s/%s: not a profile this test knows\n", PRODUCT_DIR, de->d_name);
                        abort();
                }
                n_files++;
                snprintf(path, sizeof(path), "%s/%s", PRODUCT_DIR, de->d_name);
                f = fopen(path, "re");
                ASSERT_TRUE(f);
                while (fgets(line, sizeof(line), f)) {
                        size_t l = strlen(line);

                        lineno++;
                        if (l + 1 >= 200 || l == 0 || line[l - 1] != '\n') {
                                fprintf(stderr, "%s:%u: line too long or not terminated\n", path, lineno);
                                abort();
                        }
                        if (line[0] == '#' || line[0] == ';') {
                                if (strstr(line, p->document))
                                        comment_names_document = true;
                                continue;
                        }
                        if (strchr(line, '#')) {
                                fprintf(stderr, "%s:%u: '#' outside a comment line\n", path, lineno);
                                abort();
                        }
                        if (line[0] == '[') {
                                ASSERT_TRUE(strncmp(line, "[daemon]", 8) != 0);
                                if (!comment_names_document) {
                                        fprintf(stderr, "%s:%u: no comment naming %s above the group\n",
                                                path, lineno, p->document);
                                        abort();
                                }
                                n_groups++;
                        }
                        /* The quote must be in the comment block right above the group. */
                        comment_names_document = false;
                }
                ASSERT_TRUE(!ferror(f));
                ASSERT_UEQ(count_groups(p), n_groups);
        }
        ASSERT_UEQ(ELEMENTSOF(products), n_files);
}

int main(void) {
        test_profile_files();
        test_each_profile();
        test_all_profiles(false);
        test_all_profiles(true);
        return 0;
}
