/*
 * test_text.c - crdt/text: full-width folding, trimming, the '=' of
 * FIELD=VALUE in either width, and integers as a person types them.
 */
#include "crdt/text.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

static size_t
fold(const char *in, char *out)
{
  return text_fold_ascii(in, strlen(in), out);
}

Test(text, fold_full_width_ascii)
{
  char out[64];
  cr_assert_eq(fold("ａＢ＝５－３", out), 6);
  cr_assert_str_eq(out, "aB=5-3");
  /* U+3000 is a space; other CJK text and punctuation stay as typed */
  fold("王　五。好", out);
  cr_assert_str_eq(out, "王 五。好");
  /* the ends of the range: U+FF01 '!' and U+FF5E '~'; U+FF5F is not ASCII */
  fold("\xEF\xBC\x81\xEF\xBD\x9E\xEF\xBD\x9F", out);
  cr_assert_str_eq(out, "!~\xEF\xBD\x9F");
  /* a truncated sequence at the end is copied, not read past */
  cr_assert_eq(text_fold_ascii("a\xEF\xBC", 3, out), 3);
  cr_assert_eq(memcmp(out, "a\xEF\xBC", 4), 0);
}

Test(text, trim_ascii_and_ideographic_space)
{
  const char *s = " \t户主　 ";
  size_t n = strlen(s);
  text_trim(&s, &n);
  cr_assert_eq(n, strlen("户主"));
  cr_assert_eq(memcmp(s, "户主", n), 0);
  s = "　 ";
  n = strlen(s);
  text_trim(&s, &n);
  cr_assert_eq(n, 0);
}

Test(text, find_assign_either_width)
{
  size_t sep = 0;
  cr_assert_eq(text_find_assign("户主=王五", strlen("户主=王五"), &sep), (long)strlen("户主"));
  cr_assert_eq(sep, 1);
  cr_assert_eq(text_find_assign("户主＝王五=x", strlen("户主＝王五=x"), &sep),
               (long)strlen("户主"));
  cr_assert_eq(sep, 3);
  cr_assert_eq(text_find_assign("户主", strlen("户主"), &sep), -1);
  /* half of '＝' at the end is no separator */
  cr_assert_eq(text_find_assign("a\xEF\xBC", 3, &sep), -1);
}

Test(text, parse_i64)
{
  int64_t v = 0;
  lerr e = {0};
  cr_assert_eq(text_parse_i64("５", strlen("５"), &v, &e), 0);
  cr_assert_eq(v, 5);
  cr_assert_eq(text_parse_i64("－１２", strlen("－１２"), &v, &e), 0);
  cr_assert_eq(v, -12);
  cr_assert_eq(text_parse_i64(" +7　", strlen(" +7　"), &v, &e), 0);
  cr_assert_eq(v, 7);
  cr_assert_eq(text_parse_i64("-9223372036854775808", 20, &v, &e), 0);
  cr_assert_eq(v, INT64_MIN);
  cr_assert_eq(text_parse_i64("9223372036854775807", 19, &v, &e), 0);
  cr_assert_eq(v, INT64_MAX);
  cr_assert_eq(text_parse_i64("9223372036854775808", 19, &v, &e), LINLI_ETOOBIG);
  cr_assert_eq(text_parse_i64("99999999999999999999", 20, &v, &e), LINLI_ETOOBIG);
  cr_assert_eq(text_parse_i64("12x", 3, &v, &e), LINLI_EINVAL);
  cr_assert(strstr(e.msg, "'12x' is not an integer") != NULL, "%s", e.msg);
  cr_assert_eq(text_parse_i64("", 0, &v, &e), LINLI_EINVAL);
  cr_assert_eq(text_parse_i64("-", 1, &v, &e), LINLI_EINVAL);
  cr_assert_eq(text_parse_i64("1 2", 3, &v, &e), LINLI_EINVAL);
  cr_assert_eq(text_parse_i64("五", strlen("五"), &v, &e), LINLI_EINVAL);
}
