#!/bin/sh
# Install the Debian packages snap builds and tests with. Idempotent: it only
# calls apt-get when a package is missing, so `make check` stays fast.
# util-linux has mkswap and mount has swapon/swapoff, for the zram swap the
# tests that need swap make (test/zdtm/zram.py).
set -e
PKGS="gcc make pkg-config libnl-3-dev libnl-route-3-dev libprotobuf-c-dev \
protobuf-c-compiler libcap-dev libcap2-bin libbsd-dev python3 util-linux mount procps"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
