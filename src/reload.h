/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <signal.h>
#include <sys/signalfd.h>
#include <sys/types.h>

/* A synchronous reload (systemd 252 has no Type=notify-reload, and ExecReload= returns when its
 * command does): `allowlistd --reload PID` checks the file, sends the daemon SIGHUP with
 * RELOAD_REQUEST as the sigqueue() value, and waits for RELOAD_REPLY_SIGNAL from it, whose value
 * is the reload's result (0, or a negative errno). A plain `kill -HUP` still reloads, without
 * a reply. */
#define RELOAD_REQUEST 0x616c6c77 /* "allw" */
#define RELOAD_REPLY_SIGNAL SIGUSR1
/* Far more than a reload takes (the configuration and one transaction, no DNS), and within
 * systemd's default TimeoutSec= of 90 s, so that our message is the one the operator sees. */
#define RELOAD_TIMEOUT_SEC 60

/* The client: checks the configuration at config_path (errors as FILE:LINE), asks the daemon
 * pid to reload it and waits for the verdict. Returns the process exit code: 0 when the new
 * configuration is in force, 1 otherwise, with the reason logged. */
int reload_request(const char *config_path, pid_t pid);

/* The daemon's side, after a reload that came with si: answers a reload_request() (nothing for
 * a plain signal). */
void reload_reply(const struct signalfd_siginfo *si, int result);
