/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The snooping parser: any bytes as a packet the kernel queued (IP header first). */
#include <stdlib.h>

#include "fuzz.h"
#include "snoop-dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static struct snoop_dns_reply r;

        fuzz_quiet();
        if (snoop_dns_parse(data, size, &r) == 0) {
                /* What a success promises: a host name, and addresses only of its type. */
                if (strlen(r.name) == 0 || strlen(r.name) > HOST_NAME_MAX_LEN || r.n_addrs > SNOOP_DNS_ADDRS_MAX ||
                    (r.truncated && r.n_addrs > 0))
                        abort();
                for (size_t i = 0; i < r.n_addrs; i++)
                        if (r.addrs[i].family != (r.qtype == 1 ? AF_INET : AF_INET6))
                                abort();
        }
        return 0;
}
