/*
 * daemon.h - linli-node's event loop: the store, one sync session per
 * peer, ZeroMQ sockets, and the local control socket.
 *
 * Topology.  A node listens (ROUTER) for its children and connects (one
 * DEALER each) to its parents; the configuration (node/config.h) lists
 * both by public key.  Every socket is CURVE-encrypted with keys derived
 * from the node's ed25519 identity, so the key a station signs its records
 * with is also the key it is known by on the wire.  A ZAP handler admits
 * only configured children; the sender of each received message is taken
 * from the User-Id the ZAP handler gave its connection, never from the
 * routing id, which the connecting side chooses.
 *
 * The loop is one thread around zmq_poll.  Nothing in it blocks on the
 * network: every send is non-blocking, and a message that cannot be sent
 * now is handed back to its session (session_unsent) and offered again
 * later.  What does block is the store: an apply or a command waits for
 * its synced RocksDB write, which is the point of the store.
 *
 * Peers that send bad data are logged with the reason, sent an ERROR, and
 * refused for 60 seconds: a parent is disconnected and reconnected after
 * the ban; a child's messages are ignored and its reconnections refused by
 * the ZAP handler (ZeroMQ offers no way to close one peer's connection on
 * a ROUTER, so the connection itself may stay up, unused).
 *
 * Control socket.  A REP socket at cfg->control (ipc://DATA/control.sock by
 * default, mode 0660 for the group of cfg->control_group, which defaults
 * to the data directory's group; 0600 with `none`) lets `linli` run
 * commands against the store the daemon holds open.  One request is one
 * ZeroMQ message of at most DAEMON_CTL_MAX bytes, and so is its answer; the
 * daemon hands the request's bytes to the hook installed with
 * daemon_set_exec (tools/linli/control.c decodes the typed request of
 * docs/OPERATING.md, "The control socket"), in the loop's thread, sends the
 * answer the hook built, and tells every session afterwards that local data
 * may have changed, so a write reaches the connected peers at once.  What
 * the daemon answers itself (a request in several parts, no hook, an
 * answer too large) has the hook's answer form [exit status 2, stdout "",
 * stderr (one line), no files].
 */
#ifndef LINLI_DAEMON_H
#define LINLI_DAEMON_H

#include "crdt/mp.h"
#include "node/config.h"
#include "node/store.h"

#include <sys/types.h>

typedef struct ldaemon ldaemon;

/* The largest control request or answer, in bytes (the files a command
 * reads or writes travel inside them). */
#define DAEMON_CTL_MAX ((size_t)256 << 20)

/* Runs one control request (req[0..n), as the client sent it: input from
 * any member of the socket's group, checked by the hook) against the
 * daemon's open store and appends the whole answer to `reply`.  `ctx` is
 * what was given to daemon_set_exec.  `as` (NULL: the node's own key) is
 * the identity the command signs its writes with: a person logged in
 * through the HTTP API.  The store must not be closed. */
typedef void (*daemon_exec_fn)(void *ctx, lstore *s, const lident *as, const uint8_t *req,
                               size_t n, lbuf *reply);

/* Opens the store named by `cfg` (borrowed: it must outlive the daemon),
 * reads the node's key, creates and binds every socket.  A store another
 * process holds is waited for up to 10 s; on a disk too full to open it
 * for writing it is opened read-only (reads and sync-out only; logged).
 * Errors name what failed: LINLI_EBUSY (the store stayed held), LINLI_EIO
 * (a socket could not be bound), LINLI_EINVAL (a peer with our own key). */
int daemon_new(ldaemon **out, const lconfig *cfg, lerr *e);

/* Closes the sockets, then the store (which flushes it); *d becomes NULL.
 * Safe on NULL. */
void daemon_destroy(ldaemon **d);

/* Installs the command hook.  With none, control requests are answered
 * with exit status 2 and a one-line explanation. */
void daemon_set_exec(ldaemon *d, daemon_exec_fn fn, void *ctx);

/* Runs the loop until SIGTERM or SIGINT (handlers installed here, without
 * SA_RESTART, so that zmq_poll returns at once).  Returns 0 on a requested
 * stop, or a negative code when the loop itself failed. */
int daemon_run(ldaemon *d, lerr *e);

/* Asks a running loop to stop at its next turn; safe in a signal
 * handler. */
void daemon_request_stop(void);

/* Binds the ZeroMQ socket `sock` to the control endpoint `ep`, which must be
 * ipc://PATH: a stale socket file is removed, and the new one is created
 * owner-only (umask 077 around the bind), then given to group `gid` and
 * made 0660, or made 0600 when gid is (gid_t)-1; at no moment can anyone
 * else connect.  `path` (size `cap`) gets PATH, to remove at exit; it is
 * empty on failure. */
int daemon_bind_control(void *sock, const char *ep, gid_t gid, char *path, size_t cap,
                        lerr *e);

lstore *daemon_store(ldaemon *d);
const lconfig *daemon_config(const ldaemon *d);

/* Runs a control request (docs/OPERATING.md, "The control socket")
 * through the hook (daemon_exec_fn) as the HTTP API needs it: writes
 * signed by `as`; the sessions are told of local changes afterwards.
 * LINLI_EINVAL when no hook is installed. */
int daemon_exec(ldaemon *d, const lident *as, const uint8_t *req, size_t n, lbuf *reply,
                lerr *e);

/* Local data changed outside a command (a write through the HTTP API):
 * every session is told, so that the write reaches the peers at once. */
void daemon_local_change(ldaemon *d);

/* The Prometheus text of /metrics into b. */
void daemon_metrics(ldaemon *d, lbuf *b);

/* One peer as `linli status` shows it. */
typedef struct ldaemon_peer_status {
  char name[LCONFIG_NAME_MAX + 1];
  char short_id[LINLI_SHORT_ID_LEN + 1];
  uint8_t pk[LINLI_PK_BYTES];
  bool parent;               /* false: a child */
  bool connected;
  bool banned;               /* refused after bad data, for now */
  char address[LCONFIG_ENDPOINT_MAX]; /* a parent's endpoint, a child's last address */
  uint64_t last_sync_ms;     /* wall time neither side lacked anything; 0: never */
  uint64_t ops_behind_out;   /* ops we hold that the peer lacks */
  uint64_t ops_behind_in;    /* ops the peer holds that we lack */
  int64_t clock_offset_ms;   /* the peer's clock minus ours */
  uint64_t rtt_ms;
  uint64_t ops_sent, ops_received; /* since the session started */
  uint64_t link_rate;        /* the link's rate as measured, bytes/s (0: not yet) */
  uint32_t link_cap;         /* the DATA size (bytes on the wire) sized to it */
  uint32_t data_max;         /* the largest DATA sent since the session started */
  uint32_t version;          /* the protocol version spoken (0: no HELLO yet) */
  uint64_t duplicate_ms;     /* wall time a second live connection with this key
                                was last seen (two nodes, one identity); 0: never */
  char duplicate_address[LCONFIG_ENDPOINT_MAX]; /* the address of the other one */
  uint64_t refusals;         /* times refused after bad data since the start */
  uint64_t refused_ms;       /* wall time of the last refusal; 0: none */
  char refused_why[200];     /* ... and why */
  uint64_t bytes_in, bytes_out; /* sync messages since the start */
} ldaemon_peer_status;

/* Every configured peer, parents first, in configuration order.  *out is
 * malloc'd (caller frees); on error it is NULL and *n is 0. */
int daemon_peer_status(const ldaemon *d, ldaemon_peer_status **out, uint32_t *n, lerr *e);

#endif
