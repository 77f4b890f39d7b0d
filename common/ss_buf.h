/* ss_buf: a growable byte buffer with a hard maximum set at creation, after
 * curl's dynbuf. Every buffer that input can grow is one of these, so no input
 * can make a process allocate without bound. The buffer owns its memory;
 * ss_buf_free() releases it. Contents are always NUL-terminated (the NUL is
 * not counted in len), so text can be used as a C string.
 */
#ifndef SS_BUF_H
#define SS_BUF_H

#include <stddef.h>
#include <stdint.h>

struct ss_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max; /* len never exceeds this */
};

void ss_buf_init(struct ss_buf *b, size_t max);
void ss_buf_free(struct ss_buf *b);
/* Empties the buffer, keeping its allocation. */
void ss_buf_reset(struct ss_buf *b);
/* Returns 0, -E2BIG past the maximum (buffer unchanged) or -ENOMEM. */
int ss_buf_add(struct ss_buf *b, const void *p, size_t n);
int ss_buf_addc(struct ss_buf *b, char c);
int ss_buf_adds(struct ss_buf *b, const char *s);
int ss_buf_printf(struct ss_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Makes room for n more bytes; returns 0, -E2BIG or -ENOMEM. */
int ss_buf_reserve(struct ss_buf *b, size_t n);
/* Little-endian fixed-width integers, for the wire format. */
int ss_buf_add_u16(struct ss_buf *b, uint16_t v);
int ss_buf_add_u32(struct ss_buf *b, uint32_t v);

#endif
