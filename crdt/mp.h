/*
 * mp.h - msgpack in and out, the way linli needs it.
 *
 * Writing always picks the shortest encoding of an integer, string, binary
 * or container header: that is what makes our encodings canonical
 * (docs/FORMAT.md, "Canonical msgpack").  The writer is our own rather than
 * msgpack-c's packer because it sits on the hottest paths (every op is
 * re-encoded to be hashed, every changed record is encoded twice per
 * commit): a header is a few inline stores instead of a callback per
 * fragment.  tests/test_mp.c checks it byte for byte against msgpack-c.
 * The writer appends to an `lbuf`, a growable byte buffer owned by the
 * caller; the mp_put_* primitives write into memory the caller has sized
 * (at most MP_HDR_MAX bytes each), for encoders that fill a fixed buffer.

 * Reading is a strict cursor (`mpr`) over borrowed bytes: each call checks
 * the type and the length it expects and fails with LINLI_EMALFORMED
 * otherwise, so hostile input never reads past its end.  It reads the
 * canonical form only: an integer or length in a longer encoding than its
 * value needs, or a non-negative integer in a signed type, is refused, so
 * the bytes read are the bytes linli hashes and signs.  Strings and binary
 * values are returned as pointers into the input (valid as long as it is).
 */
#ifndef LINLI_MP_H
#define LINLI_MP_H

#include "crdt/err.h"

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

/* The longest header or integer the writer emits: a tag byte and 8 bytes. */
#define MP_HDR_MAX 9

/* A tag byte and a big-endian value of 1, 2, 4 or 8 bytes.  Written out
 * byte by byte with constant shifts, which compilers turn into one
 * byte-swapped store per width. */
static inline uint8_t *
mp_put_be(uint8_t *p, uint8_t tag, uint64_t v, int n)
{
  p[0] = tag;
  switch (n) {
  case 1:
    p[1] = (uint8_t)v;
    return p + 2;
  case 2:
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)v;
    return p + 3;
  case 4:
    p[1] = (uint8_t)(v >> 24);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 8);
    p[4] = (uint8_t)v;
    return p + 5;
  default:
    p[1] = (uint8_t)(v >> 56);
    p[2] = (uint8_t)(v >> 48);
    p[3] = (uint8_t)(v >> 40);
    p[4] = (uint8_t)(v >> 32);
    p[5] = (uint8_t)(v >> 24);
    p[6] = (uint8_t)(v >> 16);
    p[7] = (uint8_t)(v >> 8);
    p[8] = (uint8_t)v;
    return p + 9;
  }
}

/* Each mp_put_* writes one header or integer at p and returns its end. */
static inline uint8_t *
mp_put_uint(uint8_t *p, uint64_t v)
{
  if (v < 0x80) { *p = (uint8_t)v; return p + 1; }
  if (v <= UINT8_MAX) return mp_put_be(p, 0xcc, v, 1);
  if (v <= UINT16_MAX) return mp_put_be(p, 0xcd, v, 2);
  if (v <= UINT32_MAX) return mp_put_be(p, 0xce, v, 4);
  return mp_put_be(p, 0xcf, v, 8);
}

static inline uint8_t *
mp_put_int(uint8_t *p, int64_t v)
{
  if (v >= 0) return mp_put_uint(p, (uint64_t)v);
  if (v >= -32) { *p = (uint8_t)(int8_t)v; return p + 1; }
  if (v >= INT8_MIN) return mp_put_be(p, 0xd0, (uint64_t)v, 1);
  if (v >= INT16_MIN) return mp_put_be(p, 0xd1, (uint64_t)v, 2);
  if (v >= INT32_MIN) return mp_put_be(p, 0xd2, (uint64_t)v, 4);
  return mp_put_be(p, 0xd3, (uint64_t)v, 8);
}

static inline uint8_t *
mp_put_array(uint8_t *p, uint32_t n)
{
  if (n < 16) { *p = (uint8_t)(0x90 | n); return p + 1; }
  return n <= UINT16_MAX ? mp_put_be(p, 0xdc, n, 2) : mp_put_be(p, 0xdd, n, 4);
}

static inline uint8_t *
mp_put_map(uint8_t *p, uint32_t n)
{
  if (n < 16) { *p = (uint8_t)(0x80 | n); return p + 1; }
  return n <= UINT16_MAX ? mp_put_be(p, 0xde, n, 2) : mp_put_be(p, 0xdf, n, 4);
}

static inline uint8_t *
mp_put_str_hdr(uint8_t *p, uint32_t n)
{
  if (n < 32) { *p = (uint8_t)(0xa0 | n); return p + 1; }
  if (n <= UINT8_MAX) return mp_put_be(p, 0xd9, n, 1);
  return n <= UINT16_MAX ? mp_put_be(p, 0xda, n, 2) : mp_put_be(p, 0xdb, n, 4);
}

static inline uint8_t *
mp_put_bin_hdr(uint8_t *p, uint32_t n)
{
  if (n <= UINT8_MAX) return mp_put_be(p, 0xc4, n, 1);
  return n <= UINT16_MAX ? mp_put_be(p, 0xc5, n, 2) : mp_put_be(p, 0xc6, n, 4);
}

/* Encoded sizes, for callers that size a buffer before filling it. */
static inline size_t
mp_uint_len(uint64_t v)
{
  return v < 0x80 ? 1 : v <= UINT8_MAX ? 2 : v <= UINT16_MAX ? 3 : v <= UINT32_MAX ? 5 : 9;
}

static inline size_t
mp_int_len(int64_t v)
{
  if (v >= 0) return mp_uint_len((uint64_t)v);
  return v >= -32 ? 1 : v >= INT8_MIN ? 2 : v >= INT16_MIN ? 3 : v >= INT32_MIN ? 5 : 9;
}

static inline size_t mp_array_len(uint32_t n) { return n < 16 ? 1 : n <= UINT16_MAX ? 3 : 5; }
static inline size_t
mp_str_len(uint32_t n)
{
  return (n < 32 ? 1 : n <= UINT8_MAX ? 2 : n <= UINT16_MAX ? 3 : 5) + (size_t)n;
}
static inline size_t
mp_bin_len(uint32_t n)
{
  return (n <= UINT8_MAX ? 2 : n <= UINT16_MAX ? 3 : 5) + (size_t)n;
}

/* A writer appends to `b`; once an allocation fails, b->oom is set and
 * later writes are dropped, so callers check once at the end.  The calls
 * are inline: record and delta encoders make dozens per record. */
typedef struct mpw {
  lbuf *b;
} mpw;

static inline void mpw_init(mpw *w, lbuf *b) { w->b = b; }

/* Room for `n` more bytes at the end of w->b, or NULL when an allocation
 * failed (the buffer is then marked oom).  mpw_room_slow grows the buffer. */
uint8_t *mpw_room_slow(mpw *w, size_t n);

static inline uint8_t *
mpw_room(mpw *w, size_t n)
{
  lbuf *b = w->b;
  if (b->cap - b->len >= n && !b->oom)
    return b->p + b->len;
  return mpw_room_slow(w, n);
}

/* Ends a write at `end`, within the room handed out. */
static inline void mpw_end(mpw *w, uint8_t *end) { w->b->len = (size_t)(end - w->b->p); }

static inline void
mpw_array(mpw *w, uint32_t n)
{
  uint8_t *p = mpw_room(w, MP_HDR_MAX);
  if (p)
    mpw_end(w, mp_put_array(p, n));
}

static inline void
mpw_map(mpw *w, uint32_t n)
{
  uint8_t *p = mpw_room(w, MP_HDR_MAX);
  if (p)
    mpw_end(w, mp_put_map(p, n));
}

static inline void
mpw_uint(mpw *w, uint64_t v)
{
  uint8_t *p = mpw_room(w, MP_HDR_MAX);
  if (p)
    mpw_end(w, mp_put_uint(p, v));
}

static inline void
mpw_int(mpw *w, int64_t v)
{
  uint8_t *p = mpw_room(w, MP_HDR_MAX);
  if (p)
    mpw_end(w, mp_put_int(p, v));
}

static inline void
mpw_nil(mpw *w)
{
  uint8_t *p = mpw_room(w, 1);
  if (p) {
    *p = 0xc0;
    mpw_end(w, p + 1);
  }
}

static inline void
mpw_bool(mpw *w, bool v)
{
  uint8_t *p = mpw_room(w, 1);
  if (p) {
    *p = v ? 0xc3 : 0xc2;
    mpw_end(w, p + 1);
  }
}

/* Strings and binary values longer than UINT32_MAX bytes cannot be
 * encoded: the buffer is marked oom. */
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
int mpr_map(mpr *r, uint32_t *n);
int mpr_int(mpr *r, int64_t *v);        /* any integer that fits int64 */
int mpr_nil(mpr *r);
int mpr_bool(mpr *r, bool *v);
/* The general cases of the inline readers below. */
int mpr_array_any(mpr *r, uint32_t *n);
int mpr_uint_any(mpr *r, uint64_t *v);
int mpr_str_any(mpr *r, const char **s, uint32_t *n);

/* Every op of every delta received is read through these: the one-byte
 * forms (fixarray, positive fixint, fixstr) are handled inline. */
static inline int
mpr_array(mpr *r, uint32_t *n)
{
  if (r->p < r->end && (*r->p & 0xf0) == 0x90 &&
      (size_t)(*r->p & 0x0f) <= (size_t)(r->end - r->p - 1)) {
    *n = *r->p++ & 0x0f;
    return 0;
  }
  return mpr_array_any(r, n);
}

static inline int
mpr_array_n(mpr *r, uint32_t want) /* exactly `want` elements */
{
  uint32_t n;
  return mpr_array(r, &n) || n != want ? LINLI_EMALFORMED : 0;
}

static inline int
mpr_uint(mpr *r, uint64_t *v) /* non-negative integers only */
{
  if (r->p < r->end && *r->p <= 0x7f) {
    *v = *r->p++;
    return 0;
  }
  return mpr_uint_any(r, v);
}

static inline int
mpr_str(mpr *r, const char **s, uint32_t *n)
{
  if (r->p < r->end && (*r->p & 0xe0) == 0xa0 &&
      (size_t)(*r->p & 0x1f) <= (size_t)(r->end - r->p - 1)) {
    *n = *r->p & 0x1f;
    *s = (const char *)r->p + 1;
    r->p += 1 + *n;
    return 0;
  }
  return mpr_str_any(r, s, n);
}

int mpr_bin(mpr *r, const uint8_t **p, uint32_t *n);
int mpr_bin_n(mpr *r, uint8_t *out, uint32_t want); /* exactly `want` bytes */
/* Skips one whole object (containers recursively, depth-limited). */
int mpr_skip(mpr *r);

/* True when s[0..n) is well-formed UTF-8 (no overlongs, no surrogates). */
bool utf8_valid(const char *s, size_t n);

#endif
