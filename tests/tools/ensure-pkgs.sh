#!/bin/sh
# Installs the Debian packages named as arguments that are not installed yet.
# Runs apt-get update once, only when something is missing.
missing=""
for p in "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
if [ "$(id -u)" != 0 ]; then
	echo "missing Debian packages:$missing (run as root, or install them)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || exit 1
# policy-rc.d keeps package scripts from starting system services
# (dovecot) that would grab the standard ports.
cleanup_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	cleanup_policy=1
fi
apt-get install -y -qq --no-install-recommends $missing
rc=$?
[ $cleanup_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
exit $rc
