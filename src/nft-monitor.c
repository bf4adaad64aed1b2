/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Notices when someone else deletes or flushes the daemon's table, sets, chain or rules
 * (`nft flush ruleset`, `systemctl reload nftables`, an operator deleting a set), so that the
 * manager can put them back. Every nf_tables transaction ends with NEWGEN, sent with the
 * committer's netlink portid: ours is the batch socket's. */
#include <limits.h>

/* First: netinet/in.h (through addr.h) must come before linux/in.h (through netfilter.h). */
#include "log.h"
#include "nft-internal.h"
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

/* The kernel sends one event per element while anyone listens; a big foreign transaction must
 * fit, and if it does not (ENOBUFS) the generation id tells whether anything happened. */
#define NFT_MONITOR_RCVBUF (16 * 1024 * 1024)
#define NFT_MONITOR_BUFFER (64U * 1024U)
/* `nft flush ruleset` is one transaction, `nft -f` after it another: one call for both. */
#define NFT_MONITOR_DEBOUNCE_USEC (80 * USEC_PER_MSEC)
/* Messages read per wake-up, so a flood of events cannot starve the event loop. */
#define NFT_MONITOR_BURST 4096

static void monitor_arm(struct nft *n) {
        int enabled = SD_EVENT_OFF;

        if (!n->mon_timer)
                return;
        if (sd_event_source_get_enabled(n->mon_timer, &enabled) >= 0 && enabled != SD_EVENT_OFF)
                return; /* already pending: debounced */
        if (sd_event_source_set_time_relative(n->mon_timer, NFT_MONITOR_DEBOUNCE_USEC) < 0 ||
            sd_event_source_set_enabled(n->mon_timer, SD_EVENT_ONESHOT) < 0)
                log_warning("Failed to arm the nftables monitor timer, a foreign change may go unnoticed.");
}

static bool attr_streq(const struct nlattr *a, const char *s) {
        return a && s && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0 && streq(mnl_attr_get_str(a), s);
}

/* Whether an event of another process deleted or flushed something of ours, or put something
 * into it: the chain and the sets are the daemon's, so a rule or an element someone else adds
 * there is a change to undo as much as a deletion. NEWCHAIN and NEWSET are not: an operator's
 * `nft -f` declaring our chain or sets empty (so that its `jump` and `@set` load) changes
 * nothing that is in them. */
static bool event_touches_us(const struct nft *n, const struct nlmsghdr *nlh, uint16_t type) {
        const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
        const struct nlattr *attr[4] = { NULL }, *a;

        if (!n->table || mnl_nlmsg_get_payload_len(nlh) < sizeof(*g) || g->nfgen_family != n->family)
                return false;
        switch (type) {
        case NFT_MSG_DELTABLE:
        case NFT_MSG_DELCHAIN:
        case NFT_MSG_DELRULE:
        case NFT_MSG_NEWRULE:
        case NFT_MSG_DELSET:
        case NFT_MSG_DELSETELEM:
        case NFT_MSG_NEWSETELEM:
                break;
        default:
                return false;
        }
        mnl_attr_for_each(a, nlh, sizeof(*g)) {
                uint16_t t = mnl_attr_get_type(a);
                if (t < ELEMENTSOF(attr))
                        attr[t] = a;
        }
        /* Attribute 1 is the table name in all of these messages. */
        if (!attr_streq(attr[NFTA_TABLE_NAME], n->table))
                return false;
        switch (type) {
        case NFT_MSG_DELTABLE:
                return true;
        case NFT_MSG_DELCHAIN:
                return attr_streq(attr[NFTA_CHAIN_NAME], n->chain);
        case NFT_MSG_DELRULE:
        case NFT_MSG_NEWRULE:
                return attr_streq(attr[NFTA_RULE_CHAIN], n->chain);
        case NFT_MSG_DELSET:
        case NFT_MSG_DELSETELEM:
        case NFT_MSG_NEWSETELEM: /* NFTA_SET_NAME and NFTA_SET_ELEM_LIST_SET are both 2 */
                for (size_t i = 0; i < n->n_sets; i++)
                        if (attr_streq(attr[NFTA_SET_NAME], n->sets[i].name))
                                return true;
                return false;
        }
        return false;
}

static void monitor_message(struct nft *n, const struct nlmsghdr *nlh) {
        uint16_t type = NFNL_MSG_TYPE(nlh->nlmsg_type);

        if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES)
                return;
        if (type == NFT_MSG_NEWGEN) {
                const struct nlattr *a;

                /* The end of one transaction: act on it if it was someone else's. */
                if (nlh->nlmsg_pid != n->portid && n->mon_touched) {
                        n->mon_pending = true;
                        monitor_arm(n);
                }
                n->mon_touched = false;
                /* Remember which generation we have heard the end of: a pause of ours counts
                 * from here, so a commit whose NEWGEN we never got cannot pass for ours. */
                mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
                        if (mnl_attr_get_type(a) == NFTA_GEN_ID && mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
                                n->gen_seen = ntohl(mnl_attr_get_u32(a));
                return;
        }
        /* Our own events are skipped without parsing; portid 0 is the kernel itself, removing
         * elements whose timeout ran out, which is what we asked for. */
        if (nlh->nlmsg_pid == n->portid || nlh->nlmsg_pid == 0 || n->mon_touched)
                return;
        n->mon_touched = event_touches_us(n, nlh, type);
}

static int monitor_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct nft *n = userdata;

        for (unsigned i = 0; i < NFT_MONITOR_BURST; i++) {
                ssize_t k = recv(fd, n->mon_buf, NFT_MONITOR_BUFFER, MSG_DONTWAIT);
                int len;

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        if (errno == ENOBUFS) {
                                /* Events were dropped, so were perhaps someone else's changes to
                                 * our objects (our own commits happen outside the group): resync. */
                                n->mon_pending = true;
                                n->mon_touched = false;
                                monitor_arm(n);
                                continue;
                        }
                        log_warning("Failed to read nftables events, ignoring: %s", strerror(errno));
                        break;
                }
                /* libmnl walks with an int length: never hand it a pointer into the ssize_t,
                 * which on a big-endian 64-bit machine points at the high word. recv() returns
                 * at most the buffer's size, so this only guards the conversion. */
                if (k > INT_MAX)
                        break;
                len = (int) k;
                for (const struct nlmsghdr *nlh = (const struct nlmsghdr *) n->mon_buf; mnl_nlmsg_ok(nlh, len);
                     nlh = mnl_nlmsg_next(nlh, &len))
                        monitor_message(n, nlh);
        }
        return 0;
}

static int monitor_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct nft *n = userdata;
        bool call = n->mon_pending;

        n->mon_pending = false;
        if (call && n->on_change && n->table)
                n->on_change(n, n->userdata);
        return 0;
}

static int monitor_membership(struct nft *n, int opt) {
        int group = NFNLGRP_NFTABLES;

        if (setsockopt(mnl_socket_get_fd(n->mon), SOL_NETLINK, opt, &group, sizeof(group)) < 0)
                return -errno;
        return 0;
}

void nft_monitor_pause(struct nft *n) {
        /* While anyone listens the kernel builds one event per element: 100,000 of them for a
         * big apply, all for nothing since they are ours. Leave the group for the length of
         * our own commit and account for the gap with the generation id instead.
         *
         * The gap counts from the last generation whose NEWGEN we have processed, not from what
         * the kernel says now: the kernel moves the generation when another commit begins but
         * sends its events and NEWGEN only at its end, so a foreign commit under way right now
         * (`systemctl reload nftables` flushing our objects) would otherwise pass for ours. */
        if (!n->mon)
                return;
        n->mon_paused = monitor_membership(n, NETLINK_DROP_MEMBERSHIP) >= 0;
        if (n->mon_paused)
                (void) monitor_io(NULL, mnl_socket_get_fd(n->mon), 0, n); /* what was queued before */
        n->gen_before = n->gen_seen;
}

void nft_monitor_resume(struct nft *n, unsigned commits) {
        uint32_t gen;
        bool ok;

        if (!n->mon)
                return;
        if (n->mon_paused && monitor_membership(n, NETLINK_ADD_MEMBERSHIP) < 0)
                log_warning("Failed to rejoin the nftables event group, foreign changes go unnoticed.");
        ok = nft_get_generation(n, &gen) >= 0;
        if (!ok)
                log_warning("Failed to read the nftables generation; a foreign change during our commit may go unnoticed.");
        /* Someone else committed while we were not listening, or had begun a commit that
         * touched our objects when we left: check what they did. A transaction of ours that
         * changed nothing (a flush of an empty set) does not move the generation, so fewer
         * steps than commits are ours too; only more mean someone else. (Not listening at all
         * (the group could not be left) needs nothing: our own events came with our portid.) */
        if (n->mon_paused && (n->mon_touched || (ok && (uint32_t) (gen - n->gen_before) > commits))) {
                n->mon_pending = true;
                monitor_arm(n);
        }
        n->mon_touched = false;
        if (ok)
                n->gen_seen = gen;
        n->mon_paused = false;
}

int nft_monitor_start(struct nft *n, sd_event *e, nft_change_cb on_foreign_change, void *userdata) {
        int v = NFT_MONITOR_RCVBUF, fd, r;
        uint32_t gen;

        if (n->mon)
                return -EBUSY;
        n->mon_buf = malloc(NFT_MONITOR_BUFFER);
        if (!n->mon_buf)
                return -ENOMEM;
        n->mon = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (!n->mon) {
                r = -errno;
                goto fail;
        }
        if (mnl_socket_bind(n->mon, 1U << (NFNLGRP_NFTABLES - 1), MNL_SOCKET_AUTOPID) < 0) {
                r = -errno;
                goto fail;
        }
        fd = mnl_socket_get_fd(n->mon);
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0)
                (void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));

        r = sd_event_add_io(e, &n->mon_io, fd, EPOLLIN, monitor_io, n);
        if (r < 0)
                goto fail;
        r = sd_event_add_time_relative(e, &n->mon_timer, CLOCK_MONOTONIC, NFT_MONITOR_DEBOUNCE_USEC,
                                       10 * USEC_PER_MSEC, monitor_timer, n);
        if (r < 0)
                goto fail;
        r = sd_event_source_set_enabled(n->mon_timer, SD_EVENT_OFF);
        if (r < 0)
                goto fail;
        if (nft_get_generation(n, &gen) >= 0)
                n->gen_seen = gen;
        n->on_change = on_foreign_change;
        n->userdata = userdata;
        return 0;
fail:
        nft_monitor_free(n);
        return r;
}

void nft_monitor_free(struct nft *n) {
        n->mon_io = sd_event_source_disable_unref(n->mon_io);
        n->mon_timer = sd_event_source_disable_unref(n->mon_timer);
        if (n->mon)
                mnl_socket_close(n->mon);
        n->mon = NULL;
        free(n->mon_buf);
        n->mon_buf = NULL;
}
