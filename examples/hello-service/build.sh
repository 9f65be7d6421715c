#!/bin/sh
# Builds the example binaries pkgfactory packages: static (CGO_ENABLED=0) Go
# binaries start on every glibc, musl and kernel the targets have.
set -eu
cd "$(dirname "$0")"
VERSION=${VERSION:-1.2.0}
mkdir -p dist
for pair in x86_64:amd64 aarch64:arm64; do
	arch=${pair%%:*}
	goarch=${pair#*:}
	CGO_ENABLED=0 GOOS=linux GOARCH=$goarch GOFLAGS=-trimpath \
		go build -ldflags "-s -w -X main.version=$VERSION" -o "dist/hello-service-$arch" .
	echo "built dist/hello-service-$arch"
done
