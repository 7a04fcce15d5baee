/* mp.c - canonical msgpack writer and a strict reader; see mp.h. */
#include "crdt/mp.h"
#include "crdt/err.h"

#include <stdlib.h>
#include <string.h>

void lbuf_init(lbuf *b) { memset(b, 0, sizeof *b); }

void
lbuf_free(lbuf *b)
{
  free(b->p);
  lbuf_init(b);
}

void lbuf_reset(lbuf *b) { b->len = 0; }

int
lbuf_reserve(lbuf *b, size_t extra)
{
  if (b->oom)
    return LINLI_ENOMEM;
  if (b->cap - b->len >= extra)
    return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap - b->len < extra) {
    if (cap > SIZE_MAX / 2) {
      b->oom = true;
      return LINLI_ENOMEM;
    }
    cap *= 2;
  }
  uint8_t *p = realloc(b->p, cap);
  if (p == NULL) {
    b->oom = true;
    return LINLI_ENOMEM;
  }
  b->p = p;
  b->cap = cap;
  return 0;
}

int
lbuf_put(lbuf *b, const void *p, size_t n)
{
  if (n == 0)
    return b->oom ? LINLI_ENOMEM : 0;
  if (lbuf_reserve(b, n) != 0)
    return LINLI_ENOMEM;
  memcpy(b->p + b->len, p, n);
  b->len += n;
  return 0;
}

uint8_t *
lbuf_take(lbuf *b, size_t *len)
{
  uint8_t *p = b->p;
  if (len)
    *len = b->len;
  lbuf_init(b);
  return p;
}

uint8_t *
mpw_room_slow(mpw *w, size_t n)
{
  return lbuf_reserve(w->b, n) == 0 ? w->b->p + w->b->len : NULL;
}

/* One header and the body, reserved together. */
static void
s_bytes_out(mpw *w, const void *body, size_t n, bool str)
{
  if (n > UINT32_MAX) {
    w->b->oom = true;
    return;
  }
  uint8_t *p = mpw_room(w, MP_HDR_MAX + n);
  if (p == NULL)
    return;
  p = str ? mp_put_str_hdr(p, (uint32_t)n) : mp_put_bin_hdr(p, (uint32_t)n);
  if (n)
    memcpy(p, body, n);
  mpw_end(w, p + n);
}

void mpw_str(mpw *w, const char *s, size_t n) { s_bytes_out(w, s, n, true); }
void mpw_cstr(mpw *w, const char *s) { mpw_str(w, s, strlen(s)); }
void mpw_bin(mpw *w, const void *p, size_t n) { s_bytes_out(w, p, n, false); }
void mpw_raw(mpw *w, const void *p, size_t n) { lbuf_put(w->b, p, n); }

/* ---- reader ---- */

void
mpr_init(mpr *r, const void *p, size_t n)
{
  r->p = p;
  r->end = n ? r->p + n : r->p; /* NULL + 0 is undefined in C */
}

static uint64_t
s_be(const uint8_t *p, int n)
{
  uint64_t v = 0;
  for (int i = 0; i < n; i++)
    v = v << 8 | p[i];
  return v;
}

/* Reads a big-endian length or value of `n` bytes after a one-byte tag. */
static int
s_fixed(mpr *r, int n, uint64_t *v)
{
  if (mpr_left(r) < (size_t)n + 1)
    return LINLI_EMALFORMED;
  *v = s_be(r->p + 1, n);
  r->p += 1 + n;
  return 0;
}

enum mp_type
mpr_peek(const mpr *r)
{
  if (r->p >= r->end)
    return MP_BAD;
  uint8_t c = *r->p;
  if (c <= 0x7f) return MP_UINT;
  if (c <= 0x8f) return MP_MAP;
  if (c <= 0x9f) return MP_ARRAY;
  if (c <= 0xbf) return MP_STR;
  if (c >= 0xe0) return MP_NINT;
  switch (c) {
  case 0xc0: return MP_NIL;
  case 0xc2: case 0xc3: return MP_BOOL;
  case 0xc4: case 0xc5: case 0xc6: return MP_BIN;
  case 0xc7: case 0xc8: case 0xc9: return MP_EXT;
  case 0xca: case 0xcb: return MP_FLOAT;
  case 0xcc: case 0xcd: case 0xce: case 0xcf: return MP_UINT;
  case 0xd0: case 0xd1: case 0xd2: case 0xd3: return MP_NINT; /* may be >= 0 */
  case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: return MP_EXT;
  case 0xd9: case 0xda: case 0xdb: return MP_STR;
  case 0xdc: case 0xdd: return MP_ARRAY;
  case 0xde: case 0xdf: return MP_MAP;
  }
  return MP_BAD;
}

/* Every reader refuses a non-canonical encoding (docs/FORMAT.md,
 * "Conventions"): a length or integer in a longer form than it needs, or a
 * non-negative integer in a signed type.  No value then has two encodings,
 * and what linli hashes and signs is exactly the bytes it was given.  The
 * shortest form of a length or unsigned value v after tag `c`: */
static bool
s_canon_len(uint8_t c, uint64_t v)
{
  switch (c) {
  case 0xdc: case 0xde: return v >= 16;           /* array 16, map 16 */
  case 0xd9: return v >= 32;                      /* str 8 */
  case 0xcc: return v >= 0x80;                    /* uint 8 */
  case 0xc4: return true;                         /* bin 8: the shortest bin */
  case 0xcd: case 0xda: case 0xc5: return v > UINT8_MAX;
  case 0xce: case 0xdd: case 0xdf: case 0xdb: case 0xc6: return v > UINT16_MAX;
  case 0xcf: return v > UINT32_MAX;
  }
  return false;
}

/* Containers: the declared count must be plausible, as every element takes
 * at least one byte; this stops a 4-byte header from asking for 4 G items. */
static int
s_container(mpr *r, uint32_t *n, uint8_t fix_lo, uint8_t fix_hi, uint8_t t16,
            uint8_t t32, unsigned per)
{
  if (r->p >= r->end)
    return LINLI_EMALFORMED;
  uint8_t c = *r->p;
  uint64_t v;
  if (c >= fix_lo && c <= fix_hi) {
    v = c & 0x0f;
    r->p++;
  } else if (c == t16) {
    if (s_fixed(r, 2, &v) || !s_canon_len(c, v)) return LINLI_EMALFORMED;
  } else if (c == t32) {
    if (s_fixed(r, 4, &v) || !s_canon_len(c, v)) return LINLI_EMALFORMED;
  } else {
    return LINLI_EMALFORMED;
  }
  if (v * per > mpr_left(r))
    return LINLI_EMALFORMED;
  *n = (uint32_t)v;
  return 0;
}

int mpr_array_any(mpr *r, uint32_t *n) { return s_container(r, n, 0x90, 0x9f, 0xdc, 0xdd, 1); }
int mpr_map(mpr *r, uint32_t *n) { return s_container(r, n, 0x80, 0x8f, 0xde, 0xdf, 2); }

int
mpr_int(mpr *r, int64_t *out)
{
  if (r->p >= r->end)
    return LINLI_EMALFORMED;
  uint8_t c = *r->p;
  uint64_t v;
  const uint8_t *save = r->p;
  if (c <= 0x7f) { *out = c; r->p++; return 0; }
  if (c >= 0xe0) { *out = (int8_t)c; r->p++; return 0; }
  int64_t lo; /* the smallest value that needs this signed type */
  switch (c) {
  case 0xcc: case 0xcd: case 0xce: case 0xcf: {
    int n = c == 0xcc ? 1 : c == 0xcd ? 2 : c == 0xce ? 4 : 8;
    if (s_fixed(r, n, &v) || v > INT64_MAX || !s_canon_len(c, v))
      goto bad;
    *out = (int64_t)v;
    return 0;
  }
  case 0xd0: if (s_fixed(r, 1, &v)) goto bad; *out = (int8_t)v; lo = -32; break;
  case 0xd1: if (s_fixed(r, 2, &v)) goto bad; *out = (int16_t)v; lo = INT8_MIN; break;
  case 0xd2: if (s_fixed(r, 4, &v)) goto bad; *out = (int32_t)v; lo = INT16_MIN; break;
  case 0xd3: if (s_fixed(r, 8, &v)) goto bad; *out = (int64_t)v; lo = INT32_MIN; break;
  default: goto bad;
  }
  if (*out < lo) /* negative and too small for a shorter form */
    return 0;
bad:
  r->p = save;
  return LINLI_EMALFORMED;
}

int
mpr_uint_any(mpr *r, uint64_t *out)
{
  if (r->p >= r->end)
    return LINLI_EMALFORMED;
  uint8_t c = *r->p;
  if (c == 0xcf) {
    if (s_fixed(r, 8, out))
      return LINLI_EMALFORMED;
    if (!s_canon_len(c, *out)) {
      r->p -= 9;
      return LINLI_EMALFORMED;
    }
    return 0;
  }
  int64_t v;
  const uint8_t *save = r->p;
  if (mpr_int(r, &v) || v < 0) {
    r->p = save;
    return LINLI_EMALFORMED;
  }
  *out = (uint64_t)v;
  return 0;
}

int
mpr_nil(mpr *r)
{
  if (r->p >= r->end || *r->p != 0xc0)
    return LINLI_EMALFORMED;
  r->p++;
  return 0;
}

int
mpr_bool(mpr *r, bool *v)
{
  if (r->p >= r->end || (*r->p != 0xc2 && *r->p != 0xc3))
    return LINLI_EMALFORMED;
  *v = *r->p == 0xc3;
  r->p++;
  return 0;
}

static int
s_bytes(mpr *r, const uint8_t **p, uint32_t *n, int want_str)
{
  if (r->p >= r->end)
    return LINLI_EMALFORMED;
  uint8_t c = *r->p;
  uint64_t len;
  const uint8_t *save = r->p;
  if (want_str && c >= 0xa0 && c <= 0xbf) {
    len = c & 0x1f;
    r->p++;
  } else if ((want_str && c == 0xd9) || (!want_str && c == 0xc4)) {
    if (s_fixed(r, 1, &len)) return LINLI_EMALFORMED;
  } else if ((want_str && c == 0xda) || (!want_str && c == 0xc5)) {
    if (s_fixed(r, 2, &len)) return LINLI_EMALFORMED;
  } else if ((want_str && c == 0xdb) || (!want_str && c == 0xc6)) {
    if (s_fixed(r, 4, &len)) return LINLI_EMALFORMED;
  } else {
    return LINLI_EMALFORMED;
  }
  if (len > mpr_left(r) || !s_canon_len(c, len)) {
    r->p = save;
    return LINLI_EMALFORMED;
  }
  *p = r->p;
  *n = (uint32_t)len;
  r->p += len;
  return 0;
}

int
mpr_str_any(mpr *r, const char **s, uint32_t *n)
{
  return s_bytes(r, (const uint8_t **)s, n, 1);
}

int mpr_bin(mpr *r, const uint8_t **p, uint32_t *n) { return s_bytes(r, p, n, 0); }

int
mpr_bin_n(mpr *r, uint8_t *out, uint32_t want)
{
  const uint8_t *p;
  uint32_t n;
  if (mpr_bin(r, &p, &n) || n != want)
    return LINLI_EMALFORMED;
  memcpy(out, p, n);
  return 0;
}

static int
s_skip(mpr *r, int depth)
{
  if (depth > 64)
    return LINLI_EMALFORMED;
  const uint8_t *sp;
  uint32_t n;
  int64_t i;
  uint64_t u;
  bool b;
  switch (mpr_peek(r)) {
  case MP_NIL: r->p++; return 0;
  case MP_BOOL: return mpr_bool(r, &b);
  case MP_UINT: return mpr_uint(r, &u);
  case MP_NINT: return mpr_int(r, &i);
  case MP_STR: return mpr_str(r, (const char **)&sp, &n);
  case MP_BIN: return mpr_bin(r, &sp, &n);
  case MP_FLOAT: {
    size_t len = *r->p == 0xca ? 5 : 9;
    if (mpr_left(r) < len) return LINLI_EMALFORMED;
    r->p += len;
    return 0;
  }
  case MP_ARRAY:
    if (mpr_array(r, &n)) return LINLI_EMALFORMED;
    for (uint32_t k = 0; k < n; k++)
      if (s_skip(r, depth + 1)) return LINLI_EMALFORMED;
    return 0;
  case MP_MAP:
    if (mpr_map(r, &n)) return LINLI_EMALFORMED;
    for (uint32_t k = 0; k < 2 * n; k++)
      if (s_skip(r, depth + 1)) return LINLI_EMALFORMED;
    return 0;
  default:
    return LINLI_EMALFORMED; /* ext types are never used by linli */
  }
}

int mpr_skip(mpr *r) { return s_skip(r, 0); }

bool
utf8_valid(const char *str, size_t n)
{
  if (n == 0)
    return true; /* str may be NULL: NULL + 0 is undefined in C */
  const uint8_t *s = (const uint8_t *)str, *e = s + n;
  while (s < e) {
    /* Record keys, field names and most values are ASCII: skip it eight
     * bytes at a time. */
    while (e - s >= 8) {
      uint64_t x;
      memcpy(&x, s, 8);
      if (x & UINT64_C(0x8080808080808080))
        break;
      s += 8;
    }
    if (s == e)
      break;
    uint8_t c = *s;
    if (c < 0x80) { s++; continue; }
    int len;
    uint32_t cp;
    if ((c & 0xe0) == 0xc0) { len = 2; cp = c & 0x1f; }
    else if ((c & 0xf0) == 0xe0) { len = 3; cp = c & 0x0f; }
    else if ((c & 0xf8) == 0xf0) { len = 4; cp = c & 0x07; }
    else return false;
    if (e - s < len) return false;
    for (int k = 1; k < len; k++) {
      if ((s[k] & 0xc0) != 0x80) return false;
      cp = cp << 6 | (s[k] & 0x3f);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    s += len;
  }
  return true;
}
