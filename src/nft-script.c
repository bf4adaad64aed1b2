/* SPDX-License-Identifier: GPL-2.0-or-later */
/* --dry-run: the transaction nft_apply(force=true) would send, as an `nft -f` script. */
#include "nft-internal.h"
#include <arpa/inet.h>
#include <linux/netfilter.h>


/* Elements per `add element` statement: keeps lines readable for a person and cheap for nft. */
#define NFT_SCRIPT_ELEMENTS_PER_LINE 64

static void script_elements(FILE *f, const char *fam, const char *table, const char *set, int af, bool interval,
                            const struct nft_element *elements, size_t n, usec_t now) {
        struct nft_element_iter it;
        const struct nft_element *e;
        uint8_t first[16], next[16];
        size_t on_line = 0;
        bool to_top;

        nft_element_iter_init(&it, elements, n, af, interval);
        while ((e = nft_element_iter_next(&it, first, next, &to_top))) {
                char text[INET6_ADDRSTRLEN];
                uint64_t timeout = nft_timeout_sec(e->expiry, now);

                if (!inet_ntop(af, first, text, sizeof(text)))
                        continue;
                if (on_line == 0)
                        fprintf(f, "add element %s %s %s { ", fam, table, set);
                else
                        fputs(", ", f);
                fputs(text, f);
                if (e->addr.prefixlen != (af == AF_INET ? 32 : 128))
                        fprintf(f, "/%u", e->addr.prefixlen);
                if (timeout > 0)
                        fprintf(f, " timeout %" PRIu64 "s", timeout);
                if (e->comment && *e->comment) {
                        char comment[NFT_COMMENT_MAX + 1];
                        nft_comment_sanitize(e->comment, comment);
                        if (comment[0])
                                fprintf(f, " comment \"%s\"", comment);
                }
                if (++on_line == NFT_SCRIPT_ELEMENTS_PER_LINE) {
                        fputs(" }\n", f);
                        on_line = 0;
                }
        }
        if (on_line > 0)
                fputs(" }\n", f);
}

static void script_rule(FILE *f, const char *fam, const struct nft_ruleset *want, const struct nft_group *g, int af,
                        uint8_t proto, struct port_range *ports) {
        size_t n = nft_group_ports(g, proto, ports);

        if (n == 0)
                return;
        fprintf(f, "add rule %s %s %s %s daddr @%s_%s %s dport ", fam, want->table, want->chain,
                af == AF_INET ? "ip" : "ip6", g->name, af == AF_INET ? "v4" : "v6", proto == IPPROTO_TCP ? "tcp" : "udp");
        if (n > 1)
                fputs("{ ", f);
        for (size_t i = 0; i < n; i++) {
                fprintf(f, "%s%u", i > 0 ? ", " : "", ports[i].first);
                if (ports[i].last != ports[i].first)
                        fprintf(f, "-%u", ports[i].last);
        }
        fprintf(f, "%s counter accept comment \"%s\"\n", n > 1 ? " }" : "", g->name);
}

int nft_write_script(FILE *f, const struct nft_ruleset *want, usec_t now) {
        const char *fam = nft_family_to_string(want->family);

        if (!f || isempty(want->table) || streq(fam, "unknown"))
                return -EINVAL;

        fprintf(f, "#!/usr/sbin/nft -f\n# allowlistd --dry-run: what one full apply would do, in one transaction\n");
        fprintf(f, "add table %s %s\n", fam, want->table);
        for (size_t i = 0; i < want->n_groups; i++) {
                const struct nft_group *g = &want->groups[i];
                char comment[NFT_COMMENT_MAX + 1];

                nft_comment_sanitize(g->comment, comment);
                for (int af = AF_INET; af != 0; af = af == AF_INET ? AF_INET6 : 0) {
                        if (!nft_group_wants(want, g, af))
                                continue;
                        fprintf(f, "add set %s %s %s_%s { type %s; flags %s;", fam, want->table, g->name,
                                af == AF_INET ? "v4" : "v6", af == AF_INET ? "ipv4_addr" : "ipv6_addr",
                                g->interval ? "interval,timeout" : "timeout");
                        if (comment[0])
                                fprintf(f, " comment \"%s\";", comment);
                        fputs(" }\n", f);
                }
        }
        if (want->chain)
                fprintf(f, "add chain %s %s %s\n", fam, want->table, want->chain);
        for (size_t i = 0; i < want->n_groups; i++) {
                const struct nft_group *g = &want->groups[i];
                for (int af = AF_INET; af != 0; af = af == AF_INET ? AF_INET6 : 0) {
                        char set[NFT_SET_NAME_MAX + 1];
                        _cleanup_free_ struct nft_element *owned = NULL;
                        const struct nft_element *e;
                        size_t n;

                        if (!nft_group_wants(want, g, af))
                                continue;
                        if (nft_group_elements(g, af, &e, &n, &owned) < 0)
                                return -ENOMEM;
                        snprintf(set, sizeof(set), "%s_%s", g->name, af == AF_INET ? "v4" : "v6");
                        fprintf(f, "flush set %s %s %s\n", fam, want->table, set);
                        script_elements(f, fam, want->table, set, af, g->interval, e, n, now);
                }
        }
        if (want->chain) {
                fprintf(f, "flush chain %s %s %s\n", fam, want->table, want->chain);
                for (size_t i = 0; i < want->n_groups; i++) {
                        const struct nft_group *g = &want->groups[i];
                        _cleanup_free_ struct port_range *ports = calloc(MAX(g->n_allow, (size_t) 1), sizeof(*ports));
                        uint8_t protos[2];
                        size_t k = nft_group_protocols(g, protos);

                        if (!ports)
                                return -ENOMEM;
                        for (int af = AF_INET; af != 0; af = af == AF_INET ? AF_INET6 : 0)
                                for (size_t j = 0; j < k && nft_group_wants(want, g, af); j++)
                                        script_rule(f, fam, want, g, af, protos[j], ports);
                }
        }
        if (fflush(f) != 0 || ferror(f))
                return -EIO;
        return 0;
}
