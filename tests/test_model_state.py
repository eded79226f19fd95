"""The model inside the penalty's passes: batch normalisation, dropout, random state
(issue 20 item 1; the policy of docs/models.md)."""

import copy

import pytest
import torch

from liesoft import (
    GSEAL,
    DeltaSEAL,
    Lorentz,
    Vector4,
    assert_batch_independent,
    batch_dependence,
)

D = torch.float64
BETA = 0.6


def batch(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    p = torch.randn(n, 3, generator=g, dtype=D)
    m = 0.5 + torch.rand(n, 1, generator=g, dtype=D)
    return torch.cat([(m ** 2 + (p ** 2).sum(-1, keepdim=True)).sqrt(), p], -1)


class Invariant(torch.nn.Module):
    """An exactly Lorentz-invariant model (it sees only m²) with BatchNorm and Dropout."""

    def __init__(self, norm=torch.nn.BatchNorm1d, p=0.3):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(1, 32), norm(32), torch.nn.Tanh(),
                                        torch.nn.Dropout(p), torch.nn.Linear(32, 3))

    def forward(self, x):
        m2 = x[..., :1] ** 2 - (x[..., 1:] ** 2).sum(-1, keepdim=True)
        return self.body(m2)


def bn_mlp(seed=1, dropout=0.0, norm=torch.nn.BatchNorm1d):
    """A non-invariant MLP with batch normalisation (and dropout) between its layers."""
    torch.manual_seed(seed)
    layers = [torch.nn.Linear(4, 32), norm(32), torch.nn.Tanh()]
    if dropout:
        layers.append(torch.nn.Dropout(dropout))
    layers += [torch.nn.Linear(32, 32), norm(32), torch.nn.Tanh(), torch.nn.Linear(32, 1)]
    return torch.nn.Sequential(*layers).to(D).train()


def frozen_copy(model, x):
    """The per-sample function the penalties must see: a copy whose batch norms, in eval mode,
    normalise with the statistics of the clean batch ``x`` (biased variance)."""
    ref = copy.deepcopy(model)
    stats = {}

    def record(mod, inp):
        h = inp[0].transpose(0, 1).reshape(inp[0].shape[1], -1)  # (C, B * spatial)
        stats[mod] = (h.mean(1), h.var(1, unbiased=False))

    hooks = [m.register_forward_pre_hook(record)
             for m in ref.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        ref(x)
    for h in hooks:
        h.remove()
    for mod, (mean, var) in stats.items():
        mod.running_mean, mod.running_var = mean.clone(), var.clone()
    return ref.eval()


def penalties():
    return {
        "gseal": GSEAL(Lorentz(), Vector4(), beta_max=BETA),
        "gseal_fraction": GSEAL(Lorentz(), Vector4(), beta_max=BETA, fraction=0.5),
        "exact_reverse": DeltaSEAL(Lorentz(), Vector4(), route="reverse"),
        "exact_forward": DeltaSEAL(Lorentz(), Vector4(), route="forward"),
        "exact_forward_ad": DeltaSEAL(Lorentz(), Vector4(), route="forward_ad"),
        "random": DeltaSEAL(Lorentz(), Vector4(), mode="random"),
        "fd": DeltaSEAL(Lorentz(), Vector4(), mode="fd"),
        "fd_central": DeltaSEAL(Lorentz(), Vector4(), mode="fd", scheme="central"),
        "exact_fraction": DeltaSEAL(Lorentz(), Vector4(), fraction=0.5),
    }


# --------------------------------------------------------------------------- requirement 1
def test_exact_random_and_fd_agree_on_a_batchnorm_model_in_training_mode():
    """The three estimators of eq. 10 agree (issue 20: exact 0.103, random 0.308, fd 0.303 before),
    and their common value is δSEAL of the per-sample function with the batch's statistics."""
    model, x = bn_mlp(), batch()
    exact = DeltaSEAL(Lorentz(), Vector4())(model, x).item()
    reference = DeltaSEAL(Lorentz(), Vector4())(frozen_copy(model, x), x).item()
    assert exact == pytest.approx(reference, rel=1e-12)
    for route in ("forward", "forward_ad"):
        other = DeltaSEAL(Lorentz(), Vector4(), route=route)(model, x).item()
        assert other == pytest.approx(exact, rel=1e-10)
    for mode, draws in (("random", 400), ("fd", 400)):
        pen = DeltaSEAL(Lorentz(), Vector4(), mode=mode)
        gen = torch.Generator().manual_seed(3)
        vals = torch.tensor([pen(model, x, generator=gen).item() for _ in range(draws)])
        sem = vals.std().item() / draws ** 0.5
        # unbiased (fd: up to O(eps^2) = 1e-8 relative): within 4 standard errors
        assert abs(vals.mean().item() - exact) < 4 * sem, (mode, vals.mean().item(), exact, sem)
        assert sem < 0.1 * exact  # the check has power: a 3x disagreement is > 20 sem away


@pytest.mark.parametrize("name", list(penalties()))
def test_every_penalty_vanishes_on_an_invariant_model_with_batchnorm_and_dropout(name):
    """Issue 20: GSEAL was 0.89 of the output's mean square, fd δSEAL 1.3e7 of it."""
    torch.manual_seed(0)
    model, x = Invariant().to(D).train(), batch()
    pen = penalties()[name]
    gen = torch.Generator().manual_seed(5)
    value = pen(model, x, generator=gen).item()
    with torch.no_grad():
        scale = model(x).pow(2).sum(-1).mean().item()
    assert scale > 0.1
    # float64: m² of a boosted vector is exact to ~1e-15 relative; fd divides by eps² = 1e-8
    assert value <= 1e-16 * scale, value
    # ... while it is a real penalty: a non-invariant model with the same layers is penalised
    assert pen(bn_mlp(dropout=0.3), x, generator=gen).item() > 1e-3


def test_gseal_with_a_reused_fx_from_a_noisy_task_pass_recomputes_it():
    torch.manual_seed(0)
    model, x = Invariant().to(D).train(), batch()
    fx = model(x)  # the task pass: batch statistics and its own dropout mask
    value = GSEAL(Lorentz(), Vector4(), beta_max=BETA)(model, x, fx=fx).item()
    assert value <= 1e-16 * fx.pow(2).sum(-1).mean().item()


# --------------------------------------------------------------------------- requirement 2
def make_state_pair(seed=2):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 16), torch.nn.BatchNorm1d(16), torch.nn.Tanh(), torch.nn.Dropout(0.2),
        torch.nn.Linear(16, 16), torch.nn.BatchNorm1d(16, momentum=None), torch.nn.Tanh(),
        torch.nn.Linear(16, 1)).to(D).train()
    return model, copy.deepcopy(model)


@pytest.mark.parametrize("name", list(penalties()))
def test_running_statistics_after_task_pass_and_penalty_equal_the_task_pass_alone(name):
    alone, with_penalty = make_state_pair()
    x = batch()
    torch.manual_seed(11)
    fx_alone = alone(x)
    torch.manual_seed(11)
    fx = with_penalty(x)
    pen = penalties()[name]
    pen(with_penalty, x, fx=fx if name.startswith("gseal") else None,
        generator=torch.Generator().manual_seed(0)).backward()
    torch.testing.assert_close(fx, fx_alone, rtol=0, atol=0)
    for (k, a), (_, b) in zip(alone.state_dict().items(), with_penalty.state_dict().items(),
                              strict=True):
        assert torch.equal(a, b), k


@pytest.mark.parametrize("mode", ["exact", "random", "fd"])
def test_return_output_is_the_task_pass_and_updates_running_statistics_once(mode):
    alone, with_penalty = make_state_pair()
    x = batch()
    torch.manual_seed(4)
    fx_alone = alone(x)
    torch.manual_seed(4)
    pen = DeltaSEAL(Lorentz(), Vector4(), mode=mode)
    value, fx = pen(with_penalty, x, return_output=True, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(fx, fx_alone, rtol=0, atol=0)  # same batch stats, same mask
    for (k, a), (_, b) in zip(alone.state_dict().items(), with_penalty.state_dict().items(),
                              strict=True):
        assert torch.equal(a, b), k
    (value + fx.sum()).backward()


@pytest.mark.parametrize("name", list(penalties()))
def test_global_random_state_is_left_as_the_task_pass_left_it(name):
    """With a generator, the penalty never advances the global RNG: the next task pass draws the
    dropout masks it would have drawn without the penalty."""
    model, _ = make_state_pair()
    x = batch()
    torch.manual_seed(7)
    before = torch.random.get_rng_state()
    penalties()[name](model, x, generator=torch.Generator().manual_seed(0))
    assert torch.equal(torch.random.get_rng_state(), before)


def test_dropout_masks_of_f_x_and_f_gx_are_shared_and_change_between_calls():
    torch.manual_seed(0)
    model, x = Invariant(p=0.5).to(D).train(), batch()
    pen = GSEAL(Lorentz(), Vector4(), beta_max=BETA)
    seen = []
    model.body[3].register_forward_hook(lambda m, i, o: seen.append(o == 0))
    gen = torch.Generator().manual_seed(0)
    pen(model, x, generator=gen)
    pen(model, x, generator=gen)
    assert len(seen) == 4
    assert torch.equal(seen[0], seen[1]) and torch.equal(seen[2], seen[3])
    assert not torch.equal(seen[0], seen[2])  # a fresh stream per call: dropout still regularises


def test_custom_noise_is_replayed_with_stochastic_true():
    class Noisy(torch.nn.Module):
        def forward(self, x):
            m2 = x[..., :1] ** 2 - (x[..., 1:] ** 2).sum(-1, keepdim=True)
            return m2 * (1 + 0.1 * torch.randn_like(m2))

    x = batch()
    gen = torch.Generator().manual_seed(0)
    noisy = GSEAL(Lorentz(), Vector4(), beta_max=BETA)(Noisy(), x, generator=gen).item()
    assert noisy > 1e-3  # not detectable: the noise differs between f(x) and f(g.x)
    replayed = GSEAL(Lorentz(), Vector4(), beta_max=BETA, stochastic=True)(
        Noisy(), x, generator=gen).item()
    assert replayed < 1e-20
    with pytest.raises(TypeError, match="stochastic must be None, True or False"):
        GSEAL(Lorentz(), Vector4(), stochastic="yes")


# --------------------------------------------------------------------------- the user's module
def snapshot(model):
    return ({n: m.training for n, m in model.named_modules()},
            {n: id(b) for n, b in model.named_buffers()},
            sum(len(m._forward_pre_hooks) + len(m._forward_hooks) for m in model.modules()))


@pytest.mark.parametrize("name", list(penalties()))
def test_the_module_is_restored_after_the_penalty(name):
    model, _ = make_state_pair()
    model[4].eval()  # a mix of modes must survive too
    before = snapshot(model)
    penalties()[name](model, batch())
    assert snapshot(model) == before


class FailsOnSecondCall(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8),
                                       torch.nn.Dropout(0.1), torch.nn.Linear(8, 1)).to(D)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        out = self.net(x)
        if self.calls == 2:
            raise RuntimeError("boom")
        return out


@pytest.mark.parametrize("name", ["gseal", "fd", "exact_forward_ad"])
def test_the_module_is_restored_when_the_model_raises_mid_penalty(name):
    model = FailsOnSecondCall().train()
    before = snapshot(model)
    rng = torch.random.get_rng_state()
    with pytest.raises(RuntimeError, match="boom"):
        penalties()[name](model, batch(), generator=torch.Generator().manual_seed(0))
    assert snapshot(model) == before
    assert torch.equal(torch.random.get_rng_state(), rng)
    assert model.net[1].num_batches_tracked.item() == 0


# --------------------------------------------------------------------------- costs and finders
class Counting(torch.nn.Module):
    def __init__(self, *extra):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(4, 8), *extra, torch.nn.Linear(8, 1))
        self.net.to(D)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return self.net(x)


def test_a_reused_fx_costs_no_extra_pass_when_nothing_is_stochastic():
    x = batch()
    plain = Counting()
    fx = plain(x)
    GSEAL(Lorentz(), Vector4())(plain, x, fx=fx)
    assert plain.calls == 2  # the task pass + f(g.x)
    noisy = Counting(torch.nn.Dropout(0.2)).train()
    fx = noisy(x)
    GSEAL(Lorentz(), Vector4())(noisy, x, fx=fx)
    assert noisy.calls == 3  # fx recomputed under the shared dropout stream
    noisy.eval()
    GSEAL(Lorentz(), Vector4())(noisy, x, fx=noisy(x))
    assert noisy.calls == 5  # eval mode: nothing stochastic, the reuse holds


def test_closures_bound_methods_and_partials_are_seen():
    import functools

    model, x = bn_mlp(), batch()
    ref = DeltaSEAL(Lorentz(), Vector4())(frozen_copy(model, x), x).item()
    for f in (lambda p: model(p), model.forward, functools.partial(model)):
        assert DeltaSEAL(Lorentz(), Vector4())(f, x).item() == pytest.approx(ref, rel=1e-12)


def test_fraction_uses_the_whole_batchs_statistics():
    model, x = bn_mlp(), batch()
    ref_model = frozen_copy(model, x)
    for pen in (GSEAL(Lorentz(), Vector4(), fraction=0.25),
                DeltaSEAL(Lorentz(), Vector4(), fraction=0.25)):
        value = pen(model, x, generator=torch.Generator().manual_seed(9)).item()
        ref = pen(ref_model, x, generator=torch.Generator().manual_seed(9)).item()
        assert value == pytest.approx(ref, rel=1e-12)


# --------------------------------------------------------------------------- kinds of batch norm
class Conv(torch.nn.Module):
    """(B, 4) -> channels over a fake spatial grid, to exercise BatchNorm2d/3d."""

    def __init__(self, dim):
        super().__init__()
        norm = {2: torch.nn.BatchNorm2d, 3: torch.nn.BatchNorm3d}[dim]
        self.dim = dim
        self.lin = torch.nn.Linear(4, 6 * 2 ** dim)
        self.norm = norm(6)
        self.out = torch.nn.Linear(6 * 2 ** dim, 1)

    def forward(self, x):
        h = self.lin(x).reshape(x.shape[0], 6, *([2] * self.dim))
        return self.out(torch.tanh(self.norm(h)).flatten(1))


@pytest.mark.parametrize("kind", ["1d", "2d", "3d", "lazy", "sync", "no_running_stats"])
def test_every_kind_of_batch_norm_is_run_with_the_clean_batchs_statistics(kind):
    torch.manual_seed(3)
    if kind == "2d":
        model = Conv(2)
    elif kind == "3d":
        model = Conv(3)
    else:
        norm = {"1d": torch.nn.BatchNorm1d, "lazy": lambda n: torch.nn.LazyBatchNorm1d(),
                "sync": torch.nn.SyncBatchNorm,
                "no_running_stats": lambda n: torch.nn.BatchNorm1d(n, track_running_stats=False)
                }[kind]
        model = bn_mlp(norm=norm)
    model = model.to(D).train()
    x = batch()
    if kind == "lazy":  # still uninitialised: the penalty is the first call
        assert isinstance(model[1].running_mean, torch.nn.parameter.UninitializedBuffer)
        value = DeltaSEAL(Lorentz(), Vector4())(model, x).item()
        assert model[1].num_batches_tracked.item() == 0
        assert torch.equal(model[1].running_mean, torch.zeros(32, dtype=D))
    else:
        value = DeltaSEAL(Lorentz(), Vector4())(model, x).item()
    state = copy.deepcopy(model.state_dict())
    ref = DeltaSEAL(Lorentz(), Vector4())(frozen_copy(model, x), x).item()
    assert value == pytest.approx(ref, rel=1e-12)
    random = DeltaSEAL(Lorentz(), Vector4(), mode="random")
    gen = torch.Generator().manual_seed(0)
    vals = torch.tensor([random(model, x, generator=gen).item() for _ in range(200)])
    assert abs(vals.mean().item() - value) < 4 * vals.std().item() / 200 ** 0.5
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k]), k


def test_instance_norm_running_statistics_are_shielded():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 12), torch.nn.Unflatten(1, (3, 4)),
                                torch.nn.InstanceNorm1d(3, track_running_stats=True),
                                torch.nn.Flatten(), torch.nn.Linear(12, 1)).to(D).train()
    x = batch()
    before = copy.deepcopy(model.state_dict())
    GSEAL(Lorentz(), Vector4())(model, x)
    DeltaSEAL(Lorentz(), Vector4())(model, x)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k


# --------------------------------------------------------------------------- the check
class BatchAttention(torch.nn.Module):
    """Each sample attends to the whole batch: coupling no penalty can see."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(4, 8).to(D)
        self.out = torch.nn.Linear(8, 1).to(D)

    def forward(self, x):
        h = self.lin(x)
        w = torch.softmax(h @ h.T / 8 ** 0.5, -1)
        return self.out(w @ h)


class Centred(torch.nn.Module):
    def forward(self, x):
        return (x - x.mean(0)).pow(2).sum(-1)


@pytest.mark.parametrize("make", [
    lambda: bn_mlp(dropout=0.3),
    lambda: torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.GroupNorm(2, 8),
                                torch.nn.Linear(8, 1)).to(D),
    lambda: Conv(2).to(D).train(),
    lambda: Invariant(norm=torch.nn.SyncBatchNorm).to(D).train(),
])
def test_batch_independent_models_pass_the_check(make):
    torch.manual_seed(0)
    model = make()
    before = snapshot(model)
    state = copy.deepcopy(model.state_dict())
    assert assert_batch_independent(model, batch()) <= 1e-12
    assert snapshot(model) == before
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k]), k


@pytest.mark.parametrize("make", [BatchAttention, Centred])
def test_batch_coupled_models_fail_the_check(make):
    torch.manual_seed(0)
    model = make()
    assert batch_dependence(model, batch()) > 1e-3
    with pytest.raises(AssertionError, match="depends on the rest of its batch"):
        assert_batch_independent(model, batch())


def test_the_check_rejects_bad_input():
    with pytest.raises(ValueError, match="at least 2 samples"):
        assert_batch_independent(bn_mlp(), batch(1))
    with pytest.raises(ValueError, match="extra argument 0"):
        assert_batch_independent(lambda x, m: x.sum(-1), batch(), torch.ones(3))
    with pytest.raises(TypeError, match="floating-point"):
        assert_batch_independent(bn_mlp(), torch.ones(4, 4, dtype=torch.long))


# --------------------------------------------------------------------------- GSEAL return_output
class CountingBN(torch.nn.Module):
    """A non-invariant MLP with batch normalisation that counts its forward passes."""

    def __init__(self, dropout=0.0, seed=5):
        super().__init__()
        torch.manual_seed(seed)
        self.inner = bn_mlp(seed, dropout=dropout)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return self.inner(x)


SHARING = {  # penalty, passes of the recomputing route (task, clean [+ capture], transformed), rtol
    "gseal": (lambda: GSEAL(Lorentz(), Vector4(), beta_max=BETA), 3, 1e-12),
    "gseal_fraction": (lambda: GSEAL(Lorentz(), Vector4(), beta_max=BETA, fraction=0.5), 4, 1e-12),
    "fd": (lambda: DeltaSEAL(Lorentz(), Vector4(), mode="fd"), 3, 1e-9),
}


@pytest.mark.parametrize("name", list(SHARING))
def test_return_output_with_batchnorm_shares_the_task_pass(name):
    # GSEAL and fd δSEAL: the task pass is the clean pass, 2 passes, not 3; the value equals the
    # recomputing route's (the clean batch's statistics normalise the transformed pass in both);
    # the output and the running statistics are the task pass alone's
    make, recompute_calls, rtol = SHARING[name]
    x = batch()
    model, alone, ref = CountingBN(), CountingBN(), CountingBN()
    fx_alone = alone(x)
    pen = make()
    value, fx = pen(model, x, return_output=True, generator=torch.Generator().manual_seed(3))
    assert model.calls == 2
    torch.testing.assert_close(fx, fx_alone, rtol=0, atol=0)
    for (k, a), (_, b) in zip(alone.state_dict().items(), model.state_dict().items(),
                              strict=True):
        assert torch.equal(a, b), k
    expected = pen(ref, x, fx=ref(x), generator=torch.Generator().manual_seed(3))
    assert ref.calls == recompute_calls
    torch.testing.assert_close(value, expected, rtol=rtol, atol=0)
    assert value.item() > 1e-4  # a non-invariant model: the comparison is not of two zeros
    # the gradient reaches the parameters through both passes
    (value + fx.sum()).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_gseal_return_output_with_dropout_keeps_the_task_pass_and_shares_the_masks():
    torch.manual_seed(0)
    model, x = Invariant().to(D).train(), batch()
    alone = copy.deepcopy(model)
    torch.manual_seed(8)
    fx_alone = alone(x)
    torch.manual_seed(8)
    value, fx = GSEAL(Lorentz(), Vector4(), beta_max=BETA)(model, x, return_output=True)
    torch.testing.assert_close(fx, fx_alone, rtol=0, atol=0)  # the global dropout stream
    assert value.item() <= 1e-16 * fx.pow(2).sum(-1).mean().item()  # shared masks: invariant


def test_gseal_return_output_without_batch_coupling_is_one_extra_pass():
    x = batch()
    plain = Counting()
    value, fx = GSEAL(Lorentz(), Vector4())(plain, x, return_output=True,
                                             generator=torch.Generator().manual_seed(0))
    assert plain.calls == 2
    expected = GSEAL(Lorentz(), Vector4())(plain, x, fx=plain(x),
                                           generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(value, expected, rtol=0, atol=0)
    torch.testing.assert_close(fx, plain(x), rtol=0, atol=0)


def test_gseal_return_output_refuses_a_reused_fx():
    x = batch()
    plain = Counting()
    with pytest.raises(ValueError, match="fx or return_output"):
        GSEAL(Lorentz(), Vector4())(plain, x, fx=plain(x), return_output=True)


def test_gseal_return_output_gradient_is_that_of_eq_6_with_the_task_pass_as_f_x():
    # by hand: f(x) the train-mode task pass (batch statistics differentiated), f(g.x) the
    # per-sample function normalised with the clean batch's statistics as constants
    x = batch()
    model, by_hand = CountingBN(), CountingBN()
    pen = GSEAL(Lorentz(), Vector4(), beta_max=BETA)
    value, _ = pen(model, x, return_output=True, generator=torch.Generator().manual_seed(3))
    value.backward()
    g = pen.sample(x.shape[0], x.device, torch.Generator().manual_seed(3))
    frozen = frozen_copy(by_hand.inner, x)
    fx = by_hand.inner(x)
    f_gx = frozen(torch.einsum("bij,bj->bi", g.to(D), x))
    manual = (f_gx - fx).pow(2).sum(-1).mean()
    manual.backward()
    torch.testing.assert_close(value, manual, rtol=1e-12, atol=0)
    grads = dict(model.inner.named_parameters())
    for (name, p), (_, q) in zip(by_hand.inner.named_parameters(), frozen.named_parameters(),
                                 strict=True):
        total = p.grad + (q.grad if q.grad is not None else 0)
        torch.testing.assert_close(grads[name].grad, total, rtol=1e-10, atol=1e-14)

