#!/bin/sh
# cli_report.sh - the schema's aggregates at every tier: villages write,
# bundles carry the ops through the street to the district with an outage
# in between, and at each step the report of a namespace is the same at
# every tier that holds its ops, equal to a recomputation from the records
# (after linli rebuild, and counted with linli query).
#
#   sh tests/cli_report.sh BUILD_DIR      (the binary is BUILD_DIR/linli)
set -eu
LC_ALL=C
export LC_ALL
NAME=cli_report
unset LINLI_DATA
. "$(dirname "$0")/clilib.sh"
# rep DIR PREFIX: the report of PREFIX at DIR, as JSON
rep() {
  must -d "$1" --json report "$2"
  cat "$T/out"
}
# same PREFIX DIR...: the report of PREFIX is the same at every DIR
same() {
  p=$1
  shift
  want=$(rep "$1" "$p")
  for d in "$@"; do
    [ "$(rep "$d" "$p")" = "$want" ] || fail "report $p at $d differs from $1: $(rep "$d" "$p") vs $want"
  done
}
# value DIR PREFIX TYPE ITEM [MONTH]
value() {
  must -d "$1" --json report "$2" --type "$3" ${5:+--month "$5"}
  tr '{' '\n' <"$T/out" | grep "\"item\":\"$4\"" | sed -n 's/.*"value":\(-\{0,1\}[0-9]*\).*/\1/p'
}

must -d D init --name 姑苏区 --root self
ROOT=$(id D)
for x in S V1 V2; do must -d $x init --name $x --root "$ROOT"; done
must -d D cert issue --subject "$(id S)" --name 金阊街道 --role street --prefix gusu/jinchang/ -o s.chain
must -d S cert install s.chain
must -d S cert issue --subject "$(id V1)" --name 石路 --role village --prefix gusu/jinchang/shilu/ -o v1.chain
must -d V1 cert install v1.chain
must -d S cert issue --subject "$(id V2)" --name 彩香 --role village --prefix gusu/jinchang/caixiang/ -o v2.chain
must -d V2 cert install v2.chain
must -d D schema publish "$SCHEMA"
up D S
up S V1
up S V2

echo "# villages write, the street and the district receive"
must -d V1 put hh/0001 户主=王五 地址=石路1号
must -d V1 add hh/0001 特殊群体 独居老人
must -d V1 incr hh/0001 诚信积分 8
must -d V1 put hh/0002 户主=李四 地址=石路2号 人口=3
must -d V1 incr hh/0002 诚信积分 5
must -d V1 put req/0001 事项=晾衣架 日期=2026-11-03 状态=受理
must -d V1 put req/0002 事项=路灯 日期=2026-10-20 状态=已办结
must -d V2 put hh/0101 户主=陈明 地址=彩香1号
must -d V2 add hh/0101 特殊群体 独居老人
must -d V2 put req/0004 事项=楼道灯 日期=2026-11-05 状态=受理
up V1 S
up V2 S
up S D
same gusu/jinchang/shilu/ V1 S D
same gusu/jinchang/caixiang/ V2 S D
same gusu/jinchang/ S D
[ "$(value D gusu/jinchang/ 户 count)" = 3 ] || fail "households of the street: $(value D gusu/jinchang/ 户 count)"
[ "$(value D gusu/jinchang/ 户 'by:特殊群体=独居老人')" = 2 ] || fail "elderly"
[ "$(value D gusu/jinchang/ 户 'sum:诚信积分')" = 13 ] || fail "points"
[ "$(value D gusu/jinchang/ 户 'sum:人口')" = 3 ] || fail "members"
[ "$(value D '' 诉求 'by:状态=受理' 2026-11)" = 2 ] || fail "requests received in November"
[ "$(value D '' 诉求 count 2026-10)" = 1 ] || fail "requests of October"
ok "the report of each namespace is the same at the village, the street and the district"

echo "# changes, and an outage of the street's link to the district"
must -d V1 put req/0001 状态=办理中
must -d V1 incr hh/0001 诚信积分 -3
must -d V1 del hh/0002
must -d V2 put hh/0102 户主=赵六 地址=彩香2号
up V1 S
up S D
# 彩香 is cut off: its new household reaches the street only later
same gusu/jinchang/shilu/ V1 S D
[ "$(value D gusu/jinchang/ 户 count)" = 2 ] || fail "after a delete: $(value D gusu/jinchang/ 户 count)"
[ "$(value D gusu/jinchang/ 户 'sum:诚信积分')" = 5 ] || fail "points after -3 and a delete"
[ "$(value D gusu/jinchang/ 诉求 'by:状态=办理中')" = 1 ] || fail "a status moved"
[ -z "$(value D gusu/jinchang/ 诉求 'by:状态=受理' 2026-11 | grep -v '^1$')" ] || fail "受理 not moved"
up V2 S
up S D
same gusu/jinchang/caixiang/ V2 S D
same gusu/jinchang/ S D
[ "$(value D gusu/jinchang/ 户 count)" = 3 ] || fail "after the outage"
ok "updates, deletes and an outage keep every tier's report equal"

echo "# equal to a recomputation from the records"
BEFORE=$(rep D /)
must -d D rebuild
[ "$(rep D /)" = "$BEFORE" ] || fail "recomputed after rebuild: $(rep D /) vs $BEFORE"
must -d D query 户 /gusu/jinchang/
[ "$(wc -l <"$T/out")" -eq "$(value D gusu/jinchang/ 户 count)" ] || fail "query counts $(wc -l <"$T/out")"
must -d D query 户 /gusu/jinchang/ --where 特殊群体=独居老人
[ "$(wc -l <"$T/out")" -eq "$(value D gusu/jinchang/ 户 'by:特殊群体=独居老人')" ] || fail "query elderly"
# a new schema version: the aggregates are recomputed under it
sed 's/"version": 1/"version": 2/' "$SCHEMA" >v2.json
must -d D schema publish v2.json
[ "$(rep D /)" = "$BEFORE" ] || fail "under version 2: $(rep D /)"
must -d D report / --csv --month 2026-11
printf '\357\273\277类型,月份,项目,数值\r\n' >want.head
head -c "$(wc -c <want.head)" "$T/out" | cmp -s - want.head || fail "CSV header: $(out)"
grep -q '^诉求,2026-11,状态=办理中,1' "$T/out" || fail "CSV rows: $(out)"
ok "the aggregates equal a recomputation (rebuild, query, a new schema version)"

echo "# a revocation cuts a village's last ops: the aggregates follow"
# 彩香's seqs: 1 its certificate, 2-3 hh/0101, 4 its special group, 5-7
# req/0004, 8-9 hh/0102
must -d D cert revoke --subject "$(id V2)" --seq 7 --reason 测试
[ "$(value D gusu/jinchang/caixiang/ 户 count)" = 1 ] ||
  fail "after the cut: $(value D gusu/jinchang/caixiang/ 户 count) households of 彩香"
CUT=$(rep D /)
must -d D rebuild
[ "$(rep D /)" = "$CUT" ] || fail "after the cut, not a recomputation: $CUT vs $(rep D /)"
ok "records recomputed after a revocation move the aggregates with them"

echo "$NAME: $PASS passed, $FAIL failed"
