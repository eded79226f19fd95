"""Say how much symmetry violation you tolerate, not how much λ: a violation budget.

:class:`ViolationBudget` wraps a penalty ``Γ`` (:class:`~liesoft.GSEAL`,
:class:`~liesoft.DeltaSEAL` or any module with the same call) and finds the weight λ of
``loss = task + λ·Γ`` while training, as the Lagrange multiplier of

    minimise task(θ)   subject to   E[Γ(θ)] ≤ target,

by multiplicative dual ascent on an exponential moving average ``Γ̄`` of the penalty:

    Γ̄ ← ρ·Γ̄ + (1 − ρ)·Γ                       (Γ̄ = Γ at the first update)
    λ ← clamp(λ · exp(η · clamp(ln(Γ̄ / target), −c, c)), lam_min, lam_max)

``ln λ`` moves up while the smoothed penalty is above the target and down while it is below; its
fixed points are ``Γ̄ = target`` (active constraint) and ``λ = lam_min`` (inactive constraint:
the target is met without the penalty). See ``docs/budget.md`` for the choice of defaults and
for what a target means in physical units.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable

import torch

__all__ = ["ViolationBudget"]

# the state, carried by the buffers "_lam", "_ema", ... in state_dict()
STATE = {"lam": torch.float64, "ema": torch.float64, "last": torch.float64,
         "steps": torch.int64, "skipped": torch.int64}


def _positive_number(value, name: str, *, allow_zero: bool = False, upper: float | None = None,
                     upper_open: bool = False) -> float:
    """A finite real number (not a bool) in the given range, as a float; else a clear error."""
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_complex():
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    low_ok = value >= 0 if allow_zero else value > 0
    high_ok = upper is None or (value < upper if upper_open else value <= upper)
    if not (math.isfinite(value) and low_ok and high_ok):
        low = "[0" if allow_zero else "(0"
        high = "inf)" if upper is None else (f"{upper:g})" if upper_open else f"{upper:g}]")
        raise ValueError(f"{name} must be a finite number in {low}, {high}, got {value!r}")
    return value


class ViolationBudget(torch.nn.Module):
    """``λ·Γ`` with λ set while training so that the penalty ``Γ`` settles at ``target``.

    Example::

        budget = ViolationBudget(GSEAL(Lorentz(), Vector4()), target=2.5e-3)
        fx = model(x)
        loss = task(fx, y) + budget(model, x, fx=fx)   # λ·Γ, differentiable in the model
        print(budget.lam, budget.value, budget.ema)    # for logging

    Each call evaluates ``Γ = penalty(f, x, *args, **kwargs)`` and returns ``λ·Γ`` with the λ
    held *before* the call (a constant: no gradient flows into λ). Then, in training only, it
    makes one dual-ascent step on the smoothed penalty (module docstring): ``λ`` grows while
    ``Γ̄ > target`` and shrinks while ``Γ̄ < target``, by at most a factor ``exp(rate·clip)``
    per call. A penalty called with ``return_output=True`` (δSEAL) returns ``(value, fx)``; the
    budget then returns ``(λ·value, fx)``.

    Args:
        penalty: the penalty module (or any callable ``penalty(f, x, *args, **kwargs)``
            returning a 0-dim floating-point tensor).
        target: the tolerated value of ``Γ`` in the penalty's own units (for GSEAL, the mean
            squared output change under the sampler's transformations; ``docs/budget.md``).
        rate: η, the step of ``ln λ`` per call per unit of ``ln(Γ̄ / target)``. Default 0.02:
            ``λ`` can move by ``e^20`` in 1000 steps (no oscillation in the tests, the doc
            example or the toy regression; early in training λ can overshoot, docs/budget.md).
        ema_decay: ρ, the decay of the moving average of ``Γ`` (0 = no smoothing). Default 0.9: a
            memory of ~10 calls, enough to average a Monte-Carlo penalty (GSEAL's random
            boosts) without adding a long delay to the feedback loop.
        lam_init: λ before the first call. Default 1: the paper's GSEAL value; the rule is
            multiplicative, so the scale is found from here in ``|ln(λ*/lam_init)| / rate``
            calls at best.
        lam_min, lam_max: the floor and cap of λ (multiplicative updates cannot reach 0).
            Defaults 1e-6 and 1e6: the paper's λ range (1e-4 … 1e3) with room on each side.
            An inactive constraint (target met without the penalty) drives λ to ``lam_min``.
        clip: c, the largest ``|ln(Γ̄ / target)|`` that enters one step (default 1): a
            penalty 1000× over target moves ``ln λ`` by ``rate``, not ``7·rate``; ``Γ̄ = 0``
            moves it by ``-rate``.
        sync: all-reduce (mean) ``Γ`` over the ``torch.distributed`` process group before the
            update, so every rank holds the same λ. ``None`` (default): when the default
            process group is initialised.

    State (buffers ``_lam``, ``_ema``, ``_steps``, ``_skipped``, ``_last``, carried by
    ``state_dict()``, so a resumed run continues exactly), readable as ``lam``, ``ema`` (Γ̄),
    ``steps`` (updates made), ``skipped`` (updates refused because ``Γ`` was not finite) and
    ``value`` (the last ``Γ``, reduced over ranks when it entered an update). No update
    happens in ``eval()`` mode, when ``f`` is a module in ``eval()`` mode, or with gradients
    disabled (``torch.no_grad()``); such calls still return ``λ·Γ`` and record ``value``.
    A non-finite ``Γ`` never enters λ or the average: its update is skipped with a warning and
    counted in ``skipped``. Gradient accumulation over ``k`` calls makes ``k`` updates.
    """

    def __init__(self, penalty: Callable, target: float, *, rate: float = 0.02,
                 ema_decay: float = 0.9, lam_init: float = 1.0, lam_min: float = 1e-6,
                 lam_max: float = 1e6, clip: float = 1.0, sync: bool | None = None):
        super().__init__()
        if isinstance(penalty, ViolationBudget):
            raise TypeError("penalty must be a penalty (GSEAL, DeltaSEAL, ...), got a "
                            "ViolationBudget: wrap the penalty itself")
        if isinstance(penalty, type):
            raise TypeError(f"penalty must be a penalty instance, e.g. GSEAL(Lorentz(), "
                            f"Vector4()), got the class {penalty.__name__}")
        if not callable(penalty):
            raise TypeError("penalty must be callable as penalty(f, x, ...) returning a 0-dim "
                            f"tensor (GSEAL, DeltaSEAL or an nn.Module), got "
                            f"{type(penalty).__name__}")
        self.target = _positive_number(target, "target")
        self.rate = _positive_number(rate, "rate")
        self.ema_decay = _positive_number(ema_decay, "ema_decay", allow_zero=True, upper=1.0,
                                          upper_open=True)
        self.lam_min = _positive_number(lam_min, "lam_min")
        self.lam_max = _positive_number(lam_max, "lam_max")
        lam_init = _positive_number(lam_init, "lam_init")
        self.clip = _positive_number(clip, "clip")
        if not self.lam_min <= lam_init <= self.lam_max:
            raise ValueError(f"need lam_min <= lam_init <= lam_max, got {self.lam_min:g}, "
                             f"{lam_init:g}, {self.lam_max:g}")
        if sync is not None and not isinstance(sync, bool):
            raise TypeError(f"sync must be None, True or False, got {sync!r}")
        self.sync = sync
        if isinstance(penalty, torch.nn.Module):
            self.penalty = penalty
        else:
            self._penalty_fn = penalty
        # The state lives in Python numbers (no tensor op per training step); the buffers carry
        # it in state_dict() and are written just before saving and read just after loading.
        self._state = {"lam": lam_init, "ema": math.nan, "last": math.nan, "steps": 0,
                       "skipped": 0}
        for name, dtype in STATE.items():
            self.register_buffer(f"_{name}", torch.tensor(self._state[name], dtype=dtype))

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        for name in STATE:
            getattr(self, f"_{name}").fill_(self._state[name])
        super()._save_to_state_dict(destination, prefix, keep_vars)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        for name, dtype in STATE.items():
            value = getattr(self, f"_{name}").item()
            self._state[name] = int(value) if dtype == torch.int64 else float(value)

    # ------------------------------------------------------------------ readable state
    @property
    def lam(self) -> float:
        """The current λ (the one the next call applies)."""
        return self._state["lam"]

    @property
    def value(self) -> float:
        """The last ``Γ`` (``nan`` before the first call)."""
        return self._state["last"]

    @property
    def ema(self) -> float:
        """The moving average ``Γ̄`` (``nan`` before the first update)."""
        return self._state["ema"]

    @property
    def steps(self) -> int:
        """How many updates of λ were made."""
        return self._state["steps"]

    @property
    def skipped(self) -> int:
        """How many updates were skipped because ``Γ`` was not finite."""
        return self._state["skipped"]

    @property
    def wrapped(self) -> Callable:
        """The wrapped penalty."""
        return self.penalty if "penalty" in self._modules else self._penalty_fn

    def extra_repr(self) -> str:
        return (f"target={self.target:g}, rate={self.rate:g}, ema_decay={self.ema_decay:g}, "
                f"lam={self.lam:.4g} in [{self.lam_min:g}, {self.lam_max:g}], clip={self.clip:g}")

    # ------------------------------------------------------------------ the call
    def forward(self, f: Callable, *args, **kwargs):
        """``λ·Γ`` for ``Γ = penalty(f, *args, **kwargs)`` (usually ``(f, x, *extra)``)."""
        out = self.wrapped(f, *args, **kwargs)
        value, rest = (out[0], out[1:]) if isinstance(out, tuple) else (out, None)
        if not (isinstance(value, torch.Tensor) and value.ndim == 0
                and value.is_floating_point()):
            got = (f"a tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
                   if isinstance(value, torch.Tensor) else type(value).__name__)
            raise TypeError("the wrapped penalty must return a 0-dim floating-point tensor "
                            f"(or (value, fx) with return_output=True), got {got}")
        weighted = value * self.lam      # a Python float: a constant, in the penalty's dtype
        update = (self.training and torch.is_grad_enabled()
                  and getattr(f, "training", True) is not False)
        self._observe(value.detach(), update)
        return (weighted, *rest) if rest is not None else weighted

    def _synced(self) -> bool:
        if self.sync is not None:
            return self.sync
        dist = torch.distributed
        return dist.is_available() and dist.is_initialized()

    def _observe(self, value: torch.Tensor, update: bool) -> None:
        """Record ``Γ`` and, if ``update``, make one dual-ascent step on λ."""
        state = self._state
        if update and self._synced():
            dist = torch.distributed
            g = value.to(torch.float64, copy=True)
            dist.all_reduce(g)
            gamma = float(g) / dist.get_world_size()
        else:
            gamma = float(value)
        state["last"] = gamma
        if not update:
            return
        if not math.isfinite(gamma):
            state["skipped"] += 1
            warnings.warn(f"ViolationBudget: the penalty is {gamma}; λ update skipped "
                          f"({state['skipped']} so far), λ stays {state['lam']:.4g}",
                          RuntimeWarning, stacklevel=3)
            return
        rho = self.ema_decay
        ema = gamma if state["steps"] == 0 else rho * state["ema"] + (1 - rho) * gamma
        state["ema"] = ema
        state["lam"] = self.next_lam(state["lam"], ema)
        state["steps"] += 1

    def next_lam(self, lam: float, ema: float) -> float:
        """The update rule: ``clamp(lam · exp(rate · clamp(ln(ema / target), ±clip)))``."""
        ratio = ema / self.target
        log_ratio = -self.clip if ratio <= 0 else max(-self.clip, min(self.clip,
                                                                       math.log(ratio)))
        return min(self.lam_max, max(self.lam_min, lam * math.exp(self.rate * log_ratio)))
