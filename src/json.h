/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdio.h>

#include "util.h"

/* A minimal JSON writer for --status: pretty-printed, two spaces per level, strings escaped.
 * json_begin() opens the outermost object on f, json_end() closes it and ends the line. */
struct json {
        FILE *f;
        unsigned depth;
        bool need_comma;
};

void json_begin(struct json *j, FILE *f);
void json_end(struct json *j);
/* Starts the next member (key != NULL, inside an object) or array item (key == NULL). */
void json_key(struct json *j, const char *key);
/* Starts an object ('{') or array ('['); json_close() with the matching bracket ends it. */
void json_open(struct json *j, const char *key, char bracket);
void json_close(struct json *j, char bracket);
/* value NULL writes null. */
void json_string(struct json *j, const char *key, const char *value);
void json_uint(struct json *j, const char *key, uint64_t value);
void json_bool(struct json *j, const char *key, bool value);
/* A time in usec; 0 ("never") writes null. */
void json_time(struct json *j, const char *key, usec_t value);
