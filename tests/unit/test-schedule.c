/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <limits.h>

#include "schedule.h"
#include "test-util.h"

#define SEC USEC_PER_SEC
#define MIN_ USEC_PER_MINUTE
#define HOUR USEC_PER_HOUR
#define DAY USEC_PER_DAY
#define NO_JITTER (UINT64_C(1) << 63)

static void test_success_ttl(void) {
        /* csall.wisemo.com: validity 7d, refresh auto, refresh_min 60s. */
        ASSERT_UEQ(300 * SEC, schedule_after_success(300 * SEC, 0, 60 * SEC, 7 * DAY));
        ASSERT_UEQ(60 * SEC, schedule_after_success(59 * SEC, 0, 60 * SEC, 7 * DAY));  /* below refresh_min */
        ASSERT_UEQ(60 * SEC, schedule_after_success(60 * SEC, 0, 60 * SEC, 7 * DAY));
        ASSERT_UEQ(60 * SEC + 1, schedule_after_success(60 * SEC + 1, 0, 60 * SEC, 7 * DAY));
        ASSERT_UEQ(60 * SEC, schedule_after_success(0, 0, 60 * SEC, 7 * DAY));          /* TTL 0 */
        ASSERT_UEQ(SEC, schedule_after_success(0, 0, 0, 7 * DAY));                      /* never below 1s */
        ASSERT_UEQ(SEC, schedule_after_success(SEC / 2, 0, SEC / 4, 7 * DAY));
        ASSERT_UEQ(7 * SEC / 2, schedule_after_success(7 * SEC / 2, 0, 0, 7 * DAY));
        /* Above validity/2: validity/2 wins. */
        ASSERT_UEQ(7 * DAY / 2, schedule_after_success(10 * DAY, 0, 60 * SEC, 7 * DAY));
        ASSERT_UEQ(7 * DAY / 2, schedule_after_success(7 * DAY / 2 + 1, 0, 60 * SEC, 7 * DAY));
        ASSERT_UEQ(7 * DAY / 2, schedule_after_success(7 * DAY / 2, 0, 60 * SEC, 7 * DAY));
        ASSERT_UEQ(15 * DAY, schedule_after_success(UINT32_MAX * SEC, 0, 60 * SEC, 30 * DAY));
        /* validity < 2 * refresh_min: validity/2 wins over refresh_min. */
        ASSERT_UEQ(50 * SEC, schedule_after_success(300 * SEC, 0, 60 * SEC, 100 * SEC));
        ASSERT_UEQ(50 * SEC, schedule_after_success(0, 0, 60 * SEC, 100 * SEC));
        /* A validity under 2s: the 1s floor wins (no busy loop). */
        ASSERT_UEQ(SEC, schedule_after_success(300 * SEC, 0, 60 * SEC, SEC));
        ASSERT_UEQ(SEC, schedule_after_success(300 * SEC, 0, 60 * SEC, 0));
        ASSERT_UEQ(3 * SEC / 2, schedule_after_success(300 * SEC, 0, 60 * SEC, 3 * SEC));
        /* An infinite validity leaves the TTL clamp alone. */
        ASSERT_UEQ(300 * SEC, schedule_after_success(300 * SEC, 0, 60 * SEC, USEC_INFINITY));
}

static void test_success_refresh(void) {
        /* refresh= given: the TTL does not matter, validity/2 still caps it. */
        ASSERT_UEQ(HOUR, schedule_after_success(300 * SEC, HOUR, 60 * SEC, 7 * DAY));
        ASSERT_UEQ(HOUR, schedule_after_success(0, HOUR, 60 * SEC, 7 * DAY));
        ASSERT_UEQ(HOUR, schedule_after_success(20 * DAY, HOUR, 60 * SEC, 7 * DAY));
        ASSERT_UEQ(30 * SEC, schedule_after_success(300 * SEC, 30 * SEC, 60 * SEC, 7 * DAY)); /* not refresh_min */
        ASSERT_UEQ(7 * DAY / 2, schedule_after_success(300 * SEC, 5 * DAY, 60 * SEC, 7 * DAY));
        ASSERT_UEQ(15 * DAY, schedule_after_success(300 * SEC, 30 * DAY, 60 * SEC, 30 * DAY));
        ASSERT_UEQ(SEC, schedule_after_success(300 * SEC, 1, 60 * SEC, 7 * DAY));
}

static void test_success_empty(void) {
        /* NXDOMAIN / no data: refresh_min, at most validity/2, or refresh= when given. */
        ASSERT_UEQ(60 * SEC, schedule_after_success(USEC_INFINITY, 0, 60 * SEC, 7 * DAY));
        ASSERT_UEQ(50 * SEC, schedule_after_success(USEC_INFINITY, 0, 60 * SEC, 100 * SEC));
        ASSERT_UEQ(2 * HOUR, schedule_after_success(USEC_INFINITY, 2 * HOUR, 60 * SEC, 7 * DAY));
        ASSERT_UEQ(SEC, schedule_after_success(USEC_INFINITY, 0, 0, 7 * DAY));
        ASSERT_UEQ(60 * SEC, schedule_after_success(USEC_INFINITY, 0, 60 * SEC, USEC_INFINITY));
}

static void test_failure_sequence(void) {
        /* retry_min 10s, retry_max 1h: 10, 20, 40, ..., 2560, then 3600 for ever. */
        static const uint64_t expected_s[] = { 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600, 3600 };

        for (unsigned i = 0; i < ELEMENTSOF(expected_s); i++) {
                usec_t d = expected_s[i] * SEC;
                ASSERT_UEQ(d, schedule_after_failure(i + 1, 10 * SEC, HOUR, NO_JITTER));
                ASSERT_UEQ(d - d / 10, schedule_after_failure(i + 1, 10 * SEC, HOUR, 0));
                ASSERT_UEQ(d + d / 10, schedule_after_failure(i + 1, 10 * SEC, HOUR, UINT64_MAX));
        }
        ASSERT_UEQ(9 * SEC, schedule_after_failure(1, 10 * SEC, HOUR, 0));
        ASSERT_UEQ(3240 * SEC, schedule_after_failure(10, 10 * SEC, HOUR, 0));
        ASSERT_UEQ(3960 * SEC, schedule_after_failure(10, 10 * SEC, HOUR, UINT64_MAX));
        /* A quarter of the range: -5%. */
        ASSERT_UEQ(9500 * USEC_PER_MSEC, schedule_after_failure(1, 10 * SEC, HOUR, UINT64_C(1) << 62));

        /* 0 counts as the first failure; huge counts do not overflow the shift. */
        ASSERT_UEQ(10 * SEC, schedule_after_failure(0, 10 * SEC, HOUR, NO_JITTER));
        ASSERT_UEQ(HOUR, schedule_after_failure(63, 10 * SEC, HOUR, NO_JITTER));
        ASSERT_UEQ(HOUR, schedule_after_failure(64, 10 * SEC, HOUR, NO_JITTER));
        ASSERT_UEQ(HOUR, schedule_after_failure(65, 10 * SEC, HOUR, NO_JITTER));
        ASSERT_UEQ(HOUR, schedule_after_failure(1000, 10 * SEC, HOUR, NO_JITTER));
        ASSERT_UEQ(HOUR, schedule_after_failure(UINT_MAX, 10 * SEC, HOUR, NO_JITTER));

        /* retry_min > retry_max: the cap wins from the first failure. */
        ASSERT_UEQ(HOUR, schedule_after_failure(1, 2 * HOUR, HOUR, NO_JITTER));
        ASSERT_UEQ(HOUR, schedule_after_failure(5, 2 * HOUR, HOUR, NO_JITTER));
        ASSERT_UEQ(HOUR, schedule_after_failure(1, HOUR, HOUR, NO_JITTER));

        /* Never below 1s, even after -10%. */
        ASSERT_UEQ(SEC, schedule_after_failure(1, 0, HOUR, 0));
        ASSERT_UEQ(SEC, schedule_after_failure(1, 0, 0, UINT64_MAX));
        ASSERT_UEQ(SEC, schedule_after_failure(1, SEC, HOUR, 0));
        ASSERT_UEQ(SEC, schedule_after_failure(1, SEC / 2, SEC / 2, UINT64_MAX));
        ASSERT_UEQ(2 * SEC, schedule_after_failure(2, SEC, HOUR, NO_JITTER));

        /* No retry_max to speak of: doubling goes on, saturating instead of wrapping. */
        {
                usec_t prev = 0;
                for (unsigned f = 1; f < 200; f++) {
                        usec_t d = schedule_after_failure(f, SEC, USEC_INFINITY, UINT64_MAX);
                        ASSERT_TRUE(d >= prev);
                        prev = d;
                }
                ASSERT_UEQ(USEC_INFINITY, prev);
                ASSERT_UEQ(USEC_INFINITY - USEC_INFINITY / 10,
                           schedule_after_failure(100, SEC, USEC_INFINITY, 0));
        }
}

static uint64_t xorshift64(uint64_t *state) {
        uint64_t x = *state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return *state = x;
}

static void test_failure_jitter_bounds(void) {
        uint64_t rng = UINT64_C(0x9e3779b97f4a7c15);

        for (unsigned f = 1; f <= 12; f++) {
                usec_t base = schedule_after_failure(f, 10 * SEC, HOUR, NO_JITTER);
                usec_t lo = base - base / 10, hi = base + base / 10;
                usec_t seen_min = USEC_INFINITY, seen_max = 0;
                long double sum = 0;
                const unsigned runs = 100000;

                for (unsigned i = 0; i < runs; i++) {
                        usec_t d = schedule_after_failure(f, 10 * SEC, HOUR, xorshift64(&rng));
                        ASSERT_TRUE(d >= lo && d <= hi);
                        seen_min = MIN(seen_min, d);
                        seen_max = MAX(seen_max, d);
                        sum += (long double) d;
                }
                /* The jitter really spreads over (nearly) the whole +-10%, centred on base. */
                ASSERT_TRUE(seen_min < lo + base / 1000);
                ASSERT_TRUE(seen_max > hi - base / 1000);
                ASSERT_TRUE(sum / runs > (long double) base * 0.995L && sum / runs < (long double) base * 1.005L);
        }

        /* Near the 1s floor the jitter never takes it below. */
        for (unsigned i = 0; i < 10000; i++)
                ASSERT_TRUE(schedule_after_failure(1, SEC, HOUR, xorshift64(&rng)) >= SEC);
}

static void test_expiry_near(void) {
        const usec_t t = 1000 * SEC;

        /* Seen at t, valid 7d: the warning starts at exactly t + 90% of 7d. */
        for (unsigned k = 0; k < 2; k++) {
                usec_t validity = k == 0 ? 7 * DAY : 30 * DAY, expiry = t + validity;
                usec_t warn = t + validity / 10 * 9;

                ASSERT_TRUE(!schedule_expiry_is_near(t, expiry, validity));
                ASSERT_TRUE(!schedule_expiry_is_near(t + validity / 2, expiry, validity));
                ASSERT_TRUE(!schedule_expiry_is_near(warn - 1, expiry, validity));
                ASSERT_TRUE(schedule_expiry_is_near(warn, expiry, validity));
                ASSERT_TRUE(schedule_expiry_is_near(warn + 1, expiry, validity));
                ASSERT_TRUE(schedule_expiry_is_near(expiry - 1, expiry, validity));
                ASSERT_TRUE(schedule_expiry_is_near(expiry, expiry, validity));
                ASSERT_TRUE(schedule_expiry_is_near(expiry + DAY, expiry, validity));
        }

        /* Exact for a validity that 10 does not divide: 10 * remaining <= validity. */
        ASSERT_TRUE(schedule_expiry_is_near(100, 101, 15));
        ASSERT_TRUE(!schedule_expiry_is_near(100, 102, 15));
        ASSERT_TRUE(schedule_expiry_is_near(100, 102, 20));

        /* A restored entry that outlives the current validity is not near. */
        ASSERT_TRUE(!schedule_expiry_is_near(t, t + 2 * DAY, DAY));
        ASSERT_TRUE(!schedule_expiry_is_near(t, USEC_INFINITY, 7 * DAY));
        ASSERT_TRUE(!schedule_expiry_is_near(0, USEC_INFINITY - 1, USEC_INFINITY));
        ASSERT_TRUE(!schedule_expiry_is_near(t, t + 1, 0));
        ASSERT_TRUE(schedule_expiry_is_near(t, t, 0));
}

/* DNS dies 30 min into a 1 h validity with the default backoff (10 s doubling to 1 h): the
 * retries must reach the warning window before the addresses go, and keep trying inside it. */
static void test_retry_before_expiry(void) {
        const usec_t t = 1000 * SEC, validity = 3600 * SEC, expiry = t + validity;
        usec_t now = t + 1800 * SEC;
        bool warned = false;
        unsigned failures = 0, attempts_in_window = 0;

        while (now < expiry) {
                usec_t delay = schedule_after_failure(++failures, 10 * SEC, 3600 * SEC, 1ULL << 63);

                if (schedule_expiry_is_near(now, expiry, validity)) {
                        warned = true;
                        attempts_in_window++;
                }
                delay = schedule_retry_before_expiry(now, delay, expiry, validity);
                ASSERT_TRUE(delay >= SEC);
                now += delay;
        }
        ASSERT_TRUE(warned);
        ASSERT_TRUE(attempts_in_window >= 5); /* 360 s halved down to 1 s */

        /* Exact values: before the window the retry lands on its start; inside, half the time left. */
        ASSERT_UEQ(60 * SEC, schedule_retry_before_expiry(expiry - 420 * SEC, 3600 * SEC, expiry, validity));
        ASSERT_UEQ(10 * SEC, schedule_retry_before_expiry(expiry - 420 * SEC, 10 * SEC, expiry, validity));
        ASSERT_UEQ(150 * SEC, schedule_retry_before_expiry(expiry - 300 * SEC, 3600 * SEC, expiry, validity));
        ASSERT_UEQ(SEC, schedule_retry_before_expiry(expiry - SEC, 3600 * SEC, expiry, validity));
        ASSERT_UEQ(3600 * SEC, schedule_retry_before_expiry(expiry, 3600 * SEC, expiry, validity));
        ASSERT_UEQ(3600 * SEC, schedule_retry_before_expiry(t, 3600 * SEC, USEC_INFINITY, validity));
        /* 7 days: the window starts 16.8 h before expiry. */
        ASSERT_UEQ(DAY, schedule_retry_before_expiry(30 * DAY - 7 * DAY / 10 - DAY, 3 * DAY, 30 * DAY, 7 * DAY));
}

int main(void) {
        test_success_ttl();
        test_success_refresh();
        test_success_empty();
        test_failure_sequence();
        test_failure_jitter_bounds();
        test_expiry_near();
        test_retry_before_expiry();
        return 0;
}
