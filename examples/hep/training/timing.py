"""Interleaved step times: the train and eval step of every method, one step of each in turn, in
one run, so that the machine's load hits every method alike (the paper's Table 2). The train
step timed is the training loop's own (:func:`~examples.hep.training.loop.train_step` with the
method's :func:`~examples.hep.training.loop.objective`)."""

from __future__ import annotations

import statistics

import torch

from examples.hep.training.data import Source, load_data
from examples.hep.training.inference import timed
from examples.hep.training.loop import Task, objective, train_step

__all__ = ["interleaved_step_times"]


def interleaved_step_times(methods, cfg, ctx, steps=20, warmup=3, *, task: Task,
                           batch=None, source: Source | None = None) -> dict:
    """Median train and eval step per batch of ``cfg['batch']`` jets for every method (a
    sequence of :class:`~examples.hep.experiment.Method`, keyed by name in the result),
    interleaved step by step in one run. ``task``: the model and its task; ``batch``: its
    ``(x, y)`` tensors (default the first jets of the window sample of ``source``)."""
    if batch is None:
        data = load_data(source if source is not None else Source(), cfg, ctx, wide=False)
        batch = (torch.from_numpy(data["x"][: cfg["batch"]]),
                 torch.from_numpy(data["y"][: cfg["batch"]]))
    x, y = (t.to(ctx.device) for t in batch)
    train_steps, eval_steps = {}, {}
    for method in methods:
        torch.manual_seed(0)
        model = task.build(cfg, method).to(ctx.device)
        opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"])
        penalty, lam = task.penalty(method.penalty, None, None)
        gen = torch.Generator(device=ctx.device).manual_seed(0)
        loss_fn = objective(model, penalty, lam, loss=task.loss, on=task.penalty_on,
                            augment=task.augment if method.augment else None, generator=gen,
                            amp=ctx.amp, device_type=ctx.device.type)

        def train(model=model, opt=opt, loss_fn=loss_fn):
            model.train()
            train_step(opt, lambda: loss_fn(x, y))

        @torch.no_grad()
        def evaluate(model=model):
            model.eval()
            with torch.autocast(ctx.device.type, dtype=torch.bfloat16, enabled=ctx.amp):
                model(x)

        train_steps[method.name], eval_steps[method.name] = train, evaluate
    names = list(train_steps)
    times = {m: {"train": [], "eval": []} for m in names}
    for i in range(warmup + steps):
        for m in names:
            for kind, fn in (("train", train_steps[m]), ("eval", eval_steps[m])):
                t = timed(fn, ctx)
                if i >= warmup:
                    times[m][kind].append(t)
    return {m: {k: statistics.median(v) for k, v in t.items()} for m, t in times.items()}
