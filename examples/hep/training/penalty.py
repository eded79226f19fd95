"""A method's penalty, built from its value (:class:`examples.hep.experiment.Penalty`), and the
training step's one call to it.

:func:`build_penalty` is the one factory of the examples (the tagger, the jet regression, the
toy regression and weaver's adapter use it): GSEAL or δSEAL under the Lorentz group on
four-momenta, ``out_rep`` the task's (a scalar for a tagger, a four-vector for the
regression), wrapped in ``liesoft.experimental.ViolationBudget`` for a budget (λ = 1 outside:
the budget returns λ·Γ). :func:`penalised_output` runs the model and the penalty through the
library's single call ``penalty(f, x, generator=g, return_output=True)``: whatever the penalty
(GSEAL, δSEAL in any mode and fraction, a budget), it returns Γ and the task pass's output.
"""

from __future__ import annotations

import torch

from examples.hep.data.augment import BETA_MAX
from examples.hep.experiment import Penalty
from liesoft import GSEAL, DeltaSEAL, Lorentz, Vector4

__all__ = ["build_penalty", "penalised_output"]


def build_penalty(spec: Penalty | None, lam: float | None = None, *, out_rep=None,
                  beta_max: float = BETA_MAX, optimizer=None, group=None):
    """``(penalty, λ)`` of a method's penalty ``spec`` (``(None, 0.0)`` without one). ``lam``
    replaces the spec's λ (a λ scan); ``out_rep``: the output's representation (default
    scalar); ``beta_max``: GSEAL's largest boost; ``optimizer``: the training's, whose
    learning rate a violation budget follows; ``group``: default ``Lorentz()``."""
    if spec is None:
        return None, 0.0
    if not isinstance(spec, Penalty):
        raise TypeError(f"spec must be an examples.hep.experiment.Penalty or None, got "
                        f"{type(spec).__name__}")
    lam = spec.lam if lam is None else lam
    group = Lorentz() if group is None else group
    if spec.kind == "gseal":
        penalty = GSEAL(group, Vector4(), out_rep, fraction=spec.fraction, beta_max=beta_max)
    else:
        penalty = DeltaSEAL(group, Vector4(), out_rep, mode=spec.mode, fraction=spec.fraction,
                            reduction=spec.reduction)
    if spec.budget:
        from liesoft.experimental import ViolationBudget

        return ViolationBudget(penalty, target=spec.target, optimizer=optimizer), 1.0
    return penalty, lam


def penalised_output(net, x, penalty, on: str = "logit", generator=None):
    """``(output, Γ)`` of one training step: the network's output on ``x`` for the task loss and
    the penalty's value, sharing the forward pass where the penalty can (the library decides).
    ``on``: the penalty sees ``"prob"`` (the sigmoid of the output) or ``"logit"`` (the output).
    Without a penalty, ``(net(x), 0)``."""
    if penalty is None:
        return net(x), torch.zeros((), device=x.device)
    store = {}

    def f(z):  # the function the penalty sees: probability or logit
        out = net(z)
        store.setdefault("out", out)  # the first call is the task pass, on the whole batch
        return torch.sigmoid(out) if on == "prob" else out

    value, _ = penalty(f, x, generator=generator, return_output=True)
    return store["out"], value
