/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nft_apply_async(): a transaction sent without waiting on the event loop. The kernel processes
 * a batch inside sendmsg(), and waits there for the nftables commit lock when another process
 * holds it (a big `nft -f`), so the send runs in a thread of its own; the thread touches only
 * the socket and the batch buffer, and says it is done through an eventfd. The replies are
 * then read from the socket by an io source, a timer bounds the wait, and the plan's
 * bookkeeping (nft-apply.c) runs on the loop before the caller's callback.
 *
 * The thread lives as long as the nft object and sleeps between transactions: one created per
 * transaction costs a clone and an exit each, and on a busy machine a new thread waits behind
 * every runnable task before its first run, where a sleeping one that is woken goes first. */
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "nft-internal.h"

/* As nft_batch_send() waits for replies, counted once sendmsg() returned: before, the kernel
 * may be waiting for another process's commit, which ends when it ends. */
#define NFT_ASYNC_TIMEOUT_USEC (5 * USEC_PER_SEC)

/* The sender thread; job and sending under lock. */
struct nft_sender {
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        struct nft_async *job;     /* to send next, NULL when none */
        struct nft_async *sending; /* being sent (the thread touches it until this is NULL) */
        bool stop;
};

struct nft_async {
        struct nft *n;
        struct nft_plan *plan;
        nft_apply_cb cb;
        void *userdata;

        bool queued;         /* handed to the sender thread, not yet known to be back */
        int efd;             /* written by the thread when sendmsg() returned */
        int send_error;      /* its result, read after the eventfd */
        sd_event_source *sent, *replies, *timer, *nothing;

        struct nft_acks acks;
        char *buf;
        struct nft_error err;
};

static void *sender_main(void *userdata) {
        struct nft_sender *t = userdata;

        pthread_mutex_lock(&t->lock);
        for (;;) {
                struct nft_async *a;
                uint64_t one = 1;

                while (!t->job && !t->stop)
                        pthread_cond_wait(&t->cond, &t->lock);
                if (!t->job)
                        break; /* stopping, nothing left to send */
                a = t->sending = t->job;
                t->job = NULL;
                pthread_mutex_unlock(&t->lock);
                a->send_error = nft_batch_transmit(nft_plan_batch(a->plan));
                /* An eventfd write of 1 cannot fail short of a bad descriptor. */
                (void) !write(a->efd, &one, sizeof(one));
                pthread_mutex_lock(&t->lock);
                t->sending = NULL;
                pthread_cond_broadcast(&t->cond);
        }
        pthread_mutex_unlock(&t->lock);
        return NULL;
}

static int sender_start(struct nft *n) {
        struct nft_sender *t;
        int r;

        if (n->sender)
                return 0;
        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        pthread_mutex_init(&t->lock, NULL);
        pthread_cond_init(&t->cond, NULL);
        r = -pthread_create(&t->thread, NULL, sender_main, t);
        if (r < 0) {
                pthread_cond_destroy(&t->cond);
                pthread_mutex_destroy(&t->lock);
                free(t);
                return r;
        }
        n->sender = t;
        return 0;
}

static void sender_submit(struct nft_sender *t, struct nft_async *a) {
        pthread_mutex_lock(&t->lock);
        t->job = a;
        pthread_cond_broadcast(&t->cond);
        pthread_mutex_unlock(&t->lock);
}

/* Takes a back from the thread: unsent, or once its send returned. */
static void sender_withdraw(struct nft_sender *t, struct nft_async *a) {
        pthread_mutex_lock(&t->lock);
        if (t->job == a)
                t->job = NULL;
        while (t->sending == a)
                pthread_cond_wait(&t->cond, &t->lock);
        pthread_mutex_unlock(&t->lock);
}

static void sender_stop(struct nft *n) {
        struct nft_sender *t = n->sender;

        if (!t)
                return;
        pthread_mutex_lock(&t->lock);
        t->stop = true;
        pthread_cond_broadcast(&t->cond);
        pthread_mutex_unlock(&t->lock);
        (void) pthread_join(t->thread, NULL);
        pthread_cond_destroy(&t->cond);
        pthread_mutex_destroy(&t->lock);
        free(t);
        n->sender = NULL;
}

static void async_free(struct nft_async *a) {
        if (!a)
                return;
        if (a->queued)
                sender_withdraw(a->n->sender, a);
        a->sent = sd_event_source_disable_unref(a->sent);
        a->replies = sd_event_source_disable_unref(a->replies);
        a->timer = sd_event_source_disable_unref(a->timer);
        a->nothing = sd_event_source_disable_unref(a->nothing);
        if (a->efd >= 0)
                close(a->efd);
        nft_plan_free(a->plan);
        free(a->buf);
        free(a);
}

void nft_apply_cancel(struct nft *n) {
        async_free(n->async);
        n->async = NULL;
}

void nft_async_cancel(struct nft *n) {
        nft_apply_cancel(n);
        sender_stop(n);
}

bool nft_apply_pending(const struct nft *n) {
        return n->async;
}

/* The transaction is over: bookkeeping, then the callback, which may start the next one. */
static void async_finish(struct nft_async *a, int r) {
        struct nft *n = a->n;
        nft_apply_cb cb = a->cb;
        void *userdata = a->userdata;
        struct nft_error err = a->err;

        if (a->plan)
                r = nft_plan_done(a->plan, r, &err);
        n->async = NULL;
        async_free(a);
        if (cb)
                cb(n, r, &err, userdata);
}

/* Reads what replies are there; finishes once all are in or reading failed. */
static void async_read_replies(struct nft_async *a) {
        struct nft_batch *b = nft_plan_batch(a->plan);
        int fd = mnl_socket_get_fd(a->n->nl);

        for (;;) {
                ssize_t k = recv(fd, a->buf, NFT_RECV_BUFFER, MSG_DONTWAIT);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return; /* the io source calls again */
                        async_finish(a, nft_acks_read_error(b, -errno, &a->err));
                        return;
                }
                if (nft_acks_feed(b, &a->acks, a->buf, (int) MIN(k, (ssize_t) NFT_RECV_BUFFER))) {
                        async_finish(a, nft_acks_result(b, &a->acks, &a->err));
                        return;
                }
        }
}

static int on_replies(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        async_read_replies(userdata);
        return 0;
}

static int on_sent(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct nft_async *a = userdata;
        uint64_t v;
        int r;

        if (read(a->efd, &v, sizeof(v)) < 0 && errno == EAGAIN)
                return 0;
        sender_withdraw(a->n->sender, a);
        a->queued = false;
        a->sent = sd_event_source_disable_unref(a->sent);
        if (a->send_error < 0) {
                nft_error_set(&a->err, nft_plan_batch(a->plan), &nft_plan_batch(a->plan)->msgs[0], a->send_error,
                              "sending the batch");
                async_finish(a, a->send_error);
                return 0;
        }
        /* The replies were queued before sendmsg() returned: most often all are there now. */
        r = sd_event_source_set_enabled(a->replies, SD_EVENT_ON);
        if (r >= 0)
                r = sd_event_source_set_time_relative(a->timer, NFT_ASYNC_TIMEOUT_USEC);
        if (r >= 0)
                r = sd_event_source_set_enabled(a->timer, SD_EVENT_ONESHOT);
        if (r < 0) {
                async_finish(a, r);
                return 0;
        }
        async_read_replies(a);
        return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        struct nft_async *a = userdata;

        async_finish(a, nft_acks_read_error(nft_plan_batch(a->plan), -ETIMEDOUT, &a->err));
        return 0;
}

static int on_nothing(sd_event_source *s, void *userdata) {
        async_finish(userdata, 0);
        return 0;
}

int nft_apply_async(struct nft *n, sd_event *e, const struct nft_ruleset *want, usec_t now, bool force,
                    nft_apply_cb cb, void *userdata, struct nft_error *err) {
        struct nft_async *a;
        int r;

        if (n->async)
                return -EBUSY;
        a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        a->n = n;
        a->cb = cb;
        a->userdata = userdata;
        a->efd = -1;

        r = nft_plan_new(n, want, now, force, err, &a->plan);
        if (r < 0)
                goto fail;
        if (err) {
                /* The generation before the send, for the callback's error. */
                a->err.generation_known = err->generation_known;
                a->err.generation = err->generation;
        }
        if (r == 0) {
                /* Nothing to send: the callback all the same, from the loop. */
                r = sd_event_add_defer(e, &a->nothing, on_nothing, a);
                if (r < 0)
                        goto fail;
                n->async = a;
                return 0;
        }
        a->buf = malloc(NFT_RECV_BUFFER);
        if (!a->buf) {
                r = -ENOMEM;
                goto fail;
        }
        a->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (a->efd < 0) {
                r = -errno;
                goto fail;
        }
        r = sd_event_add_io(e, &a->sent, a->efd, EPOLLIN, on_sent, a);
        if (r >= 0)
                r = sd_event_add_io(e, &a->replies, mnl_socket_get_fd(n->nl), EPOLLIN, on_replies, a);
        if (r >= 0)
                r = sd_event_source_set_enabled(a->replies, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_time_relative(e, &a->timer, CLOCK_MONOTONIC, NFT_ASYNC_TIMEOUT_USEC, 0, on_timeout, a);
        if (r >= 0)
                r = sd_event_source_set_enabled(a->timer, SD_EVENT_OFF);
        if (r < 0)
                goto fail;
        r = nft_batch_prepare_send(nft_plan_batch(a->plan), err);
        if (r < 0)
                goto fail;
        nft_acks_init(nft_plan_batch(a->plan), &a->acks);
        r = sender_start(n);
        if (r < 0)
                goto fail;
        sender_submit(n->sender, a);
        a->queued = true;
        n->async = a;
        return 0;
fail:
        if (a->plan && err && !err->object[0])
                snprintf(err->object, sizeof(err->object), "table %s %s", nft_family_to_string(want->family),
                         want->table);
        if (a->plan)
                (void) nft_plan_done(a->plan, r, NULL);
        async_free(a);
        return r;
}
