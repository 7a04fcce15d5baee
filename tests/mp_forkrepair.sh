#!/bin/sh
# mp_forkrepair.sh - a station whose key forked is repaired by the steps of
# docs/OPERATING.md, "Forks", with nothing the clerk wrote lost.
#
#   sh tests/mp_forkrepair.sh BUILD_DIR
#
# District dist (the trust root), street st, village va (gusu/jinchang/va/).
# va's stopped data directory is copied by hand; va writes more, which
# reaches st and dist; the copy is brought back and the clerk writes other
# records (a fork).  Both sides show the fork.  Then: keygen, cert issue at
# the street, linli repair-fork at va, the street's child line updated and
# reloaded with SIGHUP.  Every record written after the fork, on either
# branch, is at the street and the district with the contents it was
# written with, a counter counts each increment once, and linli audit
# passes at the street.
set -eu
NAME=mp_forkrepair
. "$(dirname "$0")/mp_lib.sh"

P=/gusu/jinchang/va
echo "# district dist (root), street st, village va"
"$LINLI" -d "$T/dist" init --name dist --root self >"$T/q.out" 2>"$T/q.err" ||
  fail "init of dist: $(cat "$T/q.err")"
PK_D=$(cat "$T/dist/node.key.pub")
for n in st va; do
  "$LINLI" -d "$T/$n" init --name $n --root "$PK_D" >"$T/q.out" 2>"$T/q.err" ||
    fail "init of $n: $(cat "$T/q.err")"
done
PK_S=$(cat "$T/st/node.key.pub")
PK_A=$(cat "$T/va/node.key.pub")
q "$T/dist" cert issue --subject "$T/st/node.key.pub" --name st --role street \
  --prefix gusu/jinchang/ -o "$T/st.chain" >/dev/null || fail "cert issue st: $(cat "$T/q.err")"
q "$T/st" cert install "$T/st.chain" >/dev/null || fail "cert install st: $(cat "$T/q.err")"
q "$T/st" cert issue --subject "$T/va/node.key.pub" --name va --role village \
  --prefix gusu/jinchang/va/ -o "$T/va.chain" >/dev/null || fail "cert issue va: $(cat "$T/q.err")"
q "$T/va" cert install "$T/va.chain" >/dev/null || fail "cert install va: $(cat "$T/q.err")"

listen_conf dist district "child = $PK_S st"
node_listen dist 0
PORT_D=$PORT
street_conf st "parent = tcp://127.0.0.1:$PORT_D $PK_D dist" "child = $PK_A va"
node_listen st 1
PORT_S=$PORT
village_conf va "$PORT_S" "$PK_S" st
node_start va || fail "va exited at start: $(tail -n 1 "$T/va.log")"
for i in 1 2 3; do
  q "$T/va" put "$P/hh/$i" 户主=甲$i >/dev/null || fail "put at va: $(cat "$T/q.err")"
done
q "$T/va" incr "$P/hh/1" 积分 10 >/dev/null || fail "incr at va: $(cat "$T/q.err")"
poll 20 has_n "$T/dist" $P/ 3 || fail "va's 3 records did not reach the district"
ok "va's first records reach the street and the district"

# The new key, certified for va's prefix before anything forked: refused
# while there is no fork.
q "$T/st" keygen -o "$T/va2.key" >/dev/null || fail "keygen: $(cat "$T/q.err")"
q "$T/st" cert issue --subject "$T/va2.key.pub" --name va --role village \
  --prefix gusu/jinchang/va/ -o "$T/va2.chain" >/dev/null || fail "cert issue va2: $(cat "$T/q.err")"
node_stop va
if q "$T/va" repair-fork --key "$T/va2.key" "$T/va2.chain" >/dev/null; then
  fail "repair-fork ran on a station without a fork"
fi
grep -q "no fork" "$T/q.err" || fail "no word of no fork: $(cat "$T/q.err")"
[ -f "$T/va2.key" ] || fail "a refused repair-fork moved the key file"
ok "repair-fork is refused while no fork is known"

echo "# va's directory copied by hand; va writes on; the copy comes back"
mkdir "$T/raw"
(cd "$T/va" && tar cf - --exclude control.sock .) | (cd "$T/raw" && tar xf -)
node_start va || fail "va exited at start: $(tail -n 1 "$T/va.log")"
q "$T/va" put "$P/hh/4" 户主=乙4 >/dev/null || fail "put at va: $(cat "$T/q.err")"
q "$T/va" incr "$P/hh/1" 积分 5 >/dev/null || fail "incr at va: $(cat "$T/q.err")"
poll 20 has_n "$T/dist" $P/ 4 || fail "va's record 4 did not reach the district"
node_stop va
rm -rf "$T/va"
mv "$T/raw" "$T/va"
for i in 5 6; do
  q "$T/va" put "$P/hh/$i" 户主=丙$i 电话=13800000$i >/dev/null || fail "put at the copy: $(cat "$T/q.err")"
done
q "$T/va" incr "$P/hh/1" 积分 3 >/dev/null || fail "incr at the copy: $(cat "$T/q.err")"
q "$T/va" add "$P/hh/5" 成员 张三 >/dev/null || fail "add at the copy: $(cat "$T/q.err")"
q "$T/va" add "$P/hh/5" 成员 李四 >/dev/null || fail "add at the copy: $(cat "$T/q.err")"
q "$T/va" rm "$P/hh/5" 成员 张三 >/dev/null || fail "rm at the copy: $(cat "$T/q.err")"
q "$T/va" append "$P/hh/6" 走访 "上门了解情况" >/dev/null || fail "append at the copy: $(cat "$T/q.err")"
q "$T/va" get "$P/hh/5" >"$T/hh5.want" || fail "get at the copy"
q "$T/va" get "$P/hh/6" >"$T/hh6.want" || fail "get at the copy"
grep -q "李四" "$T/hh5.want" && ! grep -q "张三" "$T/hh5.want" || fail "hh/5 at the copy: $(cat "$T/hh5.want")"
ok "the clerk writes records 5 and 6 and an increment at the copy"

node_start va || fail "va exited at start: $(tail -n 1 "$T/va.log")"
forks() { J=$(q "$1" --json status) && ! printf '%s\n' "$J" | grep -q '"forks":\[\]'; }
poll 20 forks "$T/st" || fail "the street shows no fork: $J"
poll 20 forks "$T/va" || fail "va shows no fork: $J"
q "$T/va" status | grep -q "^FORK: author $(printf %s "$PK_A" | cut -c1-12)" ||
  fail "va's status does not name its own key: $(q "$T/va" status)"
[ "$(nkeys "$T/st" $P/hh/5)" -eq 0 ] || fail "the street took ops of the second history"
ok "the fork is shown at the street and at va; the street holds none of the copy's ops"

echo "# the repair"
node_stop va
q "$T/st" keygen -o "$T/wrong.key" >/dev/null || fail "keygen: $(cat "$T/q.err")"
q "$T/st" cert issue --subject "$T/wrong.key.pub" --name va --role village \
  --prefix gusu/jinchang/vb/ -o "$T/wrong.chain" >/dev/null || fail "cert issue: $(cat "$T/q.err")"
if q "$T/va" repair-fork --key "$T/wrong.key" "$T/wrong.chain" >/dev/null; then
  fail "repair-fork took a key certified for another prefix"
fi
grep -q "gusu/jinchang/vb/" "$T/q.err" || fail "the prefix is not named: $(cat "$T/q.err")"
[ "$(cat "$T/va/node.key.pub")" = "$PK_A" ] || fail "a refused repair-fork changed the key"
ok "a new key certified for another prefix is refused, nothing changed"

# A crash after the re-signed ops are committed (on a copy): the next
# open removes the old copies, the same command run again moves the key.
cp -r "$T/va" "$T/vx"
cp "$T/va2.key" "$T/vx2.key"
cp "$T/va2.key.pub" "$T/vx2.key.pub"
if LINLI_FAILPOINT=forkfix-signed q "$T/vx" repair-fork --key "$T/vx2.key" "$T/va2.chain" >/dev/null; then
  fail "the failpoint forkfix-signed did not stop repair-fork"
fi
[ "$(q "$T/vx" get "$P/hh/1" | sed -n 's/^积分 (counter): //p')" = 13 ] ||
  fail "after a crash hh/1 counts $(q "$T/vx" get "$P/hh/1")"
q "$T/vx" repair-fork --key "$T/vx2.key" "$T/va2.chain" >"$T/vx.out" ||
  fail "repair-fork after a crash: $(cat "$T/q.err")"
grep -q "finished an interrupted repair" "$T/vx.out" || fail "second run: $(cat "$T/vx.out")"
[ "$(cat "$T/vx/node.key.pub")" = "$(cat "$T/va2.key.pub")" ] || fail "the key did not move after a crash"
rm -rf "$T/vx"
ok "a repair stopped by a crash after its commit is finished at the next open and run"

q "$T/va" --json repair-fork --key "$T/va2.key" "$T/va2.chain" >"$T/fix.json" ||
  fail "repair-fork: $(cat "$T/q.err")"
J=$(cat "$T/fix.json")
[ "$(jnum count)" -eq 9 ] || fail "repair-fork re-signed $(jnum count) ops, not 9: $J"
for k in hh/5 hh/6 hh/1; do
  grep -q "\"key\":\"gusu/jinchang/va/$k\"" "$T/fix.json" || fail "$k is not listed: $J"
done
PK_A2=$(cat "$T/va/node.key.pub")
[ "$PK_A2" != "$PK_A" ] || fail "va still signs with the forked key"
[ -f "$T/va/node.key.retired-$(printf %s "$PK_A" | cut -c1-12)" ] || fail "the old key was not kept"
if q "$T/va" repair-fork --key "$T/va2.key" "$T/va2.chain" >/dev/null; then
  fail "repair-fork ran twice"
fi
grep -q "repaired already" "$T/q.err" || fail "a second run: $(cat "$T/q.err")"
[ "$(q "$T/va" get "$P/hh/1" | sed -n 's/^积分 (counter): //p')" = 13 ] ||
  fail "hh/1 at va counts the re-signed increment twice: $(q "$T/va" get "$P/hh/1")"
# The same contents; a log entry's time and author are the new op's.
entries() { sed 's/^  [^ ]*  [0-9a-f]*  /  /' "$1"; }
for i in 5 6; do
  q "$T/va" get "$P/hh/$i" >"$T/hh$i.now" || fail "get hh/$i at va"
  [ "$(entries "$T/hh$i.now")" = "$(entries "$T/hh$i.want")" ] ||
    fail "hh/$i changed at va: $(cat "$T/hh$i.now") != $(cat "$T/hh$i.want")"
  mv "$T/hh$i.now" "$T/hh$i.want"
done
ok "repair-fork signs the 9 diverged ops again under the new key, once"

sed "s/$PK_A/$PK_A2/" "$T/st.conf" >"$T/st.conf.new"
mv "$T/st.conf.new" "$T/st.conf"
kill -HUP "$(cat "$T/st.pid")"
node_start va || fail "va exited at start: $(tail -n 1 "$T/va.log")"
poll 30 has_n "$T/st" $P/ 6 || fail "the street holds $(nkeys "$T/st" $P/) of va's 6 records"
poll 30 has_n "$T/dist" $P/ 6 || fail "the district holds $(nkeys "$T/dist" $P/) of va's 6 records"
for i in 5 6; do
  for n in st dist; do
    q "$T/$n" get "$P/hh/$i" >"$T/got" || fail "get hh/$i at $n: $(cat "$T/q.err")"
    cmp -s "$T/got" "$T/hh$i.want" || fail "hh/$i at $n: $(cat "$T/got") != $(cat "$T/hh$i.want")"
  done
done
for n in st dist; do
  q "$T/$n" get "$P/hh/4" | grep -q "户主 (register): 乙4" || fail "hh/4 (the street's branch) lost at $n"
  c=$(q "$T/$n" get "$P/hh/1" | sed -n 's/^积分 (counter): //p')
  [ "$c" = 18 ] || fail "hh/1's counter at $n is $c, not 10 + 5 + 3"
done
ok "every record written after the fork, on both branches, is at the street and the district"

q "$T/va" put "$P/hh/7" 户主=丁7 >/dev/null || fail "va cannot write after the repair: $(cat "$T/q.err")"
poll 20 has_n "$T/dist" $P/ 7 || fail "va's write after the repair did not reach the district"
q "$T/st" audit --root "$PK_D" >"$T/audit.out" 2>&1 && fail "audit passes with an unsettled fork"
grep -q "fork: two different ops" "$T/audit.out" || fail "audit at st: $(cat "$T/audit.out")"
q "$T/st" cert revoke --subject "$PK_A" --reason forked >/dev/null ||
  fail "cert revoke at st: $(cat "$T/q.err")"
q "$T/st" audit --root "$PK_D" >"$T/audit.out" 2>&1 || fail "audit at st: $(tail -n 5 "$T/audit.out")"
grep -q "settled" "$T/audit.out" || fail "audit does not note the settled fork: $(cat "$T/audit.out")"
q "$T/st" put /gusu/jinchang/notice/1 标题=通知 >/dev/null || fail "put at st: $(cat "$T/q.err")"
poll 20 has_n "$T/va" /gusu/jinchang/notice/ 1 || fail "the street's log stops at va after the revocation"
ok "va writes again under its new key; the street revokes the old one; linli audit passes"

node_stop va
node_stop st
node_stop dist
ok "all stopped cleanly"
echo "$NAME: $PASS passed, $FAIL failed"
