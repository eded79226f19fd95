"""Absolute conventions, dtype paths, edge values and invariants that the mutation lab of
issue 24 item 15 (tests/mutants/issue24_lab2.py, tests/MUTATIONS.md) found unasserted.

Each test names the planted bug(s) it kills. Everything in float64 unless the dtype path is
the point of the test."""

import math

import pytest
import torch
import torch.nn.functional as F

from liesoft import (
    E3,
    GSEAL,
    SO3,
    DeltaSEAL,
    Dual,
    Lorentz,
    Product,
    Scalar,
    Tensor,
    Vector,
    Vector4,
    assert_batch_independent,
    equivariance_error,
    invariance_profile,
)
from liesoft.groups.expm import exp_near_identity
from liesoft.penalties.dseal import default_eps
from liesoft.penalties.model_state import PenaltyPasses
from liesoft.penalties.norms import attention_by_parts, layer_norm_by_parts, softmax_by_parts

D = torch.float64


def four_vectors(n=32, seed=0, dtype=D):
    g = torch.Generator().manual_seed(seed)
    p = torch.randn(n, 3, generator=g, dtype=D)
    m = 0.5 + torch.rand(n, 1, generator=g, dtype=D)
    return torch.cat([(m ** 2 + (p ** 2).sum(-1, keepdim=True)).sqrt(), p], -1).to(dtype)


def mass2(p):
    return p[..., 0] ** 2 - (p[..., 1:] ** 2).sum(-1)


# ------------------------------------------------------------------------- penalties
def test_gseal_of_an_exact_invariant_is_zero_to_float64_rounding():
    """GSEAL's elements are float64 (a float32 draw would leave ~1e-14 relative violations of
    m² on float64 data). Kills gseal-sample-float32."""
    x = four_vectors(256)
    value = GSEAL(Lorentz(), Vector4())(mass2, x, generator=torch.Generator().manual_seed(0))
    assert float(value) < 1e-24 * float((mass2(x) ** 2).mean())


def test_gseal_with_discrete_composes_the_continuous_element():
    """``discrete=True`` multiplies the continuous draw by a discrete one: a model invariant
    under parity but not under boosts stays penalised. Kills gseal-discrete-replaces-continuous."""
    x = four_vectors(256)
    energy = lambda p: p[..., 0] ** 2          # noqa: E731 - P-even, not boost invariant
    gen = torch.Generator().manual_seed(1)
    value = GSEAL(Lorentz(), Vector4(), discrete=True, beta_max=0.5)(energy, x, generator=gen)
    assert float(value) > 1e-2


def test_penalty_subset_has_at_least_one_sample():
    """``fraction * B < 0.5`` still evaluates one sample (the docstring's "at least one").
    Kills subset-can-be-empty."""
    x = four_vectors(3)
    f = lambda p: p[..., 0]                    # noqa: E731
    value = GSEAL(Lorentz(), Vector4(), fraction=0.1)(f, x,
                                                       generator=torch.Generator().manual_seed(0))
    assert math.isfinite(float(value)) and float(value) > 0


def test_default_fd_steps_are_the_documented_ones():
    """1e-4 in float64, 1e-2 in float32, 3e-2 for half inputs. Kills fd-eps-f32-tiny."""
    assert default_eps(torch.zeros(1, dtype=D)) == 1e-4
    assert default_eps(torch.zeros(1, dtype=torch.float32)) == 1e-2
    assert default_eps(torch.zeros(1, dtype=torch.bfloat16)) == 3e-2
    assert default_eps(torch.zeros(1, dtype=torch.float16)) == 3e-2


def test_auto_route_is_reverse_for_few_outputs_and_forward_for_many():
    """The documented rule: reverse when k <= n. Kills auto-route-inverted."""
    pen = DeltaSEAL(Lorentz(), Vector4(), Scalar())
    assert pen._route(torch.zeros(2, 1)) == "reverse"
    assert pen._route(torch.zeros(2, 6)) == "reverse"
    assert pen._route(torch.zeros(2, 7)) == "forward"


def test_exp_near_identity_is_exact_at_its_threshold():
    """Degree-6 Taylor: error <= 0.05^7/7! at the largest norm it is used for, against the
    closed form of a boost (cosh, sinh). (torch 2.13's CPU float64 matrix_exp is off by up to
    2.3e-10 for norms in (0.01, 0.05): not a reference here.) Kills exp-near-identity-2nd-order."""
    phi = 0.049
    M = phi * Lorentz().generators[0]
    ref = torch.eye(4, dtype=D)
    ref[0, 0] = ref[1, 1] = math.cosh(phi)
    ref[0, 1] = ref[1, 0] = -math.sinh(phi)
    assert (exp_near_identity(M[None])[0] - ref).abs().max() < 1e-12


def test_fd_central_is_the_exact_lie_derivative_for_a_quadratic():
    """For f(p) = E² the central difference along exp(±eps A) is O(eps²)-exact: each draw's
    value agrees with the exact residual along the drawn direction (c ~ N(0, 1) per sample, the
    generator's first draw; r_a = 2E (L_a p)_0) to 1e-6 relative (both divided by n): at
    eps = 1e-4 the truncation is ~eps² = 1e-8 and the rounding ~1e-16 |f| / (eps |r|) ~ 1e-11.
    And the mean over 200 draws is exact δSEAL within 4 Monte Carlo standard errors (was: a
    docstring promising 1e-6 over an assertion of 20 %; issue 32 item 3).
    Kills fd-central-no-2, fd-no-divide-n."""
    x = four_vectors(64)
    f = lambda p: p[..., 0] ** 2               # noqa: E731
    L = Lorentz().generators
    r = 2 * x[:, 0, None] * torch.einsum("aj,bj->ba", L[:, 0, :], x)     # (B, n): r_a(x_b)
    n = L.shape[0]
    exact = float(DeltaSEAL(Lorentz(), Vector4())(f, x))
    assert exact == pytest.approx(float((r ** 2).sum(-1).mean()) / n, rel=1e-12)
    fd = DeltaSEAL(Lorentz(), Vector4(), mode="fd", scheme="central", eps=1e-4)
    vals = []
    for s in range(200):
        vals.append(float(fd(f, x, generator=torch.Generator().manual_seed(s))))
        if s < 20:
            c = torch.randn(64, n, generator=torch.Generator().manual_seed(s), dtype=D)
            along = float(((c * r).sum(-1) ** 2).mean()) / n
            assert vals[-1] == pytest.approx(along, rel=1e-6), s
    v = torch.tensor(vals, dtype=D)
    assert abs(float(v.mean()) - exact) < 4 * float(v.std()) / math.sqrt(len(vals))


def test_random_mode_is_unbiased_for_eq10():
    """E_u[(u . r)^2] = |r|^2 needs u ~ N(0, 1): the mean of many random-mode draws equals the
    exact value (4 outputs). Kills random-uniform-not-gaussian."""
    x = four_vectors(16)
    W = torch.randn(4, 4, generator=torch.Generator().manual_seed(3), dtype=D)
    f = lambda p: p @ W.T                      # noqa: E731 - not equivariant
    exact = float(DeltaSEAL(Lorentz(), Vector4(), Vector4())(f, x))
    gen = torch.Generator().manual_seed(0)
    rand = DeltaSEAL(Lorentz(), Vector4(), Vector4(), mode="random")
    draws = torch.tensor([float(rand(f, x, generator=gen)) for _ in range(400)], dtype=D)
    sem = float(draws.std() / 20)
    assert abs(float(draws.mean()) - exact) < 4 * sem


def test_dseal_of_the_identity_map_on_four_vectors_is_zero_and_of_its_negation_too():
    """f(p) = p is equivariant (J xi = xi = drho f); f(p) = 2p as well; f(p) = p + c is not:
    its δSEAL is sum_a |L_a c|^2 / n exactly (a sign error in xi or drho f shows here).
    Kills xi-sign, reverse-unit-sign."""
    x = four_vectors(8)
    c = torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=D)
    L = Lorentz().generators
    for route in ("reverse", "forward", "forward_ad"):
        pen = DeltaSEAL(Lorentz(), Vector4(), Vector4(), route=route)
        assert float(pen(lambda p: 2 * p, x)) < 1e-28
        expected = float(((L @ c) ** 2).sum() / L.shape[0])
        assert float(pen(lambda p: p + c, x)) == pytest.approx(expected, rel=1e-12)


def test_dseal_family_selects_only_its_generators():
    """generators="rotation" sums over J_x, J_y, J_z only: a rotation-invariant,
    boost-violating model has zero penalty there. Kills family-selects-all."""
    x = four_vectors(16)
    f = lambda p: p[..., 0] ** 2               # noqa: E731
    assert float(DeltaSEAL(Lorentz(), Vector4(), generators="rotation")(f, x)) < 1e-28
    assert float(DeltaSEAL(Lorentz(), Vector4(), generators="boost")(f, x)) > 1e-2


def test_half_precision_outputs_are_differenced_in_float32():
    """bfloat16 model outputs: the penalty value is float32 (documented). Kills
    half-residual-not-float32."""
    x = four_vectors(16)
    f = lambda p: (p[..., 0] ** 2).to(torch.bfloat16)   # noqa: E731
    value = GSEAL(Lorentz(), Vector4())(f, x, generator=torch.Generator().manual_seed(0))
    assert value.dtype == torch.float32


# ------------------------------------------------------------------------- norms.py
def test_by_parts_ops_equal_the_native_ones():
    """Layer norm (biased variance), log-softmax, attention scale and causal mask computed by
    parts equal torch's. Kills ln-unbiased-var, logsoftmax-no-log, attention-scale-1-over-d,
    causal-mask-upper."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 5, 8, generator=g, dtype=D)
    w, b = torch.randn(8, generator=g, dtype=D), torch.randn(8, generator=g, dtype=D)
    assert torch.allclose(layer_norm_by_parts(x, 8, w, b), F.layer_norm(x, (8,), w, b),
                          atol=1e-12, rtol=0)
    assert torch.allclose(softmax_by_parts(x, -1, log=True), torch.log_softmax(x, -1),
                          atol=1e-12, rtol=0)
    assert torch.allclose(softmax_by_parts(x, -1), torch.softmax(x, -1), atol=1e-12, rtol=0)
    q, k, v = (torch.randn(2, 3, 5, 8, generator=g, dtype=D) for _ in range(3))
    for causal in (False, True):
        ref = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        assert torch.allclose(attention_by_parts(q, k, v, is_causal=causal), ref, atol=1e-12,
                              rtol=0)


# ------------------------------------------------------------------------- model_state.py
class BN(torch.nn.Module):
    def __init__(self, norm):
        super().__init__()
        torch.manual_seed(0)
        self.lin = torch.nn.Conv1d(2, 4, 1) if norm is torch.nn.BatchNorm1d else None
        self.norm = norm(4)

    def forward(self, x):
        return self.norm(self.lin(x)).double()


def test_penalty_pass_normalises_like_training_mode_with_the_clean_batch_statistics():
    """The clean pass equals the layer's own training-mode output (biased variance, statistics
    over the batch *and* length axes); a later pass on a sub-batch reuses those statistics.
    Kills bn-unbiased-var, bn-stats-only-batch-axis, bn-stats-every-pass."""
    model = BN(torch.nn.BatchNorm1d).double()
    x = torch.randn(6, 2, 5, generator=torch.Generator().manual_seed(0), dtype=D)
    with torch.no_grad():
        reference = model(x)                 # training mode: batch statistics
    with torch.no_grad(), PenaltyPasses(model, x.device) as passes:
        clean = passes.run(x)
        part = passes.run(x[:2])
    assert torch.allclose(clean, reference, atol=1e-12, rtol=0)
    assert torch.allclose(part, reference[:2], atol=1e-12, rtol=0)


# ------------------------------------------------------------------------- audit.py
def test_audit_mean_and_sem_by_hand_for_a_single_generator_curve():
    """f(x) = x declared invariant (3 scalars) under rotations about z by ±theta: each
    sample's violation is 2 sin(theta/2) |x_perp| exactly; the curve is their mean and the
    standard error std/sqrt(B). Kills sem-is-std, direction-not-unit, violation-squared."""
    x = torch.randn(40, 3, generator=torch.Generator().manual_seed(0), dtype=D)
    theta = 0.7
    prof = invariance_profile(lambda v: v, x, SO3(), Vector(), 3 * Scalar(),
                              magnitudes=[theta], families={"z": ["J_z"]},
                              generator=torch.Generator().manual_seed(1))
    v = 2 * math.sin(theta / 2) * torch.hypot(x[:, 0], x[:, 1])
    assert float(prof.mean["z"][0]) == pytest.approx(float(v.mean()), rel=1e-12)
    assert float(prof.sem["z"][0]) == pytest.approx(float(v.std() / math.sqrt(40)), rel=1e-10)


def test_audit_of_one_sample_has_a_zero_standard_error_not_nan():
    """Edge value: B = 1. Kills one-sample-sem-nan."""
    x = torch.randn(1, 3, generator=torch.Generator().manual_seed(0), dtype=D)
    prof = invariance_profile(lambda v: v, x, SO3(), Vector(), 3 * Scalar(), magnitudes=[0.5])
    assert float(prof.sem["rotation"][0]) == 0.0


# ------------------------------------------------------------------------- testing.py
def test_a_batch_mean_is_caught_although_permutations_leave_it_unchanged():
    """``x - x.mean(0)`` is permutation-equivariant: only the halves reveal it.
    Kills batch-dep-permute-only."""
    x = torch.randn(8, 3, generator=torch.Generator().manual_seed(0), dtype=D)
    with pytest.raises(AssertionError, match="depends on the rest of its batch"):
        assert_batch_independent(lambda v: v - v.mean(0), x)


def test_equivariance_error_relative_is_divided_by_the_output_size():
    """relative = absolute / max(1, |g.f(x)|): a constant offset on a large output.
    Kills equiv-error-relative-unscaled."""
    c = torch.tensor([1.0, 0.0, 0.0], dtype=D)
    absolute, relative = equivariance_error(lambda v: 1e4 * v + c, SO3(), Vector(), Vector(),
                                            generator=torch.Generator().manual_seed(0))
    assert absolute > 0.1
    assert relative < absolute / 100


# ------------------------------------------------------------------------- reps
def test_upper_and_lower_indices_under_a_boost():
    """Vector: x -> g x; Dual: w -> g^-T w, drho = -A^T; Tensor(1, 1) = T^mu_nu: T -> g T g^-1
    (upper index first). A boost is not orthogonal, so each convention shows.
    Kills dual-drho-no-sign, dual-rho-no-inverse, tensor-lower-first."""
    G = Lorentz()
    g = Lorentz.boost(torch.tensor([0.3, -0.2, 0.5], dtype=D))
    A = G.generators[0] + 0.5 * G.generators[4]
    w = torch.randn(5, 4, generator=torch.Generator().manual_seed(0), dtype=D)
    dual = Dual(Vector()).bind(G)
    assert torch.allclose(dual.act(g, w), w @ torch.linalg.inv(g), atol=1e-12)
    assert torch.allclose(dual.infinitesimal(A, w), -w @ A, atol=1e-12)
    T = torch.randn(5, 4, 4, generator=torch.Generator().manual_seed(1), dtype=D)
    t11 = Tensor(1, 1).bind(G)
    assert torch.allclose(t11.act(g, T), g @ T @ torch.linalg.inv(g), atol=1e-12)
    assert torch.allclose(t11.infinitesimal(A, T), A @ T - T @ A, atol=1e-12)


def test_product_rho_is_the_kronecker_product_in_factor_order():
    """rho(g) of Vector * Dual(Vector) acting on the flattened (i, j) components equals the
    per-axis action. Kills kron-order."""
    G = Lorentz()
    g = Lorentz.boost(torch.tensor([0.4, 0.1, -0.3], dtype=D)) @ Lorentz.rotation(
        torch.tensor([0.2, 0.5, 0.1], dtype=D))
    rep = Product(Vector(), Dual(Vector())).bind(G)
    assert torch.allclose(rep.rho(g), torch.kron(g, torch.linalg.inv(g).T), atol=1e-12)


@pytest.mark.parametrize("rep", [Tensor(2, 0), Product(Vector(), Dual(Vector())), Tensor(1, 1)])
def test_float32_data_through_product_reps_stay_float32(rep):
    """Low-precision data are transformed in float64 and rounded once to their dtype.
    Kills product-act-float64-out."""
    rep = rep.bind(Lorentz())
    x = torch.randn(3, 4, 4, dtype=torch.float32)
    g = Lorentz().sample(3)
    assert rep.act(g, x).dtype == torch.float32
    assert rep.infinitesimal(Lorentz().generators[0], x).dtype == torch.float32


def test_point_infinitesimal_all_includes_the_translation():
    """xi of a translation generator on a position is the unit shift.
    Kills point-inf-all-no-shift."""
    from liesoft import Point

    x = torch.randn(5, 3, dtype=D)
    G = E3()
    out = Point().bind(G).infinitesimal_all(G.generators, x)
    assert torch.allclose(out[3:], torch.eye(3, dtype=D)[:, None, :].expand(3, 5, 3))
    assert torch.allclose(out[2], torch.stack([-x[:, 1], x[:, 0], torch.zeros(5, dtype=D)], -1))


# ------------------------------------------------------------------------- groups
def test_lorentz_sampler_draws_beta_squared_uniformly():
    """|beta|^2 uniform on [0, beta_max^2]: mean beta_max^2 / 2, and P(|beta| < beta_max / 2)
    = 1/4 (uniform |beta| would give 1/2). Kills lorentz-beta-uniform."""
    g = Lorentz().sample(20000, generator=torch.Generator().manual_seed(0), beta_max=0.8)
    beta = (g[:, 1:, 0] / g[:, 0, 0:1]).norm(dim=-1)
    assert float((beta ** 2).mean()) == pytest.approx(0.32, abs=0.01)
    assert float((beta < 0.4).double().mean()) == pytest.approx(0.25, abs=0.015)


def test_e3_translation_scale_is_a_standard_deviation():
    """t ~ N(0, scale^2) per axis: std 3 for scale 3 (not 9). Kills e3-translation-variance."""
    g = E3().sample(20000, generator=torch.Generator().manual_seed(0), translation_scale=3.0)
    assert float(g[:, :3, 3].std()) == pytest.approx(3.0, rel=0.03)


def test_sample_discrete_honours_dtype():
    """Kills discrete-dtype-ignored."""
    for G in (Lorentz(), SO3(), E3()):
        assert G.sample_discrete(4, dtype=torch.float32).dtype == torch.float32


# ------------------------------------------------------------------------- the exponential
@pytest.mark.parametrize("phi", [0.001, 0.01, 0.03, 0.03125, 0.049, 0.059, 0.061, 0.3, 2.0])
def test_group_exp_is_exact_to_float64_rounding_at_small_norms(phi):
    """exp(phi K_x) = cosh/sinh to 1e-15 relative (torch 2.13's CPU matrix_exp is 2.3e-10 off
    at phi = 0.049), and a rotation by 2^-5 about z lies in the beam subgroup (it failed
    tests/test_groups.py on main). Planted bug: liesoft.groups.expm.SMALL = 0 (torch only)."""
    G = Lorentz()
    g = G.exp(phi * G.generators[0])
    ref = torch.eye(4, dtype=D)
    ref[0, 0] = ref[1, 1] = math.cosh(phi)
    ref[0, 1] = ref[1, 0] = -math.sinh(phi)
    assert float((g - ref).abs().max()) <= 4e-16 * math.cosh(phi)
    beam = G.preserving_subspace(torch.tensor([1.0, 0, 0, 0], dtype=D),
                                 torch.tensor([0, 0, 0, 1.0], dtype=D))
    assert bool(beam.contains(beam.exp(phi * beam.generators[1])))


# ------------------------------------------------------------------------- dtype paths
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_every_sampler_of_every_group_honours_dtype(dtype):
    """The same kind of hole as discrete-dtype-ignored, for each sampler of the zoo's groups
    (built-in, subgroups, user-defined): sample, sample_discrete and exp keep the requested
    dtype."""
    from groups_zoo import GROUPS, group

    for name in sorted(GROUPS):
        G = group(name)
        assert G.sample(3, dtype=dtype).dtype == dtype, name
        assert G.sample_discrete(3, dtype=dtype).dtype == dtype, name
        assert G.exp(G.generators.to(dtype)).dtype == dtype, name


# ------------------------------------------------------------------------- budget
@pytest.mark.parametrize("ratio", [1e-3, 1e3])
def test_budget_step_is_clipped_on_both_sides(ratio):
    """|ln(ema / target)| enters at most ``clip``: a penalty 1000x under target moves ln(lam)
    by -rate*clip, exactly as 1000x over moves it by +rate*clip (a zero penalty was already
    tested; a tiny positive one was not). Kills clip-one-sided."""
    from liesoft.experimental import ViolationBudget

    b = ViolationBudget(lambda f, x: torch.zeros(()), target=2.0, rate=0.05, clip=0.5)
    lam = b.next_lam(1.0, 2.0 * ratio)
    assert lam == pytest.approx(math.exp(math.copysign(0.05 * 0.5, math.log(ratio))), rel=1e-14)


def _reps_and_groups():
    from liesoft import AxialVector, Point, Pseudoscalar

    lor, so3, e3 = Lorentz(), SO3(), E3()
    return [(lor, Scalar()), (lor, Vector4()), (lor, Dual(Vector())), (lor, Vector() + Scalar()),
            (lor, Tensor(1, 1)), (lor, Tensor(0, 2)), (lor, Vector() * Vector() + Dual(Vector())),
            (so3, Pseudoscalar()), (so3, AxialVector()), (so3, Vector() * AxialVector()),
            (e3, Point()), (e3, Vector()), (e3, Point() + Vector())]


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_every_rep_keeps_low_precision_data_in_their_dtype(dtype):
    """The kind of hole of product-act-float64-out, for every rep: act, infinitesimal and
    infinitesimal_all on float32/bfloat16 data return that dtype, and equal the float64
    computation rounded once."""
    for G, rep in _reps_and_groups():
        rep = rep.bind(G)
        x64 = torch.randn(3, 2, *rep.shape(), generator=torch.Generator().manual_seed(0),
                          dtype=D)
        x = x64.to(dtype)
        g = G.sample(3, generator=torch.Generator().manual_seed(1)) @ G.sample_discrete(
            3, generator=torch.Generator().manual_seed(2))
        out = rep.act(g, x)
        assert out.dtype == dtype, rep
        assert torch.equal(out, rep.act(g, x.to(D)).to(dtype)), rep
        assert rep.infinitesimal(G.generators[0], x).dtype == dtype, rep
        assert rep.infinitesimal_all(G.generators, x).dtype == dtype, rep


def test_tensor_p_q_has_its_upper_indices_first_for_any_p_q():
    """Tensor(2, 1): T^{ab}_c -> g^a_i g^b_j T^{ij}_k (g^-1)^k_c, and Tensor(1, 2) likewise:
    the kind of hole of tensor-lower-first beyond (1, 1); metric contraction of
    Tensor(1, 1) (the trace) is invariant, of Tensor(0, 2) with eta^-1 too."""
    G = Lorentz()
    g = Lorentz.boost(torch.tensor([0.5, 0.2, -0.1], dtype=D))
    gi = torch.linalg.inv(g)
    gen = torch.Generator().manual_seed(0)
    T = torch.randn(2, 4, 4, 4, generator=gen, dtype=D)
    want = torch.einsum("ai,bj,nijk,kc->nabc", g, g, T, gi)
    assert torch.allclose(Tensor(2, 1).bind(G).act(g, T), want, atol=1e-10)
    want = torch.einsum("ai,nijk,jb,kc->nabc", g, T, gi, gi)
    assert torch.allclose(Tensor(1, 2).bind(G).act(g, T), want, atol=1e-10)
    M = torch.randn(2, 4, 4, generator=gen, dtype=D)
    tr = lambda t: torch.diagonal(t, dim1=-2, dim2=-1).sum(-1)   # noqa: E731
    assert torch.allclose(tr(Tensor(1, 1).bind(G).act(g, M)), tr(M), atol=1e-10)
    eta = torch.diag(torch.tensor([1.0, -1, -1, -1], dtype=D))
    lower = Tensor(0, 2).bind(G).act(g, M)
    assert torch.allclose(torch.einsum("nij,ij->n", lower, eta), torch.einsum(
        "nij,ij->n", M, eta), atol=1e-10)
