/*
 * op.h - one change to one record: the unit of the CRDT and of the chain.
 *
 * An op is (author, seq, hlc, key, field, kind, value).  Each author's ops
 * form a hash chain: hash(op) = BLAKE2b-256(canonical encoding), and the
 * canonical encoding starts with the previous op's hash.  docs/FORMAT.md
 * gives every byte.  An `op` here does not carry its author or previous hash:
 * both come from the delta it travels in (delta.h), and are passed to
 * op_hash() explicitly.
 *
 * Strings in an `op` are borrowed (not NUL-terminated): they point into the
 * buffer the op was decoded from, or into the caller's memory.
 */
#ifndef LINLI_OP_H
#define LINLI_OP_H

#include "crdt/err.h"
#include "crdt/ident.h"
#include "crdt/mp.h"

#include <stdint.h>

/* Limits, checked on every op from anywhere. */
#define LINLI_KEY_MAX 512
#define LINLI_FIELD_MAX 128
#define LINLI_VALUE_MAX 65536
#define LINLI_TAGS_MAX 1024

enum op_kind {
  OP_SET = 0,    /* register: value str, last writer wins */
  OP_INCR = 1,   /* counter: value int64 increment (may be negative) */
  OP_ADD = 2,    /* set: value str element; the op itself is the add's tag */
  OP_RM = 3,     /* set: value [elem str, [tag...]]: the adds it removes */
  OP_APPEND = 4, /* log: value str entry */
  OP_DEL = 5,    /* whole record: field "", value nil */
  OP_KIND_COUNT
};

/* The kind of a field, as the record model sees it. */
enum field_kind { FK_REGISTER = 0, FK_COUNTER = 1, FK_SET = 2, FK_LOG = 3 };

/* An op's identity, used as the tag of a set element. */
typedef struct op_tag {
  uint8_t author[LINLI_PK_BYTES];
  uint64_t seq;
} op_tag;

typedef struct op {
  uint64_t seq;
  uint64_t hlc;
  uint8_t kind;             /* enum op_kind */
  const char *key;
  uint32_t key_len;
  const char *field;
  uint32_t field_len;
  const char *str;          /* OP_SET, OP_ADD, OP_RM (element), OP_APPEND */
  uint32_t str_len;
  int64_t n;                /* OP_INCR */
  const op_tag *tags;       /* OP_RM, sorted by (author, seq), no repeats */
  uint32_t ntags;
} op;

const char *op_kind_name(uint8_t kind);         /* "set", "incr", ... */
int op_kind_parse(const char *name);            /* or -1 */
/* The field kind an op kind writes to; OP_DEL has none (-1). */
int op_field_kind(uint8_t kind);
const char *field_kind_name(int fk);            /* "register", ... */

/* Checks everything about one op that does not need its neighbours: kind,
 * key syntax (UTF-8 "collection/id", no empty path component, no control
 * characters), field, value type and limits, tag order.  `e` gets the
 * reason. */
int op_check(const op *o, lerr *e);

/* Key syntax alone (also used for prefixes given on the command line). */
int key_check(const char *key, size_t n, lerr *e);

/* Writes the value of `o` as it appears in both encodings. */
void op_write_value(mpw *w, const op *o);
/* Reads a value of `kind` into `o`; RM tags are decoded into *tagbuf
 * (allocated, caller frees) and o->tags points there. */
int op_read_value(mpr *r, op *o, op_tag **tagbuf);

/* The canonical encoding (what is hashed), appended to `out`. */
void op_encode_canonical(lbuf *out, const uint8_t prev[LINLI_HASH_BYTES],
                         const uint8_t author[LINLI_PK_BYTES], const op *o);

/* hash(op) into `out`; `scratch` is a reusable buffer (its content is
 * replaced). */
void op_hash(uint8_t out[LINLI_HASH_BYTES], const uint8_t prev[LINLI_HASH_BYTES],
             const uint8_t author[LINLI_PK_BYTES], const op *o, lbuf *scratch);

/* The message an ed25519 signature over a chain head covers. */
void head_message(lbuf *out, const uint8_t author[LINLI_PK_BYTES], uint64_t seq,
                  const uint8_t head[LINLI_HASH_BYTES]);
void head_sign(const lident *id, uint64_t seq, const uint8_t head[LINLI_HASH_BYTES],
               uint8_t sig[LINLI_SIG_BYTES]);
bool head_verify(const uint8_t author[LINLI_PK_BYTES], uint64_t seq,
                 const uint8_t head[LINLI_HASH_BYTES], const uint8_t sig[LINLI_SIG_BYTES]);

int tag_cmp(const op_tag *a, const op_tag *b);

#endif
