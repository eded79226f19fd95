"""Mutation lab 3 (issue 32 item 7): the library behaviours that the suite did not pin, each
written from the source's docstrings; every test's docstring names the mutants of
``tests/mutants/issue32_lab3.py`` it kills. Everything runs in float64 (values compared at
1e-12 relative) or compares exact equalities (flags, random states, counts)."""

import functools
import math

import pytest
import torch

from liesoft import (
    GSEAL,
    SO3,
    DeltaSEAL,
    Lorentz,
    MatrixLieGroup,
    Representation,
    Sampler,
    Scalar,
    Vector,
    find_lambda,
    measure_violation,
)
from liesoft.experimental import ViolationBudget
from liesoft.penalties.model_state import dropout_off

F64 = torch.float64


class Net(torch.nn.Module):
    """Vector (B, 3) -> scalar (B,): linear, batch norm, dropout, linear."""

    def __init__(self, p=0.5):
        super().__init__()
        self.lin1 = torch.nn.Linear(3, 8)
        self.bn = torch.nn.BatchNorm1d(8)
        self.drop = torch.nn.Dropout(p)
        self.lin2 = torch.nn.Linear(8, 1)

    def forward(self, x):
        return self.lin2(self.drop(torch.tanh(self.bn(self.lin1(x))))).squeeze(-1)


def _x(n=6, seed=1):
    return torch.randn(n, 3, generator=torch.Generator().manual_seed(seed), dtype=F64)


def _gseal_by_hand(pen, f, x, seed):
    """Eq. 6 for a scalar output: mean_i (f(g_i x_i) - f(x_i))^2, g from the penalty's own
    sampler with the same generator state (fraction 1: the sampler's draw is the only one)."""
    g = pen.sample(x.shape[0], x.device, torch.Generator().manual_seed(seed))
    gx = torch.einsum("bij,bj->bi", g, x)
    return float((f(gx) - f(x)).pow(2).mean())


# --------------------------------------------------------------------------- the pass policy
def test_batch_norm_flags_and_buffers_are_restored_on_return_and_on_an_exception():
    """Kills ms-training-flag-not-restored: after a penalty pass (and after one whose model
    raises) every batch-norm layer is back in training mode with its own running buffers."""
    torch.manual_seed(0)
    net = Net(p=0.0).double().train()
    mean, var = net.bn.running_mean.clone(), net.bn.running_var.clone()
    pen = GSEAL(SO3(), Vector())
    pen(net, _x(), generator=torch.Generator().manual_seed(0))
    assert net.bn.training is True
    assert torch.equal(net.bn.running_mean, mean) and torch.equal(net.bn.running_var, var)
    calls = []

    def failing(z):
        calls.append(1)
        if len(calls) == 2:       # the boosted pass, after the batch-norm layer was switched
            raise RuntimeError("boom")
        return net(z)

    with pytest.raises(RuntimeError, match="boom"):
        pen(failing, _x(), generator=torch.Generator().manual_seed(0))
    assert net.bn.training is True
    assert torch.equal(net.bn.running_mean, mean) and torch.equal(net.bn.running_var, var)


def test_eval_mode_layers_are_left_alone():
    """Kills ms-eval-batchnorm-gets-batch-stats and ms-eval-dropout-is-stochastic: with the
    model in eval() mode the penalty is eq. 6 of the model as it is (batch norm with its
    running statistics, dropout off), drawing nothing but the group elements from the
    generator and nothing from the global random state."""
    torch.manual_seed(0)
    net = Net(p=0.5).double()
    with torch.no_grad():
        net.bn.running_mean.fill_(3.0)
        net.bn.running_var.fill_(9.0)
    net.eval()
    pen = GSEAL(SO3(), Vector())
    x = _x(8)
    state = torch.get_rng_state()
    value = float(pen(net, x, generator=torch.Generator().manual_seed(5)).detach())
    assert torch.equal(torch.get_rng_state(), state)
    with torch.no_grad():
        expected = _gseal_by_hand(pen, net, x, 5)
    assert value == pytest.approx(expected, rel=1e-12)
    pen(net, x)                                   # no generator: still no draw for dropout
    after_one = torch.get_rng_state()
    torch.set_rng_state(state)
    pen.sample(x.shape[0], x.device)              # exactly the sampler's draw
    assert torch.equal(torch.get_rng_state(), after_one)


def test_a_partial_with_the_model_as_a_keyword_is_seen():
    """Kills ms-partial-keywords-unseen: ``functools.partial(fn, model=net)`` hides the model
    in its keywords; the penalty must still see its training-mode batch norm and leave the
    running statistics alone (GSEAL alone never runs the task pass)."""
    torch.manual_seed(0)
    net = Net(p=0.0).double().train()

    def fn(z, model):
        return model(z)

    mean, var = net.bn.running_mean.clone(), net.bn.running_var.clone()
    steps = int(net.bn.num_batches_tracked)
    GSEAL(SO3(), Vector())(functools.partial(fn, model=net), _x(),
                           generator=torch.Generator().manual_seed(0))
    assert torch.equal(net.bn.running_mean, mean) and torch.equal(net.bn.running_var, var)
    assert int(net.bn.num_batches_tracked) == steps


class Shared(torch.nn.Module):
    """One batch-norm layer called twice in a forward pass."""

    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(3, 4)
        self.b = torch.nn.Linear(4, 4)
        self.bn = torch.nn.BatchNorm1d(4, affine=False)
        self.out = torch.nn.Linear(4, 1)

    def forward(self, x):
        h = torch.tanh(self.bn(self.a(x)))
        return self.out(torch.tanh(self.bn(self.b(h)))).squeeze(-1)


def test_a_layer_called_twice_normalises_each_call_with_that_calls_clean_statistics():
    """Kills ms-shared-layer-one-stats: the statistics are recorded per call of a layer
    (docstring: 'each layer's batch mean and variance' of the clean pass), so the second call
    of a shared layer uses the second call's clean-batch statistics."""
    torch.manual_seed(0)
    net = Shared().double().train()
    x = _x(7)
    pen = GSEAL(SO3(), Vector())
    value = float(pen(net, x, generator=torch.Generator().manual_seed(3)).detach())
    eps = net.bn.eps
    with torch.no_grad():
        h1 = net.a(x)
        m1, v1 = h1.mean(0), h1.var(0, unbiased=False)
        h2 = net.b(torch.tanh((h1 - m1) / (v1 + eps).sqrt()))
        m2, v2 = h2.mean(0), h2.var(0, unbiased=False)

        def fixed(z):
            u = torch.tanh((net.a(z) - m1) / (v1 + eps).sqrt())
            return net.out(torch.tanh((net.b(u) - m2) / (v2 + eps).sqrt())).squeeze(-1)

        expected = _gseal_by_hand(pen, fixed, x, 3)
    assert value == pytest.approx(expected, rel=1e-12)


class WithInstanceNorm(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(3, 8)
        self.inorm = torch.nn.InstanceNorm1d(2, track_running_stats=True)
        self.out = torch.nn.Linear(8, 1)

    def forward(self, x):
        h = self.inorm(self.lin(x).reshape(-1, 2, 4)).reshape(-1, 8)
        return self.out(h).squeeze(-1)


def test_instance_norm_running_buffers_are_shielded():
    """Kills ms-instance-norm-not-shielded: the penalty's passes of a training-mode instance
    norm with running statistics go to throw-away copies; the layer's buffers keep their
    values."""
    torch.manual_seed(0)
    net = WithInstanceNorm().double().train()
    mean, var = net.inorm.running_mean.clone(), net.inorm.running_var.clone()
    GSEAL(SO3(), Vector())(net, _x(), generator=torch.Generator().manual_seed(0))
    assert torch.equal(net.inorm.running_mean, mean)
    assert torch.equal(net.inorm.running_var, var)


def test_dropout_off_restores_the_flags_when_the_body_raises():
    """Kills ms-dropout-off-not-restored-on-error: ``dropout_off`` switches dropout to eval
    and back, also when the code inside raises (assert_equivariant runs under it)."""
    net = Net(p=0.5).train()
    with pytest.raises(KeyError):
        with dropout_off(net):
            assert net.drop.training is False
            raise KeyError("inside")
    assert net.drop.training is True


# --------------------------------------------------------------------------- subsets
def test_the_subset_is_drawn_from_the_generator_and_has_round_fraction_b_rows():
    """Kills base-subset-ignores-generator and base-subset-size-floor: ``fraction`` evaluates
    on ``round(fraction * B)`` samples chosen with the penalty's generator (the global random
    state untouched, the same seed the same subset)."""
    torch.manual_seed(0)
    net = Net(p=0.0).double().eval()
    seen = []

    def f(z):
        seen.append(z.shape[0])
        return net(z)

    x = _x(7)
    pen = GSEAL(SO3(), Vector(), fraction=0.5)       # 3.5 -> 4 rows
    state = torch.get_rng_state()
    a = pen(f, x, generator=torch.Generator().manual_seed(11))
    assert torch.equal(torch.get_rng_state(), state)
    assert seen == [4, 4]
    b = pen(f, x, generator=torch.Generator().manual_seed(11))
    assert float(a.detach()) == float(b.detach())


# --------------------------------------------------------------------------- the λ search
T = 1e-2


def _spy(gamma_of):
    lams = []

    def train(lam):
        lams.append(lam)
        return gamma_of(lam)
    return train, lams


def test_the_landing_band_is_a_factor_on_both_sides():
    """Kills search-band-one-sided: Γ_final = target/2 is not within a factor 1 + rtol of the
    target, so one training of it does not land."""
    train, lams = _spy(lambda lam: T / 2)
    with pytest.warns(RuntimeWarning):
        s = find_lambda(train, T, lam=1.0, max_trainings=1)
    assert s.status == "unconverged" and lams == [1.0]
    s = find_lambda(lambda lam: T / 1.05, T, lam=1.0, max_trainings=1)
    assert s.status == "landed"


def test_the_bracket_is_the_nearest_pair_and_regula_falsi_in_ln_lambda():
    """Kills search-bracket-farthest-high: bracketed, the next λ is the secant in ln λ between
    the *nearest* trials either side (the largest λ above the target, the smallest below)."""
    known = [(0.01, 100 * T), (0.5, 1.5 * T), (2.0, 0.5 * T)]
    train, lams = _spy(lambda lam: T)
    s = find_lambda(train, T, known=known)
    xl, xh = math.log(0.5), math.log(2.0)
    yl, yh = math.log(1.5), math.log(0.5)
    x = xl + (xh - xl) * yl / (yl - yh)
    assert lams == [pytest.approx(math.exp(x), rel=1e-12)] and s.status == "landed"


def test_a_flat_response_steps_the_full_factor_towards_the_target():
    """Kills search-flat-steps-backwards: two trials above the target with the same Γ (Γ does
    not answer λ there): the next λ is max_step times the larger λ (more penalty), not less."""
    train, lams = _spy(lambda lam: T)
    find_lambda(train, T, known=[(1.0, 4 * T), (2.0, 4 * T)], max_step=100.0)
    assert lams == [pytest.approx(200.0, rel=1e-12)]


def test_lambda_never_leaves_lam_min_and_a_met_target_there_is_inactive():
    """Kills search-lam-below-lam-min: a step below lam_min is clamped to lam_min (the range
    searched), where a Γ under the target reports 'inactive'."""
    train, lams = _spy(lambda lam: T * 1e-6)
    s = find_lambda(train, T, known=[(1e-3, T * math.exp(-10))], lam_min=1e-4)
    assert lams == [1e-4] and s.status == "inactive"


def test_a_known_trials_payload_comes_back_with_it():
    """Kills search-known-payload-dropped: a known (λ, Γ, payload) triple that lands is
    returned without training, with its payload."""
    s = find_lambda(lambda lam: pytest.fail("trained"), T, known=[(0.3, T, "ckpt.pt")])
    assert s.status == "landed" and s.payload == "ckpt.pt" and s.trainings == 0


# --------------------------------------------------------------------------- the budget
def _budget_with_groups(lrs, **kw):
    params = [torch.nn.Parameter(torch.zeros(1)) for _ in lrs]
    opt = torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, lrs,
                                                                       strict=True)])
    budget = ViolationBudget(lambda f, x: torch.tensor(1.0, dtype=F64), 0.5, optimizer=opt,
                             **kw)
    return budget, opt


def _update(budget):
    budget.train()
    with torch.enable_grad():
        budget(lambda z: z, torch.zeros(1))


def test_the_ratio_is_the_largest_over_groups_and_any_group_decaying_counts():
    """Kills budget-lr-ratio-smallest and budget-reads-first-group-only: r_t is the *largest*
    lr_t / lr_ref over the groups; the target loosens once *some* group has decayed (here the
    second group only)."""
    budget, opt = _budget_with_groups([1.0, 1.0], slack=2.0)
    _update(budget)
    opt.param_groups[0]["lr"], opt.param_groups[1]["lr"] = 0.5, 0.25
    assert budget.lr_ratio == 0.5
    budget, opt = _budget_with_groups([1.0, 1.0], slack=2.0)
    _update(budget)
    opt.param_groups[1]["lr"] = 0.25                 # group 0 constant, group 1 decays
    _update(budget)
    assert budget.target_now == pytest.approx(0.5 * (1 + 2.0 * 1.0), rel=1e-15)


def test_the_lr_references_travel_in_the_state_dict():
    """Kills budget-lr-refs-not-loaded: a resumed budget (its optimizer already at the decayed
    rate) reads the saved references, not the rates it was built with."""
    budget, opt = _budget_with_groups([1.0, 2.0])
    _update(budget)
    for g in opt.param_groups:
        g["lr"] = g["lr"] / 4
    _update(budget)
    state = budget.state_dict()
    resumed, _ = _budget_with_groups([0.25, 0.5])
    resumed.load_state_dict(state)
    assert resumed.lr_ratio == pytest.approx(0.25, rel=1e-15)
    assert resumed.target_now == pytest.approx(budget.target_now, rel=1e-15)


def test_no_update_when_the_model_is_in_eval_mode():
    """Kills budget-updates-with-eval-model: 'no update happens ... when f is a module in
    eval() mode'; the call still returns λ·Γ and records Γ."""
    budget, _ = _budget_with_groups([1.0], lam_init=3.0)
    budget.train()
    model = torch.nn.Identity().eval()
    out = budget(model, torch.zeros(1))
    assert float(out) == 3.0 and budget.steps == 0 and budget.value == 1.0


# --------------------------------------------------------------------------- δSEAL fd
def test_fd_draws_one_direction_per_sample():
    """Kills dseal-fd-one-direction-per-batch: mode='fd' is |f(exp(eps A_i) x_i) - f(x_i)|^2 /
    (n eps^2) averaged over samples, with A_i = sum_a c_ia L_a and c ~ N(0, 1) drawn per
    sample (the generator's first draw, (B, n) in float64)."""
    torch.manual_seed(0)
    w = torch.randn(3, dtype=F64)

    def f(z):
        return (z @ w) ** 2

    group = SO3()
    x = _x(5)
    pen = DeltaSEAL(group, Vector(), mode="fd", eps=1e-3)
    value = float(pen(f, x, generator=torch.Generator().manual_seed(4)))
    c = torch.randn(5, pen.n, generator=torch.Generator().manual_seed(4), dtype=F64)
    A = torch.einsum("bn,nij->bij", c, group.generators)
    gx = torch.einsum("bij,bj->bi", torch.linalg.matrix_exp(1e-3 * A), x)
    expected = float(((f(gx) - f(x)) / 1e-3).pow(2).mean() / pen.n)
    assert value == pytest.approx(expected, rel=1e-9)


# --------------------------------------------------------------------------- measure_violation
def _gseal_setup():
    torch.manual_seed(0)
    net = Net(p=0.0).double().eval()
    return GSEAL(SO3(), Vector()), net, _x(10)


def test_each_draw_has_its_own_seed_and_the_stderr_is_over_draws():
    """Kills violation-same-seed-every-draw and violation-stderr-population: draw d is the
    penalty with a generator seeded seed + d; stderr = sample std over draws / sqrt(draws)."""
    pen, net, x = _gseal_setup()
    v = measure_violation(pen, net, x, draws=3, seed=100)
    with torch.no_grad():
        by_hand = [float(pen(net, x, generator=torch.Generator().manual_seed(100 + d)))
                   for d in range(3)]
    assert v.values == pytest.approx(tuple(by_hand), rel=1e-12)
    mean = sum(by_hand) / 3
    sd = math.sqrt(sum((b - mean) ** 2 for b in by_hand) / 2)
    assert v.stderr == pytest.approx(sd / math.sqrt(3), rel=1e-10)


def test_every_sample_enters_the_chunked_mean():
    """Kills violation-last-chunk-dropped: 10 samples in chunks of 4 are 4 + 4 + 2; with a
    penalty that is a mean over samples the chunk-size-weighted mean is the whole-batch one."""
    x = _x(10)

    def penalty(f, z, generator=None):
        return f(z).pow(2).mean()

    v = measure_violation(penalty, lambda z: z.sum(-1), x, draws=1, chunk=4)
    assert v.mean == pytest.approx(float(x.sum(-1).pow(2).mean()), rel=1e-12)


def test_training_flags_come_back_when_the_penalty_raises():
    """Kills violation-flags-not-restored-on-error: the models are put in eval() for the
    measurement and each one's flag restored after, also when the penalty raises."""
    net = Net().train()

    def penalty(f, z, generator=None):
        assert not net.training
        raise ValueError("bad penalty")

    with pytest.raises(ValueError, match="bad penalty"):
        measure_violation(penalty, net, _x().float())
    assert net.training and net.bn.training and net.drop.training


# --------------------------------------------------------------------------- Sampler, groups
def test_building_a_sampler_leaves_the_global_random_state_alone():
    """Kills sampler-check-draws-global-rng: 'Bad options fail at construction (one draw from
    a throw-away generator; the global random state is untouched)'."""
    state = torch.get_rng_state()
    Sampler(Lorentz(), beta_max=0.5)
    Lorentz().sampler(discrete=True)
    assert torch.equal(torch.get_rng_state(), state)


def test_selected_names_are_the_selected_generators_names():
    """Kills select-names-misaligned: a selection's names follow its indices."""
    sel = Lorentz().select_generators(["J_z", "K_x"])
    assert sel.indices == [5, 0] and sel.names == ("J_z", "K_x")
    assert Lorentz().select_generators("rotation").names == ("J_x", "J_y", "J_z")


def test_a_large_element_of_a_preserving_group_passes_its_form_test():
    """Kills contains-form-tolerance-unscaled: the invariant-form test ``g^T M g = M`` is
    scaled by max|g|^2 (its rounding grows so); a boost of size ~3e4 built in float64 is in
    SO+(1, 3) defined by its metric."""
    eta = torch.diag(torch.tensor([1.0, -1.0, -1.0, -1.0], dtype=F64))
    group = MatrixLieGroup.preserving(eta)
    K = torch.zeros(4, 4, dtype=F64)
    K[0, 1] = K[1, 0] = 1.0
    R = torch.zeros(4, 4, dtype=F64)
    R[2, 3], R[3, 2] = -1.0, 1.0
    K2 = torch.zeros(4, 4, dtype=F64)
    K2[0, 2] = K2[2, 0] = 1.0
    g = torch.linalg.matrix_exp(11 * K) @ torch.linalg.matrix_exp(0.7 * R) @ \
        torch.linalg.matrix_exp(0.3 * K2)
    # |g^T M g - M| is ~1e-7 here (size**2 roundings), above 1000 ulps * size = 7e-9
    assert float(g.abs().max()) > 3e4
    assert bool(group.contains(g))


def test_each_discrete_generator_is_included_with_probability_one_half():
    """Kills discrete-flip-probability: sample_discrete includes each discrete generator with
    probability 1/2 (P flips space, T flips time), independently."""
    g = Lorentz().sample_discrete(4000, generator=torch.Generator().manual_seed(0), dtype=F64)
    time_flip = (g[:, 0, 0] < 0).double().mean()
    space_flip = (g[:, 1, 1] < 0).double().mean()
    for p in (time_flip, space_flip):   # 1/2 within 4 standard errors (0.0079 each)
        assert abs(float(p) - 0.5) < 0.032


# --------------------------------------------------------------------------- representations
def test_a_rep_to_the_power_zero_is_the_scalar():
    """Kills rep-pow-zero-is-self: rep ** 0 is Scalar(), rep ** 1 the rep itself."""
    assert Vector() ** 0 == Scalar()
    assert Vector() ** 1 == Vector()


def test_infinitesimal_all_keeps_float32():
    """Kills rep-infinitesimal-all-float64-out: like act and infinitesimal, the batched
    infinitesimal action returns x's dtype (computed in float64, rounded once)."""
    rep = Vector().bind(SO3())
    x = _x(4).float()
    out = rep.infinitesimal_all(SO3().generators, x)
    assert out.dtype == torch.float32
    ref = torch.einsum("nij,bj->nbi", SO3().generators, x.double()).float()
    assert torch.equal(out, ref)


class BrokenRep(Representation):
    """A user rep whose drho is NaN: verify must reject it."""

    def shape(self, d):
        return ()

    def rho(self, g):
        return torch.ones(*g.shape[:-2], 1, 1, dtype=g.dtype)

    def drho(self, A):
        return torch.full((*A.shape[:-2], 1, 1), math.nan, dtype=A.dtype)


def test_verify_rejects_a_nan_error():
    """Kills verify-nan-passes: an error that is NaN is not <= rtol; verify names it."""
    with pytest.raises(AssertionError, match="derivative"):
        BrokenRep().verify(SO3())


def test_exact_dseal_refuses_a_reused_output_with_a_fraction():
    """Kills dseal-fx-reuse-with-fraction: mode='exact' differentiates fx with respect to x,
    which a subset of the rows cannot do (the subset is a new tensor, not the x of fx's graph:
    the Jacobian would silently be zero); 'fx can be reused ... only with fraction=1'."""
    torch.manual_seed(0)
    net = Net(p=0.0).double().eval()
    x = _x(6).requires_grad_(True)
    pen = DeltaSEAL(SO3(), Vector(), fraction=0.5)
    with pytest.raises(ValueError, match="only with fraction=1"):
        pen(net, x, fx=net(x), generator=torch.Generator().manual_seed(0))
    whole = DeltaSEAL(SO3(), Vector())
    assert float(whole(net, x, fx=net(x)).detach()) > 0
