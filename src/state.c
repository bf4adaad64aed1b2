/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "state.h"
/* STUB */
int state_save(const char *path, const struct state *s) { return -ENOSYS; }
int state_load(const char *path, struct state **ret) { return -ENOSYS; }
int state_set_aside(const char *path, char *ret_new_path, size_t size) { return -ENOSYS; }
struct state *state_free(struct state *s) { return NULL; }
int state_add_address(struct state *s, const struct state_address *a) { return -ENOSYS; }
int state_add_host(struct state *s, const struct state_host *h) { return -ENOSYS; }
void state_print_table(const struct state *s, const struct config *c, usec_t now, FILE *f) {}
void state_print_json(const struct state *s, const struct config *c, usec_t now, FILE *f) {}
