#!/bin/sh
# cli_schema.sh - the record-type schema through the CLI: the root
# publishes it, a village receives it by bundle and checks every local
# write against it (wrong kind, every wrong value type, unknown field with
# "did you mean", required fields, points below zero), values are stored in
# canonical form, free-form keys stay free, and a schema change that would
# make stored data invalid is refused at publish time with the reason;
# query with filters, as text, JSON and CSV.
#
#   sh tests/cli_schema.sh BUILD_DIR      (the binary is BUILD_DIR/linli)
set -eu
LC_ALL=C
export LC_ALL
NAME=cli_schema
unset LINLI_DATA
. "$(dirname "$0")/clilib.sh"

must -d D init --name 姑苏区 --root self
ROOT=$(id D)
must -d V init --name 石路 --root "$ROOT"
must -d D cert issue --subject "$(id V)" --name 石路 --role village --prefix gusu/shilu/ -o v.chain
must -d V cert install v.chain

echo "# publish"
refused_with 1 "holds no schema" -d V schema show
printf '{\n  "schema": "community",\n  "version": 1,\n  "types": {\n    "户": {"collection": "hh" "fields": {}}\n  }\n}\n' >bad.json
refused_with 1 "bad.json: schema line 5" -d D schema publish bad.json
sed 's/"type": "phone"/"type": "phon"/' "$SCHEMA" >typo.json
refused_with 1 "types.户.fields.电话: unknown type 'phon'" -d D schema publish typo.json
refused_with 1 "only the trust root publishes" -d V schema publish "$SCHEMA"
must -d D schema publish "$SCHEMA"
grep -q "published schema community version 1" "$T/out" || fail "publish said: $(out)"
refused_with 1 "version 1 is not above the version held, 1" -d D schema publish "$SCHEMA"
refused_with 1 "reserved" -d D put schema/community json=x
ok "the root publishes a schema that parses; others, a bad file and a stale version are refused"

echo "# the village receives it by sync"
up D V
must -d V schema show
grep -q "^户 (household): keys hh/ID" "$T/out" || fail "schema show: $(out)"
must -d V --json schema show
grep -q '"name":"状态","en":"status","kind":"register","type":"enum","required":true' "$T/out" ||
  fail "schema show --json: $(out)"
ok "the schema arrives with the district's ops"

echo "# writes checked against it"
refused_with 1 "a new 户 needs 地址 (text, e.g." -d V put hh/0001 户主=王五
refused_with 1 "特殊群体 is a enum set field: write it with linli add" -d V put hh/0001 户主=王五 地址=石路1号 特殊群体=残疾
must -d V put hh/0001 户主=王五 地址=石路1号 电话=１３８１２３４５６７８ 人口=３
must -d V add hh/0001 特殊群体 elderly
must -d V --json get hh/0001
grep -q '"电话":"13812345678"' "$T/out" || fail "phone not canonical: $(out)"
grep -q '"人口":"3"' "$T/out" || fail "integer not canonical: $(out)"
grep -q '"特殊群体":\["独居老人"\]' "$T/out" || fail "enum code not made its label: $(out)"
refused_with 1 "户 has no field 户注; did you mean 户主?" -d V put hh/0001 户注=x
refused_with 1 "户 has no field 颜色 (its fields: 户主 地址" -d V put hh/0001 颜色=红
refused_with 1 "户.诚信积分 is a integer counter field: write it with linli incr, e.g. 5 or -2" -d V put hh/0001 诚信积分=10
refused_with 1 "户.户主 is a text register field: write it with linli put" -d V incr hh/0001 户主 1
refused_with 1 "人口: '三' is not an integer; expected integer, e.g. 3" -d V put hh/0001 人口=三
refused_with 1 "人口: '0' is below the smallest allowed, 1" -d V put hh/0001 人口=0
refused_with 1 "电话: '138' is not a phone number; expected phone" -d V put hh/0001 电话=138
refused_with 1 "特殊群体: '富裕' is not one of: 独居老人 (elderly)" -d V add hh/0001 特殊群体 富裕
must -d V incr hh/0001 诚信积分 8
refused_with 1 "户.诚信积分 would be -92, below its smallest allowed value 0 (now 8)" -d V incr hh/0001 诚信积分 -100
must -d V incr hh/0001 诚信积分 -8
refused_with 1 "日期: '2026-02-30' is not a date YYYY-MM-DD; expected date, e.g. 2026-11-30" -d V put req/0001 事项=晾衣架 日期=2026-02-30 状态=受理
refused_with 1 "状态: '完成' is not one of: 受理 (received), 办理中 (in_progress), 已办结 (done)" -d V put req/0001 事项=晾衣架 日期=2026-11-30 状态=完成
must -d V put req/0001 事项=晾衣架 日期=２０２６－１１－３０ 状态=受理
must -d V put req/0001 状态=in_progress
must -d V append req/0001 进展 "议事会讨论通过"
refused_with 1 "身份证号: '110105194912310021' has a wrong check character" -d V put res/0001 姓名=王五 身份证号=110105194912310021
must -d V put res/0001 姓名=王五 身份证号=11010519491231002x 性别=m
refused_with 1 "金额分: '120.50' is not a whole number of fen; expected money, e.g. 12050" -d V put charity/0001 日期=2026-11-30 类别=收入 金额分=120.50 摘要=捐款
must -d V put charity/0001 日期=2026-11-30 类别=收入 金额分=12050 摘要=捐款
# keys of no type stay free-form
must -d V put misc/0001 anything=goes
ok "every wrong kind and value type refused with field, type and example; values canonical"

echo "# query"
must -d V put hh/0002 户主=李四 "地址=石路2号, 东" 电话=0512-65231234 人口=2
must -d V add hh/0002 特殊群体 独居老人
must -d V append hh/0002 走访 '老人身体好转 "好"'
must -d V query 户 --where 特殊群体=elderly --fields 户主,电话
[ "$(out)" = "$(printf 'gusu/shilu/hh/0001  户主=王五  电话=13812345678\ngusu/shilu/hh/0002  户主=李四  电话=0512-65231234')" ] ||
  fail "query: $(out)"
must -d V query hh --where '人口>=3'
[ "$(out)" = "gusu/shilu/hh/0001  户主=王五  地址=石路1号  电话=13812345678  人口=3  特殊群体=独居老人  诚信积分=0" ] ||
  fail "query 人口>=3: $(out)"
must -d V query 户 --where '人口<3' --where '户主!=王五' --fields 户主
[ "$(out)" = "gusu/shilu/hh/0002  户主=李四" ] || fail "two filters: $(out)"
must -d V query 诉求 / --where 状态=办理中 --where 日期\>=2026-11-01 --fields 事项
[ "$(out)" = "gusu/shilu/req/0001  事项=晾衣架" ] || fail "query from /: $(out)"
must -d V query 户 --where 走访=身体 --fields 户主
[ "$(out)" = "gusu/shilu/hh/0002  户主=李四" ] || fail "log contains: $(out)"
TZ=Asia/Shanghai must -d V query 户 --csv --fields 户主,地址,走访
printf '\357\273\277所属,编号,户主,地址,走访\r\n' >want.head
head -c "$(wc -c <want.head)" "$T/out" | cmp -s - want.head || fail "CSV header/BOM: $(od -c "$T/out" | head -3)"
grep -q '^gusu/shilu/,0002,李四,"石路2号, 东","2026-[0-9-]*T[0-9:.]*+08:00 老人身体好转 ""好"""' "$T/out" ||
  fail "CSV quoting or local time: $(out)"
[ "$(grep -c "$(printf '\r')\$" "$T/out")" -eq 3 ] || fail "CSV lines do not end in CRLF"
must -d V --json query 户 --where 户主=王五
grep -q '^\[{"key":"gusu/shilu/hh/0001","namespace":"gusu/shilu/","id":"0001","fields":{"户主":"王五"' "$T/out" ||
  fail "query --json: $(out)"
refused_with 2 "户 has no field 户注; did you mean 户主?" -d V query 户 --where 户注=x
refused_with 2 "--fields: 户 has no field 电活; did you mean 电话?" -d V query 户 --fields 电活
refused_with 2 "状态: '完成' is not one of" -d V query 诉求 --where 状态=完成
refused_with 2 "no record type 'xx' (types: 户 居民" -d V query xx
refused_with 2 "is not FIELD=VALUE" -d V query 户 --where 户主
ok "query filters by =, !=, <, >=, enum code, set element and log text; CSV with BOM, RFC 4180, local times"

echo "# a schema change that would make stored data invalid"
up V D
sed -e 's/"version": 1/"version": 2/' -e '/"电话": {"kind": "register", "type": "phone", "en": "phone"},/d' "$SCHEMA" >v2.json
grep -q '"电话"' v2.json
refused_with 1 "the schema would make stored data invalid: gusu/shilu/hh/0001: 户 has no field 电话" -d D schema publish v2.json
sed -e 's/"version": 1/"version": 2/' "$SCHEMA" >v2.json
must -d D schema publish v2.json
up D V
must -d V --json schema show
grep -q '"version":2' "$T/out" || fail "v2 not held: $(out)"
ok "a change that stored data breaks is refused with the record and the reason; v2 replaces v1"

echo "$NAME: $PASS passed, $FAIL failed"
