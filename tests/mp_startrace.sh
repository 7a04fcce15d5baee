#!/bin/sh
# mp_startrace.sh - no command started beside linli-node can stop it from
# starting, and two `linli` writers wait for each other.
#
#   sh tests/mp_startrace.sh BUILD_DIR
#
#   1. 20 times: linli-node starts while `linli status` and `linli put` run
#      in a loop on the same data directory.  Every start must succeed
#      (the node waits for the store lock), every command must succeed
#      (a writer that finds the lock held waits for it, or for the node's
#      control socket, and then sends its command there), and every put
#      acknowledged must be in the store.
#   2. Two `linli put` loops on one directory, no daemon: all succeed.
set -eu
NAME=mp_startrace
. "$(dirname "$0")/mp_lib.sh"

mkstation st
cat >"$T/st.conf" <<EOF2
name = st
role = street
data = $T/st
EOF2

# loop WHAT N: runs `linli status` or `linli put` until $T/stop exists;
# counts successes in $T/WHAT.N.ok, failures (with the error) in .fail.
loop() {
  _k=0
  while [ ! -f "$T/stop" ]; do
    _k=$((_k + 1))
    if [ "$1" = status ]; then
      "$LINLI" -d "$T/st" status >/dev/null 2>>"$T/$1.$2.err" && echo >>"$T/$1.$2.ok" ||
        echo "$?" >>"$T/$1.$2.fail"
    else
      "$LINLI" -d "$T/st" put "hh/$2/$_k" f=$_k >/dev/null 2>>"$T/$1.$2.err" && echo >>"$T/$1.$2.ok" ||
        echo "$?" >>"$T/$1.$2.fail"
    fi
  done
}
count() { [ -f "$1" ] && wc -l <"$1" | tr -d ' ' || echo 0; }

echo "# 1. 20 starts of linli-node beside status and put loops"
s=1
while [ $s -le 20 ]; do
  rm -f "$T/stop"
  loop status a &
  P1=$!
  loop put b &
  P2=$!
  # let the loops get going at different moments of each start
  sleep "0.0$((s % 10))"
  node_start st || fail "start $s: linli-node exited with $(cat "$T/st.rc"): $(tail -n 1 "$T/st.log")"
  touch "$T/stop"
  wait $P1 $P2
  node_stop st
  s=$((s + 1))
done
[ "$(count "$T/status.a.fail")" -eq 0 ] || fail "status failed $(count "$T/status.a.fail") times: $(head -n 1 "$T/status.a.err")"
[ "$(count "$T/put.b.fail")" -eq 0 ] || fail "put failed $(count "$T/put.b.fail") times: $(head -n 1 "$T/put.b.err")"
PUTS=$(count "$T/put.b.ok")
J=$(q "$T/st" --json status) || fail "status: $(cat "$T/q.err")"
[ "$(jnum ops)" -eq "$PUTS" ] || fail "the store holds $(jnum ops) ops, $PUTS puts were acknowledged"
ok "20 of 20 starts succeeded beside $(count "$T/status.a.ok") status and $PUTS put commands, none failed"

echo "# 2. two writers at once"
rm -f "$T/stop"
loop put c &
P1=$!
loop put d &
P2=$!
sleep 3
touch "$T/stop"
wait $P1 $P2
[ "$(count "$T/put.c.fail")" -eq 0 ] && [ "$(count "$T/put.d.fail")" -eq 0 ] ||
  fail "concurrent writers failed: $(cat "$T/put.c.err" "$T/put.d.err" | head -n 1)"
C=$(count "$T/put.c.ok")
D=$(count "$T/put.d.ok")
[ "$C" -gt 0 ] && [ "$D" -gt 0 ] || fail "a writer wrote nothing ($C and $D puts)"
J=$(q "$T/st" --json status) || fail "status: $(cat "$T/q.err")"
[ "$(jnum ops)" -eq $((PUTS + C + D)) ] || fail "the store holds $(jnum ops) ops, expected $((PUTS + C + D))"
ok "two writers at once: $C and $D puts, all acknowledged and kept"
echo "$NAME: $PASS passed, $FAIL failed"
