"""The user-facing equivariance checks in liesoft.testing."""

import pytest
import torch

from liesoft import (
    E3,
    SO3,
    Lorentz,
    MatrixLieGroup,
    Point,
    Scalar,
    Tensor,
    Vector,
    Vector4,
    assert_equivariant,
)
from liesoft.testing import equivariance_error

F64 = torch.float64


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


class _QuarterTurns(MatrixLieGroup):
    """SO(2) whose sampler returns the exact rotation by ``turns`` quarter turns."""

    def __init__(self):
        super().__init__(torch.tensor([[[0.0, -1.0], [1.0, 0.0]]]), name="C4")

    def sample(self, n, *, generator=None, dtype=None, device=None, turns=1):
        g = torch.linalg.matrix_power(torch.tensor([[0.0, -1.0], [1.0, 0.0]], dtype=F64), turns)
        return g.expand(n, -1, -1).to(dtype or torch.get_default_dtype())


def test_error_is_relative_per_sample_and_exact():
    """f(v) = v + b with b = (0, 1/2): f(g v) - g f(v) = b - g b = (1/2, 1/2) for a quarter turn.

    One sample is huge (|g f(x)| = 1e6: relative error 5e-7), the other small (|g f(x)| = 1/2,
    clamped to 1: relative error 1/2); the relative error is the worst *per sample*."""
    b = torch.tensor([0.0, 0.5], dtype=F64)
    x = torch.tensor([[1e6, 0.0], [0.0, 0.0]], dtype=F64)
    absolute, relative = equivariance_error(lambda v: v + b, _QuarterTurns(), Vector(), Vector(), x)
    assert absolute == pytest.approx(0.5, rel=1e-9) and relative == pytest.approx(0.5, rel=1e-9)
    _, rel_huge = equivariance_error(lambda v: v + b, _QuarterTurns(), Vector(), Vector(), x[:1])
    assert rel_huge == pytest.approx(0.5e-6, rel=1e-6)
    # the output representation is used: the same map audited as invariant is off by g v - v
    absolute, _ = equivariance_error(lambda v: v, _QuarterTurns(), Vector(), Scalar(), x[:1])
    assert absolute == pytest.approx(1e6, rel=1e-12)
    assert equivariance_error(lambda v: v, _QuarterTurns(), Vector(), Vector(), x) == (0.0, 0.0)
    assert assert_equivariant(lambda v: v + b, _QuarterTurns(), Vector(), Vector(), x,
                              rtol=0.6) == pytest.approx(0.5, rel=1e-9)
    with pytest.raises(AssertionError, match="relative 5.000e-01"):
        assert_equivariant(lambda v: v + b, _QuarterTurns(), Vector(), Vector(), x, rtol=0.4)


def test_sample_options_reach_the_sampler():
    b = torch.tensor([0.0, 0.5], dtype=F64)
    x = torch.tensor([[1e6, 0.0], [0.0, 0.0]], dtype=F64)
    shifted = lambda v: v + b  # noqa: E731
    assert equivariance_error(shifted, _QuarterTurns(), Vector(), Vector(), x, turns=0) == (0, 0)
    assert equivariance_error(shifted, _QuarterTurns(), Vector(), Vector(), x, turns=2)[0] == 1.0
    # a function equivariant only for small boosts: passes at beta_max = 0.05, fails at 0.95
    slightly_broken = lambda p: m2(p) + 1e-3 * p[..., 0]  # noqa: E731
    gen = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    assert assert_equivariant(slightly_broken, Lorentz(), Vector4(), rtol=2e-4, beta_max=0.05,
                              generator=gen()) < 1e-4
    with pytest.raises(AssertionError):
        assert_equivariant(slightly_broken, Lorentz(), Vector4(), rtol=2e-4, beta_max=0.95,
                           generator=gen())
    small = equivariance_error(slightly_broken, Lorentz(), Vector4(), beta_max=0.05,
                               generator=gen())
    large = equivariance_error(slightly_broken, Lorentz(), Vector4(), beta_max=0.95,
                               generator=gen())
    assert small[0] < large[0] / 10


class _RotInvariantNet(torch.nn.Module):
    """Vector -> Vector, equivariant: an MLP of |v| times v."""

    def __init__(self):
        super().__init__()
        self.mlp = torch.nn.Sequential(torch.nn.Linear(1, 8), torch.nn.Tanh(),
                                       torch.nn.Linear(8, 1))

    def forward(self, v):
        return self.mlp(v.norm(dim=-1, keepdim=True)) * v


def _snapshot(m):
    return {k: (t.dtype, t.clone()) for k, t in m.state_dict().items()}


def test_float32_module_gets_a_message_naming_both_dtypes_and_is_not_changed():
    """Issue 24 items 4 and 10: a float32 model under the float64 check (default x, or a
    float64 x) raises liesoft's TypeError naming float32 and float64; the module is left as it
    was; dtype=torch.float32 checks it in float32 with a float32 tolerance."""
    torch.manual_seed(0)
    net = _RotInvariantNet()
    before = _snapshot(net)
    x64 = torch.randn(8, 3, dtype=F64)
    for x in (None, x64):
        with pytest.raises(TypeError, match=r"torch\.float64 inputs, but its parameters/buffers are torch\.float32"):
            assert_equivariant(net, SO3(), Vector(), Vector(), x)
    after = _snapshot(net)
    assert all(before[k][0] == after[k][0] == torch.float32 and torch.equal(before[k][1],
               after[k][1]) for k in before)
    rel = assert_equivariant(net, SO3(), Vector(), Vector(), x64, dtype=torch.float32)
    assert 0 <= rel < 1e-4
    assert x64.dtype == F64
    # a float32 model that is not equivariant still fails in float32
    broken = torch.nn.Linear(3, 3)
    with pytest.raises(AssertionError, match="torch.float32"):
        assert_equivariant(broken, SO3(), Vector(), Vector(), dtype=torch.float32)
    # and the float64 copy passes at the float64 tolerance
    import copy
    assert assert_equivariant(copy.deepcopy(net).double(), SO3(), Vector(), Vector()) < 1e-12
    assert next(net.parameters()).dtype == torch.float32


def test_dtype_error_inside_a_plain_callable_is_liesofts_message():
    torch.manual_seed(0)
    lin = torch.nn.Linear(3, 3)
    wrapped = lambda v: lin(v)  # noqa: E731  (the dtype cannot be read off a lambda)
    with pytest.raises(TypeError, match=r"torch\.float64 inputs and f raised a dtype error"):
        assert_equivariant(wrapped, SO3(), Vector(), Vector())
    # other errors pass through untouched
    def boom(v):
        raise RuntimeError("something else")
    with pytest.raises(RuntimeError, match="something else"):
        assert_equivariant(boom, SO3(), Vector(), Vector())


def test_default_rtol_follows_the_dtype():
    """1e-8 in float64, 1000 float32 roundings in float32: a 1e-6 relative breaking fails in
    float64 and passes in float32; a 1e-3 one fails in both."""
    def f(eps):
        return lambda v: v.norm(dim=-1) * (1 + eps * v[..., 0] / v.norm(dim=-1))
    x = torch.randn(16, 3, generator=torch.Generator().manual_seed(0), dtype=F64)
    with pytest.raises(AssertionError):
        assert_equivariant(f(1e-6), SO3(), Vector(), x=x)
    assert assert_equivariant(f(1e-6), SO3(), Vector(), x=x, dtype=torch.float32) < 1.2e-4
    for dt in (F64, torch.float32):
        with pytest.raises(AssertionError):
            assert_equivariant(f(1e-3), SO3(), Vector(), x=x, dtype=dt)
    with pytest.raises(TypeError, match="floating-point"):
        assert_equivariant(f(0.0), SO3(), Vector(), x=torch.ones(4, 3, dtype=torch.int64))
