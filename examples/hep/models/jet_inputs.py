"""Model inputs computed *inside* a model from zero-padded four-momenta ``(B, N, 4)`` (E, px,
py, pz), differentiably and with every singular point sanitised, for the weaver taggers of
``part.py`` and ``particlenet.py``.

Two feature sets:

* **standard** (not Lorentz invariant, what taggers are trained on): the seven constituent
  features of ``examples/hep/models/tagger.py`` (log E, log pT, log pT/pT_jet, log E/E_jet, Δη, Δφ,
  ΔR; sanitised there) and the channels-first momenta ``v`` ``(B, 4, N)`` in weaver's order
  (px, py, pz, E) from which ParT computes its pair features;
* **invariant** (exactly Lorentz invariant, for tests: a model fed only these has zero SEAL
  penalties): per particle ``log(1 + p_i.J)``, ``log(1 + m_J^2)`` and ``p_i.J / (1 + m_J^2)``
  (``J`` the jet, the sum of the constituents; GeV units), and per pair ``log(1 + p_i.p_j)``.

Padding (all-zero four-vectors, which stay zero under every Lorentz transformation) gets zero
features and finite gradients: every log argument is ``1 + (something >= 0)``, clamped at zero
first (a physical ``p_i.p_j`` is >= 0; rounding can make it slightly negative).
"""

from __future__ import annotations

import torch

from examples.hep.models.tagger import constituent_features, padding_mask

__all__ = ["check_momenta", "standard_inputs", "invariant_inputs", "pair_invariants",
           "to_weaver_v", "minkowski", "N_STANDARD", "N_INVARIANT"]

N_STANDARD = 7
N_INVARIANT = 3


def check_momenta(p, who: str) -> torch.Tensor:
    """``p`` must be a floating tensor ``(B, N, 4)`` with ``B, N >= 1``; else a clear error."""
    if not isinstance(p, torch.Tensor):
        raise TypeError(f"{who} expects a torch.Tensor of four-momenta (B, N, 4), got "
                        f"{type(p).__name__}")
    if p.ndim != 3 or p.shape[-1] != 4 or p.shape[0] == 0 or p.shape[1] == 0:
        raise ValueError(f"{who} expects four-momenta of shape (B, N, 4) = (E, px, py, pz) per "
                         f"particle with B, N >= 1, got {tuple(p.shape)}")
    if not p.is_floating_point():
        raise TypeError(f"{who} expects floating-point four-momenta, got dtype {p.dtype}")
    return p


def minkowski(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a.b = a_E b_E - a_p . b_p`` over the last axis (E, px, py, pz); broadcasts."""
    return a[..., 0] * b[..., 0] - (a[..., 1:] * b[..., 1:]).sum(-1)


def to_weaver_v(p: torch.Tensor) -> torch.Tensor:
    """``(B, N, 4)`` (E, px, py, pz) -> weaver's ``v`` ``(B, 4, N)`` (px, py, pz, E)."""
    return p[..., [1, 2, 3, 0]].transpose(1, 2)


def standard_inputs(p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Features ``(B, N, 7)`` (tagger.py's, sanitised there) and the real-particle mask
    ``(B, N)``."""
    return constituent_features(p)


def invariant_inputs(p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Lorentz-invariant features ``(B, N, 3)`` and the mask ``(B, N)`` (see the module)."""
    mask = padding_mask(p)
    m = mask[..., None].to(p.dtype)
    jet = (p * m).sum(1, keepdim=True)                       # (B, 1, 4)
    pj = minkowski(p, jet).clamp_min(0)                      # (B, N)
    mj2 = minkowski(jet, jet).clamp_min(0)                   # (B, 1)
    feats = torch.stack([torch.log1p(pj), torch.log1p(mj2).expand_as(pj), pj / (1 + mj2)], -1)
    return feats * m, mask


def pair_invariants(p: torch.Tensor) -> torch.Tensor:
    """``log(1 + p_i.p_j)`` as ParT's extra pair input ``uu`` ``(B, 1, N, N)``."""
    dots = minkowski(p[:, :, None, :], p[:, None, :, :]).clamp_min(0)
    return torch.log1p(dots)[:, None]
