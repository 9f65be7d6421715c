"""``reports/index.html``: the bundle on one static page, for the delivery team and the auditor.

The page is rendered from ``templates/bundle/index.html.j2`` (a project's
``build.templates`` may override it) through the ``html`` filter, so every
value from the project file is text in the page, never markup. It needs no
network and no scripts: the CSS is inline and the page prints as it shows.

What it states is read from what the bundle holds, not from what was meant:
package hashes from the staged files, RPM signatures as ``rpmkeys`` checks
them against the bundled key, module lists from the bundled SBOMs.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path, PurePosixPath

from pkgfactory import __version__
from pkgfactory.check.matrix import FAIL, PASS, WARN, from_checks
from pkgfactory.check.rules import ERROR
from pkgfactory.digest import sha256_file
from pkgfactory.render.env import environment, render
from pkgfactory.sbom import PROP as SBOM_PROP
from pkgfactory.sign.verify import rpm_check
from pkgfactory.verify.layout import KEY

TEMPLATE = "bundle/index.html.j2"
PAGE = "reports/index.html"

SBOM_GO_VERSION = SBOM_PROP + "version"
# A cell's mark, worst last: the page shows the worst of the binaries in it.
MARKS = ("ok", "warn", "fail")
_MARK = {PASS: "ok", WARN: "warn", FAIL: "fail"}


def verdict_cells(results) -> dict[tuple[str, str], dict]:
    """(target, arch) -> {"mark": ok|warn|fail, "binaries": [{binary, mark, codes}]}, from the build's checks.

    The verdicts are pkgfactory.check.matrix's (the model `pkgfactory check`
    prints): ✘ an unwaived error (or a package that was not built), ⚠ warnings
    or waived errors, ✔ no finding at all.
    """
    matrix = from_checks({"target": r.target, "arch": r.arch, "checks": r.checks, "waivers": r.waivers}
                         for r in results)
    cells = {}
    for r in results:
        binaries = []
        for row in matrix.rows:
            cell = matrix.cell(row, r.target)
            if cell is None or row.arch != r.arch:
                continue
            errors = {f.code for f in cell.findings if f.severity == ERROR}
            codes = [{"code": code, "level": "fail" if code in errors and code not in cell.waived else "warn",
                      "waived": code in errors and code in cell.waived} for code in cell.codes]
            binaries.append({"binary": row.binary, "mark": _MARK[cell.status], "codes": codes})
        worst = max([b["mark"] for b in binaries] + ["ok" if r.ok else "fail"], key=MARKS.index)
        cells[(r.target, r.arch)] = {"mark": worst, "binaries": binaries, "status": r.status}
    return cells


def _findings(results) -> list[dict]:
    rows = []
    for r in results:
        reasons = {(w["binary"], w["code"]): w["reason"] for w in r.waivers}
        for check in r.checks:
            for f in check["findings"]:
                rows.append({"target": r.target, "arch": r.arch, "binary": check["binary"], "code": f["code"],
                             "severity": f["severity"], "message": f["message"],
                             "waiver": reasons.get((check["binary"], f["code"])) if f["severity"] == "error"
                             else None})
    return rows


def _matrix(report, cells) -> dict:
    arches = sorted({r.arch for r in report.results})
    rows = []
    for target_id in dict.fromkeys(r.target for r in report.results):
        profile = report.profiles[target_id]
        rows.append({"id": target_id, "name": profile.name, "family": profile.family,
                     "cells": [dict(cells.get((target_id, a), {"mark": "none", "binaries": []}), arch=a)
                               for a in arches]})
    return {"arches": arches, "rows": rows, "several_binaries": len(report.project.binaries) > 1}


def _rel_link(path: str) -> str:
    """A link from reports/index.html to a bundle file."""
    return str(PurePosixPath("..") / path)


def _packages(stage: Path, packages: list[dict], log: Path | None, rpm_checks: dict | None = None) -> list[dict]:
    rpms = [stage / p["path"] for p in packages if p["format"] == "rpm"]
    if rpm_checks is not None:
        checked = {stage / path: c for path, c in rpm_checks.items()}
    else:
        checked = {c.path: c for c in rpm_check(rpms, stage / KEY, log=log)} if rpms else {}
    out = []
    for p in packages:
        path = stage / p["path"]
        if p["format"] == "rpm":
            c = checked[path]
            kinds = [{"header": "v4 header signature", "header+payload": "v3 header+payload signature"}[k]
                     for k in c.signatures]
            signature = {"kinds": kinds, "ok": c.ok, "how": "rpmkeys --checksig with KEY.asc",
                         "problem": c.reason}
        else:
            release = next(iter(sorted((stage / "repos" / "deb" / p["target"] / "dists").glob("*/InRelease"))), None)
            chain = release.relative_to(stage).as_posix() if release else "(no InRelease)"
            signature = {"kinds": ["apt Release chain"], "ok": release is not None,
                         "how": f"{chain} (and Release.gpg) → Packages SHA256 → this file", "problem": ""}
        size = path.stat().st_size
        out.append({**p, "name": path.name, "href": _rel_link(p["path"]), "sha256": sha256_file(path),
                    "size": size, "size_text": _size(size), "signature": signature})
    return out


def _inspected(report) -> dict[tuple[str, str], object]:
    # The build stage inspected every binary once for the whole run (report.infos).
    arches = sorted({r.arch for r in report.results})
    return {(b.dest, a): report.infos[(b.dest, a)] for b in report.project.binaries for a in arches
            if a in b.sources}


def _sboms(stage: Path, inspected) -> list[dict]:
    """The bundled SBOMs, each tied to its binary by the SHA-256 it records for it."""
    by_hash: dict[str, list] = {}
    for key, info in inspected.items():
        by_hash.setdefault(info.sha256, []).append(key)  # one binary may be shipped under two names
    out = []
    for f in sorted((stage / "sbom").glob("*.cdx.json")):
        doc = json.loads(f.read_text())
        subject = doc.get("metadata", {}).get("component", {})
        props = {p["name"]: p["value"] for p in subject.get("properties", [])}
        digest = next((h["content"] for h in subject.get("hashes", []) if h.get("alg") == "SHA-256"), None)
        shipped = by_hash.get(digest, [("not in this bundle", "?")])
        modules = [{"name": c.get("name", "?"), "version": c.get("version") or "—", "purl": c.get("purl") or ""}
                   for c in doc.get("components", [])]
        out.append({"binary": ", ".join(d for d, _a in shipped), "arch": shipped[0][1], "file": f.name, "href": _rel_link(f"sbom/{f.name}"),
                    "module": subject.get("name", "?"), "version": subject.get("version") or "(devel)",
                    "go": props.get(SBOM_GO_VERSION, "—"), "modules": modules})
    return out


def _binaries(inspected) -> list[dict]:
    """What each shipped binary asks of the host: what install.sh's glibc check is about."""
    return [{"dest": dest, "arch": arch, "linkage": info.elf.linkage, "glibc": info.elf.glibc_max or "none",
             "interpreter": info.elf.interpreter or "none"} for (dest, arch), info in inspected.items()]


def _compiled(compile_report: dict | None) -> dict | None:
    """How the compile stage made the bundled binaries (None: they were supplied built)."""
    if not compile_report:
        return None
    rows = []
    for rec in compile_report.get("binaries", []):
        floor = rec.get("floor") or {}
        rows.append({
            "binary": rec.get("binary", ""), "arch": rec.get("arch", ""), "package": rec.get("package", ""),
            "go": rec.get("go_version", ""),
            "goarch": " ".join([f"GOARCH={rec.get('goarch', '')}",
                                *(f"{k}={v}" for k, v in (floor.get("cpu") or {}).items())]),
            "linkage": f"cgo, glibc {floor.get('glibc')}" if rec.get("cgo") else "static (CGO_ENABLED=0)",
            "glibc": f"{floor.get('glibc')} ({floor.get('glibc_from')})" if floor.get("glibc") else "",
            "kernel": f"{floor.get('kernel')} ({floor.get('kernel_from')})" if floor.get("kernel") else "",
            "targets": ", ".join(rec.get("targets", [])),
            "sha256": rec.get("sha256", ""),
        })
    module = compile_report.get("module") or {}
    return {"module": module.get("path", ""), "commit": module.get("commit") or "",
            "modified": bool(module.get("modified")), "rows": rows}


def _size(n: int) -> str:
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def _fingerprint_groups(fpr: str) -> str:
    return " ".join(fpr[i:i + 4] for i in range(0, len(fpr), 4))


def page_context(stage: Path, report, packages: list[dict], fingerprint: str, meta: dict,
                 log: Path | None = None, rpm_checks: dict | None = None) -> dict:
    """``rpm_checks``: pkgfactory.sign.verify.RpmCheck by bundle path, from the signing stage
    (which has just run rpmkeys --checksig on every RPM); None checks them here."""
    project = report.project
    p = project.package
    cells = verdict_cells(report.results)
    marks = [c["mark"] for c in cells.values()]
    listed = _packages(stage, packages, log, rpm_checks)
    inspected = _inspected(report)
    built = datetime.datetime.fromtimestamp(report.source_date_epoch, datetime.timezone.utc)
    return {
        "product": {"name": p.name, "version": p.version, "release": p.release, "evr": p.evr,
                    "summary": p.summary, "description": p.description, "license": p.license,
                    "maintainer": p.maintainer, "vendor": p.vendor or "", "url": p.url or ""},
        "fingerprint": fingerprint,
        "fingerprint_groups": _fingerprint_groups(fingerprint),
        "key_id": fingerprint[-16:],
        "built": built.strftime("%Y-%m-%d %H:%M UTC"),
        "pkgfactory_version": __version__,
        "counts": {m: marks.count(m) for m in MARKS},
        "matrix": _matrix(report, cells),
        "findings": _findings(report.results),
        "packages": listed,
        "all_signed": all(x["signature"]["ok"] for x in listed),
        "sboms": _sboms(stage, inspected),
        "binaries": _binaries(inspected),
        "compiled": _compiled(project.compile_report),
        "kernel": {"min": meta["kernel"]["min"] or "", "max": meta["kernel"]["max"] or "",
                   "modules": meta["kernel_modules"]},
        "targets": [{"id": t["id"], "name": t["name"], "family": t["family"], "glibc": t["glibc"],
                     "arches": [a["name"] for a in t["arches"]]} for t in meta["targets"]],
        "builder": {k: v for k, v in report.builder.items() if isinstance(v, str)},
        "tool_versions": {k: str(v) for k, v in report.tool_versions.items()},
    }


def write_page(stage: Path, report, packages: list[dict], fingerprint: str, meta: dict,
               log: Path | None = None, rpm_checks: dict | None = None) -> Path:
    """Render ``reports/index.html`` into the staged bundle (before the manifest lists it)."""
    project = report.project
    env = environment(project.templates, origin=f"{project.path}: key 'build.templates'")
    text = render(env, TEMPLATE, page_context(stage, report, packages, fingerprint, meta, log, rpm_checks))
    out = stage / PAGE
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return out


__all__ = ["PAGE", "page_context", "verdict_cells", "write_page"]
