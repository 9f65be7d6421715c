"""A second build or bundle into an output directory never silently replaces or mixes with another run.

The issue's case, for real: a bundle for two targets, then one for one target into the same
output directory. It used to replace the bundle and leave the other target's packages next to
the new report; now it is refused (exit 2, nothing touched) unless --force, which leaves nothing
of the earlier run. The same command run again still just refreshes its own result.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from fixtures_go import run_cli
from hello_example import build_hello, copy_example
from signing_helpers import make_key

NAME = "hello-service-1.2.0"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("guard")
    return copy_example(root / "project", build_hello(root / "bins"))


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    return make_key(tmp_path_factory.mktemp("guard-keys") / "k")


def _run(command, project, out, *targets, extra=(), key=None):
    args = [command, "-c", project, "-o", out, "--builder", "native", "--arch", "x86_64", "--json", *extra]
    if key is not None:
        args += ["--keys-dir", key.home]
    for t in targets:
        args += ["--target", t]
    return run_cli(*args)


def _tree(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and ".pkgfactory.lock" not in p.name}


def test_a_smaller_bundle_is_refused_then_replaces_cleanly_with_force(tmp_path, project, key):
    out = tmp_path / "out"
    out.mkdir()
    (out / "README.md").write_text("the user's own file\n")
    r = _run("bundle", project, out, "debian-11", "debian-12", key=key)
    assert r.code == 0, r.err
    before = _tree(out)
    assert f"{NAME}/repos/deb/debian-11/dists/debian-11/InRelease" in before

    r = _run("bundle", project, out, "debian-12", key=key)
    assert r.code == 2, r.err
    err = json.loads(r.out)["error"]
    assert err["code"] == "output-holds-other-run"
    assert err["message"].startswith(f"{out} holds a build of hello-service 1.2.0-1 for debian-11/x86_64, "
                                     "debian-12/x86_64; this bundle of hello-service 1.2.0-1 for debian-12/x86_64 "
                                     "would replace it")
    assert "--force" in err["message"] and r.err.count("\n") == 1
    assert _tree(out) == before, "a refused run must not touch the output directory (not even a log)"

    r = _run("bundle", project, out, "debian-12", key=key, extra=["--force"])
    assert r.code == 0, r.err
    after = _tree(out)
    assert not (out / "debian-11").exists(), "the earlier run's other target folder is gone"
    assert not [f for f in after if "debian-11" in f], [f for f in after if "debian-11" in f]
    assert (out / "README.md").read_text() == "the user's own file\n"  # not pkgfactory's: untouched
    manifest = json.loads((out / NAME / "manifest.json").read_text())
    assert manifest["targets"] == ["debian-12"]
    report = json.loads((out / "build-report.json").read_text())
    assert [(x["target"], x["arch"]) for x in report["results"]] == [("debian-12", "x86_64")]
    assert sorted(p.name for p in (out / "logs").iterdir()) == ["bundle.log", "debian-12-x86_64.log", "tools.log"]
    assert run_cli("verify", out / NAME, "--fingerprint", key.fingerprint).code == 0


def test_the_same_build_again_refreshes_a_different_one_is_refused(tmp_path, project):
    out = tmp_path / "out"
    assert _run("build", project, out, "debian-11", "debian-12").code == 0
    r = _run("build", project, out, "debian-11", "debian-12")
    assert r.code == 0, r.err  # the same run: its own files are replaced one by one
    before = _tree(out)

    # More targets mixes too: the earlier report would be replaced by one that claims more.
    for targets in (("debian-12",), ("debian-11", "debian-12", "centos-7")):
        r = _run("build", project, out, *targets)
        assert r.code == 2, r.err
        assert "holds a build of hello-service 1.2.0-1 for debian-11/x86_64, debian-12/x86_64" in r.err
        assert _tree(out) == before

    r = _run("build", project, out, "debian-12", extra=["--force"])
    assert r.code == 0, r.err
    assert not (out / "debian-11").exists()
    assert sorted(p.name for p in (out / "logs").iterdir()) == ["debian-12-x86_64.log", "tools.log"]


def test_a_failed_rerun_leaves_no_earlier_package_in_its_place(tmp_path, go_binaries):
    """The same build again, but one package now fails (its binary needs a newer glibc than
    debian-11 has): the earlier run's .deb for it goes, so nothing beside the report saying
    "failed" looks like this run's result; the other package is refreshed."""
    project = copy_example(tmp_path / "p", build_hello(tmp_path / "bins"))
    out = tmp_path / "out"
    assert _run("build", project, out, "debian-11", "debian-12").code == 0
    old = sorted((out / "debian-11" / "x86_64").glob("*.deb"))
    assert len(old) == 1

    (project.parent / "dist" / "hello-service-x86_64").write_bytes(go_binaries["cgo-host"].read_bytes())
    r = _run("build", project, out, "debian-11", "debian-12")
    assert r.code == 1, r.err
    results = {x["target"]: x for x in json.loads((out / "build-report.json").read_text())["results"]}
    assert results["debian-11"]["status"] == "check-failed" and results["debian-12"]["status"] == "built"
    assert not list((out / "debian-11" / "x86_64").glob("*.deb")), "the earlier run's package is still there"
    assert (out / results["debian-12"]["artifact"]).is_file()
    assert "an earlier run's package: this run's failed" in (out / "logs" / "debian-11-x86_64.log").read_text()


def test_another_version_into_the_same_output_is_refused(tmp_path, project):
    out = tmp_path / "out"
    assert _run("build", project, out, "debian-12").code == 0
    text = project.read_text()
    other = project.parent.parent / "project-1.3"
    other_file = copy_example(other, build_hello(project.parent.parent / "bins"))
    other_file.write_text(text.replace('version = "1.2.0"', 'version = "1.3.0"', 1)
                          .replace('[[changelog]]\nversion = "1.2.0-1"',
                                   '[[changelog]]\nversion = "1.3.0-1"\ndate = 2024-12-01\n'
                                   'changes = ["New."]\n\n[[changelog]]\nversion = "1.2.0-1"', 1))
    r = _run("build", other_file, out, "debian-12")
    assert r.code == 2, r.err
    assert "holds a build of hello-service 1.2.0-1 for debian-12/x86_64; this build of hello-service 1.3.0-1" in r.err


# --- the rules, on output directories made by hand ---------------------------------------------

def _fake_run(out: Path, version="1.2.0", pairs=(("debian-12", "x86_64"),)):
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for t, a in pairs:
        (out / t / a).mkdir(parents=True, exist_ok=True)
        (out / t / a / f"hello-service_{version}-1_amd64.deb").write_text("deb")
        results.append({"target": t, "arch": a})
    doc = {"package": {"name": "hello-service", "version": version, "release": "1", "epoch": 0},
           "results": results}
    (out / "build-report.json").write_text(json.dumps(doc))


def claim(out, *args, **kw):
    """One run's claim: under its own hold of the lock, as build and bundle make it."""
    from pkgfactory.output_guard import claim as claim_output
    from pkgfactory.output_lock import output_lock

    with output_lock(out):
        claim_output(out, *args, **kw)


@pytest.fixture(scope="module")
def planned(project):
    from pkgfactory.build import plan_build

    return plan_build(project, target_ids=("debian-12",), arches=("x86_64",))


def test_an_unreadable_report_or_a_stray_package_is_an_earlier_run(tmp_path, planned):
    from pkgfactory.errors import InputError

    project, matrix = planned
    out = tmp_path / "out"
    _fake_run(out)
    claim(out, project, matrix)  # the same run: fine
    (out / "debian-12" / "x86_64" / "hello-service_1.1.0-1_amd64.deb").write_text("older")
    with pytest.raises(InputError, match=r"holds the package debian-12/x86_64/hello-service_1.1.0-1_amd64.deb, "
                                         r"which this run does not make"):
        claim(out, project, matrix)
    (out / "debian-12" / "x86_64" / "hello-service_1.1.0-1_amd64.deb").unlink()
    (out / "build-report.json").write_text('{"package": ')  # a report cut short
    with pytest.raises(InputError, match=r"holds build-report.json of an earlier run that cannot be read"):
        claim(out, project, matrix)


def test_force_removes_only_what_pkgfactory_wrote(tmp_path, planned):
    project, matrix = planned
    out = tmp_path / "out"
    _fake_run(out, pairs=(("debian-12", "x86_64"), ("debian-11", "x86_64")))
    (out / "logs").mkdir()
    (out / "logs" / "debian-11-x86_64.log").write_text("log")
    (out / "logs" / "notes.txt").write_text("mine")
    (out / "debian-11" / "x86_64" / "site-notes.txt").write_text("mine")
    (out / "mine").mkdir()
    (out / "mine" / "file.deb").write_text("not in a <target>/<arch> folder")
    bundle = out / "hello-service-1.1.0"
    bundle.mkdir()
    (bundle / "manifest.json").write_text(json.dumps({"package": {"name": "hello-service", "version": "1.1.0",
                                                                  "release": "1"}, "packages": []}))
    (out / "hello-service-1.1.0.tar").write_text("tar")
    claim(out, project, matrix, force=True, bundle_name=NAME)
    left = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    assert left == [".pkgfactory.lock", "debian-11", "debian-11/x86_64", "debian-11/x86_64/site-notes.txt", "logs", "logs/notes.txt",
                    "mine", "mine/file.deb"], left


def test_a_bundle_of_its_own_name_is_kept_for_the_atomic_replace(tmp_path, planned):
    project, matrix = planned
    out = tmp_path / "out"
    _fake_run(out, version="1.2.0", pairs=(("debian-11", "x86_64"),))
    bundle = out / NAME
    bundle.mkdir()
    (bundle / "manifest.json").write_text(json.dumps({"package": {"name": "hello-service", "version": "1.2.0",
                                                                  "release": "1"},
                                                      "packages": [{"target": "debian-11", "arch": "x86_64"}]}))
    (out / f"{NAME}.tar").write_text("tar")
    claim(out, project, matrix, force=True, bundle_name=NAME)
    assert bundle.is_dir() and (out / f"{NAME}.tar").exists() and not (out / "build-report.json").exists()
    claim(out, project, matrix, force=True)  # a build --force leaves no bundle of the earlier run
    assert not bundle.exists() and not (out / f"{NAME}.tar").exists()
    assert os.listdir(out) == [".pkgfactory.lock"]
