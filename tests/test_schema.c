/*
 * test_schema.c - crdt/schema: the community schema parses; a schema that
 * does not parse names its line, a wrong member its path; every value type
 * refuses wrong values with the field, the expected type and an example,
 * and gives the canonical form of right ones; writes are checked for
 * unknown fields (with "did you mean"), kinds, counter bounds and required
 * fields; stored records for a schema change; each refusal's structured
 * reason (the rule, the field, the bound, the suggestion) and the English
 * line rendered from it.
 */
#include "crdt/hlc.h"
#include "crdt/schema.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static lschema *s_community;

static char *
s_read(const char *path, size_t *n)
{
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "%s", path);
  char *buf = malloc(1 << 20);
  *n = fread(buf, 1, (1 << 20) - 1, f);
  buf[*n] = '\0';
  fclose(f);
  return buf;
}

static void
setup(void)
{
  size_t n;
  char *text = s_read(LINLI_SOURCE_DIR "/deploy/schemas/community.json", &n);
  lerr e = {0};
  cr_assert_eq(schema_parse(&s_community, text, n, &e), 0, "%s", e.msg);
  free(text);
}

static void
teardown(void)
{
  schema_destroy(&s_community);
}

TestSuite(schema, .init = setup, .fini = teardown);

Test(schema, community_has_the_ten_types)
{
  const char *names[] = {"户", "居民", "诉求", "民主决策日", "积分", "志愿服务", "民情日记",
                         "慈善", "微实事", "公告"};
  cr_assert_eq(s_community->ntypes, 10);
  for (size_t i = 0; i < 10; i++)
    cr_assert_not_null(schema_type(s_community, names[i]), "%s", names[i]);
  const lschema_type *hh = schema_type(s_community, "hh");
  cr_assert_str_eq(hh->name, "户");
  cr_assert_eq(schema_type(s_community, "household"), hh);
  const lschema_field *pts = schema_field(hh, "诚信积分", strlen("诚信积分"));
  cr_assert_eq(pts->fk, FK_COUNTER);
  cr_assert(pts->has_min && pts->min == 0);
  const lschema_type *req = schema_type(s_community, "诉求");
  cr_assert_str_eq(req->month->name, "日期");
  cr_assert_eq(req->naggs, 2);
  cr_assert_eq(req->aggs[1].what, LSA_COUNT_BY);
  cr_assert_str_eq(req->aggs[1].field->name, "状态");
}

Test(schema, type_of_key_by_its_collection)
{
  size_t ns = 0;
  const char *k = "gusu/jinchang/shilu/hh/0012";
  const lschema_type *t = schema_type_of_key(s_community, k, strlen(k), &ns);
  cr_assert_not_null(t);
  cr_assert_str_eq(t->name, "户");
  cr_assert_eq(ns, strlen("gusu/jinchang/shilu/"));
  k = "hh/0012";
  cr_assert_eq(schema_type_of_key(s_community, k, strlen(k), &ns), t);
  cr_assert_eq(ns, 0);
  /* deeper keys, other collections and reserved keys stay free-form */
  k = "gusu/hh/0012/x";
  cr_assert_null(schema_type_of_key(s_community, k, strlen(k), &ns));
  k = "schema/community";
  cr_assert_null(schema_type_of_key(s_community, k, strlen(k), &ns));
  cr_assert_null(schema_type_of_key(s_community, "xhh/1", 5, &ns));
}

/* A schema text that must be refused with a message containing `want`. */
static void
s_bad_schema(const char *text, const char *want)
{
  lschema *s = NULL;
  lerr e = {0};
  cr_assert_eq(schema_parse(&s, text, strlen(text), &e), LINLI_EINVAL, "accepted: %s", text);
  cr_assert_null(s);
  cr_assert(strstr(e.msg, want) != NULL, "'%s' not in '%s'", want, e.msg);
}

#define HEAD "{\"schema\":\"c\",\"version\":1,\"types\":{\"户\":{\"collection\":\"hh\",\"fields\":{"

Test(schema, a_schema_that_does_not_parse_names_line_or_path)
{
  s_bad_schema("{\n\"schema\": \"c\",\n\"version\": 1,\n\"types\": {,}\n}", "schema line 4");
  s_bad_schema("", "schema line 1");
  s_bad_schema("[]", "the top level is an object");
  s_bad_schema("{\"schema\":\"c\",\"version\":0,\"types\":{}}", "version");
  s_bad_schema("{\"schema\":\"c\",\"version\":1,\"types\":{},\"x\":1}", "unknown member 'x'");
  s_bad_schema(HEAD "\"电话\":{\"kind\":\"register\",\"type\":\"phon\"}}}}}",
               "types.户.fields.电话: unknown type 'phon'");
  s_bad_schema(HEAD "\"a\":{\"kind\":\"registr\",\"type\":\"text\"}}}}}", "kind must be");
  s_bad_schema(HEAD "\"a\":{\"kind\":\"counter\",\"type\":\"date\"}}}}}", "a counter is integer");
  s_bad_schema(HEAD "\"a\":{\"kind\":\"register\",\"type\":\"enum\"}}}}}", "codes go with type enum");
  s_bad_schema(HEAD "\"a\":{\"kind\":\"register\",\"type\":\"text\",\"requird\":true}}}}}",
               "unknown member 'requird'");
  s_bad_schema(HEAD "\"a b\":{\"kind\":\"register\",\"type\":\"text\"}}}}}", "a field name");
  s_bad_schema(HEAD "\"a\":{\"kind\":\"register\",\"type\":\"text\"}},"
               "\"aggregates\":{\"sum\":[\"a\"]}}}}", "aggregates.sum[0]");
  s_bad_schema(HEAD "\"a\":{\"kind\":\"register\",\"type\":\"text\"}}},"
               "\"x\":{\"collection\":\"hh\",\"fields\":{\"b\":{\"kind\":\"log\",\"type\":\"text\"}}}}}",
               "'hh' is 户's already");
  s_bad_schema(HEAD "\"a\":{\"kind\":\"register\",\"type\":\"text\"},"
               "\"a\":{\"kind\":\"register\",\"type\":\"text\"}}}}}", "duplicate");
}

/* Value v of field `name` of type `type`: accepted with canonical form
 * `want`, or refused (want NULL) with `err` in the message. */
static void
s_value(const char *type, const char *name, const char *v, const char *want, const char *err)
{
  const lschema_type *t = schema_type(s_community, type);
  const lschema_field *f = schema_field(t, name, strlen(name));
  cr_assert_not_null(f, "%s.%s", type, name);
  char out[128];
  size_t len = 0;
  lerr e = {0};
  int rc = schema_value(f, v, strlen(v), out, sizeof out, &len, NULL, &e);
  if (want != NULL) {
    cr_assert_eq(rc, 0, "%s refused: %s", v, e.msg);
    cr_assert_str_eq(out, want);
    cr_assert_eq(len, strlen(want));
  } else {
    cr_assert_eq(rc, LINLI_EINVAL, "%s.%s accepted '%s'", type, name, v);
    cr_assert(strstr(e.msg, err) != NULL, "'%s' not in '%s'", err, e.msg);
    cr_assert(strncmp(e.msg, name, strlen(name)) == 0, "the field is not named: %s", e.msg);
  }
}

Test(schema, every_value_type)
{
  s_value("户", "户主", "张建国", "张建国", NULL);
  s_value("户", "户主", "", NULL, "is empty; expected text, e.g.");
  s_value("户", "人口", "３", "3", NULL);
  s_value("户", "人口", "+4", "4", NULL);
  s_value("户", "人口", "三", NULL, "is not an integer; expected integer, e.g. 3");
  s_value("户", "人口", "0", NULL, "below the smallest allowed, 1");
  s_value("慈善", "金额分", "12050", "12050", NULL);
  s_value("慈善", "金额分", "120.50", NULL, "not a whole number of fen; expected money, e.g. 12050");
  s_value("慈善", "金额分", "-5", NULL, "below the smallest allowed, 0");
  s_value("诉求", "日期", "２０２６－１１－３０", "2026-11-30", NULL);
  s_value("诉求", "日期", "2026-02-29", NULL, "is not a date YYYY-MM-DD; expected date");
  s_value("诉求", "日期", "2028-02-29", "2028-02-29", NULL);
  s_value("诉求", "日期", "2026/11/30", NULL, "is not a date");
  s_value("诉求", "状态", "办理中", "办理中", NULL);
  s_value("诉求", "状态", "done", "已办结", NULL);
  s_value("诉求", "状态", "办完了", NULL, "is not one of: 受理 (received), 办理中 (in_progress)");
  s_value("户", "电话", "13812345678", "13812345678", NULL);
  s_value("户", "电话", "１３８１２３４５６７８", "13812345678", NULL);
  s_value("户", "电话", "0512-65231234", "0512-65231234", NULL);
  s_value("户", "电话", "1381234567", NULL, "is not a phone number; expected phone, e.g.");
  s_value("户", "电话", "12812345678", NULL, "is not a phone number");
  s_value("居民", "身份证号", "11010519491231002X", "11010519491231002X", NULL);
  s_value("居民", "身份证号", "11010519491231002x", "11010519491231002X", NULL);
  s_value("居民", "身份证号", "110105194912310021", NULL, "wrong check character");
  s_value("居民", "身份证号", "11010519491331002X", NULL, "no valid birth date");
  s_value("居民", "身份证号", "1101051949123100", NULL,
          "is not 18 characters: 17 digits and a digit or X; expected resident_id, e.g. "
          "11010519491231002X");
}

static lident s_id;

static op
s_op(uint8_t kind, const char *field, const char *str, int64_t n)
{
  op o = {.seq = 1, .hlc = hlc_make(UINT64_C(1795840212345), 0), .kind = kind, .n = n};
  o.key = "gusu/jinchang/shilu/hh/0003";
  o.key_len = (uint32_t)strlen(o.key);
  o.field = field;
  o.field_len = (uint32_t)strlen(field);
  o.str = str ? str : "";
  o.str_len = str ? (uint32_t)strlen(str) : 0;
  return o;
}

/* A new household with its required fields and 8 points, as s_id wrote
 * it (accepted as a new record first). */
static rec *
s_household(const lschema_type *hh)
{
  lerr e = {0};
  op o[] = {s_op(OP_SET, "户主", "王五", 0), s_op(OP_SET, "地址", "石路1号", 0),
            s_op(OP_INCR, "诚信积分", NULL, 8)};
  cr_assert_eq(schema_check_ops(hh, NULL, o, 3, NULL, &e), 0, "%s", e.msg);
  rec *r = rec_new();
  for (int i = 0; i < 3; i++) {
    o[i].seq = (uint64_t)i + 1;
    o[i].hlc += (uint64_t)i;
    cr_assert_eq(rec_apply(r, s_id.pk, &o[i]), 1);
  }
  return r;
}

static void
s_refused_ops(const lschema_type *t, const rec *r, const op *ops, uint32_t n, const char *want)
{
  lerr e = {0};
  cr_assert_eq(schema_check_ops(t, r, ops, n, NULL, &e), LINLI_EINVAL, "accepted, want %s", want);
  cr_assert(strstr(e.msg, want) != NULL, "'%s' not in '%s'", want, e.msg);
}

Test(schema, writes_checked_against_the_type)
{
  cr_assert_eq(linli_crypto_init(), 0);
  uint8_t seed[LINLI_SEED_BYTES] = {7};
  ident_from_seed(&s_id, seed);
  const lschema_type *hh = schema_type(s_community, "户");
  lerr e = {0};
  /* a new household needs its required fields */
  op o1[] = {s_op(OP_SET, "户主", "王五", 0)};
  s_refused_ops(hh, NULL, o1, 1, "a new 户 needs 地址 (text, e.g.");
  rec *r = s_household(hh);
  /* an existing one does not */
  op o3[] = {s_op(OP_SET, "电话", "13812345678", 0)};
  cr_assert_eq(schema_check_ops(hh, r, o3, 1, NULL, &e), 0, "%s", e.msg);
  /* unknown fields: a typo gets a suggestion, anything else the list */
  op o4[] = {s_op(OP_SET, "户注", "x", 0)};
  s_refused_ops(hh, r, o4, 1, "户 has no field 户注; did you mean 户主?");
  op o5[] = {s_op(OP_SET, "颜色", "x", 0)};
  s_refused_ops(hh, r, o5, 1, "户 has no field 颜色 (its fields: 户主 地址");
  /* the kind: put on the counter, incr on a register */
  op o6[] = {s_op(OP_SET, "诚信积分", "10", 0)};
  s_refused_ops(hh, r, o6, 1, "户.诚信积分 is a integer counter field: write it with linli incr");
  op o7[] = {s_op(OP_INCR, "户主", NULL, 1)};
  s_refused_ops(hh, r, o7, 1, "户.户主 is a text register field: write it with linli put");
  /* a value of the wrong type, and one not in canonical form */
  op o8[] = {s_op(OP_SET, "电话", "138", 0)};
  s_refused_ops(hh, r, o8, 1, "电话: '138' is not a phone number; expected phone, e.g.");
  op o9[] = {s_op(OP_SET, "人口", "０3", 0)};
  s_refused_ops(hh, r, o9, 1, "not in canonical form '3'");
  /* points never go below 0 here: 8 - 100 is refused, 8 - 8 is fine */
  op o10[] = {s_op(OP_INCR, "诚信积分", NULL, -100)};
  s_refused_ops(hh, r, o10, 1, "户.诚信积分 would be -92, below its smallest allowed value 0 (now 8)");
  op o11[] = {s_op(OP_INCR, "诚信积分", NULL, -5), s_op(OP_INCR, "诚信积分", NULL, -4)};
  s_refused_ops(hh, r, o11, 2, "would be -1");
  op o12[] = {s_op(OP_INCR, "诚信积分", NULL, -8)};
  cr_assert_eq(schema_check_ops(hh, r, o12, 1, NULL, &e), 0, "%s", e.msg);
  /* after a del, the record is new again */
  op o13[] = {s_op(OP_DEL, "", NULL, 0), s_op(OP_SET, "户主", "王五", 0)};
  s_refused_ops(hh, r, o13, 2, "a new 户 needs 地址");
  /* a delete alone leaves nothing to check */
  op o14[] = {s_op(OP_DEL, "", NULL, 0)};
  cr_assert_eq(schema_check_ops(hh, r, o14, 1, NULL, &e), 0, "%s", e.msg);
  /* the stored record passes as it is, and fails a schema that forbids it */
  cr_assert_eq(schema_check_record(hh, r, &e), 0, "%s", e.msg);
  const lschema_type *res = schema_type(s_community, "居民");
  lerr e2 = {0};
  cr_assert_eq(schema_check_record(res, r, &e2), LINLI_EINVAL);
  cr_assert(strstr(e2.msg, "居民 has no field") != NULL, "%s", e2.msg);
  rec_destroy(&r);
}

/* Value v of field `name` of type `type` is refused by `rule` (and `form`):
 * the reason names the field, keeps the value as written, and renders the
 * very line lerr carries. */
static lschema_reason
s_value_why(const char *type, const char *name, const char *v, int rule, int form)
{
  const lschema_type *t = schema_type(s_community, type);
  const lschema_field *f = schema_field(t, name, strlen(name));
  cr_assert_not_null(f, "%s.%s", type, name);
  char out[128], line[320];
  size_t len = 0;
  lerr e = {0};
  lschema_reason w;
  memset(&w, 0xA5, sizeof w);
  cr_assert_eq(schema_value(f, v, strlen(v), out, sizeof out, &len, &w, &e), LINLI_EINVAL,
               "%s.%s accepted '%s'", type, name, v);
  cr_assert_eq(w.rule, rule, "%s '%s': rule %s, want %s", name, v, schema_rule_name(w.rule),
               schema_rule_name(rule));
  cr_assert_eq(w.form, form, "%s '%s': form %d, want %d", name, v, w.form, form);
  cr_assert_eq(w.field, f);
  size_t vl = strlen(w.value);
  cr_assert(strncmp(w.value, v, vl) == 0 && vl <= 60 && (strlen(v) <= 60 ? vl == strlen(v) : vl > 56),
            "the value as written, its first 60 bytes (whole characters): %s", w.value);
  schema_reason_text(&w, line, sizeof line);
  cr_assert_str_eq(line, e.msg);
  return w;
}

/* ops refused by schema_check_ops with `rule`; the reason's line is lerr's. */
static lschema_reason
s_ops_why(const lschema_type *t, const rec *r, const op *ops, uint32_t n, int rule)
{
  lerr e = {0};
  lschema_reason w;
  char line[320];
  memset(&w, 0xA5, sizeof w);
  cr_assert_eq(schema_check_ops(t, r, ops, n, &w, &e), LINLI_EINVAL, "accepted");
  cr_assert_eq(w.rule, rule, "rule %s, want %s (%s)", schema_rule_name(w.rule),
               schema_rule_name(rule), e.msg);
  cr_assert_eq(w.type, t, "the reason names no type: %s", e.msg);
  schema_reason_text(&w, line, sizeof line);
  cr_assert_str_eq(line, e.msg);
  return w;
}

Test(schema, each_rule_gives_its_structured_reason)
{
  cr_assert_eq(linli_crypto_init(), 0);
  /* values: the form of each type's check */
  s_value_why("户", "人口", "三", LSR_FORMAT, LSF_INTEGER);
  s_value_why("慈善", "金额分", "120.50", LSR_FORMAT, LSF_MONEY);
  s_value_why("诉求", "日期", "2026-02-29", LSR_FORMAT, LSF_DATE);
  s_value_why("户", "电话", "12812345678", LSR_FORMAT, LSF_PHONE);
  s_value_why("居民", "身份证号", "1101051949123100", LSR_FORMAT, LSF_ID_LENGTH);
  s_value_why("居民", "身份证号", "11010519491331002X", LSR_FORMAT, LSF_ID_BIRTH);
  s_value_why("居民", "身份证号", "110105194912310021", LSR_FORMAT, LSF_ID_CHECK);
  s_value_why("户", "户主", "", LSR_EMPTY, LSF_NONE);
  s_value_why("诉求", "状态", "办完了", LSR_CHOICE, LSF_NONE);
  s_value_why("户", "电话", "138123456781381234567813812345678138123456781381234567813812345678"
              "13812345678138123456781381234567813812345678", LSR_TOO_LONG, LSF_NONE);
  /* a long value is kept to 60 bytes, never cut inside a character */
  lschema_reason w = s_value_why("户", "电话", "1二二二二二二二二二二二二二二二二二二二二二二二二二二二二二二",
                                 LSR_FORMAT, LSF_PHONE);
  cr_assert_eq(strlen(w.value), 58, "%s", w.value);
  w = s_value_why("户", "人口", "0", LSR_MIN, LSF_NONE);
  cr_assert_eq(w.bound, 1);
  w = s_value_why("慈善", "金额分", "-5", LSR_MIN, LSF_NONE);
  cr_assert_eq(w.bound, 0, "money is not negative unless said");

  /* writes: the reason carries the type, the field and the rule's parts */
  uint8_t seed[LINLI_SEED_BYTES] = {7};
  ident_from_seed(&s_id, seed);
  const lschema_type *hh = schema_type(s_community, "户");
  const lschema_field *points = schema_field(hh, "诚信积分", strlen("诚信积分"));
  op o1[] = {s_op(OP_SET, "户主", "王五", 0)};
  w = s_ops_why(hh, NULL, o1, 1, LSR_REQUIRED);
  cr_assert_str_eq(w.field->name, "地址", "the field missing, not the one written");
  rec *r = s_household(hh);
  op o3[] = {s_op(OP_SET, "户注", "x", 0)};
  w = s_ops_why(hh, r, o3, 1, LSR_UNKNOWN_FIELD);
  cr_assert_null(w.field);
  cr_assert_str_eq(w.given, "户注");
  cr_assert_not_null(w.suggest);
  cr_assert_str_eq(w.suggest->name, "户主");
  op o4[] = {s_op(OP_SET, "颜色", "x", 0)};
  w = s_ops_why(hh, r, o4, 1, LSR_UNKNOWN_FIELD);
  cr_assert_str_eq(w.given, "颜色");
  cr_assert_null(w.suggest, "颜色 is near no field");
  op o5[] = {s_op(OP_SET, "诚信积分", "10", 0)};
  w = s_ops_why(hh, r, o5, 1, LSR_KIND);
  cr_assert_eq(w.field, points);
  op o6[] = {s_op(OP_INCR, "诚信积分", NULL, -5), s_op(OP_INCR, "诚信积分", NULL, -4)};
  w = s_ops_why(hh, r, o6, 2, LSR_COUNTER_MIN);
  cr_assert_eq(w.field, points);
  cr_assert_eq(w.bound, 0);
  cr_assert_eq(w.now, 3, "8 - 5 before the second decrement");
  cr_assert_eq(w.result, -1);
  op o7[] = {s_op(OP_SET, "人口", "０3", 0)};
  w = s_ops_why(hh, r, o7, 1, LSR_NOT_CANONICAL);
  cr_assert_str_eq(w.canonical, "3");
  cr_assert_str_eq(w.value, "０3");
  /* a value refused inside a write names the type too */
  op o8[] = {s_op(OP_SET, "电话", "138", 0)};
  w = s_ops_why(hh, r, o8, 1, LSR_FORMAT);
  cr_assert_eq(w.form, LSF_PHONE);
  cr_assert_str_eq(w.field->name, "电话");
  /* every rule has a name of its own */
  for (int i = 0; i < LSR_COUNT_; i++)
    for (int k = 0; k < i; k++)
      cr_assert_str_neq(schema_rule_name(i), schema_rule_name(k));
  rec_destroy(&r);
}

typedef struct s_items {
  char text[512];
  size_t len;
} s_items;

static int
s_item_cb(void *ctx, const char *month, const char *item, size_t ilen, int64_t v)
{
  s_items *x = ctx;
  x->len += (size_t)snprintf(x->text + x->len, sizeof x->text - x->len, "%s|%.*s|%lld\n",
                             month, (int)ilen, item, (long long)v);
  return 0;
}

Test(schema, contributions_of_a_record)
{
  cr_assert_eq(linli_crypto_init(), 0);
  uint8_t seed[LINLI_SEED_BYTES] = {9};
  lident id;
  ident_from_seed(&id, seed);
  const lschema_type *req = schema_type(s_community, "诉求");
  rec *r = rec_new();
  s_items x = {0};
  cr_assert_eq(schema_contrib(req, r, s_item_cb, &x), 0);
  cr_assert_str_eq(x.text, "", "an absent record adds nothing");
  op o[] = {s_op(OP_SET, "事项", "晾衣架", 0), s_op(OP_SET, "日期", "2026-11-03", 0),
            s_op(OP_SET, "状态", "受理", 0)};
  for (int i = 0; i < 3; i++) {
    o[i].seq = (uint64_t)i + 1;
    cr_assert_eq(rec_apply(r, id.pk, &o[i]), 1);
  }
  cr_assert_eq(schema_contrib(req, r, s_item_cb, &x), 0);
  cr_assert_str_eq(x.text, "|count|1\n|by:状态=受理|1\n2026-11|count|1\n2026-11|by:状态=受理|1\n");
  /* sums: a counter's sum and a register's integer value */
  const lschema_type *hh = schema_type(s_community, "户");
  rec *h = rec_new();
  op p[] = {s_op(OP_SET, "户主", "王五", 0), s_op(OP_SET, "人口", "3", 0),
            s_op(OP_INCR, "诚信积分", NULL, 7), s_op(OP_ADD, "特殊群体", "残疾", 0),
            s_op(OP_ADD, "特殊群体", "低保", 0)};
  for (int i = 0; i < 5; i++) {
    p[i].seq = (uint64_t)i + 1;
    cr_assert_eq(rec_apply(h, id.pk, &p[i]), 1);
  }
  s_items y = {0};
  cr_assert_eq(schema_contrib(hh, h, s_item_cb, &y), 0);
  cr_assert_str_eq(y.text, "|count|1\n|by:特殊群体=残疾|1\n|by:特殊群体=低保|1\n|sum:诚信积分|7\n"
                           "|sum:人口|3\n");
  rec_destroy(&r);
  rec_destroy(&h);
}

/* A rule's and a check's name read back to the same rule and check (the
 * API rebuilds the reasons `linli --json import-csv` gives by them). */
Test(schema, rule_and_form_names_read_back)
{
  for (int r = LSR_NONE + 1; r < LSR_COUNT_; r++)
    cr_assert_eq(schema_rule_of(schema_rule_name(r)), r, "%s", schema_rule_name(r));
  for (int f = LSF_INTEGER; f <= LSF_ID_CHECK; f++)
    cr_assert_eq(schema_form_of(schema_form_name(f)), f, "%s", schema_form_name(f));
  cr_assert_eq(schema_rule_of("columns"), LSR_NONE);
  cr_assert_eq(schema_rule_of(NULL), LSR_NONE);
  cr_assert_eq(schema_form_of("nope"), LSF_NONE);
  cr_assert_str_eq(schema_form_name(LSF_PHONE), "phone");
}
