"""The toy regression's task (SEAL paper §3.1): four-vectors with components uniform in
[-0.5, 0.5] and the target ``f(p) = m^4 + 15 m^2``, plus a spurion term in the broken case.

``cfg`` everywhere: the toy's configuration, ``toy_regression.Config`` (the script's top).
"""

from __future__ import annotations

import torch

from liesoft.groups import MINKOWSKI

SPURION_Z = 1e-3                      # s = (0, 0, 0, 1e-3)
C1, C2 = 20.9983, -0.8431             # the public code's coefficients of (s.p) and (s.p)^2


def minkowski_sq(p: torch.Tensor) -> torch.Tensor:
    eta = MINKOWSKI.diagonal().to(dtype=p.dtype, device=p.device)
    return (p * p * eta).sum(-1)


def truth(p: torch.Tensor, case: str) -> torch.Tensor:
    """The target function (compute it in float64)."""
    m2 = minkowski_sq(p)
    f = m2**2 + 15 * m2
    if case == "broken":
        sp = -SPURION_Z * p[..., 3]   # s.p = s^0 p^0 - s_vec . p_vec
        f = f + C1 * sp + C2 * sp**2
    elif case != "exact":
        raise ValueError(f"unknown case {case!r}")
    return f


def make_data(cfg):
    """Train, validation and test four-vectors (float64), all from one seeded generator."""
    g = torch.Generator().manual_seed(cfg.data_seed)
    draw = lambda n: torch.rand(n, 4, generator=g, dtype=torch.float64) - 0.5  # noqa: E731
    return draw(cfg.n_train), draw(cfg.n_val), draw(cfg.n_test)
