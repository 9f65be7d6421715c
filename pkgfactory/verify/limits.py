"""How much verify reads: bounds a hostile bundle cannot move.

A file is hashed or parsed only once its size is known to be right: the
fixed-name files against the ceilings below, every other file against the
size manifest.json gives (once SHA256SUMS, which signs the manifest, holds).
Signed repository metadata is inflated up to a limit, and refused beyond it.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import zlib
from pathlib import Path

from pkgfactory.verify.layout import KEY, KEY_FPR, MANIFEST, SUMS, SUMS_SIG

MiB = 1 << 20

# Read before any size is proven, so each has a ceiling of its own, far above
# what a bundle holds: SHA256SUMS has one ~100-byte line per file (16 MiB is
# 160,000 files), manifest.json ~250 bytes per file plus the check results, a
# key is a few KiB, a signature under 1 KiB.
FILE_CEILINGS = {KEY: 1 * MiB, "KEY.gpg": 1 * MiB, KEY_FPR: 4096, SUMS: 16 * MiB, SUMS_SIG: 1 * MiB,
                 MANIFEST: 64 * MiB}

# The largest index of a real distribution: Debian 12's main/binary-amd64/Packages
# is 50,060,337 bytes (its signed Release, read on this project's Debian 12 host);
# Packages.gz is 12,084,798 (4.1x) and Packages.xz 8,790,396 (5.7x). A bundle's
# indexes hold a few packages.
INDEX_CEILING = 64 * MiB
INFLATION = 16  # where the signed index states no uncompressed size: times the compressed size
INFLATION_FLOOR = 1 * MiB

OPENERS = {".gz": gzip.open, ".xz": lzma.open, ".bz2": bz2.open}


class TooLarge(ValueError):
    pass


def inflate_limit(compressed_size: int, stated: int | None = None) -> int:
    """The most a compressed index may expand to: the size its signed index states, else
    INFLATION times its compressed size (at least INFLATION_FLOOR); never above INDEX_CEILING."""
    if stated is not None:
        return min(stated, INDEX_CEILING)
    return min(max(compressed_size * INFLATION, INFLATION_FLOOR), INDEX_CEILING)


def read_index(path: Path, limit: int) -> bytes:
    """The content of ``path``, decompressed by its suffix (.gz, .xz, .bz2), at most ``limit`` bytes.

    Raises TooLarge past the limit (the decompressor is stopped there, so
    memory never exceeds it) and ValueError on a corrupt stream.
    """
    opener = OPENERS.get(path.suffix)
    limit = max(limit, 0)
    chunks, total = [], 0
    try:
        with (opener(path, "rb") if opener else open(path, "rb")) as f:
            while True:
                chunk = f.read(min(1 * MiB, limit + 1 - total))
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
                if total > limit:
                    raise TooLarge(f"expands beyond {limit:,} bytes, more than its signed index allows: refused")
    except (OSError, EOFError, lzma.LZMAError, zlib.error) as e:
        raise ValueError(f"cannot be decompressed: {e}") from None
    return b"".join(chunks)
