#!/bin/sh
# cli_guard.sh - guard rails against an operator's slips, and errors that
# say what is wrong.
#
#   sh tests/cli_guard.sh BUILD_DIR
#
# init needs --root or --no-trust and refuses a directory with other files
# in it; status of a --no-trust store says it trusts any signer; export -o
# keeps an existing file unless --force; unknown commands and options
# suggest the nearest; ls quotes keys a shell would split and has -0; an
# unreadable --root file is called unreadable; another user's station is
# reported as permission denied, not as "not a data directory".
set -eu
NAME=cli_guard
. "$(dirname "$0")/clilib.sh"

echo "# init"
run -d A init --name 雅鹿村
[ "$RC" -eq 2 ] || fail "init without --root or --no-trust exited $RC"
grep -q -- "--root KEY is required" "$T/err" || fail "no reason given: $(cat "$T/err")"
[ ! -e A ] || fail "a refused init left the directory A"
mkdir etc
echo "name = x" >etc/jinchang.conf
run -d etc init --name X --no-trust
[ "$RC" -eq 1 ] || fail "init in a directory with files exited $RC"
grep -q "etc is not empty" "$T/err" || fail "no reason given: $(cat "$T/err")"
[ ! -e etc/node.key ] || fail "init dropped node.key into a full directory"
mkdir empty
must -d empty init --name 空 --no-trust
must -d A init --name 雅鹿村 --no-trust
must -d A status
grep -q "trust root: none: this store trusts any signer" "$T/out" ||
  fail "status of a --no-trust store does not say so: $(cat "$T/out")"
must -d A status --json
grep -q '"trust_root":null' "$T/out" || fail "status --json of a --no-trust store: $(cat "$T/out")"
run -d B init --name b --no-trust --root A/node.key.pub
[ "$RC" -eq 2 ] || fail "--root with --no-trust exited $RC"
ok "init needs --root or --no-trust, refuses a directory with files, status names a store without root"

echo "# export -o"
must -d A put hh/a/1 f=v
must -d A export -o a.bundle
echo keep >other.bundle
run -d A export -o other.bundle
[ "$RC" -eq 1 ] || fail "export over an existing file exited $RC"
grep -q "exists; give --force" "$T/err" || fail "no reason given: $(cat "$T/err")"
[ "$(cat other.bundle)" = keep ] || fail "the existing file was changed"
must -d A export -o other.bundle --force
[ "$(cat other.bundle)" != keep ] || fail "--force did not replace the file"
ok "export -o keeps an existing file unless --force"

echo "# suggestions"
run -d A lst
[ "$RC" -eq 2 ] || fail "an unknown command exited $RC"
grep -q "unknown command 'lst' (did you mean 'ls'?)" "$T/err" || fail "no suggestion: $(cat "$T/err")"
run -d A export -o x.bundle --frce
grep -q "unknown option '--frce' (did you mean '--force'?)" "$T/err" || fail "no suggestion: $(cat "$T/err")"
run -d A frobnicate
grep -q "unknown command 'frobnicate'" "$T/err" || fail "$(cat "$T/err")"
! grep -q "did you mean" "$T/err" || fail "a far-off word got a suggestion: $(cat "$T/err")"
ok "unknown commands and options suggest the nearest, and only a near one"

echo "# ls"
must -d A put "hh/a/two words" f=v
must -d A put "hh/a/it's" f=v
must -d A ls hh/a/
printf '%s\n' "hh/a/1" "'hh/a/it'\\''s'" "'hh/a/two words'" >want
cmp -s want "$T/out" || fail "ls output: $(cat "$T/out")"
# What ls prints, a shell reads back as the keys.
eval "set -- $(tr '\n' ' ' <"$T/out")"
[ "$#" -eq 3 ] && [ "$3" = "hh/a/two words" ] && [ "$2" = "hh/a/it's" ] || fail "a shell reads back $# words: $*"
must -d A ls -0 hh/a/
printf 'hh/a/1\0hh/a/it'"'"'s\0hh/a/two words\0' >want0
cmp -s want0 "$T/out" || fail "ls -0 output: $(od -c "$T/out" | head -n 3)"
ok "ls quotes keys a shell would split and prints them NUL-ended with -0"

echo "# permissions"
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1; then
  cp A/node.key.pub root.pub
  chmod 0700 A
  chmod 0755 "$T"
  chmod 0600 root.pub
  as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$LINLI" "$@" >"$T/out" 2>"$T/err"; }
  set +e; as_nobody -d "$T/A" status; RC=$?; set -e
  [ "$RC" -eq 1 ] || fail "status on another user's station exited $RC"
  grep -q "permission denied" "$T/err" || fail "not reported as permission denied: $(cat "$T/err")"
  ! grep -q "init" "$T/err" || fail "the message suggests init: $(cat "$T/err")"
  set +e; as_nobody -d "$T/N" init --name n --root "$T/root.pub"; RC=$?; set -e
  grep -q "root.pub: unreadable (permission denied)" "$T/err" ||
    fail "an unreadable --root file: $(cat "$T/err")"
  ok "another user's station is permission denied; an unreadable file is unreadable"
else
  ok "permission checks skipped: they need root and setpriv to act as another user"
fi
echo "$NAME: $PASS passed, $FAIL failed"
