/* delta.c - signed delta encoding, decoding and verification; see delta.h
 * and docs/FORMAT.md ("Signed delta"). */
#include "crdt/delta.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

void
delta_clear(delta *d)
{
  free(d->ops);
  lbuf_free(&d->keys);
  for (uint32_t i = 0; i < d->ntagbufs; i++)
    free(d->tagbufs[i]);
  free(d->tagbufs);
  memset(d, 0, sizeof *d);
}

/* Shortest common prefix length cut back to a UTF-8 character boundary, so
 * that the suffix sent is itself valid UTF-8. */
static uint32_t
s_shared_prefix(const char *a, uint32_t an, const char *b, uint32_t bn)
{
  uint32_t n = 0, max = an < bn ? an : bn;
  while (n < max && a[n] == b[n])
    n++;
  while (n > 0 && n < bn && ((unsigned char)b[n] & 0xc0) == 0x80)
    n--;
  return n;
}

/* Whether copying `shared` more key bytes, `copied` already copied and
 * `pos` bytes of the delta before this key, keeps within the key-copy
 * budget (delta.h).  The encoder and the decoder ask the same question. */
static bool
s_copy_ok(uint64_t copied, uint64_t shared, size_t pos)
{
  return copied + shared <= DELTA_COPY_BASE + (uint64_t)DELTA_COPY_FACTOR * pos;
}

void
delta_encode(lbuf *out, const uint8_t author[LINLI_PK_BYTES], uint64_t first_seq,
             const uint8_t prev[LINLI_HASH_BYTES], const op *ops, uint32_t n,
             const uint8_t sig[LINLI_SIG_BYTES])
{
  mpw w;
  size_t start = out->len;
  uint64_t copied = 0;
  mpw_init(&w, out);
  mpw_array(&w, 6);
  mpw_uint(&w, DELTA_VERSION);
  mpw_bin(&w, author, LINLI_PK_BYTES);
  mpw_uint(&w, first_seq);
  mpw_bin(&w, prev, LINLI_HASH_BYTES);
  mpw_array(&w, n);
  /* The field table: fields in order of first appearance.  Deltas rarely
   * use more than a few dozen distinct fields; a linear search is fine and
   * bounded by the op count. */
  const op **fields = malloc((n ? n : 1) * sizeof *fields);
  uint32_t nfields = 0;
  for (uint32_t i = 0; i < n; i++) {
    const op *o = &ops[i];
    /* the caller's promise (delta.h): increasing HLCs, or the difference
     * written below wraps around */
    LINLI_ASSERT(i == 0 || o->hlc > ops[i - 1].hlc);
    mpw_array(&w, 5);
    mpw_uint(&w, i == 0 ? o->hlc : o->hlc - ops[i - 1].hlc);
    mpw_uint(&w, o->kind);
    uint32_t shared = i == 0 ? 0 : s_shared_prefix(ops[i - 1].key, ops[i - 1].key_len,
                                                   o->key, o->key_len);
    if (shared >= 2 && s_copy_ok(copied, shared, out->len - start)) {
      copied += shared;
      mpw_array(&w, 2);
      mpw_uint(&w, shared);
      mpw_str(&w, o->key + shared, o->key_len - shared);
    } else {
      mpw_str(&w, o->key, o->key_len);
    }
    uint32_t f = 0;
    if (fields != NULL)
      for (; f < nfields; f++)
        if (fields[f]->field_len == o->field_len &&
            memcmp(fields[f]->field, o->field, o->field_len) == 0)
          break;
    if (fields != NULL && f < nfields) {
      mpw_uint(&w, f);
    } else {
      mpw_str(&w, o->field, o->field_len);
      if (fields != NULL)
        fields[nfields++] = o;
    }
    op_write_value(&w, o);
  }
  free(fields);
  mpw_bin(&w, sig, LINLI_SIG_BYTES);
}

int
delta_peek(const uint8_t *p, size_t n, uint8_t author[LINLI_PK_BYTES], uint64_t *first_seq,
           uint64_t *last_seq)
{
  mpr r;
  uint64_t ver;
  uint32_t nops;
  mpr_init(&r, p, n);
  if (mpr_array_n(&r, 6) || mpr_uint(&r, &ver) || ver != DELTA_VERSION ||
      mpr_bin_n(&r, author, LINLI_PK_BYTES) || mpr_uint(&r, first_seq) || *first_seq == 0 ||
      mpr_skip(&r) || mpr_array(&r, &nops) || nops == 0 ||
      *first_seq > UINT64_MAX - nops)
    return LINLI_EMALFORMED;
  *last_seq = *first_seq + nops - 1;
  return 0;
}

typedef struct field_ref {
  const char *p;
  uint32_t n;
} field_ref;

static int
s_read_ops(delta *d, mpr *r, const uint8_t *start, lerr *e)
{
  uint64_t copied = 0; /* key bytes copied from earlier keys (delta.h) */
  field_ref *fields = malloc(d->nops * sizeof *fields);
  uint32_t *key_off = malloc(d->nops * sizeof *key_off);
  int rc = 0;
  if (fields == NULL || key_off == NULL) {
    rc = lerr_set(e, LINLI_ENOMEM, "out of memory decoding a delta");
    goto done;
  }
  uint32_t nfields = 0;
  const char *pk = NULL; /* previous key when it points into the input */
  uint32_t pk_len = 0;
  int pk_in_arena = 0;
  uint32_t pk_off = 0;
  for (uint32_t i = 0; i < d->nops; i++) {
    op *o = &d->ops[i];
    uint64_t hlc, kind, fi;
    const char *s;
    uint32_t sn;
    o->seq = d->first_seq + i;
    if (mpr_array_n(r, 5) || mpr_uint(r, &hlc) || mpr_uint(r, &kind)) {
      rc = lerr_set(e, LINLI_EMALFORMED, "op seq %llu: malformed header",
                    (unsigned long long)o->seq);
      goto done;
    }
    if (i == 0) {
      o->hlc = hlc;
    } else {
      if (hlc == 0 || hlc > UINT64_MAX - d->ops[i - 1].hlc) {
        rc = lerr_set(e, LINLI_EMALFORMED, "op seq %llu: timestamp does not increase",
                      (unsigned long long)o->seq);
        goto done;
      }
      o->hlc = d->ops[i - 1].hlc + hlc;
    }
    if (kind >= OP_KIND_COUNT) {
      rc = lerr_set(e, LINLI_EMALFORMED, "op seq %llu: unknown kind %llu",
                    (unsigned long long)o->seq, (unsigned long long)kind);
      goto done;
    }
    o->kind = (uint8_t)kind;
    /* key: str, or [shared prefix length, suffix] */
    if (mpr_peek(r) == MP_ARRAY) {
      uint64_t shared;
      size_t pos = (size_t)(r->p - start);
      if (i == 0 || mpr_array_n(r, 2) || mpr_uint(r, &shared) || mpr_str(r, &s, &sn) ||
          shared > pk_len || shared + sn == 0 || shared + sn > LINLI_KEY_MAX) {
        rc = lerr_set(e, LINLI_EMALFORMED, "op seq %llu: malformed key",
                      (unsigned long long)o->seq);
        goto done;
      }
      if (!s_copy_ok(copied, shared, pos)) {
        rc = lerr_set(e, LINLI_EMALFORMED,
                      "op seq %llu: the keys copy more than %u + %u x %zu bytes from earlier "
                      "keys (the key-copy budget of a delta)",
                      (unsigned long long)o->seq, DELTA_COPY_BASE, DELTA_COPY_FACTOR, pos);
        goto done;
      }
      copied += shared;
      if (lbuf_reserve(&d->keys, shared + sn) != 0) {
        rc = lerr_set(e, LINLI_ENOMEM, "out of memory decoding a delta");
        goto done;
      }
      const char *prevk = pk_in_arena ? (const char *)d->keys.p + pk_off : pk;
      if (shared < pk_len && (prevk[shared] & 0xc0) == 0x80) {
        rc = lerr_set(e, LINLI_EMALFORMED,
                      "op seq %llu: malformed key (the shared prefix cuts a UTF-8 character)",
                      (unsigned long long)o->seq);
        goto done;
      }
      key_off[i] = (uint32_t)d->keys.len;
      memmove(d->keys.p + d->keys.len, prevk, shared);
      memcpy(d->keys.p + d->keys.len + shared, s, sn);
      d->keys.len += shared + sn;
      o->key = NULL; /* resolved below, once the arena stops moving */
      o->key_len = (uint32_t)(shared + sn);
      pk_in_arena = 1;
      pk_off = key_off[i];
      pk_len = o->key_len;
    } else if (mpr_str(r, &s, &sn) == 0) {
      o->key = s;
      o->key_len = sn;
      pk = s;
      pk_len = sn;
      pk_in_arena = 0;
    } else {
      rc = lerr_set(e, LINLI_EMALFORMED, "op seq %llu: malformed key",
                    (unsigned long long)o->seq);
      goto done;
    }
    /* field: str (and it joins the table), or an index into the table */
    if (mpr_peek(r) == MP_STR) {
      mpr_str(r, &s, &sn);
      fields[nfields].p = s;
      fields[nfields].n = sn;
      nfields++;
      o->field = s;
      o->field_len = sn;
    } else if (mpr_uint(r, &fi) == 0 && fi < nfields) {
      o->field = fields[fi].p;
      o->field_len = fields[fi].n;
    } else {
      rc = lerr_set(e, LINLI_EMALFORMED, "op seq %llu: malformed field",
                    (unsigned long long)o->seq);
      goto done;
    }
    op_tag *tb = NULL;
    rc = op_read_value(r, o, &tb);
    if (tb != NULL)
      d->tagbufs[d->ntagbufs++] = tb;
    if (rc != 0) {
      rc = lerr_set(e, rc, "op seq %llu: malformed %s value", (unsigned long long)o->seq,
                    op_kind_name(o->kind));
      goto done;
    }
  }
  /* every copied key byte was counted against the budget, and each op
   * owns at most one tag buffer */
  LINLI_ASSERT(copied <= d->keys.len && d->ntagbufs <= d->nops);
  for (uint32_t i = 0; i < d->nops; i++) {
    op *o = &d->ops[i];
    if (o->key == NULL)
      o->key = (const char *)d->keys.p + key_off[i];
    LINLI_ASSERT(o->seq == d->first_seq + i && (i == 0 || o->hlc > d->ops[i - 1].hlc));
    if ((rc = op_check(o, e)) != 0) {
      lerr_wrap(e, rc, "op seq %llu: ", (unsigned long long)o->seq);
      goto done;
    }
  }
done:
  free(fields);
  free(key_off);
  return rc;
}

int
delta_read(delta *d, mpr *r, lerr *e)
{
  uint64_t ver;
  const uint8_t *start = r->p;
  memset(d, 0, sizeof *d);
  if (mpr_array_n(r, 6) || mpr_uint(r, &ver))
    return lerr_set(e, LINLI_EMALFORMED, "not a signed delta");
  if (ver != DELTA_VERSION)
    return lerr_set(e, LINLI_EMALFORMED, "delta format version %llu is not supported",
                    (unsigned long long)ver);
  if (mpr_bin_n(r, d->author, LINLI_PK_BYTES) || mpr_uint(r, &d->first_seq) ||
      d->first_seq == 0 || mpr_bin_n(r, d->prev, LINLI_HASH_BYTES) ||
      mpr_array(r, &d->nops))
    return lerr_set(e, LINLI_EMALFORMED, "malformed delta header");
  if (d->nops == 0 || d->nops > DELTA_MAX_OPS || d->first_seq > UINT64_MAX - d->nops) {
    d->nops = 0;
    return lerr_set(e, LINLI_EMALFORMED, "a delta holds 1 to %d ops", DELTA_MAX_OPS);
  }
  if (d->nops > mpr_left(r) / DELTA_MIN_OP_BYTES) {
    uint32_t claimed = d->nops;
    d->nops = 0;
    return lerr_set(e, LINLI_EMALFORMED,
                    "a delta of %u ops needs at least %u bytes, and only %zu follow", claimed,
                    claimed * DELTA_MIN_OP_BYTES, mpr_left(r));
  }
  if (d->first_seq == 1 && !sodium_is_zero(d->prev, LINLI_HASH_BYTES)) {
    d->nops = 0;
    return lerr_set(e, LINLI_EMALFORMED, "the first op of a log has a non-zero previous hash");
  }
  d->ops = calloc(d->nops, sizeof *d->ops);
  d->tagbufs = calloc(d->nops, sizeof *d->tagbufs);
  int rc;
  if (d->ops == NULL || d->tagbufs == NULL) {
    rc = lerr_set(e, LINLI_ENOMEM, "out of memory decoding a delta");
    goto fail;
  }
  if ((rc = s_read_ops(d, r, start, e)) != 0)
    goto fail;
  if (mpr_bin_n(r, d->sig, LINLI_SIG_BYTES)) {
    rc = lerr_set(e, LINLI_EMALFORMED, "malformed delta signature");
    goto fail;
  }
  if (r->p - start > DELTA_MAX_BYTES) {
    rc = lerr_set(e, LINLI_ETOOBIG, "a delta of %zu bytes, more than the %d one sync message "
                  "carries", (size_t)(r->p - start), DELTA_MAX_BYTES);
    goto fail;
  }
  return 0;
fail:
  delta_clear(d);
  return rc;
}

int
delta_decode(delta *d, const uint8_t *p, size_t n, lerr *e)
{
  mpr r;
  mpr_init(&r, p, n);
  int rc = delta_read(d, &r, e);
  if (rc == 0 && mpr_left(&r) != 0) {
    delta_clear(d);
    return lerr_set(e, LINLI_EMALFORMED, "trailing bytes after a delta");
  }
  return rc;
}

int
delta_verify(const delta *d, uint8_t head[LINLI_HASH_BYTES],
             uint8_t (*hashes)[LINLI_HASH_BYTES], lbuf *scratch, lerr *e)
{
  uint8_t h[LINLI_HASH_BYTES];
  memcpy(h, d->prev, sizeof h);
  for (uint32_t i = 0; i < d->nops; i++) {
    op_hash(h, h, d->author, &d->ops[i], scratch);
    if (hashes)
      memcpy(hashes[i], h, sizeof h);
  }
  if (!head_verify(d->author, delta_last_seq(d), h, d->sig)) {
    char who[LINLI_SHORT_ID_LEN + 1];
    ident_short(who, d->author);
    return lerr_set(e, LINLI_ESIG, "author %s seq %llu..%llu: signature does not verify",
                    who, (unsigned long long)d->first_seq,
                    (unsigned long long)delta_last_seq(d));
  }
  memcpy(head, h, sizeof h);
  return 0;
}
