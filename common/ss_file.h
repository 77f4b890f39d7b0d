/* ss_file: files that must survive a crash or a power cut.
 *
 * ss_file_write_durable() is the one way shelfsync writes such a file (a
 * batch in the outbox, the collector's cursor): the pieces go to NAME.tmp,
 * which is fsynced and renamed over NAME, and then the directory is fsynced
 * so that the rename itself is on disk. Once it returns 0 the file is whole
 * and survives; a file that is visible is complete. On failure nothing is
 * left behind (the .tmp is removed) and NAME is as it was.
 *
 * Every function returns 0 or a negative errno.
 */
#ifndef SS_FILE_H
#define SS_FILE_H

#include <stddef.h>
#include <sys/types.h>

struct ss_file_piece {
    const void *data;
    size_t len;
};

/* Creates path and its missing parents with mode (existing ones are left). */
int ss_mkdir_p(const char *path, mode_t mode);

/* Writes the n pieces, in order, as dirfd/name durably (above). */
int ss_file_write_durable(int dirfd, const char *name, const struct ss_file_piece *pieces, size_t n,
                          mode_t mode);

#endif
