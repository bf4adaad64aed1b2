/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "json.h"

static void json_string_raw(FILE *f, const char *s) {
        fputc('"', f);
        for (; *s; s++) {
                unsigned char ch = (unsigned char) *s;

                if (ch == '"' || ch == '\\')
                        fprintf(f, "\\%c", ch);
                else if (ch == '\n')
                        fputs("\\n", f);
                else if (ch == '\t')
                        fputs("\\t", f);
                else if (ch < 0x20 || ch == 0x7f)
                        fprintf(f, "\\u%04x", ch);
                else if (ch >= 0x80)
                        /* Everything we print was validated as ASCII; should anything else
                         * slip through, the output must still be valid JSON. */
                        fputs("\\ufffd", f);
                else
                        fputc(ch, f);
        }
        fputc('"', f);
}

void json_begin(struct json *j, FILE *f) {
        *j = (struct json) { .f = f, .depth = 1 };
        fputc('{', f);
}

void json_end(struct json *j) {
        json_close(j, '}');
        fputc('\n', j->f);
}

void json_key(struct json *j, const char *key) {
        fprintf(j->f, "%s\n%*s", j->need_comma ? "," : "", (int) (2 * j->depth), "");
        if (key) {
                json_string_raw(j->f, key);
                fputs(": ", j->f);
        }
        j->need_comma = true;
}

void json_open(struct json *j, const char *key, char bracket) {
        json_key(j, key);
        fputc(bracket, j->f);
        j->depth++;
        j->need_comma = false;
}

void json_close(struct json *j, char bracket) {
        j->depth--;
        if (j->need_comma)
                fprintf(j->f, "\n%*s", (int) (2 * j->depth), "");
        fputc(bracket, j->f);
        j->need_comma = true;
}

void json_string(struct json *j, const char *key, const char *value) {
        json_key(j, key);
        if (value)
                json_string_raw(j->f, value);
        else
                fputs("null", j->f);
}

void json_uint(struct json *j, const char *key, uint64_t value) {
        json_key(j, key);
        fprintf(j->f, "%llu", (unsigned long long) value);
}

void json_bool(struct json *j, const char *key, bool value) {
        json_key(j, key);
        fputs(value ? "true" : "false", j->f);
}

void json_time(struct json *j, const char *key, usec_t value) {
        if (value == 0) {
                json_key(j, key);
                fputs("null", j->f);
        } else
                json_uint(j, key, value);
}
