/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Runs the fuzz entry point over every file of the directories given (the seed corpus and any
 * crash reproducer added to it), each from an exactly sized heap copy so ASan sees overreads. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
        size_t files = 0;

        for (int i = 1; i < argc; i++) {
                DIR *d = opendir(argv[i]);
                struct dirent *de;

                if (!d) {
                        fprintf(stderr, "%s: %m\n", argv[i]);
                        return 1;
                }
                while ((de = readdir(d))) {
                        char path[4096], *buf;
                        FILE *f;
                        long size;

                        if (de->d_name[0] == '.')
                                continue;
                        snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
                        f = fopen(path, "rbe");
                        if (!f || fseek(f, 0, SEEK_END) < 0 || (size = ftell(f)) < 0 || size > 1 << 20) {
                                fprintf(stderr, "%s: cannot read\n", path);
                                return 1;
                        }
                        rewind(f);
                        buf = malloc((size_t) size + 1);
                        if (!buf || fread(buf, 1, (size_t) size, f) != (size_t) size) {
                                fprintf(stderr, "%s: cannot read\n", path);
                                return 1;
                        }
                        fclose(f);
                        LLVMFuzzerTestOneInput((const uint8_t *) buf, (size_t) size);
                        free(buf);
                        files++;
                }
                closedir(d);
        }
        printf("replayed %zu inputs\n", files);
        return files > 0 ? 0 : 1;
}
