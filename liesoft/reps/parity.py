"""Parity-odd representations: pseudoscalars and axial vectors.

A parity-odd rep picks up the sign of the determinant of the group element's linear part:
``+1`` on the connected group (every element ``exp(A)``), ``-1`` under an improper discrete
element such as SO(3)'s parity ``P = -1`` or E(3)'s ``diag(-1, -1, -1, 1)``. For the Lorentz
group both ``P`` and ``T`` have ``det = -1``: a pseudoscalar there is odd under each (like
``eps_{mu nu rho sigma} p1^mu p2^nu p3^rho p4^sigma``) and even under ``PT``. Such signs only
matter to penalties that sample the discrete generators (``GSEAL(..., discrete=True)``).
"""

from __future__ import annotations

import torch

from .base import Representation
from .linear import Scalar, Vector

__all__ = ["Pseudoscalar", "AxialVector", "parity_product"]


def _det_sign(g: torch.Tensor) -> torch.Tensor:
    """``sign(det g)`` ``(..., 1, 1)``. For homogeneous affine matrices ``[[R, t], [0, 1]]``
    ``det g = det R``, so this is the sign of the linear part's determinant too."""
    return torch.sign(torch.linalg.det(g))[..., None, None]


class Pseudoscalar(Representation):
    """A one-component quantity that is invariant under the connected group and changes sign
    under improper elements (``det < 0``): the triple product ``x . (y x z)`` under SO(3) with
    parity, a helicity. ``rho(g) = sign(det g)``, ``drho(A) = 0``; shape ``()``.

    ``Pseudoscalar() * Pseudoscalar()`` is :class:`~liesoft.Scalar`, ``Vector() *
    Pseudoscalar()`` is :class:`AxialVector`.
    """

    def _shape(self, d):
        return ()

    def _rho(self, g):
        return _det_sign(g)

    def _drho(self, A):
        return torch.zeros(*A.shape[:-2], 1, 1, dtype=A.dtype, device=A.device)


class AxialVector(Vector):
    """A vector that does not flip under parity (a cross product, an angular momentum, a
    magnetic field): ``rho(g) = sign(det g) g`` (the linear block for an affine group such as
    :class:`~liesoft.E3`), ``drho(A) = A``; shape as :class:`~liesoft.Vector`."""

    def _rho(self, g):
        return _det_sign(g) * super()._rho(g)


def parity_product(a, b):
    """The simplified tensor product of ``a`` and ``b`` when one is a :class:`Pseudoscalar`
    (``P * P = Scalar``, ``Vector * P = AxialVector``, ``AxialVector * P = Vector``), else
    ``None``."""
    if isinstance(a, Pseudoscalar) and not isinstance(b, Pseudoscalar):
        a, b = b, a
    if not isinstance(b, Pseudoscalar):
        return None
    if isinstance(a, Pseudoscalar):
        return Scalar()
    if type(a) is Vector:
        return AxialVector()
    if type(a) is AxialVector:
        return Vector()
    return None
