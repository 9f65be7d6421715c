#!/usr/bin/env bash
# Sets up a Debian 12 machine (as root) to run pkgfactory and its tests.
# Every step first looks at what is already there, so running it again is
# cheap and changes nothing that is in place.
set -Eeuo pipefail

usage() {
	cat <<'EOF'
Usage: bash scripts/setup.sh [--with-images] [--tests] [--no-apt]

  1. installs the Debian packages in scripts/apt-packages.txt (apt-get), and
     with --tests also those in scripts/apt-packages-tests.txt
  2. configures podman in /etc/containers/containers.conf (runc, ulimits)
  3. creates .venv and installs pkgfactory into it with the Go toolchain and zig
     it compiles with (extras go, cgo), and with --tests the test extras too
  4. creates the builder image package builds run in (pkgfactory builder create)
  5. with --tests: builds the reference rpm releases the rpm targets run
     (localhost/pkgf-rpm:<release>, tests/oracles/build.py) from the source
     archives in ../shared/oracles ($PKGF_ORACLES_DIR overrides)

  --with-images  also build the plain Debian 11/12 images the tests run things in
  --tests        everything the test suite needs (implies --with-images)
  --no-apt       skip step 1 (packages already installed, or not root)
EOF
}

say() { printf '==> %s\n' "$*"; }
die() {
	printf 'setup.sh: error: %s\n' "$*" >&2
	exit 1
}
on_error() {
	local rc=$?
	printf 'setup.sh: error: command failed (exit %s) at line %s: %s\n' "$rc" "$1" "${2%%$'\n'*}" >&2
	exit "$rc"
}
trap 'on_error "$LINENO" "$BASH_COMMAND"' ERR

with_images=0 tests=0 apt=1
for arg in "$@"; do
	case $arg in
	--with-images) with_images=1 ;;
	--tests) with_images=1 tests=1 ;;
	--no-apt) apt=0 ;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		usage >&2
		die "unknown option: $arg"
		;;
	esac
done

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
started=$SECONDS
is_root=0
[ "$(id -u)" = 0 ] && is_root=1

install_packages() {
	local list pkg missing=()
	for list in "$@"; do
		[ -r "$list" ] || die "$list not found"
		while read -r pkg; do
			pkg=${pkg%%#*}
			pkg=${pkg//[[:space:]]/}
			[ -n "$pkg" ] || continue
			if [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" != "install ok installed" ]; then
				missing+=("$pkg")
			fi
		done <"$list"
	done
	if [ ${#missing[@]} -eq 0 ]; then
		say "Debian packages: all in $* are installed"
		return
	fi
	[ "$is_root" = 1 ] || die "installing ${missing[*]} needs root: rerun as root, or install them and pass --no-apt"
	command -v apt-get >/dev/null || die "apt-get not found: this script supports Debian 12 only"
	say "Debian packages: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# Another apt run (unattended-upgrades, a second setup) holds the lock for a while: wait for it.
	apt-get -q -o DPkg::Lock::Timeout=600 update
	# Recommends would add buildah, lintian's and dnf's optional extras: minutes, unused.
	apt-get -q -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}"
}

# Podman's default OCI runtime (crun) fails on these machines and the default
# ulimits exceed what the sandbox allows; runc with these limits works.
configure_podman() {
	local conf=/etc/containers/containers.conf
	if [ "$is_root" != 1 ]; then
		say "podman: not root, leaving $conf alone"
		return
	fi
	mkdir -p /etc/containers
	python3 - "$conf" <<'PY'
import re
import sys
import tomllib
from pathlib import Path

conf = Path(sys.argv[1])
wanted = [  # (table, key, value as TOML)
    ("containers", "default_ulimits", '["nofile=20000:20000", "nproc=20000:20000"]'),
    ("engine", "runtime", '"runc"'),
]
text = conf.read_text() if conf.exists() else ""
try:
    data = tomllib.loads(text)
except tomllib.TOMLDecodeError as e:
    sys.exit(f"setup.sh: error: {conf} is not valid TOML ({e}); fix it by hand")

added = []
for table, key, value in wanted:
    if key in data.get(table, {}):
        have = data[table][key]
        if have != tomllib.loads(f"v = {value}")["v"]:
            print(f"==> podman: keeping {conf} [{table}] {key} = {have!r} (pkgfactory expects {value}; podman may fail)")
        continue
    header = re.search(rf"^[ \t]*\[[ \t]*{table}[ \t]*\][ \t]*(#.*)?$", text, re.M)
    if header:
        text = text[:header.end()] + f"\n{key} = {value}" + text[header.end():]
    else:
        text = text.rstrip("\n") + ("\n\n" if text.strip() else "") + f"[{table}]\n{key} = {value}\n"
    added.append(f"[{table}] {key}")

if added:
    tomllib.loads(text)  # never write a file podman cannot read
    conf.write_text(text if text.endswith("\n") else text + "\n")
    print(f"==> podman: set {', '.join(added)} in {conf}")
else:
    print(f"==> podman: {conf} has the keys pkgfactory needs")
PY
}

# What pip installs: the main job compiles Go (the example builds from source), the tests need more.
extras=go,cgo
[ "$tests" = 1 ] && extras=go,cgo,test

venv_stamp() {
	# Reinstall only when what pip would install can have changed.
	{
		cat pyproject.toml
		echo "$extras"
		.venv/bin/python -c 'import sys; print(sys.version)'
	} | sha256sum | cut -d' ' -f1
}

create_venv() {
	local py=${PYTHON:-python3}
	command -v "$py" >/dev/null || die "$py not found: install python3 (>= 3.11)"
	"$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
		die "$py is $("$py" --version 2>&1); pkgfactory needs Python >= 3.11 (set PYTHON=...)"
	if [ -d .venv ] && ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
		say "venv: .venv is broken or too old, recreating it"
		rm -rf .venv
	fi
	if [ ! -d .venv ]; then
		say "venv: creating .venv with $("$py" --version 2>&1) ($(command -v "$py"))"
		"$py" -m venv .venv || die "'$py -m venv' failed: on Debian install python3-venv"
	fi
	if [ -x .venv/bin/pkgfactory ] && [ -f .venv/.setup-stamp ] && [ "$(cat .venv/.setup-stamp)" = "$(venv_stamp)" ]; then
		say "venv: pkgfactory[$extras] already installed in .venv"
	else
		say "venv: pip install -e '.[$extras]'"
		.venv/bin/python -m pip install --progress-bar off -e ".[$extras]"
		venv_stamp >.venv/.setup-stamp
	fi
	# The extras ship toolchains as wheels; a broken one should fail here, not mid-build.
	say "venv: $(.venv/bin/go version), zig $(.venv/bin/python -m ziglang version)"
}

build_builder() {
	say "builder image: building it if missing or out of date (about a minute)"
	.venv/bin/pkgfactory builder create
}

build_images() {
	say "test images: building those missing or out of date (about a minute each)"
	.venv/bin/python -m pkgfactory.images --verbose
}

build_oracles() {
	say "rpm oracles: building those missing or out of date (under a minute each)"
	# build.py says in one line what is missing (the archives, a tool); no second line from the ERR trap.
	.venv/bin/python tests/oracles/build.py || exit $?
}

if [ "$apt" = 1 ]; then
	if [ "$tests" = 1 ]; then
		install_packages scripts/apt-packages.txt scripts/apt-packages-tests.txt
	else
		install_packages scripts/apt-packages.txt
	fi
else
	say "Debian packages: skipped (--no-apt)"
fi
configure_podman
create_venv
build_builder
if [ "$with_images" = 1 ]; then
	build_images
fi
if [ "$tests" = 1 ]; then
	build_oracles
fi
say "setup done in $((SECONDS - started))s"
