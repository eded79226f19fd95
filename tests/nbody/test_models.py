"""N-body models and their SEAL wrappers (examples/nbody/models).

Tolerances: an exactly equivariant model's float64 copy is equivariant to 1e-12 relative
(rounding); the float32 model's error ``|f32(g·x) − g·f32(x)|`` per particle is bounded by
``dev(g·x) + dev(x) + err64 + 4 eps32 |out|``, where ``dev`` is the float32 model's own
deviation from its float64 copy (``R`` preserves norms, the translation cancels): float32
rounding, measured, not guessed.

Planted bugs, each killed by the test named (replayed by hand with the edit in brackets):
* positions as free vectors [IN_REP = Vector() + Vector() + Scalar()]:
  test_mixed_rep_act_is_hand_written, test_gseal_is_hand_written;
* EGNN's h⁰ from a velocity component instead of its norm [vel[..., :1]]:
  test_egnn_equivariant_at_float32_rounding;
* EGNN's coordinate update along the position, not a difference [x + phi(h) * x ...]:
  test_egnn_equivariant_at_float32_rounding;
* FieldEGNN reading the field's z component as a scalar [force[..., 2:3]]:
  test_egnn_equivariant_at_float32_rounding;
* the uniform field's subgroup about x [spurion (1, 0, 0, 0)]: test_subgroup_penalty;
All 6 killed; a control, EGNN's mean over N instead of N − 1 (still equivariant), passes.
"""

import copy

import pytest
import torch

from examples.nbody.models import (
    EGNN,
    GNN,
    IN_REP,
    METHODS,
    OUT_REP,
    FieldEGNN,
    field_subgroup,
    pack,
)
from liesoft import E3, GSEAL, DeltaSEAL

EPS32 = torch.finfo(torch.float32).eps
G = E3()
IN, OUT = IN_REP.bind(G), OUT_REP.bind(G)


def batch(b=16, dtype=torch.float32, seed=0):
    gen = torch.Generator().manual_seed(seed)
    pos = 1.6 * torch.randn(b, 5, 3, generator=gen, dtype=torch.float64)
    vel = 0.5 * torch.randn(b, 5, 3, generator=gen, dtype=torch.float64)
    charge = torch.randint(0, 2, (b, 5), generator=gen).double() * 2 - 1
    return pack(pos, vel, charge).to(dtype)


def elements(b, seed=1):
    return G.sample(b, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_mixed_rep_act_is_hand_written():
    x, g = batch(dtype=torch.float64), elements(16)
    R, t = g[:, :3, :3], g[:, :3, 3]
    out = IN.act(g, x)
    torch.testing.assert_close(out[..., :3], torch.einsum("bij,bnj->bni", R, x[..., :3])
                               + t[:, None], rtol=0, atol=1e-13)
    torch.testing.assert_close(out[..., 3:6], torch.einsum("bij,bnj->bni", R, x[..., 3:6]),
                               rtol=0, atol=1e-13)
    torch.testing.assert_close(out[..., 6], x[..., 6], rtol=0, atol=0)
    torch.testing.assert_close(OUT.act(g, x[..., :3]), out[..., :3], rtol=0, atol=0)


def test_mixed_rep_infinitesimal_is_the_derivative():
    """δSEAL's tangent ``infinitesimal(L_a, x)`` is the central difference of ``act`` along
    each generator (error h² ~ 1e-10)."""
    x, h = batch(dtype=torch.float64), 1e-5
    for L in G.generators:
        fd = (IN.act(torch.linalg.matrix_exp(h * L), x)
              - IN.act(torch.linalg.matrix_exp(-h * L), x)) / (2 * h)
        torch.testing.assert_close(IN.infinitesimal(L, x), fd, rtol=0, atol=1e-8)
    assert IN.infinitesimal(G.generators[3], x)[..., :3].eq(1.0)[..., 0].all()  # T_x moves x


def float64_copy(model):
    return copy.deepcopy(model).double()


def per_particle(d):
    return d.norm(dim=-1).max()


def check_exact(model, force=None):
    x, g = batch(), elements(16)
    x64 = x.double()
    f32 = None if force is None else force.float()

    def rot(f):
        return None if f is None else torch.einsum("bij,bnj->bni", g[:, :3, :3].to(f), f)

    def call(m, xx, ff):
        return m(xx) if ff is None else m(xx, ff)

    m64 = float64_copy(model)
    with torch.no_grad():
        y, gy = call(model, x, f32), call(model, IN.act(g, x), rot(f32))
        y64, gy64 = call(m64, x64, force), call(m64, IN.act(g, x64), rot(force))
    err64 = per_particle(gy64 - OUT.act(g, y64))
    assert err64 < 1e-12 * y64.abs().max(), err64
    err32 = per_particle(gy - OUT.act(g, y))
    bound = per_particle(y - y64) + per_particle(gy - gy64) + err64 + 4 * EPS32 * y.abs().max()
    assert err32 <= bound, (err32, bound)
    assert err32 < 1e-4 * y.abs().max()
    return err32


@pytest.mark.parametrize("kind", ["egnn", "egnn_field"])
def test_egnn_equivariant_at_float32_rounding(kind):
    torch.manual_seed(0)
    if kind == "egnn":
        check_exact(EGNN())
    else:   # the field transformed with the data: a given force per particle (a vector)
        force = torch.randn(16, 5, 3, generator=torch.Generator().manual_seed(5),
                            dtype=torch.float64)
        check_exact(FieldEGNN("uniform", 0.3), force)


def test_gnn_clearly_not_equivariant():
    torch.manual_seed(0)
    model, x, g = GNN(), batch(), elements(16)
    with torch.no_grad():
        err = per_particle(model(IN.act(g, x)) - OUT.act(g, model(x)))
    assert err > 0.1


def penalties():
    return {"gseal": GSEAL(G, IN_REP, OUT_REP), "dseal": DeltaSEAL(G, IN_REP, OUT_REP)}


@pytest.mark.parametrize("name", ["gseal", "dseal"])
def test_penalty_vanishes_on_egnn_not_on_gnn(name):
    """≈ 0 on EGNN (float64: 1e-20; float32: the square of 1e3 eps32 × the output scale) and
    clearly > 0 (1e-2) on the GNN."""
    torch.manual_seed(0)
    pen, x = penalties()[name], batch()
    egnn = EGNN()

    def gen():
        return torch.Generator().manual_seed(2)

    v32 = pen(egnn, x, generator=gen()).item()
    v64 = pen(float64_copy(egnn), x.double(), generator=gen()).item()
    scale = x[..., :3].abs().max().item()
    assert v64 < 1e-20
    assert v32 < (1e3 * EPS32 * scale) ** 2, v32
    assert pen(GNN(), x, generator=gen()).item() > 1e-2


def test_gseal_is_hand_written():
    """GSEAL over the mixed input is mean_b Σ_{n,k} |f(R x + t, R v, q) − (R f + t)|² with the
    elements the penalty drew (float64)."""
    torch.manual_seed(0)
    model, x = GNN().double(), batch(dtype=torch.float64)
    pen = GSEAL(G, IN_REP, OUT_REP)
    value = pen(model, x, generator=torch.Generator().manual_seed(3))
    g = pen.sample(x.shape[0], x.device, torch.Generator().manual_seed(3))
    R, t = g[:, :3, :3], g[:, :3, 3]

    def rot(v):
        return torch.einsum("bij,bnj->bni", R, v)

    moved = pack(rot(x[..., :3]) + t[:, None], rot(x[..., 3:6]), x[..., 6])
    want = (model(moved) - rot(model(x)) - t[:, None]).pow(2).sum((1, 2)).mean()
    torch.testing.assert_close(value, want, rtol=1e-12, atol=0)


def test_dseal_is_hand_written():
    """δSEAL = mean over the six generators of mean_b |J ξ_a − (a f + b)|², with the tangent
    ξ_a = (a x + b, a v, 0) (float64, by forward-mode jvp)."""
    torch.manual_seed(0)
    model, x = GNN().double(), batch(b=6, dtype=torch.float64)
    value = DeltaSEAL(G, IN_REP, OUT_REP)(model, x)
    terms = []
    for L in G.generators:
        a, b = L[:3, :3], L[:3, 3]
        xi = torch.cat([x[..., :3] @ a.T + b, x[..., 3:6] @ a.T, torch.zeros_like(x[..., 6:])],
                       dim=-1)
        fx, jxi = torch.func.jvp(model, (x,), (xi,))
        terms.append((jxi - fx @ a.T - b).pow(2).sum((1, 2)).mean())
    torch.testing.assert_close(value, torch.stack(terms).mean(), rtol=1e-10, atol=0)


def test_subgroup_penalty():
    """The uniform field leaves rotations about z and translations; the trap rotations about
    the origin. FieldEGNN with the field fixed in the lab is equivariant under exactly
    those: GSEAL on the field's subgroup ≈ 0 (float64), under all of E(3) clearly not."""
    assert field_subgroup("uniform").generator_names == ("J_z", "T_x", "T_y", "T_z")
    assert field_subgroup("trap").generator_names == ("J_x", "J_y", "J_z")
    assert field_subgroup(None).n_generators == 6
    x = batch(dtype=torch.float64)
    for field in ("uniform", "trap"):
        torch.manual_seed(0)
        model = FieldEGNN(field, 1.0).double()
        sub = GSEAL(field_subgroup(field), IN_REP, OUT_REP)
        assert sub(model, x, generator=torch.Generator().manual_seed(4)).item() < 1e-20
        assert GSEAL(G, IN_REP, OUT_REP)(model, x).item() > 1e-3
        assert METHODS["gseal_sub"].penalty(field).group.generator_names == \
            field_subgroup(field).generator_names


def test_every_method_builds_and_maps_shapes():
    x = batch(b=3)
    for method in METHODS.values():
        model = method.build("uniform", 0.3)
        assert model(x).shape == (3, 5, 3), method.name
