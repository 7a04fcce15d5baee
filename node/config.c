/*
 * config.c - parsing and checking linli-node's configuration file; the
 * format is in config.h.
 *
 * The parser is strict on purpose: a daemon that starts with a typo in a
 * key silently ignored would run with a default nobody chose, and the
 * mistake would show up days later as "the street never got our data".
 * Every problem is reported as "file:line: what is wrong", and the first
 * one stops the parse.  Checks that involve several lines (a child listed
 * twice, a child without `listen`) run after the last line and name the
 * line of the offending entry.
 */
#include "node/config.h"

#include "crdt/mp.h"
#include "node/fsutil.h"
#include "node/log.h"
#include "node/store.h"
#include "sync/session.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A configuration file larger than this is not a configuration file. */
#define S_FILE_MAX (1u << 20)

enum { S_K_NAME, S_K_ROLE, S_K_DATA, S_K_LISTEN, S_K_LOG, S_K_CONTROL, S_K_PROFILE,
       S_K_COMPRESS, S_K_TIMEZONE, S_K_AHEAD, S_K_CONTROL_GROUP, S_K_METRICS, S_K_LINK,
       S_K_LINK_HB, S_K_LINK_RESYNC, S_K_LINK_DATA, S_K_HTTP, S_K_HTTP_CERT, S_K_HTTP_KEY,
       S_K_HTTP_ROOT, S_K_SESSION_IDLE, S_K_COUNT };

typedef struct s_parser {
  lconfig *c;
  const char *path;
  unsigned line;
  lerr *e;
  unsigned seen_line[S_K_COUNT]; /* line where each single-valued key was set */
} s_parser;

static int s_hostport(s_parser *p, const char *key, bool port_alone, uint32_t *addr,
                      uint16_t *portp, const char *v, size_t vn);

static int s_fail(s_parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
s_fail(s_parser *p, const char *fmt, ...)
{
  char what[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return lerr_set(p->e, LINLI_EINVAL, "%s:%u: %s", p->path, p->line, what);
}

static bool
s_blank(char ch)
{
  return ch == ' ' || ch == '\t';
}

/* True when s[0..n) holds a control character (C0 or DEL). */
static bool
s_has_control(const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
      return true;
  return false;
}

static int
s_copy(s_parser *p, char *dst, size_t cap, const char *src, size_t n, const char *what)
{
  if (n >= cap)
    return s_fail(p, "%s is too long (at most %zu bytes)", what, cap - 1);
  memcpy(dst, src, n);
  dst[n] = '\0';
  return 0;
}

static int
s_name(s_parser *p, char *dst, const char *v, size_t n, const char *what)
{
  if (n == 0)
    return s_fail(p, "%s is empty", what);
  if (n > LCONFIG_NAME_MAX)
    return s_fail(p, "%s is longer than %d bytes", what, LCONFIG_NAME_MAX);
  if (s_has_control(v, n))
    return s_fail(p, "%s contains a control character", what);
  return s_copy(p, dst, LCONFIG_NAME_MAX + 1, v, n, what);
}

/* tcp://HOST:PORT (HOST may be '*', a name, an IPv4 or a bracketed IPv6
 * address) or ipc://PATH; with `ipc_only`, only ipc://PATH.  ZeroMQ checks
 * the rest when it binds or connects; this catches the typos that would
 * otherwise show up only as a connection that never happens. */
static int
s_endpoint(s_parser *p, char *dst, const char *v, size_t n, const char *what, bool ipc_only)
{
  if (n == 0)
    return s_fail(p, "%s is empty", what);
  for (size_t i = 0; i < n; i++)
    if (s_blank(v[i]))
      return s_fail(p, "%s must not contain blanks", what);
  if (ipc_only && !(n > 6 && memcmp(v, "ipc://", 6) == 0))
    return s_fail(p, "%s: only ipc://PATH is allowed (whoever can connect runs linli "
                  "commands as the node, so it must be a local file only its owner opens)",
                  what);
  if (n > 6 && memcmp(v, "tcp://", 6) == 0) {
    const char *colon = NULL;
    for (size_t i = 6; i < n; i++)
      if (v[i] == ':')
        colon = v + i;
    if (colon == NULL || colon == v + 6 || colon == v + n - 1)
      return s_fail(p, "%s: expected tcp://HOST:PORT", what);
    unsigned long port = 0;
    for (const char *q = colon + 1; q < v + n; q++) {
      if (*q < '0' || *q > '9')
        return s_fail(p, "%s: the port must be a number", what);
      port = port * 10 + (unsigned long)(*q - '0');
      if (port > 65535)
        break;
    }
    if (port == 0 || port > 65535)
      return s_fail(p, "%s: the port must be 1 to 65535", what);
  } else if (n > 6 && memcmp(v, "ipc://", 6) == 0) {
    /* The path must fit a Unix socket address (108 bytes with the NUL). */
    if (n - 6 > 107)
      return s_fail(p, "%s: an ipc path is at most 107 bytes", what);
  } else {
    return s_fail(p, "%s: expected tcp://HOST:PORT or ipc://PATH", what);
  }
  return s_copy(p, dst, LCONFIG_ENDPOINT_MAX, v, n, what);
}

/* Splits the first blank-separated word off *v (advancing it). */
static void
s_word(const char **v, size_t *n, const char **w, size_t *wn)
{
  size_t i = 0;
  while (i < *n && !s_blank((*v)[i]))
    i++;
  *w = *v;
  *wn = i;
  while (i < *n && s_blank((*v)[i]))
    i++;
  *v += i;
  *n -= i;
}

static int
s_pubkey(s_parser *p, uint8_t pk[LINLI_PK_BYTES], const char *w, size_t wn)
{
  char hex[2 * LINLI_PK_BYTES + 1];
  if (wn != 2 * LINLI_PK_BYTES)
    return s_fail(p, "expected a public key of 64 hex digits, found \"%.*s\"",
                  (int)(wn > 80 ? 80 : wn), w);
  memcpy(hex, w, wn);
  hex[wn] = '\0';
  if (hex_decode(pk, LINLI_PK_BYTES, hex) != 0)
    return s_fail(p, "the public key is not 64 hex digits");
  return 0;
}

static int
s_push(s_parser *p, lconfig_peer **v, uint32_t *n, lconfig_peer **out)
{
  if (*n >= 100000)
    return s_fail(p, "too many peers");
  lconfig_peer *nv = realloc(*v, (*n + 1) * sizeof **v);
  if (nv == NULL)
    return lerr_set(p->e, LINLI_ENOMEM, "out of memory");
  *v = nv;
  *out = &nv[(*n)++];
  memset(*out, 0, sizeof **out);
  (*out)->line = p->line;
  return 0;
}

/* The value of link, link_heartbeat, link_resync or link_data (key `k`,
 * `kn` bytes: a line's key or a word of a peer's line) into the fields
 * given. */
static int
s_link_value(s_parser *p, const char *k, size_t kn, const char *v, size_t vn, int *link,
             uint32_t *hb_ms, uint32_t *resync_ms, uint32_t *data)
{
  if (kn == 4 && memcmp(k, "link", 4) == 0) {
    for (int l = LLINK_LAN; l <= LLINK_GPRS; l++)
      if (strlen(config_link_name(l)) == vn && memcmp(v, config_link_name(l), vn) == 0) {
        *link = l;
        return 0;
      }
    return s_fail(p, "link must be lan, dsl or gprs");
  }
  uint64_t n = 0;
  for (size_t i = 0; i < vn && n <= UINT32_MAX; i++) {
    if (v[i] < '0' || v[i] > '9') {
      n = 0;
      break;
    }
    n = n * 10 + (uint64_t)(v[i] - '0');
  }
  if (kn == 9 && memcmp(k, "link_data", 9) == 0) {
    if (n < SYNC_MIN_MESSAGE || n > SYNC_MAX_MESSAGE)
      return s_fail(p, "link_data must be a number of bytes from %u to %u", SYNC_MIN_MESSAGE,
                    SYNC_MAX_MESSAGE);
    *data = (uint32_t)n;
    return 0;
  }
  bool hb = kn == 14 && memcmp(k, "link_heartbeat", 14) == 0;
  if (!hb && !(kn == 11 && memcmp(k, "link_resync", 11) == 0))
    return s_fail(p, "\"%.*s\" is not a link setting (link, link_heartbeat, link_resync, "
                  "link_data)", (int)(kn > 40 ? 40 : kn), k);
  if (n < 1 || n > 86400)
    return s_fail(p, "%.*s must be a number of seconds from 1 to 86400", (int)kn, k);
  *(hb ? hb_ms : resync_ms) = (uint32_t)n * 1000u;
  return 0;
}

/* A peer's own link settings: the words KEY=VALUE at the end of its line
 * whose KEY starts with "link" (link=gprs link_heartbeat=6 ...), taken
 * off the end of v, n. */
static int
s_peer_link(s_parser *p, lconfig_peer *peer, const char *v, size_t *n)
{
  peer->link = -1;
  for (;;) {
    size_t e = *n;
    while (e > 0 && s_blank(v[e - 1]))
      e--;
    size_t b = e;
    while (b > 0 && !s_blank(v[b - 1]))
      b--;
    const char *w = v + b, *eq = memchr(w, '=', e - b);
    if (b == 0 || eq == NULL || e - b < 5 || memcmp(w, "link", 4) != 0)
      return 0; /* (the first word is the key or the endpoint: never a setting) */
    bool seen = false;
    size_t kn = (size_t)(eq - w);
    uint32_t hb = peer->link_heartbeat_ms, rs = peer->link_resync_ms, da = peer->link_data;
    if (kn == 4)
      seen = peer->link >= 0;
    else if (kn == 14)
      seen = hb != 0;
    else if (kn == 11)
      seen = rs != 0;
    else if (kn == 9)
      seen = da != 0;
    if (seen)
      return s_fail(p, "%.*s is given twice on this line", (int)kn, w);
    int rc = s_link_value(p, w, kn, eq + 1, (size_t)(v + e - eq - 1), &peer->link,
                          &peer->link_heartbeat_ms, &peer->link_resync_ms, &peer->link_data);
    if (rc)
      return rc;
    *n = b;
    while (*n > 0 && s_blank(v[*n - 1]))
      (*n)--;
  }
}

static int
s_parent(s_parser *p, const char *v, size_t n)
{
  const char *w;
  size_t wn;
  lconfig_peer *peer;
  int rc = s_push(p, &p->c->parents, &p->c->nparents, &peer);
  if (rc || (rc = s_peer_link(p, peer, v, &n)) != 0)
    return rc;
  s_word(&v, &n, &w, &wn);
  if ((rc = s_endpoint(p, peer->endpoint, w, wn, "parent endpoint", false)) != 0)
    return rc;
  if (n == 0)
    return s_fail(p, "parent needs ENDPOINT PUBKEYHEX [NAME]");
  s_word(&v, &n, &w, &wn);
  if ((rc = s_pubkey(p, peer->pk, w, wn)) != 0)
    return rc;
  if (n == 0) {
    ident_short(peer->name, peer->pk);
    return 0;
  }
  return s_name(p, peer->name, v, n, "parent name");
}

static int
s_child(s_parser *p, const char *v, size_t n)
{
  const char *w;
  size_t wn;
  lconfig_peer *peer;
  int rc = s_push(p, &p->c->children, &p->c->nchildren, &peer);
  if (rc || (rc = s_peer_link(p, peer, v, &n)) != 0)
    return rc;
  s_word(&v, &n, &w, &wn);
  if ((rc = s_pubkey(p, peer->pk, w, wn)) != 0)
    return rc;
  if (n == 0)
    return s_fail(p, "child needs PUBKEYHEX NAME");
  return s_name(p, peer->name, v, n, "child name");
}

/* Resolves a relative data directory against the configuration file's
 * directory, so that a unit file and a shell in another directory agree. */
/* A file or directory path (data, http_root, http_tls_cert, http_tls_key):
 * relative to the configuration file's directory unless absolute. */
static int
s_path(s_parser *p, char *out, size_t cap, const char *v, size_t n, const char *key)
{
  char given[LCONFIG_PATH_MAX];
  int rc = s_copy(p, given, sizeof given, v, n, key);
  if (rc)
    return rc;
  if (n == 0)
    return s_fail(p, "%s is empty", key);
  const char *slash = strrchr(p->path, '/');
  if (given[0] == '/' || slash == NULL)
    return s_copy(p, out, cap, given, n, key);
  int w = snprintf(out, cap, "%.*s/%s", (int)(slash - p->path), p->path, given);
  if (w < 0 || (size_t)w >= cap)
    return s_fail(p, "%s: path too long", key);
  return 0;
}

static int
s_once(s_parser *p, int k, const char *key)
{
  if (p->seen_line[k])
    return s_fail(p, "%s is set twice (first on line %u)", key, p->seen_line[k]);
  p->seen_line[k] = p->line;
  return 0;
}

/* An IANA zone name ("Asia/Shanghai", "UTC") that the system's zone
 * database ($TZDIR, else /usr/share/zoneinfo) holds: glibc silently takes
 * an unknown name for UTC, which would show every time eight hours off. */
static int
s_timezone(s_parser *p, const char *v, size_t vn)
{
  lconfig *c = p->c;
  if (vn == 0 || vn >= sizeof c->timezone || v[0] == '/' || v[0] == '.')
    goto bad;
  for (size_t i = 0; i < vn; i++) {
    char ch = v[i];
    bool okc = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
               ch == '/' || ch == '_' || ch == '-' || ch == '+';
    if (!okc || (ch == '/' && v[i + 1] == '.'))
      goto bad;
  }
  memcpy(c->timezone, v, vn);
  c->timezone[vn] = '\0';
  const char *dir = getenv("TZDIR");
  char path[LCONFIG_PATH_MAX];
  struct stat st;
  int n = snprintf(path, sizeof path, "%s/%s", dir != NULL && dir[0] ? dir : "/usr/share/zoneinfo",
                   c->timezone);
  if (n < 0 || (size_t)n >= sizeof path || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
    return s_fail(p, "timezone %s is not in the zone database (%s); install tzdata or "
                  "use a name such as Asia/Shanghai", c->timezone, path);
  return 0;
bad:
  return s_fail(p, "timezone must be a zone name such as Asia/Shanghai");
}

static int
s_setting(s_parser *p, const char *k, size_t kn, const char *v, size_t vn)
{
  char key[32];
  if (kn == 0)
    return s_fail(p, "expected key = value");
  if (kn >= sizeof key)
    return s_fail(p, "unknown key \"%.*s...\"", (int)sizeof key, k);
  memcpy(key, k, kn);
  key[kn] = '\0';
  lconfig *c = p->c;
  int rc;
  if (strcmp(key, "name") == 0) {
    if ((rc = s_once(p, S_K_NAME, key)) != 0)
      return rc;
    return s_name(p, c->name, v, vn, "name");
  }
  if (strcmp(key, "role") == 0) {
    if ((rc = s_once(p, S_K_ROLE, key)) != 0)
      return rc;
    for (int r = LROLE_VILLAGE; r <= LROLE_DEVICE; r++)
      if (strlen(config_role_name(r)) == vn && memcmp(v, config_role_name(r), vn) == 0) {
        c->role = r;
        return 0;
      }
    return s_fail(p, "role must be village, street, district or device");
  }
  if (strcmp(key, "data") == 0) {
    if ((rc = s_once(p, S_K_DATA, key)) != 0)
      return rc;
    return s_path(p, c->data, sizeof c->data, v, vn, "data");
  }
  if (strcmp(key, "listen") == 0) {
    if ((rc = s_once(p, S_K_LISTEN, key)) != 0)
      return rc;
    return s_endpoint(p, c->listen, v, vn, "listen", false);
  }
  if (strcmp(key, "control") == 0) {
    if ((rc = s_once(p, S_K_CONTROL, key)) != 0)
      return rc;
    return s_endpoint(p, c->control, v, vn, "control", true);
  }
  if (strcmp(key, "log_level") == 0) {
    char lv[8];
    if ((rc = s_once(p, S_K_LOG, key)) != 0)
      return rc;
    if (vn >= sizeof lv || (memcpy(lv, v, vn), lv[vn] = '\0', log_level_parse(lv) < 0))
      return s_fail(p, "log_level must be error, warn, info or debug");
    c->log_level = log_level_parse(lv);
    return 0;
  }
  if (strcmp(key, "profile") == 0) {
    if ((rc = s_once(p, S_K_PROFILE, key)) != 0)
      return rc;
    if (vn == 7 && memcmp(v, "village", 7) == 0)
      c->profile = LSTORE_VILLAGE;
    else if (vn == 8 && memcmp(v, "district", 8) == 0)
      c->profile = LSTORE_DISTRICT;
    else
      return s_fail(p, "profile must be village or district");
    return 0;
  }
  if (strcmp(key, "link") == 0 || strcmp(key, "link_heartbeat") == 0 ||
      strcmp(key, "link_resync") == 0 || strcmp(key, "link_data") == 0) {
    int kk = key[4] == '\0'  ? S_K_LINK
             : key[5] == 'h' ? S_K_LINK_HB
             : key[5] == 'r' ? S_K_LINK_RESYNC
                             : S_K_LINK_DATA;
    if ((rc = s_once(p, kk, key)) != 0)
      return rc;
    return s_link_value(p, key, strlen(key), v, vn, &c->link, &c->link_heartbeat_ms,
                        &c->link_resync_ms, &c->link_data);
  }
  if (strcmp(key, "compress") == 0) {
    if ((rc = s_once(p, S_K_COMPRESS, key)) != 0)
      return rc;
    if (vn == 3 && memcmp(v, "off", 3) == 0) {
      c->compress = LSESSION_COMPRESS_OFF;
      return 0;
    }
    int level = 0;
    for (size_t i = 0; i < vn && level <= LSESSION_COMPRESS_MAX; i++) {
      if (v[i] < '0' || v[i] > '9') {
        level = 0;
        break;
      }
      level = level * 10 + (v[i] - '0');
    }
    if (level < 1 || level > LSESSION_COMPRESS_MAX)
      return s_fail(p, "compress must be off or a zstd level from 1 to %d",
                    LSESSION_COMPRESS_MAX);
    c->compress = level;
    return 0;
  }
  if (strcmp(key, "timezone") == 0) {
    if ((rc = s_once(p, S_K_TIMEZONE, key)) != 0)
      return rc;
    return s_timezone(p, v, vn);
  }
  if (strcmp(key, "max_ahead") == 0) {
    if ((rc = s_once(p, S_K_AHEAD, key)) != 0)
      return rc;
    uint64_t sec = 0;
    for (size_t i = 0; i < vn && sec <= 10ull * 365 * 86400; i++) {
      if (v[i] < '0' || v[i] > '9') {
        sec = 0;
        break;
      }
      sec = sec * 10 + (uint64_t)(v[i] - '0');
    }
    if (sec < 60 || sec > 10ull * 365 * 86400)
      return s_fail(p, "max_ahead must be a number of seconds from 60 to 315360000");
    c->ahead_ms = sec * 1000;
    return 0;
  }
  if (strcmp(key, "control_group") == 0) {
    if ((rc = s_once(p, S_K_CONTROL_GROUP, key)) != 0)
      return rc;
    /* A Debian group name: letters, digits, '_', '-', '.', at most 32. */
    bool good = vn > 0 && vn <= 32;
    for (size_t i = 0; i < vn && good; i++)
      good = (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
             (v[i] >= '0' && v[i] <= '9') || v[i] == '_' || v[i] == '-' || v[i] == '.';
    if (!good)
      return s_fail(p, "control_group must be a group name or none");
    memcpy(c->control_group, v, vn);
    c->control_group[vn] = '\0';
    return 0;
  }
  if (strcmp(key, "metrics_listen") == 0) {
    if ((rc = s_once(p, S_K_METRICS, key)) != 0)
      return rc;
    return s_hostport(p, key, false, &c->metrics_addr, &c->metrics_port, v, vn);
  }
  if (strcmp(key, "http_listen") == 0) {
    if ((rc = s_once(p, S_K_HTTP, key)) != 0)
      return rc;
    return s_hostport(p, key, true, &c->http_addr, &c->http_port, v, vn);
  }
  if (strcmp(key, "http_tls_cert") == 0) {
    if ((rc = s_once(p, S_K_HTTP_CERT, key)) != 0)
      return rc;
    return s_path(p, c->http_tls_cert, sizeof c->http_tls_cert, v, vn, key);
  }
  if (strcmp(key, "http_tls_key") == 0) {
    if ((rc = s_once(p, S_K_HTTP_KEY, key)) != 0)
      return rc;
    return s_path(p, c->http_tls_key, sizeof c->http_tls_key, v, vn, key);
  }
  if (strcmp(key, "http_root") == 0) {
    if ((rc = s_once(p, S_K_HTTP_ROOT, key)) != 0)
      return rc;
    return s_path(p, c->http_root, sizeof c->http_root, v, vn, key);
  }
  if (strcmp(key, "session_idle") == 0) {
    if ((rc = s_once(p, S_K_SESSION_IDLE, key)) != 0)
      return rc;
    uint32_t m = 0;
    for (size_t i = 0; i < vn && m <= 1440; i++) {
      if (v[i] < '0' || v[i] > '9') {
        m = 0;
        break;
      }
      m = m * 10 + (uint32_t)(v[i] - '0');
    }
    if (m < 1 || m > 1440)
      return s_fail(p, "session_idle must be a number of minutes from 1 to 1440");
    c->session_idle_min = m;
    return 0;
  }
  if (strcmp(key, "parent") == 0)
    return s_parent(p, v, vn);
  if (strcmp(key, "child") == 0)
    return s_child(p, v, vn);
  return s_fail(p, "unknown key \"%s\"", key);
}

/* metrics_listen = ADDRESS:PORT, http_listen = ADDRESS:PORT or PORT
 * (127.0.0.1): an IPv4 address (127.0.0.1 in the examples: nothing on
 * the LAN unless the operator says so). */
static int
s_hostport(s_parser *p, const char *key, bool port_alone, uint32_t *addr, uint16_t *portp,
           const char *v, size_t vn)
{
  const char *eg = port_alone ? "127.0.0.1:8470 or 8470" : "127.0.0.1:9464";
  char buf[32];
  if (vn >= sizeof buf)
    return s_fail(p, "%s must be ADDRESS:PORT, e.g. %s", key, eg);
  memcpy(buf, v, vn);
  buf[vn] = '\0';
  char *colon = strrchr(buf, ':');
  if (colon == NULL && !port_alone)
    return s_fail(p, "%s must be ADDRESS:PORT, e.g. %s", key, eg);
  const char *host = "127.0.0.1";
  const char *q = buf;
  if (colon != NULL) {
    *colon = '\0';
    host = buf;
    q = colon + 1;
  }
  unsigned port = 0;
  if (*q == '\0')
    return s_fail(p, "%s must be ADDRESS:PORT, e.g. %s", key, eg);
  for (; *q; q++) {
    if (*q < '0' || *q > '9' || port > 65535)
      return s_fail(p, "%s must be ADDRESS:PORT, e.g. %s", key, eg);
    port = port * 10 + (unsigned)(*q - '0');
  }
  struct in_addr a;
  if (port == 0 || port > 65535 || inet_pton(AF_INET, host, &a) != 1)
    return s_fail(p, "%s must be an IPv4 ADDRESS:PORT, e.g. %s", key, eg);
  *addr = a.s_addr;
  *portp = (uint16_t)port;
  return 0;
}

static int
s_line(s_parser *p, const char *s, size_t n)
{
  if (n > 0 && s[n - 1] == '\r')
    n--;
  if (!utf8_valid(s, n))
    return s_fail(p, "not valid UTF-8");
  size_t i = 0;
  while (i < n && s_blank(s[i]))
    i++;
  if (i == n || s[i] == '#')
    return 0;
  for (size_t j = 0; j < n; j++)
    if (s[j] != '\t' && ((unsigned char)s[j] < 0x20 || s[j] == 0x7f))
      return s_fail(p, "a control character in the line");
  const char *eq = memchr(s + i, '=', n - i);
  if (eq == NULL)
    return s_fail(p, "expected key = value");
  size_t ke = (size_t)(eq - s);
  while (ke > i && s_blank(s[ke - 1]))
    ke--;
  size_t vb = (size_t)(eq - s) + 1, ve = n;
  while (vb < ve && s_blank(s[vb]))
    vb++;
  while (ve > vb && s_blank(s[ve - 1]))
    ve--;
  for (size_t j = i; j < ke; j++)
    if (s_blank(s[j]))
      return s_fail(p, "expected key = value");
  return s_setting(p, s + i, ke - i, s + vb, ve - vb);
}

/* The checks that need the whole file. */
static int
s_finish(s_parser *p)
{
  lconfig *c = p->c;
  static const char *const required[] = {"name", "role", "data"};
  for (int k = 0; k < 3; k++)
    if (p->seen_line[k] == 0)
      return lerr_set(p->e, LINLI_EINVAL, "%s: %s is not set", p->path, required[k]);
  for (uint32_t i = 0; i < c->nchildren; i++) {
    p->line = c->children[i].line;
    if (c->role == LROLE_DEVICE)
      return s_fail(p, "a device has no children");
    if (c->listen[0] == '\0')
      return s_fail(p, "children are configured but `listen` is not set");
    for (uint32_t j = 0; j < i; j++)
      if (memcmp(c->children[j].pk, c->children[i].pk, LINLI_PK_BYTES) == 0)
        return s_fail(p, "this key is already a child on line %u", c->children[j].line);
  }
  for (uint32_t i = 0; i < c->nparents; i++) {
    p->line = c->parents[i].line;
    if (c->role == LROLE_DISTRICT)
      return s_fail(p, "a district has no parent");
    for (uint32_t j = 0; j < i; j++)
      if (memcmp(c->parents[j].pk, c->parents[i].pk, LINLI_PK_BYTES) == 0)
        return s_fail(p, "this key is already a parent on line %u", c->parents[j].line);
    for (uint32_t j = 0; j < c->nchildren; j++)
      if (memcmp(c->children[j].pk, c->parents[i].pk, LINLI_PK_BYTES) == 0)
        return s_fail(p, "this key is also a child on line %u", c->children[j].line);
  }
  if ((c->http_tls_cert[0] != '\0') != (c->http_tls_key[0] != '\0')) {
    p->line = p->seen_line[c->http_tls_cert[0] ? S_K_HTTP_CERT : S_K_HTTP_KEY];
    return s_fail(p, "http_tls_cert and http_tls_key go together: set both or neither");
  }
  if (c->role == LROLE_DEVICE && c->listen[0]) {
    p->line = p->seen_line[S_K_LISTEN];
    return s_fail(p, "a device does not listen");
  }
  if (c->control[0] == '\0') {
    int w = snprintf(c->control, sizeof c->control, "ipc://%s/control.sock", c->data);
    if (w < 0 || (size_t)w >= sizeof c->control || (size_t)w - 6 > 107) {
      p->line = p->seen_line[S_K_DATA];
      return s_fail(p, "the data path is too long for ipc://DATA/control.sock; set `control`");
    }
  }
  /* A street relays many villages: it syncs like a district. */
  if (p->seen_line[S_K_PROFILE] == 0)
    c->profile = c->role == LROLE_DISTRICT || c->role == LROLE_STREET ? LSTORE_DISTRICT
                                                                      : LSTORE_VILLAGE;
  return 0;
}

int
config_parse(lconfig **out, const char *path, const char *text, size_t n, lerr *e)
{
  *out = NULL;
  lconfig *c = calloc(1, sizeof *c);
  if (c == NULL)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  s_parser p = {.c = c, .path = path, .line = 0, .e = e};
  c->log_level = LLOG_INFO;
  c->ahead_ms = LSTORE_AHEAD_MS;
  c->session_idle_min = 30;
  int rc = 0;
  size_t plen = strlen(path);
  if (plen >= sizeof c->path) {
    rc = lerr_set(e, LINLI_EINVAL, "configuration path too long");
    goto done;
  }
  memcpy(c->path, path, plen + 1);
  if (n >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
    text += 3;
    n -= 3;
  }
  while (n > 0) {
    p.line++;
    const char *nl = memchr(text, '\n', n);
    size_t len = nl ? (size_t)(nl - text) : n;
    if (memchr(text, '\0', len)) {
      rc = s_fail(&p, "a NUL byte in the line");
      goto done;
    }
    if ((rc = s_line(&p, text, len)) != 0)
      goto done;
    text += nl ? len + 1 : len;
    n -= nl ? len + 1 : len;
  }
  rc = s_finish(&p);
done:
  if (rc)
    config_destroy(&c);
  *out = c;
  return rc;
}

int
config_load(lconfig **out, const char *path, lerr *e)
{
  uint8_t *text = NULL;
  size_t n = 0;
  *out = NULL;
  int rc = fs_read_all(path, S_FILE_MAX, &text, &n, e);
  if (rc)
    return rc;
  rc = config_parse(out, path, (const char *)text, n, e);
  free(text);
  return rc;
}

void
config_destroy(lconfig **cp)
{
  lconfig *c = *cp;
  if (c == NULL)
    return;
  free(c->parents);
  free(c->children);
  free(c);
  *cp = NULL;
}

void
config_sync_limits(const lconfig *c, uint32_t *window, uint32_t *max_message)
{
  if (c->profile == LSTORE_VILLAGE) {
    *window = 1u << 20;
    *max_message = 256u << 10;
  } else {
    *window = 8u << 20;
    *max_message = SYNC_MAX_MESSAGE;
  }
  if (c->link_data)
    *max_message = c->link_data;
}

/* What each kind of link gets unless the file says otherwise.  gprs: a
 * village SIM plan is tens of MB a month and the radio should sleep, so an
 * idle connection sends a heartbeat a minute each way (about 100 bytes
 * with its answer) and no anti-entropy HELLO for 30 min; writes are still
 * pushed the moment they happen. */
static void
s_link(int link, uint32_t hb_ms, uint32_t resync_ms, uint32_t data, lconfig_link *out)
{
  static const lconfig_link presets[] = {
      [LLINK_LAN] = {2000, 300000, 5000, 0},
      [LLINK_DSL] = {10000, 600000, 60000, 0},
      [LLINK_GPRS] = {60000, 1800000, 300000, 0},
  };
  *out = presets[link];
  /* A PING keeps its ratio to the heartbeat (gprs: one in five). */
  if (hb_ms) {
    out->ping_ms = (uint32_t)((uint64_t)out->ping_ms * hb_ms / out->heartbeat_ms);
    out->heartbeat_ms = hb_ms;
  }
  if (resync_ms)
    out->resync_ms = resync_ms;
  out->data = data;
}

void
config_link(const lconfig *c, lconfig_link *out)
{
  s_link(c->link, c->link_heartbeat_ms, c->link_resync_ms, c->link_data, out);
}

void
config_peer_link(const lconfig *c, const lconfig_peer *peer, lconfig_link *out)
{
  if (peer->link < 0) /* the node's link, the peer's own overrides on top */
    s_link(c->link, peer->link_heartbeat_ms ? peer->link_heartbeat_ms : c->link_heartbeat_ms,
           peer->link_resync_ms ? peer->link_resync_ms : c->link_resync_ms,
           peer->link_data ? peer->link_data : c->link_data, out);
  else
    s_link(peer->link, peer->link_heartbeat_ms, peer->link_resync_ms, peer->link_data, out);
}

const char *
config_link_name(int link)
{
  switch (link) {
  case LLINK_LAN: return "lan";
  case LLINK_DSL: return "dsl";
  case LLINK_GPRS: return "gprs";
  default: return "?";
  }
}

const char *
config_role_name(int role)
{
  switch (role) {
  case LROLE_VILLAGE: return "village";
  case LROLE_STREET: return "street";
  case LROLE_DISTRICT: return "district";
  case LROLE_DEVICE: return "device";
  default: return "?";
  }
}
