#!/bin/sh
# cli_offline.sh - linli restore --offline: a station restored from a
# backup while its parent cannot be reached moves to a new key certified
# by its parent and writes at once; the old key never signs again, so the
# parent, which holds what the old key wrote after the backup, sees no
# fork, and nothing written is lost.
#
#   sh tests/cli_offline.sh BUILD_DIR
set -eu
NAME=cli_offline
. "$(dirname "$0")/clilib.sh"

must -d S init --name 金阊街道 --root self
must -d V init --name 雅鹿村 --root S/node.key.pub
must -d S cert issue --subject V/node.key.pub --name 雅鹿村 --role village --prefix gusu/jinchang/v12/ -o v.chain
must -d V cert install v.chain
OLD=$(id V)
must -d V put gusu/jinchang/v12/hh/1 户主=甲
must -d V put gusu/jinchang/v12/hh/2 户主=乙
must -d V backup -o v.bk
must -d V put gusu/jinchang/v12/hh/3 户主=丙
up V S
rm -rf V
ok "V backed up, wrote once more, the street holds all three; V's disk is lost"

# refused: --offline without a key or a chain, a key or chain without it
refused_with 2 "--offline needs --key" -d V restore v.bk --offline
[ ! -e V ] || fail "a refused restore left V behind"
refused_with 2 "go with --offline" -d V restore v.bk --key x.key x.chain
must keygen -o other.key
must keygen -o next.key
must -d S cert issue --subject next.key.pub --name 雅鹿村 --role village --prefix gusu/jinchang/v12/ -o next.chain
# a chain for another key: restored, but still waiting for the parent
refused_with 1 "waits for its parent" -d V restore v.bk --offline --key other.key next.chain
must -d V status
has RECOVERING
[ "$(id V)" = "$OLD" ] || fail "a refused --offline moved V to another key"
run -d V put gusu/jinchang/v12/hh/4 户主=丁
[ "$RC" -eq 1 ] || fail "a station still recovering took a write"
rm -rf V
ok "--offline refused without its key and chain, or with a chain for another key"

NEXT=$(cat next.key.pub)
must -d V restore v.bk --offline --key next.key next.chain
has "never signs again"
NEW=$(id V)
[ "$NEW" != "$OLD" ] || fail "the station kept its old key"
[ "$NEW" = "$NEXT" ] || fail "the station is not on next.key"
[ -f "V/node.key.retired-$(echo "$OLD" | cut -c1-12)" ] || fail "the old key is not kept"
must -d V status
grep -q RECOVERING "$T/out" && fail "the station restored offline still waits for its parent"
must -d V put gusu/jinchang/v12/hh/4 户主=丁
ok "restored offline: on the new key, writing at once"

up V S
must -d S status
grep -q "FORK" "$T/out" && fail "the street sees a fork: $(cat "$T/out")"
must -d S --json status
grep -q '"forks":\[\]' "$T/out" || fail "the street holds fork evidence: $(cat "$T/out")"
for k in 1 2 3 4; do must -d S get gusu/jinchang/v12/hh/$k; done
up S V
for k in 1 2 3 4; do must -d V get gusu/jinchang/v12/hh/$k; done
must -d S verify
ok "the street takes the new key's writes with no fork; both hold all four records"

echo "$NAME: $PASS passed, 0 failed"
