"""δSEAL's ``reduction``: the paper's top-tagging code sums the squared Lie derivatives over
the generators, eq. 10 averages them; ``reduction="sum"`` gives the paper's units (float64)."""

import pytest
import torch

from liesoft import DeltaSEAL, Lorentz, Vector4

F64 = torch.float64


def mlp(k=1, seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Tanh(),
                               torch.nn.Linear(16, k)).double()


def momenta(n=24, seed=1):
    g = torch.Generator().manual_seed(seed)
    p = torch.randn(n, 4, generator=g, dtype=F64)
    p[:, 0] = p[:, 1:].norm(dim=-1) + 0.5
    return p


def paper_top_tagging_value(f, x):
    """The paper's top-tagging δSEAL, written out independently: per jet the squared norm of
    the six-component vector of Lie derivatives d/dt f(exp(t L_a) x) at t = 0 (by a
    Jacobian-vector product), then the batch mean. Scalar output (invariant)."""
    L = Lorentz().generators
    derivs = []
    for a in range(L.shape[0]):
        _, jv = torch.func.jvp(lambda z: f(z)[:, 0], (x,), (x @ L[a].T,))
        derivs.append(jv)
    D = torch.stack(derivs, dim=-1)  # (B, 6)
    return D.pow(2).sum(-1).mean()


def test_sum_reduction_is_the_papers_top_tagging_formula_and_six_times_eq10():
    f, x = mlp(), momenta()
    mean = DeltaSEAL(Lorentz(), Vector4())(f, x)
    total = DeltaSEAL(Lorentz(), Vector4(), reduction="sum")(f, x)
    ref = paper_top_tagging_value(f, x)
    assert torch.allclose(total, ref, rtol=1e-12, atol=0)
    assert torch.allclose(total, 6 * mean, rtol=1e-12, atol=0)
    assert float(mean) > 1e-4  # a non-invariant model: the comparison is not 0 == 0


@pytest.mark.parametrize("mode", ["exact", "random", "fd"])
@pytest.mark.parametrize("generators,n", [(None, 6), ("boost", 3), (["K_z"], 1)])
def test_sum_is_n_times_mean_in_every_mode(mode, generators, n):
    f, x = mlp(k=2), momenta()
    kw = dict(mode=mode, generators=generators)
    g = lambda z: f(z)[:, :1]  # noqa: E731
    m = DeltaSEAL(Lorentz(), Vector4(), **kw)(g, x, generator=torch.Generator().manual_seed(3))
    s = DeltaSEAL(Lorentz(), Vector4(), reduction="sum", **kw)(
        g, x, generator=torch.Generator().manual_seed(3))
    assert torch.allclose(s, n * m, rtol=1e-12, atol=0) and float(m) > 0


def test_sum_reduction_gradients_are_n_times_mean_gradients():
    f, x = mlp(), momenta()
    params = list(f.parameters())[:-1]  # the last bias does not enter the Jacobian
    gm = torch.autograd.grad(DeltaSEAL(Lorentz(), Vector4())(f, x), params)
    gs = torch.autograd.grad(DeltaSEAL(Lorentz(), Vector4(), reduction="sum")(f, x), params)
    for a, b in zip(gm, gs, strict=True):
        assert float(a.abs().max()) > 0
        assert torch.allclose(b, 6 * a, rtol=1e-10, atol=1e-14)


def test_bad_reduction_is_refused_with_the_choices():
    with pytest.raises(ValueError, match=r"reduction must be one of \('mean', 'sum'\)"):
        DeltaSEAL(Lorentz(), Vector4(), reduction="avg")
    assert "reduction=sum" in repr(DeltaSEAL(Lorentz(), Vector4(), reduction="sum"))
