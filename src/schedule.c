/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "schedule.h"
/* STUB */
usec_t schedule_after_success(usec_t min_ttl, usec_t refresh, usec_t refresh_min, usec_t validity) { return USEC_PER_MINUTE; }
usec_t schedule_after_failure(unsigned failures, usec_t retry_min, usec_t retry_max, uint64_t random) { return retry_min; }
bool schedule_expiry_is_near(usec_t now, usec_t expiry, usec_t validity) { return false; }
