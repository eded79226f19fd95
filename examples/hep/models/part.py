"""Particle Transformer (weaver-core 0.5.3, ``weaver.nn.model.ParticleTransformer``) on
zero-padded four-momenta ``(B, N, 4)`` (E, px, py, pz), ready for SEAL.

What the wrapper changes, and why (the traps of running SEAL through ParT):

* **Inputs computed inside, differentiably.** The particle features are the seven of
  ``examples/hep/models/tagger.py`` (log E, log pT, log pT/pT_jet, log E/E_jet, Δη, Δφ, ΔR, the jet
  being the sum of the constituents); ParT's ``v`` is the same momenta channels-first
  ``(B, 4, N)`` in weaver's order (px, py, pz, E). The penalties transform ``(E, px, py, pz)``
  and differentiate through this map.
* **Pair features sanitised.** ParT computes ln kT, ln z, ln ΔR and ln m² of every pair from
  ``v`` (weaver's ``pairwise_lv_fts_pp``). weaver takes ``sqrt`` of pT² and of ΔR² with no
  clamp and ``atan2(py, px)`` directly: at padding (zero four-vectors) and at self-pairs
  (ΔR = 0, computed for every pair even when masked afterwards) their derivatives are inf or
  0/0, and ``0 * inf`` turns into NaN gradients: with respect to the momenta of padded jets
  at first order, and for the parameters in δSEAL's double backward. A sanitised ``v``
  cannot help (ΔR = 0 at the diagonal whatever ``v`` is), so the wrapper replaces the
  function *on its own ParT instance* (``part.pair_embed.pairwise_lv_fts``) by
  :func:`safe_pair_features`: the same four features with ``torch.where`` around every
  ``sqrt``, ``atan2`` and ``log`` (site-packages untouched).
* **Attention**: ParT calls ``F.scaled_dot_product_attention``; double backward fails through
  the fused kernels, so :meth:`PartFromMomenta.forward` runs under
  :func:`liesoft.math_attention` (``math_attention=False`` turns this off for inference).
* **No random trimming.** ParT's ``SequenceTrimmer`` randomly permutes and cuts particles in
  training, so ``f(x)`` and ``f(g x)`` would see different particles: it is built with
  ``trim=False``.
* **Dropout** defaults to 0 (ParT's default is 0.1): with dropout ``f(x)`` and ``f(g x)``
  differ by the masks; the library's policy for stochastic layers decides the rest.

ParT keeps its BatchNorm layers (input and pair embeddings): in training mode they couple the
samples of a batch. The tests here run in eval mode.

``invariant=True`` feeds only Lorentz invariants (``jet_inputs.invariant_inputs`` per particle,
``log(1 + p_i.p_j)`` as the extra pair input, no ``v``): an exactly invariant ParT, on which
every SEAL penalty is zero up to rounding (a test).
"""

from __future__ import annotations

import math
from functools import partial

import torch
from torch import nn

from liesoft import math_attention

from .jet_inputs import (
    N_INVARIANT,
    N_STANDARD,
    check_momenta,
    invariant_inputs,
    pair_invariants,
    standard_inputs,
    to_weaver_v,
)

__all__ = ["PartFromMomenta", "safe_pair_features", "CPU_CONFIG", "SIZES", "get_model"]

# a CPU-sized ParT (the paper's is embed (128, 512, 128), pairs (64, 64, 64), 8 heads,
# 8 layers + 2 class-attention layers, ~2.1 M parameters)
CPU_CONFIG = dict(embed_dims=(64, 64), pair_embed_dims=(32, 32), num_heads=4, num_layers=2,
                  num_cls_layers=1, fc_params=())


def _where_sqrt(a: torch.Tensor) -> torch.Tensor:
    """``sqrt(a)`` for ``a > 0``, 0 elsewhere, with finite derivatives of every order."""
    ok = a > 0
    return torch.where(ok, torch.where(ok, a, torch.ones_like(a)).sqrt(), torch.zeros_like(a))


def _pt_rapidity_phi(v: torch.Tensor):
    """``v`` ``(B, 4, ...)`` (px, py, pz, E) -> pT, rapidity, phi (each ``(B, 1, ...)``),
    0 where undefined (zero pT, or E <= |pz|), with finite gradients there."""
    px, py, pz, e = v.split(1, dim=1)
    pt = _where_sqrt(px**2 + py**2)
    has_pt = pt > 0
    phi = torch.atan2(torch.where(has_pt, py, torch.zeros_like(py)),
                      torch.where(has_pt, px, torch.ones_like(px)))
    plus, minus = e + pz, e - pz
    ok = (plus > 0) & (minus > 0)
    one = torch.ones_like(e)
    rap = torch.where(ok, 0.5 * (torch.where(ok, plus, one).log() - torch.where(ok, minus, one)
                                 .log()), torch.zeros_like(e))
    return pt, rap, phi


def safe_pair_features(xi: torch.Tensor, xj: torch.Tensor, num_outputs: int = 4,
                       eps: float = 1e-8) -> torch.Tensor:
    """ParT's ``pp`` pair features (ln kT, ln z, ln ΔR, ln m²; weaver's definitions, ΔR in
    rapidity-phi) of ``xi``, ``xj`` ``(B, 4, ...)`` (px, py, pz, E, broadcastable), with finite
    derivatives of every order at padding, at self-pairs and at zero pT. Only
    ``num_outputs=4`` (weaver's default for ``pair_input_type="pp"``)."""
    if num_outputs != 4:
        raise ValueError(f"safe_pair_features computes ParT's 4 'pp' pair features, "
                         f"got num_outputs={num_outputs}")
    pti, rapi, phii = _pt_rapidity_phi(xi)
    ptj, rapj, phij = _pt_rapidity_phi(xj)
    dphi = torch.remainder(phii - phij + math.pi, 2 * math.pi) - math.pi
    delta = _where_sqrt((rapi - rapj) ** 2 + dphi**2)
    ptmin = torch.minimum(pti, ptj)
    lnkt = (ptmin * delta).clamp_min(eps).log()
    lnz = (ptmin / (pti + ptj).clamp_min(eps)).clamp_min(eps).log()
    lndelta = delta.clamp_min(eps).log()
    s = xi + xj
    m2 = s[:, 3:4] ** 2 - (s[:, :3] ** 2).sum(1, keepdim=True)
    lnm2 = m2.clamp_min(eps).log()
    return torch.cat([lnkt, lnz, lndelta, lnm2], dim=1)


class PartFromMomenta(nn.Module):
    """ParT taking four-momenta ``(B, N, 4)`` (E, px, py, pz; all-zero rows are padding) and
    returning logits ``(B, num_classes)``.

    Args:
        num_classes: output logits (1 for a binary tagger with ``BCEWithLogitsLoss``).
        invariant: feed only Lorentz invariants (an exactly invariant ParT; for tests).
        dropout: ParT's dropout, attention dropout and activation dropout (default 0).
        math_attention: run the forward under :func:`liesoft.math_attention` (needed for
            δSEAL's exact/random modes and double backward).
        **part_options: passed to ``ParticleTransformer``; defaults are :data:`CPU_CONFIG`.
            ``trim`` is refused (trimming is always off, see the module).

    The ParT is ``self.part``; its pair features are :func:`safe_pair_features`.
    """

    def __init__(self, num_classes: int = 1, *, invariant: bool = False, dropout: float = 0.0,
                 math_attention: bool = True, **part_options):
        super().__init__()
        from weaver.nn.model.ParticleTransformer import ParticleTransformer

        if "trim" in part_options:
            raise ValueError("PartFromMomenta always builds ParT with trim=False (random "
                             "trimming breaks SEAL's f(x) vs f(g x)); got "
                             f"trim={part_options['trim']!r}")
        cfg = {**CPU_CONFIG, **part_options}
        drop = dict(dropout=dropout, attn_dropout=dropout, activation_dropout=dropout)
        cfg["block_params"] = {**drop, **(cfg.get("block_params") or {})}
        self.invariant = bool(invariant)
        self.use_math_attention = bool(math_attention)
        if self.invariant:
            cfg.update(pair_input_dim=0, pair_extra_dim=1)
        self.part = ParticleTransformer(
            input_dim=N_INVARIANT if self.invariant else N_STANDARD, num_classes=num_classes,
            trim=False, **cfg)
        if not self.invariant and self.part.pair_embed is not None:
            pe = self.part.pair_embed
            pe.pairwise_lv_fts = partial(safe_pair_features, num_outputs=pe.pairwise_lv_dim)

    def inputs(self, p: torch.Tensor) -> dict:
        """ParT's keyword inputs computed from ``p`` ``(B, N, 4)``: ``x`` ``(B, C, N)``,
        ``mask`` ``(B, 1, N)`` and ``v`` ``(B, 4, N)`` or ``uu`` ``(B, 1, N, N)``."""
        check_momenta(p, type(self).__name__)
        if self.invariant:
            feats, mask = invariant_inputs(p)
            extra = {"uu": pair_invariants(p)}
        else:
            feats, mask = standard_inputs(p)
            extra = {"v": to_weaver_v(p)}
        return {"x": feats.transpose(1, 2), "mask": mask[:, None, :], **extra}

    def forward(self, p: torch.Tensor) -> torch.Tensor:
        kw = self.inputs(p)
        if self.use_math_attention:
            with math_attention():
                return self.part(**kw)
        return self.part(**kw)


# sizes per preset: the CPU config; tiny for the --quick smoke run; the paper's for "paper" and
# the GPU check (dropout 0 everywhere: the wrapper's default)
SIZES = {"cpu": CPU_CONFIG, "first": CPU_CONFIG,
         "quick": dict(embed_dims=(16, 16), pair_embed_dims=(8, 8), num_heads=2, num_layers=1,
                       num_cls_layers=1, fc_params=()),
         "paper": dict(embed_dims=(128, 512, 128), pair_embed_dims=(64, 64, 64), num_heads=8,
                       num_layers=8, num_cls_layers=2, fc_params=())}
SIZES["gpu_check"] = SIZES["paper"]


def get_model(cfg: dict) -> PartFromMomenta:
    """The network file's entry (docs/models.md): one logit, sized by ``cfg["options"]`` (the
    method's, :data:`SIZES` of the run's preset) or else by ``SIZES[cfg["preset"]]``."""
    options = cfg.get("options") or SIZES[cfg["preset"]]
    return PartFromMomenta(num_classes=1, **options)
