#!/bin/sh
# mp_guard.sh - one identity, one node: a second linli-node on the same
# data directory refuses to start, and a parent that sees two live
# connections authenticated by one child's key reports it.
#
#   sh tests/mp_guard.sh BUILD_DIR
#
# va's data directory is copied to vc (same key) before either runs, as a
# careless backup restore would; both connect to the street st.
set -eu
NAME=mp_guard
. "$(dirname "$0")/mp_lib.sh"

mkstation st; PK_S=$PK
mkstation va; PK_A=$PK
cp -a "$T/va" "$T/vc"

street_conf st "child = $PK_A va"
node_listen st 0

# A second node on st's directory.
cp "$T/st.conf" "$T/st2.conf"
if node_start st2; then
  fail "a second linli-node on st's data directory started"
fi
[ "$(cat "$T/st2.rc")" = 1 ] || fail "the second node exited with $(cat "$T/st2.rc")"
grep -q "in use by another process" "$T/st2.log" || fail "no clear reason: $(cat "$T/st2.log")"
[ ! -f "$T/st.rc" ] || fail "the first node stopped"
q "$T/st" status >/dev/null || fail "st no longer answers: $(cat "$T/q.err")"
ok "a second linli-node on the same data directory refuses to start; the first keeps serving"

for v in va vc; do
  cat >"$T/$v.conf" <<EOF
name = $v
role = village
data = $T/$v
parent = tcp://127.0.0.1:$PORT $PK_S st
EOF
done
node_start va || fail "va exited at start: $(tail -n 1 "$T/va.log")"
poll 20 grep -q "child va connected" "$T/st.log" || fail "va did not connect"
! grep -q "two live connections" "$T/st.log" || fail "one connection reported as two"
node_start vc || fail "vc exited at start: $(tail -n 1 "$T/vc.log")"
q "$T/vc" put hh/vc/1 f=v >/dev/null || fail "put at vc: $(cat "$T/q.err")"
poll 20 grep -q "ERROR \\[st\\] two live connections authenticated by child va's key" "$T/st.log" ||
  fail "st did not report two connections on one key"
out=$(q "$T/st" status) || fail "status at st: $(cat "$T/q.err")"
printf '%s\n' "$out" | grep -q "ERROR: two live connections with this key" ||
  fail "status does not show it: $out"
J=$(q "$T/st" --json status) || fail "status --json at st"
[ "$(jnum duplicate_connection_ms)" -gt 0 ] || fail "status --json does not show it: $J"
ok "two live connections on one key are logged at error level and shown in status"
node_stop vc
node_stop va
node_stop st
echo "$NAME: $PASS passed, $FAIL failed"
