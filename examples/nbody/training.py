"""One training loop for every N-body method, and the timing of its step.

    data -> models (``models/``: a :class:`~examples.nbody.models.Method`) -> **training**
    -> evaluation -> the script

* :class:`Schedule` (epochs, batch, Adam's learning rate and weight decay: the EGNN paper's
  5e-4 and 1e-12, batch 100) and :class:`Experiment` (method × field × ε × λ × seed × size ×
  schedule: the value the script builds and passes down);
* :func:`tensors`: a data split as float32 ``x (n, 5, 7)``, ``y (n, 5, 3)``;
* :func:`make_step`: one optimiser step of a method — MSE on positions, plus
  ``λ·penalty`` from ``penalty(model, x, generator=g, return_output=True)`` (one call gives
  the penalty and the prediction it reused), or on E(3)-augmented inputs and targets;
* :func:`train`: the loop (validation every ``eval_every`` epochs, the best validation epoch's
  weights kept, as the paper selects its test number);
* :func:`step_seconds`: median seconds per step of several methods, interleaved in one run.
"""

from __future__ import annotations

import copy
import statistics
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from liesoft import E3

from .models import IN_REP, OUT_REP, Method

__all__ = ["Schedule", "Experiment", "tensors", "make_step", "train", "mse", "step_seconds"]


@dataclass(frozen=True)
class Schedule:
    epochs: int
    batch_size: int = 100
    lr: float = 5e-4
    weight_decay: float = 1e-12
    eval_every: int = 1


@dataclass(frozen=True)
class Experiment:
    method: Method
    field: str | None
    strength: float
    lam: float
    seed: int
    train_size: int
    schedule: Schedule = field(default_factory=lambda: Schedule(epochs=1))

    @property
    def tag(self) -> str:
        """The result file's name, unique per training."""
        return (f"{self.field or 'none'}-eps{self.strength:g}-{self.method.name}"
                f"-n{self.train_size}-lam{self.lam:g}-s{self.seed}")


def tensors(split: dict, n: int | None = None):
    """float32 ``x = (pos, vel, charge)`` packed ``(n, 5, 7)`` and ``y = target (n, 5, 3)``."""
    x = np.concatenate([split["pos"], split["vel"], split["charge"][..., None]], axis=-1)
    n = len(x) if n is None else n
    return (torch.from_numpy(x[:n]).float(), torch.from_numpy(split["target"][:n]).float())


def mse(model, x, y, batch_size: int = 500) -> float:
    """Mean squared error over every coordinate (the paper's test MSE), no gradients."""
    with torch.no_grad():
        total = sum(float((model(xb) - yb).pow(2).sum())
                    for xb, yb in zip(x.split(batch_size), y.split(batch_size), strict=True))
    return total / y.numel()


def make_step(method: Method, model, optimizer, lam: float, field_name):
    """``step(x, y, generator) -> loss`` for ``method`` (penalty, augmentation or neither)."""
    penalty = method.penalty(field_name)
    group = E3()
    in_rep, out_rep = IN_REP.bind(group), OUT_REP.bind(group)

    def step(x, y, generator):
        if method.augment:
            g = group.sample(x.shape[0], generator=generator, dtype=torch.float64)
            x, y = in_rep.act(g, x), out_rep.act(g, y)
        optimizer.zero_grad()
        if penalty is None:
            loss = (model(x) - y).pow(2).mean()
        else:
            value, pred = penalty(model, x, generator=generator, return_output=True)
            loss = (pred - y).pow(2).mean() + lam * value
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    return step


def _setup(exp: Experiment):
    torch.manual_seed(exp.seed)
    model = exp.method.build(exp.field, exp.strength)
    opt = torch.optim.Adam(model.parameters(), lr=exp.schedule.lr,
                           weight_decay=exp.schedule.weight_decay)
    return model, make_step(exp.method, model, opt, exp.lam, exp.field)


def train(exp: Experiment, data: dict, log=None, deadline: float | None = None):
    """Train ``exp`` on ``data`` (``{"train", "val", ...}`` splits); returns the model with the
    best validation epoch's weights and ``info`` (epochs, seconds, validation curve).

    ``deadline`` (a ``time.time()`` value, optional): stop after the first epoch that ends past
    it (validating there); ``info["epochs"]`` is then the number of epochs run."""
    x, y = tensors(data["train"], exp.train_size)
    xv, yv = tensors(data["val"])
    model, step = _setup(exp)
    gen = torch.Generator().manual_seed(exp.seed)
    best, curve, start = (float("inf"), 0, None), [], time.perf_counter()
    bs = exp.schedule.batch_size
    for epoch in range(1, exp.schedule.epochs + 1):
        order = torch.randperm(len(x), generator=gen)
        losses = [step(x[i], y[i], gen) for i in order.split(bs) if len(i) == bs or len(x) < bs]
        late = deadline is not None and time.time() > deadline
        if epoch % exp.schedule.eval_every == 0 or epoch == exp.schedule.epochs or late:
            val = mse(model, xv, yv)
            curve.append({"epoch": epoch, "train_loss": float(np.mean(losses)), "val_mse": val})
            if val < best[0]:
                best = (val, epoch, copy.deepcopy(model.state_dict()))
            if log:
                log(f"  {exp.tag} epoch {epoch}: loss {curve[-1]['train_loss']:.4g} "
                    f"val {val:.4g}")
        if late:
            break
    seconds = time.perf_counter() - start
    model.load_state_dict(best[2])
    return model, {"epochs": epoch, "best_epoch": best[1], "val_mse": best[0],
                   "train_seconds": seconds, "curve": curve}


def step_seconds(experiments: list[Experiment], data: dict, *, steps: int = 30,
                 warmup: int = 3) -> dict[str, float]:
    """Median seconds of one training step (batch ``schedule.batch_size``) per experiment,
    the methods interleaved step by step in one run (so that load changes hit all alike)."""
    x, y = tensors(data["train"])
    runs = {e.method.name: (_setup(e)[1], e.schedule.batch_size) for e in experiments}
    gen = torch.Generator().manual_seed(0)
    times = {name: [] for name in runs}
    for k in range(warmup + steps):
        for name, (step, bs) in runs.items():
            i = torch.randint(len(x), (bs,), generator=gen)
            t0 = time.perf_counter()
            step(x[i], y[i], gen)
            if k >= warmup:
                times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}
