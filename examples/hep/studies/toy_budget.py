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

from examples.hep.evaluation import style
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
    """budget.csv (one row per run), budget.json (cells, summary, front), budget.md, budget.png
    and the runs' figures with their data (:func:`write_run_figures`)."""
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
    write_run_figures(recs, cfg, out)
    return rows


_TRACE_KEYS = ("case", "seed", "method", "rule", "penalty", "target", "lam_log",
               "final_gamma_heldout")
_SEARCH_KEYS = ("case", "seed", "method", "rule", "penalty", "target", "trials")


def figure_data(recs: list[dict], cfg) -> dict:
    """The part of the runs that each run figure draws, small enough to commit beside it:
    ``{"budget_traces.json": ..., "budget_search.json": ...}``, each with the configuration
    fields its figure reads and its ``records`` — every budget run of the first case and seed
    with its λ log (:func:`make_trace_figure`), every λ search with its trials
    (:func:`make_search_figure`); a figure without runs gets no file."""
    def keep(r, keys):
        return {k: r[k] for k in keys if k in r}
    head = dict(cases=list(cfg.cases), seeds=list(cfg.seeds), search_rtol=cfg.search_rtol)
    traced = [keep(r, _TRACE_KEYS) for r in recs if r["method"] == "budget"
              and r.get("rule") != "search" and r["case"] == cfg.cases[0]
              and r["seed"] == cfg.seeds[0] and r.get("lam_log")]
    searched = [keep(r, _SEARCH_KEYS) for r in recs
                if r["method"] == "budget" and r.get("rule") == "search"]
    return {name: dict(head, records=rs) for name, rs in
            (("budget_traces.json", traced), ("budget_search.json", searched)) if rs}


_FIGURES = (("budget_traces.json", "budget_traces.png"),
            ("budget_search.json", "budget_search.png"))


def write_run_figures(recs: list[dict], cfg, out: str) -> list[str]:
    """The runs' figures with their data: ``budget_traces.json`` / ``budget_search.json``
    (:func:`figure_data`), then ``budget_traces.png`` / ``budget_search.png`` drawn from those
    files alone (:func:`redraw_run_figures`), so that the committed data redraw them. Without
    budget runs (the front alone) nothing is written and ``[]`` returned."""
    files = figure_data(recs, cfg)
    if not files:       # no budget run (e.g. the front alone): nothing to draw
        return []
    for name, data in files.items():
        with open(os.path.join(out, name), "w") as f:
            json.dump(data, f, separators=(",", ":"))
    return redraw_run_figures(cfg, out)


def redraw_run_figures(cfg, out: str) -> list[str]:
    """``budget_traces.png`` and ``budget_search.png`` in ``out`` from ``budget_traces.json`` and
    ``budget_search.json`` there (``toy_regression.py --budget --redraw``); each figure uses
    its file's cases, seeds and landing tolerance. Returns the figures drawn; raises
    FileNotFoundError when ``out`` holds neither file."""
    import dataclasses

    drawn = []
    for name, png in _FIGURES:
        path = os.path.join(out, name)
        if not os.path.exists(path):
            continue
        with open(path) as f:
            data = json.load(f)
        fcfg = dataclasses.replace(cfg, cases=tuple(data["cases"]), seeds=tuple(data["seeds"]),
                                   search_rtol=data["search_rtol"])
        draw = make_trace_figure if png == "budget_traces.png" else make_search_figure
        if draw(data["records"], fcfg, out):
            drawn.append(png)
    if not drawn and not any(os.path.exists(os.path.join(out, n)) for n, _ in _FIGURES):
        raise FileNotFoundError(f"redraw: expected budget_traces.json or budget_search.json in "
                                f"{out} (written by toy_regression.py --budget), found neither")
    return drawn


def _case_penalty_panels(cfg, rows_per_panel: int = 1):
    """A figure with one panel per penalty (rows) and case (columns), in the examples' style:
    ``(fig, [(axes, case, penalty), ...])`` with ``axes`` one Axes (``rows_per_panel=1``) or
    that many stacked ones."""
    cases = [c for c in ("exact", "broken") if c in cfg.cases]
    k = rows_per_panel
    _, fig, axes = style.subplots(k * len(BUDGET_PENALTIES), len(cases),
                                  figsize=(5.0 * len(cases) + 2.6,
                                           (4.0 if k == 1 else 2.6 * k) * len(BUDGET_PENALTIES)))
    return fig, [((axes[i * k][j] if k == 1 else [axes[i * k + q][j] for q in range(k)]),
                  case, pen)
                 for j, case in enumerate(cases) for i, pen in enumerate(BUDGET_PENALTIES)]


def _save(fig, out: str, name: str) -> None:
    style.save(fig, os.path.join(out, name))


def _target_label(t: float) -> str:
    return f"target {t:g}"


def make_budget_figure(rows: list[dict], fixed: dict, cfg, out: str) -> None:
    """Per case and penalty: held-out Γ_final against test MSE, the fixed-λ runs of each seed
    (open, dashed; one colour per seed) and the budget runs (one marker per rule, the seed's
    colour), targets dotted; one legend outside."""
    from matplotlib.lines import Line2D

    fig, panels = _case_penalty_panels(cfg)
    rules = sorted({r["rule"] for r in rows}, key=lambda r: (r != "lr", r))
    for ax, case, pen in panels:
        xs, ys = [], []
        for seed in cfg.seeds:
            pts = sorted((g, m) for g, m, _ in fixed.get((case, pen, seed), []))
            if pts:
                ax.plot(*zip(*pts, strict=True), "o--", color=style.series_color(seed),
                        mfc="none", alpha=0.7)
                xs += [p[0] for p in pts]
                ys += [p[1] for p in pts]
        for r in rows:
            if (r["case"], r["penalty"]) == (case, pen):
                ax.plot(r["gamma_final"], r["mse_beta0"], style.marker(r["rule"]), ls="none",
                        color=style.series_color(r["seed"]), ms=8)
                xs.append(r["gamma_final"])
                ys.append(r["mse_beta0"])
        targets = {r["target"] for r in rows if (r["case"], r["penalty"]) == (case, pen)}
        for t in targets:
            ax.axvline(t, ls=":", color="k", lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        style.fit(ax, xs + list(targets), ys, margin=0.06)
        ax.set_xlabel(f"held-out $\\Gamma_{{final}}$ ({pen})")
        ax.set_ylabel(r"test MSE at $\beta$ = 0")
        ax.set_title(f"{case}, {pen}")
        ax.grid(alpha=0.3, which="both")
    handles = [Line2D([], [], color=style.series_color(s), lw=2, label=f"seed {s}")
               for s in cfg.seeds]
    handles.append(Line2D([], [], color="0.3", marker="o", mfc="none", ls="--",
                          label="fixed λ (λ = 0: baseline)"))
    handles += [Line2D([], [], color="0.3", marker=style.marker(rule), ms=8, ls="none",
                       label=f"budget, rule {rule}" if rule != "search" else "λ search")
                for rule in rules]
    handles.append(Line2D([], [], color="k", ls=":", lw=0.8, label="targets"))
    style.legend(fig, handles)
    _save(fig, out, "budget.png")


def make_trace_figure(recs: list[dict], cfg, out: str) -> bool:
    """λ and Γ̄ / target against the step of every budget run of the first case and seed, one
    column per penalty and target, one colour per rule (the running target / target dotted,
    ★ the held-out Γ_final), one legend outside. False (nothing drawn) without such runs."""
    from matplotlib.lines import Line2D

    sel = [r for r in recs if r["method"] == "budget" and r["case"] == cfg.cases[0]
           and r["seed"] == cfg.seeds[0] and r.get("lam_log") and len(r["lam_log"][0]) >= 4]
    if not sel:
        return False
    cols = sorted({(BUDGET_PENALTIES.index(r["penalty"]), -r["target"], r["penalty"],
                    r["target"]) for r in sel})
    cols = [(pen, t) for _, _, pen, t in cols]
    rules = sorted({r.get("rule", "lr") for r in sel}, key=lambda r: (r != "lr", r))
    _, fig, axes = style.subplots(2, len(cols), figsize=(3.3 * len(cols) + 2.6, 6.4))
    for j, (pen, target) in enumerate(cols):
        lam_y, g_y, steps = [], [], []
        for r in (r for r in sel if (r["penalty"], r["target"]) == (pen, target)):
            rule = r.get("rule", "lr")
            step = [e[0] for e in r["lam_log"]]
            col = style.color(rule)
            lam = [e[1] for e in r["lam_log"]]
            g = [e[2] / r["target"] for e in r["lam_log"]]
            style.tag(axes[0][j].plot(step, lam, "-", color=col, lw=1.3), rule)
            style.tag(axes[1][j].plot(step, g, "-", color=col, lw=1.3), rule)
            if rule == "lr":
                run_t = [e[3] / r["target"] for e in r["lam_log"]]
                axes[1][j].plot(step, run_t, ":", color=col)
                g_y += run_t
            gf = r["final_gamma_heldout"][pen] / r["target"]
            axes[1][j].plot(step[-1], gf, "*", color=col, ms=10, ls="none")
            lam_y += lam
            g_y += g + [gf]
            steps += step
        axes[0][j].set_title(f"{pen}, {_target_label(target)}")
        for ax, ys in ((axes[0][j], lam_y), (axes[1][j], g_y)):
            ax.set_yscale("log")
            ax.grid(alpha=0.3, which="both")
            style.fit(ax, steps, ys, margin=0.04)
        axes[1][j].set_xlabel("step")
    axes[0][0].set_ylabel("λ")
    axes[1][0].set_ylabel(r"$\bar\Gamma$ / target")
    handles = [Line2D([], [], color=style.color(rule), lw=2, label=f"rule {rule}")
               for rule in rules]
    handles += [Line2D([], [], color="0.3", ls=":", label="running target / target (lr)"),
                Line2D([], [], color="0.3", marker="*", ms=10, ls="none",
                       label="held-out $\\Gamma_{final}$ / target")]
    style.legend(fig, handles, title=f"{cfg.cases[0]} case, seed {cfg.seeds[0]}")
    _save(fig, out, "budget_traces.png")
    return True


def make_search_figure(recs: list[dict], cfg, out: str) -> bool:
    """budget_search.png: every λ search (rule ``search``), per case and penalty Γ_val / target
    (the landing band shaded) and the trial's λ against the search's trainings; one colour per
    target, one line style per seed, a legend per penalty outside. False (nothing drawn)
    without searches."""
    from matplotlib.lines import Line2D

    sel = [r for r in recs if r["method"] == "budget" and r.get("rule") == "search"]
    if not sel:
        return False
    fig, panels = _case_penalty_panels(cfg, rows_per_panel=2)
    seed_ls = ("-", "--", ":")
    last_case = panels[-1][1]
    for (gx, lx), case, pen in panels:
        rs = [r for r in sel if (r["case"], r["penalty"]) == (case, pen)]
        targets = sorted({r["target"] for r in sel if r["penalty"] == pen})
        g_y, l_y, n_max = [1 / (1 + cfg.search_rtol), 1 + cfg.search_rtol], [], 1
        for r in rs:
            n = list(range(1, len(r["trials"]) + 1))
            c = style.series_color(targets.index(r["target"]))
            ls = seed_ls[r["seed"] % 3]
            ratio = [t["gamma_val"] / r["target"] for t in r["trials"]]
            gx.plot(n, ratio, marker="o", ms=4, color=c, ls=ls)
            lx.plot(n, [t["lam"] for t in r["trials"]], marker="o", ms=4, color=c, ls=ls)
            g_y += ratio
            l_y += [t["lam"] for t in r["trials"]]
            n_max = max(n_max, len(n))
        gx.axhspan(1 / (1 + cfg.search_rtol), 1 + cfg.search_rtol, color="0.85", zorder=0)
        for ax, ys in ((gx, g_y), (lx, l_y)):
            ax.set_yscale("log")
            ax.grid(alpha=0.3, which="both")
            style.integer_ticks(ax, "x")
            ax.set_xlim(0.6, n_max + 0.4)
            style.fit(ax, None, ys, margin=0.08)
        gx.set_ylabel(r"$\Gamma_{val}$ / target")
        lx.set_ylabel("λ of the training")
        lx.set_xlabel("training of the λ search")
        gx.set_title(f"{case}, {pen} (band: landed)")
        if case == last_case:
            handles = [Line2D([], [], color=style.series_color(i), lw=2,
                              label=_target_label(t)) for i, t in enumerate(targets)]
            handles += [Line2D([], [], color="0.3", ls=seed_ls[s % 3], label=f"seed {s}")
                        for s in sorted({r["seed"] for r in sel})]
            style.legend(gx, handles, title=pen)
    _save(fig, out, "budget_search.png")
    return True
