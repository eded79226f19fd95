"""The matrix exponential, exact to float64 rounding at every norm.

torch 2.13's CPU ``torch.linalg.matrix_exp`` loses accuracy in float64 for small matrices:
for ``A = phi K`` (a boost generator, exact answer cosh/sinh) the error is 8e-14 at
``phi = 0.01``, 2.0e-11 at 0.03 and 2.3e-10 at 0.049, back to 2e-16 from 0.05 on (measured
with torch 2.13.0+cpu; ``test_group_exp_is_exact_to_float64_rounding_at_small_norms`` in
tests/test_conventions_mutation.py checks this module at those norms). Those elements then
fail ``contains`` (a rotation by 2^-5 had ``g^T g - 1`` of 9e-13). Below 1-norm 0.06 this module
sums the Taylor series to degree 12 (truncation ``0.06^13 / 13! < 2e-26``); elsewhere, and for
other dtypes, it calls torch.
"""

from __future__ import annotations

import torch

__all__ = ["matrix_exp"]

SMALL = 0.06
DEGREE = 12


def matrix_exp(A: torch.Tensor) -> torch.Tensor:
    """``exp(A)`` for a batch ``(..., d, d)``; float64 inputs of small norm by Taylor series."""
    if A.dtype != torch.float64 or A.numel() == 0:
        return torch.linalg.matrix_exp(A)
    norm = A.abs().sum(-2).amax(-1)                      # induced 1-norm per matrix
    small = norm <= SMALL
    if not bool(small.any()):
        return torch.linalg.matrix_exp(A)
    keep = small[..., None, None]
    S = torch.where(keep, A, torch.zeros_like(A))       # large ones: a harmless zero series
    eye = torch.eye(A.shape[-1], dtype=A.dtype, device=A.device)
    total, term = eye + S, S
    for k in range(2, DEGREE + 1):
        term = term @ S / k
        total = total + term
    return torch.where(keep, total, torch.linalg.matrix_exp(A))
