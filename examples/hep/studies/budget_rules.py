"""The violation-budget rules the toy's ``--budget`` study can run side by side (docs/budget.md):
the library's rule following the optimizer's learning rate (``lr``, ``ViolationBudget``'s
default), the rule without schedule (``constant``), and the alternatives measured against them
on the full toy. Each entry builds the budget of one cell: ``RULES[name](penalty, target, opt)``.

* ``slow``     the default with a four times smaller rate (η = 0.005);
* ``clip0.25`` the default with the step clipped at |ln(Γ̄/target_t)| ≤ 0.25 (slower far from
               the target, unchanged near it);
* ``slack6``   the running target ``target·(1 + 6·r_t)`` (A = 6 instead of 2);
* ``sq4``, ``sq6`` ``target·(1 + A·r_t²)``, A = 4, 6 (Adam's weight jitter ∝ the rate, Γ
               quadratic in it);
* ``pi``       proportional-integral in ln λ (as nuPI, Sohrabi et al. 2024):
               ``ln λ = ln λ_I + κ·e_t``, ``ln λ_I += η·e_t``, κ = 1, η = 0.005;
* ``rate-lr``, ``rate-lr2`` the step scaled by ``1 − r_t`` (λ barely moves while the rate is
               high) against the constant target and against ``target·(1 + 2·r_t)``.

* ``hold0.9`` the default, but λ held at its initial value until the learning rate has fallen
               below 0.9 of its peak (the running Γ of a model that is still learning the task
               says little about the Γ it ends with).

``r_t`` is the learning-rate ratio ``lr_t / lr_ref`` the budget reads from the optimizer and
``e_t = clamp(ln(Γ̄ / target_t), ±clip)`` (``ViolationBudget.error``).
"""

from __future__ import annotations

import math

from liesoft.experimental import ViolationBudget


class PowerSchedule(ViolationBudget):
    """The running target ``target·(1 + slack·r_t^power)``."""

    def __init__(self, *args, power: float = 2.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.power = power

    def target_factor(self, ratio: float) -> float:
        return 1.0 + self.slack * ratio ** self.power


class ProportionalIntegral(ViolationBudget):
    """``ln λ = ln λ_I + kappa·e_t`` with ``ln λ_I`` integrating ``rate·e_t`` (bounded)."""

    def __init__(self, *args, kappa: float = 1.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.kappa = kappa
        self.log_integral = math.log(self.lam)

    def next_lam(self, lam, ema, target=None):
        e = self.error(ema, target)
        lo, hi = math.log(self.lam_min), math.log(self.lam_max)
        self.log_integral = min(hi, max(lo, self.log_integral + self.rate * e))
        return min(self.lam_max, max(self.lam_min, math.exp(self.log_integral + self.kappa * e)))


class RateFollowsSchedule(ViolationBudget):
    """The step of ln λ scaled by ``1 − r_t`` once the rate has decayed (0 before)."""

    def next_lam(self, lam, ema, target=None):
        r = self.lr_ratio if self._state["decayed"] else 1.0
        step = self.rate * (1.0 - r) * self.error(ema, target)
        return min(self.lam_max, max(self.lam_min, lam * math.exp(step)))


class HoldWhileLearning(ViolationBudget):
    """The default rule, with λ held until ``r_t < below`` (after the peak of a warm-up)."""

    def __init__(self, *args, below: float = 0.9, **kwargs):
        super().__init__(*args, **kwargs)
        self.below = below

    def next_lam(self, lam, ema, target=None):
        if not self._state["decayed"] or self.lr_ratio >= self.below:
            return lam
        return super().next_lam(lam, ema, target)


RULES = {
    "lr": lambda p, t, opt: ViolationBudget(p, t, optimizer=opt),
    "constant": lambda p, t, opt: ViolationBudget(p, t),
    "slow": lambda p, t, opt: ViolationBudget(p, t, optimizer=opt, rate=0.005),
    "clip0.25": lambda p, t, opt: ViolationBudget(p, t, optimizer=opt, clip=0.25),
    "slack6": lambda p, t, opt: ViolationBudget(p, t, optimizer=opt, slack=6.0),
    "sq4": lambda p, t, opt: PowerSchedule(p, t, optimizer=opt, slack=4.0, power=2.0),
    "sq6": lambda p, t, opt: PowerSchedule(p, t, optimizer=opt, slack=6.0, power=2.0),
    "pi": lambda p, t, opt: ProportionalIntegral(p, t, optimizer=opt, rate=0.005),
    "rate-lr": lambda p, t, opt: RateFollowsSchedule(p, t, optimizer=opt, slack=0.0),
    "rate-lr2": lambda p, t, opt: RateFollowsSchedule(p, t, optimizer=opt, slack=2.0),
    "hold0.9": lambda p, t, opt: HoldWhileLearning(p, t, optimizer=opt, below=0.9),
}
