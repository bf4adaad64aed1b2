/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A LAN client for the snooping tests: asks SERVER for NAME (A or AAAA) over UDP, and at once,
 * with no pause between the answer and the SYN, connects to the first address on PORT.
 *
 *   snoop-client SERVER NAME PORT [a|aaaa [ADDR]]
 *                                            (with ADDR: connects there whatever the answer
 *                                            says, for truncated answers) prints "ADDR connected", "ADDR refused",
 *                                            "ADDR timeout", "no-address" or "dns-timeout";
 *                                            exit 0 when the DNS answer came
 *   snoop-client --bench SERVER NAME SECONDS [COUNT]
 *                                            sends queries for NAME, one after another, for
 *                                            SECONDS or until COUNT replies; "{}" in NAME
 *                                            becomes H-L of the query's number N (H = N/250,
 *                                            L = N%250+1), a new name each time, and
 *                                            prints "replies N p50_us X p99_us Y per_s Z"
 *   snoop-client --flood SERVER NAME SECONDS INFLIGHT
 *                                            the same with INFLIGHT queries outstanding at
 *                                            all times (pipelined: the client is not the
 *                                            limit); prints "replies N lost L p50_us X
 *                                            p99_us Y per_s Z" */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static size_t build_query(uint8_t *b, uint16_t id, const char *name, uint16_t type) {
        size_t n = 0;

        b[n++] = (uint8_t) (id >> 8);
        b[n++] = (uint8_t) id;
        b[n++] = 0x01; /* RD */
        b[n++] = 0;
        b[n++] = 0, b[n++] = 1;
        memset(b + n, 0, 6);
        n += 6;
        while (*name) {
                size_t l = strcspn(name, ".");
                b[n++] = (uint8_t) l;
                memcpy(b + n, name, l);
                n += l;
                name += l;
                if (*name == '.')
                        name++;
        }
        b[n++] = 0;
        b[n++] = (uint8_t) (type >> 8), b[n++] = (uint8_t) type;
        b[n++] = 0, b[n++] = 1;
        return n;
}

static size_t skip_name(const uint8_t *b, size_t n, size_t p) {
        while (p < n) {
                if ((b[p] & 0xc0) == 0xc0)
                        return p + 2;
                if (b[p] == 0)
                        return p + 1;
                p += 1 + b[p];
        }
        return n + 1;
}

/* First address of the wanted type in the answer section: 1 found, 0 none, -1 malformed. */
static int first_address(const uint8_t *b, size_t n, uint16_t type, void *ret) {
        size_t p;
        unsigned an;

        if (n < 12)
                return -1;
        an = (unsigned) (b[6] << 8 | b[7]);
        p = skip_name(b, n, 12) + 4;
        for (unsigned i = 0; i < an && p < n; i++) {
                uint16_t t, len;

                p = skip_name(b, n, p);
                if (p + 10 > n)
                        return -1;
                t = (uint16_t) (b[p] << 8 | b[p + 1]);
                len = (uint16_t) (b[p + 8] << 8 | b[p + 9]);
                p += 10;
                if (p + len > n)
                        return -1;
                if (t == type && len == (type == 1 ? 4 : 16)) {
                        memcpy(ret, b + p, len);
                        return 1;
                }
                p += len;
        }
        return 0;
}

static double now_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e6 + (double) ts.tv_nsec / 1e3;
}

static int dns_socket(const char *server, struct sockaddr_storage *ss, socklen_t *len) {
        struct sockaddr_in *s4 = (struct sockaddr_in *) ss;
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) ss;
        int fd;

        memset(ss, 0, sizeof(*ss));
        if (inet_pton(AF_INET, server, &s4->sin_addr) == 1) {
                s4->sin_family = AF_INET;
                s4->sin_port = htons(53);
                *len = sizeof(*s4);
        } else if (inet_pton(AF_INET6, server, &s6->sin6_addr) == 1) {
                s6->sin6_family = AF_INET6;
                s6->sin6_port = htons(53);
                *len = sizeof(*s6);
        } else
                return -1;
        fd = socket(ss->ss_family, SOCK_DGRAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) ss, *len) < 0)
                return -1;
        return fd;
}

/* One query; returns the reply length, 0 on timeout. */
static ssize_t ask(int fd, uint16_t id, const char *name, uint16_t type, uint8_t *reply, size_t size, int timeout_ms) {
        uint8_t q[512];
        size_t n = build_query(q, id, name, type);
        double deadline = now_us() + timeout_ms * 1000.0;

        if (send(fd, q, n, 0) < 0)
                return -1;
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int left = (int) ((deadline - now_us()) / 1000.0);
                ssize_t k;

                if (left <= 0 || poll(&p, 1, left) <= 0)
                        return 0;
                k = recv(fd, reply, size, 0);
                if (k >= 2 && (uint16_t) (reply[0] << 8 | reply[1]) == id)
                        return k;
        }
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

/* NAME with "{}" replaced by H-L of number n. */
static void bench_name(char *out, size_t size, const char *name, size_t n) {
        const char *brace = strstr(name, "{}");

        if (!brace) {
                snprintf(out, size, "%s", name);
                return;
        }
        snprintf(out, size, "%.*s%zu-%zu%s", (int) (brace - name), name, (n / 250) % 256, n % 250 + 1, brace + 2);
}

/* Appends one latency, growing the array; on failure frees it. */
static int record(double **lat, size_t *n, size_t *allocated, double v) {
        if (*n == *allocated) {
                double *more = realloc(*lat, 2 * *allocated * sizeof(double));
                if (!more) {
                        free(*lat);
                        return -1;
                }
                *lat = more;
                *allocated *= 2;
        }
        (*lat)[(*n)++] = v;
        return 0;
}

/* Prints "replies N MISSED M p50_us X p99_us Y per_s Z [max_us W]" and frees lat. */
static int report(double *lat, size_t n, const char *missed_name, size_t missed, double start, bool max) {
        double elapsed = (now_us() - start) / 1e6;

        if (n == 0) {
                printf("replies 0 %s %zu\n", missed_name, missed);
                free(lat);
                return 1;
        }
        qsort(lat, n, sizeof(double), cmp_double);
        printf("replies %zu %s %zu p50_us %.0f p99_us %.0f per_s %.0f", n, missed_name, missed, lat[n / 2],
               lat[(size_t) ((double) n * 0.99)], (double) n / elapsed);
        if (max)
                printf(" max_us %.0f", lat[n - 1]);
        printf("\n");
        free(lat);
        return 0;
}

static int bench(const char *server, const char *pattern, double seconds, size_t count) {
        struct sockaddr_storage ss;
        socklen_t sl;
        int fd = dns_socket(server, &ss, &sl);
        size_t n = 0, allocated = 1 << 16, timeouts = 0;
        double *lat = malloc(allocated * sizeof(double)), start = now_us();
        uint8_t reply[4096];

        if (fd < 0 || !lat)
                return 1;
        while (now_us() - start < seconds * 1e6 && (count == 0 || n < count)) {
                char name[300];
                double t0 = now_us();
                ssize_t k;

                bench_name(name, sizeof(name), pattern, n + timeouts);
                k = ask(fd, (uint16_t) (n + timeouts), name, 1, reply, sizeof(reply), 2000);
                if (k <= 0) {
                        timeouts++;
                        continue;
                }
                if (record(&lat, &n, &allocated, now_us() - t0) < 0)
                        return 1;
        }
        close(fd);
        return report(lat, n, "timeouts", timeouts, start, true);
}

/* Keeps INFLIGHT queries outstanding for SECONDS: each reply sends the next query at once, a
 * query unanswered for a second counts as lost and is replaced. */
static int flood(const char *server, const char *pattern, double seconds, unsigned inflight) {
        struct sockaddr_storage ss;
        socklen_t sl;
        int fd = dns_socket(server, &ss, &sl);
        static double sent_at[65536];
        size_t n = 0, lost = 0, allocated = 1 << 16, next = 0, outstanding = 0;
        double *lat = malloc(allocated * sizeof(double)), start = now_us(), last_reply;
        uint8_t q[512], reply[4096];

        if (fd < 0 || !lat || inflight == 0 || inflight > 4096)
                return 1;
        last_reply = start;
        while (now_us() - start < seconds * 1e6) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                ssize_t k;

                while (outstanding < inflight) {
                        char name[300];
                        uint16_t id = (uint16_t) next;
                        size_t len;

                        bench_name(name, sizeof(name), pattern, next++);
                        len = build_query(q, id, name, 1);
                        sent_at[id] = now_us();
                        if (send(fd, q, len, 0) < 0)
                                return 1;
                        outstanding++;
                }
                if (poll(&p, 1, 100) <= 0) {
                        if (now_us() - last_reply > 1e6) { /* all lost: start again */
                                lost += outstanding;
                                outstanding = 0;
                                last_reply = now_us();
                        }
                        continue;
                }
                while ((k = recv(fd, reply, sizeof(reply), MSG_DONTWAIT)) >= 2) {
                        uint16_t id = (uint16_t) (reply[0] << 8 | reply[1]);
                        double t = now_us();

                        if (sent_at[id] == 0)
                                continue;
                        if (record(&lat, &n, &allocated, t - sent_at[id]) < 0)
                                return 1;
                        sent_at[id] = 0;
                        last_reply = t;
                        if (outstanding > 0)
                                outstanding--;
                }
        }
        close(fd);
        return report(lat, n, "lost", lost, start, false);
}

int main(int argc, char **argv) {
        struct sockaddr_storage ss, to;
        socklen_t sl;
        uint8_t reply[4096], addr[16];
        uint16_t type;
        char text[INET6_ADDRSTRLEN];
        int fd, r;
        ssize_t k;

        if (argc >= 6 && strcmp(argv[1], "--flood") == 0)
                return flood(argv[2], argv[3], atof(argv[4]), (unsigned) atoi(argv[5]));
        if (argc >= 5 && strcmp(argv[1], "--bench") == 0)
                return bench(argv[2], argv[3], atof(argv[4]), argc > 5 ? (size_t) atol(argv[5]) : 0);
        if (argc < 4) {
                fprintf(stderr, "usage: snoop-client SERVER NAME PORT [a|aaaa]\n");
                return 2;
        }
        type = argc > 4 && strcmp(argv[4], "aaaa") == 0 ? 28 : 1;
        fd = dns_socket(argv[1], &ss, &sl);
        if (fd < 0) {
                perror("socket");
                return 2;
        }
        k = ask(fd, (uint16_t) getpid(), argv[2], type, reply, sizeof(reply), 5000);
        if (k <= 0) {
                printf("dns-timeout\n");
                return 1;
        }
        r = argc > 5 ? inet_pton(type == 1 ? AF_INET : AF_INET6, argv[5], addr) : first_address(reply, (size_t) k, type, addr);
        if (r <= 0) {
                printf("no-address\n");
                return 0;
        }

        /* At once: the SYN follows the answer with no pause. */
        memset(&to, 0, sizeof(to));
        if (type == 1) {
                struct sockaddr_in *s4 = (struct sockaddr_in *) &to;
                s4->sin_family = AF_INET;
                s4->sin_port = htons((uint16_t) atoi(argv[3]));
                memcpy(&s4->sin_addr, addr, 4);
                sl = sizeof(*s4);
        } else {
                struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) &to;
                s6->sin6_family = AF_INET6;
                s6->sin6_port = htons((uint16_t) atoi(argv[3]));
                memcpy(&s6->sin6_addr, addr, 16);
                sl = sizeof(*s6);
        }
        inet_ntop(type == 1 ? AF_INET : AF_INET6, addr, text, sizeof(text));
        {
                int s = socket(to.ss_family, SOCK_STREAM, 0), syncnt = 1;
                struct timeval tv = { .tv_usec = 800 * 1000 };

                /* Given up before the first retransmission (1 s): connected means the first SYN
                 * passed. */
                setsockopt(s, IPPROTO_TCP, 7 /* TCP_SYNCNT */, &syncnt, sizeof(syncnt));
                setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
                if (connect(s, (struct sockaddr *) &to, sl) == 0)
                        printf("%s connected\n", text);
                else if (errno == ECONNREFUSED)
                        printf("%s refused\n", text);
                else
                        printf("%s timeout\n", text);
                close(s);
        }
        return 0;
}
