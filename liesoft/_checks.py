"""Input validation shared by groups, representations and penalties.

Every check raises a ``TypeError`` (wrong kind or dtype) or ``ValueError`` (wrong shape or
value) whose message names what was expected and what was received.
"""

from __future__ import annotations

import contextlib
import math
import numbers
from collections.abc import Callable, Iterable

import torch

__all__ = ["check_tensor", "check_floating", "check_square_batch", "resolve_dtype", "default_atol",
           "module_dtypes", "check_module_dtype", "is_dtype_error", "named_dtype_errors",
           "positive_number"]


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


def module_dtypes(f) -> set[torch.dtype]:
    """Floating dtypes of the parameters and buffers of ``f`` if it is a ``torch.nn.Module``
    (empty for any other callable, whose dtype cannot be known before calling it)."""
    if not isinstance(f, torch.nn.Module):
        return set()
    return {t.dtype for t in (*f.parameters(), *f.buffers()) if t.is_floating_point()}


def check_module_dtype(f, dtype: torch.dtype, what: str, hint: str = "") -> None:
    """``TypeError`` naming both dtypes if the module ``f`` holds floating parameters or buffers
    of a dtype other than ``dtype`` (the dtype ``what`` will feed it). Never changes ``f``."""
    found = module_dtypes(f)
    if found and found != {dtype}:
        names = ", ".join(sorted(str(d) for d in found))
        raise TypeError(f"{what} evaluates the model on {dtype} inputs, but its parameters/"
                        f"buffers are {names}{hint}")


def is_dtype_error(exc: BaseException) -> bool:
    """Whether a ``RuntimeError`` raised inside a model is PyTorch's dtype mismatch (e.g.
    ``mat1 and mat2 must have the same dtype``)."""
    msg = str(exc)
    return isinstance(exc, RuntimeError) and (
        "dtype" in msg or ("Double" in msg and "Float" in msg)
        or "expected scalar type" in msg)


@contextlib.contextmanager
def named_dtype_errors(what: str, dtype, advice: str, *, subject: str = "the model",
                       modules: Callable[[], Iterable] = tuple):
    """Turn PyTorch's raw dtype mismatch raised inside a model (``mat1 and mat2 must have the
    same dtype``: float64 inputs to a float32 model, or the reverse) into a ``TypeError`` that
    names the input's ``dtype`` and, for a module of another dtype among ``modules()``, the
    module's (:func:`check_module_dtype`), with ``advice``; PyTorch's error is its cause.
    Nothing is cast. Other errors pass through unchanged."""
    try:
        yield
    except RuntimeError as exc:
        if not is_dtype_error(exc):
            raise
        hint = f": {advice}. PyTorch said: {exc}"
        for module in modules():
            try:
                check_module_dtype(module, dtype, what, hint)
            except TypeError as named:  # the module's dtype differs from the input's
                raise named from exc
        raise TypeError(f"{what} evaluates {subject} on {dtype} inputs and {subject} raised a "
                        f"dtype error{hint}") from exc


def positive_number(value, name: str, *, allow_zero: bool = False, upper: float | None = None,
                    upper_open: bool = False) -> float:
    """A finite real number (not a bool) in the given range, as a float; else a clear error."""
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_complex():
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    low_ok = value >= 0 if allow_zero else value > 0
    high_ok = upper is None or (value < upper if upper_open else value <= upper)
    if not (math.isfinite(value) and low_ok and high_ok):
        low = "[0" if allow_zero else "(0"
        high = "inf)" if upper is None else (f"{upper:g})" if upper_open else f"{upper:g}]")
        raise ValueError(f"{name} must be a finite number in {low}, {high}, got {value!r}")
    return value
