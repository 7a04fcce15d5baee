/*
 * linkrelay - a TCP relay that behaves like a slow field link, for tests
 * and the benchmark.
 *
 *   linkrelay -l PORT -t HOST:PORT [-r BYTES_PER_S] [-d DELAY_MS]
 *             [-q QUEUE_BYTES] [-c CUT_AFTER_BYTES] [-C CUT_AT_MS]
 *             [-s STATS_FILE]
 *
 * Every connection accepted on 127.0.0.1:PORT is relayed to HOST:PORT.
 * Each direction is one serial link shared by all connections: bytes
 * leave at BYTES_PER_S (0: unlimited) and arrive DELAY_MS later (one way).
 * The relay reads from a sender only while fewer than QUEUE_BYTES wait for
 * the link in that direction (default 16 KiB), so the sender's own TCP
 * buffers fill as they would behind a real modem.
 *
 * Faults:
 *   -c N      cut (RST) every connection once N bytes went up (client to
 *             server) in total; once.
 *   -C MS     cut every connection MS after the start; once.
 *   SIGUSR1   cut every connection now.
 *   SIGUSR2   toggle a blackhole: nothing is read, delivered or accepted,
 *             no connection is closed.
 *
 * STATS_FILE is rewritten (via a temporary file and rename) at most every
 * 100 ms while counters change: "up U down D conns N cuts K" where U and D
 * are the bytes delivered in each direction since the start (TCP payload,
 * without headers).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define R_PAIRS 16
#define R_CHUNK 4096

typedef struct r_chunk {
  struct r_chunk *next;
  uint64_t depart_us, deliver_us;
  size_t len, off;
  uint8_t data[];
} r_chunk;

/* One direction of one connection. */
typedef struct r_dir {
  int from, to;
  r_chunk *head, *tail;
  bool eof;                          /* `from` closed; close `to` once drained */
} r_dir;

typedef struct r_pair {
  bool used;
  r_dir d[2];                        /* 0: up (client to server), 1: down */
} r_pair;

static r_pair s_pairs[R_PAIRS];
static uint64_t s_rate, s_delay_us, s_qmax = 16384;
static uint64_t s_link_free[2];      /* when each direction's link is next free */
static uint64_t s_queued[2];         /* bytes not yet departed, per direction */
static uint64_t s_bytes[2], s_cuts;
static volatile sig_atomic_t s_cut_now, s_hole_flip, s_stop;

static uint64_t
r_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void
r_sig(int sig)
{
  if (sig == SIGUSR1)
    s_cut_now = 1;
  else if (sig == SIGUSR2)
    s_hole_flip = 1;
  else
    s_stop = 1;
}

static void
r_nonblock(int fd)
{
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void
r_dir_free(r_dir *d)
{
  while (d->head) {
    r_chunk *c = d->head;
    d->head = c->next;
    free(c);
  }
  d->tail = NULL;
}

/* Closes both sockets of a pair; `reset` sends RST instead of FIN. */
static void
r_close(r_pair *p, bool reset)
{
  int fds[2] = {p->d[0].from, p->d[0].to};
  for (int i = 0; i < 2; i++) {
    if (reset) {
      struct linger l = {1, 0};
      setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    close(fds[i]);
  }
  for (int k = 0; k < 2; k++) {
    for (r_chunk *c = p->d[k].head; c; c = c->next)
      if (c->depart_us > r_now())
        s_queued[k] -= c->len;
    r_dir_free(&p->d[k]);
  }
  p->used = false;
}

static void
r_cut_all(void)
{
  for (int i = 0; i < R_PAIRS; i++)
    if (s_pairs[i].used)
      r_close(&s_pairs[i], true);
  s_queued[0] = s_queued[1] = 0;
  s_cuts++;
}

static void
r_stats(const char *path)
{
  if (path == NULL)
    return;
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (f == NULL)
    return;
  unsigned conns = 0;
  for (int i = 0; i < R_PAIRS; i++)
    conns += s_pairs[i].used;
  fprintf(f, "up %llu down %llu conns %u cuts %llu\n", (unsigned long long)s_bytes[0],
          (unsigned long long)s_bytes[1], conns, (unsigned long long)s_cuts);
  fclose(f);
  rename(tmp, path);
}

/* Reads what the queue allows from d->from; the chunk is timed on the link. */
static void
r_read(r_dir *d, int k, uint64_t now)
{
  if (d->eof || s_queued[k] >= s_qmax)
    return;
  size_t room = (size_t)(s_qmax - s_queued[k]);
  if (room > R_CHUNK)
    room = R_CHUNK;
  r_chunk *c = malloc(sizeof *c + room);
  if (c == NULL)
    return;
  ssize_t n = read(d->from, c->data, room);
  if (n <= 0) {
    free(c);
    if (n == 0 || (errno != EAGAIN && errno != EINTR))
      d->eof = true;
    return;
  }
  c->len = (size_t)n;
  c->off = 0;
  c->next = NULL;
  uint64_t start = s_link_free[k] > now ? s_link_free[k] : now;
  c->depart_us = start + (s_rate ? (uint64_t)n * 1000000u / s_rate : 0);
  s_link_free[k] = c->depart_us;
  c->deliver_us = c->depart_us + s_delay_us;
  s_queued[k] += c->len;
  if (d->tail)
    d->tail->next = c;
  else
    d->head = c;
  d->tail = c;
}

/* Writes every chunk whose time has come; false when the pair must close. */
static bool
r_deliver(r_dir *d, int k, uint64_t now)
{
  while (d->head && d->head->deliver_us <= now) {
    r_chunk *c = d->head;
    ssize_t n = write(d->to, c->data + c->off, c->len - c->off);
    if (n < 0)
      return errno == EAGAIN || errno == EINTR;
    c->off += (size_t)n;
    s_bytes[k] += (uint64_t)n;
    if (c->off < c->len)
      return true;
    d->head = c->next;
    if (d->head == NULL)
      d->tail = NULL;
    free(c);
  }
  if (d->eof && d->head == NULL) {
    shutdown(d->to, SHUT_WR);
    return false;
  }
  return true;
}

static int
r_connect(const char *host, const char *port)
{
  struct addrinfo hints = {0}, *ai = NULL;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL)
    return -1;
  int fd = socket(ai->ai_family, SOCK_STREAM, 0);
  if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
    close(fd);
    fd = -1;
  }
  freeaddrinfo(ai);
  return fd;
}

static void
r_usage(void)
{
  fprintf(stderr, "usage: linkrelay -l PORT -t HOST:PORT [-r BYTES_PER_S] [-d DELAY_MS] "
                  "[-q QUEUE_BYTES] [-c CUT_AFTER_BYTES] [-C CUT_AT_MS] [-s STATS_FILE]\n");
  exit(2);
}

int
main(int argc, char **argv)
{
  const char *stats = NULL;
  char host[256] = "", port[16] = "";
  int lport = 0, opt;
  uint64_t cut_bytes = 0, cut_at_ms = 0;
  while ((opt = getopt(argc, argv, "l:t:r:d:q:c:C:s:")) != -1) {
    switch (opt) {
    case 'l': lport = atoi(optarg); break;
    case 't': {
      const char *colon = strrchr(optarg, ':');
      if (colon == NULL || (size_t)(colon - optarg) >= sizeof host || strlen(colon + 1) >= sizeof port)
        r_usage();
      memcpy(host, optarg, (size_t)(colon - optarg));
      host[colon - optarg] = '\0';
      strcpy(port, colon + 1);
      break;
    }
    case 'r': s_rate = strtoull(optarg, NULL, 10); break;
    case 'd': s_delay_us = strtoull(optarg, NULL, 10) * 1000u; break;
    case 'q': s_qmax = strtoull(optarg, NULL, 10); break;
    case 'c': cut_bytes = strtoull(optarg, NULL, 10); break;
    case 'C': cut_at_ms = strtoull(optarg, NULL, 10); break;
    case 's': stats = optarg; break;
    default: r_usage();
    }
  }
  if (lport <= 0 || lport > 65535 || host[0] == '\0' || s_qmax == 0)
    r_usage();
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = r_sig;
  sigaction(SIGUSR1, &sa, NULL);
  sigaction(SIGUSR2, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sin = {0};
  sin.sin_family = AF_INET;
  sin.sin_port = htons((uint16_t)lport);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, (struct sockaddr *)&sin, sizeof sin) != 0 || listen(lfd, 16) != 0) {
    fprintf(stderr, "linkrelay: cannot listen on port %d: %s\n", lport, strerror(errno));
    return 1;
  }
  r_nonblock(lfd);
  uint64_t start = r_now(), stats_at = 0, last_up = ~0ull, last_down = ~0ull;
  bool hole = false, cut_done = false;
  r_stats(stats);

  while (!s_stop) {
    uint64_t now = r_now();
    if (s_hole_flip) {
      s_hole_flip = 0;
      hole = !hole;
    }
    if (s_cut_now || (!cut_done && ((cut_bytes && s_bytes[0] >= cut_bytes) ||
                                    (cut_at_ms && now - start >= cut_at_ms * 1000u)))) {
      if (!s_cut_now)
        cut_done = true;
      s_cut_now = 0;
      r_cut_all();
    }
    /* recompute what has departed */
    s_queued[0] = s_queued[1] = 0;
    for (int i = 0; i < R_PAIRS; i++)
      for (int k = 0; s_pairs[i].used && k < 2; k++)
        for (r_chunk *c = s_pairs[i].d[k].head; c; c = c->next)
          if (c->depart_us > now)
            s_queued[k] += c->len;
    uint64_t next = now + 100000u;
    for (int i = 0; i < R_PAIRS && !hole; i++) {
      r_pair *p = &s_pairs[i];
      for (int k = 0; p->used && k < 2; k++) {
        if (!r_deliver(&p->d[k], k, now)) {
          r_close(p, false);
          break;
        }
        for (r_chunk *c = p->d[k].head; c; c = c->next) {
          if (c->deliver_us < next)
            next = c->deliver_us;
          if (c->depart_us > now && c->depart_us < next)
            next = c->depart_us;
        }
      }
    }
    if (stats && (s_bytes[0] != last_up || s_bytes[1] != last_down) && now >= stats_at) {
      r_stats(stats);
      last_up = s_bytes[0];
      last_down = s_bytes[1];
      stats_at = now + 100000u;
    }
    struct pollfd pf[1 + 2 * R_PAIRS];
    int np = 0, map[2 * R_PAIRS][2];
    pf[np].fd = lfd;
    pf[np].events = hole ? 0 : POLLIN;
    np++;
    for (int i = 0; i < R_PAIRS; i++) {
      r_pair *p = &s_pairs[i];
      for (int k = 0; p->used && k < 2; k++) {
        short ev = 0;
        if (!hole && !p->d[k].eof && s_queued[k] < s_qmax)
          ev |= POLLIN;
        if (!hole && p->d[k].head && p->d[k].head->deliver_us <= now)
          ev |= POLLOUT;
        pf[np].fd = ev & POLLIN ? p->d[k].from : (ev & POLLOUT ? p->d[k].to : -1);
        pf[np].events = ev & POLLIN ? POLLIN : ev;
        if ((ev & POLLIN) && (ev & POLLOUT))
          next = now; /* both wanted: do not wait */
        map[np - 1][0] = i;
        map[np - 1][1] = k;
        np++;
      }
    }
    int64_t wait = next > now ? (int64_t)((next - now + 999) / 1000) : 0;
    if (stats && (s_bytes[0] != last_up || s_bytes[1] != last_down) && wait > 100)
      wait = 100;
    if (poll(pf, (nfds_t)np, (int)wait) < 0 && errno != EINTR)
      break;
    now = r_now();
    if (pf[0].revents & POLLIN) {
      int cfd = accept(lfd, NULL, NULL);
      if (cfd >= 0) {
        int sfd = r_connect(host, port);
        int slot = -1;
        for (int i = 0; i < R_PAIRS && slot < 0; i++)
          if (!s_pairs[i].used)
            slot = i;
        if (sfd < 0 || slot < 0) {
          close(cfd);
          if (sfd >= 0)
            close(sfd);
        } else {
          r_nonblock(cfd);
          r_nonblock(sfd);
          r_pair *p = &s_pairs[slot];
          memset(p, 0, sizeof *p);
          p->used = true;
          p->d[0].from = cfd;
          p->d[0].to = sfd;
          p->d[1].from = sfd;
          p->d[1].to = cfd;
        }
      }
    }
    for (int j = 1; j < np; j++) {
      r_pair *p = &s_pairs[map[j - 1][0]];
      int k = map[j - 1][1];
      if (!p->used || pf[j].fd < 0)
        continue;
      if (pf[j].revents & (POLLIN | POLLHUP | POLLERR))
        r_read(&p->d[k], k, now);
    }
  }
  r_stats(stats);
  return 0;
}
