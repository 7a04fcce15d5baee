/*
 * delta.h - the signed delta: a contiguous run of one author's ops plus the
 * ed25519 signature over the chain head at its last op.
 *
 * It is the unit that is stored (as it arrived), sent over the network and
 * carried in bundles.  It carries the author key and the previous hash once;
 * per op it carries only what the receiver cannot recompute, in a compact
 * form (HLC as a difference, key as a shared prefix with the previous key,
 * field as an index into the fields already named).  The hash chain is
 * always computed over the canonical encoding of each op (op.h), so the
 * compact form is free to evolve without touching what is signed.
 *
 * Any run of ops that ends at a signed head is itself a valid delta, so a
 * sender may join consecutive deltas into one, keeping only the last
 * signature, and may cut a delta's leading ops off (the suffix keeps its
 * signature).  docs/FORMAT.md has the bytes.
 */
#ifndef LINLI_DELTA_H
#define LINLI_DELTA_H

#include "crdt/op.h"

#define DELTA_VERSION 1
#define DELTA_MAX_OPS 65536
/* No op's compact form is shorter than this (array header, hlc, kind, key,
 * field, value: one byte each at least); a delta claiming more ops than its
 * bytes can hold is refused before anything is allocated for them. */
#define DELTA_MIN_OP_BYTES 6
/* The key-copy budget (docs/FORMAT.md, "Signed delta"): the bytes that
 * prefix-form keys copy from earlier keys, counted up to and including op
 * i, may not exceed DELTA_COPY_BASE + DELTA_COPY_FACTOR x (the delta's
 * bytes before op i's key).  It bounds what decoding allocates for keys by
 * a small multiple of the input: without it `[512, ""]`, 3 or 4 bytes,
 * expands to 512.  delta_encode writes a whole key where the prefix form
 * would exceed it. */
#define DELTA_COPY_BASE 65536u
#define DELTA_COPY_FACTOR 8u
/* The largest encoded delta: one that fits, alone, in a sync DATA message
 * [1, msg_no, [delta]] of at most 1 MiB whatever its msg_no (12 bytes of
 * framing).  A log row larger than this could never be sent, so none is
 * ever decoded, stored or joined (docs/FORMAT.md, "Signed delta"). */
#define DELTA_MAX_BYTES ((1 << 20) - 12)

typedef struct delta {
  uint8_t author[LINLI_PK_BYTES];
  uint64_t first_seq;
  uint8_t prev[LINLI_HASH_BYTES];  /* hash of op first_seq-1, zeros for seq 1 */
  uint32_t nops;
  op *ops;                         /* owned; ops[i].seq == first_seq + i */
  uint8_t sig[LINLI_SIG_BYTES];    /* over the head at seq first_seq+nops-1 */
  /* owned storage behind the ops' strings and tags */
  lbuf keys;
  op_tag **tagbufs;
  uint32_t ntagbufs;
} delta;

static inline uint64_t delta_last_seq(const delta *d) { return d->first_seq + d->nops - 1; }

/* Decodes exactly one delta from p[0..n); no trailing bytes are allowed.
 * The ops borrow strings from `p`, which must outlive `d`.  Every op is
 * checked with op_check(); a delta larger than DELTA_MAX_BYTES is
 * LINLI_ETOOBIG.  On error `d` is left empty. */
int delta_decode(delta *d, const uint8_t *p, size_t n, lerr *e);
/* The same, reading one delta from a stream of msgpack objects. */
int delta_read(delta *d, mpr *r, lerr *e);
/* Frees what `d` owns; `d` may then be reused.  Safe on a zeroed delta. */
void delta_clear(delta *d);

/* Recomputes the hash chain from d->prev and checks the signature.
 * `head` gets the hash of the last op; `hashes`, if not NULL, gets the hash
 * of every op (d->nops entries).  `scratch` is reused between calls. */
int delta_verify(const delta *d, uint8_t head[LINLI_HASH_BYTES],
                 uint8_t (*hashes)[LINLI_HASH_BYTES], lbuf *scratch, lerr *e);

/* Encodes a delta from its parts (ops[i].seq must be first_seq + i, HLCs
 * strictly increasing).  Appends to `out`. */
void delta_encode(lbuf *out, const uint8_t author[LINLI_PK_BYTES], uint64_t first_seq,
                  const uint8_t prev[LINLI_HASH_BYTES], const op *ops, uint32_t n,
                  const uint8_t sig[LINLI_SIG_BYTES]);

/* Reads only the header (author, first and last seq) of an encoded delta,
 * without decoding its ops. */
int delta_peek(const uint8_t *p, size_t n, uint8_t author[LINLI_PK_BYTES],
               uint64_t *first_seq, uint64_t *last_seq);

#endif
