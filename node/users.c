/*
 * users.c - person accounts: keys certified by the station, sealed under
 * the person's password in DIR/users.json; see users.h.
 *
 * users.json (UTF-8 JSON, written with fs_write_atomic, mode 0600):
 *   {"format": "linli-users-v1", "users": [
 *     {"name", "role" ("clerk" | "assessor" | "auditor" | "admin"),
 *      "pk" (64 hex), "prefix", "not_before", "not_after" (ms),
 *      "revoked" (bool), "reason" (text, "" unless revoked),
 *      "salt" (hex, crypto_pwhash_SALTBYTES), "opslimit", "memlimit",
 *      "nonce" (hex, crypto_secretbox_NONCEBYTES),
 *      "box" (hex: crypto_secretbox_easy of the 32-byte ed25519 seed under
 *             crypto_pwhash(32 bytes, password, salt, opslimit, memlimit,
 *             Argon2id 1.3))}, ...]}
 * Every member is required and checked when read; the limits must lie
 * between libsodium's minimum and its "moderate" level, so a file someone
 * altered cannot make an unlock take the machine's memory.
 *
 * Every change reads the file, changes it and writes it whole, holding an
 * exclusive lock (flock) on DIR/users.lock from the read to the write:
 * two processes changing accounts at once (two `linli user passwd` without
 * a running node, a CLI beside linli-node's web API) wait for each other
 * instead of one writing back a file without the other's change.
 */
#include "node/users.h"

#include "crdt/text.h"
#include "node/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#define S_FORMAT "linli-users-v1"
#define S_FILE_MAX (4u << 20)
#define S_DAY_MS (24ull * 3600 * 1000)
#define S_BOX_BYTES (LINLI_SEED_BYTES + crypto_secretbox_MACBYTES)
#define S_WRONG "wrong user name or password"

/* One account as stored. */
typedef struct s_acct {
  luser u;
  char reason[TRUST_REASON_MAX + 1];
  uint8_t salt[crypto_pwhash_SALTBYTES];
  unsigned long long opslimit;
  size_t memlimit;
  uint8_t nonce[crypto_secretbox_NONCEBYTES];
  uint8_t box[S_BOX_BYTES];
} s_acct;

typedef struct s_file {
  s_acct *a;
  size_t n;
} s_file;

struct lperson {
  lident id;
  luser u;
};

/* The Argon2id cost of every new seal: libsodium's interactive level
 * (about 0.1 s and 64 MiB here). */
static void
s_limits(unsigned long long *ops, size_t *mem)
{
  *ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
  *mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
}

static int
s_path(char out[4096], const char *dir, lerr *e)
{
  return fs_join(out, 4096, dir, LUSERS_FILE) == 0
             ? 0
             : lerr_set(e, LINLI_EINVAL, "data directory path is too long");
}

int
lusers_name_check(const char *in, char out[TRUST_NAME_MAX + 1], lerr *e)
{
  const char *s = in;
  size_t n = strlen(in);
  text_trim(&s, &n);
  if (n == 0 || n > TRUST_NAME_MAX || !utf8_valid(s, n))
    return lerr_set(e, LINLI_EINVAL, "a user name is 1 to %d bytes of UTF-8 (about 21 Chinese "
                    "characters)", TRUST_NAME_MAX);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == 0x7f)
      return lerr_set(e, LINLI_EINVAL, "a user name may not hold a control character");
    if (c == '/' || c == '\\')
      return lerr_set(e, LINLI_EINVAL, "a user name may not hold '/' or '\\'");
  }
  if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.') || s[0] == '-')
    return lerr_set(e, LINLI_EINVAL, "a user name may not be '.' or '..' or start with '-'");
  memcpy(out, s, n);
  out[n] = '\0';
  return 0;
}

static int
s_password_check(const char *pw, lerr *e)
{
  size_t n = strlen(pw), cps = 0;
  if (n > LUSERS_PASSWORD_MAX || !utf8_valid(pw, n))
    return lerr_set(e, LINLI_EINVAL, "a password is at most %d bytes of UTF-8",
                    LUSERS_PASSWORD_MAX);
  for (size_t i = 0; i < n; i++)
    cps += ((unsigned char)pw[i] & 0xc0) != 0x80;
  if (cps < LUSERS_PASSWORD_MIN)
    return lerr_set(e, LINLI_EINVAL, "a password needs at least %d characters",
                    LUSERS_PASSWORD_MIN);
  return 0;
}

/* ---- the file ---- */

static int
s_hex_member(json_t *o, const char *k, uint8_t *out, size_t n)
{
  const char *v = json_string_value(json_object_get(o, k));
  return v != NULL && strlen(v) == 2 * n && hex_decode(out, n, v) == 0 ? 0 : -1;
}

static int
s_str_member(json_t *o, const char *k, char *out, size_t cap)
{
  json_t *j = json_object_get(o, k);
  const char *v = json_string_value(j);
  size_t n = json_string_length(j);
  if (v == NULL || n >= cap || memchr(v, 0, n) != NULL)
    return -1;
  memcpy(out, v, n + 1);
  return 0;
}

static int
s_uint_member(json_t *o, const char *k, uint64_t *out)
{
  json_t *j = json_object_get(o, k);
  if (!json_is_integer(j) || json_integer_value(j) < 0)
    return -1;
  *out = (uint64_t)json_integer_value(j);
  return 0;
}

/* One account from its JSON object; -1 when anything is missing or off. */
static int
s_acct_read(json_t *o, s_acct *a)
{
  char role[16], name[TRUST_NAME_MAX + 1];
  uint64_t ops, mem;
  memset(a, 0, sizeof *a);
  if (!json_is_object(o) || s_str_member(o, "name", a->u.name, sizeof a->u.name) ||
      lusers_name_check(a->u.name, name, NULL) || strcmp(name, a->u.name) != 0 ||
      s_str_member(o, "role", role, sizeof role) ||
      s_hex_member(o, "pk", a->u.pk, LINLI_PK_BYTES) ||
      s_str_member(o, "prefix", a->u.prefix, sizeof a->u.prefix) ||
      s_uint_member(o, "not_before", &a->u.not_before) ||
      s_uint_member(o, "not_after", &a->u.not_after) ||
      !json_is_boolean(json_object_get(o, "revoked")) ||
      s_str_member(o, "reason", a->reason, sizeof a->reason) ||
      s_hex_member(o, "salt", a->salt, sizeof a->salt) || s_uint_member(o, "opslimit", &ops) ||
      s_uint_member(o, "memlimit", &mem) || s_hex_member(o, "nonce", a->nonce, sizeof a->nonce) ||
      s_hex_member(o, "box", a->box, sizeof a->box) || json_object_size(o) != 13)
    return -1;
  int r = trust_role_parse(role);
  if (!trust_role_person(r))
    return -1;
  a->u.role = (uint8_t)r;
  a->u.revoked = json_is_true(json_object_get(o, "revoked"));
  if (ops < crypto_pwhash_OPSLIMIT_MIN || ops > crypto_pwhash_OPSLIMIT_MODERATE ||
      mem < crypto_pwhash_MEMLIMIT_MIN || mem > crypto_pwhash_MEMLIMIT_MODERATE)
    return -1;
  a->opslimit = ops;
  a->memlimit = (size_t)mem;
  return 0;
}

static void
s_file_free(s_file *f)
{
  if (f->a)
    sodium_memzero(f->a, f->n * sizeof *f->a);
  free(f->a);
  f->a = NULL;
  f->n = 0;
}

/* Reads DIR/users.json (none: no account). */
static int
s_load(const char *dir, s_file *f, lerr *e)
{
  char path[4096];
  uint8_t *buf = NULL;
  size_t n;
  f->a = NULL;
  f->n = 0;
  int rc = s_path(path, dir, e);
  if (rc)
    return rc;
  FILE *probe = fopen(path, "rb");
  if (probe == NULL)
    return 0; /* no accounts yet */
  fclose(probe);
  if ((rc = fs_read_all(path, S_FILE_MAX, &buf, &n, e)) != 0)
    return rc;
  json_error_t je;
  json_t *root = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, &je);
  free(buf);
  json_t *users = json_object_get(root, "users");
  const char *fmt = json_string_value(json_object_get(root, "format"));
  if (root == NULL || fmt == NULL || strcmp(fmt, S_FORMAT) != 0 || !json_is_array(users)) {
    json_decref(root);
    return lerr_set(e, LINLI_EMALFORMED, "%s is not a linli users file (%s); restore it from a "
                    "backup", path, root == NULL ? je.text : "no format or users");
  }
  size_t cnt = json_array_size(users);
  f->a = calloc(cnt ? cnt : 1, sizeof *f->a);
  if (f->a == NULL) {
    json_decref(root);
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < cnt; i++) {
    if (s_acct_read(json_array_get(users, i), &f->a[i]) != 0) {
      json_decref(root);
      s_file_free(f);
      return lerr_set(e, LINLI_EMALFORMED, "%s: user %zu is damaged (a member missing or "
                      "wrong); restore the file from a backup", path, i + 1);
    }
    for (size_t k = 0; k < i; k++)
      if (strcmp(f->a[k].u.name, f->a[i].u.name) == 0) {
        json_decref(root);
        s_file_free(f);
        return lerr_set(e, LINLI_EMALFORMED, "%s: user %zu repeats a name; restore the file "
                        "from a backup", path, i + 1);
      }
    f->n = i + 1;
  }
  json_decref(root);
  return 0;
}

static json_t *
s_hex_json(const uint8_t *p, size_t n)
{
  char buf[2 * 64 + 1];
  hex_encode(buf, p, n);
  return json_string(buf);
}

static int
s_save(const char *dir, const s_file *f, lerr *e)
{
  char path[4096];
  int rc = s_path(path, dir, e);
  if (rc)
    return rc;
  json_t *users = json_array();
  json_t *root = json_pack("{s:s, s:o}", "format", S_FORMAT, "users", users);
  bool oom = root == NULL;
  for (size_t i = 0; i < f->n && !oom; i++) {
    const s_acct *a = &f->a[i];
    json_t *o = json_pack(
        "{s:s, s:s, s:o, s:s, s:I, s:I, s:b, s:s, s:o, s:I, s:I, s:o, s:o}", "name", a->u.name,
        "role", trust_role_name(a->u.role), "pk", s_hex_json(a->u.pk, LINLI_PK_BYTES), "prefix",
        a->u.prefix, "not_before", (json_int_t)a->u.not_before, "not_after",
        (json_int_t)a->u.not_after, "revoked", (int)a->u.revoked, "reason", a->reason, "salt",
        s_hex_json(a->salt, sizeof a->salt), "opslimit", (json_int_t)a->opslimit, "memlimit",
        (json_int_t)a->memlimit, "nonce", s_hex_json(a->nonce, sizeof a->nonce), "box",
        s_hex_json(a->box, sizeof a->box));
    oom = o == NULL || json_array_append_new(users, o) != 0;
  }
  char *text = oom ? NULL : json_dumps(root, JSON_INDENT(1));
  json_decref(root);
  if (text == NULL)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  size_t tl = strlen(text);
  rc = fs_write_atomic(path, text, tl, 0600, e);
  free(text);
  return rc;
}

/* Takes the lock of DIR's accounts (see the top); *fd then holds it until
 * s_unlock. */
static int
s_lock(const char *dir, int *fd, lerr *e)
{
  char path[4096];
  *fd = -1;
  if (fs_join(path, sizeof path, dir, LUSERS_LOCK) != 0)
    return lerr_set(e, LINLI_EINVAL, "data directory path is too long");
  int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (f < 0)
    return lerr_set(e, LINLI_EIO, "%s: %s", path, strerror(errno));
  int rc;
  while ((rc = flock(f, LOCK_EX)) != 0 && errno == EINTR)
    ;
  if (rc != 0) {
    rc = lerr_set(e, LINLI_EIO, "%s: cannot lock: %s", path, strerror(errno));
    close(f);
    return rc;
  }
  *fd = f;
  return 0;
}

static void
s_unlock(int *fd)
{
  if (*fd >= 0)
    close(*fd); /* releases the flock */
  *fd = -1;
}

static s_acct *
s_find(s_file *f, const char *name)
{
  for (size_t i = 0; i < f->n; i++)
    if (strcmp(f->a[i].u.name, name) == 0)
      return &f->a[i];
  return NULL;
}

/* ---- sealing ---- */

/* key = Argon2id(password, salt, limits); 0 or LINLI_ENOMEM. */
static int
s_derive(uint8_t key[crypto_secretbox_KEYBYTES], const char *pw, const uint8_t *salt,
         unsigned long long ops, size_t mem, lerr *e)
{
  if (crypto_pwhash(key, crypto_secretbox_KEYBYTES, pw, strlen(pw), salt, ops, mem,
                    crypto_pwhash_ALG_ARGON2ID13) != 0)
    return lerr_set(e, LINLI_ENOMEM, "out of memory deriving the password's key");
  return 0;
}

static int
s_seal(s_acct *a, const lident *id, const char *pw, lerr *e)
{
  uint8_t *key = sodium_malloc(crypto_secretbox_KEYBYTES + LINLI_SEED_BYTES);
  if (key == NULL)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  uint8_t *seed = key + crypto_secretbox_KEYBYTES;
  randombytes_buf(a->salt, sizeof a->salt);
  randombytes_buf(a->nonce, sizeof a->nonce);
  s_limits(&a->opslimit, &a->memlimit);
  int rc = s_derive(key, pw, a->salt, a->opslimit, a->memlimit, e);
  if (rc == 0) {
    ident_seed(id, seed);
    crypto_secretbox_easy(a->box, seed, LINLI_SEED_BYTES, a->nonce, key);
  }
  sodium_free(key);
  return rc;
}

static uint64_t
s_now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Opens the account's box with the password into a new lperson; the same
 * refusal whether the name is unknown (a == NULL) or the password wrong. */
static int
s_open(const s_acct *a, const char *pw, lperson **out, lerr *e)
{
  static const uint8_t dummy_salt[crypto_pwhash_SALTBYTES];
  lperson *p = sodium_malloc(sizeof *p + crypto_secretbox_KEYBYTES + LINLI_SEED_BYTES);
  if (p == NULL)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  uint8_t *key = (uint8_t *)(p + 1), *seed = key + crypto_secretbox_KEYBYTES;
  unsigned long long ops;
  size_t mem;
  s_limits(&ops, &mem);
  /* An unknown name costs the same derivation as a known one. */
  int rc = s_derive(key, pw, a ? a->salt : dummy_salt, a ? a->opslimit : ops,
                    a ? a->memlimit : mem, e);
  if (rc == 0 && (a == NULL || crypto_secretbox_open_easy(seed, a->box, sizeof a->box, a->nonce,
                                                          key) != 0))
    rc = lerr_set(e, LINLI_EREFUSED, S_WRONG);
  if (rc == 0) {
    ident_from_seed(&p->id, seed);
    p->u = a->u;
    if (memcmp(p->id.pk, a->u.pk, LINLI_PK_BYTES) != 0)
      rc = lerr_set(e, LINLI_EMALFORMED, "users.json: the key sealed for %s is not the key "
                    "certified for them; restore the file from a backup", a->u.name);
  }
  sodium_memzero(key, crypto_secretbox_KEYBYTES + LINLI_SEED_BYTES);
  if (rc) {
    sodium_free(p);
    return rc;
  }
  sodium_mprotect_readonly(p);
  *out = p;
  return 0;
}

/* ---- the calls ---- */

int
lusers_add(lstore *s, const char *dir, const lident *station, const char *name, int role,
           const char *prefix, const char *password, uint32_t days, uint64_t wall_ms, luser *out,
           lerr *e)
{
  char nm[TRUST_NAME_MAX + 1], ns[LINLI_KEY_MAX + 1];
  s_file f = {0};
  lchain *ch = NULL;
  lident *pid = NULL;
  int rc;
  if ((rc = lusers_name_check(name, nm, e)) != 0)
    return rc;
  if (!trust_role_person(role))
    return lerr_set(e, LINLI_EINVAL, "a person's role is clerk, assessor, auditor or admin");
  if ((rc = s_password_check(password, e)) != 0)
    return rc;
  if (days == 0)
    days = LUSERS_DAYS_DEFAULT;
  if (days > LUSERS_DAYS_MAX)
    return lerr_set(e, LINLI_EINVAL, "a person's certificate lasts 1 to %d days",
                    LUSERS_DAYS_MAX);
  if (lstore_root(s) == NULL)
    return lerr_set(e, LINLI_EINVAL, "this station has no trust root (linli init --root): it "
                    "cannot certify people");
  /* The station's namespace: its certificate's prefix ("" for the root). */
  ltrust_state *st = malloc(sizeof *st);
  if (st == NULL)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  ns[0] = '\0';
  if ((rc = lstore_trust(s, station->pk, st, e)) == 0 && st->certified)
    snprintf(ns, sizeof ns, "%s", st->chain.c[0].prefix);
  free(st);
  if (rc)
    return rc;
  int lk;
  if ((rc = s_lock(dir, &lk, e)) != 0)
    return rc;
  if ((rc = s_load(dir, &f, e)) != 0) {
    s_unlock(&lk);
    return rc;
  }
  if (s_find(&f, nm) != NULL) {
    rc = lerr_set(e, LINLI_EEXIST, "a user named %s exists already", nm);
    goto done;
  }
  s_acct *na = realloc(f.a, (f.n + 1) * sizeof *f.a);
  ch = calloc(1, sizeof *ch);
  pid = sodium_malloc(sizeof *pid);
  if (na == NULL || ch == NULL || pid == NULL) {
    if (na)
      f.a = na;
    rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
    goto done;
  }
  f.a = na;
  s_acct *a = &f.a[f.n];
  memset(a, 0, sizeof *a);
  lcert c;
  memset(&c, 0, sizeof c);
  const char *pre = prefix ? prefix : role == ROLE_ASSESSOR ? "pts/" : "";
  if ((rc = text_key_resolve(ns, pre, strlen(pre), c.prefix, sizeof c.prefix, e)) != 0)
    goto done;
  if (strncmp(c.prefix, ns, strlen(ns)) != 0) {
    rc = lerr_set(e, LINLI_EINVAL, "prefix '%s' is outside this station's namespace '%s'",
                  c.prefix, ns);
    goto done;
  }
  ident_generate(pid);
  memcpy(c.subject, pid->pk, LINLI_PK_BYTES);
  memcpy(c.name, nm, strlen(nm) + 1);
  c.role = (uint8_t)role;
  /* A day of slack before now, as `linli cert issue` gives: a PC whose
   * clock runs slow must not find the certificate "not yet valid". */
  c.not_before = wall_ms > S_DAY_MS ? wall_ms - S_DAY_MS : 0;
  c.not_after = wall_ms + (uint64_t)days * S_DAY_MS;
  if ((rc = lstore_issue_chain(s, station, &c, ch, e)) != 0)
    goto done;
  a->u.role = c.role;
  memcpy(a->u.name, nm, sizeof nm);
  memcpy(a->u.pk, pid->pk, LINLI_PK_BYTES);
  memcpy(a->u.prefix, c.prefix, sizeof c.prefix);
  a->u.not_before = c.not_before;
  a->u.not_after = c.not_after;
  if ((rc = s_seal(a, pid, password, e)) != 0)
    goto done;
  /* The person's log starts with its certificate; then the account. */
  if ((rc = lstore_write_chain(s, pid, ch, wall_ms, e)) != 0)
    goto done;
  f.n++;
  if ((rc = s_save(dir, &f, e)) != 0)
    goto done;
  if (out)
    *out = a->u;
done:
  s_unlock(&lk);
  if (pid)
    sodium_free(pid);
  free(ch);
  s_file_free(&f);
  return rc;
}

int
lusers_list(const char *dir, luser **out, size_t *n, lerr *e)
{
  s_file f;
  *out = NULL;
  *n = 0;
  int rc = s_load(dir, &f, e);
  if (rc)
    return rc;
  luser *v = malloc((f.n ? f.n : 1) * sizeof *v);
  if (v == NULL) {
    s_file_free(&f);
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < f.n; i++)
    v[i] = f.a[i].u;
  *out = v;
  *n = f.n;
  s_file_free(&f);
  return 0;
}

int
lusers_get(const char *dir, const char *name, luser *out, lerr *e)
{
  s_file f;
  int rc = s_load(dir, &f, e);
  if (rc)
    return rc;
  const s_acct *a = s_find(&f, name);
  if (a == NULL)
    rc = lerr_set(e, LINLI_ENOTFOUND, "no user named %s (linli user list)", name);
  else
    *out = a->u;
  s_file_free(&f);
  return rc;
}

int
lusers_unlock(const char *dir, const char *name, const char *password, lperson **out, lerr *e)
{
  s_file f;
  *out = NULL;
  int rc = s_load(dir, &f, e);
  if (rc)
    return rc;
  const s_acct *a = s_find(&f, name);
  lperson *p = NULL;
  rc = s_open(a, password, &p, e);
  if (rc == 0 && a->u.revoked)
    rc = lerr_set(e, LINLI_EREFUSED, "user %s is revoked (%s): ask the station's admin", name,
                  a->reason[0] ? a->reason : "no reason given");
  uint64_t now = s_now_ms();
  if (rc == 0 && (now < a->u.not_before || now > a->u.not_after))
    rc = lerr_set(e, LINLI_EREFUSED, "the certificate of user %s %s: ask the station's admin",
                  name, now > a->u.not_after ? "has expired" : "is not valid yet");
  if (rc)
    lperson_free(&p);
  else
    *out = p;
  s_file_free(&f);
  return rc;
}

const lident *
lperson_ident(const lperson *p)
{
  return &p->id;
}

const luser *
lperson_user(const lperson *p)
{
  return &p->u;
}

void
lperson_free(lperson **p)
{
  if (p == NULL || *p == NULL)
    return;
  sodium_free(*p); /* wipes the whole allocation, unlocks and frees it */
  *p = NULL;
}

int
lusers_passwd(const char *dir, const char *name, const char *old_pw, const char *new_pw, lerr *e)
{
  s_file f;
  lperson *p = NULL;
  int lk, rc = s_password_check(new_pw, e);
  if (rc)
    return rc;
  if ((rc = s_lock(dir, &lk, e)) != 0)
    return rc;
  if ((rc = s_load(dir, &f, e)) != 0) {
    s_unlock(&lk);
    return rc;
  }
  s_acct *a = s_find(&f, name);
  if ((rc = s_open(a, old_pw, &p, e)) == 0 && a->u.revoked)
    rc = lerr_set(e, LINLI_EREFUSED, "user %s is revoked", name);
  if (rc == 0)
    rc = s_seal(a, &p->id, new_pw, e);
  if (rc == 0)
    rc = s_save(dir, &f, e);
  s_unlock(&lk);
  lperson_free(&p);
  s_file_free(&f);
  return rc;
}

int
lusers_revoke(lstore *s, const char *dir, const lident *station, const char *name,
              const char *reason, uint64_t wall_ms, lerr *e)
{
  s_file f;
  lrevoke rv;
  const char *why = reason ? reason : "";
  if (strlen(why) > TRUST_REASON_MAX || !utf8_valid(why, strlen(why)))
    return lerr_set(e, LINLI_EINVAL, "a reason is at most %d bytes of UTF-8", TRUST_REASON_MAX);
  int lk, rc = s_lock(dir, &lk, e);
  if (rc)
    return rc;
  if ((rc = s_load(dir, &f, e)) != 0) {
    s_unlock(&lk);
    return rc;
  }
  s_acct *a = s_find(&f, name);
  if (a == NULL) {
    rc = lerr_set(e, LINLI_ENOTFOUND, "no user named %s (linli user list)", name);
    goto done;
  }
  if (a->u.revoked) {
    rc = lerr_set(e, LINLI_EEXIST, "user %s is revoked already", name);
    goto done;
  }
  /* After the person's last op held here (always a signed head), or
   * everything when none is held. */
  memset(&rv, 0, sizeof rv);
  memcpy(rv.subject, a->u.pk, LINLI_PK_BYTES);
  memcpy(rv.reason, why, strlen(why) + 1);
  lhead h;
  rc = lstore_head(s, a->u.pk, &h, e);
  if (rc != 0 && rc != LINLI_ENOTFOUND)
    goto done;
  rv.seq = rc == 0 ? h.seq : 0;
  if ((rc = lstore_write_revocation(s, station, &rv, wall_ms, e)) != 0)
    goto done;
  a->u.revoked = true;
  memcpy(a->reason, rv.reason, sizeof a->reason);
  rc = s_save(dir, &f, e);
done:
  s_unlock(&lk);
  s_file_free(&f);
  return rc;
}
