/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "addr.h"
#include "config.h"
#include "util.h"

/* The state file: what the daemon last knew, written atomically after every change, read at
 * start (to restore the allow-list before any DNS query) and by --status. All times are
 * CLOCK_REALTIME usec so they survive a reboot; 0 means "never". */

struct state_address {
        char group[GROUP_NAME_MAX + 1];
        char host[HOST_NAME_MAX_LEN + 1];
        struct ip_addr addr;
        usec_t expiry;
        usec_t last_seen;
};

struct state_host {
        char group[GROUP_NAME_MAX + 1];
        char host[HOST_NAME_MAX_LEN + 1];
        usec_t last_success;
        usec_t last_failure;
        usec_t failing_since; /* first failure of the current run of failures, 0 if healthy */
        unsigned failures;    /* consecutive */
        char last_error[64];
        usec_t next_refresh;
};

struct state {
        usec_t written;       /* when the file was written */
        struct state_address *addresses;
        size_t n_addresses;
        struct state_host *hosts;
        size_t n_hosts;
};

/* Writes s to path atomically: temporary file in the same directory, fsync, rename, fsync of
 * the directory. A crash at any point leaves the old or the new file. Returns 0 or -errno. */
int state_save(const char *path, const struct state *s);

/* Reads path. -ENOENT when missing; -EBADMSG when corrupt, truncated or of another version
 * (nothing is returned then: never a half-loaded state). */
int state_load(const char *path, struct state **ret);

/* Renames a bad state file to PATH.bad-TIMESTAMP so it can be examined; returns 0 or -errno. */
int state_set_aside(const char *path, char *ret_new_path, size_t size);

struct state *state_free(struct state *s);
static inline void state_freep(struct state **s) { state_free(*s); }

/* Appends to s (grows the arrays). Returns 0 or -ENOMEM. */
int state_add_address(struct state *s, const struct state_address *a);
int state_add_host(struct state *s, const struct state_host *h);

/* --status: renders s as a table for people (now = CLOCK_REALTIME usec) or as JSON. */
void state_print_table(const struct state *s, const struct config *c, usec_t now, FILE *f);
void state_print_json(const struct state *s, const struct config *c, usec_t now, FILE *f);
