"""Transformers with scaled_dot_product_attention and torch.compile: the penalties just work."""

import torch
import torch.nn.functional as F

from liesoft import GSEAL, DeltaSEAL, Lorentz, Vector4


class TinyJetTransformer(torch.nn.Module):
    def __init__(self, d=16, heads=2):
        super().__init__()
        self.embed = torch.nn.Linear(4, d)
        self.qkv = torch.nn.Linear(d, 3 * d)
        self.norm = torch.nn.LayerNorm(d)
        self.out = torch.nn.Linear(d, 1)
        self.heads = heads

    def forward(self, x, mask):
        h = self.embed(x)
        B, N, D = h.shape
        q, k, v = self.qkv(h).reshape(B, N, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :])
        h = self.norm(h + a.transpose(1, 2).reshape(B, N, D))
        m = mask[..., None].to(h.dtype)
        return self.out((h * m).sum(1) / m.sum(1))


def _batch():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(6, 7, 4, generator=g)
    x[:, -2:] = 0.0
    return x, x.abs().sum(-1) > 0


def test_delta_seal_double_backward_through_attention():
    torch.manual_seed(0)
    model = TinyJetTransformer()
    x, mask = _batch()
    for mode in ("exact", "random"):
        value = DeltaSEAL(Lorentz(), Vector4(), mode=mode)(model, x, mask)
        value.backward()  # double backward: needs the MATH kernel, chosen by the penalty
        assert torch.isfinite(value)
        assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
        model.zero_grad()
    # routes agree on a LayerNorm transformer (values; forward_ad's *parameter* gradients
    # through LayerNorm are the known torch 2.13 problem, which is why it is not the default)
    exact = {r: float(DeltaSEAL(Lorentz(), Vector4(), route=r)(model.double(), x.double(),
                                                               mask))
             for r in ("reverse", "forward", "forward_ad")}
    assert max(exact.values()) - min(exact.values()) <= 1e-10 * exact["reverse"]


def test_fd_and_gseal_train_under_torch_compile():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.GELU(), torch.nn.Linear(16, 1))
    compiled = torch.compile(model, backend="aot_eager", dynamic=False)
    x = torch.randn(32, 4)
    for pen in (DeltaSEAL(Lorentz(), Vector4(), mode="fd"), GSEAL(Lorentz(), Vector4())):
        value = pen(compiled, x, generator=torch.Generator().manual_seed(1))
        value.backward()
        eager = pen(model, x, generator=torch.Generator().manual_seed(1))
        assert torch.allclose(value, eager, rtol=1e-4, atol=1e-7)
        assert all(torch.isfinite(p.grad).all() for p in model.parameters())
        model.zero_grad()


def test_delta_seal_parameter_gradients_through_attention_match_finite_differences():
    """Not only finite: the double-backward gradient is the derivative of the value (float64,
    a random direction in parameter space, central differences)."""
    torch.manual_seed(0)
    model = TinyJetTransformer().double()
    x, mask = _batch()
    x = x.double()
    params = list(model.parameters())
    direction = [torch.randn_like(p) for p in params]

    def shifted(pen, t):
        with torch.no_grad():
            for p, d in zip(params, direction, strict=True):
                p.add_(t * d)
            value = float(pen(model, x, mask, generator=torch.Generator().manual_seed(1)))
            for p, d in zip(params, direction, strict=True):
                p.sub_(t * d)
        return value

    for mode in ("exact", "random"):
        pen = DeltaSEAL(Lorentz(), Vector4(), mode=mode)
        value = pen(model, x, mask, generator=torch.Generator().manual_seed(1))
        grads = torch.autograd.grad(value, params, allow_unused=True)
        slope = sum(float((g * d).sum()) for g, d in zip(grads, direction, strict=True)
                    if g is not None)
        h = 1e-5
        numeric = (shifted(pen, h) - shifted(pen, -h)) / (2 * h)
        assert abs(slope - numeric) <= 1e-6 * abs(numeric) + 1e-12, mode
        assert abs(numeric) > 1e-6
