"""reports/index.html: made by a real bundle (native builder), read as HTML and rendered in headless Chromium.

The project names hostile text everywhere the page shows project data; the
page must show it as text (no element, attribute or script from it), list
itself in SHA256SUMS and the manifest, and pass `pkgfactory verify`.
"""

from __future__ import annotations

import datetime
import html.parser
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from fixtures_go import run_cli
from hello_example import toml
from pkgfactory.bundle.page import verdict_cells
from pkgfactory.errors import InputError
from pkgfactory.render import environment, render
from signing_helpers import kill_agent, make_key

SUMMARY = '<script>alert("summary")</script>'
VENDOR = 'Evil & Co <img src=x onerror=alert(1)> "quoted" \'single\''
MAINTAINER = 'O\'Brien "&amp; Sons" &#60;b&#62; <ob@example.com>'  # entities must stay entities
DESCRIPTION = '</dd></dl><h1 id="injected">injected</h1>\n<!-- open comment <style>body{display:none}</style>'
SCREENSHOT_DIR = Path(__file__).resolve().parent.parent / "output" / "screenshots"


def project_data(bins) -> dict:
    return {
        "package": {"name": "pagedemo", "version": "2.1.0", "summary": SUMMARY, "description": DESCRIPTION,
                    "license": "Apache-2.0", "maintainer": MAINTAINER, "vendor": VENDOR},
        "build": {"targets": ["centos-7", "debian-12"]},
        "binary": [{"dest": "/usr/bin/pagedemo", "source": {"x86_64": "bin/pagedemo"}},
                   {"dest": "/usr/bin/pagedemo-fast", "source": {"x86_64": "bin/pagedemo-fast"}}],
        "kernel": {"modules": ["overlay", "br_netfilter"], "min": "3.10"},
        "changelog": [{"version": "2.1.0-1", "date": datetime.date(2025, 3, 4), "changes": ["Release."]}],
    }


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, go_binaries):
    root = tmp_path_factory.mktemp("page")
    project = root / "project"
    (project / "bin").mkdir(parents=True)
    shutil.copy(go_binaries["static"], project / "bin" / "pagedemo")
    shutil.copy(go_binaries["goamd64-v3"], project / "bin" / "pagedemo-fast")  # ⚠ cpu-level on both targets
    (project / "pkgfactory.toml").write_text(toml(project_data(go_binaries)))
    key = make_key(root / "keys")
    r = run_cli("bundle", "-c", project / "pkgfactory.toml", "-o", root / "out", "--keys-dir", key.home, "--builder", "native", "--json")
    kill_agent(key.home)
    assert r.code == 0, r.err + r.out
    return Path(json.loads(r.out)["bundle"]), key


class _Elements(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text, self.attrs = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs

    def handle_comment(self, data):
        self.tags.append("<!--")

    def handle_data(self, data):
        self.text.append(data)


def test_page_is_listed_signed_and_verified(bundle):
    path, key = bundle
    page = path / "reports" / "index.html"
    assert page.is_file()
    sums = (path / "SHA256SUMS").read_text()
    assert "  reports/index.html\n" in sums
    manifest = json.loads((path / "manifest.json").read_text())
    assert "reports/index.html" in {f["path"] for f in manifest["files"]}
    r = run_cli("verify", path, "--fingerprint", key.fingerprint, "--json")
    assert r.code == 0, r.out


def test_hostile_project_text_stays_text(bundle):
    path, key = bundle
    text = (path / "reports" / "index.html").read_text()
    parsed = _Elements()
    parsed.feed(text)
    # The template's own elements only: nothing the project file wrote became markup.
    assert "script" not in parsed.tags and "img" not in parsed.tags and "<!--" not in parsed.tags
    assert parsed.tags.count("h1") == 1
    assert not any(name.startswith("on") for name, _ in parsed.attrs)
    assert not [v for _, v in parsed.attrs if v and "injected" in v]
    shown = "".join(parsed.text)
    for hostile in (SUMMARY, VENDOR, MAINTAINER):
        assert hostile in shown
    assert "<h1 id=\"injected\">injected</h1>" in shown
    assert "&lt;script&gt;" in text and "<script" not in text


def test_page_states_what_the_bundle_holds(bundle):
    path, key = bundle
    text = (path / "reports" / "index.html").read_text()
    manifest = json.loads((path / "manifest.json").read_text())
    for p in manifest["packages"]:
        assert p["sha256"] in text and Path(p["path"]).name in text
    assert "v4 header signature + v3 header+payload signature" in text  # centos-7: rpm 4.11 needs v3
    assert "apt Release chain" in text and "repos/deb/debian-12/dists/debian-12/InRelease" in text
    assert "example.com/greet" in text and "example.com/local/shout" in text  # modules from the SBOM
    assert "br_netfilter" in text and "≥ 3.10" in text
    assert "cpu-level" in text and "⚠" in text
    parsed = _Elements()
    parsed.feed(text)
    # Nothing to fetch: no scripts, stylesheets, images or frames; links only to files of the bundle.
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(parsed.tags)
    assert not [n for n, _ in parsed.attrs if n == "src"]
    links = [v for n, v in parsed.attrs if n == "href"]
    assert links and all(":" not in v and not v.startswith("/") for v in links), links
    for link in links:
        assert (path / "reports" / link).resolve().is_file(), link
    # Binaries supplied built: no compile section.
    assert 'id="compiled"' not in (path / "reports" / "index.html").read_text()


def _chromium(*args, tmp_path: Path) -> subprocess.CompletedProcess:
    profile = tmp_path / "chromium-profile"
    profile.mkdir(parents=True)
    return subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=180)


def _screenshot_facts(png: Path) -> tuple[tuple[int, int], int, float]:
    """(size, distinct colours, share of pixels that are not the background)."""
    with Image.open(png) as im:
        rgb = im.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 24)
        background = max(colours)[1]
        inked = sum(n for n, c in colours if c != background)
        return rgb.size, len(colours), inked / (rgb.size[0] * rgb.size[1])


def test_chromium_renders_the_page(bundle, tmp_path):
    path, key = bundle
    page = path / "reports" / "index.html"
    dom = _chromium("--dump-dom", page.as_uri(), tmp_path=tmp_path / "a")
    assert dom.returncode == 0, dom.stderr[-2000:]
    grouped = " ".join(key.fingerprint[i:i + 4] for i in range(0, len(key.fingerprint), 4))
    assert grouped in dom.stdout and key.fingerprint in dom.stdout
    assert "<script" not in dom.stdout  # the DOM Chromium built: no element came from the summary
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOT_DIR / "bundle-index.png"
    shot.unlink(missing_ok=True)
    r = _chromium(f"--screenshot={shot}", "--window-size=1280,2400", "--hide-scrollbars", page.as_uri(),
                  tmp_path=tmp_path / "b")
    assert r.returncode == 0 and shot.is_file(), r.stderr[-2000:]
    size, colours, inked = _screenshot_facts(shot)
    assert size == (1280, 2400)
    # Text, marks and table shading, not one flat colour: a blank page has 1 colour and 0 ink.
    assert colours > 50 and inked > 0.05, (colours, inked)
    pdf = tmp_path / "page.pdf"
    r = _chromium(f"--print-to-pdf={pdf}", "--no-pdf-header-footer", page.as_uri(), tmp_path=tmp_path / "c")
    assert r.returncode == 0 and pdf.read_bytes().startswith(b"%PDF"), r.stderr[-2000:]


# --- unit: the matrix cells and the template's escaping rules ---------------------------


class _R:
    def __init__(self, target, arch, checks, waivers=(), status="built"):
        self.target, self.arch, self.checks, self.waivers, self.status = target, arch, checks, list(waivers), status

    @property
    def ok(self):
        return self.status == "built"


def _check(binary, *findings):
    return {"binary": binary, "findings": [{"code": c, "severity": s, "message": "m"} for c, s in findings]}


def test_verdict_cells_take_the_worst_binary_and_honour_waivers():
    cells = verdict_cells([
        _R("t1", "x86_64", [_check("/a"), _check("/b")]),
        _R("t2", "x86_64", [_check("/a", ("cpu-level", "warning")), _check("/b")]),
        _R("t3", "x86_64", [_check("/a", ("glibc-too-new", "error"))],
           waivers=[{"binary": "/a", "code": "glibc-too-new", "reason": "r", "message": "m"}]),
        _R("t4", "x86_64", [_check("/a", ("glibc-too-new", "error")), _check("/b", ("cpu-level", "warning"))],
           status="check-failed"),
        _R("t5", "x86_64", [_check("/a")], status="build-failed"),
    ])
    assert [cells[(t, "x86_64")]["mark"] for t in ("t1", "t2", "t3", "t4", "t5")] == \
        ["ok", "warn", "warn", "fail", "fail"]
    assert cells[("t3", "x86_64")]["binaries"][0]["codes"] == [{"code": "glibc-too-new", "level": "warn",
                                                                "waived": True}]
    assert [b["mark"] for b in cells[("t4", "x86_64")]["binaries"]] == ["fail", "warn"]


def test_an_override_template_is_used_and_must_escape(tmp_path):
    (tmp_path / "bundle").mkdir()
    override = tmp_path / "bundle" / "index.html.j2"
    override.write_text("<p>{{ product.name|html }}</p>\n")
    env = environment(tmp_path, origin="p.toml: key 'build.templates'")
    assert render(env, "bundle/index.html.j2", {"product": {"name": "<b>x</b>"}}) == "<p>&lt;b&gt;x&lt;/b&gt;</p>\n"
    override.write_text("<p>{{ product.name }}</p>\n")
    with pytest.raises(InputError, match="without an escaping filter"):
        render(environment(tmp_path, origin="p.toml: key 'build.templates'"), "bundle/index.html.j2",
               {"product": {"name": "<b>x</b>"}})
    override.write_text("<p>{{ product.name|sh }}</p>\n")
    with pytest.raises(InputError, match="escaped for 'sh' printed in a html file"):
        render(environment(tmp_path, origin="p.toml: key 'build.templates'"), "bundle/index.html.j2",
               {"product": {"name": "x"}})
