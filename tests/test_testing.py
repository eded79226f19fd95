"""The user-facing equivariance checks in liesoft.testing."""

import pytest
import torch

from liesoft import E3, SO3, Lorentz, Point, Scalar, Tensor, Vector, Vector4, assert_equivariant
from liesoft.testing import equivariance_error


def m2(p):
    return p[..., 0] ** 2 - (p[..., 1:] ** 2).sum(-1)


def test_assert_equivariant_accepts_exact_functions():
    L = Lorentz()
    assert assert_equivariant(m2, L, Vector4()) < 1e-12
    assert assert_equivariant(lambda p: m2(p)[..., None] * p, L, Vector4(), Vector4()) < 1e-12
    assert assert_equivariant(lambda p: p[..., :, None] * p[..., None, :], L, Vector4(),
                              Tensor(2, 0)) < 1e-12
    assert assert_equivariant(lambda v: v.norm(dim=-1), SO3(), Vector()) < 1e-12
    pairwise = lambda x: (x[:, :, None] - x[:, None]).norm(dim=-1).sum((-1, -2))  # noqa: E731
    x = torch.randn(4, 5, 3, dtype=torch.float64)
    assert assert_equivariant(pairwise, E3(), Point(), Scalar(), x) < 1e-12


def test_assert_equivariant_reports_the_worst_violation():
    with pytest.raises(AssertionError, match=r"not equivariant under SO\(1,3\)\+.*relative"):
        assert_equivariant(lambda p: p[..., 0], Lorentz(), Vector4())
    # a tiny symmetry breaking is caught at a tight tolerance and passes a loose one
    broken = lambda p: m2(p) + 1e-6 * p[..., 3]  # noqa: E731
    with pytest.raises(AssertionError):
        assert_equivariant(broken, Lorentz(), Vector4())
    assert assert_equivariant(broken, Lorentz(), Vector4(), rtol=1e-4) > 1e-9
    absolute, relative = equivariance_error(broken, Lorentz(), Vector4(), beta_max=0.1,
                                            generator=torch.Generator().manual_seed(0))
    assert 0 < relative <= absolute
