#!/bin/sh
# gprs.sh - linli over an emulated village GPRS line (tools/linkrelay:
# 5,500 bytes/s each way = 44 kbit/s, 375 ms one way, a 16 KiB queue),
# both nodes with `link = gprs`.  docs/BENCHMARKS.md, "gprs".
#
#   sh tools/bench/gprs.sh BUILD_DIR [day|backlog]
#
# day:     1,000 ops written offline at the village (200 writes of 5
#          fields); from link-up (the relay starts while the village's
#          daemon is retrying) to equal digests at the street.
# backlog: 3,000 diary entries of 600 characters of random text (300
#          records of 10 fields, about 1 MB compressed); the same timing.
# Prints the time, the bytes each way through the relay and how often the
# village's connection was cut.  The timing includes the CLI's polling of
# the digests (every 0.1 s plus the time a `linli digest` takes).
set -eu
NAME=gprs
MODE=${2:-day}
. "$(dirname "$0")/../../tests/mp_lib.sh"
mkstation st; PK_S=$PK
mkstation va; PK_A=$PK
i=1
if [ "$MODE" = day ]; then
  PRE=hh/va/
  while [ $i -le 200 ]; do
    q "$T/va" put "hh/va/$i" a=$i b=x$i c=y$i d=z$i e=w$i >/dev/null || fail "put $i"
    i=$((i + 1))
  done
else
  PRE=diary/va/
  while [ $i -le 300 ]; do
    args=""
    f=1
    while [ $f -le 10 ]; do
      args="$args f$f=$(head -c 450 /dev/urandom | base64 -w 0)"
      f=$((f + 1))
    done
    # shellcheck disable=SC2086
    q "$T/va" put "diary/va/$i" $args >/dev/null || fail "put $i"
    i=$((i + 1))
  done
fi
J=$(q "$T/va" --json status)
OPS=$(jnum ops)
cat >"$T/st.conf.in" <<EOF2
name = st
role = street
data = $T/st
listen = tcp://127.0.0.1:@PORT@
child = $PK_A va
link = gprs
EOF2
node_listen st 0
SP=$PORT
RP=$(free_port 7)
cat >"$T/va.conf" <<EOF2
name = va
role = village
data = $T/va
parent = tcp://127.0.0.1:$RP $PK_S st
link = gprs
EOF2
node_start va
sleep 3
T0=$(date +%s.%N)
relay_start r "$RP" "$SP" -r 5500 -d 375 -q 16384
poll 900 same_digest $PRE "$T/va" "$T/st" || fail "no equal digests within 900 s"
T1=$(date +%s.%N)
relay_bytes r
CUTS=$(grep -c "disconnected from" "$T/va.log" || :)
echo "gprs $MODE: $OPS ops, link-up to equal digests $(echo "$T1 - $T0" | bc) s;" \
  "$UP bytes up, $DOWN down; connection cut $CUTS times"
