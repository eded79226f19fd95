"""The Euclidean group E(3) (proper: SE(3)) as 4x4 homogeneous matrices ``[[R, t], [0, 1]]``."""

from __future__ import annotations

import math

import torch

from .._checks import check_square_batch, default_atol
from .base import MatrixLieGroup
from .rotations import _orthogonal_contains, haar_rotation, so3_generators

__all__ = ["E3"]


def _e3_generators() -> torch.Tensor:
    gens = torch.zeros(6, 4, 4, dtype=torch.float64)
    gens[:3, :3, :3] = so3_generators()
    for i in range(3):
        gens[3 + i, i, 3] = 1.0
    return gens


class E3(MatrixLieGroup):
    """Rotations and translations of R^3 as homogeneous matrices ``[[R, t], [0, 1]]``.

    Generators ``J_x, J_y, J_z`` (rotations, as in :class:`SO3`) then ``T_x, T_y, T_z``
    (translations). Positions transform with :class:`~liesoft.Point` (``x -> R x + t``), free
    vectors such as forces with :class:`~liesoft.Vector` (``v -> R v``). Parity
    ``P = diag(-1, -1, -1, 1)`` is the discrete generator.

    ``sample(n, translation_scale=1.0)``: a Haar rotation and a Gaussian translation with
    standard deviation ``translation_scale`` per axis.
    """

    affine = True

    def __init__(self):
        super().__init__(_e3_generators(), names=("J_x", "J_y", "J_z", "T_x", "T_y", "T_z"),
                         name="E(3)", affine=True,
                         discrete_generators=torch.diag(torch.tensor(
                             [-1.0, -1.0, -1.0, 1.0], dtype=torch.float64))[None],
                         discrete_names=("P",))

    def families(self):
        return {"rotation": [0, 1, 2], "translation": [3, 4, 5]}

    def _draw(self, n: int, generator, dev, translation_scale: float = 1.0) -> torch.Tensor:
        """``n`` elements ``[[R, t], [0, 1]]`` ``(n, 4, 4)``: ``R`` Haar-random in SO(3) and
        ``t ~ N(0, translation_scale^2)`` per axis (``translation_scale >= 0``; 0 gives pure
        rotations). There is no ``scale`` option: the rotation part is always Haar."""
        if not (isinstance(translation_scale, (int, float)) and math.isfinite(translation_scale)
                and translation_scale >= 0):
            raise ValueError(
                f"translation_scale must be a finite number >= 0, got {translation_scale!r}")
        g = torch.zeros(n, 4, 4, dtype=torch.float64, device=dev)
        g[:, :3, :3] = haar_rotation(n, generator, dev)
        g[:, :3, 3] = translation_scale * torch.randn(n, 3, generator=generator,
                                                      dtype=torch.float64, device=dev)
        g[:, 3, 3] = 1.0
        return g

    def contains(self, g: torch.Tensor, atol: float | None = None) -> torch.Tensor:
        """Last row ``(0, 0, 0, 1)`` and a rotation block in SO(3)."""
        check_square_batch(g, 4, "g")
        tol = default_atol(g.dtype) if atol is None else float(atol)
        last = torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=torch.float64, device=g.device)
        row_ok = (g.detach().to(torch.float64)[..., 3, :] - last).abs().amax(-1) <= tol
        return row_ok & _orthogonal_contains(g[..., :3, :3], 3, atol)
