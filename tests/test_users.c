/*
 * test_users.c - node/users: person accounts certified by the station,
 * their keys sealed under their passwords in users.json, their writes
 * signed by them and named by lstore_author_info.
 */
#include "node/records.h"
#include "node/store.h"
#include "node/users.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define DAY (24ull * 3600 * 1000)
#define NS "gusu/jinchang/shilu/"

static uint64_t
s_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A village (石路村, NS) under a root: the store, its directory, its key. */
typedef struct fixture {
  char *tmp;
  char dir[4096];
  lident root, village;
  lstore *s;
} fixture;

static void
s_village(fixture *f, const char *tag)
{
  lerr e = {0};
  cr_assert_eq(linli_crypto_init(), 0);
  memset(f, 0, sizeof *f);
  f->tmp = tu_tmpdir(tag);
  snprintf(f->dir, sizeof f->dir, "%s/v", f->tmp);
  tu_key(&f->root, 1);
  tu_key(&f->village, 3);
  lstore_init_opts o = {.root = f->root.pk};
  cr_assert_eq(lstore_init(f->dir, "石路村", &f->village, &o, &e), 0, "%s", e.msg);
  cr_assert_eq(lstore_open(&f->s, f->dir, NULL, &e), 0, "%s", e.msg);
  /* The village's certificate, issued by the root, valid from a month ago. */
  lchain ch;
  memset(&ch, 0, sizeof ch);
  lcert *c = &ch.c[0];
  memcpy(c->subject, f->village.pk, LINLI_PK_BYTES);
  strcpy(c->name, "石路村");
  c->role = ROLE_VILLAGE;
  strcpy(c->prefix, NS);
  c->not_before = s_now() - 30 * DAY;
  c->not_after = s_now() + 730 * DAY;
  cert_sign(c, &f->root);
  ch.n = 1;
  cr_assert_eq(lstore_write_chain(f->s, &f->village, &ch, s_now() - 20 * DAY, &e), 0, "%s",
               e.msg);
}

static void
s_done(fixture *f)
{
  lstore_close(&f->s);
  tu_rmtree(f->tmp);
  free(f->tmp);
}

static op
s_set(const char *key, const char *field, const char *val)
{
  return (op){.kind = OP_SET, .key = key, .key_len = (uint32_t)strlen(key), .field = field,
              .field_len = (uint32_t)strlen(field), .str = val, .str_len = (uint32_t)strlen(val)};
}

static int
s_write_as(fixture *f, const lperson *p, const char *key, lerr *e)
{
  op o = s_set(key, "户主", "陈建国");
  return lrecords_write(f->s, NULL, lperson_ident(p), &o, 1, s_now(), NULL, e);
}

static char *
s_users_file(fixture *f, size_t *n)
{
  char path[4200];
  snprintf(path, sizeof path, "%s/users.json", f->dir);
  uint8_t *raw = tu_read_file(path, n);
  cr_assert_not_null(raw);
  char *text = malloc(*n + 1); /* as a C string */
  memcpy(text, raw, *n);
  text[*n] = '\0';
  free(raw);
  return text;
}

static void
s_users_put(fixture *f, const char *text)
{
  char path[4200];
  snprintf(path, sizeof path, "%s/users.json", f->dir);
  FILE *fp = fopen(path, "wb");
  cr_assert_not_null(fp);
  fwrite(text, 1, strlen(text), fp);
  fclose(fp);
}

/* Adds 王芳, a clerk whose password is "correct horse". */
static void
s_add_clerk(fixture *f, luser *u)
{
  lerr e = {0};
  cr_assert_eq(lusers_add(f->s, f->dir, &f->village, "王芳", ROLE_CLERK, NULL, "correct horse",
                          0, s_now(), u, &e),
               0, "%s", e.msg);
}

Test(users, add_unlock_and_write_as_the_person)
{
  fixture f;
  lerr e = {0};
  luser u;
  s_village(&f, "users-add");
  cr_assert_eq(lusers_add(f.s, f.dir, &f.village, "  王芳 ", ROLE_CLERK, NULL, "correct horse",
                          0, s_now(), &u, &e),
               0, "%s", e.msg);
  cr_assert_str_eq(u.name, "王芳");
  cr_assert_str_eq(u.prefix, NS);
  cr_assert_eq(u.role, ROLE_CLERK);
  cr_assert(u.not_after > s_now() + 364 * DAY && u.not_after < s_now() + 366 * DAY);
  /* users.json: 0600, no password or seed in it */
  char path[4200];
  snprintf(path, sizeof path, "%s/users.json", f.dir);
  struct stat sb;
  cr_assert_eq(stat(path, &sb), 0);
  cr_assert_eq(sb.st_mode & 0777, 0600);
  size_t n;
  char *text = s_users_file(&f, &n);
  cr_assert_not_null(text);
  cr_assert(strstr(text, "correct horse") == NULL);
  free(text);
  /* the person's log holds its own certificate, as op 1 */
  lhead h;
  cr_assert_eq(lstore_head(f.s, u.pk, &h, &e), 0, "%s", e.msg);
  cr_assert_eq(h.seq, 1);
  luser got;
  cr_assert_eq(lusers_get(f.dir, "王芳", &got, &e), 0, "%s", e.msg);
  cr_assert_eq(memcmp(got.pk, u.pk, LINLI_PK_BYTES), 0);
  cr_assert_eq(lusers_get(f.dir, "李明", &got, &e), LINLI_ENOTFOUND);
  /* unlocked, the person signs its own ops */
  lperson *p = NULL;
  cr_assert_eq(lusers_unlock(f.dir, "王芳", "correct horse", &p, &e), 0, "%s", e.msg);
  cr_assert_eq(memcmp(lperson_ident(p)->pk, u.pk, LINLI_PK_BYTES), 0);
  cr_assert_str_eq(lperson_user(p)->name, "王芳");
  cr_assert_eq(s_write_as(&f, p, NS "hh/0001", &e), 0, "%s", e.msg);
  cr_assert_eq(lstore_head(f.s, u.pk, &h, &e), 0, "%s", e.msg);
  cr_assert_eq(h.seq, 2);
  lstore_stat st;
  cr_assert_eq(lstore_stat_get(f.s, &st, &e), 0, "%s", e.msg);
  cr_assert_eq(st.own_seq, 1, "the station's own log did not grow");
  /* outside the station's namespace: refused, and the person not blocked */
  cr_assert_eq(s_write_as(&f, p, "gusu/jinchang/other/hh/0001", &e), LINLI_EREFUSED);
  cr_assert_eq(s_write_as(&f, p, NS "hh/0002", &e), 0, "%s", e.msg);
  /* who wrote it */
  lauthor_info ai;
  cr_assert_eq(lstore_author_info(f.s, u.pk, &ai, &e), 0, "%s", e.msg);
  cr_assert(ai.certified);
  cr_assert_str_eq(ai.name, "王芳");
  cr_assert_eq(ai.role, ROLE_CLERK);
  cr_assert_str_eq(ai.station, "石路村");
  cr_assert_eq(lstore_author_info(f.s, f.village.pk, &ai, &e), 0, "%s", e.msg);
  cr_assert_str_eq(ai.name, "石路村");
  cr_assert_eq(ai.role, ROLE_VILLAGE);
  lident nobody;
  tu_key(&nobody, 77);
  cr_assert_eq(lstore_author_info(f.s, nobody.pk, &ai, &e), 0, "%s", e.msg);
  cr_assert(!ai.certified);
  cr_assert_str_eq(ai.name, "");
  lperson_free(&p);
  cr_assert_null(p);
  lperson_free(&p); /* NULL is fine */
  /* the same name again, a weak password, a station role */
  cr_assert_eq(lusers_add(f.s, f.dir, &f.village, "王芳", ROLE_CLERK, NULL, "another one", 0,
                          s_now(), NULL, &e),
               LINLI_EEXIST);
  cr_assert_eq(lusers_add(f.s, f.dir, &f.village, "李明", ROLE_CLERK, NULL, "short", 0, s_now(),
                          NULL, &e),
               LINLI_EINVAL);
  cr_assert(strstr(e.msg, "at least 8") != NULL, "%s", e.msg);
  /* 8 characters, not 8 bytes: seven Chinese characters are too few */
  cr_assert_eq(lusers_add(f.s, f.dir, &f.village, "李明", ROLE_CLERK, NULL, "一二三四五六七", 0,
                          s_now(), NULL, &e),
               LINLI_EINVAL);
  cr_assert_eq(lusers_add(f.s, f.dir, &f.village, "李明", ROLE_VILLAGE, NULL, "long enough", 0,
                          s_now(), NULL, &e),
               LINLI_EINVAL);
  /* a stranger key cannot write here */
  op o = s_set(NS "hh/9", "f", "v");
  cr_assert_eq(lstore_write(f.s, &nobody, &o, 1, s_now(), &e), LINLI_EINVAL);
  luser *all;
  cr_assert_eq(lusers_list(f.dir, &all, &n, &e), 0, "%s", e.msg);
  cr_assert_eq(n, 1);
  free(all);
  s_done(&f);
}

Test(users, wrong_password_and_unknown_user_say_the_same)
{
  fixture f;
  lerr e = {0}, e2 = {0};
  s_village(&f, "users-wrong");
  s_add_clerk(&f, NULL);
  lperson *p = NULL;
  cr_assert_eq(lusers_unlock(f.dir, "王芳", "correct horsf", &p, &e), LINLI_EREFUSED);
  cr_assert_null(p);
  cr_assert_eq(lusers_unlock(f.dir, "王芳芳", "correct horse", &p, &e2), LINLI_EREFUSED);
  cr_assert_null(p);
  cr_assert_str_eq(e.msg, e2.msg);
  cr_assert_str_eq(e.msg, "wrong user name or password");
  s_done(&f);
}

Test(users, passwd)
{
  fixture f;
  lerr e = {0};
  s_village(&f, "users-passwd");
  cr_assert_eq(lusers_add(f.s, f.dir, &f.village, "王芳", ROLE_ADMIN, NULL, "first password",
                          30, s_now(), NULL, &e),
               0, "%s", e.msg);
  cr_assert_eq(lusers_passwd(f.dir, "王芳", "wrong password", "second password", &e),
               LINLI_EREFUSED);
  cr_assert_eq(lusers_passwd(f.dir, "王芳", "first password", "2short", &e), LINLI_EINVAL);
  cr_assert_eq(lusers_passwd(f.dir, "王芳", "first password", "第二个密码很长很长", &e), 0, "%s",
               e.msg);
  lperson *p = NULL;
  cr_assert_eq(lusers_unlock(f.dir, "王芳", "first password", &p, &e), LINLI_EREFUSED);
  cr_assert_eq(lusers_unlock(f.dir, "王芳", "第二个密码很长很长", &p, &e), 0, "%s", e.msg);
  cr_assert_eq(lperson_user(p)->role, ROLE_ADMIN);
  lperson_free(&p);
  s_done(&f);
}

Test(users, revoke)
{
  fixture f;
  lerr e = {0};
  luser u;
  s_village(&f, "users-revoke");
  s_add_clerk(&f, &u);
  lperson *p = NULL;
  cr_assert_eq(lusers_unlock(f.dir, "王芳", "correct horse", &p, &e), 0, "%s", e.msg);
  cr_assert_eq(s_write_as(&f, p, NS "hh/0001", &e), 0, "%s", e.msg);
  cr_assert_eq(lusers_revoke(f.s, f.dir, &f.village, "王芳", "left the committee", s_now(), &e),
               0, "%s", e.msg);
  /* held ops stay, later ones are refused by the trust rules */
  lhead h;
  cr_assert_eq(lstore_head(f.s, u.pk, &h, &e), 0, "%s", e.msg);
  cr_assert_eq(h.seq, 2);
  cr_assert_eq(s_write_as(&f, p, NS "hh/0002", &e), LINLI_EREFUSED);
  cr_assert(strstr(e.msg, "revoked") != NULL, "%s", e.msg);
  lperson_free(&p);
  luser got;
  cr_assert_eq(lusers_get(f.dir, "王芳", &got, &e), 0, "%s", e.msg);
  cr_assert(got.revoked);
  cr_assert_eq(lusers_unlock(f.dir, "王芳", "correct horse", &p, &e), LINLI_EREFUSED);
  cr_assert(strstr(e.msg, "revoked") != NULL && strstr(e.msg, "left the committee") != NULL,
            "%s", e.msg);
  cr_assert_eq(lusers_revoke(f.s, f.dir, &f.village, "王芳", NULL, s_now(), &e), LINLI_EEXIST);
  cr_assert_eq(lusers_revoke(f.s, f.dir, &f.village, "李明", NULL, s_now(), &e),
               LINLI_ENOTFOUND);
  s_done(&f);
}

Test(users, expired)
{
  fixture f;
  lerr e = {0};
  s_village(&f, "users-expired");
  /* added ten days ago for two days */
  cr_assert_eq(lusers_add(f.s, f.dir, &f.village, "王芳", ROLE_CLERK, NULL, "correct horse", 2,
                          s_now() - 10 * DAY, NULL, &e),
               0, "%s", e.msg);
  lperson *p = NULL;
  cr_assert_eq(lusers_unlock(f.dir, "王芳", "correct horse", &p, &e), LINLI_EREFUSED);
  cr_assert(strstr(e.msg, "expired") != NULL, "%s", e.msg);
  cr_assert_null(p);
  s_done(&f);
}

Test(users, roles_auditor_and_assessor)
{
  fixture f;
  lerr e = {0};
  luser u;
  s_village(&f, "users-roles");
  cr_assert_eq(lusers_add(f.s, f.dir, &f.village, "孙审", ROLE_AUDITOR, NULL, "auditor pass", 0,
                          s_now(), NULL, &e),
               0, "%s", e.msg);
  cr_assert_eq(lusers_add(f.s, f.dir, &f.village, "赵评", ROLE_ASSESSOR, NULL, "assessor pass",
                          0, s_now(), &u, &e),
               0, "%s", e.msg);
  cr_assert_str_eq(u.prefix, NS "pts/");
  lperson *p = NULL;
  cr_assert_eq(lusers_unlock(f.dir, "孙审", "auditor pass", &p, &e), 0, "%s", e.msg);
  cr_assert_eq(s_write_as(&f, p, NS "hh/0001", &e), LINLI_EREFUSED);
  cr_assert(strstr(e.msg, "auditor") != NULL, "%s", e.msg);
  lperson_free(&p);
  cr_assert_eq(lusers_unlock(f.dir, "赵评", "assessor pass", &p, &e), 0, "%s", e.msg);
  cr_assert_eq(s_write_as(&f, p, NS "hh/0001", &e), LINLI_EREFUSED);
  op o = {.kind = OP_INCR, .key = NS "pts/0001", .key_len = strlen(NS "pts/0001"),
          .field = "积分", .field_len = strlen("积分"), .n = 5};
  cr_assert_eq(lrecords_write(f.s, NULL, lperson_ident(p), &o, 1, s_now(), NULL, &e), 0, "%s", e.msg);
  lperson_free(&p);
  /* a prefix outside the station's namespace, and a relative one */
  cr_assert_eq(lusers_add(f.s, f.dir, &f.village, "钱", ROLE_CLERK, "/gusu/other/",
                          "long enough", 0, s_now(), NULL, &e),
               LINLI_EINVAL);
  cr_assert_eq(lusers_add(f.s, f.dir, &f.village, "钱", ROLE_CLERK, "diary/", "long enough", 0,
                          s_now(), &u, &e),
               0, "%s", e.msg);
  cr_assert_str_eq(u.prefix, NS "diary/");
  s_done(&f);
}

Test(users, names_that_are_paths_or_hold_control_characters)
{
  fixture f;
  lerr e = {0};
  s_village(&f, "users-names");
  static const char *const bad[] = {"", "   ", "../etc", "a/b", "a\\b", "..", ".", "x\ny",
                                    "tab\there", "-rf", "\x7f", "\xff\xfe"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    cr_assert_eq(lusers_add(f.s, f.dir, &f.village, bad[i], ROLE_CLERK, NULL, "long enough", 0,
                            s_now(), NULL, &e),
                 LINLI_EINVAL, "name %zu taken", i);
  char longname[100];
  memset(longname, 'a', 65);
  longname[65] = '\0';
  cr_assert_eq(lusers_add(f.s, f.dir, &f.village, longname, ROLE_CLERK, NULL, "long enough", 0,
                          s_now(), NULL, &e),
               LINLI_EINVAL);
  luser *all;
  size_t n;
  cr_assert_eq(lusers_list(f.dir, &all, &n, &e), 0, "%s", e.msg);
  cr_assert_eq(n, 0);
  free(all);
  s_done(&f);
}

Test(users, corrupt_file_and_tampered_ciphertext)
{
  fixture f;
  lerr e = {0};
  s_village(&f, "users-corrupt");
  s_add_clerk(&f, NULL);
  size_t n;
  char *good = s_users_file(&f, &n);
  cr_assert_not_null(good);
  /* one hex digit of the sealed key changed: the same refusal as a wrong
   * password, nothing unlocked */
  char *box = strstr(good, "\"box\"");
  cr_assert_not_null(box);
  char *q = strchr(box + 5, '"') + 1;
  char *bad = strdup(good);
  bad[q - good + 10] = bad[q - good + 10] == '0' ? '1' : '0';
  s_users_put(&f, bad);
  lperson *p = NULL;
  cr_assert_eq(lusers_unlock(f.dir, "王芳", "correct horse", &p, &e), LINLI_EREFUSED);
  cr_assert_str_eq(e.msg, "wrong user name or password");
  cr_assert_null(p);
  free(bad);
  /* not JSON, truncated, a member missing, limits that would eat the
   * machine's memory */
  s_users_put(&f, "not json at all");
  luser *all = NULL;
  cr_assert_eq(lusers_list(f.dir, &all, &n, &e), LINLI_EMALFORMED);
  cr_assert(strstr(e.msg, "users.json") != NULL && strstr(e.msg, "backup") != NULL, "%s", e.msg);
  bad = strdup(good);
  bad[strlen(bad) / 2] = '\0';
  s_users_put(&f, bad);
  cr_assert_eq(lusers_unlock(f.dir, "王芳", "correct horse", &p, &e), LINLI_EMALFORMED);
  free(bad);
  bad = strdup(good);
  char *r = strstr(bad, "\"role\"");
  memcpy(r, "\"rolf\"", 6);
  s_users_put(&f, bad);
  cr_assert_eq(lusers_get(f.dir, "王芳", &(luser){0}, &e), LINLI_EMALFORMED);
  free(bad);
  const char *m = strstr(good, "\"memlimit\": ");
  cr_assert_not_null(m, "%s", good);
  m += strlen("\"memlimit\": ");
  size_t digits = strspn(m, "0123456789");
  bad = malloc(strlen(good) + 32);
  snprintf(bad, strlen(good) + 32, "%.*s%s%s", (int)(m - good), good, "99999999999",
           m + digits);
  s_users_put(&f, bad);
  cr_assert_eq(lusers_unlock(f.dir, "王芳", "correct horse", &p, &e), LINLI_EMALFORMED);
  free(bad);
  /* put back, it works again */
  s_users_put(&f, good);
  cr_assert_eq(lusers_unlock(f.dir, "王芳", "correct horse", &p, &e), 0, "%s", e.msg);
  lperson_free(&p);
  free(good);
  s_done(&f);
}

Test(users, a_backup_carries_the_accounts)
{
  fixture f;
  lerr e = {0};
  luser u;
  s_village(&f, "users-backup");
  s_add_clerk(&f, &u);
  char file[4200], dir[4200];
  snprintf(file, sizeof file, "%s/v.backup", f.tmp);
  snprintf(dir, sizeof dir, "%s/restored", f.tmp);
  cr_assert_eq(lstore_backup(f.s, file, &e), 0, "%s", e.msg);
  cr_assert_eq(lstore_restore(file, dir, &e), 0, "%s", e.msg);
  char path[4300];
  snprintf(path, sizeof path, "%s/users.json", dir);
  struct stat sb;
  cr_assert_eq(stat(path, &sb), 0, "the restored station has no users.json");
  cr_assert_eq(sb.st_mode & 0777, 0600);
  lperson *p = NULL;
  cr_assert_eq(lusers_unlock(dir, "王芳", "correct horse", &p, &e), 0, "%s", e.msg);
  cr_assert_eq(memcmp(lperson_ident(p)->pk, u.pk, LINLI_PK_BYTES), 0);
  lperson_free(&p);
  s_done(&f);
}
