"""The malformed-ELF corpus (tests/elf_corpus.py) through `inspect` and `check`.

Every case must end in exit 2 with one `pkgfactory: error: PATH: ...` line, or in
a correct result (exit 0/1 and valid JSON) -- never exit 70 or a traceback --
within 5 s and 200 MB. The bulk runs the CLI code in-process in two spawned
workers (fresh interpreters, so their peak RSS is their own); a sample and the
batch of files that inspect cleanly go through the real CLI as child processes.
`-m slow` runs every case through the real CLI.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys

import pytest

import elf_corpus as ec

COMMANDS = {argv[0]: argv for argv in ec.COMMANDS}


@pytest.fixture(scope="module")
def sources(go_binaries):
    return ec.source_binaries(go_binaries)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, sources):
    dest = tmp_path_factory.mktemp("elf-corpus")
    yield ec.generate(dest, sources)
    shutil.rmtree(dest)  # some 800 MB: not worth keeping for pytest's last three runs


@pytest.fixture(scope="module")
def bulk(corpus):
    """Verdict per case and command from the in-process run, keyed by (case name, command)."""
    return {(r["case"], r["argv"][0]): r for r in ec.run_bulk(corpus, processes=2)}


def _family(name: str) -> str:
    return name.split(".", 1)[0] if name.startswith("raw.") else name.split(".", 1)[1].split("-", 1)[0]


def test_corpus_size_families_and_sources(corpus, sources):
    names = [c.name for c in corpus]
    assert len(names) >= 200 and len(set(names)) == len(names)
    assert {_family(n) for n in names} >= {"trunc", "hdr", "sh", "ph", "bi", "dyn", "vn", "dos", "raw"}
    # Every real binary is a source: the Go variants, 32-bit, big-endian and two C binaries.
    assert {c.source for c in corpus} - {"-"} == set(sources)
    assert {"go-386", "go-mips"} <= set(sources) and sum(s.startswith("c-") for s in sources) == 2
    kinds = {os.path.basename(c.path) for c in corpus if c.source == "-"}
    assert {"a-directory", "a-fifo", "loop-a", "self-link", "raw.empty"} <= kinds


def test_corpus_is_deterministic(tmp_path, sources):
    one = {"c-ls": sources["c-ls"]}
    a = ec.generate(tmp_path / "a", one)
    b = ec.generate(tmp_path / "b", one)
    assert [c.name for c in a] == [c.name for c in b]
    for x, y in zip(a, b):
        if os.path.isfile(x.path) and not os.path.islink(x.path):
            with open(x.path, "rb") as f, open(y.path, "rb") as g:
                assert f.read() == g.read(), x.name


def test_every_case_is_refused_in_one_line_or_answered(corpus, bulk):
    assert len(bulk) == 2 * len(corpus)
    problems = [f"{name} [{cmd}]: {r['problem']}" for (name, cmd), r in sorted(bulk.items()) if r["problem"]]
    assert not problems, f"{len(problems)} failures:\n" + "\n".join(problems[:40])
    assert max(r["seconds"] for r in bulk.values()) < ec.TIME_LIMIT
    assert max(r["rss_mb"] for r in bulk.values()) < ec.RSS_LIMIT_MB
    codes = {r["code"] for r in bulk.values()}
    assert codes <= {0, 1, 2} and {0, 2} <= codes
    # inspect and check agree on which files are unusable.
    for case in corpus:
        assert (bulk[case.name, "inspect"]["code"] == 2) == (bulk[case.name, "check"]["code"] == 2), case.name


def _sample(corpus, n=30):
    """One case of each family, then a seeded random pick: the same 30 on every run."""
    rng = random.Random(ec.SEED)
    by_family: dict[str, list] = {}
    for c in corpus:
        by_family.setdefault(_family(c.name), []).append(c)
    picked = {}
    for family in sorted(by_family):
        c = rng.choice(by_family[family])
        picked[c.name] = c
    for name in ("raw.fifo", "raw.symlink-loop", "raw.directory", "raw.empty", "raw.magic-text"):
        picked[name] = next(c for c in corpus if c.name == name)
    rest = [c for c in corpus if c.name not in picked]
    for c in rng.sample(rest, max(0, n - len(picked))):
        picked[c.name] = c
    return sorted(picked.values(), key=lambda c: c.name)


def test_sample_through_the_real_cli(corpus, bulk):
    """The same verdicts from the real CLI, with time and peak RSS measured on the child."""
    from concurrent.futures import ThreadPoolExecutor

    jobs = [(c, argv) for c in _sample(corpus) for argv in ec.COMMANDS]
    with ThreadPoolExecutor(2) as ex:
        results = list(ex.map(lambda j: ec.run_cli(j[0].path, j[1]), jobs))
    problems = []
    for (case, argv), r in zip(jobs, results):
        problem = ec.judge(case, argv, r)
        if problem:
            problems.append(f"{case.name} [{argv[0]}]: {problem}")
        elif r["code"] != bulk[case.name, argv[0]]["code"]:
            problems.append(f"{case.name} [{argv[0]}]: CLI exit {r['code']}, in-process "
                            f"{bulk[case.name, argv[0]]['code']}")
    assert not problems, "\n".join(problems)
    assert max(r["rss_mb"] for r in results) < ec.RSS_LIMIT_MB
    assert min(r["rss_mb"] for r in results) > 0  # the probe did report


def test_files_that_inspect_cleanly_go_through_one_batch_each(corpus, bulk):
    """Several files per process where no file is refused: all described, in order."""
    good = [c for c in corpus if bulk[c.name, "inspect"]["code"] == 0 and "\n" not in c.path]
    assert len(good) >= 50
    paths = [c.path for c in good]
    # run_cli puts its path argument last.
    r = ec.run_cli(paths[-1], ("inspect", "--json", *paths[:-1]), limit=120)
    assert r["code"] == 0, r["err"][-2000:]
    assert [d["path"] for d in json.loads(r["out"])] == paths
    r = ec.run_cli(paths[-1], (*COMMANDS["check"], *paths[:-1]), limit=120)
    assert r["code"] in (0, 1), r["err"][-2000:]
    doc = json.loads(r["out"])
    assert len(doc["binaries"]) == len(paths)
    assert r["rss_mb"] < ec.RSS_LIMIT_MB


def test_non_utf8_file_name(tmp_path, sources):
    path = os.fsdecode(bytes(tmp_path) + b"/ls-\xff")
    shutil.copy(sources["c-ls"], path)
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    p = subprocess.run([sys.executable, "-m", "pkgfactory", "inspect", "--json", path], capture_output=True,
                       env=env)
    assert p.returncode == 0, p.stderr


@pytest.mark.slow
def test_every_case_through_the_real_cli():
    # About 1300 CLI processes (several minutes on 2 cores): only with pytest -m slow.
    figures = ec.figures(processes=2)
    assert not figures["failures"], json.dumps(figures["failures"], indent=2)[:5000]
    assert figures["inputs_passed"] == figures["inputs_tried"] >= 200
    assert figures["max_seconds"] < ec.TIME_LIMIT and figures["max_rss_mb"] < ec.RSS_LIMIT_MB
