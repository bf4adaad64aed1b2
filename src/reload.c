/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Both ends of a synchronous reload: the short-lived client that ExecReload= runs, and the
 * daemon's answer to it. Signals carry the request and the verdict: they need no socket, no
 * file and no extra permission in the unit's sandbox (both ends run as the same user). */
#include <errno.h>
#include <time.h>

#include "config.h"
#include "log.h"
#include "reload.h"

int reload_request(const char *config_path, pid_t pid) {
        _cleanup_config_ struct config *c = NULL;
        sigset_t mask;
        time_t deadline;

        if (pid <= 0) {
                log_error("--reload needs the daemon's PID (ExecReload=... --reload $MAINPID).");
                return 1;
        }
        /* A file the daemon would reject is not worth a signal: its errors, FILE:LINE, go to the
         * output of `systemctl reload` (and the journal) from here. */
        if (config_load(config_path, &c) < 0 || config_check_runnable(c) < 0) {
                log_error("Not reloading allowlistd (PID %d): %s is invalid (see above); it keeps running on "
                          "the previous configuration.", (int) pid, config_path);
                return 1;
        }

        /* Blocked before the request goes out, so that a quick answer waits for sigtimedwait(). */
        sigemptyset(&mask);
        sigaddset(&mask, RELOAD_REPLY_SIGNAL);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m"), 1;
        if (sigqueue(pid, SIGHUP, (union sigval) { .sival_int = RELOAD_REQUEST }) < 0)
                return log_error_errno(errno, "Failed to signal allowlistd (PID %d): %m", (int) pid), 1;

        deadline = time(NULL) + RELOAD_TIMEOUT_SEC;
        for (;;) {
                struct timespec ts = { .tv_sec = 1 };
                siginfo_t si;
                int result;

                if (sigtimedwait(&mask, &si, &ts) < 0) {
                        if (errno != EAGAIN && errno != EINTR)
                                return log_error_errno(errno, "Failed to wait for allowlistd's answer: %m"), 1;
                        if (kill(pid, 0) < 0 && errno == ESRCH) {
                                log_error("allowlistd (PID %d) exited before it answered the reload.", (int) pid);
                                return 1;
                        }
                        if (time(NULL) >= deadline) {
                                log_error("allowlistd (PID %d) did not answer the reload within %d s.", (int) pid,
                                          RELOAD_TIMEOUT_SEC);
                                return 1;
                        }
                        continue;
                }
                /* Anyone of our user may send SIGUSR1: only the daemon's queued answer counts. */
                if (si.si_pid != pid || si.si_code != SI_QUEUE)
                        continue;
                result = si.si_value.sival_int;
                if (result >= 0) {
                        log_info("allowlistd (PID %d) reloaded %s: the new configuration is in force.", (int) pid,
                                 config_path);
                        return 0;
                }
                log_error("allowlistd (PID %d) rejected the new configuration in %s (%s) and keeps running on the "
                          "previous one; its journal says why (MESSAGE_ID=%s).", (int) pid, config_path,
                          strerror(-result), MESSAGE_RELOAD_REJECTED);
                return 1;
        }
}

void reload_reply(const struct signalfd_siginfo *si, int result) {
        if (!si || si->ssi_code != SI_QUEUE || si->ssi_int != RELOAD_REQUEST || si->ssi_pid == 0)
                return;
        if (sigqueue((pid_t) si->ssi_pid, RELOAD_REPLY_SIGNAL, (union sigval) { .sival_int = MIN(result, 0) }) < 0)
                log_warning_errno(errno, "Failed to answer the reload request of PID %u: %m", si->ssi_pid);
}
