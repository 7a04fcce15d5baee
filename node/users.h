/*
 * users.h - the people who work at a station: clerks, assessors, auditors
 * and admins, each with an ed25519 key of their own.
 *
 * A person's key is certified by the station (crdt/trust.h, a person
 * role, the station's namespace or a narrower prefix, a validity period),
 * and the person's log starts with that certificate, as a station's does:
 * their ops are signed by them, sync like any author's, and the history
 * and the audit name them (lstore_author_info, docs/FORMAT.md "Person
 * certificates").
 *
 * The accounts live in DIR/users.json (written atomically, mode 0600):
 * per person the name, role, public key, prefix, validity, whether revoked,
 * and the secret key sealed under a key derived from the person's password
 * (libsodium crypto_pwhash, Argon2id, with its salt and limits;
 * crypto_secretbox with its nonce).  The password itself is never stored
 * or logged.  An unlocked person (lperson) lives in memory that
 * sodium_malloc guards and locks, wiped when it is freed.
 */
#ifndef LINLI_USERS_H
#define LINLI_USERS_H

#include "crdt/trust.h"
#include "node/store.h"

#define LUSERS_FILE "users.json"
#define LUSERS_LOCK "users.lock" /* held while users.json is changed */
#define LUSERS_PASSWORD_MIN 8    /* characters (code points) */
#define LUSERS_PASSWORD_MAX 1024 /* bytes */
#define LUSERS_DAYS_DEFAULT 365
#define LUSERS_DAYS_MAX 36500

typedef struct luser {
  char name[TRUST_NAME_MAX + 1];  /* UTF-8, as typed (trimmed) */
  uint8_t role;                   /* a person role */
  uint8_t pk[LINLI_PK_BYTES];
  char prefix[LINLI_KEY_MAX + 1]; /* what the certificate lets them write */
  uint64_t not_before, not_after; /* ms */
  bool revoked;
} luser;

/* An unlocked person: lives in sodium_malloc'd, mlocked memory; freed =
 * wiped. */
typedef struct lperson lperson;

/* Adds a person: a new ed25519 key, a certificate signed by `station`
 * (role, the station's namespace or `prefix` narrower (relative to the
 * namespace unless it starts with '/'; an assessor's default is the
 * namespace + "pts/"), valid from now (a day of slack before) for `days`
 * (0: LUSERS_DAYS_DEFAULT)), the person's first op (its own certificate)
 * written to the store signed by the person's key, the secret key sealed
 * under Argon2id(password) and saved in DIR/users.json (atomic write,
 * 0600).  Errors: LINLI_EEXIST (name taken), LINLI_EINVAL (bad name, role
 * or prefix, weak password: under 8 characters; no trust root or no
 * certificate at the station). */
int lusers_add(lstore *s, const char *dir, const lident *station, const char *name, int role,
               const char *prefix, const char *password, uint32_t days, uint64_t wall_ms,
               luser *out, lerr *e);

/* Every person of DIR/users.json (*out malloc'd, *n entries).  Revoked
 * ones too.  No file: no person. */
int lusers_list(const char *dir, luser **out, size_t *n, lerr *e);
/* One person by name; LINLI_ENOTFOUND. */
int lusers_get(const char *dir, const char *name, luser *out, lerr *e);

/* Verifies the password by unlocking the secret key (crypto_pwhash
 * Argon2id, crypto_secretbox).  A wrong password or unknown name:
 * LINLI_EREFUSED with the same message for both ("wrong user name or
 * password").  A revoked or expired person: LINLI_EREFUSED saying so. */
int lusers_unlock(const char *dir, const char *name, const char *password, lperson **out,
                  lerr *e);
const lident *lperson_ident(const lperson *p); /* sign with this */
const luser *lperson_user(const lperson *p);
void lperson_free(lperson **p); /* wipes, unlocks, frees; NULL ok */

/* Seals the person's key under a new password (the old one must unlock
 * it; same refusals as lusers_unlock). */
int lusers_passwd(const char *dir, const char *name, const char *old_pw, const char *new_pw,
                  lerr *e);

/* Revokes the person's certificate (a revocation written by `station`
 * after the last op of the person the store holds, as `linli cert revoke`
 * does for a station) and marks them revoked in users.json.  LINLI_ENOTFOUND
 * for an unknown name, LINLI_EEXIST when revoked already. */
int lusers_revoke(lstore *s, const char *dir, const lident *station, const char *name,
                  const char *reason, uint64_t wall_ms, lerr *e);

/* Checks a name as a person types it: trimmed, 1 to TRUST_NAME_MAX bytes of
 * UTF-8, no control character, no '/' or '\', not "." or "..", not
 * starting with '-'.  The trimmed name goes to out. */
int lusers_name_check(const char *in, char out[TRUST_NAME_MAX + 1], lerr *e);

#endif
