/*
 * store.c - the data directory in RocksDB: open, close, metadata, heads and
 * reads; see store.h for the model and docs/FORMAT.md ("Storage") for the
 * bytes.  The rest of the store lives beside it, one job a file:
 *   ingest.c      verify-then-commit groups of signed deltas, local writes,
 *                 revocations enforced
 *   views.c       applying ops to records: record states, digests, rebuild
 *   export.c      reading logs back: joined deltas, export, verify
 *   trustcache.c  certificate, revocation and fork state per author; rotate
 * store_int.h is what they share.
 */
#include "node/store_int.h"
#include "crdt/hmap.h"
#include "crdt/rules.h"
#include "crdt/schema.h"
#include "node/fsutil.h"
#include "node/failpoint.h"
#include "node/keyfile.h"
#include "node/log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define STORE_FORMAT "1"
#define S_AWAIT "x:await:" /* + hex(person): lstore_await_set */

const char *const lstore_cf_names[LCF_COUNT] = {"default", "log", "heads", "views", "digests"};

/* ---- small encodings ---- */

void
st_head_encode(const lhead *h, lbuf *out)
{
  mpw w;
  mpw_init(&w, out);
  mpw_array(&w, 4);
  mpw_uint(&w, h->seq);
  mpw_bin(&w, h->hash, LINLI_HASH_BYTES);
  mpw_uint(&w, h->hlc);
  mpw_bin(&w, h->sig, LINLI_SIG_BYTES);
}

int
st_head_decode(lhead *h, const uint8_t *p, size_t n)
{
  mpr r;
  mpr_init(&r, p, n);
  if (mpr_array_n(&r, 4) || mpr_uint(&r, &h->seq) || mpr_bin_n(&r, h->hash, LINLI_HASH_BYTES) ||
      mpr_uint(&r, &h->hlc) || mpr_bin_n(&r, h->sig, LINLI_SIG_BYTES) || mpr_left(&r))
    return LINLI_EMALFORMED;
  return 0;
}

/* ---- RocksDB plumbing ---- */

int
st_rerr(lerr *e, char *err, const char *what)
{
  int code = LINLI_ESTORE;
  if (err && (strstr(err, "lock") || strstr(err, "Resource temporarily unavailable")))
    code = LINLI_EBUSY;
  else if (err && strstr(err, "No space left on device"))
    code = LINLI_ENOSPC;
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
int
st_get(lstore *s, int cf, const void *key, size_t klen, char **val, size_t *vlen, lerr *e)
{
  char *err = NULL;
  *val = rocksdb_get_cf(s->db, s->ro, s->cf[cf], key, klen, vlen, &err);
  if (err)
    return st_rerr(e, err, "read");
  return *val ? 0 : LINLI_ENOTFOUND;
}

/* ---- free space ---- */

static uint64_t
s_min_free(uint64_t min_free, int profile)
{
  if (min_free)
    return min_free;
  const char *env = getenv("LINLI_MIN_FREE");
  if (env != NULL && env[0] >= '0' && env[0] <= '9') {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(env, &end, 10);
    if (errno == 0 && *end == '\0')
      return v;
  }
  return profile == LSTORE_DISTRICT ? LSTORE_MIN_FREE_DISTRICT : LSTORE_MIN_FREE;
}

/* The mount point of the file system holding `path` (what a person calls
 * "the disk"): the last directory up from it on the same device. */
static void
s_mount_point(const char *path, char *out, size_t n)
{
  char cur[PATH_MAX];
  struct stat st, up;
  if (realpath(path, cur) == NULL || stat(cur, &st) != 0) {
    snprintf(out, n, "%s", path);
    return;
  }
  for (;;) {
    char *slash = strrchr(cur, '/');
    if (slash == NULL || slash == cur) {
      if (stat("/", &up) == 0 && up.st_dev == st.st_dev)
        snprintf(cur, sizeof cur, "/");
      break;
    }
    *slash = '\0';
    if (stat(cur, &up) != 0 || up.st_dev != st.st_dev) {
      *slash = '/';
      break;
    }
  }
  snprintf(out, n, "%s", cur);
}

static int s_disk_full(const char *dir, uint64_t avail, uint64_t want, lerr *e);

static const char *
s_size(char buf[32], uint64_t n)
{
  if (n >= 1048576)
    snprintf(buf, 32, "%.1f MiB", (double)n / 1048576.0);
  else
    snprintf(buf, 32, "%llu KiB", (unsigned long long)((n + 1023) / 1024));
  return buf;
}

int
lstore_space_check(const char *dir, uint64_t min_free, uint64_t need, lerr *e)
{
  struct statvfs v;
  if (statvfs(dir, &v) != 0)
    return 0; /* nothing to measure; RocksDB reports what goes wrong */
  uint64_t avail = (uint64_t)v.f_bavail * (uint64_t)v.f_frsize;
  uint64_t want = s_min_free(min_free, LSTORE_VILLAGE) + need;
  if (avail >= want)
    return 0;
  return s_disk_full(dir, avail, want, e);
}

/* A write RocksDB failed for want of space: the same message. */
static int
s_rocksdb_full(const char *dir, uint64_t min_free, lerr *e)
{
  struct statvfs v;
  uint64_t avail = statvfs(dir, &v) == 0 ? (uint64_t)v.f_bavail * (uint64_t)v.f_frsize : 0;
  return s_disk_full(dir, avail, s_min_free(min_free, LSTORE_VILLAGE), e);
}

static int
s_disk_full(const char *dir, uint64_t avail, uint64_t want, lerr *e)
{
  char disk[PATH_MAX];
  s_mount_point(dir, disk, sizeof disk);
  char have[32], need[32];
  if (avail >= want) /* RocksDB wanted more than the floor */
    return lerr_set(e, LINLI_ENOSPC,
                    "the disk at %s is full: %s free is too little for this write (free space "
                    "there, then retry; reading still works)", disk, s_size(have, avail));
  return lerr_set(e, LINLI_ENOSPC,
                  "the disk at %s is full: %s free, writing needs %s free (free space there, "
                  "then retry; reading still works)",
                  disk, s_size(have, avail), s_size(need, want));
}

int
st_write(lstore *s, rocksdb_writebatch_t *wb, lerr *e)
{
  if (s->write_failed)
    return lerr_set(e, LINLI_ESTORE, "an earlier write to %s failed; nothing more is written "
                    "until the store is opened again", s->dir);
  if (s->read_only) {
    int rc = lstore_space_check(s->dir, s->min_free, 0, e);
    return rc ? rc : lerr_set(e, LINLI_ESTORE, "%s is open read-only: nothing is written",
                              s->dir);
  }
  size_t n = 0;
  rocksdb_writebatch_data(wb, &n);
  /* The batch goes to the WAL and later, about as large, to a table. */
  int rc = lstore_space_check(s->dir, s->min_free, 2 * (uint64_t)n, e);
  if (rc)
    return rc;
  char *err = NULL;
  rocksdb_write(s->db, s->wo, wb, &err);
  if (err) {
    s->write_failed = true;
    rc = st_rerr(e, err, "write");
    return rc == LINLI_ENOSPC ? s_rocksdb_full(s->dir, s->min_free, e) : rc;
  }
  return 0;
}

uint32_t
st_prefix_count(lstore *s, int cf, const char *prefix, size_t n)
{
  uint32_t count = 0;
  rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[cf]);
  for (rocksdb_iter_seek(it, prefix, n); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
    size_t kl;
    const char *k = rocksdb_iter_key(it, &kl);
    if (kl < n || memcmp(k, prefix, n) != 0)
      break;
    count++;
  }
  rocksdb_iter_destroy(it);
  return count;
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
  /* No RocksDB info log (db/LOG): on a full disk it would abort the
   * process (nolog.cc says why). */
  st_options_no_info_log(s->opts);
  /* A new manifest is made at every open for writing; RocksDB would
   * preallocate 4 MiB for it, a tenth of what a station's disk floor is. */
  rocksdb_options_set_manifest_preallocation_size(s->opts, 256u << 10);
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
  if (err) {
    int rc = st_rerr(e, err, dir);
    return rc == LINLI_ENOSPC ? s_rocksdb_full(dir, s->min_free, e) : rc;
  }
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
  /* After a failed write RocksDB's files may hold a write error that any
   * further write to them turns into an abort (assertions on): no flush,
   * the synced WAL holds every acknowledged write. */
  if (s->db && !s->write_failed && !s->read_only &&
      lstore_space_check(s->dir, s->min_free, 0, NULL) == 0) {
    rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
    rocksdb_flushoptions_set_wait(fo, 1);
    for (int i = 0; i < LCF_COUNT; i++) {
      char *err = NULL;
      rocksdb_flush_cf(s->db, fo, s->cf[i], &err);
      rocksdb_free(err); /* the WAL still holds everything if this fails */
    }
    rocksdb_flushoptions_destroy(fo);
  }
  if (s->db) {
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
  schema_destroy(&s->sch);
  free(s->sch_row);
  free(s->dir);
  free(s);
  *sp = NULL;
}

static int s_init_in(const char *dir, const char *name, const lident *id,
                     const lstore_init_opts *o, lerr *e);

int
lstore_init(const char *dir, const char *name, const lident *id, const lstore_init_opts *o,
            lerr *e)
{
  size_t nl = strlen(name);
  if (nl == 0 || nl > STORE_NAME_MAX || !utf8_valid(name, nl))
    return lerr_set(e, LINLI_EINVAL, "node name must be 1 to %d bytes of UTF-8", STORE_NAME_MAX);
  if (lstore_exists(dir))
    return lerr_set(e, LINLI_EEXIST, "%s already holds a linli store", dir);
  struct stat dst;
  bool made = stat(dir, &dst) != 0;
  int rc = fs_mkdirs(dir, 0700, e);
  if (rc)
    return rc;
  if (made && chmod(dir, LSTORE_DIR_MODE) != 0)
    return lerr_set(e, LINLI_EIO, "%s: cannot set its mode: %s", dir, strerror(errno));
  /* Whatever the caller's umask, the store's files are the owner's alone. */
  mode_t old_mask = umask(077);
  rc = s_init_in(dir, name, id, o, e);
  umask(old_mask);
  return rc;
}

static int
s_init_in(const char *dir, const char *name, const lident *id, const lstore_init_opts *o,
          lerr *e)
{
  size_t nl = strlen(name);
  int rc;
  if ((rc = lstore_space_check(dir, 0, 0, e)) != 0)
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
  if (rc == LINLI_EEXIST) {
    /* The same key, left by an init that stopped before its store was
     * made, is reused; another key is never overwritten. */
    lident have;
    if (keyfile_read(keypath, &have, NULL) == 0 && memcmp(have.pk, pk, sizeof pk) == 0)
      rc = 0;
    ident_wipe(&have);
    if (rc)
      return lerr_set(e, LINLI_EEXIST,
                      "%s holds another key but no store (an interrupted init?): remove it, or "
                      "pass it to init with --key", keypath);
  }
  if (rc)
    return rc;
  lfail("init-key");
  /* The store is made in DIR/.init/db and renamed to DIR/db once its
   * metadata is written: a crash leaves no store, never one without its
   * root or its recovering flag. */
  char tmp[4096], tmpdb[4096], db[4096];
  if (fs_join(tmp, sizeof tmp, dir, ".init") || fs_join(tmpdb, sizeof tmpdb, tmp, "db") ||
      fs_join(db, sizeof db, dir, "db"))
    return lerr_set(e, LINLI_ETOOBIG, "%s: path too long", dir);
  lstore *s = calloc(1, sizeof *s);
  if (s == NULL || (s->dir = strdup(dir)) == NULL) {
    free(s);
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  }
  {
    rocksdb_options_t *dopt = rocksdb_options_create();
    char *err = NULL;
    rocksdb_destroy_db(dopt, tmpdb, &err); /* what an interrupted init left */
    rocksdb_free(err);
    rocksdb_options_destroy(dopt);
  }
  rc = fs_mkdirs(tmp, 0700, e);
  if (rc == 0)
    rc = s_open_db(s, tmp, true, LSTORE_VILLAGE, false, e);
  if (rc == 0) {
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    uint8_t zero[8] = {0};
    rocksdb_writebatch_put_cf(wb, s->cf[LCF_META], "format", 6, STORE_FORMAT, strlen(STORE_FORMAT));
    rocksdb_writebatch_put_cf(wb, s->cf[LCF_META], "name", 4, name, nl);
    rocksdb_writebatch_put_cf(wb, s->cf[LCF_META], "self", 4, (const char *)pk, sizeof pk);
    rocksdb_writebatch_put_cf(wb, s->cf[LCF_META], "hlc", 3, (const char *)zero, 8);
    if (o && o->root)
      rocksdb_writebatch_put_cf(wb, s->cf[LCF_META], "root", 4, (const char *)o->root,
                                LINLI_PK_BYTES);
    if (o && o->restore) {
      uint8_t t[8];
      st_be64(t, o->restore_ms);
      rocksdb_writebatch_put_cf(wb, s->cf[LCF_META], "recovering", 10, (const char *)t, sizeof t);
    }
    rc = st_write(s, wb, e);
    rocksdb_writebatch_destroy(wb);
  }
  lstore_close(&s);
  if (rc == 0)
    lfail("init-db");
  if (rc == 0 && (rename(tmpdb, db) != 0 || fs_sync_parent(db) != 0))
    rc = lerr_set(e, LINLI_EIO, "%s: cannot move the new store in place: %s", db, strerror(errno));
  if (rc == 0)
    rmdir(tmp);
  return rc;
}

/* A key rotation (lstore_rotate) renames the key files, then writes the
 * new key into the store.  Interrupted in between, it left
 * node.key.retired-<short id of the store's key>: with a new key in
 * node.key the rotation is finished (the store's key written), without a
 * node.key it is undone (the old key put back). */
static int
s_rotate_recover(lstore *s, lerr *e)
{
  char cur[4096], pub[4200], old[4200], oldpub[4300];
  char shrt[LINLI_SHORT_ID_LEN + 1];
  ident_short(shrt, s->self);
  if (fs_join(cur, sizeof cur, s->dir, "node.key"))
    return 0;
  snprintf(pub, sizeof pub, "%s.pub", cur);
  snprintf(old, sizeof old, "%s.retired-%s", cur, shrt);
  snprintf(oldpub, sizeof oldpub, "%s.pub", old);
  if (access(old, F_OK) != 0)
    return 0;
  lident id;
  if (keyfile_read(cur, &id, NULL) != 0) {
    if (access(cur, F_OK) == 0)
      return 0; /* unreadable: lstore_identity says so when it is needed */
    if (rename(old, cur) != 0 || (access(oldpub, F_OK) == 0 && rename(oldpub, pub) != 0) ||
        fs_sync_parent(cur) != 0)
      return lerr_set(e, LINLI_EIO, "%s: an interrupted key rotation cannot be undone: %s", cur,
                      strerror(errno));
    log_warn("%s: a key rotation was interrupted before the new key was in place; the old key "
             "is back", s->dir);
    return 0;
  }
  int rc = 0;
  if (memcmp(id.pk, s->self, LINLI_PK_BYTES) != 0) {
    if (access(pub, F_OK) != 0)
      rc = keyfile_write(cur, &id, true, e);
    if (rc == 0) {
      rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
      rocksdb_writebatch_put_cf(wb, s->cf[LCF_META], "self", 4, (const char *)id.pk,
                                LINLI_PK_BYTES);
      rc = st_write(s, wb, e);
      rocksdb_writebatch_destroy(wb);
    }
    if (rc == 0) {
      memcpy(s->self, id.pk, LINLI_PK_BYTES);
      log_warn("%s: an interrupted key rotation was finished: this node signs as %s now (install "
               "its certificate with linli cert install if the rotation did not)",
               s->dir, st_short(shrt, id.pk));
    }
  }
  ident_wipe(&id);
  return rc;
}

int
lstore_open(lstore **out, const char *dir, const lstore_opts *opts, lerr *e)
{
  *out = NULL;
  if (!lstore_exists(dir))
    return lerr_set(e, LINLI_ENOTFOUND,
                    "%s is not a linli data directory (create one with: linli init --name NAME --root KEY)",
                    dir);
  lstore *s = calloc(1, sizeof *s);
  if (s == NULL || (s->dir = strdup(dir)) == NULL) {
    free(s);
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  }
  s->read_only = opts ? opts->read_only : false;
  s->min_free = s_min_free(opts ? opts->min_free : 0, opts ? opts->profile : LSTORE_VILLAGE);
  /* Opening for writing writes (a WAL, the manifest, an options file):
   * below the floor only a read-only open is possible. */
  int rc = s->read_only ? 0 : lstore_space_check(dir, s->min_free, 0, e);
  if (rc == 0)
    rc = s_open_db(s, dir, false, opts ? opts->profile : LSTORE_VILLAGE, s->read_only, e);
  if (rc)
    goto fail;
  char *v;
  size_t vl;
  if (st_get(s, LCF_META, "format", 6, &v, &vl, e) != 0) {
    rc = lerr_set(e, LINLI_ESTORE, "%s: store metadata is missing", dir);
    goto fail;
  }
  /* The format is a decimal number.  An older one would be migrated here,
   * step by step, before anything else reads the store (format 1 is the
   * first, so there is no step yet; tests/fixtures holds a store of each
   * released format to prove the steps).  A newer one is refused before
   * anything is written: the newer linli that made it still reads it. */
  unsigned long fmt = 0;
  bool num = vl > 0 && vl <= 9;
  for (size_t i = 0; i < vl && num; i++) {
    num = v[i] >= '0' && v[i] <= '9';
    fmt = fmt * 10 + (unsigned long)(v[i] - '0');
  }
  rocksdb_free(v);
  if (!num || fmt == 0) {
    rc = lerr_set(e, LINLI_ESTORE, "%s: the store's format version is unreadable", dir);
    goto fail;
  }
  if (fmt > strtoul(STORE_FORMAT, NULL, 10)) {
    rc = lerr_set(e, LINLI_ESTORE,
                  "%s: the store has format %lu, written by a newer linli; this version reads "
                  "format %s: install the newer linli again (the store was not changed)",
                  dir, fmt, STORE_FORMAT);
    goto fail;
  }
  if (st_get(s, LCF_META, "name", 4, &v, &vl, e) != 0 || vl > STORE_NAME_MAX) {
    rc = lerr_set(e, LINLI_ESTORE, "%s: node name is missing", dir);
    goto fail;
  }
  memcpy(s->name, v, vl);
  s->name[vl] = '\0';
  rocksdb_free(v);
  if (st_get(s, LCF_META, "self", 4, &v, &vl, e) != 0 || vl != LINLI_PK_BYTES) {
    rc = lerr_set(e, LINLI_ESTORE, "%s: node key is missing from the store", dir);
    goto fail;
  }
  memcpy(s->self, v, LINLI_PK_BYTES);
  rocksdb_free(v);
  if (st_get(s, LCF_META, "hlc", 3, &v, &vl, e) != 0 || vl != 8) {
    rc = lerr_set(e, LINLI_ESTORE, "%s: clock state is missing", dir);
    goto fail;
  }
  s->hlc = st_rd64((const uint8_t *)v);
  rocksdb_free(v);
  if (st_get(s, LCF_META, "root", 4, &v, &vl, NULL) == 0) {
    s->has_root = vl == LINLI_PK_BYTES;
    if (s->has_root)
      memcpy(s->root, v, LINLI_PK_BYTES);
    rocksdb_free(v);
  }
  if (st_get(s, LCF_META, "recovering", 10, &v, &vl, NULL) == 0) {
    s->recovering = true;
    /* Stores made before the restore time was kept hold "1". */
    s->restore_ms = vl == 8 ? st_rd64((const uint8_t *)v) : 0;
    rocksdb_free(v);
  }
  hmap_init(&s->trust);
  s->nheld = st_prefix_count(s, LCF_META, "x:held:", 7);
  if (st_get(s, LCF_META, "x:pclock", 8, &v, &vl, NULL) == 0) {
    if (vl == 16) {
      s->has_pclock = true;
      s->pclock_at = st_rd64((const uint8_t *)v);
      s->pclock_offset = (int64_t)st_rd64((const uint8_t *)v + 8);
    }
    rocksdb_free(v);
  }
  s->nforks = st_prefix_count(s, LCF_META, "x:fork:", 7);
  s->nawait = st_prefix_count(s, LCF_META, S_AWAIT, sizeof S_AWAIT - 1);
  /* What a crash interrupted is finished before anything reads. */
  if (!s->read_only && ((rc = s_rotate_recover(s, e)) != 0 || (rc = st_recover(s, e)) != 0))
    goto fail;
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
  int rc = st_get(s, LCF_HEADS, author, LINLI_PK_BYTES, &v, &vl, e);
  if (rc)
    return rc;
  rc = st_head_decode(out, (const uint8_t *)v, vl);
  rocksdb_free(v);
  if (rc) {
    char who[LINLI_SHORT_ID_LEN + 1];
    return lerr_set(e, LINLI_ESTORE, "author %s: stored head is corrupt", st_short(who, author));
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
    if (kl != LINLI_PK_BYTES || st_head_decode(&v[*n], (const uint8_t *)val, vl)) {
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
int
st_load_delta(lstore *s, const uint8_t author[LINLI_PK_BYTES], uint64_t seq, delta *d,
             char **raw, size_t *rawlen, lerr *e)
{
  char who[LINLI_SHORT_ID_LEN + 1];
  uint8_t key[LOG_KEY_LEN];
  st_log_key(key, author, seq);
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
                        st_short(who, author), (unsigned long long)st_rd64((const uint8_t *)k + LINLI_PK_BYTES),
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
    lerr_set(e, rc, "author %s: seq %llu is not in the log", st_short(who, author),
             (unsigned long long)seq);
  if (rc) {
    free(*raw);
    *raw = NULL;
  }
  return rc;
}

/* The chain hash of `author`'s op `seq`, recomputed from the stored log. */
int
st_hash_at(lstore *s, const uint8_t author[LINLI_PK_BYTES], uint64_t seq,
          uint8_t out[LINLI_HASH_BYTES], lbuf *scratch, lerr *e)
{
  delta d;
  char *raw;
  int rc = st_load_delta(s, author, seq, &d, &raw, NULL, e);
  if (rc)
    return rc;
  rules_hash_at(&d, seq, out, scratch);
  delta_clear(&d);
  free(raw);
  return 0;
}

int
lstore_hash_at(lstore *s, const uint8_t author[LINLI_PK_BYTES], uint64_t seq,
               uint8_t out[LINLI_HASH_BYTES], lerr *e)
{
  lbuf scratch;
  lbuf_init(&scratch);
  int rc = st_hash_at(s, author, seq, out, &scratch, e);
  lbuf_free(&scratch);
  return rc;
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
  int rc = st_write(s, wb, e);
  rocksdb_writebatch_destroy(wb);
  if (rc == 0) {
    memcpy(s->root, root, LINLI_PK_BYTES);
    s->has_root = true;
    s->trust_gen++;
  }
  return rc;
}

bool lstore_recovering(const lstore *s) { return s->recovering; }
uint64_t lstore_restored_ms(const lstore *s) { return s->restore_ms; }

int
lstore_set_recovering(lstore *s, bool on, lerr *e)
{
  rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
  uint8_t t[8];
  st_be64(t, s->restore_ms);
  if (on)
    rocksdb_writebatch_put_cf(wb, s->cf[LCF_META], "recovering", 10, (const char *)t, sizeof t);
  else
    rocksdb_writebatch_delete_cf(wb, s->cf[LCF_META], "recovering", 10);
  int rc = st_write(s, wb, e);
  rocksdb_writebatch_destroy(wb);
  if (rc == 0)
    s->recovering = on;
  return rc;
}

static size_t
s_await_key(char key[sizeof S_AWAIT + 2 * LINLI_PK_BYTES], const uint8_t pk[LINLI_PK_BYTES])
{
  memcpy(key, S_AWAIT, sizeof S_AWAIT - 1);
  hex_encode(key + sizeof S_AWAIT - 1, pk, LINLI_PK_BYTES);
  return sizeof S_AWAIT - 1 + 2 * LINLI_PK_BYTES;
}

uint32_t lstore_await_count(const lstore *s) { return s->nawait; }

bool
lstore_awaiting(lstore *s, const uint8_t person[LINLI_PK_BYTES])
{
  char key[sizeof S_AWAIT + 2 * LINLI_PK_BYTES];
  char *v;
  size_t vl;
  if (s->nawait == 0)
    return false;
  /* A read that fails counts as marked: a write waits rather than fork. */
  lerr e;
  int rc = st_get(s, LCF_META, key, s_await_key(key, person), &v, &vl, &e);
  if (rc == 0)
    rocksdb_free(v);
  return rc != LINLI_ENOTFOUND;
}

int
lstore_await_set(lstore *s, const uint8_t person[LINLI_PK_BYTES], bool on, lerr *e)
{
  char key[sizeof S_AWAIT + 2 * LINLI_PK_BYTES];
  size_t kl = s_await_key(key, person);
  bool was = lstore_awaiting(s, person);
  if (was == on)
    return 0;
  rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
  if (on)
    rocksdb_writebatch_put_cf(wb, s->cf[LCF_META], key, kl, "1", 1);
  else
    rocksdb_writebatch_delete_cf(wb, s->cf[LCF_META], key, kl);
  int rc = st_write(s, wb, e);
  rocksdb_writebatch_destroy(wb);
  if (rc == 0)
    s->nawait = on ? s->nawait + 1 : s->nawait - 1;
  return rc;
}

int
lstore_await_list(lstore *s, uint8_t (**out)[LINLI_PK_BYTES], uint32_t *n, lerr *e)
{
  const size_t pl = sizeof S_AWAIT - 1;
  *out = NULL;
  *n = 0;
  if (s->nawait == 0)
    return 0;
  uint8_t(*v)[LINLI_PK_BYTES] = malloc(s->nawait * sizeof *v);
  if (v == NULL)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  uint32_t k = 0;
  rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[LCF_META]);
  for (rocksdb_iter_seek(it, S_AWAIT, pl); rocksdb_iter_valid(it) && k < s->nawait;
       rocksdb_iter_next(it)) {
    size_t kl;
    const char *key = rocksdb_iter_key(it, &kl);
    if (kl < pl || memcmp(key, S_AWAIT, pl) != 0)
      break;
    char hex[2 * LINLI_PK_BYTES + 1];
    if (kl != pl + 2 * LINLI_PK_BYTES)
      continue;
    memcpy(hex, key + pl, 2 * LINLI_PK_BYTES);
    hex[2 * LINLI_PK_BYTES] = '\0';
    if (hex_decode(v[k], LINLI_PK_BYTES, hex) == 0)
      k++;
  }
  rocksdb_iter_destroy(it);
  *out = v;
  *n = k;
  return 0;
}

/* ---- reads ---- */

int
lstore_get(lstore *s, const char *key, size_t klen, rec **out, lerr *e)
{
  *out = NULL;
  char *v;
  size_t vl;
  int rc = st_get(s, LCF_VIEWS, key, klen, &v, &vl, e);
  if (rc == LINLI_ENOTFOUND)
    return lerr_set(e, rc, "%.*s: not found", (int)klen, key);
  if (rc)
    return rc;
  rc = st_view_decode(key, klen, v, vl, out, e);
  rocksdb_free(v);
  return rc;
}

int
st_view_decode(const char *key, size_t klen, const char *v, size_t vl, rec **out, lerr *e)
{
  *out = NULL;
  if (vl < LINLI_HASH_BYTES ||
      rec_decode(out, (const uint8_t *)v + LINLI_HASH_BYTES, vl - LINLI_HASH_BYTES, NULL) != 0)
    return lerr_set(e, LINLI_ESTORE, "stored state of %.*s is corrupt (run linli rebuild)",
                    (int)klen, key);
  return 0;
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
    int rc = st_get(s, LCF_DIGESTS, prefix, plen, &v, &vl, e);
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
      if ((rc = st_load_delta(s, st->author, st->seq, &d, &raw, NULL, e)) != 0)
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

int
st_meta_key(char mk[ST_META_KEY_MAX], const char *key, lerr *e)
{
  int w = snprintf(mk, ST_META_KEY_MAX, "x:%s", key);
  if (w < 0 || w >= ST_META_KEY_MAX)
    return lerr_set(e, LINLI_EINVAL, "metadata key too long");
  return w;
}

int
lstore_meta_get(lstore *s, const char *key, uint8_t **val, size_t *n, lerr *e)
{
  char mk[ST_META_KEY_MAX];
  int w = st_meta_key(mk, key, e);
  if (w < 0)
    return w;
  char *v;
  int rc = st_get(s, LCF_META, mk, (size_t)w, &v, n, e);
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
lstore_set_parent_clock(lstore *s, uint64_t at_ms, int64_t offset_ms, lerr *e)
{
  uint8_t v[16];
  st_be64(v, at_ms);
  st_be64(v + 8, (uint64_t)offset_ms);
  int rc = lstore_meta_put(s, "pclock", v, sizeof v, e);
  if (rc == 0) {
    s->has_pclock = true;
    s->pclock_at = at_ms;
    s->pclock_offset = offset_ms;
  }
  return rc;
}

int
lstore_meta_put(lstore *s, const char *key, const void *val, size_t n, lerr *e)
{
  char mk[ST_META_KEY_MAX];
  int w = st_meta_key(mk, key, e);
  if (w < 0)
    return w;
  rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
  rocksdb_writebatch_put_cf(wb, s->cf[LCF_META], mk, (size_t)w, val, n);
  int rc = st_write(s, wb, e);
  rocksdb_writebatch_destroy(wb);
  return rc;
}
