/*
 * cmd_records.c - the commands of typed records: schema (publish, show)
 * and query.
 *
 * The work is done by node/records.c and crdt/schema.c, which any other
 * front end calls the same way; this file parses arguments and prints.
 */
#include "tools/linli/cli.h"
#include "tools/linli/json.h"

#include "node/daemon.h"
#include "node/records.h"
#include "crdt/arena.h"
#include "crdt/csv.h"
#include "crdt/hmap.h"
#include "crdt/text.h"

#include <errno.h>
#include <iconv.h>
#include <stdint.h>
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

/* The schema the station holds into *sch, or one line saying it holds
 * none (records are then free-form). */
static int
s_schema_held(lstore *s, lschema **sch)
{
  lerr e = {0};
  if (lrecords_schema(s, sch, &e) != 0)
    return cli_fail_e(&e);
  if (*sch == NULL)
    return cli_fail("this station holds no schema: records are free-form, without types (the "
                    "root publishes one with linli schema publish FILE)");
  return CLI_OK;
}

/* The type named by `name` (zh, en or collection), or a usage error that
 * lists the types. */
static int
s_type_arg(const cli *c, const lschema *sch, const char *name, const lschema_type **t)
{
  *t = schema_type(sch, name);
  if (*t != NULL)
    return CLI_OK;
  char list[400] = "";
  size_t k = 0;
  for (uint32_t i = 0; i < sch->ntypes && k < sizeof list; i++) {
    int n = snprintf(list + k, sizeof list - k, "%s%s", i ? " " : "", sch->types[i].name);
    if (n < 0)
      break;
    k += (size_t)n;
  }
  return cli_usage(c, "no record type '%s' (types: %s)", name, list);
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
    if (cli_file_read(c->argv[1], LINLI_VALUE_MAX, &text, &n, &e) != 0) {
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
  rc = cli_open_read(c, &s);
  if (rc == CLI_OK)
    rc = s_schema_held(s, &sch);
  if (rc != CLI_OK)
    goto done;
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
    rc = cli_open_read(c, &s);
  if (rc == CLI_OK)
    rc = cli_key(c, s, c->argc > 1 ? c->argv[1] : "", true, prefix);
  const lschema_type *t = NULL;
  if (rc == CLI_OK)
    rc = s_schema_held(s, &sch);
  if (rc == CLI_OK)
    rc = s_type_arg(c, sch, c->argv[0], &t);
  if (rc != CLI_OK)
    goto done;
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

/* ---- import-csv ---- */

/* Rows are written in deltas of at most this many ops, well inside the
 * 1 MiB bound on a delta (LSTORE_WRITE_MAX): at most 256 cells of a row
 * under 64 KiB each would not fit in one, so a batch is also cut at
 * S_BATCH_BYTES of values. */
#define S_BATCH_OPS 2048u
#define S_BATCH_BYTES (512u << 10)
/* The largest CSV file: as much as a request to linli-node may carry. */
#define S_CSV_MAX DAEMON_CTL_MAX

typedef struct s_import {
  cli *c;
  lstore *s;
  const lschema *sch;
  const lschema_type *t;
  char ns[LINLI_KEY_MAX + 1];
  int col_ns, col_id;
  const lschema_field *cols[LCSV_CELLS_MAX];
  bool write;         /* the second pass: ops are written */
  bool fatal;         /* the header is wrong: stop */
  uint64_t rows, bad, nops, deltas, records;
  hmap ids;           /* ID -> first row, in the first pass */
  larena arena;       /* the strings of the batch's ops */
  larena rowarena;    /* set elements of the row being read */
  char vals[LCSV_CELLS_MAX * 128]; /* canonical values of the row's cells */
  op *ops;
  uint32_t nops_batch, cap;
  size_t batch_bytes;
  lident own;         /* the node's key, or ... */
  lperson *person;    /* ... the person's (--as) */
  const lident *id;   /* the one that signs */
  char msg[400];
} s_import;

static int
s_import_flush(s_import *x, lerr *e)
{
  if (x->nops_batch == 0)
    return 0;
  int rc = lstore_write(x->s, x->id, x->ops, x->nops_batch, cli_wall_ms(), e);
  if (rc == 0)
    x->deltas++;
  x->nops_batch = 0;
  x->batch_bytes = 0;
  larena_reset(&x->arena);
  return rc;
}

/* Adds one op to the row's list (strings still borrowed: copied into the
 * arena when the row is kept). */
static op *
s_import_op(op *row, uint32_t *n, uint32_t cap, uint8_t kind, const char *key,
            const lschema_field *f)
{
  if (*n == cap)
    return NULL;
  op *o = &row[(*n)++];
  memset(o, 0, sizeof *o);
  o->kind = kind;
  o->key = key;
  o->key_len = (uint32_t)strlen(key);
  o->field = f->name;
  o->field_len = (uint32_t)strlen(f->name);
  return o;
}

static bool
s_has_entry(const rfield *rf, const char *v, size_t n)
{
  for (uint32_t i = 0; rf != NULL && i < rf->nents; i++)
    if (rf->ents[i].s_len == n && memcmp(rf->ents[i].s, v, n) == 0)
      return true;
  return false;
}

/* The length of a leading "2026-12-01T10:17:56.270+08:00 " (or "...Z "),
 * as cli_time writes it, else 0. */
static size_t
s_time_prefix(const char *t, size_t n)
{
  if (n < 25 || t[4] != '-' || t[10] != 'T' || t[19] != '.')
    return 0;
  if (t[23] == 'Z' && t[24] == ' ')
    return 25;
  if (n >= 30 && (t[23] == '+' || t[23] == '-') && t[26] == ':' && t[29] == ' ')
    return 30;
  return 0;
}

/* The ops that make record `key` (held as r, or NULL) show the row's cells;
 * an empty cell changes nothing.  Values made canonical into vals
 * (LCSV_CELLS_MAX slots of 128 bytes).  Returns the number of ops, or -1
 * with the reason in e. */
static int
s_row_ops(s_import *x, const char *key, const rec *r, char **cells, const size_t *len,
          uint32_t ncells, op *ops, uint32_t cap, char *vals, lerr *e)
{
  uint32_t n = 0;
  for (uint32_t i = 0; i < ncells; i++) {
    const lschema_field *f = x->cols[i];
    const char *v = cells[i];
    size_t vn = len[i];
    if (f == NULL || vn == 0)
      continue;
    const rfield *rf = r != NULL ? rec_field(r, f->name, strlen(f->name), f->fk) : NULL;
    if (rf != NULL && !rfield_visible(rf))
      rf = NULL;
    char *slot = vals + (size_t)i * 128;
    size_t sl;
    op *o = NULL;
    switch (f->fk) {
    case FK_REGISTER:
      if (schema_value(f, v, vn, slot, 128, &sl, NULL, e) != 0)
        return -1;
      if (sl >= 128) /* text too long for the slot: kept as typed */
        slot = (char *)v;
      if (rf != NULL && rf->ents[0].s_len == sl && memcmp(rf->ents[0].s, slot, sl) == 0)
        break;
      o = s_import_op(ops, &n, cap, OP_SET, key, f);
      if (o != NULL) {
        o->str = slot;
        o->str_len = (uint32_t)sl;
      }
      break;
    case FK_COUNTER: {
      int64_t target;
      if (text_parse_i64(v, vn, &target, NULL) != 0) {
        lerr_set(e, LINLI_EINVAL, "%s: '%.*s' is not an integer; expected %s, e.g. %s",
                 f->name, (int)(vn > 60 ? 60 : vn), v, schema_vt_name(f->vt),
                 schema_example(f));
        return -1;
      }
      /* The cell is the value the counter should show: the increment is
       * the difference, so importing the same file twice adds nothing. */
      int64_t now = rf != NULL ? rfield_counter(rf) : 0;
      if (target != now && (o = s_import_op(ops, &n, cap, OP_INCR, key, f)) != NULL)
        o->n = (int64_t)((uint64_t)target - (uint64_t)now);
      break;
    }
    case FK_LOG: {
      /* one entry a line; a line as query --csv writes it starts with its
       * time, which the entry already carries */
      const char *p = v, *end = v + vn;
      while (p < end) {
        const char *q = memchr(p, '\n', (size_t)(end - p));
        if (q == NULL)
          q = end;
        const char *t = p;
        size_t tn = (size_t)(q - p);
        p = q < end ? q + 1 : end;
        if (tn > 0 && t[tn - 1] == '\r')
          tn--;
        size_t skip = s_time_prefix(t, tn);
        t += skip;
        tn -= skip;
        if (tn == 0 || s_has_entry(rf, t, tn))
          continue;
        if ((o = s_import_op(ops, &n, cap, OP_APPEND, key, f)) != NULL) {
          o->str = t;
          o->str_len = (uint32_t)tn;
        }
      }
      break;
    }
    case FK_SET: {
      /* elements joined by 、 as query --csv writes them */
      const char *p = v, *end = v + vn;
      while (p < end) {
        const char *q = p;
        while (q < end && !(end - q >= 3 && memcmp(q, CLI_SET_SEP, 3) == 0))
          q++;
        const char *el = p;
        size_t eln = (size_t)(q - p);
        text_trim(&el, &eln);
        p = q < end ? q + 3 : end;
        if (eln == 0)
          continue;
        char *es = larena_alloc(&x->rowarena, 128);
        if (es == NULL)
          return lerr_set(e, LINLI_ENOMEM, "out of memory"), -1;
        if (schema_value(f, el, eln, es, 128, &sl, NULL, e) != 0)
          return -1;
        if (sl >= 128)
          es = (char *)el;
        if (!s_has_entry(rf, es, sl) && (o = s_import_op(ops, &n, cap, OP_ADD, key, f)) != NULL) {
          o->str = es;
          o->str_len = (uint32_t)sl;
        }
      }
      break;
    }
    }
    if (n == cap)
      return lerr_set(e, LINLI_ETOOBIG, "too many values in one row"), -1;
  }
  return (int)n;
}

static int
s_header(s_import *x, char **cells, const size_t *len, uint32_t n)
{
  lerr e = {0};
  x->col_ns = x->col_id = -1;
  for (uint32_t i = 0; i < n; i++) {
    const char *h = cells[i];
    size_t hn = len[i];
    text_trim(&h, &hn);
    x->cols[i] = NULL;
    if (hn == strlen("编号") && memcmp(h, "编号", hn) == 0)
      x->col_id = (int)i;
    else if (hn == strlen("所属") && memcmp(h, "所属", hn) == 0)
      x->col_ns = (int)i;
    else if (hn > 0 && schema_field_named(x->t, h, hn, &x->cols[i], &e) != 0) {
      snprintf(x->msg, sizeof x->msg, "row 1 (header) column %u: %s", i + 1, e.msg);
      return -1;
    }
  }
  if (x->col_id < 0) {
    snprintf(x->msg, sizeof x->msg, "row 1 (header): no column 编号 (the record's ID)");
    return -1;
  }
  return 0;
}

static int
s_import_row(void *ctx, uint64_t row, char **cells, const size_t *len, uint32_t n)
{
  s_import *x = ctx;
  if (row == 1) {
    if (s_header(x, cells, len, n) != 0) {
      x->fatal = true;
      return 1;
    }
    return 0;
  }
  bool empty = true;
  for (uint32_t i = 0; i < n && empty; i++)
    empty = len[i] == 0;
  if (empty)
    return 0;
  x->rows++;
  lerr e = {0};
  char key[LINLI_KEY_MAX + 1];
  const char *idv = (uint32_t)x->col_id < n ? cells[x->col_id] : "";
  size_t idn = (uint32_t)x->col_id < n ? len[x->col_id] : 0;
  text_trim(&idv, &idn);
  const char *ns = x->ns;
  size_t nsn = strlen(x->ns);
  if (x->col_ns >= 0 && (uint32_t)x->col_ns < n && len[x->col_ns] > 0) {
    ns = cells[x->col_ns];
    nsn = len[x->col_ns];
    text_trim(&ns, &nsn);
  }
  int kn = snprintf(key, sizeof key, "%.*s%s%s/%.*s", (int)nsn, ns,
                    nsn > 0 && ns[nsn - 1] != '/' ? "/" : "", x->t->collection, (int)idn, idv);
  rec *r = NULL;
  op ops[LCSV_CELLS_MAX * 2];
  int nops = -1;
  larena_reset(&x->rowarena);
  if (idn == 0 || memchr(idv, '/', idn) != NULL)
    lerr_set(&e, LINLI_EINVAL, "编号 '%.*s' is empty or holds '/'", (int)idn, idv);
  else if (kn < 0 || (size_t)kn >= sizeof key || key_check(key, (size_t)kn, &e) != 0)
    lerr_set(&e, LINLI_EINVAL, "the key of 编号 '%.*s' is not valid", (int)idn, idv);
  else if (strncmp(key, x->ns, strlen(x->ns)) != 0)
    lerr_set(&e, LINLI_EINVAL, "%s is outside this station's namespace %s", key, x->ns);
  else if (!x->write && hmap_get(&x->ids, key, (size_t)kn) != NULL)
    lerr_set(&e, LINLI_EINVAL, "编号 %.*s again (first on row %llu)", (int)idn, idv,
             (unsigned long long)(uintptr_t)hmap_get(&x->ids, key, (size_t)kn));
  else if (!x->write && hmap_put(&x->ids, key, (size_t)kn, (void *)(uintptr_t)row) != 0)
    lerr_set(&e, LINLI_ENOMEM, "out of memory");
  else {
    lerr ge = {0};
    int g = lstore_get(x->s, key, (size_t)kn, &r, &ge);
    if (g != 0 && g != LINLI_ENOTFOUND) {
      snprintf(x->msg, sizeof x->msg, "%s", ge.msg);
      x->fatal = true;
      return 1;
    }
    if (g != 0)
      r = NULL;
    nops = s_row_ops(x, key, r, cells, len, n, ops, LCSV_CELLS_MAX * 2, x->vals, &e);
    if (nops >= 0 && schema_check_ops(x->t, r, ops, (uint32_t)nops, NULL, &e) != 0)
      nops = -1;
  }
  rec_destroy(&r);
  if (nops < 0) {
    x->bad++;
    printf("row %llu: %s\n", (unsigned long long)row, e.msg);
    return 0;
  }
  x->nops += (uint64_t)nops;
  x->records += nops > 0;
  if (!x->write || nops == 0)
    return 0;
  /* Kept for the batch: the ops and their strings copied into the arena. */
  if (x->nops_batch + (uint32_t)nops > S_BATCH_OPS || x->batch_bytes >= S_BATCH_BYTES)
    if (s_import_flush(x, &e) != 0) {
      snprintf(x->msg, sizeof x->msg, "%s", e.msg);
      x->fatal = true;
      return 1;
    }
  char *k = larena_dup(&x->arena, key, (size_t)kn + 1);
  for (int i = 0; i < nops && k != NULL; i++) {
    op *o = &x->ops[x->nops_batch++];
    *o = ops[i];
    o->key = k;
    o->field = larena_dup(&x->arena, o->field, o->field_len);
    if (o->str_len > 0)
      o->str = larena_dup(&x->arena, o->str, o->str_len);
    if (o->field == NULL || (o->str_len > 0 && o->str == NULL))
      k = NULL;
    x->batch_bytes += o->str_len + o->field_len + (size_t)kn;
  }
  if (k == NULL) {
    snprintf(x->msg, sizeof x->msg, "out of memory");
    x->fatal = true;
    return 1;
  }
  return 0;
}

/* Feeds the file `path`, text[0..len), through iconv (from `enc` to UTF-8)
 * into the CSV reader, in chunks; with p NULL, only checks that the file is
 * valid in enc.  LINLI_EMALFORMED when it is not. */
static int
s_stream(const char *path, const uint8_t *text, size_t len, const char *enc, size_t skip,
         lcsv *p, lerr *e)
{
  FILE *f = fmemopen((void *)text, len, "rb");
  if (f == NULL)
    return lerr_set(e, LINLI_EIO, "%s: %s", path, strerror(errno));
  iconv_t cd = iconv_open("UTF-8", enc);
  if (cd == (iconv_t)-1) {
    fclose(f);
    return lerr_set(e, LINLI_EIO, "cannot convert from %s: %s", enc, strerror(errno));
  }
  char in[65536 + 8], out[4 * 65536 + 64];
  size_t have = 0;
  uint64_t offset = 0;
  int rc = 0;
  if (skip > 0 && fread(in, 1, skip, f) != skip)
    rc = lerr_set(e, LINLI_EIO, "%s: cannot read", path);
  for (;;) {
    if (rc != 0)
      break;
    size_t got = fread(in + have, 1, 65536, f);
    if (got == 0 && ferror(f)) {
      rc = lerr_set(e, LINLI_EIO, "%s: %s", path, strerror(errno));
      break;
    }
    have += got;
    if (have == 0)
      break;
    char *ip = in, *outp = out;
    size_t il = have, ol = sizeof out;
    size_t r = iconv(cd, &ip, &il, &outp, &ol);
    if (r == (size_t)-1 && errno == EILSEQ) {
      rc = lerr_set(e, LINLI_EMALFORMED, "%s: not valid %s at byte %llu", path, enc,
                    (unsigned long long)(offset + skip + (uint64_t)(ip - in)));
      break;
    }
    /* EINVAL: a character cut by the chunk's end, completed next time */
    if (r == (size_t)-1 && errno == EINVAL && got == 0) {
      rc = lerr_set(e, LINLI_EMALFORMED, "%s: ends inside a %s character", path, enc);
      break;
    }
    offset += (uint64_t)(ip - in);
    memmove(in, ip, il);
    have = il;
    if (p != NULL && outp > out && (rc = lcsv_feed(p, out, (size_t)(outp - out), e)) < 0)
      lerr_wrap(e, rc, "%s: ", path);
    if (got == 0)
      break;
  }
  if (rc == 0 && p != NULL && (rc = lcsv_finish(p, e)) < 0)
    lerr_wrap(e, rc, "%s: ", path);
  iconv_close(cd);
  fclose(f);
  return rc;
}

int
cmd_import_csv(cli *c)
{
  const char *path = c->argv[1];
  s_import x = {.c = c, .col_ns = -1, .col_id = -1};
  lschema *sch = NULL;
  lcsv p;
  lerr e = {0};
  int rc = cli_open(c, &x.s);
  bool have_id = false;
  uint8_t *text = NULL;
  size_t tn = 0;

  hmap_init(&x.ids);
  larena_init(&x.arena);
  larena_init(&x.rowarena);
  lcsv_init(&p, s_import_row, &x);
  if (rc == CLI_OK)
    rc = s_schema_held(x.s, &sch);
  if (rc == CLI_OK)
    rc = s_type_arg(c, sch, c->argv[0], &x.t);
  if (rc != CLI_OK)
    goto done;
  x.sch = sch;
  if ((rc = cli_key(c, x.s, "", true, x.ns)) != CLI_OK)
    goto done;
  /* The encoding: UTF-8 with a byte order mark, UTF-8 without when every
   * byte is valid UTF-8, else GB18030 (what Chinese Excel saves as CSV). */
  if (cli_file_read(path, S_CSV_MAX, &text, &tn, &e) != 0) {
    if (e.code == LINLI_ETOOBIG)
      rc = cli_fail("%s: a CSV file is at most %zu MiB; split it", path, S_CSV_MAX >> 20);
    else
      rc = cli_fail_e(&e);
    goto done;
  }
  size_t skip = tn >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
  const char *enc = "UTF-8";
  if (skip == 0 && s_stream(path, text, tn, "UTF-8", 0, NULL, &e) != 0) {
    if (e.code != LINLI_EMALFORMED) {
      rc = cli_fail_e(&e);
      goto done;
    }
    enc = "GB18030";
  }
  /* Pass 1: every row checked, every bad one reported; nothing written. */
  if (s_stream(path, text, tn, enc, skip, &p, &e) != 0 && !x.fatal) {
    rc = cli_fail_e(&e);
    goto done;
  }
  if (x.fatal) {
    rc = cli_fail("%s: %s", path, x.msg);
    goto done;
  }
  if (x.bad > 0) {
    rc = cli_fail("%s: %llu of %llu rows refused (listed above); nothing written", path,
                  (unsigned long long)x.bad, (unsigned long long)x.rows);
    goto done;
  }
  if (c->dry_run) {
    printf("%s (%s): %llu rows valid; would write %llu ops to %llu records\n", path, enc,
           (unsigned long long)x.rows, (unsigned long long)x.nops,
           (unsigned long long)x.records);
    goto done;
  }
  /* Pass 2: the same rows again, written in deltas of S_BATCH_OPS. */
  have_id = true;
  if ((rc = cli_signer(c, x.s, &x.own, &x.person, &x.id)) != CLI_OK)
    goto done;
  x.ops = malloc(S_BATCH_OPS * sizeof *x.ops);
  if (x.ops == NULL) {
    rc = cli_fail("out of memory");
    goto done;
  }
  hmap_free(&x.ids);
  x.write = true;
  x.rows = x.nops = x.records = 0;
  lcsv_free(&p);
  lcsv_init(&p, s_import_row, &x);
  if (s_stream(path, text, tn, enc, skip, &p, &e) != 0 || x.fatal || x.bad > 0 ||
      s_import_flush(&x, &e) != 0) {
    rc = cli_fail("%s: stopped after %llu deltas: %s", path, (unsigned long long)x.deltas,
                  x.fatal ? x.msg : e.msg[0] ? e.msg : "a row changed between the passes");
    goto done;
  }
  printf("imported %llu rows of %s from %s (%s): %llu ops to %llu records in %llu deltas\n",
         (unsigned long long)x.rows, x.t->name, path, enc, (unsigned long long)x.nops,
         (unsigned long long)x.records, (unsigned long long)x.deltas);
done:
  if (have_id) {
    ident_wipe(&x.own);
    lperson_free(&x.person);
  }
  free(x.ops);
  free(text);
  lcsv_free(&p);
  larena_free(&x.arena);
  larena_free(&x.rowarena);
  hmap_free(&x.ids);
  schema_destroy(&sch);
  cli_close(&x.s);
  return rc;
}

/* ---- report ---- */

typedef struct s_report {
  cli *c;
  const char *type;  /* --type, resolved to a collection below */
  const char *month; /* --month */
  jw w;
  uint64_t rows;
} s_report;

static int
s_report_row(void *ctx, const lschema_type *t, const char *month, const char *item, size_t ilen,
             int64_t v)
{
  s_report *x = ctx;
  if (x->type != NULL && strcmp(x->type, t->collection) != 0)
    return 0;
  if (x->month != NULL ? strcmp(x->month, month) != 0 : month[0] != '\0')
    return 0;
  char label[600];
  lrecords_item_label(label, sizeof label, item, ilen);
  x->rows++;
  if (x->c->json) {
    jw_obj_begin(&x->w);
    jw_key(&x->w, "type");
    jw_str(&x->w, t->name);
    jw_key(&x->w, "collection");
    jw_str(&x->w, t->collection);
    jw_key(&x->w, "month");
    jw_str(&x->w, month);
    jw_key(&x->w, "item");
    jw_strn(&x->w, item, ilen);
    jw_key(&x->w, "label");
    jw_str(&x->w, label);
    jw_key(&x->w, "value");
    jw_int(&x->w, v);
    jw_obj_end(&x->w);
  } else if (x->c->csv) {
    s_csv_cell(stdout, t->name, strlen(t->name));
    fputc(',', stdout);
    s_csv_cell(stdout, month, strlen(month));
    fputc(',', stdout);
    s_csv_cell(stdout, label, strlen(label));
    printf(",%lld\r\n", (long long)v);
  } else {
    printf("%s%s%s  ", t->name, month[0] ? " " : "", month);
    cli_text(stdout, label, strlen(label));
    printf("  %lld\n", (long long)v);
  }
  return 0;
}

int
cmd_report(cli *c)
{
  lstore *s = NULL;
  lschema *sch = NULL;
  char prefix[LINLI_KEY_MAX + 1];
  lerr e = {0};
  s_report x = {.c = c, .month = c->month};
  int rc = c->argc > 0 ? cli_key_typed(c, c->argv[0], true) : CLI_OK;

  if (c->json && c->csv)
    return cli_usage(c, "--json and --csv exclude each other");
  if (c->month != NULL &&
      (strlen(c->month) != 7 || c->month[4] != '-' || strspn(c->month, "0123456789-") != 7))
    return cli_usage(c, "--month is YYYY-MM, e.g. 2026-11");
  if (rc == CLI_OK)
    rc = cli_open(c, &s);
  if (rc == CLI_OK)
    rc = cli_key(c, s, c->argc > 0 ? c->argv[0] : "", true, prefix);
  if (rc != CLI_OK)
    goto done;
  if (prefix[0] != '\0' && prefix[strlen(prefix) - 1] != '/') {
    rc = cli_usage(c, "PREFIX is a namespace level ending in '/', e.g. gusu/jinchang/");
    goto done;
  }
  if (c->type != NULL) {
    const lschema_type *t = NULL;
    rc = s_schema_held(s, &sch);
    if (rc == CLI_OK)
      rc = s_type_arg(c, sch, c->type, &t);
    if (rc != CLI_OK)
      goto done;
    x.type = t->collection;
  }
  if (c->json) {
    jw_init(&x.w, stdout);
    jw_obj_begin(&x.w);
    jw_key(&x.w, "prefix");
    jw_str(&x.w, prefix);
    jw_key(&x.w, "rows");
    jw_arr_begin(&x.w);
  } else if (c->csv) {
    fputs("\xEF\xBB\xBF类型,月份,项目,数值\r\n", stdout);
  }
  if (lrecords_aggregates(s, prefix, s_report_row, &x, &e) != 0) {
    rc = cli_fail_e(&e);
    goto done;
  }
  if (c->json) {
    jw_arr_end(&x.w);
    jw_obj_end(&x.w);
    jw_finish(&x.w);
  }
done:
  schema_destroy(&sch);
  cli_close(&s);
  return rc;
}
