/*
 * test_config.c - node/config: settings from the file to the values the
 * daemon uses (compress, control, the profile by role and its sync limits,
 * timezone, the link of the node and of each peer).
 */
#include "node/config.h"
#include "node/store.h"
#include "sync/session.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static const char s_base[] = "name = 石路社区\nrole = village\ndata = /var/lib/linli/shilu\n";

/* Parses the base settings plus `extra`; returns the code, fills *out. */
static int
s_parse(const char *extra, lconfig **out, lerr *e)
{
  char text[512];
  snprintf(text, sizeof text, "%s%s", s_base, extra);
  return config_parse(out, "/etc/linli/shilu.conf", text, strlen(text), e);
}

Test(config, compress_defaults_to_the_session_default)
{
  lconfig *c;
  lerr e = {0};
  cr_assert_eq(s_parse("", &c, &e), 0, "%s", e.msg);
  cr_assert_eq(c->compress, 0);
  config_destroy(&c);
}

Test(config, compress_takes_off_or_a_level)
{
  lconfig *c;
  lerr e = {0};
  cr_assert_eq(s_parse("compress = off\n", &c, &e), 0, "%s", e.msg);
  cr_assert_eq(c->compress, LSESSION_COMPRESS_OFF);
  config_destroy(&c);
  cr_assert_eq(s_parse("compress = 1\n", &c, &e), 0, "%s", e.msg);
  cr_assert_eq(c->compress, 1);
  config_destroy(&c);
  cr_assert_eq(s_parse("compress   =   19  \n", &c, &e), 0, "%s", e.msg);
  cr_assert_eq(c->compress, 19);
  config_destroy(&c);
}

/* Each of bad[0..n) added to the base is refused with a message starting
 * with `want`. */
static void
s_refused(const char *const *bad, size_t n, const char *want)
{
  for (size_t i = 0; i < n; i++) {
    lconfig *c;
    lerr e = {0};
    cr_assert_eq(s_parse(bad[i], &c, &e), LINLI_EINVAL, "accepted %s", bad[i]);
    cr_assert_null(c);
    cr_assert(strncmp(e.msg, want, strlen(want)) == 0, "%s: %s", bad[i], e.msg);
  }
}

Test(config, a_bad_compress_names_the_line)
{
  const char *bad[] = {"compress = 0\n", "compress = 20\n", "compress = on\n",
                       "compress = \n",  "compress = -3\n", "compress = 3x\n",
                       "compress = 99999999999999999999\n"};
  s_refused(bad, sizeof bad / sizeof *bad,
            "/etc/linli/shilu.conf:4: compress must be off or a zstd level from 1 to 19");
  lconfig *c;
  lerr e = {0};
  cr_assert_eq(s_parse("compress = 3\ncompress = off\n", &c, &e), LINLI_EINVAL);
  cr_assert_str_eq(e.msg, "/etc/linli/shilu.conf:5: compress is set twice (first on line 4)");
}

/* The control socket runs any linli command as the node without asking who
 * connects: it may only be a local ipc:// file, never a network endpoint. */
Test(config, control_must_be_an_ipc_path)
{
  const char *bad[] = {"control = tcp://127.0.0.1:7499\n", "control = tcp://*:7499\n",
                       "control = tcp://[::1]:7499\n"};
  s_refused(bad, sizeof bad / sizeof *bad,
            "/etc/linli/shilu.conf:4: control: only ipc://PATH is allowed");
  lconfig *c;
  lerr e = {0};
  cr_assert_eq(s_parse("control = ipc:///run/linli/shilu.sock\n", &c, &e), 0, "%s", e.msg);
  cr_assert_str_eq(c->control, "ipc:///run/linli/shilu.sock");
  config_destroy(&c);
  /* listen keeps taking tcp:// */
  cr_assert_eq(s_parse("listen = tcp://*:7401\n", &c, &e), 0, "%s", e.msg);
  config_destroy(&c);
}

/* The profile each role gets by default, and the window and DATA bound
 * its sessions use (docs/PROTOCOL.md, "DATA"; ARCHITECTURE.md, "Storage"):
 * a street relays many villages and syncs like a district. */
Test(config, profile_defaults_by_role_and_the_sync_limits_they_give)
{
  static const struct {
    const char *text;
    int profile;
    uint32_t window, max;
  } want[] = {
      {"name = a\nrole = village\ndata = /d\n", LSTORE_VILLAGE, 1u << 20, 256u << 10},
      {"name = a\nrole = device\ndata = /d\n", LSTORE_VILLAGE, 1u << 20, 256u << 10},
      {"name = a\nrole = street\ndata = /d\n", LSTORE_DISTRICT, 8u << 20, 1u << 20},
      {"name = a\nrole = district\ndata = /d\n", LSTORE_DISTRICT, 8u << 20, 1u << 20},
      {"name = a\nrole = street\ndata = /d\nprofile = village\n", LSTORE_VILLAGE, 1u << 20,
       256u << 10},
      {"name = a\nrole = village\ndata = /d\nprofile = district\n", LSTORE_DISTRICT, 8u << 20,
       1u << 20},
  };
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
    lconfig *c;
    lerr e = {0};
    cr_assert_eq(config_parse(&c, "/etc/linli/a.conf", want[i].text, strlen(want[i].text), &e),
                 0, "%s", e.msg);
    cr_assert_eq(c->profile, want[i].profile, "%s", want[i].text);
    uint32_t window = 0, max = 0;
    config_sync_limits(c, &window, &max);
    cr_assert_eq(window, want[i].window, "%s", want[i].text);
    cr_assert_eq(max, want[i].max, "%s", want[i].text);
    config_destroy(&c);
  }
}

/* An unknown zone would be taken for UTC by the C library without a word:
 * the name must be in the zone database. */
Test(config, timezone_is_a_known_zone)
{
  lconfig *c;
  lerr e = {0};
  cr_assert_eq(s_parse("", &c, &e), 0, "%s", e.msg);
  cr_assert_str_eq(c->timezone, "");
  config_destroy(&c);
  cr_assert_eq(s_parse("timezone = Asia/Shanghai\n", &c, &e), 0, "%s", e.msg);
  cr_assert_str_eq(c->timezone, "Asia/Shanghai");
  config_destroy(&c);
  const char *bad[] = {"timezone = /etc/passwd\n", "timezone = Asia/../../etc/passwd\n",
                       "timezone = Asia/Shang hai\n", "timezone = \n"};
  s_refused(bad, sizeof bad / sizeof *bad,
            "/etc/linli/shilu.conf:4: timezone must be a zone name such as Asia/Shanghai");
  const char *unknown[] = {"timezone = Asia/Beijing\n"};
  s_refused(unknown, 1, "/etc/linli/shilu.conf:4: timezone Asia/Beijing is not in the zone database");
}

Test(config, control_group_takes_a_group_name_or_none)
{
  lconfig *c;
  lerr e = {0};
  cr_assert_eq(s_parse("", &c, &e), 0, "%s", e.msg);
  cr_assert_str_eq(c->control_group, "");
  config_destroy(&c);
  cr_assert_eq(s_parse("control_group = linli\n", &c, &e), 0, "%s", e.msg);
  cr_assert_str_eq(c->control_group, "linli");
  config_destroy(&c);
  cr_assert_eq(s_parse("control_group = none\n", &c, &e), 0, "%s", e.msg);
  cr_assert_str_eq(c->control_group, "none");
  config_destroy(&c);
  const char *bad[] = {"control_group = a b\n", "control_group = ../x\n",
                       "control_group = 0123456789012345678901234567890123\n"};
  s_refused(bad, sizeof bad / sizeof *bad,
            "/etc/linli/shilu.conf:4: control_group must be a group name or none");
}

Test(config, metrics_listen_is_off_by_default_and_takes_an_ipv4_address_and_port)
{
  lconfig *c;
  lerr e = {0};
  cr_assert_eq(s_parse("", &c, &e), 0, "%s", e.msg);
  cr_assert_eq(c->metrics_port, 0);
  config_destroy(&c);
  cr_assert_eq(s_parse("metrics_listen = 127.0.0.1:9464\n", &c, &e), 0, "%s", e.msg);
  cr_assert_eq(c->metrics_port, 9464);
  cr_assert_eq(c->metrics_addr, htonl(0x7f000001));
  config_destroy(&c);
  const char *bad[] = {"metrics_listen = 9464\n", "metrics_listen = 127.0.0.1:\n",
                       "metrics_listen = 127.0.0.1:0\n", "metrics_listen = 127.0.0.1:65536\n",
                       "metrics_listen = localhost:9464\n", "metrics_listen = 1.2.3.4:94x\n"};
  s_refused(bad, sizeof bad / sizeof *bad, "/etc/linli/shilu.conf:4: metrics_listen must be");
}

Test(config, link_sets_the_timers_and_the_file_overrides_them)
{
  lconfig *c;
  lerr e = {0};
  lconfig_link lk;
  cr_assert_eq(s_parse("", &c, &e), 0, "%s", e.msg);
  config_link(c, &lk);
  cr_assert_eq(lk.heartbeat_ms, 2000);
  cr_assert_eq(lk.resync_ms, 300000);
  cr_assert_eq(lk.data, 0);
  config_destroy(&c);
  /* gprs: an idle connection a heartbeat a minute, anti-entropy every 30 min */
  cr_assert_eq(s_parse("link = gprs\n", &c, &e), 0, "%s", e.msg);
  config_link(c, &lk);
  cr_assert_geq(lk.heartbeat_ms, 60000);
  cr_assert_geq(lk.ping_ms, 60000);
  cr_assert_geq(lk.resync_ms, 30 * 60000);
  config_destroy(&c);
  cr_assert_eq(s_parse("link = gprs\nlink_heartbeat = 90\nlink_resync = 3600\n"
                       "link_data = 32768\n",
                       &c, &e),
               0, "%s", e.msg);
  config_link(c, &lk);
  cr_assert_eq(lk.heartbeat_ms, 90000);
  cr_assert_eq(lk.ping_ms, 450000); /* five heartbeats, as the preset */
  cr_assert_eq(lk.resync_ms, 3600000);
  uint32_t window, maxmsg;
  config_sync_limits(c, &window, &maxmsg);
  cr_assert_eq(maxmsg, 32768);
  config_destroy(&c);
}

Test(config, a_bad_link_setting_names_the_line)
{
  const char *bad[] = {"link = 3g\n", "link = \n", "link = GPRS\n"};
  s_refused(bad, 3, "/etc/linli/shilu.conf:4: link must be lan, dsl or gprs");
  const char *hb[] = {"link_heartbeat = 0\n", "link_heartbeat = 86401\n",
                      "link_heartbeat = 1m\n", "link_heartbeat = 99999999999999999999\n"};
  s_refused(hb, 4, "/etc/linli/shilu.conf:4: link_heartbeat must be a number of seconds");
  const char *data[] = {"link_data = 16383\n", "link_data = 1048577\n", "link_data = x\n"};
  s_refused(data, 3, "/etc/linli/shilu.conf:4: link_data must be a number of bytes");
}

#define KEY_A "8be0e9e3a3b2c1d0f0e1d2c3b4a5968778695a4b3c2d1e0f1029384756abcd12"
#define KEY_B "51d7e9e3a3b2c1d0f0e1d2c3b4a5968778695a4b3c2d1e0f1029384756abcdc4"

Test(config, a_child_line_takes_its_own_link)
{
  lconfig *c;
  lerr e = {0};
  lconfig_link lk;
  const char *text;
  text = "name = 金阊街道\nrole = street\ndata = /var/lib/linli/jinchang\n"
         "listen = tcp://0.0.0.0:7401\nlink_heartbeat = 4\n"
         "child = " KEY_A " 石路 社区 link=gprs link_heartbeat=6\n"
         "child = " KEY_B " 三乡社区\n";
  cr_assert_eq(config_parse(&c, "/etc/linli/j.conf", text, strlen(text), &e), 0, "%s", e.msg);
  cr_assert_eq(c->nchildren, 2);
  cr_assert_str_eq(c->children[0].name, "石路 社区", "the settings are not part of the name");
  cr_assert_eq(c->children[0].link, LLINK_GPRS);
  cr_assert_eq(c->children[1].link, -1);
  /* its own: the gprs values, its own heartbeat, PING in the gprs ratio */
  config_peer_link(c, &c->children[0], &lk);
  cr_assert_eq(lk.heartbeat_ms, 6000);
  cr_assert_eq(lk.ping_ms, 30000);
  cr_assert_eq(lk.resync_ms, 1800000);
  /* the other: the node's link with the node's override */
  config_peer_link(c, &c->children[1], &lk);
  cr_assert_eq(lk.heartbeat_ms, 4000);
  cr_assert_eq(lk.resync_ms, 300000);
  config_destroy(&c);
  /* a parent line too, and every link key */
  text = "name = 石路社区\nrole = village\ndata = /var/lib/linli/shilu\n"
         "parent = tcp://10.2.0.1:7401 " KEY_A " link=dsl link_resync=1200 link_data=65536\n";
  cr_assert_eq(config_parse(&c, "/etc/linli/s.conf", text, strlen(text), &e), 0, "%s", e.msg);
  cr_assert_eq(c->parents[0].link, LLINK_DSL);
  cr_assert_eq(strlen(c->parents[0].name), 12, "a parent without a name gets its short id");
  config_peer_link(c, &c->parents[0], &lk);
  cr_assert_eq(lk.heartbeat_ms, 10000);
  cr_assert_eq(lk.resync_ms, 1200000);
  cr_assert_eq(lk.data, 65536);
  config_destroy(&c);
}

Test(config, a_bad_link_setting_on_a_peer_line_names_the_line)
{
  struct {
    const char *line, *why;
  } bad[] = {
      {"child = " KEY_A " 石路 link=3g\n", "j.conf:5: link must be lan, dsl or gprs"},
      {"child = " KEY_A " 石路 link_heartbeat=0\n", "j.conf:5: link_heartbeat must be a number"},
      {"child = " KEY_A " 石路 link_data=1\n", "j.conf:5: link_data must be a number of bytes"},
      {"child = " KEY_A " 石路 linkage=2\n", "j.conf:5: \"linkage\" is not a link setting"},
      {"child = " KEY_A " 石路 link=gprs link=lan\n", "j.conf:5: link is given twice"},
      {"child = " KEY_A " link=gprs\n", "j.conf:5: child needs PUBKEYHEX NAME"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char text[512];
    snprintf(text, sizeof text,
             "name = 金阊街道\nrole = street\ndata = /var/lib/linli/jinchang\n"
             "listen = tcp://0.0.0.0:7401\n%s",
             bad[i].line);
    lconfig *c = NULL;
    lerr e = {0};
    cr_assert_neq(config_parse(&c, "/etc/linli/j.conf", text, strlen(text), &e), 0, "%s",
                  bad[i].line);
    cr_assert(strstr(e.msg, bad[i].why) != NULL, "%s: %s", bad[i].line, e.msg);
  }
}

Test(config, http_listen_takes_a_port_alone_or_an_address)
{
  lconfig *c;
  lerr e = {0};
  cr_assert_eq(s_parse("", &c, &e), 0, "%s", e.msg);
  cr_assert_eq(c->http_port, 0);
  cr_assert_eq(c->session_idle_min, 30);
  config_destroy(&c);
  cr_assert_eq(s_parse("http_listen = 8470\n", &c, &e), 0, "%s", e.msg);
  cr_assert_eq(c->http_port, 8470);
  cr_assert_eq(c->http_addr, inet_addr("127.0.0.1"));
  config_destroy(&c);
  cr_assert_eq(s_parse("http_listen = 0.0.0.0:8471\nsession_idle = 5\n", &c, &e), 0, "%s", e.msg);
  cr_assert_eq(c->http_port, 8471);
  cr_assert_eq(c->http_addr, inet_addr("0.0.0.0"));
  cr_assert_eq(c->session_idle_min, 5);
  config_destroy(&c);
  cr_assert_neq(s_parse("http_listen = :80x\n", &c, &e), 0);
  cr_assert(strstr(e.msg, "http_listen") != NULL, "%s", e.msg);
  cr_assert_neq(s_parse("session_idle = 0\n", &c, &e), 0);
  cr_assert(strstr(e.msg, "session_idle") != NULL, "%s", e.msg);
}

Test(config, http_paths_are_relative_to_the_file_and_tls_takes_both)
{
  lconfig *c;
  lerr e = {0};
  cr_assert_eq(s_parse("http_root = web\nhttp_tls_cert = c.pem\nhttp_tls_key = /k/k.pem\n", &c, &e),
               0, "%s", e.msg);
  cr_assert_str_eq(c->http_root, "/etc/linli/web");
  cr_assert_str_eq(c->http_tls_cert, "/etc/linli/c.pem");
  cr_assert_str_eq(c->http_tls_key, "/k/k.pem");
  config_destroy(&c);
  cr_assert_neq(s_parse("http_tls_cert = c.pem\n", &c, &e), 0);
  cr_assert(strstr(e.msg, "http_tls_key") != NULL, "%s", e.msg);
}
