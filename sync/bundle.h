/*
 * bundle.h - a file of signed deltas for carrying on a USB stick.
 *
 * A bundle is a sequence of msgpack objects:
 *   header   ["linli-bundle-v1", exporter key, created ms, for-node key | nil]
 *   fork *   fork evidence the exporter holds (crdt/trust.h, fork_encode)
 *   delta *  the same signed deltas that travel over the network
 *   trailer  ["linli-bundle-end", count of the objects between header and
 *             trailer, BLAKE2b-256 of every byte
 *             before the trailer, exporter's ed25519 signature over the
 *             message ["linli-bundle-sig-v1", that hash]]
 * The trailer makes truncation and tampering detectable as a whole, and
 * says who made the bundle; each delta still carries its author's own
 * signature, which is what the receiver trusts for the data.  The writer
 * and reader work on memory; the caller does the file I/O.
 */
#ifndef LINLI_BUNDLE_H
#define LINLI_BUNDLE_H

#include "crdt/err.h"
#include "crdt/ident.h"
#include "crdt/mp.h"

#include <sodium.h>

typedef struct bundle_writer {
  crypto_generichash_state h;
  uint64_t ndeltas;  /* objects written: fork evidence and deltas */
  uint64_t nforks;
} bundle_writer;

/* Appends the header to `out`. */
void bundle_write_begin(bundle_writer *w, lbuf *out, const uint8_t exporter[LINLI_PK_BYTES],
                        uint64_t created_ms, const uint8_t *for_node /* or NULL */);
/* Appends one encoded signed delta (already valid msgpack). */
void bundle_write_delta(bundle_writer *w, lbuf *out, const uint8_t *p, size_t n);
/* Appends one piece of fork evidence (fork_encode's bytes); all of them
 * before the first delta. */
void bundle_write_fork(bundle_writer *w, lbuf *out, const uint8_t *p, size_t n);
/* Appends the trailer, signed by `id` (the exporter). */
void bundle_write_end(bundle_writer *w, lbuf *out, const lident *id);

typedef struct bundle_info {
  uint8_t exporter[LINLI_PK_BYTES];
  uint64_t created_ms;
  bool has_for;
  uint8_t for_node[LINLI_PK_BYTES];
  uint64_t ndeltas;                  /* objects (fork evidence and deltas), known
                                        once the trailer was read */
} bundle_info;

typedef struct bundle_reader {
  mpr r;
  const uint8_t *start;
  bundle_info info;
  uint64_t seen, deltas;
  bool done;
} bundle_reader;

/* Reads the header of the bundle in p[0..n) (borrowed for the reader's
 * life). */
int bundle_read_begin(bundle_reader *br, const uint8_t *p, size_t n, lerr *e);
/* Returns BUNDLE_DELTA and the next delta's bytes (pointing into the
 * input), BUNDLE_FORK and a piece of fork evidence's bytes (only before the
 * first delta), or 0 after the trailer was read and checked (count, hash,
 * exporter signature, no trailing bytes), or an error: a truncated or
 * altered bundle never reaches 0.  The bytes are not decoded here: hand a
 * delta to delta_decode or lingest_add, evidence to fork_check or
 * lstore_fork_add. */
#define BUNDLE_DELTA 1
#define BUNDLE_FORK 2
int bundle_read_next(bundle_reader *br, const uint8_t **p, size_t *n, lerr *e);

#endif
