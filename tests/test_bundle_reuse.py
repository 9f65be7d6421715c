"""The bundle cache (pkgfactory.bundle.reuse, keyed by pkgfactory.bundle.inputs), with real
builds, gpg and gpgv: the same inputs give the first bundle back byte for byte without a
build or a signature; a changed input, a damaged entry or --no-cache make a new one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures_go import run_cli
from hello_example import build_hello, copy_example
from signing_helpers import PASSPHRASE, kill_agent, make_key

pytestmark = pytest.mark.container

ONE = ["--target", "debian-12", "--target", "centos-7", "--arch", "x86_64"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory, container_engine):
    assert run_cli("builder", "create").code == 0
    root = tmp_path_factory.mktemp("reuse")
    project = copy_example(root / "p", build_hello(root / "bins"))
    key = make_key(root / "keys", passphrase=PASSPHRASE)
    (root / "pass").write_text(PASSPHRASE + "\n")
    yield root, project, key
    kill_agent(key.home)


def bundle(setup, out: Path, cache: Path, *extra, project=None) -> dict:
    root, default_project, key = setup
    env = {**os.environ, "PKGF_GPG_PASSPHRASE_FILE": str(root / "pass"), "PKGF_BUNDLE_CACHE": str(cache)}
    r = run_cli("bundle", "-c", project or default_project, "-o", out, "--keys-dir", key.home, "--json", *ONE,
                *extra, env=env)
    assert r.code == 0, r.err + r.out
    return json.loads(r.out)


def files(tree: Path) -> dict[str, bytes]:
    return {p.relative_to(tree).as_posix(): p.read_bytes() for p in sorted(tree.rglob("*")) if p.is_file()}


def verify_ok(bundle_dir: Path, fingerprint: str) -> bool:
    r = run_cli("verify", bundle_dir, "--fingerprint", fingerprint, "--json")
    return r.code == 0 and json.loads(r.out)["ok"]


def entries(cache: Path) -> list[Path]:
    return sorted(d for d in cache.iterdir() if not d.name.startswith(".")) if cache.is_dir() else []


@pytest.fixture(scope="module")
def first(setup, tmp_path_factory):
    root = tmp_path_factory.mktemp("first")
    doc = bundle(setup, root / "out", root / "cache")
    return root, doc


def test_the_same_inputs_give_the_first_bundle_back_without_a_build_or_a_signature(setup, first, tmp_path):
    root, doc = first
    assert doc["reused"] is None and doc["signatures"]["made"] + doc["signatures"]["reused"] > 0
    again = bundle(setup, tmp_path / "out", root / "cache")
    assert again["reused"]["created"] == json.loads((Path(doc["bundle"]) / "manifest.json").read_text())["created"]
    assert again["signatures"] == {"made": 0, "reused": 0}
    # The whole bundle, its tar and the run's unsigned packages, byte for byte.
    assert files(Path(again["bundle"])) == files(Path(doc["bundle"]))
    assert Path(again["archive"]).read_bytes() == Path(doc["archive"]).read_bytes()
    for a, b in zip(doc["build"]["results"], again["build"]["results"], strict=True):
        assert (a["target"], a["arch"], a["sha256"]) == (b["target"], b["arch"], b["sha256"])
        assert b["from_cache"] and (tmp_path / "out" / b["artifact"]).read_bytes() == \
            (root / "out" / a["artifact"]).read_bytes()
        log = (tmp_path / "out" / b["log"]).read_text()
        # No container started, no rpmsign or gpg run: the log holds the one line that says why.
        assert "taken from the bundle cache" in log and "$ " not in log, log
    report = json.loads((tmp_path / "out" / "build-report.json").read_text())
    assert report["ok"] and all(r["from_cache"] for r in report["results"])
    assert "taken from the bundle cache" in (tmp_path / "out" / "logs" / "bundle.log").read_text()
    assert verify_ok(Path(again["bundle"]), setup[2].fingerprint)
    # The published files are not writable by others, as a made bundle's are not.
    for p in Path(again["bundle"]).rglob("*"):
        assert p.stat().st_mode & 0o022 == 0, p


def test_a_changed_file_misses_and_the_new_bundle_carries_it(setup, first, tmp_path):
    root, _doc = first
    project = copy_example(tmp_path / "p", build_hello(setup[0] / "bins"))
    conf = project.parent / "packaging" / "hello.conf"
    conf.write_text(conf.read_text() + "# changed\n")
    cache = tmp_path / "cache"
    made = bundle(setup, tmp_path / "a", cache, project=project)
    assert made["reused"] is None
    assert bundle(setup, tmp_path / "b", cache, project=project)["reused"] is not None
    conf.write_text(conf.read_text() + "# changed again\n")
    changed = bundle(setup, tmp_path / "c", cache, project=project)
    assert changed["reused"] is None and len(entries(cache)) == 2
    deb = next(Path(changed["bundle"]).rglob("*.deb"))
    listing = subprocess.run(["dpkg-deb", "--fsys-tarfile", deb], capture_output=True, check=True).stdout
    assert b"# changed again" in listing


def test_another_key_misses(setup, first, tmp_path, other_key):
    root, _doc = first
    env = {**os.environ, "PKGF_BUNDLE_CACHE": str(root / "cache")}
    env.pop("PKGF_GPG_PASSPHRASE_FILE", None)
    r = run_cli("bundle", "-c", setup[1], "-o", tmp_path / "out", "--keys-dir", other_key.home, "--json", *ONE,
                env=env)
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["reused"] is None and doc["fingerprint"] == other_key.fingerprint
    assert verify_ok(Path(doc["bundle"]), other_key.fingerprint)


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _edit_entry(entry: Path, change) -> None:
    meta = json.loads((entry / "entry.json").read_text())
    (entry / "entry.json").write_text(json.dumps(change(meta)))


def _escape(meta: dict) -> dict:
    """Package and log paths that climb out of the output directory."""
    meta["packages"][0]["artifact"] = meta["report"]["results"][0]["artifact"] = "../../escaped/evil.deb"
    meta["report"]["results"][0]["log"] = "../../escaped/evil.log"
    return meta


def _foreign_tar(entry: Path) -> None:
    (entry / "evil.sh").write_text("echo owned\n")
    subprocess.run(["tar", "cf", entry / "bundle.tar", "-C", entry, "evil.sh"], check=True)


def _symlinked_tar(entry: Path) -> None:
    good = entry.parent.parent / "elsewhere.tar"
    (entry / "bundle.tar").rename(good)
    (entry / "bundle.tar").symlink_to(good)


def _one_result_more_field(meta: dict) -> dict:
    meta["report"]["results"][0]["surprise"] = 1
    return meta


def _forge(meta: dict) -> dict:
    """Fields the signed report has too, changed only in entry.json."""
    meta["report"]["tool_versions"] = {"rpmbuild": "FORGED"}
    meta["report"]["results"][0]["checks"] = [{"FORGED": True}]
    return meta


DAMAGE = {
    "a file of the tree": lambda e: _flip(e / "bundle" / "install.sh"),
    "the tar": lambda e: _flip(e / "bundle.tar"),
    "the signature": lambda e: _flip(e / "bundle" / "SHA256SUMS.asc"),
    "an unsigned package": lambda e: _flip(next((e / "packages").iterdir())),
    "another tar": _foreign_tar,
    "a symlinked tar": _symlinked_tar,
    "paths out of the output": lambda e: _edit_entry(e, _escape),
    "entry.json a list": lambda e: (e / "entry.json").write_text("[]"),
    "entry.json not JSON": lambda e: (e / "entry.json").write_text("{"),
    "a result with another field": lambda e: _edit_entry(e, _one_result_more_field),
    "no public key": lambda e: (e / "bundle" / "KEY.gpg").unlink(),
    "a symlink in the tree": lambda e: (e / "bundle" / "extra").symlink_to("/etc/passwd"),
    "report fields forged": lambda e: _edit_entry(e, _forge),
    "creation time forged": lambda e: _edit_entry(e, lambda m: {**m, "created": "FORGED"}),
    "entry.json nested too deep": lambda e: (e / "entry.json").write_text("[" * 200000),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_entry_is_found_removed_and_the_bundle_made_again(setup, first, tmp_path, damage):
    cache = tmp_path / "cache"
    bundle(setup, tmp_path / "seed", cache)
    (entry,) = entries(cache)
    DAMAGE[damage](entry)
    out = tmp_path / "run" / "out"
    again = bundle(setup, out, cache)
    assert again["reused"] is None and again["signatures"]["made"] >= 1
    assert "cannot be used" in (out / "logs" / "bundle.log").read_text()
    assert verify_ok(Path(again["bundle"]), setup[2].fingerprint)
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "run" / "escaped").exists()
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".") and p.name != ".pkgfactory.lock") == []
    # Made again and stored again: the next run takes the good one.
    assert bundle(setup, tmp_path / "next", cache)["reused"] is not None


def test_a_fault_of_the_output_directory_leaves_the_entry_alone(setup, first, tmp_path):
    """A file where a package directory goes: the run fails as a run that builds would, and the
    cache keeps its good entry."""
    cache = tmp_path / "cache"
    bundle(setup, tmp_path / "seed", cache)
    (entry,) = entries(cache)
    out = tmp_path / "out"
    out.mkdir()
    (out / "debian-12").write_text("in the way\n")
    env = {**os.environ, "PKGF_GPG_PASSPHRASE_FILE": str(setup[0] / "pass"), "PKGF_BUNDLE_CACHE": str(cache)}
    r = run_cli("bundle", "-c", setup[1], "-o", out, "--keys-dir", setup[2].home, *ONE, env=env)
    assert r.code != 0 and "Traceback" not in r.err and len(r.err.strip().splitlines()) == 1, r.err
    assert entries(cache) == [entry] and (entry / "entry.json").is_file()
    assert "not used" in (out / "logs" / "bundle.log").read_text()


def test_a_reused_run_clears_what_killed_runs_left(setup, first, tmp_path):
    root, doc = first
    out = tmp_path / "out"
    bundle(setup, out, root / "cache")
    rpm = next(r for r in doc["build"]["results"] if r["format"] == "rpm")
    part = out / Path(rpm["artifact"]).parent / f".{Path(rpm['artifact']).name}.part-99999"
    part.write_bytes(b"half")
    stage = out / f".{Path(doc['bundle']).name}.staging-99999"
    stage.mkdir()
    (out / ".work" / "run-99999-x").mkdir(parents=True)
    again = bundle(setup, out, root / "cache")
    assert again["reused"] is not None
    assert not part.exists() and not stage.exists() and not (out / ".work" / "run-99999-x").exists()


def test_an_entry_left_without_entry_json_is_cleared_and_stored_again(setup, first, tmp_path):
    """What an interrupted removal would leave (entries are renamed away before they are deleted)."""
    cache = tmp_path / "cache"
    bundle(setup, tmp_path / "seed", cache)
    (entry,) = entries(cache)
    (entry / "entry.json").unlink()
    assert bundle(setup, tmp_path / "a", cache)["reused"] is None
    assert bundle(setup, tmp_path / "b", cache)["reused"] is not None


def test_a_reused_bundle_has_the_published_modes_and_its_own_files(setup, first, tmp_path):
    """Under umask 077, and after someone changed an earlier delivery's modes and bytes in place:
    0755 directories and install.sh, 0644 the rest, and the first bundle's bytes."""
    root, doc = first
    earlier = Path(doc["bundle"])
    cache = root / "cache"
    script = earlier / "install.sh"
    original = script.read_bytes()
    try:
        script.chmod(0o600)
        with open(script, "ab") as f:
            f.write(b"# edited in place\n")
        env = {**os.environ, "PKGF_GPG_PASSPHRASE_FILE": str(setup[0] / "pass"), "PKGF_BUNDLE_CACHE": str(cache)}
        r = run_cli("bundle", "-c", setup[1], "-o", tmp_path / "out", "--keys-dir", setup[2].home, "--json", *ONE,
                    env=env, umask=0o077)
        assert r.code == 0, r.err
        again = json.loads(r.out)
        assert again["reused"] is not None
        tree = Path(again["bundle"])
        assert (tree / "install.sh").read_bytes() == original
        for p in [tree, *tree.rglob("*")]:
            want = 0o755 if p.is_dir() or p.name == "install.sh" else 0o644
            assert p.stat().st_mode & 0o777 == want, p
        for p in (Path(again["archive"]), *(tmp_path / "out" / r["artifact"] for r in again["build"]["results"])):
            assert p.stat().st_mode & 0o777 == 0o644, p
    finally:
        script.write_bytes(original)
        script.chmod(0o755)


def test_a_prebuilt_bundle_is_reused(setup, first, tmp_path):
    root, doc = first
    deb = next(r for r in doc["build"]["results"] if r["target"] == "debian-12")
    prebuilt = tmp_path / "prebuilt" / "debian-12" / "x86_64"
    prebuilt.mkdir(parents=True)
    shutil.copy(root / "out" / deb["artifact"], prebuilt)
    cache = tmp_path / "cache"
    made = bundle(setup, tmp_path / "a", cache, "--prebuilt", tmp_path / "prebuilt")
    assert made["reused"] is None
    again = bundle(setup, tmp_path / "b", cache, "--prebuilt", tmp_path / "prebuilt")
    assert again["reused"] is not None, (tmp_path / "b" / "logs" / "bundle.log").read_text()
    assert files(Path(again["bundle"])) == files(Path(made["bundle"]))


def test_a_symlinked_template_counts_as_what_it_leads_to(tmp_path):
    """jinja2 reads through the link: an edit of the linked file is an edit of the template."""
    from pkgfactory.bundle.inputs import tree_digest

    shared = tmp_path / "shared" / "copyright.j2"
    shared.parent.mkdir()
    shared.write_text("one\n")
    d = tmp_path / "templates" / "debian"
    d.mkdir(parents=True)
    (d / "copyright.j2").symlink_to(shared)
    first = tree_digest(tmp_path / "templates")
    shared.write_text("two\n")
    assert tree_digest(tmp_path / "templates") != first


def test_template_trees_are_hashed_by_what_is_there_without_opening_special_files(tmp_path):
    from pkgfactory.bundle.inputs import tree_digest

    d = tmp_path / "templates" / "debian"
    d.mkdir(parents=True)
    (d / "copyright.j2").write_text("one\n")
    (d / ".#copyright.j2").symlink_to("root@host.12345:1700000000")  # an editor's lock: dangling
    os.mkfifo(d / "fifo")  # opened, it would block for good
    first = tree_digest(tmp_path / "templates")
    assert first == tree_digest(tmp_path / "templates")
    (d / "copyright.j2").write_text("two\n")
    assert tree_digest(tmp_path / "templates") != first


def test_no_cache_makes_a_new_bundle_and_stores_none(setup, first, tmp_path):
    root, _doc = first
    doc = bundle(setup, tmp_path / "out", tmp_path / "cache", "--no-cache")
    assert doc["reused"] is None and doc["signatures"]["reused"] == 0
    assert entries(tmp_path / "cache") == []
    doc = bundle(setup, tmp_path / "out2", root / "cache", "--no-cache")
    assert doc["reused"] is None


def test_the_key_is_the_same_in_every_process():
    """Profiles hold frozensets, whose order follows string hashing: a repr differs per process."""
    code = ("import json; from pkgfactory import targets; from pkgfactory.bundle.inputs import canonical; "
            "print(json.dumps(canonical(targets.get('centos-7')), sort_keys=True))")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2", "3")}
    assert len(outs) == 1


def test_the_code_identity_covers_templates_data_and_code():
    from pkgfactory.bundle import inputs

    names = {rel for rel, _kind, _data in inputs._entries(inputs._PACKAGE)}
    assert "bundle/run.py" in names and "data/bundle_inputs.toml" in names
    assert any(n.startswith("render/templates/spec/") for n in names)
    assert any(n.startswith("render/templates/bundle/install/") for n in names)
    assert not any("__pycache__" in n for n in names)


def test_a_genuine_bundle_of_other_inputs_under_this_runs_key_is_refused(setup, first, tmp_path):
    """Signed by the right key and intact, but made from another hello.conf: what its signed build
    report says it was made from is not what this run makes it from."""
    root, _doc = first
    project = copy_example(tmp_path / "p", build_hello(setup[0] / "bins"))
    conf = project.parent / "packaging" / "hello.conf"
    cache = tmp_path / "cache"
    bundle(setup, tmp_path / "a", cache, project=project)
    (mine,) = entries(cache)
    original = conf.read_text()
    conf.write_text(original + "# other\n")
    bundle(setup, tmp_path / "b", cache, project=project)
    (other,) = [e for e in entries(cache) if e != mine]
    conf.write_text(original)
    meta = json.loads((other / "entry.json").read_text())
    meta["key"] = mine.name
    (other / "entry.json").write_text(json.dumps(meta))
    shutil.rmtree(mine)
    other.rename(mine)
    again = bundle(setup, tmp_path / "c", cache, project=project)
    assert again["reused"] is None
    log = (tmp_path / "c" / "logs" / "bundle.log").read_text()
    assert "lists other input files than this run's" in log, log
    deb = next(Path(again["bundle"]).rglob("*.deb"))
    listing = subprocess.run(["dpkg-deb", "--fsys-tarfile", deb], capture_output=True, check=True).stdout
    assert b"# other" not in listing
