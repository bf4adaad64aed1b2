/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "ledger.h"
/* STUB */
int ledger_new(struct ledger **ret) { return -ENOSYS; }
struct ledger *ledger_free(struct ledger *l) { return NULL; }
int ledger_record(struct ledger *l, const char *host, const struct ip_addr *addrs, size_t n,
                  usec_t now, usec_t validity, ledger_entry_cb on_added, void *userdata) { return -ENOSYS; }
int ledger_restore(struct ledger *l, const char *host, const struct ip_addr *addr,
                   usec_t expiry, usec_t last_seen) { return -ENOSYS; }
size_t ledger_expire(struct ledger *l, usec_t now, ledger_entry_cb on_expired, void *userdata) { return 0; }
usec_t ledger_next_expiry(const struct ledger *l) { return USEC_INFINITY; }
usec_t ledger_host_next_expiry(const struct ledger *l, const char *host) { return USEC_INFINITY; }
size_t ledger_host_count(const struct ledger *l, const char *host) { return 0; }
const struct ledger_entry *ledger_entries(const struct ledger *l, size_t *ret_n) { *ret_n = 0; return NULL; }
const char *ledger_host_name(const struct ledger *l, uint32_t host) { return "?"; }
