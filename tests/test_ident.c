/*
 * test_ident.c - crdt/ident: hex encoding and strict decoding, seed-derived
 * keys (deterministic, seed recoverable), ed25519 sign/verify and the
 * failure of any changed bit, BLAKE2b-256 (known vectors), ident_short and
 * ident_wipe.
 */
#include "crdt/err.h"
#include "crdt/ident.h"

#include "testutil.h"

#include <criterion/criterion.h>
#include <string.h>

static void
setup(void)
{
  cr_assert_eq(linli_crypto_init(), 0);
}

TestSuite(ident, .init = setup);

static void
seed_of(uint8_t seed[LINLI_SEED_BYTES], uint8_t b)
{
  for (int i = 0; i < LINLI_SEED_BYTES; i++)
    seed[i] = (uint8_t)(b + i);
}

Test(ident, hex_encode_exact)
{
  static const uint8_t p[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff};
  char out[2 * sizeof p + 1];
  memset(out, 'x', sizeof out);
  hex_encode(out, p, sizeof p);
  cr_assert_str_eq(out, "00017f80abcdefff");
  hex_encode(out, p, 0);
  cr_assert_str_eq(out, "");
}

Test(ident, hex_round_trip)
{
  uint32_t st = 7;
  for (size_t n = 0; n <= 64; n++) {
    uint8_t p[64], q[64];
    char s[129];
    for (size_t i = 0; i < n; i++)
      p[i] = (uint8_t)tu_rand(&st);
    hex_encode(s, p, n);
    cr_assert_eq(strlen(s), 2 * n);
    memset(q, 0xee, sizeof q);
    cr_assert_eq(hex_decode(q, n, s), 0);
    cr_assert_eq(memcmp(p, q, n), 0);
    cr_assert_eq(q[n < 64 ? n : 63], n < 64 ? 0xee : p[63], "no write past n bytes");
  }
}

Test(ident, hex_decode_accepts_either_case)
{
  uint8_t out[4];
  cr_assert_eq(hex_decode(out, 4, "DEADbeef"), 0);
  cr_assert_eq(out[0], 0xde);
  cr_assert_eq(out[1], 0xad);
  cr_assert_eq(out[2], 0xbe);
  cr_assert_eq(out[3], 0xef);
  cr_assert_eq(hex_decode(out, 4, "0A0b0C0d"), 0);
  cr_assert_eq(out[0], 0x0a);
  cr_assert_eq(out[3], 0x0d);
}

Test(ident, hex_decode_rejects_bad_length)
{
  uint8_t out[8];
  cr_assert_eq(hex_decode(out, 4, ""), LINLI_EINVAL);
  cr_assert_eq(hex_decode(out, 4, "0011223"), LINLI_EINVAL);    /* 7 digits */
  cr_assert_eq(hex_decode(out, 4, "001122334"), LINLI_EINVAL);  /* 9 digits */
  cr_assert_eq(hex_decode(out, 4, "0011223344"), LINLI_EINVAL); /* 10 digits */
  cr_assert_eq(hex_decode(out, 0, ""), 0);
  cr_assert_eq(hex_decode(out, 0, "00"), LINLI_EINVAL);
}

Test(ident, hex_decode_rejects_bad_characters)
{
  static const char *const bad[] = {
    "0g112233", "001122 3", " 0112233", "0x112233", "00112-33", "0011223G",
    "0112233\n",
    "zz112233", ("00\xc3\xa9" "1122"),
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    uint8_t out[4];
    cr_assert_eq(strlen(bad[i]), 8, "case %zu is 8 bytes", i);
    cr_assert_eq(hex_decode(out, 4, bad[i]), LINLI_EINVAL, "'%s' accepted", bad[i]);
  }
  /* each position in turn */
  for (int pos = 0; pos < 8; pos++) {
    char s[9] = "01234567";
    s[pos] = ':'; /* the character after '9' */
    uint8_t out[4];
    cr_assert_eq(hex_decode(out, 4, s), LINLI_EINVAL, "position %d", pos);
    s[pos] = '@'; /* the character before 'A' */
    cr_assert_eq(hex_decode(out, 4, s), LINLI_EINVAL, "position %d", pos);
    s[pos] = '`'; /* the character before 'a' */
    cr_assert_eq(hex_decode(out, 4, s), LINLI_EINVAL, "position %d", pos);
  }
}

Test(ident, seed_keys_are_deterministic)
{
  uint8_t seed[LINLI_SEED_BYTES], back[LINLI_SEED_BYTES];
  seed_of(seed, 1);
  lident a, b, c;
  ident_from_seed(&a, seed);
  ident_from_seed(&b, seed);
  cr_assert_eq(memcmp(a.pk, b.pk, LINLI_PK_BYTES), 0);
  cr_assert_eq(memcmp(a.sk, b.sk, LINLI_SK_BYTES), 0);
  /* libsodium's secret key is seed || pk */
  cr_assert_eq(memcmp(a.sk, seed, LINLI_SEED_BYTES), 0);
  cr_assert_eq(memcmp(a.sk + LINLI_SEED_BYTES, a.pk, LINLI_PK_BYTES), 0);
  ident_seed(&a, back);
  cr_assert_eq(memcmp(back, seed, LINLI_SEED_BYTES), 0);
  seed_of(seed, 2);
  ident_from_seed(&c, seed);
  cr_assert_neq(memcmp(a.pk, c.pk, LINLI_PK_BYTES), 0);
}

Test(ident, rfc8032_test_vector_1)
{
  /* RFC 8032 section 7.1, TEST 1: the empty message. */
  uint8_t seed[32], pk[32], sig[64], want_sig[64];
  cr_assert_eq(hex_decode(seed, 32,
               "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"), 0);
  cr_assert_eq(hex_decode(pk, 32,
               "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"), 0);
  cr_assert_eq(hex_decode(want_sig, 64,
               "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
               "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"), 0);
  lident id;
  ident_from_seed(&id, seed);
  cr_assert_eq(memcmp(id.pk, pk, 32), 0);
  ident_sign(&id, sig, (const uint8_t *)"", 0);
  cr_assert_eq(memcmp(sig, want_sig, 64), 0);
  cr_assert(ident_verify(pk, sig, (const uint8_t *)"", 0));
}

Test(ident, generate_gives_distinct_working_keys)
{
  lident a, b;
  ident_generate(&a);
  ident_generate(&b);
  cr_assert_neq(memcmp(a.pk, b.pk, LINLI_PK_BYTES), 0);
  uint8_t seed[LINLI_SEED_BYTES];
  lident again;
  ident_seed(&a, seed);
  ident_from_seed(&again, seed);
  cr_assert_eq(memcmp(again.pk, a.pk, LINLI_PK_BYTES), 0);
  uint8_t sig[LINLI_SIG_BYTES];
  ident_sign(&a, sig, (const uint8_t *)"x", 1);
  cr_assert(ident_verify(a.pk, sig, (const uint8_t *)"x", 1));
  cr_assert(!ident_verify(b.pk, sig, (const uint8_t *)"x", 1));
}

Test(ident, sign_verify_and_every_flipped_bit_fails)
{
  uint8_t seed[LINLI_SEED_BYTES];
  seed_of(seed, 9);
  lident id, other;
  ident_from_seed(&id, seed);
  seed_of(seed, 10);
  ident_from_seed(&other, seed);
  uint8_t msg[40];
  for (size_t i = 0; i < sizeof msg; i++)
    msg[i] = (uint8_t)(i * 13 + 1);
  uint8_t sig[LINLI_SIG_BYTES], sig2[LINLI_SIG_BYTES];
  ident_sign(&id, sig, msg, sizeof msg);
  cr_assert(ident_verify(id.pk, sig, msg, sizeof msg));
  /* deterministic signatures */
  ident_sign(&id, sig2, msg, sizeof msg);
  cr_assert_eq(memcmp(sig, sig2, sizeof sig), 0);
  /* wrong key, shorter or longer message */
  cr_assert(!ident_verify(other.pk, sig, msg, sizeof msg));
  cr_assert(!ident_verify(id.pk, sig, msg, sizeof msg - 1));
  uint8_t longer[41];
  memcpy(longer, msg, 40);
  longer[40] = 0;
  cr_assert(!ident_verify(id.pk, sig, longer, sizeof longer));
  /* any flipped bit in the message or the signature */
  for (size_t bit = 0; bit < 8 * sizeof msg; bit++) {
    msg[bit / 8] ^= (uint8_t)(1u << bit % 8);
    cr_assert(!ident_verify(id.pk, sig, msg, sizeof msg), "message bit %zu", bit);
    msg[bit / 8] ^= (uint8_t)(1u << bit % 8);
  }
  for (size_t bit = 0; bit < 8 * sizeof sig; bit++) {
    sig[bit / 8] ^= (uint8_t)(1u << bit % 8);
    cr_assert(!ident_verify(id.pk, sig, msg, sizeof msg), "signature bit %zu", bit);
    sig[bit / 8] ^= (uint8_t)(1u << bit % 8);
  }
  for (size_t bit = 0; bit < 8 * LINLI_PK_BYTES; bit += 7) {
    uint8_t pk[LINLI_PK_BYTES];
    memcpy(pk, id.pk, sizeof pk);
    pk[bit / 8] ^= (uint8_t)(1u << bit % 8);
    cr_assert(!ident_verify(pk, sig, msg, sizeof msg), "key bit %zu", bit);
  }
  cr_assert(ident_verify(id.pk, sig, msg, sizeof msg), "restored input verifies again");
}

Test(ident, blake2b_256_known_values)
{
  uint8_t h[LINLI_HASH_BYTES];
  char hex[2 * LINLI_HASH_BYTES + 1];
  linli_hash(h, (const uint8_t *)"", 0);
  hex_encode(hex, h, sizeof h);
  cr_assert_str_eq(hex, "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
  linli_hash(h, (const uint8_t *)"abc", 3);
  hex_encode(hex, h, sizeof h);
  cr_assert_str_eq(hex, "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
  uint8_t h2[LINLI_HASH_BYTES];
  linli_hash(h2, (const uint8_t *)"abd", 3);
  cr_assert_neq(memcmp(h, h2, sizeof h), 0);
}

Test(ident, short_id)
{
  uint8_t pk[LINLI_PK_BYTES];
  for (int i = 0; i < LINLI_PK_BYTES; i++)
    pk[i] = (uint8_t)(0xa0 + i);
  char s[LINLI_SHORT_ID_LEN + 1];
  memset(s, 'x', sizeof s);
  ident_short(s, pk);
  cr_assert_str_eq(s, "a0a1a2a3a4a5");
  cr_assert_eq(strlen(s), LINLI_SHORT_ID_LEN);
  /* it is the prefix of the full hex form */
  char full[2 * LINLI_PK_BYTES + 1];
  uint8_t seed[LINLI_SEED_BYTES];
  seed_of(seed, 3);
  lident id;
  ident_from_seed(&id, seed);
  hex_encode(full, id.pk, LINLI_PK_BYTES);
  ident_short(s, id.pk);
  cr_assert_eq(strncmp(s, full, LINLI_SHORT_ID_LEN), 0);
}

Test(ident, wipe_zeroes_everything)
{
  uint8_t seed[LINLI_SEED_BYTES];
  seed_of(seed, 5);
  lident id;
  ident_from_seed(&id, seed);
  ident_wipe(&id);
  static const lident zero;
  cr_assert_eq(memcmp(&id, &zero, sizeof id), 0);
}
