/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "config.h"
#include "state.h"

/* --status ADDRESS and --status NAME: why an address is allowed, and what one host or group
 * holds. Reads the state file's records, the configuration (ports, static entries; may be
 * NULL) and, for an address, the kernel's sets.
 *
 * For an address: every group and host that allows it (or did: expired), since when (the last
 * DNS answer that had it) and until when, on which ports, and the element the kernel has with
 * its remaining timeout. Returns 0 when it is allowed, 1 when not (no unexpired record, or the
 * kernel's sets could be read and none holds it).
 * For a name (a group, else a host): the group's static entries, and per host its health and
 * addresses. Returns 0, or 1 when no group or host has that name.
 * now is CLOCK_REALTIME usec. Prints a text for people, or JSON. */
int status_query(const char *what, const struct config *c, const struct state *s, usec_t now, bool json, FILE *f);

/* Reads from the state file at path only the records --status WHAT shows (an address's, a
 * group's or a host's; every record for a NULL what), so that a query of a large file costs
 * memory for those records and one line, not for the whole file. Errors as state_load(). */
int status_load(const char *path, const char *what, const struct config *c, struct state **ret);
