"""The matrix exponential of the library: one Taylor series, exact to float64 rounding.

torch 2.13's CPU ``torch.linalg.matrix_exp`` loses accuracy in float64 for small matrices:
for ``A = phi K`` (a boost generator, exact answer cosh/sinh) the error is 8e-14 at
``phi = 0.01``, 2.0e-11 at 0.03 and 2.3e-10 at 0.049, back to 2e-16 from 0.05 on (measured
with torch 2.13.0+cpu; ``test_group_exp_is_exact_to_float64_rounding_at_small_norms`` in
tests/test_conventions_mutation.py checks this module at those norms). Those elements then
fail ``contains`` (a rotation by 2^-5 had ``g^T g - 1`` of 9e-13). :func:`matrix_exp` sums the
Taylor series of float64 matrices of small norm (by default degree 12 below 1-norm 0.06:
truncation ``0.06^13 / 13! < 2e-26``); elsewhere, and for other dtypes, it calls torch.

δSEAL's finite differences use the same series at degree 6 (:func:`exp_near_identity`), whose
steps ``exp(eps A)`` are always near the identity.
"""

from __future__ import annotations

import math

import torch

__all__ = ["matrix_exp", "exp_near_identity"]

SMALL = 0.06
DEGREE = 12


def matrix_exp(A: torch.Tensor, *, degree: int = DEGREE, radius: float = SMALL, ord=1,
               whole_batch: bool = False) -> torch.Tensor:
    """``exp(A)`` for a batch ``(..., d, d)``: float64 matrices of norm ``<= radius`` by their
    Taylor series to ``degree``, the others by ``torch.linalg.matrix_exp``.

    Args:
        degree, radius: the series and the largest norm it serves.
        ord: the norm, ``1`` (largest column sum) or ``math.inf`` (largest row sum).
        whole_batch: one decision for the batch: the series for every matrix when all lie
            within ``radius``, else torch for all (default: per matrix).
    """
    if A.dtype != torch.float64 or A.numel() == 0:
        return torch.linalg.matrix_exp(A)
    norm = A.abs().sum(-1 if ord == math.inf else -2).amax(-1)
    small = norm <= radius
    if whole_batch:
        small = small.all().expand_as(small)
    if not bool(small.any()):
        return torch.linalg.matrix_exp(A)
    keep = small[..., None, None]
    S = torch.where(keep, A, torch.zeros_like(A))       # large ones: a harmless zero series
    eye = torch.eye(A.shape[-1], dtype=A.dtype, device=A.device)
    total, term = eye + S, S
    for k in range(2, degree + 1):
        term = term @ S / k
        total = total + term
    if bool(small.all()):
        return total
    return torch.where(keep, total, torch.linalg.matrix_exp(A))


def exp_near_identity(M: torch.Tensor) -> torch.Tensor:
    """``exp(M)`` for a batch near the identity (δSEAL's ``fd`` steps): when every max-row-sum
    norm is ``<= 0.05``, the degree-6 series (truncation error ``<= 0.05^7 / 7! < 2e-13``, about
    three times cheaper than ``torch.linalg.matrix_exp`` for batches of 4x4 here), else torch
    for the whole batch."""
    return matrix_exp(M, degree=6, radius=0.05, ord=math.inf, whole_batch=True)
