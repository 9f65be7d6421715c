"""Hints hold for an installed wheel: no message points at a file only a clone of pkgfactory has."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from hello_example import REPO

# Top-level directories of the repository that a wheel does not carry (pyproject package-data).
CLONE_ONLY = re.compile(r"\b(scripts|docs|tests|examples|bench|shared|\.ci)/")
PACKAGE = REPO / "pkgfactory"
# pkgfactory's own clone-only files, as a generated file might name them (a user's "docs/*.md" is fine).
PKGF_FILE = re.compile(r"\b(docs/[\w-]+\.md|scripts/[\w-]+\.(sh|txt)|shared/research)\b")


def _message_strings(tree: ast.AST):
    """String parts of what is raised or printed: exceptions, click.echo, console prints, warnings."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            parts = [node.exc]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "echo", "print", "warn", "fail", "error", "secho"):
            parts = node.args
        elif isinstance(node, ast.Call):
            parts = [k.value for k in node.keywords if k.arg == "help"]  # click's --help texts
        else:
            continue
        for part in parts:
            for sub in ast.walk(part):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                    yield sub.lineno, sub.value


def test_no_message_names_a_file_only_a_clone_has():
    found = []
    for py in sorted(PACKAGE.rglob("*.py")):
        for line, text in _message_strings(ast.parse(py.read_text())):
            if CLONE_ONLY.search(text):
                found.append(f"{py.relative_to(REPO)}:{line}: {text!r}")
    assert not found, "\n".join(found)


def test_files_pkgfactory_writes_for_the_user_name_nothing_only_a_clone_has():
    """`pkgfactory init` writes a project file whose comments the user reads, wherever pkgfactory came from."""
    found = []
    for py in sorted((PACKAGE / "init").rglob("*.py")):
        for node in ast.walk(ast.parse(py.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and PKGF_FILE.search(node.value):
                if not isinstance(getattr(node, "parent", None), ast.Expr):
                    found.append(f"{py.relative_to(REPO)}:{node.lineno}: {node.value[:80]!r}")
    docstrings = {n.body[0].value.lineno for py in (PACKAGE / "init").rglob("*.py")
                  for n in ast.walk(ast.parse(py.read_text()))
                  if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef)) and n.body
                  and isinstance(n.body[0], ast.Expr) and isinstance(getattr(n.body[0], "value", None), ast.Constant)}
    found = [f for f in found if int(f.split(":")[1]) not in docstrings]
    assert not found, "\n".join(found)


def test_bundle_files_name_nothing_only_a_clone_has():
    """install.sh and README.txt travel on the USB stick, far from any clone."""
    for tpl in sorted((REPO / "templates" / "bundle").rglob("*.j2")):
        for n, line in enumerate(tpl.read_text().splitlines(), 1):
            assert not CLONE_ONLY.search(line), f"{tpl.relative_to(REPO)}:{n}: {line}"


def _missing_gpg(pythonpath: Path, tmp_path: Path) -> str:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    env = {"PATH": str(bin_dir), "PYTHONPATH": str(pythonpath), "HOME": str(tmp_path)}
    (tmp_path / "keys").mkdir(mode=0o700, exist_ok=True)
    p = subprocess.run([sys.executable, "-m", "pkgfactory", "keys", "list", "--keys-dir", str(tmp_path / "keys")],
                       capture_output=True, text=True, env=env, cwd=tmp_path)
    assert p.returncode != 0 and len(p.stderr.strip().splitlines()) == 1, p.stderr
    return p.stderr


def test_a_missing_tool_names_the_debian_package_and_the_setup_script_only_in_a_clone(tmp_path):
    # As installed from a wheel: the package alone, nothing of the repository around it.
    site = tmp_path / "site"
    shutil.copytree(PACKAGE, site / "pkgfactory", symlinks=False,
                    ignore=shutil.ignore_patterns("__pycache__"))
    err = _missing_gpg(site, tmp_path / "wheel")
    assert err.rstrip().endswith(": install the Debian package gnupg (apt-get install gnupg)"), err
    assert "setup.sh" not in err and not CLONE_ONLY.search(err), err
    # From the clone, the setup script is named too, by its full path.
    err = _missing_gpg(REPO, tmp_path / "clone")
    assert f"in this clone, bash {REPO / 'scripts' / 'setup.sh'} installs every tool" in err, err
    assert os.path.isfile(REPO / "scripts" / "setup.sh")


def test_every_tool_pkgfactory_runs_has_a_package_named():
    import tomllib

    known = tomllib.loads((PACKAGE / "data" / "tool_packages.toml").read_text())
    names = set(known["debian"]) | set(known["pypi"])
    called = set()
    for py in PACKAGE.rglob("*.py"):
        text = py.read_text()
        called |= set(re.findall(r'(?:run\(\[|argv = \[)\s*"([a-z][a-z0-9_.-]*)"', text))
        called |= set(re.findall(r'find_tool\(\s*"([a-z][a-z0-9_.-]*)"', text))
    for cls_tools in re.findall(r'tools = \(([^)]*)\)', "".join(p.read_text() for p in PACKAGE.rglob("*.py"))):
        called |= set(re.findall(r'"([^"]+)"', cls_tools))
    assert {"rpmbuild", "createrepo_c", "gpg", "apt-ftparchive", "dpkg-buildpackage"} <= called
    assert called - {"sh"} <= names, called - names - {"sh"}
