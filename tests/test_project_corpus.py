"""Hostile and broken project files (tests/project_corpus.py): refused naming the key, or inert text.

The corpus's own cases go through `pkgfactory build --builder native`, two at
a time, once per module; each test then reads its case's outcome. Cases with
a known defect elsewhere are strict xfails: fixing the defect turns them into
failures here, to be unmarked.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

import project_corpus as pc
from signing_helpers import PASSPHRASE, kill_agent, make_key


@pytest.fixture(scope="module")
def binary(go_binaries):
    return go_binaries["stripped"]


@pytest.fixture(scope="module")
def outcomes(binary, tmp_path_factory):
    work = tmp_path_factory.mktemp("corpus")
    for stale in pc.markers():
        os.unlink(stale)
    with ThreadPoolExecutor(2) as ex:
        results = dict(ex.map(lambda c: (c.id, pc.run_case(c, work / c.id, binary)), pc.NEW))
    return results


def test_corpus_size_and_kinds():
    cases = pc.corpus()
    assert len(pc.NEW) >= 50 and len({c.id for c in cases}) == len(cases)
    assert sum(1 for c in pc.NEW if c.expect == "inert") >= 8
    assert len(cases) - len(pc.NEW) == len(pc.BAD)  # test_project's table, reused


def test_test_project_table_is_refused_through_load(tmp_path, binary):
    failed = {c.id: r for c in pc.corpus() if c.via == "load" for r in [pc.run_case(c, tmp_path / c.id, binary)]
              if r is not None}
    assert failed == {}


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=[pytest.mark.xfail(reason=c.defect, strict=True)]
                                               if c.defect else []) for c in pc.NEW])
def test_case(outcomes, case):
    assert outcomes[case.id] is None, f"{case.id}: {outcomes[case.id]}"


def test_no_marker_anywhere(outcomes):
    assert pc.markers() == []


# --- the signing key is never a source -------------------------------------------------------------

@pytest.fixture
def keyed_project(tmp_path, binary):
    key = make_key(tmp_path / "keys", passphrase=PASSPHRASE)
    pfile = tmp_path / "passphrase"
    pfile.write_text(PASSPHRASE + "\n")
    project = pc.example_dir(tmp_path / "p", binary)
    yield project, key, pfile
    kill_agent(key.home)


@pytest.mark.parametrize("widened", [False, True], ids=["project-root", "sources-root-holding-the-keys"])
@pytest.mark.parametrize("what", ["private-key", "keys-dir-file", "passphrase-file"])
def test_bundle_refuses_a_source_that_is_the_signing_secret(keyed_project, what, widened):
    project, key, pfile = keyed_project
    secret = {"private-key": next((key.home / "private-keys-v1.d").glob("*.key")),
              "keys-dir-file": key.home / "pubring.kbx", "passphrase-file": pfile}[what]
    link = project.parent / "docs" / "notes.txt"
    link.parent.mkdir()
    link.symlink_to(secret)  # a symlinked source, as CI caches hand them out
    data = pc.example_data()
    data["file"][0]["source"] = "docs/notes.txt"
    project.write_text(pc.toml(data))
    out = project.parent / "out"
    p = subprocess.run([sys.executable, "-m", "pkgfactory", "bundle", "--builder", "native", "-c", str(project),
                        "-o", str(out), "--keys-dir", str(key.home), "--passphrase-file", str(pfile),
                        "--target", "debian-12", "--arch", "x86_64",
                        *(["--sources-root", str(project.parent.parent)] if widened else [])],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2, p.stdout + p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and "key 'file[1].source'" in p.stderr, p.stderr
    # Outside the project directory it is refused as that; a sources root wide enough to
    # hold the keys dir still never lets the secret through.
    expected = ("the passphrase file" if what == "passphrase-file" else "in the signing keys directory") \
        if widened else "is outside"
    assert expected in p.stderr, p.stderr
    assert not (out / "debian-12").exists()  # refused before anything was built
