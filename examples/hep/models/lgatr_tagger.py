"""A hard-constrained baseline: the Lorentz-equivariant geometric-algebra transformer (L-GATr,
Spinner et al. 2024, the ``lgatr`` package) as a jet tagger with the same interface as
:class:`examples.hep.models.tagger.JetTransformer`: four-momenta ``(B, N, 4)`` in, one logit out.

* Each constituent's four-momentum (divided by ``scale`` GeV, a Lorentz-invariant rescaling)
  is embedded as the vector part of a multivector (``lgatr.embed_vector``): one token per
  constituent, one multivector channel.
* Padding tokens are masked out of attention and pooling.
* Invariant pooling: the scalar component of the output multivector (``lgatr.extract_scalar``)
  of every real token, averaged — a Lorentz-invariant logit, exact up to float rounding.
* ``spurions=True``: the standard symmetry-breaking variant of the lgatr documentation — the
  reference multivectors of ``lgatr.get_spurions()`` (by default the beam as the x-y plane
  bivector and the time direction) are appended as extra tokens, so the network may use the
  beam and the lab frame; it is then no longer invariant.
"""

from __future__ import annotations

import torch
from torch import nn

from examples.hep.models.tagger import masked_mean, padding_mask

try:
    import lgatr
except ImportError:  # pragma: no cover - exercised through `available()`
    lgatr = None

__all__ = ["available", "LGATrTagger", "MISSING_MESSAGE", "get_model"]

MISSING_MESSAGE = ("the 'lgatr' method needs the lgatr package: install the hep extra, "
                   "pip install -e \".[hep]\" (or pip install lgatr)")


def available() -> bool:
    return lgatr is not None


class LGATrTagger(nn.Module):
    """L-GATr tagger: ``blocks`` transformer blocks with ``mv_channels`` hidden multivector
    channels and ``s_channels`` hidden scalar channels."""

    def __init__(self, blocks: int = 2, mv_channels: int = 8, s_channels: int = 16,
                 heads: int = 2, spurions: bool = False, scale: float = 100.0,
                 sparse_gp: bool = True):
        super().__init__()
        if lgatr is None:
            raise ImportError(MISSING_MESSAGE)
        self.scale = float(scale)
        self.use_spurions = bool(spurions)
        self.net = lgatr.LGATr(
            num_blocks=blocks, in_mv_channels=1, out_mv_channels=1,
            hidden_mv_channels=mv_channels, in_s_channels=0, out_s_channels=0,
            hidden_s_channels=s_channels, attention=dict(num_heads=heads), mlp=dict(),
            primitives=dict(sparse_gp=bool(sparse_gp)))
        if self.use_spurions:
            self.register_buffer("spurions", lgatr.get_spurions(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask = padding_mask(x)  # (B, N)
        mv = lgatr.embed_vector(x / self.scale)[..., None, :]  # (B, N, 1, 16)
        keys = mask
        if self.use_spurions:
            sp = self.spurions.to(mv.dtype)[None, :, None, :].expand(x.shape[0], -1, -1, -1)
            mv = torch.cat([mv, sp], dim=1)
            keys = torch.cat([mask, mask.new_ones(x.shape[0], sp.shape[1])], dim=1)
        out_mv, _ = self.net(mv, attn_mask=keys[:, None, None, :])
        score = lgatr.extract_scalar(out_mv)[..., 0, 0][:, : x.shape[1]]  # constituents only
        return masked_mean(score, mask)[:, None]


def get_model(cfg: dict) -> LGATrTagger:
    """The network file's entry (docs/models.md): L-GATr at the preset's sizes (``cfg``'s
    ``lgatr_blocks``, ``lgatr_mv``, ``lgatr_s``, ``heads``); ``cfg["lgatr_spurions"]``: the beam
    and time direction as extra spurion tokens; the dense geometric product in eager CPU mode
    (faster there, docs/benchmarks.md), lgatr's sparse kernel when ``cfg["device"]`` is cuda."""
    return LGATrTagger(blocks=cfg["lgatr_blocks"], mv_channels=cfg["lgatr_mv"],
                       s_channels=cfg["lgatr_s"], heads=cfg["heads"],
                       spurions=bool(cfg.get("lgatr_spurions", False)),
                       sparse_gp=cfg.get("device") == "cuda")
