#!/bin/sh
# mp_tiers.sh - a district, a street and two villages, each a linli-node
# process on localhost, sync records up the hierarchy and notices down it.
#
#   sh tests/mp_tiers.sh BUILD_DIR
#
# Each village writes household records before the nodes start; the
# district writes a notice and the street a policy.  Once running, each
# village's prefix must have the same digest at the village, the street and
# the district; notices and policies reach everyone; a village never holds
# its sibling's records; a write at a running village reaches the district
# within 5 s; and every node stops cleanly on SIGTERM.
set -eu
NAME=mp_tiers
. "$(dirname "$0")/mp_lib.sh"

echo "# four stations: district dist, street st, villages va and vb"
mkstation dist; PK_D=$PK
mkstation st; PK_S=$PK
mkstation va; PK_A=$PK
mkstation vb; PK_B=$PK

# Records written offline, before any daemon runs.
i=1
while [ $i -le 20 ]; do
  q "$T/va" put "hh/va/$i" 户主=甲$i 电话=1380000$i 地址=一组$i号 >/dev/null ||
    fail "put at va: $(cat "$T/q.err")"
  q "$T/vb" put "hh/vb/$i" 户主=乙$i 电话=1390000$i >/dev/null ||
    fail "put at vb: $(cat "$T/q.err")"
  i=$((i + 1))
done
q "$T/dist" put notice/dist/1 标题=防汛通知 正文=各社区做好防汛准备 >/dev/null ||
  fail "put at dist: $(cat "$T/q.err")"
q "$T/st" put policy/st/1 标题=垃圾分类 正文=每周三检查 >/dev/null ||
  fail "put at st: $(cat "$T/q.err")"
ok "20 households at each village, a notice at the district, a policy at the street"

listen_conf dist district "child = $PK_S st"
node_listen dist 0
PORT_D=$PORT
street_conf st "parent = tcp://127.0.0.1:$PORT_D $PK_D dist" "child = $PK_A va" "child = $PK_B vb"
node_listen st 1
PORT_S=$PORT
for v in va vb; do
  cat >"$T/$v.conf" <<EOF
name = $v
role = village
data = $T/$v
parent = tcp://127.0.0.1:$PORT_S $PK_S st
EOF
  node_start $v || fail "$v exited at start: $(tail -n 1 "$T/$v.log")"
done
ok "district on port $PORT_D, street on port $PORT_S, both villages started"

# connected DIR PEER: PEER shows as connected in DIR's status.
connected() {
  J=$(q "$1" --json status) || return 1
  printf '%s\n' "$J" | grep -q "\"name\":\"$2\",[^}]*\"connected\":true"
}
poll 20 connected "$T/st" dist || fail "street not connected to the district within 20 s"
poll 20 connected "$T/st" va || fail "va not connected to the street within 20 s"
poll 20 connected "$T/st" vb || fail "vb not connected to the street within 20 s"
ok "street connected to the district and to both villages"

echo "# every village's records are the same at the village, street and district"
for v in va vb; do
  poll 20 same_digest "hh/$v/" "$T/$v" "$T/st" "$T/dist" ||
    fail "hh/$v/ digests differ after 20 s: $v $(q "$T/$v" digest "hh/$v/"), st $(q "$T/st" digest "hh/$v/"), dist $(q "$T/dist" digest "hh/$v/")"
done
ok "hh/va/ and hh/vb/ have equal digests at their village, the street and the district"

poll 20 same_digest notice/ "$T/dist" "$T/st" "$T/va" "$T/vb" ||
  fail "notice/ digests differ after 20 s"
poll 20 same_digest policy/ "$T/st" "$T/dist" "$T/va" "$T/vb" ||
  fail "policy/ digests differ after 20 s"
[ "$(q "$T/va" get notice/dist/1)" = "$(q "$T/dist" get notice/dist/1)" ] ||
  fail "the notice reads differently at va and at the district"
ok "the district's notice and the street's policy are equal at all four stations"

echo "# a notice written while everyone is connected reaches the villages"
# The district's first op after the street connected: the street learns of
# a log it did not hold at HELLO time and must still pass it down.
q "$T/dist" put notice/dist/2 标题=民主决策日 正文=1月10日表决 >/dev/null ||
  fail "put at the district failed: $(cat "$T/q.err")"
has_notice2() { q "$1" get notice/dist/2 >/dev/null; }
poll 20 has_notice2 "$T/va" || fail "a live district notice did not reach va within 20 s"
poll 20 has_notice2 "$T/vb" || fail "a live district notice did not reach vb within 20 s"
ok "a live district notice reaches both villages through the street"

echo "# a village never holds its sibling's records"
[ "$(nkeys "$T/va" hh/vb/)" -eq 0 ] || fail "va holds vb's records: $(head -n 3 "$T/ls.out")"
[ "$(nkeys "$T/vb" hh/va/)" -eq 0 ] || fail "vb holds va's records: $(head -n 3 "$T/ls.out")"
for d in st dist; do
  for v in va vb; do
    n=$(nkeys "$T/$d" "hh/$v/")
    [ "$n" -eq 20 ] || fail "$d lists $n records under hh/$v/, expected 20"
  done
done
J=$(q "$T/va" --json status)
[ "$(jnum authors)" -eq 3 ] || fail "va holds $(jnum authors) author logs, expected 3 (va, st, dist)"
ok "va and vb list nothing of each other; street and district list 20 of each"

echo "# a live write at a village reaches the district"
t0=$(date +%s)
q "$T/va" put hh/va/live 户主=新住户 备注=现场登记 >/dev/null || fail "live put at va: $(cat "$T/q.err")"
has_live() { [ "$(q "$T/dist" get hh/va/live 2>/dev/null)" = "$(q "$T/va" get hh/va/live)" ]; }
poll 5 has_live || fail "the live write at va did not reach the district within 5 s"
t1=$(date +%s)
poll 5 same_digest hh/va/ "$T/va" "$T/st" "$T/dist" || fail "hh/va/ digests differ after the live write"
[ "$(nkeys "$T/vb" hh/va/)" -eq 0 ] || fail "the live write at va reached vb"
ok "the live write reached the district in about $((t1 - t0)) s, and not vb"

echo "# every node stops cleanly"
for n in va vb st dist; do
  node_stop $n
done
ok "all four exited with status 0 on SIGTERM, no sanitizer report"

echo "$NAME: $PASS passed, $FAIL failed"
