/*
 * main.c - `linli-node`, the sync daemon of a station, street or district.
 *
 * It runs in the foreground (systemd, or a terminal) until SIGTERM or
 * SIGINT, logging on stderr; SIGHUP reloads the configuration.  Everything it does is configured in one file
 * (node/config.h, deploy/README.md); the work is done by node/daemon.c.
 * Exit status: 0 after a requested stop, 1 when it cannot start or the
 * loop fails, 2 for a mistake on the command line.  A failure to start is
 * one line, "linli-node: ...", on stderr.
 */
#include "node/config.h"
#include "node/daemon.h"
#include "node/log.h"
#include "tools/linli/cli.h"

#include "crdt/ident.h"

#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char s_usage[] =
    "usage: linli-node [-c CONFIG] [--help] [--version]\n"
    "\n"
    "Runs a linli node in the foreground: keeps the data directory open, syncs\n"
    "with the parents and children named in CONFIG over ZeroMQ (CURVE-encrypted,\n"
    "keys from the node's identity), and serves `linli` commands through the\n"
    "control socket.  Stops cleanly on SIGTERM or SIGINT; reads CONFIG again on\n"
    "SIGHUP.  Under systemd it notifies readiness and the watchdog.\n"
    "\n"
    "Options:\n"
    "  -c CONFIG   the configuration file (default: $LINLI_CONFIG)\n"
    "  --help      show this text\n"
    "  --version   show the version\n"
    "\n"
    "The configuration format is described in deploy/README.md; examples are in\n"
    "deploy/linli-node.*.conf.  Exit status: 0 after a requested stop, 1 on an\n"
    "error, 2 on a usage error.\n"
    "\n"
    "Example:\n"
    "  linli-node -c /etc/linli/jinchang.conf\n";

static int
s_fail(int code, const char *fmt, ...)
{
  va_list ap;
  fputs("linli-node: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return code;
}

int
main(int argc, char **argv)
{
  const char *path = getenv("LINLI_CONFIG");
  lconfig *cfg = NULL;
  ldaemon *d = NULL;
  lerr e = {0};
  int rc = 1;

  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      fputs(s_usage, stdout);
      return 0;
    }
    if (strcmp(argv[i], "--version") == 0) {
      printf("linli-node %s\n", LINLI_VERSION);
      return 0;
    }
    if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
      if (i + 1 >= argc)
        return s_fail(2, "%s needs a file (see linli-node --help)", argv[i]);
      path = argv[++i];
    } else {
      return s_fail(2, "unknown argument %s (see linli-node --help)", argv[i]);
    }
  }
  if (path == NULL || path[0] == '\0')
    return s_fail(2, "no configuration file: give -c CONFIG or set LINLI_CONFIG");
  if (linli_crypto_init() != 0)
    return s_fail(1, "cannot initialise libsodium");
  /* The daemon writes what it receives and what linli sends it: the same
   * clock check as linli's writes, before the store is opened. */
  if (cli_clock_check(cli_wall_ms(), true, &e) != 0)
    return s_fail(1, "%s", e.msg);
  if (config_load(&cfg, path, &e) != 0) {
    rc = s_fail(1, "%s", e.msg);
    goto done;
  }
  log_init(cfg->name, cfg->log_level);
  /* Times the commands print are in the station's zone (cli_time). */
  if (cfg->timezone[0] != '\0') {
    setenv("TZ", cfg->timezone, 1);
    tzset();
  }
  /* glibc gives each thread that allocates (ZeroMQ's I/O thread, RocksDB's
   * flush and compaction threads) an arena of its own, each holding freed
   * memory back.  On a station that is several MB of a 40 MB budget, for
   * no speed that matters there.  Before any thread starts.
   * A fixed mmap threshold, too: glibc otherwise raises it to the size of
   * the largest block freed, and the buffers of a sync (DATA of 256 KiB,
   * RocksDB's write batches and memtable blocks) then come from the heap
   * and leave it fragmented, about 4 MB more at the peak of a restore. */
  if (cfg->profile == LSTORE_VILLAGE) {
    mallopt(M_ARENA_MAX, 2);
    mallopt(M_MMAP_THRESHOLD, 128 << 10);
  }
  if (daemon_new(&d, cfg, &e) != 0) {
    rc = s_fail(1, "%s", e.msg);
    goto done;
  }
  /* `linli` commands sent to the control socket run the CLI's own code
   * against the daemon's store (tools/linli/control.c). */
  daemon_set_exec(d, cli_exec, d);
  if (daemon_run(d, &e) != 0) {
    log_error("%s", e.msg);
    rc = 1;
  } else {
    rc = 0;
  }
  daemon_destroy(&d); /* closes the sockets, then flushes and closes the store */
  log_info("stopped");
done:
  daemon_destroy(&d);
  config_destroy(&cfg);
  return rc;
}
