/*
 * text.c - full-width folding, trimming, numbers and edit distance for
 * what people type; see text.h.
 *
 * Full-width forms U+FF01..U+FF5E are EF BC 81..EF BD 9E in UTF-8 and map
 * to U+0021..U+007E by subtracting 0xFEE0; U+3000 is E3 80 80.  Working on
 * those byte patterns directly keeps every function a single pass with no
 * allocation, and never touches other multi-byte characters.
 */
#include "crdt/text.h"

#include <limits.h>
#include <string.h>

/* The ASCII character a full-width form at s[0..n) stands for, with its
 * length in *len; 0 when s does not start with one. */
static char
s_wide(const unsigned char *s, size_t n, size_t *len)
{
  if (n >= 3 && s[0] == 0xE3 && s[1] == 0x80 && s[2] == 0x80) {
    *len = 3;
    return ' ';
  }
  if (n < 3 || s[0] != 0xEF)
    return 0;
  unsigned cp;
  if (s[1] == 0xBC && s[2] >= 0x81 && s[2] <= 0xBF)
    cp = 0xFF00 + (s[2] - 0x80);
  else if (s[1] == 0xBD && s[2] >= 0x80 && s[2] <= 0x9E)
    cp = 0xFF40 + (s[2] - 0x80);
  else
    return 0;
  *len = 3;
  return (char)(cp - 0xFEE0);
}

size_t
text_fold_ascii(const char *s, size_t n, char *out)
{
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0, o = 0;
  while (i < n) {
    size_t len;
    char c = s_wide(p + i, n - i, &len);
    if (c != 0) {
      out[o++] = c;
      i += len;
    } else {
      out[o++] = s[i++];
    }
  }
  out[o] = '\0';
  return o;
}

static size_t
s_space_at(const char *s, size_t n)
{
  if (n >= 1 && (s[0] == ' ' || s[0] == '\t' || s[0] == '\r' || s[0] == '\n'))
    return 1;
  if (n >= 3 && memcmp(s, "\xE3\x80\x80", 3) == 0)
    return 3;
  return 0;
}

static size_t
s_space_before(const char *s, size_t n)
{
  if (n >= 1 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
    return 1;
  if (n >= 3 && memcmp(s + n - 3, "\xE3\x80\x80", 3) == 0)
    return 3;
  return 0;
}

void
text_trim(const char **s, size_t *n)
{
  size_t k;
  while ((k = s_space_at(*s, *n)) > 0) {
    *s += k;
    *n -= k;
  }
  while ((k = s_space_before(*s, *n)) > 0)
    *n -= k;
}

long
text_find_assign(const char *s, size_t n, size_t *sep_len)
{
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '=') {
      *sep_len = 1;
      return (long)i;
    }
    if (i + 3 <= n && memcmp(s + i, "\xEF\xBC\x9D", 3) == 0) {
      *sep_len = 3;
      return (long)i;
    }
  }
  return -1;
}

int
text_parse_i64(const char *s, size_t n, int64_t *out, lerr *e)
{
  char buf[64];
  const char *t = s;
  size_t tn = n;
  text_trim(&t, &tn);
  /* 20 digits and a sign, each up to 3 bytes when full width */
  if (tn == 0 || tn >= sizeof buf)
    goto bad;
  size_t len = text_fold_ascii(t, tn, buf);
  const char *d = buf + (buf[0] == '-' || buf[0] == '+');
  if (*d == '\0')
    goto bad;
  uint64_t v = 0;
  for (const char *p = d; p < buf + len; p++) {
    if (*p < '0' || *p > '9')
      goto bad;
    unsigned dig = (unsigned)(*p - '0');
    if (v > (UINT64_MAX - dig) / 10)
      return lerr_set(e, LINLI_ETOOBIG, "'%.*s' does not fit in a 64-bit integer", (int)n, s);
    v = v * 10 + dig;
  }
  if (buf[0] == '-') {
    if (v > (uint64_t)INT64_MAX + 1)
      return lerr_set(e, LINLI_ETOOBIG, "'%.*s' does not fit in a 64-bit integer", (int)n, s);
    *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
  } else {
    if (v > (uint64_t)INT64_MAX)
      return lerr_set(e, LINLI_ETOOBIG, "'%.*s' does not fit in a 64-bit integer", (int)n, s);
    *out = (int64_t)v;
  }
  return 0;
bad:
  return lerr_set(e, LINLI_EINVAL, "'%.*s' is not an integer (digits with an optional sign, "
                  "e.g. 5 or -2)", (int)(n > 64 ? 64 : n), s);
}

int
text_key_resolve(const char *ns, const char *arg, size_t n, char *out, size_t cap, lerr *e)
{
  size_t nsl = strlen(ns);
  if (n > 0 && arg[0] == '/') {
    arg++;
    n--;
    nsl = 0;
  } else if (n >= nsl && memcmp(arg, ns, nsl) == 0) {
    nsl = 0;
  }
  if (nsl + n + 1 > cap)
    return lerr_set(e, LINLI_ETOOBIG, "key %s%.*s is longer than %zu bytes", nsl ? ns : "",
                    (int)(n > 64 ? 64 : n), arg, cap - 1);
  memcpy(out, ns, nsl);
  memcpy(out + nsl, arg, n);
  out[nsl + n] = '\0';
  return 0;
}

/* Splits UTF-8 into code points by their lead bytes: enough to count edits
 * in characters, which is what a typo is.  Returns max + 1 when s holds
 * more than max. */
static size_t
s_codepoints(const char *s, size_t n, uint32_t *cp, size_t max)
{
  const unsigned char *p = (const unsigned char *)s;
  size_t k = 0, i = 0;
  while (i < n) {
    if (k == max)
      return max + 1;
    size_t len = p[i] < 0x80 ? 1 : p[i] >= 0xF0 ? 4 : p[i] >= 0xE0 ? 3 : p[i] >= 0xC0 ? 2 : 1;
    if (len > n - i)
      len = n - i;
    uint32_t c = 0;
    for (size_t j = 0; j < len; j++)
      c = (c << 8) | p[i + j];
    cp[k++] = c;
    i += len;
  }
  return k;
}

unsigned
text_distance(const char *a, size_t an, const char *b, size_t bn)
{
  enum { MAXCP = 64 };
  uint32_t x[MAXCP], y[MAXCP];
  unsigned row[MAXCP + 1];
  size_t n = s_codepoints(a, an, x, MAXCP), m = s_codepoints(b, bn, y, MAXCP);
  if (n > MAXCP || m > MAXCP)
    return UINT_MAX;
  for (size_t j = 0; j <= m; j++)
    row[j] = (unsigned)j;
  for (size_t i = 1; i <= n; i++) {
    unsigned diag = row[0];
    row[0] = (unsigned)i;
    for (size_t j = 1; j <= m; j++) {
      unsigned up = row[j];
      unsigned best = diag + (x[i - 1] != y[j - 1]);
      if (up + 1 < best)
        best = up + 1;
      if (row[j - 1] + 1 < best)
        best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[m];
}
