"""Γ of a trained model on held-out data, measured the way docs/budget.md advises.

:func:`measure_violation` is what :func:`~liesoft.find_lambda`'s ``train(lam)`` should return
beside its model: the penalty's value on held-out data with the model in ``eval()`` mode,
without a graph, averaged over several draws of the penalty's randomness (a GSEAL value on a
few thousand samples scatters by tens of percent from one draw of group elements to the next),
with its standard error.
"""

from __future__ import annotations

import contextlib
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass

import torch

from ._checks import check_floating
from .penalties.model_state import modules_of

__all__ = ["Violation", "measure_violation"]

SEED = 30_000   # the generator of draw d is seeded SEED + d (the studies' convention)


@dataclass(frozen=True)
class Violation:
    """A measured Γ: ``mean`` over ``draws`` draws (each the sample-weighted mean over the
    ``n`` samples), its standard error over draws ``stderr`` (``nan`` for one draw) and the
    draws' values ``values``."""

    mean: float
    stderr: float
    draws: int
    n: int
    values: tuple[float, ...] = ()

    def __float__(self) -> float:
        return self.mean


@contextlib.contextmanager
def _eval_mode(roots):
    """Every module reachable from ``roots`` in eval mode; each one's flag restored after."""
    flags = {id(m): (m, m.training) for root in roots for m in root.modules()}
    try:
        for m, _ in flags.values():
            m.training = False
        yield
    finally:
        for m, training in flags.values():
            m.training = training


def _count(value, name: str, *, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        what = "a positive int or None" if allow_none else "a positive int"
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return int(value)


def measure_violation(penalty: Callable, f: Callable, x: torch.Tensor, *args, draws: int = 8,
                      chunk: int | None = None, seed: int = SEED,
                      generator_device=None) -> Violation:
    """Γ of the model ``f`` on held-out ``x``: ``penalty(f, x, *args, generator=g)`` in
    ``eval()`` mode, under ``torch.no_grad()`` (δSEAL still differentiates in ``x``), averaged
    over ``draws`` generators seeded ``seed + d``, in chunks of ``chunk`` samples.

    Args:
        penalty: a :class:`~liesoft.GSEAL`, :class:`~liesoft.DeltaSEAL` (any mode), or any
            callable with their call ``penalty(f, x, *args, generator=...)``.
        f: the model, a module or a closure over one (as the penalty takes it). Every module
            the penalty can see in ``f`` (and the penalty, if it is a module) is put in
            ``eval()`` mode for the measurement, and each one's training flag restored after;
            nothing else about them changes.
        x: held-out inputs ``(N, ...)``; ``args``: per-sample tensors chunked with ``x``.
        draws: independent draws of the penalty's randomness (group elements, directions,
            subsets); one generator per draw, used across that draw's chunks.
        chunk: samples per penalty call (``None``: all ``N`` at once); a draw's value is the
            chunk-size-weighted mean of its chunks'.
        seed: the seed of the first draw's generator.
        generator_device: where the generators live (default ``x``'s device).

    Returns:
        :class:`Violation` ``(mean, stderr, draws, n, values)``. With one draw and one chunk,
        ``mean`` is exactly ``float(penalty(f, x, *args, generator=torch.Generator(
        generator_device).manual_seed(seed)))``.

    Example (with :func:`~liesoft.find_lambda`)::

        gseal = GSEAL(Lorentz(), Vector4())
        def train(lam):
            model = fit(lam)                      # your training, loss = task + lam * Γ
            return float(measure_violation(gseal, model, x_val)), model
    """
    check_floating(x, "x")
    if x.ndim == 0 or x.shape[0] == 0:
        raise ValueError(f"x must be a non-empty batch (N, ...), got shape {tuple(x.shape)}")
    n = x.shape[0]
    for i, a in enumerate(args):
        if isinstance(a, torch.Tensor) and (a.ndim == 0 or a.shape[0] != n):
            raise ValueError(f"extra argument {i} must be a per-sample tensor with shape[0] == "
                             f"{n}, got {tuple(a.shape)}")
    draws = _count(draws, "draws")
    chunk = _count(chunk, "chunk", allow_none=True) or n
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int, got {seed!r}")
    if not callable(penalty):
        raise TypeError(f"penalty must be callable as penalty(f, x, *args, generator=...), got "
                        f"{type(penalty).__name__}")
    device = x.device if generator_device is None else torch.device(generator_device)
    roots = modules_of(f) + ([penalty] if isinstance(penalty, torch.nn.Module) else [])
    values = []
    with _eval_mode(roots), torch.no_grad():
        for d in range(draws):
            gen = torch.Generator(device=device).manual_seed(int(seed) + d)
            if chunk >= n:
                values.append(float(penalty(f, x, *args, generator=gen)))
                continue
            total, count = 0.0, 0
            for i in range(0, n, chunk):
                rows = [a[i:i + chunk] if isinstance(a, torch.Tensor) else a for a in args]
                z = x[i:i + chunk]
                total += float(penalty(f, z, *rows, generator=gen)) * len(z)
                count += len(z)
            values.append(total / count)
    mean = sum(values) / draws
    stderr = (math.sqrt(sum((v - mean) ** 2 for v in values) / (draws - 1) / draws)
              if draws > 1 else math.nan)
    return Violation(mean, stderr, draws, n, tuple(values))
