"""The invariance audit (the curve of the paper's Fig. 2 for any model)."""

import math

import pytest
import torch

from liesoft import E3, Lorentz, MatrixLieGroup, Point, Scalar, Vector4, invariance_profile

F64 = torch.float64


def m2(p):
    return p[..., 0] ** 2 - (p[..., 1:] ** 2).sum(-1)


def test_profile_is_zero_for_invariants_and_grows_for_violations():
    x = torch.randn(200, 4, dtype=F64)
    exact = invariance_profile(m2, x, Lorentz(), Vector4(), magnitudes=[0.1, 0.5, 0.9])
    assert set(exact.mean) == {"boost", "rotation"}
    assert all(float(v.max()) < 1e-12 for v in exact.mean.values())
    broken = invariance_profile(lambda p: m2(p) + p[..., 3], x, Lorentz(), Vector4(),
                                magnitudes=[0.1, 0.5, 0.9],
                                generator=torch.Generator().manual_seed(0))
    b = broken.mean["boost"]
    assert bool((b[1:] > b[:-1]).all()) and float(b[0]) > 0
    assert all(float(e) > 0 for e in broken.sem["boost"])
    # energy is rotation invariant but not boost invariant: families are separated
    energy = invariance_profile(lambda p: p[..., 0], x, Lorentz(), Vector4(), magnitudes=[0.5])
    assert float(energy.mean["rotation"][0]) < 1e-12 < float(energy.mean["boost"][0])
    rows = broken.rows()
    assert len(rows) == 6 and set(rows[0]) == {"family", "magnitude", "mean", "sem"}


def test_boost_magnitude_is_beta():
    """A boost of size |beta| along a random direction changes the energy of a particle at
    rest to gamma m exactly."""
    x = torch.tensor([[1.0, 0, 0, 0]], dtype=F64).repeat(50, 1)
    prof = invariance_profile(lambda p: p[..., 0], x, Lorentz(), Vector4(), magnitudes=[0.6],
                              families=["boost"])
    assert torch.allclose(prof.mean["boost"], torch.tensor([1.25 - 1.0], dtype=F64))


def test_chunking_and_args_and_e3():
    cloud = torch.randn(30, 5, 3, dtype=F64)
    # a per-particle weight the function depends on: chunks must take the same rows of it
    mask = torch.rand(30, 5, dtype=F64, generator=torch.Generator().manual_seed(3)) > 0.5
    f = lambda x, m: (x[:, :, None] - x[:, None]).norm(dim=-1).sum((-1, -2)) + (x[..., 0] * m).sum(-1)  # noqa: E731
    a = invariance_profile(f, cloud, E3(), Point(), Scalar(), args=(mask,), magnitudes=[1.0],
                           generator=torch.Generator().manual_seed(0))
    b = invariance_profile(f, cloud, E3(), Point(), Scalar(), args=(mask,), magnitudes=[1.0],
                           batch_size=7, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(a.mean["translation"], b.mean["translation"], rtol=1e-12)
    assert torch.allclose(a.sem["translation"], b.sem["translation"], rtol=1e-12)
    assert set(a.mean) == {"rotation", "translation"}
    with pytest.raises(ValueError, match="unknown family 'boost'"):
        invariance_profile(f, cloud, E3(), Point(), args=(mask,), families=["boost"])
    with pytest.raises(ValueError, match=r"\|beta\| in \[0, 1\)"):
        invariance_profile(m2, torch.randn(4, 4), Lorentz(), Vector4(), magnitudes=[1.0])


# ---------------------------------------------------------------------------- per generator
T_HAT = torch.tensor([1.0, 0, 0, 0], dtype=F64)   # the beam's spurions: time and beam axis
Z_HAT = torch.tensor([0, 0, 0, 1.0], dtype=F64)


def minkowski(p, s):
    return p[..., 0] * s[0] - (p[..., 1:] * s[1:]).sum(-1)


def beam_model():
    """An MLP (float64) fed m^2 and (t.p)^2 - (z.p)^2 = E^2 - p_z^2: a model that knows the
    beam. It is invariant under K_z and J_z and under nothing else."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(),
                              torch.nn.Linear(16, 1)).double()

    def f(p):
        beam = minkowski(p, T_HAT) ** 2 - minkowski(p, Z_HAT) ** 2
        return net(torch.stack([m2(p), beam], -1))[..., 0]

    return f


def test_per_generator_profile_finds_the_beam_symmetry():
    x = torch.randn(300, 4, dtype=F64)
    prof = invariance_profile(beam_model(), x, Lorentz(), Vector4(), magnitudes=[0.3, 0.6, 0.9],
                              per_generator=True, generator=torch.Generator().manual_seed(1))
    assert tuple(prof.mean) == Lorentz().generator_names == ("K_x", "K_y", "K_z", "J_x", "J_y",
                                                             "J_z")
    assert prof.per_generator and prof.family_of["K_y"] == "boost"
    assert prof.family_of["J_x"] == "rotation"
    for name in ("K_z", "J_z"):
        assert float(prof.mean[name].max()) < 1e-12, (name, prof.mean[name])
    for name in ("K_x", "K_y", "J_x", "J_y"):
        assert float(prof.mean[name].min()) > 1e-3, (name, prof.mean[name])
        assert bool((prof.mean[name][1:] > prof.mean[name][:-1]).all()), name
    # the family profile of the same model sees only "broken" for both families
    fam = invariance_profile(beam_model(), x, Lorentz(), Vector4(), magnitudes=[0.6])
    assert set(fam.mean) == {"boost", "rotation"} and not fam.per_generator
    assert all(float(v[0]) > 1e-3 for v in fam.mean.values())


def test_per_generator_magnitudes_are_beta_and_angle():
    """Each curve follows its family's convention: |beta| for a boost (a particle at rest gets
    E = gamma m along every boost axis), the angle for a rotation (p_x of a vector along x
    becomes cos(theta) under J_y and J_z, either sign, and stays under J_x)."""
    rest = torch.tensor([[1.0, 0, 0, 0]], dtype=F64).repeat(40, 1)
    prof = invariance_profile(lambda p: p[..., 0], rest, Lorentz(), Vector4(),
                              magnitudes=[0.6], families=["boost"], per_generator=True)
    assert tuple(prof.mean) == ("K_x", "K_y", "K_z")
    for v in prof.mean.values():
        assert torch.allclose(v, torch.tensor([0.25], dtype=F64), atol=1e-14)
    along_x = torch.tensor([[2.0, 1.0, 0, 0]], dtype=F64).repeat(40, 1)
    rot = invariance_profile(lambda p: p[..., 1], along_x, Lorentz(), Vector4(),
                             magnitudes=[0.5, 1.0], families=["rotation"], per_generator=True,
                             generator=torch.Generator().manual_seed(0))
    assert tuple(rot.mean) == ("J_x", "J_y", "J_z")
    assert float(rot.mean["J_x"].abs().max()) < 1e-15
    want = 1 - torch.cos(torch.tensor([0.5, 1.0], dtype=F64))
    for name in ("J_y", "J_z"):
        assert torch.allclose(rot.mean[name], want, atol=1e-14), name
        assert float(rot.sem[name].max()) < 1e-14   # the sign of theta does not matter here


def test_per_generator_on_a_subgroup_and_e3():
    beam = Lorentz().preserving_subspace(T_HAT, Z_HAT)
    x = torch.randn(50, 4, dtype=F64)
    prof = invariance_profile(beam_model(), x, beam, Vector4(), magnitudes=[0.5],
                              per_generator=True)
    assert tuple(prof.mean) == ("K_z", "J_z") and float(max(v.max() for v in
                                                            prof.mean.values())) < 1e-12
    cloud = torch.randn(20, 5, 3, dtype=F64)
    com = lambda c: c.mean(-2)[..., 0]  # noqa: E731  (x of the centre: moves under T_x only
    e3 = invariance_profile(com, cloud, E3(), Point(), magnitudes=[0.7], families=["translation"],
                            per_generator=True)
    assert torch.allclose(e3.mean["T_x"], torch.tensor([0.7], dtype=F64), atol=1e-14)
    assert float(e3.mean["T_y"][0]) == 0 and float(e3.mean["T_z"][0]) == 0


# ---------------------------------------------------------------------------- CSV and plots
@pytest.mark.parametrize("per_generator", [False, True])
def test_to_csv_round_trip(tmp_path, per_generator):
    x = torch.randn(60, 4, dtype=F64)
    prof = invariance_profile(lambda p: m2(p) + 0.1 * p[..., 3], x, Lorentz(), Vector4(),
                              magnitudes=[0.2, 0.7], per_generator=per_generator,
                              generator=torch.Generator().manual_seed(3))
    path = tmp_path / "profile.csv"
    prof.to_csv(path)
    import csv
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    want_cols = (["generator"] if per_generator else []) + ["family", "magnitude", "mean", "sem"]
    assert list(rows[0]) == want_cols
    assert len(rows) == 2 * (6 if per_generator else 2)
    assert [float(r["mean"]) for r in rows] == [r["mean"] for r in prof.rows()]   # exact
    back = type(prof).from_csv(path)
    assert torch.equal(back.magnitudes, prof.magnitudes)
    assert list(back.mean) == list(prof.mean) and back.family_of == prof.family_of
    for name in prof.mean:
        assert torch.equal(back.mean[name], prof.mean[name])
        assert torch.equal(back.sem[name], prof.sem[name])
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="expected the columns"):
        type(prof).from_csv(bad)


def test_plot_draws_log_curves_with_bands():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    x = torch.randn(80, 4, dtype=F64)
    prof = invariance_profile(beam_model(), x, Lorentz(), Vector4(), magnitudes=[0.2, 0.5, 0.8],
                              per_generator=True)
    fig, ax = plt.subplots()
    assert prof.plot(ax) is ax
    assert ax.get_yscale() == "log"
    assert [line.get_label() for line in ax.get_lines()] == list(prof.mean)
    assert sum(isinstance(c, PolyCollection) for c in ax.collections) == 6
    drawn = ax.get_lines()[0].get_ydata()
    assert list(drawn) == prof.mean["K_x"].tolist()
    # an exactly invariant curve is left out of the log axis instead of breaking it
    exact = invariance_profile(lambda p: 0 * p[..., 0], x, Lorentz(), Vector4(),
                               magnitudes=[0.2, 0.5])
    assert float(max(v.abs().max() for v in exact.mean.values())) == 0
    ax2 = exact.plot()
    assert all(not (line.get_ydata() == line.get_ydata()).any() for line in ax2.get_lines())
    plt.close("all")


def test_plot_without_matplotlib_says_how_to_install(monkeypatch):
    import sys
    prof = invariance_profile(m2, torch.randn(10, 4, dtype=F64), Lorentz(), Vector4(),
                              magnitudes=[0.5])
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="needs matplotlib.*pip install matplotlib"):
        prof.plot()


def _at_rest(masses):
    x = torch.zeros(len(masses), 4, dtype=F64)
    x[:, 0] = torch.tensor(masses, dtype=F64)
    return x


def test_sem_is_the_standard_error_of_the_per_sample_violations():
    """Particles at rest with masses m_i: a boost of speed |beta| in any direction changes the
    energy by (gamma - 1) m_i, so the per-sample violations are known exactly."""
    masses = [0.5, 1.0, 2.0, 3.5, 7.0]
    prof = invariance_profile(lambda p: p[..., 0], _at_rest(masses), Lorentz(), Vector4(),
                              magnitudes=[0.6, 0.8], generator=torch.Generator().manual_seed(0))
    m = torch.tensor(masses, dtype=F64)
    for k, beta in enumerate([0.6, 0.8]):
        v = (1 / math.sqrt(1 - beta**2) - 1) * m
        mean = float(v.mean())
        sem = math.sqrt(float(((v - mean) ** 2).sum()) / (len(masses) - 1) / len(masses))
        assert float(prof.mean["boost"][k]) == pytest.approx(mean, rel=1e-12)
        assert float(prof.sem["boost"][k]) == pytest.approx(sem, rel=1e-12)
    # rotations leave a particle at rest alone: zero violation, zero spread
    assert float(prof.mean["rotation"].abs().max()) == 0 == float(prof.sem["rotation"].abs().max())
    rows = prof.rows()
    assert rows[1] == {"family": "boost", "magnitude": 0.8, "mean": float(prof.mean["boost"][1]),
                       "sem": float(prof.sem["boost"][1])}


def test_out_rep_is_honoured_for_covariant_outputs():
    """f(p) = m^2 p is Lorentz covariant (Vector4 -> Vector4): ~0 when audited with
    out_rep=Vector4(). Audited as if invariant, a particle of mass m at rest is off by
    |Lambda p - p| = m^3 sqrt((gamma - 1)^2 + gamma^2 beta^2)."""
    covariant = lambda p: m2(p)[..., None] * p  # noqa: E731
    x = torch.randn(100, 4, dtype=F64, generator=torch.Generator().manual_seed(1))
    ok = invariance_profile(covariant, x, Lorentz(), Vector4(), Vector4(), magnitudes=[0.3, 0.9],
                            generator=torch.Generator().manual_seed(0))
    scale = float(covariant(x).abs().max())
    assert all(float(v.max()) < 1e-12 * scale for v in ok.mean.values())
    masses = [1.0, 2.0]
    as_invariant = invariance_profile(covariant, _at_rest(masses), Lorentz(), Vector4(),
                                      magnitudes=[0.6], families=["boost"],
                                      generator=torch.Generator().manual_seed(0))
    gamma, beta = 1.25, 0.6
    per_unit = math.sqrt((gamma - 1) ** 2 + (gamma * beta) ** 2)
    expected = per_unit * sum(mm**3 for mm in masses) / len(masses)
    assert float(as_invariant.mean["boost"][0]) == pytest.approx(expected, rel=1e-12)


def _energy(p):
    return p[..., 0]


def test_families_dict_for_a_user_group_and_declared_families():
    """Issue 24 item 6: curves for any group. The energy of momenta with p_z = 0 changes by
    exactly E (cosh(theta) - 1) under a boost exp(+-theta K_z) and not at all under rotations
    about z; a user group (Lorentz generators, no families of its own) gets them from
    ``families={...}`` (names, indices or matrices) or from its constructor."""
    L = Lorentz()
    x = torch.randn(64, 4, generator=torch.Generator().manual_seed(0), dtype=F64)
    x[:, 3] = 0
    x[:, 0] = x[:, 1:].norm(dim=-1) + 1
    mags = (0.2, 0.7)
    expected = torch.tensor([x[:, 0].mean() * (math.cosh(m) - 1) for m in mags], dtype=F64)
    user = MatrixLieGroup(L.generators, names=L.generator_names)
    assert user.families() == {"all": list(range(6))}
    for fams in ({"kz": ["K_z"], "jz": ["J_z"]}, {"kz": [2], "jz": [5]},
                 {"kz": L.generators[2:3], "jz": L.generators[5:6]}):
        prof = invariance_profile(_energy, x, user, Vector4(), magnitudes=mags, families=fams)
        assert list(prof.mean) == ["kz", "jz"]
        assert torch.allclose(prof.mean["kz"], expected, rtol=1e-12)
        assert prof.mean["jz"].abs().max() < 1e-12
    declared = MatrixLieGroup(L.generators, names=L.generator_names,
                              families={"kz": ["K_z"], "rot": ["J_x", "J_y", "J_z"]})
    prof = invariance_profile(_energy, x, declared, Vector4(), magnitudes=mags)
    assert list(prof.mean) == ["kz", "rot"]
    assert torch.allclose(prof.mean["kz"], expected, rtol=1e-12)
    assert prof.mean["rot"].abs().max() < 1e-12
    # a family given as matrices is the same curve as that matrix named in a basis holding it
    A = L.generators[2] + L.generators[3]          # K_z + J_x, neither symmetric nor antisym.
    basis = L.generators.clone()
    basis[3] = A
    p_direct = invariance_profile(_energy, x, L, Vector4(), magnitudes=mags,
                                  families={"m": A[None]},
                                  generator=torch.Generator().manual_seed(5))
    p_named = invariance_profile(_energy, x, MatrixLieGroup(basis), Vector4(), magnitudes=mags,
                                 families={"m": [3]}, generator=torch.Generator().manual_seed(5))
    assert torch.equal(p_direct.mean["m"], p_named.mean["m"])
    assert p_direct.mean["m"].min() > 0.01
    # a family named like one of the group's keeps its convention: |beta| for Lorentz boosts
    prof = invariance_profile(_energy, x, L, Vector4(), magnitudes=(0.6,),
                              families={"boost": ["K_z"]})
    gamma = 1 / math.sqrt(1 - 0.36)
    assert torch.allclose(prof.mean["boost"], x[:, 0].mean() * (gamma - 1), rtol=1e-12)
    # per generator: one curve per listed generator, mapped to its family
    prof = invariance_profile(_energy, x, user, Vector4(), magnitudes=mags, per_generator=True,
                              families={"b": ["K_z", "K_x"], "r": ["J_z"]})
    assert prof.family_of == {"K_z": "b", "K_x": "b", "J_z": "r"}
    assert torch.allclose(prof.mean["K_z"], expected, rtol=1e-12)
    with pytest.raises(ValueError, match="unknown generator 'K_w'"):
        invariance_profile(_energy, x, user, Vector4(), families={"b": ["K_w"]})
    with pytest.raises(ValueError, match=r"\(k, 4, 4\) tensor"):
        invariance_profile(_energy, x, user, Vector4(), families={"b": torch.zeros(2, 3, 3)})
    with pytest.raises(ValueError, match="families=\\{name: generators\\}"):
        invariance_profile(_energy, x, user, Vector4(), families=["boost"])
