/*
 * store.c - the data directory in RocksDB; see store.h for the model and
 * docs/FORMAT.md ("Storage") for the bytes.
 *
 * The one write path: every change, local or remote, becomes a group of
 * signed deltas that lingest_add() verifies and lingest_commit() applies in
 * one synced WriteBatch.  A commit visits each record the group touches
 * once, in key order (so a record touched by a thousand ops of the group is
 * read and written once): read it, merge its ops, write it and its digest
 * contributions; then the log rows, the heads and the HLC go in.  Rebuild
 * replays the log through the same merge and row writer ("applying ops to
 * records" below).
 */
#include "node/store.h"
#include "crdt/hlc.h"
#include "crdt/hmap.h"
#include "crdt/trust.h"
#include "node/fsutil.h"
#include "node/keyfile.h"
#include "node/log.h"

#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STORE_FORMAT "1"
#define STORE_NAME_MAX 100
/* A peer's clock may run ahead of ours by this much before we stop
 * following it (hlc_observe). */
#define HLC_MAX_AHEAD_MS (5 * 60 * 1000)
#define LOG_KEY_LEN (LINLI_PK_BYTES + 8)

const char *const lstore_cf_names[LCF_COUNT] = {"default", "log", "heads", "views", "digests"};

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
  hmap trust;                      /* author -> ltrust_state*, loaded on demand */
  uint32_t nforks;                 /* fork evidence rows */
  bool read_only;
};

/* ---- small encodings ---- */

static void
s_be64(uint8_t *p, uint64_t v)
{
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t
s_rd64(const uint8_t *p)
{
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = v << 8 | p[i];
  return v;
}

static void
s_log_key(uint8_t key[LOG_KEY_LEN], const uint8_t author[LINLI_PK_BYTES], uint64_t seq)
{
  memcpy(key, author, LINLI_PK_BYTES);
  s_be64(key + LINLI_PK_BYTES, seq);
}

static void
s_head_encode(const lhead *h, lbuf *out)
{
  mpw w;
  mpw_init(&w, out);
  mpw_array(&w, 4);
  mpw_uint(&w, h->seq);
  mpw_bin(&w, h->hash, LINLI_HASH_BYTES);
  mpw_uint(&w, h->hlc);
  mpw_bin(&w, h->sig, LINLI_SIG_BYTES);
}

static int
s_head_decode(lhead *h, const uint8_t *p, size_t n)
{
  mpr r;
  mpr_init(&r, p, n);
  if (mpr_array_n(&r, 4) || mpr_uint(&r, &h->seq) || mpr_bin_n(&r, h->hash, LINLI_HASH_BYTES) ||
      mpr_uint(&r, &h->hlc) || mpr_bin_n(&r, h->sig, LINLI_SIG_BYTES) || mpr_left(&r))
    return LINLI_EMALFORMED;
  return 0;
}

static const char *
s_short(char buf[LINLI_SHORT_ID_LEN + 1], const uint8_t *pk)
{
  ident_short(buf, pk);
  return buf;
}

/* ---- RocksDB plumbing ---- */

static int
s_rerr(lerr *e, char *err, const char *what)
{
  int code = LINLI_ESTORE;
  if (err && (strstr(err, "lock") || strstr(err, "Resource temporarily unavailable")))
    code = LINLI_EBUSY;
  if (code == LINLI_EBUSY)
    lerr_set(e, code, "%s: the data directory is in use by another process (is linli-node running?)",
             what);
  else
    lerr_set(e, code, "%s: %s", what, err ? err : "unknown RocksDB error");
  rocksdb_free(err);
  return code;
}

/* Reads one value; LINLI_ENOTFOUND when absent.  *val is rocksdb_free'd by
 * the caller. */
static int
s_get(lstore *s, int cf, const void *key, size_t klen, char **val, size_t *vlen, lerr *e)
{
  char *err = NULL;
  *val = rocksdb_get_cf(s->db, s->ro, s->cf[cf], key, klen, vlen, &err);
  if (err)
    return s_rerr(e, err, "read");
  return *val ? 0 : LINLI_ENOTFOUND;
}

static int
s_write(lstore *s, rocksdb_writebatch_t *wb, lerr *e)
{
  char *err = NULL;
  rocksdb_write(s->db, s->wo, wb, &err);
  return err ? s_rerr(e, err, "write") : 0;
}

bool
lstore_exists(const char *dir)
{
  char path[4096];
  return fs_join(path, sizeof path, dir, "db/CURRENT") == 0 && access(path, F_OK) == 0;
}

static int
s_open_db(lstore *s, const char *dir, bool create, int profile, bool read_only, lerr *e)
{
  char path[4096];
  if (fs_join(path, sizeof path, dir, "db"))
    return lerr_set(e, LINLI_ETOOBIG, "%s: path too long", dir);
  s->opts = rocksdb_options_create();
  rocksdb_options_set_create_if_missing(s->opts, create);
  rocksdb_options_set_create_missing_column_families(s->opts, create);
  s->bbto = rocksdb_block_based_options_create();
  if (profile == LSTORE_DISTRICT) {
    s->cache = rocksdb_cache_create_lru(128u << 20);
    rocksdb_options_set_write_buffer_size(s->opts, 64u << 20);
    /* Five column families may each hold two such memtables; the total is
     * what bounds the node's memory, so it is capped for all of them
     * together (the fullest is flushed first). */
    rocksdb_options_set_db_write_buffer_size(s->opts, 128u << 20);
    rocksdb_options_increase_parallelism(s->opts, 2);
    rocksdb_options_set_max_open_files(s->opts, 1024);
  } else {
    /* Cheap station hardware: a few MiB of cache and memtable. */
    s->cache = rocksdb_cache_create_lru(4u << 20);
    rocksdb_options_set_write_buffer_size(s->opts, 1u << 20);
    rocksdb_options_set_db_write_buffer_size(s->opts, 4u << 20);
    rocksdb_options_set_max_write_buffer_number(s->opts, 2);
    rocksdb_options_set_max_open_files(s->opts, 64);
  }
  rocksdb_block_based_options_set_block_cache(s->bbto, s->cache);
  rocksdb_options_set_block_based_table_factory(s->opts, s->bbto);
  rocksdb_options_set_keep_log_file_num(s->opts, 2);
  const rocksdb_options_t *cfo[LCF_COUNT];
  for (int i = 0; i < LCF_COUNT; i++)
    cfo[i] = s->opts;
  char *err = NULL;
  if (read_only)
    s->db = rocksdb_open_for_read_only_column_families(s->opts, path, LCF_COUNT, lstore_cf_names,
                                                       cfo, s->cf, 0, &err);
  else
    s->db = rocksdb_open_column_families(s->opts, path, LCF_COUNT, lstore_cf_names, cfo, s->cf,
                                         &err);
  if (err)
    return s_rerr(e, err, dir);
  s->ro = rocksdb_readoptions_create();
  s->wo = rocksdb_writeoptions_create();
  rocksdb_writeoptions_set_sync(s->wo, 1);
  return 0;
}

void
lstore_close(lstore **sp)
{
  lstore *s = *sp;
  if (s == NULL)
    return;
  if (s->db && s->read_only) {
    for (int i = 0; i < LCF_COUNT; i++)
      if (s->cf[i])
        rocksdb_column_family_handle_destroy(s->cf[i]);
    rocksdb_close(s->db);
    s->db = NULL;
  }
  if (s->db) {
    rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
    rocksdb_flushoptions_set_wait(fo, 1);
    for (int i = 0; i < LCF_COUNT; i++) {
      char *err = NULL;
      rocksdb_flush_cf(s->db, fo, s->cf[i], &err);
      rocksdb_free(err); /* the WAL still holds everything if this fails */
    }
    rocksdb_flushoptions_destroy(fo);
    for (int i = 0; i < LCF_COUNT; i++)
      if (s->cf[i])
        rocksdb_column_family_handle_destroy(s->cf[i]);
    rocksdb_close(s->db);
  }
  if (s->commit_wb) rocksdb_writebatch_destroy(s->commit_wb);
  if (s->ro) rocksdb_readoptions_destroy(s->ro);
  if (s->wo) rocksdb_writeoptions_destroy(s->wo);
  if (s->opts) rocksdb_options_destroy(s->opts);
  if (s->bbto) rocksdb_block_based_options_destroy(s->bbto);
  if (s->cache) rocksdb_cache_destroy(s->cache);
  for (size_t i = 0; i < s->trust.cap; i++)
    if (s->trust.slots[i].key)
      free(s->trust.slots[i].val);
  hmap_free(&s->trust);
  free(s->dir);
  free(s);
  *sp = NULL;
}

int
lstore_init(const char *dir, const char *name, const lident *id, lerr *e)
{
  size_t nl = strlen(name);
  if (nl == 0 || nl > STORE_NAME_MAX || !utf8_valid(name, nl))
    return lerr_set(e, LINLI_EINVAL, "node name must be 1 to %d bytes of UTF-8", STORE_NAME_MAX);
  if (lstore_exists(dir))
    return lerr_set(e, LINLI_EEXIST, "%s already holds a linli store", dir);
  int rc = fs_mkdirs(dir, 0700, e);
  if (rc)
    return rc;
  char keypath[4096];
  if (fs_join(keypath, sizeof keypath, dir, "node.key"))
    return lerr_set(e, LINLI_ETOOBIG, "%s: path too long", dir);
  lident fresh;
  if (id == NULL) {
    ident_generate(&fresh);
    id = &fresh;
  }
  rc = keyfile_write(keypath, id, false, e);
  uint8_t pk[LINLI_PK_BYTES];
  memcpy(pk, id->pk, sizeof pk);
  ident_wipe(&fresh);
  if (rc)
    return rc;
  lstore *s = calloc(1, sizeof *s);
  if (s == NULL)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  rc = s_open_db(s, dir, true, LSTORE_VILLAGE, false, e);
  if (rc == 0) {
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    uint8_t zero[8] = {0};
    rocksdb_writebatch_put_cf(wb, s->cf[LCF_META], "format", 6, STORE_FORMAT, strlen(STORE_FORMAT));
    rocksdb_writebatch_put_cf(wb, s->cf[LCF_META], "name", 4, name, nl);
    rocksdb_writebatch_put_cf(wb, s->cf[LCF_META], "self", 4, (const char *)pk, sizeof pk);
    rocksdb_writebatch_put_cf(wb, s->cf[LCF_META], "hlc", 3, (const char *)zero, 8);
    rc = s_write(s, wb, e);
    rocksdb_writebatch_destroy(wb);
  }
  lstore_close(&s);
  return rc;
}

int
lstore_open(lstore **out, const char *dir, const lstore_opts *opts, lerr *e)
{
  *out = NULL;
  if (!lstore_exists(dir))
    return lerr_set(e, LINLI_ENOTFOUND,
                    "%s is not a linli data directory (create one with: linli init --name NAME)",
                    dir);
  lstore *s = calloc(1, sizeof *s);
  if (s == NULL || (s->dir = strdup(dir)) == NULL) {
    free(s);
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  }
  int rc = s_open_db(s, dir, false, opts ? opts->profile : LSTORE_VILLAGE,
                     opts ? opts->read_only : false, e);
  s->read_only = opts ? opts->read_only : false;
  if (rc)
    goto fail;
  char *v;
  size_t vl;
  if (s_get(s, LCF_META, "format", 6, &v, &vl, e) != 0) {
    rc = lerr_set(e, LINLI_ESTORE, "%s: store metadata is missing", dir);
    goto fail;
  }
  bool ok = vl == strlen(STORE_FORMAT) && memcmp(v, STORE_FORMAT, vl) == 0;
  rocksdb_free(v);
  if (!ok) {
    rc = lerr_set(e, LINLI_ESTORE, "%s: store format is not supported by this version", dir);
    goto fail;
  }
  if (s_get(s, LCF_META, "name", 4, &v, &vl, e) != 0 || vl > STORE_NAME_MAX) {
    rc = lerr_set(e, LINLI_ESTORE, "%s: node name is missing", dir);
    goto fail;
  }
  memcpy(s->name, v, vl);
  s->name[vl] = '\0';
  rocksdb_free(v);
  if (s_get(s, LCF_META, "self", 4, &v, &vl, e) != 0 || vl != LINLI_PK_BYTES) {
    rc = lerr_set(e, LINLI_ESTORE, "%s: node key is missing from the store", dir);
    goto fail;
  }
  memcpy(s->self, v, LINLI_PK_BYTES);
  rocksdb_free(v);
  if (s_get(s, LCF_META, "hlc", 3, &v, &vl, e) != 0 || vl != 8) {
    rc = lerr_set(e, LINLI_ESTORE, "%s: clock state is missing", dir);
    goto fail;
  }
  s->hlc = s_rd64((const uint8_t *)v);
  rocksdb_free(v);
  if (s_get(s, LCF_META, "root", 4, &v, &vl, NULL) == 0) {
    s->has_root = vl == LINLI_PK_BYTES;
    if (s->has_root)
      memcpy(s->root, v, LINLI_PK_BYTES);
    rocksdb_free(v);
  }
  if (s_get(s, LCF_META, "recovering", 10, &v, &vl, NULL) == 0) {
    s->recovering = true;
    rocksdb_free(v);
  }
  hmap_init(&s->trust);
  {
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[LCF_META]);
    for (rocksdb_iter_seek(it, "x:fork:", 7); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
      size_t kl;
      const char *k = rocksdb_iter_key(it, &kl);
      if (kl < 7 || memcmp(k, "x:fork:", 7) != 0)
        break;
      s->nforks++;
    }
    rocksdb_iter_destroy(it);
  }
  *out = s;
  return 0;
fail:
  lstore_close(&s);
  return rc;
}

const char *lstore_dir(const lstore *s) { return s->dir; }
const char *lstore_name(const lstore *s) { return s->name; }
const uint8_t *lstore_self(const lstore *s) { return s->self; }
uint64_t lstore_hlc(const lstore *s) { return s->hlc; }

int
lstore_identity(const lstore *s, lident *id, lerr *e)
{
  char path[4096];
  if (fs_join(path, sizeof path, s->dir, "node.key"))
    return lerr_set(e, LINLI_ETOOBIG, "%s: path too long", s->dir);
  int rc = keyfile_read(path, id, e);
  if (rc)
    return rc;
  if (memcmp(id->pk, s->self, LINLI_PK_BYTES) != 0) {
    ident_wipe(id);
    return lerr_set(e, LINLI_EINVAL, "%s does not hold this store's key", path);
  }
  return 0;
}

/* ---- heads ---- */

int
lstore_head(lstore *s, const uint8_t author[LINLI_PK_BYTES], lhead *out, lerr *e)
{
  char *v;
  size_t vl;
  memset(out, 0, sizeof *out);
  memcpy(out->author, author, LINLI_PK_BYTES);
  int rc = s_get(s, LCF_HEADS, author, LINLI_PK_BYTES, &v, &vl, e);
  if (rc)
    return rc;
  rc = s_head_decode(out, (const uint8_t *)v, vl);
  rocksdb_free(v);
  if (rc) {
    char who[LINLI_SHORT_ID_LEN + 1];
    return lerr_set(e, LINLI_ESTORE, "author %s: stored head is corrupt", s_short(who, author));
  }
  return 0;
}

int
lstore_heads(lstore *s, lhead **out, uint32_t *n, lerr *e)
{
  *out = NULL;
  *n = 0;
  uint32_t cap = 0;
  lhead *v = NULL;
  int rc = 0;
  rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[LCF_HEADS]);
  for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
    size_t kl, vl;
    const char *k = rocksdb_iter_key(it, &kl);
    const char *val = rocksdb_iter_value(it, &vl);
    if (*n == cap) {
      cap = cap ? cap * 2 : 16;
      lhead *nv = realloc(v, cap * sizeof *v);
      if (nv == NULL) {
        rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
        break;
      }
      v = nv;
    }
    if (kl != LINLI_PK_BYTES || s_head_decode(&v[*n], (const uint8_t *)val, vl)) {
      rc = lerr_set(e, LINLI_ESTORE, "a stored head is corrupt");
      break;
    }
    memcpy(v[*n].author, k, LINLI_PK_BYTES);
    (*n)++;
  }
  rocksdb_iter_destroy(it);
  if (rc) {
    free(v);
    *n = 0;
    return rc;
  }
  *out = v;
  return 0;
}

/* Finds and decodes the stored delta holding `seq` of `author`.  `*raw`
 * (rocksdb-owned copy) must outlive `d`. */
static int
s_load_delta(lstore *s, const uint8_t author[LINLI_PK_BYTES], uint64_t seq, delta *d,
             char **raw, size_t *rawlen, lerr *e)
{
  char who[LINLI_SHORT_ID_LEN + 1];
  uint8_t key[LOG_KEY_LEN];
  s_log_key(key, author, seq);
  *raw = NULL;
  rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[LCF_LOG]);
  rocksdb_iter_seek(it, (const char *)key, sizeof key);
  int rc = LINLI_ENOTFOUND;
  if (rocksdb_iter_valid(it)) {
    size_t kl, vl;
    const char *k = rocksdb_iter_key(it, &kl);
    if (kl == LOG_KEY_LEN && memcmp(k, author, LINLI_PK_BYTES) == 0) {
      const char *v = rocksdb_iter_value(it, &vl);
      *raw = malloc(vl ? vl : 1);
      if (rawlen)
        *rawlen = vl;
      if (*raw == NULL) {
        rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
      } else {
        memcpy(*raw, v, vl);
        lerr inner = {0};
        rc = delta_decode(d, (const uint8_t *)*raw, vl, &inner);
        if (rc)
          rc = lerr_set(e, LINLI_ESTORE, "author %s: stored delta ending at seq %llu is corrupt: %s",
                        s_short(who, author), (unsigned long long)s_rd64((const uint8_t *)k + LINLI_PK_BYTES),
                        inner.msg);
        else if (d->first_seq > seq || delta_last_seq(d) < seq) {
          delta_clear(d);
          rc = LINLI_ENOTFOUND;
        }
      }
    }
  }
  rocksdb_iter_destroy(it);
  if (rc == LINLI_ENOTFOUND)
    lerr_set(e, rc, "author %s: seq %llu is not in the log", s_short(who, author),
             (unsigned long long)seq);
  if (rc) {
    free(*raw);
    *raw = NULL;
  }
  return rc;
}

/* The chain hash of `author`'s op `seq`, recomputed from the stored log. */
static int
s_hash_at(lstore *s, const uint8_t author[LINLI_PK_BYTES], uint64_t seq,
          uint8_t out[LINLI_HASH_BYTES], lbuf *scratch, lerr *e)
{
  delta d;
  char *raw;
  int rc = s_load_delta(s, author, seq, &d, &raw, NULL, e);
  if (rc)
    return rc;
  uint8_t h[LINLI_HASH_BYTES];
  memcpy(h, d.prev, sizeof h);
  for (uint64_t q = d.first_seq; q <= seq; q++)
    op_hash(h, h, d.author, &d.ops[q - d.first_seq], scratch);
  memcpy(out, h, sizeof h);
  delta_clear(&d);
  free(raw);
  return 0;
}

/* ---- trust (crdt/trust.h) ---- */

const uint8_t *
lstore_root(const lstore *s)
{
  return s->has_root ? s->root : NULL;
}

int
lstore_set_root(lstore *s, const uint8_t root[LINLI_PK_BYTES], lerr *e)
{
  if (s->has_root) {
    if (memcmp(s->root, root, LINLI_PK_BYTES) == 0)
      return 0;
    return lerr_set(e, LINLI_EEXIST, "this store already has another trust root");
  }
  rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
  rocksdb_writebatch_put_cf(wb, s->cf[LCF_META], "root", 4, (const char *)root, LINLI_PK_BYTES);
  int rc = s_write(s, wb, e);
  rocksdb_writebatch_destroy(wb);
  if (rc == 0) {
    memcpy(s->root, root, LINLI_PK_BYTES);
    s->has_root = true;
  }
  return rc;
}

bool lstore_recovering(const lstore *s) { return s->recovering; }

int
lstore_set_recovering(lstore *s, bool on, lerr *e)
{
  rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
  if (on)
    rocksdb_writebatch_put_cf(wb, s->cf[LCF_META], "recovering", 10, "1", 1);
  else
    rocksdb_writebatch_delete_cf(wb, s->cf[LCF_META], "recovering", 10);
  int rc = s_write(s, wb, e);
  rocksdb_writebatch_destroy(wb);
  if (rc == 0)
    s->recovering = on;
  return rc;
}

/* What the views and the fork evidence say of `author`. */
static int
s_trust_load(lstore *s, const uint8_t author[LINLI_PK_BYTES], ltrust_state *st, lerr *e)
{
  char key[96];
  size_t kl;
  rec *r = NULL;
  int rc;
  trust_state_init(st);
  kl = trust_key(key, TRUST_CERT_PREFIX, author);
  if ((rc = lstore_get(s, key, kl, &r, e)) == 0) {
    const rfield *f = rec_field(r, TRUST_CHAIN_FIELD, strlen(TRUST_CHAIN_FIELD), FK_REGISTER);
    uint8_t *raw;
    size_t rl;
    if (f && f->nents == 1 && trust_unhex(f->ents[0].s, f->ents[0].s_len, &raw, &rl, NULL) == 0) {
      st->certified = chain_decode(&st->chain, raw, rl, NULL) == 0;
      free(raw);
    }
    rec_destroy(&r);
  } else if (rc != LINLI_ENOTFOUND) {
    return rc;
  }
  kl = trust_key(key, TRUST_REVOKE_PREFIX, author);
  if ((rc = lstore_get(s, key, kl, &r, e)) == 0) {
    const rfield *f = rec_field(r, TRUST_REVOKE_FIELD, strlen(TRUST_REVOKE_FIELD), FK_SET);
    for (uint32_t i = 0; f && i < f->nents; i++) {
      uint8_t *raw;
      size_t rl;
      lrevoke rv;
      if (trust_unhex(f->ents[i].s, f->ents[i].s_len, &raw, &rl, NULL) != 0)
        continue;
      if (revoke_decode(&rv, raw, rl, NULL) == 0 && memcmp(rv.subject, author, LINLI_PK_BYTES) == 0)
        trust_add_revocation(st, f->ents[i].st.author, &rv);
      free(raw);
    }
    rec_destroy(&r);
  } else if (rc != LINLI_ENOTFOUND) {
    return rc;
  }
  char mk[80] = "fork:";
  hex_encode(mk + 5, author, LINLI_PK_BYTES);
  uint8_t *ev;
  size_t evl;
  if (lstore_meta_get(s, mk, &ev, &evl, NULL) == 0) {
    uint8_t a[LINLI_PK_BYTES];
    mpr rd;
    mpr_init(&rd, ev, evl);
    const char *tag;
    uint32_t tl;
    st->forked = true;
    if (mpr_array_n(&rd, 5) || mpr_str(&rd, &tag, &tl) || mpr_bin_n(&rd, a, sizeof a) ||
        mpr_uint(&rd, &st->fork_seq))
      st->fork_seq = 0;
    free(ev);
  }
  return 0;
}

/* The store's cached state of `author` (loaded on first use). */
static int
s_trust_get(lstore *s, const uint8_t author[LINLI_PK_BYTES], ltrust_state **out, lerr *e)
{
  ltrust_state *st = hmap_get(&s->trust, author, LINLI_PK_BYTES);
  if (st == NULL) {
    st = malloc(sizeof *st);
    if (st == NULL)
      return lerr_set(e, LINLI_ENOMEM, "out of memory");
    int rc = s_trust_load(s, author, st, e);
    if (rc == 0 && hmap_put(&s->trust, author, LINLI_PK_BYTES, st) != 0)
      rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
    if (rc) {
      free(st);
      return rc;
    }
  }
  *out = st;
  return 0;
}

int
lstore_trust(lstore *s, const uint8_t author[LINLI_PK_BYTES], ltrust_state *out, lerr *e)
{
  ltrust_state *st;
  int rc = s_trust_get(s, author, &st, e);
  if (rc == 0)
    *out = *st;
  return rc;
}

int
lstore_forks(lstore *s, lstore_fork_cb cb, void *ctx, lerr *e)
{
  int rc = 0;
  rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[LCF_META]);
  for (rocksdb_iter_seek(it, "x:fork:", 7); rocksdb_iter_valid(it) && rc == 0;
       rocksdb_iter_next(it)) {
    size_t kl, vl;
    const char *k = rocksdb_iter_key(it, &kl);
    if (kl < 7 || memcmp(k, "x:fork:", 7) != 0)
      break;
    const char *v = rocksdb_iter_value(it, &vl);
    uint8_t author[LINLI_PK_BYTES];
    uint64_t seq;
    lerr inner;
    if (fork_check((const uint8_t *)v, vl, author, &seq, &inner) != 0) {
      rc = lerr_set(e, LINLI_ESTORE, "stored fork evidence is corrupt: %s", inner.msg);
      break;
    }
    rc = cb(ctx, author, seq, (const uint8_t *)v, vl);
  }
  rocksdb_iter_destroy(it);
  return rc;
}

/* Keeps evidence (if none is kept for the author yet) and stops accepting
 * the author's new ops.  Evidence is written at once, outside any ingest
 * group: it stays even when the group that found it is thrown away. */
static int
s_fork_keep(lstore *s, const uint8_t author[LINLI_PK_BYTES], uint64_t seq, const uint8_t *ev,
            size_t evl, lerr *e)
{
  ltrust_state *st;
  int rc = s_trust_get(s, author, &st, e);
  if (rc)
    return rc;
  if (st->forked)
    return 0;
  char mk[80] = "fork:";
  hex_encode(mk + 5, author, LINLI_PK_BYTES);
  if ((rc = lstore_meta_put(s, mk, ev, evl, e)) != 0)
    return rc;
  st->forked = true;
  st->fork_seq = seq;
  s->nforks++;
  log_warn("author %s forked at seq %llu: evidence kept, its new ops are refused",
           s_short(mk, author), (unsigned long long)seq);
  return 0;
}

uint32_t lstore_fork_count(const lstore *s) { return s->nforks; }

typedef struct fork_pick {
  uint32_t want, at;
  lbuf *out;
} fork_pick;

static int
s_fork_pick(void *ctx, const uint8_t author[LINLI_PK_BYTES], uint64_t seq, const uint8_t *ev,
            size_t n)
{
  fork_pick *fp = ctx;
  (void)author;
  (void)seq;
  if (fp->at++ != fp->want)
    return 0;
  lbuf_put(fp->out, ev, n);
  return 1;
}

int
lstore_fork_get(lstore *s, uint32_t i, lbuf *out, lerr *e)
{
  fork_pick fp = {.want = i, .out = out};
  return lstore_forks(s, s_fork_pick, &fp, e);
}

int
lstore_fork_add(lstore *s, const uint8_t *p, size_t n, bool *is_new, lerr *e)
{
  uint8_t author[LINLI_PK_BYTES];
  uint64_t seq;
  int rc = fork_check(p, n, author, &seq, e);
  if (rc)
    return rc;
  ltrust_state *st;
  if ((rc = s_trust_get(s, author, &st, e)) != 0)
    return rc;
  if (is_new)
    *is_new = !st->forked;
  return s_fork_keep(s, author, seq, p, n, e);
}

int
lstore_signed_head(lstore *s, const uint8_t author[LINLI_PK_BYTES], uint64_t seq, lhead *out,
                   lerr *e)
{
  char who[LINLI_SHORT_ID_LEN + 1];
  s_short(who, author);
  if (seq == 0)
    return lerr_set(e, LINLI_EINVAL, "seq 0 has no head");
  delta d;
  char *raw;
  memset(&d, 0, sizeof d);
  int rc = s_load_delta(s, author, seq, &d, &raw, NULL, e);
  if (rc)
    return rc;
  if (delta_last_seq(&d) != seq) {
    rc = lerr_set(e, LINLI_ENOTFOUND,
                  "author %s: no signature at seq %llu here; the nearest signed heads are seq "
                  "%llu and %llu",
                  who, (unsigned long long)seq, (unsigned long long)(d.first_seq - 1),
                  (unsigned long long)delta_last_seq(&d));
  } else {
    lbuf scratch;
    lbuf_init(&scratch);
    memset(out, 0, sizeof *out);
    memcpy(out->author, author, LINLI_PK_BYTES);
    out->seq = seq;
    out->hlc = d.ops[d.nops - 1].hlc;
    memcpy(out->sig, d.sig, LINLI_SIG_BYTES);
    rc = delta_verify(&d, out->hash, NULL, &scratch, e);
    lbuf_free(&scratch);
  }
  delta_clear(&d);
  free(raw);
  return rc;
}

int
lstore_rotate(lstore *s, const char *next_key, lerr *e)
{
  char cur[4096], pub[4200], old[4200], oldpub[4300], nextpub[4200];
  char shrt[LINLI_SHORT_ID_LEN + 1];
  lident next;
  int rc = keyfile_read(next_key, &next, e);
  if (rc)
    return rc;
  uint8_t pk[LINLI_PK_BYTES];
  memcpy(pk, next.pk, sizeof pk);
  ident_wipe(&next);
  if (memcmp(pk, s->self, LINLI_PK_BYTES) == 0)
    return lerr_set(e, LINLI_EINVAL, "the new key is the current key");
  ident_short(shrt, s->self);
  if (fs_join(cur, sizeof cur, s->dir, "node.key"))
    return lerr_set(e, LINLI_ETOOBIG, "%s: path too long", s->dir);
  snprintf(pub, sizeof pub, "%s.pub", cur);
  snprintf(old, sizeof old, "%s.retired-%s", cur, shrt);
  snprintf(oldpub, sizeof oldpub, "%s.pub", old);
  snprintf(nextpub, sizeof nextpub, "%s.pub", next_key);
  /* The retired key is kept (renamed, never deleted): the old log stays
   * verifiable by its public key, and an operator can still prove which
   * device held it.  The store's own key changes in one synced write. */
  if (rename(cur, old) != 0 || (access(pub, F_OK) == 0 && rename(pub, oldpub) != 0))
    return lerr_set(e, LINLI_EIO, "%s: cannot retire the current key", cur);
  if (rename(next_key, cur) != 0 || (access(nextpub, F_OK) == 0 && rename(nextpub, pub) != 0)) {
    rename(old, cur);
    rename(oldpub, pub);
    return lerr_set(e, LINLI_EIO, "%s: cannot install the new key", next_key);
  }
  rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
  rocksdb_writebatch_put_cf(wb, s->cf[LCF_META], "self", 4, (const char *)pk, LINLI_PK_BYTES);
  rc = s_write(s, wb, e);
  rocksdb_writebatch_destroy(wb);
  if (rc == 0)
    memcpy(s->self, pk, LINLI_PK_BYTES);
  return rc;
}

int
lstore_log_scan(lstore *s, lstore_raw_cb cb, void *ctx, lerr *e)
{
  int rc = 0;
  /* One pass over every log: no block it reads is read again, so putting
   * them in the block cache would only grow the process by the cache's
   * size (48 MB instead of 17 for `linli audit` of the 1M-op workload). */
  rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
  rocksdb_readoptions_set_fill_cache(ro, 0);
  rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, ro, s->cf[LCF_LOG]);
  for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it) && rc == 0; rocksdb_iter_next(it)) {
    size_t vl;
    const char *v = rocksdb_iter_value(it, &vl);
    rc = cb(ctx, (const uint8_t *)v, vl);
  }
  char *err = NULL;
  rocksdb_iter_get_error(it, &err);
  rocksdb_iter_destroy(it);
  rocksdb_readoptions_destroy(ro);
  if (err && rc == 0)
    rc = s_rerr(e, err, "reading the log");
  else
    rocksdb_free(err);
  return rc;
}

int
lstore_log_find(lstore *s, const uint8_t author[LINLI_PK_BYTES], uint64_t seq, uint8_t **p,
                size_t *n, lerr *e)
{
  delta d;
  char *raw;
  memset(&d, 0, sizeof d);
  int rc = s_load_delta(s, author, seq, &d, &raw, n, e);
  if (rc)
    return rc;
  delta_clear(&d);
  *p = (uint8_t *)raw;
  return 0;
}

/* ---- applying ops to records (shared by commit and rebuild) ---- */

/* A record of the apply cache.  A commit knows every op of the group up
 * front: it counts each record's ops (s_ctx_want), then visits the records
 * in key order, loading, merging and writing each one while it is hot in
 * the cache (s_ctx_stream); the record's state lives in a small arena that
 * is reset for the next one.  Rebuild instead applies as
 * it reads the log: records are loaded on first use (s_ctx_rec), kept in the
 * context's arena and written by s_ctx_flush. */
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
} applyctx;

static void
s_ctx_init(applyctx *c, lstore *s)
{
  memset(c, 0, sizeof *c);
  c->s = s;
  larena_init(&c->arena);
  larena_init(&c->rarena);
  hmap_init_borrowed(&c->recs);
  hmap_init(&c->digs);
  lbuf_init(&c->scratch);
  lbuf_init(&c->row);
}

static void
s_ctx_reset(applyctx *c)
{
  c->nall = 0;
  larena_reset(&c->arena);
  larena_reset(&c->rarena);
  for (size_t i = 0; i < c->digs.cap; i++)
    if (c->digs.slots[i].key)
      free(c->digs.slots[i].val);
  hmap_free(&c->recs);
  hmap_free(&c->digs);
  c->ops = 0;
}

static void
s_ctx_free(applyctx *c)
{
  s_ctx_reset(c);
  free(c->all);
  larena_free(&c->arena);
  larena_free(&c->rarena);
  lbuf_free(&c->scratch);
  lbuf_free(&c->row);
}

/* The cache entry for `key`, created (not loaded) if absent. */
static crec *
s_ctx_entry(applyctx *c, const char *key, size_t klen)
{
  crec *cr = hmap_get(&c->recs, key, klen);
  if (cr)
    return cr;
  if (c->nall == c->allcap) {
    size_t cap = c->allcap ? c->allcap * 2 : 256;
    crec **na = realloc(c->all, cap * sizeof *na);
    if (na == NULL)
      return NULL;
    c->all = na;
    c->allcap = cap;
  }
  cr = larena_alloc(&c->arena, sizeof *cr + klen);
  if (cr == NULL)
    return NULL;
  memset(cr, 0, sizeof *cr);
  memcpy(cr->key, key, klen);
  cr->klen = (uint32_t)klen;
  if (hmap_put(&c->recs, cr->key, klen, cr) != 0)
    return NULL; /* the arena takes the entry back with everything else */
  c->all[c->nall++] = cr;
  return cr;
}

/* Fills cr from a stored views row (its hash, then its state), in `a`. */
static int
s_ctx_decode(larena *a, crec *cr, const char *v, size_t vl, lerr *e)
{
  if (vl < LINLI_HASH_BYTES ||
      rec_decode_in(&cr->r, a, (const uint8_t *)v + LINLI_HASH_BYTES, vl - LINLI_HASH_BYTES, NULL) != 0)
    return lerr_set(e, LINLI_ESTORE, "stored state of %.*s is corrupt (run linli rebuild)",
                    (int)cr->klen, cr->key);
  memcpy(cr->old_hash, v, LINLI_HASH_BYTES);
  return 0;
}

/* The entry for `key`, its record loaded by a point read if need be. */
static int
s_ctx_rec(applyctx *c, const char *key, size_t klen, crec **out, lerr *e)
{
  crec *cr = s_ctx_entry(c, key, klen);
  if (cr == NULL)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  if (cr->r == NULL) {
    char *v;
    size_t vl;
    int rc = s_get(c->s, LCF_VIEWS, key, klen, &v, &vl, e);
    if (rc == 0) {
      rc = s_ctx_decode(&c->arena, cr, v, vl, e);
      rocksdb_free(v);
      if (rc)
        return rc;
    } else if (rc != LINLI_ENOTFOUND) {
      return rc;
    } else if ((cr->r = rec_new_in(&c->arena)) == NULL) {
      return lerr_set(e, LINLI_ENOMEM, "out of memory");
    }
  }
  *out = cr;
  return 0;
}

static int
s_crec_cmp(const void *a, const void *b)
{
  const crec *x = *(const crec *const *)a, *y = *(const crec *const *)b;
  int d = memcmp(x->key, y->key, x->klen < y->klen ? x->klen : y->klen);
  return d ? d : (x->klen > y->klen) - (x->klen < y->klen);
}

static int
s_key_cmp(const char *a, size_t an, const char *b, size_t bn)
{
  int d = memcmp(a, b, an < bn ? an : bn);
  return d ? d : (an > bn) - (an < bn);
}

/* Finds stored views rows for keys asked in increasing order.  A point read
 * per record costs a skiplist search in each memtable and a probe of each
 * level, and most records of a large group are usually new; one iterator
 * does better: a seek lands on the first stored key at or after the wanted
 * one, every wanted key before that stored key is known to be absent
 * without another read, and stored keys close together are reached with a
 * few Next() steps instead of new seeks. */
typedef struct vcursor {
  rocksdb_iterator_t *it;
  bool seeked, valid;
  const char *k;
  size_t kl;
} vcursor;

static void
s_cursor_at(vcursor *vc)
{
  if ((vc->valid = rocksdb_iter_valid(vc->it)) != 0)
    vc->k = rocksdb_iter_key(vc->it, &vc->kl);
}

/* The stored value of `key` (valid until the next call), or NULL. */
static const char *
s_cursor_find(vcursor *vc, const char *key, size_t klen, size_t *vl)
{
  int cmp = vc->valid ? s_key_cmp(vc->k, vc->kl, key, klen) : 1;
  for (int step = 0; vc->valid && cmp < 0 && step < 8; step++) {
    rocksdb_iter_next(vc->it);
    s_cursor_at(vc);
    if (vc->valid)
      cmp = s_key_cmp(vc->k, vc->kl, key, klen);
  }
  if (!vc->seeked || (vc->valid && cmp < 0)) {
    rocksdb_iter_seek(vc->it, key, klen);
    vc->seeked = true;
    s_cursor_at(vc);
    if (vc->valid)
      cmp = s_key_cmp(vc->k, vc->kl, key, klen);
  }
  /* Now the iterator is at the first stored key >= key, or past the end:
   * either way nothing stored lies between. */
  return vc->valid && cmp == 0 ? rocksdb_iter_value(vc->it, vl) : NULL;
}

static int
s_ctx_merge(applyctx *c, crec *cr, const uint8_t author[LINLI_PK_BYTES], const op *o, lerr *e)
{
  int rc = rec_apply(cr->r, author, o);
  if (rc < 0)
    return lerr_set(e, rc, "out of memory applying an op");
  cr->dirty |= rc > 0;
  c->ops++;
  return 0;
}

/* Applies ops as they come (rebuild). */
static int
s_ctx_apply(applyctx *c, const uint8_t author[LINLI_PK_BYTES], const op *ops, uint32_t n, lerr *e)
{
  for (uint32_t i = 0; i < n; i++) {
    crec *cr = NULL;
    int rc = s_ctx_rec(c, ops[i].key, ops[i].key_len, &cr, e);
    if (rc == 0)
      rc = s_ctx_merge(c, cr, author, &ops[i], e);
    if (rc)
      return rc;
  }
  return 0;
}

/* Finds (or makes) the record of `g`'s op and counts the op there, for
 * s_ctx_stream. */
static int
s_ctx_want(applyctx *c, gop *g, lerr *e)
{
  g->cr = s_ctx_entry(c, g->o->key, g->o->key_len);
  if (g->cr == NULL)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  g->cr->nops++;
  return 0;
}

static int
s_ctx_digest(applyctx *c, const char *prefix, size_t plen, ldigest **out, lerr *e)
{
  ldigest *d = hmap_get(&c->digs, prefix, plen);
  if (d == NULL) {
    d = calloc(1, sizeof *d);
    if (d == NULL)
      return lerr_set(e, LINLI_ENOMEM, "out of memory");
    char *v;
    size_t vl;
    int rc = s_get(c->s, LCF_DIGESTS, prefix, plen, &v, &vl, e);
    if (rc == 0) {
      rc = digest_unpack(d, (const uint8_t *)v, vl);
      rocksdb_free(v);
      if (rc) {
        free(d);
        return lerr_set(e, LINLI_ESTORE, "stored digest of '%.*s' is corrupt (run linli rebuild)",
                        (int)plen, prefix);
      }
    } else if (rc != LINLI_ENOTFOUND) {
      free(d);
      return rc;
    }
    if (hmap_put(&c->digs, prefix, plen, d) != 0) {
      free(d);
      return lerr_set(e, LINLI_ENOMEM, "out of memory");
    }
  }
  *out = d;
  return 0;
}

/* Writes one changed record into `wb` and moves the digests of its
 * prefixes from its old hash to its new one. */
static int
s_ctx_write_rec(applyctx *c, crec *cr, rocksdb_writebatch_t *wb, lerr *e)
{
  static const uint8_t zero[LINLI_HASH_BYTES];
  const char *key = cr->key;
  uint8_t h[LINLI_HASH_BYTES];
  rec_hash(cr->r, key, cr->klen, h, &c->scratch);
  lbuf_reset(&c->row);
  lbuf_put(&c->row, h, sizeof h);
  rec_encode(cr->r, &c->row);
  if (c->row.oom)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  rocksdb_writebatch_put_cf(wb, c->s->cf[LCF_VIEWS], key, cr->klen, (const char *)c->row.p,
                            c->row.len);
  int rc = 0;
  if (memcmp(h, cr->old_hash, sizeof h) != 0) {
    uint32_t lens[LINLI_KEY_MAX / 2 + 1];
    uint32_t np = digest_prefixes(key, cr->klen, lens, sizeof lens / sizeof *lens);
    for (uint32_t k = 0; k < np && rc == 0; k++) {
      ldigest *d = NULL;
      rc = s_ctx_digest(c, key, lens[k], &d, e);
      if (rc)
        break;
      if (memcmp(cr->old_hash, zero, sizeof zero) != 0)
        digest_sub(d, cr->old_hash);
      if (memcmp(h, zero, sizeof zero) != 0)
        digest_add(d, h);
    }
    c->changed++;
  }
  memcpy(cr->old_hash, h, sizeof h);
  cr->dirty = false;
  return rc;
}

static void
s_ctx_write_digests(applyctx *c, rocksdb_writebatch_t *wb)
{
  for (size_t i = 0; i < c->digs.cap; i++) {
    hmap_slot *sl = &c->digs.slots[i];
    if (sl->key == NULL)
      continue;
    uint8_t packed[DIGEST_ROW_BYTES];
    digest_pack(sl->val, packed);
    rocksdb_writebatch_put_cf(wb, c->s->cf[LCF_DIGESTS], (const char *)sl->key, sl->klen,
                              (const char *)packed, sizeof packed);
  }
}

/* Writes every changed record and the digests they move into `wb`, in key
 * order: RocksDB inserts a batch into its memtable skiplist entry by entry,
 * and an entry that follows the previous one in key order is found from
 * where that one went in, instead of by a search from the top. */
static int
s_ctx_flush(applyctx *c, rocksdb_writebatch_t *wb, lerr *e)
{
  if (c->nall > 1) /* c->all is NULL in an empty context */
    qsort(c->all, c->nall, sizeof *c->all, s_crec_cmp);
  int rc = 0;
  for (size_t i = 0; i < c->nall && rc == 0; i++)
    if (c->all[i]->dirty)
      rc = s_ctx_write_rec(c, c->all[i], wb, e);
  if (rc == 0)
    s_ctx_write_digests(c, wb);
  return rc;
}

/* How far ahead of the op being merged s_ctx_stream asks for the memory of
 * later ops: their op structs first, then the bytes those point to. */
#define STREAM_PREFETCH_OP 8
#define STREAM_PREFETCH_BYTES 4

/* Applies the group's ops (counted by s_ctx_want) record by record in key
 * order: each record is read (s_cursor_find), merged, encoded and written
 * while it is in the cache, then its memory is reused for the next one.
 * Views rows go into `wb` in key order (see s_ctx_flush), then the digests.
 *
 * The ops are first laid out record by record (a counting sort, keeping
 * group order within a record).  Taken in that order they are scattered
 * over the group's decoded deltas, and each one was a cache miss (perf:
 * most of rec_apply's time on its first load of the op); they are walked
 * in a row now, so the memory of the ones a few steps ahead is requested
 * early. */
static int
s_ctx_stream(applyctx *c, const gop *ops, uint32_t n, rocksdb_writebatch_t *wb, lerr *e)
{
  if (c->nall > 1)
    qsort(c->all, c->nall, sizeof *c->all, s_crec_cmp);
  gop *seq = malloc((n ? n : 1) * sizeof *seq);
  if (seq == NULL)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  uint32_t at = 0;
  for (size_t i = 0; i < c->nall; i++) {
    c->all[i]->first = at;
    c->all[i]->fill = 0;
    at += c->all[i]->nops;
  }
  for (uint32_t i = 0; i < n; i++) {
    crec *cr = ops[i].cr;
    seq[cr->first + cr->fill++] = ops[i];
  }
  vcursor vc = {.it = rocksdb_create_iterator_cf(c->s->db, c->s->ro, c->s->cf[LCF_VIEWS])};
  int rc = 0;
  for (size_t i = 0; i < c->nall && rc == 0; i++) {
    crec *cr = c->all[i];
    size_t vl;
    const char *v = s_cursor_find(&vc, cr->key, cr->klen, &vl);
    if (v)
      rc = s_ctx_decode(&c->rarena, cr, v, vl, e);
    else if ((cr->r = rec_new_in(&c->rarena)) == NULL)
      rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
    for (uint32_t k = cr->first; rc == 0 && k < cr->first + cr->nops; k++) {
      if (k + STREAM_PREFETCH_OP < n)
        __builtin_prefetch(seq[k + STREAM_PREFETCH_OP].o);
      if (k + STREAM_PREFETCH_BYTES < n) {
        const op *o = seq[k + STREAM_PREFETCH_BYTES].o;
        __builtin_prefetch(o->field);
        __builtin_prefetch(o->str);
      }
      rc = s_ctx_merge(c, cr, seq[k].author, seq[k].o, e);
    }
    if (rc == 0 && cr->dirty)
      rc = s_ctx_write_rec(c, cr, wb, e);
    cr->r = NULL;
    larena_reset(&c->rarena);
  }
  char *err = NULL;
  rocksdb_iter_get_error(vc.it, &err);
  if (err && rc == 0)
    rc = s_rerr(e, err, "read");
  else
    rocksdb_free(err);
  rocksdb_iter_destroy(vc.it);
  free(seq);
  if (rc == 0)
    s_ctx_write_digests(c, wb);
  return rc;
}

/* ---- ingest groups ---- */

typedef struct gitem {
  delta d;
  uint8_t *raw;
  size_t raw_len;
  uint32_t skip;                     /* leading ops already held */
  uint32_t keep;                     /* ops kept: [skip, keep) are new; < nops after a revocation */
  uint8_t sig[LINLI_SIG_BYTES];      /* over the head at keep - 1 */
  uint8_t prev[LINLI_HASH_BYTES];    /* hash of the op before the first new one */
  lhead head;                        /* the head after this delta */
} gitem;

struct lingest {
  lstore *s;
  bool keep;
  hmap heads; /* author -> lhead*, as the store plus the group would have it */
  hmap trust; /* author -> ltrust_state*, likewise */
  uint8_t (*revsubj)[LINLI_PK_BYTES]; /* subjects of revocations in the group */
  uint32_t nrevsubj, revsubj_cap;
  gitem *items;
  uint32_t n, cap;
  uint64_t nops, dups;
  lbuf scratch;
  uint8_t (*hashes)[LINLI_HASH_BYTES];
  uint32_t hashes_cap;
};

int
lstore_ingest_new(lstore *s, bool keep, lingest **out)
{
  lingest *g = calloc(1, sizeof *g);
  if (g == NULL)
    return LINLI_ENOMEM;
  g->s = s;
  g->keep = keep;
  hmap_init(&g->heads);
  hmap_init(&g->trust);
  lbuf_init(&g->scratch);
  *out = g;
  return 0;
}

static void
s_group_clear(lingest *g)
{
  for (uint32_t i = 0; i < g->n; i++) {
    delta_clear(&g->items[i].d);
    free(g->items[i].raw);
  }
  g->n = 0;
  g->nops = 0;
  g->dups = 0;
  for (size_t i = 0; i < g->heads.cap; i++)
    if (g->heads.slots[i].key)
      free(g->heads.slots[i].val);
  hmap_free(&g->heads);
  for (size_t i = 0; i < g->trust.cap; i++)
    if (g->trust.slots[i].key)
      free(g->trust.slots[i].val);
  hmap_free(&g->trust);
  g->nrevsubj = 0;
}

void
lingest_destroy(lingest **gp)
{
  lingest *g = *gp;
  if (g == NULL)
    return;
  s_group_clear(g);
  free(g->items);
  free(g->hashes);
  free(g->revsubj);
  lbuf_free(&g->scratch);
  free(g);
  *gp = NULL;
}

uint32_t lingest_count(const lingest *g) { return g->n; }
uint64_t lingest_ops(const lingest *g) { return g->nops; }

static int
s_group_head(lingest *g, const uint8_t author[LINLI_PK_BYTES], lhead **out, lerr *e)
{
  lhead *h = hmap_get(&g->heads, author, LINLI_PK_BYTES);
  if (h == NULL) {
    h = calloc(1, sizeof *h);
    if (h == NULL)
      return lerr_set(e, LINLI_ENOMEM, "out of memory");
    int rc = lstore_head(g->s, author, h, e);
    if (rc != 0 && rc != LINLI_ENOTFOUND) {
      free(h);
      return rc;
    }
    if (hmap_put(&g->heads, author, LINLI_PK_BYTES, h) != 0) {
      free(h);
      return lerr_set(e, LINLI_ENOMEM, "out of memory");
    }
  }
  *out = h;
  return 0;
}

/* The group's view of an author's trust state: the store's, plus what
 * the deltas added before changed. */
static int
s_group_trust(lingest *g, const uint8_t author[LINLI_PK_BYTES], ltrust_state **out, lerr *e)
{
  ltrust_state *st = hmap_get(&g->trust, author, LINLI_PK_BYTES);
  if (st == NULL) {
    ltrust_state *base;
    int rc = s_trust_get(g->s, author, &base, e);
    if (rc)
      return rc;
    if ((st = malloc(sizeof *st)) == NULL)
      return lerr_set(e, LINLI_ENOMEM, "out of memory");
    *st = *base;
    if (hmap_put(&g->trust, author, LINLI_PK_BYTES, st) != 0) {
      free(st);
      return lerr_set(e, LINLI_ENOMEM, "out of memory");
    }
  }
  *out = st;
  return 0;
}

/* An op broke the rules: the author's log cannot go past it, here or in
 * any later group (a signed log never changes). */
static void
s_block(lingest *g, const uint8_t author[LINLI_PK_BYTES], ltrust_state *ts, uint64_t seq,
        const char *why)
{
  ltrust_state *base;
  if (seq < ts->blocked_at) {
    ts->blocked_at = seq;
    snprintf(ts->why, sizeof ts->why, "%s", why);
  }
  if (s_trust_get(g->s, author, &base, NULL) == 0 && seq < base->blocked_at) {
    base->blocked_at = seq;
    snprintf(base->why, sizeof base->why, "%s", why);
  }
}

/* Two signed deltas disagree at `seq`: keep both as evidence. */
static int
s_fork_found(lingest *g, const delta *d, const uint8_t *p, size_t n, uint64_t seq, lerr *e)
{
  char who[LINLI_SHORT_ID_LEN + 1];
  delta ours;
  char *raw;
  size_t rl;
  memset(&ours, 0, sizeof ours);
  if (s_load_delta(g->s, d->author, seq, &ours, &raw, &rl, NULL) == 0) {
    lbuf ev;
    lbuf_init(&ev);
    fork_encode(&ev, d->author, seq, (const uint8_t *)raw, rl, p, n);
    if (!ev.oom)
      s_fork_keep(g->s, d->author, seq, ev.p, ev.len, NULL);
    lbuf_free(&ev);
    delta_clear(&ours);
    free(raw);
  }
  ltrust_state *ts;
  if (s_group_trust(g, d->author, &ts, NULL) == 0 && !ts->forked) {
    ts->forked = true;
    ts->fork_seq = seq;
  }
  return lerr_set(e, LINLI_EFORK,
                  "author %s seq %llu: two signed histories (a fork); evidence kept, new ops of "
                  "this author are refused",
                  s_short(who, d->author), (unsigned long long)seq);
}

static bool
s_has_trust_op(const delta *d, uint32_t from)
{
  for (uint32_t i = from; i < d->nops; i++)
    if (d->ops[i].key_len > 6 && memcmp(d->ops[i].key, "trust/", 6) == 0)
      return true;
  return false;
}

/* What can be refused from the header alone: a forked or blocked author,
 * or a delta wholly after the author's revocation. */
static int
s_trust_precheck(lingest *g, const delta *d, lerr *e)
{
  char who[LINLI_SHORT_ID_LEN + 1];
  ltrust_state *ts;
  int rc = s_group_trust(g, d->author, &ts, e);
  if (rc)
    return rc;
  s_short(who, d->author);
  if (ts->forked)
    return lerr_set(e, LINLI_EREFUSED,
                    "author %s: its log forked at seq %llu (evidence kept); new ops are refused",
                    who, (unsigned long long)ts->fork_seq);
  if (ts->blocked_at <= delta_last_seq(d))
    return lerr_set(e, LINLI_EREFUSED, "%s", ts->why);
  const ltrust_rev *rv = trust_revocation(lstore_root(g->s), ts);
  if (rv && d->first_seq > rv->rv.seq + 1)
    return lerr_set(e, LINLI_EREFUSED, "author %s seq %llu: key revoked after seq %llu (%s)", who,
                    (unsigned long long)d->first_seq, (unsigned long long)rv->rv.seq,
                    rv->rv.reason[0] ? rv->rv.reason : "no reason given");
  return 0;
}

/* Runs ops [skip, nops) through the trust rules.  *keep gets how many ops
 * of the delta are kept (fewer than nops when the author was revoked inside
 * it: the cut keeps the revocation's copy of the author's signature). */
static int
s_trust_delta(lingest *g, const delta *d, uint32_t skip, uint32_t *keep,
              uint8_t sig[LINLI_SIG_BYTES], lerr *e)
{
  char who[LINLI_SHORT_ID_LEN + 1];
  s_short(who, d->author);
  *keep = d->nops;
  memcpy(sig, d->sig, LINLI_SIG_BYTES);
  /* Forked and blocked authors were refused by s_trust_precheck. */
  ltrust_state *ts;
  int rc = s_group_trust(g, d->author, &ts, e);
  if (rc)
    return rc;
  const uint8_t *root = lstore_root(g->s);
  if (root == NULL)
    return 0;
  /* Work on a copy when the delta can change the state (a certificate),
   * so that a refused delta leaves nothing behind. */
  bool copy = s_has_trust_op(d, skip);
  ltrust_state *work = ts;
  if (copy && (work = malloc(sizeof *work)) == NULL)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  if (copy)
    *work = *ts;
  lrevoke *revs = NULL;
  uint32_t nrevs = 0;
  for (uint32_t i = skip; i < d->nops && rc == 0; i++) {
    const ltrust_rev *rv = trust_revocation(root, work);
    if (rv && d->ops[i].seq > rv->rv.seq) {
      if (i > skip && rv->rv.seq == d->ops[i].seq - 1 &&
          memcmp(g->hashes[i - 1], rv->rv.hash, LINLI_HASH_BYTES) == 0) {
        *keep = i;
        memcpy(sig, rv->rv.sig, LINLI_SIG_BYTES);
        break;
      }
      rc = lerr_set(e, LINLI_EREFUSED, "author %s seq %llu: key revoked after seq %llu (%s)", who,
                    (unsigned long long)d->ops[i].seq, (unsigned long long)rv->rv.seq,
                    rv->rv.reason[0] ? rv->rv.reason : "no reason given");
      break;
    }
    lrevoke rvk;
    bool isrv;
    if ((rc = trust_check_op(root, d->author, work, &d->ops[i], &rvk, &isrv, e)) != 0) {
      /* A refused local write never existed; a received op did. */
      if (rc == LINLI_EREFUSED && memcmp(d->author, g->s->self, LINLI_PK_BYTES) != 0)
        s_block(g, d->author, ts, d->ops[i].seq, e ? e->msg : "refused");
      break;
    }
    if (isrv) {
      lrevoke *nr = realloc(revs, (nrevs + 1) * sizeof *nr);
      if (nr == NULL) {
        rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
        break;
      }
      revs = nr;
      revs[nrevs++] = rvk;
    }
  }
  if (rc == 0 && copy)
    *ts = *work;
  if (copy)
    free(work);
  /* Revocations take effect for their subjects from the next delta on. */
  for (uint32_t i = 0; i < nrevs && rc == 0; i++) {
    ltrust_state *sub;
    if ((rc = s_group_trust(g, revs[i].subject, &sub, e)) != 0)
      break;
    if (!trust_add_revocation(sub, d->author, &revs[i]))
      continue;
    if (g->nrevsubj == g->revsubj_cap) {
      uint32_t cap = g->revsubj_cap ? 2 * g->revsubj_cap : 4;
      void *nv = realloc(g->revsubj, cap * sizeof *g->revsubj);
      if (nv == NULL) {
        rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
        break;
      }
      g->revsubj = nv;
      g->revsubj_cap = cap;
    }
    memcpy(g->revsubj[g->nrevsubj++], revs[i].subject, LINLI_PK_BYTES);
  }
  free(revs);
  return rc;
}

int
lingest_add(lingest *g, const uint8_t *p, size_t n, lerr *e)
{
  char who[LINLI_SHORT_ID_LEN + 1] = "?";
  uint8_t *raw = NULL;
  delta d;
  int rc;
  memset(&d, 0, sizeof d);
  if (g->keep) {
    raw = malloc(n ? n : 1);
    if (raw == NULL)
      return lerr_set(e, LINLI_ENOMEM, "out of memory");
    memcpy(raw, p, n);
    p = raw;
  }
  if ((rc = delta_decode(&d, p, n, e)) != 0) {
    uint8_t author[LINLI_PK_BYTES];
    uint64_t f, l;
    if (delta_peek(p, n, author, &f, &l) == 0)
      lerr_wrap(e, rc, "author %s: ", s_short(who, author));
    goto fail;
  }
  s_short(who, d.author);
  uint64_t first = d.first_seq, last = delta_last_seq(&d);
  lhead *h = NULL;
  if ((rc = s_group_head(g, d.author, &h, e)) != 0)
    goto fail;
  /* A refused author's later deltas are refused, not gaps: a gap makes a
   * peer send again from what we hold, which would never end. */
  if (last > h->seq && (rc = s_trust_precheck(g, &d, e)) != 0)
    goto fail;
  if (first > h->seq + 1) {
    rc = lerr_set(e, LINLI_EGAP, "author %s: delta starts at seq %llu but seq %llu is the last held",
                  who, (unsigned long long)first, (unsigned long long)h->seq);
    goto fail;
  }
  if (first == h->seq + 1 && memcmp(d.prev, h->hash, LINLI_HASH_BYTES) != 0) {
    rc = lerr_set(e, LINLI_ECHAIN,
                  "author %s seq %llu: previous hash does not match the op held at seq %llu", who,
                  (unsigned long long)first, (unsigned long long)h->seq);
    goto fail;
  }
  if (g->hashes_cap < d.nops) {
    void *nh = realloc(g->hashes, d.nops * sizeof *g->hashes);
    if (nh == NULL) {
      rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
      goto fail;
    }
    g->hashes = nh;
    g->hashes_cap = d.nops;
  }
  uint8_t head[LINLI_HASH_BYTES];
  if ((rc = delta_verify(&d, head, g->hashes, &g->scratch, e)) != 0)
    goto fail;
  if (last <= h->seq) {
    /* Everything is held already.  Check that it is the same history. */
    uint8_t mine[LINLI_HASH_BYTES];
    if (last == h->seq) {
      memcpy(mine, h->hash, sizeof mine);
    } else if ((rc = s_hash_at(g->s, d.author, last, mine, &g->scratch, NULL)) != 0) {
      /* Held only by an earlier delta of this group, not yet stored: the
       * signature already proves the author wrote it; the fork check waits
       * for a later import. */
      memcpy(mine, head, sizeof mine);
      rc = 0;
    }
    if (memcmp(mine, head, sizeof mine) != 0) {
      rc = s_fork_found(g, &d, p, n, last, e);
      goto fail;
    }
    g->dups += d.nops;
    delta_clear(&d);
    free(raw);
    return 0;
  }
  uint32_t skip = first <= h->seq ? (uint32_t)(h->seq - first + 1) : 0;
  if (skip > 0 && memcmp(g->hashes[skip - 1], h->hash, LINLI_HASH_BYTES) != 0) {
    rc = s_fork_found(g, &d, p, n, h->seq, e);
    goto fail;
  }
  uint32_t keep;
  uint8_t sig[LINLI_SIG_BYTES];
  if ((rc = s_trust_delta(g, &d, skip, &keep, sig, e)) != 0)
    goto fail;
  if (d.ops[skip].hlc <= h->hlc) {
    rc = lerr_set(e, LINLI_EMALFORMED, "author %s seq %llu: timestamp is not after seq %llu's",
                  who, (unsigned long long)(first + skip), (unsigned long long)h->seq);
    goto fail;
  }
  last = first + keep - 1;
  uint64_t last_hlc = d.ops[keep - 1].hlc;
  memcpy(head, g->hashes[keep - 1], LINLI_HASH_BYTES);
  if (g->keep) {
    if (g->n == g->cap) {
      uint32_t cap = g->cap ? g->cap * 2 : 16;
      gitem *ni = realloc(g->items, cap * sizeof *ni);
      if (ni == NULL) {
        rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
        goto fail;
      }
      g->items = ni;
      g->cap = cap;
    }
    gitem *it = &g->items[g->n++];
    it->d = d;
    it->raw = raw;
    it->raw_len = n;
    it->skip = skip;
    it->keep = keep;
    memcpy(it->sig, sig, sizeof sig);
    memcpy(it->prev, skip ? h->hash : d.prev, LINLI_HASH_BYTES);
  } else {
    delta_clear(&d);
  }
  g->dups += skip;
  g->nops += (last - first + 1) - skip;
  h->seq = last;
  memcpy(h->hash, head, LINLI_HASH_BYTES);
  h->hlc = last_hlc;
  memcpy(h->sig, sig, sizeof sig);
  if (g->keep)
    g->items[g->n - 1].head = *h;
  return 0;
fail:
  delta_clear(&d);
  free(raw);
  return rc;
}

/* After a commit: the group's trust states become the store's. */
static void
s_trust_publish(lingest *g)
{
  for (size_t i = 0; i < g->trust.cap; i++) {
    hmap_slot *sl = &g->trust.slots[i];
    if (sl->key == NULL)
      continue;
    ltrust_state *base = hmap_get(&g->s->trust, sl->key, sl->klen);
    if (base) {
      ltrust_state *st = sl->val;
      /* A block or fork noted in the store meanwhile stays. */
      if (base->blocked_at < st->blocked_at) {
        st->blocked_at = base->blocked_at;
        memcpy(st->why, base->why, sizeof st->why);
      }
      if (base->forked && !st->forked) {
        st->forked = true;
        st->fork_seq = base->fork_seq;
      }
      *base = *st;
    }
  }
}

/* Cuts `author`'s log back to the revocation's seq: rows past it are
 * deleted, the row across it is cut there and signed with the author's
 * signature the revocation carries.  Returns the ops removed. */
static int
s_truncate(lstore *s, const uint8_t author[LINLI_PK_BYTES], const lrevoke *rv, uint64_t *removed,
           lerr *e)
{
  char who[LINLI_SHORT_ID_LEN + 1];
  s_short(who, author);
  uint8_t key[LOG_KEY_LEN];
  s_log_key(key, author, rv->seq);
  rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
  rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[LCF_LOG]);
  lbuf enc, scratch;
  lbuf_init(&enc);
  lbuf_init(&scratch);
  int rc = 0;
  uint64_t hlc_at = 0;
  *removed = 0;
  for (rocksdb_iter_seek(it, (const char *)key, sizeof key); rocksdb_iter_valid(it) && rc == 0;
       rocksdb_iter_next(it)) {
    size_t kl, vl;
    const char *k = rocksdb_iter_key(it, &kl);
    if (kl != LOG_KEY_LEN || memcmp(k, author, LINLI_PK_BYTES) != 0)
      break;
    uint64_t last = s_rd64((const uint8_t *)k + LINLI_PK_BYTES);
    const char *v = rocksdb_iter_value(it, &vl);
    delta d;
    memset(&d, 0, sizeof d);
    if (delta_decode(&d, (const uint8_t *)v, vl, NULL) != 0) {
      rc = lerr_set(e, LINLI_ESTORE, "author %s: a stored delta is corrupt; run linli verify", who);
      break;
    }
    if (last == rv->seq) {
      hlc_at = d.ops[d.nops - 1].hlc;
      delta_clear(&d);
      continue;
    }
    if (d.first_seq <= rv->seq) {
      uint32_t k2 = (uint32_t)(rv->seq - d.first_seq + 1);
      uint8_t h[LINLI_HASH_BYTES];
      memcpy(h, d.prev, sizeof h);
      for (uint32_t i = 0; i < k2; i++)
        op_hash(h, h, d.author, &d.ops[i], &scratch);
      if (memcmp(h, rv->hash, sizeof h) != 0) {
        delta_clear(&d);
        rc = lerr_set(e, LINLI_EFORK, "author %s seq %llu: the revocation names another op than "
                      "the one held (a fork)", who, (unsigned long long)rv->seq);
        break;
      }
      lbuf_reset(&enc);
      delta_encode(&enc, d.author, d.first_seq, d.prev, d.ops, k2, rv->sig);
      uint8_t nk[LOG_KEY_LEN];
      s_log_key(nk, author, rv->seq);
      rocksdb_writebatch_put_cf(wb, s->cf[LCF_LOG], (const char *)nk, sizeof nk,
                                (const char *)enc.p, enc.len);
      hlc_at = d.ops[k2 - 1].hlc;
      *removed += d.nops - k2;
    } else {
      *removed += d.nops;
    }
    rocksdb_writebatch_delete_cf(wb, s->cf[LCF_LOG], k, kl);
    delta_clear(&d);
  }
  rocksdb_iter_destroy(it);
  if (rc == 0 && enc.oom)
    rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
  if (rc == 0) {
    if (rv->seq == 0) {
      rocksdb_writebatch_delete_cf(wb, s->cf[LCF_HEADS], (const char *)author, LINLI_PK_BYTES);
    } else {
      lhead h = {.seq = rv->seq, .hlc = hlc_at};
      memcpy(h.author, author, LINLI_PK_BYTES);
      memcpy(h.hash, rv->hash, LINLI_HASH_BYTES);
      memcpy(h.sig, rv->sig, LINLI_SIG_BYTES);
      lbuf_reset(&enc);
      s_head_encode(&h, &enc);
      rocksdb_writebatch_put_cf(wb, s->cf[LCF_HEADS], (const char *)author, LINLI_PK_BYTES,
                                (const char *)enc.p, enc.len);
    }
    rc = s_write(s, wb, e);
  }
  rocksdb_writebatch_destroy(wb);
  lbuf_free(&enc);
  lbuf_free(&scratch);
  return rc;
}

/* A revocation in the group may reach back over ops already held: those
 * are cut from the log and the views recomputed without them.  Rare (a
 * stolen key), so a full rebuild is the simple, certain way. */
static int
s_enforce_revocations(lingest *g, lerr *e)
{
  lstore *s = g->s;
  bool rebuild = false;
  int rc = 0;
  for (uint32_t i = 0; i < g->nrevsubj && rc == 0; i++) {
    ltrust_state *st;
    if ((rc = s_trust_get(s, g->revsubj[i], &st, e)) != 0)
      break;
    const ltrust_rev *rv = trust_revocation(lstore_root(s), st);
    lhead h;
    if (rv == NULL || lstore_head(s, g->revsubj[i], &h, NULL) != 0 || h.seq <= rv->rv.seq)
      continue;
    uint64_t removed;
    if ((rc = s_truncate(s, g->revsubj[i], &rv->rv, &removed, e)) == 0) {
      char who[LINLI_SHORT_ID_LEN + 1];
      log_warn("author %s revoked after seq %llu: %llu ops it signed later removed",
              s_short(who, g->revsubj[i]), (unsigned long long)rv->rv.seq,
              (unsigned long long)removed);
      rebuild = true;
    }
  }
  if (rc == 0 && rebuild)
    rc = lstore_rebuild(s, NULL, NULL, e);
  return rc;
}

/* Orders group items by (author, seq): their log and heads rows in key
 * order (see s_ctx_flush). */
static int
s_item_cmp(const void *a, const void *b)
{
  const gitem *x = *(const gitem *const *)a, *y = *(const gitem *const *)b;
  int d = memcmp(x->d.author, y->d.author, LINLI_PK_BYTES);
  if (d)
    return d;
  return (x->d.first_seq > y->d.first_seq) - (x->d.first_seq < y->d.first_seq);
}

int
lingest_commit(lingest *g, uint64_t wall_ms, lingest_stats *st, lerr *e)
{
  if (!g->keep)
    return lerr_set(e, LINLI_EINVAL, "a verify-only group cannot be committed");
  /* RocksDB counts perf-context statistics per thread unless told not to;
   * nothing in linli reads them, and every key comparison of a large batch
   * would pay for the count. */
  rocksdb_set_perf_level(rocksdb_disable);
  lstore *s = g->s;
  applyctx c;
  s_ctx_init(&c, s);
  if (s->commit_wb == NULL)
    s->commit_wb = rocksdb_writebatch_create();
  rocksdb_writebatch_t *wb = s->commit_wb;
  lbuf enc;
  lbuf_init(&enc);
  uint64_t hlc = s->hlc;
  int rc = 0;
  gitem **order = malloc((g->n ? g->n : 1) * sizeof *order);
  /* Every new op of the group, with its record (s_ctx_want). */
  uint64_t nnew = 0;
  for (uint32_t i = 0; i < g->n; i++)
    nnew += g->items[i].keep - g->items[i].skip;
  gop *ops = nnew < UINT32_MAX ? malloc((nnew ? nnew : 1) * sizeof *ops) : NULL;
  if (nnew >= UINT32_MAX)
    rc = lerr_set(e, LINLI_ETOOBIG, "a group holds too many ops to apply at once");
  else if (order == NULL || ops == NULL)
    rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
  uint32_t q = 0;
  for (uint32_t i = 0; i < g->n && rc == 0; i++) {
    const delta *d = &g->items[i].d;
    for (uint32_t k = g->items[i].skip; k < g->items[i].keep && rc == 0; k++, q++) {
      ops[q] = (gop){.o = &d->ops[k], .author = d->author};
      rc = s_ctx_want(&c, &ops[q], e);
    }
  }
  if (rc == 0) {
    for (uint32_t i = 0; i < g->n; i++)
      order[i] = &g->items[i];
    qsort(order, g->n, sizeof *order, s_item_cmp);
  }
  for (uint32_t i = 0; i < g->n && rc == 0; i++) {
    gitem *it = order[i];
    const delta *d = &it->d;
    const uint8_t *bytes = it->raw;
    size_t blen = it->raw_len;
    if (it->skip > 0 || it->keep < d->nops) {
      /* Store only the part not held yet, which keeps the delta's
       * signature; or the part before a revocation, which carries the
       * author's signature of its head there. */
      lbuf_reset(&enc);
      delta_encode(&enc, d->author, d->first_seq + it->skip, it->prev, d->ops + it->skip,
                   it->keep - it->skip, it->sig);
      if (enc.oom) {
        rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
        break;
      }
      bytes = enc.p;
      blen = enc.len;
    }
    uint8_t key[LOG_KEY_LEN];
    s_log_key(key, d->author, d->first_seq + it->keep - 1);
    rocksdb_writebatch_put_cf(wb, s->cf[LCF_LOG], (const char *)key, sizeof key,
                              (const char *)bytes, blen);
    /* Only the author's last delta of the group leaves a head. */
    if (i + 1 == g->n || memcmp(order[i + 1]->d.author, d->author, LINLI_PK_BYTES) != 0) {
      lbuf_reset(&enc);
      s_head_encode(&it->head, &enc);
      rocksdb_writebatch_put_cf(wb, s->cf[LCF_HEADS], (const char *)d->author, LINLI_PK_BYTES,
                                (const char *)enc.p, enc.len);
    }
  }
  for (uint32_t i = 0; i < g->n && rc == 0; i++) {
    const gitem *it = &g->items[i];
    const delta *d = &it->d;
    /* Our own ops were stamped by our clock: follow them whatever the wall
     * clock says now.  Remote stamps are followed only up to a bound. */
    bool own = memcmp(d->author, s->self, LINLI_PK_BYTES) == 0;
    uint64_t top = d->ops[it->keep - 1].hlc;
    if (own)
      hlc = top > hlc ? top : hlc;
    else
      hlc = hlc_observe(hlc, top, wall_ms, HLC_MAX_AHEAD_MS);
  }
  if (rc == 0)
    rc = s_ctx_stream(&c, ops, q, wb, e);
  if (rc == 0) {
    uint8_t hb[8];
    s_be64(hb, hlc);
    rocksdb_writebatch_put_cf(wb, s->cf[LCF_META], "hlc", 3, (const char *)hb, sizeof hb);
    rc = s_write(s, wb, e);
  }
  if (rc == 0) {
    s->hlc = hlc;
    if (st) {
      st->deltas = g->n;
      st->ops_new = g->nops;
      st->ops_dup = g->dups;
      st->records = c.changed;
    }
    s_trust_publish(g);
    rc = s_enforce_revocations(g, e);
    s_group_clear(g);
  }
  free(order);
  free(ops);
  lbuf_free(&enc);
  rocksdb_writebatch_clear(wb);
  s_ctx_free(&c);
  return rc;
}

/* ---- local writes ---- */

int
lstore_write(lstore *s, const lident *id, op *ops, uint32_t n, uint64_t wall_ms, lerr *e)
{
  if (n == 0 || n > DELTA_MAX_OPS)
    return lerr_set(e, LINLI_EINVAL, "a write holds 1 to %d ops", DELTA_MAX_OPS);
  if (memcmp(id->pk, s->self, LINLI_PK_BYTES) != 0)
    return lerr_set(e, LINLI_EINVAL, "the key given is not this node's key");
  if (s->recovering)
    return lerr_set(e, LINLI_EBUSY,
                    "this node was restored and must first recover its own log from its parent "
                    "(start linli-node, or import a bundle its parent exported for it)");
  lhead h;
  int rc = lstore_head(s, s->self, &h, e);
  if (rc != 0 && rc != LINLI_ENOTFOUND)
    return rc;
  uint64_t t = s->hlc > h.hlc ? s->hlc : h.hlc;
  lbuf scratch, out;
  lbuf_init(&scratch);
  lbuf_init(&out);
  uint8_t head[LINLI_HASH_BYTES], sig[LINLI_SIG_BYTES];
  memcpy(head, h.hash, sizeof head);
  for (uint32_t i = 0; i < n; i++) {
    ops[i].seq = h.seq + 1 + i;
    ops[i].hlc = t = hlc_next(t, wall_ms);
    if ((rc = op_check(&ops[i], e)) != 0) {
      if (e)
        e->code = LINLI_EINVAL;
      rc = LINLI_EINVAL;
      goto done;
    }
    op_hash(head, head, s->self, &ops[i], &scratch);
  }
  head_sign(id, ops[n - 1].seq, head, sig);
  delta_encode(&out, s->self, h.seq + 1, h.hash, ops, n, sig);
  if (out.oom) {
    rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
    goto done;
  }
  /* Every delta must fit in one sync message (docs/PROTOCOL.md). */
  if (out.len > LSTORE_WRITE_MAX) {
    rc = lerr_set(e, LINLI_ETOOBIG, "one write may hold at most %d bytes of ops; split it",
                  LSTORE_WRITE_MAX);
    goto done;
  }
  lingest *g;
  if ((rc = lstore_ingest_new(s, true, &g)) != 0) {
    rc = lerr_set(e, rc, "out of memory");
    goto done;
  }
  rc = lingest_add(g, out.p, out.len, e);
  if (rc == 0)
    rc = lingest_commit(g, wall_ms, NULL, e);
  lingest_destroy(&g);
done:
  lbuf_free(&scratch);
  lbuf_free(&out);
  return rc;
}

/* ---- reads ---- */

int
lstore_get(lstore *s, const char *key, size_t klen, rec **out, lerr *e)
{
  *out = NULL;
  char *v;
  size_t vl;
  int rc = s_get(s, LCF_VIEWS, key, klen, &v, &vl, e);
  if (rc == LINLI_ENOTFOUND)
    return lerr_set(e, rc, "%.*s: not found", (int)klen, key);
  if (rc)
    return rc;
  if (vl < LINLI_HASH_BYTES ||
      rec_decode(out, (const uint8_t *)v + LINLI_HASH_BYTES, vl - LINLI_HASH_BYTES, NULL) != 0)
    rc = lerr_set(e, LINLI_ESTORE, "stored state of %.*s is corrupt (run linli rebuild)",
                  (int)klen, key);
  rocksdb_free(v);
  return rc;
}

int
lstore_scan(lstore *s, const char *prefix, size_t plen, lstore_scan_cb cb, void *ctx, lerr *e)
{
  rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[LCF_VIEWS]);
  int rc = 0;
  for (rocksdb_iter_seek(it, prefix, plen); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
    size_t kl, vl;
    const char *k = rocksdb_iter_key(it, &kl);
    if (kl < plen || memcmp(k, prefix, plen) != 0)
      break;
    const char *v = rocksdb_iter_value(it, &vl);
    static const uint8_t zero[LINLI_HASH_BYTES];
    if (vl < LINLI_HASH_BYTES) {
      rc = lerr_set(e, LINLI_ESTORE, "stored state of %.*s is corrupt", (int)kl, k);
      break;
    }
    if (memcmp(v, zero, sizeof zero) == 0)
      continue; /* deleted: not present */
    rec *r;
    if (rec_decode(&r, (const uint8_t *)v + LINLI_HASH_BYTES, vl - LINLI_HASH_BYTES, NULL)) {
      rc = lerr_set(e, LINLI_ESTORE, "stored state of %.*s is corrupt", (int)kl, k);
      break;
    }
    rc = cb(ctx, k, kl, r);
    rec_destroy(&r);
    if (rc)
      break;
  }
  rocksdb_iter_destroy(it);
  return rc;
}

int
lstore_digest(lstore *s, const char *prefix, size_t plen, ldigest *out, lerr *e)
{
  memset(out, 0, sizeof *out);
  if (plen == 0 || prefix[plen - 1] == '/') {
    char *v;
    size_t vl;
    int rc = s_get(s, LCF_DIGESTS, prefix, plen, &v, &vl, e);
    if (rc == LINLI_ENOTFOUND)
      return 0;
    if (rc)
      return rc;
    rc = digest_unpack(out, (const uint8_t *)v, vl);
    rocksdb_free(v);
    return rc ? lerr_set(e, LINLI_ESTORE, "stored digest is corrupt (run linli rebuild)") : 0;
  }
  /* Not a maintained prefix: sum the stored record hashes under it. */
  static const uint8_t zero[LINLI_HASH_BYTES];
  rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[LCF_VIEWS]);
  for (rocksdb_iter_seek(it, prefix, plen); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
    size_t kl, vl;
    const char *k = rocksdb_iter_key(it, &kl);
    if (kl < plen || memcmp(k, prefix, plen) != 0)
      break;
    const char *v = rocksdb_iter_value(it, &vl);
    if (vl >= LINLI_HASH_BYTES && memcmp(v, zero, sizeof zero) != 0)
      digest_add(out, (const uint8_t *)v);
  }
  rocksdb_iter_destroy(it);
  return 0;
}

int
lstore_history(lstore *s, const char *key, size_t klen, lstore_hist_cb cb, void *ctx, lerr *e)
{
  rec *r;
  int rc = lstore_get(s, key, klen, &r, e);
  if (rc)
    return rc;
  delta d;
  memset(&d, 0, sizeof d);
  char *raw = NULL;
  lbuf scratch;
  lbuf_init(&scratch);
  uint8_t (*hashes)[LINLI_HASH_BYTES] = NULL;
  uint8_t head[LINLI_HASH_BYTES];
  for (uint32_t i = 0; i < r->nhist && rc == 0; i++) {
    const lstamp *st = &r->hist[i];
    bool have = raw != NULL && memcmp(d.author, st->author, LINLI_PK_BYTES) == 0 &&
                d.first_seq <= st->seq && st->seq <= delta_last_seq(&d);
    if (!have) {
      delta_clear(&d);
      free(raw);
      free(hashes);
      hashes = NULL;
      if ((rc = s_load_delta(s, st->author, st->seq, &d, &raw, NULL, e)) != 0)
        break;
      hashes = malloc(d.nops * sizeof *hashes);
      if (hashes == NULL) {
        rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
        break;
      }
      if ((rc = delta_verify(&d, head, hashes, &scratch, e)) != 0)
        break;
    }
    uint32_t k = (uint32_t)(st->seq - d.first_seq);
    lhist_entry h = {.author = d.author, .o = &d.ops[k], .hash = hashes[k],
                     .head_seq = delta_last_seq(&d), .head_hash = head, .head_sig = d.sig};
    rc = cb(ctx, &h);
  }
  delta_clear(&d);
  free(raw);
  free(hashes);
  lbuf_free(&scratch);
  rec_destroy(&r);
  return rc;
}

int
lstore_stat_get(lstore *s, lstore_stat *st, lerr *e)
{
  memset(st, 0, sizeof *st);
  lhead *h;
  uint32_t n;
  int rc = lstore_heads(s, &h, &n, e);
  if (rc)
    return rc;
  st->authors = n;
  for (uint32_t i = 0; i < n; i++) {
    st->ops += h[i].seq;
    if (memcmp(h[i].author, s->self, LINLI_PK_BYTES) == 0)
      st->own_seq = h[i].seq;
  }
  free(h);
  st->hlc = s->hlc;
  return lstore_digest(s, "", 0, &st->digest, e);
}

int
lstore_summary(lstore *s, uint64_t now_ms, lsummary *out, lerr *e)
{
  memset(out, 0, sizeof *out);
  lhead *h;
  uint32_t n;
  int rc = lstore_heads(s, &h, &n, e);
  if (rc)
    return rc;
  out->heads = calloc(n ? n : 1, sizeof *out->heads);
  if (out->heads == NULL) {
    free(h);
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  }
  memcpy(out->node, s->self, LINLI_PK_BYTES);
  out->created_ms = now_ms;
  out->n = n;
  for (uint32_t i = 0; i < n; i++) {
    memcpy(out->heads[i].author, h[i].author, LINLI_PK_BYTES);
    out->heads[i].seq = h[i].seq;
    memcpy(out->heads[i].hash, h[i].hash, LINLI_HASH_BYTES);
  }
  free(h);
  return 0;
}

/* ---- export ---- */

/* Deltas read from the log, waiting to be joined into one. */
typedef struct joiner {
  delta *ds;
  char **raws;
  uint32_t n, cap;
  uint64_t first;             /* seq of the first op to send */
  uint8_t prev[LINLI_HASH_BYTES];
  size_t bytes;
  uint32_t ops;
} joiner;

static void
s_joiner_reset(joiner *j)
{
  for (uint32_t i = 0; i < j->n; i++) {
    delta_clear(&j->ds[i]);
    free(j->raws[i]);
  }
  j->n = 0;
  j->bytes = 0;
  j->ops = 0;
}

static int
s_joiner_emit(joiner *j, lstore_emit_cb emit, void *ctx, lexport_stats *st, lerr *e)
{
  if (j->n == 0)
    return 0;
  op *ops = malloc(j->ops * sizeof *ops);
  if (ops == NULL)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  uint32_t k = 0;
  for (uint32_t i = 0; i < j->n; i++)
    for (uint32_t q = 0; q < j->ds[i].nops; q++)
      if (j->ds[i].ops[q].seq >= j->first)
        ops[k++] = j->ds[i].ops[q];
  lbuf out;
  lbuf_init(&out);
  const delta *last = &j->ds[j->n - 1];
  delta_encode(&out, last->author, j->first, j->prev, ops, k, last->sig);
  int rc = out.oom ? lerr_set(e, LINLI_ENOMEM, "out of memory") : emit(ctx, out.p, out.len);
  if (rc == 0 && st) {
    st->deltas++;
    st->ops += k;
  }
  j->first = delta_last_seq(last) + 1;
  lbuf_free(&out);
  free(ops);
  s_joiner_reset(j);
  return rc;
}

static int
s_export_author(lstore *s, const lhead *h, uint64_t from, const uint8_t prev[LINLI_HASH_BYTES],
                size_t max_bytes, lstore_emit_cb emit, void *ctx, lexport_stats *st, lerr *e)
{
  joiner j;
  memset(&j, 0, sizeof j);
  j.first = from;
  memcpy(j.prev, prev, LINLI_HASH_BYTES);
  uint8_t key[LOG_KEY_LEN];
  s_log_key(key, h->author, from);
  int rc = 0;
  rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[LCF_LOG]);
  for (rocksdb_iter_seek(it, (const char *)key, sizeof key); rocksdb_iter_valid(it) && rc == 0;
       rocksdb_iter_next(it)) {
    size_t kl, vl;
    const char *k = rocksdb_iter_key(it, &kl);
    if (kl != LOG_KEY_LEN || memcmp(k, h->author, LINLI_PK_BYTES) != 0)
      break;
    const char *v = rocksdb_iter_value(it, &vl);
    char *raw = malloc(vl ? vl : 1);
    if (raw == NULL) {
      rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
      break;
    }
    memcpy(raw, v, vl);
    delta d;
    if (delta_decode(&d, (const uint8_t *)raw, vl, NULL) != 0) {
      free(raw);
      char who[LINLI_SHORT_ID_LEN + 1];
      rc = lerr_set(e, LINLI_ESTORE, "author %s: a stored delta is corrupt (run linli verify)",
                    s_short(who, h->author));
      break;
    }
    uint64_t from_here = d.first_seq > j.first ? d.first_seq : j.first;
    uint32_t nops = (uint32_t)(delta_last_seq(&d) - from_here + 1);
    /* Join while the result stays within the byte and op bounds; a single
     * stored delta larger than the bound goes out on its own. */
    if (j.n > 0 && (j.bytes + vl > max_bytes || j.ops + nops > DELTA_MAX_OPS))
      rc = s_joiner_emit(&j, emit, ctx, st, e);
    if (rc == 0 && j.n == j.cap) {
      uint32_t cap = j.cap ? j.cap * 2 : 16;
      delta *nd = realloc(j.ds, cap * sizeof *nd);
      if (nd)
        j.ds = nd;
      char **nr = realloc(j.raws, cap * sizeof *nr);
      if (nr)
        j.raws = nr;
      if (nd == NULL || nr == NULL)
        rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
      else
        j.cap = cap;
    }
    if (rc) {
      delta_clear(&d);
      free(raw);
      break;
    }
    /* The stored delta's own previous hash links the joined run to what the
     * receiver holds, except when the run starts inside it (first row). */
    if (j.n == 0 && d.first_seq == from_here)
      memcpy(j.prev, d.prev, LINLI_HASH_BYTES);
    j.ds[j.n] = d;
    j.raws[j.n] = raw;
    j.ops += nops;
    j.bytes += vl;
    j.n++;
  }
  rocksdb_iter_destroy(it);
  if (rc == 0)
    rc = s_joiner_emit(&j, emit, ctx, st, e);
  s_joiner_reset(&j);
  free(j.ds);
  free(j.raws);
  return rc > 0 ? 0 : rc; /* a positive return from emit asks to stop */
}

typedef struct budget_ctx {
  lstore_emit_cb emit;
  void *ctx;
  size_t left;
  bool emitted;
} budget_ctx;

static int
s_budget_emit(void *ctx, const uint8_t *p, size_t n)
{
  budget_ctx *b = ctx;
  /* A delta that does not fit stays for the next call, unless it is the
   * first: every call must make progress. */
  if (b->emitted && n > b->left)
    return 1;
  int rc = b->emit(b->ctx, p, n);
  if (rc)
    return rc;
  b->emitted = true;
  b->left = n >= b->left ? 0 : b->left - n;
  return b->left == 0 ? 1 : 0;
}

int
lstore_read_log(lstore *s, const uint8_t author[LINLI_PK_BYTES], uint64_t from,
                size_t max_delta_bytes, size_t budget, lstore_emit_cb emit, void *ctx, lerr *e)
{
  lhead h;
  int rc = lstore_head(s, author, &h, e);
  if (rc)
    return rc;
  if (from == 0 || from > h.seq)
    return 0;
  uint8_t prev[LINLI_HASH_BYTES] = {0};
  lbuf scratch;
  lbuf_init(&scratch);
  if (from > 1)
    rc = s_hash_at(s, author, from - 1, prev, &scratch, e);
  lbuf_free(&scratch);
  if (rc)
    return rc;
  budget_ctx b = {.emit = emit, .ctx = ctx, .left = budget ? budget : SIZE_MAX};
  return s_export_author(s, &h, from, prev, max_delta_bytes, s_budget_emit, &b, NULL, e);
}

int
lstore_meta_get(lstore *s, const char *key, uint8_t **val, size_t *n, lerr *e)
{
  char mk[256];
  int w = snprintf(mk, sizeof mk, "x:%s", key);
  if (w < 0 || (size_t)w >= sizeof mk)
    return lerr_set(e, LINLI_EINVAL, "metadata key too long");
  char *v;
  int rc = s_get(s, LCF_META, mk, (size_t)w, &v, n, e);
  if (rc)
    return rc;
  *val = malloc(*n ? *n : 1);
  if (*val == NULL) {
    rocksdb_free(v);
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  }
  memcpy(*val, v, *n);
  rocksdb_free(v);
  return 0;
}

int
lstore_meta_put(lstore *s, const char *key, const void *val, size_t n, lerr *e)
{
  char mk[256];
  int w = snprintf(mk, sizeof mk, "x:%s", key);
  if (w < 0 || (size_t)w >= sizeof mk)
    return lerr_set(e, LINLI_EINVAL, "metadata key too long");
  rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
  rocksdb_writebatch_put_cf(wb, s->cf[LCF_META], mk, (size_t)w, val, n);
  int rc = s_write(s, wb, e);
  rocksdb_writebatch_destroy(wb);
  return rc;
}

int
lstore_export(lstore *s, const lsummary *want, size_t max_bytes, lstore_emit_cb emit, void *ctx,
              lexport_stats *st, lerr *e)
{
  lexport_stats local;
  if (st == NULL)
    st = &local;
  memset(st, 0, sizeof *st);
  lhead *heads;
  uint32_t n;
  int rc = lstore_heads(s, &heads, &n, e);
  if (rc)
    return rc;
  lbuf scratch;
  lbuf_init(&scratch);
  for (uint32_t i = 0; i < n && rc == 0; i++) {
    const lhead *h = &heads[i];
    const lhead_ref *theirs = want ? summary_find(want, h->author) : NULL;
    uint64_t have = theirs ? theirs->seq : 0;
    uint8_t prev[LINLI_HASH_BYTES] = {0};
    if (have >= h->seq) {
      if (have == h->seq && memcmp(theirs->hash, h->hash, LINLI_HASH_BYTES) != 0)
        st->forks++;
      continue;
    }
    if (have > 0) {
      if ((rc = s_hash_at(s, h->author, have, prev, &scratch, e)) != 0)
        break;
      if (memcmp(prev, theirs->hash, LINLI_HASH_BYTES) != 0) {
        st->forks++; /* their log is not a prefix of ours */
        continue;
      }
    }
    st->authors++;
    rc = s_export_author(s, h, have + 1, prev, max_bytes, emit, ctx, st, e);
  }
  lbuf_free(&scratch);
  free(heads);
  return rc;
}

/* ---- maintenance ---- */

int
lstore_verify(lstore *s, lstore_progress_cb progress, void *ctx, uint64_t *ops_out, lerr *e)
{
  lstore_stat stt;
  int rc = lstore_stat_get(s, &stt, e);
  if (rc)
    return rc;
  uint64_t done = 0;
  char who[LINLI_SHORT_ID_LEN + 1];
  lbuf scratch;
  lbuf_init(&scratch);
  uint8_t (*hashes)[LINLI_HASH_BYTES] = NULL;
  uint8_t author[LINLI_PK_BYTES], prev[LINLI_HASH_BYTES];
  uint64_t next = 1, authors_seen = 0;
  uint8_t last_sig[LINLI_SIG_BYTES];
  bool in_author = false;
  rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[LCF_LOG]);
  rocksdb_iter_seek_to_first(it);
  for (;;) {
    bool valid = rocksdb_iter_valid(it);
    size_t kl = 0, vl = 0;
    const char *k = valid ? rocksdb_iter_key(it, &kl) : NULL;
    bool same = valid && in_author && kl == LOG_KEY_LEN && memcmp(k, author, LINLI_PK_BYTES) == 0;
    if (in_author && !same) {
      /* The author's log ended: it must end at the stored head. */
      lhead h;
      if ((rc = lstore_head(s, author, &h, e)) != 0) {
        lerr_set(e, LINLI_ESTORE, "author %s: log without a stored head", s_short(who, author));
        rc = LINLI_ESTORE;
        break;
      }
      if (h.seq != next - 1 || memcmp(h.hash, prev, LINLI_HASH_BYTES) != 0 ||
          memcmp(h.sig, last_sig, LINLI_SIG_BYTES) != 0) {
        rc = lerr_set(e, LINLI_ECHAIN, "author %s seq %llu: stored head does not match the log",
                      s_short(who, author), (unsigned long long)h.seq);
        break;
      }
      authors_seen++;
      in_author = false;
    }
    if (!valid)
      break;
    if (kl != LOG_KEY_LEN) {
      rc = lerr_set(e, LINLI_ESTORE, "a log row has a malformed key");
      break;
    }
    if (!in_author) {
      memcpy(author, k, LINLI_PK_BYTES);
      memset(prev, 0, sizeof prev);
      next = 1;
      in_author = true;
    }
    const char *v = rocksdb_iter_value(it, &vl);
    delta d;
    lerr inner = {0};
    uint64_t row_last = s_rd64((const uint8_t *)k + LINLI_PK_BYTES);
    if (delta_decode(&d, (const uint8_t *)v, vl, &inner) != 0) {
      rc = lerr_set(e, LINLI_EMALFORMED, "author %s seq %llu..%llu: stored delta is corrupt: %s",
                    s_short(who, author), (unsigned long long)next, (unsigned long long)row_last,
                    inner.msg);
      break;
    }
    if (memcmp(d.author, author, LINLI_PK_BYTES) != 0 || delta_last_seq(&d) != row_last) {
      rc = lerr_set(e, LINLI_ESTORE, "author %s seq %llu: log row key does not match its delta",
                    s_short(who, author), (unsigned long long)row_last);
      delta_clear(&d);
      break;
    }
    if (d.first_seq != next) {
      rc = lerr_set(e, LINLI_EGAP, "author %s seq %llu: log has a gap (next delta starts at %llu)",
                    s_short(who, author), (unsigned long long)next,
                    (unsigned long long)d.first_seq);
      delta_clear(&d);
      break;
    }
    if (memcmp(d.prev, prev, LINLI_HASH_BYTES) != 0) {
      rc = lerr_set(e, LINLI_ECHAIN,
                    "author %s seq %llu: previous hash does not match seq %llu",
                    s_short(who, author), (unsigned long long)next,
                    (unsigned long long)(next - 1));
      delta_clear(&d);
      break;
    }
    rc = delta_verify(&d, prev, NULL, &scratch, e);
    memcpy(last_sig, d.sig, sizeof last_sig);
    next = row_last + 1;
    done += d.nops;
    delta_clear(&d);
    if (rc)
      break;
    if (progress)
      progress(ctx, done, stt.ops);
    rocksdb_iter_next(it);
  }
  rocksdb_iter_destroy(it);
  free(hashes);
  lbuf_free(&scratch);
  if (rc == 0 && authors_seen != stt.authors)
    rc = lerr_set(e, LINLI_ESTORE, "%llu heads are stored but %llu author logs were found",
                  (unsigned long long)stt.authors, (unsigned long long)authors_seen);
  if (ops_out)
    *ops_out = done;
  return rc;
}

int
lstore_rebuild(lstore *s, lstore_progress_cb progress, void *ctx, lerr *e)
{
  lstore_stat stt;
  int rc = lstore_stat_get(s, &stt, e);
  if (rc)
    return rc;
  /* What was loaded from the views is stale once they are rebuilt (a
   * revocation may have cut a certificate renewal out of a log). */
  for (size_t i = 0; i < s->trust.cap; i++)
    if (s->trust.slots[i].key)
      free(s->trust.slots[i].val);
  hmap_free(&s->trust);
  hmap_init(&s->trust);
  /* Keys are UTF-8, which never contains the byte 0xff: [""; "\xff") spans
   * every view and digest row. */
  rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
  rocksdb_writebatch_delete_range_cf(wb, s->cf[LCF_VIEWS], "", 0, "\xff", 1);
  rocksdb_writebatch_delete_range_cf(wb, s->cf[LCF_DIGESTS], "", 0, "\xff", 1);
  rc = s_write(s, wb, e);
  rocksdb_writebatch_destroy(wb);
  if (rc)
    return rc;
  applyctx c;
  s_ctx_init(&c, s);
  uint64_t done = 0;
  rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[LCF_LOG]);
  for (rocksdb_iter_seek_to_first(it);; rocksdb_iter_next(it)) {
    bool valid = rocksdb_iter_valid(it);
    /* Flush in slices so that memory stays bounded on a large store. */
    if (!valid || c.ops >= 200000) {
      wb = rocksdb_writebatch_create();
      rc = s_ctx_flush(&c, wb, e);
      if (rc == 0)
        rc = s_write(s, wb, e);
      rocksdb_writebatch_destroy(wb);
      s_ctx_reset(&c);
      if (rc || !valid)
        break;
    }
    size_t vl;
    const char *v = rocksdb_iter_value(it, &vl);
    delta d;
    lerr inner = {0};
    if (delta_decode(&d, (const uint8_t *)v, vl, &inner) != 0) {
      rc = lerr_set(e, LINLI_ESTORE, "a stored delta is corrupt (%s); run linli verify", inner.msg);
      break;
    }
    rc = s_ctx_apply(&c, d.author, d.ops, d.nops, e);
    done += d.nops;
    delta_clear(&d);
    if (rc)
      break;
    if (progress)
      progress(ctx, done, stt.ops);
  }
  rocksdb_iter_destroy(it);
  s_ctx_free(&c);
  return rc;
}
