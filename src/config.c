/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"
/* STUB */
int config_load(const char *path, struct config **ret) { return -ENOSYS; }
int config_load_string(const char *text, const char *name, struct config **ret) { return -ENOSYS; }
struct config *config_free(struct config *c) { return NULL; }
int config_check_runnable(const struct config *c) { return 0; }
const struct group *config_find_group(const struct config *c, const char *name) { return NULL; }
bool group_equal(const struct group *a, const struct group *b) { return false; }
const char *proto_to_string(uint8_t proto) { return "?"; }
void config_print_summary(const struct config *c, FILE *f) {}
