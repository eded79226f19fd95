"""Tests of examples/hep/toy_regression.py: the --quick smoke run (files, columns, methods,
cases, finite MSE, resumption) and the pieces it is built from (task, models, presets)."""

import csv
import dataclasses
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from examples.hep import toy_regression as tr
from examples.hep.data import toy as toy_data
from examples.hep.evaluation import toy as toy_eval
from examples.hep.models import toy as toy_models
from examples.hep.studies import budget_rules, toy_budget, toy_cells
from liesoft import Lorentz
from tests.hep import golden

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "hep" / "toy_regression.py"
QUICK = dataclasses.replace(tr.Config(), **tr.PRESETS["quick"])
NO_BOOST = {"baseline", "dseal", "invariant", "dualsubnet"}


def run_quick(out):
    proc = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--out", str(out),
                           "--no-progress"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def snapshot(cells_dir):
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in cells_dir.glob("*.json")}


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """Run --quick twice in one folder; return what each run left behind."""
    out = tmp_path_factory.mktemp("toy")
    first = run_quick(out)
    cells1 = snapshot(out / "cells")
    csv1 = (out / "results.csv").read_bytes()
    second = run_quick(out)
    return dict(out=out, first=first, second=second, cells1=cells1, csv1=csv1)


def read_rows(path):
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        return header, [dict(zip(header, row, strict=True)) for row in reader]


def test_quick_writes_every_output(quick):
    out = quick["out"]
    for name in ("results.csv", "fig1.png", "fig6.png", "comparison.png", "table.md",
                 "summary.md", "best.csv", "run.json"):
        assert (out / name).is_file(), name
    for name in ("fig1.png", "fig6.png", "comparison.png"):
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000, name
    assert len(list((out / "cells").glob("*.json"))) == len(toy_cells.plan(QUICK))


def test_quick_run_matches_the_golden_numbers_of_before_the_move(quick):
    """Every cell of the quick run gives the numbers the code gave before examples/hep became
    a package (tests/hep/golden), bit for bit where they were recorded in this environment
    (--quick runs on one torch thread whatever the environment says)."""
    golden.check("toy_regression", quick["out"], threads=1)


def test_results_csv_columns_methods_cases_and_finite_mse(quick):
    header, rows = read_rows(quick["out"] / "results.csv")
    assert header == ["case", "method", "lam", "beta_max", "seed", "beta", "mse"]
    assert {r["case"] for r in rows} == {"exact", "broken"}
    assert {r["method"] for r in rows} == set(toy_models.METHODS)
    for case in ("exact", "broken"):
        assert {r["method"] for r in rows if r["case"] == case} == set(toy_models.METHODS)
    for r in rows:
        mse = float(r["mse"])
        assert math.isfinite(mse) and mse >= 0, r
        assert math.isfinite(float(r["lam"])) and int(r["seed"]) == 0
        if r["method"] in NO_BOOST:
            assert r["beta_max"] == "", r
        else:
            assert 0 < float(r["beta_max"]) < 1, r
    # one row per test beta for each cell, in order
    cells = {}
    for r in rows:
        cells.setdefault((r["case"], r["method"], r["lam"], r["beta_max"]), []).append(
            float(r["beta"]))
    assert len(cells) == len(toy_cells.plan(QUICK))
    for betas in cells.values():
        assert betas == list(QUICK.test_betas)
    # GSEAL at the paper's beta_max^2 = 0.95 and the small-beta_max Fig. 6c cell are present
    gseal_bmax = {float(k[3]) for k in cells if k[1] == "gseal"}
    assert any(math.isclose(b, math.sqrt(0.95), rel_tol=1e-5) for b in gseal_bmax)
    assert any(math.isclose(b, 0.1, rel_tol=1e-5) for b in gseal_bmax)


def test_results_csv_holds_each_cells_test_mse_and_the_invariant_curve_is_flat(quick):
    """results.csv is the cells' test MSE (not the validation one); the exactly invariant
    model on the exact (invariant) target has the same MSE at every test boost (float32
    rounding of the boosted inputs aside), while on the broken target it does not."""
    _, rows = read_rows(quick["out"] / "results.csv")
    cells = {}
    for _, data in quick["cells1"].values():
        rec = json.loads(data)
        cells[(rec["case"], rec["method"], f"{rec['lam']:g}", rec["beta_max2"])] = rec
    for r in rows:
        b2 = round(float(r["beta_max"]) ** 2, 10) if r["beta_max"] else None
        rec = next(c for k, c in cells.items() if k[:3] == (r["case"], r["method"], r["lam"])
                   and (b2 is None) == (k[3] is None) and (b2 is None or math.isclose(
                       b2, k[3], rel_tol=1e-5)))
        i = rec["betas"].index(float(r["beta"]))
        assert float(r["mse"]) == pytest.approx(rec["test_mse"][i], rel=1e-6)
        assert rec["val_mse"][i] != rec["test_mse"][i]
    flat = cells[("exact", "invariant", "0", None)]["test_mse"]
    assert max(flat) / min(flat) - 1 < 1e-4
    tilted = cells[("broken", "invariant", "0", None)]["test_mse"]
    assert max(tilted) / min(tilted) - 1 > 1e-3


def test_second_run_skips_every_finished_cell(quick):
    n = len(toy_cells.plan(QUICK))
    assert f"{n} trained, 0 skipped" in quick["first"]
    assert f"0 trained, {n} skipped" in quick["second"]
    assert snapshot(quick["out"] / "cells") == quick["cells1"]   # not rewritten
    assert (quick["out"] / "results.csv").read_bytes() == quick["csv1"]


def test_only_a_missing_cell_is_recomputed(quick, tmp_path):
    out = tmp_path / "copy"
    (out / "cells").mkdir(parents=True)
    for name, (_, data) in quick["cells1"].items():
        (out / "cells" / name).write_bytes(data)
    victim = sorted(quick["cells1"])[0]
    (out / "cells" / victim).unlink()
    stdout = run_quick(out)
    n = len(toy_cells.plan(QUICK))
    assert f"1 trained, {n - 1} skipped" in stdout
    assert (out / "cells" / victim).is_file()
    assert (out / "results.csv").read_bytes() == quick["csv1"]   # seeded: same numbers again


def test_a_cell_from_another_configuration_is_not_reused(tmp_path):
    path = tmp_path / "cell.json"
    rec = {"config": json.loads(json.dumps(toy_cells.fingerprint(QUICK))), "test_mse": [1.0],
           "final_gamma_heldout": {"gseal": 1.0, "dseal": 1.0}}
    path.write_text(json.dumps(rec))
    assert toy_cells.load_cell(str(path), QUICK) is not None
    assert toy_cells.load_cell(str(path), dataclasses.replace(QUICK, lr=QUICK.lr * 2)) is None
    del rec["final_gamma_heldout"]      # a cell from before Γ was measured on held-out data
    path.write_text(json.dumps(rec))
    assert toy_cells.load_cell(str(path), QUICK) is None
    path.write_text("{truncated")
    assert toy_cells.load_cell(str(path), QUICK) is None


def boost_z_by_hand(p, beta):
    """Eq. 7 along z: E' = gamma (E - beta p_z), p_z' = gamma (p_z - beta E)."""
    gamma = 1 / math.sqrt(1 - beta**2)
    E, px, py, pz = p.unbind(-1)
    return torch.stack([gamma * (E - beta * pz), px, py, gamma * (pz - beta * E)], dim=-1)


def truth_by_hand(p, case):
    m2 = p[:, 0] ** 2 - p[:, 1] ** 2 - p[:, 2] ** 2 - p[:, 3] ** 2
    f = m2**2 + 15 * m2
    return f + (20.9983 * (-1e-3 * p[:, 3]) - 0.8431 * (1e-3 * p[:, 3]) ** 2
                if case == "broken" else 0)


class Truth(torch.nn.Module):
    """A model that is the broken target itself (in float32)."""

    def forward(self, p):
        return toy_data.truth(p, "broken")[:, None]


def test_boosted_mse_is_against_f_of_the_boosted_vectors_by_hand():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(23, 4, generator=g, dtype=torch.float64) - 0.5
    betas = [0.0, 0.6, 0.9]
    # a perfect model of the broken target: ~0 against f(boosted x), not against f(x)
    got = toy_cells.boosted_mse(Truth(), x, "broken", betas, "cpu", chunk=5)
    assert max(got) < 1e-12
    wrong = ((truth_by_hand(boost_z_by_hand(x, 0.6), "broken") - truth_by_hand(x, "broken"))
             ** 2).mean()
    assert wrong > 1e-6
    # an arbitrary net: the mean (over all 23 vectors, chunked by 5) of the squared error.
    # The net runs in float64 (it takes boosted_mse's float32 inputs and computes in float64):
    # a float32 net's outputs differ by float32 roundings (~1e-7 relative) between a batch of
    # 5 and one of 23 or between CPUs' vector widths, which rel=1e-9 does not cover. In float64
    # both sides see the same float32 inputs (the boost by hand and the library's agree to
    # ~1e-16 before the same float32 cast) and differ by float64 roundings only (~1e-15).
    torch.manual_seed(1)
    net = Float64(toy_models.mlp(4, 8, 2).double())
    for case in ("exact", "broken"):
        got = toy_cells.boosted_mse(net, x, case, betas, "cpu", chunk=5)
        for beta, value in zip(betas, got, strict=True):
            xb = boost_z_by_hand(x, beta)
            with torch.no_grad():
                pred = net(xb.float())[:, 0]
            assert pred.dtype == torch.float64
            want = ((pred - truth_by_hand(xb, case)) ** 2).mean()
            assert value == pytest.approx(float(want), rel=1e-9), (case, beta)


class Float64(torch.nn.Module):
    """``net`` (float64) on float32 inputs: casts them to float64, returns float64."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x.double())


def test_a_cells_test_mse_is_that_of_its_trained_model_on_the_boosted_test_set(monkeypatch):
    """train_cell's test_mse, recomputed here from the model it trained, on the test sample
    (not the validation one), against f of the boosted vectors."""
    cfg = dataclasses.replace(QUICK, n_train=64, n_val=16, n_test=24, batch=32, epochs=1,
                              width=8, depth=1, test_betas=(0.0, 0.7), eval_chunk=10)
    trained = []
    build = toy_cells.build_model

    def capture(*args, **kwargs):
        trained.append(build(*args, **kwargs))
        return trained[-1]

    monkeypatch.setattr(toy_cells, "build_model", capture)
    data = toy_data.make_data(cfg)
    rec = toy_cells.train_cell(toy_cells.Cell("broken", "baseline"), cfg, data, torch.device("cpu"),
                        progress=False)
    (model,) = trained
    model.eval()
    for which, key in ((2, "test_mse"), (1, "val_mse")):
        x = data[which]
        for beta, value in zip(cfg.test_betas, rec[key], strict=True):
            xb = boost_z_by_hand(x, beta)
            with torch.no_grad():
                pred = model(xb.float())[:, 0].double()
            want = ((pred - truth_by_hand(xb, "broken")) ** 2).mean()
            # the trained model is float32: its outputs here (one batch) and in train_cell
            # (chunks of 10) may differ by float32 roundings of a width-8 MLP, |δpred| <~
            # 16 u |pred| (u = 2^-24: a few roundings per layer); the MSE then moves by
            # <= 2 mean(|pred - f| |δpred|) <= 32 u max|pred| sqrt(MSE), computed here
            err = torch.sqrt(want) * pred.abs().max() * 32 * 2.0**-24
            assert value == pytest.approx(float(want), rel=1e-12, abs=float(err)), (key, beta)


def test_truth_exact_is_invariant_and_broken_is_not():
    p = torch.rand(1000, 4, dtype=torch.float64) - 0.5
    L = Lorentz.boost(torch.tensor([0.0, 0.0, 0.8], dtype=torch.float64))
    pb = p @ L.T
    assert torch.allclose(toy_data.truth(pb, "exact"), toy_data.truth(p, "exact"), atol=1e-12)
    assert not torch.allclose(toy_data.truth(pb, "broken"), toy_data.truth(p, "broken"), atol=1e-6)
    # broken - exact = 20.9983 (s.p) - 0.8431 (s.p)^2 with s.p = -1e-3 p_z (Minkowski)
    sp = -1e-3 * p[:, 3]
    assert torch.allclose(toy_data.truth(p, "broken") - toy_data.truth(p, "exact"),
                          20.9983 * sp - 0.8431 * sp**2, atol=1e-14)
    m2 = p[:, 0] ** 2 - (p[:, 1:] ** 2).sum(-1)
    assert torch.allclose(toy_data.truth(p, "exact"), m2**2 + 15 * m2)


def test_models_invariant_and_dual_subnet_shapes():
    p = torch.rand(64, 4) - 0.5
    L = Lorentz.boost(torch.tensor([0.3, -0.2, 0.6]))
    inv = toy_models.build_model("invariant", QUICK, 0)
    assert torch.allclose(inv(p @ L.T), inv(p), atol=1e-5)
    dual = toy_models.build_model("dualsubnet", QUICK, 0)
    assert dual(p).shape == (64, 1)
    assert math.isclose(dual.w, 1 / (1 + math.exp(-QUICK.dual_init_logit)), rel_tol=1e-6)
    # (1 - w) g_inv(m^2) + w g_free(p): w weighs the unconstrained subnet
    with torch.no_grad():
        m2 = p[:, 0] ** 2 - (p[:, 1:] ** 2).sum(-1)
        want = (1 - dual.w) * dual.inv.net(m2[:, None]) + dual.w * dual.free(p)
        assert torch.allclose(dual(p), want, atol=1e-6)
        assert (dual.inv(p) - dual.free(p)).abs().min() > 1e-4  # the two subnets differ
    assert dual.logit.requires_grad
    base = toy_models.build_model("baseline", QUICK, 0)
    assert not torch.allclose(base(p @ L.T), base(p), atol=1e-5)


def test_paper_preset_is_the_papers_configuration():
    cfg = dataclasses.replace(tr.Config(), **tr.PRESETS["paper"])
    assert (cfg.n_train, cfg.batch, cfg.epochs, cfg.lr) == (100_000, 1000, 1000, 1e-5)
    assert cfg.schedule == "constant" and (cfg.width, cfg.depth) == (300, 3)
    assert cfg.beta_max2 == 0.95
    paper_lams = (1e-4, 1e-2, 0.1, 1.0, 10.0, 100.0, 1000.0)   # plus lambda = 0: the baseline
    assert cfg.lams_gseal == paper_lams and cfg.lams_dseal == paper_lams
    keys = {(c.method, c.lam, c.beta_max2) for c in toy_cells.plan(cfg) if c.case == "exact"}
    assert ("baseline", 0.0, None) in keys
    assert all(("gseal", lam, 0.95) in keys and ("dseal", lam, None) in keys
               for lam in paper_lams)
    assert all(("gseal", round(lam / 0.01, 10), 0.01) in keys for lam in paper_lams)


def test_default_preset_fits_the_cpu_budget_in_steps():
    """The default's cost in plain-step equivalents (measured ratios on this CPU, see the doc)."""
    cfg = tr.Config()
    cost = {"baseline": 1.0, "gseal": 1.9, "dseal": 2.4, "augment": 1.1, "invariant": 1.0,
            "dualsubnet": 2.0}
    steps = cfg.epochs * (cfg.n_train // cfg.batch)
    units = sum(cost[c.method] for c in toy_cells.plan(cfg)) * steps
    assert steps == 1000 and units <= 60_000, units   # ~12 ms per plain step -> <= 12 min


def records_from_results_csv(path):
    """The cell records (test curves) behind a results.csv."""
    _, rows = read_rows(path)
    recs = {}
    for r in rows:
        bm = float(r["beta_max"]) if r["beta_max"] else None
        key = (r["case"], r["method"], float(r["lam"]), bm, int(r["seed"]))
        rec = recs.setdefault(key, dict(
            case=r["case"], method=r["method"], lam=float(r["lam"]), beta_max=bm,
            beta_max2=None if bm is None else round(bm**2, 4), seed=int(r["seed"]), betas=[],
            test_mse=[]))
        rec["betas"].append(float(r["beta"]))
        rec["test_mse"].append(float(r["mse"]))
    for rec in recs.values():
        rec["val_mse"] = rec["test_mse"]
    return list(recs.values())


def test_doc_table_is_what_write_tables_makes_of_the_shipped_results_csv(tmp_path):
    """docs/toy_regression.md's MSE table is the table.md that write_tables writes from the
    shipped docs/toy_regression/results.csv (which write_results reproduces byte for byte)."""
    recs = records_from_results_csv(ROOT / "docs" / "toy_regression" / "results.csv")
    toy_eval.write_results(recs, str(tmp_path))
    assert (tmp_path / "results.csv").read_text() == (
        ROOT / "docs" / "toy_regression" / "results.csv").read_text()
    cfg = tr.Config()
    assert {r["case"] for r in recs} == set(cfg.cases) and len(recs) == len(toy_cells.plan(cfg))
    toy_eval.write_tables(toy_eval.group_runs(recs), cfg, str(tmp_path))
    doc = (ROOT / "docs" / "toy_regression.md").read_text()
    table = doc.split("<!-- table:begin -->")[1].split("<!-- table:end -->")[0].strip()
    assert (tmp_path / "table.md").read_text().strip() == table
    # spot check one entry by hand: exact baseline at beta = 0.4
    mse = next(r for r in recs if (r["case"], r["method"]) == ("exact", "baseline"))
    assert f"| baseline | 0 |  | 8.61e-04 | {mse['test_mse'][mse['betas'].index(0.4)]:.2e} |" \
        in table


# ----------------------------------------------------------------------------- --budget
def test_budget_run_trains_only_its_cells_and_writes_its_reports(quick, tmp_path):
    """--quick --budget in a folder holding the default run's cells: only the budget cells (both
    rules) are trained (the fixed-lambda cells are resumed), the default reports are left alone,
    and budget.csv has one finite row per (case, penalty, target, rule)."""
    out = tmp_path / "budget"
    (out / "cells").mkdir(parents=True)
    for name, (_, data) in quick["cells1"].items():
        (out / "cells" / name).write_bytes(data)
    proc = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--budget", "--out", str(out),
                           "--no-progress"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    cells = toy_cells.budget_plan(QUICK)
    n_budget = sum(c.method == "budget" for c in cells)
    assert n_budget == 2 * 2 * (len(QUICK.budget_targets_gseal) + len(QUICK.budget_targets_dseal))
    assert f"{n_budget} trained, {len(cells) - n_budget} skipped" in proc.stdout
    assert not (out / "results.csv").exists()          # the default reports are not rewritten
    for name in ("budget.csv", "budget.md", "budget.json", "budget.png", "budget_traces.png",
                 "budget_run.json"):
        assert (out / name).is_file(), name
    header, rows = read_rows(out / "budget.csv")
    assert tuple(header) == toy_budget.BUDGET_COLUMNS and len(rows) == n_budget
    assert {(r["case"], r["penalty"], r["rule"]) for r in rows} == {
        (c, p, rule) for c in ("exact", "broken") for p in ("gseal", "dseal")
        for rule in ("lr", "constant")}
    for r in rows:
        for col in ("lam_final", "lam_max_run", "gamma_ema", "gamma_final", "gamma_ratio",
                    "mse_beta0", "mse_beta0.8"):
            assert math.isfinite(float(r[col])) and float(r[col]) > 0, (col, r)
        assert r["status"] in ("active", "inactive", "infeasible") and r["warnings"] == "0"
    rec = json.loads((out / "cells" / (cells[-1].key + ".json")).read_text())
    assert rec["method"] == "budget" and rec["target"] == cells[-1].target
    assert rec["rule"] == "constant" and "-constant_" in cells[-1].key
    assert rec["lam_log"] and 1e-6 <= rec["lam_final"] <= 1e6
    assert rec["final_gamma_heldout"][rec["penalty"]] / rec["target"] == pytest.approx(
        float(rows[-1]["gamma_ratio"]), rel=1e-5)
    summary = json.loads((out / "budget.json").read_text())["summary"]
    assert set(summary) == {"lr", "constant"} and summary["lr"]["cells"] == n_budget // 2


def test_budget_cells_have_their_own_keys_and_plan():
    cfg = tr.Config()
    cells = toy_cells.budget_plan(cfg)
    fixed = [c for c in cells if c.method != "budget"]
    assert {c.method for c in fixed} == {"baseline", "gseal", "dseal"}
    for case in cfg.cases:
        for seed in cfg.seeds:
            lams = {p: sorted(c.lam for c in fixed if (c.case, c.seed, c.method) == (case, seed, p))
                    for p in ("gseal", "dseal")}
            assert lams == {"gseal": sorted(cfg.budget_lams_gseal),
                            "dseal": sorted(cfg.budget_lams_dseal)}
    budget = [c for c in cells if c.method == "budget"]
    for rule in ("lr", "constant"):
        targets = {p: sorted(c.target for c in budget
                             if c.penalty == p and c.case == "exact" and c.rule == rule)
                   for p in ("gseal", "dseal")}
        assert targets == {"gseal": sorted(cfg.budget_targets_gseal),
                           "dseal": sorted(cfg.budget_targets_dseal)}
    assert len({c.key for c in cells}) == len(cells)
    assert toy_cells.Cell("exact", "gseal", 1.0, 0.95).key == "exact_gseal_lam1_bmax2-0.95_seed0"
    assert budget[0].key.startswith("exact_budget-gseal_target")
    assert any(c.key.startswith("exact_budget-gseal-constant_target") for c in budget)
    assert all(c not in toy_cells.plan(cfg) for c in budget)  # the default run stays as it was
    only = toy_cells.budget_plan(cfg, fixed_only=True)
    assert only == fixed


def test_budget_report_divides_by_the_front_of_the_same_seed_at_the_target():
    """budget_rows / cells: a run's MSE over the front of its own seed, interpolated at the
    target in (held-out Γ, test MSE at β = 0); seeds combined by geometric means."""
    cfg = dataclasses.replace(QUICK, test_betas=(0.0, 0.8), seeds=(0, 1), cases=("exact",))

    def rec(method, seed, lam, gamma, mse, **kw):
        g = {"gseal": gamma, "dseal": gamma}
        return dict(method=method, case="exact", seed=seed, lam=lam, beta_max2=cfg.beta_max2,
                    test_mse=[mse, 2 * mse], final_gamma_heldout=g, train_seconds=1.0, **kw)

    recs = []
    for seed, scale in ((0, 1.0), (1, 10.0)):     # seed 1's front is ten times worse
        recs += [rec("baseline", seed, 0.0, 1.0, 1e-4 * scale),
                 rec("gseal", seed, 1.0, 1e-2, 1e-3 * scale),
                 rec("gseal", seed, 10.0, 1e-3, 1e-2 * scale)]
    budget = dict(penalty="gseal", target=10 ** -2.5, rule="lr", lam_final=3.0, lam_min=1e-6,
                  lam_max_run=9.0, gamma_ema=3e-3, status="active", warnings=0)
    recs += [rec("budget", 0, 0.0, 10 ** -2.5, 2 * 10 ** -2.5, **budget),
             rec("budget", 1, 0.0, 2 * 10 ** -2.5, 10 * 10 ** -2.5, **budget)]
    rows, _ = toy_budget.budget_rows(recs, cfg)
    gseal = sorted((r for r in rows if r["penalty"] == "gseal"), key=lambda r: r["seed"])
    assert gseal[0]["front_mse"] == pytest.approx(10 ** -2.5, rel=1e-12)
    assert gseal[1]["front_mse"] == pytest.approx(10 ** -1.5, rel=1e-12)
    assert [r["ratio_front"] for r in gseal] == pytest.approx([2.0, 1.0], rel=1e-12)
    assert [r["gamma_ratio"] for r in gseal] == pytest.approx([1.0, 2.0], rel=1e-12)
    assert gseal[0]["lam_front"] == pytest.approx(10 ** 0.5, rel=1e-12)
    assert gseal[0]["lam_overshoot"] == pytest.approx(9.0 / 10 ** 0.5, rel=1e-12)
    (cell,) = [c for c in toy_budget.cells(rows) if c["penalty"] == "gseal"]
    assert cell["ratio_front"] == pytest.approx(2 ** 0.5, rel=1e-12)    # gmean, not 1.5
    assert cell["gamma_ratio"] == pytest.approx(2 ** 0.5, rel=1e-12)
    assert cell["passes"] is False              # 1.41 is outside [0.8, 1.25] and above 1.2
    ok = [dict(r, gamma_ratio=1.2, ratio_front=1.1) for r in rows]
    assert all(c["passes"] for c in toy_budget.cells(ok))
    assert toy_budget.summary(toy_budget.cells(rows))["lr"]["passes"] == 0


def test_budget_cells_run_the_rule_with_and_without_schedule(monkeypatch):
    """rule "lr" hands the cell's optimizer to ViolationBudget, "constant" none (today's rule,
    for the side-by-side study); an unknown rule is refused. Γ_final is measured on the
    training vectors and on the held-out test vectors."""
    cfg = dataclasses.replace(QUICK, n_train=64, n_val=16, n_test=24, batch=32, epochs=1,
                              width=8, depth=1, test_betas=(0.0, 0.7), eval_chunk=10,
                              gamma_eval=24)
    data = toy_data.make_data(cfg)
    built, seen = [], []
    real, real_gammas = budget_rules.ViolationBudget, toy_cells.final_gammas

    def capture(*args, **kwargs):
        built.append(real(*args, **kwargs))
        return built[-1]

    def gammas(model, x, *args):
        seen.append(x)
        return real_gammas(model, x, *args)

    monkeypatch.setattr(budget_rules, "ViolationBudget", capture)
    monkeypatch.setattr(toy_cells, "final_gammas", gammas)
    for rule in ("lr", "constant"):
        cell = toy_cells.Cell("exact", "budget", 0.0, None, 0, "dseal", 1e-3, rule)
        rec = toy_cells.train_cell(cell, cfg, data, torch.device("cpu"), progress=False)
        assert rec["rule"] == rule and rec["status"] in ("active", "inactive")
        assert len(rec["lam_log"][0]) == 5
    assert isinstance(built[0].optimizer, torch.optim.Adam) and built[1].optimizer is None
    assert [x is d for x, d in zip(seen[:3], data, strict=True)] == [True] * 3  # train, val, test
    bad = toy_cells.Cell("exact", "budget", 0.0, None, 0, "dseal", 1e-3, "pid-2")
    with pytest.raises(ValueError, match="rule must be one of"):
        toy_cells.train_cell(bad, cfg, data, torch.device("cpu"), progress=False)


def test_search_cells_steer_on_validation_and_share_their_trials(monkeypatch, tmp_path):
    """rule "search": liesoft.find_lambda over fixed-λ trials steered by each trial's Γ on the
    validation vectors (GSEAL averaged over cfg.gamma_val_draws boost draws), judged on the
    test vectors; the trials live in their own folder (not in the front's cells/), searches of
    the same case, penalty and seed share them, and the record names every trial."""
    cfg = dataclasses.replace(QUICK, n_train=64, n_val=16, n_test=24, batch=32, epochs=1,
                              width=8, depth=1, test_betas=(0.0, 0.7), eval_chunk=10,
                              gamma_eval=24, search_lam0=1.0, search_rtol=0.1, search_max=4,
                              gamma_val_draws=3)
    data = toy_data.make_data(cfg)
    # the validation Γ averages the draws: by hand on a trained trial
    seen = []
    real_gammas = toy_cells.final_gammas

    def gammas(model, x, cfg_, device, draws=1):
        seen.append((x, draws))
        return real_gammas(model, x, cfg_, device, draws)

    monkeypatch.setattr(toy_cells, "final_gammas", gammas)
    cell = toy_cells.Cell("exact", "gseal", 1.0, cfg.beta_max2, 0)
    rec = toy_cells.train_cell(cell, cfg, data, torch.device("cpu"), progress=False)
    assert [(x is d, k) for (x, k), d in zip(seen, data, strict=True)] == [
        (True, 1), (True, 3), (True, 1)]
    monkeypatch.setattr(toy_cells, "final_gammas", real_gammas)
    # fake trials: Γ_val = 0.01/λ, Γ_test = 0.02/λ — steering on the test Γ lands elsewhere
    trained = []

    def fake_train(c, cfg_, data_, device, progress):
        trained.append(c)
        g = {"gseal": 0.01 / c.lam, "dseal": 1.0}
        return dict(rec, key=c.key, lam=c.lam, method=c.method, final_gamma_val=g,
                    final_gamma_heldout={k: 2 * v for k, v in g.items()},
                    test_mse=[c.lam, c.lam], train_seconds=1.5)

    monkeypatch.setattr(toy_cells, "train_cell", fake_train)
    trials = tmp_path / "trials"
    first = toy_cells.Cell("exact", "budget", 0.0, cfg.beta_max2, 0, "gseal", 0.005, "search")
    out = toy_cells.search_cell(first, cfg, data, torch.device("cpu"), False, str(trials))
    assert out["lam_final"] == pytest.approx(2.0, rel=1e-5) and out["status"] == "landed"
    assert out["gamma_ema"] == pytest.approx(0.005, rel=1e-5)            # Γ_val of the chosen
    assert out["final_gamma_heldout"]["gseal"] == pytest.approx(0.01, rel=1e-5)   # its test Γ
    assert out["test_mse"] == [out["lam_final"]] * 2 and out["rule"] == "search"
    # λ = 1 (Γ_val 2× the target), ×4 by the assumed slope −0.5, then the secant: λ = 2
    assert out["trainings"] == len(out["trials"]) == len(trained) == 3
    assert out["train_seconds"] == pytest.approx(1.5 * 3)
    assert [t["lam"] for t in out["trials"]] == [1.0, 4.0, pytest.approx(2.0, rel=1e-5)]
    assert sorted(p.name for p in trials.iterdir()) == sorted(c.key + ".json" for c in trained)
    assert all(c.method == "gseal" and c.beta_max2 == cfg.beta_max2 for c in trained)
    # a second target of the same case, penalty and seed reuses the trials at λ = 1 and 4:
    # λ = 1, 16, then the secant's 4 — one new training
    second = dataclasses.replace(first, target=0.0025)
    out2 = toy_cells.search_cell(second, cfg, data, torch.device("cpu"), False, str(trials))
    assert [t["lam"] for t in out2["trials"]] == [1.0, 16.0, pytest.approx(4.0, rel=1e-5)]
    assert out2["trials"][0]["key"] == out["trials"][0]["key"] and len(trained) == 4
    assert out2["train_seconds"] == pytest.approx(1.5 * out2["trainings"])
    with pytest.raises(ValueError, match="a budget cell of rule 'search'"):
        toy_cells.search_cell(dataclasses.replace(first, rule="lr"), cfg, data,
                              torch.device("cpu"), False, str(trials))


def test_the_search_rule_runs_from_the_command_line(tmp_path):
    """--budget --rules search: the search cells train their trials in search_trials/, not
    in the front's cells/, and the report has a search row per (case, penalty, target)."""
    out = tmp_path / "s"
    tr.main(["--quick", "--budget", "--rules", "search", "--cases", "exact", "--out", str(out),
             "--no-progress"])
    front = {c.key + ".json" for c in toy_cells.budget_plan(
        dataclasses.replace(QUICK, cases=("exact",)), fixed_only=True)}
    cells = {p.name for p in (out / "cells").iterdir()}
    assert {n for n in cells if "_budget-" not in n} == front
    assert {n for n in cells if "_budget-" in n} == {
        "exact_budget-gseal-search_target0.01_bmax2-0.95_seed0.json",
        "exact_budget-dseal-search_target0.001_bmax2-none_seed0.json"}
    assert any((out / "search_trials").iterdir())
    header, rows = read_rows(out / "budget.csv")
    assert [r["rule"] for r in rows] == ["search", "search"]
    assert all(int(r["trainings"]) >= 1 for r in rows)
    assert (out / "budget_search.png").stat().st_size > 1000
    summ = json.loads((out / "budget.json").read_text())["summary"]["search"]
    assert summ["trainings_mean"] == sum(int(r["trainings"]) for r in rows) / 2


def test_a_budget_cell_schedules_its_target_with_the_cells_optimizer(monkeypatch):
    """The toy's budget cells hand their optimizer to ViolationBudget: under the cosine
    schedule the running target is loosened while the rate is high and equals the target once
    it has decayed (docs/budget.md, the schedule)."""
    cfg = dataclasses.replace(QUICK, n_train=64, n_val=16, n_test=24, batch=32, epochs=2,
                              width=8, depth=1, test_betas=(0.0, 0.7), eval_chunk=10,
                              schedule="cosine")
    built = []
    real = budget_rules.ViolationBudget

    def capture(*args, **kwargs):
        built.append(real(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(budget_rules, "ViolationBudget", capture)
    cell = toy_cells.Cell("broken", "budget", beta_max2=0.5, penalty="gseal", target=1e-2)
    toy_cells.train_cell(cell, cfg, toy_data.make_data(cfg), torch.device("cpu"), progress=False)
    (budget,) = built
    assert isinstance(budget.optimizer, torch.optim.Adam)
    assert budget.lr_ratio == pytest.approx(0.0, abs=1e-12)  # cosine annealed to 0 at the end
    assert budget.target_now == pytest.approx(1e-2, rel=1e-12)


def test_the_alternative_budget_rules_do_what_they_say():
    """studies/budget_rules.py: the names --help offers are the rules; each builds a budget;
    the alternatives' targets and steps follow their formulas."""
    assert tr.BUDGET_RULE_NAMES == tuple(budget_rules.RULES) + (toy_cells.SEARCH_RULE,)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(()))], lr=1.0)
    pen = lambda f, x: f(x).sum() * 0 + 1.0    # noqa: E731  (Γ = 1, 10× the target)
    built = {name: make(pen, 0.1, opt) for name, make in budget_rules.RULES.items()}
    assert all(isinstance(b, budget_rules.ViolationBudget) for b in built.values())
    assert built["constant"].optimizer is None and built["lr"].optimizer is opt
    opt.param_groups[0]["lr"] = 1.0
    for b in built.values():
        b(torch.nn.Identity(), torch.zeros(1))  # at the peak: no decay yet
    assert built["rate-lr"].lam == 1.0 and built["rate-lr2"].lam == 1.0   # no step at r = 1
    assert built["hold0.9"].lam == 1.0                                    # held: r >= 0.9
    assert built["lr"].lam == pytest.approx(math.exp(0.02))               # e = clip = 1
    assert built["slow"].lam == pytest.approx(math.exp(0.005))
    assert built["clip0.25"].lam == pytest.approx(math.exp(0.02 * 0.25))
    assert built["pi"].lam == pytest.approx(math.exp(0.005 + 1.0))       # integral + κ·e
    opt.param_groups[0]["lr"] = 0.5                                      # r = 1/2
    for b in built.values():
        b(torch.nn.Identity(), torch.zeros(1))
    assert built["sq4"].target_now == pytest.approx(0.1 * (1 + 4 * 0.25))
    assert built["sq6"].target_now == pytest.approx(0.1 * (1 + 6 * 0.25))
    assert built["slack6"].target_now == pytest.approx(0.1 * (1 + 6 * 0.5))
    assert built["rate-lr"].target_now == pytest.approx(0.1)
    assert built["rate-lr"].lam == pytest.approx(math.exp(0.02 * 0.5))   # (1 − r)·η·e
    assert built["pi"].lam == pytest.approx(math.exp(2 * 0.005 + 1.0))
    assert built["hold0.9"].lam == pytest.approx(math.exp(0.02))           # r = 0.5: steps


def test_budget_report_only_trains_nothing_and_budget_options_need_budget(tmp_path):
    out = tmp_path / "r"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--budget", "--fixed-only",
                           "--out", str(out), "--no-progress"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    proc = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--budget", "--report",
                           "--out", str(out), "--no-progress"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    n_budget = sum(c.method == "budget" for c in toy_cells.budget_plan(QUICK))
    assert proc.stdout.count("missing, left out of the report") == n_budget
    assert "0 trained" in proc.stdout and not any("budget" in p.name
                                                 for p in (out / "cells").iterdir())
    for bad in (["--report"], ["--fixed-only"], ["--rules", "lr"]):
        with pytest.raises(SystemExit):
            tr.parse_args(bad)


def test_budget_plan_without_the_front_is_the_budget_cells_alone():
    """``front=False`` drops exactly the fixed-λ cells (a plan that trains the budget cells
    alone, for their figures); asking for the front alone and no front at once is refused."""
    full = toy_cells.budget_plan(QUICK)
    alone = toy_cells.budget_plan(QUICK, front=False)
    assert alone == [c for c in full if c.method == "budget"] and alone
    assert set(toy_cells.budget_plan(QUICK, fixed_only=True)) == set(full) - set(alone)
    with pytest.raises(ValueError, match="fixed_only=True .* front=False"):
        toy_cells.budget_plan(QUICK, fixed_only=True, front=False)


def test_no_front_trains_the_budget_cells_and_redraw_needs_only_the_data(tmp_path, monkeypatch):
    """--budget --no-front: no fixed-λ cell is trained, no report that needs the front is
    written, and the two run figures land beside their data (the traces: every budget run of
    the first case and seed with its λ log; the search: every search with its trials).
    --redraw draws the same figures again from those files alone (the cells deleted), and
    says what it expected when they are missing."""
    out = tmp_path / "nf"
    tr.main(["--quick", "--budget", "--no-front", "--rules", "lr", "search", "--seeds", "0", "1",
             "--out", str(out), "--no-progress"])
    cells = sorted(p.name for p in (out / "cells").iterdir())
    assert cells and all("_budget-" in n for n in cells)
    assert not (out / "budget.md").exists() and not (out / "budget.csv").exists()
    traces = json.loads((out / "budget_traces.json").read_text())
    search = json.loads((out / "budget_search.json").read_text())
    recs = [json.loads((out / "cells" / n).read_text()) for n in cells]
    want = sorted((r["penalty"], r["target"]) for r in recs if r["rule"] == "lr"
                  and r["case"] == QUICK.cases[0] and r["seed"] == 0)
    assert sorted((r["penalty"], r["target"]) for r in traces["records"]) == want
    by_key = {(r["case"], r["seed"], r["penalty"], r["target"], r["rule"]): r for r in recs}
    for r in traces["records"]:
        assert r["lam_log"] == by_key[(r["case"], r["seed"], r["penalty"], r["target"],
                                       "lr")]["lam_log"]
    assert len(search["records"]) == sum(r["rule"] == "search" for r in recs)
    for r in search["records"]:
        assert r["trials"] == by_key[(r["case"], r["seed"], r["penalty"], r["target"],
                                      "search")]["trials"]
    assert traces["cases"] == list(QUICK.cases) and search["search_rtol"] == QUICK.search_rtol
    assert traces["seeds"] == [0, 1] and {r["seed"] for r in search["records"]} == {0, 1}

    drawn = []
    real = {"t": toy_budget.make_trace_figure, "s": toy_budget.make_search_figure}
    monkeypatch.setattr(toy_budget, "make_trace_figure",
                        lambda r, c, o: drawn.append(("t", r, c.cases, c.seeds)) or real["t"](r, c, o))
    monkeypatch.setattr(toy_budget, "make_search_figure",
                        lambda r, c, o: drawn.append(("s", r, c.search_rtol)) or real["s"](r, c, o))
    import shutil

    shutil.rmtree(out / "cells")
    shutil.rmtree(out / "search_trials")
    for png in ("budget_traces.png", "budget_search.png"):
        (out / png).unlink()
    assert tr.main(["--quick", "--budget", "--redraw", "--out", str(out)])["redrawn"] == [
        "budget_traces.png", "budget_search.png"]
    assert (out / "budget_traces.png").stat().st_size > 1000
    assert (out / "budget_search.png").stat().st_size > 1000
    assert drawn[0][1] == traces["records"] and drawn[1][1] == search["records"]
    assert not (out / "cells").exists()          # --redraw trains and creates nothing
    with pytest.raises(FileNotFoundError, match="budget_traces.json or budget_search.json"):
        tr.main(["--quick", "--budget", "--redraw", "--out", str(tmp_path / "none")])
    for bad in (["--no-front"], ["--redraw"], ["--budget", "--no-front", "--fixed-only"]):
        with pytest.raises(SystemExit):
            tr.parse_args(bad)


def test_run_figures_without_budget_runs_write_nothing(tmp_path):
    """The front alone (no budget run) has no run figure: write_run_figures writes no data file
    and draws nothing, instead of failing (the --report of a --fixed-only run)."""
    rec = {"method": "gseal", "case": "exact", "seed": 0, "rule": None}
    assert toy_budget.write_run_figures([rec], QUICK, str(tmp_path)) == []
    assert list(tmp_path.iterdir()) == []
