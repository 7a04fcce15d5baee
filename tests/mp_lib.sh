# mp_lib.sh - what the multi-process test scripts share; sourced after NAME
# is set.  Not a test itself.
#
#   sh tests/mp_X.sh BUILD_DIR   (programs: BUILD_DIR/linli, BUILD_DIR/linli-node)
#
# Sets LINLI, NODE and T (a temporary directory, removed on exit).  Every
# daemon is started with node_start and runs inside a small wrapper that
# records its pid in $T/NAME.pid and, when it ends, its exit status in
# $T/NAME.rc; its log is $T/NAME.log.  On exit, INT or TERM every daemon
# still running gets SIGTERM, then SIGKILL after 10 s.
#
# Helpers: ok/fail (counting; fail prints the closing line and exits 1),
# poll SECONDS CMD... (runs CMD until it succeeds or the time is up), q DIR
# ARGS... (linli with the output on stdout, errors in $T/q.err), jnum
# (a number field of the JSON in $J), nkeys and has_n (records under a
# prefix), free_port, node_start, node_stop, node_kill, node_check_log,
# same_digest, listen_conf, street_conf, village_conf, relay_start, relay_bytes.
if [ $# -ne 1 ]; then
  echo "usage: sh tests/$NAME.sh BUILD_DIR" >&2
  exit 2
fi
LC_ALL=C
export LC_ALL
B=$1
case $B in /*) ;; *) B=$(pwd)/$B ;; esac
LINLI=$B/linli
NODE=$B/linli-node
for p in "$LINLI" "$NODE"; do
  if [ ! -x "$p" ]; then
    echo "$NAME: $p is not an executable" >&2
    exit 1
  fi
done
# Leak checking on for sanitized builds (ignored by the others).
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1
UBSAN_OPTIONS=${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1
export ASAN_OPTIONS UBSAN_OPTIONS

T=$(mktemp -d "${TMPDIR:-/tmp}/$NAME.XXXXXX")
NODES=""
PASS=0
FAIL=0

mp_cleanup() {
  for n in $NODES; do
    [ -f "$T/$n.rc" ] && continue
    [ -s "$T/$n.pid" ] && kill -TERM "$(cat "$T/$n.pid")" 2>/dev/null || :
  done
  i=0
  while [ $i -lt 100 ]; do
    left=0
    for n in $NODES; do
      [ -f "$T/$n.rc" ] || left=1
    done
    [ $left -eq 0 ] && break
    sleep 0.1
    i=$((i + 1))
  done
  for n in $NODES; do
    if [ ! -f "$T/$n.rc" ] && [ -s "$T/$n.pid" ]; then
      echo "$NAME: $n did not stop within 10 s; killing it" >&2
      kill -KILL "$(cat "$T/$n.pid")" 2>/dev/null || :
    fi
  done
  wait 2>/dev/null || :
  # a test's own cleanup (mp_diskfull.sh unmounts its small disk)
  ${MP_CLEANUP:-:}
  if [ -n "${MP_KEEP:-}" ]; then
    echo "$NAME: kept $T" >&2
  else
    rm -rf "$T"
  fi
}
trap 'mp_cleanup' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ok() {
  PASS=$((PASS + 1))
  echo "ok $PASS - $*"
}

fail() {
  FAIL=$((FAIL + 1))
  echo "not ok - $*"
  for n in $NODES; do
    if [ -f "$T/$n.log" ]; then
      echo "# last lines of $n's log:"
      tail -n 8 "$T/$n.log" | sed 's/^/#   /'
    fi
  done
  echo "$NAME: $PASS passed, $FAIL failed"
  exit 1
}

# poll SECONDS CMD...: 0 as soon as CMD succeeds, 1 when SECONDS are up.
poll() {
  _end=$(($1 * 10))
  shift
  _i=0
  while [ $_i -lt $_end ]; do
    "$@" && return 0
    sleep 0.1
    _i=$((_i + 1))
  done
  "$@"
}

# q DIR ARGS...: linli on data directory DIR (through its daemon when one
# runs); output on stdout, errors in $T/q.err.
q() {
  _d=$1
  shift
  "$LINLI" -d "$_d" "$@" 2>"$T/q.err"
}

# nkeys DIR PREFIX: how many records ls lists.
nkeys() {
  q "$1" ls "$2" >"$T/ls.out" || fail "ls $2 at $1 failed: $(cat "$T/q.err")"
  wc -l <"$T/ls.out" | tr -d ' '
}

# has_n DIR PREFIX N: ls lists N records under PREFIX.
has_n() { [ "$(nkeys "$1" "$2")" -eq "$3" ]; }

# jnum FIELD: the first number field FIELD of the JSON in $J.
jnum() {
  printf '%s\n' "$J" | sed -n "s/.*\"$1\":\\([0-9-]*\\).*/\\1/p" | head -n 1
}

# free_port K: a TCP port for listener K, derived from the pid so that runs
# in parallel pick different ones, and skipping ports already listened on.
free_port() {
  _p=$((20000 + ($$ * 7 + $1 * 101) % 20000))
  _k=0
  while [ $_k -lt 50 ]; do
    if command -v ss >/dev/null 2>&1 && [ -n "$(ss -Htln "sport = :$_p" 2>/dev/null)" ]; then
      _p=$((20000 + (_p - 20000 + 313) % 20000))
    else
      break
    fi
    _k=$((_k + 1))
  done
  echo $_p
}

# node_start N: starts linli-node -c $T/N.conf; waits up to 20 s for its
# "started" line.  Returns 1 (with the log kept) when it exited instead.
node_start() {
  _n=$1
  case " $NODES " in *" $_n "*) ;; *) NODES="$NODES $_n" ;; esac
  rm -f "$T/$_n.rc" "$T/$_n.pid"
  # (set -e holds in the subshell too: the status is caught with ||.)
  (
    _rc=0
    sh -c 'echo $$ >"$0"; exec "$@"' "$T/$_n.pid" "$NODE" -c "$T/$_n.conf" 2>>"$T/$_n.log" ||
      _rc=$?
    echo $_rc >"$T/$_n.rc.tmp" && mv "$T/$_n.rc.tmp" "$T/$_n.rc"
  ) </dev/null >/dev/null 2>&1 &
  _i=0
  while [ $_i -lt 200 ]; do
    [ -f "$T/$_n.rc" ] && return 1
    if [ -s "$T/$_n.pid" ] && [ -S "$T/$_n/control.sock" ] &&
      grep -q "\\] started " "$T/$_n.log" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
    _i=$((_i + 1))
  done
  fail "$_n did not start within 20 s"
}

# node_stop N: SIGTERM, wait up to 20 s; fails unless it exited with 0,
# its log ends with "stopped" and holds no sanitizer report.
node_stop() {
  _n=$1
  kill -TERM "$(cat "$T/$_n.pid")" 2>/dev/null || :
  poll 20 test -f "$T/$_n.rc" || fail "$_n did not stop within 20 s of SIGTERM"
  _rc=$(cat "$T/$_n.rc")
  [ "$_rc" = 0 ] || fail "$_n exited with status $_rc after SIGTERM"
  tail -n 1 "$T/$_n.log" | grep -q "\\] stopped\$" || fail "$_n's log does not end with 'stopped'"
  node_check_log "$_n"
}

# node_kill N: SIGKILL (a power cut), waits until it is gone.
node_kill() {
  _n=$1
  kill -KILL "$(cat "$T/$_n.pid")" 2>/dev/null || :
  poll 20 test -f "$T/$_n.rc" || fail "$_n is still there 20 s after SIGKILL"
}

# node_check_log N: fails if N's log holds a sanitizer report.
node_check_log() {
  if grep -E "ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error|SUMMARY: (Address|Undefined|Leak)" \
    "$T/$1.log" >/dev/null 2>&1; then
    fail "$1's log holds a sanitizer report: $(grep -m 1 -E "Sanitizer|runtime error" "$T/$1.log")"
  fi
}

# mkstation N: a data directory $T/N for station N; sets PK to its key.
mkstation() {
  "$LINLI" -d "$T/$1" init --no-trust --name "$1" >"$T/q.out" 2>"$T/q.err" ||
    fail "init of $1 failed: $(cat "$T/q.err")"
  PK=$(cat "$T/$1/node.key.pub")
}

# listen_conf N ROLE LINE...: $T/N.conf.in for station N of ROLE, data
# $T/N, listening on @PORT@ (node_listen fills it in), then the LINEs
# (child = ..., parent = ...).  street_conf N LINE...: the same, a street.
listen_conf() {
  _n=$1
  _r=$2
  shift 2
  {
    printf 'name = %s\nrole = %s\ndata = %s\nlisten = tcp://127.0.0.1:@PORT@\n' "$_n" "$_r" "$T/$_n"
    [ $# -eq 0 ] || printf '%s\n' "$@"
  } >"$T/$_n.conf.in"
}
street_conf() {
  _s=$1
  shift
  listen_conf "$_s" street "$@"
}

# village_conf N PORT PARENT_KEY PARENT_NAME LINE...: $T/N.conf for
# village N, data $T/N, its parent on 127.0.0.1:PORT, then the LINEs.
village_conf() {
  _n=$1
  {
    printf 'name = %s\nrole = village\ndata = %s\nparent = tcp://127.0.0.1:%s %s %s\n' "$_n" "$T/$_n" "$2" "$3" "$4"
    shift 4
    [ $# -eq 0 ] || printf '%s\n' "$@"
  } >"$T/$_n.conf"
}

# same_digest PREFIX DIR...: PREFIX has one non-empty digest in all DIRs.
same_digest() {
  _pre=$1
  shift
  _first=""
  for _d in "$@"; do
    _g=$(q "$_d" digest "$_pre") || return 1
    [ "$_g" != 0000000000000000000000000000000000000000000000000000000000000000 ] || return 1
    if [ -z "$_first" ]; then
      _first=$_g
    elif [ "$_g" != "$_first" ]; then
      return 1
    fi
  done
}

# node_listen N K: starts station N whose configuration $T/N.conf.in holds
# @PORT@ where its listening port goes; the port comes from free_port K and
# the next ones are tried when it turns out to be taken.  Sets PORT.
node_listen() {
  PORT=$(free_port "$2")
  _t=0
  while [ $_t -lt 5 ]; do
    sed "s/@PORT@/$PORT/g" "$T/$1.conf.in" >"$T/$1.conf"
    node_start "$1" && return 0
    grep -q "cannot listen" "$T/$1.log" ||
      fail "$1 exited at start with status $(cat "$T/$1.rc"): $(tail -n 1 "$T/$1.log")"
    PORT=$((PORT + 1))
    _t=$((_t + 1))
  done
  fail "$1 found no free port to listen on"
}

# relay_start N LPORT TARGET_PORT ARGS...: starts tools' linkrelay as N,
# listening on LPORT (or, when that is taken, one of the next four: RPORT
# says which) and relaying to 127.0.0.1:TARGET_PORT with ARGS (-r rate,
# -d delay, -q queue, -c/-C cuts); its byte counts go to $T/N.stats.
# Stopped on exit like a daemon.
relay_start() {
  _n=$1
  RPORT=$2
  _t=$3
  shift 3
  case " $NODES " in *" $_n "*) ;; *) NODES="$NODES $_n" ;; esac
  _k=0
  while :; do
    rm -f "$T/$_n.rc" "$T/$_n.pid" "$T/$_n.stats"
    (
      _rc=0
      sh -c 'echo $$ >"$0"; exec "$@"' "$T/$_n.pid" "$B/linkrelay" -l "$RPORT" \
        -t "127.0.0.1:$_t" -s "$T/$_n.stats" "$@" 2>>"$T/$_n.log" || _rc=$?
      echo $_rc >"$T/$_n.rc.tmp" && mv "$T/$_n.rc.tmp" "$T/$_n.rc"
    ) </dev/null >/dev/null 2>&1 &
    poll 10 eval "test -s '$T/$_n.stats' || test -f '$T/$_n.rc'" || :
    [ -s "$T/$_n.stats" ] && return 0
    _k=$((_k + 1))
    [ $_k -lt 5 ] && grep -q "cannot listen" "$T/$_n.log" 2>/dev/null || break
    RPORT=$((RPORT + 1))
  done
  fail "relay $_n did not start: $(tail -n 1 "$T/$_n.log")"
}

# relay_bytes N: sets UP and DOWN to the bytes relay N delivered each way.
relay_bytes() {
  UP=$(sed -n 's/^up \([0-9]*\) .*/\1/p' "$T/$1.stats")
  DOWN=$(sed -n 's/.* down \([0-9]*\) .*/\1/p' "$T/$1.stats")
}
