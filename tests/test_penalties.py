"""GSEAL (eq. 6) and δSEAL (eq. 10): exactness, routes, estimators, limits, gradients (float64)."""

import math

import pytest
import torch
from seal_zoo import F64, cases, jet_features, m2

from liesoft import GSEAL, DeltaSEAL, Lorentz, MatrixLieGroup, Scalar, Tensor, Vector4

CASES = cases()
NAMES = sorted(CASES)
PENALTIES = {
    "gseal": lambda G, i, o: GSEAL(G, i, o),
    "dseal_exact": lambda G, i, o: DeltaSEAL(G, i, o),
    "dseal_random": lambda G, i, o: DeltaSEAL(G, i, o, mode="random"),
    "dseal_fd": lambda G, i, o: DeltaSEAL(G, i, o, mode="fd"),
}


def seeded(s=0):
    return torch.Generator().manual_seed(s)


def mlp(d_in, d_out, width=16, seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(d_in, width), torch.nn.GELU(),
                               torch.nn.Linear(width, width), torch.nn.Tanh(),
                               torch.nn.Linear(width, d_out)).double()


def scale_of(f, x):
    y = f(x)
    return float(y.pow(2).reshape(y.shape[0], -1).sum(-1).mean()) + 1.0


@pytest.mark.parametrize("penalty", sorted(PENALTIES))
@pytest.mark.parametrize("name", NAMES)
def test_zero_on_equivariant_and_positive_on_violating_functions(name, penalty):
    G, i, o, exact, broken, sample = CASES[name]
    pen = PENALTIES[penalty](G, i, o)
    x = sample(seeded(1))
    value = pen(exact, x, generator=seeded(2))
    assert value.ndim == 0 and value.dtype == F64
    assert float(value) <= 1e-12 * scale_of(exact, x)
    assert float(pen(broken, x, generator=seeded(2))) > 1e-3


def test_the_users_line_works_verbatim():
    model = mlp(4, 1)
    x = torch.randn(32, 4, dtype=F64)
    task_loss = model(x).pow(2).mean()
    lam = 0.1
    for penalty in (DeltaSEAL(Lorentz(), in_rep=Vector4(), out_rep=Scalar()),
                    GSEAL(Lorentz(), in_rep=Vector4(), out_rep=Scalar())):
        loss = task_loss + lam * penalty(model, x)
        assert loss.ndim == 0 and loss.requires_grad
        grads = torch.autograd.grad(loss, list(model.parameters()), retain_graph=True)
        assert all(torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("out_dim,rep", [(1, Scalar()), (4, Vector4()), (16, Tensor(2, 0))])
def test_exact_routes_agree(out_dim, rep):
    torch.manual_seed(0)
    net = mlp(4, out_dim)
    f = (lambda p: net(p).reshape(p.shape[0], 4, 4)) if out_dim == 16 else net
    x = torch.randn(24, 4, dtype=F64)
    values = {r: DeltaSEAL(Lorentz(), Vector4(), rep, route=r)(f, x)
              for r in ("reverse", "forward", "forward_ad")}
    ref = float(values["reverse"])
    assert ref > 1e-3
    for r, v in values.items():
        assert abs(float(v) - ref) <= 1e-10 * ref, r


def test_exact_equals_a_direct_per_component_computation():
    """Against an independent implementation: full Jacobian by torch.func.jacrev per sample."""
    net = mlp(4, 4)
    x = torch.randn(10, 4, dtype=F64)
    L = Lorentz().generators
    jac = torch.vmap(torch.func.jacrev(lambda p: net(p[None])[0]))(x)  # (B, 4, 4)
    fx = net(x)
    total = 0.0
    for a in range(6):
        r = torch.einsum("bij,bj->bi", jac, x @ L[a].T) - fx @ L[a].T
        total = total + r.pow(2).sum(-1).mean()
    expected = total / 6
    got = DeltaSEAL(Lorentz(), Vector4(), Vector4())(net, x)
    assert torch.allclose(got, expected, rtol=1e-12)
    # the paper's public code differentiates the *sum* of outputs: wrong for a 4-vector
    summed = sum(((jac.sum(1) * (x @ L[a].T)).sum(-1) - (fx @ L[a].T).sum(-1)).pow(2).mean()
                 for a in range(6)) / 6
    assert abs(float(summed) - float(expected)) > 1e-3 * float(expected)


def _mean_and_sem(values):
    v = torch.tensor(values, dtype=F64)
    return float(v.mean()), float(v.std() / math.sqrt(len(values)))


@pytest.mark.parametrize("rep,out_dim", [(Vector4(), 4), (Scalar(), 1)])
def test_random_mode_is_unbiased(rep, out_dim):
    net = mlp(4, out_dim)
    x = torch.randn(16, 4, dtype=F64)
    exact = float(DeltaSEAL(Lorentz(), Vector4(), rep)(net, x))
    pen = DeltaSEAL(Lorentz(), Vector4(), rep, mode="random")
    mean, sem = _mean_and_sem([float(pen(net, x, generator=seeded(s))) for s in range(400)])
    assert abs(mean - exact) <= 4 * sem
    assert sem < 0.2 * exact  # and the test has power: the estimate is informative


def test_fd_mode_is_unbiased_and_converges_at_second_order():
    net = mlp(4, 4)
    x = torch.randn(16, 4, dtype=F64)
    exact = float(DeltaSEAL(Lorentz(), Vector4(), Vector4())(net, x))
    pen = DeltaSEAL(Lorentz(), Vector4(), Vector4(), mode="fd", eps=1e-4)
    mean, sem = _mean_and_sem([float(pen(net, x, generator=seeded(s))) for s in range(400)])
    assert abs(mean - exact) <= 4 * sem
    # with the same random direction, central differences converge as eps^2
    def value(eps):
        p = DeltaSEAL(Lorentz(), Vector4(), Vector4(), mode="fd", eps=eps, scheme="central")
        return float(p(net, x, generator=seeded(7)))
    d1, d2 = value(0.04) - value(0.02), value(0.02) - value(0.01)
    assert 3.0 < d1 / d2 < 5.0
    # and the forward scheme per draw converges at first order
    def value_fwd(eps):
        p = DeltaSEAL(Lorentz(), Vector4(), Vector4(), mode="fd", eps=eps)
        return float(p(net, x, generator=seeded(7)))
    e1, e2 = value_fwd(0.04) - value_fwd(0.02), value_fwd(0.02) - value_fwd(0.01)
    assert 1.5 < e1 / e2 < 2.5


class _FixedStep(MatrixLieGroup):
    """A one-parameter group whose sampler returns exp(eps A) deterministically."""

    def __init__(self, A, eps):
        super().__init__(A[None])
        self.eps = eps

    def sample(self, n, *, generator=None, dtype=None, device=None):
        g = torch.linalg.matrix_exp(self.eps * self.generators[0])
        return g.expand(n, -1, -1).to(dtype or torch.get_default_dtype())


@pytest.mark.parametrize("rep", [Scalar(), Vector4()])
def test_gseal_over_eps_squared_tends_to_the_delta_seal_term(rep):
    """Appendix A: for g = exp(eps A), GSEAL / eps^2 -> the δSEAL term along A."""
    A = Lorentz().algebra_element(torch.tensor([0.3, -0.2, 0.9, 0.1, 0.5, -0.4], dtype=F64))
    net = mlp(4, 1 if isinstance(rep, Scalar) else 4)
    x = torch.randn(16, 4, dtype=F64)
    target = float(DeltaSEAL(_FixedStep(A, 1.0), Vector4(), rep)(net, x))
    errors = [abs(float(GSEAL(_FixedStep(A, eps), Vector4(), rep)(net, x)) / eps**2 - target)
              for eps in (1e-2, 1e-3)]
    assert errors[1] < 2e-3 * target
    assert errors[1] < errors[0] / 5  # converges (at first order in eps)


def _param_gradcheck(penalty, net, x, seed=3):
    names = [n for n, _ in net.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_(True) for p in net.parameters())

    def fn(*ps):
        model = lambda inp: torch.func.functional_call(net, dict(zip(names, ps, strict=True)),  # noqa: E731
                                                       (inp,))
        return penalty(model, x, generator=seeded(seed))

    assert torch.autograd.gradcheck(fn, params, eps=1e-6, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("make", [
    lambda: GSEAL(Lorentz(), Vector4(), Vector4()),
    lambda: DeltaSEAL(Lorentz(), Vector4(), Vector4(), route="reverse"),
    lambda: DeltaSEAL(Lorentz(), Vector4(), Vector4(), route="forward"),
    lambda: DeltaSEAL(Lorentz(), Vector4(), Vector4(), route="forward_ad"),
    lambda: DeltaSEAL(Lorentz(), Vector4(), Vector4(), mode="random"),
    lambda: DeltaSEAL(Lorentz(), Vector4(), Vector4(), mode="fd"),
    lambda: DeltaSEAL(Lorentz(), Vector4(), Scalar(), fraction=0.5),
], ids=["gseal", "reverse", "forward", "forward_ad", "random", "fd", "fraction"])
def test_parameter_gradients_match_finite_differences(make):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 4)).double()
    penalty = make()
    if penalty.out_rep == Scalar():
        net = torch.nn.Sequential(net, torch.nn.Linear(4, 1).double())
    _param_gradcheck(penalty, net, torch.randn(6, 4, dtype=F64))


class _Tagger(torch.nn.Module):
    """A deep-sets jet model that sanitises padding before the log (as a real tagger must)."""

    def __init__(self, out=1):
        super().__init__()
        self.phi = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.GELU(), torch.nn.Linear(16, 16))
        self.rho = torch.nn.Linear(16, out)

    def forward(self, x, mask):
        pt2 = x[..., 1] ** 2 + x[..., 2] ** 2
        safe = torch.where(mask, pt2, torch.ones_like(pt2))
        feats = torch.cat([x, 0.5 * torch.log(safe)[..., None]], dim=-1)
        h = self.phi(feats) * mask[..., None]
        return self.rho(h.sum(1) / mask.sum(1, keepdim=True))


@pytest.mark.parametrize("penalty", sorted(PENALTIES))
def test_padded_jets_give_finite_penalties_and_gradients(penalty):
    torch.manual_seed(0)
    model = _Tagger().double()
    x = CASES["lorentz_jets_padded"][5](seeded(0))
    mask = x.abs().sum(-1) > 0
    assert not bool(mask.all())
    pen = PENALTIES[penalty](Lorentz(), Vector4(), Scalar())
    value = pen(model, x, mask, generator=seeded(1))
    assert torch.isfinite(value) and float(value) > 0
    # the same as the jets without their padding rows (same draws: one element per jet)
    unpadded = pen(model, x[:, :-2].clone(), mask[:, :-2].clone(), generator=seeded(1))
    assert torch.allclose(value, unpadded, rtol=1e-10)
    grads = torch.autograd.grad(value, list(model.parameters()), allow_unused=True)
    assert all(torch.isfinite(g).all() for g in grads if g is not None)
    # padded particles do not matter: adding more padding leaves the value unchanged
    x_more = torch.cat([x, torch.zeros(x.shape[0], 3, 4, dtype=F64)], dim=1)
    mask_more = x_more.abs().sum(-1) > 0
    again = pen(model, x_more, mask_more, generator=seeded(1))
    assert torch.allclose(again, value, rtol=1e-10)


def test_fraction_is_an_unbiased_subset_estimate():
    net = mlp(4, 1)
    x = torch.randn(40, 4, dtype=F64)
    full = float(DeltaSEAL(Lorentz(), Vector4())(net, x))
    sub = DeltaSEAL(Lorentz(), Vector4(), fraction=0.25)
    calls = []
    counted = lambda inp: (calls.append(inp.shape[0]), net(inp))[1]  # noqa: E731
    sub(counted, x, generator=seeded(0))
    assert calls == [10]
    mean, sem = _mean_and_sem([float(sub(net, x, generator=seeded(s))) for s in range(300)])
    assert abs(mean - full) <= 4 * sem
    assert GSEAL(Lorentz(), Vector4(), fraction=0.01)(net, x).ndim == 0  # at least one sample


def test_fx_reuse_and_return_output():
    net = mlp(4, 4)
    x = torch.randn(12, 4, dtype=F64)
    g = GSEAL(Lorentz(), Vector4(), Vector4())
    calls = []
    counted = lambda inp: (calls.append(1), net(inp))[1]  # noqa: E731
    fx = net(x)
    a = g(counted, x, fx=fx, generator=seeded(4))
    assert len(calls) == 1  # only the transformed input was evaluated
    assert torch.allclose(a, g(net, x, generator=seeded(4)), rtol=1e-13)
    d = DeltaSEAL(Lorentz(), Vector4(), Vector4())
    value, out = d(net, x, return_output=True)
    assert torch.allclose(out, fx) and out.requires_grad
    xr = x.clone().requires_grad_(True)
    assert torch.allclose(d(net, xr, fx=net(xr)), value, rtol=1e-13)


def test_generator_subsets_and_subgroups():
    t, z = torch.tensor([1.0, 0, 0, 0]), torch.tensor([0, 0, 0, 1.0])
    beam = Lorentz().preserving_subspace(t, z)
    pt2 = lambda p: p[..., 1] ** 2 + p[..., 2] ** 2  # noqa: E731
    x = torch.randn(16, 4, dtype=F64)
    for pen in (DeltaSEAL(beam, Vector4()), GSEAL(beam, Vector4()),
                DeltaSEAL(Lorentz(), Vector4(), generators=["K_z", "J_z"]),
                DeltaSEAL(Lorentz(), Vector4(), generators=[2, 5])):
        assert float(pen(pt2, x, generator=seeded(0))) < 1e-20
    # over all six generators: d pt^2 is -2 p_x E (K_x), -2 p_y E (K_y), -2 p_y p_z (J_x),
    # 2 p_x p_z (J_y) and 0 (K_z, J_z), so eq. 10 is (2/3) mean(pt^2 (E^2 + p_z^2))
    expected = 2 / 3 * float((pt2(x) * (x[:, 0] ** 2 + x[:, 3] ** 2)).mean())
    assert math.isclose(float(DeltaSEAL(Lorentz(), Vector4())(pt2, x)), expected, rel_tol=1e-12)
    # only rotations: the energy is invariant; only boosts: it is not
    energy = lambda p: p[..., 0]  # noqa: E731
    assert float(DeltaSEAL(Lorentz(), Vector4(), generators="rotation")(energy, x)) == 0
    boosts = DeltaSEAL(Lorentz(), Vector4(), generators="boost")
    # d/dt E(exp(t K_a) p) = (K_a p)_0 = -p_a: the value is mean_i |p_i|^2 / 3
    assert boosts.n == 3
    assert math.isclose(float(boosts(energy, x)), float(x[:, 1:].pow(2).sum(-1).mean()) / 3,
                        rel_tol=1e-12)
    # normalisation: the mean over the selected generators, as in eq. 10
    per_gen = [float(DeltaSEAL(Lorentz(), Vector4(), generators=[a])(energy, x)) for a in range(3)]
    assert math.isclose(float(boosts(energy, x)), sum(per_gen) / 3, rel_tol=1e-12)


def test_discrete_generators_on_request():
    # det(p1, p2, p3, p4) is invariant under SO(1,3)+ but odd under parity
    def pseudo(x):
        return torch.linalg.det(x)

    x = torch.randn(32, 4, 4, dtype=F64)
    assert float(GSEAL(Lorentz(), Vector4())(pseudo, x)) < 1e-20
    # P and T flip det(x), PT = -1 does not; each is included with probability 1/2, so the
    # residual is 2 det(x) with probability 1/2: E[GSEAL] = 2 mean(det(x)^2)
    pen, many = GSEAL(Lorentz(), Vector4(), discrete=True), x.repeat(64, 1, 1)
    mean, sem = _mean_and_sem([float(pen(pseudo, many, generator=seeded(s))) for s in range(10)])
    expected = 2 * float(pseudo(x).pow(2).mean())
    assert abs(mean - expected) <= 4 * sem and sem < 0.1 * expected
    assert float(GSEAL(Lorentz(), Vector4(), discrete=True)(jet_features, x)) < 1e-18


def test_sampler_options_reach_the_group():
    x = torch.randn(64, 4, dtype=F64)
    energy = lambda p: p[..., 0]  # noqa: E731
    small = float(GSEAL(Lorentz(), Vector4(), beta_max=0.1)(energy, x, generator=seeded(0)))
    large = float(GSEAL(Lorentz(), Vector4(), beta_max=0.9)(energy, x, generator=seeded(0)))
    assert small < large / 10
    # Haar rotations: E[(R p)_z] = 0 and E[(R p)_z^2] = |p|^2 / 3, so for p_z the penalty is
    # mean(|p|^2 / 3 + p_z^2) (boosts of |beta| <= 0.01 add < 1 %)
    rot = GSEAL(Lorentz(), Vector4(), beta_max=0.01, rotations=True)
    many = x.repeat(16, 1)
    mean, sem = _mean_and_sem([float(rot(lambda p: p[..., 3], many, generator=seeded(s)))
                               for s in range(8)])
    expected = float((x[:, 1:].pow(2).sum(-1) / 3 + x[:, 3] ** 2).mean())
    assert abs(mean - expected) <= 4 * sem + 0.01 * expected and sem < 0.05 * expected


def test_float32_inputs_and_constant_models():
    net = mlp(4, 1).float()
    x = torch.randn(8, 4)
    for name, pen in PENALTIES.items():
        p = pen(Lorentz(), Vector4(), Scalar())
        value = p(net, x, generator=seeded(0))
        assert value.dtype == torch.float32 and torch.isfinite(value)
        if name != "dseal_random":  # same draws in float64 (random mode draws u in fx's dtype)
            if name == "dseal_fd":
                p = DeltaSEAL(Lorentz(), Vector4(), Scalar(), mode="fd", eps=1e-2)
            ref = p(mlp(4, 1), x.double(), generator=seeded(0))
            assert math.isclose(float(value), float(ref), rel_tol=1e-3), name
        const = torch.nn.Linear(4, 1)
        zero = p(lambda inp, c=const: c(torch.ones_like(inp)), x, generator=seeded(0))
        assert float(zero) == 0.0
        assert float(p(lambda inp: torch.zeros(inp.shape[0]), x)) == 0.0


def test_no_grad_evaluation_and_m2_with_points_of_a_jet():
    net = mlp(4, 1)
    x = torch.randn(8, 4, dtype=F64)
    with torch.no_grad():
        v = DeltaSEAL(Lorentz(), Vector4())(net, x)
    assert not v.requires_grad
    assert torch.allclose(v, DeltaSEAL(Lorentz(), Vector4())(net, x), rtol=1e-13)
    assert float(DeltaSEAL(Lorentz(), Vector4())(m2, x)) < 1e-20


def test_lambda_relation_of_appendix_a():
    """GSEAL ~ beta_max^2 * δSEAL for small beta_max when the model is rotation invariant."""
    x = torch.randn(4096, 4, dtype=F64)
    energy = lambda p: p[..., 0]  # noqa: E731
    beta_max = 0.05
    d = float(DeltaSEAL(Lorentz(), Vector4())(energy, x))
    pen = GSEAL(Lorentz(), Vector4(), beta_max=beta_max)
    g = sum(float(pen(energy, x, generator=seeded(s))) for s in range(20)) / 20
    assert abs(g / (beta_max**2 * d) - 1) < 0.03


def test_exp_near_identity_matches_matrix_exp():
    from liesoft.groups.expm import exp_near_identity

    L = Lorentz()
    for scale in (1e-4, 1e-2, 0.3):
        A = L.algebra_element(scale * torch.randn(64, 6, dtype=F64, generator=seeded(0)))
        assert torch.allclose(exp_near_identity(A), torch.linalg.matrix_exp(A), rtol=0,
                              atol=2e-13)


# ---------------------------------------------------------------------------- values pinned
def _independent_delta_seal(G, i, o, f, x, t=1e-4):
    """Eq. 10 from its definition: the derivative of f(exp(tL) x) - rho(exp(tL)) f(x) at t = 0
    by central differences of the representations' own actions, squared over every output
    component, averaged over samples and generators."""
    i, o = i.bind(G), o.bind(G)
    fx, total = f(x), 0.0
    for L in G.generators:
        plus, minus = torch.linalg.matrix_exp(t * L), torch.linalg.matrix_exp(-t * L)
        r = (f(i.act(plus, x)) - o.act(plus, fx) - f(i.act(minus, x)) + o.act(minus, fx)) / (2 * t)
        total = total + float(r.pow(2).reshape(x.shape[0], -1).sum(-1).mean())
    return total / G.n_generators


@pytest.mark.parametrize("name", NAMES)
def test_values_on_violating_functions_match_an_independent_computation(name):
    G, i, o, _, broken, sample = CASES[name]
    x = sample(seeded(1))
    expected = _independent_delta_seal(G, i, o, broken, x)
    assert expected > 1e-3
    got = float(DeltaSEAL(G, i, o)(broken, x).detach())
    assert got == pytest.approx(expected, rel=1e-6)
    # GSEAL: the same draws from the group's sampler, eq. 6 written out
    g = G.sample(x.shape[0], generator=seeded(2), dtype=F64)
    ib, ob = i.bind(G), o.bind(G)
    r = broken(ib.act(g, x)) - ob.act(g, broken(x))
    expected_g = float(r.pow(2).reshape(x.shape[0], -1).sum(-1).mean())
    assert float(GSEAL(G, i, o)(broken, x, generator=seeded(2))) == pytest.approx(expected_g,
                                                                                 rel=1e-12)


def _masked(x, m):
    """Lorentz invariant exactly when every row with m = 0 is the zero four-vector."""
    return m2(x) + (1 - m) * x[..., 0]


def _weighted(x, w):
    return m2(x) + w * x[..., 3]


FRACTION_PENALTIES = {
    "gseal": (lambda **kw: GSEAL(Lorentz(), Vector4(), **kw), False),
    "gseal_fx": (lambda **kw: GSEAL(Lorentz(), Vector4(), **kw), True),
    "dseal_exact": (lambda **kw: DeltaSEAL(Lorentz(), Vector4(), **kw), False),
    "dseal_random": (lambda **kw: DeltaSEAL(Lorentz(), Vector4(), mode="random", **kw), False),
    "dseal_fd": (lambda **kw: DeltaSEAL(Lorentz(), Vector4(), mode="fd", **kw), False),
    "dseal_fd_fx": (lambda **kw: DeltaSEAL(Lorentz(), Vector4(), mode="fd", **kw), True),
}


@pytest.mark.parametrize("kind", sorted(FRACTION_PENALTIES))
def test_fraction_takes_the_same_rows_of_x_every_argument_and_fx(kind):
    make, reuse = FRACTION_PENALTIES[kind]
    half, full = make(fraction=0.5), make()
    x = torch.randn(16, 4, dtype=F64, generator=seeded(5))
    keep = torch.rand(16, generator=seeded(6)) < 0.5
    x[~keep] = 0.0
    mask = keep.to(F64)
    # the pairing decides the value: right rows give 0 (to rounding), a shuffled mask does not
    fx = _masked(x, mask) if reuse else None
    for s in range(4):
        assert float(half(_masked, x, mask, fx=fx, generator=seeded(s)).detach()) < 1e-20
    shuffled = mask[torch.randperm(16, generator=seeded(7))]
    assert float(full(_masked, x, shuffled, generator=seeded(0)).detach()) > 1e-2
    # and the value is the full-batch penalty on the drawn rows of x, the argument and fx
    w = torch.randn(16, dtype=F64, generator=seeded(8))
    fx = _weighted(x, w) if reuse else None
    for s in range(4):
        gen = seeded(s)
        idx = torch.randperm(16, generator=gen)[:8]
        expected = full(_weighted, x[idx], w[idx], fx=None if fx is None else fx[idx],
                        generator=gen)
        got = half(_weighted, x, w, fx=fx, generator=seeded(s))
        assert float(expected.detach()) > 1e-3
        assert torch.allclose(got, expected, rtol=1e-12, atol=0)
        if reuse:  # reusing fx changes nothing
            assert torch.allclose(half(_weighted, x, w, generator=seeded(s)), got, rtol=1e-12)


@pytest.mark.parametrize("scheme,order", [("central", 2), ("forward", 1)])
def test_fd_value_per_draw_is_the_exact_residual_along_the_drawn_direction(scheme, order):
    """mode="fd" draws c ~ N(0, 1) per sample (the generator's first draw at fraction=1) and
    differences along A = sum_a c_a L_a: its value is mean_i |sum_a c_ia r_a(x_i)|^2 / n with
    r_a = J_f L_a x - L_a f(x) the exact residuals, up to O(eps^order)."""
    net = mlp(4, 4)
    x = torch.randn(16, 4, dtype=F64, generator=seeded(3))
    L = Lorentz().generators
    jac = torch.vmap(torch.func.jacrev(lambda p: net(p[None])[0]))(x)
    fx = net(x).detach()
    r = torch.stack([torch.einsum("bij,bj->bi", jac, x @ La.T) - fx @ La.T for La in L]).detach()
    errors = []
    for eps in (1e-2, 1e-3):
        pen = DeltaSEAL(Lorentz(), Vector4(), Vector4(), mode="fd", eps=eps, scheme=scheme)
        for s in range(3):
            c = torch.randn(16, 6, generator=seeded(s), dtype=F64)
            expected = float(torch.einsum("ba,abi->bi", c, r).pow(2).sum(-1).mean()) / 6
            got = float(pen(net, x, generator=seeded(s)))
            errors.append(abs(got - expected) / expected)
            # a sign or factor-2 slip in the difference is off by far more than eps^order
            assert errors[-1] < (50 * eps**2 if order == 2 else 2 * eps)
    # and the error shrinks at the scheme's order (10x smaller eps: 10^order smaller error)
    ratio = sum(errors[:3]) / sum(errors[3:])
    assert 0.5 * 10**order < ratio < 2 * 10**order


def test_fd_central_scheme_is_unbiased_for_eq10():
    """Averaged over draws (independently of how the direction is drawn), the central scheme
    estimates exact δSEAL."""
    net = mlp(4, 4)
    x = torch.randn(16, 4, dtype=F64)
    exact = float(DeltaSEAL(Lorentz(), Vector4(), Vector4())(net, x))
    pen = DeltaSEAL(Lorentz(), Vector4(), Vector4(), mode="fd", eps=1e-3, scheme="central")
    mean, sem = _mean_and_sem([float(pen(net, x, generator=seeded(s))) for s in range(300)])
    assert abs(mean - exact) <= 4 * sem and sem < 0.1 * exact


def test_exp_near_identity_on_both_sides_of_its_threshold():
    """The documented bound: exact to 2e-13 when every max-row-sum norm is <= 0.05 (Taylor),
    matrix_exp otherwise; a batch mixing both sizes is exact for each sample."""
    from liesoft.groups.expm import exp_near_identity

    L = Lorentz()
    A = L.algebra_element(torch.randn(32, 6, dtype=F64, generator=seeded(0)))
    unit = torch.cat([L.generators[:1], A / A.abs().sum(-1).amax(-1)[:, None, None]])
    assert torch.allclose(unit.abs().sum(-1).amax(-1), torch.ones(33, dtype=F64))

    def err(M):
        return float((exp_near_identity(M) - torch.linalg.matrix_exp(M)).abs().max())

    # K_x^7 = K_x: at norm 0.05 the truncation error is 0.05^7 / 7! = 1.55e-13, at the bound
    # (0.05 - 1e-12: 0.05 times a rounded unit norm may land a hair above the threshold)
    for norm in (1e-6, 0.01, 0.05 - 1e-12, 0.0525, 0.06, 0.1, 0.3):
        M = norm * unit
        assert (float(M.abs().sum(-1).amax()) <= 0.05) == (norm < 0.05)
        assert err(M) <= 2e-13, norm
    for norm in (1.0, 3.0):
        M = norm * unit
        assert err(M) <= 1e-13 * float(torch.linalg.matrix_exp(M).abs().max()), norm
    # one large matrix among many small ones (the batch's mean norm is below 0.05), at
    # either end of the batch
    for big in (0, 32):
        mixed = 1e-3 * unit.clone()
        mixed[big] = unit[big]
        assert err(mixed) <= 1e-13 * float(torch.linalg.matrix_exp(mixed).abs().max())
