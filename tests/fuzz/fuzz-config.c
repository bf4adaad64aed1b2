/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The configuration parser: any bytes as the configuration file (config_load() reads it the
 * way it reads /etc/allowlistd/allowlistd.conf: NUL bytes, long lines and all). */
#include "config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct config *c = NULL;
        const char *path;

        fuzz_quiet();
        path = fuzz_file(data, size);
        if (!path)
                abort();
        if (config_load(path, &c) < 0)
                return 0;
        /* What the daemon and --check-config do next with a loaded configuration. */
        (void) config_check_runnable(c);
        config_print_summary(c, fuzz_devnull());
        for (size_t i = 0; i < c->n_groups; i++)
                if (config_find_group(c, c->groups[i].name) != &c->groups[i] ||
                    !group_equal(&c->groups[i], &c->groups[i]))
                        abort();
        config_free(c);
        return 0;
}
