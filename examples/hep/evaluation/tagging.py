"""Metrics, figures and the table of the top-tagging example (paper Table 1, Fig. 2-5).

Scores are sigmoid probabilities of the tagger's logit; label 1 = top.

* AUC: scikit-learn's ``roc_auc_score``.
* Balanced accuracy: ``(TPR + TNR) / 2`` at the threshold 0.5 (paper §3.2).
* Background rejection ``1 / eps_B`` at signal efficiency ``eps_S = 0.3`` (the paper's) and
  ``0.5`` (common in the literature): the threshold is the ``1 - eps_S`` quantile of the signal
  scores, ``eps_B`` the fraction of background above it.

Figures: :mod:`examples.hep.evaluation.style` (mplhep's HEP style when it is installed, one
colour and marker per method, legends outside the data, error bars: std over seeds).
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import roc_auc_score

from examples.hep.evaluation import style

__all__ = ["auc", "balanced_accuracy", "rejection_at", "summary", "binned", "label",
           "plot_invariance", "plot_accuracy_vs_pt", "plot_extrapolation", "plot_lambda_scan",
           "plot_cost_frontier", "table1_markdown", "lambda_scan_markdown",
           "extrapolation_markdown", "cost_markdown", "best_epochs", "seeds_left_out"]

LABELS = {"baseline": "Baseline", "gseal": "Baseline + GSEAL", "dseal": "Baseline + δSEAL",
          "lgatr": "L-GATr", "gseal_f0.25": "GSEAL, fraction 0.25",
          "gseal_f0.5": "GSEAL, fraction 0.5", "dseal_fd": "δSEAL, mode fd",
          "gseal_finetune": "Baseline fine-tuned with GSEAL (2 epochs)",
          "part_baseline": "ParT", "part_gseal": "ParT + GSEAL", "part_dseal": "ParT + δSEAL",
          "particlenet_baseline": "ParticleNet", "particlenet_gseal": "ParticleNet + GSEAL",
          "particlenet_dseal": "ParticleNet + δSEAL",
          "augment": "Baseline + boost augmentation", "lloca": "LLoCa (same backbone)",
          "augment_gseal": "Augmentation + GSEAL",
          "part_dseal_fd": "ParT + δSEAL (fd)", "particlenet_dseal_fd": "ParticleNet + δSEAL (fd)",
          "gseal_budget": "GSEAL, violation budget", "dseal_budget": "δSEAL, violation budget",
          "raw": "Detector-level jet (sum of constituents)",
          "dseal_random": "Baseline + δSEAL, mode random",
          "equivariant": "Equivariant peer (Σ w_i p_i)"}
REJECTION_POINTS = (0.3, 0.5)


def label(method: str) -> str:
    """Human-readable name of a method (``"gseal@0.1"``: GSEAL at λ = 0.1)."""
    if "@" in method:
        base, lam = method.split("@")
        return f"{LABELS.get(base, base)}, λ = {lam}"
    return LABELS.get(method, method)


def color(method: str):
    """The method's colour in every figure (:func:`examples.hep.evaluation.style.color`)."""
    return style.color(method)


def auc(labels, scores) -> float:
    labels = np.asarray(labels)
    if labels.min() == labels.max():
        return float("nan")
    return float(roc_auc_score(labels, scores))


def balanced_accuracy(labels, scores, threshold: float = 0.5) -> float:
    labels, pred = np.asarray(labels).astype(bool), np.asarray(scores) >= threshold
    if labels.all() or (~labels).all():
        return float("nan")
    return 0.5 * (pred[labels].mean() + (~pred[~labels]).mean())


def rejection_at(labels, scores, signal_efficiency: float = 0.3) -> float:
    labels, scores = np.asarray(labels).astype(bool), np.asarray(scores)
    if labels.all() or (~labels).all():
        return float("nan")
    cut = np.quantile(scores[labels], 1 - signal_efficiency)
    eps_b = (scores[~labels] >= cut).mean()
    return float(1 / eps_b) if eps_b > 0 else float("inf")


def summary(labels, scores) -> dict:
    out = {"auc": auc(labels, scores), "balanced_accuracy": balanced_accuracy(labels, scores)}
    for eff in REJECTION_POINTS:
        out[f"rejection_at_{eff:g}"] = rejection_at(labels, scores, eff)
    return out


def binned(pt, labels, scores, edges) -> dict:
    """Balanced accuracy and rejection at eps_S = 0.3 and 0.5 in bins of jet pT (NaN in a bin
    of fewer than 10 jets)."""
    out = {"pt": [], "balanced_accuracy": [], "rejection_at_0.3": [], "rejection_at_0.5": [],
           "n": []}
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        sel = (pt >= lo) & (pt < hi)
        out["pt"].append(0.5 * (lo + hi))
        out["n"].append(int(sel.sum()))
        out["balanced_accuracy"].append(balanced_accuracy(labels[sel], scores[sel])
                                        if sel.sum() >= 10 else float("nan"))
        for eff in REJECTION_POINTS:
            out[f"rejection_at_{eff:g}"].append(rejection_at(labels[sel], scores[sel], eff)
                                                if sel.sum() >= 10 else float("nan"))
    return out


def mean_std(values) -> dict:
    """Mean and sample std (ddof = 1; 0 for one value) over the finite ``values``, with ``n``
    the number of finite values used and ``of`` the number given: a seed whose metric is
    undefined (NaN: a bin of one class) or unbounded (inf: no background above the cut) is
    left out of the mean *and counted*, so tables can say "2 of 3 seeds"."""
    values = list(values)
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    out = {"n": int(v.size), "of": len(values)}
    if v.size == 0:
        return {"mean": float("nan"), "std": float("nan"), **out}
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if v.size > 1 else 0.0, **out}


def _plt():
    """``matplotlib.pyplot`` in the examples' style (:func:`style.pyplot`)."""
    return style.pyplot()


def _stats(runs):
    """Mean and std over seeds (std 0 for one seed) of ``runs`` (seeds × points), and the
    number of seeds with a finite value per point; NaN seeds are left out, an infinite one
    (e.g. no background jet above the cut) makes the mean infinite: that point is not drawn
    and counts 0 seeds (no "std over n seeds" entry for it in the legend)."""
    arr = np.asarray(runs, dtype=float)
    n = np.isfinite(arr).sum(axis=0)
    mean = np.nanmean(arr, axis=0)
    with np.errstate(invalid="ignore"):     # inf - inf in the std of an infinite seed
        std = np.nanstd(arr, axis=0, ddof=1) if arr.shape[0] > 1 else np.zeros_like(mean)
    n = np.where(np.isfinite(mean), n, 0)
    return mean, np.where(n > 1, std, 0.0), n


def _band(ax, x, runs, method, ls="-", label_=None, band=True):
    """Mean over seeds with error bars and a shaded band (std over seeds; hollow markers where
    one seed ran): the legend handle (:func:`style.errorbar`) and the seeds per point."""
    mean, std, n = _stats(runs)
    h = style.errorbar(ax, x, mean, std, n, method=method, ls=ls,
                       label=label_ or label(method), band=band)
    return h, n


def _save(fig, axes, path, handles=None, ns=(), where="right", title=None) -> None:
    """The legend (methods, then what error bars and hollow markers are) outside the data
    area, then save (:func:`style.save`)."""
    target = axes if not isinstance(axes, (list, tuple, np.ndarray)) else fig
    if handles is None:
        handles = []
        for ax in np.ravel(axes) if target is fig else [axes]:
            handles += ax.get_legend_handles_labels()[0]
    style.legend(target, list(handles) + style.seed_handles(ns), where=where, title=title)
    style.save(fig, path)


def plot_invariance(profiles: dict, path) -> None:
    """Fig. 2: mean |f(Λx) - f(x)| of the tagger probability vs |β| of random 3-D boosts.
    ``profiles[method]`` is a list (one per seed) of ``(magnitudes, means)``."""
    _, fig, axes = style.subplots(figsize=(7.2, 4.2))
    ax = axes[0][0]
    handles, ns = [], []
    for method, runs in profiles.items():
        h, n = _band(ax, runs[0][0], [r[1] for r in runs], method)
        handles.append(h)
        ns += list(n)
    ax.set_xlabel(r"$|\beta|$ of the boost")
    ax.set_ylabel(r"mean $|\sigma(f(\Lambda x)) - \sigma(f(x))|$")
    ax.set_yscale("log")
    style.fit_data(ax)
    ax.set_title("Tagger invariance to 3-D boosts")
    _save(fig, ax, path, handles, ns)


def plot_accuracy_vs_pt(curves: dict, path) -> None:
    """Fig. 3: balanced accuracy vs jet pT, original test jets (left) and boosted ones (right),
    one colour and marker per method, mean ± std over seeds.
    ``curves[method] = {"original": [binned...], "boosted": [binned...]}`` (one per seed)."""
    _, fig, axes = style.subplots(1, 2, figsize=(11, 4.2), sharex=True)
    handles, ns = [], []
    for j, (which, title) in enumerate((("original", "original test jets"),
                                        ("boosted", "boosted test jets"))):
        ax = axes[0][j]
        for method, c in curves.items():
            x = c[which][0]["pt"]
            runs = [b["balanced_accuracy"] for b in c[which]]
            h, n = _band(ax, x, runs, method, ls="-" if which == "original" else "--")
            if j == 0:
                handles.append(h)
            ns += list(n)
        ax.set_xlabel(r"jet $p_T$ [GeV]")
        ax.set_ylabel("balanced accuracy")
        ax.set_title(title)
        style.fit_data(ax)
    _save(fig, axes, path, handles, ns)


def plot_extrapolation(curves: dict, pt_cut: float, key: str, ylabel: str, path,
                       log: bool = False) -> None:
    """Fig. 4 / 5: a binned metric vs jet pT for models trained on pT <= ``pt_cut``; the
    region above the cut (never seen in training) is shaded."""
    from matplotlib.patches import Patch

    _, fig, axes = style.subplots(figsize=(7.4, 4.2))
    ax = axes[0][0]
    handles, ns = [], []
    for method, runs in curves.items():
        h, n = _band(ax, runs[0]["pt"], [r[key] for r in runs], method)
        handles.append(h)
        ns += list(n)
    ax.set_xlabel(r"jet $p_T$ [GeV]")
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    style.fit_data(ax)
    ax.axvline(pt_cut, color="k", ls=":")
    ax.axvspan(pt_cut, ax.get_xlim()[1], color="0.9", zorder=0)
    handles.append(Patch(color="0.9", label=f"above the training cut ($p_T$ > {pt_cut:g} GeV)"))
    _save(fig, ax, path, handles, ns)


def plot_lambda_scan(runs: dict, path) -> None:
    """Fig. 2 per λ: invariance curves of every ``"method@lambda"`` run and the baseline
    (left), AUC vs λ (right); one colour per method, one line style per λ. One seed per run:
    hollow markers and the "1 seed" legend entry (:func:`style.errorbar`,
    :func:`style.seed_handles`)."""
    from matplotlib.lines import Line2D

    _, fig, (row,) = style.subplots(1, 2, figsize=(11.5, 4.2))
    ax, bx = row
    lams = {}  # per method, its lambdas in increasing order: dotted, solid, dashed
    for name in runs:
        if "@" in name:
            base, lam = name.split("@")
            lams.setdefault(base, []).append(float(lam))
    styles = (":", "-", "--", "-.")
    xs, ys, handles = [], [], []
    for name, r in runs.items():
        inv = r["invariance"]
        ls = "-"
        if "@" in name:
            base, lam = name.split("@")
            ls = styles[sorted(lams[base]).index(float(lam)) % len(styles)]
        handles.append(style.errorbar(ax, inv["magnitudes"], inv["mean"], n=1, method=name,
                                      ls=ls, label=label(name), ms=4))
        xs.append(inv["magnitudes"])
        ys.append(inv["mean"])
    ax.set_xlabel(r"$|\beta|$ of the boost")
    ax.set_ylabel(r"mean $|\sigma(f(\Lambda x)) - \sigma(f(x))|$")
    ax.set_yscale("log")
    style.fit(ax, xs, ys)
    bl, bys = [], []
    for method in sorted({n.split("@")[0] for n in runs if "@" in n}):
        pts = sorted((float(n.split("@")[1]), r["auc"]) for n, r in runs.items()
                     if n.startswith(method + "@"))
        style.errorbar(bx, *zip(*pts, strict=True), n=1, method=method, ls="-")
        bl += [p[0] for p in pts]
        bys += [p[1] for p in pts]
    if "baseline" in runs and bl:     # over the λ range, in data coordinates
        style.tag(bx.plot([min(bl), max(bl)], [runs["baseline"]["auc"]] * 2,
                          color=color("baseline"), ls=":"), "baseline")
        bys.append(runs["baseline"]["auc"])
    bx.set_xscale("log")
    bx.set_xlabel(r"$\lambda$ (δSEAL in the paper's units)")
    bx.set_ylabel("AUC")
    style.fit(bx, bl, bys, margin=0.08)
    if "baseline" in runs:
        handles.append(Line2D([], [], color=color("baseline"), ls=":",
                              label="Baseline's AUC (right)"))
    _save(fig, [ax, bx], path, handles, ns=[1])


def plot_cost_frontier(rows: dict, path) -> None:
    """Invariance gain (fraction of full GSEAL's at |β| = 0.5) vs training cost relative to
    the baseline's training; one colour and marker per method, named in the legend. One seed
    per method: hollow markers and the "1 seed" legend entry (:func:`style.errorbar`)."""
    from matplotlib.lines import Line2D

    _, fig, axes = style.subplots(figsize=(7.6, 4.2))
    ax = axes[0][0]
    handles = []
    for m, r in rows.items():
        handles.append(style.errorbar(ax, [r["training_cost"]], [r["gain_at_0.5"]], n=1,
                                      method=m, ls="none", label=label(m), ms=7))
    ax.axhline(0.9, color="0.5", ls=":")
    handles.append(Line2D([], [], color="0.5", ls=":", label="90 % of full GSEAL's gain"))
    ax.set_xlabel("training cost / baseline training")
    ax.set_ylabel(r"invariance gain at $|\beta| = 0.5$ (GSEAL = 1)")
    style.fit(ax, [r["training_cost"] for r in rows.values()],
              [r["gain_at_0.5"] for r in rows.values()] + [0.9], margin=0.1)
    _save(fig, ax, path, handles, ns=[1])


def seeds_left_out(v) -> str:
    """" (n of N)" when a :func:`mean_std` result left seeds out (NaN/inf), else ""."""
    return f" ({v['n']} of {v['of']})" if v.get("n", 0) < v.get("of", 0) else ""


def _fmt(v, digits):
    """``mean ± std`` of a :func:`mean_std` result, with "(n of N)" when seeds were left out;
    one seed has no spread: ``mean (1 seed)`` (never "± 0")."""
    if v.get("n", 2) == 1:
        return f"{v['mean']:.{digits}f} " + (f"({seeds_left_out(v).strip()[1:-1]} seeds)"
                                            if v.get("of", 1) > 1 else "(1 seed)")
    return f"{v['mean']:.{digits}f} ± {v['std']:.{digits}f}" + seeds_left_out(v)


def _fmt_triple(vs, digits=4):
    """Three :func:`mean_std` results in one cell, ``a / b / c``: each ``mean ± std``, or, when
    all three are one seed, the means with one "(1 seed)" at the end."""
    if all(v.get("n", 2) == 1 and v.get("of", 1) == 1 for v in vs):
        return " / ".join(f"{v['mean']:.{digits}f}" for v in vs) + " (1 seed)"
    return " / ".join(_fmt(v, digits) for v in vs)


def table1_markdown(metrics: dict, seeds: int | None = None) -> str:
    """Table 1: per method (``metrics[method][key]`` = :func:`mean_std` results) the tagging
    metrics, the invariance mean |Δσ| at |β| = 0.1 / 0.5 / 0.9 (where measured), the boosted
    test set's balanced accuracy and the step times."""
    rows = ["| method | balanced accuracy | AUC | 1/ε_B at ε_S = 0.3 | 1/ε_B at ε_S = 0.5 | "
            "mean \\|Δσ\\| at \\|β\\| = 0.1 / 0.5 / 0.9 | boosted balanced accuracy | "
            "train step in training [s] | eval step [s] |",
            "|---|---|---|---|---|---|---|---|---|"]
    for method, m in metrics.items():
        inv = _fmt_triple([m[f"invariance_at_{b}"] for b in ("0.1", "0.5", "0.9")]) \
            if "invariance_at_0.5" in m else "–"
        boosted = _fmt(m["boosted_balanced_accuracy"], 4) if "boosted_balanced_accuracy" in m \
            else "–"
        rows.append(f"| {label(method)} | {_fmt(m['balanced_accuracy'], 4)} | "
                    f"{_fmt(m['auc'], 4)} | {_fmt(m['rejection_at_0.3'], 1)} | "
                    f"{_fmt(m['rejection_at_0.5'], 1)} | {inv} | {boosted} | "
                    f"{_fmt(m['train_step_s'], 4)} | {_fmt(m['eval_step_s'], 4)} |")
    note = ("\nStep times in this table are medians over each model's own training and were taken"
            " at different times (and machine loads); compare methods with timing.md, where all "
            "methods are timed step by step in one interleaved run.\n")
    head = f"Mean ± std over {seeds} seed(s).\n\n" if seeds else ""
    return head + "\n".join(rows) + "\n" + note


def lambda_scan_markdown(runs: dict) -> str:
    mags = next(iter(runs.values()))["invariance"]["magnitudes"]
    rows = ["| method | AUC | 1/ε_B (0.3) | " + " | ".join(f"\\|β\\| = {m:g}" for m in mags)
            + " |", "|---" * (3 + len(mags)) + "|"]
    for name, r in runs.items():
        rows.append(f"| {label(name)} | {r['auc']:.4f} | {r['rejection_at_0.3']:.1f} | "
                    + " | ".join(f"{v:.4f}" for v in r["invariance"]["mean"]) + " |")
    return ("One seed; the invariance columns are mean |σ(f(Λx)) − σ(f(x))| (± SEM in "
            "details.json). δSEAL λ in the paper's units.\n\n" + "\n".join(rows) + "\n")


def best_epochs(history: list[dict], key: str = "val_bce") -> tuple[int, int]:
    """(epochs run, epoch of the lowest ``key``) of one training's history: a best epoch
    equal to the last of a schedule that ran out may mean the loss was still falling (under a
    one-cycle schedule, which anneals the rate to zero, the last epoch is often the best
    anyway: compare how much the loss moved over the last epochs)."""
    if not history:
        raise ValueError("best_epochs needs a non-empty training history")
    best = min(history, key=lambda h: h[key])
    return history[-1]["epoch"], best["epoch"]


def extrapolation_markdown(runs: dict, ratios: dict, pt_cut: float, physics=None,
                           schedule=None) -> str:
    """Above/below-cut summary (mean ± std over seeds), epochs run and the best validation
    epoch per seed, and the top-bin rejection ratios. ``schedule``: ``{"n_train", "epochs",
    "patience"}`` of the trainings, printed above the table."""
    rows = ["| method | AUC below cut | AUC above cut | balanced acc. above cut | "
            "1/ε_B (0.3) above cut | 1/ε_B (0.5) above cut | epochs run (best val. epoch) |",
            "|---|---|---|---|---|---|---|"]
    for m, rs in runs.items():
        def ms(part, key, digits, rs=rs):
            return _fmt(mean_std([r[part][key] for r in rs]), digits)
        ep = ", ".join("{} ({})".format(*best_epochs(r["history"])) for r in rs)
        rows.append(f"| {label(m)} | {ms('below_cut', 'auc', 4)} | {ms('above_cut', 'auc', 4)}"
                    f" | {ms('above_cut', 'balanced_accuracy', 4)} | "
                    f"{ms('above_cut', 'rejection_at_0.3', 1)} | "
                    f"{ms('above_cut', 'rejection_at_0.5', 1)} | {ep} |")
    n = len(next(iter(runs.values())))
    head = f"Trained on pT ≤ {pt_cut:g} GeV; mean ± std over {n} seed(s)."
    if schedule:
        head += (f" {schedule['n_train']} training jets, up to {schedule['epochs']} epochs, "
                 f"early stopping after {schedule['patience']} without a better validation "
                 "loss.")
    text = [head, "", *rows, ""]
    if ratios:
        text += ["Rejection (ε_S = 0.3) over the baseline's in the top pT bins, seed k against "
                 "baseline seed k (mean ± std):", "", "| method | " + " | ".join(
                     f"bin at {b['pt']:.0f} GeV" for b in next(iter(ratios.values()))) + " |",
                 "|---" * (1 + len(next(iter(ratios.values())))) + "|"]
        for m, bins in ratios.items():
            text.append(f"| {label(m)} | " + " | ".join(
                _fmt(b, 2) for b in bins) + " |")
        text.append("")
    if physics:
        text += ["Generated sample per pT bin: top-jet mass (peak of a 10 GeV histogram; median "
                 "and 16–84 %), QCD median mass, top candidates lost to the three-quark "
                 "containment (ΔR < 0.8):", "",
                 "| pT bin [GeV] | top mass peak [GeV] | top mass median (16–84 %) [GeV] | "
                 "QCD mass median [GeV] | containment loss |", "|---|---|---|---|---|"]
        e = physics["pt_edges"]
        loss = physics["containment_loss"] or [float("nan")] * (len(e) - 1)
        for i in range(len(e) - 1):
            text.append(f"| {e[i]:.0f}–{e[i + 1]:.0f} | {physics['top_mass_peak'][i]:.0f} | "
                        f"{physics['top_mass_median'][i]:.0f} "
                        f"({physics['top_mass_16'][i]:.0f}–{physics['top_mass_84'][i]:.0f}) | "
                        f"{physics['qcd_mass_median'][i]:.0f} | {loss[i]:.1%} |")
        text.append("")
    return "\n".join(text)


def cost_markdown(rows: dict) -> str:
    out = ["| method | train step / baseline | epochs | training cost / baseline | AUC | "
           "mean \\|Δσ\\| at 0.5 | at 0.9 | gain at 0.5 | gain at 0.9 | boosted bal. acc. |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for m, r in rows.items():
        out.append(f"| {label(m)} | {r['step_ratio']:.2f} | {r['epochs']} | "
                   f"{r['training_cost']:.2f} | {r['auc']:.4f} | {r['invariance_at_0.5']:.4f} | "
                   f"{r['invariance_at_0.9']:.4f} | {r['gain_at_0.5']:.2f} | "
                   f"{r['gain_at_0.9']:.2f} | {r['boosted_balanced_accuracy']:.4f} |")
    keep = [m for m, r in rows.items() if m not in ("baseline", "gseal")
            and r["gain_at_0.5"] >= 0.9]
    if keep:
        best = min(keep, key=lambda m: rows[m]["training_cost"])
        sentence = (f"The cheapest variant that keeps ≥ 90 % of full GSEAL's invariance gain at "
                    f"|β| = 0.5 is {label(best)}: {rows[best]['gain_at_0.5']:.0%} of the gain at "
                    f"{rows[best]['training_cost']:.2f}× the baseline's training cost (full "
                    f"GSEAL: {rows['gseal']['training_cost']:.2f}×).")
    else:
        sentence = "No cheaper variant keeps ≥ 90 % of full GSEAL's invariance gain at |β| = 0.5."
    return ("One seed. Training cost = train-step ratio (interleaved) × epochs trained / the "
            "baseline's epochs; fine-tuning adds the baseline's own training (1). Gain = "
            "(baseline − method) / (baseline − GSEAL) of the mean |Δσ|.\n\n"
            + "\n".join(out) + "\n\n" + sentence + "\n")
