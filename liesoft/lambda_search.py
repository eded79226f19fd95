"""Land a trained model on a violation target: the fixed λ whose *final* Γ is ``target``.

:func:`find_lambda` searches λ across whole trainings: the user's ``train(lam)`` trains a model
with ``loss = task + lam·Γ`` at a fixed ``lam`` and returns the trained model's Γ measured the
way the user judges it (held-out data, the penalty's own sampler, ``eval()``). The final Γ of a
training falls with λ roughly as a power law, so the search works in ``x = ln λ``,
``y = ln(Γ_final / target)``:

* one side known (every trial above, or every trial below the target): a Newton step with the
  slope of the two trials nearest the target on that side (``slope`` until there are two),
  at most a factor ``max_step`` in λ;
* the target bracketed: the secant between the bracketing trials nearest to each other
  (regula falsi in ln λ), kept inside the bracket's middle 80 %;

until ``Γ_final`` lies within a factor ``1 + rtol`` of the target. The model of the chosen
training *is* the result (``LambdaSearch.payload``): no retraining.

Why across trainings and not inside one (``ViolationBudget``): a trained model's Γ depends on
the whole path of λ — a model pushed to invariance early stays there when λ later falls, and
the running Γ of a model that is still learning its task says little about the Γ it ends with.
Eleven in-training rules were measured against the fixed-λ front on the full toy regression and
the tagger; none lands (docs/budget.md). A search costs a few trainings (3.7 on average on the
full toy, 2.7 and 3.7 on the tagger, measured there), each an ordinary fixed-λ training.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from ._checks import positive_number as _positive_number

__all__ = ["find_lambda", "LambdaSearch", "Trial"]

STATUSES = ("landed", "inactive", "infeasible", "unconverged")
_MIN_SLOPE = 0.05       # |d ln Γ / d ln λ| below this: Γ does not answer λ there
_KEEP_INSIDE = 0.1      # a bracketed step stays this fraction of the bracket away from its ends


@dataclass(frozen=True)
class Trial:
    """One training of the search: its λ, its final Γ and what ``train`` returned beside Γ;
    ``trained`` is False for a training passed in ``known`` (done before the search)."""

    lam: float
    gamma: float
    payload: Any = field(default=None, repr=False, compare=False)
    trained: bool = True


@dataclass(frozen=True)
class LambdaSearch:
    """The result of :func:`find_lambda`.

    ``lam``/``gamma``/``payload``: the chosen training (the one that landed; else the one
    nearest the target in ln Γ, or for ``"infeasible"`` the smallest Γ reached). ``status``:

    * ``"landed"``      Γ_final within a factor ``1 + rtol`` of the target;
    * ``"inactive"``    Γ_final ≤ target already at ``lam_min``: the target needs no penalty;
    * ``"infeasible"``  Γ_final > target still at ``lam_max`` (a warning names the smallest Γ);
    * ``"unconverged"`` ``max_trainings`` spent, or Γ jumps across the target between λs closer
      than the search can resolve (a warning says which).
    """

    target: float
    rtol: float
    status: str
    trials: tuple[Trial, ...]
    chosen: int

    @property
    def lam(self) -> float:
        return self.trials[self.chosen].lam

    @property
    def gamma(self) -> float:
        return self.trials[self.chosen].gamma

    @property
    def payload(self) -> Any:
        return self.trials[self.chosen].payload

    @property
    def ratio(self) -> float:
        """Γ_final / target of the chosen training."""
        return self.gamma / self.target

    @property
    def trainings(self) -> int:
        """How many times the search called ``train`` (the ``known`` trials not counted)."""
        return sum(t.trained for t in self.trials)

    def __str__(self) -> str:
        steps = ", ".join(f"λ={t.lam:.4g}: Γ/target={t.gamma / self.target:.3g}"
                          for t in self.trials)
        return (f"find_lambda: {self.status}, λ={self.lam:.4g}, Γ={self.gamma:.4g} "
                f"({self.ratio:.3g}× the target {self.target:g}) after {self.trainings} "
                f"training(s) [{steps}]")


def _gamma_of(out, lam: float) -> tuple[float, Any]:
    """``train``'s answer -> (Γ, payload); Γ a finite number >= 0, else a clear error."""
    gamma, payload = (out if isinstance(out, tuple) and len(out) == 2 else (out, None))
    if isinstance(gamma, torch.Tensor) and gamma.numel() == 1 and not gamma.is_complex():
        gamma = gamma.item()
    if isinstance(gamma, bool) or not isinstance(gamma, numbers.Real) \
            or not math.isfinite(gamma) or gamma < 0:
        raise ValueError(
            f"find_lambda: train(lam={lam:.6g}) must return the trained model's final Γ, a "
            f"finite number >= 0 (or a pair (Γ, payload)), got {out!r}")
    return float(gamma), payload


def _log_ratio(gamma: float, target: float) -> float:
    return math.log(max(gamma, target * 1e-12) / target)     # Γ = 0: far below, not -inf


def _slope(a: Trial, b: Trial, target: float) -> float:
    return (_log_ratio(a.gamma, target) - _log_ratio(b.gamma, target)) / \
        (math.log(a.lam) - math.log(b.lam))


def _next_log_lam(trials: list[Trial], target: float, slope: float, max_step: float) -> float:
    """ln λ of the next training (unclamped)."""
    high = [t for t in trials if t.gamma > target]     # λ too small
    low = [t for t in trials if t.gamma <= target]     # λ too large (or on the target)
    if high and low:
        lo, hi = max(high, key=lambda t: t.lam), min(low, key=lambda t: t.lam)
        xl, xh = math.log(lo.lam), math.log(hi.lam)
        if xl < xh:     # bracketed: regula falsi in ln λ, kept off the ends
            yl, yh = _log_ratio(lo.gamma, target), _log_ratio(hi.gamma, target)
            x = xl + (xh - xl) * yl / (yl - yh)
            w = _KEEP_INSIDE * (xh - xl)
            return min(max(x, xl + w), xh - w)
        return 0.5 * (xl + xh)      # Γ not monotone in λ over the trials: halve the overlap
    side = high if high else low
    side = sorted(side, key=lambda t: t.lam, reverse=bool(high))   # nearest the target first
    s = slope
    if len(side) >= 2 and side[0].lam != side[1].lam:
        measured = _slope(side[0], side[1], target)
        s = measured if measured < -_MIN_SLOPE else -math.inf   # Γ does not answer: max step
    x0, y0 = math.log(side[0].lam), _log_ratio(side[0].gamma, target)
    step = -y0 / s if math.isfinite(s) else math.copysign(math.inf, -y0 / slope)
    cap = math.log(max_step)
    return x0 + min(max(step, -cap), cap)


def _known_trials(known) -> list[Trial]:
    """``known`` -> trials (not trained by the search); each a :class:`Trial` or a pair
    ``(λ, Γ_final)`` or a triple ``(λ, Γ_final, payload)``, λ > 0, Γ finite >= 0."""
    if isinstance(known, (str, bytes)) or not hasattr(known, "__iter__"):
        raise TypeError(f"find_lambda: known must be an iterable of (λ, Γ_final) pairs, got "
                        f"{type(known).__name__}")
    out = []
    for item in known:
        if isinstance(item, Trial):
            item = (item.lam, item.gamma, item.payload)
        if not isinstance(item, (tuple, list)) or len(item) not in (2, 3):
            raise ValueError(f"find_lambda: each known trial is (λ, Γ_final) or (λ, Γ_final, "
                             f"payload), got {item!r}")
        lam = _positive_number(item[0], "find_lambda: a known trial's λ")
        gamma = _positive_number(item[1], "find_lambda: a known trial's Γ_final", allow_zero=True)
        out.append(Trial(lam, gamma, item[2] if len(item) == 3 else None, trained=False))
    return out


def find_lambda(train: Callable[[float], Any], target: float, *, lam: float = 1.0,
                rtol: float = 0.1, max_trainings: int = 6, lam_min: float = 1e-6,
                lam_max: float = 1e6, slope: float = -0.5, max_step: float = 100.0,
                known=()) -> LambdaSearch:
    """The fixed λ whose trained model ends at ``Γ_final = target`` (within ``1 + rtol``).

    Args:
        train: ``train(lam) -> Γ_final`` or ``(Γ_final, payload)``: train a model at this fixed
            λ and return its final Γ, measured as you judge the model (validation data, the
            penalty's own sampler, ``eval()`` mode). ``payload`` (the model, its metrics, a
            checkpoint path) is kept with the trial and returned with the chosen one.
        target: the violation you accept, > 0, in the units of the Γ ``train`` returns.
        lam: the first λ to train with.
        rtol: landed when ``target/(1 + rtol) <= Γ_final <= target·(1 + rtol)``.
        max_trainings: at most this many calls of ``train``.
        lam_min, lam_max: the range of λ searched; Γ_final ≤ target at ``lam_min`` reports
            ``"inactive"``, Γ_final > target at ``lam_max`` reports ``"infeasible"``.
        slope: the assumed ``d ln Γ_final / d ln λ`` (< 0) until two trials measure it.
        max_step: the largest factor between consecutive λs of one side (> 1).
        known: trainings you already have — a λ scan, an earlier interrupted search — as
            ``(λ, Γ_final)`` pairs, ``(λ, Γ_final, payload)`` triples or :class:`Trial` objects,
            measured the same way. They are trials of the search that cost nothing (not
            counted in ``max_trainings``): one that lands is returned without training,
            otherwise the first λ trained follows from them (``lam`` is used only when
            ``known`` is empty).

    Returns:
        :class:`LambdaSearch` — ``lam``, ``gamma``, ``payload`` of the chosen training,
        ``status``, every ``trials`` entry in the order trained.

    Example::

        def train(lam):
            model = make_model()
            fit(model, loss=lambda x, y: task(model(x), y) + lam * gseal(model, x))
            gamma = liesoft.measure_violation(gseal, model, x_val, draws=8)  # eval, held out
            return gamma.mean, model

        search = liesoft.find_lambda(train, target=0.02, lam=1.0)
        model = search.payload          # trained at search.lam, Γ_final ≈ 0.02
    """
    if not callable(train):
        raise TypeError(f"find_lambda: train must be callable train(lam) -> Γ_final, got "
                        f"{type(train).__name__}")
    target = _positive_number(target, "find_lambda: target")
    rtol = _positive_number(rtol, "find_lambda: rtol")
    lam_min = _positive_number(lam_min, "find_lambda: lam_min")
    lam_max = _positive_number(lam_max, "find_lambda: lam_max")
    if not lam_min < lam_max:
        raise ValueError(f"find_lambda: lam_min must be < lam_max, got {lam_min!r} and "
                         f"{lam_max!r}")
    lam = _positive_number(lam, "find_lambda: lam")
    if not lam_min <= lam <= lam_max:
        raise ValueError(f"find_lambda: lam must be in [lam_min, lam_max] = [{lam_min:g}, "
                         f"{lam_max:g}], got {lam!r}")
    if isinstance(max_trainings, bool) or not isinstance(max_trainings, numbers.Integral) \
            or max_trainings < 1:
        raise ValueError(f"find_lambda: max_trainings must be an integer >= 1, got "
                         f"{max_trainings!r}")
    if isinstance(slope, bool) or not isinstance(slope, numbers.Real) \
            or not (math.isfinite(slope) and slope < 0):
        raise ValueError(f"find_lambda: slope must be a finite number < 0 (Γ falls as λ "
                         f"grows), got {slope!r}")
    max_step = _positive_number(max_step, "find_lambda: max_step")
    if max_step <= 1:
        raise ValueError(f"find_lambda: max_step must be > 1, got {max_step!r}")

    band = math.log1p(rtol)
    trials: list[Trial] = _known_trials(known)

    def result(status: str, chosen: int, message: str | None = None) -> LambdaSearch:
        return LambdaSearch(target, rtol, status, tuple(trials), chosen), message

    def nearest() -> int:
        return min(range(len(trials)),
                   key=lambda i: abs(_log_ratio(trials[i].gamma, target)))

    def verdict(i: int):
        """(the search's end, its warning) if trial i ends it, else None."""
        t = trials[i]
        if abs(_log_ratio(t.gamma, target)) <= band:
            return result("landed", i)
        if t.gamma > target and t.lam >= lam_max:
            best = min(range(len(trials)), key=lambda j: trials[j].gamma)
            return result("infeasible", best,
                          f"find_lambda: the target Γ={target:g} is out of reach up to "
                          f"lam_max={lam_max:g}; smallest Γ reached {trials[best].gamma:.4g} "
                          f"at λ={trials[best].lam:.4g}.")
        if t.gamma <= target and t.lam <= lam_min:
            return result("inactive", i)
        return None

    def search():
        """The trials until one ends the search: (LambdaSearch, warning or None)."""
        for i in range(len(trials)):          # the known trials first: one may end the search
            done = verdict(i)
            if done is not None:
                return done
        lam_next = lam
        while True:
            if trials:                         # the next λ from every trial so far
                x = _next_log_lam(trials, target, slope, max_step)
                lam_next = min(max(math.exp(x), lam_min), lam_max)
                if any(math.isclose(lam_next, t.lam, rel_tol=1e-6) for t in trials):
                    return result("unconverged", nearest(),
                                  "find_lambda: Γ_final jumps across the target between λs "
                                  "closer than 1e-6 (noisy training?); keeping the nearest.")
            gamma, payload = _gamma_of(train(lam_next), lam_next)
            trials.append(Trial(lam_next, gamma, payload))
            done = verdict(len(trials) - 1)
            if done is not None:
                return done
            if sum(t.trained for t in trials) >= max_trainings:
                return result("unconverged", nearest(),
                              f"find_lambda: no λ landed within rtol={rtol:g} in "
                              f"max_trainings={max_trainings}; keeping the nearest.")

    out, message = search()
    if message:
        warnings.warn(f"{message} {out}", RuntimeWarning, stacklevel=2)
    return out
