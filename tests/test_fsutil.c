/*
 * test_fsutil.c - node/fsutil: atomic writes never write through a file or
 * symlink planted beside the target; reads refuse what is not a regular
 * file without waiting on it.
 */
#include "node/fsutil.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char s_dir[64];

static void
s_mkdir(void)
{
  snprintf(s_dir, sizeof s_dir, "/tmp/linli-test-fsutil-XXXXXX");
  cr_assert_not_null(mkdtemp(s_dir));
}

static void
s_rmdir(void)
{
  DIR *d = opendir(s_dir);
  struct dirent *de;
  char p[512];
  while (d != NULL && (de = readdir(d)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    snprintf(p, sizeof p, "%s/%s", s_dir, de->d_name);
    unlink(p);
  }
  if (d != NULL)
    closedir(d);
  rmdir(s_dir);
}

static void
s_write(const char *path, const char *text)
{
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs(text, f);
  fclose(f);
}

static void
s_expect(const char *path, const char *text)
{
  char buf[128] = {0};
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f, "%s", path);
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  cr_assert_eq(n, strlen(text), "%s holds %zu bytes", path, n);
  cr_assert_str_eq(buf, text, "%s", path);
}

static int
s_count_entries(void)
{
  DIR *d = opendir(s_dir);
  int n = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL)
    n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
  closedir(d);
  return n;
}

/* Someone with write access to a shared directory plants symlinks to a
 * file of theirs (and plain files) at every name a writer might predict:
 * the secret must go to the target only. */
Test(fsutil, write_atomic_never_writes_through_a_planted_name, .init = s_mkdir,
     .fini = s_rmdir)
{
  char target[128], victim[128], planted[256];
  snprintf(target, sizeof target, "%s/node.key", s_dir);
  snprintf(victim, sizeof victim, "%s/attacker-reads-this", s_dir);
  s_write(victim, "");
  const char *sym_suffix[] = {".tmp", ".tmp.%ld", ".new", "~", ".tmp.%ld.0", ".tmp.XXXXXX"};
  const char *file_suffix[] = {".tmp.%ld.f", ".part", ".swp"};
  long pid = (long)getpid();
  int planted_n = 0;
  for (size_t i = 0; i < sizeof sym_suffix / sizeof *sym_suffix; i++) {
    char suf[32];
    snprintf(suf, sizeof suf, sym_suffix[i], pid);
    snprintf(planted, sizeof planted, "%s%s", target, suf);
    cr_assert_eq(symlink(victim, planted), 0, "%s", planted);
    planted_n++;
  }
  for (size_t i = 0; i < sizeof file_suffix / sizeof *file_suffix; i++) {
    char suf[32];
    snprintf(suf, sizeof suf, file_suffix[i], pid);
    snprintf(planted, sizeof planted, "%s%s", target, suf);
    s_write(planted, "planted");
    planted_n++;
  }
  lerr e = {0};
  cr_assert_eq(fs_write_atomic(target, "secret", 6, 0600, &e), 0, "%s", e.msg);
  s_expect(victim, "");
  s_expect(target, "secret");
  struct stat st;
  cr_assert_eq(lstat(target, &st), 0);
  cr_assert(S_ISREG(st.st_mode));
  cr_assert_eq(st.st_mode & 07777, 0600);
  /* every planted name is still there, as it was, and no temporary file is
   * left behind: target + victim + planted */
  for (size_t i = 0; i < sizeof file_suffix / sizeof *file_suffix; i++) {
    char suf[32];
    snprintf(suf, sizeof suf, file_suffix[i], pid);
    snprintf(planted, sizeof planted, "%s%s", target, suf);
    s_expect(planted, "planted");
  }
  cr_assert_eq(s_count_entries(), 2 + planted_n);
  /* a second write replaces the target, still not through anything */
  cr_assert_eq(fs_write_atomic(target, "public", 6, 0644, &e), 0, "%s", e.msg);
  s_expect(target, "public");
  s_expect(victim, "");
  cr_assert_eq(lstat(target, &st), 0);
  cr_assert_eq(st.st_mode & 07777, 0644);
  cr_assert_eq(s_count_entries(), 2 + planted_n);
}

/* A symlink at the target itself is replaced, not written through. */
Test(fsutil, write_atomic_replaces_a_symlink_target, .init = s_mkdir, .fini = s_rmdir)
{
  char target[128], victim[128];
  snprintf(target, sizeof target, "%s/out.bundle", s_dir);
  snprintf(victim, sizeof victim, "%s/victim", s_dir);
  s_write(victim, "keep");
  cr_assert_eq(symlink(victim, target), 0);
  lerr e = {0};
  cr_assert_eq(fs_write_atomic(target, "new", 3, 0644, &e), 0, "%s", e.msg);
  s_expect(victim, "keep");
  s_expect(target, "new");
}

/* A FIFO nobody writes to, a directory and a device are refused at once,
 * by name. */
Test(fsutil, read_all_refuses_what_is_not_a_regular_file, .init = s_mkdir, .fini = s_rmdir,
     .timeout = 10)
{
  char fifo[128];
  snprintf(fifo, sizeof fifo, "%s/pipe", s_dir);
  cr_assert_eq(mkfifo(fifo, 0600), 0);
  struct {
    const char *path, *what;
  } cases[] = {{fifo, "is a FIFO (named pipe), not a regular file"},
               {s_dir, "is a directory, not a regular file"},
               {"/dev/null", "is a device, not a regular file"}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    uint8_t *buf = (uint8_t *)"x";
    size_t n = 7;
    lerr e = {0};
    cr_assert_eq(fs_read_all(cases[i].path, 4096, &buf, &n, &e), LINLI_EINVAL, "%s",
                 cases[i].path);
    cr_assert_null(buf);
    cr_assert_eq(n, 0);
    char want[256];
    snprintf(want, sizeof want, "%s: %s", cases[i].path, cases[i].what);
    cr_assert(strncmp(e.msg, want, strlen(want)) == 0, "%s", e.msg);
  }
  /* a regular file still reads */
  char file[128];
  snprintf(file, sizeof file, "%s/f", s_dir);
  s_write(file, "abc");
  uint8_t *buf;
  size_t n;
  cr_assert_eq(fs_read_all(file, 4096, &buf, &n, NULL), 0);
  cr_assert_eq(n, 3);
  cr_assert_eq(memcmp(buf, "abc", 3), 0);
  free(buf);
}
