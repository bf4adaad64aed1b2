/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What one transaction sends and what the daemon lets go of (nft_remove()), decided from what
 * the last successful apply left in the kernel; the bookkeeping after the kernel's replies.
 * The messages are built in nft-batch.c, nft-set.c and nft-chain.c; nft-monitor.c is told what
 * to watch. */
#include "nft-internal.h"
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

/* What one set of the ruleset needs in this apply. */
struct wanted_set {
        const struct nft_group *g;
        int af;
        char name[NFT_SET_NAME_MAX + 1];
        bool interval;  /* elements go as ranges: the kernel set has (or gets) flags interval */
        bool created;   /* made by the daemon (this run or an earlier one: it carries our mark) */
        bool recreate;  /* ours, but with the wrong flags: delete and create in this batch */
        char differs[180]; /* what is wrong with it, for an error when it cannot be deleted (room
                            * left in nft_error.hint for saying so) */
        bool changed;
        bool creating;  /* not in the kernel before this batch (or recreated) */
        uint32_t size;  /* the kernel set's size limit after this batch, 0: none */
        uint64_t fingerprint;
        uint8_t *applied; /* changed: its elements once the batch is in (nft_applied records) */
        size_t n_applied;
        struct nft_element *elements; /* the first changed set: its content as listed for the
                                       * fingerprint, kept for the batch (NULL: listed again) */
        size_t n_elements;
};

/* The listed content of the first changed set is kept from its fingerprint to the batch, when
 * it has at most this many elements: a delta to one set (a snooped answer, a refreshed name) is
 * not listed twice, while the batch still lists the other sets one at a time, and the lists
 * that exist at once are at most this one and the set being listed. */
#define NFT_KEEP_ELEMENTS_MAX 65536U

/* A set created with this many elements or more gets a size hint: below, the kernel's
 * growing hash costs nothing worth a limit. */
#define NFT_SIZE_HINT_MIN 4096U

static void wanted_free(struct wanted_set *w, size_t n) {
        for (size_t i = 0; w && i < n; i++) {
                free(w[i].applied);
                free(w[i].elements);
        }
        free(w);
}

static void tracked_forget_content(struct nft_tracked_set *t) {
        free(t->applied);
        t->applied = NULL;
        t->n_applied = 0;
        t->fingerprint = 0;
}

static uint64_t hash_u64(uint64_t h, uint64_t v) {
        h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
        return h * 0xff51afd7ed558ccdULL;
}

static uint64_t hash_str(uint64_t h, const char *s) {
        uint64_t v = 0xcbf29ce484222325ULL;

        for (; s && *s; s++)
                v = (v ^ (unsigned char) *s) * 0x100000001b3ULL;
        return hash_u64(h, v);
}

/* Content of a set including every expiry: a refreshed timeout is a change worth sending. */
static uint64_t set_fingerprint(const struct wanted_set *w, const struct nft_element *e, size_t n) {
        uint64_t h = hash_u64(0, (uint64_t) w->af << 1 | w->interval);

        h = hash_str(h, w->g->comment);
        for (size_t i = 0; i < n; i++) {
                uint64_t a, c;
                memcpy(&a, e[i].addr.u.bytes, 8);
                memcpy(&c, e[i].addr.u.bytes + 8, 8);
                h = hash_u64(h, (uint64_t) e[i].addr.family << 8 | e[i].addr.prefixlen);
                h = hash_u64(h, a);
                h = hash_u64(h, c);
                h = hash_u64(h, e[i].expiry);
        }
        return hash_u64(h, n);
}

static uint64_t chain_fingerprint(const struct nft_ruleset *want) {
        uint64_t h = hash_str(0, want->chain);

        for (size_t i = 0; i < want->n_groups; i++) {
                const struct nft_group *g = &want->groups[i];
                h = hash_str(h, g->name);
                h = hash_u64(h, (uint64_t) nft_group_wants(want, g, AF_INET) << 1 | nft_group_wants(want, g, AF_INET6));
                for (size_t j = 0; j < g->n_allow; j++)
                        h = hash_u64(h, (uint64_t) g->allow[j].proto << 32 | (uint64_t) g->allow[j].first << 16 |
                                                g->allow[j].last);
        }
        return h;
}

static struct nft_tracked_set *tracked_find(struct nft *n, const char *name) {
        for (size_t i = 0; i < n->n_sets; i++)
                if (streq(n->sets[i].name, name))
                        return &n->sets[i];
        return NULL;
}

static const struct wanted_set *wanted_find(const struct wanted_set *w, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (streq(w[i].name, name))
                        return &w[i];
        return NULL;
}

/* Tells the monitor what is ours now. */
void nft_watch_update(struct nft *n) {
        _cleanup_free_ const char **names = NULL;

        if (!n->monitor)
                return;
        names = calloc(MAX(n->n_sets, (size_t) 1), sizeof(*names));
        for (size_t i = 0; names && i < n->n_sets; i++)
                names[i] = n->sets[i].name;
        /* Out of memory, the monitor watches every set of the table: nothing to add here. */
        (void) nft_monitor_watch(n->monitor, n->family, n->table, n->chain, names, names ? n->n_sets : 0);
}

/* After our commits: back in the event group first, then the generation, so that a foreign
 * commit is either seen as events or counted in the generation's steps. */
static void monitor_resume(struct nft *n, unsigned commits) {
        uint32_t gen = 0;
        int r;

        if (!n->monitor)
                return;
        nft_monitor_rejoin(n->monitor);
        r = nft_get_generation(n, &gen);
        nft_monitor_account(n->monitor, commits, r, gen);
        nft_watch_update(n);
}

/* Forgets what we believed about the kernel (other table, or an unknown outcome). */
static void nft_forget(struct nft *n, bool keep_identity) {
        for (size_t i = 0; i < n->n_sets; i++)
                tracked_forget_content(&n->sets[i]);
        if (!keep_identity) {
                n->n_sets = 0;
                n->table_created = false;
                free(n->table);
                free(n->chain);
                n->table = n->chain = NULL;
                n->family = 0;
        }
        n->chain_known = false;
        n->probed = false;
}

static bool identity_matches(const struct nft *n, const struct nft_ruleset *want) {
        return n->table && n->family == want->family && streq(n->table, want->table) &&
               streq_ptr(n->chain, want->chain);
}

static int ruleset_validate(const struct nft_ruleset *want, struct nft_error *err) {
        const char *problem = NULL;

        if (want->family != NFPROTO_INET && want->family != NFPROTO_IPV4 && want->family != NFPROTO_IPV6)
                problem = "unsupported table family";
        else if (isempty(want->table) || strlen(want->table) >= NFT_TABLE_MAXNAMELEN)
                problem = "invalid table name";
        else if (want->chain && (!*want->chain || strlen(want->chain) >= NFT_CHAIN_MAXNAMELEN))
                problem = "invalid chain name";
        for (size_t i = 0; !problem && i < want->n_groups; i++)
                if (isempty(want->groups[i].name) || strlen(want->groups[i].name) > GROUP_NAME_MAX)
                        problem = "invalid group name";
        if (!problem)
                return 0;
        if (err) {
                snprintf(err->object, sizeof(err->object), "table %s %s", nft_family_to_string(want->family),
                         want->table ? want->table : "");
                snprintf(err->hint, sizeof(err->hint), "%s", problem);
        }
        return -EINVAL;
}

static int wanted_build(const struct nft_ruleset *want, struct wanted_set **ret, size_t *ret_n,
                        struct nft_error *err) {
        _cleanup_free_ struct wanted_set *w = calloc(MAX(want->n_groups * 2, (size_t) 1), sizeof(*w));
        size_t n = 0;

        if (!w)
                return -ENOMEM;
        for (size_t i = 0; i < want->n_groups; i++)
                for (int k = 0; k < 2; k++) {
                        int af = k == 0 ? AF_INET : AF_INET6;
                        if (!nft_group_wants(want, &want->groups[i], af))
                                continue;
                        w[n] = (struct wanted_set) { .g = &want->groups[i], .af = af, .interval = want->groups[i].interval };
                        snprintf(w[n].name, sizeof(w[n].name), "%s_%s", want->groups[i].name, k == 0 ? "v4" : "v6");
                        if (wanted_find(w, n, w[n].name)) {
                                if (err) {
                                        snprintf(err->object, sizeof(err->object), "set %s %s %s",
                                                 nft_family_to_string(want->family), want->table, w[n].name);
                                        snprintf(err->hint, sizeof(err->hint), "two groups of the same name");
                                }
                                return -EINVAL;
                        }
                        n++;
                }
        *ret = TAKE_PTR(w);
        *ret_n = n;
        return 0;
}

static int tracking_update(struct nft *n, const struct nft_ruleset *want, struct wanted_set *w, size_t n_w,
                           uint64_t chain_fp) {
        _cleanup_free_ struct nft_tracked_set *sets = calloc(MAX(n_w, (size_t) 1), sizeof(*sets));
        char *table = NULL, *chain = NULL;

        if (!sets)
                return -ENOMEM;
        if (!identity_matches(n, want)) {
                table = strdup(want->table);
                chain = want->chain ? strdup(want->chain) : NULL;
                if (!table || (want->chain && !chain)) {
                        free(table);
                        free(chain);
                        return -ENOMEM;
                }
                free(n->table);
                free(n->chain);
                n->table = table;
                n->chain = chain;
                n->family = want->family;
        }
        for (size_t i = 0; i < n_w; i++) {
                strcpy(sets[i].name, w[i].name);
                sets[i].fingerprint = w[i].fingerprint;
                sets[i].created = w[i].created;
                sets[i].interval = w[i].interval;
                sets[i].size = w[i].size;
                /* The content is what this batch sent, or, unchanged, what the kernel had. */
                if (w[i].changed) {
                        sets[i].applied = TAKE_PTR(w[i].applied);
                        sets[i].n_applied = w[i].n_applied;
                } else {
                        struct nft_tracked_set *t = tracked_find(n, w[i].name);
                        if (t) {
                                sets[i].applied = TAKE_PTR(t->applied);
                                sets[i].n_applied = t->n_applied;
                        }
                }
        }
        for (size_t i = 0; i < n->n_sets; i++)
                free(n->sets[i].applied);
        free(n->sets);
        n->sets = TAKE_PTR(sets);
        n->n_sets = n->allocated_sets = n_w;
        n->chain_fingerprint = chain_fp;
        n->chain_known = true;
        n->probed = true;
        return 0;
}

/* A set of ours with the wrong flags (say, made before a static prefix came in) cannot be
 * recreated while someone else's rule uses it: say what is wrong with it, not only that it is
 * busy, since that is what the operator has to fix. */
static void explain_busy_recreate(const struct nft_ruleset *want, const struct wanted_set *w, size_t n_w,
                                  struct nft_error *err) {
        for (size_t i = 0; i < n_w; i++) {
                char object[sizeof(err->object)];

                if (!w[i].recreate)
                        continue;
                snprintf(object, sizeof(object), "set %s %s %s", nft_family_to_string(want->family), want->table,
                         w[i].name);
                if (streq(object, err->object)) {
                        snprintf(err->hint, sizeof(err->hint), "%s; it cannot be recreated while a rule outside "
                                 "the daemon's chain uses it", w[i].differs);
                        return;
                }
        }
}

/* A transaction of its own for one object the daemon lets go of (set NULL: the chain), so that
 * a reference someone else holds fails only this object. The chain goes with its rules: the
 * kernel refuses to delete a chain that still has any. */
static int send_single(struct nft *n, int family, const char *table, const char *chain, enum nft_op op,
                       const char *set, struct nft_error *err) {
        struct nft_batch b;
        int r;

        r = nft_batch_init(&b, n, family, table, chain);
        if (r >= 0)
                switch (op) {
                case NFT_OP_DEL_CHAIN:
                        r = nft_batch_chain(&b, NFT_OP_FLUSH_CHAIN);
                        if (r >= 0)
                                r = nft_batch_chain(&b, NFT_OP_DEL_CHAIN);
                        break;
                case NFT_OP_FLUSH_CHAIN:
                case NFT_OP_DEL_TABLE:
                        r = op == NFT_OP_DEL_TABLE ? nft_batch_table(&b, op) : nft_batch_chain(&b, op);
                        break;
                case NFT_OP_DEL_SET:
                case NFT_OP_FLUSH_SET:
                        r = nft_batch_set(&b, op, set, AF_UNSPEC, false, NULL, 0, 0);
                        break;
                case NFT_OP_BEGIN:
                case NFT_OP_END:
                case NFT_OP_NEW_TABLE:
                case NFT_OP_NEW_CHAIN:
                case NFT_OP_NEW_RULE:
                case NFT_OP_NEW_SET:
                case NFT_OP_ADD_ELEMENTS:
                case NFT_OP_DEL_ELEMENTS:
                case NFT_OP_NEW_PORT_SET:
                        r = -EINVAL;
                        break;
                }
        if (r >= 0)
                r = nft_batch_finish(&b);
        if (r >= 0)
                r = nft_batch_send(&b, err);
        else if (err) {
                struct nft_msg m = { .op = op };
                snprintf(m.name, sizeof(m.name), "%s", set ? set : "");
                nft_error_set(err, &b, &m, r, "building the batch");
        }
        nft_batch_done(&b);
        return r;
}

/* Deletes a set (or, set NULL, the chain) the daemon no longer wants. When a rule of someone
 * else still refers to it (EBUSY: an operator's `ip daddr @NAME_v4` or `jump allowlistd`), it
 * is flushed instead, so it allows nothing, and reported once; it is then no longer ours and
 * never retried. Returns 0 when the object is gone or flushed, else the kernel's error with err
 * filled. commits counts our transactions, for the monitor. */
static int release_object(struct nft *n, int family, const char *table, const char *chain, const char *set,
                          unsigned *commits, struct nft_error *err) {
        struct nft_error busy;
        int r;

        r = send_single(n, family, table, chain, set ? NFT_OP_DEL_SET : NFT_OP_DEL_CHAIN, set, err);
        if (r >= 0)
                (*commits)++;
        if (r >= 0 || r == -ENOENT) /* gone already: nothing to do */
                return 0;
        if (r != -EBUSY)
                return r;

        r = send_single(n, family, table, chain, set ? NFT_OP_FLUSH_SET : NFT_OP_FLUSH_CHAIN, set, err);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        (*commits)++;
        if (set)
                snprintf(busy.object, sizeof(busy.object), "set %s %s %s", nft_family_to_string(family), table, set);
        else
                snprintf(busy.object, sizeof(busy.object), "chain %s %s %s", nft_family_to_string(family), table,
                         chain);
        snprintf(busy.hint, sizeof(busy.hint), "%s, so it was flushed instead of deleted and allows nothing now; "
                 "the daemon no longer manages it", set ? "a rule outside the daemon's chain still uses it" :
                                                          "a rule outside it still jumps to it");
        if (n->on_leftover)
                n->on_leftover(n, -EBUSY, &busy, n->leftover_userdata);
        return 0;
}

/* After a batch of unknown outcome: the sets it would have created are remembered as
 * possibly there (with no content known), so that they are deleted when no longer wanted. */
static int tracking_add_possible(struct nft *n, const struct wanted_set *w, size_t n_w) {
        for (size_t i = 0; i < n_w; i++) {
                if (!w[i].created || tracked_find(n, w[i].name))
                        continue;
                if (grow_array((void **) &n->sets, &n->allocated_sets, n->n_sets + 1, sizeof(*n->sets)) < 0)
                        return -ENOMEM;
                n->sets[n->n_sets] = (struct nft_tracked_set) { .created = true, .interval = w[i].interval };
                strcpy(n->sets[n->n_sets++].name, w[i].name);
        }
        return 0;
}

int nft_read_own_sets(struct nft *n, int family, const char *table, char (**ret)[NFT_SET_NAME_LEN], size_t *ret_n) {
        struct nft_probe_result p = { .r = 0 };
        char (*names)[NFT_SET_NAME_LEN];
        size_t k = 0;
        int r;

        if (n->async)
                return -EBUSY;
        r = nft_probe(n, family, table, &p);
        if (r < 0) {
                free(p.sets);
                return r;
        }
        names = calloc(MAX(p.n_sets, (size_t) 1), sizeof(*names));
        if (!names) {
                free(p.sets);
                return -ENOMEM;
        }
        for (size_t i = 0; i < p.n_sets; i++)
                if (p.sets[i].ours)
                        strcpy(names[k++], p.sets[i].name);
        free(p.sets);
        *ret = names;
        *ret_n = k;
        return 0;
}

/* One transaction of nft_apply(), from the decision to the bookkeeping after its replies. */
struct nft_plan {
        struct nft *n;
        struct nft_ruleset identity; /* family, table and chain of the ruleset (copies) */
        struct wanted_set *w;
        size_t n_w;
        struct nft_batch b;
        char (*vanished)[NFT_SET_NAME_MAX + 1];
        size_t n_vanished;
        bool table_created;
        bool delta;     /* some set goes as a difference */
        bool done;      /* nft_plan_done() ran: the monitor is back */
        uint64_t chain_fp;
        struct nft_stats stats;
};

struct nft_plan *nft_plan_free(struct nft_plan *pl) {
        if (!pl)
                return NULL;
        if (!pl->done) {
                /* Given up before the replies were in: whether it committed is unknown. */
                nft_forget(pl->n, true);
                monitor_resume(pl->n, 1);
        }
        nft_batch_done(&pl->b);
        wanted_free(pl->w, pl->n_w);
        free(pl->vanished);
        free((char *) pl->identity.table);
        free((char *) pl->identity.chain);
        free(pl);
        return NULL;
}

struct nft_batch *nft_plan_batch(struct nft_plan *pl) {
        return &pl->b;
}

bool nft_plan_has_delta(const struct nft_plan *pl) {
        return pl->delta;
}

int nft_plan_new(struct nft *n, const struct nft_ruleset *want, usec_t now, bool force, struct nft_error *err,
                 struct nft_plan **ret) {
        _cleanup_(nft_plan_freep) struct nft_plan *pl = NULL;
        struct wanted_set *w = NULL;
        struct nft_probe_result p = { .r = 0 };
        bool need_probe, chain_changed, any = force;
        size_t n_w = 0;
        bool kept = false;
        int r;

        if (err)
                memset(err, 0, sizeof(*err));
        r = ruleset_validate(want, err);
        if (r < 0)
                return r;
        pl = calloc(1, sizeof(*pl));
        if (!pl)
                return -ENOMEM;
        pl->n = n;
        pl->done = true; /* nothing to undo until the monitor is paused */
        pl->identity = (struct nft_ruleset) {
                .family = want->family,
                .table = strdup(want->table),
                .chain = want->chain ? strdup(want->chain) : NULL,
        };
        if (!pl->identity.table || (want->chain && !pl->identity.chain))
                return -ENOMEM;
        r = wanted_build(want, &pl->w, &pl->n_w, err);
        if (r < 0)
                return r;
        w = pl->w;
        n_w = pl->n_w;
        if (!identity_matches(n, want))
                nft_forget(n, false);
        pl->table_created = n->table_created;

        need_probe = force || !n->probed;
        for (size_t i = 0; i < n_w && !need_probe; i++) {
                const struct nft_tracked_set *t = tracked_find(n, w[i].name);
                need_probe = !t || (w[i].interval && !t->interval);
        }
        if (need_probe) {
                r = nft_probe(n, want->family, want->table, &p);
                if (r < 0) {
                        struct nft_batch eb = { .family = want->family, .table = want->table };
                        struct nft_msg m = { .op = NFT_OP_NEW_TABLE };
                        nft_error_set(err, &eb, &m, r, "reading the table's sets");
                        goto finish;
                }
                if (!p.table_exists)
                        pl->table_created = true;
        }

        for (size_t i = 0; i < n_w; i++) {
                const struct nft_tracked_set *t = tracked_find(n, w[i].name);

                if (need_probe) {
                        const struct nft_kernel_set *ks = nft_probe_find(&p, w[i].name);
                        if (!ks)
                                w[i].created = true;
                        else {
                                char hint[sizeof(w[i].differs)];
                                /* Ours only with our mark: a set an earlier run made is ours as
                                 * much as one of this run, while one that `nft -f` redeclared
                                 * (even from a saved copy of ours) is the operator's. */
                                w[i].created = ks->ours;
                                if (nft_kernel_set_check(ks, w[i].af, w[i].g->interval, hint, sizeof(hint)) < 0) {
                                        if (!w[i].created) {
                                                if (err) {
                                                        snprintf(err->object, sizeof(err->object), "set %s %s %s",
                                                                 nft_family_to_string(want->family), want->table,
                                                                 w[i].name);
                                                        snprintf(err->hint, sizeof(err->hint), "%s", hint);
                                                }
                                                r = -EEXIST;
                                                goto finish;
                                        }
                                        w[i].recreate = true;
                                        snprintf(w[i].differs, sizeof(w[i].differs), "%s", hint);
                                } else
                                        /* An operator's interval set takes single addresses as ranges. */
                                        w[i].interval = w[i].interval || (ks->flags & NFT_SET_INTERVAL);
                        }
                } else {
                        w[i].created = t->created;
                        w[i].interval = w[i].interval || t->interval;
                }
                {
                        size_t count = w[i].af == AF_INET ? w[i].g->n_v4 : w[i].g->n_v6;
                        const struct nft_kernel_set *ks = need_probe ? nft_probe_find(&p, w[i].name) : NULL;

                        w[i].creating = need_probe ? !ks : false;
                        w[i].size = need_probe ? (ks ? ks->size : 0) : t->size;
                        /* A set of ours made with a size hint is limited to it: when the
                         * content outgrows it, it is made again, bigger (as for other flags). */
                        if (w[i].created && !w[i].creating && !w[i].recreate && w[i].size > 0 && count > w[i].size) {
                                w[i].recreate = true;
                                snprintf(w[i].differs, sizeof(w[i].differs), "exists with room for %" PRIu32
                                         " elements, needs %zu", w[i].size, count);
                        }
                        w[i].creating = w[i].creating || w[i].recreate;
                        if (w[i].creating)
                                w[i].size = count >= NFT_SIZE_HINT_MIN ?
                                        (uint32_t) MIN(count + count / 4, (size_t) UINT32_MAX) : 0;
                }
                {
                        _cleanup_free_ struct nft_element *owned = NULL;
                        const struct nft_element *e;
                        size_t k;

                        r = nft_group_elements(w[i].g, w[i].af, &e, &k, &owned);
                        if (r < 0) {
                                if (err) {
                                        snprintf(err->object, sizeof(err->object), "set %s %s %s",
                                                 nft_family_to_string(want->family), want->table, w[i].name);
                                        snprintf(err->hint, sizeof(err->hint), "listing its elements");
                                }
                                goto finish;
                        }
                        w[i].fingerprint = set_fingerprint(&w[i], e, k);
                        /* A set we believed filled but that a probe did not find was deleted
                         * behind our back: it needs its content again. */
                        w[i].changed = force || w[i].recreate || !t || t->fingerprint != w[i].fingerprint ||
                                       (need_probe && !nft_probe_find(&p, w[i].name));
                        if (w[i].changed && owned && !kept && k <= NFT_KEEP_ELEMENTS_MAX) {
                                w[i].elements = TAKE_PTR(owned);
                                w[i].n_elements = k;
                                kept = true;
                        }
                }
                any = any || w[i].changed;
        }

        pl->chain_fp = chain_fingerprint(want);
        chain_changed = want->chain && (force || !n->chain_known || n->chain_fingerprint != pl->chain_fp);
        for (size_t i = 0; i < n_w; i++)
                chain_changed = chain_changed || (want->chain && w[i].recreate);
        for (size_t i = 0; i < n->n_sets; i++)
                if (!wanted_find(w, n_w, n->sets[i].name))
                        chain_changed = chain_changed || want->chain, any = true;
        any = any || chain_changed;
        if (!any) {
                r = 0;
                goto finish;
        }

        r = nft_batch_init(&pl->b, n, want->family, want->table, want->chain);
        if (r >= 0)
                r = nft_batch_table(&pl->b, NFT_OP_NEW_TABLE);
        if (r >= 0 && want->chain)
                r = nft_batch_chain(&pl->b, NFT_OP_NEW_CHAIN);
        /* Rules go before the sets they use can be deleted or recreated. */
        if (r >= 0 && chain_changed)
                r = nft_batch_chain(&pl->b, NFT_OP_FLUSH_CHAIN);
        for (size_t i = 0; r >= 0 && i < n_w; i++)
                if (w[i].recreate)
                        r = nft_batch_set(&pl->b, NFT_OP_DEL_SET, w[i].name, w[i].af, false, NULL, 0, 0);
        for (size_t i = 0; r >= 0 && i < n_w; i++)
                r = nft_batch_set(&pl->b, NFT_OP_NEW_SET, w[i].name, w[i].af, w[i].interval, w[i].g->comment, 0,
                                  w[i].creating ? w[i].size : 0);
        for (size_t i = 0; r >= 0 && i < n_w; i++) {
                struct nft_tracked_set *t = tracked_find(n, w[i].name);
                _cleanup_free_ struct nft_element *owned = NULL;
                struct nft_set_content c = {
                        .set = w[i].name,
                        .af = w[i].af,
                        .interval = w[i].interval,
                        .in_place = n->update_in_place,
                        .now = now,
                        /* A full flush and refill for a set made in this batch, on force (a
                         * foreign change, a restart's first apply) and whenever what the kernel
                         * holds is not known element by element. */
                        .refill = force || w[i].creating || !t || !t->applied,
                        .old = t ? t->applied : NULL,
                        .n_old = t ? t->n_applied : 0,
                };

                if (!w[i].changed)
                        continue;
                if (w[i].elements) {
                        c.elements = owned = TAKE_PTR(w[i].elements);
                        c.n_elements = w[i].n_elements;
                } else {
                        r = nft_group_elements(w[i].g, w[i].af, &c.elements, &c.n_elements, &owned);
                        if (r < 0)
                                break;
                }
                if (!c.refill) {
                        r = nft_batch_set_content(&pl->b, &c);
                        if (r == -EAGAIN)
                                c.refill = true;
                        else
                                pl->delta = true;
                }
                if (c.refill) {
                        r = w[i].creating ? 0 : nft_batch_set(&pl->b, NFT_OP_FLUSH_SET, w[i].name, w[i].af, false, NULL, 0, 0);
                        if (r >= 0)
                                r = nft_batch_set_content(&pl->b, &c);
                        pl->stats.refilled++;
                }
                w[i].applied = c.applied;
                w[i].n_applied = c.n_applied;
                /* Written into the batch, the old content is not looked at again: let it go
                 * now, so that a round extending every lifetime holds one record of each set,
                 * not the old and the new of all of them at once. Should the batch not go in,
                 * the set is refilled next time, as after any failure (nft_forget()). */
                if (r >= 0 && t)
                        tracked_forget_content(t);
                pl->stats.added += c.added;
                pl->stats.deleted += c.deleted;
                pl->stats.updated += c.updated;
        }
        for (size_t i = 0; r >= 0 && chain_changed && i < n_w; i++) {
                uint8_t protos[2];
                size_t k = nft_group_protocols(w[i].g, protos);
                for (size_t j = 0; r >= 0 && j < k; j++)
                        r = nft_batch_rule(&pl->b, w[i].g, w[i].af, protos[j]);
        }
        if (r >= 0)
                r = nft_batch_finish(&pl->b);
        if (r < 0) {
                if (err) {
                        snprintf(err->object, sizeof(err->object), "table %s %s", nft_family_to_string(want->family),
                                 want->table);
                        snprintf(err->hint, sizeof(err->hint), "building the batch");
                }
                goto finish;
        }

        /* The sets of groups that disappeared are not in this batch: an operator's rule may
         * still use one, and the kernel's EBUSY would roll back everything, at every apply,
         * until the configuration changes. They go afterwards, one by one. */
        pl->vanished = calloc(MAX(n->n_sets, (size_t) 1), sizeof(*pl->vanished));
        if (!pl->vanished) {
                r = -ENOMEM;
                goto finish;
        }
        for (size_t i = 0; i < n->n_sets; i++)
                if (!wanted_find(w, n_w, n->sets[i].name))
                        strcpy(pl->vanished[pl->n_vanished++], n->sets[i].name);

        nft_monitor_pause(n->monitor);
        pl->done = false;
        /* Only for a caller that has to find out, after lost replies, whether this went in. */
        if (err)
                err->generation_known = nft_get_generation(n, &err->generation) >= 0;
        *ret = TAKE_PTR(pl);
        r = 1;
finish:
        free(p.sets);
        return r;
}

int nft_plan_done(struct nft_plan *pl, int r, struct nft_error *err) {
        struct nft *n = pl->n;
        const struct nft_ruleset *want = &pl->identity;
        unsigned commits = 0;

        if (r >= 0)
                commits++;
        if (r < 0) {
                /* The kernel rolled the batch back (or, with lost replies, we cannot know):
                 * look again next time instead of trusting the fingerprints. */
                nft_forget(n, true);
                if (r == -EBUSY && err)
                        explain_busy_recreate(want, pl->w, pl->n_w, err);
                if (err && err->unknown) {
                        /* It may have gone in: its new sets may exist, so an apply without them
                         * must delete them, and one step of the generation may be ours. */
                        (void) tracking_add_possible(n, pl->w, pl->n_w);
                        commits++;
                }
                goto resume;
        }
        pl->stats.bytes = pl->b.size;
        n->stats = pl->stats;
        r = tracking_update(n, want, pl->w, pl->n_w, pl->chain_fp);
        if (r < 0) {
                nft_forget(n, true);
                goto resume;
        }
        n->table_created = pl->table_created;
        /* Forgotten now whatever happens: a failure is reported once, not retried for ever. */
        for (size_t i = 0; i < pl->n_vanished; i++) {
                struct nft_error e = { 0 };
                int k = release_object(n, want->family, want->table, want->chain, pl->vanished[i], &commits, &e);
                if (k < 0 && n->on_leftover)
                        n->on_leftover(n, k, &e, n->leftover_userdata);
        }
        r = 1;
resume:
        monitor_resume(n, commits);
        pl->done = true;
        return r;
}

int nft_remove(struct nft *n, const struct nft_ruleset *want, struct nft_error *err) {
        _cleanup_free_ struct wanted_set *w = NULL;
        struct nft_probe_result p = { .r = 0 };
        bool table_created = identity_matches(n, want) && n->table_created;
        bool chain_present = false;
        unsigned commits = 0;
        size_t n_w = 0;
        int r, first = 0;

        if (n->async)
                return -EBUSY;
        if (err)
                memset(err, 0, sizeof(*err));
        r = ruleset_validate(want, err);
        if (r < 0)
                return r;
        r = wanted_build(want, &w, &n_w, err);
        if (r < 0)
                return r;
        nft_forget(n, false);

        r = nft_probe(n, want->family, want->table, &p);
        if (r >= 0 && p.table_exists && want->chain) {
                r = nft_chain_exists(n, want->family, want->table, want->chain);
                chain_present = r > 0;
        }
        if (r < 0) {
                struct nft_batch eb = { .family = want->family, .table = want->table };
                struct nft_msg m = { .op = NFT_OP_DEL_TABLE };
                nft_error_set(err, &eb, &m, r, "reading the table");
                goto finish;
        }
        if (!p.table_exists) {
                r = 0;
                goto finish;
        }

        /* Each object on its own and best effort: a `jump` or an `@set` of the operator's keeps
         * that one object (flushed), never the others, and is not a failure. The chain first:
         * its rules use the sets. The first real error (no permission, ...) is returned. */
        nft_monitor_pause(n->monitor);
        if (chain_present) {
                r = release_object(n, want->family, want->table, want->chain, NULL, &commits, err);
                if (r < 0 && first == 0)
                        first = r;
        }
        for (size_t i = 0; i < n_w; i++) {
                struct nft_error e = { 0 };
                if (!nft_probe_find(&p, w[i].name))
                        continue;
                r = release_object(n, want->family, want->table, want->chain, w[i].name, &commits,
                                   first == 0 ? err : &e);
                if (r < 0 && first == 0)
                        first = r;
        }

        /* The table goes only when this process made it and nothing else lives in it now. */
        if (table_created && first == 0) {
                free(p.sets);
                r = nft_probe(n, want->family, want->table, &p);
                if (r < 0) {
                        struct nft_batch eb = { .family = want->family, .table = want->table };
                        struct nft_msg m = { .op = NFT_OP_DEL_TABLE };
                        nft_error_set(err, &eb, &m, r, "reading the table");
                } else if (p.table_exists && p.table_use == 0) {
                        r = send_single(n, want->family, want->table, want->chain, NFT_OP_DEL_TABLE, NULL, err);
                        if (r >= 0)
                                commits++;
                        else if (r == -EBUSY || r == -ENOENT) { /* someone put something there meanwhile */
                                if (err)
                                        memset(err, 0, sizeof(*err));
                                r = 0;
                        }
                }
                if (r < 0 && first == 0)
                        first = r;
        }
        monitor_resume(n, commits);
        r = first;
finish:
        free(p.sets);
        return r;
}

