"""Hypothesis profiles: ``ci`` (fast, derandomized; the default) and ``dev`` (thorough).

Select with ``HYPOTHESIS_PROFILE=dev pytest``. Every test starts from the same global torch and
numpy random state, so that a test's outcome does not depend on which tests ran before it.
"""

import os

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=20, derandomize=True, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=300, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _same_random_state_for_every_test():
    torch.manual_seed(0)
    np.random.seed(0)


def pytest_addoption(parser):
    parser.addoption("--device", default="cpu",
                     help="device of tests/test_device.py (cpu, cuda, cuda:1, ...; default cpu)")


@pytest.fixture(scope="session")
def device(request):
    """The device ``--device`` names; the tests that take it skip when it is not available."""
    dev = torch.device(request.config.getoption("--device"))
    if dev.type == "cuda" and not torch.cuda.is_available():
        pytest.skip(f"--device {dev} given but CUDA is not available")
    return dev
