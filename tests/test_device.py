"""The library on a device (``pytest tests/test_device.py --device cuda``; default cpu).

Two kinds of test (issue 32 item 3: no test that cannot fail):

* against an independent reference, on every device including the CPU: δSEAL exact (value and
  gradients) of a linear model against the residual ``w·(L_a x)`` summed by hand, three
  ViolationBudget steps against the documented λ rule applied by hand, and the audit against
  its closed form (``2 sin(θ/2)|x_⊥|``); bfloat16 autocast against float32;
* the device against the CPU (GSEAL, δSEAL exact, random and fd on the tagger, a budget step,
  the audit): these compare two different computations only when ``--device`` is not the CPU,
  and skip with that reason under the default ``--device cpu`` (the CPU against itself cannot
  fail).

The draws come from a CPU ``torch.Generator`` (the samplers draw on the generator's device and
move the result), so both sides see the same boosts and projections. Both sides run in
float64: they differ by the order of float64 reductions only (~1e-15 relative), so rel 1e-9 is
generous; fd differences its outputs over a step of 1e-4, which amplifies that to ~1e-11.
Under bfloat16 autocast, test_autocast's check (its model, its penalties and its tolerances,
derived there from bfloat16 rounding) runs on the device.
"""

import copy
import math

import pytest
import torch

from examples.hep.models.tagger import JetTransformer
from liesoft import GSEAL, SO3, DeltaSEAL, Lorentz, Scalar, Vector, Vector4, invariance_profile
from liesoft.experimental import ViolationBudget
from tests import test_autocast

F64 = torch.float64
PENALTIES = {
    "gseal": (lambda: GSEAL(Lorentz(), Vector4()), 0.05),
    "dseal_exact": (lambda: DeltaSEAL(Lorentz(), Vector4()), 0.05),
    "dseal_random": (lambda: DeltaSEAL(Lorentz(), Vector4(), mode="random"), 0.05),
    "dseal_fd": (lambda: DeltaSEAL(Lorentz(), Vector4(), mode="fd"), 0.06),
}
REL = 1e-9


def jets(batch=16, n=12, pad=4):
    """Massive constituents (E > |p|) with the last ``pad`` rows zero (padding)."""
    g = torch.Generator().manual_seed(0)
    p = 30 * torch.randn(batch, n, 3, generator=g, dtype=F64)
    x = torch.cat([(p.pow(2).sum(-1, keepdim=True) + 4.0).sqrt(), p], -1)
    x[:, n - pad:] = 0.0
    return x


def tagger():
    torch.manual_seed(3)
    return JetTransformer(d=16, layers=1, heads=2, hidden=16, hidden_layers=1).double().eval()


def on(model, device):
    return copy.deepcopy(model).to(device)


def value_and_grads(penalty, model, x, seed):
    value = penalty(model, x, generator=torch.Generator().manual_seed(seed))
    params = list(model.parameters())
    grads = torch.autograd.grad(value, params, allow_unused=True)  # e.g. an unused bias
    return value.detach().cpu(), [torch.zeros_like(p).cpu() if g is None else g.detach().cpu()
                                  for g, p in zip(grads, params, strict=True)]


@pytest.fixture
def accelerator(device):
    """The ``--device`` of the device-against-CPU tests: skipped on the CPU, where both sides
    would be the same computation (nothing could differ, the test could not fail)."""
    if device.type == "cpu":
        pytest.skip("--device cpu: the device-against-CPU comparison would compare the CPU with "
                    "itself; run with --device cuda (the reference tests run on the CPU)")
    return device


def close(a, b, rel):
    """|a - b| <= rel max|b| elementwise (a scale-relative bound: gradients have zeros)."""
    scale = max(float(b.abs().max()), 1e-300)
    return float((a - b).abs().max()) <= rel * scale


@pytest.mark.parametrize("name", sorted(PENALTIES))
def test_penalty_value_and_gradients_on_the_device_match_the_cpu_in_float64(name, accelerator):
    device = accelerator
    make, _ = PENALTIES[name]
    model, x = tagger(), jets()
    want, want_grads = value_and_grads(make(), model, x, seed=5)
    got, got_grads = value_and_grads(make().to(device), on(model, device), x.to(device), seed=5)
    assert float(want) > 1e-6  # a real violation, not two zeros
    assert got.dtype == F64 and close(got, want, REL), (name, float(got), float(want))
    for g, w in zip(got_grads, want_grads, strict=True):
        assert close(g, w, REL), name


@pytest.mark.parametrize("name", sorted(test_autocast.PENALTIES))
def test_penalty_under_bfloat16_autocast_on_the_device_is_near_float32(name, device):
    make, rtol = test_autocast.PENALTIES[name]
    x = test_autocast.jets().to(device)
    for seed in range(2):  # the same draws in both precisions
        m = test_autocast.model(norm=False).to(device)
        pen = make().to(device)
        v32 = pen(m, x, generator=torch.Generator().manual_seed(seed))
        with torch.autocast(device.type, dtype=torch.bfloat16):
            out = m(x)
            v16 = pen(m, x, generator=torch.Generator().manual_seed(seed))
        assert out.dtype == torch.bfloat16 and v16.dtype == torch.float32
        grads = torch.autograd.grad(v16, list(m.parameters()), allow_unused=True)
        assert all(torch.isfinite(g).all() for g in grads if g is not None)
        assert float(v32) > 1e-3
        assert abs(float(v16) - float(v32)) <= rtol * float(v32), (name, seed)


def test_a_budget_step_on_the_device_matches_the_cpu(accelerator):
    """Three training steps with a ViolationBudget (an MLP in training mode: the budget
    updates λ only then): λ, Γ̄, Γ and the weights agree."""
    device = accelerator
    torch.manual_seed(2)
    model = torch.nn.Sequential(torch.nn.Linear(4, 32), torch.nn.Tanh(),
                                torch.nn.Linear(32, 1)).double()
    x = jets()[:, 0]  # (16, 4) four-vectors
    states = []
    for dev in (torch.device("cpu"), device):
        m = on(model, dev).train()
        budget = ViolationBudget(GSEAL(Lorentz(), Vector4()), target=1e-3).to(dev)
        opt = torch.optim.SGD(m.parameters(), lr=1e-3)
        for step in range(3):
            opt.zero_grad()
            loss = budget(m, x.to(dev), generator=torch.Generator().manual_seed(step))
            loss.backward()
            opt.step()
        states.append((budget.lam, budget.ema, budget.value, budget.steps,
                       [p.detach().cpu() for p in m.parameters()]))
    (lam0, ema0, v0, n0, p0), (lam1, ema1, v1, n1, p1) = states
    assert n0 == n1 == 3 and v0 > 0 and lam0 != 1.0  # λ really moved
    assert lam1 == pytest.approx(lam0, rel=REL) and ema1 == pytest.approx(ema0, rel=REL)
    assert v1 == pytest.approx(v0, rel=REL)
    assert all(close(a, b, REL) for a, b in zip(p1, p0, strict=True))


def test_the_audit_on_the_device_matches_the_cpu(accelerator):
    device = accelerator
    model, x = tagger(), jets()
    profiles = []
    for dev in (torch.device("cpu"), device):
        m = on(model, dev)
        profiles.append(invariance_profile(lambda z, m=m: torch.sigmoid(m(z)), x.to(dev),
                                           Lorentz(), Vector4(), magnitudes=[0.1, 0.5, 0.9],
                                           per_generator=True,
                                           generator=torch.Generator().manual_seed(7)))
    cpu, dev = profiles
    assert len(cpu.mean) >= 6 and max(float(v.max()) for v in cpu.mean.values()) > 1e-6
    for fam in cpu.mean:
        assert close(dev.mean[fam].cpu(), cpu.mean[fam], REL), fam
        assert close(dev.sem[fam].cpu(), cpu.sem[fam], REL), fam


# ------------------------------------------------------------------ independent references
# These run on every device, the CPU included: the reference is not the library's computation.
# float64 throughout: value and reference differ by float64 rounding of a few sums (~1e-15
# relative), so REL = 1e-9 stays generous, and any convention error is O(1).
def four_vectors(n=24, seed=0):
    g = torch.Generator().manual_seed(seed)
    p = torch.randn(n, 3, generator=g, dtype=F64)
    return torch.cat([(p.pow(2).sum(-1, keepdim=True) + 1.0).sqrt(), p], -1)


def linear_model(device):
    torch.manual_seed(4)
    return torch.nn.Linear(4, 1).double().to(device)


def dseal_by_hand(w, x):
    """δSEAL exact (eq. 10) of f(x) = w·x + b declared invariant: the residual of generator a
    at x is w·(L_a x) (ρ of a scalar is trivial); the value is the batch mean of
    Σ_a (w·L_a x)² / n, and its gradient in w is the batch mean of Σ_a 2 (w·L_a x) L_a x / n
    (zero in b)."""
    L = Lorentz().generators.to(x)                      # (n, 4, 4)
    lx = torch.einsum("aij,bj->bai", L, x)              # L_a x, (B, n, 4)
    r = lx @ w                                          # (B, n)
    n = L.shape[0]
    return (r ** 2).sum(-1).mean() / n, (2 * r[..., None] * lx).sum(1).mean(0) / n


def test_dseal_exact_on_the_device_against_the_residual_summed_by_hand(device):
    model, x = linear_model(device), four_vectors().to(device)
    value = DeltaSEAL(Lorentz(), Vector4()).to(device)(model, x)
    gw, gb = torch.autograd.grad(value, [model.weight, model.bias], allow_unused=True)
    want, want_gw = dseal_by_hand(model.weight.detach()[0].cpu(), x.cpu())
    assert value.dtype == F64 and float(want) > 1e-2
    assert float(value) == pytest.approx(float(want), rel=REL)
    assert close(gw[0].cpu(), want_gw, REL)
    assert gb is None or float(gb.abs().max()) <= 1e-12 * float(want_gw.abs().max())


def test_budget_steps_on_the_device_against_the_documented_rule_by_hand(device):
    """λ·Γ with the λ of before the call; Γ̄ = ρ Γ̄ + (1 − ρ) Γ (Γ̄ = Γ at the first step);
    λ ← λ exp(η clamp(ln(Γ̄ / target), −c, c)); SGD on λ·Γ: three steps, all by hand."""
    model, x = linear_model(device), four_vectors().to(device)
    rate, decay, clip, target, lr = 0.3, 0.8, 1.0, 1e-3, 1e-2
    budget = ViolationBudget(DeltaSEAL(Lorentz(), Vector4()), target=target, rate=rate,
                             ema_decay=decay, clip=clip).to(device).train()
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    w = model.weight.detach()[0].cpu().clone()
    lam, ema = 1.0, None
    for _ in range(3):
        opt.zero_grad()
        loss = budget(model, x)
        gamma, grad = dseal_by_hand(w, x.cpu())
        assert float(loss) == pytest.approx(lam * float(gamma), rel=REL)
        loss.backward()
        opt.step()
        w = w - lr * lam * grad
        ema = float(gamma) if ema is None else decay * ema + (1 - decay) * float(gamma)
        lam = lam * math.exp(rate * max(-clip, min(clip, math.log(ema / target))))
        assert budget.value == pytest.approx(float(gamma), rel=REL)
        assert budget.ema == pytest.approx(ema, rel=REL)
        assert budget.lam == pytest.approx(lam, rel=REL)
        assert close(model.weight.detach()[0].cpu(), w, REL)
    assert budget.steps == 3 and lam > 1.0                # λ really moved, upwards


def test_the_audit_on_the_device_against_its_closed_form(device):
    """f(x) = x declared three invariant scalars, rotated about z by ±θ: each sample's
    violation is |R x − x| = 2 sin(θ/2) |x_⊥|; the curve is their mean, the error std/√B."""
    x = torch.randn(40, 3, generator=torch.Generator().manual_seed(0), dtype=F64)
    prof = invariance_profile(lambda v: v, x.to(device), SO3(), Vector(), 3 * Scalar(),
                              magnitudes=[0.3, 0.7], families={"z": ["J_z"]},
                              generator=torch.Generator().manual_seed(1))
    for i, theta in enumerate((0.3, 0.7)):
        v = 2 * math.sin(theta / 2) * torch.hypot(x[:, 0], x[:, 1])
        assert float(prof.mean["z"][i]) == pytest.approx(float(v.mean()), rel=REL)
        assert float(prof.sem["z"][i]) == pytest.approx(float(v.std() / math.sqrt(40)), rel=REL)
