"""Equivariance checks for users (like e3nn's ``assert_equivariant``)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from .groups.base import LieGroup
from .reps import Representation, Scalar

__all__ = ["equivariance_error", "assert_equivariant"]


def equivariance_error(f: Callable, group: LieGroup, in_rep: Representation,
                       out_rep: Representation | None = None, x: torch.Tensor | None = None, *,
                       batch: int = 16, generator: torch.Generator | None = None,
                       **sample_options) -> tuple[float, float]:
    """Worst violation of ``f(g . x) = g . f(x)`` over one random ``g`` per sample, in float64.

    Args:
        f: the function (cast a module with ``.double()`` first).
        group, in_rep, out_rep: the symmetry; ``out_rep`` defaults to :class:`Scalar`.
        x: inputs ``(B, ..., *in_rep.shape)``; default ``batch`` standard-normal samples.
        generator: a ``torch.Generator`` for reproducible draws.
        **sample_options: passed to ``group.sample`` (e.g. ``beta_max=0.5``).

    Returns:
        ``(absolute, relative)``: the largest ``|f(g.x) - g.f(x)|`` over samples and components,
        and the same divided by ``max(1, |g.f(x)|)`` of that sample.
    """
    out_rep = Scalar() if out_rep is None else out_rep
    in_rep, out_rep = in_rep.bind(group), out_rep.bind(group)
    if x is None:
        x = torch.randn(batch, *in_rep.shape(), generator=generator, dtype=torch.float64)
    else:
        x = x.detach().to(torch.float64)
    g = group.sample(x.shape[0], generator=generator, dtype=torch.float64, device=x.device,
                     **sample_options)
    with torch.no_grad():
        lhs = f(in_rep.act(g, x))
        rhs = out_rep.act(g, f(x))
    diff = (lhs - rhs).abs().reshape(x.shape[0], -1).amax(-1)
    scale = rhs.abs().reshape(x.shape[0], -1).amax(-1).clamp(min=1.0)
    return float(diff.max()), float((diff / scale).max())


def assert_equivariant(f: Callable, group: LieGroup, in_rep: Representation,
                       out_rep: Representation | None = None, x: torch.Tensor | None = None, *,
                       rtol: float = 1e-8, batch: int = 16,
                       generator: torch.Generator | None = None, **sample_options) -> float:
    """Raise ``AssertionError`` if ``f`` is not equivariant to relative tolerance ``rtol``.

    Samples group elements in float64 (see :func:`equivariance_error`) and returns the worst
    relative violation, so it can also be logged::

        assert_equivariant(lambda p: p[..., 0]**2 - (p[..., 1:]**2).sum(-1),
                           Lorentz(), Vector4())
    """
    absolute, relative = equivariance_error(f, group, in_rep, out_rep, x, batch=batch,
                                            generator=generator, **sample_options)
    if not relative <= rtol:
        raise AssertionError(
            f"f is not equivariant under {group.name} ({in_rep!r} -> "
            f"{out_rep if out_rep is not None else Scalar()!r}): worst |f(g.x) - g.f(x)| = "
            f"{absolute:.3e} (relative {relative:.3e} > rtol {rtol:.1e})")
    return relative
