"""Stage: prove a bundle untampered, offline, with only the key it carries (and the one the auditor expects).

Order matters: the SHA256SUMS signature first (it anchors everything), then
every file against SHA256SUMS and manifest.json, then the package-level chains
(rpm signatures, signed apt and yum indexes). Every failure is collected with
the file it concerns, so an auditor sees all of them in one run.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from pkgfactory import runner
from pkgfactory.errors import InputError, PkgfError
from pkgfactory.sign.verify import OneKey, verify_detached
from pkgfactory.verify import repos, sums
from pkgfactory.verify.layout import FORMAT, KEY, KEY_FPR, MANIFEST, SUMS, SUMS_SIG, walk_files


@dataclass
class VerifyReport:
    bundle: str
    fingerprint: str | None = None  # of the key that signed SHA256SUMS
    expected_fingerprint: str | None = None
    problems: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, path: str, why: str) -> None:
        # A hostile bundle can hold file names that are not UTF-8 (surrogate-escaped
        # here): shown as \xNN, or printing the report (text or JSON) would crash.
        self.problems.append((_printable(path), " ".join(_printable(why).split())))

    def to_dict(self) -> dict:
        return {"bundle": self.bundle, "ok": self.ok, "fingerprint": self.fingerprint,
                "expected_fingerprint": self.expected_fingerprint,
                "problems": [{"file": f, "why": w} for f, w in self.problems],
                "warnings": self.warnings, "counts": self.counts}


def _printable(text: str) -> str:
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _norm_fpr(text: str) -> str:
    return "".join(text.split()).upper()


def key_fingerprints(key: Path) -> list[str]:
    """Primary fingerprints in a public key file, read in a throwaway keyring."""
    with tempfile.TemporaryDirectory(prefix="pkgf-key-") as home:
        proc = runner.run(["gpg", "--homedir", home, "--batch", "--with-colons", "--show-keys", str(key)],
                          check=False)
    fprs, after_pub = [], False
    for line in proc.stdout.splitlines():
        fields = line.split(":")
        if fields[0] == "pub":
            after_pub = True
        elif fields[0] == "fpr" and after_pub:
            fprs.append(fields[9])
            after_pub = False
    return fprs


def verify_bundle(bundle, fingerprint: str | None = None, log: Path | None = None) -> VerifyReport:
    root = Path(bundle)
    if not root.is_dir():
        raise InputError(f"{root}: not a bundle directory" if root.exists() else f"{root}: no such directory")
    report = VerifyReport(bundle=str(root), expected_fingerprint=_norm_fpr(fingerprint) if fingerprint else None)
    add = report.add
    # Only regular files found without following symlinks are ever read: a FIFO
    # blocks a reader for good, a symlink to /dev/zero feeds it forever, and a
    # symlink out of the bundle would make outside files count as its own.
    on_disk, odd = walk_files(root)
    regular = set(on_disk)
    key = root / KEY
    if KEY not in regular:
        add(KEY, "missing or not a regular file: nothing can be verified without the bundle's public key")
        return report

    keys = key_fingerprints(key)
    # One keyring and rpm database with the bundle's key for every check below (a dozen
    # signatures and as many RPMs); a failure to make them is reported by the first check.
    checker = OneKey(key, log=log)
    if len(keys) != 1:
        add(KEY, f"holds {len(keys)} keys; a bundle carries exactly one")
    if KEY_FPR in regular:
        stated = _norm_fpr((root / KEY_FPR).read_text(errors="replace"))
        if keys and stated != keys[0]:
            add(KEY_FPR, f"says {stated} but {KEY} is {keys[0]}")
    if report.expected_fingerprint is None:
        report.warnings.append("no --fingerprint given: the bundle is only proven consistent with the key it "
                               "carries, not that this key is yours; compare " + (keys[0] if keys else "?") +
                               " with the fingerprint you received separately")
    elif keys and report.expected_fingerprint not in keys:
        add(KEY, f"key {keys[0]} is not the expected {report.expected_fingerprint}")

    if SUMS_SIG not in regular:
        add(SUMS_SIG, "missing or not a regular file")
    elif SUMS in regular:
        try:
            report.fingerprint = verify_detached(root / SUMS, root / SUMS_SIG, checker)
        except (PkgfError, InputError) as e:
            add(SUMS_SIG, str(e).split(": ", 1)[-1])
    if report.expected_fingerprint and report.fingerprint and report.fingerprint != report.expected_fingerprint:
        add(SUMS_SIG, f"signed by {report.fingerprint}, not the expected {report.expected_fingerprint}")

    for path in odd:
        add(path, "not a regular file (symlink or special file) in the bundle")
    sums_text = ""
    if SUMS not in regular:
        add(SUMS, "missing or not a regular file")
    else:
        try:
            sums_text = (root / SUMS).read_text(errors="replace")
        except OSError:
            add(SUMS, "missing or unreadable")
    listed_sums = sums.parse_sums(sums_text, add)
    manifest = sums.load_manifest(root, add, regular)
    listed = sums.manifest_files(manifest, add) if manifest else {}
    if manifest is not None and manifest.get("format") != FORMAT:
        add(MANIFEST, f"format is {manifest.get('format')!r}, expected {FORMAT!r}")
    report.counts["files_hashed"] = sums.check_files(root, listed_sums, listed, on_disk, add)
    report.counts["rpm_signatures_ok"] = repos.check_rpm_signatures(root, checker, add, log, regular)
    report.counts["debs_proven_by_apt_index"] = repos.check_apt(root, checker, add, log, regular)
    report.counts["rpms_proven_by_yum_metadata"] = repos.check_yum(root, checker, add, log, regular)
    checker.close()
    return report
