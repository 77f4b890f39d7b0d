/* ss_secret: see ss_secret.h. */
#include "ss_secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SS_SECRET_MAX 4096

char *ss_secret_read(const char *path, char *err, size_t errlen)
{
    char full[4096];
    const char *creds = getenv("CREDENTIALS_DIRECTORY");
    const char *use = path;

    if (path[0] != '/' && creds) {
        snprintf(full, sizeof(full), "%s/%s", creds, path);
        if (access(full, R_OK) == 0)
            use = full;
    }
    int fd = open(use, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open secret file: %s", use, strerror(errno));
        return NULL;
    }
    char *buf = calloc(1, SS_SECRET_MAX + 1);
    size_t len = 0;
    if (!buf) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    while (len < SS_SECRET_MAX) {
        ssize_t n = read(fd, buf + len, SS_SECRET_MAX - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "%s: cannot read secret file: %s", use, strerror(errno));
            close(fd);
            ss_secret_free(buf);
            return NULL;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    if (buf[0] == '\0') {
        snprintf(err, errlen, "%s: secret file is empty", use);
        ss_secret_free(buf);
        return NULL;
    }
    return buf;
}

void ss_secret_free(char *secret)
{
    if (!secret)
        return;
    explicit_bzero(secret, strlen(secret));
    free(secret);
}
