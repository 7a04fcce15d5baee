/*
 * record.h - the CRDT record: what a set of ops on one key adds up to.
 *
 * A record holds fields; a field is identified by (name, kind), so two
 * authors who write the same name with different kinds get two fields
 * instead of one silently mangled value.  Semantics (ARCHITECTURE.md has the
 * table):
 *
 *   register  last writer wins by stamp (HLC, then author key bytes, then seq)
 *   counter   sum of all increments (int64, wrapping), each op counted once
 *   set       add-wins observed-remove: an element is present while one of
 *             its adds is not named by a remove; a remove names exactly the
 *             adds its writer saw, so a concurrent add survives
 *   log       every entry, ordered by stamp
 *   delete    hides every contribution with a smaller stamp (HLC order);
 *             an update with a larger stamp, concurrent or later, survives
 *             and the record reappears with just that update
 *
 * The state kept is a function of the *set* of ops applied: the order and
 * repetition of apply calls never matter.  Internally a record also keeps
 * its history (the stamp of every op applied) for `linli log`, and set
 * tombstones, which outlive the adds they name (the remove may arrive
 * first).
 *
 * Two encodings: the internal one (rec_encode/rec_decode) is what the store
 * keeps; the canonical one (rec_canonical) is the visible state only, and its
 * hash feeds the view digests (digest.h).  The structs are public so callers
 * can read a record; only this module changes them.
 */
#ifndef LINLI_RECORD_H
#define LINLI_RECORD_H

#include "crdt/arena.h"
#include "crdt/op.h"

typedef struct lstamp {
  uint64_t hlc;
  uint64_t seq;
  uint8_t author[LINLI_PK_BYTES];
} lstamp;

int stamp_cmp(const lstamp *a, const lstamp *b);

/* One contribution: a register write, an increment, a set add or a log
 * entry.  The stamp doubles as the set-add tag (author, seq). */
typedef struct rentry {
  lstamp st;
  int64_t n;   /* counter */
  char *s;     /* register value, set element, log text (owned) */
  uint32_t s_len;
} rentry;

typedef struct rfield {
  char *name; /* owned */
  uint32_t name_len;
  uint8_t fk; /* enum field_kind */
  rentry *ents;        /* sorted by stamp; a register keeps at most one */
  uint32_t nents, ents_cap;
  op_tag *tomb;        /* set: removed tags, sorted */
  uint32_t ntomb, tomb_cap;
} rfield;

typedef struct rec {
  bool has_del;
  lstamp del;          /* the largest delete applied */
  rfield *fields;      /* sorted by (name bytes, kind) */
  uint32_t nfields, fields_cap;
  lstamp *hist;        /* every op applied, sorted by stamp */
  uint32_t nhist, hist_cap;
  larena *arena;       /* where its memory comes from; NULL: the heap */
} rec;

rec *rec_new(void);
/* A record whose memory all comes from `a` (NULL: the heap, as rec_new).
 * For records that live only while a batch is applied: growth leaves the
 * old block behind in the arena, and nothing is released before the arena
 * is reset, which must not happen while the record is in use. */
rec *rec_new_in(larena *a);
/* Frees the record (for an arena record: only forgets it); *r becomes
 * NULL.  Safe on NULL. */
void rec_destroy(rec **r);

/* Applies one op written by `author`.  Returns 1 if the record changed, 0 if
 * the op was already applied (same author and seq), or LINLI_ENOMEM. */
int rec_apply(rec *r, const uint8_t author[LINLI_PK_BYTES], const op *o);

/* True when the record has any visible field. */
bool rec_present(const rec *r);

/* Visible value helpers. */
int64_t rfield_counter(const rfield *f);
bool rfield_visible(const rfield *f);

/* Canonical visible state, [key, [[name, kind, value]...]], appended to out. */
void rec_canonical(const rec *r, const char *key, size_t klen, lbuf *out);
/* BLAKE2b-256 of the canonical state; all zero when the record is absent
 * (an absent record contributes nothing to a digest). */
void rec_hash(const rec *r, const char *key, size_t klen, uint8_t out[LINLI_HASH_BYTES],
              lbuf *scratch);

/* Internal encoding for storage. */
void rec_encode(const rec *r, lbuf *out);
int rec_decode(rec **out, const uint8_t *p, size_t n, lerr *e);
/* The same, into a record built in `a` (see rec_new_in). */
int rec_decode_in(rec **out, larena *a, const uint8_t *p, size_t n, lerr *e);

/* The tags of the visible adds of `elem` in set field `name`: what a local
 * remove must name.  *tags is allocated (caller frees); *n may be 0. */
int rec_set_tags(const rec *r, const char *name, size_t name_len, const char *elem,
                 size_t elem_len, op_tag **tags, uint32_t *n);

/* Finds a field by name and kind, or NULL. */
const rfield *rec_field(const rec *r, const char *name, size_t name_len, int fk);

/* The kind of a visible field named `name` whose kind is not `fk`, or -1.
 * A local write refuses to create a second field of another kind beside
 * one that exists (a `put` on a counter would leave the counter and a
 * register side by side, and every reader would have to choose); fields of
 * two kinds that arrive from two stations are still merged as the model
 * says. */
int rec_other_kind(const rec *r, const char *name, size_t name_len, int fk);

#endif
