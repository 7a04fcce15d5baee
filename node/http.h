/*
 * http.h - the node's small HTTP server (libmicrohttpd), run from the
 * daemon's own poll loop.
 *
 * It serves GET requests through one handler that fills a body; today
 * that is /metrics (Prometheus text, node/daemon.c), and an HTTP API can
 * add its paths to the same handler.  The server runs in libmicrohttpd's
 * "external" mode with epoll: http_fd() is one descriptor the loop adds
 * to its poll set, and http_run() does whatever is ready, never waiting.
 * So the handler runs in the loop's thread and reads the daemon's state
 * without locks.  Bodies are built in memory; request bodies are not
 * accepted (anything but GET and HEAD gets 405).
 */
#ifndef LINLI_HTTP_H
#define LINLI_HTTP_H

#include "crdt/err.h"
#include "crdt/mp.h"

#include <stdint.h>

typedef struct lhttp lhttp;

/* Fills `body` for a GET of `path` (without the query) and returns the
 * status code (200, 404, ...); *ctype is the body's Content-Type. */
typedef int (*lhttp_handler)(void *ctx, const char *path, lbuf *body, const char **ctype);

/* Listens on the IPv4 address `addr` (network order) and `port`.  Errors:
 * LINLI_EIO with the reason (the port is taken, ...). */
int http_start(lhttp **out, uint32_t addr, uint16_t port, lhttp_handler fn, void *ctx, lerr *e);

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
