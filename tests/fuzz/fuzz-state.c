/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The state file loader: any bytes as the state file, then --status's renderings of what was
 * loaded. */
#include "fuzz.h"
#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct state *s = NULL;
        const char *path;
        int r;

        fuzz_quiet();
        path = fuzz_file(data, size);
        if (!path)
                abort();
        r = state_load(path, &s);
        if (r < 0) {
                if (s)
                        abort(); /* never a half-loaded state */
                return 0;
        }
        /* A fixed "now", so a replay does the same every time. */
        state_print_table(s, NULL, 1700000000ULL * 1000000ULL, fuzz_devnull());
        state_print_json(s, NULL, 1700000000ULL * 1000000ULL, fuzz_devnull());
        state_free(s);
        return 0;
}
