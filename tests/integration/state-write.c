/* SPDX-License-Identifier: GPL-2.0-or-later */
/* state-write PATH: writes a state file at PATH through the daemon's own writer, from lines
 * "GROUP HOST ADDRESS EXPIRY LAST_SEEN" on stdin (times in CLOCK_REALTIME usec; each address
 * allowed since its LAST_SEEN), so tests can
 * build large files with a correct checksum in a second. EXPIRY may be "+SECONDS" (from now).
 * Exits 0, or 1 with the reason. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "state.h"

static int parse_time(const char *s, usec_t now, usec_t *ret) {
        char *end;
        unsigned long long v;

        errno = 0;
        v = strtoull(s + (s[0] == '+'), &end, 10);
        if (errno != 0 || *end || end == s)
                return -EINVAL;
        *ret = s[0] == '+' ? now + v * USEC_PER_SEC : v;
        return 0;
}

int main(int argc, char **argv) {
        _cleanup_(state_writer_freep) struct state_writer *w = NULL;
        usec_t now = now_usec(CLOCK_REALTIME);
        char group[64], host[300], address[64], expiry[32], last_seen[32];
        unsigned long line = 0;
        int r;

        if (argc != 2) {
                fprintf(stderr, "usage: %s PATH < records\n", argv[0]);
                return 1;
        }
        r = state_writer_new(argv[1], now, &w);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", argv[1], strerror(-r));
                return 1;
        }
        while ((r = scanf("%63s %299s %63s %31s %31s", group, host, address, expiry, last_seen)) == 5) {
                struct ip_addr a;
                usec_t e, l;

                line++;
                if (addr_parse(address, &a) < 0 || parse_time(expiry, now, &e) < 0 ||
                    parse_time(last_seen, now, &l) < 0) {
                        fprintf(stderr, "stdin:%lu: bad record\n", line);
                        return 1;
                }
                r = state_writer_address(w, group, host, &a, e, l, l);
                if (r < 0) {
                        fprintf(stderr, "stdin:%lu: %s\n", line, strerror(-r));
                        return 1;
                }
        }
        if (r != EOF) {
                fprintf(stderr, "stdin:%lu: bad record\n", line + 1);
                return 1;
        }
        r = state_writer_commit(w);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", argv[1], strerror(-r));
                return 1;
        }
        return 0;
}
