"""Property-based fuzzing of the ELF and Go build-info readers, briefly and reproducibly.

The strategies and properties are in tests/elf_corpus.py; bench/fuzz_elf.py runs
the same ones with random seeds for minutes (`python bench/fuzz_elf.py --minutes 10`).
Here derandomize=True makes every CI run try the same examples.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import elf_corpus as ec

CI = settings(max_examples=200, deadline=timedelta(seconds=ec.TIME_LIMIT), derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.large_base_example])


@pytest.fixture(scope="module")
def seeds(go_binaries):
    return ec.fuzz_seeds(ec.source_binaries(go_binaries))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz-elf")


@CI
@given(data=st.data())
def test_inspect_returns_info_or_input_error(seeds, workdir, data):
    """inspect_file (then check and JSON) on a mutated real binary: a result or one InputError line."""
    name, blob = data.draw(ec.mutated_elf(seeds), label="mutated binary")
    ec.inspect_property(blob, workdir, name)


@settings(CI, max_examples=300)
@given(case=ec.buildinfo_blobs())
def test_read_buildinfo_returns_info_or_malformed(case):
    ec.buildinfo_property(*case)


@settings(CI, max_examples=300)
@given(text=ec.modinfo_texts())
def test_parse_modinfo_returns_info_or_malformed(text):
    ec.modinfo_property(text)


@settings(CI, max_examples=300)
@given(s=ec.go_quoted())
def test_unquote_returns_text_or_quote_error(s):
    ec.unquote_property(s)


def test_fuzz_finds_a_planted_defect(seeds, workdir, monkeypatch):
    """The harness is not vacuous: a check rule that crashes on some header values is caught."""
    from pkgfactory.check import rules

    def fragile(info, profile, arch):
        if info.elf.e_flags & 0xFF00_0000 or info.elf.osabi != "ELFOSABI_SYSV":
            raise KeyError("planted")
        return []

    monkeypatch.setattr(rules, "RULES", [fragile, *rules.RULES])
    found = []

    @settings(CI, max_examples=300)
    @given(data=st.data())
    def run(data):
        name, blob = data.draw(ec.mutated_elf(seeds))
        try:
            ec.inspect_property(blob, workdir, name)
        except ec.FuzzFailure as e:
            found.append(str(e))

    run()
    assert any("planted" in f for f in found)
