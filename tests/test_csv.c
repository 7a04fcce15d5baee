/*
 * test_csv.c - crdt/csv: RFC 4180 rows from any chunking of the input
 * (whole, and one byte at a time): quotes, doubled quotes, line breaks in
 * cells, CRLF and LF, a last row without a line end, and the errors.
 */
#include "crdt/csv.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

/* The rows read, as "cell|cell\n" lines. */
typedef struct got {
  char text[1024];
  size_t len;
} got;

static int
s_row(void *ctx, uint64_t row, char **cells, const size_t *len, uint32_t n)
{
  got *g = ctx;
  for (uint32_t i = 0; i < n; i++) {
    cr_assert_eq(strlen(cells[i]), len[i], "cells are NUL-terminated at their length");
    g->len += (size_t)snprintf(g->text + g->len, sizeof g->text - g->len, "%s%s",
                               i ? "|" : "", cells[i]);
  }
  g->len += (size_t)snprintf(g->text + g->len, sizeof g->text - g->len, "\n");
  (void)row;
  return 0;
}

/* Reads `in` whole and byte by byte; both must give `want`. */
static void
s_read(const char *in, const char *want)
{
  for (int bytewise = 0; bytewise < 2; bytewise++) {
    got g = {0};
    lcsv p;
    lerr e = {0};
    lcsv_init(&p, s_row, &g);
    size_t n = strlen(in);
    if (bytewise)
      for (size_t i = 0; i < n; i++)
        cr_assert_eq(lcsv_feed(&p, in + i, 1, &e), 0, "%s", e.msg);
    else
      cr_assert_eq(lcsv_feed(&p, in, n, &e), 0, "%s", e.msg);
    cr_assert_eq(lcsv_finish(&p, &e), 0, "%s", e.msg);
    cr_assert_str_eq(g.text, want, "bytewise %d", bytewise);
    lcsv_free(&p);
  }
}

/* `in` refused with `want` in the message, and p.fault, fault_row and
 * fault_cell as given. */
static void
s_refused(const char *in, const char *want, int fault, uint64_t row, uint32_t cell)
{
  got g = {0};
  lcsv p;
  lerr e = {0};
  lcsv_init(&p, s_row, &g);
  int rc = lcsv_feed(&p, in, strlen(in), &e);
  if (rc == 0)
    rc = lcsv_finish(&p, &e);
  cr_assert_eq(rc, LINLI_EMALFORMED, "accepted %s", in);
  cr_assert(strstr(e.msg, want) != NULL, "'%s' not in '%s'", want, e.msg);
  cr_assert_eq(p.fault, fault, "%s: fault %d", in, p.fault);
  cr_assert_eq(p.fault_row, row, "%s: row %llu", in, (unsigned long long)p.fault_row);
  cr_assert_eq(p.fault_cell, cell, "%s: cell %u", in, p.fault_cell);
  lcsv_free(&p);
}

Test(csv, rows)
{
  s_read("a,b\r\nc,d\r\n", "a|b\nc|d\n");
  s_read("a,b\nc,d", "a|b\nc|d\n");
  s_read("\"a,b\",\"say \"\"hi\"\"\"\r\n", "a,b|say \"hi\"\n");
  s_read("\"two\r\nlines\",x\n", "two\r\nlines|x\n");
  s_read(",,\n", "||\n");
  s_read("户主,地址\r\n王五,\"石路1号, 东\"\r\n", "户主|地址\n王五|石路1号, 东\n");
  s_read("", "");
  s_read("a\r\n\r\nb\r\n", "a\n\nb\n");
}

Test(csv, errors)
{
  s_refused("a,b\nc,\"d", "row 2: a quote is never closed", LCSV_OPEN_QUOTE, 2, 2);
  s_refused("a,b\"c\n", "row 1 cell 2: a quote inside an unquoted cell", LCSV_QUOTE_INSIDE, 1, 2);
  s_refused("x\n\"a\"b\n", "row 2 cell 1: text after the closing quote", LCSV_AFTER_QUOTE, 2, 1);
  char many[2000] = "";
  for (int i = 0; i < 300; i++)
    strcat(many, ",");
  s_refused(many, "has more than 256 cells", LCSV_CELLS, 1, 0);
}
