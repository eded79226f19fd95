"""The toy's violation-budget study (``toy_regression.py --budget``, docs/budget.md): every
budget cell against the fixed-λ front of its case, penalty and seed; budget.csv, budget.md,
budget.json, budget.png (the fronts with the budget runs) and budget_traces.png (λ and Γ̄ vs
step).

The front is measured the way a user measures a trained model: each cell's Γ_final is the
penalty on the held-out test vectors (``final_gamma_heldout``: GSEAL with the sampler and a
fixed generator, δSEAL exact), its task metric the test MSE at β = 0. A budget run's
``MSE / front`` divides its test MSE by the front's at the target (``evaluation.front``:
log-log interpolation between the two non-dominated fixed-λ runs of the same seed whose
Γ_final bracket the target; the baseline is the λ = 0 point). Cells (case × penalty × target
× rule) are geometric means over the seeds; a cell passes when Γ_final / target is in
:data:`BAND` and MSE / front is at most :data:`FRONT_MAX`.

``cfg`` everywhere: the toy's configuration, ``toy_regression.Config`` (the script's top).
"""

from __future__ import annotations

import csv
import json
import math
import os

from examples.hep.evaluation.front import fixed_at, front_at, gmean, lam_at
from examples.hep.evaluation.toy import nearest
from examples.hep.models.toy import BUDGET_PENALTIES

BUDGET_COLUMNS = ("case", "penalty", "target", "rule", "seed", "gamma_final", "gamma_ratio",
                  "mse_beta0", "mse_beta0.8", "front_mse", "ratio_front", "ratio_pareto",
                  "lam_front",
                  "lam_final", "lam_max_run", "lam_overshoot", "gamma_ema", "status", "warnings",
                  "trainings", "train_seconds")
FLOOR_RTOL = 1e-9       # lambda "at its floor": within this relative distance of lam_min
BAND = (0.8, 1.25)      # Γ_final / target in this band ...
FRONT_MAX = 1.2         # ... and MSE / front at the target at most this: the cell passes


def fixed_points(recs: list[dict], cfg) -> dict:
    """``(case, penalty, seed) -> [(Γ_final held out, test MSE at β = 0, λ)]``: the fixed-λ
    runs of each penalty (GSEAL at the config's β²max) and the baseline (λ = 0)."""
    i0 = nearest(list(cfg.test_betas), 0.0)
    out: dict = {}
    for r in recs:
        for pen in BUDGET_PENALTIES:
            if r["method"] == "baseline" or (r["method"] == pen and (
                    pen == "dseal" or math.isclose(r["beta_max2"], cfg.beta_max2))):
                out.setdefault((r["case"], pen, r["seed"]), []).append(
                    (r["final_gamma_heldout"][pen], r["test_mse"][i0], r["lam"]))
    return out


def budget_rows(recs: list[dict], cfg) -> tuple[list[dict], dict]:
    """One row per budget run (BUDGET_COLUMNS) and the fixed-λ points (:func:`fixed_points`)."""
    betas = list(cfg.test_betas)
    i0, i8 = nearest(betas, 0.0), nearest(betas, 0.8)
    fixed = fixed_points(recs, cfg)
    rows = []
    for r in recs:
        if r["method"] != "budget":
            continue
        pts = fixed.get((r["case"], r["penalty"], r["seed"]), [])
        gamma = r["final_gamma_heldout"][r["penalty"]]
        front, lam_front = fixed_at([(lam, g, m) for g, m, lam in pts], r["target"])
        if not math.isfinite(lam_front):   # bracketed by the baseline: λ from the Γ order
            lam_front = lam_at([(g, lam) for g, _, lam in pts], r["target"])
        pareto = front_at([(g, m) for g, m, _ in pts], r["target"])
        rows.append({
            "case": r["case"], "penalty": r["penalty"], "target": r["target"],
            "rule": r.get("rule", "lr"), "seed": r["seed"], "gamma_final": gamma,
            "gamma_ratio": gamma / r["target"], "mse_beta0": r["test_mse"][i0],
            "mse_beta0.8": r["test_mse"][i8], "front_mse": front,
            "ratio_front": r["test_mse"][i0] / front,
            "ratio_pareto": r["test_mse"][i0] / pareto, "lam_front": lam_front,
            "lam_final": r["lam_final"], "lam_max_run": r.get("lam_max_run", math.nan),
            "lam_overshoot": r.get("lam_max_run", math.nan) / lam_front,
            "gamma_ema": r["gamma_ema"],
            "status": r.get("status", "inactive" if abs(r["lam_final"] - r["lam_min"])
                            <= FLOOR_RTOL * r["lam_min"] else "active"),
            "warnings": r.get("warnings", 0), "trainings": r.get("trainings", 1),
            "train_seconds": r["train_seconds"]})
    return rows, fixed


def cells(rows: list[dict]) -> list[dict]:
    """The rows grouped by (case, penalty, target, rule): geometric means over the seeds."""
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["case"], r["penalty"], r["target"], r["rule"]), []).append(r)
    out = []
    for (case, pen, target, rule), rs in groups.items():
        g, m = gmean(r["gamma_ratio"] for r in rs), gmean(r["ratio_front"] for r in rs)
        out.append(dict(case=case, penalty=pen, target=target, rule=rule, seeds=len(rs),
                        gamma_ratio=g, gamma_ratio_min=min(r["gamma_ratio"] for r in rs),
                        gamma_ratio_max=max(r["gamma_ratio"] for r in rs),
                        ratio_front=m, ratio_front_min=min(r["ratio_front"] for r in rs),
                        ratio_front_max=max(r["ratio_front"] for r in rs),
                        ratio_pareto=gmean(r["ratio_pareto"] for r in rs),
                        mse=gmean(r["mse_beta0"] for r in rs),
                        front_mse=gmean(r["front_mse"] for r in rs),
                        lam_front=gmean(r["lam_front"] for r in rs),
                        lam_final=gmean(r["lam_final"] for r in rs),
                        lam_overshoot=max(r["lam_overshoot"] for r in rs),
                        inactive=sum(r["status"] == "inactive" for r in rs),
                        trainings=sum(r["trainings"] for r in rs) / len(rs),
                        warned=sum(bool(r["warnings"]) for r in rs),
                        passes=bool(BAND[0] <= g <= BAND[1] and m <= FRONT_MAX)))
    return sorted(out, key=lambda c: (c["case"], c["penalty"], c["target"], c["rule"]))


def summary(cell_rows: list[dict]) -> dict:
    """Per rule: how many cells pass, and the ranges."""
    out = {}
    for rule in sorted({c["rule"] for c in cell_rows}):
        sel = [c for c in cell_rows if c["rule"] == rule]
        out[rule] = dict(
            cells=len(sel), passes=sum(c["passes"] for c in sel),
            gamma_in_band=sum(BAND[0] <= c["gamma_ratio"] <= BAND[1] for c in sel),
            front_ok=sum(c["ratio_front"] <= FRONT_MAX for c in sel),
            gamma_ratio_range=[min(c["gamma_ratio"] for c in sel),
                               max(c["gamma_ratio"] for c in sel)],
            ratio_front_range=[min(c["ratio_front"] for c in sel),
                               max(c["ratio_front"] for c in sel)],
            ratio_front_gmean=gmean(c["ratio_front"] for c in sel),
            lam_overshoot_max=max(c["lam_overshoot"] for c in sel),
            trainings_mean=sum(c["trainings"] for c in sel) / len(sel))
    return out


def front_table(fixed: dict) -> list[dict]:
    """Per (case, penalty, λ): geometric means over the seeds of Γ_final and the test MSE."""
    groups: dict = {}
    for (case, pen, _seed), pts in fixed.items():
        for g, m, lam in pts:
            groups.setdefault((case, pen, lam), []).append((g, m))
    return [dict(case=case, penalty=pen, lam=lam, seeds=len(v),
                 gamma_final=gmean(g for g, _ in v), mse=gmean(m for _, m in v))
            for (case, pen, lam), v in sorted(groups.items())]


def _f(x: float, fmt: str = ".2f") -> str:
    return "nan" if not math.isfinite(x) else format(x, fmt)


def write_budget_reports(recs: list[dict], cfg, out: str) -> list[dict]:
    """budget.csv (one row per run), budget.json (cells, summary, front), budget.md and the
    figures."""
    rows, fixed = budget_rows(recs, cfg)
    with open(os.path.join(out, "budget.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, BUDGET_COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    cell_rows = cells(rows) if rows else []
    summ = summary(cell_rows) if cell_rows else {}
    front = front_table(fixed)
    with open(os.path.join(out, "budget.json"), "w") as f:
        json.dump(dict(cells=cell_rows, summary=summ, front=front, band=BAND,
                       front_max=FRONT_MAX, seeds=list(cfg.seeds),
                       train_minutes=sum(r["train_seconds"] for r in recs) / 60), f, indent=1)
    name = {"gseal": f"GSEAL (β²max={cfg.beta_max2:g})", "dseal": "δSEAL"}
    lines = [f"Seeds {', '.join(map(str, cfg.seeds))}; Γ_final on {cfg.gamma_eval} held-out test "
             "vectors; task metric: test MSE at β = 0; cells: geometric means over the seeds; "
             f"pass: Γ_final/target in [{BAND[0]}, {BAND[1]}] and MSE/front ≤ {FRONT_MAX}; "
             "front: the fixed λ that ends at the target (interpolated between the "
             "λ-neighbours whose Γ_final bracket it); Pareto: the non-dominated fixed-λ runs "
             "only (nan: they do not bracket the target).", ""]
    if summ:
        lines += ["| rule | cells | pass both | Γ in band | MSE/front ≤ 1.2 | Γ_final/target | "
                  "MSE/front (range; gmean) | largest λ / fixed λ at target | trainings per "
                  "run |", "|---|---|---|---|---|---|---|---|---|"]
        lines += [f"| {rule} | {s['cells']} | **{s['passes']}** | {s['gamma_in_band']} | "
                  f"{s['front_ok']} | {_f(s['gamma_ratio_range'][0])}–"
                  f"{_f(s['gamma_ratio_range'][1])} | {_f(s['ratio_front_range'][0])}–"
                  f"{_f(s['ratio_front_range'][1])}; {_f(s['ratio_front_gmean'])} | "
                  f"{_f(s['lam_overshoot_max'], '.3g')} | {_f(s['trainings_mean'], '.2g')} |"
                  for rule, s in summ.items()]
        lines += ["", "| case | penalty | target | rule | Γ_final/target (min–max) | MSE / front "
                  "(min–max) | MSE / Pareto | test MSE | fixed λ's MSE at target | fixed λ at "
                  "target | λ final | inactive | warned | trainings | pass |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        lines += [f"| {c['case']} | {name[c['penalty']]} | {c['target']:g} | {c['rule']} | "
                  f"{_f(c['gamma_ratio'])} ({_f(c['gamma_ratio_min'])}–"
                  f"{_f(c['gamma_ratio_max'])}) | {_f(c['ratio_front'])} "
                  f"({_f(c['ratio_front_min'])}–{_f(c['ratio_front_max'])}) | "
                  f"{_f(c['ratio_pareto'])} | {_f(c['mse'], '.2e')} | "
                  f"{_f(c['front_mse'], '.2e')} | "
                  f"{_f(c['lam_front'], '.3g')} | {_f(c['lam_final'], '.3g')} | "
                  f"{c['inactive']} | {c['warned']} | {_f(c['trainings'], '.2g')} | "
                  f"{'yes' if c['passes'] else 'no'} |"
                  for c in cell_rows]
    lines += ["", "The fixed-λ front (geometric means over the seeds; λ = 0: the baseline):", "",
              "| case | penalty | λ | seeds | Γ_final (held out) | test MSE β = 0 |",
              "|---|---|---|---|---|---|"]
    lines += [f"| {f['case']} | {name[f['penalty']]} | {f['lam']:g} | {f['seeds']} | "
              f"{f['gamma_final']:.3g} | {f['mse']:.3g} |" for f in front]
    with open(os.path.join(out, "budget.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    make_budget_figure(rows, fixed, cfg, out)
    make_trace_figure(recs, cfg, out)
    make_search_figure(recs, cfg, out)
    return rows


def _case_penalty_panels(cfg):
    """A figure with one panel per penalty (rows) and case (columns): ``(fig, [(ax, case,
    penalty), ...])``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = [c for c in ("exact", "broken") if c in cfg.cases]
    fig, axes = plt.subplots(len(BUDGET_PENALTIES), len(cases),
                             figsize=(5.5 * len(cases), 4.2 * len(BUDGET_PENALTIES)),
                             squeeze=False)
    return fig, [(axes[i][j], case, pen) for j, case in enumerate(cases)
                 for i, pen in enumerate(BUDGET_PENALTIES)]


def _save(fig, out: str, name: str) -> None:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(os.path.join(out, name), dpi=100)
    plt.close(fig)


def make_budget_figure(rows: list[dict], fixed: dict, cfg, out: str) -> None:
    """Per case and penalty: held-out Γ_final against test MSE, the fixed-λ runs of each seed
    (open, dashed) and the budget runs (● lr rule, ✕ constant, ★ λ search), targets dotted."""
    fig, panels = _case_penalty_panels(cfg)
    marks = {"lr": "o", "constant": "x", "search": "*"}
    for ax, case, pen in panels:
        for seed in cfg.seeds:
            pts = sorted((g, m) for g, m, _ in fixed.get((case, pen, seed), []))
            if pts:
                ax.plot(*zip(*pts, strict=True), "o--", color=f"C{seed}", mfc="none", alpha=0.6,
                        label=f"fixed λ, seed {seed}")
        for r in rows:
            if (r["case"], r["penalty"]) == (case, pen):
                ax.plot(r["gamma_final"], r["mse_beta0"], marks.get(r["rule"], "s"),
                        color=f"C{r['seed']}", ms=7)
        for t in {r["target"] for r in rows if (r["case"], r["penalty"]) == (case, pen)}:
            ax.axvline(t, ls=":", color="k", lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(f"held-out Γ_final ({pen})")
        ax.set_ylabel("test MSE at β = 0")
        ax.set_title(f"{case}, {pen}: ● budget (lr rule), ✕ without schedule, ★ λ search",
                     fontsize=9)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=6)
    _save(fig, out, "budget.png")


def make_trace_figure(recs: list[dict], cfg, out: str) -> None:
    """λ and Γ̄ / target against the step of every budget run of the first case and seed
    (the running target / target dotted), one panel per penalty."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sel = [r for r in recs if r["method"] == "budget" and r["case"] == cfg.cases[0]
           and r["seed"] == cfg.seeds[0] and r["lam_log"] and len(r["lam_log"][0]) >= 4]
    if not sel:
        return
    fig, axes = plt.subplots(2, len(BUDGET_PENALTIES), figsize=(11, 7), squeeze=False)
    targets = sorted({r["target"] for r in sel})
    for j, pen in enumerate(BUDGET_PENALTIES):
        for r in (r for r in sel if r["penalty"] == pen):
            step = [e[0] for e in r["lam_log"]]
            col = f"C{targets.index(r['target'])}"
            ls = "-" if r.get("rule", "lr") == "lr" else "--"
            lab = f"target {r['target']:g}, {r.get('rule', 'lr')}"
            axes[0][j].plot(step, [e[1] for e in r["lam_log"]], ls, color=col, label=lab)
            axes[1][j].plot(step, [e[2] / r["target"] for e in r["lam_log"]], ls, color=col,
                            label=lab)
            if r.get("rule", "lr") == "lr":
                axes[1][j].plot(step, [e[3] / r["target"] for e in r["lam_log"]], ":",
                                color=col)
            axes[1][j].plot(step[-1], r["final_gamma_heldout"][pen] / r["target"], "*",
                            color=col, ms=11)
        axes[0][j].set_title(f"{cfg.cases[0]}, {pen}, seed {cfg.seeds[0]}", fontsize=9)
        axes[0][j].set_ylabel("λ")
        axes[1][j].set_ylabel("Γ̄ / target (★ held-out Γ_final; dotted: running target)")
        for ax in (axes[0][j], axes[1][j]):
            ax.set_yscale("log")
            ax.set_xlabel("step")
            ax.grid(alpha=0.3, which="both")
            ax.legend(fontsize=6)
    _save(fig, out, "budget_traces.png")


def make_search_figure(recs: list[dict], cfg, out: str) -> None:
    """budget_search.png: every λ search (rule ``search``) as Γ_val / target against its
    trainings (each trial's λ written beside it, the landing band shaded), one panel per case
    and penalty, a line per target and seed."""
    sel = [r for r in recs if r["method"] == "budget" and r.get("rule") == "search"]
    if not sel:
        return
    fig, panels = _case_penalty_panels(cfg)
    for ax, case, pen in panels:
        rs = [r for r in sel if (r["case"], r["penalty"]) == (case, pen)]
        targets = sorted({r["target"] for r in rs})
        for r in rs:
            n = range(1, len(r["trials"]) + 1)
            ratio = [t["gamma_val"] / r["target"] for t in r["trials"]]
            ax.plot(n, ratio, "o-", color=f"C{targets.index(r['target'])}", alpha=0.7,
                    ls=("-", "--", ":")[r["seed"] % 3],
                    label=f"target {r['target']:g}, seed {r['seed']}")
            for k, t, y in zip(n, r["trials"], ratio, strict=True):
                ax.annotate(f"{t['lam']:.2g}", (k, y), fontsize=5)
        ax.axhspan(1 / (1 + cfg.search_rtol), 1 + cfg.search_rtol, color="0.85")
        ax.set_yscale("log")
        ax.set_xlabel("training of the λ search (λ beside each point)")
        ax.set_ylabel("Γ_val / target")
        ax.set_title(f"{case}, {pen}: λ searches (band: landed)", fontsize=9)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=5)
    _save(fig, out, "budget_search.png")
