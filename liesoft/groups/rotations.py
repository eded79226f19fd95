"""Rotation groups: ``SO(n)`` for any n and ``SO3`` with the physicist's ``J_x, J_y, J_z``."""

from __future__ import annotations

import torch

from .._checks import check_floating, check_square_batch, default_atol
from .base import MatrixLieGroup

__all__ = ["SO", "SO3", "so3_generators", "rotation_matrix", "haar_rotation"]


def so3_generators() -> torch.Tensor:
    """``J_x, J_y, J_z`` with ``(J_i)_{jk} = -eps_{ijk}``: ``exp(theta J_z)`` rotates the x axis
    towards the y axis (right-handed, counter-clockwise), ``[J_i, J_j] = eps_{ijk} J_k``."""
    eps = torch.zeros(3, 3, 3, dtype=torch.float64)
    for i, j, k in ((0, 1, 2), (1, 2, 0), (2, 0, 1)):
        eps[i, j, k], eps[i, k, j] = 1.0, -1.0
    return -eps


def rotation_matrix(axis_angle: torch.Tensor) -> torch.Tensor:
    """Rodrigues' formula: axis-angle vectors ``(..., 3)`` -> rotations ``(..., 3, 3)``.

    The rotation is by ``|axis_angle|`` radians about ``axis_angle / |axis_angle|``,
    ``R = exp(axis_angle . J)``. Computed in float64 and returned in the input's dtype.
    """
    check_floating(axis_angle, "axis_angle")
    if axis_angle.shape[-1:] != (3,):
        raise ValueError(f"axis_angle must have shape (..., 3), got {tuple(axis_angle.shape)}")
    w = axis_angle.to(torch.float64)
    theta = torch.linalg.vector_norm(w, dim=-1, keepdim=True)[..., None]
    K = torch.einsum("...i,ijk->...jk", w, so3_generators().to(w.device))
    small = theta < 1e-8
    safe = torch.where(small, torch.ones_like(theta), theta)
    a = torch.where(small, 1 - theta**2 / 6, torch.sin(safe) / safe)
    b = torch.where(small, 0.5 - theta**2 / 24, (1 - torch.cos(safe)) / safe**2)
    eye = torch.eye(3, dtype=torch.float64, device=w.device)
    return (eye + a * K + b * (K @ K)).to(axis_angle.dtype)


def haar_rotation(n: int, generator=None, device=None) -> torch.Tensor:
    """``n`` Haar-uniform 3-D rotations (float64) from uniform unit quaternions."""
    q = torch.randn(n, 4, generator=generator, dtype=torch.float64, device=device)
    q = q / torch.linalg.vector_norm(q, dim=-1, keepdim=True)
    w, x, y, z = q.unbind(-1)
    return torch.stack([
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    ], dim=-1).reshape(n, 3, 3)


def _orthogonal_contains(g: torch.Tensor, d: int, atol: float | None) -> torch.Tensor:
    check_square_batch(g, d, "g")
    atol = default_atol(g.dtype) if atol is None else float(atol)
    g64 = g.detach().to(torch.float64)
    eye = torch.eye(d, dtype=torch.float64, device=g.device)
    orth = (g64.transpose(-1, -2) @ g64 - eye).abs().amax((-1, -2)) <= atol
    det = (torch.linalg.det(g64) - 1).abs() <= atol * d
    return orth & det & torch.isfinite(g64).all(-1).all(-1)


class SO(MatrixLieGroup):
    """Rotations of R^n. Generators ``L_(ij)``, ``i < j`` (lexicographic), rotate ``e_i``
    towards ``e_j``: ``(L_(ij))_{ji} = 1``, ``(L_(ij))_{ij} = -1``.

    ``sample`` is Haar-uniform: QR of a Gaussian matrix with the sign fix (``Q diag(sign R_ii)``
    is Haar on O(n)), then the first column is multiplied by ``det Q`` to land in SO(n).
    """

    def __init__(self, n: int):
        if isinstance(n, bool) or not isinstance(n, int) or n < 2:
            raise ValueError(f"SO(n) needs an integer n >= 2, got {n!r}")
        gens, names = [], []
        for i in range(n):
            for j in range(i + 1, n):
                L = torch.zeros(n, n, dtype=torch.float64)
                L[j, i], L[i, j] = 1.0, -1.0
                gens.append(L)
                names.append(f"L_{i}{j}")
        super().__init__(torch.stack(gens), names=names, name=f"SO({n})",
                         discrete_generators=_reflection(n),
                         discrete_names=("P",) if n % 2 else ("R_0",))

    def families(self):
        return {"rotation": list(range(self.n_generators))}

    def _draw(self, n: int, generator, device) -> torch.Tensor:
        """``n`` Haar-random rotations ``(n, d, d)``; no options."""
        z = torch.randn(n, self.dim, self.dim, generator=generator, dtype=torch.float64,
                        device=device)
        q, r = torch.linalg.qr(z)
        q = q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)
        q[..., :, 0] *= torch.linalg.det(q).unsqueeze(-1)
        return q

    def contains(self, g: torch.Tensor, atol: float | None = None) -> torch.Tensor:
        """``g^T g = 1`` and ``det g = 1`` within ``atol``."""
        return _orthogonal_contains(g, self.dim, atol)


def _reflection(n: int) -> torch.Tensor:
    """Parity ``x -> -x`` when it is not a rotation (odd n, named ``P``), else the reflection
    of axis 0 (named ``R_0``)."""
    P = -torch.eye(n, dtype=torch.float64) if n % 2 else torch.diag(
        torch.tensor([-1.0] + [1.0] * (n - 1), dtype=torch.float64))
    return P.unsqueeze(0)


class SO3(SO):
    """Rotations of R^3 with generators ``J_x, J_y, J_z`` (``(J_i)_{jk} = -eps_{ijk}``).

    ``sample`` is Haar-uniform from uniform unit quaternions; the discrete generator is parity
    ``P = -1`` (named ``"P"``, as in :class:`~liesoft.Lorentz`).
    """

    def __init__(self):
        MatrixLieGroup.__init__(self, so3_generators(), names=("J_x", "J_y", "J_z"), name="SO(3)",
                                discrete_generators=-torch.eye(3, dtype=torch.float64)[None],
                                discrete_names=("P",))

    def _draw(self, n: int, generator, device) -> torch.Tensor:
        """``n`` Haar-random rotations ``(n, 3, 3)`` (uniform unit quaternions); no options."""
        return haar_rotation(n, generator, device)

    @staticmethod
    def rotation(axis_angle: torch.Tensor) -> torch.Tensor:
        """Axis-angle ``(..., 3)`` -> ``(..., 3, 3)``; see :func:`rotation_matrix`."""
        return rotation_matrix(axis_angle)
