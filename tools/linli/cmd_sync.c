/*
 * cmd_sync.c - exchange by file: summary, export and import.
 *
 * The sneakernet round trip: station B writes a summary of what it holds;
 * station A exports, for that summary, a bundle of the signed deltas B
 * lacks; B imports the bundle.  Files are written with cli_file_write(),
 * so a stick pulled out mid-write leaves the previous file or none.
 *
 * Import is deliberately two passes over the bundle held in memory.  The
 * first feeds every delta into a verify-only ingest group: the trailer
 * (count, hash, exporter signature) and every author's chain, signature
 * and continuity are checked before anything is written, so a truncated or
 * altered bundle changes nothing.  The second pass adds the deltas again to
 * a keeping group and commits in batches, which bounds the memory a large
 * bundle needs; every batch is one synced RocksDB write.
 */
#include "tools/linli/cli.h"
#include "tools/linli/json.h"

#include "node/daemon.h"
#include "node/failpoint.h"
#include "node/replica.h"
#include "sync/bundle.h"
#include "sync/summary.h"

#include <stdlib.h>
#include <string.h>

/* Larger summaries are not plausible: a summary costs ~80 bytes per
 * author, and a district has thousands of authors, not millions. */
#define S_SUMMARY_MAX ((size_t)64 << 20)
/* The largest bundle import reads; it is held in memory whole. */
#define S_BUNDLE_MAX ((size_t)2 << 30)
/* Deltas are joined up to this size on export, so few signatures travel;
 * no more than one sync message carries, or the importer could not pass
 * them on. */
#define S_DELTA_MAX_BYTES ((size_t)DELTA_MAX_BYTES)
/* A batch of an import is committed at whichever limit is reached first. */
#define S_BATCH_DELTAS 2000
#define S_BATCH_OPS 200000

int
cmd_summary(cli *c)
{
  lstore *s = NULL;
  lsummary sum;
  lident id;
  lbuf b;
  lerr e = {0};
  int rc;

  memset(&sum, 0, sizeof sum);
  memset(&id, 0, sizeof id);
  lbuf_init(&b);
  rc = cli_open_read(c, &s);
  if (rc != CLI_OK)
    goto done;
  if ((rc = cli_identity(s, &id)) != CLI_OK)
    goto done;
  if (lstore_summary(s, cli_wall_ms(), &sum, &e) != 0) {
    rc = cli_fail_e(&e);
    goto done;
  }
  /* Signed by the station: an exporter under a trust root gives it only
   * what its certificate's scope allows, so the key it names is proven. */
  summary_encode_signed(&sum, &id, &b);
  ident_wipe(&id);
  if (b.oom) {
    rc = cli_fail("out of memory");
    goto done;
  }
  if (cli_file_write(c->out, b.p, b.len, 0644, &e) != 0) {
    rc = cli_fail_e(&e);
    goto done;
  }
  if (c->json) {
    jw w;
    jw_init(&w, stdout);
    jw_obj_begin(&w);
    jw_key(&w, "file");
    jw_str(&w, c->out);
    jw_key(&w, "node");
    jw_hex(&w, sum.node, LINLI_PK_BYTES);
    jw_key(&w, "authors");
    jw_uint(&w, sum.n);
    jw_key(&w, "bytes");
    jw_uint(&w, b.len);
    jw_obj_end(&w);
    jw_finish(&w);
  } else {
    printf("wrote summary of %u author logs to %s\n", sum.n, c->out);
  }
done:
  ident_wipe(&id);
  summary_free(&sum);
  lbuf_free(&b);
  cli_close(&s);
  return rc;
}

/* Reads and decodes a summary file; errors name the file. */
static int
s_read_summary(const char *path, lsummary *sum)
{
  uint8_t *buf = NULL;
  size_t n = 0;
  lerr e = {0};
  int rc = CLI_OK;

  if (cli_file_read(path, S_SUMMARY_MAX, &buf, &n, &e) != 0) {
    rc = cli_fail_e(&e);
    goto done;
  }
  if (summary_decode(sum, buf, n, &e) != 0) {
    summary_free(sum);
    lerr_wrap(&e, LINLI_EMALFORMED, "%s: ", path);
    rc = cli_fail_e(&e);
    goto done;
  }
done:
  free(buf);
  return rc;
}

typedef struct s_export_ctx {
  bundle_writer bw;
  lbuf out;
  lrepl_head *scope;                 /* what the station may be sent, by author */
  uint32_t nscope;
  bool scoped;                       /* only the authors in scope */
  uint8_t (*forked)[LINLI_PK_BYTES]; /* authors whose fork evidence is held */
  uint32_t nforked;
  uint32_t left_out;                 /* their deltas, not written */
} s_export_ctx;

static int
s_head_cmp(const void *a, const void *b)
{
  return memcmp(((const lrepl_head *)a)->author, ((const lrepl_head *)b)->author,
                LINLI_PK_BYTES);
}

/* Whether the bundle may hold `author`'s log: a bundle for a station holds
 * what a session with it would send it (replica_station_heads). */
static bool
s_keep(void *ctx, const uint8_t author[LINLI_PK_BYTES])
{
  s_export_ctx *x = ctx;
  lrepl_head key;
  if (!x->scoped)
    return true;
  memcpy(key.author, author, LINLI_PK_BYTES);
  return bsearch(&key, x->scope, x->nscope, sizeof key, s_head_cmp) != NULL;
}

/* Fork evidence goes first in a bundle (docs/FORMAT.md, "Bundle"); of an
 * author outside the station's scope it stays out, as its deltas do (the
 * evidence holds two of its ops). */
static int
s_emit_fork(void *ctx, const uint8_t author[LINLI_PK_BYTES], uint64_t seq, const uint8_t *ev,
            size_t n)
{
  (void)seq;
  s_export_ctx *x = ctx;
  if (!s_keep(x, author))
    return 0;
  void *nf = realloc(x->forked, (x->nforked + 1) * sizeof *x->forked);
  if (nf == NULL)
    return LINLI_ENOMEM;
  x->forked = nf;
  memcpy(x->forked[x->nforked++], author, LINLI_PK_BYTES);
  bundle_write_fork(&x->bw, &x->out, ev, n);
  return x->out.oom ? LINLI_ENOMEM : 0;
}

/* A forked author's deltas stay out: every receiver of the evidence
 * refuses them, and the evidence holds both histories. */
static int
s_emit(void *ctx, const uint8_t *p, size_t n)
{
  s_export_ctx *x = ctx;
  uint8_t author[LINLI_PK_BYTES];
  uint64_t f, l;
  if (x->nforked > 0 && delta_peek(p, n, author, &f, &l) == 0)
    for (uint32_t i = 0; i < x->nforked; i++)
      if (memcmp(x->forked[i], author, LINLI_PK_BYTES) == 0) {
        x->left_out++;
        return 0;
      }
  bundle_write_delta(&x->bw, &x->out, p, n);
  return x->out.oom ? LINLI_ENOMEM : 0;
}

int
cmd_export(cli *c)
{
  lstore *s = NULL;
  lsummary want;
  bool have_want = c->for_file != NULL;
  s_export_ctx x;
  lexport_stats st;
  lident id;
  lerr e = {0};
  int rc;

  memset(&want, 0, sizeof want);
  memset(&id, 0, sizeof id);
  memset(&st, 0, sizeof st);
  memset(&x, 0, sizeof x);
  lbuf_init(&x.out);
  if ((rc = cli_out_check(c)) != CLI_OK)
    return rc;
  if (have_want && (rc = s_read_summary(c->for_file, &want)) != CLI_OK)
    goto done;
  if ((rc = cli_open_read(c, &s)) != CLI_OK)
    goto done;
  if ((rc = cli_identity(s, &id)) != CLI_OK)
    goto done;
  /* Under a trust root a bundle for a station holds what sync would send
   * it, no more: the station is the one whose key signed the summary. */
  if (have_want && lstore_root(s) != NULL &&
      memcmp(want.node, lstore_self(s), LINLI_PK_BYTES) != 0) {
    if (!want.is_signed) {
      rc = cli_fail("%s: a summary made by an older linli names no station it proves: make the "
                    "summary again with this version (linli summary)", c->for_file);
      goto done;
    }
    if (replica_station_heads(s, want.node, &x.scope, &x.nscope, &e) != 0) {
      rc = cli_fail_e(&e);
      goto done;
    }
    qsort(x.scope, x.nscope, sizeof *x.scope, s_head_cmp);
    x.scoped = true;
  }
  bundle_write_begin(&x.bw, &x.out, lstore_self(s), cli_wall_ms(),
                     have_want ? want.node : NULL);
  if (lstore_forks(s, s_emit_fork, &x, &e) != 0) {
    rc = x.out.oom ? cli_fail("out of memory while building the bundle") : cli_fail_e(&e);
    goto done;
  }
  if (lstore_export(s, have_want ? &want : NULL, s_keep, S_DELTA_MAX_BYTES, s_emit, &x, &st, &e) !=
      0) {
    if (x.out.oom)
      rc = cli_fail("out of memory while building the bundle");
    else
      rc = cli_fail_e(&e);
    goto done;
  }
  bundle_write_end(&x.bw, &x.out, &id);
  ident_wipe(&id);
  if (x.out.oom) {
    rc = cli_fail("out of memory while building the bundle");
    goto done;
  }
  /* A bundle carries residents' personal data: readable by its owner only
   * (a FAT-formatted stick ignores this, a shared machine does not). */
  if (cli_file_write(c->out, x.out.p, x.out.len, 0600, &e) != 0) {
    rc = cli_fail_e(&e);
    goto done;
  }
  if (c->json) {
    jw w;
    jw_init(&w, stdout);
    jw_obj_begin(&w);
    jw_key(&w, "file");
    jw_str(&w, c->out);
    jw_key(&w, "deltas");
    jw_uint(&w, st.deltas);
    jw_key(&w, "ops");
    jw_uint(&w, st.ops);
    jw_key(&w, "authors");
    jw_uint(&w, st.authors);
    jw_key(&w, "forks");
    jw_uint(&w, st.forks);
    jw_key(&w, "fork_evidence");
    jw_uint(&w, x.nforked);
    jw_key(&w, "deltas_of_forked_authors_left_out");
    jw_uint(&w, x.left_out);
    jw_key(&w, "bytes");
    jw_uint(&w, x.out.len);
    jw_obj_end(&w);
    jw_finish(&w);
  } else {
    printf("exported %u deltas (%llu ops from %u authors) to %s\n", st.deltas - x.left_out,
           (unsigned long long)st.ops, st.authors, c->out);
    if (x.nforked > 0)
      printf("with fork evidence for %u author%s (their %u deltas left out)\n", x.nforked,
             x.nforked == 1 ? "" : "s", x.left_out);
  }
  if (st.forks > 0) {
    fflush(stdout);
    fprintf(stderr,
            "linli: warning: %u author %s diverge from %s (fork) and %s skipped\n",
            st.forks, st.forks == 1 ? "log" : "logs", c->for_file ? c->for_file : "the summary",
            st.forks == 1 ? "was" : "were");
  }
done:
  ident_wipe(&id);
  free(x.scope);
  free(x.forked);
  lbuf_free(&x.out);
  summary_free(&want);
  cli_close(&s);
  return rc;
}

/* Fork evidence a file carried that this node did not hold. */
typedef struct s_forks_new {
  uint32_t n;
  uint8_t author[LINLI_PK_BYTES]; /* the first one's */
  uint64_t seq;
} s_forks_new;

/* Whether `exporter` stands above this node: the trust root, an issuer in
 * the node's certificate chain, or a parent configured in the running
 * linli-node. */
static bool
s_from_parent(lstore *s, const uint8_t exporter[LINLI_PK_BYTES])
{
  const uint8_t *root = lstore_root(s);
  if (root && memcmp(root, exporter, LINLI_PK_BYTES) == 0)
    return true;
  ltrust_state ts;
  if (root && lstore_trust(s, lstore_self(s), &ts, NULL) == 0 && ts.certified)
    for (uint32_t i = 0; i < ts.chain.n; i++)
      if (memcmp(ts.chain.c[i].issuer, exporter, LINLI_PK_BYTES) == 0)
        return true;
  ldaemon_peer_status *ps = NULL;
  uint32_t np = 0;
  bool ok = false;
  if (cli_daemon && daemon_peer_status(cli_daemon, &ps, &np, NULL) == 0)
    for (uint32_t i = 0; i < np && !ok; i++)
      ok = ps[i].parent && memcmp(ps[i].pk, exporter, LINLI_PK_BYTES) == 0;
  free(ps);
  return ok;
}

/* Whether a bundle ends this node's recovery (lstore_recovering): made
 * for this node, after it was restored (an older bundle may lack seqs the
 * node signed since it was backed up), by a key that holds the node's own
 * log: a parent (s_from_parent).  Otherwise *why says what is missing. */
static bool
s_ends_recovery(lstore *s, const bundle_info *info, const char **why)
{
  *why = NULL;
  if (!lstore_recovering(s) || !info->has_for ||
      memcmp(info->for_node, lstore_self(s), LINLI_PK_BYTES) != 0)
    return false;
  if (info->created_ms <= lstore_restored_ms(s)) {
    *why = "the bundle was made before this node was restored: export a fresh one from the parent";
    return false;
  }
  bool ok = s_from_parent(s, info->exporter);
  if (!ok)
    *why = "its exporter is neither a configured parent nor an issuer in this node's certificate "
           "chain: import a bundle the parent exported";
  return ok;
}

/* What a bundle holds outside the importing station's own scope. */
typedef struct s_outside {
  uint32_t deltas, forks;         /* outside */
  uint8_t author[LINLI_PK_BYTES]; /* the first one's */
  char author_ns[LINLI_KEY_MAX + 1];
} s_outside;

/* Whether the station keeps what `author` signed in d[0..nd) (one delta,
 * or the two of a piece of fork evidence): under a trust root only what
 * sync would give it, its own subtree and the logs above it
 * (replica_own_scope, the rule sessions use).  Counted in *o when outside;
 * 1 inside, 0 outside, -1 when no certificate of the author is known. */
static int
s_outside_check(lstore *s, s_outside *o, const uint8_t author[LINLI_PK_BYTES],
                const uint8_t *const *d, const size_t *dn, uint32_t nd, uint32_t *count)
{
  char ans[LINLI_KEY_MAX + 1];
  int in = replica_own_scope(s, author, d, dn, nd, ans);
  if (in == 0 && (*count)++ == 0 && o->deltas + o->forks == 1) {
    memcpy(o->author, author, LINLI_PK_BYTES);
    snprintf(o->author_ns, sizeof o->author_ns, "%s", ans);
  }
  return in;
}

/* Pass 0: the whole file read to its trailer (its form, count, hash and
 * the exporter's signature), every piece of fork evidence checked on its
 * own, and every log and piece of evidence in it placed in the station's
 * scope, before anything is checked against the store or kept: a file
 * refused here changes nothing stored. */
static int
s_import_scope(lstore *s, const char *path, const uint8_t *buf, size_t n)
{
  s_outside out;
  bundle_reader br;
  lerr e = {0};
  memset(&out, 0, sizeof out);
  int r = bundle_read_begin(&br, buf, n, &e);
  while (r == 0 || r == BUNDLE_DELTA || r == BUNDLE_FORK) {
    const uint8_t *d;
    size_t dn;
    if ((r = bundle_read_next(&br, &d, &dn, &e)) == BUNDLE_FORK) {
      fork_parts fp;
      if (fork_check(d, dn, fp.author, &fp.seq, &e) != 0 || fork_read(d, dn, &fp, &e) != 0) {
        lerr_wrap(&e, LINLI_EMALFORMED, "%s: fork evidence (at byte %zu): ", path,
                  (size_t)(d - buf));
        return cli_fail_e(&e);
      }
      s_outside_check(s, &out, fp.author, fp.d, fp.dn, 2, &out.forks);
    } else if (r == BUNDLE_DELTA) {
      uint8_t author[LINLI_PK_BYTES];
      uint64_t first, last;
      if (delta_peek(d, dn, author, &first, &last) == 0)
        s_outside_check(s, &out, author, &d, &dn, 1, &out.deltas);
    } else if (r == 0) {
      break;
    }
  }
  if (r < 0) {
    lerr_wrap(&e, r, "%s: ", path);
    return cli_fail_e(&e);
  }
  if (out.deltas + out.forks > 0) {
    char who[LINLI_SHORT_ID_LEN + 1], ns[LINLI_KEY_MAX + 1], what[80];
    ident_short(who, out.author);
    if (lstore_namespace(s, ns, NULL) != 0)
      ns[0] = '\0';
    if (out.forks == 0)
      snprintf(what, sizeof what, "%u deltas are", out.deltas);
    else if (out.deltas == 0)
      snprintf(what, sizeof what, "%u pieces of fork evidence are", out.forks);
    else
      snprintf(what, sizeof what, "%u deltas and %u pieces of fork evidence are", out.deltas,
               out.forks);
    return cli_fail("%s: %s of authors outside this station's namespace %s (first: author %s "
                    "of %s); nothing imported: ask for a bundle made with export --for this "
                    "station's summary", path, what, ns, who, out.author_ns);
  }
  return CLI_OK;
}

/* Pass 1: every delta into a verify-only group, which the fork evidence of
 * the file marks as it will once kept (the forked authors' ops refused).
 * Only when everything passed is the evidence kept.  A fork found between
 * a delta and the log held (in the station's scope: pass 0) is the one
 * thing kept from a refused file: the proof, as from a peer's delta.
 * *ndeltas gets the count, *ops_new the number of ops not held yet. */
static int
s_import_check(lstore *s, const char *path, const uint8_t *buf, size_t n, uint64_t *ndeltas,
               uint64_t *ops_new, bundle_info *info, s_forks_new *fk)
{
  lingest *g = NULL;
  bundle_reader br;
  cli_progress p;
  lerr e = {0};
  uint64_t k = 0;
  int rc = CLI_OK;
  /* the evidence to keep: its place in buf */
  struct {
    const uint8_t *p;
    size_t n;
  } *ev = NULL;
  uint32_t nev = 0;

  if ((rc = s_import_scope(s, path, buf, n)) != CLI_OK)
    return rc;
  if (lstore_ingest_new(s, false, &g) != 0)
    return cli_fail("out of memory");
  lingest_set_clock(g, cli_wall_ms(), LSTORE_AHEAD_MS);
  cli_progress_init(&p, "checked", " bytes");
  if (bundle_read_begin(&br, buf, n, &e) != 0) {
    lerr_wrap(&e, LINLI_EMALFORMED, "%s: ", path);
    rc = cli_fail_e(&e);
    goto done;
  }
  for (;;) {
    const uint8_t *d;
    size_t dn;
    int r = bundle_read_next(&br, &d, &dn, &e);
    if (r < 0) {
      lerr_wrap(&e, r, "%s: ", path);
      rc = cli_fail_e(&e);
      goto done;
    }
    if (r == 0)
      break;
    if (r == BUNDLE_FORK) {
      /* In scope (pass 0), or of an author no certificate held here
       * places: that one is kept only from a bundle a parent made for this
       * station (its scope, as a parent's HELLO classes in a session). */
      fork_parts fp;
      if (fork_read(d, dn, &fp, &e) != 0) { /* checked whole in pass 0 */
        rc = cli_fail_e(&e);
        goto done;
      }
      if (replica_own_scope(s, fp.author, fp.d, fp.dn, 2, NULL) < 0 &&
          !(br.info.has_for && memcmp(br.info.for_node, lstore_self(s), LINLI_PK_BYTES) == 0 &&
            s_from_parent(s, br.info.exporter))) {
        char fw[LINLI_SHORT_ID_LEN + 1];
        ident_short(fw, fp.author);
        cli_progress_clear(&p);
        fprintf(stderr, "linli: warning: %s: fork evidence of author %s not kept: this station "
                "holds no certificate of it, and the bundle is not one its parent made for it\n",
                path, fw);
        continue;
      }
      void *nv = realloc(ev, (nev + 1) * sizeof *ev);
      if (nv == NULL || lingest_fork_note(g, d, dn, &e) != 0) {
        rc = nv == NULL ? cli_fail("out of memory") : cli_fail_e(&e);
        ev = nv ? nv : ev;
        goto done;
      }
      ev = nv;
      ev[nev].p = d;
      ev[nev++].n = dn;
      continue;
    }
    k++;
    int a = lingest_add(g, d, dn, &e);
    if (a == LINLI_EFUTURE)
      continue; /* held back when applied */
    if (a != 0) {
      lerr_wrap(&e, LINLI_EMALFORMED, "%s: delta %llu (at byte %zu): ", path,
                (unsigned long long)k, (size_t)(d - buf));
      rc = cli_fail_e(&e);
      goto done;
    }
    cli_progress_update(&p, (uint64_t)(d + dn - buf), n);
  }
  /* Ops the file holds that a revocation (in it or held here) makes
   * invalid: refused as any invalid op is, whatever their order. */
  if (lingest_check(g, &e) != 0) {
    lerr_wrap(&e, LINLI_EREFUSED, "%s: ", path);
    rc = cli_fail_e(&e);
    goto done;
  }
  /* Decided: the file is taken.  Its evidence first, so that the
   * forked authors' ops are refused from now on, as over the network. */
  for (uint32_t i = 0; i < nev; i++) {
    bool is_new = false;
    if (lstore_fork_add(s, ev[i].p, ev[i].n, &is_new, &e) != 0) {
      lerr_wrap(&e, LINLI_ESTORE, "%s: fork evidence (at byte %zu): ", path,
                (size_t)(ev[i].p - buf));
      rc = cli_fail_e(&e);
      goto done;
    }
    if (is_new && fk->n++ == 0)
      fork_check(ev[i].p, ev[i].n, fk->author, &fk->seq, NULL);
  }
  *ndeltas = k;
  *ops_new = lingest_ops(g);
  *info = br.info;
done:
  cli_progress_clear(&p);
  lingest_destroy(&g);
  free(ev);
  return rc;
}

/* Pass 2: the same deltas into keeping groups, committed in batches.  A
 * failure here (a full disk, a store error) can come after some batches
 * were committed; the message says how far the import got. */
static int
s_import_apply(lstore *s, const char *path, const uint8_t *buf, size_t n, uint64_t total,
               lingest_stats *sum, uint64_t *held)
{
  lingest *g = NULL;
  bundle_reader br;
  cli_progress p;
  lingest_stats st;
  lerr e = {0};
  uint64_t k = 0, committed = 0;
  int rc = 0;

  memset(sum, 0, sizeof *sum);
  if (lstore_ingest_new(s, true, &g) != 0)
    return cli_fail("out of memory");
  lingest_set_clock(g, cli_wall_ms(), LSTORE_AHEAD_MS);
  *held = 0;
  cli_progress_init(&p, "imported", " deltas");
  rc = bundle_read_begin(&br, buf, n, &e);
  while (rc == 0) {
    const uint8_t *d;
    size_t dn;
    int r = bundle_read_next(&br, &d, &dn, &e);
    if (r < 0) {
      rc = r;
      break;
    }
    if (r == BUNDLE_DELTA) {
      k++;
      if ((rc = lingest_add(g, d, dn, &e)) == LINLI_EFUTURE) {
        (*held)++;
        rc = 0;
      }
      if (rc != 0)
        break;
    }
    /* The last commit happens even when the group holds no delta: deltas
     * held entirely already are only counted, and the commit is what
     * reports that count. */
    bool full = lingest_count(g) >= S_BATCH_DELTAS || lingest_ops(g) >= S_BATCH_OPS;
    if (r == 0 || (full && lingest_count(g) > 0)) {
      if ((rc = lingest_commit(g, cli_wall_ms(), &st, &e)) != 0)
        break;
      committed = k;
      sum->deltas += st.deltas;
      sum->ops_new += st.ops_new;
      sum->ops_dup += st.ops_dup;
      sum->records += st.records;
      cli_progress_update(&p, committed, total);
    }
    if (r == 0)
      break;
  }
  cli_progress_clear(&p);
  lingest_destroy(&g);
  if (rc == 0)
    return CLI_OK;
  if (committed > 0)
    return cli_fail("%s: %s (import stopped after %llu of %llu deltas were applied)", path,
                    e.msg, (unsigned long long)committed, (unsigned long long)total);
  lerr_wrap(&e, rc, "%s: ", path);
  return cli_fail_e(&e);
}

int
cmd_import(cli *c)
{
  const char *path = c->argv[0];
  lstore *s = NULL;
  uint8_t *buf = NULL;
  size_t n = 0;
  uint64_t ndeltas = 0, ops_new = 0;
  bundle_info info;
  lingest_stats st;
  lerr e = {0};
  char who[LINLI_SHORT_ID_LEN + 1];
  int rc;

  memset(&info, 0, sizeof info);
  memset(&st, 0, sizeof st);
  if (cli_file_read(path, S_BUNDLE_MAX, &buf, &n, &e) != 0) {
    rc = cli_fail_e(&e);
    goto done;
  }
  if ((rc = cli_open(c, &s)) != CLI_OK)
    goto done;
  s_forks_new fk = {0};
  if ((rc = s_import_check(s, path, buf, n, &ndeltas, &ops_new, &info, &fk)) != CLI_OK)
    goto done;
  /* What was held back before and is due now goes in first. */
  lingest_stats rel;
  if (lstore_release_held(s, cli_wall_ms(), LSTORE_AHEAD_MS, &rel, &e) != 0) {
    rc = cli_fail_e(&e);
    goto done;
  }
  uint64_t held = 0;
  if ((rc = s_import_apply(s, path, buf, n, ndeltas, &st, &held)) != CLI_OK)
    goto done;
  /* A bundle made for this node holds all its exporter had of this node's
   * own log: a restored node has its history back. */
  bool recovered = false;
  const char *why;
  if (s_ends_recovery(s, &info, &why)) {
    lfail("import-recover");
    if (lstore_set_recovering(s, false, &e) != 0) {
      rc = cli_fail_e(&e);
      goto done;
    }
    recovered = true;
  }
  ident_short(who, info.exporter);
  if (c->json) {
    jw w;
    jw_init(&w, stdout);
    jw_obj_begin(&w);
    jw_key(&w, "file");
    jw_str(&w, path);
    jw_key(&w, "exporter");
    jw_hex(&w, info.exporter, LINLI_PK_BYTES);
    jw_key(&w, "deltas");
    jw_uint(&w, ndeltas);
    jw_key(&w, "ops_new");
    jw_uint(&w, st.ops_new);
    jw_key(&w, "ops_dup");
    jw_uint(&w, st.ops_dup);
    jw_key(&w, "records");
    jw_uint(&w, st.records);
    jw_key(&w, "recovered");
    jw_bool(&w, recovered);
    jw_key(&w, "forks_new");
    jw_uint(&w, fk.n);
    jw_key(&w, "held");
    jw_uint(&w, held);
    jw_obj_end(&w);
    jw_finish(&w);
  } else {
    printf("imported %llu deltas from %s (exported by %s): %llu new ops, %llu already held, "
           "%u records changed\n",
           (unsigned long long)ndeltas, path, who, (unsigned long long)st.ops_new,
           (unsigned long long)st.ops_dup, st.records);
    if (recovered)
      printf("own log recovered: local writes are allowed again\n");
    if (held)
      printf("%llu deltas held back: dated more than %llu min ahead of this PC's clock, they "
             "are applied when it gets there (linli status lists them)\n",
             (unsigned long long)held, (unsigned long long)(LSTORE_AHEAD_MS / 60000));
  }
  if (why)
    fprintf(stderr, "still recovering: %s\n", why);
  /* As an import that meets a fork among the deltas, and as `linli audit`
   * of the file: a fork needs a person's attention (exit status 1). */
  if (fk.n > 0) {
    char fw[LINLI_SHORT_ID_LEN + 1];
    ident_short(fw, fk.author);
    fflush(stdout);
    rc = cli_fail("%s carries fork evidence new to this node: author %s signed two histories at "
                  "seq %llu%s; evidence kept, new ops of %s are refused",
                  path, fw, (unsigned long long)fk.seq, fk.n > 1 ? " (and more forks)" : "",
                  fk.n > 1 ? "these authors" : "this author");
  }
done:
  free(buf);
  cli_close(&s);
  return rc;
}
