"""ParticleNet (weaver-core 0.5.3, ``weaver.nn.model.ParticleNet``) on zero-padded
four-momenta ``(B, N, 4)`` (E, px, py, pz), ready for SEAL.

ParticleNet takes ``points`` ``(B, 2, N)``, the coordinates of its first k-nearest-neighbour
graph, ``features`` ``(B, C, N)`` and ``mask`` ``(B, 1, N)``. The wrapper computes them inside
from the momenta: points = (Δη, Δφ) to the jet axis, features = the seven constituent features
of ``examples/hep/models/tagger.py`` (sanitised there: no NaN gradient from log, sqrt or atan2 at
padding or at ΔR = 0). The neighbour search uses only ``topk`` indices, so no gradient flows
through the points; the penalties differentiate through the gathered features.

ParticleNet's ``SequenceTrimmer`` (random permutation and cut of the particles in training) is
off (``trim=False``); dropout in its head defaults to 0. BatchNorm stays (it couples the batch
in training mode; the tests run in eval mode). ``invariant=True`` uses only Lorentz invariants
for points and features (``jet_inputs.invariant_inputs``): an exactly invariant ParticleNet.

Padding: ParticleNet moves padded points to 1e9, so they are never neighbours of real ones
unless a jet has fewer than ``k + 1`` real particles (then the zero features of padding enter
the mean over neighbours, the same for any amount of padding). The total length ``N`` must be at
least ``k + 1`` for every EdgeConv's ``k``: a shorter input raises ``ValueError``.
"""

from __future__ import annotations

import torch
from torch import nn

from .jet_inputs import N_INVARIANT, N_STANDARD, check_momenta, invariant_inputs, standard_inputs

__all__ = ["ParticleNetFromMomenta", "CPU_CONFIG", "SIZES", "get_model"]

# a CPU-sized ParticleNet (the paper's: conv (16, (64, 64, 64)), (16, (128, 128, 128)),
# (16, (256, 256, 256)), fc (256, 0.1), ~370 k parameters)
CPU_CONFIG = dict(conv_params=((7, (32, 32)), (7, (64, 64))), fc_params=((64, 0.0),))


class ParticleNetFromMomenta(nn.Module):
    """ParticleNet taking four-momenta ``(B, N, 4)`` (E, px, py, pz; all-zero rows are
    padding) and returning logits ``(B, num_classes)``.

    Args:
        num_classes: output logits (1 for a binary tagger with ``BCEWithLogitsLoss``).
        invariant: points and features are Lorentz invariants only (for tests).
        **pn_options: passed to ``ParticleNet``; defaults are :data:`CPU_CONFIG`. ``trim`` is
            refused (always off).

    The ParticleNet is ``self.pn``.
    """

    def __init__(self, num_classes: int = 1, *, invariant: bool = False, **pn_options):
        super().__init__()
        from weaver.nn.model.ParticleNet import ParticleNet

        if "trim" in pn_options:
            raise ValueError("ParticleNetFromMomenta always builds ParticleNet with trim=False "
                             f"(random trimming breaks SEAL's f(x) vs f(g x)); got "
                             f"trim={pn_options['trim']!r}")
        cfg = {**CPU_CONFIG, **pn_options}
        self.invariant = bool(invariant)
        self.k_max = max(k for k, _ in cfg["conv_params"])
        self.pn = ParticleNet(input_dims=N_INVARIANT if self.invariant else N_STANDARD,
                              num_classes=num_classes, trim=False, **cfg)

    def inputs(self, p: torch.Tensor) -> dict:
        """ParticleNet's inputs from ``p`` ``(B, N, 4)``: ``points`` ``(B, 2, N)``,
        ``features`` ``(B, C, N)``, ``mask`` ``(B, 1, N)``."""
        check_momenta(p, type(self).__name__)
        if p.shape[1] < self.k_max + 1:
            raise ValueError(f"ParticleNet's k-nearest-neighbour search needs N >= k + 1 = "
                             f"{self.k_max + 1} particles per jet (pad with zero four-vectors), "
                             f"got N = {p.shape[1]}")
        if self.invariant:
            feats, mask = invariant_inputs(p)
            points = feats[..., :2]
        else:
            feats, mask = standard_inputs(p)
            points = feats[..., 4:6]  # Δη, Δφ
        return {"points": points.transpose(1, 2), "features": feats.transpose(1, 2),
                "mask": mask[:, None, :]}

    def forward(self, p: torch.Tensor) -> torch.Tensor:
        return self.pn(**self.inputs(p))


# sizes per preset: the CPU config; tiny for the --quick smoke run; the paper's for "paper" and
# the GPU check
SIZES = {"cpu": CPU_CONFIG, "first": CPU_CONFIG,
         "quick": dict(conv_params=((4, (16, 16)),), fc_params=((16, 0.0),)),
         "paper": dict(conv_params=((16, (64, 64, 64)), (16, (128, 128, 128)),
                                    (16, (256, 256, 256))), fc_params=((256, 0.0),))}
SIZES["gpu_check"] = SIZES["paper"]


def get_model(cfg: dict) -> ParticleNetFromMomenta:
    """The network file's entry (docs/models.md): one logit, sized by ``cfg["options"]`` (the
    method's, :data:`SIZES` of the run's preset) or else by ``SIZES[cfg["preset"]]``."""
    options = cfg.get("options") or SIZES[cfg["preset"]]
    return ParticleNetFromMomenta(num_classes=1, **options)
