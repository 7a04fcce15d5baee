#!/bin/sh
# mp_security.sh - only keys decide who may sync and what it gets.
#
#   sh tests/mp_security.sh BUILD_DIR
#
# A street st lists three children: villages va and vb, and vw.  Around it:
#   * va, a village that syncs normally (the street also writes a policy);
#   * vx, whose key is not a child of st: it must be refused, both logs
#     must say so, and it must never receive anything;
#   * vw, a listed child that was given a wrong public key for st: it must
#     never connect, and nothing moves either way;
#   * vb, a listed child that names itself "va" in its own configuration:
#     it must still get only its own and the street's records, never va's.
set -eu
NAME=mp_security
. "$(dirname "$0")/mp_lib.sh"

ZERO=0000000000000000000000000000000000000000000000000000000000000000

echo "# a street, a village, an unknown node, a misconfigured child, an impostor"
mkstation st; PK_S=$PK
mkstation va; PK_A=$PK
mkstation vb; PK_B=$PK
mkstation vx; PK_X=$PK
mkstation vw; PK_W=$PK
mkstation other; PK_O=$PK   # a key nobody runs: vw's wrong idea of st's key
for v in va vb vx vw; do
  q "$T/$v" put "hh/$v/1" 户主=住户 电话=13800000001 >/dev/null || fail "put at $v: $(cat "$T/q.err")"
  q "$T/$v" put "hh/$v/2" 户主=住户二 >/dev/null || fail "put at $v: $(cat "$T/q.err")"
done
q "$T/st" put policy/st/1 标题=街道通知 >/dev/null || fail "put at st: $(cat "$T/q.err")"

street_conf st "child = $PK_A va" "child = $PK_B vb" "child = $PK_W vw"
node_listen st 0
# village N PARENTKEY [SELFNAME]: a village configuration.
village() {
  cat >"$T/$1.conf" <<EOF
name = ${3:-$1}
role = village
data = $T/$1
parent = tcp://127.0.0.1:$PORT $2 st
EOF
}
village va "$PK_S"
village vx "$PK_S"
village vw "$PK_O"
village vb "$PK_S" va
for v in va vx vw vb; do
  node_start $v || fail "$v exited at start: $(tail -n 1 "$T/$v.log")"
done
ok "st on port $PORT; va, vx, vw and vb started"

poll 20 same_digest hh/va/ "$T/va" "$T/st" || fail "va's records did not reach st within 20 s"
poll 20 same_digest policy/ "$T/st" "$T/va" || fail "st's policy did not reach va within 20 s"
ok "va syncs both ways with st"

echo "# a key that is not a child is refused"
st_refused() { grep -q "refused connection from unknown transport key " "$T/st.log"; }
vx_refused() { grep -q "handshake with .*st.* failed: it refused our key" "$T/vx.log"; }
poll 20 st_refused || fail "st did not log 'refused connection from unknown transport key' within 20 s"
poll 20 vx_refused || fail "vx did not log that st refused its key within 20 s"
ok "st logs a refused unknown key; vx logs that st refused it"

# A refused client never gets a HELLO or an ERROR, only a failed handshake:
# it must not block on it.  vx's daemon keeps serving: a write goes in
# (and its sync is offered to st, never sent) and status answers at once.
q "$T/vx" put hh/vx/3 户主=新住户 >/dev/null || fail "vx stopped serving after st refused it: $(cat "$T/q.err")"
timeout 10 "$LINLI" -d "$T/vx" status >/dev/null 2>&1 || fail "vx's status did not answer within 10 s"
ok "a refused client keeps serving and never blocks on its parent"

echo "# vb, a listed child that calls itself va, gets its own scope only"
poll 20 same_digest hh/vb/ "$T/vb" "$T/st" || fail "vb's records did not reach st within 20 s"
poll 20 same_digest policy/ "$T/st" "$T/vb" || fail "st's policy did not reach vb within 20 s"
grep -q "child vb connected" "$T/st.log" || fail "st does not name the connection by vb's key: $(grep connected "$T/st.log")"
ok "vb syncs as vb (st's log names it by its key's entry), whatever it calls itself"

# A live write at va after vb is connected must not reach vb either.
q "$T/va" put hh/va/3 户主=新住户 >/dev/null || fail "live put at va: $(cat "$T/q.err")"
poll 10 same_digest hh/va/ "$T/va" "$T/st" || fail "va's live write did not reach st within 10 s"

echo "# the misconfigured child never connects"
vw_failed() { grep -q "handshake with .*st.* failed" "$T/vw.log"; }
poll 20 vw_failed || fail "vw logged no failed handshake within 20 s"
ok "vw logs failed handshakes with st"

# Let the refused ones keep retrying a little while the others are in sync,
# then check that nothing moved to or from them.
sleep 3
[ "$(q "$T/va" ls hh/vb/ | wc -l)" -eq 0 ] || fail "va holds vb's records"
[ "$(q "$T/vb" ls hh/va/ | wc -l)" -eq 0 ] || fail "vb (calling itself va) holds va's records: $(q "$T/vb" ls hh/va/ | head -n 3)"
[ "$(q "$T/vb" digest hh/va/)" = $ZERO ] || fail "vb has a non-empty hh/va/ digest"
J=$(q "$T/vb" --json status)
[ "$(jnum authors)" -eq 2 ] || fail "vb holds $(jnum authors) author logs, expected 2 (its own and st's)"
ok "vb never holds va's records, even its live write; va does not hold vb's"

for v in vx vw; do
  J=$(q "$T/$v" --json status) || fail "status at $v: $(cat "$T/q.err")"
  [ "$(jnum authors)" -eq 1 ] && [ "$(jnum ops)" -eq "$(jnum own_seq)" ] ||
    fail "$v received data: $J"
  [ "$(q "$T/$v" digest policy/)" = $ZERO ] || fail "$v holds st's policy"
  [ "$(q "$T/$v" ls hh/va/ | wc -l)" -eq 0 ] || fail "$v holds va's records"
  [ "$(q "$T/st" digest "hh/$v/")" = $ZERO ] || fail "st holds $v's records"
  ! grep -q "connected to parent st" "$T/$v.log" || fail "$v logged a connection to st"
  if printf '%s\n' "$J" | grep -q '"connected":true'; then
    fail "$v's status shows a connected peer: $J"
  fi
done
! grep -q "child vw connected" "$T/st.log" || fail "st logged a connection from vw"
ok "vx and vw hold only their own ops and st holds none of theirs; neither ever connected"

echo "# every node stops cleanly"
for n in va vb vx vw st; do
  node_stop $n
done
ok "all five exited with status 0 on SIGTERM, no sanitizer report"

echo "# the key in st's refusal is the one vx's status shows as its transport key"
# A parent sees only the CURVE key a connection offers, which is derived from
# the node's identity but cannot be turned back into it: the log names that
# transport key, and `linli status` on the refused node shows the same one.
logged=$(sed -n 's/.*refused connection from unknown transport key \([0-9a-f]*\) at .*/\1/p' "$T/st.log" | head -n 1)
"$LINLI" -d "$T/vx" status --json >"$T/vx.status" 2>&1 || fail "status of vx failed: $(cat "$T/vx.status")"
shown=$(sed -n 's/.*"transport_key":"\([0-9a-f]*\)".*/\1/p' "$T/vx.status")
[ -n "$logged" ] || fail "st logged no transport key"
[ "$logged" = "$shown" ] || fail "st logged the refused key as $logged; vx's status shows $shown"
ok "st logged the transport key that vx's status shows"

echo "$NAME: $PASS passed, $FAIL failed"
