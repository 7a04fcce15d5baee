/*
 * http.h - the node's HTTP server (libmicrohttpd), run from the daemon's
 * own poll loop.
 *
 * It serves GET, HEAD, POST and DELETE through one handler: /metrics
 * (Prometheus text, node/daemon.c) on metrics_listen, and the HTTP API
 * and the web interface's files (node/api.c) on http_listen.  The server
 * runs in libmicrohttpd's "external" mode with epoll: http_fd() is one
 * descriptor the loop adds to its poll set, and http_run() does whatever
 * is ready, never waiting.  So the handler runs in the loop's thread and
 * reads the daemon's state without locks.
 *
 * A request body is read as it arrives, up to the limit the handler's
 * `limit` callback gives for the method and path (0: no body taken).  A
 * larger one is never kept: one announced (Content-Length) more than four
 * times the limit is refused before any of it is read and the connection
 * closed; a smaller excess, or a chunked body that grows past the limit,
 * is read and dropped as it comes, so that the client reads the refusal
 * before the connection ends.  The handler is then called with
 * `too_large` set to write its refusal (413).  Every response carries the security headers
 * (nosniff, no framing, a same-origin Content-Security-Policy) and
 * Cache-Control: no-cache.  With a certificate and key (PEM files) the
 * server speaks HTTPS only (libmicrohttpd's TLS, GnuTLS).
 */
#ifndef LINLI_HTTP_H
#define LINLI_HTTP_H

#include "crdt/err.h"
#include "crdt/mp.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct lhttp lhttp;

/* One request, valid during the handler's call. */
typedef struct lhttp_req {
  const char *method; /* "GET", "HEAD", "POST", "DELETE", ... */
  const char *path;   /* without the query, %-decoded by libmicrohttpd */
  const uint8_t *body; /* the request body (NUL-terminated), body_len bytes */
  size_t body_len;
  bool too_large;     /* the body was over the limit: nothing of it kept */
  bool tls;           /* served over HTTPS */
  char client[64];    /* the client's address ("127.0.0.1") */
  void *conn;         /* libmicrohttpd's connection (for http_header/http_arg) */
} lhttp_req;

/* A request header by name (case-insensitive), or NULL. */
const char *http_header(const lhttp_req *r, const char *name);
/* The query argument `name` (%-decoded; "" for "?name"), or NULL; with
 * several of that name, the first. */
const char *http_arg(const lhttp_req *r, const char *name);
/* Every value of query argument `name`, at most `max` into out; returns
 * how many there are (may exceed max). */
unsigned http_args(const lhttp_req *r, const char *name, const char **out, unsigned max);

#define LHTTP_HEADERS_MAX 6

/* What the handler answers: status, content type, body, extra headers. */
typedef struct lhttp_resp {
  int status;
  const char *ctype; /* static string */
  lbuf body;
  unsigned nhdr;
  struct {
    const char *name; /* static string */
    char value[256];
  } hdr[LHTTP_HEADERS_MAX];
} lhttp_resp;

/* Adds a response header (dropped past LHTTP_HEADERS_MAX: a caller's bug). */
void http_resp_header(lhttp_resp *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

typedef struct lhttp_handler {
  /* The largest body accepted for this method and path (0: none). */
  size_t (*limit)(void *ctx, const char *method, const char *path);
  /* Fills resp (status 200 and an empty text/plain body on entry). */
  void (*serve)(void *ctx, const lhttp_req *req, lhttp_resp *resp);
  void *ctx;
} lhttp_handler;

typedef struct lhttp_opts {
  uint32_t addr;         /* IPv4 address, network order */
  uint16_t port;
  const char *tls_cert;  /* PEM file, or NULL: plain HTTP */
  const char *tls_key;   /* PEM file, with tls_cert */
  const char *what;      /* for messages: "metrics", "the web interface" */
  unsigned conn_limit;   /* 0: 16 */
} lhttp_opts;

/* Listens as `o` says.  Errors: LINLI_EIO with the reason (the port is
 * taken, a certificate that does not load, ...). */
int http_start(lhttp **out, const lhttp_opts *o, const lhttp_handler *h, lerr *e);

/* The descriptor to poll for reading; -1 when there is none. */
int http_fd(const lhttp *h);

/* Longest wait, in ms, before http_run is due again even without
 * activity on http_fd (connection timeouts); UINT64_MAX: none. */
uint64_t http_timeout_ms(lhttp *h);

/* Handles what is ready; never blocks. */
void http_run(lhttp *h);

/* Closes every connection and the listening socket; *h becomes NULL. */
void http_stop(lhttp **h);

#endif
