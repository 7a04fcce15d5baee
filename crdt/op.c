/* op.c - op validation, canonical encoding, chain hashing, head signatures.
 * The byte layouts are specified in docs/FORMAT.md; tests/test_format.c
 * checks the worked example there against this code. */
#include "crdt/op.h"

#include <stdlib.h>
#include <string.h>

static const char *const s_kind_names[OP_KIND_COUNT] = {
  "set", "incr", "add", "rm", "append", "del"};

const char *
op_kind_name(uint8_t kind)
{
  return kind < OP_KIND_COUNT ? s_kind_names[kind] : "?";
}

int
op_kind_parse(const char *name)
{
  for (int k = 0; k < OP_KIND_COUNT; k++)
    if (strcmp(name, s_kind_names[k]) == 0)
      return k;
  return -1;
}

int
op_field_kind(uint8_t kind)
{
  switch (kind) {
  case OP_SET: return FK_REGISTER;
  case OP_INCR: return FK_COUNTER;
  case OP_ADD: case OP_RM: return FK_SET;
  case OP_APPEND: return FK_LOG;
  }
  return -1;
}

const char *
field_kind_name(int fk)
{
  static const char *const names[] = {"register", "counter", "set", "log"};
  return fk >= 0 && fk < 4 ? names[fk] : "?";
}

int
tag_cmp(const op_tag *a, const op_tag *b)
{
  int c = memcmp(a->author, b->author, LINLI_PK_BYTES);
  if (c)
    return c;
  return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* What one pass over a key or a field name finds.  Every op received has
 * both checked, and they are short (a dozen bytes), so the pass looks at
 * eight bytes per step for every rule at once; only text with a byte above
 * 0x7f goes on to the UTF-8 decoder. */
typedef struct textscan {
  bool non_ascii;
  bool control;      /* a byte below 0x20, or 0x7f */
  bool slash;
  bool double_slash;
} textscan;

#define BYTES_01 UINT64_C(0x0101010101010101)
#define BYTES_7F UINT64_C(0x7f7f7f7f7f7f7f7f)
#define BYTES_80 UINT64_C(0x8080808080808080)

/* The high bit of each byte of x that is zero, and no other bit. */
static inline uint64_t
s_zero_bytes(uint64_t x)
{
  return ~(((x & BYTES_7F) + BYTES_7F) | x | BYTES_7F);
}

static textscan
s_scan(const char *s, size_t n)
{
  uint64_t high = 0, ctl = 0, slash = 0, dbl = 0;
  for (size_t i = 0; i < n; i += 8) {
    uint64_t x;
    if (n - i >= 8) {
      memcpy(&x, s + i, 8);
    } else if (n >= 8) {
      /* The tail: the last eight bytes, overlapping the word before (bytes
       * seen twice change no answer). */
      i = n - 8;
      memcpy(&x, s + i, 8);
    } else {
      /* Shorter than a word: padded with a byte no rule cares about. */
      unsigned char b[8] = {'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a'};
      for (size_t k = 0; k < n; k++)
        b[k] = (unsigned char)s[k];
      memcpy(&x, b, 8);
    }
    high |= x;
    /* A byte below 0x20 (borrow test: a borrow can only flag bytes above a
     * real match, so "any" is exact), or a 0x7f. */
    ctl |= ((x - 0x20 * BYTES_01) & ~x) | s_zero_bytes(x ^ BYTES_7F);
    uint64_t sl = s_zero_bytes(x ^ (0x2f * BYTES_01)); /* exact, per byte */
    slash |= sl;
    /* Two slashes side by side: within the word (the test is the same in
     * either byte order), or across from the previous word. */
    dbl |= (sl & (sl >> 8)) | (i > 0 && s[i - 1] == '/' && s[i] == '/');
  }
  return (textscan){.non_ascii = (high & BYTES_80) != 0, .control = (ctl & BYTES_80) != 0,
                    .slash = slash != 0, .double_slash = dbl != 0};
}

int
key_check(const char *key, size_t n, lerr *e)
{
  if (n == 0 || n > LINLI_KEY_MAX)
    return lerr_set(e, LINLI_EINVAL, "record key must be 1 to %d bytes", LINLI_KEY_MAX);
  textscan t = s_scan(key, n);
  if (t.non_ascii && !utf8_valid(key, n))
    return lerr_set(e, LINLI_EINVAL, "record key is not valid UTF-8");
  if (t.control)
    return lerr_set(e, LINLI_EINVAL, "record key contains a control character");
  if (!t.slash)
    return lerr_set(e, LINLI_EINVAL, "record key '%.*s' is not of the form collection/id",
                    (int)(n > 80 ? 80 : n), key);
  if (key[0] == '/' || key[n - 1] == '/')
    return lerr_set(e, LINLI_EINVAL, "record key '%.*s' starts or ends with '/'",
                    (int)(n > 80 ? 80 : n), key);
  if (t.double_slash)
    return lerr_set(e, LINLI_EINVAL, "record key '%.*s' has an empty path component",
                    (int)(n > 80 ? 80 : n), key);
  return 0;
}

int
op_check(const op *o, lerr *e)
{
  if (o->kind >= OP_KIND_COUNT)
    return lerr_set(e, LINLI_EMALFORMED, "unknown op kind %u", o->kind);
  if (o->seq == 0)
    return lerr_set(e, LINLI_EMALFORMED, "sequence numbers start at 1");
  if (o->hlc == 0)
    return lerr_set(e, LINLI_EMALFORMED, "timestamp is zero");
  if (key_check(o->key, o->key_len, e) != 0) {
    if (e)
      e->code = LINLI_EMALFORMED;
    return LINLI_EMALFORMED;
  }
  if (o->kind == OP_DEL) {
    if (o->field_len != 0)
      return lerr_set(e, LINLI_EMALFORMED, "a delete names no field");
    return 0;
  }
  if (o->field_len == 0 || o->field_len > LINLI_FIELD_MAX)
    return lerr_set(e, LINLI_EMALFORMED, "field name must be 1 to %d bytes", LINLI_FIELD_MAX);
  textscan t = s_scan(o->field, o->field_len);
  if ((t.non_ascii && !utf8_valid(o->field, o->field_len)) || t.control)
    return lerr_set(e, LINLI_EMALFORMED, "field name is not printable UTF-8");
  if (o->kind == OP_INCR)
    return 0;
  if (o->str_len > LINLI_VALUE_MAX)
    return lerr_set(e, LINLI_EMALFORMED, "value longer than %d bytes", LINLI_VALUE_MAX);
  if (!utf8_valid(o->str, o->str_len))
    return lerr_set(e, LINLI_EMALFORMED, "value is not valid UTF-8");
  if (o->kind == OP_RM) {
    if (o->ntags == 0 || o->ntags > LINLI_TAGS_MAX)
      return lerr_set(e, LINLI_EMALFORMED, "a remove names 1 to %d tags", LINLI_TAGS_MAX);
    for (uint32_t i = 0; i < o->ntags; i++) {
      if (o->tags[i].seq == 0)
        return lerr_set(e, LINLI_EMALFORMED, "remove tag %u has seq 0", i);
      if (i > 0 && tag_cmp(&o->tags[i - 1], &o->tags[i]) >= 0)
        return lerr_set(e, LINLI_EMALFORMED, "remove tags are not sorted and unique");
    }
  }
  return 0;
}

void
op_write_value(mpw *w, const op *o)
{
  switch (o->kind) {
  case OP_INCR:
    mpw_int(w, o->n);
    break;
  case OP_RM:
    mpw_array(w, 2);
    mpw_str(w, o->str, o->str_len);
    mpw_array(w, o->ntags);
    for (uint32_t i = 0; i < o->ntags; i++) {
      mpw_array(w, 2);
      mpw_bin(w, o->tags[i].author, LINLI_PK_BYTES);
      mpw_uint(w, o->tags[i].seq);
    }
    break;
  case OP_DEL:
    mpw_nil(w);
    break;
  default:
    mpw_str(w, o->str, o->str_len);
  }
}

int
op_read_value(mpr *r, op *o, op_tag **tagbuf)
{
  const char *s;
  uint32_t n;
  switch (o->kind) {
  case OP_INCR:
    return mpr_int(r, &o->n);
  case OP_DEL:
    return mpr_nil(r);
  case OP_RM: {
    if (mpr_array_n(r, 2) || mpr_str(r, &s, &n) || mpr_array(r, &o->ntags))
      return LINLI_EMALFORMED;
    o->str = s;
    o->str_len = n;
    /* A tag is [author bin 32, seq] in at least 36 bytes: no more tags are
     * allocated than the input can hold. */
    if (o->ntags == 0 || o->ntags > LINLI_TAGS_MAX || o->ntags > mpr_left(r) / 36)
      return LINLI_EMALFORMED;
    op_tag *t = calloc(o->ntags, sizeof *t);
    if (t == NULL)
      return LINLI_ENOMEM;
    *tagbuf = t;
    for (uint32_t i = 0; i < o->ntags; i++)
      if (mpr_array_n(r, 2) || mpr_bin_n(r, t[i].author, LINLI_PK_BYTES) ||
          mpr_uint(r, &t[i].seq))
        return LINLI_EMALFORMED;
    o->tags = t;
    return 0;
  }
  case OP_SET: case OP_ADD: case OP_APPEND:
    if (mpr_str(r, &s, &n))
      return LINLI_EMALFORMED;
    o->str = s;
    o->str_len = n;
    return 0;
  }
  return LINLI_EMALFORMED;
}

/* The canonical encoding is written directly, not through an mpw: every
 * op received is re-encoded to be hashed, and for the usual op the bytes fit
 * a stack buffer, sized exactly first.  tests/test_op.c checks the output
 * against msgpack-c over random ops, and tests/test_format.c against the
 * worked example in docs/FORMAT.md. */
static size_t
s_canonical_len(const op *o)
{
  size_t n = 1 + 2 * mp_bin_len(LINLI_HASH_BYTES) + mp_uint_len(o->seq) + mp_uint_len(o->hlc) +
             mp_str_len(o->key_len) + mp_str_len(o->field_len) + mp_uint_len(o->kind);
  switch (o->kind) {
  case OP_INCR:
    return n + mp_int_len(o->n);
  case OP_DEL:
    return n + 1;
  case OP_RM:
    n += 1 + mp_str_len(o->str_len) + mp_array_len(o->ntags);
    for (uint32_t i = 0; i < o->ntags; i++)
      n += 1 + mp_bin_len(LINLI_PK_BYTES) + mp_uint_len(o->tags[i].seq);
    return n;
  default:
    return n + mp_str_len(o->str_len);
  }
}

static inline uint8_t *
s_put_bytes(uint8_t *p, const void *s, uint32_t n, bool str)
{
  p = str ? mp_put_str_hdr(p, n) : mp_put_bin_hdr(p, n);
  if (n)
    memcpy(p, s, n); /* an empty value may be (NULL, 0) */
  return p + n;
}

/* Writes the canonical encoding at p (s_canonical_len(o) bytes). */
static uint8_t *
s_canonical_put(uint8_t *p, const uint8_t prev[LINLI_HASH_BYTES],
                const uint8_t author[LINLI_PK_BYTES], const op *o)
{
  p = mp_put_array(p, 8);
  p = s_put_bytes(p, prev, LINLI_HASH_BYTES, false);
  p = s_put_bytes(p, author, LINLI_PK_BYTES, false);
  p = mp_put_uint(p, o->seq);
  p = mp_put_uint(p, o->hlc);
  p = s_put_bytes(p, o->key, o->key_len, true);
  p = s_put_bytes(p, o->field, o->field_len, true);
  p = mp_put_uint(p, o->kind);
  switch (o->kind) {
  case OP_INCR:
    return mp_put_int(p, o->n);
  case OP_DEL:
    *p = 0xc0;
    return p + 1;
  case OP_RM:
    p = mp_put_array(p, 2);
    p = s_put_bytes(p, o->str, o->str_len, true);
    p = mp_put_array(p, o->ntags);
    for (uint32_t i = 0; i < o->ntags; i++) {
      p = mp_put_array(p, 2);
      p = s_put_bytes(p, o->tags[i].author, LINLI_PK_BYTES, false);
      p = mp_put_uint(p, o->tags[i].seq);
    }
    return p;
  default:
    return s_put_bytes(p, o->str, o->str_len, true);
  }
}

void
op_encode_canonical(lbuf *out, const uint8_t prev[LINLI_HASH_BYTES],
                    const uint8_t author[LINLI_PK_BYTES], const op *o)
{
  size_t n = s_canonical_len(o);
  if (lbuf_reserve(out, n) != 0)
    return;
  s_canonical_put(out->p + out->len, prev, author, o);
  out->len += n;
}

/* Ops with values up to a few hundred bytes -- nearly all of them -- are
 * hashed from the stack; larger ones go through `scratch`. */
#define OP_HASH_STACK 512

void
op_hash(uint8_t out[LINLI_HASH_BYTES], const uint8_t prev[LINLI_HASH_BYTES],
        const uint8_t author[LINLI_PK_BYTES], const op *o, lbuf *scratch)
{
  uint8_t buf[OP_HASH_STACK];
  size_t n = s_canonical_len(o);
  uint8_t *p = buf;
  if (n > sizeof buf) {
    lbuf_reset(scratch);
    if (lbuf_reserve(scratch, n) != 0) {
      /* No memory for the bytes: a hash nobody can match, so the chain
       * check fails instead of passing on garbage. */
      memset(out, 0, LINLI_HASH_BYTES);
      return;
    }
    p = scratch->p;
  }
  s_canonical_put(p, prev, author, o);
  linli_hash(out, p, n);
}

#define HEAD_DOMAIN "linli-head-v1"

void
head_message(lbuf *out, const uint8_t author[LINLI_PK_BYTES], uint64_t seq,
             const uint8_t head[LINLI_HASH_BYTES])
{
  mpw w;
  mpw_init(&w, out);
  mpw_array(&w, 4);
  mpw_cstr(&w, HEAD_DOMAIN);
  mpw_bin(&w, author, LINLI_PK_BYTES);
  mpw_uint(&w, seq);
  mpw_bin(&w, head, LINLI_HASH_BYTES);
}

void
head_sign(const lident *id, uint64_t seq, const uint8_t head[LINLI_HASH_BYTES],
          uint8_t sig[LINLI_SIG_BYTES])
{
  uint8_t buf[128];
  lbuf b = {.p = buf, .cap = sizeof buf}; /* the message is 87 bytes at most */
  head_message(&b, id->pk, seq, head);
  ident_sign(id, sig, b.p, b.len);
}

bool
head_verify(const uint8_t author[LINLI_PK_BYTES], uint64_t seq,
            const uint8_t head[LINLI_HASH_BYTES], const uint8_t sig[LINLI_SIG_BYTES])
{
  uint8_t buf[128];
  lbuf b = {.p = buf, .cap = sizeof buf};
  head_message(&b, author, seq, head);
  return ident_verify(author, sig, b.p, b.len);
}
