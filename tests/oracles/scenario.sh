#!/bin/sh
# One package's life under one rpm release, run as root in a fresh
# localhost/pkgf-rpm:<release> container by tests/test_oracles.py.
#
#   /in/KEY.asc     the bundle's public key
#   /in/v1.rpm      hello-service 1.1.0, as the bundle ships it (signed)
#   /in/v2.rpm      hello-service 1.2.0, same
#   /in/bad.rpm     v2.rpm with one payload byte flipped
#   /in/base.rpm    the target's "base provides" package
#   $1              extra rpm options (--ignorearch for a foreign arch)
#
# Every step prints "== <step> rc=<exit status>" and then what it wrote;
# the test reads the transcript. Nothing here decides pass or fail.
opts=$1
CONF=/etc/hello-service/hello.conf

step() {
	name=$1
	shift
	out=$("$@" 2>&1)
	rc=$?
	printf '== %s rc=%s\n%s\n' "$name" "$rc" "$out"
}

calls() {
	cat /calls.log 2>/dev/null
	rm -f /calls.log
}

files() {
	for f in "$CONF" /etc/hello-service /var/lib/hello-service /usr/bin/hello-service \
		/usr/lib/systemd/system/hello-service.service; do
		stat -c '%a %U %G %n' "$f" 2>/dev/null || echo "missing $f"
	done
	readlink /usr/sbin/hello-service || echo "missing /usr/sbin/hello-service"
}

# systemctl is a stand-in that records its calls; /run/systemd/system makes
# the scriptlets take their "systemd is running" branches.
printf '#!/bin/sh\necho "systemctl $*" >> /calls.log\n' > /usr/bin/systemctl
chmod 755 /usr/bin/systemctl
mkdir -p /run/systemd/system

step version rpm --version
step checksig-nokey rpmkeys --checksig -v /in/v2.rpm
step import rpmkeys --import /in/KEY.asc
step checksig rpmkeys --checksig -v /in/v2.rpm
step checksig-v1 rpmkeys --checksig -v /in/v1.rpm
step checksig-tampered rpmkeys --checksig -v /in/bad.rpm
step payload rpm -qp --qf '%{PAYLOADCOMPRESSOR} %{PAYLOADFLAGS}\n' /in/v2.rpm
step requires rpm -qp --requires /in/v2.rpm
step base rpm -i /in/base.rpm

step install rpm -i $opts /in/v1.rpm
step install-calls calls
step install-files files
step install-user getent passwd hello
step install-group getent group hello
step install-query rpm -q hello-service
echo "greeting=local" >> "$CONF"

step upgrade rpm -U $opts /in/v2.rpm
step upgrade-calls calls
step upgrade-files files
step upgrade-conf cat "$CONF"
step upgrade-rpmnew cat "$CONF.rpmnew"
step upgrade-query rpm -q hello-service

step erase rpm -e hello-service
step erase-calls calls
step erase-files files
step erase-rpmsave cat "$CONF.rpmsave"
step erase-query rpm -qa --qf '%{NAME}\n'
step erase-user getent passwd hello
