"""Representations: homomorphism, exp/drho compatibility, actions, invariants (float64)."""

import math

import pytest
import torch
from groups_zoo import group
from hypothesis import given
from hypothesis import strategies as st

from liesoft import E3, SO3, Dual, Lorentz, Point, Scalar, Tensor, Vector, Vector4

F64 = torch.float64

LINEAR_REPS = {
    "scalar": Scalar(),
    "vector": Vector(),
    "dual": Dual(Vector()),
    "tensor20": Tensor(2, 0),
    "tensor11": Tensor(1, 1),
    "tensor02": Tensor(0, 2),
    "sum": Vector() + Tensor(1, 1) + Scalar(),
    "copies": 3 * Vector(),
    "product": (Vector() + Scalar()) * Dual(Vector()),
    "power": Vector() ** 3,
}
GROUP_NAMES = ["lorentz", "so3", "e3", "sl2_user", "so12_preserving", "lorentz_beam"]


def cases(affine_sums=True):
    for g in GROUP_NAMES:
        for r in LINEAR_REPS:
            yield g, r
    for r in ["point", "point_plus_vector", "bound_vector"]:
        if affine_sums or r != "point_plus_vector":  # such a sum has no rho matrix
            yield "e3", r


def rep_for(group_name, rep_name):
    G = group(group_name)
    rep = {"point": Point(), "point_plus_vector": Point() + Vector() + Scalar(),
           "bound_vector": Vector()}.get(rep_name) or LINEAR_REPS[rep_name]
    return G, rep.bind(G)


def draws(G, seed, n=3):
    gen = torch.Generator().manual_seed(seed)
    g = G.sample(n, generator=gen, dtype=F64)
    h = G.sample(n, generator=gen, dtype=F64)
    A = G.algebra_element(0.7 * torch.randn(n, G.n_generators, generator=gen, dtype=F64))
    B = G.algebra_element(0.7 * torch.randn(n, G.n_generators, generator=gen, dtype=F64))
    return gen, g, h, A, B


def close(a, b, tol=1e-9):
    scale = max(1.0, float(b.abs().max()))
    return float((a - b).abs().max()) <= tol * scale


@pytest.mark.parametrize("group_name,rep_name", list(cases(affine_sums=False)))
@given(seed=st.integers(0, 2**31 - 1))
def test_homomorphism_properties(group_name, rep_name, seed):
    G, rep = rep_for(group_name, rep_name)
    _, g, h, A, B = draws(G, seed)
    assert close(rep.rho(g @ h), rep.rho(g) @ rep.rho(h))
    assert close(rep.rho(torch.linalg.matrix_exp(A)), torch.linalg.matrix_exp(rep.drho(A)))
    comm = lambda X, Y: X @ Y - Y @ X  # noqa: E731
    assert close(rep.drho(comm(A, B)), comm(rep.drho(A), rep.drho(B)))
    s = rep.size() if rep.linear else G.dim  # an affine rep's rho is the homogeneous matrix
    assert rep.rho(g).shape == (3, s, s) and rep.drho(A).shape == (3, s, s)


@pytest.mark.parametrize("group_name,rep_name", list(cases()))
@given(seed=st.integers(0, 2**31 - 1), middle=st.sampled_from([(), (5,), (2, 3)]))
def test_act_composes_and_infinitesimal_is_its_derivative(group_name, rep_name, seed, middle):
    G, rep = rep_for(group_name, rep_name)
    gen, g, h, A, _ = draws(G, seed)
    x = torch.randn(3, *middle, *rep.shape(), generator=gen, dtype=F64)
    assert close(rep.act(g, rep.act(h, x)), rep.act(g @ h, x))
    # unbatched element acts on every sample like the batch of copies
    assert close(rep.act(g[0], x), rep.act(g[0].expand(3, -1, -1), x))
    t = 1e-5
    numeric = (rep.act(torch.linalg.matrix_exp(t * A), x)
               - rep.act(torch.linalg.matrix_exp(-t * A), x)) / (2 * t)
    assert close(rep.infinitesimal(A, x), numeric, tol=1e-7)
    if rep.linear:  # act agrees with the matrix rho on flattened components
        flat = x.reshape(3, -1, rep.size())
        via_rho = torch.einsum("bij,bmj->bmi", rep.rho(g), flat).reshape(x.shape)
        assert close(rep.act(g, x), via_rho)
    # all generators at once agrees with one at a time
    L = G.generators
    stacked = torch.stack([rep.infinitesimal(A, x) for A in L])
    assert close(rep.infinitesimal_all(L, x), stacked, tol=1e-12)
    x_before = x.clone()
    rep.act(g, x)
    rep.infinitesimal(A, x)
    assert torch.equal(x, x_before)  # never in place


def test_jet_is_transformed_particle_by_particle_with_one_element_per_jet():
    L = Lorentz()
    g = L.sample(2, generator=torch.Generator().manual_seed(0), dtype=F64)
    jets = torch.randn(2, 7, 4, dtype=F64)
    out = Vector4().act(g, jets)
    for b in range(2):
        for i in range(7):
            assert torch.allclose(out[b, i], g[b] @ jets[b, i])
    padded = torch.zeros(2, 3, 4, dtype=F64)
    assert torch.equal(Vector4().act(g, padded), padded)  # zero padding stays zero


def minkowski(a, b):
    return a[..., 0] * b[..., 0] - (a[..., 1:] * b[..., 1:]).sum(-1)


@given(seed=st.integers(0, 2**31 - 1))
def test_invariants_are_preserved(seed):
    gen = torch.Generator().manual_seed(seed)
    L, S, E = Lorentz(), SO3(), E3()
    p, q = torch.randn(2, 4, 4, generator=gen, dtype=F64)
    g = L.sample(4, generator=gen, dtype=F64, rotations=True)
    v = Vector4()
    assert close(minkowski(v.act(g, p), v.act(g, q)), minkowski(p, q), 1e-11)
    # tensor contraction: T^{mu nu} eta_{mu nu} with T = p (x) q is invariant
    T = p[:, :, None] * q[:, None, :]
    Tg = Tensor(2, 0).act(g, T)
    assert close(torch.einsum("bij,ij->b", Tg, torch.diag(torch.tensor([1.0, -1, -1, -1],
                 dtype=F64))), minkowski(p, q), 1e-11)
    # dual pairing <w, v> is invariant
    w = torch.randn(4, 4, generator=gen, dtype=F64)
    assert close((Dual(Vector()).act(g, w) * v.act(g, p)).sum(-1), (w * p).sum(-1), 1e-11)
    R = S.sample(4, generator=gen, dtype=F64)
    a, b = torch.randn(2, 4, 3, generator=gen, dtype=F64)
    assert close((Vector().act(R, a) * Vector().act(R, b)).sum(-1), (a * b).sum(-1), 1e-12)
    x = torch.randn(4, 6, 3, generator=gen, dtype=F64)
    ge = E.sample(4, generator=gen, dtype=F64, translation_scale=3.0)
    y = Point().bind(E).act(ge, x)
    dist = lambda z: (z[:, :, None] - z[:, None]).norm(dim=-1)  # noqa: E731
    assert close(dist(y), dist(x), 1e-12)
    # free vectors ignore translations
    shift = torch.eye(4, dtype=F64).repeat(4, 1, 1)
    shift[:, :3, 3] = 5.0
    f = torch.randn(4, 6, 3, generator=gen, dtype=F64)
    assert torch.equal(Vector().bind(E).act(shift, f), f)
    assert torch.allclose(Point().bind(E).act(shift, x), x + 5.0)


def test_shapes_and_composition_rules():
    assert Tensor(2, 0).shape(4) == (4, 4) and Tensor(1, 2).shape(3) == (3, 3, 3)
    assert (Vector() + Scalar()).shape(4) == (5,)
    assert (2 * Vector()).shape(3) == (6,) and (Vector() * 2).shape(3) == (6,)
    assert (Vector() ** 2).shape(4) == (4, 4) and Vector() ** 0 == Scalar()
    assert Scalar() * Vector() == Vector() and Vector() * Scalar() == Vector()
    assert Tensor(0, 0).shape(4) == ()
    assert Vector().bind(E3()).shape() == (3,) and Vector().bind(Lorentz()).shape() == (4,)
    assert Point().bind(E3()).shape() == (3,)
    assert Vector4().bind(Lorentz()).size() == 4
    assert repr(Vector() + Tensor(1, 1)) == "Vector() + Tensor(1, 1)"
    assert Tensor(1, 1) == Tensor(1, 1) and Tensor(1, 1) != Tensor(2, 0)


def test_dual_is_lower_index_and_scalar_is_trivial():
    L = Lorentz()
    g = L.sample(3, generator=torch.Generator().manual_seed(0), dtype=F64)
    A = L.algebra_element(torch.randn(6, dtype=F64))
    assert close(Dual(Vector()).rho(g), torch.linalg.inv(g).transpose(-1, -2))
    assert close(Dual(Vector()).drho(A), -A.T)
    # for Lorentz, the dual is eta rho eta: lowering an index with the metric
    eta = torch.diag(torch.tensor([1.0, -1, -1, -1], dtype=F64))
    assert close(Dual(Vector()).rho(g), eta @ g @ eta)
    x = torch.randn(3, 2, dtype=F64)
    assert torch.equal(Scalar().act(g, x), x)
    assert torch.equal(Scalar().infinitesimal(A, x), torch.zeros_like(x))


def test_affine_point_action_formula():
    E = E3()
    axis_angle = torch.tensor([0.0, 0.0, math.pi / 2], dtype=F64)
    g = torch.eye(4, dtype=F64)
    g[:3, :3] = SO3.rotation(axis_angle)
    g[:3, 3] = torch.tensor([1.0, 2.0, 3.0], dtype=F64)
    x = torch.tensor([[1.0, 0.0, 0.0]], dtype=F64)
    assert torch.allclose(Point().bind(E).act(g, x), torch.tensor([[1.0, 3.0, 3.0]], dtype=F64))
    A = E.algebra_element(torch.tensor([0, 0, 1.0, 0.5, 0, 0], dtype=F64))
    assert torch.allclose(Point().bind(E).infinitesimal(A, x),
                          torch.tensor([[0.5, 1.0, 0.0]], dtype=F64))
