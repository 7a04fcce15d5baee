#!/bin/sh
# install.sh - installs linli and linli-node on a Debian machine.
#
#   sh deploy/install.sh [--build DIR] [--prefix DIR]
#
# Copies the built programs to PREFIX/bin (default /usr/local), the systemd
# unit to /etc/systemd/system, the sample configurations and
# deploy/README.md to PREFIX/share/doc/linli; creates the `linli` system
# user, /etc/linli and /var/lib/linli (owned by linli, mode 0700).  Running
# it again changes nothing that is already in place, except that the
# programs and the unit are replaced by the new build; configuration files
# in /etc/linli are never touched.  Run as root, after `make build`.
set -eu

BUILD=build
PREFIX=/usr/local
usage() {
  cat <<'USAGE'
usage: sh deploy/install.sh [--build DIR] [--prefix DIR] [--help]

Installs linli and linli-node from the build directory DIR (default: build)
into PREFIX/bin (default PREFIX: /usr/local), the systemd unit
linli-node@.service, the sample configurations and their documentation
into PREFIX/share/doc/linli, and creates the linli system user,
/etc/linli and /var/lib/linli.  Safe to run again; never touches files in
/etc/linli.  Must run as root.

Then, for a node called jinchang:
  sudo -u linli linli -d /var/lib/linli/jinchang init --name 金阊街道
  cp PREFIX/share/doc/linli/linli-node.street.conf /etc/linli/jinchang.conf
  (edit it: data = /var/lib/linli/jinchang, the keys of parent and children)
  systemctl enable --now linli-node@jinchang
USAGE
}

while [ $# -gt 0 ]; do
  case $1 in
    --help|-h) usage; exit 0 ;;
    --build) [ $# -ge 2 ] || { echo "install.sh: --build needs a directory" >&2; exit 2; }
             BUILD=$2; shift 2 ;;
    --prefix) [ $# -ge 2 ] || { echo "install.sh: --prefix needs a directory" >&2; exit 2; }
              PREFIX=$2; shift 2 ;;
    *) echo "install.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

HERE=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: must run as root" >&2
  exit 1
fi
for prog in linli linli-node; do
  if [ ! -x "$BUILD/$prog" ]; then
    echo "install.sh: $BUILD/$prog is missing (build first: make build)" >&2
    exit 1
  fi
done

install -d -m 0755 "$PREFIX/bin" "$PREFIX/share/doc/linli"
install -m 0755 "$BUILD/linli" "$BUILD/linli-node" "$PREFIX/bin/"
install -m 0644 "$HERE/README.md" "$HERE"/linli-node.*.conf "$PREFIX/share/doc/linli/"

if ! getent group linli >/dev/null; then
  groupadd --system linli
fi
if ! getent passwd linli >/dev/null; then
  useradd --system --gid linli --home-dir /var/lib/linli --no-create-home \
    --shell /usr/sbin/nologin --comment "linli sync node" linli
fi
install -d -m 0755 /etc/linli
install -d -m 0700 -o linli -g linli /var/lib/linli

if [ -d /etc/systemd/system ]; then
  UNIT=/etc/systemd/system/linli-node@.service
  sed "s#/usr/local/bin/linli-node#$PREFIX/bin/linli-node#; s#/usr/local/share/doc/linli#$PREFIX/share/doc/linli#" \
    "$HERE/systemd/linli-node@.service" >"$UNIT.tmp"
  chmod 0644 "$UNIT.tmp"
  mv "$UNIT.tmp" "$UNIT"
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
  fi
fi
echo "installed linli and linli-node in $PREFIX/bin; see $PREFIX/share/doc/linli/README.md"
