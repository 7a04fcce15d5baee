#!/bin/sh
# cli_errors.sh - how `linli` fails: help texts, usage errors, bad keys,
# key file permissions, and bundles that are cut, altered or not bundles.
#
#   sh tests/cli_errors.sh BUILD_DIR      (the binary is BUILD_DIR/linli)
#
# Every failure must be exactly one line on stderr starting with "linli: "
# and a non-zero exit (2 for usage errors, 1 otherwise).  A rejected import
# must leave the store exactly as it was: same digest, same op count.
set -eu
LC_ALL=C
export LC_ALL

NAME=cli_errors
# LINLI_DATA from the caller's environment must not point the test at a
# real store.
unset LINLI_DATA
. "$(dirname "$0")/clilib.sh"
# refused WANT ARGS: linli must exit with status WANT ("any" for any
# non-zero) and print exactly one line, "linli: ...", on stderr.
refused() {
  want=$1
  shift
  run "$@"
  if [ "$want" = any ]; then
    [ "$RC" -ne 0 ] || fail "linli $* succeeded"
  else
    [ "$RC" -eq "$want" ] || fail "linli $* exited $RC, not $want: $(cat "$T/err")"
  fi
  [ "$(wc -l <"$T/err")" -eq 1 ] || fail "linli $* printed not one line on stderr: $(cat "$T/err")"
  head -c 7 "$T/err" | grep -q '^linli: ' || fail "linli $*: stderr does not start with 'linli: '"
  # a sanitizer report would be more than one line; this also catches an
  # empty message
  [ "$(wc -c <"$T/err")" -gt 10 ] || fail "linli $*: empty error message"
}
# The digest and op count of store A, as one comparable line.
state() {
  must -d A --json status
  sed -n 's/.*"ops":\([0-9]*\).*"digest":"\([0-9a-f]*\)".*/\1 \2/p' "$T/out"
}

COMMANDS="keygen init put incr add rm append del get ls log digest status summary export import verify rebuild help"

echo "# help"
for c in $COMMANDS; do
  must $c --help
  head -n 1 "$T/out" | grep -q "^usage: linli .*$c" || fail "$c --help has no usage line: $(head -n 1 "$T/out")"
  grep -q '^Example:' "$T/out" || fail "$c --help has no example"
  must help $c
  must $c -h
done
must --help
grep -q '^Exit status' "$T/out" || fail "linli --help does not document the exit status"
must -h
must help
must --version
grep -q '^linli [0-9]' "$T/out" || fail "--version printed: $(out)"
# a digest is a sum: equal digests are no proof against chosen records
must digest --help
grep -q "not proof against" "$T/out" || fail "digest --help does not say what equal digests prove"
must status --help
grep -q "not a deliberate forgery" "$T/out" || fail "status --help does not say what the digest proves"
ok "--help, -h and help CMD exit 0 for all 19 commands"

echo "# usage errors: exit 2, one line"
refused 2
refused 2 frobnicate
refused 2 --bogus
refused 2 -d
refused 2 -d A -d B status
refused 2 put
refused 2 put hh/x
refused 2 put hh/x 户主
refused 2 put hh/x =value
refused 2 put hh/x a=1 --frob
refused 2 get
refused 2 get a/b c/d
refused 2 ls a b
refused 2 incr hh/x 积分 12x
refused 2 incr hh/x 积分 ''
refused 2 incr hh/x 积分 '5 5'
refused 2 incr hh/x 积分 0x10
refused 2 incr hh/x 积分 9223372036854775808
refused 2 incr hh/x 积分 -9223372036854775809
refused 2 keygen
refused 2 init
refused 2 init --no-trust --name ''
refused 2 init --no-trust --name "$(printf '%0101d' 0)"
refused 2 summary
refused 2 export
refused 2 export --for
refused 2 status --force
refused 2 help frobnicate
grep -q 'see linli' "$T/err" || fail "a usage error gives no hint: $(cat "$T/err")"
ok "28 kinds of bad usage exit 2 with one line"

echo "# bad record keys"
# a key without '/' is refused once the store shows it has no namespace;
# the others before any store is opened
must -d KEYS init --no-trust --name 石路
for k in nokey a//b //a/b a/b/ / '' "$(printf 'a/\tb')" "$(printf 'hh/\001x')"; do
  refused 2 -d KEYS put "$k" f=v
done
for k in a//b //a/b a/b/ / ''; do
  refused 2 -d A put "$k" f=v
done
ok "8 malformed keys are refused by put"

echo "# missing or wrong data directory"
refused 1 -d "$T/nope" status
grep -q 'no such data directory' "$T/err" || fail "missing dir: $(cat "$T/err")"
refused 1 -d "$T/nope" get a/b
mkdir empty-dir
refused 1 -d empty-dir status
grep -q 'not a linli data directory' "$T/err" || fail "empty dir: $(cat "$T/err")"
refused 1 status
ok "a missing, empty or default data directory is a clear error"

echo "# key files"
must keygen -o node.key
[ "$(stat -c %a node.key)" = 600 ] || fail "secret key has mode $(stat -c %a node.key)"
[ -f node.key.pub ] || fail "no public key file"
refused 1 keygen -o node.key
must keygen -o node.key --force
chmod 644 node.key
refused 1 -d K init --no-trust --name 雅鹿村 --key node.key
grep -q 'mode 644' "$T/err" || fail "0644 key: $(cat "$T/err")"
[ ! -e K ] || [ ! -e K/db ] || fail "init with a refused key created a store"
chmod 600 node.key
must -d K init --no-trust --name 雅鹿村 --key node.key
refused 1 -d K init --no-trust --name 雅鹿村
refused 1 -d K init --no-trust --name 雅鹿村 --key missing.key
ok "keygen writes 0600; a 0644 secret key is refused; init twice fails"

echo "# stores and bundles to damage"
must -d A init --no-trust --name 太仓市双凤镇雅鹿村
must -d A put hh/yalu/0012 户主=张建国 电话=13912345012
must -d A incr hh/yalu/0012 诚信积分 5
must -d B init --no-trust --name 太仓市双凤镇社工站
must -d C init --no-trust --name 太仓市双凤镇东林村
must -d C put notice/shuangfeng/2026-01 标题=民主决策日 日期=2026-01-10
must -d C export -o c.bundle
must -d B import c.bundle
must -d B put req/yalu/2026-0007 事项=FLIPVALUEFLIPVALUE 状态=受理
must -d B add hh/yalu/0012 成员 李秀英
must -d B append diary/yalu/zhoumin 民情日记 "走访0031户"
must -d B export -o b.bundle
must -d B summary -o b.summary
S0=$(state)
SIZE=$(wc -c <b.bundle)
[ "$SIZE" -gt 400 ] || fail "bundle is only $SIZE bytes"
ok "store A and a 2-author bundle from B ($SIZE bytes)"

echo "# truncated bundles"
for cut in 1 10 19 60 120 $((SIZE / 3)) $((SIZE / 2)) $((SIZE - 120)) $((SIZE - 66)) $((SIZE - 1))
do
  head -c "$cut" b.bundle >cut.bundle
  refused 1 -d A import cut.bundle
  echo "   cut at $cut: $(cat "$T/err")"
  [ "$(state)" = "$S0" ] || fail "import of a bundle cut at $cut changed the store"
done
ok "a bundle cut at 10 points is refused and changes nothing"

echo "# bundles with one byte altered"
# The places that matter: the exporter key in the header, an op's value,
# the last delta's signature (just before the trailer), the trailer's hash
# and signature, and a spread of other offsets.
V=$(grep -obUa FLIPVALUE b.bundle | head -n 1 | cut -d: -f1)
TR=$(grep -obUa linli-bundle-end b.bundle | head -n 1 | cut -d: -f1)
[ -n "$V" ] && [ -n "$TR" ] || fail "cannot locate the value or the trailer in the bundle"
# trailer: 0x94, 0xb0 "linli-bundle-end", count, c4 20 hash(32), c4 40 sig(64)
SIGLAST=$((TR - 2 - 30))
HASH=$((TR + 16 + 1 + 2 + 5))
TSIG=$((SIZE - 20))
for off in 0 3 25 40 60 $V $((V + 5)) $SIGLAST $((TR - 3)) $HASH $TSIG $((SIZE - 1)) \
  $((SIZE / 4)) $((SIZE / 3)) $((SIZE / 2)) $((SIZE * 2 / 3))
do
  cp b.bundle flip.bundle
  byte=$(od -An -tu1 -j "$off" -N 1 flip.bundle | tr -d ' ')
  new=$((byte ^ 255))
  # shellcheck disable=SC2059
  printf "\\$(printf %03o "$new")" | dd of=flip.bundle bs=1 seek="$off" conv=notrunc 2>/dev/null
  cmp -s b.bundle flip.bundle && fail "byte $off was not altered"
  refused 1 -d A import flip.bundle
  echo "   byte $off: $(cat "$T/err")"
  [ "$(state)" = "$S0" ] || fail "import of a bundle altered at byte $off changed the store"
done
ok "a bundle with one byte altered at 16 offsets is refused and changes nothing"

echo "# files that are not bundles"
head -c 3000 /dev/urandom >random.bin
: >empty.bin
printf 'linli-bundle-v1\n' >text.bin
for f in random.bin empty.bin text.bin b.summary node.key.pub; do
  refused 1 -d A import $f
  [ "$(state)" = "$S0" ] || fail "import of $f changed the store"
done
refused 1 -d A import no-such-file
refused 1 -d A import empty-dir
refused 1 -d A export --for b.bundle -o x.bundle
refused 1 -d A export --for random.bin -o x.bundle
[ ! -e x.bundle ] || fail "a failed export left x.bundle"
ok "random bytes, empty, text, a summary, a public key, a directory are refused"

echo "# a bundle that starts after ops the store lacks"
must -d D init --no-trust --name 太仓市双凤镇新湖村
must -d D import c.bundle
must -d D summary -o d.summary
must -d C put notice/shuangfeng/2026-01 日期=2026-07-10
must -d C export --for d.summary -o c-for-d.bundle
must -d E init --no-trust --name 空站
refused 1 -d E import c-for-d.bundle
grep -q 'seq' "$T/err" || fail "gap error does not name the seq: $(cat "$T/err")"
must -d E --json status
grep -q '"ops":0,' "$T/out" || fail "a refused gap import applied ops: $(out)"
ok "a bundle with a gap is refused with the seq named"

echo "# the good bundle still imports after all that"
must -d A import b.bundle
[ "$(state)" != "$S0" ] || fail "import of the intact bundle changed nothing"
must -d A verify
ok "the intact bundle imports and verifies"

echo "# writes that cannot succeed"
refused 1 -d A get hh/none
refused 1 -d A log hh/none
refused 1 -d A del hh/none
refused 1 -d A rm hh/yalu/0012 成员 王五
grep -q '王五 is not in hh/yalu/0012 成员' "$T/err" || fail "rm message: $(cat "$T/err")"
refused 1 -d A rm hh/none 成员 王五
refused 1 -d A summary -o no-such-dir/x.summary
S1=$(state)
refused 2 -d A put hh/yalu/0012 "$(printf '%0129d' 0)=x"
[ "$(state)" = "$S1" ] || fail "a refused put changed the store"
ok "absent records, absent set elements and unwritable files fail with one line"

echo "# files that are not regular files: refused by name, at once"
# A FIFO nobody writes to used to block linli for ever.  timeout(1) turns a
# hang into exit 124, which `special` reports.
must -d R init --name 根 --root self
must keygen -o next.key
mkfifo fifo
mkdir dir.bundle
# special PATH WHAT ARGS...: linli ARGS (with @ standing for PATH) refuses
# PATH with one line naming it as WHAT, within seconds.
special() {
  path=$1
  what=$2
  shift 2
  args=""
  for a in "$@"; do
    [ "$a" = @ ] && a=$path
    args="$args $a"
  done
  set +e
  # shellcheck disable=SC2086
  timeout 10 "$LINLI" $args >"$T/out" 2>"$T/err"
  RC=$?
  set -e
  [ "$RC" -ne 124 ] || fail "linli$args waited on $path"
  [ "$RC" -ne 0 ] || fail "linli$args succeeded"
  [ "$(wc -l <"$T/err")" -eq 1 ] || fail "linli$args printed not one line: $(cat "$T/err")"
  grep -q "$path: is $what, not a regular file" "$T/err" ||
    fail "linli$args: $(cat "$T/err")"
}
for f in "fifo:a FIFO (named pipe)" "dir.bundle:a directory" "/dev/null:a device"; do
  p=${f%%:*}
  w=${f#*:}
  special "$p" "$w" -d R import @
  special "$p" "$w" audit @ --root R/node.key.pub
  special "$p" "$w" -d R audit --root @
  special "$p" "$w" -d R export --for @ -o x.bundle
  special "$p" "$w" -d N init --no-trust --name n --key @
  special "$p" "$w" -d N init --name n --root @
  special "$p" "$w" -d R cert install @
  special "$p" "$w" -d R cert show @
  special "$p" "$w" -d R cert issue --subject @ --name 村 --role village -o x.chain
  special "$p" "$w" -d R rotate --key @ x.chain
  special "$p" "$w" -d R rotate --key next.key @
  [ ! -e N ] || fail "a refused init left the directory N"
  [ ! -e x.bundle ] && [ ! -e x.chain ] || fail "a refused command wrote a file"
  # the daemon's config file
  set +e
  timeout 10 "$(dirname "$LINLI")/linli-node" -c "$p" >"$T/out" 2>"$T/err"
  RC=$?
  set -e
  [ "$RC" -ne 124 ] || fail "linli-node -c waited on $p"
  [ "$RC" -ne 0 ] || fail "linli-node -c $p started"
  grep -q "$p: is $w, not a regular file" "$T/err" || fail "linli-node -c $p: $(cat "$T/err")"
done
ok "a FIFO, a directory and a device given as bundle, summary, key, --root, chain or config are refused by name"

echo "# a PC clock before 1970 or before 2020"
# LINLI_TEST_NOW_MS stands for the clock's reading.  Before 1970 RocksDB
# itself aborts on a write, so linli must refuse before opening the store.
S2=$(state)
for now in -86400000 0; do
  LINLI_TEST_NOW_MS=$now refused 1 -d Z init --no-trust --name 钟
  grep -q "clock reads a time before 1970: set the PC's date and time" "$T/err" ||
    fail "init with the clock at $now: $(cat "$T/err")"
  [ ! -e Z ] || fail "init with the clock at $now created Z"
  LINLI_TEST_NOW_MS=$now refused 1 -d A put hh/yalu/0012 户主=钟
  grep -q "before 1970" "$T/err" || fail "put with the clock at $now: $(cat "$T/err")"
  LINLI_TEST_NOW_MS=$now refused 1 -d A status
done
# 2019-12-31 23:59:59.999 UTC: writes refused, reads still work
for w in "init --no-trust --name 钟" "put hh/yalu/0012 户主=钟" "incr hh/yalu/0012 积分 1" \
  "del hh/yalu/0012" "import b.bundle" "rebuild"; do
  d=A
  case $w in init*) d=Z ;; esac
  # shellcheck disable=SC2086
  LINLI_TEST_NOW_MS=1577836799999 refused 1 -d $d $w
  grep -q "clock reads 2019-12-31 23:59 UTC, before 2020: .*set the PC's date and time correctly" \
    "$T/err" || fail "$w with a 2019 clock: $(cat "$T/err")"
done
[ ! -e Z ] || fail "init with a 2019 clock created Z"
LINLI_TEST_NOW_MS=1577836799999 must -d A get hh/yalu/0012
LINLI_TEST_NOW_MS=1577836799999 must -d A status
[ "$(state)" = "$S2" ] || fail "writes with a wrong clock changed the store"
set +e
LINLI_TEST_NOW_MS=1577836799999 timeout 10 "$(dirname "$LINLI")/linli-node" -c no.conf \
  >"$T/out" 2>"$T/err"
RC=$?
set -e
[ "$RC" -eq 1 ] && grep -q "^linli-node: this PC's clock reads 2019-12-31 23:59 UTC, before 2020" \
  "$T/err" || fail "linli-node with a 2019 clock: $RC $(cat "$T/err")"
# from 2020 on, writing works
LINLI_TEST_NOW_MS=1577836800000 must -d Z init --no-trust --name 钟
unset LINLI_TEST_NOW_MS
ok "a clock before 1970 or 2020 is refused before the store is opened, with what to do"

echo "$NAME: $PASS passed, $FAIL failed"
