/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What every benchmark needs: a check that aborts, a millisecond clock and a median. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CHECK(expr)                                                                        \
        do {                                                                               \
                if (!(expr)) {                                                             \
                        fprintf(stderr, "%s:%d: %s failed\n", __FILE__, __LINE__, #expr);  \
                        abort();                                                           \
                }                                                                          \
        } while (0)

static inline double now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static inline int double_cmp(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

/* Sorts v. */
static inline double median(double *v, size_t n) {
        qsort(v, n, sizeof(double), double_cmp);
        return v[n / 2];
}
