/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "addr.h"
#include "config.h"
#include "util.h"

/* A strict parser of one queued DNS reply: the IPv4 or IPv6 packet as the kernel hands it to
 * the queue (network header first), its UDP header, and the DNS message in it. Pure: no I/O,
 * no allocation; every length comes from the packet and is checked before use. */

/* Addresses taken from one reply: more are ignored (a reply of 64 kB could carry 4,000). */
#define SNOOP_DNS_ADDRS_MAX 64
/* CNAME links followed from the question name. */
#define SNOOP_DNS_CHAIN_MAX 16

struct snoop_dns_reply {
        char name[HOST_NAME_MAX_LEN + 1]; /* the question name: lower-case, no trailing dot */
        uint16_t qtype;                   /* 1 (A) or 28 (AAAA) */
        bool truncated;                   /* TC: the answer section may be incomplete */
        struct ip_addr addrs[SNOOP_DNS_ADDRS_MAX]; /* A/AAAA at the end of the CNAME chain */
        size_t n_addrs;
        struct ip_addr client;            /* the packet's destination: who asked */
};

/* Parses packet (len bytes). Returns 0 with *ret filled for a UDP reply from port 53 with QR=1,
 * opcode QUERY, RCODE NOERROR, exactly one question of class IN and type A or AAAA, whose
 * question name is made of letters, digits, '-' and '_' (anything else cannot be a vendor's
 * server name, and a '.' inside a label could pass for a label boundary). Addresses are those of
 * the question's type owned by the last name of the CNAME chain that starts at the question
 * name; none when TC is set. Otherwise a negative errno: -EBADMSG (malformed or truncated
 * anywhere), -EPROTONOSUPPORT (not an IPv4/IPv6 UDP packet from port 53), -ENOMSG (a
 * well-formed DNS message that teaches nothing: a query, another opcode or RCODE, another
 * question count, class or type). ret is written only on success. */
int snoop_dns_parse(const uint8_t *packet, size_t len, struct snoop_dns_reply *ret);
