/*
 * cmd_records.c - the commands of typed records: schema (publish, show)
 * and query.
 *
 * The work is done by node/records.c and crdt/schema.c, which any other
 * front end calls the same way; this file parses arguments and prints.
 */
#include "tools/linli/cli.h"
#include "tools/linli/json.h"

#include "node/fsutil.h"
#include "node/records.h"
#include "crdt/text.h"

#include <stdlib.h>
#include <string.h>

static void
s_field_json(jw *w, const lschema_field *f)
{
  jw_obj_begin(w);
  jw_key(w, "name");
  jw_str(w, f->name);
  jw_key(w, "en");
  jw_str(w, f->en);
  jw_key(w, "kind");
  jw_str(w, field_kind_name(f->fk));
  jw_key(w, "type");
  jw_str(w, schema_vt_name(f->vt));
  jw_key(w, "required");
  jw_bool(w, f->required);
  jw_key(w, "min");
  if (f->has_min)
    jw_int(w, f->min);
  else
    jw_null(w);
  jw_key(w, "example");
  jw_str(w, schema_example(f));
  if (f->vt == LSV_ENUM) {
    jw_key(w, "codes");
    jw_arr_begin(w);
    for (uint32_t k = 0; k < f->ncodes; k++) {
      jw_obj_begin(w);
      jw_key(w, "code");
      jw_str(w, f->codes[k].code);
      jw_key(w, "zh");
      jw_str(w, f->codes[k].zh);
      jw_key(w, "en");
      jw_str(w, f->codes[k].en);
      jw_obj_end(w);
    }
    jw_arr_end(w);
  }
  jw_obj_end(w);
}

static void
s_schema_json(const lschema *s)
{
  jw w;
  jw_init(&w, stdout);
  jw_obj_begin(&w);
  jw_key(&w, "schema");
  jw_str(&w, s->name);
  jw_key(&w, "version");
  jw_int(&w, s->version);
  jw_key(&w, "types");
  jw_arr_begin(&w);
  for (uint32_t i = 0; i < s->ntypes; i++) {
    const lschema_type *t = &s->types[i];
    jw_obj_begin(&w);
    jw_key(&w, "name");
    jw_str(&w, t->name);
    jw_key(&w, "en");
    jw_str(&w, t->en);
    jw_key(&w, "collection");
    jw_str(&w, t->collection);
    jw_key(&w, "fields");
    jw_arr_begin(&w);
    for (uint32_t k = 0; k < t->nfields; k++)
      s_field_json(&w, &t->fields[k]);
    jw_arr_end(&w);
    jw_obj_end(&w);
  }
  jw_arr_end(&w);
  jw_obj_end(&w);
  jw_finish(&w);
}

static void
s_schema_text(const lschema *s)
{
  printf("schema %s, version %lld\n", s->name, (long long)s->version);
  for (uint32_t i = 0; i < s->ntypes; i++) {
    const lschema_type *t = &s->types[i];
    printf("\n%s (%s): keys %s/ID\n", t->name, t->en, t->collection);
    for (uint32_t k = 0; k < t->nfields; k++) {
      const lschema_field *f = &t->fields[k];
      printf("  %s%s  %s %s", f->name, f->required ? " *" : "", schema_vt_name(f->vt),
             field_kind_name(f->fk));
      if (f->has_min)
        printf(", >= %lld", (long long)f->min);
      if (f->vt == LSV_ENUM) {
        fputs(":", stdout);
        for (uint32_t j = 0; j < f->ncodes; j++)
          printf(" %s", f->codes[j].zh);
      }
      printf("  (%s)\n", f->en);
    }
  }
}

int
cmd_schema(cli *c)
{
  const char *sub = c->argv[0];
  lstore *s = NULL;
  lschema *sch = NULL;
  lerr e = {0};
  int rc;

  if (strcmp(sub, "publish") == 0) {
    if (c->argc != 2)
      return cli_usage(c, "usage: linli schema publish FILE");
    uint8_t *text = NULL;
    size_t n = 0;
    if (fs_read_all(c->argv[1], LINLI_VALUE_MAX, &text, &n, &e) != 0) {
      if (e.code == LINLI_ETOOBIG)
        return cli_fail("%s: a schema is at most %d bytes", c->argv[1], LINLI_VALUE_MAX);
      return cli_fail_e(&e);
    }
    /* checked before the store is opened: a bad file is the clerk's */
    if (schema_parse(&sch, (const char *)text, n, &e) != 0) {
      free(text);
      return cli_fail("%s: %s", c->argv[1], e.msg);
    }
    rc = cli_open(c, &s);
    lident id;
    if (rc == CLI_OK && (rc = cli_identity(s, &id)) == CLI_OK) {
      if (lrecords_publish(s, &id, (const char *)text, n, cli_wall_ms(), &e) != 0)
        rc = cli_fail_e(&e);
      else
        printf("published schema %s version %lld\n", sch->name, (long long)sch->version);
      ident_wipe(&id);
    }
    free(text);
    goto done;
  }
  if (strcmp(sub, "show") != 0)
    return cli_usage(c, "unknown subcommand '%s' (publish or show)", sub);
  if (c->argc != 1)
    return cli_usage(c, "usage: linli schema show");
  rc = cli_open(c, &s);
  if (rc != CLI_OK)
    goto done;
  if (lrecords_schema(s, &sch, &e) != 0) {
    rc = cli_fail_e(&e);
    goto done;
  }
  if (sch == NULL) {
    rc = cli_fail("this station holds no schema: records are free-form (the root publishes one "
                  "with linli schema publish FILE)");
    goto done;
  }
  if (c->json)
    s_schema_json(sch);
  else
    s_schema_text(sch);
done:
  schema_destroy(&sch);
  cli_close(&s);
  return rc;
}

/* ---- query ---- */

/* One CSV cell (RFC 4180): quoted when it holds a comma, a quote, a line
 * break or leading or trailing space, quotes doubled. */
static void
s_csv_cell(FILE *f, const char *v, size_t n)
{
  bool quote = n > 0 && (v[0] == ' ' || v[n - 1] == ' ');
  for (size_t i = 0; i < n && !quote; i++)
    quote = v[i] == ',' || v[i] == '"' || v[i] == '\r' || v[i] == '\n';
  if (!quote) {
    fwrite(v, 1, n, f);
    return;
  }
  fputc('"', f);
  for (size_t i = 0; i < n; i++) {
    if (v[i] == '"')
      fputc('"', f);
    fputc(v[i], f);
  }
  fputc('"', f);
}

typedef struct s_query {
  cli *c;
  const lschema_field **cols;
  uint32_t ncols;
  jw w;
  char *cell; /* a field's plain text, for CSV and text output */
  size_t cell_len;
  FILE *cellf;
  uint64_t rows;
} s_query;

/* The plain text of field f of r into q->cell ("" when absent). */
static int
s_cell(s_query *q, const rec *r, const lschema_field *f)
{
  const rfield *rf = rec_field(r, f->name, strlen(f->name), f->fk);
  rewind(q->cellf);
  if (rf != NULL && rfield_visible(rf) && cli_field_plain(q->cellf, rf) != CLI_OK)
    return cli_fail("out of memory");
  fflush(q->cellf);
  q->cell_len = (size_t)ftell(q->cellf);
  return CLI_OK;
}

static int
s_query_row(void *ctx, const char *key, size_t klen, size_t ns_len, const rec *r)
{
  s_query *q = ctx;
  const char *id = key + klen;
  while (id > key && id[-1] != '/')
    id--;
  q->rows++;
  if (q->c->json) {
    jw_obj_begin(&q->w);
    jw_key(&q->w, "key");
    jw_strn(&q->w, key, klen);
    jw_key(&q->w, "namespace");
    jw_strn(&q->w, key, ns_len);
    jw_key(&q->w, "id");
    jw_strn(&q->w, id, (size_t)(key + klen - id));
    jw_key(&q->w, "fields");
    jw_obj_begin(&q->w);
    for (uint32_t i = 0; i < q->ncols; i++) {
      const lschema_field *f = q->cols[i];
      const rfield *rf = rec_field(r, f->name, strlen(f->name), f->fk);
      if (rf == NULL || !rfield_visible(rf))
        continue;
      jw_key(&q->w, f->name);
      if (cli_field_json(&q->w, rf) != CLI_OK)
        return cli_fail("out of memory");
    }
    jw_obj_end(&q->w);
    jw_obj_end(&q->w);
    return 0;
  }
  if (q->c->csv) {
    s_csv_cell(stdout, key, ns_len);
    fputc(',', stdout);
    s_csv_cell(stdout, id, (size_t)(key + klen - id));
  } else {
    cli_text(stdout, key, klen);
  }
  for (uint32_t i = 0; i < q->ncols; i++) {
    if (s_cell(q, r, q->cols[i]) != CLI_OK)
      return CLI_FAIL;
    if (q->c->csv) {
      fputc(',', stdout);
      s_csv_cell(stdout, q->cell, q->cell_len);
    } else if (q->cell_len > 0) {
      printf("  %s=", q->cols[i]->name);
      cli_text(stdout, q->cell, q->cell_len);
    }
  }
  fputs(q->c->csv ? "\r\n" : "\n", stdout);
  return 0;
}

/* The columns --fields names (comma or 、 or ， separated), or every field
 * of the type. */
static int
s_columns(cli *c, const lschema_type *t, s_query *q)
{
  q->cols = calloc(t->nfields > 0 ? t->nfields : 1, sizeof *q->cols);
  if (q->cols == NULL)
    return cli_fail("out of memory");
  if (c->fields == NULL) {
    for (uint32_t i = 0; i < t->nfields; i++)
      q->cols[q->ncols++] = &t->fields[i];
    return CLI_OK;
  }
  const char *p = c->fields;
  while (*p != '\0') {
    size_t n = 0, sep = 0;
    while (p[n] != '\0' && sep == 0) {
      if (p[n] == ',')
        sep = 1;
      else if (strncmp(p + n, "，", 3) == 0 || strncmp(p + n, "、", 3) == 0)
        sep = 3;
      else
        n++;
    }
    const char *name = p;
    size_t len = n;
    text_trim(&name, &len);
    if (len > 0) {
      const lschema_field *f;
      lerr e = {0};
      if (schema_field_named(t, name, len, &f, &e) != 0)
        return cli_usage(c, "--fields: %s", e.msg);
      if (q->ncols == t->nfields)
        return cli_usage(c, "--fields names a field twice");
      q->cols[q->ncols++] = f;
    }
    p += n + sep;
  }
  if (q->ncols == 0)
    return cli_usage(c, "--fields names no field");
  return CLI_OK;
}

int
cmd_query(cli *c)
{
  lstore *s = NULL;
  lschema *sch = NULL;
  lschema_where w[16];
  s_query q = {.c = c};
  char prefix[LINLI_KEY_MAX + 1];
  lerr e = {0};
  int rc = c->argc > 1 ? cli_key_typed(c, c->argv[1], true) : CLI_OK;

  if (c->json && c->csv)
    return cli_usage(c, "--json and --csv exclude each other");
  if (rc == CLI_OK)
    rc = cli_open(c, &s);
  if (rc == CLI_OK)
    rc = cli_key(c, s, c->argc > 1 ? c->argv[1] : "", true, prefix);
  if (rc != CLI_OK)
    goto done;
  if (lrecords_schema(s, &sch, &e) != 0) {
    rc = cli_fail_e(&e);
    goto done;
  }
  if (sch == NULL) {
    rc = cli_fail("this station holds no schema, so records have no types (see linli schema "
                  "--help)");
    goto done;
  }
  const lschema_type *t = schema_type(sch, c->argv[0]);
  if (t == NULL) {
    char list[400] = "";
    size_t k = 0;
    for (uint32_t i = 0; i < sch->ntypes && k < sizeof list; i++) {
      int n = snprintf(list + k, sizeof list - k, "%s%s", i ? " " : "", sch->types[i].name);
      if (n < 0)
        break;
      k += (size_t)n;
    }
    rc = cli_usage(c, "no record type '%s' (types: %s)", c->argv[0], list);
    goto done;
  }
  for (int i = 0; i < c->nwheres; i++)
    if (schema_where_parse(t, c->wheres[i], &w[i], &e) != 0) {
      rc = cli_usage(c, "%s", e.msg);
      goto done;
    }
  if ((rc = s_columns(c, t, &q)) != CLI_OK)
    goto done;
  q.cellf = open_memstream(&q.cell, &q.cell_len);
  if (q.cellf == NULL) {
    rc = cli_fail("out of memory");
    goto done;
  }
  if (c->json) {
    jw_init(&q.w, stdout);
    jw_arr_begin(&q.w);
  } else if (c->csv) {
    /* The byte order mark makes Excel read UTF-8 (it guesses GB18030 else). */
    fputs("\xEF\xBB\xBF所属,编号", stdout);
    for (uint32_t i = 0; i < q.ncols; i++) {
      fputc(',', stdout);
      s_csv_cell(stdout, q.cols[i]->name, strlen(q.cols[i]->name));
    }
    fputs("\r\n", stdout);
  }
  int qr = lrecords_query(s, sch, t, prefix, w, (uint32_t)c->nwheres, s_query_row, &q, &e);
  if (qr != 0) {
    rc = qr == CLI_FAIL ? CLI_FAIL : cli_fail_e(&e);
    goto done;
  }
  if (c->json) {
    jw_arr_end(&q.w);
    jw_finish(&q.w);
  }
done:
  if (q.cellf != NULL)
    fclose(q.cellf);
  free(q.cell);
  free(q.cols);
  schema_destroy(&sch);
  cli_close(&s);
  return rc;
}
