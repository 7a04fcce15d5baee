#!/bin/sh
# mp_diskfull.sh - a station whose disk fills up keeps its records
# readable, refuses new data with a one-line error naming the disk, never
# aborts, and its daemon stops cleanly.
#
#   sh tests/mp_diskfull.sh BUILD_DIR
#
# The street's data directory lives on a 16 MiB tmpfs (or, when tmpfs
# cannot be mounted, a loop-mounted ext2 image; with neither the test is
# skipped, exit 77).  LINLI_MIN_FREE sets the free-space floor to 2 MiB.
#   1. `put`s until the floor is reached: the failing put exits 1 with the
#      disk named, and every read command works on the full disk.
#   2. With the floor at one byte, the disk filled to the last blocks: a
#      put reaches RocksDB's own "no space" error and still fails cleanly;
#      reads work; once space is freed writes work and the store verifies.
#   3. The street's daemon, its disk filled below the floor, refuses what
#      its village sends (error in its log, the village told why), keeps
#      serving reads, and stops on SIGTERM with status 0 and "stopped".
#   4. The same with the floor at one byte and 8 KiB left: the data is
#      refused for its own size (twice the batch must stay free), reads
#      are served, and SIGTERM, which must not flush into a full disk,
#      stops the daemon cleanly.
set -eu
NAME=mp_diskfull
. "$(dirname "$0")/mp_lib.sh"

DISK=$T/disk
mkdir -p "$DISK"
unmount() { umount "$DISK" 2>/dev/null || :; }
if mount -t tmpfs -o size=16m tmpfs "$DISK" 2>/dev/null; then
  KIND=tmpfs
elif command -v mkfs.ext2 >/dev/null 2>&1 && dd if=/dev/zero of="$T/disk.img" bs=1M count=16 2>/dev/null &&
  mkfs.ext2 -q -F -m 0 "$T/disk.img" >/dev/null 2>&1 && mount -o loop "$T/disk.img" "$DISK" 2>/dev/null; then
  KIND="ext2 image"
else
  echo "$NAME: skipped: neither a tmpfs nor a loop-mounted image can be mounted here (needs root)"
  exit 77
fi
MP_CLEANUP=unmount
echo "# a 16 MiB $KIND at $DISK"

LINLI_MIN_FREE=$((2 << 20))
export LINLI_MIN_FREE
# free_bytes: what is free on the small disk.
free_bytes() { echo $(($(stat -f -c '%a * %S' "$DISK"))); }
# fill_to BYTES: a filler file leaves about BYTES free.
fill_to() {
  rm -f "$DISK/filler"
  _n=$((($(free_bytes) - $1) / 4096))
  [ $_n -gt 0 ] && dd if=/dev/zero of="$DISK/filler" bs=4096 count=$_n 2>/dev/null || :
}
# reads_work DIR: every read command succeeds.
reads_work() {
  for _c in status "get hh/st/1" ls "ls hh/" digest "log hh/st/1" verify "cert show"; do
    # shellcheck disable=SC2086
    "$LINLI" -d "$1" $_c >/dev/null 2>"$T/q.err" || fail "'$_c' on the full disk: $(cat "$T/q.err")"
  done
  "$LINLI" -d "$1" summary -o "$T/st.summary" 2>"$T/q.err" || fail "summary on the full disk: $(cat "$T/q.err")"
  "$LINLI" -d "$1" export -o "$T/st.bundle" --force 2>"$T/q.err" || fail "export on the full disk: $(cat "$T/q.err")"
}

"$LINLI" -d "$DISK/st" init --no-trust --name st >/dev/null 2>"$T/q.err" || fail "init on the small disk: $(cat "$T/q.err")"
PK_S=$(cat "$DISK/st/node.key.pub")
ln -s "$DISK/st" "$T/st" # where node_start looks for the control socket

echo "# 1. puts until the floor"
BIG=$(head -c 30000 /dev/urandom | base64 | tr -d '\n')
i=1
rc=0
while [ $i -le 5000 ]; do
  "$LINLI" -d "$DISK/st" put "hh/st/$i" "f=$BIG" >/dev/null 2>"$T/q.err" || { rc=$?; break; }
  i=$((i + 1))
done
[ $rc -eq 1 ] || fail "the put that found the disk full exited with $rc: $(cat "$T/q.err")"
grep -q "^linli: the disk at $DISK is full: .* MiB free, writing needs .* MiB free" "$T/q.err" ||
  fail "the put that found the disk full said: $(cat "$T/q.err")"
[ "$(wc -l <"$T/q.err")" -eq 1 ] || fail "the error is not one line: $(cat "$T/q.err")"
WRITTEN=$((i - 1))
ok "put $i refused with exit 1 after $WRITTEN writes: $(cat "$T/q.err")"
reads_work "$DISK/st"
J=$("$LINLI" -d "$DISK/st" --json status) || fail "status"
[ "$(jnum ops)" -eq $WRITTEN ] || fail "status shows $(jnum ops) ops, $WRITTEN were acknowledged"
ok "status, get, ls, log, digest, verify, cert show, summary and export work at the floor; all $WRITTEN writes kept"

echo "# 2. the disk full to the last blocks, no floor"
fill_to 8192
rc=0
LINLI_MIN_FREE=1 "$LINLI" -d "$DISK/st" put hh/st/full "f=$BIG" >/dev/null 2>"$T/q.err" || rc=$?
[ $rc -eq 1 ] || fail "a put on a full disk without the floor exited with $rc: $(cat "$T/q.err")"
grep -q "^linli: the disk at $DISK is full" "$T/q.err" || fail "a put on a full disk said: $(cat "$T/q.err")"
ok "a put that reaches RocksDB's no-space error exits 1: $(cat "$T/q.err")"
reads_work "$DISK/st"
ok "every read command works on a disk with $(free_bytes) bytes free"
rm -f "$DISK/filler"
"$LINLI" -d "$DISK/st" put hh/st/after f=1 >/dev/null 2>"$T/q.err" || fail "put after freeing space: $(cat "$T/q.err")"
"$LINLI" -d "$DISK/st" verify >/dev/null 2>"$T/q.err" || fail "verify after freeing space: $(cat "$T/q.err")"
J=$("$LINLI" -d "$DISK/st" --json status) || fail "status"
[ "$(jnum ops)" -eq $((WRITTEN + 1)) ] || fail "status shows $(jnum ops) ops after freeing space, expected $((WRITTEN + 1))"
ok "space freed: the next put works and the store verifies with every write"

echo "# 3. the street's daemon on a full disk"
mkstation va; PK_A=$PK
cat >"$T/st.conf.in" <<EOF2
name = st
role = street
data = $DISK/st
listen = tcp://127.0.0.1:@PORT@
child = $PK_A va
EOF2
cat >"$T/va.conf.in" <<EOF2
name = va
role = village
data = $T/va
parent = tcp://127.0.0.1:@PORT@ $PK_S st
EOF2
node_listen st 0
sed "s/@PORT@/$PORT/g" "$T/va.conf.in" >"$T/va.conf"
node_start va || fail "va exited at start: $(tail -n 1 "$T/va.log")"
fill_to $((1 << 20))
q "$T/va" put hh/va/1 名=一 >/dev/null || fail "put at va: $(cat "$T/q.err")"
poll 20 grep -q "ERROR.*cannot store what [0-9a-f]* sent: the disk at $DISK is full" "$T/st.log" ||
  fail "the street did not log the refused data at error level"
ok "the street refuses the village's data: $(grep -m 1 "cannot store what" "$T/st.log")"
poll 20 grep -q "WARN.*parent st cannot store more: peer refused the session: ERROR 18 (not enough free disk space): cannot store" "$T/va.log" ||
  fail "the village was not told why"
ok "the village is told: $(grep -m 1 "cannot store more" "$T/va.log")"
J=$(q "$DISK/st" --json status) || fail "status through the street's daemon: $(cat "$T/q.err")"
printf '%s' "$J" | grep -q '"daemon":true' || fail "status did not go to the daemon: $J"
q "$DISK/st" get hh/st/1 >/dev/null || fail "get through the street's daemon: $(cat "$T/q.err")"
ok "the street's daemon still answers reads on the full disk"
rc=0
q "$DISK/st" put hh/st/x f=1 >/dev/null || rc=$?
[ $rc -eq 1 ] && grep -q "the disk at $DISK is full" "$T/q.err" ||
  fail "a put through the street's daemon on the full disk: exit $rc, $(cat "$T/q.err")"
ok "a put through the daemon is refused: $(cat "$T/q.err")"
node_stop st
node_stop va
ok "the street's daemon stops on SIGTERM with status 0 and its 'stopped' line"

echo "# 4. the same daemon with the floor at one byte and 8 KiB left"
rm -f "$DISK/filler"
LINLI_MIN_FREE=1
node_start st || fail "st exited at start: $(tail -n 1 "$T/st.log")"
LINLI_MIN_FREE=$((2 << 20))
FROM=$(($(wc -l <"$T/st.log") + 1))
node_start va || fail "va exited at start: $(tail -n 1 "$T/va.log")"
fill_to 8192
q "$T/va" put hh/va/2 "名=$BIG" >/dev/null || fail "put at va: $(cat "$T/q.err")"
q "$T/va" put hh/va/3 "名=$BIG" >/dev/null || fail "put at va: $(cat "$T/q.err")"
# (the message of this round: a few KiB free)
nospace() {
  tail -n +$FROM "$T/st.log" |
    grep -q "ERROR.*cannot store what [0-9a-f]* sent: the disk at $DISK is full: .* KiB free"
}
poll 20 nospace || fail "the street did not log the refused data"
q "$DISK/st" get hh/st/1 >/dev/null || fail "get through the street's daemon: $(cat "$T/q.err")"
node_stop st
ok "8 KiB left: the data refused for its size and logged, reads served, SIGTERM stops the daemon cleanly"
node_stop va
rm -f "$DISK/filler"
echo "$NAME: $PASS passed, $FAIL failed"
