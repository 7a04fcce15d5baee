/*
 * test_log.c - node/log: the fields of a journal entry (log_journal_fields)
 * and the plain line written when stderr is not the journal.
 */
#include "node/log.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The fields as "NAME=value" strings, each checked to be one iovec. */
static int
s_fields(char out[LOG_FIELDS_MAX][LOG_FIELDS_BUF + 1], int level, const char *station,
         const llog_kv *kv, const char *msg)
{
  struct iovec iov[LOG_FIELDS_MAX];
  char buf[LOG_FIELDS_BUF];
  int n = log_journal_fields(iov, buf, level, station, kv, msg, strlen(msg));
  cr_assert(n >= 0 && n <= LOG_FIELDS_MAX);
  for (int i = 0; i < n; i++) {
    cr_assert(iov[i].iov_len <= LOG_FIELDS_BUF);
    memcpy(out[i], iov[i].iov_base, iov[i].iov_len);
    out[i][iov[i].iov_len] = '\0';
  }
  return n;
}

static char s_f[LOG_FIELDS_MAX][LOG_FIELDS_BUF + 1];

Test(log, every_field_a_line_has)
{
  uint8_t author[LINLI_PK_BYTES];
  for (int i = 0; i < LINLI_PK_BYTES; i++)
    author[i] = (uint8_t)(0xa0 + i);
  llog_kv kv = {.peer = "雅鹿村", .author = author, .seq = 1200};
  int n = s_fields(s_f, LLOG_WARN, "金阊街道", &kv, "[金阊街道] from 雅鹿村: refused");
  cr_assert_eq(n, 7);
  cr_assert_str_eq(s_f[0], "PRIORITY=4");
  cr_assert_str_eq(s_f[1], "SYSLOG_IDENTIFIER=linli-node");
  cr_assert_str_eq(s_f[2], "LINLI_STATION=金阊街道");
  cr_assert_str_eq(s_f[3], "LINLI_PEER=雅鹿村");
  cr_assert_str_eq(s_f[4], "LINLI_AUTHOR=a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf");
  cr_assert_str_eq(s_f[5], "LINLI_SEQ=1200");
  cr_assert_str_eq(s_f[6], "MESSAGE=[金阊街道] from 雅鹿村: refused");
}

Test(log, priorities_by_level)
{
  const char *want[] = {"PRIORITY=3", "PRIORITY=4", "PRIORITY=6", "PRIORITY=7"};
  for (int level = LLOG_ERROR; level <= LLOG_DEBUG; level++) {
    s_fields(s_f, level, "st", NULL, "m");
    cr_assert_str_eq(s_f[0], want[level]);
  }
}

Test(log, only_the_fields_that_are_set)
{
  /* no kv, no station: priority, identifier, message */
  int n = s_fields(s_f, LLOG_INFO, "", NULL, "started");
  cr_assert_eq(n, 3);
  cr_assert_str_eq(s_f[2], "MESSAGE=started");
  /* a peer only; an empty peer and seq 0 count as none */
  llog_kv kv = {.peer = "va"};
  n = s_fields(s_f, LLOG_INFO, "st", &kv, "va connected");
  cr_assert_eq(n, 5);
  cr_assert_str_eq(s_f[3], "LINLI_PEER=va");
  cr_assert_str_eq(s_f[4], "MESSAGE=va connected");
  kv = (llog_kv){.peer = "", .seq = 0};
  n = s_fields(s_f, LLOG_INFO, "st", &kv, "m");
  cr_assert_eq(n, 4);
  cr_assert_str_eq(s_f[2], "LINLI_STATION=st");
}

Test(log, control_characters_never_reach_a_field)
{
  llog_kv kv = {.peer = "v\na"};
  int n = s_fields(s_f, LLOG_INFO, "s\tt", &kv, "line\nLINLI_PEER=forged");
  cr_assert_eq(n, 5);
  cr_assert_str_eq(s_f[2], "LINLI_STATION=s?t");
  cr_assert_str_eq(s_f[3], "LINLI_PEER=v?a");
  cr_assert_str_eq(s_f[4], "MESSAGE=line?LINLI_PEER=forged");
}

Test(log, a_long_message_is_cut_whole_characters_and_the_fields_stay)
{
  /* 3 bytes a character: the buffer ends inside one */
  size_t nch = LOG_FIELDS_BUF / 3 + 10;
  char *msg = malloc(nch * 3 + 1);
  cr_assert_not_null(msg);
  for (size_t i = 0; i < nch; i++)
    memcpy(msg + 3 * i, "里", 3);
  msg[nch * 3] = '\0';
  llog_kv kv = {.peer = "va", .seq = 7};
  struct iovec iov[LOG_FIELDS_MAX];
  char buf[LOG_FIELDS_BUF];
  int n = log_journal_fields(iov, buf, LLOG_INFO, "st", &kv, msg, strlen(msg));
  cr_assert_eq(n, 6);
  size_t total = 0;
  for (int i = 0; i < n; i++)
    total += iov[i].iov_len;
  cr_assert(total <= LOG_FIELDS_BUF);
  const char *m = iov[5].iov_base;
  cr_assert_eq(memcmp(m, "MESSAGE=", 8), 0);
  size_t body = iov[5].iov_len - 8;
  cr_assert_gt(body, 1000);
  cr_assert_eq(body % 3, 0, "cut inside a character: %zu bytes", body);
  cr_assert_eq(memcmp(m + 8, msg, body), 0);
  free(msg);
}

/* Outside the journal the line is the plain one, whatever fields it has. */
Test(log, plain_line_when_stderr_is_not_the_journal)
{
  char path[] = "/tmp/test_log.XXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  int saved = dup(STDERR_FILENO);
  cr_assert_geq(saved, 0);
  cr_assert_geq(dup2(fd, STDERR_FILENO), 0);
  unsetenv("JOURNAL_STREAM");
  log_init("st", LLOG_INFO);
  log_kv(LLOG_WARN, &(llog_kv){.peer = "va", .seq = 3}, "va said %d", 42);
  log_peer("vb");
  log_info("while vb");
  log_peer(NULL);
  log_debug("not written");
  dup2(saved, STDERR_FILENO);
  close(saved);
  char got[512] = {0};
  ssize_t k = pread(fd, got, sizeof got - 1, 0);
  close(fd);
  unlink(path);
  cr_assert_gt(k, 0);
  char *nl = strchr(got, '\n');
  cr_assert_not_null(nl);
  /* 2026-12-02T00:00:00.000Z WARN  [st] va said 42 */
  cr_assert_eq(got[4], '-');
  cr_assert_eq(got[23], 'Z');
  cr_assert_eq(strncmp(got + 24, " WARN  [st] va said 42\n", 23), 0, "%s", got);
  cr_assert_eq(strncmp(nl + 1 + 24, " INFO  [st] while vb\n", 21), 0, "%s", got);
  cr_assert_null(strstr(got, "not written"));
}
