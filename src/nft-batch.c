/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The batch socket: building a batch of messages, each with its own sequence number, sending it
 * in one sendmsg() and matching every reply back to the object it was about (the pattern of
 * nftables src/mnl.c); single requests (GET) and the ruleset generation. */
#include <limits.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <libnftnl/table.h>

#include "nft-internal.h"
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

/* Replies are queued while the kernel processes the batch inside our sendmsg(); this bounds the
 * wait for any that are not there yet. */
#define NFT_ACK_TIMEOUT_MSEC 5000
/* Bounds the datagrams thrown away before an exchange (each at least one ACK). */
#define NFT_DRAIN_MAX 65536U

static const char *nft_op_to_string(enum nft_op op) {
        switch (op) {
        case NFT_OP_BEGIN:
        case NFT_OP_END:
                return "starting the transaction";
        case NFT_OP_NEW_TABLE:
                return "creating the table";
        case NFT_OP_DEL_TABLE:
                return "deleting the table";
        case NFT_OP_NEW_CHAIN:
                return "creating the chain";
        case NFT_OP_DEL_CHAIN:
                return "deleting the chain";
        case NFT_OP_FLUSH_CHAIN:
                return "flushing the chain";
        case NFT_OP_NEW_RULE:
                return "adding a rule";
        case NFT_OP_NEW_SET:
                return "creating the set";
        case NFT_OP_DEL_SET:
                return "deleting the set";
        case NFT_OP_FLUSH_SET:
                return "flushing the set";
        case NFT_OP_ADD_ELEMENTS:
                return "adding elements";
        case NFT_OP_DEL_ELEMENTS:
                return "deleting elements";
        case NFT_OP_NEW_PORT_SET:
                return "adding the port set of a rule";
        }
        return "?";
}

static void batch_free_pages(struct nft_batch *b) {
        for (size_t i = 0; i < b->n_pages; i++)
                (void) munmap(b->pages[i].iov_base, NFT_BATCH_PAGE);
        free(b->pages);
        b->pages = NULL;
        b->n_pages = b->allocated_pages = 0;
}

/* Frees what the batch holds and leaves it empty, so that a second call (a cleanup path
 * after an early one) is harmless. */
void nft_batch_done(struct nft_batch *b) {
        batch_free_pages(b);
        b->size = 0;
        free(b->msgs);
        b->msgs = NULL;
        b->n_msgs = b->allocated_msgs = 0;
}

/* A page of its own mapping rather than from malloc(): returned to the system when the batch
 * is done, it neither stays resident nor splits the heap. */
static int batch_add_page(struct nft_batch *b) {
        void *p;
        int r;

        if (b->n_pages >= NFT_BATCH_PAGES_MAX)
                return -EMSGSIZE;
        r = grow_array((void **) &b->pages, &b->allocated_pages, b->n_pages + 1, sizeof(*b->pages));
        if (r < 0)
                return r;
        p = mmap(NULL, NFT_BATCH_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
                return -errno;
        /* Written a few kilobytes at a time, the batch should cost what it holds, not a huge
         * page (the pages of successive batches may share one aligned 2 MiB range). */
        (void) madvise(p, NFT_BATCH_PAGE, MADV_NOHUGEPAGE);
        b->pages[b->n_pages++] = (struct iovec) { .iov_base = p, .iov_len = 0 };
        return 0;
}

void nft_batch_rewind(struct nft_batch *b, size_t size, size_t n_msgs) {
        while (b->size > size) {
                struct iovec *last = &b->pages[b->n_pages - 1];
                size_t drop = MIN(last->iov_len, b->size - size);

                last->iov_len -= drop;
                b->size -= drop;
                if (last->iov_len == 0) {
                        (void) munmap(last->iov_base, NFT_BATCH_PAGE);
                        b->n_pages--;
                }
        }
        b->n_msgs = MIN(b->n_msgs, n_msgs);
}

bool nft_batch_msg_fits(const struct nft_batch *b, const struct nlmsghdr *nlh, size_t more) {
        const char *page = b->pages[b->n_pages - 1].iov_base;

        return (size_t) ((const char *) nlh - page) + nlh->nlmsg_len + more <= NFT_BATCH_PAGE;
}

void nft_error_set(struct nft_error *err, const struct nft_batch *b, const struct nft_msg *m, int error,
                      const char *detail) {
        const char *fam = nft_family_to_string(b->family);
        const char *hint = NULL;
        char too_large[200];
        int e = abs(error);

        if (!err)
                return;
        switch (m->op) {
        case NFT_OP_BEGIN:
        case NFT_OP_END:
        case NFT_OP_NEW_TABLE:
        case NFT_OP_DEL_TABLE:
                snprintf(err->object, sizeof(err->object), "table %s %s", fam, b->table);
                break;
        case NFT_OP_NEW_CHAIN:
        case NFT_OP_DEL_CHAIN:
        case NFT_OP_FLUSH_CHAIN:
        case NFT_OP_NEW_RULE:
        case NFT_OP_NEW_PORT_SET:
                snprintf(err->object, sizeof(err->object), "chain %s %s %s", fam, b->table, b->chain);
                break;
        case NFT_OP_NEW_SET:
        case NFT_OP_DEL_SET:
        case NFT_OP_FLUSH_SET:
        case NFT_OP_ADD_ELEMENTS:
        case NFT_OP_DEL_ELEMENTS:
                snprintf(err->object, sizeof(err->object), "set %s %s %s", fam, b->table, m->name);
                break;
        }

        if (e == EPERM || e == EACCES)
                hint = "needs CAP_NET_ADMIN";
        else if (e == EAFNOSUPPORT || e == EPROTONOSUPPORT ||
                 ((m->op == NFT_OP_BEGIN || m->op == NFT_OP_NEW_TABLE) && (e == ENOENT || e == EOPNOTSUPP)))
                hint = "nf_tables is not available in this kernel";
        else if (m->op == NFT_OP_NEW_SET && e == EEXIST)
                hint = "exists with another type or other flags";
        else if (m->op == NFT_OP_DEL_SET && e == EBUSY)
                hint = "still used by a rule outside the daemon's chain";
        else if (m->op == NFT_OP_ADD_ELEMENTS && e == ENFILE)
                hint = "the set is full (declared with a size limit?)";
        else if (m->op == NFT_OP_BEGIN && e == EMSGSIZE) {
                /* sendmsg() refuses a batch larger than the send buffer. SO_SNDBUFFORCE needs
                 * CAP_NET_ADMIN in the initial user namespace; without it (a container)
                 * SO_SNDBUF is capped at net.core.wmem_max, which the kernel doubles. */
                snprintf(too_large, sizeof(too_large),
                         "the batch (%zu bytes) is more than net.core.wmem_max allows without CAP_NET_ADMIN "
                         "in the initial user namespace: raise it to %zu or more, or allow fewer addresses",
                         b->size, b->size / 2 + 4096);
                hint = too_large;
        }

        if (m->op == NFT_OP_NEW_RULE || m->op == NFT_OP_NEW_PORT_SET)
                snprintf(err->hint, sizeof(err->hint), "%s%s%s for group %s%s%s", hint ? hint : "", hint ? ", " : "",
                         nft_op_to_string(m->op), m->name, detail ? ": " : "", detail ? detail : "");
        else if (hint)
                snprintf(err->hint, sizeof(err->hint), "%s%s%s", hint, detail ? ": " : "", detail ? detail : "");
        else
                snprintf(err->hint, sizeof(err->hint), "%s%s%s", nft_op_to_string(m->op), detail ? ": " : "",
                         detail ? detail : "");
}

/* Makes room for one more message of at least NFT_MSG_ROOM bytes in the last page (or a new
 * one), and records what it is about; returns where its header goes. */
static char *batch_reserve(struct nft_batch *b, enum nft_op op, const char *name) {
        struct iovec *page;
        int r;

        if (b->n_pages == 0 || b->pages[b->n_pages - 1].iov_len + NFT_MSG_ROOM > NFT_BATCH_PAGE) {
                r = batch_add_page(b);
                if (r < 0)
                        return NULL;
        }
        r = grow_array((void **) &b->msgs, &b->allocated_msgs, b->n_msgs + 1, sizeof(*b->msgs));
        if (r < 0)
                return NULL;
        b->msgs[b->n_msgs] = (struct nft_msg) { .op = op };
        snprintf(b->msgs[b->n_msgs].name, sizeof(b->msgs[b->n_msgs].name), "%s", name ? name : "");
        b->n_msgs++;
        page = &b->pages[b->n_pages - 1];
        return (char *) page->iov_base + page->iov_len;
}

static uint32_t batch_seq(const struct nft_batch *b) {
        return b->seq_first + (uint32_t) (b->n_msgs - 1);
}

struct nlmsghdr *nft_batch_begin_msg(struct nft_batch *b, uint16_t type, uint16_t flags, enum nft_op op,
                                        const char *name) {
        char *p = batch_reserve(b, op, name);

        if (!p)
                return NULL;
        return nftnl_nlmsg_build_hdr(p, type, (uint16_t) b->family, flags | NLM_F_ACK, batch_seq(b));
}

void nft_batch_end_msg(struct nft_batch *b, struct nlmsghdr *nlh) {
        b->pages[b->n_pages - 1].iov_len += NLMSG_ALIGN(nlh->nlmsg_len);
        b->size += NLMSG_ALIGN(nlh->nlmsg_len);
}

int nft_batch_init(struct nft_batch *b, struct nft *n, int family, const char *table, const char *chain) {
        char *p;

        *b = (struct nft_batch) {
                .n = n,
                .family = family,
                .table = table,
                .chain = chain ? chain : "",
                .seq_first = n->seq,
                .next_set_id = 1,
        };
        p = batch_reserve(b, NFT_OP_BEGIN, NULL);
        if (!p)
                return -ENOMEM;
        nft_batch_end_msg(b, nftnl_batch_begin(p, batch_seq(b)));
        return 0;
}

int nft_batch_finish(struct nft_batch *b) {
        char *p = batch_reserve(b, NFT_OP_END, NULL);

        if (!p)
                return -ENOMEM;
        nft_batch_end_msg(b, nftnl_batch_end(p, batch_seq(b)));
        /* Sequence numbers of a batch are never reused by the next one, so a late reply of an
         * old batch cannot be taken for a new one. */
        b->n->seq += (uint32_t) b->n_msgs;
        return 0;
}

int nft_batch_table(struct nft_batch *b, enum nft_op op) {
        struct nftnl_table *t = nftnl_table_alloc();
        struct nlmsghdr *nlh;

        if (!t)
                return -ENOMEM;
        nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, (uint32_t) b->family);
        nftnl_table_set_str(t, NFTNL_TABLE_NAME, b->table);
        nlh = nft_batch_begin_msg(b, op == NFT_OP_NEW_TABLE ? NFT_MSG_NEWTABLE : NFT_MSG_DELTABLE,
                              op == NFT_OP_NEW_TABLE ? NLM_F_CREATE : 0, op, NULL);
        if (nlh) {
                nftnl_table_nlmsg_build_payload(nlh, t);
                nft_batch_end_msg(b, nlh);
        }
        nftnl_table_free(t);
        return nlh ? 0 : -ENOMEM;
}

static int socket_buffer(struct nft *n, int opt, int force_opt, int *current, size_t want) {
        int fd = mnl_socket_get_fd(n->nl);
        int v = (int) MIN(want, (size_t) INT_MAX / 2);

        if (v <= *current)
                return 0;
        /* The kernel doubles the value; sendmsg() refuses a batch larger than the send buffer
         * (EMSGSIZE near 7,500 IPv4 elements with the default). FORCE passes rmem/wmem_max
         * and needs CAP_NET_ADMIN, which every nftables change needs anyway. */
        if (setsockopt(fd, SOL_SOCKET, force_opt, &v, sizeof(v)) >= 0) {
                *current = v;
                return 0;
        }
        /* Without FORCE the kernel caps the value at wmem_max/rmem_max silently: not
         * remembered, so that the next batch asks again once an operator raised the limit. */
        if (setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v)) < 0)
                return -errno;
        return 0;
}

/* The extended ack message, if the kernel gave one. */
static const char *ack_message(const struct nlmsghdr *nlh) {
        const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
        size_t off = sizeof(*e);
        const struct nlattr *attr;

        if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
                return NULL;
        if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
                off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
        if (off > mnl_nlmsg_get_payload_len(nlh))
                return NULL;
        mnl_attr_for_each_payload((const void *) ((const char *) e + off), mnl_nlmsg_get_payload_len(nlh) - off) {
                if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
                    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
                        return mnl_attr_get_str(attr);
        }
        return NULL;
}

/* Replies left over from an earlier exchange (the rest of the ACKs after ENOBUFS, after a
 * timeout, or after a refused batch whose first reply said it all) would otherwise be read as
 * the answers to the next one, and that one's answers as the next one's, for ever: drop them.
 * Sequence numbers are never reused, so one arriving later still is skipped by its number. */
static void nft_drain(struct nft *n) {
        int fd = mnl_socket_get_fd(n->nl);
        char c;

        /* MSG_TRUNC: each datagram goes whole without a buffer to hold it. */
        for (unsigned i = 0; i < NFT_DRAIN_MAX; i++)
                if (recv(fd, &c, sizeof(c), MSG_DONTWAIT | MSG_TRUNC) < 0 && errno != EINTR && errno != ENOBUFS)
                        return;
}

/* One datagram of replies, waiting at most NFT_ACK_TIMEOUT_MSEC; returns its length or a
 * negative errno. */
static ssize_t nft_recv(struct nft *n, char *buf) {
        int fd = mnl_socket_get_fd(n->nl);

        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                ssize_t k = recv(fd, buf, NFT_RECV_BUFFER, MSG_DONTWAIT);
                int r;

                if (k >= 0)
                        return k;
                if (errno == EINTR)
                        continue;
                if (errno != EAGAIN)
                        return -errno;
                r = poll(&p, 1, NFT_ACK_TIMEOUT_MSEC);
                if (r == 0)
                        return -ETIMEDOUT;
                if (r < 0 && errno != EINTR)
                        return -errno;
        }
}

int nft_batch_prepare_send(struct nft_batch *b, struct nft_error *err) {
        struct nft *n = b->n;
        int r;

        r = socket_buffer(n, SO_SNDBUF, SO_SNDBUFFORCE, &n->sndbuf, b->size + 64 * 1024);
        if (r >= 0)
                r = socket_buffer(n, SO_RCVBUF, SO_RCVBUFFORCE, &n->rcvbuf, MAX(b->n_msgs * 1024, (size_t) 256 * 1024));
        if (r < 0) {
                nft_error_set(err, b, &b->msgs[0], r, "cannot size the socket buffers");
                return r;
        }
        nft_drain(n);
        return 0;
}

int nft_batch_transmit(struct nft_batch *b) {
        struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
        struct msghdr m = {
                .msg_name = &kernel,
                .msg_namelen = sizeof(kernel),
                .msg_iov = b->pages,
                .msg_iovlen = b->n_pages,
        };
        int r;

        /* The kernel gathers the pages into one message and processes the whole batch inside
         * this call, waiting for the nftables commit lock if another process holds it; the
         * replies are queued before it returns. sendmsg() (as nft does) where every other message
         * of the daemon's netlink sockets goes with sendto(): a test can then slow down exactly
         * the transactions (strace inject=sendmsg:delay_enter, tests/integration/snoop-slow-send.sh). */
        r = sendmsg(mnl_socket_get_fd(b->n->nl), &m, 0) < 0 ? -errno : 0;
        /* Copied by the kernel (or refused): nothing reads the pages again, and whoever reads
         * the replies next needs a buffer of its own. b->size stays for the statistics. */
        batch_free_pages(b);
        return r;
}

void nft_acks_init(const struct nft_batch *b, struct nft_acks *a) {
        *a = (struct nft_acks) {
                .expected = b->n_msgs - 2, /* BEGIN and END are not ACKed */
                .failed = SIZE_MAX,
        };
}

bool nft_acks_feed(struct nft_batch *b, struct nft_acks *a, const char *buf, int len) {
        for (const struct nlmsghdr *nlh = (const struct nlmsghdr *) buf; mnl_nlmsg_ok(nlh, len);
             nlh = mnl_nlmsg_next(nlh, &len)) {
                const struct nlmsgerr *e;
                size_t i;

                if (nlh->nlmsg_type != NLMSG_ERROR || mnl_nlmsg_get_payload_len(nlh) < sizeof(struct nlmsgerr))
                        continue;
                e = mnl_nlmsg_get_payload(nlh);
                i = (size_t) (nlh->nlmsg_seq - b->seq_first);
                if (i >= b->n_msgs || b->msgs[i].acked)
                        continue; /* not ours, or a late reply to an older batch */
                b->msgs[i].acked = true;
                a->acked++;
                if (e->error != 0 && i < a->failed) {
                        const char *m = ack_message(nlh);
                        a->failed = i;
                        a->error = e->error < 0 ? e->error : -e->error;
                        snprintf(a->detail, sizeof(a->detail), "%s", m ? m : "");
                }
                /* An error for BEGIN (no permission, no nf_tables) means the kernel refused the
                 * whole batch and there will be nothing else. */
                if (e->error != 0 && i == 0)
                        a->acked = a->expected;
        }
        return a->acked >= a->expected;
}

int nft_acks_result(const struct nft_batch *b, const struct nft_acks *a, struct nft_error *err) {
        if (a->error < 0) {
                nft_error_set(err, b, &b->msgs[a->failed], a->error, a->detail[0] ? a->detail : NULL);
                return a->error;
        }
        return 0;
}

int nft_acks_read_error(const struct nft_batch *b, int r, struct nft_error *err) {
        /* ENOBUFS: replies were lost, so whether the batch was committed is unknown; the caller
         * forgets what it believed about the kernel, and the next exchange drops the replies
         * still queued. */
        nft_error_set(err, b, &b->msgs[0], r,
                      r == -ETIMEDOUT ? "waiting for the kernel's replies" : "reading the kernel's replies");
        if (err)
                err->unknown = true;
        return r;
}

/* Sends the whole batch with one sendmsg() and reads replies until every message is
 * accounted for: a failed batch still ACKs the messages before (and after) the failing one,
 * and the first error in batch order is the one reported. */
int nft_batch_send(struct nft_batch *b, struct nft_error *err) {
        _cleanup_free_ char *buf = NULL;
        struct nft_acks a;
        int r;

        r = nft_batch_prepare_send(b, err);
        if (r < 0)
                return r;
        r = nft_batch_transmit(b);
        if (r < 0) {
                nft_error_set(err, b, &b->msgs[0], r, "sending the batch");
                return r;
        }
        buf = malloc(NFT_RECV_BUFFER);
        if (!buf)
                return -ENOMEM;
        nft_acks_init(b, &a);
        for (;;) {
                ssize_t k = nft_recv(b->n, buf);

                if (k < 0)
                        return nft_acks_read_error(b, (int) k, err);
                /* libmnl walks with an int length (never a pointer into the ssize_t: on a
                 * big-endian 64-bit machine that is its high word); nft_recv() returns at most
                 * NFT_RECV_BUFFER, so this only guards the conversion. */
                if (k > INT_MAX)
                        return -EMSGSIZE;
                if (nft_acks_feed(b, &a, buf, (int) k))
                        break;
        }
        return nft_acks_result(b, &a, err);
}

/* Sends one request (not a batch) and feeds every reply to cb until the kernel says done.
 * Replies with another sequence number are late answers to something older: skipped, never
 * an error (mnl_cb_run() alone would fail with EPROTO, and leave this request's own reply
 * queued for the next one to trip over). */
int nft_request(struct nft *n, struct nlmsghdr *nlh, mnl_cb_t cb, void *data) {
        _cleanup_free_ char *buf = malloc(NFT_RECV_BUFFER);
        uint32_t seq = nlh->nlmsg_seq;
        int r;

        if (!buf)
                return -ENOMEM;
        nft_drain(n);
        if (mnl_socket_sendto(n->nl, nlh, nlh->nlmsg_len) < 0)
                return -errno;
        for (;;) {
                ssize_t k = nft_recv(n, buf);
                int len;

                if (k < 0)
                        return (int) k;
                len = (int) k;
                for (const struct nlmsghdr *m = (const struct nlmsghdr *) buf; mnl_nlmsg_ok(m, len);
                     m = mnl_nlmsg_next(m, &len)) {
                        if (m->nlmsg_seq != seq)
                                continue;
                        errno = 0;
                        r = mnl_cb_run(m, m->nlmsg_len, seq, n->portid, cb, data);
                        if (r < 0)
                                return errno > 0 ? -errno : -EPROTO;
                        if (r == MNL_CB_STOP)
                                return 0;
                }
        }
}

struct gen_reply {
        uint32_t id;
        bool found;
};

static int gen_cb(const struct nlmsghdr *nlh, void *data) {
        struct gen_reply *g = data;
        const struct nlattr *a;

        mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
                if (mnl_attr_get_type(a) == NFTA_GEN_ID && mnl_attr_validate(a, MNL_TYPE_U32) >= 0) {
                        g->id = ntohl(mnl_attr_get_u32(a));
                        g->found = true;
                }
        }
        return MNL_CB_OK;
}

int nft_get_generation(struct nft *n, uint32_t *ret) {
        char buf[NFT_REQUEST_BUFFER];
        struct gen_reply g = { .found = false };
        struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK, n->seq++);
        int r;

        r = nft_request(n, nlh, gen_cb, &g);
        if (r < 0)
                return r;
        if (!g.found)
                return -EPROTO;
        *ret = g.id;
        return 0;
}
