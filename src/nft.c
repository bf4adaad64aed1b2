/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "nft.h"
/* STUB */
int nft_open(struct nft **ret) { return -ENOSYS; }
struct nft *nft_free(struct nft *n) { return NULL; }
int nft_apply(struct nft *n, const struct nft_ruleset *want, usec_t now, bool force, struct nft_error *err) { return -ENOSYS; }
int nft_remove(struct nft *n, const struct nft_ruleset *want, struct nft_error *err) { return -ENOSYS; }
int nft_monitor_start(struct nft *n, sd_event *e, nft_change_cb on_foreign_change, void *userdata) { return -ENOSYS; }
int nft_write_script(FILE *f, const struct nft_ruleset *want, usec_t now) { return -ENOSYS; }
