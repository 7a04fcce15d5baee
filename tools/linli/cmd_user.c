/*
 * cmd_user.c - the people of a station: user add | list | revoke | passwd,
 * the passwords they type, and --as NAME on the write commands.
 *
 * Passwords are read by the program the person runs, before the command
 * goes to a running linli-node (cli_main): from --password-file FILE ("-":
 * standard input, one password a line), or typed at the terminal without
 * echo.  They travel to the node inside the control request, never on a
 * command line a process list shows, and live in memory sodium_malloc
 * guards, wiped when the command ends.  node/users.h keeps the accounts.
 */
#include "tools/linli/cli.h"

#include "node/fsutil.h"
#include "node/users.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define S_PW_SLOT (LUSERS_PASSWORD_MAX + 2)
#define S_PW_FILE_MAX (3 * S_PW_SLOT)

/* What the command asks for: 0, 1 or 2 passwords, and whether the last
 * one is new (typed twice at a terminal). */
static int
s_pw_wanted(const cli *c, bool *new_last)
{
  *new_last = false;
  if (strcmp(c->cmd, "user") == 0 && c->argc > 0) {
    *new_last = true;
    if (strcmp(c->argv[0], "add") == 0)
      return 1;
    if (strcmp(c->argv[0], "passwd") == 0)
      return 2;
    return 0;
  }
  return c->as != NULL ? 1 : 0;
}

/* Reads n lines from --password-file PATH ("-": standard input) into
 * pw[0..n).  The one place that reads that option's file: inside
 * linli-node, "-" is the request's file of that name, the passwords the
 * caller's program read (cli_passwords_file). */
static int
s_pw_file(const char *path, char *pw[], int n, lerr *e)
{
  uint8_t *buf = NULL;
  size_t len = 0;
  int rc = 0;
  bool in = strcmp(path, "-") == 0 && !cli_files_remote();
  if (in) {
    buf = sodium_malloc(S_PW_FILE_MAX);
    if (buf == NULL)
      return lerr_set(e, LINLI_ENOMEM, "out of memory");
    len = fread(buf, 1, S_PW_FILE_MAX, stdin);
  } else if ((rc = cli_file_read(path, S_PW_FILE_MAX, &buf, &len, e)) != 0) {
    return rc;
  }
  const char *p = (const char *)buf, *end = p + len;
  for (int i = 0; i < n && rc == 0; i++) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t l = (size_t)((nl ? nl : end) - p);
    if (l > 0 && p[l - 1] == '\r')
      l--;
    if (p >= end || l > LUSERS_PASSWORD_MAX || memchr(p, 0, l) != NULL)
      rc = lerr_set(e, LINLI_EINVAL, "--password-file %s: %s", path,
                    p >= end ? (n == 2 ? "needs two lines: the current password, then the new"
                                       : "is empty")
                             : "a line is too long or holds a NUL byte");
    else {
      memcpy(pw[i], p, l);
      pw[i][l] = '\0';
    }
    p = nl ? nl + 1 : end;
  }
  if (in) {
    sodium_free(buf);
  } else {
    sodium_memzero(buf, len);
    free(buf);
  }
  return rc;
}

/* Asks at the terminal, without echo. */
static int
s_pw_prompt(const char *prompt, char *out, lerr *e)
{
  struct termios old, quiet;
  if (tcgetattr(STDIN_FILENO, &old) != 0)
    return lerr_set(e, LINLI_EINVAL, "cannot turn off echo on this terminal");
  quiet = old;
  quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
  quiet.c_lflag |= ICANON;
  /* Echo off before the prompt shows, so nothing typed after it echoes. */
  tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  fputs(prompt, stderr);
  fflush(stderr);
  bool got = fgets(out, S_PW_SLOT, stdin) != NULL;
  tcsetattr(STDIN_FILENO, TCSANOW, &old);
  fputc('\n', stderr);
  if (!got)
    return lerr_set(e, LINLI_EINVAL, "no password typed");
  size_t l = strlen(out);
  if (l > 0 && out[l - 1] == '\n')
    out[--l] = '\0';
  else if (l >= S_PW_SLOT - 1)
    return lerr_set(e, LINLI_EINVAL, "the password is too long");
  return 0;
}

int
cli_passwords(cli *c)
{
  bool new_last;
  int n = s_pw_wanted(c, &new_last);
  lerr e = {0};
  int rc = 0;
  if (n == 0) {
    if (c->password_file != NULL)
      return cli_usage(c, "--password-file is for --as, user add and user passwd");
    return CLI_OK;
  }
  c->pw_mem = sodium_malloc(3 * S_PW_SLOT);
  if (c->pw_mem == NULL)
    return cli_fail("out of memory");
  char *pw[3] = {c->pw_mem, c->pw_mem + S_PW_SLOT, c->pw_mem + 2 * S_PW_SLOT};
  pw[0][0] = pw[1][0] = '\0';
  if (c->password_file != NULL) {
    rc = s_pw_file(c->password_file, pw, n, &e);
  } else if (cli_files_remote()) {
    /* inside linli-node: never its own terminal */
    return cli_fail("the password did not come with the request; use linli and linli-node "
                    "of the same version");
  } else if (isatty(STDIN_FILENO)) {
    const char *who = c->as ? c->as : c->argc > 1 ? c->argv[1] : "";
    char prompt[200];
    if (n == 2) {
      snprintf(prompt, sizeof prompt, "current password of %s: ", who);
      rc = s_pw_prompt(prompt, pw[0], &e);
    }
    snprintf(prompt, sizeof prompt, "%spassword of %s: ", new_last ? "new " : "", who);
    if (rc == 0)
      rc = s_pw_prompt(prompt, pw[n - 1], &e);
    if (rc == 0 && new_last)
      rc = s_pw_prompt("the same again: ", pw[2], &e);
    if (rc == 0 && new_last && strcmp(pw[n - 1], pw[2]) != 0)
      rc = lerr_set(&e, LINLI_EINVAL, "the two passwords typed differ; nothing was changed");
  } else {
    return cli_usage(c, "give the password with --password-file FILE (- reads standard input), "
                     "or run at a terminal");
  }
  if (rc)
    return rc == LINLI_EINVAL ? cli_usage(c, "%s", e.msg) : cli_fail_e(&e);
  c->pw[0] = pw[0];
  c->pw[1] = n == 2 ? pw[1] : NULL;
  return CLI_OK;
}

size_t
cli_passwords_file(const cli *c, char **out)
{
  *out = NULL;
  if (c->pw[0] == NULL)
    return 0;
  size_t n0 = strlen(c->pw[0]), n1 = c->pw[1] ? strlen(c->pw[1]) : 0;
  size_t n = n0 + 1 + (c->pw[1] ? n1 + 1 : 0);
  char *p = malloc(n + 1);
  if (p == NULL)
    return 0;
  memcpy(p, c->pw[0], n0);
  p[n0] = '\n';
  if (c->pw[1]) {
    memcpy(p + n0 + 1, c->pw[1], n1);
    p[n - 1] = '\n';
  }
  p[n] = '\0';
  *out = p;
  return n;
}

void
cli_passwords_free(cli *c)
{
  if (c->pw_mem)
    sodium_free(c->pw_mem); /* wipes */
  c->pw_mem = NULL;
  c->pw[0] = c->pw[1] = NULL;
}

/* The data directory that holds users.json: the daemon's when the command
 * runs inside it. */
static const char *
s_dir(const cli *c)
{
  lstore *s = cli_shared_store();
  return s ? lstore_dir(s) : c->dir;
}

int
cli_signer(cli *c, lstore *s, lident *own, lperson **p, const lident **out)
{
  lerr e = {0};
  memset(own, 0, sizeof *own);
  *p = NULL;
  if (c->as == NULL) {
    int rc = cli_identity(s, own);
    *out = own;
    return rc;
  }
  if (c->pw[0] == NULL)
    return cli_fail("--as %s: no password given", c->as);
  if (lusers_unlock(lstore_dir(s), c->as, c->pw[0], p, &e) != 0)
    return cli_fail_e(&e);
  *out = lperson_ident(*p);
  return CLI_OK;
}

/* ---- user add | list | revoke | passwd ---- */

static void
s_user_json(jw *w, const luser *u)
{
  jw_obj_begin(w);
  jw_key(w, "name");
  jw_str(w, u->name);
  jw_key(w, "role");
  jw_str(w, trust_role_name(u->role));
  jw_key(w, "key");
  jw_hex(w, u->pk, LINLI_PK_BYTES);
  jw_key(w, "prefix");
  jw_str(w, u->prefix);
  jw_key(w, "not_before");
  jw_uint(w, u->not_before);
  jw_key(w, "not_after");
  jw_uint(w, u->not_after);
  jw_key(w, "revoked");
  jw_bool(w, u->revoked);
  jw_obj_end(w);
}

static void
s_user_text(const luser *u)
{
  char id[LINLI_SHORT_ID_LEN + 1], until[64];
  ident_short(id, u->pk);
  time_t t = (time_t)(u->not_after / 1000);
  struct tm tm;
  if (gmtime_r(&t, &tm) == NULL || strftime(until, sizeof until, "%Y-%m-%d", &tm) == 0)
    snprintf(until, sizeof until, "?");
  cli_text(stdout, u->name, strlen(u->name));
  printf("  %s  %s  prefix '", trust_role_name(u->role), id);
  cli_text(stdout, u->prefix, strlen(u->prefix));
  printf("'  valid until %s%s\n", until, u->revoked ? "  REVOKED" : "");
}

static int
s_add(cli *c, lstore *s, const char *name)
{
  lerr e = {0};
  lident id;
  luser u;
  if (c->role == NULL)
    return cli_usage(c, "user add needs --role clerk|assessor|auditor|admin");
  int role = trust_role_parse(c->role);
  if (!trust_role_person(role))
    return cli_usage(c, "--role must be clerk, assessor, auditor or admin");
  unsigned long days = 0;
  if (c->days != NULL) {
    char *end;
    days = strtoul(c->days, &end, 10);
    if (*c->days == '\0' || *end != '\0' || days == 0 || days > LUSERS_DAYS_MAX)
      return cli_usage(c, "--days must be a whole number from 1 to %d", LUSERS_DAYS_MAX);
  }
  int rc = cli_identity(s, &id);
  if (rc != CLI_OK)
    return rc;
  if (lusers_add(s, lstore_dir(s), &id, name, role, c->prefix, c->pw[0], (uint32_t)days,
                 cli_wall_ms(), &u, &e) != 0)
    rc = e.code == LINLI_EINVAL ? cli_usage(c, "%s", e.msg) : cli_fail_e(&e);
  ident_wipe(&id);
  if (rc != CLI_OK)
    return rc;
  if (c->json) {
    jw w;
    jw_init(&w, stdout);
    s_user_json(&w, &u);
    jw_finish(&w);
  } else {
    printf("added ");
    s_user_text(&u);
  }
  return CLI_OK;
}

static int
s_list(cli *c)
{
  lerr e = {0};
  luser *v;
  size_t n;
  if (lusers_list(s_dir(c), &v, &n, &e) != 0)
    return cli_fail_e(&e);
  if (c->json) {
    jw w;
    jw_init(&w, stdout);
    jw_obj_begin(&w);
    jw_key(&w, "users");
    jw_arr_begin(&w);
    for (size_t i = 0; i < n; i++)
      s_user_json(&w, &v[i]);
    jw_arr_end(&w);
    jw_obj_end(&w);
    jw_finish(&w);
  } else {
    for (size_t i = 0; i < n; i++)
      s_user_text(&v[i]);
    if (n == 0)
      printf("no users (linli user add NAME --role clerk)\n");
  }
  free(v);
  return CLI_OK;
}

static int
s_revoke(cli *c, lstore *s, const char *name)
{
  lerr e = {0};
  lident id;
  int rc = cli_identity(s, &id);
  if (rc != CLI_OK)
    return rc;
  if (lusers_revoke(s, lstore_dir(s), &id, name, c->reason, cli_wall_ms(), &e) != 0)
    rc = cli_fail_e(&e);
  ident_wipe(&id);
  if (rc == CLI_OK && !c->json) {
    printf("revoked ");
    cli_text(stdout, name, strlen(name));
    printf(": their ops from now on are refused everywhere the revocation reaches\n");
  } else if (rc == CLI_OK) {
    jw w;
    jw_init(&w, stdout);
    jw_obj_begin(&w);
    jw_key(&w, "revoked");
    jw_str(&w, name);
    jw_obj_end(&w);
    jw_finish(&w);
  }
  return rc;
}

int
cmd_user(cli *c)
{
  const char *sub = c->argv[0];
  lerr e = {0};
  lstore *s = NULL;
  int rc;
  bool add = strcmp(sub, "add") == 0, list = strcmp(sub, "list") == 0,
       revoke = strcmp(sub, "revoke") == 0, passwd = strcmp(sub, "passwd") == 0;
  if (!add && !list && !revoke && !passwd)
    return cli_usage(c, "unknown user command '%.40s' (add, list, revoke, passwd)", sub);
  if (list ? c->argc != 1 : c->argc != 2)
    return cli_usage(c, "usage: linli user add|revoke|passwd NAME | user list");
  if ((!add && (c->role || c->days || c->prefix)) || (!revoke && c->reason))
    return cli_usage(c, "--role, --days and --prefix are for user add, --reason for user "
                     "revoke");
  if (list)
    return s_list(c);
  if (passwd) {
    if (lusers_passwd(s_dir(c), c->argv[1], c->pw[0], c->pw[1], &e) != 0)
      return e.code == LINLI_EINVAL ? cli_usage(c, "%s", e.msg) : cli_fail_e(&e);
    if (c->json) {
      jw w;
      jw_init(&w, stdout);
      jw_obj_begin(&w);
      jw_key(&w, "changed");
      jw_str(&w, c->argv[1]);
      jw_obj_end(&w);
      jw_finish(&w);
    } else {
      printf("the password of ");
      cli_text(stdout, c->argv[1], strlen(c->argv[1]));
      printf(" is changed\n");
    }
    return CLI_OK;
  }
  if ((rc = cli_open(c, &s)) != CLI_OK)
    return rc;
  rc = add ? s_add(c, s, c->argv[1]) : s_revoke(c, s, c->argv[1]);
  cli_close(&s);
  return rc;
}
