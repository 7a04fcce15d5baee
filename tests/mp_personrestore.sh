#!/bin/sh
# mp_personrestore.sh - a station's people's logs survive its restores: no
# person signs a seq the parent holds already.
#
#   sh tests/mp_personrestore.sh BUILD_DIR
#
# Street st (the trust root) certifies village va, where clerk 王芳 is
# added.  va is copied by hand (tar) and backed up (linli backup) while
# stopped; then 王芳 writes more, which reaches st.
#  1. The copy is brought back by hand: at the parent's HELLO va's node
#     sees that st holds more of 王芳's log, logs it naming her, refuses
#     her writes saying why until her log is back (the link is slow, then
#     held: deterministic), then takes them; no fork at st, audit passes.
#  2. linli restore of the backup: the whole station recovers, 王芳's log
#     included, before anyone writes.
#  3. linli restore --offline to a new key: 王芳 keeps her key, so her
#     writes wait (named in the output, status and the refusal) until her
#     log is back from st, which needs st to admit the new key.
set -eu
NAME=mp_personrestore
. "$(dirname "$0")/mp_lib.sh"

PW=$T/pw
printf 'correct horse\n' >"$PW"

echo "# street st (root), village va (雅鹿村), clerk 王芳"
"$LINLI" -d "$T/st" init --name 金阊街道 --root self >"$T/q.out" 2>"$T/q.err" ||
  fail "init of st failed: $(cat "$T/q.err")"
PK_S=$(cat "$T/st/node.key.pub")
"$LINLI" -d "$T/va" init --name 雅鹿村 --root "$PK_S" >"$T/q.out" 2>"$T/q.err" ||
  fail "init of va failed: $(cat "$T/q.err")"
PK_A=$(cat "$T/va/node.key.pub")
q "$T/st" cert issue --subject "$PK_A" --name 雅鹿村 --role village --prefix jc/yalu/ \
  -o "$T/va.chain" >/dev/null || fail "cert issue for va: $(cat "$T/q.err")"
q "$T/va" cert install "$T/va.chain" >/dev/null || fail "cert install at va: $(cat "$T/q.err")"
"$LINLI" keygen -o "$T/va2.key" >/dev/null 2>"$T/q.err" || fail "keygen: $(cat "$T/q.err")"
q "$T/st" cert issue --subject "$T/va2.key.pub" --name 雅鹿村 --role village --prefix jc/yalu/ \
  -o "$T/va2.chain" >/dev/null || fail "cert issue for va's new key: $(cat "$T/q.err")"

street_conf st "child = $PK_A va"
node_listen st 0
PORT_S=$PORT
# va's link to st goes through relay r: 1000 bytes/s, and it can be held.
RP=$(free_port 1)
relay_start r "$RP" "$PORT_S" -r 1000
RP=$RPORT
village_conf va "$RP" "$PK_S" st
node_start va || fail "va exited at start: $(tail -n 1 "$T/va.log")"
q "$T/va" user add 王芳 --role clerk --password-file "$PW" >/dev/null ||
  fail "user add 王芳: $(cat "$T/q.err")"
KEY_W=$(q "$T/va" user list --json | sed -n 's/.*"name":"王芳","role":"clerk","key":"\([0-9a-f]*\)".*/\1/p')
[ -n "$KEY_W" ] || fail "no key for 王芳 in user list"
SHORT_W=$(printf %s "$KEY_W" | cut -c1-12)
q "$T/va" put --as 王芳 --password-file "$PW" hh/1 户主=陈 >/dev/null ||
  fail "put --as 王芳: $(cat "$T/q.err")"
poll 30 has_n "$T/st" /jc/yalu/hh/ 1 || fail "王芳's first record did not reach st"
ok "王芳 writes at va, it reaches st"

node_stop va
mkdir "$T/raw"
(cd "$T/va" && tar cf - --exclude control.sock .) | (cd "$T/raw" && tar xf -)
q "$T/va" backup -o "$T/va.bk" >/dev/null || fail "backup of stopped va: $(cat "$T/q.err")"
node_start va || fail "va exited at restart: $(tail -n 1 "$T/va.log")"
# Values that do not compress: the DATA bringing them back takes seconds.
i=2
while [ $i -le 13 ]; do
  v=$(head -c 450 /dev/urandom | base64 | tr -d '\n')
  q "$T/va" put --as 王芳 --password-file "$PW" "hh/$i" "户主=$v" >/dev/null ||
    fail "put --as 王芳 hh/$i: $(cat "$T/q.err")"
  i=$((i + 1))
done
poll 60 has_n "$T/st" /jc/yalu/hh/ 13 || fail "王芳's 13 records did not reach st"
node_stop va
mv "$T/va" "$T/va.live"
ok "va copied by hand and backed up; then 王芳 writes 12 more records, at st"

forks_none() {
  J=$(q "$1" --json status) || return 1
  printf '%s\n' "$J" | grep -q '"forks":\[\]'
}
audit_st() {
  "$LINLI" -d "$T/st" audit --root "$PK_S" >"$T/audit.out" 2>"$T/q.err" ||
    fail "audit at st $1: $(cat "$T/q.err") $(tail -n 5 "$T/audit.out")"
}
w_put() { q "$T/va" put --as 王芳 --password-file "$PW" "$1" 户主=后 >/dev/null; }

echo "# 1. the copy brought back by hand"
mv "$T/raw" "$T/va"
[ "$(nkeys "$T/va" hh/)" -eq 1 ] || fail "the copy does not hold 1 record"
: >"$T/va.log"
node_start va || fail "the copied va exited at start: $(tail -n 1 "$T/va.log")"
seen() { grep -q "holds [0-9]* ops of the log of 王芳 (key $SHORT_W), this store only 2:" "$T/va.log"; }
poll 20 seen || fail "va did not see that st holds more of 王芳's log: $(grep -i "error" "$T/va.log")"
kill -USR2 "$(cat "$T/r.pid")" # hold the link: 王芳's log stays at st for now
if w_put hh/100; then fail "王芳 wrote on the copy before her log was back"; fi
grep -q "王芳's log (key $SHORT_W) must first come back from the parent" "$T/q.err" ||
  fail "the refusal does not say why: $(cat "$T/q.err")"
q "$T/va" status | grep -q "^WAITING: 王芳 (key $SHORT_W)" ||
  fail "status does not show 王芳 waiting: $(q "$T/va" status)"
[ "$(nkeys "$T/va" hh/)" -lt 13 ] || fail "王芳's log was back before the refusal was tried"
kill -USR2 "$(cat "$T/r.pid")"
ok "the node sees 王芳's log further at st, names her, refuses her write saying why"
poll 60 has_n "$T/va" hh/ 13 || fail "the copied va holds $(nkeys "$T/va" hh/) of 13 records"
poll 20 w_put hh/100 || fail "王芳 still refused after her log came back: $(cat "$T/q.err")"
grep -q "log of 王芳 (key $SHORT_W) recovered from st" "$T/va.log" || fail "no recovery line"
q "$T/va" status | grep -q "^WAITING" && fail "status still shows someone waiting"
poll 30 has_n "$T/st" /jc/yalu/hh/ 14 || fail "王芳's write after recovery did not reach st"
forks_none "$T/st" || fail "a fork at st: $J"
audit_st "after the copy"
ok "her log comes back, then she writes; no fork at st, audit passes"
node_stop va

echo "# 2. linli restore of the backup"
rm -rf "$T/va"
q "$T/va" restore "$T/va.bk" >/dev/null || fail "restore: $(cat "$T/q.err")"
if w_put hh/101; then fail "王芳 wrote on a restored station before it recovered"; fi
grep -q "recover its own log (and its people's)" "$T/q.err" ||
  fail "the refusal does not say why: $(cat "$T/q.err")"
node_start va || fail "restored va exited at start: $(tail -n 1 "$T/va.log")"
poll 60 w_put hh/101 || fail "王芳 still refused after recovery: $(cat "$T/q.err")"
[ "$(nkeys "$T/va" hh/)" -eq 15 ] || fail "va wrote before 王芳's log was back"
poll 30 has_n "$T/st" /jc/yalu/hh/ 15 || fail "王芳's write after the restore did not reach st"
forks_none "$T/st" || fail "a fork at st: $J"
audit_st "after the restore"
ok "a restored station recovers 王芳's log with its own before she writes; no fork"
node_stop va

echo "# 3. linli restore --offline to a new key"
rm -rf "$T/va"
J=$(q "$T/va" --json restore "$T/va.bk" --offline --key "$T/va2.key" "$T/va2.chain") ||
  fail "restore --offline: $(cat "$T/q.err")"
printf '%s\n' "$J" | grep -q '"awaiting":\["王芳"\]' || fail "restore --offline does not name 王芳: $J"
q "$T/va" put hh/200 户主=站 >/dev/null || fail "the station's own write: $(cat "$T/q.err")"
if w_put hh/102; then fail "王芳 wrote after an offline restore before her log was back"; fi
grep -q "王芳's log (key $SHORT_W) must first come back from the parent" "$T/q.err" ||
  fail "the refusal does not say why: $(cat "$T/q.err")"
J=$(q "$T/va" --json status) || fail "status: $(cat "$T/q.err")"
printf '%s\n' "$J" | grep -q "\"awaiting\":\[{\"author\":\"$KEY_W\",\"name\":\"王芳\"}\]" ||
  fail "status --json does not show 王芳 waiting: $J"
node_start va || fail "va exited at start: $(tail -n 1 "$T/va.log")"
sleep 3
if w_put hh/102; then fail "王芳 wrote before st admitted the new key"; fi
# st admits the new key: now its HELLO answers in va's scope.
node_stop st
sed -i "s/^child = .*/child = $(cat "$T/va/node.key.pub") va/" "$T/st.conf"
node_start st || fail "st exited at restart: $(tail -n 1 "$T/st.log")"
poll 60 w_put hh/102 || fail "王芳 still refused after her log came back: $(cat "$T/q.err")"
[ "$(nkeys "$T/va" hh/)" -eq 17 ] || fail "va let 王芳 write before her log was back"
poll 30 has_n "$T/st" /jc/yalu/hh/ 17 ||
  fail "st holds $(nkeys "$T/st" /jc/yalu/hh/) of 17 records after the offline restore"
forks_none "$T/st" || fail "a fork at st: $J"
audit_st "after the offline restore"
ok "after an offline restore 王芳 waits for her log from st, then writes; no fork"

node_stop va
node_stop st
ok "all stopped cleanly"
echo "$NAME: $PASS passed, $FAIL failed"
