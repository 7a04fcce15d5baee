/*
 * cmd_trust.c - certificates and keys: cert issue | install | show |
 * revoke, rotate, and repair-fork (a forked key's diverged ops signed again
 * by its successor).
 *
 * Certificates live in the logs (crdt/trust.h): `cert install` writes the
 * node's chain as its own op, `cert revoke` writes a revocation into the
 * issuer's log.  A chain file, as `cert issue` writes it, is the msgpack
 * chain of docs/FORMAT.md ("Certificates"): the subject's certificate
 * first, then its issuer's chain.
 */
#include "tools/linli/cli.h"
#include "tools/linli/json.h"

#include "crdt/hlc.h"
#include "crdt/trust.h"
#include "node/keyfile.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_CHAIN_FILE_MAX (64u << 10)
#define S_DAY_MS (24ull * 3600 * 1000)

int
cli_pubkey(const char *arg, uint8_t pk[LINLI_PK_BYTES], lerr *e)
{
  if (strlen(arg) == 2 * LINLI_PK_BYTES && hex_decode(pk, LINLI_PK_BYTES, arg) == 0)
    return 0;
  uint8_t *buf = NULL;
  size_t n = 0;
  int rc = cli_file_read(arg, KEYFILE_PUB_MAX, &buf, &n, e);
  if (rc == 0)
    rc = keyfile_parse_pub(arg, buf, n, pk, e);
  free(buf);
  if (rc == LINLI_EINVAL || rc == LINLI_EIO) /* not a plain file, unreadable: its own message */
    return rc;
  if (rc)
    return lerr_set(e, rc, "'%.80s' is neither 64 hex digits nor a public key file", arg);
  return 0;
}

static const char *
s_date(char *buf, size_t n, uint64_t ms)
{
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  if (ms / 1000 > (uint64_t)253402300799ull || gmtime_r(&t, &tm) == NULL)
    snprintf(buf, n, "never");
  else
    strftime(buf, n, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

static void
s_chain_text(const lchain *ch)
{
  char hex[2 * LINLI_PK_BYTES + 1], iss[LINLI_SHORT_ID_LEN + 1], a[40], b[40];
  for (uint32_t i = 0; i < ch->n; i++) {
    const lcert *c = &ch->c[i];
    hex_encode(hex, c->subject, LINLI_PK_BYTES);
    ident_short(iss, c->issuer);
    printf("  %u. ", i + 1);
    cli_text(stdout, c->name, strlen(c->name));
    printf("  %s  prefix '", trust_role_name(c->role));
    cli_text(stdout, c->prefix, strlen(c->prefix));
    printf("'\n     key %s\n     issued by %s%s, valid %s .. %s\n", hex, iss,
           i + 1 == ch->n ? " (the trust root)" : "", s_date(a, sizeof a, c->not_before),
           s_date(b, sizeof b, c->not_after));
  }
}

static void
s_chain_json(jw *w, const lchain *ch)
{
  jw_arr_begin(w);
  for (uint32_t i = 0; i < ch->n; i++) {
    const lcert *c = &ch->c[i];
    jw_obj_begin(w);
    jw_key(w, "subject");
    jw_hex(w, c->subject, LINLI_PK_BYTES);
    jw_key(w, "name");
    jw_str(w, c->name);
    jw_key(w, "role");
    jw_str(w, trust_role_name(c->role));
    jw_key(w, "issuer");
    jw_hex(w, c->issuer, LINLI_PK_BYTES);
    jw_key(w, "prefix");
    jw_str(w, c->prefix);
    jw_key(w, "not_before");
    jw_uint(w, c->not_before);
    jw_key(w, "not_after");
    jw_uint(w, c->not_after);
    jw_obj_end(w);
  }
  jw_arr_end(w);
}

static int
s_read_chain(const char *path, lchain *ch, lerr *e)
{
  uint8_t *buf;
  size_t n;
  int rc = cli_file_read(path, S_CHAIN_FILE_MAX, &buf, &n, e);
  if (rc)
    return rc;
  rc = chain_decode(ch, buf, n, e);
  free(buf);
  if (rc)
    return lerr_wrap(e, rc, "%s: ", path);
  return 0;
}

/* ---- cert issue ---- */

static int
s_cert_issue(cli *c, lstore *s)
{
  lerr e = {0};
  lident id;
  lchain *ch = NULL;
  int rc = CLI_OK;
  memset(&id, 0, sizeof id);
  if (c->subject == NULL || c->name == NULL || c->role == NULL || c->out == NULL)
    return cli_usage(c, "cert issue needs --subject, --name, --role and -o");
  const uint8_t *root = lstore_root(s);
  if (root == NULL)
    return cli_fail("this store has no trust root (linli init --root); it cannot issue "
                    "certificates");
  if ((ch = calloc(1, sizeof *ch)) == NULL)
    return cli_fail("out of memory");
  lcert *cert = &ch->c[0];
  if (cli_pubkey(c->subject, cert->subject, &e) != 0) {
    rc = cli_usage(c, "--subject: %s", e.msg);
    goto done;
  }
  int role = trust_role_parse(c->role);
  if (role < 0) {
    rc = cli_usage(c, "--role must be district, street, village, clerk, assessor, auditor or "
                      "admin");
    goto done;
  }
  cert->role = (uint8_t)role;
  if (strlen(c->name) > TRUST_NAME_MAX) {
    rc = cli_usage(c, "--name must be at most %d bytes", TRUST_NAME_MAX);
    goto done;
  }
  strcpy(cert->name, c->name);
  const char *pre = c->prefix ? c->prefix : "";
  if (strlen(pre) > LINLI_KEY_MAX) {
    rc = cli_usage(c, "--prefix is too long");
    goto done;
  }
  strcpy(cert->prefix, pre);
  char *end;
  unsigned long long days = 730;
  if (c->days != NULL) {
    days = strtoull(c->days, &end, 10);
    if (*c->days == '\0' || *end != '\0' || days == 0 || days > 36500) {
      rc = cli_usage(c, "--days must be a whole number from 1 to 36500");
      goto done;
    }
  }
  /* A day of slack before now: a station whose clock runs slow must not
   * find its new certificate "not yet valid". */
  uint64_t now = cli_wall_ms();
  cert->not_before = now > S_DAY_MS ? now - S_DAY_MS : 0;
  cert->not_after = now + days * S_DAY_MS;
  if (cert_check(cert, &e) != 0) {
    rc = cli_fail_e(&e);
    goto done;
  }
  if ((rc = cli_identity(s, &id)) != CLI_OK)
    goto done;
  if (lstore_issue_chain(s, &id, cert, ch, &e) != 0) {
    rc = cli_fail_e(&e);
    goto done;
  }
  lbuf b;
  lbuf_init(&b);
  chain_encode(&b, ch);
  if (b.oom || cli_file_write(c->out, b.p, b.len, 0644, &e) != 0)
    rc = b.oom ? cli_fail("out of memory") : cli_fail_e(&e);
  lbuf_free(&b);
  if (rc != CLI_OK)
    goto done;
  if (c->json) {
    jw w;
    jw_init(&w, stdout);
    jw_obj_begin(&w);
    jw_key(&w, "file");
    jw_str(&w, c->out);
    jw_key(&w, "chain");
    s_chain_json(&w, ch);
    jw_obj_end(&w);
    jw_finish(&w);
  } else {
    printf("wrote %s: certificate chain of %u\n", c->out, ch->n);
    s_chain_text(ch);
  }
done:
  ident_wipe(&id);
  free(ch);
  return rc;
}

/* ---- cert install ---- */

static int
s_cert_install(cli *c, lstore *s, const char *path)
{
  lerr e = {0};
  lident id;
  lchain *ch = malloc(sizeof *ch);
  int rc = CLI_OK;
  memset(&id, 0, sizeof id);
  if (ch == NULL)
    return cli_fail("out of memory");
  const uint8_t *root = lstore_root(s);
  if (root == NULL) {
    rc = cli_fail("this store has no trust root: create it with linli init --root KEY");
    goto done;
  }
  if (s_read_chain(path, ch, &e) != 0 || chain_verify(ch, root, lstore_self(s), &e) != 0 ||
      chain_valid_at(ch, cli_wall_ms(), &e) != 0) {
    rc = cli_fail_e(&e);
    goto done;
  }
  if ((rc = cli_identity(s, &id)) != CLI_OK)
    goto done;
  if (lstore_write_chain(s, &id, ch, cli_wall_ms(), &e) != 0) {
    rc = cli_fail_e(&e);
    goto done;
  }
  if (c->json) {
    jw w;
    jw_init(&w, stdout);
    jw_obj_begin(&w);
    jw_key(&w, "installed");
    jw_str(&w, path);
    jw_key(&w, "chain");
    s_chain_json(&w, ch);
    jw_obj_end(&w);
    jw_finish(&w);
  } else {
    printf("installed the certificate of ");
    cli_text(stdout, ch->c[0].name, strlen(ch->c[0].name));
    printf(" (%s, prefix '%s')\n", trust_role_name(ch->c[0].role), ch->c[0].prefix);
  }
done:
  ident_wipe(&id);
  free(ch);
  return rc;
}

/* ---- cert show ---- */

static int
s_cert_show(cli *c, lstore *s, const char *path)
{
  lerr e = {0};
  ltrust_state *st = calloc(1, sizeof *st);
  int rc = CLI_OK;
  uint8_t who[LINLI_PK_BYTES];
  uint8_t root[LINLI_PK_BYTES];
  bool have_root = false;
  char verdict[400] = "";
  if (st == NULL)
    return cli_fail("out of memory");
  trust_state_init(st);
  if (c->root != NULL) {
    if (cli_pubkey(c->root, root, &e) != 0) {
      rc = cli_usage(c, "--root: %s", e.msg);
      goto done;
    }
    have_root = true;
  } else if (s != NULL && lstore_root(s) != NULL) {
    memcpy(root, lstore_root(s), LINLI_PK_BYTES);
    have_root = true;
  }
  if (path != NULL) {
    if (s_read_chain(path, &st->chain, &e) != 0) {
      rc = cli_fail_e(&e);
      goto done;
    }
    st->certified = true;
    memcpy(who, st->chain.c[0].subject, LINLI_PK_BYTES);
  } else {
    if (c->subject != NULL) {
      if (cli_pubkey(c->subject, who, &e) != 0) {
        rc = cli_usage(c, "--subject: %s", e.msg);
        goto done;
      }
    } else {
      memcpy(who, lstore_self(s), LINLI_PK_BYTES);
    }
    if (lstore_trust(s, who, st, &e) != 0) {
      rc = cli_fail_e(&e);
      goto done;
    }
  }
  bool ok = false;
  if (!have_root)
    snprintf(verdict, sizeof verdict, "not checked: no trust root (give --root KEY)");
  else if (have_root && memcmp(who, root, LINLI_PK_BYTES) == 0 && !st->certified)
    ok = true, snprintf(verdict, sizeof verdict, "this is the trust root itself");
  else if (!st->certified)
    snprintf(verdict, sizeof verdict, "no certificate held for this key");
  else if (chain_verify(&st->chain, root, who, &e) != 0)
    snprintf(verdict, sizeof verdict, "INVALID: %s", e.msg);
  else if (chain_valid_at(&st->chain, cli_wall_ms(), &e) != 0)
    snprintf(verdict, sizeof verdict, "not valid now: %s", e.msg);
  else
    ok = true, snprintf(verdict, sizeof verdict, "valid, chains to the trust root");
  const ltrust_rev *rv = have_root ? trust_revocation(st) : NULL;
  char hex[2 * LINLI_PK_BYTES + 1];
  hex_encode(hex, who, LINLI_PK_BYTES);
  if (c->json) {
    jw w;
    jw_init(&w, stdout);
    jw_obj_begin(&w);
    jw_key(&w, "key");
    jw_str(&w, hex);
    jw_key(&w, "ok");
    jw_bool(&w, ok && rv == NULL && !st->forked);
    jw_key(&w, "verdict");
    jw_str(&w, verdict);
    jw_key(&w, "chain");
    if (st->certified)
      s_chain_json(&w, &st->chain);
    else
      jw_null(&w);
    jw_key(&w, "revoked_after_seq");
    if (rv)
      jw_uint(&w, rv->rv.seq);
    else
      jw_null(&w);
    jw_key(&w, "forked_at_seq");
    if (st->forked)
      jw_uint(&w, st->fork_seq);
    else
      jw_null(&w);
    jw_key(&w, "blocked");
    if (st->blocked_at != UINT64_MAX)
      jw_str(&w, st->why);
    else
      jw_null(&w);
    jw_obj_end(&w);
    jw_finish(&w);
  } else {
    printf("key %s\n", hex);
    if (st->certified)
      s_chain_text(&st->chain);
    printf("certificate: %s\n", verdict);
    if (rv)
      printf("revoked: ops after seq %llu are refused (%s)\n", (unsigned long long)rv->rv.seq,
             rv->rv.reason[0] ? rv->rv.reason : "no reason given");
    if (st->forked)
      printf("forked: two signed histories at seq %llu; new ops refused\n",
             (unsigned long long)st->fork_seq);
    if (st->blocked_at != UINT64_MAX)
      printf("refused from seq %llu: %s\n", (unsigned long long)st->blocked_at, st->why);
  }
done:
  free(st);
  return rc;
}

/* ---- cert revoke ---- */

static int
s_cert_revoke(cli *c, lstore *s)
{
  lerr e = {0};
  lident id;
  lrevoke rv;
  int rc = CLI_OK;
  memset(&id, 0, sizeof id);
  memset(&rv, 0, sizeof rv);
  if (c->subject == NULL)
    return cli_usage(c, "cert revoke needs --subject KEY");
  if (cli_pubkey(c->subject, rv.subject, &e) != 0)
    return cli_usage(c, "--subject: %s", e.msg);
  if (memcmp(rv.subject, lstore_self(s), LINLI_PK_BYTES) == 0)
    return cli_usage(c, "a key cannot revoke itself: its issuer, or the root, revokes it "
                        "(to move to a new key, see linli rotate)");
  if (c->reason != NULL) {
    if (strlen(c->reason) > TRUST_REASON_MAX || !utf8_valid(c->reason, strlen(c->reason)))
      return cli_usage(c, "--reason must be at most %d bytes of UTF-8", TRUST_REASON_MAX);
    strcpy(rv.reason, c->reason);
  }
  lhead h;
  int hr = lstore_head(s, rv.subject, &h, &e);
  if (hr != 0 && hr != LINLI_ENOTFOUND)
    return cli_fail_e(&e);
  uint64_t seq = hr == 0 ? h.seq : 0;
  if (c->seq != NULL) {
    char *end;
    seq = strtoull(c->seq, &end, 10);
    if (*c->seq == '\0' || *end != '\0')
      return cli_usage(c, "--seq must be a whole number");
    if (hr != 0 && seq != 0)
      return cli_fail("this node holds nothing of that key: only --seq 0 (everything) can be "
                      "revoked from here");
    if (hr == 0 && seq > h.seq)
      return cli_fail("this node holds that key's log up to seq %llu only",
                      (unsigned long long)h.seq);
  }
  rv.seq = seq;
  if ((rc = cli_identity(s, &id)) != CLI_OK)
    goto done;
  if (lstore_write_revocation(s, &id, &rv, cli_wall_ms(), &e) != 0) {
    rc = cli_fail_e(&e);
    goto done;
  }
  char who[LINLI_SHORT_ID_LEN + 1];
  ident_short(who, rv.subject);
  if (c->json) {
    jw w;
    jw_init(&w, stdout);
    jw_obj_begin(&w);
    jw_key(&w, "revoked");
    jw_hex(&w, rv.subject, LINLI_PK_BYTES);
    jw_key(&w, "after_seq");
    jw_uint(&w, rv.seq);
    jw_key(&w, "reason");
    jw_str(&w, rv.reason);
    jw_obj_end(&w);
    jw_finish(&w);
  } else {
    printf("revoked %s: its ops after seq %llu are refused everywhere the revocation reaches\n",
           who, (unsigned long long)rv.seq);
  }
done:
  ident_wipe(&id);
  return rc;
}

int
cmd_cert(cli *c)
{
  const char *sub = c->argv[0];
  lstore *s = NULL;
  int rc;
  bool show_file = strcmp(sub, "show") == 0 && c->argc == 2;
  if (strcmp(sub, "issue") != 0 && strcmp(sub, "install") != 0 && strcmp(sub, "show") != 0 &&
      strcmp(sub, "revoke") != 0)
    return cli_usage(c, "unknown cert command '%.40s' (issue, install, show, revoke)", sub);
  if (strcmp(sub, "install") == 0 ? c->argc != 2 : (c->argc != 1 && !show_file))
    return cli_usage(c, "usage: linli cert issue|install FILE|show [FILE]|revoke");
  /* Showing a chain file needs no store: the trust root to check it
   * against comes from --root, or from the data directory if there is
   * one. */
  if (show_file && (c->root != NULL || (cli_shared_store() == NULL && !lstore_exists(c->dir))))
    return s_cert_show(c, NULL, c->argv[1]);
  /* issue and show only read the store (a full disk does not stop them) */
  bool reads = strcmp(sub, "issue") == 0 || strcmp(sub, "show") == 0;
  if ((rc = reads ? cli_open_read(c, &s) : cli_open(c, &s)) != CLI_OK)
    return rc;
  if (strcmp(sub, "issue") == 0)
    rc = s_cert_issue(c, s);
  else if (strcmp(sub, "install") == 0)
    rc = s_cert_install(c, s, c->argv[1]);
  else if (strcmp(sub, "show") == 0)
    rc = s_cert_show(c, s, show_file ? c->argv[1] : NULL);
  else
    rc = s_cert_revoke(c, s);
  cli_close(&s);
  return rc;
}

/* ---- rotate and repair-fork ---- */

/* The key file `key` and its certificate chain in the file `chain`,
 * checked against the store's root and valid now. */
static int
s_next_key(lstore *s, const char *key, const char *chain, lident *id, lchain *ch, lerr *e)
{
  int rc;
  if (lstore_root(s) == NULL)
    return lerr_set(e, LINLI_EINVAL,
                    "this store has no trust root: keys are rotated under certificates");
  if ((rc = keyfile_read(key, id, e)) == 0 && (rc = s_read_chain(chain, ch, e)) == 0 &&
      (rc = chain_verify(ch, lstore_root(s), id->pk, e)) == 0)
    rc = chain_valid_at(ch, cli_wall_ms(), e);
  return rc;
}

int
cli_rotate(lstore *s, const char *key, const char *chain, uint8_t next[LINLI_PK_BYTES], lerr *e)
{
  lident id;
  lchain *ch = malloc(sizeof *ch);
  int rc;
  memset(&id, 0, sizeof id);
  if (ch == NULL)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  if ((rc = s_next_key(s, key, chain, &id, ch, e)) == 0 && (rc = lstore_rotate(s, key, e)) == 0)
    rc = lstore_write_chain(s, &id, ch, cli_wall_ms(), e);
  memcpy(next, id.pk, LINLI_PK_BYTES);
  ident_wipe(&id);
  free(ch);
  return rc;
}

int
cmd_rotate(cli *c)
{
  lerr e = {0};
  lstore *s = NULL;
  int rc = CLI_OK;
  uint8_t old[LINLI_PK_BYTES], next[LINLI_PK_BYTES];
  if (cli_daemon != NULL)
    return cli_fail("stop linli-node before rotating its key (its connections use the key)");
  if (c->key == NULL)
    return cli_usage(c, "--key NEXT_KEY is required");
  if ((rc = cli_open(c, &s)) != CLI_OK)
    goto done;
  memcpy(old, lstore_self(s), LINLI_PK_BYTES);
  if (cli_rotate(s, c->key, c->argv[0], next, &e) != 0) {
    rc = cli_fail_e(&e);
    goto done;
  }
  char a[LINLI_SHORT_ID_LEN + 1], b[LINLI_SHORT_ID_LEN + 1];
  ident_short(a, old);
  ident_short(b, next);
  if (c->json) {
    jw w;
    jw_init(&w, stdout);
    jw_obj_begin(&w);
    jw_key(&w, "old");
    jw_hex(&w, old, LINLI_PK_BYTES);
    jw_key(&w, "new");
    jw_hex(&w, next, LINLI_PK_BYTES);
    jw_obj_end(&w);
    jw_finish(&w);
  } else {
    printf("this node now signs as %s; the log of %s stays as it is (retired key kept as "
           "node.key.retired-%s)\n"
           "next: the issuer revokes %s at its last seq (linli cert revoke --subject ... "
           "--reason rotated), and the parent admits the new key\n",
           b, a, a, a);
  }
done:
  cli_close(&s);
  return rc;
}

/* The ops re-signed, as repair-fork lists them. */
typedef struct resigned {
  uint64_t old_seq, seq;
  char *key, *field;
  uint8_t kind;
} resigned;

typedef struct resign_list {
  resigned *v;
  size_t n, cap;
} resign_list;

static int
s_resigned(void *ctx, uint64_t old_seq, const op *o)
{
  resign_list *l = ctx;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 64;
    resigned *nv = realloc(l->v, cap * sizeof *nv);
    if (nv == NULL)
      return LINLI_ENOMEM;
    l->v = nv;
    l->cap = cap;
  }
  resigned *r = &l->v[l->n];
  r->old_seq = old_seq;
  r->seq = o->seq;
  r->kind = o->kind;
  r->key = strndup(o->key, o->key_len);
  r->field = strndup(o->field != NULL ? o->field : "", o->field != NULL ? o->field_len : 0);
  if (r->key == NULL || r->field == NULL) {
    free(r->key);
    free(r->field);
    return LINLI_ENOMEM;
  }
  l->n++;
  return 0;
}

static int
s_str_cmp(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The records re-signed, each once, in key order, on one line. */
static void
s_print_records(const resign_list *l)
{
  char **k = malloc((l->n ? l->n : 1) * sizeof *k);
  if (k == NULL)
    return;
  for (size_t i = 0; i < l->n; i++)
    k[i] = l->v[i].key;
  qsort(k, l->n, sizeof *k, s_str_cmp);
  size_t nrec = 0;
  for (size_t i = 0; i < l->n; i++)
    nrec += i == 0 || strcmp(k[i], k[i - 1]) != 0;
  printf("records (%zu):", nrec);
  for (size_t i = 0; i < l->n; i++)
    if (i == 0 || strcmp(k[i], k[i - 1]) != 0)
      printf(" %s", k[i]);
  printf("\n");
  free(k);
}

int
cmd_repair_fork(cli *c)
{
  lerr e = {0};
  lstore *s = NULL;
  lident id;
  lchain *ch = malloc(sizeof *ch);
  resign_list l = {0};
  int rc = CLI_OK;
  char a[LINLI_SHORT_ID_LEN + 1], b[LINLI_SHORT_ID_LEN + 1];
  memset(&id, 0, sizeof id);
  if (ch == NULL)
    return cli_fail("out of memory");
  uint64_t first = 0;
  if (c->from != NULL) {
    char *end;
    first = strtoull(c->from, &end, 10);
    if (*c->from == '\0' || *end != '\0' || first < 2) {
      rc = cli_usage(c, "--from must be a seq of 2 or more");
      goto done;
    }
  }
  if (cli_daemon != NULL) {
    rc = cli_fail("stop linli-node before repairing the fork (its connections use the key)");
    goto done;
  }
  if (c->key == NULL) {
    rc = cli_usage(c, "--key NEXT_KEY is required");
    goto done;
  }
  if ((rc = cli_open(c, &s)) != CLI_OK)
    goto done;
  const uint8_t *self = lstore_self(s);
  ident_short(a, self);
  lforkfix fx;
  bool begun = lstore_forkfix_get(s, self, &fx, NULL) == 0;
  if (begun && memcmp(fx.next, self, LINLI_PK_BYTES) == 0) {
    ident_short(b, fx.old);
    rc = cli_fail("this node's fork was repaired already: the %llu ops of %s from seq %llu on "
                  "are signed by %s, this node's key; nothing to do",
                  (unsigned long long)fx.count, b, (unsigned long long)fx.first, a);
    goto done;
  }
  if (s_next_key(s, c->key, c->argv[0], &id, ch, &e) != 0) {
    rc = cli_fail_e(&e);
    goto done;
  }
  char ns[LINLI_KEY_MAX + 1];
  if (lstore_namespace(s, ns, &e) != 0) {
    rc = cli_fail_e(&e);
    goto done;
  }
  if (strcmp(ns, ch->c[0].prefix) != 0) {
    rc = cli_fail("%s certifies the new key for \"%s\", this station writes \"%s\": have the "
                  "parent certify it for \"%s\" (linli cert issue --prefix)",
                  c->argv[0], ch->c[0].prefix, ns, ns);
    goto done;
  }
  ltrust_state ts;
  if (lstore_trust(s, self, &ts, &e) != 0) {
    rc = cli_fail_e(&e);
    goto done;
  }
  if (begun) /* interrupted: lstore_fork_repair finishes it */
    first = fx.first;
  if (!ts.forked && first == 0) {
    rc = cli_fail("no fork of this node's key %s is known here (linli status lists forks): "
                  "nothing to repair; if the parent shows one, give --from SEQ",
                  a);
    goto done;
  }
  if (first == 0 && lstore_fork_first(s, self, &first, &e) != 0) {
    rc = cli_fail_e(&e);
    goto done;
  }
  if (lstore_fork_repair(s, c->key, ch, first, cli_wall_ms(), s_resigned, &l, &fx, &e) != 0) {
    rc = cli_fail_e(&e);
    goto done;
  }
  ident_short(b, fx.next);
  if (c->json) {
    jw w;
    jw_init(&w, stdout);
    jw_obj_begin(&w);
    jw_key(&w, "old");
    jw_hex(&w, fx.old, LINLI_PK_BYTES);
    jw_key(&w, "new");
    jw_hex(&w, fx.next, LINLI_PK_BYTES);
    jw_key(&w, "from_seq");
    jw_uint(&w, fx.first);
    jw_key(&w, "count");
    jw_uint(&w, fx.count);
    jw_key(&w, "ops");
    jw_arr_begin(&w);
    for (size_t i = 0; i < l.n; i++) {
      jw_obj_begin(&w);
      jw_key(&w, "old_seq");
      jw_uint(&w, l.v[i].old_seq);
      jw_key(&w, "seq");
      jw_uint(&w, l.v[i].seq);
      jw_key(&w, "key");
      jw_str(&w, l.v[i].key);
      jw_key(&w, "op");
      jw_str(&w, op_kind_name(l.v[i].kind));
      jw_key(&w, "field");
      jw_str(&w, l.v[i].field);
      jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
    jw_finish(&w);
  } else {
    if (l.n > 0) {
      printf("signed again by %s: %llu ops of %s (seq %llu to %llu) as seq 2 to %llu\n", b,
             (unsigned long long)fx.count, a, (unsigned long long)fx.first,
             (unsigned long long)(fx.first + fx.count - 1), (unsigned long long)(fx.count + 1));
      s_print_records(&l);
    } else {
      printf("finished an interrupted repair: %llu ops of %s from seq %llu on are signed by %s\n",
             (unsigned long long)fx.count, a, (unsigned long long)fx.first, b);
    }
    printf("this node now signs as %s (the old key kept as node.key.retired-%s)\n"
           "next: the parent puts %s in place of %s in its child line and reloads "
           "(SIGHUP); then start linli-node\n",
           b, a, b, a);
  }
done:
  for (size_t i = 0; i < l.n; i++) {
    free(l.v[i].key);
    free(l.v[i].field);
  }
  free(l.v);
  ident_wipe(&id);
  free(ch);
  cli_close(&s);
  return rc;
}
