/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "log.h"

void fuzz_quiet(void) {
        /* Below LOG_EMERG: nothing is written. */
        log_set_max_level(-1);
}

const char *fuzz_file(const uint8_t *data, size_t size) {
        static char path[64];
        static int fd = -1;
        size_t done = 0;

        if (fd < 0) {
                fd = memfd_create("fuzz-input", MFD_CLOEXEC);
                if (fd < 0)
                        return NULL;
                snprintf(path, sizeof(path), "/proc/self/fd/%i", fd);
        }
        if (ftruncate(fd, 0) < 0)
                return NULL;
        while (done < size) {
                ssize_t n = pwrite(fd, data + done, size - done, (off_t) done);
                if (n <= 0)
                        return NULL;
                done += (size_t) n;
        }
        return path;
}

FILE *fuzz_devnull(void) {
        static FILE *f;

        if (!f)
                f = fopen("/dev/null", "we");
        return f;
}
