/*
 * daemon.c - linli-node's event loop; the design is in daemon.h.
 *
 * One `s_peer` per configured parent or child holds the peer's session,
 * its transport state and what has been logged about it.  Parents own a
 * DEALER socket and a monitor; children share the ROUTER and are found by
 * the User-Id of each message (their ed25519 key in hex, set by the ZAP
 * handler in this file) and answered through the routing id of the last
 * connection they used.
 *
 * Each turn of the loop: compute the poll timeout from the sessions'
 * timers, poll, handle monitor events first (so that a disconnection is
 * known before a reconnection's first message), then ZAP requests, then
 * messages, then control requests.  Deltas applied from one peer mark
 * every other peer as having news; at the end of the turn those sessions
 * are told (session_local_change) and drained, once per turn rather than
 * once per message, because telling a session costs it a read of the
 * heads.
 *
 * The clock is the wall clock in milliseconds: sessions compare it with
 * the peer's to estimate the offset, and the store stamps received data
 * with it.  A jump of the clock only makes a timer fire early or late.
 */
#include "node/daemon.h"

#include "crdt/hmap.h"
#include "node/api.h"
#include "node/http.h"
#include "node/log.h"
#include "node/replica.h"
#include "node/sdnotify.h"
#include "node/users.h"
#include "sync/session.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define S_BAN_MS 60000u
/* How often held-back deltas are tried again, and the parent's clock
 * offset recorded for local writes (lstore_set_parent_clock). */
#define S_HELD_MS 60000u
#define S_PCLOCK_MS 600000u
#define S_KICK_DELAY_MS 200u     /* time for an ERROR to leave before disconnecting */
#define S_RETRY_MS 20u           /* a full send queue is retried this often */
#define S_POLL_MAX_MS 1000u
#define S_PROGRESS_MS 10000u     /* a long transfer is reported this often */
#define S_SYNCED_MS 60000u       /* "synced with" at most once a minute per peer */
#define S_BATCH 256              /* messages read from one socket per turn */
#define S_MAXMSG ((int64_t)SYNC_MAX_MESSAGE + 4096)
#define S_REFUSED_SLOTS 16
#define S_REFUSED_QUIET_MS 600000u /* an unknown key is logged once per 10 min */
#define S_REDIAL_MS 5000u        /* a parent that refused our key is tried again */
#define S_NBUCKETS 11

/* Upper bounds of the commit latency histogram, in milliseconds. */
static const unsigned s_buckets_ms[S_NBUCKETS] = {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500};

typedef struct s_peer {
  int kind;                          /* LPEER_PARENT or LPEER_CHILD */
  const lconfig_peer *cfg;
  char label[LCONFIG_NAME_MAX + 32]; /* "parent 姑苏区" / "child 雅鹿村" */
  char short_id[LINLI_SHORT_ID_LEN + 1];
  char hex[2 * LINLI_PK_BYTES + 1];
  uint8_t curve_pk[crypto_box_PUBLICKEYBYTES];
  lrepl repl;
  lsession *sess;
  /* transport */
  void *sock;                        /* parent: its DEALER */
  void *mon;                         /* parent: the DEALER's monitor */
  char mon_ep[64];
  bool connected;
  bool blocked;                      /* a send failed with EAGAIN */
  bool news;                         /* local data changed since it was last told */
  bool read_failed;                  /* session_next_out failed; logged once */
  uint64_t retry_at, banned_until, kick_at, next_tick;
  uint64_t redial_at;                /* parent: reconnect then (it refused our key) */
  uint64_t dup_at;                   /* child: last seen on two live connections */
  uint64_t bytes_in, bytes_out;      /* sync messages, since the node started */
  uint64_t refusals;                 /* times refused after bad data */
  uint64_t refused_at;               /* wall time of the last refusal; 0: none */
  char refused_why[200];             /* ... and its reason */
  char dup_address[LCONFIG_ENDPOINT_MAX]; /* ... the other connection's address */
  uint8_t rid[256];                  /* child: routing id of its connection */
  size_t rid_len;
  int fd;                            /* child: the connection's file descriptor */
  char address[LCONFIG_ENDPOINT_MAX];
  int fail_logged;                   /* parent: last connection failure logged */
  /* sync reports */
  uint64_t base_rx, base_tx;         /* counters at the last "synced" line */
  uint64_t progress_at, synced_at, behind_since;
  bool round_open, reported;
  uint64_t pclock_at;                /* parent: its clock last recorded */
  /* parent: the last HELLO read (lsession_stat.hellos_received), and
   * whether one on this connection listed our own log (s_recovery) */
  uint64_t hellos_seen;
  bool scope_known;
  bool resync_asked;                 /* parent: a HELLO asked for it (once) */
} s_peer;

typedef struct s_refused {
  uint8_t key[crypto_box_PUBLICKEYBYTES];
  uint64_t at;
} s_refused;

struct ldaemon {
  const lconfig *cfg;
  lstore *s;
  lreplica *repl;
  uint8_t self[LINLI_PK_BYTES];
  char self_short[LINLI_SHORT_ID_LEN + 1];
  void *zctx;
  void *zap, *router, *router_mon, *control;
  char control_path[LCONFIG_ENDPOINT_MAX]; /* ipc socket file to remove at exit */
  s_peer *peers;                           /* parents first, then children */
  uint32_t npeers, nparents;
  hmap by_curve;                           /* child curve key -> s_peer* */
  hmap by_pk;                              /* child ed25519 key -> s_peer* */
  daemon_exec_fn exec;
  void *exec_ctx;
  lbuf out;                                /* reused for every outgoing message */
  s_refused refused[S_REFUSED_SLOTS];
  uint64_t held_at;                        /* held-back deltas last tried */
  lconfig *own_cfg;                        /* the configuration of the last reload */
  uint32_t mon_seq;                        /* names each parent's monitor endpoint */
  zmq_pollitem_t *items;                   /* what the loop polls */
  uint32_t nitems;
  uint64_t watchdog_ms, watchdog_at, status_at;
  char status[160];                        /* the last STATUS= sent to systemd */
  lhttp *http;                             /* the metrics endpoint, when configured */
  lhttp *web;                              /* the HTTP API (http_listen) */
  lapi *api;
  uint64_t ops_ingested;                   /* ops applied from peers since start */
  uint32_t version_min, version_max;       /* LINLI_TEST_PROTOCOL (0: this build's) */
  uint64_t commit_n, commit_us;            /* received messages that applied ops, and their time */
  uint64_t commit_le[S_NBUCKETS];          /* ... of them at most s_buckets_ms[i] */
};

static volatile sig_atomic_t s_stop, s_reload;

static size_t s_http_limit(void *ctx, const char *method, const char *path);
static void s_http(void *ctx, const lhttp_req *req, lhttp_resp *resp);

/* The wall clock.  LINLI_TEST_CLOCK_SHIFT_MS (decimal, may be negative)
 * is added to it: the test suite's stand-in for a PC whose clock is wrong,
 * as the CLI's LINLI_TEST_NOW_MS (tests/api_test.py).  A real node never
 * sets it. */
static uint64_t
s_now(void)
{
  static int64_t shift;
  static bool read;
  if (!read) {
    const char *v = getenv("LINLI_TEST_CLOCK_SHIFT_MS");
    char *end;
    errno = 0;
    long long x = v != NULL && v[0] != '\0' ? strtoll(v, &end, 10) : 0;
    if (x != 0 && errno == 0 && *end == '\0') {
      shift = (int64_t)x;
      log_warn("LINLI_TEST_CLOCK_SHIFT_MS: this node's clock is moved by %lld ms (for tests only)",
               x);
    }
    read = true;
  }
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u + (uint64_t)shift;
}

static uint64_t
s_mono_us(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int
s_zerr(lerr *e, const char *what)
{
  return lerr_set(e, LINLI_EIO, "%s: %s", what, zmq_strerror(zmq_errno()));
}

/* ---- sockets ---- */

/* Options every sync socket gets: heartbeats find dead connections (at
 * the interval of the configured link, sent whatever else travels; a
 * connection is cut when nothing arrives for 1.5 intervals, at least 6 s,
 * after a heartbeat, so a silent line is noticed within an interval more
 * than that (2.5 intervals, lan 8 s; mp_blackhole): the sessions keep each DATA to
 * about 2 s of the measured link, so a connection that is delivering
 * data always has a whole message arriving well within that), the size
 * bound keeps a hostile peer from making us allocate more than one
 * message, and a short linger lets a final ERROR leave without holding up
 * a stop.  A parent's socket takes that parent's link (config_peer_link);
 * the children's listening socket (peer NULL), whose options every
 * connection to it shares, the slowest heartbeat of the node's link and
 * the children's own: a child on a gprs line is not woken every 2 s
 * because its siblings sit on a LAN (each side sends its own heartbeats,
 * so the children on faster lines still find a dead link at their rate).
 * Set again at a reload: new connections take the new values. */
static int
s_common_opts(const ldaemon *d, const lconfig_peer *peer, void *sock, lerr *e)
{
  lconfig_link lk;
  if (peer) {
    config_peer_link(d->cfg, peer, &lk);
  } else {
    config_link(d->cfg, &lk);
    for (uint32_t i = 0; i < d->cfg->nchildren; i++) {
      lconfig_link ck;
      config_peer_link(d->cfg, &d->cfg->children[i], &ck);
      if (ck.heartbeat_ms > lk.heartbeat_ms)
        lk.heartbeat_ms = ck.heartbeat_ms;
    }
  }
  int ivl = (int)lk.heartbeat_ms, timeout = (int)(lk.heartbeat_ms / 2 * 3), linger = 200;
  if (timeout < 6000)
    timeout = 6000;
  int ttl = timeout;
  int64_t maxmsg = S_MAXMSG;
  if (zmq_setsockopt(sock, ZMQ_HEARTBEAT_IVL, &ivl, sizeof ivl) != 0 ||
      zmq_setsockopt(sock, ZMQ_HEARTBEAT_TIMEOUT, &timeout, sizeof timeout) != 0 ||
      zmq_setsockopt(sock, ZMQ_HEARTBEAT_TTL, &ttl, sizeof ttl) != 0 ||
      zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
      zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0)
    return s_zerr(e, "socket options");
  return 0;
}

static int
s_curve_keys(void *sock, const uint8_t pk[32], const uint8_t sk[32], lerr *e)
{
  if (zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, pk, 32) != 0 ||
      zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, sk, 32) != 0)
    return s_zerr(e, "CURVE keys");
  return 0;
}

/* Attaches a monitor to `sock` and returns the PAIR socket that reads it. */
static int
s_monitor(ldaemon *d, void *sock, const char *ep, void **out, lerr *e)
{
  int events = ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
               ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_CONNECT_RETRIED;
  if (zmq_socket_monitor(sock, ep, events) != 0)
    return s_zerr(e, "socket monitor");
  *out = zmq_socket(d->zctx, ZMQ_PAIR);
  if (*out == NULL || zmq_connect(*out, ep) != 0)
    return s_zerr(e, "socket monitor");
  return 0;
}

/* Reads one monitor event: the event number, its value (a file descriptor
 * or an error code) and the endpoint address.  Returns false when none is
 * waiting. */
static bool
s_monitor_read(void *mon, uint16_t *event, uint32_t *value, char *addr, size_t cap)
{
  zmq_msg_t m;
  zmq_msg_init(&m);
  if (zmq_msg_recv(&m, mon, ZMQ_DONTWAIT) < 0) {
    zmq_msg_close(&m);
    return false;
  }
  bool ok = zmq_msg_size(&m) == 6;
  if (ok) {
    const uint8_t *p = zmq_msg_data(&m);
    memcpy(event, p, 2);
    memcpy(value, p + 2, 4);
  }
  addr[0] = '\0';
  while (zmq_msg_more(&m)) {
    zmq_msg_close(&m);
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, mon, 0) < 0)
      break;
    size_t n = zmq_msg_size(&m);
    if (n >= cap)
      n = cap - 1;
    memcpy(addr, zmq_msg_data(&m), n);
    addr[n] = '\0';
  }
  zmq_msg_close(&m);
  return ok;
}

/* ---- peers and sessions ---- */

/* A line about peer p: its name also goes to the journal as LINLI_PEER. */
#define plog(p, level, ...) log_kv((level), &(llog_kv){.peer = (p)->cfg->name}, __VA_ARGS__)
#define plog_error(p, ...) plog(p, LLOG_ERROR, __VA_ARGS__)
#define plog_warn(p, ...) plog(p, LLOG_WARN, __VA_ARGS__)
#define plog_info(p, ...) plog(p, LLOG_INFO, __VA_ARGS__)
#define plog_debug(p, ...) plog(p, LLOG_DEBUG, __VA_ARGS__)

static void
s_session_new(ldaemon *d, s_peer *p)
{
  lsession_cfg sc;
  memset(&sc, 0, sizeof sc);
  memcpy(sc.self, d->self, LINLI_PK_BYTES);
  memcpy(sc.peer, p->cfg->pk, LINLI_PK_BYTES);
  sc.initiator = p->kind == LPEER_PARENT;
  sc.compress = d->cfg->compress;
  /* A station on cheap hardware and a slow link: a small window and small
   * messages (less memory, less lost when a link drops mid-message).  A
   * street or a district: large ones, so that a long catch-up commits in
   * few, large groups while the next messages are already on their way. */
  config_sync_limits(d->cfg, &sc.window, &sc.max_message);
  lconfig_link lk;
  config_peer_link(d->cfg, p->cfg, &lk);
  sc.ping_ms = lk.ping_ms;
  sc.resync_ms = lk.resync_ms;
  if (lk.data)
    sc.max_message = lk.data;
  sc.version_min = d->version_min;
  sc.version_max = d->version_max;
  session_destroy(&p->sess);
  p->sess = session_new(&sc, &p->repl);
  p->next_tick = 0;
  p->read_failed = false;
  p->base_rx = p->base_tx = 0;
  p->round_open = p->reported = false;
  if (p->sess == NULL)
    plog_error(p, "%s: out of memory for a session", p->label);
}

/* Logs sync progress: one line when a peer and we first have nothing left
 * to exchange after connecting, then one line a minute at most summing up
 * what was exchanged since, and a line every S_PROGRESS_MS while a long
 * transfer runs. */
static void
s_report(s_peer *p, uint64_t now)
{
  if (p->sess == NULL)
    return;
  lsession_stat st;
  session_stat_get(p->sess, &st);
  if (!st.hello_done)
    return;
  uint64_t rx = st.ops_received - p->base_rx, tx = st.ops_sent - p->base_tx;
  if ((rx || tx) && !p->round_open)
    p->round_open = true;
  bool insync = st.ops_behind_in == 0 && st.ops_behind_out == 0;
  /* After the first line of a connection, rounds are summed up to one line
   * a minute: a station writing all day must not fill the log. */
  if (insync && (!p->reported || (p->round_open && now - p->synced_at >= S_SYNCED_MS))) {
    p->synced_at = now;
    if (rx || tx)
      plog_info(p, "synced with %s: received %llu ops, sent %llu ops", p->cfg->name,
                (unsigned long long)rx, (unsigned long long)tx);
    else
      plog_info(p, "in sync with %s: nothing to exchange", p->cfg->name);
    p->base_rx = st.ops_received;
    p->base_tx = st.ops_sent;
    p->round_open = false;
    p->reported = true;
  }
  if (insync) {
    p->behind_since = 0;
  } else if (p->behind_since == 0) {
    p->behind_since = now;
  } else if (now - p->behind_since >= S_PROGRESS_MS && now - p->progress_at >= S_PROGRESS_MS) {
    plog_info(p, "syncing with %s: received %llu ops, sent %llu ops so far; %llu to receive, "
              "%llu to send",
              p->cfg->name, (unsigned long long)rx, (unsigned long long)tx,
              (unsigned long long)st.ops_behind_in, (unsigned long long)st.ops_behind_out);
    p->progress_at = now;
  }
}

/* What the parent holds of `author` beyond this store: 0 when nothing. */
static uint64_t
s_parent_ahead(ldaemon *d, s_peer *p, const uint8_t author[LINLI_PK_BYTES], uint64_t *mine)
{
  lhead h;
  *mine = lstore_head(d->s, author, &h, NULL) == 0 ? h.seq : 0;
  uint64_t theirs = session_peer_seq(p->sess, author);
  return theirs > *mine ? theirs - *mine : 0;
}

/* A person's name and short key for a log line. */
static void
s_person_label(ldaemon *d, const uint8_t pk[LINLI_PK_BYTES], char *out, size_t cap)
{
  lauthor_info ai;
  char id[LINLI_SHORT_ID_LEN + 1];
  ident_short(id, pk);
  if (lstore_author_info(d->s, pk, &ai, NULL) == 0 && ai.certified && ai.name[0])
    snprintf(out, cap, "%s (key %s)", ai.name, id);
  else
    snprintf(out, cap, "key %s", id);
}

/* Every person of the station (DIR/users.json) whose log the parent holds
 * further than this store: the store was brought back from a copy after
 * they wrote.  Each is marked (lstore_await_set) before they can sign a
 * seq the parent holds already. */
static void
s_people_copied(ldaemon *d, s_peer *p)
{
  luser *u = NULL;
  size_t n = 0;
  lerr e = {0};
  if (lusers_list(d->cfg->data, &u, &n, &e) != 0) {
    plog_error(p, "cannot read the station's people to compare their logs with %s's: %s",
               p->cfg->name, e.msg);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    uint64_t mine, more = s_parent_ahead(d, p, u[i].pk, &mine);
    if (more == 0 || lstore_awaiting(d->s, u[i].pk))
      continue;
    char who[TRUST_NAME_MAX + 64];
    s_person_label(d, u[i].pk, who, sizeof who);
    if (lstore_await_set(d->s, u[i].pk, true, &e) != 0) {
      log_error("cannot enter recovery for %s: %s", who, e.msg);
      continue;
    }
    plog_error(p, "parent %s holds %llu ops of the log of %s, this store only %llu: it was "
               "brought back from a copy; writes as %s are refused until that log is back "
               "(recovery mode)",
               p->cfg->name, (unsigned long long)(mine + more), who, (unsigned long long)mine,
               u[i].name);
  }
  free(u);
}

/* The marked people whose logs are back: the parent holds no more of
 * them than this store. */
static void
s_people_recovered(ldaemon *d, s_peer *p)
{
  uint8_t(*pk)[LINLI_PK_BYTES] = NULL;
  uint32_t n = 0;
  lerr e = {0};
  if (lstore_await_list(d->s, &pk, &n, &e) != 0)
    return;
  for (uint32_t i = 0; i < n; i++) {
    uint64_t mine;
    if (s_parent_ahead(d, p, pk[i], &mine) > 0)
      continue;
    char who[TRUST_NAME_MAX + 64];
    s_person_label(d, pk[i], who, sizeof who);
    if (lstore_await_set(d->s, pk[i], false, &e) != 0)
      log_error("cannot record that the log of %s was recovered: %s", who, e.msg);
    else
      plog_info(p, "log of %s recovered from %s: writes as this person are allowed again", who,
                p->cfg->name);
  }
  free(pk);
}

/* A restored node may write again once a parent has told it everything it
 * holds, its own log included: then no seq it signs can be signed twice.
 * A parent holding more of our own log than we do means this store was
 * brought back from a copy by hand: recovery mode at once, before any
 * local write can sign a seq the parent already holds.  The same holds for
 * every key the station signs with: its people's (DIR/users.json) are
 * compared at each HELLO, and a person the parent holds more of waits for
 * their log (lstore_await_set).  A retired key (node.key.retired-*) never
 * signs again.
 *
 * The parent's word on a person is complete only when it answers in this
 * station's scope, which it does once it holds the station's own
 * certificate: a HELLO that lists the station's own log.  Until then (a
 * station restored to a new key whose certificate has not reached the
 * parent) it answers for a log outside the scope with at most what we
 * hold, and no person's mark is cleared. */
static void
s_recovery(ldaemon *d, s_peer *p)
{
  if (p->kind != LPEER_PARENT || p->sess == NULL)
    return;
  lsession_stat st;
  session_stat_get(p->sess, &st);
  lerr e = {0};
  if (st.hello_done && st.hellos_received != p->hellos_seen) {
    /* The message just read was a HELLO: what the parent holds, not
     * what its ACKs said it took from us. */
    p->hellos_seen = st.hellos_received;
    p->scope_known = session_peer_seq(p->sess, lstore_self(d->s)) > 0;
    s_people_copied(d, p);
  }
  if (p->scope_known) {
    s_people_recovered(d, p);
  } else if (!p->resync_asked && st.hello_done &&
             session_peer_seq(p->sess, lstore_self(d->s)) > 0) {
    /* The parent took our own log since its HELLO (a new key's first
     * ops): its next HELLO answers in our scope.  Ask for it now rather
     * than at the next anti-entropy round, once a connection. */
    if (lstore_await_count(d->s) > 0) {
      session_resync(p->sess);
      p->next_tick = 0;
      p->resync_asked = true;
    }
  }
  if (!lstore_recovering(d->s)) {
    uint64_t mine, more = s_parent_ahead(d, p, lstore_self(d->s), &mine);
    if (!st.hello_done || more == 0)
      return;
    if (lstore_set_recovering(d->s, true, &e) != 0) {
      log_error("cannot enter recovery: %s", e.msg);
      return;
    }
    plog_error(p, "parent %s holds %llu ops of this station's own log, this store only %llu: it "
               "was brought back from a copy; local writes are refused until the own log is "
               "back (recovery mode)",
               p->cfg->name, (unsigned long long)(mine + more), (unsigned long long)mine);
  }
  if (!st.hello_done || st.ops_behind_in != 0)
    return;
  if (lstore_set_recovering(d->s, false, &e) != 0)
    log_error("cannot record that the own log was recovered: %s", e.msg);
  else
    plog_info(p, "own log recovered from %s: local writes are allowed again", p->cfg->name);
}

/* Starts the sync reports afresh after a (re)connection: the first time
 * both sides are even again is reported, whatever was exchanged. */
static void
s_report_reset(s_peer *p)
{
  p->reported = false;
  p->round_open = false;
  p->behind_since = 0;
  if (p->sess) {
    lsession_stat st;
    session_stat_get(p->sess, &st);
    p->base_rx = st.ops_received;
    p->base_tx = st.ops_sent;
  }
}

static void
s_set_disconnected(s_peer *p, const char *why)
{
  if (!p->connected)
    return;
  p->connected = false;
  p->blocked = false;
  if (p->kind == LPEER_PARENT)
    plog_info(p, "disconnected from %s (%s)", p->label, why);
  else
    plog_info(p, "%s disconnected (%s)", p->label, why);
}

/* Sends one message to a peer without waiting.  0, or the errno. */
static int
s_send(ldaemon *d, s_peer *p, const uint8_t *msg, size_t n)
{
  int rc;
  if (p->kind == LPEER_PARENT) {
    rc = zmq_send(p->sock, msg, n, ZMQ_DONTWAIT) < 0 ? zmq_errno() : 0;
  } else {
    if (zmq_send(d->router, p->rid, p->rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
      return zmq_errno();
    rc = zmq_send(d->router, msg, n, ZMQ_DONTWAIT) < 0 ? zmq_errno() : 0;
  }
  if (rc == 0)
    p->bytes_out += n;
  return rc;
}

/* Sends what the session has to send now, until it has nothing more or
 * the peer cannot take more. */
static void
s_drain(ldaemon *d, s_peer *p, uint64_t now)
{
  if (p->sess == NULL || !p->connected || p->banned_until > now || p->kick_at)
    return;
  if (p->blocked && now < p->retry_at)
    return;
  p->blocked = false;
  for (;;) {
    lerr e = {0};
    int rc = session_next_out(p->sess, &d->out, now, &e);
    if (rc < 0) {
      if (!p->read_failed)
        plog_error(p, "cannot prepare data for %s: %s", p->label, e.msg);
      p->read_failed = true;
      return;
    }
    p->read_failed = false;
    if (rc == 0)
      return;
    int err = s_send(d, p, d->out.p, d->out.len);
    if (err == 0)
      continue;
    session_unsent(p->sess);
    if (err == EAGAIN) {
      p->blocked = true;
      p->retry_at = now + S_RETRY_MS;
    } else if (err == EHOSTUNREACH) {
      s_set_disconnected(p, "no route to the connection");
    } else {
      plog_warn(p, "cannot send to %s: %s", p->label, zmq_strerror(err));
      p->blocked = true;
      p->retry_at = now + S_POLL_MAX_MS;
    }
    return;
  }
}

/* Tells every peer but `from` (NULL: every peer) that local data changed;
 * the sessions are told and drained at the end of the turn. */
static void
s_news(ldaemon *d, const s_peer *from)
{
  for (uint32_t i = 0; i < d->npeers; i++)
    if (&d->peers[i] != from)
      d->peers[i].news = true;
}

static void
s_flush_news(ldaemon *d, uint64_t now)
{
  for (uint32_t i = 0; i < d->npeers; i++) {
    s_peer *p = &d->peers[i];
    if (!p->news)
      continue;
    p->news = false;
    if (p->sess == NULL)
      continue;
    session_local_change(p->sess);
    p->next_tick = 0;
    s_drain(d, p, now);
  }
}

/* Once a minute, the deltas held back for their future dates are tried
 * again: those the clock has reached are applied and passed on. */
static void
s_release_held(ldaemon *d, uint64_t now)
{
  if (now >= d->held_at && now - d->held_at < S_HELD_MS)
    return;
  d->held_at = now;
  lingest_stats st;
  lerr e = {0};
  if (lstore_release_held(d->s, now, d->cfg->ahead_ms, &st, &e) != 0)
    log_error("cannot apply the deltas held back for their dates: %s", e.msg);
  else if (st.deltas > 0) {
    log_info("applied %u deltas held back until their dates (%llu ops)", st.deltas,
             (unsigned long long)st.ops_new);
    s_news(d, NULL);
  }
}

/* A peer broke the protocol: log why, let its ERROR go out, and refuse it
 * for S_BAN_MS.  A parent is disconnected once the ERROR had time to leave;
 * a child's session is dropped and a fresh one made after the ban. */
static void
s_ban(ldaemon *d, s_peer *p, const lerr *e, uint64_t now)
{
  /* A full disk, here or there, is nobody's bad data: the session is
   * dropped all the same and tried again after the pause. */
  if (e->code == LINLI_ENOSPC && strncmp(e->msg, "peer refused the session", 24) == 0)
    plog_warn(p, "%s cannot store more: %s; trying again in %u s", p->label, e->msg,
              S_BAN_MS / 1000);
  else if (e->code == LINLI_ENOSPC || e->code == LINLI_ESTORE)
    plog_error(p, "%s: %s; trying again in %u s", p->label, e->msg, S_BAN_MS / 1000);
  else if (e->code == LINLI_EVERSION)
    plog_warn(p, "%s and this node share no protocol version (%s): upgrade the older one; "
              "refusing it for %u s",
              p->label, e->msg, S_BAN_MS / 1000);
  else
    plog_warn(p, "%s broke the protocol: %s; refusing it for %u s", p->label, e->msg,
              S_BAN_MS / 1000);
  s_drain(d, p, now);
  p->refusals++;
  p->refused_at = now;
  snprintf(p->refused_why, sizeof p->refused_why, "%.199s", e->msg);
  p->banned_until = now + S_BAN_MS;
  if (p->kind == LPEER_PARENT) {
    p->kick_at = now + S_KICK_DELAY_MS;
  } else {
    session_destroy(&p->sess);
    p->connected = false;
  }
}

/* The parent's clock, as the session measured it, recorded now and then
 * for local writes (lstore_set_parent_clock); a far-off clock is logged. */
static void
s_parent_clock(ldaemon *d, s_peer *p, uint64_t now)
{
  if (p->kind != LPEER_PARENT || p->sess == NULL)
    return;
  lsession_stat st;
  session_stat_get(p->sess, &st);
  if (!st.hello_done)
    return;
  if (p->kind == LPEER_PARENT && (p->pclock_at == 0 || now - p->pclock_at >= S_PCLOCK_MS)) {
    lerr e = {0};
    p->pclock_at = now;
    if (lstore_set_parent_clock(d->s, now, st.clock_offset_ms, &e) != 0)
      plog_warn(p, "cannot record %s's clock: %s", p->label, e.msg);
    int64_t off = st.clock_offset_ms;
    if (off > (int64_t)LSTORE_CLOCK_SKEW_MS || off < -(int64_t)LSTORE_CLOCK_SKEW_MS)
      plog_error(p, "this PC's clock is %lld min %s %s's: local writes are refused until it is set "
                 "right", (long long)((off < 0 ? -off : off) / 60000),
                 off < 0 ? "ahead of" : "behind", p->label);
  }
}

static void
s_received(ldaemon *d, s_peer *p, const uint8_t *msg, size_t n, uint64_t now)
{
  if (p->sess == NULL)
    s_session_new(d, p);
  if (p->sess == NULL)
    return;
  lerr e = {0};
  p->next_tick = 0; /* what arrived may move the session's timers */
  p->bytes_in += n;
  uint64_t t0 = s_mono_us();
  /* What the store logs while it applies what p sent is about p. */
  log_peer(p->cfg->name);
  int rrc = session_recv(p->sess, msg, n, now, &e);
  log_peer(NULL);
  uint64_t applied = replica_take_applied(d->repl);
  if (applied > 0) {
    /* What applying received ops took, synced write included. */
    uint64_t us = s_mono_us() - t0;
    d->ops_ingested += applied;
    d->commit_n++;
    d->commit_us += us;
    for (int i = 0; i < S_NBUCKETS; i++)
      if (us <= (uint64_t)s_buckets_ms[i] * 1000u)
        d->commit_le[i]++;
  }
  if (rrc < 0) {
    if (e.msg[0] == '\0')
      lerr_set(&e, LINLI_EMALFORMED, "a message that breaks the protocol");
    s_ban(d, p, &e, now);
  } else {
    s_drain(d, p, now);
  }
  if (applied > 0)
    s_news(d, p);
  s_report(p, now);
  s_parent_clock(d, p, now);
  s_recovery(d, p);
}

/* ---- ZAP: who may connect ---- */

static bool
s_refused_quiet(ldaemon *d, const uint8_t key[32], uint64_t now)
{
  s_refused *oldest = &d->refused[0];
  for (int i = 0; i < S_REFUSED_SLOTS; i++) {
    s_refused *r = &d->refused[i];
    if (memcmp(r->key, key, 32) == 0 && r->at) {
      if (now - r->at < S_REFUSED_QUIET_MS)
        return true;
      r->at = now;
      return false;
    }
    if (r->at < oldest->at)
      oldest = r;
  }
  memcpy(oldest->key, key, 32);
  oldest->at = now;
  return false;
}

static void
s_zap_reply(void *zap, zmq_msg_t *reqid, const char *code, const char *text, const char *user)
{
  zmq_send(zap, "1.0", 3, ZMQ_SNDMORE);
  zmq_send(zap, zmq_msg_data(reqid), zmq_msg_size(reqid), ZMQ_SNDMORE);
  zmq_send(zap, code, strlen(code), ZMQ_SNDMORE);
  zmq_send(zap, text, strlen(text), ZMQ_SNDMORE);
  zmq_send(zap, user, strlen(user), ZMQ_SNDMORE);
  zmq_send(zap, "", 0, 0);
}

/* One ZAP request (RFC 27): version, request id, domain, address, routing
 * id, mechanism, credentials.  Only CURVE clients with a configured
 * child's key are admitted; the User-Id is the child's ed25519 key in hex.
 * Returns false when no request was waiting. */
static bool
s_zap(ldaemon *d, uint64_t now)
{
  zmq_msg_t f[8], spare;
  int nf = 0;
  bool more = true;
  while (more) {
    zmq_msg_t *m = nf < 8 ? &f[nf] : &spare;
    zmq_msg_init(m);
    if (zmq_msg_recv(m, d->zap, nf == 0 ? ZMQ_DONTWAIT : 0) < 0) {
      zmq_msg_close(m);
      break;
    }
    more = zmq_msg_more(m);
    if (nf < 8)
      nf++;
    else
      zmq_msg_close(m);
  }
  if (nf == 0)
    return false;
  if (nf < 2) {
    /* Not even a request id to answer: REP still owes a reply. */
    zmq_send(d->zap, "", 0, 0);
    goto done;
  }
  char addr[64] = "?";
  if (nf >= 4) {
    size_t an = zmq_msg_size(&f[3]) < sizeof addr - 1 ? zmq_msg_size(&f[3]) : sizeof addr - 1;
    memcpy(addr, zmq_msg_data(&f[3]), an);
    addr[an] = '\0';
  }
  if (nf != 7 || zmq_msg_size(&f[0]) != 3 || memcmp(zmq_msg_data(&f[0]), "1.0", 3) != 0 ||
      zmq_msg_size(&f[5]) != 5 || memcmp(zmq_msg_data(&f[5]), "CURVE", 5) != 0 ||
      zmq_msg_size(&f[6]) != 32) {
    log_warn("refused connection at %s: not a CURVE client", addr);
    s_zap_reply(d->zap, &f[1], "400", "CURVE only", "");
    goto done;
  }
  const uint8_t *key = zmq_msg_data(&f[6]);
  s_peer *p = hmap_get(&d->by_curve, key, 32);
  if (p == NULL) {
    char hex[65];
    hex_encode(hex, key, 32);
    if (!s_refused_quiet(d, key, now))
      log_warn("refused connection from unknown transport key %s at %s (`linli status` on "
               "that node shows its transport key; admit it with a child line holding its "
               "node.key.pub)", hex, addr);
    s_zap_reply(d->zap, &f[1], "400", "unknown key", "");
  } else if (p->banned_until > now) {
    if (!s_refused_quiet(d, key, now))
      plog_warn(p, "refused connection from %s at %s: refused for %llu s more after bad data",
                p->label, addr, (unsigned long long)((p->banned_until - now + 999) / 1000));
    s_zap_reply(d->zap, &f[1], "400", "refused for a while after bad data", "");
  } else {
    s_zap_reply(d->zap, &f[1], "200", "OK", p->hex);
  }
done:
  for (int i = 0; i < nf; i++)
    zmq_msg_close(&f[i]);
  return true;
}

/* ---- children, through the ROUTER ---- */

/* Reads one message from the ROUTER; false when none is waiting. */
static bool
s_router_one(ldaemon *d, uint64_t now)
{
  zmq_msg_t rid, body;
  zmq_msg_init(&rid);
  zmq_msg_init(&body);
  bool got = false;
  if (zmq_msg_recv(&rid, d->router, ZMQ_DONTWAIT) < 0)
    goto done;
  got = true;
  if (!zmq_msg_more(&rid) || zmq_msg_recv(&body, d->router, 0) < 0)
    goto done;
  bool extra = false;
  while (zmq_msg_more(&body)) {
    /* More than one frame is not our protocol: read them off and drop the
     * message. */
    zmq_msg_t m;
    zmq_msg_init(&m);
    int rc = zmq_msg_recv(&m, d->router, 0);
    zmq_msg_close(&m);
    extra = true;
    if (rc < 0)
      break;
  }
  const char *user = zmq_msg_gets(&body, "User-Id");
  uint8_t pk[LINLI_PK_BYTES];
  s_peer *p = NULL;
  if (user && strlen(user) == 2 * LINLI_PK_BYTES && hex_decode(pk, sizeof pk, user) == 0)
    p = hmap_get(&d->by_pk, pk, LINLI_PK_BYTES);
  if (p == NULL) {
    log_warn("dropped a message from a connection that is no configured child");
    goto done;
  }
  if (p->banned_until > now)
    goto done; /* refused for now: see daemon.h on why the connection stays */
  size_t rn = zmq_msg_size(&rid);
  if (rn > sizeof p->rid)
    goto done;
  if (!p->connected || rn != p->rid_len || memcmp(p->rid, zmq_msg_data(&rid), rn) != 0) {
    const char *addr = zmq_msg_gets(&body, "Peer-Address");
    /* A new connection while the last one is still open (its close would
     * have been seen first, monitors come before messages): two nodes
     * run with one identity, a copied data directory or key. */
    if (p->connected && zmq_msg_get(&body, ZMQ_SRCFD) != p->fd) {
      if (p->dup_at == 0 || now - p->dup_at >= S_REFUSED_QUIET_MS)
        plog_error(p, "two live connections authenticated by %s's key, from %s and %s: two "
                   "nodes run with the same identity (a copied data directory or key); stop "
                   "one of them",
                   p->label, p->address, addr ? addr : "?");
      p->dup_at = now;
      snprintf(p->dup_address, sizeof p->dup_address, "%s", p->address);
    }
    memcpy(p->rid, zmq_msg_data(&rid), rn);
    p->rid_len = rn;
    snprintf(p->address, sizeof p->address, "%s", addr ? addr : "?");
    if (!p->connected) {
      plog_info(p, "%s connected from %s", p->label, p->address);
      s_report_reset(p);
    }
    p->connected = true;
    p->blocked = false;
  }
  /* The connection's descriptor is what the ROUTER's monitor names when
   * it closes; ZMQ_SRCFD is deprecated in favour of nothing that would
   * tie a ROUTER connection to its monitor events. */
  p->fd = zmq_msg_get(&body, ZMQ_SRCFD);
  if (extra) {
    lerr e;
    lerr_set(&e, LINLI_EMALFORMED, "a message of several frames");
    s_ban(d, p, &e, now);
    goto done;
  }
  s_received(d, p, zmq_msg_data(&body), zmq_msg_size(&body), now);
done:
  zmq_msg_close(&rid);
  zmq_msg_close(&body);
  return got;
}

static void
s_router_events(ldaemon *d)
{
  uint16_t ev;
  uint32_t val;
  char addr[256];
  while (s_monitor_read(d->router_mon, &ev, &val, addr, sizeof addr)) {
    if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL || ev == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
      log_debug("a handshake on %s failed (a client with a wrong key for us?)", addr);
    if (ev != ZMQ_EVENT_DISCONNECTED)
      continue;
    for (uint32_t i = d->nparents; i < d->npeers; i++) {
      s_peer *p = &d->peers[i];
      if (p->connected && p->fd == (int)val)
        s_set_disconnected(p, "connection closed");
    }
  }
}

/* ---- parents, one DEALER each ---- */

static bool
s_parent_one(ldaemon *d, s_peer *p, uint64_t now)
{
  zmq_msg_t m;
  zmq_msg_init(&m);
  if (zmq_msg_recv(&m, p->sock, ZMQ_DONTWAIT) < 0) {
    zmq_msg_close(&m);
    return false;
  }
  bool extra = false;
  while (zmq_msg_more(&m)) {
    zmq_msg_t x;
    zmq_msg_init(&x);
    int rc = zmq_msg_recv(&x, p->sock, 0);
    zmq_msg_close(&x);
    extra = true;
    if (rc < 0)
      break;
  }
  if (p->banned_until > now || p->kick_at) {
    zmq_msg_close(&m);
    return true;
  }
  if (!p->connected) {
    /* The handshake event may still be on its way: the message proves it. */
    p->connected = true;
    plog_info(p, "connected to %s at %s", p->label, p->cfg->endpoint);
  }
  if (extra) {
    lerr e;
    lerr_set(&e, LINLI_EMALFORMED, "a message of several frames");
    s_ban(d, p, &e, now);
  } else {
    s_received(d, p, zmq_msg_data(&m), zmq_msg_size(&m), now);
  }
  zmq_msg_close(&m);
  return true;
}

static void
s_parent_events(ldaemon *d, s_peer *p, uint64_t now)
{
  uint16_t ev;
  uint32_t val;
  char addr[256];
  while (s_monitor_read(p->mon, &ev, &val, addr, sizeof addr)) {
    if (p->banned_until > now || p->kick_at)
      continue;
    switch (ev) {
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
      if (!p->connected)
        plog_info(p, "connected to %s at %s", p->label, p->cfg->endpoint);
      p->connected = true;
      p->blocked = false;
      p->fail_logged = 0;
      if (p->sess == NULL)
        s_session_new(d, p);
      p->scope_known = p->resync_asked = false;
      if (p->sess) {
        s_report_reset(p);
        session_start(p->sess, now);
        p->next_tick = 0;
        s_drain(d, p, now);
      }
      break;
    case ZMQ_EVENT_DISCONNECTED:
      s_set_disconnected(p, "connection closed");
      break;
    case ZMQ_EVENT_CONNECT_RETRIED:
      if (!p->connected && p->fail_logged == 0) {
        plog_warn(p, "cannot reach %s at %s; retrying", p->label, p->cfg->endpoint);
        p->fail_logged = ev;
      }
      break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
      s_set_disconnected(p, "handshake failed");
      /* libzmq does not reconnect after a handshake it counts as a protocol
       * error, a refused key included; the parent may admit us later (a
       * reload there), so we dial again ourselves. */
      if (p->redial_at == 0)
        p->redial_at = now + S_REDIAL_MS;
      if (p->fail_logged != ev) {
        const char *why =
            ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
                ? "it refused our key (is this node configured as its child?)"
            : ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                ? "protocol error (is the parent's public key right?)"
                : "no detail (is the parent's public key right?)";
        plog_warn(p, "handshake with %s at %s failed: %s; retrying", p->label, p->cfg->endpoint,
                  why);
        p->fail_logged = ev;
      }
      break;
    default:
      break;
    }
  }
}

/* ---- control socket ---- */

/* An answer the daemon gives itself: exit status 2 and one line on stderr
 * (the hook's answer form, docs/OPERATING.md). */
static void
s_ctl_refuse(void *sock, const char *msg)
{
  lbuf b;
  mpw w;
  lbuf_init(&b);
  mpw_init(&w, &b);
  mpw_array(&w, 4);
  mpw_int(&w, 2);
  mpw_bin(&w, "", 0);
  mpw_bin(&w, msg, strlen(msg));
  mpw_array(&w, 0);
  if (b.oom) {
    /* REP owes an answer whatever happens; give the shortest one. */
    static const uint8_t oom[] = {0x94, 0x02, 0xc4, 0x00, 0xc4, 0x00, 0x90};
    zmq_send(sock, oom, sizeof oom, ZMQ_DONTWAIT);
  } else if (zmq_send(sock, b.p, b.len, ZMQ_DONTWAIT) < 0) {
    log_warn("cannot answer a control request: %s", zmq_strerror(zmq_errno()));
  }
  lbuf_free(&b);
}

static void
s_control(ldaemon *d, uint64_t now)
{
  zmq_msg_t m;
  zmq_msg_init(&m);
  if (zmq_msg_recv(&m, d->control, ZMQ_DONTWAIT) < 0) {
    zmq_msg_close(&m);
    return;
  }
  bool extra = false;
  while (zmq_msg_more(&m)) {
    zmq_msg_close(&m);
    zmq_msg_init(&m);
    extra = true;
    if (zmq_msg_recv(&m, d->control, 0) < 0)
      break;
  }
  if (extra) {
    s_ctl_refuse(d->control, "linli-node: a control request is one message\n");
  } else if (d->exec == NULL) {
    s_ctl_refuse(d->control,
                 "linli: commands through the daemon are not available in this build\n");
  } else {
    lbuf reply;
    lbuf_init(&reply);
    d->exec(d->exec_ctx, d->s, NULL, zmq_msg_data(&m), zmq_msg_size(&m), &reply);
    /* The command may have written: every session may have news. */
    s_news(d, NULL);
    s_flush_news(d, now);
    if (reply.oom)
      s_ctl_refuse(d->control, "linli-node: out of memory for the command's answer\n");
    else if (reply.len > DAEMON_CTL_MAX)
      s_ctl_refuse(d->control, "linli-node: the command's answer is larger than a control "
                               "answer may be (256 MiB); stop linli-node and run the "
                               "command again, which then works on the data directory "
                               "itself\n");
    else if (zmq_send(d->control, reply.p, reply.len, ZMQ_DONTWAIT) < 0)
      log_warn("cannot answer a control request: %s", zmq_strerror(zmq_errno()));
    lbuf_free(&reply);
  }
  /* A person's password may have come in the request (linli --as). */
  if (zmq_msg_size(&m) > 0)
    sodium_memzero(zmq_msg_data(&m), zmq_msg_size(&m));
  zmq_msg_close(&m);
}

/* ---- setup ---- */

static int
s_peer_init(ldaemon *d, s_peer *p, const lconfig_peer *c, int kind, lerr *e)
{
  p->kind = kind;
  p->cfg = c;
  p->fd = -1;
  ident_short(p->short_id, c->pk);
  hex_encode(p->hex, c->pk, LINLI_PK_BYTES);
  snprintf(p->label, sizeof p->label, "%s %s", kind == LPEER_PARENT ? "parent" : "child",
           c->name);
  if (crypto_sign_ed25519_pk_to_curve25519(p->curve_pk, c->pk) != 0)
    return lerr_set(e, LINLI_EINVAL, "%s:%u: %s is not a valid ed25519 public key",
                    d->cfg->path, c->line, p->hex);
  int rc = replica_peer(d->repl, c->pk, kind, &p->repl, e);
  if (rc == LINLI_EINVAL)
    return lerr_set(e, rc, "%s:%u: that is this node's own key", d->cfg->path, c->line);
  if (rc)
    return rc;
  if (kind == LPEER_PARENT)
    snprintf(p->address, sizeof p->address, "%s", c->endpoint);
  return 0;
}

/* Indexes the children by transport key and by ed25519 key (again, after
 * the peers array was rebuilt by a reload). */
static int
s_index(ldaemon *d, lerr *e)
{
  hmap_free(&d->by_curve);
  hmap_free(&d->by_pk);
  hmap_init(&d->by_curve);
  hmap_init(&d->by_pk);
  for (uint32_t i = d->nparents; i < d->npeers; i++) {
    s_peer *p = &d->peers[i];
    if (hmap_put(&d->by_curve, p->curve_pk, sizeof p->curve_pk, p) != 0 ||
        hmap_put(&d->by_pk, p->cfg->pk, LINLI_PK_BYTES, p) != 0)
      return lerr_set(e, LINLI_ENOMEM, "out of memory");
  }
  return 0;
}

static int
s_parent_socket(ldaemon *d, s_peer *p, const uint8_t pk[32], const uint8_t sk[32], lerr *e)
{
  /* A line that comes back is tried again within 2 s at most: the backoff
   * doubles from 250 ms and stops there. */
  int one = 1, ivl = 250, ivl_max = 2000;
  p->sock = zmq_socket(d->zctx, ZMQ_DEALER);
  if (p->sock == NULL)
    return s_zerr(e, "socket");
  int rc = s_common_opts(d, p->cfg, p->sock, e);
  if (rc == 0)
    rc = s_curve_keys(p->sock, pk, sk, e);
  if (rc)
    return rc;
  if (zmq_setsockopt(p->sock, ZMQ_CURVE_SERVERKEY, p->curve_pk, 32) != 0 ||
      zmq_setsockopt(p->sock, ZMQ_IMMEDIATE, &one, sizeof one) != 0 ||
      zmq_setsockopt(p->sock, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl) != 0 ||
      zmq_setsockopt(p->sock, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof ivl_max) != 0)
    return s_zerr(e, "parent socket options");
  snprintf(p->mon_ep, sizeof p->mon_ep, "inproc://linli-parent-%u", d->mon_seq++);
  if ((rc = s_monitor(d, p->sock, p->mon_ep, &p->mon, e)) != 0)
    return rc;
  if (zmq_connect(p->sock, p->cfg->endpoint) != 0)
    return lerr_set(e, LINLI_EIO, "%s:%u: cannot connect to %s: %s", d->cfg->path, p->cfg->line,
                    p->cfg->endpoint, zmq_strerror(zmq_errno()));
  return 0;
}

static int
s_listen(ldaemon *d, const uint8_t pk[32], const uint8_t sk[32], lerr *e)
{
  int one = 1;
  d->router = zmq_socket(d->zctx, ZMQ_ROUTER);
  if (d->router == NULL)
    return s_zerr(e, "socket");
  int rc = s_common_opts(d, NULL, d->router, e);
  if (rc == 0)
    rc = s_curve_keys(d->router, pk, sk, e);
  if (rc)
    return rc;
  if (zmq_setsockopt(d->router, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
      zmq_setsockopt(d->router, ZMQ_ZAP_DOMAIN, "linli", 5) != 0 ||
      zmq_setsockopt(d->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one) != 0 ||
      zmq_setsockopt(d->router, ZMQ_ROUTER_HANDOVER, &one, sizeof one) != 0)
    return s_zerr(e, "listening socket options");
  if ((rc = s_monitor(d, d->router, "inproc://linli-router", &d->router_mon, e)) != 0)
    return rc;
  if (zmq_bind(d->router, d->cfg->listen) != 0)
    return lerr_set(e, LINLI_EIO, "cannot listen on %s: %s", d->cfg->listen,
                    zmq_strerror(zmq_errno()));
  return 0;
}

static int
s_control_bind(ldaemon *d, lerr *e)
{
  int linger = 0;
  int64_t maxmsg = (int64_t)DAEMON_CTL_MAX;
  const char *ep = d->cfg->control;
  d->control = zmq_socket(d->zctx, ZMQ_REP);
  if (d->control == NULL)
    return s_zerr(e, "socket");
  if (zmq_setsockopt(d->control, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
      zmq_setsockopt(d->control, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0)
    return s_zerr(e, "control socket options");
  /* Who besides the owner may use it: the configured group, by default the
   * data directory's (linli:linli on a packaged install). */
  gid_t gid = (gid_t)-1;
  const char *g = d->cfg->control_group;
  if (strcmp(g, "none") == 0) {
    gid = (gid_t)-1;
  } else if (g[0] != '\0') {
    struct group *gr = getgrnam(g);
    if (gr == NULL)
      return lerr_set(e, LINLI_EINVAL, "%s: control_group %s: no such group", d->cfg->path, g);
    gid = gr->gr_gid;
  } else {
    struct stat st;
    if (stat(d->cfg->data, &st) != 0)
      return lerr_set(e, LINLI_EIO, "%s: %s", d->cfg->data, strerror(errno));
    gid = st.st_gid;
  }
  return daemon_bind_control(d->control, ep, gid, d->control_path, sizeof d->control_path, e);
}

int
daemon_bind_control(void *sock, const char *ep, gid_t gid, char *path, size_t cap, lerr *e)
{
  path[0] = '\0';
  if (strncmp(ep, "ipc://", 6) != 0)
    return lerr_set(e, LINLI_EINVAL, "control %s: only ipc://PATH is allowed", ep);
  /* We hold the store's lock, so no other daemon serves this socket: a
   * file left there is stale. */
  snprintf(path, cap, "%s", ep + 6);
  unlink(path);
  /* Whoever can connect can write to the store: the owner and the group
   * chosen, even when the socket lives outside the data directory.  The
   * socket file is created by the bind itself (in this thread), under
   * umask 077, so it is never open to anyone else, not even for a moment;
   * then the group is set while the mode still excludes it, and only then
   * does the chmod open it to that group (0660), or narrow it to 0600. */
  mode_t old_mask = umask(077);
  int brc = zmq_bind(sock, ep);
  int berr = zmq_errno();
  umask(old_mask);
  if (brc != 0) {
    path[0] = '\0';
    return lerr_set(e, LINLI_EIO, "cannot bind the control socket %s: %s", ep,
                    zmq_strerror(berr));
  }
  if (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) != 0) {
    struct group *gr = getgrgid(gid);
    return lerr_set(e, LINLI_EIO,
                    "cannot give the control socket %s to group %s: %s (the node's user must "
                    "be a member; or set control_group = none)",
                    path, gr ? gr->gr_name : "?", strerror(errno));
  }
  if (chmod(path, gid != (gid_t)-1 ? 0660 : 0600) != 0)
    return lerr_set(e, LINLI_EIO, "%s: %s", path, strerror(errno));
  return 0;
}

/* The node's CURVE key pair, from its ed25519 identity; the caller wipes
 * csk. */
static int
s_curve_pair(ldaemon *d, uint8_t cpk[32], uint8_t csk[32], lerr *e)
{
  lident id;
  int rc = lstore_identity(d->s, &id, e);
  if (rc)
    return rc;
  if (crypto_sign_ed25519_pk_to_curve25519(cpk, id.pk) != 0 ||
      crypto_sign_ed25519_sk_to_curve25519(csk, id.sk) != 0)
    rc = lerr_set(e, LINLI_EINVAL, "the node key cannot be converted for CURVE");
  ident_wipe(&id);
  return rc;
}

static int
s_sockets(ldaemon *d, lerr *e)
{
  uint8_t cpk[32], csk[32];
  int rc = s_curve_pair(d, cpk, csk, e);
  if (rc)
    goto done;
  d->zctx = zmq_ctx_new();
  if (d->zctx == NULL) {
    rc = s_zerr(e, "ZeroMQ context");
    goto done;
  }
  /* The ZAP handler must be bound before any CURVE server socket: without
   * one, libzmq admits every client. */
  d->zap = zmq_socket(d->zctx, ZMQ_REP);
  int linger = 0;
  if (d->zap == NULL || zmq_setsockopt(d->zap, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
      zmq_bind(d->zap, "inproc://zeromq.zap.01") != 0) {
    rc = s_zerr(e, "ZAP handler");
    goto done;
  }
  if (d->cfg->listen[0] && (rc = s_listen(d, cpk, csk, e)) != 0)
    goto done;
  for (uint32_t i = 0; i < d->nparents; i++)
    if ((rc = s_parent_socket(d, &d->peers[i], cpk, csk, e)) != 0)
      goto done;
  rc = s_control_bind(d, e);
done:
  sodium_memzero(csk, sizeof csk);
  return rc;
}

/* How long the node waits at start for a data directory another process
 * holds (a `linli` command that opened it a moment before). */
#define S_LOCK_WAIT_MS 10000u

/* Opens the store.  A lock held by someone else is waited for; a disk too
 * full to open for writing still lets the node serve reads and sync-out,
 * read-only, until it is restarted with space freed. */
static int
s_open_store(ldaemon *d, const lconfig *cfg, lerr *e)
{
  lstore_opts so = {.profile = cfg->profile};
  for (unsigned waited = 0;; waited += 50) {
    int rc = lstore_open(&d->s, cfg->data, &so, e);
    if (rc == LINLI_ENOSPC && !so.read_only) {
      log_error("%s; serving reads and sync-out only, refusing new data, until restarted",
                e->msg);
      so.read_only = true;
      continue;
    }
    if (rc != LINLI_EBUSY || waited >= S_LOCK_WAIT_MS)
      return rc;
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
}

/* LINLI_TEST_PROTOCOL=MIN-MAX makes the node name other protocol versions
 * in its HELLOs than the ones it speaks, so that a test can stand in for a
 * node of an older or newer version (tests/mp_mixed.sh).  For tests only:
 * a real node never sets it. */
static int
s_test_protocol(ldaemon *d, lerr *e)
{
  const char *v = getenv("LINLI_TEST_PROTOCOL");
  if (v == NULL || v[0] == '\0')
    return 0;
  unsigned lo, hi;
  char tail;
  if (sscanf(v, "%3u-%3u%c", &lo, &hi, &tail) != 2 || lo < 1 || lo > hi || hi > 255)
    return lerr_set(e, LINLI_EINVAL,
                    "LINLI_TEST_PROTOCOL=%s: not MIN-MAX with 1 <= MIN <= MAX <= 255 (a setting "
                    "for tests only: unset it)",
                    v);
  d->version_min = lo;
  d->version_max = hi;
  log_warn("LINLI_TEST_PROTOCOL: this node names protocol versions %u to %u (for tests only)", lo,
           hi);
  return 0;
}

int
daemon_new(ldaemon **out, const lconfig *cfg, lerr *e)
{
  *out = NULL;
  ldaemon *d = calloc(1, sizeof *d);
  if (d == NULL)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  d->cfg = cfg;
  hmap_init(&d->by_curve);
  hmap_init(&d->by_pk);
  lbuf_init(&d->out);
  int rc = s_test_protocol(d, e);
  if (rc == 0)
    rc = s_open_store(d, cfg, e);
  if (rc)
    goto fail;
  memcpy(d->self, lstore_self(d->s), LINLI_PK_BYTES);
  ident_short(d->self_short, d->self);
  if ((rc = replica_new(&d->repl, d->s, e)) != 0)
    goto fail;
  replica_set_ahead(d->repl, cfg->ahead_ms);
  d->npeers = cfg->nparents + cfg->nchildren;
  d->nparents = cfg->nparents;
  d->peers = calloc(d->npeers ? d->npeers : 1, sizeof *d->peers);
  if (d->peers == NULL) {
    d->npeers = 0;
    rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
    goto fail;
  }
  for (uint32_t i = 0; i < d->npeers && rc == 0; i++) {
    bool parent = i < cfg->nparents;
    rc = s_peer_init(d, &d->peers[i], parent ? &cfg->parents[i] : &cfg->children[i - cfg->nparents],
                     parent ? LPEER_PARENT : LPEER_CHILD, e);
  }
  if (rc == 0)
    rc = s_index(d, e);
  if (rc)
    goto fail;
  if ((rc = s_sockets(d, e)) != 0)
    goto fail;
  if (cfg->metrics_port) {
    lhttp_opts ho = {.addr = cfg->metrics_addr, .port = cfg->metrics_port, .what = "metrics"};
    lhttp_handler hh = {.limit = s_http_limit, .serve = s_http, .ctx = d};
    if ((rc = http_start(&d->http, &ho, &hh, e)) != 0)
      goto fail;
  }
  if (cfg->http_port) {
    lhttp_opts ho = {.addr = cfg->http_addr, .port = cfg->http_port,
                     .tls_cert = cfg->http_tls_cert, .tls_key = cfg->http_tls_key,
                     .what = "the HTTP API", .conn_limit = 64};
    lhttp_handler hh;
    if ((rc = api_new(&d->api, d, e)) != 0)
      goto fail;
    api_handler(d->api, &hh);
    if ((rc = http_start(&d->web, &ho, &hh, e)) != 0)
      goto fail;
  }
  d->watchdog_ms = sdnotify_watchdog_ms();
  *out = d;
  return 0;
fail:
  daemon_destroy(&d);
  return rc;
}

static void
s_close(void **sock)
{
  if (*sock)
    zmq_close(*sock);
  *sock = NULL;
}

/* Ends a peer's session and closes its sockets (a parent's connection). */
static void
s_peer_release(s_peer *p)
{
  session_destroy(&p->sess);
  if (p->sock)
    zmq_socket_monitor(p->sock, NULL, 0);
  s_close(&p->mon);
  s_close(&p->sock);
}

void
daemon_destroy(ldaemon **dp)
{
  ldaemon *d = *dp;
  if (d == NULL)
    return;
  for (uint32_t i = 0; i < d->npeers; i++)
    s_peer_release(&d->peers[i]);
  if (d->router)
    zmq_socket_monitor(d->router, NULL, 0);
  s_close(&d->router_mon);
  s_close(&d->router);
  http_stop(&d->http);
  http_stop(&d->web);
  api_destroy(&d->api);
  s_close(&d->control);
  s_close(&d->zap);
  if (d->zctx)
    zmq_ctx_term(d->zctx);
  if (d->control_path[0])
    unlink(d->control_path);
  free(d->peers);
  hmap_free(&d->by_curve);
  hmap_free(&d->by_pk);
  replica_destroy(&d->repl);
  lstore_close(&d->s);
  lbuf_free(&d->out);
  free(d->items);
  config_destroy(&d->own_cfg);
  free(d);
  *dp = NULL;
}

void
daemon_set_exec(ldaemon *d, daemon_exec_fn fn, void *ctx)
{
  d->exec = fn;
  d->exec_ctx = ctx;
}

lstore *
daemon_store(ldaemon *d)
{
  return d->s;
}

const lconfig *
daemon_config(const ldaemon *d)
{
  return d->cfg;
}

int
daemon_exec(ldaemon *d, const lident *as, const uint8_t *req, size_t n, lbuf *reply, lerr *e)
{
  if (d->exec == NULL)
    return lerr_set(e, LINLI_EINVAL, "commands through the daemon are not available in this "
                                     "build");
  d->exec(d->exec_ctx, d->s, as, req, n, reply);
  daemon_local_change(d);
  if (reply->oom)
    return lerr_set(e, LINLI_ENOMEM, "out of memory for the command's answer");
  return 0;
}

void
daemon_local_change(ldaemon *d)
{
  s_news(d, NULL);
  s_flush_news(d, s_now());
}

void
daemon_request_stop(void)
{
  s_stop = 1;
}

static void
s_on_signal(int sig)
{
  if (sig == SIGHUP)
    s_reload = 1;
  else
    s_stop = 1;
}

int
daemon_peer_status(const ldaemon *d, ldaemon_peer_status **out, uint32_t *n, lerr *e)
{
  *out = NULL;
  *n = 0;
  ldaemon_peer_status *v = calloc(d->npeers ? d->npeers : 1, sizeof *v);
  if (v == NULL)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  uint64_t now = s_now();
  for (uint32_t i = 0; i < d->npeers; i++) {
    const s_peer *p = &d->peers[i];
    ldaemon_peer_status *st = &v[i];
    snprintf(st->name, sizeof st->name, "%s", p->cfg->name);
    memcpy(st->short_id, p->short_id, sizeof st->short_id);
    memcpy(st->pk, p->cfg->pk, LINLI_PK_BYTES);
    st->parent = p->kind == LPEER_PARENT;
    st->banned = p->banned_until > now;
    st->connected = p->connected && !st->banned;
    snprintf(st->address, sizeof st->address, "%s", p->address);
    st->duplicate_ms = p->dup_at;
    st->refusals = p->refusals;
    st->refused_ms = p->refused_at;
    snprintf(st->refused_why, sizeof st->refused_why, "%s", p->refused_why);
    st->bytes_in = p->bytes_in;
    st->bytes_out = p->bytes_out;
    snprintf(st->duplicate_address, sizeof st->duplicate_address, "%s", p->dup_address);
    if (p->sess) {
      lsession_stat ss;
      session_stat_get(p->sess, &ss);
      st->last_sync_ms = ss.last_sync_ms;
      st->ops_behind_out = ss.ops_behind_out;
      st->ops_behind_in = ss.ops_behind_in;
      st->clock_offset_ms = ss.clock_offset_ms;
      st->rtt_ms = ss.rtt_ms;
      st->ops_sent = ss.ops_sent;
      st->ops_received = ss.ops_received;
      st->link_rate = ss.link_rate;
      st->link_cap = ss.link_cap;
      st->data_max = ss.data_max;
      st->version = ss.version;
    }
  }
  *out = v;
  *n = d->npeers;
  return 0;
}

/* ---- metrics (Prometheus text format 0.0.4) ---- */

static void
s_mprintf(lbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
s_mprintf(lbuf *b, const char *fmt, ...)
{
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n > 0)
    lbuf_put(b, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* A label value: backslash, double quote and line feed escaped. */
static void
s_label(char *out, size_t cap, const char *s)
{
  size_t k = 0;
  for (; *s && k + 3 < cap; s++) {
    if (*s == '\\' || *s == '"') {
      out[k++] = '\\';
      out[k++] = *s;
    } else if (*s == '\n') {
      out[k++] = '\\';
      out[k++] = 'n';
    } else {
      out[k++] = *s;
    }
  }
  out[k] = '\0';
}

/* Bytes of the files in DATA/db (RocksDB's tables, logs and manifest). */
static uint64_t
s_store_bytes(const char *data)
{
  char dir[LCONFIG_PATH_MAX + 4], path[LCONFIG_PATH_MAX + 300];
  snprintf(dir, sizeof dir, "%s/db", data);
  DIR *dh = opendir(dir);
  if (dh == NULL)
    return 0;
  uint64_t total = 0;
  const struct dirent *de;
  while ((de = readdir(dh)) != NULL) {
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
      total += (uint64_t)st.st_size;
  }
  closedir(dh);
  return total;
}

static void
s_help(lbuf *b, const char *name, const char *type, const char *help)
{
  s_mprintf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static int
s_metrics(ldaemon *d, lbuf *b)
{
  uint64_t now = s_now();
  char node[3 * LCONFIG_NAME_MAX + 1];
  s_label(node, sizeof node, d->cfg->name);
  s_help(b, "linli_node_info", "gauge", "The node: its name, role and id.");
  s_mprintf(b, "linli_node_info{name=\"%s\",role=\"%s\",id=\"%s\"} 1\n", node,
            config_role_name(d->cfg->role), d->self_short);

  static const struct {
    const char *name, *type, *help;
  } per[] = {
      {"linli_peer_connected", "gauge", "1 while the peer's connection is up."},
      {"linli_peer_last_sync_timestamp_seconds", "gauge",
       "When neither side last lacked anything (0: not since the node started)."},
      {"linli_peer_last_sync_age_seconds", "gauge",
       "Seconds since the last sync (+Inf: none since the node started)."},
      {"linli_peer_ops_they_lack", "gauge", "Ops this node holds that the peer lacks."},
      {"linli_peer_ops_we_lack", "gauge", "Ops the peer holds that this node lacks."},
      {"linli_peer_received_bytes_total", "counter", "Sync bytes received from the peer."},
      {"linli_peer_sent_bytes_total", "counter", "Sync bytes sent to the peer."},
      {"linli_peer_refusals_total", "counter", "Times the peer was refused after bad data."},
      {"linli_peer_duplicate_connection", "gauge",
       "1 when the peer's key was seen on two live connections in the last 10 minutes."},
  };
  for (size_t m = 0; m < sizeof per / sizeof per[0]; m++) {
    s_help(b, per[m].name, per[m].type, per[m].help);
    for (uint32_t i = 0; i < d->npeers; i++) {
      const s_peer *p = &d->peers[i];
      lsession_stat st;
      memset(&st, 0, sizeof st);
      if (p->sess)
        session_stat_get(p->sess, &st);
      char name[3 * LCONFIG_NAME_MAX + 1];
      s_label(name, sizeof name, p->cfg->name);
      s_mprintf(b, "%s{peer=\"%s\",kind=\"%s\",id=\"%s\"} ", per[m].name, name,
                p->kind == LPEER_PARENT ? "parent" : "child", p->short_id);
      switch (m) {
      case 0:
        s_mprintf(b, "%d\n", p->connected && p->banned_until <= now);
        break;
      case 1:
        s_mprintf(b, "%.3f\n", (double)st.last_sync_ms / 1000.0);
        break;
      case 2:
        if (st.last_sync_ms == 0)
          s_mprintf(b, "+Inf\n");
        else
          s_mprintf(b, "%.3f\n",
                    now > st.last_sync_ms ? (double)(now - st.last_sync_ms) / 1000.0 : 0.0);
        break;
      case 3:
        s_mprintf(b, "%llu\n", (unsigned long long)st.ops_behind_out);
        break;
      case 4:
        s_mprintf(b, "%llu\n", (unsigned long long)st.ops_behind_in);
        break;
      case 5:
        s_mprintf(b, "%llu\n", (unsigned long long)p->bytes_in);
        break;
      case 6:
        s_mprintf(b, "%llu\n", (unsigned long long)p->bytes_out);
        break;
      case 7:
        s_mprintf(b, "%llu\n", (unsigned long long)p->refusals);
        break;
      default:
        s_mprintf(b, "%d\n", p->dup_at != 0 && now - p->dup_at < S_REFUSED_QUIET_MS);
        break;
      }
    }
  }

  lhead *heads = NULL;
  uint32_t nheads = 0;
  lerr e = {0};
  uint64_t ops = 0;
  if (lstore_heads(d->s, &heads, &nheads, &e) == 0)
    for (uint32_t i = 0; i < nheads; i++)
      ops += heads[i].seq;
  free(heads);
  s_help(b, "linli_store_ops", "gauge", "Ops held (the sum of every author's log length).");
  s_mprintf(b, "linli_store_ops %llu\n", (unsigned long long)ops);
  s_help(b, "linli_store_authors", "gauge", "Authors whose ops are held.");
  s_mprintf(b, "linli_store_authors %u\n", nheads);
  s_help(b, "linli_store_size_bytes", "gauge", "Bytes of the store's files on disk.");
  s_mprintf(b, "linli_store_size_bytes %llu\n", (unsigned long long)s_store_bytes(d->cfg->data));
  /* the store's own count: a peer's lrepl counts what that peer may be told */
  uint32_t forks = lstore_fork_count(d->s);
  s_help(b, "linli_store_forks", "gauge", "Authors with proof of two ops at one seq.");
  s_mprintf(b, "linli_store_forks %u\n", forks);
  s_help(b, "linli_ops_ingested_total", "counter", "Ops received from peers and applied.");
  s_mprintf(b, "linli_ops_ingested_total %llu\n", (unsigned long long)d->ops_ingested);
  s_help(b, "linli_commit_seconds", "histogram",
         "Time to apply and durably write a received message that carried new ops.");
  for (int i = 0; i < S_NBUCKETS; i++)
    s_mprintf(b, "linli_commit_seconds_bucket{le=\"%g\"} %llu\n", s_buckets_ms[i] / 1000.0,
              (unsigned long long)d->commit_le[i]);
  s_mprintf(b, "linli_commit_seconds_bucket{le=\"+Inf\"} %llu\n",
            (unsigned long long)d->commit_n);
  s_mprintf(b, "linli_commit_seconds_sum %.6f\n", (double)d->commit_us / 1e6);
  s_mprintf(b, "linli_commit_seconds_count %llu\n", (unsigned long long)d->commit_n);
  return 0;
}

void
daemon_metrics(ldaemon *d, lbuf *b)
{
  s_metrics(d, b);
}

static size_t
s_http_limit(void *ctx, const char *method, const char *path)
{
  (void)ctx;
  (void)method;
  (void)path;
  return 0; /* no request bodies */
}

static void
s_http(void *ctx, const lhttp_req *req, lhttp_resp *resp)
{
  ldaemon *d = ctx;
  if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
    resp->status = 405;
    lbuf_put(&resp->body, "only GET\n", 9);
    return;
  }
  if (strcmp(req->path, "/metrics") != 0) {
    resp->status = 404;
    lbuf_put(&resp->body, "not found: the metrics are at /metrics\n", 39);
    return;
  }
  resp->ctype = "text/plain; version=0.0.4; charset=utf-8";
  s_metrics(d, &resp->body);
}

/* ---- the loop ---- */

/* Timers of one peer: the end of a ban, a delayed disconnection, the
 * session's own timers, a retry after a full queue.  Returns the time of
 * the peer's next timer. */
static uint64_t
s_timers(ldaemon *d, s_peer *p, uint64_t now)
{
  uint64_t next = UINT64_MAX;
  if (p->kick_at) {
    if (now >= p->kick_at) {
      p->kick_at = 0;
      zmq_disconnect(p->sock, p->cfg->endpoint);
      p->connected = false;
      session_destroy(&p->sess);
    } else {
      return p->kick_at;
    }
  }
  if (p->redial_at && p->banned_until == 0) {
    if (now < p->redial_at)
      return p->redial_at;
    p->redial_at = 0;
    zmq_disconnect(p->sock, p->cfg->endpoint);
    if (zmq_connect(p->sock, p->cfg->endpoint) != 0)
      plog_error(p, "cannot connect to %s: %s", p->cfg->endpoint, zmq_strerror(zmq_errno()));
  }
  if (p->banned_until) {
    if (now < p->banned_until)
      return p->banned_until;
    p->banned_until = 0;
    if (p->kind == LPEER_PARENT) {
      plog_info(p, "reconnecting to %s after the pause", p->label);
      if (zmq_connect(p->sock, p->cfg->endpoint) != 0)
        plog_error(p, "cannot connect to %s: %s", p->cfg->endpoint, zmq_strerror(zmq_errno()));
    }
  }
  if (p->sess == NULL || !p->connected)
    return next;
  if (now >= p->next_tick) {
    p->next_tick = session_tick(p->sess, now);
    s_drain(d, p, now);
    s_report(p, now);
  }
  next = p->next_tick;
  if (p->blocked && p->retry_at < next)
    next = p->retry_at;
  if (p->blocked && now >= p->retry_at) {
    s_drain(d, p, now);
    s_report(p, now);
  }
  return next;
}

static void
s_log_start(ldaemon *d)
{
  const lconfig *c = d->cfg;
  char parents[512] = "none";
  size_t used = 0;
  for (uint32_t i = 0; i < c->nparents; i++) {
    int w = snprintf(parents + used, sizeof parents - used, "%s%s (%s)", i ? ", " : "",
                     c->parents[i].name, c->parents[i].endpoint);
    if (w < 0 || (size_t)w >= sizeof parents - used)
      break; /* the list is cut; each parent is logged again when it connects */
    used += (size_t)w;
  }
  log_info("started %s (%s, id %s): listening on %s, %u children allowed; parents: %s; "
           "control %s",
           c->name, config_role_name(c->role), d->self_short, c->listen[0] ? c->listen : "nothing",
           c->nchildren, parents, c->control);
}

/* (Re)builds what the loop polls: after start and after a reload changed
 * the parents. */
static int
s_items(ldaemon *d, lerr *e)
{
  uint32_t n = 2 + (d->router ? 2 : 0) + 2 * d->nparents + (d->http ? 1 : 0) + (d->web ? 1 : 0);
  zmq_pollitem_t *items = calloc(n, sizeof *items);
  if (items == NULL)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  uint32_t k = 0;
  items[k++] = (zmq_pollitem_t){.socket = d->zap, .events = ZMQ_POLLIN};
  items[k++] = (zmq_pollitem_t){.socket = d->control, .events = ZMQ_POLLIN};
  if (d->router) {
    items[k++] = (zmq_pollitem_t){.socket = d->router_mon, .events = ZMQ_POLLIN};
    items[k++] = (zmq_pollitem_t){.socket = d->router, .events = ZMQ_POLLIN};
  }
  for (uint32_t i = 0; i < d->nparents; i++) {
    items[k++] = (zmq_pollitem_t){.socket = d->peers[i].mon, .events = ZMQ_POLLIN};
    items[k++] = (zmq_pollitem_t){.socket = d->peers[i].sock, .events = ZMQ_POLLIN};
  }
  if (d->http)
    items[k++] = (zmq_pollitem_t){.socket = NULL, .fd = http_fd(d->http), .events = ZMQ_POLLIN};
  if (d->web)
    items[k++] = (zmq_pollitem_t){.socket = NULL, .fd = http_fd(d->web), .events = ZMQ_POLLIN};
  free(d->items);
  d->items = items;
  d->nitems = n;
  return 0;
}

/* A setting a reload cannot change while the store and the sockets stay
 * open: the running value is kept and the change waits for a restart. */
static void
s_keep(const char *key, char *nv, const char *old, size_t cap)
{
  if (strcmp(nv, old) == 0)
    return;
  log_warn("reload: %s changed from %s to %s; that takes effect at the next restart", key, old,
           nv);
  snprintf(nv, cap, "%s", old);
}

/* The running peer that a peer of the new configuration continues: same
 * key, same kind and, for a parent, the same endpoint. */
static s_peer *
s_match(ldaemon *d, const lconfig_peer *c, int kind, const bool *taken, uint32_t *at)
{
  for (uint32_t j = 0; j < d->npeers; j++) {
    s_peer *p = &d->peers[j];
    if (taken[j] || p->kind != kind || memcmp(p->cfg->pk, c->pk, LINLI_PK_BYTES) != 0)
      continue;
    if (kind == LPEER_PARENT && strcmp(p->cfg->endpoint, c->endpoint) != 0)
      continue;
    *at = j;
    return p;
  }
  return NULL;
}

/* SIGHUP: reads the configuration file again and applies what can change
 * while running: parents and children (added, removed, renamed), the log
 * level, compression for new sessions.  A peer that is still configured
 * the same way keeps its session and connection.  A file with an error
 * changes nothing. */
static void
s_reload_config(ldaemon *d, uint64_t now)
{
  lerr e = {0};
  lconfig *nc = NULL;
  sdnotify("RELOADING=1");
  if (config_load(&nc, d->cfg->path, &e) != 0) {
    log_error("reload: %s; the running configuration stays", e.msg);
    sdnotify("READY=1");
    return;
  }
  const lconfig *oc = d->cfg;
  s_keep("data", nc->data, oc->data, sizeof nc->data);
  s_keep("listen", nc->listen, oc->listen, sizeof nc->listen);
  s_keep("control", nc->control, oc->control, sizeof nc->control);
  s_keep("control_group", nc->control_group, oc->control_group, sizeof nc->control_group);
  if (nc->metrics_addr != oc->metrics_addr || nc->metrics_port != oc->metrics_port) {
    log_warn("reload: metrics_listen changed; that takes effect at the next restart");
    nc->metrics_addr = oc->metrics_addr;
    nc->metrics_port = oc->metrics_port;
  }
  if (nc->http_addr != oc->http_addr || nc->http_port != oc->http_port ||
      strcmp(nc->http_tls_cert, oc->http_tls_cert) != 0 ||
      strcmp(nc->http_tls_key, oc->http_tls_key) != 0) {
    log_warn("reload: http_listen or its certificate changed; that takes effect at the next "
             "restart");
    nc->http_addr = oc->http_addr;
    nc->http_port = oc->http_port;
    memcpy(nc->http_tls_cert, oc->http_tls_cert, sizeof nc->http_tls_cert);
    memcpy(nc->http_tls_key, oc->http_tls_key, sizeof nc->http_tls_key);
  }
  if (nc->role != oc->role) {
    log_warn("reload: role changed from %s to %s; that takes effect at the next restart",
             config_role_name(oc->role), config_role_name(nc->role));
    nc->role = oc->role;
  }
  if (nc->profile != oc->profile) {
    log_warn("reload: profile changed; that takes effect at the next restart");
    nc->profile = oc->profile;
  }
  if (nc->nchildren && !d->router) {
    log_error("reload: children need a listening socket, which this node opened none of at "
              "start; the running configuration stays");
    config_destroy(&nc);
    sdnotify("READY=1");
    return;
  }
  uint32_t n = nc->nparents + nc->nchildren;
  s_peer *np = calloc(n ? n : 1, sizeof *np);
  bool *taken = calloc(d->npeers ? d->npeers : 1, sizeof *taken);
  bool *fresh = calloc(n ? n : 1, sizeof *fresh);
  if (np == NULL || taken == NULL || fresh == NULL) {
    log_error("reload: out of memory; the running configuration stays");
    free(np);
    free(taken);
    free(fresh);
    config_destroy(&nc);
    sdnotify("READY=1");
    return;
  }
  /* Peers that continue are moved over (sessions hold no pointer into the
   * array); the others are closed before the new ones are registered, so
   * that a key that moved from child to parent is registered once. */
  for (uint32_t i = 0; i < n; i++) {
    bool parent = i < nc->nparents;
    const lconfig_peer *c = parent ? &nc->parents[i] : &nc->children[i - nc->nparents];
    uint32_t at;
    s_peer *old = s_match(d, c, parent ? LPEER_PARENT : LPEER_CHILD, taken, &at);
    if (old == NULL) {
      fresh[i] = true;
      continue;
    }
    taken[at] = true;
    np[i] = *old;
    np[i].cfg = c;
    snprintf(np[i].label, sizeof np[i].label, "%s %s", parent ? "parent" : "child", c->name);
  }
  uint32_t added = 0, removed = 0;
  for (uint32_t j = 0; j < d->npeers; j++) {
    if (taken[j])
      continue;
    s_peer *p = &d->peers[j];
    plog_info(p, "reload: %s is no longer configured%s", p->label,
              p->kind == LPEER_CHILD ? "; its messages are ignored from now on" : "");
    s_peer_release(p);
    replica_peer_drop(d->repl, p->cfg->pk);
    removed++;
  }
  uint8_t cpk[32], csk[32];
  int krc = s_curve_pair(d, cpk, csk, &e);
  uint32_t k = 0;
  for (uint32_t i = 0; i < n; i++) {
    bool parent = i < nc->nparents;
    if (!fresh[i]) {
      np[k++] = np[i];
      continue;
    }
    const lconfig_peer *c = parent ? &nc->parents[i] : &nc->children[i - nc->nparents];
    s_peer *p = &np[k];
    memset(p, 0, sizeof *p);
    int rc = krc ? krc : s_peer_init(d, p, c, parent ? LPEER_PARENT : LPEER_CHILD, &e);
    if (rc == 0 && parent)
      rc = s_parent_socket(d, p, cpk, csk, &e);
    if (rc) {
      log_error("reload: cannot add %s %s: %s", parent ? "parent" : "child", c->name, e.msg);
      s_peer_release(p);
      replica_peer_drop(d->repl, c->pk);
      memset(p, 0, sizeof *p);
      continue;
    }
    plog_info(p, "reload: %s added", p->label);
    added++;
    k++;
  }
  sodium_memzero(csk, sizeof csk);
  uint32_t nparents = 0;
  for (uint32_t i = 0; i < k; i++)
    nparents += np[i].kind == LPEER_PARENT;
  free(d->peers);
  d->peers = np;
  d->npeers = k;
  d->nparents = nparents;
  d->cfg = nc;
  config_destroy(&d->own_cfg);
  d->own_cfg = nc;
  free(taken);
  free(fresh);
  if (s_index(d, &e) != 0 || s_items(d, &e) != 0) {
    log_error("reload: %s; stopping", e.msg);
    s_stop = 1;
    return;
  }
  log_init(nc->name, nc->log_level);
  /* Link settings: a continuing session takes its peer's timers as they
   * are now; the sockets' heartbeats apply to their next connections. */
  for (uint32_t i = 0; i < d->npeers; i++) {
    s_peer *p = &d->peers[i];
    lconfig_link lk;
    config_peer_link(nc, p->cfg, &lk);
    if (p->sess)
      session_set_timers(p->sess, lk.ping_ms, lk.resync_ms);
    if (p->sock && s_common_opts(d, p->cfg, p->sock, &e) != 0)
      log_warn("reload: %s: %s", p->label, e.msg);
    p->next_tick = 0;
  }
  if (d->router && s_common_opts(d, NULL, d->router, &e) != 0)
    log_warn("reload: the listening socket: %s", e.msg);
  log_info("reloaded %s: %u parents, %u children (%u added, %u removed)", nc->path, nparents,
           k - nparents, added, removed);
  for (uint32_t i = 0; i < d->npeers; i++)
    d->peers[i].news = true;
  s_flush_news(d, now);
  sdnotify("READY=1");
}

/* STATUS= for `systemctl status`, when it changed; at most once a second. */
static void
s_notify_status(ldaemon *d, uint64_t now)
{
  if (now - d->status_at < 1000u)
    return;
  d->status_at = now;
  uint32_t up = 0;
  uint64_t out = 0, in = 0;
  for (uint32_t i = 0; i < d->npeers; i++) {
    s_peer *p = &d->peers[i];
    if (!p->connected || p->banned_until > now)
      continue;
    up++;
    if (p->sess) {
      lsession_stat st;
      session_stat_get(p->sess, &st);
      out += st.ops_behind_out;
      in += st.ops_behind_in;
    }
  }
  char msg[sizeof d->status];
  snprintf(msg, sizeof msg, "STATUS=%u of %u peers connected; %llu ops to send, %llu to receive",
           up, d->npeers, (unsigned long long)out, (unsigned long long)in);
  if (strcmp(msg, d->status) == 0)
    return;
  memcpy(d->status, msg, sizeof msg);
  sdnotify(msg);
}

int
daemon_run(ldaemon *d, lerr *e)
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = s_on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; /* no SA_RESTART: zmq_poll must return on a signal */
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  if (s_items(d, e) != 0)
    return e->code;
  s_log_start(d);
  /* The store is open and every socket bound: `linli` works from now on. */
  sdnotify("READY=1");
  int rc = 0;
  while (!s_stop) {
    uint64_t now = s_now();
    if (s_reload) {
      s_reload = 0;
      s_reload_config(d, now);
    }
    if (d->watchdog_ms && now >= d->watchdog_at) {
      sdnotify("WATCHDOG=1");
      d->watchdog_at = now + d->watchdog_ms;
    }
    s_notify_status(d, now);
    uint64_t next = now + S_POLL_MAX_MS;
    if (d->watchdog_ms && d->watchdog_at < next)
      next = d->watchdog_at;
    if (d->http) {
      uint64_t t = http_timeout_ms(d->http);
      if (t < next - now)
        next = now + t;
    }
    if (d->web) {
      uint64_t t = http_timeout_ms(d->web);
      if (t < next - now)
        next = now + t;
      t = api_timeout_ms(d->api);
      if (t < next - now)
        next = now + t;
    }
    s_flush_news(d, now);
    for (uint32_t i = 0; i < d->npeers; i++) {
      uint64_t t = s_timers(d, &d->peers[i], now);
      if (t < next)
        next = t;
    }
    long timeout = next > now ? (long)(next - now) : 0;
    if (zmq_poll(d->items, (int)d->nitems, timeout) < 0) {
      if (zmq_errno() == EINTR)
        continue;
      rc = s_zerr(e, "poll");
      break;
    }
    now = s_now();
    /* Monitors first: a disconnection must be known before the first
     * message of the reconnection that follows it. */
    if (d->router)
      s_router_events(d);
    for (uint32_t i = 0; i < d->nparents; i++)
      s_parent_events(d, &d->peers[i], now);
    while (s_zap(d, now))
      ;
    for (int b = 0; d->router && b < S_BATCH && s_router_one(d, now); b++)
      ;
    for (uint32_t i = 0; i < d->nparents; i++)
      for (int b = 0; b < S_BATCH && s_parent_one(d, &d->peers[i], now); b++)
        ;
    s_flush_news(d, now);
    s_control(d, now);
    s_release_held(d, now);
    if (d->http)
      http_run(d->http);
    if (d->web) {
      http_run(d->web);
      api_tick(d->api);
    }
  }
  sdnotify("STOPPING=1");
  return rc;
}
