#!/bin/sh
# mp_metrics.sh - the Prometheus metrics endpoint (metrics_listen).
#
#   sh tests/mp_metrics.sh BUILD_DIR
#
# A street with metrics_listen and a village with a few records: once they
# synced, GET /metrics at the street (python3's urllib as the client) shows
# the village connected, nothing lacking on either side, bytes both ways,
# its ops ingested and a commit latency histogram that counted them, and a
# last-sync age of a few seconds; another path is 404
# (that metrics_listen is off by default is in test_config).
set -eu
NAME=mp_metrics
. "$(dirname "$0")/mp_lib.sh"

command -v python3 >/dev/null 2>&1 || { echo "ok - skipped: no python3"; exit 0; }

mkstation st; PK_S=$PK
mkstation va; PK_A=$PK
i=1
while [ $i -le 5 ]; do
  q "$T/va" put "hh/va/$i" 户主=甲$i >/dev/null || fail "put at va: $(cat "$T/q.err")"
  i=$((i + 1))
done
MPORT=$(free_port 7)
street_conf st "metrics_listen = 127.0.0.1:$MPORT" "child = $PK_A va"
node_listen st 0
village_conf va "$PORT" "$PK_S" st
node_start va || fail "va exited at start: $(tail -n 1 "$T/va.log")"
poll 20 grep -q "synced with va" "$T/st.log" || fail "st and va did not sync"

# fetch PATH: the body in $T/m.txt, the status in ST.
fetch() {
  ST=$(python3 -c '
import sys, urllib.request, urllib.error
try:
    r = urllib.request.urlopen("http://127.0.0.1:%s%s" % (sys.argv[1], sys.argv[2]), timeout=5)
    open(sys.argv[3], "wb").write(r.read()); print(r.status, r.headers.get("Content-Type"))
except urllib.error.HTTPError as e:
    open(sys.argv[3], "wb").write(e.read()); print(e.code)
' "$MPORT" "$1" "$T/m.txt") || fail "GET $1 failed"
}
# metric NAME_AND_LABELS: its value in $T/m.txt.
metric() {
  awk -v k="$1" 'index($0, k " ") == 1 { print $NF }' "$T/m.txt"
}
L='{peer="va",kind="child",id="'$(printf '%.12s' "$PK_A")'"}'
synced() {
  fetch /metrics
  [ "$(metric "linli_peer_ops_we_lack$L")" = 0 ] && [ "$(metric "linli_peer_ops_they_lack$L")" = 0 ] &&
    [ "$(metric "linli_ops_ingested_total")" = 5 ]
}
poll 10 synced || fail "metrics after the sync: $(cat "$T/m.txt")"
case $ST in "200 text/plain; version=0.0.4"*) ;; *) fail "GET /metrics gave $ST" ;; esac
[ "$(metric "linli_peer_connected$L")" = 1 ] || fail "va not shown connected"
[ "$(metric "linli_peer_received_bytes_total$L")" -gt 0 ] || fail "no bytes received counted"
[ "$(metric "linli_peer_sent_bytes_total$L")" -gt 0 ] || fail "no bytes sent counted"
[ "$(metric "linli_peer_refusals_total$L")" = 0 ] || fail "refusals counted"
AGE=$(metric "linli_peer_last_sync_age_seconds$L")
awk -v a="$AGE" 'BEGIN { exit !(a >= 0 && a < 60) }' || fail "last sync age $AGE"
[ "$(metric 'linli_commit_seconds_count')" -ge 1 ] || fail "no commit counted"
[ "$(metric 'linli_commit_seconds_bucket{le="+Inf"}')" = "$(metric 'linli_commit_seconds_count')" ] ||
  fail "the +Inf bucket is not the count"
[ "$(metric 'linli_store_ops')" -eq 5 ] || fail "store ops $(metric linli_store_ops)"
[ "$(metric 'linli_store_size_bytes')" -gt 0 ] || fail "no store size"
grep -q '^# TYPE linli_commit_seconds histogram$' "$T/m.txt" || fail "no histogram TYPE line"
grep -q '^linli_node_info{name="st",role="street",' "$T/m.txt" || fail "no node info"
ok "GET /metrics shows the child connected and synced, bytes, ops ingested, commit latency, store size"
fetch /nothing
[ "$ST" = 404 ] || fail "GET /nothing gave $ST"
ok "another path is 404"

node_stop va
node_stop st
echo "$NAME: $PASS passed, $FAIL failed"
