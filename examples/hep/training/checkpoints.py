"""Checkpoints of the training loop: written every epoch (atomically), resumed only with the
recipe (configuration, method, λ) they were trained with."""

from __future__ import annotations

import os

import torch

__all__ = ["check_checkpoint_recipe", "save_checkpoint"]


def check_checkpoint_recipe(ck: dict, record: dict, path, ctx) -> None:
    """Refuse to resume from a checkpoint trained with another configuration, method or λ
    (e.g. a preset changed since, or other ``--epochs``): the resumed model would mix two
    recipes without a trace. Checkpoints written before recipes were recorded are resumed
    with a warning that they cannot be checked."""
    if "recipe" not in ck:
        ctx.log(f"warning: {path.name} was written before checkpoints recorded their "
                "configuration; resuming it unchecked")
        return
    old = ck["recipe"]
    diff = [f"{part}.{k}: checkpoint {old[part].get(k)!r}, now {record[part].get(k)!r}"
            for part in ("config", "method") for k in sorted(set(old[part]) | set(record[part]))
            if old[part].get(k) != record[part].get(k)]
    if old["lam"] != record["lam"]:
        diff.append(f"lam: checkpoint {old['lam']!r}, now {record['lam']!r}")
    if diff:
        raise SystemExit(f"--resume: {path} was trained with another recipe ("
                         + "; ".join(diff) + "); use a fresh --out or the old settings")


def save_checkpoint(path, model, opt, sched, gen, state, best_state, ctx, budget=None,
                    recipe=None):
    if not ctx.main:
        return
    tmp = path.with_suffix(".tmp")
    extra = {} if budget is None else {"budget": budget.state_dict()}
    if recipe is not None:
        extra["recipe"] = recipe
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(),
                "sched": sched.state_dict(), "gen": gen.get_state(), "state": state,
                "best_model": best_state, **extra}, tmp)
    os.replace(tmp, path)  # an interrupted save never corrupts the checkpoint
