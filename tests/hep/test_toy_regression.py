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
from liesoft import Lorentz

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
    assert len(list((out / "cells").glob("*.json"))) == len(tr.plan(QUICK))


def test_results_csv_columns_methods_cases_and_finite_mse(quick):
    header, rows = read_rows(quick["out"] / "results.csv")
    assert header == ["case", "method", "lam", "beta_max", "seed", "beta", "mse"]
    assert {r["case"] for r in rows} == {"exact", "broken"}
    assert {r["method"] for r in rows} == set(tr.METHODS)
    for case in ("exact", "broken"):
        assert {r["method"] for r in rows if r["case"] == case} == set(tr.METHODS)
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
    assert len(cells) == len(tr.plan(QUICK))
    for betas in cells.values():
        assert betas == list(QUICK.test_betas)
    # GSEAL at the paper's beta_max^2 = 0.95 and the small-beta_max Fig. 6c cell are present
    gseal_bmax = {float(k[3]) for k in cells if k[1] == "gseal"}
    assert any(math.isclose(b, math.sqrt(0.95), rel_tol=1e-5) for b in gseal_bmax)
    assert any(math.isclose(b, 0.1, rel_tol=1e-5) for b in gseal_bmax)


def test_second_run_skips_every_finished_cell(quick):
    n = len(tr.plan(QUICK))
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
    n = len(tr.plan(QUICK))
    assert f"1 trained, {n - 1} skipped" in stdout
    assert (out / "cells" / victim).is_file()
    assert (out / "results.csv").read_bytes() == quick["csv1"]   # seeded: same numbers again


def test_a_cell_from_another_configuration_is_not_reused(tmp_path):
    path = tmp_path / "cell.json"
    path.write_text(json.dumps({"config": json.loads(json.dumps(tr.fingerprint(QUICK))),
                                "test_mse": [1.0]}))
    assert tr.load_cell(str(path), QUICK) is not None
    assert tr.load_cell(str(path), dataclasses.replace(QUICK, lr=QUICK.lr * 2)) is None
    path.write_text("{truncated")
    assert tr.load_cell(str(path), QUICK) is None


def test_truth_exact_is_invariant_and_broken_is_not():
    p = torch.rand(1000, 4, dtype=torch.float64) - 0.5
    L = Lorentz.boost(torch.tensor([0.0, 0.0, 0.8], dtype=torch.float64))
    pb = p @ L.T
    assert torch.allclose(tr.truth(pb, "exact"), tr.truth(p, "exact"), atol=1e-12)
    assert not torch.allclose(tr.truth(pb, "broken"), tr.truth(p, "broken"), atol=1e-6)
    # broken - exact = 20.9983 (s.p) - 0.8431 (s.p)^2 with s.p = -1e-3 p_z (Minkowski)
    sp = -1e-3 * p[:, 3]
    assert torch.allclose(tr.truth(p, "broken") - tr.truth(p, "exact"),
                          20.9983 * sp - 0.8431 * sp**2, atol=1e-14)
    m2 = p[:, 0] ** 2 - (p[:, 1:] ** 2).sum(-1)
    assert torch.allclose(tr.truth(p, "exact"), m2**2 + 15 * m2)


def test_models_invariant_and_dual_subnet_shapes():
    p = torch.rand(64, 4) - 0.5
    L = Lorentz.boost(torch.tensor([0.3, -0.2, 0.6]))
    inv = tr.build_model("invariant", QUICK, 0)
    assert torch.allclose(inv(p @ L.T), inv(p), atol=1e-5)
    dual = tr.build_model("dualsubnet", QUICK, 0)
    assert dual(p).shape == (64, 1)
    assert math.isclose(dual.w, 1 / (1 + math.exp(-QUICK.dual_init_logit)), rel_tol=1e-6)
    assert dual.logit.requires_grad
    base = tr.build_model("baseline", QUICK, 0)
    assert not torch.allclose(base(p @ L.T), base(p), atol=1e-5)


def test_paper_preset_is_the_papers_configuration():
    cfg = dataclasses.replace(tr.Config(), **tr.PRESETS["paper"])
    assert (cfg.n_train, cfg.batch, cfg.epochs, cfg.lr) == (100_000, 1000, 1000, 1e-5)
    assert cfg.schedule == "constant" and (cfg.width, cfg.depth) == (300, 3)
    assert cfg.beta_max2 == 0.95
    paper_lams = (1e-4, 1e-2, 0.1, 1.0, 10.0, 100.0, 1000.0)   # plus lambda = 0: the baseline
    assert cfg.lams_gseal == paper_lams and cfg.lams_dseal == paper_lams
    keys = {(c.method, c.lam, c.beta_max2) for c in tr.plan(cfg) if c.case == "exact"}
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
    units = sum(cost[c.method] for c in tr.plan(cfg)) * steps
    assert steps == 1000 and units <= 60_000, units   # ~12 ms per plain step -> <= 12 min


def test_doc_table_matches_the_shipped_results_csv():
    """docs/toy_regression.md's MSE table is the one of docs/toy_regression/results.csv."""
    doc = (ROOT / "docs" / "toy_regression.md").read_text()
    table = doc.split("<!-- table:begin -->")[1].split("<!-- table:end -->")[0].strip()
    head, _, *lines = table.splitlines()
    cols = [c.strip() for c in head.strip("|").split("|")][3:]   # e.g. "exact β=0.4"
    _, rows = read_rows(ROOT / "docs" / "toy_regression" / "results.csv")
    mse = {(r["case"], r["method"], float(r["lam"]),
            round(float(r["beta_max"]) ** 2, 4) if r["beta_max"] else None,
            float(r["beta"])): float(r["mse"]) for r in rows}
    assert len(lines) == len({k[:4] for k in mse}) // 2   # every cell of both cases, once
    for line in lines:
        method, lam, b2, *vals = [c.strip() for c in line.strip("|").split("|")]
        for col, val in zip(cols, vals, strict=True):
            case, beta = col.split(" β=")
            key = (case, method, float(lam), float(b2) if b2 else None, float(beta))
            assert f"{mse[key]:.2e}" == val, (key, val)
