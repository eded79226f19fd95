"""The principal real matrix logarithm in torch (float64), used by ``MatrixLieGroup.contains``.

``principal_log(g)`` computes ``log g`` by inverse scaling and squaring: repeated principal
square roots (Denman-Beavers iteration) until ``g^(1/2^k)`` is close to the identity, then the
series ``log Y = 2 artanh((Y - 1)(Y + 1)^-1)``, times ``2^k``. The principal logarithm is real
exactly when ``g`` has no eigenvalue on the closed negative real axis; elements that have one
(a rotation by pi, ``diag(-2, -1/2)`` in SL(2, R)) are reported as having no principal log.
"""

from __future__ import annotations

import torch

__all__ = ["principal_log"]

_NEAR_IDENTITY = 0.25   # |Y - 1| (max entry) below which the artanh series is used
_SERIES_TERMS = 14      # |Z| < 0.15: the series' remainder is far below float64 rounding


def _sqrtm(A: torch.Tensor, iters: int = 60) -> torch.Tensor:
    """Principal square roots of a batch ``(B, d, d)`` (no eigenvalue on R<=0), Denman-Beavers."""
    Y = A
    Z = torch.eye(A.shape[-1], dtype=A.dtype, device=A.device).expand_as(A)
    for _ in range(iters):
        Y_new = 0.5 * (Y + torch.linalg.inv(Z))
        Z = 0.5 * (Z + torch.linalg.inv(Y))
        done = (Y_new - Y).abs().amax((-1, -2)) <= 1e-15 * Y_new.abs().amax((-1, -2))
        Y = Y_new
        if bool(done.all()):
            break
    return Y


def principal_log(g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(log g, real)`` for a batch ``g`` ``(B, d, d)``, float64.

    ``real[b]`` is ``False`` where ``g[b]`` has an eigenvalue on the closed negative real axis
    (or is not finite): its principal logarithm is not a real matrix, and ``log g[b]`` is then
    zero. Accurate to about ``cond(g)`` float64 roundings.
    """
    g = g.to(torch.float64)
    B, d = g.shape[0], g.shape[-1]
    eye = torch.eye(d, dtype=torch.float64, device=g.device)
    finite = torch.isfinite(g).all(-1).all(-1)
    g = torch.where(finite[:, None, None], g, eye)
    ev = torch.linalg.eigvals(g)
    size = ev.abs().amax(-1, keepdim=True).clamp(min=1.0)
    on_negative_axis = (ev.real <= 0) & (ev.imag.abs() <= 1e-10 * size)
    real = finite & ~on_negative_axis.any(-1)
    Y = torch.where(real[:, None, None], g, eye)
    k = torch.zeros(B, dtype=torch.float64, device=g.device)
    for _ in range(64):
        far = (Y - eye).abs().amax((-1, -2)) > _NEAR_IDENTITY
        if not bool(far.any()):
            break
        Y = torch.where(far[:, None, None], _sqrtm(Y), Y)
        k = k + far.to(torch.float64)
    Z = (Y - eye) @ torch.linalg.inv(Y + eye)
    Z2 = Z @ Z
    term, out = Z, Z.clone()
    for j in range(1, _SERIES_TERMS):
        term = term @ Z2
        out = out + term / (2 * j + 1)
    log = 2 * out * (2.0 ** k)[:, None, None]
    return torch.where(real[:, None, None], log, torch.zeros_like(log)), real
