/*
 * store_int.h - what the parts of the store share (store.c, ingest.c,
 * views.c, export.c, trustcache.c, and records.c and aggregates.c for the
 * schema and its aggregates); nothing outside node/store*.c and those files
 * includes it.  Functions named st_* are internal to the store.
 */
#ifndef LINLI_STORE_INT_H
#define LINLI_STORE_INT_H

#include "node/store.h"
#include "crdt/arena.h"
#include "crdt/hmap.h"

#include <rocksdb/c.h>
#include <string.h>

/* A peer's clock may run ahead of ours by this much before we stop
 * following it (hlc_observe). */
#define HLC_MAX_AHEAD_MS (5 * 60 * 1000)
#define LOG_KEY_LEN (LINLI_PK_BYTES + 8)
#define STORE_NAME_MAX 100

struct lstore {
  char *dir;
  rocksdb_t *db;
  rocksdb_options_t *opts;
  rocksdb_block_based_table_options_t *bbto;
  rocksdb_cache_t *cache;
  rocksdb_column_family_handle_t *cf[LCF_COUNT];
  rocksdb_readoptions_t *ro;
  rocksdb_writeoptions_t *wo; /* synced WAL */
  /* The batch every commit fills, cleared after each write.  It keeps its
   * buffer (as large as the largest group written): growing a new one of
   * several MiB per commit cost a copy at each doubling and a page fault per
   * fresh page. */
  rocksdb_writebatch_t *commit_wb;
  char name[STORE_NAME_MAX + 1];
  uint8_t self[LINLI_PK_BYTES];
  uint64_t hlc;
  bool has_root;                   /* trust rules on (crdt/trust.h) */
  uint8_t root[LINLI_PK_BYTES];
  bool recovering;                 /* own log must come back from the parent first */
  uint64_t restore_ms;             /* when recovering started (0: unknown) */
  uint32_t nawait;                 /* people marked (lstore_await_set) */
  hmap trust;                      /* author -> ltrust_state*, loaded on demand */
  uint64_t trust_gen;              /* moves whenever a trust state may have
                                      changed (lstore_trust_gen) */
  uint32_t nforks;                 /* fork evidence rows */
  bool read_only;
  /* A write failed in RocksDB (a full disk, an I/O error): nothing more is
   * written, not even the flush at close, which RocksDB's own checks
   * would turn into an abort.  The WAL holds every acknowledged write. */
  bool write_failed;
  uint64_t min_free; /* bytes a write leaves free at least (lstore_opts) */
  uint32_t nheld;    /* deltas held back for their future dates (holdback.c) */
  bool has_pclock;   /* the parent's clock, as the daemon last measured it */
  uint64_t pclock_at;
  int64_t pclock_offset;
  /* The schema held, parsed (lrecords_schema), with what it was parsed
   * from: the views row of LSCHEMA_KEY and the root then.  It is used again
   * only while both are the same, so whatever changes the row (a publish
   * here, by sync or by import, a cut, a rebuild) is seen at the next use. */
  struct lschema *sch;   /* NULL: the row holds no schema the root wrote */
  char *sch_row;         /* NULL: nothing parsed yet */
  size_t sch_row_len;
  bool sch_has_root;
  uint8_t sch_root[LINLI_PK_BYTES];
};

/* ---- small encodings ---- */

static inline void
st_be64(uint8_t *p, uint64_t v)
{
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static inline uint64_t
st_rd64(const uint8_t *p)
{
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = v << 8 | p[i];
  return v;
}

/* The log row key of the delta ending at `seq`: author || seq (BE). */
static inline void
st_log_key(uint8_t key[LOG_KEY_LEN], const uint8_t author[LINLI_PK_BYTES], uint64_t seq)
{
  memcpy(key, author, LINLI_PK_BYTES);
  st_be64(key + LINLI_PK_BYTES, seq);
}

static inline const char *
st_short(char buf[LINLI_SHORT_ID_LEN + 1], const uint8_t *pk)
{
  ident_short(buf, pk);
  return buf;
}

/* heads rows: [seq, hash, hlc, sig] */
void st_head_encode(const lhead *h, lbuf *out);
int st_head_decode(lhead *h, const uint8_t *p, size_t n);

/* ---- RocksDB plumbing (store.c) ---- */

/* Gives `o` a logger that keeps nothing (nolog.cc). */
void st_options_no_info_log(rocksdb_options_t *o);

/* Turns a RocksDB error string into an lerr (and frees it). */
int st_rerr(lerr *e, char *err, const char *what);
/* Reads one value; LINLI_ENOTFOUND when absent.  *val is rocksdb_free'd by
 * the caller. */
int st_get(lstore *s, int cf, const void *key, size_t klen, char **val, size_t *vlen, lerr *e);
/* The record of a views row (v, vl) of `key`, or LINLI_ESTORE naming it. */
int st_view_decode(const char *key, size_t klen, const char *v, size_t vl, rec **out, lerr *e);
/* The meta row key of a value kept beside the store ("x:" + key); its
 * length, or LINLI_EINVAL. */
#define ST_META_KEY_MAX 256
int st_meta_key(char mk[ST_META_KEY_MAX], const char *key, lerr *e);
/* The number of rows of column family `cf` whose key starts with prefix. */
uint32_t st_prefix_count(lstore *s, int cf, const char *prefix, size_t n);
/* Writes a batch with the synced WAL, after checking that the disk keeps
 * s->min_free bytes free once it is written (LINLI_ENOSPC, RocksDB never
 * asked, when not). */
int st_write(lstore *s, rocksdb_writebatch_t *wb, lerr *e);
/* Finds and decodes the stored delta holding `seq` of `author`.  `*raw`
 * (a malloc'd copy) must outlive `d`. */
int st_load_delta(lstore *s, const uint8_t author[LINLI_PK_BYTES], uint64_t seq, delta *d,
                  char **raw, size_t *rawlen, lerr *e);
/* The chain hash of `author`'s op `seq`, recomputed from the stored log. */
int st_hash_at(lstore *s, const uint8_t author[LINLI_PK_BYTES], uint64_t seq,
               uint8_t out[LINLI_HASH_BYTES], lbuf *scratch, lerr *e);

/* ---- trust state per author (trustcache.c) ---- */

/* The store's cached state of `author` (loaded on first use). */
int st_trust_get(lstore *s, const uint8_t author[LINLI_PK_BYTES], ltrust_state **out, lerr *e);
/* Calls `cb` for each revocation of `subject` in its stored record
 * (trust/revoke/<subject>), with the key that wrote it; stops at a nonzero
 * return and returns it. */
typedef int (*st_rev_cb)(void *ctx, const uint8_t revoker[LINLI_PK_BYTES], const lrevoke *rv);
int st_revocations_each(lstore *s, const uint8_t subject[LINLI_PK_BYTES], st_rev_cb cb, void *ctx,
                        lerr *e);
/* The issuers of `author`'s chain in force at `seq` by the stored log (the
 * last certificate op at or before it); *have is false when there is none.
 * The log must be held up to `seq`. */
int st_issuers_at(lstore *s, const uint8_t author[LINLI_PK_BYTES], uint64_t seq, ltrust_issuers *out,
                  bool *have, lerr *e);
/* Whether revocation `rv` of `author` by `revoker` has force, the author's
 * log being stored up to trust_revoke_at(rv->seq) and `st` its state there
 * or later: trust_revoke_check with the chain in force at that seq.  0:
 * authorised; LINLI_EREFUSED: not; other codes: the store failed. */
int st_revoke_decide(lstore *s, const ltrust_state *st, const uint8_t author[LINLI_PK_BYTES],
                     const uint8_t revoker[LINLI_PK_BYTES], const lrevoke *rv, lerr *e);
/* Keeps fork evidence (if none is kept for the author yet) and stops
 * accepting the author's new ops. */
int st_fork_keep(lstore *s, const uint8_t author[LINLI_PK_BYTES], uint64_t seq, const uint8_t *ev,
                 size_t evl, lerr *e);

/* ---- deltas held back for their future dates (holdback.c) ---- */

/* Does the store hold back a delta of `author`? */
bool st_held_has(lstore *s, const uint8_t author[LINLI_PK_BYTES]);
/* Keeps a verified delta p[0..n) back (written at once). */
int st_held_put(lstore *s, const uint8_t author[LINLI_PK_BYTES], uint64_t first, const uint8_t *p,
                size_t n, lerr *e);
/* Marks a group as the one releasing held rows: the rows it reads are not
 * held back again for being held. */
void st_ingest_releasing(lingest *g);

/* ---- applying ops to records (views.c) ---- */

/* A record of the apply cache.  A commit knows every op of the group up
 * front: it counts each record's ops (st_ctx_want), then visits the records
 * in key order, loading, merging and writing each one while it is hot in
 * the cache (st_ctx_stream); the record's state lives in a small arena that
 * is reset for the next one.  Rebuild instead applies as
 * it reads the log: records are loaded on first use (views.c), kept in the
 * context's arena and written by st_ctx_flush. */
typedef struct crec {
  rec *r;
  uint8_t old_hash[LINLI_HASH_BYTES];
  bool dirty;
  uint32_t klen;
  uint32_t nops, first, fill; /* the group's ops on this record (commit) */
  char key[]; /* not NUL-terminated */
} crec;

/* One new op of a group being committed. */
typedef struct gop {
  const op *o;
  const uint8_t *author;
  crec *cr; /* its record */
} gop;

typedef struct applyctx {
  lstore *s;
  larena arena;  /* entries, and records that stay (rebuild) */
  larena rarena; /* the one record being streamed (commit) */
  hmap recs;     /* key (borrowed from the crec) -> crec* */
  crec **all;    /* the values of recs, for sorting by key */
  size_t nall, allcap;
  hmap digs;     /* prefix -> ldigest* */
  lbuf scratch, row;
  uint32_t changed;
  uint64_t ops;
  struct aggctx *agg; /* the schema's aggregates (node/aggregates.c); NULL until used */
} applyctx;

/* The aggregates of node/aggregates.c: a record's contribution leaves with
 * sign -1 (its state as loaded) and comes back with +1 (as written);
 * st_agg_write adds the moves to the rows in wb; st_agg_free forgets them;
 * st_agg_drop removes every row (rebuild), which makes them stale until
 * lrecords_aggregates recomputes them. */
int st_agg_record(applyctx *c, const char *key, size_t klen, const rec *r, int sign, lerr *e);
int st_agg_write(applyctx *c, rocksdb_writebatch_t *wb, lerr *e);
void st_agg_free(applyctx *c);
void st_agg_drop(lstore *s, rocksdb_writebatch_t *wb);


void st_ctx_init(applyctx *c, lstore *s);
void st_ctx_free(applyctx *c);
/* Finds (or makes) the record of `g`'s op and counts the op there, for
 * st_ctx_stream. */
int st_ctx_want(applyctx *c, gop *g, lerr *e);
/* Applies the ops counted by st_ctx_want record by record in key order,
 * writing views rows then digests into `wb`. */
int st_ctx_stream(applyctx *c, const gop *ops, uint32_t n, rocksdb_writebatch_t *wb, lerr *e);

/* Makes an entry for `key` (st_recompute). */
int st_recompute_want(applyctx *c, const char *key, size_t klen, lerr *e);
/* Recomputes each record st_recompute_want named from the ops that stay
 * when `author`'s ops after seq `after` are removed: the record's history
 * names every op applied to it, and those are re-read from the log (in
 * (author, seq) order, one row decoded per run).  Views rows and the
 * digests they move go into `wb`; a record left with no op is deleted. */
int st_recompute(applyctx *c, const uint8_t author[LINLI_PK_BYTES], uint64_t after,
                 rocksdb_writebatch_t *wb, lerr *e);
/* Drops the cached trust states (reloaded from the views on next use). */
void st_trust_forget(lstore *s);

/* Cuts `author`'s log back to at->seq into `wb`: rows past it deleted, the
 * row across it cut there and signed with at->sig (the author's signature
 * of at->hash at that seq), the head moved back, and the records the
 * removed ops touched recomputed from the ops that stay.  *removed counts
 * the ops removed.  LINLI_EFORK when the op held at at->seq is not
 * at->hash. */
int st_cut_log(lstore *s, const uint8_t author[LINLI_PK_BYTES], const lrevoke *at,
               rocksdb_writebatch_t *wb, uint64_t *removed, lerr *e);

/* The first seq of `d`, up to `upto` and the head held, whose hash differs
 * from the log of d->author held (*q 0: none); LINLI_EINVAL when `d` does
 * not start on that log (its prev is not the hash held), so that where
 * they part is not shown. */
int st_first_diff(lstore *s, const delta *d, uint64_t upto, uint64_t *q, lerr *e);

/* Signs `ops` as `id` (seqs after h->seq, HLCs from *t and `wall_ms`,
 * chained from h->hash) as one delta and adds it to `g` as a local write;
 * h and *t then describe its last op.  The clock check of lstore_write
 * applies; the recovering flag is the caller's to check. */
int st_write_signed(lingest *g, const lident *id, lhead *h, uint64_t *t, op *ops, uint32_t n,
                    uint64_t wall_ms, lerr *e);

/* Fills `o` with the op on the trust record `prefix` + hex(subject):
 * `kind` of `field`, the hex of raw's bytes (put in `hex`) as its value;
 * `key` (96 bytes) holds the record key. */
int st_trust_op(op *o, char key[96], lbuf *hex, uint8_t kind, const char *prefix,
                const uint8_t subject[LINLI_PK_BYTES], const char *field, const lbuf *raw,
                lerr *e);

/* ---- recovery (ingest.c) ---- */

/* Finishes a fork repair a crash interrupted after its re-signed ops were
 * committed (forkfix.c): cuts the old key's diverged ops. */
int st_forkfix_pending(lstore *s, lerr *e);

/* The meta row that says the views and digests are being rebuilt. */
#define REBUILD_MARK "rebuilding"
/* Enforces every revocation a commit marked and a crash left pending. */
int st_enforce_pending(lstore *s, lerr *e);
/* At open (read-write): finishes an interrupted rebuild, then enforces
 * pending revocations (a failure there is logged, not returned). */
int st_recover(lstore *s, lerr *e);

#endif
