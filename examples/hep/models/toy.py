"""The toy regression's models: the MLP (baseline, SEAL, augmentation), the hard-invariant
MLP of m^2 and the dual-subnet model; and the toy's methods.

``cfg`` everywhere: the toy's configuration, ``toy_regression.Config`` (the script's top).
"""

from __future__ import annotations

import torch
from torch import nn

from examples.hep.data.toy import minkowski_sq

METHODS = ("baseline", "gseal", "dseal", "augment", "invariant", "dualsubnet")
BUDGET_PENALTIES = ("gseal", "dseal")   # method "budget" wraps one of these (--budget only)


def mlp(n_in: int, width: int, depth: int) -> nn.Sequential:
    layers, w = [], n_in
    for _ in range(depth):
        layers += [nn.Linear(w, width), nn.GELU()]
        w = width
    return nn.Sequential(*layers, nn.Linear(w, 1))


class InvariantMLP(nn.Module):
    """An MLP of m^2 = p.eta.p only: exactly Lorentz invariant, blind to the spurion."""

    def __init__(self, width: int, depth: int):
        super().__init__()
        self.net = mlp(1, width, depth)

    def forward(self, p):
        return self.net(minkowski_sq(p)[..., None])


class DualSubnet(nn.Module):
    """``(1 - w) g_inv(m^2) + w g_free(p)`` with the symmetry factor ``w = sigmoid(a)`` learned."""

    def __init__(self, width: int, depth: int, init_logit: float):
        super().__init__()
        self.inv = InvariantMLP(width, depth)
        self.free = mlp(4, width, depth)
        self.logit = nn.Parameter(torch.tensor(float(init_logit)))

    @property
    def w(self) -> float:
        return float(torch.sigmoid(self.logit.detach()))

    def forward(self, p):
        w = torch.sigmoid(self.logit)
        return (1 - w) * self.inv(p) + w * self.free(p)


def build_model(method: str, cfg, seed: int) -> nn.Module:
    torch.manual_seed(seed)  # same initialisation for every method sharing an architecture
    if method == "invariant":
        return InvariantMLP(cfg.width, cfg.depth)
    if method == "dualsubnet":
        return DualSubnet(cfg.width, cfg.depth, cfg.dual_init_logit)
    return mlp(4, cfg.width, cfg.depth)
