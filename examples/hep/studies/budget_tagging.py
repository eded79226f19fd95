"""Violation budgets on the tagger against its fixed-λ front (``budget_tagging.py``, issue 22,
docs/budget.md).

Per seed: the baseline, GSEAL and δSEAL at the fixed λs of :data:`LAMS` (the front), and one
:class:`liesoft.ViolationBudget` per penalty at its target (:data:`TARGETS`), every one trained
by ``training.train_one`` with the tagger's recipe on Table 1's data (the budget follows the
training's AdamW one-cycle learning rate). Each trained model is measured on held-out test
jets: AUC, 1/ε_B, invariance, and **Γ_final**, the penalty itself (GSEAL with a fixed
generator, δSEAL exact in the paper's ``sum`` units, both on the probability as in training) on
:data:`N_GAMMA` test jets in ``eval()``. The task metric against the front is ``1 − AUC``
(lower is better, like a test MSE): a budget run's ratio is its ``1 − AUC`` over that of the
fixed λ that ends at the target (``evaluation.front.fixed_at``: interpolated between the
fixed-λ runs of the same seed, neighbours in λ, whose Γ_final bracket the target; the baseline
is λ = 0), and over the Pareto front's (``front_at``, nan where it does not bracket the target).

One result file per training in ``out/results/`` (skipped once written; several processes may
share one ``out``); :func:`report` writes ``metrics.json``, ``report.md`` and the figures.
"""

from __future__ import annotations

import json
import math
import time

import numpy as np
import torch

from examples.hep import training
from examples.hep.evaluation.front import fixed_at, front_at, gmean, lam_at
from examples.hep.models import tagger_recipe as tagging
from examples.hep.studies import top_tagging

# ----------------------------------------------------------------------------- configuration
LAMS = {"gseal": (0.3, 1.0, 3.0), "dseal": (0.01, 0.03, 0.1)}   # δSEAL: sum units
TARGETS = {"gseal": 1e-2, "dseal": 0.1}
SEEDS = 3
N_GAMMA = 2000          # test jets on which Γ_final is measured
GAMMA_CHUNK = 250       # jets per penalty evaluation (memory)
BETAS = (0.1, 0.5, 0.9)
BAND = (0.8, 1.25)      # the acceptance: Γ_final / target in this band ...
FRONT_MAX = 1.2         # ... and (1 − AUC) / front at the target at most this
# -----------------------------------------------------------------------------


def run_name(kind: str, penalty: str | None, value: float | None, seed: int) -> str:
    """``baseline_seed0``, ``gseal_lam0.3_seed0`` or ``gseal_budget0.01_seed0``."""
    if kind == "baseline":
        return f"baseline_seed{seed}"
    tag = "lam" if kind == "fixed" else "budget"
    return f"{penalty}_{tag}{value:g}_seed{seed}"


def plan(seeds: int, penalties=("gseal", "dseal"), targets: dict | None = None,
         budgets_only: bool = False, fixed_only: bool = False) -> list[tuple]:
    """``(kind, penalty, λ or target, seed)`` of every training, seed by seed."""
    targets = TARGETS if targets is None else targets
    runs = []
    for seed in range(seeds):
        if not budgets_only:
            runs.append(("baseline", None, None, seed))
            runs += [("fixed", p, lam, seed) for p in penalties for lam in LAMS[p]]
        if not fixed_only:
            runs += [("budget", p, targets[p], seed) for p in penalties]
    return runs


def held_out_gammas(model, x: np.ndarray, args, n: int = N_GAMMA,
                    chunk: int = GAMMA_CHUNK) -> dict:
    """Γ_final of both penalties, built as the training builds them (``make_penalty``), on the
    function training penalises (the probability or the logit, ``args.penalty_on``), on the
    first ``n`` jets of ``x``, the model in ``eval()``: the mean over jets, in chunks."""
    model.eval()
    device = next(model.parameters()).device

    def f(z):
        out = model(z)
        return torch.sigmoid(out) if args.penalty_on == "prob" else out

    out = {}
    for name in ("gseal", "dseal"):
        penalty = tagging.make_penalty(name, None, args)[0]
        gen = torch.Generator(device=device).manual_seed(30_000)
        total, count = 0.0, 0
        for i in range(0, min(n, len(x)), chunk):
            z = torch.from_numpy(x[i:i + chunk]).to(device)
            with torch.no_grad():   # δSEAL still differentiates in x, without a graph
                value = penalty(f, z, generator=gen) if name == "gseal" else penalty(f, z)
            total += float(value) * len(z)
            count += len(z)
        out[name] = total / count
    return out


def run_one(kind, penalty, value, seed, data, cfg, ctx, args) -> dict:
    """Train (or resume) and evaluate one run; the result is also written."""
    train, val, test, extra = data
    name = run_name(kind, penalty, value, seed)
    path = ctx.out / "results" / f"{name}.json"
    if path.exists():
        return json.loads(path.read_text())
    method = "baseline" if kind == "baseline" else (
        penalty if kind == "fixed" else f"{penalty}_budget")
    args.budgets = {penalty: value} if kind == "budget" else {}
    t0 = time.perf_counter()
    model, info = training.train_one("budget_front", method, seed, train, val, cfg, ctx, args,
                                     lam=value if kind == "fixed" else None,
                                     recipe=tagging.TAGGER)
    run = top_tagging.evaluate_tagger(model, info, test, extra, ctx)
    best_epoch = int(info["history"][int(np.argmin([h[f"val_{tagging.TAGGER.loss_name}"]
                                                for h in info["history"]]))]["epoch"])
    result = {"kind": kind, "penalty": penalty, "seed": seed, "name": name,
              "lam": value if kind == "fixed" else (0.0 if kind == "baseline" else None),
              "target": value if kind == "budget" else None,
              "auc": run["auc"], "one_minus_auc": 1.0 - run["auc"],
              "balanced_accuracy": run["balanced_accuracy"],
              **{k: run[k] for k in top_tagging.REJECTIONS},
              "boosted_balanced_accuracy": run["boosted"]["balanced_accuracy"],
              **{f"invariance_at_{b:g}": top_tagging.invariance_at(run, b) for b in BETAS},
              "gamma_final": held_out_gammas(model, test["x"], args),
              "epochs_trained": info["epochs_trained"], "best_epoch": best_epoch,
              "train_s": info["train_s"], "train_step_s": info["train_step_s"],
              "wall_s": time.perf_counter() - t0, "history": info["history"]}
    if ctx.main:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=1, default=float))
    top_tagging.log_run(ctx, "budget_front", name, seed, run)
    return result


def run_study(args, cfg, ctx, runs) -> None:
    data = top_tagging.table1_data(args, cfg, ctx)
    ctx.log(f"budget study: {len(data[0]['y'])} training jets, {len(runs)} trainings")
    for kind, penalty, value, seed in runs:
        run_one(kind, penalty, value, seed, data, cfg, ctx, args)


# ----------------------------------------------------------------------------- report
def load_results(out) -> list[dict]:
    folder = out / "results"
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))] \
        if folder.exists() else []


def budget_rows(results: list[dict]) -> list[dict]:
    """One row per budget run: Γ_final / target, 1 − AUC against the front at the target (same
    seed), the fixed λ at the target, λ over training."""
    rows = []
    for r in results:
        if r["kind"] != "budget":
            continue
        pen, seed, target = r["penalty"], r["seed"], r["target"]
        fixed = [q for q in results if q["seed"] == seed and (
            q["kind"] == "baseline" or (q["kind"] == "fixed" and q["penalty"] == pen))]
        front, lam_front = fixed_at([(q["lam"], q["gamma_final"][pen], q["one_minus_auc"])
                                     for q in fixed], target)
        if not math.isfinite(lam_front):   # bracketed by the baseline: λ from the Γ order
            lam_front = lam_at([(q["gamma_final"][pen], q["lam"]) for q in fixed], target)
        pareto = front_at([(q["gamma_final"][pen], q["one_minus_auc"]) for q in fixed], target)
        lams = [h["lam"] for h in r["history"]]
        rows.append({"penalty": pen, "seed": seed, "target": target, "auc": r["auc"],
                     "gamma_final": r["gamma_final"][pen],
                     "gamma_ratio": r["gamma_final"][pen] / target,
                     "front_one_minus_auc": front,
                     "metric_ratio": r["one_minus_auc"] / front,
                     "pareto_ratio": r["one_minus_auc"] / pareto,
                     "lam_final": lams[-1], "lam_max": max(lams), "lam_front": lam_front,
                     "lam_per_epoch": lams,
                     "ema_per_epoch": [h["penalty_ema"] for h in r["history"]],
                     "target_now_per_epoch": [h.get("target_now", math.nan)
                                              for h in r["history"]],
                     "epochs_trained": r["epochs_trained"], "best_epoch": r["best_epoch"],
                     "boosted_balanced_accuracy": r["boosted_balanced_accuracy"]})
    return rows


def summary(rows: list[dict]) -> dict:
    """Per penalty: the geometric means over seeds (the acceptance's two numbers) and ranges."""
    out = {}
    for pen in sorted({r["penalty"] for r in rows}):
        rs = [r for r in rows if r["penalty"] == pen]
        g, m = gmean(r["gamma_ratio"] for r in rs), gmean(r["metric_ratio"] for r in rs)
        out[pen] = {"target": rs[0]["target"], "seeds": len(rs), "gamma_ratio_gmean": g,
                    "gamma_ratio_range": [min(r["gamma_ratio"] for r in rs),
                                          max(r["gamma_ratio"] for r in rs)],
                    "metric_ratio_gmean": m,
                    "metric_ratio_range": [min(r["metric_ratio"] for r in rs),
                                           max(r["metric_ratio"] for r in rs)],
                    "auc_mean": float(np.mean([r["auc"] for r in rs])),
                    "auc_std": float(np.std([r["auc"] for r in rs], ddof=1)) if len(rs) > 1
                    else 0.0,
                    "auc_min": min(r["auc"] for r in rs),
                    "lam_front_gmean": gmean(r["lam_front"] for r in rs),
                    "lam_final_gmean": gmean(r["lam_final"] for r in rs),
                    "lam_max": max(r["lam_max"] for r in rs),
                    "passes": bool(BAND[0] <= g <= BAND[1] and m <= FRONT_MAX
                                   and min(r["auc"] for r in rs) >= 0.95)}
    return out


def fixed_table(results: list[dict]) -> list[dict]:
    """The front: per (penalty or baseline, λ) the mean over seeds of Γ_final and AUC."""
    groups = {}
    for r in results:
        if r["kind"] == "budget":
            continue
        groups.setdefault((r["penalty"] or "baseline", r["lam"]), []).append(r)
    out = []
    for (pen, lam), rs in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        out.append({"method": pen, "lam": lam, "seeds": len(rs),
                    "auc": float(np.mean([r["auc"] for r in rs])),
                    "gamma_gseal": gmean(r["gamma_final"]["gseal"] for r in rs),
                    "gamma_dseal": gmean(r["gamma_final"]["dseal"] for r in rs),
                    "invariance_at_0.5": float(np.mean([r["invariance_at_0.5"] for r in rs]))})
    return out


def report_markdown(rows, summ, front) -> str:
    lines = ["| penalty | target | seeds | Γ_final/target (gmean; min–max) | (1 − AUC)/front at "
             "target (gmean; min–max) | AUC (mean ± std; min) | fixed λ at target | λ final | "
             "largest λ | passes |", "|---|---|---|---|---|---|---|---|---|---|"]
    for pen, s in summ.items():
        lines.append(
            f"| {pen} | {s['target']:g} | {s['seeds']} | {s['gamma_ratio_gmean']:.2f}; "
            f"{s['gamma_ratio_range'][0]:.2f}–{s['gamma_ratio_range'][1]:.2f} | "
            f"{s['metric_ratio_gmean']:.2f}; {s['metric_ratio_range'][0]:.2f}–"
            f"{s['metric_ratio_range'][1]:.2f} | {s['auc_mean']:.4f} ± {s['auc_std']:.4f}; "
            f"{s['auc_min']:.4f} | {s['lam_front_gmean']:.3g} | {s['lam_final_gmean']:.3g} | "
            f"{s['lam_max']:.3g} | {'yes' if s['passes'] else 'no'} |")
    lines += ["", "Per run:", "", "| penalty | seed | Γ_final/target | 1 − AUC / front | AUC | "
              "λ per epoch | best epoch / trained |", "|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["penalty"], r["seed"])):
        lines.append(f"| {r['penalty']} | {r['seed']} | {r['gamma_ratio']:.2f} | "
                     f"{r['metric_ratio']:.2f} | {r['auc']:.4f} | "
                     + ", ".join(f"{v:.3g}" for v in r["lam_per_epoch"])
                     + f" | {r['best_epoch']} / {r['epochs_trained']} |")
    lines += ["", "The fixed-λ front (mean over seeds; Γ_final geometric mean, held-out):", "",
              "| method | λ | seeds | AUC | Γ_final GSEAL | Γ_final δSEAL (sum) | mean |Δσ| at "
              "|β| = 0.5 |", "|---|---|---|---|---|---|---|"]
    for f in front:
        lines.append(f"| {f['method']} | {f['lam']:g} | {f['seeds']} | {f['auc']:.4f} | "
                     f"{f['gamma_gseal']:.3g} | {f['gamma_dseal']:.3g} | "
                     f"{f['invariance_at_0.5']:.4f} |")
    return "\n".join(lines) + "\n"


def plot(results: list[dict], rows: list[dict], path_front, path_lam) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pens = sorted({r["penalty"] for r in rows})
    fig, axes = plt.subplots(1, len(pens), figsize=(5.5 * len(pens), 4.2), squeeze=False)
    for ax, pen in zip(axes[0], pens, strict=True):
        for seed in sorted({r["seed"] for r in results}):
            pts = sorted((q["gamma_final"][pen], q["one_minus_auc"]) for q in results
                         if q["seed"] == seed and (q["kind"] == "baseline" or (
                             q["kind"] == "fixed" and q["penalty"] == pen)))
            ax.plot(*zip(*pts, strict=True), "o--", color=f"C{seed}", mfc="none", alpha=0.7,
                    label=f"fixed λ, seed {seed}")
            for r in rows:
                if r["penalty"] == pen and r["seed"] == seed:
                    ax.plot(r["gamma_final"], 1 - r["auc"], "*", color=f"C{seed}", ms=13,
                            label=f"budget, seed {seed}")
        ax.axvline(next(r["target"] for r in rows if r["penalty"] == pen), ls=":", color="k")
        ax.set_xscale("log")
        ax.set_xlabel(f"held-out Γ_final ({pen})")
        ax.set_ylabel("1 − AUC (test)")
        ax.set_title(f"tagger, {pen}: budget vs fixed-λ front", fontsize=9)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path_front, dpi=100)
    plt.close(fig)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for r in rows:
        ep = range(1, len(r["lam_per_epoch"]) + 1)
        style = "-" if r["penalty"] == "gseal" else "--"
        axes[0].plot(ep, r["lam_per_epoch"], style, color=f"C{r['seed']}",
                     label=f"{r['penalty']} seed {r['seed']}")
        axes[1].plot(ep, np.array(r["ema_per_epoch"]) / r["target"], style,
                     color=f"C{r['seed']}", label=f"{r['penalty']} Γ̄ seed {r['seed']}")
        axes[1].plot(ep, np.array(r["target_now_per_epoch"]) / r["target"], ":",
                     color=f"C{r['seed']}")
    axes[0].set_yscale("log")
    axes[0].set_ylabel("λ (end of epoch)")
    axes[1].set_yscale("log")
    axes[1].set_ylabel("Γ̄ / target (lines), running target / target (dotted)")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path_lam, dpi=100)
    plt.close(fig)


def report(out) -> dict | None:
    """metrics.json (rows, summary, front), report.md and the two figures from ``out/results``."""
    results = load_results(out)
    rows = budget_rows(results)
    if not rows:
        return None
    summ, front = summary(rows), fixed_table(results)
    met = {"summary": summ, "rows": rows, "front": front,
           "train_minutes": sum(r["train_s"] for r in results) / 60,
           "trainings": len(results)}
    (out / "metrics.json").write_text(json.dumps(met, indent=1, default=float))
    (out / "report.md").write_text(report_markdown(rows, summ, front))
    plot(results, rows, out / "budget_front.png", out / "budget_lambda.png")
    return met
