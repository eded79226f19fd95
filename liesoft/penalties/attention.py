"""The attention kernel the penalties' derivatives need."""

from __future__ import annotations

import contextlib

__all__ = ["math_attention"]


def math_attention():
    """Context forcing PyTorch's MATH attention kernel (double backward and forward-mode AD
    fail through the fused ``scaled_dot_product_attention`` kernels)."""
    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel
    except ImportError:  # pragma: no cover - very old torch
        return contextlib.nullcontext()
    return sdpa_kernel(SDPBackend.MATH)
