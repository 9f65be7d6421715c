"""`pkgfactory verify` on a real bundle with one fault each: refused, the file named, never a traceback.

One bundle (centos-7 and debian-12, x86_64: a yum and an apt repository) is
made with the real CLI; every case works on a copy of it. Where a fault sits
behind the SHA256SUMS signature (a manifest listing a file twice, a path with
'..'), the copy is re-signed with the bundle's own key, so only verify's own
rules can catch it, not a hash mismatch. Each case runs the CLI twice, with
--json and without, under a strict UTF-8 locale and a time limit: a hang on
a FIFO or on a symlink to /dev/zero is a failure like a crash.

FAULTS is a module-level table so bench/reliability.py can count and rerun it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from hello_example import build_hello, copy_example
from signing_helpers import kill_agent, make_key

TARGETS = ("centos-7", "debian-12")
APT = "repos/deb/debian-12/dists/debian-12"
YUM = "repos/rpm/centos-7/x86_64"
TIMEOUT = 60  # seconds; a clean verify of this bundle takes about one


@dataclass
class Ctx:
    bundle: Path
    key_home: Path  # the bundle's own signing key (unprotected)
    other_home: Path  # someone else's key
    scratch: Path  # outside the bundle


# --- making faults -------------------------------------------------------------------

def gpg(home: Path, *args: str, input: bytes | None = None) -> bytes:
    return subprocess.run(["gpg", "--homedir", str(home), "--batch", "--yes", *args], input=input,
                          capture_output=True, check=True).stdout


def sign_detached(home: Path, data: Path, sig: Path) -> None:
    sig.unlink(missing_ok=True)
    gpg(home, "--armor", "--digest-algo", "SHA256", "--detach-sign", "-o", str(sig), str(data))


def rehash(c: Ctx, *names: str) -> None:
    """Bring the SHA256SUMS lines of ``names`` up to date, as the key holder would."""
    lines = (c.bundle / "SHA256SUMS").read_text().splitlines()
    for name in names:
        digest = hashlib.sha256((c.bundle / name).read_bytes()).hexdigest()
        lines = [f"{digest}  {name}" if ln.endswith("  " + name) else ln for ln in lines]
    (c.bundle / "SHA256SUMS").write_text("\n".join(lines) + "\n")


def reseal(c: Ctx, *changed: str) -> None:
    """Rehash ``changed`` and sign SHA256SUMS again with the bundle's own key."""
    rehash(c, *changed)
    sign_detached(c.key_home, c.bundle / "SHA256SUMS", c.bundle / "SHA256SUMS.asc")


def crc24(data: bytes) -> int:
    crc = 0xB704CE
    for byte in data:
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def armor_signature(packet: bytes) -> str:
    body = base64.b64encode(packet).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    crc = base64.b64encode(crc24(packet).to_bytes(3, "big")).decode()
    return "-----BEGIN PGP SIGNATURE-----\n\n" + "\n".join(lines) + f"\n={crc}\n-----END PGP SIGNATURE-----\n"


def dearmor(text: str) -> bytes:
    lines = text.strip().splitlines()
    body = lines[lines.index("") + 1:-1]
    return base64.b64decode("".join(ln for ln in body if not ln.startswith("=")))


def truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])


def flip_armor_char(path: Path) -> None:
    """One base64 character changed mid-armor: the CRC no longer matches."""
    text = path.read_text()
    i = text.index("\n\n") + 40
    text = text[:i] + ("A" if text[i] != "A" else "B") + text[i + 1:]
    path.write_text(text)


def corrupt_signature_mpi(path: Path) -> None:
    """A well-formed armor (good CRC) around a packet whose signature value is wrong."""
    packet = bytearray(dearmor(path.read_text()))
    packet[-20] ^= 0x55
    path.write_text(armor_signature(bytes(packet)))


def other_key_signs(c: Ctx, data: str, sig: str) -> None:
    sign_detached(c.other_home, c.bundle / data, c.bundle / sig)


def other_key_clearsigns_inrelease(c: Ctx) -> None:
    inrelease = c.bundle / APT / "InRelease"
    inrelease.unlink()
    gpg(c.other_home, "--digest-algo", "SHA256", "--clearsign", "-o", str(inrelease), str(c.bundle / APT / "Release"))


def edit_manifest(c: Ctx, change: Callable[[dict], None]) -> None:
    m = json.loads((c.bundle / "manifest.json").read_text())
    change(m)
    (c.bundle / "manifest.json").write_text(json.dumps(m, indent=2) + "\n")
    reseal(c, "manifest.json")


def edit_sums(c: Ctx, change: Callable[[list[str]], list[str]]) -> None:
    lines = (c.bundle / "SHA256SUMS").read_text().splitlines()
    (c.bundle / "SHA256SUMS").write_text("\n".join(change(lines)) + "\n")
    sign_detached(c.key_home, c.bundle / "SHA256SUMS", c.bundle / "SHA256SUMS.asc")


def manifest_dup(m: dict) -> None:
    m["files"].append(dict(m["files"][0]))


def manifest_path(path: str):
    def change(m: dict) -> None:
        m["files"][0]["path"] = path
    return change


def sums_path(path: str):
    def change(lines: list[str]) -> list[str]:
        digest = hashlib.sha256(b"x").hexdigest()
        return [*lines, f"{digest}  {path}"]
    return change


def append_resigned(c: Ctx, name: str, data: bytes) -> None:
    with open(c.bundle / name, "ab") as f:
        f.write(data)
    sign_detached(c.key_home, c.bundle / "SHA256SUMS", c.bundle / "SHA256SUMS.asc")


def sums_twice(lines: list[str]) -> list[str]:
    return [*lines, lines[0]]


def sums_malformed(lines: list[str]) -> list[str]:
    return [*lines[:2], "this is not a checksum line", *lines[2:]]


def write_resealed(name: str, data: bytes):
    def fault(c: Ctx) -> None:
        (c.bundle / name).write_bytes(data)
        reseal(c, name)
    return fault


def replace_with_symlink_to_outside_copy(c: Ctx, name: str) -> None:
    """Same bytes, so every hash still matches: only the symlink itself is wrong."""
    outside = c.scratch / "outside" / name
    outside.parent.mkdir(parents=True, exist_ok=True)
    target = c.bundle / name
    if target.is_dir():
        shutil.copytree(target, outside)
        shutil.rmtree(target)
    else:
        shutil.copyfile(target, outside)
        target.unlink()
    target.symlink_to(outside)


def symlink_to(name: str, where: str):
    def fault(c: Ctx) -> None:
        p = c.bundle / name
        if p.exists() or p.is_symlink():
            p.unlink()
        p.symlink_to(where)
    return fault


def fifo_instead(name: str):
    def fault(c: Ctx) -> None:
        (c.bundle / name).unlink()
        os.mkfifo(c.bundle / name)
    return fault


def dir_instead(name: str):
    def fault(c: Ctx) -> None:
        (c.bundle / name).unlink()
        (c.bundle / name).mkdir()
    return fault


def two_keys(c: Ctx) -> None:
    other = subprocess.run(["gpg", "--homedir", str(c.other_home), "--batch", "--armor", "--export"],
                           capture_output=True, check=True).stdout
    with open(c.bundle / "KEY.asc", "ab") as f:
        f.write(other)


def two_keys_resealed(c: Ctx) -> None:
    """Even when the key holder signs it: a bundle carries one key."""
    two_keys(c)
    reseal(c, "KEY.asc")
    edit_manifest(c, lambda m: next(f for f in m["files"] if f["path"] == "KEY.asc").update(
        sha256=hashlib.sha256((c.bundle / "KEY.asc").read_bytes()).hexdigest(),
        size=(c.bundle / "KEY.asc").stat().st_size))


def non_utf8_name(c: Ctx) -> None:
    fd = os.open(os.fsencode(c.bundle) + b"/\xff\xfe-extra.txt", os.O_WRONLY | os.O_CREAT, 0o644)
    os.close(fd)


def reseal_all(c: Ctx) -> None:
    """As the key holder re-making the lists: manifest.json's files and SHA256SUMS from what is on disk, signed."""
    root = c.bundle
    names = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and not p.is_symlink())
    m = json.loads((root / "manifest.json").read_text())
    m["files"] = [{"path": n, "sha256": hashlib.sha256((root / n).read_bytes()).hexdigest(),
                   "size": (root / n).stat().st_size}
                  for n in names if n not in ("manifest.json", "SHA256SUMS", "SHA256SUMS.asc")]
    (root / "manifest.json").write_text(json.dumps(m, indent=2) + "\n")
    lines = [f"{hashlib.sha256((root / n).read_bytes()).hexdigest()}  {n}" for n in names
             if n not in ("SHA256SUMS", "SHA256SUMS.asc")]
    (root / "SHA256SUMS").write_text("\n".join(lines) + "\n")
    sign_detached(c.key_home, root / "SHA256SUMS", root / "SHA256SUMS.asc")


_RELEASE_HASHES = {"MD5Sum": "md5", "SHA1": "sha1", "SHA256": "sha256", "SHA512": "sha512"}


def signed_apt_change(c: Ctx, changes: dict[str, bytes | None]) -> None:
    """Index files of the apt repository replaced (None: removed), their Release lines brought up to date,
    InRelease and Release.gpg signed again by the bundle's own key, and the bundle resealed."""
    suite = c.bundle / APT
    out, algo = [], None
    for line in (suite / "Release").read_text().splitlines():
        if not line.startswith(" "):
            algo = _RELEASE_HASHES.get(line.rstrip(":"))
        elif line.split()[2] in changes:
            name = line.split()[2]
            data = changes[name]
            if data is None:
                continue
            line = f" {hashlib.new(algo, data).hexdigest()} {len(data):16d} {name}"
        out.append(line)
    for name, data in changes.items():
        if data is None:
            (suite / name).unlink()
        else:
            (suite / name).write_bytes(data)
    (suite / "Release").write_text("\n".join(out) + "\n")
    (suite / "InRelease").unlink()
    gpg(c.key_home, "--digest-algo", "SHA256", "--clearsign", "-o", str(suite / "InRelease"), str(suite / "Release"))
    sign_detached(c.key_home, suite / "Release", suite / "Release.gpg")
    reseal_all(c)


def bomb(size: int, kind: str) -> bytes:
    """``size`` zero bytes compressed: a few hundred KiB that expand without end."""
    import lzma
    import zlib

    z = zlib.compressobj(9, wbits=31) if kind == "gz" else lzma.LZMACompressor(preset=0)
    chunk = bytes(1 << 20)
    data = b"".join(z.compress(chunk) for _ in range(size >> 20))
    return data + z.flush()


PACKAGES = "main/binary-amd64/Packages"


def packages_gz_bomb(c: Ctx) -> None:
    """A signed 254 KiB Packages.gz that expands to 256 MiB; the Release still states the real Packages' size."""
    signed_apt_change(c, {f"{PACKAGES}.gz": bomb(256 << 20, "gz")})


def packages_xz_bomb_nothing_stated(c: Ctx) -> None:
    """No uncompressed Packages in the Release to bound it: the limit comes from the compressed size."""
    signed_apt_change(c, {PACKAGES: None, f"{PACKAGES}.xz": bomb(128 << 20, "xz")})


def primary_gz_bomb(c: Ctx) -> None:
    """primary.xml.gz swapped for a bomb, repomd.xml made to match (its open-size kept) and signed again."""
    repodata = c.bundle / YUM / "repodata"
    next(repodata.glob("*-primary.xml.gz")).unlink()
    data = bomb(256 << 20, "gz")
    (repodata / "primary.xml.gz").write_bytes(data)
    repomd = (repodata / "repomd.xml").read_text()
    start = repomd.index('<data type="primary">')
    end = repomd.index("</data>", start)
    block = re.sub(r'href="[^"]*"', 'href="repodata/primary.xml.gz"', repomd[start:end])
    block = re.sub(r'(<checksum type="sha256">)[0-9a-f]+(</checksum>)',
                   rf"\g<1>{hashlib.sha256(data).hexdigest()}\g<2>", block)
    block = re.sub(r"<size>\d+</size>", f"<size>{len(data)}</size>", block)
    (repodata / "repomd.xml").write_text(repomd[:start] + block + repomd[end:])
    sign_detached(c.key_home, repodata / "repomd.xml", repodata / "repomd.xml.asc")
    reseal_all(c)


def inrelease_with(before: bytes = b"", after: bytes = b"", replace: tuple[bytes, bytes] | None = None):
    """Unsigned text around the clearsigned block (or a line changed inside it), the bundle resealed:
    gpg still finds the signature good; apt refuses the file."""
    def fault(c: Ctx) -> None:
        p = c.bundle / APT / "InRelease"
        data = p.read_bytes()
        if replace:
            data = data.replace(*replace, 1)
        p.write_bytes(before + data + after)
        reseal_all(c)
    return fault


def deep_tree(c: Ctx) -> None:
    subprocess.run(["mkdir", "-p", str(c.bundle / ("deep/" + "/".join(["a"] * 1100))), ], check=True)


def sparse_instead(name: str, size: int):
    """A listed file replaced by a sparse one of ``size`` bytes (reading it would take minutes)."""
    def fault(c: Ctx) -> None:
        with open(c.bundle / name, "r+b") as f:
            f.truncate(size)
    return fault


def extra_file(name: str):
    def fault(c: Ctx) -> None:
        p = c.bundle / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"unlisted\n")
    return fault


@dataclass(frozen=True)
class Fault:
    id: str
    apply: Callable[[Ctx], None]
    file: str  # the file the report must name
    # The text report prints every problem the same way; it is run too where the
    # fault could break printing itself or the reading before it.
    text: bool = False


FAULTS: list[Fault] = [
    Fault("sums-sig-truncated", lambda c: truncate(c.bundle / "SHA256SUMS.asc"), "SHA256SUMS.asc"),
    Fault("sums-sig-empty", lambda c: (c.bundle / "SHA256SUMS.asc").write_bytes(b""), "SHA256SUMS.asc"),
    Fault("sums-sig-armor-corrupt", lambda c: flip_armor_char(c.bundle / "SHA256SUMS.asc"), "SHA256SUMS.asc"),
    Fault("sums-sig-bytes-corrupt", lambda c: corrupt_signature_mpi(c.bundle / "SHA256SUMS.asc"), "SHA256SUMS.asc",
          text=True),
    Fault("sums-sig-other-key", lambda c: other_key_signs(c, "SHA256SUMS", "SHA256SUMS.asc"), "SHA256SUMS.asc"),
    Fault("sums-sig-missing", lambda c: (c.bundle / "SHA256SUMS.asc").unlink(), "SHA256SUMS.asc"),
    Fault("inrelease-truncated", lambda c: truncate(c.bundle / APT / "InRelease"), f"{APT}/InRelease"),
    Fault("inrelease-other-key", other_key_clearsigns_inrelease, f"{APT}/InRelease"),
    Fault("release-gpg-bytes-corrupt", lambda c: corrupt_signature_mpi(c.bundle / APT / "Release.gpg"),
          f"{APT}/Release.gpg"),
    Fault("repomd-asc-other-key", lambda c: other_key_signs(c, f"{YUM}/repodata/repomd.xml",
                                                            f"{YUM}/repodata/repomd.xml.asc"),
          f"{YUM}/repodata/repomd.xml.asc"),
    Fault("repomd-asc-truncated", lambda c: truncate(c.bundle / YUM / "repodata/repomd.xml.asc"),
          f"{YUM}/repodata/repomd.xml.asc"),
    Fault("manifest-lists-a-file-twice", lambda c: edit_manifest(c, manifest_dup), "manifest.json", text=True),
    Fault("manifest-dotdot-path", lambda c: edit_manifest(c, manifest_path("repos/../../etc/passwd")),
          "manifest.json"),
    Fault("manifest-absolute-path", lambda c: edit_manifest(c, manifest_path("/etc/passwd")), "manifest.json"),
    Fault("manifest-wrong-types", lambda c: edit_manifest(c, lambda m: m["files"].__setitem__(
        0, {"path": 7, "sha256": None, "size": "12"})), "manifest.json"),
    Fault("manifest-not-json", write_resealed("manifest.json", b"{\"files\": [oops\n"), "manifest.json"),
    Fault("manifest-json-not-an-object", write_resealed("manifest.json", b"[1, 2, 3]\n"), "manifest.json"),
    Fault("manifest-nested-too-deep", write_resealed("manifest.json", b"[" * 200_000), "manifest.json", text=True),
    Fault("manifest-not-utf8", write_resealed("manifest.json", b"{\"files\": \"\xff\xfe\"}"), "manifest.json"),
    Fault("manifest-is-a-directory", dir_instead("manifest.json"), "manifest.json"),
    Fault("manifest-is-a-fifo", fifo_instead("manifest.json"), "manifest.json", text=True),
    Fault("sums-dotdot-path", lambda c: edit_sums(c, sums_path("../outside.txt")), "SHA256SUMS"),
    Fault("sums-dotdot-inside-path", lambda c: edit_sums(c, sums_path("repos/../KEY.asc")), "SHA256SUMS"),
    Fault("sums-absolute-path", lambda c: edit_sums(c, sums_path("/etc/passwd")), "SHA256SUMS"),
    Fault("sums-lists-a-file-twice", lambda c: edit_sums(c, sums_twice), "SHA256SUMS"),
    Fault("sums-malformed-line", lambda c: edit_sums(c, sums_malformed), "SHA256SUMS"),
    Fault("sums-not-utf8", lambda c: append_resigned(c, "SHA256SUMS", b"\xff\xfe  \xff\n"), "SHA256SUMS"),
    Fault("sums-symlink-to-dev-zero", symlink_to("SHA256SUMS", "/dev/zero"), "SHA256SUMS", text=True),
    Fault("sums-sig-is-a-fifo", fifo_instead("SHA256SUMS.asc"), "SHA256SUMS.asc"),
    Fault("symlink-to-outside-copy", lambda c: replace_with_symlink_to_outside_copy(c, "README.txt"), "README.txt"),
    Fault("symlinked-repo-dir-outside", lambda c: replace_with_symlink_to_outside_copy(c, "repos/rpm/centos-7"),
          "repos/rpm/centos-7"),
    Fault("extra-symlink-to-etc", symlink_to("evil", "/etc/shadow"), "evil"),
    Fault("packages-symlink-to-dev-zero", symlink_to(f"{APT}/main/binary-amd64/Packages", "/dev/zero"),
          f"{APT}/main/binary-amd64/Packages", text=True),
    Fault("inrelease-is-a-fifo", fifo_instead(f"{APT}/InRelease"), f"{APT}/InRelease"),
    Fault("key-missing", lambda c: (c.bundle / "KEY.asc").unlink(), "KEY.asc"),
    Fault("key-holds-two-keys", two_keys, "KEY.asc"),
    Fault("key-holds-two-keys-resealed", two_keys_resealed, "KEY.asc"),
    Fault("key-not-a-key", write_resealed("KEY.asc", b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n"), "KEY.asc",
          text=True),
    Fault("key-symlink-outside", lambda c: replace_with_symlink_to_outside_copy(c, "KEY.asc"), "KEY.asc"),
    Fault("non-utf8-file-name", non_utf8_name, "\\xff\\xfe-extra.txt", text=True),
    # Issue 9: names are data, never markup or terminal control.
    Fault("name-closing-markup", extra_file("[/]"), "[/]", text=True),
    Fault("name-that-is-markup", extra_file("[green]OK[/]"), "[green]OK[/]", text=True),
    Fault("name-that-is-an-emoji-code", extra_file(":thumbs_up:"), ":thumbs_up:", text=True),
    Fault("name-with-terminal-escape", extra_file("\x1b[31mred"), "\\x1b[31mred", text=True),
    # Issue 9: bounded work.
    Fault("tree-1100-levels-deep", deep_tree, "deep/" + "/".join(["a"] * 31), text=True),
    Fault("sparse-64-gib-listed-file", sparse_instead("README.txt", 64 << 30), "README.txt"),
    Fault("sparse-64-gib-deb", sparse_instead("repos/deb/debian-12/pool/main/h/hello-service/"
                                             "hello-service_1.2.0-1_amd64.deb", 64 << 30),
          "repos/deb/debian-12/pool/main/h/hello-service/hello-service_1.2.0-1_amd64.deb"),
    Fault("packages-gz-bomb-signed", packages_gz_bomb, f"{APT}/{PACKAGES}.gz"),
    Fault("packages-xz-bomb-nothing-stated", packages_xz_bomb_nothing_stated, f"{APT}/{PACKAGES}.xz"),
    Fault("primary-gz-bomb-signed", primary_gz_bomb, f"{YUM}/repodata/primary.xml.gz"),
    # Issue 9: InRelease as apt reads it.
    Fault("inrelease-unsigned-text-before", inrelease_with(before=b"Origin: evil\nSuite: evil\n\n"),
          f"{APT}/InRelease"),
    Fault("inrelease-unsigned-text-after", inrelease_with(after=b"Packages-Extra: evil\n"), f"{APT}/InRelease"),
    Fault("inrelease-empty-line-after", inrelease_with(after=b"\n"), f"{APT}/InRelease"),
    Fault("inrelease-dash-armor-header", inrelease_with(replace=(b"Hash: SHA256\n", b"Hash: SHA256\n-Evil: 1\n")),
          f"{APT}/InRelease"),
]

# Arguments that are no bundle directory at all: exit 2, one line, no report.
NOT_A_DIRECTORY = {
    "the-tar": lambda c: c.bundle.parent / "hello-service-1.2.0.tar",
    "missing": lambda c: c.scratch / "no-such-bundle",
    "a-fifo": lambda c: (os.mkfifo(c.scratch / "fifo"), c.scratch / "fifo")[1],
}


# --- running verify --------------------------------------------------------------------

def _argv(bundle: Path, fingerprint: str, extra) -> list[str]:
    return [sys.executable, "-m", "pkgfactory", "verify", str(bundle), "--fingerprint", fingerprint, *extra]


# A strict UTF-8 stdout: a name that is not UTF-8 must not crash the report.
_ENV = {**os.environ, "LC_ALL": "C.UTF-8", "PYTHONIOENCODING": "utf-8:strict"}


def verify(bundle: Path, fingerprint: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(_argv(bundle, fingerprint, extra), capture_output=True, text=True, env=_ENV,
                          timeout=TIMEOUT, errors="replace")


def verify_runs(bundle: Path, fingerprint: str, text: bool) -> list[subprocess.CompletedProcess]:
    """The --json run, and with ``text`` the text run side by side (they only read the bundle)."""
    modes = (("--json",), ()) if text else (("--json",),)
    procs = [subprocess.Popen(_argv(bundle, fingerprint, extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=_ENV, errors="replace") for extra in modes]
    done = []
    try:
        for p in procs:
            out, err = p.communicate(timeout=TIMEOUT)
            done.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return done


def judge(ctx: Ctx, fault: Fault, fingerprint: str) -> str | None:
    """Apply ``fault`` to ctx.bundle and run verify both ways; None when it is refused properly."""
    fault.apply(ctx)
    try:
        runs = verify_runs(ctx.bundle, fingerprint, fault.text)
    except subprocess.TimeoutExpired:
        return f"verify still running after {TIMEOUT}s"
    as_json, text = runs[0], runs[1] if fault.text else None
    for p in runs:
        if "Traceback" in p.stdout + p.stderr or "internal error" in p.stderr:
            return f"crashed: {p.stderr.strip()[-300:]}"
        if p.returncode != 1:
            return f"exit {p.returncode}, not 1: {p.stderr.strip()[-300:]}"
    try:
        doc = json.loads(as_json.stdout)
    except ValueError as e:
        return f"--json output is not JSON ({e})"
    files = {p["file"] for p in doc["problems"]}
    if doc["ok"] or fault.file not in files:
        return f"{fault.file} not named; problems: {sorted(files)[:8]}"
    if text and (f"FAIL {fault.file}:" not in text.stdout or "NOT VERIFIED" not in text.stdout):
        return f"text report does not name {fault.file}"
    return None


def make_bundle(root: Path) -> tuple[Path, Path, str]:
    """(bundle, key home, fingerprint): a real bundle for TARGETS, made by the CLI."""
    project = copy_example(root / "project", build_hello(root / "bins"))
    key = make_key(root / "keys")
    args = [sys.executable, "-m", "pkgfactory", "bundle", "-c", str(project), "-o", str(root / "out"),
            "--keys-dir", str(key.home), "--arch", "x86_64", "--json"]
    for t in TARGETS:
        args += ["--target", t]
    p = subprocess.run(args, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr + p.stdout
    return Path(json.loads(p.stdout)["bundle"]), key.home, key.fingerprint


def other_key(root: Path) -> Path:
    return make_key(root / "other-key", name="someone else", email="else@example.com").home


@pytest.fixture(scope="module")
def made(tmp_path_factory, container_engine):
    assert subprocess.run([sys.executable, "-m", "pkgfactory", "builder", "create"],
                          capture_output=True).returncode == 0
    root = tmp_path_factory.mktemp("vf")
    bundle, home, fpr = make_bundle(root)
    other = other_key(root)
    yield bundle, home, other, fpr
    for h in (home, other):
        kill_agent(h)


@pytest.fixture
def ctx(made, tmp_path):
    bundle, home, other, fpr = made
    dest = tmp_path / "b" / bundle.name
    shutil.copytree(bundle, dest, symlinks=True)
    shutil.copyfile(bundle.parent / f"{bundle.name}.tar", dest.parent / f"{bundle.name}.tar")
    (tmp_path / "scratch").mkdir()
    yield Ctx(dest, home, other, tmp_path / "scratch"), fpr
    # rm, not shutil.rmtree: a tree 1100 levels deep is past Python's recursion limit.
    subprocess.run(["rm", "-rf", str(tmp_path / "b")])


pytestmark = pytest.mark.container


def test_the_pristine_copy_verifies(ctx):
    c, fpr = ctx
    p = verify(c.bundle, fpr, "--json")
    assert p.returncode == 0, p.stdout + p.stderr
    assert json.loads(p.stdout)["ok"]


def test_table_is_large_enough():
    assert len(FAULTS) >= 30 and len({f.id for f in FAULTS}) == len(FAULTS)


@pytest.mark.parametrize("fault", FAULTS, ids=[f.id for f in FAULTS])
def test_fault_is_refused_naming_the_file(ctx, fault):
    c, fpr = ctx
    problem = judge(c, fault, fpr)
    assert problem is None, f"{fault.id}: {problem}"


@pytest.mark.parametrize("kind", sorted(NOT_A_DIRECTORY))
def test_not_a_directory_is_exit_2_in_one_line(ctx, kind):
    c, fpr = ctx
    arg = NOT_A_DIRECTORY[kind](c)
    for extra in ((), ("--json",)):
        p = verify(arg, fpr, *extra)
        assert p.returncode == 2, (kind, p.stdout, p.stderr)
        assert "Traceback" not in p.stderr, p.stderr
        # With --json the error is the whole of stdout, as JSON; without, stdout stays empty.
        assert (json.loads(p.stdout)["error"]["exit_code"] == 2) if extra else p.stdout == "", p.stdout
        # click's own usage error (a file given for BUNDLE) spends a few lines on usage; the error is the last.
        last = p.stderr.strip().splitlines()[-1]
        assert str(arg) in last and ("error" in last.lower()), p.stderr


def test_new_cases_are_counted():
    """Issue 9's verify cases are in the table bench/reliability.py counts."""
    ids = {f.id for f in FAULTS}
    assert {"name-closing-markup", "tree-1100-levels-deep", "sparse-64-gib-listed-file", "packages-gz-bomb-signed",
            "primary-gz-bomb-signed", "inrelease-unsigned-text-before", "inrelease-unsigned-text-after"} <= ids


@pytest.mark.parametrize("value", ["", " ", "0", "not-a-fingerprint", "A" * 39, "G" * 40, "A" * 41, "0x" + "A" * 40])
def test_empty_or_malformed_fingerprint_is_bad_input(ctx, value):
    """--fingerprint "" is what an unset variable in an auditor's script gives: exit 2, never a pass."""
    c, _ = ctx
    for extra in ((), ("--json",)):
        p = verify(c.bundle, value, *extra)
        assert p.returncode == 2, (value, p.stdout, p.stderr)
        assert len(p.stderr.strip().splitlines()) == 1 and "--fingerprint" in p.stderr
        if extra:
            # With --json the refusal is a JSON error on stdout as well, never a report.
            err = json.loads(p.stdout)["error"]
            assert err["code"] == "bad-input" and err["exit_code"] == 2 and "--fingerprint" in err["message"]
        else:
            assert p.stdout == ""


def test_spaces_and_case_in_a_fingerprint_are_fine(ctx):
    c, fpr = ctx
    spaced = " ".join(fpr[i:i + 4] for i in range(0, len(fpr), 4)).lower()
    assert verify(c.bundle, spaced, "--json").returncode == 0


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pkgfactory", "verify", *args], capture_output=True, text=True,
                          env=_ENV, timeout=TIMEOUT)


def test_without_fingerprint_the_origin_is_not_established(ctx):
    c, fpr = ctx
    p = _run(str(c.bundle), "--json")
    assert p.returncode == 3, p.stdout + p.stderr
    doc = json.loads(p.stdout)
    assert doc["consistent"] and not doc["ok"] and doc["origin"] == "not established" and doc["fingerprint"] == fpr
    p = _run(str(c.bundle))
    assert p.returncode == 3 and "ORIGIN NOT ESTABLISHED" in p.stdout and "OK " not in p.stdout, p.stdout
    p = _run(str(c.bundle), "--accept-bundled-key", "--json")
    assert p.returncode == 0 and json.loads(p.stdout)["origin"] == "bundled key accepted", p.stdout
    p = _run(str(c.bundle), "--accept-bundled-key", "--fingerprint", fpr)
    assert p.returncode == 2 and "give one" in p.stderr
    # A tampered bundle is exit 1 whatever the origin.
    (c.bundle / "README.txt").write_text("changed\n")
    assert _run(str(c.bundle), "--accept-bundled-key").returncode == 1
    assert _run(str(c.bundle)).returncode == 1
