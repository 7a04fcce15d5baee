#!/bin/sh
# mp_clocks.sh - a street's daemon holds back what a village with a clock
# two hours ahead wrote: neither applied nor passed on to the district,
# listed by `linli status` (docs/FORMAT.md, "Clocks").
#
#   sh tests/mp_clocks.sh BUILD_DIR
#
# The village writes with its clock faked two hours ahead (the CLI's
# LINLI_TEST_NOW_MS) before the daemons start; the daemons run on the real
# clock.  Another village with a right clock syncs in the same time: its
# records go through.
set -eu
NAME=mp_clocks
. "$(dirname "$0")/mp_lib.sh"

mkstation dist; PK_D=$PK
mkstation st; PK_S=$PK
mkstation va; PK_A=$PK
mkstation vb; PK_B=$PK
AHEAD=$(($(date +%s) * 1000 + 2 * 3600 * 1000))
LINLI_TEST_NOW_MS=$AHEAD q "$T/va" put hh/va/1 户主=未来 >/dev/null || fail "put at va: $(cat "$T/q.err")"
LINLI_TEST_NOW_MS=$AHEAD q "$T/va" put hh/va/2 户主=也是未来 >/dev/null || fail "put at va: $(cat "$T/q.err")"
q "$T/vb" put hh/vb/1 户主=现在 >/dev/null || fail "put at vb: $(cat "$T/q.err")"
ok "va wrote 2 records with its clock 2 h ahead, vb one with the right clock"

cat >"$T/dist.conf.in" <<EOF2
name = dist
role = district
data = $T/dist
listen = tcp://127.0.0.1:@PORT@
child = $PK_S st
EOF2
node_listen dist 0
DPORT=$PORT
cat >"$T/st.conf.in" <<EOF2
name = st
role = street
data = $T/st
listen = tcp://127.0.0.1:@PORT@
parent = tcp://127.0.0.1:$DPORT $PK_D dist
child = $PK_A va
child = $PK_B vb
EOF2
node_listen st 1
for v in va vb; do
  cat >"$T/$v.conf" <<EOF2
name = $v
role = village
data = $T/$v
parent = tcp://127.0.0.1:$PORT $PK_S st
EOF2
  node_start $v || fail "$v exited at start: $(tail -n 1 "$T/$v.log")"
done

at_dist() { q "$T/dist" get hh/vb/1 >/dev/null; }
poll 20 at_dist || fail "vb's record did not reach the district"
held() { grep -q "from $(cut -c1-12 "$T/va/node.key.pub"): author $(cut -c1-12 "$T/va/node.key.pub") seqs 1-2: dated up to 1[12][0-9] min ahead of this clock; held back" "$T/st.log"; }
poll 20 held || fail "the street did not log va's delta as held back"
ok "vb's record reached the district; the street logged va's as held back"
J=$(q "$T/st" --json status) || fail "status at st: $(cat "$T/q.err")"
printf '%s' "$J" | grep -q '"held":\[{"author":"'"$(cat "$T/va/node.key.pub")"'","first_seq":1,"last_seq":2' ||
  fail "status at st does not list va's held delta: $J"
q "$T/st" status | grep -q "^HELD: author $(cut -c1-12 "$T/va/node.key.pub") seqs 1-2 dated up to 1 h" ||
  fail "status at st does not show the held delta: $(q "$T/st" status)"
ok "the street's status lists it: $(q "$T/st" status | grep "^HELD")"
for n in st dist; do
  if q "$T/$n" get hh/va/1 >/dev/null; then
    fail "$n applied an op dated 2 h ahead"
  fi
done
ok "neither the street nor the district applied va's records"
for n in va vb st dist; do node_stop $n; done
ok "every node stops cleanly"
echo "$NAME: $PASS passed, $FAIL failed"
