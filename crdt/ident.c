/* ident.c - keys, signatures, hashes and hex; see ident.h. */
#include "crdt/ident.h"
#include "crdt/err.h"

#include <sodium.h>
#include <string.h>

int
linli_crypto_init(void)
{
  return sodium_init() < 0 ? LINLI_EIO : 0;
}

void
ident_generate(lident *id)
{
  crypto_sign_keypair(id->pk, id->sk);
}

void
ident_from_seed(lident *id, const uint8_t seed[LINLI_SEED_BYTES])
{
  crypto_sign_seed_keypair(id->pk, id->sk, seed);
}

void
ident_seed(const lident *id, uint8_t seed[LINLI_SEED_BYTES])
{
  crypto_sign_ed25519_sk_to_seed(seed, id->sk);
}

void
ident_wipe(lident *id)
{
  sodium_memzero(id, sizeof *id);
}

void
ident_sign(const lident *id, uint8_t sig[LINLI_SIG_BYTES], const uint8_t *msg, size_t n)
{
  crypto_sign_detached(sig, NULL, msg, n, id->sk);
}

bool
ident_verify(const uint8_t pk[LINLI_PK_BYTES], const uint8_t sig[LINLI_SIG_BYTES],
             const uint8_t *msg, size_t n)
{
  return crypto_sign_verify_detached(sig, msg, n, pk) == 0;
}

void
linli_hash(uint8_t out[LINLI_HASH_BYTES], const uint8_t *p, size_t n)
{
  crypto_generichash(out, LINLI_HASH_BYTES, p, n, NULL, 0);
}

void
hex_encode(char *out, const uint8_t *p, size_t n)
{
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  out[2 * n] = '\0';
}

static int
s_nibble(char c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int
hex_decode(uint8_t *out, size_t n, const char *s)
{
  if (strlen(s) != 2 * n)
    return LINLI_EINVAL;
  for (size_t i = 0; i < n; i++) {
    int hi = s_nibble(s[2 * i]), lo = s_nibble(s[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return LINLI_EINVAL;
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  return 0;
}

void
ident_short(char *out, const uint8_t pk[LINLI_PK_BYTES])
{
  hex_encode(out, pk, LINLI_SHORT_ID_LEN / 2);
}
