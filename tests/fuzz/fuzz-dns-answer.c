/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The resolver's answer path: any bytes as the DNS answer to an A and to an AAAA query. */
#include <stdlib.h>

#include "fuzz.h"
#include "resolver.h"

static void check(const uint8_t *data, size_t size, int family) {
        static struct resolver_answer answer;
        int r;

        r = resolver_parse_answer(data, size, family, &answer);
        if (r < 0)
                return;
        if (answer.family != family || answer.n_addrs > RESOLVER_MAX_ADDRS ||
            (answer.n_addrs == 0 && answer.min_ttl != USEC_INFINITY))
                abort();
        for (size_t i = 0; i < answer.n_addrs; i++)
                if (answer.addrs[i].family != family)
                        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        fuzz_quiet();
        check(data, size, AF_INET);
        check(data, size, AF_INET6);
        return 0;
}
