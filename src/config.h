/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "addr.h"
#include "util.h"

#define GROUP_NAME_MAX 31       /* [a-z][a-z0-9_-]{0,30}; sets are NAME_v4 / NAME_v6 */
#define HOST_NAME_MAX_LEN 253   /* RFC 1035, without the trailing dot */

enum family_mask {
        FAMILY_IPV4 = 1 << 0,
        FAMILY_IPV6 = 1 << 1,
        FAMILY_BOTH = FAMILY_IPV4 | FAMILY_IPV6,
};

enum on_exit_action {
        ON_EXIT_KEEP,   /* leave the sets; their elements expire by their own timeouts */
        ON_EXIT_REMOVE, /* delete the daemon's sets and chain */
};

/* One allow= item: tcp/80, udp/49152-65535. */
struct port_range {
        uint8_t proto; /* IPPROTO_TCP or IPPROTO_UDP */
        uint16_t first, last;
};

/* One [NAME] destination group. */
struct group {
        char name[GROUP_NAME_MAX + 1];
        char *product;     /* may be NULL */
        char *description; /* may be NULL */
        char **hosts;      /* lower-case, no trailing dot */
        size_t n_hosts;
        /* Static entries, never expiring: sorted (addr_compare) and disjoint, since an entry
         * that a broader one covers is dropped at load (counted in n_addresses_covered). */
        struct ip_addr *addresses;
        size_t n_addresses;
        size_t n_addresses_covered;
        struct port_range *allow;
        size_t n_allow;
        char **domains;    /* wildcard domains of the vendor documents: enforced by DNS snooping
                            * when snoop=yes, only reported otherwise */
        size_t n_domains;
        usec_t validity;   /* default 1h */
        usec_t refresh;    /* 0 = auto */
        unsigned family;   /* enum family_mask */
        bool needs_hosts;  /* explicit empty "hosts =" and nothing else: the operator must add
                            * them (the WiLife profile); config_check_runnable() refuses it */
        char *file;        /* where it was defined, for messages */
        unsigned line;
};

/* The whole configuration: immutable once loaded; a reload builds a new one. */
struct config {
        char *path;
        int table_family;  /* NFPROTO_INET, NFPROTO_IPV4 or NFPROTO_IPV6 */
        char *table;       /* "allowlistd" */
        char *chain;       /* "allowlistd"; NULL when empty: sets only, no rules */
        char *dns_servers; /* c-ares CSV form "127.0.0.1:5353,[2001:db8::53]:53"; NULL: resolv.conf */
        char *state_file;
        char *metrics_file; /* NULL: no metrics file */
        char *product_dir;
        char **products;
        size_t n_products;
        usec_t refresh_min;     /* 1m */
        usec_t retry_min;       /* 10s */
        usec_t retry_max;       /* 1h */
        unsigned max_addresses; /* per host and family, 256 */
        bool allow_private;
        enum on_exit_action on_exit;
        bool snoop;               /* learn domains= from DNS replies queued to snoop_queue */
        uint16_t snoop_queue;     /* NFQUEUE number, 0 */
        struct ip_addr *snoop_servers; /* only replies from these (none: from any resolver) */
        size_t n_snoop_servers;
        usec_t snoop_hold_max;    /* 1s: longest a reply is held for its transaction */
        unsigned max_snooped;     /* per group, 4096 */
        struct group *groups;
        size_t n_groups;
};

/* Loads path (and the product profiles it names from product_dir) into a new config.
 * Every problem is logged as "FILE:LINE: what is wrong, what would be right"; returns -EINVAL
 * when there was any, -ENOENT (logged) when path itself is missing. */
int config_load(const char *path, struct config **ret);

/* Like config_load() but parses text; name is used in messages. Product profiles are looked
 * up in product_dir as usual. For tests. */
int config_load_string(const char *text, const char *name, struct config **ret);

struct config *config_free(struct config *c);
static inline void config_freep(struct config **c) { config_free(*c); }
#define _cleanup_config_ _cleanup_(config_freep)

/* Refuses a loaded configuration the daemon cannot run with (a group that still needs its
 * hosts); logs each reason and returns -EINVAL, else 0. --check-config and start-up call it. */
int config_check_runnable(const struct config *c);

/* Finds a group by name, or NULL. */
const struct group *config_find_group(const struct config *c, const char *name);

/* True when a (an address or prefix) equals or lies inside one of g's static entries;
 * O(log n). */
bool group_static_covers(const struct group *g, const struct ip_addr *a);

/* True when both groups would produce the same kernel objects and ledger semantics. */
bool group_equal(const struct group *a, const struct group *b);

/* True when name lies below domain (one or more labels more, on a label boundary; not the
 * domain itself). Both lower-case without trailing dot, as config and the DNS parser keep them. */
bool domain_matches(const char *domain, const char *name);

/* True when name lies below one of g's domains=. */
bool group_matches_name(const struct group *g, const char *name);

/* True for a group name the grammar accepts: [a-z][a-z0-9_-]{0,30}. */
bool group_name_valid(const char *s);

/* "tcp"/"udp" for a protocol number. */
const char *proto_to_string(uint8_t proto);

/* Prints the --check-config summary (groups, hosts, static entries, rules, and the domains
 * and empty groups that periodic resolution cannot enforce). */
void config_print_summary(const struct config *c, FILE *f);
