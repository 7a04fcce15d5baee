/*
 * test_records.c - node/records: the schema a store holds is parsed once
 * and kept, and never used after another one arrives: a publish here (the
 * next write is judged by the new version in the same open store), and a
 * publish that arrives in deltas of the root (as sync and import bring
 * it); a hold taken before a publish stays readable after it.
 */
#include "node/records.h"

#include "testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 UINT64_C(1800000000000)

/* The household type, 人口 at least `min`, as version `v`. */
static void
s_schema(char *out, size_t cap, int v, int min)
{
  snprintf(out, cap,
           "{\"schema\":\"t\",\"version\":%d,\"types\":{\"户\":{\"collection\":\"hh\","
           "\"fields\":{\"户主\":{\"kind\":\"register\",\"type\":\"text\",\"required\":true},"
           "\"人口\":{\"kind\":\"register\",\"type\":\"integer\",\"min\":%d}},"
           "\"aggregates\":{\"count\":true,\"sum\":[\"人口\"]}}}}",
           v, min);
}

typedef struct s_fix {
  char *dir;
  lstore *s;
  lident id;
} s_fix;

/* A store, its own trust root when `root`. */
static void
s_open(s_fix *f, const char *tag, bool root)
{
  lerr e = {0};
  cr_assert_eq(linli_crypto_init(), 0);
  f->dir = tu_tmpdir(tag);
  lstore_opts o = {0};
  cr_assert_eq(lstore_init(f->dir, tag, NULL, NULL, &e), 0, "%s", e.msg);
  cr_assert_eq(lstore_open(&f->s, f->dir, &o, &e), 0, "%s", e.msg);
  cr_assert_eq(lstore_identity(f->s, &f->id, &e), 0, "%s", e.msg);
  if (root)
    cr_assert_eq(lstore_set_root(f->s, f->id.pk, &e), 0, "%s", e.msg);
}

static void
s_close(s_fix *f)
{
  ident_wipe(&f->id);
  lstore_close(&f->s);
  tu_rmtree(f->dir);
  free(f->dir);
}

static void
s_publish(s_fix *f, int v, int min)
{
  char text[1024];
  lerr e = {0};
  s_schema(text, sizeof text, v, min);
  cr_assert_eq(lrecords_publish(f->s, &f->id, text, strlen(text), T0 + (uint64_t)v, &e), 0,
               "%s", e.msg);
}

/* Writes 人口=`n` to household `key` as the front ends do: the schema the
 * store holds now, then lrecords_write; the return code, the reason in
 * *why. */
static int
s_write(s_fix *f, const char *key, const char *n, lschema_reason *why)
{
  lschema *sch = NULL;
  lerr e = {0};
  cr_assert_eq(lrecords_schema(f->s, &sch, &e), 0, "%s", e.msg);
  cr_assert_not_null(sch, "no schema held");
  op ops[] = {
      {.kind = OP_SET, .key = key, .key_len = (uint32_t)strlen(key), .field = "户主",
       .field_len = (uint32_t)strlen("户主"), .str = "王五", .str_len = (uint32_t)strlen("王五")},
      {.kind = OP_SET, .key = key, .key_len = (uint32_t)strlen(key), .field = "人口",
       .field_len = (uint32_t)strlen("人口"), .str = n, .str_len = (uint32_t)strlen(n)},
  };
  int rc = lrecords_write(f->s, sch, &f->id, ops, 2, T0 + 1000, why, &e);
  schema_destroy(&sch);
  return rc;
}

static int64_t
s_version(lstore *s)
{
  lschema *sch = NULL;
  lerr e = {0};
  cr_assert_eq(lrecords_schema(s, &sch, &e), 0, "%s", e.msg);
  int64_t v = sch != NULL ? sch->version : 0;
  schema_destroy(&sch);
  return v;
}

/* v1 holds 人口 at 2 at least, v2 lowers it to 1: a write of 1 is refused
 * under v1 and taken under v2 (a later version may only accept what is
 * stored, so it is the loosening the store can be shown). */
Test(records, a_local_publish_is_used_by_the_next_write)
{
  s_fix f;
  s_open(&f, "records-local", true);
  lschema_reason why;
  lerr e = {0};
  s_publish(&f, 1, 2);
  cr_assert_eq(s_write(&f, "v/hh/1", "1", &why), LINLI_EINVAL, "v1's min 2 not applied");
  cr_assert_eq(why.rule, LSR_MIN);
  cr_assert_eq(why.bound, 2);
  cr_assert_eq(s_write(&f, "v/hh/1", "2", &why), 0);
  /* the parse is kept: the same schema twice, while nothing changed */
  lschema *a = NULL, *b = NULL;
  cr_assert_eq(lrecords_schema(f.s, &a, &e), 0, "%s", e.msg);
  cr_assert_eq(lrecords_schema(f.s, &b, &e), 0, "%s", e.msg);
  cr_assert_eq(a, b, "parsed again though the schema held did not change");
  schema_destroy(&b);
  s_publish(&f, 2, 1);
  cr_assert_eq(s_write(&f, "v/hh/2", "1", &why), 0, "v2's min 1 not applied: %s",
               schema_rule_name(why.rule));
  /* a hold on v1 taken before the publish is still v1, and whole */
  cr_assert_eq(a->version, 1);
  cr_assert_eq(schema_type(a, "户")->fields[1].min, 2);
  schema_destroy(&a);
  cr_assert_eq(s_version(f.s), 2);
  /* writes under v2 keep what the v2 rule says: 0 is still below 1 */
  cr_assert_eq(s_write(&f, "v/hh/3", "0", &why), LINLI_EINVAL);
  cr_assert_eq(why.bound, 1);
  /* a rebuild of the views brings back the same schema */
  cr_assert_eq(lstore_rebuild(f.s, NULL, NULL, &e), 0, "%s", e.msg);
  cr_assert_eq(s_version(f.s), 2);
  cr_assert_eq(s_write(&f, "v/hh/3", "1", &why), 0);
  s_close(&f);
}

typedef struct s_ship {
  lingest *g;
  lerr *e;
} s_ship;

static int
s_ship_cb(void *ctx, const uint8_t *p, size_t n)
{
  s_ship *x = ctx;
  int rc = lingest_add(x->g, p, n, x->e);
  return rc == LINLI_EEXIST ? 0 : rc;
}

/* Everything `from` holds into `to`, as one ingest (what sync and import
 * do with the deltas they bring). */
static void
s_ship_all(s_fix *from, s_fix *to)
{
  lerr e = {0};
  s_ship x = {.e = &e};
  cr_assert_eq(lstore_ingest_new(to->s, true, &x.g), 0);
  cr_assert_eq(lstore_log_scan(from->s, s_ship_cb, &x, &e), 0, "%s", e.msg);
  cr_assert_eq(lingest_commit(x.g, T0 + 500, NULL, &e), 0, "%s", e.msg);
  lingest_destroy(&x.g);
}

Test(records, a_publish_that_arrives_in_deltas_is_used_by_the_next_write)
{
  s_fix root, v;
  s_open(&root, "records-root", true);
  s_open(&v, "records-village", false);
  lschema_reason why;
  s_publish(&root, 1, 2);
  s_ship_all(&root, &v);
  cr_assert_eq(s_write(&v, "v/hh/1", "1", &why), LINLI_EINVAL, "v1's min 2 not applied");
  cr_assert_eq(why.bound, 2);
  cr_assert_eq(s_version(v.s), 1);
  s_publish(&root, 2, 1);
  s_ship_all(&root, &v);
  cr_assert_eq(s_version(v.s), 2, "the village still uses v1 after v2 arrived");
  cr_assert_eq(s_write(&v, "v/hh/1", "1", &why), 0, "v2's min 1 not applied: %s",
               schema_rule_name(why.rule));
  s_close(&v);
  s_close(&root);
}
