"""A CycloneDX SBOM for one Go binary, from the build info the Go linker left in it.

The binary is the BOM's subject (``metadata.component``); every module it
links, and the Go standard library, is a library component it depends on.
Everything comes from the binary itself, not from go.mod or go.sum, so the
SBOM lists what was compiled in rather than what the source tree asked for.

Same inputs, same bytes: the serial number is a UUIDv5 of the binary's
sha256 and the package it ships in, and the timestamp is the caller's
(SOURCE_DATE_EPOCH), so rebuilding a package reproduces its SBOM.
"""

from __future__ import annotations

import os
import re
import uuid
from datetime import datetime, timezone

from cyclonedx.model import HashAlgorithm, HashType, Property
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentScope, ComponentType
from cyclonedx.model.tool import ToolRepository
from cyclonedx.output import make_outputter
from cyclonedx.schema import OutputFormat, SchemaVersion
from packageurl import PackageURL

from pkgfactory import __version__
from pkgfactory.errors import InputError
from pkgfactory.inspect import BinaryInfo
from pkgfactory.inspect.gobuildinfo import GoBuildInfo, Module

SCHEMA_VERSION = SchemaVersion.V1_6
PROP = "pkgfactory:go:"
# Fixed so that serial numbers stay stable across pkgfactory releases.
_SERIAL_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:pkgfactory:sbom")
# Go's own "no real version" marker: a main module built from a checkout
# without VCS stamping, or a module replaced by a local directory.
_DEVEL = "(devel)"
# go1.21.3, go1.20, go1.21rc2, go1.9beta1; a vendor suffix (go1.22.1-corp)
# does not change which standard library is compiled in.
_GO_TAG = re.compile(r"go(\d+)\.(\d+)(?:\.(\d+))?(?:(beta|rc)(\d+))?(?:-\S*)?")


def sbom_for_binary(info: BinaryInfo, *, package_name: str, package_version: str,
                    timestamp: datetime | None = None) -> str:
    """CycloneDX JSON for one Go binary shipped in ``package_name`` ``package_version``.

    ``timestamp`` None falls back to $SOURCE_DATE_EPOCH, then to now (and so
    to output that differs per call): builds pass their SOURCE_DATE_EPOCH.
    """
    go = info.go
    if go is None:
        raise InputError(f"{info.path}: not a Go binary: no build info for an SBOM")

    subject = _binary_component(info, go)
    stdlib = _stdlib_component(go)
    libraries = [_module_component(m) for m in go.deps]
    _check_unique_refs([subject, stdlib, *libraries], info.path)

    bom = Bom(
        serial_number=uuid.uuid5(_SERIAL_NAMESPACE, f"{info.sha256}\0{package_name}\0{package_version}"),
        metadata=BomMetaData(
            timestamp=_utc(timestamp),
            component=subject,
            tools=ToolRepository(components=[Component(
                type=ComponentType.APPLICATION, name="pkgfactory", version=__version__,
                bom_ref="pkgfactory")]),
            properties=[Property(name="pkgfactory:package:name", value=package_name),
                        Property(name="pkgfactory:package:version", value=package_version)],
        ),
        components=[stdlib, *libraries],
    )
    # The build info is flat: Go records which modules were linked, not
    # which module imports which, so the only edges we know are from the binary.
    bom.register_dependency(subject, [stdlib, *libraries])
    for c in (stdlib, *libraries):
        bom.register_dependency(c)
    return make_outputter(bom, OutputFormat.JSON, SCHEMA_VERSION).output_as_string(indent=2) + "\n"


def go_semver(go_version: str) -> str | None:
    """'go1.27.3' -> 'v1.27.3', 'go1.21rc1' -> 'v1.21.0-rc.1' (as Go's vulnerability database spells it).

    None for what is not a release tag, such as 'devel go1.27-abc'.
    """
    words = go_version.split()  # "go1.22.1 X:boringcrypto" names experiments after a space
    if not words:
        return None
    if words[0] == "go1":
        return "v1.0.0"
    m = _GO_TAG.fullmatch(words[0])
    if not m:
        return None
    major, minor, patch, pre, pre_n = m.groups()
    version = f"v{major}.{minor}.{patch or 0}"
    return f"{version}-{pre}.{pre_n}" if pre else version


def _binary_component(info: BinaryInfo, go: GoBuildInfo) -> Component:
    main = go.main
    props = [Property(name=PROP + "version", value=go.version)]
    if go.path:
        props.append(Property(name=PROP + "package", value=go.path))
    props += [Property(name=f"{PROP}build:{k}", value=v) for k, v in go.settings.items()]
    purl = None
    if main is not None:
        subpath = None
        # A command in a subdirectory of its module (example.com/app/cmd/tool).
        if go.path.startswith(main.path + "/"):
            subpath = go.path[len(main.path) + 1:]
        purl = _golang_purl(main.path, main.version, subpath)
    return Component(
        type=ComponentType.APPLICATION,
        name=main.path if main is not None else os.path.basename(info.path),
        version=(main.version or None) if main is not None else None,
        bom_ref=str(purl) if purl else f"pkgfactory:binary:{os.path.basename(info.path)}",
        purl=purl,
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=info.sha256)],
        properties=props,
    )


def _stdlib_component(go: GoBuildInfo) -> Component:
    version = go_semver(go.version)
    purl = _golang_purl("stdlib", version)
    return Component(
        type=ComponentType.LIBRARY,
        name="stdlib",
        version=version or go.version,
        bom_ref=str(purl),
        purl=purl,
        scope=ComponentScope.REQUIRED,
        properties=[Property(name=PROP + "version", value=go.version)],
    )


def _module_component(dep: Module) -> Component:
    used, props = dep, []
    rep = dep.replace
    if rep is not None:
        props += [Property(name=PROP + "original-path", value=dep.path),
                  Property(name=PROP + "original-version", value=dep.version)]
        if _is_directory(rep.path):
            # A directory is no module path: the code still declares the
            # original module path in its go.mod, but has no version of its own.
            props.append(Property(name=PROP + "local-replace", value=rep.path))
            used = Module(path=dep.path, version=rep.version or _DEVEL, sum=rep.sum)
        else:
            used = rep
    if used.sum:
        # An h1: sum hashes the module's file list, not any one file: CycloneDX
        # hash types cannot express it, so it travels as a property.
        props.append(Property(name=PROP + "h1", value=used.sum))
    purl = _golang_purl(used.path, used.version)
    return Component(
        type=ComponentType.LIBRARY,
        name=used.path,
        version=used.version or None,
        bom_ref=str(purl),
        purl=purl,
        scope=ComponentScope.REQUIRED,
        properties=props,
    )


def _golang_purl(path: str, version: str | None, subpath: str | None = None) -> PackageURL:
    namespace, _, name = path.rpartition("/")
    if version in ("", _DEVEL):
        version = None
    return PackageURL(type="golang", namespace=namespace or None, name=name, version=version,
                      subpath=subpath)


def _is_directory(path: str) -> bool:
    """Go's modfile.IsDirectoryPath: how go.mod tells a directory from a module path."""
    return (path in (".", "..") or path.startswith(("./", "../", "/", ".\\", "..\\"))
            or (len(path) >= 2 and path[1] == ":" and path[0].isalpha()))


def _check_unique_refs(components: list[Component], path: str) -> None:
    # Go refuses to link one module under two paths, so a clash means the
    # build info was tampered with; a BOM with duplicate refs is invalid.
    seen = set()
    for c in components:
        ref = c.bom_ref.value
        if ref in seen:
            raise InputError(f"{path}: Go build info lists module {ref} twice: cannot make an SBOM")
        seen.add(ref)


def _utc(timestamp: datetime | None) -> datetime:
    if timestamp is None:
        sde = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
        if sde.isdigit():
            return datetime.fromtimestamp(int(sde), timezone.utc)
        return datetime.now(timezone.utc).replace(microsecond=0)
    if timestamp.tzinfo is None:
        # Naive times mean UTC here, as SOURCE_DATE_EPOCH does.
        return timestamp.replace(tzinfo=timezone.utc)
    return timestamp.astimezone(timezone.utc)


__all__ = ["SCHEMA_VERSION", "go_semver", "sbom_for_binary"]
