"""The top-tagging metrics (examples/hep/evaluation/tagging.py) against values worked out by hand on a
small fixed, unbalanced set: AUC, balanced accuracy (not plain accuracy), background rejection
at eps_S = 0.3 (not 0.7), the pT-binned metrics and the mean +- std over seeds."""

import math
import re

import numpy as np
import pytest

from examples.hep.evaluation import tagging as ev

# 11 tops and 20 QCD jets (unbalanced: plain accuracy and balanced accuracy differ)
SIGNAL = [0.95, 0.92, 0.88, 0.85, 0.75, 0.66, 0.52, 0.45, 0.40, 0.35, 0.20]
BACKGROUND = [0.90, 0.86, 0.80, 0.70, 0.60, 0.55, 0.49, 0.47, 0.44, 0.30, 0.25, 0.22, 0.18,
              0.15, 0.12, 0.10, 0.08, 0.05, 0.03, 0.01]


def fixed_set():
    """The set above in a fixed shuffled order (a metric must not rely on the order)."""
    labels = np.array([1] * len(SIGNAL) + [0] * len(BACKGROUND))
    scores = np.array(SIGNAL + BACKGROUND)
    perm = np.random.default_rng(0).permutation(len(labels))
    return labels[perm], scores[perm]


def test_auc_by_hand():
    labels, scores = fixed_set()
    # background jets below each top: 20 + 20 + 19 + 18 + 17 + 16 + 14 + 12 + 11 + 11 + 8 = 166
    assert ev.auc(labels, scores) == pytest.approx(166 / 220, abs=1e-12)
    assert ev.auc(1 - labels, scores) == pytest.approx(1 - 166 / 220, abs=1e-12)
    # a tie between a top and a QCD jet counts one half: (0.5 + 1 + 1 + 1) / 4
    assert ev.auc([1, 0, 1, 0], [0.5, 0.5, 0.8, 0.2]) == pytest.approx(0.875, abs=1e-12)
    assert math.isnan(ev.auc([1, 1, 1], [0.1, 0.2, 0.3]))


def test_balanced_accuracy_by_hand_is_not_plain_accuracy():
    labels, scores = fixed_set()
    # threshold 0.5: 7 of the 11 tops are >= 0.5 (TPR 7/11), 14 of the 20 QCD jets are below
    # it (TNR 14/20); plain accuracy would be (7 + 14) / 31 = 0.677
    want = 0.5 * (7 / 11 + 14 / 20)
    assert ev.balanced_accuracy(labels, scores) == pytest.approx(want, abs=1e-12)
    assert abs(want - 21 / 31) > 5e-3
    # another threshold: 0.8 keeps 4 tops (0.95, 0.92, 0.88, 0.85) and 3 QCD jets
    assert ev.balanced_accuracy(labels, scores, threshold=0.8) == pytest.approx(
        0.5 * (4 / 11 + 17 / 20), abs=1e-12)
    assert math.isnan(ev.balanced_accuracy([0, 0], [0.2, 0.9]))


def test_rejection_at_signal_efficiency_by_hand():
    labels, scores = fixed_set()
    # eps_S = 0.3: the cut is the 70 % quantile of the 11 top scores (numpy's linear rule: the
    # sorted value at position 0.7 * 10 = 7, i.e. 0.85); QCD at or above it: 0.90, 0.86 -> 2/20
    assert ev.rejection_at(labels, scores) == pytest.approx(10.0, abs=1e-12)
    assert ev.rejection_at(labels, scores, 0.3) == pytest.approx(10.0, abs=1e-12)
    # eps_S = 0.5: cut 0.66 (position 5); QCD above: 0.90, 0.86, 0.80, 0.70 -> 4/20
    assert ev.rejection_at(labels, scores, 0.5) == pytest.approx(5.0, abs=1e-12)
    # eps_S = 0.7 (the wrong working point for the default): cut 0.45 (position 3): 8/20
    assert ev.rejection_at(labels, scores, 0.7) == pytest.approx(2.5, abs=1e-12)
    # no QCD jet above the cut: infinite rejection; one class only: undefined
    assert ev.rejection_at([1, 1, 1, 0], [0.7, 0.8, 0.9, 0.1]) == math.inf
    assert math.isnan(ev.rejection_at([0, 0, 0], [0.7, 0.8, 0.9]))


def test_summary_holds_the_three_metrics_of_the_scores():
    labels, scores = fixed_set()
    s = ev.summary(labels, scores)
    assert s["auc"] == pytest.approx(166 / 220, abs=1e-12)
    assert s["balanced_accuracy"] == pytest.approx(0.5 * (7 / 11 + 14 / 20), abs=1e-12)
    assert s["rejection_at_0.3"] == pytest.approx(10.0, abs=1e-12)
    if "rejection_at_0.5" in s:  # the second working point (cut 0.66, 4 of 20 QCD jets)
        assert s["rejection_at_0.5"] == pytest.approx(5.0, abs=1e-12)


def test_binned_metrics_by_hand():
    labels, scores = fixed_set()
    rng = np.random.default_rng(1)
    # bin [500, 600): the fixed set; [600, 700): 9 jets (too few: NaN); [700, 800): 10 jets,
    # one exactly on its lower edge 700; one jet at 800, the last edge, belongs to no bin
    low_y, low_s = np.array([1, 0] * 4 + [1]), rng.uniform(size=9)
    high_y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    high_s = np.array([0.9, 0.8, 0.6, 0.3, 0.72, 0.4, 0.35, 0.2, 0.1, 0.05])
    pt = np.concatenate([np.full(31, 550.0), np.full(9, 650.0), [700.0], np.full(9, 750.0),
                         [800.0]])
    y = np.concatenate([labels, low_y, high_y, [1]])
    s = np.concatenate([scores, low_s, high_s, [0.99]])
    out = ev.binned(pt, y, s, [500.0, 600.0, 700.0, 800.0])
    assert out["pt"] == [550.0, 650.0, 750.0] and out["n"] == [31, 9, 10]
    ba, rej = out["balanced_accuracy"], out["rejection_at_0.3"]
    assert ba[0] == pytest.approx(0.5 * (7 / 11 + 14 / 20), abs=1e-12)
    assert rej[0] == pytest.approx(10.0, abs=1e-12)
    assert math.isnan(ba[1]) and math.isnan(rej[1])
    # last bin: TPR 3/4 (0.9, 0.8, 0.6), TNR 5/6 (0.72 is above 0.5); cut = 70 % quantile of
    # (0.3, 0.6, 0.8, 0.9) = 0.8 + 0.1 * 0.1 = 0.81: no QCD jet above it
    assert ba[2] == pytest.approx(0.5 * (3 / 4 + 5 / 6), abs=1e-12)
    assert rej[2] == math.inf
    if "rejection_at_0.5" in out:  # cut: median of (0.3, 0.6, 0.8, 0.9) = 0.7; QCD: 0.72
        assert out["rejection_at_0.5"][0] == pytest.approx(5.0, abs=1e-12)
        assert math.isnan(out["rejection_at_0.5"][1])
        assert out["rejection_at_0.5"][2] == pytest.approx(6.0, abs=1e-12)


def test_mean_std_uses_the_sample_std_over_finite_values():
    got = ev.mean_std([1.0, 2.0, None, 4.0, float("nan"), float("inf"), 3.0])
    assert got["mean"] == pytest.approx(2.5, abs=1e-12)
    assert got["std"] == pytest.approx(math.sqrt(5 / 3), abs=1e-12)  # ddof = 1, not 1.118
    assert (got["n"], got["of"]) == (4, 7)  # the three left out are counted, not lost
    assert ev.mean_std([0.7]) == {"mean": 0.7, "std": 0.0, "n": 1, "of": 1}
    empty = ev.mean_std([None, float("nan")])
    assert math.isnan(empty["mean"]) and math.isnan(empty["std"]) and empty["n"] == 0
    assert ev.mean_std(iter([1.0, 3.0]))["of"] == 2  # a generator is counted before filtering


def test_tables_say_how_many_seeds_a_mean_is_over():
    assert ev._fmt(ev.mean_std([1.0, 3.0]), 2) == "2.00 ± 1.41"
    assert ev._fmt(ev.mean_std([1.0, 3.0, math.inf]), 2) == "2.00 ± 1.41 (2 of 3)"
    # one seed has no spread: said, never printed as "± 0.00" (issue 32 item 4)
    assert ev._fmt(ev.mean_std([1.5]), 2) == "1.50 (1 seed)"
    assert ev._fmt(ev.mean_std([1.5, math.nan, math.inf]), 2) == "1.50 (1 of 3 seeds)"


def test_best_epochs_and_the_extrapolation_table_show_whether_training_converged():
    hist = [{"epoch": 1, "val_bce": 0.5}, {"epoch": 2, "val_bce": 0.3},
            {"epoch": 3, "val_bce": 0.35}, {"epoch": 4, "val_bce": 0.31}]
    assert ev.best_epochs(hist) == (4, 2)  # the lowest, not the last
    assert ev.best_epochs(hist[:2]) == (2, 2)
    with pytest.raises(ValueError, match="non-empty"):
        ev.best_epochs([])
    part = {"auc": 0.9, "balanced_accuracy": 0.8, "rejection_at_0.3": 10.0,
            "rejection_at_0.5": 5.0}
    runs = {"baseline": [{"below_cut": part, "above_cut": part, "history": hist},
                         {"below_cut": part, "above_cut": part, "history": hist[:2]}]}
    text = ev.extrapolation_markdown(runs, {}, 1000.0, schedule={
        "n_train": 7423, "epochs": 29, "patience": 9})
    assert "7423 training jets, up to 29 epochs, early stopping after 9" in text
    row = next(line for line in text.splitlines() if line.startswith("| Baseline"))
    assert row.rstrip().endswith("| 4 (2), 2 (2) |")
    assert "training jets" not in ev.extrapolation_markdown(runs, {}, 1000.0)


def test_table1_markdown_has_every_working_point_and_the_three_boosts():
    def ms(*v):
        return ev.mean_std(v)

    metrics = {"dseal": {"balanced_accuracy": ms(0.91, 0.93), "auc": ms(0.96, 0.97),
                         "rejection_at_0.3": ms(150.0, math.inf), "rejection_at_0.5": ms(50.0, 54.0),
                         "invariance_at_0.1": ms(0.01, 0.03), "invariance_at_0.5": ms(0.2, 0.4),
                         "invariance_at_0.9": ms(0.5, 0.7), "boosted_balanced_accuracy": ms(0.8, 0.9),
                         "train_step_s": ms(0.3, 0.5), "eval_step_s": ms(0.1, 0.1)}}
    text = ev.table1_markdown(metrics, seeds=2)
    row = next(line for line in text.splitlines() if line.startswith("| Baseline + δSEAL"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    header = next(line for line in text.splitlines() if line.startswith("| method"))
    # a markdown cell boundary is an unescaped "|" (the header escapes |Δσ| and |β|)
    assert len(cells) == len(re.split(r"(?<!\\)\|", header.strip("|"))) == 9
    # one finite seed of two: its value and the count, no "± 0.0" (issue 32 item 4)
    assert cells[3] == "150.0 (1 of 2 seeds)" and cells[4] == "52.0 ± 2.8"
    assert cells[5] == "0.0200 ± 0.0141 / 0.3000 ± 0.1414 / 0.6000 ± 0.1414"
    assert cells[6] == "0.8500 ± 0.0707"
    assert text.startswith("Mean ± std over 2 seed(s).")
    # one seed: the three means and one "(1 seed)"; one seed of three left out is still said
    def cells_of(m):
        return [c.strip() for c in ev.table1_markdown(m).splitlines()[2].strip("|").split("|")]

    one = {k: ms(v["mean"]) for k, v in metrics["dseal"].items()}
    cells = cells_of({"dseal": one})
    assert cells[5] == "0.0200 / 0.3000 / 0.6000 (1 seed)" and cells[2] == "0.9650 (1 seed)"
    one["invariance_at_0.9"] = ms(0.6, math.nan)
    assert cells_of({"dseal": one})[5] == "0.0200 (1 seed) / 0.3000 (1 seed) / 0.6000 (1 of 2 seeds)"


def test_the_regression_table_prints_one_timing_once_not_as_a_spread_over_seeds():
    """The train-step ratio comes from one interleaved timing run copied into every seed: the
    table prints it once, saying so, never "± 0.00" (issue 32 item 4)."""
    from examples.hep.evaluation import regression as rev

    run = {"inside": {"E": {"resolution": 0.1, "response": 0.9},
                      "m": {"resolution": 0.1, "response": 0.9}},
           "above": {"E": {"resolution": 0.1}, "m": {"resolution": 0.1}},
           "boosted": {"E": {"resolution": 0.1}, "m": {"resolution": 0.1}},
           "violation_at_0.5": 1e-3, "train_step_ratio": 1.96}
    text = rev.results_markdown({"gseal": [run, dict(run), dict(run)]}, 1000.0)
    row = next(line for line in text.splitlines() if line.startswith("| Baseline + GSEAL"))
    assert row.rstrip(" |").endswith("1.96 (1 timing run)") and "± 0.00 |" not in row
    assert rev.step_ratio([run]) == "1.96" and rev.step_ratio([{}]) == "–"
