/*
 * session.c - the sync protocol state machine; see session.h for the model
 * and docs/PROTOCOL.md for the messages.
 *
 * Per author in the peer's scope the session keeps three numbers: what we
 * hold (local), what the peer is known to hold (acked: from its HELLO and
 * its ACKs) and how far we have sent (sent, >= acked).  Authors outside
 * that scope get state only when we hold them (the peer listed them and
 * our HELLO answers with what we hold); the others a peer lists are only
 * counted (`unheld_ops`), so that what a session keeps grows with the local
 * store, never with what a peer chooses to list.  DATA carries the ops
 * between sent and local, built only when credit allows; an ACK moves acked
 * forward and returns credit; an ACK that reports a gap (a message lost on
 * the way) moves sent back to acked, so the data goes again.  A HELLO, at
 * every (re)connection and periodically, resets sent to what the peer
 * really holds: whatever a link lost is repaired there.
 *
 * Compression is per DATA message: each is one zstd frame on its own, with
 * no state carried from one message to the next, so a lost, duplicated or
 * reordered message never breaks the ones after it.  The price is that a
 * small message cannot refer to what earlier ones carried.  A shared
 * dictionary would recover some of that, but it would be a constant every
 * client must carry, and one trained on sample deltas gained nothing on
 * 256 KiB messages and about 4% on 4 KiB ones (signatures, hashes and
 * values are close to random): there is none.
 */
#include "sync/session.h"
#include "crdt/delta.h"
#include "crdt/hmap.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define SYNC_DOMAIN "linli-sync"
#define HASH8 8
#define HELLO_HEADS_DEFAULT 1000000
#define HELLO_MIN 8   /* a HELLO without options (before compression) */
/* Heads per HELLO part, when a HELLO does not fit one message: at most 55
 * bytes each, 16,384 of them and the rest of a HELLO stay well within
 * SYNC_MAX_MESSAGE. */
#define HELLO_PART_HEADS 16384
#define HELLO_PARTS_MAX 1024

/* A delta of the largest size goes alone in a DATA of the largest msg_no:
 * 93 01 cf <8 bytes> 91 <delta>. */
_Static_assert(DELTA_MAX_BYTES + 12 == SYNC_MAX_MESSAGE, "a delta fits in one DATA");

enum { M_HELLO = 0, M_DATA = 1, M_ACK = 2, M_PING = 3, M_PONG = 4, M_ERROR = 5, M_FORK = 6 };

typedef struct pstate {
  uint8_t author[LINLI_PK_BYTES];
  uint64_t local, acked, sent, adv; /* adv: the most the peer said it holds */
  uint64_t base;                    /* acked when DATA went early (session_start) */
  uint8_t hash8[HASH8];             /* our head hash prefix at `local` */
  uint8_t cls;                      /* LSCOPE_* we tell the peer */
  bool in_scope;                    /* we may send it to the peer */
  bool announced;                   /* listed in a HELLO we sent */
  bool echo;                        /* out of scope, but the peer listed it:
                                       our HELLO says what we hold of it */
  bool fork;                        /* same seq, different history: not synced */
  bool unheld;                      /* counted in lsession.unheld_ops, held
                                       since: what arrives comes off it */
} pstate;

typedef struct dhead {
  uint8_t author[LINLI_PK_BYTES];
  uint64_t first, last;
} dhead;

typedef struct inflight {
  uint64_t msg_no;
  uint32_t bytes;
  uint64_t sent_ms;
} inflight;

/* What the DATA message handed out last advanced, to undo it if it could
 * not be sent. */
typedef struct undo {
  pstate *p;
  uint64_t sent_before;
} undo;

struct lsession {
  lsession_cfg cfg;
  lrepl repl;
  hmap authors;        /* author -> pstate* */
  pstate **order;      /* the same, in our scope order for sending */
  uint32_t norder, order_cap;
  bool local_dirty;
  bool hello_rx;       /* the peer's heads are known */
  /* The initiator on a new connection, before the answer to its HELLO:
   * `known` when the last connection's HELLO and ACKs said exactly what
   * the peer holds (nothing was in flight when it ended) and no ERROR came
   * since; `early` while DATA goes from there ahead of the answer. */
  bool known, early;
  int64_t credit;
  uint32_t peer_window;
  /* The link as measured from ACK timing: bytes a second (0: no sample
   * yet), and the DATA size (bytes on the wire) that takes cfg.data_ms of
   * it, which also bounds what we keep in flight to two such messages. */
  double link_rate;
  uint32_t link_cap;
  uint64_t last_ack_ms;
  inflight infl[SYNC_MAX_INFLIGHT];
  uint32_t ninfl;
  uint64_t next_msg_no;
  lbuf *ctrl;          /* control messages waiting, FIFO: a ring of
                          cfg.limits.answers */
  uint32_t ctrl_head, nctrl;
  int last_kind;       /* kind of the message handed out last */
  lbuf last_ctrl;      /* a copy of it when it was a control message */
  undo *undo;          /* when it was DATA: the authors it advanced */
  uint32_t nundo, undo_cap;
  uint64_t undo_ops;
  uint64_t undo_plain; /* ... and its size had it not been compressed */
  bool peer_opts;      /* the peer's HELLO had options: ours may have them */
  bool peer_zstd;      /* the peer accepts zstd-compressed DATA */
  uint32_t peer_max;   /* the largest DATA the peer wants (0: not said) */
  uint32_t version;    /* the protocol version both speak (0: no HELLO yet) */
  ZSTD_CCtx *zc;       /* made at the first message compressed */
  ZSTD_DCtx *zd;       /* made at the first message decompressed */
  uint64_t last_hello_tx, last_ping_tx;
  uint32_t forks_told;   /* fork evidence count when we last sent it all */
  const uint8_t *rx0;    /* the start of what is being read, for the byte
                            offsets in ERROR reasons */
  /* The ops the peer's last HELLO listed of authors we neither held nor
   * had in its scope: what we lack of them, without state per author.  An
   * author whose first ops from the peer are applied gets state, and every
   * op that arrives of it comes off the count; the next HELLO counts
   * afresh. */
  uint64_t unheld_ops;
  /* A HELLO in parts being received: how many, the next expected, the
   * heads the parts so far listed and the last author they named (0
   * parts: none under way). */
  uint32_t hello_parts, hello_part_next, hello_part_heads;
  uint8_t hello_part_last[LINLI_PK_BYTES];
  lsession_stat st;
};

/* ---- state ---- */

static pstate *
s_author(lsession *s, const uint8_t *author, bool create)
{
  pstate *p = hmap_get(&s->authors, author, LINLI_PK_BYTES);
  if (p || !create)
    return p;
  p = calloc(1, sizeof *p);
  if (p == NULL)
    return NULL;
  memcpy(p->author, author, LINLI_PK_BYTES);
  if (hmap_put(&s->authors, author, LINLI_PK_BYTES, p) != 0) {
    free(p);
    return NULL;
  }
  return p;
}

static void
s_free_authors(lsession *s)
{
  for (size_t i = 0; i < s->authors.cap; i++)
    if (s->authors.slots[i].key)
      free(s->authors.slots[i].val);
  hmap_free(&s->authors);
  s->norder = 0;
}

lsession *
session_new(const lsession_cfg *cfg, const lrepl *repl)
{
  lsession *s = calloc(1, sizeof *s);
  if (s == NULL)
    return NULL;
  s->cfg = *cfg;
  if (s->cfg.window == 0)
    s->cfg.window = 8u << 20;
  if (s->cfg.max_message == 0)
    s->cfg.max_message = SYNC_MAX_MESSAGE;
  if (s->cfg.max_message > SYNC_MAX_MESSAGE)
    s->cfg.max_message = SYNC_MAX_MESSAGE;
  if (s->cfg.max_message < SYNC_MIN_MESSAGE)
    s->cfg.max_message = SYNC_MIN_MESSAGE;
  if (s->cfg.window < s->cfg.max_message)
    s->cfg.window = s->cfg.max_message;
  session_set_timers(s, s->cfg.ping_ms, s->cfg.resync_ms);
  if (s->cfg.data_ms == 0)
    s->cfg.data_ms = 2000;
  s->link_cap = SYNC_LINK_START;
  if (s->cfg.version_max == 0)
    s->cfg.version_max = SYNC_VERSION;
  if (s->cfg.version_min == 0 || s->cfg.version_min > s->cfg.version_max)
    s->cfg.version_min = s->cfg.version_min == 0 ? SYNC_VERSION_MIN : s->cfg.version_max;
  if (s->cfg.compress == 0)
    s->cfg.compress = LSESSION_COMPRESS_DEFAULT;
  else if (s->cfg.compress < 0)
    s->cfg.compress = LSESSION_COMPRESS_OFF;
  else if (s->cfg.compress > LSESSION_COMPRESS_MAX)
    s->cfg.compress = LSESSION_COMPRESS_MAX;
  s->repl = *repl;
  hmap_init(&s->authors);
  if (s->cfg.limits.hello_heads == 0)
    s->cfg.limits.hello_heads = HELLO_HEADS_DEFAULT;
  if (s->cfg.limits.answers == 0)
    s->cfg.limits.answers = 2 * SYNC_MAX_INFLIGHT + 64;
  s->ctrl = calloc(s->cfg.limits.answers, sizeof *s->ctrl);
  if (s->ctrl == NULL) {
    free(s);
    return NULL;
  }
  for (uint32_t i = 0; i < s->cfg.limits.answers; i++)
    lbuf_init(&s->ctrl[i]);
  lbuf_init(&s->last_ctrl);
  s->last_kind = -1;
  s->local_dirty = true;
  return s;
}

void
session_destroy(lsession **sp)
{
  lsession *s = *sp;
  if (s == NULL)
    return;
  s_free_authors(s);
  free(s->order);
  free(s->undo);
  for (uint32_t i = 0; i < s->cfg.limits.answers; i++)
    lbuf_free(&s->ctrl[i]);
  free(s->ctrl);
  lbuf_free(&s->last_ctrl);
  ZSTD_freeCCtx(s->zc);
  ZSTD_freeDCtx(s->zd);
  free(s);
  *sp = NULL;
}

const uint8_t *session_peer(const lsession *s) { return s->cfg.peer; }
void session_local_change(lsession *s) { s->local_dirty = true; }

/* Re-reads our heads in the peer's scope. */
static int
s_refresh(lsession *s, lerr *e)
{
  if (!s->local_dirty)
    return 0;
  lrepl_head *h = NULL;
  uint32_t n = 0;
  int rc = s->repl.heads(s->repl.ctx, s->cfg.peer, &h, &n, e);
  if (rc)
    return rc;
  if (n > s->order_cap) {
    pstate **o = realloc(s->order, n * sizeof *o);
    if (o == NULL) {
      free(h);
      return lerr_set(e, LINLI_ENOMEM, "out of memory");
    }
    s->order = o;
    s->order_cap = n;
  }
  for (size_t i = 0; i < s->authors.cap; i++)
    if (s->authors.slots[i].key)
      ((pstate *)s->authors.slots[i].val)->in_scope = false;
  s->norder = 0;
  for (uint32_t i = 0; i < n; i++) {
    pstate *p = s_author(s, h[i].author, true);
    if (p == NULL) {
      free(h);
      return lerr_set(e, LINLI_ENOMEM, "out of memory");
    }
    if (h[i].seq != p->local)
      p->fork = false; /* our log moved on: look again at the next HELLO */
    p->local = h[i].seq;
    memcpy(p->hash8, h[i].hash, HASH8);
    p->cls = h[i].cls;
    p->in_scope = true;
    s->order[s->norder++] = p;
  }
  free(h);
  s->local_dirty = false;
  return 0;
}

/* ---- control messages ---- */

static lbuf *
s_ctrl_push(lsession *s)
{
  if (s->nctrl == s->cfg.limits.answers)
    return NULL; /* a peer flooding PINGs gets no more answers */
  lbuf *b = &s->ctrl[(s->ctrl_head + s->nctrl) % s->cfg.limits.answers];
  lbuf_reset(b);
  s->nctrl++;
  return b;
}

static int
s_pstate_cmp(const void *a, const void *b)
{
  return memcmp((*(pstate *const *)a)->author, (*(pstate *const *)b)->author, LINLI_PK_BYTES);
}

/* Our HELLO: our logs in the peer's scope, and what we hold of the logs it
 * listed outside that scope, sorted by author.  A HELLO that does not fit
 * one message goes in parts of HELLO_PART_HEADS heads, each a HELLO of its
 * own with the option "part" (docs/PROTOCOL.md, "HELLO in parts"). */
static void
s_queue_hello(lsession *s, bool reply, uint64_t now_ms)
{
  /* A node from before options existed refuses a HELLO of 9.  So the
   * side that speaks first adds them only when it has something to say
   * (with compression off, and heads that fit one message, it speaks the
   * old protocol exactly), and an answer has them only if the peer's HELLO
   * had them, or it goes in parts. */
  bool vmin = s->cfg.version_min != 1; /* "min" missing means 1 */
  bool opts = s->peer_opts || (s->cfg.initiator && s->cfg.compress > 0) || vmin;
  uint32_t n = 0;
  pstate **v = malloc((s->authors.n ? s->authors.n : 1) * sizeof *v);
  if (v == NULL)
    return; /* no HELLO now: the next one (or a reconnection) says it all */
  for (size_t i = 0; i < s->authors.cap; i++)
    if (s->authors.slots[i].key) {
      pstate *p = s->authors.slots[i].val;
      if (p->in_scope || (p->echo && p->local > 0))
        v[n++] = p;
    }
  qsort(v, n, sizeof *v, s_pstate_cmp);
  /* In parts only when one message cannot hold it: a peer from before
   * parts takes every HELLO it took before, and one that does not fit it
   * could never take whole. */
  size_t size = 128; /* all but the heads, options included */
  for (uint32_t i = 0; i < n; i++) {
    uint8_t seq[MP_HDR_MAX];
    size += 1 + (2 + LINLI_PK_BYTES) + (size_t)(mp_put_uint(seq, v[i]->local) - seq) +
            (2 + HASH8) + 1;
  }
  uint32_t parts = 1;
  if (size > SYNC_MAX_MESSAGE) {
    opts = true;
    parts = (n + HELLO_PART_HEADS - 1) / HELLO_PART_HEADS;
  }
  if (s->cfg.limits.answers - s->nctrl < parts) {
    free(v); /* a peer not reading its messages gets no HELLO either */
    return;
  }
  for (uint32_t part = 0; part < parts; part++) {
    lbuf *b = s_ctrl_push(s);
    uint32_t from = part * HELLO_PART_HEADS;
    uint32_t to = parts == 1 || n - from < HELLO_PART_HEADS ? n : from + HELLO_PART_HEADS;
    mpw w;
    mpw_init(&w, b);
    mpw_array(&w, opts ? HELLO_MIN + 1 : HELLO_MIN);
    mpw_uint(&w, M_HELLO);
    mpw_cstr(&w, SYNC_DOMAIN);
    mpw_uint(&w, s->cfg.version_max);
    mpw_bin(&w, s->cfg.self, LINLI_PK_BYTES);
    mpw_uint(&w, now_ms);
    mpw_uint(&w, s->cfg.window);
    mpw_bool(&w, reply);
    mpw_array(&w, to - from);
    for (uint32_t i = from; i < to; i++) {
      pstate *p = v[i];
      mpw_array(&w, 4);
      mpw_bin(&w, p->author, LINLI_PK_BYTES);
      mpw_uint(&w, p->local);
      mpw_bin(&w, p->hash8, HASH8);
      /* a child says nothing about classes: its parent refuses any but 0 */
      mpw_uint(&w, s->cfg.initiator ? LSCOPE_DOWN : p->in_scope ? p->cls : LSCOPE_SUBTREE);
    }
    if (opts) {
      /* "max" only when it asks for less than any side may send anyway */
      bool max = s->cfg.max_message < SYNC_MAX_MESSAGE;
      mpw_map(&w, (s->cfg.compress > 0) + max + vmin + (parts > 1));
      if (s->cfg.compress > 0) {
        mpw_cstr(&w, "compress");
        mpw_array(&w, 1);
        mpw_cstr(&w, "zstd");
      }
      if (max) {
        mpw_cstr(&w, "max");
        mpw_uint(&w, s->cfg.max_message);
      }
      if (vmin) {
        mpw_cstr(&w, "min");
        mpw_uint(&w, s->cfg.version_min);
      }
      if (parts > 1) {
        mpw_cstr(&w, "part");
        mpw_array(&w, 2);
        mpw_uint(&w, part);
        mpw_uint(&w, parts);
      }
    }
  }
  for (uint32_t i = 0; i < n; i++)
    v[i]->announced = true;
  free(v);
  s->last_hello_tx = now_ms;
}

static void
s_queue_error(lsession *s, int code, const char *reason)
{
  s->known = false; /* the session ends: the next connection waits for the answer */
  lbuf *b = s_ctrl_push(s);
  if (b == NULL)
    return;
  mpw w;
  mpw_init(&w, b);
  mpw_array(&w, 3);
  mpw_uint(&w, M_ERROR);
  mpw_uint(&w, (uint64_t)(-code));
  mpw_cstr(&w, reason);
}

/* Forgets what was in flight: after a reconnection, or when a HELLO says
 * what the peer really holds. */
static void
s_reset_flight(lsession *s)
{
  s->ninfl = 0;
  s->credit = s->peer_window;
  for (size_t i = 0; i < s->authors.cap; i++)
    if (s->authors.slots[i].key) {
      pstate *p = s->authors.slots[i].val;
      p->sent = p->acked;
    }
}

void
session_start(lsession *s, uint64_t now_ms)
{
  /* A child that knows what its parent held when the last connection
   * ended sends what the parent lacks right behind its HELLO, a round
   * trip before the answer (docs/PROTOCOL.md, "DATA right after HELLO"):
   * its state per author, the peer's window and options are kept. */
  s->early = s->cfg.initiator && s->known && s->hello_rx && s->ninfl == 0;
  s->known = false;
  s->hello_rx = false;
  s->nctrl = 0;
  s->ninfl = 0;
  s->credit = s->early ? s->peer_window : 0;
  /* A new connection may be a new link: start small, grow with the ACKs. */
  s->link_rate = 0;
  s->link_cap = SYNC_LINK_START;
  s->last_ack_ms = 0;
  s->local_dirty = true;
  s->nundo = 0;
  s->last_kind = -1;
  s->forks_told = 0;
  s->hello_parts = 0;
  if (s->early) {
    for (size_t i = 0; i < s->authors.cap; i++)
      if (s->authors.slots[i].key) {
        pstate *p = s->authors.slots[i].val;
        p->sent = p->base = p->acked;
      }
  } else {
    s->peer_opts = s->peer_zstd = false;
    s->peer_max = 0;
    s_free_authors(s);
    hmap_init(&s->authors);
  }
  if (s->cfg.initiator) {
    lerr e;
    if (s_refresh(s, &e) == 0)
      s_queue_hello(s, true, now_ms);
  }
}

/* Notes the time when neither side lacks anything the other may hold. */
static void
s_check_synced(lsession *s, uint64_t now_ms)
{
  if (!s->hello_rx || s->ninfl > 0 || s->local_dirty)
    return;
  for (uint32_t i = 0; i < s->norder; i++)
    if (!s->order[i]->fork && s->order[i]->local > s->order[i]->acked)
      return;
  if (s->unheld_ops > 0)
    return;
  for (size_t i = 0; i < s->authors.cap; i++)
    if (s->authors.slots[i].key) {
      const pstate *p = s->authors.slots[i].val;
      if (p->adv > p->local)
        return;
    }
  s->st.last_sync_ms = now_ms;
  /* Nothing to compress or decompress until the next change: the zstd
   * contexts go (about 1 MB to compress), so that a district with hundreds
   * of stations connected holds them only for those transferring.  Making
   * them again costs far less than one message takes on a 2G link. */
  ZSTD_freeCCtx(s->zc);
  ZSTD_freeDCtx(s->zd);
  s->zc = NULL;
  s->zd = NULL;
}

/* ---- receiving ---- */

/* Refuses a message: the peer's ERROR gets the reason we log. */
static int s_refuse(lsession *s, lerr *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
s_vrefuse(lsession *s, lerr *e, int code, const char *fmt, va_list ap)
{
  char why[sizeof e->msg];
  vsnprintf(why, sizeof why, fmt, ap);
  s_queue_error(s, code, why);
  return lerr_set(e, code, "%s", why);
}

static int
s_refuse(lsession *s, lerr *e, int code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int rc = s_vrefuse(s, e, code, fmt, ap);
  va_end(ap);
  return rc;
}

/* Refuses a malformed message, `at` the element that is wrong: the reason
 * names the message, the byte offset and either what was expected there
 * or, when the element itself is cut short or not msgpack, that. */
static int s_bad(lsession *s, lerr *e, const mpr *at, const char *msg, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int
s_bad(lsession *s, lerr *e, const mpr *at, const char *msg, const char *fmt, ...)
{
  size_t off = (size_t)(at->p - s->rx0);
  mpr t = *at;
  if (at->p >= at->end)
    return s_refuse(s, e, LINLI_EMALFORMED, "%s: truncated msgpack at byte %zu", msg, off);
  if (mpr_skip(&t))
    return s_refuse(s, e, LINLI_EMALFORMED, "%s: truncated or invalid msgpack at byte %zu", msg,
                    off);
  char what[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return s_refuse(s, e, LINLI_EMALFORMED, "%s: %s at byte %zu", msg, what, off);
}

/* Reads one element with `ok`; when that fails, refuses the message at
 * that element, saying what it should have been. */
#define S_NEED(r, ok, msg, ...)                                                                  \
  do {                                                                                           \
    mpr at_ = *(r);                                                                              \
    if (!(ok))                                                                                   \
      return s_bad(s, e, &at_, msg, __VA_ARGS__);                                                \
  } while (0)

/* What a HELLO's options say. */
typedef struct hopts {
  bool zstd;        /* the peer accepts zstd-compressed DATA */
  uint32_t max;     /* the largest DATA it wants (0: not said) */
  uint64_t min;     /* the oldest protocol version it speaks (0: not said) */
  uint32_t part;    /* "part": this HELLO is part `part` of `parts` */
  uint32_t parts;   /* (0: a HELLO in one message) */
} hopts;

/* The options of a HELLO, a map.  "compress" (the names of the
 * compressions the peer accepts), "max" (the largest DATA it wants),
 * "min" (the oldest version it speaks) and "part" (one HELLO of several)
 * mean something today; other keys and names are skipped, so that a later
 * version can add its own without breaking this one.  A key twice is
 * ambiguous: refused. */
static int
s_hello_opts(lsession *s, mpr *r, lerr *e, hopts *o)
{
  static const char M[] = "HELLO options";
  uint32_t n, m;
  bool seen_max = false, seen_compress = false, seen_min = false, seen_part = false;
  memset(o, 0, sizeof *o);
  S_NEED(r, mpr_map(r, &n) == 0, M, "not a map");
  for (uint32_t i = 0; i < n; i++) {
    const char *k, *name;
    uint32_t kn, nn;
    S_NEED(r, mpr_str(r, &k, &kn) == 0, M, "key %u is not a string", i);
    if (kn == 4 && memcmp(k, "part", 4) == 0) {
      uint64_t part, parts;
      S_NEED(r, !seen_part, M, "\"part\" given twice");
      S_NEED(r, mpr_array_n(r, 2) == 0 && mpr_uint(r, &part) == 0 && mpr_uint(r, &parts) == 0 &&
                    parts >= 2 && parts <= HELLO_PARTS_MAX && part < parts,
             M, "\"part\" is not [i, n] with 2 <= n <= %u and i < n", HELLO_PARTS_MAX);
      seen_part = true;
      o->part = (uint32_t)part;
      o->parts = (uint32_t)parts;
      continue;
    }
    bool is_max = kn == 3 && memcmp(k, "max", 3) == 0;
    bool is_min = kn == 3 && memcmp(k, "min", 3) == 0;
    if (is_max || is_min) {
      uint64_t v;
      uint64_t lo = is_max ? SYNC_MIN_MESSAGE : 1, hi = is_max ? SYNC_MAX_MESSAGE : UINT32_MAX;
      bool *seen = is_max ? &seen_max : &seen_min;
      S_NEED(r, !*seen, M, "\"%s\" given twice", is_max ? "max" : "min");
      S_NEED(r, mpr_uint(r, &v) == 0 && v >= lo && v <= hi, M,
             "\"%s\" is not an unsigned integer from %llu to %llu", is_max ? "max" : "min",
             (unsigned long long)lo, (unsigned long long)hi);
      *seen = true;
      if (is_max)
        o->max = (uint32_t)v;
      else
        o->min = v;
      continue;
    }
    if (kn != 8 || memcmp(k, "compress", 8) != 0) {
      S_NEED(r, mpr_skip(r) == 0, M, "bad value");
      continue;
    }
    S_NEED(r, !seen_compress, M, "\"compress\" given twice");
    S_NEED(r, mpr_array(r, &m) == 0, M, "\"compress\" is not an array");
    seen_compress = true;
    for (uint32_t j = 0; j < m; j++) {
      S_NEED(r, mpr_str(r, &name, &nn) == 0, M, "\"compress\" entry %u is not a string", j);
      if (nn == 4 && memcmp(name, "zstd", 4) == 0)
        o->zstd = true;
    }
  }
  return 0;
}

/* One entry of a HELLO's heads. */
typedef struct hhead {
  uint8_t author[LINLI_PK_BYTES], h8[HASH8];
  uint64_t seq, cls;
} hhead;

static int
s_read_head(mpr *r, hhead *h)
{
  return mpr_array_n(r, 4) || mpr_bin_n(r, h->author, LINLI_PK_BYTES) || mpr_uint(r, &h->seq) ||
                 mpr_bin_n(r, h->h8, HASH8) || mpr_uint(r, &h->cls)
             ? LINLI_EMALFORMED
             : 0;
}

/* A HELLO is checked whole before anything in it is taken: its form,
 * the order of its heads, the classes a child may send, the version, and
 * that it names the connection's key (docs/PROTOCOL.md, "Receiver
 * rules"). */
static int
s_recv_hello(lsession *s, mpr *r, uint32_t nel, uint64_t now_ms, lerr *e)
{
  static const char M[] = "HELLO";
  const char *dom;
  uint32_t dn, nh;
  uint64_t ver, peer_now, window;
  bool reply;
  uint8_t node[LINLI_PK_BYTES];
  S_NEED(r, mpr_str(r, &dom, &dn) == 0 && dn == strlen(SYNC_DOMAIN) &&
                memcmp(dom, SYNC_DOMAIN, dn) == 0,
         M, "element 1 is not \"%s\"", SYNC_DOMAIN);
  S_NEED(r, mpr_uint(r, &ver) == 0, M, "version is not an unsigned integer");
  S_NEED(r, mpr_bin_n(r, node, LINLI_PK_BYTES) == 0, M, "node is not a 32-byte bin");
  S_NEED(r, mpr_uint(r, &peer_now) == 0, M, "now_ms is not an unsigned integer");
  S_NEED(r, mpr_uint(r, &window) == 0 && window >= 4096 && window <= (1u << 30), M,
         "window is not an unsigned integer from 4096 to 1073741824");
  S_NEED(r, mpr_bool(r, &reply) == 0, M, "reply is not a bool");
  S_NEED(r, mpr_array(r, &nh) == 0, M, "heads is not an array");
  mpr heads = *r;
  uint8_t first_author[LINLI_PK_BYTES] = {0};
  hhead h, prev;
  memset(&prev, 0, sizeof prev);
  for (uint32_t i = 0; i < nh; i++) {
    S_NEED(r, s_read_head(r, &h) == 0, M,
           "head %u is not [author bin 32, seq, hash8 bin 8, class]", i);
    if (h.cls > LSCOPE_SUBTREE)
      return s_refuse(s, e, LINLI_EMALFORMED, "HELLO: head %u has class %llu, not 0 or 1", i,
                      (unsigned long long)h.cls);
    if (i > 0 && memcmp(prev.author, h.author, LINLI_PK_BYTES) >= 0)
      return s_refuse(s, e, LINLI_EMALFORMED,
                      "HELLO: head %u is not after head %u in author byte order", i, i - 1);
    if (!s->cfg.initiator && h.cls != LSCOPE_DOWN)
      return s_refuse(s, e, LINLI_EPROTO,
                      "HELLO: head %u has class %llu, but a child sends class 0 only", i,
                      (unsigned long long)h.cls);
    if (i == 0)
      memcpy(first_author, h.author, LINLI_PK_BYTES);
    prev = h;
  }
  hopts o = {0};
  int rc;
  if (nel > HELLO_MIN && (rc = s_hello_opts(s, r, e, &o)) != 0)
    return rc;
  for (uint32_t i = HELLO_MIN + 1; i < nel; i++)
    S_NEED(r, mpr_skip(r) == 0, M, "element %u is not msgpack", i);
  if (mpr_left(r) != 0)
    return s_bad(s, e, r, M, "bytes after the last element");
  /* Each side names the newest version it speaks (and in "min" the
   * oldest, 1 when not said); both then speak the older of the two
   * newest, unless that is below what one side still speaks. */
  uint64_t lo = o.min ? o.min : ver < 1 ? ver : 1;
  uint64_t common = ver < s->cfg.version_max ? ver : s->cfg.version_max;
  if (lo > ver)
    return s_refuse(s, e, LINLI_EMALFORMED, "HELLO: \"min\" %llu is above the version %llu",
                    (unsigned long long)lo, (unsigned long long)ver);
  if (common < lo || common < s->cfg.version_min)
    return s_refuse(s, e, LINLI_EVERSION,
                    "no common protocol version: the peer speaks %llu to %llu, this node %u to %u",
                    (unsigned long long)lo, (unsigned long long)ver, s->cfg.version_min,
                    s->cfg.version_max);
  if (memcmp(node, s->cfg.peer, LINLI_PK_BYTES) != 0)
    return s_refuse(s, e, LINLI_EPROTO,
                    "HELLO: node is not the key this connection authenticated");
  /* A HELLO in parts (docs/PROTOCOL.md, "HELLO in parts"): part 0, or a
   * whole HELLO, starts afresh; every other part follows the one before,
   * its heads after that part's. */
  bool first = o.parts == 0 || o.part == 0, last = o.parts == 0 || o.part + 1 == o.parts;
  if (!first && (o.parts != s->hello_parts || o.part != s->hello_part_next))
    return s_refuse(s, e, LINLI_EMALFORMED,
                    "HELLO: part %u of %u does not follow the part before", o.part, o.parts);
  if (!first && nh > 0 && memcmp(s->hello_part_last, first_author, LINLI_PK_BYTES) >= 0)
    return s_refuse(s, e, LINLI_EMALFORMED,
                    "HELLO: part %u does not start after the last head of part %u", o.part,
                    o.part - 1);
  uint64_t total = (first ? 0 : s->hello_part_heads) + (uint64_t)nh;
  if (total > s->cfg.limits.hello_heads)
    return s_refuse(s, e, LINLI_EFLOODED, "HELLO lists %llu heads, more than the %u allowed",
                    (unsigned long long)total, s->cfg.limits.hello_heads);
  if ((rc = s_refresh(s, e)) != 0)
    return rc;
  if (first) {
    if (reply && !s->cfg.initiator)
      s->nctrl = 0; /* a (re)connection from the initiator: start over */
    /* What the peer holds of every author it tells us about; authors it
     * does not mention it does not hold. */
    for (size_t i = 0; i < s->authors.cap; i++)
      if (s->authors.slots[i].key) {
        pstate *p = s->authors.slots[i].val;
        p->acked = p->adv = 0;
        p->unheld = false;
      }
    s->unheld_ops = 0;
    if (!last)
      s->hello_rx = false; /* nothing is sent on half of the peer's heads */
  }
  s->peer_window = (uint32_t)window;
  for (uint32_t i = 0; i < nh; i++) {
    s_read_head(&heads, &h); /* checked above */
    if (s->cfg.initiator && s->repl.classify)
      s->repl.classify(s->repl.ctx, s->cfg.peer, h.author, (int)h.cls);
    /* Out of the peer's scope: what we hold of it goes back in our HELLO
     * (echo); an author we do not hold at all is only counted. */
    pstate *p = s_author(s, h.author, false);
    lrepl_head mine;
    bool held = (p == NULL || !p->in_scope) && s->repl.head &&
                s->repl.head(s->repl.ctx, h.author, h.seq, h.h8, &mine, NULL) == 0;
    if (p == NULL && !held) {
      s->unheld_ops = h.seq > UINT64_MAX - s->unheld_ops ? UINT64_MAX : s->unheld_ops + h.seq;
      continue;
    }
    if (p == NULL && (p = s_author(s, h.author, true)) == NULL)
      return lerr_set(e, LINLI_ENOMEM, "out of memory");
    if (held) {
      p->local = mine.seq;
      memcpy(p->hash8, mine.hash, HASH8);
      p->echo = true;
    }
    p->acked = p->adv = h.seq;
    p->fork = p->in_scope && p->local == h.seq && h.seq > 0 && memcmp(p->hash8, h.h8, HASH8) != 0;
    uint8_t at[LINLI_HASH_BYTES];
    bool forked = false;
    if (p->in_scope && h.seq > 0 && h.seq <= p->local && s->repl.hash_at &&
        s->repl.hash_at(s->repl.ctx, h.author, h.seq, at, &forked, NULL) == 0) {
      /* Diverged at or below our head (a station restored from a copy
       * that wrote again): sending from h.seq + 1 would only be refused
       * as not chaining, again at every HELLO.  Unless evidence is held
       * already, the log goes once from its start (where it is the
       * peer's too), so that the peer's own check sees two signed
       * histories and keeps fork evidence that shows the first seq where
       * they part (the repair re-signs from there), which then reaches
       * both sides; after that the log is not sent.  The ops the peer
       * holds already cost their bytes once and are skipped. */
      bool diverged = memcmp(at, h.h8, HASH8) != 0;
      p->fork = diverged && forked;
      if (diverged && !forked)
        p->acked = p->adv = 0;
    }
  }
  if (!last) {
    s->hello_parts = o.parts;
    s->hello_part_next = o.part + 1;
    s->hello_part_heads = (uint32_t)total;
    if (nh > 0)
      memcpy(s->hello_part_last, prev.author, LINLI_PK_BYTES);
    return 0;
  }
  s->hello_parts = 0;
  s->version = (uint32_t)common;
  s->peer_opts = nel > HELLO_MIN;
  s->peer_zstd = o.zstd;
  s->peer_max = o.max;
  if (s->early && s->cfg.initiator && !reply) {
    /* The answer to our HELLO says what the peer held before the DATA we
     * sent behind it, which it takes after: those stay in flight (a gap
     * in their ACK rewinds to what it really holds). */
    int64_t flight = 0;
    for (uint32_t i = 0; i < s->ninfl; i++)
      flight += s->infl[i].bytes;
    s->credit = (int64_t)s->peer_window - flight;
    for (size_t i = 0; i < s->authors.cap; i++)
      if (s->authors.slots[i].key) {
        pstate *p = s->authors.slots[i].val;
        /* Holding less than we took it to (restored from an older copy):
         * from what it holds, and what went early is refused as a gap. */
        if (p->sent < p->acked || p->acked < p->base)
          p->sent = p->acked;
      }
  } else {
    s_reset_flight(s);
  }
  s->early = false;
  s->known = true;
  s->hello_rx = true;
  s->st.hello_done = true;
  s->st.hellos_received++;
  s->st.version = s->version;
  s->st.clock_offset_ms = (int64_t)(peer_now - now_ms);
  if (reply)
    s_queue_hello(s, false, now_ms);
  return 0;
}

/* The deltas array of a compressed DATA, from its zstd frame `z`.  The
 * frame must state its decompressed size, at most SYNC_MAX_MESSAGE, and is
 * decoded into a buffer of exactly that size: the bound is checked before
 * anything is allocated, and a frame that holds more than it states fails
 * instead of growing the buffer, so a few hostile bytes cannot claim more
 * than 1 MiB.  *out is malloc'd (caller frees). */
static int
s_inflate(lsession *s, const uint8_t *z, size_t zn, uint8_t **out, size_t *n, lerr *e)
{
  *out = NULL;
  *n = 0;
  if (s->cfg.compress <= 0)
    return s_refuse(s, e, LINLI_EMALFORMED,
                    "compressed DATA, but this side does not accept compression");
  unsigned long long size = ZSTD_getFrameContentSize(z, zn);
  if (size == ZSTD_CONTENTSIZE_ERROR)
    return s_refuse(s, e, LINLI_EMALFORMED, "compressed DATA is not a zstd frame");
  if (size == ZSTD_CONTENTSIZE_UNKNOWN)
    return s_refuse(s, e, LINLI_EMALFORMED, "compressed DATA does not state its size");
  if (size > SYNC_MAX_MESSAGE)
    return s_refuse(s, e, LINLI_ETOOBIG,
                    "compressed DATA would expand to %llu bytes, more than the %u allowed",
                    size, SYNC_MAX_MESSAGE);
  size_t fn = ZSTD_findFrameCompressedSize(z, zn);
  if (size == 0 || ZSTD_isError(fn) || fn != zn)
    return s_refuse(s, e, LINLI_EMALFORMED, "compressed DATA is not exactly one zstd frame");
  if (s->zd == NULL && (s->zd = ZSTD_createDCtx()) == NULL)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  uint8_t *p = malloc((size_t)size);
  if (p == NULL)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  size_t got = ZSTD_decompressDCtx(s->zd, p, (size_t)size, z, zn);
  if (ZSTD_isError(got) || got != size) {
    free(p);
    return s_refuse(s, e, LINLI_EMALFORMED, "compressed DATA does not decompress: %s",
                    ZSTD_isError(got) ? ZSTD_getErrorName(got) : "shorter than it states");
  }
  *out = p;
  *n = (size_t)size;
  return 0;
}

static int
s_recv_data(lsession *s, mpr *r, size_t msg_len, uint64_t now_ms, lerr *e)
{
  uint64_t msg_no;
  uint32_t n;
  const uint8_t **ptr = NULL;
  size_t *len = NULL;
  dhead *hd = NULL;      /* each delta's author and seqs */
  uint8_t *plain = NULL; /* the deltas array of a compressed message */
  size_t plain_n;
  uint8_t *refused = NULL;
  int rc = 0;
  static const char *M = "DATA";
  if (!s->hello_rx) {
    /* A child sends HELLO first, and DATA after it (right behind it when
     * it knows what we held, or once it has the answer), but an honest
     * peer still produces DATA before HELLO: a parent sees
     * it when a child's daemon handed DATA of the old connection to a new
     * one (a flapping line reconnects within the time the child takes to
     * notice) after the parent restarted; a child sees what its parent
     * sent before our HELLO of a new connection reached it.  Either way
     * the HELLO that follows starts over from what is held: the DATA is
     * ignored, neither applied nor ACKed. */
    return 0;
  }
  S_NEED(r, mpr_uint(r, &msg_no) == 0, M, "msg_no is not an unsigned integer");
  mpr d = *r; /* the deltas */
  if (mpr_peek(r) == MP_BIN) {
    const uint8_t *z;
    uint32_t zn;
    S_NEED(r, mpr_bin(r, &z, &zn) == 0, M, "frame is not a bin");
    if (mpr_left(r) != 0)
      return s_bad(s, e, r, M, "bytes after the last element");
    if ((rc = s_inflate(s, z, zn, &plain, &plain_n, e)) != 0)
      return rc;
    mpr_init(&d, plain, plain_n);
    s->rx0 = plain; /* offsets from here on are in the decompressed array */
    M = "DATA (decompressed)";
  }
  /* Every delta takes more than a byte: a count beyond what is left is a
   * lie, and must not size an allocation. */
  {
    mpr at = d;
    if (mpr_array(&d, &n) || n == 0 || n > mpr_left(&d)) {
      rc = s_bad(s, e, &at, M, "deltas is not an array of 1 or more deltas");
      goto done;
    }
  }
  ptr = malloc(n * sizeof *ptr);
  len = malloc(n * sizeof *len);
  hd = malloc(n * sizeof *hd);
  if (ptr == NULL || len == NULL || hd == NULL) {
    rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
    goto done;
  }
  /* Every delta's header is read here, before anything is applied: the
   * ACK names each delta's author, whatever apply got to (a gap stops it
   * at the first delta that does not connect). */
  for (uint32_t i = 0; i < n; i++) {
    ptr[i] = d.p;
    mpr at = d;
    if (mpr_skip(&d)) {
      rc = s_bad(s, e, &at, M, "delta %u is not msgpack", i);
      goto done;
    }
    len[i] = (size_t)(d.p - ptr[i]);
    if (delta_peek(ptr[i], len[i], hd[i].author, &hd[i].first, &hd[i].last) != 0) {
      rc = s_bad(s, e, &at, M, "delta %u is not a signed delta", i);
      goto done;
    }
  }
  if (mpr_left(&d) != 0) {
    rc = s_bad(s, e, &d, M, "bytes after the last delta");
    goto done;
  }
  refused = calloc(n, 1);
  if (refused == NULL) {
    rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
    goto done;
  }
  /* The ACK's place in the queue is taken before anything is applied:
   * once deltas are committed, the peer must hear of it.  A peer whose
   * DATA outruns its reading of our answers is refused with nothing
   * applied. */
  lbuf *b = s_ctrl_push(s);
  if (b == NULL) {
    s->nctrl--; /* the newest answer makes room for the ERROR: the peer goes */
    rc = s_refuse(s, e, LINLI_EFLOODED,
                  "peer sends DATA without reading the ACKs (%u answers waiting)",
                  s->cfg.limits.answers);
    goto done;
  }
  rc = s->repl.apply(s->repl.ctx, s->cfg.peer, ptr, len, n, now_ms, refused, e);
  bool gap = rc == LINLI_EGAP;
  if (rc && !gap) {
    s->nctrl--; /* the ACK's place, the last one taken, goes to the ERROR */
    s_queue_error(s, rc, e ? e->msg : linli_strerror(rc));
    goto done;
  }
  /* ACK: the credit this message used, and what we now hold of each of its
   * authors (on a gap: what we held before, so the sender rewinds). */
  mpw w;
  mpw_init(&w, b);
  mpw_array(&w, 5);
  mpw_uint(&w, M_ACK);
  mpw_uint(&w, msg_no);
  mpw_uint(&w, msg_len);
  mpw_bool(&w, gap);
  mpw_array(&w, n);
  uint64_t ops = 0;
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *author = hd[i].author;
    uint64_t first = hd[i].first, last = hd[i].last;
    /* State only for an author now held: not for one refused or behind a
     * gap, which a peer could name by the thousand. */
    pstate *p = s_author(s, author, false);
    if (p == NULL && !gap && !refused[i] && (p = s_author(s, author, true)) != NULL)
      p->unheld = s->unheld_ops > 0; /* (out of memory: the ACK still names `last`) */
    if (refused[i] && !gap) {
      /* Refused by the trust rules: the peer need not send it again in
       * this session, so the ACK names its end. */
      s->st.deltas_refused++;
      mpw_array(&w, 2);
      mpw_bin(&w, author, LINLI_PK_BYTES);
      mpw_uint(&w, p && p->local > last ? p->local : last);
      continue;
    }
    if (p && !gap) {
      if (last > p->local) {
        uint64_t got = last - (first > p->local ? first - 1 : p->local);
        ops += got;
        if (p->unheld)
          s->unheld_ops -= got < s->unheld_ops ? got : s->unheld_ops;
        p->local = last;
      }
      if (last > p->acked)
        p->acked = p->sent = last; /* the peer holds what it sent us */
    }
    mpw_array(&w, 2);
    mpw_bin(&w, author, LINLI_PK_BYTES);
    mpw_uint(&w, p ? p->local : gap ? 0 : last);
  }
  s->st.ops_received += ops;
  s->local_dirty = true;
  rc = gap ? 0 : (ops > 0 ? 1 : 0);
done:
  free(ptr);
  free(len);
  free(hd);
  free(refused);
  free(plain);
  return rc;
}

/* One ACK is one sample of the link: the message took from when it was
 * sent, or from the previous ACK if that came later (it waited behind the
 * messages before it), to its ACK.  That underestimates the rate when the
 * pipe ran empty (a round trip is counted as link time), which only keeps
 * messages smaller.  The DATA size follows the estimate so that one
 * message takes cfg.data_ms of link time, at most doubling per ACK. */
static void
s_link_sample(lsession *s, const inflight *f, uint64_t now_ms)
{
  uint64_t start = f->sent_ms > s->last_ack_ms ? f->sent_ms : s->last_ack_ms;
  uint64_t dt = now_ms > start ? now_ms - start : 1;
  s->last_ack_ms = now_ms;
  double sample = (double)f->bytes * 1000.0 / (double)dt;
  s->link_rate = s->link_rate > 0 ? 0.7 * s->link_rate + 0.3 * sample : sample;
  double want = s->link_rate * (double)s->cfg.data_ms / 1000.0;
  double most = 2.0 * (double)s->link_cap;
  if (want > most)
    want = most;
  if (want > SYNC_MAX_MESSAGE)
    want = SYNC_MAX_MESSAGE;
  if (want < SYNC_LINK_MIN)
    want = SYNC_LINK_MIN;
  s->link_cap = (uint32_t)want;
}

static int
s_recv_ack(lsession *s, mpr *r, uint64_t now_ms, lerr *e)
{
  static const char M[] = "ACK";
  uint64_t msg_no, credit;
  bool gap;
  uint32_t n;
  S_NEED(r, mpr_uint(r, &msg_no) == 0, M, "msg_no is not an unsigned integer");
  S_NEED(r, mpr_uint(r, &credit) == 0, M, "credit is not an unsigned integer");
  S_NEED(r, mpr_bool(r, &gap) == 0, M, "gap is not a bool");
  S_NEED(r, mpr_array(r, &n) == 0, M, "heads is not an array");
  /* Our DATA are numbered upwards for the whole life of the session, over
   * reconnections: an ACK for a number we never used is a lie.  One for a
   * message no longer in flight (answered already, or sent before a HELLO
   * started over) returns no credit. */
  if (msg_no == 0 || msg_no > s->next_msg_no)
    return s_refuse(s, e, LINLI_EPROTO, "ACK for DATA %llu, but the last DATA sent was %llu",
                    (unsigned long long)msg_no, (unsigned long long)s->next_msg_no);
  for (uint32_t i = 0; i < s->ninfl; i++)
    if (s->infl[i].msg_no == msg_no) {
      s_link_sample(s, &s->infl[i], now_ms);
      s->credit += s->infl[i].bytes;
      memmove(&s->infl[i], &s->infl[i + 1], (s->ninfl - i - 1) * sizeof *s->infl);
      s->ninfl--;
      s->st.round_trips++;
      break;
    }
  for (uint32_t i = 0; i < n; i++) {
    uint8_t author[LINLI_PK_BYTES];
    uint64_t seq;
    S_NEED(r, mpr_array_n(r, 2) == 0 && mpr_bin_n(r, author, LINLI_PK_BYTES) == 0 &&
                  mpr_uint(r, &seq) == 0,
           M, "head %u is not [author bin 32, seq]", i);
    pstate *p = s_author(s, author, false);
    if (p == NULL)
      continue;
    if (gap) {
      p->acked = p->adv = seq; /* resend from what the peer really holds */
      p->sent = seq;
    } else if (seq > p->acked) {
      p->acked = seq;
      if (seq > p->adv)
        p->adv = seq;
      if (p->sent < seq)
        p->sent = seq;
    }
  }
  if (mpr_left(r) != 0)
    return s_bad(s, e, r, M, "bytes after the last element");
  (void)now_ms;
  return 0;
}

int
session_recv(lsession *s, const uint8_t *msg, size_t n, uint64_t now_ms, lerr *e)
{
  static const char *const names[] = {"HELLO", "DATA", "ACK", "PING", "PONG", "ERROR", "FORK"};
  /* the number of elements each type has: at least, for HELLO */
  static const uint32_t nels[] = {HELLO_MIN, 3, 5, 2, 3, 3, 2};
  mpr r;
  uint32_t nel;
  uint64_t kind;
  s->st.last_rx_ms = now_ms;
  s->st.msgs_received++;
  s->st.bytes_received += n;
  s->rx0 = msg;
  if (n > SYNC_MAX_MESSAGE)
    return s_refuse(s, e, LINLI_ETOOBIG, "message of %zu bytes, more than the %u allowed", n,
                    SYNC_MAX_MESSAGE);
  mpr_init(&r, msg, n);
  S_NEED(&r, mpr_array(&r, &nel) == 0, "message", "not an array");
  S_NEED(&r, mpr_uint(&r, &kind) == 0, "message", "type is not an unsigned integer");
  if (kind > M_FORK)
    return s_refuse(s, e, LINLI_EMALFORMED, "unknown message type %llu",
                    (unsigned long long)kind);
  const char *M = names[kind];
  if (kind == M_HELLO ? nel < nels[kind] : nel != nels[kind])
    return s_refuse(s, e, LINLI_EMALFORMED, "%s: an array of %u elements, not %s%u", M, nel,
                    kind == M_HELLO ? "at least " : "", nels[kind]);
  int rc;
  switch (kind) {
  case M_HELLO:
    rc = s_recv_hello(s, &r, nel, now_ms, e);
    break;
  case M_DATA:
    rc = s_recv_data(s, &r, n, now_ms, e);
    break;
  case M_ACK:
    rc = s_recv_ack(s, &r, now_ms, e);
    break;
  case M_PING: {
    uint64_t t;
    S_NEED(&r, mpr_uint(&r, &t) == 0, M, "now_ms is not an unsigned integer");
    if (mpr_left(&r) != 0)
      return s_bad(s, e, &r, M, "bytes after the last element");
    lbuf *b = s_ctrl_push(s);
    if (b) {
      mpw w;
      mpw_init(&w, b);
      mpw_array(&w, 3);
      mpw_uint(&w, M_PONG);
      mpw_uint(&w, t);
      mpw_uint(&w, now_ms);
    }
    return 0;
  }
  case M_PONG: {
    uint64_t echo, peer_now;
    S_NEED(&r, mpr_uint(&r, &echo) == 0, M, "echoed_ms is not an unsigned integer");
    S_NEED(&r, mpr_uint(&r, &peer_now) == 0, M, "now_ms is not an unsigned integer");
    if (mpr_left(&r) != 0)
      return s_bad(s, e, &r, M, "bytes after the last element");
    if (echo <= now_ms) { /* one from the future is ignored */
      s->st.rtt_ms = now_ms - echo;
      s->st.clock_offset_ms = (int64_t)peer_now - (int64_t)(echo + s->st.rtt_ms / 2);
    }
    return 0;
  }
  case M_FORK: {
    const uint8_t *ev = r.p;
    S_NEED(&r, mpr_skip(&r) == 0, M, "evidence is not msgpack");
    if (mpr_left(&r) != 0)
      return s_bad(s, e, &r, M, "bytes after the last element");
    if (s->repl.fork_put == NULL)
      return 0;
    rc = s->repl.fork_put(s->repl.ctx, s->cfg.peer, ev, (size_t)(r.p - ev), e);
    if (rc) {
      s_queue_error(s, rc, e ? e->msg : linli_strerror(rc));
      return rc;
    }
    return 0;
  }
  default: { /* M_ERROR */
    uint64_t code;
    s->known = false; /* whatever it was, the next connection waits for the answer */
    const char *why;
    uint32_t wn;
    if (mpr_uint(&r, &code) || mpr_str(&r, &why, &wn))
      return lerr_set(e, LINLI_EINVAL, "peer closed the session with a malformed ERROR");
    /* one line of printable text in our log, whatever the peer sent */
    char line[201];
    uint32_t k = wn < sizeof line - 1 ? wn : (uint32_t)sizeof line - 1;
    for (uint32_t i = 0; i < k; i++)
      line[i] = (unsigned char)why[i] < 0x20 || why[i] == 0x7f ? '?' : why[i];
    line[k] = '\0';
    /* the peer's code when we know it, so the node can tell why */
    int known = code > 0 && code < 1000 &&
                strcmp(linli_strerror(-(int)code), "unknown error") != 0;
    return lerr_set(e, known ? -(int)code : LINLI_EINVAL,
                    "peer refused the session: ERROR %llu (%s): %s", (unsigned long long)code,
                    known ? linli_strerror(-(int)code) : "unknown error", line);
  }
  }
  if (rc >= 0) {
    lerr ignore;
    if (s_refresh(s, &ignore) == 0)
      s_check_synced(s, now_ms);
  }
  return rc;
}

/* ---- sending ---- */

/* Replaces the deltas array at out[at..] with a bin holding it as one zstd
 * frame, when the peer accepts that and it comes out smaller; otherwise
 * leaves `out` as it is.  Compression only saves bytes, so when it fails
 * (even for want of memory) the message simply goes uncompressed. */
static void
s_compress(lsession *s, lbuf *out, size_t at)
{
  size_t plain = out->len - at;
  if (s->cfg.compress <= 0 || !s->peer_zstd || plain < 64)
    return; /* a frame's own header would eat what a tiny message saves */
  if (s->zc == NULL) {
    if ((s->zc = ZSTD_createCCtx()) == NULL)
      return;
    /* Receivers need the size in the frame header to bound it; the
     * deltas are signed, so zstd's checksum would add nothing. */
    if (ZSTD_isError(ZSTD_CCtx_setParameter(s->zc, ZSTD_c_compressionLevel, s->cfg.compress)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(s->zc, ZSTD_c_contentSizeFlag, 1)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(s->zc, ZSTD_c_checksumFlag, 0))) {
      ZSTD_freeCCtx(s->zc);
      s->zc = NULL;
      return;
    }
  }
  lbuf z;
  lbuf_init(&z);
  if (lbuf_reserve(&z, plain) != 0)
    return;
  /* A frame that does not fit in fewer bytes than the plain array (with a
   * bin header of up to 5 bytes) is useless: zstd stops at that bound. */
  size_t zn = ZSTD_compress2(s->zc, z.p, plain - 6, out->p + at, plain);
  if (!ZSTD_isError(zn)) {
    out->len = at;
    mpw w;
    mpw_init(&w, out);
    mpw_bin(&w, z.p, zn);
  }
  lbuf_free(&z);
}

typedef struct rdctx {
  lbuf *body;
} rdctx;

/* Takes back what the DATA built last advanced: each of its authors is
 * sent again from where it was before. */
static void
s_rewind_sent(lsession *s)
{
  for (uint32_t i = 0; i < s->nundo; i++)
    s->undo[i].p->sent = s->undo[i].sent_before;
  s->nundo = 0;
}

static int
s_build_data(lsession *s, lbuf *out, uint64_t now_ms, lerr *e)
{
  if (!s->hello_rx && !s->early)
    return 0;
  int rc = s_refresh(s, e);
  if (rc)
    return rc;
  if (s->ninfl == SYNC_MAX_INFLIGHT)
    return 0;
  /* Our bound or the peer's, whichever is smaller: a station on a slow
   * link wants small messages (a dropped link loses less), a district
   * large ones (fewer commits). */
  int64_t max = s->peer_max && s->peer_max < s->cfg.max_message ? s->peer_max
                                                                 : s->cfg.max_message;
  /* Credit and the link's size count bytes on the wire, `room` bytes
   * before compression: so much as they hold at the ratio seen so far. */
  double ratio = 1.0;
  if (s->st.data_bytes_sent > 0 && s->st.data_bytes_plain > s->st.data_bytes_sent)
    ratio = (double)s->st.data_bytes_plain / (double)s->st.data_bytes_sent;
  /* One DATA takes at most cfg.data_ms of the measured link, so that
   * nothing (a heartbeat, an ACK) waits behind more than two of them. */
  if ((double)s->link_cap * ratio < (double)max)
    max = (int64_t)((double)s->link_cap * ratio);
  int64_t room = max;
  if (s->ninfl > 0) {
    int64_t c = s->credit, flight = 0;
    for (uint32_t i = 0; i < s->ninfl; i++)
      flight += s->infl[i].bytes;
    if (c > 2 * (int64_t)s->link_cap - flight)
      c = 2 * (int64_t)s->link_cap - flight;
    if (c > 0)
      c = (int64_t)((double)c * ratio);
    if (c < room)
      room = c;
    /* While messages are in flight, wait for credit for a large one rather
     * than fill each sliver of returned credit with a small one: every
     * DATA costs the receiver a synced commit, and a small window would
     * otherwise settle into many small messages. */
    int64_t want = (s->peer_window < max ? (int64_t)s->peer_window : max) / 2;
    if (room < want || room < 1024)
      return 0;
  }
  lbuf body;
  lbuf_init(&body);
  uint32_t count = 0;
  uint64_t ops = 0;
  s->nundo = 0;
  size_t limit = (size_t)room - 32; /* the message header */
  for (uint32_t i = 0; i < s->norder && body.len + 256 < limit; i++) {
    pstate *p = s->order[i];
    if (!p->in_scope || p->fork || p->local <= p->sent)
      continue;
    uint32_t c = 0;
    uint64_t last = p->sent;
    size_t before = body.len;
    rc = s->repl.read(s->repl.ctx, p->author, p->sent + 1, limit - body.len, limit - body.len,
                      &body, &c, &last, e);
    if (rc)
      break;
    if (c > 0 && body.len > limit && before > 0) {
      body.len = before; /* does not fit after what is already in: next message */
      break;
    }
    count += c;
    if (last > p->sent) {
      if (s->nundo == s->undo_cap) {
        uint32_t cap = s->undo_cap ? s->undo_cap * 2 : 16;
        undo *u = realloc(s->undo, cap * sizeof *u);
        if (u == NULL) {
          rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
          break;
        }
        s->undo = u;
        s->undo_cap = cap;
      }
      s->undo[s->nundo++] = (undo){p, p->sent};
      ops += last - p->sent;
      p->sent = last;
    }
  }
  if (rc == 0 && count > 0) {
    lbuf_reset(out);
    mpw w;
    mpw_init(&w, out);
    mpw_array(&w, 3);
    mpw_uint(&w, M_DATA);
    uint64_t no = ++s->next_msg_no;
    mpw_uint(&w, no);
    size_t at = out->len;
    mpw_array(&w, count);
    lbuf_put(out, body.p, body.len);
    size_t plain = out->len;
    if (!out->oom)
      s_compress(s, out, at);
    if (out->oom) {
      rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
    } else if (s->ninfl > 0 && (int64_t)out->len > s->credit) {
      /* It compressed worse than those before: it would overrun the
       * peer's window, so it waits for more credit. */
      s_rewind_sent(s);
      s->next_msg_no--;
      s->st.data_deferred++;
    } else {
      /* Credit is counted in bytes on the wire, compressed or not. */
      s->infl[s->ninfl].msg_no = no;
      s->infl[s->ninfl].bytes = (uint32_t)out->len;
      s->infl[s->ninfl].sent_ms = now_ms;
      s->ninfl++;
      s->credit -= (int64_t)out->len;
      s->st.ops_sent += ops;
      s->st.data_bytes_sent += out->len;
      if (out->len > s->st.data_max)
        s->st.data_max = (uint32_t)out->len;
      s->st.data_bytes_plain += plain;
      s->undo_ops = ops;
      s->undo_plain = plain;
      rc = 1;
    }
  }
  lbuf_free(&body);
  (void)now_ms;
  return rc;
}

/* A parent tells a child the class of every author it offers (HELLO);
 * an author that appeared since the last HELLO gets a new one before its
 * first DATA, so the child never has to guess where a log may go. */
static int
s_announce(lsession *s, uint64_t now_ms, lerr *e)
{
  if (!s->hello_rx || s->cfg.initiator)
    return 0;
  int rc = s_refresh(s, e);
  if (rc)
    return rc;
  for (uint32_t i = 0; i < s->norder; i++)
    if (!s->order[i]->announced && s->order[i]->local > s->order[i]->sent) {
      s_queue_hello(s, false, now_ms);
      break;
    }
  return 0;
}

/* Sends all the fork evidence the peer may be told of (the lrepl decides,
 * by the peer's scope) once its HELLO is in, and again whenever that count
 * moves (a new fork, or the peer's scope grew): few, small, and every node
 * should know. */
static void
s_tell_forks(lsession *s)
{
  if (!s->hello_rx || s->repl.fork_count == NULL)
    return;
  uint32_t n = s->repl.fork_count(s->repl.ctx);
  if (n == s->forks_told)
    return;
  lbuf ev;
  lbuf_init(&ev);
  for (uint32_t i = 0; i < n; i++) {
    lbuf_reset(&ev);
    if (s->repl.fork_get(s->repl.ctx, i, &ev, NULL) != 1 || ev.oom)
      break;
    if (ev.len + 16 > SYNC_MAX_MESSAGE)
      continue; /* too large for one message: the peer will see the fork itself */
    lbuf *b = s_ctrl_push(s);
    if (b == NULL)
      break;
    mpw w;
    mpw_init(&w, b);
    mpw_array(&w, 2);
    mpw_uint(&w, M_FORK);
    mpw_raw(&w, ev.p, ev.len);
  }
  lbuf_free(&ev);
  s->forks_told = n;
}

int
session_next_out(lsession *s, lbuf *out, uint64_t now_ms, lerr *e)
{
  int rc = s_announce(s, now_ms, e);
  if (rc)
    return rc;
  s_tell_forks(s);
  if (s->nctrl > 0) {
    lbuf *b = &s->ctrl[s->ctrl_head];
    lbuf_reset(out);
    lbuf_put(out, b->p, b->len);
    lbuf_reset(&s->last_ctrl);
    lbuf_put(&s->last_ctrl, b->p, b->len);
    s->ctrl_head = (s->ctrl_head + 1) % s->cfg.limits.answers;
    s->nctrl--;
    s->last_kind = 0;
    rc = out->oom ? lerr_set(e, LINLI_ENOMEM, "out of memory") : 1;
  } else {
    rc = s_build_data(s, out, now_ms, e);
    s->last_kind = rc == 1 ? 1 : -1;
  }
  if (rc == 1) {
    s->st.last_tx_ms = now_ms;
    s->st.msgs_sent++;
    s->st.bytes_sent += out->len;
  }
  return rc;
}

void
session_unsent(lsession *s)
{
  if (s->last_kind == 0 && s->nctrl < s->cfg.limits.answers) {
    /* back to the front of the queue */
    s->ctrl_head = (s->ctrl_head + s->cfg.limits.answers - 1) % s->cfg.limits.answers;
    lbuf_reset(&s->ctrl[s->ctrl_head]);
    lbuf_put(&s->ctrl[s->ctrl_head], s->last_ctrl.p, s->last_ctrl.len);
    s->nctrl++;
  } else if (s->last_kind == 1 && s->ninfl > 0) {
    /* Only the last DATA message is taken back; those before it went. */
    s->ninfl--;
    s->credit += s->infl[s->ninfl].bytes;
    s_rewind_sent(s);
    s->st.ops_sent -= s->undo_ops;
    s->st.data_bytes_sent -= s->infl[s->ninfl].bytes;
    s->st.data_bytes_plain -= s->undo_plain;
    s->undo_ops = 0;
    s->undo_plain = 0;
  }
  s->last_kind = -1;
}

void
session_set_timers(lsession *s, uint32_t ping_ms, uint32_t resync_ms)
{
  s->cfg.ping_ms = ping_ms ? ping_ms : 5000;
  s->cfg.resync_ms = resync_ms ? resync_ms : 5 * 60 * 1000;
}

void
session_resync(lsession *s)
{
  s->last_hello_tx = 0; /* due at once */
}

uint64_t
session_tick(lsession *s, uint64_t now_ms)
{
  if (s->hello_rx && now_ms >= s->st.last_tx_ms + s->cfg.ping_ms &&
      now_ms >= s->last_ping_tx + s->cfg.ping_ms) {
    lbuf *b = s_ctrl_push(s);
    if (b) {
      mpw w;
      mpw_init(&w, b);
      mpw_array(&w, 2);
      mpw_uint(&w, M_PING);
      mpw_uint(&w, now_ms);
      s->last_ping_tx = now_ms;
    }
  }
  if (s->cfg.initiator && now_ms >= s->last_hello_tx + s->cfg.resync_ms) {
    lerr e;
    s->local_dirty = true;
    if (s_refresh(s, &e) == 0)
      s_queue_hello(s, true, now_ms);
  }
  uint64_t next = s->st.last_tx_ms + s->cfg.ping_ms;
  if (s->last_ping_tx + s->cfg.ping_ms > next)
    next = s->last_ping_tx + s->cfg.ping_ms;
  if (s->cfg.initiator && s->last_hello_tx + s->cfg.resync_ms < next)
    next = s->last_hello_tx + s->cfg.resync_ms;
  return next > now_ms ? next : now_ms + 1;
}

uint64_t
session_peer_seq(lsession *s, const uint8_t author[LINLI_PK_BYTES])
{
  const pstate *p = s_author(s, author, false);
  return p ? p->adv : 0;
}

void
session_stat_get(const lsession *s, lsession_stat *st)
{
  *st = s->st;
  st->ops_behind_out = 0;
  st->ops_behind_in = s->unheld_ops;
  st->authors = (uint32_t)s->authors.n;
  for (size_t i = 0; i < s->authors.cap; i++)
    if (s->authors.slots[i].key) {
      const pstate *p = s->authors.slots[i].val;
      if (p->in_scope && p->local > p->acked)
        st->ops_behind_out += p->local - p->acked;
      if (p->adv > p->local)
        st->ops_behind_in += p->adv - p->local;
    }
  st->compress_tx = s->cfg.compress > 0 && s->peer_zstd;
  st->zstd_bytes = ZSTD_sizeof_CCtx(s->zc) + ZSTD_sizeof_DCtx(s->zd);
  st->link_cap = s->link_cap;
  st->link_rate = (uint64_t)s->link_rate;
  st->inflight_bytes = 0;
  for (uint32_t i = 0; i < s->ninfl; i++)
    st->inflight_bytes += s->infl[i].bytes;
}
