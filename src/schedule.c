/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "schedule.h"

/* Floor for every delay: a TTL of 0, a zero refresh_min or a tiny validity must never turn the
 * timer into a busy loop against the DNS server. */
#define SCHEDULE_MIN_DELAY USEC_PER_SEC

usec_t schedule_after_success(usec_t min_ttl, usec_t refresh, usec_t refresh_min, usec_t validity) {
        usec_t latest = validity / 2, delay;

        if (refresh > 0)
                delay = refresh;
        else if (min_ttl == USEC_INFINITY)
                /* No address, so no TTL to go by (NXDOMAIN's negative TTL is the zone's business,
                 * not ours): ask again soon so a name that comes back is picked up early. */
                delay = refresh_min;
        else
                delay = MAX(min_ttl, refresh_min);

        /* Two attempts before anything from this answer can expire: WiseMo's validity is a
         * promise about addresses already handed out, and one lost query must not break it. */
        delay = MIN(delay, latest);
        return MAX(delay, SCHEDULE_MIN_DELAY);
}

/* High 64 bits of a * b, without relying on __int128 (32-bit ARM gateways lack it). */
static uint64_t mul_high64(uint64_t a, uint64_t b) {
        uint64_t a_lo = (uint32_t) a, a_hi = a >> 32, b_lo = (uint32_t) b, b_hi = b >> 32;
        uint64_t lo_lo = a_lo * b_lo, hi_lo = a_hi * b_lo, lo_hi = a_lo * b_hi, hi_hi = a_hi * b_hi;
        uint64_t cross = (lo_lo >> 32) + (uint32_t) hi_lo + lo_hi;

        return hi_hi + (hi_lo >> 32) + (cross >> 32);
}

usec_t schedule_after_failure(unsigned failures, usec_t retry_min, usec_t retry_max, uint64_t random) {
        unsigned shift = failures > 0 ? failures - 1 : 0;
        usec_t delay, spread, low, offset;

        /* retry_min << shift, saturating at retry_max without ever shifting out bits. */
        if (retry_min >= retry_max || shift >= 64 || retry_min > (retry_max >> shift))
                delay = retry_max;
        else
                delay = retry_min << shift;

        /* Jitter spreads hosts that failed together (a resolver outage) over +-10%, so they do
         * not hit the recovered server in one burst. random scales linearly onto
         * [delay - spread, delay + spread]: 0 is -10%, 1 << 63 exactly no jitter, UINT64_MAX +10%. */
        spread = delay / 10;
        low = delay - spread;
        offset = mul_high64(random, 2 * spread + 1);
        delay = low > USEC_INFINITY - offset ? USEC_INFINITY : low + offset;

        return MAX(delay, SCHEDULE_MIN_DELAY);
}

bool schedule_expiry_is_near(usec_t now, usec_t expiry, usec_t validity) {
        usec_t remaining;

        if (expiry == USEC_INFINITY)
                return false;
        if (now >= expiry)
                return true;
        remaining = expiry - now;
        /* remaining <= validity / 10, exactly (no rounding of validity / 10). */
        return remaining <= USEC_INFINITY / 10 && remaining * 10 <= validity;
}

usec_t schedule_retry_before_expiry(usec_t now, usec_t delay, usec_t expiry, usec_t validity) {
        usec_t warn_at;

        if (expiry == USEC_INFINITY || now >= expiry)
                return delay;
        warn_at = expiry - MIN(expiry, validity / 10);
        if (now < warn_at)
                return MIN(delay, warn_at - now);
        return MIN(delay, MAX((expiry - now) / 2, USEC_PER_SEC));
}
