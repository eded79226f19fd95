"""Every figure function of examples/hep, rendered on small synthetic data (Agg), read as a
reader would (issue 32, item 5): no two text labels overlap and none is clipped by the figure
(matplotlib's text bounding boxes: tick labels, axis labels, titles, legend texts,
annotations), no text under :data:`style.MIN_FONT` pt, every legend outside the data area of
every axes and without two equal entries, no marker on an axes' frame, no axis running more
than 15 % of its length past its data, one colour per method across figures, one-seed points
marked (hollow marker, "1 seed" in the legend), error bars named ("std over n seeds"),
integer ticks on count axes.

The figures are caught at :func:`style.save` (every figure function saves through it), checked,
then closed. The checker itself is tested on figures with planted faults (a legend placed
"best" inside the axes, crowded 4-pt labels, text past the figure's edge, duplicate legend
entries, an axis running far past its data)."""

from __future__ import annotations

import math
import pathlib
import re
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.markers import MarkerStyle  # noqa: E402

from examples.hep.evaluation import regression as rev  # noqa: E402
from examples.hep.evaluation import style, toy  # noqa: E402
from examples.hep.evaluation import tagging as ev  # noqa: E402
from examples.hep.studies import efficiency, tagger_budget, toy_budget  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
RNG = np.random.default_rng(0)


# ----------------------------------------------------------------------------- the checker
def _texts(fig, renderer):
    """(description, Text) of every visible, non-empty text of ``fig``."""
    out = []

    def add(where, t):
        if t is not None and t.get_visible() and t.get_text().strip():
            out.append((f"{where}: {t.get_text()!r}", t))

    for i, ax in enumerate(fig.axes):
        if not ax.get_visible():
            continue
        for name in ("title", "_left_title", "_right_title"):
            add(f"axes {i} title", getattr(ax, name, None))
        for axis, which in ((ax.xaxis, "x"), (ax.yaxis, "y")):
            add(f"axes {i} {which}label", axis.label)
            add(f"axes {i} {which} offset", axis.get_offset_text())
            for tick in axis._update_ticks():       # the ticks drawn (in the view)
                add(f"axes {i} {which}tick", tick.label1)
                add(f"axes {i} {which}tick", tick.label2)
        for t in ax.texts:
            add(f"axes {i} text", t)
        leg = ax.get_legend()
        if leg is not None:
            add(f"axes {i} legend title", leg.get_title())
            for t in leg.get_texts():
                add(f"axes {i} legend", t)
    for t in fig.texts:
        add("figure text", t)
    if getattr(fig, "_suptitle", None) is not None:
        add("suptitle", fig._suptitle)
    for leg in fig.legends:
        add("figure legend title", leg.get_title())
        for t in leg.get_texts():
            add("figure legend", t)
    return out


def _legends(fig):
    legs = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    return legs + list(fig.legends)


def _data_lines(ax):
    """Line2D artists in data coordinates (not axhline / axvline, not legend proxies)."""
    return [ln for ln in ax.get_lines() if ln.get_visible()
            and ln.get_transform() == ax.transData and len(np.atleast_1d(ln.get_xdata()))]


def _display_points(ax, ln):
    xy = np.column_stack([np.asarray(ln.get_xdata(), dtype=float),
                          np.asarray(ln.get_ydata(), dtype=float)])
    ok = np.isfinite(xy).all(axis=1)
    if ax.get_xscale() == "log":
        ok &= xy[:, 0] > 0
    if ax.get_yscale() == "log":
        ok &= xy[:, 1] > 0
    return ax.transData.transform(xy[ok]) if ok.any() else np.empty((0, 2))


def _slack(ax, most: float = 0.15) -> list[str]:
    """An axis that runs past its data by more than ``most`` of its length on a side (in its
    scale: a log axis to 1e5 for data up to 2.1e4 runs 0.34 of its length past them); a
    shared axis against the data of all the axes that share it."""
    def group(shared):      # a shared axis is judged on the data of all its axes
        return [np.concatenate(v) for v in zip(*(style.data_of(a) for a in
                                                 shared.get_siblings(ax)), strict=True)]

    xs = group(ax.get_shared_x_axes())[0]
    ys = group(ax.get_shared_y_axes())[1]
    out = []
    for name, v, lim, log in (("x", xs, ax.get_xlim(), ax.get_xscale() == "log"),
                              ("y", ys, ax.get_ylim(), ax.get_yscale() == "log")):
        v = v[np.isfinite(v) & ((v > 0) if log else True)]
        lo, hi = sorted(lim)
        if v.size == 0 or v.min() == v.max():
            continue
        f = np.log10 if log else (lambda a: a)
        span = f(hi) - f(lo)
        pad = max(f(v.min()) - f(lo), f(hi) - f(v.max())) / span
        if pad > most:
            out.append(f"{name} axis runs {pad:.0%} of its length past the data")
    return out


def problems(fig) -> list[str]:
    """What a reader would trip over in ``fig``: a list of findings (empty: none)."""
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    found = []
    texts = [(d, t, t.get_window_extent(r)) for d, t in _texts(fig, r)]
    W, H = fig.bbox.width, fig.bbox.height
    for d, t, b in texts:
        if b.x0 < -1 or b.y0 < -1 or b.x1 > W + 1 or b.y1 > H + 1:
            found.append(f"clipped by the figure: {d}")
        if t.get_fontsize() < style.MIN_FONT - 1e-9:
            found.append(f"font {t.get_fontsize():g} pt < {style.MIN_FONT}: {d}")
    if texts:      # pairwise: an overlap of more than 1 px in both directions
        box = np.array([[b.x0, b.y0, b.x1, b.y1] for _, _, b in texts])
        ox = np.minimum(box[:, None, 2], box[None, :, 2]) - np.maximum(box[:, None, 0],
                                                                       box[None, :, 0])
        oy = np.minimum(box[:, None, 3], box[None, :, 3]) - np.maximum(box[:, None, 1],
                                                                       box[None, :, 1])
        for i, j in zip(*np.nonzero(np.triu((ox > 1.0) & (oy > 1.0), k=1)), strict=True):
            found.append(f"overlap: {texts[i][0]} / {texts[j][0]}")
    for leg in _legends(fig):
        lb = leg.get_window_extent(r)
        for i, ax in enumerate(fig.axes):
            ab = ax.bbox
            if min(lb.x1, ab.x1) - max(lb.x0, ab.x0) > 1 and \
                    min(lb.y1, ab.y1) - max(lb.y0, ab.y0) > 1:
                found.append(f"legend inside the data area of axes {i}")
        labels = [t.get_text() for t in leg.get_texts()]
        if len(labels) != len(set(labels)):
            found.append(f"duplicate legend entries: {sorted(labels)}")
    for i, ax in enumerate(fig.axes):
        found += [f"axes {i}: {w}" for w in _slack(ax)]
        box = ax.bbox
        for ln in _data_lines(ax):
            if ln.get_marker() in (None, "", "None", " ") or ln.get_markersize() == 0:
                continue
            p = _display_points(ax, ln)
            on = (p[:, 0] < box.x0 + 2) | (p[:, 0] > box.x1 - 2) | \
                (p[:, 1] < box.y0 + 2) | (p[:, 1] > box.y1 - 2)
            if on.any():
                found.append(f"axes {i}: {int(on.sum())} marker(s) on or past the frame")
    return found


@pytest.fixture
def caught(monkeypatch):
    """The figures the code under test saves, caught at style.save (not written)."""
    figs = []
    monkeypatch.setattr(style, "save", lambda fig, path, dpi=style.DPI: figs.append(
        (pathlib.Path(path).name, fig)))
    yield figs
    for _, fig in figs:
        plt.close(fig)


COLOURS: dict = {}      # method -> {(figure, colour)} over every figure of this module


def colours(fig) -> dict:
    """method -> {hex colour} of the artists drawn for it (``gid = "method:<name>"``, set by
    :func:`style.tag`; a marker-only line counts with its marker's edge colour)."""
    out: dict = {}
    for ax in fig.axes:
        for a in ax.get_children():
            gid = a.get_gid() or ""
            if not gid.startswith("method:"):
                continue
            c = a.get_color() if isinstance(a, Line2D) else np.atleast_2d(a.get_edgecolor())[0]
            if isinstance(a, Line2D) and a.get_linestyle() == "None":
                c = a.get_markeredgecolor()
            out.setdefault(gid[7:], set()).add(to_hex(c, keep_alpha=False))
    return out


def method_colours(name, fig):
    for method, cs in colours(fig).items():
        COLOURS.setdefault(method, set()).update((name, c) for c in cs)


def check(figs, expect: int):
    assert len(figs) == expect, [n for n, _ in figs]
    for name, fig in figs:
        assert problems(fig) == [], name
        method_colours(name, fig)


def legend_texts(fig) -> list[str]:
    return [t.get_text() for leg in _legends(fig) for t in leg.get_texts()]


def _has_face(ln) -> bool:
    """A marker with a face ("o", "s", "P", ...), which can be drawn hollow; "x", "+", "|"
    and the like are lines only and look the same hollow or filled."""
    return ln.get_marker() not in (None, "", "None", " ") and MarkerStyle(
        ln.get_marker()).is_filled()


def one_seed_marked(fig, method):
    """A hollow marker of ``method`` (a marker with a face, the face white) and a "1 seed"
    legend entry."""
    hollow = [ln for ax in fig.axes for ln in ax.get_lines()
              if ln.get_gid() == f"method:{method}" and _has_face(ln)
              and to_hex(ln.get_markerfacecolor()) == "#ffffff"]
    return bool(hollow) and any("1 seed" in t for t in legend_texts(fig))


def filled_method_markers(fig) -> list[str]:
    """The methods drawn with a filled (or faceless) marker somewhere in ``fig``: none in a
    figure of one-seed points, where every marker is hollow."""
    return sorted({ln.get_gid()[7:] for ax in fig.axes for ln in _data_lines(ax)
                   if (ln.get_gid() or "").startswith("method:")
                   and ln.get_marker() not in (None, "", "None", " ")
                   and not (_has_face(ln) and to_hex(ln.get_markerfacecolor()) == "#ffffff")})


def all_one_seed(fig, methods):
    """Every method of ``methods`` one-seed marked and no method marker filled."""
    return all(one_seed_marked(fig, m) for m in methods) and filled_method_markers(fig) == []


def integer_ticks(ax, axis="x"):
    ticks = [t.get_loc() for t in (ax.xaxis if axis == "x" else ax.yaxis)._update_ticks()]
    return bool(ticks) and all(float(v).is_integer() for v in ticks)


# ----------------------------------------------------------------------------- synthetic data
TAGGERS = ("baseline", "gseal", "dseal", "lloca", "augment", "lgatr")
BACKBONES = ("part_baseline", "part_gseal", "part_dseal_fd", "particlenet_baseline",
             "particlenet_gseal", "particlenet_dseal_fd")
PT = [560.0, 580.0, 600.0, 620.0, 640.0]
MAGS = [0.1, 0.3, 0.5, 0.7, 0.9]


def seeds_of(method):
    return 1 if method in ("lgatr", "particlenet_baseline", "particlenet_gseal",
                           "particlenet_dseal_fd") else 3


def noisy(values, scale=0.02):
    return list(np.asarray(values) * (1 + scale * RNG.standard_normal(len(values))))


# ----------------------------------------------------------------------------- the figures
def test_tagging_figures(caught, tmp_path):
    prof = {m: [(MAGS, noisy([1e-3 * (k + 1) * b for b in MAGS]))
                for _ in range(seeds_of(m))] for k, m in enumerate(TAGGERS)}
    ev.plot_invariance(prof, tmp_path / "fig2.png")
    curves = {m: {w: [{"pt": PT, "balanced_accuracy": noisy([0.93 - 0.01 * k - (0.2 if w ==
                                                            "boosted" else 0)] * 5)}
                      for _ in range(seeds_of(m))] for w in ("original", "boosted")}
              for k, m in enumerate(BACKBONES)}
    ev.plot_accuracy_vs_pt(curves, tmp_path / "fig3.png")
    ext = {m: [{"pt": [300.0, 400.0, 500.0, 600.0, 700.0],
                "rejection_at_0.3": noisy([100.0, 80, 60, 40, 30])} for _ in range(3)]
           for m in ("baseline", "gseal", "dseal")}
    ev.plot_extrapolation(ext, 450.0, "rejection_at_0.3", r"$1/\varepsilon_B$", tmp_path /
                          "fig5.png", log=True)
    scan = {"baseline": {"invariance": {"magnitudes": MAGS, "mean": [0.1 * b for b in MAGS]},
                         "auc": 0.95}}
    for m in ("gseal", "dseal"):
        for k, lam in enumerate((0.1, 1.0, 10.0)):
            scan[f"{m}@{lam:g}"] = {"invariance": {"magnitudes": MAGS, "mean": [
                0.05 / (k + 1) * b for b in MAGS]}, "auc": 0.95 - 0.003 * k}
    ev.plot_lambda_scan(scan, tmp_path / "scan.png")
    cost = ("gseal", "gseal_f0.25", "gseal_f0.5", "dseal", "dseal_fd", "gseal_finetune")
    ev.plot_cost_frontier({m: {"training_cost": 1 + k, "gain_at_0.5": 0.5 + 0.1 * k} for k, m in
                           enumerate(cost)}, tmp_path / "cost.png")
    check(caught, 5)
    figs = dict(caught)
    # the λ scan and the cost frontier: one seed per point, hollow, "1 seed" in the legend
    assert all_one_seed(figs["scan.png"], ("baseline", "gseal", "dseal"))
    assert all_one_seed(figs["cost.png"], cost)
    assert one_seed_marked(figs["fig2.png"], "lgatr")
    assert one_seed_marked(figs["fig3.png"], "particlenet_gseal")
    assert any("std over 3 seeds" in t for t in legend_texts(figs["fig2.png"]))
    # Fig. 3: every method one entry (not one per panel), original and boosted side by side
    assert len(figs["fig3.png"].axes) == 2
    texts = legend_texts(figs["fig3.png"])
    assert sum(t == ev.label("part_gseal") for t in texts) == 1


def test_regression_figures(caught, tmp_path):
    methods = ("baseline", "gseal", "dseal", "dseal_random", "equivariant")
    centers = [250.0, 350.0, 450.0, 550.0]
    binned = {m: [{"centers": centers, **{q: {"resolution": noisy([0.1, 0.12, 0.15, 0.2]),
                                              "response": noisy([1.0, 0.99, 0.97, 0.95])}
                                          for q in ("E", "m")}}
                  for _ in range(1 if m == "equivariant" else 3)] for m in methods}
    rev.plot_resolution_vs_pt(binned, 400.0, tmp_path / "res.png")
    rev.plot_response_vs_pt(binned, 400.0, tmp_path / "resp.png")
    viol = {m: [{"magnitudes": MAGS, "mean": {"boost": noisy([1e-3 * (k + 1) * b for b in MAGS])}}
                for _ in range(3)] for k, m in enumerate(methods[:4])}
    rev.plot_violation(viol, tmp_path / "viol.png")
    gens = {m: [{"magnitudes": MAGS, "mean": {g: noisy([1e-3 * (i + 1) * b for b in MAGS])
                                              for i, g in enumerate(("K_x", "K_y", "K_z",
                                                                     "J_x", "J_y", "J_z"))}}]
            for m in methods[:3]}
    rev.plot_violation_per_generator(gens, tmp_path / "gen.png")
    check(caught, 4)
    assert one_seed_marked(dict(caught)["res.png"], "equivariant")


def toy_cfg():
    return SimpleNamespace(test_betas=[0.0, 0.1, 0.2, 0.4, 0.6, 0.8], cases=("exact", "broken"),
                           lams_gseal=(0.01, 0.1, 1.0), lams_dseal=(0.01, 0.1, 1.0),
                           study_lams=(0.1, 1.0), beta_max2=0.1, study_beta_max2=(0.01, 0.1, 0.3),
                           small_beta_max2=0.01, seeds=(0, 1, 2), search_rtol=0.1)


def test_toy_figures(caught, tmp_path):
    cfg = toy_cfg()
    b = np.asarray(cfg.test_betas)
    runs = {}

    def put(case, m, lam, b2, scale):
        curve = list(1e-3 * scale * (1 + 30 * b ** 2))
        runs[(case, m, lam, b2)] = dict(test=curve, val=curve, n=3, w=[None])

    for case in cfg.cases:
        put(case, "baseline", 0.0, None, 1.0)
        for lam in cfg.lams_dseal:
            put(case, "dseal", lam, None, 1 + lam)
            put(case, "gseal", round(lam / cfg.small_beta_max2, 10), cfg.small_beta_max2, 2)
        for lam in set(cfg.lams_gseal) | set(cfg.study_lams):
            for b2 in set(cfg.study_beta_max2) | {cfg.beta_max2}:
                put(case, "gseal", lam, b2, 1 + lam + b2)
        for m in ("augment", "invariant", "dualsubnet"):
            put(case, m, 0.0, 0.1 if m == "augment" else None, 1.5)
    toy.make_figures(runs, cfg, str(tmp_path))
    check(caught, 3)
    one_legend(dict(caught)["comparison.png"])


def one_legend(fig):
    """One legend for the whole figure (not one per panel), no entry twice."""
    legs = _legends(fig)
    assert len(legs) == 1 and legs[0] in fig.legends, len(legs)
    texts = legend_texts(fig)
    assert len(texts) == len(set(texts)), texts


def test_toy_comparison_names_the_case_where_the_best_lambda_differs(caught, tmp_path):
    """The comparison's one legend: a method whose best λ differs between the panels has one
    entry per panel, each naming its case; one whose best λ is the same, a single entry."""
    cfg = toy_cfg()
    curve = list(1e-3 * (1 + 30 * np.asarray(cfg.test_betas) ** 2))
    runs = {(c, m, lam, None): dict(test=curve, val=curve, n=1, w=[None])
            for c in cfg.cases for m, lam in (("baseline", 0.0), ("dseal", 0.1), ("dseal", 1.0))}
    best = {"exact": {"baseline": (0.0, None, 0.0), "dseal": (0.1, None, 0.0)},
            "broken": {"baseline": (0.0, None, 0.0), "dseal": (1.0, None, 0.0)}}
    toy.make_figures(runs, cfg, str(tmp_path), best=best)
    fig = dict(caught)["comparison.png"]
    assert problems(fig) == []
    one_legend(fig)
    texts = legend_texts(fig)
    assert "δSEAL λ=0.1 (exact)" in texts and "δSEAL λ=1 (broken)" in texts
    assert texts.count("baseline") == 1


def test_data_efficiency_figure(caught, tmp_path):
    sizes = ("1000", "3000", "10000", "21000")
    met = {m: {n: {"auc": {"mean": 0.95 + 0.002 * k + 0.001 * i, "std": 0.002,
                           "n": 1 if n == "21000" else 3, "of": 1 if n == "21000" else 3}}
               for i, n in enumerate(sizes)} for k, m in enumerate(("baseline", "augment",
                                                                    "gseal", "lloca"))}
    efficiency.plot_vs_size(met, "auc", "AUC", tmp_path / "auc.png")
    check(caught, 1)
    fig = caught[0][1]
    ax = fig.axes[0]
    assert one_seed_marked(fig, "gseal")
    assert any("std over 3 seeds" in t for t in legend_texts(fig))
    lo, hi = ax.get_xlim()       # the axis ends near the data: not 1e5 for data up to 2.1e4
    assert 1000 / 1.5 < lo < 1000 and 21000 < hi < 21000 * 1.5


def tagger_budget_data():
    results, rows = [], []
    for seed in range(3):
        results.append({"kind": "baseline", "seed": seed, "penalty": None,
                        "gamma_final": {"gseal": 0.2, "dseal": 3.0}, "one_minus_auc": 0.045})
        for pen, lams in tagger_budget.LAMS.items():
            for k, lam in enumerate(lams):
                results.append({"kind": "fixed", "seed": seed, "penalty": pen, "lam": lam,
                                "gamma_final": {pen: (0.03 if pen == "gseal" else 1.0) / 3 ** k},
                                "one_minus_auc": 0.045 + 0.002 * k})
            for rule in ("lr", "search"):
                target = 0.02 if pen == "gseal" else 0.4
                rows.append({"penalty": pen, "rule": rule, "seed": seed, "target": target,
                             "gamma_final": target * (1.1 + 0.1 * seed), "auc": 0.955,
                             "lam_per_epoch": list(np.geomspace(0.2, 0.01, 12)),
                             "ema_per_epoch": list(target * np.linspace(0.01, 1.2, 12)),
                             "target_now_per_epoch": list(target * np.linspace(3, 1, 12)),
                             "trials": [] if rule == "lr" else [
                                 {"lam": 0.03 * 1.3 ** i, "gamma_val": target * (0.6 + 0.2 * i)}
                                 for i in range(2 + seed)]})
    return results, rows


def test_tagger_budget_figures(caught, tmp_path):
    results, rows = tagger_budget_data()
    tagger_budget.plot(results, rows, tmp_path / "budget_front.png", tmp_path / "lam.png")
    check(caught, 2)
    lam = dict(caught)["lam.png"]
    assert all(integer_ticks(ax) for ax in lam.axes)      # epochs and trainings are counts


def toy_budget_recs(cfg, rules):
    recs, rows, fixed = [], [], {}
    targets = {"gseal": (0.012, 0.03), "dseal": (1e-3, 3e-5)}
    for case in cfg.cases:
        for pen in toy_budget.BUDGET_PENALTIES:
            for seed in cfg.seeds:
                fixed[(case, pen, seed)] = [(t * 3 ** k, 1e-3 * (1 + k), 0.1 * k)
                                            for k, t in enumerate([targets[pen][-1] / 3] * 5)]
                for t in targets[pen]:
                    for i, rule in enumerate(rules):
                        log = [[s, 0.1 * (1 + i) * (1 + s / 100), t * (0.5 + s / 400),
                                t * (1 + (200 - s) / 100)] for s in range(0, 201, 10)]
                        recs.append({"method": "budget", "case": case, "seed": seed,
                                     "penalty": pen, "target": t, "rule": rule, "lam_log": log,
                                     "final_gamma_heldout": {pen: t * 0.7},
                                     "trials": [{"lam": 1.3 ** -k, "gamma_val": t * (0.7 + 0.1 * k)}
                                                for k in range(3 + seed)]})
                        rows.append({"case": case, "penalty": pen, "rule": rule, "seed": seed,
                                     "target": t, "gamma_final": t * (0.6 + 0.1 * i),
                                     "mse_beta0": 1e-3 * (1 + i)})
    return recs, rows, fixed


def test_toy_budget_figures(caught, tmp_path):
    cfg = toy_cfg()
    # the alternatives' 10 rules: 2 penalties × 2 targets × 10 rules, 40 traces per row
    rules = ("lr", "constant", "slow", "clip0.25", "slack6", "sq4", "sq6", "pi", "rate-lr",
             "hold0.9")
    recs, rows, fixed = toy_budget_recs(cfg, rules)
    toy_budget.make_budget_figure(rows, fixed, cfg, str(tmp_path))
    toy_budget.make_trace_figure(recs, cfg, str(tmp_path))
    search_recs, _, _ = toy_budget_recs(cfg, ("search",))
    toy_budget.make_search_figure(search_recs, cfg, str(tmp_path))
    check(caught, 3)
    search = dict(caught)["budget_search.png"]
    assert all(integer_ticks(ax) for ax in search.axes)
    assert not any(ax.texts for ax in search.axes)        # no crowded λ labels


def _schedule_module():
    """benchmarks/budget_schedule.py (a script, not a package module), imported from its path."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "budget_schedule", ROOT / "benchmarks" / "budget_schedule.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def schedule_recs(sched):
    """Synthetic runs of benchmarks/budget_schedule.py: per case, penalty and seed a fixed-λ
    sweep and one run per rule and target with a λ log every 10 steps."""
    recs = []
    for case in ("exact", "broken"):
        for pen in ("gseal", "dseal"):
            for seed in (0, 1):
                for k, lam in enumerate(sched.LAMS[pen]):
                    recs.append(dict(case=case, penalty=pen, seed=seed, rule=None, lam=lam,
                                     target=None, gamma_final=0.5 * 0.6 ** k,
                                     mse=1e-3 * 1.3 ** k, log=[]))
                for i, rule in enumerate(sched.RULES):
                    for t in sched.TARGETS[pen]:
                        log = [dict(step=s, lam=0.1 * (1 + i) * (1 + s / 300),
                                    ema=t * (0.5 + s / 800), target_t=t * (1 + (1000 - s) / 500),
                                    gamma=t, mse=1e-3, status="ok", stall_n=0)
                               for s in range(10, 1001, 10)]
                        recs.append(dict(case=case, penalty=pen, seed=seed, rule=rule, lam=None,
                                         target=t, gamma_final=t * (0.7 + 0.1 * i),
                                         mse=1e-3 * (1 + 0.2 * i), log=log))
    return recs


def test_schedule_figures(caught, tmp_path):
    """benchmarks/budget_schedule.py draws through the style and from its data files alone:
    the front and the traces pass the checks, each rule in its style colour; the trace data
    hold only the traced runs (exact case, seed 0, the middle target), and --redraw without
    data files says which it expected."""
    sched = _schedule_module()
    recs = schedule_recs(sched)
    drawn = sched.figures(recs, str(tmp_path))
    assert drawn == ["schedule_front.png", "schedule_traces.png"]
    check(caught, 2)
    import json

    traced = json.loads((tmp_path / "schedule_traces.json").read_text())["records"]
    assert sorted((r["penalty"], r["rule"]) for r in traced) == sorted(
        (p, r) for p in ("gseal", "dseal") for r in sched.RULES)
    assert all(r["case"] == "exact" and r["seed"] == 0
               and r["target"] == sched.TARGETS[r["penalty"]][1] for r in traced)
    front = json.loads((tmp_path / "schedule_front.json").read_text())["records"]
    assert len(front) == len(recs) and "log" not in front[0]
    for rule in sched.RULES:      # one colour per rule: the style table's
        assert COLOURS[rule] >= {("schedule_traces.png", style.color(rule))}
    with pytest.raises(FileNotFoundError, match="schedule_front.json or schedule_traces.json"):
        sched.redraw(str(tmp_path / "empty"))


# ----------------------------------------------------------------------------- the style
def test_same_method_same_colour_across_figures(caught, tmp_path):
    """baseline, GSEAL, δSEAL and LLoCa drawn by four figure functions of three modules: each
    has one colour, its style.color, in all of them (and so in the figures of the tests above,
    which add theirs to COLOURS)."""
    methods = ("baseline", "gseal", "dseal", "lloca")
    ev.plot_invariance({m: [(MAGS, [0.01 * (k + 1) * b for b in MAGS])] * 3
                        for k, m in enumerate(methods)}, tmp_path / "a.png")
    efficiency.plot_vs_size({m: {n: {"auc": {"mean": 0.95 + 0.001 * k, "std": 0.001, "n": 3,
                                             "of": 3}} for n in ("1000", "3000")}
                             for k, m in enumerate(methods)}, "auc", "AUC", tmp_path / "b.png")
    rev.plot_violation({m: [{"magnitudes": MAGS, "mean": {"boost": [1e-3 * (k + 1)] * 5}}] * 3
                        for k, m in enumerate(methods)}, tmp_path / "c.png")
    cfg = toy_cfg()
    curve = [1e-3] * len(cfg.test_betas)
    toy.make_figures({(c, m, 0.1 if m != "baseline" else 0.0, 0.1 if m == "gseal" else None): dict(
        test=curve, val=curve, n=3, w=[None]) for c in cfg.cases for m in methods[:3]},
        cfg, str(tmp_path))
    colours: dict = {}
    for name, fig in caught:
        for ax in fig.axes:
            for a in ax.get_children():
                gid = a.get_gid() or ""
                if gid.startswith("method:"):
                    c = a.get_color() if isinstance(a, Line2D) else np.atleast_2d(
                        a.get_edgecolor())[0]
                    if isinstance(a, Line2D) and a.get_linestyle() == "None":
                        c = a.get_markeredgecolor()
                    colours.setdefault(gid[7:], set()).add((name, to_hex(c)))
    for m in methods:
        figs = {f for f, _ in colours[m]}
        assert len(figs) >= (4 if m != "lloca" else 3), (m, figs)
        assert {c for _, c in colours[m]} == {to_hex(style.color(m))}, (m, colours[m])
    for m, v in COLOURS.items():        # the figures of the tests above, where they ran
        assert {c for _, c in v} == {to_hex(style.color(m))}, (m, v)


def test_colour_table_distinct_and_stable():
    colours = [to_hex(c) for c, _ in style.METHOD_STYLES.values()]
    dup = {c for c in colours if colours.count(c) > 1}
    assert not dup, f"colours used by two methods: {dup}"
    assert style.color("gseal@0.1") == style.color("gseal")
    assert style.color("gseal_f0.25") != style.color("gseal")
    # an unknown name: the same fallback every time, in the fallback palette
    assert style.method_style("new_method_x") == style.method_style("new_method_x")
    assert style.color("new_method_x") in style.FALLBACK


def test_every_figure_goes_through_the_style():
    """No figure function of examples/hep or examples/nbody, nor the budget benchmark that
    draws docs/budget's schedule figures, builds or saves a figure past style.py."""
    offenders = []
    nbody = sorted((ROOT / "examples" / "nbody").rglob("*.py"))
    assert any(p.name == "summary.py" for p in nbody)
    for path in [*(ROOT / "examples" / "hep").rglob("*.py"), *nbody,
                 ROOT / "benchmarks" / "budget_schedule.py"]:
        if path.name == "style.py":
            continue
        for i, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#")[0]
            if re.search(r"plt\.subplots\(|\.savefig\(|plt\.figure\(|matplotlib\.use\(", code):
                offenders.append(f"{path.relative_to(ROOT)}:{i}")
    assert offenders == []


# ----------------------------------------------------------------------------- the checker
def _figure(legend_inside=False, crowded=False, clipped=False, duplicate=False, on_frame=False,
            slack=False):
    _, fig, axes = style.subplots(figsize=(6, 3.5))
    ax = axes[0][0]
    x = np.arange(1, 6)
    for k in range(3):
        ax.plot(x, x + k, "-o", label=f"curve {k}" if not duplicate else "curve")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    if not on_frame:
        style.fit(ax, x, [x, x + 2])
    if slack:           # the old data-efficiency axis: to 1e5 for data up to 2.1e4
        ax.set_xscale("log")
        ax.set_xlim(0.8, 25)
    if crowded:
        for k in x:
            ax.annotate(f"λ={0.123456 * k:.4g}", (k, k), fontsize=4)
            ax.annotate(f"λ={0.654321 * k:.4g}", (k, k + 0.02), fontsize=4)
    if clipped:
        fig.text(0.98, 0.5, "a note running past the edge of the figure")
    if legend_inside:
        ax.legend(loc="best")
    elif duplicate:     # matplotlib's own legend (style.legend merges equal entries)
        ax.legend(loc="upper left", bbox_to_anchor=(1.03, 1.0))
    else:
        style.legend(ax)
    return fig


def test_checker_passes_a_clean_figure():
    fig = _figure()
    try:
        assert problems(fig) == []
    finally:
        plt.close(fig)


@pytest.mark.parametrize("fault, expect", [
    ("legend_inside", "legend inside the data area"),
    ("crowded", "overlap"),
    ("crowded", "font 4 pt"),
    ("clipped", "clipped by the figure"),
    ("duplicate", "duplicate legend entries"),
    ("on_frame", "on or past the frame"),
    ("slack", "x axis runs"),
])
def test_checker_finds_a_planted_fault(fault, expect):
    fig = _figure(**{fault: True})
    try:
        found = problems(fig)
    finally:
        plt.close(fig)
    assert any(expect in f for f in found), found


@pytest.mark.parametrize("mk, marked", [("P", True), ("X", True), ("o", True), ("x", False),
                                        ("+", False)])
def test_one_seed_marked_needs_a_marker_with_a_face(mk, marked):
    """A one-seed point drawn with a faceless marker ("x", "+") looks the same as a filled
    one: the checker does not count it as hollow."""
    _, fig, axes = style.subplots(figsize=(6, 3.5))
    try:
        h = style.errorbar(axes[0][0], [1.0, 2.0], [1.0, 2.0], n=1, method="m", marker_=mk,
                           label="m")
        style.legend(axes[0][0], [h, *style.seed_handles([1])])
        assert one_seed_marked(fig, "m") is marked
        assert (filled_method_markers(fig) == []) is marked
    finally:
        plt.close(fig)


def test_every_method_marker_has_a_face():
    """Every method's marker can be drawn hollow (a one-seed point): no "x" or "+" in the
    table, except the budget rule "constant" (docs/budget's figures, drawn without hollow
    one-seed markers)."""
    faceless = [m for m, (_, mk) in style.METHOD_STYLES.items()
                if not MarkerStyle(mk).is_filled()]
    assert faceless == ["constant"], faceless


def test_seed_handles_name_the_error_bars():
    labels = [h.get_label() for h in style.seed_handles([3, 3, 1])]
    assert labels == ["error bar: std over 3 seeds", "hollow marker: 1 seed (no error bar)"]
    assert [h.get_label() for h in style.seed_handles([1])] == [
        "hollow marker: 1 seed (no error bar)"]
    assert not math.isnan(len(style.seed_handles([])))


def test_the_style_falls_back_without_mplhep(monkeypatch, caught, tmp_path):
    """Without mplhep (the hep extra) the figures use matplotlib's default style and still
    pass the checks."""
    import sys

    monkeypatch.setitem(sys.modules, "mplhep", None)       # import mplhep: ImportError
    sizes = ("1000", "3000", "21000")
    efficiency.plot_vs_size({m: {n: {"auc": {"mean": 0.95 + 0.002 * k, "std": 0.002,
                                             "n": 1 if n == "21000" else 3, "of": 3}}
                                 for n in sizes} for k, m in enumerate(("baseline", "gseal"))},
                            "auc", "AUC", tmp_path / "auc.png")
    check(caught, 1)
    assert plt.rcParams["font.family"] == ["sans-serif"]
    assert plt.rcParams["xtick.direction"] == "out"          # matplotlib's, not ATLAS' "in"


def test_the_docs_figures_pass_on_their_committed_data(caught, tmp_path):
    """The figures regenerated in docs/ (data efficiency, the tagger's budgets), drawn from
    their committed result files, pass the same checks."""
    import json

    docs = ROOT / "docs"
    met = json.loads((docs / "data_efficiency" / "metrics.json").read_text())
    for key, log in (("auc", False), ("rejection_at_0.3", True), ("invariance_at_0.5", True)):
        efficiency.plot_vs_size(met, key, key, tmp_path / f"{key}.png", log_y=log)
    results = tagger_budget.load_results(docs / "budget" / "tagger")
    tagger_budget.plot(results, tagger_budget.budget_rows(results), tmp_path / "front.png",
                       tmp_path / "lam.png")
    check(caught, 5)
    for name, fig in caught[:3]:        # the whole split: one seed, hollow
        assert all(one_seed_marked(fig, m) for m in met), name


def _redraw_docs(which: str, out: pathlib.Path) -> list[str]:
    """Draw the figures of docs/``which`` again from the result files committed there, with
    the functions that drew them (the figures are caught at style.save: nothing is written)."""
    import json
    import shutil

    from examples.hep.studies import top_tagging
    from examples.hep.toy_regression import Config

    docs = ROOT / "docs"
    if which == "top_tagging":     # the first pass: the four-method run's Table 1 and Fig. 4/5
        det = json.loads((docs / "top_tagging" / "details_four_methods.json").read_text())
        return top_tagging.redraw_figures({k: det[k] for k in ("table1", "extrapolation")}, out)
    if which == "top_tagging/second_pass":     # the 3-seed study: every study's figures
        det = json.loads((docs / which / "details.json").read_text())
        return top_tagging.redraw_figures(det, out)
    if which == "top_tagging_part":     # ParT (3 seeds) and ParticleNet (1 seed): Fig. 2-3
        top_tagging.table1_figures(
            json.loads((docs / which / top_tagging.FIGURE_DATA).read_text()), out)
        return ["fig2_invariance.png", "fig3_accuracy_vs_pt.png"]
    if which == "jet_regression":
        det = json.loads((docs / which / "details.json").read_text())
        return rev.write_figures(det["runs"], det["config"]["pt_cut"], out)
    for name in ("results.csv", "best.csv"):        # toy_regression: the default run (seed 0)
        shutil.copy(docs / which / name, out / name)
    return toy.redraw_figures(Config(), str(out))


REDRAWN = {"top_tagging": ["fig2_invariance.png", "fig3_accuracy_vs_pt.png",
                           "fig4_extrapolation.png", "fig5_rejection_vs_pt.png"],
           "jet_regression": ["fig_resolution_vs_pt.png", "fig_response_vs_pt.png",
                              "fig_violation.png", "fig_violation_per_generator.png"],
           "toy_regression": ["fig1.png", "fig6.png", "comparison.png"],
           "top_tagging_part": ["fig2_invariance.png", "fig3_accuracy_vs_pt.png"]}
REDRAWN["top_tagging/second_pass"] = REDRAWN["top_tagging"] + ["fig2_lambda_scan.png",
                                                               "fig_cost_frontier.png"]


@pytest.mark.parametrize("which", sorted(REDRAWN))
def test_the_redrawn_docs_figures_pass_on_their_committed_data(which, caught, tmp_path):
    """The figures of docs/top_tagging (first pass and second_pass), docs/top_tagging_part,
    docs/jet_regression and docs/toy_regression, redrawn through the style from the data
    committed beside them (details*.json, table1_figures.json, results.csv and best.csv), pass
    the checks: the committed data stay enough to redraw every one of them."""
    import json

    drawn = _redraw_docs(which, tmp_path)
    assert drawn == REDRAWN[which]
    assert [n for n, _ in caught] == drawn
    check(caught, len(drawn))
    figs = dict(caught)
    if which == "top_tagging":          # one seed, L-GATr among the methods
        assert one_seed_marked(figs["fig2_invariance.png"], "lgatr")
    if which == "top_tagging/second_pass":
        assert any("std over 3 seeds" in t for t in legend_texts(figs["fig2_invariance.png"]))
        # Fig. 5: in the lowest pT bin one seed or more of every method has no background jet
        # above the cut (infinite rejection): no mean is drawn there, the axis starts at the
        # second bin and no point claims the 2 finite seeds of 3
        fig5 = figs["fig5_rejection_vs_pt.png"]
        assert fig5.axes[0].get_xlim()[0] > 615.0
        assert not any("2/3" in t or "over 2 " in t for t in legend_texts(fig5))
        # the λ scan and the cost frontier: one seed (Table 1's seed-0 data), every point hollow
        det = json.loads((ROOT / "docs" / which / "details.json").read_text())
        assert all_one_seed(figs["fig2_lambda_scan.png"],
                            {n.split("@")[0] for n in det["lambda_scan"]})
        assert all_one_seed(figs["fig_cost_frontier.png"], det["cost"]["rows"])
    if which == "top_tagging_part":     # ParT 3 seeds with std bars, ParticleNet 1 seed hollow
        for name in REDRAWN[which]:
            assert any("std over 3 seeds" in t for t in legend_texts(figs[name])), name
            assert all(one_seed_marked(figs[name], m) for m in
                       ("particlenet_baseline", "particlenet_gseal", "particlenet_dseal_fd"))
            assert filled_method_markers(figs[name]) == ["part_baseline", "part_dseal_fd",
                                                         "part_gseal"], name
    if which == "jet_regression":       # the detector-level jet: no training, one "seed"
        for name in ("fig_resolution_vs_pt.png", "fig_response_vs_pt.png"):
            assert one_seed_marked(figs[name], "raw"), name
    if which == "toy_regression":       # each method at the best λ that best.csv records
        texts = legend_texts(figs["comparison.png"])
        assert "GSEAL λ=1, β²max=0.95" in texts and "δSEAL λ=100" in texts
        one_legend(figs["comparison.png"])      # one legend, not one beside each panel


@pytest.mark.parametrize("where, files", [
    ("budget/full_toy", ("budget_traces", "budget_search")),
    ("budget/full_toy_alternatives", ("budget_traces",)),
])
def test_the_toy_budget_run_figures_redraw_from_their_committed_data(where, files, caught,
                                                                      tmp_path):
    """docs/budget's run figures (λ and Γ̄ against the step; the λ searches' trials) redraw
    from the data committed beside them (budget_traces.json, budget_search.json:
    ``toy_regression.py --budget --redraw``) and pass the checks; every rule drawn keeps its
    style colour, and the traces show the first case and seed the file names."""
    import json
    import shutil

    src = ROOT / "docs" / where
    for name in files:
        shutil.copy(src / f"{name}.json", tmp_path / f"{name}.json")
    from examples.hep.toy_regression import Config

    drawn = toy_budget.redraw_run_figures(Config(), str(tmp_path))
    assert drawn == [f"{n}.png" for n in files]
    check(caught, len(files))
    if "budget_traces" in files:
        data = json.loads((src / "budget_traces.json").read_text())
        assert data["records"] and {(r["case"], r["seed"]) for r in data["records"]} == {
            (data["cases"][0], data["seeds"][0])}
        for rule in {r["rule"] for r in data["records"]}:
            assert (("budget_traces.png", style.color(rule)) in COLOURS[rule]), rule
    if "budget_search" in files:
        data = json.loads((src / "budget_search.json").read_text())
        assert len(data["records"]) == 36 and all(r["trials"] for r in data["records"])


def test_the_schedule_traces_redraw_from_their_committed_data(caught, tmp_path):
    """docs/budget/schedule_traces.png redraws from schedule_traces.json (the benchmark's
    ``--redraw``) and passes the checks: every rule of the benchmark, both penalties."""
    import json
    import shutil

    sched = _schedule_module()
    shutil.copy(ROOT / "docs" / "budget" / "schedule_traces.json", tmp_path)
    assert sched.redraw(str(tmp_path)) == ["schedule_traces.png"]
    check(caught, 1)
    recs = json.loads((tmp_path / "schedule_traces.json").read_text())["records"]
    assert sorted((r["penalty"], r["rule"]) for r in recs) == sorted(
        (p, r) for p in ("gseal", "dseal") for r in sched.RULES)
