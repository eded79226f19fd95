"""A fixed-λ front and where a violation budget lands against it (docs/budget.md).

A *front* is the set of fixed-λ runs of one case, penalty and seed, each a point
``(Γ_final, task metric)`` with both lower-is-better (the task metric: a test MSE, or 1 − AUC
for a tagger). :func:`front_at` reads the front's task metric at a violation ``target``,
:func:`lam_at` the fixed λ that ends at it, :func:`gmean` averages ratios over seeds.
"""

from __future__ import annotations

import math
import statistics


def front_at(points: list[tuple[float, float]], target: float) -> float:
    """The task metric of the fixed-λ front at ``Γ = target``: log-log interpolation between
    the two non-dominated ``(Γ, metric)`` points whose Γ bracket the target (nan outside the
    front's range of Γ). Non-dominated: no other point has a smaller Γ and a smaller metric,
    so along the front the metric falls as Γ grows."""
    front, best = [], math.inf
    for g, m in sorted(points):
        if m < best:
            front.append((g, m))
            best = m
    for (g0, m0), (g1, m1) in zip(front, front[1:], strict=False):
        if g0 <= target <= g1:
            if g1 == g0:
                return min(m0, m1)
            t = (math.log(target) - math.log(g0)) / (math.log(g1) - math.log(g0))
            return math.exp(math.log(m0) + t * (math.log(m1) - math.log(m0)))
    return math.nan


def lam_at(points: list[tuple[float, float]], target: float) -> float:
    """The fixed λ whose Γ_final is ``target``: log-log interpolation in ``(Γ_final, λ)`` between
    the first pair of runs (λ > 0), neighbours in Γ, whose Γ bracket it (nan if none does)."""
    pts = sorted((g, lam) for g, lam in points if lam > 0)
    for (g0, l0), (g1, l1) in zip(pts, pts[1:], strict=False):
        if min(g0, g1) <= target <= max(g0, g1) and g0 != g1:
            t = (math.log(target) - math.log(g0)) / (math.log(g1) - math.log(g0))
            return math.exp(math.log(l0) + t * (math.log(l1) - math.log(l0)))
    return math.nan


def gmean(values) -> float:
    """Geometric mean of the values that are not nan (nan if none)."""
    values = [v for v in values if v == v]
    return math.exp(statistics.fmean(math.log(v) for v in values)) if values else math.nan
