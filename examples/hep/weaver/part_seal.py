"""weaver-core network config: Particle Transformer trained with SEAL (GSEAL or δSEAL) through
weaver's own command line. See docs/weaver.md for the command.

weaver's default training loop computes ``loss_func(logits, label)`` and never shows the
model's inputs to the loss, so SEAL enters through weaver's hook for a custom training loop,
``get_train_fn(data_config, **network_options)`` (with ``get_evaluate_fn``: weaver uses both or
neither). The loop here is weaver's classification step plus ``λ · penalty``.

The data config must have a single input, the raw four-momenta ``(B, 4, N)`` in the order
(E, px, py, pz), zero-padded, unstandardised (``jets_p4.yaml``): the model
(:class:`examples.hep.models.part.PartFromMomenta`) computes ParT's features from them.

Network options (``--network-option NAME VALUE``; weaver parses VALUE with
``ast.literal_eval``, so strings need quotes: ``--network-option seal "'dseal'"``):

* ``seal``: ``'none'`` (plain training), ``'gseal'`` (default) or ``'dseal'``;
* ``seal_lambda`` (default 1.0): λ;
* ``seal_mode``: δSEAL's ``'exact'`` (default), ``'random'`` or ``'fd'``;
* ``seal_reduction``: δSEAL over generators, ``'mean'`` (eq. 10, default) or ``'sum'``;
* ``seal_beta_max`` (default 0.95 ** 0.5): GSEAL's largest boost speed;
* ``seal_fraction`` (default 1.0): evaluate the penalty on this fraction of each batch;
* ``seal_log``: a path; every training step appends one JSON line
  ``{"epoch", "step", "loss", "task", "penalty", "lambda"}`` (means per epoch go to weaver's
  log);
* anything else goes to ``PartFromMomenta`` / ``ParticleTransformer`` (e.g.
  ``embed_dims``, ``num_layers``, ``num_heads``, ``pair_embed_dims``, ``dropout``).
"""

from __future__ import annotations

import json
import math
import pathlib
import sys
import time

import torch

_ROOT = pathlib.Path(__file__).resolve().parents[3]
if str(_ROOT) not in sys.path:  # weaver imports this file by path; make `examples` importable
    sys.path.insert(0, str(_ROOT))

from examples.hep.experiment import Penalty  # noqa: E402
from examples.hep.models.part import PartFromMomenta  # noqa: E402
from examples.hep.training.penalty import build_penalty  # noqa: E402

SEAL_OPTIONS = ("seal", "seal_lambda", "seal_mode", "seal_reduction", "seal_beta_max",
                "seal_fraction", "seal_log")
WEAVER_FLAGS = ("use_amp", "compile_model")  # set by weaver's --use-amp / --compile: ignored


class WeaverPart(torch.nn.Module):
    """weaver's view of the tagger: ``forward(pf_p4)`` with ``pf_p4`` ``(B, 4, N)``
    (E, px, py, pz) -> logits ``(B, num_classes)``. The penalties act on the momenta
    ``(B, N, 4)``: the train function calls this forward with ``p.transpose(1, 2)``."""

    def __init__(self, num_classes: int, **options):
        super().__init__()
        self.tagger = PartFromMomenta(num_classes, **options)

    def forward(self, pf_p4: torch.Tensor) -> torch.Tensor:
        if pf_p4.ndim != 3 or pf_p4.shape[1] != 4:
            raise ValueError(f"WeaverPart expects weaver's input (B, 4, N) = (E, px, py, pz) "
                             f"channels-first, got {tuple(pf_p4.shape)}")
        return self.tagger(pf_p4.transpose(1, 2))


def _split(options: dict) -> tuple[dict, dict]:
    seal = {k: v for k, v in options.items() if k in SEAL_OPTIONS}
    model = {k: v for k, v in options.items() if k not in SEAL_OPTIONS + WEAVER_FLAGS}
    return seal, model


def _check_data_config(data_config) -> str:
    names = list(data_config.input_names)
    if len(names) != 1:
        raise ValueError(f"part_seal needs one input, the four-momenta (E, px, py, pz); the data "
                         f"config has {names}")
    shape = tuple(data_config.input_shapes[names[0]])
    if shape[1] != 4:
        raise ValueError(f"part_seal's input {names[0]!r} must have 4 variables (E, px, py, pz), "
                         f"got input shape {shape}")
    return names[0]


def get_model(data_config, **kwargs):
    name = _check_data_config(data_config)
    _, options = _split(kwargs)
    model = WeaverPart(len(data_config.label_value), **options)
    info = {
        "input_names": [name],
        "input_shapes": {name: (1,) + tuple(data_config.input_shapes[name])[1:]},
        "output_names": ["softmax"],
        "dynamic_axes": {name: {0: "N", 2: "n_" + name}, "softmax": {0: "N"}},
    }
    return model, info


def get_loss(data_config, **kwargs):
    return torch.nn.CrossEntropyLoss()


def make_penalty(seal: str = "gseal", seal_mode: str = "exact", seal_reduction: str = "mean",
                 seal_beta_max: float = 0.95 ** 0.5, seal_fraction: float = 1.0, **_):
    """The penalty of the options (None for ``seal='none'``), by the examples' one penalty
    factory (``training.build_penalty``)."""
    if seal == "none":
        return None
    if seal not in ("gseal", "dseal"):
        raise ValueError(f"network option seal must be 'none', 'gseal' or 'dseal', got {seal!r}")
    spec = Penalty(seal, 1.0, mode=seal_mode if seal == "dseal" else "exact",
                   fraction=seal_fraction, reduction=seal_reduction)
    return build_penalty(spec, beta_max=seal_beta_max)[0]


class SealTrain:
    """weaver's ``train(model, loss_func, opt, scheduler, train_loader, dev, epoch, ...)`` with
    ``loss = task + λ · penalty``. ``history`` holds one dict per step."""

    def __init__(self, penalty, lam: float, log_path: str | None = None):
        self.penalty, self.lam, self.log_path = penalty, float(lam), log_path
        self.history: list[dict] = []

    def _step_loss(self, tagger, p, label, loss_func):
        if self.penalty is None:
            return loss_func(tagger(p), label), None
        # the library's one call: the task pass and the penalty, sharing what they can
        value, fx = self.penalty(tagger, p, return_output=True)
        return loss_func(fx, label), value

    def __call__(self, model, loss_func, opt, scheduler, train_loader, dev, epoch,
                 steps_per_epoch=None, grad_scaler=None, tb_helper=None, extra_args=None):
        data_config = train_loader.dataset.config
        name = data_config.input_names[0]
        if isinstance(model, torch.nn.parallel.DistributedDataParallel):
            raise NotImplementedError(
                "part_seal's train function does not support weaver's --backend (DDP): the "
                "penalty runs extra forward passes per backward, which DDP's reducer does not "
                "allow; train on one device (or DataParallel)")

        def tagger(p):  # the model on (B, N, 4) momenta, through weaver's (B, 4, N) view
            return model(p.transpose(1, 2))

        clip = getattr(opt, "_clip_grad_norm", math.inf)
        model.train()
        sums, steps, start = {"task": 0.0, "penalty": 0.0}, 0, time.time()
        for X, y, _ in train_loader:
            p = X[name].to(dev).transpose(1, 2)
            label = y[data_config.label_names[0]].long().to(dev)
            opt.zero_grad()
            task, value = self._step_loss(tagger, p, label, loss_func)
            loss = task if value is None else task + self.lam * value
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=clip)
            opt.step()
            if scheduler is not None and getattr(scheduler, "_update_per_step", False):
                scheduler.step()
            steps += 1
            rec = {"epoch": int(epoch), "step": steps, "loss": loss.item(), "task": task.item(),
                   "penalty": None if value is None else value.item(), "lambda": self.lam}
            self.history.append(rec)
            sums["task"] += rec["task"]
            sums["penalty"] += rec["penalty"] or 0.0
            if self.log_path:
                with open(self.log_path, "a") as f:
                    f.write(json.dumps(rec) + "\n")
            if tb_helper:
                tb_helper.global_step += 1
                tb_helper.write_scalars([("Loss/train", loss.item(), tb_helper.global_step),
                                         ("SEAL/train", rec["penalty"] or 0.0,
                                          tb_helper.global_step)])
            if steps_per_epoch is not None and steps >= steps_per_epoch:
                break
        if scheduler is not None and not getattr(scheduler, "_update_per_step", False):
            scheduler.step()
        from weaver.utils.logger import _logger
        _logger.info("SEAL train epoch %d: %d steps in %.1f s, mean task loss %.5f, mean penalty "
                     "%.5e, lambda %g", epoch, steps, time.time() - start,
                     sums["task"] / max(steps, 1), sums["penalty"] / max(steps, 1), self.lam)


def get_train_fn(data_config, **kwargs):
    _check_data_config(data_config)
    seal, _ = _split(kwargs)
    return SealTrain(make_penalty(**seal), seal.get("seal_lambda", 1.0), seal.get("seal_log"))


def get_evaluate_fn(data_config, **kwargs):
    from weaver.utils.nn.tools import evaluate_classification
    return evaluate_classification
