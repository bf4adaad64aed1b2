/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The snooping queue. One round per wake-up: read what the socket holds (at most
 * ROUND_PACKETS), accept at once every reply that teaches nothing, let the owner send one
 * transaction for all the others, then accept those. Verdicts go without acknowledgement, many
 * in one datagram. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <time.h>
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
/* Replies held for a lookup at once; more are accepted at once. */
#define WAITING_MAX 64
/* A verdict message: header, nfgenmsg, NFQA_VERDICT_HDR. */
#define VERDICT_MSG_SIZE 64
#define CONFIG_ACK_TIMEOUT_SEC 2
/* Late releases and lost messages are said at most this often. */
#define LOG_INTERVAL_USEC (60 * USEC_PER_SEC)

struct held {
        uint32_t id;
        uint64_t token;
        usec_t since;  /* CLOCK_MONOTONIC */
        bool released; /* by the watchdog, while the transaction was still being committed */
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
        struct held held[ROUND_PACKETS];     /* this round's, until on_commit */
        size_t n_held;
        struct held waiting[WAITING_MAX];    /* until snoop_release() or hold_max */
        size_t n_waiting;
        sd_event_source *hold_timer;
        uint64_t next_token;
        struct snoop_stats stats;
        /* The watchdog thread: while on_commit() blocks in the kernel (another process holds the
         * nftables commit lock, and sendmsg() waits for it inside the kernel, so no event loop
         * could run meanwhile), it accepts the held replies whose snoop_hold_max ran out. It
         * touches held[] only while committing is set, under lock. */
        pthread_t watchdog;
        bool watchdog_started;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool committing, stopping;
        usec_t commit_since;
        char watchdog_verdicts[ROUND_PACKETS * VERDICT_MSG_SIZE];
        char *watchdog_buf;
        usec_t last_late_log, last_lost_log, last_unread_log;
        uint64_t late_logged, lost_logged, unread_logged;
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

static void report_release(struct snoop *s, const struct held *h, bool late, usec_t now) {
        if (s->cb.on_released)
                s->cb.on_released(s, now - h->since, late, s->userdata);
}

static void late_log(struct snoop *s, size_t late, usec_t now) {
        char d[DURATION_MAX];

        s->stats.released_late += late;
        if (late == 0 || !log_due(&s->last_late_log, now))
                return;
        log_warning("Released %" PRIu64 " DNS repl%s later than snoop_hold_max=%s: the nftables transaction or the lookup of a truncated reply was slow.",
                    s->stats.released_late - s->late_logged, s->stats.released_late - s->late_logged == 1 ? "y" : "ies",
                    format_duration(d, sizeof(d), s->hold_max));
        s->late_logged = s->stats.released_late;
}

static void hold_timer_arm(struct snoop *s) {
        usec_t first = USEC_INFINITY;

        for (size_t i = 0; i < s->n_waiting; i++)
                first = MIN(first, s->waiting[i].since);
        if (first == USEC_INFINITY) {
                (void) sd_event_source_set_enabled(s->hold_timer, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time(s->hold_timer, first + s->hold_max);
        (void) sd_event_source_set_enabled(s->hold_timer, SD_EVENT_ONESHOT);
}

/* Accepts the waiting replies that match: the one of token, or (token 0) all past hold_max.
 * Returns how many. */
static size_t waiting_release(struct snoop *s, uint64_t token, usec_t now) {
        size_t w = 0, released = 0;

        for (size_t i = 0; i < s->n_waiting; i++) {
                const struct held *h = &s->waiting[i];
                bool due = token ? h->token == token : now - h->since >= s->hold_max;

                if (!due) {
                        s->waiting[w++] = *h;
                        continue;
                }
                report_release(s, h, token == 0, now);
                verdict_accept(s, h->id);
                released++;
        }
        s->n_waiting = w;
        verdicts_flush(s);
        return released;
}

static int on_hold_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        struct snoop *s = userdata;
        usec_t now = now_usec(CLOCK_MONOTONIC);

        late_log(s, waiting_release(s, 0, now), now);
        hold_timer_arm(s);
        return 0;
}

void snoop_release(struct snoop *s, uint64_t token) {
        if (!s || token == 0)
                return;
        (void) waiting_release(s, token, now_usec(CLOCK_MONOTONIC));
        hold_timer_arm(s);
}

/* Reads one queued packet; returns whether it went on hold. */
static bool handle_packet(struct snoop *s, const struct nlmsghdr *nlh) {
        struct nlattr *attr[NFQA_MAX + 1] = { NULL };
        const struct nfqnl_msg_packet_hdr *ph;
        struct snoop_dns_reply reply;
        uint64_t token;
        uint32_t id;

        if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR] ||
            mnl_attr_get_payload_len(attr[NFQA_PACKET_HDR]) < sizeof(*ph))
                return false; /* no id: nothing to give a verdict to */
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
                return false;
        }
        token = ++s->next_token;
        switch (s->cb.on_reply(s, &reply, token, s->userdata)) {
        case SNOOP_ACCEPT:
                break;
        case SNOOP_HOLD_COMMIT:
                if (s->n_held >= ELEMENTSOF(s->held))
                        break;
                s->held[s->n_held++] = (struct held) { .id = id, .token = token, .since = now_usec(CLOCK_MONOTONIC) };
                s->stats.held++;
                return true;
        case SNOOP_HOLD_RELEASE:
                s->stats.truncated++;
                if (s->n_waiting >= ELEMENTSOF(s->waiting))
                        break;
                s->waiting[s->n_waiting++] = (struct held) { .id = id, .token = token, .since = now_usec(CLOCK_MONOTONIC) };
                s->stats.held++;
                hold_timer_arm(s);
                return true;
        }
        verdict_accept(s, id);
        return false;
}

static void release_held(struct snoop *s, int commit_result) {
        usec_t now = now_usec(CLOCK_MONOTONIC);
        size_t late = 0;

        for (size_t i = 0; i < s->n_held; i++) {
                bool l = s->held[i].released || now - s->held[i].since > s->hold_max;

                late += l;
                report_release(s, &s->held[i], l || commit_result < 0, now);
                if (!s->held[i].released)
                        verdict_accept(s, s->held[i].id);
        }
        if (commit_result < 0)
                s->stats.commit_failed += s->n_held;
        s->n_held = 0;
        verdicts_flush(s);
        late_log(s, late, now);
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

/* While committing: replies that arrive meanwhile cannot be learned before the commit ends, so
 * they pass at once (unread, as with a full queue); held ones pass at their snoop_hold_max. */
static void *watchdog_main(void *userdata) {
        struct snoop *s = userdata;

        pthread_mutex_lock(&s->lock);
        while (!s->stopping) {
                usec_t now = now_usec(CLOCK_MONOTONIC), next = USEC_INFINITY;
                size_t size = 0;
                struct pollfd p = { .fd = mnl_socket_get_fd(s->nl), .events = POLLIN };
                bool ready;
                int timeout;

                if (!s->committing) {
                        pthread_cond_wait(&s->cond, &s->lock);
                        continue;
                }
                for (size_t i = 0; i < s->n_held; i++) {
                        struct held *h = &s->held[i];
                        struct nlmsghdr *nlh;

                        if (h->released)
                                continue;
                        if (now - h->since < s->hold_max) {
                                next = MIN(next, h->since + s->hold_max);
                                continue;
                        }
                        nlh = nfq_nlmsg_put(s->watchdog_verdicts + size, NFQNL_MSG_VERDICT, s->queue);
                        nfq_nlmsg_verdict_put(nlh, (int) h->id, NF_ACCEPT);
                        size += NLMSG_ALIGN(nlh->nlmsg_len);
                        h->released = true;
                }
                if (size > 0)
                        (void) mnl_socket_sendto(s->nl, s->watchdog_verdicts, size);

                /* A commit within snoop_hold_max is the normal case: what arrives meanwhile waits
                 * for the loop thread and is learned from. Past it, the loop thread reads nothing
                 * until the commit ends: read for it. */
                if (now - s->commit_since < s->hold_max) {
                        struct timespec ts;

                        next = MIN(next, s->commit_since + s->hold_max);
                        ts.tv_sec = (time_t) (next / USEC_PER_SEC);
                        ts.tv_nsec = (long) (next % USEC_PER_SEC) * 1000;
                        (void) pthread_cond_timedwait(&s->cond, &s->lock, &ts);
                        continue;
                }
                timeout = next == USEC_INFINITY ? 50 : (int) MIN((next - now) / USEC_PER_MSEC + 1, (usec_t) 50);
                pthread_mutex_unlock(&s->lock);
                ready = poll(&p, 1, timeout) > 0;
                pthread_mutex_lock(&s->lock);
                /* Only while the commit still runs: after it, the loop thread reads again and
                 * learns from what comes. */
                if (ready && s->committing && !s->stopping) {
                        ssize_t k = recv(p.fd, s->watchdog_buf, RECV_BUFFER, MSG_DONTWAIT);
                        int len = (int) MAX(k, (ssize_t) 0);

                        size = 0;
                        for (struct nlmsghdr *nlh = (struct nlmsghdr *) s->watchdog_buf; mnl_nlmsg_ok(nlh, len);
                             nlh = mnl_nlmsg_next(nlh, &len)) {
                                bool ok;
                                uint32_t id = packet_id(nlh, &ok);
                                struct nlmsghdr *v;

                                if (!ok || size + VERDICT_MSG_SIZE > sizeof(s->watchdog_verdicts))
                                        continue;
                                v = nfq_nlmsg_put(s->watchdog_verdicts + size, NFQNL_MSG_VERDICT, s->queue);
                                nfq_nlmsg_verdict_put(v, (int) id, NF_ACCEPT);
                                size += NLMSG_ALIGN(v->nlmsg_len);
                                s->stats.passed_unread++;
                        }
                        if (size > 0)
                                (void) mnl_socket_sendto(s->nl, s->watchdog_verdicts, size);
                }
        }
        pthread_mutex_unlock(&s->lock);
        return NULL;
}

static int commit_watched(struct snoop *s) {
        int r;

        pthread_mutex_lock(&s->lock);
        s->committing = true;
        s->commit_since = now_usec(CLOCK_MONOTONIC);
        pthread_cond_signal(&s->cond);
        pthread_mutex_unlock(&s->lock);
        r = s->cb.on_commit(s, s->userdata);
        pthread_mutex_lock(&s->lock);
        s->committing = false;
        pthread_mutex_unlock(&s->lock);
        return r;
}

static int on_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        struct snoop *s = userdata;
        int commit = 0;

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
                                (void) handle_packet(s, nlh);
        }
        /* Replies that teach nothing go before the transaction, which may take a while. */
        verdicts_flush(s);
        if (s->n_held > 0) {
                commit = commit_watched(s);
                release_held(s, commit);
                if (s->stats.passed_unread > s->unread_logged &&
                    log_due(&s->last_unread_log, now_usec(CLOCK_MONOTONIC))) {
                        log_warning("Passed %" PRIu64 " DNS repl%s unread while an nftables transaction waited for the kernel longer than snoop_hold_max.",
                                    s->stats.passed_unread - s->unread_logged,
                                    s->stats.passed_unread - s->unread_logged == 1 ? "y" : "ies");
                        s->unread_logged = s->stats.passed_unread;
                }
        }
        return 0;
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
        };
        {
                pthread_condattr_t attr;

                pthread_mutex_init(&s->lock, NULL);
                pthread_condattr_init(&attr);
                pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
                pthread_cond_init(&s->cond, &attr);
                pthread_condattr_destroy(&attr);
        }
        s->buf = malloc(RECV_BUFFER);
        s->watchdog_buf = malloc(RECV_BUFFER);
        s->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
        if (!s->buf || !s->watchdog_buf || !s->nl) {
                r = s->buf && s->watchdog_buf ? -errno : -ENOMEM;
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
        r = sd_event_add_io(e, &s->io, mnl_socket_get_fd(s->nl), EPOLLIN, on_io, s);
        if (r >= 0)
                r = sd_event_add_time(e, &s->hold_timer, CLOCK_MONOTONIC, 0, USEC_PER_MSEC, on_hold_timer, s);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->hold_timer, SD_EVENT_OFF);
        if (r >= 0) {
                r = -pthread_create(&s->watchdog, NULL, watchdog_main, s);
                s->watchdog_started = r == 0;
        }
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
        pthread_cond_destroy(&s->cond);
        pthread_mutex_destroy(&s->lock);
        free(s->buf);
        free(s->watchdog_buf);
        free(s);
        return r;
}

struct snoop *snoop_free(struct snoop *s) {
        if (!s)
                return NULL;
        if (s->watchdog_started) {
                pthread_mutex_lock(&s->lock);
                s->stopping = true;
                pthread_cond_signal(&s->cond);
                pthread_mutex_unlock(&s->lock);
                pthread_join(s->watchdog, NULL);
        }
        pthread_cond_destroy(&s->cond);
        pthread_mutex_destroy(&s->lock);
        sd_event_source_disable_unref(s->io);
        sd_event_source_disable_unref(s->hold_timer);
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
        release_held(s, 0);
        for (size_t i = 0; i < s->n_waiting; i++)
                verdict_accept(s, s->waiting[i].id);
        s->n_waiting = 0;
        verdicts_flush(s);
        (void) config_cmd(s, NFQNL_CFG_CMD_UNBIND);
        mnl_socket_close(s->nl);
        free(s->buf);
        free(s->watchdog_buf);
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
