/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "util.h"

int parse_duration(const char *s, usec_t *ret) {
        static const struct { char suffix; usec_t unit; } units[] = {
                { 's', USEC_PER_SEC }, { 'm', USEC_PER_MINUTE },
                { 'h', USEC_PER_HOUR }, { 'd', USEC_PER_DAY },
        };
        usec_t total = 0;

        if (isempty(s))
                return -EINVAL;

        while (*s) {
                usec_t unit = USEC_PER_SEC, n = 0;

                if (!isdigit((unsigned char) *s))
                        return -EINVAL;
                for (; isdigit((unsigned char) *s); s++) {
                        if (n > (UINT64_MAX - 9) / 10)
                                return -ERANGE;
                        n = n * 10 + (usec_t) (*s - '0');
                }
                if (*s) {
                        size_t i;
                        for (i = 0; i < ELEMENTSOF(units); i++)
                                if (*s == units[i].suffix)
                                        break;
                        if (i == ELEMENTSOF(units))
                                return -EINVAL;
                        unit = units[i].unit;
                        s++;
                }
                if (n > UINT64_MAX / unit || total > UINT64_MAX - n * unit)
                        return -ERANGE;
                total += n * unit;
        }

        *ret = total;
        return 0;
}

char *format_duration(char *buf, size_t size, usec_t d) {
        static const struct { const char *suffix; usec_t unit; } units[] = {
                { "d", USEC_PER_DAY }, { "h", USEC_PER_HOUR },
                { "m", USEC_PER_MINUTE }, { "s", USEC_PER_SEC },
        };
        size_t used = 0;
        int parts = 0;

        if (d == USEC_INFINITY) {
                snprintf(buf, size, "never");
                return buf;
        }
        /* Round up to whole seconds: "expires in 0s" would be a lie while it still exists. */
        d = (d + USEC_PER_SEC - 1) / USEC_PER_SEC * USEC_PER_SEC;
        buf[0] = 0;
        for (size_t i = 0; i < ELEMENTSOF(units) && parts < 2; i++) {
                usec_t n = d / units[i].unit;
                if (n == 0 && parts == 0)
                        continue;
                if (n > 0) {
                        int k = snprintf(buf + used, size - used, "%llu%s", (unsigned long long) n, units[i].suffix);
                        if (k < 0 || (size_t) k >= size - used)
                                break;
                        used += (size_t) k;
                }
                parts++;
                d -= n * units[i].unit;
        }
        if (used == 0)
                snprintf(buf, size, "0s");
        return buf;
}

char *format_timestamp(char *buf, size_t size, usec_t realtime) {
        time_t t = (time_t) (realtime / USEC_PER_SEC);
        struct tm tm;

        if (realtime == 0 || realtime == USEC_INFINITY || !localtime_r(&t, &tm) ||
            strftime(buf, size, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                snprintf(buf, size, "n/a");
        return buf;
}

usec_t now_usec(int clock_id) {
        struct timespec ts;

        if (clock_gettime(clock_id, &ts) < 0)
                abort(); /* Only fails for an invalid clock id: a programming error. */
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
}

int grow_array(void **array, size_t *allocated, size_t need, size_t size) {
        size_t n;
        void *p;

        if (need <= *allocated)
                return 0;
        n = MAX(need, *allocated * 2);
        n = MAX(n, (size_t) 8);
        if (n > SIZE_MAX / size)
                return -ENOMEM;
        p = realloc(*array, n * size);
        if (!p)
                return -ENOMEM;
        *array = p;
        *allocated = n;
        return 0;
}

size_t binary_search(size_t lo, size_t hi, const void *key, search_compare_func compare,
                     const void *userdata, bool *ret_found) {
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = compare(mid, key, userdata);

                if (c == 0) {
                        *ret_found = true;
                        return mid;
                }
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *ret_found = false;
        return lo;
}

int path_split(const char *path, char **ret_dir, const char **ret_base) {
        const char *slash = strrchr(path, '/');
        char *dir;

        if (!slash)
                dir = strdup(".");
        else if (slash == path)
                dir = strdup("/");
        else
                dir = strndup(path, (size_t) (slash - path));
        if (!dir)
                return -ENOMEM;
        *ret_dir = dir;
        *ret_base = slash ? slash + 1 : path;
        return 0;
}

/* A write killed between mkostemp() and rename() leaves BASE.tmp-XXXXXX behind; with one
 * writer per file any such file is a leftover: removed, so crashes do not accumulate them. */
static void remove_stale_temporaries(int dir_fd, const char *base) {
        size_t n = strlen(base);
        DIR *d;
        int fd;

        fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return;
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return;
        }
        for (struct dirent *de; (de = readdir(d));) {
                const char *suffix = de->d_name + n;

                if (strncmp(de->d_name, base, n) != 0 || strncmp(suffix, ".tmp-", 5) != 0 ||
                    strlen(suffix + 5) != 6)
                        continue;
                (void) unlinkat(dir_fd, de->d_name, 0);
        }
        closedir(d);
}

void atomic_file_release(struct atomic_file *a) {
        if (a->f)
                fclose(a->f);
        if (a->tmp && !a->committed)
                (void) unlink(a->tmp);
        if (a->dir_fd >= 0)
                close(a->dir_fd);
        free(a->tmp);
        free(a->path);
        *a = (struct atomic_file) { .dir_fd = -EBADF };
}

int atomic_file_open(const char *path, bool remove_stale, struct atomic_file *a) {
        _cleanup_free_ char *dir = NULL;
        const char *base;
        int fd, r;

        *a = (struct atomic_file) { .dir_fd = -EBADF };
        r = path_split(path, &dir, &base);
        if (r < 0)
                return r;
        if (isempty(base))
                return -EISDIR;
        a->path = strdup(path);
        if (!a->path || asprintf(&a->tmp, "%s.tmp-XXXXXX", path) < 0) {
                a->tmp = NULL;
                r = -ENOMEM;
                goto fail;
        }
        a->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (a->dir_fd < 0) {
                r = -errno;
                goto fail;
        }
        if (remove_stale)
                remove_stale_temporaries(a->dir_fd, base);
        fd = mkostemp(a->tmp, O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                free(a->tmp); /* nothing to unlink */
                a->tmp = NULL;
                goto fail;
        }
        /* mkostemp() makes it 0600. */
        if (fchmod(fd, 0644) < 0 || !(a->f = fdopen(fd, "w"))) {
                r = -errno;
                close(fd);
                goto fail;
        }
        return 0;
fail:
        atomic_file_release(a);
        return r;
}

int atomic_file_commit(struct atomic_file *a, bool durable) {
        FILE *f = a->f;
        int r = 0;

        a->f = NULL;
        if (fflush(f) != 0 || ferror(f))
                r = errno > 0 ? -errno : -EIO;
        else if (durable && fsync(fileno(f)) < 0)
                r = -errno;
        if (fclose(f) != 0 && r == 0)
                r = errno > 0 ? -errno : -EIO;
        if (r < 0)
                return r;
        if (rename(a->tmp, a->path) < 0)
                return -errno;
        a->committed = true;
        /* The rename is durable only once the directory is. */
        if (durable && fsync(a->dir_fd) < 0)
                return -errno;
        return 0;
}
