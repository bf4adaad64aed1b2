/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "json.h"
#include "state.h"

/* The file is plain text an operator can read with less(1):
 *
 *   allowlistd-state 2
 *   written REALTIME_USEC
 *   address GROUP HOST ADDRESS EXPIRY LAST_SEEN[ FIRST_SEEN]
 *   host GROUP HOST LAST_SUCCESS LAST_FAILURE FAILING_SINCE FAILURES NEXT_REFRESH[ ERROR TEXT]
 *   end RECORDS CHECKSUM
 *
 * Fields are separated by exactly one space; times are CLOCK_REALTIME usec, 0 = never. The
 * last line holds the number of address and host lines and the FNV-1a 64 hash of every byte
 * before it, so a truncated or damaged file is refused as a whole instead of half-loaded.
 * Records may come in any order; the daemon writes addresses in ledger order, then hosts.
 *
 * FIRST_SEEN (since when the address is allowed without a gap) is there only when it is earlier
 * than LAST_SEEN, and absent means equal: one way to write each record, and no bytes for the
 * addresses answered once (a file of 1,000,000 records stays under the size cap). Version 1 had
 * no FIRST_SEEN; such files are still read (first_seen = last_seen, the earliest time they
 * prove). A new number all the same, so that an older reader says "another version" instead of
 * "bad address record"; only the current version is written. */

#define STATE_HEADER "allowlistd-state 2" /* a new format gets a new number here */
#define STATE_HEADER_V1 "allowlistd-state 1"
/* Of --status --json, independent of the file's: fields added keep it, a changed meaning does not. */
#define STATUS_JSON_VERSION 1
#define STATE_LINE_MAX 1024           /* longest valid host line is about 520 bytes */
#define STATE_ERROR_MAX (sizeof(((struct state_host *) NULL)->last_error) - 1)

#define FNV1A64_OFFSET UINT64_C(0xcbf29ce484222325)
#define FNV1A64_PRIME UINT64_C(0x100000001b3)

static uint64_t fnv1a64(uint64_t h, const void *p, size_t n) {
        const uint8_t *b = p;

        for (size_t i = 0; i < n; i++) {
                h ^= b[i];
                h *= FNV1A64_PRIME;
        }
        return h;
}

/* Lower-case DNS name without the trailing dot, as the configuration stores it: labels of
 * 1..63 bytes from [a-z0-9_-], at most 253 bytes in all. */
static bool host_name_valid(const char *s) {
        size_t n = strlen(s), label = 0;

        if (n == 0 || n > HOST_NAME_MAX_LEN)
                return false;
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '.') {
                        if (label == 0)
                                return false;
                        label = 0;
                        continue;
                }
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
                      s[i] == '_' || s[i] == '-'))
                        return false;
                if (++label > 63)
                        return false;
        }
        return label > 0;
}

static bool address_valid(const struct ip_addr *a) {
        return (a->family == AF_INET && a->prefixlen == 32) ||
               (a->family == AF_INET6 && a->prefixlen == 128);
}

static bool error_text_valid(const char *s) {
        size_t n = strlen(s);

        if (n > STATE_ERROR_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] < 0x20 || s[i] > 0x7e)
                        return false;
        return true;
}

/* Error texts come from c-ares and the kernel; keep them to one printable line. */
static void error_text_sanitize(const char *s, char *buf, size_t size) {
        size_t i;

        for (i = 0; s[i] && i + 1 < size; i++)
                buf[i] = s[i] >= 0x20 && s[i] <= 0x7e ? s[i] : '?';
        buf[i] = 0;
}

/* Decimal without sign, leading zeros or overflow: there is one way to write each number,
 * so the checksum is the only thing that can differ between two valid files. */
static int parse_u64(const char *s, uint64_t *ret) {
        uint64_t n = 0;

        if (!*s || (s[0] == '0' && s[1]))
                return -EBADMSG;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return -EBADMSG;
                if (n > (UINT64_MAX - (uint64_t) (*s - '0')) / 10)
                        return -EBADMSG;
                n = n * 10 + (uint64_t) (*s - '0');
        }
        *ret = n;
        return 0;
}

static int parse_unsigned(const char *s, unsigned *ret) {
        uint64_t n;

        if (parse_u64(s, &n) < 0 || n > UINT_MAX)
                return -EBADMSG;
        *ret = (unsigned) n;
        return 0;
}

static int parse_name(const char *s, char *buf, size_t size, bool (*valid)(const char *)) {
        if (strlen(s) >= size || !valid(s))
                return -EBADMSG;
        strcpy(buf, s);
        return 0;
}

/* Splits line in place into exactly n fields separated by single spaces; *ret_rest gets what
 * follows the n-th field's separator, or NULL when the line ends there. Empty fields (two
 * spaces, a leading or trailing space) are errors. */
static int split_fields(char *line, char **fields, size_t n, char **ret_rest) {
        char *p = line;

        for (size_t i = 0; i < n; i++) {
                char *sp;

                if (!p || *p == 0 || *p == ' ')
                        return -EBADMSG;
                fields[i] = p;
                sp = strchr(p, ' ');
                if (sp) {
                        *sp = 0;
                        p = sp + 1;
                } else
                        p = NULL;
        }
        if (p && (!ret_rest || !*p))
                return -EBADMSG;
        if (ret_rest)
                *ret_rest = p;
        return 0;
}

/* Capacity of a malloc()ed array: struct state carries no allocation count, and callers may
 * hand us arrays they allocated themselves, so ask the allocator instead of guessing. */
static int state_grow(void **array, size_t n, size_t size) {
        size_t allocated = *array ? malloc_usable_size(*array) / size : 0;

        return grow_array(array, &allocated, n + 1, size);
}

int state_add_address(struct state *s, const struct state_address *a) {
        if (state_grow((void **) &s->addresses, s->n_addresses, sizeof(*a)) < 0)
                return -ENOMEM;
        s->addresses[s->n_addresses++] = *a;
        return 0;
}

int state_add_host(struct state *s, const struct state_host *h) {
        if (state_grow((void **) &s->hosts, s->n_hosts, sizeof(*h)) < 0)
                return -ENOMEM;
        s->hosts[s->n_hosts++] = *h;
        return 0;
}

struct state *state_free(struct state *s) {
        if (!s)
                return NULL;
        free(s->addresses);
        free(s->hosts);
        free(s);
        return NULL;
}

static int parse_address_line(char *args, unsigned version, struct state_address *ret) {
        struct state_address a = { .expiry = 0 };
        char *f[5], *first_seen = NULL;

        if (split_fields(args, f, ELEMENTSOF(f), version >= 2 ? &first_seen : NULL) < 0 ||
            parse_name(f[0], a.group, sizeof(a.group), group_name_valid) < 0 ||
            parse_name(f[1], a.host, sizeof(a.host), host_name_valid) < 0 ||
            strchr(f[2], '/') || strlen(f[2]) >= ADDR_STRLEN ||
            addr_parse(f[2], &a.addr) < 0 || !address_valid(&a.addr) ||
            parse_u64(f[3], &a.expiry) < 0 ||
            parse_u64(f[4], &a.last_seen) < 0)
                return -EBADMSG;
        a.first_seen = a.last_seen;
        if (first_seen && (parse_u64(first_seen, &a.first_seen) < 0 || a.first_seen >= a.last_seen))
                return -EBADMSG;
        *ret = a;
        return 0;
}

static int parse_host_line(char *args, struct state_host *ret) {
        struct state_host h = { .failures = 0 };
        char *f[7], *error;

        if (split_fields(args, f, ELEMENTSOF(f), &error) < 0 ||
            parse_name(f[0], h.group, sizeof(h.group), group_name_valid) < 0 ||
            parse_name(f[1], h.host, sizeof(h.host), host_name_valid) < 0 ||
            parse_u64(f[2], &h.last_success) < 0 ||
            parse_u64(f[3], &h.last_failure) < 0 ||
            parse_u64(f[4], &h.failing_since) < 0 ||
            parse_unsigned(f[5], &h.failures) < 0 ||
            parse_u64(f[6], &h.next_refresh) < 0)
                return -EBADMSG;
        if (error) {
                if (!error_text_valid(error))
                        return -EBADMSG;
                strcpy(h.last_error, error);
        }
        *ret = h;
        return 0;
}
/* ---- reading ----
 *
 * Two passes over the file, each with a buffer of one line: the first checks the framing, the
 * record counts and the checksum and builds nothing; only a file that passes is read again and
 * handed to the caller record by record. A damaged or hostile file so costs its line buffer,
 * whatever its size, and the file size is capped before the first byte is read. */

struct reader {
        FILE *f;
        struct state_reader *out;
        uint64_t bytes;          /* read so far in this pass */
        unsigned version;        /* of the header: 1 or 2 */
        char line[STATE_LINE_MAX + 1];
        size_t len;
};

static int refuse(struct reader *rd, int r, const char *fmt, ...) _printf_(3, 4);
static int refuse(struct reader *rd, int r, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(rd->out->why, sizeof(rd->out->why), fmt, ap);
        va_end(ap);
        return r;
}

/* Reads the next line without its newline into rd->line (NUL-terminated) and counts it in
 * rd->out->line. Returns 1 for a line, 0 at end of file, -EBADMSG (said in why) for a NUL
 * byte, an over-long line or a last line without newline, -EFBIG past the size cap (the file
 * grew after it was measured), -errno on read errors. */
static int read_line(struct reader *rd) {
        unsigned line = ++rd->out->line;
        size_t n = 0;
        int c;

        for (;;) {
                c = getc_unlocked(rd->f);
                if (c == EOF) {
                        if (ferror(rd->f))
                                return refuse(rd, errno > 0 ? -errno : -EIO, "read error at line %u", line);
                        if (n == 0)
                                return 0;
                        return refuse(rd, -EBADMSG, "line %u: no newline at the end of the file (truncated)", line);
                }
                if (++rd->bytes > STATE_FILE_MAX)
                        return refuse(rd, -EFBIG, "larger than the limit of %llu bytes (64 MiB)",
                                      (unsigned long long) STATE_FILE_MAX);
                if (c == '\n')
                        break;
                if (c == 0)
                        return refuse(rd, -EBADMSG, "line %u: NUL byte", line);
                if (n + 1 >= sizeof(rd->line))
                        return refuse(rd, -EBADMSG, "line %u: longer than %d bytes", line, STATE_LINE_MAX);
                rd->line[n++] = (char) c;
        }
        rd->line[n] = 0;
        rd->len = n;
        return 1;
}

static bool startswith(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Lines 1 and 2: the version header and the time of writing. */
static int read_head(struct reader *rd, uint64_t *hash) {
        for (unsigned i = 1; i <= 2; i++) {
                int r = read_line(rd);

                if (r < 0)
                        return r;
                if (r == 0)
                        return refuse(rd, -EBADMSG, "truncated after line %u", rd->out->line - 1);
                /* Another version is refused like a corrupt file: set aside, not guessed at. */
                if (i == 1 && streq(rd->line, STATE_HEADER))
                        rd->version = 2;
                else if (i == 1 && streq(rd->line, STATE_HEADER_V1))
                        rd->version = 1;
                else if (i == 1)
                        return refuse(rd, -EBADMSG, "line 1: not \"%s\" (not a state file, or of another version)",
                                      STATE_HEADER);
                if (i == 2 && (!startswith(rd->line, "written ") || parse_u64(rd->line + 8, &rd->out->written) < 0))
                        return refuse(rd, -EBADMSG, "line 2: not \"written TIME\"");
                *hash = fnv1a64(*hash, rd->line, rd->len);
                *hash = fnv1a64(*hash, "\n", 1);
        }
        return 0;
}

/* The end line (in rd->line): the record count and the checksum of everything before it.
 * Nothing may follow: a second "end" or appended garbage means the file is not what we wrote. */
static int read_end(struct reader *rd, size_t n_records, uint64_t hash) {
        unsigned line = rd->out->line;
        char *fields[2], *end;
        unsigned long long checksum;
        uint64_t count;
        int r;

        if (split_fields(rd->line + 4, fields, 2, NULL) < 0 || parse_u64(fields[0], &count) < 0 ||
            strlen(fields[1]) != 16 || strspn(fields[1], "0123456789abcdef") != 16)
                return refuse(rd, -EBADMSG, "line %u: not \"end RECORDS CHECKSUM\"", line);
        if (count != n_records)
                return refuse(rd, -EBADMSG, "line %u: the end line counts %llu records, the file has %zu (truncated or edited)",
                              line, (unsigned long long) count, n_records);
        errno = 0;
        checksum = strtoull(fields[1], &end, 16);
        if (errno != 0 || *end || checksum != hash)
                return refuse(rd, -EBADMSG, "bad checksum: the end line says %s, the content hashes to %016llx (damaged or edited)",
                              fields[1], (unsigned long long) hash);
        r = read_line(rd);
        if (r < 0)
                return r;
        if (r > 0)
                return refuse(rd, -EBADMSG, "line %u: data after the end line", rd->out->line);
        return 0;
}

/* First pass: framing, record counts and checksum; builds nothing. *ret_hash is the checksum,
 * so the second pass can tell a file that changed in between. */
static int verify_pass(struct reader *rd, uint64_t *ret_hash) {
        uint64_t hash = FNV1A64_OFFSET;
        size_t n_addresses = 0, n_hosts = 0;
        int r;

        r = read_head(rd, &hash);
        if (r < 0)
                return r;
        for (;;) {
                r = read_line(rd);
                if (r < 0)
                        return r;
                if (r == 0)
                        return refuse(rd, -EBADMSG, "truncated: no end line after line %u", rd->out->line - 1);
                if (startswith(rd->line, "end ")) {
                        r = read_end(rd, n_addresses + n_hosts, hash);
                        if (r < 0)
                                return r;
                        *ret_hash = hash;
                        return 0;
                }
                if (startswith(rd->line, "address ")) {
                        if (++n_addresses > STATE_ADDRESSES_MAX)
                                return refuse(rd, -EBADMSG, "line %u: more than %u address records",
                                              rd->out->line, STATE_ADDRESSES_MAX);
                } else if (startswith(rd->line, "host ")) {
                        if (++n_hosts > STATE_HOSTS_MAX)
                                return refuse(rd, -EBADMSG, "line %u: more than %u host records",
                                              rd->out->line, STATE_HOSTS_MAX);
                } else
                        return refuse(rd, -EBADMSG, "line %u: not an address, host or end record", rd->out->line);
                hash = fnv1a64(hash, rd->line, rd->len);
                hash = fnv1a64(hash, "\n", 1);
        }
}

/* Second pass: parses every record and hands it over. */
static int deliver_pass(struct reader *rd, uint64_t expected_hash) {
        uint64_t hash = FNV1A64_OFFSET;
        int r;

        r = read_head(rd, &hash);
        if (r < 0)
                return r;
        for (;;) {
                r = read_line(rd);
                if (r < 0)
                        return r;
                if (r == 0 || startswith(rd->line, "end "))
                        break;
                hash = fnv1a64(hash, rd->line, rd->len);
                hash = fnv1a64(hash, "\n", 1);
                if (startswith(rd->line, "address ")) {
                        struct state_address a;

                        if (parse_address_line(rd->line + 8, rd->version, &a) < 0)
                                return refuse(rd, -EBADMSG, "line %u: bad address record (want \"address GROUP HOST ADDRESS EXPIRY LAST_SEEN%s\")",
                                              rd->out->line, rd->version >= 2 ? "[ FIRST_SEEN]" : "");
                        r = rd->out->on_address ? rd->out->on_address(&a, rd->out->userdata) : 0;
                } else if (startswith(rd->line, "host ")) {
                        struct state_host h;

                        if (parse_host_line(rd->line + 5, &h) < 0)
                                return refuse(rd, -EBADMSG, "line %u: bad host record", rd->out->line);
                        r = rd->out->on_host ? rd->out->on_host(&h, rd->out->userdata) : 0;
                } else
                        r = -EBADMSG;
                if (r < 0)
                        return refuse(rd, r, "line %u: %s", rd->out->line,
                                      r == -EBADMSG ? "changed while it was read" : strerror(-r));
        }
        if (hash != expected_hash)
                return refuse(rd, -EBADMSG, "the file changed while it was read");
        return 0;
}

int state_read(const char *path, struct state_reader *reader) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct reader rd = { .out = reader };
        uint64_t hash = 0;
        struct stat st;
        int r;

        reader->written = 0;
        reader->line = 0;
        reader->why[0] = 0;

        /* O_NONBLOCK: a FIFO planted at the path must not hang the start-up; it is refused
         * below like anything else that is not a regular file. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return refuse(&rd, -errno, "%m");
        if (fstat(fd, &st) < 0)
                return refuse(&rd, -errno, "%m");
        if (!S_ISREG(st.st_mode))
                return refuse(&rd, -EBADMSG, "not a regular file");
        if ((uint64_t) st.st_size > STATE_FILE_MAX)
                return refuse(&rd, -EFBIG, "%llu bytes, larger than the limit of %llu bytes (64 MiB)",
                              (unsigned long long) st.st_size, (unsigned long long) STATE_FILE_MAX);
        f = fdopen(fd, "r");
        if (!f)
                return refuse(&rd, -errno, "%m");
        fd = -EBADF; /* owned by f now */

        rd.f = f;
        r = verify_pass(&rd, &hash);
        if (r < 0)
                return r;
        if (fseek(f, 0, SEEK_SET) < 0)
                return refuse(&rd, -errno, "%m");
        rd.bytes = 0;
        reader->line = 0;
        return deliver_pass(&rd, hash);
}

struct load {
        struct state *state;
        const struct state_filter *filter;
};

static int load_address(const struct state_address *a, void *userdata) {
        struct load *l = userdata;

        if (l->filter && l->filter->keep_address && !l->filter->keep_address(a, l->filter->userdata))
                return 0;
        return state_add_address(l->state, a);
}

static int load_host(const struct state_host *h, void *userdata) {
        struct load *l = userdata;

        if (l->filter && l->filter->keep_host && !l->filter->keep_host(h, l->filter->userdata))
                return 0;
        return state_add_host(l->state, h);
}

int state_load_filtered(const char *path, const struct state_filter *filter, struct state **ret) {
        _cleanup_(state_freep) struct state *s = NULL;
        struct load l = { .filter = filter };
        struct state_reader reader = {
                .on_address = load_address,
                .on_host = load_host,
                .userdata = &l,
        };
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        l.state = s;
        r = state_read(path, &reader);
        if (r < 0)
                return r == -EFBIG ? -EBADMSG : r;
        s->written = reader.written;
        *ret = TAKE_PTR(s);
        return 0;
}

int state_load(const char *path, struct state **ret) {
        return state_load_filtered(path, NULL, ret);
}

/* ---- writing ---- */

static size_t decimal_length(uint64_t n) {
        size_t k = 1;

        for (; n >= 10; n /= 10)
                k++;
        return k;
}

size_t state_address_size(const char *group, const char *host, const struct ip_addr *addr,
                          usec_t expiry, usec_t last_seen, usec_t first_seen) {
        char buf[ADDR_STRLEN];

        /* "address GROUP HOST ADDRESS EXPIRY LAST_SEEN[ FIRST_SEEN]\n", as
         * state_writer_address() writes it. */
        return strlen("address ") + strlen(group) + 1 + strlen(host) + 1 +
               strlen(addr_to_string(addr, buf)) + 1 + decimal_length(expiry) + 1 +
               decimal_length(last_seen) + (first_seen < last_seen ? 1 + decimal_length(first_seen) : 0) + 1;
}

size_t state_host_size_max(const char *group, const char *host) {
        /* "host GROUP HOST T T T FAILURES T ERROR\n": times of at most 20 digits, failures of
         * at most 10, the longest error text. */
        return strlen("host ") + strlen(group) + 1 + strlen(host) + 4 * (1 + 20) + (1 + 10) +
               (1 + STATE_ERROR_MAX) + 1;
}

size_t state_frame_size_max(void) {
        /* Header, "written T", "end RECORDS CHECKSUM". */
        return strlen(STATE_HEADER "\n") + strlen("written \n") + 20 + strlen("end  \n") + 20 + 16;
}

struct state_writer {
        struct atomic_file file;
        uint64_t hash;
        uint64_t size;          /* written so far */
        size_t n_addresses, n_hosts;
        int error;              /* the first failure: the commit refuses to rename */
};

/* Sticky: the first error is what the commit reports. */
static int writer_fail(struct state_writer *w, int r) {
        if (w->error == 0)
                w->error = r;
        return w->error;
}

static int writer_line(struct state_writer *w, const char *fmt, ...) _printf_(2, 3);
static int writer_line(struct state_writer *w, const char *fmt, ...) {
        char line[STATE_LINE_MAX + 2];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
        va_end(ap);
        /* Every record is validated before writing, so this cannot be cut; assert it anyway:
         * a cut line would be a file state_load() refuses. */
        if (n < 0 || (size_t) n >= sizeof(line) - 1)
                abort();
        line[n++] = '\n';
        /* Never a file the reader would refuse for its size: the end line must fit too. */
        if (w->size + (uint64_t) n > STATE_FILE_MAX - (strlen("end  \n") + 20 + 16))
                return writer_fail(w, -E2BIG);
        w->hash = fnv1a64(w->hash, line, (size_t) n);
        w->size += (uint64_t) n;
        if (fwrite(line, 1, (size_t) n, w->file.f) != (size_t) n)
                return writer_fail(w, errno > 0 ? -errno : -EIO);
        return 0;
}

struct state_writer *state_writer_free(struct state_writer *w) {
        if (!w)
                return NULL;
        atomic_file_release(&w->file);
        free(w);
        return NULL;
}

int state_writer_new(const char *path, usec_t written, struct state_writer **ret) {
        _cleanup_(state_writer_freep) struct state_writer *w = NULL;
        int r;

        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->hash = FNV1A64_OFFSET;
        /* There is one writer per state file (the daemon): leftovers of a killed one go. The
         * state is not secret and --status may run as anyone who can reach the directory. */
        r = atomic_file_open(path, true, &w->file);
        if (r < 0)
                return r;
        (void) writer_line(w, STATE_HEADER);
        (void) writer_line(w, "written %llu", (unsigned long long) written);
        if (w->error < 0)
                return w->error;
        *ret = TAKE_PTR(w);
        return 0;
}

int state_writer_address(struct state_writer *w, const char *group, const char *host,
                         const struct ip_addr *addr, usec_t expiry, usec_t last_seen, usec_t first_seen) {
        char buf[ADDR_STRLEN];

        if (w->error < 0)
                return w->error;
        /* Records state_load() would refuse are never written. */
        if (!group_name_valid(group) || !host_name_valid(host) || !address_valid(addr))
                return writer_fail(w, -EINVAL);
        if (w->n_addresses >= STATE_ADDRESSES_MAX)
                return writer_fail(w, -E2BIG);
        w->n_addresses++;
        /* Only when earlier: absent means equal (a first_seen after last_seen is not one). */
        if (first_seen < last_seen)
                return writer_line(w, "address %s %s %s %llu %llu %llu", group, host, addr_to_string(addr, buf),
                                   (unsigned long long) expiry, (unsigned long long) last_seen,
                                   (unsigned long long) first_seen);
        return writer_line(w, "address %s %s %s %llu %llu", group, host, addr_to_string(addr, buf),
                           (unsigned long long) expiry, (unsigned long long) last_seen);
}

int state_writer_host(struct state_writer *w, const struct state_host *h) {
        char error[sizeof(h->last_error)];

        if (w->error < 0)
                return w->error;
        if (!group_name_valid(h->group) || !host_name_valid(h->host))
                return writer_fail(w, -EINVAL);
        if (w->n_hosts >= STATE_HOSTS_MAX)
                return writer_fail(w, -E2BIG);
        w->n_hosts++;
        error_text_sanitize(h->last_error, error, sizeof(error));
        return writer_line(w, "host %s %s %llu %llu %llu %u %llu%s%s", h->group, h->host,
                           (unsigned long long) h->last_success,
                           (unsigned long long) h->last_failure,
                           (unsigned long long) h->failing_since, h->failures,
                           (unsigned long long) h->next_refresh,
                           error[0] ? " " : "", error);
}

int state_writer_commit(struct state_writer *w) {
        int r;

        if (w->error < 0)
                return w->error;
        if (!w->file.f) /* committed already */
                return w->file.committed ? 0 : -EBADF;
        fprintf(w->file.f, "end %zu %016llx\n", w->n_addresses + w->n_hosts, (unsigned long long) w->hash);
        r = atomic_file_commit(&w->file, /* durable= */ true);
        /* After the rename only the directory's fsync failed: not sticky, the file is there. */
        return r < 0 && !w->file.committed ? writer_fail(w, r) : r;
}

int state_save(const char *path, const struct state *s) {
        _cleanup_(state_writer_freep) struct state_writer *w = NULL;
        int r;

        r = state_writer_new(path, s->written, &w);
        if (r < 0)
                return r;
        for (size_t i = 0; i < s->n_addresses; i++) {
                const struct state_address *a = &s->addresses[i];
                r = state_writer_address(w, a->group, a->host, &a->addr, a->expiry, a->last_seen, a->first_seen);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < s->n_hosts; i++) {
                r = state_writer_host(w, &s->hosts[i]);
                if (r < 0)
                        return r;
        }
        return state_writer_commit(w);
}

int state_set_aside(const char *path, char *ret_new_path, size_t size) {
        char stamp[32], target[PATH_MAX];
        time_t t = time(NULL);
        struct tm tm;

        if (!localtime_r(&t, &tm) || strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm) == 0)
                return -EINVAL;

        for (unsigned i = 0; i < 100; i++) {
                int n;

                if (i == 0)
                        n = snprintf(target, sizeof(target), "%s.bad-%s", path, stamp);
                else
                        n = snprintf(target, sizeof(target), "%s.bad-%s-%u", path, stamp, i);
                if (n < 0 || (size_t) n >= sizeof(target))
                        return -ENAMETOOLONG;
                if (ret_new_path && (size_t) n >= size)
                        return -ENOBUFS;

                /* RENAME_NOREPLACE: never overwrite an earlier bad file someone may be examining. */
                if (renameat2(AT_FDCWD, path, AT_FDCWD, target, RENAME_NOREPLACE) >= 0) {
                        if (ret_new_path)
                                memcpy(ret_new_path, target, (size_t) n + 1);
                        return 0;
                }
                if (errno == EINVAL) {
                        /* The file system does not know RENAME_NOREPLACE. */
                        if (access(target, F_OK) >= 0)
                                continue;
                        if (rename(path, target) < 0)
                                return -errno;
                        if (ret_new_path)
                                memcpy(ret_new_path, target, (size_t) n + 1);
                        return 0;
                }
                if (errno != EEXIST)
                        return -errno;
        }
        return -EEXIST;
}

/* --status. Groups appear in configuration order (file order without a configuration), hosts
 * in configuration order within their group, then whatever the file has beyond that. */

struct status_entry {
        const char *group;
        const char *host;           /* NULL: the group's own row (static entries, domains) */
        size_t pos;                 /* position in the file, SIZE_MAX for configuration entries */
        size_t group_rank, host_rank;
        const struct group *config; /* NULL when the group is not (or no longer) configured */
};

struct status_view {
        const struct state *s;
        const struct config *c;
        usec_t now;
        struct status_entry *entries;
        size_t n_entries;
        size_t *by_address; /* indices into s->addresses, sorted by group, host, position */
        size_t *by_host;    /* same for s->hosts */
};

static int strcmp_null_first(const char *a, const char *b) {
        if (!a || !b)
                return a ? 1 : b ? -1 : 0;
        return strcmp(a, b);
}

static int entry_compare_name(const void *x, const void *y) {
        const struct status_entry *a = x, *b = y;
        int r;

        r = strcmp(a->group, b->group);
        if (r == 0)
                r = strcmp_null_first(a->host, b->host);
        if (r == 0)
                r = a->pos < b->pos ? -1 : a->pos > b->pos;
        return r;
}

static int entry_compare_rank(const void *x, const void *y) {
        const struct status_entry *a = x, *b = y;

        if (a->group_rank != b->group_rank)
                return a->group_rank < b->group_rank ? -1 : 1;
        if (a->host_rank != b->host_rank)
                return a->host_rank < b->host_rank ? -1 : 1;
        return strcmp_null_first(a->host, b->host);
}

static int address_index_compare(const void *x, const void *y, void *userdata) {
        const struct state *s = userdata;
        size_t i = *(const size_t *) x, j = *(const size_t *) y;
        int r;

        r = strcmp(s->addresses[i].group, s->addresses[j].group);
        if (r == 0)
                r = strcmp(s->addresses[i].host, s->addresses[j].host);
        return r ? r : i < j ? -1 : i > j;
}

static int host_index_compare(const void *x, const void *y, void *userdata) {
        const struct state *s = userdata;
        size_t i = *(const size_t *) x, j = *(const size_t *) y;
        int r;

        r = strcmp(s->hosts[i].group, s->hosts[j].group);
        if (r == 0)
                r = strcmp(s->hosts[i].host, s->hosts[j].host);
        return r ? r : i < j ? -1 : i > j;
}

static const struct group *config_group(const struct config *c, const char *name, size_t *ret_index) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_groups; i++)
                if (streq(c->groups[i].name, name)) {
                        *ret_index = i;
                        return &c->groups[i];
                }
        return NULL;
}

static bool config_host_index(const struct group *g, const char *host, size_t *ret_index) {
        if (!g)
                return false;
        for (size_t i = 0; i < g->n_hosts; i++)
                if (streq(g->hosts[i], host)) {
                        *ret_index = i;
                        return true;
                }
        return false;
}

static void status_view_done(struct status_view *v) {
        free(v->entries);
        free(v->by_address);
        free(v->by_host);
}

static int status_view_build(struct status_view *v, const struct state *s, const struct config *c, usec_t now) {
        size_t n = 0, allocated = 0, out = 0;
        struct status_entry *e = NULL;
        size_t n_config_groups = c ? c->n_groups : 0;

        *v = (struct status_view) { .s = s, .c = c, .now = now };

#define PUSH(...)                                                                       \
        do {                                                                            \
                if (grow_array((void **) &e, &allocated, n + 1, sizeof(*e)) < 0)        \
                        goto oom;                                                       \
                e[n++] = (struct status_entry) { __VA_ARGS__ };                         \
        } while (0)
        for (size_t i = 0; i < n_config_groups; i++) {
                PUSH(.group = c->groups[i].name, .host = NULL, .pos = SIZE_MAX);
                for (size_t j = 0; j < c->groups[i].n_hosts; j++)
                        PUSH(.group = c->groups[i].name, .host = c->groups[i].hosts[j], .pos = SIZE_MAX);
        }
        /* Addresses come first in the file. */
        for (size_t i = 0; i < s->n_addresses; i++)
                PUSH(.group = s->addresses[i].group, .host = s->addresses[i].host, .pos = i);
        for (size_t i = 0; i < s->n_hosts; i++)
                PUSH(.group = s->hosts[i].group, .host = s->hosts[i].host, .pos = s->n_addresses + i);
#undef PUSH

        /* Sorted by name, each group and each host is one run whose first element has its
         * earliest file position; rank them once per run and keep one entry per host. */
        if (n > 0)
                qsort(e, n, sizeof(*e), entry_compare_name);
        for (size_t g = 0; g < n;) {
                size_t g_end = g, group_rank, index;
                const struct group *cg;

                while (g_end < n && streq(e[g_end].group, e[g].group))
                        g_end++;
                cg = config_group(c, e[g].group, &index);
                if (cg)
                        group_rank = index;
                else {
                        size_t first = SIZE_MAX;
                        for (size_t k = g; k < g_end; k++)
                                first = MIN(first, e[k].pos);
                        group_rank = n_config_groups + first;
                }

                for (size_t h = g; h < g_end;) {
                        size_t h_end = h;

                        while (h_end < g_end && streq_ptr(e[h_end].host, e[h].host))
                                h_end++;
                        e[out] = e[h];
                        e[out].group_rank = group_rank;
                        e[out].config = cg;
                        if (!e[h].host)
                                e[out].host_rank = SIZE_MAX; /* the group's own row comes last */
                        else if (config_host_index(cg, e[h].host, &index))
                                e[out].host_rank = index;
                        else
                                e[out].host_rank = (cg ? cg->n_hosts : 0) + e[h].pos;
                        out++;
                        h = h_end;
                }
                g = g_end;
        }
        if (out > 0)
                qsort(e, out, sizeof(*e), entry_compare_rank);
        v->entries = e;
        v->n_entries = out;

        v->by_address = malloc(MAX(s->n_addresses, (size_t) 1) * sizeof(size_t));
        v->by_host = malloc(MAX(s->n_hosts, (size_t) 1) * sizeof(size_t));
        if (!v->by_address || !v->by_host)
                goto oom_view;
        for (size_t i = 0; i < s->n_addresses; i++)
                v->by_address[i] = i;
        for (size_t i = 0; i < s->n_hosts; i++)
                v->by_host[i] = i;
        qsort_r(v->by_address, s->n_addresses, sizeof(size_t), address_index_compare, (void *) s);
        qsort_r(v->by_host, s->n_hosts, sizeof(size_t), host_index_compare, (void *) s);
        return 0;

oom:
        free(e);
        return -ENOMEM;
oom_view:
        status_view_done(v);
        return -ENOMEM;
}

/* First index in v->by_address whose record belongs to group/host; the run continues while
 * the names match. */
static size_t status_view_first_address(const struct status_view *v, const char *group, const char *host) {
        size_t lo = 0, hi = v->s->n_addresses;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                const struct state_address *a = &v->s->addresses[v->by_address[mid]];
                int r = strcmp(a->group, group);

                if (r == 0)
                        r = strcmp(a->host, host);
                if (r < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

static const struct state_address *status_view_address(const struct status_view *v, size_t k,
                                                       const char *group, const char *host) {
        const struct state_address *a;

        if (k >= v->s->n_addresses)
                return NULL;
        a = &v->s->addresses[v->by_address[k]];
        return streq(a->group, group) && streq(a->host, host) ? a : NULL;
}

static const struct state_host *status_view_host(const struct status_view *v, const char *group, const char *host) {
        size_t lo = 0, hi = v->s->n_hosts;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                const struct state_host *h = &v->s->hosts[v->by_host[mid]];
                int r = strcmp(h->group, group);

                if (r == 0)
                        r = strcmp(h->host, host);
                if (r < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        if (lo < v->s->n_hosts) {
                const struct state_host *h = &v->s->hosts[v->by_host[lo]];
                if (streq(h->group, group) && streq(h->host, host))
                        return h;
        }
        return NULL;
}

enum {
        COLUMN_GROUP,
        COLUMN_HOST,
        COLUMN_ADDRESS,
        COLUMN_EXPIRES,
        COLUMN_LAST_SUCCESS,
        COLUMN_FAILURES,
        COLUMN_NEXT_REFRESH,
        COLUMN_LAST_ERROR,
        _COLUMN_MAX,
};

struct table {
        FILE *f;           /* NULL: measuring pass */
        size_t width[_COLUMN_MAX];
};

static void table_row(struct table *t, const char *const cells[static _COLUMN_MAX]) {
        size_t last = 0;

        for (size_t i = 0; i < _COLUMN_MAX; i++)
                if (!isempty(cells[i]))
                        last = i;
        for (size_t i = 0; i < _COLUMN_MAX; i++) {
                const char *cell = cells[i] ? cells[i] : "";

                if (!t->f) {
                        t->width[i] = MAX(t->width[i], strlen(cell));
                        continue;
                }
                if (i == last) {
                        fprintf(t->f, "%s\n", cell);
                        break;
                }
                fprintf(t->f, "%-*s  ", (int) t->width[i], cell);
        }
}

static void table_host_rows(struct table *t, const struct status_view *v, const struct status_entry *e) {
        const struct state_host *h = status_view_host(v, e->group, e->host);
        char success[TIMESTAMP_MAX], failures[16], refresh[DURATION_MAX + 8], error[160];
        size_t k = status_view_first_address(v, e->group, e->host);
        const struct state_address *a = status_view_address(v, k, e->group, e->host);
        bool first = true;

        snprintf(success, sizeof(success), "never");
        snprintf(failures, sizeof(failures), "-");
        snprintf(refresh, sizeof(refresh), "-");
        error[0] = 0;
        if (h) {
                if (h->last_success > 0)
                        format_timestamp(success, sizeof(success), h->last_success);
                snprintf(failures, sizeof(failures), "%u", h->failures);
                if (h->next_refresh > v->now) {
                        char d[DURATION_MAX];
                        snprintf(refresh, sizeof(refresh), "in %s",
                                 format_duration(d, sizeof(d), h->next_refresh - v->now));
                } else if (h->next_refresh > 0)
                        snprintf(refresh, sizeof(refresh), "due");
                if (h->failures > 0 && h->failing_since > 0) {
                        char since[TIMESTAMP_MAX];
                        snprintf(error, sizeof(error), "%s%sfailing since %s", h->last_error,
                                 h->last_error[0] ? ", " : "",
                                 format_timestamp(since, sizeof(since), h->failing_since));
                } else if (h->failures > 0)
                        snprintf(error, sizeof(error), "%s", h->last_error);
        }

        do {
                char address[ADDR_STRLEN] = "-", expires[DURATION_MAX] = "-";

                if (a) {
                        addr_to_string(&a->addr, address);
                        if (a->expiry > v->now)
                                format_duration(expires, sizeof(expires), a->expiry - v->now);
                        else
                                snprintf(expires, sizeof(expires), "expired");
                }
                table_row(t, (const char *[_COLUMN_MAX]) {
                        [COLUMN_GROUP] = e->group,
                        [COLUMN_HOST] = e->host,
                        [COLUMN_ADDRESS] = address,
                        [COLUMN_EXPIRES] = expires,
                        [COLUMN_LAST_SUCCESS] = first ? success : NULL,
                        [COLUMN_FAILURES] = first ? failures : NULL,
                        [COLUMN_NEXT_REFRESH] = first ? refresh : NULL,
                        [COLUMN_LAST_ERROR] = first ? error : NULL,
                });
                first = false;
                a = status_view_address(v, ++k, e->group, e->host);
        } while (a);
}

static void table_rows(struct table *t, const struct status_view *v) {
        table_row(t, (const char *[_COLUMN_MAX]) {
                "GROUP", "HOST", "ADDRESS", "EXPIRES IN", "LAST SUCCESS", "FAILURES",
                "NEXT REFRESH", "LAST ERROR",
        });
        for (size_t i = 0; i < v->n_entries; i++) {
                const struct status_entry *e = &v->entries[i];

                if (e->host) {
                        table_host_rows(t, v, e);
                        continue;
                }
                for (size_t j = 0; e->config && j < e->config->n_addresses; j++) {
                        char address[ADDR_STRLEN];

                        table_row(t, (const char *[_COLUMN_MAX]) {
                                [COLUMN_GROUP] = e->group,
                                [COLUMN_HOST] = "(static)",
                                [COLUMN_ADDRESS] = addr_to_string(&e->config->addresses[j], address),
                                [COLUMN_EXPIRES] = "never",
                        });
                }
        }
}

void state_print_table(const struct state *s, const struct config *c, usec_t now, FILE *f) {
        char written[TIMESTAMP_MAX], ago[DURATION_MAX];
        struct status_view v;
        struct table t = { .f = NULL };
        bool any = false;

        if (s->written > 0 && s->written <= now)
                fprintf(f, "State written %s (%s ago).\n", format_timestamp(written, sizeof(written), s->written),
                        format_duration(ago, sizeof(ago), now - s->written));
        else
                fprintf(f, "State written %s.\n", format_timestamp(written, sizeof(written), s->written));

        if (status_view_build(&v, s, c, now) < 0) {
                fprintf(f, "Out of memory.\n");
                return;
        }
        fputc('\n', f);
        table_rows(&t, &v);
        t.f = f;
        table_rows(&t, &v);

        /* What the allow-list does not cover is as important as what it does. */
        for (size_t i = 0; c && i < c->n_groups; i++) {
                const struct group *g = &c->groups[i];

                if (g->n_domains == 0)
                        continue;
                if (!any && c->snoop)
                        fprintf(f, "\nDomains enforced by DNS snooping (names learned from the replies clients receive):\n");
                else if (!any)
                        fprintf(f, "\nDomains not enforced by periodic resolution (wildcards cannot be resolved):\n");
                any = true;
                fprintf(f, "  %s:", g->name);
                for (size_t j = 0; j < g->n_domains; j++)
                        fprintf(f, "%s %s", j > 0 ? "," : "", g->domains[j]);
                fputc('\n', f);
        }
        any = false;
        for (size_t i = 0; c && i < v.n_entries; i++) {
                if (v.entries[i].config || (i > 0 && streq(v.entries[i - 1].group, v.entries[i].group)))
                        continue;
                if (!any)
                        fprintf(f, "\nGroups in the state file but not in the configuration (dropped at the next start or reload):\n ");
                any = true;
                fprintf(f, " %s", v.entries[i].group);
        }
        if (any)
                fputc('\n', f);
        status_view_done(&v);
}

static void json_host(struct json *j, const struct status_view *v, const struct status_entry *e) {
        const struct state_host *h = status_view_host(v, e->group, e->host);
        size_t k = status_view_first_address(v, e->group, e->host);

        json_open(j, NULL, '{');
        json_string(j, "name", e->host);
        json_time(j, "last_success", h ? h->last_success : 0);
        json_time(j, "last_failure", h ? h->last_failure : 0);
        json_time(j, "failing_since", h ? h->failing_since : 0);
        if (h)
                json_uint(j, "failures", h->failures);
        else
                json_string(j, "failures", NULL);
        json_string(j, "last_error", h && h->last_error[0] ? h->last_error : NULL);
        json_time(j, "next_refresh", h ? h->next_refresh : 0);
        json_open(j, "addresses", '[');
        for (const struct state_address *a; (a = status_view_address(v, k, e->group, e->host)); k++) {
                char address[ADDR_STRLEN];

                json_open(j, NULL, '{');
                json_string(j, "address", addr_to_string(&a->addr, address));
                json_uint(j, "expiry", a->expiry);
                json_uint(j, "expires_in_usec", a->expiry > v->now ? a->expiry - v->now : 0);
                json_time(j, "last_seen", a->last_seen);
                json_time(j, "first_seen", a->first_seen);
                json_close(j, '}');
        }
        json_close(j, ']');
        json_close(j, '}');
}

static void json_group_end(struct json *j, const struct group *g, bool snoop) {
        json_close(j, ']'); /* hosts */
        json_open(j, "static", '[');
        for (size_t i = 0; g && i < g->n_addresses; i++) {
                char address[ADDR_STRLEN];
                json_string(j, NULL, addr_to_string(&g->addresses[i], address));
        }
        json_close(j, ']');
        /* Each domain is in exactly one of the two lists: snoop=yes enforces them all. */
        json_open(j, "domains_not_enforced", '[');
        for (size_t i = 0; g && !snoop && i < g->n_domains; i++)
                json_string(j, NULL, g->domains[i]);
        json_close(j, ']');
        json_open(j, "domains_snooped", '[');
        for (size_t i = 0; g && snoop && i < g->n_domains; i++)
                json_string(j, NULL, g->domains[i]);
        json_close(j, ']');
        json_close(j, '}');
}

void state_print_json(const struct state *s, const struct config *c, usec_t now, FILE *f) {
        struct json j = { .f = f };
        struct status_view v;

        if (status_view_build(&v, s, c, now) < 0) {
                fprintf(f, "{ \"error\": \"out of memory\" }\n");
                return;
        }

        fputc('{', f);
        j.depth = 1;
        json_uint(&j, "version", STATUS_JSON_VERSION);
        json_time(&j, "written", s->written);
        json_uint(&j, "now", now);
        json_key(&j, "configuration");
        fputs(c ? "true" : "false", f);
        json_open(&j, "groups", '[');
        for (size_t i = 0; i < v.n_entries; i++) {
                const struct status_entry *e = &v.entries[i];

                if (i == 0 || !streq(v.entries[i - 1].group, e->group)) {
                        if (i > 0)
                                json_group_end(&j, v.entries[i - 1].config, c && c->snoop);
                        json_open(&j, NULL, '{');
                        json_string(&j, "name", e->group);
                        json_key(&j, "configured");
                        fputs(e->config ? "true" : "false", f);
                        json_open(&j, "hosts", '[');
                }
                if (e->host)
                        json_host(&j, &v, e);
        }
        if (v.n_entries > 0)
                json_group_end(&j, v.entries[v.n_entries - 1].config, c && c->snoop);
        json_close(&j, ']');
        json_close(&j, '}');
        fputc('\n', f);
        status_view_done(&v);
}
