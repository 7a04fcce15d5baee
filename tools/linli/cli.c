/*
 * cli.c - error reporting, store opening, clocks, text escaping and
 * progress display shared by the commands of `linli`; see cli.h.
 *
 * The error functions are the only writers of error text in the program,
 * which is what keeps every failure to a single "linli: ..." line: a
 * progress line still on the terminal is erased first, so even an
 * interactive run never shows a stack of messages.
 */
#include "tools/linli/cli.h"

#include "crdt/hlc.h"
#include "crdt/mp.h"
#include "crdt/op.h"
#include "crdt/text.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The progress line currently on the terminal, erased before an error. */
static cli_progress *s_active_progress;

static void
s_vfail(const char *prefix, const char *fmt, va_list ap, const char *suffix)
{
  if (s_active_progress != NULL)
    cli_progress_clear(s_active_progress);
  fflush(stdout);
  fputs("linli: ", stderr);
  if (prefix != NULL)
    fprintf(stderr, "%s: ", prefix);
  vfprintf(stderr, fmt, ap);
  if (suffix != NULL)
    fputs(suffix, stderr);
  fputc('\n', stderr);
}

int
cli_fail(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  s_vfail(NULL, fmt, ap, NULL);
  va_end(ap);
  return CLI_FAIL;
}

int
cli_fail_e(const lerr *e)
{
  const char *msg = e->msg[0] != '\0' ? e->msg : linli_strerror(e->code);
  /* A message is one line by contract; a stray newline from a lower layer
   * would still break that, so it is cut at the first one. */
  size_t n = strcspn(msg, "\r\n");
  return cli_fail("%.*s", (int)n, msg);
}

const char *
cli_cause_name(int code)
{
  return code == LINLI_ECLOCK ? "clock" : code == LINLI_ENOSPC ? "no_space" : NULL;
}

int
cli_usage(const cli *c, const char *fmt, ...)
{
  char hint[96];
  va_list ap;
  if (c->cmd != NULL)
    snprintf(hint, sizeof hint, " (see linli %s --help)", c->cmd);
  else
    snprintf(hint, sizeof hint, " (see linli --help)");
  va_start(ap, fmt);
  s_vfail(c->cmd, fmt, ap, hint);
  va_end(ap);
  return CLI_USAGE;
}

/* How long a command waits for a data directory another process holds: a
 * linli-node starting (until its control socket answers) or another
 * command writing. */
#define S_LOCK_WAIT_MS 15000

static int
s_open(const cli *c, lstore **s, bool read_only)
{
  struct stat st;
  *s = cli_shared_store();
  if (*s != NULL)
    return CLI_OK;
  if (stat(c->dir, &st) != 0) {
    if (errno == ENOENT)
      return cli_fail("%s: no such data directory (create one with: linli -d %s init "
                      "--name NAME --root KEY)", c->dir, c->dir);
    return cli_fail("%s: %s", c->dir, strerror(errno));
  }
  if (!S_ISDIR(st.st_mode))
    return cli_fail("%s: not a directory", c->dir);
  /* Another user's station is not "not a data directory": saying so would
   * invite a second init. */
  char probe[4096];
  if (snprintf(probe, sizeof probe, "%s/db", c->dir) < (int)sizeof probe &&
      access(probe, X_OK) != 0 && errno == EACCES) {
    struct passwd *pw = getpwuid(st.st_uid);
    struct group *gr = getgrgid(st.st_gid);
    return cli_fail("%s: permission denied (it belongs to user %s, group %s; run linli as "
                    "that user, or join the group: adduser YOU %s)",
                    c->dir, pw ? pw->pw_name : "?", gr ? gr->gr_name : "?",
                    gr ? gr->gr_name : "GROUP");
  }
  if (!lstore_exists(c->dir))
    return cli_fail("%s: not a linli data directory (create one with: linli -d %s init "
                    "--name NAME --root KEY)", c->dir, c->dir);
  /* A reader opens for writing while the disk has room, so that the open
   * finishes what a crash interrupted (store.h); on a full disk it opens
   * read-only, which writes nothing. */
  read_only = read_only && lstore_space_check(c->dir, 0, 0, NULL) != 0;
  lstore_opts o = {.read_only = read_only};
  uint64_t start = cli_mono_ms();
  for (int tries = 1;; tries++) {
    lerr e = {0};
    int rc = lstore_open(s, c->dir, &o, &e);
    if (rc == 0)
      return CLI_OK;
    *s = NULL;
    /* A read-only open takes no lock but may see a file that a writer
     * beside it just replaced: it tries again. */
    bool again = rc == LINLI_EBUSY || (read_only && rc == LINLI_ESTORE && tries < 5);
    if (!again)
      return cli_fail_e(&e);
    if (rc == LINLI_EBUSY && cli_daemon_listening(c))
      return CLI_FORWARD; /* a linli-node took the directory: ask it */
    if (cli_mono_ms() - start > S_LOCK_WAIT_MS)
      return cli_fail("%s: the data directory is still in use by another process after %d s "
                      "and no linli-node answers on its control socket; retry when that "
                      "process is done", c->dir, S_LOCK_WAIT_MS / 1000);
    usleep(50 * 1000);
  }
}

int
cli_open(const cli *c, lstore **s)
{
  return s_open(c, s, false);
}

int
cli_open_read(const cli *c, lstore **s)
{
  return s_open(c, s, true);
}

int
cli_identity(lstore *s, lident *id)
{
  lerr e = {0};
  if (cli_exec_as() != NULL) {
    *id = *cli_exec_as();
    return CLI_OK;
  }
  if (lstore_identity(s, id, &e) != 0) {
    ident_wipe(id);
    return cli_fail_e(&e);
  }
  return CLI_OK;
}

uint64_t
cli_wall_ms(void)
{
  /* The test suite's stand-in for a PC whose clock is wrong (cli.h). */
  const char *fake = getenv("LINLI_TEST_NOW_MS");
  if (fake != NULL && fake[0] != '\0') {
    char *end;
    errno = 0;
    long long v = strtoll(fake, &end, 10);
    if (errno == 0 && *end == '\0')
      return v < 0 ? 0 : (uint64_t)v;
  }
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || ts.tv_sec < 0)
    return 0;
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int
cli_clock_check(uint64_t now_ms, bool writes, lerr *e)
{
  if (now_ms == 0)
    return lerr_set(e, LINLI_EINVAL,
                    "this PC's clock reads a time before 1970: set the PC's date and time "
                    "correctly, then try again");
  if (writes && now_ms < CLI_CLOCK_FLOOR_MS) {
    char when[32];
    time_t t = (time_t)(now_ms / 1000);
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm) == 0)
      snprintf(when, sizeof when, "a date");
    return lerr_set(e, LINLI_EINVAL,
                    "this PC's clock reads %s, before 2020: every record written would carry "
                    "a wrong date; set the PC's date and time correctly, then try again",
                    when);
  }
  return 0;
}

uint64_t
cli_mono_ms(void)
{
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
    return 0;
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void
cli_text(FILE *f, const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    switch (c) {
    case '\\': fputs("\\\\", f); break;
    case '\n': fputs("\\n", f); break;
    case '\r': fputs("\\r", f); break;
    case '\t': fputs("\\t", f); break;
    default:
      if (c < 0x20 || c == 0x7f)
        fprintf(f, "\\x%02x", c);
      else
        fputc(c, f);
    }
  }
}

int
cli_prefix_check(const char *p, size_t n, lerr *e)
{
  if (n > LINLI_KEY_MAX)
    return lerr_set(e, LINLI_EINVAL, "prefix longer than %d bytes", LINLI_KEY_MAX);
  if (!utf8_valid(p, n))
    return lerr_set(e, LINLI_EINVAL, "prefix is not valid UTF-8");
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
      return lerr_set(e, LINLI_EINVAL, "prefix contains a control character");
  return 0;
}

void
cli_progress_init(cli_progress *p, const char *what, const char *unit)
{
  p->what = what;
  p->unit = unit;
  p->start_ms = cli_mono_ms();
  p->last_ms = 0;
  p->tty = isatty(STDERR_FILENO) == 1;
  p->shown = false;
  s_active_progress = p;
}

void
cli_progress_update(cli_progress *p, uint64_t done, uint64_t total)
{
  if (!p->tty)
    return;
  uint64_t now = cli_mono_ms();
  /* Quiet for short runs; at most five redraws a second for long ones. */
  if (now - p->start_ms < 2000 || (p->shown && now - p->last_ms < 200 && done < total))
    return;
  p->last_ms = now;
  p->shown = true;
  fprintf(stderr, "\r%s %llu/%llu%s", p->what, (unsigned long long)done,
          (unsigned long long)total, p->unit);
  fflush(stderr);
}

void
cli_progress_clear(cli_progress *p)
{
  if (p->shown)
    fputs("\r\033[K", stderr);
  p->shown = false;
  if (s_active_progress == p)
    s_active_progress = NULL;
}

void
cli_progress_cb(void *ctx, uint64_t done, uint64_t total)
{
  cli_progress_update(ctx, done, total);
}

char *
cli_time(char *out, size_t n, uint64_t h)
{
  time_t secs = (time_t)(hlc_ms(h) / 1000);
  struct tm tm;
  /* The offset at that instant, daylight saving time included. */
  long off = localtime_r(&secs, &tm) != NULL ? tm.tm_gmtoff : 0;
  return hlc_format_at(out, n, h, (int32_t)off);
}

void
cli_time_json(jw *w, uint64_t h)
{
  char when[64];
  jw_key(w, "time");
  jw_str(w, cli_time(when, sizeof when, h));
  jw_key(w, "logical");
  jw_uint(w, hlc_logical(h));
}

int
cli_key_typed(const cli *c, const char *arg, bool prefix)
{
  lerr e = {0};
  size_t n = strlen(arg);
  if (cli_prefix_check(arg, n, &e) != 0)
    return cli_usage(c, "%s", e.msg);
  if (prefix)
    return CLI_OK;
  if (arg[0] == '/') {
    if (key_check(arg + 1, n - 1, &e) != 0)
      return cli_usage(c, "%s", e.msg);
    return CLI_OK;
  }
  if (n == 0 || arg[n - 1] == '/' || strstr(arg, "//") != NULL)
    return cli_usage(c, "record key '%s' is empty, ends with '/' or has an empty path "
                     "component", arg);
  return CLI_OK;
}

int
cli_key(const cli *c, lstore *s, const char *arg, bool prefix, char out[LINLI_KEY_MAX + 1])
{
  lerr e = {0};
  char ns[LINLI_KEY_MAX + 1];
  out[0] = '\0';
  if (lstore_namespace(s, ns, &e) != 0)
    return cli_fail_e(&e);
  if (text_key_resolve(ns, arg, strlen(arg), out, LINLI_KEY_MAX + 1, &e) != 0)
    return cli_usage(c, "%s", e.msg);
  int r = prefix ? cli_prefix_check(out, strlen(out), &e) : key_check(out, strlen(out), &e);
  if (r != 0)
    return cli_usage(c, "%s", e.msg);
  return CLI_OK;
}
