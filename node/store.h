/*
 * store.h - a node's data directory: author logs, views and digests in
 * RocksDB.
 *
 * Layout of a data directory:
 *   node.key, node.key.pub   the node's identity (keyfile.h)
 *   db/                      RocksDB with five column families:
 *     default  meta: format version, node name, own public key, HLC
 *     log      signed deltas as applied, key author(32) || last seq (8, BE)
 *     heads    per author: [seq, head hash, hlc, signature of that head]
 *     views    per record key: 32-byte hash of the visible state || state
 *     digests  per prefix ("" and each prefix ending in '/'): sum, count
 * docs/FORMAT.md, "Storage", has every byte.
 *
 * Deltas are stored as they arrived (one row per delta, never per op), and
 * only the part not held yet: a delta that overlaps what we hold is cut to
 * its new suffix, which keeps its signature.  Applying a group of deltas --
 * log rows, heads, views, digests, HLC -- is one RocksDB WriteBatch written
 * with a synced WAL, so a group is applied entirely or not at all and is on
 * disk when the call returns.
 *
 * Ingest is a two-step affair so that nothing is applied before everything
 * has been verified: lstore_ingest_new(), lingest_add() for each delta
 * (decode, check against the heads held plus the deltas added before, verify
 * chain and signature), then lingest_commit().  A failed add leaves the
 * group as it was; a caller that wants all-or-nothing destroys the group.
 *
 * A store is used by one thread at a time.  RocksDB's lock makes a second
 * process fail with LINLI_EBUSY.
 */
#ifndef LINLI_STORE_H
#define LINLI_STORE_H

#include "crdt/delta.h"
#include "crdt/digest.h"
#include "crdt/record.h"
#include "crdt/trust.h"
#include "sync/summary.h"

typedef struct lstore lstore;
typedef struct lingest lingest;

enum lstore_profile {
  LSTORE_VILLAGE = 0,  /* small caches and memtables: cheap hardware */
  LSTORE_DISTRICT = 1, /* throughput: large memtables and cache */
};

typedef struct lstore_opts {
  int profile;    /* enum lstore_profile */
  bool read_only; /* open beside a running node, or on a full disk; every
                   * write fails and nothing is written, not even at open */
  uint64_t min_free; /* free bytes a write must leave on the disk (0:
                      * $LINLI_MIN_FREE, else LSTORE_MIN_FREE or, for the
                      * district profile, LSTORE_MIN_FREE_DISTRICT) */
} lstore_opts;

/* A store opened for writing refuses to write (LINLI_ENOSPC, with the disk
 * and the space needed named) when the disk holding it would keep less
 * than this free: RocksDB itself needs room for its flushes, compactions,
 * manifest and the WAL it preallocates (1.1 times a memtable: 1.1 MiB in
 * the village profile, 70 MiB in the district one).  Reads never need
 * space. */
#define LSTORE_MIN_FREE (32u << 20)
#define LSTORE_MIN_FREE_DISTRICT (128u << 20)

/* Checks that the disk holding `dir` has `need` bytes free beyond
 * `min_free` (0: the default); LINLI_ENOSPC names the disk (its mount
 * point) and the space needed. */
int lstore_space_check(const char *dir, uint64_t min_free, uint64_t need, lerr *e);

/* Column families, in the order lstore_cf_names lists them. */
enum { LCF_META, LCF_LOG, LCF_HEADS, LCF_VIEWS, LCF_DIGESTS, LCF_COUNT };
extern const char *const lstore_cf_names[LCF_COUNT];

/* A head as a store keeps it. */
typedef struct lhead {
  uint8_t author[LINLI_PK_BYTES];
  uint64_t seq;
  uint8_t hash[LINLI_HASH_BYTES];
  uint64_t hlc;                   /* HLC of the op at `seq` */
  uint8_t sig[LINLI_SIG_BYTES];   /* the author's signature over (seq, hash) */
} lhead;

/* What a new store starts with besides its name and key. */
typedef struct lstore_init_opts {
  const uint8_t *root;  /* the trust root (lstore_set_root), or NULL */
  bool restore;         /* a restored device: starts recovering (lstore_recovering) */
  uint64_t restore_ms;  /* when it was restored (wall clock): older bundles cannot end recovery */
} lstore_init_opts;

/* The mode of a data directory init or restore creates, whatever the
 * umask: its group (the creator's, `linli` on a packaged install) may enter
 * it to reach the control socket, which the daemon gives that group; what
 * is inside (node.key, db/) stays the owner's alone (0600 and 0700).  A
 * directory that already existed keeps its mode. */
#define LSTORE_DIR_MODE 0750

/* Creates a data directory: `dir`/node.key from `id` (NULL: a new key is
 * generated), and an empty store named `name` with what `o` (may be NULL)
 * asks, all its metadata in one synced write: a crash leaves either no
 * store or the whole of it.  LINLI_EEXIST if `dir` already holds a store.
 * A `dir` it creates gets LSTORE_DIR_MODE. */
int lstore_init(const char *dir, const char *name, const lident *id, const lstore_init_opts *o,
                lerr *e);

/* Opens an existing data directory (`opts` may be NULL). */
int lstore_open(lstore **out, const char *dir, const lstore_opts *opts, lerr *e);
/* Flushes and closes; *s becomes NULL.  Safe on NULL. */
void lstore_close(lstore **s);

const char *lstore_dir(const lstore *s);
const char *lstore_name(const lstore *s);
const uint8_t *lstore_self(const lstore *s);   /* own public key */
uint64_t lstore_hlc(const lstore *s);          /* last HLC issued or seen */
/* Reads the node's secret key from the data directory (wipe it after use). */
int lstore_identity(const lstore *s, lident *id, lerr *e);

/* ---- local writes ---- */

/* The largest encoded delta one write may produce: below the 1 MiB bound on
 * a sync message, with room for the message's own framing. */
#define LSTORE_WRITE_MAX ((1 << 20) - 4096)

/* Writes ops as `id`: fills in each op's seq (after id's own head) and hlc
 * (the node's clock: the persisted HLC and `wall_ms`), chains and signs
 * them as one delta, applies it and syncs the WAL before returning.  The
 * caller fills kind, key, field and value (OP_RM: tags from
 * lstore_set_tags).  `id` is the store's own identity, or a person's
 * (node/users.h) whose certificate op the store holds, or whose first op
 * this is and is its own certificate op (trust/cert/<hex>); any other key
 * is LINLI_EINVAL.  The trust rules refuse what `id` may not write, and a
 * refused local write leaves no trace (the author is not blocked). */
int lstore_write(lstore *s, const lident *id, op *ops, uint32_t n, uint64_t wall_ms, lerr *e);

/* ---- ingest of signed deltas ---- */

typedef struct lingest_stats {
  uint32_t deltas;     /* deltas committed */
  uint64_t ops_new;    /* ops applied */
  uint64_t ops_dup;    /* ops already held, skipped */
  uint32_t records;    /* records whose state changed */
} lingest_stats;

/* `keep` false gives a verify-only group: lingest_add checks each delta
 * (and remembers the heads it would produce) but keeps nothing, and
 * lingest_commit is refused.  Used to check a whole file before applying.
 * It remembers where each delta it accepted lies in the caller's bytes (to
 * keep fork evidence against a later delta of the same input), so those
 * bytes must outlive the group. */
int lstore_ingest_new(lstore *s, bool keep, lingest **out);
/* Decodes and verifies one delta against the store plus the group, then
 * runs its new ops through the trust rules.  The bytes are copied.  Errors
 * name the author and seq; the group is unchanged by a failed add:
 *   LINLI_EMALFORMED, ESIG, ECHAIN   the delta itself is bad
 *   LINLI_EGAP                       earlier ops are missing
 *   LINLI_EFORK                      it contradicts a signed op held: both
 *                                    are kept as fork evidence, and the
 *                                    author's new ops refused from now on
 *   LINLI_EREFUSED                   the author may not write this (no or
 *                                    expired certificate, outside its
 *                                    namespace, revoked, forked); after an
 *                                    op that broke the rules, the rest of
 *                                    the author's log is refused too
 * A delta that runs past its author's revocation is cut there, not
 * refused. */
int lingest_add(lingest *g, const uint8_t *p, size_t n, lerr *e);
/* Whether the ops of the group's deltas are all valid taken together:
 * LINLI_EREFUSED when a delta had to be cut at its author's revocation, or
 * a revocation in the group makes ops the group brought invalid (they came
 * before it).  A sync ingest commits such a group (the cut ops are never
 * stored, or removed at commit); `linli import` refuses the file, as
 * `linli audit` reports those ops. */
int lingest_check(lingest *g, lerr *e);
/* Fork evidence a file carries, taken into a verify-only group before it
 * is kept (lstore_fork_add keeps it): checked on its own, and the author's
 * new ops refused in the group from then on, as they will be once it is
 * kept.  Nothing is stored. */
int lingest_fork_note(lingest *g, const uint8_t *ev, size_t n, lerr *e);
uint32_t lingest_count(const lingest *g);   /* deltas added */
uint64_t lingest_ops(const lingest *g);     /* new ops in them */
/* Applies the whole group in one synced WriteBatch.  `st` may be NULL.
 * The group is emptied (and may be reused) on success.  The store keeps
 * the batch's buffer for its next commit: memory as large as the largest
 * batch written (the group's deltas plus the states of the records it
 * changed). */
int lingest_commit(lingest *g, uint64_t wall_ms, lingest_stats *st, lerr *e);
/* A value kept beside the store (as lstore_meta_put) written in the next
 * commit's batch: what is derived from the deltas (an author's replication
 * scope) is stored with them or not at all. */
int lingest_meta_put(lingest *g, const char *key, const void *val, size_t n, lerr *e);
void lingest_destroy(lingest **g);

/* ---- clocks (docs/FORMAT.md, "Clocks") ---- */

/* How far ahead of the receiver's clock an op may be dated before its
 * delta is held back: one hour unless configured. */
#define LSTORE_AHEAD_MS (60ull * 60 * 1000)

/* Gives a group the wall clock (ms since the epoch) and the bound: a delta
 * with a new op dated more than `ahead_ms` after `wall_ms` is then neither
 * applied nor passed on but held back (kept aside by a keeping group), and
 * so is every later delta of its author; lingest_add returns LINLI_EFUTURE
 * for it.  Without this call nothing is held back (own writes). */
void lingest_set_clock(lingest *g, uint64_t wall_ms, uint64_t ahead_ms);

/* A delta held back. */
typedef struct lheld {
  uint8_t author[LINLI_PK_BYTES];
  uint64_t first, last;
  uint64_t max_hlc; /* its latest op's HLC */
} lheld;
/* The deltas held back, by author and seq; *out is malloc'd. */
int lstore_held(lstore *s, lheld **out, uint32_t *n, lerr *e);
/* Runs the held deltas through ingest again with the clock at `wall_ms`:
 * those no longer too far ahead are applied (one synced batch) or, when
 * the rules refuse them, dropped; the rest stay held.  `st` (may be NULL)
 * counts what was applied. */
int lstore_release_held(lstore *s, uint64_t wall_ms, uint64_t ahead_ms, lingest_stats *st,
                        lerr *e);

/* How far this node's clock may be from its parent's before a local write
 * is refused (the clerk must set the PC's clock right first). */
#define LSTORE_CLOCK_SKEW_MS (10ull * 60 * 1000)
/* Records the parent's clock minus ours (`offset_ms`) as measured at our
 * wall time `at_ms` (linli-node, from the sync session).  lstore_write
 * refuses (LINLI_ECLOCK) while the latest measurement, taken within a day
 * of its own wall time, is off by more than LSTORE_CLOCK_SKEW_MS. */
int lstore_set_parent_clock(lstore *s, uint64_t at_ms, int64_t offset_ms, lerr *e);

/* ---- reads ---- */

/* The record at `key` (*out is owned by the caller: rec_destroy), or
 * LINLI_ENOTFOUND.  A deleted record is returned too: rec_present() tells. */
int lstore_get(lstore *s, const char *key, size_t klen, rec **out, lerr *e);

/* Calls cb for every present record whose key starts with `prefix`, in key
 * order.  The record is valid only during the call.  A non-zero return from
 * cb stops the scan and is returned. */
typedef int (*lstore_scan_cb)(void *ctx, const char *key, size_t klen, const rec *r);
int lstore_scan(lstore *s, const char *prefix, size_t plen, lstore_scan_cb cb, void *ctx,
                lerr *e);

/* The digest of every record under `prefix`.  For "" and prefixes that end
 * in '/', the maintained row is read (O(1)); any other prefix is summed from
 * the record hashes under it (a range scan of that prefix only). */
int lstore_digest(lstore *s, const char *prefix, size_t plen, ldigest *out, lerr *e);

/* One op of a record's history, as `lstore_history` hands it out. */
typedef struct lhist_entry {
  const uint8_t *author;          /* 32 bytes */
  const op *o;
  const uint8_t *hash;            /* this op's chain hash */
  uint64_t head_seq;              /* the signed head that covers it ... */
  const uint8_t *head_hash;       /* ... its hash ... */
  const uint8_t *head_sig;        /* ... and the author's signature */
} lhist_entry;
typedef int (*lstore_hist_cb)(void *ctx, const lhist_entry *h);
/* Every op ever applied to `key`, in stamp order, each re-read from the log
 * and re-verified (chain and signature) on the way.  LINLI_ENOTFOUND when
 * the key never had an op. */
int lstore_history(lstore *s, const char *key, size_t klen, lstore_hist_cb cb, void *ctx,
                   lerr *e);

/* All heads, sorted by author; *out is malloc'd. */
int lstore_heads(lstore *s, lhead **out, uint32_t *n, lerr *e);
int lstore_head(lstore *s, const uint8_t author[LINLI_PK_BYTES], lhead *out, lerr *e);

typedef struct lstore_stat {
  uint32_t authors;
  uint64_t ops;          /* sum of all heads' seq */
  uint64_t own_seq;      /* the node's own log */
  ldigest digest;        /* whole store; digest.count = present records */
  uint64_t hlc;
} lstore_stat;
int lstore_stat_get(lstore *s, lstore_stat *st, lerr *e);

/* What this node holds, as a summary. */
int lstore_summary(lstore *s, uint64_t now_ms, lsummary *out, lerr *e);

/* ---- export ---- */

/* Calls emit with signed deltas holding every op this store has and `want`
 * lacks (all of them when `want` is NULL), author by author in seq order.
 * Consecutive stored deltas are joined into one (keeping the last
 * signature) up to `max_bytes` per delta, so few signatures travel.  An
 * author whose log diverges from `want` at its seq (a fork) is skipped and
 * reported through `forks` (may be NULL).  When `keep` is given, only the
 * logs of authors it returns true for (called with `ctx`) are read. */
typedef int (*lstore_emit_cb)(void *ctx, const uint8_t *p, size_t n);
typedef bool (*lstore_keep_cb)(void *ctx, const uint8_t author[LINLI_PK_BYTES]);
typedef struct lexport_stats {
  uint32_t deltas, authors, forks;
  uint64_t ops;
} lexport_stats;
int lstore_export(lstore *s, const lsummary *want, lstore_keep_cb keep, size_t max_bytes,
                  lstore_emit_cb emit, void *ctx, lexport_stats *st, lerr *e);

/* The signed deltas of one author from seq `from` on, joined up to
 * `max_delta_bytes` each, until the next one would not fit in `budget` bytes
 * (0: no limit).  The first delta is emitted even when it is larger, so
 * every call makes progress.  emit may return a positive value to stop early. */
int lstore_read_log(lstore *s, const uint8_t author[LINLI_PK_BYTES], uint64_t from,
                    size_t max_delta_bytes, size_t budget, lstore_emit_cb emit, void *ctx,
                    lerr *e);

/* Small values other modules keep beside the store (peer state, scopes),
 * in the meta column family under "x:" + key.  *val is malloc'd. */
int lstore_meta_get(lstore *s, const char *key, uint8_t **val, size_t *n, lerr *e);
int lstore_meta_put(lstore *s, const char *key, const void *val, size_t n, lerr *e);

/* ---- trust (crdt/trust.h) ---- */

/* The trust root, or NULL when the store was created without one (then
 * every validly signed op is accepted; `linli status` says so).  Set once:
 * LINLI_EEXIST when another root is set already. */
const uint8_t *lstore_root(const lstore *s);
int lstore_set_root(lstore *s, const uint8_t root[LINLI_PK_BYTES], lerr *e);

/* What the store knows of an author's right to write: its certificate
 * chain, revocations, a block (an op that broke the rules: nothing after
 * it is accepted) and fork evidence. */
int lstore_trust(lstore *s, const uint8_t author[LINLI_PK_BYTES], ltrust_state *out, lerr *e);

/* A number that moves whenever what lstore_trust answers may have changed
 * (a certificate, a revocation, a block or fork taken in, a key rotation,
 * the trust root set, the cache dropped): what a caller derived from trust
 * states stays true while it stays the same. */
uint64_t lstore_trust_gen(const lstore *s);

/* The namespace prefix of `pk`'s own certificate as held (the first op of
 * a chain it wrote), or *prefix NULL when it holds none.  The string
 * belongs to the store and is good until lstore_trust_gen moves: unlike
 * lstore_trust, nothing is copied. */
int lstore_cert_prefix(lstore *s, const uint8_t pk[LINLI_PK_BYTES], const char **prefix, lerr *e);

/* The station's own namespace: the key prefix of its certificate ("" when
 * it holds none, or for the root), NUL-terminated in out.  Keys a person
 * types are relative to it (crdt/text.h, text_key_resolve). */
int lstore_namespace(lstore *s, char out[LINLI_KEY_MAX + 1], lerr *e);

/* The chain a key certifies a new subject with: `cert` (subject, name,
 * role, prefix and validity filled in) signed by `issuer`, followed by the
 * issuer's own chain as the store holds it (none when the issuer is the
 * trust root), checked as every node will check it.  LINLI_EINVAL when
 * the store has no root or the issuer no certificate. */
int lstore_issue_chain(lstore *s, const lident *issuer, lcert *cert, lchain *out, lerr *e);
/* Writes `ch` as `id`'s certificate op (trust/cert/<id>, field chain):
 * the first op of a certified log, or its renewal. */
int lstore_write_chain(lstore *s, const lident *id, const lchain *ch, uint64_t wall_ms, lerr *e);
/* Writes, as `id`, a revocation of rv->subject after rv->seq with
 * rv->reason; the head and signature at rv->seq are taken from the stored
 * log (lstore_signed_head; zeros for seq 0). */
int lstore_write_revocation(lstore *s, const lident *id, lrevoke *rv, uint64_t wall_ms,
                            lerr *e);

/* Who an author is, from the certificate chain held for it: a person's
 * name, role and station (the name on its issuer's certificate), or a
 * station's name and role (station = its own name).  certified false and
 * name "" when the store holds no chain of the author (the trust root, an
 * uncertified key); the root that is this node is named after it. */
typedef struct lauthor_info {
  char name[TRUST_NAME_MAX + 1];
  int role; /* enum trust_role; -1 when not certified */
  char station[TRUST_NAME_MAX + 1];
  bool certified;
} lauthor_info;
int lstore_author_info(lstore *s, const uint8_t author[LINLI_PK_BYTES], lauthor_info *out,
                       lerr *e);
/* The same from a chain alone (what an auditor has): a person certified
 * by the root itself gets station "" (the root has no name in the logs). */
void lauthor_from_chain(const lchain *ch, lauthor_info *out);

/* Fork evidence held (docs/FORMAT.md, "Fork evidence"), author by author;
 * each is re-checked on the way.  A non-zero return from cb stops. */
typedef int (*lstore_fork_cb)(void *ctx, const uint8_t author[LINLI_PK_BYTES], uint64_t seq,
                              const uint8_t *evidence, size_t n);
int lstore_forks(lstore *s, lstore_fork_cb cb, void *ctx, lerr *e);
/* Takes fork evidence from elsewhere (a peer, a file): checked on its own,
 * kept, and the author's new ops refused from then on.  *is_new (may be
 * NULL) tells whether the author was not known to have forked. */
int lstore_fork_add(lstore *s, const uint8_t *p, size_t n, bool *is_new, lerr *e);
uint32_t lstore_fork_count(const lstore *s);
/* The i-th piece of evidence (0-based, in lstore_forks order) among those
 * whose author `keep` accepts (NULL: every piece) appended to `out`: 1, or
 * 0 past the end.  *kept (may be NULL) gets how many pieces `keep`
 * accepted on the way: with i = UINT32_MAX, how many it accepts. */
typedef bool (*lstore_author_pred)(void *ctx, const uint8_t author[LINLI_PK_BYTES]);
int lstore_fork_get(lstore *s, uint32_t i, lstore_author_pred keep, void *kctx, lbuf *out,
                    uint32_t *kept, lerr *e);

/* A node restored from a backup must not write until it has recovered its
 * own log from its parent, or it could sign a second history for seqs it
 * signed before (a fork).  While the flag is set, lstore_write refuses. */
bool lstore_recovering(const lstore *s);
int lstore_set_recovering(lstore *s, bool on, lerr *e);
/* When the recovering node was restored (ms since 1970; 0 when unknown). */
uint64_t lstore_restored_ms(const lstore *s);

/* A person of this station (node/users.h) whose log the parent may hold
 * further than this store does (a restore to a new key, a copy brought
 * back by hand) must not sign until that log is back: the next seq could
 * be one the parent holds already (a fork).  While a person is marked,
 * lstore_write refuses their writes, naming them.  Kept as meta rows
 * `x:await:` + hex(person). */
int lstore_await_set(lstore *s, const uint8_t person[LINLI_PK_BYTES], bool on, lerr *e);
bool lstore_awaiting(lstore *s, const uint8_t person[LINLI_PK_BYTES]);
uint32_t lstore_await_count(const lstore *s);
/* The marked people (*out malloc'd, *n of them; NULL and 0 when none). */
int lstore_await_list(lstore *s, uint8_t (**out)[LINLI_PK_BYTES], uint32_t *n, lerr *e);

/* A consistent copy of the open store and the node's key files in one
 * file at `path` (written to a temporary name, synced, renamed): a RocksDB
 * checkpoint, so a running node takes it while it serves (through its
 * control socket: the node holds the store's lock).  Format in
 * docs/OPERATING.md, "Backups". */
int lstore_backup(lstore *s, const char *path, lerr *e);
/* Unpacks a backup into `dir`, which must not exist; the whole file is
 * checked (its checksum, every name) before anything is written, and a
 * failure leaves no directory behind.  The caller then marks the store
 * recovering (lstore_set_recovering). */
int lstore_restore(const char *file, const char *dir, lerr *e);

/* The chain hash of `author`'s op `seq`, from the stored log
 * (LINLI_ENOTFOUND when not held). */
int lstore_hash_at(lstore *s, const uint8_t author[LINLI_PK_BYTES], uint64_t seq,
                   uint8_t out[LINLI_HASH_BYTES], lerr *e);

/* The author's signed head exactly at `seq`, as a stored delta ends there
 * (what a revocation must carry); LINLI_ENOTFOUND names the nearest ones. */
int lstore_signed_head(lstore *s, const uint8_t author[LINLI_PK_BYTES], uint64_t seq, lhead *out,
                       lerr *e);

/* Key rotation: the secret key file `next_key` becomes the node's key
 * (DIR/node.key; the old one is kept as node.key.retired-<short id>).  The
 * old key's log stays as it is, signed and verifiable: nothing is
 * rewritten.  The caller then installs the new key's certificate. */
int lstore_rotate(lstore *s, const char *next_key, lerr *e);

/* ---- fork repair (forkfix.c; docs/OPERATING.md, "Forks") ---- */

/* The first seq at which the log of `author` held here and the other
 * history in the fork evidence held of it differ.  LINLI_ENOTFOUND without
 * evidence; LINLI_EINVAL when the evidence does not show it (the histories
 * part before both of its deltas start). */
int lstore_fork_first(lstore *s, const uint8_t author[LINLI_PK_BYTES], uint64_t *first,
                      lerr *e);

/* A fork repair done here: the ops of `old` from seq `first` on (`count`
 * of them) were signed again by `next` as its seqs 2 to count + 1. */
typedef struct lforkfix {
  uint8_t old[LINLI_PK_BYTES], next[LINLI_PK_BYTES];
  uint64_t first, count;
  bool cut; /* old's copies removed from this store */
} lforkfix;
/* The repair that moved this store from or to `key`; LINLI_ENOTFOUND. */
int lstore_forkfix_get(lstore *s, const uint8_t key[LINLI_PK_BYTES], lforkfix *out, lerr *e);

/* Called for each op signed again: its seq in the old log, and the op as
 * the new key signed it (o->seq its new seq).  Non-zero stops the repair
 * before anything is written. */
typedef int (*lstore_resign_cb)(void *ctx, uint64_t old_seq, const op *o);
/* Repairs this station after its key forked: every op of its own log from
 * seq `first` on (the ops its parent does not hold) is signed again by the
 * secret key file `next_key`, after that key's certificate op (`ch`,
 * checked by the caller), same records, fields, kinds and values, new seqs
 * and HLCs (an rm's tags naming re-signed adds follow them), in one commit;
 * then the old key's copies of those ops are cut from this store (each
 * change counts once), the recovering flag is cleared, and the store moves
 * to the new key (lstore_rotate).  Run again after a crash, with the same
 * key, it finishes the repair.  `out` (may be NULL) gets what was done. */
int lstore_fork_repair(lstore *s, const char *next_key, const lchain *ch, uint64_t first,
                       uint64_t wall_ms, lstore_resign_cb cb, void *ctx, lforkfix *out,
                       lerr *e);

/* Every stored delta as raw bytes, in log order (author by author, seq
 * ascending), for readers that trust nothing the store derived (audit).
 * A non-zero return from cb stops the scan and is returned. */
typedef int (*lstore_raw_cb)(void *ctx, const uint8_t *p, size_t n);
int lstore_log_scan(lstore *s, lstore_raw_cb cb, void *ctx, lerr *e);
/* The raw stored delta holding `seq` of `author`; *p is malloc'd. */
int lstore_log_find(lstore *s, const uint8_t author[LINLI_PK_BYTES], uint64_t seq, uint8_t **p,
                    size_t *n, lerr *e);

/* ---- maintenance ---- */

typedef void (*lstore_progress_cb)(void *ctx, uint64_t done, uint64_t total);

/* Re-verifies everything stored: each author's deltas are contiguous, chain
 * from one to the next, carry valid signatures, and end at the stored head.
 * Stops at the first problem, which `e` locates (author, seq). */
int lstore_verify(lstore *s, lstore_progress_cb progress, void *ctx, uint64_t *ops, lerr *e);

/* Throws away every view and digest and recomputes them from the log.  The
 * result equals what incremental ingest produced. */
int lstore_rebuild(lstore *s, lstore_progress_cb progress, void *ctx, lerr *e);

/* Reads `dir` through `opts` only to check that it holds a store; used by
 * the CLI to give a clear message. */
bool lstore_exists(const char *dir);

#endif
