#!/bin/sh
# mp_gprs_1mb.sh - a 1 MB (compressed) backlog over two emulated GPRS
# lines at once (linkrelay: 5,500 bytes/s each way = 44 kbit/s, 375 ms one
# way, a 16 KiB queue), with the default link settings (2 s heartbeat, a
# connection cut after 6 s of silence).
#
#   sh tests/mp_gprs_1mb.sh BUILD_DIR
#
# A village writes 2,300 diary entries of 600 characters of random text
# offline (230 records of 10 fields); a copy of it goes up to a second
# street at the same time, over a second line of its own.  Line 1 is cut
# (RST) once 512 KiB went up; line 2 is never cut.  Both backlogs must
# reach their streets (the line alone takes over three minutes), line 2
# must have carried at least 1 MiB up, and the cut may cost at most one
# DATA message: line 1's bytes up exceed line 2's by at most the largest
# DATA va sent (`data_max_bytes` in its status; about 11 KiB, 2 s of the
# line, more when a loaded street bunches its ACKs and the estimate of the
# line runs ahead) plus 4 KiB for the second connection's handshake, HELLO
# and heartbeats.
# Before DATA was sized to the link, a 256 KiB DATA took longer than the
# heartbeat timeout and such a backlog never arrived: the connection was
# cut every 7-13 s and the same bytes were paid for again.
#
# Not under the multi-process tests' lock and not in the sanitized build
# (tests/CMakeLists.txt): it spends most of its time waiting for the line,
# so the suite runs the others beside it.  tests/mp_gprs.sh runs a smaller
# backlog with a cut in both builds.
set -eu
NAME=mp_gprs_1mb
. "$(dirname "$0")/mp_lib.sh"
[ -x "$B/linkrelay" ] || fail "$B/linkrelay is not built"

N=230
mkstation st1
mkstation st2
mkstation va
PK_A=$PK
i=1
while [ $i -le $N ]; do
  set --
  f=0
  while [ $f -lt 10 ]; do
    set -- "$@" "e$f=$(head -c 450 /dev/urandom | base64 -w 0)"
    f=$((f + 1))
  done
  q "$T/va" put "diary/va/$i" "$@" >/dev/null || fail "put $i at va: $(cat "$T/q.err")"
  i=$((i + 1))
done
cp -R "$T/va" "$T/vb"
ok "va holds $((N * 10)) diary entries of 600 characters, written offline; vb is a copy"

# line K STREET VILLAGE RELAY_ARGS...: the street on a port of its own,
# the relay in front of it, the village's configuration pointing at the
# relay (started later, both villages at once).
line() {
  _k=$1
  _s=$2
  _v=$3
  shift 3
  street_conf "$_s" "child = $PK_A va"
  node_listen "$_s" "$_k"
  _sp=$PORT
  _rp=$(free_port $((_k + 6)))
  relay_start "r$_k" "$_rp" "$_sp" -r 5500 -d 375 -q 16384 "$@"
  _rp=$RPORT
  cat >"$T/$_v.conf" <<EOF
name = va
role = village
data = $T/$_v
parent = tcp://127.0.0.1:$_rp $(cat "$T/$_s/node.key.pub") $_s
EOF
}
line 1 st1 va -c 524288
line 2 st2 vb

T0=$(date +%s)
node_start va || fail "va exited at start: $(tail -n 1 "$T/va.log")"
node_start vb || fail "vb exited at start: $(tail -n 1 "$T/vb.log")"
# Once a second, not the usual tenth: each check is two CLI calls to
# running nodes, for minutes.
S1=""
S2=""
while [ $(($(date +%s) - T0)) -lt 420 ]; do
  [ -z "$S1" ] && same_digest diary/va/ "$T/va" "$T/st1" && S1=$(($(date +%s) - T0))
  [ -z "$S2" ] && same_digest diary/va/ "$T/vb" "$T/st2" && S2=$(($(date +%s) - T0))
  [ -n "$S1" ] && [ -n "$S2" ] && break
  sleep 1
done
[ -n "$S2" ] || fail "the backlog did not reach st2 within 420 s (line 2: $(cat "$T/r2.stats"))"
[ -n "$S1" ] || fail "the backlog did not reach st1 across a cut within 420 s (line 1: $(cat "$T/r1.stats"))"
grep -q "cuts 1" "$T/r1.stats" || fail "line 1 was not cut: $(cat "$T/r1.stats")"
relay_bytes r1
UP1=$UP
relay_bytes r2
UP2=$UP
[ "$UP2" -ge 1048576 ] || fail "the backlog took only $UP2 bytes up, less than 1 MiB"
ok "the backlog ($UP2 bytes up) reached st2 in $S2 s, $((UP2 / S2)) bytes/s of the 5,500"
ok "the backlog reached st1 in $S1 s across a cut ($UP1 bytes up)"
J=$(q "$T/va" status --json) || fail "status at va: $(cat "$T/q.err")"
DMAX=$(jnum data_max_bytes)
[ -n "$DMAX" ] && [ "$DMAX" -gt 0 ] || fail "va's status gives no largest DATA: $J"
EXTRA=$((UP1 - UP2))
[ $EXTRA -le $((DMAX + 4096)) ] ||
  fail "the cut cost $EXTRA bytes, more than one DATA message ($DMAX bytes, the largest va sent) and a handshake"
ok "the cut cost $EXTRA bytes (va's largest DATA: $DMAX bytes)"
node_stop va
node_stop vb
node_stop st1
node_stop st2
echo "$NAME: $PASS passed, $FAIL failed"
