/*
 * cmd_write.c - the commands that write ops as this node: put, incr, add,
 * rm, append and del.
 *
 * Each command turns its arguments into ops, checks them with the same
 * op_check() every received op goes through (so a bad key, field or value
 * is refused with a precise message before the store is even opened), and
 * hands them to lstore_write() as one call: one delta, one signature, one
 * synced write.  The op strings borrow argv, which outlives the call.
 *
 * What a clerk types is taken as meant where that is unambiguous: field
 * names lose surrounding spaces, the IME's full-width '＝' and digits are
 * accepted (crdt/text.h).  A write that would put a second field of another
 * kind beside an existing one ("put 诚信积分=10" on a counter) is refused
 * with the command that does change it.
 */
#include "tools/linli/cli.h"
#include "tools/linli/json.h"

#include "crdt/hlc.h"
#include "crdt/op.h"
#include "crdt/text.h"
#include "node/records.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Runs op_check() on an op before it has a sequence number, a time and
 * its absolute key (known once the store is open): the placeholders only
 * satisfy the checks of those fields, which are made elsewhere. */
static int
s_precheck(cli *c, op *o)
{
  lerr e = {0};
  op t = *o;
  t.seq = 1;
  t.hlc = 1;
  t.key = "k/k";
  t.key_len = 3;
  if (op_check(&t, &e) != 0)
    return cli_usage(c, "%s", e.msg);
  return CLI_OK;
}

/* Opens the store and makes the key argument (argv[0]) absolute against
 * the station's namespace, into key. */
static int
s_open_key(cli *c, lstore **s, char key[LINLI_KEY_MAX + 1])
{
  int rc = cli_open(c, s);
  if (rc == CLI_OK)
    rc = cli_key(c, *s, c->argv[0], false, key);
  return rc;
}

static void
s_op_key(op *o, const char *key)
{
  o->key = key;
  o->key_len = (uint32_t)strlen(key);
}

static void
s_op_init(op *o, uint8_t kind, const char *key, const char *field)
{
  memset(o, 0, sizeof *o);
  o->kind = kind;
  o->key = key;
  o->key_len = (uint32_t)strlen(key);
  o->field = field;
  o->field_len = (uint32_t)strlen(field);
}

/* A field name as typed: surrounding spaces (ASCII or U+3000) dropped. */
static void
s_field_arg(op *o, const char *name, size_t n)
{
  text_trim(&name, &n);
  o->field = name;
  o->field_len = (uint32_t)n;
}

/* Checks ops[0..n) (lrecords_write: kinds, and the schema the station
 * holds), signs and writes them as this node (or as the person --as names)
 * and prints what was written.
 * The store stays open; the caller closes it. */
static int
s_write(cli *c, lstore *s, op *ops, uint32_t n)
{
  lident own;
  lperson *p = NULL;
  const lident *id;
  lerr e = {0};
  lschema *sch = NULL;
  int rc = cli_signer(c, s, &own, &p, &id);

  if (rc != CLI_OK)
    goto done;
  if (lrecords_schema(s, &sch, &e) != 0 ||
      lrecords_write(s, sch, id, ops, n, cli_wall_ms(), NULL, &e) != 0) {
    rc = cli_fail_e(&e);
    /* a right write the store would not take: why, for a program */
    const char *cause = c->json ? cli_cause_name(e.code) : NULL;
    if (cause != NULL) {
      jw w;
      jw_init(&w, stdout);
      jw_obj_begin(&w);
      jw_key(&w, "cause");
      jw_str(&w, cause);
      jw_obj_end(&w);
      jw_finish(&w);
    }
    goto done;
  }
  if (c->json) {
    jw w;
    jw_init(&w, stdout);
    jw_obj_begin(&w);
    jw_key(&w, "key");
    jw_strn(&w, ops[0].key, ops[0].key_len);
    jw_key(&w, "seq");
    jw_uint(&w, ops[n - 1].seq);
    jw_key(&w, "first_seq");
    jw_uint(&w, ops[0].seq);
    jw_key(&w, "ops");
    jw_uint(&w, n);
    jw_key(&w, "hlc");
    jw_uint(&w, ops[n - 1].hlc);
    cli_time_json(&w, ops[n - 1].hlc);
    jw_obj_end(&w);
    jw_finish(&w);
  } else if (n == 1) {
    printf("ok seq %llu\n", (unsigned long long)ops[0].seq);
  } else {
    printf("ok seq %llu-%llu (%u ops)\n", (unsigned long long)ops[0].seq,
           (unsigned long long)ops[n - 1].seq, n);
  }
done:
  schema_destroy(&sch);
  ident_wipe(&own);
  lperson_free(&p);
  return rc;
}

/* Opens the store, writes one op, closes. */
static int
s_write_one(cli *c, op *o)
{
  lstore *s = NULL;
  char key[LINLI_KEY_MAX + 1] = "";
  int rc = s_precheck(c, o);
  if (rc == CLI_OK)
    rc = s_open_key(c, &s, key);
  if (rc == CLI_OK)
    s_op_key(o, key);
  if (rc == CLI_OK)
    rc = s_write(c, s, o, 1);
  cli_close(&s);
  return rc;
}

int
cmd_put(cli *c)
{
  const char *key = c->argv[0];
  char abs[LINLI_KEY_MAX + 1] = "";
  uint32_t n = (uint32_t)(c->argc - 1);
  lstore *s = NULL;
  int rc = cli_key_typed(c, key, false);
  op *ops = NULL;

  if (rc != CLI_OK)
    return rc;
  ops = calloc(n, sizeof *ops);
  if (ops == NULL)
    return cli_fail("out of memory");
  for (uint32_t i = 0; i < n; i++) {
    char *arg = c->argv[i + 1];
    size_t alen = strlen(arg), sep;
    long eq = text_find_assign(arg, alen, &sep);
    if (eq < 0 && i > 0) {
      /* "户主=王 五" unquoted arrives as "户主=王" and "五" */
      rc = cli_usage(c, "'%s' is not FIELD=VALUE; a value with spaces must be quoted, "
                     "e.g. \"地址=雅鹿村 三组\"", arg);
      goto done;
    }
    if (eq < 0) {
      rc = cli_usage(c, "'%s' is not FIELD=VALUE", arg);
      goto done;
    }
    s_op_init(&ops[i], OP_SET, key, "");
    s_field_arg(&ops[i], arg, (size_t)eq);
    if (ops[i].field_len == 0) {
      rc = cli_usage(c, "empty field name in '%s'", arg);
      goto done;
    }
    ops[i].str = arg + eq + sep;
    ops[i].str_len = (uint32_t)(alen - (size_t)eq - sep);
    rc = s_precheck(c, &ops[i]);
    if (rc != CLI_OK)
      goto done;
  }
  rc = s_open_key(c, &s, abs);
  for (uint32_t i = 0; i < n && rc == CLI_OK; i++)
    s_op_key(&ops[i], abs);
  if (rc == CLI_OK)
    rc = s_write(c, s, ops, n);
done:
  cli_close(&s);
  free(ops);
  return rc;
}

int
cmd_incr(cli *c)
{
  op o;
  int64_t n;
  lerr e = {0};
  int rc = cli_key_typed(c, c->argv[0], false);
  if (rc != CLI_OK)
    return rc;
  if (text_parse_i64(c->argv[2], strlen(c->argv[2]), &n, &e) != 0)
    return cli_usage(c, "N: %s", e.msg);
  s_op_init(&o, OP_INCR, c->argv[0], "");
  s_field_arg(&o, c->argv[1], strlen(c->argv[1]));
  o.n = n;
  return s_write_one(c, &o);
}

/* add and append differ only in the kind of op they write. */
static int
s_str_op(cli *c, uint8_t kind)
{
  op o;
  int rc = cli_key_typed(c, c->argv[0], false);
  if (rc != CLI_OK)
    return rc;
  s_op_init(&o, kind, c->argv[0], "");
  s_field_arg(&o, c->argv[1], strlen(c->argv[1]));
  o.str = c->argv[2];
  o.str_len = (uint32_t)strlen(c->argv[2]);
  return s_write_one(c, &o);
}

int
cmd_add(cli *c)
{
  return s_str_op(c, OP_ADD);
}

int
cmd_append(cli *c)
{
  return s_str_op(c, OP_APPEND);
}

/* Reads the record at key, or reports "KEY: not found" when the store has
 * none or it is deleted.  *r is NULL on failure. */
static int
s_get_present(lstore *s, const char *key, rec **r)
{
  lerr e = {0};
  int g = lstore_get(s, key, strlen(key), r, &e);
  if (g == LINLI_ENOTFOUND || (g == 0 && !rec_present(*r))) {
    rec_destroy(r);
    return cli_fail("%s: not found", key);
  }
  if (g != 0) {
    *r = NULL;
    return cli_fail_e(&e);
  }
  return CLI_OK;
}

int
cmd_rm(cli *c)
{
  const char *elem = c->argv[2];
  char key[LINLI_KEY_MAX + 1] = "";
  lstore *s = NULL;
  rec *r = NULL;
  op_tag *tags = NULL;
  uint32_t ntags = 0;
  op o;
  int rc = cli_key_typed(c, c->argv[0], false);

  if (rc != CLI_OK)
    return rc;
  /* Checked as the add it undoes: the tags are only known from the store. */
  s_op_init(&o, OP_ADD, c->argv[0], "");
  s_field_arg(&o, c->argv[1], strlen(c->argv[1]));
  const char *field = o.field;
  size_t field_len = o.field_len;
  o.str = elem;
  o.str_len = (uint32_t)strlen(elem);
  rc = s_precheck(c, &o);
  if (rc == CLI_OK)
    rc = s_open_key(c, &s, key);
  if (rc != CLI_OK)
    goto done;
  s_op_key(&o, key);
  lerr e = {0};
  int g = lstore_get(s, key, strlen(key), &r, &e);
  if (g != 0 && g != LINLI_ENOTFOUND) {
    r = NULL;
    rc = cli_fail_e(&e);
    goto done;
  }
  if (g == 0 && rec_set_tags(r, field, field_len, elem, strlen(elem), &tags, &ntags) != 0) {
    rc = cli_fail("out of memory");
    goto done;
  }
  if (ntags == 0) {
    rc = cli_fail("%s is not in %s %.*s", elem, key, (int)field_len, field);
    goto done;
  }
  /* More adds of one element than an op may name is only possible after
   * more than a thousand concurrent adds; removing the first batch still
   * makes progress and the rest can be removed by running rm again. */
  if (ntags > LINLI_TAGS_MAX)
    ntags = LINLI_TAGS_MAX;
  o.kind = OP_RM;
  o.tags = tags;
  o.ntags = ntags;
  rc = s_write(c, s, &o, 1);
done:
  free(tags);
  rec_destroy(&r);
  cli_close(&s);
  return rc;
}

/* The ops that remove every field named (name, name_len) from r: growing
 * array *ops of *n ops, strings borrowed from r. */
typedef struct opvec {
  op *v;
  uint32_t n, cap;
} opvec;

static op *
s_opvec_push(opvec *ov)
{
  if (ov->n == ov->cap) {
    uint32_t cap = ov->cap ? ov->cap * 2 : 16;
    op *v = realloc(ov->v, cap * sizeof *v);
    if (v == NULL)
      return NULL;
    ov->v = v;
    ov->cap = cap;
  }
  memset(&ov->v[ov->n], 0, sizeof ov->v[0]);
  return &ov->v[ov->n++];
}

/* The distinct visible elements of a set field, in entry order: entry i
 * is a repeat when an earlier entry has the same text. */
static bool
s_elem_repeat(const rfield *f, uint32_t i)
{
  for (uint32_t k = 0; k < i; k++)
    if (f->ents[k].s_len == f->ents[i].s_len &&
        memcmp(f->ents[k].s, f->ents[i].s, f->ents[i].s_len) == 0)
      return true;
  return false;
}

/*
 * Removing one field is expressed with the ops that exist (docs/FORMAT.md
 * has no per-field delete):
 *  - a set field: one `rm` per element naming the adds seen, exactly like
 *    `linli rm`; a concurrent add elsewhere survives (add wins);
 *  - any other kind: a `del` of the record followed, in the same delta, by
 *    the visible state of every other field written again (a register's
 *    value, a counter's sum as one increment, a set's elements).  Like any
 *    `del`, it also hides what other stations wrote before it and this
 *    station has not seen yet.  A record whose other fields include a log
 *    is refused: its entries would be re-dated and re-signed by this
 *    station, which an audit would rightly call a rewrite of history.
 */
static int
s_del_field(cli *c, lstore *s, const rec *r, const char *key, const char *name,
            size_t name_len)
{
  opvec ov = {0};
  op_tag *tags = NULL;
  uint32_t ntags = 0;
  bool found = false, only_set = true;
  int rc = CLI_OK;
  size_t klen = strlen(key);

  for (uint32_t i = 0; i < r->nfields; i++) {
    const rfield *f = &r->fields[i];
    if (!rfield_visible(f) || f->name_len != name_len || memcmp(f->name, name, name_len) != 0)
      continue;
    found = true;
    if (f->fk != FK_SET)
      only_set = false;
  }
  if (!found)
    return cli_fail("%s has no field %.*s", key, (int)name_len, name);

  for (uint32_t i = 0; i < r->nfields && rc == CLI_OK; i++) {
    const rfield *f = &r->fields[i];
    bool mine = f->name_len == name_len && memcmp(f->name, name, name_len) == 0;
    if (!rfield_visible(f) || (only_set && !mine))
      continue;
    if (only_set) {
      for (uint32_t k = 0; k < f->nents && rc == CLI_OK; k++) {
        if (s_elem_repeat(f, k))
          continue;
        free(tags);
        tags = NULL;
        if (rec_set_tags(r, name, name_len, f->ents[k].s, f->ents[k].s_len, &tags, &ntags) != 0)
          rc = cli_fail("out of memory");
        op *o = rc == CLI_OK ? s_opvec_push(&ov) : NULL;
        if (rc == CLI_OK && o == NULL)
          rc = cli_fail("out of memory");
        if (rc != CLI_OK)
          break;
        /* tags are copied below: each rm keeps its own array */
        op_tag *own = malloc((ntags ? ntags : 1) * sizeof *own);
        if (own == NULL) {
          ov.n--;
          rc = cli_fail("out of memory");
          break;
        }
        memcpy(own, tags, ntags * sizeof *own);
        *o = (op){.kind = OP_RM, .key = key, .key_len = (uint32_t)klen, .field = f->name,
                  .field_len = f->name_len, .str = f->ents[k].s, .str_len = f->ents[k].s_len,
                  .tags = own, .ntags = ntags > LINLI_TAGS_MAX ? LINLI_TAGS_MAX : ntags};
      }
      continue;
    }
    if (ov.n == 0) {
      op *d = s_opvec_push(&ov);
      if (d == NULL) {
        rc = cli_fail("out of memory");
        break;
      }
      s_op_init(d, OP_DEL, key, "");
    }
    if (mine)
      continue;
    if (f->fk == FK_LOG) {
      rc = cli_fail("cannot remove %.*s from %s: its log field %.*s would be rewritten; "
                    "delete the record with linli del %s instead", (int)name_len, name, key,
                    (int)f->name_len, f->name, key);
      break;
    }
    uint32_t nput = f->fk == FK_SET ? f->nents : 1;
    for (uint32_t k = 0; k < nput && rc == CLI_OK; k++) {
      if (f->fk == FK_SET && s_elem_repeat(f, k))
        continue;
      op *o = s_opvec_push(&ov);
      if (o == NULL) {
        rc = cli_fail("out of memory");
        break;
      }
      *o = (op){.key = key, .key_len = (uint32_t)klen, .field = f->name,
                .field_len = f->name_len};
      if (f->fk == FK_COUNTER) {
        o->kind = OP_INCR;
        o->n = rfield_counter(f);
      } else {
        o->kind = f->fk == FK_SET ? OP_ADD : OP_SET;
        o->str = f->ents[k].s;
        o->str_len = f->ents[k].s_len;
      }
    }
  }
  if (rc == CLI_OK)
    rc = s_write(c, s, ov.v, ov.n);
  for (uint32_t i = 0; i < ov.n; i++)
    free((void *)ov.v[i].tags);
  free(ov.v);
  free(tags);
  return rc;
}

int
cmd_del(cli *c)
{
  char key[LINLI_KEY_MAX + 1] = "";
  lstore *s = NULL;
  rec *r = NULL;
  op o;
  int rc = cli_key_typed(c, c->argv[0], false);

  if (rc != CLI_OK)
    return rc;
  if (c->argc == 2) {
    s_op_init(&o, OP_SET, c->argv[0], "");
    s_field_arg(&o, c->argv[1], strlen(c->argv[1]));
    o.str = "";
    rc = s_precheck(c, &o); /* the field name's syntax */
    if (rc == CLI_OK)
      rc = s_open_key(c, &s, key);
    if (rc == CLI_OK)
      rc = s_get_present(s, key, &r);
    if (rc == CLI_OK)
      rc = s_del_field(c, s, r, key, o.field, o.field_len);
    rec_destroy(&r);
    cli_close(&s);
    return rc;
  }
  rc = s_open_key(c, &s, key);
  s_op_init(&o, OP_DEL, key, "");
  if (rc == CLI_OK)
    rc = s_get_present(s, key, &r);
  if (rc == CLI_OK)
    rc = s_write(c, s, &o, 1);
  rec_destroy(&r);
  cli_close(&s);
  return rc;
}
