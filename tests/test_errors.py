"""Every bad input gets a clear exception naming what was expected and what was received."""

import pytest
import torch

from liesoft import (
    E3,
    SO,
    SO3,
    Dual,
    Lorentz,
    MatrixLieGroup,
    Point,
    Product,
    Scalar,
    Tensor,
    Vector,
    Vector4,
)

F64 = torch.float64


def test_matrix_lie_group_checks_its_generators():
    J = SO3().generators
    with pytest.raises(ValueError, match="linearly independent.*3 matrices spanning only 2"):
        MatrixLieGroup(torch.stack([J[0], J[1], J[0] + J[1]]))
    with pytest.raises(ValueError, match="not closed under the bracket"):
        MatrixLieGroup(J[:2])
    with pytest.raises(ValueError, match=r"shape \(n, d, d\).*got \(1, 2, 3\)"):
        MatrixLieGroup(torch.zeros(1, 2, 3))
    with pytest.raises(ValueError, match="non-finite"):
        MatrixLieGroup(torch.full((1, 2, 2), float("nan")))
    with pytest.raises(ValueError, match="zero last row"):
        MatrixLieGroup(J, affine=True)
    with pytest.raises(ValueError, match="scale must be a positive"):
        MatrixLieGroup(J, scale=0)
    with pytest.raises(ValueError, match="names must have 3 entries, got 2"):
        MatrixLieGroup(J, names=["a", "b"])


def test_lorentz_sampler_and_boost_reject_bad_values():
    L = Lorentz()
    for bad in (0, 0.0, 1.0, 1.5, -0.1):
        with pytest.raises(ValueError, match=r"beta_max must lie in the open interval \(0, 1\)"):
            L.sample(3, beta_max=bad)
    with pytest.raises(ValueError, match="distribution must be"):
        L.sample(3, distribution="uniform")
    with pytest.raises(ValueError, match=r"\|beta\| < 1, got max \|beta\| = 1"):
        L.boost(torch.tensor([1.0, 0.0, 0.0]))
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 3\), got \(4,\)"):
        L.boost(torch.zeros(4))
    with pytest.raises(TypeError, match="floating-point.*int64"):
        L.boost(torch.zeros(3, dtype=torch.int64))
    with pytest.raises(TypeError, match="unexpected keyword|sampler options"):
        L.sample(3, beta=0.5)
    with pytest.raises(ValueError, match="n must be a non-negative int, got -1"):
        L.sample(-1)
    with pytest.raises(TypeError, match="dtype must be a floating"):
        L.sample(2, dtype=torch.int32)


def test_group_methods_check_shapes_and_dtypes():
    L = Lorentz()
    with pytest.raises(ValueError, match=r"A must have shape \(\.\.\., 4, 4\).*got \(3, 3\)"):
        L.exp(torch.zeros(3, 3))
    with pytest.raises(TypeError, match="A must be a floating-point tensor"):
        L.exp(torch.zeros(4, 4, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"g must have shape \(4, 4\) or \(B, 4, 4\).*\(3, 3\)"):
        L.contains(torch.eye(3))
    with pytest.raises(ValueError, match=r"coefficients must have shape \(\.\.\., 6\)"):
        L.algebra_element(torch.zeros(3))
    with pytest.raises(ValueError, match=r"vector 0 must have shape \(4,\).*got \(3,\)"):
        L.stabilizer(torch.zeros(3))
    with pytest.raises(ValueError, match="at least one vector"):
        L.preserving_subspace()
    with pytest.raises(ValueError, match="square"):
        MatrixLieGroup.preserving(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="SO\\(n\\) needs an integer n >= 2"):
        SO(1)
    with pytest.raises(ValueError, match="translation_scale"):
        E3().sample(2, translation_scale=-1.0)
    with pytest.raises(ValueError, match="scale must be a positive finite"):
        MatrixLieGroup(SO3().generators).sample(2, scale=-1.0)


def test_representations_reject_bad_input():
    L, S = Lorentz(), SO3()
    g = L.sample(2, dtype=F64)
    with pytest.raises(ValueError, match=r"x must have shape \(B, \.\.\., 4\).*got \(2, 3\)"):
        Vector4().act(g, torch.zeros(2, 3, dtype=F64))
    with pytest.raises(TypeError, match="x must be a floating-point tensor, got dtype torch.int64"):
        Vector4().act(g, torch.zeros(2, 4, dtype=torch.int64))
    with pytest.raises(ValueError, match="Vector4 acts on 4-vectors.*got 3x3"):
        Vector4().act(S.sample(2), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="Vector4 acts on 4-vectors.*got 3x3"):
        Vector4().bind(S)
    with pytest.raises(ValueError, match="Point needs an affine group.*SO\\(1,3\\)\\+"):
        Point().bind(L)
    with pytest.raises(ValueError, match=r"bound to SO\(3\).*\(3, 3\) matrices, got \(2, 4, 4\)"):
        Vector().bind(S).act(g, torch.zeros(2, 4, dtype=F64))
    with pytest.raises(ValueError, match="batch of 2 elements.*expected x.shape\\[0\\] == 2"):
        Vector4().act(g, torch.zeros(3, 4, dtype=F64))
    with pytest.raises(TypeError, match="Dual needs a linear"):
        Dual(Point())
    with pytest.raises(TypeError, match="tensor products need linear"):
        Product(Vector(), Point())
    with pytest.raises(TypeError, match="rho needs linear summands"):
        (Point() + Vector()).bind(E3()).rho(E3().sample(1))
    with pytest.raises(ValueError, match="Tensor\\(p, q\\) needs integers >= 0, got p=-1"):
        Tensor(-1, 0)
    with pytest.raises(ValueError, match="not bound to a group"):
        Vector().shape()
    with pytest.raises(ValueError, match="k \\* rep needs k >= 1"):
        0 * Vector()
    with pytest.raises(TypeError):
        Vector() + 3
    with pytest.raises(TypeError, match="g must be a torch.Tensor"):
        Scalar().act([[1.0]], torch.zeros(2))
