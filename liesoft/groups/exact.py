"""Exact (sympy) and numerical null spaces: the linear algebra behind subgroups.

A subgroup defined by a spurion (``stabilizer``), an invariant subspace
(``preserving_subspace``) or an invariant bilinear form (``MatrixLieGroup.preserving``) is the
null space of a linear condition on algebra coefficients. When every entry of the condition
matrix is a rational number with a small denominator (the case for the standard generators and
for spurions such as ``(1, 0, 0, 0)``), the null space is computed exactly with sympy, so the
resulting generators are exact combinations (e.g. exactly ``K_z`` and ``J_z``), not a rotated
numerical basis. Otherwise an SVD with a relative tolerance is used.
"""

from __future__ import annotations

from fractions import Fraction

import sympy
import torch

__all__ = ["to_rational", "nullspace", "numerical_nullspace", "project_onto_span"]

_MAX_DENOMINATOR = 10**6


def to_rational(a: torch.Tensor) -> sympy.Matrix | None:
    """``a`` (2-D) as an exact sympy matrix, or ``None`` if an entry is not a simple rational.

    An entry counts as rational when ``Fraction(x).limit_denominator(10**6)`` reproduces it to
    within float64 rounding; ``0.5`` and ``-1`` pass, ``1/sqrt(2)`` does not.
    """
    rows = []
    for row in a.detach().to(torch.float64).cpu().tolist():
        out = []
        for x in row:
            q = Fraction(x).limit_denominator(_MAX_DENOMINATOR)
            if abs(float(q) - x) > 4 * 2.0**-52 * max(1.0, abs(x)):
                return None
            out.append(sympy.Rational(q.numerator, q.denominator))
        rows.append(out)
    return sympy.Matrix(rows)


def numerical_nullspace(c: torch.Tensor, rtol: float = 1e-9) -> torch.Tensor:
    """Orthonormal basis ``(k, n)`` of ``{v : c v = 0}`` from the SVD of ``c`` ``(m, n)``."""
    c = c.to(torch.float64)
    n = c.shape[-1]
    if c.numel() == 0:
        return torch.eye(n, dtype=torch.float64)
    # only V is needed: with more rows than columns the reduced SVD has the full (n, n) V and
    # never forms the (m, m) U (for Sp(10)'s form condition, m = 5500: 3 s -> 0.02 s)
    _, s, vh = torch.linalg.svd(c, full_matrices=c.shape[-2] < n)
    scale = s.max() if s.numel() else torch.tensor(0.0, dtype=torch.float64)
    rank = int((s > rtol * max(float(scale), 1e-300)).sum()) if float(scale) > 0 else 0
    return vh[rank:].clone()


def nullspace(c: torch.Tensor, rtol: float = 1e-9) -> tuple[torch.Tensor, bool]:
    """Basis ``(k, n)`` of ``{v : c v = 0}`` and whether it was computed exactly.

    The exact basis is sympy's (reduced row echelon form: one free coefficient equal to 1 per
    basis vector), so coordinate-aligned solutions come out as unit vectors.
    """
    c = c.to(torch.float64)
    n = c.shape[-1]
    exact = to_rational(c) if c.shape[0] > 0 else sympy.zeros(0, n)
    if exact is None:
        return numerical_nullspace(c, rtol), False
    if c.shape[0] == 0:
        return torch.eye(n, dtype=torch.float64), True
    vecs = exact.nullspace()
    if not vecs:
        return torch.zeros(0, n, dtype=torch.float64), True
    basis = torch.tensor([[float(v) for v in vec] for vec in vecs], dtype=torch.float64)
    return basis, True


def project_onto_span(basis: torch.Tensor, targets: torch.Tensor):
    """Least-squares coefficients of ``targets`` ``(m, D)`` in ``basis`` ``(n, D)``.

    Returns ``(coefficients (m, n), residual (m,))`` with the residual the Euclidean norm of
    what the span cannot represent.
    """
    sol = torch.linalg.lstsq(basis.T, targets.T).solution.T
    residual = torch.linalg.vector_norm(targets - sol @ basis, dim=-1)
    return sol, residual
