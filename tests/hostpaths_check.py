"""What a delivered bundle must not name: places on the build machine (issue 9, "Bundle contents").

Plain functions for the bundle tests: each gives the directories of its own run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The JSON a bundle carries, and its report page.
DELIVERED_JSON = ("manifest.json", "reports/build-report.json", "reports/check-report.json")
PAGE = "reports/index.html"


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def host_places(*dirs: Path) -> list[str]:
    """The run's own directories (as given and resolved), the checkout, the interpreter's prefix
    (where the toolchains live), and the usual homes of temporary and cache files."""
    places = {str(REPO), sys.prefix, "/tmp/", "/root", str(Path.home())}
    for d in dirs:
        places |= {str(d), str(Path(d).resolve())}
    return sorted(places)


def leaks(bundle: Path, places: list[str]) -> dict[str, list[str]]:
    """Every string of the delivered JSON, and every place in the page, that names one of ``places``."""
    found = {}
    for name in DELIVERED_JSON:
        doc = json.loads((bundle / name).read_text())
        bad = [s for s in _strings(doc) if any(p in s for p in places)]
        if bad:
            found[name] = bad
    page = (bundle / PAGE).read_text()
    bad = [p for p in places if p in page]
    if bad:
        found[PAGE] = bad
    return found
