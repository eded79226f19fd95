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
    # return_output=True works at every fraction (issue 30; it raised before): the output is
    # f(x) on the whole batch, the value the penalty's own on its subset
    pen = DeltaSEAL(Lorentz(), Vector4(), fraction=0.5)
    value, out = pen(net, x, return_output=True, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out, net(x))
    assert torch.equal(value, pen(net, x, generator=torch.Generator().manual_seed(0)))
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


# ---------------------------------------------------------------- dtype mismatch (issue 24, 10)
PENALTIES_EVERY_MODE = {
    "gseal": lambda: GSEAL(Lorentz(), Vector4()),
    "gseal_fraction": lambda: GSEAL(Lorentz(), Vector4(), fraction=0.5),
    "dseal_exact_auto": lambda: DeltaSEAL(Lorentz(), Vector4()),
    "dseal_exact_reverse": lambda: DeltaSEAL(Lorentz(), Vector4(), route="reverse"),
    "dseal_exact_forward": lambda: DeltaSEAL(Lorentz(), Vector4(), route="forward"),
    "dseal_exact_forward_ad": lambda: DeltaSEAL(Lorentz(), Vector4(), route="forward_ad"),
    "dseal_random": lambda: DeltaSEAL(Lorentz(), Vector4(), mode="random"),
    "dseal_fd": lambda: DeltaSEAL(Lorentz(), Vector4(), mode="fd"),
    "dseal_fd_sum": lambda: DeltaSEAL(Lorentz(), Vector4(), mode="fd", reduction="sum"),
}


def small_model(dtype, batch_norm=False):
    torch.manual_seed(0)
    layers = [torch.nn.Flatten(), torch.nn.Linear(12, 5)]
    if batch_norm:  # training mode: the penalty's own passes (model_state.py) run the model
        layers.append(torch.nn.BatchNorm1d(5))
    return torch.nn.Sequential(*layers, torch.nn.Tanh(), torch.nn.Linear(5, 1)).to(dtype)


@pytest.mark.parametrize("name", sorted(PENALTIES_EVERY_MODE))
@pytest.mark.parametrize("x_dtype,model_dtype", [(torch.float64, torch.float32),
                                                 (torch.float32, torch.float64)])
@pytest.mark.parametrize("how", ["module", "closure", "batch_norm"])
def test_a_model_of_another_dtype_gets_liesofts_message_naming_both(name, x_dtype,
                                                                   model_dtype, how):
    """float64 data into a float32 model (or the reverse): a TypeError from the penalty naming
    both dtypes and the way out, not PyTorch's raw "mat1 and mat2 must have the same dtype";
    the model is not cast (its parameters keep their dtype) and nothing is trained on."""
    model = small_model(model_dtype, batch_norm=how == "batch_norm")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    f = (lambda z: model(z)) if how == "closure" else model  # noqa: E731
    x = torch.randn(6, 3, 4, dtype=x_dtype)
    pen = PENALTIES_EVERY_MODE[name]()
    kind = type(pen).__name__
    with pytest.raises(TypeError) as info:
        pen(f, x)
    msg = str(info.value)
    assert msg.startswith(f"{kind} evaluates the model on {x_dtype} inputs"), msg
    assert f"parameters/buffers are {model_dtype}" in msg and "never casts" in msg
    assert isinstance(info.value.__cause__, RuntimeError)  # PyTorch's error kept as the cause
    assert all(p.dtype == model_dtype for p in model.parameters())
    for k, v in model.state_dict().items():
        assert v.dtype == before[k].dtype and torch.equal(v, before[k]), k


@pytest.mark.parametrize("name", sorted(PENALTIES_EVERY_MODE))
def test_dtype_errors_of_a_model_the_penalty_cannot_see_and_other_errors(name):
    """A plain function whose weights the penalty cannot see still gets a message naming the
    input's dtype; a RuntimeError that is not about dtypes passes through untouched; a model
    that mixes dtypes inside without failing is never refused (the check reacts to errors,
    it does not guess)."""
    pen = PENALTIES_EVERY_MODE[name]()
    kind = type(pen).__name__
    weight = torch.randn(12, 1)  # float32, reached through a global-like default argument

    def hidden(z, w=None):
        return z.flatten(1) @ weight

    x = torch.randn(6, 3, 4, dtype=torch.float64)
    with pytest.raises(TypeError, match=rf"^{kind} evaluates the model on torch.float64 inputs "
                                        r"and the model raised a dtype error"):
        pen(hidden, x)

    def broken(z):
        raise RuntimeError("the model broke for its own reasons")

    with pytest.raises(RuntimeError, match="^the model broke for its own reasons$"):
        pen(broken, x)
    mixed = small_model(torch.float32)
    value = pen(lambda z: mixed(z.float()).double(), x)  # casts inside: fine
    assert value.dtype == torch.float64 and torch.isfinite(value)
