"""Tests of the simple detector model (examples/hep/data/detector.py)."""


import numpy as np
import pytest

from examples.hep.data.detector import (
    DetectorConfig,
    apply_detector,
    drop_soft,
    kinematics,
    resolve_detector,
)

NO_SMEAR = DetectorConfig(stochastic=0.0, constant=0.0, pt_min=0.0)
N_PHI = round(2 * np.pi / 0.1)
DPHI = 2 * np.pi / N_PHI


def p4_from(pt, eta, phi, m=0.0):
    pt, eta, phi = (np.atleast_1d(np.asarray(x, dtype=float)) for x in (pt, eta, phi))
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    e = np.sqrt(px**2 + py**2 + pz**2 + m**2)
    return np.stack([e, px, py, pz], axis=-1)


def cell_centre(i_eta, i_phi):
    return (i_eta + 0.5) * 0.1, -np.pi + (i_phi + 0.5) * DPHI


def rng(seed=0):
    return np.random.default_rng(seed)


def test_kinematics_roundtrip():
    p4 = p4_from([10.0, 50.0], [0.3, -1.7], [2.0, -0.5], m=1.5)
    pt, eta, phi, m = kinematics(p4)
    np.testing.assert_allclose(pt, [10, 50])
    np.testing.assert_allclose(eta, [0.3, -1.7])
    np.testing.assert_allclose(phi, [2.0, -0.5])
    np.testing.assert_allclose(m, [1.5, 1.5], atol=1e-6)


def test_none_is_identity():
    p4 = p4_from([30.0, 0.2, 5.0], [3.5, 0.1, -2.0], [0.1, 0.2, 3.0], m=0.14)
    for cfg in ("none", "NONE", None):
        out = apply_detector(p4, cfg, rng())
        np.testing.assert_array_equal(out, p4)
    assert resolve_detector("none") is None
    with pytest.raises(TypeError):
        resolve_detector("atlas")


def test_acceptance_cut():
    i_phi = 10
    eta_in, phi = cell_centre(23, i_phi)  # eta 2.35
    p4 = p4_from([20.0, 20.0, 20.0], [eta_in, 2.6, -3.0], [phi, phi, phi])
    out = apply_detector(p4, NO_SMEAR, rng())
    assert out.shape == (1, 4)
    _, eta, _, _ = kinematics(out)
    np.testing.assert_allclose(eta, [eta_in])
    # a narrower acceptance removes it too
    assert apply_detector(
        p4, DetectorConfig(eta_max=2.0, stochastic=0, constant=0), rng()
    ).shape == (0, 4)


def test_pt_threshold():
    eta_a, phi_a = cell_centre(0, 5)
    eta_b, phi_b = cell_centre(3, 40)
    p4 = p4_from([0.3, 0.7], [eta_a, eta_b], [phi_a, phi_b])
    out = apply_detector(p4, DetectorConfig(stochastic=0, constant=0, pt_min=0.5), rng())
    pt, eta, _, _ = kinematics(out)
    np.testing.assert_allclose(pt, [0.7])
    np.testing.assert_allclose(eta, [eta_b])
    out = apply_detector(p4, DetectorConfig(stochastic=0, constant=0, pt_min=0.2), rng())
    assert len(out) == 2


def test_cell_merging_two_particles_one_cell():
    eta_c, phi_c = cell_centre(7, 30)
    # two massive particles inside one cell, off its centre
    p4 = p4_from([10.0, 25.0], [eta_c - 0.03, eta_c + 0.04], [phi_c + 0.02, phi_c - 0.045], m=0.5)
    out = apply_detector(p4, NO_SMEAR, rng())
    assert out.shape == (1, 4)
    np.testing.assert_allclose(out[0, 0], p4[:, 0].sum())  # summed energy
    pt, eta, phi, m = kinematics(out)
    np.testing.assert_allclose([eta[0], phi[0]], [eta_c, phi_c], atol=1e-12)  # cell centre
    assert abs(out[0, 0] ** 2 - (out[0, 1:] ** 2).sum()) < 1e-9 * out[0, 0] ** 2  # massless
    np.testing.assert_allclose(pt, out[0, 0] / np.cosh(eta_c))


def test_cell_merging_separate_cells_sorted():
    (e1, f1), (e2, f2) = cell_centre(-5, 0), cell_centre(-5, 1)  # neighbouring phi cells
    p4 = p4_from([5.0, 40.0], [e1, e2], [f1, f2])
    out = apply_detector(p4, NO_SMEAR, rng())
    assert out.shape == (2, 4)
    pt, _, phi, _ = kinematics(out)
    np.testing.assert_allclose(pt, [40.0, 5.0])
    np.testing.assert_allclose(phi, [f2, f1])
    # phi wraps: -pi + eps and pi - eps are in different (first and last) cells
    p4 = p4_from([5.0, 5.0], [0.05, 0.05], [-np.pi + 1e-3, np.pi - 1e-3])
    assert len(apply_detector(p4, NO_SMEAR, rng())) == 2


def many_cells(energy):
    """One particle of the given energy at the centre of each of ~3000 cells."""
    i_eta, i_phi = np.meshgrid(np.arange(-24, 24), np.arange(N_PHI), indexing="ij")
    eta, phi = cell_centre(i_eta.ravel(), i_phi.ravel())
    pt = energy / np.cosh(eta)
    return p4_from(pt, eta, phi)


def test_smearing_reproducible_with_seed():
    p4 = many_cells(20.0)[:200]
    cfg = DetectorConfig()
    a = apply_detector(p4, cfg, rng(3))
    b = apply_detector(p4, cfg, rng(3))
    c = apply_detector(p4, cfg, rng(4))
    np.testing.assert_array_equal(a, b)
    assert a.shape == c.shape and not np.allclose(a, c)


@pytest.mark.parametrize("energy", [4.0, 100.0])
@pytest.mark.parametrize("stochastic,constant", [(0.5, 0.05), (0.3, 0.1)])
def test_smearing_size(energy, stochastic, constant):
    p4 = many_cells(energy)
    cfg = DetectorConfig(stochastic=stochastic, constant=constant, pt_min=0.0)
    ratios = []
    for seed in range(3):
        out = apply_detector(p4, cfg, rng(seed))
        ratios.append(out[:, 0] / energy - 1.0)
    ratios = np.concatenate(ratios)
    expected = np.hypot(stochastic / np.sqrt(energy), constant)
    # cells smeared to E <= 0 are dropped: negligible for these resolutions (< 0.1 %)
    assert len(ratios) > 0.999 * 3 * len(p4)
    assert abs(ratios.mean()) < 5 * expected / np.sqrt(len(ratios))
    assert ratios.std() == pytest.approx(expected, rel=0.04)


def test_empty_input():
    assert apply_detector(np.zeros((0, 4)), DetectorConfig(), rng()).shape == (0, 4)
    assert apply_detector(np.zeros((5, 4)), DetectorConfig(), rng()).shape == (0, 4)


def test_config_validation():
    with pytest.raises(ValueError):
        DetectorConfig(cell_size=0)
    with pytest.raises(ValueError):
        DetectorConfig(stochastic=-0.1)
    assert DetectorConfig().to_dict()["stochastic"] == 0.5


def test_drop_soft_keeps_order_and_padding():
    jet = np.zeros((6, 4), np.float32)
    jet[:4] = p4_from([50.0, 0.0004, 3.0, 0.002], [0.1, 0.2, 0.3, 0.4], [0.0, 0.5, 1.0, 1.5])
    out = drop_soft(jet, 1e-3)
    pt = np.hypot(out[:, 1], out[:, 2])
    np.testing.assert_allclose(pt[:3], [50.0, 3.0, 0.002], rtol=1e-6)
    assert np.all(out[3:] == 0)
    assert out.dtype == np.float32
    batch = drop_soft(np.stack([jet, jet]), 1e-3)
    np.testing.assert_array_equal(batch[1], out)


# --------------------------------------------------------------------------- calorimeter response
def test_response_off_by_default_and_out_of_the_cache_key():
    assert DetectorConfig().response == 0.0
    assert set(DetectorConfig().to_dict()) == {"eta_max", "pt_min", "cell_size", "stochastic",
                                               "constant"}  # the key of earlier versions
    on = DetectorConfig(response=0.3).to_dict()
    assert on["response"] == 0.3 and on["response_power"] == 0.15
    assert DetectorConfig(**on) == DetectorConfig(response=0.3)  # jetgen rebuilds it so
    for bad in (dict(response=1.0), dict(response=-0.1), dict(response=0.3, response_power=-1)):
        with pytest.raises(ValueError, match="response"):
            DetectorConfig(**bad)


def test_response_scales_the_summed_cell_energy():
    """R(E) = 1 - a (E/GeV)^-p acts on the *cell* energy (two particles in one cell: on their
    sum), before smearing; the direction stays the cell centre."""
    eta_c, phi_c = cell_centre(3, 17)
    p4 = p4_from([4.0, 6.0, 30.0], [eta_c - 0.02, eta_c + 0.03, -1.05], [phi_c, phi_c, 0.5])
    cfg = DetectorConfig(stochastic=0.0, constant=0.0, pt_min=0.0, response=0.3,
                         response_power=0.15)
    out = apply_detector(p4, cfg, rng())
    plain = apply_detector(p4, NO_SMEAR, rng())
    assert out.shape == plain.shape == (2, 4)
    for e_in in plain[:, 0]:
        r = 1 - 0.3 * e_in**-0.15
        k = int(np.argmin(np.abs(out[:, 0] - r * e_in)))
        assert out[k, 0] == pytest.approx(r * e_in, rel=1e-12)
        j = int(np.argmin(np.abs(plain[:, 0] - e_in)))
        np.testing.assert_allclose(out[k], r * plain[j], rtol=1e-12)  # same direction
    # the soft cell loses more: the response rises with the energy
    ratio = np.sort(out[:, 0]) / np.sort(plain[:, 0])
    assert ratio[0] < ratio[1] < 1


def test_response_keeps_the_random_draws():
    """With the response on, the same cells survive (one draw per cell, in the same order)
    and every one of them measures less energy."""
    p4 = p4_from([40.0, 25.0, 3.0], [0.31, -0.74, 1.2], [0.2, 2.5, -2.0])
    a = apply_detector(p4, DetectorConfig(pt_min=0.0), rng(4))
    b = apply_detector(p4, DetectorConfig(pt_min=0.0, response=0.2), rng(4))
    assert a.shape == b.shape
    assert np.all(b[:, 0] < a[:, 0])
