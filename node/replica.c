/*
 * replica.c - the lrepl over a store, and the replication scope of every
 * author; the rules are in replica.h.
 *
 * The registry is a hash map from author key to a small entry.  Every held
 * author has one (loaded at start from the heads and the "scope:" meta
 * rows), so `heads` for a child is one pass over the store's heads with an
 * O(1) lookup each.  Entries for authors a parent classified but we do not
 * hold yet live only in memory; they are written out when the author's
 * first ops are applied.
 *
 * Writing a class is a separate RocksDB write after the ingest commit: the
 * store has no way to add a meta row to the group's batch.  A crash between
 * the two leaves a held author without a class, which the rules treat like
 * UNASSIGNED (sent to no child) until a parent's next HELLO or the child's
 * next delta classifies it again: the failure is towards sharing less.
 */
#include "node/replica.h"

#include "crdt/hmap.h"
#include "node/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct s_entry {
  uint8_t cls;                     /* enum lscope_class */
  bool held;                       /* the store holds ops of this author */
  uint8_t child[LINLI_PK_BYTES];   /* LCLASS_CHILD */
} s_entry;

typedef struct s_peer {
  lreplica *r;
  uint8_t pk[LINLI_PK_BYTES];
  int kind;
  /* A child's certificate prefix, as of trust generation `gen`: read once
   * per change of the store's trust state, not per author per HELLO. */
  bool have_prefix;     /* `cert` and `prefix` hold for `gen` */
  bool cert;            /* the child's certificate is held */
  uint64_t gen;
  size_t prefix_len;
  char prefix[LINLI_KEY_MAX + 1];
  /* How many pieces of the fork evidence held lie in the peer's scope, as
   * of (trust generation, scope generation, evidence held): counted again
   * only when one of them moved, not at every message. */
  bool have_forks;
  uint64_t forks_gen, forks_sgen;
  uint32_t forks_held, forks_n;
} s_peer;

struct lreplica {
  lstore *s;
  hmap scopes;    /* author -> s_entry* */
  s_peer **peers;
  uint32_t npeers;
  uint64_t applied;
  uint64_t refused;   /* deltas left out by the trust rules */
  uint64_t sgen;      /* moves whenever an author's class changes */
  uint64_t ahead_ms;  /* hold-back bound (lingest_set_clock) */
};

void
replica_set_ahead(lreplica *r, uint64_t ahead_ms)
{
  r->ahead_ms = ahead_ms;
}

static void
s_meta_key(char key[8 + 2 * LINLI_PK_BYTES], const uint8_t author[LINLI_PK_BYTES])
{
  memcpy(key, "scope:", 6);
  hex_encode(key + 6, author, LINLI_PK_BYTES);
}

static int
s_entry_get(lreplica *r, const uint8_t author[LINLI_PK_BYTES], s_entry **out, lerr *e)
{
  s_entry *en = hmap_get(&r->scopes, author, LINLI_PK_BYTES);
  if (en == NULL) {
    en = calloc(1, sizeof *en);
    if (en == NULL || hmap_put(&r->scopes, author, LINLI_PK_BYTES, en) != 0) {
      free(en);
      return lerr_set(e, LINLI_ENOMEM, "out of memory");
    }
  }
  *out = en;
  return 0;
}

/* Writes an entry's class: into the commit `g` of the deltas that made it
 * (may be NULL: a write of its own), so that a held author always has the
 * class its deltas gave it, crash or not.  A failure is logged and
 * otherwise ignored: the class stays in memory, and the worst outcome
 * after a restart is an author shared with fewer nodes until it is
 * classified again. */
static void
s_persist(lreplica *r, lingest *g, const uint8_t author[LINLI_PK_BYTES], const s_entry *en)
{
  char key[8 + 2 * LINLI_PK_BYTES];
  uint8_t val[1 + LINLI_PK_BYTES];
  size_t n = 1;
  lerr e = {0};
  s_meta_key(key, author);
  val[0] = en->cls;
  if (en->cls == LCLASS_CHILD) {
    memcpy(val + 1, en->child, LINLI_PK_BYTES);
    n += LINLI_PK_BYTES;
  }
  if ((g ? lingest_meta_put(g, key, val, n, &e) : lstore_meta_put(r->s, key, val, n, &e)) != 0) {
    char who[LINLI_SHORT_ID_LEN + 1];
    ident_short(who, author);
    log_kv(LLOG_WARN, &(llog_kv){.author = author}, "cannot record the replication scope of "
           "author %s: %s", who, e.msg);
  }
}

static int
s_load(lreplica *r, lerr *e)
{
  lhead *heads = NULL;
  uint32_t n = 0;
  int rc = lstore_heads(r->s, &heads, &n, e);
  for (uint32_t i = 0; i < n && rc == 0; i++) {
    char key[8 + 2 * LINLI_PK_BYTES];
    uint8_t *val = NULL;
    size_t vn = 0;
    s_entry *en;
    if ((rc = s_entry_get(r, heads[i].author, &en, e)) != 0)
      break;
    en->held = true;
    s_meta_key(key, heads[i].author);
    rc = lstore_meta_get(r->s, key, &val, &vn, e);
    if (rc == LINLI_ENOTFOUND) {
      rc = 0;
      continue;
    }
    if (rc)
      break;
    bool ok = (vn == 1 && (val[0] == LCLASS_DOWN || val[0] == LCLASS_UNASSIGNED)) ||
              (vn == 1 + LINLI_PK_BYTES && val[0] == LCLASS_CHILD);
    if (ok) {
      en->cls = val[0];
      if (en->cls == LCLASS_CHILD)
        memcpy(en->child, val + 1, LINLI_PK_BYTES);
    } else {
      char who[LINLI_SHORT_ID_LEN + 1];
      ident_short(who, heads[i].author);
      rc = lerr_set(e, LINLI_ESTORE, "the replication scope of author %s is corrupt", who);
    }
    free(val);
  }
  free(heads);
  return rc;
}

int
replica_new(lreplica **out, lstore *s, lerr *e)
{
  *out = NULL;
  lreplica *r = calloc(1, sizeof *r);
  if (r == NULL)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  r->s = s;
  r->ahead_ms = LSTORE_AHEAD_MS;
  hmap_init(&r->scopes);
  int rc = s_load(r, e);
  if (rc) {
    replica_destroy(&r);
    return rc;
  }
  *out = r;
  return 0;
}

void
replica_destroy(lreplica **rp)
{
  lreplica *r = *rp;
  if (r == NULL)
    return;
  for (size_t i = 0; i < r->scopes.cap; i++)
    if (r->scopes.slots[i].key)
      free(r->scopes.slots[i].val);
  hmap_free(&r->scopes);
  for (uint32_t i = 0; i < r->npeers; i++)
    free(r->peers[i]);
  free(r->peers);
  free(r);
  *rp = NULL;
}

int
replica_class(const lreplica *r, const uint8_t author[LINLI_PK_BYTES],
              uint8_t child[LINLI_PK_BYTES])
{
  if (memcmp(author, lstore_self(r->s), LINLI_PK_BYTES) == 0)
    return LCLASS_SELF;
  const s_entry *en = hmap_get(&r->scopes, author, LINLI_PK_BYTES);
  if (en == NULL)
    return LCLASS_NONE;
  if (en->cls == LCLASS_CHILD && child)
    memcpy(child, en->child, LINLI_PK_BYTES);
  return en->cls;
}

uint64_t
replica_take_applied(lreplica *r)
{
  uint64_t n = r->applied;
  r->applied = 0;
  return n;
}

/* The child's certificate prefix (NULL: none held), re-read only when the
 * store's trust state moved since. */
static const char *
s_child_prefix(s_peer *p)
{
  lstore *s = p->r->s;
  if (!p->have_prefix || p->gen != lstore_trust_gen(s)) {
    const char *cp = NULL;
    p->gen = lstore_trust_gen(s);
    /* A read that fails leaves the child uncertified here: it sees less. */
    p->have_prefix = lstore_cert_prefix(s, p->pk, &cp, NULL) == 0;
    p->cert = cp != NULL;
    if (cp) {
      snprintf(p->prefix, sizeof p->prefix, "%s", cp);
      p->prefix_len = strlen(p->prefix);
    }
  }
  return p->cert ? p->prefix : NULL;
}

int
replica_cert_class(lstore *s, const char *station_ns, const uint8_t author[LINLI_PK_BYTES],
                   const char *author_ns)
{
  const uint8_t *root = lstore_root(s);
  if (memcmp(author, lstore_self(s), LINLI_PK_BYTES) == 0 ||
      (root != NULL && memcmp(author, root, LINLI_PK_BYTES) == 0))
    return LSCOPE_DOWN;
  if (station_ns == NULL || author_ns == NULL)
    return -1;
  if (strncmp(author_ns, station_ns, strlen(station_ns)) == 0)
    return LSCOPE_SUBTREE;
  if (strncmp(station_ns, author_ns, strlen(author_ns)) == 0)
    return LSCOPE_DOWN;
  return -1;
}

/* Under a trust root the certificates decide (replica.h, replica_cert_class);
 * an author whose certificate we do not hold, or any author while we hold
 * no certificate of the child, is shared only when a parent called it
 * DOWN (its ops are refused here anyway when it has no certificate). */
static int
s_cert_scope(s_peer *p, const uint8_t author[LINLI_PK_BYTES])
{
  lstore *s = p->r->s;
  const char *cp = s_child_prefix(p), *ap = NULL;
  if (lstore_cert_prefix(s, author, &ap, NULL) != 0)
    ap = NULL;
  int cls = replica_cert_class(s, cp, author, ap);
  if (cls < 0 && (cp == NULL || ap == NULL) && replica_class(p->r, author, NULL) == LCLASS_DOWN)
    cls = LSCOPE_DOWN;
  return cls;
}

/* The class `author` has in the scope of child `peer`: LSCOPE_DOWN,
 * LSCOPE_SUBTREE, or -1 when the child must not see it. */
static int
s_child_scope(s_peer *p, const uint8_t author[LINLI_PK_BYTES])
{
  uint8_t child[LINLI_PK_BYTES];
  if (lstore_root(p->r->s) != NULL)
    return s_cert_scope(p, author);
  switch (replica_class(p->r, author, child)) {
  case LCLASS_SELF:
  case LCLASS_DOWN:
    return LSCOPE_DOWN;
  case LCLASS_CHILD:
    return memcmp(child, p->pk, LINLI_PK_BYTES) == 0 ? LSCOPE_SUBTREE : -1;
  default:
    return -1;
  }
}

static int
s_heads(void *ctx, const uint8_t peer[LINLI_PK_BYTES], lrepl_head **out, uint32_t *n, lerr *e)
{
  s_peer *p = ctx;
  lhead *hs = NULL;
  uint32_t nh = 0;
  *out = NULL;
  *n = 0;
  (void)peer; /* the ctx names the peer; the session passes the same key */
  int rc = lstore_heads(p->r->s, &hs, &nh, e);
  if (rc)
    return rc;
  lrepl_head *v = malloc((nh ? nh : 1) * sizeof *v);
  if (v == NULL) {
    free(hs);
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  }
  uint32_t k = 0;
  for (uint32_t i = 0; i < nh; i++) {
    /* Held, whichever way it came (a peer, an import, our own writes):
     * s_head answers from memory for the authors a peer lists. */
    s_entry *en;
    if (s_entry_get(p->r, hs[i].author, &en, NULL) == 0)
      en->held = true;
    int cls = 0;
    if (p->kind == LPEER_CHILD && (cls = s_child_scope(p, hs[i].author)) < 0)
      continue;
    memcpy(v[k].author, hs[i].author, LINLI_PK_BYTES);
    v[k].seq = hs[i].seq;
    memcpy(v[k].hash, hs[i].hash, LINLI_HASH_BYTES);
    v[k].cls = (uint8_t)cls;
    k++;
  }
  free(hs);
  *out = v;
  *n = k;
  return 0;
}

/* What we hold of one author, whatever its scope: the session reports it
 * back for logs the peer itself listed, which reveals nothing it lacks. */
static int
s_head(void *ctx, const uint8_t author[LINLI_PK_BYTES], uint64_t seq, const uint8_t h8[8],
       lrepl_head *out, lerr *e)
{
  s_peer *p = ctx;
  lhead h;
  /* Every held author has an entry, made at start or by s_heads, which
   * the session calls before it reads a HELLO: the authors a peer lists
   * are looked up in memory, and only those we hold cost a read. */
  const s_entry *en = hmap_get(&p->r->scopes, author, LINLI_PK_BYTES);
  if ((en == NULL || !en->held) && memcmp(author, lstore_self(p->r->s), LINLI_PK_BYTES) != 0)
    return lerr_set(e, LINLI_ENOTFOUND, "author not held");
  /* Under a trust root a child hears nothing of an author outside its
   * scope beyond what it holds itself: a village listing its sibling's key
   * would otherwise watch the sibling's head move.  When our log passes
   * through the very head the child listed (same seq, same hash), that
   * head is the answer, so that a log it carried in (a bundle) is not sent
   * up again on every connection; otherwise nothing, and what it sends is
   * checked and what we hold discarded. */
  if (p->kind == LPEER_CHILD && lstore_root(p->r->s) != NULL && s_child_scope(p, author) < 0) {
    uint8_t at[LINLI_HASH_BYTES];
    if (seq == 0 || lstore_hash_at(p->r->s, author, seq, at, NULL) != 0 || memcmp(at, h8, 8) != 0)
      return lerr_set(e, LINLI_ENOTFOUND, "author outside the peer's scope");
    memcpy(out->author, author, LINLI_PK_BYTES);
    out->seq = seq;
    memcpy(out->hash, at, LINLI_HASH_BYTES);
    out->cls = LSCOPE_SUBTREE;
    return 0;
  }
  int rc = lstore_head(p->r->s, author, &h, e);
  if (rc)
    return rc;
  memcpy(out->author, author, LINLI_PK_BYTES);
  out->seq = h.seq;
  memcpy(out->hash, h.hash, LINLI_HASH_BYTES);
  out->cls = LSCOPE_SUBTREE;
  return 0;
}

typedef struct s_read_ctx {
  lbuf *out;
  uint32_t count;
  uint64_t last;
  int err;        /* set by s_read_emit, whose codes carry no message */
} s_read_ctx;

static int
s_read_emit(void *ctx, const uint8_t *p, size_t n)
{
  s_read_ctx *rc = ctx;
  uint8_t author[LINLI_PK_BYTES];
  uint64_t first, last;
  if (delta_peek(p, n, author, &first, &last) != 0)
    return rc->err = LINLI_ESTORE;
  if (lbuf_put(rc->out, p, n) != 0 || rc->out->oom)
    return rc->err = LINLI_ENOMEM;
  rc->count++;
  rc->last = last;
  return 0;
}

static int
s_read(void *ctx, const uint8_t author[LINLI_PK_BYTES], uint64_t from, size_t max_delta,
       size_t budget, lbuf *out, uint32_t *count, uint64_t *last, lerr *e)
{
  s_peer *p = ctx;
  s_read_ctx rc_ctx = {.out = out, .count = 0, .last = from ? from - 1 : 0, .err = 0};
  *count = 0;
  *last = rc_ctx.last;
  if (p->kind == LPEER_CHILD && s_child_scope(p, author) < 0) {
    char who[LINLI_SHORT_ID_LEN + 1], peer[LINLI_SHORT_ID_LEN + 1];
    ident_short(who, author);
    ident_short(peer, p->pk);
    return lerr_set(e, LINLI_EINVAL, "author %s is outside the replication scope of %s", who,
                    peer);
  }
  size_t before = out->len;
  int rc = lstore_read_log(p->r->s, author, from, max_delta, budget, s_read_emit, &rc_ctx, e);
  if (rc == LINLI_ENOTFOUND)
    rc = 0; /* an author we do not hold: nothing to send */
  if (rc_ctx.err == LINLI_ENOMEM)
    rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
  else if (rc_ctx.err)
    rc = lerr_set(e, LINLI_ESTORE, "a stored delta cannot be read (run linli verify)");
  if (rc) {
    out->len = before; /* leave no partial delta behind */
    return rc;
  }
  *count = rc_ctx.count;
  *last = rc_ctx.last;
  return 0;
}

/* Gives every author of a batch about to be committed in `g` its class
 * (see replica.h). */
static void
s_assign(s_peer *p, lingest *g, const uint8_t author[LINLI_PK_BYTES])
{
  lreplica *r = p->r;
  s_entry *en;
  if (memcmp(author, lstore_self(r->s), LINLI_PK_BYTES) == 0)
    return;
  if (s_entry_get(r, author, &en, NULL) != 0)
    return; /* out of memory: the author stays unclassified, sent to no child */
  bool was_held = en->held;
  en->held = true;
  if (p->kind == LPEER_CHILD) {
    if (en->cls == LCLASS_NONE || en->cls == LCLASS_UNASSIGNED) {
      en->cls = LCLASS_CHILD;
      memcpy(en->child, p->pk, LINLI_PK_BYTES);
      r->sgen++;
      s_persist(r, g, author, en);
    }
    return;
  }
  if (en->cls == LCLASS_NONE) {
    en->cls = LCLASS_UNASSIGNED; /* the parent never said: share with no child */
    r->sgen++;
    s_persist(r, g, author, en);
  } else if (!was_held) {
    s_persist(r, g, author, en); /* the parent's word, kept in memory until now */
  }
}

static int
s_apply(void *ctx, const uint8_t peer[LINLI_PK_BYTES], const uint8_t *const *d,
        const size_t *len, uint32_t n, uint64_t now_ms, uint8_t *refused, lerr *e)
{
  s_peer *p = ctx;
  lingest *g = NULL;
  lingest_stats st;
  char who[LINLI_SHORT_ID_LEN + 1];
  int rc = lstore_ingest_new(p->r->s, true, &g);
  if (rc)
    return lerr_set(e, rc, "out of memory");
  ident_short(who, peer);
  lingest_set_clock(g, now_ms, p->r->ahead_ms);
  for (uint32_t i = 0; i < n; i++) {
    lerr re;
    rc = lingest_add(g, d[i], len[i], &re);
    /* Held back for a future date: kept aside, neither applied nor passed
     * on, and not asked for again in this session. */
    if (rc == LINLI_EREFUSED || rc == LINLI_EFORK || rc == LINLI_EFUTURE) {
      /* The author's fault, not the peer's: leave it out, keep serving. */
      refused[i] = 1;
      p->r->refused++;
      /* the delta's author and first seq, for the journal */
      uint8_t whose[LINLI_PK_BYTES];
      uint64_t first = 0, last;
      llog_kv kv = {0};
      if (delta_peek(d[i], len[i], whose, &first, &last) == 0)
        kv = (llog_kv){.author = whose, .seq = first};
      if (rc == LINLI_EFORK)
        log_kv(LLOG_ERROR, &kv, "from %s: %s (the author's station, not %s, must be repaired: "
               "docs/OPERATING.md, \"Forks\")", who, re.msg, who);
      else
        log_kv(LLOG_WARN, &kv, "from %s: %s", who, re.msg);
      rc = 0;
      continue;
    }
    if (rc) {
      if (e)
        *e = re;
      goto done;
    }
  }
  /* Classes are assigned for every author of the batch, duplicates
   * included: a child re-sending its own log is how an UNASSIGNED author
   * (restored from a parent) finds its child again.  They are written with
   * the deltas; a commit that fails leaves them in memory only, and the
   * same deltas assign them again when they come back. */
  for (uint32_t i = 0; i < n; i++) {
    uint8_t author[LINLI_PK_BYTES];
    uint64_t first, last;
    if (!refused[i] && delta_peek(d[i], len[i], author, &first, &last) == 0)
      s_assign(p, g, author);
  }
  if ((rc = lingest_commit(g, now_ms, &st, e)) != 0) {
    lerr_wrap(e, rc, "cannot store what %s sent: ", who);
    goto done;
  }
  p->r->applied += st.ops_new;
done:
  lingest_destroy(&g);
  return rc;
}

static int
s_hash_at(void *ctx, const uint8_t author[LINLI_PK_BYTES], uint64_t seq,
          uint8_t hash[LINLI_HASH_BYTES], bool *forked, lerr *e)
{
  s_peer *p = ctx;
  ltrust_state *st = malloc(sizeof *st);
  if (st == NULL)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  *forked = lstore_trust(p->r->s, author, st, NULL) == 0 && st->forked;
  free(st);
  return lstore_hash_at(p->r->s, author, seq, hash, e);
}

/* The fork evidence a peer may be told of: all of it for a parent (everything
 * flows up), for a child only the evidence whose author lies in the child's
 * scope, decided as for the author's log (s_child_scope): the evidence holds
 * two of the author's ops. */
static bool
s_fork_told(void *ctx, const uint8_t author[LINLI_PK_BYTES])
{
  s_peer *p = ctx;
  return p->kind == LPEER_PARENT || s_child_scope(p, author) >= 0;
}

static uint32_t
s_fork_count(void *ctx)
{
  s_peer *p = ctx;
  lstore *s = p->r->s;
  uint32_t held = lstore_fork_count(s);
  if (p->kind == LPEER_PARENT || held == 0)
    return held;
  /* The session asks before every message it sends: counted again only
   * when the evidence held, the certificates or the classes moved. */
  if (!p->have_forks || p->forks_held != held || p->forks_gen != lstore_trust_gen(s) ||
      p->forks_sgen != p->r->sgen) {
    /* A store that cannot be read tells the child nothing now; the count
     * is taken again at the next call. */
    p->have_forks =
        lstore_fork_get(s, UINT32_MAX, s_fork_told, p, NULL, &p->forks_n, NULL) == 0;
    p->forks_held = held;
    p->forks_gen = lstore_trust_gen(s);
    p->forks_sgen = p->r->sgen;
    if (!p->have_forks)
      return 0;
  }
  return p->forks_n;
}

static int
s_fork_get(void *ctx, uint32_t i, lbuf *out, lerr *e)
{
  s_peer *p = ctx;
  return lstore_fork_get(p->r->s, i, s_fork_told, p, out, NULL, e);
}

int
replica_own_scope(lstore *s, const uint8_t author[LINLI_PK_BYTES], const uint8_t *const *d,
                  const size_t *dn, uint32_t nd, char author_ns[LINLI_KEY_MAX + 1])
{
  char ns[LINLI_KEY_MAX + 1];
  if (author_ns)
    author_ns[0] = '\0';
  if (lstore_root(s) == NULL || lstore_namespace(s, ns, NULL) != 0 || ns[0] == '\0')
    return 1;
  const char *ans = NULL;
  if (lstore_cert_prefix(s, author, &ans, NULL) != 0)
    ans = NULL;
  lchain *ch = NULL;
  for (uint32_t k = 0; k < nd && ans == NULL; k++) {
    uint8_t who[LINLI_PK_BYTES];
    uint64_t first, last;
    delta dl;
    if (delta_peek(d[k], dn[k], who, &first, &last) != 0 || first != 1 ||
        memcmp(who, author, LINLI_PK_BYTES) != 0 ||
        (ch == NULL && (ch = malloc(sizeof *ch)) == NULL) ||
        delta_decode(&dl, d[k], dn[k], NULL) != 0)
      continue;
    for (uint32_t i = 0; i < dl.nops && ans == NULL; i++)
      if (trust_op_chain(author, &dl.ops[i], ch, NULL) == 0 && ch->n > 0)
        ans = ch->c[0].prefix;
    delta_clear(&dl);
  }
  int in = ans == NULL ? -1 : replica_cert_class(s, ns, author, ans) >= 0;
  if (in == 0 && author_ns)
    snprintf(author_ns, LINLI_KEY_MAX + 1, "%s", ans);
  free(ch);
  return in;
}

/* Fork evidence a peer sent: checked on its own, then kept only when its
 * author lies in this station's own scope (replica_own_scope; without a
 * certificate of the author, when a peer placed the author in it: a
 * parent's class in its HELLO, or a child's log).  Evidence of any other
 * author (a sibling's, from an older or a dishonest parent) is not kept:
 * logged, and the session goes on (docs/PROTOCOL.md, "FORK"). */
static int
s_fork_put(void *ctx, const uint8_t peer[LINLI_PK_BYTES], const uint8_t *ev, size_t n, lerr *e)
{
  s_peer *p = ctx;
  char who[LINLI_SHORT_ID_LEN + 1], whose[LINLI_SHORT_ID_LEN + 1];
  fork_parts fp;
  int rc = fork_check(ev, n, fp.author, &fp.seq, e);
  if (rc == 0)
    rc = fork_read(ev, n, &fp, e);
  if (rc)
    return rc;
  ident_short(who, peer);
  ident_short(whose, fp.author);
  char ans[LINLI_KEY_MAX + 1];
  int in = replica_own_scope(p->r->s, fp.author, fp.d, fp.dn, 2, ans);
  if (in < 0)
    in = replica_class(p->r, fp.author, NULL) != LCLASS_NONE;
  if (!in) {
    log_kv(LLOG_WARN, &(llog_kv){.author = fp.author, .seq = fp.seq},
           "fork evidence from %s not kept: author %s%s%s is outside this station's scope",
           who, whose, ans[0] ? " of " : "", ans);
    return 0;
  }
  bool is_new = false;
  rc = lstore_fork_add(p->r->s, ev, n, &is_new, e);
  if (rc == 0 && is_new)
    log_kv(LLOG_ERROR, &(llog_kv){.author = fp.author, .seq = fp.seq},
           "fork evidence received from %s: author %s signed two histories at seq %llu%s "
           "(docs/OPERATING.md, \"Forks\")", who, whose, (unsigned long long)fp.seq,
           memcmp(fp.author, lstore_self(p->r->s), LINLI_PK_BYTES) == 0 ? ", this station" : "");
  return rc;
}

static void
s_classify(void *ctx, const uint8_t peer[LINLI_PK_BYTES], const uint8_t author[LINLI_PK_BYTES],
           int cls)
{
  s_peer *p = ctx;
  lreplica *r = p->r;
  s_entry *en;
  (void)peer;
  if (p->kind != LPEER_PARENT || memcmp(author, lstore_self(r->s), LINLI_PK_BYTES) == 0)
    return; /* only a parent classifies, and never our own key */
  if (cls != LSCOPE_DOWN && cls != LSCOPE_SUBTREE)
    return;
  if (s_entry_get(r, author, &en, NULL) != 0)
    return;
  if (en->cls == LCLASS_CHILD)
    return; /* we know better: it came from one of our children */
  uint8_t want = cls == LSCOPE_DOWN ? LCLASS_DOWN : LCLASS_UNASSIGNED;
  if (en->cls == want)
    return;
  en->cls = want;
  r->sgen++;
  if (en->held)
    s_persist(r, NULL, author, en);
}

int
replica_peer(lreplica *r, const uint8_t pk[LINLI_PK_BYTES], int kind, lrepl *out, lerr *e)
{
  if (memcmp(pk, lstore_self(r->s), LINLI_PK_BYTES) == 0)
    return lerr_set(e, LINLI_EINVAL, "a peer has this node's own key");
  for (uint32_t i = 0; i < r->npeers; i++)
    if (memcmp(r->peers[i]->pk, pk, LINLI_PK_BYTES) == 0)
      return lerr_set(e, LINLI_EEXIST, "the peer is registered already");
  s_peer **nv = realloc(r->peers, (r->npeers + 1) * sizeof *nv);
  if (nv == NULL)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  r->peers = nv;
  s_peer *p = calloc(1, sizeof *p);
  if (p == NULL)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  p->r = r;
  memcpy(p->pk, pk, LINLI_PK_BYTES);
  p->kind = kind;
  r->peers[r->npeers++] = p;
  memset(out, 0, sizeof *out);
  out->ctx = p;
  out->heads = s_heads;
  out->head = s_head;
  out->read = s_read;
  out->apply = s_apply;
  out->classify = s_classify;
  out->hash_at = s_hash_at;
  out->fork_count = s_fork_count;
  out->fork_get = s_fork_get;
  out->fork_put = s_fork_put;
  return 0;
}

void
replica_peer_drop(lreplica *r, const uint8_t pk[LINLI_PK_BYTES])
{
  for (uint32_t i = 0; i < r->npeers; i++) {
    if (memcmp(r->peers[i]->pk, pk, LINLI_PK_BYTES) != 0)
      continue;
    free(r->peers[i]);
    r->peers[i] = r->peers[--r->npeers];
    return;
  }
}

/* How a station that is not a configured peer stands to us, by the
 * certificates held: a parent when it is the root, an issuer in our own
 * chain, or certified for a namespace strictly above ours, a child (whose
 * scope the certificates then decide, s_cert_scope) otherwise. */
static int
s_station_kind(lstore *s, const uint8_t pk[LINLI_PK_BYTES])
{
  const uint8_t *root = lstore_root(s);
  if (memcmp(root, pk, LINLI_PK_BYTES) == 0)
    return LPEER_PARENT;
  /* an issuer of our own chain: the street that certified us, and up */
  ltrust_state *own = malloc(sizeof *own);
  bool issuer = false;
  if (own != NULL && lstore_trust(s, lstore_self(s), own, NULL) == 0 && own->certified)
    for (uint32_t i = 0; i < own->chain.n && !issuer; i++)
      issuer = memcmp(own->chain.c[i].issuer, pk, LINLI_PK_BYTES) == 0;
  free(own);
  if (issuer)
    return LPEER_PARENT;
  char ns[LINLI_KEY_MAX + 1];
  const char *sp = NULL;
  if (lstore_cert_prefix(s, pk, &sp, NULL) == 0 && sp != NULL &&
      lstore_namespace(s, ns, NULL) == 0 && strlen(sp) < strlen(ns) &&
      strncmp(ns, sp, strlen(sp)) == 0)
    return LPEER_PARENT;
  return LPEER_CHILD;
}

int
replica_station_heads(lstore *s, const uint8_t station[LINLI_PK_BYTES], lrepl_head **out,
                      uint32_t *n, lerr *e)
{
  *out = NULL;
  *n = 0;
  if (lstore_root(s) == NULL)
    return lerr_set(e, LINLI_EINVAL, "the store has no trust root");
  lreplica *r;
  lrepl repl;
  int rc = replica_new(&r, s, e);
  if (rc)
    return rc;
  int kind = s_station_kind(s, station);
  rc = replica_peer(r, station, kind, &repl, e);
  if (rc == 0)
    rc = s_heads(repl.ctx, station, out, n, e);
  replica_destroy(&r);
  /* Sync gives its own log to every child; a station met only through a
   * file may instead be a sibling (a village's stick carried to the next
   * village): our own log goes only to a station certified below our
   * namespace. */
  char ns[LINLI_KEY_MAX + 1];
  const char *sp = NULL;
  if (rc == 0 && kind == LPEER_CHILD &&
      memcmp(lstore_self(s), lstore_root(s), LINLI_PK_BYTES) != 0 &&
      !(lstore_cert_prefix(s, station, &sp, NULL) == 0 && sp != NULL &&
        lstore_namespace(s, ns, NULL) == 0 && strncmp(sp, ns, strlen(ns)) == 0)) {
    uint32_t k = 0;
    for (uint32_t i = 0; i < *n; i++)
      if (memcmp((*out)[i].author, lstore_self(s), LINLI_PK_BYTES) != 0)
        (*out)[k++] = (*out)[i];
    *n = k;
  }
  return rc;
}
