/*
 * keyfile.h - secret and public key files.
 *
 * A secret key file holds one line, "linli-secret-key-v1 <64 hex digits of
 * the ed25519 seed>", and is created with mode 0600 (never wider, never
 * overwritten).  Reading refuses a file that group or others may read, as
 * ssh does.  The public key file holds the 64 hex digits of the public key
 * and a newline.  Every buffer that held the secret is wiped.
 */
#ifndef LINLI_KEYFILE_H
#define LINLI_KEYFILE_H

#include "crdt/err.h"
#include "crdt/ident.h"

/* Writes `path` (secret, 0600) and `path`.pub; LINLI_EEXIST if either
 * exists and `force` is false. */
int keyfile_write(const char *path, const lident *id, bool force, lerr *e);
int keyfile_read(const char *path, lident *id, lerr *e);
/* Reads a public key file (or any file whose first word is 64 hex digits). */
int keyfile_read_pub(const char *path, uint8_t pk[LINLI_PK_BYTES], lerr *e);
/* The same for the contents buf[0..n) of the file `path` (for messages). */
#define KEYFILE_PUB_MAX 4096
int keyfile_parse_pub(const char *path, const uint8_t *buf, size_t n,
                      uint8_t pk[LINLI_PK_BYTES], lerr *e);

#endif
