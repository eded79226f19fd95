"""What both penalties' equations share: the squared norm, the model call, the residual dtype."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

__all__ = ["squared_norm", "evaluate", "as_residual_dtype"]


def squared_norm(r: torch.Tensor, batch_dims: int = 1) -> torch.Tensor:
    """``|r|^2`` summed over every axis after the first ``batch_dims`` (Euclidean norm over all
    output components, middle axes included)."""
    return r.pow(2).reshape(*r.shape[:batch_dims], -1).sum(-1)


def evaluate(f: Callable, x: torch.Tensor, args: Sequence) -> torch.Tensor:
    """One plain pass ``f(x, *args)`` (the penalties' passes when no model state needs care)."""
    return f(x, *args)


def as_residual_dtype(y: torch.Tensor) -> torch.Tensor:
    """Half/bfloat16 outputs (autocast) are differenced in float32."""
    return y.float() if y.dtype in (torch.float16, torch.bfloat16) else y
