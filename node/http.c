/*
 * http.c - the node's HTTP server; see http.h.
 */
#include "node/http.h"

#include "node/fsutil.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <sodium.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S_CONN_LIMIT 16u   /* a scraper or two, or the PCs of one committee */
#define S_CONN_TIMEOUT 30u /* seconds */
#define S_PEM_MAX (1u << 20)
#define S_DRAIN_FACTOR 4u  /* a body up to 4 times the limit is read (and dropped) */

struct lhttp {
  struct MHD_Daemon *mhd;
  lhttp_handler h;
  bool tls;
  uint8_t *cert, *key; /* PEM text, NUL-terminated: MHD keeps pointers to them */
};

/* What one request gathers between the calls of s_answer. */
typedef struct s_conn {
  size_t limit;  /* largest body taken */
  bool over;     /* the body is over the limit: what arrives is dropped */
  bool answered; /* the response is queued (a refusal before the body) */
  lbuf body;
} s_conn;

void
http_resp_header(lhttp_resp *r, const char *name, const char *fmt, ...)
{
  if (r->nhdr >= LHTTP_HEADERS_MAX)
    return;
  va_list ap;
  va_start(ap, fmt);
  r->hdr[r->nhdr].name = name;
  vsnprintf(r->hdr[r->nhdr].value, sizeof r->hdr[r->nhdr].value, fmt, ap);
  va_end(ap);
  r->nhdr++;
}

const char *
http_header(const lhttp_req *r, const char *name)
{
  return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *
http_arg(const lhttp_req *r, const char *name)
{
  return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

typedef struct s_args {
  const char *name;
  const char **out;
  unsigned max, n;
} s_args;

static enum MHD_Result
s_arg_cb(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
  (void)kind;
  s_args *a = cls;
  if (key != NULL && strcmp(key, a->name) == 0) {
    if (a->n < a->max)
      a->out[a->n] = value != NULL ? value : "";
    a->n++;
  }
  return MHD_YES;
}

unsigned
http_args(const lhttp_req *r, const char *name, const char **out, unsigned max)
{
  s_args a = {.name = name, .out = out, .max = max};
  MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, s_arg_cb, &a);
  return a.n;
}

static void
s_client(struct MHD_Connection *conn, char *out, size_t cap)
{
  snprintf(out, cap, "?");
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (ci == NULL || ci->client_addr == NULL)
    return;
  const struct sockaddr *sa = ci->client_addr;
  if (sa->sa_family == AF_INET)
    inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
              (socklen_t)cap);
  else if (sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
              (socklen_t)cap);
}

static enum MHD_Result
s_respond(lhttp *h, struct MHD_Connection *conn, const char *url, const char *method, s_conn *c)
{
  if (c->answered)
    return MHD_YES;
  c->answered = true;
  lhttp_req req = {.method = method, .path = url, .tls = h->tls, .conn = conn,
                   .too_large = c->over};
  if (!c->over && lbuf_put(&c->body, "", 1) == 0) { /* a NUL after the body */
    req.body = c->body.p;
    req.body_len = c->body.len - 1;
  } else {
    req.body = (const uint8_t *)"";
  }
  s_client(conn, req.client, sizeof req.client);
  lhttp_resp r;
  memset(&r, 0, sizeof r);
  r.status = 200;
  r.ctype = "text/plain; charset=utf-8";
  lbuf_init(&r.body);
  h->h.serve(h->h.ctx, &req, &r);
  if (r.body.oom) {
    lbuf_free(&r.body);
    return MHD_NO;
  }
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(r.body.len, r.body.p, MHD_RESPMEM_MUST_COPY);
  lbuf_free(&r.body);
  if (resp == NULL)
    return MHD_NO;
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r.ctype);
  MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(resp, "X-Frame-Options", "DENY");
  MHD_add_response_header(resp, "Content-Security-Policy",
                          "default-src 'self'; frame-ancestors 'none'");
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
  MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
  for (unsigned i = 0; i < r.nhdr; i++)
    MHD_add_response_header(resp, r.hdr[i].name, r.hdr[i].value);
  if (c->over) /* the rest of the body is not read: the connection ends */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
  enum MHD_Result rc = MHD_queue_response(conn, (unsigned)r.status, resp);
  MHD_destroy_response(resp);
  return rc;
}

static enum MHD_Result
s_answer(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
         const char *version, const char *upload_data, size_t *upload_size, void **state)
{
  (void)version;
  lhttp *h = cls;
  s_conn *c = *state;
  if (c == NULL) { /* the headers have arrived: decide about the body */
    c = calloc(1, sizeof *c);
    if (c == NULL)
      return MHD_NO;
    lbuf_init(&c->body);
    c->limit = h->h.limit(h->h.ctx, method, url);
    *state = c;
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl != NULL) {
      char *end;
      unsigned long long n = strtoull(cl, &end, 10);
      if (end == cl || *end != '\0' || n > c->limit)
        c->over = true; /* none of it is kept */
      /* Far over the limit, it is refused before a byte of it is read and
       * the connection closed.  A little over (a file picked by mistake)
       * it is read and dropped first: closing a connection with unread
       * data resets it, and the client could lose the answer. */
      if (c->over && (end == cl || *end != '\0' || n / S_DRAIN_FACTOR > c->limit))
        return s_respond(h, conn, url, method, c);
    }
    return MHD_YES;
  }
  if (*upload_size != 0) {
    if (!c->over && c->body.len + *upload_size > c->limit) {
      c->over = true;
      lbuf_free(&c->body);
      lbuf_init(&c->body);
    }
    if (!c->over && lbuf_put(&c->body, upload_data, *upload_size) != 0)
      return MHD_NO;
    *upload_size = 0;
    return MHD_YES;
  }
  return s_respond(h, conn, url, method, c);
}

static void
s_completed(void *cls, struct MHD_Connection *conn, void **state,
            enum MHD_RequestTerminationCode toe)
{
  (void)cls;
  (void)conn;
  (void)toe;
  s_conn *c = *state;
  if (c == NULL)
    return;
  lbuf_free(&c->body);
  free(c);
  *state = NULL;
}

static void
s_free(lhttp *h)
{
  if (h->key != NULL)
    sodium_memzero(h->key, strlen((char *)h->key));
  free(h->key);
  free(h->cert);
  free(h);
}

static int
s_pem(const char *path, uint8_t **out, const char *what, lerr *e)
{
  size_t n = 0;
  if (fs_read_all(path, S_PEM_MAX, out, &n, e) != 0)
    return lerr_wrap(e, LINLI_EIO, "%s: ", what), LINLI_EIO;
  uint8_t *p = realloc(*out, n + 1);
  if (p == NULL)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  p[n] = '\0';
  *out = p;
  if (strstr((char *)p, "-----BEGIN") == NULL)
    return lerr_set(e, LINLI_EIO, "%s %s is not a PEM file", what, path);
  return 0;
}

int
http_start(lhttp **out, const lhttp_opts *o, const lhttp_handler *hd, lerr *e)
{
  *out = NULL;
  lhttp *h = calloc(1, sizeof *h);
  if (h == NULL)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  h->h = *hd;
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons(o->port);
  sa.sin_addr.s_addr = o->addr;
  char a[INET_ADDRSTRLEN] = "?";
  inet_ntop(AF_INET, &sa.sin_addr, a, sizeof a);
  unsigned flags = MHD_USE_EPOLL;
  if (o->tls_cert != NULL && o->tls_cert[0] != '\0') {
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
      s_free(h);
      return lerr_set(e, LINLI_EIO, "this libmicrohttpd has no TLS support: install one built "
                                    "with GnuTLS, or remove http_tls_cert");
    }
    if (s_pem(o->tls_cert, &h->cert, "http_tls_cert", e) != 0 ||
        s_pem(o->tls_key, &h->key, "http_tls_key", e) != 0) {
      s_free(h);
      return e->code;
    }
    h->tls = true;
    flags |= MHD_USE_TLS;
  }
  /* No thread of its own: the daemon's loop polls MHD's epoll descriptor
   * and runs it, so the handler sees the daemon's state unshared. */
  if (h->tls)
    h->mhd = MHD_start_daemon(flags, o->port, NULL, NULL, s_answer, h,
                              MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                              MHD_OPTION_CONNECTION_LIMIT, o->conn_limit ? o->conn_limit : S_CONN_LIMIT,
                              MHD_OPTION_CONNECTION_TIMEOUT, S_CONN_TIMEOUT,
                              MHD_OPTION_NOTIFY_COMPLETED, s_completed, h,
                              MHD_OPTION_HTTPS_MEM_CERT, (const char *)h->cert,
                              MHD_OPTION_HTTPS_MEM_KEY, (const char *)h->key, MHD_OPTION_END);
  else
    h->mhd = MHD_start_daemon(flags, o->port, NULL, NULL, s_answer, h,
                              MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                              MHD_OPTION_CONNECTION_LIMIT, o->conn_limit ? o->conn_limit : S_CONN_LIMIT,
                              MHD_OPTION_CONNECTION_TIMEOUT, S_CONN_TIMEOUT,
                              MHD_OPTION_NOTIFY_COMPLETED, s_completed, h, MHD_OPTION_END);
  if (h->mhd == NULL) {
    bool tls = h->tls;
    s_free(h);
    return lerr_set(e, LINLI_EIO,
                    "cannot serve %s on %s:%u (is the port taken, the address not this "
                    "machine's%s?)",
                    o->what ? o->what : "HTTP", a, (unsigned)o->port,
                    tls ? ", the certificate and key not a matching PEM pair" : "");
  }
  *out = h;
  return 0;
}

int
http_fd(const lhttp *h)
{
  const union MHD_DaemonInfo *i = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
  return i ? i->epoll_fd : -1;
}

uint64_t
http_timeout_ms(lhttp *h)
{
  MHD_UNSIGNED_LONG_LONG t;
  if (MHD_get_timeout(h->mhd, &t) != MHD_YES)
    return UINT64_MAX;
  return (uint64_t)t;
}

void
http_run(lhttp *h)
{
  MHD_run(h->mhd);
}

void
http_stop(lhttp **hp)
{
  lhttp *h = *hp;
  if (h == NULL)
    return;
  MHD_stop_daemon(h->mhd);
  s_free(h);
  *hp = NULL;
}
