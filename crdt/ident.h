/*
 * ident.h - node identity: an ed25519 key pair (libsodium), hex forms, and
 * the hashing and signing primitives every format in docs/FORMAT.md uses.
 *
 * A node's id is its 32-byte public key.  People see it as 64 hex digits, or
 * as its short form: the first 12 hex digits (48 bits), enough to tell the
 * nodes of one district apart on a screen.  The secret key never leaves an
 * `lident`; ident_wipe() zeroes it.
 */
#ifndef LINLI_IDENT_H
#define LINLI_IDENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LINLI_PK_BYTES 32
#define LINLI_SK_BYTES 64
#define LINLI_SEED_BYTES 32
#define LINLI_SIG_BYTES 64
#define LINLI_HASH_BYTES 32
#define LINLI_SHORT_ID_LEN 12

typedef struct lident {
  uint8_t pk[LINLI_PK_BYTES];
  uint8_t sk[LINLI_SK_BYTES]; /* secret: libsodium's seed || pk */
} lident;

/* Initialises libsodium; call once before anything else.  0 or LINLI_EIO. */
int linli_crypto_init(void);

void ident_generate(lident *id);
void ident_from_seed(lident *id, const uint8_t seed[LINLI_SEED_BYTES]);
/* Copies the 32-byte seed out of the secret key (for writing a key file). */
void ident_seed(const lident *id, uint8_t seed[LINLI_SEED_BYTES]);
void ident_wipe(lident *id);

/* ed25519 over msg; sig is 64 bytes. */
void ident_sign(const lident *id, uint8_t sig[LINLI_SIG_BYTES], const uint8_t *msg, size_t n);
bool ident_verify(const uint8_t pk[LINLI_PK_BYTES], const uint8_t sig[LINLI_SIG_BYTES],
                  const uint8_t *msg, size_t n);

/* BLAKE2b with a 32-byte output, no key. */
void linli_hash(uint8_t out[LINLI_HASH_BYTES], const uint8_t *p, size_t n);

/* out needs 2n+1 bytes; lowercase, NUL-terminated. */
void hex_encode(char *out, const uint8_t *p, size_t n);
/* Exactly 2n hex digits (either case) -> n bytes.  0 or LINLI_EINVAL. */
int hex_decode(uint8_t *out, size_t n, const char *s);
/* out needs LINLI_SHORT_ID_LEN+1 bytes. */
void ident_short(char *out, const uint8_t pk[LINLI_PK_BYTES]);

#endif
