"""Subgroups from spurions and invariant forms, computed exactly."""

import torch
from groups_zoo import ETA3, SYMPLECTIC4, T_AXIS, Z_AXIS

from liesoft import Lorentz, MatrixLieGroup, Scalar, Vector, assert_equivariant

F64 = torch.float64


def test_lorentz_stabilisers_and_beam_subgroup_are_exact_spans():
    L = Lorentz()
    G = L.generators
    assert torch.equal(L.stabilizer(T_AXIS).generators, G[[3, 4, 5]])
    assert L.stabilizer(T_AXIS).generator_names == ("J_x", "J_y", "J_z")
    assert torch.equal(L.stabilizer(Z_AXIS).generators, G[[0, 1, 5]])
    assert L.stabilizer(Z_AXIS).generator_names == ("K_x", "K_y", "J_z")
    assert torch.equal(L.stabilizer(T_AXIS, Z_AXIS).generators, G[[5]])
    beam = L.preserving_subspace(T_AXIS, Z_AXIS)
    assert torch.equal(beam.generators, G[[2, 5]])
    assert beam.generator_names == ("K_z", "J_z")


def test_subgroup_elements_fix_the_spurion_and_belong_to_the_parent():
    L = Lorentz()
    gen = torch.Generator().manual_seed(0)
    for vectors in [(Z_AXIS,), (T_AXIS,), (T_AXIS, Z_AXIS)]:
        H = L.stabilizer(*vectors)
        g = H.sample(16, generator=gen, dtype=F64)
        assert bool(H.contains(g).all()) and bool(L.contains(g).all())
        for v in vectors:
            assert torch.allclose(g @ v.double(), v.double().expand(16, -1), atol=1e-12)
        # a generic Lorentz transformation moves the spurion, so is not in the stabiliser
        assert not bool(H.contains(L.sample(8, generator=gen, dtype=F64)).any())
    beam = L.preserving_subspace(T_AXIS, Z_AXIS)
    g = beam.sample(16, generator=gen, dtype=F64)
    moved = g @ torch.stack([T_AXIS, Z_AXIS]).double().T  # images of t and z stay in span(t, z)
    assert moved[:, 1:3].abs().max() < 1e-12
    # invariance checks for the beam symmetry: the transverse momentum is invariant
    pt = lambda p: (p[..., 1] ** 2 + p[..., 2] ** 2).sqrt()  # noqa: E731
    assert_equivariant(pt, beam, Vector(), Scalar())


def test_stabiliser_of_a_generic_vector():
    L = Lorentz()
    p = torch.tensor([5.0, 1.0, 2.0, 3.0])  # timelike: little group is a conjugate SO(3)
    H = L.stabilizer(p)
    assert H.n_generators == 3
    assert (H.generators @ p.double()).abs().max() < 1e-12
    light = torch.tensor([1.0, 0.0, 0.0, 1.0])  # lightlike: little group ISO(2), 3 generators
    little = L.stabilizer(light)
    assert little.n_generators == 3
    assert (little.generators @ light.double()).abs().max() < 1e-12


def test_preserving_a_metric_gives_so12_plus():
    G = MatrixLieGroup.preserving(torch.diag(torch.tensor([1.0, -1.0, -1.0])))
    assert G.n_generators == 3
    L = G.generators
    assert (L.transpose(-1, -2) @ ETA3 + ETA3 @ L).abs().max() == 0
    # exact rational basis: entries are 0 or +-1
    assert set(L.unique().tolist()) <= {-1.0, 0.0, 1.0}
    g = G.sample(32, generator=torch.Generator().manual_seed(0), dtype=F64)
    assert bool(G.contains(g).all()) and bool((g[:, 0, 0] >= 1).all())
    # elements of the other components of O(1,2) are rejected
    for d in ([-1.0, -1.0, 1.0], [1.0, -1.0, 1.0], [-1.0, 1.0, 1.0]):
        assert not bool(G.contains(torch.diag(torch.tensor(d, dtype=F64))))


def test_preserving_a_symplectic_form_gives_sp4():
    G = MatrixLieGroup.preserving(SYMPLECTIC4)
    assert G.n_generators == 10
    g = G.sample(8, generator=torch.Generator().manual_seed(0), dtype=F64)
    J = SYMPLECTIC4
    assert torch.allclose(g.transpose(-1, -2) @ J @ g, J.expand(8, -1, -1), atol=1e-10)
