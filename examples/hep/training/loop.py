"""The one training loop of the examples.

* :class:`Task`: what a network is trained for — how a method's network and penalty are built,
  the loss, the validation loss, what the penalty sees; the tagger's is
  ``models.tagger_task.TAGGER``, the jet regression's ``models.regressor_task.REGRESSOR``;
* :func:`train_step`: one optimizer step (the only ``.backward()`` of the examples' training);
* :func:`objective`: the loss of one batch for a method (augmentation, the task pass and the
  penalty through :func:`~examples.hep.training.penalty.penalised_output`, ``task + λ·Γ``);
* :func:`fit`: epochs of :func:`train_step` over batches, with hooks per step and per epoch;
  the toy regression (``studies/toy_cells.py``) calls it directly;
* :func:`train_one`: :func:`fit` for the jet examples (AdamW, one-cycle, early stopping on the
  validation loss, checkpoints every epoch, resume, DDP, step times).
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from tqdm import tqdm

from examples.hep.experiment import Method
from examples.hep.training.checkpoints import check_checkpoint_recipe, save_checkpoint
from examples.hep.training.penalty import penalised_output

__all__ = ["Task", "train_step", "objective", "fit", "train_one"]


@dataclass(frozen=True)
class Task:
    """What :func:`train_one` needs to know about a task, so that the tagger, the jet
    regression and any new model share one training loop:

    * ``build(cfg, method) -> nn.Module``: the method's network for the preset ``cfg``;
    * ``penalty(spec, lam, optimizer) -> (penalty or None, λ)``: the method's penalty
      (``spec``: its :class:`~examples.hep.experiment.Penalty`; ``lam``: a λ replacing the
      spec's; ``optimizer``: the training's, for a violation budget);
    * ``loss(output, target) -> scalar``; ``val_loss(model, val, cfg, ctx) -> float``;
    * ``penalty_on``: the penalty sees ``"prob"`` (the sigmoid of the output) or ``"logit"``;
    * ``augment(x, generator) -> x``: boosted copies of a batch (a method with ``augment``);
    * ``target``: the key of the training targets in the split dicts; ``loss_name``: the loss's
      name in the history and the logs."""

    build: Callable
    penalty: Callable
    loss: Callable
    val_loss: Callable
    penalty_on: str = "logit"
    augment: Callable | None = None
    target: str = "y"
    loss_name: str = "bce"

    def __post_init__(self):
        if self.penalty_on not in ("prob", "logit"):
            raise ValueError(f"penalty_on must be 'prob' or 'logit', got {self.penalty_on!r}")


def train_step(optimizer, loss_fn: Callable, *, scheduler=None, clip: float | None = None,
               params=None):
    """One optimizer step: ``zero_grad``, ``loss, *logs = loss_fn()``, backward, gradient
    clipping at ``clip`` (of ``params``), ``optimizer.step()``, ``scheduler.step()``. Returns
    ``logs``."""
    optimizer.zero_grad(set_to_none=True)
    loss, *logs = loss_fn()
    loss.backward()
    if clip:
        torch.nn.utils.clip_grad_norm_(params, clip)
    optimizer.step()
    if scheduler is not None:
        scheduler.step()
    return logs


def objective(net, penalty, lam: float, *, loss: Callable, on: str = "logit",
              augment: Callable | None = None, generator=None, amp: bool = False,
              device_type: str = "cpu", budget=None):
    """``loss_fn(x, y) -> (loss, task loss, Γ)`` of a method: ``x`` replaced by ``augment(x,
    generator)`` if given, the task pass and the penalty in one call
    (:func:`~examples.hep.training.penalty.penalised_output`), ``task + λ·Γ`` (under bfloat16
    autocast with ``amp``). The Γ returned is the penalty's value (a budget's own Γ, not λ·Γ)."""

    def loss_fn(x, y):
        with torch.autocast(device_type, dtype=torch.bfloat16, enabled=amp):
            if augment is not None:  # boosted copies, drawn with the run's generator
                x = augment(x, generator)
            out, pen = penalised_output(net, x, penalty, on, generator)
            task = loss(out, y)
            total = task + lam * pen
        if budget is not None:
            pen = torch.tensor(budget.value, device=task.device)
        return total, task, pen

    return loss_fn


def fit(model, loss_fn: Callable, batches: Callable[[int], Iterable], *, optimizer,
        epochs: int, scheduler=None, start_epoch: int = 0, clip: float | None = None,
        on_step: Callable | None = None, on_epoch: Callable | None = None,
        modules=(), sync: Callable | None = None, times: list | None = None) -> list[float]:
    """Train ``model`` for epochs ``start_epoch .. epochs - 1``: each epoch puts ``model`` and
    ``modules`` (e.g. a budget) in training mode, then runs :func:`train_step` with
    ``loss_fn(*batch)`` for every batch of ``batches(epoch)`` and calls ``on_step(i, logs)``;
    after the epoch, ``on_epoch(epoch)`` returning True stops training. ``sync()`` (CUDA) runs
    before a step's time is taken. Appends the seconds of every step to ``times`` (a new list
    by default) and returns it."""
    times = [] if times is None else times
    for epoch in range(start_epoch, epochs):
        model.train()
        for m in modules:
            m.train()
        for i, batch in enumerate(batches(epoch)):
            t0 = time.perf_counter()
            logs = train_step(optimizer, lambda b=batch: loss_fn(*b), scheduler=scheduler,
                              clip=clip, params=model.parameters())
            if sync is not None:
                sync()
            times.append(time.perf_counter() - t0)
            if on_step is not None:
                on_step(i, logs)
        if on_epoch is not None and on_epoch(epoch):
            break
    return times


def train_one(tag: str, method: Method, seed: int, train: dict, val: dict, cfg: dict, ctx,
              lam: float | None = None, init: dict | None = None, *, task: Task):
    """Train one model with early stopping on the validation loss; returns the best model
    and ``{"train_step_s": median seconds per batch, "history": per epoch}``. Checkpoints
    every epoch (``ctx.resume`` continues from them). ``init``: a state dict to start from
    (fine-tuning); the method's ``epochs`` (if any) replaces the preset's. ``cfg["val_every"]``
    (default 1): validate, checkpoint and count ``cfg["patience"]`` every that many epochs
    (and after the last), for tiny training sets with many short epochs. A model trained
    once in this run is reused (same tag, method, seed and lambda). ``task``: the model's task
    (:class:`Task`; the tagger's is ``models.tagger_task.TAGGER``)."""
    if not isinstance(task, Task):
        raise TypeError(f"train_one needs task= a training.Task (the model's build, penalty "
                        f"and loss), got {type(task).__name__}")
    if not isinstance(method, Method):
        raise TypeError(f"train_one needs an examples.hep.experiment.Method, got "
                        f"{type(method).__name__} {method!r}")
    key = (tag, method.name, seed, lam)
    if key in ctx.trained:
        return ctx.trained[key]
    epochs = method.epochs if method.epochs is not None else cfg["epochs"]
    val_every = cfg.get("val_every", 1)
    if isinstance(val_every, bool) or not isinstance(val_every, int) or val_every < 1:
        raise ValueError(f"cfg['val_every'] must be an integer >= 1, got {cfg['val_every']!r}")
    name = method.name if lam is None else f"{method.name}_lam{lam:g}"
    ckpt = ctx.out / "checkpoints" / f"{tag}_{name}_seed{seed}.pt"
    torch.manual_seed(seed)
    model = task.build(cfg, method).to(ctx.device)
    if init is not None:
        model.load_state_dict(init)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    n_train = len(train[task.target])
    steps = math.ceil(n_train / (cfg["batch"] * ctx.world))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg["lr"],
                                                total_steps=epochs * steps)
    penalty, lam = task.penalty(method.penalty, lam, opt)
    budget = penalty if (method.penalty is not None and method.penalty.budget) else None
    gen = torch.Generator(device=ctx.device).manual_seed(seed * 1000 + ctx.rank)
    state = {"epoch": 0, "best": float("inf"), "bad": 0, "history": [], "step_times": [],
             "done": False}
    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    recipe_record = {"config": dict(cfg), "method": method.spec, "lam": float(lam)}
    if ctx.resume and ckpt.exists():
        ck = torch.load(ckpt, map_location=ctx.device, weights_only=True)
        check_checkpoint_recipe(ck, recipe_record, ckpt, ctx)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        sched.load_state_dict(ck["sched"])
        gen.set_state(ck["gen"].cpu() if ctx.device.type == "cpu" else ck["gen"])
        if budget is not None:
            budget.load_state_dict(ck["budget"])
        state, best_state = ck["state"], ck["best_model"]
        ctx.log(f"[{tag}/{name}/seed {seed}] resumed after epoch {state['epoch']}"
                + (" (finished)" if state["done"] else ""))
    net = model
    if ctx.world > 1:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None)
    x_all = torch.from_numpy(train["x"])
    y_all = torch.from_numpy(train[task.target])
    loss_fn = objective(net, penalty, lam, loss=task.loss, on=task.penalty_on,
                        augment=task.augment if method.augment else None, generator=gen,
                        amp=ctx.amp, device_type=ctx.device.type, budget=budget)
    run = {"loss": 0.0, "pen": 0.0, "bar": None}

    def batches(epoch):
        # DistributedSampler-style: the same permutation on every rank, one shard each
        order = torch.randperm(n_train, generator=torch.Generator().manual_seed(
            seed * 7919 + epoch))
        shard = order[ctx.rank::ctx.world][: steps * cfg["batch"]]
        run["bar"] = tqdm(range(steps), desc=f"{tag}/{name}/s{seed} ep{epoch + 1}",
                          disable=not ctx.progress, leave=False)
        for i in run["bar"]:
            idx = shard[i * cfg["batch"]:(i + 1) * cfg["batch"]]
            if len(idx):
                yield x_all[idx].to(ctx.device), y_all[idx].to(ctx.device)

    def on_step(i, logs):
        b, q = logs[0].item(), logs[1].item()  # the task loss and Γ itself
        run["loss"] = 0.9 * run["loss"] + 0.1 * b if i else b
        run["pen"] = 0.9 * run["pen"] + 0.1 * q if i else q
        run["bar"].set_postfix({task.loss_name: f"{run['loss']:.4f}", "pen": f"{run['pen']:.2e}"})

    def on_epoch(epoch):
        nonlocal best_state
        if (epoch + 1) % val_every and epoch + 1 < epochs:  # validate every val_every epochs
            state["epoch"] = epoch + 1
            return False
        val_loss = task.val_loss(model, val, cfg, ctx)
        record = {"epoch": epoch + 1, task.loss_name: run["loss"], "penalty": run["pen"],
                  f"val_{task.loss_name}": val_loss}
        if budget is not None:
            record.update(lam=float(budget.lam), penalty_ema=float(budget.ema),
                          target=float(budget.target), target_now=float(budget.target_now),
                          status=budget.status)
        state["history"].append(record)
        ctx.log(f"[{tag}/{name}/seed {seed}] epoch {epoch + 1}: train {task.loss_name} "
                f"{run['loss']:.4f}, penalty {run['pen']:.3e}, val {task.loss_name} "
                f"{val_loss:.4f}"
                + (f", lambda {float(budget.lam):.3g}" if budget is not None else ""))
        if val_loss < state["best"]:
            state["best"], state["bad"] = val_loss, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            state["bad"] += 1
        state["epoch"] = epoch + 1
        state["done"] = state["bad"] >= cfg["patience"] or state["epoch"] == epochs
        save_checkpoint(ckpt, model, opt, sched, gen, state, best_state, ctx, budget,
                        recipe_record)
        if ctx.interrupt_after is not None and state["epoch"] == ctx.interrupt_after \
                and not state["done"]:
            ctx.log(f"interrupting after epoch {state['epoch']} (--interrupt-after)")
            raise SystemExit(3)
        return state["done"]

    sync = torch.cuda.synchronize if ctx.device.type == "cuda" else None
    if not state["done"]:
        fit(net, loss_fn, batches, optimizer=opt, epochs=epochs, scheduler=sched,
            start_epoch=state["epoch"], clip=cfg.get("grad_clip"), on_step=on_step,
            on_epoch=on_epoch, modules=() if budget is None else (budget,), sync=sync,
            times=state["step_times"])
    model.load_state_dict(best_state)
    model.eval()
    times = state["step_times"][5:] or state["step_times"] or [float("nan")]
    result = model, {"train_step_s": statistics.median(times), "history": state["history"],
                     "epochs_trained": state["epoch"],
                     "train_s": float(sum(state["step_times"]))}  # optimizer steps, all epochs
    ctx.trained[key] = result
    return result
