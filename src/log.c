/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/uio.h>
/* Every record would carry log.c's own CODE_FILE/CODE_LINE: the same place, so no information. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "log.h"

static int max_level = LOG_INFO;
static bool use_journal;

void log_open(void) {
        /* systemd sets JOURNAL_STREAM=DEV:INODE for the stderr it connected to the journal;
         * comparing it with our stderr keeps `allowlistd -t` in a terminal on plain lines. */
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        use_journal = e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 &&
                      fstat(STDERR_FILENO, &st) >= 0 && st.st_dev == dev && st.st_ino == ino;
}

void log_set_max_level(int level) { max_level = level; }
int log_get_max_level(void) { return max_level; }

static const char *level_name(int level) {
        static const char *const names[] = {
                [LOG_EMERG] = "emergency", [LOG_ALERT] = "alert", [LOG_CRIT] = "critical",
                [LOG_ERR] = "error", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
                [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
        };
        return level >= 0 && level < (int) ELEMENTSOF(names) ? names[level] : "log";
}

static void log_write(int level, const char *message_id, const char *group, const char *host,
                      const char *address, const char *message) {
        if (use_journal) {
                /* Absent fields are sent as empty-named dummies would be wrong; send each only
                 * when set, so `journalctl ALLOWLIST_HOST=...` matches exactly. */
                struct iovec iov[6];
                char buf[6][320];
                int n = 0;

#define ADD_FIELD(fmt, value)                                                   \
                do {                                                            \
                        int k = snprintf(buf[n], sizeof(buf[n]), fmt, value);   \
                        iov[n].iov_base = buf[n];                               \
                        iov[n].iov_len = (size_t) MIN(k, (int) sizeof(buf[n]) - 1); \
                        n++;                                                    \
                } while (0)
                ADD_FIELD("PRIORITY=%i", level);
                if (message_id)
                        ADD_FIELD("MESSAGE_ID=%s", message_id);
                if (group)
                        ADD_FIELD("ALLOWLIST_GROUP=%s", group);
                if (host)
                        ADD_FIELD("ALLOWLIST_HOST=%s", host);
                if (address)
                        ADD_FIELD("ALLOWLIST_ADDRESS=%s", address);
#undef ADD_FIELD
                {
                        size_t len = strlen(message) + sizeof("MESSAGE=");
                        char *m = malloc(len);
                        if (m) {
                                snprintf(m, len, "MESSAGE=%s", message);
                                iov[n].iov_base = m;
                                iov[n].iov_len = len - 1;
                                if (sd_journal_sendv(iov, n + 1) >= 0) {
                                        free(m);
                                        return;
                                }
                                free(m);
                        }
                }
        }
        fprintf(stderr, "%s: %s\n", level_name(level), message);
}

static int log_vevent(int level, int error, const char *message_id, const char *group,
                      const char *host, const char *address, const char *fmt, va_list ap) _printf_(7, 0);
static int log_vevent(int level, int error, const char *message_id, const char *group,
                      const char *host, const char *address, const char *fmt, va_list ap) {
        char message[2048];

        if (level > max_level)
                return error ? -abs(error) : 0;

        errno = abs(error); /* for %m */
        vsnprintf(message, sizeof(message), fmt, ap);
        log_write(level, message_id, group, host, address, message);
        return error ? -abs(error) : 0;
}

int log_internal(int level, int error, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = log_vevent(level, error, NULL, NULL, NULL, NULL, fmt, ap);
        va_end(ap);
        return r;
}

int log_event(int level, const char *message_id, const char *group, const char *host,
              const char *address, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = log_vevent(level, 0, message_id, group, host, address, fmt, ap);
        va_end(ap);
        return r;
}
