"""The N-body report's figures (examples/nbody/summary.py ``figures``) read as a reader would
(issue 32, item 5), with the checker of tests/hep/test_figures.py: no two text labels overlap,
nothing clipped, no text under the style's minimum size, legends outside the data, no axis
running far past its data, no marker on a frame; every method in its style colour
(``style.color``), error bars named ("std over n seeds"), one-seed points hollow, a diverged
mean drawn off scale with its value in the legend. Rendered (a) on small synthetic results
with a one-seed cell and a diverged cell, (b) on the committed docs/nbody/metrics.json and the
committed anchor runs (docs/nbody/anchor, loaded as ``nbody.py --report`` loads them).

Planted bugs, each made the tests fail (replayed by hand with the edit in brackets,
examples/nbody/summary.py), then removed:
* a legend inside the axes [``style.legend(fig, hs)`` -> ``axes[0][0].legend(handles=hs,
  loc="best")`` in ``_eps_figure``]: "legend inside the data area" in both tests;
* a method in the wrong colour [``color_="#1f77b4"`` added to ``_series``' call of
  ``style.errorbar``: every method in the baseline's blue]: the colour checks of both tests;
* a one-seed point drawn filled with a bar [``n[~off]`` -> ``np.maximum(n[~off], 3)`` in
  ``_series``]: one_seed_marked in test_figures_on_small_data;
* the diverged mean's value not printed [the ``{value:.2g}`` dropped from ``_off_handles``'
  label]: the off-scale assertions of both tests.
All 4 killed.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
from matplotlib.colors import to_hex

from examples.hep.evaluation import style
from examples.nbody import summary
from examples.nbody.evaluation import load_results
from tests.hep.test_figures import (  # noqa: F401  (caught: a fixture)
    caught,
    check,
    colours,
    legend_texts,
    one_seed_marked,
)

ROOT = pathlib.Path(__file__).resolve().parents[2]
NAMES = ["mse_vs_eps.png", "violation_vs_eps.png", "mse_vs_size.png", "anchor_curve.png"]


def _records(method, field, eps, values, size=3000):
    return [{"method": method, "field": field, "strength": eps, "seed": s, "train_size": size,
             "lam": 0.0, "test_mse": v, "test_violation": 1e-13 if method.startswith("egnn")
             and eps == 0 else v / 5, "val_mse": v} for s, v in enumerate(values)]


def synthetic():
    """metrics.json's structure on small made-up results: two fields, every N-body method,
    ``gseal_sub`` at uniform ε = 0.3 and ``gseal`` at 100 trajectories with one seed,
    ``egnn_field`` diverged in the trap at ε = 1 (mean 5e9, off scale)."""
    r = []
    for k, meth in enumerate(summary.ORDER):
        base = 0.012 if meth.startswith("egnn") else 0.058 + 0.001 * k
        for fld in ("uniform", "trap"):
            if fld == "trap" and meth not in ("baseline", "gseal", "egnn", "egnn_field"):
                continue
            for j, eps in enumerate((0.0, 0.03, 0.3, 1.0)):
                if fld == "trap" and eps == 0:
                    continue            # shared with the uniform field's ε = 0
                if meth == "dseal" and eps in (0.03, 1.0):
                    continue            # cells a method lacks
                seeds = 1 if (meth, fld, eps) == ("gseal_sub", "uniform", 0.3) else 3
                if (meth, fld, eps) == ("egnn_field", "trap", 1.0):
                    vals = [1.5e10, 1e3, 2.0]
                else:
                    vals = [base * (1 + 0.4 * j) * (1 + 0.02 * s) for s in range(seeds)]
                r += _records(meth, fld, eps, vals)
    for meth in ("baseline", "gseal", "egnn"):
        for size in (100, 300, 1000):
            seeds = 1 if (meth, size) == ("gseal", 100) else 3
            v0 = 0.014 if meth == "egnn" else 0.07
            r += _records(meth, "uniform", 0.0, [v0 * (1 + 0.01 * s) * (300 / size) ** 0.1
                                                 for s in range(seeds)], size=size)
    return summary.metrics(r)


def anchor_runs():
    return [{"method": meth, "seed": 0, "curve": [{"epoch": e, "val_mse": v0 * (1 + 5 / e)}
                                                  for e in range(10, 401, 10)]}
            for meth, v0 in (("baseline", 0.012), ("egnn", 0.006))]


def check_colours(figs: dict, m: dict, anchor) -> None:
    """Every method of the data drawn, each in its style colour alone, in every figure."""
    expect = {"mse_vs_eps.png": {x for t in m["fields"].values() for x in t},
              "violation_vs_eps.png": {x for t in m["fields"].values() for x in t},
              "mse_vs_size.png": set(m["size_study"]),
              "anchor_curve.png": {r["method"] for r in anchor}}
    for name, methods in expect.items():
        drawn = colours(figs[name])
        assert set(drawn) == methods, (name, set(drawn), methods)
        for meth, cs in drawn.items():
            assert cs == {to_hex(style.color(meth))}, (name, meth, cs)


def one_seed_methods(table: dict) -> set:
    return {meth for meth, cells in table.items()
            if any(c["test_mse"]["n"] == 1 for c in cells.values())}


def off_scale(m: dict, metric: str = "test_mse") -> list:
    """(field, method, ε, mean) of the means the figure draws off scale."""
    out = []
    for fld, table in m["fields"].items():
        cap = summary.OFF_SCALE * float(np.percentile(
            [c[metric]["mean"] for cells in table.values() for c in cells.values()], 75))
        out += [(fld, meth, e, c[metric]["mean"]) for meth, cells in table.items()
                for e, c in cells.items() if c[metric]["mean"] > cap]
    return out


def test_figures_on_small_data(caught, tmp_path):  # noqa: F811
    m = synthetic()
    anchor = anchor_runs()
    assert summary.figures(m, tmp_path, anchor) == NAMES
    check(caught, 4)
    figs = dict(caught)
    assert list(figs) == NAMES
    check_colours(figs, m, anchor)
    assert one_seed_methods(m["fields"]["uniform"]) == {"gseal_sub"}
    assert one_seed_marked(figs["mse_vs_eps.png"], "gseal_sub")
    assert one_seed_marked(figs["violation_vs_eps.png"], "gseal_sub")
    assert one_seed_marked(figs["mse_vs_size.png"], "gseal")
    for name in NAMES[:3]:
        assert any("std over 3 seeds" in t for t in legend_texts(figs[name])), name
    # the diverged mean: a hollow triangle at the top of its panel, its value in the legend
    assert off_scale(m) == [("trap", "egnn_field", "1", m["fields"]["trap"]["egnn_field"]["1"]
                             ["test_mse"]["mean"])]
    texts = legend_texts(figs["mse_vs_eps.png"])
    assert "egnn_field, trap, ε = 1: mean 5e+09" in texts
    trap = figs["mse_vs_eps.png"].axes[0]
    assert trap.get_title() == "field: trap"
    tri = [ln for ln in trap.get_lines() if ln.get_marker() == "^"
           and ln.get_gid() == "method:egnn_field"]
    assert len(tri) == 1 and to_hex(tri[0].get_markerfacecolor()) == "#ffffff"
    assert max(tri[0].get_ydata()) < trap.get_ylim()[1] < 1e3       # drawn at the cap
    # the size axis: a count axis, a tick at each size, limited to the data
    ax = figs["mse_vs_size.png"].axes[0]
    assert [t.get_loc() for t in ax.xaxis._update_ticks()] == [100, 300, 1000, 3000]
    lo, hi = ax.get_xlim()
    assert 100 / 1.3 < lo < 100 and 3000 < hi < 3000 * 1.3


def test_figures_on_committed_data(caught, tmp_path):  # noqa: F811
    """The committed figures' data: docs/nbody/metrics.json and the anchor runs."""
    docs = ROOT / "docs" / "nbody"
    m = json.loads((docs / "metrics.json").read_text())
    anchor = load_results(docs / "anchor")
    assert anchor
    assert summary.figures(m, tmp_path, anchor) == NAMES
    check(caught, 4)
    figs = dict(caught)
    check_colours(figs, m, anchor)
    tables = {"mse_vs_eps.png": [*m["fields"].values()],
              "mse_vs_size.png": [m["size_study"]]}
    for name, ts in tables.items():
        ones = set().union(*(one_seed_methods(t) for t in ts))
        for meth in ones:
            assert one_seed_marked(figs[name], meth), (name, meth)
        if not ones:        # no "1 seed" entry where every cell has more
            assert not any("1 seed" in t for t in legend_texts(figs[name])), name
        assert any("std over" in t for t in legend_texts(figs[name])), name
    for metric, name in (("test_mse", "mse_vs_eps.png"),
                         ("test_violation", "violation_vs_eps.png")):
        texts = legend_texts(figs[name])
        for fld, meth, eps, value in off_scale(m, metric):
            assert f"{meth}, {fld}, ε = {eps}: mean {value:.2g}" in texts, (name, texts)
