/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Tiny assertions for the unit tests: print where and what, then abort. */
#pragma once

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ASSERT_TRUE(expr)                                                                  \
        do {                                                                               \
                if (!(expr)) {                                                             \
                        fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #expr); \
                        abort();                                                           \
                }                                                                          \
        } while (0)

#define ASSERT_EQ(expected, actual)                                                        \
        do {                                                                               \
                intmax_t _e = (intmax_t) (expected), _a = (intmax_t) (actual);             \
                if (_e != _a) {                                                            \
                        fprintf(stderr, "%s:%d: %s: expected %jd, got %jd\n", __FILE__, __LINE__, #actual, _e, _a); \
                        abort();                                                           \
                }                                                                          \
        } while (0)

#define ASSERT_UEQ(expected, actual)                                                       \
        do {                                                                               \
                uintmax_t _e = (uintmax_t) (expected), _a = (uintmax_t) (actual);          \
                if (_e != _a) {                                                            \
                        fprintf(stderr, "%s:%d: %s: expected %ju, got %ju\n", __FILE__, __LINE__, #actual, _e, _a); \
                        abort();                                                           \
                }                                                                          \
        } while (0)

#define ASSERT_STREQ(expected, actual)                                                     \
        do {                                                                               \
                const char *_e = (expected), *_a = (actual);                               \
                if (!_a || strcmp(_e, _a) != 0) {                                          \
                        fprintf(stderr, "%s:%d: %s: expected \"%s\", got \"%s\"\n", __FILE__, __LINE__, #actual, _e, _a ? _a : "(null)"); \
                        abort();                                                           \
                }                                                                          \
        } while (0)
