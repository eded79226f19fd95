"""toptag.py's second-pass options and the pure pieces of its studies (studies/top_tagging.py):
--budget / --study parsing, the wide sample's upper edge, rejection at ε_S = 0.5 on a
hand-computed toy, the top-bin rejection ratios, the cost-study rows, the generator-physics
table, and a quick end-to-end run of every study with a violation budget (two tiny seeds)."""

import json
import math
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

from examples.hep import toptag, training
from examples.hep.data import jetgen
from examples.hep.evaluation import tagging as ev
from examples.hep.experiment import parse_budget
from examples.hep.studies import top_tagging as S
from tests.hep import methods as M

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "examples", "hep", "toptag.py")


# ----------------------------------------------------------------------------- options
def test_budget_option_adds_budget_methods_and_refuses_bad_targets():
    args = toptag.parse_args(["--methods", "baseline", "--budget", "gseal=2e-3,dseal=0.1"])
    assert [m.name for m in args.methods] == ["baseline", "gseal_budget", "dseal_budget"]
    assert {m.name.removesuffix("_budget"): m.penalty.target
            for m in args.methods[1:]} == {"gseal": 2e-3, "dseal": 0.1}
    assert args.methods[2].spec == {"penalty": "dseal", "lam": 1.0, "budget": 0.1}
    for bad in ("gseal", "gseal=0", "gseal=-1", "gseal=nan", "gseal=x", "lgatr=1e-3"):
        with pytest.raises(SystemExit):
            toptag.parse_args(["--budget", bad])
    with pytest.raises(ValueError, match="finite and > 0"):
        parse_budget("gseal=inf")
    # budget methods alone (no fixed-lambda method) are allowed; no method at all is not
    assert [m.name for m in toptag.parse_args(["--methods", "", "--budget",
                                               "dseal=0.2"]).methods] == ["dseal_budget"]
    with pytest.raises(SystemExit):
        toptag.parse_args(["--methods", ""])


def test_study_full_means_every_study_with_three_seeds_unless_told_otherwise():
    full = toptag.parse_args(["--study", "full"])
    assert full.studies == list(S.STUDIES) and full.seeds == 3
    assert toptag.parse_args(["--study", "full", "--seeds", "5"]).seeds == 5
    # no option: the first-run preset with Table 1 and Table 2 only (issue 21); the other
    # presets keep their studies (the cpu preset computes what it did)
    default = toptag.parse_args([])
    assert default.preset == "first" and default.studies == ["table1", "timing"]
    assert default.seeds == 1
    cpu = toptag.parse_args(["--preset", "cpu"])
    assert cpu.studies == ["table1", "timing", "extrapolation"] and cpu.seeds == 1
    assert toptag.parse_args(["--quick"]).studies == ["table1", "timing", "extrapolation"]
    assert toptag.parse_args(["--studies", "table1,extrapolation"]).studies == [
        "table1", "extrapolation"]
    with pytest.raises(SystemExit):
        toptag.parse_args(["--studies", "table1,nonsense"])


def test_dseal_is_built_in_the_papers_units_and_variants_with_their_options():
    pen, lam = M.make_penalty("dseal", None)
    assert pen.reduction == "sum" and lam == 0.01  # the paper's lambda_δ, as is
    pen, lam = M.make_penalty("dseal", 1.0)
    assert lam == 1.0 and S.EXTRAPOLATION_LAMBDA == {"gseal": 1.0, "dseal": 1.0}
    assert M.make_penalty("gseal_f0.25", None)[0].fraction == 0.25
    assert M.make_penalty("dseal_fd", None)[0].mode == "fd"
    assert M.make_penalty("baseline", None) == (None, 0.0)
    (budget_method,) = toptag.parse_args(["--methods", "", "--budget", "gseal=3e-3"]).methods
    budget, lam = training.build_penalty(budget_method.penalty)
    assert lam == 1.0 and budget.target == 3e-3 and budget.wrapped.fraction == 1.0


def test_the_wide_sample_reaches_3_tev():
    assert jetgen.WIDE_WINDOW == (350.0, 3000.0)
    s = jetgen._settings_for(10, 10, wide_pt=True, n_pt_bins=10)
    assert (s["pt_min"], s["pt_max"]) == (350.0, 3000.0)
    bins = jetgen._pt_bins(s["pt_min"], s["pt_max"], True, 10)
    assert bins[-1][1] == 3000.0 and bins[0][0] == 350.0 and len(bins) == 10
    assert all(math.isclose(b - a, 265.0) for a, b in bins)
    assert S.PRESETS["cpu"]["wide_bins"] == 10


# ----------------------------------------------------------------------------- metrics
SIG = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
BKG = np.array([0.95, 0.5, 0.44, 0.3, 0.2, 0.1, 0.05, 0.02])


def test_rejection_at_both_working_points_against_a_hand_computed_roc():
    labels = np.r_[np.ones(len(SIG)), np.zeros(len(BKG))]
    scores = np.r_[SIG, BKG]
    # eps_S = 0.5: threshold = the signal median 0.45 -> 5/10 signal, 2/8 background above
    assert ev.rejection_at(labels, scores, 0.5) == pytest.approx(4.0)
    # eps_S = 0.3: threshold = the 70 % quantile 0.63 -> 3/10 signal, 1/8 background above
    assert ev.rejection_at(labels, scores, 0.3) == pytest.approx(8.0)
    s = ev.summary(labels, scores)
    assert s["rejection_at_0.5"] == pytest.approx(4.0) and s["rejection_at_0.3"] == 8.0
    b = ev.binned(np.r_[np.full(10, 100.0), np.full(8, 100.0)], labels, scores, [0, 200])
    assert b["rejection_at_0.5"] == [pytest.approx(4.0)] and b["rejection_at_0.3"] == [8.0]


def binned_run(rejections):
    return {"binned": {"pt": [100.0, 200.0, 300.0], "rejection_at_0.3": rejections}}


def test_top_bin_ratios_pair_seeds_and_take_the_top_bins():
    runs = {"baseline": [binned_run([9.0, 10.0, 4.0]), binned_run([9.0, 5.0, 8.0])],
            "gseal": [binned_run([1.0, 20.0, 8.0]), binned_run([1.0, 10.0, 16.0])]}
    r = S.top_bin_ratios(runs)
    assert set(r) == {"gseal"} and [b["pt"] for b in r["gseal"]] == [200.0, 300.0]
    # seed-paired ratios: (20/10, 10/5) = (2, 2) and (8/4, 16/8) = (2, 2); pairing seed 0
    # with baseline seed 1 would give (4, 1) and (1, 4): mean 2.5, std 2.1
    for b in r["gseal"]:
        assert b["mean"] == pytest.approx(2.0) and b["std"] == pytest.approx(0.0)
    assert S.top_bin_ratios({"gseal": runs["gseal"]}) == {}


def test_matched_schedule_gives_the_extrapolation_as_many_steps_as_table1():
    cfg = dict(S.PRESETS["cpu"])  # batch 256, 10 epochs, patience 3
    got = S.matched_schedule(cfg, 7423, 21000)  # the CPU preset's numbers
    # 29 steps per epoch against 83: k = 2.86 -> 29 epochs (841 steps vs 830), patience 9
    assert (got["epochs"], got["patience"]) == (29, 9)
    assert abs(got["epochs"] * math.ceil(7423 / 256) - 10 * math.ceil(21000 / 256)) < 29
    assert cfg["epochs"] == 10 and got["lr"] == cfg["lr"]  # a copy; other keys kept
    # a sample as large as the reference (or larger) keeps the preset's schedule
    assert S.matched_schedule(cfg, 21000, 21000)["epochs"] == 10
    assert S.matched_schedule(cfg, 50000, 21000)["epochs"] == 10
    # steps, not jets: 300 jets are 2 batches of 256, like 512
    assert S.matched_schedule(cfg, 300, 512)["epochs"] == 10
    assert S.matched_schedule(cfg, 256, 512)["epochs"] == 20
    for bad in ((0, 100), (100, 0)):
        with pytest.raises(ValueError, match="n_train=.*n_reference="):
            S.matched_schedule(cfg, *bad)


def eval_run(inv05, inv09, epochs=10, auc=0.9):
    return {"epochs_trained": epochs, "auc": auc, "boosted": {"balanced_accuracy": 0.8},
            "invariance": {"magnitudes": [0.1, 0.5, 0.9], "mean": [0.0, inv05, inv09]}}


def test_cost_rows_gain_and_cost_with_fine_tuning_on_top_of_the_baseline():
    runs = {"baseline": eval_run(0.4, 0.8), "gseal": eval_run(0.1, 0.2, epochs=8),
            "gseal_f0.25": eval_run(0.16, 0.5), "gseal_finetune": eval_run(0.2, 0.4, epochs=2)}
    steps = {"baseline": 1.0, "gseal": 2.0, "gseal_f0.25": 1.25, "gseal_finetune": 2.0}
    rows = S.cost_rows(runs, steps)
    assert rows["gseal"]["training_cost"] == pytest.approx(2.0 * 8 / 10)
    assert rows["gseal_f0.25"]["training_cost"] == pytest.approx(1.25)
    assert rows["gseal_finetune"]["training_cost"] == pytest.approx(1 + 2.0 * 2 / 10)
    assert rows["gseal"]["gain_at_0.5"] == pytest.approx(1.0)
    assert rows["baseline"]["gain_at_0.5"] == pytest.approx(0.0)
    assert rows["gseal_f0.25"]["gain_at_0.5"] == pytest.approx(0.8)
    assert rows["gseal_f0.25"]["gain_at_0.9"] == pytest.approx(0.5)
    text = ev.cost_markdown(rows)
    assert "No cheaper variant keeps" in text  # 0.8 and 0.667 are below 90 %
    runs["gseal_f0.25"] = eval_run(0.12, 0.5)  # gain (0.4 - 0.12) / 0.3 = 93 %
    text = ev.cost_markdown(S.cost_rows(runs, steps))
    assert "is GSEAL, fraction 0.25: 93% of the gain at 1.25×" in text


def test_generator_physics_reads_mass_peaks_and_containment_loss(tmp_path):
    path = tmp_path / "jets.h5"
    with h5py.File(path, "w") as f:  # two bins, top and QCD tasks in each
        f.attrs["task_jet_pt"] = np.array([[350.0, 1675.0], [1675.0, 3000.0]] * 2)
        f.attrs["task_label"] = np.array([1, 1, 0, 0])
        f.attrs["candidates_in_window"] = np.array([100, 50, 80, 80])
        f.attrs["uncontained_top_candidates"] = np.array([60, 2, 0, 0])
    rng = np.random.default_rng(0)
    m = np.r_[rng.normal(172, 3, 200), rng.normal(60, 5, 100)]
    data = {"pt": np.r_[np.full(100, 500.0), np.full(100, 2000.0), np.full(100, 2000.0)],
            "y": np.r_[np.ones(200), np.zeros(100)], "m": m, "path": path}
    phys = S.generator_physics(data, 2)
    assert phys["containment_loss"] == [pytest.approx(0.6), pytest.approx(0.04)]
    assert all(170 <= p <= 180 for p in phys["top_mass_peak"])
    assert math.isnan(phys["qcd_mass_median"][0]) and 50 < phys["qcd_mass_median"][1] < 70


# ----------------------------------------------------------------------------- end to end
@pytest.fixture(scope="module")
def full_quick(tmp_path_factory, quick_jet_cache):
    """Every study with two tiny seeds (one epoch) and a GSEAL budget; the timing study is
    covered by test_toptag's default run, so it is left out here (the cost study still times
    its variants interleaved)."""
    out = tmp_path_factory.mktemp("full")
    cmd = [sys.executable, SCRIPT, "--quick", "--no-progress", "--cache-dir", quick_jet_cache,
           "--workers", "1", "--study", "full", "--studies",
           "table1,extrapolation,lambda_scan,cost", "--seeds", "2", "--epochs", "1",
           "--budget", "gseal=1e-3", "--out", str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return out


def test_full_quick_study_writes_every_table_and_figure(full_quick):
    for name in ("table1.md", "extrapolation.md", "lambda_scan.md", "cost.md",
                 "fig2_invariance.png", "fig2_lambda_scan.png", "fig_cost_frontier.png",
                 "fig4_extrapolation.png", "fig5_rejection_vs_pt.png", "details.json"):
        assert (full_quick / name).stat().st_size > 0, name
    metrics = json.loads((full_quick / "metrics.json").read_text())
    assert set(metrics) == {"baseline", "gseal", "dseal", "gseal_budget"}
    details = json.loads((full_quick / "details.json").read_text())
    assert details["seeds"] == 2 and set(details["study_wall_s"]) == set(S.STUDIES) - {
        "timing"}
    for m, runs in details["table1"].items():
        assert len(runs) == 2
        for r in runs:  # metrics.json is the mean over exactly these runs
            assert r["rejection_at_0.5"] <= r["rejection_at_0.3"] or not math.isfinite(
                r["rejection_at_0.3"])
        vals = [r["rejection_at_0.5"] for r in runs]
        assert metrics[m]["rejection_at_0.5"]["mean"] == pytest.approx(np.mean(vals))
        inv = [r["invariance"]["mean"][2] for r in runs]  # |β| = 0.5
        assert metrics[m]["invariance_at_0.5"]["mean"] == pytest.approx(np.mean(inv))
    # the training time behind every model: 4 methods x 2 seeds in Table 1 and in the
    # extrapolation, 4 new lambdas in the scan, 4 cost variants; summed step times, all > 0
    spent = details["training_s"]
    assert len(spent) == 24 and all(v > 0 for v in spent.values())
    assert "lambda_scan" not in "".join(spent) and "table1/gseal/seed 0/λ 10" in spent
    assert details["training_s_total"] == pytest.approx(sum(spent.values()))
    # the budget's lambda per epoch and final EMA against its target are recorded
    hist = details["table1"]["gseal_budget"][0]["history"]
    assert all({"lam", "penalty_ema", "target"} <= set(h) for h in hist)
    assert metrics["gseal_budget"]["budget"][0]["target"] == 1e-3
    # the λ scan: baseline + three lambdas per penalty; its default-λ rows reuse Table 1's
    scan = details["lambda_scan"]
    assert set(scan) == {"baseline", "gseal@0.1", "gseal@1", "gseal@10", "dseal@0.01",
                         "dseal@0.1", "dseal@1"}
    assert scan["gseal@1"]["auc"] == details["table1"]["gseal"][0]["auc"]
    # the cost study: every variant, fine-tuning for its 2 epochs after the baseline
    rows = details["cost"]["rows"]
    assert set(rows) == set(S.COST_METHODS)
    assert rows["gseal_finetune"]["training_cost"] > 1 and rows["baseline"][
        "training_cost"] == 1.0
    assert "90 % of full GSEAL's invariance gain" in (full_quick / "cost.md").read_text()
    # the extrapolation sample spans the new window; its bins reach 3 TeV
    ext = details["extrapolation"]
    pts = ext["runs"]["baseline"][0]["binned"]["pt"]
    assert 2500 < pts[-1] < 3000 and pts[0] < 1000 and ext["pt_cut"] == 1000.0
    assert len(ext["generator_physics"]["containment_loss"]) == S.PRESETS["quick"][
        "wide_bins"]
    assert set(ext["top_bin_ratios"]) == {"gseal", "dseal", "gseal_budget"}
    # its trainings ran the matched schedule (1 epoch asked, more steps per epoch in Table 1)
    quick = dict(S.PRESETS["quick"], epochs=1)
    want = S.matched_schedule(quick, ext["n_train"], int(training.SPLIT[0] * quick["n_jets"]))
    assert ext["epochs"] == want["epochs"] > 1 and ext["patience"] == want["patience"]
    for runs in ext["runs"].values():
        assert [len(r["history"]) for r in runs] == [ext["epochs"]] * 2
    assert f"up to {ext['epochs']} epochs" in (full_quick / "extrapolation.md").read_text()


def test_summary_lists_each_method_the_step_ratios_outputs_and_next_commands(tmp_path):
    args = toptag.parse_args([])  # the first run: table1 and timing
    run = {"auc": 0.96, "rejection_at_0.3": 120.0, "boosted": {"balanced_accuracy": 0.7},
           "invariance": {"magnitudes": [0.1, 0.5, 0.9], "mean": [0.01, 0.25, 0.4]}}
    details = {"wall_s": 540.0, "table1": {"baseline": [run], "gseal": [dict(
        run, auc=0.95, invariance={"magnitudes": [0.1, 0.5, 0.9], "mean": [0.0, 0.04, 0.1]})]},
        "timing": {"median_s": {"baseline": {"train": 0.2}, "gseal": {"train": 0.5}}}}
    (tmp_path / "table1.md").write_text("x")
    (tmp_path / "fig2_invariance.png").write_text("x")
    text = toptag.summary(args, details, tmp_path)
    assert "preset first, 1 seed(s), 9.0 min" in text
    assert "| Baseline | 0.9600 | 120.0 | 0.2500 | 0.7000 | 1.00 |" in text
    assert "| Baseline + GSEAL | 0.9500 | 120.0 | 0.0400 | 0.7000 | 2.50 |" in text
    assert f"Outputs in {tmp_path}: fig2_invariance.png, table1.md" in text
    assert "--studies extrapolation" in text and "--preset cpu --study full" in text


def test_a_tagger_budget_follows_the_training_optimizers_learning_rate(tmp_path):
    """train_one hands its AdamW to the task, so a budget method's ViolationBudget reads the
    one-cycle learning rate (issue 22: the LR-coupled target); without it the budget would
    keep the constant target."""
    import dataclasses

    import torch

    from examples.hep import training
    from examples.hep.studies import top_tagging
    from tests.hep.test_toptag import tiny_split

    data = tiny_split(32)
    cfg = dict(top_tagging.PRESETS["quick"], batch=16, epochs=1, patience=2)
    method = M.method("gseal_budget", target=1e-3)
    seen = []
    make = M.TAGGER.penalty

    def spy(*a, **k):
        penalty, lam = make(*a, **k)
        seen.append(penalty)
        return penalty, lam

    task = dataclasses.replace(M.TAGGER, penalty=spy)
    ctx = M.ctx_for(tmp_path)
    (tmp_path / "checkpoints").mkdir()
    model, _ = training.train_one("t", method, 0, data, data, cfg, ctx, task=task)
    (budget,) = seen
    assert isinstance(budget.optimizer, torch.optim.AdamW)
    assert budget.optimizer.param_groups[0]["params"][0] is next(model.parameters())
    assert training.build_penalty(method.penalty)[0].optimizer is None
