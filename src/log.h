/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <syslog.h>

#include "util.h"

/* MESSAGE_ID= of each kind of event, so `journalctl MESSAGE_ID=...` finds them.
 * Listed in allowlistd(8); never change one once released. */
#define MESSAGE_ADDRESSES_ADDED     "ef11922abe9e4518a54731627038a6ea"
#define MESSAGE_ADDRESSES_EXPIRED   "dd0131b16c4541cc8c5c1fb72f62f88b"
#define MESSAGE_RESOLUTION_FAILED   "7154af15aece44b58a5972e1bcd82132"
#define MESSAGE_RESOLUTION_RECOVERED "d79f91f402da43c280050672b73fcdf4"
#define MESSAGE_SET_RESTORED        "d2a8a37216af48b993b5aa86a771a530"
#define MESSAGE_CONFIG_RELOADED     "4d484be9f78e4189a72249dcdc2a53ce"
#define MESSAGE_RELOAD_REJECTED     "0857cacd5b9d44aea60840d08c107cb4"
#define MESSAGE_STATE_RESTORED      "ce80a1f36abf45129c5fce60508ce99e"
#define MESSAGE_EXPIRY_WARNING      "a60b2a1758324eeeb3416e5f98b22963"

/* Decides where messages go: the journal when stderr is connected to it (JOURNAL_STREAM),
 * else plain "level: message" lines on stderr. */
void log_open(void);

/* Messages above this syslog level are dropped; LOG_INFO by default, -v makes it LOG_DEBUG. */
void log_set_max_level(int level);
int log_get_max_level(void);

/* Logs one message; error (errno, sign ignored) is what %m prints. Returns -abs(error), or 0. */
int log_internal(int level, int error, const char *fmt, ...) _printf_(3, 4);

/* Logs one event with its journal fields. message_id, group, host and address may be NULL. */
int log_event(int level, const char *message_id, const char *group, const char *host,
              const char *address, const char *fmt, ...) _printf_(6, 7);

#define log_debug(...) log_internal(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_internal(LOG_ERR, 0, __VA_ARGS__)
#define log_warning_errno(e, ...) log_internal(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_internal(LOG_ERR, (e), __VA_ARGS__)
#define log_oom() log_internal(LOG_ERR, ENOMEM, "Out of memory.")
