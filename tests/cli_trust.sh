#!/bin/sh
# cli_trust.sh - certificates, namespaces, revocation, a restored device and
# key rotation through the `linli` CLI, on a district -> street -> village
# tree that exchanges bundles; the full export passes `linli audit`.
#
#   sh tests/cli_trust.sh BUILD_DIR      (the binary is BUILD_DIR/linli)
set -eu
LC_ALL=C
export LC_ALL
NAME=cli_trust
unset LINLI_DATA
. "$(dirname "$0")/clilib.sh"

# ---- the tree ----
must -d D init --name 姑苏区 --root self
ROOT=$(id D)
must -d S init --name 金仓街道 --root "$ROOT"
must -d V init --name 雅鹿村 --root "$ROOT"
must -d W init --name 双凤村 --root D/node.key.pub
[ "$(id W)" != "" ] || fail "no id for W"
must -d D cert issue --subject S/node.key.pub --name 金仓街道 --role street --prefix gusu/jinchang/ -o s.chain
must -d S cert install s.chain
ok "street certified by the district"

# a village cannot write before it holds a certificate
run -d V put gusu/jinchang/v12/hh/1 name=x
[ "$RC" -eq 1 ] || fail "write without certificate exited $RC"
has "no certificate"
ok "no write without a certificate"

must -d S cert issue --subject V/node.key.pub --name 雅鹿村 --role village --prefix gusu/jinchang/v12/ -o v.chain
must -d V cert install v.chain
must -d S cert issue --subject W/node.key.pub --name 双凤村 --role village --prefix gusu/jinchang/v13/ -o w.chain
must -d W cert install w.chain
# a street cannot give a village more than its own namespace
run -d S cert issue --subject W/node.key.pub --name x --role village --prefix gusu/ -o bad.chain
[ "$RC" -eq 1 ] || fail "widening prefix exited $RC"
has "outside its issuer"
run -d S cert issue --subject W/node.key.pub --name x --role district --prefix gusu/jinchang/x/ -o bad.chain
[ "$RC" -eq 1 ] || fail "role escalation exited $RC"
ok "issuers cannot widen a namespace or raise a role"

# a tampered chain file is refused at install and shown as invalid
cp v.chain bad.chain
printf 'X' | dd of=bad.chain bs=1 seek=60 conv=notrunc 2>/dev/null
run -d V cert install bad.chain
[ "$RC" -eq 1 ] || fail "tampered chain installed"
run cert show bad.chain --root "$ROOT"
[ "$RC" -ne 0 ] || grep -q INVALID "$T/out" || fail "tampered chain shown as valid: $(out)"
ok "a tampered certificate is refused"

# a chain file is shown without a data directory: checked with --root, or
# shown as not checked without one; with -d, against that store's root
must cert show v.chain
has "雅鹿村"
has "not checked: no trust root"
must cert show v.chain --root "$ROOT"
has "valid, chains to the trust root"
must -d V cert show v.chain
has "valid, chains to the trust root"
ok "cert show FILE needs no data directory"

# ---- writes inside and outside namespaces ----
must -d V put gusu/jinchang/v12/hh/1 户主=陈建国
must -d V put gusu/jinchang/v12/hh/2 户主=李秀英
must -d V incr gusu/jinchang/v12/hh/1 诚信积分 5
run -d V put /gusu/jinchang/v13/hh/1 户主=x
[ "$RC" -eq 1 ] || fail "out-of-namespace write exited $RC"
has "outside its namespace"
run -d V put /notices/2026/1 title=x
[ "$RC" -eq 1 ] || fail "village notice exited $RC"
run -d S put /notices/2026/1 title=x
[ "$RC" -eq 1 ] || fail "street notice exited $RC"
must -d D put notices/2026/1 title=防汛通知
must -d W put gusu/jinchang/v13/hh/1 户主=周文
# a refused local write leaves the node able to write
must -d V put gusu/jinchang/v12/hh/3 户主=王芳
ok "writes stay inside their namespaces; notices are the district's"

# ---- keys relative to the station's namespace ----
must -d V put hh/4 户主=赵敏
must -d V get /gusu/jinchang/v12/hh/4
grep -q '赵敏' "$T/out" || fail "relative put did not write gusu/jinchang/v12/hh/4: $(out)"
must -d V get hh/4
must -d V ls hh/
[ "$(out)" = "$(printf 'gusu/jinchang/v12/hh/1\ngusu/jinchang/v12/hh/2\ngusu/jinchang/v12/hh/3\ngusu/jinchang/v12/hh/4')" ] ||
  fail "ls hh/ at v12: $(out)"
must -d V digest hh/
REL=$(out)
must -d V digest /gusu/jinchang/v12/hh/
[ "$(out)" = "$REL" ] || fail "relative and absolute digests differ"
must -d V incr hh/4 诚信积分 2
must -d V --json log hh/4
grep -q '"key":"gusu/jinchang/v12/hh/4"' "$T/out" || fail "log key: $(out)"
# the street's namespace is one level up: a village's records by its name
must -d S put v12x/hh/1 户主=钱立
must -d S get /gusu/jinchang/v12x/hh/1
# the district has the empty prefix: keys are as typed, '/' or not
must -d D get notices/2026/1
must -d D get /notices/2026/1
refused_with 2 "record key" -d V put hh/ x=1
refused_with 2 "record key" -d V put / x=1
refused_with 2 "record key 'nokey' is not of the form collection/id" -d D put nokey x=1
ok "keys are relative to the station's namespace; a leading / is absolute"

# ---- up the tree, and the audit of the district's export ----
up V S
up W S
up S D
must -d D export -o full.bundle
must audit full.bundle --root "$ROOT"
has "ok: "
must audit full.bundle --root D/node.key.pub --json
grep -q '"ok":true' "$T/out" || fail "audit json: $(out)"
must -d D audit --root "$ROOT" --record gusu/jinchang/v12/hh/1
has "诚信积分"
has "雅鹿村"
ok "a bundle exported from the three tiers passes linli audit"
# the audit trusts only --root: another root fails every author
run audit full.bundle --root S/node.key.pub
[ "$RC" -eq 1 ] || fail "audit under a wrong root exited $RC"
has "FAILED"
ok "under another root the audit fails"

# ---- revocation: stolen village key ----
# no key revokes itself (its issuer or the root does)
run -d V cert revoke --subject V/node.key.pub --reason gone
[ "$RC" -eq 2 ] || fail "a self-revocation exited $RC"
has "cannot revoke itself"
VSEQ=$(cd "$T" && "$LINLI" -d V --json status | sed -n 's/.*"own_seq":\([0-9]*\).*/\1/p')
must -d S cert revoke --subject V/node.key.pub --reason stolen
has "after seq $VSEQ"
# the thief writes with the stolen key (a copy of the station)
cp -r V V2
must -d V2 put gusu/jinchang/v12/hh/9 户主=冒名
must -d V2 export -o stolen.bundle
run -d S import stolen.bundle
[ "$RC" -eq 1 ] || fail "import of ops after the revocation exited $RC"
has "revoked after seq $VSEQ"
ok "ops signed after a revocation are refused"
# the district took the thief's op before hearing of the revocation: once
# the revocation arrives it is cut out again
must -d D import stolen.bundle
must -d D get gusu/jinchang/v12/hh/9
up S D
run -d D get gusu/jinchang/v12/hh/9
[ "$RC" -eq 1 ] || fail "revoked op still visible at the district"
must -d D get gusu/jinchang/v12/hh/1
must -d D verify
must -d D cert show --subject V/node.key.pub
has "revoked: ops after seq $VSEQ"
must -d D export -o full2.bundle
must audit full2.bundle --root "$ROOT"
ok "a revocation cuts ops already held, keeps those before it"
must -d D audit --root "$ROOT"

# ---- a restored device ----
must -d S summary -o s.summary
must -d W export --for s.summary -o w-s.bundle
must -d S import w-s.bundle
cp W/node.key wbackup.key
# a bundle the parent made for this key before the device was restored
must -d W summary -o wold.summary
must -d S export --for wold.summary -o stale.bundle
must -d W2 init --name 双凤村 --root "$ROOT" --key wbackup.key --restore
has "restored"
run -d W2 put gusu/jinchang/v13/hh/5 户主=x
[ "$RC" -eq 1 ] || fail "restored node wrote before recovering"
has "recover its own log"
must -d W2 status
has "RECOVERING"
must -d W2 summary -o w2.summary
# neither a stale bundle from the parent nor a fresh one from a key that
# is no ancestor of this node ends recovery
must -d W2 import stale.bundle
has "made before this node was restored"
must -d V export --for w2.summary -o forged.bundle
must -d W2 import forged.bundle
has "neither a configured parent nor an issuer"
run -d W2 put gusu/jinchang/v13/hh/5 户主=x
[ "$RC" -eq 1 ] || fail "a stale or foreign bundle ended recovery"
ok "a stale bundle or one from a non-ancestor does not end recovery"
must -d S export --for w2.summary -o s-w2.bundle
must -d W2 import s-w2.bundle
has "own log recovered"
must -d W2 put gusu/jinchang/v13/hh/5 户主=吴强
up W2 S
must -d S verify
ok "a restored device recovers its own log before it writes, without a fork"

# ---- key rotation ----
must keygen -o next.key
must -d S cert issue --subject next.key.pub --name 双凤村 --role village --prefix gusu/jinchang/v13/ -o next.chain
OLD=$(id W2)
WSEQ=$("$LINLI" -d W2 --json status | sed -n 's/.*"own_seq":\([0-9]*\).*/\1/p')
must -d W2 rotate --key next.key next.chain
NEW=$(id W2)
[ "$OLD" != "$NEW" ] || fail "key did not change"
[ -f "W2/node.key.retired-$(echo "$OLD" | cut -c1-12)" ] || fail "retired key not kept"
must -d W2 put gusu/jinchang/v13/hh/6 户主=郑丽
must -d S cert revoke --subject "$OLD" --seq "$WSEQ" --reason rotated
up W2 S
up S D
must -d D get gusu/jinchang/v13/hh/5
must -d D get gusu/jinchang/v13/hh/6
must -d D export -o full3.bundle
must audit full3.bundle --root "$ROOT"
ok "a station moves to a new key; its old history stays valid"

echo "$NAME: $PASS passed, 0 failed"
