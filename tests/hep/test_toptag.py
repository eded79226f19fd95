"""The top-tagging example: feature map, model, --quick end to end, resume, DDP on 2 CPUs."""

import json
import math
import os
import re
import subprocess
import sys

import pytest
import torch

from examples.hep.tagger import JetTransformer, constituent_features
from liesoft import Lorentz, Vector4

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "examples", "hep", "toptag.py")
METRIC_KEYS = {"auc", "balanced_accuracy", "rejection_at_0.3", "train_step_s", "eval_step_s"}
FIGURES = ["fig2_invariance.png", "fig3_accuracy_vs_pt.png", "fig4_extrapolation.png",
           "fig5_rejection_vs_pt.png"]


def jets(batch=4, n=12, pad=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    p3 = 30 * torch.randn(batch, n, 3, generator=g, dtype=torch.float64)
    p3[..., 0] += 300.0  # a collimated jet along x
    x = torch.cat([p3.norm(dim=-1, keepdim=True), p3], dim=-1)
    x[:, n - pad:] = 0.0
    return x


def test_feature_map_is_finite_with_finite_first_and_second_derivatives():
    x = jets().requires_grad_(True)
    feats, mask = constituent_features(x)
    assert feats.shape == (4, 12, 7) and torch.isfinite(feats).all()
    assert mask.sum() == 4 * 8 and (feats[~mask] == 0).all()
    (g,) = torch.autograd.grad(feats.pow(2).sum(), x, create_graph=True)
    assert torch.isfinite(g).all() and (g[~mask] == 0).all()
    (h,) = torch.autograd.grad(g.pow(2).sum(), x)
    assert torch.isfinite(h).all()


def test_one_constituent_jets_and_constituents_on_the_axis_keep_second_derivatives_finite():
    """Real generated samples contain one-constituent jets: ΔR = 0 there (a NaN source)."""
    from liesoft import DeltaSEAL

    x = jets(batch=3, n=5, pad=0)
    x[0, 1:] = 0.0  # a single constituent: it sits exactly on the jet axis
    x[1, 1] = x[1, 0]  # two identical constituents: both on the axis of a 2-particle jet
    x[1, 2:] = 0.0
    torch.manual_seed(0)
    model = JetTransformer(d=16, layers=1, heads=2, hidden=16, hidden_layers=1).double()
    value = DeltaSEAL(Lorentz(), Vector4())(lambda z: torch.sigmoid(model(z)), x)
    grads = torch.autograd.grad(value, list(model.parameters()), allow_unused=True)
    assert torch.isfinite(value)
    assert all(torch.isfinite(g).all() for g in grads if g is not None)


def test_feature_values_and_beam_rotation_invariance():
    x = jets(batch=2, pad=0)
    feats, _ = constituent_features(x)
    E, px, py, pz = x.unbind(-1)
    pt = (px**2 + py**2).sqrt()
    assert torch.allclose(feats[..., 0], E.log()) and torch.allclose(feats[..., 1], pt.log())
    jet = x.sum(1)
    jet_pt = (jet[:, 1] ** 2 + jet[:, 2] ** 2).sqrt()
    assert torch.allclose(feats[..., 2], (pt / jet_pt[:, None]).log())
    eta = torch.asinh(pz / pt) - torch.asinh(jet[:, 3] / jet_pt)[:, None]
    assert torch.allclose(feats[..., 4], eta)
    assert torch.allclose(feats[..., 6], (feats[..., 4] ** 2 + feats[..., 5] ** 2).sqrt())
    # every feature is invariant under rotations about the beam axis
    R = Lorentz.rotation(torch.tensor([0.0, 0.0, 2.5], dtype=torch.float64))
    rotated, _ = constituent_features(Vector4().act(R, x))
    assert torch.allclose(rotated, feats, atol=1e-10)


def test_tagger_size_and_padding_independence():
    paper = JetTransformer()
    assert 1.2e6 < sum(p.numel() for p in paper.parameters()) < 1.35e6  # paper: about 1.3 M
    torch.manual_seed(0)
    model = JetTransformer(d=16, layers=1, heads=2, hidden=16, hidden_layers=1).double().eval()
    x = jets()
    out = model(x)
    assert out.shape == (4, 1)
    more = torch.cat([x, torch.zeros(4, 5, 4, dtype=torch.float64)], dim=1)
    assert torch.allclose(model(more), out, atol=1e-12)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("jetcache"))


def run(args, cache, timeout=600, ddp=False):
    cmd = [sys.executable] + (["-m", "torch.distributed.run", "--nproc_per_node", "2",
                               "--master_port", "29517"] if ddp else [])
    cmd += [SCRIPT, "--quick", "--no-progress", "--cache-dir", cache, "--workers", "1", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def check_metrics(out, methods):
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == set(methods)
    for m in methods:
        assert set(metrics[m]) == METRIC_KEYS
        for v in metrics[m].values():
            assert set(v) == {"mean", "std"} and math.isfinite(v["mean"])
        assert 0 <= metrics[m]["auc"]["mean"] <= 1 and metrics[m]["train_step_s"]["mean"] > 0
    return metrics


def test_quick_end_to_end(tmp_path, cache):
    r = run(["--out", str(tmp_path)], cache)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    check_metrics(tmp_path, ["baseline", "gseal", "dseal"])
    for name in FIGURES + ["table1.md", "details.json"]:
        assert (tmp_path / name).stat().st_size > 0, name
    table = (tmp_path / "table1.md").read_text()
    assert "Baseline + GSEAL" in table and "Baseline + δSEAL" in table
    details = json.loads((tmp_path / "details.json").read_text())
    inv = details["table1"]["gseal"][0]["invariance"]
    assert inv["magnitudes"] == [0.1, 0.3, 0.5, 0.7, 0.9] and len(inv["mean"]) == 5
    assert details["extrapolation"]["pt_cut"] == 1000.0
    assert "Table 1" in r.stdout


def test_resume_after_an_interrupted_run(tmp_path, cache):
    args = ["--out", str(tmp_path), "--methods", "baseline", "--studies", "table1"]
    first = run(args + ["--interrupt-after", "1"], cache)
    assert first.returncode == 3, first.stdout[-2000:] + first.stderr[-2000:]
    ckpt = tmp_path / "checkpoints" / "table1_baseline_seed0.pt"
    saved = torch.load(ckpt, weights_only=True)
    assert saved["state"]["epoch"] == 1 and not saved["state"]["done"]
    assert not (tmp_path / "metrics.json").exists()
    second = run(args + ["--resume"], cache)
    assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-2000:]
    assert "resumed after epoch 1" in second.stdout
    assert "epoch 1:" not in second.stdout and "epoch 2:" in second.stdout
    check_metrics(tmp_path, ["baseline"])
    assert torch.load(ckpt, weights_only=True)["state"]["done"]


def test_ddp_with_two_cpu_processes(tmp_path, cache):
    r = run(["--out", str(tmp_path), "--studies", "table1"], cache, ddp=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "world size 2" in r.stdout
    check_metrics(tmp_path, ["baseline", "gseal", "dseal"])


def test_bad_data_argument_is_refused(tmp_path, cache):
    r = run(["--out", str(tmp_path), "--data", "atlas"], cache)
    assert r.returncode != 0 and "--data must be pythia, atlas:PATH or reference:PATH" in (
        r.stdout + r.stderr)
    r = run(["--out", str(tmp_path), "--methods", "baseline,lgtr"], cache)
    assert r.returncode != 0 and "--methods must be a comma list" in r.stderr


def test_quick_end_to_end_with_lgatr_has_its_rows_everywhere(tmp_path, cache):
    r = run(["--out", str(tmp_path), "--methods", "baseline,lgatr"], cache)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    check_metrics(tmp_path, ["baseline", "lgatr"])
    for name in ["table1.md", "timing.md"]:
        assert "| L-GATr |" in (tmp_path / name).read_text(), name
    details = json.loads((tmp_path / "details.json").read_text())
    assert set(details["extrapolation"]["runs"]) == {"baseline", "lgatr"}
    assert set(details["timing"]["median_s"]) >= {"lgatr"}
    inv = details["table1"]["lgatr"][0]["invariance"]
    assert len(inv["mean"]) == 5 and all(math.isfinite(v) for v in inv["mean"])
    # exact invariance up to float32 rounding (the quick baseline is barely trained, so no ratio)
    assert max(inv["mean"]) < 1e-2
    # the float64 re-audit shows the float32 violation is rounding
    audit = os.path.join(ROOT, "examples", "hep", "audit_checkpoint.py")
    ckpt = str(tmp_path / "checkpoints" / "table1_lgatr_seed0.pt")
    a = subprocess.run([sys.executable, audit, ckpt, "--preset", "quick", "--cache-dir", cache,
                        "--jets", "50"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert a.returncode == 0, a.stdout[-2000:] + a.stderr[-2000:]
    f64 = next(line for line in a.stdout.splitlines() if "float64:" in line)
    values = [float(v) for v in re.findall(r": ([0-9.e+-]+)", f64.split("float64", 1)[1])]
    assert len(values) == 2 and max(values) < 1e-9, f64
    bad = subprocess.run([sys.executable, audit, str(tmp_path / "metrics.json")],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert bad.returncode != 0 and "expected a toptag checkpoint named" in bad.stderr
