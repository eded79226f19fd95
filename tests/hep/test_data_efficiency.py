"""The data-efficiency study (issue 23): schedule, nested balanced subsets, the augmentation
method in the training loop, validation interval, result files and metrics.json."""

import dataclasses
import json

import numpy as np
import pytest
import torch

from examples.hep import data_efficiency as script
from examples.hep import training
from examples.hep.data.augment import BoostAugmentation
from examples.hep.models import lloca_tagger
from examples.hep.studies import efficiency as study
from examples.hep.studies import top_tagging
from tests.hep import methods as M
from tests.hep.test_toptag import jets, tiny_split


# --------------------------------------------------------------------------- schedule
def test_schedule_floors_the_steps_and_keeps_table_1_at_the_full_size():
    small = study.schedule(1000, 256)  # 4 steps per epoch
    assert small == {"epochs": 200, "val_every": 10, "patience": 6, "steps_per_epoch": 4}
    assert study.schedule(3000, 256) == {"epochs": 67, "val_every": 4, "patience": 5,
                                         "steps_per_epoch": 12}
    assert study.schedule(10_000, 256)["epochs"] == 20
    full = study.schedule(21_000, 256)  # Table 1: 10 epochs of 83 steps, patience 3
    assert full == {"epochs": 10, "val_every": 1, "patience": 3, "steps_per_epoch": 83}
    for n in (100, 1000, 3000, 10_000, 21_000):
        s = study.schedule(n, 256)
        assert s["epochs"] * s["steps_per_epoch"] >= study.MIN_STEPS
        assert s["val_every"] * s["steps_per_epoch"] >= study.VAL_STEPS
        assert s["patience"] * s["val_every"] * s["steps_per_epoch"] >= study.PATIENCE_STEPS
    with pytest.raises(ValueError, match="n_train and batch"):
        study.schedule(0, 256)


# --------------------------------------------------------------------------- subsets
def test_subsets_are_class_balanced_nested_and_differ_between_seeds():
    rng = np.random.default_rng(0)
    y = (rng.random(500) < 0.3).astype(np.float32)  # unbalanced on purpose
    order = study.balanced_order(y, seed=0)
    assert sorted(order.tolist()) == list(range(500))  # a permutation: nothing lost
    n_sig = int(y.sum())
    for n in (2, 10, 100, 2 * n_sig):
        assert y[order[:n]].sum() == n // 2  # balanced while both classes last
    train = {"x": np.arange(500.0)[:, None], "y": y}
    small, large = study.subset(train, 20, 1), study.subset(train, 60, 1)
    assert set(small["x"][:, 0]) < set(large["x"][:, 0])  # nested
    assert not np.array_equal(study.subset(train, 20, 2)["x"], small["x"])  # seed matters
    assert study.subset(train, None, 0) is train and study.subset(train, 10_000, 0) is train


# --------------------------------------------------------------------------- augmentation
def test_the_augment_method_trains_on_the_samplers_boosted_copies_with_the_labels_kept():
    seen = []

    class Spy(torch.nn.Module):
        def forward(self, x):
            seen.append(x.detach().clone())
            return x[..., 0].sum(-1, keepdim=True) * 0.0

    x = jets(batch=6, n=8, pad=2, seed=3).float()
    y = torch.tensor([0.0, 1, 0, 1, 1, 0])
    gen = torch.Generator().manual_seed(5)
    assert M.method("augment").augment and not M.method("baseline").augment
    # the loop's objective of a method with augment=True (the task's augmentation, no penalty)
    _, _, pen = training.objective(Spy(), None, 0.0, loss=M.TAGGER.loss,
                                   augment=M.TAGGER.augment, generator=gen)(x, y)
    want = BoostAugmentation()(x, y, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(seen[0], want[0], rtol=0, atol=0)  # the sampler's draws
    assert not torch.equal(seen[0], x) and float(pen) == 0.0
    torch.testing.assert_close(want[1], y, rtol=0, atol=0)  # labels kept
    # and the baseline sees the jets as they are
    training.objective(Spy(), None, 0.0, loss=M.TAGGER.loss, generator=gen)(x, y)
    torch.testing.assert_close(seen[1], x, rtol=0, atol=0)


# --------------------------------------------------------------------------- validation interval
@pytest.mark.parametrize("val_every", [1, 3])
def test_train_one_validates_every_val_every_epochs_and_counts_patience_in_validations(
        tmp_path, val_every):
    data = tiny_split(32)
    cfg = dict(top_tagging.PRESETS["quick"], batch=16, epochs=20, patience=2,
               val_every=val_every)
    calls = []

    def val_loss(*a, **k):  # improves once, then gets worse
        calls.append(1)
        return [0.5, 0.4, 0.6, 0.7, 0.8, 0.9][len(calls) - 1]

    ctx = M.ctx_for(tmp_path)
    (tmp_path / "checkpoints").mkdir()
    task = dataclasses.replace(M.TAGGER, val_loss=val_loss)
    _, info = training.train_one("t", M.method("baseline"), 0, data, data, cfg, ctx, task=task)
    epochs = [h["epoch"] for h in info["history"]]
    assert epochs == [val_every * k for k in range(1, 5)]  # best at the 2nd, stop 2 later
    assert info["epochs_trained"] == 4 * val_every
    with pytest.raises(ValueError, match="val_every"):
        ctx.trained.clear()
        training.train_one("t", M.method("baseline"), 1, data, data, dict(cfg, val_every=0), ctx,
                           task=task)


# --------------------------------------------------------------------------- LLoCa build
@pytest.mark.skipif(not lloca_tagger.available(), reason="needs the optional lloca package")
def test_the_lloca_task_standardises_from_the_training_jets():
    cfg = top_tagging.PRESETS["quick"]
    x = jets(batch=8, n=10, pad=2, seed=4).float().numpy()
    model = study.task_for(M.TAGGER, M.method("lloca"), x).build(cfg, M.method("lloca"))
    assert model.standardized
    assert study.task_for(M.TAGGER, M.method("baseline"), x) is M.TAGGER


# --------------------------------------------------------------------------- the script
def test_the_quick_study_writes_results_metrics_and_figures_and_skips_finished_runs(
        tmp_path, quick_jet_cache, capsys):
    argv = ["--quick", "--methods", "baseline,augment", "--out", str(tmp_path),
            "--cache-dir", quick_jet_cache, "--no-progress"]
    script.main(argv)
    first = capsys.readouterr().out
    results = sorted(p.name for p in (tmp_path / "results").iterdir())
    assert results == ["augment_100_seed0.json", "augment_840_seed0.json",
                       "baseline_100_seed0.json", "baseline_840_seed0.json"]
    met = json.loads((tmp_path / "metrics.json").read_text())
    assert list(met) == ["baseline", "augment"]  # the study's order
    assert list(met["baseline"]) == ["100", "840"]
    cell = met["augment"]["100"]
    for key in ("auc", "rejection_at_0.3", "rejection_at_0.5", "invariance_at_0.1",
                "invariance_at_0.5", "invariance_at_0.9", "boosted_balanced_accuracy"):
        assert set(cell[key]) == {"mean", "std", "n", "of"} and cell[key]["of"] == 1
    r = json.loads((tmp_path / "results" / "baseline_100_seed0.json").read_text())
    assert r["size"] == 100 and r["signal_fraction"] == 0.5
    assert r["steps_trained"] == r["epochs_trained"] * r["steps_per_epoch"]
    # metrics.json holds each cell's own result file's numbers (one seed: the mean is that
    # seed's value, n = 1), and a result's "auc" is the AUC, not another metric in [0, 1]
    # (issue 32 item 3: was 0 <= auc <= 1, which a metric read from the wrong key or cells
    # pooled across sizes pass; the quick runs barely train -- AUC 0.42-0.62 measured -- so
    # "above 0.5" is not a property of them; the AUC itself is pinned by test_evaluation)
    aucs = []
    for method in ("baseline", "augment"):
        for size in ("100", "840"):
            res = json.loads((tmp_path / "results" / f"{method}_{size}_seed0.json").read_text())
            got = met[method][size]
            for key in ("auc", "rejection_at_0.3", "boosted_balanced_accuracy"):
                assert got[key]["mean"] == res[key] and got[key]["n"] == 1, (method, size, key)
            assert 0.0 < res["auc"] < 1.0 and res["auc"] != res["balanced_accuracy"]
            aucs.append(res["auc"])
    assert len(set(aucs)) == 4                       # four trainings, four AUCs
    for fig in ("auc_vs_size.png", "rejection_vs_size.png", "invariance_vs_size.png"):
        assert (tmp_path / fig).stat().st_size > 1000
    # a second run trains nothing and reports the same table; --report only reports
    script.main(argv)
    again = capsys.readouterr().out
    assert "epoch" not in again and again.strip().endswith(first.strip().splitlines()[-1])
    (tmp_path / "metrics.json").unlink()
    script.main(argv + ["--report"])
    assert json.loads((tmp_path / "metrics.json").read_text()) == met
    # --timing: interleaved step times; the report's table then shows the ratios
    script.main(argv + ["--timing"])
    steps = json.loads((tmp_path / "step_times.json").read_text())
    assert steps["ratio"]["baseline"] == 1.0 and steps["ratio"]["augment"] > 0
    assert set(steps["median_s"]["augment"]) == {"train", "eval"}
    row = next(line for line in (tmp_path / "table.md").read_text().splitlines()
               if line.startswith("| Baseline + boost augmentation | 100 "))
    assert row.rstrip(" |").endswith(f"{steps['ratio']['augment']:.2f}")


def test_the_script_rejects_bad_options():
    for bad in (["--methods", "nope"], ["--sizes", "10,x"], ["--sizes", "1"], ["--seeds", "0"]):
        with pytest.raises(SystemExit):
            script.parse_args(bad)
