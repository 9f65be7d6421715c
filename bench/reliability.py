#!/usr/bin/env python3
"""Measure the reliability figures and write them into docs/reliability.md.

Usage:
    python bench/reliability.py --kills 20                  # everything; rewrites the figures table
    python bench/reliability.py --kills 20 --json out.json  # also keep every figure as JSON
    python bench/reliability.py --only verify,project --no-doc   # some sections, print only
    python bench/reliability.py --render out.json           # the table again from a full run's JSON

Sections (each one runs the same code as its tests):

    elf        tests/elf_corpus.py:figures(): every malformed ELF input through the real CLI;
               fuzz figures from --fuzz-json (bench/fuzz_elf.py --json), or a fresh run of
               --fuzz-minutes, or else the recorded run in docs/reliability.md
    project    tests/project_corpus.py: every hostile project file, refused or built inert
    interrupt  tests/test_interrupt.py: `pkgfactory bundle` killed with SIGKILL --kills times at
               random moments plus --anchored times just after the self-verify/publish lines,
               each followed by a rerun; then a kill while signing (is the key left unlocked?)
    secrets    a bundle made with a passphrase-protected key while /proc/<pid>/cmdline and environ
               of every child are polled (tests/signing_helpers.py:watch_processes); then every
               file of the output tree (bundle, tar, packages, logs, reports) is searched for the
               passphrase and the private key (the needles of tests/test_bundle.py)
    installer  pytest tests/test_installer.py -k "fault or interrupted", counted from its JUnit XML
    verify     tests/test_verify_faults.py: FAULTS on copies of a real bundle
    attacks    tests/bundle_attacks.py: the tests of every bundle attack (install.sh under dash and
               bash, verify, the bundle's contents), counted from their JUnit XML; an attack is caught
               when every one of its tests passed

The table goes between <!-- figures:start --> and <!-- figures:end --> in
docs/reliability.md (appended when the markers are missing), only when every
section ran; everything else in the file is left alone.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
DOC = ROOT / "docs" / "reliability.md"
START, END = "<!-- figures:start -->", "<!-- figures:end -->"
SECTIONS = ("elf", "project", "interrupt", "secrets", "installer", "verify", "attacks")


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --- sections ----------------------------------------------------------------------------------

def elf_figures(fuzz_json: Path | None, fuzz_minutes: float) -> dict:
    import elf_corpus as ec

    say("elf: every malformed input through the CLI")
    corpus = ec.figures()
    fig = {"elf_inputs_tried": corpus["inputs_tried"], "elf_inputs_passed": corpus["inputs_passed"],
           "elf_cli_runs": corpus["cli_runs"], "elf_max_seconds": corpus["max_seconds"],
           "elf_max_rss_mb": corpus["max_rss_mb"], "elf_failures": corpus["failures"]}
    if fuzz_json:
        fuzz = json.loads(fuzz_json.read_text())
        fig.update(fuzz_minutes=fuzz["fuzz_minutes"], fuzz_executions=fuzz["fuzz_executions"],
                   fuzz_crashes=fuzz["fuzz_crashes"], fuzz_source=f"{fuzz_json} ({fuzz.get('date', '?')})")
    elif fuzz_minutes > 0:
        import fuzz_elf

        say(f"elf: fuzzing for {fuzz_minutes} min")
        fuzz = fuzz_elf.fuzz(fuzz_minutes, log=lambda m: say(f"  {m}"))
        fig.update(fuzz_minutes=fuzz["fuzz_minutes"], fuzz_executions=fuzz["fuzz_executions"],
                   fuzz_crashes=fuzz["fuzz_crashes"], fuzz_source="this run")
    else:
        fig.update(recorded_fuzz())
    return fig


def recorded_fuzz() -> dict:
    """The fuzz row of the recorded run in the ELF section of docs/reliability.md."""
    text = DOC.read_text() if DOC.exists() else ""
    text = text.split(START)[0] + text.split(END)[-1] if START in text else text
    m = re.search(r"\| fuzz minutes / executions / crashes \| ([\d.]+) / ([\d,]+) / (\d+) \|", text)
    if not m:
        raise SystemExit("no recorded fuzz run in docs/reliability.md: give --fuzz-json or --fuzz-minutes")
    when = re.search(r"\*\*Figures\*\* \((\d{4}-\d\d-\d\d)", text)
    return {"fuzz_minutes": float(m.group(1)), "fuzz_executions": int(m.group(2).replace(",", "")),
            "fuzz_crashes": int(m.group(3)),
            "fuzz_source": f"recorded run of bench/fuzz_elf.py ({when.group(1) if when else 'undated'})"}


def project_figures(work: Path) -> dict:
    import project_corpus as pc
    from gobuild import build_all

    say("project: hostile project files")
    binary = build_all(["stripped"])["stripped"]
    fig = pc.figures(binary, work / "project")
    return fig


def interrupt_figures(work: Path, kills: int, anchored: int) -> tuple[dict, object]:
    import test_interrupt as ti

    ti.builder_ready()
    rig = ti.make_rig(work / "interrupt")
    out = work / "interrupt" / "out"
    say(f"interrupt: {kills} random and {anchored} anchored kills")
    fig = ti.interrupt_runs(rig, out, kills, anchored=anchored, seed=ti.SEED + 2, log=lambda m: say(f"  {m}"))
    say("interrupt: a kill while signing")
    fig["passphrase_cached_after_kill"] = ti.passphrase_cached_after_kill(rig, work / "interrupt" / "signing",
                                                                          work / "interrupt" / "signing-logs")
    say("interrupt: a second run into the same output directory")
    fig.update(concurrent_run(ti, rig, work / "interrupt" / "concurrent"))
    return fig, rig


def concurrent_run(ti, rig, out: Path) -> dict:
    """The first bundle runs; a second bundle and a build into the same directory must fail at once."""
    log = out.parent / "concurrent-first.log"
    out.parent.mkdir(parents=True, exist_ok=True)
    first = ti.start(rig, out, log)
    lock = out / ".pkgfactory.lock"
    deadline = time.monotonic() + 60
    while not (lock.exists() and lock.read_text().strip() == str(first.pid)) and time.monotonic() < deadline:
        time.sleep(0.02)
    refused = 0
    for command in ("bundle", "build"):
        p = subprocess.run(rig.argv(out, command=command, targets=("debian-11",)), capture_output=True, text=True,
                           env=rig.env, timeout=120)
        one_line = len(p.stderr.strip().splitlines()) == 1
        refused += p.returncode == 1 and one_line and "another pkgfactory run" in p.stderr
    still_running = first.poll() is None
    ok = first.wait(timeout=600) == 0 and ti.verify_cli(out / ti.NAME, rig.fingerprint) is None
    ti.wait_quiet(out)
    return {"concurrent_second_runs": 2, "concurrent_refused": refused if still_running else 0,
            "concurrent_first_ok": ok, "concurrent_interleaved": (out / "debian-11").exists()}


def secret_figures(rig, work: Path) -> dict:
    import test_interrupt as ti
    from signing_helpers import PASSPHRASE, watch_processes

    out = work / "secrets" / "out"
    out.parent.mkdir(parents=True, exist_ok=True)
    say("secrets: a bundle with a protected key, children polled")
    secret = PASSPHRASE.encode()
    with watch_processes(secret, related=str(rig.key_home).encode()) as (leaks, seen):
        code, _ = ti.run_to_end(rig, out, work / "secrets" / "bundle.log")
    assert code == 0, (work / "secrets" / "bundle.log").read_text()[-2000:]
    needles = secret_needles(rig)
    files = hits = 0
    for path in out.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            files += 1
            hits += sum(1 for n in needles if n in data)
    podman_runs = []
    for log in (out / "logs").rglob("*.log"):
        podman_runs += [ln for ln in log.read_text(errors="replace").splitlines()
                        if re.match(r"^\$ (\S*/)?podman run ", ln)]
    keys_in_container = sum(1 for ln in podman_runs if str(rig.key_home) in ln or "gnupg" in ln)
    ti.wait_quiet(out)
    return {"secret_files_scanned": files, "secret_needles": len(needles), "secret_hits": hits,
            "secret_process_leaks": len(leaks), "secret_programs_seen": sorted(s.decode(errors="replace")
                                                                                for s in seen),
            "secret_container_runs": len(podman_runs), "secret_container_runs_with_keys": keys_in_container}


def secret_needles(rig) -> list[bytes]:
    """As tests/test_bundle.py: the passphrase, the armor header, lines unique to the secret key export."""
    from signing_helpers import PASSPHRASE

    secret = subprocess.run(["gpg", "--homedir", str(rig.key_home), "--batch", "--pinentry-mode", "loopback",
                             "--passphrase-fd", "0", "--export-secret-keys", "--armor", rig.fingerprint],
                            input=PASSPHRASE + "\n", capture_output=True, text=True, check=True).stdout
    public = subprocess.run(["gpg", "--homedir", str(rig.key_home), "--batch", "--export", "--armor",
                             rig.fingerprint], capture_output=True, text=True, check=True).stdout
    body = [ln for ln in secret.splitlines() if len(ln) >= 60 and not ln.startswith("-----") and ln not in public]
    return [PASSPHRASE.encode(), b"PRIVATE KEY BLOCK"] + [ln.encode() for ln in body[5:-5]]


def installer_figures(work: Path) -> dict:
    say("installer: fault cases")
    xml = work / "installer.xml"
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(ROOT / "tests" /
                    "test_installer.py"), "-k", "fault or interrupted", f"--junitxml={xml}"], cwd=ROOT,
                   capture_output=True, text=True)
    cases = list(ET.parse(xml).getroot().iter("testcase"))
    failed = [c.get("name") for c in cases if c.find("failure") is not None or c.find("error") is not None]
    skipped = [c.get("name") for c in cases if c.find("skipped") is not None]
    return {"installer_fault_cases": len(cases) - len(skipped), "installer_clean_exits":
            len(cases) - len(skipped) - len(failed), "installer_failed": failed, "installer_skipped": skipped}


def attack_figures(work: Path) -> dict:
    import bundle_attacks as ba

    say(f"attacks: {len(ba.ATTACKS)} bundle attacks")
    xml = work / "attacks.xml"
    nodes = sorted({n for a in ba.ATTACKS for n in a.tests})
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "", *nodes,
                    f"--junitxml={xml}"], cwd=ROOT, capture_output=True, text=True)
    results = {}
    for case in ET.parse(xml).getroot().iter("testcase"):
        node = case.get("classname").replace(".", "/") + ".py::" + case.get("name")
        bad = case.find("failure") is not None or case.find("error") is not None or case.find("skipped") is not None
        results[node] = not bad
    caught, listing = 0, []
    for a in ba.ATTACKS:
        ran = [ok for node, ok in results.items() for want in a.tests
               if node == want or ("[" not in want and node.startswith(want + "["))]
        held = bool(ran) and all(ran)
        caught += held
        listing.append({"id": a.id, "against": a.against, "what": a.what, "caught": held, "runs": len(ran)})
    return {"attacks_tried": len(ba.ATTACKS), "attacks_caught": caught, "attack_runs": len(results),
            "attacks": listing, "attacks_missed": [x["id"] for x in listing if not x["caught"]]}


def verify_figures(work: Path) -> dict:
    import test_verify_faults as vf
    from signing_helpers import kill_agent

    import test_interrupt as ti

    say("verify: faults on copies of a real bundle")
    ti.builder_ready()
    root = work / "verify"
    bundle, home, fpr = vf.make_bundle(root)
    other = vf.other_key(root)
    failures = {}
    try:
        for fault in vf.FAULTS:
            case = root / "cases" / fault.id
            shutil.copytree(bundle, case / bundle.name, symlinks=True)
            (case / "scratch").mkdir()
            problem = vf.judge(vf.Ctx(case / bundle.name, home, other, case / "scratch"), fault, fpr)
            if problem:
                failures[fault.id] = problem
            # rm, not shutil.rmtree: one case is a tree 1100 levels deep; others are 64 GiB sparse files.
            subprocess.run(["rm", "-rf", str(case)])
    finally:
        kill_agent(home)
        kill_agent(other)
    return {"verify_fault_cases": len(vf.FAULTS), "verify_rejected": len(vf.FAULTS) - len(failures),
            "verify_failures": failures}


# --- the document ---------------------------------------------------------------------------------

def table(f: dict) -> str:
    def n(x) -> str:
        return f"{x:,}" if isinstance(x, int) else str(x)

    stages = ", ".join(f"{k} {v}" for k, v in f["killed_in_stage"].items())
    rows = [
        ("malformed ELF inputs tried / passed", f"{n(f['elf_inputs_tried'])} / {n(f['elf_inputs_passed'])} "
         f"({n(f['elf_cli_runs'])} CLI runs; slowest {f['elf_max_seconds']} s, peak RSS {f['elf_max_rss_mb']} MB)"),
        ("fuzz minutes / executions / crashes", f"{f['fuzz_minutes']} / {n(f['fuzz_executions'])} / "
         f"{f['fuzz_crashes']} ({f['fuzz_source']})"),
        ("hostile project files tried / refused or inert",
         f"{f['project_files_tried']} / {f['project_files_refused'] + f['project_files_inert']} "
         f"({f['project_files_refused']} refused naming the key or file, {f['project_files_inert']} built with "
         f"the text inert; {f['project_files_from_test_project']} of them test_project.py's table; "
         + (f"{len(f['project_files_failed'])} not: known defects below; " if f["project_files_failed"] else "")
         + f"markers found: {len(f['markers_found'])})"),
        ("kill -9 runs / corrupt bundles left", f"{f['killed']} / {f['corrupt_left']} ({f['killed'] - f['anchored']} "
         f"at random moments over a {f['full_run_seconds']} s run, {f['anchored']} just after the self-verify or "
         f"publish line; {f['killed_first_runs']} into an empty output directory; killed in: {stages})"),
        ("reruns after a kill / failed / leftovers", f"{f['killed']} / {f['rerun_failures']} / {f['leftovers']} "
         f"(no manual clean-up; each rerun verified, directory and extracted tar; besides, {f['runs'] - f['killed']} "
         "runs ended before their kill moment and were tried again earlier, each also rerun and checked)"),
        ("concurrent second runs / refused at once / interleaved",
         f"{f['concurrent_second_runs']} / {f['concurrent_refused']} / {int(f['concurrent_interleaved'])} "
         f"(first run {'succeeded and verified' if f['concurrent_first_ok'] else 'FAILED'})"),
        ("secret-leak checks / leaks", f"{n(f['secret_files_scanned'] * f['secret_needles'])} content checks, "
         f"{len(f['secret_programs_seen'])} kinds of child process polled, {f['secret_container_runs']} container "
         f"runs / {f['secret_hits']} in files, {f['secret_process_leaks']} in a cmdline or environ, "
         f"{f['secret_container_runs_with_keys']} containers with the keys ({f['secret_files_scanned']} files of "
         f"the output tree -- bundle, tar, packages, logs, reports -- x {f['secret_needles']} needles: the "
         f"passphrase, the armor header, the private key's lines; children seen: "
         f"{', '.join(f['secret_programs_seen'])})"),
        ("key left unlocked in gpg-agent after a kill while signing",
         "YES (defect, below)" if f["passphrase_cached_after_kill"] else "no (locked again within 5 s)"),
        ("installer fault cases / clean exits", f"{f['installer_fault_cases']} / {f['installer_clean_exits']}"
         + (f" ({len(f['installer_skipped'])} skipped here)" if f["installer_skipped"] else "")),
        ("verify fault cases / rejected", f"{f['verify_fault_cases']} / {f['verify_rejected']} (exit 1, the file "
         "named, valid JSON, no traceback, within 60 s)"),
        ("bundle attacks tried / caught", f"{f['attacks_tried']} / {f['attacks_caught']} ("
         + ", ".join(f"{sum(1 for x in f['attacks'] if x['against'] == w)} against {w}"
                     for w in dict.fromkeys(x["against"] for x in f["attacks"]))
         + f"; {f['attack_runs']} test runs, install.sh under dash and bash; list below)"),
    ]
    head = (f"Measured {f['date']} by `{f['command']}` on {f['host']}.\n\n"
            "| measure | value |\n|---|---|\n")
    body = "".join(f"| {a} | {b} |\n" for a, b in rows)
    body += "\nBundle attacks (`tests/bundle_attacks.py`; each caught when all its tests passed):\n\n"
    body += "".join(f"- `{x['id']}` ({x['against']}): {x['what']}" + ("" if x["caught"] else " -- **NOT CAUGHT**")
                    + "\n" for x in f["attacks"])
    defects = f.get("project_known_defects", {})
    tail = ""
    if defects or f["passphrase_cached_after_kill"]:
        tail = "\nKnown defects these runs still show (strict xfails in the tests):\n\n"
        for reason in sorted(set(defects.values())):
            ids = ", ".join(sorted(k for k, v in defects.items() if v == reason))
            tail += f"- {reason} ({ids})\n"
        if f["passphrase_cached_after_kill"]:
            tail += ("- pkgfactory/sign: a bundle killed while signing leaves the passphrase cached in the keys "
                     "directory's gpg-agent more than 5 s after the kill "
                     "(tests/test_interrupt.py::test_a_kill_while_signing_does_not_leave_the_key_unlocked)\n")
    return head + body + tail


def write_doc(text: str) -> None:
    doc = DOC.read_text() if DOC.exists() else "# Reliability figures\n"
    block = f"{START}\n{text}{END}"
    if START in doc and END in doc:
        doc = doc[:doc.index(START)] + block + doc[doc.index(END) + len(END):]
    else:
        doc = doc.rstrip("\n") + "\n\n## Figures\n\n" + block + "\n"
    DOC.write_text(doc)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=20, help="random SIGKILLs of pkgfactory bundle (default 20)")
    ap.add_argument("--anchored", type=int, default=6, help="kills just after the self-verify/publish lines")
    ap.add_argument("--fuzz-json", type=Path, help="figures of a bench/fuzz_elf.py --json run")
    ap.add_argument("--fuzz-minutes", type=float, default=0,
                    help="fuzz now for this long (default: use --fuzz-json or the recorded run)")
    ap.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections ({','.join(SECTIONS)})")
    ap.add_argument("--json", type=Path, help="also write every figure to this file")
    ap.add_argument("--no-doc", action="store_true", help="print, do not touch docs/reliability.md")
    ap.add_argument("--keep", type=Path, help="work directory to keep (default: a temporary one)")
    ap.add_argument("--render", type=Path, metavar="JSON",
                    help="measure nothing: write the table from the --json file of an earlier full run")
    args = ap.parse_args()
    if args.render:
        text = table(json.loads(args.render.read_text()))
        print(text)
        if not args.no_doc:
            write_doc(text)
        return 0
    only = [s for s in args.only.split(",") if s]
    unknown = set(only) - set(SECTIONS)
    if unknown:
        ap.error(f"unknown sections: {', '.join(sorted(unknown))}")

    work = args.keep or Path(tempfile.mkdtemp(prefix="pkgf-reliability-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    fig: dict = {"date": datetime.date.today().isoformat(),
                 "command": "python bench/reliability.py " + " ".join(sys.argv[1:]),
                 "host": f"{platform.freedesktop_os_release().get('PRETTY_NAME', platform.system())}, "
                         f"{os.cpu_count()} cores, Python {platform.python_version()}"}
    rig = None
    try:
        if "verify" in only:
            fig.update(verify_figures(work))
        if "project" in only:
            fig.update(project_figures(work))
        if "interrupt" in only or "secrets" in only:
            if "interrupt" in only:
                part, rig = interrupt_figures(work, args.kills, args.anchored)
                fig.update(part)
            else:
                import test_interrupt as ti
                ti.builder_ready()
                rig = ti.make_rig(work / "interrupt")
        if "secrets" in only:
            fig.update(secret_figures(rig, work))
        if "installer" in only:
            fig.update(installer_figures(work))
        if "attacks" in only:
            fig.update(attack_figures(work))
        if "elf" in only:
            fig.update(elf_figures(args.fuzz_json, args.fuzz_minutes))
    finally:
        if rig is not None:
            import test_interrupt as ti
            ti.close_rig(rig)
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    fig["seconds"] = round(time.monotonic() - started)
    fig["date"] = datetime.date.today().isoformat()
    if args.json:
        args.json.write_text(json.dumps(fig, indent=2, default=str) + "\n")
    if set(only) == set(SECTIONS):
        text = table(fig)
        print(text)
        if not args.no_doc:
            write_doc(text)
            say(f"wrote {DOC.relative_to(ROOT)}")
    else:
        print(json.dumps(fig, indent=2, default=str))
    bad = (fig.get("corrupt_left") or fig.get("rerun_failures") or fig.get("leftovers")
           or fig.get("secret_hits") or fig.get("secret_process_leaks") or fig.get("markers_found")
           or fig.get("fuzz_crashes") or fig.get("elf_failures") or fig.get("verify_failures")
           or fig.get("installer_failed") or fig.get("attacks_missed"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
