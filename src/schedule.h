/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/* When to ask DNS again. Pure functions of their arguments, tested on a fake clock. */

/* After a successful answer: refresh if it is a duration (non-zero), else the answer's smallest
 * TTL clamped to [refresh_min, validity/2]; in every case never later than validity/2, so at
 * least two attempts happen before any address from this answer can expire.
 * min_ttl is USEC_INFINITY when the answer held no address (NXDOMAIN, no data): then refresh_min
 * (or refresh), again at most validity/2. Never below 1s, which wins over validity/2 only for a
 * validity under 2s. Returns the delay from now. */
usec_t schedule_after_success(usec_t min_ttl, usec_t refresh, usec_t refresh_min, usec_t validity);

/* After the failures-th consecutive failure (1 for the first; 0 counts as 1): exponential backoff
 * retry_min * 2^(failures-1), capped at retry_max, with up to +-10% jitter taken from the
 * random value (so tests pass a fixed one): random maps linearly onto the range, 0 is -10%,
 * 1 << 63 no jitter, UINT64_MAX +10%. Never below 1s. Returns the delay from now. */
usec_t schedule_after_failure(unsigned failures, usec_t retry_min, usec_t retry_max, uint64_t random);

/* True when an address expiring at expiry is within the last 10% of validity at now (inclusive:
 * true from exactly expiry - validity/10, and once expired): the time to warn that its host keeps
 * failing and the allow-list will shrink. */
bool schedule_expiry_is_near(usec_t now, usec_t expiry, usec_t validity);

/* Bounds a failure backoff delay by the host's earliest expiry, so that a failing host is still
 * asked before its addresses leave: the retry lands no later than the start of the last 10% of
 * validity (where a failure triggers the warning of schedule_expiry_is_near()), and inside that
 * window no later than half of the time left (at least 1s). Without an expiry (USEC_INFINITY) or
 * once it has passed, the delay is returned as it is. */
usec_t schedule_retry_before_expiry(usec_t now, usec_t delay, usec_t expiry, usec_t validity);
