/*
 * schema.c - parsing a schema and checking writes against it; see
 * schema.h, and docs/SCHEMA.md for the language.
 *
 * The text is parsed with jansson into a tree that lives only while
 * schema_parse runs; what is kept is copied into plain structs, so a
 * caller never sees jansson.  Every structural error names the path of the
 * member at fault, since jansson reports lines only for syntax errors.
 */
#include "crdt/schema.h"

#include "crdt/text.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_vt_names[LSV_COUNT_] = {
  "text", "integer", "money", "date", "enum", "phone", "resident_id",
};

const char *
schema_vt_name(int vt)
{
  return vt >= 0 && vt < LSV_COUNT_ ? s_vt_names[vt] : "?";
}

static char *
s_dup(const char *s)
{
  return s != NULL ? strdup(s) : strdup("");
}

static void
s_type_free(lschema_type *t)
{
  for (uint32_t i = 0; i < t->nfields; i++) {
    lschema_field *f = &t->fields[i];
    for (uint32_t k = 0; k < f->ncodes; k++) {
      free(f->codes[k].code);
      free(f->codes[k].zh);
      free(f->codes[k].en);
    }
    free(f->codes);
    free(f->name);
    free(f->en);
  }
  free(t->fields);
  free(t->aggs);
  free(t->name);
  free(t->en);
  free(t->collection);
}

lschema *
schema_ref(lschema *s)
{
  s->refs++;
  return s;
}

void
schema_destroy(lschema **s)
{
  if (s == NULL || *s == NULL)
    return;
  if ((*s)->refs > 0) {
    (*s)->refs--;
    *s = NULL;
    return;
  }
  for (uint32_t i = 0; i < (*s)->ntypes; i++)
    s_type_free(&(*s)->types[i]);
  free((*s)->types);
  free((*s)->name);
  free(*s);
  *s = NULL;
}

/* ---- parsing ---- */

static const char *
s_str(json_t *o, const char *k)
{
  json_t *v = json_object_get(o, k);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Members of o other than allowed[] are errors: a typo in a schema must not
 * silently drop a rule. */
static int
s_only(json_t *o, const char *const *allowed, const char *path, lerr *e)
{
  const char *k;
  json_t *v;
  json_object_foreach(o, k, v) {
    bool ok = false;
    for (const char *const *a = allowed; *a != NULL && !ok; a++)
      ok = strcmp(*a, k) == 0;
    if (!ok)
      return lerr_set(e, LINLI_EINVAL, "schema: %s: unknown member '%s'", path, k);
  }
  return 0;
}

static bool
s_name_ok(const char *n)
{
  size_t len = strlen(n);
  if (len == 0 || len > LINLI_FIELD_MAX)
    return false;
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)n[i] < 0x20 || n[i] == 0x7f || n[i] == '/' || n[i] == ',' ||
        n[i] == '=' || n[i] == ' ')
      return false;
  return true;
}

static int
s_parse_codes(lschema_field *f, json_t *v, const char *path, lerr *e)
{
  if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > 256)
    return lerr_set(e, LINLI_EINVAL, "schema: %s.codes: a list of 1 to 256 codes", path);
  f->codes = calloc(json_array_size(v), sizeof *f->codes);
  if (f->codes == NULL)
    return LINLI_ENOMEM;
  size_t i;
  json_t *c;
  json_array_foreach(v, i, c) {
    static const char *const allowed[] = {"code", "zh", "en", NULL};
    const char *code = json_is_object(c) ? s_str(c, "code") : NULL;
    const char *zh = json_is_object(c) ? s_str(c, "zh") : NULL;
    if (code == NULL || zh == NULL || code[0] == '\0' || !s_name_ok(zh))
      return lerr_set(e, LINLI_EINVAL, "schema: %s.codes[%zu]: needs \"code\" and \"zh\"", path,
                      i);
    int r = s_only(c, allowed, path, e);
    if (r != 0)
      return r;
    for (uint32_t k = 0; k < f->ncodes; k++)
      if (strcmp(f->codes[k].code, code) == 0 || strcmp(f->codes[k].zh, zh) == 0)
        return lerr_set(e, LINLI_EINVAL, "schema: %s.codes[%zu]: code or label repeated", path,
                        i);
    lschema_code *d = &f->codes[f->ncodes++];
    d->code = s_dup(code);
    d->zh = s_dup(zh);
    d->en = s_dup(s_str(c, "en"));
    if (d->code == NULL || d->zh == NULL || d->en == NULL)
      return LINLI_ENOMEM;
  }
  return 0;
}

static int
s_parse_field(lschema_field *f, const char *name, json_t *v, const char *tpath, lerr *e)
{
  static const char *const allowed[] = {"kind", "type", "required", "min", "codes", "en", NULL};
  char path[320];
  snprintf(path, sizeof path, "%s.fields.%s", tpath, name);
  if (!json_is_object(v))
    return lerr_set(e, LINLI_EINVAL, "schema: %s: a field is an object", path);
  int r = s_only(v, allowed, path, e);
  if (r != 0)
    return r;
  if (!s_name_ok(name))
    return lerr_set(e, LINLI_EINVAL, "schema: %s: a field name is 1 to %d bytes without "
                    "spaces, '/', ',' or '='", path, LINLI_FIELD_MAX);
  f->name = s_dup(name);
  f->en = s_dup(s_str(v, "en"));
  if (f->name == NULL || f->en == NULL)
    return LINLI_ENOMEM;
  const char *kind = s_str(v, "kind"), *type = s_str(v, "type");
  static const char *const kinds[] = {"register", "counter", "set", "log"};
  f->fk = -1;
  for (int k = 0; k < 4 && kind != NULL; k++)
    if (strcmp(kind, kinds[k]) == 0)
      f->fk = k;
  if (f->fk < 0)
    return lerr_set(e, LINLI_EINVAL, "schema: %s: kind must be register, counter, set or log",
                    path);
  f->vt = -1;
  for (int k = 0; k < LSV_COUNT_ && type != NULL; k++)
    if (strcmp(type, s_vt_names[k]) == 0)
      f->vt = k;
  if (f->vt < 0)
    return lerr_set(e, LINLI_EINVAL, "schema: %s: unknown type '%s' (text, integer, money, "
                    "date, enum, phone or resident_id)", path, type ? type : "");
  if (f->fk == FK_COUNTER && f->vt != LSV_INTEGER && f->vt != LSV_MONEY)
    return lerr_set(e, LINLI_EINVAL, "schema: %s: a counter is integer or money", path);
  if (f->fk == FK_LOG && f->vt != LSV_TEXT)
    return lerr_set(e, LINLI_EINVAL, "schema: %s: a log holds text", path);
  json_t *req = json_object_get(v, "required");
  if (req != NULL && !json_is_boolean(req))
    return lerr_set(e, LINLI_EINVAL, "schema: %s: required is true or false", path);
  f->required = json_is_true(req);
  json_t *min = json_object_get(v, "min");
  if (min != NULL) {
    if (!json_is_integer(min) || (f->vt != LSV_INTEGER && f->vt != LSV_MONEY))
      return lerr_set(e, LINLI_EINVAL, "schema: %s: min is an integer, for integer or money",
                      path);
    f->has_min = true;
    f->min = json_integer_value(min);
  } else if (f->vt == LSV_MONEY) {
    f->has_min = true; /* an amount of money is not negative unless said */
    f->min = 0;
  }
  json_t *codes = json_object_get(v, "codes");
  if ((codes != NULL) != (f->vt == LSV_ENUM))
    return lerr_set(e, LINLI_EINVAL, "schema: %s: codes go with type enum, and only there",
                    path);
  if (codes != NULL)
    return s_parse_codes(f, codes, path, e);
  return 0;
}

static const lschema_field *
s_agg_field(const lschema_type *t, json_t *v)
{
  return json_is_string(v) ? schema_field(t, json_string_value(v), strlen(json_string_value(v)))
                           : NULL;
}

static int
s_parse_aggs(lschema_type *t, json_t *v, const char *tpath, lerr *e)
{
  static const char *const allowed[] = {"count", "by", "sum", "month", NULL};
  char path[300];
  snprintf(path, sizeof path, "%s.aggregates", tpath);
  if (!json_is_object(v))
    return lerr_set(e, LINLI_EINVAL, "schema: %s: an object", path);
  int r = s_only(v, allowed, path, e);
  if (r != 0)
    return r;
  json_t *by = json_object_get(v, "by"), *sum = json_object_get(v, "sum");
  if ((by != NULL && !json_is_array(by)) || (sum != NULL && !json_is_array(sum)))
    return lerr_set(e, LINLI_EINVAL, "schema: %s: by and sum are lists of field names", path);
  size_t n = 1 + json_array_size(by) + json_array_size(sum);
  t->aggs = calloc(n, sizeof *t->aggs);
  if (t->aggs == NULL)
    return LINLI_ENOMEM;
  json_t *count = json_object_get(v, "count");
  if (count != NULL && !json_is_boolean(count))
    return lerr_set(e, LINLI_EINVAL, "schema: %s.count: true or false", path);
  if (json_is_true(count))
    t->aggs[t->naggs++] = (lschema_aggregate){.what = LSA_COUNT};
  size_t i;
  json_t *x;
  json_array_foreach(by, i, x) {
    const lschema_field *f = s_agg_field(t, x);
    if (f == NULL || f->vt != LSV_ENUM || (f->fk != FK_REGISTER && f->fk != FK_SET))
      return lerr_set(e, LINLI_EINVAL, "schema: %s.by[%zu]: an enum register or set of the "
                      "type", path, i);
    t->aggs[t->naggs++] = (lschema_aggregate){.what = LSA_COUNT_BY, .field = f};
  }
  json_array_foreach(sum, i, x) {
    const lschema_field *f = s_agg_field(t, x);
    if (f == NULL || (f->vt != LSV_INTEGER && f->vt != LSV_MONEY) ||
        (f->fk != FK_REGISTER && f->fk != FK_COUNTER))
      return lerr_set(e, LINLI_EINVAL, "schema: %s.sum[%zu]: an integer or money register or "
                      "counter of the type", path, i);
    t->aggs[t->naggs++] = (lschema_aggregate){.what = LSA_SUM, .field = f};
  }
  json_t *month = json_object_get(v, "month");
  if (month != NULL) {
    t->month = s_agg_field(t, month);
    if (t->month == NULL || t->month->vt != LSV_DATE || t->month->fk != FK_REGISTER)
      return lerr_set(e, LINLI_EINVAL, "schema: %s.month: a date register of the type", path);
  }
  return 0;
}

static int
s_parse_type(lschema *s, lschema_type *t, const char *name, json_t *v, lerr *e)
{
  static const char *const allowed[] = {"collection", "en", "fields", "aggregates", NULL};
  char path[200];
  snprintf(path, sizeof path, "types.%s", name);
  if (!json_is_object(v))
    return lerr_set(e, LINLI_EINVAL, "schema: %s: a type is an object", path);
  int r = s_only(v, allowed, path, e);
  if (r != 0)
    return r;
  const char *coll = s_str(v, "collection");
  if (!s_name_ok(name))
    return lerr_set(e, LINLI_EINVAL, "schema: %s: bad type name", path);
  if (coll == NULL || !s_name_ok(coll))
    return lerr_set(e, LINLI_EINVAL, "schema: %s.collection: a key component such as \"hh\"",
                    path);
  for (uint32_t i = 0; &s->types[i] != t; i++) /* the types parsed before t */
    if (strcmp(s->types[i].collection, coll) == 0)
      return lerr_set(e, LINLI_EINVAL, "schema: %s.collection: '%s' is %s's already", path,
                      coll, s->types[i].name);
  t->name = s_dup(name);
  t->en = s_dup(s_str(v, "en"));
  t->collection = s_dup(coll);
  if (t->name == NULL || t->en == NULL || t->collection == NULL)
    return LINLI_ENOMEM;
  json_t *fields = json_object_get(v, "fields");
  if (!json_is_object(fields) || json_object_size(fields) == 0)
    return lerr_set(e, LINLI_EINVAL, "schema: %s.fields: an object of at least one field", path);
  t->fields = calloc(json_object_size(fields), sizeof *t->fields);
  if (t->fields == NULL)
    return LINLI_ENOMEM;
  const char *fname;
  json_t *fv;
  json_object_foreach(fields, fname, fv) {
    r = s_parse_field(&t->fields[t->nfields++], fname, fv, path, e);
    if (r != 0)
      return r;
  }
  json_t *aggs = json_object_get(v, "aggregates");
  return aggs != NULL ? s_parse_aggs(t, aggs, path, e) : 0;
}

int
schema_parse(lschema **out, const char *text, size_t n, lerr *e)
{
  static const char *const allowed[] = {"schema", "version", "types", NULL};
  json_error_t je;
  lschema *s = NULL;
  int rc;
  *out = NULL;
  json_t *root = json_loadb(text, n, JSON_REJECT_DUPLICATES, &je);
  if (root == NULL)
    return lerr_set(e, LINLI_EINVAL, "schema line %d column %d: %s", je.line, je.column, je.text);
  if (!json_is_object(root)) {
    rc = lerr_set(e, LINLI_EINVAL, "schema: the top level is an object");
    goto done;
  }
  if ((rc = s_only(root, allowed, "top level", e)) != 0)
    goto done;
  json_t *ver = json_object_get(root, "version"), *types = json_object_get(root, "types");
  const char *name = s_str(root, "schema");
  if (name == NULL || !s_name_ok(name) || !json_is_integer(ver) || json_integer_value(ver) < 1) {
    rc = lerr_set(e, LINLI_EINVAL, "schema: needs \"schema\" (a name) and \"version\" (1, 2, ...)");
    goto done;
  }
  if (!json_is_object(types) || json_object_size(types) == 0) {
    rc = lerr_set(e, LINLI_EINVAL, "schema: \"types\" is an object of at least one type");
    goto done;
  }
  s = calloc(1, sizeof *s);
  if (s == NULL || (s->types = calloc(json_object_size(types), sizeof *s->types)) == NULL ||
      (s->name = s_dup(name)) == NULL) {
    rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
    goto done;
  }
  s->version = json_integer_value(ver);
  const char *tname;
  json_t *tv;
  json_object_foreach(types, tname, tv) {
    rc = s_parse_type(s, &s->types[s->ntypes++], tname, tv, e);
    if (rc == LINLI_ENOMEM)
      lerr_set(e, rc, "out of memory");
    if (rc != 0)
      goto done;
  }
  *out = s;
  s = NULL;
  rc = 0;
done:
  schema_destroy(&s);
  json_decref(root);
  return rc;
}

/* ---- lookups ---- */

const lschema_type *
schema_type_of_key(const lschema *s, const char *key, size_t n, size_t *ns_len)
{
  /* KEY = NS COLLECTION '/' ID: find the last two '/' */
  size_t last = n, prev = 0;
  bool has_prev = false;
  for (size_t i = n; i-- > 0;) {
    if (key[i] != '/')
      continue;
    if (last == n) {
      last = i;
    } else {
      prev = i + 1;
      has_prev = true;
      break;
    }
  }
  if (last == n)
    return NULL;
  size_t start = has_prev ? prev : 0;
  for (uint32_t i = 0; i < s->ntypes; i++) {
    const char *c = s->types[i].collection;
    if (strlen(c) == last - start && memcmp(c, key + start, last - start) == 0) {
      if (ns_len != NULL)
        *ns_len = start;
      return &s->types[i];
    }
  }
  return NULL;
}

const lschema_type *
schema_type(const lschema *s, const char *name)
{
  for (uint32_t i = 0; i < s->ntypes; i++)
    if (strcmp(s->types[i].name, name) == 0 || strcmp(s->types[i].collection, name) == 0 ||
        (s->types[i].en[0] != '\0' && strcmp(s->types[i].en, name) == 0))
      return &s->types[i];
  return NULL;
}

const lschema_field *
schema_field(const lschema_type *t, const char *name, size_t n)
{
  for (uint32_t i = 0; i < t->nfields; i++)
    if (strlen(t->fields[i].name) == n && memcmp(t->fields[i].name, name, n) == 0)
      return &t->fields[i];
  return NULL;
}

const char *
schema_example(const lschema_field *f)
{
  switch (f->vt) {
  case LSV_INTEGER: return f->fk == FK_COUNTER ? "5 or -2" : "3";
  case LSV_MONEY: return "12050 (120.50 元)";
  case LSV_DATE: return "2026-11-30";
  case LSV_ENUM: return f->codes[0].zh;
  case LSV_PHONE: return "13812345678 or 0512-65231234";
  case LSV_RESIDENT_ID: return "11010519491231002X";
  default: return "张建国";
  }
}

/* ---- reasons ---- */

const char *
schema_rule_name(int rule)
{
  static const char *const names[LSR_COUNT_] = {
    [LSR_NONE] = "none", [LSR_UNKNOWN_FIELD] = "unknown_field", [LSR_KIND] = "kind",
    [LSR_FORMAT] = "format", [LSR_EMPTY] = "empty", [LSR_CHOICE] = "choice",
    [LSR_TOO_LONG] = "too_long", [LSR_MIN] = "min", [LSR_COUNTER_MIN] = "counter_min",
    [LSR_REQUIRED] = "required", [LSR_NOT_CANONICAL] = "not_canonical",
  };
  return rule >= 0 && rule < LSR_COUNT_ ? names[rule] : "?";
}

int
schema_rule_of(const char *name)
{
  for (int r = LSR_NONE + 1; name != NULL && r < LSR_COUNT_; r++)
    if (strcmp(schema_rule_name(r), name) == 0)
      return r;
  return LSR_NONE;
}

static const char *const s_form_names[] = {
  [LSF_NONE] = "none", [LSF_INTEGER] = "integer", [LSF_MONEY] = "money",
  [LSF_DATE] = "date", [LSF_PHONE] = "phone", [LSF_ID_LENGTH] = "id_length",
  [LSF_ID_BIRTH] = "id_birth", [LSF_ID_CHECK] = "id_check",
};
#define S_NFORMS (int)(sizeof s_form_names / sizeof s_form_names[0])

const char *
schema_form_name(int form)
{
  return form >= 0 && form < S_NFORMS ? s_form_names[form] : "none";
}

int
schema_form_of(const char *name)
{
  for (int f = LSF_NONE + 1; name != NULL && f < S_NFORMS; f++)
    if (strcmp(s_form_names[f], name) == 0)
      return f;
  return LSF_NONE;
}

static const char *
s_form_text(int form)
{
  switch (form) {
  case LSF_INTEGER: return "is not an integer";
  case LSF_MONEY: return "is not a whole number of fen";
  case LSF_DATE: return "is not a date YYYY-MM-DD";
  case LSF_PHONE: return "is not a phone number";
  case LSF_ID_LENGTH: return "is not 18 characters: 17 digits and a digit or X";
  case LSF_ID_BIRTH: return "has no valid birth date in characters 7 to 14";
  case LSF_ID_CHECK: return "has a wrong check character (a typing error)";
  default: return "is not valid";
  }
}

/* The codes of enum f ("zh (code)", comma-separated) or, with f NULL, the
 * field names of t (space-separated) into out (cap bytes), as many as fit
 * whole. */
static void
s_list(char *out, size_t cap, const lschema_type *t, const lschema_field *f)
{
  size_t k = 0;
  out[0] = '\0';
  uint32_t n = f != NULL ? f->ncodes : t->nfields;
  for (uint32_t i = 0; i < n; i++) {
    int w = f != NULL ? snprintf(out + k, cap - k, "%s%s (%s)", i ? ", " : "", f->codes[i].zh,
                                 f->codes[i].code)
                      : snprintf(out + k, cap - k, "%s%s", i ? " " : "", t->fields[i].name);
    if (w < 0 || (size_t)w >= cap - k) {
      out[k] = '\0';
      break;
    }
    k += (size_t)w;
  }
}

static const char *const s_kind_cmds[] = {"put", "incr", "add", "append"};

void
schema_reason_text(const lschema_reason *w, char *out, size_t cap)
{
  const lschema_field *f = w->field;
  const char *tn = w->type != NULL ? w->type->name : "";
  char list[240];
  switch (w->rule) {
  case LSR_UNKNOWN_FIELD:
    if (w->suggest != NULL) {
      snprintf(out, cap, "%s has no field %s; did you mean %s?", tn, w->given, w->suggest->name);
    } else {
      s_list(list, sizeof list, w->type, NULL);
      snprintf(out, cap, "%s has no field %s (its fields: %s)", tn, w->given, list);
    }
    return;
  case LSR_KIND:
    snprintf(out, cap, "%s.%s is a %s %s field: write it with linli %s, e.g. %s", tn, f->name,
             schema_vt_name(f->vt), field_kind_name(f->fk), s_kind_cmds[f->fk], schema_example(f));
    return;
  case LSR_CHOICE:
    s_list(list, 200, NULL, f);
    snprintf(out, cap, "%s: '%s' is not one of: %s", f->name, w->value, list);
    return;
  case LSR_COUNTER_MIN:
    snprintf(out, cap, "%s.%s would be %lld, below its smallest allowed value %lld (now %lld)",
             tn, f->name, (long long)w->result, (long long)w->bound, (long long)w->now);
    return;
  case LSR_REQUIRED:
    snprintf(out, cap, "a new %s needs %s (%s, e.g. %s)", tn, f->name, schema_vt_name(f->vt),
             schema_example(f));
    return;
  case LSR_NOT_CANONICAL:
    snprintf(out, cap, "%s: '%s' is not in canonical form '%s'", f->name, w->value,
             w->canonical);
    return;
  default: {
    char why[80];
    if (w->rule == LSR_EMPTY)
      snprintf(why, sizeof why, "is empty");
    else if (w->rule == LSR_TOO_LONG)
      snprintf(why, sizeof why, "is too long");
    else if (w->rule == LSR_MIN)
      snprintf(why, sizeof why, "is below the smallest allowed, %lld", (long long)w->bound);
    else
      snprintf(why, sizeof why, "%s", s_form_text(w->form));
    snprintf(out, cap, "%s: '%s' %s; expected %s, e.g. %s", f != NULL ? f->name : "?",
             w->value, why, f != NULL ? schema_vt_name(f->vt) : "?",
             f != NULL ? schema_example(f) : "?");
    return;
  }
  }
}

/* Starts a reason in *w (or in scratch when the caller wants none). */
static lschema_reason *
s_reason(lschema_reason *w, lschema_reason *scratch, int rule, const lschema_type *t,
         const lschema_field *f)
{
  if (w == NULL)
    w = scratch;
  memset(w, 0, sizeof *w);
  w->rule = rule;
  w->type = t;
  w->field = f;
  return w;
}

/* Copies v into dst, at most `max` bytes of it (dst holds max + 1), not
 * cutting a UTF-8 character. */
static void
s_copy_cut(char *dst, size_t max, const char *v, size_t n)
{
  if (n > max) {
    n = max;
    while (n > 0 && ((unsigned char)v[n] & 0xC0) == 0x80)
      n--;
  }
  memcpy(dst, v, n);
  dst[n] = '\0';
}

/* The value as written, in a reason: its first 60 bytes. */
static void
s_value_copy(char *dst, const char *v, size_t n)
{
  s_copy_cut(dst, 60, v, n);
}

/* Refuses with reason w: its English line in e. */
static int
s_refuse(const lschema_reason *w, int code, lerr *e)
{
  char line[sizeof e->msg];
  schema_reason_text(w, line, sizeof line);
  return lerr_set(e, code, "%s", line);
}

/* A value v of field f refused by `rule` (with `form` for LSR_FORMAT). */
static int
s_bad(const lschema_field *f, lschema_reason *why, lerr *e, const char *v, size_t n, int rule,
      int form)
{
  lschema_reason tmp, *w = s_reason(why, &tmp, rule, NULL, f);
  w->form = form;
  w->bound = f->min;
  s_value_copy(w->value, v, n);
  return s_refuse(w, LINLI_EINVAL, e);
}

static bool
s_digits(const char *s, size_t n)
{
  if (n == 0)
    return false;
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9')
      return false;
  return true;
}

static bool
s_date_ok(int y, int m, int d)
{
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1900 || y > 2999 || m < 1 || m > 12 || d < 1)
    return false;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= days[m - 1] + (m == 2 && leap);
}

static int
s_num(const char *s, size_t n)
{
  int v = 0;
  for (size_t i = 0; i < n; i++)
    v = v * 10 + (s[i] - '0');
  return v;
}

/* GB 11643-1999: 17 digits (area, birth date YYYYMMDD, sequence) and a
 * check character from ISO 7064 MOD 11-2. */
static int
s_resident_id(char *id, size_t n)
{
  static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  static const char check[] = "10X98765432";
  if (n != 18 || !s_digits(id, 17))
    return LSF_ID_LENGTH;
  if (id[17] == 'x')
    id[17] = 'X';
  if (!s_date_ok(s_num(id + 6, 4), s_num(id + 10, 2), s_num(id + 12, 2)))
    return LSF_ID_BIRTH;
  int sum = 0;
  for (int i = 0; i < 17; i++)
    sum += (id[i] - '0') * w[i];
  if (id[17] != check[sum % 11])
    return LSF_ID_CHECK;
  return LSF_NONE;
}

static int
s_phone(const char *p, size_t n)
{
  if (n == 11 && p[0] == '1' && p[1] >= '3' && p[1] <= '9' && s_digits(p, n))
    return LSF_NONE;
  /* 0 + area code (2 or 3 digits) + '-' + 7 or 8 digits, the '-' optional */
  const char *dash = memchr(p, '-', n);
  if (p[0] == '0' && dash != NULL) {
    size_t a = (size_t)(dash - p), b = n - a - 1;
    if (a >= 3 && a <= 4 && s_digits(p, a) && b >= 7 && b <= 8 && s_digits(dash + 1, b))
      return LSF_NONE;
  } else if (n >= 10 && n <= 12 && p[0] == '0' && s_digits(p, n)) {
    return LSF_NONE;
  }
  return LSF_PHONE;
}

int
schema_value(const lschema_field *f, const char *v, size_t n, char *out, size_t cap,
             size_t *out_len, lschema_reason *why, lerr *e)
{
  if (f->vt == LSV_TEXT || f->vt == LSV_ENUM) {
    const char *t = v;
    size_t tn = n;
    if (f->vt == LSV_ENUM) {
      text_trim(&t, &tn);
      for (uint32_t i = 0; i < f->ncodes; i++)
        if ((strlen(f->codes[i].zh) == tn && memcmp(f->codes[i].zh, t, tn) == 0) ||
            (strlen(f->codes[i].code) == tn && memcmp(f->codes[i].code, t, tn) == 0)) {
          t = f->codes[i].zh;
          tn = strlen(t);
          goto copy;
        }
      return s_bad(f, why, e, v, n, LSR_CHOICE, LSF_NONE);
    }
    if (tn == 0 && f->required)
      return s_bad(f, why, e, v, n, LSR_EMPTY, LSF_NONE);
  copy:
    *out_len = tn;
    if (tn < cap) {
      memcpy(out, t, tn);
      out[tn] = '\0';
    }
    return 0;
  }
  /* The other types are short: fold full width, trim, then check. */
  char buf[96];
  const char *t = v;
  size_t tn = n;
  text_trim(&t, &tn);
  if (tn >= sizeof buf / 3 * 3 || tn >= sizeof buf)
    return s_bad(f, why, e, v, n, LSR_TOO_LONG, LSF_NONE);
  size_t len = text_fold_ascii(t, tn, buf);
  int form = LSF_NONE;
  switch (f->vt) {
  case LSV_INTEGER:
  case LSV_MONEY: {
    int64_t x;
    if (text_parse_i64(buf, len, &x, NULL) != 0) {
      form = f->vt == LSV_MONEY ? LSF_MONEY : LSF_INTEGER;
      break;
    }
    if (f->fk != FK_COUNTER && f->has_min && x < f->min)
      return s_bad(f, why, e, v, n, LSR_MIN, LSF_NONE);
    len = (size_t)snprintf(buf, sizeof buf, "%lld", (long long)x);
    break;
  }
  case LSV_DATE:
    if (len != 10 || buf[4] != '-' || buf[7] != '-' || !s_digits(buf, 4) ||
        !s_digits(buf + 5, 2) || !s_digits(buf + 8, 2) ||
        !s_date_ok(s_num(buf, 4), s_num(buf + 5, 2), s_num(buf + 8, 2)))
      form = LSF_DATE;
    break;
  case LSV_PHONE:
    form = s_phone(buf, len);
    break;
  case LSV_RESIDENT_ID:
    form = s_resident_id(buf, len);
    break;
  }
  if (form != LSF_NONE)
    return s_bad(f, why, e, v, n, LSR_FORMAT, form);
  if (len >= cap) {
    lschema_reason tmp, *w = s_reason(why, &tmp, LSR_TOO_LONG, NULL, f);
    s_value_copy(w->value, v, n);
    return s_refuse(w, LINLI_ETOOBIG, e);
  }
  memcpy(out, buf, len + 1);
  *out_len = len;
  return 0;
}

/* ---- writes ---- */

static int
s_unknown(const lschema_type *t, const char *name, size_t n, lschema_reason *why, lerr *e)
{
  const lschema_field *best = NULL;
  unsigned bd = UINT_MAX;
  for (uint32_t i = 0; i < t->nfields; i++) {
    unsigned d = text_distance(name, n, t->fields[i].name, strlen(t->fields[i].name));
    if (d < bd) {
      bd = d;
      best = &t->fields[i];
    }
  }
  lschema_reason tmp, *w = s_reason(why, &tmp, LSR_UNKNOWN_FIELD, t, NULL);
  s_copy_cut(w->given, sizeof w->given - 1, name, n);
  /* A typo is one character off in a short name, two in a long one. */
  size_t cps = 0;
  for (const char *p = best != NULL ? best->name : ""; *p; p++)
    cps += ((unsigned char)*p & 0xC0) != 0x80;
  if (best != NULL && bd < cps && bd <= (cps >= 4 ? 2u : 1u))
    w->suggest = best;
  return s_refuse(w, LINLI_EINVAL, e);
}

int
schema_field_named(const lschema_type *t, const char *name, size_t n, const lschema_field **out,
                   lschema_reason *why, lerr *e)
{
  *out = schema_field(t, name, n);
  return *out != NULL ? 0 : s_unknown(t, name, n, why, e);
}

/* The sum a counter would have with the ops so far, checked at each step
 * against the bound: a local decrement never takes points below it.  (A
 * concurrent decrement at another station can; the merged sum is what it
 * is, and the report shows it.) */
static int
s_check_one(const lschema_type *t, const lschema_field *f, const op *o, int64_t *sum,
            lschema_reason *why, lerr *e)
{
  lschema_reason tmp;
  int fk = op_field_kind(o->kind);
  if (fk != f->fk)
    return s_refuse(s_reason(why, &tmp, LSR_KIND, t, f), LINLI_EINVAL, e);
  if (o->kind == OP_INCR) {
    int64_t next = (int64_t)((uint64_t)*sum + (uint64_t)o->n);
    if (f->has_min && next < f->min) {
      lschema_reason *w = s_reason(why, &tmp, LSR_COUNTER_MIN, t, f);
      w->bound = f->min;
      w->result = next;
      w->now = *sum;
      return s_refuse(w, LINLI_EINVAL, e);
    }
    *sum = next;
    return 0;
  }
  if (o->kind == OP_RM)
    return 0;
  char buf[128];
  size_t len;
  int r = schema_value(f, o->str, o->str_len, buf, sizeof buf, &len, why, e);
  if (r != 0) {
    if (why != NULL)
      why->type = t;
    return r;
  }
  if (f->vt != LSV_TEXT && (len != o->str_len || memcmp(buf, o->str, len) != 0)) {
    lschema_reason *w = s_reason(why, &tmp, LSR_NOT_CANONICAL, t, f);
    s_value_copy(w->value, o->str, o->str_len);
    memcpy(w->canonical, buf, len + 1);
    return s_refuse(w, LINLI_EINVAL, e);
  }
  return 0;
}

int
schema_check_ops(const lschema_type *t, const rec *r, const op *ops, uint32_t n,
                 lschema_reason *why, lerr *e)
{
  bool present = r != NULL && rec_present(r);
  for (uint32_t i = 0; i < n; i++) {
    const op *o = &ops[i];
    if (o->kind == OP_DEL) {
      present = false;
      r = NULL;
      continue;
    }
    const lschema_field *f = schema_field(t, o->field, o->field_len);
    if (f == NULL)
      return s_unknown(t, o->field, o->field_len, why, e);
    int64_t sum = 0;
    if (o->kind == OP_INCR) {
      const rfield *rf = r != NULL ? rec_field(r, f->name, strlen(f->name), FK_COUNTER) : NULL;
      sum = rf != NULL ? rfield_counter(rf) : 0;
      for (uint32_t k = 0; k < i; k++)
        if (ops[k].kind == OP_INCR && ops[k].field_len == o->field_len &&
            memcmp(ops[k].field, o->field, o->field_len) == 0)
          sum = (int64_t)((uint64_t)sum + (uint64_t)ops[k].n);
        else if (ops[k].kind == OP_DEL)
          sum = 0;
    }
    int rc = s_check_one(t, f, o, &sum, why, e);
    if (rc != 0)
      return rc;
  }
  /* A delete with nothing written after it leaves no record to check. */
  uint32_t after = n;
  while (after > 0 && ops[after - 1].kind != OP_DEL)
    after--;
  if (present || after == n)
    return 0;
  /* A new record (or one written again after a delete) starts with every
   * required field. */
  for (uint32_t k = 0; k < t->nfields; k++) {
    const lschema_field *f = &t->fields[k];
    if (!f->required)
      continue;
    bool given = false;
    for (uint32_t i = after; i < n && !given; i++)
      given = ops[i].kind != OP_DEL && op_field_kind(ops[i].kind) == f->fk &&
              strlen(f->name) == ops[i].field_len &&
              memcmp(ops[i].field, f->name, ops[i].field_len) == 0;
    if (!given) {
      lschema_reason tmp;
      return s_refuse(s_reason(why, &tmp, LSR_REQUIRED, t, f), LINLI_EINVAL, e);
    }
  }
  return 0;
}

int
schema_check_record(const lschema_type *t, const rec *r, lerr *e)
{
  for (uint32_t i = 0; i < r->nfields; i++) {
    const rfield *rf = &r->fields[i];
    if (!rfield_visible(rf))
      continue;
    const lschema_field *f = schema_field(t, rf->name, rf->name_len);
    if (f == NULL)
      return lerr_set(e, LINLI_EINVAL, "%s has no field %.*s", t->name, (int)rf->name_len,
                      rf->name);
    if (f->fk != rf->fk)
      return lerr_set(e, LINLI_EINVAL, "%s.%s is a %s, stored as a %s", t->name, f->name,
                      field_kind_name(f->fk), field_kind_name(rf->fk));
    if (rf->fk == FK_COUNTER) {
      if (f->has_min && rfield_counter(rf) < f->min)
        return lerr_set(e, LINLI_EINVAL, "%s.%s is %lld, below %lld", t->name, f->name,
                        (long long)rfield_counter(rf), (long long)f->min);
      continue;
    }
    for (uint32_t k = 0; k < rf->nents; k++) {
      char buf[128];
      size_t len;
      int rc = schema_value(f, rf->ents[k].s, rf->ents[k].s_len, buf, sizeof buf, &len, NULL, e);
      if (rc != 0)
        return rc;
    }
  }
  for (uint32_t k = 0; k < t->nfields; k++) {
    const lschema_field *f = &t->fields[k];
    const rfield *rf = rec_field(r, f->name, strlen(f->name), f->fk);
    if (f->required && (rf == NULL || !rfield_visible(rf)))
      return lerr_set(e, LINLI_EINVAL, "required %s.%s is missing", t->name, f->name);
  }
  return 0;
}

/* ---- queries ---- */

int
schema_where_parse(const lschema_type *t, const char *s, lschema_where *w, lerr *e)
{
  char buf[LINLI_FIELD_MAX + 256];
  size_t n = strlen(s);
  memset(w, 0, sizeof *w);
  if (n >= sizeof buf)
    return lerr_set(e, LINLI_EINVAL, "--where '%.40s...' is too long", s);
  /* Only the operator is folded: the field name and the value keep their
   * bytes until schema_value folds a typed value. */
  long at = -1;
  for (size_t i = 0; i < n && at < 0; i++) {
    if (s[i] == '<' || s[i] == '>' || s[i] == '!' || s[i] == '=')
      at = (long)i;
    else if (i + 3 <= n && (unsigned char)s[i] == 0xEF &&
             ((unsigned char)s[i + 1] == 0xBC && ((unsigned char)s[i + 2] == 0x9C ||
              (unsigned char)s[i + 2] == 0x9D || (unsigned char)s[i + 2] == 0x9E ||
              (unsigned char)s[i + 2] == 0x81)))
      at = (long)i;
  }
  if (at <= 0)
    return lerr_set(e, LINLI_EINVAL, "--where '%s' is not FIELD=VALUE (or !=, <, <=, >, >=)", s);
  /* the operator: one or two characters, each ASCII or full width */
  char cmp[3] = "";
  size_t p = (size_t)at, k = 0;
  while (p < n && k < 2) {
    size_t len = 1;
    char c = s[p];
    if ((unsigned char)c == 0xEF && p + 3 <= n) {
      char f[2];
      text_fold_ascii(s + p, 3, f);
      c = f[0];
      len = 3;
    }
    if (c != '<' && c != '>' && c != '!' && c != '=')
      break;
    cmp[k++] = c;
    p += len;
  }
  static const char *const ops[] = {"=", "!=", "<", "<=", ">", ">="};
  w->cmp = -1;
  for (int i = 0; i < 6; i++)
    if (strcmp(cmp, ops[i]) == 0)
      w->cmp = i;
  if (w->cmp < 0)
    return lerr_set(e, LINLI_EINVAL, "--where '%s': unknown comparison '%s'", s, cmp);
  const char *name = s;
  size_t name_len = (size_t)at;
  text_trim(&name, &name_len);
  w->field = schema_field(t, name, name_len);
  if (w->field == NULL)
    return s_unknown(t, name, name_len, NULL, e);
  const lschema_field *f = w->field;
  w->numeric = f->vt == LSV_INTEGER || f->vt == LSV_MONEY;
  if (w->numeric) {
    if (text_parse_i64(s + p, n - p, &w->n, NULL) != 0)
      return s_bad(f, NULL, e, s + p, n - p, LSR_FORMAT, LSF_INTEGER);
    w->value_len = (size_t)snprintf(w->value, sizeof w->value, "%lld", (long long)w->n);
    return 0;
  }
  /* an absent value in a filter is a value like any other: not required */
  lschema_field g = *f;
  g.required = false;
  int rc = schema_value(&g, s + p, n - p, w->value, sizeof w->value, &w->value_len, NULL, e);
  if (rc != 0)
    return rc;
  if (w->value_len >= sizeof w->value)
    return lerr_set(e, LINLI_EINVAL, "--where %s: the value is too long", f->name);
  return 0;
}

static int
s_cmp_bytes(const char *a, size_t an, const char *b, size_t bn)
{
  size_t n = an < bn ? an : bn;
  int d = n ? memcmp(a, b, n) : 0;
  return d != 0 ? d : (an > bn) - (an < bn);
}

static bool
s_cmp_ok(int cmp, int d)
{
  switch (cmp) {
  case LSC_EQ: return d == 0;
  case LSC_NE: return d != 0;
  case LSC_LT: return d < 0;
  case LSC_LE: return d <= 0;
  case LSC_GT: return d > 0;
  default: return d >= 0;
  }
}

static bool
s_contains(const char *h, size_t hn, const char *nd, size_t nn)
{
  if (nn == 0)
    return true;
  for (size_t i = 0; i + nn <= hn; i++)
    if (memcmp(h + i, nd, nn) == 0)
      return true;
  return false;
}

static bool
s_entry_match(const lschema_where *w, const char *v, size_t vn)
{
  if (w->numeric) {
    int64_t x;
    if (text_parse_i64(v, vn, &x, NULL) != 0)
      return false;
    return s_cmp_ok(w->cmp, (x > w->n) - (x < w->n));
  }
  return s_cmp_ok(w->cmp, s_cmp_bytes(v, vn, w->value, w->value_len));
}

bool
schema_where_match(const lschema_where *w, const rec *r)
{
  const lschema_field *f = w->field;
  const rfield *rf = rec_field(r, f->name, strlen(f->name), f->fk);
  if (rf == NULL || !rfield_visible(rf))
    return w->cmp == LSC_NE;
  switch (f->fk) {
  case FK_COUNTER: {
    int64_t x = rfield_counter(rf);
    return s_cmp_ok(w->cmp, (x > w->n) - (x < w->n));
  }
  case FK_LOG:
    for (uint32_t i = 0; i < rf->nents; i++) {
      bool has = s_contains(rf->ents[i].s, rf->ents[i].s_len, w->value, w->value_len);
      if (w->cmp == LSC_EQ ? has : w->cmp == LSC_NE ? !has
                                                    : s_entry_match(w, rf->ents[i].s,
                                                                    rf->ents[i].s_len))
        return true;
    }
    return false;
  default:
    for (uint32_t i = 0; i < rf->nents; i++)
      if (s_entry_match(w, rf->ents[i].s, rf->ents[i].s_len))
        return true;
    return false;
  }
}

/* ---- aggregates ---- */

static int
s_contrib_month(const lschema_type *t, const rec *r, const char *month, lschema_agg_cb cb,
                void *ctx)
{
  char item[2 * LINLI_FIELD_MAX + LINLI_VALUE_MAX / 1024 + 16];
  int rc = 0;
  for (uint32_t i = 0; i < t->naggs && rc == 0; i++) {
    const lschema_aggregate *a = &t->aggs[i];
    if (a->what == LSA_COUNT) {
      rc = cb(ctx, month, "count", 5, 1);
      continue;
    }
    const lschema_field *f = a->field;
    const rfield *rf = rec_field(r, f->name, strlen(f->name), f->fk);
    if (rf == NULL || !rfield_visible(rf))
      continue;
    if (a->what == LSA_SUM) {
      int64_t v = 0;
      if (rf->fk == FK_COUNTER)
        v = rfield_counter(rf);
      else if (text_parse_i64(rf->ents[0].s, rf->ents[0].s_len, &v, NULL) != 0)
        continue; /* a value from before the schema: not a number, not summed */
      int n = snprintf(item, sizeof item, "sum:%s", f->name);
      rc = cb(ctx, month, item, (size_t)n, v);
      continue;
    }
    /* LSA_COUNT_BY: each distinct value once */
    for (uint32_t k = 0; k < rf->nents && rc == 0; k++) {
      bool seen = false;
      for (uint32_t j = 0; j < k && !seen; j++)
        seen = rf->ents[j].s_len == rf->ents[k].s_len &&
               memcmp(rf->ents[j].s, rf->ents[k].s, rf->ents[k].s_len) == 0;
      if (seen || rf->ents[k].s_len > 128)
        continue;
      int n = snprintf(item, sizeof item, "by:%s=%.*s", f->name, (int)rf->ents[k].s_len,
                       rf->ents[k].s);
      rc = cb(ctx, month, item, (size_t)n, 1);
    }
  }
  return rc;
}

int
schema_contrib(const lschema_type *t, const rec *r, lschema_agg_cb cb, void *ctx)
{
  if (r == NULL || !rec_present(r) || t->naggs == 0)
    return 0;
  int rc = s_contrib_month(t, r, "", cb, ctx);
  if (rc != 0 || t->month == NULL)
    return rc;
  const rfield *d = rec_field(r, t->month->name, strlen(t->month->name), FK_REGISTER);
  if (d == NULL || !rfield_visible(d) || d->ents[0].s_len != 10 || d->ents[0].s[4] != '-' ||
      d->ents[0].s[7] != '-')
    return 0;
  char month[8];
  memcpy(month, d->ents[0].s, 7);
  month[7] = '\0';
  return s_contrib_month(t, r, month, cb, ctx);
}
