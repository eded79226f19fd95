"""Tests of the data-set readers (examples/hep/data/loaders.py) on small synthetic files."""

import warnings

import h5py
import numpy as np
import pytest

from examples.hep.data.detector import kinematics
from examples.hep.data.loaders import (
    ATLAS_KEYS,
    JetFileError,
    load_atlas,
    load_generated,
    load_toptag_reference,
)

N, M = 7, 12
OUT = ("constituents", "labels", "jet_pt", "jet_eta", "jet_phi", "jet_m")


def random_jets(seed=0, n=N, m=M):
    """pT-ordered constituents (pt, eta, phi, E) in GeV with padding; one soft one per jet."""
    rng = np.random.default_rng(seed)
    n_real = rng.integers(3, m - 1, size=n)
    pt = np.sort(rng.uniform(1.0, 100.0, size=(n, m)), axis=1)[:, ::-1].copy()
    eta = rng.uniform(-2, 2, size=(n, m))
    phi = rng.uniform(-np.pi, np.pi, size=(n, m))
    for i, k in enumerate(n_real):
        pt[i, k - 1] = 0.0004  # 0.4 MeV: must be dropped
        pt[i, k:] = eta[i, k:] = phi[i, k:] = 0.0
    e = pt * np.cosh(eta)
    return pt, eta, phi, e, n_real


def expected_p4(pt, eta, phi, e):
    p4 = np.stack([e, pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)], axis=-1)
    p4[pt < 1e-3] = 0
    return p4


def check_common(data, n=N):
    for k in OUT:
        assert k in data and len(data[k]) == n
    assert data["constituents"].dtype == np.float32 and data["constituents"].ndim == 3
    assert data["labels"].dtype == np.int8
    pt = np.hypot(data["constituents"][..., 1], data["constituents"][..., 2])
    assert np.all(np.diff(pt, axis=1) <= 0)
    assert not np.any((pt > 0) & (pt < 1e-3))


# --------------------------------------------------------------------------- ATLAS


def write_atlas(path, weights_key="weights", drop=()):
    pt, eta, phi, e, n_real = random_jets()
    jet_pt = np.linspace(400e3, 900e3, N)
    content = {
        "fjet_clus_pt": pt * 1e3,
        "fjet_clus_eta": eta,
        "fjet_clus_phi": phi,
        "fjet_clus_E": e * 1e3,
        "fjet_pt": jet_pt,
        "fjet_eta": np.linspace(-1, 1, N),
        "fjet_phi": np.linspace(-3, 3, N),
        "fjet_m": np.linspace(20e3, 200e3, N),
        "labels": np.arange(N) % 2,
    }
    if weights_key:
        content[weights_key] = np.linspace(0.5, 2.0, N)
    with h5py.File(path, "w") as f:
        for k, v in content.items():
            if k not in drop:
                f.create_dataset(k, data=np.asarray(v, dtype=np.float32 if v.ndim else None))
    return pt, eta, phi, e, n_real


def test_atlas_conversion(tmp_path):
    path = tmp_path / "atlas.h5"
    pt, eta, phi, e, n_real = write_atlas(path)
    data = load_atlas(path)
    check_common(data)
    exp = expected_p4(pt, eta, phi, e)
    np.testing.assert_allclose(data["constituents"], exp, rtol=2e-6, atol=2e-5)
    n_kept = (data["constituents"][..., 0] > 0).sum(axis=1)
    np.testing.assert_array_equal(n_kept, n_real - 1)  # the 0.4 MeV constituent went
    np.testing.assert_allclose(data["jet_pt"], np.linspace(400, 900, N), rtol=1e-6)
    np.testing.assert_allclose(data["jet_m"], np.linspace(20, 200, N), rtol=1e-6)
    np.testing.assert_allclose(data["jet_eta"], np.linspace(-1, 1, N), rtol=1e-6)
    np.testing.assert_array_equal(data["labels"], np.arange(N) % 2)
    np.testing.assert_allclose(data["weights"], np.linspace(0.5, 2.0, N), rtol=1e-6)


def test_atlas_limits_and_training_weights(tmp_path):
    path = tmp_path / "atlas.h5"
    write_atlas(path, weights_key="training_weights")
    data = load_atlas(path, max_jets=3, max_constituents=4)
    check_common(data, n=3)
    assert data["constituents"].shape == (3, 4, 4)
    assert data["weights"].shape == (3,)
    write_atlas(path, weights_key=None)
    assert "weights" not in load_atlas(path)


def test_atlas_missing_key(tmp_path):
    path = tmp_path / "atlas.h5"
    write_atlas(path, drop=("fjet_clus_E", "labels"))
    with pytest.raises(JetFileError) as err:
        load_atlas(path)
    msg = str(err.value)
    assert "fjet_clus_E" in msg and "labels" in msg and "found" in msg and "fjet_clus_pt" in msg
    assert isinstance(err.value, ValueError) and isinstance(err.value, KeyError)


def test_missing_and_non_hdf5_files(tmp_path):
    for loader in (load_atlas, load_generated, load_toptag_reference):
        with pytest.raises(FileNotFoundError, match="not found"):
            loader(tmp_path / "nope.h5")
    text = tmp_path / "notes.h5"
    text.write_text("not hdf5")
    for loader in (load_atlas, load_generated, load_toptag_reference):
        with pytest.raises(ValueError, match="not an HDF5 file"):
            loader(text)


def test_atlas_file_given_to_other_loaders(tmp_path):
    path = tmp_path / "atlas.h5"
    write_atlas(path)
    with pytest.raises(JetFileError, match="constituents"):
        load_generated(path)
    with pytest.raises(JetFileError, match="key 'table'"):
        load_toptag_reference(path)
    assert set(ATLAS_KEYS) <= set(h5py.File(path, "r").keys())


# --------------------------------------------------------------------------- reference set


def write_reference(path, fmt="fixed", m=M, drop=(), key="table"):
    import pandas as pd  # the hep extra installs pandas and tables
    pt, eta, phi, e, n_real = random_jets(seed=1, m=m)
    p4 = expected_p4(pt, eta, phi, e)
    p4[pt < 1e-3] = 0
    # re-insert the soft constituent: the raw file has it
    for i, k in enumerate(n_real):
        p4[i, k - 1] = [
            e[i, k - 1],
            pt[i, k - 1] * np.cos(phi[i, k - 1]),
            pt[i, k - 1] * np.sin(phi[i, k - 1]),
            pt[i, k - 1] * np.sinh(eta[i, k - 1]),
        ]
    cols = {}
    for j in range(m):
        for v, name in enumerate(("E", "PX", "PY", "PZ")):
            cols[f"{name}_{j}"] = p4[:, j, v]
    cols["truthE"] = np.ones(N)
    cols["ttv"] = np.zeros(N)
    cols["is_signal_new"] = np.arange(N) % 2
    df = pd.DataFrame({k: v for k, v in cols.items() if k not in drop})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PerformanceWarning for many columns
        df.to_hdf(path, key=key, mode="w", format=fmt)
    return p4, n_real


@pytest.mark.parametrize("fmt", ["fixed", "table"])
def test_reference_loader(tmp_path, fmt):
    path = tmp_path / "ref.h5"
    p4, n_real = write_reference(path, fmt)
    data = load_toptag_reference(path, block=3)  # several blocks
    check_common(data)
    assert "weights" not in data
    exp = p4.copy()
    exp[np.hypot(exp[..., 1], exp[..., 2]) < 1e-3] = 0
    np.testing.assert_allclose(data["constituents"], exp, rtol=1e-6, atol=1e-5)
    np.testing.assert_array_equal((data["constituents"][..., 0] > 0).sum(1), n_real - 1)
    pt, eta, phi, m = kinematics(exp.sum(axis=1))
    np.testing.assert_allclose(data["jet_pt"], pt, rtol=1e-5)
    np.testing.assert_allclose(data["jet_eta"], eta, atol=1e-5)
    np.testing.assert_allclose(data["jet_m"], m, rtol=1e-4, atol=1e-3)
    np.testing.assert_array_equal(data["labels"], np.arange(N) % 2)
    small = load_toptag_reference(path, max_jets=4, max_constituents=5, block=3)
    assert small["constituents"].shape == (4, 5, 4)
    np.testing.assert_array_equal(small["labels"], [0, 1, 0, 1])


def test_reference_wrong_key_and_columns(tmp_path):
    path = tmp_path / "ref.h5"
    write_reference(path, key="jets")
    with pytest.raises(JetFileError, match=r"key 'table'.*jets"):
        load_toptag_reference(path)
    assert load_toptag_reference(path, key="jets")["constituents"].shape == (N, M, 4)
    write_reference(path, drop=("is_signal_new",))
    with pytest.raises(JetFileError, match="is_signal_new") as err:
        load_toptag_reference(path)
    assert "E_0" in str(err.value) and "found" in str(err.value)
    write_reference(path, drop=("PY_3",))
    with pytest.raises(JetFileError, match="PY_3"):
        load_toptag_reference(path)


# --------------------------------------------------------------------------- own files


def write_generated(path, with_weights=False, drop=()):
    pt, eta, phi, e, n_real = random_jets(seed=2, m=200)
    p4 = np.stack([e, pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)], -1)
    jet = kinematics(p4.sum(axis=1))
    content = {
        "constituents": p4.astype(np.float32),
        "labels": (np.arange(N) % 2).astype(np.int8),
        "n_constituents": n_real.astype(np.int16),
    }
    content.update(
        {
            k: v.astype(np.float32)
            for k, v in zip(("jet_pt", "jet_eta", "jet_phi", "jet_m"), jet, strict=True)
        }
    )
    if with_weights:
        content["weights"] = np.full(N, 0.25, np.float32)
    with h5py.File(path, "w") as f:
        for k, v in content.items():
            if k not in drop:
                f.create_dataset(k, data=v)
    return p4, jet, n_real


def test_generated_loader(tmp_path):
    path = tmp_path / "gen.h5"
    p4, jet, n_real = write_generated(path)
    data = load_generated(path)
    check_common(data)
    assert data["constituents"].shape == (N, 200, 4)
    np.testing.assert_array_equal((data["constituents"][..., 0] > 0).sum(1), n_real - 1)
    np.testing.assert_allclose(data["jet_pt"], jet[0], rtol=1e-6)
    assert "weights" not in data
    write_generated(path, with_weights=True)
    data = load_generated(path, max_jets=2, max_constituents=3)
    assert data["constituents"].shape == (2, 3, 4)
    np.testing.assert_array_equal(data["weights"], [0.25, 0.25])


def test_generated_loader_min_pt(tmp_path):
    path = tmp_path / "gen.h5"
    _, _, n_real = write_generated(path)
    # a higher threshold removes more; min_pt=0 keeps the 0.4 MeV constituent
    assert ((load_generated(path, min_pt=0)["constituents"][..., 0] > 0).sum(1) == n_real).all()
    assert (load_generated(path, min_pt=50.0)["constituents"][..., 0] > 0).sum() < (
        n_real - 1
    ).sum()


def test_generated_missing_key(tmp_path):
    path = tmp_path / "gen.h5"
    write_generated(path, drop=("jet_m",))
    with pytest.raises(JetFileError, match=r"missing keys \['jet_m'\].*found"):
        load_generated(path)
