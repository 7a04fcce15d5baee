/*
 * mp.h - msgpack in and out, the way linli needs it.
 *
 * Writing goes through msgpack-c's packer, which always picks the shortest
 * encoding of an integer, string, binary or container header: that is what
 * makes our encodings canonical (docs/FORMAT.md, "Canonical msgpack").  The
 * packer writes into an `lbuf`, a growable byte buffer owned by the caller.
 *
 * Reading is a strict cursor (`mpr`) over borrowed bytes: each call checks
 * the type and the length it expects and fails with LINLI_EMALFORMED
 * otherwise, so hostile input never reads past its end.  Strings and binary
 * values are returned as pointers into the input (valid as long as it is).
 */
#ifndef LINLI_MP_H
#define LINLI_MP_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- growable buffer ---- */
typedef struct lbuf {
  uint8_t *p;
  size_t len, cap;
  bool oom; /* set once an allocation failed; later writes are dropped */
} lbuf;

void lbuf_init(lbuf *b);
void lbuf_free(lbuf *b);               /* releases memory, back to empty */
void lbuf_reset(lbuf *b);              /* len = 0, keeps the allocation */
int lbuf_reserve(lbuf *b, size_t extra);
int lbuf_put(lbuf *b, const void *p, size_t n);
/* Takes the bytes: returns b->p (caller frees) and leaves b empty. */
uint8_t *lbuf_take(lbuf *b, size_t *len);

/* ---- writer ---- */
typedef struct mpw {
  msgpack_packer pk;
  lbuf *b;
} mpw;

void mpw_init(mpw *w, lbuf *b);
void mpw_array(mpw *w, uint32_t n);
void mpw_map(mpw *w, uint32_t n);
void mpw_uint(mpw *w, uint64_t v);
void mpw_int(mpw *w, int64_t v);
void mpw_nil(mpw *w);
void mpw_bool(mpw *w, bool v);
void mpw_str(mpw *w, const char *s, size_t n);
void mpw_cstr(mpw *w, const char *s);
void mpw_bin(mpw *w, const void *p, size_t n);
/* Appends bytes that already are one or more msgpack objects. */
void mpw_raw(mpw *w, const void *p, size_t n);

/* ---- reader ---- */
typedef struct mpr {
  const uint8_t *p, *end;
} mpr;

enum mp_type { MP_NIL, MP_BOOL, MP_UINT, MP_NINT, MP_FLOAT, MP_STR, MP_BIN,
               MP_ARRAY, MP_MAP, MP_EXT, MP_BAD };

void mpr_init(mpr *r, const void *p, size_t n);
static inline size_t mpr_left(const mpr *r) { return (size_t)(r->end - r->p); }
enum mp_type mpr_peek(const mpr *r);    /* MP_BAD at the end or on 0xc1 */
int mpr_array(mpr *r, uint32_t *n);
int mpr_array_n(mpr *r, uint32_t want); /* exactly `want` elements */
int mpr_map(mpr *r, uint32_t *n);
int mpr_uint(mpr *r, uint64_t *v);      /* non-negative integers only */
int mpr_int(mpr *r, int64_t *v);        /* any integer that fits int64 */
int mpr_nil(mpr *r);
int mpr_bool(mpr *r, bool *v);
int mpr_str(mpr *r, const char **s, uint32_t *n);
int mpr_bin(mpr *r, const uint8_t **p, uint32_t *n);
int mpr_bin_n(mpr *r, uint8_t *out, uint32_t want); /* exactly `want` bytes */
/* Skips one whole object (containers recursively, depth-limited). */
int mpr_skip(mpr *r);

/* True when s[0..n) is well-formed UTF-8 (no overlongs, no surrogates). */
bool utf8_valid(const char *s, size_t n);

#endif
