/*
 * config.h - the configuration file of linli-node.
 *
 * The file is UTF-8 text, one setting per line:
 *
 *   # 金阊街道 street node
 *   name     = 金阊街道
 *   role     = street
 *   data     = /var/lib/linli/jinchang
 *   listen   = tcp://0.0.0.0:7401
 *   parent   = tcp://10.2.0.1:7401 3f1c...64 hex digits...9a 姑苏区
 *   child    = 8be0...64 hex digits...12 石路社区
 *   child    = 51d7...64 hex digits...c4 三乡社区
 *   log_level = info
 *
 * A line is `key = value`; blanks around the key and the value are ignored,
 * blank lines and lines whose first non-blank character is '#' are
 * comments (a '#' later in a line is part of the value, since station names
 * may contain one).  A UTF-8 byte order mark and CRLF line ends are
 * accepted.  Keys:
 *
 *   name       the node's name in logs (1 to 100 bytes, no control
 *              characters).  Required.
 *   role       village | street | district | device.  Required.  A district
 *              has no parent; a device has no children and no listen.
 *   data       the data directory (made with `linli init`).  Required.  A
 *              relative path is taken from the directory of the file.
 *   listen     the ZeroMQ endpoint children connect to, e.g.
 *              tcp://0.0.0.0:7401.  Required when `child` lines exist.
 *   parent     ENDPOINT PUBKEYHEX [NAME]: a node above us, its endpoint and
 *              its public key (`linli status` there prints it); NAME, the
 *              rest of the line, is shown in logs (default: the short id).
 *              May repeat.
 *   child      PUBKEYHEX NAME: a node allowed to connect to us.  Only keys
 *              listed here are admitted.  May repeat.
 *              A parent or child line may end in the peer's own link
 *              settings, words KEY=VALUE with the keys below
 *              (`child = 8be0...12 石路社区 link=gprs link_heartbeat=30`):
 *              that connection's session PING, anti-entropy and DATA
 *              bound follow them (config_peer_link), and so does its
 *              transport heartbeat (the children's listening socket takes
 *              the slowest heartbeat of the node's and the children's).
 *   log_level  error | warn | info (default) | debug.
 *   control    the endpoint of the local control socket (default
 *              ipc://DATA/control.sock) through which `linli` runs commands
 *              while the daemon holds the store; ipc://PATH only (the
 *              socket is unauthenticated: the file's mode is the guard).
 *   profile    village | district: the store's cache sizes (default
 *              district for a street or a district, village for a village
 *              or a device); it also sets the sync window and message
 *              size (config_sync_limits).
 *   link       lan (default) | dsl | gprs: the kind of line to the parents
 *              and children, which sets the values below (config_link).
 *   link_heartbeat  seconds between transport heartbeats on an idle
 *              connection (lan 2, dsl 10, gprs 60); a connection is cut
 *              when nothing arrives for 1.5 times that (at least 6 s)
 *              after a heartbeat, so a silent line is noticed within 2.5
 *              times that (at least that plus 6 s).
 *              The session's PING keeps its ratio to it (lan 2.5, dsl 6,
 *              gprs 5 heartbeats).
 *   link_resync  seconds between anti-entropy HELLOs when nothing changed
 *              (lan 300, dsl 600, gprs 1800).
 *   link_data  the largest DATA message in bytes, 16384 to 1048576
 *              (default: the profile's); smaller ones are sent while the
 *              link is measured (docs/PROTOCOL.md, "DATA").
 *   compress   off | 1..19: the zstd level of the sync data this node
 *              sends (default 3).  With `off` it neither sends nor accepts
 *              compressed data; a peer that is off gets plain data.
 *   timezone   the station's time zone for times shown to people (the
 *              output of `linli` commands the daemon runs), an IANA name
 *              such as Asia/Shanghai that the zone database holds (default:
 *              TZ, else the system's).  Ops and the daemon's log keep UTC.
 *   max_ahead  seconds an op may be dated ahead of this node's clock before
 *              its delta is held back until the clock gets there (default
 *              3600; 60 to 315360000).
 *   control_group  GROUP | none: the group that may use the control
 *              socket (mode 0660, owned by GROUP); default: the data
 *              directory's group.  `none`: the owner only (0600).
 *   metrics_listen  ADDRESS:PORT (IPv4): serve Prometheus metrics over
 *              HTTP at /metrics there (node/http.c).  Off by default.
 *   http_listen  ADDRESS:PORT or PORT (127.0.0.1:PORT): serve the HTTP API
 *              and the web interface there (node/api.c, docs/API.md); off
 *              when not set.  An address other than 127.0.0.1 opens it to
 *              the LAN.
 *   http_tls_cert, http_tls_key  PEM files: the API speaks HTTPS only.
 *   http_root  the web interface's files (default LINLI_WEB_ROOT: the
 *              installed /usr/share/linli/web, or the source web/ in a
 *              build tree).
 *   session_idle  minutes a web session may stay idle before it ends and
 *              its unlocked key is wiped (1 to 1440, default 30).
 *
 * Endpoints are tcp://HOST:PORT or ipc://PATH.  Any other key, a repeated
 * single-valued key, a malformed value or a key listed twice (as two
 * children, or as parent and child) is an error that names file:line.
 * deploy/README.md documents the same format for operators.
 */
#ifndef LINLI_CONFIG_H
#define LINLI_CONFIG_H

#include "crdt/err.h"
#include "crdt/ident.h"

#include <stdint.h>

#define LCONFIG_NAME_MAX 100
#define LCONFIG_PATH_MAX 4096
#define LCONFIG_ENDPOINT_MAX 512

enum lnode_role { LROLE_VILLAGE, LROLE_STREET, LROLE_DISTRICT, LROLE_DEVICE };
enum llink_kind { LLINK_LAN, LLINK_DSL, LLINK_GPRS };

/* The timers of every sync connection of a node, from `link`. */
typedef struct lconfig_link {
  uint32_t heartbeat_ms;  /* ZMTP heartbeat interval */
  uint32_t resync_ms;     /* anti-entropy HELLO period (lsession_cfg.resync_ms) */
  uint32_t ping_ms;       /* PING on an idle session (lsession_cfg.ping_ms) */
  uint32_t data;          /* DATA bound in bytes (0: the profile's) */
} lconfig_link;

typedef struct lconfig_peer {
  char endpoint[LCONFIG_ENDPOINT_MAX]; /* parents only; "" for children */
  uint8_t pk[LINLI_PK_BYTES];          /* ed25519 public key */
  char name[LCONFIG_NAME_MAX + 1];     /* a parent without a name gets its short id */
  unsigned line;                       /* where it was configured, for messages */
  int link;                            /* its own link=, enum llink_kind; -1: the node's */
  uint32_t link_heartbeat_ms, link_resync_ms, link_data; /* its own, 0: none */
} lconfig_peer;

typedef struct lconfig {
  char path[LCONFIG_PATH_MAX];         /* the file read */
  char name[LCONFIG_NAME_MAX + 1];
  int role;                            /* enum lnode_role */
  char data[LCONFIG_PATH_MAX];         /* absolute or as given when the file's dir is "." */
  char listen[LCONFIG_ENDPOINT_MAX];   /* "" when not listening */
  char control[LCONFIG_ENDPOINT_MAX];
  int log_level;                       /* LLOG_* of node/log.h */
  int profile;                         /* LSTORE_VILLAGE or LSTORE_DISTRICT */
  uint64_t ahead_ms;                   /* max_ahead: hold-back bound */
  int compress;                        /* as lsession_cfg.compress: 0 default,
                                          -1 off, else a zstd level */
  char timezone[64];                   /* "" when not set */
  char control_group[33];              /* "" default (the data directory's group),
                                          "none", or a group name */
  uint32_t metrics_addr;               /* IPv4, network order */
  uint16_t metrics_port;               /* 0: no metrics endpoint */
  uint32_t http_addr;                  /* http_listen: IPv4, network order */
  uint16_t http_port;                  /* 0: no HTTP API */
  char http_tls_cert[LCONFIG_PATH_MAX]; /* "" when not set */
  char http_tls_key[LCONFIG_PATH_MAX];
  char http_root[LCONFIG_PATH_MAX];    /* "": LINLI_WEB_ROOT */
  uint32_t session_idle_min;           /* session_idle, minutes */
  int link;                            /* enum llink_kind */
  uint32_t link_heartbeat_ms, link_resync_ms, link_data; /* 0: the link's */
  lconfig_peer *parents;
  uint32_t nparents;
  lconfig_peer *children;
  uint32_t nchildren;
} lconfig;

/* Reads and checks the file at `path`.  *out is the caller's
 * (config_destroy).  Errors: LINLI_EIO (unreadable file), LINLI_EINVAL with
 * "PATH:LINE: what is wrong" in `e`. */
int config_load(lconfig **out, const char *path, lerr *e);

/* The same from text in memory; `path` is used for messages and to resolve
 * a relative data directory. */
int config_parse(lconfig **out, const char *path, const char *text, size_t n, lerr *e);

void config_destroy(lconfig **c);

/* The receive window and DATA bound (lsession_cfg.window and
 * .max_message) of every session of a node of this profile: a station on
 * cheap hardware and a slow link gets small ones, a node that relays many
 * stations (a street, a district) large ones.  docs/PROTOCOL.md, "DATA". */
void config_sync_limits(const lconfig *c, uint32_t *window, uint32_t *max_message);

/* The link's timers, the file's overrides applied. */
void config_link(const lconfig *c, lconfig_link *out);
/* The same for one peer: its own link= and overrides when its line has
 * them (a peer with link= of its own starts from that kind's values, not
 * from the node's link_heartbeat and link_resync; one without takes the
 * node's link with its own overrides on top).  The node's link_data bounds
 * every session's DATA (config_sync_limits) unless the peer has its own. */
void config_peer_link(const lconfig *c, const lconfig_peer *peer, lconfig_link *out);
/* "lan", "dsl", "gprs". */
const char *config_link_name(int link);
/* "village", "street", "district", "device". */
const char *config_role_name(int role);

#endif
