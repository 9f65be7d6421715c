"""`check` predicts, for real, which binaries start in Debian 11 (glibc 2.31) and 12 (glibc 2.36)."""

import json
import subprocess

import pytest

from fixtures_go import run_cli

pytestmark = pytest.mark.container


def starts_in(image: str, binary) -> bool:
    p = subprocess.run(["podman", "run", "--rm", "--network=none", "-v", f"{binary}:/probe:ro", image,
                        "/probe"], capture_output=True, text=True, timeout=120)
    return p.returncode == 0 and "go-ok" in p.stdout


def predicted_ok(binary, target: str) -> bool:
    r = run_cli("check", "--json", "--target", target, binary)
    assert r.code in (0, 1), r.err
    return json.loads(r.out)["binaries"][0]["ok"] is True and r.code == 0


@pytest.mark.parametrize("suite,target,expected", [
    ("11", "debian-11", {"cgo-host": False, "cgo-zig217": True}),
    ("12", "debian-12", {"cgo-host": True, "cgo-zig217": True}),
])
def test_check_predicts_which_binary_loads(go_binaries, debian_image, suite, target, expected):
    image = debian_image(suite)
    for variant, should_start in expected.items():
        actual = starts_in(image, go_binaries[variant])
        assert actual is should_start, f"{variant} in Debian {suite}: started={actual}"
        assert predicted_ok(go_binaries[variant], target) is actual, f"{variant}: check disagrees with reality"
