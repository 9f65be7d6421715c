#!/bin/sh
# pkgfactory target probe.
#
# Run on a real target machine, as any user, with any POSIX sh:
#     sh probe.sh > my-targets/ID.toml
# It prints a pkgfactory target profile (TOML) describing this machine on
# stdout; diagnostics go to stderr. It only reads: no root, no network, no
# changes. Put the file in a --targets-dir (or PKGF_TARGETS_DIR): a profile
# whose id matches a built-in one replaces it.
#
# PKGF_PROBE_FAMILY=rpm|deb forces the package family (for testing the rpm
# part on a host that has rpm installed next to dpkg).

set -u
# English tool output: we parse `dpkg-deb --help` and friends.
LC_ALL=C
export LC_ALL
# ldconfig lives in sbin, which ordinary users often do not have in PATH.
PATH="${PATH:-/usr/bin:/bin}:/sbin:/usr/sbin"
export PATH

warn() { printf 'probe: %s\n' "$*" >&2; }
die() { warn "$*"; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

# TOML basic string. Control characters are dropped: they never carry meaning
# in the values we print and TOML would need escapes for them.
q() {
    printf '"%s"' "$(printf '%s' "$1" | tr -d '\000-\037' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')"
}

# TOML string holding a shell glob that matches $1 literally: the profile's
# [identify] values are fnmatch patterns, so [ ] * ? must be bracketed.
qglob() { q "$(printf '%s' "$1" | sed 's/[][*?]/[&]/g')"; }

# TOML array of strings from the lines of $1.
qlist() {
    printf '['
    sep=''
    printf '%s\n' "$1" | while IFS= read -r item; do
        [ -n "$item" ] || continue
        printf '%s%s' "$sep" "$(q "$item")"
        sep=', '
    done
    printf ']'
}

# First dotted number in $1: "RPM version 4.14.3" -> 4.14.3, "systemd 252 (252.3-1)" -> 252.
vnum() {
    printf '%s\n' "$1" | sed -n 's/^[^0-9]*\([0-9][0-9]*\(\.[0-9][0-9]*\)*\).*/\1/p' | head -n 1
}

# True when dotted version $1 < $2.
ver_lt() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        na = split(a, x, "."); nb = split(b, y, "."); n = (na > nb) ? na : nb
        for (i = 1; i <= n; i++) {
            if (x[i] + 0 < y[i] + 0) exit 0
            if (x[i] + 0 > y[i] + 0) exit 1
        }
        exit 1
    }'
}

# --- /etc/os-release ---------------------------------------------------------
# Parsed, never sourced: sourcing would run whatever the file contains.
OSR=/etc/os-release
[ -r "$OSR" ] || OSR=/usr/lib/os-release
osr() {
    [ -r "$OSR" ] || return 0
    sed -n "s/^$1=//p" "$OSR" | head -n 1 |
        sed -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'\$/\1/" -e 's/\\\(.\)/\1/g'
}
lower() { printf '%s' "$1" | tr '[:upper:]' '[:lower:]'; }

os_id=$(osr ID)
os_version_id=$(osr VERSION_ID)
os_version=$(osr VERSION)
os_platform_id=$(osr PLATFORM_ID)
os_name=$(osr PRETTY_NAME)
[ -n "$os_name" ] || os_name="$(osr NAME) $os_version"
[ -n "$os_id" ] || die "no ID= in /etc/os-release or /usr/lib/os-release: cannot name this target"

target_id=$(printf '%s-%s' "$(lower "$os_id")" "$(lower "$os_version_id")" |
    sed -e 's/[^a-z0-9._-]/-/g' -e 's/--*/-/g' -e 's/^-//' -e 's/-$//')

host=$(uname -n 2>/dev/null || echo unknown)
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# --- package family -----------------------------------------------------------
# A package manager that owns itself is the native one: Debian hosts may have
# rpm installed as a tool, with an empty rpm database.
family=${PKGF_PROBE_FAMILY:-}
if [ -z "$family" ]; then
    if have rpm && rpm -q rpm >/dev/null 2>&1; then family=rpm
    elif have dpkg-query && dpkg-query -W dpkg >/dev/null 2>&1; then family=deb
    elif have rpm; then family=rpm
    elif have dpkg; then family=deb
    else die "neither rpm nor dpkg found: not an rpm or deb system"
    fi
fi
case $family in rpm|deb) ;; *) die "PKGF_PROBE_FAMILY must be rpm or deb, not '$family'" ;; esac

rpm_pkg_version() {
    rpm -q --qf '%{VERSION}\n' "$1" 2>/dev/null | grep '^[0-9]' | head -n 1
}
deb_pkg_version() {
    # shellcheck disable=SC2016 # ${...} are dpkg-query fields, not shell variables
    dpkg-query -W -f='${Status}|${Version}\n' "$1" 2>/dev/null |
        awk -F'|' '$1 ~ / installed$/ { v = $2; sub(/^[0-9]+:/, "", v); print v; exit }'
}

# --- versions -----------------------------------------------------------------
glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{ print $2 }')
glibc_src="getconf GNU_LIBC_VERSION"
if [ -z "$glibc" ] && have ldd; then
    glibc=$(ldd --version 2>&1 | head -n 1 | awk '{ print $NF }')
    glibc_src="ldd --version"
fi
case $glibc in [0-9]*) ;; *) die "cannot find the glibc version (getconf GNU_LIBC_VERSION, ldd --version): not a glibc system?" ;; esac

kernel=$(cat /proc/sys/kernel/osrelease 2>/dev/null || uname -r)

systemd=''
if have systemctl; then systemd=$(vnum "$(systemctl --version 2>/dev/null | head -n 1)"); fi

rpm_version='' yum_version='' dnf_version='' dpkg_version='' apt_version=''
if [ "$family" = rpm ]; then
    rpm_version=$(rpm_pkg_version rpm)
    [ -n "$rpm_version" ] || rpm_version=$(vnum "$(rpm --version 2>/dev/null)")
    [ -n "$rpm_version" ] || die "rpm family but no rpm version"
    dnf_version=$(rpm_pkg_version dnf)
    # On dnf systems the yum package is only dnf's alias, with dnf's version.
    [ -n "$dnf_version" ] || yum_version=$(rpm_pkg_version yum)
else
    dpkg_version=$(vnum "$(deb_pkg_version dpkg)")
    [ -n "$dpkg_version" ] || dpkg_version=$(vnum "$(dpkg --version 2>/dev/null | head -n 1)")
    [ -n "$dpkg_version" ] || die "deb family but no dpkg version"
    apt_version=$(vnum "$(deb_pkg_version apt)")
fi

# --- this machine's libraries (ldconfig cache) -------------------------------
# "class" is ldconfig's ABI tag (libc6,x86-64); multilib systems also list
# 32-bit libraries under another class, which must not count for this arch.
ldcache=''
if have ldconfig; then
    ldcache=$(ldconfig -p 2>/dev/null | awk '/=>/ {
        cls = $0; sub(/^[^(]*\(/, "", cls); sub(/\).*$/, "", cls)
        n = split(cls, f, ","); c = f[1]
        if (n > 1 && f[2] !~ /:/) c = c "," f[2]
        print c "\t" $1 "\t" $NF
    }')
fi
own_class=$(printf '%s\n' "$ldcache" | awk -F'\t' '$2 == "libc.so.6" { print $1 }' | grep 64 | head -n 1)
[ -n "$own_class" ] || own_class=$(printf '%s\n' "$ldcache" | awk -F'\t' '$2 == "libc.so.6" { print $1; exit }')
sonames=$(printf '%s\n' "$ldcache" | awk -F'\t' -v c="$own_class" '$1 == c { print $2 }' | sort -u)
[ -n "$sonames" ] || warn "no ldconfig cache read: [libraries] extra will be empty"

libstdcxx_path=$(printf '%s\n' "$ldcache" | awk -F'\t' -v c="$own_class" '$1 == c && $2 == "libstdc++.so.6" { print $3; exit }')
if [ -z "$libstdcxx_path" ]; then
    for f in /usr/lib64/libstdc++.so.6 /usr/lib/*-linux-gnu*/libstdc++.so.6 /usr/lib/libstdc++.so.6 /lib64/libstdc++.so.6; do
        if [ -r "$f" ]; then libstdcxx_path=$f; break; fi
    done
fi

# Highest $1<n.n.n> symbol version string in file $2, without binutils.
max_symver() {
    if printf 'ab\n' | grep -ao b >/dev/null 2>&1; then
        grep -ao "$1[0-9][0-9.]*" "$2"
    else
        tr -c 'A-Za-z0-9_.' '\n' <"$2" | grep "^$1[0-9][0-9.]*\$"
    fi | sed -e "s/^$1//" -e 's/\.*$//' | sort -u -t. -k1,1n -k2,2n -k3,3n | tail -n 1
}
libstdcxx='' cxxabi=''
if [ -n "$libstdcxx_path" ] && [ -r "$libstdcxx_path" ]; then
    libstdcxx=$(max_symver GLIBCXX_ "$libstdcxx_path")
    cxxabi=$(max_symver CXXABI_ "$libstdcxx_path")
fi

# --- arch ------------------------------------------------------------------
machine=$(uname -m)
case $machine in
    x86_64|amd64) arch=x86_64 ;;
    aarch64|arm64) arch=aarch64 ;;
    loongarch64) arch=loongarch64 ;;
    mips64*)
        # EI_DATA of any ELF file: 01 little-endian (Loongson), 02 big-endian.
        if [ "$(od -An -tx1 -j5 -N1 /bin/sh 2>/dev/null | tr -d ' ')" = 01 ]; then arch=mips64el; else arch=mips64; fi ;;
    riscv64) arch=riscv64 ;;
    sw_64|sw64) arch=sw_64 ;;
    ppc64le) arch=ppc64le ;;
    s390x) arch=s390x ;;
    i?86) arch=i686 ;;
    *) arch=$machine ;;
esac
case $arch in
    x86_64) known="/lib64/ld-linux-x86-64.so.2" ;;
    aarch64) known="/lib/ld-linux-aarch64.so.1 /lib64/ld-linux-aarch64.so.1" ;;
    loongarch64) known="/lib64/ld-linux-loongarch-lp64d.so.1 /lib64/ld.so.1" ;;
    mips64el) known="/lib64/ld.so.1" ;;
    riscv64) known="/lib/ld-linux-riscv64-lp64d.so.1" ;;
    ppc64le) known="/lib64/ld64.so.2" ;;
    s390x) known="/lib/ld64.so.1" ;;
    i686) known="/lib/ld-linux.so.2" ;;
    *) known="" ;;
esac
interps=''
for f in $known; do
    if [ -e "$f" ]; then interps="$interps$f
"; fi
done
# The interpreter /bin/sh itself uses covers arches without a known path (sw_64).
if have ldd; then
    own_interp=$(ldd /bin/sh 2>/dev/null | awk '$1 ~ /^\// && $2 !~ /=>/ { print $1; exit }')
    case "
$interps" in *"
$own_interp
"*) ;; *) [ -z "$own_interp" ] || interps="$interps$own_interp
" ;; esac
fi
[ -n "$interps" ] || warn "no dynamic linker found for $arch"

loongarch_world=''
if [ "$arch" = loongarch64 ]; then
    # Old world (Loongson's pre-upstream ABI) has only /lib64/ld.so.1.
    if [ -e /lib64/ld-linux-loongarch-lp64d.so.1 ]; then loongarch_world=new
    elif [ -e /lib64/ld.so.1 ]; then loongarch_world=old
    fi
fi

cpu=$(sed -n 's/^[Mm]odel [Nn]ame[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo 2>/dev/null | head -n 1)
if [ -z "$cpu" ]; then
    impl=$(sed -n 's/^CPU implementer[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo 2>/dev/null | head -n 1)
    part=$(sed -n 's/^CPU part[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo 2>/dev/null | head -n 1)
    case $impl in
        0x70) vendor=Phytium ;; 0x48) vendor="HiSilicon (Kunpeng)" ;; 0x41) vendor=Arm ;; *) vendor="implementer $impl" ;;
    esac
    [ -z "$impl" ] || cpu="$vendor (CPU part $part)"
fi
# x86-64 level of THIS machine only: a fleet's baseline is the lowest CPU in it,
# which one machine cannot tell, so it goes into cpus, not cpu_baseline.
if [ "$arch" = x86_64 ] && [ -r /proc/cpuinfo ]; then
    flags=" $(sed -n 's/^flags[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1) "
    has_all() { for fl in "$@"; do case $flags in *" $fl "*) ;; *) return 1 ;; esac; done; }
    level=v1
    if has_all cx16 lahf_lm popcnt pni sse4_1 sse4_2 ssse3; then level=v2
        if has_all avx avx2 bmi1 bmi2 f16c fma abm movbe xsave; then level=v3
            if has_all avx512f avx512bw avx512cd avx512dq avx512vl; then level=v4; fi
        fi
    fi
    cpu="${cpu:-unknown x86-64 CPU} (this machine: x86-64-$level)"
fi

# --- packaging ---------------------------------------------------------------
rpmlib='' rpm_payloads='' deb_compressors=''
if [ "$family" = rpm ]; then
    rpmlib=$(rpm --showrc 2>/dev/null | sed -n 's/^[[:space:]]*rpmlib(\([A-Za-z0-9]*\)).*/\1/p' | sort -u)
    [ -n "$rpmlib" ] || warn "rpm --showrc listed no rpmlib() features"
    rpm_payloads=gzip
    for pair in Bzip2:bzip2 Xz:xz Lzma:lzma Zstd:zstd; do
        if printf '%s\n' "$rpmlib" | grep -qx "PayloadIs${pair%%:*}"; then
            rpm_payloads="$rpm_payloads
${pair#*:}"
        fi
    done
else
    help=$(dpkg-deb --help 2>/dev/null)
    allowed=" $(printf '%s\n' "$help" | sed -n 's/.*[Aa]llowed types:[[:space:]]*//p' | head -n 1 | tr -c 'a-z0-9' ' ') "
    [ "$allowed" != "  " ] || allowed=" xz gzip none "
    for c in xz gzip zstd bzip2 lzma none; do
        case $allowed in *" $c "*) ;; *) continue ;; esac
        # zstd only when dpkg-deb itself says so, whatever else the help parsed to.
        if [ "$c" = zstd ] && ! printf '%s\n' "$help" | grep -q zstd; then continue; fi
        deb_compressors="$deb_compressors$c
"
    done
fi

# --- security policies (pkgfactory/data/policies.toml) -----------------------
# What the OS enforces on packages beyond rpm/dpkg; only looked at, never changed.
deb_signature='' exec_control='' policy_src=''
uos_hook=/usr/share/deepin-elf-verify/pkg-hook/10deb-verifysign
if [ "$family" = deb ]; then
    if [ -f "$uos_hook" ] && [ -x /usr/sbin/deepin-pkg-install-hook ]; then
        deb_signature=uos-verifysign
        policy_src="deb_signature: $uos_hook and /usr/sbin/deepin-pkg-install-hook are there (deepin-elf-verify $(deb_pkg_version deepin-elf-verify))"
    elif [ -n "$(deb_pkg_version deepin-elf-verify)" ]; then
        warn "deepin-elf-verify is installed without $uos_hook: not recorded as a signature policy (on deepin it is an empty package)"
    fi
fi
if have getstatus || [ -r /etc/kysec/kysec.conf ]; then
    exec_control=kysec
    state=''
    if have getstatus; then
        state=$(getstatus 2>/dev/null | awk -F: 'tolower($1) ~ /(^|[^a-z])exec([^a-z]|$)/ { v = tolower($2); gsub(/[^a-z]/, "", v); print v; exit }')
    fi
    policy_src="${policy_src:+$policy_src; }exec_control: KySec found (getstatus or /etc/kysec/kysec.conf), execution control ${state:-state unknown} when probed"
fi

# --- output ------------------------------------------------------------------
kv() { [ -z "$2" ] || printf '%s = %s\n' "$1" "$(q "$2")"; }

init=unknown
if [ -d /run/systemd/system ] || have systemctl; then init=systemd
elif [ -x /sbin/init ]; then init=sysvinit
fi

printf '# Target profile probed by pkgfactory on %s (%s) at %s: %s.\n' "$host" "$arch" "$now" "$os_name"
printf '# Save it as %s.toml in a --targets-dir; it replaces a built-in profile with the same id.\n' "$target_id"
printf '# Review before use: it describes this one machine (installed libraries, running kernel), not a release floor.\n'
kv id "$target_id"
kv name "$os_name"
kv family "$family"
kv init "$init"
kv notes "Probed from one machine ($host, $arch): versions, libraries and arches are this machine's, not the lowest of every install of $os_name."
printf '\n[versions]\n'
kv glibc "$glibc"
kv kernel "$kernel"
kv systemd "$systemd"
kv rpm "$rpm_version"
kv dnf "$dnf_version"
kv yum "$yum_version"
kv dpkg "$dpkg_version"
kv apt "$apt_version"
kv libstdcxx "$libstdcxx"
kv cxxabi "$cxxabi"

printf '\n[identify]\n'
printf 'id = [%s]\n' "$(qglob "$(lower "$os_id")")"
[ -z "$os_version_id" ] || printf 'version_id = [%s]\n' "$(qglob "$os_version_id")"
# Non-numeric VERSION_IDs (Kylin's V10) are shared by several releases that
# only VERSION tells apart; PLATFORM_ID separates UOS server from desktop.
case $os_version_id in
    [0-9]*|'') ;;
    *) [ -z "$os_version" ] || printf 'version = [%s]\n' "$(qglob "$os_version")" ;;
esac
[ -z "$os_platform_id" ] || printf 'platform_id = [%s]\n' "$(qglob "$os_platform_id")"

printf '\n[arches.%s]\n' "$arch"
printf 'interpreters = %s\n' "$(qlist "$interps")"
kv loongarch_world "$loongarch_world"
[ -z "$cpu" ] || printf 'cpus = [%s]\n' "$(q "$cpu")"

printf '\n[packaging]\n'
if [ "$family" = rpm ]; then
    printf 'rpm_payloads = %s\n' "$(qlist "$rpm_payloads")"
    printf 'rpmlib = %s\n' "$(qlist "$rpmlib")"
    # Derived from the rpm version (shared/research/floors.md), not observed:
    # rpm < 4.14 has no payload digest, so only a v3 signature covers the payload;
    # EdDSA keys parse from rpm 4.16.
    if ver_lt "$rpm_version" 4.14; then kv rpm_signature v3; else kv rpm_signature v4; fi
    if ver_lt "$rpm_version" 4.16; then printf 'gpg_key_algorithms = ["rsa", "dsa"]\n'
    else printf 'gpg_key_algorithms = ["rsa", "dsa", "eddsa"]\n'
    fi
else
    printf 'deb_compressors = %s\n' "$(qlist "$deb_compressors")"
fi

if [ -n "$deb_signature$exec_control" ]; then
    printf '\n[policy]\n'
    kv deb_signature "$deb_signature"
    kv exec_control "$exec_control"
fi

printf '\n[libraries]\n'
printf 'extra = %s\n' "$(qlist "$sonames")"

printf '\n[sources]\n'
kv probe "probed on $host at $now"
kv glibc "$glibc_src"
kv kernel "/proc/sys/kernel/osrelease: the running kernel (inside a container, the host's)"
if [ "$family" = rpm ]; then
    kv rpm "rpm -q rpm"
    kv rpmlib "rpm --showrc (Features supported by rpmlib)"
    kv rpm_signature "derived from the rpm version"
else
    kv dpkg "dpkg-query -W dpkg"
    kv deb_compressors "dpkg-deb --help"
fi
kv libstdcxx "${libstdcxx_path:+$libstdcxx_path: }highest GLIBCXX_/CXXABI_ version string"
kv libraries "ldconfig -p, class $own_class: every library installed on this machine, not only the base system"
kv identify "$OSR"
kv policy "$policy_src"
