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
        usec_t first_seen; /* allowed without a gap since then, <= last_seen (version 1 files: =) */
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

/* Limits of a state file, the same for reading and writing, so that whatever the daemon accepted
 * from a file it can write back. A gateway has hundreds of records; these only bound a bad file:
 * a larger file is refused before it is read, so it costs nothing. */
#define STATE_FILE_MAX (UINT64_C(64) << 20) /* bytes: 64 MiB */
#define STATE_ADDRESSES_MAX 1000000U        /* address records */
#define STATE_HOSTS_MAX 100000U             /* host records: the configuration's limit on hosts */

/* Reading a file record by record, in bounded memory (one line at a time). */
struct state_reader {
        /* Called for each record in file order, only once the whole file's framing, counts and
         * checksum have been verified. A negative return stops the read with that error. When
         * state_read() fails, records already handed over must be discarded: the file was not
         * read. Either may be NULL. */
        int (*on_address)(const struct state_address *a, void *userdata);
        int (*on_host)(const struct state_host *h, void *userdata);
        void *userdata;
        /* Out: the time the file was written, and on failure what was wrong ("line 7: bad
         * address record", "bad checksum: ...", "70000000 bytes, larger than ..."). */
        usec_t written;
        unsigned line;
        char why[192];
};

/* Reads path into reader's callbacks. -ENOENT when missing; -EFBIG when larger than
 * STATE_FILE_MAX (refused before reading); -EBADMSG when corrupt, truncated, over a record limit
 * or of another version; -errno from a callback or on read errors. */
int state_read(const char *path, struct state_reader *reader);

/* Reads path into a struct state. -ENOENT when missing; -EBADMSG when corrupt, truncated, too
 * large or of another version (nothing is returned then: never a half-loaded state). */
int state_load(const char *path, struct state **ret);

/* Which records state_load_filtered() keeps: those a predicate accepts (a NULL predicate keeps
 * all of its kind). */
struct state_filter {
        bool (*keep_address)(const struct state_address *a, void *userdata);
        bool (*keep_host)(const struct state_host *h, void *userdata);
        void *userdata;
};

/* As state_load(), keeping only the records filter accepts (all for a NULL filter): memory for
 * those and one line, however large the file. */
int state_load_filtered(const char *path, const struct state_filter *filter, struct state **ret);

/* Writing a file while walking the data, without building it in memory first: a temporary file
 * in the same directory, and at the commit fsync, rename, fsync of the directory. A crash at any
 * point leaves the old or the new file. Each call returns 0 or the first error so far: -EINVAL
 * for a record state_read() would refuse, -E2BIG past a limit above, -errno; after an error
 * nothing more is written and the commit fails too. Freeing an uncommitted writer removes the
 * temporary file. */
struct state_writer;
int state_writer_new(const char *path, usec_t written, struct state_writer **ret);
int state_writer_address(struct state_writer *w, const char *group, const char *host,
                         const struct ip_addr *addr, usec_t expiry, usec_t last_seen, usec_t first_seen);
int state_writer_host(struct state_writer *w, const struct state_host *h);
int state_writer_commit(struct state_writer *w);
struct state_writer *state_writer_free(struct state_writer *w);
static inline void state_writer_freep(struct state_writer **w) { state_writer_free(*w); }

/* Exact size of the line state_writer_address() writes for these values. */
size_t state_address_size(const char *group, const char *host, const struct ip_addr *addr,
                          usec_t expiry, usec_t last_seen, usec_t first_seen);
/* Largest size of a host line for group/host, whatever its times, count and error text. */
size_t state_host_size_max(const char *group, const char *host);
/* Largest size of the header, "written" and "end" lines together. */
size_t state_frame_size_max(void);

/* Writes s to path atomically through a state_writer. Returns 0 or -errno. */
int state_save(const char *path, const struct state *s);

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
