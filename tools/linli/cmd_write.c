/*
 * cmd_write.c - the commands that write ops as this node: put, incr, add,
 * rm, append and del.
 *
 * Each command turns its arguments into ops, checks them with the same
 * op_check() every received op goes through (so a bad key, field or value
 * is refused with a precise message before the store is even opened), and
 * hands them to lstore_write() as one call: one delta, one signature, one
 * synced write.  The op strings borrow argv, which outlives the call.
 */
#include "tools/linli/cli.h"
#include "tools/linli/json.h"

#include "crdt/hlc.h"
#include "crdt/op.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Runs op_check() on an op before it has a sequence number and a time:
 * the placeholders only satisfy the checks of those two fields. */
static int
s_precheck(cli *c, op *o)
{
  lerr e = {0};
  uint64_t seq = o->seq, hlc = o->hlc;
  o->seq = 1;
  o->hlc = 1;
  int r = op_check(o, &e);
  o->seq = seq;
  o->hlc = hlc;
  if (r != 0)
    return cli_usage(c, "%s", e.msg);
  return CLI_OK;
}

static int
s_key_arg(cli *c, const char *key)
{
  lerr e = {0};
  if (key_check(key, strlen(key), &e) != 0)
    return cli_usage(c, "%s", e.msg);
  return CLI_OK;
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

/* Signs and writes ops[0..n) as this node and prints what was written.
 * The store stays open; the caller closes it. */
static int
s_write(cli *c, lstore *s, op *ops, uint32_t n)
{
  lident id;
  lerr e = {0};
  char when[64];
  int rc = cli_identity(s, &id);

  if (rc != CLI_OK)
    return rc;
  if (lstore_write(s, &id, ops, n, cli_wall_ms(), &e) != 0) {
    rc = cli_fail_e(&e);
    goto done;
  }
  hlc_format(when, sizeof when, ops[n - 1].hlc);
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
    jw_key(&w, "time");
    jw_str(&w, when);
    jw_obj_end(&w);
    jw_finish(&w);
  } else if (n == 1) {
    printf("ok seq %llu\n", (unsigned long long)ops[0].seq);
  } else {
    printf("ok seq %llu-%llu (%u ops)\n", (unsigned long long)ops[0].seq,
           (unsigned long long)ops[n - 1].seq, n);
  }
done:
  ident_wipe(&id);
  return rc;
}

/* Opens the store, writes one op, closes. */
static int
s_write_one(cli *c, op *o)
{
  lstore *s = NULL;
  int rc = s_precheck(c, o);
  if (rc == CLI_OK)
    rc = cli_open(c, &s);
  if (rc == CLI_OK)
    rc = s_write(c, s, o, 1);
  cli_close(&s);
  return rc;
}

int
cmd_put(cli *c)
{
  const char *key = c->argv[0];
  uint32_t n = (uint32_t)(c->argc - 1);
  lstore *s = NULL;
  int rc = s_key_arg(c, key);
  op *ops = NULL;

  if (rc != CLI_OK)
    return rc;
  ops = calloc(n, sizeof *ops);
  if (ops == NULL)
    return cli_fail("out of memory");
  for (uint32_t i = 0; i < n; i++) {
    char *arg = c->argv[i + 1];
    char *eq = strchr(arg, '=');
    if (eq == NULL) {
      rc = cli_usage(c, "'%s' is not FIELD=VALUE", arg);
      goto done;
    }
    if (eq == arg) {
      rc = cli_usage(c, "empty field name in '%s'", arg);
      goto done;
    }
    s_op_init(&ops[i], OP_SET, key, arg);
    ops[i].field_len = (uint32_t)(eq - arg);
    ops[i].str = eq + 1;
    ops[i].str_len = (uint32_t)strlen(eq + 1);
    rc = s_precheck(c, &ops[i]);
    if (rc != CLI_OK)
      goto done;
  }
  rc = cli_open(c, &s);
  if (rc == CLI_OK)
    rc = s_write(c, s, ops, n);
done:
  cli_close(&s);
  free(ops);
  return rc;
}

/* A strict int64: optional sign, decimal digits, nothing else. */
static int
s_parse_i64(const char *a, int64_t *out)
{
  const char *d = a + (a[0] == '-' || a[0] == '+');
  if (*d == '\0')
    return LINLI_EINVAL;
  for (const char *p = d; *p; p++)
    if (*p < '0' || *p > '9')
      return LINLI_EINVAL;
  errno = 0;
  char *end;
  long long v = strtoll(a, &end, 10);
  if (errno == ERANGE || *end != '\0')
    return LINLI_ETOOBIG;
  *out = (int64_t)v;
  return 0;
}

int
cmd_incr(cli *c)
{
  op o;
  int64_t n;
  int rc = s_key_arg(c, c->argv[0]);
  if (rc != CLI_OK)
    return rc;
  int pr = s_parse_i64(c->argv[2], &n);
  if (pr == LINLI_ETOOBIG)
    return cli_usage(c, "N '%s' does not fit in a 64-bit integer", c->argv[2]);
  if (pr != 0)
    return cli_usage(c, "N must be an integer, got '%s'", c->argv[2]);
  s_op_init(&o, OP_INCR, c->argv[0], c->argv[1]);
  o.n = n;
  return s_write_one(c, &o);
}

/* add and append differ only in the kind of op they write. */
static int
s_str_op(cli *c, uint8_t kind)
{
  op o;
  int rc = s_key_arg(c, c->argv[0]);
  if (rc != CLI_OK)
    return rc;
  s_op_init(&o, kind, c->argv[0], c->argv[1]);
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
  const char *key = c->argv[0], *field = c->argv[1], *elem = c->argv[2];
  lstore *s = NULL;
  rec *r = NULL;
  op_tag *tags = NULL;
  uint32_t ntags = 0;
  op o;
  int rc = s_key_arg(c, key);

  if (rc != CLI_OK)
    return rc;
  /* Checked as the add it undoes: the tags are only known from the store. */
  s_op_init(&o, OP_ADD, key, field);
  o.str = elem;
  o.str_len = (uint32_t)strlen(elem);
  rc = s_precheck(c, &o);
  if (rc == CLI_OK)
    rc = cli_open(c, &s);
  if (rc != CLI_OK)
    goto done;
  lerr e = {0};
  int g = lstore_get(s, key, strlen(key), &r, &e);
  if (g != 0 && g != LINLI_ENOTFOUND) {
    r = NULL;
    rc = cli_fail_e(&e);
    goto done;
  }
  if (g == 0 && rec_set_tags(r, field, strlen(field), elem, strlen(elem), &tags, &ntags) != 0) {
    rc = cli_fail("out of memory");
    goto done;
  }
  if (ntags == 0) {
    rc = cli_fail("%s is not in %s %s", elem, key, field);
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

int
cmd_del(cli *c)
{
  const char *key = c->argv[0];
  lstore *s = NULL;
  rec *r = NULL;
  op o;
  int rc = s_key_arg(c, key);

  if (rc != CLI_OK)
    return rc;
  s_op_init(&o, OP_DEL, key, "");
  rc = cli_open(c, &s);
  if (rc == CLI_OK)
    rc = s_get_present(s, key, &r);
  if (rc == CLI_OK)
    rc = s_write(c, s, &o, 1);
  rec_destroy(&r);
  cli_close(&s);
  return rc;
}
