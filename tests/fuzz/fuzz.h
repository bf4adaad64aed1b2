/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What every fuzz target shares. A target is one fuzz-NAME.c that defines
 * LLVMFuzzerTestOneInput(); libFuzzer calls it in the fuzz build, and fuzz-replay.c's main()
 * calls it with every file of corpus/NAME/ in the normal build (a unit test). */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Runs one input; returns 0. Aborts (or a sanitizer reports) on a defect. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Silences the log: error messages are expected for most inputs and only cost time. */
void fuzz_quiet(void);

/* Puts data into an in-memory file and returns a path that opens it ("/proc/self/fd/N"), for
 * the entry points that take a path; the same file is reused by every call. NULL on failure. */
const char *fuzz_file(const uint8_t *data, size_t size);

/* An open /dev/null for output that is produced only to be thrown away. */
FILE *fuzz_devnull(void);
