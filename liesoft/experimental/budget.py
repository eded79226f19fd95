"""Say how much symmetry violation you tolerate, not how much λ: a violation budget (experimental).

Experimental: it does not land the trained model on its target (measured, docs/budget.md); to
land, use :func:`liesoft.find_lambda` with :func:`liesoft.measure_violation`.

:class:`ViolationBudget` wraps a penalty ``Γ`` (:class:`~liesoft.GSEAL`,
:class:`~liesoft.DeltaSEAL` or any module with the same call) and finds the weight λ of
``loss = task + λ·Γ`` while training, as the Lagrange multiplier of

    minimise task(θ_end)   subject to   Γ(θ_end) ≤ target,

the violation of the model at the *end* of training. It does multiplicative dual ascent on an
exponential moving average ``Γ̄`` of the penalty against a target that follows the learning
rate when the optimizer is given:

    Γ̄ ← ρ·Γ̄ + (1 − ρ)·Γ                       (Γ̄ = Γ at the first update)
    target_t = target · (1 + slack · lr_t / lr_ref)      (once the learning rate has decayed;
                                                          = target without an optimizer)
    λ ← clamp(λ · exp(η · clamp(ln(Γ̄ / target_t), −c, c)), lam_min, lam_max)

While the learning rate is high the model is noisier and its running Γ sits above the Γ it ends
with once the rate has decayed; the looser running target moves the *final* Γ towards
``target`` where the rule without it ends well below (on a shrunk toy, ``docs/budget.md``).
Without an optimizer, or while the learning rate has never fallen below its reference,
``target_t = target``.

Measured against the fixed-λ front (docs/budget.md, 3 seeds), this rule does **not** land the
trained model on the target on the full toy regression nor on the top tagger: the final Γ
depends on the whole path of λ, and the running Γ of a model still learning its task says
little about the Γ it ends with. To land, use :func:`liesoft.find_lambda` (a few fixed-λ
trainings steered by the trained model's held-out Γ); the budget steers within one training.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable

import torch

from .._checks import positive_number as _positive_number

__all__ = ["ViolationBudget"]

# the scalar state, carried by the buffers "_lam", "_ema", ... in state_dict()
STATE = {"lam": torch.float64, "ema": torch.float64, "last": torch.float64,
         "steps": torch.int64, "skipped": torch.int64,
         "best": torch.float64,        # the smallest Γ̄ since Γ̄ first rose above the target
         "armed": torch.int64,         # 1 once Γ̄ has been above the running target
         "stall_ref": torch.float64,   # Γ̄ at the start of the current stall window
         "stall_n": torch.int64,       # updates in the stall window (Γ̄ above target, not halving)
         "infeasible": torch.int64,    # 1 while the budget judges the target out of reach
         "warned": torch.int64,        # 1 once the infeasibility warning was given
         "decayed": torch.int64}       # 1 once the learning rate fell below its reference
DEFAULTS = {"lam": 1.0, "ema": math.nan, "last": math.nan, "steps": 0, "skipped": 0,
            "best": math.nan, "armed": 0, "stall_ref": math.nan, "stall_n": 0, "infeasible": 0,
            "warned": 0, "decayed": 0}
STALL_MARGIN = 1.5      # Γ̄ counts as "above the target" for the stall watch beyond this factor
FLOOR_RTOL = 1e-9       # λ "at its floor / ceiling": within this relative distance


def _state_property(key: str, doc: str) -> property:
    """A read-only view of one entry of the budget's scalar state."""
    return property(lambda self: self._state[key], doc=doc)


def _group_lr(group: dict, i: int) -> float:
    lr = group.get("lr")
    if type(lr) is float and 0.0 <= lr < math.inf:     # the common case, fast
        return lr
    if isinstance(lr, torch.Tensor) and lr.numel() == 1:
        lr = lr.item()
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not math.isfinite(lr) \
            or lr < 0:
        raise ValueError(f"ViolationBudget reads the learning rate of the optimizer's param "
                         f"group {i}: expected a finite number >= 0, got {lr!r}")
    return float(lr)


class ViolationBudget(torch.nn.Module):
    """``λ·Γ`` with λ set while training so that the trained model's ``Γ`` ends at ``target``.

    Example::

        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
        budget = ViolationBudget(GSEAL(Lorentz(), Vector4()), target=2.5e-3, optimizer=opt)
        fx = model(x)
        loss = task(fx, y) + budget(model, x, fx=fx)   # λ·Γ, differentiable in the model
        print(budget.lam, budget.value, budget.ema, budget.status)    # for logging

    Each call evaluates ``Γ = penalty(f, x, *args, **kwargs)`` and returns ``λ·Γ`` with the λ
    held *before* the call (a constant: no gradient flows into λ). Then, in training only, it
    makes one dual-ascent step on the smoothed penalty (module docstring): ``λ`` grows while
    ``Γ̄ > target_t`` and shrinks while ``Γ̄ < target_t``, by at most a factor
    ``exp(rate·clip)`` per call. A penalty called with ``return_output=True`` (δSEAL) returns
    ``(value, fx)``; the budget then returns ``(λ·value, fx)``.

    **The schedule** (``optimizer`` given): at every update the budget reads the learning rate
    of each of the optimizer's param groups, ``lr_t``, against its reference ``lr_ref`` (the
    largest rate that group has had so far: the initial rate, or the peak after a warm-up), so
    any ``torch.optim.lr_scheduler`` (or a hand-set ``group["lr"]``) drives it. Once some
    group's rate has fallen below its reference (the schedule has begun to decay), the running
    target is ``target · (1 + slack · r_t)`` with ``r_t`` the *largest* ratio
    ``lr_t / lr_ref`` over the groups with ``lr_ref > 0`` (the model stays noisy while any
    group still learns fast; groups that never had a positive rate are ignored). Under a
    constant rate the ratio never falls and ``target_t = target`` (today's rule); as a decaying
    rate reaches 0, ``target_t → target``. Groups added later (``add_param_group``) get their
    own reference.

    Args:
        penalty: the penalty module (or any callable ``penalty(f, x, *args, **kwargs)``
            returning a 0-dim floating-point tensor).
        target: the tolerated value of ``Γ`` in the penalty's own units (for GSEAL, the mean
            squared output change under the sampler's transformations; ``docs/budget.md``).
        optimizer: the ``torch.optim.Optimizer`` training the model, or ``None`` (the target
            is then constant: the running ``Γ̄`` is held at ``target``).
        slack: A, how much the running target is loosened per unit ``lr_t / lr_ref`` once the
            rate decays. Default 2 (measured on the toy regression, ``docs/budget.md``).
        rate: η, the step of ``ln λ`` per call per unit of ``ln(Γ̄ / target_t)``. Default 0.02.
        ema_decay: ρ, the decay of the moving average of ``Γ`` (0 = no smoothing). Default 0.9.
        lam_init: λ before the first call. Default 1.
        lam_min, lam_max: the floor and cap of λ. Defaults 1e-6 and 1e6.
        clip: c, the largest ``|ln(Γ̄ / target_t)|`` that enters one step (default 1).
        patience: after this many consecutive updates with ``Γ̄ > 1.5·target_t`` in which
            ``Γ̄`` did not halve, the target is judged out of reach (default 500: in the toy
            study the longest such stall of a target met in the end was 380 updates); so is
            ``λ`` at
            ``lam_max`` with ``Γ̄ > target_t``. Then one ``RuntimeWarning`` is given (once per
            budget) naming the smallest ``Γ̄`` reached, and ``infeasible`` is True until
            ``Γ̄ ≤ 1.5·target_t`` again.
        sync: all-reduce (mean) ``Γ`` over the ``torch.distributed`` process group before the
            update, so every rank holds the same λ. ``None`` (default): when the default
            process group is initialised.

    State (buffers carried by ``state_dict()``, so a resumed run continues exactly; pass the
    resumed optimizer as ``optimizer=`` and load the budget's state: the learning-rate
    references travel in ``_lr_ref``), readable as ``lam``, ``ema`` (Γ̄), ``steps`` (updates
    made), ``skipped`` (updates refused because ``Γ`` was not finite), ``value`` (the last
    ``Γ``, reduced over ranks when it entered an update), ``best`` (the smallest Γ̄ reached since
    Γ̄ first rose above the running target),
    ``target_now`` (``target_t``), ``infeasible``, ``inactive`` (λ at its floor with
    ``Γ̄ ≤ target_t``: the target is met without the penalty) and ``status``. No update happens
    in ``eval()`` mode, when ``f`` is a module in ``eval()`` mode, or with gradients disabled;
    such calls still return ``λ·Γ`` and record ``value``. A non-finite ``Γ`` never enters λ or
    the average: its update is skipped with a warning and counted in ``skipped``. Gradient
    accumulation over ``k`` calls makes ``k`` updates.
    """

    def __init__(self, penalty: Callable, target: float, *, optimizer=None, slack: float = 2.0,
                 rate: float = 0.02, ema_decay: float = 0.9, lam_init: float = 1.0,
                 lam_min: float = 1e-6, lam_max: float = 1e6, clip: float = 1.0,
                 patience: int = 500, sync: bool | None = None):
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
        self.slack = _positive_number(slack, "slack", allow_zero=True)
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
        if isinstance(patience, bool) or not isinstance(patience, numbers.Integral) \
                or patience < 1:
            raise ValueError(f"patience must be an integer >= 1 (updates), got {patience!r}")
        self.patience = int(patience)
        if sync is not None and not isinstance(sync, bool):
            raise TypeError(f"sync must be None, True or False, got {sync!r}")
        self.sync = sync
        if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError("optimizer must be a torch.optim.Optimizer (the one training the "
                            f"model) or None, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        if isinstance(penalty, torch.nn.Module):
            self.penalty = penalty
        else:
            self._penalty_fn = penalty
        # The state lives in Python numbers (no tensor op per training step); the buffers carry
        # it in state_dict() and are written just before saving and read just after loading.
        self._state = dict(DEFAULTS, lam=lam_init)
        for name, dtype in STATE.items():
            self.register_buffer(f"_{name}", torch.tensor(self._state[name], dtype=dtype))
        # one reference learning rate per param group (the largest seen so far)
        self._lr_refs = ([] if optimizer is None else
                         [_group_lr(g, i) for i, g in enumerate(optimizer.param_groups)])
        self.register_buffer("_lr_ref", torch.tensor(self._lr_refs, dtype=torch.float64))

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        for name in STATE:
            getattr(self, f"_{name}").fill_(self._state[name])
        self._lr_ref = torch.tensor(self._lr_refs, dtype=torch.float64,
                                    device=self._lr_ref.device)
        super()._save_to_state_dict(destination, prefix, keep_vars)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        state_dict = dict(state_dict)    # never change the caller's dict
        refs = state_dict.get(prefix + "_lr_ref")
        if refs is not None:
            refs = torch.as_tensor(refs)
            if (self.optimizer is None) != (refs.numel() == 0):
                raise ValueError(
                    "ViolationBudget.load_state_dict: the saved budget "
                    + ("followed an optimizer's learning rate (_lr_ref has "
                       f"{refs.numel()} groups) but this one has optimizer=None; pass the "
                       "resumed optimizer as ViolationBudget(..., optimizer=opt)"
                       if refs.numel() else
                       "had no optimizer but this one has optimizer=...; build it without one")
                    + " to resume the same rule")
            self._lr_ref = torch.empty_like(refs, dtype=torch.float64)
        else:   # a checkpoint written before the schedule existed: keep the current references
            state_dict[prefix + "_lr_ref"] = self._lr_ref.clone()
        for name in STATE:   # older checkpoints lack the newer fields: start them afresh
            key = f"{prefix}_{name}"
            if key not in state_dict:
                state_dict[key] = torch.tensor(DEFAULTS[name], dtype=STATE[name])
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        for name, dtype in STATE.items():
            value = getattr(self, f"_{name}").item()
            self._state[name] = int(value) if dtype == torch.int64 else float(value)
        self._lr_refs = [float(v) for v in self._lr_ref.tolist()]

    # ------------------------------------------------------------------ readable state
    lam = _state_property("lam", "The current λ (the one the next call applies).")
    value = _state_property("last", "The last ``Γ`` (``nan`` before the first call).")
    ema = _state_property("ema", "The moving average ``Γ̄`` (``nan`` before the first update).")
    steps = _state_property("steps", "How many updates of λ were made.")
    skipped = _state_property("skipped", "How many updates were skipped because ``Γ`` was not "
                              "finite.")
    best = _state_property("best", "The smallest ``Γ̄`` reached since ``Γ̄`` first rose above "
                           "the running target (``nan`` until then: an untrained model's tiny Γ "
                           "says nothing about what training can reach).")

    @property
    def infeasible(self) -> bool:
        """True while the target is judged out of reach (``patience``, ``lam_max``)."""
        return bool(self._state["infeasible"])

    @property
    def inactive(self) -> bool:
        """True when the target is met without the penalty: λ at ``lam_min``, ``Γ̄ ≤ target_t``."""
        s = self._state
        return (s["steps"] > 0 and s["lam"] <= self.lam_min * (1 + FLOOR_RTOL)
                and s["ema"] <= self.target_now)

    @property
    def status(self) -> str:
        """``"starting"`` (no update yet), ``"infeasible"``, ``"inactive"`` or ``"active"``."""
        if self.steps == 0:
            return "starting"
        return "infeasible" if self.infeasible else "inactive" if self.inactive else "active"

    @property
    def lr_ratio(self) -> float:
        """``r_t``: the largest ``lr_t / lr_ref`` over the optimizer's groups (1 without one)."""
        if self.optimizer is None:
            return 1.0
        ratios = []
        for i, group in enumerate(self.optimizer.param_groups):
            lr = _group_lr(group, i)
            ref = self._lr_refs[i] if i < len(self._lr_refs) else lr   # added since: its peak
            if ref > 0:
                ratios.append(lr / ref)
        return max(ratios) if ratios else 1.0

    @property
    def target_now(self) -> float:
        """``target_t``, the running target the next update holds ``Γ̄`` against."""
        if self.optimizer is None or not self._state["decayed"]:
            return self.target
        return self.target * self.target_factor(self.lr_ratio)

    def target_factor(self, ratio: float) -> float:
        """``target_t / target`` at the learning-rate ratio ``ratio``: ``1 + slack·ratio``."""
        return 1.0 + self.slack * ratio

    @property
    def wrapped(self) -> Callable:
        """The wrapped penalty."""
        return self.penalty if "penalty" in self._modules else self._penalty_fn

    def extra_repr(self) -> str:
        sched = (f", optimizer={type(self.optimizer).__name__}, slack={self.slack:g}"
                 if self.optimizer is not None else "")
        return (f"target={self.target:g}{sched}, rate={self.rate:g}, "
                f"ema_decay={self.ema_decay:g}, lam={self.lam:.4g} in [{self.lam_min:g}, "
                f"{self.lam_max:g}], clip={self.clip:g}")

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

    def _read_lr(self) -> None:
        """Update the per-group references (largest rate seen) and the 'decayed' flag."""
        refs, state = self._lr_refs, self._state
        for i, group in enumerate(self.optimizer.param_groups):
            lr = _group_lr(group, i)
            if i >= len(refs):
                refs.append(lr)
            elif lr > refs[i]:
                refs[i] = lr
            elif lr < refs[i]:
                state["decayed"] = 1

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
                          RuntimeWarning, stacklevel=5)
            return
        if self.optimizer is not None:
            self._read_lr()
        rho = self.ema_decay
        ema = gamma if state["steps"] == 0 else rho * state["ema"] + (1 - rho) * gamma
        state["ema"] = ema
        target = self.target_now
        # the smallest Γ̄ counts from the first time Γ̄ is above the running target: an untrained
        # model's Γ is often far below any target (a near-constant output) and says nothing
        # about what the trained model can reach
        if ema > target:
            state["armed"] = 1
        if state["armed"]:
            state["best"] = ema if not ema >= state["best"] else state["best"]
        state["lam"] = self.next_lam(state["lam"], ema, target)
        state["steps"] += 1
        self._watch(ema, target)

    def _watch(self, ema: float, target: float) -> None:
        """The infeasibility watch: a stall window that restarts whenever Γ̄ halves."""
        state = self._state
        if ema <= STALL_MARGIN * target:   # at (or near) the target: no stall
            state.update(stall_n=0, stall_ref=math.nan, infeasible=0)
            return
        if state["stall_n"] == 0 or ema <= 0.5 * state["stall_ref"]:
            state.update(stall_n=1, stall_ref=ema)
        else:
            state["stall_n"] += 1
        capped = state["lam"] >= self.lam_max * (1 - FLOOR_RTOL)
        if not (capped or state["stall_n"] >= self.patience):
            return
        state["infeasible"] = 1
        if state["warned"]:
            return
        state["warned"] = 1
        why = (f"λ is at its cap lam_max = {self.lam_max:g}" if capped else
               f"Γ̄ stayed above the target and did not halve for {state['stall_n']} updates "
               f"while λ rose to {state['lam']:.4g}")
        warnings.warn(
            f"ViolationBudget: the target {self.target:g} looks out of reach: {why}; "
            f"Γ̄ = {ema:.4g} ({ema / target:.3g}× the running target {target:.4g}), the "
            f"smallest Γ̄ reached is {state['best']:.4g}. The model may be unable to meet this "
            "violation (or only at a large cost in the task loss): loosen the target, or check "
            "the penalty's units (docs/budget.md). budget.infeasible and budget.best say it "
            "too.", RuntimeWarning, stacklevel=6)

    def error(self, ema: float, target: float | None = None) -> float:
        """The error the rule steps by: ``clamp(ln(ema / target), ±clip)`` (``−clip`` for
        ``ema ≤ 0``; ``target`` defaults to the constant ``self.target``)."""
        ratio = ema / (self.target if target is None else target)
        return -self.clip if ratio <= 0 else max(-self.clip, min(self.clip, math.log(ratio)))

    def next_lam(self, lam: float, ema: float, target: float | None = None) -> float:
        """The update rule: ``clamp(lam · exp(rate · error(ema, target)), lam_min, lam_max)``
        (``target`` defaults to the constant ``self.target``)."""
        return min(self.lam_max, max(self.lam_min,
                                     lam * math.exp(self.rate * self.error(ema, target))))
