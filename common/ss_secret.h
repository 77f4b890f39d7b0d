/* ss_secret: secrets come from files (or systemd credentials), never from the
 * command line or the config text, and are never logged. */
#ifndef SS_SECRET_H
#define SS_SECRET_H

#include <stddef.h>

/* Reads a secret: the file's first line without its line end, at most 4 KiB.
 * A relative path is looked up in $CREDENTIALS_DIRECTORY when that is set
 * and the file exists there. Returns a malloc'd string (wipe and free it with
 * ss_secret_free) or NULL with a message in err that names the file, never
 * its content. */
char *ss_secret_read(const char *path, char *err, size_t errlen);
void ss_secret_free(char *secret);

#endif
