"""The paper's jet transformer, with its constituent features computed *inside* the model from
the four-momenta, so that both SEAL penalties act on ``(E, px, py, pz)`` and differentiate
through the feature map.

Features per constituent (paper §3.2): log E, log pT, log(pT / pT_jet), log(E / E_jet), Δη,
Δφ, ΔR, with the jet the sum of the constituents. Padding (all-zero four-vectors; they stay
zero under any Lorentz transformation) is detected inside the model and *sanitised before
every log, sqrt and atan2*: a masked ``log(0)`` still has a NaN gradient.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["constituent_features", "JetTransformer", "N_FEATURES", "padding_mask",
           "masked_mean", "get_model"]

N_FEATURES = 7


def padding_mask(x: torch.Tensor) -> torch.Tensor:
    """``(B, N)``: True for real constituents; all-zero four-vectors are padding (they stay zero
    under every Lorentz transformation)."""
    return (x != 0).any(-1)


def masked_mean(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``h`` ``(B, N, ...)`` over the real tokens of ``mask`` ``(B, N)`` (zero for a jet
    with none)."""
    m = mask.reshape(*mask.shape, *([1] * (h.ndim - 2))).to(h.dtype)
    return (h * m).sum(1) / m.sum(1).clamp_min(1.0)


def _eta_phi(px, py, pz, pt):
    return torch.asinh(pz / pt), torch.atan2(py, px)


def constituent_features(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``x`` ``(B, N, 4)`` four-momenta in GeV -> features ``(B, N, 7)`` and mask ``(B, N)``.

    Padded entries have all features zero; values and gradients are finite everywhere.
    """
    mask = padding_mask(x)
    E, px, py, pz = x.unbind(-1)
    one = torch.ones_like(E)
    # sanitise padding before log / sqrt / atan2 (their gradients at 0 are inf or NaN)
    E_s = torch.where(mask, E, one)
    px_s = torch.where(mask, px, one)
    py_s = torch.where(mask, py, torch.zeros_like(py))
    pt2 = px_s**2 + py_s**2
    pt = pt2.sqrt()
    eta, phi = _eta_phi(px_s, py_s, torch.where(mask, pz, torch.zeros_like(pz)), pt)

    jet = (x * mask[..., None]).sum(-2)  # (B, 4); padding contributes nothing, not even gradients
    jet_pt = (jet[:, 1] ** 2 + jet[:, 2] ** 2).clamp_min(1e-12).sqrt()
    jet_eta, jet_phi = _eta_phi(jet[:, 1], jet[:, 2], jet[:, 3], jet_pt)
    jet_E = jet[:, 0].clamp_min(1e-12)

    deta = eta - jet_eta[:, None]
    dphi = torch.remainder(phi - jet_phi[:, None] + math.pi, 2 * math.pi) - math.pi
    # ΔR = 0 happens (a one-constituent jet, a constituent on the jet axis): sqrt'(0) = inf
    # would poison δSEAL's double backward, so the square root only sees positive arguments
    dr2 = deta**2 + dphi**2
    positive = mask & (dr2 > 0)
    dr = torch.where(positive, torch.where(positive, dr2, one).sqrt(), torch.zeros_like(dr2))
    feats = torch.stack([
        E_s.abs().log(), 0.5 * pt2.log(),
        0.5 * pt2.log() - jet_pt.log()[:, None], E_s.abs().log() - jet_E.log()[:, None],
        deta, dphi, dr,
    ], dim=-1)
    return feats * mask[..., None], mask


class JetTransformer(nn.Module):
    """Embedding -> transformer encoder -> masked mean pooling -> ReLU MLP -> one logit.

    Paper sizes (``d=256, layers=3, heads=4, hidden=128, hidden_layers=3``) give ~1.3 M
    parameters (the encoder's feed-forward width is ``d``). The output is a logit ``(B, 1)``;
    ``toptag.py`` penalises its sigmoid by default, as the paper does (``--penalty-on logit``
    penalises the logit itself).
    """

    def __init__(self, d: int = 256, layers: int = 3, heads: int = 4, hidden: int = 128,
                 hidden_layers: int = 3, dropout: float = 0.0):
        super().__init__()
        self.embed = nn.Linear(N_FEATURES, d)
        layer = nn.TransformerEncoderLayer(d, heads, dim_feedforward=d, dropout=dropout,
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        mlp, width = [], d
        for _ in range(hidden_layers):
            mlp += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        self.head = nn.Sequential(*mlp, nn.Linear(width, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats, mask = constituent_features(x)
        h = self.encoder(self.embed(feats), src_key_padding_mask=~mask)
        return self.head(masked_mean(h, mask))


def get_model(cfg: dict) -> JetTransformer:
    """The network file's entry (docs/models.md): the transformer at the preset's sizes
    (``cfg``'s ``d``, ``layers``, ``heads``, ``hidden``, ``hidden_layers``)."""
    return JetTransformer(d=cfg["d"], layers=cfg["layers"], heads=cfg["heads"],
                          hidden=cfg["hidden"], hidden_layers=cfg["hidden_layers"])
