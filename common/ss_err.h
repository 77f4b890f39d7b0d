/* ss_err: the one status convention of shelfsync (docs/hacking.md).
 *
 * Every function that can fail returns int: 0 on success, or a negative
 * code. A positive value is never a failure; where a function returns one,
 * its header names it (a count, or a documented outcome such as "a
 * placeholder: no value"). So `rc = f(...); if (rc < 0) goto out;` is safe
 * without reading f. A value comes back through an out-parameter; a
 * message, where the caller needs one, goes into a caller-owned buffer
 * (char *err, size_t errlen), or -- for the per-field checks on the hot
 * path, whose reasons are fixed text -- through const char **why pointing
 * at a static string.
 *
 * The codes are negated errno values, after libuv, so ss_strerror() and
 * strerror(-rc) read them; the few meanings errno has no name for are
 * spelled below as errno values with a project name.
 */
#ifndef SS_ERR_H
#define SS_ERR_H

#include <errno.h>

/* Bad input: a value, a record or a file that is not what it should be. */
#define SS_EINVAL (-EINVAL)
/* Past a bound set at creation (a buffer's maximum, a table's size). */
#define SS_E2BIG (-E2BIG)
#define SS_ENOMEM (-ENOMEM)
/* Worth retrying later: the peer or the server is away. */
#define SS_ERETRY (-EAGAIN)
/* Stopped on request (a callback asked, or SIGTERM). */
#define SS_ESTOPPED (-ECANCELED)
/* The peer broke the protocol. */
#define SS_EPROTO (-EPROTO)
/* A source cut its answer short (a row cap): what came is good, but not all. */
#define SS_ETRUNCATED (-EOVERFLOW)
/* The config does not fit what the source gave (a wide header whose periods
 * the period field cannot hold): a setup error, not a bad record. */
#define SS_ESETUP (-ENOTSUP)

/* Text for a code (0 gives "success"). */
const char *ss_strerror(int rc);

#endif
