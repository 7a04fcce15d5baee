/* keyfile.c - key files; see keyfile.h. */
#include "node/keyfile.h"
#include "node/fsutil.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEYFILE_TAG "linli-secret-key-v1 "

int
keyfile_write(const char *path, const lident *id, bool force, lerr *e)
{
  char pub[4096];
  if (snprintf(pub, sizeof pub, "%s.pub", path) >= (int)sizeof pub)
    return lerr_set(e, LINLI_ETOOBIG, "%s: path too long", path);
  if (!force && (access(path, F_OK) == 0 || access(pub, F_OK) == 0))
    return lerr_set(e, LINLI_EEXIST, "%s: a key file already exists (use --force to replace it)",
                    path);
  uint8_t seed[LINLI_SEED_BYTES];
  char line[sizeof KEYFILE_TAG + 2 * LINLI_SEED_BYTES + 2];
  ident_seed(id, seed);
  memcpy(line, KEYFILE_TAG, sizeof KEYFILE_TAG - 1);
  hex_encode(line + sizeof KEYFILE_TAG - 1, seed, LINLI_SEED_BYTES);
  size_t n = strlen(line);
  line[n++] = '\n';
  int rc = fs_write_atomic(path, line, n, 0600, e);
  sodium_memzero(seed, sizeof seed);
  sodium_memzero(line, sizeof line);
  if (rc)
    return rc;
  char hex[2 * LINLI_PK_BYTES + 2];
  hex_encode(hex, id->pk, LINLI_PK_BYTES);
  strcat(hex, "\n");
  return fs_write_atomic(pub, hex, strlen(hex), 0644, e);
}

int
keyfile_read(const char *path, lident *id, lerr *e)
{
  struct stat st;
  if (stat(path, &st) != 0)
    return lerr_set(e, LINLI_ENOTFOUND, "%s: no such key file", path);
  /* (fs_read_all refuses what is not a regular file, by name) */
  if (S_ISREG(st.st_mode) && (st.st_mode & 077))
    return lerr_set(e, LINLI_EINVAL,
                    "%s: secret key file may be read by others (mode %03o); chmod 600 it",
                    path, (unsigned)(st.st_mode & 0777));
  uint8_t *buf;
  size_t n;
  int rc = fs_read_all(path, 4096, &buf, &n, e);
  if (rc)
    return rc;
  uint8_t seed[LINLI_SEED_BYTES];
  char hex[2 * LINLI_SEED_BYTES + 1];
  size_t tag = sizeof KEYFILE_TAG - 1;
  rc = LINLI_EMALFORMED;
  if (n >= tag + 2 * LINLI_SEED_BYTES && memcmp(buf, KEYFILE_TAG, tag) == 0 &&
      (n == tag + 2 * LINLI_SEED_BYTES || buf[tag + 2 * LINLI_SEED_BYTES] == '\n')) {
    memcpy(hex, buf + tag, 2 * LINLI_SEED_BYTES);
    hex[2 * LINLI_SEED_BYTES] = '\0';
    if (hex_decode(seed, LINLI_SEED_BYTES, hex) == 0) {
      ident_from_seed(id, seed);
      rc = 0;
    }
  }
  sodium_memzero(seed, sizeof seed);
  sodium_memzero(hex, sizeof hex);
  sodium_memzero(buf, n);
  free(buf);
  if (rc)
    return lerr_set(e, rc, "%s: not a linli secret key file", path);
  return 0;
}

int
keyfile_parse_pub(const char *path, const uint8_t *buf, size_t n, uint8_t pk[LINLI_PK_BYTES],
                  lerr *e)
{
  char hex[2 * LINLI_PK_BYTES + 1];
  if (n >= 2 * LINLI_PK_BYTES && (n == 2 * LINLI_PK_BYTES || buf[2 * LINLI_PK_BYTES] == '\n' ||
                                  buf[2 * LINLI_PK_BYTES] == ' ')) {
    memcpy(hex, buf, 2 * LINLI_PK_BYTES);
    hex[2 * LINLI_PK_BYTES] = '\0';
    if (hex_decode(pk, LINLI_PK_BYTES, hex) == 0)
      return 0;
  }
  return lerr_set(e, LINLI_EMALFORMED, "%s: not a linli public key file", path);
}

int
keyfile_read_pub(const char *path, uint8_t pk[LINLI_PK_BYTES], lerr *e)
{
  uint8_t *buf;
  size_t n;
  int rc = fs_read_all(path, KEYFILE_PUB_MAX, &buf, &n, e);
  if (rc)
    return rc;
  rc = keyfile_parse_pub(path, buf, n, pk, e);
  free(buf);
  return rc;
}
