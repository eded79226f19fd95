"""Metrics, tables and figures of ``jet_regression.py``.

* :func:`kinematics4`: E, pT and mass of four-vectors ``(N, 4)`` (E, px, py, pz) in GeV;
* :func:`response_resolution`: per quantity, the median of predicted / true (the response)
  and half the inter-quartile range of that ratio (the resolution), overall and per bin;
* :func:`relative_violation`: ``|f(Λx) − Λ f(x)| / |f(x)|`` vs |β| (Euclidean norms of the
  four output components), per boost direction family and per generator, with
  :func:`liesoft.invariance_profile`;
* :func:`expectation_check`: exact δSEAL against the mean of many random-mode draws;
* markdown tables and the figures (mplhep style, training cut marked).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from examples.hep.evaluation import style
from examples.hep.evaluation import tagging as ev
from liesoft import DeltaSEAL, Lorentz, Vector4, invariance_profile, math_attention

QUANTITIES = ("E", "pt", "m")
UNITS = {"E": "E", "pt": "p_T", "m": "m"}


def kinematics4(p: np.ndarray) -> dict:
    """``{"E", "pt", "m"}`` of four-vectors ``(..., 4)``; m = sqrt(max(m², 0))."""
    p = np.asarray(p, dtype=np.float64)
    e, px, py, pz = np.moveaxis(p, -1, 0)
    return {"E": e, "pt": np.hypot(px, py),
            "m": np.sqrt(np.maximum(e * e - px * px - py * py - pz * pz, 0.0))}


def _ratio_stats(ratio: np.ndarray) -> dict:
    ratio = ratio[np.isfinite(ratio)]
    if ratio.size == 0:
        return {"response": float("nan"), "resolution": float("nan"), "n": 0}
    q25, q50, q75 = np.quantile(ratio, [0.25, 0.5, 0.75])
    return {"response": float(q50), "resolution": float((q75 - q25) / 2), "n": int(ratio.size)}


def response_resolution(pred: np.ndarray, true: np.ndarray, select=None) -> dict:
    """Per quantity of :data:`QUANTITIES`: the median of pred / true and IQR/2 of that ratio
    over the jets of ``select`` (a boolean mask, default all)."""
    kp, kt = kinematics4(pred), kinematics4(true)
    sel = np.ones(len(true), bool) if select is None else np.asarray(select, bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {q: _ratio_stats(kp[q][sel] / kt[q][sel]) for q in QUANTITIES}


def binned_response(pred, true, pt, edges) -> dict:
    """:func:`response_resolution` in bins of ``pt`` (the true jet pT): ``{"centers",
    quantity: {"response": [...], "resolution": [...]}}``."""
    centers = 0.5 * (np.asarray(edges[:-1]) + np.asarray(edges[1:]))
    out = {"centers": centers.tolist()}
    per_bin = [response_resolution(pred, true, (pt >= lo) & (pt < hi))
               for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    for q in QUANTITIES:
        out[q] = {k: [b[q][k] for b in per_bin] for k in ("response", "resolution")}
    return out


def relative_violation(model, x: torch.Tensor, magnitudes, *, per_generator=False,
                       batch_size=512, seed=7) -> dict:
    """Mean ``|f(Λx) − Λ f(x)| / |f(x)|`` for boosts of the given |β| along random directions
    (``per_generator``: along each of K_x ... J_z, one curve each): ``{curve: [...]}`` plus
    ``"magnitudes"`` and the standard errors under ``"sem"``."""
    with torch.no_grad():
        norm = torch.cat([model(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])
        norm = norm.double().norm(dim=-1).clamp_min(1e-12)

    def f(z, n):
        return model(z) / n[:, None].to(z.dtype)

    with torch.no_grad():
        prof = invariance_profile(f, x, Lorentz(), Vector4(), Vector4(), args=(norm,),
                                  magnitudes=magnitudes,
                                  families=None if per_generator else ["boost"],
                                  per_generator=per_generator, batch_size=batch_size,
                                  generator=torch.Generator().manual_seed(seed))
    return {"magnitudes": prof.magnitudes.tolist(),
            "mean": {k: v.tolist() for k, v in prof.mean.items()},
            "sem": {k: v.tolist() for k, v in prof.sem.items()}}


def expectation_check(model, x: torch.Tensor, draws: int = 200, seed: int = 0) -> dict:
    """Exact δSEAL (eq. 10, k = 4 outputs) on ``x`` against ``draws`` random-mode estimates
    (one Gaussian projection each): their mean, its standard error and the z-score."""
    exact = DeltaSEAL(Lorentz(), Vector4(), Vector4(), mode="exact")
    rand = DeltaSEAL(Lorentz(), Vector4(), Vector4(), mode="random")
    gen = torch.Generator().manual_seed(seed)
    with math_attention():
        value = float(exact(model, x).detach())
        est = torch.tensor([float(rand(model, x, generator=gen).detach())
                            for _ in range(draws)], dtype=torch.float64)
    mean, sem = float(est.mean()), float(est.std() / math.sqrt(draws))
    return {"exact": value, "random_mean": mean, "random_sem": sem,
            "random_std_per_draw": float(est.std()), "draws": draws,
            "z": (mean - value) / sem if sem > 0 else float("nan")}


# ----------------------------------------------------------------------------- tables
def _ms(values, fmt=".4f") -> str:
    """``mean ± std`` over seeds (the mean alone for one seed, "–" for none measured), with
    "(n of N)" when seeds were left out as NaN/inf, as in the tagger's tables."""
    s = ev.mean_std(values)
    if not math.isfinite(s["mean"]):
        return "–"
    return (f"{s['mean']:{fmt}}" + (f" ± {s['std']:{fmt}}" if s["n"] > 1 else "")
            + ev.seeds_left_out(s))


def step_ratio(runs) -> str:
    """The train-step ratio of a method's row: one interleaved timing run gives every seed the
    same ratio, so it is printed once ("(1 timing run)" beside several seeds), never as a
    spread over seeds; "–" where none was measured."""
    values = [r.get("train_step_ratio") for r in runs]
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return "–"
    return f"{values[0]:.2f}" + (" (1 timing run)" if len(runs) > 1 else "")


def results_markdown(metrics: dict, pt_cut: float) -> str:
    """One row per method (``metrics[method]``: list over seeds of run summaries; ``"raw"``
    the detector-level jet): resolution of E and m (IQR/2 of pred/true) in and above the
    training range and on boosted jets, responses, the violation at |β| = 0.5 and the train
    step ratio."""
    head = ("| method | seeds | σ(E) ≤ cut | σ(m) ≤ cut | σ(E) > cut | σ(m) > cut | "
            "σ(E) boosted | σ(m) boosted | ⟨E⟩ ≤ cut | ⟨m⟩ ≤ cut | violation at \\|β\\| = 0.5 | "
            "train step / baseline |")
    lines = [f"Test set; σ = IQR/2 of predicted / true, ⟨·⟩ = median of predicted / true, "
             f"cut = detector-level pT {pt_cut:g} GeV (training range below it); "
             "boosted: the test jets and their targets boosted by GSEAL's sampler; mean ± std "
             "over seeds.", "", head, "|" + "---|" * 12]
    def pick(run, path):
        for k in path:
            run = run.get(k) if isinstance(run, dict) else None
        return float("nan") if run is None else run

    for m, runs in metrics.items():
        def col(path, runs=runs, fmt=".4f"):
            return _ms([pick(r, path) for r in runs], fmt)

        lines.append(" | ".join([
            f"| {ev.label(m)}", str(len(runs)),
            col(("inside", "E", "resolution")), col(("inside", "m", "resolution")),
            col(("above", "E", "resolution")), col(("above", "m", "resolution")),
            col(("boosted", "E", "resolution")), col(("boosted", "m", "resolution")),
            col(("inside", "E", "response")), col(("inside", "m", "response")),
            col(("violation_at_0.5",), fmt=".2e"), step_ratio(runs)])
            + " |")
    lines += ["", "–: not defined (the detector-level jet is no trained model: it has no "
              "violation and no train step)."]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- figures
def _plot_vs_pt(curves: dict, pt_cut: float, path, key: str, quantities, ylabel, ideal=None,
                logy=False) -> None:
    """``key`` (``"resolution"`` or ``"response"``) vs true pT per method and quantity, mean ±
    std over seeds (``curves[method]``: list over seeds of :func:`binned_response` dicts), the
    training range shaded; one legend outside."""
    from matplotlib.patches import Patch

    _, fig, axes = style.subplots(1, len(quantities), figsize=(4.8 * len(quantities) + 3.2, 4.2))
    handles, ns = [], []
    for j, (ax, q) in enumerate(zip(axes[0], quantities, strict=True)):
        for m, runs in curves.items():
            h, n = ev._band(ax, runs[0]["centers"], [r[q][key] for r in runs], m)
            if j == 0:
                handles.append(h)
            ns += list(n)
        if ideal is not None:
            ax.axhline(ideal, color="black", lw=0.8)
        if logy:
            ax.set_yscale("log")
        style.fit_data(ax, extra_y=[ideal] if ideal is not None else [])
        ax.axvline(pt_cut, color="gray", ls="--", lw=1)
        ax.axvspan(ax.get_xlim()[0], pt_cut, color="gray", alpha=0.08, zorder=0)
        ax.set_xlabel(r"particle-level jet $p_T$ [GeV]")
        ax.set_ylabel(ylabel.format(rf"${UNITS[q]}$"))
    handles.append(Patch(color="gray", alpha=0.15, label="training range"))
    style.legend(fig, handles + style.seed_handles(ns))
    style.save(fig, path)


def plot_resolution_vs_pt(curves: dict, pt_cut: float, path, quantities=("E", "m")) -> None:
    """Resolution (IQR/2 of pred/true) vs true pT per method, mean ± std over seeds."""
    _plot_vs_pt(curves, pt_cut, path, "resolution", quantities,
                "resolution of {} (IQR/2 of pred / true)", logy=True)


def plot_response_vs_pt(curves: dict, pt_cut: float, path, quantities=("E", "m")) -> None:
    """Response (median of pred/true) vs true pT per method, mean ± std over seeds."""
    _plot_vs_pt(curves, pt_cut, path, "response", quantities,
                "response of {} (median pred / true)", ideal=1.0)


def plot_violation(profiles: dict, path, curve="boost") -> None:
    """Relative equivariance violation vs |β| per method (log y), mean ± std over seeds;
    ``profiles[method]``: list over seeds of :func:`relative_violation` dicts."""
    _, fig, axes = style.subplots(figsize=(7.8, 4.2))
    ax = axes[0][0]
    handles, ns = [], []
    for m, runs in profiles.items():
        h, n = ev._band(ax, runs[0]["magnitudes"], [r["mean"][curve] for r in runs], m)
        handles.append(h)
        ns += list(n)
    ax.set_yscale("log")
    style.fit_data(ax)
    ax.set_xlabel(r"boost $|\beta|$")
    ax.set_ylabel(r"$|f(\Lambda x) - \Lambda f(x)|\,/\,|f(x)|$")
    ev._save(fig, ax, path, handles, ns)


def plot_violation_per_generator(profiles: dict, path) -> None:
    """One panel per method: the relative violation along each generator (seed 0), one colour
    per generator, one legend outside."""
    methods = list(profiles)
    _, fig, axes = style.subplots(1, len(methods), figsize=(3.9 * len(methods) + 1.6, 3.8),
                                  sharey=True)
    ys, xs = [], []
    for ax, m in zip(axes[0], methods, strict=True):
        prof = profiles[m][0]
        for i, (name, values) in enumerate(prof["mean"].items()):
            ax.plot(prof["magnitudes"], values, "-o", ms=3, color=style.series_color(i),
                    label=f"${name}$")
            ys.append(values)
        xs.append(prof["magnitudes"])
        ax.set_yscale("log")
        ax.set_title(ev.label(m), fontsize=9)
        ax.set_xlabel(r"$|\beta|$ or angle")
    for ax in axes[0]:
        style.fit(ax, xs, ys)
    axes[0][0].set_ylabel(r"$|f(gx) - \rho(g) f(x)|\,/\,|f(x)|$")
    style.legend(fig, title="generator (seed 0)")
    style.save(fig, path)


def write_figures(runs: dict, pt_cut: float, out) -> list[str]:
    """The regression's four figures in ``out`` from its runs (method -> one run per seed, as
    in ``details["runs"]`` of ``jet_regression.py``; ``"raw"``, the detector-level jet, in the
    resolution and response figures only): ``write_figures(details["runs"],
    details["config"]["pt_cut"], out)`` redraws them from a committed ``details.json``.
    Returns their names."""
    import pathlib

    out = pathlib.Path(out)
    binned = {m: [r["binned"] for r in rs] for m, rs in runs.items()}
    plot_resolution_vs_pt(binned, pt_cut, out / "fig_resolution_vs_pt.png")
    plot_response_vs_pt(binned, pt_cut, out / "fig_response_vs_pt.png")
    learned = {m: rs for m, rs in runs.items() if m != "raw"}
    plot_violation({m: [r["violation"] for r in rs] for m, rs in learned.items()},
                   out / "fig_violation.png")
    plot_violation_per_generator(
        {m: [rs[0]["violation_per_generator"]] for m, rs in learned.items()},
        out / "fig_violation_per_generator.png")
    return ["fig_resolution_vs_pt.png", "fig_response_vs_pt.png", "fig_violation.png",
            "fig_violation_per_generator.png"]
