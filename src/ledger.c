/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <limits.h>

#include "ledger.h"

/* One sorted array (addr_compare order) so that lookups are binary searches, an answer of k
 * addresses is merged in O(k log k + k log(N/k)) comparisons plus at most one memmove pass, and
 * ledger_entries() hands out the array itself. Host names are interned: entries carry a small
 * index instead of a string. A group may have thousands of hosts, so names are found by a
 * binary search over an index sorted by name, and each host keeps the list of its addresses
 * (unordered), so its count and earliest expiry cost a walk over its own addresses: an answer
 * never walks all hosts or all addresses. Names no entry refers to any more are forgotten once
 * bounded by the hosts configured (plus those a state file restores). */
struct ledger_host {
        char *name;
        struct ip_addr *addrs; /* of the entries whose host this is, in no order */
        uint32_t count, allocated; /* a ledger holds far fewer than 2^32 entries */
};

struct ledger {
        struct ledger_entry *entries;
        size_t n_entries;
        size_t n_allocated;

        struct ledger_host *hosts;
        size_t n_hosts;
        size_t n_hosts_allocated;
        uint32_t *by_name; /* n_hosts indices into hosts, sorted by name */
        size_t n_by_name_allocated;
};

int ledger_new(struct ledger **ret) {
        struct ledger *l;

        if (!ret)
                return -EINVAL;
        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        *ret = l;
        return 0;
}

struct ledger *ledger_free(struct ledger *l) {
        if (!l)
                return NULL;
        for (size_t i = 0; i < l->n_hosts; i++) {
                free(l->hosts[i].name);
                free(l->hosts[i].addrs);
        }
        free(l->hosts);
        free(l->by_name);
        free(l->entries);
        free(l);
        return NULL;
}

static usec_t usec_add(usec_t a, usec_t b) {
        return a > USEC_INFINITY - b ? USEC_INFINITY : a + b;
}

static int host_name_compare(size_t i, const void *key, const void *userdata) {
        const struct ledger *l = userdata;

        return strcmp(l->hosts[l->by_name[i]].name, key);
}

/* Position of host in by_name, or where it would be inserted; *ret_found says which. */
static size_t host_search(const struct ledger *l, const char *host, bool *ret_found) {
        return binary_search(0, l->n_hosts, host, host_name_compare, l, ret_found);
}

static bool host_lookup(const struct ledger *l, const char *host, uint32_t *ret) {
        bool found;
        size_t at = host_search(l, host, &found);

        if (found)
                *ret = l->by_name[at];
        return found;
}

/* Finds or adds host. *ret_added tells the caller it may have to take the name back with
 * host_forget_last() when a later step fails, so a failing call leaves no trace. */
static int host_intern(struct ledger *l, const char *host, uint32_t *ret, bool *ret_added) {
        char *copy;
        bool found;
        size_t at;
        int r;

        at = host_search(l, host, &found);
        if (found) {
                *ret = l->by_name[at];
                *ret_added = false;
                return 0;
        }
        if (l->n_hosts >= UINT32_MAX) /* entries keep a uint32_t index */
                return -ENOMEM;
        r = grow_array((void **) &l->hosts, &l->n_hosts_allocated, l->n_hosts + 1, sizeof(*l->hosts));
        if (r >= 0)
                r = grow_array((void **) &l->by_name, &l->n_by_name_allocated, l->n_hosts + 1, sizeof(*l->by_name));
        if (r < 0)
                return r;
        copy = strdup(host);
        if (!copy)
                return -ENOMEM;
        /* Once per host: the memmove is bounded by the number of hosts. */
        memmove(&l->by_name[at + 1], &l->by_name[at], (l->n_hosts - at) * sizeof(*l->by_name));
        l->by_name[at] = (uint32_t) l->n_hosts;
        l->hosts[l->n_hosts] = (struct ledger_host) { .name = copy };
        *ret = (uint32_t) l->n_hosts++;
        *ret_added = true;
        return 0;
}

static void host_forget_last(struct ledger *l) {
        bool found;
        size_t at = host_search(l, l->hosts[l->n_hosts - 1].name, &found);

        memmove(&l->by_name[at], &l->by_name[at + 1], (l->n_hosts - at - 1) * sizeof(*l->by_name));
        l->n_hosts--;
        free(l->hosts[l->n_hosts].name);
        free(l->hosts[l->n_hosts].addrs);
}

/* Makes room for more addresses in host's list, so that the changes after it cannot fail.
 * Most hosts have one or two addresses: the list grows by half, from exactly what is needed
 * (grow_array() would start at 8, 160 bytes a host). */
static int host_reserve(struct ledger *l, uint32_t host, size_t more) {
        struct ledger_host *h = &l->hosts[host];
        struct ip_addr *p;
        size_t need = (size_t) h->count + more, n;

        if (need <= h->allocated)
                return 0;
        if (need > UINT32_MAX)
                return -ENOMEM;
        n = MIN(MAX(need, (size_t) h->allocated + h->allocated / 2), (size_t) UINT32_MAX);
        p = realloc(h->addrs, n * sizeof(*p));
        if (!p)
                return -ENOMEM;
        h->addrs = p;
        h->allocated = (uint32_t) n;
        return 0;
}

/* Appends to host's list; host_reserve() made room. */
static void host_add_address(struct ledger *l, uint32_t host, const struct ip_addr *a) {
        struct ledger_host *h = &l->hosts[host];

        h->addrs[h->count++] = *a;
}

static void host_remove_address(struct ledger *l, uint32_t host, const struct ip_addr *a) {
        struct ledger_host *h = &l->hosts[host];

        for (size_t i = 0; i < h->count; i++)
                if (addr_compare(&h->addrs[i], a) == 0) {
                        h->addrs[i] = h->addrs[--h->count];
                        return;
                }
}

/* Moves an entry to another host (which has room for it). */
static void entry_set_host(struct ledger *l, struct ledger_entry *e, uint32_t host) {
        if (e->host == host)
                return;
        host_remove_address(l, e->host, &e->addr);
        host_add_address(l, host, &e->addr);
        e->host = host;
}

static int entry_addr_compare(size_t i, const void *key, const void *userdata) {
        const struct ledger_entry *entries = userdata;

        return addr_compare(&entries[i].addr, key);
}

/* Index of addr in entries[lo, hi), or of where it would be inserted; *ret_found says which. */
static size_t entry_search(const struct ledger_entry *entries, size_t lo, size_t hi,
                           const struct ip_addr *addr, bool *ret_found) {
        return binary_search(lo, hi, addr, entry_addr_compare, entries, ret_found);
}

/* Like entry_search(), for keys that come in ascending order: starts at from (everything before
 * is smaller) and gallops 1, 2, 4, ... entries ahead before the binary search, so k sorted keys
 * cost O(k log(N/k)) instead of O(k log N), and a whole-ledger answer becomes a linear walk. */
static size_t entry_search_from(const struct ledger_entry *entries, size_t n, size_t from,
                                const struct ip_addr *addr, bool *ret_found) {
        size_t lo = from, bound = 1;

        while (bound <= n - lo && addr_compare(&entries[lo + bound - 1].addr, addr) < 0) {
                lo += bound;
                bound *= 2;
        }
        return entry_search(entries, lo, lo + MIN(bound, n - lo), addr, ret_found);
}

/* Sorts a copy of the answer and drops duplicates; *ret_n is the number of unique addresses. */
static int sorted_unique_copy(const struct ip_addr *addrs, size_t n, struct ip_addr **ret, size_t *ret_n) {
        struct ip_addr *copy;
        size_t k = 0;

        if (n > SIZE_MAX / sizeof(struct ip_addr))
                return -ENOMEM;
        copy = malloc(n * sizeof(struct ip_addr));
        if (!copy)
                return -ENOMEM;
        memcpy(copy, addrs, n * sizeof(struct ip_addr));
        qsort(copy, n, sizeof(struct ip_addr), addr_compare_qsort);
        for (size_t i = 0; i < n; i++)
                if (k == 0 || addr_compare(&copy[k - 1], &copy[i]) != 0)
                        copy[k++] = copy[i];
        *ret = copy;
        *ret_n = k;
        return 0;
}

int ledger_record(struct ledger *l, const char *host, const struct ip_addr *addrs, size_t n,
                  usec_t now, usec_t validity, ledger_entry_cb on_added, void *userdata) {
        _cleanup_free_ struct ip_addr *unique = NULL;
        _cleanup_free_ struct ledger_entry *added = NULL;
        _cleanup_free_ size_t *position = NULL; /* per unique address: its index, or where it goes */
        _cleanup_free_ bool *found = NULL;
        usec_t expiry = usec_add(now, validity);
        size_t n_unique, n_new = 0, n_moved = 0, at = 0, end, j;
        uint32_t host_index;
        bool host_added;
        int r;

        if (!l || !host || (n > 0 && !addrs))
                return -EINVAL;
        if (n > INT_MAX) /* the return value counts added addresses; no real answer is near */
                return -ENOMEM;

        /* Everything that can fail happens before the first entry is touched: all or nothing. */
        r = host_intern(l, host, &host_index, &host_added);
        if (r < 0)
                return r;
        if (n == 0)
                return 0;

        r = sorted_unique_copy(addrs, n, &unique, &n_unique);
        if (r < 0)
                goto fail;
        /* n_unique <= n <= INT_MAX: these cannot overflow. */
        position = malloc(n_unique * sizeof(size_t));
        found = malloc(n_unique * sizeof(bool));
        if (!position || !found) {
                r = -ENOMEM;
                goto fail;
        }
        for (size_t i = 0; i < n_unique; i++) {
                at = entry_search_from(l->entries, l->n_entries, at, &unique[i], &found[i]);
                position[i] = at;
                if (!found[i])
                        n_new++;
                else if (l->entries[at].host != host_index)
                        n_moved++;
        }
        r = host_reserve(l, host_index, n_new + n_moved);
        if (r < 0)
                goto fail;
        if (n_new > 0) {
                added = malloc(n_new * sizeof(struct ledger_entry));
                if (!added) {
                        r = -ENOMEM;
                        goto fail;
                }
                r = grow_array((void **) &l->entries, &l->n_allocated, l->n_entries + n_new,
                               sizeof(struct ledger_entry));
                if (r < 0)
                        goto fail;
        }

        /* Seen again: the later expiry wins (a restored entry may outlive now + validity, e.g.
         * after validity= was shortened), and the address belongs to the host that saw it last.
         * New ones are collected with their insertion points, compacted to the front. */
        j = 0;
        for (size_t i = 0; i < n_unique; i++) {
                if (found[i]) {
                        struct ledger_entry *e = &l->entries[position[i]];
                        e->expiry = MAX(e->expiry, expiry);
                        e->last_seen = now; /* first_seen stays: allowed without a gap */
                        entry_set_host(l, e, host_index);
                        continue;
                }
                added[j] = (struct ledger_entry) {
                        .addr = unique[i],
                        .expiry = expiry,
                        .last_seen = now,
                        .first_seen = now,
                        .host = host_index,
                };
                position[j++] = position[i];
        }

        /* Merges from the back, one memmove per run of old entries between two new ones: the
         * j-th new entry (0-based) lands at its insertion point + j, and each old entry moves
         * once, by the number of new entries before it. */
        end = l->n_entries;
        for (j = n_new; j > 0; j--) {
                size_t p = position[j - 1];
                memmove(&l->entries[p + j], &l->entries[p], (end - p) * sizeof(struct ledger_entry));
                l->entries[p + j - 1] = added[j - 1];
                end = p;
        }
        l->n_entries += n_new;
        for (j = 0; j < n_new; j++)
                host_add_address(l, host_index, &added[j].addr);

        /* Called with the ledger complete and consistent; e points into added[], a copy. */
        if (on_added)
                for (j = 0; j < n_new; j++)
                        on_added(l, &added[j], userdata);

        return (int) n_new;

fail:
        if (host_added)
                host_forget_last(l);
        return r;
}

int ledger_restore(struct ledger *l, const char *host, const struct ip_addr *addr,
                   usec_t expiry, usec_t last_seen, usec_t first_seen) {
        struct ledger_entry *e;
        uint32_t host_index;
        bool host_added, found;
        size_t at;
        int r;

        if (!l || !host || !addr)
                return -EINVAL;

        r = host_intern(l, host, &host_index, &host_added);
        if (r < 0)
                return r;

        /* The state file is written in ledger_entries() order, so the common case is an append;
         * anything else costs a binary search and one memmove. */
        if (l->n_entries == 0 || addr_compare(&l->entries[l->n_entries - 1].addr, addr) < 0) {
                at = l->n_entries;
                found = false;
        } else
                at = entry_search(l->entries, 0, l->n_entries, addr, &found);

        r = host_reserve(l, host_index, 1);
        if (r < 0) {
                if (host_added)
                        host_forget_last(l);
                return r;
        }
        if (found) {
                e = &l->entries[at];
                e->first_seen = MIN(e->first_seen, first_seen);
                if (expiry > e->expiry) {
                        /* The record that carries the later expiry is the one to keep whole. */
                        e->expiry = expiry;
                        e->last_seen = last_seen;
                        entry_set_host(l, e, host_index);
                }
                return 0;
        }

        r = grow_array((void **) &l->entries, &l->n_allocated, l->n_entries + 1, sizeof(struct ledger_entry));
        if (r < 0) {
                if (host_added)
                        host_forget_last(l);
                return r;
        }
        memmove(&l->entries[at + 1], &l->entries[at], (l->n_entries - at) * sizeof(struct ledger_entry));
        l->entries[at] = (struct ledger_entry) {
                .addr = *addr,
                .expiry = expiry,
                .last_seen = last_seen,
                .first_seen = first_seen,
                .host = host_index,
        };
        l->n_entries++;
        host_add_address(l, host_index, addr);
        return 0;
}

/* Restore order: by address; of one address the record to keep first. */
static int restore_compare_address(const void *a, const void *b) {
        const struct ledger_entry *x = a, *y = b;
        int c = addr_compare(&x->addr, &y->addr);

        if (c != 0)
                return c;
        if (x->expiry != y->expiry)
                return x->expiry > y->expiry ? -1 : 1;
        if (x->last_seen != y->last_seen)
                return x->last_seen > y->last_seen ? -1 : 1;
        return x->host < y->host ? -1 : x->host > y->host;
}

/* Within one host and family, the address to keep first. */
static int restore_compare_newest(const void *a, const void *b, void *userdata) {
        const struct ledger_entry *entries = userdata;
        const struct ledger_entry *x = &entries[*(const size_t *) a], *y = &entries[*(const size_t *) b];

        if (x->host != y->host)
                return x->host < y->host ? -1 : 1;
        if (x->addr.family != y->addr.family)
                return x->addr.family < y->addr.family ? -1 : 1;
        if (x->expiry != y->expiry)
                return x->expiry > y->expiry ? -1 : 1;
        if (x->last_seen != y->last_seen)
                return x->last_seen > y->last_seen ? -1 : 1;
        return addr_compare(&x->addr, &y->addr);
}

static size_t family_slot(uint32_t host, const struct ip_addr *a) {
        return (size_t) host * 2 + (a->family == AF_INET ? 0 : 1);
}

/* Drops what is beyond max_per_family of each host and family from entries (unique, in address
 * order), keeping that order. Only hosts over the limit are sorted, so the usual file costs one
 * counting pass. */
static int restore_cap_hosts(struct ledger_entry *entries, size_t *n, size_t n_hosts, size_t max_per_family,
                             struct ledger_restore_stats *stats) {
        _cleanup_free_ size_t *count = NULL, *over = NULL, *dropped_per_host = NULL;
        _cleanup_free_ bool *drop = NULL;
        size_t n_over = 0, w = 0;

        if (*n == 0)
                return 0;
        count = calloc(n_hosts * 2, sizeof(size_t));
        if (!count)
                return -ENOMEM;
        for (size_t i = 0; i < *n; i++)
                count[family_slot(entries[i].host, &entries[i].addr)]++;
        for (size_t i = 0; i < *n; i++)
                if (count[family_slot(entries[i].host, &entries[i].addr)] > max_per_family)
                        n_over++;
        if (n_over == 0)
                return 0;

        over = malloc(n_over * sizeof(size_t));
        drop = calloc(*n, sizeof(bool));
        dropped_per_host = calloc(n_hosts, sizeof(size_t));
        if (!over || !drop || !dropped_per_host)
                return -ENOMEM;
        n_over = 0;
        for (size_t i = 0; i < *n; i++)
                if (count[family_slot(entries[i].host, &entries[i].addr)] > max_per_family)
                        over[n_over++] = i;
        qsort_r(over, n_over, sizeof(size_t), restore_compare_newest, entries);
        for (size_t i = 0, run = 0; i < n_over; i++) {
                const struct ledger_entry *e = &entries[over[i]];

                if (i > 0 && family_slot(entries[over[i - 1]].host, &entries[over[i - 1]].addr) !=
                             family_slot(e->host, &e->addr))
                        run = 0;
                if (run++ < max_per_family)
                        continue;
                drop[over[i]] = true;
                dropped_per_host[e->host]++;
                stats->over_limit++;
        }
        for (size_t h = 0; h < n_hosts; h++) {
                if (dropped_per_host[h] == 0)
                        continue;
                stats->hosts_over_limit++;
                if (dropped_per_host[h] > stats->most_over_count) {
                        stats->most_over_count = dropped_per_host[h];
                        stats->most_over = (uint32_t) h;
                }
        }
        for (size_t i = 0; i < *n; i++)
                if (!drop[i])
                        entries[w++] = entries[i];
        *n = w;
        return 0;
}

/* Takes every host back out of a ledger that has no entries (a failed bulk restore). */
static void hosts_forget_all(struct ledger *l) {
        while (l->n_hosts > 0)
                host_forget_last(l);
}

int ledger_restore_many(struct ledger *l, const char *const *hosts, size_t n_hosts,
                        struct ledger_entry *records, size_t n, size_t max_per_family,
                        struct ledger_restore_stats *ret_stats) {
        struct ledger_restore_stats stats = { 0 };
        _cleanup_free_ uint32_t *map = NULL; /* index in hosts -> the ledger's own index */
        bool interning = false;
        size_t w = 0;
        int r;

        if (!l || (n_hosts > 0 && !hosts) || (n > 0 && !records)) {
                r = -EINVAL;
                goto fail;
        }
        if (l->n_entries > 0 || l->n_hosts > 0) {
                r = -EBUSY;
                goto fail;
        }
        if (n_hosts > UINT32_MAX || n_hosts > SIZE_MAX / 2 / sizeof(size_t)) {
                r = -ENOMEM;
                goto fail;
        }
        for (size_t i = 0; i < n; i++)
                if (records[i].host >= n_hosts) {
                        r = -EINVAL;
                        goto fail;
                }

        map = malloc(MAX(n_hosts, 1u) * sizeof(*map));
        if (!map) {
                r = -ENOMEM;
                goto fail;
        }
        interning = true; /* the ledger was empty: a failure takes every host back */
        for (size_t i = 0; i < n_hosts; i++) {
                bool added;

                r = host_intern(l, hosts[i], &map[i], &added);
                if (r < 0)
                        goto fail;
        }
        for (size_t i = 0; i < n; i++)
                records[i].host = map[records[i].host];

        /* One sort by address puts each address's records together, best first. */
        if (n > 0)
                qsort(records, n, sizeof(*records), restore_compare_address);
        for (size_t i = 0; i < n; i++) {
                if (w > 0 && addr_compare(&records[w - 1].addr, &records[i].addr) == 0) {
                        /* The kept record says since when, as ledger_restore() does. */
                        records[w - 1].first_seen = MIN(records[w - 1].first_seen, records[i].first_seen);
                        stats.duplicates++;
                        continue;
                }
                records[w++] = records[i];
        }
        r = restore_cap_hosts(records, &w, l->n_hosts, max_per_family, &stats);
        if (r < 0)
                goto fail;

        /* Each host's list of its addresses, sized exactly: counted first, then filled. */
        for (size_t i = 0; i < w; i++)
                l->hosts[records[i].host].count++;
        for (size_t h = 0; h < l->n_hosts; h++) {
                size_t count = l->hosts[h].count;

                l->hosts[h].count = 0;
                r = host_reserve(l, (uint32_t) h, count);
                if (r < 0)
                        goto fail;
        }
        for (size_t i = 0; i < w; i++)
                host_add_address(l, records[i].host, &records[i].addr);

        /* A file with far more than the limits allow must not keep its size in memory. */
        if (w < n / 2) {
                struct ledger_entry *shrunk = realloc(records, MAX(w, 1u) * sizeof(*records));
                if (shrunk) {
                        records = shrunk;
                        n = MAX(w, 1u);
                }
        }
        free(l->entries);
        l->entries = records;
        l->n_entries = w;
        l->n_allocated = n;
        if (ret_stats)
                *ret_stats = stats;
        return 0;

fail:
        if (interning)
                hosts_forget_all(l);
        free(records);
        return r;
}

/* Drops the names no entry refers to any more and renumbers the rest, once they are the
 * majority: names learned from DNS replies come and go by the thousand, configured ones stay. */
static void hosts_compact(struct ledger *l) {
        _cleanup_free_ uint32_t *map = NULL;
        size_t before = l->n_hosts, w = 0;
        uint32_t kept = 0;

        if (l->n_hosts <= 64 || l->n_hosts <= 2 * l->n_entries)
                return;
        map = malloc(before * sizeof(*map));
        if (!map)
                return; /* only memory not given back yet: try again next time */
        for (size_t i = 0; i < before; i++) {
                if (l->hosts[i].count == 0) {
                        free(l->hosts[i].name);
                        free(l->hosts[i].addrs);
                        map[i] = UINT32_MAX;
                        continue;
                }
                map[i] = kept;
                l->hosts[kept++] = l->hosts[i];
        }
        l->n_hosts = kept;
        for (size_t i = 0; i < l->n_entries; i++)
                l->entries[i].host = map[l->entries[i].host];
        /* The name index keeps its order: only the forgotten names leave it. */
        for (size_t i = 0; i < before; i++)
                if (map[l->by_name[i]] != UINT32_MAX)
                        l->by_name[w++] = map[l->by_name[i]];
}

const struct ledger_entry *ledger_find(const struct ledger *l, const struct ip_addr *addr) {
        bool found;
        size_t i;

        if (!l || !addr)
                return NULL;
        i = entry_search(l->entries, 0, l->n_entries, addr, &found);
        return found ? &l->entries[i] : NULL;
}

bool ledger_remove(struct ledger *l, const struct ip_addr *addr) {
        bool found;
        size_t i;

        if (!l || !addr)
                return false;
        i = entry_search(l->entries, 0, l->n_entries, addr, &found);
        if (!found)
                return false;
        host_remove_address(l, l->entries[i].host, addr);
        memmove(&l->entries[i], &l->entries[i + 1], (l->n_entries - i - 1) * sizeof(*l->entries));
        l->n_entries--;
        hosts_compact(l);
        return true;
}

size_t ledger_expire(struct ledger *l, usec_t now, ledger_entry_cb on_expired, void *userdata) {
        size_t removed = 0, w = 0;

        if (!l)
                return 0;

        /* Two passes: every callback sees the ledger intact (the entry still in it), then one
         * compaction removes them all in O(N) whatever their number. */
        for (size_t i = 0; i < l->n_entries; i++)
                if (l->entries[i].expiry <= now) {
                        removed++;
                        if (on_expired)
                                on_expired(l, &l->entries[i], userdata);
                }
        if (removed == 0)
                return 0;

        for (size_t i = 0; i < l->n_entries; i++)
                if (l->entries[i].expiry > now) {
                        if (w != i)
                                l->entries[w] = l->entries[i];
                        w++;
                }
        l->n_entries = w;
        /* The hosts' lists again, in one pass: each only shrinks, so there is room. */
        for (size_t i = 0; i < l->n_hosts; i++)
                l->hosts[i].count = 0;
        for (size_t i = 0; i < l->n_entries; i++)
                host_add_address(l, l->entries[i].host, &l->entries[i].addr);
        hosts_compact(l);
        return removed;
}

/* O(N): for the expiry timer, start and reload, never per answer (the manager keeps its timer
 * early enough without it). */

usec_t ledger_next_expiry(const struct ledger *l) {
        usec_t next = USEC_INFINITY;

        if (!l)
                return next;
        for (size_t i = 0; i < l->n_entries; i++)
                next = MIN(next, l->entries[i].expiry);
        return next;
}

usec_t ledger_host_next_expiry(const struct ledger *l, const char *host) {
        usec_t next = USEC_INFINITY;
        uint32_t h;

        if (!l || !host || !host_lookup(l, host, &h))
                return next;
        /* O(k log N) for the host's k addresses. */
        for (size_t i = 0; i < l->hosts[h].count; i++) {
                bool found;
                size_t at = entry_search(l->entries, 0, l->n_entries, &l->hosts[h].addrs[i], &found);

                if (found)
                        next = MIN(next, l->entries[at].expiry);
        }
        return next;
}

size_t ledger_host_count(const struct ledger *l, const char *host) {
        uint32_t h;

        if (!l || !host || !host_lookup(l, host, &h))
                return 0;
        return l->hosts[h].count;
}

const struct ledger_entry *ledger_entries(const struct ledger *l, size_t *ret_n) {
        if (!l) {
                if (ret_n)
                        *ret_n = 0;
                return NULL;
        }
        if (ret_n)
                *ret_n = l->n_entries;
        return l->entries;
}

const char *ledger_host_name(const struct ledger *l, uint32_t host) {
        /* NULL only for an index that did not come from this ledger's entries. */
        if (!l || host >= l->n_hosts)
                return NULL;
        return l->hosts[host].name;
}
