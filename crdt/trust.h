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
 *                               the subject, by any certified key but
 *                               itself; in force only when written by the
 *                               root or an issuer in the subject's chain
 *                               at the revoked seq (trust_revoke_check)
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

/* Stations (0..2) and the people who work at them (3..6).  A person's
 * certificate is issued by a station and is only ever the first of a
 * chain: a person certifies nobody.  An auditor writes nothing but its own
 * certificate; an assessor's certificate names the points collection as
 * its prefix (docs/FORMAT.md, "Person certificates"). */
enum trust_role {
  ROLE_DISTRICT = 0,
  ROLE_STREET = 1,
  ROLE_VILLAGE = 2,
  ROLE_CLERK = 3,
  ROLE_ASSESSOR = 4,
  ROLE_AUDITOR = 5,
  ROLE_ADMIN = 6,
  ROLE_COUNT
};
/* "district", "street", "village", "clerk", "assessor", "auditor", "admin" */
const char *trust_role_name(int role);
int trust_role_parse(const char *s);     /* or -1 */
/* Whether `role` is a person's (clerk, assessor, auditor, admin). */
bool trust_role_person(int role);

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
/* The keys that may revoke a subject certified by a chain: the issuer of
 * each of its certificates (the last one's is the root). */
typedef struct ltrust_issuers {
  uint32_t n;
  uint8_t pk[TRUST_CHAIN_MAX][LINLI_PK_BYTES];
} ltrust_issuers;
void trust_issuers(const lchain *ch, ltrust_issuers *out);

/* Whether a revocation written by `revoker` has force (docs/FORMAT.md,
 * "Revocation"): the revoker is the root, or one of `in_force`, the issuers
 * of the subject's chain in force at seq max(rv->seq, 1) (NULL: the subject
 * had no chain there).  0 when authorised; LINLI_EREFUSED saying why not. */
int trust_revoke_check(const uint8_t root[LINLI_PK_BYTES], const uint8_t revoker[LINLI_PK_BYTES],
                       const lrevoke *rv, const ltrust_issuers *in_force, lerr *e);

/* The seq of the subject's log whose chain decides a revocation at `seq`:
 * a revocation at seq 0 is decided by the chain of the log's first op. */
static inline uint64_t
trust_revoke_at(uint64_t seq)
{
  return seq ? seq : 1;
}

/* Fork evidence: two deltas signed by one author that give different
 * hashes to the same seq.  ["linli-fork-v1", author, seq, delta, delta]. */
void fork_encode(lbuf *out, const uint8_t author[LINLI_PK_BYTES], uint64_t seq,
                 const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
/* Verifies evidence on its own: both deltas decode, are the author's, verify
 * (chain and signature), cover `seq`, and differ there. */
int fork_check(const uint8_t *p, size_t n, uint8_t author[LINLI_PK_BYTES], uint64_t *seq,
               lerr *e);
/* The parts of evidence, read but not verified (fork_check verifies):
 * the author, the seq and the two deltas' bytes inside p[0..n). */
typedef struct fork_parts {
  uint8_t author[LINLI_PK_BYTES];
  uint64_t seq;
  const uint8_t *d[2];
  size_t dn[2];
} fork_parts;
int fork_read(const uint8_t *p, size_t n, fork_parts *out, lerr *e);

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
  uint64_t chain_seq;            /* the seq of the op that set `chain` */
  /* Authorised revocations only (trust_revoke_check passed): one per
   * revoker, its smallest seq, sorted by seq.  An unauthorised revocation
   * never takes a slot. */
  ltrust_rev revs[TRUST_REVS_MAX];
  uint32_t nrevs;
  /* trust_revoke_at() of the smallest revocation of this author that is
   * held but not decided yet, because the author's log is not held up to
   * that seq (UINT64_MAX: none).  It is decided when the log gets there. */
  uint64_t pending_at;
  uint64_t blocked_at;           /* first seq refused; UINT64_MAX: none */
  bool forked;                   /* fork evidence is held */
  uint64_t fork_seq;
  char why[LINLI_KEY_MAX + 200]; /* why blocked (one line) */
} ltrust_state;

/* Remembers an authorised revocation of the state's author: one entry per
 * revoker, holding its smallest seq; when TRUST_REVS_MAX revokers are
 * held, the one with the largest seq gives way to a smaller one (the one
 * in force is never lost).  Returns true if the state changed. */
bool trust_add_revocation(ltrust_state *st, const uint8_t revoker[LINLI_PK_BYTES],
                          const lrevoke *rv);
/* The revocation in force (the smallest seq), or NULL. */
const ltrust_rev *trust_revocation(const ltrust_state *st);
/* Whether op `seq` falls after revocation `rv` (NULL: none), i.e. is cut
 * by it; written without `rv->rv.seq + 1`, which wraps at the top. */
static inline bool
trust_cut(const ltrust_rev *rv, uint64_t seq)
{
  return rv != NULL && seq > rv->rv.seq;
}

/* The chain that op `o` of `author` sets when it is a certificate op
 * (set of field "chain" of trust/cert/<author>) whose value decodes (its
 * syntax only: trust_check_op decides whether it is valid).  LINLI_ENOTFOUND
 * when `o` is not a certificate op of `author`. */
int trust_op_chain(const uint8_t author[LINLI_PK_BYTES], const op *o, lchain *out, lerr *e);

void trust_state_init(ltrust_state *st);

/* Decides whether `author` may write `o` (its seq and hlc set), given what
 * is known of it in `st`; a certificate op that passes becomes the
 * author's chain (and sets st->chain_seq).  With `root` NULL (a store
 * created without a trust root) every op outside trust/ passes, and under
 * trust/ only a well-formed certificate of the author itself or revocation
 * of another key.  Whether a revocation has force, and forks, are not
 * decided here: they depend on other logs (see trust_revoke_check,
 * node/ingest.c, cmd_audit.c).  A key revoking itself is refused.
 * LINLI_EREFUSED with a reason naming author, seq and key otherwise.
 * When `rv` is not NULL and the op is a revocation, *rv gets it and
 * *is_rv is set. */
int trust_check_op(const uint8_t *root, const uint8_t author[LINLI_PK_BYTES], ltrust_state *st,
                   const op *o, lrevoke *rv, bool *is_rv, lerr *e);

#endif
