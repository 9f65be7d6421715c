"""CycloneDX SBOMs of real Go binaries, checked against the CycloneDX schema and `go version -m`."""

import json
import subprocess
import uuid
from datetime import datetime, timezone

import pytest
from cyclonedx.validation.json import JsonStrictValidator
from packageurl import PackageURL

import gobuild
from pkgfactory.errors import InputError
from pkgfactory.inspect import inspect_file
from pkgfactory.sbom import SCHEMA_VERSION, go_semver, sbom_for_binary

SDE = datetime(2024, 11, 20, tzinfo=timezone.utc)


def sbom(path, **kw) -> str:
    args = {"package_name": "hello-service", "package_version": "1.2.0-1", "timestamp": SDE} | kw
    return sbom_for_binary(inspect_file(path), **args)


def go_version_m(path) -> dict:
    return json.loads(subprocess.run([gobuild.go(), "version", "-m", "-json", str(path)], capture_output=True,
                                     text=True, check=True).stdout)


def props(component: dict) -> dict[str, str]:
    return {p["name"]: p["value"] for p in component.get("properties", [])}


@pytest.mark.parametrize("variant", ["stripped", "static", "pie", "arm64", "cgo-host"])
def test_sbom_validates_against_the_schema(go_binaries, variant):
    text = sbom(go_binaries[variant])
    error = JsonStrictValidator(SCHEMA_VERSION).validate_str(text)
    assert error is None, f"{variant}: {error}"
    assert json.loads(text)["specVersion"] == "1.6"


def test_every_dep_of_go_version_m_is_a_component(go_binaries):
    path = go_binaries["stripped"]
    doc = json.loads(sbom(path))
    libs = {c["name"]: c for c in doc["components"] if c["name"] != "stdlib"}
    gov = go_version_m(path)
    assert len(libs) == len(gov["Deps"]) == 2

    for dep in gov["Deps"]:
        rep = dep.get("Replace")
        local = rep is not None and rep["Path"].startswith(("./", "../", "/"))
        used = dep if rep is None or local else rep
        c = libs[used["Path"]]
        assert c["type"] == "library"
        p = props(c)
        if local:
            # Code from a directory has no module version; the original requirement is kept aside.
            assert c["version"] == "(devel)"
            assert c["purl"] == str(PackageURL("golang", *dep["Path"].rsplit("/", 1)))
            assert p["pkgfactory:go:local-replace"] == rep["Path"]
        else:
            assert c["version"] == used["Version"]
            assert c["purl"] == f"pkg:golang/{used['Path']}@{used['Version']}"
        if rep is not None:
            assert (p["pkgfactory:go:original-path"], p["pkgfactory:go:original-version"]) == (
                dep["Path"], dep["Version"])
        if used.get("Sum"):
            assert p["pkgfactory:go:h1"] == used["Sum"]
            assert "hashes" not in c  # an h1: sum is no hash CycloneDX can name

    greet = libs["example.com/greet"]
    assert greet["purl"] == "pkg:golang/example.com/greet@v1.2.3"
    assert props(greet)["pkgfactory:go:h1"].startswith("h1:")
    shout = libs["example.com/local/shout"]
    assert props(shout)["pkgfactory:go:original-version"] == "v0.1.0"


def test_module_replaced_by_another_module_uses_the_replacement(go_binaries):
    info = inspect_file(go_binaries["stripped"])
    from pkgfactory.inspect.gobuildinfo import Module

    greet = next(d for d in info.go.deps if d.path == "example.com/greet")
    greet.replace = Module(path="example.org/fork/greet", version="v1.2.4", sum="h1:fork=")
    doc = json.loads(sbom_for_binary(info, package_name="p", package_version="1", timestamp=SDE))
    (c,) = [c for c in doc["components"] if c["name"] == "example.org/fork/greet"]
    assert c["version"] == "v1.2.4"
    assert c["purl"] == "pkg:golang/example.org/fork/greet@v1.2.4"
    assert props(c) == {"pkgfactory:go:original-path": "example.com/greet",
                        "pkgfactory:go:original-version": "v1.2.3", "pkgfactory:go:h1": "h1:fork="}
    assert JsonStrictValidator(SCHEMA_VERSION).validate_str(json.dumps(doc)) is None


def test_metadata_component_is_the_binary(go_binaries):
    path = go_binaries["stripped"]
    info = inspect_file(path)
    gov = go_version_m(path)
    doc = json.loads(sbom(path))
    meta = doc["metadata"]
    c = meta["component"]
    assert c["type"] == "application"
    assert c["name"] == gov["Main"]["Path"] == "example.com/app"
    assert c["version"] == gov["Main"]["Version"]
    assert c["purl"] == str(PackageURL("golang", "example.com", "app", gov["Main"]["Version"]))
    assert c["hashes"] == [{"alg": "SHA-256", "content": info.sha256}]
    p = props(c)
    for s in gov["Settings"]:
        assert p[f"pkgfactory:go:build:{s['Key']}"] == s["Value"]
    assert p["pkgfactory:go:build:-ldflags"] == "-s -w -X main.version=1.0"
    assert p["pkgfactory:go:build:GOOS"] == "linux"
    assert p["pkgfactory:go:version"] == gov["GoVersion"]
    assert meta["timestamp"].startswith("2024-11-20T00:00:00")
    assert props(meta) == {"pkgfactory:package:name": "hello-service", "pkgfactory:package:version": "1.2.0-1"}


def test_stdlib_component_and_dependency_graph(go_binaries):
    path = go_binaries["stripped"]
    gov = go_version_m(path)
    doc = json.loads(sbom(path))
    (std,) = [c for c in doc["components"] if c["name"] == "stdlib"]
    semver = "v" + gov["GoVersion"].removeprefix("go")
    assert std["version"] == semver
    assert std["purl"] == f"pkg:golang/stdlib@{semver}"

    graph = {d["ref"]: set(d.get("dependsOn", [])) for d in doc["dependencies"]}
    main_ref = doc["metadata"]["component"]["bom-ref"]
    assert graph[main_ref] == {c["bom-ref"] for c in doc["components"]}
    assert all(not graph[c["bom-ref"]] for c in doc["components"])


def test_byte_identical_for_the_same_inputs(go_binaries):
    path = go_binaries["stripped"]
    first, second = sbom(path), sbom(path)
    assert first == second
    serial = json.loads(first)["serialNumber"]
    assert uuid.UUID(serial.removeprefix("urn:uuid:")).version == 5
    # Another package around the same binary is another BOM.
    assert json.loads(sbom(path, package_version="1.2.0-2"))["serialNumber"] != serial
    assert json.loads(sbom(go_binaries["static"]))["serialNumber"] != serial


def test_timestamp_defaults_to_source_date_epoch(go_binaries, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1732060800")
    a = sbom(go_binaries["stripped"], timestamp=None)
    assert json.loads(a)["metadata"]["timestamp"].startswith("2024-11-20T00:00:00")
    assert a == sbom(go_binaries["stripped"], timestamp=None)


def test_non_go_binary_is_an_input_error():
    with pytest.raises(InputError) as e:
        sbom("/bin/ls")
    assert str(e.value) == "/bin/ls: not a Go binary: no build info for an SBOM"
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("go, semver", [
    ("go1.27.3", "v1.27.3"), ("go1.20", "v1.20.0"), ("go1.21rc2", "v1.21.0-rc.2"),
    ("go1.9beta1", "v1.9.0-beta.1"), ("go1.22.1 X:boringcrypto", "v1.22.1"), ("go1", "v1.0.0"),
    ("devel go1.27-abcdef Tue Jan 1 00:00:00 2030 +0000", None), ("", None),
])
def test_go_semver(go, semver):
    assert go_semver(go) == semver
