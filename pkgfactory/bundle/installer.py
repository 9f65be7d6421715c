"""The bundle's ``install.sh``: rendered from ``templates/bundle/install.sh.j2``, which
assembles one partial per job from ``templates/bundle/install/`` into the one file.

``render_installer(bundle_meta)`` checks ``bundle_meta`` against the schema
below and renders the script. Every value reaches the script through the
``sh`` filter (single-quoted, one line; the environment's ``finalize``
refuses anything printed without it), so text from a user's project file —
quotes, ``$(...)``, backticks, spaces — stays inert data.

``bundle_meta`` (a plain dict; unknown keys are refused, so typos show)::

    {
      "name": str,              # the project/package-set name, shown to the user;
                                # one line. File names use its slug (characters
                                # outside [A-Za-z0-9._-] become '_', at most 100):
                                # /etc/apt/sources.list.d/pkgfactory-<slug>.list,
                                # /etc/yum.repos.d/pkgfactory-<slug>.repo (repo id
                                # pkgfactory-<slug>), /var/log/pkgfactory-install-<slug>.log
      "version": str,           # shown to the user; one line
      "evr": str,               # what every package of "packages" is, exactly:
                                # [epoch:]version-release as dpkg and rpm compare it
                                # (pkgfactory.project.model.Package.evr); install.sh
                                # compares the installed version with it and
                                # installs exactly it
      "packages": [str, ...],   # package names to install / uninstall, non-empty,
                                # each ^[A-Za-z0-9][A-Za-z0-9._+-]*$
      "fingerprint": str,       # the signing key's primary fingerprint, 40 (v4) or
                                # 64 (v5) hex digits; spaces allowed, case ignored
      "kernel": {"min": str | None, "max": str | None},
                                # the project's kernel range, ^[0-9]+([.-][0-9]+)*$;
                                # min inclusive; max inclusive on the components it
                                # gives ("5.10" admits 5.10.200); None = no bound
      "kernel_modules": [str, ...],   # required modules, ^[A-Za-z0-9_-]+$ ('-' == '_')
      "targets": [              # non-empty, in preference order (the first target
        {                       # whose identify patterns match wins)
          "id": str,            # profile id, ^[A-Za-z0-9][A-Za-z0-9._-]*$; names the
                                # repos/rpm/<id>/<arch>/ or repos/deb/<id>/ directory
          "name": str,          # profile name, shown to the user; one line
          "family": "rpm" | "deb",
          "suite": str | None,  # deb: the apt suite (dists/<suite>/), required,
                                # ^[A-Za-z0-9][A-Za-z0-9._-]*$; rpm: None
          "glibc": str,         # the target's glibc floor, e.g. "2.28"
          "identify": {key: [glob, ...]},
                                # the profile's [identify]: os-release keys
                                # (^[a-z][a-z0-9_]*$, "id" required) -> globs, as
                                # Profile.matches_os_release reads them; globs must
                                # not hold '\\' or '[^' (sh and fnmatch differ there)
          "arches": [           # non-empty
            {"name": str,       # our arch name (pkgfactory.targets.KNOWN_ARCHES),
                                # names repos/rpm/<id>/<name>/
             "deb_arch": str | None,  # dpkg's name (amd64, arm64, loongarch64 on
                                # old-world LoongArch, ...); required for deb
             "glibc": str | None,     # per-arch glibc floor; None = the target's
             "binaries": [      # optional: the bundled binaries for this arch and
               {"path": str,    # the glibc each needs (inspect's glibc_max; None:
                "glibc": str | None},  # static, or no versioned glibc symbol);
             ],                 # install.sh requires the highest of these (none if
                                # all are None); left out, it requires the floor
             "prebuilt": bool}, # optional (False): the package for this arch was
                                # supplied already built (bundle --prebuilt), e.g.
                                # signed by UnionTech, so a signature policy decides
                                # on it rather than install.sh refusing beforehand
          ],
          "policy": {key: value},  # optional ({}): the profile's [policy], each
                                # pair one of pkgfactory/data/policies.toml; the
                                # preflight (install/policy.sh.j2) checks each
        },
      ],
    }

``target_meta(profile, arches, suite=None, binaries=None)`` makes a target entry from a
:class:`pkgfactory.targets.Profile` (``binaries``: arch -> [(path, glibc_max)]).

The script trusts one thing it carries itself, the fingerprint: the bundle's
SHA256SUMS.asc must be a good signature by that key (checked against KEY.gpg
and KEY.asc each), then every file must match SHA256SUMS and every file but
SHA256SUMS and SHA256SUMS.asc must be listed in it. docs/install.md describes
the script's options, checks and exit codes.
"""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache

from jinja2.exceptions import TemplateRuntimeError

from pkgfactory.errors import InputError
from pkgfactory.project.rules import FULL_VERSION
from pkgfactory.render.env import environment, render
from pkgfactory.render.escape import _one_line
from pkgfactory.targets import DATA_DIR, FAMILIES, KNOWN_ARCHES, policies

TEMPLATE = "bundle/install.sh.j2"

_PACKAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
_MODULE = re.compile(r"^[A-Za-z0-9_-]+$")
_KERNEL = re.compile(r"^[0-9]+(?:[.-][0-9]+)*$")
_GLIBC = re.compile(r"^[0-9]+(?:\.[0-9]+)*$")
_DEB_ARCH = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_FPR = re.compile(r"^(?:[0-9A-F]{40}|[0-9A-F]{64})$")

_TOP_KEYS = {"name", "version", "evr", "packages", "fingerprint", "kernel", "kernel_modules", "targets"}
_TARGET_KEYS = {"id", "name", "family", "suite", "glibc", "identify", "arches", "policy"}
_ARCH_KEYS = {"name", "deb_arch", "glibc", "prebuilt", "binaries"}
_BINARY_KEYS = {"path", "glibc"}


@lru_cache(maxsize=1)
def exit_codes() -> tuple[dict, ...]:
    """install.sh's exit codes, in order: code, name (EX_<name>; none for signal exits), en, zh."""
    with open(DATA_DIR / "install_exit_codes.toml", "rb") as f:
        return tuple({"name": "", **e} for e in tomllib.load(f)["code"])


def exit_code_names() -> dict[str, int]:
    """NAME -> code, for text that names one code (README.txt: "exit {{ ex.POLICY }}")."""
    return {e["name"]: e["code"] for e in exit_codes() if e["name"]}


def slug(name: str) -> str:
    """The bundle name as it appears in file names and the yum repo id."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:100]


def render_installer(bundle_meta: dict) -> str:
    """The bundle's install.sh for ``bundle_meta`` (schema in the module docstring).

    Raises InputError, naming the key, when ``bundle_meta`` does not fit.
    """
    env = environment()
    return render(env, TEMPLATE, _context(bundle_meta))


def target_meta(profile, arches, suite: str | None = None, prebuilt=(), binaries: dict | None = None) -> dict:
    """The ``targets`` entry for ``profile`` built for ``arches`` (our arch names).

    ``suite`` defaults to the profile id for deb targets (the bundle's apt
    repository is laid out with the target id as suite). ``prebuilt``: the
    arches whose package was supplied already built. ``binaries`` maps an arch
    to the (installed path, glibc_max) of each binary built for it; an arch it
    leaves out is held to the target's glibc floor.
    """
    entries = []
    for a in arches:
        if a not in profile.arches:
            raise InputError(f"target {profile.id} has no arch {a} (it has: {', '.join(profile.arches)})")
        glibc = profile.glibc_for(a)
        entry = {
            "name": a,
            "deb_arch": profile.dpkg_arch(a) if profile.family == "deb" else None,
            "glibc": glibc if glibc != profile.glibc else None,
            "prebuilt": a in prebuilt,
        }
        if binaries is not None and a in binaries:
            entry["binaries"] = [{"path": path, "glibc": need} for path, need in binaries[a]]
        entries.append(entry)
    return {
        "id": profile.id,
        "name": profile.name,
        "family": profile.family,
        "suite": (suite or profile.id) if profile.family == "deb" else None,
        "glibc": profile.glibc,
        "identify": {k: list(v) for k, v in profile.identify.items()},
        "arches": entries,
        "policy": dict(profile.policy),
    }


# --- validation -------------------------------------------------------------------

def _fail(where: str, problem: str):
    raise InputError(f"bundle_meta: {where}: {problem}")


def _keys(d, allowed: set[str], required: set[str], where: str) -> dict:
    if not isinstance(d, dict):
        _fail(where, "must be a mapping")
    unknown = sorted(set(d) - allowed)
    if unknown:
        _fail(where, f"unknown key(s) {', '.join(map(repr, unknown))}")
    missing = sorted(required - set(d))
    if missing:
        _fail(where, f"missing key(s) {', '.join(map(repr, missing))}")
    return d


def _text(value, where: str) -> str:
    if not isinstance(value, str):
        _fail(where, "must be a string")
    try:
        text = _one_line(value, "sh")
    except TemplateRuntimeError as e:  # control characters, line breaks
        _fail(where, str(e))
    if not text.strip():
        _fail(where, "must not be empty")
    return text


def _match(value, pattern: re.Pattern, where: str, what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        _fail(where, f"{value!r} is not {what}")
    return value


def _list(value, where: str, *, empty: bool = False) -> list:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        _fail(where, "must be a list")
    if not value and not empty:
        _fail(where, "must not be empty")
    return list(value)


def _kernel_parts(v: str) -> list[int]:
    return [int(x) for x in re.split(r"[.-]", v)]


def _identify(value, where: str) -> list[tuple[str, str, list[str]]]:
    if not isinstance(value, dict) or not value:
        _fail(where, "must be a non-empty mapping of os-release key to globs")
    out = []
    for key, pats in value.items():
        w = f"{where}.{key}"
        key = _match(key, _KEY, w, "an os-release key (lower case)")
        if isinstance(pats, str):
            pats = [pats]
        pats = _list(pats, w)
        # The same case folding as Profile.matches_os_release: ID and ID_LIKE ignore case.
        mode = {"id": "fold", "id_like": "words"}.get(key, "exact")
        clean = []
        for i, p in enumerate(pats):
            p = _text(p, f"{w}[{i}]")
            if "\\" in p or "[^" in p:
                _fail(f"{w}[{i}]", f"{p!r}: '\\' and '[^' mean different things to sh and fnmatch")
            clean.append(p.lower() if mode != "exact" else p)
        out.append((key.upper(), mode, clean))
    if "ID" not in [k for k, _, _ in out]:
        _fail(where, "missing key 'id'")
    return out


def _glibc_need(binaries, floor: str, where: str) -> tuple[str, str]:
    """(the glibc install.sh requires, the binary that needs it): the floor when the
    binaries are not known, nothing when none of them needs glibc (static)."""
    if binaries is None:
        return floor, ""
    need, need_by = "", ""
    for i, b in enumerate(_list(binaries, f"{where}.binaries", empty=True)):
        w = f"{where}.binaries[{i}]"
        _keys(b, _BINARY_KEYS, _BINARY_KEYS, w)
        path = _text(b["path"], f"{w}.path")
        if b["glibc"] is None:
            continue
        v = _match(b["glibc"], _GLIBC, f"{w}.glibc", "a glibc version")
        if not need or _kernel_parts(v) > _kernel_parts(need):
            need, need_by = v, path
    return need, need_by


def _policy(value, family: str, where: str) -> str:
    """The target's policies as install.sh reads them: "key=value ..." words."""
    if not isinstance(value, dict):
        _fail(where, "must be a mapping of policy key to value")
    try:
        return " ".join(policies.lookup(k, v, family, where).word for k, v in sorted(value.items()))
    except InputError as e:
        raise InputError(f"bundle_meta: {e}") from None


def _target(t, where: str) -> dict:
    _keys(t, _TARGET_KEYS, _TARGET_KEYS - {"suite"}, where)
    tid = _match(t["id"], _ID, f"{where}.id", "a target id")
    family = t["family"]
    if family not in FAMILIES:
        _fail(f"{where}.family", f"must be one of {', '.join(FAMILIES)}")
    suite = t.get("suite")
    if family == "deb":
        suite = _match(suite, _ID, f"{where}.suite", "an apt suite name")
    elif suite is not None:
        _fail(f"{where}.suite", "rpm targets have no suite")
    glibc = _match(t["glibc"], _GLIBC, f"{where}.glibc", "a glibc version")
    arches = []
    seen = set()
    for i, a in enumerate(_list(t["arches"], f"{where}.arches")):
        w = f"{where}.arches[{i}]"
        _keys(a, _ARCH_KEYS, {"name"}, w)
        name = a["name"]
        if name not in KNOWN_ARCHES:
            _fail(f"{w}.name", f"{name!r} is not one of {', '.join(KNOWN_ARCHES)}")
        if name in seen:
            _fail(f"{w}.name", f"{name} is listed twice")
        seen.add(name)
        deb = a.get("deb_arch")
        if family == "deb":
            deb = _match(deb, _DEB_ARCH, f"{w}.deb_arch", "a dpkg architecture name")
        elif deb is not None:
            _fail(f"{w}.deb_arch", "rpm targets have no dpkg architecture")
        ag = a.get("glibc")
        ag = glibc if ag is None else _match(ag, _GLIBC, f"{w}.glibc", "a glibc version")
        prebuilt = a.get("prebuilt", False)
        if not isinstance(prebuilt, bool):
            _fail(f"{w}.prebuilt", "must be true or false")
        need, need_by = _glibc_need(a.get("binaries"), ag, w)
        arches.append({"name": name, "deb_arch": deb or "", "glibc": ag, "prebuilt": "1" if prebuilt else "",
                       "need": need, "need_by": need_by})
    return {
        "id": tid,
        "policy": _policy(t.get("policy", {}), family, f"{where}.policy"),
        "name": _text(t["name"], f"{where}.name"),
        "family": family,
        "suite": suite or "",
        "glibc": glibc,
        "identify": _identify(t["identify"], f"{where}.identify"),
        "arches": arches,
        "arch_names": [a["name"] for a in arches],
    }


def _context(meta) -> dict:
    _keys(meta, _TOP_KEYS, _TOP_KEYS, "bundle_meta")
    name = _text(meta["name"], "name")
    packages = []
    for i, p in enumerate(_list(meta["packages"], "packages")):
        packages.append(_match(p, _PACKAGE, f"packages[{i}]", "a package name"))

    fpr = meta["fingerprint"]
    if not isinstance(fpr, str):
        _fail("fingerprint", "must be a string")
    fpr = "".join(fpr.split()).upper()
    _match(fpr, _FPR, "fingerprint", "a 40- or 64-digit hex fingerprint")

    kernel = _keys(meta["kernel"], {"min", "max"}, {"min", "max"}, "kernel")
    bounds = {}
    for k in ("min", "max"):
        v = kernel[k]
        bounds[k] = "" if v is None else _match(v, _KERNEL, f"kernel.{k}", "a kernel version like 4.19 or 3.10.0-1160")
    if bounds["min"] and bounds["max"]:
        lo, hi = _kernel_parts(bounds["min"]), _kernel_parts(bounds["max"])
        if lo[:len(hi)] > hi:
            _fail("kernel", f"min {bounds['min']} is above max {bounds['max']}")

    modules = []
    for i, m in enumerate(_list(meta["kernel_modules"], "kernel_modules", empty=True)):
        modules.append(_match(m, _MODULE, f"kernel_modules[{i}]", "a kernel module name"))

    targets = []
    for i, t in enumerate(_list(meta["targets"], "targets")):
        targets.append(_target(t, f"targets[{i}]"))
    ids = [t["id"] for t in targets]
    dup = sorted({x for x in ids if ids.count(x) > 1})
    if dup:
        _fail("targets", f"target(s) listed twice: {', '.join(dup)}")

    s = slug(name)
    return {
        "name": name,
        "version": _text(meta["version"], "version"),
        "evr": _match(meta["evr"], FULL_VERSION, "evr", "[epoch:]version-release"),
        "slug": s,
        "repo_id": f"pkgfactory-{s}",
        "packages": packages,
        "fingerprint": fpr,
        "kernel_min": bounds["min"],
        "kernel_max": bounds["max"],
        "kernel_modules": modules,
        "target_ids": ids,
        "targets": targets,
        "exit_codes": exit_codes(),
        # By name, for the one exit that runs before the EX_ variables exist (textmode.sh.j2).
        "ex": exit_code_names(),
    }
