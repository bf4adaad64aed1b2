/* SPDX-License-Identifier: GPL-2.0-or-later */
/* INI configuration into an immutable struct config. No side effects but reading files and
 * logging errors: every problem is reported as "FILE:LINE: what is wrong; what would be right",
 * all of them (up to ERRORS_MAX), and the load fails with -EINVAL. */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <ini.h>
#include <limits.h>
#include <linux/netfilter.h>
#include <stdarg.h>

#include "config.h"
#include "log.h"
#include "paths.h"

/* Bounds on everything a file can make us allocate. */
#define ERRORS_MAX 50
#define GROUPS_MAX 1000
#define HOSTS_PER_GROUP_MAX 10000
#define HOSTS_TOTAL_MAX 100000
/* Static entries: a few generated lists of a million addresses each are plausible (a vendor's
 * published ranges, expanded); at 18 bytes each in memory plus the kernel's element, more would
 * be a mistake. */
#define ADDRESSES_PER_GROUP_MAX 1000000
#define ADDRESSES_TOTAL_MAX 2000000
#define ALLOW_PER_GROUP_MAX 1000
#define DOMAINS_PER_GROUP_MAX 1000
#define PRODUCTS_MAX 64
#define DNS_SERVERS_MAX 32
#define PRODUCT_NAME_MAX 64     /* [a-z0-9][a-z0-9-]{0,63} */
#define NFT_NAME_MAX 64         /* [A-Za-z][A-Za-z0-9_-]{0,63} */
#define PRODUCT_LABEL_MAX 64    /* product = WiseMo myCloud */
#define DESCRIPTION_MAX 128     /* nft comments are at most 128 bytes */
#define VALIDITY_MAX (365 * USEC_PER_DAY)
#define MAX_ADDRESSES_LIMIT 65536
#define SECTION_NAME_MAX 256
#define SNOOP_SERVERS_MAX 32
#define SNOOP_HOLD_MAX_LIMIT (10 * USEC_PER_SEC)
#define MAX_SNOOPED_LIMIT 1000000
#define KEYS_MAX 64             /* size of the key table, checked below */

enum section_kind {
        SECTION_NONE,   /* before the first [section] */
        SECTION_DAEMON,
        SECTION_GROUP,
        SECTION_BAD,    /* already reported; its keys are skipped */
};

enum line_kind {
        LINE_COMMENT,
        LINE_SECTION,
        LINE_KEY,
        LINE_CONTINUATION,
        LINE_BAD,       /* already reported; inih may still call the handler for it */
};

struct parser;
struct file_ctx;
struct key;

typedef int (*key_parser)(struct file_ctx *fc, const struct key *k, const char *value, void *field);

struct key {
        enum section_kind section;
        const char *name;
        key_parser parse;
        size_t offset;  /* of the field in struct config or struct group */
        bool list;      /* accumulates over repeats and indented continuation lines */
};

/* What only the parser needs to know about a group, kept apart so struct group stays plain. */
struct group_extra {
        unsigned *key_line;     /* per key table index: where it was first set, 0 = never */
        unsigned *host_lines;
        unsigned *address_lines;
        size_t hosts_allocated, addresses_allocated, allow_allocated, domains_allocated;
        bool hosts_empty;       /* an explicit "hosts =" with nothing after it */
};

struct parser {
        struct config *config;
        struct group_extra *extras;     /* parallel to config->groups */
        size_t groups_allocated, products_allocated;
        unsigned *product_lines;        /* parallel to config->products */
        unsigned daemon_key_line[KEYS_MAX]; /* per key table index, for [daemon] */
        char *daemon_file;
        unsigned daemon_line;
        size_t n_hosts_total, n_addresses_total;
        unsigned n_errors;
        int oom;
        bool stop;
};

/* One file being read. */
struct file_ctx {
        struct parser *p;
        const char *path;
        FILE *f;                /* or text */
        const char *text;
        size_t pos;
        bool is_profile;
        unsigned line;
        enum line_kind line_kind;
        bool have_prev_key;     /* mirrors inih's prev_name: indented lines continue it */
        enum section_kind section;
        char section_name[SECTION_NAME_MAX];
        size_t group;           /* index when section == SECTION_GROUP */
        unsigned *key_line;     /* of the current section */
        const struct key *last_key;
};

_printf_(4, 5)
static void parser_error(struct parser *p, const char *file, unsigned line, const char *fmt, ...) {
        char msg[1024];
        va_list ap;

        if (p->stop)
                return;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (line > 0)
                log_error("%s:%u: %s", file, line, msg);
        else
                log_error("%s: %s", file, msg);
        if (++p->n_errors >= ERRORS_MAX) {
                log_error("%s: too many errors, stopping after %u", file, p->n_errors);
                p->stop = true;
        }
}

#define file_error(fc, ...) parser_error((fc)->p, (fc)->path, (fc)->line, __VA_ARGS__)

static void parser_oom(struct parser *p) {
        if (!p->oom)
                p->oom = -ENOMEM;
        p->stop = true;
}

static struct group *current_group(struct file_ctx *fc) {
        return &fc->p->config->groups[fc->group];
}

static struct group_extra *current_extra(struct file_ctx *fc) {
        return &fc->p->extras[fc->group];
}

/* Splits value into words separated by whitespace (and commas when allowed), calling
 * fn for each. Values are at most one line long, so a word fits in the line buffer. */
static void for_each_word(struct file_ctx *fc, const struct key *k, const char *value, bool commas,
                          void (*fn)(struct file_ctx *fc, const struct key *k, const char *word)) {
        const char *seps = commas ? " \t," : " \t";

        while (*value && !fc->p->stop) {
                char word[4096];
                size_t n;

                value += strspn(value, seps);
                n = strcspn(value, seps);
                if (n == 0)
                        break;
                if (n >= sizeof(word)) {
                        /* Only with an inih built with a larger line buffer than Debian's. */
                        file_error(fc, "value of %s too long; split it into words", k->name);
                        return;
                }
                memcpy(word, value, n);
                word[n] = 0;
                value += n;
                fn(fc, k, word);
        }
}

static bool parse_port(const char *s, size_t n, unsigned *ret) {
        unsigned v = 0;

        if (n == 0 || n > 5)
                return false;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (unsigned) (s[i] - '0');
        }
        *ret = v;
        return true;
}

static bool all_digits(const char *s, size_t n) {
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return true;
}

/* ---- value checkers shared by several keys ---- */

/* RFC 1123 host name: labels of 1-63 letters, digits and inner '-', 253 characters in all,
 * lower-cased, one trailing dot stripped. Logs what is wrong and returns -EINVAL. */
static int host_name_normalize(struct file_ctx *fc, const char *what, const char *word,
                               char ret[HOST_NAME_MAX_LEN + 1]) {
        char name[HOST_NAME_MAX_LEN + 1];
        size_t len = strlen(word), label_start = 0;
        struct ip_addr a;

        if (strchr(word, '*') && streq(what, "domain")) {
                file_error(fc, "bad domain '%s': write it without wildcards (senso.cloud for *.senso.cloud)", word);
                return -EINVAL;
        }
        if (strchr(word, '*')) {
                file_error(fc, "'%s' is a wildcard: wildcards cannot be pre-resolved; put the domain in domains= instead",
                           word);
                return -EINVAL;
        }
        if (addr_parse(word, &a) >= 0) {
                file_error(fc, "'%s' is an address, not a %s; put it in addresses= instead", word, what);
                return -EINVAL;
        }
        if (len > 0 && word[len - 1] == '.')
                len--;
        if (len > HOST_NAME_MAX_LEN) {
                file_error(fc, "%s '%s' is too long (%zu characters); a DNS name has at most %d",
                           what, word, len, HOST_NAME_MAX_LEN);
                return -EINVAL;
        }
        for (size_t i = 0; i <= len; i++) {
                char c = i < len ? (char) tolower((unsigned char) word[i]) : '.';

                if (c == '.') {
                        size_t l = i - label_start;

                        if (l == 0) {
                                file_error(fc, "bad %s '%s': empty label; write names like host.example.com",
                                           what, word);
                                return -EINVAL;
                        }
                        if (l > 63) {
                                file_error(fc, "bad %s '%s': a label is %zu characters long; a label has at most 63",
                                           what, word, l);
                                return -EINVAL;
                        }
                        if (name[label_start] == '-' || name[i - 1] == '-') {
                                file_error(fc, "bad %s '%s': a label must not begin or end with '-'", what, word);
                                return -EINVAL;
                        }
                        label_start = i + 1;
                } else if (!(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') && c != '-') {
                        file_error(fc, "bad %s '%s': '%c' is not allowed; use letters, digits, '-' and '.' (RFC 1123)",
                                   what, word, isprint((unsigned char) c) ? c : '?');
                        return -EINVAL;
                }
                if (i < len)
                        name[i] = c;
        }
        name[len] = 0;
        /* An all-numeric last label reads as an address to resolvers (RFC 3696 2). */
        {
                const char *dot = strrchr(name, '.');
                const char *last = dot ? dot + 1 : name;

                if (all_digits(last, strlen(last))) {
                        file_error(fc, "bad %s '%s': the last label must not be all digits", what, word);
                        return -EINVAL;
                }
        }
        memcpy(ret, name, len + 1);
        return 0;
}

static int parse_bool(const char *s, bool *ret) {
        static const char *const yes[] = { "yes", "true", "on", "1" }, *const no[] = { "no", "false", "off", "0" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (streq(s, yes[i])) {
                        *ret = true;
                        return 0;
                }
                if (streq(s, no[i])) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

/* nft identifiers, restricted to what cannot surprise anybody. */
static bool nft_name_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > NFT_NAME_MAX || !isalpha((unsigned char) s[0]) || !isascii((unsigned char) s[0]))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!isascii((unsigned char) s[i]) ||
                    !(isalnum((unsigned char) s[i]) || s[i] == '_' || s[i] == '-'))
                        return false;
        return true;
}

/* The words nft's parser takes as keywords where a table or chain name goes: the kernel accepts
 * them, but an nft script cannot name such a table or chain (nft 1.0.6 has no quoted
 * identifiers), so neither the --dry-run script nor an operator's nft command could use it. Each
 * was tried as a table and as a chain name with nft 1.0.6's `nft -c -f`, out of every keyword of
 * its scanner and of later versions'; names nft only knows in a scope (filter, nat, dport, ...)
 * work and are not here. Sorted for bsearch() (strcmp order). */
static const char *const nft_keywords[] = {
        "accept", "add", "ah", "all", "and", "arp", "auto-merge", "bridge", "cgroup", "chain", "comment",
        "comp", "constant", "continue", "counter", "cpu", "create", "ct", "day", "dccp", "define", "delete",
        "describe", "device", "devices", "dnat", "drop", "dst", "dup", "dynamic", "ecn", "element", "elements",
        "eq", "esp", "ether", "exists", "expires", "export", "exthdr", "fib", "flags", "flow", "flowtable",
        "flush", "frag", "fwd", "gc-interval", "ge", "get", "goto", "gt", "handle", "hbh", "hook", "hour",
        "ibriport", "ibrname", "icmp", "icmpv6", "igmp", "iif", "iifgroup", "iifname", "iiftype", "import",
        "include", "index", "inet", "insert", "interval", "ip", "ip6", "ipsec", "jhash", "jump", "le", "limit",
        "list", "log", "lshift", "lt", "map", "mark", "masquerade", "meta", "meter", "mh", "missing",
        "monitor", "ne", "netdev", "nftrace", "not", "notrack", "numgen", "obriport", "obrname", "offload",
        "oif", "oifgroup", "oifname", "oiftype", "or", "osf", "pkttype", "policy", "position", "priority",
        "queue", "quota", "random", "redefine", "redirect", "reject", "rename", "replace", "reset", "return",
        "rshift", "rt", "rt0", "rt2", "rtclassid", "rule", "ruleset", "sctp", "secmark", "set", "size",
        "skgid", "skuid", "snat", "socket", "srh", "symhash", "synproxy", "table", "tcp", "th", "time",
        "timeout", "tproxy", "type", "typeof", "udp", "udplite", "undefine", "update", "vlan", "vmap", "xor",
        "xt"
};

static int compare_keyword(const void *key, const void *element) {
        return strcmp(key, *(const char *const *) element);
}

static bool nft_keyword(const char *s) {
        return bsearch(s, nft_keywords, ELEMENTSOF(nft_keywords), sizeof(nft_keywords[0]), compare_keyword);
}

bool group_name_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > GROUP_NAME_MAX || !(s[0] >= 'a' && s[0] <= 'z'))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= '0' && s[i] <= '9') && s[i] != '_' && s[i] != '-')
                        return false;
        return true;
}

/* No slashes, no dots: the name becomes PRODUCT_DIR/NAME.conf. */
static bool product_name_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > PRODUCT_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= '0' && s[i] <= '9') && !(s[i] == '-' && i > 0))
                        return false;
        return true;
}

/* ---- [daemon] keys ---- */

static int parse_table(struct file_ctx *fc, const struct key *k, const char *value, void *field) {
        static const struct { const char *name; int family; } families[] = {
                { "inet", NFPROTO_INET }, { "ip", NFPROTO_IPV4 }, { "ip6", NFPROTO_IPV6 },
        };
        struct config *c = fc->p->config;
        const char *name;
        size_t n = strcspn(value, " \t");
        char *t;

        name = value + n;
        name += strspn(name, " \t");
        for (size_t i = 0; i < ELEMENTSOF(families); i++) {
                if (strlen(families[i].name) != n || strncmp(value, families[i].name, n) != 0)
                        continue;
                if (!nft_name_valid(name))
                        break;
                if (nft_keyword(name)) {
                        file_error(fc, "bad table '%s': '%s' is a word of the nft language, which an nft script (and so --dry-run's) cannot use as a table name; choose another NAME (table = inet allowlistd)",
                                   value, name);
                        return -EINVAL;
                }
                t = strdup(name);
                if (!t) {
                        parser_oom(fc->p);
                        return -ENOMEM;
                }
                free(c->table);
                c->table = t;
                c->table_family = families[i].family;
                return 0;
        }
        file_error(fc, "bad table '%s'; write FAMILY NAME with FAMILY inet, ip or ip6 and a NAME of a letter followed by up to 63 letters, digits, '_' or '-' (table = inet allowlistd)",
                   value);
        return -EINVAL;
}

static int parse_chain(struct file_ctx *fc, const struct key *k, const char *value, void *field) {
        char **chain = field, *t = NULL;

        if (!isempty(value)) {
                if (!nft_name_valid(value)) {
                        file_error(fc, "bad chain name '%s'; use a letter followed by up to 63 letters, digits, '_' or '-', or leave it empty for sets only",
                                   value);
                        return -EINVAL;
                }
                if (nft_keyword(value)) {
                        file_error(fc, "bad chain name '%s': a word of the nft language, which an nft script (and so --dry-run's) cannot use as a chain name; choose another (chain = allowlistd)",
                                   value);
                        return -EINVAL;
                }
                t = strdup(value);
                if (!t) {
                        parser_oom(fc->p);
                        return -ENOMEM;
                }
        }
        free(*chain);
        *chain = t;
        return 0;
}

static int parse_path(struct file_ctx *fc, const struct key *k, const char *value, void *field) {
        char **path = field, *t;

        if (value[0] != '/' || strlen(value) >= PATH_MAX) {
                file_error(fc, "%s '%s' is not an absolute path; write a path starting with '/'", k->name, value);
                return -EINVAL;
        }
        t = strdup(value);
        if (!t) {
                parser_oom(fc->p);
                return -ENOMEM;
        }
        free(*path);
        *path = t;
        return 0;
}

/* product_dir = (empty) keeps the built-in default. */
static int parse_product_dir(struct file_ctx *fc, const struct key *k, const char *value, void *field) {
        if (isempty(value))
                return 0;
        return parse_path(fc, k, value, field);
}

/* metrics_file = (empty) turns the metrics file off. */
static int parse_optional_path(struct file_ctx *fc, const struct key *k, const char *value, void *field) {
        char **path = field;

        if (isempty(value)) {
                free(*path);
                *path = NULL;
                return 0;
        }
        return parse_path(fc, k, value, field);
}

static int parse_duration_key(struct file_ctx *fc, const struct key *k, const char *value, void *field) {
        usec_t *d = field, v;

        if (parse_duration(value, &v) < 0) {
                file_error(fc, "bad duration '%s' for %s; write a number with s, m, h or d (90s, 15m, 1h, 7d)",
                           value, k->name);
                return -EINVAL;
        }
        if (v == 0) {
                file_error(fc, "%s must be longer than 0; write a duration such as 10s or 1h", k->name);
                return -EINVAL;
        }
        if (v > VALIDITY_MAX) {
                file_error(fc, "%s '%s' is longer than 365d; use at most 365d", k->name, value);
                return -EINVAL;
        }
        *d = v;
        return 0;
}

static int parse_max_addresses(struct file_ctx *fc, const struct key *k, const char *value, void *field) {
        unsigned *u = field;
        unsigned long v;
        char *end;

        errno = 0;
        v = all_digits(value, strlen(value)) ? strtoul(value, &end, 10) : 0;
        if (errno != 0 || v < 1 || v > MAX_ADDRESSES_LIMIT) {
                file_error(fc, "bad max_addresses '%s'; write a number from 1 to %d", value, MAX_ADDRESSES_LIMIT);
                return -EINVAL;
        }
        *u = (unsigned) v;
        return 0;
}

static int parse_snoop_queue(struct file_ctx *fc, const struct key *k, const char *value, void *field) {
        uint16_t *q = field;
        unsigned long v;
        char *end;

        errno = 0;
        v = all_digits(value, strlen(value)) ? strtoul(value, &end, 10) : ULONG_MAX;
        if (errno != 0 || v > 65535) {
                file_error(fc, "bad snoop_queue '%s'; write a queue number from 0 to 65535", value);
                return -EINVAL;
        }
        *q = (uint16_t) v;
        return 0;
}

/* A reply held longer than a client's own DNS timeout (1 s is the first retry of glibc's
 * resolver at its default 5 s) would only make it ask again. */
static int parse_snoop_hold_max(struct file_ctx *fc, const struct key *k, const char *value, void *field) {
        size_t n = strlen(value);
        usec_t *d = field;
        usec_t v = 0;
        int r;

        /* Durations elsewhere are whole seconds and up; this one is worth milliseconds too. */
        if (n > 2 && n <= 7 && streq(value + n - 2, "ms") && all_digits(value, n - 2)) {
                v = strtoull(value, NULL, 10) * USEC_PER_MSEC;
                r = 0;
        } else
                r = parse_duration(value, &v);
        if (r < 0 || v == 0 || v > SNOOP_HOLD_MAX_LIMIT) {
                file_error(fc, "bad snoop_hold_max '%s'; write a duration from 1ms to 10s, such as 1s or 500ms", value);
                return -EINVAL;
        }
        *d = v;
        return 0;
}

static int parse_max_snooped(struct file_ctx *fc, const struct key *k, const char *value, void *field) {
        unsigned *u = field;
        unsigned long v;
        char *end;

        errno = 0;
        v = all_digits(value, strlen(value)) ? strtoul(value, &end, 10) : 0;
        if (errno != 0 || v < 1 || v > MAX_SNOOPED_LIMIT) {
                file_error(fc, "bad max_snooped '%s'; write a number from 1 to %d", value, MAX_SNOOPED_LIMIT);
                return -EINVAL;
        }
        *u = (unsigned) v;
        return 0;
}

static void add_snoop_server(struct file_ctx *fc, const struct key *k, const char *word) {
        struct config *c = fc->p->config;
        struct ip_addr a;

        if (addr_parse(word, &a) < 0 || a.prefixlen != (a.family == AF_INET ? 32 : 128)) {
                file_error(fc, "bad snoop_servers entry '%s'; write the IPv4 or IPv6 address of a DNS resolver (192.0.2.53, 2001:db8::53)",
                           word);
                return;
        }
        for (size_t i = 0; i < c->n_snoop_servers; i++)
                if (addr_compare(&c->snoop_servers[i], &a) == 0) {
                        file_error(fc, "snoop_servers lists %s twice; remove one", word);
                        return;
                }
        if (c->n_snoop_servers >= SNOOP_SERVERS_MAX) {
                file_error(fc, "too many snoop_servers (at most %d)", SNOOP_SERVERS_MAX);
                return;
        }
        /* Grows by one: at most SNOOP_SERVERS_MAX entries. */
        struct ip_addr *t = realloc(c->snoop_servers, (c->n_snoop_servers + 1) * sizeof(*t));
        if (!t) {
                parser_oom(fc->p);
                return;
        }
        c->snoop_servers = t;
        c->snoop_servers[c->n_snoop_servers++] = a;
}

static int parse_snoop_servers(struct file_ctx *fc, const struct key *k, const char *value, void *field) {
        for_each_word(fc, k, value, true, add_snoop_server);
        return 0;
}

static int parse_bool_key(struct file_ctx *fc, const struct key *k, const char *value, void *field) {
        bool *b = field;

        if (parse_bool(value, b) < 0) {
                file_error(fc, "bad boolean '%s' for %s; write yes or no", value, k->name);
                return -EINVAL;
        }
        return 0;
}

static int parse_on_exit(struct file_ctx *fc, const struct key *k, const char *value, void *field) {
        enum on_exit_action *a = field;

        if (streq(value, "keep"))
                *a = ON_EXIT_KEEP;
        else if (streq(value, "remove"))
                *a = ON_EXIT_REMOVE;
        else {
                file_error(fc, "bad on_exit '%s'; write keep or remove", value);
                return -EINVAL;
        }
        return 0;
}

static void add_product(struct file_ctx *fc, const struct key *k, const char *word) {
        struct parser *p = fc->p;
        struct config *c = p->config;
        size_t allocated = p->products_allocated;
        char *t;

        if (!product_name_valid(word)) {
                file_error(fc, "bad product name '%s'; a product is named by lower-case letters, digits and '-', as its file in product_dir without .conf (wisemo-mycloud)",
                           word);
                return;
        }
        for (size_t i = 0; i < c->n_products; i++)
                if (streq(c->products[i], word)) {
                        file_error(fc, "product '%s' listed twice (first at line %u); remove one", word,
                                   p->product_lines[i]);
                        return;
                }
        if (c->n_products >= PRODUCTS_MAX) {
                file_error(fc, "too many products (at most %d)", PRODUCTS_MAX);
                return;
        }
        if (grow_array((void **) &c->products, &p->products_allocated, c->n_products + 1, sizeof(char *)) < 0 ||
            grow_array((void **) &p->product_lines, &allocated, c->n_products + 1, sizeof(unsigned)) < 0 ||
            !(t = strdup(word))) {
                parser_oom(p);
                return;
        }
        c->products[c->n_products] = t;
        p->product_lines[c->n_products++] = fc->line;
}

static int parse_products(struct file_ctx *fc, const struct key *k, const char *value, void *field) {
        for_each_word(fc, k, value, false, add_product);
        return 0;
}

/* One dns_servers entry: IPv4[:PORT] or [IPv6][:PORT]; appended to the c-ares CSV with an
 * explicit port, because c-ares 1.18 rejects "[IPv6]" without one. */
static void add_dns_server(struct file_ctx *fc, const struct key *k, const char *word) {
        struct config *c = fc->p->config;
        char addr[INET6_ADDRSTRLEN], entry[INET6_ADDRSTRLEN + 16], *csv;
        unsigned char bin[16];
        const char *port_s = NULL;
        unsigned port = 53;
        size_t n, count = 0;
        int family;

        if (word[0] == '[') {
                const char *close = strchr(word, ']');

                family = AF_INET6;
                n = close ? (size_t) (close - word - 1) : 0;
                if (close && close[1] == ':')
                        port_s = close + 2;
                else if (close && close[1] != 0)
                        close = NULL;
                if (!close || n == 0 || n >= sizeof(addr))
                        goto bad;
                memcpy(addr, word + 1, n);
        } else {
                const char *colon = strchr(word, ':');

                if (colon && strchr(colon + 1, ':')) {
                        file_error(fc, "bad dns_servers entry '%s'; write an IPv6 server in brackets: [2001:db8::53] or [2001:db8::53]:53",
                                   word);
                        return;
                }
                family = AF_INET;
                n = colon ? (size_t) (colon - word) : strlen(word);
                if (colon)
                        port_s = colon + 1;
                if (n == 0 || n >= sizeof(addr))
                        goto bad;
                memcpy(addr, word, n);
        }
        addr[n] = 0;
        if (inet_pton(family, addr, bin) != 1)
                goto bad;
        if (port_s && (!parse_port(port_s, strlen(port_s), &port) || port < 1 || port > 65535)) {
                file_error(fc, "bad port in dns_servers entry '%s'; ports are 1 to 65535", word);
                return;
        }
        if (c->dns_servers) {
                count = 1;
                for (const char *s = c->dns_servers; (s = strchr(s, ',')); s++)
                        count++;
        }
        if (count >= DNS_SERVERS_MAX) {
                file_error(fc, "too many dns_servers (at most %d)", DNS_SERVERS_MAX);
                return;
        }
        inet_ntop(family, bin, addr, sizeof(addr));
        snprintf(entry, sizeof(entry), family == AF_INET6 ? "[%s]:%u" : "%s:%u", addr, port);
        if (asprintf(&csv, "%s%s%s", c->dns_servers ? c->dns_servers : "", c->dns_servers ? "," : "", entry) < 0) {
                parser_oom(fc->p);
                return;
        }
        free(c->dns_servers);
        c->dns_servers = csv;
        return;
bad:
        file_error(fc, "bad dns_servers entry '%s'; write IPv4[:PORT] or [IPv6][:PORT], e.g. 127.0.0.1:5353, [2001:db8::53]:53",
                   word);
}

static int parse_dns_servers(struct file_ctx *fc, const struct key *k, const char *value, void *field) {
        for_each_word(fc, k, value, true, add_dns_server);
        return 0;
}

/* ---- group keys ---- */

static void add_host(struct file_ctx *fc, const struct key *k, const char *word) {
        struct parser *p = fc->p;
        struct group *g = current_group(fc);
        struct group_extra *x = current_extra(fc);
        char name[HOST_NAME_MAX_LEN + 1], *t;
        size_t allocated = x->hosts_allocated;

        if (host_name_normalize(fc, "host name", word, name) < 0)
                return;
        if (g->n_hosts >= HOSTS_PER_GROUP_MAX || p->n_hosts_total >= HOSTS_TOTAL_MAX) {
                file_error(fc, "too many hosts (at most %d per group and %d in all)", HOSTS_PER_GROUP_MAX,
                           HOSTS_TOTAL_MAX);
                return;
        }
        if (grow_array((void **) &g->hosts, &x->hosts_allocated, g->n_hosts + 1, sizeof(char *)) < 0 ||
            grow_array((void **) &x->host_lines, &allocated, g->n_hosts + 1, sizeof(unsigned)) < 0 ||
            !(t = strdup(name))) {
                parser_oom(p);
                return;
        }
        g->hosts[g->n_hosts] = t;
        x->host_lines[g->n_hosts++] = fc->line;
        p->n_hosts_total++;
}

static int parse_hosts(struct file_ctx *fc, const struct key *k, const char *value, void *field) {
        if (isempty(value) && fc->line_kind == LINE_KEY)
                current_extra(fc)->hosts_empty = true;
        for_each_word(fc, k, value, false, add_host);
        return 0;
}

static void add_address(struct file_ctx *fc, const struct key *k, const char *word) {
        struct parser *p = fc->p;
        struct group *g = current_group(fc);
        struct group_extra *x = current_extra(fc);
        size_t allocated = x->addresses_allocated;
        struct ip_addr a;

        if (addr_parse(word, &a) < 0) {
                file_error(fc, "bad address '%s'; write an IPv4 or IPv6 address or prefix with no host bits set (192.0.2.0/24, 2001:db8::/32)",
                           word);
                return;
        }
        if (a.prefixlen == 0) {
                file_error(fc, "'%s' would allow every address; use a narrower prefix", word);
                return;
        }
        if (g->n_addresses >= ADDRESSES_PER_GROUP_MAX) {
                file_error(fc, "too many addresses in group '%s' (at most %d per group); use broader prefixes or split the group",
                           g->name, ADDRESSES_PER_GROUP_MAX);
                return;
        }
        if (p->n_addresses_total >= ADDRESSES_TOTAL_MAX) {
                file_error(fc, "too many addresses (at most %d in all)", ADDRESSES_TOTAL_MAX);
                return;
        }
        if (grow_array((void **) &g->addresses, &x->addresses_allocated, g->n_addresses + 1, sizeof(struct ip_addr)) < 0 ||
            grow_array((void **) &x->address_lines, &allocated, g->n_addresses + 1, sizeof(unsigned)) < 0) {
                parser_oom(p);
                return;
        }
        g->addresses[g->n_addresses] = a;
        x->address_lines[g->n_addresses++] = fc->line;
        p->n_addresses_total++;
}

static int parse_addresses(struct file_ctx *fc, const struct key *k, const char *value, void *field) {
        for_each_word(fc, k, value, false, add_address);
        return 0;
}

static void add_allow(struct file_ctx *fc, const struct key *k, const char *word) {
        struct group *g = current_group(fc);
        struct group_extra *x = current_extra(fc);
        const char *slash = strchr(word, '/'), *ports, *dash;
        struct port_range r = { 0 };
        unsigned first, last;

        if (!slash) {
                file_error(fc, "bad allow item '%s'; write PROTOCOL/PORT or PROTOCOL/FIRST-LAST (tcp/443, udp/49152-65535)",
                           word);
                return;
        }
        if ((size_t) (slash - word) == 3 && strncmp(word, "tcp", 3) == 0)
                r.proto = IPPROTO_TCP;
        else if ((size_t) (slash - word) == 3 && strncmp(word, "udp", 3) == 0)
                r.proto = IPPROTO_UDP;
        else {
                file_error(fc, "bad protocol '%.*s' in '%s'; use tcp or udp", (int) (slash - word), word, word);
                return;
        }
        ports = slash + 1;
        dash = strchr(ports, '-');
        if (!all_digits(ports, dash ? (size_t) (dash - ports) : strlen(ports)) || (dash && !all_digits(dash + 1, strlen(dash + 1)))) {
                file_error(fc, "bad allow item '%s'; write PROTOCOL/PORT or PROTOCOL/FIRST-LAST (tcp/443, udp/49152-65535)",
                           word);
                return;
        }
        if (!parse_port(ports, dash ? (size_t) (dash - ports) : strlen(ports), &first) || first < 1 || first > 65535 ||
            (dash && (!parse_port(dash + 1, strlen(dash + 1), &last) || last < 1 || last > 65535))) {
                file_error(fc, "port out of range in '%s'; ports are 1 to 65535", word);
                return;
        }
        if (!dash)
                last = first;
        if (last < first) {
                file_error(fc, "reversed range in '%s'; write the lower port first: %.*s/%u-%u", word,
                           (int) (slash - word), word, last, first);
                return;
        }
        r.first = (uint16_t) first;
        r.last = (uint16_t) last;
        for (size_t i = 0; i < g->n_allow; i++)
                if (g->allow[i].proto == r.proto && g->allow[i].first == r.first && g->allow[i].last == r.last) {
                        file_error(fc, "'%s' listed twice in group '%s'; remove one", word, g->name);
                        return;
                }
        if (g->n_allow >= ALLOW_PER_GROUP_MAX) {
                file_error(fc, "too many allow items (at most %d per group)", ALLOW_PER_GROUP_MAX);
                return;
        }
        if (grow_array((void **) &g->allow, &x->allow_allocated, g->n_allow + 1, sizeof(struct port_range)) < 0) {
                parser_oom(fc->p);
                return;
        }
        g->allow[g->n_allow++] = r;
}

static int parse_allow(struct file_ctx *fc, const struct key *k, const char *value, void *field) {
        for_each_word(fc, k, value, false, add_allow);
        return 0;
}

/* domains = senso.cloud; "*.senso.cloud", as the vendor documents write it, means the same. */
static void add_domain(struct file_ctx *fc, const struct key *k, const char *word) {
        struct group *g = current_group(fc);
        struct group_extra *x = current_extra(fc);
        char name[HOST_NAME_MAX_LEN + 1], *t;

        if (host_name_normalize(fc, "domain", strncmp(word, "*.", 2) == 0 ? word + 2 : word, name) < 0)
                return;
        for (size_t i = 0; i < g->n_domains; i++)
                if (streq(g->domains[i], name)) {
                        file_error(fc, "domain '%s' listed twice in group '%s'; remove one", name, g->name);
                        return;
                }
        if (g->n_domains >= DOMAINS_PER_GROUP_MAX) {
                file_error(fc, "too many domains (at most %d per group)", DOMAINS_PER_GROUP_MAX);
                return;
        }
        if (grow_array((void **) &g->domains, &x->domains_allocated, g->n_domains + 1, sizeof(char *)) < 0 ||
            !(t = strdup(name))) {
                parser_oom(fc->p);
                return;
        }
        g->domains[g->n_domains++] = t;
}

static int parse_domains(struct file_ctx *fc, const struct key *k, const char *value, void *field) {
        for_each_word(fc, k, value, false, add_domain);
        return 0;
}

static int parse_refresh(struct file_ctx *fc, const struct key *k, const char *value, void *field) {
        usec_t *d = field;

        if (streq(value, "auto")) {
                *d = 0;
                return 0;
        }
        if (parse_duration(value, d) >= 0 && *d == 0) {
                file_error(fc, "refresh must be longer than 0; write auto or a duration such as 1h");
                return -EINVAL;
        }
        return parse_duration_key(fc, k, value, field);
}

static int parse_family(struct file_ctx *fc, const struct key *k, const char *value, void *field) {
        unsigned *f = field;

        if (streq(value, "both"))
                *f = FAMILY_BOTH;
        else if (streq(value, "ipv4"))
                *f = FAMILY_IPV4;
        else if (streq(value, "ipv6"))
                *f = FAMILY_IPV6;
        else {
                file_error(fc, "bad family '%s'; write both, ipv4 or ipv6", value);
                return -EINVAL;
        }
        return 0;
}

/* product = and description = end up in nft comments and in the nft -f script of --dry-run:
 * printable, no quotes or backslashes, bounded. Empty means none. */
static int parse_label(struct file_ctx *fc, const struct key *k, const char *value, void *field) {
        size_t max = streq(k->name, "product") ? PRODUCT_LABEL_MAX : DESCRIPTION_MAX;
        char **label = field, *t = NULL;

        if (strlen(value) > max) {
                file_error(fc, "%s is too long (%zu characters); use at most %zu", k->name, strlen(value), max);
                return -EINVAL;
        }
        for (const char *s = value; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f || *s == '"' || *s == '\\') {
                        file_error(fc, "%s contains a control character, '\"' or '\\'; use plain text", k->name);
                        return -EINVAL;
                }
        if (*value && !(t = strdup(value))) {
                parser_oom(fc->p);
                return -ENOMEM;
        }
        free(*label);
        *label = t;
        return 0;
}

#define DAEMON_KEY(n, fn, field, l) { SECTION_DAEMON, n, fn, offsetof(struct config, field), l }
#define GROUP_KEY(n, fn, field, l) { SECTION_GROUP, n, fn, offsetof(struct group, field), l }

static const struct key keys[] = {
        DAEMON_KEY("table", parse_table, table, false),
        DAEMON_KEY("chain", parse_chain, chain, false),
        DAEMON_KEY("dns_servers", parse_dns_servers, dns_servers, true),
        DAEMON_KEY("state_file", parse_path, state_file, false),
        DAEMON_KEY("metrics_file", parse_optional_path, metrics_file, false),
        DAEMON_KEY("products", parse_products, products, true),
        DAEMON_KEY("product_dir", parse_product_dir, product_dir, false),
        DAEMON_KEY("refresh_min", parse_duration_key, refresh_min, false),
        DAEMON_KEY("retry_min", parse_duration_key, retry_min, false),
        DAEMON_KEY("retry_max", parse_duration_key, retry_max, false),
        DAEMON_KEY("max_addresses", parse_max_addresses, max_addresses, false),
        DAEMON_KEY("allow_private", parse_bool_key, allow_private, false),
        DAEMON_KEY("on_exit", parse_on_exit, on_exit, false),
        DAEMON_KEY("snoop", parse_bool_key, snoop, false),
        DAEMON_KEY("snoop_queue", parse_snoop_queue, snoop_queue, false),
        DAEMON_KEY("snoop_servers", parse_snoop_servers, snoop_servers, true),
        DAEMON_KEY("snoop_hold_max", parse_snoop_hold_max, snoop_hold_max, false),
        DAEMON_KEY("max_snooped", parse_max_snooped, max_snooped, false),
        GROUP_KEY("hosts", parse_hosts, hosts, true),
        GROUP_KEY("addresses", parse_addresses, addresses, true),
        GROUP_KEY("allow", parse_allow, allow, true),
        GROUP_KEY("domains", parse_domains, domains, true),
        GROUP_KEY("validity", parse_duration_key, validity, false),
        GROUP_KEY("refresh", parse_refresh, refresh, false),
        GROUP_KEY("family", parse_family, family, false),
        GROUP_KEY("product", parse_label, product, false),
        GROUP_KEY("description", parse_label, description, false),
};
#define N_KEYS ELEMENTSOF(keys)
_Static_assert(N_KEYS <= KEYS_MAX, "raise KEYS_MAX");

static size_t key_index(const char *name) {
        for (size_t i = 0; i < N_KEYS; i++)
                if (streq(keys[i].name, name))
                        return i;
        return SIZE_MAX;
}

static const char *valid_keys(enum section_kind section, char *buf, size_t size) {
        size_t used = 0;

        buf[0] = 0;
        for (size_t i = 0; i < N_KEYS; i++) {
                int n;

                if (keys[i].section != section)
                        continue;
                n = snprintf(buf + used, size - used, "%s%s", used ? ", " : "", keys[i].name);
                if (n < 0 || (size_t) n >= size - used)
                        break;
                used += (size_t) n;
        }
        return buf;
}

/* ---- sections ---- */

static struct group_extra *group_find_extra(struct parser *p, const struct group *g) {
        return &p->extras[g - p->config->groups];
}

static void section_begin(struct file_ctx *fc, const char *name) {
        struct parser *p = fc->p;
        struct config *c = p->config;
        size_t allocated;
        struct group *g;
        struct group_extra *x;

        snprintf(fc->section_name, sizeof(fc->section_name), "%s", name);
        fc->section = SECTION_BAD;
        fc->last_key = NULL;
        fc->key_line = NULL;

        if (streq(name, "daemon")) {
                if (fc->is_profile) {
                        file_error(fc, "[daemon] is not allowed in a product profile; put daemon settings in the main configuration file");
                        return;
                }
                if (p->daemon_line > 0) {
                        file_error(fc, "[daemon] defined twice (first at %s:%u); merge them", p->daemon_file,
                                   p->daemon_line);
                        return;
                }
                p->daemon_file = strdup(fc->path);
                if (!p->daemon_file) {
                        parser_oom(p);
                        return;
                }
                p->daemon_line = fc->line;
                fc->section = SECTION_DAEMON;
                fc->key_line = p->daemon_key_line;
                return;
        }

        if (strlen(name) > GROUP_NAME_MAX && name[0] >= 'a' && name[0] <= 'z' &&
            strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") == strlen(name)) {
                file_error(fc, "group name '%s' is too long (%zu characters); use at most %d, because it names the sets NAME_v4 and NAME_v6",
                           name, strlen(name), GROUP_NAME_MAX);
                return;
        }
        if (!group_name_valid(name)) {
                file_error(fc, "bad group name '%s'; a group name is a lower-case letter followed by up to %d lower-case letters, digits, '_' or '-'",
                           name, GROUP_NAME_MAX - 1);
                return;
        }
        for (size_t i = 0; i < c->n_groups; i++)
                if (streq(c->groups[i].name, name)) {
                        file_error(fc, "group '%s' defined twice: here and at %s:%u; rename or merge one",
                                   name, c->groups[i].file, c->groups[i].line);
                        return;
                }
        if (c->n_groups >= GROUPS_MAX) {
                file_error(fc, "too many groups (at most %d)", GROUPS_MAX);
                return;
        }
        allocated = p->groups_allocated;
        if (grow_array((void **) &c->groups, &p->groups_allocated, c->n_groups + 1, sizeof(struct group)) < 0 ||
            grow_array((void **) &p->extras, &allocated, c->n_groups + 1, sizeof(struct group_extra)) < 0) {
                parser_oom(p);
                return;
        }
        g = &c->groups[c->n_groups];
        x = &p->extras[c->n_groups];
        *g = (struct group) {
                .validity = USEC_PER_HOUR,
                .refresh = 0,
                .family = FAMILY_BOTH,
                .line = fc->line,
        };
        *x = (struct group_extra) { 0 };
        snprintf(g->name, sizeof(g->name), "%s", name);
        g->file = strdup(fc->path);
        x->key_line = calloc(N_KEYS, sizeof(unsigned));
        c->n_groups++;  /* counted now so config_free() releases it whatever happens next */
        if (!g->file || !x->key_line) {
                parser_oom(p);
                return;
        }
        fc->section = SECTION_GROUP;
        fc->group = c->n_groups - 1;
        fc->key_line = x->key_line;
}

/* ---- inih glue ---- */

/* inih's find_chars_or_comment(): stops at one of chars, or at ';' after whitespace. */
static const char *find_chars_or_comment(const char *s, const char *chars) {
        bool was_space = false;

        while (*s && (!chars || !strchr(chars, *s)) && !(was_space && *s == ';')) {
                was_space = isspace((unsigned char) *s);
                s++;
        }
        return s;
}

/* Classifies a line the way inih r55 will (ini.c, ini_parse_stream()), so the handler knows
 * whether it is called for a new key or for an indented continuation, and so sections without
 * keys and malformed lines are seen with their line numbers. */
static void classify_line(struct file_ctx *fc, const char *line) {
        const char *start = line, *end, *p;
        char buf[SECTION_NAME_MAX];

        if (fc->line == 1 && (unsigned char) start[0] == 0xEF && (unsigned char) start[1] == 0xBB &&
            (unsigned char) start[2] == 0xBF)
                start += 3;
        end = start + strlen(start);
        while (end > start && isspace((unsigned char) end[-1]))
                end--;
        while (start < end && isspace((unsigned char) *start))
                start++;

        if (start == end || *start == ';' || *start == '#') {
                fc->line_kind = LINE_COMMENT;
                return;
        }
        if (fc->have_prev_key && start > line) {
                fc->line_kind = LINE_CONTINUATION;
                return;
        }
        if (*start == '[') {
                p = find_chars_or_comment(start + 1, "]");
                fc->line_kind = LINE_BAD;
                if (*p != ']') {
                        file_error(fc, "section header without closing ']'; write [NAME]");
                        /* Its keys would only repeat the error, as keys of no section. */
                        fc->section = SECTION_BAD;
                        fc->have_prev_key = false;
                        fc->last_key = NULL;
                        return;
                }
                fc->have_prev_key = false;
                for (const char *q = p + 1; q < end; q++)
                        if (!isspace((unsigned char) *q)) {
                                if (*q != ';' && *q != '#')
                                        file_error(fc, "unexpected text after ']'; write [NAME] alone on its line");
                                break;
                        }
                fc->line_kind = LINE_SECTION;
                snprintf(buf, sizeof(buf), "%.*s", (int) MIN((size_t) (p - start - 1), sizeof(buf) - 1), start + 1);
                section_begin(fc, buf);
                return;
        }
        p = find_chars_or_comment(start, "=:");
        if (*p == ':') {
                /* inih takes "key: value" too; one grammar is easier to read and document.
                 * inih still makes it the key that indented lines continue: drop those. */
                fc->line_kind = LINE_BAD;
                fc->have_prev_key = p > start;
                fc->last_key = NULL;
                file_error(fc, "':' is not a separator here; write KEY = VALUE");
                return;
        }
        if (*p != '=') {
                /* inih keeps the previous key for indented lines after this one: drop those. */
                fc->line_kind = LINE_BAD;
                fc->last_key = NULL;
                file_error(fc, "'%.*s' is not KEY = VALUE, [SECTION] or a comment; a comment starts with '#' or ';' at the beginning of a line, or ' ;' after a value",
                           (int) MIN((size_t) (end - start), (size_t) 64), start);
                return;
        }
        while (p > start && isspace((unsigned char) p[-1]))
                p--;
        fc->have_prev_key = p > start;
        fc->line_kind = LINE_KEY;
}

static int source_getc(struct file_ctx *fc) {
        /* Unlocked: the parser is single-threaded, and a locked getc() per byte is a tenth of
         * the load time of a file of 100,000 addresses. */
        if (fc->f)
                return getc_unlocked(fc->f);
        if (!fc->text[fc->pos])
                return EOF;
        return (unsigned char) fc->text[fc->pos++];
}

/* inih's line reader: counts lines for FILE:LINE, and refuses what inih r55 would silently
 * mangle: a line longer than its buffer (split, the tail parsed as a key of its own: a way
 * to smuggle "allow_private = yes" into a description) and a NUL byte (truncates a value). */
static char *config_reader(char *str, int num, void *stream) {
        struct file_ctx *fc = stream;
        size_t max = num > 1 ? (size_t) num - 1 : 0, n = 0;
        bool nul = false;
        int c;

        if (fc->p->stop)
                return NULL;
        for (;;) {
                c = source_getc(fc);
                if (c == EOF || c == '\n')
                        break;
                if (c == 0)
                        nul = true;
                if (n < max)
                        str[n] = (char) c;
                if (n <= max)
                        n++;
        }
        if (c == EOF && n == 0 && !nul)
                return NULL;
        fc->line++;
        if (n > max) {
                file_error(fc, "line too long (max %zu characters); split the list over indented continuation lines",
                           max);
                fc->p->stop = true;
                return NULL;
        }
        if (nul) {
                file_error(fc, "NUL byte in line; remove it");
                fc->p->stop = true;
                return NULL;
        }
        str[n] = 0;
        classify_line(fc, str);
        return str;
}

static int config_handler(void *user, const char *section, const char *name, const char *value) {
        struct file_ctx *fc = user;
        const struct key *k;
        void *base = NULL;
        size_t i;
        char buf[512];

        if (fc->p->stop || fc->line_kind == LINE_BAD)
                return 1;
        if (fc->line_kind != LINE_KEY && fc->line_kind != LINE_CONTINUATION) {
                /* Should not happen: classify_line() mirrors inih. Refuse rather than guess. */
                file_error(fc, "cannot tell how this line is meant; write KEY = VALUE");
                return 1;
        }
        if (fc->section != SECTION_NONE && strncmp(section, fc->section_name, strlen(section)) != 0) {
                /* Should not happen either: inih and classify_line() disagree on the section. */
                file_error(fc, "cannot tell which section this line belongs to; check the [NAME] lines above");
                return 1;
        }
        switch (fc->section) {
        case SECTION_NONE:
                if (fc->line_kind == LINE_KEY)
                        file_error(fc, "'%s' outside of any section; put it under [daemon] or a [GROUP]", name);
                return 1;
        case SECTION_BAD:
                return 1;
        case SECTION_DAEMON:
                base = fc->p->config;
                break;
        case SECTION_GROUP:
                base = current_group(fc);
                break;
        }

        if (fc->line_kind == LINE_CONTINUATION) {
                k = fc->last_key;
                if (!k)
                        return 1; /* the key line was refused already */
                if (!k->list) {
                        file_error(fc, "indented line continues '%s', which takes one value; remove the indentation to start a new key",
                                   k->name);
                        return 1;
                }
                k->parse(fc, k, value, (char *) base + k->offset);
                return 1;
        }

        fc->last_key = NULL;
        i = key_index(name);
        if (i == SIZE_MAX || keys[i].section != fc->section) {
                if (fc->section == SECTION_DAEMON)
                        file_error(fc, "unknown key '%s' in [daemon]; valid keys: %s", name,
                                   valid_keys(SECTION_DAEMON, buf, sizeof(buf)));
                else
                        file_error(fc, "unknown key '%s' in group [%s]; valid keys: %s", name,
                                   fc->section_name, valid_keys(SECTION_GROUP, buf, sizeof(buf)));
                return 1;
        }
        k = &keys[i];
        if (fc->key_line[i] > 0 && !k->list) {
                file_error(fc, "'%s' set twice in [%s] (first at line %u); keep one", name, fc->section_name,
                           fc->key_line[i]);
                return 1;
        }
        if (fc->key_line[i] == 0)
                fc->key_line[i] = fc->line;
        fc->last_key = k;
        k->parse(fc, k, value, (char *) base + k->offset);
        return 1;
}

static int parse_one(struct parser *p, const char *path, FILE *f, const char *text, bool is_profile) {
        struct file_ctx fc = {
                .p = p,
                .path = path,
                .f = f,
                .text = text,
                .is_profile = is_profile,
                .section = SECTION_NONE,
        };
        unsigned errors_before = p->n_errors;
        int r;

        r = ini_parse_stream(config_reader, &fc, config_handler, &fc);
        if (r == -2)
                parser_oom(p);
        else if (r > 0 && p->n_errors == errors_before && !p->stop)
                /* inih refused a line we accepted; never let it pass silently. */
                parser_error(p, path, (unsigned) r, "cannot parse this line; write KEY = VALUE, [SECTION] or a comment");
        if (f && ferror(f) && !p->stop)
                parser_error(p, path, 0, "read error");
        return 0;
}

/* ---- product profiles ---- */

static int strcmp_ptr(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* "a, b, c" of the NAME.conf files in dir, or "none". */
static void list_products(DIR *d, char *buf, size_t size) {
        char *names[64];
        size_t n = 0, used = 0;
        struct dirent *de;

        while (n < ELEMENTSOF(names) && (de = readdir(d))) {
                size_t len = strlen(de->d_name);
                char stem[PRODUCT_NAME_MAX + 1];

                if (len <= 5 || len - 5 > PRODUCT_NAME_MAX || !streq(de->d_name + len - 5, ".conf"))
                        continue;
                memcpy(stem, de->d_name, len - 5);
                stem[len - 5] = 0;
                if (!product_name_valid(stem) || !(names[n] = strdup(stem)))
                        continue;
                n++;
        }
        qsort(names, n, sizeof(char *), strcmp_ptr);
        snprintf(buf, size, "none");
        for (size_t i = 0; i < n; i++) {
                int k = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", names[i]);
                if (k > 0 && (size_t) k < size - used)
                        used += (size_t) k;
                free(names[i]);
        }
}

static void load_products(struct parser *p) {
        struct config *c = p->config;
        const char *dir = c->product_dir;

        for (size_t i = 0; i < c->n_products && !p->stop; i++) {
                _cleanup_free_ char *path = NULL;
                _cleanup_fclose_ FILE *f = NULL;

                if (asprintf(&path, "%s/%s.conf", dir, c->products[i]) < 0) {
                        parser_oom(p);
                        return;
                }
                f = fopen(path, "re");
                if (!f) {
                        int e = errno;
                        DIR *d;
                        char avail[1024];

                        if (e != ENOENT) {
                                parser_error(p, p->daemon_file, p->product_lines[i],
                                             "cannot read profile %s of product '%s': %s; check its permissions",
                                             path, c->products[i], strerror(e));
                                continue;
                        }
                        d = opendir(dir);
                        if (!d) {
                                parser_error(p, p->daemon_file, p->product_lines[i],
                                             "profile file %s of product '%s' is missing: cannot read product_dir %s: %s; set product_dir = to the directory holding the profiles",
                                             path, c->products[i], dir, strerror(errno));
                                continue;
                        }
                        list_products(d, avail, sizeof(avail));
                        closedir(d);
                        parser_error(p, p->daemon_file, p->product_lines[i],
                                     "unknown product '%s' (no %s); available in %s: %s", c->products[i], path,
                                     dir, avail);
                        continue;
                }
                parse_one(p, path, f, NULL, true);
        }
}

/* ---- checks across keys, once everything is read ---- */

struct sort_item {
        const void *value;
        unsigned line;
};

static int sort_host_cmp(const void *a, const void *b) {
        const struct sort_item *x = a, *y = b;
        int r = strcmp(x->value, y->value);

        return r != 0 ? r : (x->line > y->line) - (x->line < y->line);
}

static int sort_addr_cmp(const void *a, const void *b) {
        const struct sort_item *x = a, *y = b;
        int r = addr_compare(x->value, y->value);

        return r != 0 ? r : (x->line > y->line) - (x->line < y->line);
}

/* Sorts items unless they already are in order: a long list is usually written (or
 * generated) sorted, and one pass costs a fraction of what glibc's merge sort spends on
 * sorted input. */
static void sort_items(struct sort_item *items, size_t n, int (*cmp)(const void *, const void *)) {
        for (size_t i = 1; i < n; i++)
                if (cmp(&items[i - 1], &items[i]) > 0) {
                        qsort(items, n, sizeof(*items), cmp);
                        return;
                }
}

/* Keeps the static entries of g sorted (addr_compare order) without any that a broader static
 * prefix covers, so that the kernel's interval set, which refuses overlaps, gets disjoint
 * entries and group_static_covers() is one binary search. In that order a covering prefix comes
 * before everything it covers (same or lower start, shorter length first), and among disjoint
 * prefixes only the last one kept can cover the next entry: one pass. items is sorted by
 * address. */
static void drop_covered_addresses(struct parser *p, struct group *g, const struct sort_item *items) {
        struct ip_addr *kept;
        size_t n = 0;

        kept = malloc(MAX(g->n_addresses, (size_t) 1) * sizeof(*kept));
        if (!kept) {
                parser_oom(p);
                return;
        }
        for (size_t i = 0; i < g->n_addresses; i++) {
                const struct ip_addr *a = items[i].value;

                if (n > 0 && addr_in_prefix(a, &kept[n - 1])) {
                        /* Exact duplicates are errors of their own (check_duplicates()). */
                        if (addr_compare(a, &kept[n - 1]) != 0)
                                g->n_addresses_covered++;
                        continue;
                }
                kept[n++] = *a;
        }
        free(g->addresses);
        g->addresses = kept;
        g->n_addresses = n;
}

static void check_duplicates(struct parser *p, struct group *g, struct group_extra *x) {
        _cleanup_free_ struct sort_item *items = NULL;
        size_t n = MAX(g->n_hosts, g->n_addresses);
        char buf[ADDR_STRLEN];

        if (n < 1)
                return;
        items = calloc(n, sizeof(*items));
        if (!items) {
                parser_oom(p);
                return;
        }
        for (size_t i = 0; i < g->n_hosts; i++)
                items[i] = (struct sort_item) { g->hosts[i], x->host_lines[i] };
        sort_items(items, g->n_hosts, sort_host_cmp);
        for (size_t i = 1; i < g->n_hosts; i++)
                if (streq(items[i].value, items[i - 1].value))
                        parser_error(p, g->file, items[i].line,
                                     "host '%s' listed twice in group '%s' (first at line %u); remove one",
                                     (const char *) items[i].value, g->name, items[i - 1].line);

        for (size_t i = 0; i < g->n_addresses; i++)
                items[i] = (struct sort_item) { &g->addresses[i], x->address_lines[i] };
        sort_items(items, g->n_addresses, sort_addr_cmp);
        for (size_t i = 1; i < g->n_addresses; i++)
                if (addr_compare(items[i].value, items[i - 1].value) == 0)
                        parser_error(p, g->file, items[i].line,
                                     "address %s listed twice in group '%s' (first at line %u); remove one",
                                     addr_to_string(items[i].value, buf), g->name, items[i - 1].line);
        /* The lines no longer match the addresses once these are reordered: nothing after this
         * reports per address. */
        free(x->address_lines);
        x->address_lines = NULL;
        if (g->n_addresses > 0)
                drop_covered_addresses(p, g, items);
}

static const char *family_name(unsigned family) {
        return family == FAMILY_IPV4 ? "ipv4" : family == FAMILY_IPV6 ? "ipv6" : "both";
}

static void check_group(struct parser *p, struct group *g, struct group_extra *x) {
        const struct config *c = p->config;
        unsigned table_families = c->table_family == NFPROTO_IPV4 ? FAMILY_IPV4 :
                                  c->table_family == NFPROTO_IPV6 ? FAMILY_IPV6 : FAMILY_BOTH;
        size_t ifamily = key_index("family"), ivalidity = key_index("validity"),
               irefresh = key_index("refresh");
        char buf[ADDR_STRLEN], d1[DURATION_MAX], d2[DURATION_MAX];

        /* An ip or ip6 table holds rules for one family only: that is the default there. */
        if (x->key_line[ifamily] == 0)
                g->family = table_families;
        else if ((g->family & table_families) != g->family)
                parser_error(p, g->file, x->key_line[ifamily],
                             "family = %s in group '%s', but table %s %s holds only %s rules; set family = %s or use table = inet %s",
                             family_name(g->family), g->name, c->table_family == NFPROTO_IPV4 ? "ip" : "ip6",
                             c->table, family_name(table_families), family_name(table_families), c->table);

        for (size_t i = 0; i < g->n_addresses; i++) {
                unsigned f = g->addresses[i].family == AF_INET ? FAMILY_IPV4 : FAMILY_IPV6;

                if (!(g->family & f))
                        parser_error(p, g->file, x->address_lines[i],
                                     "%s is an %s address but group '%s' has family %s; remove it or change family",
                                     addr_to_string(&g->addresses[i], buf), f == FAMILY_IPV4 ? "IPv4" : "IPv6",
                                     g->name, family_name(g->family));
        }

        /* With snoop=yes, domains= alone is a destination: DNS replies fill the sets. */
        if (g->n_hosts == 0 && g->n_addresses == 0 && !(c->snoop && g->n_domains > 0)) {
                if (x->hosts_empty)
                        /* An explicit "hosts =": a profile the operator has to complete. */
                        g->needs_hosts = true;
                else
                        parser_error(p, g->file, g->line,
                                     "group '%s' has no hosts and no addresses; give it at least one destination in hosts= or addresses=%s",
                                     g->name, g->n_domains > 0 ? ", or set snoop = yes to learn its domains= from DNS replies" : "");
        }

        /* Never later than validity/2, so an address is re-confirmed at least once before the
         * vendor's guarantee for it runs out. */
        if (g->refresh > 0 && g->refresh > g->validity / 2)
                parser_error(p, g->file, x->key_line[irefresh] > 0 ? x->key_line[irefresh] : x->key_line[ivalidity],
                             "refresh %s exceeds half the validity %s of group '%s'; use refresh = auto or at most %s",
                             format_duration(d1, sizeof(d1), g->refresh), format_duration(d2, sizeof(d2), g->validity),
                             g->name, format_duration(buf, sizeof(buf), g->validity / 2));

        check_duplicates(p, g, x);
}

static void check_daemon(struct parser *p) {
        const struct config *c = p->config;
        char d1[DURATION_MAX], d2[DURATION_MAX], a[ADDR_STRLEN];
        size_t iservers = key_index("snoop_servers");

        /* The rules of an ip or ip6 table see one family only. */
        for (size_t i = 0; i < c->n_snoop_servers; i++)
                if ((c->table_family == NFPROTO_IPV4 && c->snoop_servers[i].family != AF_INET) ||
                    (c->table_family == NFPROTO_IPV6 && c->snoop_servers[i].family != AF_INET6))
                        parser_error(p, p->daemon_file, p->daemon_key_line[iservers],
                                     "snoop_servers lists %s, but table %s %s sees only %s packets; remove it or use table = inet %s",
                                     addr_to_string(&c->snoop_servers[i], a), c->table_family == NFPROTO_IPV4 ? "ip" : "ip6",
                                     c->table, c->table_family == NFPROTO_IPV4 ? "IPv4" : "IPv6", c->table);
        size_t imin = key_index("retry_min"), imax = key_index("retry_max");

        if (c->retry_min > c->retry_max)
                parser_error(p, p->daemon_file, p->daemon_key_line[imin] > 0 ? p->daemon_key_line[imin] : p->daemon_key_line[imax],
                             "retry_min %s exceeds retry_max %s; make retry_min the smaller one",
                             format_duration(d1, sizeof(d1), c->retry_min), format_duration(d2, sizeof(d2), c->retry_max));
}

/* ---- public ---- */

static void group_done(struct group *g) {
        free(g->product);
        free(g->description);
        for (size_t i = 0; i < g->n_hosts; i++)
                free(g->hosts[i]);
        free(g->hosts);
        free(g->addresses);
        free(g->allow);
        for (size_t i = 0; i < g->n_domains; i++)
                free(g->domains[i]);
        free(g->domains);
        free(g->file);
}

struct config *config_free(struct config *c) {
        if (!c)
                return NULL;
        free(c->path);
        free(c->table);
        free(c->chain);
        free(c->dns_servers);
        free(c->state_file);
        free(c->metrics_file);
        free(c->product_dir);
        free(c->snoop_servers);
        for (size_t i = 0; i < c->n_products; i++)
                free(c->products[i]);
        free(c->products);
        for (size_t i = 0; i < c->n_groups; i++)
                group_done(&c->groups[i]);
        free(c->groups);
        free(c);
        return NULL;
}

static int config_new(const char *path, struct config **ret) {
        struct config *c = calloc(1, sizeof(*c));

        if (!c)
                return -ENOMEM;
        *c = (struct config) {
                .table_family = NFPROTO_INET,
                .refresh_min = USEC_PER_MINUTE,
                .retry_min = 10 * USEC_PER_SEC,
                .retry_max = USEC_PER_HOUR,
                .max_addresses = 256,
                .allow_private = false,
                .on_exit = ON_EXIT_KEEP,
                .snoop_hold_max = USEC_PER_SEC,
                .max_snooped = 4096,
        };
        c->path = strdup(path);
        c->table = strdup("allowlistd");
        c->chain = strdup("allowlistd");
        c->state_file = strdup(DEFAULT_STATE_FILE);
        c->product_dir = strdup(DEFAULT_PRODUCT_DIR);
        if (!c->path || !c->table || !c->chain || !c->state_file || !c->product_dir) {
                config_free(c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

static int config_parse(const char *path, FILE *f, const char *text, struct config **ret) {
        _cleanup_config_ struct config *c = NULL;
        struct parser p = { 0 };
        int r;

        r = config_new(path, &c);
        if (r < 0)
                return log_oom();
        p.config = c;

        parse_one(&p, path, f, text, false);
        if (!p.stop)
                load_products(&p);
        if (!p.stop) {
                check_daemon(&p);
                for (size_t i = 0; i < c->n_groups && !p.stop; i++)
                        check_group(&p, &c->groups[i], group_find_extra(&p, &c->groups[i]));
        }

        for (size_t i = 0; i < c->n_groups; i++) {
                free(p.extras[i].key_line);
                free(p.extras[i].host_lines);
                free(p.extras[i].address_lines);
        }
        free(p.extras);
        free(p.product_lines);
        free(p.daemon_file);

        if (p.oom)
                return log_oom();
        if (p.n_errors > 0)
                return -EINVAL;
        *ret = TAKE_PTR(c);
        return 0;
}

int config_load(const char *path, struct config **ret) {
        _cleanup_fclose_ FILE *f = NULL;

        f = fopen(path, "re");
        if (!f)
                return log_error_errno(errno, "%s: cannot open: %s; pass an existing file with -c FILE", path,
                                       strerror(errno));
        return config_parse(path, f, NULL, ret);
}

int config_load_string(const char *text, const char *name, struct config **ret) {
        return config_parse(name, NULL, text, ret);
}

int config_check_runnable(const struct config *c) {
        int r = 0;

        for (size_t i = 0; i < c->n_groups; i++) {
                const struct group *g = &c->groups[i];

                if (!g->needs_hosts)
                        continue;
                log_error("%s:%u: group '%s' has no destinations: add the hosts your %s%sinstallation uses to hosts= (see the comment in the profile)",
                          g->file, g->line, g->name, g->product ? g->product : "", g->product ? " " : "");
                r = -EINVAL;
        }
        return r;
}

const struct group *config_find_group(const struct config *c, const char *name) {
        for (size_t i = 0; i < c->n_groups; i++)
                if (streq(c->groups[i].name, name))
                        return &c->groups[i];
        return NULL;
}

static bool strv_equal(char **a, size_t na, char **b, size_t nb) {
        if (na != nb)
                return false;
        for (size_t i = 0; i < na; i++)
                if (!streq(a[i], b[i]))
                        return false;
        return true;
}

bool group_equal(const struct group *a, const struct group *b) {
        if (!streq(a->name, b->name) || !streq_ptr(a->product, b->product) ||
            !streq_ptr(a->description, b->description) || a->validity != b->validity ||
            a->refresh != b->refresh || a->family != b->family || a->needs_hosts != b->needs_hosts)
                return false;
        if (!strv_equal(a->hosts, a->n_hosts, b->hosts, b->n_hosts) ||
            !strv_equal(a->domains, a->n_domains, b->domains, b->n_domains))
                return false;
        if (a->n_addresses != b->n_addresses || a->n_allow != b->n_allow)
                return false;
        for (size_t i = 0; i < a->n_addresses; i++)
                if (addr_compare(&a->addresses[i], &b->addresses[i]) != 0)
                        return false;
        for (size_t i = 0; i < a->n_allow; i++)
                if (a->allow[i].proto != b->allow[i].proto || a->allow[i].first != b->allow[i].first ||
                    a->allow[i].last != b->allow[i].last)
                        return false;
        return true;
}

bool domain_matches(const char *domain, const char *name) {
        size_t nd = strlen(domain), nn = strlen(name);

        /* At least one label and its dot before the domain: "evilsenso.cloud" and "senso.cloud"
         * itself do not match "senso.cloud". */
        return nd > 0 && nn > nd + 1 && name[nn - nd - 1] == '.' && strcasecmp(name + nn - nd, domain) == 0;
}

bool group_matches_name(const struct group *g, const char *name) {
        for (size_t i = 0; i < g->n_domains; i++)
                if (domain_matches(g->domains[i], name))
                        return true;
        return false;
}

bool group_static_covers(const struct group *g, const struct ip_addr *a) {
        size_t lo = 0, hi = g->n_addresses;

        /* The last entry <= a: the entries are disjoint (drop_covered_addresses()), so a prefix
         * that covers a starts at or before it, and any entry between that prefix and a would
         * lie inside it. Only this one can cover a. */
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (addr_compare(&g->addresses[mid], a) <= 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo > 0 && addr_in_prefix(a, &g->addresses[lo - 1]);
}

const char *proto_to_string(uint8_t proto) {
        return proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" : "?";
}

static const char *plural(size_t n, const char *one, const char *many) {
        return n == 1 ? one : many;
}

void config_print_summary(const struct config *c, FILE *f) {
        size_t hosts = 0, statics = 0, rules = 0, domains = 0, incomplete = 0;
        char d1[DURATION_MAX], d2[DURATION_MAX];

        for (size_t i = 0; i < c->n_groups; i++) {
                const struct group *g = &c->groups[i];

                fprintf(f, "%s: ", g->name);
                if (g->product || g->description)
                        fprintf(f, "%s%s%s: ", g->product ? g->product : "", g->product && g->description ? " / " : "",
                                g->description ? g->description : "");
                fprintf(f, "%zu %s, %zu static", g->n_hosts, plural(g->n_hosts, "host", "hosts"), g->n_addresses);
                if (g->n_addresses_covered > 0)
                        fprintf(f, " (%zu more inside its prefixes)", g->n_addresses_covered);
                fprintf(f, ", allow");
                if (g->n_allow == 0)
                        fprintf(f, " nothing");
                for (size_t j = 0; j < g->n_allow; j++) {
                        fprintf(f, " %s/%u", proto_to_string(g->allow[j].proto), g->allow[j].first);
                        if (g->allow[j].last != g->allow[j].first)
                                fprintf(f, "-%u", g->allow[j].last);
                }
                fprintf(f, ", validity %s, refresh %s", format_duration(d1, sizeof(d1), g->validity),
                        g->refresh == 0 ? "auto" : format_duration(d2, sizeof(d2), g->refresh));
                if (g->family != FAMILY_BOTH)
                        fprintf(f, ", %s only", family_name(g->family));
                fputc('\n', f);
                hosts += g->n_hosts;
                statics += g->n_addresses;
                rules += g->n_allow;
                domains += g->n_domains;
                incomplete += g->needs_hosts;
        }

        /* Without snooping nothing learns the names below a domain: say so, it is a gap in
         * the allow-list. With it, say where they come from. */
        if ((domains > 0 && !c->snoop) || incomplete > 0) {
                fprintf(f, "Not enforced by periodic resolution:\n");
                for (size_t i = 0; i < c->n_groups; i++) {
                        const struct group *g = &c->groups[i];

                        if (g->needs_hosts)
                                fprintf(f, "  %s: no destinations: add the hosts your %s%sinstallation uses\n",
                                        g->name, g->product ? g->product : "", g->product ? " " : "");
                        for (size_t j = 0; j < g->n_domains && !c->snoop; j++)
                                fprintf(f, "  %s: *.%s\n", g->name, g->domains[j]);
                }
        }
        if (domains > 0 && c->snoop) {
                fprintf(f, "Enforced by DNS snooping (queue %u):\n", c->snoop_queue);
                for (size_t i = 0; i < c->n_groups; i++)
                        for (size_t j = 0; j < c->groups[i].n_domains; j++)
                                fprintf(f, "  %s: *.%s\n", c->groups[i].name, c->groups[i].domains[j]);
        }

        fprintf(f, "%zu %s, %zu %s, %zu static %s, %zu allow %s, %zu %s %s; table %s %s, %s%s\n",
                c->n_groups, plural(c->n_groups, "group", "groups"), hosts, plural(hosts, "host", "hosts"),
                statics, plural(statics, "entry", "entries"), rules, plural(rules, "rule", "rules"), domains,
                plural(domains, "domain", "domains"), c->snoop ? "snooped" : "not enforced",
                c->table_family == NFPROTO_IPV4 ? "ip" : c->table_family == NFPROTO_IPV6 ? "ip6" : "inet", c->table,
                c->chain ? "chain " : "no chain (sets only)", c->chain ? c->chain : "");
}
