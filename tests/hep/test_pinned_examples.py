"""Behaviours of the HEP examples no test pinned where the golden runs skip (issue 32 item 6):
each test fails on a plausible bug, planted and listed in tests/mutants/issue32_pinned.py.

Every test calls a public or module-level function (named in its docstring), on small
hand-made inputs: no training, no jet generation; each runs in well under a second."""

import math
import types

import numpy as np
import pytest
import torch

from examples.hep import jet_regression, training
from examples.hep.evaluation import regression as rev
from examples.hep.evaluation import tagging as ev


def four(e, px, py, pz):
    return np.array([e, px, py, pz], dtype=np.float64)


# ------------------------------------------------------------------ units: GeV
class _ConstantTeV(torch.nn.Module):
    """The network's output convention: a four-vector in TeV, here a constant."""

    def __init__(self, p_tev):
        super().__init__()
        self.p = torch.tensor(p_tev, dtype=torch.float32)

    def forward(self, x):
        return self.p.expand(x.shape[0], 4)


def test_predict_returns_gev_from_a_network_that_outputs_tev():
    """examples.hep.tasks.regression.predict: the network's four-vector is in TeV
    (regressors.SCALE = 1000 GeV), the prediction in GeV, float64: 0.5 TeV -> 500 GeV.
    A prediction returned in TeV is 1000x off."""
    from examples.hep.models.regressors import SCALE
    from examples.hep.tasks.regression import predict

    assert SCALE == 1000.0
    p = [0.5, 0.1, -0.2, 0.3]
    x = np.zeros((3, 5, 4), np.float32)
    out = predict(_ConstantTeV(p), x, types.SimpleNamespace(device=torch.device("cpu")))
    assert out.dtype == np.float64 and out.shape == (3, 4)
    np.testing.assert_allclose(out, np.tile(np.float32(p).astype(np.float64) * 1000.0, (3, 1)),
                               rtol=0, atol=0)


def _wide(n=60, seed=0, cut=1000.0):
    """A jet sample as training.load_data returns it, detector pT spread around the cut and
    one jet exactly at the cut."""
    rng = np.random.default_rng(seed)
    pt = rng.uniform(400, 2000, n)
    pt[:10] = cut                           # on the cut: inside the training range
    x = np.zeros((n, 5, 4), np.float32)
    x[:, 0, 0] = pt
    x[:, 0, 1] = pt
    p4 = np.stack([pt * 1.01, pt, np.zeros(n), 0.1 * pt], -1)
    return {"x": x, "y": (np.arange(n) % 2).astype(np.float32), "pt": pt,
            "m": np.full(n, 100.0), "p_true": p4, "p_top": p4.copy(), "p_det": p4.copy(),
            "path": None}


def test_prepare_targets_are_in_tev_and_train_validation_stay_at_or_below_the_cut(monkeypatch):
    """examples.hep.jet_regression.prepare: the regression target t = particle-level p / 1000
    (TeV, float32); train and validation keep detector pT <= cut (a jet exactly at the cut
    included), the test set keeps every jet."""
    monkeypatch.setattr(training, "load_data", lambda *a, **k: _wide())
    cfg = {"pt_cut": 1000.0, "wide_bins": 5, "n_audit": 8}
    d = jet_regression.prepare(types.SimpleNamespace(), cfg,
                               types.SimpleNamespace(device=torch.device("cpu")))
    for part in ("train", "val", "test"):
        np.testing.assert_allclose(d[part]["t"], (d[part]["p_true"] / 1000.0).astype(np.float32),
                                   rtol=0, atol=0)
        assert d[part]["t"].dtype == np.float32
    # the same split as prepare's, filtered by hand: <= the cut, jets at the cut included
    tr, va, te = training.split(_wide())
    for part, ref in (("train", tr), ("val", va)):
        keep = ref["pt"] <= 1000.0
        assert (ref["pt"][keep] == 1000.0).any() or part == "val"
        np.testing.assert_array_equal(d[part]["pt"], ref["pt"][keep])
        assert len(d[part]["pt"]) > 0 and d[part]["pt"].max() <= 1000.0
    np.testing.assert_array_equal(d["test"]["pt"], te["pt"])
    assert d["test"]["pt"].max() > 1000.0


# ------------------------------------------------------------------ response and a true mass of 0
def test_response_leaves_out_a_massless_true_jet_and_counts_only_the_rest():
    """examples.hep.evaluation.regression.response_resolution: pred / true per quantity; a
    true mass of 0 (pred / true = inf) is left out of the median, the IQR and n; E and pT
    keep every jet."""
    true = np.stack([four(10, 6, 0, 0), four(10, 6, 0, 0), four(10, 6, 0, 0),
                     four(10, 10, 0, 0)])            # m = 8, 8, 8, 0
    pred = true * np.array([[1.0], [1.1], [1.2], [1.3]])
    out = rev.response_resolution(pred, true)
    assert out["m"]["n"] == 3
    assert out["m"]["response"] == pytest.approx(1.1, rel=1e-12)
    assert out["m"]["resolution"] == pytest.approx((1.15 - 1.05) / 2, rel=1e-12)
    assert out["E"]["n"] == 4 and out["pt"]["n"] == 4
    assert out["E"]["response"] == pytest.approx(np.median([1.0, 1.1, 1.2, 1.3]), rel=1e-12)
    # every true jet massless: nothing to measure, NaN not 0 or inf
    nothing = rev.response_resolution(pred[3:], true[3:])
    assert nothing["m"]["n"] == 0 and math.isnan(nothing["m"]["response"])


# ------------------------------------------------------------------ relative violation's norm
def test_relative_violation_divides_by_the_euclidean_norm_of_the_four_outputs():
    """examples.hep.evaluation.regression.relative_violation: |f(Λx) − Λ f(x)| / |f(x)| with
    Euclidean norms of the four components. For a constant output c = (2, 0, 0, 1) and a boost
    along x by rapidity φ = atanh(β): c − Λc = (2 − 2 cosh φ, ±2 sinh φ, 0, 0), so the ratio is
    2 sqrt((cosh φ − 1)² + sinh² φ) / sqrt(5) (a max-norm gives /2, Minkowski /sqrt(3))."""
    c = torch.tensor([2.0, 0.0, 0.0, 1.0], dtype=torch.float64)
    model = lambda z: c.expand(z.shape[0], 4)            # noqa: E731
    x = torch.randn(6, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    out = rev.relative_violation(model, x, [0.3, 0.6], per_generator=True)
    key = next(k for k in out["mean"] if k.startswith("K") and k.endswith("x"))
    for i, beta in enumerate((0.3, 0.6)):
        phi = math.atanh(beta)
        want = 2 * math.sqrt((math.cosh(phi) - 1) ** 2 + math.sinh(phi) ** 2) / math.sqrt(5)
        assert out["mean"][key][i] == pytest.approx(want, rel=1e-12), key
        assert out["sem"][key][i] == pytest.approx(0.0, abs=1e-12)


# ------------------------------------------------------------------ the results table
def test_results_table_puts_each_number_under_its_column():
    """examples.hep.evaluation.regression.results_markdown: every header cell over its own
    number (distinct numbers per field, one seed, so each cell is that number)."""
    run = {"inside": {"E": {"resolution": 0.11, "response": 0.91},
                      "m": {"resolution": 0.12, "response": 0.92}},
           "above": {"E": {"resolution": 0.13}, "m": {"resolution": 0.14}},
           "boosted": {"E": {"resolution": 0.15}, "m": {"resolution": 0.16}},
           "violation_at_0.5": 1.7e-3, "train_step_ratio": 1.8}
    text = rev.results_markdown({"baseline": [run]}, 1000.0)
    rows = [line for line in text.splitlines() if line.startswith("|")]
    head = [c.strip() for c in rows[0].strip().strip("|").split(" | ")]
    sep = rows[1]
    cells = [c.strip() for c in rows[2].strip().strip("|").split(" | ")]
    assert sep.count("---") == len(head) == len(cells) == 12
    want = {"seeds": "1", "σ(E) ≤ cut": "0.1100", "σ(m) ≤ cut": "0.1200",
            "σ(E) > cut": "0.1300", "σ(m) > cut": "0.1400", "σ(E) boosted": "0.1500",
            "σ(m) boosted": "0.1600", "⟨E⟩ ≤ cut": "0.9100", "⟨m⟩ ≤ cut": "0.9200",
            "train step / baseline": "1.80"}
    got = dict(zip(head, cells, strict=True))
    for k, v in want.items():
        assert got[k] == v, (k, got)
    assert next(v for k, v in got.items() if k.startswith("violation")) == "1.70e-03"


# ------------------------------------------------------------------ rejection: ties at the cut
def test_rejection_counts_backgrounds_tied_with_the_cut_as_selected():
    """examples.hep.evaluation.tagging.rejection_at: cut = the (1 − ε_S) quantile of the
    signal scores; a background at exactly the cut is selected (>=): 1/ε_B by hand."""
    sig = np.arange(1, 11) / 10.0                  # 0.1 .. 1.0
    cut = np.quantile(sig, 0.7)                    # ε_S = 0.3
    bkg = np.array([cut, cut, 0.0, 0.05, 0.0, 0.0, 0.0, 0.0])
    labels = np.r_[np.ones(10), np.zeros(8)]
    assert ev.rejection_at(labels, np.r_[sig, bkg], 0.3) == pytest.approx(8 / 2)
    # and none at or above the cut: infinite rejection
    assert ev.rejection_at(labels, np.r_[sig, np.zeros(8)], 0.3) == math.inf


# ------------------------------------------------------------------ the generator's mass peak
def test_generator_physics_reports_the_mass_peak_at_its_bins_centre():
    """examples.hep.studies.top_tagging.generator_physics: the top-mass peak is the centre of
    the fullest 10 GeV bin: tops at 171-179 GeV peak at 175, not 170 (the bin's lower edge);
    per pT bin of the wide window."""
    from examples.hep.data.jetgen import WIDE_WINDOW
    from examples.hep.studies.top_tagging import generator_physics

    lo, hi = WIDE_WINDOW
    n = 40
    pt = np.r_[np.full(n, lo + 1.0), np.full(n, hi - 1.0)]
    m = np.r_[np.linspace(171, 179, n), np.linspace(81, 89, n)]
    data = {"pt": pt, "m": np.r_[m[:n], m[n:]], "y": np.ones(2 * n)}
    two = generator_physics(data, 2)
    assert two["top_mass_peak"] == [175.0, 85.0]


# ------------------------------------------------------------------ the jet cache
def test_a_current_cache_is_returned_without_regenerating_it(tmp_path, monkeypatch):
    """examples.hep.data.jetgen.generate_jets: a cached file of the current format is
    returned as it is, with or without targets; an older format without the regression
    targets is regenerated when targets are asked for (and only then)."""
    import h5py

    from examples.hep.data import jetgen

    path = jetgen.cache_path(4, 4, cache_dir=tmp_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    calls = []

    def fake_run_all(*a, **k):
        calls.append(1)
        raise RuntimeError("generation started")

    monkeypatch.setattr(jetgen, "_run_all", fake_run_all)
    for version in (jetgen.FORMAT_VERSION, jetgen.TARGETS_FORMAT):
        with h5py.File(path, "w") as f:
            f.attrs["format_version"] = version
        for targets in (False, True):
            assert jetgen.generate_jets(4, 4, cache_dir=tmp_path, targets=targets) == path
    assert calls == []
    with h5py.File(path, "w") as f:
        f.attrs["format_version"] = jetgen.TARGETS_FORMAT - 1
    assert jetgen.generate_jets(4, 4, cache_dir=tmp_path, targets=False) == path
    with pytest.raises(RuntimeError, match="generation started"):
        jetgen.generate_jets(4, 4, cache_dir=tmp_path, targets=True)
    assert calls == [1]
