"""Affine (non-linear) actions: positions under E(3)."""

from __future__ import annotations

import torch

from .base import Representation, _working_dtype

__all__ = ["Point"]


class Point(Representation):
    """A position acted on by homogeneous affine matrices ``g = [[R, t], [0, 1]]``:
    ``x -> R x + t``, infinitesimally ``A = [[a, b], [0, 0]]``: ``x -> a x + b``.

    Shape ``(d - 1,)`` for ``d x d`` group matrices. ``rho(g)``/``drho(A)`` return the
    homogeneous matrices themselves (they act linearly on ``(x, 1)``), so the homomorphism
    properties hold, but the action on the data is the affine map of ``act``. Binding to a
    group that is not affine is a ``ValueError``.
    """

    linear = False

    def _check_group(self, group):
        if not group.affine:
            raise ValueError(
                f"Point needs an affine group of homogeneous matrices such as E3(), got "
                f"{group.name}")

    def _shape(self, d):
        if d < 2:
            raise ValueError(f"Point needs homogeneous matrices of size d >= 2, got {d}")
        return (d - 1,)

    def _rho(self, g):
        return g

    def _drho(self, A):
        return A

    def _affine_map(self, m, x):
        lin, shift = m[..., :-1, :-1], m[..., :-1, -1]
        if m.ndim == 2:
            return x @ lin.transpose(-1, -2) + shift
        extra = (1,) * (x.ndim - 2)
        out = torch.einsum("bij,b...j->b...i", lin, x)
        return out + shift.reshape(shift.shape[0], *extra, shift.shape[-1])

    def act(self, g, x):
        gw, xw = self._check_action(g, x, "g")
        return self._affine_map(gw, xw).to(x.dtype)

    def infinitesimal_all(self, As, x):
        self._check_action(As[0], x, "A")
        xw = x.to(_working_dtype(x))
        Aw = As.to(device=x.device, dtype=xw.dtype)
        lin, shift = Aw[:, :-1, :-1], Aw[:, :-1, -1]
        out = torch.einsum("nij,...j->n...i", lin, xw)
        out = out + shift.reshape(As.shape[0], *([1] * (x.ndim - 1)), shift.shape[-1])
        return out.to(x.dtype)

    def infinitesimal(self, A, x):
        Aw, xw = self._check_action(A, x, "A")
        return self._affine_map(Aw, xw).to(x.dtype)
