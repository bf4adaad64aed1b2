/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Replays inputs through a fuzz target without libFuzzer: each argument is a file, or a
 * directory whose files are all replayed (in name order). Built with any compiler, so a normal
 * build runs every corpus file (seeds and the crashes ever found) as a unit test. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* libFuzzer's default -max_len is far below this; a corpus file is small. */
#define REPLAY_MAX_SIZE (16u << 20)

static int replay_file(const char *path) {
        uint8_t *data;
        size_t size = 0;
        FILE *f;
        int r = 0;

        f = fopen(path, "re");
        if (!f) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return -errno;
        }
        data = malloc(REPLAY_MAX_SIZE + 1);
        if (!data) {
                fclose(f);
                return -ENOMEM;
        }
        size = fread(data, 1, REPLAY_MAX_SIZE + 1, f);
        if (ferror(f) || size > REPLAY_MAX_SIZE) {
                fprintf(stderr, "%s: unreadable or larger than %u bytes\n", path, REPLAY_MAX_SIZE);
                r = -EFBIG;
        } else {
                fprintf(stderr, "%s (%zu bytes)\n", path, size);
                /* A copy of exactly size bytes, so ASan sees a read past the end. */
                uint8_t *exact = malloc(size ? size : 1);
                if (!exact)
                        r = -ENOMEM;
                else {
                        memcpy(exact, data, size);
                        LLVMFuzzerTestOneInput(exact, size);
                        free(exact);
                }
        }
        free(data);
        fclose(f);
        return r;
}

static int compare_names(const struct dirent **a, const struct dirent **b) {
        return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv) {
        unsigned replayed = 0, failed = 0;

        for (int i = 1; i < argc; i++) {
                struct dirent **entries;
                struct stat st;
                int n;

                if (stat(argv[i], &st) < 0) {
                        fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
                        return 1;
                }
                if (!S_ISDIR(st.st_mode)) {
                        failed += replay_file(argv[i]) < 0;
                        replayed++;
                        continue;
                }
                n = scandir(argv[i], &entries, NULL, compare_names);
                if (n < 0) {
                        fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
                        return 1;
                }
                for (int k = 0; k < n; k++) {
                        char path[4096];

                        if (entries[k]->d_name[0] != '.') {
                                snprintf(path, sizeof(path), "%s/%s", argv[i], entries[k]->d_name);
                                if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                                        failed += replay_file(path) < 0;
                                        replayed++;
                                }
                        }
                        free(entries[k]);
                }
                free(entries);
        }
        fprintf(stderr, "%u inputs replayed, %u unreadable\n", replayed, failed);
        /* No input at all is a broken corpus path, not a pass. */
        return replayed == 0 || failed > 0;
}
