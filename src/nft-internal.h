/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Shared by nft.c (transactions), nft-monitor.c (events) and nft-script.c (--dry-run text);
 * not for other modules. */

#include <libmnl/libmnl.h>

#include "nft.h"

#define NFT_SET_NAME_MAX (GROUP_NAME_MAX + 4) /* NAME_v4 */
/* nft(8) refuses longer comments ("comment too long, 128 characters maximum allowed"); the
 * netlink path uses the same limit so --dry-run and the kernel agree. */
#define NFT_COMMENT_MAX 128
/* Element timeouts are clamped to ten years: far beyond any validity, far below the
 * kernel's jiffies overflow check (-ERANGE). */
#define NFT_TIMEOUT_MAX_SEC (10ULL * 365 * 24 * 3600)

/* The daemon's mark in the userdata of every set it creates, so that a later run knows the set
 * is its own and may recreate it when it needs other flags (a static prefix came in: interval).
 * A TLV type nft does not know: nft 1.0.6's set_parse_udata_cb() skips unknown types, so
 * `nft list` shows the set as before and nothing of the mark. A set (re)declared from the
 * operator's file, even a saved copy of ours, carries no mark and is the operator's. */
#define NFT_UDATA_SET_OWNER 0xa1
#define NFT_UDATA_SET_OWNER_VALUE "allowlistd"

struct nft_tracked_set {
        char name[NFT_SET_NAME_MAX + 1];
        uint64_t fingerprint; /* content of the last successful apply */
        bool created;         /* made by the daemon (this run or an earlier one): carries its mark */
        bool interval;        /* the kernel set has flags interval: elements go as ranges */
};

struct nft {
        struct mnl_socket *nl;
        uint32_t portid;
        uint32_t seq;

        char *batch;            /* reused across applies */
        size_t batch_allocated;
        int sndbuf, rcvbuf;     /* what we set, so it is only raised */

        /* What the last successful apply left in the kernel. */
        int family;
        char *table, *chain;
        bool table_created;
        bool probed;            /* the table's sets were checked since the last change */
        bool chain_known;
        uint64_t chain_fingerprint;
        struct nft_tracked_set *sets;
        size_t n_sets, allocated_sets;

        nft_leftover_cb on_leftover;
        void *leftover_userdata;

        /* Monitor (nft-monitor.c). */
        struct mnl_socket *mon;
        sd_event_source *mon_io, *mon_timer;
        nft_change_cb on_change;
        void *userdata;
        bool mon_touched;       /* events of the current foreign transaction hit our objects */
        bool mon_pending;       /* a foreign transaction hit them: call back when the timer fires */
        bool mon_paused;        /* out of the event group during our own commit */
        uint32_t gen_seen;      /* last generation whose NEWGEN was processed (or read after ours) */
        uint32_t gen_before;    /* gen_seen when our commit began */
        char *mon_buf;
};

/* "inet", "ip", "ip6". */
const char *nft_family_to_string(int family);

/* Whether the set NAME_v4 (af AF_INET) or NAME_v6 exists for g in a table of this family. */
bool nft_group_wants(const struct nft_ruleset *want, const struct nft_group *g, int af);

/* The element timeout in seconds, rounded up, at least 1 (the kernel reads 0 as "never");
 * 0 means a static element without timeout. */
uint64_t nft_timeout_sec(usec_t expiry, usec_t now);

/* Copies a comment into out, at most NFT_COMMENT_MAX bytes (cut at a UTF-8 boundary), with
 * the characters nft's quoted strings cannot carry (", newline, control characters) replaced. */
void nft_comment_sanitize(const char *in, char out[static NFT_COMMENT_MAX + 1]);

/* Walks the elements of one set, skipping whatever breaks the caller's promise (other family,
 * a prefix in a non-interval set, unsorted, duplicate or overlapping entries), so that a bad
 * list can neither crash nor make the kernel refuse the batch. */
struct nft_element_iter {
        const struct nft_element *elements;
        size_t n, i;
        int af;
        bool interval;
        bool have_prev;
        uint8_t prev_last[16];
};
void nft_element_iter_init(struct nft_element_iter *it, const struct nft_element *elements, size_t n,
                           int af, bool interval);
/* Returns the next usable element with its first and last address (big endian, 4 or 16
 * bytes used) and whether last is the top of the address space, or NULL at the end. */
const struct nft_element *nft_element_iter_next(struct nft_element_iter *it, uint8_t first[static 16],
                                                uint8_t last_plus_one[static 16], bool *ret_to_top);

/* Whether a set's userdata (NFTNL_UDATA TLVs: type, length, value) carries the daemon's mark.
 * It comes from the kernel, written by whoever made the set: every length is checked against
 * what is left (nftnl_udata_parse() checks none). */
bool nft_udata_has_owner_mark(const void *data, uint32_t len);

/* The protocols of a group's allow= in first-seen order; returns how many (at most 2). */
size_t nft_group_protocols(const struct nft_group *g, uint8_t protos[static 2]);

/* The port ranges of one protocol, sorted, overlapping and adjacent ones merged; returns how
 * many were written to ret (which holds g->n_allow entries). */
size_t nft_group_ports(const struct nft_group *g, uint8_t proto, struct port_range *ret);

/* nft-monitor.c: around our own commits, so that they cost no event per element. */
void nft_monitor_pause(struct nft *n);
/* commits: how many transactions of ours went in since the pause (each moves the generation
 * by at most one). */
void nft_monitor_resume(struct nft *n, unsigned commits);
void nft_monitor_free(struct nft *n);
