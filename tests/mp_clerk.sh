#!/bin/sh
# mp_clerk.sh - a clerk in the node's group runs linli against the running
# node; nobody else can.
#
#   sh tests/mp_clerk.sh BUILD_DIR
#
# As a packaged install is: a system user (here $OW) whose group ($GR)
# owns the directory of the data directories (mode 0750, as the package's
# /var/lib/linli), `linli init` run as that user, the node run as it; a clerk
# ($CL) whose own group is another but who was added to $GR; an outsider
# ($OU).  Needs root to make the three throw-away users and the group
# (removed at the end); skipped otherwise.
set -eu
NAME=mp_clerk
. "$(dirname "$0")/mp_lib.sh"

if [ "$(id -u)" -ne 0 ]; then
  echo "$NAME: skipped: making throw-away users needs root"
  exit 77
fi
for c in groupadd useradd userdel groupdel setpriv stat; do
  if ! command -v $c >/dev/null 2>&1; then
    echo "$NAME: skipped: no $c to make throw-away users with"
    exit 77
  fi
done
# The programs must be reachable by the throw-away users.
d=$B
while [ "$d" != / ]; do
  if [ "$(($(stat -c %a "$d" | sed 's/^/0/') & 1))" -eq 0 ]; then
    echo "$NAME: skipped: $d is not searchable by other users"
    exit 77
  fi
  d=$(dirname "$d")
done

GR=lkg$$
OW=lko$$
CL=lkc$$
OU=lku$$
clerk_cleanup() {
  for u in $OW $CL $OU; do userdel "$u" 2>/dev/null || :; done
  groupdel "$GR" 2>/dev/null || :
}
MP_CLEANUP=clerk_cleanup
groupadd "$GR" || fail "groupadd $GR"
useradd -M -N -g "$GR" -s /bin/sh "$OW" || fail "useradd $OW"
useradd -M -N -G "$GR" -s /bin/sh "$CL" || fail "useradd $CL"
useradd -M -N -s /bin/sh "$OU" || fail "useradd $OU"

# as USER CMD...: CMD as USER with its groups (setpriv execs, so a signal
# to the pid reaches the program itself).
as() {
  _u=$1
  shift
  setpriv --reuid "$_u" --regid "$(id -g "$_u")" --init-groups -- "$@"
}

# $T plays /var/lib/linli.
chown "$OW:$GR" "$T"
chmod 0750 "$T"
# init with the umask a login shell has: the store's files stay private all
# the same.
as "$OW" sh -c 'umask 022; exec "$@"' sh "$LINLI" -d "$T/st" init --no-trust --name st \
  >"$T/q.out" 2>"$T/q.err" || fail "init as $OW: $(cat "$T/q.err")"
[ "$(stat -c %a:%G "$T/st")" = "750:$GR" ] ||
  fail "the data directory is $(stat -c %a:%G "$T/st"), not 750:$GR"
[ "$(stat -c %a "$T/st/node.key")" = 600 ] || fail "node.key is $(stat -c %a "$T/st/node.key")"
[ "$(stat -c %a "$T/st/db")" = 700 ] || fail "db is $(stat -c %a "$T/st/db")"
open=$(find "$T/st/db" -perm /077 | head -n 3)
[ -z "$open" ] || fail "files of the store others may use: $open"
ok "init makes the data directory 0750 in its group; node.key 0600, db 0700 whatever the umask"

cat >"$T/st.conf" <<EOF
name = st
role = street
data = $T/st
EOF
chmod 0644 "$T/st.conf"
cat >"$T/node-as-owner" <<EOF
#!/bin/sh
exec setpriv --reuid $OW --regid $GR --init-groups -- $NODE "\$@"
EOF
chmod 0755 "$T/node-as-owner"
NODE=$T/node-as-owner
node_start st || fail "st exited at start: $(tail -n 1 "$T/st.log")"
[ "$(stat -c %a:%G "$T/st/control.sock")" = "660:$GR" ] ||
  fail "the control socket is $(stat -c %a:%G "$T/st/control.sock")"

out=$(as "$CL" "$LINLI" -d "$T/st" status 2>"$T/q.err") ||
  fail "status as the clerk $CL: $(cat "$T/q.err")"
printf '%s\n' "$out" | grep -q "daemon:   running" || fail "status as the clerk: $out"
as "$CL" "$LINLI" -d "$T/st" put hh/1 户主=陈建国 >/dev/null 2>"$T/q.err" ||
  fail "put as the clerk $CL: $(cat "$T/q.err")"
has_n "$T/st" hh/ 1 || fail "the clerk's record is not there"
ok "a member of the group runs linli status and put against the running node"

if as "$OU" "$LINLI" -d "$T/st" status >/dev/null 2>"$T/q.err"; then
  fail "a user outside the group ran status"
fi
grep -q "ermission denied" "$T/q.err" || fail "the outsider's error: $(cat "$T/q.err")"
ok "a user outside the group is told permission denied"

# restore makes the same directory as init.
as "$OW" "$LINLI" -d "$T/st" backup -o "$T/st.bk" >/dev/null 2>"$T/q.err" ||
  fail "backup: $(cat "$T/q.err")"
as "$OW" sh -c 'umask 022; exec "$@"' sh "$LINLI" -d "$T/st2" restore "$T/st.bk" \
  >/dev/null 2>"$T/q.err" || fail "restore as $OW: $(cat "$T/q.err")"
[ "$(stat -c %a:%G "$T/st2")" = "750:$GR" ] ||
  fail "the restored directory is $(stat -c %a:%G "$T/st2"), not 750:$GR"
[ "$(stat -c %a "$T/st2/node.key")" = 600 ] || fail "restored node.key is not 0600"
ok "restore makes the data directory 0750 too, node.key 0600"
node_stop st
echo "$NAME: $PASS passed, $FAIL failed"
