/*
 * backup.c - a consistent copy of a station in one file, and its return
 * (node/store.h, lstore_backup and lstore_restore; docs/OPERATING.md,
 * "Backups" has the format).
 *
 * The copy is a RocksDB checkpoint (hard links to the immutable table
 * files, taken by the process that holds the store open, so a running
 * node's backup goes through its control socket) plus the node's key
 * files, packed by our code into one file:
 *
 *   magic   "linli-backup-v1\n" (16 bytes)
 *   entry   name length (u16 BE, 1 to 255), name, size (u64 BE), the bytes;
 *           repeated, one per file
 *   end     u16 0
 *   check   BLAKE2b-256 (32 bytes) of everything before it
 *
 * Names are "node.key", "node.key.pub", "users.json" (the station's
 * people, node/users.h, when it has any) or "db/" + a file name of
 * [A-Za-z0-9._-] not starting with '.'.  Restore checks the whole file
 * before it writes anything.
 */
#include "node/store_int.h"
#include "node/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BK_MAGIC "linli-backup-v1\n"
#define BK_MAGIC_LEN 16
#define BK_CHUNK 65536

typedef struct bk_out {
  FILE *f;
  crypto_generichash_state h;
  bool err;
} bk_out;

static void
s_out(bk_out *o, const void *p, size_t n)
{
  if (o->err || n == 0)
    return;
  crypto_generichash_update(&o->h, p, n);
  if (fwrite(p, 1, n, o->f) != n)
    o->err = true;
}

/* Appends file `path` under `name`. */
static int
s_add_file(bk_out *o, const char *name, const char *path, uint8_t *buf, lerr *e)
{
  FILE *in = fopen(path, "rb");
  struct stat sb;
  if (in == NULL || fstat(fileno(in), &sb) != 0 || !S_ISREG(sb.st_mode)) {
    if (in)
      fclose(in);
    return lerr_set(e, LINLI_EIO, "%s: cannot read: %s", path, strerror(errno));
  }
  size_t nl = strlen(name);
  uint8_t hdr[2 + 255 + 8];
  hdr[0] = (uint8_t)(nl >> 8);
  hdr[1] = (uint8_t)nl;
  memcpy(hdr + 2, name, nl);
  st_be64(hdr + 2 + nl, (uint64_t)sb.st_size);
  s_out(o, hdr, 2 + nl + 8);
  uint64_t left = (uint64_t)sb.st_size;
  while (left > 0 && !o->err) {
    size_t want = left < BK_CHUNK ? (size_t)left : BK_CHUNK;
    size_t got = fread(buf, 1, want, in);
    if (got != want) {
      fclose(in);
      return lerr_set(e, LINLI_EIO, "%s: changed while it was copied", path);
    }
    s_out(o, buf, got);
    left -= got;
  }
  fclose(in);
  return 0;
}

/* The files of the data directory a backup carries besides db/. */
static const char *const s_files[3] = {"node.key", "node.key.pub", "users.json"};

static bool
s_name_ok(const char *n, size_t len)
{
  if (len == 8 && memcmp(n, "node.key", 8) == 0)
    return true;
  if (len == 12 && memcmp(n, "node.key.pub", 12) == 0)
    return true;
  if (len == 10 && memcmp(n, "users.json", 10) == 0)
    return true;
  if (len < 4 || memcmp(n, "db/", 3) != 0 || n[3] == '.')
    return false;
  for (size_t i = 3; i < len; i++) {
    char c = n[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '.' || c == '_' || c == '-'))
      return false;
  }
  return true;
}

/* Removes a checkpoint directory (flat: files only). */
static void
s_rm_flat(const char *dir)
{
  DIR *d = opendir(dir);
  if (d != NULL) {
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
      char p[4096];
      if (de->d_name[0] == '.' || fs_join(p, sizeof p, dir, de->d_name))
        continue;
      unlink(p);
    }
    closedir(d);
  }
  rmdir(dir);
}

int
lstore_backup(lstore *s, const char *path, lerr *e)
{
  char ckpt[4096], tmp[4096], p[4096];
  if (snprintf(ckpt, sizeof ckpt, "%s.ckpt-%ld", path, (long)getpid()) >= (int)sizeof ckpt ||
      snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof tmp)
    return lerr_set(e, LINLI_ETOOBIG, "%s: path too long", path);
  char *err = NULL;
  rocksdb_checkpoint_t *cp = rocksdb_checkpoint_object_create(s->db, &err);
  if (cp != NULL && err == NULL)
    rocksdb_checkpoint_create(cp, ckpt, 0, &err); /* 0: flush the memtables first */
  if (cp != NULL)
    rocksdb_checkpoint_object_destroy(cp);
  if (err != NULL) {
    int rc = lerr_set(e, LINLI_EIO, "cannot take a checkpoint in %s: %s", ckpt, err);
    free(err);
    s_rm_flat(ckpt);
    return rc;
  }
  int rc = 0;
  uint8_t *buf = malloc(BK_CHUNK);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
  bk_out o = {.f = fd >= 0 ? fdopen(fd, "wb") : NULL};
  if (buf == NULL) {
    rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
    goto done;
  }
  if (o.f == NULL) {
    rc = lerr_set(e, LINLI_EIO, "%s: cannot create: %s", tmp, strerror(errno));
    goto done;
  }
  crypto_generichash_init(&o.h, NULL, 0, LINLI_HASH_BYTES);
  s_out(&o, BK_MAGIC, BK_MAGIC_LEN);
  for (int i = 0; i < 3 && rc == 0; i++) {
    if (fs_join(p, sizeof p, s->dir, s_files[i]))
      rc = lerr_set(e, LINLI_ETOOBIG, "%s: path too long", s->dir);
    else if (i < 2 || access(p, F_OK) == 0) /* a station may have no people */
      rc = s_add_file(&o, s_files[i], p, buf, e);
  }
  DIR *d = rc == 0 ? opendir(ckpt) : NULL;
  if (rc == 0 && d == NULL)
    rc = lerr_set(e, LINLI_EIO, "%s: %s", ckpt, strerror(errno));
  struct dirent *de;
  while (d != NULL && rc == 0 && (de = readdir(d)) != NULL) {
    char name[300];
    size_t nl = strlen(de->d_name);
    if (de->d_name[0] == '.' || strcmp(de->d_name, "LOCK") == 0 ||
        strncmp(de->d_name, "LOG", 3) == 0)
      continue;
    snprintf(name, sizeof name, "db/%s", de->d_name);
    if (nl > 250 || !s_name_ok(name, strlen(name)))
      rc = lerr_set(e, LINLI_ESTORE, "%s: unexpected file %s in the checkpoint", ckpt, de->d_name);
    else if (fs_join(p, sizeof p, ckpt, de->d_name))
      rc = lerr_set(e, LINLI_ETOOBIG, "%s: path too long", ckpt);
    else
      rc = s_add_file(&o, name, p, buf, e);
  }
  if (d != NULL)
    closedir(d);
  if (rc == 0) {
    uint8_t end[2] = {0, 0}, h[LINLI_HASH_BYTES];
    s_out(&o, end, 2);
    crypto_generichash_final(&o.h, h, sizeof h);
    if (!o.err && fwrite(h, 1, sizeof h, o.f) != sizeof h)
      o.err = true;
    if (o.err || fflush(o.f) != 0 || fsync(fileno(o.f)) != 0)
      rc = lerr_set(e, LINLI_EIO, "%s: cannot write: %s", tmp, strerror(errno));
  }
done:
  if (o.f != NULL)
    fclose(o.f);
  else if (fd >= 0)
    close(fd);
  if (rc == 0 && rename(tmp, path) != 0)
    rc = lerr_set(e, LINLI_EIO, "%s: cannot rename into place: %s", path, strerror(errno));
  if (rc != 0 && fd >= 0)
    unlink(tmp);
  s_rm_flat(ckpt);
  free(buf);
  return rc;
}

/* Reads exactly n bytes (hashing them when h is not NULL). */
static bool
s_in(FILE *f, void *p, size_t n, crypto_generichash_state *h)
{
  if (n > 0 && fread(p, 1, n, f) != n)
    return false;
  if (h)
    crypto_generichash_update(h, p, n);
  return true;
}

/* One pass over the entries: checks them against the file's length and,
 * when `dir` is not NULL, writes each file under it. */
static int
s_entries(FILE *f, const char *file, uint64_t body, const char *dir, uint8_t *buf, lerr *e)
{
  uint64_t at = BK_MAGIC_LEN;
  bool keys = false;
  for (;;) {
    uint8_t h2[2], h8[8];
    char name[256], p[4096];
    if (at + 2 > body || !s_in(f, h2, 2, NULL))
      return lerr_set(e, LINLI_EINVAL, "%s: truncated backup", file);
    at += 2;
    size_t nl = (size_t)h2[0] << 8 | h2[1];
    if (nl == 0)
      break;
    if (nl > 255 || at + nl + 8 > body || !s_in(f, name, nl, NULL) || !s_in(f, h8, 8, NULL))
      return lerr_set(e, LINLI_EINVAL, "%s: malformed backup entry", file);
    name[nl] = '\0';
    at += nl + 8;
    uint64_t size = st_rd64(h8);
    if (!s_name_ok(name, nl) || memchr(name, '\0', nl) != NULL)
      return lerr_set(e, LINLI_EINVAL, "%s: backup entry with a name not allowed", file);
    if (size > body - at)
      return lerr_set(e, LINLI_EINVAL, "%s: truncated backup", file);
    if (strcmp(name, "node.key") == 0)
      keys = true;
    FILE *out = NULL;
    if (dir != NULL) {
      int fd;
      if (fs_join(p, sizeof p, dir, name) ||
          (fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0 ||
          (out = fdopen(fd, "wb")) == NULL)
        return lerr_set(e, LINLI_EIO, "%s/%s: cannot create: %s", dir, name, strerror(errno));
    }
    uint64_t left = size;
    while (left > 0) {
      size_t want = left < BK_CHUNK ? (size_t)left : BK_CHUNK;
      if (!s_in(f, buf, want, NULL) || (out && fwrite(buf, 1, want, out) != want)) {
        if (out)
          fclose(out);
        return lerr_set(e, LINLI_EIO, "%s: cannot copy %s", file, name);
      }
      left -= want;
    }
    at += size;
    if (out != NULL && (fflush(out) != 0 || fsync(fileno(out)) != 0 || fclose(out) != 0))
      return lerr_set(e, LINLI_EIO, "%s/%s: cannot write: %s", dir, name, strerror(errno));
  }
  if (at != body)
    return lerr_set(e, LINLI_EINVAL, "%s: bytes after the end of the backup", file);
  if (!keys)
    return lerr_set(e, LINLI_EINVAL, "%s: the backup holds no node key", file);
  return 0;
}

int
lstore_restore(const char *file, const char *dir, lerr *e)
{
  FILE *f = fopen(file, "rb");
  struct stat sb;
  uint8_t *buf = malloc(BK_CHUNK);
  int rc = 0;
  char db[4096] = "";
  bool made = false;
  if (buf == NULL) {
    rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
    goto done;
  }
  if (f == NULL || fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
    rc = lerr_set(e, LINLI_EINVAL, "%s: cannot read a backup file there", file);
    goto done;
  }
  uint64_t len = (uint64_t)sb.st_size;
  uint8_t magic[BK_MAGIC_LEN], want[LINLI_HASH_BYTES], got[LINLI_HASH_BYTES];
  crypto_generichash_state h;
  crypto_generichash_init(&h, NULL, 0, LINLI_HASH_BYTES);
  if (len < BK_MAGIC_LEN + 2 + LINLI_HASH_BYTES || !s_in(f, magic, BK_MAGIC_LEN, &h) ||
      memcmp(magic, BK_MAGIC, BK_MAGIC_LEN) != 0) {
    rc = lerr_set(e, LINLI_EINVAL, "%s: not a linli backup (made by linli backup -o FILE)", file);
    goto done;
  }
  uint64_t body = len - LINLI_HASH_BYTES;
  for (uint64_t at = BK_MAGIC_LEN; at < body;) {
    size_t n = body - at < BK_CHUNK ? (size_t)(body - at) : BK_CHUNK;
    if (!s_in(f, buf, n, &h)) {
      rc = lerr_set(e, LINLI_EIO, "%s: cannot read", file);
      goto done;
    }
    at += n;
  }
  crypto_generichash_final(&h, got, sizeof got);
  if (!s_in(f, want, sizeof want, NULL) || sodium_memcmp(got, want, sizeof got) != 0) {
    rc = lerr_set(e, LINLI_EINVAL, "%s: the backup is damaged (its checksum does not match)",
                  file);
    goto done;
  }
  /* Checked whole: now the entries, first dry, then written. */
  if (fseek(f, BK_MAGIC_LEN, SEEK_SET) != 0 || (rc = s_entries(f, file, body, NULL, buf, e)) != 0)
    goto done;
  if (mkdir(dir, 0700) != 0) {
    rc = errno == EEXIST
             ? lerr_set(e, LINLI_EEXIST, "%s exists: restore into a new directory", dir)
             : lerr_set(e, LINLI_EIO, "%s: cannot create: %s", dir, strerror(errno));
    goto done;
  }
  made = true;
  if (chmod(dir, LSTORE_DIR_MODE) != 0) {
    rc = lerr_set(e, LINLI_EIO, "%s: cannot set its mode: %s", dir, strerror(errno));
    goto done;
  }
  if (fs_join(db, sizeof db, dir, "db") || mkdir(db, 0700) != 0) {
    rc = lerr_set(e, LINLI_EIO, "%s/db: cannot create: %s", dir, strerror(errno));
    goto done;
  }
  if (fseek(f, BK_MAGIC_LEN, SEEK_SET) != 0)
    rc = lerr_set(e, LINLI_EIO, "%s: cannot read", file);
  else
    rc = s_entries(f, file, body, dir, buf, e);
done:
  if (rc != 0 && made) {
    /* Leave no half-restored directory behind. */
    char p[4096];
    s_rm_flat(db);
    for (int i = 0; i < 3; i++)
      if (fs_join(p, sizeof p, dir, s_files[i]) == 0)
        unlink(p);
    rmdir(dir);
  }
  if (f != NULL)
    fclose(f);
  free(buf);
  return rc;
}
