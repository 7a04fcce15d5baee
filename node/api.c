/*
 * api.c - the HTTP/JSON API and the web interface's files; see api.h and
 * docs/API.md.
 */
#include "node/api.h"

#include "crdt/hlc.h"
#include "crdt/ident.h"
#include "crdt/op.h"
#include "crdt/schema.h"
#include "crdt/text.h"
#include "crdt/trust.h"
#include "node/log.h"
#include "node/records.h"
#include "node/users.h"
#include "node/websession.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#ifndef LINLI_WEB_ROOT
#define LINLI_WEB_ROOT "/usr/share/linli/web"
#endif
#ifndef LINLI_VERSION
#define LINLI_VERSION "0"
#endif

#define S_FILE_MAX (8u << 20)  /* a static file served */
#define S_OPS_MAX 256u         /* ops of one write */
#define S_LIST_MAX 500u
#define S_COOKIE "linli_session"

struct lapi {
  ldaemon *d;
  char root[PATH_MAX]; /* the web files' directory, resolved; "" when missing */
  wsess_table sess;
  wrl rl;
};

/* One request being answered. */
typedef struct s_req {
  lapi *a;
  const lhttp_req *req;
  lhttp_resp *resp;
  lstore *s;
  wsess *sess;
  char ns[LINLI_KEY_MAX + 1]; /* the station's namespace */
} s_req;

static uint64_t
s_mono_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The wall clock handed to writes (LINLI_TEST_NOW_MS stands for it in the
 * test suite, as for the CLI). */
static uint64_t
s_wall_ms(void)
{
  const char *fake = getenv("LINLI_TEST_NOW_MS");
  if (fake != NULL && fake[0] != '\0') {
    long long v = strtoll(fake, NULL, 10);
    return v > 0 ? (uint64_t)v : 0;
  }
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec < 0 ? 0 : (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* 2020-01-01: a clock before it is wrong (as the CLI's floor). */
#define S_CLOCK_FLOOR_MS 1577836800000ull

/* RFC 3339 in the station's time zone, from an HLC timestamp. */
static const char *
s_time(char *out, size_t n, uint64_t h)
{
  time_t secs = (time_t)(hlc_ms(h) / 1000);
  struct tm tm;
  long off = localtime_r(&secs, &tm) != NULL ? tm.tm_gmtoff : 0;
  return hlc_format_at(out, n, h, (int32_t)off);
}

/* ---- answers ---- */

static void
s_send_json(s_req *x, int status, json_t *j)
{
  x->resp->status = status;
  x->resp->ctype = "application/json; charset=utf-8";
  if (j == NULL) {
    x->resp->status = 500;
    lbuf_put(&x->resp->body, "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}",
             54);
    return;
  }
  char *t = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  if (t == NULL) {
    x->resp->body.oom = true;
    return;
  }
  lbuf_put(&x->resp->body, t, strlen(t));
  free(t);
}

static void s_err(s_req *x, int status, const char *code, const char *field, const char *zh,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Sends {"error": e} with `status`, and more members (may be NULL). */
static void
s_err_send(s_req *x, int status, const char *code, const char *field, const char *zh,
           char *msg, json_t *more)
{
  /* a name cut by a precision (%.100s) may end inside a character: the
   * message keeps its valid UTF-8 prefix */
  size_t n = strlen(msg);
  while (n > 0 && !utf8_valid(msg, n))
    msg[--n] = '\0';
  lbuf_reset(&x->resp->body);
  x->resp->nhdr = 0;
  json_t *e = json_pack("{s:s, s:s, s:s}", "code", code, "message", msg, "message_zh", zh);
  if (e != NULL && field != NULL && utf8_valid(field, strlen(field)))
    json_object_set_new(e, "field", json_string(field));
  if (e != NULL && more != NULL)
    json_object_update(e, more);
  json_decref(more);
  s_send_json(x, status, e ? json_pack("{s:o}", "error", e) : NULL);
}

/* {"error": {"code", "message", "message_zh", "field"}} with `status`. */
static void
s_err(s_req *x, int status, const char *code, const char *field, const char *zh,
      const char *fmt, ...)
{
  char msg[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  s_err_send(x, status, code, field, zh, msg, NULL);
}

/* An lerr from the store or the records layer as an API error. */
static void
s_err_e(s_req *x, const lerr *e)
{
  switch (e->code) {
  case LINLI_ENOTFOUND:
    s_err(x, 404, "not_found", NULL, "找不到", "%s", e->msg);
    break;
  case LINLI_EINVAL:
  case LINLI_ETOOBIG:
    s_err(x, 422, "invalid", NULL, "数值不符合要求", "%s", e->msg);
    break;
  case LINLI_EREFUSED:
    s_err(x, 403, "forbidden", NULL, "无权进行此操作", "%s", e->msg);
    break;
  case LINLI_ENOSPC:
  case LINLI_EBUSY:
    s_err(x, 503, "unavailable", NULL, "站点暂时无法写入", "%s", e->msg);
    break;
  case LINLI_ECLOCK:
    s_err(x, 503, "unavailable", NULL, "电脑时钟与上级站点相差太多，请先校正日期和时间", "%s",
          e->msg);
    break;
  default:
    s_err(x, 500, "internal", NULL, "站点内部错误", "%s", e->msg[0] ? e->msg : "internal error");
    break;
  }
}

/* The code of a `cause` a command's --json answer gives (a right write
 * the store would not take: "clock", "no_space"; linli(1)), else 0. */
static int
s_cause_code(const json_t *doc)
{
  const char *c = json_string_value(json_object_get(doc, "cause"));
  if (c == NULL)
    return 0;
  return strcmp(c, "clock") == 0 ? LINLI_ECLOCK : strcmp(c, "no_space") == 0 ? LINLI_ENOSPC : 0;
}

static void
s_bad(s_req *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void
s_bad(s_req *x, const char *fmt, ...)
{
  char msg[500];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  s_err(x, 400, "bad_request", NULL, "请求有误", "%s", msg);
}

static void
s_forbidden(s_req *x, const char *msg, const char *zh)
{
  s_err(x, 403, "forbidden", NULL, zh, "%s", msg);
}

/* ---- request bodies ---- */

/* The body as a JSON object whose members are all in `allowed` (NULL
 * ended); NULL after answering the error. */
static json_t *
s_body(s_req *x, const char *const *allowed)
{
  const char *ct = http_header(x->req, "Content-Type");
  if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0) {
    s_bad(x, "the body must be JSON with Content-Type: application/json");
    return NULL;
  }
  json_error_t je;
  json_t *j = json_loadb((const char *)x->req->body, x->req->body_len,
                         JSON_REJECT_DUPLICATES, &je);
  if (j == NULL) {
    s_err(x, 400, "bad_json", NULL, "请求不是有效的 JSON", "the body is not valid JSON: %s "
          "(at character %d)", je.text, je.position);
    return NULL;
  }
  if (!json_is_object(j)) {
    json_decref(j);
    s_bad(x, "the body must be a JSON object");
    return NULL;
  }
  const char *k;
  json_t *v;
  json_object_foreach(j, k, v) {
    bool ok = false;
    for (size_t i = 0; allowed[i] != NULL && !ok; i++)
      ok = strcmp(allowed[i], k) == 0;
    if (!ok) {
      s_err(x, 400, "bad_request", k, "请求含有未知的项", "unknown member \"%.100s\"", k);
      json_decref(j);
      return NULL;
    }
  }
  return j;
}

/* A string member (required or not); NULL with the error answered when
 * it is missing (required) or not a string. */
static const char *
s_str(s_req *x, json_t *o, const char *name, bool required, bool *failed)
{
  json_t *v = json_object_get(o, name);
  if (v == NULL) {
    if (required) {
      s_err(x, 400, "bad_request", name, "缺少必填项", "missing member \"%s\"", name);
      *failed = true;
    }
    return NULL;
  }
  if (!json_is_string(v)) {
    s_err(x, 400, "bad_request", name, "类型有误", "member \"%s\" must be a string", name);
    *failed = true;
    return NULL;
  }
  return json_string_value(v);
}

/* ---- keys and scope ---- */

/* Makes a key or prefix as the client gave it absolute (relative to the
 * station's namespace unless it starts with '/', as on the command line)
 * and checks its syntax.  false after answering the error. */
static bool
s_key(s_req *x, const char *arg, bool prefix, char out[LINLI_KEY_MAX + 1])
{
  lerr e = {0};
  size_t n = strlen(arg);
  if (text_key_resolve(x->ns, arg, n, out, LINLI_KEY_MAX + 1, &e) != 0) {
    s_bad(x, "%s", e.msg);
    return false;
  }
  size_t on = strlen(out);
  /* "." and ".." are no record's components: a key that holds them is a
   * path someone tried to climb with */
  for (const char *c = out; *c != '\0';) {
    size_t cn = strcspn(c, "/");
    if ((cn == 1 && c[0] == '.') || (cn == 2 && c[0] == '.' && c[1] == '.')) {
      s_bad(x, "key '%.100s' holds a '.' or '..' component", arg);
      return false;
    }
    c += cn;
    if (*c == '/')
      c++;
  }
  if (prefix) {
    /* a prefix is checked as the key of a record just below it, so that a
     * one-level prefix ("gusu/") passes as any deeper one does */
    char probe[LINLI_KEY_MAX + 2];
    if (on > 0)
      snprintf(probe, sizeof probe, "%sx", out);
    if (on > 0 && (out[on - 1] != '/' || key_check(probe, on + 1, &e) != 0)) {
      s_bad(x, "prefix '%.100s' is not a namespace level ending in '/' (e.g. hh/ or "
               "/gusu/jinchang/)", arg);
      return false;
    }
    return true;
  }
  if (key_check(out, on, &e) != 0) {
    s_bad(x, "key '%.100s': %s", arg, e.msg);
    return false;
  }
  return true;
}

/* Whether the station may show or write what lies under the absolute key
 * or prefix `k`: its own namespace and what is below it (a street its
 * villages); 403 answered otherwise. */
static bool
s_scope(s_req *x, const char *k)
{
  size_t n = strlen(x->ns);
  if (strncmp(k, x->ns, n) == 0)
    return true;
  s_forbidden(x, "outside this station's namespace: a station sees its own records and those of "
                 "the stations below it",
              "不在本站的范围内：只能查看本站及下级站点的记录");
  return false;
}

/* The length of the namespace of record key k[0..n): what precedes its
 * last two components (NAMESPACE/COLLECTION/ID, docs/SCHEMA.md); 0 for a
 * key of fewer. */
static size_t
s_key_ns(const char *k, size_t n)
{
  size_t cut = 0;
  for (int seen = 0; n > 0; n--)
    if (k[n - 1] == '/' && ++seen == 2) {
      cut = n;
      break;
    }
  return cut;
}

/* Whether the station shows the record at absolute key[0..klen) whose
 * namespace is key[0..ns_len): one of its own or below it, or one of the
 * levels above it (the district's notices at a village, which sync sends
 * down to every station), never a sibling's. */
static bool
s_readable(const s_req *x, const char *key, size_t klen, size_t ns_len)
{
  size_t n = strlen(x->ns);
  return (klen >= n && memcmp(key, x->ns, n) == 0) ||
         (ns_len <= n && memcmp(key, x->ns, ns_len) == 0);
}

/* s_readable for a key or prefix of the client's; 403 answered otherwise.
 * A prefix above the station's namespace is allowed for listing, whose
 * rows are each checked with s_readable. */
static bool
s_read_scope(s_req *x, const char *k, bool prefix)
{
  size_t kn = strlen(k), n = strlen(x->ns);
  if (prefix ? (strncmp(k, x->ns, n) == 0 || (kn <= n && memcmp(k, x->ns, kn) == 0))
             : s_readable(x, k, kn, s_key_ns(k, kn)))
    return true;
  return s_scope(x, k);
}

/* The key relative to the namespace, or absolute with a leading '/'. */
static json_t *
s_rel(const s_req *x, const char *key)
{
  size_t n = strlen(x->ns);
  if (strncmp(key, x->ns, n) == 0)
    return json_string(key + n);
  char buf[LINLI_KEY_MAX + 2];
  snprintf(buf, sizeof buf, "/%s", key);
  return json_string(buf);
}

/* ---- authors ---- */

/* {"key", "name", "role", "station"} of an author, from the certificate
 * chain held for it. */
static json_t *
s_author(s_req *x, const uint8_t pk[LINLI_PK_BYTES], bool with_key)
{
  lauthor_info ai;
  memset(&ai, 0, sizeof ai);
  lerr e = {0};
  json_t *o = json_object();
  if (o == NULL)
    return NULL;
  if (with_key) {
    char hex[2 * LINLI_PK_BYTES + 1];
    sodium_bin2hex(hex, sizeof hex, pk, LINLI_PK_BYTES);
    json_object_set_new(o, "key", json_string(hex));
  }
  bool known = lstore_author_info(x->s, pk, &ai, &e) == 0 && ai.name[0] != '\0';
  json_object_set_new(o, "name", known ? json_string(ai.name) : json_null());
  json_object_set_new(o, "role", known && ai.certified ? json_string(trust_role_name(ai.role))
                                                       : json_null());
  json_object_set_new(o, "station", known && ai.station[0] ? json_string(ai.station)
                                                           : json_null());
  return o;
}

/* ---- records ---- */

/* The value of a visible field as the API shows it. */
static json_t *
s_field_value(s_req *x, const rfield *f)
{
  char t[64];
  switch (f->fk) {
  case FK_REGISTER:
    return json_stringn(f->ents[0].s, f->ents[0].s_len);
  case FK_COUNTER:
    return json_integer(rfield_counter(f));
  case FK_SET: {
    json_t *a = json_array();
    for (uint32_t k = 0; a != NULL && k < f->nents; k++) {
      bool seen = false;
      for (uint32_t j = 0; j < k && !seen; j++)
        seen = f->ents[j].s_len == f->ents[k].s_len &&
               memcmp(f->ents[j].s, f->ents[k].s, f->ents[k].s_len) == 0;
      if (!seen)
        json_array_append_new(a, json_stringn(f->ents[k].s, f->ents[k].s_len));
    }
    return a;
  }
  case FK_LOG: {
    json_t *a = json_array();
    for (uint32_t k = 0; a != NULL && k < f->nents; k++) {
      const rentry *en = &f->ents[k];
      json_t *by = s_author(x, en->st.author, false);
      json_t *n = by != NULL ? json_object_get(by, "name") : NULL;
      json_array_append_new(a, json_pack("{s:s, s:s%, s:O}", "time",
                                         s_time(t, sizeof t, en->st.hlc), "text", en->s,
                                         (size_t)en->s_len, "by", n ? n : json_null()));
      json_decref(by);
    }
    return a;
  }
  }
  return json_null();
}

/* The record object of docs/API.md. */
static json_t *
s_record(s_req *x, const lschema *sch, const char *key, const rec *r)
{
  size_t klen = strlen(key), nsl = 0;
  const lschema_type *t = sch ? schema_type_of_key(sch, key, klen, &nsl) : NULL;
  /* the collection: the component before the last */
  const char *end = strrchr(key, '/');
  const char *start = end;
  while (start != NULL && start > key && start[-1] != '/')
    start--;
  json_t *fields = json_object();
  json_t *o = json_object();
  if (o == NULL || fields == NULL) {
    json_decref(o);
    json_decref(fields);
    return NULL;
  }
  json_object_set_new(o, "key", json_string(key));
  json_object_set_new(o, "rel", s_rel(x, key));
  json_object_set_new(o, "type", t ? json_string(t->name) : json_null());
  json_object_set_new(o, "collection", end && start ? json_stringn(start, (size_t)(end - start))
                                                    : json_null());
  json_object_set_new(o, "present", json_boolean(rec_present(r)));
  for (uint32_t i = 0; i < r->nfields; i++) {
    const rfield *f = &r->fields[i];
    if (!rfield_visible(f))
      continue;
    char name[LINLI_FIELD_MAX + 1];
    snprintf(name, sizeof name, "%.*s", (int)f->name_len, f->name);
    json_object_set_new(fields, name, s_field_value(x, f));
  }
  json_object_set_new(o, "fields", fields);
  if (r->nhist > 0) {
    char tb[64];
    const lstamp *last = &r->hist[r->nhist - 1];
    json_object_set_new(o, "updated", json_string(s_time(tb, sizeof tb, last->hlc)));
    json_object_set_new(o, "updated_by", s_author(x, last->author, false));
  } else {
    json_object_set_new(o, "updated", json_null());
    json_object_set_new(o, "updated_by", json_null());
  }
  return o;
}

/* The schema held, or *sch NULL; false after answering an error. */
static bool
s_schema(s_req *x, lschema **sch)
{
  lerr e = {0};
  if (lrecords_schema(x->s, sch, &e) != 0) {
    s_err_e(x, &e);
    return false;
  }
  return true;
}

/* The type named `name` (zh, en or collection) of the schema held. */
static const lschema_type *
s_type(s_req *x, const lschema *sch, const char *name)
{
  if (sch == NULL) {
    s_err(x, 404, "not_found", NULL, "本站还没有收到数据结构（schema）",
          "this station holds no schema yet: the district publishes it (linli schema publish)");
    return NULL;
  }
  const lschema_type *t = name ? schema_type(sch, name) : NULL;
  if (t == NULL)
    s_err(x, 404, "not_found", "type", "没有这种记录类型", "no record type '%.100s' in schema %s",
          name ? name : "", sch->name);
  return t;
}

/* ---- the handlers ---- */

static void
s_health(s_req *x, const char *rest)
{
  (void)rest;
  s_send_json(x, 200, json_pack("{s:b, s:s}", "ok", 1, "version", LINLI_VERSION));
}

static void
s_station(s_req *x, const char *rest)
{
  (void)rest;
  const lconfig *cfg = daemon_config(x->a->d);
  lschema *sch = NULL;
  lerr e = {0};
  lstore_stat st;
  memset(&st, 0, sizeof st);
  lstore_stat_get(x->s, &st, &e);
  if (lrecords_schema(x->s, &sch, &e) != 0)
    sch = NULL;
  char hex[2 * LINLI_PK_BYTES + 1], tb[64];
  sodium_bin2hex(hex, sizeof hex, lstore_self(x->s), LINLI_PK_BYTES);
  uint64_t now = s_wall_ms();
  time_t secs = (time_t)(now / 1000);
  struct tm tm;
  long off = localtime_r(&secs, &tm) != NULL ? tm.tm_gmtoff : 0;
  struct statvfs vs;
  uint64_t free_bytes = statvfs(cfg->data, &vs) == 0 ? (uint64_t)vs.f_bavail * vs.f_frsize : 0;
  json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:b, s:I, s:I}", "name",
                        lstore_name(x->s), "role", config_role_name(cfg->role), "key", hex,
                        "namespace", x->ns, "trust", lstore_root(x->s) ? "root" : "none",
                        "schema_version", (json_int_t)(sch ? sch->version : 0), "time",
                        s_time(tb, sizeof tb, hlc_make(now, 0)), "tz_offset_minutes",
                        (json_int_t)(off / 60), "recovering", lstore_recovering(x->s),
                        "free_bytes", (json_int_t)free_bytes, "ops", (json_int_t)st.ops);
  schema_destroy(&sch);
  s_send_json(x, 200, o);
}

typedef struct s_forks {
  json_t *a;
  s_req *x;
} s_forks;

static int
s_fork_cb(void *ctx, const uint8_t author[LINLI_PK_BYTES], uint64_t seq, const uint8_t *ev,
          size_t n)
{
  (void)ev;
  (void)n;
  s_forks *f = ctx;
  /* Only of authors whose records this station shows (s_readable on the
   * author's certificate namespace), itself and the root: evidence a store
   * kept before it followed the scope may be of a sibling. */
  lstore *s = f->x->s;
  const char *ans = NULL;
  bool shown = lstore_root(s) == NULL || memcmp(author, lstore_self(s), LINLI_PK_BYTES) == 0 ||
               memcmp(author, lstore_root(s), LINLI_PK_BYTES) == 0 ||
               (lstore_cert_prefix(s, author, &ans, NULL) == 0 && ans != NULL &&
                s_readable(f->x, ans, strlen(ans), strlen(ans)));
  if (!shown)
    return 0;
  json_t *au = s_author(f->x, author, true);
  json_t *o = json_object();
  if (o == NULL || au == NULL) {
    json_decref(o);
    json_decref(au);
    return 0;
  }
  json_object_set(o, "author", json_object_get(au, "key"));
  json_object_set(o, "name", json_object_get(au, "name"));
  json_object_set_new(o, "seq", json_integer((json_int_t)seq));
  json_decref(au);
  json_array_append_new(f->a, o);
  return 0;
}

static void
s_peers(s_req *x, const char *rest)
{
  (void)rest;
  ldaemon_peer_status *ps = NULL;
  uint32_t n = 0;
  lerr e = {0};
  if (daemon_peer_status(x->a->d, &ps, &n, &e) != 0) {
    s_err_e(x, &e);
    return;
  }
  s_forks fk = {.a = json_array(), .x = x};
  if (fk.a != NULL)
    lstore_forks(x->s, s_fork_cb, &fk, &e);
  json_t *arr = json_array();
  uint64_t now = s_wall_ms();
  for (uint32_t i = 0; arr != NULL && i < n; i++) {
    const ldaemon_peer_status *p = &ps[i];
    char hex[2 * LINLI_PK_BYTES + 1], tb[64];
    sodium_bin2hex(hex, sizeof hex, p->pk, LINLI_PK_BYTES);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:b}", "name", p->name,
                          "key", hex, "direction", p->parent ? "parent" : "child", "endpoint",
                          p->address, "connected", p->connected, "we_lack",
                          (json_int_t)p->ops_behind_in, "they_lack",
                          (json_int_t)p->ops_behind_out, "bytes_in", (json_int_t)p->bytes_in,
                          "bytes_out", (json_int_t)p->bytes_out, "duplicate",
                          p->duplicate_ms != 0);
    if (o == NULL)
      continue;
    if (p->last_sync_ms) {
      json_object_set_new(o, "last_sync", json_string(s_time(tb, sizeof tb,
                                                             hlc_make(p->last_sync_ms, 0))));
      json_object_set_new(o, "last_sync_age_s",
                          json_integer(now > p->last_sync_ms
                                           ? (json_int_t)((now - p->last_sync_ms) / 1000)
                                           : 0));
    } else {
      json_object_set_new(o, "last_sync", json_null());
      json_object_set_new(o, "last_sync_age_s", json_null());
    }
    json_object_set_new(o, "clock_offset_ms", p->connected || p->last_sync_ms
                                                   ? json_integer(p->clock_offset_ms)
                                                   : json_null());
    json_t *ref = json_array();
    if (ref != NULL && p->refused_ms)
      json_array_append_new(ref, json_pack("{s:s, s:s, s:I}", "time",
                                           s_time(tb, sizeof tb, hlc_make(p->refused_ms, 0)),
                                           "reason", p->refused_why, "count",
                                           (json_int_t)p->refusals));
    json_object_set_new(o, "refusals", ref);
    json_object_set(o, "forks", fk.a);
    json_array_append_new(arr, o);
  }
  free(ps);
  json_t *res = json_pack("{s:o, s:O}", "peers", arr, "forks", fk.a ? fk.a : json_null());
  json_decref(fk.a);
  s_send_json(x, 200, res);
}

static void
s_schema_get(s_req *x, const char *rest)
{
  (void)rest;
  lerr e = {0};
  rec *r = NULL;
  const rfield *f = NULL;
  if (lstore_get(x->s, LSCHEMA_KEY, strlen(LSCHEMA_KEY), &r, &e) == 0)
    f = rec_field(r, LSCHEMA_FIELD, strlen(LSCHEMA_FIELD), FK_REGISTER);
  lschema *sch = NULL;
  if (f == NULL || !rfield_visible(f) || !s_schema(x, &sch) || sch == NULL) {
    rec_destroy(&r);
    if (x->resp->status == 200)
      s_err(x, 404, "not_found", NULL, "本站还没有收到数据结构（schema）",
            "this station holds no schema yet: the district publishes it");
    return;
  }
  json_error_t je;
  json_t *j = json_loadb(f->ents[0].s, f->ents[0].s_len, 0, &je);
  json_int_t v = (json_int_t)sch->version;
  schema_destroy(&sch);
  rec_destroy(&r);
  if (j == NULL) {
    s_err(x, 500, "internal", NULL, "数据结构无法读取", "the schema held does not parse: %s",
          je.text);
    return;
  }
  s_send_json(x, 200, json_pack("{s:I, s:o}", "version", v, "schema", j));
}

/* Whether any visible field of r holds `q` in its text. */
static bool
s_matches(const rec *r, const char *q)
{
  size_t qn = strlen(q);
  if (qn == 0)
    return true;
  for (uint32_t i = 0; i < r->nfields; i++) {
    const rfield *f = &r->fields[i];
    if (!rfield_visible(f))
      continue;
    if (f->fk == FK_COUNTER) {
      char b[32];
      snprintf(b, sizeof b, "%lld", (long long)rfield_counter(f));
      if (strstr(b, q) != NULL)
        return true;
      continue;
    }
    for (uint32_t k = 0; k < f->nents; k++) {
      const rentry *en = &f->ents[k];
      for (size_t j = 0; en->s_len >= qn && j <= en->s_len - qn; j++)
        if (memcmp(en->s + j, q, qn) == 0)
          return true;
    }
  }
  return false;
}

typedef struct s_list {
  s_req *x;
  const lschema *sch;
  const char *q, *after;
  uint32_t limit, n;
  json_t *items;
  char next[LINLI_KEY_MAX + 1];
  bool more;
} s_list;

static int
s_list_row(void *ctx, const char *key, size_t klen, size_t ns_len, const rec *r)
{
  s_list *l = ctx;
  if (!s_readable(l->x, key, klen, ns_len))
    return 0;
  char k[LINLI_KEY_MAX + 1];
  snprintf(k, sizeof k, "%.*s", (int)klen, key);
  if (l->after != NULL && strcmp(k, l->after) <= 0)
    return 0;
  if (l->q != NULL && !s_matches(r, l->q))
    return 0;
  if (l->n == l->limit) {
    l->more = true;
    return 1;
  }
  json_t *o = s_record(l->x, l->sch, k, r);
  if (o == NULL)
    return LINLI_ENOMEM;
  json_array_append_new(l->items, o);
  memcpy(l->next, k, sizeof k);
  l->n++;
  return 0;
}

/* Parses the `where` arguments; false after answering. */
static bool
s_wheres(s_req *x, const lschema_type *t, lschema_where *w, uint32_t *nw)
{
  const char *v[17];
  unsigned n = http_args(x->req, "where", v, 17);
  if (n > 16) {
    s_bad(x, "at most 16 where filters");
    return false;
  }
  for (unsigned i = 0; i < n; i++) {
    lerr e = {0};
    if (schema_where_parse(t, v[i], &w[i], &e) != 0) {
      s_err(x, 400, "bad_request", "where", "筛选条件有误", "where: %s", e.msg);
      return false;
    }
  }
  *nw = n;
  return true;
}

/* The `prefix` argument (default: the station's namespace), made
 * absolute and checked against the scope (`above`: a level above the
 * station's namespace is allowed too, for a listing that checks each row);
 * false after answering. */
static bool
s_prefix_arg(s_req *x, char out[LINLI_KEY_MAX + 1], bool above)
{
  const char *p = http_arg(x->req, "prefix");
  if (p == NULL || p[0] == '\0') {
    snprintf(out, LINLI_KEY_MAX + 1, "%s", x->ns);
    return true;
  }
  return s_key(x, p, true, out) && (above ? s_read_scope(x, out, true) : s_scope(x, out));
}

static void
s_records_list(s_req *x, const char *coll)
{
  lschema *sch = NULL;
  if (!s_schema(x, &sch))
    return;
  const lschema_type *t = s_type(x, sch, coll);
  char prefix[LINLI_KEY_MAX + 1], after[LINLI_KEY_MAX + 1];
  lschema_where w[16];
  uint32_t nw = 0;
  s_list l = {.x = x, .sch = sch, .limit = 50, .q = http_arg(x->req, "q")};
  if (t == NULL || !s_prefix_arg(x, prefix, true) || !s_wheres(x, t, w, &nw))
    goto done;
  const char *lim = http_arg(x->req, "limit");
  if (lim != NULL) {
    char *end;
    unsigned long v = strtoul(lim, &end, 10);
    if (end == lim || *end != '\0' || v < 1 || v > S_LIST_MAX) {
      s_err(x, 400, "bad_request", "limit", "每页条数应为 1 到 500", "limit must be 1 to %u",
            S_LIST_MAX);
      goto done;
    }
    l.limit = (uint32_t)v;
  }
  const char *af = http_arg(x->req, "after");
  if (af != NULL && af[0] != '\0') {
    if (!s_key(x, af, false, after))
      goto done;
    l.after = after;
  }
  l.items = json_array();
  lerr e = {0};
  int rc = l.items ? lrecords_query(x->s, sch, t, prefix, w, nw, s_list_row, &l, &e) : -1;
  if (rc < 0) {
    json_decref(l.items);
    if (e.code)
      s_err_e(x, &e);
    else
      s_send_json(x, 500, NULL);
    goto done;
  }
  s_send_json(x, 200, json_pack("{s:s, s:o, s:o}", "type", t->name, "items", l.items, "next",
                                l.more ? json_string(l.next) : json_null()));
done:
  schema_destroy(&sch);
}

/* The `key` argument of a read, made absolute and readable here
 * (s_readable); false after answering. */
static bool
s_key_arg(s_req *x, char key[LINLI_KEY_MAX + 1])
{
  const char *k = http_arg(x->req, "key");
  if (k == NULL || k[0] == '\0') {
    s_err(x, 400, "bad_request", "key", "缺少记录编号", "missing argument key");
    return false;
  }
  return s_key(x, k, false, key) && s_read_scope(x, key, false);
}

static void
s_record_get(s_req *x, const char *rest)
{
  (void)rest;
  char key[LINLI_KEY_MAX + 1];
  lschema *sch = NULL;
  rec *r = NULL;
  lerr e = {0};
  if (!s_key_arg(x, key) || !s_schema(x, &sch))
    return;
  if (lstore_get(x->s, key, strlen(key), &r, &e) != 0)
    s_err_e(x, &e);
  else
    s_send_json(x, 200, s_record(x, sch, key, r));
  rec_destroy(&r);
  schema_destroy(&sch);
}

typedef struct s_hist {
  s_req *x;
  json_t *ops;
} s_hist;

static int
s_hist_cb(void *ctx, const lhist_entry *h)
{
  s_hist *hx = ctx;
  const op *o = h->o;
  char tb[64];
  ltrust_state ts;
  lerr e = {0};
  bool certified = lstore_trust(hx->x->s, h->author, &ts, &e) == 0 && ts.certified;
  json_t *val;
  switch (o->kind) {
  case OP_INCR:
    val = json_integer(o->n);
    break;
  case OP_DEL:
    val = json_null();
    break;
  default:
    val = json_stringn(o->str ? o->str : "", o->str_len);
    break;
  }
  json_t *j = json_pack("{s:o, s:I, s:I, s:s, s:s, s:s%, s:o, s:b}", "author",
                        s_author(hx->x, h->author, true), "seq", (json_int_t)o->seq, "hlc",
                        (json_int_t)o->hlc, "time", s_time(tb, sizeof tb, o->hlc), "kind",
                        op_kind_name(o->kind), "field", o->field ? o->field : "",
                        (size_t)o->field_len, "value", val, "verified",
                        certified || lstore_root(hx->x->s) == NULL);
  if (j == NULL)
    return LINLI_ENOMEM;
  json_array_append_new(hx->ops, j);
  return 0;
}

static void
s_record_history(s_req *x, const char *rest)
{
  (void)rest;
  char key[LINLI_KEY_MAX + 1];
  lerr e = {0};
  if (!s_key_arg(x, key))
    return;
  s_hist h = {.x = x, .ops = json_array()};
  if (h.ops == NULL || lstore_history(x->s, key, strlen(key), s_hist_cb, &h, &e) != 0) {
    json_decref(h.ops);
    if (e.code)
      s_err_e(x, &e);
    else
      s_send_json(x, 500, NULL);
    return;
  }
  s_send_json(x, 200, json_pack("{s:s, s:o}", "key", key, "ops", h.ops));
}

/* ---- the linli commands the API shares ---- */

/* One command for the daemon's hook: a control request of
 * docs/OPERATING.md ("The control socket") with at most one input file. */
typedef struct s_cmd {
  const char *cmd;
  const char *args[4];
  uint32_t nargs;
  const char *opt[40], *val[40]; /* val NULL: a flag */
  uint32_t nopts;
  const char *file;              /* the input file's name, or NULL */
  const uint8_t *fp;
  size_t fn;
} s_cmd;

/* Runs c inside the daemon, signed as the logged-in person: its exit
 * status (-1 when it could not run), what it printed in out, the first
 * line it printed on stderr, without "linli: ", in msg. */
static int
s_run(s_req *x, const s_cmd *c, lbuf *out, char *msg, size_t cap)
{
  lbuf req, rep;
  lbuf_init(&req);
  lbuf_init(&rep);
  mpw w;
  mpw_init(&w, &req);
  mpw_array(&w, 5);
  mpw_cstr(&w, "linli-ctl-v2");
  mpw_cstr(&w, c->cmd);
  mpw_array(&w, c->nargs);
  for (uint32_t i = 0; i < c->nargs; i++)
    mpw_cstr(&w, c->args[i]);
  mpw_array(&w, c->nopts);
  for (uint32_t i = 0; i < c->nopts; i++) {
    mpw_array(&w, 2);
    mpw_cstr(&w, c->opt[i]);
    if (c->val[i] != NULL)
      mpw_cstr(&w, c->val[i]);
    else
      mpw_nil(&w);
  }
  mpw_array(&w, c->file != NULL ? 1 : 0);
  if (c->file != NULL) {
    mpw_array(&w, 2);
    mpw_cstr(&w, c->file);
    mpw_bin(&w, c->fp, c->fn);
  }
  lerr e = {0};
  int rc = -1;
  snprintf(msg, cap, "out of memory");
  if (!req.oom &&
      daemon_exec(x->a->d, lperson_ident(x->sess->person), req.p, req.len, &rep, &e) != 0)
    snprintf(msg, cap, "%s", e.msg);
  else if (!req.oom) {
    /* the answer: [status, stdout, stderr, [[NAME, MODE, CONTENTS]...]] */
    mpr r;
    uint32_t top, on = 0, en = 0;
    int64_t code;
    const uint8_t *o = NULL, *er = NULL;
    mpr_init(&r, rep.p, rep.len);
    if (mpr_array(&r, &top) == 0 && top == 4 && mpr_int(&r, &code) == 0 &&
        mpr_bin(&r, &o, &on) == 0 && mpr_bin(&r, &er, &en) == 0) {
      rc = (int)code;
      lbuf_put(out, o, on);
      const char *m = (const char *)er;
      size_t mn = en;
      if (mn >= 7 && memcmp(m, "linli: ", 7) == 0)
        m += 7, mn -= 7;
      size_t line = 0;
      while (line < mn && m[line] != '\n')
        line++;
      snprintf(msg, cap, "%.*s", (int)line, m);
    } else {
      snprintf(msg, cap, "the command's answer does not decode");
    }
  }
  sodium_memzero(req.p, req.len);
  lbuf_free(&req);
  lbuf_free(&rep);
  return rc;
}

/* ---- writes ---- */

static const luser *
s_user(const s_req *x)
{
  return lperson_user(x->sess->person);
}

/* Whether the logged-in person may write `key`: an auditor never, an
 * assessor only records of the points type (collection pts); false after
 * answering 403. */
static bool
s_may_write(s_req *x, const char *key)
{
  const luser *u = s_user(x);
  if (u->role == ROLE_AUDITOR) {
    s_forbidden(x, "an auditor reads and audits; writing is for clerks", "审计员只能查看和审计，不能修改");
    return false;
  }
  if (u->role == ROLE_ASSESSOR) {
    const char *end = strrchr(key, '/');
    const char *start = end;
    while (start != NULL && start > key && start[-1] != '/')
      start--;
    if (end == NULL || end - start != 3 || memcmp(start, "pts", 3) != 0) {
      s_forbidden(x, "an assessor changes points (pts) only", "评议员只能修改积分");
      return false;
    }
  }
  return s_scope(x, key);
}

/* The one field an op rule refusal (op_check, a field of another kind
 * stored) is about: one its line starts with ("FIELD: ..."), or the only
 * op's; else NULL.  The schema's refusals name theirs (lschema_reason). */
static const char *
s_refused_field(const char *msg, const op *ops, uint32_t n, char *out, size_t cap)
{
  for (uint32_t i = 0; i < n; i++) {
    size_t fl = ops[i].field_len;
    if (fl > 0 && fl < cap && strncmp(msg, ops[i].field, fl) == 0 &&
        (msg[fl] == ':' || msg[fl] == ' ')) {
      memcpy(out, ops[i].field, fl);
      out[fl] = '\0';
      return out;
    }
  }
  if (n == 1 && ops[0].field_len > 0 && ops[0].field_len < cap) {
    memcpy(out, ops[0].field, ops[0].field_len);
    out[ops[0].field_len] = '\0';
    return out;
  }
  return NULL;
}

/* What a field of value type vt takes, in Chinese. */
static const char *
s_vt_zh(int vt)
{
  static const char *const zh[LSV_COUNT_] = {
      [LSV_TEXT] = "文字",
      [LSV_INTEGER] = "整数",
      [LSV_MONEY] = "金额（以分计的整数，120.50 元写 12050）",
      [LSV_DATE] = "日期（年-月-日）",
      [LSV_ENUM] = "选项之一",
      [LSV_PHONE] = "电话号码（手机 11 位，或固话 区号-号码）",
      [LSV_RESIDENT_ID] = "18 位身份证号（末位校验码正确）",
  };
  return vt >= 0 && vt < LSV_COUNT_ && zh[vt] != NULL ? zh[vt] : "有效的值";
}

/* An example of a value of f, in Chinese text. */
static const char *
s_example_zh(const lschema_field *f)
{
  switch (f->vt) {
  case LSV_INTEGER: return f->fk == FK_COUNTER ? "5 或 -2" : "3";
  case LSV_MONEY: return "12050（即 120.50 元）";
  case LSV_PHONE: return "13812345678 或 0512-65231234";
  default: return schema_example(f);
  }
}

/* The schema's refusal `w` in Chinese: the field by its label (its name is
 * its zh label), what it takes and an example; "" for LSR_NONE. */
static void
s_reason_zh(const lschema_reason *w, char *out, size_t cap)
{
  const lschema_field *f = w->field;
  const char *tn = w->type != NULL ? w->type->name : "";
  char list[400] = "";
  size_t k = 0;
  out[0] = '\0';
  switch (w->rule) {
  case LSR_UNKNOWN_FIELD:
    if (w->suggest != NULL) {
      snprintf(out, cap, "%s没有「%s」这一项，是不是「%s」？", tn, w->given, w->suggest->name);
      return;
    }
    for (uint32_t i = 0; w->type != NULL && i < w->type->nfields && k < sizeof list; i++)
      k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", i ? "、" : "",
                            w->type->fields[i].name);
    snprintf(out, cap, "%s没有「%s」这一项，可以填写的有：%s", tn, w->given, list);
    return;
  case LSR_KIND:
    snprintf(out, cap, "「%s」不能这样修改：%s", f->name,
             f->fk == FK_COUNTER ? "它是计数，只能增减" :
             f->fk == FK_SET ? "它是多选，只能添加或去掉其中一项" :
             f->fk == FK_LOG ? "它是记录，只能追加" : "它只能直接填写");
    return;
  case LSR_EMPTY:
    snprintf(out, cap, "「%s」不能为空", f->name);
    return;
  case LSR_CHOICE:
    for (uint32_t i = 0; i < f->ncodes && k < sizeof list; i++)
      k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", i ? "、" : "", f->codes[i].zh);
    snprintf(out, cap, "「%s」应为选项之一：%s", f->name, list);
    return;
  case LSR_MIN:
  case LSR_COUNTER_MIN: {
    int n = snprintf(out, cap, "「%s」不能低于 %lld%s", f->name, (long long)w->bound,
                     f->vt == LSV_MONEY ? " 分" : "");
    if (w->rule == LSR_COUNTER_MIN && n > 0 && (size_t)n < cap)
      snprintf(out + n, cap - (size_t)n, "：这次修改后会是 %lld（现在是 %lld）",
               (long long)w->result, (long long)w->now);
    return;
  }
  case LSR_REQUIRED:
    /* a text's example (a name) would mislead for an address */
    if (f->vt == LSV_TEXT)
      snprintf(out, cap, "新建%s必须填写「%s」", tn, f->name);
    else
      snprintf(out, cap, "新建%s必须填写「%s」，例如 %s", tn, f->name, s_example_zh(f));
    return;
  case LSR_NOT_CANONICAL:
    snprintf(out, cap, "「%s」应写作 %s", f->name, w->canonical);
    return;
  case LSR_TOO_LONG:
    snprintf(out, cap, "「%s」太长了：应为%s，例如 %s", f->name, s_vt_zh(f->vt),
             s_example_zh(f));
    return;
  case LSR_FORMAT:
    if (w->form == LSF_ID_BIRTH)
      snprintf(out, cap, "「%s」第 7 至 14 位不是有效的出生日期", f->name);
    else if (w->form == LSF_ID_CHECK)
      snprintf(out, cap, "「%s」末位校验码不对（可能输错了一位）", f->name);
    else if (w->form == LSF_ID_LENGTH)
      snprintf(out, cap, "「%s」应为 18 位：17 位数字加一位数字或 X，例如 %s", f->name,
               s_example_zh(f));
    else
      snprintf(out, cap, "「%s」应为%s，例如 %s", f->name, s_vt_zh(f->vt), s_example_zh(f));
    return;
  default:
    return;
  }
}

/* The members of an error that say the schema's refusal `w`: the rule,
 * and the bound or the field meant where there is one. */
static json_t *
s_reason_more(const lschema_reason *w)
{
  json_t *more = json_pack("{s:s}", "rule", schema_rule_name(w->rule));
  if (more != NULL && (w->rule == LSR_MIN || w->rule == LSR_COUNTER_MIN))
    json_object_set_new(more, "min", json_integer(w->bound));
  if (more != NULL && w->suggest != NULL)
    json_object_set_new(more, "suggest", json_string(w->suggest->name));
  return more;
}

/* Answers the schema's refusal `w` of a write (422): the English line
 * `msg` rendered from it, message_zh, the field at fault and
 * s_reason_more's members. */
static void
s_err_reason(s_req *x, const lschema_reason *w, char *msg)
{
  char zh[1024];
  s_reason_zh(w, zh, sizeof zh);
  const char *field = w->rule == LSR_UNKNOWN_FIELD ? w->given : w->field->name;
  s_err_send(x, 422, "invalid", field, zh[0] ? zh : "数值不符合要求", msg, s_reason_more(w));
}

typedef struct s_ops {
  op v[S_OPS_MAX];
  uint32_t n;
  op_tag *tags[S_OPS_MAX]; /* OP_RM tags, freed after the write */
  const char *del_fields[S_OPS_MAX];
  uint32_t ndel;
  bool del_record;
} s_ops;

static void
s_ops_free(s_ops *o)
{
  for (uint32_t i = 0; i < o->n; i++)
    free(o->tags[i]);
}

static op *
s_op(s_req *x, s_ops *o, uint8_t kind, const char *key, const char *field)
{
  if (o->n == S_OPS_MAX) {
    s_bad(x, "at most %u changes in one write", S_OPS_MAX);
    return NULL;
  }
  op *p = &o->v[o->n];
  o->tags[o->n++] = NULL;
  memset(p, 0, sizeof *p);
  p->kind = kind;
  p->key = key;
  p->key_len = (uint32_t)strlen(key);
  p->field = field;
  p->field_len = (uint32_t)strlen(field);
  return p;
}

/* The ops of a write's members (set, incr, add, rm, append, del) on `key`
 * held as r (or NULL); false after answering. */
static bool
s_write_ops(s_req *x, json_t *body, const char *key, const rec *r, s_ops *o)
{
  static const char *const kinds[] = {"set", "incr", "add", "rm", "append", "del"};
  for (size_t k = 0; k < 6; k++) {
    json_t *m = json_object_get(body, kinds[k]);
    if (m == NULL)
      continue;
    if (k == 5) {
      if (json_is_true(m)) {
        o->del_record = true;
        continue;
      }
      if (!json_is_array(m)) {
        s_err(x, 400, "bad_request", "del", "类型有误",
              "member \"del\" must be true or an array of field names");
        return false;
      }
      size_t i;
      json_t *v;
      json_array_foreach(m, i, v) {
        if (!json_is_string(v) || json_string_length(v) == 0 || o->ndel == S_OPS_MAX) {
          s_err(x, 400, "bad_request", "del", "类型有误",
                "member \"del\" must be true or an array of field names");
          return false;
        }
        o->del_fields[o->ndel++] = json_string_value(v);
      }
      continue;
    }
    if (!json_is_object(m)) {
      s_err(x, 400, "bad_request", kinds[k], "类型有误",
            "member \"%s\" must be an object of fields", kinds[k]);
      return false;
    }
    const char *f;
    json_t *v;
    json_object_foreach(m, f, v) {
      op *p;
      switch (k) {
      case 0:
      case 4:
        if (!json_is_string(v)) {
          s_err(x, 400, "bad_request", f, "类型有误", "%s.%s must be a string", kinds[k], f);
          return false;
        }
        if ((p = s_op(x, o, k == 0 ? OP_SET : OP_APPEND, key, f)) == NULL)
          return false;
        p->str = json_string_value(v);
        p->str_len = (uint32_t)json_string_length(v);
        break;
      case 1:
        if (!json_is_integer(v)) {
          s_err(x, 400, "bad_request", f, "类型有误", "incr.%s must be an integer", f);
          return false;
        }
        if ((p = s_op(x, o, OP_INCR, key, f)) == NULL)
          return false;
        p->n = (int64_t)json_integer_value(v);
        break;
      default: {
        if (!json_is_array(v)) {
          s_err(x, 400, "bad_request", f, "类型有误", "%s.%s must be an array of strings",
                kinds[k], f);
          return false;
        }
        size_t i;
        json_t *el;
        json_array_foreach(v, i, el) {
          if (!json_is_string(el)) {
            s_err(x, 400, "bad_request", f, "类型有误", "%s.%s must be an array of strings",
                  kinds[k], f);
            return false;
          }
          if ((p = s_op(x, o, k == 2 ? OP_ADD : OP_RM, key, f)) == NULL)
            return false;
          p->str = json_string_value(el);
          p->str_len = (uint32_t)json_string_length(el);
          if (k == 3) {
            op_tag *tags = NULL;
            uint32_t nt = 0;
            if (r != NULL && rec_set_tags(r, f, strlen(f), p->str, p->str_len, &tags, &nt) != 0) {
              s_send_json(x, 500, NULL);
              return false;
            }
            o->tags[o->n - 1] = tags;
            if (nt == 0) {
              s_err(x, 422, "invalid", f, "集合中没有这一项", "%.100s is not in %s", p->str, f);
              return false;
            }
            p->tags = tags;
            p->ntags = nt > LINLI_TAGS_MAX ? LINLI_TAGS_MAX : nt;
          }
        }
        break;
      }
      }
    }
  }
  if (o->del_record) {
    op *p = s_op(x, o, OP_DEL, key, "");
    if (p == NULL)
      return false;
  }
  if (o->n == 0 && o->ndel == 0) {
    s_bad(x, "nothing to write: give set, incr, add, rm, append or del");
    return false;
  }
  /* what op_check says of each op, before the store is asked */
  for (uint32_t i = 0; i < o->n; i++) {
    lerr e = {0};
    op t = o->v[i];
    t.seq = 1;
    t.hlc = 1;
    if (op_check(&t, &e) != 0) {
      char fb[LINLI_FIELD_MAX + 1];
      s_err(x, 422, "invalid", s_refused_field(e.msg, &o->v[i], 1, fb, sizeof fb),
            "数值不符合要求", "%s", e.msg);
      return false;
    }
  }
  return true;
}

/* Writes `body`'s changes to `key` as the logged-in person and answers
 * with the record (status `ok`). */
static void
s_write(s_req *x, json_t *body, const char *key, int ok)
{
  lschema *sch = NULL;
  rec *r = NULL;
  lerr e = {0};
  s_ops *o = calloc(1, sizeof *o);
  if (o == NULL) {
    s_send_json(x, 500, NULL);
    return;
  }
  if (!s_may_write(x, key) || !s_schema(x, &sch))
    goto done;
  int g = lstore_get(x->s, key, strlen(key), &r, &e);
  if (g != 0 && g != LINLI_ENOTFOUND) {
    s_err_e(x, &e);
    goto done;
  }
  if (!s_write_ops(x, body, key, r, o))
    goto done;
  uint64_t wall = s_wall_ms();
  if (wall < S_CLOCK_FLOOR_MS) {
    s_err(x, 503, "unavailable", NULL, "电脑时钟不对，请先校正日期和时间",
          "this computer's clock says it is before 2020: set the date and time first");
    goto done;
  }
  const lident *id = lperson_ident(x->sess->person);
  lschema_reason why;
  if (o->n > 0 && lrecords_write(x->s, sch, id, o->v, o->n, wall, &why, &e) != 0) {
    char fb[LINLI_FIELD_MAX + 1];
    if (why.rule != LSR_NONE)
      s_err_reason(x, &why, e.msg);
    else if (e.code == LINLI_EINVAL)
      s_err(x, 422, "invalid", s_refused_field(e.msg, o->v, o->n, fb, sizeof fb),
            "数值不符合要求", "%s", e.msg);
    else
      s_err_e(x, &e);
    goto done;
  }
  /* a field removed: the command that does it (linli del KEY FIELD) */
  for (uint32_t i = 0; i < o->ndel; i++) {
    char abs[LINLI_KEY_MAX + 2], msg[600];
    snprintf(abs, sizeof abs, "/%s", key);
    s_cmd c = {.cmd = "del", .args = {abs, o->del_fields[i]}, .nargs = 2, .opt = {"--json"},
               .nopts = 1};
    lbuf out;
    lbuf_init(&out);
    int rc = s_run(x, &c, &out, msg, sizeof msg);
    json_error_t je;
    json_t *doc = rc != 0 && out.len > 0 ? json_loadb((const char *)out.p, out.len, 0, &je) : NULL;
    lbuf_free(&out);
    lerr ce = {.code = s_cause_code(doc)};
    json_decref(doc);
    if (rc != 0 && ce.code != 0) {
      /* the store would not write (the PC's clock, the disk): as a single write */
      lerr_set(&ce, ce.code, "%s", msg);
      s_err_e(x, &ce);
      goto done;
    }
    if (rc != 0) {
      s_err(x, rc < 0 ? 500 : 422, rc < 0 ? "internal" : "invalid", o->del_fields[i],
            "无法删除该项", "%s", msg);
      goto done;
    }
  }
  daemon_local_change(x->a->d);
  rec_destroy(&r);
  if (lstore_get(x->s, key, strlen(key), &r, &e) != 0)
    s_err_e(x, &e);
  else
    s_send_json(x, ok, s_record(x, sch, key, r));
done:
  s_ops_free(o);
  free(o);
  rec_destroy(&r);
  schema_destroy(&sch);
}

static void
s_record_post(s_req *x, const char *rest)
{
  (void)rest;
  static const char *const allowed[] = {"key", "set", "incr", "add", "rm", "append", "del", NULL};
  json_t *b = s_body(x, allowed);
  if (b == NULL)
    return;
  bool failed = false;
  const char *k = s_str(x, b, "key", true, &failed);
  char key[LINLI_KEY_MAX + 1];
  if (!failed && s_key(x, k, false, key))
    s_write(x, b, key, 200);
  json_decref(b);
}

typedef struct s_maxid {
  uint64_t max;
  size_t plen;
} s_maxid;

static int
s_maxid_cb(void *ctx, const char *key, size_t klen, const rec *r)
{
  (void)r;
  s_maxid *m = ctx;
  uint64_t v = 0;
  size_t i = m->plen;
  if (i == klen)
    return 0;
  for (; i < klen && key[i] >= '0' && key[i] <= '9' && v < UINT64_MAX / 10; i++)
    v = v * 10 + (uint64_t)(key[i] - '0');
  if (i == klen && v > m->max)
    m->max = v;
  return 0;
}

static void
s_records_post(s_req *x, const char *coll)
{
  static const char *const allowed[] = {"fields", "id", NULL};
  static const char *const fallowed[] = {"set", "incr", "add", "rm", "append", "del", NULL};
  lschema *sch = NULL;
  json_t *b = s_body(x, allowed);
  if (b == NULL)
    return;
  bool failed = false;
  const char *id = s_str(x, b, "id", false, &failed);
  json_t *fields = json_object_get(b, "fields");
  char key[LINLI_KEY_MAX + 1];
  if (failed || !s_schema(x, &sch))
    goto done;
  const lschema_type *t = s_type(x, sch, coll);
  if (t == NULL)
    goto done;
  if (!json_is_object(fields)) {
    s_err(x, 400, "bad_request", "fields", "缺少字段", "member \"fields\" must be an object");
    goto done;
  }
  const char *fk;
  json_t *fv;
  json_object_foreach(fields, fk, fv) {
    bool ok = false;
    for (size_t i = 0; fallowed[i] && !ok; i++)
      ok = strcmp(fk, fallowed[i]) == 0;
    if (!ok) {
      s_err(x, 400, "bad_request", fk, "请求含有未知的项", "unknown member \"fields.%.100s\"", fk);
      goto done;
    }
  }
  char idb[32];
  if (id == NULL) {
    char p[LINLI_KEY_MAX + 1];
    int pn = snprintf(p, sizeof p, "%s%s/", x->ns, t->collection);
    if (pn < 0 || (size_t)pn >= sizeof p) {
      s_bad(x, "the namespace and collection make too long a key");
      goto done;
    }
    s_maxid m = {.plen = strlen(p)};
    lerr e = {0};
    /* every record ever written counts, deleted ones too: their numbers stay taken */
    if (lstore_scan(x->s, p, strlen(p), s_maxid_cb, &m, &e) != 0) {
      s_err_e(x, &e);
      goto done;
    }
    snprintf(idb, sizeof idb, "%04llu", (unsigned long long)m.max + 1);
    id = idb;
  } else if (id[0] == '\0' || strchr(id, '/') != NULL) {
    s_err(x, 400, "bad_request", "id", "编号不能为空，也不能含有“/”",
          "id must not be empty or hold '/'");
    goto done;
  }
  int kn = snprintf(key, sizeof key, "%s%s/%s", x->ns, t->collection, id);
  lerr e = {0};
  if (kn < 0 || (size_t)kn >= sizeof key || key_check(key, (size_t)kn, &e) != 0) {
    s_err(x, 400, "bad_request", "id", "编号无效", "id '%.60s' does not make a valid key", id);
    goto done;
  }
  rec *r = NULL;
  if (lstore_get(x->s, key, (size_t)kn, &r, &e) == 0) {
    bool present = rec_present(r);
    rec_destroy(&r);
    if (present) {
      s_err(x, 409, "conflict", "id", "该编号已被使用", "%s exists already", key);
      goto done;
    }
  }
  s_write(x, fields, key, 201);
done:
  schema_destroy(&sch);
  json_decref(b);
}

/* ---- reports ---- */

typedef struct s_report {
  const char *coll;  /* only this type, or NULL */
  const char *month; /* "" for all time */
  json_t *types;
} s_report;

static int
s_report_row(void *ctx, const lschema_type *t, const char *month, const char *item, size_t ilen,
             int64_t v)
{
  s_report *r = ctx;
  if (r->coll != NULL && strcmp(r->coll, t->collection) != 0)
    return 0;
  if (strcmp(r->month, month) != 0)
    return 0;
  char label[600];
  lrecords_item_label(label, sizeof label, item, ilen);
  json_t *o = json_object_get(r->types, t->name);
  if (o == NULL) {
    o = json_object();
    json_object_set_new(r->types, t->name, o);
  }
  if (o != NULL)
    json_object_set_new(o, label, json_integer(v));
  return 0;
}

/* One level of a report; false after answering. */
static bool
s_level(s_req *x, json_t *levels, const char *prefix, const char *name, bool total,
        s_report *r)
{
  lerr e = {0};
  r->types = json_object();
  if (lrecords_aggregates(x->s, prefix, s_report_row, r, &e) != 0) {
    json_decref(r->types);
    s_err_e(x, &e);
    return false;
  }
  json_array_append_new(levels, json_pack("{s:s, s:s, s:b, s:o}", "prefix", prefix, "name", name,
                                          "total", total, "types", r->types));
  return true;
}

static void
s_reports(s_req *x, const char *rest)
{
  (void)rest;
  char prefix[LINLI_KEY_MAX + 1];
  lschema *sch = NULL;
  s_report r = {.month = ""};
  ldaemon_peer_status *ps = NULL;
  uint32_t np = 0;
  if (!s_prefix_arg(x, prefix, false) || !s_schema(x, &sch))
    goto done;
  const char *type = http_arg(x->req, "type");
  if (type != NULL && type[0] != '\0') {
    const lschema_type *t = s_type(x, sch, type);
    if (t == NULL)
      goto done;
    r.coll = t->collection;
  }
  const char *month = http_arg(x->req, "month");
  if (month != NULL && month[0] != '\0') {
    if (strlen(month) != 7 || month[4] != '-' || strspn(month, "0123456789-") != 7) {
      s_err(x, 400, "bad_request", "month", "月份格式应为 YYYY-MM", "month is YYYY-MM, e.g. 2026-11");
      goto done;
    }
    r.month = month;
  }
  json_t *levels = json_array();
  /* the levels below: each child station whose certified namespace lies
   * under the prefix */
  lerr e = {0};
  if (daemon_peer_status(x->a->d, &ps, &np, &e) != 0) {
    json_decref(levels);
    s_err_e(x, &e);
    goto done;
  }
  uint32_t below = 0;
  for (uint32_t i = 0; i < np; i++) {
    ltrust_state ts;
    if (ps[i].parent || lstore_trust(x->s, ps[i].pk, &ts, &e) != 0 || !ts.certified)
      continue;
    const char *cp = ts.chain.c[0].prefix;
    if (strncmp(cp, prefix, strlen(prefix)) != 0 || strcmp(cp, prefix) == 0)
      continue;
    if (!s_level(x, levels, cp, ts.chain.c[0].name, false, &r)) {
      json_decref(levels);
      goto done;
    }
    below++;
  }
  const char *name = strcmp(prefix, x->ns) == 0 ? lstore_name(x->s) : prefix;
  if (!s_level(x, levels, prefix, name, below > 0, &r)) {
    json_decref(levels);
    goto done;
  }
  s_send_json(x, 200, json_pack("{s:s, s:o}", "prefix", prefix, "levels", levels));
done:
  free(ps);
  schema_destroy(&sch);
}

/* ---- the commands the CLI shares: CSV and audit ---- */

static void
s_export_csv(s_req *x, const char *rest)
{
  (void)rest;
  char prefix[LINLI_KEY_MAX + 1], abs[LINLI_KEY_MAX + 2], msg[600];
  lschema *sch = NULL;
  if (!s_prefix_arg(x, prefix, false) || !s_schema(x, &sch))
    return;
  const lschema_type *t = s_type(x, sch, http_arg(x->req, "type"));
  if (t == NULL) {
    schema_destroy(&sch);
    return;
  }
  char coll[128];
  snprintf(coll, sizeof coll, "%s", t->collection);
  snprintf(abs, sizeof abs, "/%s", prefix);
  s_cmd c = {.cmd = "query", .args = {t->name, abs}, .nargs = 2, .opt = {"--csv"}, .nopts = 1};
  const char *w[17];
  unsigned nw = http_args(x->req, "where", w, 17);
  if (nw > 16) {
    schema_destroy(&sch);
    s_bad(x, "at most 16 where filters");
    return;
  }
  for (unsigned i = 0; i < nw; i++) {
    c.opt[c.nopts] = "--where";
    c.val[c.nopts++] = w[i];
  }
  lbuf out;
  lbuf_init(&out);
  int rc = s_run(x, &c, &out, msg, sizeof msg);
  schema_destroy(&sch);
  if (rc != 0) {
    lbuf_free(&out);
    s_err(x, rc == 2 ? 400 : 500, rc == 2 ? "bad_request" : "internal", NULL, "无法导出", "%s",
          msg);
    return;
  }
  x->resp->status = 200;
  x->resp->ctype = "text/csv; charset=utf-8";
  lbuf_put(&x->resp->body, out.p, out.len);
  lbuf_free(&out);
  time_t now = (time_t)(s_wall_ms() / 1000);
  struct tm tm;
  char day[16] = "00000000";
  if (localtime_r(&now, &tm) != NULL)
    strftime(day, sizeof day, "%Y%m%d", &tm);
  http_resp_header(x->resp, "Content-Disposition", "attachment; filename=\"%s-%s.csv\"", coll,
                   day);
}

/* The schema's reason of a row `linli --json import-csv` refused (its
 * error object o, docs/API.md), rebuilt against type t; false when o is
 * not one (a fault of the file's, or a field t lacks). */
static bool
s_csv_reason(const lschema_type *t, json_t *o, lschema_reason *w)
{
  memset(w, 0, sizeof *w);
  w->rule = schema_rule_of(json_string_value(json_object_get(o, "rule")));
  const char *field = json_string_value(json_object_get(o, "field"));
  if (w->rule == LSR_NONE || field == NULL)
    return false;
  w->type = t;
  if (w->rule == LSR_UNKNOWN_FIELD)
    snprintf(w->given, sizeof w->given, "%s", field);
  else if ((w->field = schema_field(t, field, strlen(field))) == NULL)
    return false;
  const char *sg = json_string_value(json_object_get(o, "suggest"));
  if (sg != NULL)
    w->suggest = schema_field(t, sg, strlen(sg));
  w->form = schema_form_of(json_string_value(json_object_get(o, "form")));
  const char *v = json_string_value(json_object_get(o, "value"));
  const char *cf = json_string_value(json_object_get(o, "canonical"));
  snprintf(w->value, sizeof w->value, "%s", v != NULL ? v : "");
  snprintf(w->canonical, sizeof w->canonical, "%s", cf != NULL ? cf : "");
  w->bound = json_integer_value(json_object_get(o, "min"));
  w->result = json_integer_value(json_object_get(o, "result"));
  w->now = json_integer_value(json_object_get(o, "now"));
  return true;
}

/* A fault of the file's in row error o (rule, value, first_row,
 * header_columns as the command gives them), in Chinese. */
static void
s_csv_fault_zh(json_t *o, char *out, size_t cap)
{
  const char *rule = json_string_value(json_object_get(o, "rule"));
  const char *v = json_string_value(json_object_get(o, "value"));
  long long first = (long long)json_integer_value(json_object_get(o, "first_row"));
  long long cols = (long long)json_integer_value(json_object_get(o, "header_columns"));
  static const struct {
    const char *rule, *zh;
  } plain[] = {
    {"no_id_column", "标题行没有「编号」这一列（每条记录的编号）"},
    {"too_many_values", "这一行的值太多，请分成几行导入"},
    {"quote", "单元格中间有引号：请把整个单元格用引号括起来，其中的引号写两遍"},
    {"after_quote", "右引号后面还有文字"},
    {"open_quote", "引号没有配对：从这里到文件末尾都成了一个单元格"},
    {"row_too_long", "这一行太长（超过 1 MB）"},
    {"too_many_cells", "这一行超过 256 列"},
    {"encoding", "文件编码无法识别：请在 Excel 中另存为「CSV UTF-8（逗号分隔）」"},
  };
  if (rule == NULL)
    rule = "";
  if (v == NULL)
    v = "";
  if (strcmp(rule, "columns") == 0)
    snprintf(out, cap, "这一列有内容，但标题行只有 %lld 列（是不是多了逗号？）", cols);
  else if (strcmp(rule, "id") == 0 && v[0] == '\0')
    snprintf(out, cap, "「编号」没有填写");
  else if (strcmp(rule, "id") == 0)
    snprintf(out, cap, "「编号」%s 不能用作编号（不能含有 / 等符号，也不能太长）", v);
  else if (strcmp(rule, "duplicate_id") == 0)
    snprintf(out, cap, "编号 %s 与第 %lld 行重复", v, first);
  else if (strcmp(rule, "outside") == 0)
    snprintf(out, cap, "「所属」%s 不在本站范围内", v);
  else {
    snprintf(out, cap, "这一行有误，未导入");
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
      if (strcmp(rule, plain[i].rule) == 0)
        snprintf(out, cap, "%s", plain[i].zh);
  }
}

/* One of the rows `linli --json import-csv` refused (o) as the API says
 * it: row (as Excel numbers it: the header is row 1), column, field, rule
 * (and min, suggest), the English line and message_zh naming the row. */
static json_t *
s_csv_row_err(const lschema_type *t, json_t *o)
{
  json_int_t row = json_integer_value(json_object_get(o, "row"));
  json_int_t col = json_integer_value(json_object_get(o, "column"));
  const char *field = json_string_value(json_object_get(o, "field"));
  const char *rule = json_string_value(json_object_get(o, "rule"));
  const char *msg = json_string_value(json_object_get(o, "message"));
  char zh[1024], line[1200];
  lschema_reason w;
  json_t *r = NULL;
  if (s_csv_reason(t, o, &w)) {
    s_reason_zh(&w, zh, sizeof zh);
    r = s_reason_more(&w);
  } else {
    s_csv_fault_zh(o, zh, sizeof zh);
    r = json_pack("{s:s}", "rule", rule != NULL ? rule : "internal");
  }
  int n = snprintf(line, sizeof line, "第 %lld 行%s", (long long)row, row == 1 ? "（标题行）" : "");
  if (col > 0 && n > 0 && (size_t)n < sizeof line)
    n += snprintf(line + n, sizeof line - (size_t)n, "第 %lld 列", (long long)col);
  if (n > 0 && (size_t)n < sizeof line)
    snprintf(line + n, sizeof line - (size_t)n, "：%s", zh);
  if (r == NULL)
    return NULL;
  json_object_set_new(r, "row", json_integer(row));
  if (col > 0)
    json_object_set_new(r, "column", json_integer(col));
  if (field != NULL)
    json_object_set_new(r, "field", json_string(field));
  json_object_set_new(r, "message", json_string(msg != NULL ? msg : ""));
  json_object_set_new(r, "message_zh", json_string(line));
  return r;
}

static void
s_import_csv(s_req *x, const char *rest)
{
  (void)rest;
  lschema *sch = NULL;
  char msg[600];
  if (!s_schema(x, &sch))
    return;
  const lschema_type *t = s_type(x, sch, http_arg(x->req, "type"));
  const char *dry = http_arg(x->req, "dry_run");
  bool dry_run = dry != NULL && strcmp(dry, "0") != 0 && strcmp(dry, "false") != 0;
  char probe[LINLI_KEY_MAX + 1];
  if (t == NULL)
    goto done;
  int pn = snprintf(probe, sizeof probe, "%s%s/x", x->ns, t->collection);
  if (pn < 0 || (size_t)pn >= sizeof probe) {
    s_bad(x, "the namespace and collection make too long a key");
    goto done;
  }
  if (!dry_run && !s_may_write(x, probe))
    goto done;
  const char *ct = http_header(x->req, "Content-Type");
  if (ct == NULL || (strncasecmp(ct, "text/csv", 8) != 0 && strncasecmp(ct, "text/plain", 10) != 0 &&
                     strncasecmp(ct, "application/octet-stream", 24) != 0)) {
    s_bad(x, "the body must be CSV with Content-Type: text/csv");
    goto done;
  }
  /* The body travels as the command's file, as the CLI's does; the
   * command's --json document gives each refused row's reason. */
  s_cmd c = {.cmd = "import-csv", .args = {t->name, "upload.csv"}, .nargs = 2,
             .opt = {"--json", "--dry-run"}, .nopts = dry_run ? 2 : 1, .file = "upload.csv",
             .fp = x->req->body, .fn = x->req->body_len};
  lbuf out;
  lbuf_init(&out);
  int rc = s_run(x, &c, &out, msg, sizeof msg);
  json_error_t je;
  json_t *doc = out.len > 0 ? json_loadb((const char *)out.p, out.len, 0, &je) : NULL;
  lbuf_free(&out);
  json_t *errors = json_array();
  size_t i;
  json_t *o;
  json_array_foreach(json_object_get(doc, "errors"), i, o) {
    json_t *r = s_csv_row_err(t, o);
    if (r != NULL)
      json_array_append_new(errors, r);
  }
  json_int_t rows = json_integer_value(json_object_get(doc, "rows"));
  json_int_t refused = json_integer_value(json_object_get(doc, "refused"));
  lerr ce = {.code = s_cause_code(doc)};
  json_decref(doc);
  size_t nerr = json_array_size(errors);
  if (rc != 0 && ce.code != 0) {
    /* the file was right; the store would not write (the PC's clock, the disk) */
    json_decref(errors);
    lerr_set(&ce, ce.code, "%s", msg);
    s_err_e(x, &ce);
    goto done;
  }
  if (rc == 0) {
    s_send_json(x, 200, json_pack("{s:I, s:I, s:o}", "rows", rows, "written",
                                  (json_int_t)(dry_run ? 0 : rows), "errors", errors));
    goto done;
  }
  if (nerr == 0) {
    json_decref(errors);
    s_err(x, rc == 2 ? 400 : rc < 0 ? 500 : 422,
          rc == 2 ? "bad_request" : rc < 0 ? "internal" : "invalid", NULL, "文件无法导入", "%s",
          msg);
    goto done;
  }
  /* rows refused, or the file wrong as a whole (its header, its quoting,
   * its encoding) at the row named */
  char zh[200];
  if (refused > 0)
    snprintf(zh, sizeof zh, "有 %lld 行不符合要求，全部未导入（行号与 Excel 一致，标题为第 1 行）",
             (long long)refused);
  else
    snprintf(zh, sizeof zh, "文件有误，全部未导入（行号与 Excel 一致，标题为第 1 行）");
  if (refused > 0)
    snprintf(msg, sizeof msg, "%lld of %lld rows refused (each in errors, as Excel numbers rows: "
             "the header is row 1); nothing written", (long long)refused, (long long)rows);
  json_t *er = json_pack("{s:s, s:s, s:s}", "code", "invalid", "message", msg, "message_zh", zh);
  s_send_json(x, 422, json_pack("{s:o, s:I, s:I, s:o}", "error", er, "rows", rows, "written",
                                (json_int_t)0, "errors", errors));
done:
  schema_destroy(&sch);
}

static void
s_audit(s_req *x, const char *rest)
{
  (void)rest;
  char key[LINLI_KEY_MAX + 1], msg[600], root[2 * LINLI_PK_BYTES + 1];
  if (!s_key_arg(x, key))
    return;
  const uint8_t *rk = lstore_root(x->s);
  if (rk == NULL) {
    s_err(x, 409, "conflict", NULL, "本站没有信任根，无法审计",
          "this station has no trust root: an audit checks against one");
    return;
  }
  sodium_bin2hex(root, sizeof root, rk, LINLI_PK_BYTES);
  s_cmd c = {.cmd = "audit", .opt = {"--root", "--record", "--json"}, .val = {root, key, NULL},
             .nopts = 3};
  lbuf out;
  lbuf_init(&out);
  int rc = s_run(x, &c, &out, msg, sizeof msg);
  json_error_t je;
  json_t *a = out.len > 0 ? json_loadb((const char *)out.p, out.len, 0, &je) : NULL;
  lbuf_free(&out);
  if (a == NULL) {
    s_err(x, rc == 2 ? 400 : 500, rc == 2 ? "bad_request" : "internal", NULL, "无法审计", "%s",
          msg[0] ? msg : "the audit gave no answer");
    return;
  }
  /* the record's authors, with how many of its ops each wrote */
  json_t *authors = json_array(), *problems = json_array();
  json_t *ops = json_object_get(json_object_get(a, "record"), "ops");
  size_t i;
  json_t *v;
  json_array_foreach(ops, i, v) {
    const char *au = json_string_value(json_object_get(v, "author"));
    if (au == NULL)
      continue;
    json_t *found = NULL;
    size_t j;
    json_t *w;
    json_array_foreach(authors, j, w) {
      if (strcmp(json_string_value(json_object_get(w, "key")), au) == 0)
        found = w;
    }
    if (found != NULL) {
      json_object_set_new(found, "ops",
                          json_integer(json_integer_value(json_object_get(found, "ops")) + 1));
      continue;
    }
    uint8_t pk[LINLI_PK_BYTES];
    if (sodium_hex2bin(pk, sizeof pk, au, strlen(au), NULL, NULL, NULL) != 0)
      continue;
    json_t *o = s_author(x, pk, true);
    if (o != NULL) {
      json_object_set_new(o, "ops", json_integer(1));
      json_array_append_new(authors, o);
    }
  }
  json_array_foreach(json_object_get(a, "problems"), i, v) {
    json_t *what = json_object_get(v, "what");
    if (json_is_string(what))
      json_array_append(problems, what);
  }
  json_t *res = json_pack("{s:s, s:O, s:I, s:o, s:o}", "key", key, "ok",
                          json_object_get(a, "ok") ? json_object_get(a, "ok") : json_false(),
                          "ops", (json_int_t)json_array_size(ops), "authors", authors,
                          "problems", problems);
  json_decref(a);
  s_send_json(x, 200, res);
}

/* ---- sessions ---- */

/* The session's answer: who is logged in, where, and the CSRF token. */
static json_t *
s_session_json(s_req *x)
{
  const luser *u = s_user(x);
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "user", u->name, "role",
                   trust_role_name(u->role), "station", lstore_name(x->s), "namespace", x->ns,
                   "csrf", x->sess->csrf, "idle_minutes",
                   (int)daemon_config(x->a->d)->session_idle_min);
}

static void
s_cookie(s_req *x, const char *value, bool end)
{
  http_resp_header(x->resp, "Set-Cookie", "%s=%s; HttpOnly; SameSite=Strict; Path=/%s%s",
                   S_COOKIE, value, x->req->tls ? "; Secure" : "",
                   end ? "; Max-Age=0" : "");
}

static void
s_login(s_req *x, const char *rest)
{
  (void)rest;
  static const char *const allowed[] = {"user", "password", NULL};
  json_t *b = s_body(x, allowed);
  if (b == NULL)
    return;
  bool failed = false;
  const char *user = s_str(x, b, "user", true, &failed);
  const char *pw = failed ? NULL : s_str(x, b, "password", true, &failed);
  if (failed) {
    json_decref(b);
    return;
  }
  char ukey[128], akey[96];
  snprintf(ukey, sizeof ukey, "u:%s", user);
  snprintf(akey, sizeof akey, "a:%s", x->req->client);
  uint64_t now = s_mono_ms();
  uint64_t wait = wrl_wait(&x->a->rl, ukey, now);
  uint64_t wa = wrl_wait(&x->a->rl, akey, now);
  if (wa > wait)
    wait = wa;
  if (wait > 0) {
    json_decref(b);
    s_err(x, 429, "rate_limited", NULL, "登录失败次数过多，请稍后再试",
          "too many failed logins: try again in %llu s", (unsigned long long)(wait + 999) / 1000);
    http_resp_header(x->resp, "Retry-After", "%llu", (unsigned long long)(wait + 999) / 1000);
    return;
  }
  lperson *p = NULL;
  lerr e = {0};
  const lconfig *cfg = daemon_config(x->a->d);
  int rc = lusers_unlock(cfg->data, user, pw, &p, &e);
  json_decref(b); /* the password's copy goes with it */
  if (rc != 0) {
    wrl_fail(&x->a->rl, ukey, now);
    wrl_fail(&x->a->rl, akey, now);
    log_info("web: a failed login from %s", x->req->client);
    if (rc == LINLI_EREFUSED)
      s_err(x, 401, "unauthenticated", NULL, "用户名或密码不对，或账号已停用", "%s", e.msg);
    else
      s_err_e(x, &e);
    return;
  }
  wrl_ok(&x->a->rl, ukey);
  wrl_ok(&x->a->rl, akey);
  if (wsess_new(&x->a->sess, p, now, &x->sess, &e) != 0) {
    s_err_e(x, &e);
    return;
  }
  log_info("web: %s logged in from %s", lperson_user(p)->name, x->req->client);
  s_cookie(x, x->sess->id, false);
  s_send_json(x, 200, s_session_json(x));
}

static void
s_session_get(s_req *x, const char *rest)
{
  (void)rest;
  s_send_json(x, 200, s_session_json(x));
}

static void
s_logout(s_req *x, const char *rest)
{
  (void)rest;
  wsess_end(&x->a->sess, x->sess);
  x->sess = NULL;
  x->resp->status = 204;
  s_cookie(x, "", true);
}

static void
s_password(s_req *x, const char *rest)
{
  (void)rest;
  static const char *const allowed[] = {"old", "new", NULL};
  json_t *b = s_body(x, allowed);
  if (b == NULL)
    return;
  bool failed = false;
  const char *old = s_str(x, b, "old", true, &failed);
  const char *nw = failed ? NULL : s_str(x, b, "new", true, &failed);
  lerr e = {0};
  if (!failed) {
    int rc = lusers_passwd(daemon_config(x->a->d)->data, s_user(x)->name, old, nw, &e);
    if (rc == LINLI_EREFUSED)
      s_err(x, 403, "forbidden", "old", "原密码不对", "%s", e.msg);
    else if (rc == LINLI_EINVAL)
      s_err(x, 422, "invalid", "new", "新密码不符合要求（至少 8 个字符）", "%s", e.msg);
    else if (rc != 0)
      s_err_e(x, &e);
    else
      x->resp->status = 204;
  }
  json_decref(b);
}

/* ---- users (admin) ---- */

static json_t *
s_user_json(const luser *u)
{
  char hex[2 * LINLI_PK_BYTES + 1], tb[64];
  sodium_bin2hex(hex, sizeof hex, u->pk, LINLI_PK_BYTES);
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "name", u->name, "role",
                   trust_role_name(u->role), "key", hex, "prefix", u->prefix, "not_after",
                   s_time(tb, sizeof tb, hlc_make(u->not_after, 0)), "revoked", u->revoked);
}

static bool
s_admin(s_req *x)
{
  if (s_user(x)->role == ROLE_ADMIN)
    return true;
  s_forbidden(x, "managing users is for an admin", "只有管理员可以管理用户");
  return false;
}

static void
s_users_get(s_req *x, const char *rest)
{
  (void)rest;
  if (!s_admin(x))
    return;
  luser *v = NULL;
  size_t n = 0;
  lerr e = {0};
  if (lusers_list(daemon_config(x->a->d)->data, &v, &n, &e) != 0) {
    s_err_e(x, &e);
    return;
  }
  json_t *a = json_array();
  for (size_t i = 0; a != NULL && i < n; i++)
    json_array_append_new(a, s_user_json(&v[i]));
  free(v);
  s_send_json(x, 200, json_pack("{s:o}", "users", a));
}

static void
s_users_post(s_req *x, const char *rest)
{
  (void)rest;
  static const char *const allowed[] = {"name", "role", "password", "days", NULL};
  if (!s_admin(x))
    return;
  json_t *b = s_body(x, allowed);
  if (b == NULL)
    return;
  bool failed = false;
  const char *name = s_str(x, b, "name", true, &failed);
  const char *role = failed ? NULL : s_str(x, b, "role", true, &failed);
  const char *pw = failed ? NULL : s_str(x, b, "password", true, &failed);
  json_t *days = json_object_get(b, "days");
  int r = role ? trust_role_parse(role) : -1;
  lerr e = {0};
  if (failed)
    goto done;
  if (days != NULL && (!json_is_integer(days) || json_integer_value(days) < 1 ||
                       json_integer_value(days) > 3650)) {
    s_err(x, 400, "bad_request", "days", "有效天数应为 1 到 3650", "days must be 1 to 3650");
    goto done;
  }
  if (r < 0 || !trust_role_person(r)) {
    s_err(x, 400, "bad_request", "role", "角色应为 clerk、assessor、auditor 或 admin",
          "role must be clerk, assessor, auditor or admin");
    goto done;
  }
  lident st;
  if (lstore_identity(x->s, &st, &e) != 0) {
    s_err_e(x, &e);
    goto done;
  }
  luser u;
  int rc = lusers_add(x->s, daemon_config(x->a->d)->data, &st, name, r, NULL, pw,
                      days ? (uint32_t)json_integer_value(days) : 365, s_wall_ms(), &u, &e);
  ident_wipe(&st);
  if (rc == LINLI_EEXIST)
    s_err(x, 409, "conflict", "name", "用户名已存在", "%s", e.msg);
  else if (rc == LINLI_EINVAL)
    s_err(x, 422, "invalid", NULL, "用户名、角色或密码不符合要求", "%s", e.msg);
  else if (rc != 0)
    s_err_e(x, &e);
  else {
    daemon_local_change(x->a->d);
    s_send_json(x, 201, s_user_json(&u));
  }
done:
  json_decref(b);
}

static void
s_user_revoke(s_req *x, const char *rest)
{
  static const char *const allowed[] = {"reason", NULL};
  if (!s_admin(x))
    return;
  /* rest: NAME/revoke */
  const char *slash = strchr(rest, '/');
  if (slash == NULL || strcmp(slash, "/revoke") != 0 || slash == rest) {
    s_err(x, 404, "not_found", NULL, "没有这个接口", "no such endpoint");
    return;
  }
  char name[TRUST_NAME_MAX + 1];
  if ((size_t)(slash - rest) > TRUST_NAME_MAX) {
    s_err(x, 404, "not_found", NULL, "没有这个用户", "no such user");
    return;
  }
  snprintf(name, sizeof name, "%.*s", (int)(slash - rest), rest);
  json_t *b = s_body(x, allowed);
  if (b == NULL)
    return;
  bool failed = false;
  const char *reason = s_str(x, b, "reason", false, &failed);
  lerr e = {0};
  lident st;
  const lconfig *cfg = daemon_config(x->a->d);
  if (!failed && lstore_identity(x->s, &st, &e) != 0)
    s_err_e(x, &e);
  else if (!failed) {
    int rc = lusers_revoke(x->s, cfg->data, &st, name, reason ? reason : "", s_wall_ms(), &e);
    ident_wipe(&st);
    luser u;
    if (rc != 0)
      s_err_e(x, &e);
    else if (lusers_get(cfg->data, name, &u, &e) != 0)
      s_err_e(x, &e);
    else {
      daemon_local_change(x->a->d);
      s_send_json(x, 200, s_user_json(&u));
    }
  }
  json_decref(b);
}

/* ---- routing ---- */

enum { S_OPEN, S_SESSION };

typedef struct s_route {
  const char *method;
  const char *path; /* ending in '/': a prefix, the rest handed on */
  int auth;
  void (*fn)(s_req *x, const char *rest);
} s_route;

static const s_route s_routes[] = {
    {"GET", "/api/v1/health", S_OPEN, s_health},
    {"POST", "/api/v1/login", S_OPEN, s_login},
    {"POST", "/api/v1/logout", S_SESSION, s_logout},
    {"GET", "/api/v1/session", S_SESSION, s_session_get},
    {"POST", "/api/v1/password", S_SESSION, s_password},
    {"GET", "/api/v1/station", S_SESSION, s_station},
    {"GET", "/api/v1/peers", S_SESSION, s_peers},
    {"GET", "/api/v1/schema", S_SESSION, s_schema_get},
    {"GET", "/api/v1/records/", S_SESSION, s_records_list},
    {"POST", "/api/v1/records/", S_SESSION, s_records_post},
    {"GET", "/api/v1/record", S_SESSION, s_record_get},
    {"POST", "/api/v1/record", S_SESSION, s_record_post},
    {"GET", "/api/v1/record/history", S_SESSION, s_record_history},
    {"GET", "/api/v1/reports", S_SESSION, s_reports},
    {"GET", "/api/v1/export.csv", S_SESSION, s_export_csv},
    {"POST", "/api/v1/import.csv", S_SESSION, s_import_csv},
    {"GET", "/api/v1/audit", S_SESSION, s_audit},
    {"GET", "/api/v1/users", S_SESSION, s_users_get},
    {"POST", "/api/v1/users", S_SESSION, s_users_post},
    {"POST", "/api/v1/users/", S_SESSION, s_user_revoke},
};

/* The session named by the request's cookie, or NULL. */
static wsess *
s_find_session(s_req *x)
{
  const char *c = http_header(x->req, "Cookie");
  size_t cn = strlen(S_COOKIE);
  while (c != NULL && *c != '\0') {
    while (*c == ' ' || *c == ';')
      c++;
    if (strncmp(c, S_COOKIE, cn) == 0 && c[cn] == '=') {
      char id[WSESS_ID_HEX + 2];
      const char *v = c + cn + 1;
      size_t vn = strcspn(v, "; ");
      if (vn != WSESS_ID_HEX)
        return NULL;
      memcpy(id, v, vn);
      id[vn] = '\0';
      return wsess_find(&x->a->sess, id, s_mono_ms());
    }
    c = strchr(c, ';');
  }
  return NULL;
}

static void
s_api(s_req *x)
{
  const char *path = x->req->path;
  const char *method = x->req->method;
  bool head = strcmp(method, "HEAD") == 0;
  const s_route *hit = NULL;
  const char *rest = "";
  bool path_known = false;
  for (size_t i = 0; i < sizeof s_routes / sizeof s_routes[0]; i++) {
    const s_route *r = &s_routes[i];
    size_t n = strlen(r->path);
    bool match = r->path[n - 1] == '/' ? strncmp(path, r->path, n) == 0 && path[n] != '\0'
                                       : strcmp(path, r->path) == 0;
    if (!match)
      continue;
    path_known = true;
    if (strcmp(r->method, method) == 0 || (head && strcmp(r->method, "GET") == 0)) {
      hit = r;
      rest = path + n;
      break;
    }
  }
  if (hit == NULL) {
    if (path_known)
      s_err(x, 405, "bad_request", NULL, "不支持这种请求方法", "method %s is not allowed here",
            method);
    else
      s_err(x, 404, "not_found", NULL, "没有这个接口", "no such endpoint: %.200s", path);
    return;
  }
  if (x->req->body_len > 0 && strcmp(hit->method, "GET") == 0) {
    s_bad(x, "a GET request has no body");
    return;
  }
  if (hit->auth == S_SESSION) {
    x->sess = s_find_session(x);
    if (x->sess == NULL) {
      s_err(x, 401, "unauthenticated", NULL, "请先登录（或登录已过期）",
            "log in first (or the session has ended)");
      return;
    }
    if (strcmp(method, "POST") == 0 || strcmp(method, "DELETE") == 0) {
      if (!wsess_csrf_ok(x->sess, http_header(x->req, "X-CSRF-Token"))) {
        s_err(x, 403, "csrf", NULL, "请求缺少有效的安全令牌，请刷新页面",
              "missing or wrong X-CSRF-Token: reload the page");
        return;
      }
    }
  }
  hit->fn(x, rest);
}

/* ---- static files ---- */

static const struct {
  const char *ext, *ctype;
} s_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".json", "application/json; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
    {".txt", "text/plain; charset=utf-8"},
};

static void
s_not_found(s_req *x)
{
  x->resp->status = 404;
  x->resp->ctype = "text/plain; charset=utf-8";
  lbuf_reset(&x->resp->body);
  lbuf_put(&x->resp->body, "not found\n", 10);
}

static void
s_static(s_req *x)
{
  const char *path = x->req->path;
  if (strcmp(x->req->method, "GET") != 0 && strcmp(x->req->method, "HEAD") != 0) {
    x->resp->status = 405;
    lbuf_put(&x->resp->body, "only GET\n", 9);
    return;
  }
  if (x->a->root[0] == '\0' || path[0] != '/') {
    s_not_found(x);
    return;
  }
  const char *rel = strcmp(path, "/") == 0 ? "index.html" : path + 1;
  size_t rn = strlen(rel);
  /* no "..", no hidden file, no backslash, no empty component */
  if (rn == 0 || rn > 512 || strchr(rel, '\\') != NULL || rel[rn - 1] == '/') {
    s_not_found(x);
    return;
  }
  for (const char *c = rel; c != NULL; c = strchr(c, '/')) {
    if (*c == '/')
      c++;
    if (*c == '.' || *c == '/' || *c == '\0') {
      s_not_found(x);
      return;
    }
  }
  const char *ctype = NULL;
  const char *dot = strrchr(rel, '.');
  for (size_t i = 0; dot != NULL && i < sizeof s_types / sizeof s_types[0]; i++)
    if (strcmp(dot, s_types[i].ext) == 0)
      ctype = s_types[i].ctype;
  if (ctype == NULL) {
    s_not_found(x);
    return;
  }
  char full[PATH_MAX + 600], real[PATH_MAX];
  snprintf(full, sizeof full, "%s/%s", x->a->root, rel);
  size_t rl = strlen(x->a->root);
  /* a symbolic link may point anywhere: what it resolves to must be
   * inside the root */
  if (realpath(full, real) == NULL || strncmp(real, x->a->root, rl) != 0 || real[rl] != '/') {
    s_not_found(x);
    return;
  }
  int fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > S_FILE_MAX) {
    if (fd >= 0)
      close(fd);
    s_not_found(x);
    return;
  }
  lbuf *b = &x->resp->body;
  char buf[65536];
  ssize_t got;
  while ((got = read(fd, buf, sizeof buf)) > 0)
    lbuf_put(b, buf, (size_t)got);
  close(fd);
  x->resp->ctype = ctype;
}

/* ---- the handler ---- */

static size_t
s_limit(void *ctx, const char *method, const char *path)
{
  (void)ctx;
  if (strcmp(method, "POST") != 0)
    return 0;
  if (strcmp(path, "/api/v1/import.csv") == 0)
    return API_CSV_MAX;
  return strncmp(path, "/api/", 5) == 0 ? API_JSON_MAX : 0;
}

static void
s_serve(void *ctx, const lhttp_req *req, lhttp_resp *resp)
{
  lapi *a = ctx;
  s_req x = {.a = a, .req = req, .resp = resp, .s = daemon_store(a->d)};
  bool api = strncmp(req->path, "/api/", 5) == 0;
  if (req->too_large) {
    if (api)
      s_err(&x, 413, "too_large", NULL, "内容太大", "the body is over the limit (%u MiB for "
            "JSON, %u MiB for CSV)", API_JSON_MAX >> 20, API_CSV_MAX >> 20);
    else {
      resp->status = 413;
      lbuf_put(&resp->body, "too large\n", 10);
    }
    return;
  }
  if (strcmp(req->path, "/metrics") == 0 &&
      (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0)) {
    resp->ctype = "text/plain; version=0.0.4; charset=utf-8";
    daemon_metrics(a->d, &resp->body);
    return;
  }
  if (!api) {
    s_static(&x);
    return;
  }
  lerr e = {0};
  if (lstore_namespace(x.s, x.ns, &e) != 0) {
    s_err_e(&x, &e);
    return;
  }
  s_api(&x);
}

int
api_new(lapi **out, ldaemon *d, lerr *e)
{
  *out = NULL;
  lapi *a = calloc(1, sizeof *a);
  if (a == NULL)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  a->d = d;
  const lconfig *cfg = daemon_config(d);
  const char *root = cfg->http_root[0] ? cfg->http_root : LINLI_WEB_ROOT;
#ifdef LINLI_WEB_SRC
  struct stat st;
  if (cfg->http_root[0] == '\0' && stat(LINLI_WEB_SRC, &st) == 0 && S_ISDIR(st.st_mode))
    root = LINLI_WEB_SRC;
#endif
  if (realpath(root, a->root) == NULL) {
    log_warn("web interface: %s: %s; serving the API only", root, strerror(errno));
    a->root[0] = '\0';
  }
  uint64_t idle = (uint64_t)cfg->session_idle_min * 60000u;
  /* The test suite's shorter idle time, in ms (as LINLI_TEST_NOW_MS is its
   * clock). */
  const char *t = getenv("LINLI_TEST_SESSION_IDLE_MS");
  if (t != NULL && t[0] != '\0' && strtoull(t, NULL, 10) > 0)
    idle = strtoull(t, NULL, 10);
  wsess_init(&a->sess, idle, lperson_free);
  *out = a;
  return 0;
}

void
api_destroy(lapi **ap)
{
  lapi *a = *ap;
  if (a == NULL)
    return;
  wsess_free(&a->sess);
  wrl_free(&a->rl);
  free(a);
  *ap = NULL;
}

void
api_handler(lapi *a, lhttp_handler *out)
{
  out->limit = s_limit;
  out->serve = s_serve;
  out->ctx = a;
}

uint64_t
api_timeout_ms(lapi *a)
{
  uint64_t now = s_mono_ms();
  uint64_t next = wsess_expire(&a->sess, now);
  return next == UINT64_MAX ? UINT64_MAX : next - now;
}

void
api_tick(lapi *a)
{
  wsess_expire(&a->sess, s_mono_ms());
}
