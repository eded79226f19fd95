"""``contains`` of groups without an invariant form, tolerances at large elements, the default
sampler scale, generator names in errors, declared families and the cost of the first
``contains`` (issue 24, items 1, 2, 3, 6, 8, 12, 13)."""

import math
import time

import pytest
import torch

from liesoft import Lorentz, MatrixLieGroup
from liesoft.groups import rotation_matrix
from liesoft.groups.logm import principal_log

F64 = torch.float64


def diag(*v, dtype=F64):
    return torch.diag(torch.tensor(v, dtype=dtype))


def rot_z(angle, d=3):
    g = torch.eye(d, dtype=F64)
    g[:3, :3] = rotation_matrix(torch.tensor([0.0, 0.0, angle], dtype=F64))
    return g


# ---------------------------------------------------------------------------- item 1
def test_principal_log_matches_known_logarithms():
    A = torch.tensor([[[0.0, 5.0], [0.0, 0.0]],            # unipotent (defective)
                      [[0.0, -1.2], [1.2, 0.0]],           # rotation by 1.2
                      [[0.7, 0.0], [0.0, -0.3]],           # positive diagonal
                      [[0.0, 7.5], [7.5, 0.0]]], dtype=F64)  # a boost of size 904
    log, real = principal_log(torch.linalg.matrix_exp(A))
    assert real.all()
    assert (log - A).abs().max() < 1e-10
    # negative eigenvalues: no real principal logarithm
    _, real = principal_log(torch.stack([diag(-2.0, -0.5), -torch.eye(2, dtype=F64)]))
    assert not real.any()


def test_dilations_contain_only_positive_multiples_of_the_identity():
    D = MatrixLieGroup(torch.eye(3)[None], name="dilations")
    assert D.contains(2.5 * torch.eye(3, dtype=F64))
    assert D.contains(torch.linalg.matrix_exp(-0.7 * torch.eye(3, dtype=F64)))
    assert D.contains(D.sample(16, generator=torch.Generator().manual_seed(0), dtype=F64)).all()
    assert not D.contains(diag(2.0, 1.0, 1.0))
    assert not D.contains(rot_z(math.pi / 2))
    assert not D.contains(diag(-1.0, -1.0, 1.0))     # det 1 but not a dilation
    assert not D.contains(-torch.eye(3, dtype=F64))  # det -1


def test_sl2_accepts_elements_outside_the_image_of_exp_and_rejects_non_members():
    H, E = torch.tensor([[1.0, 0], [0, -1]]), torch.tensor([[0.0, 1], [0, 0]])
    sl2 = MatrixLieGroup(torch.stack([H, E, E.T]), names=("H", "E", "F"))
    g = sl2.sample(64, generator=torch.Generator().manual_seed(3), dtype=F64)
    assert sl2.contains(g).all()
    # diag(-2, -1/2) and -1 are in SL(2, R) but not exponentials: found as exp(A) h^-1
    assert sl2.contains(diag(-2.0, -0.5))
    assert sl2.contains(-torch.eye(2, dtype=F64))
    assert not sl2.contains(diag(2.0, 1.0))
    assert not sl2.contains(torch.tensor([[1.0, 1.0], [0.0, 1.1]], dtype=F64))


def test_tori_reject_their_normaliser_and_other_components():
    # split torus diag(e^a, e^b, 1): diag(-1, -1, 1) has det 1, fixes e_3 and normalises the
    # algebra, but is not a positive diagonal matrix
    T = MatrixLieGroup(torch.stack([diag(1.0, 0.0, 0.0), diag(0.0, 1.0, 0.0)]), name="T2")
    assert T.contains(diag(3.0, 0.2, 1.0))
    assert not T.contains(diag(-1.0, -1.0, 1.0))
    swap = torch.tensor([[0.0, 1, 0], [1, 0, 0], [0, 0, 1]], dtype=F64) @ diag(1.0, -1.0, 1.0)
    assert torch.linalg.det(swap) > 0
    assert not T.contains(swap)
    # compact torus SO(2) x SO(2) in R^4: rotations in each plane, by any angle
    J12 = torch.zeros(4, 4, dtype=F64)
    J12[1, 0], J12[0, 1] = 1.0, -1.0
    J34 = J12.roll((2, 2), (0, 1))
    T4 = MatrixLieGroup(torch.stack([J12, J34]), names=("J12", "J34"))
    member = torch.linalg.matrix_exp(2.9 * J12 + math.pi * J34)    # eigenvalue -1 twice
    assert T4.contains(member)
    assert T4.contains(torch.linalg.matrix_exp(5.0 * J12 - 4.0 * J34))
    mix = torch.eye(4, dtype=F64)
    mix[[0, 2]] = mix[[2, 0]]
    mix[0] *= -1    # a rotation by 90 degrees in the (1, 3) plane
    assert not T4.contains(mix)


def test_subgroup_membership_uses_the_logarithm_test():
    """A one-parameter subgroup of SO(3) (rotations about z, with a parent) rejects other
    rotations, accepts rotations about z of any angle, pi included."""
    from liesoft import SO3
    Rz = SO3().subgroup(torch.tensor([[0.0, 0.0, 1.0]]))
    assert Rz.contains(torch.stack([rot_z(a) for a in (0.1, 3.0, math.pi, 5.5)])).all()
    assert not Rz.contains(rotation_matrix(torch.tensor([0.3, 0.0, 0.0], dtype=F64)))


# ---------------------------------------------------------------------------- items 12, 13
@pytest.mark.parametrize("dtype", [torch.float32, F64])
@pytest.mark.parametrize("beta", [0.9, 0.999, 0.99999, 0.9999995])
def test_lorentz_contains_at_large_boosts(dtype, beta):
    L = Lorentz()
    B = L.boost(torch.tensor([[0.6, 0.0, 0.8]], dtype=F64) * beta)
    R = L.rotation(torch.tensor([[0.3, -1.0, 2.0]], dtype=F64))
    g = B @ R
    P, T = diag(1.0, -1.0, -1.0, -1.0), diag(-1.0, 1.0, 1.0, 1.0)
    assert L.contains(g.to(dtype))
    assert not L.contains((P @ g).to(dtype))          # det -1
    assert not L.contains((T @ g).to(dtype))          # det -1, anti-chronous
    assert not L.contains((P @ T @ g).to(dtype))      # det +1, anti-chronous
    off = g.clone()
    off[0, 1:] *= 1.01                                # breaks the metric
    assert not L.contains(off.to(dtype))


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_preserving_group_accepts_large_genuine_elements(dtype):
    eta = diag(1.0, -1.0, -1.0)
    G = MatrixLieGroup.preserving(eta)
    c = 3.0 * torch.randn(300, 3, generator=torch.Generator().manual_seed(0), dtype=F64)
    g = torch.linalg.matrix_exp(torch.einsum("na,aij->nij", c, G.generators))
    size = g.abs().amax((-1, -2))
    g = g[(size > 100) & (size < 1.5e3)]
    assert g.shape[0] >= 20
    assert G.contains(g.to(dtype)).all()
    flip = diag(-1.0, -1.0, 1.0)                      # preserves eta, not orthochronous
    assert not G.contains((flip @ g).to(dtype)).any()
    assert not G.contains((diag(1.0, -1.0, 1.0) @ g).to(dtype)).any()   # det -1
    bent = g.clone()
    bent[:, 1, 2] += 0.01 * g.abs().amax((-1, -2))
    assert not G.contains(bent.to(dtype)).any()


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_logarithm_test_at_large_boosts_of_a_subgroup(dtype):
    """Boosts along z (a subgroup of Lorentz, no invariant form of its own): the logarithm of
    a float32 boost of size 1e3 is only known to ~cond * 1e-7; members are still accepted and
    a boost along x of the same size is not."""
    L = Lorentz()
    Kz = L.subgroup(torch.tensor([[0.0, 0.0, 1.0, 0.0, 0.0, 0.0]]))
    assert Kz.generator_names == ("K_z",)
    beta = torch.tensor([0.9, 0.999, 0.99999, 0.9999995], dtype=F64)
    along_z = L.boost(beta[:, None] * torch.tensor([0.0, 0.0, 1.0], dtype=F64))
    along_x = L.boost(beta[:, None] * torch.tensor([1.0, 0.0, 0.0], dtype=F64))
    assert Kz.contains(along_z.to(dtype)).all()
    assert not Kz.contains(along_x.to(dtype)).any()


# ---------------------------------------------------------------------------- item 2
def sp4():
    J = torch.zeros(4, 4, dtype=F64)
    J[:2, 2:], J[2:, :2] = torch.eye(2), -torch.eye(2)
    return MatrixLieGroup.preserving(J)


def test_default_scale_keeps_non_compact_samples_moderate():
    for G in (sp4(), MatrixLieGroup.preserving(diag(1.0, -1.0, -1.0))):
        assert 0.1 < G.scale < 1.0
        g = G.sample(4000, generator=torch.Generator().manual_seed(0), dtype=F64)
        median = torch.linalg.matrix_norm(g, ord=2).median()
        assert 1.93 < median < 2.07, (G.name, float(median))
        assert G.contains(g).all()
        # an explicit scale is kept
        assert MatrixLieGroup(G.generators, scale=1.0).scale == 1.0


def test_default_scale_is_one_for_compact_and_mild_groups_and_builtins_keep_their_samplers():
    from liesoft import SO3
    so3_generic = MatrixLieGroup(SO3().generators)
    assert so3_generic.scale == 1.0
    assert MatrixLieGroup(torch.eye(3)[None]).scale == 1.0
    # the paper's Lorentz sampler: |beta|^2 uniform on [0, 0.95]
    g = Lorentz().sample(20000, generator=torch.Generator().manual_seed(0), dtype=F64)
    beta2 = 1 - 1 / g[:, 0, 0] ** 2
    assert beta2.max() <= 0.95 + 1e-12
    assert abs(float(beta2.mean()) - 0.475) < 0.01


# ---------------------------------------------------------------------------- item 3
def test_bracket_error_names_the_generators():
    E, F = torch.tensor([[0.0, 1], [0, 0]]), torch.tensor([[0.0, 0], [1, 0]])
    with pytest.raises(ValueError, match=r"\[E, F\] is not in their span"):
        MatrixLieGroup(torch.stack([E, F]), names=("E", "F"))
    with pytest.raises(ValueError, match=r"\[L0, L1\] is not in their span"):
        MatrixLieGroup(torch.stack([E, F]))
    with pytest.raises(ValueError, match=r"\[K_x, K_y\] is not in their span"):
        Lorentz().subgroup(torch.eye(6)[:2])
    with pytest.raises(ValueError, match="names must have 2 entries"):
        MatrixLieGroup(torch.stack([E, F]), names=("E",))


# ---------------------------------------------------------------------------- item 6
def test_declared_families_by_name_or_index():
    L = Lorentz()
    G = MatrixLieGroup(L.generators, names=L.generator_names,
                       families={"boost": ["K_x", "K_y", "K_z"], "rotation": [3, 4, 5]})
    assert G.families() == {"boost": [0, 1, 2], "rotation": [3, 4, 5]}
    assert MatrixLieGroup(L.generators).families() == {"all": list(range(6))}
    with pytest.raises(ValueError, match="unknown generator 'K_w'"):
        MatrixLieGroup(L.generators, names=L.generator_names, families={"b": ["K_w"]})
    with pytest.raises(ValueError, match="by name or by index 0..5"):
        MatrixLieGroup(L.generators, families={"b": [6]})
    with pytest.raises(TypeError, match="non-empty dict"):
        MatrixLieGroup(L.generators, families=["K_x"])


# ---------------------------------------------------------------------------- item 8
def test_first_contains_of_sp10_is_fast():
    n = 5
    J = torch.zeros(2 * n, 2 * n, dtype=F64)
    J[:n, n:], J[n:, :n] = torch.eye(n), -torch.eye(n)
    G = MatrixLieGroup.preserving(J)
    g = G.sample(4, generator=torch.Generator().manual_seed(0), dtype=F64)
    t0 = time.perf_counter()
    ok = G.contains(g)
    elapsed = time.perf_counter() - t0
    assert ok.all()
    assert elapsed < 1.0, f"first contains of Sp(10) took {elapsed:.2f} s"


# ---------------------------------------------------------------------------- item 5
def test_discrete_generators_are_named_and_e3_sample_documents_its_options():
    from liesoft import E3, SO, SO3
    assert SO3().discrete_names == ("P",)
    assert E3().discrete_names == ("P",)
    assert SO(5).discrete_names == ("P",) and SO(4).discrete_names == ("R_0",)
    assert Lorentz().discrete_names == ("P", "T")
    assert torch.equal(SO3().discrete_generators[0], -torch.eye(3, dtype=F64))
    G = MatrixLieGroup(SO3().generators, discrete_generators=-torch.eye(3)[None],
                       discrete_names=("parity",))
    assert G.discrete_names == ("parity",)
    assert MatrixLieGroup(SO3().generators, discrete_generators=-torch.eye(3)[None]
                          ).discrete_names == ("D0",)
    with pytest.raises(ValueError, match="discrete_names must have 1 entries"):
        MatrixLieGroup(SO3().generators, discrete_generators=-torch.eye(3)[None],
                       discrete_names=("P", "T"))
    doc = E3.sample.__doc__
    assert "translation_scale" in doc and "scale=" not in doc
    with pytest.raises(TypeError):
        E3().sample(2, scale=1.0)


def test_structure_constants_of_a_custom_lie_group_name_the_bracket():
    from liesoft import LieGroup

    class NotClosed(LieGroup):
        name = "bad"

        @property
        def generators(self):
            return torch.tensor([[[0.0, 1], [0, 0]], [[0.0, 0], [1, 0]]], dtype=F64)

        @property
        def generator_names(self):
            return ("E", "F")

        def sample(self, n, **kw):
            raise NotImplementedError

        def contains(self, g, atol=None):
            raise NotImplementedError

    with pytest.raises(ValueError, match=r"bad: .*\[E, F\] is not in their span"):
        NotClosed().structure_constants()
