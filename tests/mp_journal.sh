#!/bin/sh
# mp_journal.sh - under systemd's journal, linli-node's lines are journal
# entries with a priority and the structured fields LINLI_STATION,
# LINLI_PEER, LINLI_AUTHOR and LINLI_SEQ (node/log.h), read back with
# `journalctl -o json`.
#
#   sh tests/mp_journal.sh BUILD_DIR
#
# A journald of its own runs in a private mount namespace (a tmpfs on /run,
# so that neither the machine's journal nor its sockets are touched), and
# each node's stderr is a journal stream (systemd-cat) named by
# $JOURNAL_STREAM, as systemd sets it.  Needs root, unshare, journald,
# journalctl and systemd-cat; skipped otherwise (the fields themselves are
# checked by test_log without any of them).
set -eu
NAME=mp_journal
JOURNALD=/lib/systemd/systemd-journald
if [ -z "${MP_JOURNAL_NS:-}" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "$NAME: skipped: a private journald needs root"
    exit 77
  fi
  for c in unshare journalctl systemd-cat stat; do
    if ! command -v $c >/dev/null 2>&1; then
      echo "$NAME: skipped: no $c"
      exit 77
    fi
  done
  if [ ! -x $JOURNALD ]; then
    echo "$NAME: skipped: no $JOURNALD"
    exit 77
  fi
  if ! unshare -m --propagation private true 2>/dev/null; then
    echo "$NAME: skipped: cannot make a private mount namespace (unshare -m)"
    exit 77
  fi
  MP_JOURNAL_NS=1 exec unshare -m --propagation private sh "$0" "$@"
fi
. "$(dirname "$0")/mp_lib.sh"

# A journald of our own, in this namespace only.
mount -t tmpfs tmpfs /run || fail "cannot mount a tmpfs on /run"
[ ! -d /var/log/journal ] || mount -t tmpfs tmpfs /var/log/journal ||
  fail "cannot hide /var/log/journal"
mkdir -p /run/systemd/journal /run/log/journal
# (started from a subshell, so that it is no job of this shell's, which
# waits for its jobs before the cleanup stops journald)
(
  $JOURNALD </dev/null >"$T/journald.log" 2>&1 &
  echo $! >"$T/journald.pid"
)
JPID=$(cat "$T/journald.pid")
journal_cleanup() { kill "$JPID" 2>/dev/null || :; }
MP_CLEANUP=journal_cleanup
poll 10 test -S /run/systemd/journal/stdout || fail "journald did not start: $(cat "$T/journald.log")"

# The node's stderr is a journal stream; $JOURNAL_STREAM names it, as
# systemd does for a unit.  The pid stays linli-node's (each step execs).
cat >"$T/node-journal" <<EOF
#!/bin/sh
exec systemd-cat -t linli-node sh -c 'JOURNAL_STREAM=\$(stat -L -c %d:%i /proc/self/fd/2) exec "\$@"' sh $NODE "\$@"
EOF
chmod 0755 "$T/node-journal"
NODE=$T/node-journal

# entries STATION: its node's journal entries, one JSON object a line.
entries() {
  journalctl -D /run/log/journal -o json --no-pager LINLI_STATION="$1" 2>/dev/null
}

# jstart N: starts N (its lines go to the journal, not $T/N.log) and waits
# for its "started" entry.
jstart() {
  NODES="$NODES $1"
  rm -f "$T/$1.rc" "$T/$1.pid"
  (
    _rc=0
    sh -c 'echo $$ >"$0"; exec "$@"' "$T/$1.pid" "$NODE" -c "$T/$1.conf" 2>>"$T/$1.log" || _rc=$?
    echo $_rc >"$T/$1.rc.tmp" && mv "$T/$1.rc.tmp" "$T/$1.rc"
  ) </dev/null >/dev/null 2>&1 &
  # (60 s: a sanitized node on a loaded machine, behind systemd-cat and
  # journald, was once seen to take more than 20; one that exited fails
  # at once)
  poll 60 sh -c "test -f '$T/$1.rc' ||
    journalctl -D /run/log/journal --no-pager LINLI_STATION=$1 2>/dev/null | grep -q '\\] started '" ||
    fail "$1 did not start within 60 s: $(cat "$T/$1.log"; entries "$1" | tail -n 3)"
  [ ! -f "$T/$1.rc" ] ||
    fail "$1 exited at start with status $(cat "$T/$1.rc"): $(cat "$T/$1.log"; entries "$1" | tail -n 3)"
}

# jstop N: SIGTERM; exits 0 with a last entry "stopped".
jstop() {
  kill -TERM "$(cat "$T/$1.pid")"
  poll 20 test -f "$T/$1.rc" || fail "$1 did not stop"
  [ "$(cat "$T/$1.rc")" = 0 ] || fail "$1 exited with $(cat "$T/$1.rc")"
  poll 5 sh -c "journalctl -D /run/log/journal --no-pager -o cat LINLI_STATION=$1 | tail -n 1 | grep -q '\\] stopped\$'" ||
    fail "$1's last entry is not 'stopped'"
  if journalctl -D /run/log/journal --no-pager -o cat | grep -E "Sanitizer|runtime error" >/dev/null; then
    fail "a sanitizer report in the journal"
  fi
}

# st is under a trust root that never certified va: va's ops are refused
# there, a line about va's author and seq.
"$LINLI" keygen -o "$T/root.key" >/dev/null 2>"$T/q.err" || fail "keygen: $(cat "$T/q.err")"
"$LINLI" -d "$T/st" init --root "$T/root.key.pub" --name st >/dev/null 2>"$T/q.err" ||
  fail "init st: $(cat "$T/q.err")"
PK_S=$(cat "$T/st/node.key.pub")
mkstation va; PK_A=$PK
PORT=$(free_port 0)
cat >"$T/st.conf" <<EOF
name = st
role = street
data = $T/st
listen = tcp://127.0.0.1:$PORT
child = $PK_A va
EOF
village_conf va "$PORT" "$PK_S" st
jstart st
jstart va
q "$T/va" put hh/1 f=v >/dev/null || fail "put at va: $(cat "$T/q.err")"

poll 20 sh -c "journalctl -D /run/log/journal -o json --no-pager LINLI_STATION=st LINLI_PEER=va | grep -q 'child va connected'" ||
  fail "no entry 'child va connected' with LINLI_PEER=va at st: $(entries st | tail -n 3)"
e=$(entries st | grep '"MESSAGE":"\[st\] started ')
printf '%s\n' "$e" | grep -q '"PRIORITY":"6"' || fail "the start entry's priority: $e"
printf '%s\n' "$e" | grep -q '"SYSLOG_IDENTIFIER":"linli-node"' || fail "no identifier: $e"
printf '%s\n' "$e" | grep -q '"_TRANSPORT":"journal"' || fail "not sent as a journal entry: $e"
! printf '%s\n' "$e" | grep -q '"LINLI_PEER"' || fail "a peer on a line about none: $e"
if entries st | grep -E '"MESSAGE":"(<[0-9]>|20[0-9][0-9]-)' >/dev/null; then
  fail "a priority prefix or a timestamp in a message: $(entries st | grep -m 1 -E '"MESSAGE":"(<|20)')"
fi
! grep -q . "$T/st.log" || fail "st wrote to its stream besides: $(head -n 2 "$T/st.log")"
ok "entries carry MESSAGE, PRIORITY, LINLI_STATION, LINLI_PEER where a line has a peer"

poll 20 sh -c "journalctl -D /run/log/journal -o json --no-pager LINLI_STATION=st LINLI_AUTHOR=$PK_A LINLI_SEQ=1 PRIORITY=4 | grep -q '\"LINLI_PEER\":\"va\"'" ||
  fail "no warning about va's op 1 with LINLI_AUTHOR and LINLI_SEQ: $(entries st | grep -v 'connected' | tail -n 3)"
e=$(journalctl -D /run/log/journal -o json --no-pager LINLI_STATION=st LINLI_AUTHOR="$PK_A" | head -n 1)
printf '%s\n' "$e" | grep -q '"MESSAGE":"\[st\] from ' || fail "the refusal's message: $e"
n=$(journalctl -D /run/log/journal -o cat --no-pager -p warning LINLI_STATION=st | grep -c . || :)
[ "$n" -ge 1 ] || fail "journalctl -p warning selects nothing"
ok "a refused op's entry has LINLI_AUTHOR, LINLI_SEQ and LINLI_PEER; -p warning selects it"

jstop va
jstop st
echo "$NAME: $PASS passed, $FAIL failed"
