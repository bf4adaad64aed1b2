/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "resolver.h"
/* STUB */
int resolver_new(sd_event *e, const char *servers, struct resolver **ret) { return -ENOSYS; }
struct resolver *resolver_free(struct resolver *r) { return NULL; }
int resolver_query(struct resolver *r, const char *host, unsigned families, resolver_cb cb, void *userdata) { return -ENOSYS; }
size_t resolver_pending(const struct resolver *r) { return 0; }
