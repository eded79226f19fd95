"""ViolationBudget: λ found while training as the Lagrange multiplier of Γ ≤ target."""

import io
import math
import os
import pickle
import warnings

import pytest
import torch
import torch.multiprocessing as mp

from liesoft import GSEAL, DeltaSEAL, Lorentz, Scalar, Vector4
from liesoft.experimental import ViolationBudget

F64 = torch.float64


class Quadratic(torch.nn.Module):
    """The penalty ``(w - b)^2`` of the closed-form problem; ``f()`` returns ``w``."""

    def __init__(self, b):
        super().__init__()
        self.b = b

    def forward(self, f, x=None):
        return (f() - self.b) ** 2


class Constant(torch.nn.Module):
    """A penalty whose value the test sets: ``value * f(x).sum() * 0 + value``."""

    def __init__(self, value=1.0):
        super().__init__()
        self.value = value

    def forward(self, f, x):
        return f(x).sum() * 0 + torch.tensor(self.value, dtype=F64)


def kkt(a, b, eps):
    """``min (w - a)^2  s.t.  (w - b)^2 <= eps``: the optimum and its multiplier."""
    r = math.sqrt(eps)
    if abs(a - b) <= r:
        return a, 0.0
    return b + math.copysign(r, a - b), (abs(a - b) - r) / r


def solve(a, b, eps, steps, lr, w0=0.0, **budget_kw):
    w = torch.nn.Parameter(torch.tensor(w0, dtype=F64))
    budget = ViolationBudget(Quadratic(b), eps, **budget_kw)
    opt = torch.optim.SGD([w], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        loss = (w - a) ** 2 + budget(lambda: w)
        loss.backward()
        opt.step()
    return float(w.detach()), budget


def mlp(dtype=F64, out=1):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Tanh(),
                               torch.nn.Linear(16, out)).to(dtype)


def broken_x(n=32, dtype=F64, seed=0):
    return (torch.rand(n, 4, generator=torch.Generator().manual_seed(seed), dtype=dtype) - 0.5)


# ---------------------------------------------------------------------------- optimum
@pytest.mark.parametrize("a, b, eps, w0", [(1.0, 0.0, 0.01, 0.0), (2.0, 0.5, 0.04, 0.0),
                                           (-1.0, 1.0, 1e-3, 0.0), (1.0, 0.0, 0.01, 1.0),
                                           (-1.0, 1.0, 1e-3, -3.0)])
def test_sgd_with_the_budget_reaches_the_kkt_point(a, b, eps, w0):
    """From feasible (w0 = b) and from far outside (Γ(w0) up to 1.6e4 × ε)."""
    w_star, lam_star = kkt(a, b, eps)
    assert lam_star > 0
    lr = 0.5 / (1 + lam_star)          # stable SGD step for the Lagrangian's curvature
    w, budget = solve(a, b, eps, steps=2000, lr=lr, w0=w0)
    assert abs(budget.lam - lam_star) <= 0.05 * lam_star, (budget.lam, lam_star)
    assert abs(w - w_star) <= 0.05 * abs(w_star), (w, w_star)
    # it is an equilibrium, not a pass through: to 1e-6 after 2000 steps
    assert abs(budget.lam - lam_star) <= 1e-6 * lam_star
    assert abs(budget.ema - eps) <= 1e-6 * eps and budget.steps == 2000


def test_an_inactive_constraint_drives_lam_to_its_floor():
    a, b, eps = 1.0, 0.0, 4.0                     # unconstrained Γ = 1 < 4
    assert kkt(a, b, eps) == (a, 0.0)
    w, budget = solve(a, b, eps, steps=1000, lr=0.1)
    assert budget.lam == budget.lam_min == 1e-6
    assert abs(w - a) < 1e-5


def test_the_rule_moves_lam_the_right_way_by_the_documented_amount():
    x = broken_x(4)
    pen = Constant()
    budget = ViolationBudget(pen, target=0.1, lam_init=2.0)
    lam0 = budget.lam
    pen.value = 0.2                                # Γ above target: λ up by (Γ/target)^rate
    budget(lambda p: p[..., 0], x)
    assert budget.lam > lam0
    assert budget.lam == pytest.approx(lam0 * 2 ** 0.02, rel=1e-14)
    assert budget.ema == pytest.approx(0.2, rel=1e-15) and budget.value == 0.2
    pen.value = 0.05                               # below target, but the EMA is still above
    lam1 = budget.lam
    budget(lambda p: p[..., 0], x)
    ema = 0.9 * 0.2 + 0.1 * 0.05
    assert budget.ema == pytest.approx(ema, rel=1e-14)
    assert budget.lam == pytest.approx(lam1 * (ema / 0.1) ** 0.02, rel=1e-14)
    for _ in range(30):                            # the EMA falls below target: λ goes down
        budget(lambda p: p[..., 0], x)
    assert budget.ema < 0.1 and budget.lam < lam1
    lam2 = budget.lam
    budget(lambda p: p[..., 0], x)
    assert budget.lam < lam2


def test_huge_and_zero_ratios_are_clipped_and_lam_stays_in_its_bounds():
    x = broken_x(4)
    pen = Constant(1e12)
    budget = ViolationBudget(pen, target=1e-3, ema_decay=0.0, lam_max=1.5)
    budget(lambda p: p[..., 0], x)                 # ln(1e15) = 34.5, clipped to 1
    assert budget.lam == pytest.approx(math.exp(0.02), rel=1e-14)
    for _ in range(30):
        budget(lambda p: p[..., 0], x)
    assert budget.lam == 1.5                       # the cap
    pen.value = 0.0                                # Γ = 0: ln ratio = -inf, clipped to -1
    budget(lambda p: p[..., 0], x)
    assert budget.lam == pytest.approx(1.5 * math.exp(-0.02), rel=1e-14)
    floor = ViolationBudget(Constant(0.0), target=1.0, lam_init=1e-6 * 1.01, ema_decay=0.0)
    floor(lambda p: p[..., 0], x)
    assert floor.lam == 1e-6



def test_the_error_the_rule_steps_by_is_the_clipped_log_ratio():
    budget = ViolationBudget(Constant(1.0), target=0.1, clip=0.5)
    assert budget.error(0.1 * math.exp(0.3)) == pytest.approx(0.3, rel=1e-14)   # vs target
    assert budget.error(0.3, target=0.4) == pytest.approx(math.log(0.75), rel=1e-14)
    assert budget.error(0.2, target=0.4) == -0.5                                # ln 0.5 < −0.5
    assert budget.error(100.0) == 0.5 and budget.error(0.0) == -0.5             # clipped
    assert budget.next_lam(2.0, 0.1 * math.exp(0.3)) == pytest.approx(2.0 * math.exp(0.02 * 0.3))

# ---------------------------------------------------------------------------- the value
PENALTIES = {
    "gseal": lambda: GSEAL(Lorentz(), Vector4(), Scalar()),
    "dseal-exact": lambda: DeltaSEAL(Lorentz(), Vector4(), Scalar()),
    "dseal-random": lambda: DeltaSEAL(Lorentz(), Vector4(), Scalar(), mode="random"),
    "dseal-fd": lambda: DeltaSEAL(Lorentz(), Vector4(), Scalar(), mode="fd"),
    "dseal-fraction": lambda: DeltaSEAL(Lorentz(), Vector4(), Scalar(), fraction=0.5),
}


@pytest.mark.parametrize("name", sorted(PENALTIES))
def test_value_and_gradient_are_lam_times_the_penalty(name):
    """``budget(...)`` is ``λ·Γ`` with the λ held before the call; its parameter gradient is
    λ times the penalty's, and no gradient reaches λ."""
    model, x = mlp(), broken_x()
    pen = PENALTIES[name]()
    budget = ViolationBudget(pen, target=1e-4, lam_init=3.7)
    params = list(model.parameters())
    grad = lambda v: [torch.zeros_like(p) if g is None else g  # noqa: E731  (δSEAL ignores
                      for p, g in zip(params, torch.autograd.grad(v, params, allow_unused=True),
                                      strict=True)]            # the output bias)
    got = budget(model, x, generator=torch.Generator().manual_seed(5))
    g_got = grad(got)
    ref = pen(model, x, generator=torch.Generator().manual_seed(5))
    g_ref = grad(ref)
    assert any(float(g.abs().max()) > 0 for g in g_ref)
    assert got.dtype == F64 and torch.allclose(got, 3.7 * ref, rtol=1e-13, atol=0)
    for a, b in zip(g_got, g_ref, strict=True):
        assert torch.allclose(a, 3.7 * b, rtol=1e-9, atol=1e-300)   # fd: cancellation
    assert budget.value == pytest.approx(float(ref.detach()), rel=1e-13)
    assert budget.lam > 3.7                        # Γ above target: λ went up after the call
    assert not budget._lam.requires_grad


def test_return_output_of_deltaseal_passes_through():
    model, x = mlp(), broken_x()
    pen = DeltaSEAL(Lorentz(), Vector4(), Scalar())
    budget = ViolationBudget(pen, target=1.0, lam_init=0.5)
    out = budget(model, x, return_output=True)
    assert isinstance(out, tuple) and len(out) == 2
    value, fx = out
    ref, fx_ref = pen(model, x, return_output=True)
    assert torch.allclose(value, 0.5 * ref, rtol=1e-13) and torch.equal(fx, fx_ref)
    assert fx.requires_grad


def test_result_keeps_the_penalty_dtype():
    model, x = mlp(torch.float32), broken_x(dtype=torch.float32)
    budget = ViolationBudget(GSEAL(Lorentz(), Vector4()), target=1e-3)
    assert budget._lam.dtype == F64
    assert budget(model, x).dtype == torch.float32  # λ (float64) does not promote the loss


# ---------------------------------------------------------------------------- when it updates
def test_no_update_in_eval_mode_or_without_grad():
    model, x = mlp(), broken_x()
    budget = ViolationBudget(GSEAL(Lorentz(), Vector4()), target=1e-9)
    budget(model, x)
    state = {k: v.clone() for k, v in budget.state_dict().items()}

    def unchanged():
        return budget.lam == float(state["_lam"]) and budget.steps == 1 and budget.ema == float(
            state["_ema"])

    with torch.no_grad():
        budget(model, x)
    assert unchanged()
    with torch.inference_mode():
        budget(model, x)
    assert unchanged()
    budget.eval()
    budget(model, x)
    assert unchanged()
    budget.train()
    model.eval()                                   # the model in eval mode: a validation pass
    budget(model, x)
    assert unchanged()
    assert budget.value != float(state["_last"])  # the value is still recorded
    model.train()
    budget(model, x)
    assert budget.steps == 2 and budget.lam > float(state["_lam"])


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_non_finite_penalty_never_enters_lam(bad):
    x = broken_x(4)
    pen = Constant(0.5)
    budget = ViolationBudget(pen, target=0.1)
    budget(lambda p: p[..., 0], x)
    lam, ema = budget.lam, budget.ema
    pen.value = bad
    with pytest.warns(RuntimeWarning, match=r"penalty is .*λ update skipped \(1 so far\)"):
        out = budget(lambda p: p[..., 0], x)
    assert not math.isfinite(float(out))           # the loss shows it; λ does not
    assert (budget.lam, budget.ema, budget.steps, budget.skipped) == (lam, ema, 1, 1)
    pen.value = 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        budget(lambda p: p[..., 0], x)
    assert budget.steps == 2 and math.isfinite(budget.ema) and budget.lam > lam
    assert budget.ema == pytest.approx(0.5, rel=1e-14)


# ---------------------------------------------------------------------------- state
def train(model, opt, budget, x, y, gen, steps):
    lams = []
    for _ in range(steps):
        opt.zero_grad()
        fx = model(x)
        loss = (fx[:, 0] - y).pow(2).mean() + budget(model, x, fx=fx, generator=gen)
        loss.backward()
        opt.step()
        lams.append(budget.lam)
    return lams


def fresh():
    model = mlp()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    budget = ViolationBudget(GSEAL(Lorentz(), Vector4()), target=1e-3, rate=0.1)
    return model, opt, budget


def test_state_round_trip_continues_exactly():
    x = broken_x(64)
    y = x[:, 0] ** 2 - (x[:, 1:] ** 2).sum(-1) + x[:, 3]
    model, opt, budget = fresh()
    gen = torch.Generator().manual_seed(0)
    train(model, opt, budget, x, y, gen, 6)
    sd = budget.state_dict()
    assert set(sd) == {"_lam", "_ema", "_last", "_steps", "_skipped", "_best", "_armed",
                       "_stall_ref", "_stall_n", "_infeasible", "_warned", "_decayed", "_lr_ref"}
    assert (float(sd["_lam"]), float(sd["_ema"]), int(sd["_steps"])) == (
        budget.lam, budget.ema, 6)                # the buffers hold the current state
    buf = io.BytesIO()
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(),
                "budget": budget.state_dict(), "gen": gen.get_state()}, buf)
    straight = train(model, opt, budget, x, y, gen, 6)

    buf.seek(0)
    ck = torch.load(buf)
    model2, opt2, budget2 = fresh()
    model2.load_state_dict(ck["model"])
    opt2.load_state_dict(ck["opt"])
    budget2.load_state_dict(ck["budget"])
    assert budget2.steps == 6 and budget2.lam != 1.0
    gen2 = torch.Generator()
    gen2.set_state(ck["gen"])
    resumed = train(model2, opt2, budget2, x, y, gen2, 6)
    assert resumed == straight                     # bit for bit
    assert (budget2.ema, budget2.steps, budget2.value) == (budget.ema, budget.steps, budget.value)
    for p, q in zip(model.parameters(), model2.parameters(), strict=True):
        assert torch.equal(p, q)
    # without the budget's state the continuation differs (the test can fail)
    model3, opt3, budget3 = fresh()
    model3.load_state_dict(ck["model"])
    opt3.load_state_dict(ck["opt"])
    gen3 = torch.Generator()
    gen3.set_state(ck["gen"])
    assert train(model3, opt3, budget3, x, y, gen3, 6) != straight


def test_budget_pickles_and_prints():
    budget = ViolationBudget(GSEAL(Lorentz(), Vector4()), target=2.5e-3)
    text = repr(budget)
    assert "target=0.0025" in text and "GSEAL" in text and "lam=1" in text
    again = pickle.loads(pickle.dumps(budget))
    assert again.target == 2.5e-3 and isinstance(again.wrapped, GSEAL)
    fn_budget = ViolationBudget(lambda f, x: f(x).pow(2).mean(), target=1.0)
    assert float(fn_budget(lambda p: p, torch.ones(3))) == 1.0   # a plain function works too


# ---------------------------------------------------------------------------- bad input
def test_bad_input_is_refused_with_what_was_expected():
    gseal = GSEAL(Lorentz(), Vector4())
    for bad in (0, 0.0, -1e-3, math.nan, math.inf):
        with pytest.raises(ValueError, match=r"target must be a finite number in \(0, inf\), "
                                             r"got"):
            ViolationBudget(gseal, bad)
    for bad in ("1e-3", None, True, [1e-3]):
        with pytest.raises(TypeError, match="target must be a real number, got"):
            ViolationBudget(gseal, bad)
    for bad in (0, -0.1, math.nan):
        with pytest.raises(ValueError, match=r"rate must be a finite number in \(0, inf\)"):
            ViolationBudget(gseal, 1e-3, rate=bad)
    with pytest.raises(ValueError, match=r"ema_decay must be a finite number in \[0, 1\), got 1.0"):
        ViolationBudget(gseal, 1e-3, ema_decay=1.0)
    with pytest.raises(ValueError, match="lam_min <= lam_init <= lam_max, got 1e-06, 2e"):
        ViolationBudget(gseal, 1e-3, lam_init=2e6)
    with pytest.raises(ValueError, match=r"lam_min must be a finite number in \(0, inf\)"):
        ViolationBudget(gseal, 1e-3, lam_min=0)
    with pytest.raises(ValueError, match=r"clip must be a finite number"):
        ViolationBudget(gseal, 1e-3, clip=-1)
    with pytest.raises(TypeError, match="sync must be None, True or False, got 'yes'"):
        ViolationBudget(gseal, 1e-3, sync="yes")
    with pytest.raises(TypeError, match=r"penalty must be callable as penalty\(f, x, \.\.\.\).*"
                                        r"got float"):
        ViolationBudget(2.5e-3, 1e-3)
    with pytest.raises(TypeError, match="penalty must be a penalty instance, e.g. GSEAL.*got the "
                                        "class GSEAL"):
        ViolationBudget(GSEAL, 1e-3)
    with pytest.raises(TypeError, match="got a ViolationBudget: wrap the penalty itself"):
        ViolationBudget(ViolationBudget(gseal, 1e-3), 1e-3)
    x = broken_x(8)
    with pytest.raises(TypeError, match=r"must return a 0-dim floating-point tensor .*got a "
                                        r"tensor of shape \(8,\) and dtype torch.float64"):
        ViolationBudget(lambda f, x: f(x), 1.0)(lambda p: p[..., 0], x)
    with pytest.raises(TypeError, match="must return a 0-dim floating-point tensor .*got float"):
        ViolationBudget(lambda f, x: 0.5, 1.0)(lambda p: p[..., 0], x)
    # the wrapped penalty's own errors still reach the user
    with pytest.raises(ValueError, match=r"x must have shape \(B, \.\.\., 4\)"):
        ViolationBudget(gseal, 1e-3)(lambda p: p[..., 0], torch.randn(8, 3))


# ---------------------------------------------------------------------------- DDP
def _ddp_worker(rank, world, init_file, out_dir, sync):
    # The rendezvous is a FileStore in this test's own tmp dir (no port to collide on), and a
    # barrier follows it: creating a gloo group is not a synchronisation point, so with
    # sync=False (no collective in the loop) one rank could finish and tear the group down
    # while the other was still connecting ("connectFullMesh ... Connection closed by peer").
    torch.distributed.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank,
                                         world_size=world)
    try:
        torch.distributed.barrier()
        model = mlp()
        x = broken_x(16, seed=rank)                # every rank sees different data
        budget = ViolationBudget(GSEAL(Lorentz(), Vector4()), target=1e-3, rate=0.1, sync=sync)
        gen = torch.Generator().manual_seed(100 + rank)
        lams, values = [], []
        for _ in range(5):
            budget(model, x, generator=gen)
            lams.append(budget.lam)
            values.append(budget.value)
        torch.save({"lams": lams, "values": values,
                    "local": float(GSEAL(Lorentz(), Vector4())(
                        model, x, generator=torch.Generator().manual_seed(100 + rank)))},
                   os.path.join(out_dir, f"rank{rank}.pt"))
        torch.distributed.barrier()                # nobody leaves while the other still works
    finally:
        torch.distributed.destroy_process_group()


def run_ddp(tmp_path, sync):
    out = tmp_path / f"sync{sync}"
    out.mkdir()
    mp.spawn(_ddp_worker, args=(2, str(tmp_path / f"init{sync}"), str(out), sync), nprocs=2,
             join=True)
    return [torch.load(out / f"rank{r}.pt") for r in range(2)]


def test_ddp_ranks_hold_the_same_lam(tmp_path):
    r0, r1 = run_ddp(tmp_path, None)               # auto: the process group is initialised
    assert r0["lams"] == r1["lams"] and r0["values"] == r1["values"]
    assert r0["local"] != r1["local"]              # the ranks' own penalties differ ...
    mean = (r0["local"] + r1["local"]) / 2         # ... and the first update used their mean
    assert r0["values"][0] == pytest.approx(mean, rel=1e-12)
    assert r0["lams"][0] == pytest.approx(math.exp(0.1 * max(-1, min(1, math.log(mean / 1e-3)))),
                                          rel=1e-12)
    a0, a1 = run_ddp(tmp_path, False)              # without the all-reduce they drift apart
    assert a0["lams"] != a1["lams"]


# ---------------------------------------------------------------------------- the schedule
def old_rule(lam, ema, target, rate=0.02, clip=1.0, lam_min=1e-6, lam_max=1e6):
    """The rule before the schedule, written out independently of the library."""
    step = rate * max(-clip, min(clip, math.log(ema / target)))
    return min(lam_max, max(lam_min, lam * math.exp(step)))


def drive(budget, values, sched=None, opt=None):
    """Feed the penalty values one call each (stepping the scheduler after each call, as a
    training loop does); return λ after each call."""
    pen, lams = budget.wrapped, []
    for v in values:
        pen.value = v
        budget(lambda p: p[..., 0], broken_x(4))
        if opt is not None:
            opt.step()
        if sched is not None:
            sched.step()
        lams.append(budget.lam)
    return lams


def sgd(lr=0.1, groups=1):
    ws = [torch.nn.Parameter(torch.zeros(())) for _ in range(groups)]
    return torch.optim.SGD([{"params": [w]} for w in ws], lr=lr)


def test_the_optimizer_learning_rate_sets_the_running_target():
    """target_t = target·(1 + slack·lr_t/lr_ref) once the rate decays, read from any scheduler,
    and λ follows the documented rule against it."""
    opt = sgd(0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: [1.0, 0.5, 0.25, 0.0, 0.0, 0.0][k])
    budget = ViolationBudget(Constant(), 0.1, optimizer=opt, ema_decay=0.0)
    assert budget.target_now == 0.1                # before any decay: the user's target
    lam, expect = 1.0, []
    for k, ratio in enumerate([1.0, 0.5, 0.25, 0.0]):
        target_t = 0.1 if k == 0 else 0.1 * (1 + 2.0 * ratio)   # k = 0: not decayed yet
        expect.append(lam := old_rule(lam, 0.25, target_t))
    got = drive(budget, [0.25] * 4, sched, opt)
    assert got == pytest.approx(expect, rel=1e-14)
    assert budget.lr_ratio == 0.0 and budget.target_now == pytest.approx(0.1, rel=1e-15)
    # slack = 0: the constant target again
    opt0 = sgd(0.1)
    sched0 = torch.optim.lr_scheduler.LambdaLR(opt0, lambda k: 0.5 ** k)
    b0 = ViolationBudget(Constant(), 0.1, optimizer=opt0, ema_decay=0.0, slack=0.0)
    assert drive(b0, [0.25] * 4, sched0, opt0) == pytest.approx(
        drive(ViolationBudget(Constant(), 0.1, ema_decay=0.0), [0.25] * 4), rel=1e-15)


def test_the_reference_is_the_peak_rate_and_the_ratio_the_largest_over_groups():
    """A warm-up keeps target_t = target (the rate is its own running peak); after the peak
    the ratio is taken against it; with several groups the largest ratio counts, a group that
    never had a positive rate is ignored, and a group added later gets its own reference."""
    opt = sgd(1.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: [0.1, 0.5, 1.0, 0.5, 0.25, 0.25][k])
    budget = ViolationBudget(Constant(0.2), 0.1, optimizer=opt, ema_decay=0.0)
    targets = []
    for _ in range(5):
        budget(lambda p: p[..., 0], broken_x(4))
        targets.append(budget.target_now)
        opt.step()
        sched.step()
    # read at each call's own rate: 0.1, 0.5, 1.0 (the warm-up: its own peak), then 0.5 and
    # 0.25 of the peak 1.0
    assert targets[:3] == [0.1, 0.1, 0.1]
    assert targets[3:] == pytest.approx([0.1 * (1 + 2 * 0.5), 0.1 * (1 + 2 * 0.25)], rel=1e-14)
    assert budget.state_dict()["_lr_ref"].tolist() == [1.0]
    # two groups on different schedules, one frozen group
    opt2 = sgd(1.0, groups=3)
    opt2.param_groups[2]["lr"] = 0.0
    b2 = ViolationBudget(Constant(0.2), 0.1, optimizer=opt2)
    b2(lambda p: p[..., 0], broken_x(4))
    opt2.param_groups[0]["lr"], opt2.param_groups[1]["lr"] = 0.2, 0.6
    b2(lambda p: p[..., 0], broken_x(4))
    assert b2.lr_ratio == pytest.approx(0.6, rel=1e-15)
    assert b2.target_now == pytest.approx(0.1 * (1 + 2 * 0.6), rel=1e-15)
    opt2.add_param_group({"params": [torch.nn.Parameter(torch.zeros(()))], "lr": 3.0})
    b2(lambda p: p[..., 0], broken_x(4))           # a new group at its own peak: ratio 1
    assert b2.lr_ratio == 1.0 and len(b2.state_dict()["_lr_ref"]) == 4
    with pytest.raises(TypeError, match="optimizer must be a torch.optim.Optimizer .*got list"):
        ViolationBudget(Constant(), 0.1, optimizer=[opt])
    with pytest.raises(ValueError, match="slack must be a finite number in \\[0, inf\\)"):
        ViolationBudget(Constant(), 0.1, optimizer=opt, slack=-1)


def test_a_constant_learning_rate_or_no_optimizer_is_todays_rule():
    """Without an optimizer, and with one whose rate never falls, λ follows the rule before the
    schedule exactly (bit for bit against an independent transcription)."""
    values = [0.3, 0.05, 0.2, 0.01, 0.5] * 8
    expect, lam, ema = [], 1.0, None
    for v in values:
        ema = v if ema is None else 0.9 * ema + (1 - 0.9) * v
        expect.append(lam := old_rule(lam, ema, 0.1))
    none = ViolationBudget(Constant(), 0.1)
    assert drive(none, values) == expect
    opt = sgd(0.1)
    const = ViolationBudget(Constant(), 0.1, optimizer=opt)
    sched = torch.optim.lr_scheduler.ConstantLR(opt, factor=1.0)
    assert drive(const, values, sched, opt) == expect
    assert const.target_now == 0.1 and const.lr_ratio == 1.0


def test_an_unreachable_target_warns_once_with_the_smallest_value():
    budget = ViolationBudget(Constant(1.0), 0.01, patience=50, ema_decay=0.0)
    values = [1.0 - 0.001 * k for k in range(120)]     # creeping down, never halving
    with pytest.warns(RuntimeWarning) as caught:
        drive(budget, values)
    msgs = [str(w.message) for w in caught if "out of reach" in str(w.message)]
    assert len(msgs) == 1                              # once, not at every call after
    assert budget.infeasible and budget.status == "infeasible"
    assert budget.best == min(values) == budget.ema      # the smallest Γ̄, tracked on
    assert "did not halve for 50 updates" in msgs[0] and "target 0.01 " in msgs[0]
    assert f"smallest Γ̄ reached is {values[49]:.4g}" in msgs[0]   # at the 50th update
    # once the target is met the flag clears (the warning is not repeated)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        drive(budget, [0.001] * 60)
        assert not budget.infeasible
        drive(budget, [1.0] * 120)                     # stalls again: flag, no second warning
    assert budget.infeasible and budget.best < 0.01


def test_the_smallest_value_counts_once_the_penalty_has_risen_above_the_target():
    """An untrained model's Γ is often tiny (a near-constant output): the smallest Γ̄ that the
    warning names starts counting when Γ̄ first exceeds the running target."""
    budget = ViolationBudget(Constant(1.0), 0.01, patience=50, ema_decay=0.0)
    drive(budget, [1e-6, 1e-5, 1e-3])                  # below the target: not counted
    assert math.isnan(budget.best) and budget._state["armed"] == 0
    values = [1.0 - 0.001 * k for k in range(120)]     # then above it, creeping down
    with pytest.warns(RuntimeWarning) as caught:
        drive(budget, values)
    (msg,) = [str(w.message) for w in caught if "out of reach" in str(w.message)]
    assert f"smallest Γ̄ reached is {values[49]:.4g}" in msg
    assert budget.best == min(values)
    drive(budget, [1e-4])                              # once armed, every value counts
    assert budget.best == 1e-4


def test_a_penalty_that_keeps_halving_or_sits_at_its_target_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        slow = ViolationBudget(Constant(), 1e-3, patience=50, ema_decay=0.0)
        drive(slow, [0.5 ** (k / 40) for k in range(400)])   # halves every 40 calls
        assert not slow.infeasible and slow.steps == 400
        w, eq = solve(1.0, 0.0, 0.01, steps=2000, lr=0.5 / 10)  # the KKT problem, at the target
        assert not eq.infeasible and eq.status == "active"


def test_lam_at_its_cap_above_target_is_infeasible():
    budget = ViolationBudget(Constant(1.0), 0.01, lam_max=1.1)
    with pytest.warns(RuntimeWarning, match="λ is at its cap lam_max = 1.1; .*smallest Γ̄ "
                                            "reached is 1"):
        drive(budget, [1.0] * 6)
    assert budget.lam == 1.1 and budget.infeasible


def test_a_target_met_without_the_penalty_is_reported_inactive():
    w, budget = solve(1.0, 0.0, 4.0, steps=1000, lr=0.1)       # unconstrained Γ = 1 < 4
    assert budget.inactive and budget.status == "inactive" and budget.lam == budget.lam_min
    w, active = solve(1.0, 0.0, 0.01, steps=2000, lr=0.5 / 10)
    assert not active.inactive and active.status == "active"
    fresh_budget = ViolationBudget(Constant(), 1.0)
    assert not fresh_budget.inactive and fresh_budget.status == "starting"
    # λ at its floor while Γ̄ is above target is not inactive (it is on its way up)
    up = ViolationBudget(Constant(0.0), 1.0, lam_init=1e-6, ema_decay=0.0, rate=1e-12)
    drive(up, [0.0])
    assert up.inactive
    drive(up, [5.0])
    assert up.lam <= up.lam_min * (1 + 1e-9) and not up.inactive and up.status == "active"


def scheduled(steps):
    model = mlp()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    budget = ViolationBudget(GSEAL(Lorentz(), Vector4()), target=1e-3, rate=0.1, optimizer=opt,
                             patience=3)
    return model, opt, sched, budget


def train_scheduled(model, opt, sched, budget, x, y, gen, steps):
    out = []
    for _ in range(steps):
        out += train(model, opt, budget, x, y, gen, 1)
        sched.step()
    return out


def test_state_round_trip_with_the_schedule_continues_exactly():
    """Checkpoint mid-run with a cosine schedule; resume with a new optimizer, scheduler and
    budget(optimizer=new_opt): bit for bit, including the learning-rate references and the
    new flags. Without the budget's state the resumed run differs."""
    x = broken_x(64)
    y = x[:, 0] ** 2 - (x[:, 1:] ** 2).sum(-1) + x[:, 3]
    model, opt, sched, budget = scheduled(12)
    gen = torch.Generator().manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")            # patience 3: the flags get set
        train_scheduled(model, opt, sched, budget, x, y, gen, 6)
    assert budget.state_dict()["_lr_ref"].tolist() == [1e-2]
    assert int(budget.state_dict()["_decayed"]) == 1 and budget.infeasible
    ck = io.BytesIO()
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(),
                "sched": sched.state_dict(), "budget": budget.state_dict(),
                "gen": gen.get_state()}, ck)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        straight = train_scheduled(model, opt, sched, budget, x, y, gen, 6)

    def resume(load_budget):
        ck.seek(0)
        c = torch.load(ck)
        m, o, s, b = scheduled(12)
        m.load_state_dict(c["model"])
        o.load_state_dict(c["opt"])
        s.load_state_dict(c["sched"])
        b = ViolationBudget(GSEAL(Lorentz(), Vector4()), target=1e-3, rate=0.1, optimizer=o,
                            patience=3)           # built on the resumed (decayed) optimizer
        if load_budget:
            b.load_state_dict(c["budget"])
        g = torch.Generator()
        g.set_state(c["gen"])
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            lams = train_scheduled(m, o, s, b, x, y, g, 6)
        return lams, b, [x for x in w if "out of reach" in str(x.message)]

    resumed, b2, warned = resume(True)
    assert resumed == straight                     # bit for bit
    assert b2._lr_refs == budget._lr_refs == [1e-2]
    for name in ("lam", "ema", "last", "steps", "best", "armed", "stall_n", "infeasible",
                 "warned", "decayed"):
        assert b2._state[name] == budget._state[name], name
    assert warned == []                            # the warning was given before the save
    assert resume(False)[0] != straight            # (the test can fail)


def test_the_peak_rate_after_a_warm_up_travels_in_the_state():
    """With a warm-up the reference rate is the peak, reached after the budget was built: the
    state carries it, so a budget built on the resumed (decayed) optimizer holds the same
    running target as the one saved."""
    opt = sgd(0.01)
    budget = ViolationBudget(Constant(1.0), 0.1, optimizer=opt)
    f = torch.nn.Identity()
    x = torch.zeros(1, dtype=F64)
    for lr in (0.05, 0.1, 0.08, 0.04):              # warm-up to 0.1, then decay
        opt.param_groups[0]["lr"] = lr
        budget(f, x)
    assert budget._lr_refs == [0.1] and budget.target_now == pytest.approx(0.1 * (1 + 2 * 0.4))
    state = budget.state_dict()
    assert state["_lr_ref"].tolist() == [0.1]
    resumed_opt = sgd(0.04)                          # the resumed optimizer: at the decayed rate
    resumed = ViolationBudget(Constant(1.0), 0.1, optimizer=resumed_opt)
    assert resumed._lr_refs == [0.04]                # (what it would use without the state)
    resumed.load_state_dict(state)
    assert resumed._lr_refs == [0.1] and resumed.target_now == budget.target_now


def test_a_state_without_an_optimizer_does_not_load_into_one_with_and_old_states_load():
    opt = sgd(0.1)
    with pytest.raises(ValueError, match="had no optimizer but this one has optimizer="):
        ViolationBudget(Constant(), 0.1, optimizer=opt).load_state_dict(
            ViolationBudget(Constant(), 0.1).state_dict())
    with pytest.raises(ValueError, match="pass the resumed optimizer as"):
        ViolationBudget(Constant(), 0.1).load_state_dict(
            ViolationBudget(Constant(), 0.1, optimizer=opt).state_dict())
    old = {"_lam": torch.tensor(3.0, dtype=F64), "_ema": torch.tensor(0.2, dtype=F64),
           "_last": torch.tensor(0.2, dtype=F64), "_steps": torch.tensor(7),
           "_skipped": torch.tensor(0)}            # a checkpoint from before the schedule
    b = ViolationBudget(Constant(), 0.1)
    b.load_state_dict(old)
    assert (b.lam, b.ema, b.steps, b.infeasible) == (3.0, 0.2, 7, False)
    assert set(old) == {"_lam", "_ema", "_last", "_steps", "_skipped"}   # not changed


def test_the_old_import_paths_still_work_and_warn_once():
    """Issue 30: ViolationBudget moved to liesoft.experimental; ``from liesoft import
    ViolationBudget`` and ``import liesoft.budget`` keep working with one FutureWarning that
    names the new path and why."""
    import importlib
    import sys

    import liesoft
    import liesoft.experimental as experimental

    for first in ("attribute", "module"):
        experimental._warned = False
        sys.modules.pop("liesoft.budget", None)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if first == "module":
                old = importlib.import_module("liesoft.budget")
            from liesoft import ViolationBudget as via_attribute
            assert liesoft.ViolationBudget is via_attribute is ViolationBudget
            if first == "attribute":
                old = importlib.import_module("liesoft.budget")
        moved = [w for w in caught if issubclass(w.category, FutureWarning)]
        assert len(moved) == 1, [str(w.message) for w in caught]
        msg = str(moved[0].message)
        assert "liesoft.experimental.ViolationBudget" in msg and "does not land" in msg
        assert "find_lambda" in msg and "docs/budget.md" in msg
        assert old.ViolationBudget is ViolationBudget and old.STATE["lam"] is torch.float64
    assert "ViolationBudget" not in liesoft.__all__
    with pytest.raises(AttributeError, match="no attribute 'NoSuchThing'"):
        liesoft.NoSuchThing  # noqa: B018
