"""Library behaviours no test pinned (issue 32 item 6): each test fails on a plausible bug,
planted and listed in tests/mutants/issue32_pinned.py (replay it with tests/mutants/replay.py).

Public entry points only, except ``liesoft.groups.exact.numerical_nullspace`` (module-level,
named in each test). float64 compared at a few float64 roundings; float32/bfloat16 compared
with the float64 computation rounded once, or at their own rounding."""

import math

import pytest
import torch

from liesoft import (
    GSEAL,
    SO3,
    Dual,
    Lorentz,
    MatrixLieGroup,
    Product,
    Scalar,
    Tensor,
    Vector,
    Vector4,
    invariance_profile,
)
from liesoft.experimental import ViolationBudget

D = torch.float64


def four_vectors(n=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    p = torch.randn(n, 3, generator=g, dtype=D)
    return torch.cat([(p.pow(2).sum(-1, keepdim=True) + 1.0).sqrt(), p], -1)


# ------------------------------------------------------------------ reps: dtype of act
@pytest.mark.parametrize("rep", [Tensor(2, 0), Tensor(1, 1), Tensor(0, 2),
                                 Product(Vector(), Dual(Vector())), Vector() * Vector()])
def test_product_and_tensor_act_keep_float32_and_round_the_float64_result_once(rep):
    """Rep.act / infinitesimal on float32 data: float32 out, equal to the float64 computation
    rounded once to float32 (pins Product.act's and Product.infinitesimal's dtype)."""
    G = Lorentz()
    rep = rep.bind(G)
    x64 = torch.randn(5, 4, 4, generator=torch.Generator().manual_seed(0), dtype=D)
    x = x64.float()
    g = G.sample(5, generator=torch.Generator().manual_seed(1))
    out = rep.act(g, x)
    assert out.dtype == torch.float32
    assert torch.equal(out, rep.act(g, x.double()).float())
    A = G.generators[0] + 0.3 * G.generators[4]
    inf = rep.infinitesimal(A, x)
    assert inf.dtype == torch.float32
    assert torch.equal(inf, rep.infinitesimal(A, x.double()).float())


# ------------------------------------------------------------------ reps: Tensor(p, q) order
@pytest.mark.parametrize("p, q", [(1, 1), (2, 1), (1, 2), (0, 2), (2, 0)])
def test_tensor_p_q_acts_as_the_explicit_einsum_upper_indices_first(p, q):
    """T^{a..}_{b..} -> g^a_i .. T^{i..}_{k..} (g^-1)^k_b ..: upper (vector) indices on the
    first p axes, lower (dual) on the last q. Under a boost (not orthogonal) every order
    differs; float64, rel. 1e-12 of |g|^(p+q) |T|."""
    G = Lorentz()
    g = Lorentz.boost(torch.tensor([0.5, 0.2, -0.1], dtype=D)) @ Lorentz.rotation(
        torch.tensor([0.3, -0.2, 0.4], dtype=D))
    gi = torch.linalg.inv(g)
    T = torch.randn(3, *(4,) * (p + q), generator=torch.Generator().manual_seed(p + 3 * q),
                    dtype=D)
    letters = "abcd"[: p + q]
    inner = "ijkl"[: p + q]
    mats = [f"{letters[k]}{inner[k]}" for k in range(p)] + [
        f"{inner[k]}{letters[k]}" for k in range(p, p + q)]
    spec = ",".join(mats) + f",n{inner}->n{letters}"
    want = torch.einsum(spec, *([g] * p + [gi] * q), T)
    got = Tensor(p, q).bind(G).act(g, T)
    scale = float(want.abs().max())
    assert float((got - want).abs().max()) <= 1e-12 * scale


# ------------------------------------------------------------------ groups: sample_discrete
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sample_discrete_returns_the_requested_dtype_and_the_same_elements(dtype):
    """sample_discrete(dtype=...) is the float64 draw (the same generator) in that dtype;
    its elements are exact (±1 entries), so the cast is exact."""
    for G in (Lorentz(), SO3()):
        a = G.sample_discrete(16, generator=torch.Generator().manual_seed(2), dtype=dtype)
        b = G.sample_discrete(16, generator=torch.Generator().manual_seed(2), dtype=D)
        assert a.dtype == dtype, G.name
        assert torch.equal(a.double(), b), G.name
        assert bool((b.abs().sum((-1, -2)) == G.dim).all())   # signed permutations


# ------------------------------------------------------------------ groups: nullspace rank
@pytest.mark.parametrize("scale", [1.0, 1e-8, 1e8])
def test_numerical_nullspace_rank_tolerance_is_relative(scale):
    """liesoft.groups.exact.numerical_nullspace: a (4, 6) matrix of rank 2 (singular values 1
    and 0.01, the others float64 rounding) has a 4-dimensional nullspace at any overall scale
    (an absolute tolerance loses the small singular value at 1e-8 and counts the rounding at
    1e8)."""
    from liesoft.groups.exact import numerical_nullspace

    gen = torch.Generator().manual_seed(0)
    U, _ = torch.linalg.qr(torch.randn(4, 2, generator=gen, dtype=D))
    V, _ = torch.linalg.qr(torch.randn(6, 2, generator=gen, dtype=D))
    c = U @ torch.diag(torch.tensor([1.0, 0.01], dtype=D)) @ V.T
    basis = numerical_nullspace(scale * c)
    assert basis.shape == (4, 6)
    assert float((c @ basis.T).abs().max()) < 1e-14
    assert torch.allclose(basis @ basis.T, torch.eye(4, dtype=D), atol=1e-12)


# ------------------------------------------------------------------ groups: SO(p, q) component
def test_identity_component_of_so_2_2_uses_the_whole_positive_block():
    """SO(2, 2)+ = preserving(diag(1, 1, -1, -1)): diag(-1, -1, 1, 1) (a rotation by π in the
    positive plane) is in the identity component; diag(1, -1, 1, -1) (det 1, the form kept,
    each block reflected) is not. A test on one entry of the positive block (enough for p = 1,
    the Lorentz case) gets both wrong."""
    G = MatrixLieGroup.preserving(torch.diag(torch.tensor([1.0, 1.0, -1.0, -1.0], dtype=D)))
    inside = torch.diag(torch.tensor([-1.0, -1.0, 1.0, 1.0], dtype=D))
    outside = torch.diag(torch.tensor([1.0, -1.0, 1.0, -1.0], dtype=D))
    assert bool(G.contains(inside))
    assert not bool(G.contains(outside))
    # and a genuine element far from the identity, rotated by π in the positive plane
    g = G.sample(8, generator=torch.Generator().manual_seed(0), dtype=D) @ inside
    assert bool(G.contains(g).all())


# ------------------------------------------------------------------ GSEAL discrete=True
def _triple(v):
    """x1 · (x2 × x3): rotation invariant, parity odd (three vectors)."""
    a, b, c = v[..., 0:3], v[..., 3:6], v[..., 6:9]
    return (a * torch.cross(b, c, dim=-1)).sum(-1)


def test_gseal_discrete_composes_the_discrete_draw_with_the_continuous_one():
    """For a parity-even function the discrete factor changes nothing: GSEAL(discrete=True)
    equals GSEAL(discrete=False) on the same generator (the continuous draw first) to float64
    rounding, both far from 0; for a rotation-invariant, parity-odd one, discrete=True
    penalises (the value is 4 f² on the drawn parities), discrete=False does not."""
    rep = Vector() + Vector() + Vector()
    x = torch.randn(64, 9, generator=torch.Generator().manual_seed(0), dtype=D)
    even = lambda v: v[..., 2] ** 2 + v[..., 3] * v[..., 7]  # noqa: E731 - P-even, not invariant
    with_p = GSEAL(SO3(), rep, Scalar(), discrete=True)(even, x,
                                                        generator=torch.Generator().manual_seed(1))
    without = GSEAL(SO3(), rep, Scalar())(even, x, generator=torch.Generator().manual_seed(1))
    assert float(without) > 1e-1
    assert float(with_p) == pytest.approx(float(without), rel=1e-12)
    odd_with = GSEAL(SO3(), rep, Scalar(), discrete=True)(
        _triple, x, generator=torch.Generator().manual_seed(1))
    odd_without = GSEAL(SO3(), rep, Scalar())(_triple, x,
                                              generator=torch.Generator().manual_seed(1))
    assert float(odd_without) < 1e-24 * float((_triple(x) ** 2).mean())
    assert float(odd_with) > 0.1 * float((_triple(x) ** 2).mean())


# ------------------------------------------------------------------ bfloat16 residuals
def test_bfloat16_outputs_are_differenced_and_averaged_in_float32():
    """GSEAL on bfloat16 outputs equals mean((f(gx) - f(x))²) computed in float32 from the
    same bfloat16 outputs (recorded by the model) at float32 rounding (a batch of 64: < 1e-5
    relative); differenced, squared or averaged in bfloat16 it is ~2^-8 off."""
    x = four_vectors(64)
    seen = []

    def f(p):
        out = (10 * p[..., 0] ** 2 + p[..., 3]).to(torch.bfloat16)
        seen.append(out)
        return out

    fx = f(x)
    seen.clear()
    value = GSEAL(Lorentz(), Vector4())(f, x, fx=fx, generator=torch.Generator().manual_seed(0))
    assert len(seen) == 1 and value.dtype == torch.float32
    want = ((seen[0].float() - fx.float()) ** 2).mean()
    assert float(want) > 1.0
    assert float(value) == pytest.approx(float(want), rel=1e-5)


# ------------------------------------------------------------------ ViolationBudget in eval
def test_an_eval_mode_budget_returns_lam_times_gamma_and_leaves_lam():
    """eval() (and no_grad) only stop λ's update: the call still returns λ·Γ with the current
    λ and records Γ."""
    x = four_vectors(16)
    f = lambda p: p[..., 0] ** 2                     # noqa: E731 - boost-violating
    pen = GSEAL(Lorentz(), Vector4())
    gamma = float(pen(f, x, generator=torch.Generator().manual_seed(0)))
    budget = ViolationBudget(pen, target=1e-3, lam_init=3.0).eval()
    out = budget(f, x, generator=torch.Generator().manual_seed(0))
    assert float(out) == pytest.approx(3.0 * gamma, rel=1e-14)
    assert budget.lam == 3.0 and budget.steps == 0 and budget.value == pytest.approx(gamma)
    budget.train()
    with torch.no_grad():
        out = budget(f, x, generator=torch.Generator().manual_seed(0))
    assert float(out) == pytest.approx(3.0 * gamma, rel=1e-14) and budget.lam == 3.0


# ------------------------------------------------------------------ audit with one sample
@pytest.mark.parametrize("per_generator", [False, True])
def test_the_audit_of_one_sample_has_its_violation_as_mean_and_zero_error(per_generator):
    """B = 1: the curve is that sample's violation, 2 sin(θ/2) |x_⊥| for a rotation about z
    by ±θ, and its standard error is 0 (not NaN, not the violation)."""
    x = torch.tensor([[0.3, -1.2, 0.7]], dtype=D)
    theta = 0.5
    prof = invariance_profile(lambda v: v, x, SO3(), Vector(), 3 * Scalar(),
                              magnitudes=[theta], families={"z": ["J_z"]},
                              per_generator=per_generator,
                              generator=torch.Generator().manual_seed(0))
    key = "J_z" if per_generator else "z"
    want = 2 * math.sin(theta / 2) * math.hypot(0.3, -1.2)
    assert float(prof.mean[key][0]) == pytest.approx(want, rel=1e-12)
    assert float(prof.sem[key][0]) == 0.0
