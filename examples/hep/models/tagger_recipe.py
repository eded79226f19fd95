"""The tagger's :class:`~examples.hep.training.Recipe`: its methods (Table 1's and the cost
study's variants, violation budgets), penalties, network, forward and loss.

The network is part of the method: our :class:`~examples.hep.models.tagger.JetTransformer` by
default, L-GATr for ``"lgatr"``, and the field's standard taggers from weaver-core for
``part_<m>`` and ``particlenet_<m>`` (``m`` = baseline, gseal, dseal, dseal_fd: the same
penalties and λs as Table 1's methods, δSEAL also by finite differences;
:class:`~examples.hep.models.part.PartFromMomenta`,
:class:`~examples.hep.models.particlenet.ParticleNetFromMomenta`, sized per preset by
:data:`WEAVER_SIZES` and recorded in the method's spec, so a checkpoint is resumed only with the
same size).

δSEAL lambdas are in the paper's units: its top-tagging code sums the six squared Lie
derivatives per jet (``DeltaSEAL(..., reduction="sum")``), eq. 10 averages them, so the
paper's lambda_δ = 0.01 is 0.06 in eq. 10's units (docs/penalties.md).
"""

from __future__ import annotations

import math

import torch

from examples.hep.data.augment import BoostAugmentation
from examples.hep.models import lgatr_tagger, part, particlenet
from examples.hep.models.tagger import JetTransformer
from examples.hep.training import BETA_MAX, Recipe, penalised_forward, predict_logits
from liesoft import GSEAL, DeltaSEAL, Lorentz, Vector4

# paper: GSEAL lambda = 1 with beta_max^2 = 0.95; δSEAL lambda = 0.01 (Table 1);
# both lambda = 1 for the extrapolation study. δSEAL in the paper's units (reduction="sum").
# "lgatr": the exactly Lorentz-invariant L-GATr tagger (no penalty; optional `lgatr` package)
METHODS = {"baseline": {}, "gseal": {"penalty": "gseal", "lam": 1.0},
           "dseal": {"penalty": "dseal", "lam": 0.01}, "lgatr": {"model": "lgatr"}}
# the cost study's variants (one seed, Table 1 data); usable in --methods too
VARIANTS = {"gseal_f0.25": {"penalty": "gseal", "lam": 1.0, "fraction": 0.25},
            "gseal_f0.5": {"penalty": "gseal", "lam": 1.0, "fraction": 0.5},
            "dseal_fd": {"penalty": "dseal", "lam": 0.01, "mode": "fd"},
            "gseal_finetune": {"penalty": "gseal", "lam": 1.0, "finetune": "baseline",
                               "epochs": 2}}
DSEAL_REDUCTION = "sum"  # the paper's top-tagging normalisation (its lambda_δ as is)
# the data-efficiency study's comparisons (studies/data_efficiency.py): boost augmentation
# (each training batch replaced by boosted copies, GSEAL's sampler, fresh draws every step,
# labels kept), the LLoCa-canonicalised tagger on the JetTransformer's sizes (exactly invariant;
# optional `lloca` package), and augmentation with GSEAL
EFFICIENCY_METHODS = {"augment": {"augment": True}, "lloca": {"model": "lloca"},
                      "augment_gseal": {"augment": True, "penalty": "gseal", "lam": 1.0}}
# the field's standard taggers (weaver-core; optional `hep` extra) with Table 1's penalties
WEAVER_MODELS = ("part", "particlenet")
WEAVER_METHODS = {f"{model}_{m}": {"model": model, **METHODS[m]}
                  for model in WEAVER_MODELS for m in ("baseline", "gseal", "dseal")}
# δSEAL by finite differences (the same eq. 10 and λ): exact δSEAL differentiates twice through
# attention and pair embeddings (4-5x a plain step on the CPU), fd costs about as much as GSEAL
WEAVER_METHODS.update({f"{model}_dseal_fd": {"model": model, **VARIANTS["dseal_fd"]}
                       for model in WEAVER_MODELS})
# their sizes per preset: the wrappers' CPU configs; tiny ones for the --quick smoke run; the
# papers' for "paper" (dropout 0 everywhere: the wrappers' default, see models/part.py)
WEAVER_SIZES = {
    "part": {"cpu": part.CPU_CONFIG,
             "quick": dict(embed_dims=(16, 16), pair_embed_dims=(8, 8), num_heads=2,
                           num_layers=1, num_cls_layers=1, fc_params=()),
             "paper": dict(embed_dims=(128, 512, 128), pair_embed_dims=(64, 64, 64),
                           num_heads=8, num_layers=8, num_cls_layers=2, fc_params=())},
    "particlenet": {"cpu": particlenet.CPU_CONFIG,
                    "quick": dict(conv_params=((4, (16, 16)),), fc_params=((16, 0.0),)),
                    "paper": dict(conv_params=((16, (64, 64, 64)), (16, (128, 128, 128)),
                                               (16, (256, 256, 256))),
                                  fc_params=((256, 0.0),))},
}
for _sizes in WEAVER_SIZES.values():  # the first run trains the CPU size, the GPU check the paper's
    _sizes["first"], _sizes["gpu_check"] = _sizes["cpu"], _sizes["paper"]
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


def parse_budget(text: str) -> dict:
    """``"gseal=2e-3,dseal=1e-3"`` -> ``{"gseal": 0.002, "dseal": 0.001}`` (positive targets)."""
    out = {}
    for item in (t for t in text.split(",") if t):
        name, sep, value = item.partition("=")
        if not sep or name not in ("gseal", "dseal"):
            raise ValueError(f"--budget takes gseal=TARGET and/or dseal=TARGET, got {item!r}")
        try:
            target = float(value)
        except ValueError:
            raise ValueError(f"--budget target must be a number, got {value!r}") from None
        if not (math.isfinite(target) and target > 0):
            raise ValueError(f"--budget target must be finite and > 0, got {value!r}")
        out[name] = target
    return out


def method_spec(method: str, args=None) -> dict:
    """The configuration of a method: Table 1's (METHODS), a cost-study variant (VARIANTS) or
    a violation budget (``<penalty>_budget`` from ``--budget``)."""
    if method in METHODS:
        return METHODS[method]
    if method in WEAVER_METHODS:  # with the model's size for the run's preset
        spec = WEAVER_METHODS[method]
        preset = getattr(args, "preset", None) or "cpu"
        return {**spec, "model_options": WEAVER_SIZES[spec["model"]][preset]}
    if method in VARIANTS:
        return VARIANTS[method]
    if method in EFFICIENCY_METHODS:
        return EFFICIENCY_METHODS[method]
    base, _, tail = method.partition("_")
    if tail == "budget" and args is not None and base in getattr(args, "budgets", {}):
        return {"penalty": base, "lam": 1.0, "budget": args.budgets[base]}
    raise ValueError(f"unknown method {method!r}")


def make_penalty(method: str, lam: float | None, args=None, optimizer=None):
    """``(penalty, lambda)`` of a method (``(None, 0)`` without one). A violation budget comes
    wrapped in :class:`liesoft.ViolationBudget` with lambda = 1 outside (it returns λ·Γ),
    following ``optimizer``'s learning rate when one is given (``train_one`` passes its own)."""
    spec = method_spec(method, args)
    if "penalty" not in spec:
        return None, 0.0
    lam = spec["lam"] if lam is None else lam
    if spec["penalty"] == "gseal":
        penalty = GSEAL(Lorentz(), Vector4(), fraction=spec.get("fraction", 1.0),
                        beta_max=BETA_MAX)
    else:
        penalty = DeltaSEAL(Lorentz(), Vector4(), mode=spec.get("mode", "exact"),
                            fraction=spec.get("fraction", 1.0), reduction=DSEAL_REDUCTION)
    if "budget" in spec:
        from liesoft import ViolationBudget

        return ViolationBudget(penalty, target=spec["budget"], optimizer=optimizer), 1.0
    return penalty, lam


def build_model(cfg, method="baseline", args=None) -> torch.nn.Module:
    """The method's network: JetTransformer (``cfg``'s sizes), L-GATr, ParT or ParticleNet
    (one logit; sizes from the method's spec)."""
    spec = method_spec(method, args)
    model = spec.get("model")
    if model == "part":
        return part.PartFromMomenta(num_classes=1, **spec["model_options"])
    if model == "particlenet":
        return particlenet.ParticleNetFromMomenta(num_classes=1, **spec["model_options"])
    if model == "lloca":  # call init_standardization(train_jets) before training
        from examples.hep.models.lloca_tagger import LLoCaTagger

        return LLoCaTagger(d=cfg["d"], layers=cfg["layers"], heads=cfg["heads"],
                           hidden=cfg["hidden"], hidden_layers=cfg["hidden_layers"])
    if model == "lgatr":
        return lgatr_tagger.LGATrTagger(
            blocks=cfg["lgatr_blocks"], mv_channels=cfg["lgatr_mv"], s_channels=cfg["lgatr_s"],
            heads=cfg["heads"], spurions=bool(args is not None and args.lgatr_spurions),
            # dense geometric product in eager CPU mode (faster there, docs/benchmarks.md);
            # lgatr's sparse kernel on GPU
            sparse_gp=args is not None and args.device == "cuda")
    return JetTransformer(d=cfg["d"], layers=cfg["layers"], heads=cfg["heads"],
                          hidden=cfg["hidden"], hidden_layers=cfg["hidden_layers"])


def bce(logits, y):
    return torch.nn.functional.binary_cross_entropy_with_logits(logits.float().squeeze(-1), y)


AUGMENT = BoostAugmentation()  # the paper's boosts, as GSEAL's sampler and the boosted test


def _tagger_forward(net, x, method, penalty, args, generator, device):
    if method_spec(method, args).get("augment"):  # boosted copies, drawn with the run's generator
        x = AUGMENT(x, generator=generator)[0]
    return penalised_forward(net, x, method, penalty, args.penalty_on, generator, device)

def validation_loss(model, val, cfg, ctx) -> float:
    model.eval()
    logits = predict_logits(model, val["x"], ctx)
    model.train()
    y = torch.from_numpy(val["y"])
    return float(torch.nn.functional.binary_cross_entropy_with_logits(
        torch.from_numpy(logits), y))



TAGGER = Recipe(build=build_model, method_spec=method_spec, make_penalty=make_penalty,
                forward=_tagger_forward, loss=bce, val_loss=validation_loss)
