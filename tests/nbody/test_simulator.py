"""The N-body simulator (examples/nbody/data): symmetries, conservation, options, the cache.

Tolerances: the simulator is float64; "1e-6 relative after 1 000 steps" is the issue's bound
for E(3) commutation (rounding of 1e-16 amplified by the chaotic dynamics stays far below it).
Energy: velocity Verlet is second order, so its energy error scales as dt² (checked: halving
dt divides it by ~4) and at dt = 1e-3 it is below 100 dt² relative (timescales >= 0.1).
Momentum: the pair forces cancel exactly up to rounding, so after S steps |ΔP| <=
S dt N eps max|F| (~1e-13 here); asserted at 1e-10.

Planted bugs, each killed by the test named (replayed by hand with the edit in brackets):
* element-wise clipping instead of by norm [np.clip(f, -max_force, max_force)]:
  test_e3_commutes_at_zero_field;
* uniform field along x instead of z [out[..., 0] = ...]: test_uniform_field_symmetries;
* uniform field without the charge [out[..., 2] = strength]: test_uniform_field_momentum;
* trap pushing outwards [+strength * pos]: test_energy_conserved_in_each_field;
* trap about a shifted centre [-strength * (pos - 1)]: test_trap_symmetries;
* repulsion/attraction sign [diff = pos[:, j] - pos[:, i]]: test_energy_conserved_in_each_field;
* symplectic Euler instead of velocity Verlet [full kick before the drift]:
  test_energy_error_is_second_order;
* both pair forces with the same sign [incidence[..., j] = +1]: test_momentum_conserved;
* the cache key without the strength [params = dict(base, field=field, horizon=horizon)]:
  test_cache_keyed_by_every_parameter;
* the global numpy RNG instead of the seed's [np.random.standard_normal]:
  test_deterministic_by_seed;
* negative strengths accepted [strength >= -1]: test_bad_options;
* the cache never read [if False:]: test_cache_reused_not_regenerated.
All 12 killed (2026 session, issue 31).
"""

import math

import numpy as np
import pytest

from examples.nbody.data import (
    DT,
    MAX_FORCE,
    energy,
    forces,
    initial_states,
    make_split,
    momentum,
    simulate,
)
from examples.nbody.data import dataset as dataset_module
from examples.nbody.data.simulator import integrate

STEPS = 1000


def rotation(axis, angle):
    """Rodrigues' rotation matrix about ``axis`` by ``angle`` (float64)."""
    k = np.asarray(axis, dtype=np.float64)
    k = k / np.linalg.norm(k)
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + math.sin(angle) * K + (1 - math.cos(angle)) * K @ K


def states(n=8, seed=0):
    pos, vel, charge = initial_states(n, seed)
    return pos, vel, charge


def with_close_pair(pos, vel, charge):
    """Add a system whose first two particles (opposite charges) are 0.05 apart: its
    interaction force (~400) is clipped at MAX_FORCE = 100."""
    p, v, q = pos[:1].copy(), vel[:1].copy(), charge[:1].copy()
    p[0, 1] = p[0, 0] + np.array([0.03, 0.03, np.sqrt(0.05 ** 2 - 2 * 0.03 ** 2)])
    q[0, :2] = [1.0, -1.0]
    assert np.linalg.norm(forces(p, q, max_force=None), axis=-1).max() > 2 * MAX_FORCE
    return np.concatenate([pos, p]), np.concatenate([vel, v]), np.concatenate([charge, q])


def rel(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


def transformed(R, t, pos, vel):
    return pos @ R.T + t, vel @ R.T


def commutation_error(R, t, state, **options):
    pos, vel, charge = state
    end_pos, end_vel = simulate(pos, vel, charge, STEPS, **options)
    moved = simulate(*transformed(R, t, pos, vel), charge, STEPS, **options)
    want = transformed(R, t, end_pos, end_vel)
    return max(rel(moved[0], want[0]), rel(moved[1], want[1]))


def test_e3_commutes_at_zero_field():
    """A rotated and translated initial state ends rotated and translated (1e-6 relative),
    with the force clipping active in one system."""
    state = with_close_pair(*states())
    R, t = rotation([1.0, 2.0, -0.5], 0.9), np.array([0.3, -1.2, 2.0])
    assert commutation_error(R, t, state) < 1e-6
    # the clipped system alone, rotated by 45 degrees about z (where element-wise clipping
    # differs most)
    single = tuple(a[-1:] for a in state)
    assert commutation_error(rotation([0, 0, 1.0], math.pi / 4), np.zeros(3), single) < 1e-6


def test_uniform_field_symmetries():
    """Uniform field along z: rotations about z and translations commute, rotations about x
    do not (clearly: 1e-2 relative)."""
    state, field = states(), {"field": "uniform", "strength": 1.0}
    about_z = rotation([0, 0, 1.0], 1.1)
    assert commutation_error(about_z, np.array([0.5, -0.7, 1.3]), state, **field) < 1e-6
    assert commutation_error(rotation([1.0, 0, 0], 1.1), np.zeros(3), state, **field) > 1e-2


def test_trap_symmetries():
    """Trap about the origin: rotations commute, translations do not."""
    state, field = states(), {"field": "trap", "strength": 1.0}
    assert commutation_error(rotation([0.3, -1.0, 0.4], 2.0), np.zeros(3), state, **field) < 1e-6
    assert commutation_error(np.eye(3), np.array([0.5, 0.0, 0.0]), state, **field) > 1e-2


def energy_error(state, dt, steps, chunk, **field):
    """Largest |E(t) - E(0)| / |E|_scale over the trajectory, sampled every ``chunk`` steps."""
    pos, vel, charge = state
    e0 = energy(pos, vel, charge, **field)
    worst = np.zeros_like(e0)
    for _ in range(steps // chunk):
        pos, vel = integrate(pos, vel, charge, chunk, dt, max_force=None, **field)
        worst = np.maximum(worst, np.abs(energy(pos, vel, charge, **field) - e0))
    kinetic = 0.5 * (state[1] ** 2).sum((-1, -2))
    return worst / np.maximum(np.abs(e0), kinetic)


def smooth_states(**field):
    """States without close encounters over the horizon (min pair distance > 0.3)."""
    pos, vel, charge = states(32, seed=3)
    keep = np.ones(len(pos), bool)
    p, v = pos, vel
    for _ in range(10):
        p, v = integrate(p, v, charge, 100, DT, max_force=None, **field)
        d = np.linalg.norm(p[:, :, None] - p[:, None], axis=-1) + 10 * np.eye(p.shape[1])
        keep &= d.min((-1, -2)) > 0.3
    assert keep.sum() >= 8
    return pos[keep], vel[keep], charge[keep]


def test_energy_error_is_second_order():
    """Halving dt divides the energy error by ~4 (3.5 to 4.5): second order; and it is
    below 100 dt² relative at the dataset's dt."""
    state = smooth_states()
    coarse = energy_error(state, DT, STEPS, 50)
    fine = energy_error(state, DT / 2, 2 * STEPS, 100)
    ratio = coarse.sum() / fine.sum()
    assert 3.5 < ratio < 4.5, ratio
    assert coarse.max() < 100 * DT ** 2


@pytest.mark.parametrize("field", [None, "uniform", "trap"])
def test_energy_conserved_in_each_field(field):
    """Energy including the field's potential is conserved (no clipping), ε = 0.5."""
    strength = 0.0 if field is None else 0.5
    options = {"field": field, "strength": strength}
    err = energy_error(smooth_states(**options), DT, STEPS, 100, **options)
    assert err.max() < 100 * DT ** 2


def test_momentum_conserved():
    pos, vel, charge = states()
    _, end = simulate(pos, vel, charge, STEPS, max_force=None)
    assert np.abs(momentum(end) - momentum(vel)).max() < 1e-10


def test_uniform_field_momentum():
    """In the uniform field total momentum changes by ε t Σq along z (no clipping)."""
    pos, vel, charge = states()
    eps = 0.7
    _, end = simulate(pos, vel, charge, STEPS, field="uniform", strength=eps, max_force=None)
    want = momentum(vel).copy()
    want[:, 2] += eps * STEPS * DT * charge.sum(-1)
    assert np.abs(charge.sum(-1)).max() > 0       # some systems have a net charge
    assert np.abs(momentum(end) - want).max() < 1e-10


def test_single_system_shapes():
    pos, vel, charge = states(1)
    p, v = simulate(pos[0], vel[0], charge[0], 10)
    pb, vb = simulate(pos, vel, charge, 10)
    assert p.shape == (5, 3) and v.shape == (5, 3)
    np.testing.assert_array_equal(p, pb[0])


@pytest.mark.parametrize("kwargs, error, words", [
    ({"field": "magnetic"}, ValueError, ["None", "'uniform'", "'trap'", "'magnetic'"]),
    ({"field": "uniform", "strength": -0.1}, ValueError, [">= 0", "-0.1"]),
    ({"field": "trap", "strength": float("nan")}, ValueError, ["finite", "nan"]),
    ({"strength": "1"}, TypeError, ["real number", "str"]),
    ({"steps": 1.5}, TypeError, ["integer", "1.5"]),
    ({"steps": True}, TypeError, ["integer", "True"]),
    ({"steps": -1}, TypeError, ["integer >= 0", "-1"]),
    ({"pos": np.zeros((4, 5, 2))}, ValueError, ["(N, 3) or (B, N, 3)", "(4, 5, 2)"]),
    ({"vel": np.zeros((4, 5, 3))}, ValueError, ["shape of pos (2, 5, 3)", "(4, 5, 3)"]),
    ({"charge": np.zeros((2, 4))}, ValueError, ["(2, 5)", "(2, 4)"]),
    ({"pos": np.zeros((2, 5, 3), np.float32)}, TypeError, ["float64", "float32"]),
    ({"charge": [1.0] * 5}, TypeError, ["numpy float64 array", "list"]),
])
def test_bad_options(kwargs, error, words):
    pos, vel, charge = states(2)
    args = {"pos": pos, "vel": vel, "charge": charge, "steps": 3}
    options = {k: kwargs.pop(k) for k in ("field", "strength") if k in kwargs}
    args.update(kwargs)
    with pytest.raises(error) as info:
        simulate(args["pos"], args["vel"], args["charge"], args["steps"], **options)
    for w in words:
        assert w in str(info.value), (w, str(info.value))


SMALL = {"burn_in": 200, "horizon": 100}


def test_deterministic_by_seed(tmp_path):
    np.random.seed(1)
    a = make_split(6, 11, cache_dir=tmp_path / "a", **SMALL)
    np.random.seed(2)
    b = make_split(6, 11, cache_dir=tmp_path / "b", **SMALL)
    c = make_split(6, 12, cache_dir=tmp_path / "c", **SMALL)
    for k in ("pos", "vel", "charge", "target"):
        np.testing.assert_array_equal(a[k], b[k])
    assert np.abs(a["pos"] - c["pos"]).max() > 0.1
    assert set(np.unique(a["charge"])) <= {-1.0, 1.0}
    np.testing.assert_allclose(np.linalg.norm(initial_states(6, 11)[1], axis=-1), 0.5)


def test_cache_reused_not_regenerated(tmp_path, monkeypatch):
    first = make_split(6, 11, field="uniform", strength=0.3, cache_dir=tmp_path, **SMALL)
    assert len(list(tmp_path.glob("*.npz"))) == 2        # burn-in and horizon
    def boom(*args, **kwargs):
        raise AssertionError("regenerated although cached")
    monkeypatch.setattr(dataset_module, "integrate", boom)
    again = make_split(6, 11, field="uniform", strength=0.3, cache_dir=tmp_path, **SMALL)
    np.testing.assert_array_equal(first["target"], again["target"])


def test_cache_keyed_by_every_parameter(tmp_path):
    """Another strength or field gives another target (the burn-in is shared: same inputs)."""
    zero = make_split(6, 11, cache_dir=tmp_path, **SMALL)
    uniform = make_split(6, 11, field="uniform", strength=0.3, cache_dir=tmp_path, **SMALL)
    trap = make_split(6, 11, field="trap", strength=0.3, cache_dir=tmp_path, **SMALL)
    stronger = make_split(6, 11, field="uniform", strength=1.0, cache_dir=tmp_path, **SMALL)
    np.testing.assert_array_equal(zero["pos"], uniform["pos"])
    for a, b in ((zero, uniform), (uniform, trap), (uniform, stronger)):
        assert np.abs(a["target"] - b["target"]).max() > 1e-3
    assert len(list(tmp_path.glob("*.npz"))) == 5
