"""A group and its sampler's options as one object: what GSEAL draws and augmentation applies."""

from __future__ import annotations

import torch

from .._checks import resolve_dtype
from .base import LieGroup

__all__ = ["Sampler"]


class Sampler:
    """Random elements of ``group`` drawn with fixed options: ``group.sample(n, **options)``,
    composed with ``group.sample_discrete(n)`` when ``discrete=True``.

    ``Sampler(Lorentz(), beta_max=0.5).sample(n, generator=gen)`` draws what
    ``GSEAL(Lorentz(), Vector4(), beta_max=0.5)`` draws with the same generator state: the
    penalty holds one. Bad options fail at construction (one draw from a throw-away generator;
    the global random state is untouched).

    Args:
        group: any :class:`~liesoft.LieGroup`.
        discrete: also compose each element with a random product of the group's discrete
            generators (parity, time reversal for :class:`~liesoft.Lorentz`).
        **options: the group's sampler options, e.g. ``beta_max=0.5``, ``rotations=True``.
    """

    def __init__(self, group: LieGroup, *, discrete: bool = False, **options):
        if not isinstance(group, LieGroup):
            raise TypeError(f"group must be a liesoft LieGroup, got {type(group).__name__}")
        if not isinstance(discrete, bool):
            raise TypeError(f"discrete must be True or False, got {discrete!r}")
        if discrete and group.discrete_generators.shape[0] == 0:
            raise ValueError(f"discrete=True but {group.name} has no discrete generators")
        self.group, self.discrete, self.options = group, discrete, dict(options)
        group.sample(1, generator=torch.Generator(), **self.options)

    def sample(self, n: int, *, generator: torch.Generator | None = None, dtype=None,
               device=None) -> torch.Tensor:
        """``n`` elements ``(n, d, d)``, drawn and composed in float64 and cast once to
        ``dtype`` (default: the default dtype) on ``device``."""
        dtype = resolve_dtype(dtype)
        g = self.group.sample(n, generator=generator, dtype=torch.float64, device=device,
                              **self.options)
        if self.discrete:
            g = g @ self.group.sample_discrete(n, generator=generator, dtype=torch.float64,
                                               device=device)
        return g.to(dtype)

    def __repr__(self) -> str:
        opts = "".join(f", {k}={v!r}" for k, v in self.options.items())
        return f"Sampler({self.group.name}{', discrete=True' if self.discrete else ''}{opts})"
