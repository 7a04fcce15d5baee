#!/bin/sh
# mp_crash.sh - power cuts (SIGKILL) at many points: inside every
# multi-write operation (the test-only failpoints, node/failpoint.h), and at
# random moments of CLI writes, imports and a receiving linli-node.
#
#   sh tests/mp_crash.sh BUILD_DIR
#
# After every kill the store must open (finishing what the crash
# interrupted), every write acknowledged before the kill must be there, and
# at the end of each part the store verifies and `linli rebuild` gives the
# digest it had.  The last line counts the kills.
set -eu
NAME=mp_crash
. "$(dirname "$0")/mp_lib.sh"

KILLS=0
START=$(date +%s)
# A small LCG: the kill moments differ from run to run but are printed.
SEED=${MP_CRASH_SEED:-$$}
echo "# seed $SEED"
rnd() {
  SEED=$(((SEED * 1103515245 + 12345) % 2147483648))
  echo $((SEED / 65536 % $1))
}
# fp DIR POINT ARGS...: linli with the failpoint armed; it must be killed there.
fp() {
  _d=$1
  _p=$2
  shift 2
  set +e
  LINLI_FAILPOINT=$_p "$LINLI" -d "$_d" "$@" >"$T/fp.out" 2>"$T/fp.err"
  _rc=$?
  set -e
  [ $_rc -eq 137 ] || fail "linli $* was not killed at failpoint $_p (status $_rc): $(cat "$T/fp.err")"
  KILLS=$((KILLS + 1))
}
# consistent DIR: the store verifies, and a full rebuild keeps its digest.
consistent() {
  q "$1" verify >/dev/null || fail "verify of $1 failed: $(cat "$T/q.err")"
  _a=$(q "$1" digest) || fail "digest of $1: $(cat "$T/q.err")"
  q "$1" rebuild >/dev/null || fail "rebuild of $1 failed: $(cat "$T/q.err")"
  _b=$(q "$1" digest)
  [ "$_a" = "$_b" ] || fail "$1: digest $_a before a full rebuild, $_b after"
}
id_of() { cat "$1/node.key.pub"; }
# mixed ops of both authors on shared records, before and after the
# revocation's seq: what stays must equal a replay of the log
mixed() {
  _i=0
  while [ $_i -lt $2 ]; do
    _i=$((_i + 1))
    _k=a/m$(rnd 6)
    case $(rnd 5) in
    0) q "$T/$1" put "$_k" f="$1-$_i" >/dev/null ;;
    1) q "$T/$1" incr "$_k" n $(($(rnd 9) - 4)) >/dev/null ;;
    2) q "$T/$1" add "$_k" tags "t$(rnd 4)" >/dev/null ;;
    3) q "$T/$1" append "$_k" diary "$1 $_i" >/dev/null ;;
    4) q "$T/$1" del "$_k" >/dev/null || grep -q "not found" "$T/q.err" ;;
    esac || fail "write at $1: $(cat "$T/q.err")"
  done
}

echo "# init: the store, its root and the restore flag are one write"
for p in init-key init-db; do
  fp "$T/i-$p" $p init --name x --root self
  run_rc=0
  q "$T/i-$p" status >/dev/null || run_rc=$?
  [ $run_rc -ne 0 ] || fail "a store exists after a crash at $p"
  q "$T/i-$p" init --name x --key "$T/i-$p/node.key" --root self >/dev/null ||
    fail "init after a crash at $p: $(cat "$T/q.err")"
  J=$(q "$T/i-$p" --json status)
  printf '%s' "$J" | grep -q '"trust_root":"' || fail "store made after a crash at $p has no root: $J"
done
# a restored device: a crash in init leaves no store that could write
fp "$T/i-r" init-db init --no-trust --name x --key "$T/i-init-db/node.key" --restore
q "$T/i-r" init --no-trust --name x --key "$T/i-init-db/node.key" --restore >/dev/null ||
  fail "init --restore after a crash: $(cat "$T/q.err")"
q "$T/i-r" --json status | grep -q '"recovering":true' || fail "a restored store is not recovering"
mkdir -p "$T/i-other"
cp "$T/i-init-key/node.key" "$T/i-other/"
if q "$T/i-other" init --no-trust --name y >/dev/null; then
  fail "init overwrote a key file it did not make"
fi
grep -q "holds another key but no store" "$T/q.err" || fail "init: $(cat "$T/q.err")"
ok "a crash inside init leaves no store; init again makes it whole, with its root"

echo "# a revocation reaching back over held ops"
q "$T/D" init --name D --root self >/dev/null
ROOT=$(id_of "$T/D")
for n in S S2 E; do
  q "$T/$n" init --name $n --root "$ROOT" >/dev/null || fail "init $n: $(cat "$T/q.err")"
done
q "$T/D" cert issue --subject "$T/S/node.key.pub" --name S --role street --prefix a/ -o "$T/s.chain" >/dev/null
q "$T/S" cert install "$T/s.chain" >/dev/null || fail "cert install: $(cat "$T/q.err")"
q "$T/D" cert issue --subject "$T/S2/node.key.pub" --name S2 --role street --prefix a/ -o "$T/s2.chain" >/dev/null
q "$T/S2" cert install "$T/s2.chain" >/dev/null || fail "cert install: $(cat "$T/q.err")"
# another author writes the same records: what it wrote must stay
q "$T/S2" put a/1 z=9 >/dev/null
q "$T/S2" put a/3 w=1 >/dev/null
q "$T/S" put a/1 x=1 >/dev/null
q "$T/S" put a/2 x=2 >/dev/null
# up FROM TO: everything FROM holds that TO lacks, by bundle
up() {
  q "$T/$2" summary -o "$T/$2.summary" >/dev/null || fail "summary $2: $(cat "$T/q.err")"
  q "$T/$1" export --for "$T/$2.summary" -o "$T/$1-$2.bundle" --force >/dev/null || fail "export $1: $(cat "$T/q.err")"
  q "$T/$2" import "$T/$1-$2.bundle" >/dev/null || fail "import into $2: $(cat "$T/q.err")"
}
up S D
q "$T/D" cert revoke --subject "$T/S/node.key.pub" --reason stolen >/dev/null || fail "revoke: $(cat "$T/q.err")"
# the stolen key writes on: a new record and a change to an old one
q "$T/S" put a/3 x=3 >/dev/null
q "$T/S" put a/1 x=changed y=1 >/dev/null
mixed S 8
mixed S2 8
# E holds no certificate: a bundle made for its summary would hold none of
# the exporter's own log (E might be a sibling), so S and S2 give it whole
q "$T/S" export -o "$T/S-E.bundle" >/dev/null || fail "export S: $(cat "$T/q.err")"
q "$T/E" import "$T/S-E.bundle" >/dev/null || fail "import into E: $(cat "$T/q.err")"
q "$T/S2" export -o "$T/S2-E.bundle" >/dev/null || fail "export S2: $(cat "$T/q.err")"
q "$T/E" import "$T/S2-E.bundle" >/dev/null || fail "import into E: $(cat "$T/q.err")"
q "$T/E" get a/3 | grep -q "x (register): 3" || fail "E lacks a/3's x"

q "$T/E" summary -o "$T/E.summary" >/dev/null
q "$T/D" export --for "$T/E.summary" -o "$T/rev.bundle" >/dev/null
# E0: the revocation imported without a crash, as the reference
cp -r "$T/E" "$T/E0"
q "$T/E0" import "$T/rev.bundle" >/dev/null || fail "import of the revocation: $(cat "$T/q.err")"
REF=$(q "$T/E0" digest)
q "$T/E0" get a/3 >"$T/a3" || fail "a/3, written by another author too, is gone"
grep -q "x (register)" "$T/a3" && fail "the revoked op on a/3 is still visible: $(cat "$T/a3")"
grep -q "w (register): 1" "$T/a3" || fail "a/3 lost the other author's op: $(cat "$T/a3")"
q "$T/E0" get a/1 >"$T/a1"
grep -q "x (register): 1" "$T/a1" && grep -q "z (register): 9" "$T/a1" &&
  ! grep -q "y (register)" "$T/a1" || fail "a/1 not recomputed: $(cat "$T/a1")"
consistent "$T/E0"
# the district never held the stolen key's later ops: with the other
# author's ops it must hold exactly what E kept
up S2 D
[ "$(q "$T/D" digest)" = "$REF" ] || fail "after the cut E's digest $REF differs from the district's $(q "$T/D" digest)"
ok "a revocation cuts the later ops and recomputes the records they touched"
for p in commit-enforce enforce; do
  cp -r "$T/E" "$T/E-$p"
  fp "$T/E-$p" $p import "$T/rev.bundle"
  [ "$(q "$T/E-$p" digest)" = "$REF" ] || fail "after a crash at $p and an open, E's digest is not the reference's"
  q "$T/E-$p" get a/3 | grep -q "x (register)" && fail "after a crash at $p the revoked op on a/3 is still visible"
  consistent "$T/E-$p"
done
ok "a crash after the commit or inside the enforcement is finished at the next open"
# an enforcement that fails: the commit is durable and reported so
cp -r "$T/E" "$T/E-err"
LINLI_FAILPOINT=enforce:err "$LINLI" -d "$T/E-err" import "$T/rev.bundle" >"$T/fp.out" 2>"$T/fp.err" ||
  fail "an import whose enforcement failed was reported as failed: $(cat "$T/fp.err")"
grep -q "retried at the next open" "$T/fp.err" || fail "no warning: $(cat "$T/fp.err")"
[ "$(q "$T/E-err" digest)" = "$REF" ] || fail "the failed enforcement was not finished at the next open"
ok "a commit whose enforcement fails reports success; the next open enforces"

echo "# rebuild"
cp -r "$T/E0" "$T/R"
fp "$T/R" rebuild-cleared rebuild
[ "$(q "$T/R" digest)" = "$REF" ] || fail "an interrupted rebuild was not finished at open"
consistent "$T/R"
ok "a rebuild killed after clearing the views is finished at the next open"

echo "# key rotation: the key files are renamed, then the store's key written"
for p in rotate-retired rotate-renamed; do
  q "$T/K-$p" init --name K --root "$ROOT" >/dev/null
  OLD=$(id_of "$T/K-$p")
  q "$T/D" cert issue --subject "$T/K-$p/node.key.pub" --name K --role street --prefix k/ -o "$T/k.chain" >/dev/null
  q "$T/K-$p" cert install "$T/k.chain" >/dev/null || fail "cert install: $(cat "$T/q.err")"
  q "$T/K-$p" put k/1 a=1 >/dev/null
  q "$T/K-$p" keygen -o "$T/next-$p.key" >/dev/null
  NEW=$(cat "$T/next-$p.key.pub")
  q "$T/D" cert issue --subject "$T/next-$p.key.pub" --name K --role street --prefix k/ -o "$T/next-$p.chain" >/dev/null
  fp "$T/K-$p" $p rotate --key "$T/next-$p.key" "$T/next-$p.chain"
  q "$T/K-$p" --json status >"$T/st.json" || fail "the store does not open after a crash at $p: $(cat "$T/q.err")"
  if [ $p = rotate-retired ]; then
    grep -q "\"id\":\"$OLD\"" "$T/st.json" || fail "the old key is not back after a crash at $p"
    q "$T/K-$p" rotate --key "$T/next-$p.key" "$T/next-$p.chain" >/dev/null ||
      fail "rotate again after a crash at $p: $(cat "$T/q.err")"
  else
    grep -q "\"id\":\"$NEW\"" "$T/st.json" || fail "the rotation was not finished after a crash at $p"
    q "$T/K-$p" cert install "$T/next-$p.chain" >/dev/null || fail "cert install after $p: $(cat "$T/q.err")"
  fi
  q "$T/K-$p" put k/2 a=2 >/dev/null || fail "put after a crash at $p: $(cat "$T/q.err")"
  consistent "$T/K-$p"
done
ok "a rotation killed between its renames is undone, after them finished, at the next open"

echo "# a restored device: the import's commits, then recovering cleared"
q "$T/P" init --name P --root "$ROOT" >/dev/null
q "$T/D" cert issue --subject "$T/P/node.key.pub" --name P --role street --prefix p/ -o "$T/p.chain" >/dev/null
q "$T/P" cert install "$T/p.chain" >/dev/null || fail "cert install: $(cat "$T/q.err")"
q "$T/P" put p/1 a=1 >/dev/null
up P D
q "$T/PR" init --name P --root "$ROOT" --key "$T/P/node.key" --restore >/dev/null
q "$T/PR" summary -o "$T/PR.summary" >/dev/null
q "$T/D" export --for "$T/PR.summary" -o "$T/D-PR.bundle" >/dev/null
fp "$T/PR" import-recover import "$T/D-PR.bundle"
q "$T/PR" --json status | grep -q '"recovering":true' || fail "recovering cleared though the crash came first"
q "$T/PR" get p/1 >/dev/null || fail "the import's data is not there after the crash"
q "$T/PR" put p/2 a=2 >/dev/null 2>&1 && fail "a recovering node wrote"
q "$T/PR" import "$T/D-PR.bundle" >"$T/out" || fail "import again: $(cat "$T/q.err")"
grep -q "own log recovered" "$T/out" || fail "import again did not end recovery: $(cat "$T/out")"
q "$T/PR" put p/2 a=2 >/dev/null || fail "put after recovery: $(cat "$T/q.err")"
consistent "$T/PR"
ok "an import killed before it cleared recovering: still recovering, the same bundle again ends it"

echo "# CLI writes killed at random moments"
mkstation w
# kill moments spread over 1.5 times what an uninterrupted put takes here
t0=$(date +%s%N)
q "$T/w" put k/0 v=0 >/dev/null
DLY=$((($(date +%s%N) - t0) / 1000000 + 1))
ms() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }
n=0
acked=""
while [ $n -lt 30 ]; do
  n=$((n + 1))
  "$LINLI" -d "$T/w" put "k/$n" v="值$n" >"$T/w.out" 2>&1 &
  pid=$!
  sleep "$(ms $((DLY + $(rnd $((DLY / 2 + 1))) - DLY / 4)))"
  kill -KILL $pid 2>/dev/null || :
  rc=0
  wait $pid || rc=$?
  KILLS=$((KILLS + 1))
  # kill sooner after a put that finished, later after one that did not:
  # the moments stay around the end of the write
  if [ $rc -eq 0 ]; then
    acked="$acked $n"
    DLY=$((DLY * 4 / 5))
  else
    DLY=$((DLY * 5 / 4 + 1))
  fi
  q "$T/w" status >/dev/null || fail "the store does not open after kill $n: $(cat "$T/q.err")"
done
for k in $acked; do
  q "$T/w" get "k/$k" | grep -q "值$k" || fail "acknowledged write k/$k lost"
done
consistent "$T/w"
ok "30 puts killed at random: $(echo $acked | wc -w) acknowledged writes all there, store consistent"

echo "# imports killed at random moments"
mkstation src
n=0
while [ $n -lt 20 ]; do
  n=$((n + 1))
  q "$T/src" put "b/$n" a="$n" b="乙$n" c=$((n * 7)) >/dev/null
done
q "$T/src" export -o "$T/src.bundle" >/dev/null
SRC=$(q "$T/src" digest)
mkstation imp
t0=$(date +%s%N)
q "$T/src" import "$T/src.bundle" >/dev/null
IMP_MS=$((($(date +%s%N) - t0) / 1000000 + 1))
n=0
while [ $n -lt 12 ]; do
  n=$((n + 1))
  "$LINLI" -d "$T/imp" import "$T/src.bundle" >"$T/imp.out" 2>&1 &
  pid=$!
  sleep "$(ms "$(rnd $((IMP_MS * 3)))")"
  kill -KILL $pid 2>/dev/null || :
  rc=0
  wait $pid || rc=$?
  KILLS=$((KILLS + 1))
  if [ $rc -eq 0 ]; then
    [ "$(q "$T/imp" digest)" = "$SRC" ] || fail "an acknowledged import is not all there"
  fi
  q "$T/imp" verify >/dev/null || fail "verify after import kill $n: $(cat "$T/q.err")"
done
q "$T/imp" import "$T/src.bundle" >/dev/null || fail "import after the kills: $(cat "$T/q.err")"
[ "$(q "$T/imp" digest)" = "$SRC" ] || fail "after the kills the import does not give the exporter's digest"
consistent "$T/imp"
ok "12 imports killed at random: the store verifies after each, and the import completes"

echo "# a receiving node killed at random moments"
mkstation st; PK_S=$PK
mkstation va; PK_A=$PK
n=0
while [ $n -lt 40 ]; do
  n=$((n + 1))
  q "$T/va" put "c/$n" a="$n" b="丙$n" >/dev/null
done
cat >"$T/st.conf.in" <<EOF2
name = st
role = street
data = $T/st
listen = tcp://127.0.0.1:@PORT@
child = $PK_A va
EOF2
node_listen st 0
cat >"$T/va.conf" <<EOF2
name = va
role = village
data = $T/va
parent = tcp://127.0.0.1:$PORT $PK_S st
EOF2
node_kill st
node_start va || fail "va exited at start: $(tail -n 1 "$T/va.log")"
n=0
held=0
while [ $n -lt 6 ]; do
  n=$((n + 1))
  node_start st || fail "st exited at start: $(tail -n 1 "$T/st.log")"
  # the village writes on while the street receives
  q "$T/va" put "c/x$n" a="$n" >/dev/null || fail "put at va: $(cat "$T/q.err")"
  sleep "$(ms "$(rnd 400)")"
  node_kill st
  KILLS=$((KILLS + 1))
  J=$(q "$T/st" --json status) || fail "st does not open after kill $n: $(cat "$T/q.err")"
  now=$(jnum ops)
  [ "$now" -ge "$held" ] || fail "st held $held ops, after kill $n only $now"
  held=$now
  q "$T/st" verify >/dev/null || fail "verify of st after kill $n: $(cat "$T/q.err")"
done
node_start st || fail "st exited at start: $(tail -n 1 "$T/st.log")"
same() {
  a=$(q "$T/va" digest) && b=$(q "$T/st" digest) && [ "$a" = "$b" ]
}
poll 30 same || fail "digests differ after the restarts: va $(q "$T/va" digest), st $(q "$T/st" digest)"
node_stop st
node_stop va
consistent "$T/st"
ok "a receiving node killed 6 times while syncing: what it held stays, it verifies and catches up"

[ $KILLS -ge 50 ] || fail "only $KILLS kills"
echo "# $KILLS processes killed in $(($(date +%s) - START)) s"
echo "$NAME: $PASS passed, $FAIL failed"
