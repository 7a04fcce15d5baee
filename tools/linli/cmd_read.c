/*
 * cmd_read.c - the commands that read records: get, ls, log and digest.
 *
 * Text output shows values through cli_text() so that each field stays on
 * one line whatever it contains; --json output carries the exact bytes.
 * `ls` and `log` walk the store with callbacks and may fail midway (a log
 * row that no longer verifies); their output is collected in memory and
 * printed only when the walk succeeded, so a failure never leaves half a
 * listing or half a JSON document on stdout.
 */
#include "tools/linli/cli.h"
#include "tools/linli/json.h"

#include "crdt/hlc.h"
#include "crdt/op.h"

#include <stdlib.h>
#include <string.h>

/* Opens the store and makes the optional prefix argument absolute (no
 * argument: the whole store). */
static int
s_open_prefix(cli *c, lstore **s, char prefix[LINLI_KEY_MAX + 1])
{
  int rc = c->argc > 0 ? cli_key_typed(c, c->argv[0], true) : CLI_OK;
  prefix[0] = '\0';
  if (rc == CLI_OK)
    rc = cli_open_read(c, s);
  if (rc == CLI_OK && c->argc > 0)
    rc = cli_key(c, *s, c->argv[0], true, prefix);
  return rc;
}

/* Opens the store and makes the key argument absolute. */
static int
s_open_key(cli *c, lstore **s, char key[LINLI_KEY_MAX + 1])
{
  int rc = cli_key_typed(c, c->argv[0], false);
  key[0] = '\0';
  if (rc == CLI_OK)
    rc = cli_open_read(c, s);
  if (rc == CLI_OK)
    rc = cli_key(c, *s, c->argv[0], false, key);
  return rc;
}

/* ---- get ---- */

static int
s_entry_str_cmp(const void *a, const void *b)
{
  const rentry *x = *(const rentry *const *)a, *y = *(const rentry *const *)b;
  size_t n = x->s_len < y->s_len ? x->s_len : y->s_len;
  int d = n ? memcmp(x->s, y->s, n) : 0;
  if (d != 0)
    return d;
  return (x->s_len > y->s_len) - (x->s_len < y->s_len);
}

/* The distinct elements of a set field, sorted by bytes (the order of the
 * canonical state).  *out is malloc'd; returns the count, or -1. */
static int64_t
s_set_elems(const rfield *f, const rentry ***out)
{
  const rentry **v = malloc((f->nents ? f->nents : 1) * sizeof *v);
  *out = v;
  if (v == NULL)
    return -1;
  for (uint32_t i = 0; i < f->nents; i++)
    v[i] = &f->ents[i];
  qsort(v, f->nents, sizeof *v, s_entry_str_cmp);
  uint32_t n = 0;
  for (uint32_t i = 0; i < f->nents; i++)
    if (n == 0 || s_entry_str_cmp(&v[n - 1], &v[i]) != 0)
      v[n++] = v[i];
  return n;
}

int
cli_rec_text(const rec *r)
{
  char when[64], who[LINLI_SHORT_ID_LEN + 1];
  for (uint32_t i = 0; i < r->nfields; i++) {
    const rfield *f = &r->fields[i];
    if (!rfield_visible(f))
      continue;
    cli_text(stdout, f->name, f->name_len);
    printf(" (%s): ", field_kind_name(f->fk));
    switch (f->fk) {
    case FK_REGISTER:
      cli_text(stdout, f->ents[0].s, f->ents[0].s_len);
      break;
    case FK_COUNTER:
      printf("%lld", (long long)rfield_counter(f));
      break;
    case FK_SET: {
      const rentry **v;
      int64_t n = s_set_elems(f, &v);
      if (n < 0)
        return cli_fail("out of memory");
      for (int64_t k = 0; k < n; k++) {
        if (k > 0)
          fputs(", ", stdout);
        cli_text(stdout, v[k]->s, v[k]->s_len);
      }
      free(v);
      break;
    }
    case FK_LOG:
      printf("%u %s", f->nents, f->nents == 1 ? "entry" : "entries");
      for (uint32_t k = 0; k < f->nents; k++) {
        const rentry *en = &f->ents[k];
        ident_short(who, en->st.author);
        printf("\n  %s  %s  ", cli_time(when, sizeof when, en->st.hlc), who);
        cli_text(stdout, en->s, en->s_len);
      }
      break;
    }
    putchar('\n');
  }
  return CLI_OK;
}

static int
s_get_json(const rec *r, const char *key)
{
  jw w;
  jw_init(&w, stdout);
  jw_obj_begin(&w);
  jw_key(&w, "key");
  jw_str(&w, key);
  jw_key(&w, "fields");
  int rc = cli_rec_json(&w, r);
  jw_obj_end(&w);
  jw_finish(&w);
  return rc;
}

int
cli_field_json(jw *w, const rfield *f)
{
  switch (f->fk) {
  case FK_REGISTER:
    jw_strn(w, f->ents[0].s, f->ents[0].s_len);
    break;
  case FK_COUNTER:
    jw_int(w, rfield_counter(f));
    break;
  case FK_SET: {
    const rentry **v;
    int64_t n = s_set_elems(f, &v);
    if (n < 0)
      return CLI_FAIL;
    jw_arr_begin(w);
    for (int64_t k = 0; k < n; k++)
      jw_strn(w, v[k]->s, v[k]->s_len);
    jw_arr_end(w);
    free(v);
    break;
  }
  case FK_LOG:
    jw_arr_begin(w);
    for (uint32_t k = 0; k < f->nents; k++) {
      const rentry *en = &f->ents[k];
      jw_obj_begin(w);
      cli_time_json(w, en->st.hlc);
      jw_key(w, "hlc");
      jw_uint(w, en->st.hlc);
      jw_key(w, "author");
      jw_hex(w, en->st.author, LINLI_PK_BYTES);
      jw_key(w, "seq");
      jw_uint(w, en->st.seq);
      jw_key(w, "text");
      jw_strn(w, en->s, en->s_len);
      jw_obj_end(w);
    }
    jw_arr_end(w);
    break;
  }
  return CLI_OK;
}

int
cli_field_plain(FILE *out, const rfield *f)
{
  char when[64];
  switch (f->fk) {
  case FK_REGISTER:
    fwrite(f->ents[0].s, 1, f->ents[0].s_len, out);
    break;
  case FK_COUNTER:
    fprintf(out, "%lld", (long long)rfield_counter(f));
    break;
  case FK_SET: {
    const rentry **v;
    int64_t n = s_set_elems(f, &v);
    if (n < 0)
      return CLI_FAIL;
    for (int64_t k = 0; k < n; k++) {
      if (k > 0)
        fputs(CLI_SET_SEP, out);
      fwrite(v[k]->s, 1, v[k]->s_len, out);
    }
    free(v);
    break;
  }
  case FK_LOG:
    for (uint32_t k = 0; k < f->nents; k++) {
      fprintf(out, "%s%s ", k ? "\n" : "", cli_time(when, sizeof when, f->ents[k].st.hlc));
      fwrite(f->ents[k].s, 1, f->ents[k].s_len, out);
    }
    break;
  }
  return CLI_OK;
}

int
cli_rec_json(jw *w, const rec *r)
{
  char name[LINLI_FIELD_MAX + 32];
  jw_obj_begin(w);
  const rfield *prev = NULL;
  for (uint32_t i = 0; i < r->nfields; i++) {
    const rfield *f = &r->fields[i];
    if (!rfield_visible(f))
      continue;
    /* Fields are sorted by (name, kind): a second visible field of the
     * same name is told apart by its kind. */
    if (prev != NULL && prev->name_len == f->name_len &&
        memcmp(prev->name, f->name, f->name_len) == 0 && f->name_len <= LINLI_FIELD_MAX) {
      int k = snprintf(name, sizeof name, "%.*s#%s", (int)f->name_len, f->name,
                       field_kind_name(f->fk));
      jw_keyn(w, name, (size_t)k < sizeof name ? (size_t)k : sizeof name - 1);
    } else {
      jw_keyn(w, f->name, f->name_len);
    }
    prev = f;
    if (cli_field_json(w, f) != CLI_OK)
      return cli_fail("out of memory");
  }
  jw_obj_end(w);
  return CLI_OK;
}

int
cmd_get(cli *c)
{
  char key[LINLI_KEY_MAX + 1];
  lstore *s = NULL;
  rec *r = NULL;
  lerr e = {0};
  int rc = s_open_key(c, &s, key);

  if (rc != CLI_OK)
    goto done;
  int g = lstore_get(s, key, strlen(key), &r, &e);
  if (g == LINLI_ENOTFOUND || (g == 0 && !rec_present(r))) {
    rc = cli_fail("%s: not found", key);
    goto done;
  }
  if (g != 0) {
    r = NULL;
    rc = cli_fail_e(&e);
    goto done;
  }
  rc = c->json ? s_get_json(r, key) : cli_rec_text(r);
done:
  rec_destroy(&r);
  cli_close(&s);
  return rc;
}

/* ---- ls ---- */

typedef struct s_ls_ctx {
  FILE *f;
  jw w;
  bool json, nul;
} s_ls_ctx;

/* Prints a key so that a shell reads it back as one word: as it is when
 * it holds nothing a shell treats specially, else in single quotes (a
 * quote inside as '\''), as ls(1) does.  Bytes of 0x80 and up (UTF-8
 * text) are plain. */
static void
s_ls_quoted(FILE *f, const char *key, size_t n)
{
  static const char special[] = " \t'\"\\$`&|;<>()*?[]#~{}!";
  bool quote = n == 0;
  for (size_t i = 0; i < n && !quote; i++)
    quote = (unsigned char)key[i] < 0x20 || key[i] == 0x7f || strchr(special, key[i]) != NULL;
  if (!quote) {
    cli_text(f, key, n);
    return;
  }
  fputc('\'', f);
  size_t from = 0;
  for (size_t i = 0; i < n; i++) {
    if (key[i] != '\'')
      continue;
    cli_text(f, key + from, i - from);
    fputs("'\\''", f);
    from = i + 1;
  }
  cli_text(f, key + from, n - from);
  fputc('\'', f);
}

static int
s_ls_cb(void *ctx, const char *key, size_t klen, const rec *r)
{
  s_ls_ctx *x = ctx;
  if (x->json) {
    jw_strn(&x->w, key, klen);
  } else if (x->nul) {
    fwrite(key, 1, klen, x->f);
    fputc('\0', x->f);
  } else {
    s_ls_quoted(x->f, key, klen);
    fputc('\n', x->f);
  }
  return 0;
}

int
cmd_ls(cli *c)
{
  char prefix[LINLI_KEY_MAX + 1];
  lstore *s = NULL;
  lerr e = {0};
  char *buf = NULL;
  size_t len = 0;
  s_ls_ctx x = {.f = NULL, .json = c->json, .nul = c->nul};
  int rc = s_open_prefix(c, &s, prefix);

  if (rc != CLI_OK)
    goto done;
  x.f = open_memstream(&buf, &len);
  if (x.f == NULL) {
    rc = cli_fail("out of memory");
    goto done;
  }
  jw_init(&x.w, x.f);
  if (x.json)
    jw_arr_begin(&x.w);
  int sr = lstore_scan(s, prefix, strlen(prefix), s_ls_cb, &x, &e);
  if (x.json) {
    jw_arr_end(&x.w);
    jw_finish(&x.w);
  }
  if (fclose(x.f) != 0) {
    x.f = NULL;
    rc = cli_fail("out of memory");
    goto done;
  }
  x.f = NULL;
  if (sr != 0) {
    rc = cli_fail_e(&e);
    goto done;
  }
  fwrite(buf, 1, len, stdout);
done:
  free(buf);
  cli_close(&s);
  return rc;
}

/* ---- log ---- */

typedef struct s_log_ctx {
  FILE *f;
  jw w;
  bool json;
  lstore *s; /* who the authors are */
} s_log_ctx;

void
cli_author_text(FILE *f, const lauthor_info *who)
{
  cli_text(f, who->name, strlen(who->name));
  fprintf(f, " (%s", trust_role_name(who->role));
  if (who->station[0]) {
    fputs(", ", f);
    cli_text(f, who->station, strlen(who->station));
  }
  fputc(')', f);
}

void
cli_hist_text(FILE *f, const lhist_entry *h, const lauthor_info *who)
{
  const op *o = h->o;
  char when[64], id[LINLI_SHORT_ID_LEN + 1], head[2 * LINLI_HASH_BYTES + 1];
  ident_short(id, h->author);
  hex_encode(head, h->head_hash, LINLI_HASH_BYTES);
  head[LINLI_SHORT_ID_LEN] = '\0';
  fprintf(f, "%s  %s", cli_time(when, sizeof when, o->hlc), id);
  /* A person is named; a station's key speaks for itself, as before. */
  if (who && who->certified && trust_role_person(who->role)) {
    fputc(' ', f);
    cli_author_text(f, who);
  }
  fprintf(f, "  seq %llu  %s", (unsigned long long)o->seq, op_kind_name(o->kind));
  if (o->kind != OP_DEL) {
    fputc(' ', f);
    cli_text(f, o->field, o->field_len);
  }
  switch (o->kind) {
  case OP_SET:
    fputs(" = ", f);
    cli_text(f, o->str, o->str_len);
    break;
  case OP_INCR:
    fprintf(f, " %+lld", (long long)o->n);
    break;
  case OP_ADD:
  case OP_APPEND:
    fputc(' ', f);
    cli_text(f, o->str, o->str_len);
    break;
  case OP_RM:
    fputc(' ', f);
    cli_text(f, o->str, o->str_len);
    fprintf(f, " (%u %s)", o->ntags, o->ntags == 1 ? "add" : "adds");
    break;
  default:
    break;
  }
  fprintf(f, "  (head seq %llu, signed %s)\n", (unsigned long long)h->head_seq, head);
}

void
cli_hist_json(jw *w, const lhist_entry *h, const lauthor_info *who)
{
  const op *o = h->o;
  jw_obj_begin(w);
  cli_time_json(w, o->hlc);
  jw_key(w, "hlc");
  jw_uint(w, o->hlc);
  jw_key(w, "author");
  jw_hex(w, h->author, LINLI_PK_BYTES);
  jw_key(w, "name");
  jw_str(w, who ? who->name : "");
  jw_key(w, "role");
  if (who && who->role >= 0)
    jw_str(w, trust_role_name(who->role));
  else
    jw_null(w);
  jw_key(w, "station");
  jw_str(w, who ? who->station : "");
  jw_key(w, "seq");
  jw_uint(w, o->seq);
  jw_key(w, "kind");
  jw_str(w, op_kind_name(o->kind));
  jw_key(w, "field");
  jw_strn(w, o->field != NULL ? o->field : "", o->field_len);
  jw_key(w, "value");
  switch (o->kind) {
  case OP_INCR:
    jw_int(w, o->n);
    break;
  case OP_DEL:
    jw_null(w);
    break;
  default:
    jw_strn(w, o->str, o->str_len);
    break;
  }
  if (o->kind == OP_RM) {
    jw_key(w, "tags");
    jw_arr_begin(w);
    for (uint32_t i = 0; i < o->ntags; i++) {
      jw_obj_begin(w);
      jw_key(w, "author");
      jw_hex(w, o->tags[i].author, LINLI_PK_BYTES);
      jw_key(w, "seq");
      jw_uint(w, o->tags[i].seq);
      jw_obj_end(w);
    }
    jw_arr_end(w);
  }
  jw_key(w, "hash");
  jw_hex(w, h->hash, LINLI_HASH_BYTES);
  jw_key(w, "head_seq");
  jw_uint(w, h->head_seq);
  jw_key(w, "head_hash");
  jw_hex(w, h->head_hash, LINLI_HASH_BYTES);
  jw_key(w, "head_sig");
  jw_hex(w, h->head_sig, LINLI_SIG_BYTES);
  jw_obj_end(w);
}

static int
s_log_cb(void *ctx, const lhist_entry *h)
{
  s_log_ctx *x = ctx;
  lauthor_info who;
  lerr e = {0};
  int rc = lstore_author_info(x->s, h->author, &who, &e);
  if (rc)
    return rc;
  if (x->json)
    cli_hist_json(&x->w, h, &who);
  else
    cli_hist_text(x->f, h, &who);
  return 0;
}

int
cmd_log(cli *c)
{
  char key[LINLI_KEY_MAX + 1];
  lstore *s = NULL;
  lerr e = {0};
  char *buf = NULL;
  size_t len = 0;
  s_log_ctx x = {.f = NULL, .json = c->json};
  int rc = s_open_key(c, &s, key);

  if (rc != CLI_OK)
    goto done;
  x.s = s;
  x.f = open_memstream(&buf, &len);
  if (x.f == NULL) {
    rc = cli_fail("out of memory");
    goto done;
  }
  jw_init(&x.w, x.f);
  if (x.json) {
    jw_obj_begin(&x.w);
    jw_key(&x.w, "key");
    jw_str(&x.w, key);
    jw_key(&x.w, "ops");
    jw_arr_begin(&x.w);
  }
  int hr = lstore_history(s, key, strlen(key), s_log_cb, &x, &e);
  if (x.json) {
    jw_arr_end(&x.w);
    jw_obj_end(&x.w);
    jw_finish(&x.w);
  }
  if (fclose(x.f) != 0) {
    x.f = NULL;
    rc = cli_fail("out of memory");
    goto done;
  }
  x.f = NULL;
  if (hr == LINLI_ENOTFOUND) {
    rc = cli_fail("%s: not found", key);
    goto done;
  }
  if (hr != 0) {
    rc = cli_fail_e(&e);
    goto done;
  }
  fwrite(buf, 1, len, stdout);
done:
  free(buf);
  cli_close(&s);
  return rc;
}

/* ---- digest ---- */

int
cmd_digest(cli *c)
{
  char prefix[LINLI_KEY_MAX + 1];
  lstore *s = NULL;
  ldigest d;
  lerr e = {0};
  char hex[2 * LINLI_HASH_BYTES + 1];
  int rc = s_open_prefix(c, &s, prefix);

  if (rc != CLI_OK)
    goto done;
  if (lstore_digest(s, prefix, strlen(prefix), &d, &e) != 0) {
    rc = cli_fail_e(&e);
    goto done;
  }
  hex_encode(hex, d.sum, LINLI_HASH_BYTES);
  if (c->json) {
    jw w;
    jw_init(&w, stdout);
    jw_obj_begin(&w);
    jw_key(&w, "prefix");
    jw_str(&w, prefix);
    jw_key(&w, "digest");
    jw_str(&w, hex);
    jw_key(&w, "records");
    jw_int(&w, d.count);
    jw_obj_end(&w);
    jw_finish(&w);
  } else {
    printf("%s\n", hex);
  }
done:
  cli_close(&s);
  return rc;
}
