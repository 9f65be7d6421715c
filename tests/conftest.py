import sys
from pathlib import Path

# Test helpers (gobuild, fixtures_*) are plain modules next to the tests.
sys.path.insert(0, str(Path(__file__).parent))

pytest_plugins = [
    "fixtures_go",
    "fixtures_images",  # container_engine, debian_image (container images section)
]


import pytest  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def package_cache_dir(tmp_path_factory):
    """One package cache per test session: runs in a session share it (a bundle test reuses the
    build test's packages), and no test reads packages another checkout or a user stored."""
    import os

    path = tmp_path_factory.mktemp("pkgf-cache")
    old = os.environ.get("PKGF_PACKAGE_CACHE")
    os.environ["PKGF_PACKAGE_CACHE"] = str(path)
    yield path
    if old is None:
        os.environ.pop("PKGF_PACKAGE_CACHE", None)
    else:
        os.environ["PKGF_PACKAGE_CACHE"] = old
