#!/bin/sh
# mp_timezone.sh - a linli-node's `timezone` setting is the zone of the
# times the commands it runs show, whatever the zone of the `linli` that
# sent them; ops keep UTC.
#
#   sh tests/mp_timezone.sh BUILD_DIR
set -eu
NAME=mp_timezone
. "$(dirname "$0")/mp_lib.sh"

mkstation va
# 2026-11-30T18:00:00Z, 02:00 on 1 December in Beijing
LINLI_TEST_NOW_MS=1796061600000 q "$T/va" append diary/0001 记录 走访 >/dev/null ||
  fail "append: $(cat "$T/q.err")"
cat >"$T/va.conf" <<EOF
name = va
role = district
data = $T/va
timezone = Asia/Shanghai
EOF
node_start va || fail "va exited at start: $(tail -n 1 "$T/va.log")"
out=$(TZ=UTC q "$T/va" get diary/0001) || fail "get through the node: $(cat "$T/q.err")"
printf '%s\n' "$out" | grep -q '2026-12-01T02:00:00.000+08:00' || fail "not in the node's zone: $out"
J=$(TZ=UTC q "$T/va" --json log diary/0001) || fail "log: $(cat "$T/q.err")"
printf '%s\n' "$J" | grep -q '"time":"2026-12-01T02:00:00.000+08:00","logical":0,"hlc":' ||
  fail "log --json: $J"
node_stop va
# without the daemon, linli's own zone again
out=$(TZ=UTC q "$T/va" get diary/0001)
printf '%s\n' "$out" | grep -q '2026-11-30T18:00:00.000Z' || fail "embedded, TZ=UTC: $out"
ok "commands run by linli-node show times in its timezone setting"
echo "$NAME: $PASS passed, $FAIL failed"
