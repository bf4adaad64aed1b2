/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "addr.h"
#include "nft.h"

/* The base chains that send DNS replies to the snooping queue, in the daemon's table, each in a
 * transaction of its own on a socket of its own (start-up, reload, repair), apart from the sets'
 * transactions. Each chain holds the queue rule alone: a verdict of NF_ACCEPT resumes at the
 * next base chain of the hook, so nothing after the rule in the same chain would be evaluated. */
#define NFT_QUEUE_CHAIN_FORWARD "snoop_forward"
#define NFT_QUEUE_CHAIN_OUTPUT "snoop_output"

/* How the rules reach the queue: the nftables `queue` expression (nft_queue), or where the
 * kernel lacks it (CONFIG_NFT_QUEUE unset) the xtables NFQUEUE target through nft_compat, as
 * iptables-nft writes `-j NFQUEUE`. Both with bypass: without a listener the reply passes. */
enum nft_queue_kind {
        NFT_QUEUE_EXPRESSION,
        NFT_QUEUE_XT_TARGET,
};

struct nft_queue_spec {
        int family;        /* of the daemon's table: NFPROTO_INET, NFPROTO_IPV4, NFPROTO_IPV6 */
        const char *table;
        uint16_t queue;
        const struct ip_addr *servers; /* only replies from these; none: from any */
        size_t n_servers;
};

/* Creates the table if missing and the two chains, and replaces their rules: `udp sport 53 ct
 * direction reply [ip saddr SERVER] queue num N bypass`, forward and output hooks, priority
 * filter + 10 (after the operator's filter chains at priority filter). Tries the queue
 * expression first, the xtables target when the kernel does not know it; *ret_kind says which
 * went in. Returns 0 or a negative errno with err filled: the chain named there is unchanged
 * (a failure of the second, snoop_output, leaves the first installed: with bypass, harmless). */
int nft_queue_install(const struct nft_queue_spec *spec, enum nft_queue_kind *ret_kind, struct nft_error *err);

/* The same with one form only, no fallback (what nft_queue_install() tries first, and tests).
 * A kernel without it refuses the first chain's transaction: -ENOENT, err naming the chain
 * and the module it lacks (nft_queue, or xt_NFQUEUE). */
int nft_queue_install_kind(const struct nft_queue_spec *spec, enum nft_queue_kind kind, struct nft_error *err);

/* Deletes both chains (each missing one is fine). Returns 0 or a negative errno with err filled. */
int nft_queue_remove(int family, const char *table, struct nft_error *err);

/* "queue expression" / "xtables NFQUEUE target", for the journal. */
const char *nft_queue_kind_to_string(enum nft_queue_kind k);
