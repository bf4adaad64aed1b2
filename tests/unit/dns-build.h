/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Builds DNS messages for tests: the unit test of the answer parser and the fake server of
 * tests/integration/resolver-loopback.c. Big-endian fields (RFC 1035 4.1). */
#pragma once

#include <stdint.h>
#include <string.h>

#define DNS_HEADER_SIZE 12

static inline void dns_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t) (v >> 8); p[1] = v & 0xff; }
static inline void dns_put32(uint8_t *p, uint32_t v) { dns_put16(p, (uint16_t) (v >> 16)); dns_put16(p + 2, v & 0xffff); }

/* Appends one resource record of class IN whose owner is a compression pointer to offset
 * owner; returns the offset after it. */
static inline size_t dns_put_rr(uint8_t *p, size_t off, uint16_t owner, uint16_t type, uint32_t ttl,
                                const void *rdata, uint16_t rdlen) {
        dns_put16(p + off, 0xc000 | owner);
        dns_put16(p + off + 2, type);
        dns_put16(p + off + 4, 1);
        dns_put32(p + off + 6, ttl);
        dns_put16(p + off + 10, rdlen);
        memcpy(p + off + 12, rdata, rdlen);
        return off + 12 + rdlen;
}

/* Writes the header of an answer (QR, RD, RA, NOERROR, one question, no records yet) and the
 * question "name" (dotted, no trailing dot, labels under 64 bytes) of type, class IN; returns
 * the offset after the question. The name starts at offset DNS_HEADER_SIZE. */
static inline size_t dns_put_question(uint8_t *p, const char *name, uint16_t type) {
        size_t off = DNS_HEADER_SIZE;

        memset(p, 0, DNS_HEADER_SIZE);
        dns_put16(p, 0x1234);
        p[2] = 0x81;
        p[3] = 0x80;
        dns_put16(p + 4, 1);
        while (*name) {
                size_t l = strcspn(name, ".");
                p[off++] = (uint8_t) l;
                memcpy(p + off, name, l);
                off += l;
                name += l;
                if (*name == '.')
                        name++;
        }
        p[off++] = 0;
        dns_put16(p + off, type);
        dns_put16(p + off + 2, 1);
        return off + 4;
}
