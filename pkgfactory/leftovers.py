"""What killed runs leave in an output directory, removed by the next run under the output lock.

Under the lock no other pkgfactory run is alive there, so every temporary name is
an orphan: ``.part-PID`` files, per-run work directories, a bundle's staging
directory. A run that builds and one that reuses a bundle clean the same things.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path


_PART = re.compile(r"^\..+\.part-\d+$")


def clean_leftovers(out_dir: Path, matrix, work_root: Path, own_work: Path) -> None:
    """Remove what killed runs left behind; only called while holding the output lock.

    Under the lock no other pkgfactory run is alive here, so every ``.part-PID``
    file is an orphan. A killed run's container build can outlive it and keep
    writing into its own work directory: that is why work directories are per
    run (it can never write into ours) and why removing its one ignores errors.
    """
    if work_root.is_dir():
        for d in work_root.iterdir():
            if d != own_work:
                shutil.rmtree(d, ignore_errors=True)
    for d in {out_dir, *(out_dir / p.id / a for p, a in matrix)}:
        if d.is_dir():
            for f in d.iterdir():
                if _PART.match(f.name) and f.is_file():
                    f.unlink(missing_ok=True)


def clean_stale(out_dir: Path, name: str) -> None:
    """A killed bundle run's staging directories and tar parts (``.<name>.*``): they never carry a
    final name, so removing them is always safe."""
    for p in out_dir.glob(f".{name}.*"):
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
