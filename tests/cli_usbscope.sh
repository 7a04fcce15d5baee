#!/bin/sh
# cli_usbscope.sh - a bundle made for a station's summary (export --for)
# holds what sync would send that station and nothing else: a street that
# holds two villages' records gives village A its own log, the district's
# and the street's, never village B's; a summary naming B's key without B's
# signature, and a summary of the older unsigned form, are refused under a
# trust root; a village does not import another village's records.
#
#   sh tests/cli_usbscope.sh BUILD_DIR      (the binary is BUILD_DIR/linli)
set -eu
LC_ALL=C
export LC_ALL
NAME=cli_usbscope
unset LINLI_DATA
. "$(dirname "$0")/clilib.sh"

# ---- a district, a street, two villages, each with records ----
must -d D init --name 姑苏区 --root self
ROOT=$(id D)
must -d S init --name 金阊街道 --root "$ROOT"
must -d A init --name 石路村 --root "$ROOT"
must -d B init --name 彩香村 --root "$ROOT"
must -d D cert issue --subject S/node.key.pub --name 金阊街道 --role street --prefix gusu/jinchang/ -o s.chain
must -d S cert install s.chain
must -d S cert issue --subject A/node.key.pub --name 石路村 --role village --prefix gusu/jinchang/shilu/ -o a.chain
must -d A cert install a.chain
must -d S cert issue --subject B/node.key.pub --name 彩香村 --role village --prefix gusu/jinchang/caixiang/ -o b.chain
must -d B cert install b.chain
must -d D put notices/2026/1 title=防汛通知
must -d S put notices/2026/7 title=议事会
must -d A put hh/1 户主=陈建国
must -d B put hh/1 户主=周文
must -d B put hh/1 备注=独居老人
# the street holds everything: the district's notice, both villages
up D S
up A S
up B S
must -d S get /gusu/jinchang/caixiang/hh/1
must -d S get /gusu/jinchang/shilu/hh/1
ok "the street holds the district's, its own and both villages' records"

# ---- village A's summary: its own, the district's and the street's ----
must -d A summary -o a.summary
must -d S --json export --for a.summary -o a.bundle
# a store without a trust root takes any bundle: it shows what the file holds
must -d X init --name 检查 --no-trust
must -d X import a.bundle
must -d X get /notices/2026/1
must -d X get /gusu/jinchang/notices/2026/7
run -d X get /gusu/jinchang/caixiang/hh/1
[ "$RC" -ne 0 ] || fail "village B's record is in the bundle made for village A: $(out)"
ok "a bundle for village A holds the district's and the street's records, none of B's"
must -d A import a.bundle
must -d A get /notices/2026/1
must -d A get /gusu/jinchang/notices/2026/7
ok "village A imports its bundle"

# a replacement device certified for A's namespace gets A's history
must -d A2 init --name 石路村 --root "$ROOT"
must -d S cert issue --subject A2/node.key.pub --name 石路村 --role village --prefix gusu/jinchang/shilu/ -o a2.chain
must -d A2 cert install a2.chain
up A2 S
must -d A2 summary -o a2.summary
must -d S export --for a2.summary -o a2.bundle
must -d X2 init --name 检查 --no-trust
must -d X2 import a2.bundle
must -d X2 get /gusu/jinchang/shilu/hh/1
must -d X2 get /notices/2026/1
run -d X2 get /gusu/jinchang/caixiang/hh/1
[ "$RC" -ne 0 ] || fail "village B's record is in the bundle made for A's new device: $(out)"
must -d A2 import a2.bundle
must -d A2 get /gusu/jinchang/shilu/hh/1
ok "a new device of village A gets A's records, the district's and the street's, none of B's"

# ---- a forged summary: B's key, A's heads and A's signature ----
must -d B summary -o b.summary
cp a.summary forged.summary
# the node key is bytes 20..51 (docs/FORMAT.md, "Summary")
dd if=b.summary of=forged.summary bs=1 skip=20 seek=20 count=32 conv=notrunc 2>/dev/null
cmp -s forged.summary a.summary && fail "the forged summary equals A's"
refused_with 1 "not signed by the station it names" -d S export --for forged.summary -o f.bundle
[ ! -e f.bundle ] || fail "a bundle was written for a forged summary"
ok "a summary naming B's key without B's signature is refused"

# B's own summary is B's: what B lacks in B's scope, nothing of A's
must -d S export --for b.summary -o b.bundle
must -d Y init --name 检查二 --no-trust
must -d Y import b.bundle
must -d Y get /gusu/jinchang/notices/2026/7
run -d Y get /gusu/jinchang/shilu/hh/1
[ "$RC" -ne 0 ] || fail "village A's record is in the bundle made for village B"
ok "B's signed summary gets the street's records, not A's"

# village A asked for a bundle by its sibling B (a stick carried from one
# village to the next): A's own log is not B's to hold
must -d A export --for b.summary -o ab.bundle
must -d SIB init --name 检查三 --no-trust
must -d SIB import ab.bundle
run -d SIB get /gusu/jinchang/shilu/hh/1
[ "$RC" -ne 0 ] || fail "village A's own record is in the bundle A made for its sibling B"
ok "a village's bundle for its sibling's summary holds none of its own records"

# ---- the older, unsigned summary ----
# ["linli-summary-v1", A's key, 0, []] as an older linli wrote it
printf '\224\260linli-summary-v1' >old.summary
dd if=a.summary bs=1 skip=18 count=34 2>/dev/null >>old.summary
printf '\000\220' >>old.summary
refused_with 1 "make the summary again with this version" -d S export --for old.summary -o o.bundle
# without a trust root it still serves
must -d X export --for old.summary -o o.bundle
ok "an unsigned summary is refused under a trust root, taken without one"

# ---- the district (a parent) gets everything, the full export is everything ----
must -d D summary -o d.summary
must -d S export --for d.summary -o d.bundle
must -d D import d.bundle
must -d D get /gusu/jinchang/caixiang/hh/1
must -d D get /gusu/jinchang/shilu/hh/1
ok "a bundle for the district holds both villages"
must -d S export -o full.bundle
must -d Z init --name 检查三 --no-trust
must -d Z import full.bundle
must -d Z get /gusu/jinchang/caixiang/hh/1
must -d Z get /gusu/jinchang/shilu/hh/1
ok "a full export holds every record"

# ---- a village refuses another village's records ----
refused_with 1 "outside this station's namespace" -d A import full.bundle
run -d A get /gusu/jinchang/caixiang/hh/1
[ "$RC" -ne 0 ] || fail "village A holds B's record after refusing the bundle"
ok "village A refuses a bundle holding B's records, and keeps none of them"

# ---- fork evidence follows the same scope ----
# village C's key signs two histories (its disk copied, both copies write):
# the street keeps the evidence
must -d C init --name 黄桥村 --root "$ROOT"
must -d S cert issue --subject C/node.key.pub --name 黄桥村 --role village --prefix gusu/jinchang/huangqiao/ -o c.chain
must -d C cert install c.chain
must -d C put hh/1 户主=王芳
cp -r C C2
must -d C put hh/2 户主=李强
must -d C2 put hh/2 户主=李刚
up C S
must -d C2 export -o c2.bundle
run -d S import c2.bundle
[ "$RC" -ne 0 ] || fail "the street took the second history of C's key"
must -d S --json status
grep -q '"forks":\[\]' "$T/out" && fail "the street holds no fork evidence: $(out)"
ok "the street keeps the evidence of C's fork"

# a bundle for village A holds none of it (the evidence holds two of C's ops)
must -d A summary -o a3.summary
must -d S --json export --for a3.summary -o a3.bundle
[ "$(jnum fork_evidence)" -eq 0 ] || fail "the bundle for village A holds C's fork evidence: $(out)"
ok "a bundle for village A holds no fork evidence about village C"

# the whole export holds C's evidence and B's records: A refuses it before
# it keeps anything, the evidence included
must -d S export -o full3.bundle
refused_with 1 "outside this station's namespace" -d A import full3.bundle
must -d A --json status
grep -q '"forks":\[\]' "$T/out" || fail "village A kept C's fork evidence from a refused bundle: $(out)"
run -d A get /gusu/jinchang/huangqiao/hh/1
[ "$RC" -ne 0 ] || fail "village A holds C's record"
ok "village A refuses the whole export and keeps no fork evidence of it"

# a device of village A's namespace forks too: the bundle the street makes
# for A carries that evidence (not the device's log), and A keeps it though
# it holds no certificate of the device: the bundle is its parent's, for it
must -d A3 init --name 石路村三 --root "$ROOT"
must -d S cert issue --subject A3/node.key.pub --name 石路村三 --role village --prefix gusu/jinchang/shilu/ -o a3.chain
must -d A3 cert install a3.chain
must -d A3 put /gusu/jinchang/shilu/hh/3 户主=赵六
cp -r A3 A3b
must -d A3 put /gusu/jinchang/shilu/hh/4 户主=钱七
must -d A3b put /gusu/jinchang/shilu/hh/4 户主=孙八
up A3 S
must -d A3b export -o a3b.bundle
run -d S import a3b.bundle
[ "$RC" -ne 0 ] || fail "the street took the second history of A3's key"
must -d A summary -o a4.summary
must -d S --json export --for a4.summary -o a4.bundle
[ "$(jnum fork_evidence)" -eq 1 ] || fail "the bundle for A does not hold A3's fork evidence alone: $(out)"
run -d A import a4.bundle
[ "$RC" -eq 1 ] || fail "import of a4.bundle at A exited $RC, not 1: $(cat "$T/err")"
has "carries fork evidence new to this node"
must -d A --json status
grep -q '"forks":\[\]' "$T/out" && fail "village A did not keep the fork evidence of its own device: $(out)"
ok "village A keeps the fork evidence of a device in its namespace from its street's bundle"

echo "$NAME: $PASS passed, $FAIL failed"
