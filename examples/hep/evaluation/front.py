"""A fixed-λ front and where a violation budget lands against it (docs/budget.md).

The fixed-λ runs of one case, penalty and seed are points ``(λ, Γ_final, task metric)``, Γ and
the task metric lower-is-better (a test MSE, or 1 − AUC for a tagger; the baseline is λ = 0).
Two readings at a violation ``target``:

* :func:`fixed_at` — **the fixed λ that ends at the target**: between the two runs neighbouring
  in λ whose Γ_final bracket it, log-log interpolation of the metric (and of λ) in Γ. This is
  what a budget run is compared with: the same violation, reached by choosing λ by hand.
* :func:`front_at` — the *Pareto front*: only the runs no other run beats in both Γ and the
  metric. Where a larger λ improves both (a regularising penalty) the front skips the weaker
  λs and may not bracket the target at all (nan).

:func:`lam_at` reads the λ at the target from the runs ordered by Γ, :func:`gmean` averages
ratios over seeds.
"""

from __future__ import annotations

import math
import statistics


def _interp(x0: float, y0: float, x1: float, y1: float, x: float) -> float:
    """log-log interpolation of y at x between (x0, y0) and (x1, y1)."""
    if x1 == x0:
        return min(y0, y1)
    t = (math.log(x) - math.log(x0)) / (math.log(x1) - math.log(x0))
    return math.exp(math.log(y0) + t * (math.log(y1) - math.log(y0)))


def fixed_at(runs: list[tuple[float, float, float]], target: float) -> tuple[float, float]:
    """``(metric, λ)`` of the fixed λ whose Γ_final is ``target``: ``runs`` are
    ``(λ, Γ_final, metric)``; the first pair of λ-neighbours (ascending λ) whose Γ bracket the
    target is interpolated log-log in Γ (λ too, nan when one end is the baseline, λ = 0).
    ``(nan, nan)`` when no pair brackets it (the target is outside the runs' range of Γ)."""
    pts = sorted(runs)
    for (l0, g0, m0), (l1, g1, m1) in zip(pts, pts[1:], strict=False):
        if min(g0, g1) <= target <= max(g0, g1):
            lam = _interp(g0, l0, g1, l1, target) if l0 > 0 and l1 > 0 else math.nan
            return _interp(g0, m0, g1, m1, target), lam
    return math.nan, math.nan


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
