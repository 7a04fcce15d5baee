#!/bin/sh
# mp_privtmp.sh - the files of a command sent to a running linli-node are
# the caller's.
#
#   sh tests/mp_privtmp.sh BUILD_DIR
#
# The node runs as the shipped systemd unit runs it, with a /tmp of its own
# (a mount namespace with a tmpfs on /tmp: unshare, as root); the
# caller's commands go through its control socket.  export -o /tmp/X,
# summary -o, backup -o, cert issue -o must write the caller's /tmp;
# export -o REL the caller's working directory; import, import-csv, schema
# publish, cert issue --subject and export --for read the caller's files;
# an existing file without --force is refused and left as it was; a file
# larger than a request may carry is refused.  `status --json` and `query --json` print
# through the node what they print without it.  Where no mount namespace
# can be made, the node runs in another working directory instead and only
# what that shows (relative names are the caller's) is checked: the test
# says which ran.
set -eu
NAME=mp_privtmp
. "$(dirname "$0")/mp_lib.sh"

SCHEMA=$(cd "$(dirname "$0")/.." && pwd)/deploy/schemas/community.json
UNIT=$(cd "$(dirname "$0")/.." && pwd)/deploy/systemd/linli-node@.service

# The unit the package ships keeps the node in its own /tmp and the system
# read-only: this test is about exactly that, so it must stay.
grep -qx "PrivateTmp=yes" "$UNIT" || fail "the unit no longer has PrivateTmp=yes"
grep -qx "ProtectSystem=strict" "$UNIT" || fail "the unit no longer has ProtectSystem=strict"
ok "the shipped unit keeps PrivateTmp=yes and ProtectSystem=strict"

# The caller's /tmp files, unique to this run, removed at the end.
CT=/tmp/$NAME.$$
# Where the node's view of $T is kept while /tmp is replaced (outside /tmp).
X=$(mktemp -d "${XDG_RUNTIME_DIR:-/var/tmp}/$NAME.XXXXXX")
MP_CLEANUP='rm -rf "$CT" "$X"'
mkdir "$CT"

PRIVATE=no
if [ "$(id -u)" = 0 ] &&
  unshare --mount --propagation private sh -c \
    'mount -t tmpfs tmpfs /tmp && [ ! -e "$0" ]' "$CT" 2>/dev/null; then
  PRIVATE=yes
fi
# The node's wrapper: a private /tmp with $T (its configuration, data and
# log) bound back in, or only another working directory.
cat >"$T/node.sh" <<EOF
#!/bin/sh
cd /
if [ $PRIVATE = yes ]; then
  exec unshare --mount --propagation private sh -c 'mount --rbind "\$1" "\$2" &&
    mount -t tmpfs tmpfs /tmp && mkdir -p "\$1" && mount --rbind "\$2" "\$1" &&
    shift 2 && exec "\$@"' sh "$T" "$X" "$NODE" "\$@"
fi
exec "$NODE" "\$@"
EOF
chmod +x "$T/node.sh"
REAL_NODE=$NODE
NODE=$T/node.sh

"$LINLI" -d "$T/va" init --root self --name va >/dev/null 2>"$T/q.err" ||
  fail "init: $(cat "$T/q.err")"
"$LINLI" -d "$T/vb" init --root "$T/va/node.key.pub" --name vb >/dev/null 2>"$T/q.err" ||
  fail "init: $(cat "$T/q.err")"
cat >"$T/va.conf" <<EOF
name = va
role = village
data = $T/va
EOF
node_start va || fail "va exited at start: $(tail -n 1 "$T/va.log")"
if [ $PRIVATE = yes ]; then
  NPID=$(cat "$T/va.pid")
  [ "$(readlink "/proc/$NPID/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] ||
    fail "the node does not run in a mount namespace of its own"
  [ ! -e "/proc/$NPID/root$CT" ] || fail "the node sees the caller's /tmp"
  echo "# the node runs with a private /tmp (mount namespace, tmpfs)"
else
  echo "# no mount namespace (not root, or unshare refused): the node runs in / instead;"
  echo "# only relative names are checked against it"
fi

WORK=$T/work
mkdir "$WORK"
cd "$WORK"

# schema publish: the caller's file (a copy in the caller's /tmp)
cp "$SCHEMA" "$CT/schema.json"
q "$T/va" schema publish "$CT/schema.json" >/dev/null || fail "schema publish: $(cat "$T/q.err")"
q "$T/va" schema show >"$T/schema.out" || fail "schema show: $(cat "$T/q.err")"
grep -q "户" "$T/schema.out" || fail "the published schema is not the caller's file"
ok "schema publish reads the caller's /tmp"

# import-csv: the caller's file, by a relative name
printf '编号,户主,地址,电话,诚信积分\n0001,王五,石路1号,13812345678,3\n0002,李四,石路2号,13812345679,5\n' \
  >hh.csv
q "$T/va" import-csv 户 hh.csv >/dev/null || fail "import-csv hh.csv: $(cat "$T/q.err")"
has_n "$T/va" hh/ 2 || fail "import-csv did not write the 2 households"
ok "import-csv reads a relative name in the caller's directory"

# export -o: the caller's /tmp, and a relative name
q "$T/va" export -o "$CT/x.bundle" >/dev/null || fail "export -o /tmp: $(cat "$T/q.err")"
[ -s "$CT/x.bundle" ] || fail "export -o $CT/x.bundle left no file in the caller's /tmp"
ok "export -o /tmp/... writes the caller's /tmp"
q "$T/va" export -o rel.bundle >/dev/null || fail "export -o rel.bundle: $(cat "$T/q.err")"
[ -s "$WORK/rel.bundle" ] || fail "export -o rel.bundle left no file in the caller's directory"
[ "$(stat -c %a "$WORK/rel.bundle")" = 600 ] || fail "the bundle is not mode 600"
ok "export -o rel.bundle writes the caller's working directory, mode 600"

# a usage error is the same line and status with the node running
set +e
"$LINLI" -d "$T/va" export 2>"$T/q.err" >/dev/null
RC=$?
set -e
[ "$RC" -eq 2 ] || fail "export without -o exited $RC"
[ "$(cat "$T/q.err")" = "linli: export: -o FILE is required (see linli export --help)" ] ||
  fail "usage: $(cat "$T/q.err")"
ok "export without -o: the usage error, exit 2"

# an existing file without --force: refused, unchanged
cp "$WORK/rel.bundle" "$T/before"
if q "$T/va" export -o rel.bundle >/dev/null; then fail "export replaced a file without --force"; fi
grep -q "exists; give --force" "$T/q.err" || fail "refusal: $(cat "$T/q.err")"
cmp -s "$T/before" "$WORK/rel.bundle" || fail "a refused export changed the file"
q "$T/va" export -o rel.bundle --force >/dev/null || fail "export --force: $(cat "$T/q.err")"
ok "an existing file is refused without --force and left unchanged; --force replaces it"

# cert issue: --subject a key file in the caller's /tmp, -o there too
cp "$T/vb/node.key.pub" "$CT/vb.pub"
q "$T/va" cert issue --subject "$CT/vb.pub" --name vb --role village --prefix vb/ \
  -o "$CT/vb.chain" >/dev/null || fail "cert issue: $(cat "$T/q.err")"
"$LINLI" -d "$T/vb" cert install "$CT/vb.chain" >/dev/null 2>"$T/q.err" ||
  fail "cert install at vb: $(cat "$T/q.err")"
ok "cert issue reads --subject from and writes -o to the caller's /tmp"

# import: a bundle in the caller's /tmp (written by vb, which runs no node)
"$LINLI" -d "$T/vb" put /vb/hh/1 户主=赵六 >/dev/null 2>"$T/q.err" || fail "put at vb: $(cat "$T/q.err")"
"$LINLI" -d "$T/vb" export -o "$CT/vb.bundle" >/dev/null 2>"$T/q.err" ||
  fail "export at vb: $(cat "$T/q.err")"
q "$T/va" import "$CT/vb.bundle" >/dev/null || fail "import /tmp/...: $(cat "$T/q.err")"
q "$T/va" get /vb/hh/1 >/dev/null || fail "the imported record is not there"
ok "import reads a bundle in the caller's /tmp"

# summary -o and export --for: the caller's /tmp both ways
"$LINLI" -d "$T/vb" summary -o "$CT/vb.summary" >/dev/null 2>"$T/q.err" ||
  fail "summary at vb: $(cat "$T/q.err")"
q "$T/va" export --for "$CT/vb.summary" -o "$CT/for-vb.bundle" >/dev/null ||
  fail "export --for: $(cat "$T/q.err")"
"$LINLI" -d "$T/vb" import "$CT/for-vb.bundle" >/dev/null 2>"$T/q.err" ||
  fail "import at vb: $(cat "$T/q.err")"
"$LINLI" -d "$T/vb" get /hh/0001 >/dev/null 2>&1 || fail "vb did not get va's households"
q "$T/va" summary -o "$CT/va.summary" >/dev/null || fail "summary -o: $(cat "$T/q.err")"
[ -s "$CT/va.summary" ] || fail "summary -o left no file in the caller's /tmp"
ok "export --for reads and summary -o writes the caller's /tmp"

# backup -o: the caller's /tmp; it restores
q "$T/va" backup -o "$CT/va.bk" >/dev/null || fail "backup -o: $(cat "$T/q.err")"
[ -s "$CT/va.bk" ] || fail "backup -o left no file in the caller's /tmp"
[ "$(stat -c %a "$CT/va.bk")" = 600 ] || fail "the backup is not mode 600"
ls -a "$T/va" | grep -q '^\.out-' && fail "the node left its copy of the backup behind"
"$LINLI" -d "$T/vr" restore "$CT/va.bk" >/dev/null 2>"$T/q.err" || fail "restore: $(cat "$T/q.err")"
has_n "$T/vr" hh/ 2 || fail "the backup does not hold va's households"
ok "backup -o writes the caller's /tmp (mode 600), and it restores"

# a file the caller cannot read is the caller's error, named
if q "$T/va" import "$CT/none.bundle" >/dev/null; then fail "import of a missing file"; fi
grep -q "none.bundle" "$T/q.err" || fail "no file named: $(cat "$T/q.err")"
[ "$(wc -l <"$T/q.err")" -eq 1 ] || fail "more than one line: $(cat "$T/q.err")"
ok "a missing input file is one line naming it"

# more than a request may carry: refused by the CLI, with what to do
truncate -s 300M "$CT/big.bundle"
if q "$T/va" import "$CT/big.bundle" >/dev/null; then fail "a 300 MiB request was sent"; fi
grep -q "big.bundle: larger than a running linli-node takes in one command (256 MiB); stop" \
  "$T/q.err" || fail "too large: $(cat "$T/q.err")"
[ "$(wc -l <"$T/q.err")" -eq 1 ] || fail "more than one line: $(cat "$T/q.err")"
rm -f "$CT/big.bundle"
q "$T/va" status >/dev/null || fail "the node does not answer after the refusal"
ok "a file larger than a request may carry is refused in one line; the node serves on"

# the same output with and without the node
q "$T/va" query 户 --json >"$T/q1" || fail "query --json: $(cat "$T/q.err")"
q "$T/va" --json status >"$T/s1" || fail "status --json: $(cat "$T/q.err")"
q "$T/va" ls hh/ >"$T/l1" || fail "ls: $(cat "$T/q.err")"
node_stop va
q "$T/va" query 户 --json >"$T/q2" || fail "query --json: $(cat "$T/q.err")"
q "$T/va" --json status >"$T/s2" || fail "status --json: $(cat "$T/q.err")"
q "$T/va" ls hh/ >"$T/l2" || fail "ls: $(cat "$T/q.err")"
cmp -s "$T/q1" "$T/q2" || fail "query --json differs: $(cat "$T/q1") / $(cat "$T/q2")"
cmp -s "$T/l1" "$T/l2" || fail "ls differs"
grep -q '"daemon":true' "$T/s1" || fail "status through the node: $(cat "$T/s1")"
grep -q '"daemon":false' "$T/s2" || fail "status without the node: $(cat "$T/s2")"
sed 's/"daemon":.*//' "$T/s1" >"$T/s1c"
sed 's/"daemon":.*//' "$T/s2" >"$T/s2c"
cmp -s "$T/s1c" "$T/s2c" || fail "status --json differs: $(cat "$T/s1c") / $(cat "$T/s2c")"
ok "query --json, ls and status --json print the same through the node and without it"

NODE=$REAL_NODE
echo "$NAME: $PASS passed (private /tmp: $PRIVATE)"
