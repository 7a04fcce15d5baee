#!/bin/sh
# mp_gprs.sh - a village's backlog over an emulated GPRS line (linkrelay:
# 5,500 bytes/s each way = 44 kbit/s, 375 ms one way, a 16 KiB queue).
#
#   sh tests/mp_gprs.sh BUILD_DIR
#
# 1. A backlog of 200 diary entries of 600 characters of random text
#    (about 110 KB compressed, 20 s of the line) goes up with the default
#    link settings (2 s heartbeat, cut after 6 s of silence), and the relay
#    cuts the connection once 40,000 bytes went up.  It must complete, and
#    the cut may cost at most one DATA message: the bytes that went up,
#    compared with run 2's, exceed them by at most the largest DATA the
#    village sent (`data_max_bytes` in its status) plus 4 KiB for the
#    second connection's handshake, HELLO and heartbeats.  Before DATA
#    was sized to the link, a 256 KiB DATA took longer than the heartbeat
#    timeout and the connection was cut every 7-13 s for ever.
# 2. The same backlog (a copy of the village) to a second street on a LAN
#    whose child line gives this village link=gprs (the village has
#    link = gprs), then, after a reload of the street's configuration
#    (SIGHUP), the idle line: the timers scaled down ten times
#    (link_heartbeat 6 s, PING 30 s, link_resync 180 s) and counted over
#    30 s, that is five minutes of the real settings (five heartbeats each
#    way, one PING), so the bytes counted / 5 are the bytes a minute of the
#    real line; they must stay at 300 or less each way.  A write at the
#    street must still reach the village within 4 s.
# A 1 MB backlog takes over three minutes of this line: tests/mp_gprs_1mb.sh
# checks it (as built, beside the other tests), linli-bench --only gprs
# measures a 1.5 MB one.
set -eu
NAME=mp_gprs
. "$(dirname "$0")/mp_lib.sh"
[ -x "$B/linkrelay" ] || fail "$B/linkrelay is not built"

N=200
mkstation st; PK_S=$PK
mkstation st2; PK_S2=$PK
mkstation va; PK_A=$PK
i=1
while [ $i -le $N ]; do
  TXT=$(head -c 450 /dev/urandom | base64 -w 0)
  q "$T/va" put "diary/va/$i" text="$TXT" >/dev/null || fail "put $i at va: $(cat "$T/q.err")"
  i=$((i + 1))
done
cp -R "$T/va" "$T/vb"
ok "va holds $N diary entries of 600 characters, written offline; vb is a copy"

# run STREET VILLAGE RELAY CHILD_LINK VILLAGE_CONF RELAY_ARGS...: the
# street (CHILD_LINK ends its child line) and the village (VILLAGE_CONF
# added; its parent is the relay), until equal digests.
run() {
  _s=$1
  _v=$2
  _r=$3
  _c=$4
  _x=$5
  shift 5
  cat >"$T/$_s.conf.in" <<EOF2
name = $_s
role = street
data = $T/$_s
listen = tcp://127.0.0.1:@PORT@
child = $PK_A va $_c
EOF2
  node_listen "$_s" 0
  _sp=$PORT
  _rp=$(free_port 7)
  relay_start "$_r" "$_rp" "$_sp" -r 5500 -d 375 -q 16384 "$@"
  _rp=$RPORT
  _pk=$(cat "$T/$_s/node.key.pub")
  cat >"$T/$_v.conf" <<EOF2
name = va
role = village
data = $T/$_v
parent = tcp://127.0.0.1:$_rp $_pk $_s
$_x
EOF2
  _t0=$(date +%s)
  node_start "$_v" || fail "$_v exited at start: $(tail -n 1 "$T/$_v.log")"
  poll 80 same_digest diary/va/ "$T/$_v" "$T/$_s" ||
    fail "the backlog did not reach $_s within 80 s (relay: $(cat "$T/$_r.stats"))"
  SECS=$(($(date +%s) - _t0))
}

echo "# 1: default link settings, the connection cut after 40,000 bytes"
run st va r1 "" "" -c 40000
grep -q "cuts 1" "$T/r1.stats" || fail "the relay did not cut: $(cat "$T/r1.stats")"
relay_bytes r1
UP1=$UP
ok "the backlog reached st in $SECS s across a cut ($UP1 bytes up)"
J=$(q "$T/va" status --json) || fail "status at va: $(cat "$T/q.err")"
DMAX=$(jnum data_max_bytes)
[ -n "$DMAX" ] && [ "$DMAX" -gt 0 ] || fail "va's status gives no largest DATA: $J"
node_stop va
node_stop st

echo "# 2: a LAN street, link=gprs on the village's child line, no cut, then idle"
run st2 vb r2 "link=gprs link_heartbeat=6 link_resync=180" "link = gprs
link_heartbeat = 6
link_resync = 180"
relay_bytes r2
UP2=$UP
ok "the backlog reached st2 in $SECS s ($UP2 bytes up)"
EXTRA=$((UP1 - UP2))
[ $EXTRA -le $((DMAX + 4096)) ] ||
  fail "the cut cost $EXTRA bytes, more than one DATA message ($DMAX bytes, the largest va sent) and a handshake"
ok "the cut cost $EXTRA bytes (va's largest DATA: $DMAX bytes)"

kill -HUP "$(cat "$T/st2.pid")"
poll 10 grep -q "reloaded" "$T/st2.log" || fail "st2 did not reload: $(tail -n 1 "$T/st2.log")"
grep -q "child va link=" "$T/st2.log" && fail "st2 took the link settings for part of the name"
sleep 3
relay_bytes r2
U0=$UP
D0=$DOWN
sleep 30
relay_bytes r2
UPM=$(((UP - U0) / 5))
DOWNM=$(((DOWN - D0) / 5))
echo "# idle: $((UP - U0)) bytes up, $((DOWN - D0)) down in 30 s at ten times the rate of timers"
[ $UPM -le 300 ] && [ $DOWNM -le 300 ] ||
  fail "the idle gprs line costs $UPM bytes/min up and $DOWNM down, more than 300"
[ $((UP - U0)) -gt 0 ] || fail "nothing went up in 30 s: no heartbeat at all"
ok "the idle gprs line costs $UPM bytes/min up and $DOWNM down"

# A write at the street is pushed at once on the quiet line: it arrives
# within a round trip (0.75 s) plus the time the CLI takes, not at the
# next anti-entropy exchange (3 min here).
q "$T/st2" put notice/st2/1 text=停水通知 >/dev/null || fail "put at st2: $(cat "$T/q.err")"
poll 4 same_digest notice/ "$T/st2" "$T/vb" || fail "st2's write did not reach vb within 4 s"
ok "a write at the street reaches the village within 4 s"
node_stop vb
node_stop st2
echo "$NAME: $PASS passed, $FAIL failed"
