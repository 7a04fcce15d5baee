/*
 * ingest.c - the one write path: every change, local or remote, becomes a
 * group of signed deltas that lingest_add() verifies (chain, signature,
 * continuity, trust rules) and lingest_commit() applies in one synced
 * WriteBatch.  A commit visits each record the group touches once, in key
 * order (views.c): read it, merge its ops, write it and its digest
 * contributions; then the log rows, the heads and the HLC go in.
 */
#include "node/store_int.h"
#include "crdt/hlc.h"
#include "crdt/hmap.h"
#include "crdt/rules.h"
#include "node/failpoint.h"
#include "node/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- ingest groups ---- */

typedef struct gitem {
  delta d;
  uint8_t *raw;
  size_t raw_len;
  uint32_t skip;                     /* leading ops already held */
  uint32_t keep;                     /* ops kept: [skip, keep) are new; < nops after a revocation */
  uint8_t sig[LINLI_SIG_BYTES];      /* over the head at keep - 1 */
  uint8_t prev[LINLI_HASH_BYTES];    /* hash of the op before the first new one */
  lhead head;                        /* the head after this delta */
} gitem;

/* A chain an author's op in the group set: the chain in force from `seq`
 * on, until the author's next one. */
typedef struct gepoch {
  uint8_t author[LINLI_PK_BYTES];
  uint64_t seq;
  ltrust_issuers is;
} gepoch;

/* A revocation op in the group (its writer and what it says). */
typedef struct grev {
  uint8_t revoker[LINLI_PK_BYTES];
  lrevoke rv;
  int verdict; /* staged: 0 in force, LINLI_EREFUSED not, 1 pending */
} grev;

/* What one delta would change in the group's trust state.  Built while the
 * delta is checked, applied only once every check passed: a refused delta
 * leaves the group as it was. */
typedef struct tstage {
  ltrust_state *work; /* the author's state after the delta; NULL: unchanged */
  gepoch *ep;
  uint32_t nep, ep_cap;
  grev *rv;
  uint32_t nrv, rv_cap;
  char cut[400]; /* the delta runs past its author's revocation */
} tstage;

struct lingest {
  lstore *s;
  bool keep;
  hmap heads; /* author -> lhead*, as the store plus the group would have it */
  hmap trust; /* author -> ltrust_state*, likewise */
  uint8_t (*revsubj)[LINLI_PK_BYTES]; /* subjects of revocations in the group */
  uint32_t nrevsubj, revsubj_cap;
  gepoch *ep; /* chains set in the group, in arrival order */
  uint32_t nep, ep_cap;
  grev *grevs; /* revocations in the group, in arrival order */
  uint32_t ngrevs, grevs_cap;
  char cut[400]; /* the first delta cut at a revocation ("": none) */
  gitem *items;
  uint32_t n, cap;
  /* Where each delta accepted into the group lies: in items[].raw, or in
   * the caller's bytes for a verify-only group.  A later delta of the same
   * input that forks from one of them is kept as evidence against it. */
  struct gref {
    uint8_t author[LINLI_PK_BYTES];
    uint64_t first, last;
    const uint8_t *p;
    size_t n;
  } *refs;
  uint32_t nrefs, refs_cap;
  uint64_t nops, dups;
  lbuf scratch;
  uint8_t (*hashes)[LINLI_HASH_BYTES];
  uint32_t hashes_cap;
  lbuf meta; /* lingest_meta_put: (u16 key length, key, u32 value length, value) ... */
  uint64_t wall_ms, ahead_ms; /* hold-back (lingest_set_clock); 0: off */
  bool releasing;             /* reading the held rows back (holdback.c) */
  bool local;                 /* lstore_write's group: ops stamped by our clock */
  hmap held;                  /* authors with a delta held back in this group */
};

void
lingest_set_clock(lingest *g, uint64_t wall_ms, uint64_t ahead_ms)
{
  g->wall_ms = wall_ms;
  g->ahead_ms = ahead_ms;
}

void
st_ingest_releasing(lingest *g)
{
  g->releasing = true;
}

int
lstore_ingest_new(lstore *s, bool keep, lingest **out)
{
  lingest *g = calloc(1, sizeof *g);
  if (g == NULL)
    return LINLI_ENOMEM;
  g->s = s;
  g->keep = keep;
  hmap_init(&g->heads);
  hmap_init(&g->trust);
  hmap_init(&g->held);
  lbuf_init(&g->scratch);
  lbuf_init(&g->meta);
  *out = g;
  return 0;
}

static void
s_group_clear(lingest *g)
{
  for (uint32_t i = 0; i < g->n; i++) {
    delta_clear(&g->items[i].d);
    free(g->items[i].raw);
  }
  g->n = 0;
  g->nrefs = 0;
  g->nops = 0;
  g->dups = 0;
  for (size_t i = 0; i < g->heads.cap; i++)
    if (g->heads.slots[i].key)
      free(g->heads.slots[i].val);
  hmap_free(&g->heads);
  for (size_t i = 0; i < g->trust.cap; i++)
    if (g->trust.slots[i].key)
      free(g->trust.slots[i].val);
  hmap_free(&g->trust);
  g->nrevsubj = 0;
  g->nep = 0;
  g->ngrevs = 0;
  g->cut[0] = 0;
  lbuf_reset(&g->meta);
  hmap_free(&g->held); /* values are no pointers of their own */
}

void
lingest_destroy(lingest **gp)
{
  lingest *g = *gp;
  if (g == NULL)
    return;
  s_group_clear(g);
  free(g->items);
  free(g->refs);
  free(g->hashes);
  free(g->revsubj);
  free(g->ep);
  free(g->grevs);
  lbuf_free(&g->scratch);
  lbuf_free(&g->meta);
  free(g);
  *gp = NULL;
}

uint32_t lingest_count(const lingest *g) { return g->n; }

int
lingest_check(lingest *g, lerr *e)
{
  if (g->cut[0])
    return lerr_set(e, LINLI_EREFUSED, "%s", g->cut);
  /* A revocation after ops of its subject the group brought. */
  for (uint32_t i = 0; i < g->nrevsubj; i++) {
    const uint8_t *subj = g->revsubj[i];
    ltrust_state *st = hmap_get(&g->trust, subj, LINLI_PK_BYTES);
    lhead *h = hmap_get(&g->heads, subj, LINLI_PK_BYTES);
    const ltrust_rev *rv = st ? trust_revocation(st) : NULL;
    if (rv == NULL || h == NULL || !trust_cut(rv, h->seq))
      continue;
    lhead held;
    int rc = lstore_head(g->s, subj, &held, e);
    if (rc != 0 && rc != LINLI_ENOTFOUND)
      return rc;
    uint64_t from = rc == 0 && held.seq > rv->rv.seq ? held.seq : rv->rv.seq;
    if (h->seq > from) {
      char who[LINLI_SHORT_ID_LEN + 1], by[LINLI_SHORT_ID_LEN + 1];
      return lerr_set(e, LINLI_EREFUSED,
                      "author %s seq %llu..%llu: signed after the key was revoked at seq %llu by "
                      "%s (%s)",
                      st_short(who, subj), (unsigned long long)from + 1,
                      (unsigned long long)h->seq, (unsigned long long)rv->rv.seq,
                      st_short(by, rv->revoker),
                      rv->rv.reason[0] ? rv->rv.reason : "no reason given");
    }
  }
  return 0;
}
uint64_t lingest_ops(const lingest *g) { return g->nops; }

static int
s_group_head(lingest *g, const uint8_t author[LINLI_PK_BYTES], lhead **out, lerr *e)
{
  lhead *h = hmap_get(&g->heads, author, LINLI_PK_BYTES);
  if (h == NULL) {
    h = calloc(1, sizeof *h);
    if (h == NULL)
      return lerr_set(e, LINLI_ENOMEM, "out of memory");
    int rc = lstore_head(g->s, author, h, e);
    if (rc != 0 && rc != LINLI_ENOTFOUND) {
      free(h);
      return rc;
    }
    if (hmap_put(&g->heads, author, LINLI_PK_BYTES, h) != 0) {
      free(h);
      return lerr_set(e, LINLI_ENOMEM, "out of memory");
    }
  }
  *out = h;
  return 0;
}

/* The group's view of an author's trust state: the store's, plus what
 * the deltas added before changed. */
static int
s_group_trust(lingest *g, const uint8_t author[LINLI_PK_BYTES], ltrust_state **out, lerr *e)
{
  ltrust_state *st = hmap_get(&g->trust, author, LINLI_PK_BYTES);
  if (st == NULL) {
    ltrust_state *base;
    int rc = st_trust_get(g->s, author, &base, e);
    if (rc)
      return rc;
    if ((st = malloc(sizeof *st)) == NULL)
      return lerr_set(e, LINLI_ENOMEM, "out of memory");
    *st = *base;
    if (hmap_put(&g->trust, author, LINLI_PK_BYTES, st) != 0) {
      free(st);
      return lerr_set(e, LINLI_ENOMEM, "out of memory");
    }
  }
  *out = st;
  return 0;
}

/* An op broke the rules: the author's log cannot go past it, here or in
 * any later group (a signed log never changes). */
static void
s_block(lingest *g, const uint8_t author[LINLI_PK_BYTES], ltrust_state *ts, uint64_t seq,
        const char *why)
{
  ltrust_state *base;
  if (seq < ts->blocked_at) {
    ts->blocked_at = seq;
    snprintf(ts->why, sizeof ts->why, "%s", why);
  }
  if (st_trust_get(g->s, author, &base, NULL) == 0 && seq < base->blocked_at) {
    g->s->trust_gen++;
    base->blocked_at = seq;
    snprintf(base->why, sizeof base->why, "%s", why);
  }
}

/* The delta of this group (not stored yet) holding `author`'s op `seq`. */
static const struct gref *
s_group_ref(const lingest *g, const uint8_t author[LINLI_PK_BYTES], uint64_t seq)
{
  for (uint32_t i = 0; i < g->nrefs; i++) {
    const struct gref *r = &g->refs[i];
    if (memcmp(r->author, author, LINLI_PK_BYTES) == 0 && r->first <= seq && seq <= r->last)
      return r;
  }
  return NULL;
}

int
st_first_diff(lstore *s, const delta *d, uint64_t upto, uint64_t *q, lerr *e)
{
  uint8_t h[LINLI_HASH_BYTES], mine[LINLI_HASH_BYTES];
  *q = 0;
  if (d->first_seq > 1) {
    int rc = lstore_hash_at(s, d->author, d->first_seq - 1, mine, e);
    if (rc)
      return rc;
    if (memcmp(mine, d->prev, sizeof mine) != 0)
      return lerr_set(e, LINLI_EINVAL, "the delta does not start on the log held");
  }
  lbuf scratch;
  lbuf_init(&scratch);
  int rc = 0;
  memcpy(h, d->prev, sizeof h);
  uint64_t last = delta_last_seq(d);
  for (uint64_t x = d->first_seq; x <= upto && x <= last && rc == 0; x++) {
    op_hash(h, h, d->author, &d->ops[x - d->first_seq], &scratch);
    if ((rc = lstore_hash_at(s, d->author, x, mine, e)) == 0 && memcmp(mine, h, sizeof h) != 0) {
      *q = x;
      break;
    }
  }
  lbuf_free(&scratch);
  return rc;
}

/* Where the evidence of a fork found at `seq` goes: the first seq at which
 * `d` parts from the stored log when `d` starts on it, else `seq`.  There
 * the station that forked reads which of its ops the other history lacks
 * (forkfix.c). */
static uint64_t
s_fork_start(lstore *s, const delta *d, uint64_t seq)
{
  uint64_t q;
  return st_first_diff(s, d, seq - 1, &q, NULL) == 0 && q > 0 ? q : seq;
}

/* The author forked at `seq`: the group refuses its new ops from now on. */
static int
s_group_forked(lingest *g, const uint8_t author[LINLI_PK_BYTES], uint64_t seq, lerr *e)
{
  ltrust_state *ts;
  int rc = s_group_trust(g, author, &ts, e);
  if (rc == 0 && !ts->forked) {
    ts->forked = true;
    ts->fork_seq = seq;
  }
  return rc;
}

int
lingest_fork_note(lingest *g, const uint8_t *ev, size_t n, lerr *e)
{
  uint8_t author[LINLI_PK_BYTES];
  uint64_t seq;
  int rc = fork_check(ev, n, author, &seq, e);
  return rc ? rc : s_group_forked(g, author, seq, e);
}

/* Two signed deltas disagree at `seq`: keep both as evidence, whether the
 * other one is stored or came earlier in this group (the same file). */
static int
s_fork_found(lingest *g, const delta *d, const uint8_t *p, size_t n, uint64_t seq, lerr *e)
{
  char who[LINLI_SHORT_ID_LEN + 1];
  delta ours;
  char *raw = NULL;
  size_t rl = 0;
  const uint8_t *other = NULL;
  memset(&ours, 0, sizeof ours);
  uint64_t at = s_fork_start(g->s, d, seq);
  if (at != seq && st_load_delta(g->s, d->author, at, &ours, &raw, &rl, NULL) == 0) {
    seq = at;
    other = (const uint8_t *)raw;
  } else if (st_load_delta(g->s, d->author, seq, &ours, &raw, &rl, NULL) == 0) {
    other = (const uint8_t *)raw;
  } else {
    const struct gref *r = s_group_ref(g, d->author, seq);
    if (r != NULL) {
      other = r->p;
      rl = r->n;
    }
  }
  if (other != NULL) {
    lbuf ev;
    lbuf_init(&ev);
    fork_encode(&ev, d->author, seq, other, rl, p, n);
    if (!ev.oom)
      st_fork_keep(g->s, d->author, seq, ev.p, ev.len, NULL);
    lbuf_free(&ev);
  }
  delta_clear(&ours);
  free(raw);
  s_group_forked(g, d->author, seq, NULL);
  return lerr_set(e, LINLI_EFORK,
                  "author %s seq %llu: two signed histories (a fork); evidence kept, new ops of "
                  "this author are refused",
                  st_short(who, d->author), (unsigned long long)seq);
}

/* Holds a verified delta back for its future date (holdback.c). */
static int
s_hold(lingest *g, const delta *d, const uint8_t *p, size_t n, lerr *e)
{
  char who[LINLI_SHORT_ID_LEN + 1];
  int rc = hmap_get(&g->held, d->author, LINLI_PK_BYTES) != NULL
               ? 0
               : hmap_put(&g->held, d->author, LINLI_PK_BYTES, g);
  if (rc)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  if (g->keep && (rc = st_held_put(g->s, d->author, d->first_seq, p, n, e)) != 0)
    return rc;
  uint64_t t = hlc_ms(d->ops[d->nops - 1].hlc);
  uint64_t ahead = t > g->wall_ms ? t - g->wall_ms : 0;
  return lerr_set(e, LINLI_EFUTURE,
                  "author %s seqs %llu-%llu: dated up to %llu min ahead of this clock; held "
                  "back (not applied, not passed on) until this clock reaches them",
                  st_short(who, d->author), (unsigned long long)d->first_seq,
                  (unsigned long long)delta_last_seq(d), (unsigned long long)(ahead / 60000));
}

static bool
s_has_trust_op(const delta *d, uint32_t from)
{
  for (uint32_t i = from; i < d->nops; i++)
    if (d->ops[i].key_len > 6 && memcmp(d->ops[i].key, "trust/", 6) == 0)
      return true;
  return false;
}

/* What can be refused from the header alone: a forked or blocked author,
 * or a delta wholly after the author's revocation. */
static int
s_trust_precheck(lingest *g, const delta *d, lerr *e)
{
  char who[LINLI_SHORT_ID_LEN + 1];
  ltrust_state *ts;
  int rc = s_group_trust(g, d->author, &ts, e);
  if (rc)
    return rc;
  st_short(who, d->author);
  if (ts->forked)
    return lerr_set(e, LINLI_EREFUSED,
                    "author %s: its log forked at seq %llu (evidence kept); new ops are refused",
                    who, (unsigned long long)ts->fork_seq);
  if (ts->blocked_at <= delta_last_seq(d))
    return lerr_set(e, LINLI_EREFUSED, "%s", ts->why);
  const ltrust_rev *rv = trust_revocation(ts);
  /* Wholly after the revocation: even the op before the delta's first is
   * cut (first_seq >= 1, so no wrap). */
  if (trust_cut(rv, d->first_seq - 1))
    return lerr_set(e, LINLI_EREFUSED, "author %s seq %llu: key revoked after seq %llu (%s)", who,
                    (unsigned long long)d->first_seq, (unsigned long long)rv->rv.seq,
                    rv->rv.reason[0] ? rv->rv.reason : "no reason given");
  return 0;
}

/* Grows an array to hold `need` elements of `size` bytes. */
static int
s_reserve(void **p, uint32_t *cap, uint32_t need, size_t size, lerr *e)
{
  if (need <= *cap)
    return 0;
  uint32_t c = *cap ? *cap : 4;
  while (c < need)
    c *= 2;
  void *np = realloc(*p, (size_t)c * size);
  if (np == NULL)
    return lerr_set(e, LINLI_ENOMEM, "out of memory");
  *p = np;
  *cap = c;
  return 0;
}

static void
s_stage_free(tstage *sg)
{
  free(sg->work);
  free(sg->ep);
  free(sg->rv);
  memset(sg, 0, sizeof *sg);
}

typedef struct cross_ctx {
  const uint8_t *root;
  ltrust_state *work;
  uint64_t seq;       /* the author's op just checked */
  uint64_t next;      /* the smallest pending seq after it */
} cross_ctx;

static int
s_cross_one(void *ctx, const uint8_t revoker[LINLI_PK_BYTES], const lrevoke *rv)
{
  cross_ctx *cc = ctx;
  uint64_t at = trust_revoke_at(rv->seq);
  if (memcmp(revoker, cc->root, LINLI_PK_BYTES) == 0 || at < cc->seq)
    return 0; /* decided before */
  if (at > cc->seq) {
    if (at < cc->next)
      cc->next = at;
    return 0;
  }
  /* The chain in force at its seq is the one the author holds now. */
  ltrust_issuers is;
  if (cc->work->certified)
    trust_issuers(&cc->work->chain, &is);
  if (trust_revoke_check(cc->root, revoker, rv, cc->work->certified ? &is : NULL, NULL) == 0)
    trust_add_revocation(cc->work, revoker, rv);
  return 0;
}

/* The author's log has reached op `seq`, and revocations of it wait there
 * (work->pending_at <= seq): decide them by the chain in force now, from
 * the stored ones and those earlier in the group. */
static int
s_cross(lingest *g, const uint8_t author[LINLI_PK_BYTES], ltrust_state *work, uint64_t seq,
        lerr *e)
{
  cross_ctx cc = {.root = lstore_root(g->s), .work = work, .seq = seq, .next = UINT64_MAX};
  int rc = st_revocations_each(g->s, author, s_cross_one, &cc, e);
  for (uint32_t i = 0; i < g->ngrevs && rc == 0; i++)
    if (memcmp(g->grevs[i].rv.subject, author, LINLI_PK_BYTES) == 0)
      s_cross_one(&cc, g->grevs[i].revoker, &g->grevs[i].rv);
  if (rc == 0)
    work->pending_at = cc.next;
  LINLI_ASSERT(rc != 0 || work->pending_at > seq);
  return rc;
}

/* Runs ops [skip, nops) through the trust rules.  *keep gets how many ops
 * of the delta are kept (fewer than nops when the author was revoked inside
 * it: the cut keeps the revocation's copy of the author's signature).  What
 * the delta changes is staged in `sg` (s_stage_apply). */
static int
s_trust_delta(lingest *g, const delta *d, uint32_t skip, uint32_t *keep,
              uint8_t sig[LINLI_SIG_BYTES], tstage *sg, lerr *e)
{
  char who[LINLI_SHORT_ID_LEN + 1];
  st_short(who, d->author);
  *keep = d->nops;
  memcpy(sig, d->sig, LINLI_SIG_BYTES);
  /* Forked and blocked authors were refused by s_trust_precheck. */
  ltrust_state *ts;
  int rc = s_group_trust(g, d->author, &ts, e);
  if (rc)
    return rc;
  const uint8_t *root = lstore_root(g->s);
  /* Work on a copy when the delta can change the state: a trust/ op, or
   * revocations waiting for a seq the delta reaches. */
  bool copy = s_has_trust_op(d, skip) ||
              (root != NULL && ts->pending_at <= delta_last_seq(d));
  ltrust_state *work = ts;
  if (copy) {
    if ((work = malloc(sizeof *work)) == NULL)
      return lerr_set(e, LINLI_ENOMEM, "out of memory");
    *work = *ts;
    sg->work = work;
  }
  for (uint32_t i = skip; i < d->nops && rc == 0; i++) {
    const op *o = &d->ops[i];
    const ltrust_rev *rv = root ? trust_revocation(work) : NULL;
    if (trust_cut(rv, o->seq)) {
      if (i > skip && rv->rv.seq == o->seq - 1 &&
          memcmp(g->hashes[i - 1], rv->rv.hash, LINLI_HASH_BYTES) == 0) {
        *keep = i;
        memcpy(sig, rv->rv.sig, LINLI_SIG_BYTES);
        snprintf(sg->cut, sizeof sg->cut,
                 "author %s seq %llu..%llu: signed after the key was revoked at seq %llu (%s)",
                 who, (unsigned long long)o->seq, (unsigned long long)delta_last_seq(d),
                 (unsigned long long)rv->rv.seq,
                 rv->rv.reason[0] ? rv->rv.reason : "no reason given");
        break;
      }
      rc = lerr_set(e, LINLI_EREFUSED, "author %s seq %llu: key revoked after seq %llu (%s)", who,
                    (unsigned long long)o->seq, (unsigned long long)rv->rv.seq,
                    rv->rv.reason[0] ? rv->rv.reason : "no reason given");
      break;
    }
    lrevoke rvk;
    bool isrv;
    uint64_t chain_seq = work->chain_seq;
    if ((rc = trust_check_op(root, d->author, work, o, &rvk, &isrv, e)) != 0) {
      /* A refused local write (the node's or a person's) never existed; a
       * received op did. */
      if (rc == LINLI_EREFUSED && !g->local)
        s_block(g, d->author, ts, o->seq, e ? e->msg : "refused");
      break;
    }
    if (work->chain_seq != chain_seq) {
      /* A chain set here: revocations at later seqs of this log are
       * decided by it. */
      if ((rc = s_reserve((void **)&sg->ep, &sg->ep_cap, sg->nep + 1, sizeof *sg->ep, e)) != 0)
        break;
      gepoch *ep = &sg->ep[sg->nep++];
      memcpy(ep->author, d->author, LINLI_PK_BYTES);
      ep->seq = o->seq;
      trust_issuers(&work->chain, &ep->is);
    }
    if (isrv && root != NULL) {
      if ((rc = s_reserve((void **)&sg->rv, &sg->rv_cap, sg->nrv + 1, sizeof *sg->rv, e)) != 0)
        break;
      grev *r = &sg->rv[sg->nrv++];
      memcpy(r->revoker, d->author, LINLI_PK_BYTES);
      r->rv = rvk;
      r->verdict = 1;
    }
    if (root != NULL && work->pending_at <= o->seq) {
      if ((rc = s_cross(g, d->author, work, o->seq, e)) != 0)
        break;
      /* A revocation at seq 0, decided by the chain op 1 set, cuts op 1
       * itself: nothing of the log is valid. */
      rv = trust_revocation(work);
      if (trust_cut(rv, o->seq)) {
        rc = lerr_set(e, LINLI_EREFUSED, "author %s seq %llu: key revoked after seq %llu (%s)",
                      who, (unsigned long long)o->seq, (unsigned long long)rv->rv.seq,
                      rv->rv.reason[0] ? rv->rv.reason : "no reason given");
        break;
      }
    }
  }
  /* A cut keeps at least one new op: one at the first new op refuses. */
  LINLI_ASSERT(rc != 0 || *keep > skip);
  return rc;
}

/* The issuers of the chain in force at `at` when one of `author`'s ops in
 * the group set it; LINLI_ENOTFOUND when the chain there is the store's. */
static int
s_group_issuers_at(lingest *g, const uint8_t author[LINLI_PK_BYTES], uint64_t at,
                   const ltrust_issuers **out)
{
  *out = NULL;
  for (uint32_t i = g->nep; i-- > 0;)
    if (g->ep[i].seq <= at && memcmp(g->ep[i].author, author, LINLI_PK_BYTES) == 0) {
      *out = &g->ep[i].is;
      return 0;
    }
  return LINLI_ENOTFOUND;
}

/* Decides each revocation the delta holds (sg->rv[].verdict): in force, no
 * force, or pending while the subject's log is not held up to its seq.
 * Reads only; the group is not changed. */
static int
s_stage_decide(lingest *g, tstage *sg, lerr *e)
{
  lstore *s = g->s;
  int rc = 0;
  for (uint32_t i = 0; i < sg->nrv && rc == 0; i++) {
    grev *r = &sg->rv[i];
    uint64_t at = trust_revoke_at(r->rv.seq);
    lhead *h;
    if (memcmp(r->revoker, s->root, LINLI_PK_BYTES) == 0) {
      r->verdict = 0;
      continue;
    }
    if ((rc = s_group_head(g, r->rv.subject, &h, e)) != 0)
      break;
    if (h->seq < at) {
      r->verdict = 1;
      continue;
    }
    const ltrust_issuers *is;
    if (s_group_issuers_at(g, r->rv.subject, at, &is) == 0) {
      r->verdict = trust_revoke_check(s->root, r->revoker, &r->rv, is, NULL);
      continue;
    }
    ltrust_state *base;
    if ((rc = st_trust_get(s, r->rv.subject, &base, e)) != 0)
      break;
    r->verdict = st_revoke_decide(s, base, r->rv.subject, r->revoker, &r->rv, e);
    if (r->verdict != 0 && r->verdict != LINLI_EREFUSED)
      rc = r->verdict;
  }
  /* Room for what s_stage_apply adds, so that it cannot fail. */
  if (rc == 0)
    rc = s_reserve((void **)&g->ep, &g->ep_cap, g->nep + sg->nep, sizeof *g->ep, e);
  if (rc == 0)
    rc = s_reserve((void **)&g->grevs, &g->grevs_cap, g->ngrevs + sg->nrv, sizeof *g->grevs, e);
  if (rc == 0)
    rc = s_reserve((void **)&g->revsubj, &g->revsubj_cap, g->nrevsubj + sg->nrv,
                   sizeof *g->revsubj, e);
  /* The subjects' states, loaded now (loading can fail). */
  for (uint32_t i = 0; i < sg->nrv && rc == 0; i++) {
    ltrust_state *sub;
    rc = s_group_trust(g, sg->rv[i].rv.subject, &sub, e);
  }
  return rc;
}

/* The delta passed every check: its trust effects become the group's. */
static void
s_stage_apply(lingest *g, const uint8_t author[LINLI_PK_BYTES], tstage *sg)
{
  /* s_stage_decide made room (a store without a root stages nothing). */
  LINLI_ASSERT(g->nep + sg->nep <= g->ep_cap || sg->nep == 0);
  LINLI_ASSERT(g->ngrevs + sg->nrv <= g->grevs_cap || sg->nrv == 0);
  LINLI_ASSERT(g->nrevsubj + sg->nrv <= g->revsubj_cap || sg->nrv == 0);
  if (sg->work) {
    ltrust_state *ts = hmap_get(&g->trust, author, LINLI_PK_BYTES);
    if (ts)
      *ts = *sg->work;
  }
  if (sg->cut[0] && !g->cut[0])
    memcpy(g->cut, sg->cut, sizeof g->cut);
  if (sg->nep > 0)
    memcpy(g->ep + g->nep, sg->ep, sg->nep * sizeof *g->ep);
  g->nep += sg->nep;
  for (uint32_t i = 0; i < sg->nrv; i++) {
    grev *r = &sg->rv[i];
    ltrust_state *sub = hmap_get(&g->trust, r->rv.subject, LINLI_PK_BYTES);
    g->grevs[g->ngrevs++] = *r;
    if (sub == NULL)
      continue;
    if (r->verdict == 1) {
      uint64_t at = trust_revoke_at(r->rv.seq);
      if (at < sub->pending_at)
        sub->pending_at = at;
    } else if (r->verdict == 0 && trust_add_revocation(sub, r->revoker, &r->rv)) {
      /* Enforced at commit, should the subject's log reach past it. */
      memcpy(g->revsubj[g->nrevsubj++], r->rv.subject, LINLI_PK_BYTES);
    }
  }
}

int
lingest_add(lingest *g, const uint8_t *p, size_t n, lerr *e)
{
  char who[LINLI_SHORT_ID_LEN + 1] = "?";
  uint8_t *raw = NULL;
  delta d;
  tstage sg;
  int rc;
  memset(&d, 0, sizeof d);
  memset(&sg, 0, sizeof sg);
  if (g->keep) {
    raw = malloc(n ? n : 1);
    if (raw == NULL)
      return lerr_set(e, LINLI_ENOMEM, "out of memory");
    memcpy(raw, p, n);
    p = raw;
  }
  if ((rc = delta_decode(&d, p, n, e)) != 0) {
    uint8_t author[LINLI_PK_BYTES];
    uint64_t f, l;
    if (delta_peek(p, n, author, &f, &l) == 0)
      lerr_wrap(e, rc, "author %s: ", st_short(who, author));
    goto fail;
  }
  st_short(who, d.author);
  uint64_t first = d.first_seq, last = delta_last_seq(&d);
  lhead *h = NULL;
  if ((rc = s_group_head(g, d.author, &h, e)) != 0)
    goto fail;
  /* A refused author's later deltas are refused, not gaps: a gap makes a
   * peer send again from what we hold, which would never end. */
  if (last > h->seq && (rc = s_trust_precheck(g, &d, e)) != 0)
    goto fail;
  /* A log is a chain: after a delta held back for its date, the author's
   * later ones wait too (they would be gaps otherwise). */
  bool waits = g->wall_ms && last > h->seq &&
               (hmap_get(&g->held, d.author, LINLI_PK_BYTES) != NULL ||
                (!g->releasing && st_held_has(g->s, d.author)));
  rules_pos held = {.seq = h->seq, .hlc = h->hlc};
  memcpy(held.hash, h->hash, LINLI_HASH_BYTES);
  if (!waits && (rc = rules_delta_follows(&held, &d, e)) != 0) {
    lerr_wrap(e, rc, "author %s ", who);
    goto fail;
  }
  if (g->hashes_cap < d.nops) {
    void *nh = realloc(g->hashes, d.nops * sizeof *g->hashes);
    if (nh == NULL) {
      rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
      goto fail;
    }
    g->hashes = nh;
    g->hashes_cap = d.nops;
  }
  uint8_t head[LINLI_HASH_BYTES];
  if ((rc = delta_verify(&d, head, g->hashes, &g->scratch, e)) != 0)
    goto fail;
  if (waits) {
    rc = s_hold(g, &d, p, n, e);
    goto fail;
  }
  /* Wholly held already: the hash held at its last seq, from the store
   * or from an earlier delta of this group (not stored yet). */
  uint8_t mine[LINLI_HASH_BYTES];
  const uint8_t *at_last = NULL;
  if (last < h->seq) {
    const struct gref *r;
    if (st_hash_at(g->s, d.author, last, mine, &g->scratch, NULL) == 0 ||
        ((r = s_group_ref(g, d.author, last)) != NULL &&
         rules_hash_at_verified(r->p, r->n, d.author, last, mine, NULL) == 0))
      at_last = mine;
  }
  uint32_t skip;
  uint64_t fork_seq;
  rc = rules_delta_meets(&held, &d, (const uint8_t(*)[LINLI_HASH_BYTES])g->hashes, at_last, &skip,
                         &fork_seq, e);
  if (rc == RULES_HELD) {
    g->dups += d.nops;
    delta_clear(&d);
    free(raw);
    return 0;
  }
  if (rc == LINLI_EFORK) {
    rc = s_fork_found(g, &d, p, n, fork_seq, e);
    goto fail;
  }
  if (rc != 0) {
    lerr_wrap(e, rc, "author %s ", who);
    goto fail;
  }
  /* A new op dated too far ahead of the clock: held back (holdback.c). */
  bool future = false;
  for (uint32_t i = skip; g->wall_ms && i < d.nops && !future; i++)
    future = hlc_ms(d.ops[i].hlc) > g->wall_ms + g->ahead_ms;
  if (future) {
    rc = s_hold(g, &d, p, n, e);
    goto fail;
  }
  uint32_t keep;
  uint8_t sig[LINLI_SIG_BYTES];
  if ((rc = s_trust_delta(g, &d, skip, &keep, sig, &sg, e)) != 0)
    goto fail;
  if (lstore_root(g->s) != NULL && (rc = s_stage_decide(g, &sg, e)) != 0)
    goto fail;
  last = first + keep - 1;
  uint64_t last_hlc = d.ops[keep - 1].hlc;
  memcpy(head, g->hashes[keep - 1], LINLI_HASH_BYTES);
  if ((rc = s_reserve((void **)&g->refs, &g->refs_cap, g->nrefs + 1, sizeof *g->refs, e)) != 0)
    goto fail;
  if (g->keep) {
    if (g->n == g->cap) {
      uint32_t cap = g->cap ? g->cap * 2 : 16;
      gitem *ni = realloc(g->items, cap * sizeof *ni);
      if (ni == NULL) {
        rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
        goto fail;
      }
      g->items = ni;
      g->cap = cap;
    }
    gitem *it = &g->items[g->n++];
    it->d = d;
    it->raw = raw;
    it->raw_len = n;
    it->skip = skip;
    it->keep = keep;
    memcpy(it->sig, sig, sizeof sig);
    memcpy(it->prev, skip ? h->hash : d.prev, LINLI_HASH_BYTES);
  }
  struct gref *ref = &g->refs[g->nrefs++];
  memcpy(ref->author, d.author, LINLI_PK_BYTES);
  ref->first = first;
  ref->last = last;
  ref->p = p;
  ref->n = n;
  /* Nothing below can fail: the delta is in. */
  s_stage_apply(g, d.author, &sg);
  s_stage_free(&sg);
  if (!g->keep)
    delta_clear(&d);
  g->dups += skip;
  g->nops += (last - first + 1) - skip;
  h->seq = last;
  memcpy(h->hash, head, LINLI_HASH_BYTES);
  h->hlc = last_hlc;
  memcpy(h->sig, sig, sizeof sig);
  if (g->keep)
    g->items[g->n - 1].head = *h;
  return 0;
fail:
  s_stage_free(&sg);
  delta_clear(&d);
  free(raw);
  return rc;
}

/* After a commit: the group's trust states become the store's. */
static void
s_trust_publish(lingest *g)
{
  for (size_t i = 0; i < g->trust.cap; i++) {
    hmap_slot *sl = &g->trust.slots[i];
    if (sl->key == NULL)
      continue;
    ltrust_state *base = hmap_get(&g->s->trust, sl->key, sl->klen);
    if (base) {
      ltrust_state *st = sl->val;
      /* A block or fork noted in the store meanwhile stays. */
      if (base->blocked_at < st->blocked_at) {
        st->blocked_at = base->blocked_at;
        memcpy(st->why, base->why, sizeof st->why);
      }
      if (base->forked && !st->forked) {
        st->forked = true;
        st->fork_seq = base->fork_seq;
      }
      /* Copied from base and changed field by field: equal bytes are an
       * unchanged state (what lstore_trust_gen's users derived holds). */
      if (memcmp(base, st, sizeof *st) != 0) {
        *base = *st;
        g->s->trust_gen++;
      }
    } else {
      g->s->trust_gen++; /* loaded afresh at its next use */
    }
  }
}

/* Cuts `author`'s log back to the revocation's seq, into `wb`: rows past
 * it are deleted, the row across it is cut there and signed with the
 * author's signature the revocation carries.  The key of every op removed
 * goes into `c` (st_recompute_want); *removed counts them. */
static int
s_truncate(lstore *s, const uint8_t author[LINLI_PK_BYTES], const lrevoke *rv,
           rocksdb_writebatch_t *wb, applyctx *c, uint64_t *removed, lerr *e)
{
  char who[LINLI_SHORT_ID_LEN + 1];
  st_short(who, author);
  uint8_t key[LOG_KEY_LEN];
  st_log_key(key, author, rv->seq);
  rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[LCF_LOG]);
  lbuf enc, scratch;
  lbuf_init(&enc);
  lbuf_init(&scratch);
  int rc = 0;
  uint64_t hlc_at = 0;
  *removed = 0;
  for (rocksdb_iter_seek(it, (const char *)key, sizeof key); rocksdb_iter_valid(it) && rc == 0;
       rocksdb_iter_next(it)) {
    size_t kl, vl;
    const char *k = rocksdb_iter_key(it, &kl);
    if (kl != LOG_KEY_LEN || memcmp(k, author, LINLI_PK_BYTES) != 0)
      break;
    uint64_t last = st_rd64((const uint8_t *)k + LINLI_PK_BYTES);
    const char *v = rocksdb_iter_value(it, &vl);
    delta d;
    memset(&d, 0, sizeof d);
    if (delta_decode(&d, (const uint8_t *)v, vl, NULL) != 0) {
      rc = lerr_set(e, LINLI_ESTORE, "author %s: a stored delta is corrupt; run linli verify", who);
      break;
    }
    if (last == rv->seq) {
      hlc_at = d.ops[d.nops - 1].hlc;
      delta_clear(&d);
      continue;
    }
    uint32_t k2 = 0; /* ops of this row that stay */
    if (d.first_seq <= rv->seq) {
      k2 = (uint32_t)(rv->seq - d.first_seq + 1);
      uint8_t h[LINLI_HASH_BYTES];
      rules_hash_at(&d, rv->seq, h, &scratch);
      if (memcmp(h, rv->hash, sizeof h) != 0) {
        delta_clear(&d);
        rc = lerr_set(e, LINLI_EFORK, "author %s seq %llu: the revocation names another op than "
                      "the one held (a fork)", who, (unsigned long long)rv->seq);
        break;
      }
      lbuf_reset(&enc);
      delta_encode(&enc, d.author, d.first_seq, d.prev, d.ops, k2, rv->sig);
      uint8_t nk[LOG_KEY_LEN];
      st_log_key(nk, author, rv->seq);
      rocksdb_writebatch_put_cf(wb, s->cf[LCF_LOG], (const char *)nk, sizeof nk,
                                (const char *)enc.p, enc.len);
      hlc_at = d.ops[k2 - 1].hlc;
    }
    for (uint32_t i = k2; i < d.nops && rc == 0; i++)
      rc = st_recompute_want(c, d.ops[i].key, d.ops[i].key_len, e);
    *removed += d.nops - k2;
    rocksdb_writebatch_delete_cf(wb, s->cf[LCF_LOG], k, kl);
    delta_clear(&d);
  }
  rocksdb_iter_destroy(it);
  if (rc == 0 && enc.oom)
    rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
  if (rc == 0) {
    if (rv->seq == 0) {
      rocksdb_writebatch_delete_cf(wb, s->cf[LCF_HEADS], (const char *)author, LINLI_PK_BYTES);
    } else {
      lhead h = {.seq = rv->seq, .hlc = hlc_at};
      memcpy(h.author, author, LINLI_PK_BYTES);
      memcpy(h.hash, rv->hash, LINLI_HASH_BYTES);
      memcpy(h.sig, rv->sig, LINLI_SIG_BYTES);
      lbuf_reset(&enc);
      st_head_encode(&h, &enc);
      rocksdb_writebatch_put_cf(wb, s->cf[LCF_HEADS], (const char *)author, LINLI_PK_BYTES,
                                (const char *)enc.p, enc.len);
    }
  }
  lbuf_free(&enc);
  lbuf_free(&scratch);
  return rc;
}

int
st_cut_log(lstore *s, const uint8_t author[LINLI_PK_BYTES], const lrevoke *at,
           rocksdb_writebatch_t *wb, uint64_t *removed, lerr *e)
{
  applyctx c;
  st_ctx_init(&c, s);
  int rc = s_truncate(s, author, at, wb, &c, removed, e);
  if (rc == 0)
    rc = st_recompute(&c, author, at->seq, wb, e);
  st_ctx_free(&c);
  return rc;
}

/* A revocation committed in a group may reach back over ops already held.
 * The commit's own batch leaves a marker per subject (ENFORCE_TAG ||
 * subject in the meta column family); enforcing it is one more batch that
 * cuts the log, recomputes the records the cut ops touched from the ops
 * that stay, moves their digests and deletes the marker.  A crash between
 * the two leaves the marker, and st_recover finishes the job at the next
 * open. */
#define ENFORCE_TAG "enforce:"
#define ENFORCE_TAG_LEN 8

static void
s_enforce_key(uint8_t k[ENFORCE_TAG_LEN + LINLI_PK_BYTES], const uint8_t subject[LINLI_PK_BYTES])
{
  memcpy(k, ENFORCE_TAG, ENFORCE_TAG_LEN);
  memcpy(k + ENFORCE_TAG_LEN, subject, LINLI_PK_BYTES);
}

/* Enforces the revocation of one subject in one batch that also deletes
 * its marker.  *cut tells whether ops were removed. */
static int
s_enforce_one(lstore *s, const uint8_t subject[LINLI_PK_BYTES], bool *cut, lerr *e)
{
  char who[LINLI_SHORT_ID_LEN + 1];
  st_short(who, subject);
  *cut = false;
  ltrust_state *st;
  int rc = st_trust_get(s, subject, &st, e);
  if (rc)
    return rc;
  rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
  const ltrust_rev *rv = trust_revocation(st);
  lhead h;
  uint64_t removed = 0;
  if (rv != NULL && lstore_head(s, subject, &h, NULL) == 0 && h.seq > rv->rv.seq) {
    rc = st_cut_log(s, subject, &rv->rv, wb, &removed, e);
    if (rc == LINLI_EFORK) {
      /* Cannot be enforced, ever: the log held is another history. */
      log_kv(LLOG_WARN, &(llog_kv){.author = subject, .seq = rv->rv.seq}, "%s",
             e ? e->msg : "a revocation names an op not held");
      rocksdb_writebatch_clear(wb);
      rc = 0;
      removed = 0;
    }
  }
  if (rc == 0) {
    uint8_t mk[ENFORCE_TAG_LEN + LINLI_PK_BYTES];
    s_enforce_key(mk, subject);
    rocksdb_writebatch_delete_cf(wb, s->cf[LCF_META], (const char *)mk, sizeof mk);
    if (lfail("enforce"))
      rc = lerr_set(e, LINLI_EIO, "author %s: enforcing its revocation failed (test failpoint)", who);
  }
  if (rc == 0)
    rc = st_write(s, wb, e);
  rocksdb_writebatch_destroy(wb);
  if (rc == 0 && removed > 0) {
    log_kv(LLOG_WARN, &(llog_kv){.author = subject, .seq = rv->rv.seq},
           "author %s revoked after seq %llu: %llu ops it signed later removed", who,
           (unsigned long long)rv->rv.seq, (unsigned long long)removed);
    *cut = true;
  }
  return rc;
}

int
st_enforce_pending(lstore *s, lerr *e)
{
  uint8_t (*subj)[LINLI_PK_BYTES] = NULL;
  size_t n = 0, cap = 0;
  int rc = 0;
  rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro, s->cf[LCF_META]);
  for (rocksdb_iter_seek(it, ENFORCE_TAG, ENFORCE_TAG_LEN); rocksdb_iter_valid(it);
       rocksdb_iter_next(it)) {
    size_t kl;
    const char *k = rocksdb_iter_key(it, &kl);
    if (kl < ENFORCE_TAG_LEN || memcmp(k, ENFORCE_TAG, ENFORCE_TAG_LEN) != 0)
      break;
    if (kl != ENFORCE_TAG_LEN + LINLI_PK_BYTES)
      continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 4;
      void *ns = realloc(subj, cap * sizeof *subj);
      if (ns == NULL) {
        rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
        break;
      }
      subj = ns;
    }
    memcpy(subj[n++], k + ENFORCE_TAG_LEN, LINLI_PK_BYTES);
  }
  rocksdb_iter_destroy(it);
  for (size_t i = 0; i < n && rc == 0; i++) {
    bool cut;
    rc = s_enforce_one(s, subj[i], &cut, e);
    /* What was loaded from the views may be stale once ops are cut (a
     * certificate renewal cut out of a log). */
    if (rc == 0 && cut)
      st_trust_forget(s);
  }
  free(subj);
  return rc;
}

/* Enforces what is pending; a failure is logged: the commit that marked
 * it is durable whatever happens here, and the next open tries again. */
static void
s_enforce_or_warn(lstore *s)
{
  lerr inner = {0};
  if (st_enforce_pending(s, &inner) != 0)
    log_warn("%s: a revocation could not be enforced yet (retried at the next open): %s", s->dir,
             inner.msg);
}

int
st_recover(lstore *s, lerr *e)
{
  char *v;
  size_t vl;
  if (st_get(s, LCF_META, REBUILD_MARK, strlen(REBUILD_MARK), &v, &vl, NULL) == 0) {
    rocksdb_free(v);
    log_warn("%s: a rebuild of the views was interrupted; finishing it now", s->dir);
    int rc = lstore_rebuild(s, NULL, NULL, e);
    if (rc)
      return rc;
  }
  s_enforce_or_warn(s);
  return st_forkfix_pending(s, e);
}

int
lingest_meta_put(lingest *g, const char *key, const void *val, size_t n, lerr *e)
{
  char mk[ST_META_KEY_MAX];
  int w = st_meta_key(mk, key, e);
  if (w < 0)
    return w;
  if (n > UINT32_MAX)
    return lerr_set(e, LINLI_ETOOBIG, "metadata value too large");
  uint8_t len[4];
  len[0] = (uint8_t)(w >> 8);
  len[1] = (uint8_t)w;
  lbuf_put(&g->meta, len, 2);
  lbuf_put(&g->meta, mk, (size_t)w);
  for (int i = 0; i < 4; i++)
    len[i] = (uint8_t)(n >> (24 - 8 * i));
  lbuf_put(&g->meta, len, 4);
  lbuf_put(&g->meta, val, n);
  return g->meta.oom ? lerr_set(e, LINLI_ENOMEM, "out of memory") : 0;
}

/* Orders group items by (author, seq): their log and heads rows in key
 * order (see st_ctx_flush). */
static int
s_item_cmp(const void *a, const void *b)
{
  const gitem *x = *(const gitem *const *)a, *y = *(const gitem *const *)b;
  int d = memcmp(x->d.author, y->d.author, LINLI_PK_BYTES);
  if (d)
    return d;
  return (x->d.first_seq > y->d.first_seq) - (x->d.first_seq < y->d.first_seq);
}

int
lingest_commit(lingest *g, uint64_t wall_ms, lingest_stats *st, lerr *e)
{
  if (!g->keep)
    return lerr_set(e, LINLI_EINVAL, "a verify-only group cannot be committed");
  /* RocksDB counts perf-context statistics per thread unless told not to;
   * nothing in linli reads them, and every key comparison of a large batch
   * would pay for the count. */
  rocksdb_set_perf_level(rocksdb_disable);
  lstore *s = g->s;
  applyctx c;
  st_ctx_init(&c, s);
  if (s->commit_wb == NULL)
    s->commit_wb = rocksdb_writebatch_create();
  rocksdb_writebatch_t *wb = s->commit_wb;
  lbuf enc;
  lbuf_init(&enc);
  uint64_t hlc = s->hlc;
  int rc = 0;
  gitem **order = malloc((g->n ? g->n : 1) * sizeof *order);
  /* Every new op of the group, with its record (st_ctx_want). */
  uint64_t nnew = 0;
  for (uint32_t i = 0; i < g->n; i++)
    nnew += g->items[i].keep - g->items[i].skip;
  gop *ops = nnew < UINT32_MAX ? malloc((nnew ? nnew : 1) * sizeof *ops) : NULL;
  if (nnew >= UINT32_MAX)
    rc = lerr_set(e, LINLI_ETOOBIG, "a group holds too many ops to apply at once");
  else if (order == NULL || ops == NULL)
    rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
  uint32_t q = 0;
  for (uint32_t i = 0; i < g->n && rc == 0; i++) {
    const delta *d = &g->items[i].d;
    for (uint32_t k = g->items[i].skip; k < g->items[i].keep && rc == 0; k++, q++) {
      ops[q] = (gop){.o = &d->ops[k], .author = d->author};
      rc = st_ctx_want(&c, &ops[q], e);
    }
  }
  if (rc == 0) {
    for (uint32_t i = 0; i < g->n; i++)
      order[i] = &g->items[i];
    qsort(order, g->n, sizeof *order, s_item_cmp);
  }
  for (uint32_t i = 0; i < g->n && rc == 0; i++) {
    gitem *it = order[i];
    const delta *d = &it->d;
    const uint8_t *bytes = it->raw;
    size_t blen = it->raw_len;
    if (it->skip > 0 || it->keep < d->nops) {
      /* Store only the part not held yet, which keeps the delta's
       * signature; or the part before a revocation, which carries the
       * author's signature of its head there. */
      lbuf_reset(&enc);
      delta_encode(&enc, d->author, d->first_seq + it->skip, it->prev, d->ops + it->skip,
                   it->keep - it->skip, it->sig);
      if (enc.oom) {
        rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
        break;
      }
      bytes = enc.p;
      blen = enc.len;
    }
    uint8_t key[LOG_KEY_LEN];
    st_log_key(key, d->author, d->first_seq + it->keep - 1);
    rocksdb_writebatch_put_cf(wb, s->cf[LCF_LOG], (const char *)key, sizeof key,
                              (const char *)bytes, blen);
    /* Only the author's last delta of the group leaves a head. */
    if (i + 1 == g->n || memcmp(order[i + 1]->d.author, d->author, LINLI_PK_BYTES) != 0) {
      lbuf_reset(&enc);
      st_head_encode(&it->head, &enc);
      rocksdb_writebatch_put_cf(wb, s->cf[LCF_HEADS], (const char *)d->author, LINLI_PK_BYTES,
                                (const char *)enc.p, enc.len);
    }
  }
  for (uint32_t i = 0; i < g->n && rc == 0; i++) {
    const gitem *it = &g->items[i];
    const delta *d = &it->d;
    /* Our own ops (the node's, or a person's written here) were stamped
     * by our clock: follow them whatever the wall clock says now.  Remote
     * stamps are followed only up to a bound. */
    bool own = g->local || memcmp(d->author, s->self, LINLI_PK_BYTES) == 0;
    uint64_t top = d->ops[it->keep - 1].hlc;
    if (own)
      hlc = top > hlc ? top : hlc;
    else
      hlc = hlc_observe(hlc, top, wall_ms, HLC_MAX_AHEAD_MS);
  }
  if (rc == 0)
    rc = st_ctx_stream(&c, ops, q, wb, e);
  if (rc == 0) {
    uint8_t hb[8];
    st_be64(hb, hlc);
    rocksdb_writebatch_put_cf(wb, s->cf[LCF_META], "hlc", 3, (const char *)hb, sizeof hb);
    for (uint32_t i = 0; i < g->nrevsubj; i++) {
      uint8_t mk[ENFORCE_TAG_LEN + LINLI_PK_BYTES];
      s_enforce_key(mk, g->revsubj[i]);
      rocksdb_writebatch_put_cf(wb, s->cf[LCF_META], (const char *)mk, sizeof mk, "", 0);
    }
    for (size_t at = 0; at < g->meta.len;) {
      const uint8_t *p = g->meta.p + at;
      size_t kl = (size_t)p[0] << 8 | p[1];
      const uint8_t *v = p + 2 + kl;
      size_t vl = (size_t)v[0] << 24 | (size_t)v[1] << 16 | (size_t)v[2] << 8 | v[3];
      rocksdb_writebatch_put_cf(wb, s->cf[LCF_META], (const char *)p + 2, kl, (const char *)v + 4,
                                vl);
      at += 2 + kl + 4 + vl;
    }
    rc = st_write(s, wb, e);
  }
  if (rc == 0) {
    s->hlc = hlc;
    if (st) {
      st->deltas = g->n;
      st->ops_new = g->nops;
      st->ops_dup = g->dups;
      st->records = c.changed;
    }
    s_trust_publish(g);
    bool revs = g->nrevsubj > 0;
    s_group_clear(g);
    /* The commit is durable now, and reported so: a revocation that
     * cannot be enforced at once stays marked and is retried at the next
     * open (st_recover). */
    if (revs && !lfail("commit-enforce"))
      s_enforce_or_warn(s);
  }
  free(order);
  free(ops);
  lbuf_free(&enc);
  rocksdb_writebatch_clear(wb);
  st_ctx_free(&c);
  return rc;
}

/* ---- local writes ---- */

/* Another key than the node's writes here only as a person the store
 * holds a certificate op of (node/users.c), or to write that op: a
 * person's log starts with its own certificate, as a station's does. */
static int
s_local_author(lstore *s, const lident *id, const lhead *h, const op *ops, lerr *e)
{
  ltrust_state *st;
  int rc = st_trust_get(s, id->pk, &st, e);
  if (rc)
    return rc;
  if (st->certified && h->seq > 0)
    return 0;
  char key[96];
  size_t kl = trust_key(key, TRUST_CERT_PREFIX, id->pk);
  if (h->seq == 0 && ops[0].key_len == kl && memcmp(ops[0].key, key, kl) == 0)
    return 0;
  return lerr_set(e, LINLI_EINVAL,
                  "the key given is neither this node's nor a person's certified here");
}

int
st_write_signed(lingest *g, const lident *id, lhead *h, uint64_t *t, op *ops, uint32_t n,
                uint64_t wall_ms, lerr *e)
{
  lstore *s = g->s;
  if (n == 0 || n > DELTA_MAX_OPS)
    return lerr_set(e, LINLI_EINVAL, "a write holds 1 to %d ops", DELTA_MAX_OPS);
  /* A clock far from the parent's would date the ops wrongly for ever
   * (a far-future op wins every merge until that date). */
  if (s->has_pclock && wall_ms + 86400000ull > s->pclock_at && s->pclock_at + 86400000ull > wall_ms &&
      (s->pclock_offset > (int64_t)LSTORE_CLOCK_SKEW_MS ||
       s->pclock_offset < -(int64_t)LSTORE_CLOCK_SKEW_MS)) {
    int64_t off = s->pclock_offset;
    return lerr_set(e, LINLI_ECLOCK,
                    "this PC's clock is %lld min %s its parent station's: set the PC's date "
                    "and time right, then retry (nothing was written)",
                    (long long)((off < 0 ? -off : off) / 60000), off < 0 ? "ahead of" : "behind");
  }
  int rc = 0;
  lbuf scratch, out;
  lbuf_init(&scratch);
  lbuf_init(&out);
  uint8_t head[LINLI_HASH_BYTES], sig[LINLI_SIG_BYTES];
  uint64_t tt = *t;
  memcpy(head, h->hash, sizeof head);
  for (uint32_t i = 0; i < n; i++) {
    ops[i].seq = h->seq + 1 + i;
    ops[i].hlc = tt = hlc_next(tt, wall_ms);
    if ((rc = op_check(&ops[i], e)) != 0) {
      if (e)
        e->code = LINLI_EINVAL;
      rc = LINLI_EINVAL;
      goto done;
    }
    op_hash(head, head, id->pk, &ops[i], &scratch);
  }
  head_sign(id, ops[n - 1].seq, head, sig);
  delta_encode(&out, id->pk, h->seq + 1, h->hash, ops, n, sig);
  if (out.oom) {
    rc = lerr_set(e, LINLI_ENOMEM, "out of memory");
    goto done;
  }
  /* Every delta must fit in one sync message (docs/PROTOCOL.md). */
  if (out.len > LSTORE_WRITE_MAX) {
    rc = lerr_set(e, LINLI_ETOOBIG, "one write may hold at most %d bytes of ops; split it",
                  LSTORE_WRITE_MAX);
    goto done;
  }
  g->local = true;
  if ((rc = lingest_add(g, out.p, out.len, e)) == 0) {
    h->seq = ops[n - 1].seq;
    h->hlc = tt;
    memcpy(h->hash, head, sizeof head);
    *t = tt;
  }
done:
  lbuf_free(&scratch);
  lbuf_free(&out);
  return rc;
}

/* A person marked by lstore_await_set: named from their certificate. */
static int
s_await_refuse(lstore *s, const uint8_t pk[LINLI_PK_BYTES], lerr *e)
{
  ltrust_state *st;
  char id[LINLI_SHORT_ID_LEN + 1];
  const char *name = "this person";
  ident_short(id, pk);
  if (st_trust_get(s, pk, &st, NULL) == 0 && st->certified && st->chain.c[0].name[0])
    name = st->chain.c[0].name;
  return lerr_set(e, LINLI_EBUSY,
                  "%s's log (key %s) must first come back from the parent, which may hold later "
                  "ops of %s than this store (it was restored or brought back from a copy): "
                  "writes as %s wait until linli-node has received that log from its parent "
                  "(who must write sooner gets an account under another name: linli user add)",
                  name, id, name, name);
}

int
lstore_write(lstore *s, const lident *id, op *ops, uint32_t n, uint64_t wall_ms, lerr *e)
{
  if (s->recovering)
    return lerr_set(e, LINLI_EBUSY,
                    "this node was restored and must first recover its own log (and its "
                    "people's) from its parent (start linli-node, or import a bundle its parent "
                    "exported for it)");
  if (memcmp(id->pk, s->self, LINLI_PK_BYTES) != 0 && lstore_awaiting(s, id->pk))
    return s_await_refuse(s, id->pk, e);
  lhead h;
  int rc = lstore_head(s, id->pk, &h, e);
  if (rc != 0 && rc != LINLI_ENOTFOUND)
    return rc;
  if (rc == LINLI_ENOTFOUND)
    memset(&h, 0, sizeof h);
  if (n > 0 && memcmp(id->pk, s->self, LINLI_PK_BYTES) != 0 &&
      (rc = s_local_author(s, id, &h, ops, e)))
    return rc;
  uint64_t t = s->hlc > h.hlc ? s->hlc : h.hlc;
  lingest *g;
  if ((rc = lstore_ingest_new(s, true, &g)) != 0)
    return lerr_set(e, rc, "out of memory");
  rc = st_write_signed(g, id, &h, &t, ops, n, wall_ms, e);
  if (rc == 0)
    rc = lingest_commit(g, wall_ms, NULL, e);
  lingest_destroy(&g);
  return rc;
}
