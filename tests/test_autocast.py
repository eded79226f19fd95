"""The penalties under torch.autocast (bfloat16 on CPU; issue 20 item 2).

Tolerance: bfloat16 keeps 8 significant bits, unit roundoff u = 2^-8 = 0.39 % per operation.
The model below has four rounding stages (two matmuls, the normalisations, the output layer);
independent roundings add like a random walk, ~sqrt(4) u = 0.8 % on each output, and a penalty
squares a difference of outputs, ~1.6 %. We allow 3x that: 5 %. (Measured: 0.2-0.5 %.)
fd divides a difference of bfloat16 outputs by eps: rounding noise u |f| / eps per evaluation,
which adds (never cancels) to the square; at the default bfloat16 step 3e-2 we allow 6 %
(measured <= 2.3 %; the float32 step 1e-2 gives 9-14 %, so the test catches a wrong default).
"""

import pytest
import torch

from liesoft import GSEAL, DeltaSEAL, Lorentz, Vector4

PENALTIES = {
    "gseal": (lambda: GSEAL(Lorentz(), Vector4(), beta_max=0.5), 0.05),
    "exact_reverse": (lambda: DeltaSEAL(Lorentz(), Vector4(), route="reverse"), 0.05),
    "exact_forward": (lambda: DeltaSEAL(Lorentz(), Vector4(), route="forward"), 0.05),
    "random": (lambda: DeltaSEAL(Lorentz(), Vector4(), mode="random"), 0.05),
    "fd": (lambda: DeltaSEAL(Lorentz(), Vector4(), mode="fd"), 0.06),
    "fd_central": (lambda: DeltaSEAL(Lorentz(), Vector4(), mode="fd", scheme="central"), 0.06),
}


def model(norm=True):
    torch.manual_seed(1)
    layers = [torch.nn.Linear(4, 64), torch.nn.LayerNorm(64), torch.nn.GELU(),
              torch.nn.Linear(64, 64)]
    if norm:
        layers += [torch.nn.BatchNorm1d(64), torch.nn.Tanh(), torch.nn.Dropout(0.1)]
    else:
        layers += [torch.nn.Tanh()]
    return torch.nn.Sequential(*layers, torch.nn.Linear(64, 3)).train()


def jets(n=256):
    g = torch.Generator().manual_seed(0)
    p = torch.randn(n, 3, generator=g)
    return torch.cat([(1 + (p ** 2).sum(-1, keepdim=True)).sqrt(), p], -1)


@pytest.mark.parametrize("norm", [False, True])
@pytest.mark.parametrize("name", list(PENALTIES))
def test_bfloat16_autocast_values_are_close_to_float32_and_gradients_finite(name, norm):
    make, rtol = PENALTIES[name]
    pen, x = make(), jets()
    rel = []
    for seed in range(2):  # the same draws (and dropout stream) in both precisions
        m = model(norm)
        v32 = pen(m, x, generator=torch.Generator().manual_seed(seed))
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = m(x)
            v16 = pen(m, x, generator=torch.Generator().manual_seed(seed))
        assert out.dtype == torch.bfloat16  # autocast really ran the model in bfloat16
        assert v16.dtype == torch.float32  # residuals are squared in float32
        grads = torch.autograd.grad(v16, list(m.parameters()), allow_unused=True)
        assert all(torch.isfinite(g).all() for g in grads if g is not None)
        assert v32.item() > 1e-3
        rel.append(abs(v16.item() / v32.item() - 1))
    assert max(rel) < rtol, rel


def test_fd_step_follows_the_precision():
    from liesoft.penalties.dseal import default_eps

    x = jets(2)
    assert default_eps(x) == 1e-2 and default_eps(x.double()) == 1e-4
    assert default_eps(x.bfloat16()) == 3e-2 and default_eps(x.half()) == 3e-2
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert default_eps(x) == 3e-2 and default_eps(x.double()) == 1e-4
