#!/bin/bash
# The hand-written pipeline pkgfactory bundle is measured against (bench/bundle_speed.py):
# what a careful engineer scripts with public tools, one step after another. Same
# deliverable as the bundle's core: one signed package per target and arch (nfpm),
# signed yum repositories (rpmsign, createrepo_c, gpg) and apt repositories
# (apt-ftparchive, gpg), the public key, a signed SHA256SUMS, one tar.
#
# usage: anchor_bundle.sh OUT PROJECT_DIR GNUPGHOME FINGERPRINT PASSPHRASE_FILE SPEC...
#   SPEC = TARGET:FORMAT:ARCH:BINARY:UNIT_DIR:COMPRESSION   (e.g. centos-7:rpm:x86_64:dist/app:/usr/lib/systemd/system:xz)
# NFPM names the nfpm executable (default: nfpm on PATH).
set -eu
out=$1 project=$2 home=$3 fpr=$4 passfile=$5
shift 5
nfpm=${NFPM:-nfpm}
gpg_args=(--homedir "$home" --batch --yes --pinentry-mode loopback --passphrase-file "$passfile" --local-user "$fpr")
bundle="$out/hello-service-1.2.0"
mkdir -p "$bundle/repos/rpm" "$bundle/repos/deb" "$out/cfg"

declare -A goarch=([x86_64]=amd64 [aarch64]=arm64)
rpm_dirs=() deb_targets=()
for spec in "$@"; do
	IFS=: read -r target fmt arch binary unitdir comp <<<"$spec"
	cfg="$out/cfg/$target-$arch.yaml"
	cat >"$cfg" <<YAML
name: hello-service
arch: ${goarch[$arch]}
platform: linux
version: 1.2.0
release: "1"
section: net
maintainer: "Example Packager <packager@example.com>"
vendor: Example Corp
homepage: https://example.com/hello-service
license: Apache-2.0
description: "Example HTTP service packaged by pkgfactory"
recommends: [ca-certificates]
conflicts: [hello-service-legacy]
contents:
  - {src: "$project/$binary", dst: /usr/bin/hello-service, file_info: {mode: 0755}}
  - {src: "$project/packaging/hello.conf", dst: /etc/hello-service/hello.conf, type: config|noreplace, file_info: {mode: 0640, group: hello}}
  - {src: "$project/packaging/hello-service.service", dst: "$unitdir/hello-service.service"}
  - {src: "$project/README.md", dst: /usr/share/doc/hello-service/README.md}
  - {src: ../bin/hello-service, dst: /usr/sbin/hello-service, type: symlink}
  - {dst: /etc/hello-service, type: dir, file_info: {mode: 0755}}
  - {dst: /var/lib/hello-service, type: dir, file_info: {mode: 0750, owner: hello, group: hello}}
scripts:
  postinstall: "$project/packaging/postinstall.sh"
rpm: {compression: $comp}
deb: {compression: $comp}
YAML
	if [ "$fmt" = rpm ]; then
		dir="$bundle/repos/rpm/$target/$arch"
		mkdir -p "$dir/Packages"
		"$nfpm" package -f "$cfg" -p rpm -t "$dir/Packages/" >/dev/null
		v3=()
		[ "$target" = centos-7 ] && v3=(--rpmv3)  # rpm 4.11 checks header+payload signatures only
		rpmsign --addsign "${v3[@]}" --define "__gpg /usr/bin/gpg" --define "_gpg_path $home" \
			--define "_gpg_name $fpr" --define "_gpg_digest_algo sha256" \
			--define "_gpg_sign_cmd_extra_args --batch --pinentry-mode loopback --passphrase-file $passfile" \
			"$dir"/Packages/*.rpm >/dev/null
		rpm_dirs+=("$dir")
	else
		pool="$bundle/repos/deb/$target/pool/main"
		mkdir -p "$pool"
		"$nfpm" package -f "$cfg" -p deb -t "$pool/" >/dev/null
		case " ${deb_targets[*]-} " in *" $target "*) ;; *) deb_targets+=("$target") ;; esac
	fi
done

for dir in "${rpm_dirs[@]}"; do
	createrepo_c --quiet "$dir" >/dev/null
	gpg "${gpg_args[@]}" --detach-sign --armor "$dir/repodata/repomd.xml"
done
for target in "${deb_targets[@]}"; do
	repo="$bundle/repos/deb/$target"
	for a in amd64 arm64; do
		ls "$repo"/pool/main/*_"$a".deb >/dev/null 2>&1 || continue
		d="$repo/dists/$target/main/binary-$a"
		mkdir -p "$d"
		(cd "$repo" && apt-ftparchive --arch "$a" packages pool/main >"dists/$target/main/binary-$a/Packages")
		gzip -9nk "$d/Packages"
	done
	(cd "$repo/dists/$target" && apt-ftparchive -o APT::FTPArchive::Release::Suite="$target" \
		-o APT::FTPArchive::Release::Codename="$target" -o APT::FTPArchive::Release::Components=main release . >Release)
	gpg "${gpg_args[@]}" --clearsign -o "$repo/dists/$target/InRelease" "$repo/dists/$target/Release"
	gpg "${gpg_args[@]}" --detach-sign --armor -o "$repo/dists/$target/Release.gpg" "$repo/dists/$target/Release"
done

gpg --homedir "$home" --batch --armor --export "$fpr" >"$bundle/KEY.asc"
(cd "$bundle" && find . -type f ! -name SHA256SUMS\* | LC_ALL=C sort | xargs sha256sum >SHA256SUMS)
gpg "${gpg_args[@]}" --detach-sign --armor "$bundle/SHA256SUMS"
tar -cf "$out/hello-service-1.2.0.tar" -C "$out" hello-service-1.2.0
