/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The snooping queue. One round per wake-up: read what the socket holds (at most
 * ROUND_PACKETS), accept at once every reply that teaches nothing, and hold the others until
 * the owner's transaction with what they taught is in the kernel. Nothing here waits for the
 * kernel: the owner starts that transaction (on_commit) and says when it is done
 * (snoop_committed()); meanwhile the loop keeps reading, and the replies that arrive are held
 * for the next transaction, which carries all of them (one in flight at a time). The hold
 * timer, on the same loop, releases every reply at snoop_hold_max whatever the transaction is
 * doing: another process holding the nftables commit lock delays the allow-list, never DNS.
 * Verdicts go without acknowledgement, many in one datagram. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_queue.h>

#include "log.h"
#include "snoop.h"

/* The kernel caps the copy range at 65531 (NFQNL_MAX_COPY_RANGE is 0xffff minus the attribute
 * header): asking for more is refused on some kernels. */
#define COPY_RANGE 65531
/* Room for one queued packet with its attributes. */
#define RECV_BUFFER (COPY_RANGE + 4096)
/* Packets the kernel keeps waiting for a verdict; past it, fail-open accepts new ones. */
#define QUEUE_MAXLEN 4096
#define SOCKET_RCVBUF (8 * 1024 * 1024)
#define ROUND_PACKETS 64
/* Replies held at once (for transactions and lookups); more are accepted at once. While a
 * transaction waits for the commit lock the hold timer releases them after snoop_hold_max, so
 * this bounds replies per snoop_hold_max, not per transaction. */
#define HELD_MAX 1024
/* A verdict message: header, nfgenmsg, NFQA_VERDICT_HDR. */
#define VERDICT_MSG_SIZE 64
#define CONFIG_ACK_TIMEOUT_SEC 2
/* Late releases and lost messages are said at most this often. */
#define LOG_INTERVAL_USEC (60 * USEC_PER_SEC)
/* A held reply that waits for snoop_release(token), not for a transaction. */
#define ROUND_LOOKUP 0

struct held {
        uint32_t id;
        uint64_t token;
        uint64_t round; /* the transaction that carries what it taught, or ROUND_LOOKUP */
        usec_t since;   /* CLOCK_MONOTONIC */
};

struct snoop {
        struct mnl_socket *nl;
        uint32_t portid, seq;
        uint16_t queue;
        usec_t hold_max;
        sd_event_source *io;
        struct snoop_callbacks cb;
        void *userdata;
        char *buf;
        char verdicts[ROUND_PACKETS * VERDICT_MSG_SIZE];
        size_t verdicts_size;
        struct held held[HELD_MAX];
        size_t n_held;
        sd_event_source *hold_timer;
        uint64_t next_token;
        uint64_t next_round;     /* the round new held replies join: the next transaction */
        uint64_t inflight_round; /* the transaction the owner is committing, 0 when none */
        struct snoop_stats stats;
        usec_t last_late_log, last_lost_log;
        uint64_t late_logged;
};

const struct snoop_stats *snoop_get_stats(const struct snoop *s) {
        return &s->stats;
}

static void verdicts_flush(struct snoop *s) {
        if (s->verdicts_size == 0)
                return;
        /* A verdict that cannot be sent leaves its packet in the queue; there is nothing better
         * to do than try the next ones. */
        if (mnl_socket_sendto(s->nl, s->verdicts, s->verdicts_size) < 0)
                log_debug("Failed to send DNS reply verdicts: %m");
        s->verdicts_size = 0;
}

static void verdict_accept(struct snoop *s, uint32_t id) {
        struct nlmsghdr *nlh;

        if (s->verdicts_size + VERDICT_MSG_SIZE > sizeof(s->verdicts))
                verdicts_flush(s);
        nlh = nfq_nlmsg_put(s->verdicts + s->verdicts_size, NFQNL_MSG_VERDICT, s->queue);
        nfq_nlmsg_verdict_put(nlh, (int) id, NF_ACCEPT);
        s->verdicts_size += NLMSG_ALIGN(nlh->nlmsg_len);
}

/* Says at most once per LOG_INTERVAL_USEC how many more of something happened. */
static bool log_due(usec_t *last, usec_t now) {
        if (*last != 0 && now - *last < LOG_INTERVAL_USEC)
                return false;
        *last = now;
        return true;
}

static void late_log(struct snoop *s, size_t late, usec_t now) {
        s->stats.released_late += late;
        if (late == 0 || !log_due(&s->last_late_log, now))
                return;
        /* In milliseconds: snoop_hold_max is usually below a second. */
        log_warning("Released %" PRIu64 " DNS repl%s later than snoop_hold_max=%" PRIu64 "ms: the nftables transaction or the lookup of a truncated reply was slow.",
                    s->stats.released_late - s->late_logged, s->stats.released_late - s->late_logged == 1 ? "y" : "ies",
                    (uint64_t) (s->hold_max / USEC_PER_MSEC));
        s->late_logged = s->stats.released_late;
}

static void hold_timer_arm(struct snoop *s) {
        usec_t first = USEC_INFINITY;

        if (!s->hold_timer)
                return; /* closing */
        for (size_t i = 0; i < s->n_held; i++)
                first = MIN(first, s->held[i].since);
        if (first == USEC_INFINITY) {
                (void) sd_event_source_set_enabled(s->hold_timer, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time(s->hold_timer, first + s->hold_max);
        (void) sd_event_source_set_enabled(s->hold_timer, SD_EVENT_ONESHOT);
}

void snoop_set_hold_max(struct snoop *s, usec_t hold_max) {
        s->hold_max = hold_max;
        hold_timer_arm(s);
}

enum release_reason {
        RELEASE_TOKEN,     /* the lookup of a truncated reply is done */
        RELEASE_COMMITTED, /* the transaction of its round (or an earlier one) is done */
        RELEASE_BOUND,     /* snoop_hold_max ran out */
        RELEASE_ALL,       /* the queue closes */
};

static bool held_due(const struct snoop *s, const struct held *h, enum release_reason why, uint64_t arg,
                     usec_t now) {
        switch (why) {
        case RELEASE_TOKEN:
                return h->round == ROUND_LOOKUP && h->token == arg;
        case RELEASE_COMMITTED:
                return h->round != ROUND_LOOKUP && h->round <= arg;
        case RELEASE_BOUND:
                return now - h->since >= s->hold_max;
        case RELEASE_ALL:
                return true;
        }
        return false;
}

/* Accepts the held replies that are due; failed: their transaction failed (the release is
 * unconfirmed, reported as late). Returns how many went past snoop_hold_max. */
static size_t held_release(struct snoop *s, enum release_reason why, uint64_t arg, bool failed, usec_t now) {
        size_t w = 0, late = 0;

        for (size_t i = 0; i < s->n_held; i++) {
                const struct held *h = &s->held[i];
                bool l;

                if (!held_due(s, h, why, arg, now)) {
                        s->held[w++] = *h;
                        continue;
                }
                l = why == RELEASE_BOUND || now - h->since > s->hold_max;
                late += l;
                if (s->cb.on_released)
                        s->cb.on_released(s, now - h->since, l || failed, s->userdata);
                verdict_accept(s, h->id);
        }
        s->n_held = w;
        verdicts_flush(s);
        hold_timer_arm(s);
        return late;
}

static void commit_start(struct snoop *s);

static int on_hold_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        struct snoop *s = userdata;
        usec_t now = now_usec(CLOCK_MONOTONIC);

        late_log(s, held_release(s, RELEASE_BOUND, 0, false, now), now);
        return 0;
}

void snoop_release(struct snoop *s, uint64_t token) {
        if (!s || token == 0)
                return;
        (void) held_release(s, RELEASE_TOKEN, token, false, now_usec(CLOCK_MONOTONIC));
}

void snoop_release_after_commit(struct snoop *s, uint64_t token) {
        if (!s || token == 0)
                return;
        for (size_t i = 0; i < s->n_held; i++)
                if (s->held[i].round == ROUND_LOOKUP && s->held[i].token == token)
                        s->held[i].round = s->next_round;
        commit_start(s);
}

static bool held_add(struct snoop *s, uint32_t id, uint64_t token, uint64_t round) {
        if (s->n_held >= ELEMENTSOF(s->held))
                return false;
        s->held[s->n_held++] = (struct held) { .id = id, .token = token, .round = round, .since = now_usec(CLOCK_MONOTONIC) };
        s->stats.held++;
        if (s->n_held == 1)
                hold_timer_arm(s);
        return true;
}

/* Reads one queued packet. */
static void handle_packet(struct snoop *s, const struct nlmsghdr *nlh) {
        struct nlattr *attr[NFQA_MAX + 1] = { NULL };
        const struct nfqnl_msg_packet_hdr *ph;
        struct snoop_dns_reply reply;
        uint64_t token;
        uint32_t id;

        if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR] ||
            mnl_attr_get_payload_len(attr[NFQA_PACKET_HDR]) < sizeof(*ph))
                return; /* no id: nothing to give a verdict to */
        ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
        id = ntohl(ph->packet_id);
        s->stats.replies++;

        /* NFQA_CAP_LEN: the copy was cut (a reply beyond the copy range); a cut reply is not
         * read, only passed on. */
        if (!attr[NFQA_PAYLOAD] || attr[NFQA_CAP_LEN] ||
            snoop_dns_parse(mnl_attr_get_payload(attr[NFQA_PAYLOAD]), mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]),
                            &reply) < 0) {
                s->stats.unparsed++;
                verdict_accept(s, id);
                return;
        }
        token = ++s->next_token;
        switch (s->cb.on_reply(s, &reply, token, s->userdata)) {
        case SNOOP_ACCEPT:
                break;
        case SNOOP_HOLD_COMMIT:
                if (held_add(s, id, token, s->next_round))
                        return;
                break;
        case SNOOP_HOLD_RELEASE:
                s->stats.truncated++;
                if (held_add(s, id, token, ROUND_LOOKUP))
                        return;
                break;
        }
        verdict_accept(s, id);
}

/* Asks the owner for the transaction of the replies held for the next round, unless one is in
 * flight already: those wait for its end and go in the following one. */
static void commit_start(struct snoop *s) {
        uint64_t round = s->next_round;
        bool wanted = false;
        int r;

        if (s->inflight_round != 0)
                return;
        for (size_t i = 0; i < s->n_held && !wanted; i++)
                wanted = s->held[i].round == round;
        if (!wanted)
                return;
        s->inflight_round = round;
        s->next_round++;
        r = s->cb.on_commit(s, round, s->userdata);
        if (r < 0)
                snoop_committed(s, round, r);
}

void snoop_committed(struct snoop *s, uint64_t round, int r) {
        usec_t now = now_usec(CLOCK_MONOTONIC);
        size_t n = s ? s->n_held : 0;

        if (!s || round == 0 || round != s->inflight_round)
                return;
        s->inflight_round = 0;
        late_log(s, held_release(s, RELEASE_COMMITTED, round, r < 0, now), now);
        if (r < 0)
                s->stats.commit_failed += n - s->n_held;
        /* What arrived meanwhile, learned already, in one more transaction. */
        commit_start(s);
}

static int on_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        struct snoop *s = userdata;

        for (unsigned n = 0; n < ROUND_PACKETS; n++) {
                ssize_t k = recv(fd, s->buf, RECV_BUFFER, MSG_DONTWAIT);
                int len;

                if (k < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                break;
                        if (errno == ENOBUFS) {
                                /* Those packets wait in the kernel for a verdict that never
                                 * comes; fail-open lets the following ones pass once the queue
                                 * is full, and the clients ask again. */
                                s->stats.lost++;
                                if (log_due(&s->last_lost_log, now_usec(CLOCK_MONOTONIC)))
                                        log_warning("The DNS snooping queue overflowed the socket: some replies were lost and their clients will ask again.");
                                continue;
                        }
                        log_debug("Failed to read the DNS snooping queue: %m");
                        break;
                }
                len = (int) k;
                for (struct nlmsghdr *nlh = (struct nlmsghdr *) s->buf; mnl_nlmsg_ok(nlh, len);
                     nlh = mnl_nlmsg_next(nlh, &len))
                        if (NFNL_MSG_TYPE(nlh->nlmsg_type) == NFQNL_MSG_PACKET)
                                handle_packet(s, nlh);
        }
        verdicts_flush(s);
        commit_start(s);
        return 0;
}

static uint32_t packet_id(const struct nlmsghdr *nlh, bool *ret_ok) {
        struct nlattr *attr[NFQA_MAX + 1] = { NULL };

        *ret_ok = NFNL_MSG_TYPE(nlh->nlmsg_type) == NFQNL_MSG_PACKET && nfq_nlmsg_parse(nlh, attr) >= 0 &&
                  attr[NFQA_PACKET_HDR] &&
                  mnl_attr_get_payload_len(attr[NFQA_PACKET_HDR]) >= sizeof(struct nfqnl_msg_packet_hdr);
        if (!*ret_ok)
                return 0;
        return ntohl(((const struct nfqnl_msg_packet_hdr *) mnl_attr_get_payload(attr[NFQA_PACKET_HDR]))->packet_id);
}

/* Sends one configuration message and waits for its acknowledgement. A reply queued meanwhile
 * (the chains of an earlier run are still there) is accepted unread. */
static int config_send(struct snoop *s, struct nlmsghdr *nlh) {
        uint32_t seq = ++s->seq;
        int r = 1;

        nlh->nlmsg_flags |= NLM_F_ACK;
        nlh->nlmsg_seq = seq;
        if (mnl_socket_sendto(s->nl, nlh, nlh->nlmsg_len) < 0)
                return -errno;
        while (r > 0) {
                ssize_t k = recv(mnl_socket_get_fd(s->nl), s->buf, RECV_BUFFER, 0);
                int len;

                if (k < 0 && errno == ENOBUFS)
                        continue;
                if (k < 0) {
                        r = errno == EAGAIN ? -ETIMEDOUT : -errno;
                        break;
                }
                len = (int) k;
                for (struct nlmsghdr *m = (struct nlmsghdr *) s->buf; mnl_nlmsg_ok(m, len); m = mnl_nlmsg_next(m, &len)) {
                        bool ok;
                        uint32_t id = packet_id(m, &ok);

                        if (ok)
                                verdict_accept(s, id);
                        else if (m->nlmsg_type == NLMSG_ERROR && m->nlmsg_seq == seq &&
                                 mnl_nlmsg_get_payload_len(m) >= sizeof(struct nlmsgerr)) {
                                const struct nlmsgerr *e = mnl_nlmsg_get_payload(m);
                                r = e->error < 0 ? e->error : -e->error;
                        }
                }
        }
        verdicts_flush(s);
        return r;
}

static int config_cmd(struct snoop *s, uint8_t cmd) {
        char buf[256];
        struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, s->queue);

        nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, cmd);
        return config_send(s, nlh);
}

/* Each attribute in a message of its own: a kernel that refuses one attribute refuses the
 * whole message, and a queue left bound in copy-none mode would drop every reply despite
 * bypass. */
static int config_queue(struct snoop *s) {
        char buf[256];
        struct nlmsghdr *nlh;
        int r;

        r = config_cmd(s, NFQNL_CFG_CMD_BIND);
        if (r < 0)
                return r;

        nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, s->queue);
        nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, COPY_RANGE);
        r = config_send(s, nlh);
        if (r >= 0) {
                nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, s->queue);
                mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(NFQA_CFG_F_FAIL_OPEN));
                mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_FAIL_OPEN));
                r = config_send(s, nlh);
        }
        if (r >= 0) {
                nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, s->queue);
                nfq_nlmsg_cfg_put_qmaxlen(nlh, QUEUE_MAXLEN);
                r = config_send(s, nlh);
        }
        if (r < 0)
                (void) config_cmd(s, NFQNL_CFG_CMD_UNBIND);
        return r;
}

int snoop_new(sd_event *e, uint16_t queue, usec_t hold_max, const struct snoop_callbacks *cb, void *userdata,
              struct snoop **ret) {
        struct timeval tv = { .tv_sec = CONFIG_ACK_TIMEOUT_SEC };
        struct snoop *s;
        int r, one = 1, size = SOCKET_RCVBUF;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        *s = (struct snoop) {
                .queue = queue,
                .hold_max = hold_max,
                .cb = *cb,
                .userdata = userdata,
                .next_round = 1,
        };
        s->buf = malloc(RECV_BUFFER);
        s->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
        if (!s->buf || !s->nl) {
                r = s->buf ? -errno : -ENOMEM;
                goto fail;
        }
        if (mnl_socket_bind(s->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
                r = -errno;
                goto fail;
        }
        s->portid = mnl_socket_get_portid(s->nl);
        /* Bursts of replies must not overflow the socket; FORCE needs CAP_NET_ADMIN, which the
         * daemon has, the plain one is the fallback. Lost messages are ENOBUFS, counted. */
        if (setsockopt(mnl_socket_get_fd(s->nl), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
                (void) setsockopt(mnl_socket_get_fd(s->nl), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
        (void) setsockopt(mnl_socket_get_fd(s->nl), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
        (void) setsockopt(mnl_socket_get_fd(s->nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

        r = config_queue(s);
        /* The kernel refuses a queue bound by another socket with EPERM, as it refuses a
         * process without CAP_NET_ADMIN: tell them apart. */
        if (r == -EPERM && snoop_queue_bound(queue) > 0)
                r = -EBUSY;
        if (r < 0)
                goto fail;
        /* Before anything else on the loop: a reply waits for its verdict while the loop does
         * other work (the nftables monitor reading a big foreign transaction's events). */
        r = sd_event_add_io(e, &s->io, mnl_socket_get_fd(s->nl), EPOLLIN, on_io, s);
        if (r >= 0)
                r = sd_event_source_set_priority(s->io, SD_EVENT_PRIORITY_IMPORTANT);
        if (r >= 0)
                r = sd_event_add_time(e, &s->hold_timer, CLOCK_MONOTONIC, 0, USEC_PER_MSEC, on_hold_timer, s);
        if (r >= 0)
                r = sd_event_source_set_priority(s->hold_timer, SD_EVENT_PRIORITY_IMPORTANT);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->hold_timer, SD_EVENT_OFF);
        if (r < 0) {
                sd_event_source_disable_unref(s->io);
                sd_event_source_disable_unref(s->hold_timer);
                (void) config_cmd(s, NFQNL_CFG_CMD_UNBIND);
                goto fail;
        }
        *ret = s;
        return 0;
fail:
        if (s->nl)
                mnl_socket_close(s->nl);
        free(s->buf);
        free(s);
        return r;
}

struct snoop *snoop_free(struct snoop *s) {
        if (!s)
                return NULL;
        sd_event_source_disable_unref(s->io);
        sd_event_source_disable_unref(s->hold_timer);
        s->hold_timer = NULL;
        /* Replies still in the socket get their verdict before the queue goes: unbinding
         * drops whatever is left in it. */
        for (unsigned n = 0; n < 4096; n++) {
                ssize_t k = recv(mnl_socket_get_fd(s->nl), s->buf, RECV_BUFFER, MSG_DONTWAIT);
                int len;

                if (k < 0 && errno == ENOBUFS)
                        continue;
                if (k <= 0)
                        break;
                len = (int) k;
                for (struct nlmsghdr *nlh = (struct nlmsghdr *) s->buf; mnl_nlmsg_ok(nlh, len);
                     nlh = mnl_nlmsg_next(nlh, &len)) {
                        bool ok;
                        uint32_t id = packet_id(nlh, &ok);
                        if (ok)
                                verdict_accept(s, id);
                }
        }
        /* Held ones too, whatever their transaction is doing. */
        (void) held_release(s, RELEASE_ALL, 0, false, now_usec(CLOCK_MONOTONIC));
        (void) config_cmd(s, NFQNL_CFG_CMD_UNBIND);
        mnl_socket_close(s->nl);
        free(s->buf);
        free(s);
        return NULL;
}

int snoop_queue_bound(uint16_t queue) {
        _cleanup_fclose_ FILE *f = fopen("/proc/net/netfilter/nfnetlink_queue", "re");
        char line[256];

        if (!f)
                return -errno;
        /* One line per bound queue: "%5u %6u %5u ...", the queue number first. */
        while (fgets(line, sizeof(line), f)) {
                unsigned long q;
                char *end;

                errno = 0;
                q = strtoul(line, &end, 10);
                if (errno == 0 && end != line && q == queue)
                        return 1;
        }
        return 0;
}
