"""SHA256SUMS and manifest.json: every file listed once, hashed, and nothing unlisted."""

from __future__ import annotations

import json
from pathlib import Path

from pkgfactory.digest import sha256_file
from pkgfactory.verify.layout import MANIFEST, NOT_IN_MANIFEST, SUMS, SUMS_SIG, BadPath, is_sha256, safe_relpath
from pkgfactory.verify.limits import FILE_CEILINGS


def parse_sums(text: str, problems) -> dict[str, str]:
    """GNU sha256sum lines ("HEX  path" or "HEX *path") -> {path: hex}; bad lines become problems."""
    out: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        digest, sep, rest = line.partition(" ")
        name = rest[1:] if rest[:1] in (" ", "*") else None
        if not sep or name is None or not is_sha256(digest):
            problems(SUMS, f"line {n} is not '<sha256>  <path>'")
            continue
        try:
            name = safe_relpath(name)
        except BadPath as e:
            problems(SUMS, f"line {n}: {e}")
            continue
        if name in out:
            problems(SUMS, f"line {n}: {name} is listed twice")
            continue
        out[name] = digest
    return out


def load_manifest(root: Path, problems, regular: set[str] | None = None) -> dict | None:
    """``regular``: the bundle's regular files; anything else under the name is never opened."""
    if regular is not None and MANIFEST not in regular:
        problems(MANIFEST, "missing or not a regular file")
        return None
    try:
        data = json.loads((root / MANIFEST).read_text())
    except FileNotFoundError:
        problems(MANIFEST, "missing")
        return None
    except (ValueError, UnicodeDecodeError) as e:
        problems(MANIFEST, f"not valid JSON: {e}")
        return None
    except RecursionError:  # json nests by recursion: '[' * 10**5 is short and hostile
        problems(MANIFEST, "not valid JSON: nested too deeply")
        return None
    except OSError as e:
        problems(MANIFEST, f"unreadable: {e.strerror}")
        return None
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        problems(MANIFEST, "has no 'files' list")
        return None
    return data


def manifest_files(manifest: dict, problems) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for i, entry in enumerate(manifest["files"]):
        if not isinstance(entry, dict):
            problems(MANIFEST, f"files[{i}] is not an object")
            continue
        try:
            path = safe_relpath(entry.get("path"))
        except BadPath as e:
            problems(MANIFEST, f"files[{i}]: {e}")
            continue
        if path in out:
            problems(MANIFEST, f"{path} is listed twice")
            continue
        if not is_sha256(entry.get("sha256")) or not isinstance(entry.get("size"), int):
            problems(MANIFEST, f"{path}: entry lacks a sha256 or size")
            continue
        if path in NOT_IN_MANIFEST:
            problems(MANIFEST, f"{path} may not list itself or the checksum files")
            continue
        out[path] = entry
    return out


def check_files(root: Path, sums: dict[str, str], listed: dict[str, dict], on_disk: list[str], problems,
                sizes_proven: bool) -> tuple[int, set[str]]:
    """Hash each file once its size is known to be right, and compare with both lists.

    The fixed-name files are bounded by their ceilings (checked before this);
    every other file is read only when ``sizes_proven`` (manifest.json is the
    one the good SHA256SUMS signs) and its size is the manifest's: a 64 GiB
    sparse file listed as 3 KiB is reported, never read. Returns how many
    files were hashed and the files of the right size, the only ones the later
    checks may read.
    """
    hashed = 0
    disk = set(on_disk)
    fit = set()
    for path in sorted(disk - set(listed) - set(NOT_IN_MANIFEST)):
        problems(path, "present in the bundle but not listed in manifest.json")
    for path in sorted(disk - set(sums) - {SUMS, SUMS_SIG}):
        problems(path, "present in the bundle but not listed in SHA256SUMS")
    for path in sorted((set(sums) | set(listed)) - disk):
        problems(path, "listed but missing from the bundle")
    for path in sorted(set(sums) & disk):
        entry = listed.get(path)
        size = (root / path).lstat().st_size
        if entry is not None and entry["size"] != size:
            problems(path, f"size differs from manifest.json ({size:,} bytes, not {entry['size']:,})"
                     + ("" if path in FILE_CEILINGS else ": not read"))
            if path not in FILE_CEILINGS:
                continue
        elif path not in FILE_CEILINGS:
            if not sizes_proven or entry is None:
                continue  # unlisted in the manifest: reported above; unproven sizes: said once by the caller
            fit.add(path)
        digest = sha256_file(root / path)
        hashed += 1
        if digest != sums[path]:
            problems(path, "sha256 differs from SHA256SUMS (file changed)")
        if entry is not None and entry["sha256"] != digest:
            problems(path, "sha256 differs from manifest.json")
    for path in sorted(set(listed) - set(sums)):
        if path in disk:
            problems(path, "in manifest.json but not in SHA256SUMS")
    return hashed, fit
