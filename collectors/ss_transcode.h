/* ss_transcode: a streaming converter from an export's character encoding to
 * UTF-8, between the HTTP body and the CSV parser.
 *
 * Supported encodings: "utf-8" (passed straight through, byte for byte),
 * "windows-1252", "iso-8859-1", which is read as Windows-1252: files
 * labelled Latin-1 are nearly always written by Windows software, and their
 * bytes 0x80-0x9F are the Windows-1252 characters (0x80 the euro sign, 0x92
 * the right single quote), not the C1 control codes no one types -- and
 * "utf-16" (little-endian unless a byte-order mark says otherwise: what
 * Windows and Excel's "Unicode text" write), "utf-16le", "utf-16be". The
 * conversion is done by iconv.
 *
 * A byte-order mark at the very start decides, whatever the configured
 * encoding: FF FE is UTF-16 little-endian, FE FF UTF-16 big-endian (both
 * marks are dropped), EF BB BF UTF-8 (the mark is passed on, as UTF-8 input
 * always is: the CSV parser drops it). ss_transcode_bom() tells which one
 * decided, so the caller can say so. No Windows-1252 text starts with "ÿþ",
 * "þÿ" or "ï»¿".
 *
 * The caller feeds bytes in chunks of any size, split anywhere; converted text
 * goes to the callback in pieces of at most SS_TRANSCODE_CHUNK bytes (UTF-8
 * input: in the pieces it was fed, save that the first one to three bytes are
 * held until they show whether a byte-order mark is there), valid only during
 * the call. Memory is fixed when the converter is created: one output buffer
 * and a few bytes of an unfinished sequence. A byte the source encoding does
 * not define (0x81, 0x8D, 0x8F, 0x90, 0x9D in Windows-1252; in UTF-16 an
 * unpaired surrogate, two bytes), or an unfinished sequence at the end of
 * input (an odd last byte of UTF-16), becomes U+FFFD, the replacement
 * character, and is counted: text is never silently dropped.
 *
 * The caller owns the converter (ss_transcode_new / ss_transcode_free).
 */
#ifndef SS_TRANSCODE_H
#define SS_TRANSCODE_H

#include <stddef.h>

#define SS_TRANSCODE_CHUNK 16384

struct ss_transcode;

/* Return 0 to go on; any other value stops the conversion and is returned by
 * ss_transcode_feed()/ss_transcode_finish(). */
typedef int (*ss_transcode_cb)(void *ud, const char *data, size_t len);

/* encoding: one of the names above, case-insensitive; NULL means "utf-8".
 * Returns 0 with *out set, -EINVAL for an unknown encoding (or one iconv does
 * not have), -ENOMEM. */
int ss_transcode_new(struct ss_transcode **out, const char *encoding, ss_transcode_cb cb, void *ud);
void ss_transcode_free(struct ss_transcode *t);

/* Returns 0, a non-zero value returned by the callback, -EIO when iconv
 * fails in a way it does not document, or -ENOMEM when a byte-order mark
 * asks for a converter that cannot be made. */
int ss_transcode_feed(struct ss_transcode *t, const char *buf, size_t len);
/* Ends the input: an unfinished sequence becomes U+FFFD; all output is
 * delivered. Same returns as ss_transcode_feed(). */
int ss_transcode_finish(struct ss_transcode *t);

/* 1 when the converter passes bytes through unchanged (UTF-8; before the
 * first bytes, as configured). */
int ss_transcode_is_identity(const struct ss_transcode *t);
/* The encoding being read: "UTF-8", "WINDOWS-1252", "UTF-16LE", "UTF-16BE". */
const char *ss_transcode_encoding(const struct ss_transcode *t);
/* The byte-order mark that chose the encoding ("UTF-8", "UTF-16LE",
 * "UTF-16BE"), or NULL when the input has none (or has not begun). */
const char *ss_transcode_bom(const struct ss_transcode *t);
/* Bytes replaced by U+FFFD so far (for UTF-16, units of two bytes). */
unsigned long long ss_transcode_replaced(const struct ss_transcode *t);

#endif
