"""SEAL inside a weaver-core training, end to end: weaver's own command line trains ParT with
``examples/hep/weaver/part_seal.py`` on a small ROOT file written here, two epochs, and the
penalty must have entered the loss (the train function's per-step log)."""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

pytest.importorskip("weaver.train")
uproot = pytest.importorskip("uproot")
ak = pytest.importorskip("awkward")

ROOT = pathlib.Path(__file__).resolve().parents[2]
NETWORK = ROOT / "examples/hep/weaver/part_seal.py"
DATA_CONFIG = ROOT / "examples/hep/weaver/jets_p4.yaml"


def write_jets(path, n_jets=300, seed=0):
    """Random physical jets (massless constituents around a jet axis): 'top' jets have three
    prongs, 'qcd' jets one; 5-30 constituents, pT 500-700 GeV."""
    rng = np.random.default_rng(seed)
    cols = {k: [] for k in ("part_energy", "part_px", "part_py", "part_pz")}
    top = rng.random(n_jets) < 0.5
    jet_pt = rng.uniform(500, 700, n_jets)
    for i in range(n_jets):
        n = int(rng.integers(5, 31))
        prongs = 3 if top[i] else 1
        centers = rng.normal(0, 0.4 if top[i] else 0.0, (prongs, 2))
        which = rng.integers(0, prongs, n)
        eta = rng.uniform(-1, 1) + centers[which, 0] + rng.normal(0, 0.05, n)
        phi = rng.uniform(-np.pi, np.pi) + centers[which, 1] + rng.normal(0, 0.05, n)
        pt = jet_pt[i] * rng.dirichlet(np.ones(n))
        px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
        for k, v in zip(cols, (np.sqrt(px**2 + py**2 + pz**2), px, py, pz),
                        strict=True):
            cols[k].append(v.astype(np.float32))
    branches = {**{k: ak.Array(v) for k, v in cols.items()},
                "label_top": top.astype(np.int32), "label_qcd": (~top).astype(np.int32),
                "jet_pt": jet_pt.astype(np.float32)}
    with uproot.recreate(path) as f:  # a TTree (uproot 5.7's f[name] = ... writes an RNTuple)
        f.mktree("jets", {k: v.type.content if isinstance(v, ak.Array) else v.dtype
                          for k, v in branches.items()}).extend(branches)
    return top


def weaver_command(tmp, data, *options):
    exe = shutil.which("weaver")
    head = [exe] if exe else [sys.executable, "-m", "weaver.train"]
    cmd = head + [
        "--data-train", str(data), "--data-config", str(DATA_CONFIG),
        "--network-config", str(NETWORK), "--model-prefix", str(tmp / "model" / "part"),
        "--num-epochs", "2", "--batch-size", "64", "--gpus", "", "--num-workers", "0",
        "--in-memory", "--steps-per-epoch", "3", "--fetch-step", "1", "--train-val-split", "0.8", "--optimizer", "adam",
        "--start-lr", "1e-3", "--lr-scheduler", "none", "--run-mode", "train,val",
        "--log", str(tmp / "weaver.log")]
    for k, v in options:
        cmd += ["--network-option", k, v]
    return cmd


def run_weaver(tmp, *options):
    data = tmp / "jets.root"
    write_jets(data)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(weaver_command(tmp, data, *options), cwd=tmp, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


@pytest.mark.parametrize("seal", ["gseal", "dseal"])
def test_weaver_trains_part_with_the_penalty_in_the_loss(tmp_path, seal):
    log = tmp_path / "seal.jsonl"
    proc = run_weaver(tmp_path, ("seal", repr(seal)), ("seal_lambda", "0.5"),
                      ("seal_log", repr(str(log))), ("num_layers", "1"))
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    # 240 training jets (80 % of 300), batches of 64, two epochs
    assert {r["epoch"] for r in rows} == {0, 1}
    assert len(rows) >= 6
    for r in rows:
        assert r["lambda"] == 0.5
        assert r["penalty"] is not None and np.isfinite(r["penalty"]) and r["penalty"] > 0
        assert np.isfinite(r["task"])
        assert r["loss"] == pytest.approx(r["task"] + 0.5 * r["penalty"], rel=1e-6)
    assert "SEAL train epoch 1" in proc.stdout + proc.stderr
    assert (tmp_path / "model" / "part_best_epoch_state.pt").exists()



def _network_module():
    import importlib.util
    spec = importlib.util.spec_from_file_location("part_seal_under_test", NETWORK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Config:
    def __init__(self, shapes):
        self.input_names = tuple(shapes)
        self.input_shapes = shapes
        self.label_value = ["label_qcd", "label_top"]


def test_network_config_refuses_inputs_that_are_not_four_momenta():
    net = _network_module()
    with pytest.raises(ValueError, match=r"one input.*\['pf_p4', 'pf_mask'\]"):
        net.get_model(_Config({"pf_p4": (-1, 4, 50), "pf_mask": (-1, 1, 50)}))
    with pytest.raises(ValueError, match=r"4 variables.*\(-1, 7, 50\)"):
        net.get_train_fn(_Config({"pf_features": (-1, 7, 50)}))
    with pytest.raises(ValueError, match="'none', 'gseal' or 'dseal', got 'gsael'"):
        net.get_train_fn(_Config({"pf_p4": (-1, 4, 50)}), seal="gsael")
    model, info = net.get_model(_Config({"pf_p4": (-1, 4, 50)}), num_layers=1)
    assert info["input_shapes"] == {"pf_p4": (1, 4, 50)}
    p = torch.zeros(3, 50, 4)
    p[:, :2] = torch.tensor([[50.0, 30, 40, 0], [20, 12, 16, 1]])
    assert model(p.transpose(1, 2)).shape == (3, 2)  # two classes from the labels
