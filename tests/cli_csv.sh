#!/bin/sh
# cli_csv.sh - CSV in and out: query --csv reads back through import-csv
# unchanged; a file with a bad row 7 of 500 writes nothing and names row
# 7; every bad row is listed; GB18030 (Chinese Excel's CSV) and UTF-8 with
# and without a byte order mark are read; a wrong header, a repeated ID
# and a broken quote are refused; 100,000 rows import in bounded memory.
#
#   sh tests/cli_csv.sh BUILD_DIR      (the binary is BUILD_DIR/linli)
set -eu
LC_ALL=C
export LC_ALL
NAME=cli_csv
unset LINLI_DATA
. "$(dirname "$0")/clilib.sh"
state() {
  must -d S --json status
  sed -n 's/.*"ops":\([0-9]*\).*"digest":"\([0-9a-f]*\)".*/\1 \2/p' "$T/out"
}

# the station is its own root, which publishes the schema
must -d S init --name 石路 --root self
must -d S schema publish "$SCHEMA"

echo "# round trip"
must -d S put hh/0001 户主=王五 "地址=石路1号, 东" 电话=13812345678
must -d S add hh/0001 特殊群体 独居老人
must -d S add hh/0001 特殊群体 低保
must -d S incr hh/0001 诚信积分 7
must -d S append hh/0001 走访 '老人身体好转 "好"'
must -d S append hh/0001 走访 复诊
must -d S query 户 --csv
cp "$T/out" hh.csv
BEFORE=$(state)
must -d S import-csv 户 hh.csv
grep -q "0 ops to 0 records" "$T/out" || fail "reading back what query --csv wrote changed something: $(out)"
[ "$(state)" = "$BEFORE" ] || fail "store changed"
ok "query --csv reads back through import-csv with no change"

echo "# 500 rows, row 7 bad"
awk 'BEGIN { print "编号,户主,地址,电话,诚信积分";
  for (i = 2; i <= 500; i++) {
    phone = (i == 7) ? "1381234" : sprintf("138%08d", i);
    printf "%04d,户主%d,石路%d号,%s,%d\n", i + 100, i, i, phone, i % 10 } }' >rows.csv
BEFORE=$(state)
refused_with 1 "rows.csv: 1 of 499 rows refused (listed above); nothing written" -d S import-csv 户 rows.csv
[ "$(out)" = "row 7: 电话: '1381234' is not a phone number; expected phone, e.g. 13812345678 or 0512-65231234" ] ||
  fail "row 7 not named: $(out)"
[ "$(state)" = "$BEFORE" ] || fail "a refused import wrote something"
# every bad row is listed, each with its reason
sed -e '3s/,户主3,/,,/' -e '12s/,[0-9]$/,-1/' rows.csv >rows3.csv
refused_with 1 "3 of 499 rows refused" -d S import-csv 户 rows3.csv
[ "$(sed -n 1p "$T/out")" = "row 3: a new 户 needs 户主 (text, e.g. 张建国)" ] || fail "row 3: $(out)"
grep -q '^row 7: 电话' "$T/out" || fail "row 7: $(out)"
grep -q '^row 12: 户.诚信积分 would be -1, below its smallest allowed value 0' "$T/out" || fail "row 12: $(out)"
sed '7s/,1381234,/,13812340007,/' rows.csv >good.csv
must -d S import-csv 户 good.csv --dry-run
grep -q "499 rows valid; would write" "$T/out" || fail "dry run: $(out)"
[ "$(state)" = "$BEFORE" ] || fail "a dry run wrote something"
must -d S import-csv 户 good.csv
grep -q "imported 499 rows of 户 from good.csv (UTF-8)" "$T/out" || fail "import: $(out)"
must -d S --json get hh/0107
grep -q '"电话":"13812340007","诚信积分":7' "$T/out" || fail "row 7 as imported: $(out)"
ok "a bad row 7 of 500 is named and nothing written; every bad row listed; then all 499 written"

echo "# encodings"
printf '编号,户主,地址\r\n0900,陈建国,雅鹿村三组\r\n' >u.csv
printf '\357\273\277编号,户主,地址\r\n0901,陈建国,雅鹿村三组\r\n' >bom.csv
if iconv -f UTF-8 -t GB18030 u.csv | sed 's/0900/0902/' >gb.csv 2>/dev/null; then
  must -d S import-csv 户 gb.csv
  grep -q "(GB18030)" "$T/out" || fail "gb.csv not read as GB18030: $(out)"
  must -d S --json get hh/0902
  grep -q '"地址":"雅鹿村三组","户主":"陈建国"' "$T/out" || fail "GB18030 text: $(out)"
fi
must -d S import-csv 户 u.csv
must -d S import-csv 户 bom.csv
must -d S --json get hh/0901
grep -q '"户主":"陈建国"' "$T/out" || fail "BOM file: $(out)"
ok "GB18030, UTF-8 and UTF-8 with a byte order mark"

echo "# files that are not what they should be"
printf '编号,户注\n1,x\n' >h.csv
refused_with 1 "h.csv: row 1 (header) column 2: 户 has no field 户注; did you mean 户主?" -d S import-csv 户 h.csv
printf '户主\nx\n' >noid.csv
refused_with 1 "no column 编号" -d S import-csv 户 noid.csv
printf '编号,户主,地址\n5,a,b\n5,c,d\n' >dup.csv
refused_with 1 "1 of 2 rows refused" -d S import-csv 户 dup.csv
grep -q '^row 3: 编号 5 again (first on row 2)' "$T/out" || fail "dup: $(out)"
printf '编号,户主,地址\n6,"a,b\n' >quote.csv
refused_with 1 "quote.csv: row 2: a quote is never closed" -d S import-csv 户 quote.csv
printf '编号,户主,地址\n7,a"b,c\n' >q2.csv
refused_with 1 "row 2 cell 2: a quote inside an unquoted cell" -d S import-csv 户 q2.csv
printf '编号,户主,地址\n9,a,b,,c\n10,a,b,,\n' >wide.csv
refused_with 1 "1 of 2 rows refused" -d S import-csv 户 wide.csv
grep -q '^row 2: column 5 holds a value but the header has 3 columns' "$T/out" || fail "wide: $(out)"
refused_with 1 "nope.csv: No such file" -d S import-csv 户 nope.csv
refused_with 2 "no record type 'xx'" -d S import-csv xx u.csv
ok "unknown column, no ID column, repeated ID, a value beyond the header, broken quotes and a missing file are refused"

echo "# 100,000 rows in bounded memory"
awk 'BEGIN { print "编号,户主,地址,电话,诚信积分";
  for (i = 0; i < 100000; i++) printf "%06d,户主%d,石路%d号,139%08d,%d\n", i, i, i, i, i % 20 }' >big.csv
awk 'NR <= 1001' big.csv >small.csv
rss() {
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f '%M' -o "$T/rss" "$LINLI" "$@" >"$T/out" 2>"$T/err" || fail "linli $*: $(cat "$T/err")"
    cat "$T/rss"
  else
    must "$@"
    echo 0
  fi
}
SMALL=$(rss -d S import-csv 户 small.csv --dry-run)
BIG=$(rss -d S import-csv 户 big.csv)
grep -q "imported 100000 rows of 户" "$T/out" || fail "big import: $(out)"
must -d S --json get hh/099999
grep -q '"诚信积分":19' "$T/out" || fail "last row: $(out)"
case $1 in
*asan*) ;; # the sanitizer's shadow memory and quarantine are no measure
*) [ $((BIG - SMALL)) -lt 49152 ] || fail "100,000 rows took $BIG KiB, 1,000 rows $SMALL KiB" ;;
esac
ok "100,000 rows imported; peak RSS $BIG KiB (1,000 rows: $SMALL KiB)"

echo "# a file larger than 256 MiB"
truncate -s 257M huge.csv
BEFORE=$(state)
run -d S import-csv 户 huge.csv
[ "$RC" -eq 1 ] || fail "a 257 MiB CSV exited $RC"
grep -q "huge.csv: a CSV file is at most 256 MiB; split it" "$T/err" || fail "message: $(cat "$T/err")"
[ "$(state)" = "$BEFORE" ] || fail "store changed"
rm -f huge.csv
ok "a CSV file over 256 MiB is refused in one line, nothing written"

echo "$NAME: $PASS passed, $FAIL failed"
