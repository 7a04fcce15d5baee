#!/bin/sh
# cli_users.sh - the station's people through the `linli` CLI alone
# (embedded mode): user add | list | passwd | revoke, --as on the write
# commands, --password-file from a file and from standard input, and the
# refusals a person typing them meets.
#
#   sh tests/cli_users.sh BUILD_DIR      (the binary is BUILD_DIR/linli)
set -eu
LC_ALL=C
export LC_ALL
NAME=cli_users
unset LINLI_DATA
. "$(dirname "$0")/clilib.sh"

must -d D init --name 姑苏区 --root self
must -d V init --name 石路村 --root D/node.key.pub
must -d D cert issue --subject V/node.key.pub --name 石路村 --role village \
  --prefix gusu/shilu/ -o v.chain
must -d V cert install v.chain
printf 'correct horse\n' >pw
printf 'correct horse\nbattery staple\n' >pw2
printf 'short\n' >weak

# ---- adding people ----
refused_with 2 "needs --role" -d V user add 王芳 --password-file pw
refused_with 2 "clerk, assessor, auditor or admin" -d V user add 王芳 --role village --password-file pw
refused_with 2 "at least 8 characters" -d V user add 王芳 --role clerk --password-file weak
refused_with 2 "may not hold '/'" -d V user add ../王芳 --role clerk --password-file pw
refused_with 2 "--password-file FILE" -d V user add 王芳 --role clerk </dev/null
refused_with 2 "is for --as" -d V put hh/1 a=b --password-file pw
refused_with 2 "--days must be" -d V user add 王芳 --role clerk --days 0 --password-file pw
must -d V user add 王芳 --role clerk --password-file pw
grep -q "^added 王芳  clerk  [0-9a-f]*  prefix 'gusu/shilu/'  valid until " out ||
  fail "user add printed: $(out)"
refused_with 1 "exists already" -d V user add 王芳 --role clerk --password-file pw
printf 'assessor pass\n' | "$LINLI" -d V user add 赵评 --role assessor --password-file - >out 2>err ||
  fail "user add with the password on stdin: $(cat err)"
must -d V --json user list
grep -q '"name":"赵评","role":"assessor","key":"[0-9a-f]*","prefix":"gusu/shilu/pts/"' out ||
  fail "user list --json: $(out)"
[ "$(stat -c %a V/users.json)" = 600 ] || fail "users.json is not 0600"
ok "user add checks role, password and name, takes the password from a file or stdin"

# ---- writing as a person ----
must -d V put --as 王芳 --password-file pw hh/0001 户主=陈建国
must -d V log hh/0001
grep -q "王芳 (clerk, 石路村)  seq 2  set 户主 = 陈建国" out || fail "log: $(out)"
refused_with 1 "wrong user name or password" -d V put --as 王五 --password-file pw hh/0001 a=b
printf 'wrong one\n' >bad
refused_with 1 "wrong user name or password" -d V put --as 王芳 --password-file bad hh/0001 a=b
refused_with 1 "outside its namespace" -d V incr --as 赵评 --password-file - hh/0001 积分 5 <<EOF
assessor pass
EOF
printf 'assessor pass\n' | "$LINLI" -d V incr --as 赵评 --password-file - pts/0001 积分 5 >out 2>err ||
  fail "the assessor's points: $(cat err)"
ok "put --as signs as the person; wrong passwords and names are refused alike"

# ---- passwords and revocation ----
refused_with 2 "needs two lines" -d V user passwd 王芳 --password-file bad
printf 'wrong one\nbattery staple\n' >bad2
refused_with 1 "wrong user name or password" -d V user passwd 王芳 --password-file bad2
must -d V user passwd 王芳 --password-file pw2
printf 'battery staple\n' >pwnew
refused_with 1 "wrong user name or password" -d V put --as 王芳 --password-file pw hh/0002 a=b
must -d V put --as 王芳 --password-file pwnew hh/0002 户主=林
must -d V user revoke 王芳 --reason 调离
refused_with 1 "revoked" -d V put --as 王芳 --password-file pwnew hh/0003 a=b
refused_with 1 "revoked already" -d V user revoke 王芳
must -d V user list
grep -q "^王芳  clerk .*REVOKED" out || fail "user list: $(out)"
must audit --root D/node.key.pub -d V
ok "passwd, revoke, and the audit of it all passes"

# ---- changes at the same time ----
# Four password changes at once, each reading users.json, sealing (Argon2id)
# and writing it back: each waits for the lock, so none is lost.
for n in 1 2 3 4; do
  must -d V user add "职员$n" --role clerk --password-file pw
done
for n in 1 2 3 4; do
  "$LINLI" -d V user passwd "职员$n" --password-file pw2 >"out.$n" 2>"err.$n" &
done
wait
for n in 1 2 3 4; do
  grep -q "is changed" "out.$n" || fail "passwd of 职员$n: $(cat "err.$n")"
  must -d V put --as "职员$n" --password-file pwnew "hh/01$n" 户主=林
done
[ -e V/users.lock ] || fail "no lock file"
ok "four passwords changed at once: every change kept"

# ---- typed at a terminal (a pseudo-terminal driven by python3) ----
if command -v python3 >/dev/null 2>&1; then
  # pty_drive.py ARGS... with one line to type per prompt in $TYPE (| between):
  # prints the exit status, then what the terminal showed.
  cat >pty_drive.py <<'PY'
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
shown = b''
def take(wait, prompt=True):
    # what the terminal shows until a prompt (ending in ': ') or EOF
    global shown
    got = b''
    end = time.time() + wait
    while time.time() < end:
        if not select.select([fd], [], [], max(0, end - time.time()))[0]:
            break
        try:
            d = os.read(fd, 4096)
        except OSError:
            break
        if not d:
            break
        got += d
        if prompt and got.endswith(b': '):
            break
    shown += got
for line in os.environ['TYPE'].split('|'):
    take(20)
    os.write(fd, line.encode() + b'\n')
take(20, False)
done, st = os.waitpid(pid, os.WNOHANG)
if done == 0:
    os.kill(pid, 9)
    _, st = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(st))
sys.stdout.write(shown.decode())
PY
  TYPE='tty pass 1|tty pass 1' python3 pty_drive.py "$LINLI" -d V user add 李明 --role clerk >out
  [ "$(head -n 1 out)" = 0 ] || fail "user add at a terminal: $(out)"
  grep -q "new password of 李明: " out && grep -q "the same again: " out || fail "prompts: $(out)"
  grep -q "tty pass" out && fail "the password was echoed: $(out)"
  TYPE='tty pass 1|tty pass 2' python3 pty_drive.py "$LINLI" -d V user add 李四 --role clerk >out
  [ "$(head -n 1 out)" = 2 ] && grep -q "the two passwords typed differ" out ||
    fail "two different passwords: $(out)"
  TYPE='tty pass 1' python3 pty_drive.py "$LINLI" -d V put --as 李明 hh/0009 户主=x >out
  [ "$(head -n 1 out)" = 0 ] && grep -q "password of 李明: " out || fail "put --as at a terminal: $(out)"
  ok "at a terminal the password is asked without echo, a new one twice"
fi
echo "$NAME: $PASS passed, $FAIL failed"
