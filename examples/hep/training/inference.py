"""Inference and its timing: logits of a trained tagger (sharded over DDP ranks), seconds of a
step (CUDA synchronised), the median eval step."""

from __future__ import annotations

import statistics
import time

import numpy as np
import torch
import torch.distributed as dist

__all__ = ["predict_logits", "sigmoid", "timed", "eval_step_seconds"]


@torch.no_grad()
def predict_logits(model, x: np.ndarray, ctx, batch=1024) -> np.ndarray:
    """Logits for every row of ``x``; with DDP each rank scores a shard, then all gather."""
    idx = np.arange(len(x))[ctx.rank::ctx.world]
    out = []
    for i in range(0, len(idx), batch):
        xb = torch.from_numpy(x[idx[i:i + batch]]).to(ctx.device)
        with torch.autocast(ctx.device.type, dtype=torch.bfloat16, enabled=ctx.amp):
            out.append(model(xb).float().squeeze(-1).cpu())
    mine = torch.cat(out).numpy() if out else np.zeros(0, np.float32)
    if ctx.world == 1:
        return mine
    parts = [None] * ctx.world
    dist.all_gather_object(parts, (idx, mine))
    full = np.empty(len(x), np.float32)
    for i, p in parts:
        full[i] = p
    return full



def timed(fn, ctx) -> float:
    """Seconds taken by ``fn()`` (CUDA work included: synchronised before and after)."""
    if ctx.device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    fn()
    if ctx.device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


@torch.no_grad()
def eval_step_seconds(model, x: np.ndarray, ctx, batch=256, repeats=10) -> float:
    xb = torch.from_numpy(x[:batch]).to(ctx.device)

    def step():
        with torch.autocast(ctx.device.type, dtype=torch.bfloat16, enabled=ctx.amp):
            model(xb)

    times = [timed(step, ctx) for _ in range(repeats + 2)]
    return statistics.median(times[2:])
