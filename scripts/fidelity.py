"""Writes docs/fidelity.md: what each rpm target's own rpm release proved, from a test run.

    .venv/bin/python scripts/fidelity.py [--junit FILE] [-o docs/fidelity.md]

Runs tests/test_oracles.py (or reads the JUnit XML of a run given with
--junit) and tabulates its outcomes per target and rpm release: nothing in
the table is typed by hand. Exits with pytest's status, so a failing case
both shows in the table and fails the script.
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from oracles.build import mapping, recipes  # noqa: E402
from pkgfactory import targets  # noqa: E402
from pkgfactory.versions import version_key  # noqa: E402

TEST = "tests/test_oracles.py"
# column -> the per-case tests whose outcome it shows
CASE_COLUMNS = {
    "signature verified": ["test_signature"],
    "installed": ["test_install"],
    "upgraded": ["test_upgrade"],
    "erased": ["test_erase"],
}


def outcomes(junit: Path) -> dict[str, str]:
    """test name with parameters -> "passed" | "failed" | "skipped"."""
    out = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        state = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                state = "failed"
            elif child.tag == "skipped":
                state = "skipped"
        out[case.get("name")] = state
    return out


def table(results: dict[str, str]) -> list[str]:
    rows = ["| target | rpm release used | arches | " + " | ".join(CASE_COLUMNS)
            + " | package floors | profile floors equal | repodata compressions |",
            "|---" * (len(CASE_COLUMNS) + 6) + "|"]
    profiles = targets.load_all()
    for tid in sorted(mapping()):
        entry = mapping()[tid]
        arches = list(profiles[tid].arches)
        for release in sorted(entry["releases"], key=version_key):
            cells = [_per_arch(results, tests, f"{tid}-{release}", arches)
                     for tests in [*CASE_COLUMNS.values(), ["test_payload_and_rpmlib_requires"]]]
            floors = _one(results, f"test_profile_floors_equal_the_oracle[{tid}]")
            if floors == "yes" and entry.get("unsettled"):
                floors += f" ({', '.join(entry['unsettled'])} unsettled)"
            cells += [floors, _one(results, f"test_repo_metadata_uses_only_allowed_compressions[{tid}]")]
            rows.append(f"| {tid} | {release} | {', '.join(arches)} | " + " | ".join(cells) + " |")
    return rows


def _per_arch(results: dict[str, str], tests: list[str], case: str, arches: list[str]) -> str:
    """"yes (n/n)" when every test passed for every arch, else the arches that failed."""
    states = {a: [results.get(f"{t}[{case}-{a}]") for t in tests] for a in arches}
    if any(None in s for s in states.values()):
        return "not run"
    bad = [a for a, s in states.items() if any(x != "passed" for x in s)]
    return f"**no**: {', '.join(bad)}" if bad else f"yes ({len(arches)}/{len(arches)})"


def _one(results: dict[str, str], name: str) -> str:
    state = results.get(name)
    return {"passed": "yes", None: "not run"}.get(state, "**no**")


def render(results: dict[str, str]) -> str:
    rel = recipes()["release"]
    lines = [
        "# Fidelity: our rpm packages under the rpm the targets really run",
        "",
        f"Written by `scripts/fidelity.py` from a run of `{TEST}` on {datetime.date.today().isoformat()};",
        "do not edit by hand. Each rpm target is judged by the upstream rpm release it runs",
        "(`pkgfactory/targets/oracles.toml`), built from source into `localhost/pkgf-rpm:<release>`",
        "with its distribution's features (`tests/oracles/recipes.toml`). Per arch, in a fresh",
        "container of that release, the bundle's 1.1.0 and 1.2.0 packages are:",
        "",
        "- **signature verified**: `rpmkeys --checksig` passes with only the bundle's `KEY.asc` imported",
        "  (v3 header+payload signature included where the profile says `rpm_signature = \"v3\"`),",
        "  fails without the key and fails on a package with one payload byte changed;",
        "- **installed / upgraded / erased**: into the container's own rpmdb, real `/bin/sh`",
        "  scriptlets (`useradd` creates the user, owners and modes as declared), 1.1.0 → 1.2.0 with",
        "  `%config(noreplace)` kept, then erased; the scriptlets' `$1` and the recorded `systemctl`",
        "  calls are exactly docs/project-file.md's table. Missing dependencies (`/bin/sh`, `useradd`…)",
        "  come from a generated base-provides package, never `--nodeps`; a foreign arch is installed",
        "  with `--ignorearch` (the scriptlets are shell; the binary is never run);",
        "- **package floors**: the payload compressor and every `rpmlib()` requirement are allowed by",
        "  the profile and provided by the release;",
        "- **profile floors equal**: `[packaging] rpmlib` and `rpm_payloads` equal what the release",
        "  reports (`rpm --showrc`; the payloads its `rpm2cpio` unpacks), *unsettled* features aside",
        "  (the release has them, the distribution's own build is not known to);",
        "- **repodata compressions**: `repomd.xml` lists only compressions the profile allows.",
        "",
        *table(results),
        "",
        "## How each release was built",
        "",
        "| release | distribution's own build | ours differs |",
        "|---|---|---|",
    ]
    for release in sorted(rel, key=version_key):
        r = rel[release]
        lines.append(f"| {release} | {r.get('distro', '')} | {r.get('differs', '')} |")
    lines += [
        "",
        "Not proven here: yum 3 on CentOS 7 (needs Python 2; see docs/install.md), dnf of the",
        "targets' own releases (Debian's dnf reads the repositories instead), SELinux labelling,",
        "and the distributions' downstream patches to rpm.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/fidelity.py", description=__doc__.splitlines()[0])
    parser.add_argument("--junit", type=Path, help="read this JUnit XML instead of running the tests")
    parser.add_argument("-o", "--output", type=Path, default=REPO / "docs" / "fidelity.md")
    args = parser.parse_args(argv)
    status = 0
    with tempfile.TemporaryDirectory() as tmp:
        junit = args.junit
        if junit is None:
            junit = Path(tmp) / "junit.xml"
            status = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", TEST,
                                     f"--junitxml={junit}"], cwd=REPO, env=os.environ).returncode
            if not junit.is_file():
                print(f"fidelity: error: pytest wrote no results (exit {status})", file=sys.stderr)
                return status or 1
        args.output.write_text(render(outcomes(junit)))
    print(f"wrote {args.output}")
    return status


if __name__ == "__main__":
    sys.exit(main())
