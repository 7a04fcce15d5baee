/*
 * http.c - the node's HTTP server; see http.h.
 */
#include "node/http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define S_CONN_LIMIT 16u   /* a scraper or two, not a public site */
#define S_CONN_TIMEOUT 10u /* seconds */

struct lhttp {
  struct MHD_Daemon *mhd;
  lhttp_handler fn;
  void *ctx;
};

static enum MHD_Result
s_answer(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
         const char *version, const char *upload_data, size_t *upload_size, void **state)
{
  (void)version;
  (void)upload_data;
  lhttp *h = cls;
  if (*state == NULL) { /* the headers: answer once the request is whole */
    *state = h;
    return MHD_YES;
  }
  if (*upload_size != 0)
    return MHD_NO; /* a request body: not ours to take */
  int status;
  lbuf body;
  lbuf_init(&body);
  const char *ctype = "text/plain; charset=utf-8";
  if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
    status = MHD_HTTP_METHOD_NOT_ALLOWED;
    lbuf_put(&body, "only GET\n", 9);
  } else {
    status = h->fn(h->ctx, url, &body, &ctype);
  }
  if (body.oom) {
    lbuf_free(&body);
    return MHD_NO;
  }
  struct MHD_Response *r =
      MHD_create_response_from_buffer(body.len, body.p, MHD_RESPMEM_MUST_COPY);
  lbuf_free(&body);
  if (r == NULL)
    return MHD_NO;
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
  enum MHD_Result rc = MHD_queue_response(conn, (unsigned)status, r);
  MHD_destroy_response(r);
  return rc;
}

int
http_start(lhttp **out, uint32_t addr, uint16_t port, lhttp_handler fn, void *ctx, lerr *e)
{
  *out = NULL;
  lhttp *h = calloc(1, sizeof *h);
  if (h == NULL)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  h->fn = fn;
  h->ctx = ctx;
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = addr;
  /* No thread of its own: the daemon's loop polls MHD's epoll descriptor
   * and runs it, so the handler sees the daemon's state unshared. */
  h->mhd = MHD_start_daemon(MHD_USE_EPOLL, port, NULL, NULL, s_answer, h,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                            MHD_OPTION_CONNECTION_LIMIT, S_CONN_LIMIT,
                            MHD_OPTION_CONNECTION_TIMEOUT, S_CONN_TIMEOUT, MHD_OPTION_END);
  if (h->mhd == NULL) {
    char a[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &sa.sin_addr, a, sizeof a);
    free(h);
    return lerr_set(e, LINLI_EIO,
                    "cannot serve metrics on %s:%u (is the port taken, the address not "
                    "this machine's?)",
                    a, (unsigned)port);
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
  free(h);
  *hp = NULL;
}
