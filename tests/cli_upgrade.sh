#!/bin/sh
# cli_upgrade.sh - a store written by an earlier release opens in this one.
#
#   sh tests/cli_upgrade.sh BUILD_DIR
#
# tests/fixtures/store-format1.tar.gz is a data directory of store format 1
# (the first), made by linli 0.x with LINLI_TEST_NOW_MS=1800000000000:
# init --root self, then put/incr/add on hh/yalu/0012 and a put on
# "hh/yalu/two words".  This version must open it (migrating it when the
# format has moved on), verify it, read the same records and digest, and
# write to it.  When the store format changes, keep this fixture and add
# one made by the last release of the old format.  (A store of a newer
# format is refused: test_store.)
set -eu
NAME=cli_upgrade
FIXTURE=$(cd "$(dirname "$0")" && pwd)/fixtures/store-format1.tar.gz
. "$(dirname "$0")/clilib.sh"

tar -xzf "$FIXTURE" -C "$T" || fail "cannot unpack $FIXTURE"
D=$T/store-format1
chmod 0700 "$D"
chmod 0600 "$D/node.key"
export LINLI_TEST_NOW_MS=1800000100000
must -d "$D" --json status
[ "$(jnum ops)" = 5 ] || fail "ops: $(cat "$T/out")"
grep -q '"digest":"ccfde03c3dc7e0a2f5ba179550bbc519f8714be88928bf4aef9598d18c5a440e"' "$T/out" ||
  fail "the digest changed: $(cat "$T/out")"
grep -q '"trust_root":"a6c490ab28bb' "$T/out" || fail "the trust root is gone: $(cat "$T/out")"
must -d "$D" verify
must -d "$D" get hh/yalu/0012
grep -q "张建国" "$T/out" && grep -q "张小梅" "$T/out" || fail "get: $(cat "$T/out")"
ok "a format-1 store opens, verifies, and reads the same records and digest"
must -d "$D" put hh/yalu/0013 户主=李四
must -d "$D" --json status
[ "$(jnum ops)" = 6 ] || fail "ops after a write: $(cat "$T/out")"
ok "and takes new writes"
echo "$NAME: $PASS passed, $FAIL failed"
