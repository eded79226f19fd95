"""The jet regression's :class:`~examples.hep.training.Task`: its methods, penalties
(four-vector outputs: ``out_rep=Vector4()``), networks (``models/regressors.py``) and loss
(:func:`resolution_loss`). Used by ``jet_regression.py``.
"""

from __future__ import annotations

import numpy as np
import torch

from examples.hep.experiment import Method, Penalty
from examples.hep.models.regressors import SCALE, EquivariantRegressor, JetRegressor
from examples.hep.training import Task, build_penalty
from liesoft import Vector4

__all__ = ["METHODS", "LAMBDA", "methods", "regression_task", "resolution_loss", "huber",
           "predict", "validation_loss", "MASS_FLOOR", "HUBER_DELTA"]

# from the λ scan of docs/jet_regression.md: the largest λ of {1, 10, 100} at which both penalties
# keep the in-range energy resolution within 10 % of the baseline's (100: GSEAL 13 % worse)
LAMBDA = {"gseal": 10.0, "dseal": 10.0}
# name -> (network, penalty kind, δSEAL mode); recorded in checkpoints as the first runs did
METHODS = {"baseline": ("regressor", None, None), "gseal": ("regressor", "gseal", None),
           "dseal": ("regressor", "dseal", None), "dseal_random": ("regressor", "dseal", "random"),
           "equivariant": ("equivariant", None, None)}
NETWORKS = {"regressor": JetRegressor, "equivariant": EquivariantRegressor}


def methods(names, lams: dict | None = None) -> tuple[Method, ...]:
    """The :class:`~examples.hep.experiment.Method` values of ``names`` (of :data:`METHODS`),
    their λ from ``lams`` (kind -> λ; dseal's also sets dseal_random's) or :data:`LAMBDA`."""
    lams = {**LAMBDA, **(lams or {})}
    out = []
    for name in names:
        if name not in METHODS:
            raise ValueError(f"unknown method {name!r}: expected one of {list(METHODS)}")
        network, kind, mode = METHODS[name]
        recorded = {"model": network} if network != "regressor" else {}
        penalty = None
        if kind is not None:
            penalty = Penalty(kind, lams[kind], mode=mode or "exact")
            recorded = {"penalty": kind, **({"mode": mode} if mode else {})}
        out.append(Method(name, network=network, penalty=penalty, recorded=recorded))
    return tuple(out)


def build(cfg, method) -> torch.nn.Module:
    kw = dict(d=cfg["d"], layers=cfg["layers"], heads=cfg["heads"], hidden=cfg["hidden"],
              hidden_layers=cfg["hidden_layers"])
    return NETWORKS[method.network](**kw)


def penalty(spec, lam=None, optimizer=None):
    """``(penalty, λ)``; both penalties compare four-vectors: ``out_rep=Vector4()``."""
    return build_penalty(spec, lam, out_rep=Vector4(), optimizer=optimizer)

MASS_FLOOR = 10.0 / SCALE  # m0: the mass term's regulator for light jets (10 GeV)


def resolution_loss(out, target):
    """Mean over jets of ``(δE / E)² + |δp⃗|² / |p⃗|² + (p·δp / (m² + m0²))²`` with ``δp = f(x) −
    p_true`` and E, p⃗, m those of the target (Minkowski product ``p·δp``).

    Each term is a relative error, so every pT range counts alike: of the energy, of the
    three-momentum (magnitude and direction) and, to first order, of the mass (``δ(m²) = 2
    p·δp``, so ``p·δp / m² = δm / m``). A quadratic form in the output with coefficients from
    the target only (convex, no clamp, no log of a prediction), each term Huber-clipped at
    ``HUBER_DELTA`` (linear beyond it: the metrics are quantiles, outliers should not steer).
    Without the mass term a 1 % error of E alone moves the mass of a 1 TeV top jet by ~30 %
    (m dm = E dE); a loss on log m of the prediction instead (tried first) pushed jets off the
    mass shell, where the clamped log has no gradient, and diverged.
    """
    # float32 (16-bit outputs under autocast too), float64 when either is float64
    dtype = torch.float64 if torch.float64 in (out.dtype, target.dtype) else torch.float32
    t, d = target.to(dtype), out.to(dtype) - target.to(dtype)
    e_t, p_t = t[:, 0], t[:, 1:]
    m2 = (e_t**2 - (p_t**2).sum(-1)).clamp_min(0.0)
    rel_e = d[:, 0] / e_t
    rel_p2 = (d[:, 1:] ** 2).sum(-1) / (p_t**2).sum(-1)
    rel_m = (e_t * d[:, 0] - (p_t * d[:, 1:]).sum(-1)) / (m2 + MASS_FLOOR**2)
    terms = torch.stack([rel_e, rel_p2.clamp_min(1e-30).sqrt(), rel_m], -1)
    return huber(terms).sum(-1).mean()

HUBER_DELTA = 0.1  # relative errors beyond 10 % count linearly (the metrics are quantiles)


def huber(r):
    a = r.abs()
    return torch.where(a < HUBER_DELTA, r**2, HUBER_DELTA * (2 * a - HUBER_DELTA))


@torch.no_grad()
def predict(model, x: np.ndarray, ctx, batch=1024) -> np.ndarray:
    """Predicted four-vectors in GeV ``(N, 4)`` float64."""
    model.eval()
    out = [model(torch.from_numpy(x[i:i + batch]).to(ctx.device)).double().cpu()
           for i in range(0, len(x), batch)]
    return torch.cat(out).numpy() * SCALE


def validation_loss(model, val, cfg, ctx) -> float:
    pred = torch.from_numpy(predict(model, val["x"], ctx) / SCALE)
    model.train()
    return float(resolution_loss(pred, torch.from_numpy(val["t"])))


def regression_task() -> Task:
    """The regression's task: the penalty on the raw four-vector output ("logit")."""
    return Task(build=build, penalty=penalty, loss=resolution_loss, val_loss=validation_loss,
                penalty_on="logit", target="t", loss_name="loss")

REGRESSOR = regression_task()
