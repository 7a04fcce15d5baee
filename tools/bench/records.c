/*
 * records.c - the `query` scenario of linli-bench: a district store holding
 * 100,000 households of ten villages (10,000 with --quick), written through
 * the household type of a schema (published in the store, so that every
 * commit keeps its aggregates), then filtered with lrecords_query, the call
 * behind `linli query`, and reported with lrecords_aggregates, the call
 * behind `linli report`.
 */
#include "tools/bench/bench.h"

#include "node/records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The household type of deploy/schemas/community.json, as far as the
 * scenario writes it. */
static const char s_schema[] =
    "{\"schema\":\"bench\",\"version\":1,\"types\":{\"户\":{\"collection\":\"hh\",\"fields\":{"
    "\"户主\":{\"kind\":\"register\",\"type\":\"text\",\"required\":true},"
    "\"地址\":{\"kind\":\"register\",\"type\":\"text\",\"required\":true},"
    "\"电话\":{\"kind\":\"register\",\"type\":\"phone\"},"
    "\"人口\":{\"kind\":\"register\",\"type\":\"integer\",\"min\":1},"
    "\"特殊群体\":{\"kind\":\"set\",\"type\":\"enum\",\"codes\":["
    "{\"code\":\"elderly\",\"zh\":\"独居老人\"},{\"code\":\"disability\",\"zh\":\"残疾\"}]},"
    "\"诚信积分\":{\"kind\":\"counter\",\"type\":\"integer\",\"min\":0}},"
    "\"aggregates\":{\"count\":true,\"by\":[\"特殊群体\"],\"sum\":[\"诚信积分\",\"人口\"]}}}}";

static int
s_count(void *ctx, const char *key, size_t klen, size_t ns_len, const rec *r)
{
  (void)key, (void)klen, (void)ns_len, (void)r;
  (*(uint64_t *)ctx)++;
  return 0;
}

/* The household count of a report, into ctx. */
static int
s_report_cb(void *ctx, const lschema_type *t, const char *month, const char *item, size_t ilen,
            int64_t v)
{
  (void)t;
  if (month[0] == '\0' && ilen == 5 && memcmp(item, "count", 5) == 0)
    *(int64_t *)ctx = v;
  return 0;
}

/* Times one query; rows in *rows. */
static int
s_time(lstore *s, const lschema *sch, const char *prefix, const char *const *where, int nw,
       double *secs, uint64_t *rows, lerr *e)
{
  const lschema_type *t = schema_type(sch, "户");
  lschema_where w[4];
  for (int i = 0; i < nw; i++)
    if (schema_where_parse(t, where[i], &w[i], e) != 0)
      return 1;
  *rows = 0;
  double t0 = bench_now();
  int rc = lrecords_query(s, sch, t, prefix, w, (uint32_t)nw, s_count, rows, e);
  *secs = bench_now() - t0;
  return rc != 0;
}

int
bench_query(bool quick, bool json)
{
  uint32_t households = quick ? 10000 : 100000;
  char dir[] = "/tmp/linli-bench-XXXXXX";
  if (mkdtemp(dir) == NULL)
    return 1;
  char path[64];
  snprintf(path, sizeof path, "%s/d", dir);
  lerr e = {0};
  lstore *s = NULL;
  lschema *sch = NULL;
  lident id;
  lstore_opts o = {.profile = LSTORE_DISTRICT};
  int rc = 1;
  enum { PER = 500 }; /* households per delta */
  op *ops = calloc(PER * 6, sizeof *ops);
  char(*keys)[40] = calloc(PER, sizeof *keys);
  char(*vals)[4][40] = calloc(PER, sizeof *vals);
  if (ops == NULL || keys == NULL || vals == NULL || lstore_init(path, "bench", NULL, NULL, &e) ||
      lstore_open(&s, path, &o, &e) || lstore_identity(s, &id, &e) ||
      schema_parse(&sch, s_schema, sizeof s_schema - 1, &e) ||
      lstore_set_root(s, id.pk, &e) ||
      lrecords_publish(s, &id, s_schema, sizeof s_schema - 1, 1800000000000ull, &e))
    goto done;
  /* the first report makes the (empty) aggregates current: commits keep
   * them from then on */
  int64_t count = -1;
  if (lrecords_aggregates(s, "", s_report_cb, &count, &e) != 0)
    goto done;
  double t0 = bench_now();
  for (uint32_t h = 0; h < households;) {
    uint32_t n = 0;
    for (uint32_t k = 0; k < PER && h < households; k++, h++) {
      snprintf(keys[k], sizeof keys[k], "gusu/v%02u/hh/%06u", h % 10, h);
      snprintf(vals[k][0], sizeof vals[k][0], "户主%u", h);
      snprintf(vals[k][1], sizeof vals[k][1], "第%u幢", h / 100);
      snprintf(vals[k][2], sizeof vals[k][2], "139%08u", h);
      snprintf(vals[k][3], sizeof vals[k][3], "%u", h % 6 + 1);
      static const char *const f[] = {"户主", "地址", "电话", "人口"};
      for (int j = 0; j < 4; j++)
        ops[n++] = (op){.kind = OP_SET, .key = keys[k], .key_len = (uint32_t)strlen(keys[k]),
                        .field = f[j], .field_len = (uint32_t)strlen(f[j]),
                        .str = vals[k][j], .str_len = (uint32_t)strlen(vals[k][j])};
      if (h % 7 == 0)
        ops[n++] = (op){.kind = OP_ADD, .key = keys[k], .key_len = (uint32_t)strlen(keys[k]),
                        .field = "特殊群体", .field_len = (uint32_t)strlen("特殊群体"),
                        .str = "独居老人", .str_len = (uint32_t)strlen("独居老人")};
      ops[n++] = (op){.kind = OP_INCR, .key = keys[k], .key_len = (uint32_t)strlen(keys[k]),
                      .field = "诚信积分", .field_len = (uint32_t)strlen("诚信积分"),
                      .n = (int64_t)(h % 20)};
    }
    if (lstore_write(s, &id, ops, n, 1800000000000ull, &e) != 0)
      goto done;
  }
  double write_s = bench_now() - t0;
  const char *elderly[] = {"特殊群体=独居老人"};
  const char *two[] = {"人口>=4", "诚信积分<5"};
  double t_all, t_el, t_two, t_one;
  uint64_t n_all, n_el, n_two, n_one;
  if (s_time(s, sch, "", NULL, 0, &t_all, &n_all, &e) ||
      s_time(s, sch, "", elderly, 1, &t_el, &n_el, &e) ||
      s_time(s, sch, "", two, 2, &t_two, &n_two, &e) ||
      s_time(s, sch, "gusu/v03/", elderly, 1, &t_one, &n_one, &e))
    goto done;
  double t_rep = bench_now();
  count = -1;
  if (lrecords_aggregates(s, "", s_report_cb, &count, &e) != 0)
    goto done;
  t_rep = bench_now() - t_rep;
  double t_rep1 = bench_now();
  int64_t count1 = -1;
  if (lrecords_aggregates(s, "gusu/v03/", s_report_cb, &count1, &e) != 0)
    goto done;
  t_rep1 = bench_now() - t_rep1;
  if (count != (int64_t)households || count1 != (int64_t)households / 10) {
    fprintf(stderr, "linli-bench: report: %lld households, %lld in one village: wrong\n",
            (long long)count, (long long)count1);
    goto done;
  }
  if (n_all != households || n_el != (households + 6) / 7) {
    fprintf(stderr, "linli-bench: query: %llu rows, %llu elderly: wrong\n",
            (unsigned long long)n_all, (unsigned long long)n_el);
    goto done;
  }
  if (json)
    printf("{\"scenario\":\"query\",\"households\":%u,\"write_seconds\":%.3f,"
           "\"all_seconds\":%.3f,\"elderly_seconds\":%.3f,\"elderly_rows\":%llu,"
           "\"two_filters_seconds\":%.3f,\"two_filters_rows\":%llu,"
           "\"one_village_seconds\":%.3f,\"one_village_rows\":%llu,"
           "\"report_seconds\":%.4f,\"report_village_seconds\":%.4f}\n",
           households, write_s, t_all, t_el, (unsigned long long)n_el, t_two,
           (unsigned long long)n_two, t_one, (unsigned long long)n_one, t_rep, t_rep1);
  else
    printf("%-14s %10u households (10 villages, written in %.2f s): all %.3f s; "
           "特殊群体=独居老人 %.3f s (%llu rows); 人口>=4 and 诚信积分<5 %.3f s (%llu rows); "
           "one village %.3f s (%llu rows)\n"
           "%-14s %10u households: the district's report %.4f s, one village's %.4f s\n",
           "query", households, write_s, t_all, t_el, (unsigned long long)n_el, t_two,
           (unsigned long long)n_two, t_one, (unsigned long long)n_one, "report", households,
           t_rep, t_rep1);
  rc = 0;
done:
  if (rc != 0 && e.msg[0] != '\0')
    fprintf(stderr, "linli-bench: query: %s\n", e.msg);
  ident_wipe(&id);
  schema_destroy(&sch);
  lstore_close(&s);
  free(ops);
  free(keys);
  free(vals);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0)
    fprintf(stderr, "linli-bench: could not remove %s\n", dir);
  return rc;
}
