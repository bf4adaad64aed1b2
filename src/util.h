/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Microseconds, the unit of sd-event and of every duration in allowlistd. */
typedef uint64_t usec_t;
#define USEC_INFINITY ((usec_t) UINT64_MAX)
#define USEC_PER_MSEC ((usec_t) 1000ULL)
#define USEC_PER_SEC ((usec_t) 1000000ULL)
#define USEC_PER_MINUTE (60ULL * USEC_PER_SEC)
#define USEC_PER_HOUR (60ULL * USEC_PER_MINUTE)
#define USEC_PER_DAY (24ULL * USEC_PER_HOUR)

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define CLAMP(x, lo, hi) ((x) < (lo) ? (lo) : (x) > (hi) ? (hi) : (x))

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))

static inline void freep(void *p) { free(*(void **) p); }
static inline void closep(int *fd) { if (*fd >= 0) close(*fd); }
static inline void fclosep(FILE **f) { if (*f) fclose(*f); }
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

static inline bool streq(const char *a, const char *b) { return strcmp(a, b) == 0; }
static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return streq(a, b);
}
static inline bool isempty(const char *s) { return !s || !*s; }

/* Returns the pointer and sets *p to NULL: hands ownership on (systemd's TAKE_PTR). */
#define TAKE_PTR(p) __extension__({ __typeof__(p) _p = (p); (p) = NULL; _p; })

/* Parses "90", "90s", "15m", "1h", "7d" (also combinations like "1h30m") into microseconds.
 * Returns 0, or -EINVAL for anything else, -ERANGE on overflow. */
int parse_duration(const char *s, usec_t *ret);

/* Formats a duration as "7d", "3h12m", "45s" or "0s" into buf; returns buf. */
char *format_duration(char *buf, size_t size, usec_t d);
#define DURATION_MAX 32

/* Formats a CLOCK_REALTIME time in usec as "2026-11-21 12:03:00 UTC" (local time zone); returns buf. */
char *format_timestamp(char *buf, size_t size, usec_t realtime);
#define TIMESTAMP_MAX 64

/* Current time of the given clock in usec. */
usec_t now_usec(int clock_id);

/* Compares element i of some sorted array with key: < 0, 0 or > 0 like strcmp(). */
typedef int (*search_compare_func)(size_t i, const void *key, const void *userdata);

/* Binary search of key in the sorted elements [lo, hi): returns the index of an equal element
 * (*ret_found true) or the index where key would be inserted (*ret_found false). */
size_t binary_search(size_t lo, size_t hi, const void *key, search_compare_func compare,
                     const void *userdata, bool *ret_found);

/* Grows *array so that it holds at least need elements of size each; doubles. */
int grow_array(void **array, size_t *allocated, size_t need, size_t size);

/* Splits path into its directory ("." or "/" when it has none) and its last component (a
 * pointer into path). Returns 0 or -ENOMEM. */
int path_split(const char *path, char **ret_dir, const char **ret_base);

/* Writing a file atomically: a temporary file PATH.tmp-XXXXXX in the same directory (never
 * *.prom nor the path itself, so no reader sees half a file), mode 0644 (the state file and
 * the metrics are read by other users), and at the commit flush, fsync, rename over path and
 * fsync of the directory. A crash at any point leaves the old or the new file. */
struct atomic_file {
        FILE *f;        /* write here */
        char *path;
        char *tmp;
        int dir_fd;
        bool committed;
};

/* Creates the temporary file. remove_stale: first removes PATH.tmp-XXXXXX files that a
 * killed writer left (only right when this process is the file's one writer). Returns 0 or
 * -errno (-EISDIR when path ends in a slash); on failure a is left empty, safe to release. */
int atomic_file_open(const char *path, bool remove_stale, struct atomic_file *a);
/* Flushes and closes the temporary file and renames it over path; durable: fsyncs the file
 * before and the directory after (a file that need not survive a crash, such as the metrics,
 * skips both, so that a slow disk does not stall the event loop). Returns 0 or -errno;
 * committed says whether the rename happened (a failed directory fsync comes after it). */
int atomic_file_commit(struct atomic_file *a, bool durable);
/* Closes what is open and removes the temporary file unless it was committed. */
void atomic_file_release(struct atomic_file *a);
