"""Violation budgets on the tagger against its fixed-λ front (``budget_tagging.py``, issue 22,
docs/budget.md).

Per seed: the baseline, GSEAL and δSEAL at the fixed λs of :data:`LAMS` (the front), and per
penalty at its target (:data:`TARGETS`) one run of each rule (:data:`RULES`): ``lr``, a
:class:`liesoft.ViolationBudget` following the training's AdamW one-cycle learning rate, and
``search``, :func:`liesoft.find_lambda` over fixed-λ trainings ("trials", from
:data:`SEARCH_LAM0`) steered by each trial's Γ on :data:`N_GAMMA` *validation* jets (GSEAL
averaged over :data:`VAL_DRAWS` boost draws). Every training is ``training.train_one`` with the
tagger's recipe on Table 1's data; a trial at a λ of the front resumes its finished
checkpoint. Each trained model is measured on held-out test jets: AUC, 1/ε_B, invariance, and
**Γ_final**, the penalty itself (GSEAL with a fixed generator, δSEAL exact in the paper's
``sum`` units, both on the probability as in training) on :data:`N_GAMMA` test jets in
``eval()``. The task metric against the front is ``1 − AUC``
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
from examples.hep.evaluation import style
from examples.hep.evaluation.front import fixed_at, front_at, gmean, lam_at
from examples.hep.experiment import METHODS, PENALTIES, budget_method
from examples.hep.studies import top_tagging
from examples.hep.studies.search import search_lambda
from liesoft import measure_violation

# ----------------------------------------------------------------------------- configuration
LAMS = {"gseal": (0.3, 1.0, 3.0), "dseal": (0.01, 0.03, 0.1)}   # δSEAL: sum units
TARGETS = {"gseal": 1e-2, "dseal": 0.1}
SEEDS = 3
N_GAMMA = 2000          # test jets on which Γ_final is measured
GAMMA_CHUNK = 250       # jets per penalty evaluation (memory)
BETAS = (0.1, 0.5, 0.9)
RULES = ("lr", "search")   # ViolationBudget(optimizer=), liesoft.find_lambda
SEARCH_LAM0 = {"gseal": 1.0, "dseal": 0.03}   # the search's first λ: the front's middle
SEARCH_RTOL = 0.1       # landed: Γ_val within a factor 1.1 of the target
SEARCH_MAX = 5          # trainings per search at most
VAL_DRAWS = 8           # GSEAL boost draws averaged for the validation Γ the search steers by
BAND = (0.8, 1.25)      # the acceptance: Γ_final / target in this band ...
FRONT_MAX = 1.2         # ... and (1 − AUC) / front at the target at most this
# -----------------------------------------------------------------------------


KINDS = {"lr": "budget", "search": "search"}   # rule -> the kind of its runs


def run_name(kind: str, penalty: str | None, value: float | None, seed: int) -> str:
    """``baseline_seed0``, ``gseal_lam0.3_seed0``, ``gseal_budget0.01_seed0``,
    ``gseal_search0.01_seed0`` or a search's trial ``gseal_trial0.42_seed0``."""
    if kind == "baseline":
        return f"baseline_seed{seed}"
    tag = {"fixed": "lam", "budget": "budget", "search": "search", "trial": "trial"}[kind]
    return f"{penalty}_{tag}{value:g}_seed{seed}"


def plan(seeds: int, penalties=("gseal", "dseal"), targets: dict | None = None,
         budgets_only: bool = False, fixed_only: bool = False,
         rules=RULES) -> list[tuple]:
    """``(kind, penalty, λ or target, seed)`` of every training (a search: its trials), seed
    by seed: the front, then each rule's run per penalty (``rules``, of :data:`RULES`)."""
    targets = TARGETS if targets is None else targets
    bad = [r for r in rules if r not in RULES]
    if bad:
        raise ValueError(f"rules must be among {RULES}, got {bad}")
    runs = []
    for seed in range(seeds):
        if not budgets_only:
            runs.append(("baseline", None, None, seed))
            runs += [("fixed", p, lam, seed) for p in penalties for lam in LAMS[p]]
        if not fixed_only:
            runs += [(KINDS[rule], p, targets[p], seed) for rule in rules for p in penalties]
    return runs


def held_out_gammas(model, x: np.ndarray, on: str = "prob", n: int = N_GAMMA,
                    chunk: int = GAMMA_CHUNK, draws: int = 1) -> dict:
    """Γ_final of both penalties, built as the training builds them (``build_penalty``), on the
    function training penalises (the probability or the logit, ``on``), on the first ``n``
    jets of ``x``, the model in ``eval()`` (left there: it is evaluated next), by
    :func:`liesoft.measure_violation`: the mean over jets, in chunks; GSEAL averaged over
    ``draws`` boost draws (generator seeds 30 000, 30 001, …)."""
    model.eval()
    device = next(model.parameters()).device
    f = (lambda z: torch.sigmoid(model(z))) if on == "prob" else model
    z = torch.from_numpy(x[:n]).to(device)
    return {name: measure_violation(training.build_penalty(PENALTIES[name][0])[0], f, z,
                                    draws=draws if name == "gseal" else 1, chunk=chunk,
                                    seed=30_000).mean
            for name in ("gseal", "dseal")}


def run_one(exp, kind, penalty, value, seed, data, cfg, ctx) -> dict:
    """Train (or resume) and evaluate one run; the result is also written."""
    if kind == "search":
        return search_one(exp, penalty, value, seed, data, cfg, ctx)
    train, val, test, extra = data
    name = run_name(kind, penalty, value, seed)
    path = ctx.out / "results" / f"{name}.json"
    if path.exists():
        return json.loads(path.read_text())
    fixed_lam = kind in ("fixed", "trial")     # a trial is a fixed-λ training of a search
    method = (METHODS["baseline"][0] if kind == "baseline" else
              METHODS[penalty][0] if fixed_lam else budget_method(penalty, value))
    t0 = time.perf_counter()
    model, info = training.train_one("budget_front", method, seed, train, val, cfg, ctx,
                                     lam=value if fixed_lam else None, task=exp.task)
    run = top_tagging.evaluate_tagger(model, info, test, extra, ctx)
    best_epoch = int(info["history"][int(np.argmin([h[f"val_{exp.task.loss_name}"]
                                                for h in info["history"]]))]["epoch"])
    result = {"kind": kind, "penalty": penalty, "seed": seed, "name": name,
              "lam": value if fixed_lam else (0.0 if kind == "baseline" else None),
              "target": value if kind == "budget" else None,
              "auc": run["auc"], "one_minus_auc": 1.0 - run["auc"],
              "balanced_accuracy": run["balanced_accuracy"],
              **{k: run[k] for k in top_tagging.REJECTIONS},
              "boosted_balanced_accuracy": run["boosted"]["balanced_accuracy"],
              **{f"invariance_at_{b:g}": top_tagging.invariance_at(run, b) for b in BETAS},
              "gamma_final": held_out_gammas(model, test["x"], exp.task.penalty_on),
              "gamma_val": held_out_gammas(model, val["x"], exp.task.penalty_on,
                                           draws=VAL_DRAWS),
              "epochs_trained": info["epochs_trained"], "best_epoch": best_epoch,
              "train_s": info["train_s"], "train_step_s": info["train_step_s"],
              "wall_s": time.perf_counter() - t0, "history": info["history"]}
    if ctx.main:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=1, default=float))
    top_tagging.log_run(ctx, "budget_front", name, seed, run)
    return result


def search_one(exp, penalty, target, seed, data, cfg, ctx) -> dict:
    """Rule ``search``: :func:`liesoft.find_lambda` over trials (``run_one("trial", …)``, λ
    rounded to 6 digits; :func:`~examples.hep.studies.search.search_lambda`) from
    :data:`SEARCH_LAM0`, steered by each trial's ``gamma_val``; the result is the chosen
    trial's (test metrics, held-out Γ_final) with the search's λ, status, trials and cost
    (``train_s``: every trial's optimizer steps)."""
    name = run_name("search", penalty, target, seed)
    path = ctx.out / "results" / f"{name}.json"
    if path.exists():
        return json.loads(path.read_text())

    def train(lam):
        r = run_one(exp, "trial", penalty, lam, seed, data, cfg, ctx)
        return r["gamma_val"][penalty], r

    search, _ = search_lambda(train, target, lam=SEARCH_LAM0[penalty], rtol=SEARCH_RTOL,
                              max_trainings=SEARCH_MAX, log=ctx.log)
    ctx.log(str(search))
    chosen = search.payload
    result = dict(chosen, kind="search", name=name, target=target, status=search.status,
                  trainings=search.trainings,
                  trials=[{"name": t.payload["name"], "lam": t.payload["lam"],
                           "gamma_val": t.gamma, "gamma_test": t.payload["gamma_final"][penalty],
                           "auc": t.payload["auc"]} for t in search.trials],
                  train_s=sum(t.payload["train_s"] for t in search.trials))
    if ctx.main:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=1, default=float))
    return result


def run_study(exp, cfg, ctx, runs) -> None:
    data = top_tagging.table1_data(exp, cfg, ctx)
    ctx.log(f"budget study: {len(data[0]['y'])} training jets, {len(runs)} trainings")
    for kind, penalty, value, seed in runs:
        run_one(exp, kind, penalty, value, seed, data, cfg, ctx)


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
        if r["kind"] not in ("budget", "search"):
            continue
        pen, seed, target = r["penalty"], r["seed"], r["target"]
        fixed = [q for q in results if q["seed"] == seed and (
            q["kind"] == "baseline" or (q["kind"] == "fixed" and q["penalty"] == pen))]
        front, lam_front = fixed_at([(q["lam"], q["gamma_final"][pen], q["one_minus_auc"])
                                     for q in fixed], target)
        if not math.isfinite(lam_front):   # bracketed by the baseline: λ from the Γ order
            lam_front = lam_at([(q["gamma_final"][pen], q["lam"]) for q in fixed], target)
        pareto = front_at([(q["gamma_final"][pen], q["one_minus_auc"]) for q in fixed], target)
        search = r["kind"] == "search"
        lams = [r["lam"] if search else h["lam"] for h in r["history"]]
        rows.append({"penalty": pen, "rule": "search" if search else "lr", "seed": seed,
                     "target": target, "auc": r["auc"],
                     "gamma_final": r["gamma_final"][pen],
                     "gamma_ratio": r["gamma_final"][pen] / target,
                     "front_one_minus_auc": front,
                     "metric_ratio": r["one_minus_auc"] / front,
                     "pareto_ratio": r["one_minus_auc"] / pareto,
                     "lam_final": lams[-1], "lam_front": lam_front,
                     "lam_max": max(t["lam"] for t in r["trials"]) if search else max(lams),
                     "lam_per_epoch": lams,
                     "ema_per_epoch": [h.get("penalty_ema", math.nan) for h in r["history"]],
                     "target_now_per_epoch": [h.get("target_now", math.nan)
                                              for h in r["history"]],
                     "trainings": r.get("trainings", 1), "train_s": r["train_s"],
                     "status": r.get("status", r["history"][-1].get("status", "")),
                     "trials": r.get("trials", []),
                     "epochs_trained": r["epochs_trained"], "best_epoch": r["best_epoch"],
                     "boosted_balanced_accuracy": r["boosted_balanced_accuracy"]})
    return rows


def summary(rows: list[dict]) -> dict:
    """Per rule and penalty (``out[rule][penalty]``): the geometric means over seeds (the
    acceptance's two numbers) and ranges."""
    out = {}
    for rule, pen in sorted({(r["rule"], r["penalty"]) for r in rows}):
        rs = [r for r in rows if (r["rule"], r["penalty"]) == (rule, pen)]
        g, m = gmean(r["gamma_ratio"] for r in rs), gmean(r["metric_ratio"] for r in rs)
        out.setdefault(rule, {})[pen] = {
                    "target": rs[0]["target"], "seeds": len(rs), "gamma_ratio_gmean": g,
                    "gamma_ratio_range": [min(r["gamma_ratio"] for r in rs),
                                          max(r["gamma_ratio"] for r in rs)],
                    "metric_ratio_gmean": m,
                    "metric_ratio_range": [min(r["metric_ratio"] for r in rs),
                                           max(r["metric_ratio"] for r in rs)],
                    "auc_mean": float(np.mean([r["auc"] for r in rs])),
                    "auc_std": float(np.std([r["auc"] for r in rs], ddof=1)) if len(rs) > 1
                    else 0.0,
                    "auc_min": min(r["auc"] for r in rs),
                    # the AUC of the fixed λ that ends at the target, per seed (interpolated)
                    "front_auc_mean": float(np.mean([1 - r["front_one_minus_auc"] for r in rs])),
                    "front_auc_min": min(1 - r["front_one_minus_auc"] for r in rs),
                    "lam_front_gmean": gmean(r["lam_front"] for r in rs),
                    "lam_final_gmean": gmean(r["lam_final"] for r in rs),
                    "lam_max": max(r["lam_max"] for r in rs),
                    "trainings_mean": float(np.mean([r["trainings"] for r in rs])),
                    "train_min_mean": float(np.mean([r["train_s"] for r in rs])) / 60,
                    # the acceptance, with AUC ≥ 0.95 read for every run (strict) or for the
                    # row's mean over the seeds
                    "passes": bool(BAND[0] <= g <= BAND[1] and m <= FRONT_MAX
                                   and min(r["auc"] for r in rs) >= 0.95),
                    "passes_mean_auc": bool(BAND[0] <= g <= BAND[1] and m <= FRONT_MAX
                                            and np.mean([r["auc"] for r in rs]) >= 0.95)}
    return out


def fixed_table(results: list[dict]) -> list[dict]:
    """The front: per (penalty or baseline, λ) the mean over seeds of Γ_final and AUC."""
    groups = {}
    for r in results:
        if r["kind"] not in ("baseline", "fixed"):
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
    lines = ["| rule | penalty | target | seeds | Γ_final/target (gmean; min–max) | "
             "(1 − AUC)/front at target (gmean; min–max) | AUC (mean ± std; min) | "
             "fixed λ's AUC at target (mean; min) | fixed λ at target | λ final | largest λ | "
             "trainings (mean) | minutes of steps (mean) | passes (every run's AUC ≥ 0.95; "
             "the mean's) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for rule, pen, s in ((rule, pen, s) for rule, per in summ.items() for pen, s in per.items()):
        lines.append(
            f"| {rule} | {pen} | {s['target']:g} | {s['seeds']} | {s['gamma_ratio_gmean']:.2f}; "
            f"{s['gamma_ratio_range'][0]:.2f}–{s['gamma_ratio_range'][1]:.2f} | "
            f"{s['metric_ratio_gmean']:.2f}; {s['metric_ratio_range'][0]:.2f}–"
            f"{s['metric_ratio_range'][1]:.2f} | {s['auc_mean']:.4f} ± {s['auc_std']:.4f}; "
            f"{s['auc_min']:.4f} | {s['front_auc_mean']:.4f}; {s['front_auc_min']:.4f} | "
            f"{s['lam_front_gmean']:.3g} | {s['lam_final_gmean']:.3g} | "
            f"{s['lam_max']:.3g} | {s['trainings_mean']:.2g} | {s['train_min_mean']:.1f} | "
            f"{'yes' if s['passes'] else 'no'}; {'yes' if s['passes_mean_auc'] else 'no'} |")
    lines += ["", "Per run (search: λ per trial, Γ_val/target in brackets):", "",
              "| rule | penalty | seed | Γ_final/target | 1 − AUC / front | AUC | "
              "λ per epoch (lr) or per trial (search) | best epoch / trained |",
              "|---|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["rule"], r["penalty"], r["seed"])):
        lams = (", ".join(f"{t['lam']:.3g} ({t['gamma_val'] / r['target']:.2f})"
                          for t in r["trials"]) + f" → {r['status']}") if r["trials"] else \
            ", ".join(f"{v:.3g}" for v in r["lam_per_epoch"])
        lines.append(f"| {r['rule']} | {r['penalty']} | {r['seed']} | {r['gamma_ratio']:.2f} | "
                     f"{r['metric_ratio']:.2f} | {r['auc']:.4f} | {lams} | "
                     f"{r['best_epoch']} / {r['epochs_trained']} |")
    lines += ["", "The fixed-λ front (mean over seeds; Γ_final geometric mean, held-out):", "",
              "| method | λ | seeds | AUC | Γ_final GSEAL | Γ_final δSEAL (sum) | mean |Δσ| at "
              "|β| = 0.5 |", "|---|---|---|---|---|---|---|"]
    for f in front:
        lines.append(f"| {f['method']} | {f['lam']:g} | {f['seeds']} | {f['auc']:.4f} | "
                     f"{f['gamma_gseal']:.3g} | {f['gamma_dseal']:.3g} | "
                     f"{f['invariance_at_0.5']:.4f} |")
    return "\n".join(lines) + "\n"


def plot(results: list[dict], rows: list[dict], path_front, path_lam) -> None:
    """budget_front.png: per penalty, 1 − AUC against Γ_final of the fixed-λ runs (one colour
    per seed, open circles) with the budget (★) and λ-search (◆) runs of the same seed, the
    target dotted. budget_lambda.png: per penalty, λ and Γ̄ / target per epoch of the budget
    runs (the running target / target dotted) and λ and Γ_val / target per training of the λ
    searches (the landing band shaded), one colour per seed. Legends outside the panels."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    pens = sorted({r["penalty"] for r in rows})
    seeds = sorted({r["seed"] for r in results})
    seed_handles = [Line2D([], [], color=style.series_color(s), lw=2, label=f"seed {s}")
                    for s in seeds]
    _, fig, axes = style.subplots(1, len(pens), figsize=(5.0 * len(pens) + 2.6, 4.2))
    for ax, pen in zip(axes[0], pens, strict=True):
        xs, ys = [], []
        for seed in seeds:
            pts = sorted((q["gamma_final"][pen], q["one_minus_auc"]) for q in results
                         if q["seed"] == seed and (q["kind"] == "baseline" or (
                             q["kind"] == "fixed" and q["penalty"] == pen)))
            c = style.series_color(seed)
            ax.plot(*zip(*pts, strict=True), "o--", color=c, mfc="none", alpha=0.8)
            xs += [p[0] for p in pts]
            ys += [p[1] for p in pts]
            for r in rows:
                if r["penalty"] == pen and r["seed"] == seed:
                    search = r["rule"] == "search"
                    ax.plot(r["gamma_final"], 1 - r["auc"], "D" if search else "*",
                            color=c, ms=7 if search else 12, ls="none")
                    xs.append(r["gamma_final"])
                    ys.append(1 - r["auc"])
        target = next(r["target"] for r in rows if r["penalty"] == pen)
        ax.axvline(target, ls=":", color="k")
        ax.set_xscale("log")
        style.fit(ax, xs + [target], ys, margin=0.08)
        ax.set_xlabel(f"held-out $\\Gamma_{{final}}$ ({pen})")
        ax.set_ylabel("1 − AUC (test)")
        ax.ticklabel_format(axis="y", style="plain", useOffset=False)
        ax.set_title(f"tagger, {pen}")
        ax.grid(alpha=0.3, which="both")
    style.legend(fig, seed_handles + [
        Line2D([], [], color="0.3", marker="o", mfc="none", ls="--",
               label="fixed λ (front; λ = 0: baseline)"),
        Line2D([], [], color="0.3", marker="*", ms=12, ls="none", label="budget (lr rule)"),
        Line2D([], [], color="0.3", marker="D", ms=7, ls="none", label="λ search"),
        Line2D([], [], color="k", ls=":", label="target")])
    style.save(fig, path_front)

    lr = [r for r in rows if r["rule"] == "lr"]
    sr = [r for r in rows if r["rule"] == "search"]
    cols = [("lr", pen) for pen in pens if any(r["penalty"] == pen for r in lr)] + \
        [("search", pen) for pen in pens if any(r["penalty"] == pen for r in sr)]
    if not cols:
        return
    _, fig, axes = style.subplots(2, len(cols), figsize=(3.6 * len(cols) + 2.4, 6.4))
    for j, (rule, pen) in enumerate(cols):
        top, bottom = axes[0][j], axes[1][j]
        lam_y, g_y = [], []
        for r in (r for r in (lr if rule == "lr" else sr) if r["penalty"] == pen):
            c = style.series_color(r["seed"])
            if rule == "lr":
                x = np.arange(1, len(r["lam_per_epoch"]) + 1)
                lam, g = r["lam_per_epoch"], np.array(r["ema_per_epoch"]) / r["target"]
                run_t = np.array(r["target_now_per_epoch"]) / r["target"]
                bottom.plot(x, run_t, ":", color=c)
                g_y += list(run_t)
            else:
                x = np.arange(1, len(r["trials"]) + 1)
                lam = [t["lam"] for t in r["trials"]]
                g = [t["gamma_val"] / r["target"] for t in r["trials"]]
            top.plot(x, lam, "-o", color=c, ms=4)
            bottom.plot(x, g, "-o", color=c, ms=4)
            lam_y += list(lam)
            g_y += list(g)
        if rule == "search":
            bottom.axhspan(1 / (1 + SEARCH_RTOL), 1 + SEARCH_RTOL, color="0.85", zorder=0)
            g_y += [1 / (1 + SEARCH_RTOL), 1 + SEARCH_RTOL]
        top.set_title(f"{pen}: {'budget, per epoch' if rule == 'lr' else 'λ search'}")
        for ax, ys in ((top, lam_y), (bottom, g_y)):
            ax.set_yscale("log")
            ax.grid(alpha=0.3, which="both")
            style.integer_ticks(ax, "x")
            ax.set_xlim(0.6, max(line.get_xdata()[-1] for line in ax.lines) + 0.4)
            style.fit(ax, None, ys, margin=0.08)
        bottom.set_xlabel("epoch" if rule == "lr" else "training of the search")
        if j == 0 or cols[j - 1][0] != rule:
            top.set_ylabel("λ (end of epoch)" if rule == "lr" else "λ of the training")
            bottom.set_ylabel(r"$\bar\Gamma$ / target" if rule == "lr"
                              else r"$\Gamma_{val}$ / target")
    handles = seed_handles + [
        Line2D([], [], color="0.3", ls=":", label="running target / target (budget)"),
        Patch(color="0.85", label=f"landed: within ×{1 + SEARCH_RTOL:g} of the target")]
    style.legend(fig, handles)
    style.save(fig, path_lam)


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
