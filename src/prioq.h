/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "util.h"

/* A priority queue of pointers (binary min-heap), each item knowing its own position through an
 * index the caller keeps in it (systemd's prioq): removal and reordering of a given item are
 * O(log n) without a search. */
struct prioq;

/* Orders two items: < 0 when a comes first. */
typedef int (*prioq_compare_func)(const void *a, const void *b);

/* The index of an item that is not in a queue. */
#define PRIOQ_IDX_NULL SIZE_MAX

int prioq_new(prioq_compare_func compare, struct prioq **ret);
struct prioq *prioq_free(struct prioq *q);

/* Makes room for n items, so that puts up to that size cannot fail. Returns 0 or -ENOMEM. */
int prioq_reserve(struct prioq *q, size_t n);

/* Adds data, which must not be in the queue (*idx == PRIOQ_IDX_NULL); the queue keeps *idx up
 * to date until the item leaves. Returns 0 or -ENOMEM (queue unchanged). */
int prioq_put(struct prioq *q, void *data, size_t *idx);

/* Removes the item whose index is *idx, if it is in the queue; sets *idx to PRIOQ_IDX_NULL. */
void prioq_remove(struct prioq *q, size_t *idx);

/* Puts the item at *idx back in order after its key changed. */
void prioq_reshuffle(struct prioq *q, size_t *idx);

/* The first item, or NULL when empty. */
void *prioq_peek(const struct prioq *q);

/* Removes and returns the first item, or NULL when empty. */
void *prioq_pop(struct prioq *q);

size_t prioq_size(const struct prioq *q);

/* Empties the queue (each item's index becomes PRIOQ_IDX_NULL). */
void prioq_clear(struct prioq *q);
