/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Test helper: plays systemd's side of sd_notify. Binds a datagram socket at argv[1] and appends
 * every message received to argv[2], one line per assignment, until SIGTERM. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char *argv[]) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char buf[4096];
        FILE *out;
        int fd;

        if (argc != 3 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
                fprintf(stderr, "usage: notify-listen SOCKET OUTPUT\n");
                return 1;
        }
        strcpy(sa.sun_path, argv[1]);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                fprintf(stderr, "notify-listen: %s: %s\n", argv[1], strerror(errno));
                return 1;
        }
        out = fopen(argv[2], "ae");
        if (!out) {
                fprintf(stderr, "notify-listen: %s: %s\n", argv[2], strerror(errno));
                return 1;
        }
        for (;;) {
                ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return 1;
                }
                buf[n] = 0;
                fprintf(out, "%s%s", buf, n > 0 && buf[n - 1] == '\n' ? "" : "\n");
                fflush(out);
        }
}
