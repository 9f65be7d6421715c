"""What a bundle carries to the site: normalised modes and no build-host paths (issue 9).

One bundle (centos-7 and debian-12, x86_64, built natively with a site
profile from --targets-dir) is made under umask 000, the worst a build
machine can have.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from hello_example import build_hello, copy_example
from hostpaths_check import host_places, leaks
from signing_helpers import kill_agent, make_key

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    root = tmp_path_factory.mktemp("contents")
    project = copy_example(root / "project", build_hello(root / "bins"))
    site = root / "site"
    site.mkdir()
    builtin = (REPO / "pkgfactory/targets/profiles/debian-12.toml").read_text()
    (site / "site-deb12.toml").write_text(builtin.replace('id = "debian-12"', 'id = "site-deb12"', 1))
    text = project.read_text()
    start = text.index("targets = [")
    project.write_text(text[:start] + 'targets = ["centos-7", "site-deb12"' + text[text.index("]", start):])
    key = make_key(root / "keys")
    args = [sys.executable, "-m", "pkgfactory", "bundle", "-c", str(project), "-o", str(root / "out"),
            "--keys-dir", str(key.home), "--arch", "x86_64", "--builder", "native", "--targets-dir", str(site),
            "--json"]
    p = subprocess.run(args, capture_output=True, text=True, preexec_fn=lambda: os.umask(0))
    kill_agent(key.home)
    assert p.returncode == 0, p.stderr + p.stdout
    doc = json.loads(p.stdout)
    return root, Path(doc["bundle"]), Path(doc["archive"]), key


def test_modes_are_normalised_whatever_the_umask(made):
    _, bundle, archive, _ = made
    seen = {}
    for p in [bundle, *bundle.rglob("*")]:
        mode = stat.S_IMODE(p.lstat().st_mode)
        want = 0o755 if p.is_dir() or p == bundle / "install.sh" else 0o644
        seen[p.relative_to(bundle).as_posix()] = (oct(mode), oct(want))
    assert all(m == w for m, w in seen.values()), {k: v for k, v in seen.items() if v[0] != v[1]}
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
    assert len(members) == len(seen)
    for m in members:
        want = 0o755 if m.isdir() or m.name == f"{bundle.name}/install.sh" else 0o644
        assert (m.mode, m.uid, m.gid, m.uname, m.gname) == (want, 0, 0, "root", "root"), m.name


def test_no_build_host_paths_in_what_is_delivered(made):
    root, bundle, _, _ = made
    assert not leaks(bundle, host_places(root))
    report = json.loads((bundle / "reports/build-report.json").read_text())
    assert report["project_file"] == "pkgfactory.toml"
    assert "dist/hello-service-x86_64" in report["inputs"]
    assert report["profiles"] == {"centos-7": "pkgfactory/targets/profiles/centos-7.toml",
                                  "site-deb12": "../site/site-deb12.toml"}
    manifest = json.loads((bundle / "manifest.json").read_text())
    paths = {c["path"] for entry in manifest["checks"] for c in entry["checks"]}
    assert paths == {"dist/hello-service-x86_64"}


def test_the_bundle_verifies(made):
    _, bundle, _, key = made
    p = subprocess.run([sys.executable, "-m", "pkgfactory", "verify", str(bundle), "--fingerprint", key.fingerprint],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
