#!/bin/sh
# mp_blackhole.sh - a line that goes silent (packets dropped, no RST: the
# relay's blackhole) is noticed by the heartbeat, and the sync completes
# once the line comes back.
#
#   sh tests/mp_blackhole.sh BUILD_DIR
#
# Village va reaches street st through linkrelay; both have
# link_heartbeat = 4, so a connection is cut when a heartbeat goes
# unanswered for 1.5 intervals (6 s, the least the daemon takes): with the
# heartbeat sent one interval after the last arrival at most, va must
# notice a silent line within 2.5 intervals (10 s) of its last message
# from st (docs/PROTOCOL.md, "Transport").  Ops written during the silence
# reach st within a few seconds after it ends: the village reconnects on
# its own (backoff at most 2 s) and sends them.
set -eu
NAME=mp_blackhole
. "$(dirname "$0")/mp_lib.sh"
[ -x "$B/linkrelay" ] || fail "$B/linkrelay is not built"

mkstation st; PK_S=$PK
mkstation va; PK_A=$PK
street_conf st "child = $PK_A va" "link_heartbeat = 4"
node_listen st 0
RP=$(free_port 7)
relay_start r "$RP" "$PORT" -d 20
RP=$RPORT
cat >"$T/va.conf" <<EOF
name = va
role = village
data = $T/va
parent = tcp://127.0.0.1:$RP $PK_S st
link_heartbeat = 4
EOF
for i in 1 2 3; do
  q "$T/va" put "hh/va/$i" 户主=甲$i >/dev/null || fail "put at va: $(cat "$T/q.err")"
done
node_start va || fail "va exited at start: $(tail -n 1 "$T/va.log")"
poll 20 same_digest hh/ "$T/va" "$T/st" || fail "va and st did not sync through the relay"
ok "va and st in sync through the relay"

# ms since 1970 of a log line's time stamp (its first field)
log_ms() { date -d "$1" +%s%3N; }
sleep 2
kill -USR2 "$(cat "$T/r.pid")"
T0=$(date +%s%3N)
for i in 4 5 6 7 8; do
  q "$T/va" put "hh/va/$i" 户主=甲$i >/dev/null || fail "put at va during the silence: $(cat "$T/q.err")"
done
poll 14 grep -q "disconnected from parent st" "$T/va.log" ||
  fail "va did not notice the silent line within 14 s"
DL=$(grep -m 1 "disconnected from parent st" "$T/va.log" | cut -d' ' -f1)
DT=$(($(log_ms "$DL") - T0))
echo "# va noticed the silent line $DT ms after it went silent"
[ "$DT" -le 10500 ] || fail "va noticed the silent line after $DT ms, more than 2.5 heartbeats (10 s)"
[ "$DT" -ge 5500 ] || fail "va cut the line after $DT ms, before a heartbeat could time out (6 s)"
ok "va noticed the silent line after $DT ms"
has_n "$T/st" hh/ 3 || fail "st holds ops written during the silence: the relay let them through"

sleep 2
kill -USR2 "$(cat "$T/r.pid")"
T1=$(date +%s%3N)
poll 20 same_digest hh/ "$T/va" "$T/st" ||
  fail "the ops written during the silence did not reach st within 20 s after it ended"
T2=$(date +%s%3N)
echo "# in sync $((T2 - T1)) ms after the line came back"
[ $((T2 - T1)) -le 10000 ] || fail "in sync only $((T2 - T1)) ms after the line came back"
has_n "$T/st" hh/ 8 || fail "st holds $(nkeys "$T/st" hh/) of 8 records"
ok "va reconnected and the 5 ops written during the silence reached st"

node_stop va
node_stop st
echo "$NAME: $PASS passed, $FAIL failed"
