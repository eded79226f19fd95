"""The restricted Lorentz group SO(1,3)+ acting on four-vectors ``(E, px, py, pz)``.

Metric ``eta = diag(+1, -1, -1, -1)``. Generators, in this order:

* ``K_x, K_y, K_z`` (boosts): ``K_i = -(e_0 e_i^T + e_i e_0^T)``, chosen so that
  ``exp(phi * n . K)`` is exactly the paper's eq. 7 matrix ``Lambda(beta)`` for the velocity
  ``beta = tanh(phi) n``. Eq. 7 is the passive boost into the frame moving with velocity
  ``beta``: a particle at rest, ``(m, 0, 0, 0)``, becomes ``(gamma m, -gamma beta m)``.
* ``J_x, J_y, J_z`` (rotations): ``(J_i)_{jk} = -eps_{ijk}`` on the spatial block, so
  ``exp(theta J_z)`` rotates the x axis towards the y axis.

Commutators: ``[J_i, J_j] = eps_ijk J_k``, ``[J_i, K_j] = eps_ijk K_k``,
``[K_i, K_j] = -eps_ijk J_k``.
"""

from __future__ import annotations

import math

import torch

from .._checks import check_floating, check_square_batch, default_atol
from .base import MatrixLieGroup
from .rotations import haar_rotation, rotation_matrix, so3_generators

__all__ = ["Lorentz", "MINKOWSKI"]

MINKOWSKI = torch.diag(torch.tensor([1.0, -1.0, -1.0, -1.0], dtype=torch.float64))


def _lorentz_generators() -> torch.Tensor:
    gens = torch.zeros(6, 4, 4, dtype=torch.float64)
    for i in range(3):
        gens[i, 0, i + 1] = gens[i, i + 1, 0] = -1.0
    gens[3:, 1:, 1:] = so3_generators()
    return gens


def _embed_rotation(R: torch.Tensor) -> torch.Tensor:
    out = torch.zeros(*R.shape[:-2], 4, 4, dtype=R.dtype, device=R.device)
    out[..., 0, 0] = 1.0
    out[..., 1:, 1:] = R
    return out


class Lorentz(MatrixLieGroup):
    """SO(1,3)+: boosts and rotations of ``(E, px, py, pz)`` (see the module docstring for the
    sign conventions). Discrete generators: parity ``P = diag(1, -1, -1, -1)`` and time reversal
    ``T = diag(-1, 1, 1, 1)``.

    ``sample(n, beta_max=0.95 ** 0.5, rotations=False, distribution="beta2")`` is the paper's
    sampler: boost direction uniform on the sphere and ``|beta|^2`` uniform on
    ``[0, beta_max^2]``; ``rotations=True`` composes a Haar-random rotation (``Lambda = B R``);
    ``distribution="rapidity"`` draws the rapidity uniformly on ``[0, artanh(beta_max)]``.
    """

    metric = MINKOWSKI

    def __init__(self):
        super().__init__(
            _lorentz_generators(), names=("K_x", "K_y", "K_z", "J_x", "J_y", "J_z"),
            name="SO(1,3)+",
            discrete_generators=torch.stack([MINKOWSKI, -MINKOWSKI]),
        )

    @property
    def discrete_names(self):
        return ("P", "T")

    def families(self):
        return {"boost": [0, 1, 2], "rotation": [3, 4, 5]}

    def family_parameter(self, family: str, magnitude: float) -> float:
        """Boosts are measured by ``|beta|`` (rapidity ``artanh |beta|``), rotations by angle."""
        theta = super().family_parameter(family, magnitude)
        if family == "boost":
            if not 0 <= magnitude < 1:
                raise ValueError(f"a boost magnitude is |beta| in [0, 1), got {magnitude!r}")
            return math.atanh(magnitude)
        return theta

    # ------------------------------------------------------------------ explicit elements
    @staticmethod
    def boost(beta: torch.Tensor) -> torch.Tensor:
        """Eq. 7: velocities ``(..., 3)`` with ``|beta| < 1`` -> boosts ``(..., 4, 4)``.

        ``Lambda = [[gamma, -gamma beta^T], [-gamma beta, 1 + (gamma - 1) beta beta^T / beta^2]]``,
        built in float64 as ``diag(-1, 1, 1, 1) + w w^T / (1 + gamma)`` with
        ``w = (1 + gamma, -gamma beta)`` (the same matrix, no 0/0 at rest) and returned in the
        input's dtype.
        """
        check_floating(beta, "beta")
        if beta.shape[-1:] != (3,):
            raise ValueError(f"beta must have shape (..., 3), got {tuple(beta.shape)}")
        b = beta.to(torch.float64)
        b2 = (b * b).sum(-1, keepdim=True)
        if beta.numel() and not bool((b2 < 1).all()):
            raise ValueError(
                f"boost velocities must satisfy |beta| < 1, got max |beta| = "
                f"{float(b2.max().sqrt()):.6g}")
        # eq. 7 = diag(-1, 1, 1, 1) + w w^T / (1 + gamma) with w = (1 + gamma, -gamma beta)
        gamma = (1 - b2).rsqrt()
        w = torch.cat([1 + gamma, -gamma * b], dim=-1)
        out = w[..., :, None] * (w / (1 + gamma))[..., None, :]
        out = out + torch.diag(torch.tensor([-1.0, 1.0, 1.0, 1.0], dtype=torch.float64,
                                            device=b.device))
        return out.to(beta.dtype)

    @staticmethod
    def rotation(axis_angle: torch.Tensor) -> torch.Tensor:
        """Axis-angle vectors ``(..., 3)`` -> spatial rotations ``(..., 4, 4)``."""
        return _embed_rotation(rotation_matrix(axis_angle))

    # ------------------------------------------------------------------ sampling
    def _draw(self, n: int, generator, dev, beta_max: float = 0.95 ** 0.5,
              rotations: bool = False, distribution: str = "beta2") -> torch.Tensor:
        """``n`` random transformations ``(n, 4, 4)`` with the options ``beta_max=0.95 ** 0.5,
        rotations=False, distribution="beta2"`` (see the class docstring)."""
        if not (isinstance(beta_max, (int, float)) and 0 < beta_max < 1):
            raise ValueError(f"beta_max must lie in the open interval (0, 1), got {beta_max!r}")
        if distribution not in ("beta2", "rapidity"):
            raise ValueError(
                f"distribution must be 'beta2' or 'rapidity', got {distribution!r}")
        direction = torch.randn(n, 3, generator=generator, dtype=torch.float64, device=dev)
        direction = direction / torch.linalg.vector_norm(direction, dim=-1, keepdim=True)
        u = torch.rand(n, generator=generator, dtype=torch.float64, device=dev)
        if distribution == "beta2":
            speed = (u * beta_max**2).sqrt()
        else:
            speed = torch.tanh(u * math.atanh(beta_max))
        g = self.boost(speed[:, None] * direction)
        if rotations:
            g = g @ _embed_rotation(haar_rotation(n, generator, dev))
        return g

    # ------------------------------------------------------------------ membership
    def contains(self, g: torch.Tensor, atol: float | None = None) -> torch.Tensor:
        """``g^T eta g = eta`` within ``atol * max|g|^2`` (``atol``: default 1000 roundings of
        ``g.dtype``), ``det g = +1`` and ``g[0, 0] >= 1`` (orthochronous).

        Where the metric holds, ``det g`` is ``+1`` or ``-1`` (parity, time reversal): the
        determinant, computed in float64 from ``g``, must be nearer ``+1`` than its rounding
        error ``atol * max|g|^2 * 16`` allows it to drift, and never further than ``1/2``, so
        ``det = -1`` is rejected however large the boost (parity x a ``|beta| = 0.999`` boost
        in float32 included)."""
        check_square_batch(g, 4, "g")
        atol = default_atol(g.dtype) if atol is None else float(atol)
        g64 = g.detach().to(torch.float64)
        eta = MINKOWSKI.to(g.device)
        size = g64.abs().amax((-1, -2)).clamp(min=1.0)
        metric_ok = (g64.transpose(-1, -2) @ eta @ g64 - eta).abs().amax((-1, -2)) <= atol * size**2
        # d det = det * tr(g^-1 dg) with |g^-1| = |eta g^T eta| = |g|: at most 16 |g|^2 |dg|/|g|
        det_tol = (16 * atol * size**2).clamp(max=0.5)
        det_ok = (torch.linalg.det(g64) - 1).abs() <= det_tol
        return metric_ok & det_ok & (g64[..., 0, 0] >= 1 - atol * size) & torch.isfinite(
            g64).all(-1).all(-1)
