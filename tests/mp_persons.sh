#!/bin/sh
# mp_persons.sh - people, not only stations: a clerk's write, signed by the
# clerk's own key at the village, reaches the street and the district, and
# linli log and linli audit name the clerk there; the trust rules hold for
# persons at every station.
#
#   sh tests/mp_persons.sh BUILD_DIR
#
# District di (the trust root) certifies street st (gusu/jinchang/), which
# certifies village sh, 石路村 (gusu/jinchang/shilu/).  At sh, while its
# linli-node runs (so every command goes through the control socket):
# 王芳 (clerk), 孙审 (auditor) and 赵评 (assessor) are added; 王芳 writes a
# household; it syncs up; the district's log and audit say 王芳 (clerk,
# 石路村).  孙审's write is refused at sh, and so is 赵评's outside pts/.
# 王芳 is revoked; her later op, written on a copy of sh's disk made before
# the revocation and carried to the district on a stick, is refused there.
set -eu
NAME=mp_persons
. "$(dirname "$0")/mp_lib.sh"

NS=gusu/jinchang/shilu
PW=$T/pw
printf 'correct horse\n' >"$PW"

echo "# district di (root), street st, village sh (石路村)"
"$LINLI" -d "$T/di" init --name 姑苏区 --root self >"$T/q.out" 2>"$T/q.err" ||
  fail "init of di failed: $(cat "$T/q.err")"
PK_D=$(cat "$T/di/node.key.pub")
"$LINLI" -d "$T/st" init --name 金阊街道 --root "$PK_D" >"$T/q.out" 2>"$T/q.err" ||
  fail "init of st failed: $(cat "$T/q.err")"
PK_S=$(cat "$T/st/node.key.pub")
"$LINLI" -d "$T/sh" init --name 石路村 --root "$PK_D" >"$T/q.out" 2>"$T/q.err" ||
  fail "init of sh failed: $(cat "$T/q.err")"
PK_V=$(cat "$T/sh/node.key.pub")
q "$T/di" cert issue --subject "$PK_S" --name 金阊街道 --role street --prefix gusu/jinchang/ \
  -o "$T/st.chain" >/dev/null || fail "cert issue for st: $(cat "$T/q.err")"
q "$T/st" cert install "$T/st.chain" >/dev/null || fail "cert install at st: $(cat "$T/q.err")"
q "$T/st" cert issue --subject "$PK_V" --name 石路村 --role village --prefix "$NS/" \
  -o "$T/sh.chain" >/dev/null || fail "cert issue for sh: $(cat "$T/q.err")"
q "$T/sh" cert install "$T/sh.chain" >/dev/null || fail "cert install at sh: $(cat "$T/q.err")"

listen_conf di district "child = $PK_S st"
node_listen di 0
PORT_D=$PORT
street_conf st "parent = tcp://127.0.0.1:$PORT_D $PK_D di" "child = $PK_V sh"
node_listen st 1
PORT_S=$PORT
village_conf sh "$PORT_S" "$PK_S" st
node_start sh || fail "sh exited at start: $(tail -n 1 "$T/sh.log")"
ok "three stations run"

echo "# people at the village, added through its running linli-node"
q "$T/sh" user add 王芳 --role clerk --password-file "$PW" >/dev/null ||
  fail "user add 王芳: $(cat "$T/q.err")"
printf 'auditor pass\n' | q "$T/sh" user add 孙审 --role auditor --password-file - >/dev/null ||
  fail "user add 孙审 (password on stdin): $(cat "$T/q.err")"
printf 'assessor pass\n' >"$T/pw3"
q "$T/sh" user add 赵评 --role assessor --password-file "$T/pw3" >/dev/null ||
  fail "user add 赵评: $(cat "$T/q.err")"
J=$(q "$T/sh" user list --json) || fail "user list: $(cat "$T/q.err")"
for want in '"name":"王芳","role":"clerk"' '"name":"孙审","role":"auditor"' \
  "\"name\":\"赵评\",\"role\":\"assessor\",\"key\":\"[0-9a-f]*\",\"prefix\":\"$NS/pts/\""; do
  printf '%s\n' "$J" | grep -q "$want" || fail "user list lacks $want: $J"
done
[ "$(stat -c %a "$T/sh/users.json")" = 600 ] || fail "users.json is not mode 0600"
grep -q "correct horse" "$T/sh/users.json" && fail "users.json holds a password"
ok "user add (password from a file and from stdin) and user list through the node"

q "$T/sh" put --as 王芳 --password-file "$PW" hh/0001 户主=陈建国 >/dev/null ||
  fail "put --as 王芳: $(cat "$T/q.err")"
printf 'wrong horse\n' >"$T/pwbad"
if q "$T/sh" put --as 王芳 --password-file "$T/pwbad" hh/0001 户主=李四 >/dev/null; then
  fail "a write with a wrong password was taken"
fi
grep -q "wrong user name or password" "$T/q.err" || fail "wrong password: $(cat "$T/q.err")"
if q "$T/sh" put --as 王五 --password-file "$PW" hh/0001 户主=李四 >/dev/null; then
  fail "a write as an unknown user was taken"
fi
grep -q "wrong user name or password" "$T/q.err" || fail "unknown user: $(cat "$T/q.err")"
grep -q "correct horse\|wrong horse" "$T/sh.log" && fail "a password is in sh's log"
q "$T/sh" log hh/0001 >"$T/log.sh" || fail "log at sh: $(cat "$T/q.err")"
grep -q "王芳 (clerk, 石路村)" "$T/log.sh" || fail "sh's log does not name 王芳: $(cat "$T/log.sh")"
ok "王芳 writes hh/0001 as herself; a wrong password and an unknown name are refused alike"

echo "# the write reaches the street and the district"
poll 30 has_n "$T/di" "/$NS/hh/" 1 || fail "王芳's record did not reach di"
poll 10 has_n "$T/st" "/$NS/hh/" 1 || fail "王芳's record is not at st"
for d in st di; do
  q "$T/$d" log "/$NS/hh/0001" >"$T/log.$d" || fail "log at $d: $(cat "$T/q.err")"
  grep -q "王芳 (clerk, 石路村)" "$T/log.$d" || fail "$d's log does not name 王芳: $(cat "$T/log.$d")"
done
J=$(q "$T/di" --json log "/$NS/hh/0001") || fail "log --json at di: $(cat "$T/q.err")"
printf '%s\n' "$J" | grep -q '"name":"王芳","role":"clerk","station":"石路村"' ||
  fail "di's log --json lacks name, role and station: $J"
ok "the street's and the district's log say 王芳 (clerk, 石路村)"

# The auditor reads the district's raw log rows, trusting only the root.
"$LINLI" -d "$T/di" audit --root "$PK_D" --record "$NS/hh/0001" >"$T/audit.out" 2>"$T/q.err" ||
  fail "audit at di failed: $(cat "$T/q.err") $(tail -n 5 "$T/audit.out")"
grep -q "王芳 (clerk, 石路村)  seq 2  set 户主 = 陈建国" "$T/audit.out" ||
  fail "the audit's history does not name 王芳: $(cat "$T/audit.out")"
J=$("$LINLI" -d "$T/di" --json audit --root "$PK_D" --record "$NS/hh/0001") ||
  fail "audit --json at di failed"
printf '%s\n' "$J" | grep -q '"name":"王芳","role":"clerk","station":"石路村"' ||
  fail "audit --json lacks the person: $J"
ok "linli audit --record at the district names 王芳 from the chain in her log"

echo "# roles hold at the village"
if q "$T/sh" put --as 孙审 --password-file "$T/pw3" hh/0002 户主=x >/dev/null; then
  fail "孙审 wrote with 赵评's password"
fi
if printf 'auditor pass\n' | q "$T/sh" put --as 孙审 --password-file - hh/0002 户主=x >/dev/null; then
  fail "an auditor's write was taken"
fi
grep -q "an auditor reads and audits" "$T/q.err" || fail "auditor refusal: $(cat "$T/q.err")"
if q "$T/sh" put --as 赵评 --password-file "$T/pw3" hh/0002 户主=x >/dev/null; then
  fail "an assessor's write outside pts/ was taken"
fi
grep -q "outside its namespace '$NS/pts/'" "$T/q.err" || fail "assessor refusal: $(cat "$T/q.err")"
q "$T/sh" incr --as 赵评 --password-file "$T/pw3" pts/0001 积分 5 >/dev/null ||
  fail "the assessor's points write was refused: $(cat "$T/q.err")"
q "$T/sh" put --as 王芳 --password-file "$PW" hh/0003 户主=林 >/dev/null ||
  fail "王芳 is blocked after the others' refusals: $(cat "$T/q.err")"
poll 30 has_n "$T/di" "/$NS/" 3 || fail "the points and 王芳's second record did not reach di"
[ "$(nkeys "$T/di" "/$NS/hh/")" -eq 2 ] || fail "di holds a household the refused writes made"
ok "an auditor writes nothing, an assessor only points; refusals leave no trace"

echo "# 王芳 is revoked; an op she signs later is refused at the district"
node_stop sh
cp -r "$T/sh" "$T/old"
rm -f "$T/old/control.sock"
node_start sh || fail "sh exited at restart: $(tail -n 1 "$T/sh.log")"
q "$T/sh" user revoke 王芳 --reason 调离 >/dev/null || fail "user revoke: $(cat "$T/q.err")"
if q "$T/sh" put --as 王芳 --password-file "$PW" hh/0004 户主=x >/dev/null; then
  fail "a revoked person wrote at sh"
fi
grep -q "revoked" "$T/q.err" || fail "revoked login: $(cat "$T/q.err")"
J=$(q "$T/sh" user list --json) || fail "user list: $(cat "$T/q.err")"
printf '%s\n' "$J" | grep -q '"name":"王芳","role":"clerk",[^}]*"revoked":true' ||
  fail "user list does not show 王芳 revoked: $J"
REV_KEY=$(printf '%s\n' "$J" | sed -n 's/.*"name":"王芳","role":"clerk","key":"\([0-9a-f]*\)".*/\1/p')
poll 30 sh -c "'$LINLI' -d '$T/di' ls /trust/revoke/ | grep -q '$REV_KEY'" ||
  fail "the revocation did not reach di"
# On the copy made before the revocation, 王芳 still unlocks and signs.
q "$T/old" put --as 王芳 --password-file "$PW" hh/0005 户主=晚 >/dev/null ||
  fail "put --as 王芳 on the old copy: $(cat "$T/q.err")"
q "$T/old" export -o "$T/old.bundle" >/dev/null || fail "export of the old copy: $(cat "$T/q.err")"
if q "$T/di" import "$T/old.bundle" >/dev/null; then
  fail "the district imported 王芳's op signed after her revocation"
fi
grep -q "revoked" "$T/q.err" || fail "the district's refusal does not say revoked: $(cat "$T/q.err")"
[ "$(nkeys "$T/di" "/$NS/hh/")" -eq 2 ] || fail "di holds 王芳's late household"
q "$T/di" log "/$NS/hh/0001" >"$T/log.di" || fail "log at di: $(cat "$T/q.err")"
grep -q "王芳 (clerk, 石路村)" "$T/log.di" || fail "王芳's earlier op lost its name at di"
"$LINLI" -d "$T/di" audit --root "$PK_D" >"$T/audit.out" 2>"$T/q.err" ||
  fail "audit at di after the revocation: $(tail -n 5 "$T/audit.out")"
ok "the revocation reaches the district, which refuses her later op and keeps her earlier ones"

for n in sh st di; do node_stop $n; done
ok "all stopped cleanly"
echo "$NAME: $PASS passed, $FAIL failed"
