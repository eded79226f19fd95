"""jet_regression.py: the targets in the jet cache, the regressors, the metrics and the quick
run end to end."""

import json
import math
import os

import h5py
import numpy as np
import pytest
import torch

from examples.hep import jet_regression as JR
from examples.hep import training
from examples.hep.data import jetgen
from examples.hep.data.loaders import JetFileError, load_generated
from examples.hep.evaluation import regression as rev
from examples.hep.models.regressors import SCALE, EquivariantRegressor, JetRegressor, minkowski
from examples.hep.tasks import regression as RR
from liesoft import GSEAL, DeltaSEAL, Lorentz, Vector4, math_attention
from liesoft.testing import assert_equivariant
from tests.hep import golden


def jets(batch=6, n=10, pad=3, seed=0, dtype=torch.float64):
    """Massless constituents of collimated jets along x (E = |p|), the last ``pad`` padded."""
    g = torch.Generator().manual_seed(seed)
    p3 = 20 * torch.randn(batch, n, 3, generator=g, dtype=dtype)
    p3[..., 0] += 200.0
    x = torch.cat([p3.norm(dim=-1, keepdim=True), p3], dim=-1)
    x[:, n - pad:] = 0.0
    return x


def randomise_last_layers(model, seed=0, scale=0.3):
    """The corrections start at zero (the model returns the measured jet, exactly
    equivariant): give the last layers random weights so that the tests see a real model."""
    g = torch.Generator().manual_seed(seed)
    heads = [model.head, model.token] if isinstance(model, JetRegressor) else [model.weight]
    with torch.no_grad():
        for head in heads:
            last = head[-1]
            last.weight.copy_(scale * torch.randn(last.weight.shape, generator=g))
            last.bias.copy_(scale * torch.randn(last.bias.shape, generator=g))
    return model


# ----------------------------------------------------------------------------- targets
def run_tiny_task(monkeypatch, label, detector=jetgen.DEFAULT_DETECTOR, n=3):
    """``_run_task`` on a few jets with ``apply_detector`` spied on: returns the task's
    arrays and the (input, output) of every call of the detector."""
    calls = []
    real = jetgen.apply_detector

    def spy(p4, config, rng):
        out = real(p4, config, rng)
        calls.append((np.array(p4, copy=True), out))
        return out

    monkeypatch.setattr(jetgen, "apply_detector", spy)
    settings = jetgen._settings_for(n if label else 0, 0 if label else n, seed=3,
                                    detector=detector)
    task = next(t for t in jetgen._make_tasks(settings) if t.label == label)
    return jetgen._run_task(task), calls


@pytest.mark.parametrize("label", [1, 0])
def test_particle_jet_target_is_the_sum_of_the_particles_given_to_the_detector(
        monkeypatch, label):
    res, calls = run_tiny_task(monkeypatch, label)
    assert res["particle_jet_p4"].shape == (3, 4) and res["particle_jet_p4"].dtype == np.float64
    for k in range(3):
        n = res["n_constituents"][k]
        stored = res["constituents"][k, :n]
        match = [inp for inp, out in calls
                 if len(out) == n and np.array_equal(out[:n].astype(np.float32), stored)]
        assert len(match) == 1, k  # the detector call that produced this jet
        np.testing.assert_array_equal(res["particle_jet_p4"][k], match[0].sum(axis=0))
        # the measured jet is close to, but not, the particle-level jet
        ratio = stored.astype(np.float64).sum(0)[0] / res["particle_jet_p4"][k, 0]
        assert 0.6 < ratio < 1.4 and ratio != 1.0
    if label == 1:  # the contained top quark: on shell near 172.5 GeV, along the jet
        m_top = np.sqrt(np.maximum(minkowski(torch.from_numpy(res["top_p4"]),
                                             torch.from_numpy(res["top_p4"])).numpy(), 0))
        assert np.all(np.abs(m_top - 172.5) < 15), m_top
        _, eta_t, phi_t, _ = jetgen.kinematics(res["top_p4"])
        pt_j, eta_j, phi_j, _ = res["jets"].T
        assert np.all(jetgen._delta_r(eta_t, phi_t, eta_j, phi_j) < 1.0)
    else:
        assert np.isnan(res["top_p4"]).all()


def test_without_detector_the_target_is_the_sum_of_the_stored_constituents(monkeypatch):
    res, _ = run_tiny_task(monkeypatch, 0, detector="none")
    for k in range(3):
        n = res["n_constituents"][k]
        assert n < jetgen.MAX_CONSTITUENTS  # all of them stored
        np.testing.assert_allclose(res["constituents"][k, :n].astype(np.float64).sum(0),
                                   res["particle_jet_p4"][k], rtol=1e-6, atol=1e-4)


def test_generated_file_has_the_targets_and_an_old_one_is_regenerated_or_refused(tmp_path):
    path = jetgen.generate_jets(2, 2, cache_dir=tmp_path, workers=1, progress=False, seed=5)
    assert jetgen.file_format(path) == jetgen.FORMAT_VERSION == 2
    data = load_generated(path, targets=True)
    y, p, top = data["labels"], data["particle_jet_p4"], data["top_p4"]
    assert p.shape == (4, 4) and top.shape == (4, 4)
    assert np.isfinite(top[y == 1]).all() and np.isnan(top[y == 0]).all()
    pt = np.hypot(p[:, 1], p[:, 2])  # particle level: near the detector-level window
    assert np.all((pt > 0.8 * 550) & (pt < 1.2 * 650)), pt
    assert "particle_jet_p4" not in load_generated(path)  # only when asked for
    # turn it into a file of format 1 (no targets), as the caches of earlier versions are
    with h5py.File(path, "a") as f:
        del f["particle_jet_p4"], f["top_p4"]
        f.attrs["format_version"] = 1
    with pytest.raises(JetFileError, match="format version 1.*no regression targets"):
        load_generated(path, targets=True)  # refused, never misread
    assert len(load_generated(path)["labels"]) == 4  # the tagger still reads it
    again = jetgen.generate_jets(2, 2, cache_dir=tmp_path, workers=1, progress=False, seed=5)
    assert again == path and jetgen.file_format(path) == 1  # the tagger's call keeps it
    again = jetgen.generate_jets(2, 2, cache_dir=tmp_path, workers=1, progress=False, seed=5,
                                 targets=True)
    assert again == path and jetgen.file_format(path) == 2  # regenerated in place...
    new = load_generated(path, targets=True)
    for k in ("constituents", "labels", "jet_pt"):  # ... with the same jets
        np.testing.assert_array_equal(new[k], data[k])
    np.testing.assert_array_equal(new["particle_jet_p4"], p)


def write_v1_file(path, n=3):
    """A cache file of format 1: the datasets of the tagger, no regression targets."""
    with h5py.File(path, "w") as f:
        f.create_dataset("constituents", data=np.ones((n, 5, 4), np.float32))
        for k in ("labels", "jet_pt", "jet_eta", "jet_phi", "jet_m"):
            f.create_dataset(k, data=np.ones(n, np.float32))
        f.attrs["format_version"] = 1


def test_old_file_is_refused_for_targets_and_a_broken_new_one_too(tmp_path):
    path = tmp_path / "old.h5"
    write_v1_file(path)
    with pytest.raises(JetFileError, match="format version 1.*no regression targets"):
        load_generated(path, targets=True)
    with h5py.File(path, "a") as f:  # a current version number without the datasets
        f.attrs["format_version"] = 2
    with pytest.raises(JetFileError, match="missing keys.*particle_jet_p4"):
        load_generated(path, targets=True)
    with h5py.File(path, "a") as f:
        f.create_dataset("particle_jet_p4", data=np.ones((3, 3)))
        f.create_dataset("top_p4", data=np.ones((3, 4)))
    with pytest.raises(JetFileError, match=r"'particle_jet_p4' must be \(3, 4\)"):
        load_generated(path, targets=True)
    # the file name keys the jets, not the layout: format 2 kept format 1's names
    assert jetgen.cache_path(15000, 15000).name == "jets_c45e5348cd6619e0482a.h5"


def test_hadronic_tops_reads_the_last_copy_of_the_top():
    from tests.hep.test_jetgen import ttbar_record

    event = ttbar_record()
    for i, p in enumerate(event.particles):  # every particle its own four-momentum
        p.p4 = (1000.0 + i, i, 2.0 * i, 3.0 * i)
    (partons, p4), = jetgen._hadronic_tops(event)
    last = event.particles[5].bot  # the hard top at 5 -> its last copy
    assert last != 5
    np.testing.assert_array_equal(p4, [1000.0 + last, last, 2.0 * last, 3.0 * last])
    np.testing.assert_array_equal(partons, jetgen._top_partons(event)[0])


def test_matching_top_returns_the_contained_one():
    inside = np.array([[0.0, 0.0], [0.3, 0.1], [-0.2, 0.3]])
    far = inside + [2.0, 0.0]
    assert jetgen._matching_top([far, inside], 0.0, 0.0) == 1
    assert jetgen._matching_top([inside, far], 0.0, 0.0) == 0
    assert jetgen._matching_top([far], 0.0, 0.0) is None


# ----------------------------------------------------------------------------- models
def test_untrained_models_return_the_measured_jet_in_tev():
    x = jets()
    for model in (JetRegressor(d=8, layers=1, heads=2, hidden=8, hidden_layers=1),
                  EquivariantRegressor(d=8, layers=1, heads=2, hidden=8, hidden_layers=1)):
        out = model.double()(x)
        np.testing.assert_allclose(out.detach().numpy(), (x.sum(1) / SCALE).numpy(),
                                   rtol=1e-12)


def test_equivariant_peer_is_lorentz_equivariant_to_float64_precision():
    model = randomise_last_layers(EquivariantRegressor(d=8, layers=1, heads=2, hidden=8,
                                                       hidden_layers=1)).double()
    x = jets()
    w = model(x) * SCALE - x.sum(1)
    assert w.abs().max() > 1.0  # the weights are not all 1: a real correction
    with math_attention():
        err = assert_equivariant(model, Lorentz(), Vector4(), Vector4(), x, rtol=1e-9,
                                 beta_max=0.9, generator=torch.Generator().manual_seed(0))
    assert err < 1e-9
    # the baseline with the same kind of correction is not
    base = randomise_last_layers(JetRegressor(d=8, layers=1, heads=2, hidden=8,
                                              hidden_layers=1)).double()
    with pytest.raises(AssertionError):
        assert_equivariant(base, Lorentz(), Vector4(), Vector4(), x, rtol=1e-3,
                           generator=torch.Generator().manual_seed(0))


def test_padding_changes_nothing_for_either_model():
    x = jets(pad=0)
    padded = torch.cat([x, torch.zeros(x.shape[0], 5, 4, dtype=x.dtype)], 1)
    for cls in (JetRegressor, EquivariantRegressor):
        model = randomise_last_layers(cls(d=8, layers=1, heads=2, hidden=8,
                                          hidden_layers=1)).double().eval()
        torch.testing.assert_close(model(padded), model(x), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("penalty", [
    GSEAL(Lorentz(), Vector4(), Vector4(), beta_max=0.95 ** 0.5),
    DeltaSEAL(Lorentz(), Vector4(), Vector4(), mode="exact"),
    DeltaSEAL(Lorentz(), Vector4(), Vector4(), mode="random")], ids=["gseal", "exact", "random"])
def test_penalties_vanish_on_the_peer_and_not_on_the_baseline(penalty):
    x = jets()
    peer = randomise_last_layers(EquivariantRegressor(d=8, layers=1, heads=2, hidden=8,
                                                      hidden_layers=1)).double()
    base = randomise_last_layers(JetRegressor(d=8, layers=1, heads=2, hidden=8,
                                              hidden_layers=1)).double()
    g = torch.Generator().manual_seed(1)
    with math_attention():
        on_peer = float(penalty(peer, x, generator=g).detach())
        on_base = float(penalty(base, x, generator=g).detach())
        scale = float((peer(x) ** 2).sum(-1).mean())
    assert on_peer < 1e-20 * scale and on_base > 1e-6 * scale, (on_peer, on_base)


def make_penalty(name, lams=None):
    """``(penalty, λ)`` of a regression method, as the training builds it."""
    (method,) = RR.methods([name], lams)
    return RR.REGRESSOR.penalty(method.penalty)


def test_dseal_auto_route_for_four_outputs_is_reverse():
    _, lam = make_penalty("dseal")
    pen, _ = make_penalty("dseal")
    assert pen._route(torch.zeros(3, 4)) == "reverse" and pen.n == 6 and lam == RR.LAMBDA["dseal"]
    rand, _ = make_penalty("dseal_random")
    assert rand.mode == "random"
    g, _ = make_penalty("gseal")
    assert isinstance(g.out_rep, Vector4) and g.sampler_options["beta_max"] == 0.95 ** 0.5
    assert make_penalty("baseline") == (None, 0.0)


def test_expectation_check_agrees_on_a_model_and_is_sensitive():
    def model(scale):  # seeded: the body's weights come from the global generator
        torch.manual_seed(0)
        return randomise_last_layers(JetRegressor(d=8, layers=1, heads=2, hidden=8,
                                                  hidden_layers=1), scale=scale).double()

    base = model(0.3)
    res = rev.expectation_check(base, jets(), draws=300)
    assert abs(res["z"]) < 4 and res["random_sem"] < 0.2 * res["exact"]
    # a biased estimator would be caught: the same model with its non-equivariant corrections
    # doubled has another exact value (about 4x: the violation is quadratic in them), far
    # outside the random estimate's error (an unseeded second model once came within 2.6 sem)
    wrong = rev.expectation_check(model(0.6), jets(), draws=2)["exact"]
    assert abs(res["random_mean"] - wrong) > 4 * res["random_sem"]


# ----------------------------------------------------------------------------- metrics
def test_response_and_resolution_by_hand():
    true = np.array([[100.0, 60.0, 0.0, 0.0]] * 4)  # E 100, pT 60, m 80
    r = np.array([0.9, 1.0, 1.1, 1.2])
    res = rev.response_resolution(true * r[:, None], true)
    for q in ("E", "pt", "m"):  # a common factor scales E, pT and m alike
        assert res[q]["response"] == pytest.approx(1.05)  # median of the ratios
        assert res[q]["resolution"] == pytest.approx((1.125 - 0.975) / 2)  # IQR / 2
    k = rev.kinematics4(np.array([[100.0, 60.0, 0.0, 0.0], [5.0, 3.0, 4.0, 1.0]]))
    np.testing.assert_allclose(k["m"], [80.0, 0.0])  # m² = 25 − 9 − 16 − 1 < 0: clamped to 0
    np.testing.assert_allclose(k["pt"], [60.0, 5.0])
    sel = rev.response_resolution(true * r[:, None], true, select=[True, True, False, False])
    assert sel["E"]["response"] == pytest.approx(0.95) and sel["E"]["n"] == 2


def test_binned_response_puts_jets_in_their_bins():
    true = np.array([[100.0, 60.0, 0.0, 0.0], [300.0, 200.0, 0.0, 0.0]])
    pred = true * np.array([[1.1], [0.8]])
    out = rev.binned_response(pred, true, np.array([60.0, 200.0]), np.array([0, 100, 300]))
    assert out["centers"] == [50.0, 200.0]
    np.testing.assert_allclose(out["E"]["response"], [1.1, 0.8])


def test_relative_violation_by_hand_for_a_jet_at_rest():
    """f(x) = D Σ p_i with D = diag(2, 1, 1, 1): for P = (E, 0, 0, 0) and a boost of β along
    any axis, |f(Λx) − Λ f(x)| = γβE and |f(x)| = 2E: the relative violation is γβ/2;
    rotations leave P at rest alone (0)."""
    x = torch.zeros(3, 2, 4, dtype=torch.float64)
    x[:, 0] = torch.tensor([30.0, 0.0, 0.0, 0.0])
    x[:, 1] = torch.tensor([50.0, 0.0, 0.0, 0.0])
    d = torch.tensor([2.0, 1.0, 1.0, 1.0], dtype=torch.float64)

    def f(z):
        return z.sum(1) * d

    out = rev.relative_violation(f, x, (0.5,), per_generator=True)
    expect = 0.5 / math.sqrt(1 - 0.25) / 2
    for name in ("K_x", "K_y", "K_z"):
        assert out["mean"][name][0] == pytest.approx(expect, rel=1e-12)
    for name in ("J_x", "J_y", "J_z"):
        assert out["mean"][name][0] == pytest.approx(0.0, abs=1e-12)
    assert rev.relative_violation(f, x, (0.5,))["mean"]["boost"][0] == pytest.approx(
        expect, rel=1e-12)


def test_boost_jets_boosts_jets_and_targets_alike():
    x = jets(batch=4).float().numpy()
    p = x.astype(np.float64).sum(1)
    xb, pb = training.boost_jets(x, 3, p)
    np.testing.assert_array_equal(xb, training.boosted(x, seed=3))  # the tagger's boost
    np.testing.assert_allclose(xb.astype(np.float64).sum(1), pb, rtol=2e-5, atol=1e-3)
    assert np.abs(pb - p).max() > 10  # really boosted
    m2 = lambda q: q[:, 0] ** 2 - (q[:, 1:] ** 2).sum(1)  # noqa: E731
    np.testing.assert_allclose(m2(pb), m2(p), rtol=1e-9)


def test_options():
    a = JR.parse_args(["--lam", "gseal=0.1,dseal=10", "--seeds", "2"])
    assert a.lams == {"gseal": 0.1, "dseal": 10.0} and a.seeds == 2
    assert a.methods == list(RR.METHODS)
    for bad in (["--lam", "lgatr=1"], ["--lam", "gseal=x"], ["--lam", "gseal=-1"],
                ["--methods", "nope"], ["--seeds", "0"], ["--epochs", "0"]):
        with pytest.raises(SystemExit):
            JR.parse_args(bad)
    pen, lam = make_penalty("gseal", a.lams)
    assert lam == 0.1


# ----------------------------------------------------------------------------- end to end
@pytest.fixture(scope="module")
def quick_regression(tmp_path_factory, quick_jet_cache):
    """One in-process ``--quick --seeds 2`` run, shared by the tests below."""
    out = tmp_path_factory.mktemp("regression") / "run"
    argv = ["--quick", "--out", str(out), "--cache-dir", quick_jet_cache, "--no-progress",
            "--seeds", "2"]
    JR.main(argv)
    return out, argv


def test_quick_run_end_to_end_and_resume(quick_regression, capsys):
    out, argv = quick_regression
    for name in ("metrics.json", "results.md", "fig_resolution_vs_pt.png",
                 "fig_response_vs_pt.png", "fig_violation.png",
                 "fig_violation_per_generator.png", "details.json"):
        assert (out / name).exists(), name
    metrics = json.loads((out / "metrics.json").read_text())
    per = metrics["per_seed"]
    assert set(per) == {"raw", *RR.METHODS} and all(len(per[m]) == 2 for m in RR.METHODS)
    for m in RR.METHODS:
        for r in per[m]:
            assert math.isfinite(r["inside"]["E"]["resolution"])
            assert r["train_step_ratio"] > 0
    assert per["baseline"][0]["train_step_ratio"] == 1.0
    # the exact peer stays equivariant after training (float32); the baseline does not
    assert max(r["violation_at_0.5"] for r in per["equivariant"]) < 1e-4
    assert min(r["violation_at_0.5"] for r in per["baseline"]) > \
        10 * max(r["violation_at_0.5"] for r in per["equivariant"])
    for m in ("baseline", "dseal", "dseal_random"):
        assert abs(metrics["expectation"][m]["z"]) < 5
    details = json.loads((out / "details.json").read_text())
    with h5py.File(details["data"]) as f:  # the regression's own detector, with targets
        assert json.loads(f.attrs["detector"]) == {**jetgen.DEFAULT_DETECTOR.to_dict(),
                                                    **JR.DETECTOR}
        assert f.attrs["format_version"] == 2
    hist = details["runs"]["baseline"][0]["history"]
    assert {"loss", "val_loss", "penalty"} <= set(hist[0])
    text = (out / "results.md").read_text()
    assert "Equivariant peer" in text and "Detector-level jet" in text
    # resume: nothing retrained, the same numbers
    JR.main(argv + ["--resume"])
    assert "(finished)" in capsys.readouterr().out
    again = json.loads((out / "metrics.json").read_text())["per_seed"]
    for m in RR.METHODS:
        assert again[m][0]["inside"] == per[m][0]["inside"]
    assert os.path.exists(out / "checkpoints" / "regression_gseal_seed1.pt")


def test_quick_run_matches_the_golden_numbers_of_before_the_move(quick_regression):
    """Seed 0 of the quick run gives the numbers the code gave before examples/hep became a
    package (tests/hep/golden), bit for bit where they were recorded in this environment."""
    golden.check("jet_regression", quick_regression[0], seed0_only=True)


def test_resolution_loss_by_hand():
    m0 = RR.MASS_FLOOR
    t = torch.tensor([[1.0, 0.6, 0.0, 0.0], [2.0, 0.0, 1.2, 0.9]])  # TeV; m² 0.64 and 1.75
    assert float(RR.resolution_loss(t, t)) == pytest.approx(0.0, abs=1e-12)
    # a common factor s: δE/E = s − 1, |δp|/|p| = s − 1, p·δp / m² = (s − 1) m² / (m² + m0²)
    s = 1.1
    want = np.mean([2 * 0.1**2 + (0.1 * m2 / (m2 + m0**2)) ** 2 for m2 in (0.64, 1.75)])
    assert float(RR.resolution_loss(s * t, t)) == pytest.approx(want, rel=1e-5)
    # δE alone on the first jet: δE/E = 0.05, no momentum term, p·δp = E δE = 0.05
    p = t[:1].clone()
    p[0, 0] += 0.05
    want = 0.05**2 + (0.05 / (0.64 + m0**2)) ** 2
    assert float(RR.resolution_loss(p, t[:1])) == pytest.approx(want, rel=1e-5)
    # a transverse kick δp⃗ = (0, 0.03, 0): only the momentum term (p⃗·δp⃗ = 0)
    p = t[:1].clone()
    p[0, 2] += 0.03
    assert float(RR.resolution_loss(p, t[:1])) == pytest.approx(0.03**2 / 0.36, rel=1e-5)
    # the mass term: δ(m²) = 2 p·δp to first order, so p·δp / m² ≈ δm / m for m >> m0
    p = 1.0 * t[:1]
    p[0, 1] = 0.59  # m² from 0.64 to 1 − 0.3481 = 0.6519
    dm_over_m = math.sqrt(0.6519 / 0.64) - 1
    rel_m = (0.6 * 0.01) / (0.64 + m0**2)
    assert rel_m == pytest.approx(dm_over_m, rel=0.02)
    # finite with finite gradients off the mass shell
    off = torch.tensor([[1.0, 1.2, 0.0, 0.0]], requires_grad=True)
    loss = RR.resolution_loss(off, t[:1])
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(off.grad).all() and off.grad.abs().sum() > 0


def test_summarise_splits_at_the_detector_level_cut_and_bins_in_true_pt():
    """Inside / above use the detector-level pT (the training selection), the bins the true
    pT; boosted compares with the boosted targets."""
    true = np.array([[600.0, 500.0, 0.0, 0.0], [1500.0, 1400.0, 0.0, 0.0],
                     [900.0, 800.0, 0.0, 0.0], [2500.0, 2000.0, 0.0, 0.0]])
    det_pt = np.array([1010.0, 1010.0, 700.0, 1900.0])  # jet 0: true pT 500, measured 1010
    pred = true * np.array([[1.3], [0.9], [1.1], [0.9]])
    d = {"test": {"p_true": true, "pt": det_pt}, "p_boost": 2 * true,
         "edges": np.array([350.0, 1000.0, 3000.0])}
    out = JR.summarise(pred, 2 * true * 1.05, d, {"pt_cut": 1000.0})
    assert out["inside"]["E"]["n"] == 1 and out["above"]["E"]["n"] == 3
    assert out["inside"]["E"]["response"] == pytest.approx(1.1)
    assert out["above"]["E"]["response"] == pytest.approx(0.9)  # median of 1.3, 0.9, 0.9
    assert out["boosted"]["m"]["response"] == pytest.approx(1.05)
    # true-pT bins: jets 0 and 2 (1.3, 1.1), then 1 and 3 (0.9): by measured pT it would be
    # 1.1 and 0.9
    np.testing.assert_allclose(out["binned"]["E"]["response"], [1.2, 0.9])


def test_resolution_loss_is_linear_beyond_the_huber_delta():
    """Relative errors beyond HUBER_DELTA = 0.1 count linearly: 0.1 (2|r| − 0.1), not r²."""
    assert RR.HUBER_DELTA == 0.1
    r = torch.tensor([0.05, -0.1, 0.3, -2.0])
    np.testing.assert_allclose(RR.huber(r).numpy(), [0.0025, 0.01, 0.05, 0.39], rtol=1e-6)
    t = torch.tensor([[1.0, 0.6, 0.0, 0.0]])
    m2 = 0.64
    rel_m = 0.3 * m2 / (m2 + RR.MASS_FLOOR**2)
    want = 2 * 0.05 + 0.1 * (2 * rel_m - 0.1)  # E, |p| and m all 30 % high
    assert float(RR.resolution_loss(1.3 * t, t)) == pytest.approx(want, rel=1e-5)


def test_regression_tables_say_how_many_seeds_a_mean_is_over():
    assert rev._ms([0.02, 0.04]) == "0.0300 ± 0.0141"
    assert rev._ms([0.02]) == "0.0200"  # one seed: no spread printed
    assert rev._ms([0.02, float("nan"), 0.04]) == "0.0300 ± 0.0141 (2 of 3)"
    assert rev._ms([float("nan"), float("nan")]) == "–"  # not measured (the raw jet's rows)
    assert rev._ms([1.5e-3, float("inf")], fmt=".2e") == "1.50e-03 (1 of 2)"
