/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include "util.h"

/* An IPv4 or IPv6 address, or a prefix of one. Plain data: compare with addr_compare(),
 * copy with =. Unused bytes (beyond 4 for IPv4, beyond the prefix) are always zero. */
struct ip_addr {
        uint8_t family;    /* AF_INET or AF_INET6 */
        uint8_t prefixlen; /* 32 or 128 for a single address */
        union {
                struct in_addr in;
                struct in6_addr in6;
                uint8_t bytes[16];
        } u;
};

/* Enough for "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128". */
#define ADDR_STRLEN (INET6_ADDRSTRLEN + 4)

/* In order of strictness. */
enum addr_class {
        ADDR_PUBLIC,   /* fine to allow */
        ADDR_PRIVATE,  /* RFC 1918, 100.64/10, fc00::/7, ...: allowed only with allow_private=yes */
        ADDR_RESERVED, /* never allowed: loopback, link-local, multicast, unspecified, ... */
};

/* Enough for the longest addr_class_reason(). */
#define ADDR_REASON_MAX 160

/* Parses "192.0.2.1", "192.0.2.0/24", "2001:db8::1" or "2001:db8::/32". Host bits set in a
 * prefix are an error (-EINVAL) so a typo in a prefix length is not silently widened. */
int addr_parse(const char *s, struct ip_addr *ret);

/* Makes an address from binary form; family AF_INET (4 bytes) or AF_INET6 (16). */
struct ip_addr addr_make(int family, const void *bytes);

/* Writes the address ("/len" only for prefixes) into buf of ADDR_STRLEN bytes; returns buf. */
const char *addr_to_string(const struct ip_addr *a, char *buf);

/* Total order: family, then bytes, then prefix length. */
int addr_compare(const struct ip_addr *a, const struct ip_addr *b);
int addr_compare_qsort(const void *a, const void *b);

/* True when address a (or all of prefix a) lies inside prefix p. */
bool addr_in_prefix(const struct ip_addr *a, const struct ip_addr *p);

/* Classifies a DNS answer address (DNS rebinding protection: see addr.c for the ranges). An
 * IPv6 address that embeds an IPv4 one (NAT64, 6to4, Teredo, ...) is at least as strict as
 * the IPv4 address. */
enum addr_class addr_classify(const struct ip_addr *a);

/* Writes the reason for a's class into buf, for logs: "loopback (127.0.0.0/8)", "NAT64
 * (64:ff9b::/96) of 10.0.0.1, private (10.0.0.0/8)", "public". Returns buf. */
const char *addr_class_reason(const struct ip_addr *a, char buf[static ADDR_REASON_MAX]);
