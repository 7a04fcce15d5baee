#!/bin/sh
# cli_records.sh - writes a clerk cannot get silently wrong: a field of one
# kind never gets a twin of another kind from this station, field names are
# trimmed, the IME's full-width '＝' and digits are understood, one field
# can be removed, unquoted text with spaces gets a "quote it" hint, and
# times are shown in the station's zone with the offset.
#
#   sh tests/cli_records.sh BUILD_DIR      (the binary is BUILD_DIR/linli)
set -eu
LC_ALL=C
export LC_ALL

NAME=cli_records
unset LINLI_DATA
. "$(dirname "$0")/clilib.sh"
ops() {
  must -d A --json status
  jnum own_seq
}

must -d A init --no-trust --name 石路

echo "# a field keeps its kind"
must -d A incr hh/0003 诚信积分 1
refused_with 1 "诚信积分 is a counter; change it with linli incr" -d A put hh/0003 诚信积分=10
refused_with 1 "is a counter" -d A add hh/0003 诚信积分 10
refused_with 1 "is a counter" -d A append hh/0003 诚信积分 10
must -d A put hh/0003 户主=王五
refused_with 1 "户主 is a register; change it with linli put" -d A incr hh/0003 户主 1
# nothing of a refused put is written, not even its valid pairs
refused_with 1 "is a counter" -d A put hh/0003 电话=1 诚信积分=10
[ "$(ops)" -eq 2 ] || fail "a refused write wrote ops: own_seq $(ops)"
must -d A --json get hh/0003
grep -q '"诚信积分":1' "$T/out" || fail "counter changed: $(out)"
grep -q '#' "$T/out" && fail "a second field of another kind: $(out)"
ok "put/add/append on a counter and incr on a register are refused, nothing written"

echo "# field names trimmed, full-width syntax and digits"
must -d A put hh/0002 "户主 =王五" " 电话　＝13800000000"
must -d A incr hh/0002 " 诚信积分" ５
must -d A incr hh/0002 诚信积分 －２
must -d A --json get hh/0002
grep -q '"户主":"王五"' "$T/out" || fail "field name not trimmed: $(out)"
grep -q '"电话":"13800000000"' "$T/out" || fail "full-width = not taken: $(out)"
grep -q '"诚信积分":3' "$T/out" || fail "full-width digits not taken: $(out)"
# a value keeps what was typed, full-width and all
must -d A put hh/0002 备注＝Ａ区，３号
must -d A --json get hh/0002
grep -q '"备注":"Ａ区，３号"' "$T/out" || fail "value altered: $(out)"
refused_with 2 "empty field name" -d A put hh/0002 "　＝x"
refused_with 2 "is not an integer" -d A incr hh/0002 诚信积分 五
ok "\"户主 =王五\", ＝ and ５/－２ write the field meant; values stay as typed"

echo "# quote it"
refused_with 2 "must be quoted" -d A put hh/0002 地址=雅鹿村 三组
refused_with 2 "must be quoted" -d A append hh/0002 日记 走访 0012户
ok "unquoted text with spaces is answered with a hint to quote it"

echo "# del KEY FIELD"
must -d A add hh/0002 成员 张小明
must -d A add hh/0002 成员 张小红
must -d A append hh/0009 日记 走访
must -d A put hh/0009 状态=x
must -d A del hh/0002 成员
must -d A --json get hh/0002
grep -q '成员' "$T/out" && fail "set field still there: $(out)"
grep -q '"户主":"王五"' "$T/out" || fail "other field lost: $(out)"
must -d A del hh/0002 " 诚信积分"
must -d A --json get hh/0002
grep -q '诚信积分' "$T/out" && fail "counter still there: $(out)"
grep -q '"户主":"王五","备注":"Ａ区，３号","电话":"13800000000"' "$T/out" ||
  grep -q '"户主":"王五"' "$T/out" || fail "registers lost: $(out)"
grep -q '"电话":"13800000000"' "$T/out" || fail "registers lost: $(out)"
must -d A del hh/0002 户主
must -d A --json get hh/0002
grep -q '户主' "$T/out" && fail "register still there: $(out)"
grep -q '"电话":"13800000000"' "$T/out" || fail "register lost: $(out)"
# a counter beside the removed field keeps its sum
must -d A del hh/0003 户主
must -d A --json get hh/0003
grep -q '"诚信积分":1' "$T/out" || fail "counter changed by removing 户主: $(out)"
refused_with 1 "has no field 户主" -d A del hh/0003 户主
refused_with 1 "its log field 日记" -d A del hh/0009 状态
refused_with 1 "not found" -d A del hh/0404 户主
refused_with 2 "too many arguments" -d A del hh/0003 a b
must -d A verify
ok "del KEY FIELD removes a set, counter or register field and keeps the rest"

echo "# local time"
# 2026-11-30T18:00:00Z is 02:00 on 1 December in Beijing; a store of its
# own, whose clock has not yet passed that time
LINLI_TEST_NOW_MS=1796061600000 must -d B init --no-trust --name 石路
LINLI_TEST_NOW_MS=1796061600000 must -d B append diary/2026 民情日记 走访
LINLI_TEST_NOW_MS=1796061600000 must -d B append diary/2026 民情日记 再访
TZ=Asia/Shanghai must -d B get diary/2026
grep -q '2026-12-01T02:00:00.000+08:00' "$T/out" || fail "not Beijing time: $(out)"
TZ=UTC must -d B get diary/2026
grep -q '2026-11-30T18:00:00.000Z' "$T/out" || fail "not UTC: $(out)"
# the second entry has logical counter 1: its own member, never in the time
TZ=Asia/Shanghai must -d B --json log diary/2026
grep -q '"time":"2026-12-01T02:00:00.000+08:00","logical":1,' "$T/out" || fail "log --json: $(out)"
grep -q 'Z+\|00+[0-9]*"' "$T/out" && fail "logical glued to a time: $(out)"
TZ=Asia/Shanghai must -d B --json status
grep -q '"time":"[0-9T:.-]*+08:00","logical":[0-9]' "$T/out" || fail "status --json: $(out)"
ok "times shown in TZ with their offset, the logical counter apart"

echo "$NAME: $PASS passed, $FAIL failed"
