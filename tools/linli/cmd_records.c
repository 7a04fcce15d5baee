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
      if (schema_field_named(t, name, len, &f, NULL, &e) != 0)
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
  uint32_t ncols;     /* the header's cells */
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
  jw w;               /* --json: the document, its "errors" open while jopen */
  bool jopen;
  int code;           /* the LINLI_E* a write was refused with, 0: none */
} s_import;

/* A refusal's reason as members of the error object (what the API says
 * it from in its own words): the field, the check, the value as written,
 * the bound, the field probably meant. */
static void
s_reason_json(jw *w, const lschema_reason *why)
{
  const char *field = why->rule == LSR_UNKNOWN_FIELD ? why->given
                      : why->field != NULL           ? why->field->name
                                                     : NULL;
  if (field != NULL) {
    jw_key(w, "field");
    jw_str(w, field);
  }
  if (why->rule == LSR_FORMAT) {
    jw_key(w, "form");
    jw_str(w, schema_form_name(why->form));
  }
  if (why->value[0] != '\0') {
    jw_key(w, "value");
    jw_str(w, why->value);
  }
  if (why->suggest != NULL) {
    jw_key(w, "suggest");
    jw_str(w, why->suggest->name);
  }
  if (why->rule == LSR_MIN || why->rule == LSR_COUNTER_MIN) {
    jw_key(w, "min");
    jw_int(w, why->bound);
  }
  if (why->rule == LSR_COUNTER_MIN) {
    jw_key(w, "result");
    jw_int(w, why->result);
    jw_key(w, "now");
    jw_int(w, why->now);
  }
  if (why->rule == LSR_NOT_CANONICAL) {
    jw_key(w, "canonical");
    jw_str(w, why->canonical);
  }
}

/* What is wrong with a row, besides a reason of the schema's. */
typedef struct s_fault {
  const char *rule;          /* "id", "duplicate_id", "columns", ... (docs/API.md) */
  const char *field;         /* the column's name, or NULL */
  const char *value;         /* the cell as written (value_len bytes), or NULL */
  size_t value_len;
  const char *more;          /* one more number's name ("first_row"), or NULL */
  uint64_t more_v;
} s_fault;

/* With --json, one element of "errors": row (from 1, the header's row 1),
 * column (from 1; 0 leaves it out), the rule, the reason's parts (why, when
 * the schema refused) or f's, and the English line. */
static void
s_json_err(s_import *x, uint64_t row, uint32_t col, const lschema_reason *why, const s_fault *f,
           const char *line)
{
  if (!x->jopen)
    return;
  jw *w = &x->w;
  jw_obj_begin(w);
  jw_key(w, "row");
  jw_uint(w, row);
  if (col > 0) {
    jw_key(w, "column");
    jw_uint(w, col);
  }
  jw_key(w, "rule");
  if (why != NULL && why->rule != LSR_NONE) {
    jw_str(w, schema_rule_name(why->rule));
    s_reason_json(w, why);
  } else {
    jw_str(w, f != NULL && f->rule != NULL ? f->rule : "internal");
    if (f != NULL && f->field != NULL) {
      jw_key(w, "field");
      jw_str(w, f->field);
    }
    if (f != NULL && f->value != NULL) {
      size_t n = f->value_len;
      if (n > 60) /* its first 60 bytes, cut at a character */
        for (n = 60; n > 0 && ((unsigned char)f->value[n] & 0xC0) == 0x80; n--)
          ;
      jw_key(w, "value");
      jw_strn(w, f->value, n);
    }
    if (f != NULL && f->more != NULL) {
      jw_key(w, f->more);
      jw_uint(w, f->more_v);
    }
  }
  jw_key(w, "message");
  jw_str(w, line);
  jw_obj_end(w);
}

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
 * with the reason in e, the schema's in why (else why->rule LSR_NONE) and
 * the cell's column (from 1) in *col. */
static int
s_row_ops(s_import *x, const char *key, const rec *r, char **cells, const size_t *len,
          uint32_t ncells, op *ops, uint32_t cap, char *vals, lschema_reason *why, uint32_t *col,
          lerr *e)
{
  uint32_t n = 0;
  for (uint32_t i = 0; i < ncells; i++) {
    *col = i + 1;
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
      if (schema_value(f, v, vn, slot, 128, &sl, why, e) != 0)
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
      /* checked (and full-width digits folded) as the integer it is */
      int64_t target;
      if (schema_value(f, v, vn, slot, 128, &sl, why, e) != 0)
        return -1;
      if (text_parse_i64(slot, sl, &target, NULL) != 0) {
        lerr_set(e, LINLI_EINVAL, "%s: '%s' is out of range", f->name, slot);
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
        if (schema_value(f, el, eln, es, 128, &sl, why, e) != 0)
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
  lschema_reason why;
  x->col_ns = x->col_id = -1;
  x->ncols = n;
  for (uint32_t i = 0; i < n; i++) {
    const char *h = cells[i];
    size_t hn = len[i];
    text_trim(&h, &hn);
    x->cols[i] = NULL;
    if (hn == strlen("编号") && memcmp(h, "编号", hn) == 0)
      x->col_id = (int)i;
    else if (hn == strlen("所属") && memcmp(h, "所属", hn) == 0)
      x->col_ns = (int)i;
    else if (hn > 0 && schema_field_named(x->t, h, hn, &x->cols[i], &why, &e) != 0) {
      snprintf(x->msg, sizeof x->msg, "row 1 (header) column %u: %s", i + 1, e.msg);
      s_json_err(x, 1, i + 1, &why, NULL, x->msg);
      return -1;
    }
  }
  if (x->col_id < 0) {
    snprintf(x->msg, sizeof x->msg, "row 1 (header): no column 编号 (the record's ID)");
    s_json_err(x, 1, 0, NULL, &(s_fault){.rule = "no_id_column", .field = "编号"}, x->msg);
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
  lschema_reason why = {0};
  s_fault f = {0};
  uint32_t col = 0, extra = x->ncols;
  while (extra < n && len[extra] == 0)
    extra++;
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
  s_fault fid = {.rule = "id", .field = "编号", .value = idv, .value_len = idn};
  if (extra < n) {
    f = (s_fault){.rule = "columns", .more = "header_columns", .more_v = x->ncols};
    col = extra + 1;
    lerr_set(&e, LINLI_EINVAL, "column %u holds a value but the header has %u columns "
             "(a comma too many?)", col, x->ncols);
  } else if (idn == 0 || memchr(idv, '/', idn) != NULL) {
    f = fid;
    col = (uint32_t)x->col_id + 1;
    lerr_set(&e, LINLI_EINVAL, "编号 '%.*s' is empty or holds '/'", (int)idn, idv);
  } else if (kn < 0 || (size_t)kn >= sizeof key || key_check(key, (size_t)kn, &e) != 0) {
    f = fid;
    col = (uint32_t)x->col_id + 1;
    lerr_set(&e, LINLI_EINVAL, "the key of 编号 '%.*s' is not valid", (int)idn, idv);
  } else if (strncmp(key, x->ns, strlen(x->ns)) != 0) {
    f = (s_fault){.rule = "outside", .field = "所属", .value = ns, .value_len = nsn};
    col = x->col_ns >= 0 ? (uint32_t)x->col_ns + 1 : 0;
    lerr_set(&e, LINLI_EINVAL, "%s is outside this station's namespace %s", key, x->ns);
  } else if (!x->write && hmap_get(&x->ids, key, (size_t)kn) != NULL) {
    f = fid;
    col = (uint32_t)x->col_id + 1;
    f.rule = "duplicate_id";
    f.more = "first_row";
    f.more_v = (uint64_t)(uintptr_t)hmap_get(&x->ids, key, (size_t)kn);
    lerr_set(&e, LINLI_EINVAL, "编号 %.*s again (first on row %llu)", (int)idn, idv,
             (unsigned long long)f.more_v);
  } else if (!x->write && hmap_put(&x->ids, key, (size_t)kn, (void *)(uintptr_t)row) != 0) {
    lerr_set(&e, LINLI_ENOMEM, "out of memory");
  } else {
    lerr ge = {0};
    int g = lstore_get(x->s, key, (size_t)kn, &r, &ge);
    if (g != 0 && g != LINLI_ENOTFOUND) {
      snprintf(x->msg, sizeof x->msg, "%s", ge.msg);
      x->fatal = true;
      return 1;
    }
    if (g != 0)
      r = NULL;
    nops = s_row_ops(x, key, r, cells, len, n, ops, LCSV_CELLS_MAX * 2, x->vals, &why, &col,
                     &e);
    if (nops < 0 && e.code == LINLI_ETOOBIG)
      f.rule = "too_many_values", col = 0;
    if (nops >= 0 && schema_check_ops(x->t, r, ops, (uint32_t)nops, &why, &e) != 0) {
      nops = -1;
      col = 0; /* the column of the field at fault, if the file has one */
      for (uint32_t i = 0; i < x->ncols && col == 0; i++)
        if (why.field != NULL && x->cols[i] == why.field)
          col = i + 1;
    }
  }
  rec_destroy(&r);
  if (nops < 0) {
    x->bad++;
    if (x->c->json) {
      char line[sizeof e.msg + 32];
      snprintf(line, sizeof line, "row %llu: %s", (unsigned long long)row, e.msg);
      s_json_err(x, row, col, &why, &f, line);
    } else {
      printf("row %llu: %s\n", (unsigned long long)row, e.msg);
    }
    return 0;
  }
  x->nops += (uint64_t)nops;
  x->records += nops > 0;
  if (!x->write || nops == 0)
    return 0;
  /* Kept for the batch: the ops and their strings copied into the arena. */
  if (x->nops_batch + (uint32_t)nops > S_BATCH_OPS || x->batch_bytes >= S_BATCH_BYTES)
    if (s_import_flush(x, &e) != 0) {
      x->code = e.code;
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
 * valid in enc.  LINLI_EMALFORMED when it is not (p->fault LCSV_OK: the
 * bytes are not enc, in row p->rows + 1; else the reader's fault). */
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
    bool bad = r == (size_t)-1 && errno == EILSEQ;
    /* EINVAL: a character cut by the chunk's end, completed next time */
    bool cut = r == (size_t)-1 && errno == EINVAL && got == 0;
    if (bad || cut) {
      /* the rows before it first, so that the row it is in is known */
      if (p != NULL && outp > out && (rc = lcsv_feed(p, out, (size_t)(outp - out), e)) != 0) {
        if (rc < 0)
          lerr_wrap(e, rc, "%s: ", path);
        break;
      }
      char at[32] = "";
      if (p != NULL)
        snprintf(at, sizeof at, "row %llu: ", (unsigned long long)p->rows + 1);
      if (bad)
        rc = lerr_set(e, LINLI_EMALFORMED, "%s: %snot valid %s at byte %llu", path, at, enc,
                      (unsigned long long)(offset + skip + (uint64_t)(ip - in)));
      else
        rc = lerr_set(e, LINLI_EMALFORMED, "%s: %sends inside a %s character", path, at, enc);
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
  if (c->json) {
    jw_init(&x.w, stdout);
    jw_obj_begin(&x.w);
    jw_key(&x.w, "file");
    jw_str(&x.w, path);
    jw_key(&x.w, "encoding");
    jw_str(&x.w, enc);
    jw_key(&x.w, "errors");
    jw_arr_begin(&x.w);
    x.jopen = true;
  }
  /* Pass 1: every row checked, every bad one reported; nothing written. */
  if (s_stream(path, text, tn, enc, skip, &p, &e) != 0 && !x.fatal) {
    if (e.code == LINLI_EMALFORMED) {
      /* the file's own fault: its row (and cell) named, without the path */
      static const char *const faults[] = {
        [LCSV_OK] = "encoding", [LCSV_ROW_LONG] = "row_too_long",
        [LCSV_CELLS] = "too_many_cells", [LCSV_QUOTE_INSIDE] = "quote",
        [LCSV_AFTER_QUOTE] = "after_quote", [LCSV_OPEN_QUOTE] = "open_quote"};
      size_t pl = strlen(path);
      const char *line = strncmp(e.msg, path, pl) == 0 && strncmp(e.msg + pl, ": ", 2) == 0
                             ? e.msg + pl + 2
                             : e.msg;
      bool enc_fault = p.fault == LCSV_OK;
      s_json_err(&x, enc_fault ? p.rows + 1 : p.fault_row, enc_fault ? 0 : p.fault_cell, NULL,
                 &(s_fault){.rule = faults[p.fault]}, line);
    }
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
    if (!c->json)
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
    if (x.code == 0 && !x.fatal)
      x.code = e.code;
    rc = cli_fail("%s: stopped after %llu deltas: %s", path, (unsigned long long)x.deltas,
                  x.fatal ? x.msg : e.msg[0] ? e.msg : "a row changed between the passes");
    goto done;
  }
  if (!c->json)
    printf("imported %llu rows of %s from %s (%s): %llu ops to %llu records in %llu deltas\n",
           (unsigned long long)x.rows, x.t->name, path, enc, (unsigned long long)x.nops,
           (unsigned long long)x.records, (unsigned long long)x.deltas);
done:
  if (x.jopen) {
    jw_arr_end(&x.w);
    jw_key(&x.w, "rows");
    jw_uint(&x.w, x.rows);
    jw_key(&x.w, "refused");
    jw_uint(&x.w, x.bad);
    jw_key(&x.w, "ops");
    jw_uint(&x.w, x.nops);
    jw_key(&x.w, "records");
    jw_uint(&x.w, x.records);
    jw_key(&x.w, "deltas");
    jw_uint(&x.w, x.deltas);
    jw_key(&x.w, "written");
    jw_bool(&x.w, rc == CLI_OK && !c->dry_run);
    /* why the store refused to write, when it is not the file's fault */
    const char *cause = cli_cause_name(x.code);
    if (cause != NULL) {
      jw_key(&x.w, "cause");
      jw_str(&x.w, cause);
    }
    jw_obj_end(&x.w);
    jw_finish(&x.w);
  }
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
