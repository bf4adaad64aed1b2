/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The nft module's front: the handle (the batch socket), the synchronous apply, the monitor's
 * start. What a transaction carries is decided in nft-apply.c; nft-async.c sends it from the
 * event loop. */
#include <sys/utsname.h>

#include "log.h"
#include "nft-internal.h"

void nft_set_leftover_callback(struct nft *n, nft_leftover_cb cb, void *userdata) {
        n->on_leftover = cb;
        n->leftover_userdata = userdata;
}

int nft_apply(struct nft *n, const struct nft_ruleset *want, usec_t now, bool force, struct nft_error *err) {
        bool delta = false;
        int r;

        if (n->async)
                return -EBUSY;
        for (int attempt = 0; attempt < 2; attempt++) {
                _cleanup_(nft_plan_freep) struct nft_plan *pl = NULL;

                r = nft_plan_new(n, want, now, force, err, &pl);
                if (r <= 0)
                        return r;
                r = nft_plan_done(pl, nft_batch_send(nft_plan_batch(pl), err), err);
                delta = nft_plan_has_delta(pl);
                /* An element we believed there was not (someone deleted it, the monitor has
                 * yet to tell): the failed batch made us forget what the kernel holds, so the
                 * second attempt refills. */
                if (r != -ENOENT || !delta)
                        break;
        }
        return r;
}

static void on_monitor_change(void *userdata) {
        struct nft *n = userdata;

        if (n->on_change)
                n->on_change(n, n->change_userdata);
}

int nft_monitor_start(struct nft *n, sd_event *e, nft_change_cb on_foreign_change, void *userdata) {
        uint32_t gen = 0;
        int r;

        if (n->monitor)
                return -EBUSY;
        (void) nft_get_generation(n, &gen); /* 0: the first commit seen sets it */
        r = nft_monitor_new(e, n->portid, gen, on_monitor_change, n, &n->monitor);
        if (r < 0)
                return r;
        n->on_change = on_foreign_change;
        n->change_userdata = userdata;
        nft_watch_update(n);
        return 0;
}

/* Whether the running kernel extends an element's lifetime when it is added again (Linux 6.12,
 * "netfilter: nf_tables: set element timeout update support"). A kernel that could but is not
 * recognized only costs a delete and an add per extended element, which works everywhere. */
static bool kernel_updates_in_place(void) {
        struct utsname u;
        unsigned major = 0, minor = 0;

        if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2)
                return false;
        return major > 6 || (major == 6 && minor >= 12);
}

int nft_open(struct nft **ret) {
        struct nft *n = calloc(1, sizeof(*n));
        int one = 1, r;

        if (!n)
                return -ENOMEM;
        n->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
        if (!n->nl) {
                r = -errno;
                goto fail;
        }
        if (mnl_socket_bind(n->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
                r = -errno;
                goto fail;
        }
        /* Error replies without a copy of the (possibly 64 KiB) failing message, with the
         * kernel's own explanation when it has one. */
        (void) mnl_socket_setsockopt(n->nl, NETLINK_CAP_ACK, &one, sizeof(one));
        (void) mnl_socket_setsockopt(n->nl, NETLINK_EXT_ACK, &one, sizeof(one));
        n->portid = mnl_socket_get_portid(n->nl);
        n->update_in_place = kernel_updates_in_place();
        log_debug("nftables: element lifetimes are extended %s.", n->update_in_place ?
                  "in place (Linux 6.12 or later)" : "by deleting and adding the element in one transaction");
        n->seq = (uint32_t) time(NULL);
        *ret = n;
        return 0;
fail:
        nft_free(n);
        return r;
}

struct nft *nft_free(struct nft *n) {
        if (!n)
                return NULL;
        nft_async_cancel(n);
        nft_monitor_free(n->monitor);
        if (n->nl)
                mnl_socket_close(n->nl);
        for (size_t i = 0; i < n->n_sets; i++)
                free(n->sets[i].applied);
        free(n->sets);
        free(n->table);
        free(n->chain);
        free(n);
        return NULL;
}

