"""The public API for user representations and the parity-odd reps (issue 24, item 7)."""

import pytest
import torch

from liesoft import (
    E3,
    GSEAL,
    SO3,
    AxialVector,
    DeltaSEAL,
    Lorentz,
    MatrixLieGroup,
    Product,
    Pseudoscalar,
    Representation,
    Scalar,
    Vector,
    Vector4,
)

F64 = torch.float64


class Weight(Representation):
    """Weight-k rep of dilations written with the public names only."""

    def __init__(self, k):
        super().__init__()
        self.k = k

    def shape(self, d):
        return ()

    def rho(self, g):
        return torch.linalg.det(g).pow(self.k / g.shape[-1])[..., None, None]

    def drho(self, A):
        return (self.k / A.shape[-1]) * torch.diagonal(A, dim1=-2, dim2=-1).sum(-1)[
            ..., None, None]

    def _key(self):
        return (self.k,)


class SymmetricTraceless(Representation):
    """5 components of a symmetric traceless 3x3 matrix under SO(3), via the public API."""

    def shape(self, d):
        if d != 3:
            raise ValueError(f"needs d = 3, got {d}")
        return (3, 3)

    def rho(self, g):
        return _kron(g, g)

    def drho(self, A):
        eye = torch.eye(3, dtype=A.dtype, device=A.device)
        return _kron(A, eye) + _kron(eye, A)


def _kron(a, b):
    out = a[..., :, None, :, None] * b[..., None, :, None, :]
    return out.reshape(*out.shape[:-4], 9, 9)


DILATIONS = MatrixLieGroup(torch.eye(3)[None], name="dilations")


def test_user_rep_with_public_names_acts_and_composes():
    w = Weight(2)
    assert w.shape(3) == () and w.bind(DILATIONS).shape() == () and w.size(3) == 1
    lam = torch.tensor([2.0, 0.5], dtype=F64)
    g = lam[:, None, None] * torch.eye(3, dtype=F64)
    x = torch.tensor([1.5, -1.0], dtype=F64)
    assert torch.allclose(w.act(g, x), lam**2 * x, rtol=1e-14)     # weight 2: lambda^2
    A = 0.3 * torch.eye(3, dtype=F64)
    assert torch.allclose(w.infinitesimal(A, x), 2 * 0.3 * x, rtol=1e-14)
    # composes: a vector plus a weight-2 scalar, and a vector times it
    v = torch.randn(2, 3, dtype=F64)
    both = (Vector() + w).act(g, torch.cat([v, x[:, None]], -1))
    assert torch.allclose(both, torch.cat([lam[:, None] * v, (lam**2 * x)[:, None]], -1))
    scaled = (Vector() * w).act(g, v)
    assert torch.allclose(scaled, lam[:, None] ** 3 * v)
    assert Weight(2) == Weight(2) and Weight(2) != Weight(3)
    assert w.verify(DILATIONS)["homomorphism"] < 1e-12
    # checked before the user's code sees them
    with pytest.raises(TypeError, match="floating-point"):
        w.rho(torch.eye(3, dtype=torch.int64))
    with pytest.raises(ValueError, match="batch of 2 elements"):
        w.act(g, torch.zeros(5, dtype=F64))
    with pytest.raises(TypeError, match=r"shape\(d\) must return a tuple"):
        type("Bad", (Weight,), {"shape": lambda self, d: 3})(1).shape(3)


def test_user_rep_in_penalties_and_verify_catches_a_wrong_drho():
    """|x|^2 has weight 2 under dilations: GSEAL and δSEAL vanish with out_rep=Weight(2) and
    not with Scalar; a rep whose drho has the wrong factor fails verify."""
    x = torch.randn(32, 3, generator=torch.Generator().manual_seed(0), dtype=F64)
    f = lambda v: (v * v).sum(-1)  # noqa: E731
    for P in (GSEAL, DeltaSEAL):
        assert P(DILATIONS, Vector(), Weight(2))(f, x) < 1e-20
        assert P(DILATIONS, Vector(), Scalar())(f, x) > 1e-2
        assert P(DILATIONS, Vector(), Weight(1))(f, x) > 1e-2
    rep = SymmetricTraceless()
    assert max(rep.verify(SO3()).values()) < 1e-9
    outer = lambda v: v[..., :, None] * v[..., None, :]  # noqa: E731
    assert GSEAL(SO3(), Vector(), rep)(outer, x) < 1e-25

    class WrongDrho(Weight):
        def drho(self, A):
            return 2 * super().drho(A)

    with pytest.raises(AssertionError, match="derivative error"):
        WrongDrho(2).verify(DILATIONS)

    class NotHomomorphism(SymmetricTraceless):
        def rho(self, g):
            return _kron(g, g.transpose(-1, -2))

    with pytest.raises(AssertionError, match="homomorphism error"):
        NotHomomorphism().verify(SO3())

    class ForgetsParity(Representation):
        """rho(g) = g on SO(3) but the identity for improper g: not a rep of O(3)."""

        def shape(self, d):
            return (d,)

        def rho(self, g):
            eye = torch.eye(g.shape[-1], dtype=g.dtype).expand_as(g)
            return torch.where((torch.linalg.det(g) > 0)[..., None, None], g, eye)

        def drho(self, A):
            return A

    with pytest.raises(AssertionError, match="homomorphism error"):
        ForgetsParity().verify(SO3())


def triple(x):
    """x . (y x z) for the rows of x (B, 3, 3)."""
    return torch.linalg.det(x)


def test_triple_product_is_a_pseudoscalar():
    x = torch.randn(2048, 3, 3, generator=torch.Generator().manual_seed(0), dtype=F64)
    gen = lambda: torch.Generator().manual_seed(1)  # noqa: E731
    odd = GSEAL(SO3(), Vector(), Pseudoscalar(), discrete=True)(triple, x, generator=gen())
    even = GSEAL(SO3(), Vector(), Scalar(), discrete=True)(triple, x, generator=gen())
    assert odd < 1e-25
    # half the draws flip the sign: mean |2 t|^2 / 2 = 2 E[t^2] = 2 * 3! = 12 for unit normals
    assert 10 < even < 14
    assert GSEAL(SO3(), Vector(), Scalar())(triple, x, generator=gen()) < 1e-25
    # under E(3) points: (b - a) . ((c - a) x (d - a)) is a pseudoscalar too (a volume)
    pts = torch.randn(512, 4, 3, generator=torch.Generator().manual_seed(2), dtype=F64)
    vol = lambda p: torch.linalg.det(p[:, 1:] - p[:, :1])  # noqa: E731
    from liesoft import Point
    assert GSEAL(E3(), Point(), Pseudoscalar(), discrete=True)(vol, pts, generator=gen()) < 1e-22
    assert GSEAL(E3(), Point(), Scalar(), discrete=True)(vol, pts, generator=gen()) > 1


def test_cross_product_is_an_axial_vector_and_parity_composes():
    x = torch.randn(1024, 2, 3, generator=torch.Generator().manual_seed(0), dtype=F64)
    cross = lambda v: torch.linalg.cross(v[:, 0], v[:, 1])  # noqa: E731
    gen = lambda: torch.Generator().manual_seed(1)  # noqa: E731
    assert GSEAL(SO3(), Vector(), AxialVector(), discrete=True)(cross, x, generator=gen()) < 1e-25
    assert GSEAL(SO3(), Vector(), Vector(), discrete=True)(cross, x, generator=gen()) > 1
    # composition rules and the matrices under parity P = -1
    P = -torch.eye(3, dtype=F64)
    assert Pseudoscalar() * Pseudoscalar() == Scalar()
    assert Vector() * Pseudoscalar() == AxialVector() and Pseudoscalar() * Vector() == AxialVector()
    assert AxialVector() * Pseudoscalar() == Vector()
    assert torch.equal(Pseudoscalar().rho(P), -torch.ones(1, 1, dtype=F64))
    assert torch.equal(AxialVector().rho(P), torch.eye(3, dtype=F64))
    R = SO3().sample(4, generator=gen(), dtype=F64)
    assert torch.equal(AxialVector().rho(R), R)
    assert torch.equal(Pseudoscalar().drho(SO3().generators), torch.zeros(3, 1, 1, dtype=F64))
    # (pseudoscalar + axial vector) and vector x axial vector under parity
    s = Pseudoscalar() + AxialVector()
    assert torch.equal(s.rho(P), torch.diag(torch.tensor([-1.0, 1, 1, 1], dtype=F64)))
    t = Vector() * AxialVector()
    assert isinstance(t, Product) and torch.equal(t.rho(P), -torch.eye(9, dtype=F64))
    # E(3): parity diag(-1, -1, -1, 1) acts on the linear part
    Pe = torch.diag(torch.tensor([-1.0, -1, -1, 1], dtype=F64))
    ax = AxialVector().bind(E3())
    assert torch.equal(ax.rho(Pe), torch.eye(3, dtype=F64))
    assert ax.shape() == (3,)
    # float32 data: computed in float64, rounded once
    v32 = torch.randn(4, 3)
    assert torch.equal(AxialVector().act(P.float(), v32), v32)
    assert torch.equal(Pseudoscalar().act(P.float(), v32[:, 0]), -v32[:, 0])


def test_lorentz_pseudoscalar_is_odd_under_p_and_t():
    """eps_{mu nu rho sigma} p1 p2 p3 p4 = det of the four momenta: odd under P and T."""
    p = torch.randn(256, 4, 4, generator=torch.Generator().manual_seed(0), dtype=F64)
    gen = lambda: torch.Generator().manual_seed(1)  # noqa: E731
    eps4 = torch.linalg.det
    assert GSEAL(Lorentz(), Vector4(), Pseudoscalar(), discrete=True)(eps4, p, generator=gen()) < 1e-18
    assert GSEAL(Lorentz(), Vector4(), Scalar(), discrete=True)(eps4, p, generator=gen()) > 1
