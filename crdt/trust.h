/*
 * trust.h - who may write what: membership certificates, revocations, fork
 * evidence, and the rules every node and the auditor apply to each op.
 *
 * The trust root is one ed25519 public key (the district's).  It signs
 * certificates for the keys below it; a certified key may sign certificates
 * for keys further down, each narrowing the key prefix its subject may write
 * ("gusu/" -> "gusu/jinchang/" -> "gusu/jinchang/v12/").  A chain runs from
 * an author's own certificate up to one signed by the root.
 *
 * Certificates and revocations travel as ordinary ops, so they are signed,
 * chained, stored, synced and bundled like any record (docs/FORMAT.md,
 * "Trust"):
 *
 *   trust/cert/<author hex>     field "chain", register: the author's own
 *                               chain, written by the author itself; the
 *                               first op of every certified log
 *   trust/revoke/<subject hex>  field "revocations", set: revocations of
 *                               the subject, written by its issuer (or any
 *                               key above it, or the root)
 *
 * Because an author carries its own chain at the start of its log, any log
 * can be checked on its own, in any order, with nothing but the root key:
 * a district need not receive a street's log before its villages'.
 *
 * This module is pure: no clock (an op's time is its HLC), no storage.  The
 * store (node/ingest.c) and the auditor (tools/linli/cmd_audit.c) both run
 * every op through trust_check_op().
 */
#ifndef LINLI_TRUST_H
#define LINLI_TRUST_H

#include "crdt/op.h"

#define TRUST_CHAIN_MAX 8
#define TRUST_NAME_MAX 64
#define TRUST_REASON_MAX 200

enum trust_role { ROLE_DISTRICT = 0, ROLE_STREET = 1, ROLE_VILLAGE = 2, ROLE_COUNT };
const char *trust_role_name(int role);   /* "district", "street", "village" */
int trust_role_parse(const char *s);     /* or -1 */

typedef struct lcert {
  uint8_t subject[LINLI_PK_BYTES];
  char name[TRUST_NAME_MAX + 1];     /* NUL-terminated UTF-8 */
  uint8_t role;                      /* enum trust_role */
  uint8_t issuer[LINLI_PK_BYTES];
  char prefix[LINLI_KEY_MAX + 1];    /* "" or ends in '/'; NUL-terminated */
  uint64_t not_before, not_after;    /* ms since the Unix epoch, inclusive */
  uint8_t sig[LINLI_SIG_BYTES];      /* issuer's, over cert_signed_part() */
} lcert;

/* A chain: c[0] is the subject's own certificate, c[i+1] certifies
 * c[i]'s issuer, and c[n-1] is signed by the root. */
typedef struct lchain {
  uint32_t n;
  lcert c[TRUST_CHAIN_MAX];
} lchain;

/* The bytes the issuer signs: ["linli-cert-v1", subject, name, role,
 * issuer, prefix, not_before, not_after]. */
void cert_signed_part(lbuf *out, const lcert *c);
/* Sets c->issuer to the signer's key and signs. */
void cert_sign(lcert *c, const lident *issuer);
/* Checks the fields' syntax (role, name, prefix); not the signature. */
int cert_check(const lcert *c, lerr *e);

/* A chain is encoded as an array of certificates, each the signed part's
 * eight elements plus the signature. */
void chain_encode(lbuf *out, const lchain *ch);
int chain_decode(lchain *ch, const uint8_t *p, size_t n, lerr *e);
/* Signatures, links (each issuer is the next subject), the root at the
 * top, prefixes narrowing and roles never rising on the way down, and
 * c[0].subject == subject.  Not the validity period: see chain_valid_at. */
int chain_verify(const lchain *ch, const uint8_t root[LINLI_PK_BYTES],
                 const uint8_t subject[LINLI_PK_BYTES], lerr *e);
/* Whether every certificate of the chain is valid at `ms`; if not, `e`
 * names the certificate. */
int chain_valid_at(const lchain *ch, uint64_t ms, lerr *e);

/* A revocation: ops of `subject` after `seq` are invalid.  It carries the
 * subject's own signature over its head at `seq` (none when seq is 0), so
 * every node can cut the subject's log at exactly that op with a valid
 * signature, and nobody can name a head the subject never signed. */
typedef struct lrevoke {
  uint8_t subject[LINLI_PK_BYTES];
  uint64_t seq;
  uint8_t hash[LINLI_HASH_BYTES];
  uint8_t sig[LINLI_SIG_BYTES];
  char reason[TRUST_REASON_MAX + 1];
} lrevoke;

/* ["linli-revoke-v1", subject, seq, head hash, head signature, reason] */
void revoke_encode(lbuf *out, const lrevoke *rv);
/* Decodes and checks the head signature (zeros required when seq is 0). */
int revoke_decode(lrevoke *rv, const uint8_t *p, size_t n, lerr *e);
/* Whether `revoker` may revoke a subject certified by `ch`: the root, or
 * the issuer of any certificate in the subject's chain. */
bool revoke_authorised(const uint8_t root[LINLI_PK_BYTES], const uint8_t revoker[LINLI_PK_BYTES],
                       const lchain *ch);

/* Fork evidence: two deltas signed by one author that give different
 * hashes to the same seq.  ["linli-fork-v1", author, seq, delta, delta]. */
void fork_encode(lbuf *out, const uint8_t author[LINLI_PK_BYTES], uint64_t seq,
                 const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
/* Verifies evidence on its own: both deltas decode, are the author's, verify
 * (chain and signature), cover `seq`, and differ there. */
int fork_check(const uint8_t *p, size_t n, uint8_t author[LINLI_PK_BYTES], uint64_t *seq,
               lerr *e);

/* The trust values inside ops are lowercase hex of the encodings above
 * (op values are text).  Decodes hex into *out (malloc'd). */
int trust_unhex(const char *s, size_t n, uint8_t **out, size_t *len, lerr *e);
/* Appends the lowercase hex of p[0..n) to `out`. */
void trust_hex(lbuf *out, const uint8_t *p, size_t n);

/* The reserved record keys. */
#define TRUST_CERT_PREFIX "trust/cert/"
#define TRUST_REVOKE_PREFIX "trust/revoke/"
#define TRUST_CHAIN_FIELD "chain"
#define TRUST_REVOKE_FIELD "revocations"
/* "trust/cert/<hex>" or "trust/revoke/<hex>" for `pk` into out (at least
 * 14 + 64 + 1 bytes); returns the length. */
size_t trust_key(char *out, const char *prefix, const uint8_t pk[LINLI_PK_BYTES]);

/* What a node knows of one author's right to write. */
#define TRUST_REVS_MAX 8
typedef struct ltrust_rev {
  uint8_t revoker[LINLI_PK_BYTES];
  lrevoke rv;
} ltrust_rev;

typedef struct ltrust_state {
  bool certified;                /* `chain` holds the author's current chain */
  lchain chain;
  ltrust_rev revs[TRUST_REVS_MAX]; /* revocations seen, authorised or not yet */
  uint32_t nrevs;
  uint64_t blocked_at;           /* first seq refused; UINT64_MAX: none */
  bool forked;                   /* fork evidence is held */
  uint64_t fork_seq;
  char why[LINLI_KEY_MAX + 200]; /* why blocked (one line) */
} ltrust_state;

/* Remembers a revocation of the state's author (kept are the earliest
 * TRUST_REVS_MAX by seq; a repeat is ignored).  Returns true if it is new. */
bool trust_add_revocation(ltrust_state *st, const uint8_t revoker[LINLI_PK_BYTES],
                          const lrevoke *rv);
/* The revocation in force: the one with the smallest seq among those whose
 * revoker is authorised for the chain known now (the root always is), or
 * NULL. */
const ltrust_rev *trust_revocation(const uint8_t *root, const ltrust_state *st);

void trust_state_init(ltrust_state *st);

/* Decides whether `author` may write `o` (its seq and hlc set), given what
 * is known of it in `st`; a certificate op that passes becomes the
 * author's chain.  `root` NULL turns the rules off (a store created without
 * a trust root accepts every signed op).  Revocations and forks are not
 * looked at here: they depend on other logs (see node/ingest.c, cmd_audit.c).
 * LINLI_EREFUSED with a reason naming author, seq and key otherwise.
 * When `rv` is not NULL and the op is a revocation, *rv gets it and
 * *is_rv is set. */
int trust_check_op(const uint8_t *root, const uint8_t author[LINLI_PK_BYTES], ltrust_state *st,
                   const op *o, lrevoke *rv, bool *is_rv, lerr *e);

#endif
