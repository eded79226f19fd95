"""Input validation shared by groups, representations and penalties.

Every check raises a ``TypeError`` (wrong kind or dtype) or ``ValueError`` (wrong shape or
value) whose message names what was expected and what was received.
"""

from __future__ import annotations

import torch

__all__ = ["check_tensor", "check_floating", "check_square_batch", "resolve_dtype", "default_atol"]


def check_tensor(x, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    return x


def check_floating(x, name: str) -> torch.Tensor:
    """``x`` must be a real floating-point tensor (no silent casting of integer data)."""
    check_tensor(x, name)
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    return x


def check_square_batch(g, d: int, name: str, *, batched: bool | None = None) -> torch.Tensor:
    """``g`` must have shape ``(d, d)`` or ``(B, d, d)`` (``batched`` forces one of the two)."""
    check_floating(g, name)
    ok_rank = (2, 3) if batched is None else ((3,) if batched else (2,))
    if g.ndim not in ok_rank or tuple(g.shape[-2:]) != (d, d):
        want = " or ".join({2: f"({d}, {d})", 3: f"(B, {d}, {d})"}[r] for r in ok_rank)
        raise ValueError(f"{name} must have shape {want}, got {tuple(g.shape)}")
    return g


def resolve_dtype(dtype) -> torch.dtype:
    """``None`` means ``torch.get_default_dtype()``; anything else must be a floating dtype."""
    if dtype is None:
        return torch.get_default_dtype()
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
    return dtype


def default_atol(dtype: torch.dtype) -> float:
    """Membership tolerance used by ``contains``: 1000 ulps of the dtype (relative)."""
    return 1e3 * torch.finfo(dtype).eps
