"""Groups (issue 30): ``sample`` is a template (the checks once; a group writes its ``_draw``),
``Sampler`` is the group + options object GSEAL draws with, ``select_generators`` the one reader
of generator selections (δSEAL, the audit, ``MatrixLieGroup(families=)``)."""

import pytest
import torch

from liesoft import (
    E3,
    GSEAL,
    SO,
    SO3,
    DeltaSEAL,
    LieGroup,
    Lorentz,
    MatrixLieGroup,
    Sampler,
    Vector4,
)
from liesoft.groups.expm import exp_near_identity, matrix_exp

F64 = torch.float64


def seeded(s):
    return torch.Generator().manual_seed(s)


@pytest.mark.parametrize("discrete", [False, True])
@pytest.mark.parametrize("options", [{}, {"beta_max": 0.5, "rotations": True}])
def test_sampler_draws_what_gseal_draws(discrete, options):
    pen = GSEAL(Lorentz(), Vector4(), discrete=discrete, **options)
    sampler = Lorentz().sampler(discrete=discrete, **options)
    assert torch.equal(sampler.sample(9, generator=seeded(2), dtype=F64),
                       pen.sample(9, "cpu", seeded(2)))
    assert pen.sampler_options == sampler.options == options
    g32 = sampler.sample(9, generator=seeded(2))        # composed in float64, cast once
    assert g32.dtype == torch.get_default_dtype()
    assert torch.equal(g32, sampler.sample(9, generator=seeded(2), dtype=F64).float())
    assert "Sampler(SO(1,3)+" in repr(sampler)


def test_sampler_checks_at_construction():
    rng = torch.get_rng_state()
    with pytest.raises(ValueError, match="beta_max must lie in the open interval"):
        Sampler(Lorentz(), beta_max=1.5)
    with pytest.raises(TypeError):
        Sampler(Lorentz(), speed=0.5)
    with pytest.raises(ValueError, match="has no discrete generators"):
        Sampler(MatrixLieGroup(SO3().generators), discrete=True)
    with pytest.raises(TypeError, match="group must be a liesoft LieGroup, got str"):
        Sampler("SO3")
    assert torch.equal(torch.get_rng_state(), rng)


def test_sample_is_a_template_the_checks_written_once():
    for group in (Lorentz(), SO3(), SO(4), E3(), MatrixLieGroup(SO3().generators)):
        with pytest.raises(ValueError, match="n must be a non-negative int"):
            group.sample(-1)
        with pytest.raises(TypeError, match="dtype must be a floating"):
            group.sample(2, dtype=torch.int64)
        with pytest.raises(TypeError, match="generator must be a torch.Generator or None"):
            group.sample(2, generator=3)
        g = group.sample(3, generator=seeded(0), dtype=F64)
        assert g.shape == (3, group.dim, group.dim) and g.dtype == F64
        assert torch.equal(g.float(), group.sample(3, generator=seeded(0), dtype=torch.float32))
        assert group.sample_discrete(2, dtype=F64).shape == (2, group.dim, group.dim)


def test_a_group_writes_only_its_draw():
    class Turns(MatrixLieGroup):
        def __init__(self):
            super().__init__(torch.tensor([[[0.0, -1.0], [1.0, 0.0]]]), name="turns")

        def _draw(self, n, generator, device, turns=1):
            """Quarter turns: the option ``turns``."""
            q = torch.tensor([[0.0, -1.0], [1.0, 0.0]], dtype=F64, device=device)
            return torch.linalg.matrix_power(q, turns).expand(n, -1, -1)

    g = Turns().sample(2, turns=2, dtype=torch.float32)
    assert torch.equal(g, -torch.eye(2).expand(2, -1, -1)) and g.dtype == torch.float32
    assert "Quarter turns" in Turns.sample.__doc__ and "generator=None" in Turns.sample.__doc__
    with pytest.raises(ValueError, match="n must be"):
        Turns().sample(1.5)

    class NoDraw(LieGroup):
        generators = SO3().generators

        def contains(self, g, atol=None):
            return torch.ones(g.shape[:-2], dtype=torch.bool)

    with pytest.raises(NotImplementedError, match="implement _draw"):
        NoDraw().sample(1)


def test_select_generators_is_the_one_reader():
    L = Lorentz()
    sel = L.select_generators(["K_x", 4])
    assert sel.names == ("K_x", "J_y") and sel.indices == [0, 4]
    assert torch.equal(sel.matrices, L.generators[[0, 4]])
    assert L.select_generators("boost").indices == [0, 1, 2]
    assert L.select_generators("J_z").indices == [5] and L.select_generators(2).indices == [2]
    assert L.select_generators().indices == list(range(6))
    A = torch.randn(2, 4, 4, dtype=torch.float32)
    sel = L.select_generators(A)
    assert sel.names is None and sel.indices is None and torch.equal(sel.matrices, A.double())
    for penalty_gens in ("boost", ["K_x", 4], A):
        assert torch.equal(DeltaSEAL(L, Vector4(), generators=penalty_gens).algebra,
                           L.select_generators(penalty_gens).matrices)
    with pytest.raises(ValueError, match=r"generators: unknown generator 'K_w' for SO\(1,3\)\+"):
        L.select_generators(["K_w"])
    with pytest.raises(ValueError, match=r"generator index must be an int in \[0, 6\), got 6"):
        L.select_generators([6])
    with pytest.raises(ValueError, match=r"\(k, 4, 4\) tensor"):
        L.select_generators(torch.zeros(2, 3, 3))
    with pytest.raises(ValueError, match=r"\(k, 4, 4\) tensor, got \[\]"):
        L.select_generators([])
    with pytest.raises(TypeError, match="floating-point"):
        L.select_generators(torch.zeros(2, 4, 4, dtype=torch.int64))
    fams = L.select_families({"b": ["K_z"], "r": "rotation"})
    assert fams["b"].indices == [2] and fams["r"].indices == [3, 4, 5]
    with pytest.raises(TypeError, match="family names must be strings"):
        L.select_families({1: ["K_z"]})


def test_one_matrix_exponential():
    """fd's near-identity exponential is the library's, at degree 6 and one decision per
    batch; the series is bit for bit the degree-6 sum below its bound."""
    A = 0.01 * Lorentz().algebra_element(torch.randn(8, 6, dtype=F64, generator=seeded(0)))
    eye = torch.eye(4, dtype=F64)
    total, term = eye + A, A
    for k in range(2, 7):
        term = term @ A / k
        total = total + term
    assert torch.equal(exp_near_identity(A), total)
    mixed = A.clone()
    mixed[3] = 100 * A[3]
    assert torch.equal(exp_near_identity(mixed), torch.linalg.matrix_exp(mixed))
    per_matrix = matrix_exp(mixed, degree=6, radius=0.05, ord=float("inf"))
    assert torch.equal(per_matrix[:3], total[:3])
    assert torch.equal(per_matrix[3], torch.linalg.matrix_exp(mixed[3]))
