/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <sys/stat.h>

#include "util.h"
#include "test-util.h"

static void test_parse_duration(void) {
        static const struct { const char *s; usec_t d; } good[] = {
                { "0", 0 }, { "6", 6 * USEC_PER_SEC }, { "6s", 6 * USEC_PER_SEC },
                { "1m", USEC_PER_MINUTE }, { "1h", USEC_PER_HOUR }, { "7d", 7 * USEC_PER_DAY },
                { "30d", 30 * USEC_PER_DAY }, { "1h30m", 90 * USEC_PER_MINUTE }, { "1d2h3m4s", 93784 * USEC_PER_SEC },
        };
        static const char *const bad[] = {
                "", "s", "1x", "-1", "1.5h", "1 h", " 1h", "1h ", "1w", "h1", "18446744073709551616",
                "99999999999999999d",
        };
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                usec_t d = 1;
                ASSERT_EQ(0, parse_duration(good[i].s, &d));
                ASSERT_UEQ(good[i].d, d);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                usec_t d = 42;
                if (parse_duration(bad[i], &d) >= 0) {
                        fprintf(stderr, "accepted \"%s\"\n", bad[i]);
                        abort();
                }
                ASSERT_UEQ(42, d); /* untouched on failure */
        }
}

static void test_format_duration(void) {
        char buf[DURATION_MAX];

        ASSERT_STREQ("0s", format_duration(buf, sizeof(buf), 0));
        ASSERT_STREQ("1s", format_duration(buf, sizeof(buf), 1)); /* rounded up */
        ASSERT_STREQ("45s", format_duration(buf, sizeof(buf), 45 * USEC_PER_SEC));
        ASSERT_STREQ("3h12m", format_duration(buf, sizeof(buf), 3 * USEC_PER_HOUR + 12 * USEC_PER_MINUTE + 5 * USEC_PER_SEC));
        ASSERT_STREQ("7d", format_duration(buf, sizeof(buf), 7 * USEC_PER_DAY));
        ASSERT_STREQ("1d", format_duration(buf, sizeof(buf), USEC_PER_DAY + 30 * USEC_PER_SEC));
        ASSERT_STREQ("2m1s", format_duration(buf, sizeof(buf), 121 * USEC_PER_SEC));
        ASSERT_STREQ("never", format_duration(buf, sizeof(buf), USEC_INFINITY));
}

static void test_grow_array(void) {
        int *a = NULL;
        size_t allocated = 0;

        ASSERT_EQ(0, grow_array((void **) &a, &allocated, 3, sizeof(int)));
        ASSERT_TRUE(allocated >= 3);
        a[2] = 7;
        ASSERT_EQ(0, grow_array((void **) &a, &allocated, 1000, sizeof(int)));
        ASSERT_TRUE(allocated >= 1000);
        ASSERT_EQ(7, a[2]);
        ASSERT_EQ(-ENOMEM, grow_array((void **) &a, &allocated, SIZE_MAX / 2, sizeof(int)));
        free(a);
}

/* The names in dir, sorted, joined by spaces. */
static void list_dir(const char *dir, char *buf, size_t size) {
        struct dirent **names;
        int n = scandir(dir, &names, NULL, alphasort);
        size_t used = 0;

        ASSERT_TRUE(n >= 0);
        buf[0] = 0;
        for (int i = 0; i < n; i++) {
                if (names[i]->d_name[0] != '.')
                        used += (size_t) snprintf(buf + used, size - used, "%s%s", used ? " " : "", names[i]->d_name);
                free(names[i]);
        }
        free(names);
}

static void test_atomic_file(void) {
        char dir[] = "/tmp/test-util-XXXXXX", path[64], stale[80], names[256], text[16] = "";
        struct atomic_file a;
        struct stat st;
        FILE *f;

        ASSERT_TRUE(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/file.prom", dir);

        /* Committed: the new content under the name, mode 0644, no temporary left. */
        ASSERT_EQ(0, atomic_file_open(path, false, &a));
        ASSERT_TRUE(strncmp(a.tmp, path, strlen(path)) == 0 && strncmp(a.tmp + strlen(path), ".tmp-", 5) == 0);
        fputs("one\n", a.f);
        ASSERT_EQ(0, atomic_file_commit(&a, true));
        ASSERT_TRUE(a.committed);
        atomic_file_release(&a);
        ASSERT_TRUE((f = fopen(path, "r")) && fgets(text, sizeof(text), f));
        fclose(f);
        ASSERT_STREQ("one\n", text);
        ASSERT_EQ(0, stat(path, &st));
        ASSERT_EQ(0644, st.st_mode & 07777);
        list_dir(dir, names, sizeof(names));
        ASSERT_STREQ("file.prom", names);

        /* Released without a commit: the old file stays, the temporary goes. */
        ASSERT_EQ(0, atomic_file_open(path, false, &a));
        fputs("two\n", a.f);
        atomic_file_release(&a);
        ASSERT_TRUE((f = fopen(path, "r")) && fgets(text, sizeof(text), f));
        fclose(f);
        ASSERT_STREQ("one\n", text);
        list_dir(dir, names, sizeof(names));
        ASSERT_STREQ("file.prom", names);

        /* A killed writer's leftover: kept without remove_stale, removed with it. */
        snprintf(stale, sizeof(stale), "%s.tmp-abcdef", path);
        ASSERT_TRUE((f = fopen(stale, "w")));
        fclose(f);
        ASSERT_EQ(0, atomic_file_open(path, false, &a));
        atomic_file_release(&a);
        list_dir(dir, names, sizeof(names));
        ASSERT_STREQ("file.prom file.prom.tmp-abcdef", names);
        ASSERT_EQ(0, atomic_file_open(path, true, &a));
        ASSERT_EQ(0, atomic_file_commit(&a, true));
        atomic_file_release(&a);
        list_dir(dir, names, sizeof(names));
        ASSERT_STREQ("file.prom", names);

        /* A directory that is not there, and a path naming no file. */
        ASSERT_EQ(-ENOENT, atomic_file_open("/nonexistent-dir/file", false, &a));
        atomic_file_release(&a);
        snprintf(path, sizeof(path), "%s/", dir);
        ASSERT_EQ(-EISDIR, atomic_file_open(path, false, &a));
        atomic_file_release(&a);

        snprintf(path, sizeof(path), "%s/file.prom", dir);
        ASSERT_EQ(0, unlink(path));
        ASSERT_EQ(0, rmdir(dir));
}

int main(void) {
        test_parse_duration();
        test_format_duration();
        test_grow_array();
        test_atomic_file();
        return 0;
}
