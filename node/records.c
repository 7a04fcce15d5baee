/*
 * records.c - checked local writes and the schema a station holds; see
 * records.h.
 *
 * Every check reads the record as the store holds it now; two stations
 * writing at once may still together do what neither could alone (two
 * decrements that each keep the points at or above zero): the checks keep
 * a station's own writes right, the CRDT keeps everyone's writes, and the
 * report shows the merged result.
 */
#include "node/records.h"
#include "node/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether the store's parsed schema came from this row under this root. */
static bool
s_cached(const lstore *s, const char *row, size_t n)
{
  return s->sch_row != NULL && s->sch_row_len == n && memcmp(s->sch_row, row, n) == 0 &&
         s->sch_has_root == s->has_root &&
         (!s->has_root || memcmp(s->sch_root, s->root, LINLI_PK_BYTES) == 0);
}

/* The schema a views row of LSCHEMA_KEY holds (NULL when the root did not
 * write it), parsed. */
static int
s_parse_row(lstore *s, const char *row, size_t n, lschema **out, lerr *e)
{
  rec *r = NULL;
  *out = NULL;
  int rc = st_view_decode(LSCHEMA_KEY, strlen(LSCHEMA_KEY), row, n, &r, e);
  if (rc != 0)
    return rc;
  const rfield *f = rec_field(r, LSCHEMA_FIELD, strlen(LSCHEMA_FIELD), FK_REGISTER);
  const uint8_t *root = lstore_root(s);
  if (f != NULL && rfield_visible(f) &&
      (root == NULL || memcmp(f->ents[0].st.author, root, LINLI_PK_BYTES) == 0)) {
    lerr pe = {0};
    if (schema_parse(out, f->ents[0].s, f->ents[0].s_len, &pe) != 0)
      rc = lerr_set(e, LINLI_ESTORE, "the schema held (%s) does not parse: %s", LSCHEMA_KEY,
                    pe.msg);
  }
  rec_destroy(&r);
  return rc;
}

/* The parse is kept in the store with the row it came from (store_int.h):
 * a commit reads the schema for its aggregates, the API for each request,
 * and the row is one point read where parsing the text is a JSON parse of
 * every type. */
int
lrecords_schema(lstore *s, lschema **out, lerr *e)
{
  char *row;
  size_t n;
  *out = NULL;
  int rc = st_get(s, LCF_VIEWS, LSCHEMA_KEY, strlen(LSCHEMA_KEY), &row, &n, e);
  if (rc == LINLI_ENOTFOUND)
    return 0;
  if (rc != 0)
    return rc;
  if (!s_cached(s, row, n)) {
    lschema *sch;
    char *copy = malloc(n ? n : 1);
    if (copy == NULL)
      rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
    else if ((rc = s_parse_row(s, row, n, &sch, e)) == 0) {
      memcpy(copy, row, n);
      schema_destroy(&s->sch);
      free(s->sch_row);
      s->sch = sch;
      s->sch_row = copy;
      s->sch_row_len = n;
      s->sch_has_root = s->has_root;
      memcpy(s->sch_root, s->root, LINLI_PK_BYTES);
      copy = NULL;
    }
    free(copy);
  }
  rocksdb_free(row);
  if (rc == 0 && s->sch != NULL)
    *out = schema_ref(s->sch);
  return rc;
}

static bool
s_reserved(const op *o)
{
  return (o->key_len >= 7 && memcmp(o->key, "schema/", 7) == 0) ||
         (o->key_len >= 6 && memcmp(o->key, "trust/", 6) == 0);
}

/* The command that writes a field of kind fk, for messages. */
static const char *
s_kind_cmd(int fk)
{
  static const char *const cmds[] = {"put", "incr", "add/rm", "append"};
  return fk >= 0 && fk <= FK_LOG ? cmds[fk] : "?";
}

/* Makes the values of typed fields canonical; `buf` holds n slots of
 * 128 bytes. */
static int
s_canonical(const lschema_type *t, op *ops, uint32_t n, char *buf, lschema_reason *why,
            lerr *e)
{
  for (uint32_t i = 0; i < n; i++) {
    op *o = &ops[i];
    if (o->kind != OP_SET && o->kind != OP_ADD && o->kind != OP_APPEND)
      continue;
    const lschema_field *f = schema_field(t, o->field, o->field_len);
    if (f == NULL || f->vt == LSV_TEXT || op_field_kind(o->kind) != f->fk)
      continue; /* schema_check_ops names what is wrong */
    size_t len;
    char *slot = buf + (size_t)i * 128;
    int rc = schema_value(f, o->str, o->str_len, slot, 128, &len, why, e);
    if (rc != 0) {
      if (why != NULL)
        why->type = t;
      return rc;
    }
    o->str = slot;
    o->str_len = (uint32_t)len;
  }
  return 0;
}

int
lrecords_write(lstore *s, const lschema *sch, const lident *id, op *ops, uint32_t n,
               uint64_t wall_ms, lschema_reason *why, lerr *e)
{
  rec *r = NULL;
  char *buf = NULL;
  int rc;
  if (why != NULL)
    why->rule = LSR_NONE;
  if (n == 0)
    return lerr_set(e, LINLI_EINVAL, "nothing to write");
  if (s_reserved(&ops[0]))
    return lerr_set(e, LINLI_EINVAL, "%.*s: keys under schema/ and trust/ are reserved "
                    "(linli schema publish, linli cert)", (int)ops[0].key_len, ops[0].key);
  rc = lstore_get(s, ops[0].key, ops[0].key_len, &r, e);
  if (rc == LINLI_ENOTFOUND) {
    r = NULL;
    rc = 0;
  }
  if (rc != 0)
    return rc;
  /* The schema first: its message names the type and gives an example. */
  const lschema_type *t =
      sch != NULL ? schema_type_of_key(sch, ops[0].key, ops[0].key_len, NULL) : NULL;
  if (t != NULL) {
    buf = malloc((size_t)n * 128);
    if (buf == NULL)
      rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
    if (rc == 0)
      rc = s_canonical(t, ops, n, buf, why, e);
    if (rc == 0)
      rc = schema_check_ops(t, r, ops, n, why, e);
  }
  bool after_del = false;
  for (uint32_t i = 0; i < n && rc == 0; i++) {
    int fk = op_field_kind(ops[i].kind);
    after_del |= ops[i].kind == OP_DEL;
    if (fk < 0 || r == NULL || after_del)
      continue;
    int other = rec_other_kind(r, ops[i].field, ops[i].field_len, fk);
    if (other >= 0)
      rc = lerr_set(e, LINLI_EINVAL, "%.*s: field %.*s is a %s; change it with linli %s, or "
                    "remove it first with linli del %.*s %.*s", (int)ops[i].key_len, ops[i].key,
                    (int)ops[i].field_len, ops[i].field, field_kind_name(other),
                    s_kind_cmd(other), (int)ops[i].key_len, ops[i].key, (int)ops[i].field_len,
                    ops[i].field);
  }
  if (rc == 0)
    rc = lstore_write(s, id, ops, n, wall_ms, e);
  free(buf);
  rec_destroy(&r);
  return rc;
}

typedef struct s_check_ctx {
  const lschema *sch;
  lerr *e;
} s_check_ctx;

static int
s_check_cb(void *ctx, const char *key, size_t klen, const rec *r)
{
  s_check_ctx *x = ctx;
  const lschema_type *t = schema_type_of_key(x->sch, key, klen, NULL);
  if (t == NULL)
    return 0;
  lerr inner = {0};
  if (schema_check_record(t, r, &inner) == 0)
    return 0;
  return lerr_set(x->e, LINLI_EINVAL, "the schema would make stored data invalid: %.*s: %s",
                  (int)klen, key, inner.msg);
}

int
lrecords_publish(lstore *s, const lident *id, const char *text, size_t n, uint64_t wall_ms,
                 lerr *e)
{
  lschema *next = NULL, *held = NULL;
  const uint8_t *root = lstore_root(s);
  int rc;
  if (root == NULL || memcmp(root, lstore_self(s), LINLI_PK_BYTES) != 0)
    return lerr_set(e, LINLI_EINVAL, "only the trust root publishes a schema (this station is "
                    "not the root; see linli status)");
  if ((rc = schema_parse(&next, text, n, e)) != 0)
    return rc;
  if ((rc = lrecords_schema(s, &held, e)) != 0)
    goto done;
  if (held != NULL && next->version <= held->version) {
    rc = lerr_set(e, LINLI_EINVAL, "version %lld is not above the version held, %lld",
                  (long long)next->version, (long long)held->version);
    goto done;
  }
  s_check_ctx x = {.sch = next, .e = e};
  if ((rc = lstore_scan(s, "", 0, s_check_cb, &x, e)) != 0)
    goto done;
  char ver[24];
  snprintf(ver, sizeof ver, "%lld", (long long)next->version);
  op ops[2] = {{.kind = OP_SET, .key = LSCHEMA_KEY, .key_len = strlen(LSCHEMA_KEY),
                .field = LSCHEMA_FIELD, .field_len = strlen(LSCHEMA_FIELD), .str = text,
                .str_len = (uint32_t)n},
               {.kind = OP_SET, .key = LSCHEMA_KEY, .key_len = strlen(LSCHEMA_KEY),
                .field = "version", .field_len = 7, .str = ver, .str_len = strlen(ver)}};
  for (int i = 0; i < 2 && rc == 0; i++) {
    ops[i].seq = ops[i].hlc = 1; /* placeholders for the check */
    rc = op_check(&ops[i], e);
    ops[i].seq = ops[i].hlc = 0;
  }
  if (rc == 0)
    rc = lstore_write(s, id, ops, 2, wall_ms, e);
done:
  schema_destroy(&next);
  schema_destroy(&held);
  return rc;
}

typedef struct s_query_ctx {
  const lschema *sch;
  const lschema_type *t;
  const lschema_where *w;
  uint32_t nw;
  lrecords_row_cb cb;
  void *ctx;
} s_query_ctx;

static int
s_query_cb(void *ctx, const char *key, size_t klen, const rec *r)
{
  s_query_ctx *x = ctx;
  size_t ns = 0;
  if (schema_type_of_key(x->sch, key, klen, &ns) != x->t)
    return 0;
  for (uint32_t i = 0; i < x->nw; i++)
    if (!schema_where_match(&x->w[i], r))
      return 0;
  return x->cb(x->ctx, key, klen, ns, r);
}

int
lrecords_query(lstore *s, const lschema *sch, const lschema_type *t, const char *prefix,
               const lschema_where *w, uint32_t nw, lrecords_row_cb cb, void *ctx, lerr *e)
{
  s_query_ctx x = {.sch = sch, .t = t, .w = w, .nw = nw, .cb = cb, .ctx = ctx};
  return lstore_scan(s, prefix, strlen(prefix), s_query_cb, &x, e);
}

void
lrecords_item_label(char *out, size_t cap, const char *item, size_t n)
{
  if (n == 5 && memcmp(item, "count", 5) == 0)
    snprintf(out, cap, "数量");
  else if (n > 4 && memcmp(item, "sum:", 4) == 0)
    snprintf(out, cap, "%.*s合计", (int)(n - 4), item + 4);
  else if (n > 3 && memcmp(item, "by:", 3) == 0)
    snprintf(out, cap, "%.*s", (int)(n - 3), item + 3);
  else
    snprintf(out, cap, "%.*s", (int)n, item);
}
