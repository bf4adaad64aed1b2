/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ares.h>
#include <sys/epoll.h>
#include <time.h>

#include "config.h"
#include "log.h"
#include "resolver.h"

/* More than about 64 queries outstanding on one UDP socket make servers (and the kernel's
 * socket buffer) drop answers; the rest wait in a FIFO. Counted in DNS queries, not hosts:
 * a dual-stack host takes two. */
#define RESOLVER_MAX_INFLIGHT 64

/* c-ares 1.18 waits timeout << (attempt / nservers) per attempt and tries every server
 * `tries` times: with 1000 ms and 2 tries one dead server fails after 1 s + 2 s = 3 s
 * (two servers: 6 s) instead of the 75 s of the defaults (5 s, 4 tries, resolv.conf). A
 * failure costs nothing but a retry with backoff: the addresses stay valid for their
 * validity. */
#define RESOLVER_TIMEOUT_MSEC 1000
#define RESOLVER_TRIES 2
/* Queries per UDP socket on c-ares >= 1.20 (ARES_OPT_UDP_MAX_QUERIES): source port rotation. */
#define RESOLVER_UDP_MAX_QUERIES 8

/* RFC 1035 3.2: class IN, types A and AAAA (RFC 3596). Not from <arpa/nameser.h>, which
 * drags in <sys/param.h> and its MIN/MAX. */
#define DNS_CLASS_IN 1
#define DNS_TYPE_A 1
#define DNS_TYPE_AAAA 28

/* sd-event may delay the c-ares timer by this much to coalesce wake-ups. */
#define RESOLVER_TIMER_ACCURACY (10 * USEC_PER_MSEC)

/* c-ares >= 1.28 deprecates ares_query() and the ares_parse_*_reply() family in favour of
 * ares_dns_record_t, which 1.18 lacks; these are the calls that work on both. */
#define DISABLE_DEPRECATION_WARNINGS \
        _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wdeprecated-declarations\"")
#define REENABLE_WARNINGS _Pragma("GCC diagnostic pop")

struct resolver_job;

/* One DNS query: one family of one job. */
struct resolver_lookup {
        struct resolver_job *job;
        int family;     /* AF_INET or AF_INET6 */
        int status;     /* ARES_* once answered */
};

/* One resolver_query() call, from queue to callback. */
struct resolver_job {
        struct resolver *resolver;
        struct resolver_job *prev, *next;
        char *name;     /* fully qualified, with the trailing dot */
        size_t host_len; /* name without the dot is the caller's host */
        resolver_cb cb;
        void *userdata;
        struct resolver_lookup lookups[2];
        unsigned n_lookups;
        unsigned n_pending; /* lookups sent and not answered */
        struct ip_addr *addrs;
        size_t n_addrs, allocated_addrs;
        usec_t min_ttl;
        char error_text[128];
};

struct resolver_job_list {
        struct resolver_job *head, *tail;
        size_t n;
};

struct resolver_io {
        int fd;
        sd_event_source *source;
};

struct resolver {
        sd_event *event;
        ares_channel channel;
        bool library_initialized;
        sd_event_source *timer; /* CLOCK_MONOTONIC, armed from ares_timeout() */
        sd_event_source *defer; /* reports finished jobs outside c-ares callbacks */
        struct resolver_io *ios;
        size_t n_ios, allocated_ios;
        struct resolver_job_list queued, running, done;
        unsigned n_inflight;    /* DNS queries handed to c-ares and not yet answered */
        bool destroying;        /* inside ares_destroy(): callbacks must not touch jobs */
        bool delivering;        /* inside on_deliver(): resolver_free() is deferred */
        bool free_requested;
        struct resolver_answer answer; /* scratch for lookup_parse() */
};

static void job_list_append(struct resolver_job_list *l, struct resolver_job *j) {
        j->prev = l->tail;
        j->next = NULL;
        if (l->tail)
                l->tail->next = j;
        else
                l->head = j;
        l->tail = j;
        l->n++;
}

static void job_list_remove(struct resolver_job_list *l, struct resolver_job *j) {
        if (j->prev)
                j->prev->next = j->next;
        else
                l->head = j->next;
        if (j->next)
                j->next->prev = j->prev;
        else
                l->tail = j->prev;
        j->prev = j->next = NULL;
        l->n--;
}

static struct resolver_job *job_free(struct resolver_job *j) {
        if (!j)
                return NULL;
        free(j->name);
        free(j->addrs);
        free(j);
        return NULL;
}

static void job_list_free(struct resolver_job_list *l) {
        while (l->head) {
                struct resolver_job *j = l->head;
                job_list_remove(l, j);
                job_free(j);
        }
}

/* Converts a c-ares failure into a negative errno and a short text for logs. Only called for
 * statuses that are not answers (SUCCESS, ENODATA, ENOTFOUND). */
static int ares_status_to_errno(int status, const char **ret_text) {
        switch (status) {
        case ARES_ETIMEOUT:
                *ret_text = "timeout";
                return -ETIMEDOUT;
        case ARES_ESERVFAIL:
                *ret_text = "SERVFAIL";
                return -EIO;
        case ARES_EREFUSED:
                *ret_text = "REFUSED";
                return -EACCES;
        case ARES_ECONNREFUSED:
                /* c-ares 1.18 moves on to the next server on a SERVFAIL or REFUSED answer, and
                 * when none is left reports ECONNREFUSED, as for an ICMP port unreachable. */
                *ret_text = "SERVFAIL/REFUSED/connection refused";
                return -ECONNREFUSED;
        case ARES_EBADRESP:
        case ARES_EFORMERR:
                *ret_text = "malformed answer";
                return -EBADMSG;
        case ARES_ENOTIMP:
                *ret_text = "NOTIMP";
                return -EOPNOTSUPP;
        case ARES_ENOMEM:
                *ret_text = "out of memory";
                return -ENOMEM;
        case ARES_EBADNAME:
                *ret_text = "bad name";
                return -EINVAL;
        case ARES_EDESTRUCTION:
        case ARES_ECANCELLED:
                *ret_text = "cancelled";
                return -ECANCELED;
        default:
                *ret_text = ares_strerror(status);
                return -EIO;
        }
}

static bool ares_status_is_answer(int status) {
        return status == ARES_SUCCESS || status == ARES_ENODATA || status == ARES_ENOTFOUND;
}

static int job_add_address(struct resolver_job *j, const struct ip_addr *a) {
        int r;

        r = grow_array((void **) &j->addrs, &j->allocated_addrs, j->n_addrs + 1, sizeof(struct ip_addr));
        if (r < 0)
                return r;
        j->addrs[j->n_addrs++] = *a;
        return 0;
}

int resolver_parse_answer(const uint8_t *abuf, size_t alen, int family, struct resolver_answer *ret) {
        /* One slot more than accepted, to notice a cut. */
        union {
                struct ares_addrttl a[RESOLVER_MAX_ADDRS + 1];
                struct ares_addr6ttl aaaa[RESOLVER_MAX_ADDRS + 1];
        } ttls;
        int n = RESOLVER_MAX_ADDRS + 1, status;

        if (family != AF_INET && family != AF_INET6)
                return -EAFNOSUPPORT;
        /* A DNS message over TCP is at most 65535 bytes (RFC 1035 4.2.2). */
        if (alen > UINT16_MAX)
                return -EBADMSG;

        /* ares_parse_a_reply() follows the CNAME chain to the question's target and gives each
         * address min(its TTL, every CNAME TTL on the chain): exactly the validity we need.
         * ares_getaddrinfo()'s ai_ttl leaves the CNAME TTLs out. */
DISABLE_DEPRECATION_WARNINGS
        if (family == AF_INET)
                status = ares_parse_a_reply(abuf, (int) alen, NULL, ttls.a, &n);
        else
                status = ares_parse_aaaa_reply(abuf, (int) alen, NULL, ttls.aaaa, &n);
REENABLE_WARNINGS
        switch (status) {
        case ARES_SUCCESS:
                break;
        case ARES_ENODATA:
                return -ENODATA;
        case ARES_ENOMEM:
                return -ENOMEM;
        default:
                return -EBADMSG;
        }

        ret->family = family;
        ret->cut = n > RESOLVER_MAX_ADDRS;
        ret->n_addrs = (size_t) MIN(n, RESOLVER_MAX_ADDRS);
        ret->min_ttl = USEC_INFINITY;
        for (size_t i = 0; i < ret->n_addrs; i++) {
                int ttl;

                if (family == AF_INET) {
                        ret->addrs[i] = addr_make(AF_INET, &ttls.a[i].ipaddr);
                        ttl = ttls.a[i].ttl;
                } else {
                        ret->addrs[i] = addr_make(AF_INET6, &ttls.aaaa[i].ip6addr);
                        ttl = ttls.aaaa[i].ttl;
                }
                /* RFC 2181 8: a TTL with the top bit set means 0; c-ares hands it over as a
                 * negative int. */
                ret->min_ttl = MIN(ret->min_ttl, (usec_t) MAX(ttl, 0) * USEC_PER_SEC);
        }
        return 0;
}

/* Parses one answer into the job. Returns an ARES_* status: SUCCESS (addresses added),
 * ENODATA (no address), or a failure (malformed, out of memory). */
static int lookup_parse(struct resolver_lookup *l, const unsigned char *abuf, int alen) {
        struct resolver_job *j = l->job;
        struct resolver_answer *answer = &j->resolver->answer;
        int r;

        r = resolver_parse_answer(abuf, (size_t) MAX(alen, 0), l->family, answer);
        if (r == -ENODATA)
                return ARES_ENODATA;
        if (r == -ENOMEM)
                return ARES_ENOMEM;
        if (r < 0)
                return ARES_EBADRESP;

        if (answer->cut)
                log_warning("%.*s: DNS answer has more than %u %s addresses, using the first %u.",
                            (int) j->host_len, j->name, RESOLVER_MAX_ADDRS,
                            l->family == AF_INET ? "IPv4" : "IPv6", RESOLVER_MAX_ADDRS);
        for (size_t i = 0; i < answer->n_addrs; i++)
                if (job_add_address(j, &answer->addrs[i]) < 0)
                        return ARES_ENOMEM;
        j->min_ttl = MIN(j->min_ttl, answer->min_ttl);
        return ARES_SUCCESS;
}

static void resolver_schedule_delivery(struct resolver *r) {
        int k = sd_event_source_set_enabled(r->defer, SD_EVENT_ONESHOT);
        if (k < 0)
                log_error_errno(k, "Failed to enable DNS result delivery: %m");
}

/* c-ares callback: records the outcome only. The caller's callback runs later from on_deliver(),
 * so the caller may free the resolver (and so destroy the channel) from it. */
static void on_lookup_done(void *arg, int status, int timeouts, unsigned char *abuf, int alen) {
        struct resolver_lookup *l = arg;
        struct resolver_job *j = l->job;
        struct resolver *r = j->resolver;

        if (r->destroying)
                return; /* ARES_EDESTRUCTION from resolver_free(): the job is freed there */

        if (status == ARES_SUCCESS)
                status = lookup_parse(l, abuf, alen);
        l->status = status;

        r->n_inflight--;
        if (--j->n_pending > 0)
                return;
        job_list_remove(&r->running, j);
        job_list_append(&r->done, j);
        resolver_schedule_delivery(r);
}

/* Hands queued jobs to c-ares while the in-flight bound allows, oldest first. */
static void resolver_start_queued(struct resolver *r) {
        while (r->queued.head && r->n_inflight + r->queued.head->n_lookups <= RESOLVER_MAX_INFLIGHT) {
                struct resolver_job *j = r->queued.head;

                job_list_remove(&r->queued, j);
                job_list_append(&r->running, j);
                /* Set before sending: c-ares may answer synchronously (bad name, no memory)
                 * and the job must not complete before its last lookup is sent. */
                j->n_pending = j->n_lookups;
                r->n_inflight += j->n_lookups;
                for (unsigned i = 0; i < j->n_lookups; i++) {
                        /* ares_query(), unlike ares_search(), never appends a search domain;
                         * the trailing dot makes the name absolute for every version. */
DISABLE_DEPRECATION_WARNINGS
                        ares_query(r->channel, j->name, DNS_CLASS_IN,
                                   j->lookups[i].family == AF_INET ? DNS_TYPE_A : DNS_TYPE_AAAA,
                                   on_lookup_done, &j->lookups[i]);
REENABLE_WARNINGS
                }
        }
}

/* Arms the one timer for c-ares' next retransmission or timeout; off when nothing is pending,
 * so an idle daemon never wakes up for DNS. */
static void resolver_arm_timer(struct resolver *r) {
        struct timeval tv, *t;
        int k;

        t = ares_timeout(r->channel, NULL, &tv);
        if (!t) {
                k = sd_event_source_set_enabled(r->timer, SD_EVENT_OFF);
                goto finish;
        }
        k = sd_event_source_set_time(r->timer, now_usec(CLOCK_MONOTONIC) +
                                     (usec_t) t->tv_sec * USEC_PER_SEC + (usec_t) t->tv_usec);
        if (k >= 0)
                k = sd_event_source_set_enabled(r->timer, SD_EVENT_ONESHOT);
finish:
        if (k < 0)
                log_error_errno(k, "Failed to arm the DNS timeout timer: %m");
}

/* Runs after every step that may have changed c-ares' state. */
static void resolver_after_processing(struct resolver *r) {
        resolver_start_queued(r);
        resolver_arm_timer(r);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct resolver *r = userdata;
        ares_socket_t read_fd = ARES_SOCKET_BAD, write_fd = ARES_SOCKET_BAD;
        uint32_t wanted = 0;

        (void) sd_event_source_get_io_events(s, &wanted);
        /* An error (ICMP port unreachable on the UDP socket, a reset TCP connection) must reach
         * c-ares as readiness, or the level-triggered source would fire forever. */
        if ((wanted & EPOLLIN) && (revents & (EPOLLIN | EPOLLERR | EPOLLHUP)))
                read_fd = fd;
        if ((wanted & EPOLLOUT) && (revents & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
                write_fd = fd;
        ares_process_fd(r->channel, read_fd, write_fd);
        resolver_after_processing(r);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct resolver *r = userdata;

        ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
        resolver_after_processing(r);
        return 0;
}

static struct resolver_io *resolver_find_io(struct resolver *r, int fd) {
        for (size_t i = 0; i < r->n_ios; i++)
                if (r->ios[i].fd == fd)
                        return &r->ios[i];
        return NULL;
}

static void resolver_remove_io(struct resolver *r, struct resolver_io *io) {
        sd_event_source_disable_unref(io->source);
        *io = r->ios[--r->n_ios];
}

/* ARES_OPT_SOCK_STATE_CB: c-ares says which of its sockets it wants to read or write; c-ares
 * calls it with (0, 0) before closing a socket, so the fd is still ours to unregister. */
static void on_sock_state(void *data, ares_socket_t fd, int readable, int writable) {
        struct resolver *r = data;
        struct resolver_io *io = resolver_find_io(r, fd);
        uint32_t events = (readable ? EPOLLIN : 0) | (writable ? EPOLLOUT : 0);
        int k;

        if (events == 0) {
                if (io)
                        resolver_remove_io(r, io);
                return;
        }
        if (io) {
                k = sd_event_source_set_io_events(io->source, events);
                goto finish;
        }
        k = grow_array((void **) &r->ios, &r->allocated_ios, r->n_ios + 1, sizeof(struct resolver_io));
        if (k < 0)
                goto finish;
        k = sd_event_add_io(r->event, &r->ios[r->n_ios].source, fd, events, on_io, r);
        if (k < 0)
                goto finish;
        (void) sd_event_source_set_description(r->ios[r->n_ios].source, "resolver-socket");
        r->ios[r->n_ios++].fd = fd;
finish:
        /* Nothing to hand back to c-ares: its timeout will fail the queries on this socket. */
        if (k < 0)
                log_error_errno(k, "Failed to watch DNS socket %i: %m", fd);
}

static void job_report(struct resolver_job *j) {
        struct resolver_result result = {
                .min_ttl = j->min_ttl,
        };
        char host[HOST_NAME_MAX_LEN + 1];
        bool any_nxdomain = false, all_alike;
        unsigned n_failed = 0;
        size_t n = 0;

        memcpy(host, j->name, j->host_len);
        host[j->host_len] = 0;
        result.host = host;

        /* The first failing family decides error. The text is "timeout" when every family asked
         * failed alike, else it names the families: "SERVFAIL (AAAA)". */
        for (unsigned i = 0; i < j->n_lookups; i++) {
                const struct resolver_lookup *l = &j->lookups[i];
                const char *text;
                int e;

                if (l->status == ARES_ENOTFOUND)
                        any_nxdomain = true;
                if (ares_status_is_answer(l->status))
                        continue;
                e = ares_status_to_errno(l->status, &text);
                if (result.error == 0) {
                        result.error = e;
                        result.error_text = text;
                }
                n_failed++;
        }
        all_alike = n_failed == j->n_lookups &&
                    (j->n_lookups == 1 || j->lookups[0].status == j->lookups[1].status);
        if (n_failed > 0 && !all_alike) {
                size_t used = 0;
                for (unsigned i = 0; i < j->n_lookups; i++) {
                        const struct resolver_lookup *l = &j->lookups[i];
                        const char *text;
                        int k;

                        if (ares_status_is_answer(l->status))
                                continue;
                        (void) ares_status_to_errno(l->status, &text);
                        k = snprintf(j->error_text + used, sizeof(j->error_text) - used, "%s%s (%s)",
                                     used > 0 ? ", " : "", text, l->family == AF_INET ? "A" : "AAAA");
                        if (k < 0 || (size_t) k >= sizeof(j->error_text) - used)
                                break;
                        used += (size_t) k;
                }
                result.error_text = j->error_text;
        }

        /* Sorted and unique: an address returned twice (A via two CNAMEs, a server repeating
         * itself) is one address; its TTL already went into min_ttl. */
        if (j->n_addrs > 0) {
                qsort(j->addrs, j->n_addrs, sizeof(struct ip_addr), addr_compare_qsort);
                for (size_t i = 0; i < j->n_addrs; i++)
                        if (n == 0 || addr_compare(&j->addrs[n - 1], &j->addrs[i]) != 0)
                                j->addrs[n++] = j->addrs[i];
        }
        result.addrs = j->addrs;
        result.n_addrs = n;
        result.nxdomain = any_nxdomain && n == 0;
        if (n == 0)
                result.min_ttl = USEC_INFINITY;

        j->cb(j->resolver, &result, j->userdata);
}

static struct resolver *resolver_destroy(struct resolver *r);

static int on_deliver(sd_event_source *s, void *userdata) {
        struct resolver *r = userdata;

        r->delivering = true;
        while (r->done.head && !r->free_requested) {
                struct resolver_job *j = r->done.head;

                job_list_remove(&r->done, j);
                job_report(j);
                job_free(j);
        }
        r->delivering = false;
        if (r->free_requested) {
                resolver_destroy(r);
                return 0;
        }
        /* Callbacks may have asked for more. */
        resolver_after_processing(r);
        return 0;
}

int resolver_new(sd_event *e, const char *servers, struct resolver **ret) {
        _cleanup_(resolver_freep) struct resolver *r = NULL;
        struct in_addr placeholder = { .s_addr = htonl(INADDR_LOOPBACK) };
        char lookups[] = "b";
        struct ares_options options = {
                /* NOSEARCH and no domains: belt and braces next to ares_query() and the dot. */
                .flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_EDNS,
                .timeout = RESOLVER_TIMEOUT_MSEC,
                .tries = RESOLVER_TRIES,
                .ndots = 1,
                .ndomains = 0,
                .nsort = 0,
                /* DNS only, never /etc/hosts. */
                .lookups = lookups,
                .sock_state_cb = on_sock_state,
        };
        int optmask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_NDOTS |
                      ARES_OPT_DOMAINS | ARES_OPT_SORTLIST | ARES_OPT_LOOKUPS | ARES_OPT_SOCK_STATE_CB;
        int k;

        if (servers && isempty(servers))
                return -EINVAL;

        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->event = sd_event_ref(e);
        options.sock_state_cb_data = r;

        k = ares_library_init(ARES_LIB_INIT_ALL);
        if (k != ARES_SUCCESS)
                return k == ARES_ENOMEM ? -ENOMEM : -EIO;
        r->library_initialized = true;

        if (servers) {
                /* With every option given, c-ares 1.18 does not open /etc/resolv.conf at all
                 * (its parser has CVE-2024-25629); the placeholder is replaced just below. */
                options.servers = &placeholder;
                options.nservers = 1;
                optmask |= ARES_OPT_SERVERS;
        }
#ifdef ARES_OPT_UDP_MAX_QUERIES
        /* c-ares >= 1.20: a new socket, so a new source port, every few queries. With 64 in flight
         * on one port an off-path spoofer has an easier time (and 1.18's query ids are weak). */
        options.udp_max_queries = RESOLVER_UDP_MAX_QUERIES;
        optmask |= ARES_OPT_UDP_MAX_QUERIES;
#endif
#ifdef ARES_OPT_QUERY_CACHE
        /* c-ares >= 1.23 caches answers by default: every refresh must ask the server. */
        options.qcache_max_ttl = 0;
        optmask |= ARES_OPT_QUERY_CACHE;
#endif
        k = ares_init_options(&r->channel, &options, optmask);
        if (k != ARES_SUCCESS) {
                r->channel = NULL;
                return k == ARES_ENOMEM ? -ENOMEM : -EIO;
        }
        if (servers) {
                k = ares_set_servers_ports_csv(r->channel, servers);
                if (k != ARES_SUCCESS)
                        return k == ARES_ENOMEM ? -ENOMEM : -EINVAL;
        }

        k = sd_event_add_time(e, &r->timer, CLOCK_MONOTONIC, USEC_INFINITY, RESOLVER_TIMER_ACCURACY,
                              on_timer, r);
        if (k < 0)
                return k;
        (void) sd_event_source_set_description(r->timer, "resolver-timeout");
        k = sd_event_source_set_enabled(r->timer, SD_EVENT_OFF);
        if (k < 0)
                return k;

        k = sd_event_add_defer(e, &r->defer, on_deliver, r);
        if (k < 0)
                return k;
        (void) sd_event_source_set_description(r->defer, "resolver-deliver");
        k = sd_event_source_set_enabled(r->defer, SD_EVENT_OFF);
        if (k < 0)
                return k;

        *ret = TAKE_PTR(r);
        return 0;
}

static struct resolver *resolver_destroy(struct resolver *r) {
        if (r->channel) {
                /* Never from inside a c-ares callback: only callers' code calls
                 * resolver_free(), and callers' code runs only from on_deliver(). */
                r->destroying = true;
                ares_destroy(r->channel);
        }
        /* c-ares unregisters its sockets while closing them; whatever is left is ours. */
        while (r->n_ios > 0)
                resolver_remove_io(r, &r->ios[r->n_ios - 1]);
        free(r->ios);
        sd_event_source_disable_unref(r->timer);
        sd_event_source_disable_unref(r->defer);
        job_list_free(&r->queued);
        job_list_free(&r->running);
        job_list_free(&r->done);
        if (r->library_initialized)
                ares_library_cleanup();
        sd_event_unref(r->event);
        free(r);
        return NULL;
}

struct resolver *resolver_free(struct resolver *r) {
        if (!r)
                return NULL;
        if (r->delivering) {
                /* Called from a result callback: on_deliver() stops and frees after it. */
                r->free_requested = true;
                return NULL;
        }
        return resolver_destroy(r);
}

int resolver_query(struct resolver *r, const char *host, unsigned families, resolver_cb cb, void *userdata) {
        struct resolver_job *j;
        size_t len;

        if (!r || !host || !cb || r->free_requested)
                return -EINVAL;
        if (families == 0 || (families & ~(unsigned) FAMILY_BOTH) != 0)
                return -EINVAL;
        /* The caller checked the syntax; the length bounds our buffers. */
        len = strlen(host);
        if (len == 0 || len > HOST_NAME_MAX_LEN || host[len - 1] == '.')
                return -EINVAL;

        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        j->name = malloc(len + 2);
        if (!j->name) {
                free(j);
                return -ENOMEM;
        }
        memcpy(j->name, host, len);
        j->name[len] = '.';
        j->name[len + 1] = 0;
        j->host_len = len;
        j->resolver = r;
        j->cb = cb;
        j->userdata = userdata;
        j->min_ttl = USEC_INFINITY;
        if (families & FAMILY_IPV4)
                j->lookups[j->n_lookups++] = (struct resolver_lookup) { .job = j, .family = AF_INET };
        if (families & FAMILY_IPV6)
                j->lookups[j->n_lookups++] = (struct resolver_lookup) { .job = j, .family = AF_INET6 };

        job_list_append(&r->queued, j);
        resolver_after_processing(r);
        return 0;
}

size_t resolver_pending(const struct resolver *r) {
        return r->queued.n + r->running.n + r->done.n;
}
