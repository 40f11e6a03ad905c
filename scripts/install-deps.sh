#!/bin/sh
# Install the Debian packages snap builds and tests with. Idempotent: it only
# calls apt-get when a package is missing, so `make check` stays fast.
# util-linux has mkswap and mount has swapon/swapoff, for the zram swap the
# tests that need swap make (test/zdtm/zram.py). redis-server, redis-tools and
# nginx-light are the real servers the srv/* tests (test/zdtm/srv_*.py) and
# scripts/bench-redis.sh run; their own services must not start at install
# time (a redis left on port 6379 would outlive the install and hold memory).
# iproute2 has ip(8) and ss(8): network namespaces and veth pairs for the
# page-server, lock and migration tests, ss -K for srv/redis_conn_destroyed.
# runc, busybox-static and jq run the runc end-to-end test (test/zdtm/runc.py)
# and scripts/bench-runc.sh: a busybox container checkpointed through snap swrk.
# postgresql-15 is the database srv/postgres (test/zdtm/srv_postgres.py) runs
# from a cluster of its own; the packaged cluster's service must not start.
# tcpdump reads lo through a mapped packet ring in srv/tcpdump_* (srv_tcpdump.py).
set -e
PKGS="gcc make pkg-config libnl-3-dev libnl-route-3-dev libprotobuf-c-dev \
protobuf-c-compiler libcap-dev libcap2-bin libbsd-dev python3 util-linux mount procps \
redis-server redis-tools nginx-light iproute2 runc busybox-static jq postgresql-15 \
tcpdump"
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

# policy-rc.d exiting 101 tells invoke-rc.d and deb-systemd-invoke not to start
# any service; only ours is removed afterwards, a policy already there stays.
policy=/usr/sbin/policy-rc.d
own_policy=""
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	own_policy=1
	trap 'rm -f "$policy"' EXIT
fi

apt-get -o DPkg::Lock::Timeout=300 update -qq
apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends $missing >/dev/null

# Belt and braces for a system whose service manager ignores the policy:
# stop the packaged services if they came up anyway.
for svc in redis-server nginx postgresql; do
	case "$missing" in *"$svc"*) ;; *) continue ;; esac
	if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
		systemctl disable --now "$svc" >/dev/null 2>&1 || true
	elif [ -x "/etc/init.d/$svc" ]; then
		"/etc/init.d/$svc" stop >/dev/null 2>&1 || true
	fi
done
[ -n "$own_policy" ] && rm -f "$policy"
exit 0
