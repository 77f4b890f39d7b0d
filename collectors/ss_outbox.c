/* ss_outbox: see ss_outbox.h. */
#include "ss_outbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ss_file.h"
#include "ss_log.h"

#define SS_OUTBOX_MAGIC "SSB1"
#define SS_OUTBOX_MAX_PAYLOAD ((uint64_t)1 << 30)

struct ss_outbox {
    char dir[PATH_MAX];
    char refused[PATH_MAX];
    int dirfd;
};

int ss_outbox_open(struct ss_outbox **out, const char *state_dir, char *err, size_t errlen)
{
    struct ss_outbox *ob = calloc(1, sizeof(*ob));
    int rc;
    if (!ob)
        return -ENOMEM;
    ob->dirfd = -1;
    if (snprintf(ob->dir, sizeof(ob->dir), "%s/outbox", state_dir) >= (int)sizeof(ob->dir) ||
        snprintf(ob->refused, sizeof(ob->refused), "%s/refused", state_dir) >=
            (int)sizeof(ob->refused)) {
        snprintf(err, errlen, "%s: state directory path too long", state_dir);
        free(ob);
        return -ENAMETOOLONG;
    }
    if ((rc = ss_mkdir_p(ob->dir, 0750)) < 0 || (rc = ss_mkdir_p(ob->refused, 0750)) < 0) {
        snprintf(err, errlen, "%s: cannot create the outbox: %s", state_dir, strerror(-rc));
        free(ob);
        return rc;
    }
    ob->dirfd = open(ob->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (ob->dirfd < 0) {
        rc = -errno;
        snprintf(err, errlen, "%s: cannot open: %s", ob->dir, strerror(errno));
        free(ob);
        return rc;
    }
    /* A .tmp file is a batch whose write did not finish: it was never
     * acknowledged as stored, so the run that made it did not count on it. */
    DIR *d = fdopendir(dup(ob->dirfd));
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            size_t n = strlen(e->d_name);
            if (n > 4 && strcmp(e->d_name + n - 4, ".tmp") == 0)
                unlinkat(ob->dirfd, e->d_name, 0);
        }
        closedir(d);
    }
    *out = ob;
    return 0;
}

void ss_outbox_close(struct ss_outbox *ob)
{
    if (!ob)
        return;
    if (ob->dirfd >= 0)
        close(ob->dirfd);
    free(ob);
}

const char *ss_outbox_dir(const struct ss_outbox *ob)
{
    return ob->dir;
}

int ss_outbox_put(struct ss_outbox *ob, const struct ss_header *h, const struct ss_buf *header,
                  const struct ss_buf *payload, char *name)
{
    unsigned char pre[8], len8[8];

    snprintf(name, SS_OUTBOX_NAME_MAX + 1, "%s-%010u.%s", h->run_id, h->seq,
             h->type == SS_MSG_RUN ? "run" : "batch");
    memcpy(pre, SS_OUTBOX_MAGIC, 4);
    for (int i = 0; i < 4; i++)
        pre[4 + i] = (unsigned char)(header->len >> (8 * i));
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)((uint64_t)payload->len >> (8 * i));
    const struct ss_file_piece pieces[] = {
        {pre, sizeof(pre)},
        {header->data, header->len},
        {len8, sizeof(len8)},
        {payload->data, payload->len},
    };
    return ss_file_write_durable(ob->dirfd, name, pieces, 4, 0640);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(a, b);
}

int ss_outbox_list(struct ss_outbox *ob, char (**names)[SS_OUTBOX_NAME_MAX + 1], size_t *count)
{
    char(*v)[SS_OUTBOX_NAME_MAX + 1] = NULL;
    size_t n = 0, cap = 0;
    int fd = dup(ob->dirfd);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -errno;
    }
    rewinddir(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 7 || len > SS_OUTBOX_NAME_MAX ||
            (strcmp(e->d_name + len - 6, ".batch") != 0 &&
             strcmp(e->d_name + len - 4, ".run") != 0))
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            void *p = realloc(v, ncap * sizeof(*v));
            if (!p) {
                free(v);
                closedir(d);
                return -ENOMEM;
            }
            v = p;
            cap = ncap;
        }
        memcpy(v[n++], e->d_name, len + 1);
    }
    closedir(d);
    if (n)
        qsort(v, n, sizeof(*v), cmp_names);
    *names = v;
    *count = n;
    return 0;
}

void ss_outbox_names_free(char (*names)[SS_OUTBOX_NAME_MAX + 1])
{
    free(names);
}

static int read_all(int fd, void *p, size_t n)
{
    char *c = p;
    while (n) {
        ssize_t r = read(fd, c, n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            return -EBADMSG;
        c += r;
        n -= (size_t)r;
    }
    return 0;
}

int ss_outbox_load(struct ss_outbox *ob, const char *name, struct ss_header *h,
                   struct ss_buf *header, struct ss_buf *payload, char *err, size_t errlen)
{
    unsigned char pre[8], len8[8], extra;
    int rc;
    int fd = openat(ob->dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        snprintf(err, errlen, "%s/%s: %s", ob->dir, name, strerror(errno));
        return rc;
    }
    ss_buf_reset(header);
    ss_buf_reset(payload);
    if ((rc = read_all(fd, pre, sizeof(pre))) < 0 || memcmp(pre, SS_OUTBOX_MAGIC, 4) != 0) {
        snprintf(err, errlen, "%s/%s: not a shelfsync batch file", ob->dir, name);
        rc = -EBADMSG;
        goto out;
    }
    uint32_t hlen =
        (uint32_t)pre[4] | (uint32_t)pre[5] << 8 | (uint32_t)pre[6] << 16 | (uint32_t)pre[7] << 24;
    if (hlen > SS_PROTO_HEADER_MAX || (rc = ss_buf_reserve(header, hlen)) < 0) {
        snprintf(err, errlen, "%s/%s: header of %u bytes is too long", ob->dir, name, hlen);
        rc = -EBADMSG;
        goto out;
    }
    if ((rc = read_all(fd, header->data, hlen)) < 0)
        goto truncated;
    header->len = hlen;
    header->data[hlen] = '\0';
    if ((rc = read_all(fd, len8, sizeof(len8))) < 0)
        goto truncated;
    uint64_t plen = 0;
    for (int i = 0; i < 8; i++)
        plen |= (uint64_t)len8[i] << (8 * i);
    if (plen > SS_OUTBOX_MAX_PAYLOAD || (rc = ss_buf_reserve(payload, (size_t)plen)) < 0) {
        snprintf(err, errlen, "%s/%s: payload of %llu bytes is too large", ob->dir, name,
                 (unsigned long long)plen);
        rc = -EBADMSG;
        goto out;
    }
    if ((rc = read_all(fd, payload->data, (size_t)plen)) < 0)
        goto truncated;
    payload->len = (size_t)plen;
    if (payload->data)
        payload->data[plen] = '\0';
    if (read(fd, &extra, 1) != 0) {
        snprintf(err, errlen, "%s/%s: trailing bytes after the payload", ob->dir, name);
        rc = -EBADMSG;
        goto out;
    }
    if (ss_proto_decode_header(header->data, header->len, SS_PROTO_HEADER_MAX, h, err, errlen) <
            0 ||
        (h->type != SS_MSG_BATCH && (h->type != SS_MSG_RUN || plen != 0))) {
        char why[512];
        snprintf(why, sizeof(why), "%s", err);
        snprintf(err, errlen, "%s/%s: bad header: %s", ob->dir, name, why);
        rc = -EBADMSG;
        goto out;
    }
    rc = 0;
    goto out;
truncated:
    snprintf(err, errlen, "%s/%s: file is truncated", ob->dir, name);
    rc = -EBADMSG;
out:
    close(fd);
    return rc;
}

int ss_outbox_remove(struct ss_outbox *ob, const char *name)
{
    if (unlinkat(ob->dirfd, name, 0) < 0 && errno != ENOENT)
        return -errno;
    /* No fsync of the directory: should the removal be lost in a crash, the
     * batch is resent and acked as a duplicate. */
    return 0;
}

int ss_outbox_refuse(struct ss_outbox *ob, const char *name, const char *reason)
{
    char from[PATH_MAX + SS_OUTBOX_NAME_MAX + 2], to[PATH_MAX + SS_OUTBOX_NAME_MAX + 2];
    char why[SS_OUTBOX_NAME_MAX + 8];
    snprintf(from, sizeof(from), "%s/%s", ob->dir, name);
    snprintf(to, sizeof(to), "%s/%s", ob->refused, name);
    snprintf(why, sizeof(why), "%s.reason", name);
    /* The reason, written as every file that matters is (ss_file); a
     * reason that cannot be written does not keep the batch in the outbox. */
    int rfd = open(ob->refused, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rfd >= 0) {
        const struct ss_file_piece pieces[] = {{reason, strlen(reason)}, {"\n", 1}};
        ss_file_write_durable(rfd, why, pieces, 2, 0640);
        close(rfd);
    }
    if (rename(from, to) < 0)
        return -errno;
    return 0;
}
