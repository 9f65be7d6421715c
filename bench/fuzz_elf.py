#!/usr/bin/env python3
"""Property-based fuzzing of the ELF and Go build-info readers for N minutes.

Usage:
    python bench/fuzz_elf.py --minutes 10                 # the documented run
    python bench/fuzz_elf.py --minutes 10 --json out.json --crash-dir crashes/
    python bench/fuzz_elf.py --figures                    # corpus + 10-minute fuzz, as JSON

Targets (hypothesis, a fresh random seed every round, no example database; the
strategies and properties live in tests/elf_corpus.py and are the ones
tests/test_fuzz_elf.py runs briefly in CI):

    inspect    inspect_file, then check and JSON output, on mutated real binaries
    buildinfo  read_buildinfo on generated .go.buildinfo blobs
    modinfo    parse_modinfo on generated module info text
    unquote    gostrconv.unquote / quoted_prefix, with a JSON round trip

A crash is any outcome other than a result or the reader's own error type, or an
execution over the 5 s bound; the input of each is kept in --crash-dir. Prints
executions per target, crashes, the slowest execution and peak RSS; exit 1 if
anything crashed.
"""

from __future__ import annotations

import argparse
import datetime
import json
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import elf_corpus as ec  # noqa: E402

# Share of the wall time each target gets: the ELF reader has by far the most surface.
WEIGHTS = {"inspect": 0.70, "buildinfo": 0.15, "modinfo": 0.10, "unquote": 0.05}
ROUND_EXAMPLES = 100


def fuzz(minutes: float, crash_dir: Path | None = None, log=print) -> dict:
    """Run every target for its share of `minutes`; the figures as a dict."""
    from hypothesis import HealthCheck, Phase, given, settings

    # A memory blow-up becomes a MemoryError that the property reports, not a dead host.
    resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))
    seeds = ec.fuzz_seeds(ec.source_binaries())
    workdir = Path(tempfile.mkdtemp(prefix="fuzz-elf-"))
    execs: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    crashes: list[dict] = []
    slowest = [0.0]

    def timed(target, fn, *args):
        execs[target] += 1
        t = time.perf_counter()
        result = fn(*args)
        slowest[0] = max(slowest[0], time.perf_counter() - t)
        return result

    def inspect_target(case):
        name, data = case
        outcomes[timed("inspect", ec.inspect_property, data, workdir, name, ec.TIME_LIMIT, crash_dir)] += 1

    def buildinfo_target(case):
        timed("buildinfo", ec.buildinfo_property, *case)

    targets = {
        "inspect": (inspect_target, ec.mutated_elf(seeds)),
        "buildinfo": (buildinfo_target, ec.buildinfo_blobs()),
        "modinfo": (lambda text: timed("modinfo", ec.modinfo_property, text), ec.modinfo_texts()),
        "unquote": (lambda s: timed("unquote", ec.unquote_property, s), ec.go_quoted()),
    }
    opts = settings(max_examples=ROUND_EXAMPLES, deadline=None, database=None, derandomize=False,
                    phases=[Phase.generate], suppress_health_check=list(HealthCheck), print_blob=True)
    runners = {name: opts(given(strategy)(fn)) for name, (fn, strategy) in targets.items()}

    spent: Counter[str] = Counter()
    start = time.monotonic()
    try:
        _loop(runners, spent, start + minutes * 60, crashes, execs, log)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "date": datetime.date.today().isoformat(),
        "fuzz_minutes": round((time.monotonic() - start) / 60, 1),
        "fuzz_executions": sum(execs.values()),
        "fuzz_executions_by_target": dict(execs),
        "fuzz_inspect_outcomes": dict(outcomes),
        "fuzz_crashes": len(crashes),
        "fuzz_crash_details": crashes,
        "fuzz_max_seconds": round(slowest[0], 3),
        "fuzz_peak_rss_mb": round(ec.peak_rss_mb(), 1),
    }


def _loop(runners, spent, end, crashes, execs, log) -> None:
    from hypothesis.errors import FlakyFailure, HypothesisException

    start = last_log = time.monotonic()
    while time.monotonic() < end:
        name = min(WEIGHTS, key=lambda n: spent[n] / WEIGHTS[n])
        t = time.monotonic()
        try:
            runners[name]()
        except HypothesisException as e:
            if not isinstance(e, FlakyFailure):
                raise  # a mistake in the harness, not a finding
            crashes.append({"target": name, "error": f"{type(e).__name__}: {str(e)[:2000]}"})
            log(f"CRASH (flaky) in {name}: {str(e)[:500]}")
        except Exception as e:  # the property failed: one crash, keep fuzzing
            crashes.append({"target": name, "error": f"{type(e).__name__}: {str(e)[:2000]}"})
            log(f"CRASH in {name}: {type(e).__name__}: {str(e)[:500]}")
        spent[name] += time.monotonic() - t
        if time.monotonic() - last_log > 60:
            last_log = time.monotonic()
            log(f"{(last_log - start) / 60:5.1f} min: {sum(execs.values())} executions {dict(execs)}, "
                f"{len(crashes)} crashes")


def reliability_figures(fuzz_minutes: float = 10, crash_dir: Path | None = None) -> dict:
    """The "Malformed ELF and fuzzing" figures of docs/reliability.md.

    Runs the whole corpus through the real CLI (one child per file and command,
    two at a time) and then fuzzes for fuzz_minutes.
    """
    corpus = ec.figures()
    figures = {
        "elf_inputs_tried": corpus["inputs_tried"],
        "elf_inputs_passed": corpus["inputs_passed"],
        "elf_cli_runs": corpus["cli_runs"],
        "elf_refused_exit_2": corpus["refused_exit_2"],
        "elf_max_seconds": corpus["max_seconds"],
        "elf_max_rss_mb": corpus["max_rss_mb"],
        "elf_failures": corpus["failures"],
    }
    figures.update(fuzz(fuzz_minutes, crash_dir))
    return figures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="fuzzing time (default 10)")
    ap.add_argument("--crash-dir", type=Path, default=None, help="where to keep crashing inputs")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    ap.add_argument("--figures", action="store_true",
                    help="run the malformed-ELF corpus through the CLI too and print all figures as JSON")
    args = ap.parse_args()
    if args.figures:
        result = reliability_figures(args.minutes, args.crash_dir)
    else:
        result = fuzz(args.minutes, args.crash_dir, log=lambda m: print(m, flush=True))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    if args.figures:
        print(json.dumps(result, indent=2))
    else:
        print(f"fuzzed {result['fuzz_minutes']} min: {result['fuzz_executions']} executions "
              f"{result['fuzz_executions_by_target']}; inspect outcomes {result['fuzz_inspect_outcomes']}; "
              f"{result['fuzz_crashes']} crashes; slowest {result['fuzz_max_seconds']} s; "
              f"peak RSS {result['fuzz_peak_rss_mb']} MB")
    return 1 if result["fuzz_crashes"] or result.get("elf_failures") else 0


if __name__ == "__main__":
    sys.exit(main())
