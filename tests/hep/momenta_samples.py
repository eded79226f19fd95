"""Padded jets of physical four-momenta for the weaver-tagger tests (not a test module)."""

from __future__ import annotations

import torch

from liesoft import GSEAL, DeltaSEAL, Lorentz, Vector4

# the penalties every weaver-tagger test runs: GSEAL and δSEAL's three modes
PENALTIES = {
    "gseal": lambda: GSEAL(Lorentz(), Vector4()),
    "exact": lambda: DeltaSEAL(Lorentz(), Vector4()),
    "random": lambda: DeltaSEAL(Lorentz(), Vector4(), mode="random"),
    "fd": lambda: DeltaSEAL(Lorentz(), Vector4(), mode="fd"),
}


def physical_jets(batch: int = 6, length: int = 12, *, min_real: int = 2, dtype=torch.float64,
                  seed: int = 0, pad_positions: str = "end") -> torch.Tensor:
    """``(batch, length, 4)`` (E, px, py, pz): each jet has ``min_real..length - 2`` massive
    constituents around a random axis (|eta| < 1, pT 5-200 GeV, m < 0.5 GeV), at least two
    zero rows of padding; ``pad_positions="mixed"`` scatters the padding between the
    constituents."""
    g = torch.Generator().manual_seed(seed)
    p = torch.zeros(batch, length, 4, dtype=dtype)
    for b in range(batch):
        n = int(torch.randint(min_real, length - 1, (), generator=g))
        axis_eta, axis_phi = (torch.rand(2, generator=g, dtype=dtype) - 0.5) * 2 * 3.0
        pt = 5 + 195 * torch.rand(n, generator=g, dtype=dtype)
        eta = axis_eta / 3 + 0.3 * torch.randn(n, generator=g, dtype=dtype)
        phi = axis_phi + 0.3 * torch.randn(n, generator=g, dtype=dtype)
        m = 0.5 * torch.rand(n, generator=g, dtype=dtype)
        px, py, pz = pt * phi.cos(), pt * phi.sin(), pt * torch.sinh(eta)
        e = (px**2 + py**2 + pz**2 + m**2).sqrt()
        rows = (torch.randperm(length, generator=g)[:n].sort().values if pad_positions == "mixed"
                else torch.arange(n))
        p[b, rows] = torch.stack([e, px, py, pz], -1)
    return p


@torch.no_grad()
def calibrate(model: torch.nn.Module, p: torch.Tensor, steps: int = 3) -> torch.nn.Module:
    """Set BatchNorm running statistics from a few train-mode passes (so that eval-mode outputs
    are O(1)), then switch to eval mode."""
    model.train()
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.momentum = None  # cumulative average
    for _ in range(steps):
        model(p)
    return model.eval()


def all_finite_grads(model: torch.nn.Module) -> bool:
    grads = [q.grad for q in model.parameters() if q.grad is not None]
    return len(grads) > 0 and all(bool(torch.isfinite(g).all()) for g in grads)


def padded_jets(dtype=torch.float64) -> torch.Tensor:
    """Mixed padding, a one-constituent jet (ΔR = 0 to its axis; fewer than k + 1 real
    particles for ParticleNet's kNN) and a jet of two."""
    p = physical_jets(6, 12, dtype=dtype, seed=1, pad_positions="mixed")
    p[0] = 0
    p[0, 3] = torch.tensor([50.0, 30.0, 40.0, 0.0], dtype=dtype)
    p[1, 2:] = 0
    return p
