/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "addr.h"
/* STUB */
int addr_parse(const char *s, struct ip_addr *ret) { return -ENOSYS; }
struct ip_addr addr_make(int family, const void *bytes) { struct ip_addr a = {0}; return a; }
const char *addr_to_string(const struct ip_addr *a, char *buf) { buf[0] = 0; return buf; }
int addr_compare(const struct ip_addr *a, const struct ip_addr *b) { return 0; }
int addr_compare_qsort(const void *a, const void *b) { return 0; }
bool addr_in_prefix(const struct ip_addr *a, const struct ip_addr *p) { return false; }
enum addr_class addr_classify(const struct ip_addr *a) { return ADDR_RESERVED; }
const char *addr_class_reason(const struct ip_addr *a) { return "stub"; }
