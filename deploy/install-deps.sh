#!/bin/sh
# Installs the Debian 12 packages linli builds against, if any is missing.
# As root it uses apt-get; otherwise it names what to install and stops.
#   sh deploy/install-deps.sh        what `make build` and `make test` need
#   sh deploy/install-deps.sh deb    what `make deb` needs besides
#   sh deploy/install-deps.sh --fuzz that and clang with libFuzzer, for `make fuzz`
set -e
PKGS="build-essential cmake pkg-config libzmq3-dev librocksdb-dev libmsgpack-dev libsodium-dev libcriterion-dev libzstd-dev libjansson-dev libmicrohttpd-dev libsystemd-dev python3 openssl"
# the browser test of the web interface (tests/browser/test_web.py): headless
# Chromium driven by Selenium, and a Chinese font for its screenshots
PKGS="$PKGS chromium chromium-driver python3-selenium fonts-wqy-microhei"
if [ "${1:-}" = deb ]; then
  PKGS="dpkg-dev"
fi
if [ "${1:-}" = --fuzz ]; then
  PKGS="$PKGS clang-14 libclang-rt-14-dev"
fi
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "linli: missing Debian packages:$missing" >&2
  echo "linli: install them with: sudo apt-get install$missing" >&2
  exit 1
fi
echo "linli: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || echo "linli: apt-get update failed; trying the install with the lists at hand" >&2
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
