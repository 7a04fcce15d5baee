#!/bin/sh
# mp_mixed.sh - a street and a village of different protocol versions keep
# syncing; one with no version in common is refused, and syncs once the
# other side is upgraded.
#
#   sh tests/mp_mixed.sh BUILD_DIR
#
# Every release so far speaks protocol version 1 (docs/PROTOCOL.md,
# "Versions"), so no older binary speaks an older version.  Instead the
# test-only setting LINLI_TEST_PROTOCOL=MIN-MAX makes a node name other
# versions in its HELLO: "1-2" stands for a newer node that still speaks 1,
# "2-2" for one that speaks only 2, unset for this release (1 only).
set -eu
NAME=mp_mixed
. "$(dirname "$0")/mp_lib.sh"

mkstation st; PK_S=$PK
mkstation va; PK_A=$PK

street_conf st "child = $PK_A va"

# start_pair ST_VERSIONS VA_VERSIONS: st and va, each with LINLI_TEST_PROTOCOL
# set to its argument (empty: unset, this release's versions).
start_pair() {
  if [ -n "$1" ]; then export LINLI_TEST_PROTOCOL="$1"; else unset LINLI_TEST_PROTOCOL; fi
  if [ -f "$T/st.conf" ]; then
    node_start st || fail "st exited at start: $(tail -n 1 "$T/st.log")"
  else
    node_listen st 0
    village_conf va "$PORT" "$PK_S" st
  fi
  if [ -n "$2" ]; then export LINLI_TEST_PROTOCOL="$2"; else unset LINLI_TEST_PROTOCOL; fi
  node_start va || fail "va exited at start: $(tail -n 1 "$T/va.log")"
  unset LINLI_TEST_PROTOCOL
}

# protocol DIR: the protocol version DIR's daemon speaks with its one peer.
protocol() {
  J=$(q "$1" --json status) || fail "status at $1: $(cat "$T/q.err")"
  jnum protocol
}

# exchange TAG N_ST N_VA VERSION: a record written at each side arrives at
# the other (which then holds N_ST of st's and N_VA of va's), and both sides
# say they speak VERSION.
exchange() {
  q "$T/st" put "hh/st/$1" f=st >/dev/null || fail "put at st: $(cat "$T/q.err")"
  q "$T/va" put "hh/va/$1" f=va >/dev/null || fail "put at va: $(cat "$T/q.err")"
  poll 30 has_n "$T/va" hh/st/ "$2" || fail "st's records did not reach va ($1)"
  poll 30 has_n "$T/st" hh/va/ "$3" || fail "va's records did not reach st ($1)"
  [ "$(protocol "$T/st")" = "$4" ] || fail "st speaks version $(protocol "$T/st"), not $4 ($1)"
  [ "$(protocol "$T/va")" = "$4" ] || fail "va speaks version $(protocol "$T/va"), not $4 ($1)"
}

start_pair 1-2 ""
exchange newstreet 1 1 1
ok "a street that speaks versions 1 and 2 and a village of version 1 sync both ways at version 1"
node_stop va
node_stop st

start_pair "" 1-2
exchange newvillage 2 2 1
ok "a street of version 1 and a village that speaks versions 1 and 2 sync both ways at version 1"
node_stop va
node_stop st

# A village that speaks only version 2 and a street of version 1.
start_pair "" 2-2
poll 20 grep -q "WARN  \\[st\\] child va and this node share no protocol version (no common protocol version: the peer speaks 2 to 2, this node 1 to 1): upgrade the older one" \
  "$T/st.log" || fail "st did not log the version refusal"
poll 20 grep -q "WARN  \\[va\\] parent st and this node share no protocol version" "$T/va.log" ||
  fail "va did not log the version refusal"
q "$T/va" put hh/va/onlytwo f=va >/dev/null || fail "put at va: $(cat "$T/q.err")"
sleep 2
has_n "$T/st" hh/va/ 2 || fail "a record crossed without a common protocol version"
ok "a village that speaks only version 2 is refused by a street of version 1, both say why"
node_stop va
node_stop st

# The street upgraded: both speak version 2, and what waited crosses.
start_pair 1-2 2-2
poll 30 has_n "$T/st" hh/va/ 3 || fail "va's record did not reach st after the upgrade"
[ "$(protocol "$T/st")" = 2 ] || fail "st speaks version $(protocol "$T/st"), not 2"
exchange upgraded 3 4 2
ok "once the street speaks version 2 too, they sync at version 2"
node_stop va
node_stop st
echo "$NAME: $PASS passed, $FAIL failed"
