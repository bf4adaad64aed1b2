/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "config.h"

/* What main() asks of the manager. */
enum manager_mode {
        MANAGER_DAEMON,   /* run until SIGTERM */
        MANAGER_ONCE,     /* resolve once, apply, exit */
        MANAGER_DRY_RUN,  /* resolve once, print the nft script, touch nothing */
};

/* Runs allowlistd with the configuration at config_path. Returns the process exit code:
 * 0 success, 1 error, 2 (--once) applied but some names failed. */
int manager_run(const char *config_path, enum manager_mode mode);

/* --status: prints the state file named by the configuration (as a table, or JSON); with what
 * (an address, a group or a host name), only what concerns it (see status_query()). Returns the
 * process exit code. */
int manager_status(const char *config_path, const char *what, bool json);
