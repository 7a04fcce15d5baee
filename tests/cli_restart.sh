#!/bin/sh
# cli_restart.sh - a store closed and reopened many times keeps its data,
# its sequence numbers and its clock.
#
#   sh tests/cli_restart.sh BUILD_DIR      (the binary is BUILD_DIR/linli)
#
# Every linli command opens and closes the store, so a series of writes is
# a series of restarts.  After each write the own-log length must have
# grown by exactly the ops written, the hybrid logical clock in `status
# --json` must be strictly larger than before (it is persisted, so it never
# goes backwards across restarts), and at the end every value written must
# read back.  The clock is not faked: a wall clock that jumps back is the
# store's own test's business; here the persisted clock is checked to move
# forward across processes.
set -eu
LC_ALL=C
export LC_ALL

NAME=cli_restart
. "$(dirname "$0")/clilib.sh"

echo "# a station, written to and restarted 30 times"
# LINLI_DATA selects the data directory when -d is absent.
LINLI_DATA=$T/station
export LINLI_DATA
must init --no-trust --name 苏州工业园区斜塘街道
must --json status
HLC=$(jnum hlc)
SEQ=$(jnum own_seq)
[ "$SEQ" -eq 0 ] || fail "a new store has own_seq $SEQ"
ok "init; the clock starts at $HLC"

SUM=0
i=1
while [ $i -le 30 ]; do
  case $((i % 3)) in
    0)
      must --json put "hh/xietang/$i" 户主=住户$i 电话=1390000$i
      n=2
      ;;
    1)
      must --json incr hh/xietang/points 诚信积分 $((i - 10))
      SUM=$((SUM + i - 10))
      n=1
      ;;
    2)
      must --json append diary/xietang/visits 民情日记 "第${i}次走访"
      n=1
      ;;
  esac
  wseq=$(jnum seq)
  whlc=$(jnum hlc)
  [ "$wseq" -eq $((SEQ + n)) ] || fail "write $i: seq $wseq, expected $((SEQ + n))"
  [ "$whlc" -gt "$HLC" ] || fail "write $i: op clock $whlc is not after $HLC"
  must --json status
  s=$(jnum own_seq)
  h=$(jnum hlc)
  [ "$s" -eq $((SEQ + n)) ] || fail "after write $i the own log has $s ops, expected $((SEQ + n))"
  [ "$h" -ge "$whlc" ] || fail "after write $i the clock $h is behind the op's $whlc"
  [ "$h" -gt "$HLC" ] || fail "after write $i the clock did not move: $h"
  SEQ=$s
  HLC=$h
  i=$((i + 1))
done
ok "30 writes across 60 restarts: seq grows by the ops written, the clock strictly increases"

echo "# everything written reads back"
must --json get hh/xietang/points
[ "$(jnum 诚信积分)" = "$SUM" ] || fail "counter is $(jnum 诚信积分), expected $SUM"
must --json get diary/xietang/visits
n=$(grep -o '"text":' "$T/out" | wc -l)
[ "$n" -eq 10 ] || fail "diary has $n entries, expected 10"
i=3
while [ $i -le 30 ]; do
  must --json get "hh/xietang/$i"
  [ "$(out)" = "{\"key\":\"hh/xietang/$i\",\"fields\":{\"户主\":\"住户$i\",\"电话\":\"1390000$i\"}}" ] ||
    fail "hh/xietang/$i reads back as $(out)"
  i=$((i + 3))
done
must ls hh/xietang/
[ "$(wc -l <"$T/out")" -eq 11 ] || fail "ls lists $(wc -l <"$T/out") households, expected 11"
ok "counter sum $SUM, 10 diary entries and 10 households intact"

echo "# the log of a record shows every write in order"
must log diary/xietang/visits
[ "$(wc -l <"$T/out")" -eq 10 ] || fail "log has $(wc -l <"$T/out") lines"
sort -c "$T/out" 2>/dev/null || fail "log lines are not in time order"
ok "log lists the 10 appends in time order"

echo "# failed commands do not disturb the store"
must --json status
before=$(out)
run put bad-key f=v
[ "$RC" -eq 2 ] || fail "bad key accepted"
run import /dev/null
[ "$RC" -ne 0 ] || fail "import of /dev/null succeeded"
run del hh/xietang/none
[ "$RC" -eq 1 ] || fail "del of an absent record exited $RC"
must --json status
[ "$(out)" = "$before" ] || fail "status changed after failed commands: $(out)"
ok "status is byte-identical after three failed commands"

echo "# reopen, verify, rebuild"
must digest
d1=$(out)
must digest
[ "$(out)" = "$d1" ] || fail "digest changed between two reads"
must verify
[ "$(out)" = "ok: $SEQ ops in 1 author logs verified" ] || fail "verify printed: $(out)"
must rebuild
must digest
[ "$(out)" = "$d1" ] || fail "rebuild changed the digest"
must --json status
[ "$(jnum own_seq)" -eq "$SEQ" ] || fail "own_seq changed after rebuild"
[ "$(jnum hlc)" -ge "$HLC" ] || fail "the clock went back after rebuild"
ok "digest stable across reopen; verify and rebuild keep it"

echo "# the next write after all this continues the log"
must --json put hh/xietang/points 备注=复核完毕
[ "$(jnum seq)" -eq $((SEQ + 1)) ] || fail "next write got seq $(jnum seq), expected $((SEQ + 1))"
[ "$(jnum hlc)" -gt "$HLC" ] || fail "next write's clock is not after $HLC"
ok "seq $((SEQ + 1)) follows, with a later clock"

echo "$NAME: $PASS passed, $FAIL failed"
