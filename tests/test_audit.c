#define _GNU_SOURCE /* memmem */
/* test_audit.c - `linli audit` against tampering at every layer, and
 * against logs that break the trust rules, with the exact location of
 * each problem.
 *
 * A district (the trust root), a street and a village are set up through
 * the CLI and exchange bundles, so the district holds all three logs.  The
 * tests then build bundles from the district's stored deltas, alter them
 * byte by byte or add deltas a dishonest key signed, and run the audit. */
#include "crdt/hlc.h"
#include "crdt/trust.h"
#include "node/keyfile.h"
#include "node/store.h"
#include "node/users.h"
#include "sync/bundle.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char *dir;
static char out[1 << 16];
static char path_d[4200], path_s[4200], path_v[4200], roothex[65];

/* Runs `linli ARGS...` (the program built beside this test); its stdout
 * and stderr go to `out`, its exit status is returned. */
static int
s_cli(const char *first, ...)
{
  char *argv[32];
  int argc = 0;
  argv[argc++] = LINLI_BINARY_DIR "/linli";
  va_list ap;
  va_start(ap, first);
  for (const char *a = first; a != NULL && argc < 31; a = va_arg(ap, const char *))
    argv[argc++] = (char *)a;
  va_end(ap);
  argv[argc] = NULL;
  char cap[4300];
  snprintf(cap, sizeof cap, "%s/cli.out", dir);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    int fd = open(cap, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
      _exit(127);
    execv(argv[0], argv);
    _exit(127);
  }
  int status = 0;
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  cr_assert(WIFEXITED(status), "linli died: %s", argv[1]);
  size_t n = 0;
  uint8_t *p = tu_read_file(cap, &n);
  if (n >= sizeof out)
    n = sizeof out - 1;
  memcpy(out, p ? (char *)p : "", n);
  out[n] = 0;
  free(p);
  cr_assert_neq(WEXITSTATUS(status), 127, "cannot run %s", argv[0]);
  return WEXITSTATUS(status);
}

static void
s_must(int rc)
{
  cr_assert_eq(rc, 0, "linli failed: %s", out);
}

static void
s_path(char *buf, const char *name)
{
  snprintf(buf, 4200, "%s/%s", dir, name);
}

static void
s_up(const char *from, const char *to)
{
  char sum[4200], bun[4200];
  s_path(sum, "up.summary");
  s_path(bun, "up.bundle");
  s_must(s_cli("-d", to, "summary", "-o", sum, NULL));
  s_must(s_cli("-d", from, "export", "--for", sum, "-o", bun, "--force", NULL));
  s_must(s_cli("-d", to, "import", bun, NULL));
}

static void
setup(void)
{
  cr_assert_eq(linli_crypto_init(), 0);
  dir = tu_tmpdir("audit");
  s_path(path_d, "D");
  s_path(path_s, "S");
  s_path(path_v, "V");
  char chain[4200], pub[4300];
  s_must(s_cli("-d", path_d, "init", "--name", "district", "--root", "self", NULL));
  snprintf(pub, sizeof pub, "%s/node.key.pub", path_d);
  uint8_t root[LINLI_PK_BYTES];
  cr_assert_eq(keyfile_read_pub(pub, root, NULL), 0);
  hex_encode(roothex, root, LINLI_PK_BYTES);
  s_must(s_cli("-d", path_s, "init", "--name", "jinchang", "--root", roothex, NULL));
  s_must(s_cli("-d", path_v, "init", "--name", "v12", "--root", roothex, NULL));
  s_path(chain, "s.chain");
  snprintf(pub, sizeof pub, "%s/node.key.pub", path_s);
  s_must(s_cli("-d", path_d, "cert", "issue", "--subject", pub, "--name", "jinchang", "--role",
               "street", "--prefix", "gusu/jinchang/", "-o", chain, NULL));
  s_must(s_cli("-d", path_s, "cert", "install", chain, NULL));
  s_path(chain, "v.chain");
  snprintf(pub, sizeof pub, "%s/node.key.pub", path_v);
  s_must(s_cli("-d", path_s, "cert", "issue", "--subject", pub, "--name", "v12", "--role",
               "village", "--prefix", "gusu/jinchang/v12/", "-o", chain, NULL));
  s_must(s_cli("-d", path_v, "cert", "install", chain, NULL));
  s_must(s_cli("-d", path_v, "put", "gusu/jinchang/v12/hh/1", "name=TAMPERME", NULL));
  s_must(s_cli("-d", path_v, "put", "gusu/jinchang/v12/hh/2", "name=second", NULL));
  s_must(s_cli("-d", path_d, "put", "notices/1", "title=NOTICE-ONE", NULL));
  s_must(s_cli("-d", path_d, "put", "notices/2", "title=NOTICE-TWO", NULL));
  s_must(s_cli("-d", path_d, "put", "notices/3", "title=NOTICE-THREE", NULL));
  s_up(path_v, path_s);
  s_up(path_s, path_d);
}

static void
teardown(void)
{
  tu_rmtree(dir);
  free(dir);
}

TestSuite(audit, .init = setup, .fini = teardown);

/* ---- the district's stored deltas, as a list to build bundles from ---- */

typedef struct rows {
  uint8_t *p[64];
  size_t n[64];
  uint32_t count;
} rows;

static int
s_row(void *ctx, const uint8_t *p, size_t n)
{
  rows *r = ctx;
  cr_assert_lt(r->count, 64);
  r->p[r->count] = malloc(n);
  memcpy(r->p[r->count], p, n);
  r->n[r->count++] = n;
  return 0;
}

static void
s_rows(rows *r)
{
  lstore *s;
  lerr e = {0};
  memset(r, 0, sizeof *r);
  cr_assert_eq(lstore_open(&s, path_d, NULL, &e), 0, "%s", e.msg);
  cr_assert_eq(lstore_log_scan(s, s_row, r, &e), 0, "%s", e.msg);
  lstore_close(&s);
}

static void
s_rows_free(rows *r)
{
  for (uint32_t i = 0; i < r->count; i++)
    free(r->p[i]);
}

/* The rows of `author` (by short id match on the first bytes). */
static int
s_find(const rows *r, const uint8_t *author, uint64_t seq)
{
  for (uint32_t i = 0; i < r->count; i++) {
    uint8_t a[LINLI_PK_BYTES];
    uint64_t f, l;
    cr_assert_eq(delta_peek(r->p[i], r->n[i], a, &f, &l), 0);
    if (memcmp(a, author, LINLI_PK_BYTES) == 0 && f <= seq && seq <= l)
      return (int)i;
  }
  return -1;
}

static void
s_ident(const char *node, lident *id)
{
  char k[4300];
  snprintf(k, sizeof k, "%s/node.key", node);
  cr_assert_eq(keyfile_read(k, id, NULL), 0);
}

/* Writes a bundle of rows[order[0..n)] plus `extra` deltas, exported by the
 * district; returns its path. */
static const char *
s_bundle(const rows *r, const int *order, int n, const lbuf *extra, int nextra)
{
  static char path[4200];
  s_path(path, "t.bundle");
  lident d;
  s_ident(path_d, &d);
  bundle_writer w;
  lbuf b;
  lbuf_init(&b);
  bundle_write_begin(&w, &b, d.pk, 1, NULL);
  for (int i = 0; i < n; i++)
    bundle_write_delta(&w, &b, r->p[order[i]], r->n[order[i]]);
  for (int i = 0; i < nextra; i++)
    bundle_write_delta(&w, &b, extra[i].p, extra[i].len);
  bundle_write_end(&w, &b, &d);
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f);
  fwrite(b.p, 1, b.len, f);
  fclose(f);
  lbuf_free(&b);
  ident_wipe(&d);
  return path;
}

static int *
s_all(const rows *r)
{
  static int order[64];
  for (uint32_t i = 0; i < r->count; i++)
    order[i] = (int)i;
  return order;
}

static const char *
s_short(const uint8_t *pk)
{
  static char buf[4][LINLI_SHORT_ID_LEN + 1];
  static int k;
  k = (k + 1) % 4;
  ident_short(buf[k], pk);
  return buf[k];
}

/* `linli audit FILE --root` must fail and report `want` (a substring). */
static void
s_audit_fails(const char *file, const char *want)
{
  int rc = s_cli("audit", file, "--root", roothex, NULL);
  cr_assert_eq(rc, 1, "audit passed a tampered input:\n%s", out);
  cr_assert(strstr(out, want) != NULL, "audit does not say '%s':\n%s", want, out);
}

static uint8_t *
s_memmem(uint8_t *p, size_t n, const char *s)
{
  return memmem(p, n, s, strlen(s));
}

static int s_same_verdict(const char *file, int k);

/* ---- the untouched export passes ---- */

Test(audit, three_tier_export_passes)
{
  char full[4200];
  s_path(full, "full.bundle");
  s_must(s_cli("-d", path_d, "export", "-o", full, NULL));
  s_must(s_cli("audit", full, "--root", roothex, NULL));
  cr_assert(strstr(out, "ok: ") != NULL, "%s", out);
  cr_assert(strstr(out, "v12") != NULL && strstr(out, "jinchang") != NULL, "%s", out);
  s_must(s_cli("-d", path_d, "audit", "--root", roothex, "--json", NULL));
  cr_assert(strstr(out, "\"ok\":true") != NULL, "%s", out);
  cr_assert(strstr(out, "\"problem_count\":0") != NULL, "%s", out);
  /* the stored rows as a bundle pass too: the baseline for the tampering */
  rows r;
  s_rows(&r);
  s_must(s_cli("audit", s_bundle(&r, s_all(&r), (int)r.count, NULL, 0), "--root", roothex, NULL));
  s_rows_free(&r);
}

/* ---- tampering ---- */

Test(audit, byte_flipped_in_an_op)
{
  rows r;
  s_rows(&r);
  uint8_t root[LINLI_PK_BYTES];
  hex_decode(root, sizeof root, roothex);
  int k = s_find(&r, root, 2);
  cr_assert_geq(k, 0);
  uint8_t *hit = s_memmem(r.p[k], r.n[k], "NOTICE-TWO");
  cr_assert_not_null(hit);
  hit[7] ^= 0x01; /* "NOTICE-TWO" -> "NOTICE.TWO": still valid UTF-8 */
  char want[200];
  snprintf(want, sizeof want, "author %s seq 2: signature does not verify", s_short(root));
  s_audit_fails(s_bundle(&r, s_all(&r), (int)r.count, NULL, 0), want);
  /* the next delta of that author still links: one problem, not a cascade */
  cr_assert(strstr(out, "1 problem") != NULL, "%s", out);
  s_rows_free(&r);
}

Test(audit, byte_flipped_in_a_signature)
{
  rows r;
  s_rows(&r);
  uint8_t root[LINLI_PK_BYTES];
  hex_decode(root, sizeof root, roothex);
  int k = s_find(&r, root, 3);
  r.p[k][r.n[k] - 5] ^= 0x40; /* the signature is the delta's last element */
  char want[200];
  snprintf(want, sizeof want, "author %s seq 3: signature does not verify", s_short(root));
  s_audit_fails(s_bundle(&r, s_all(&r), (int)r.count, NULL, 0), want);
  s_rows_free(&r);
}

Test(audit, byte_flipped_in_a_certificate)
{
  rows r;
  s_rows(&r);
  lident v;
  s_ident(path_v, &v);
  int k = s_find(&r, v.pk, 1);
  cr_assert_geq(k, 0);
  /* the village's certificate travels hex-encoded in its first op; "v12"
   * is its name inside the chain, i.e. "763132" in hex */
  uint8_t *hit = s_memmem(r.p[k], r.n[k], "763132");
  cr_assert_not_null(hit);
  hit[5] = '3'; /* "v12" -> "v13" */
  char want[200];
  snprintf(want, sizeof want, "author %s seq 1..", s_short(v.pk));
  s_audit_fails(s_bundle(&r, s_all(&r), (int)r.count, NULL, 0), want);
  cr_assert(strstr(out, "signature does not verify") != NULL, "%s", out);
  s_rows_free(&r);

  /* the village itself signs a log whose certificate it altered (a wider
   * prefix it gave itself): the signature is the village's, but the
   * street's signature over the certificate no longer holds */
  lchain ch;
  char chainfile[4200];
  s_path(chainfile, "v.chain");
  size_t n;
  uint8_t *raw = tu_read_file(chainfile, &n);
  cr_assert_eq(chain_decode(&ch, raw, n, NULL), 0);
  free(raw);
  strcpy(ch.c[0].prefix, "gusu/jinchang/");
  lbuf cb, hex, d;
  lbuf_init(&cb);
  lbuf_init(&hex);
  lbuf_init(&d);
  chain_encode(&cb, &ch);
  trust_hex(&hex, cb.p, cb.len);
  char key[96];
  size_t kl = trust_key(key, TRUST_CERT_PREFIX, v.pk);
  op o = {.seq = 1, .hlc = hlc_make(1790000000000ull, 0), .kind = OP_SET, .key = key,
          .key_len = (uint32_t)kl, .field = TRUST_CHAIN_FIELD, .field_len = 5,
          .str = (const char *)hex.p, .str_len = (uint32_t)hex.len};
  uint8_t prev[LINLI_HASH_BYTES] = {0}, head[LINLI_HASH_BYTES], sig[LINLI_SIG_BYTES];
  lbuf scratch;
  lbuf_init(&scratch);
  op_hash(head, prev, v.pk, &o, &scratch);
  head_sign(&v, 1, head, sig);
  delta_encode(&d, v.pk, 1, prev, &o, 1, sig);
  rows none = {0};
  snprintf(chainfile, sizeof chainfile, "author %s seq 1: certificate refused", s_short(v.pk));
  s_audit_fails(s_bundle(&none, NULL, 0, &d, 1), chainfile);
  cr_assert(strstr(out, "signature does not verify") != NULL, "%s", out);
  lbuf_free(&cb);
  lbuf_free(&hex);
  lbuf_free(&d);
  lbuf_free(&scratch);
  ident_wipe(&v);
}

Test(audit, deltas_reordered)
{
  rows r;
  s_rows(&r);
  uint8_t root[LINLI_PK_BYTES];
  hex_decode(root, sizeof root, roothex);
  int a = s_find(&r, root, 2), b = s_find(&r, root, 3);
  int *order = s_all(&r);
  order[a] = b;
  order[b] = a;
  char want[200];
  snprintf(want, sizeof want, "author %s seq 2: ops missing from the middle", s_short(root));
  s_audit_fails(s_bundle(&r, order, (int)r.count, NULL, 0), want);
  snprintf(want, sizeof want, "author %s seq 2: delta repeats seqs", s_short(root));
  cr_assert(strstr(out, want) != NULL, "%s", out);
  s_rows_free(&r);
}

Test(audit, op_dropped_from_the_middle)
{
  rows r;
  s_rows(&r);
  uint8_t root[LINLI_PK_BYTES];
  hex_decode(root, sizeof root, roothex);
  int drop = s_find(&r, root, 2);
  int order[64], n = 0;
  for (uint32_t i = 0; i < r.count; i++)
    if ((int)i != drop)
      order[n++] = (int)i;
  char want[200];
  snprintf(want, sizeof want, "author %s seq 2: ops missing from the middle of the chain",
           s_short(root));
  s_audit_fails(s_bundle(&r, order, n, NULL, 0), want);
  s_rows_free(&r);
}

Test(audit, bundle_truncated)
{
  char full[4200];
  s_path(full, "full.bundle");
  s_must(s_cli("-d", path_d, "export", "-o", full, NULL));
  size_t n;
  uint8_t *p = tu_read_file(full, &n);
  FILE *f = fopen(full, "wb");
  fwrite(p, 1, n - 40, f); /* into the trailer's signature */
  fclose(f);
  s_audit_fails(full, "bundle truncated or altered after author");
  f = fopen(full, "wb");
  fwrite(p, 1, n / 2, f); /* into a delta */
  fclose(f);
  s_audit_fails(full, "bundle truncated or altered");
  free(p);
}

/* ---- logs that break the trust rules ---- */

/* The next delta of `node`'s key as the district holds its log, one op
 * `o` (seq head+1, at time `ms`; 0: just after its head). */
/* The next op of `node`'s log as the district holds it, in a delta of its
 * own, at `ms` or else `step` HLC units after the op before it. */
/* The same for any key `v` (a person's). */
static void
s_next_delta_of(const lident *v, lbuf *out_delta, op *o, uint64_t ms, int64_t step,
                uint64_t *seq)
{
  lstore *s;
  lhead h;
  cr_assert_eq(lstore_open(&s, path_d, NULL, NULL), 0);
  cr_assert_eq(lstore_head(s, v->pk, &h, NULL), 0);
  lstore_close(&s);
  o->seq = h.seq + 1;
  o->hlc = ms ? hlc_make(ms, 0) : h.hlc + (uint64_t)step;
  uint8_t head[LINLI_HASH_BYTES], sig[LINLI_SIG_BYTES];
  lbuf scratch;
  lbuf_init(&scratch);
  op_hash(head, h.hash, v->pk, o, &scratch);
  head_sign(v, o->seq, head, sig);
  delta_encode(out_delta, v->pk, o->seq, h.hash, o, 1, sig);
  lbuf_free(&scratch);
  *seq = o->seq;
}

static void
s_next_delta_step(const char *node, lbuf *out_delta, op *o, uint64_t ms, int64_t step,
                  uint64_t *seq)
{
  lident v;
  s_ident(node, &v);
  s_next_delta_of(&v, out_delta, o, ms, step, seq);
  ident_wipe(&v);
}

static void
s_next_delta(const char *node, lbuf *out_delta, op *o, uint64_t ms, uint64_t *seq)
{
  s_next_delta_step(node, out_delta, o, ms, 1, seq);
}

static void
s_village_delta(lbuf *out_delta, op *o, uint64_t ms, uint64_t *seq)
{
  s_next_delta(path_v, out_delta, o, ms, seq);
}

/* A one-op delta of the village setting `key` name=`val`. */
static void
s_village_op(lbuf *out_delta, const char *key, const char *val, uint64_t ms, uint64_t *seq)
{
  op o = {.kind = OP_SET, .key = key, .key_len = (uint32_t)strlen(key), .field = "name",
          .field_len = 4, .str = val, .str_len = (uint32_t)strlen(val)};
  s_village_delta(out_delta, &o, ms, seq);
}

static void
s_vpk(uint8_t pk[LINLI_PK_BYTES])
{
  lident v;
  s_ident(path_v, &v);
  memcpy(pk, v.pk, LINLI_PK_BYTES);
  ident_wipe(&v);
}

Test(audit, out_of_namespace_and_expired)
{
  rows r;
  s_rows(&r);
  uint8_t vpk[LINLI_PK_BYTES];
  s_vpk(vpk);
  lbuf d;
  lbuf_init(&d);
  uint64_t seq;
  s_village_op(&d, "gusu/jinchang/v13/hh/1", "not mine", 0, &seq);
  char want[200];
  snprintf(want, sizeof want, "author %s seq %llu: author %s (v12) seq %llu: key "
           "gusu/jinchang/v13/hh/1 is outside its namespace",
           s_short(vpk), (unsigned long long)seq, s_short(vpk), (unsigned long long)seq);
  s_audit_fails(s_bundle(&r, s_all(&r), (int)r.count, &d, 1), want);
  /* the district refuses it too, and keeps serving: nothing changes */
  char f[4200];
  s_path(f, "ns.bundle");
  rename(s_bundle(&r, NULL, 0, &d, 1), f);
  cr_assert_eq(s_cli("-d", path_d, "import", f, NULL), 1);
  cr_assert(strstr(out, "outside its namespace") != NULL, "%s", out);
  lbuf_reset(&d);
  /* two years on, the certificate has expired */
  s_village_op(&d, "gusu/jinchang/v12/hh/7", "late", 1790000000000ull + 3 * 365 * 86400000ull,
               &seq);
  s_audit_fails(s_bundle(&r, s_all(&r), (int)r.count, &d, 1), "expired at that time");
  lbuf_free(&d);
  s_rows_free(&r);
}

Test(audit, ops_after_a_revocation)
{
  char pub[4300];
  snprintf(pub, sizeof pub, "%s/node.key.pub", path_v);
  s_must(s_cli("-d", path_s, "cert", "revoke", "--subject", pub, "--reason", "stolen", NULL));
  s_up(path_s, path_d);
  rows r;
  s_rows(&r);
  lbuf d;
  lbuf_init(&d);
  uint64_t seq;
  s_village_op(&d, "gusu/jinchang/v12/hh/1", "thief", 0, &seq);
  uint8_t vpk[LINLI_PK_BYTES];
  s_vpk(vpk);
  char want[200];
  snprintf(want, sizeof want, "author %s seq %llu: ops signed after the key was revoked at seq %llu",
           s_short(vpk), (unsigned long long)seq, (unsigned long long)(seq - 1));
  s_audit_fails(s_bundle(&r, s_all(&r), (int)r.count, &d, 1), want);
  cr_assert(strstr(out, "stolen") != NULL, "%s", out);
  lbuf_free(&d);
  s_rows_free(&r);
}

Test(audit, fork_with_its_evidence)
{
  lbuf a, b;
  lbuf_init(&a);
  lbuf_init(&b);
  uint64_t seq;
  /* a cloned disk: two different ops signed for the same seq */
  s_village_op(&a, "gusu/jinchang/v12/hh/1", "branch one", 0, &seq);
  s_village_op(&b, "gusu/jinchang/v12/hh/1", "branch two", 0, &seq);
  rows none = {0};
  char fa[4200], fb[4200];
  s_path(fa, "a.bundle");
  s_path(fb, "b.bundle");
  rename(s_bundle(&none, NULL, 0, &a, 1), fa);
  rename(s_bundle(&none, NULL, 0, &b, 1), fb);
  s_must(s_cli("-d", path_d, "import", fa, NULL));
  cr_assert_eq(s_cli("-d", path_d, "import", fb, NULL), 1);
  cr_assert(strstr(out, "fork") != NULL, "%s", out);
  /* both signed heads are kept and shown */
  s_must(s_cli("-d", path_d, "status", NULL));
  cr_assert(strstr(out, "FORK: author") != NULL, "%s", out);
  uint8_t vpk[LINLI_PK_BYTES];
  s_vpk(vpk);
  char want[200];
  snprintf(want, sizeof want, "author %s seq %llu: fork: two different ops signed",
           s_short(vpk), (unsigned long long)seq);
  cr_assert_eq(s_cli("-d", path_d, "audit", "--root", roothex, NULL), 1, "%s", out);
  cr_assert(strstr(out, want) != NULL, "%s", out);
  /* the author's further ops are refused, even on the branch held */
  lbuf c;
  lbuf_init(&c);
  s_village_op(&c, "gusu/jinchang/v12/hh/2", "more", 0, &seq);
  rename(s_bundle(&none, NULL, 0, &c, 1), fa);
  cr_assert_eq(s_cli("-d", path_d, "import", fa, NULL), 1);
  cr_assert(strstr(out, "forked at seq") != NULL, "%s", out);
  /* the evidence travels in the district's bundle: the audit reports the
   * fork, and a node importing it keeps the evidence (both exit 1) */
  char full[4200], fresh[4200];
  s_path(full, "forked.bundle");
  s_must(s_cli("-d", path_d, "export", "-o", full, NULL));
  cr_assert(strstr(out, "with fork evidence for 1 author") != NULL, "%s", out);
  cr_assert_eq(s_same_verdict(full, 30), 1, "%s", out);
  cr_assert(strstr(out, want) != NULL, "%s", out);
  s_path(fresh, "fresh30");
  s_must(s_cli("-d", fresh, "status", NULL));
  cr_assert(strstr(out, "FORK: author") != NULL, "%s", out);
  /* the other authors' ops came along */
  s_must(s_cli("-d", fresh, "get", "notices/1", NULL));
  cr_assert(strstr(out, "NOTICE-ONE") != NULL, "%s", out);
  lbuf_free(&a);
  lbuf_free(&b);
  lbuf_free(&c);
}

/* ---- one verdict for audit and import ---- */

/* A revocation op of `subject` at its last signed head held by the
 * district; its hex value goes to `val` (freed by the caller). */
static op
s_revoke_op_at(const uint8_t subject[LINLI_PK_BYTES], uint64_t at, char key[96], lbuf *val)
{
  lstore *s;
  lhead h, sh;
  cr_assert_eq(lstore_open(&s, path_d, NULL, NULL), 0);
  cr_assert_eq(lstore_head(s, subject, &h, NULL), 0);
  if (at)
    h.seq = at;
  cr_assert_eq(lstore_signed_head(s, subject, h.seq, &sh, NULL), 0);
  lstore_close(&s);
  lrevoke rv;
  memset(&rv, 0, sizeof rv);
  memcpy(rv.subject, subject, LINLI_PK_BYTES);
  rv.seq = h.seq;
  memcpy(rv.hash, sh.hash, LINLI_HASH_BYTES);
  memcpy(rv.sig, sh.sig, LINLI_SIG_BYTES);
  strcpy(rv.reason, "crafted");
  lbuf raw;
  lbuf_init(&raw);
  revoke_encode(&raw, &rv);
  trust_hex(val, raw.p, raw.len);
  lbuf_free(&raw);
  size_t kl = trust_key(key, TRUST_REVOKE_PREFIX, subject);
  return (op){.kind = OP_ADD, .key = key, .key_len = (uint32_t)kl, .field = TRUST_REVOKE_FIELD,
              .field_len = (uint32_t)strlen(TRUST_REVOKE_FIELD), .str = (const char *)val->p,
              .str_len = (uint32_t)val->len};
}

static op
s_revoke_op_of(const uint8_t subject[LINLI_PK_BYTES], char key[96], lbuf *val)
{
  return s_revoke_op_at(subject, 0, key, val);
}

/* `linli audit` and `linli import` into a fresh node under the same root
 * give the same verdict on `file`; returns it (0 or 1). */
static int
s_same_verdict(const char *file, int k)
{
  char fresh[4200], name[32];
  snprintf(name, sizeof name, "fresh%d", k);
  s_path(fresh, name);
  s_must(s_cli("-d", fresh, "init", "--name", name, "--root", roothex, NULL));
  int audit = s_cli("audit", file, "--root", roothex, NULL);
  char aout[sizeof out];
  memcpy(aout, out, sizeof out);
  int import = s_cli("-d", fresh, "import", file, NULL);
  cr_assert_eq(audit, import, "audit says %d:\n%s\nimport says %d:\n%s", audit, aout, import, out);
  memcpy(out, aout, sizeof out);
  return audit;
}

Test(audit, audit_and_import_agree_on_revocations)
{
  rows r;
  s_rows(&r);
  lident st, v;
  s_ident(path_s, &st);
  s_ident(path_v, &v);
  char key[96], want[300];
  lbuf val, d;
  uint64_t seq;
  lbuf_init(&val);
  lbuf_init(&d);

  /* a village "revoking" its street: a valid op without force */
  op o = s_revoke_op_of(st.pk, key, &val);
  s_village_delta(&d, &o, 0, &seq);
  cr_assert_eq(s_same_verdict(s_bundle(&r, s_all(&r), (int)r.count, &d, 1), 1), 0);
  snprintf(want, sizeof want, "revocation of %s at seq", s_short(st.pk));
  cr_assert(strstr(out, want) != NULL && strstr(out, "has no force") != NULL, "%s", out);
  cr_assert(strstr(out, "notes") != NULL, "%s", out);

  /* a village revoking itself: invalid */
  lbuf_reset(&val);
  lbuf_reset(&d);
  o = s_revoke_op_of(v.pk, key, &val);
  s_village_delta(&d, &o, 0, &seq);
  cr_assert_eq(s_same_verdict(s_bundle(&r, s_all(&r), (int)r.count, &d, 1), 2), 1);
  snprintf(want, sizeof want, "author %s seq %llu: author %s seq %llu: a key cannot revoke itself",
           s_short(v.pk), (unsigned long long)seq, s_short(v.pk), (unsigned long long)seq);
  cr_assert(strstr(out, want) != NULL, "%s", out);

  /* the street revoking its village at its last op: in force, nothing cut */
  char pub[4300];
  snprintf(pub, sizeof pub, "%s/node.key.pub", path_v);
  s_must(s_cli("-d", path_s, "cert", "revoke", "--subject", pub, "--reason", "moved", NULL));
  s_up(path_s, path_d);
  rows r2;
  s_rows(&r2);
  cr_assert_eq(s_same_verdict(s_bundle(&r2, s_all(&r2), (int)r2.count, NULL, 0), 3), 0);
  /* ... and the village's op after it: refused by both */
  lbuf_reset(&d);
  s_village_op(&d, "gusu/jinchang/v12/hh/1", "after", 0, &seq);
  cr_assert_eq(s_same_verdict(s_bundle(&r2, s_all(&r2), (int)r2.count, &d, 1), 4), 1);
  cr_assert(strstr(out, "revoked at seq") != NULL, "%s", out);
  s_rows_free(&r2);

  lbuf_free(&val);
  lbuf_free(&d);
  ident_wipe(&st);
  ident_wipe(&v);
  s_rows_free(&r);
}

/* A store without a trust root refuses reserved trust/ keys, written or
 * imported. */
Test(audit, reserved_trust_keys_without_a_root)
{
  char open_[4200];
  s_path(open_, "rootless");
  s_must(s_cli("-d", open_, "init", "--no-trust", "--name", "rootless", NULL));
  cr_assert_eq(s_cli("-d", open_, "put", "trust/x/y", "f=v", NULL), 1, "%s", out);
  cr_assert(strstr(out, "reserved") != NULL, "%s", out);
  char key[200], arg[300];
  lident self;
  s_ident(open_, &self);
  trust_key(key, TRUST_CERT_PREFIX, self.pk);
  cr_assert_eq(s_cli("-d", open_, "put", key, "chain=zz", NULL), 1, "%s", out);
  snprintf(arg, sizeof arg, "revocations=00");
  cr_assert_eq(s_cli("-d", open_, "put", "trust/revoke/00", arg, NULL), 1, "%s", out);
  /* the node's ordinary writes go on */
  s_must(s_cli("-d", open_, "put", "hh/1", "name=x", NULL));
  /* a bundle whose certificate is garbage */
  lident v;
  s_ident(path_v, &v);
  trust_key(key, TRUST_CERT_PREFIX, v.pk);
  op o = {.seq = 1, .hlc = hlc_make(1790000000000ull, 0), .kind = OP_SET, .key = key,
          .key_len = (uint32_t)strlen(key), .field = TRUST_CHAIN_FIELD, .field_len = 5,
          .str = "deadbeef", .str_len = 8};
  uint8_t prev[LINLI_HASH_BYTES] = {0}, head[LINLI_HASH_BYTES], sig[LINLI_SIG_BYTES];
  lbuf scratch, d;
  lbuf_init(&scratch);
  lbuf_init(&d);
  op_hash(head, prev, v.pk, &o, &scratch);
  head_sign(&v, 1, head, sig);
  delta_encode(&d, v.pk, 1, prev, &o, 1, sig);
  rows none = {0};
  const char *b = s_bundle(&none, NULL, 0, &d, 1);
  cr_assert_eq(s_cli("-d", open_, "import", b, NULL), 1, "%s", out);
  cr_assert(strstr(out, "certificate refused") != NULL, "%s", out);
  s_must(s_cli("-d", open_, "ls", "trust/", NULL));
  cr_assert(strstr(out, "trust/") == NULL, "a reserved key was stored:\n%s", out);
  /* the village's real log, certificate and all, is accepted */
  char full[4200];
  s_path(full, "full.bundle");
  s_must(s_cli("-d", path_d, "export", "-o", full, NULL));
  s_must(s_cli("-d", open_, "import", full, NULL));
  lbuf_free(&scratch);
  lbuf_free(&d);
  ident_wipe(&self);
  ident_wipe(&v);
}

/* Ops after a revocation in one bundle: refused by import as reported by
 * audit, whether the revocation comes before them (the delta is cut) or
 * after them. */
Test(audit, audit_and_import_agree_whatever_the_order)
{
  char pub[4300];
  snprintf(pub, sizeof pub, "%s/node.key.pub", path_v);
  s_must(s_cli("-d", path_s, "cert", "revoke", "--subject", pub, "--reason", "stolen", NULL));
  s_up(path_s, path_d);
  rows r;
  s_rows(&r);
  lident v, st;
  s_ident(path_v, &v);
  s_ident(path_s, &st);
  /* the village's whole log and one op more, as one delta */
  op ops[16];
  uint32_t n = 0;
  delta ds[8];
  uint32_t nd = 0;
  int order[64], no = 0, sorder[64], ns = 0;
  for (uint32_t i = 0; i < r.count; i++) {
    uint8_t a[LINLI_PK_BYTES];
    uint64_t f, l;
    cr_assert_eq(delta_peek(r.p[i], r.n[i], a, &f, &l), 0);
    if (memcmp(a, v.pk, LINLI_PK_BYTES) == 0) {
      memset(&ds[nd], 0, sizeof ds[nd]);
      cr_assert_eq(delta_decode(&ds[nd], r.p[i], r.n[i], NULL), 0);
      for (uint32_t k = 0; k < ds[nd].nops; k++)
        ops[n++] = ds[nd].ops[k];
      nd++;
    } else if (memcmp(a, st.pk, LINLI_PK_BYTES) == 0) {
      sorder[ns++] = (int)i;
    } else {
      order[no++] = (int)i;
    }
  }
  ops[n] = (op){.seq = n + 1, .hlc = ops[n - 1].hlc + 1, .kind = OP_SET,
                .key = "gusu/jinchang/v12/hh/1", .key_len = 22, .field = "name", .field_len = 4,
                .str = "thief", .str_len = 5};
  n++;
  uint8_t head[LINLI_HASH_BYTES] = {0}, sig[LINLI_SIG_BYTES];
  lbuf scratch, whole;
  lbuf_init(&scratch);
  lbuf_init(&whole);
  for (uint32_t k = 0; k < n; k++)
    op_hash(head, head, v.pk, &ops[k], &scratch);
  head_sign(&v, n, head, sig);
  uint8_t zero[LINLI_HASH_BYTES] = {0};
  delta_encode(&whole, v.pk, 1, zero, ops, n, sig);
  char want[200];
  snprintf(want, sizeof want, "author %s seq %u", s_short(v.pk), n);
  /* the revocation first: the village's delta runs past it */
  int first[64], nf = 0;
  for (int i = 0; i < ns; i++)
    first[nf++] = sorder[i];
  for (int i = 0; i < no; i++)
    first[nf++] = order[i];
  cr_assert_eq(s_same_verdict(s_bundle(&r, first, nf, &whole, 1), 1), 1);
  cr_assert(strstr(out, want) != NULL, "%s", out);
  /* the revocation last */
  lbuf extra[9];
  extra[0] = whole;
  for (int i = 0; i < ns; i++) {
    lbuf_init(&extra[1 + i]);
    lbuf_put(&extra[1 + i], r.p[sorder[i]], r.n[sorder[i]]);
  }
  cr_assert_eq(s_same_verdict(s_bundle(&r, order, no, extra, 1 + ns), 2), 1);
  cr_assert(strstr(out, want) != NULL, "%s", out);
  for (int i = 0; i < ns; i++)
    lbuf_free(&extra[1 + i]);
  for (uint32_t i = 0; i < nd; i++)
    delta_clear(&ds[i]);
  lbuf_free(&scratch);
  lbuf_free(&whole);
  ident_wipe(&v);
  ident_wipe(&st);
  s_rows_free(&r);
}

/* The village moves under a certificate the root issued: the street may
 * revoke what the village wrote as its own, not what came after. */
Test(audit, audit_and_import_decide_by_the_chain_at_the_seq)
{
  lident v, st, d;
  s_ident(path_v, &v);
  s_ident(path_s, &st);
  s_ident(path_d, &d);
  lstore *s;
  lhead before;
  cr_assert_eq(lstore_open(&s, path_d, NULL, NULL), 0);
  cr_assert_eq(lstore_head(s, v.pk, &before, NULL), 0);
  lstore_close(&s);
  /* seq before+1: the new chain; before+2: an op under it */
  lchain ch;
  memset(&ch, 0, sizeof ch);
  ch.n = 1;
  memcpy(ch.c[0].subject, v.pk, LINLI_PK_BYTES);
  strcpy(ch.c[0].name, "v12");
  ch.c[0].role = ROLE_VILLAGE;
  strcpy(ch.c[0].prefix, "gusu/jinchang/v12/");
  ch.c[0].not_before = 0;
  ch.c[0].not_after = UINT64_MAX / 2;
  cert_sign(&ch.c[0], &d);
  lbuf cb, hex, dl;
  lbuf_init(&cb);
  lbuf_init(&hex);
  lbuf_init(&dl);
  chain_encode(&cb, &ch);
  trust_hex(&hex, cb.p, cb.len);
  char key[96], f[4200];
  size_t kl = trust_key(key, TRUST_CERT_PREFIX, v.pk);
  op o = {.kind = OP_SET, .key = key, .key_len = (uint32_t)kl, .field = TRUST_CHAIN_FIELD,
          .field_len = 5, .str = (const char *)hex.p, .str_len = (uint32_t)hex.len};
  uint64_t seq;
  rows none = {0};
  s_path(f, "renew.bundle");
  s_village_delta(&dl, &o, 0, &seq);
  rename(s_bundle(&none, NULL, 0, &dl, 1), f);
  s_must(s_cli("-d", path_d, "import", f, NULL));
  lbuf_reset(&dl);
  s_village_op(&dl, "gusu/jinchang/v12/hh/5", "moved", 0, &seq);
  rename(s_bundle(&none, NULL, 0, &dl, 1), f);
  s_must(s_cli("-d", path_d, "import", f, NULL));
  rows r;
  s_rows(&r);
  /* the street revokes the village after the move: no force */
  lbuf val;
  lbuf_init(&val);
  lbuf_reset(&dl);
  o = s_revoke_op_at(v.pk, 0, key, &val);
  s_next_delta(path_s, &dl, &o, 0, &seq);
  cr_assert_eq(s_same_verdict(s_bundle(&r, s_all(&r), (int)r.count, &dl, 1), 1), 0);
  cr_assert(strstr(out, "has no force") != NULL, "%s", out);
  /* ... and before it: in force, the moved village's ops are after it */
  lbuf_reset(&val);
  lbuf_reset(&dl);
  o = s_revoke_op_at(v.pk, before.seq, key, &val);
  s_next_delta(path_s, &dl, &o, 0, &seq);
  cr_assert_eq(s_same_verdict(s_bundle(&r, s_all(&r), (int)r.count, &dl, 1), 2), 1);
  char want[200];
  snprintf(want, sizeof want, "signed after the key was revoked at seq %llu",
           (unsigned long long)before.seq);
  cr_assert(strstr(out, want) != NULL, "%s", out);
  lbuf_free(&cb);
  lbuf_free(&hex);
  lbuf_free(&dl);
  lbuf_free(&val);
  s_rows_free(&r);
  ident_wipe(&v);
  ident_wipe(&st);
  ident_wipe(&d);
}

/* Timestamps strictly increase along an author's log, across deltas too:
 * the next op in a delta of its own at the same HLC as the op before it,
 * or 5 s earlier, is refused by import and by the audit alike. */
Test(audit, audit_and_import_agree_on_timestamps)
{
  rows r;
  s_rows(&r);
  uint8_t vpk[LINLI_PK_BYTES];
  s_vpk(vpk);
  const int64_t steps[] = {0, -(int64_t)hlc_make(5000, 0), 1};
  for (int k = 0; k < 3; k++) {
    lbuf d;
    lbuf_init(&d);
    uint64_t seq;
    op o = {.kind = OP_SET, .key = "gusu/jinchang/v12/hh/1", .key_len = 22, .field = "name",
            .field_len = 4, .str = "later", .str_len = 5};
    s_next_delta_step(path_v, &d, &o, 0, steps[k], &seq);
    int want = k < 2;
    cr_assert_eq(s_same_verdict(s_bundle(&r, s_all(&r), (int)r.count, &d, 1), 10 + k), want,
                 "step %d: %s", k, out);
    if (want) {
      char msg[200];
      snprintf(msg, sizeof msg, "author %s seq %llu: seq %llu: timestamp is not after seq %llu's",
               s_short(vpk), (unsigned long long)seq, (unsigned long long)seq,
               (unsigned long long)(seq - 1));
      cr_assert(strstr(out, msg) != NULL, "%s", out);
    }
    lbuf_free(&d);
  }
  s_rows_free(&r);
}

/* Two deltas of one author in one bundle that overlap: the same history
 * twice is nothing new to either; two histories are a fork, reported by
 * the audit and refused by import, which keeps the evidence. */
Test(audit, overlapping_deltas_in_one_bundle)
{
  rows r;
  s_rows(&r);
  uint8_t vpk[LINLI_PK_BYTES];
  s_vpk(vpk);
  lbuf d[3];
  for (int i = 0; i < 3; i++)
    lbuf_init(&d[i]);
  uint64_t seq;
  s_village_op(&d[0], "gusu/jinchang/v12/hh/1", "branch one", 0, &seq);
  lbuf_put(&d[1], d[0].p, d[0].len);
  cr_assert_eq(s_same_verdict(s_bundle(&r, s_all(&r), (int)r.count, d, 2), 20), 0, "%s", out);
  s_village_op(&d[2], "gusu/jinchang/v12/hh/1", "branch two", 0, &seq);
  lbuf two[2] = {d[0], d[2]};
  const char *file = s_bundle(&r, s_all(&r), (int)r.count, two, 2);
  cr_assert_eq(s_same_verdict(file, 21), 1, "%s", out);
  char want[200];
  snprintf(want, sizeof want, "author %s seq %llu: fork: two different ops signed", s_short(vpk),
           (unsigned long long)seq);
  cr_assert(strstr(out, want) != NULL, "%s", out);
  /* the node that refused the file keeps the evidence */
  char fresh[4200];
  s_path(fresh, "fresh21");
  s_must(s_cli("-d", fresh, "status", NULL));
  cr_assert(strstr(out, "FORK: author") != NULL, "%s", out);
  for (int i = 0; i < 3; i++)
    lbuf_free(&d[i]);
  s_rows_free(&r);
}

/* `linli export --for` writes only what the other node lacks: the audit
 * checks what is there (chain, signatures, continuity from the first
 * delta's `prev`) and says the certificate checks are not possible. */
Test(audit, partial_bundle_audits_what_is_there)
{
  char sum[4200], bun[4200];
  s_must(s_cli("-d", path_v, "put", "gusu/jinchang/v12/hh/3", "name=third", NULL));
  s_up(path_v, path_s);
  s_path(sum, "d.summary");
  s_path(bun, "partial.bundle");
  s_must(s_cli("-d", path_d, "summary", "-o", sum, NULL));
  s_must(s_cli("-d", path_s, "export", "--for", sum, "-o", bun, "--force", NULL));
  s_must(s_cli("audit", bun, "--root", roothex, NULL));
  cr_assert(strstr(out, "a partial bundle") != NULL, "%s", out);
  cr_assert(strstr(out, "certificate and namespace checks not possible") != NULL, "%s", out);
  /* what is there is still checked: a flipped signature byte fails */
  size_t n;
  uint8_t *p = tu_read_file(bun, &n);
  cr_assert_not_null(p);
  uint8_t *third = s_memmem(p, n, "third");
  cr_assert_not_null(third);
  third[0] ^= 1;
  FILE *f = fopen(bun, "wb");
  fwrite(p, 1, n, f);
  fclose(f);
  free(p);
  cr_assert_eq(s_cli("audit", bun, "--root", roothex, NULL), 1, "%s", out);
}

/* One crafted delta after the district's whole log, for each rule: audit
 * and a fresh node's import give the same verdict on every one. */
Test(audit, audit_and_import_agree_on_every_rule)
{
  rows r;
  s_rows(&r);
  struct { const char *what, *key; int64_t step; int patch; int want; } cs[] = {
    {"outside its namespace", "gusu/other/x", 1, 0, 1},
    {"a reserved trust/ key", "trust/x/y", 1, 0, 1},
    {"HLC 0", "gusu/jinchang/v12/hh/1", 0, 1, 1},
    {"prev altered", "gusu/jinchang/v12/hh/1", 1, 2, 1},
    {"delta as array 16", "gusu/jinchang/v12/hh/1", 1, 3, 1},
    {"f as uint 16", "gusu/jinchang/v12/hh/1", 1, 4, 1},
    {"a valid op", "gusu/jinchang/v12/hh/1", 1, 0, 0},
  };
  for (int k = 0; k < (int)(sizeof cs / sizeof cs[0]); k++) {
    lbuf d, v;
    lbuf_init(&d);
    lbuf_init(&v);
    uint64_t seq;
    op o = {.kind = OP_SET, .key = cs[k].key, .key_len = (uint32_t)strlen(cs[k].key),
            .field = "name", .field_len = 4, .str = "x", .str_len = 1};
    if (cs[k].patch == 1) { /* hlc = 0: step back by the whole previous HLC */
      lstore *s;
      lhead h;
      uint8_t vpk[LINLI_PK_BYTES];
      s_vpk(vpk);
      cr_assert_eq(lstore_open(&s, path_d, NULL, NULL), 0);
      cr_assert_eq(lstore_head(s, vpk, &h, NULL), 0);
      lstore_close(&s);
      cs[k].step = -(int64_t)h.hlc;
    }
    s_next_delta_step(path_v, &d, &o, 0, cs[k].step, &seq);
    if (cs[k].patch == 2) {
      d.p[40] ^= 1; /* 96 01 c4 20 <author> <f> c4 20 <prev>: a byte of prev */
    } else if (cs[k].patch == 3) {
      lbuf_put(&v, "\xdc\x00\x06", 3);
      lbuf_put(&v, d.p + 1, d.len - 1);
      lbuf_reset(&d);
      lbuf_put(&d, v.p, v.len);
    } else if (cs[k].patch == 4) {
      cr_assert_lt(d.p[36], 0x80); /* the village's seq, a positive fixint */
      lbuf_put(&v, d.p, 36);
      lbuf_put(&v, "\xcd\x00", 2);
      lbuf_put(&v, d.p + 36, d.len - 36);
      lbuf_reset(&d);
      lbuf_put(&d, v.p, v.len);
    }
    int got = s_same_verdict(s_bundle(&r, s_all(&r), (int)r.count, &d, 1), 40 + k);
    cr_assert_eq(got, cs[k].want, "%s: %s", cs[k].what, out);
    lbuf_free(&d);
    lbuf_free(&v);
  }
  s_rows_free(&r);
}

/* People: an auditor's record op, signed by its own key past the village's
 * checks, fails the audit and the district's import; a clerk's op passes
 * and the audit names the clerk from the chain in the clerk's log. */
Test(audit, person_roles_and_names)
{
  char pw[4200];
  s_path(pw, "pw");
  FILE *f = fopen(pw, "w");
  cr_assert_not_null(f);
  fputs("correct horse\n", f);
  fclose(f);
  s_must(s_cli("-d", path_v, "user", "add", "王芳", "--role", "clerk", "--password-file", pw,
               NULL));
  s_must(s_cli("-d", path_v, "user", "add", "孙审", "--role", "auditor", "--password-file", pw,
               NULL));
  s_must(s_cli("-d", path_v, "put", "--as", "王芳", "--password-file", pw,
               "gusu/jinchang/v12/hh/9", "name=clerk-wrote", NULL));
  s_up(path_v, path_d);
  cr_assert_eq(s_cli("-d", path_d, "audit", "--root", roothex, "--record",
                     "gusu/jinchang/v12/hh/9", NULL),
               0, "%s", out);
  cr_assert(strstr(out, "王芳 (clerk, v12)  seq 2  set name = clerk-wrote") != NULL, "%s", out);
  cr_assert(strstr(out, "王芳 (v12)") != NULL, "the authors table lacks the clerk: %s", out);
  /* the auditor's key signs a record op by hand */
  lperson *p = NULL;
  lerr e = {0};
  cr_assert_eq(lusers_unlock(path_v, "孙审", "correct horse", &p, &e), 0, "%s", e.msg);
  rows r;
  s_rows(&r);
  lbuf d;
  lbuf_init(&d);
  uint64_t seq;
  const char *key = "gusu/jinchang/v12/hh/9";
  op o = {.kind = OP_SET, .key = key, .key_len = (uint32_t)strlen(key), .field = "name",
          .field_len = 4, .str = "auditor-wrote", .str_len = 13};
  s_next_delta_of(lperson_ident(p), &d, &o, 0, 1, &seq);
  char want[300];
  snprintf(want, sizeof want, "author %s seq 2: author %s (孙审) seq 2: an auditor reads and "
           "audits, it writes no record", s_short(lperson_ident(p)->pk),
           s_short(lperson_ident(p)->pk));
  cr_assert_eq(seq, 2);
  lperson_free(&p);
  s_audit_fails(s_bundle(&r, s_all(&r), (int)r.count, &d, 1), want);
  char fb[4200];
  s_path(fb, "auditor.bundle");
  rename(s_bundle(&r, NULL, 0, &d, 1), fb);
  cr_assert_eq(s_cli("-d", path_d, "import", fb, NULL), 1);
  cr_assert(strstr(out, "an auditor reads and audits") != NULL, "%s", out);
  lbuf_free(&d);
  s_rows_free(&r);
}
