"""The toy's violation-budget study (``toy_regression.py --budget``, docs/budget.md): the
budget cells against the fixed-lambda front; budget.csv, budget.md and budget.png.

``cfg`` everywhere: the toy's configuration, ``toy_regression.Config`` (the script's top).
"""

from __future__ import annotations

import csv
import math
import os

from examples.hep.evaluation.toy import nearest
from examples.hep.models.toy import BUDGET_PENALTIES

BUDGET_COLUMNS = ("case", "penalty", "target", "beta_max", "seed", "lam_final", "lam_at_floor",
                  "gamma_ema", "gamma_ema_over_target", "gamma_last50_over_target",
                  "final_gamma", "skipped", "mse_beta0", "mse_beta0.4", "mse_beta0.8",
                  "front_ratio_beta0.8", "position", "gamma_front_ratio_mse0", "gamma_position",
                  "train_seconds")
FLOOR_RTOL = 1e-9    # lambda "at its floor": within this relative distance of lam_min
FRONT_TOL = 1.5      # "on" the fixed-lambda front: MSE(0.8) within this factor of the front's


def pareto(points: list[tuple]) -> list[tuple]:
    """The non-dominated ``(mse0, mse8, ...)`` points (lower is better in both), by mse0."""
    front = [p for p in points
             if not any(q[0] <= p[0] and q[1] <= p[1] and q[:2] != p[:2] for q in points)]
    return sorted(front, key=lambda p: p[0])


def front_position(p0: float, p8: float, front: list[tuple]) -> tuple[float, str]:
    """Where ``(p0, p8)`` lies against a fixed-lambda front (sorted by MSE(0), MSE(0.8)
    decreasing): the ratio of its MSE at beta = 0.8 to the front's at the same beta = 0 MSE
    (log-log interpolation between front points; to the right of the front, the front is flat
    at its lowest MSE(0.8)), and a verdict: ``inside`` (ratio > FRONT_TOL: worse than the
    front), ``beyond`` (ratio < 1 / FRONT_TOL) or ``on``. Left of the front (a lower MSE at
    beta = 0 than any fixed lambda) the ratio is nan and the point is ``beyond`` if it also
    beats the leftmost point at beta = 0.8, else ``on``."""
    lx = [math.log10(q[0]) for q in front]
    ly = [math.log10(q[1]) for q in front]
    x = math.log10(p0)
    if x < lx[0]:
        return math.nan, "beyond" if p8 <= front[0][1] else "on"
    y = ly[-1]
    for i in range(len(lx) - 1):
        if lx[i] <= x <= lx[i + 1]:
            t = (x - lx[i]) / (lx[i + 1] - lx[i]) if lx[i + 1] > lx[i] else 0.0
            y = ly[i] + t * (ly[i + 1] - ly[i])
            break
    ratio = 10 ** (math.log10(p8) - y)
    verdict = "inside" if ratio > FRONT_TOL else "beyond" if ratio < 1 / FRONT_TOL else "on"
    return ratio, verdict


def budget_rows(recs: list[dict], cfg) -> tuple[list[dict], dict]:
    """One row per budget cell (BUDGET_COLUMNS) and the fixed-lambda points per (case, penalty):
    ``(mse0, mse8, label, Gamma of that penalty at the end of training)``."""
    betas = list(cfg.test_betas)
    i0, i4, i8 = (nearest(betas, b) for b in (0.0, 0.4, 0.8))
    fixed: dict = {}
    for r in recs:
        t = r["test_mse"]
        gam = r.get("final_gamma") or {}
        for pen in BUDGET_PENALTIES:
            if r["method"] == "baseline" or (r["method"] == pen and (
                    pen == "dseal" or math.isclose(r["beta_max2"], cfg.beta_max2))):
                name = "baseline" if r["method"] == "baseline" else f"λ={r['lam']:g}"
                fixed.setdefault((r["case"], pen), []).append(
                    (t[i0], t[i8], name, gam.get(pen, math.nan), r["seed"]))
    rows = []
    for r in recs:
        if r["method"] != "budget":
            continue
        t = r["test_mse"]
        pts = [q for q in fixed.get((r["case"], r["penalty"]), []) if q[4] == r["seed"]]
        ratio, verdict = (front_position(t[i0], t[i8], pareto(pts)) if pts
                          else (math.nan, "no fixed-λ cells"))
        # the trade-off the constraint sets: final Γ against test MSE at beta = 0
        gam = (r.get("final_gamma") or {}).get(r["penalty"], math.nan)
        gpts = [(q[3], q[0]) for q in pts if math.isfinite(q[3])]
        g_ratio, g_verdict = (front_position(gam, t[i0], pareto(gpts))
                              if gpts and math.isfinite(gam) else (math.nan, "—"))
        rows.append({
            "case": r["case"], "penalty": r["penalty"], "target": r["target"],
            "beta_max": r["beta_max"], "seed": r["seed"], "lam_final": r["lam_final"],
            "lam_at_floor": abs(r["lam_final"] - r["lam_min"]) <= FLOOR_RTOL * r["lam_min"],
            "gamma_ema": r["gamma_ema"], "gamma_ema_over_target": r["gamma_ema"] / r["target"],
            "gamma_last50_over_target": r["penalty_last50"] / r["target"],
            "final_gamma": (r.get("final_gamma") or {}).get(r["penalty"], math.nan),
            "skipped": r["skipped"], "mse_beta0": t[i0], "mse_beta0.4": t[i4],
            "mse_beta0.8": t[i8], "front_ratio_beta0.8": ratio, "position": verdict,
            "gamma_front_ratio_mse0": g_ratio, "gamma_position": g_verdict,
            "train_seconds": r["train_seconds"]})
    return rows, fixed


def write_budget_reports(recs: list[dict], cfg, out: str) -> list[dict]:
    """budget.csv, budget.md (the budget runs against the fixed-lambda front) and budget.png."""
    rows, fixed = budget_rows(recs, cfg)
    with open(os.path.join(out, "budget.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, BUDGET_COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    name = {"gseal": f"GSEAL (β²max={cfg.beta_max2:g})", "dseal": "δSEAL"}
    lines = []
    for (case, pen), pts in fixed.items():
        lines += [f"## {case}, {name[pen]}\n", "fixed λ (the front; Γ measured after training "
                  f"on {cfg.gamma_eval} training vectors):\n",
                  "| run | Γ final | MSE β=0 | MSE β=0.8 |", "|---|---|---|---|"]
        lines += [f"| {q[2]} (seed {q[4]}) | {q[3]:.2e} | {q[0]:.2e} | {q[1]:.2e} |"
                  for q in sorted(pts, key=lambda q: (q[4], q[0]))]
        lines += ["", "budget:\n", "| target | Γ̄ (EMA) / target | Γ last 50 / target | Γ final | "
                  "λ final | at floor | MSE β=0 | MSE β=0.8 | MSE(0.8) / front | position | "
                  "MSE(0) / Γ-front | Γ-position |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            if (r["case"], r["penalty"]) == (case, pen):
                lines.append(
                    f"| {r['target']:g} | {r['gamma_ema_over_target']:.2f} | "
                    f"{r['gamma_last50_over_target']:.2f} | {r['final_gamma']:.2e} | "
                    f"{r['lam_final']:.3g} | {'yes' if r['lam_at_floor'] else 'no'} | "
                    f"{r['mse_beta0']:.2e} | {r['mse_beta0.8']:.2e} | "
                    f"{r['front_ratio_beta0.8']:.2f} | {r['position']} | "
                    f"{r['gamma_front_ratio_mse0']:.2f} | {r['gamma_position']} |")
        lines.append("")
    lines.append("MSE(0.8) / front: the run's test MSE at β = 0.8 over the fixed-λ front's at the "
                 "same MSE at β = 0 (log-log interpolation; `inside` > "
                 f"{FRONT_TOL:g}, `beyond` < 1/{FRONT_TOL:g}). MSE(0) / Γ-front: the same in "
                 "the plane (final Γ, test MSE at β = 0), the trade-off the constraint sets; "
                 "nan: a lower Γ than any fixed λ reached.\n")
    with open(os.path.join(out, "budget.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    make_budget_figure(rows, fixed, cfg, out)
    return rows


def make_budget_figure(rows: list[dict], fixed: dict, cfg, out: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = [c for c in ("exact", "broken") if c in cfg.cases]
    fig, axes = plt.subplots(1, len(cases), figsize=(6 * len(cases), 4.5), squeeze=False)
    style = {"gseal": ("C0", "o"), "dseal": ("C1", "s")}
    for ax, case in zip(axes[0], cases, strict=True):
        for pen in BUDGET_PENALTIES:
            col, mk = style[pen]
            pts = sorted(fixed.get((case, pen), []),   # in lambda order, baseline first
                         key=lambda q: 0.0 if q[2] == "baseline" else float(q[2][2:]))
            if pts:
                ax.plot([q[0] for q in pts], [q[1] for q in pts], mk + "--", color=col,
                        mfc="none", label=f"{pen} fixed λ (and baseline)")
                for q in pts:
                    ax.annotate(q[2], (q[0], q[1]), fontsize=6, color=col)
            bud = [r for r in rows if (r["case"], r["penalty"]) == (case, pen)]
            if bud:
                ax.plot([r["mse_beta0"] for r in bud], [r["mse_beta0.8"] for r in bud], mk,
                        color=col, ms=8, label=f"{pen} budget")
                for r in bud:
                    ax.annotate(f"target {r['target']:g}", (r["mse_beta0"], r["mse_beta0.8"]),
                                fontsize=6, color=col, xytext=(4, -8), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("test MSE at β = 0")
        ax.set_ylabel("test MSE at β = 0.8")
        ax.set_title(f"{case}: violation budgets vs fixed λ", fontsize=9)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "budget.png"), dpi=100)
    plt.close(fig)
