"""Property tests of every group: algebra, exp, sampling, membership (float64)."""

import pytest
import torch
from groups_zoo import ELEMENTS, GROUPS, group
from hypothesis import given
from hypothesis import strategies as st

from liesoft import MatrixLieGroup

F64 = torch.float64
NAMES = sorted(GROUPS)


def coefficients(n):
    return st.lists(st.floats(-2, 2, allow_nan=False), min_size=n, max_size=n).map(
        lambda c: torch.tensor(c, dtype=F64))


@pytest.mark.parametrize("name", NAMES)
def test_generators_satisfy_defining_condition_and_are_independent(name):
    G, cond = group(name), GROUPS[name][1]
    L = G.generators
    assert L.dtype == F64 and L.ndim == 3 and L.shape[-1] == L.shape[-2] == G.dim
    assert cond(L).abs().max() < 1e-12
    assert torch.linalg.matrix_rank(L.reshape(G.n_generators, -1)) == G.n_generators


@pytest.mark.parametrize("name", NAMES)
def test_structure_constants_reproduce_every_bracket(name):
    G = group(name)
    L, f = G.generators, G.structure_constants()
    assert f.shape == (G.n_generators,) * 3
    brackets = L[:, None] @ L[None, :] - L[None, :] @ L[:, None]
    rebuilt = torch.einsum("abc,cij->abij", f, L)
    assert (brackets - rebuilt).abs().max() < 1e-12
    assert (f + f.transpose(0, 1)).abs().max() < 1e-12  # antisymmetric in a, b


@pytest.mark.parametrize("name", NAMES)
@given(data=st.data())
def test_exp_of_algebra_lies_in_group(name, data):
    G, cond = group(name), GROUPS[name][1]
    c = data.draw(coefficients(G.n_generators))
    A = G.algebra_element(c)
    assert cond(A).abs().max() < 1e-12
    g = G.exp(A)
    assert bool(G.contains(g)) and bool(ELEMENTS[name](g))
    assert abs(float(torch.linalg.det(g)) - 1) < 1e-9
    # batched exp agrees with one-at-a-time exp
    gb = G.exp(torch.stack([A, 2 * A]))
    assert torch.allclose(gb[0], g, atol=1e-12) and torch.allclose(gb[1], g @ g, atol=1e-9)


@pytest.mark.parametrize("name", NAMES)
@given(n=st.integers(1, 12), seed=st.integers(0, 2**31 - 1))
def test_samples_lie_in_group(name, n, seed):
    G = group(name)
    g = G.sample(n, generator=torch.Generator().manual_seed(seed), dtype=F64)
    assert g.shape == (n, G.dim, G.dim) and g.dtype == F64
    assert bool(G.contains(g).all())
    assert torch.allclose(torch.linalg.det(g), torch.ones(n, dtype=F64), atol=1e-9)
    # the group's defining equations, written out independently of contains
    assert bool(ELEMENTS[name](g).all())
    # genuine random draws: none is the identity and no two coincide
    eye = torch.eye(G.dim, dtype=F64)
    assert float((g - eye).abs().amax((-1, -2)).min()) > 1e-6
    if n > 1:
        gaps = (g[:, None] - g[None]).abs().amax((-1, -2)) + torch.eye(n, dtype=F64)
        assert float(gaps.min()) > 1e-6


@pytest.mark.parametrize("name", NAMES)
def test_sampling_is_reproducible_and_leaves_global_rng_alone(name):
    G = group(name)
    state = torch.random.get_rng_state()
    a = G.sample(5, generator=torch.Generator().manual_seed(3), dtype=F64)
    b = G.sample(5, generator=torch.Generator().manual_seed(3), dtype=F64)
    c = G.sample(5, generator=torch.Generator().manual_seed(4), dtype=F64)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("name", NAMES)
def test_sample_dtype_and_device_follow_request(name):
    G = group(name)
    g32 = G.sample(3, generator=torch.Generator().manual_seed(0), dtype=torch.float32)
    g64 = G.sample(3, generator=torch.Generator().manual_seed(0), dtype=F64)
    assert g32.dtype == torch.float32 and g32.device.type == "cpu"
    assert torch.allclose(g32.double(), g64, rtol=1e-6, atol=1e-6)
    assert bool(G.contains(g32).all())  # float32 tolerance is looser
    assert G.sample(0).shape == (0, G.dim, G.dim)


@pytest.mark.parametrize("name", NAMES)
def test_contains_rejects_non_members(name):
    G = group(name)
    g = G.sample(4, generator=torch.Generator().manual_seed(1), dtype=F64)
    assert not bool(G.contains(2 * g).any())
    perturbed = g.clone()
    perturbed[:, 0, 0] += 1e-3
    assert not bool(G.contains(perturbed).any())
    assert not bool(G.contains(torch.full((G.dim, G.dim), float("nan"), dtype=F64)))


@pytest.mark.parametrize("name", NAMES)
def test_discrete_generators_and_their_sampler(name):
    G = group(name)
    D = G.discrete_generators
    assert D.ndim == 3 and D.shape[1:] == (G.dim, G.dim)
    s = G.sample_discrete(64, generator=torch.Generator().manual_seed(0), dtype=F64)
    assert s.shape == (64, G.dim, G.dim)
    for k in range(D.shape[0]):  # each discrete generator squares to the identity here
        assert torch.allclose(D[k] @ D[k], torch.eye(G.dim, dtype=F64))
    if D.shape[0]:
        # not every draw is the identity, and none of the non-trivial ones is in the group
        trivial = (s - torch.eye(G.dim, dtype=F64)).abs().amax((-1, -2)) < 1e-12
        assert 0 < int(trivial.sum()) < 64
        assert not bool(G.contains(s[~trivial]).any())


def test_contains_needs_the_normaliser_condition_for_a_torus():
    """The positive diagonal matrices, exp(span{E_11, E_22}): the algebra has no invariant
    vector, covector or bilinear form, so of the invariant-based tests only det g > 0 and "g
    normalises the algebra" apply (the logarithm test comes on top). A rotation has det 1 and
    is rejected by the normaliser condition (g diag(a, b) g^-1 is not diagonal)."""
    T = MatrixLieGroup(torch.stack([torch.diag(torch.tensor([1.0, 0.0])),
                                    torch.diag(torch.tensor([0.0, 1.0]))]), name="torus")
    vecs, covecs, forms = T._algebra_invariants()
    assert vecs.shape[0] == covecs.shape[0] == forms.shape[0] == 0
    angle = torch.tensor([0.3, 1.0, -2.0], dtype=F64)
    c, s = angle.cos(), angle.sin()
    rotations = torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)
    assert torch.allclose(torch.linalg.det(rotations), torch.ones(3, dtype=F64))
    assert not bool(T.contains(rotations).any())
    # members (exp of diagonal matrices) are accepted; tilting one by a rotation is not
    members = T.sample(8, generator=torch.Generator().manual_seed(0), dtype=F64)
    assert bool(T.contains(members).all())
    assert bool(T.contains(torch.diag(torch.tensor([2.0, 0.5], dtype=F64))))
    tilt = rotations[0] @ members[0]
    assert not bool(T.contains(tilt))
