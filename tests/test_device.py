"""The library on a device (``pytest tests/test_device.py --device cuda``; default cpu): the
penalties (GSEAL, δSEAL exact, random and fd), a ViolationBudget step and the audit computed
on the device against the same computation on the CPU in float64.

The draws come from a CPU ``torch.Generator`` (the samplers draw on the generator's device and
move the result), so both sides see the same boosts and projections. Both sides run in
float64: they differ by the order of float64 reductions only (~1e-15 relative), so rel 1e-9 is
generous; fd differences its outputs over a step of 1e-4, which amplifies that to ~1e-11.
Under bfloat16 autocast, test_autocast's check (its model, its penalties and its tolerances,
derived there from bfloat16 rounding) runs on the device.
"""

import copy

import pytest
import torch

from examples.hep.models.tagger import JetTransformer
from liesoft import GSEAL, DeltaSEAL, Lorentz, Vector4, ViolationBudget, invariance_profile
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


def close(a, b, rel):
    """|a - b| <= rel max|b| elementwise (a scale-relative bound: gradients have zeros)."""
    scale = max(float(b.abs().max()), 1e-300)
    return float((a - b).abs().max()) <= rel * scale


@pytest.mark.parametrize("name", sorted(PENALTIES))
def test_penalty_value_and_gradients_on_the_device_match_the_cpu_in_float64(name, device):
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


def test_a_budget_step_on_the_device_matches_the_cpu(device):
    """Three training steps with a ViolationBudget (an MLP in training mode: the budget
    updates λ only then): λ, Γ̄, Γ and the weights agree."""
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


def test_the_audit_on_the_device_matches_the_cpu(device):
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
