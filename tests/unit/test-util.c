/* SPDX-License-Identifier: GPL-2.0-or-later */
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

int main(void) {
        test_parse_duration();
        test_format_duration();
        test_grow_array();
        return 0;
}
