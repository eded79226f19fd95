"""The study's report on hand-made result files: metrics.json's structure, the "beats on the
error bars" rule, the rendered answer, the figures; the study queue (λ choice, claims); and
docs/nbody.md's rendered block equal to the one metrics.json gives.

Planted bugs, each killed (replayed by hand with the edit in brackets, summary.py/study.py):
* a gap equal to the spread counted as a win [``> spread`` -> ``>= spread`` in ``compare``]:
  test_rule_gap_equal_to_spread_is_not_a_win, test_answer_is_rendered_from_the_data;
* one-seed cells counted [``MIN_SEEDS = 3`` -> ``MIN_SEEDS = 1``]:
  test_rule_needs_three_seeds_on_both_sides, test_answer_is_rendered_from_the_data;
* population std instead of the sample std [``ddof=1`` -> ``ddof=0`` in ``stat``]:
  test_metrics_structure_and_values;
* the trap's ε = 0 not shared [``share_zero and`` -> ``False and``]:
  test_metrics_structure_and_values;
* λ chosen by the highest validation MSE [``min(`` -> ``max(`` in ``chosen_lambdas``]:
  test_lambda_is_the_lowest_validation_mse;
* a live worker's claim taken over [``if pid and _alive(pid)`` -> ``if False``]:
  test_claims_are_exclusive_and_dead_claims_are_taken_over.
All 6 killed.
"""

import json
import os
import pathlib
import subprocess
import sys

import pytest

from examples.nbody import study, summary
from examples.nbody.summary import compare, metrics, render_answer

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _records(method, field, eps, values, size=3000, violation=None):
    return [{"method": method, "field": field, "strength": eps, "seed": s, "train_size": size,
             "lam": 0.0, "test_mse": v, "test_violation": violation if violation is not None
             else v / 10, "val_mse": v} for s, v in enumerate(values)]


def hand_made():
    r = []
    r += _records("baseline", "uniform", 0.0, [2.0, 2.5, 3.0], violation=0.05)
    r += _records("gseal", "uniform", 0.0, [1.0, 1.5, 2.0], violation=0.01)   # gap = spread
    r += _records("egnn", "uniform", 0.0, [0.5, 0.6, 0.7], violation=1e-15)
    r += _records("augment", "uniform", 0.0, [3.0, 3.1, 3.2])
    r += _records("baseline", "uniform", 0.3, [2.0, 2.5, 3.0])
    r += _records("gseal", "uniform", 0.3, [0.1])                              # one seed
    r += _records("baseline", "trap", 0.3, [2.0, 2.5, 3.0])
    r += _records("gseal", "trap", 0.3, [1.0, 1.1, 1.2])
    r += _records("baseline", "uniform", 0.0, [4.0, 5.0, 6.0], size=100)
    r += _records("gseal", "uniform", 0.0, [1.0, 1.2, 1.4], size=100)
    return r


def test_metrics_structure_and_values():
    m = metrics(hand_made())
    assert set(m["fields"]) == {"uniform", "trap"}
    cell = m["fields"]["uniform"]["gseal"]["0"]
    assert set(cell) == {"test_mse", "test_violation"}
    assert cell["test_mse"] == {"mean": 1.5, "std": 0.5, "n": 3}              # sample std
    assert m["fields"]["uniform"]["gseal"]["0.3"]["test_mse"] == {"mean": 0.1, "std": 0.0,
                                                                  "n": 1}
    assert list(m["fields"]["uniform"]["baseline"]) == ["0", "0.3"]            # sorted by ε
    # the trap's ε = 0 is the uniform ε = 0 of the trap's methods
    assert m["fields"]["trap"]["baseline"]["0"] == m["fields"]["uniform"]["baseline"]["0"]
    assert "egnn" not in m["fields"]["trap"]
    assert m["size_study"]["gseal"]["100"]["test_mse"]["n"] == 3
    assert set(m["size_study"]["baseline"]) == {"100", "3000"}
    for fld in m["fields"].values():
        for cells in fld.values():
            for c in cells.values():
                for s in c.values():
                    assert set(s) == {"mean", "std", "n"}
    json.dumps(m)


def test_rule_gap_equal_to_spread_is_not_a_win():
    a, b = {"mean": 1.5, "std": 0.5, "n": 3}, {"mean": 2.5, "std": 0.5, "n": 3}
    assert compare(a, b) == "tie" and compare(b, a) == "tie"
    b2 = dict(b, mean=2.5 + 1e-9)
    assert compare(a, b2) == "win" and compare(b2, a) == "loss"


def test_rule_needs_three_seeds_on_both_sides():
    a, b = {"mean": 0.1, "std": 0.0, "n": 1}, {"mean": 2.5, "std": 0.5, "n": 3}
    assert compare(a, b) == "n<3" and compare(b, a) == "n<3"
    assert compare(dict(a, n=2), b) == "n<3"
    assert compare(dict(a, n=3), b) == "win"


def test_answer_is_rendered_from_the_data():
    text = render_answer(metrics(hand_made()))
    uniform = text.split("#### Field `uniform`")[1].split("####")[0]
    assert "- `gseal` **beats** `augment` at ε ∈ {0}" in uniform
    assert "`gseal` loses to `egnn` at ε ∈ {0}" in uniform
    line = [x for x in uniform.splitlines() if x.startswith("- `gseal`") and "`baseline`" in x]
    assert line == ["- `gseal` within the error bars of `baseline` at ε ∈ {0}; "
                    "undecided (n < 3) at ε ∈ {0.3}."]
    trap = text.split("#### Field `trap`")[1].split("####")[0]
    assert "- `gseal` **beats** `baseline` at ε ∈ {0.3}; within the error bars of `baseline` " \
           "at ε ∈ {0}." in trap
    assert "| gseal | 1.5 ± 0.5 (3) | 0.1 ± 0 (1) |" in uniform
    assert "- `gseal` **beats** `baseline` at size ∈ {100}; within the error bars of " \
           "`baseline` at size ∈ {3000}." in text
    assert "EGNN 1e-15, GSEAL 0.01, baseline 0.05: **holds**" in text
    # headline: each cell once (the trap's shared ε = 0 and the size 3 000 not recounted)
    assert "| gseal | **0** / 0 / 1 | **2** / 1 / 0 (1 undecided) | **1** / 0 / 0 |" in text


def test_figures_render_on_small_data(tmp_path):
    anchor = [{"method": "egnn", "curve": [{"epoch": 10, "val_mse": 0.05},
                                           {"epoch": 20, "val_mse": 0.03}],
               "epochs": 20, "best_epoch": 20, "test_mse": 0.0142, "val_mse": 0.03,
               "train_seconds": 40.0}]
    results = [dict(r, epochs=10, train_seconds=20.0 if r["method"] == "gseal" else 10.0)
               for r in hand_made()]
    (tmp_path / "timing.json").write_text(json.dumps(
        {"step_seconds": {"baseline": 0.04, "gseal": 0.1}}))
    m = summary.write_report(tmp_path, results, anchor=anchor)
    assert sorted(m["figures"]) == ["anchor_curve.png", "mse_vs_eps.png", "mse_vs_size.png",
                                    "violation_vs_eps.png"]
    for name in m["figures"]:
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    assert json.loads((tmp_path / "metrics.json").read_text())["fields"]["trap"]
    text = (tmp_path / "answer.md").read_text()
    assert text.startswith("### The answer")
    assert "| egnn | 20 | 20 | 0.0142 | 0.0071 | 2.00 |" in text            # anchor vs paper
    assert "| gseal | 2 ± 0 (7) | 2.00 | 2.5 |" in text                     # cost, ratios
    assert m["cost"]["step_ratio"] == {"baseline": 1.0, "gseal": 2.5}


def test_doc_block_is_replaced(tmp_path):
    doc = tmp_path / "d.md"
    doc.write_text(f"a\n{summary.BEGIN}\nPLACEHOLDER\n{summary.END}\nb\n")
    results = [dict(r, epochs=10, train_seconds=10.0) for r in hand_made()]
    m = summary.write_report(tmp_path, results, doc=doc)
    text = doc.read_text()
    assert "PLACEHOLDER" not in text and text.startswith("a\n") and text.endswith("\nb\n")
    assert render_answer(m).strip() in text


def test_docs_nbody_md_shows_the_answer_of_metrics_json():
    """docs/nbody.md's rendered block is the answer docs/nbody/metrics.json gives."""
    path = ROOT / "docs" / "nbody" / "metrics.json"
    if not path.exists():
        pytest.skip("no study results yet")
    block = render_answer(json.loads(path.read_text())).strip()
    doc = (ROOT / "docs" / "nbody.md").read_text()
    inside = doc.split(summary.BEGIN)[1].split(summary.END)[0].strip()
    assert inside == block


def test_lambda_is_the_lowest_validation_mse():
    p = dict(study.DEFAULT_PLAN, scan_lams=[0.01, 0.1, 1.0])
    scan = [{"method": "gseal", "field": "uniform", "strength": 0.0, "lam": lam, "val_mse": v}
            for lam, v in ((0.01, 0.3), (0.1, 0.2), (1.0, 0.5))]
    scan += [{"method": "gseal", "field": "trap", "strength": 0.3, "lam": 0.01, "val_mse": 0.1}]
    chosen = study.chosen_lambdas(scan, p)
    assert chosen == {("gseal", "uniform", 0.0): 0.1}                 # trap 0.3: incomplete
    items = study.plan(p, chosen)
    grid = {it["key"]: it["exp"] for it in items if it["kind"] == "grid"}
    assert grid[("gseal", "uniform", 0.0, 0, 3000)].lam == 0.1
    assert grid[("gseal_sub", "uniform", 0.0, 0, 3000)].lam == 0.1     # gseal's λ
    assert grid[("gseal", "trap", 0.3, 0, 3000)] is None               # waits for its scan
    assert grid[("baseline", "trap", 0.3, 0, 3000)].lam == 0.0
    assert ("baseline", "trap", 0.0, 0, 3000) not in grid              # shared with uniform
    small = grid[("egnn", "uniform", 0.0, 0, 100)]
    assert small.schedule.epochs == 30 * p["epochs"]                    # same optimiser steps


def test_claims_are_exclusive_and_dead_claims_are_taken_over(tmp_path):
    assert study._claim(tmp_path, "a") and not study._claim(tmp_path, "a")   # own pid: alive
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (tmp_path / "b").write_text(dead)
    assert study._claim(tmp_path, "b")
    assert (tmp_path / "b").read_text() == str(os.getpid())
