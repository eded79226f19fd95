"""The jet regression's :class:`~examples.hep.training.Recipe`: its methods, penalties
(four-vector outputs: ``out_rep=Vector4()``), networks (``models/regressors.py``), forward and
loss (:func:`resolution_loss`). Used by ``jet_regression.py``.
"""

from __future__ import annotations

import numpy as np
import torch

from examples.hep.models.regressors import SCALE, EquivariantRegressor, JetRegressor
from examples.hep.training import BETA_MAX, Recipe, penalised_forward
from liesoft import GSEAL, DeltaSEAL, Lorentz, Vector4

METHODS = {"baseline": {}, "gseal": {"penalty": "gseal"}, "dseal": {"penalty": "dseal"},
           "dseal_random": {"penalty": "dseal", "mode": "random"},
           "equivariant": {"model": "equivariant"}}
# from the λ scan of docs/jet_regression.md: the largest λ of {1, 10, 100} at which both penalties
# keep the in-range energy resolution within 10 % of the baseline's (100: GSEAL 13 % worse)
LAMBDA = {"gseal": 10.0, "dseal": 10.0}


def method_spec(method: str, args=None) -> dict:
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}: expected one of {list(METHODS)}")
    return METHODS[method]


def build_model(cfg, method="baseline", args=None) -> torch.nn.Module:
    kw = dict(d=cfg["d"], layers=cfg["layers"], heads=cfg["heads"], hidden=cfg["hidden"],
              hidden_layers=cfg["hidden_layers"])
    if method_spec(method).get("model") == "equivariant":
        return EquivariantRegressor(**kw)
    return JetRegressor(**kw)


def make_penalty(method: str, lam: float | None, args=None, optimizer=None):
    """``(penalty, λ)``; both penalties compare four-vectors: ``out_rep=Vector4()``
    (``optimizer``: unused, no violation budgets here)."""
    spec = method_spec(method)
    if "penalty" not in spec:
        return None, 0.0
    kind = spec["penalty"]
    if lam is None:
        lam = getattr(args, "lams", {}).get(kind, LAMBDA[kind])
    if kind == "gseal":
        return GSEAL(Lorentz(), Vector4(), Vector4(), beta_max=BETA_MAX), lam
    return DeltaSEAL(Lorentz(), Vector4(), Vector4(), mode=spec.get("mode", "exact")), lam


def forward(net, x, method, penalty, args, generator, device):
    """``(output, penalty value)`` sharing the forward pass (toptag's, on the raw output)."""
    return penalised_forward(net, x, method, penalty, "logit", generator, device)


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
    t, d = target.float(), out.float() - target.float()
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


RECIPE = Recipe(build=build_model, method_spec=method_spec, make_penalty=make_penalty,
                  forward=forward, loss=resolution_loss, val_loss=validation_loss,
                  target="t", loss_name="loss")
