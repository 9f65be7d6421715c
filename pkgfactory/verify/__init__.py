"""Stage: prove a bundle untampered, offline, with only the key it carries (and the one the auditor expects).

Order matters: the SHA256SUMS signature first (it anchors everything), then
every file against SHA256SUMS and manifest.json, then the package-level chains
(rpm signatures, signed apt and yum indexes). Every failure is collected with
the file it concerns, so an auditor sees all of them in one run.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from pkgfactory import runner
from pkgfactory.digest import sha256_file
from pkgfactory.errors import InputError, PkgfError
from pkgfactory.printable import printable
from pkgfactory.sign.verify import OneKey, verify_detached
from pkgfactory.verify import sums
from pkgfactory.verify.layout import FORMAT, KEY, KEY_FPR, MANIFEST, SUMS, SUMS_SIG, walk_files
from pkgfactory.verify.limits import FILE_CEILINGS

# Whether the key that signed the bundle is known to be the one the auditor expects.
ORIGIN_EXPECTED = "expected key"  # --fingerprint given, and the bundle is signed by that key
ORIGIN_ACCEPTED = "bundled key accepted"  # --accept-bundled-key: the auditor takes the bundled key as it is
ORIGIN_UNKNOWN = "not established"  # neither: consistent with the key it carries proves nothing about who made it

_FPR = re.compile(r"[0-9A-F]{40}|[0-9A-F]{64}")


@dataclass
class VerifyReport:
    bundle: str
    fingerprint: str | None = None  # of the key that signed SHA256SUMS
    expected_fingerprint: str | None = None
    origin: str = ORIGIN_UNKNOWN
    problems: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def consistent(self) -> bool:
        """Every check held: untampered with respect to the key the bundle carries."""
        return not self.problems

    @property
    def ok(self) -> bool:
        """Consistent, and signed by the key the auditor expects (or chose to accept)."""
        return self.consistent and self.origin != ORIGIN_UNKNOWN

    def add(self, path: str, why: str) -> None:
        self.problems.append((printable(path), " ".join(printable(why).split())))

    def to_dict(self) -> dict:
        return {"bundle": self.bundle, "ok": self.ok, "consistent": self.consistent, "origin": self.origin,
                "fingerprint": self.fingerprint, "expected_fingerprint": self.expected_fingerprint,
                "problems": [{"file": f, "why": w} for f, w in self.problems],
                "warnings": self.warnings, "counts": self.counts}


def expected_fingerprint(text: str) -> str:
    """The fingerprint an auditor gave, as 40 or 64 upper-case hex digits (spaces allowed).

    Anything else is bad input: an empty value is what an unset variable in a
    script gives, and must never mean "whatever key the bundle carries".
    """
    fpr = "".join(str(text).split()).upper()
    if not _FPR.fullmatch(fpr):
        raise InputError(f"--fingerprint {text!r}: not a key fingerprint (40 or 64 hex digits, spaces allowed)")
    return fpr


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


def verify_bundle(bundle, fingerprint: str | None = None, log: Path | None = None, *,
                  accept_bundled_key: bool = False) -> VerifyReport:
    """Check BUNDLE against the key it carries, and that key against ``fingerprint``.

    Without ``fingerprint`` every check still runs, but the origin stays "not
    established" (report.ok is False) unless ``accept_bundled_key``.
    """
    root = Path(bundle)
    expected = expected_fingerprint(fingerprint) if fingerprint is not None else None
    if expected and accept_bundled_key:
        raise InputError("--fingerprint and --accept-bundled-key: give one, not both")
    if not root.is_dir():
        raise InputError(f"{root}: not a bundle directory" if root.exists() else f"{root}: no such directory")
    report = VerifyReport(bundle=str(root), expected_fingerprint=expected)
    add = report.add
    # Only regular files found without following symlinks are ever read: a FIFO
    # blocks a reader for good, a symlink to /dev/zero feeds it forever, and a
    # symlink out of the bundle would make outside files count as its own.
    on_disk, odd = walk_files(root)
    regular = set(on_disk)
    # The files read before any size is proven, each within its ceiling.
    for name, ceiling in FILE_CEILINGS.items():
        if name in regular and (size := (root / name).lstat().st_size) > ceiling:
            add(name, f"{size:,} bytes, more than the {ceiling:,} any bundle's {name} needs: not read")
            regular.discard(name)
    key = root / KEY
    if KEY not in regular:
        add(KEY, "missing, not a regular file or too large: nothing can be verified without the bundle's "
                 "public key")
        return report

    keys = key_fingerprints(key)
    # One keyring and rpm database with the bundle's key for every check below (a dozen
    # signatures and as many RPMs); a failure to make them is reported by the first check.
    with OneKey(key, log=log) as checker:
        if len(keys) != 1:
            add(KEY, f"holds {len(keys)} keys; a bundle carries exactly one")
        if KEY_FPR in regular:
            stated = "".join((root / KEY_FPR).read_text(errors="replace").split()).upper()
            if keys and stated != keys[0]:
                add(KEY_FPR, f"says {stated} but {KEY} is {keys[0]}")
        if expected is not None and keys and expected not in keys:
            add(KEY, f"key {keys[0]} is not the expected {expected}")

        if SUMS_SIG not in regular:
            add(SUMS_SIG, "missing or not a regular file")
        elif SUMS in regular:
            try:
                report.fingerprint = verify_detached(root / SUMS, root / SUMS_SIG, checker)
            except (PkgfError, InputError) as e:
                add(SUMS_SIG, str(e).split(": ", 1)[-1])
        if expected and report.fingerprint and report.fingerprint != expected:
            add(SUMS_SIG, f"signed by {report.fingerprint}, not the expected {expected}")
        signed = report.fingerprint is not None and (expected is None or report.fingerprint == expected)
        if signed:
            report.origin = ORIGIN_EXPECTED if expected else ORIGIN_ACCEPTED if accept_bundled_key else ORIGIN_UNKNOWN
        if report.origin == ORIGIN_UNKNOWN and expected is None:
            report.warnings.append(
                "origin not established: no --fingerprint given, so the bundle is only proven consistent with the "
                f"key it carries ({keys[0] if keys else '?'}), not that this key is the one you expect; compare it "
                "with the fingerprint you received separately and give it with --fingerprint, or accept the bundled "
                "key with --accept-bundled-key")

        for path, why in odd.items():
            add(path, why)
        sums_text = ""
        if SUMS not in regular:
            add(SUMS, "missing, not a regular file or too large")
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
        # A file is read only once its size is known: the manifest gives the sizes, and
        # the manifest counts only when the good signature on SHA256SUMS covers it.
        sizes_proven = (signed and manifest is not None and MANIFEST in listed_sums
                        and sha256_file(root / MANIFEST) == listed_sums[MANIFEST])
        hashed, fit = sums.check_files(root, listed_sums, listed, on_disk, add, sizes_proven)
        report.counts["files_hashed"] = hashed
        if not sizes_proven:
            report.warnings.append("the files were not read one by one: without a good signature on SHA256SUMS "
                                   "covering manifest.json no file's size is known, and a file is read only once it is")
            return report
        # The repository checks read .debs (python-debian): loaded only by a run that gets here.
        from pkgfactory.verify import repos

        files = repos.Files(root, fit, regular)
        report.counts["rpm_signatures_ok"] = repos.check_rpm_signatures(files, checker, add, log)
        report.counts["debs_proven_by_apt_index"] = repos.check_apt(files, checker, add, log)
        report.counts["rpms_proven_by_yum_metadata"] = repos.check_yum(files, checker, add, log)
        return report
