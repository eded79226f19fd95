"""Synthetic two-class jets for tests and benchmarks of the weaver taggers (no event
generator needed): 'top-like' jets have three prongs, 'QCD-like' jets one; massless
constituents around a random axis, zero-padded, (E, px, py, pz) in GeV."""

from __future__ import annotations

import torch

__all__ = ["prong_jets"]


def prong_jets(n_jets: int, length: int = 50, *, seed: int = 0, pt_range=(550.0, 650.0),
               min_constituents: int = 10, dtype=torch.float32):
    """``(p, labels)``: ``p`` ``(n_jets, length, 4)`` (E, px, py, pz), zero-padded;
    ``labels`` ``(n_jets,)`` float, 1 = three-prong, 0 = one-prong. Prongs are spread by 0.3 in
    (η, φ) around the axis, constituents by 0.05 around their prong; pT shares are Dirichlet."""
    g = torch.Generator().manual_seed(seed)
    labels = (torch.rand(n_jets, generator=g) < 0.5).float()
    p = torch.zeros(n_jets, length, 4, dtype=torch.float64)
    for i in range(n_jets):
        n = int(torch.randint(min_constituents, length + 1, (), generator=g))
        prongs = 3 if labels[i] else 1
        centers = 0.3 * torch.randn(prongs, 2, generator=g, dtype=torch.float64) * (prongs > 1)
        which = torch.randint(0, prongs, (n,), generator=g)
        axis = torch.tensor([2 * torch.rand((), generator=g) - 1,
                             (2 * torch.rand((), generator=g) - 1) * torch.pi], dtype=torch.float64)
        eta_phi = axis + centers[which] + 0.05 * torch.randn(n, 2, generator=g, dtype=torch.float64)
        jet_pt = pt_range[0] + (pt_range[1] - pt_range[0]) * torch.rand((), generator=g)
        pt = jet_pt * _dirichlet(n, g)
        eta, phi = eta_phi.unbind(-1)
        px, py, pz = pt * phi.cos(), pt * phi.sin(), pt * torch.sinh(eta)
        p[i, :n] = torch.stack([(px**2 + py**2 + pz**2).sqrt(), px, py, pz], -1)
    return p.to(dtype), labels


def _dirichlet(n: int, g: torch.Generator) -> torch.Tensor:
    """Dirichlet(1, ..., 1) from the generator ``g`` (normalised exponentials)."""
    e = -torch.rand(n, generator=g, dtype=torch.float64).clamp_min(1e-300).log()
    return e / e.sum()
