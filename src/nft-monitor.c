/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Notices when someone else deletes or flushes the daemon's table, sets, chain or rules
 * (`nft flush ruleset`, `systemctl reload nftables`, an operator deleting a set), so that the
 * manager can put them back. Every nf_tables transaction ends with NEWGEN, sent with the
 * committer's netlink portid: ours is the batch socket's. */
#include <arpa/inet.h>
#include <limits.h>
#include <libmnl/libmnl.h>

#include "log.h"
#include "nft-monitor.h"
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

/* The kernel sends one event per element while anyone listens; a big foreign transaction must
 * fit, and if it does not (ENOBUFS) the generation id tells whether anything happened. */
#define NFT_MONITOR_RCVBUF (16 * 1024 * 1024)
#define NFT_MONITOR_BUFFER (64U * 1024U)
/* `nft flush ruleset` is one transaction, `nft -f` after it another: one call for both. */
#define NFT_MONITOR_DEBOUNCE_USEC (80 * USEC_PER_MSEC)
/* Datagrams read per wake-up (each up to a page of events), so that a flood of events (another
 * process's transaction of 800,000 elements sends some 13,000 of them) cannot hold the loop:
 * the rest wait for the next wake-up, after the sources of higher priority (the snooping
 * queue and its hold timer). 64 take about half a millisecond. */
#define NFT_MONITOR_BURST 64

struct nft_monitor {
        struct mnl_socket *nl;
        sd_event_source *io, *timer;
        nft_monitor_cb on_change;
        void *userdata;
        uint32_t own_portid;

        /* What is ours (nft_monitor_watch()). */
        int family;
        char *table, *chain;
        char **sets;
        size_t n_sets;
        bool all_sets;          /* the list could not be copied: every set of the table */

        bool touched;           /* events of the current foreign transaction hit our objects */
        bool pending;           /* a foreign transaction hit them: call back when the timer fires */
        bool paused;            /* out of the event group during our own commit */
        uint32_t gen_seen;      /* last generation whose NEWGEN was processed (or read after ours) */
        uint32_t gen_before;    /* gen_seen when our commit began */
        char *buf;
};

static void monitor_arm(struct nft_monitor *m) {
        int enabled = SD_EVENT_OFF;

        if (!m->timer)
                return;
        if (sd_event_source_get_enabled(m->timer, &enabled) >= 0 && enabled != SD_EVENT_OFF)
                return; /* already pending: debounced */
        if (sd_event_source_set_time_relative(m->timer, NFT_MONITOR_DEBOUNCE_USEC) < 0 ||
            sd_event_source_set_enabled(m->timer, SD_EVENT_ONESHOT) < 0)
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
static bool event_touches_us(const struct nft_monitor *m, const struct nlmsghdr *nlh, uint16_t type) {
        const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
        const struct nlattr *attr[4] = { NULL }, *a;

        if (!m->table || mnl_nlmsg_get_payload_len(nlh) < sizeof(*g) || g->nfgen_family != m->family)
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
        if (!attr_streq(attr[NFTA_TABLE_NAME], m->table))
                return false;
        switch (type) {
        case NFT_MSG_DELTABLE:
                return true;
        case NFT_MSG_DELCHAIN:
                return attr_streq(attr[NFTA_CHAIN_NAME], m->chain);
        case NFT_MSG_DELRULE:
        case NFT_MSG_NEWRULE:
                return attr_streq(attr[NFTA_RULE_CHAIN], m->chain);
        case NFT_MSG_DELSET:
        case NFT_MSG_DELSETELEM:
        case NFT_MSG_NEWSETELEM: /* NFTA_SET_NAME and NFTA_SET_ELEM_LIST_SET are both 2 */
                if (m->all_sets)
                        return true;
                for (size_t i = 0; i < m->n_sets; i++)
                        if (attr_streq(attr[NFTA_SET_NAME], m->sets[i]))
                                return true;
                return false;
        }
        return false;
}

static void monitor_message(struct nft_monitor *m, const struct nlmsghdr *nlh) {
        uint16_t type = NFNL_MSG_TYPE(nlh->nlmsg_type);

        if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES)
                return;
        if (type == NFT_MSG_NEWGEN) {
                const struct nlattr *a;

                /* The end of one transaction: act on it if it was someone else's. */
                if (nlh->nlmsg_pid != m->own_portid && m->touched) {
                        m->pending = true;
                        monitor_arm(m);
                }
                m->touched = false;
                /* Remember which generation we have heard the end of: a pause of ours counts
                 * from here, so a commit whose NEWGEN we never got cannot pass for ours. */
                mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
                        if (mnl_attr_get_type(a) == NFTA_GEN_ID && mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
                                m->gen_seen = ntohl(mnl_attr_get_u32(a));
                return;
        }
        /* Our own events are skipped without parsing; portid 0 is the kernel itself, removing
         * elements whose timeout ran out, which is what we asked for. */
        if (nlh->nlmsg_pid == m->own_portid || nlh->nlmsg_pid == 0 || m->touched)
                return;
        m->touched = event_touches_us(m, nlh, type);
}

static int monitor_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct nft_monitor *m = userdata;

        for (unsigned i = 0; i < NFT_MONITOR_BURST; i++) {
                ssize_t k = recv(fd, m->buf, NFT_MONITOR_BUFFER, MSG_DONTWAIT);
                int len;

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        if (errno == ENOBUFS) {
                                /* Events were dropped, so were perhaps someone else's changes to
                                 * our objects (our own commits happen outside the group): resync. */
                                m->pending = true;
                                m->touched = false;
                                monitor_arm(m);
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
                for (const struct nlmsghdr *nlh = (const struct nlmsghdr *) m->buf; mnl_nlmsg_ok(nlh, len);
                     nlh = mnl_nlmsg_next(nlh, &len))
                        monitor_message(m, nlh);
        }
        return 0;
}

static int monitor_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct nft_monitor *m = userdata;
        bool call = m->pending;

        m->pending = false;
        if (call && m->on_change && m->table)
                m->on_change(m->userdata);
        return 0;
}

static int monitor_membership(struct nft_monitor *m, int opt) {
        int group = NFNLGRP_NFTABLES;

        if (setsockopt(mnl_socket_get_fd(m->nl), SOL_NETLINK, opt, &group, sizeof(group)) < 0)
                return -errno;
        return 0;
}

void nft_monitor_pause(struct nft_monitor *m) {
        /* While anyone listens the kernel builds one event per element: 100,000 of them for a
         * big apply, all for nothing since they are ours. Leave the group for the length of
         * our own commit and account for the gap with the generation id instead.
         *
         * The gap counts from the last generation whose NEWGEN we have processed, not from what
         * the kernel says now: the kernel moves the generation when another commit begins but
         * sends its events and NEWGEN only at its end, so a foreign commit under way right now
         * (`systemctl reload nftables` flushing our objects) would otherwise pass for ours.
         *
         * With events still unread (a big foreign transaction being read a burst per wake-up)
         * stay in the group instead: reading them all here would hold the loop, and leaving
         * without would count their generations as a gap. Our own events then come with our
         * portid and are skipped unread. */
        char c;

        if (!m)
                return;
        m->paused = false;
        if (recv(mnl_socket_get_fd(m->nl), &c, sizeof(c), MSG_PEEK | MSG_DONTWAIT) >= 0)
                return;
        m->paused = monitor_membership(m, NETLINK_DROP_MEMBERSHIP) >= 0;
        if (m->paused)
                (void) monitor_io(NULL, mnl_socket_get_fd(m->nl), 0, m); /* what came in meanwhile */
        m->gen_before = m->gen_seen;
}

void nft_monitor_rejoin(struct nft_monitor *m) {
        /* Before the generation is read: a foreign commit after this point sends us its events,
         * one before it moved the generation we are about to be told. */
        if (m && m->paused && monitor_membership(m, NETLINK_ADD_MEMBERSHIP) < 0)
                log_warning("Failed to rejoin the nftables event group, foreign changes go unnoticed.");
}

void nft_monitor_account(struct nft_monitor *m, unsigned commits, int gen_error, uint32_t gen) {
        bool ok = gen_error >= 0;

        /* Not paused (events were unread, or the group could not be left): our own events come
         * with our portid and are skipped, the events of others are read as they come, and a
         * foreign transaction half read keeps what it touched so far. */
        if (!m || !m->paused)
                return;
        if (!ok)
                log_warning("Failed to read the nftables generation; a foreign change during our commit may go unnoticed.");
        /* Someone else committed while we were not listening, or had begun a commit that
         * touched our objects when we left: check what they did. A transaction of ours that
         * changed nothing (a flush of an empty set) does not move the generation, so fewer
         * steps than commits are ours too; only more mean someone else. */
        if (m->touched || (ok && (uint32_t) (gen - m->gen_before) > commits)) {
                m->pending = true;
                monitor_arm(m);
        }
        m->touched = false;
        if (ok)
                m->gen_seen = gen;
        m->paused = false;
}

static void watch_clear(struct nft_monitor *m) {
        for (size_t i = 0; i < m->n_sets; i++)
                free(m->sets[i]);
        free(m->sets);
        free(m->table);
        free(m->chain);
        m->sets = NULL;
        m->table = m->chain = NULL;
        m->n_sets = 0;
        m->all_sets = false;
}

int nft_monitor_watch(struct nft_monitor *m, int family, const char *table, const char *chain,
                      const char *const *sets, size_t n_sets) {
        watch_clear(m);
        if (!table)
                return 0;
        m->family = family;
        m->table = strdup(table);
        m->chain = chain ? strdup(chain) : NULL;
        m->sets = calloc(MAX(n_sets, (size_t) 1), sizeof(*m->sets));
        if (!m->table || (chain && !m->chain) || !m->sets)
                goto oom;
        for (; m->n_sets < n_sets; m->n_sets++) {
                m->sets[m->n_sets] = strdup(sets[m->n_sets]);
                if (!m->sets[m->n_sets])
                        goto oom;
        }
        return 0;
oom:
        /* Without the names, every set of the table is ours: a foreign change to one of the
         * operator's sets costs a needless repair, never a missed one. */
        if (!m->table) {
                watch_clear(m);
                return -ENOMEM;
        }
        m->all_sets = true;
        return -ENOMEM;
}

int nft_monitor_new(sd_event *e, uint32_t own_portid, uint32_t generation, nft_monitor_cb on_foreign_change,
                    void *userdata, struct nft_monitor **ret) {
        struct nft_monitor *m = calloc(1, sizeof(*m));
        int v = NFT_MONITOR_RCVBUF, fd, r;

        if (!m)
                return -ENOMEM;
        m->own_portid = own_portid;
        m->gen_seen = generation;
        m->on_change = on_foreign_change;
        m->userdata = userdata;
        m->buf = malloc(NFT_MONITOR_BUFFER);
        if (!m->buf) {
                r = -ENOMEM;
                goto fail;
        }
        m->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (!m->nl) {
                r = -errno;
                goto fail;
        }
        if (mnl_socket_bind(m->nl, 1U << (NFNLGRP_NFTABLES - 1), MNL_SOCKET_AUTOPID) < 0) {
                r = -errno;
                goto fail;
        }
        fd = mnl_socket_get_fd(m->nl);
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0)
                (void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));

        r = sd_event_add_io(e, &m->io, fd, EPOLLIN, monitor_io, m);
        if (r < 0)
                goto fail;
        /* After everything else that is ready: a foreign change is repaired within a second
         * (the debounce timer), a DNS reply is waiting now. */
        r = sd_event_source_set_priority(m->io, SD_EVENT_PRIORITY_IDLE);
        if (r < 0)
                goto fail;
        r = sd_event_add_time_relative(e, &m->timer, CLOCK_MONOTONIC, NFT_MONITOR_DEBOUNCE_USEC,
                                       10 * USEC_PER_MSEC, monitor_timer, m);
        if (r < 0)
                goto fail;
        r = sd_event_source_set_enabled(m->timer, SD_EVENT_OFF);
        if (r < 0)
                goto fail;
        *ret = m;
        return 0;
fail:
        nft_monitor_free(m);
        return r;
}

struct nft_monitor *nft_monitor_free(struct nft_monitor *m) {
        if (!m)
                return NULL;
        m->io = sd_event_source_disable_unref(m->io);
        m->timer = sd_event_source_disable_unref(m->timer);
        if (m->nl)
                mnl_socket_close(m->nl);
        watch_clear(m);
        free(m->buf);
        free(m);
        return NULL;
}
