/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "addr.h"
#include "util.h"

/* Read-only questions to the kernel for --status, on a netlink socket of their own: never part
 * of the daemon's transactions. */

#define NFT_QUERY_COMMENT_MAX 128

/* The element of a set that holds an address, as the kernel has it. */
struct nft_query_element {
        struct ip_addr element; /* the address, or the prefix of an interval set that holds it */
        bool range;             /* an interval that is no prefix: element is its first address */
        struct ip_addr last;    /* with range: its last address */
        usec_t timeout;         /* 0: none */
        usec_t expires;         /* time left, 0 when there is no timeout */
        char comment[NFT_QUERY_COMMENT_MAX + 1]; /* empty: none */
};

/* Looks for the element of set family/table/set that holds addr (family: NFPROTO_INET, ...).
 * Returns 1 and fills ret when there is one, 0 when not, -ENOENT when the table or set does
 * not exist, -EPERM without CAP_NET_ADMIN, other negative errnos on failure. */
int nft_query_element(int family, const char *table, const char *set, const struct ip_addr *addr,
                      struct nft_query_element *ret);

/* "inet", "ip" or "ip6", as nft(8) names a table's family. */
const char *nft_query_family_name(int family);
