#!/bin/sh
# deb_package.sh - the Debian package: built from BUILD_DIR with CPack,
# then installed, used, removed and purged in a throw-away copy of this
# Debian system.
#
#   sh tests/deb_package.sh BUILD_DIR
#
# The copy is an overlay of / (changes go to a tmpfs and vanish) in a
# private mount namespace, entered with chroot: `apt-get install
# ./linli_*.deb` runs the real maintainer scripts there.  Any linli user,
# package or directory the machine already has is removed in the copy
# first, so the install is a first install.  Without the rights to mount
# (not root, or a container that forbids it) the package is only unpacked
# (dpkg-deb -x) and checked; the maintainer scripts do not run and the test
# reports itself skipped (status 77).
set -eu
LC_ALL=C
export LC_ALL

NAME=deb_package
if [ $# -ne 1 ]; then
  echo "usage: sh tests/$NAME.sh BUILD_DIR" >&2
  exit 2
fi
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/$NAME.XXXXXX")
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PASS=0
ok() {
  PASS=$((PASS + 1))
  echo "ok - $*"
}
fail() {
  echo "FAIL - $*" >&2
  echo "$NAME: $PASS passed, 1 failed"
  exit 1
}

VERSION=$(sed -n 's/^project(linli VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
[ -n "$VERSION" ] || fail "no version in CMakeLists.txt"
command -v systemd-analyze >/dev/null || {
  echo "$NAME: skipped: systemd-analyze is missing (apt-get install systemd)"
  exit 77
}

# ---- build ----
cpack --config "$BUILD/CPackConfig.cmake" -B "$T/pkg" >"$T/cpack.log" 2>&1 ||
  fail "cpack failed: $(tail -5 "$T/cpack.log")"
DEB=$(ls "$T"/pkg/linli_"$VERSION"_*.deb 2>/dev/null || true)
[ -n "$DEB" ] && [ -f "$DEB" ] || fail "cpack made no linli_${VERSION}_*.deb: $(ls "$T/pkg")"
ok "cpack built $(basename "$DEB")"

# ---- the package's metadata ----
field() { dpkg-deb -f "$DEB" "$1"; }
[ "$(field Version)" = "$VERSION" ] || fail "package version $(field Version), not $VERSION"
top=$(sed -n '1s/^linli (\([^)]*\)).*/\1/p' "$SRC/deploy/debian/changelog")
[ "$top" = "$VERSION" ] || fail "deploy/debian/changelog starts at $top, the project is $VERSION: add an entry"
deps=$(field Depends)
for lib in libc6 libzmq5 libsodium23 libzstd1 adduser; do
  echo "$deps" | grep -q "$lib" || fail "Depends lacks $lib: $deps"
done
echo "$deps" | grep -q "librocksdb" || fail "Depends lacks librocksdb: $deps"
dpkg-deb --ctrl-tarfile "$DEB" | tar -tvf - | grep -q 'rwxr-xr-x.*postinst$' ||
  fail "no executable postinst in the package"
ok "version $VERSION (= changelog), Depends computed: $deps"

# ---- the man pages describe the real commands, options and keys ----
roff() { sed 's/\\-/-/g; s/\\(.."//g' "$SRC/docs/man/$1"; }
roff linli.1 >"$T/linli.1.txt"
"$BUILD/linli" --complete >"$T/words"
while read -r cmd; do
  "$BUILD/linli" --complete "$cmd" | cut -d' ' -f1
done <"$T/words" >>"$T/words"
for w in $(cut -d' ' -f1 "$T/words" | sort -u); do
  case $w in
    -*) grep -q -- "$w\\b" "$T/linli.1.txt" || fail "linli(1) does not mention the option $w" ;;
    *) grep -q "^\\.[BIR]* \"\\{0,1\\}$w\\b" "$T/linli.1.txt" ||
      fail "linli(1) has no entry for the command $w" ;;
  esac
done
roff linli-node.8 >"$T/linli-node.8.txt"
for o in $("$BUILD/linli-node" --help | sed -n '/^Options:/,/^$/s/^  \(-[^ ]*\).*/\1/p'); do
  grep -q -- "$o\\b" "$T/linli-node.8.txt" || fail "linli-node(8) does not mention the option $o"
done
roff linli.conf.5 >"$T/linli.conf.5.txt"
for k in $(sed -n 's/.*strcmp(key, "\([a-z_]*\)").*/\1/p' "$SRC/node/config.c"); do
  grep -q "^\\.B $k\$" "$T/linli.conf.5.txt" || fail "linli.conf(5) has no entry for the key $k"
done
if command -v groff >/dev/null; then
  for m in linli.1 linli-node.8 linli.conf.5; do
    w=$(groff -k -man -Tutf8 -ww -z "$SRC/docs/man/$m" 2>&1 || true)
    [ -z "$w" ] || fail "groff warns about $m: $w"
  done
fi
ok "the man pages cover every command, option and configuration key"

if command -v lintian >/dev/null; then
  lintian --fail-on error,warning "$DEB" >"$T/lintian.log" 2>&1 ||
    fail "lintian: $(grep '^[EW]:' "$T/lintian.log" | head -5)"
  ok "lintian reports no error and no warning"
fi

# ---- installed into a throw-away copy of the system ----
cat >"$T/inside.sh" <<'INSIDE'
set -eu
fail() { echo "FAIL - $*" >&2; exit 1; }
VERSION=$1
cd /linli-test
DEB=$(ls /linli-test/linli_*.deb)
export DEBIAN_FRONTEND=noninteractive PATH=/usr/sbin:/usr/bin:/sbin:/bin
# A first install: nothing of linli in this copy.
if dpkg-query -W -f '${Status}' linli 2>/dev/null | grep -q installed; then
  dpkg --purge linli >/dev/null
fi
if getent passwd linli >/dev/null; then userdel linli; fi
if getent group linli >/dev/null; then groupdel linli; fi
rm -rf /etc/linli /var/lib/linli /etc/systemd/system/linli-node@.service

apt-get install -y -q "$DEB" >apt.log 2>&1 ||
  fail "apt-get install $DEB: $(tail -5 apt.log)"
[ "$(/usr/bin/linli --version)" = "linli $VERSION" ] || fail "/usr/bin/linli --version: $(/usr/bin/linli --version)"
[ "$(/usr/sbin/linli-node --version)" = "linli-node $VERSION" ] || fail "/usr/sbin/linli-node --version"
getent passwd linli | grep -q ':/var/lib/linli:/usr/sbin/nologin$' || fail "user linli: $(getent passwd linli)"
[ "$(id -gn linli)" = linli ] || fail "linli's group is $(id -gn linli)"
[ "$(stat -c '%a %U:%G' /var/lib/linli)" = "750 linli:linli" ] ||
  fail "/var/lib/linli is $(stat -c '%a %U:%G' /var/lib/linli)"
[ -d /etc/linli ] || fail "no /etc/linli"
for f in /usr/share/man/man1/linli.1.gz /usr/share/man/man8/linli-node.8.gz \
    /usr/share/man/man5/linli.conf.5.gz /usr/share/bash-completion/completions/linli \
    /usr/share/doc/linli/README.md /usr/share/doc/linli/docs/FORMAT.md \
    /usr/share/doc/linli/docs/PROTOCOL.md /usr/share/doc/linli/deploy/README.md \
    /usr/share/doc/linli/examples/linli-node.street.conf /usr/share/doc/linli/copyright \
    /usr/share/doc/linli/docs/API.md /usr/share/linli/web/index.html /usr/share/linli/web/app.js; do
  [ -f "$f" ] || fail "$f is not installed"
done
echo "ok - apt-get install: programs, user and group linli, /var/lib/linli 0750 linli:linli, docs, man pages, the web interface"

# The unit, as systemd would load an instance of it.  Its Documentation=
# man pages are looked up too when man is installed.
man=--man=yes
command -v man >/dev/null || man=--man=no
systemd-analyze verify $man /lib/systemd/system/linli-node@.service >verify.log 2>&1 ||
  fail "systemd-analyze verify the template: $(cat verify.log)"
systemd-analyze verify $man linli-node@test.service >verify.log 2>&1 ||
  fail "systemd-analyze verify linli-node@test.service: $(cat verify.log)"
grep -q '^ExecStart=/usr/sbin/linli-node ' /lib/systemd/system/linli-node@.service ||
  fail "the unit does not start /usr/sbin/linli-node"
echo "ok - systemd-analyze verify passes on the installed unit"

# The linli user makes a station under /var/lib/linli and reads it back.
runuser -u linli -- linli -d /var/lib/linli/t init --name 测试站 --root self >init.log 2>&1 ||
  fail "init as linli: $(cat init.log)"
runuser -u linli -- linli -d /var/lib/linli/t put hh/t/1 户主=张 >/dev/null
[ "$(runuser -u linli -- linli -d /var/lib/linli/t get hh/t/1)" = "户主 (register): 张" ] ||
  fail "get as linli: $(runuser -u linli -- linli -d /var/lib/linli/t get hh/t/1 2>&1)"
echo "name = t" >/etc/linli/t.conf
echo "ok - the linli user runs a station in /var/lib/linli"

# Installing again (an upgrade to the same version) changes nothing.
dpkg -i "$DEB" >dpkg.log 2>&1 || fail "dpkg -i again: $(tail -5 dpkg.log)"
[ "$(stat -c '%a %U:%G' /var/lib/linli)" = "750 linli:linli" ] || fail "reinstall changed /var/lib/linli"
[ "$(runuser -u linli -- linli -d /var/lib/linli/t get hh/t/1)" = "户主 (register): 张" ] ||
  fail "reinstall lost the station"
echo "ok - installing again keeps user, directory and data"

apt-get remove -y -q linli >apt.log 2>&1 || fail "apt-get remove: $(tail -5 apt.log)"
for f in /usr/bin/linli /usr/sbin/linli-node /lib/systemd/system/linli-node@.service \
    /usr/share/man/man1/linli.1.gz /usr/share/doc/linli/README.md; do
  [ ! -e "$f" ] || fail "$f is still there after remove"
done
[ -f /etc/linli/t.conf ] || fail "remove took the configuration"
[ -f /var/lib/linli/t/node.key ] || fail "remove took the station's data"
echo "ok - apt-get remove: programs, unit and docs gone; configuration and data kept"

apt-get purge -y -q linli >apt.log 2>&1 || fail "apt-get purge: $(tail -5 apt.log)"
[ ! -e /etc/linli ] || fail "/etc/linli is still there after purge"
[ -f /var/lib/linli/t/node.key ] || fail "purge took the station's data"
grep -q 'kept the station data in /var/lib/linli' apt.log || fail "purge did not say the data stays"
dpkg-query -W linli >/dev/null 2>&1 && fail "linli still known to dpkg after purge"
echo "ok - apt-get purge: configuration gone; the station data kept, and it says so"

apt-get install -y -q "$DEB" >apt.log 2>&1 || fail "install again: $(tail -5 apt.log)"
LINLI_PURGE_DATA=yes apt-get purge -y -q linli >apt.log 2>&1 || fail "purge with data: $(tail -5 apt.log)"
[ ! -e /var/lib/linli ] || fail "LINLI_PURGE_DATA=yes apt-get purge left /var/lib/linli"
echo "ok - LINLI_PURGE_DATA=yes apt-get purge removes the data too"
INSIDE

ovl=$T/ovl
mkdir -p "$ovl"
# Can this process mount the copy?  (The same mounts, undone at once.)
can_mount() {
  [ "$(id -u)" -eq 0 ] && unshare -m --propagation private sh -eu -c '
    mount -t tmpfs tmpfs "$1"
    mkdir "$1/u" "$1/w" "$1/r"
    mount -t overlay overlay -o "lowerdir=/,upperdir=$1/u,workdir=$1/w" "$1/r"
  ' sh "$ovl" 2>/dev/null
}
if can_mount; then
  unshare -m --propagation private sh -eu -c '
    T=$1 ovl=$1/ovl
    mount -t tmpfs tmpfs "$ovl"
    mkdir -p "$ovl/upper/linli-test" "$ovl/work" "$ovl/root"
    cp "$T"/pkg/linli_*.deb "$T/inside.sh" "$ovl/upper/linli-test/"
    mount -t overlay overlay -o "lowerdir=/,upperdir=$ovl/upper,workdir=$ovl/work" "$ovl/root"
    mount --rbind /dev "$ovl/root/dev"
    mount -t proc proc "$ovl/root/proc"
    mount -t tmpfs tmpfs "$ovl/root/run"
    mount -t tmpfs tmpfs "$ovl/root/tmp"
    chroot "$ovl/root" sh /linli-test/inside.sh "$2"
  ' sh "$T" "$VERSION" >"$T/inside.log" 2>&1 || { cat "$T/inside.log"; fail "in the throw-away system"; }
  cat "$T/inside.log"
  PASS=$((PASS + $(grep -c '^ok - ' "$T/inside.log")))
  echo "$NAME: $PASS passed, 0 failed"
  exit 0
fi

# No overlay: unpack and check what can be checked without the scripts.
dpkg-deb -x "$DEB" "$T/x"
[ "$("$T/x/usr/bin/linli" --version)" = "linli $VERSION" ] || fail "unpacked linli --version"
# The unit with ExecStart pointing into the unpacked tree.
mkdir "$T/unit"
sed "s#^ExecStart=/usr/sbin/#ExecStart=$T/x/usr/sbin/#" "$T/x/lib/systemd/system/linli-node@.service" \
  >"$T/unit/linli-node@test.service"
systemd-analyze verify --man=no "$T/unit/linli-node@test.service" ||
  fail "systemd-analyze verify of the unpacked unit"
ok "unpacked: linli --version and the unit verify"
echo "$NAME: skipped the install: cannot mount a throw-away system here (needs root and mount rights)"
exit 77
