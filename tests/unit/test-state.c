/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "state.h"
#include "test-util.h"

static char dir[] = "/tmp/test-state-XXXXXX";

/* The test's own FNV-1a 64, so the checksum is checked against the definition, not against
 * whatever state.c happens to compute. */
static uint64_t fnv1a64(const char *p, size_t n) {
        uint64_t h = UINT64_C(0xcbf29ce484222325);

        for (size_t i = 0; i < n; i++) {
                h ^= (uint8_t) p[i];
                h *= UINT64_C(0x100000001b3);
        }
        return h;
}

static char *path_in_dir(const char *name) {
        char *p;

        ASSERT_TRUE(asprintf(&p, "%s/%s", dir, name) > 0);
        return p;
}

static void write_file(const char *path, const char *data, size_t n) {
        FILE *f = fopen(path, "we");

        ASSERT_TRUE(f);
        ASSERT_UEQ(n, fwrite(data, 1, n, f));
        ASSERT_EQ(0, fclose(f));
}

static char *read_file(const char *path, size_t *ret_size) {
        FILE *f = fopen(path, "re");
        char *buf;
        size_t n;
        long size;

        ASSERT_TRUE(f);
        ASSERT_EQ(0, fseek(f, 0, SEEK_END));
        size = ftell(f);
        ASSERT_TRUE(size >= 0);
        rewind(f);
        buf = malloc((size_t) size + 1);
        ASSERT_TRUE(buf);
        n = fread(buf, 1, (size_t) size, f);
        ASSERT_UEQ((size_t) size, n);
        buf[n] = 0;
        fclose(f);
        if (ret_size)
                *ret_size = n;
        return buf;
}

static void assert_file_content(const char *expected, const char *path) {
        char *data = read_file(path, NULL);

        ASSERT_STREQ(expected, data);
        free(data);
}

/* Writes body (the lines before "end") plus a correct end line, so each corruption below is
 * caught by the check it is about and not merely by the checksum. */
static void write_with_end(const char *path, const char *body, size_t records) {
        char *data;

        ASSERT_TRUE(asprintf(&data, "%send %zu %016llx\n", body, records,
                             (unsigned long long) fnv1a64(body, strlen(body))) > 0);
        write_file(path, data, strlen(data));
        free(data);
}

static struct ip_addr addr(const char *s) {
        struct ip_addr a;

        ASSERT_EQ(0, addr_parse(s, &a));
        return a;
}

static void add_address(struct state *s, const char *group, const char *host, const char *address,
                        usec_t expiry, usec_t last_seen) {
        struct state_address a = { .addr = addr(address), .expiry = expiry, .last_seen = last_seen,
                                   .first_seen = last_seen };

        snprintf(a.group, sizeof(a.group), "%s", group);
        snprintf(a.host, sizeof(a.host), "%s", host);
        ASSERT_EQ(0, state_add_address(s, &a));
}

static void add_host(struct state *s, const char *group, const char *host, usec_t last_success,
                     usec_t last_failure, usec_t failing_since, unsigned failures,
                     const char *error, usec_t next_refresh) {
        struct state_host h = {
                .last_success = last_success, .last_failure = last_failure,
                .failing_since = failing_since, .failures = failures, .next_refresh = next_refresh,
        };

        snprintf(h.group, sizeof(h.group), "%s", group);
        snprintf(h.host, sizeof(h.host), "%s", host);
        snprintf(h.last_error, sizeof(h.last_error), "%s", error);
        ASSERT_EQ(0, state_add_host(s, &h));
}

static void assert_state_equal(const struct state *a, const struct state *b) {
        ASSERT_UEQ(a->written, b->written);
        ASSERT_UEQ(a->n_addresses, b->n_addresses);
        ASSERT_UEQ(a->n_hosts, b->n_hosts);
        for (size_t i = 0; i < a->n_addresses; i++) {
                ASSERT_STREQ(a->addresses[i].group, b->addresses[i].group);
                ASSERT_STREQ(a->addresses[i].host, b->addresses[i].host);
                ASSERT_EQ(0, addr_compare(&a->addresses[i].addr, &b->addresses[i].addr));
                ASSERT_UEQ(a->addresses[i].expiry, b->addresses[i].expiry);
                ASSERT_UEQ(a->addresses[i].last_seen, b->addresses[i].last_seen);
                ASSERT_UEQ(a->addresses[i].first_seen, b->addresses[i].first_seen);
        }
        for (size_t i = 0; i < a->n_hosts; i++) {
                ASSERT_STREQ(a->hosts[i].group, b->hosts[i].group);
                ASSERT_STREQ(a->hosts[i].host, b->hosts[i].host);
                ASSERT_UEQ(a->hosts[i].last_success, b->hosts[i].last_success);
                ASSERT_UEQ(a->hosts[i].last_failure, b->hosts[i].last_failure);
                ASSERT_UEQ(a->hosts[i].failing_since, b->hosts[i].failing_since);
                ASSERT_UEQ(a->hosts[i].failures, b->hosts[i].failures);
                ASSERT_STREQ(a->hosts[i].last_error, b->hosts[i].last_error);
                ASSERT_UEQ(a->hosts[i].next_refresh, b->hosts[i].next_refresh);
        }
}

/* Many groups, hosts, both families, extreme numbers and every printable error character. */
static struct state *make_big_state(usec_t written, size_t n) {
        struct state *s = calloc(1, sizeof(*s));

        ASSERT_TRUE(s);
        s->written = written;
        for (size_t i = 0; i < n; i++) {
                char group[32], host[64], address[64];

                snprintf(group, sizeof(group), "g%zu_x-y", i % 37);
                snprintf(host, sizeof(host), "h%zu.vendor-%zu.example.com", i % 101, i % 7);
                if (i % 3 == 0)
                        snprintf(address, sizeof(address), "2001:db8:%zx::%zx", i >> 16, i & 0xffff);
                else
                        snprintf(address, sizeof(address), "198.%zu.%zu.%zu", 18 + (i >> 16) % 2,
                                 (i >> 8) & 0xff, i & 0xff);
                add_address(s, group, host, address, i == 0 ? UINT64_MAX : written + i * USEC_PER_SEC,
                            i == 1 ? 0 : written - i);
        }
        for (size_t i = 0; i < n / 4; i++) {
                char group[32], host[64], error[64];

                snprintf(group, sizeof(group), "g%zu_x-y", i % 37);
                snprintf(host, sizeof(host), "h%zu.vendor-%zu.example.com", i, i % 7);
                for (size_t k = 0; k < 63; k++)
                        error[k] = (char) (0x20 + (i + k) % 95);
                error[i % 64] = 0;
                add_host(s, group, host, written - 1, i, i * 2, (unsigned) (i == 2 ? UINT32_MAX : i),
                         error, written + i);
        }
        return s;
}

static void test_round_trip(void) {
        _cleanup_free_ char *path = path_in_dir("round-trip");
        _cleanup_(state_freep) struct state *s = make_big_state(1700000000000000, 20000), *t = NULL;
        struct state empty = { .written = 5 };

        ASSERT_EQ(0, state_save(path, s));
        ASSERT_EQ(0, state_load(path, &t));
        assert_state_equal(s, t);

        /* An empty state round-trips too, and a save replaces the previous file. */
        state_free(t);
        t = NULL;
        ASSERT_EQ(0, state_save(path, &empty));
        ASSERT_EQ(0, state_load(path, &t));
        assert_state_equal(&empty, t);
        ASSERT_EQ(0, unlink(path));
}

#define SMALL_BODY                                                                              \
        "allowlistd-state 2\n"                                                                  \
        "written 1700000000000000\n"                                                            \
        "address wisemo mycloudall.wisemo.com 192.0.2.10 1702592000000000 1700000000000000 1699400000000000\n" \
        "address wisemo mycloudall.wisemo.com 2001:db8::10 1702592000000000 0\n"                \
        "host wisemo mycloudall.wisemo.com 1700000000000000 0 0 0 1702591400000000\n"           \
        "host wisemo csall.wisemo.com 1699990000000000 1700000000000000 1699996400000000 3 1700000600000000 Timeout while contacting DNS servers\n"
#define SMALL_CHECKSUM "0a16019ea4d76f57"
#define SMALL_FILE SMALL_BODY "end 4 " SMALL_CHECKSUM "\n"

static struct state *make_small_state(void) {
        struct state *s = calloc(1, sizeof(*s));

        ASSERT_TRUE(s);
        s->written = 1700000000000000;
        add_address(s, "wisemo", "mycloudall.wisemo.com", "192.0.2.10", 1702592000000000, 1700000000000000);
        s->addresses[0].first_seen = 1699400000000000; /* allowed for a week before its last answer */
        add_address(s, "wisemo", "mycloudall.wisemo.com", "2001:db8::10", 1702592000000000, 0);
        add_host(s, "wisemo", "mycloudall.wisemo.com", 1700000000000000, 0, 0, 0, "", 1702591400000000);
        add_host(s, "wisemo", "csall.wisemo.com", 1699990000000000, 1700000000000000, 1699996400000000, 3,
                 "Timeout while contacting DNS servers", 1700000600000000);
        return s;
}

static void assert_rejected(const char *path, const char *what);

/* A file of version 1 (no FIRST_SEEN) is read, each address allowed since its last answer (the
 * earliest time the file proves); a version 1 record with a sixth field is refused. The next
 * save writes version 2. */
static void test_version_1(void) {
        _cleanup_free_ char *path = path_in_dir("version-1");
        _cleanup_(state_freep) struct state *t = NULL, *t2 = NULL;
        static const char v1[] =
                "allowlistd-state 1\n"
                "written 1700000000000000\n"
                "address wisemo mycloudall.wisemo.com 192.0.2.10 1702592000000000 1700000000000000\n"
                "address wisemo mycloudall.wisemo.com 2001:db8::10 1702592000000000 0\n"
                "host wisemo mycloudall.wisemo.com 1700000000000000 0 0 0 1702591400000000\n";
        static const char v2_start[] =
                "allowlistd-state 2\nwritten 1700000000000000\n"
                "address wisemo mycloudall.wisemo.com 192.0.2.10 1702592000000000 1700000000000000\n";
        char *data;

        write_with_end(path, v1, 3);
        ASSERT_EQ(0, state_load(path, &t));
        ASSERT_UEQ(2, t->n_addresses);
        ASSERT_UEQ(1700000000000000, t->addresses[0].last_seen);
        ASSERT_UEQ(1700000000000000, t->addresses[0].first_seen);
        ASSERT_UEQ(0, t->addresses[1].first_seen);
        ASSERT_UEQ(1, t->n_hosts);

        ASSERT_EQ(0, state_save(path, t));
        data = read_file(path, NULL);
        ASSERT_EQ(0, strncmp(data, v2_start, strlen(v2_start)));
        free(data);

        write_with_end(path, "allowlistd-state 1\nwritten 1\naddress g a.example 192.0.2.1 5 6 6\n", 1);
        assert_rejected(path, "version 1 with FIRST_SEEN");
        /* FIRST_SEEN is written only when earlier than LAST_SEEN: one way to write each record. */
        write_with_end(path, "allowlistd-state 2\nwritten 1\naddress g a.example 192.0.2.1 5 6 5\n", 1);
        ASSERT_EQ(0, state_load(path, &t2));
        ASSERT_UEQ(5, t2->addresses[0].first_seen);
        ASSERT_UEQ(6, t2->addresses[0].last_seen);
        write_with_end(path, "allowlistd-state 2\nwritten 1\naddress g a.example 192.0.2.1 5 6 6\n", 1);
        assert_rejected(path, "version 2 with FIRST_SEEN equal to LAST_SEEN");
        write_with_end(path, "allowlistd-state 2\nwritten 1\naddress g a.example 192.0.2.1 5 6 7\n", 1);
        assert_rejected(path, "version 2 with FIRST_SEEN after LAST_SEEN");
        write_with_end(path, "allowlistd-state 2\nwritten 1\naddress g a.example 192.0.2.1 5 6 5 4\n", 1);
        assert_rejected(path, "version 2 with a field after FIRST_SEEN");
        ASSERT_EQ(0, unlink(path));
}

static void test_exact_file(void) {
        _cleanup_free_ char *path = path_in_dir("exact");
        _cleanup_(state_freep) struct state *s = make_small_state();
        struct stat st;

        /* The pinned checksum is FNV-1a 64 of everything before the end line. */
        ASSERT_UEQ(UINT64_C(0x0a16019ea4d76f57), fnv1a64(SMALL_BODY, strlen(SMALL_BODY)));
        ASSERT_EQ(0, state_save(path, s));
        assert_file_content(SMALL_FILE, path);
        ASSERT_EQ(0, stat(path, &st));
        ASSERT_EQ(0644, st.st_mode & 07777);
}

static void test_save_sanitizes_and_validates(void) {
        _cleanup_free_ char *path = path_in_dir("sanitize");
        _cleanup_(state_freep) struct state *s = calloc(1, sizeof(*s)), *t = NULL;
        struct state_address bad = { .group = "Upper", .host = "a.example", .addr = addr("192.0.2.1") };

        ASSERT_TRUE(s);
        s->written = 1;
        /* Error texts come from c-ares: a newline in one must not split the record. */
        add_host(s, "g", "a.example", 0, 0, 0, 1, "bad\nthing\t\x7f\xc3\xa9", 0);
        ASSERT_EQ(0, state_save(path, s));
        ASSERT_EQ(0, state_load(path, &t));
        ASSERT_STREQ("bad?thing????", t->hosts[0].last_error);

        /* Records state_load() would refuse are never written. */
        ASSERT_EQ(0, unlink(path));
        ASSERT_EQ(0, state_add_address(s, &bad));
        ASSERT_EQ(-EINVAL, state_save(path, s));
        ASSERT_EQ(-1, access(path, F_OK));
        snprintf(s->addresses[0].group, sizeof(s->addresses[0].group), "ok");
        s->addresses[0].addr = addr("192.0.2.0/24");
        ASSERT_EQ(-EINVAL, state_save(path, s));
        s->addresses[0].addr = addr("192.0.2.0");
        snprintf(s->addresses[0].host, sizeof(s->addresses[0].host), "a..example");
        ASSERT_EQ(-EINVAL, state_save(path, s));
        ASSERT_EQ(-1, access(path, F_OK));

        snprintf(s->addresses[0].host, sizeof(s->addresses[0].host), "a.example");
        ASSERT_EQ(-ENOENT, state_save("/nonexistent-dir/state", s));
        ASSERT_EQ(0, state_save(path, s));
}

static void test_missing(void) {
        _cleanup_free_ char *path = path_in_dir("missing");
        struct state *s = (struct state *) 0x1;

        ASSERT_EQ(-ENOENT, state_load(path, &s));
        ASSERT_TRUE(s == (struct state *) 0x1); /* ret_* untouched on failure */
}

static void assert_rejected(const char *path, const char *what) {
        struct state *s = (struct state *) 0x1;
        int r = state_load(path, &s);

        if (r != -EBADMSG) {
                fprintf(stderr, "%s: expected -EBADMSG, got %d\n", what, r);
                abort();
        }
        ASSERT_TRUE(s == (struct state *) 0x1);
}

static void test_truncated(void) {
        _cleanup_free_ char *path = path_in_dir("truncated");
        static const char full[] = SMALL_FILE;
        _cleanup_(state_freep) struct state *s = NULL;

        write_file(path, full, strlen(full));
        ASSERT_EQ(0, state_load(path, &s));
        ASSERT_UEQ(2, s->n_addresses);
        ASSERT_UEQ(2, s->n_hosts);
        /* Every proper prefix, including the empty file and one missing only the last newline. */
        for (size_t n = 0; n < strlen(full); n++) {
                char what[64];

                write_file(path, full, n);
                snprintf(what, sizeof(what), "truncated at %zu", n);
                assert_rejected(path, what);
        }
}

#define HEAD "allowlistd-state 1\nwritten 1700000000000000\n"
#define ADDRESS(g, h, a, e, s) "address " g " " h " " a " " e " " s "\n"
#define GOOD_ADDRESS ADDRESS("wisemo", "csall.wisemo.com", "192.0.2.1", "5", "6")
#define GOOD_HOST "host wisemo csall.wisemo.com 1 2 3 4 5 some error\n"
#define X63 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
#define HOST253 X63 "." X63 "." X63 "." "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
#define X94 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

static void test_corrupt(void) {
        _cleanup_free_ char *path = path_in_dir("corrupt");
        static const struct {
                const char *what, *body;
                size_t records;
        } cases[] = {
                { "version 3", "allowlistd-state 3\nwritten 1\n", 0 },
                { "version 0", "allowlistd-state 0\nwritten 1\n", 0 },
                { "version 01", "allowlistd-state 01\nwritten 1\n", 0 },
                { "other magic", "allowlistd-status 1\nwritten 1\n", 0 },
                { "no written line", "allowlistd-state 1\n" GOOD_ADDRESS, 1 },
                { "written twice", HEAD "written 5\n", 1 },
                { "written not a number", "allowlistd-state 1\nwritten 12a\n", 0 },
                { "written leading zero", "allowlistd-state 1\nwritten 012\n", 0 },
                { "written overflows", "allowlistd-state 1\nwritten 18446744073709551616\n", 0 },
                { "record count too high", HEAD GOOD_ADDRESS, 2 },
                { "record count too low", HEAD GOOD_ADDRESS GOOD_HOST, 1 },
                { "unknown record", HEAD "route wisemo x 1\n", 1 },
                { "bad address", HEAD ADDRESS("wisemo", "csall.wisemo.com", "192.0.2.256", "5", "6"), 1 },
                { "address is a prefix", HEAD ADDRESS("wisemo", "csall.wisemo.com", "192.0.2.0/24", "5", "6"), 1 },
                { "address with /32", HEAD ADDRESS("wisemo", "csall.wisemo.com", "192.0.2.1/32", "5", "6"), 1 },
                { "address is a name", HEAD ADDRESS("wisemo", "csall.wisemo.com", "localhost", "5", "6"), 1 },
                { "group upper case", HEAD ADDRESS("WiseMo", "csall.wisemo.com", "192.0.2.1", "5", "6"), 1 },
                { "group starts with digit", HEAD ADDRESS("1wisemo", "csall.wisemo.com", "192.0.2.1", "5", "6"), 1 },
                { "group too long", HEAD ADDRESS("abcdefghijabcdefghijabcdefghijab", "csall.wisemo.com", "192.0.2.1", "5", "6"), 1 },
                { "host with empty label", HEAD ADDRESS("wisemo", "csall..wisemo.com", "192.0.2.1", "5", "6"), 1 },
                { "host with trailing dot", HEAD ADDRESS("wisemo", "csall.wisemo.com.", "192.0.2.1", "5", "6"), 1 },
                { "host upper case", HEAD ADDRESS("wisemo", "CSALL.wisemo.com", "192.0.2.1", "5", "6"), 1 },
                { "host with slash", HEAD ADDRESS("wisemo", "csall/wisemo.com", "192.0.2.1", "5", "6"), 1 },
                { "host label of 64", HEAD ADDRESS("wisemo", "a234567890123456789012345678901234567890123456789012345678901234.com", "192.0.2.1", "5", "6"), 1 },
                { "host of 254", HEAD ADDRESS("wisemo", HOST253 "x", "192.0.2.1", "5", "6"), 1 },
                { "expiry negative", HEAD ADDRESS("wisemo", "csall.wisemo.com", "192.0.2.1", "-5", "6"), 1 },
                { "expiry hex", HEAD ADDRESS("wisemo", "csall.wisemo.com", "192.0.2.1", "0x5", "6"), 1 },
                { "address missing field", HEAD "address wisemo csall.wisemo.com 192.0.2.1 5\n", 1 },
                { "address extra field", HEAD "address wisemo csall.wisemo.com 192.0.2.1 5 6 7\n", 1 },
                { "double space", HEAD "address wisemo  csall.wisemo.com 192.0.2.1 5 6\n", 1 },
                { "tab separator", HEAD "address wisemo\tcsall.wisemo.com 192.0.2.1 5 6\n", 1 },
                { "trailing space", HEAD "address wisemo csall.wisemo.com 192.0.2.1 5 6 \n", 1 },
                { "CRLF", HEAD "address wisemo csall.wisemo.com 192.0.2.1 5 6\r\n", 1 },
                { "host failures overflow", HEAD "host wisemo csall.wisemo.com 1 2 3 4294967296 5\n", 1 },
                { "host missing field", HEAD "host wisemo csall.wisemo.com 1 2 3 4\n", 1 },
                { "host trailing space", HEAD "host wisemo csall.wisemo.com 1 2 3 4 5 \n", 1 },
                { "error too long", HEAD "host wisemo csall.wisemo.com 1 2 3 4 5 "
                  "1234567890123456789012345678901234567890123456789012345678901234\n", 1 },
                { "error with control char", HEAD "host wisemo csall.wisemo.com 1 2 3 4 5 a\x01" "b\n", 1 },
                { "error with 8-bit char", HEAD "host wisemo csall.wisemo.com 1 2 3 4 5 caf\xc3\xa9\n", 1 },
                { "over-long line", HEAD "host wisemo csall.wisemo.com 1 2 3 4 5 "
                  X94 X94 X94 X94 X94 X94 X94 X94 X94 X94 X94 "\n", 1 },
                { "empty line", HEAD "\n", 1 },
        };
        static const struct { const char *what, *data; } tails[] = {
                { "bad checksum", SMALL_BODY "end 4 0a16019ea4d76f50\n" },
                { "checksum upper case", SMALL_BODY "end 4 0A16019EA4D76F57\n" },
                { "checksum short", SMALL_BODY "end 4 a16019ea4d76f57\n" },
                { "duplicate end", SMALL_FILE "end 4 " SMALL_CHECKSUM "\n" },
                { "garbage after end", SMALL_FILE "x" },
                { "empty line after end", SMALL_FILE "\n" },
                { "end without newline", SMALL_BODY "end 4 " SMALL_CHECKSUM },
                { "end with extra field", SMALL_BODY "end 4 " SMALL_CHECKSUM " 1\n" },
                { "no end", SMALL_BODY },
                { "end first", "end 0 cbf29ce484222325\n" },
        };
        static const char full[] = SMALL_FILE;
        char damaged[sizeof(full)];

        /* The helper and the good records are accepted, so each case fails for its own reason. */
        {
                _cleanup_(state_freep) struct state *s = NULL;

                write_with_end(path, HEAD GOOD_ADDRESS GOOD_HOST
                               ADDRESS("abcdefghijabcdefghijabcdefghija", HOST253, "::ffff:192.0.2.1", "0", "18446744073709551615"), 3);
                ASSERT_EQ(0, state_load(path, &s));
                ASSERT_UEQ(2, s->n_addresses);
                ASSERT_UEQ(253, strlen(s->addresses[1].host));
                ASSERT_UEQ(UINT64_MAX, s->addresses[1].last_seen);
                ASSERT_UEQ(1, s->n_hosts);
                ASSERT_STREQ("some error", s->hosts[0].last_error);
                ASSERT_UEQ(4, s->hosts[0].failures);
        }

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                write_with_end(path, cases[i].body, cases[i].records);
                assert_rejected(path, cases[i].what);
        }
        for (size_t i = 0; i < ELEMENTSOF(tails); i++) {
                write_file(path, tails[i].data, strlen(tails[i].data));
                assert_rejected(path, tails[i].what);
        }

        /* A NUL byte instead of any character, and one bit flipped anywhere before the end line. */
        for (size_t i = 0; i < strlen(SMALL_BODY); i++) {
                char what[64];

                memcpy(damaged, full, sizeof(full));
                damaged[i] = 0;
                write_file(path, damaged, sizeof(full) - 1);
                snprintf(what, sizeof(what), "NUL at %zu", i);
                assert_rejected(path, what);

                memcpy(damaged, full, sizeof(full));
                damaged[i] ^= 0x04;
                write_file(path, damaged, sizeof(full) - 1);
                snprintf(what, sizeof(what), "bit flip at %zu", i);
                assert_rejected(path, what);
        }

        /* A directory where the file should be. */
        ASSERT_EQ(0, unlink(path));
        ASSERT_EQ(0, mkdir(path, 0755));
        {
                struct state *s = NULL;
                int r = state_load(path, &s);
                ASSERT_TRUE(r == -EBADMSG || r == -EISDIR);
        }
        ASSERT_EQ(0, rmdir(path));

        /* A FIFO: refused at once, not waited on. */
        ASSERT_EQ(0, mkfifo(path, 0600));
        assert_rejected(path, "FIFO");
        ASSERT_EQ(0, unlink(path));
}

static void test_record_limit(void) {
        _cleanup_free_ char *path = path_in_dir("limit");
        static const char head[] = "allowlistd-state 1\nwritten 1\n";
        static const char line[] = "address g a.b 192.0.2.1 1 1\n";
        const size_t n = 1000001;
        size_t size = strlen(head) + n * strlen(line);
        char *body = malloc(size + 1), *p = body;

        ASSERT_TRUE(body);
        p = stpcpy(p, head);
        for (size_t i = 0; i < n; i++)
                p = stpcpy(p, line);
        write_with_end(path, body, n);
        assert_rejected(path, "1000001 records");

        /* One fewer is fine. */
        body[size - strlen(line)] = 0;
        write_with_end(path, body, n - 1);
        {
                _cleanup_(state_freep) struct state *s = NULL;
                ASSERT_EQ(0, state_load(path, &s));
                ASSERT_UEQ(n - 1, s->n_addresses);
        }
        free(body);
        ASSERT_EQ(0, unlink(path));
}

/* ---- reading in bounded memory, limits shared by reading and writing ---- */

struct counted {
        size_t addresses, hosts;
        int fail_at; /* address number that fails with -ENOMEM, 0: none */
};

static int count_address(const struct state_address *a, void *userdata) {
        struct counted *c = userdata;

        if (++c->addresses == (size_t) c->fail_at)
                return -ENOMEM;
        return 0;
}

static int count_host(const struct state_host *h, void *userdata) {
        struct counted *c = userdata;

        c->hosts++;
        return 0;
}

static int read_counted(const char *path, struct counted *c, struct state_reader *reader) {
        *reader = (struct state_reader) {
                .on_address = count_address,
                .on_host = count_host,
                .userdata = c,
        };
        return state_read(path, reader);
}

static void assert_why(const char *expected_part, const struct state_reader *reader) {
        if (!strstr(reader->why, expected_part)) {
                fprintf(stderr, "expected \"%s\" in \"%s\"\n", expected_part, reader->why);
                abort();
        }
}

static void test_read_refusals(void) {
        _cleanup_free_ char *path = path_in_dir("refusals");
        static const char body[] = HEAD GOOD_ADDRESS GOOD_ADDRESS GOOD_HOST;
        struct state_reader reader;
        struct counted c = { 0 };
        char *data;
        int fd;

        /* Larger than the cap: refused from its size, before a byte is read (a sparse file). */
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(0, ftruncate(fd, (off_t) STATE_FILE_MAX + 1));
        ASSERT_EQ(0, close(fd));
        ASSERT_EQ(-EFBIG, read_counted(path, &c, &reader));
        assert_why("67108865 bytes, larger than the limit of 67108864 bytes (64 MiB)", &reader);
        assert_rejected(path, "over the size cap");
        /* Exactly at the cap it is read (and refused for what it holds: NUL bytes). */
        ASSERT_EQ(0, truncate(path, (off_t) STATE_FILE_MAX));
        ASSERT_EQ(-EBADMSG, read_counted(path, &c, &reader));
        assert_why("line 1: NUL byte", &reader);

        /* A bad checksum: refused before any record is handed over. */
        write_with_end(path, body, 3);
        ASSERT_EQ(0, read_counted(path, &c, &reader));
        ASSERT_UEQ(2, c.addresses);
        ASSERT_UEQ(1, c.hosts);
        ASSERT_UEQ(1700000000000000, reader.written);
        c = (struct counted) { 0 };
        ASSERT_TRUE(asprintf(&data, "%send 3 0123456789abcdef\n", body) > 0);
        write_file(path, data, strlen(data));
        free(data);
        ASSERT_EQ(-EBADMSG, read_counted(path, &c, &reader));
        assert_why("bad checksum: the end line says 0123456789abcdef, the content hashes to ", &reader);
        ASSERT_UEQ(0, c.addresses + c.hosts);

        /* Each refusal says what and where. */
        write_with_end(path, HEAD GOOD_ADDRESS "address wisemo csall.wisemo.com 192.0.2.1/24 5 6\n", 2);
        ASSERT_EQ(-EBADMSG, read_counted(path, &c, &reader));
        assert_why("line 4: bad address record", &reader);
        write_with_end(path, HEAD "hello\n", 1);
        ASSERT_EQ(-EBADMSG, read_counted(path, &c, &reader));
        assert_why("line 3: not an address, host or end record", &reader);
        write_with_end(path, HEAD GOOD_ADDRESS, 2);
        ASSERT_EQ(-EBADMSG, read_counted(path, &c, &reader));
        assert_why("line 4: the end line counts 2 records, the file has 1", &reader);
        write_file(path, HEAD GOOD_ADDRESS, strlen(HEAD GOOD_ADDRESS));
        ASSERT_EQ(-EBADMSG, read_counted(path, &c, &reader));
        assert_why("truncated: no end line after line 3", &reader);
        write_with_end(path, "allowlistd-state 3\nwritten 1\n", 0);
        ASSERT_EQ(-EBADMSG, read_counted(path, &c, &reader));
        assert_why("line 1: not \"allowlistd-state 2\"", &reader);

        /* A callback's error stops the read and is returned. */
        write_with_end(path, body, 3);
        c = (struct counted) { .fail_at = 2 };
        ASSERT_EQ(-ENOMEM, read_counted(path, &c, &reader));
        assert_why("line 4: ", &reader);
        ASSERT_EQ(0, unlink(path));
}

/* A file of 1,000,000 addresses plus host records is accepted and can be written back: the
 * limits count addresses and hosts apart, the same way for reading and writing. */
static void test_limits_agree(void) {
        _cleanup_free_ char *path = path_in_dir("agree");
        struct state_writer *w = NULL;
        struct state_reader reader;
        struct counted c = { 0 };
        struct ip_addr a = addr("192.0.2.1");
        char host[HOST_NAME_MAX_LEN + 1];
        size_t written = 0, line;
        int r;

        ASSERT_EQ(0, state_writer_new(path, 1, &w));
        for (size_t i = 0; i < STATE_ADDRESSES_MAX; i++)
                ASSERT_EQ(0, state_writer_address(w, "g", "a.b", &a, 1, 1, 1));
        ASSERT_EQ(0, state_writer_host(w, &(struct state_host) { .group = "g", .host = "a.b" }));
        ASSERT_EQ(0, state_writer_host(w, &(struct state_host) { .group = "g", .host = "c.d" }));
        ASSERT_EQ(0, state_writer_commit(w));
        state_writer_free(w);
        ASSERT_EQ(0, read_counted(path, &c, &reader));
        ASSERT_UEQ(STATE_ADDRESSES_MAX, c.addresses);
        ASSERT_UEQ(2, c.hosts);

        /* One more host than a file may hold: refused by the writer, nothing replaced (the
         * reader refuses 1,000,001 addresses: test_record_limit). */
        ASSERT_EQ(0, state_writer_new(path, 2, &w));
        for (size_t i = 0; i < STATE_HOSTS_MAX; i++)
                ASSERT_EQ(0, state_writer_host(w, &(struct state_host) { .group = "g", .host = "a.b" }));
        ASSERT_EQ(-E2BIG, state_writer_host(w, &(struct state_host) { .group = "g", .host = "a.b" }));
        ASSERT_EQ(-E2BIG, state_writer_address(w, "g", "a.b", &a, 1, 1, 1));
        ASSERT_EQ(-E2BIG, state_writer_commit(w));
        state_writer_free(w);

        /* Bytes too: long names reach 64 MiB before the record limit; the writer stops there
         * and leaves no temporary file. */
        for (size_t i = 0; i < 3 * 64; i++)
                host[i] = i % 64 == 63 ? '.' : 'x';
        snprintf(host + 3 * 64, sizeof(host) - 3 * 64, "example");
        ASSERT_EQ(0, state_writer_new(path, 3, &w));
        while ((r = state_writer_address(w, "g", host, &a, 1700000000000000, 1700000000000000, 1700000000000000)) == 0)
                written++;
        ASSERT_EQ(-E2BIG, r);
        ASSERT_EQ(-E2BIG, state_writer_commit(w));
        line = state_address_size("g", host, &a, 1700000000000000, 1700000000000000, 1700000000000000);
        ASSERT_TRUE(written <= STATE_FILE_MAX / line && written >= (STATE_FILE_MAX - 1024) / line);
        state_writer_free(w);

        /* The previous file is untouched. */
        c = (struct counted) { 0 };
        ASSERT_EQ(0, read_counted(path, &c, &reader));
        ASSERT_UEQ(1, reader.written);
        ASSERT_UEQ(STATE_ADDRESSES_MAX, c.addresses);
        ASSERT_EQ(0, unlink(path));
}

/* Random records in random order through the writer and back through the reader: the same
 * records in the same order, and state_address_size() is the size of each line. */
static void test_random_round_trip(void) {
        _cleanup_free_ char *path = path_in_dir("random");
        uint64_t rng = 5;

        for (unsigned round = 0; round < 50; round++) {
                _cleanup_(state_freep) struct state *s = calloc(1, sizeof(*s)), *t = NULL;
                size_t n = (size_t) (rng % 500), expected_size = 0;
                struct stat st;

                ASSERT_TRUE(s);
                s->written = rng;
                for (size_t i = 0; i < n; i++) {
                        char group[16], host[32], address[64];

                        rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
                        snprintf(group, sizeof(group), "g%u", (unsigned) (rng % 3));
                        snprintf(host, sizeof(host), "h%u.example", (unsigned) (rng >> 8) % 5);
                        if (rng % 2)
                                snprintf(address, sizeof(address), "198.18.%u.%u", (unsigned) (rng >> 16) % 4,
                                         (unsigned) (rng >> 24) % 256);
                        else
                                snprintf(address, sizeof(address), "2001:db8::%x", (unsigned) (rng >> 16) % 1024);
                        if (rng % 7 == 0)
                                add_host(s, group, host, rng >> 3, rng >> 5, 0, (unsigned) rng, "e", rng >> 1);
                        else {
                                struct state_address *a;

                                add_address(s, group, host, address, rng >> (rng % 64), rng >> 20);
                                a = &s->addresses[s->n_addresses - 1];
                                a->first_seen = rng >> (20 + rng % 44); /* of another width */
                                expected_size += state_address_size(group, host, &a->addr, a->expiry, a->last_seen,
                                                                    a->first_seen);
                        }
                }
                ASSERT_EQ(0, state_save(path, s));
                ASSERT_EQ(0, state_load(path, &t));
                assert_state_equal(s, t);
                ASSERT_EQ(0, stat(path, &st));
                ASSERT_TRUE((uint64_t) st.st_size >= expected_size);
                ASSERT_TRUE((uint64_t) st.st_size <= expected_size + state_frame_size_max() +
                                                     s->n_hosts * state_host_size_max("g0", "h0.example"));
                rng = rng * 6364136223846793005u + 1442695040888963407u;
        }
        ASSERT_EQ(0, unlink(path));
}

static void test_set_aside(void) {
        _cleanup_free_ char *path = path_in_dir("aside"), *prefix = NULL;
        char first[4096], second[4096], tiny[8];
        size_t n;

        ASSERT_TRUE(asprintf(&prefix, "%s.bad-", path) > 0);

        write_file(path, "one", 3);
        ASSERT_EQ(0, state_set_aside(path, first, sizeof(first)));
        ASSERT_EQ(-1, access(path, F_OK));
        ASSERT_EQ(0, strncmp(first, prefix, strlen(prefix)));
        /* PATH.bad-YYYYmmddTHHMMSS */
        n = strlen(prefix);
        ASSERT_UEQ(n + 15, strlen(first));
        ASSERT_UEQ(8, strspn(first + n, "0123456789"));
        ASSERT_TRUE(first[n + 8] == 'T');
        ASSERT_UEQ(6, strspn(first + n + 9, "0123456789"));
        assert_file_content("one", first);

        /* Within the same second the name gets a counter instead of replacing the first. */
        write_file(path, "two", 3);
        ASSERT_EQ(0, state_set_aside(path, second, sizeof(second)));
        ASSERT_TRUE(!streq(first, second));
        assert_file_content("two", second);
        assert_file_content("one", first);

        ASSERT_EQ(-ENOENT, state_set_aside(path, second, sizeof(second)));
        write_file(path, "three", 5);
        ASSERT_EQ(-ENOBUFS, state_set_aside(path, tiny, sizeof(tiny)));
        ASSERT_EQ(0, access(path, F_OK));
        ASSERT_EQ(0, state_set_aside(path, NULL, 0));
        ASSERT_EQ(-1, access(path, F_OK));
}

static void test_add_grows_foreign_arrays(void) {
        /* Arrays allocated by the caller with exactly their size must still grow correctly. */
        struct state s = { .n_addresses = 1 };

        s.addresses = calloc(1, sizeof(struct state_address));
        ASSERT_TRUE(s.addresses);
        snprintf(s.addresses[0].group, sizeof(s.addresses[0].group), "first");
        for (unsigned i = 0; i < 1000; i++)
                add_address(&s, "g", "a.example", "192.0.2.1", i, i);
        ASSERT_UEQ(1001, s.n_addresses);
        ASSERT_STREQ("first", s.addresses[0].group);
        ASSERT_UEQ(999, s.addresses[1000].expiry);
        free(s.addresses);
}

/* Counts the state file and its temporaries in a directory; anything else there is a bug. */
static void count_files(const char *in, const char *base, size_t *ret_state, size_t *ret_tmp) {
        DIR *d = opendir(in);
        size_t n = strlen(base), state = 0, tmp = 0;

        ASSERT_TRUE(d);
        for (struct dirent *de; (de = readdir(d));) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (streq(de->d_name, base))
                        state++;
                else if (strncmp(de->d_name, base, n) == 0 && strncmp(de->d_name + n, ".tmp-", 5) == 0 &&
                         strlen(de->d_name + n + 5) == 6)
                        tmp++;
                else {
                        fprintf(stderr, "unexpected file %s\n", de->d_name);
                        abort();
                }
        }
        closedir(d);
        *ret_state = state;
        *ret_tmp = tmp;
}

static void test_crash_safety(void) {
        _cleanup_free_ char *crash_dir = path_in_dir("crash.d"), *path = path_in_dir("crash.d/crash");
        _cleanup_(state_freep) struct state *a = make_big_state(1, 6000), *b = make_big_state(2, 9000);
        unsigned seed = (unsigned) time(NULL), left_tmp = 0, saw_a = 0, saw_b = 0;
        usec_t start, per_save;

        printf("crash safety: seed %u\n", seed);
        srand(seed);
        ASSERT_EQ(0, mkdir(crash_dir, 0755));

        start = now_usec(CLOCK_MONOTONIC);
        ASSERT_EQ(0, state_save(path, a));
        per_save = now_usec(CLOCK_MONOTONIC) - start;
        printf("crash safety: one save of %zu records takes %llu us\n",
               a->n_addresses + a->n_hosts, (unsigned long long) per_save);
        per_save = CLAMP(per_save, 1000u, 50000u);

        for (unsigned i = 0; i < 200; i++) {
                _cleanup_(state_freep) struct state *loaded = NULL;
                size_t n_state, n_tmp;
                struct timespec ts;
                pid_t pid;
                int status;

                pid = fork();
                ASSERT_TRUE(pid >= 0);
                if (pid == 0) {
                        for (unsigned k = 0;; k++)
                                if (state_save(path, k % 2 ? a : b) < 0)
                                        _exit(1);
                }
                /* Anywhere within the first few saves: before, during and between them. */
                ts.tv_sec = 0;
                ts.tv_nsec = (long) ((usec_t) rand() % (3 * per_save)) * 1000;
                nanosleep(&ts, NULL);
                ASSERT_EQ(0, kill(pid, SIGKILL));
                ASSERT_EQ(pid, waitpid(pid, &status, 0));
                ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

                ASSERT_EQ(0, state_load(path, &loaded));
                if (loaded->written == 1) {
                        assert_state_equal(a, loaded);
                        saw_a++;
                } else {
                        assert_state_equal(b, loaded);
                        saw_b++;
                }
                count_files(crash_dir, "crash", &n_state, &n_tmp);
                ASSERT_UEQ(1, n_state);
                ASSERT_TRUE(n_tmp <= 1);
                left_tmp += (unsigned) n_tmp;
        }
        printf("crash safety: 200 kills, old/new state %u/%u, killed mid-write %u times\n",
               saw_a, saw_b, left_tmp);

        /* The next save cleans up after the killed one. */
        {
                size_t n_state, n_tmp;

                ASSERT_EQ(0, state_save(path, a));
                count_files(crash_dir, "crash", &n_state, &n_tmp);
                ASSERT_UEQ(1, n_state);
                ASSERT_UEQ(0, n_tmp);
        }
        ASSERT_EQ(0, unlink(path));
        ASSERT_EQ(0, rmdir(crash_dir));
}

static char *render(void (*print)(const struct state *, const struct config *, usec_t, FILE *),
                    const struct state *s, const struct config *c, usec_t now) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        ASSERT_TRUE(f);
        print(s, c, now, f);
        ASSERT_EQ(0, fclose(f));
        return buf;
}

/* Only the fields --status reads; config_load() is not this module's. */
static struct config *make_config(void) {
        static char *wisemo_hosts[] = { "csall.wisemo.com", "mycloudall.wisemo.com", "new.wisemo.com" };
        static char *wisemo_domains[] = { "*.wisemo.com", "*.wisemo.net" };
        static struct ip_addr teamviewer_static[2];
        static struct group groups[2];
        static struct config c;

        teamviewer_static[0] = addr("203.0.113.0/24");
        teamviewer_static[1] = addr("2001:db8:aa::/48");
        groups[0] = (struct group) { .name = "teamviewer", .addresses = teamviewer_static, .n_addresses = 2 };
        groups[1] = (struct group) { .name = "wisemo", .hosts = wisemo_hosts, .n_hosts = 3,
                                     .domains = wisemo_domains, .n_domains = 2 };
        c = (struct config) { .groups = groups, .n_groups = 2 };
        return &c;
}

static void test_status(void) {
        _cleanup_(state_freep) struct state *s = make_small_state();
        usec_t now = 1700000300000000; /* 5 minutes after writing */
        struct state empty = { .written = 0 };
        char *out;

        /* An address of a host the configuration no longer has, in a group it no longer has. */
        add_address(s, "old", "gone.example", "198.51.100.7", 1700000000000000, 1690000000000000);

        ASSERT_EQ(0, setenv("TZ", "UTC", 1));
        tzset();

        out = render(state_print_table, s, make_config(), now);
        ASSERT_STREQ(
"State written 2023-11-14 22:13:20 UTC (5m ago).\n"
"\n"
"GROUP       HOST                   ADDRESS           EXPIRES IN  LAST SUCCESS             FAILURES  NEXT REFRESH  LAST ERROR\n"
"teamviewer  (static)               203.0.113.0/24    never\n"
"teamviewer  (static)               2001:db8:aa::/48  never\n"
"wisemo      csall.wisemo.com       -                 -           2023-11-14 19:26:40 UTC  3         in 5m         Timeout while contacting DNS servers, failing since 2023-11-14 21:13:20 UTC\n"
"wisemo      mycloudall.wisemo.com  192.0.2.10        29d23h      2023-11-14 22:13:20 UTC  0         in 29d23h\n"
"wisemo      mycloudall.wisemo.com  2001:db8::10      29d23h\n"
"wisemo      new.wisemo.com         -                 -           never                    -         -\n"
"old         gone.example           198.51.100.7      expired     never                    -         -\n"
"\n"
"Domains not enforced by periodic resolution (wildcards cannot be resolved):\n"
"  wisemo: *.wisemo.com, *.wisemo.net\n"
"\n"
"Groups in the state file but not in the configuration (dropped at the next start or reload):\n"
"  old\n", out);
        free(out);

        /* Without a configuration: the file alone, groups and hosts in file order. */
        out = render(state_print_table, s, NULL, now);
        ASSERT_STREQ(
"State written 2023-11-14 22:13:20 UTC (5m ago).\n"
"\n"
"GROUP   HOST                   ADDRESS       EXPIRES IN  LAST SUCCESS             FAILURES  NEXT REFRESH  LAST ERROR\n"
"wisemo  mycloudall.wisemo.com  192.0.2.10    29d23h      2023-11-14 22:13:20 UTC  0         in 29d23h\n"
"wisemo  mycloudall.wisemo.com  2001:db8::10  29d23h\n"
"wisemo  csall.wisemo.com       -             -           2023-11-14 19:26:40 UTC  3         in 5m         Timeout while contacting DNS servers, failing since 2023-11-14 21:13:20 UTC\n"
"old     gone.example           198.51.100.7  expired     never                    -         -\n", out);
        free(out);

        out = render(state_print_json, s, make_config(), now);
        ASSERT_STREQ(
"{\n"
"  \"version\": 1,\n"
"  \"written\": 1700000000000000,\n"
"  \"now\": 1700000300000000,\n"
"  \"configuration\": true,\n"
"  \"groups\": [\n"
"    {\n"
"      \"name\": \"teamviewer\",\n"
"      \"configured\": true,\n"
"      \"hosts\": [],\n"
"      \"static\": [\n"
"        \"203.0.113.0/24\",\n"
"        \"2001:db8:aa::/48\"\n"
"      ],\n"
"      \"domains_not_enforced\": [],\n"
"      \"domains_snooped\": []\n"
"    },\n"
"    {\n"
"      \"name\": \"wisemo\",\n"
"      \"configured\": true,\n"
"      \"hosts\": [\n"
"        {\n"
"          \"name\": \"csall.wisemo.com\",\n"
"          \"last_success\": 1699990000000000,\n"
"          \"last_failure\": 1700000000000000,\n"
"          \"failing_since\": 1699996400000000,\n"
"          \"failures\": 3,\n"
"          \"last_error\": \"Timeout while contacting DNS servers\",\n"
"          \"next_refresh\": 1700000600000000,\n"
"          \"addresses\": []\n"
"        },\n"
"        {\n"
"          \"name\": \"mycloudall.wisemo.com\",\n"
"          \"last_success\": 1700000000000000,\n"
"          \"last_failure\": null,\n"
"          \"failing_since\": null,\n"
"          \"failures\": 0,\n"
"          \"last_error\": null,\n"
"          \"next_refresh\": 1702591400000000,\n"
"          \"addresses\": [\n"
"            {\n"
"              \"address\": \"192.0.2.10\",\n"
"              \"expiry\": 1702592000000000,\n"
"              \"expires_in_usec\": 2591700000000,\n"
"              \"last_seen\": 1700000000000000,\n"
"              \"first_seen\": 1699400000000000\n"
"            },\n"
"            {\n"
"              \"address\": \"2001:db8::10\",\n"
"              \"expiry\": 1702592000000000,\n"
"              \"expires_in_usec\": 2591700000000,\n"
"              \"last_seen\": null,\n"
"              \"first_seen\": null\n"
"            }\n"
"          ]\n"
"        },\n"
"        {\n"
"          \"name\": \"new.wisemo.com\",\n"
"          \"last_success\": null,\n"
"          \"last_failure\": null,\n"
"          \"failing_since\": null,\n"
"          \"failures\": null,\n"
"          \"last_error\": null,\n"
"          \"next_refresh\": null,\n"
"          \"addresses\": []\n"
"        }\n"
"      ],\n"
"      \"static\": [],\n"
"      \"domains_not_enforced\": [\n"
"        \"*.wisemo.com\",\n"
"        \"*.wisemo.net\"\n"
"      ],\n"
"      \"domains_snooped\": []\n"
"    },\n"
"    {\n"
"      \"name\": \"old\",\n"
"      \"configured\": false,\n"
"      \"hosts\": [\n"
"        {\n"
"          \"name\": \"gone.example\",\n"
"          \"last_success\": null,\n"
"          \"last_failure\": null,\n"
"          \"failing_since\": null,\n"
"          \"failures\": null,\n"
"          \"last_error\": null,\n"
"          \"next_refresh\": null,\n"
"          \"addresses\": [\n"
"            {\n"
"              \"address\": \"198.51.100.7\",\n"
"              \"expiry\": 1700000000000000,\n"
"              \"expires_in_usec\": 0,\n"
"              \"last_seen\": 1690000000000000,\n"
"              \"first_seen\": 1690000000000000\n"
"            }\n"
"          ]\n"
"        }\n"
"      ],\n"
"      \"static\": [],\n"
"      \"domains_not_enforced\": [],\n"
"      \"domains_snooped\": []\n"
"    }\n"
"  ]\n"
"}\n", out);
        free(out);

        /* Config-less JSON of an empty state: still a complete document. */
        out = render(state_print_json, &empty, NULL, now);
        ASSERT_STREQ(
"{\n"
"  \"version\": 1,\n"
"  \"written\": null,\n"
"  \"now\": 1700000300000000,\n"
"  \"configuration\": false,\n"
"  \"groups\": []\n"
"}\n", out);
        free(out);
}

static void test_json_escaping(void) {
        /* Config strings are not validated like the state's: the output must stay valid JSON. */
        static char *domains[] = { "quote\" back\\slash\nnew\x01line\xc3\xa9" };
        struct group g = { .name = "g", .domains = domains, .n_domains = 1 };
        struct config c = { .groups = &g, .n_groups = 1 };
        struct state s = { .written = 1 };
        char *out = render(state_print_json, &s, &c, 2);

        ASSERT_TRUE(strstr(out, "\"quote\\\" back\\\\slash\\nnew\\u0001line\\ufffd\\ufffd\""));
        free(out);
}

int main(void) {
        ASSERT_TRUE(mkdtemp(dir));

        test_round_trip();
        test_exact_file();
        test_version_1();
        test_save_sanitizes_and_validates();
        test_missing();
        test_truncated();
        test_corrupt();
        test_record_limit();
        test_read_refusals();
        test_limits_agree();
        test_random_round_trip();
        test_set_aside();
        test_add_grows_foreign_arrays();
        test_crash_safety();
        test_status();
        test_json_escaping();

        /* What the tests leave is known: the last written files and the set-aside ones. */
        {
                DIR *d = opendir(dir);
                size_t n = 0;

                ASSERT_TRUE(d);
                for (struct dirent *de; (de = readdir(d));) {
                        if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                                continue;
                        ASSERT_EQ(0, unlinkat(dirfd(d), de->d_name, 0));
                        n++;
                }
                closedir(d);
                ASSERT_UEQ(6, n);
        }
        ASSERT_EQ(0, rmdir(dir));
        return 0;
}
