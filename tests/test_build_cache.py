"""Each distinct package is built once: within a run (equal build keys), across runs (the
package cache), and the same whether builds run one or two at a time. Real builds in the
builder container; each test has a package cache of its own (PKGF_PACKAGE_CACHE)."""

from __future__ import annotations

import json
import os

import pytest

from fixtures_go import run_cli
from hello_example import build_hello, copy_example

pytestmark = pytest.mark.container


@pytest.fixture(scope="module")
def project(tmp_path_factory, container_engine):
    assert run_cli("builder", "create").code == 0
    root = tmp_path_factory.mktemp("cache-project")
    return copy_example(root / "p", build_hello(root / "bins"))


def build(project, out, cache, *targets, extra=()):
    args = ["build", "-c", project, "-o", out, "--arch", "x86_64", "--json", *extra]
    for t in targets:
        args += ["--target", t]
    r = run_cli(*args, env={**os.environ, "PKGF_PACKAGE_CACHE": str(cache)})
    assert r.code == 0, r.err + r.out
    return {x["target"]: x for x in json.loads(r.out)["results"]}


def commands(out, result) -> list[str]:
    """The tool command lines the runner logged for one package."""
    return [ln for ln in (out / result["log"]).read_text().splitlines() if ln.startswith("$ ")]


def container_runs(out, result) -> list[str]:
    return [c for c in commands(out, result) if " run " in c]


def test_two_targets_with_identical_packages_are_built_once(tmp_path, project):
    out = tmp_path / "out"
    res = build(project, out, tmp_path / "cache", "debian-11", "debian-12")
    first, second = res["debian-11"], res["debian-12"]
    assert first["ok"] and second["ok"] and first["build_key"] == second["build_key"]
    assert first["copy_of"] is None and second["copy_of"] == "debian-11/x86_64"
    assert (out / first["artifact"]).read_bytes() == (out / second["artifact"]).read_bytes()
    assert first["sha256"] == second["sha256"]
    assert len(container_runs(out, first)) == 1 and container_runs(out, second) == []
    assert "built once, copied" in (out / second["log"]).read_text()


@pytest.fixture(scope="module")
def warm(tmp_path_factory, project):
    """A cold run and a warm one, into new output directories, on one cache."""
    root = tmp_path_factory.mktemp("warm")
    cold = build(project, root / "cold", root / "cache", "centos-7", "debian-12")
    again = build(project, root / "warm", root / "cache", "centos-7", "debian-12")
    return root, cold, again


def test_a_warm_run_builds_nothing_and_gives_the_same_packages(warm):
    root, cold, again = warm
    assert all(r["from_cache"] is False for r in cold.values())
    for target, r in again.items():
        assert r["ok"] and r["from_cache"] is True, r
        assert container_runs(root / "warm", r) == [], commands(root / "warm", r)
        assert (root / "warm" / r["artifact"]).read_bytes() == (root / "cold" / cold[target]["artifact"]).read_bytes()
        # The package is still checked against the target's floors (rpm -qp reads the rpm).
        if r["format"] == "rpm":
            assert any("rpm -qp" in c for c in commands(root / "warm", r))
    # Tool versions came from the image-id cache: no container started at all.
    tools_log = root / "warm" / "logs" / "tools.log"
    assert not tools_log.exists() or " run " not in tools_log.read_text()


def test_a_cache_entry_with_a_flipped_byte_is_detected_and_rebuilt(warm, project):
    root, cold, _again = warm
    key = cold["centos-7"]["build_key"]
    (stored,) = (root / "cache" / key).glob("*.rpm")
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0x20
    stored.write_bytes(bytes(data))
    res = build(project, root / "third", root / "cache", "centos-7")
    r = res["centos-7"]
    assert r["ok"] and r["from_cache"] is False
    log = (root / "third" / r["log"]).read_text()
    assert "corrupt" in log and key in log
    assert len(container_runs(root / "third", r)) == 1
    good = (root / "cold" / cold["centos-7"]["artifact"]).read_bytes()
    assert (root / "third" / r["artifact"]).read_bytes() == good
    (stored,) = (root / "cache" / key).glob("*.rpm")
    assert stored.read_bytes() == good  # the rebuild replaced the bad entry


def test_two_jobs_give_the_same_packages_byte_for_byte_as_one(tmp_path, project):
    runs = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}"
        res = build(project, out, tmp_path / "cache", "centos-7", "kylin-v10-sp3", "debian-12",
                    extra=("--jobs", jobs, "--no-cache"))
        runs[jobs] = (out, res)
        report = json.loads((out / "build-report.json").read_text())
        assert [r["target"] for r in report["results"]] == ["centos-7", "kylin-v10-sp3", "debian-12"]
        assert report["jobs"] == int(jobs)
    (out1, one), (out2, two) = runs["1"], runs["2"]
    assert one.keys() == two.keys()
    for target in one:
        assert (out1 / one[target]["artifact"]).read_bytes() == (out2 / two[target]["artifact"]).read_bytes()
    assert not (tmp_path / "cache").exists()  # --no-cache neither read nor filled it
