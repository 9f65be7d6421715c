import sys
from pathlib import Path

# Test helpers (gobuild, fixtures_*) are plain modules next to the tests.
sys.path.insert(0, str(Path(__file__).parent))

pytest_plugins = [
    "fixtures_go",
    "fixtures_images",  # container_engine, debian_image (container images section)
    "fixtures_keys",  # key, other_key (signing keys)
]


import pytest  # noqa: E402


def _cache_env(tmp_path_factory, var: str, name: str):
    import os

    path = tmp_path_factory.mktemp(name)
    old = os.environ.get(var)
    os.environ[var] = str(path)
    yield path
    if old is None:
        os.environ.pop(var, None)
    else:
        os.environ[var] = old


@pytest.fixture(scope="session", autouse=True)
def signature_cache_dir(tmp_path_factory):
    """One signature cache per test session, as for packages (below)."""
    yield from _cache_env(tmp_path_factory, "PKGF_SIGNATURE_CACHE", "pkgf-signatures")


@pytest.fixture(scope="session", autouse=True)
def package_cache_dir(tmp_path_factory):
    """One package cache per test session: runs in a session share it (a bundle test reuses the
    build test's packages), and no test reads packages another checkout or a user stored."""
    yield from _cache_env(tmp_path_factory, "PKGF_PACKAGE_CACHE", "pkgf-cache")


@pytest.fixture(scope="session", autouse=True)
def bundle_cache_dir(tmp_path_factory):
    """One bundle cache per test session, as for packages and signatures."""
    yield from _cache_env(tmp_path_factory, "PKGF_BUNDLE_CACHE", "pkgf-bundles")
