# clilib.sh - what the CLI test scripts share; sourced after NAME is set.
#
#   sh tests/cli_X.sh BUILD_DIR      (the binary is BUILD_DIR/linli)
#
# Sets LINLI and T (a temporary directory, removed on exit, the current
# directory), and defines ok/fail (counting, with the closing
# "NAME: N passed, N failed" line on failure), run/must (linli with its
# output in $T/out and $T/err, status in RC), out, jnum, refused_with,
# has, id and up.
if [ $# -ne 1 ]; then
  echo "usage: sh tests/$NAME.sh BUILD_DIR" >&2
  exit 2
fi
LINLI=$1/linli
case $LINLI in /*) ;; *) LINLI=$(pwd)/$LINLI ;; esac
if [ ! -x "$LINLI" ]; then
  echo "$NAME: $LINLI is not an executable" >&2
  exit 1
fi
# The community schema of the source tree.
SCHEMA=$(cd "$(dirname "$0")/.." && pwd)/deploy/schemas/community.json
T=$(mktemp -d "${TMPDIR:-/tmp}/$NAME.XXXXXX")
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cd "$T"

PASS=0
FAIL=0
ok() {
  PASS=$((PASS + 1))
  echo "ok - $*"
}
fail() {
  FAIL=$((FAIL + 1))
  echo "FAIL - $*" >&2
  echo "$NAME: $PASS passed, $FAIL failed"
  exit 1
}
# run ARGS: linli with its stdout in $T/out and stderr in $T/err; RC is set.
run() {
  set +e
  "$LINLI" "$@" >"$T/out" 2>"$T/err"
  RC=$?
  set -e
}
# must ARGS: run, and fail the test unless linli succeeded.
must() {
  run "$@"
  [ "$RC" -eq 0 ] || fail "linli $* exited $RC: $(cat "$T/err")"
}
out() {
  cat "$T/out"
}
# The value of a numeric member of the JSON in $T/out.
jnum() {
  sed -n 's/.*"'"$1"'":\(-\{0,1\}[0-9][0-9]*\).*/\1/p' "$T/out"
}

# refused_with WANT PATTERN ARGS: linli exits WANT and prints one line on
# stderr holding PATTERN.
refused_with() {
  want=$1 pat=$2
  shift 2
  run "$@"
  [ "$RC" -eq "$want" ] || fail "linli $* exited $RC, not $want: $(cat "$T/err")"
  [ "$(wc -l <"$T/err")" -eq 1 ] || fail "linli $*: not one line on stderr: $(cat "$T/err")"
  grep -q -- "$pat" "$T/err" || fail "linli $*: '$pat' not in: $(cat "$T/err")"
}
# has TEXT: the last run printed TEXT (on stdout or stderr)
has() {
  grep -q -- "$1" "$T/out" "$T/err" || fail "expected '$1' in: $(cat "$T/out" "$T/err")"
}
# id DIR: the node's public key (hex)
id() {
  "$LINLI" -d "$1" --json status | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p'
}
# up FROM TO: everything FROM holds that TO lacks, by bundle
up() {
  must -d "$2" summary -o "$T/$2.summary"
  must -d "$1" export --for "$T/$2.summary" -o "$T/$1-$2.bundle" --force
  must -d "$2" import "$T/$1-$2.bundle"
}
