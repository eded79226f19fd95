"""Bad input to the penalties: clear errors naming what was expected and what was received."""

import pytest
import torch

from liesoft import GSEAL, SO3, DeltaSEAL, Lorentz, MatrixLieGroup, Scalar, Vector, Vector4

F64 = torch.float64
BOTH = [GSEAL, DeltaSEAL]


def net(x):
    return x.pow(2).sum(-1)


@pytest.mark.parametrize("cls", BOTH)
def test_input_shape_dtype_and_output_shape(cls):
    pen = cls(Lorentz(), Vector4(), Scalar())
    with pytest.raises(ValueError, match=r"x must have shape \(B, \.\.\., 4\).*got \(8, 3\)"):
        pen(net, torch.randn(8, 3))
    with pytest.raises(TypeError, match="x must be a floating-point tensor, got dtype torch.int64"):
        pen(net, torch.ones(8, 4, dtype=torch.int64))
    with pytest.raises(TypeError, match="x must be a torch.Tensor, got list"):
        pen(net, [[1.0, 0, 0, 0]])
    with pytest.raises(ValueError, match="empty batch"):
        pen(net, torch.zeros(0, 4))
    vec = cls(Lorentz(), Vector4(), Vector4())
    with pytest.raises(ValueError, match=r"model output must have shape \(8, \.\.\., 4\) for "
                                         r"out_rep Vector4\(\), got \(8, 3\)"):
        vec(lambda p: p[..., :3], torch.randn(8, 4))
    with pytest.raises(ValueError, match=r"model output must have shape \(8, \.\.\.\).*got \(\)"):
        pen(lambda p: p.sum(), torch.randn(8, 4))
    with pytest.raises(TypeError, match="model output must be a torch.Tensor, got tuple"):
        pen(lambda p: (p,), torch.randn(8, 4))


@pytest.mark.parametrize("cls", BOTH)
def test_configuration_errors(cls):
    for bad in (0, 0.0, -0.5, 1.5, True):
        with pytest.raises(ValueError, match=r"fraction must lie in \(0, 1\]"):
            cls(Lorentz(), Vector4(), fraction=bad)
    with pytest.raises(ValueError, match="Vector4 acts on 4-vectors.*got 3x3"):
        cls(SO3(), Vector4())
    with pytest.raises(TypeError, match="group must be a liesoft LieGroup, got str"):
        cls("lorentz", Vector4())
    with pytest.raises(TypeError, match="in_rep must be a liesoft Representation"):
        cls(Lorentz(), 4)


def test_penalty_specific_errors():
    with pytest.raises(ValueError, match=r"mode must be one of \('exact', 'random', 'fd'\), got 'exat'"):
        DeltaSEAL(Lorentz(), Vector4(), mode="exat")
    with pytest.raises(ValueError, match="route must be one of"):
        DeltaSEAL(Lorentz(), Vector4(), route="sideways")
    with pytest.raises(ValueError, match="unknown generator 'K_w'"):
        DeltaSEAL(Lorentz(), Vector4(), generators=["K_w"])
    with pytest.raises(ValueError, match=r"generator index must be an int in \[0, 6\), got 6"):
        DeltaSEAL(Lorentz(), Vector4(), generators=[6])
    with pytest.raises(ValueError, match="eps must be a number in"):
        DeltaSEAL(Lorentz(), Vector4(), mode="fd", eps=0)
    with pytest.raises(ValueError, match=r"beta_max must lie in the open interval"):
        GSEAL(Lorentz(), Vector4(), beta_max=1.2)
    with pytest.raises(TypeError):
        GSEAL(Lorentz(), Vector4(), speed=0.5)
    x = torch.randn(8, 4, dtype=F64)
    with pytest.raises(ValueError, match="return_output=True needs fraction=1"):
        DeltaSEAL(Lorentz(), Vector4(), fraction=0.5)(net, x, return_output=True)
    with pytest.raises(ValueError, match="compute fx from an x with requires_grad=True"):
        DeltaSEAL(Lorentz(), Vector4())(net, x, fx=net(x))
    with pytest.raises(ValueError, match=r"fx must have shape \(8, \.\.\.\)"):
        GSEAL(Lorentz(), Vector4())(net, x, fx=torch.zeros(3))
    with pytest.raises(ValueError, match="extra argument 0 must be a per-sample tensor"):
        GSEAL(Lorentz(), Vector4())(lambda p, m: net(p), x, torch.ones(3))
    with pytest.raises(ValueError, match="has no discrete generators"):
        GSEAL(MatrixLieGroup(SO3().generators), Vector(), discrete=True)


@pytest.mark.parametrize("make", [
    lambda: GSEAL(Lorentz(), Vector4(), Vector4()),
    lambda: DeltaSEAL(Lorentz(), Vector4(), Vector4()),
    lambda: DeltaSEAL(Lorentz(), Vector4(), Vector4(), mode="random", fraction=0.5),
    lambda: DeltaSEAL(Lorentz(), Vector4(), Vector4(), mode="fd"),
])
def test_penalty_never_modifies_x_in_place(make):
    x = torch.randn(8, 5, 4, dtype=F64)
    before = x.clone()
    lin = torch.nn.Linear(4, 4).double()
    make()(lin, x).backward()
    assert torch.equal(x, before) and x.grad is None and not x.requires_grad
