"""The tagger's :class:`~examples.hep.training.Task`: a network of ``models/`` (or a network
file of yours, docs/models.md) trained with binary cross-entropy on one logit, its penalty on
the probability σ(logit) (the paper's) or on the logit, boost augmentation for the methods
that ask for it.

δSEAL λs are in the paper's units (``experiment.PENALTIES``): its top-tagging code sums the six
squared Lie derivatives per jet (``DeltaSEAL(..., reduction="sum")``), eq. 10 averages them, so
the paper's λ_δ = 0.01 is 0.06 in eq. 10's units (docs/penalties.md).
"""

from __future__ import annotations

import torch

from examples.hep.data.augment import BoostAugmentation
from examples.hep.models import networks
from examples.hep.training import Task, build_penalty, predict_logits

__all__ = ["tagger_task", "bce", "validation_loss", "network_config", "AUGMENT",
           "WEAVER_MISSING_MESSAGE", "weaver_available"]

AUGMENT = BoostAugmentation()  # the paper's boosts, as GSEAL's sampler and the boosted test
WEAVER_MISSING_MESSAGE = ("the part_* and particlenet_* methods need weaver-core: install the "
                          "hep extra, pip install -e \".[hep]\" "
                          "(or pip install weaver-core==0.5.3)")


def weaver_available() -> bool:
    """Whether weaver-core (ParT, ParticleNet) can be imported."""
    try:
        import weaver.nn.model  # noqa: F401
    except ImportError:
        return False
    return True


def bce(logits, y):
    """Binary cross-entropy on the logits ``(B,)`` or ``(B, 1)``: 16-bit logits (autocast) in
    float32, float32 and float64 as they come (the labels in the logits' dtype)."""
    z = logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits
    return torch.nn.functional.binary_cross_entropy_with_logits(z.squeeze(-1), y.to(z.dtype))


def validation_loss(model, val, cfg, ctx) -> float:
    model.eval()
    logits = predict_logits(model, val["x"], ctx)
    model.train()
    y = torch.from_numpy(val["y"])
    return float(torch.nn.functional.binary_cross_entropy_with_logits(
        torch.from_numpy(logits), y))


def network_config(cfg: dict, method, preset: str, device: str = "cpu",
                   lgatr_spurions: bool = False) -> dict:
    """What a network file's ``get_model(cfg)`` receives: the preset's configuration with its
    name (``preset``), the method's sizes (``options``), the device type and L-GATr's spurion
    switch."""
    return {**cfg, "preset": preset, "options": method.options, "device": device,
            "lgatr_spurions": lgatr_spurions}


def _augment(x, generator):
    return AUGMENT(x, generator=generator)[0]


def tagger_task(preset: str, *, penalty_on: str = "prob", device: str = "cpu",
                lgatr_spurions: bool = False) -> Task:
    """The tagger's task for a run: networks built for ``preset`` on ``device`` (a type,
    ``"cpu"``/``"cuda"``), the penalty on ``penalty_on`` (``"prob"``: σ(logit), the paper's;
    ``"logit"``), scalar outputs."""

    def build(cfg, method):
        return networks.build(method.network, network_config(cfg, method, preset, device,
                                                             lgatr_spurions))

    def penalty(spec, lam=None, optimizer=None):
        return build_penalty(spec, lam, optimizer=optimizer)

    return Task(build=build, penalty=penalty, loss=bce, val_loss=validation_loss,
                penalty_on=penalty_on, augment=_augment)
