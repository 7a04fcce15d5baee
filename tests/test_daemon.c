/*
 * test_daemon.c - node/daemon: the control socket is owner-only from the
 * moment it exists.
 */
#include "node/daemon.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

/* The mode the socket file had when the daemon came to chmod it: what
 * anyone could use between the bind and the chmod.  This definition takes
 * the place of the C library's chmod in this program. */
static mode_t s_mode_before_chmod;
static int s_chmods;

int
chmod(const char *path, mode_t mode)
{
  struct stat st;
  if (stat(path, &st) == 0)
    s_mode_before_chmod = st.st_mode & 07777;
  s_chmods++;
  return fchmodat(AT_FDCWD, path, mode, 0);
}

Test(daemon, control_socket_is_never_open_to_others)
{
  char dir[] = "/tmp/linli-test-daemon-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  cr_assert_eq(chmod(dir, 0755), 0); /* a directory others may enter */
  char ep[256], path[256];
  snprintf(ep, sizeof ep, "ipc://%s/control.sock", dir);
  void *ctx = zmq_ctx_new();
  void *sock = zmq_socket(ctx, ZMQ_REP);
  cr_assert_not_null(sock);
  mode_t old = umask(022); /* the usual umask: 0755 for a new socket */
  s_chmods = 0;
  lerr e = {0};
  cr_assert_eq(daemon_bind_control(sock, ep, (gid_t)-1, path, sizeof path, &e), 0, "%s", e.msg);
  mode_t after = umask(old);
  cr_assert_eq(after, 022, "the process umask is put back");
  cr_assert_eq(s_chmods, 1);
  cr_assert_eq(s_mode_before_chmod & 077, 0,
               "the socket was created with mode %o: open to others until the chmod",
               (unsigned)s_mode_before_chmod);
  struct stat st;
  cr_assert_eq(stat(path, &st), 0);
  cr_assert(S_ISSOCK(st.st_mode));
  cr_assert_eq(st.st_mode & 07777, 0600);
  zmq_close(sock);
  zmq_ctx_term(ctx);
  unlink(path);
  rmdir(dir);
}

Test(daemon, control_socket_refuses_tcp)
{
  void *ctx = zmq_ctx_new();
  void *sock = zmq_socket(ctx, ZMQ_REP);
  char path[64];
  lerr e = {0};
  cr_assert_eq(daemon_bind_control(sock, "tcp://127.0.0.1:7499", (gid_t)-1, path, sizeof path, &e),
               LINLI_EINVAL);
  cr_assert_str_eq(path, "");
  cr_assert(strstr(e.msg, "only ipc://PATH") != NULL, "%s", e.msg);
  zmq_close(sock);
  zmq_ctx_term(ctx);
}

/* With a group: the socket is the group's and 0660, and it was closed to
 * the group and to others until the chmod, after the group was set. */
Test(daemon, control_socket_group_gets_0660_only_after_the_group_is_set)
{
  char dir[] = "/tmp/linli-test-daemon-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  cr_assert_eq(chmod(dir, 0755), 0);
  char ep[256], path[256];
  snprintf(ep, sizeof ep, "ipc://%s/control.sock", dir);
  void *ctx = zmq_ctx_new();
  void *sock = zmq_socket(ctx, ZMQ_REP);
  cr_assert_not_null(sock);
  mode_t old = umask(0);
  s_chmods = 0;
  lerr e = {0};
  gid_t gid = getgid();
  cr_assert_eq(daemon_bind_control(sock, ep, gid, path, sizeof path, &e), 0, "%s", e.msg);
  umask(old);
  cr_assert_eq(s_chmods, 1);
  cr_assert_eq(s_mode_before_chmod & 077, 0, "mode %o before the chmod",
               (unsigned)s_mode_before_chmod);
  struct stat st;
  cr_assert_eq(stat(path, &st), 0);
  cr_assert_eq(st.st_mode & 07777, 0660);
  cr_assert_eq(st.st_gid, gid);
  zmq_close(sock);
  zmq_ctx_term(ctx);
  unlink(path);
  rmdir(dir);
}
