/*
 * cmd_node.c - the commands about the node and its store as a whole:
 * keygen, init, status, verify and rebuild.
 *
 * Wherever a secret key is loaded into an `lident` it is wiped on every
 * path out of the function, which is why these functions leave through a
 * single cleanup label.
 */
#include "tools/linli/cli.h"
#include "tools/linli/json.h"

#include "crdt/hlc.h"
#include "crdt/ident.h"
#include "crdt/mp.h"
#include "node/keyfile.h"

#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* The longest station name accepted, in bytes: room for the longest
 * official names of a residents' committee, short enough for any screen. */
#define S_NAME_MAX 100

static void
s_print_id(const char *label, const uint8_t pk[LINLI_PK_BYTES])
{
  char hex[2 * LINLI_PK_BYTES + 1], shrt[LINLI_SHORT_ID_LEN + 1];
  hex_encode(hex, pk, LINLI_PK_BYTES);
  ident_short(shrt, pk);
  printf("%s%s (short %s)\n", label, hex, shrt);
}

static void
s_json_id(jw *w, const uint8_t pk[LINLI_PK_BYTES])
{
  char shrt[LINLI_SHORT_ID_LEN + 1];
  ident_short(shrt, pk);
  jw_key(w, "id");
  jw_hex(w, pk, LINLI_PK_BYTES);
  jw_key(w, "short_id");
  jw_str(w, shrt);
}

int
cmd_keygen(cli *c)
{
  lident id;
  lerr e = {0};
  int rc = CLI_OK;
  char pub[4200];

  if (snprintf(pub, sizeof pub, "%s.pub", c->out) >= (int)sizeof pub)
    return cli_fail("%s: path too long", c->out);
  ident_generate(&id);
  if (keyfile_write(c->out, &id, c->force, &e) != 0) {
    rc = cli_fail_e(&e);
    goto done;
  }
  if (c->json) {
    jw w;
    jw_init(&w, stdout);
    jw_obj_begin(&w);
    jw_key(&w, "key_file");
    jw_str(&w, c->out);
    jw_key(&w, "pub_file");
    jw_str(&w, pub);
    s_json_id(&w, id.pk);
    jw_obj_end(&w);
    jw_finish(&w);
  } else {
    printf("wrote %s (secret key, mode 0600) and %s\n", c->out, pub);
    s_print_id("id: ", id.pk);
  }
done:
  ident_wipe(&id);
  return rc;
}

static int
s_name_check(const char *name, lerr *e)
{
  size_t n = strlen(name);
  if (n == 0 || n > S_NAME_MAX)
    return lerr_set(e, LINLI_EINVAL, "--name must be 1 to %d bytes (got %zu)", S_NAME_MAX, n);
  if (!utf8_valid(name, n))
    return lerr_set(e, LINLI_EINVAL, "--name is not valid UTF-8");
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
      return lerr_set(e, LINLI_EINVAL, "--name contains a control character");
  return 0;
}

/* init makes a new directory or fills an empty one: never one that
 * already holds other files (an /etc/linli full of configurations).  What
 * an init cut short leaves (node.key*, .init, db) is for lstore_init to
 * judge. */
static int
s_init_dir_check(const char *dir)
{
  if (lstore_exists(dir))
    return CLI_OK; /* lstore_init says it already holds a store */
  DIR *dh = opendir(dir);
  if (dh == NULL) {
    if (errno == ENOENT)
      return CLI_OK;
    if (errno == EACCES)
      return cli_fail("%s: permission denied (init must run as a user who can write there)",
                      dir);
    if (errno == ENOTDIR)
      return cli_fail("%s exists and is not a directory", dir);
    return cli_fail("%s: %s", dir, strerror(errno));
  }
  const struct dirent *de;
  bool empty = true;
  while ((de = readdir(dh)) != NULL)
    if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
        strncmp(de->d_name, "node.key", 8) != 0 && strcmp(de->d_name, "db") != 0 &&
        strcmp(de->d_name, ".init") != 0) {
      empty = false;
      break;
    }
  closedir(dh);
  if (!empty)
    return cli_fail("%s is not empty; init creates a new data directory or uses an empty one "
                    "(choose another -d)",
                    dir);
  return CLI_OK;
}

int
cmd_init(cli *c)
{
  lident id;
  lerr e = {0};
  int rc = CLI_OK;

  memset(&id, 0, sizeof id);
  if (c->name == NULL)
    return cli_usage(c, "--name NAME is required");
  if (s_name_check(c->name, &e) != 0)
    return cli_usage(c, "%s", e.msg);
  if (c->root == NULL && !c->no_trust)
    return cli_usage(c, "--root KEY is required (the district's public key, or self at the "
                        "district); --no-trust makes a store that accepts any signer");
  if (c->root != NULL && c->no_trust)
    return cli_usage(c, "--root and --no-trust exclude each other");
  if ((rc = s_init_dir_check(c->dir)) != CLI_OK)
    return rc;
  /* The key is made (or read) here rather than inside lstore_init so that
   * its id can be printed without opening the new store. */
  if (c->key != NULL) {
    if (keyfile_read(c->key, &id, &e) != 0) {
      rc = cli_fail_e(&e);
      goto done;
    }
  } else {
    ident_generate(&id);
  }
  uint8_t root[LINLI_PK_BYTES];
  if (c->root != NULL) {
    if (strcmp(c->root, "self") == 0)
      memcpy(root, id.pk, sizeof root);
    else if (cli_pubkey(c->root, root, &e) != 0) {
      rc = cli_usage(c, "--root: %s", e.msg);
      goto done;
    }
  }
  if (c->restore && c->key == NULL) {
    rc = cli_usage(c, "--restore needs --key: the restored node's own key");
    goto done;
  }
  lstore_init_opts io = {.root = c->root != NULL ? root : NULL, .restore = c->restore,
                         .restore_ms = cli_wall_ms()};
  if (lstore_init(c->dir, c->name, &id, &io, &e) != 0) {
    rc = cli_fail_e(&e);
    goto done;
  }
  if (c->json) {
    jw w;
    jw_init(&w, stdout);
    jw_obj_begin(&w);
    jw_key(&w, "dir");
    jw_str(&w, c->dir);
    jw_key(&w, "name");
    jw_str(&w, c->name);
    s_json_id(&w, id.pk);
    jw_key(&w, "root");
    if (c->root != NULL)
      jw_hex(&w, root, LINLI_PK_BYTES);
    else
      jw_null(&w);
    jw_key(&w, "recovering");
    jw_bool(&w, c->restore);
    jw_obj_end(&w);
    jw_finish(&w);
  } else {
    printf("created data directory %s\nname: ", c->dir);
    cli_text(stdout, c->name, strlen(c->name));
    putchar('\n');
    s_print_id("id: ", id.pk);
    if (c->root != NULL)
      s_print_id("trust root: ", root);
    if (c->restore)
      printf("restored: writes wait until this node has recovered its own log from its parent\n");
  }
done:
  ident_wipe(&id);
  return rc;
}

typedef struct s_forks {
  struct {
    uint8_t author[LINLI_PK_BYTES];
    uint64_t seq;
  } *v;
  uint32_t n;
} s_forks;

static int
s_fork_collect(void *ctx, const uint8_t author[LINLI_PK_BYTES], uint64_t seq, const uint8_t *ev,
               size_t n)
{
  s_forks *f = ctx;
  (void)ev;
  (void)n;
  void *nv = realloc(f->v, (f->n + 1) * sizeof *f->v);
  if (nv == NULL)
    return LINLI_ENOMEM;
  f->v = nv;
  memcpy(f->v[f->n].author, author, LINLI_PK_BYTES);
  f->v[f->n++].seq = seq;
  return 0;
}

int
cmd_status(cli *c)
{
  lstore *s = NULL;
  lstore_stat st;
  lerr e = {0};
  char hex[2 * LINLI_PK_BYTES + 1], shrt[LINLI_SHORT_ID_LEN + 1];
  char dig[2 * LINLI_HASH_BYTES + 1], when[64];
  int rc = cli_open_read(c, &s);

  if (rc != CLI_OK)
    goto done;
  if (lstore_stat_get(s, &st, &e) != 0) {
    rc = cli_fail_e(&e);
    goto done;
  }
  const char *name = lstore_name(s);
  hex_encode(hex, lstore_self(s), LINLI_PK_BYTES);
  ident_short(shrt, lstore_self(s));
  hex_encode(dig, st.digest.sum, LINLI_HASH_BYTES);
  /* The CURVE key the node's connections use, derived from its identity:
   * what a parent that refuses the node logs. */
  uint8_t curve[32];
  char curve_hex[65] = "";
  if (crypto_sign_ed25519_pk_to_curve25519(curve, lstore_self(s)) == 0)
    hex_encode(curve_hex, curve, sizeof curve);
  cli_time(when, sizeof when, st.hlc);
  const uint8_t *root = lstore_root(s);
  ltrust_state *ts = malloc(sizeof *ts);
  if (ts == NULL || lstore_trust(s, lstore_self(s), ts, &e) != 0) {
    rc = ts ? cli_fail_e(&e) : cli_fail("out of memory");
    free(ts);
    goto done;
  }
  s_forks fk = {0};
  if (lstore_forks(s, s_fork_collect, &fk, &e) != 0) {
    free(ts);
    rc = cli_fail_e(&e);
    goto done;
  }
  lheld *held = NULL;
  uint32_t nheld = 0;
  if (lstore_held(s, &held, &nheld, &e) != 0) {
    free(ts);
    free(fk.v);
    rc = cli_fail_e(&e);
    goto done;
  }
  uint8_t(*aw)[LINLI_PK_BYTES] = NULL;
  uint32_t naw = 0;
  if (lstore_await_list(s, &aw, &naw, &e) != 0) {
    free(ts);
    free(fk.v);
    free(held);
    rc = cli_fail_e(&e);
    goto done;
  }
  uint64_t now = cli_wall_ms();
  if (c->json) {
    jw w;
    jw_init(&w, stdout);
    jw_obj_begin(&w);
    jw_key(&w, "name");
    jw_str(&w, name);
    jw_key(&w, "id");
    jw_str(&w, hex);
    jw_key(&w, "short_id");
    jw_str(&w, shrt);
    jw_key(&w, "transport_key");
    jw_str(&w, curve_hex);
    jw_key(&w, "dir");
    jw_str(&w, lstore_dir(s));
    jw_key(&w, "hlc");
    jw_uint(&w, st.hlc);
    cli_time_json(&w, st.hlc);
    jw_key(&w, "own_seq");
    jw_uint(&w, st.own_seq);
    jw_key(&w, "authors");
    jw_uint(&w, st.authors);
    jw_key(&w, "ops");
    jw_uint(&w, st.ops);
    jw_key(&w, "records");
    jw_int(&w, st.digest.count);
    jw_key(&w, "digest");
    jw_str(&w, dig);
    jw_key(&w, "trust_root");
    if (root)
      jw_hex(&w, root, LINLI_PK_BYTES);
    else
      jw_null(&w);
    jw_key(&w, "certificate");
    if (ts->certified) {
      jw_obj_begin(&w);
      jw_key(&w, "name");
      jw_str(&w, ts->chain.c[0].name);
      jw_key(&w, "role");
      jw_str(&w, trust_role_name(ts->chain.c[0].role));
      jw_key(&w, "prefix");
      jw_str(&w, ts->chain.c[0].prefix);
      jw_key(&w, "not_after");
      jw_uint(&w, ts->chain.c[0].not_after);
      jw_obj_end(&w);
    } else {
      jw_null(&w);
    }
    jw_key(&w, "recovering");
    jw_bool(&w, lstore_recovering(s));
    jw_key(&w, "awaiting");
    jw_arr_begin(&w);
    for (uint32_t i = 0; i < naw; i++) {
      lauthor_info ai;
      jw_obj_begin(&w);
      jw_key(&w, "author");
      jw_hex(&w, aw[i], LINLI_PK_BYTES);
      jw_key(&w, "name");
      jw_str(&w, lstore_author_info(s, aw[i], &ai, NULL) == 0 ? ai.name : "");
      jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_key(&w, "forks");
    jw_arr_begin(&w);
    for (uint32_t i = 0; i < fk.n; i++) {
      jw_obj_begin(&w);
      jw_key(&w, "author");
      jw_hex(&w, fk.v[i].author, LINLI_PK_BYTES);
      jw_key(&w, "seq");
      jw_uint(&w, fk.v[i].seq);
      jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_key(&w, "held");
    jw_arr_begin(&w);
    for (uint32_t i = 0; i < nheld; i++) {
      uint64_t t = hlc_ms(held[i].max_hlc);
      jw_obj_begin(&w);
      jw_key(&w, "author");
      jw_hex(&w, held[i].author, LINLI_PK_BYTES);
      jw_key(&w, "first_seq");
      jw_uint(&w, held[i].first);
      jw_key(&w, "last_seq");
      jw_uint(&w, held[i].last);
      jw_key(&w, "ahead_ms");
      jw_uint(&w, t > now ? t - now : 0);
      jw_obj_end(&w);
    }
    jw_arr_end(&w);
    cli_print_peers(stdout, &w);
    jw_obj_end(&w);
    jw_finish(&w);
  } else {
    fputs("name:     ", stdout);
    cli_text(stdout, name, strlen(name));
    printf("\nid:       %s (short %s)\n", hex, shrt);
    printf("transport key: %s\n", curve_hex);
    fputs("data dir: ", stdout);
    cli_text(stdout, lstore_dir(s), strlen(lstore_dir(s)));
    printf("\nclock:    %s\n", when);
    printf("own log:  %llu ops\n", (unsigned long long)st.own_seq);
    printf("authors:  %u\n", st.authors);
    printf("ops:      %llu\n", (unsigned long long)st.ops);
    printf("records:  %lld\n", (long long)st.digest.count);
    printf("digest:   %s\n", dig);
    if (root) {
      char rh[2 * LINLI_PK_BYTES + 1];
      hex_encode(rh, root, LINLI_PK_BYTES);
      printf("trust root: %s%s\n", rh,
             memcmp(root, lstore_self(s), LINLI_PK_BYTES) == 0 ? " (this node)" : "");
    } else {
      printf("trust root: none: this store trusts any signer and shares a log with the child it "
             "first came from (made with --no-trust)\n");
    }
    if (ts->certified) {
      char until[64];
      cli_time(until, sizeof until, hlc_make(ts->chain.c[0].not_after, 0));
      fputs("certificate: ", stdout);
      cli_text(stdout, ts->chain.c[0].name, strlen(ts->chain.c[0].name));
      printf(", %s, prefix '%s', valid until %.10s\n", trust_role_name(ts->chain.c[0].role),
             ts->chain.c[0].prefix, until);
    } else if (root && memcmp(root, lstore_self(s), LINLI_PK_BYTES) != 0) {
      printf("certificate: none yet: this node cannot write (linli cert install)\n");
    }
    if (lstore_recovering(s))
      printf("RECOVERING: restored from a backup; writes wait for the own log from the parent\n");
    for (uint32_t i = 0; i < naw; i++) {
      lauthor_info ai;
      char ah[LINLI_SHORT_ID_LEN + 1];
      ident_short(ah, aw[i]);
      fputs("WAITING: ", stdout);
      if (lstore_author_info(s, aw[i], &ai, NULL) == 0 && ai.name[0]) {
        cli_text(stdout, ai.name, strlen(ai.name));
        putchar(' ');
      }
      printf("(key %s): restored or copied back; writes as this person wait for their log "
             "from the parent\n",
             ah);
    }
    for (uint32_t i = 0; i < fk.n; i++) {
      char fh[LINLI_SHORT_ID_LEN + 1];
      ident_short(fh, fk.v[i].author);
      printf("FORK: author %s signed two histories at seq %llu (evidence kept; its new ops are "
             "refused)\n",
             fh, (unsigned long long)fk.v[i].seq);
    }
    for (uint32_t i = 0; i < nheld; i++) {
      char hh[LINLI_SHORT_ID_LEN + 1];
      uint64_t t = hlc_ms(held[i].max_hlc);
      uint64_t ahead = t > now ? t - now : 0;
      ident_short(hh, held[i].author);
      printf("HELD: author %s seqs %llu-%llu dated up to %llu h %llu min ahead of this clock "
             "(applied when the clock gets there)\n",
             hh, (unsigned long long)held[i].first, (unsigned long long)held[i].last,
             (unsigned long long)(ahead / 3600000), (unsigned long long)(ahead / 60000 % 60));
    }
    cli_print_peers(stdout, NULL);
  }
  free(ts);
  free(fk.v);
  free(held);
  free(aw);
done:
  cli_close(&s);
  return rc;
}

int
cmd_verify(cli *c)
{
  lstore *s = NULL;
  lstore_stat st;
  lerr e = {0};
  cli_progress p;
  uint64_t ops = 0;
  int rc = cli_open_read(c, &s);

  if (rc != CLI_OK)
    goto done;
  cli_progress_init(&p, "verified", " ops");
  int vr = lstore_verify(s, cli_progress_cb, &p, &ops, &e);
  cli_progress_clear(&p);
  if (vr != 0) {
    rc = cli_fail_e(&e);
    goto done;
  }
  if (lstore_stat_get(s, &st, &e) != 0) {
    rc = cli_fail_e(&e);
    goto done;
  }
  if (c->json) {
    jw w;
    jw_init(&w, stdout);
    jw_obj_begin(&w);
    jw_key(&w, "ok");
    jw_bool(&w, true);
    jw_key(&w, "ops");
    jw_uint(&w, ops);
    jw_key(&w, "authors");
    jw_uint(&w, st.authors);
    jw_obj_end(&w);
    jw_finish(&w);
  } else {
    printf("ok: %llu ops in %u author logs verified\n", (unsigned long long)ops, st.authors);
  }
done:
  cli_close(&s);
  return rc;
}

int
cmd_rebuild(cli *c)
{
  lstore *s = NULL;
  ldigest before, after;
  lerr e = {0};
  cli_progress p;
  char hb[2 * LINLI_HASH_BYTES + 1], ha[2 * LINLI_HASH_BYTES + 1];
  int rc = cli_open(c, &s);

  if (rc != CLI_OK)
    goto done;
  if (lstore_digest(s, "", 0, &before, &e) != 0) {
    rc = cli_fail_e(&e);
    goto done;
  }
  cli_progress_init(&p, "rebuilt", "");
  int rr = lstore_rebuild(s, cli_progress_cb, &p, &e);
  cli_progress_clear(&p);
  if (rr != 0) {
    rc = cli_fail_e(&e);
    goto done;
  }
  if (lstore_digest(s, "", 0, &after, &e) != 0) {
    rc = cli_fail_e(&e);
    goto done;
  }
  hex_encode(hb, before.sum, LINLI_HASH_BYTES);
  hex_encode(ha, after.sum, LINLI_HASH_BYTES);
  bool same = memcmp(before.sum, after.sum, LINLI_HASH_BYTES) == 0 &&
              before.count == after.count;
  if (c->json) {
    jw w;
    jw_init(&w, stdout);
    jw_obj_begin(&w);
    jw_key(&w, "before");
    jw_str(&w, hb);
    jw_key(&w, "after");
    jw_str(&w, ha);
    jw_key(&w, "records_before");
    jw_int(&w, before.count);
    jw_key(&w, "records_after");
    jw_int(&w, after.count);
    jw_key(&w, "same");
    jw_bool(&w, same);
    jw_obj_end(&w);
    jw_finish(&w);
  } else {
    printf("digest before: %s (%lld records)\n", hb, (long long)before.count);
    printf("digest after:  %s (%lld records)\n", ha, (long long)after.count);
    if (same)
      printf("ok: rebuild kept the digest\n");
  }
  if (!same)
    rc = cli_fail("rebuild changed the digest: the views did not match the logs");
done:
  cli_close(&s);
  return rc;
}

int
cmd_backup(cli *c)
{
  lstore *s = NULL;
  lerr e = {0};
  int rc = cli_open(c, &s);
  if (rc != CLI_OK)
    goto done;
  /* The backup is written to a file by the store; inside linli-node that
   * file is in the data directory and its contents go back to the caller. */
  char local[4200];
  int brc = cli_file_local(c->out, local, sizeof local, &e);
  if (brc == 0) {
    brc = lstore_backup(s, local, &e);
    lerr e2 = {0};
    int drc = cli_file_local_done(c->out, local, 0600, brc == 0 ? &e : &e2);
    brc = brc != 0 ? brc : drc;
  }
  if (brc != 0) {
    rc = cli_fail_e(&e);
    goto done;
  }
  if (c->json) {
    jw w;
    jw_init(&w, stdout);
    jw_obj_begin(&w);
    jw_key(&w, "backup");
    jw_str(&w, c->out);
    jw_obj_end(&w);
    jw_finish(&w);
  } else {
    printf("backup written to %s (it holds the secret key: keep it safe)\n", c->out);
  }
done:
  cli_close(&s);
  return rc;
}

/* Every person of the station whose log this store holds: their keys stay
 * after a restore to a new station key, and the parent may hold more of
 * their logs than the backup, so each waits for their log
 * (lstore_await_set).  *out and *n list them (malloc'd). */
static int
s_people_await(lstore *s, const char *dir, luser **out, size_t *n, lerr *e)
{
  size_t k = 0;
  int rc = lusers_list(dir, out, n, e);
  for (size_t i = 0; rc == 0 && i < *n; i++) {
    lhead h;
    if (lstore_head(s, (*out)[i].pk, &h, NULL) != 0 || (*out)[i].revoked)
      continue; /* signs nothing: no certificate held, or revoked */
    if ((rc = lstore_await_set(s, (*out)[i].pk, true, e)) == 0)
      (*out)[k++] = (*out)[i];
  }
  *n = k;
  return rc;
}

/* restore FILE, or restore FILE --offline --key NEXT_KEY CHAIN: the
 * station cannot wait for its parent, so it moves to a key that has never
 * signed anything (certified by its parent, carried over by hand) and
 * writes at once; the old key, whose later seqs the parent may hold, never
 * signs again. */
int
cmd_restore(cli *c)
{
  lstore *s = NULL;
  lerr e = {0};
  uint8_t old[LINLI_PK_BYTES], next[LINLI_PK_BYTES];
  if (c->offline && (c->key == NULL || c->argc != 2))
    return cli_usage(c, "--offline needs --key NEXT_KEY and its CHAIN, issued by the parent");
  if (!c->offline && (c->key != NULL || c->argc != 1))
    return cli_usage(c, "--key NEXT_KEY and CHAIN go with --offline");
  if (lstore_restore(c->argv[0], c->dir, &e) != 0)
    return cli_fail_e(&e);
  if (lstore_open(&s, c->dir, NULL, &e) != 0 || lstore_set_recovering(s, true, &e) != 0) {
    lstore_close(&s);
    return cli_fail_e(&e);
  }
  memcpy(old, lstore_self(s), LINLI_PK_BYTES);
  luser *wait = NULL;
  size_t nwait = 0;
  if (c->offline) {
    /* The people first, then the new key's certificate (its first write);
     * a failure leaves a station that waits for its parent, as a plain
     * restore does. */
    if (s_people_await(s, c->dir, &wait, &nwait, &e) != 0 ||
        lstore_set_recovering(s, false, &e) != 0 ||
        cli_rotate(s, c->key, c->argv[1], next, &e) != 0) {
      lerr ignored;
      lstore_set_recovering(s, true, &ignored);
      lstore_close(&s);
      free(wait);
      return cli_fail("restored into %s, which waits for its parent to write again: cannot move "
                      "it to the new key: %s", c->dir, e.msg);
    }
  }
  if (c->json) {
    jw w;
    jw_init(&w, stdout);
    jw_obj_begin(&w);
    jw_key(&w, "dir");
    jw_str(&w, c->dir);
    s_json_id(&w, lstore_self(s));
    if (c->offline) {
      jw_key(&w, "retired");
      jw_hex(&w, old, LINLI_PK_BYTES);
    }
    jw_key(&w, "recovering");
    jw_bool(&w, !c->offline);
    jw_key(&w, "awaiting");
    jw_arr_begin(&w);
    for (size_t i = 0; i < nwait; i++)
      jw_str(&w, wait[i].name);
    jw_arr_end(&w);
    jw_obj_end(&w);
    jw_finish(&w);
  } else {
    printf("restored into %s\n", c->dir);
    s_print_id("id: ", lstore_self(s));
    if (c->offline) {
      char a[LINLI_SHORT_ID_LEN + 1];
      ident_short(a, old);
      printf("offline: this station now signs with the new key and writes at once; the old "
             "key %s never signs again (kept as node.key.retired-%s)\n"
             "next: the parent admits the new key (its child line) and revokes %s after the "
             "last seq it holds of it (linli cert revoke --reason rotated)\n",
             a, a, a);
      if (nwait > 0) {
        fputs("people who keep their keys wait for their logs from the parent before they write "
              "again (their later ops may be there):", stdout);
        for (size_t i = 0; i < nwait; i++) {
          putchar(' ');
          cli_text(stdout, wait[i].name, strlen(wait[i].name));
        }
        putchar('\n');
      }
    } else {
      printf("recovering: writes wait until this node has recovered its own log from its "
             "parent\n");
    }
  }
  free(wait);
  lstore_close(&s);
  return CLI_OK;
}
