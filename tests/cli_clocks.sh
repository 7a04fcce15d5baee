#!/bin/sh
# cli_clocks.sh - ops dated far ahead of the receiving PC's clock are held
# back by `linli import`, listed by `linli status`, and applied by a later
# import once the clock has caught up (docs/FORMAT.md, "Clocks").
#
#   sh tests/cli_clocks.sh BUILD_DIR      (the binary is BUILD_DIR/linli)
#
# LINLI_TEST_NOW_MS fakes each PC's clock (tools/linli/cli.h).
set -eu
LC_ALL=C
export LC_ALL

NAME=cli_clocks
. "$(dirname "$0")/clilib.sh"

NOW=1800000000000         # 2027-01-15
HOUR=3600000
AHEAD=$((NOW + 2 * HOUR)) # the writing station's clock, 2 h ahead

must -d A init --no-trust --name 快站
must -d B init --no-trust --name 收站
LINLI_TEST_NOW_MS=$AHEAD must -d A put hh/a/1 户主=未来
LINLI_TEST_NOW_MS=$AHEAD must -d A put hh/a/1 电话=1
LINLI_TEST_NOW_MS=$AHEAD must -d A export -o a.bundle

echo "# B's clock is right: A's ops are 2 h ahead of it"
LINLI_TEST_NOW_MS=$NOW must -d B import a.bundle
grep -q "deltas held back: dated more than 60 min ahead of this PC's clock" "$T/out" ||
  fail "import did not say what it held back: $(out)"
LINLI_TEST_NOW_MS=$NOW run -d B get hh/a/1
[ "$RC" -eq 1 ] || fail "a held-back op was applied: $(out)"
LINLI_TEST_NOW_MS=$NOW must -d B status
grep -q "^HELD: author $(cut -c1-12 A/node.key.pub) seqs 1-[12] dated up to 1 h 59 min ahead of this clock" "$T/out" ||
  grep -q "^HELD: author $(cut -c1-12 A/node.key.pub) seqs 1-[12] dated up to 2 h 0 min ahead of this clock" "$T/out" ||
  fail "status does not list the held deltas: $(out)"
LINLI_TEST_NOW_MS=$NOW must -d B --json status
grep -q '"held":\[{"author":"'"$(cat A/node.key.pub)"'","first_seq":1' "$T/out" ||
  fail "status --json does not list the held deltas: $(out)"
ok "import holds back ops 2 h ahead; get does not see them; status lists them"

echo "# half an hour later: still held; 61 min later: applied"
must -d C init --no-trust --name 空站
must -d C export -o empty.bundle
LINLI_TEST_NOW_MS=$((NOW + HOUR / 2)) must -d B import empty.bundle
LINLI_TEST_NOW_MS=$((NOW + HOUR / 2)) run -d B get hh/a/1
[ "$RC" -eq 1 ] || fail "held ops were applied before the clock got near them"
LINLI_TEST_NOW_MS=$((NOW + HOUR + 61000)) must -d B import empty.bundle
LINLI_TEST_NOW_MS=$((NOW + HOUR + 61000)) must -d B get hh/a/1
grep -q "未来" "$T/out" || fail "the held ops were not applied: $(out)"
grep -q "电话" "$T/out" || fail "the second held delta was not applied: $(out)"
LINLI_TEST_NOW_MS=$((NOW + HOUR + 61000)) must -d B status
! grep -q "^HELD" "$T/out" || fail "status still lists held deltas: $(out)"
must -d B verify
ok "once the clock is within an hour of them the held ops are applied, in order, and verify"
echo "$NAME: $PASS passed, $FAIL failed"
