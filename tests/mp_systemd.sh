#!/bin/sh
# mp_systemd.sh - linli-node under systemd: readiness, watchdog and status
# through $NOTIFY_SOCKET, journal-style log lines, reload on SIGHUP.
#
#   sh tests/mp_systemd.sh BUILD_DIR
#
# A stand-in for systemd (python3, an AF_UNIX datagram socket) records what
# the street's node notifies: READY=1 once it serves, STATUS= lines,
# WATCHDOG=1 at half of WATCHDOG_USEC, RELOADING=1 and READY=1 around a
# reload, STOPPING=1 at the end.  With $JOURNAL_STREAM naming its stderr,
# the node writes "<N>[name] message" lines without a timestamp.  A village
# vb, not yet a configured child, is refused; after vb is added to the
# street's file and the street gets SIGHUP, vb syncs, while va, connected
# all along, is neither disconnected nor reconnected and keeps syncing.
set -eu
NAME=mp_systemd
. "$(dirname "$0")/mp_lib.sh"

command -v python3 >/dev/null 2>&1 || { echo "ok - skipped: no python3"; exit 0; }

mkstation st; PK_S=$PK
mkstation va; PK_A=$PK
mkstation vb; PK_B=$PK
q "$T/vb" put hh/vb/1 户主=乙 >/dev/null || fail "put at vb: $(cat "$T/q.err")"

# The stand-in for systemd's notify socket; it ends by itself after 120 s.
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(120)
open(sys.argv[3], "w").close()
with open(sys.argv[2], "a") as f:
    while True:
        try:
            d = s.recv(4096)
        except socket.timeout:
            break
        f.write(d.decode() + "\n---\n")
        f.flush()
' "$T/notify.sock" "$T/notify.txt" "$T/notify.up" &
PY=$!
trap 'kill "$PY" 2>/dev/null || :; mp_cleanup' EXIT
poll 10 test -f "$T/notify.up" || fail "the notify stand-in did not start"

street_conf st "child = $PK_A va"
: >"$T/st.log"
NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=400000 JOURNAL_STREAM=$(stat -c '%d:%i' "$T/st.log")
export NOTIFY_SOCKET WATCHDOG_USEC JOURNAL_STREAM
node_listen st 0
unset NOTIFY_SOCKET WATCHDOG_USEC JOURNAL_STREAM
poll 10 grep -q '^READY=1$' "$T/notify.txt" || fail "no READY=1 from st: $(cat "$T/notify.txt")"
ok "READY=1 reached the notify socket"
grep -q '^<6>\[st\] started ' "$T/st.log" || fail "st's start line is not journal-style: $(head -n 1 "$T/st.log")"
! grep -q '^20[0-9][0-9]-' "$T/st.log" || fail "a timestamp in a journal line: $(grep -m 1 '^20' "$T/st.log")"
ok "log lines carry a syslog priority and no timestamp under the journal"

for v in va vb; do
  cat >"$T/$v.conf" <<EOF
name = $v
role = village
data = $T/$v
parent = tcp://127.0.0.1:$PORT $PK_S st
EOF
  node_start $v || fail "$v exited at start: $(tail -n 1 "$T/$v.log")"
done
poll 20 grep -q "child va connected" "$T/st.log" || fail "va did not connect"
poll 10 grep -q "refused connection from unknown transport key" "$T/st.log" ||
  fail "st did not refuse vb"
poll 10 grep -q '^STATUS=1 of 1 peers connected' "$T/notify.txt" ||
  fail "no STATUS with va connected: $(grep STATUS "$T/notify.txt" | tail -n 2)"
ok "STATUS= reports the connected peers"
W=$(grep -c '^WATCHDOG=1$' "$T/notify.txt" || :)
[ "$W" -ge 3 ] || fail "only $W WATCHDOG=1 notifications"
ok "WATCHDOG=1 is sent regularly ($W so far)"

# vb added while st runs: a reload, not a restart.
printf 'child = %s vb\n' "$PK_B" >>"$T/st.conf"
ST_PID=$(cat "$T/st.pid")
kill -HUP "$ST_PID"
poll 10 grep -q "\\] reloaded " "$T/st.log" || fail "st did not log a reload: $(tail -n 3 "$T/st.log")"
[ ! -f "$T/st.rc" ] || fail "st exited on SIGHUP with status $(cat "$T/st.rc")"
[ "$(cat "$T/st.pid")" = "$ST_PID" ] || fail "st was restarted"
grep -q '^RELOADING=1$' "$T/notify.txt" || fail "no RELOADING=1"
ok "SIGHUP reloads the configuration in the same process"
has_vb() { q "$T/st" get hh/vb/1 >/dev/null; }
poll 30 has_vb || fail "vb's record did not reach st after the reload: $(cat "$T/q.err")"
ok "vb, added by the reload, connected and synced without a restart"
q "$T/va" put hh/va/1 户主=甲 >/dev/null || fail "put at va: $(cat "$T/q.err")"
has_va() { q "$T/st" get hh/va/1 >/dev/null; }
poll 10 has_va || fail "a write at va after the reload did not reach st"
[ "$(grep -c "child va connected" "$T/st.log")" -eq 1 ] || fail "va reconnected: $(grep 'child va' "$T/st.log")"
! grep -q "child va disconnected" "$T/st.log" || fail "va's session was dropped by the reload"
ok "va's session stayed up through the reload and keeps syncing"

# A broken file changes nothing.
echo "bogus line" >>"$T/st.conf"
kill -HUP "$ST_PID"
poll 10 grep -q "reload: .*the running configuration stays" "$T/st.log" ||
  fail "a broken file was not reported: $(tail -n 2 "$T/st.log")"
grep -q '^<3>\[st\] reload: ' "$T/st.log" || fail "the reload error is not at priority 3"
[ ! -f "$T/st.rc" ] || fail "st exited on a broken file"
ok "a reload with a broken file logs an error and keeps running"

for v in va vb; do node_stop $v; done
node_stop st
poll 5 grep -q '^STOPPING=1$' "$T/notify.txt" || fail "no STOPPING=1"
ok "STOPPING=1 and a clean stop on SIGTERM"
kill "$PY" 2>/dev/null || :
echo "$NAME: $PASS passed, $FAIL failed"
