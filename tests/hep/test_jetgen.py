"""Tests of the Pythia jet generator (examples/hep/data/jetgen.py) on small samples."""

import json
import os
import time

import h5py
import numpy as np
import pytest

from examples.hep.data import jetgen
from examples.hep.data.detector import DetectorConfig, kinematics
from examples.hep.data.loaders import load_generated

N_TOP, N_QCD = 40, 40


def read(path):
    with h5py.File(path, "r") as f:
        data = {k: f[k][()] for k in f.keys()}
        attrs = dict(f.attrs)
    return data, attrs


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    cache = tmp_path_factory.mktemp("jets")
    path = jetgen.generate_jets(
        N_TOP, N_QCD, seed=1, workers=2, cache_dir=cache, progress=False, chunk_size=20
    )
    return path, *read(path)


def test_counts_shapes_dtypes(sample):
    path, d, _ = sample
    n = N_TOP + N_QCD
    assert d["constituents"].shape == (n, 200, 4) and d["constituents"].dtype == np.float32
    assert d["labels"].dtype == np.int8
    assert (d["labels"] == 1).sum() == N_TOP and (d["labels"] == 0).sum() == N_QCD
    for k in ("jet_pt", "jet_eta", "jet_phi", "jet_m", "n_constituents"):
        assert d[k].shape == (n,)
    # shuffled: the labels are not all tops first
    assert not np.all(d["labels"][:N_TOP] == 1)
    assert path.parent.is_dir() and path.suffix == ".h5"


def test_padding_and_pt_ordering(sample):
    _, d, _ = sample
    c, n = d["constituents"], d["n_constituents"]
    pt = np.hypot(c[..., 1], c[..., 2])
    idx = np.arange(200)
    assert np.all(c[idx[None, :] >= n[:, None]] == 0)  # padding is exactly zero
    assert np.all(pt[idx[None, :] < n[:, None]] >= 1e-3)  # no soft or empty constituent
    assert np.all(np.diff(pt, axis=1) <= 0)  # decreasing pT, padding last
    assert n.min() >= 1 and n.max() <= 200


def test_jets_in_window_and_sum_of_constituents(sample):
    _, d, _ = sample
    assert np.all((d["jet_pt"] >= 550) & (d["jet_pt"] <= 650))
    assert np.all(np.abs(d["jet_eta"]) < 2.0)
    full = d["n_constituents"] < 200  # jets whose constituents are all stored
    assert full.mean() > 0.9
    pt, eta, phi, m = kinematics(d["constituents"][full].astype(np.float64).sum(axis=1))
    np.testing.assert_allclose(pt, d["jet_pt"][full], rtol=1e-5)
    np.testing.assert_allclose(eta, d["jet_eta"][full], atol=1e-5)
    np.testing.assert_allclose(phi, d["jet_phi"][full], atol=1e-5)
    np.testing.assert_allclose(m, d["jet_m"][full], rtol=1e-4, atol=0.05)


def test_detector_level_constituents_are_cells(sample):
    _, d, _ = sample
    c = d["constituents"].astype(np.float64)
    real = c[..., 0] > 0
    pt, eta, _, m = kinematics(c[real])
    assert np.all(np.abs(eta) < 2.5)
    assert np.all(pt >= 0.5 * (1 - 1e-6))
    assert np.all(m < 1e-3 * c[real][:, 0] + 1e-3)  # massless cells (float32 rounding)


def test_physics_masses(sample):
    _, d, _ = sample
    top_m = np.median(d["jet_m"][d["labels"] == 1])
    qcd_m = np.median(d["jet_m"][d["labels"] == 0])
    assert 150 < top_m < 200
    assert qcd_m < top_m - 50


def test_attributes(sample):
    _, _, attrs = sample
    settings = json.loads(attrs["settings"])
    assert settings["n_top"] == N_TOP and settings["seed"] == 1 and not settings["mpi"]
    assert settings["detector"] == DetectorConfig().to_dict()
    assert attrs["version_pythia8mc"] == "8.317.2"
    assert attrs["version_numpy"] == np.__version__ and attrs["version_h5py"] == h5py.__version__
    seeds = attrs["pythia_seeds"]
    assert len(seeds) == 4 and len(set(seeds.tolist())) == 4  # 2 chunks per class
    assert np.all(attrs["events_generated"] >= 10)


def test_load_generated_roundtrip(sample):
    path, d, _ = sample
    data = load_generated(path)
    np.testing.assert_array_equal(data["constituents"], d["constituents"])
    np.testing.assert_array_equal(data["labels"], d["labels"])
    np.testing.assert_array_equal(data["jet_m"], d["jet_m"])
    assert "weights" not in data
    assert load_generated(path, max_jets=5, max_constituents=10)["constituents"].shape == (5, 10, 4)


def test_reproducible_and_independent_of_workers(sample, tmp_path):
    path, d, _ = sample
    again = jetgen.generate_jets(
        N_TOP, N_QCD, seed=1, workers=1, cache_dir=tmp_path, progress=False, chunk_size=20
    )
    assert again != path and again.name == path.name  # same settings key, other directory
    d2, _ = read(again)
    for k in d:
        np.testing.assert_array_equal(d2[k], d[k])
    other = jetgen.generate_jets(
        N_TOP, N_QCD, seed=2, workers=1, cache_dir=tmp_path, progress=False, chunk_size=20
    )
    assert other.name != path.name
    assert not np.array_equal(read(other)[0]["jet_pt"], d["jet_pt"])


def test_cache_reuse(sample, monkeypatch):
    path, _, _ = sample
    mtime = path.stat().st_mtime_ns

    def fail(*args, **kwargs):
        raise AssertionError("generation must not run when the cache file exists")

    monkeypatch.setattr(jetgen, "_run_all", fail)
    start = time.perf_counter()
    again = jetgen.generate_jets(
        N_TOP, N_QCD, seed=1, workers=2, cache_dir=path.parent, progress=False, chunk_size=20
    )
    assert again == path and path.stat().st_mtime_ns == mtime
    assert time.perf_counter() - start < 1.0
    assert jetgen.cache_path(N_TOP, N_QCD, seed=1, cache_dir=path.parent, chunk_size=20) == path
    # a different setting is a different file and does generate
    with pytest.raises(AssertionError, match="must not run"):
        jetgen.generate_jets(
            N_TOP, N_QCD, seed=1, mpi=True, cache_dir=path.parent, progress=False, chunk_size=20
        )


def test_atomic_write_failure_leaves_nothing(tmp_path, monkeypatch):
    real = h5py.Group.create_dataset

    def failing(self, name, *args, **kwargs):
        if name == "jet_m":  # after the constituents were written
            raise OSError("disk full (simulated)")
        return real(self, name, *args, **kwargs)

    monkeypatch.setattr(h5py.Group, "create_dataset", failing)
    kw = dict(seed=5, workers=1, cache_dir=tmp_path, progress=False)
    with pytest.raises(OSError, match="simulated"):
        jetgen.generate_jets(3, 3, **kw)
    assert not jetgen.cache_path(3, 3, **{k: kw[k] for k in ("seed", "cache_dir")}).exists()
    assert os.listdir(tmp_path) == []  # no temporary file left behind
    monkeypatch.setattr(h5py.Group, "create_dataset", real)
    path = jetgen.generate_jets(3, 3, **kw)
    assert os.listdir(tmp_path) == [path.name]


def test_particle_level_and_mpi(tmp_path):
    path = jetgen.generate_jets(
        6, 6, detector="none", mpi=True, seed=3, workers=1, cache_dir=tmp_path, progress=False
    )
    d, attrs = read(path)
    assert json.loads(attrs["settings"])["detector"] is None and attrs["mpi"]
    assert (d["labels"] == 1).sum() == 6 and (d["labels"] == 0).sum() == 6
    c = d["constituents"].astype(np.float64)
    real = c[..., 0] > 0
    _, _, _, m = kinematics(c[real])
    assert np.any(m > 0.1)  # hadrons keep their masses: no calorimeter cells
    # particle level: many more constituents than the ~20-30 calorimeter cells
    assert np.median(d["n_constituents"]) > 40
    assert np.all(np.hypot(c[real][:, 1], c[real][:, 2]) >= 1e-3)


def test_wide_pt_flat_in_bins(tmp_path):
    path = jetgen.generate_jets(
        5, 5, wide_pt=True, seed=4, workers=2, cache_dir=tmp_path, progress=False
    )
    d, attrs = read(path)
    assert attrs["pt_min"] == 350 and attrs["pt_max"] == 3000 and attrs["n_pt_bins"] == 5
    edges = np.linspace(350, 3000, 6)
    for label in (0, 1):
        counts, _ = np.histogram(d["jet_pt"][d["labels"] == label], bins=edges)
        np.testing.assert_array_equal(counts, [1, 1, 1, 1, 1])


def test_invalid_arguments(tmp_path):
    with pytest.raises(ValueError):
        jetgen.generate_jets(-1, 5, cache_dir=tmp_path)
    with pytest.raises(ValueError):
        jetgen.generate_jets(5, 5, pt_min=700, pt_max=600, cache_dir=tmp_path)
    with pytest.raises(TypeError):
        jetgen.generate_jets(5, 5, detector="cms", cache_dir=tmp_path)
    assert os.listdir(tmp_path) == []


def test_pthat_brackets_window():
    assert jetgen._pthat_range(550, 650) == (500, 700)
    lo, hi = jetgen._pthat_range(1350, 1600)
    assert lo < 1350 and hi > 1600


# --------------------------------------------------------------------------- top matching
class FakeParticle:
    """The part of Pythia's Particle interface that ``_top_partons`` reads."""

    def __init__(self, pid, status=-23, eta=0.0, phi=0.0, daughters=(), bot=None,
                 p4=(0.0, 0.0, 0.0, 0.0)):
        self.pid, self._status, self._eta, self._phi = pid, status, eta, phi
        self._daughters, self.bot, self.p4 = list(daughters), bot, tuple(p4)

    def e(self):
        return self.p4[0]

    def px(self):
        return self.p4[1]

    def py(self):
        return self.p4[2]

    def pz(self):
        return self.p4[3]

    def idAbs(self):  # noqa: N802 - Pythia's names
        return abs(self.pid)

    def status(self):
        return self._status

    def isQuark(self):  # noqa: N802
        return 0 < abs(self.pid) < 9

    def eta(self):
        return self._eta

    def phi(self):
        return self._phi

    def daughterList(self):  # noqa: N802
        return self._daughters

    def iBotCopyId(self):  # noqa: N802
        return self.bot


class FakeEvent:
    def __init__(self, particles):
        self.particles = particles
        for i, p in enumerate(particles):
            p.bot = i if p.bot is None else p.bot

    def size(self):
        return len(self.particles)

    def __getitem__(self, i):
        return self.particles[i]


B_QUARK, W_Q1, W_Q2 = (0.30, 1.00), (0.50, 1.20), (0.10, 0.70)


def ttbar_record(first=5, filler=0):
    """t tbar with a hadronic t (b, W+ -> u dbar) and a leptonic tbar (W- -> e nu), the hard
    tops at ``first``, ``first + 1`` (``filler`` gluons before them); copies and decays after."""
    P = FakeParticle
    n = first + 2
    head = [P(90, -11), P(2212, -12), P(2212, -12), P(21, -21), P(21, -21)][:first - filler]
    head += [P(21, -23) for _ in range(filler)]
    i = {k: n + j for j, k in enumerate(
        ["t2", "tb2", "Wp", "b", "Wm", "bb", "Wp2", "u", "db", "Wm2", "e", "nu"])}
    tops = [P(6, -22, 1.0, 1.0, bot=i["t2"]), P(-6, -22, -1.0, -2.0, bot=i["tb2"])]
    rest = [
        P(6, -44, daughters=[i["Wp"], i["b"]]),  # the top's last copy decays
        P(-6, -44, daughters=[i["Wm"], i["bb"]]),
        P(24, -22, bot=i["Wp2"]), P(5, -23, *B_QUARK),
        P(-24, -22, bot=i["Wm2"]), P(-5, -23, -1.1, -2.1),
        P(24, -44, daughters=[i["u"], i["db"]]), P(2, -23, *W_Q1), P(-1, -23, *W_Q2),
        P(-24, -44, daughters=[i["e"], i["nu"]]), P(11, 23, -0.9, -1.9), P(-12, 23, -1.2, -2.2),
    ]
    return FakeEvent(head + tops + rest)


@pytest.mark.parametrize("first,filler", [(5, 0), (7, 2)])
def test_top_partons_reads_b_and_the_w_quarks_of_hadronic_tops(first, filler):
    """b first, then both quarks of the W's last copy; a leptonic top gives nothing. With the
    tops not at 5, 6 (``filler``), they are found by their status -22."""
    tops = jetgen._top_partons(ttbar_record(first, filler))
    assert len(tops) == 1
    np.testing.assert_array_equal(tops[0], np.array([B_QUARK, W_Q1, W_Q2]))


def test_delta_r_by_hand_and_across_phi_pi():
    assert jetgen._delta_r(0.3, 1.0, 0.0, 0.6) == pytest.approx(0.5, abs=1e-12)
    # phi = pi - 0.1 and -pi + 0.2 are 0.3 apart, not 2 pi - 0.3
    assert jetgen._delta_r(0.4, np.pi - 0.1, 0.0, -np.pi + 0.2) == pytest.approx(0.5, abs=1e-12)
    np.testing.assert_allclose(jetgen._delta_r([0.0, 0.6], [3.0, -3.0], 0.0, 3.0),
                               [0.0, np.hypot(0.6, 2 * np.pi - 6.0)], atol=1e-12)


def partons_at(eta0, phi0, offsets):
    """(3, 2) partons at (eta0 + deta, phi0 + dphi) for each (deta, dphi), phi wrapped."""
    out = np.array([[eta0 + de, phi0 + dp] for de, dp in offsets])
    out[:, 1] = np.angle(np.exp(1j * out[:, 1]))
    return out


def test_contains_all_needs_all_three_quarks_within_match_dr():
    eta, phi = 0.5, 1.0
    inside = partons_at(eta, phi, [(0.3, 0.0), (0.0, -0.5), (0.79 * 0.6, 0.79 * 0.8)])
    assert jetgen.MATCH_DR == 0.8 and jetgen._contains_all([inside], eta, phi)
    for k in range(3):  # any one quark at Delta R = 0.81: only 2 of 3 inside
        two = inside.copy()
        two[k] = partons_at(eta, phi, [(0.81 * 0.6, -0.81 * 0.8)])[0]
        assert not jetgen._contains_all([two], eta, phi), k
        assert jetgen._contains_all([two, inside], eta, phi)  # the other top of the event
        assert jetgen._contains_all([two], eta, phi, r=0.82)
    assert not jetgen._contains_all([], eta, phi)


def test_contains_all_wraps_phi():
    eta, phi = -0.2, np.pi - 0.05  # the partons sit on both sides of phi = +-pi
    tops = [partons_at(eta, phi, [(0.1, 0.15), (-0.2, -0.25), (0.3, 0.4)])]
    assert tops[0][0, 1] < 0 < tops[0][1, 1]
    assert jetgen._contains_all(tops, eta, phi)
    assert jetgen._contains_all(tops, eta, phi - 2 * np.pi)  # the same axis, phi < -pi
    assert not jetgen._contains_all(tops, eta, 0.0)


def test_a_jet_is_matched_to_the_hadronic_top_of_an_event_record_only():
    tops = jetgen._top_partons(ttbar_record())
    assert jetgen._contains_all(tops, 0.3, 1.0)  # quarks at Delta R 0, 0.28, 0.36
    assert not jetgen._contains_all(tops, -1.0, -2.0)  # the leptonic top's direction
    assert not jetgen._contains_all(tops, 0.3, 1.6)  # b, q inside (0.6, 0.45), q' at 0.92
