/*
 * json.c - the streaming JSON writer; see json.h.
 *
 * Containers deeper than JW_MAX_DEPTH are not needed by any command; the
 * writer still produces balanced output past that depth (it only stops
 * tracking commas there), so a mistake shows up as a test failure rather
 * than as memory corruption.
 */
#include "tools/linli/json.h"

#include <inttypes.h>
#include <string.h>

void
jw_init(jw *w, FILE *f)
{
  w->f = f;
  w->depth = 0;
  w->first[0] = true;
  w->after_key = false;
}

/* Writes the comma that separates this value from the previous member,
 * unless the value completes a "key": pair. */
static void
s_sep(jw *w)
{
  if (w->after_key) {
    w->after_key = false;
    return;
  }
  if (w->depth > 0 && w->depth < JW_MAX_DEPTH) {
    if (!w->first[w->depth])
      fputc(',', w->f);
    w->first[w->depth] = false;
  }
}

static void
s_open(jw *w, char c)
{
  s_sep(w);
  fputc(c, w->f);
  w->depth++;
  if (w->depth < JW_MAX_DEPTH)
    w->first[w->depth] = true;
}

static void
s_close(jw *w, char c)
{
  fputc(c, w->f);
  if (w->depth > 0)
    w->depth--;
}

void
jw_obj_begin(jw *w)
{
  s_open(w, '{');
}

void
jw_obj_end(jw *w)
{
  s_close(w, '}');
}

void
jw_arr_begin(jw *w)
{
  s_open(w, '[');
}

void
jw_arr_end(jw *w)
{
  s_close(w, ']');
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0. */
static size_t
s_utf8_len(const unsigned char *p, size_t left)
{
  unsigned char c = p[0];
  size_t len;
  unsigned char lo = 0x80, hi = 0xbf;
  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf)
    len = 2;
  else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    if (c == 0xe0)
      lo = 0xa0;
    else if (c == 0xed)
      hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    if (c == 0xf0)
      lo = 0x90;
    else if (c == 0xf4)
      hi = 0x8f;
  } else
    return 0;
  if (left < len || p[1] < lo || p[1] > hi)
    return 0;
  for (size_t i = 2; i < len; i++)
    if ((p[i] & 0xc0) != 0x80)
      return 0;
  return len;
}

void
json_escape(FILE *f, const char *s, size_t n)
{
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    unsigned char c = p[i];
    switch (c) {
    case '"': fputs("\\\"", f); i++; continue;
    case '\\': fputs("\\\\", f); i++; continue;
    case '\n': fputs("\\n", f); i++; continue;
    case '\r': fputs("\\r", f); i++; continue;
    case '\t': fputs("\\t", f); i++; continue;
    case '\b': fputs("\\b", f); i++; continue;
    case '\f': fputs("\\f", f); i++; continue;
    default: break;
    }
    if (c < 0x20 || c == 0x7f) {
      fprintf(f, "\\u%04x", c);
      i++;
      continue;
    }
    size_t len = s_utf8_len(p + i, n - i);
    if (len == 0) {
      fputs("\\ufffd", f);
      i++;
      continue;
    }
    fwrite(p + i, 1, len, f);
    i += len;
  }
}

void
jw_keyn(jw *w, const char *k, size_t n)
{
  s_sep(w);
  fputc('"', w->f);
  json_escape(w->f, k, n);
  fputs("\":", w->f);
  w->after_key = true;
}

void
jw_key(jw *w, const char *k)
{
  jw_keyn(w, k, strlen(k));
}

void
jw_strn(jw *w, const char *s, size_t n)
{
  s_sep(w);
  fputc('"', w->f);
  json_escape(w->f, s, n);
  fputc('"', w->f);
}

void
jw_str(jw *w, const char *s)
{
  jw_strn(w, s, strlen(s));
}

void
jw_int(jw *w, int64_t v)
{
  s_sep(w);
  fprintf(w->f, "%" PRId64, v);
}

void
jw_uint(jw *w, uint64_t v)
{
  s_sep(w);
  fprintf(w->f, "%" PRIu64, v);
}

void
jw_bool(jw *w, bool v)
{
  s_sep(w);
  fputs(v ? "true" : "false", w->f);
}

void
jw_null(jw *w)
{
  s_sep(w);
  fputs("null", w->f);
}

void
jw_hex(jw *w, const uint8_t *p, size_t n)
{
  static const char digits[] = "0123456789abcdef";
  s_sep(w);
  fputc('"', w->f);
  for (size_t i = 0; i < n; i++) {
    fputc(digits[p[i] >> 4], w->f);
    fputc(digits[p[i] & 15], w->f);
  }
  fputc('"', w->f);
}

void
jw_finish(jw *w)
{
  fputc('\n', w->f);
}
