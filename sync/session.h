/*
 * session.h - the sync protocol between two nodes, as a state machine.
 *
 * One `lsession` is one side of one connection.  It takes received messages
 * (session_recv), hands back messages to send (session_next_out), and is
 * told the time (every call takes `now_ms`) and when local data changed
 * (session_local_change).  It owns no socket and reads no clock; the node
 * drives it with ZeroMQ, the tests wire two sessions together in memory.
 * docs/PROTOCOL.md specifies every message.
 *
 * What a session needs from the node's data it asks through `lrepl`: the
 * heads in the peer's replication scope, signed deltas to send, and the
 * application (verify, then apply, all or nothing) of deltas received.
 *
 * Flow control: each side announces a receive window in bytes; the other
 * never has more than that many bytes of DATA unacknowledged, counted as
 * they travel (a compressed message counts its compressed size).  A side
 * that is far behind therefore holds at most one window of data in memory
 * (plus the one message it is decompressing), and the sender builds each
 * message only when credit allows, so its memory is bounded too, whatever
 * the backlog.  While messages are in flight it waits for credit worth half
 * a message (at the compression ratio seen so far) instead of filling each
 * returned sliver: every DATA is one synced commit at the receiver, and a
 * window of a few messages otherwise settles into many small ones.
 *
 * Link: the sender also measures the link from its ACKs (each message's
 * size over the time to its ACK, counted from the previous ACK when that
 * came later; the clock is the `now_ms` of each call) and keeps each DATA
 * to cfg.data_ms of it, two at most in flight, starting at
 * SYNC_LINK_START on each connection: on a slow link nothing (a
 * heartbeat, an ACK) waits behind more than a few seconds of data, and a
 * connection cut mid-message loses one small message.
 *
 * Compression: each side lists in its HELLO whether it accepts DATA
 * compressed with zstd; a side sends compressed DATA only to a peer that
 * did, and only when that is smaller.  Links are slow (2G) and deltas are
 * text-heavy, so it is on by default.  A compressed message expands to at
 * most SYNC_MAX_MESSAGE bytes; anything that would expand further, or that
 * is not one well-formed zstd frame, is refused before any memory is
 * allocated for it.  A session that has compressed or decompressed a
 * message keeps its zstd context until both sides are in sync (or it is
 * destroyed); zstd sizes it for the largest message compressed: at the
 * default level about 1.0 MB for 256 KiB messages and 1.3 MB for 1 MiB
 * ones (level 9: 3.7 and 13 MB, level 19: 5.5 and 18 MB), 100 KB to
 * decompress.
 *
 * Message size: each side has a bound on the DATA it sends and tells the
 * peer, in its HELLO, when it wants smaller DATA than the protocol's
 * largest; a sender keeps to the smaller of its own bound and the peer's.
 *
 * Versions: a HELLO names the newest protocol version its sender speaks
 * (and, in its options, the oldest); both sides speak the older of the two
 * newest, and a peer with none in common is refused (LINLI_EVERSION).
 *
 * Receiver rules: what the peer must not send (HELLO heads out of order,
 * a child's head of class 1, an ACK for a DATA never sent, ...) is refused with an ERROR that names the rule, or,
 * where an honest peer can produce it, ignored on purpose; malformed
 * messages are refused with the element and byte offset that was wrong.
 *
 * Resumption: deltas are applied and acknowledged message by message, and
 * every (re)connection starts with HELLO carrying the heads each side holds,
 * so a transfer cut off mid-way resumes from the last applied op; nothing
 * acknowledged is ever sent again.  The initiator, when the last
 * connection ended with nothing in flight and no ERROR, sends what the
 * peer then lacked right behind its HELLO, a round trip before the answer
 * (docs/PROTOCOL.md, "DATA right after HELLO").
 */
#ifndef LINLI_SESSION_H
#define LINLI_SESSION_H

#include "crdt/err.h"
#include "crdt/ident.h"
#include "crdt/mp.h"

#define SYNC_VERSION 1      /* the newest protocol version this node speaks */
#define SYNC_VERSION_MIN 1  /* the oldest */
#define SYNC_MAX_MESSAGE (1u << 20)   /* no message is larger than 1 MiB, nor
                                         expands to more once decompressed */
#define SYNC_MIN_MESSAGE (16u << 10)  /* the smallest DATA bound a side may ask
                                         for (a lone larger delta still goes) */
#define SYNC_MAX_INFLIGHT 256         /* DATA messages a sender has unacknowledged */
#define SYNC_LINK_START (8u << 10)    /* DATA bytes on a new connection, before
                                         the link is measured */
#define SYNC_LINK_MIN (2u << 10)      /* the smallest DATA sized to the link */

/* zstd levels for lsession_cfg.compress.  Higher levels gain little on
 * deltas (signatures, hashes and values are close to random) and cost
 * much more CPU: see docs/PROTOCOL.md, "Compression". */
#define LSESSION_COMPRESS_OFF (-1)
#define LSESSION_COMPRESS_DEFAULT 3
#define LSESSION_COMPRESS_MAX 19

/* Replication classes a parent gives the authors it offers a child. */
enum {
  LSCOPE_DOWN = 0,    /* authored at or above the sender: every node below may hold it */
  LSCOPE_SUBTREE = 1, /* belongs to the receiving node's own subtree */
};

typedef struct lrepl_head {
  uint8_t author[LINLI_PK_BYTES];
  uint64_t seq;
  uint8_t hash[LINLI_HASH_BYTES];
  uint8_t cls; /* LSCOPE_* as seen from the peer */
} lrepl_head;

/* The node's data, as the protocol sees it.  Every call may fail with a
 * LINLI_E* code and fills `e`. */
typedef struct lrepl {
  void *ctx;
  /* Heads of the logs `peer` may hold (its replication scope), sorted by
   * author.  *out is malloc'd (caller frees). */
  int (*heads)(void *ctx, const uint8_t peer[LINLI_PK_BYTES], lrepl_head **out, uint32_t *n,
               lerr *e);
  /* What we hold of one author, in or out of the peer's scope
   * (LINLI_ENOTFOUND when nothing).  Used to answer for the logs the peer
   * itself listed in its HELLO, so that it does not send them again; `seq`
   * and `h8` (the first 8 bytes of the hash) are the head it listed, so
   * that an answer for an author it may not be told about can say no more
   * than that head.  May be NULL. */
  int (*head)(void *ctx, const uint8_t author[LINLI_PK_BYTES], uint64_t seq, const uint8_t h8[8],
              lrepl_head *out, lerr *e);
  /* Appends to `out` signed deltas (msgpack objects) of `author` from seq
   * `from`, each at most `max_delta` bytes where possible, stopping once
   * about `budget` bytes were appended; *last gets the last seq appended
   * (from-1 when none). */
  int (*read)(void *ctx, const uint8_t author[LINLI_PK_BYTES], uint64_t from, size_t max_delta,
              size_t budget, lbuf *out, uint32_t *count, uint64_t *last, lerr *e);
  /* Verifies and applies deltas received from `peer`, all or nothing,
   * except that deltas the trust rules refuse (an author without a valid
   * certificate, out of its namespace, revoked or forked: not the peer's
   * fault, it may not know yet) are left out and flagged in refused[i].
   * LINLI_EGAP when one does not connect to what is held (a lost message:
   * not the peer's fault either); any other error means the peer sent bad
   * data. */
  int (*apply)(void *ctx, const uint8_t peer[LINLI_PK_BYTES], const uint8_t *const *d,
               const size_t *len, uint32_t n, uint64_t now_ms, uint8_t *refused, lerr *e);
  /* The peer (a parent) says which class an author it offers has. */
  void (*classify)(void *ctx, const uint8_t peer[LINLI_PK_BYTES],
                   const uint8_t author[LINLI_PK_BYTES], int cls);
  /* The chain hash of `author`'s op `seq` as held, and whether fork
   * evidence against `author` is held (*forked).  Used when the peer's
   * HELLO names a seq below ours: a differing hash there means our log
   * and the peer's diverged.  May be NULL. */
  int (*hash_at)(void *ctx, const uint8_t author[LINLI_PK_BYTES], uint64_t seq,
                 uint8_t hash[LINLI_HASH_BYTES], bool *forked, lerr *e);
  /* Fork evidence (docs/FORMAT.md), so that every node hears of a fork,
   * not only the one that saw both histories.  fork_count: how many pieces
   * the peer may be told of (the evidence of authors in its replication
   * scope: evidence holds two of the author's ops), all told again when
   * the count moves; fork_get: the i-th of them (0-based) into `out`, 1
   * when there is one; fork_put: evidence from the peer, checked on its own
   * and kept when its author is in our own scope (an error means the peer
   * sent bad data).  All three may be NULL. */
  uint32_t (*fork_count)(void *ctx);
  int (*fork_get)(void *ctx, uint32_t i, lbuf *out, lerr *e);
  int (*fork_put)(void *ctx, const uint8_t peer[LINLI_PK_BYTES], const uint8_t *p, size_t n,
                  lerr *e);
} lrepl;

/* What a peer can make a session hold or do, in one place (0 in a field:
 * its default).  A peer that goes beyond a limit is refused with
 * LINLI_EFLOODED before anything of the message is applied: the session
 * queues an ERROR and the caller drops the peer.  Per-author state is kept
 * only for the authors in the peer's scope and those we hold (the peer's
 * word on any other author is counted, not stored), so what a session
 * holds grows with the local store, not with what the peer lists. */
typedef struct lsession_limits {
  uint32_t hello_heads;   /* heads the peer's HELLO may list, all its parts
                             together (0: 1,000,000) */
  uint32_t answers;       /* messages waiting to be sent: ACKs, PONGs, our
                             HELLO, ERROR, FORK.  A peer that sends DATA
                             while not reading our ACKs fills it (0: 2 *
                             SYNC_MAX_INFLIGHT + 64, room for every ACK a
                             sender within SYNC_MAX_INFLIGHT can be owed,
                             twice: across a HELLO) */
} lsession_limits;

typedef struct lsession_cfg {
  uint8_t self[LINLI_PK_BYTES];
  uint8_t peer[LINLI_PK_BYTES];  /* authenticated by the transport */
  bool initiator;                /* the side that connected (the child) */
  uint32_t window;               /* receive window in bytes (0: 8 MiB) */
  uint32_t max_message;          /* DATA size bound, both the one we send
                                    and the one we ask the peer for (0:
                                    1 MiB; SYNC_MIN_MESSAGE to
                                    SYNC_MAX_MESSAGE) */
  uint32_t ping_ms;              /* idle interval before a PING (0: 5 s) */
  uint32_t resync_ms;            /* anti-entropy HELLO interval (0: 5 min) */
  uint32_t data_ms;              /* link time one DATA may take, as measured
                                    from ACK timing (0: 2 s); at most two
                                    such messages are in flight */
  int compress;                  /* zstd level of the DATA we send, 1 to 19
                                    (0: LSESSION_COMPRESS_DEFAULT);
                                    LSESSION_COMPRESS_OFF: we neither accept
                                    nor send compressed DATA */
  /* The protocol versions this side speaks, oldest and newest (0:
   * SYNC_VERSION_MIN and SYNC_VERSION).  Only tests set them, to stand in
   * for a node of another version (LINLI_TEST_PROTOCOL in linli-node):
   * this implementation speaks version 1 whatever it says. */
  uint32_t version_min, version_max;
  lsession_limits limits;
} lsession_cfg;

typedef struct lsession lsession;

typedef struct lsession_stat {
  bool hello_done;               /* both sides know each other's heads */
  uint64_t hellos_received;      /* whole HELLOs read: session_peer_seq is the
                                    peer's HELLO, not only its ACKs, once it
                                    moved */
  uint32_t version;              /* the protocol version in use (0: none yet) */
  uint64_t last_rx_ms, last_tx_ms;
  uint64_t last_sync_ms;         /* last time neither side lacked anything */
  int64_t clock_offset_ms;       /* peer clock minus ours, from PING/PONG */
  uint64_t rtt_ms;
  uint64_t ops_behind_out;       /* ops we hold that the peer lacks */
  uint64_t ops_behind_in;        /* ops the peer holds that we lack */
  uint64_t ops_sent, ops_received, bytes_sent, bytes_received;
  uint64_t deltas_refused;       /* left out by the trust rules */
  uint64_t msgs_sent, msgs_received, round_trips;
  uint32_t inflight_bytes;
  uint32_t link_cap;             /* DATA bytes (on the wire) sized to the link */
  uint64_t link_rate;            /* the link's rate as measured, bytes/s (0: not yet) */
  uint32_t authors;              /* authors the session keeps state for: those
                                    in the peer's scope and those we hold */
  bool compress_tx;              /* the peer accepts compressed DATA and we send it */
  uint64_t data_bytes_sent;      /* DATA messages as sent */
  uint64_t data_bytes_plain;     /* the same, had none been compressed */
  uint32_t data_max;             /* the largest DATA sent, bytes on the wire:
                                    what a cut connection may cost */
  uint64_t data_deferred;        /* DATA built, then kept back: it compressed
                                    worse than expected and would have
                                    overrun the peer's window */
  uint64_t zstd_bytes;           /* held by zstd contexts now (none once in
                                    sync) */
} lsession_stat;

lsession *session_new(const lsession_cfg *cfg, const lrepl *repl);
void session_destroy(lsession **s);

/* Starts (or restarts, after a reconnection) the exchange: the initiator
 * queues HELLO; the other side answers the initiator's HELLO. */
void session_start(lsession *s, uint64_t now_ms);

/* Handles one received message.  Returns 1 when it applied new ops (call
 * session_local_change on the other sessions), 0 when it did not, or a
 * negative code when the
 * peer broke the protocol or sent bad data: the caller logs e->msg, sends
 * what session_next_out still has (an ERROR message) and drops the peer.
 * Nothing from a message that fails is applied. */
int session_recv(lsession *s, const uint8_t *msg, size_t n, uint64_t now_ms, lerr *e);

/* Local data changed (a write, or deltas from another peer): the session
 * will offer the new ops on its next session_next_out. */
void session_local_change(lsession *s);

/* Changes cfg.ping_ms and cfg.resync_ms (0: their defaults) of a running
 * session: a reloaded link setting, taken at the next timer. */
void session_set_timers(lsession *s, uint32_t ping_ms, uint32_t resync_ms);

/* The initiator sends its anti-entropy HELLO at the next session_tick
 * rather than after cfg.resync_ms: the peer's heads are wanted anew. */
void session_resync(lsession *s);

/* Timers: PING when idle, anti-entropy HELLO.  Returns the time of the next
 * timer. */
uint64_t session_tick(lsession *s, uint64_t now_ms);

/* The next message to send, built on demand, in `out` (replaced).  Returns
 * 1 when there is one, 0 when there is nothing to send now, or a negative
 * code when reading local data failed. */
int session_next_out(lsession *s, lbuf *out, uint64_t now_ms, lerr *e);

/* Tells the session that the message it handed out last could not be sent
 * (a full queue, a dead peer): its data will be offered again. */
void session_unsent(lsession *s);

void session_stat_get(const lsession *s, lsession_stat *st);
/* How much of `author`'s log the peer holds, as its HELLO and ACKs said
 * (0 when it named none). */
uint64_t session_peer_seq(lsession *s, const uint8_t author[LINLI_PK_BYTES]);
const uint8_t *session_peer(const lsession *s);

#endif
