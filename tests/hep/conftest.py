"""Shared fixtures of the HEP example tests."""

import pytest


@pytest.fixture(scope="session")
def quick_jet_cache(tmp_path_factory):
    """One jet cache for every --quick run of the session (toptag's tests share the jets it
    generates once instead of generating the same files per test module)."""
    return str(tmp_path_factory.mktemp("jetcache"))
