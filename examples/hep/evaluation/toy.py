"""The toy regression's reports: results.csv, table.md, best.csv, summary.md and the figures
(Fig. 1, Fig. 6, the comparison of every method at its best lambda).

``cfg`` everywhere: the toy's configuration, ``toy_regression.Config`` (the script's top).
"""

from __future__ import annotations

import csv
import math
import os

from examples.hep.models.toy import METHODS

CSV_COLUMNS = ("case", "method", "lam", "beta_max", "seed", "beta", "mse")


def write_results(recs: list[dict], out: str) -> None:
    with open(os.path.join(out, "results.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        for r in recs:
            bm = "" if r["beta_max"] is None else f"{r['beta_max']:.6g}"
            for beta, mse in zip(r["betas"], r["test_mse"], strict=True):
                w.writerow([r["case"], r["method"], f"{r['lam']:g}", bm, r["seed"], f"{beta:g}",
                            f"{mse:.6e}"])


def mean_curve(recs, key="test_mse"):
    """Average over seeds of the records of one (case, method, lam, beta_max2)."""
    n = len(recs)
    return [sum(r[key][i] for r in recs) / n for i in range(len(recs[0][key]))]


def group_runs(recs: list[dict]) -> dict:
    """(case, method, lam, beta_max2) -> dict(test=curve, val=curve, w=...) averaged over seeds."""
    groups: dict = {}
    for r in recs:
        groups.setdefault((r["case"], r["method"], r["lam"], r["beta_max2"]), []).append(r)
    return {k: dict(test=mean_curve(v), val=mean_curve(v, "val_mse"), n=len(v),
                    w=[r.get("symmetry_factor_w") for r in v]) for k, v in groups.items()}


def log_mean(curve) -> float:
    return sum(math.log10(max(v, 1e-300)) for v in curve) / len(curve)


def best_runs(runs: dict, case: str) -> dict:
    """Per method, the (lam, beta_max2) with the lowest mean log10 validation MSE over beta."""
    best = {}
    for (c, m, lam, b2), run in runs.items():
        if c == case and (m not in best or log_mean(run["val"]) < best[m][2]):
            best[m] = (lam, b2, log_mean(run["val"]))
    return best


def label(method, lam, b2) -> str:
    if method == "gseal":
        return f"GSEAL λ={lam:g}, β²max={b2:g}"
    if method == "dseal":
        return f"δSEAL λ={lam:g}"
    if method == "augment":
        return f"augment β²max={b2:g}"
    return method


def make_figures(runs: dict, cfg, out: str, best: dict | None = None) -> None:
    """fig1.png (δSEAL solid, GSEAL dashed, one colour per λ), fig6.png (GSEAL against β²max;
    λ_G = λ_δ / β²max) and comparison.png (each method at its best λ, the method's colour):
    test MSE against the test boost, mean over the seeds, legends outside the panels.
    ``best``: per case the :func:`best_runs` choice (as ``best.csv`` holds it, :func:`read_best`);
    by default chosen from the runs' validation curves."""
    from matplotlib.lines import Line2D

    from examples.hep.evaluation import style

    betas = list(cfg.test_betas)
    cases = [c for c in ("exact", "broken") if c in cfg.cases]
    titles = {"exact": "exact", "broken": "broken (s = (0,0,0,1e-3))"}
    all_lams = sorted(set(cfg.lams_gseal) | set(cfg.lams_dseal) | set(cfg.study_lams))
    color = lambda lam: style.series_color(all_lams.index(lam)) if lam in all_lams \
        else "grey"  # noqa: E731
    seeds = sorted({r["n"] for r in runs.values()})
    seeds_note = "mean over " + "/".join(map(str, seeds)) + (" seeds" if seeds != [1]
                                                                else " seed")
    base_handle = Line2D([], [], color=style.color("baseline"), lw=2, label="baseline (λ=0)")

    def base(ax, case):
        if (case, "baseline", 0.0, None) in runs:
            style.tag(ax.plot(betas, runs[(case, "baseline", 0.0, None)]["test"], "-",
                              color=style.color("baseline"), lw=2), "baseline")

    def finish(ax, title, curves):
        ax.set_yscale("log")
        style.fit(ax, betas, curves, margin=0.04)
        ax.set_xlabel(r"test boost $\beta$ (along z)")
        ax.set_ylabel("MSE")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3, which="both")

    def lam_handles(lams, extra=()):
        return [base_handle, *[Line2D([], [], color=color(lam), lw=2, label=f"λ_δ = {lam:g}")
                               for lam in lams], *extra]

    def curves_of(ax):
        return [line.get_ydata() for line in ax.lines]

    # Fig. 1: solid dSEAL, dashed GSEAL (beta_max^2 = cfg.beta_max2)
    _, fig, axes = style.subplots(1, len(cases), figsize=(5.2 * len(cases) + 2.8, 4.3))
    for ax, case in zip(axes[0], cases, strict=True):
        base(ax, case)
        for lam in cfg.lams_dseal:
            if (k := (case, "dseal", lam, None)) in runs:
                ax.plot(betas, runs[k]["test"], "-", color=color(lam))
        for lam in cfg.lams_gseal:
            if (k := (case, "gseal", lam, cfg.beta_max2)) in runs:
                ax.plot(betas, runs[k]["test"], "--", color=color(lam))
        finish(ax, f"Fig. 1, {titles[case]}", curves_of(ax))
    lams = sorted(set(cfg.lams_dseal) | set(cfg.lams_gseal))
    style.legend(fig, [base_handle, *[Line2D([], [], color=color(lam), lw=2,
                                             label=f"λ = {lam:g}") for lam in lams],
                       Line2D([], [], color="0.3", ls="-", label="δSEAL"),
                       Line2D([], [], color="0.3", ls="--",
                              label=f"GSEAL (β²max = {cfg.beta_max2:g})")], title=seeds_note)
    style.save(fig, os.path.join(out, "fig1.png"), dpi=100)

    # Fig. 6: (a, b) GSEAL vs beta_max at two lambdas; (c) small beta_max, lam_G = lam_d / b2
    study_b2 = sorted(set(cfg.study_beta_max2) | {cfg.beta_max2})
    bcol = {b2: style.series_color(i) for i, b2 in enumerate(study_b2)}
    ncol = len(cfg.study_lams) + 1
    _, fig, axes = style.subplots(len(cases), ncol, figsize=(4.6 * ncol + 2.8,
                                                             3.8 * len(cases)))
    for row, case in enumerate(cases):
        for col, lam in enumerate(cfg.study_lams):
            ax = axes[row][col]
            base(ax, case)
            for b2 in study_b2:
                if (k := (case, "gseal", lam, b2)) in runs:
                    ax.plot(betas, runs[k]["test"], "--", color=bcol[b2])
            finish(ax, f"({chr(97 + row * ncol + col)}) {titles[case]}: GSEAL λ={lam:g}",
                   curves_of(ax))
        ax = axes[row][-1]
        base(ax, case)
        sb2 = cfg.small_beta_max2
        for lam in cfg.lams_dseal:
            if (k := (case, "dseal", lam, None)) in runs:
                ax.plot(betas, runs[k]["test"], "-", color=color(lam))
            lg = round(lam / sb2, 10)
            if (k := (case, "gseal", lg, sb2)) in runs:
                ax.plot(betas, runs[k]["test"], "--", color=color(lam))
        finish(ax, f"({chr(97 + row * ncol + ncol - 1)}) {titles[case]}: "
                   f"λ_G = λ_δ / β²max", curves_of(ax))
    style.legend(axes[0][ncol - 2], [base_handle] + [
        Line2D([], [], color=bcol[b2], ls="--", lw=2, label=f"GSEAL, β²max = {b2:g}")
        for b2 in study_b2], title="(a, b)")
    style.legend(axes[0][-1], lam_handles(cfg.lams_dseal, (
        Line2D([], [], color="0.3", ls="-", label="δSEAL, λ_δ"),
        Line2D([], [], color="0.3", ls="--",
               label=f"GSEAL, λ_G = λ_δ / {cfg.small_beta_max2:g}"))),
        title=f"last column; {seeds_note}")
    style.save(fig, os.path.join(out, "fig6.png"), dpi=100)

    # comparison: every method at its best (lambda, beta_max) on the validation sample
    lstyle = dict(baseline="-", gseal="--", dseal="-", augment="-.", invariant=":",
                  dualsubnet="-")
    # one legend for the figure: a method's best λ where it is the same in every panel, else
    # one entry per panel that names its case
    chosen = {case: best[case] if best else best_runs(runs, case) for case in cases}
    names = {m: {label(m, lam, b2) for lam, b2, _ in (c[m] for c in chosen.values() if m in c)}
             for m in {m for c in chosen.values() for m in c}}
    _, fig, axes = style.subplots(1, len(cases), figsize=(5.6 * len(cases) + 2.6, 4.3))
    for ax, case in zip(axes[0], cases, strict=True):
        for m, (lam, b2, _) in chosen[case].items():
            name = label(m, lam, b2) + (f" ({case})" if len(names[m]) > 1 else "")
            style.tag(ax.plot(betas, runs[(case, m, lam, b2)]["test"], lstyle.get(m, "-"),
                              color=style.color(m), lw=2, label=name), m)
        finish(ax, f"{titles[case]}: each method at its best λ (validation)", curves_of(ax))
    style.legend(fig, title=seeds_note)
    style.save(fig, os.path.join(out, "comparison.png"), dpi=100)


def _b2(text: str):
    return None if text == "" else float(text)


def read_results(path) -> dict:
    """The runs of a ``results.csv`` (:func:`write_results`) as :func:`group_runs` gives them,
    test curves only (mean over the seeds in the file): (case, method, lam, beta_max2) ->
    dict(test=curve, n=seeds). β²max is β_max² of the file's ``beta_max`` column to 4 digits
    (the column holds β_max to 6)."""
    cells: dict = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            b2 = None if r["beta_max"] == "" else float(f"{float(r['beta_max']) ** 2:.4g}")
            key = (r["case"], r["method"], float(r["lam"]), b2)
            cells.setdefault(key, {}).setdefault(r["seed"], []).append(float(r["mse"]))
    return {k: dict(test=[sum(v) / len(v) for v in zip(*seeds.values(), strict=True)],
                    n=len(seeds)) for k, seeds in cells.items()}


def read_best(path) -> dict:
    """``best.csv`` (:func:`write_tables`): case -> method -> (lam, beta_max2, mean log10
    validation MSE), the choice :func:`best_runs` made on the validation curves."""
    best: dict = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            best.setdefault(r["case"], {})[r["method"]] = (
                float(r["lam"]), _b2(r["beta_max2"]), float(r["val_mean_log10_mse"]))
    return best


def redraw_figures(cfg, out: str) -> list[str]:
    """Train nothing: draw fig1.png, fig6.png and comparison.png again in ``out`` from the
    ``results.csv`` and ``best.csv`` there (the comparison's best λ as ``best.csv`` records
    it: the validation curves are not in the CSVs). Returns the names drawn."""
    runs = read_results(os.path.join(out, "results.csv"))
    make_figures(runs, cfg, out, best=read_best(os.path.join(out, "best.csv")))
    return ["fig1.png", "fig6.png", "comparison.png"]


def nearest(betas, b) -> int:
    return min(range(len(betas)), key=lambda i: abs(betas[i] - b))


def write_tables(runs: dict, cfg, out: str) -> None:
    """table.md (MSE at cfg.table_betas), best.csv and summary.md (the App. A checks)."""
    betas = list(cfg.test_betas)
    cols = [nearest(betas, b) for b in cfg.table_betas]
    cases = [c for c in ("exact", "broken") if c in cfg.cases]
    order = {m: i for i, m in enumerate(METHODS)}
    keys = sorted({(m, lam, b2) for (_, m, lam, b2) in runs},
                  key=lambda k: (order[k[0]], -1 if k[2] is None else -k[2], k[1]))
    head = "| method | λ | β²max | " + " | ".join(
        f"{c} β={betas[i]:g}" for c in cases for i in cols) + " |"
    lines = [head, "|" + "---|" * (3 + len(cases) * len(cols))]
    for m, lam, b2 in keys:
        vals = []
        for c in cases:
            run = runs.get((c, m, lam, b2))
            vals += [f"{run['test'][i]:.2e}" if run else "—" for i in cols]
        lines.append(f"| {m} | {lam:g} | {'' if b2 is None else f'{b2:g}'} | "
                     + " | ".join(vals) + " |")
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write("\n".join(lines) + "\n")

    with open(os.path.join(out, "best.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(("case", "method", "lam", "beta_max2", "val_mean_log10_mse"))
        for c in cases:
            for m, (lam, b2, v) in best_runs(runs, c).items():
                w.writerow((c, m, f"{lam:g}", "" if b2 is None else f"{b2:g}", f"{v:.4f}"))

    # summary: the numbers behind the three acceptance claims (no thresholds, just numbers)
    s = []
    i0, i4, i8 = (nearest(betas, b) for b in (0.0, 0.4, 0.8))
    for c in cases:
        s.append(f"## {c}\n")
        s.append("flatness log10(MSE(β=0.8)/MSE(β=0)) and range where a curve is below the "
                 "baseline:\n")
        bl = runs.get((c, "baseline", 0.0, None))
        for (cc, m, lam, b2), run in runs.items():   # in plan order
            if cc != c:
                continue
            t = run["test"]
            flat = math.log10(t[i8] / t[i0])
            ref = bl["test"] if bl else [-math.inf] * len(t)
            below = [b for b, v, r in zip(betas, t, ref, strict=True) if v < r]
            s.append(f"- {label(m, lam, b2)}: flatness {flat:+.2f}; MSE β=0 {t[i0]:.2e}, "
                     f"β=0.4 {t[i4]:.2e}, β=0.8 {t[i8]:.2e}; below baseline at "
                     f"{len(below)}/{len(betas)} test β"
                     + (f" ({min(below):g}–{max(below):g})" if below else "")
                     + (f"; w = {run['w']}" if m == "dualsubnet" else ""))
        # best curve per beta among the Fig. 1 curves
        fig1 = {k: v for k, v in runs.items() if k[0] == c and (
            k[1] == "baseline" or (k[1] == "dseal") or (k[1] == "gseal" and k[3] == cfg.beta_max2))}
        winners = []
        for i, b in enumerate(betas):
            k = min(fig1, key=lambda k: fig1[k]["test"][i])
            winners.append(f"β={b:g}: {label(k[1], k[2], k[3])}")
        s.append("\nbest Fig. 1 curve per test β: " + "; ".join(winners) + "\n")
        # Fig. 6c: distance of each dSEAL curve to each small-beta_max GSEAL curve
        sb2 = cfg.small_beta_max2
        g_small = {k[2]: v["test"] for k, v in runs.items()
                   if k[0] == c and k[1] == "gseal" and k[3] == sb2}
        s.append(f"Fig. 6c (β²max = {sb2:g}): mean |log10 MSE_G − log10 MSE_δ| over test "
                 "β ≤ 0.4 / all β, for every GSEAL λ_G (matched: λ_G = λ_δ / β²max):")
        small = [i for i, b in enumerate(betas) if b <= 0.4 + 1e-9]
        for lam in cfg.lams_dseal:
            if (c, "dseal", lam, None) not in runs:
                continue
            d = runs[(c, "dseal", lam, None)]["test"]
            parts = []
            for lg, gcurve in sorted(g_small.items()):
                dist = [abs(math.log10(gcurve[i] / d[i])) for i in range(len(betas))]
                tag = " (matched)" if math.isclose(lg, lam / sb2) else ""
                parts.append(f"λ_G={lg:g}{tag}: {sum(dist[i] for i in small) / len(small):.3f}"
                             f" / {sum(dist) / len(dist):.3f}")
            if bl:
                dist = [abs(math.log10(bl["test"][i] / d[i])) for i in range(len(betas))]
                parts.append(f"baseline: {sum(dist[i] for i in small) / len(small):.3f} / "
                             f"{sum(dist) / len(dist):.3f}")
            s.append(f"- δSEAL λ_δ={lam:g}: " + "; ".join(parts))
        s.append("")
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write("\n".join(s) + "\n")
