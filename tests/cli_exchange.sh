#!/bin/sh
# cli_exchange.sh - three stations write conflicting updates to the same
# records and exchange bundles by file until they agree.
#
#   sh tests/cli_exchange.sh BUILD_DIR      (the binary is BUILD_DIR/linli)
#
# A (雅鹿村), B (双凤镇 station) and C (东林村) each change registers,
# counters, sets, logs and deletes on shared keys; bundles go both ways,
# with --for summaries and as full exports.  At the end the three digests
# (whole store and per prefix) must be equal, re-importing a bundle must
# change nothing, rebuild must keep the digest, the merged values must be
# what the CRDT semantics promise, and Chinese keys and values must come
# back byte for byte through `get --json`.
set -eu
LC_ALL=C
export LC_ALL

NAME=cli_exchange
. "$(dirname "$0")/clilib.sh"

echo "# three stations"
must -d A init --no-trust --name 太仓市双凤镇雅鹿村
must -d B init --no-trust --name 太仓市双凤镇社工站
must -d C init --no-trust --name 太仓市双凤镇东林村
ok "init A, B and C"

echo "# a common starting point: A's households, carried to B and C"
must -d A put hh/yalu/0012 户主=张建国 地址=雅鹿村三组12号 电话=13912345012
must -d A add hh/yalu/0012 成员 张建国
must -d A add hh/yalu/0012 成员 王芳
must -d A put hh/yalu/0031 户主=陈美华 类别=独居老人
must -d A put hh/yalu/0045 户主=王志强
must -d A export -o full-a.bundle
must -d B import full-a.bundle
must -d C import full-a.bundle
ok "full export of A imported at B and C"

echo "# concurrent, conflicting updates on the same keys"
# registers: all three set 电话; the last writer (C) must win everywhere
must -d A put hh/yalu/0012 电话=111 户主=张建国
must -d B put hh/yalu/0012 电话=222
must -d C put hh/yalu/0012 电话=333
# counters: increments from everyone add up: 5 - 2 + 3 + 10 = 16
must -d A incr hh/yalu/0012 诚信积分 5
must -d B incr hh/yalu/0012 诚信积分 -2
must -d C incr hh/yalu/0012 诚信积分 3
must -d A incr hh/yalu/0012 诚信积分 10
# sets: B removes 王芳 (the add it saw) while A adds 王芳 again: add wins;
# C removes 张建国, nobody re-adds him: gone; B adds 李梅
must -d B rm hh/yalu/0012 成员 王芳
must -d A add hh/yalu/0012 成员 王芳
must -d C rm hh/yalu/0012 成员 张建国
must -d B add hh/yalu/0012 成员 李梅
# one name, two kinds: A makes 等级 a register, C a counter; both survive
must -d A put hh/yalu/0012 等级=A
must -d C incr hh/yalu/0012 等级 2
# logs: every station's entries are kept
must -d A append diary/yalu/zhoumin 民情日记 "走访0031户，老人血压偏高"
must -d B append diary/yalu/zhoumin 民情日记 "镇社工站回访0031户"
must -d C append diary/yalu/zhoumin 民情日记 "东林村协助联系家庭医生"
# deletes: A deletes 0031, B updates it afterwards (larger stamp): it
# reappears with just B's update; C deletes 0045, nobody touches it again
must -d A del hh/yalu/0031
must -d B put hh/yalu/0031 备注=已迁入养老院
must -d C del hh/yalu/0045
# Chinese key and value with quotes, a backslash, a tab and a newline
TRICKY='“诚信之家”评选：张家 "一等" \ 第二行
换行	制表'
must -d B put 'req/雅鹿村/诉求-0007' 事项=小区公共晾衣架 状态=受理
must -d B put 'req/雅鹿村/诉求-0007' 状态=办理中 "说明=$TRICKY"
must -d C put notice/shuangfeng/2026-01 标题=民主决策日 日期=2026-01-10
ok "conflicting writes at A, B and C"

echo "# exchange: B <- A and A <- B with summaries"
must -d B summary -o b.summary
must -d A export --for b.summary -o a-for-b.bundle
must -d B import a-for-b.bundle
must -d A summary -o a.summary
must -d B export --for a.summary -o b-for-a.bundle
must -d A import b-for-a.bundle
ok "A and B exchanged with --for summaries"

echo "# exchange: C <-> A with full exports, then B <- A with a summary"
must -d C export -o full-c.bundle
must -d A import full-c.bundle
must -d A export -o full-a2.bundle
must -d C import full-a2.bundle
must -d B summary -o b2.summary
must -d A export --for b2.summary -o a-for-b2.bundle
must -d B import a-for-b2.bundle
ok "C and A exchanged full exports; B caught up from A"

echo "# digests agree, for the whole store and per prefix"
for p in "" hh/ hh/yalu/ hh/ya diary/ req/ 'req/雅鹿村/' notice/ nothing/; do
  must -d A digest "$p"
  da=$(out)
  must -d B digest "$p"
  db=$(out)
  must -d C digest "$p"
  dc=$(out)
  [ "$da" = "$db" ] && [ "$db" = "$dc" ] ||
    fail "digest of prefix '$p' differs: A $da B $db C $dc"
  [ "$(printf '%s' "$da" | wc -c)" -eq 64 ] || fail "digest '$da' is not 64 hex digits"
done
ok "digests equal at A, B and C for 9 prefixes"

must -d A ls
la=$(out)
must -d B ls
lb=$(out)
must -d C ls
[ "$la" = "$lb" ] && [ "$lb" = "$(out)" ] || fail "ls differs between stations"
expect_ls='diary/yalu/zhoumin
hh/yalu/0012
hh/yalu/0031
notice/shuangfeng/2026-01
req/雅鹿村/诉求-0007'
[ "$la" = "$expect_ls" ] || fail "ls lists: $la"
ok "ls lists the same 5 keys everywhere"

echo "# importing the same bundle again changes nothing"
must -d B digest
before=$(out)
must -d B --json import a-for-b.bundle
[ "$(jnum ops_new)" = 0 ] || fail "re-import reported new ops: $(out)"
must -d B --json import full-a2.bundle
[ "$(jnum ops_new)" = 0 ] || fail "re-import of a full bundle reported new ops: $(out)"
[ "$(jnum ops_dup)" -gt 0 ] || fail "re-import of a full bundle reported no ops held: $(out)"
must -d B digest
[ "$(out)" = "$before" ] || fail "re-import changed the digest"
ok "re-import reports 0 new ops and keeps the digest"

echo "# rebuild and verify"
for n in A B C; do
  must -d $n digest
  before=$(out)
  must -d $n rebuild
  must -d $n digest
  [ "$(out)" = "$before" ] || fail "rebuild changed the digest of $n"
  must -d $n verify
  grep -q '^ok: ' "$T/out" || fail "verify at $n printed: $(out)"
done
ok "rebuild keeps the digest and verify passes at A, B and C"

echo "# merged values"
must -d A --json get hh/yalu/0012
ga=$(out)
must -d C --json get hh/yalu/0012
[ "$ga" = "$(out)" ] || fail "get --json differs between A and C"
case $ga in
  *'"电话":"333"'*) ;;
  *) fail "register: the last write (333) did not win: $ga" ;;
esac
[ "$(jnum 诚信积分)" = 16 ] || fail "counter: expected 16: $ga"
case $ga in
  *'"户主":"张建国"'*) ;;
  *) fail "register 户主 lost: $ga" ;;
esac
case $ga in
  *'"等级":"A","等级#counter":2'*) ;;
  *) fail "a name with two kinds: $ga" ;;
esac
ok "last writer wins on a register, increments add up, two kinds of one name are kept apart"

must -d B --json get diary/yalu/zhoumin
n=$(grep -o '"text":' "$T/out" | wc -l)
[ "$n" -eq 3 ] || fail "log: expected 3 entries, got $n: $(out)"
ok "log keeps the entries of all three stations"

must -d B --json get hh/yalu/0031
[ "$(out)" = '{"key":"hh/yalu/0031","fields":{"备注":"已迁入养老院"}}' ] ||
  fail "update after delete: $(out)"
run -d A get hh/yalu/0045
[ "$RC" -eq 1 ] || fail "deleted hh/yalu/0045 still readable (exit $RC)"
[ "$(cat "$T/err")" = "linli: hh/yalu/0045: not found" ] || fail "get of a deleted record: $(cat "$T/err")"
ok "a delete hides the past; a later update survives it"

echo "# Chinese keys and values round-trip exactly"
must -d A --json get 'req/雅鹿村/诉求-0007'
# fields come in byte order: 事 (e4) < 状 (e7) < 说 (e8)
expect='{"key":"req/雅鹿村/诉求-0007","fields":{"事项":"小区公共晾衣架","状态":"办理中","说明":"“诚信之家”评选：张家 \"一等\" \\ 第二行\n换行\t制表"}}'
[ "$(out)" = "$expect" ] || fail "round trip: got $(out)"
must -d C --json get notice/shuangfeng/2026-01
[ "$(out)" = '{"key":"notice/shuangfeng/2026-01","fields":{"日期":"2026-01-10","标题":"民主决策日"}}' ] ||
  fail "round trip of C's notice at C: $(out)"
must -d A get notice/shuangfeng/2026-01
[ "$(out)" = '日期 (register): 2026-01-10
标题 (register): 民主决策日' ] || fail "text get at A: $(out)"
ok "Chinese keys, fields and values are byte-exact in JSON and text"

echo "# sets: add wins over a concurrent remove; a plain remove removes"
must -d A --json get hh/yalu/0012
case $(out) in
  *'"成员":["李梅","王芳"]'*) ;;
  *) fail "set: expected [李梅, 王芳]: $(out)" ;;
esac
ok "set merge: 王芳 kept (add wins), 张建国 removed, 李梅 added"

echo "$NAME: $PASS passed, $FAIL failed"
