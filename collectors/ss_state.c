/* ss_state: see ss_state.h. */
#include "ss_state.h"

#include "ss_err.h"
#include "ss_file.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define SS_STATE_CURSOR_VERSION 2
/* The cursor file: the cursor, escaped as JSON, and a little more. */
#define SS_STATE_FILE_MAX (6 * SS_CURSOR_MAX + 4096)

struct ss_state {
    char dir[PATH_MAX];
    int dirfd;
    int lockfd;
};

int ss_state_open(struct ss_state **out, const char *state_dir, char *err, size_t errlen)
{
    char path[PATH_MAX + 16];
    int rc;
    struct ss_state *st = calloc(1, sizeof(*st));

    *out = NULL;
    if (!st)
        return -ENOMEM;
    st->dirfd = st->lockfd = -1;
    if (snprintf(st->dir, sizeof(st->dir), "%s", state_dir) >= (int)sizeof(st->dir)) {
        snprintf(err, errlen, "%s: state directory path too long", state_dir);
        rc = -ENAMETOOLONG;
        goto fail;
    }
    if ((rc = ss_mkdir_p(st->dir, 0750)) < 0) {
        snprintf(err, errlen, "%s: cannot create the state directory: %s", state_dir,
                 strerror(-rc));
        goto fail;
    }
    st->dirfd = open(st->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (st->dirfd < 0) {
        rc = -errno;
        snprintf(err, errlen, "%s: cannot open: %s", state_dir, strerror(errno));
        goto fail;
    }
    snprintf(path, sizeof(path), "%s/lock", st->dir);
    st->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (st->lockfd < 0) {
        rc = -errno;
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        goto fail;
    }
    if (flock(st->lockfd, LOCK_EX | LOCK_NB) < 0) {
        rc = -errno;
        if (errno == EWOULDBLOCK) {
            char pid[32] = "";
            ssize_t n = pread(st->lockfd, pid, sizeof(pid) - 1, 0);
            pid[n > 0 ? n : 0] = '\0';
            pid[strcspn(pid, "\n")] = '\0';
            snprintf(err, errlen,
                     "%s is in use by another shelfsync-collect run (pid %s): two runs on one "
                     "state directory would both fetch and send everything; wait for it to end, "
                     "or give this config its own \"state_dir\"",
                     st->dir, pid[0] ? pid : "unknown");
            rc = -EWOULDBLOCK;
        } else {
            snprintf(err, errlen, "%s: cannot lock: %s", path, strerror(errno));
        }
        goto fail;
    }
    char pid[32];
    int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(st->lockfd, 0) < 0 || pwrite(st->lockfd, pid, (size_t)n, 0) != n) {
        rc = -errno;
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        goto fail;
    }
    *out = st;
    return 0;
fail:
    ss_state_close(st);
    return rc;
}

void ss_state_close(struct ss_state *st)
{
    if (!st)
        return;
    if (st->lockfd >= 0)
        close(st->lockfd); /* releases the flock */
    if (st->dirfd >= 0)
        close(st->dirfd);
    free(st);
}

const char *ss_state_dir(const struct ss_state *st)
{
    return st->dir;
}

/* ---- identity ---- */

/* Keys that decide how records are delivered, not what they are. */
static const char *const delivery_keys[] = {"description", "daemon",     "send",      "batch",
                                            "state_dir",   "interval_s", "log_level", NULL};
static const char *const http_client_keys[] = {"connect_timeout_s", "timeout_s",   "retries",
                                               "retry_max_s",       "low_speed_s", "ca_file",
                                               "conditional",       NULL};

/* "description" is a comment wherever it stands. */
static void drop_descriptions(json_t *v)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *e;
        json_object_del(v, "description");
        json_object_foreach(v, k, e)
        {
            drop_descriptions(e);
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            drop_descriptions(json_array_get(v, i));
    }
}

int ss_state_identity(const char *config_path, char *out, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_load_file(config_path, JSON_REJECT_DUPLICATES, &jerr);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int rc = SS_ENOMEM;

    if (!root || !json_is_object(root)) {
        snprintf(err, errlen, "%s: cannot read the config as JSON: %s", config_path,
                 root ? "not an object" : jerr.text);
        json_decref(root);
        return SS_EINVAL;
    }
    for (size_t i = 0; delivery_keys[i]; i++)
        json_object_del(root, delivery_keys[i]);
    json_t *http = json_object_get(root, "http");
    for (size_t i = 0; http && json_is_object(http) && http_client_keys[i]; i++)
        json_object_del(http, http_client_keys[i]);
    drop_descriptions(root);
    /* An object left empty says no more than an absent one ("http": {}). */
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(root, tmp, k, v)
    {
        if (json_is_object(v) && json_object_size(v) == 0)
            json_object_del(root, k);
    }
    /* The kind's default is part of what the file means. */
    if (!json_object_get(root, "kind"))
        json_object_set_new(root, "kind", json_string("csv"));
    char *text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
    if (text && EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL) == 1 &&
        mdlen == 32) {
        for (unsigned i = 0; i < mdlen; i++)
            snprintf(out + 2 * i, 3, "%02x", md[i]);
        rc = 0;
    } else {
        snprintf(err, errlen, "%s: cannot compute the config's identity", config_path);
    }
    free(text);
    json_decref(root);
    return rc;
}

/* ---- the cursor ---- */

int ss_state_cursor_read(struct ss_state *st, const char *identity, struct ss_buf *cursor,
                         char *why, size_t whylen)
{
    char *text = NULL;
    json_t *doc = NULL;
    int rc = 0;

    why[0] = '\0';
    ss_buf_reset(cursor);
    int fd = openat(st->dirfd, "cursor", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    struct stat sb;
    if (fstat(fd, &sb) < 0) {
        rc = -errno;
        goto out;
    }
    if (sb.st_size > SS_STATE_FILE_MAX) {
        snprintf(why, whylen, "%s/cursor is larger than %d bytes: not used", st->dir,
                 SS_STATE_FILE_MAX);
        goto out;
    }
    text = malloc((size_t)sb.st_size + 1);
    if (!text) {
        rc = -ENOMEM;
        goto out;
    }
    ssize_t n = pread(fd, text, (size_t)sb.st_size, 0);
    if (n < 0) {
        rc = -errno;
        goto out;
    }
    json_error_t jerr;
    doc = json_loadb(text, (size_t)n, 0, &jerr);
    json_t *cur = doc ? json_object_get(doc, "cursor") : NULL;
    json_t *cfg = doc ? json_object_get(doc, "config") : NULL;
    json_t *ver = doc ? json_object_get(doc, "version") : NULL;
    if (!json_is_string(cur) || !json_is_string(cfg) || !json_is_integer(ver) ||
        json_integer_value(ver) != SS_STATE_CURSOR_VERSION) {
        snprintf(why, whylen,
                 "%s/cursor was written by an older shelfsync-collect: this run fetches in full",
                 st->dir);
        goto out;
    }
    if (strcmp(json_string_value(cfg), identity) != 0) {
        snprintf(why, whylen,
                 "the config changed since the cursor was saved (what shapes records: dataset, "
                 "url, mapping, value maps, ...): this run fetches in full");
        goto out;
    }
    if (ss_buf_add(cursor, json_string_value(cur), json_string_length(cur)) < 0) {
        snprintf(why, whylen, "%s/cursor: the cursor is longer than %d bytes: not used", st->dir,
                 SS_CURSOR_MAX);
        goto out;
    }
    rc = 1;
out:
    json_decref(doc);
    free(text);
    close(fd);
    return rc;
}

int ss_state_cursor_write(struct ss_state *st, const char *identity, const char *cursor, size_t len)
{
    /* What ss_state_cursor_read takes back, no more. */
    if (cursor && len > SS_CURSOR_MAX)
        return -E2BIG;
    json_t *doc = json_pack("{s:i, s:s, s:s%}", "version", SS_STATE_CURSOR_VERSION, "config",
                            identity, "cursor", cursor ? cursor : "", cursor ? len : 0);
    if (!doc)
        return -EINVAL; /* not UTF-8 text */
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (!text)
        return -ENOMEM;
    const struct ss_file_piece piece = {text, strlen(text)};
    int rc = ss_file_write_durable(st->dirfd, "cursor", &piece, 1, 0640);
    free(text);
    return rc;
}

int ss_state_cursor_clear(struct ss_state *st)
{
    if (unlinkat(st->dirfd, "cursor", 0) < 0 && errno != ENOENT)
        return -errno;
    return fsync(st->dirfd) < 0 ? -errno : 0;
}
