#!/bin/sh
# mp_scope.sh - under a trust root, what a street offers a village follows
# the certificates, not the path a log came by.
#
#   sh tests/mp_scope.sh BUILD_DIR
#
# Street st is the trust root; villages va (gusu/jinchang/va/) and vb
# (gusu/jinchang/vb/) hold certificates from it.  va's bundle is carried to
# vb on a USB stick and imported there before vb holds its certificate (a
# certified vb refuses it), and vb reaches the street first.
# Then: va's later records never reach vb, vb's status shows nothing of
# va's activity (a sibling's key in vb's HELLO gets no head back beyond
# the one vb listed, so the carried log is not sent up again), va
# restored from an empty disk recovers its whole log, and vc, a replacement
# device with a new key certified for va's prefix, receives that history.
# vd's key forks (a copied disk) and the street keeps the evidence: neither
# va nor vb is told of it.
set -eu
NAME=mp_scope
. "$(dirname "$0")/mp_lib.sh"

mkstation_root() {
  "$LINLI" -d "$T/$1" init --name "$1" --root "$2" >"$T/q.out" 2>"$T/q.err" ||
    fail "init of $1 failed: $(cat "$T/q.err")"
  PK=$(cat "$T/$1/node.key.pub")
}
certify() { # STATION PREFIX
  q "$T/st" cert issue --subject "$T/$1/node.key.pub" --name "$1" --role village \
    --prefix "$2" -o "$T/$1.chain" >/dev/null || fail "cert issue for $1: $(cat "$T/q.err")"
  q "$T/$1" cert install "$T/$1.chain" >/dev/null || fail "cert install at $1: $(cat "$T/q.err")"
}

echo "# a street that is the trust root, villages va and vb, replacement vc"
"$LINLI" -d "$T/st" init --name st --root self >"$T/q.out" 2>"$T/q.err" ||
  fail "init of st failed: $(cat "$T/q.err")"
PK_S=$(cat "$T/st/node.key.pub")
mkstation_root va "$PK_S"; PK_A=$PK
mkstation_root vb "$PK_S"; PK_B=$PK
mkstation_root vc "$PK_S"; PK_C=$PK
certify va gusu/jinchang/va/
cp "$T/va/node.key" "$T/va.key"
for i in 1 2 3; do
  q "$T/va" put "/gusu/jinchang/va/hh/$i" 户主=甲$i >/dev/null || fail "put at va: $(cat "$T/q.err")"
done

# A certified station refuses a sibling's log (linli import); vb takes it
# while it holds no certificate yet (as an older linli did), so that the
# street meets va's log coming from vb first.
echo "# va's bundle is carried through vb"
# (a whole export of va: a bundle made for vb's summary holds none of va's
# own log, since vb is va's sibling)
q "$T/va" export -o "$T/va.bundle" >/dev/null || fail "export: $(cat "$T/q.err")"
q "$T/vb" import "$T/va.bundle" >/dev/null || fail "import at vb: $(cat "$T/q.err")"
[ "$(nkeys "$T/vb" /gusu/jinchang/va/)" -eq 3 ] || fail "vb did not import va's 3 records"
certify vb gusu/jinchang/vb/
q "$T/vb" put /gusu/jinchang/vb/hh/1 户主=乙 >/dev/null || fail "put at vb: $(cat "$T/q.err")"
ok "va writes 3 households, vb 1 and holds va's 3"
q "$T/vb" import "$T/va.bundle" >/dev/null && fail "certified vb imported va's bundle"
grep -q "outside this station's namespace" "$T/q.err" || fail "import at vb: $(cat "$T/q.err")"
ok "certified vb refuses va's bundle"

echo "# vd's key signs two histories (its disk copied): the street keeps the evidence"
mkstation_root vd "$PK_S"
certify vd gusu/jinchang/vd/
q "$T/vd" put /gusu/jinchang/vd/hh/1 户主=丁 >/dev/null || fail "put at vd: $(cat "$T/q.err")"
cp -r "$T/vd" "$T/vd2"
q "$T/vd" put /gusu/jinchang/vd/hh/2 户主=丁甲 >/dev/null || fail "put at vd: $(cat "$T/q.err")"
q "$T/vd2" put /gusu/jinchang/vd/hh/2 户主=丁乙 >/dev/null || fail "put at vd2: $(cat "$T/q.err")"
for v in vd vd2; do
  q "$T/$v" export -o "$T/$v.bundle" >/dev/null || fail "export at $v: $(cat "$T/q.err")"
done
q "$T/st" import "$T/vd.bundle" >/dev/null || fail "import of vd at st: $(cat "$T/q.err")"
q "$T/st" import "$T/vd2.bundle" >/dev/null && fail "st took vd's second history"
forks() { J=$(q "$1" --json status) && ! printf '%s\n' "$J" | grep -q '"forks":\[\]'; }
forks "$T/st" || fail "the street holds no fork evidence: $J"
ok "the street holds vd's log and the evidence of vd's fork"

street_conf st "child = $PK_A va" "child = $PK_B vb" "child = $PK_C vc"
node_listen st 0
PORT_S=$PORT
for v in va vb vc; do
  cat >"$T/$v.conf" <<EOF
name = $v
role = village
data = $T/$v
parent = tcp://127.0.0.1:$PORT_S $PK_S st
EOF
done
node_start vb || fail "vb exited at start: $(tail -n 1 "$T/vb.log")"
poll 20 has_n "$T/st" /gusu/jinchang/va/ 3 || fail "va's records did not reach st through vb"
ok "va's records reached the street through vb first"

node_start va || fail "va exited at start: $(tail -n 1 "$T/va.log")"
for i in 4 5 6 7 8; do
  q "$T/va" put "/gusu/jinchang/va/hh/$i" 户主=甲$i 备注=敏感 >/dev/null ||
    fail "put at va: $(cat "$T/q.err")"
done
poll 20 has_n "$T/st" /gusu/jinchang/va/ 8 || fail "va's later records did not reach st"
# Give the street time to pass them on if it wrongly would.
q "$T/vb" put /gusu/jinchang/vb/hh/2 户主=乙2 >/dev/null || fail "put at vb: $(cat "$T/q.err")"
poll 20 has_n "$T/st" /gusu/jinchang/vb/ 2 || fail "vb's write did not reach st"
sleep 2
n=$(nkeys "$T/vb" /gusu/jinchang/va/)
[ "$n" -eq 3 ] || fail "vb holds $n of va's records, expected the 3 carried ones"
ok "va's later records reach the street and not vb"

# The street told each village its fork evidence when their HELLOs came in:
# none of it is about vd, so neither holds any, nor any of vd's records.
for v in va vb; do
  forks "$T/$v" && fail "$v holds fork evidence about its sibling vd: $J"
  [ "$(nkeys "$T/$v" /gusu/jinchang/vd/)" -eq 0 ] || fail "$v holds vd's records"
done
ok "neither va nor vb is told of vd's fork, nor holds vd's records"

J=$(q "$T/vb" --json status) || fail "status at vb: $(cat "$T/q.err")"
bi=$(printf '%s\n' "$J" | sed -n 's/.*"name":"st",[^}]*"ops_behind_in":\([0-9]*\).*/\1/p')
[ "${bi:-x}" = 0 ] || fail "vb sees ops_behind_in=${bi:-?} at st: the street told it of va's log"
ok "vb's HELLO lists va's key and gets no head of va back"

echo "# vb connects again: the log it carried in is not sent up again"
node_stop vb
node_start vb || fail "vb exited at restart: $(tail -n 1 "$T/vb.log")"
# st_field FIELD: the number FIELD of vb's peer st in vb's status.
st_field() {
  J=$(q "$T/vb" --json status) || fail "status at vb: $(cat "$T/q.err")"
  printf '%s\n' "$J" | sed -n "s/.*\"name\":\"st\",[^}]*\"$1\":\([0-9]*\).*/\1/p"
}
vb_synced() { [ "$(st_field last_sync_ms)" -gt 0 ] 2>/dev/null; }
poll 20 vb_synced || fail "vb did not sync with st after its restart"
sent=$(st_field ops_sent)
[ "${sent:-x}" = 0 ] ||
  fail "vb sent ${sent:-?} ops on its second connection: the 3 it carried in of va, again"
ok "on vb's second connection the street answers for the carried log: nothing is sent again"

echo "# va loses its disk and is restored with its key"
node_stop va
rm -rf "$T/va"
"$LINLI" -d "$T/va" init --name va --key "$T/va.key" --root "$PK_S" --restore >"$T/q.out" 2>"$T/q.err" ||
  fail "init --restore of va failed: $(cat "$T/q.err")"
node_start va || fail "restored va exited at start: $(tail -n 1 "$T/va.log")"
poll 30 has_n "$T/va" /gusu/jinchang/va/ 8 ||
  fail "restored va holds $(nkeys "$T/va" /gusu/jinchang/va/) of its 8 records after 30 s"
ok "restored va recovers its own 8 records"

echo "# a replacement device with a new key certified for va's prefix"
certify vc gusu/jinchang/va/
node_start vc || fail "vc exited at start: $(tail -n 1 "$T/vc.log")"
poll 30 has_n "$T/vc" /gusu/jinchang/va/ 8 ||
  fail "vc holds $(nkeys "$T/vc" /gusu/jinchang/va/) of va's 8 records after 30 s"
[ "$(nkeys "$T/vc" /gusu/jinchang/vb/)" -eq 0 ] || fail "vc holds vb's records"
ok "vc receives its prefix's history and nothing of vb"

for n in vc va vb st; do node_stop $n; done
ok "all stopped cleanly"
echo "$NAME: $PASS passed, $FAIL failed"
