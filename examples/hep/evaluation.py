"""Metrics, figures and the table of the top-tagging example (paper Table 1, Fig. 2-5).

Scores are sigmoid probabilities of the tagger's logit; label 1 = top.

* AUC: scikit-learn's ``roc_auc_score``.
* Balanced accuracy: ``(TPR + TNR) / 2`` at the threshold 0.5 (paper §3.2).
* Background rejection ``1 / eps_B`` at signal efficiency ``eps_S = 0.3``: the threshold is the
  70 % quantile of the signal scores, ``eps_B`` the fraction of background above it.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import roc_auc_score

__all__ = ["auc", "balanced_accuracy", "rejection_at", "summary", "binned",
           "plot_invariance", "plot_accuracy_vs_pt", "plot_extrapolation", "table1_markdown"]

COLORS = {"baseline": "tab:blue", "gseal": "tab:orange", "dseal": "tab:green",
          "lgatr": "tab:purple"}
LABELS = {"baseline": "Baseline", "gseal": "Baseline + GSEAL", "dseal": "Baseline + δSEAL",
          "lgatr": "L-GATr"}


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
    return {"auc": auc(labels, scores), "balanced_accuracy": balanced_accuracy(labels, scores),
            "rejection_at_0.3": rejection_at(labels, scores)}


def binned(pt, labels, scores, edges) -> dict:
    """Balanced accuracy and rejection at eps_S = 0.3 in bins of jet pT."""
    out = {"pt": [], "balanced_accuracy": [], "rejection_at_0.3": [], "n": []}
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        sel = (pt >= lo) & (pt < hi)
        out["pt"].append(0.5 * (lo + hi))
        out["n"].append(int(sel.sum()))
        out["balanced_accuracy"].append(balanced_accuracy(labels[sel], scores[sel])
                                        if sel.sum() >= 10 else float("nan"))
        out["rejection_at_0.3"].append(rejection_at(labels[sel], scores[sel])
                                       if sel.sum() >= 10 else float("nan"))
    return out


def mean_std(values) -> dict:
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    if v.size == 0:
        return {"mean": float("nan"), "std": float("nan")}
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if v.size > 1 else 0.0}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _band(ax, x, runs, method, style="-o", label=None):
    arr = np.asarray(runs, dtype=float)
    mean = np.nanmean(arr, axis=0)
    ax.plot(x, mean, style, color=COLORS.get(method), label=label or LABELS.get(method, method))
    if arr.shape[0] > 1:
        std = np.nanstd(arr, axis=0, ddof=1)
        ax.fill_between(x, mean - std, mean + std, color=COLORS.get(method), alpha=0.2)


def plot_invariance(profiles: dict, path) -> None:
    """Fig. 2: mean |f(Λx) - f(x)| of the tagger probability vs |β| of random 3-D boosts.
    ``profiles[method]`` is a list (one per seed) of ``(magnitudes, means)``."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 4))
    for method, runs in profiles.items():
        mags = runs[0][0]
        _band(ax, mags, [r[1] for r in runs], method)
    ax.set_xlabel("|β| of the boost")
    ax.set_ylabel("mean |f(Λx) − f(x)|")
    ax.set_yscale("log")
    ax.legend()
    ax.set_title("Tagger invariance to 3-D boosts")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_accuracy_vs_pt(curves: dict, path) -> None:
    """Fig. 3: balanced accuracy vs jet pT; circles original, diamonds boosted test jets.
    ``curves[method] = {"original": [binned...], "boosted": [binned...]}`` (one per seed)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for method, c in curves.items():
        x = c["original"][0]["pt"]
        _band(ax, x, [b["balanced_accuracy"] for b in c["original"]], method, "-o")
        _band(ax, x, [b["balanced_accuracy"] for b in c["boosted"]], method, "--D",
              label=f"{LABELS.get(method, method)} (boosted)")
    ax.set_xlabel("jet pT [GeV]")
    ax.set_ylabel("balanced accuracy")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_extrapolation(curves: dict, pt_cut: float, key: str, ylabel: str, path,
                       log: bool = False) -> None:
    """Fig. 4 / 5: a binned metric vs jet pT for models trained on pT <= ``pt_cut``."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for method, runs in curves.items():
        _band(ax, runs[0]["pt"], [r[key] for r in runs], method)
    ax.axvline(pt_cut, color="k", ls=":", label="training pT cut")
    ax.set_xlabel("jet pT [GeV]")
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def table1_markdown(metrics: dict) -> str:
    rows = ["| method | balanced accuracy | AUC | 1/ε_B at ε_S = 0.3 | train step in training [s] "
            "| eval step [s] |", "|---|---|---|---|---|---|"]
    for method, m in metrics.items():
        def fmt(key, digits, m=m):
            v = m[key]
            return f"{v['mean']:.{digits}f} ± {v['std']:.{digits}f}"
        rows.append(f"| {LABELS.get(method, method)} | {fmt('balanced_accuracy', 4)} | "
                    f"{fmt('auc', 4)} | {fmt('rejection_at_0.3', 1)} | "
                    f"{fmt('train_step_s', 4)} | {fmt('eval_step_s', 4)} |")
    note = ("\nStep times in this table are medians over each model's own training and were taken"
            " at different times (and machine loads); compare methods with timing.md, where all "
            "methods are timed step by step in one interleaved run.\n")
    return "\n".join(rows) + "\n" + note
