"""δSEAL's exact routes give the parameter gradients of a torch.func reference (issue 24 item 11:
``route="forward"`` was 23-90 % off through ``nn.LayerNorm`` and ``auto`` picked it)."""

import copy

import pytest
import torch
from torch.func import functional_call, jacrev, vmap

from liesoft import DeltaSEAL, Lorentz, Scalar, Vector4, math_attention

D = torch.float64
ROUTES = ("reverse", "forward", "forward_ad", "auto")


class Block(torch.nn.Module):
    """Jets (B, N, 4) -> (B, k): embedding, [LayerNorm], attention, pooling."""

    def __init__(self, k, layer_norm=True, mha=False):
        super().__init__()
        self.embed = torch.nn.Linear(4, 8)
        self.norm = torch.nn.LayerNorm(8) if layer_norm else torch.nn.Identity()
        self.mha = torch.nn.MultiheadAttention(8, 2, batch_first=True) if mha else None
        self.qkv = torch.nn.Linear(8, 24)
        self.out = torch.nn.Linear(8, k)

    def forward(self, x):
        h = self.norm(torch.tanh(self.embed(x)))
        if self.mha is not None:
            h = h + self.mha(h, h, h, need_weights=False)[0]
        else:
            q, k, v = self.qkv(h).reshape(*h.shape[:2], 2, 3, 4).unbind(-2)
            a = torch.nn.functional.scaled_dot_product_attention(
                q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
            h = h + a.transpose(1, 2).reshape(h.shape)
        return self.out(torch.tanh(h).mean(1))


def make(name, k):
    torch.manual_seed(0)
    if name == "mlp":
        m = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Linear(16, k))
    elif name == "layernorm":  # the model
        m = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.LayerNorm(16), torch.nn.Tanh(),
                                torch.nn.Linear(16, k))
    elif name == "batchnorm_eval":
        m = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.BatchNorm1d(16), torch.nn.Tanh(),
                                torch.nn.Linear(16, k))
        with torch.no_grad():
            m(torch.randn(64, 4) * 2)  # running statistics away from (0, 1)
        m.eval()
    elif name == "attention":
        m = Block(k, layer_norm=False)
    elif name == "attention_layernorm":
        m = Block(k)
    elif name == "mha_layernorm":
        m = Block(k, mha=True)
    else:
        raise ValueError(name)
    m = m.to(D)
    with torch.no_grad():  # non-trivial affine layer norms
        for mod in m.modules():
            if isinstance(mod, torch.nn.LayerNorm):
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.3, 0.3)
    return m


def inputs(name, n=12):
    g = torch.Generator().manual_seed(1)
    shape = (n, 5, 4) if "attention" in name or "mha" in name else (n, 4)
    return torch.randn(*shape, generator=g, dtype=D)


def reference(model, x, group=None):
    """Eq. 10 from per-sample Jacobians (torch.func), and its parameter gradients."""
    group = Lorentz() if group is None else group
    params = {k: v for k, v in model.named_parameters()}

    def value(p):
        def one(xi):
            return functional_call(model, p, (xi[None],))[0]
        with math_attention():
            J = vmap(jacrev(one))(x)  # (B, k, *x.shape[1:])
        batch = x.shape[0]
        J = J.reshape(batch, -1, x[0].numel())
        xi = torch.einsum("nij,b...j->nb...i", group.generators.to(D), x).reshape(
            group.generators.shape[0], batch, -1)
        return torch.einsum("bki,nbi->nbk", J, xi).pow(2).sum(-1).mean()

    v = value(params)
    grads = torch.autograd.grad(v, list(params.values()), allow_unused=True)
    return v.detach(), [torch.zeros_like(p) if g is None else g
                        for g, p in zip(grads, params.values(), strict=True)]


def param_grads(value, model):
    grads = torch.autograd.grad(value, list(model.parameters()), allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for g, p in zip(grads, model.parameters(), strict=True)]


def worst_relative_error(grads, ref):
    errs = [float((g - r).norm() / r.norm()) for g, r in zip(grads, ref, strict=True) if r.norm() > 0]
    return max(errs)


MODELS = ["mlp", "layernorm", "batchnorm_eval", "attention", "attention_layernorm"]


@pytest.mark.parametrize("k", [1, 8])
@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("route", ROUTES)
def test_every_route_gives_the_reference_parameter_gradients(route, name, k):
    model, x = make(name, k), inputs(name)
    ref_value, ref_grads = reference(model, x)
    pen = DeltaSEAL(Lorentz(), Vector4(), Scalar(), route=route)
    value = pen(model, x)
    grads = param_grads(value, model)
    assert value.item() == pytest.approx(ref_value.item(), rel=1e-10)
    assert worst_relative_error(grads, ref_grads) < 1e-9


@pytest.mark.parametrize("route", ["reverse", "forward", "auto"])
def test_routes_through_nn_multihead_attention(route):
    model, x = make("mha_layernorm", 8), inputs("mha_layernorm")
    ref_value, ref_grads = reference(model, x)
    value = DeltaSEAL(Lorentz(), Vector4(), route=route)(model, x)
    grads = param_grads(value, model)
    assert value.item() == pytest.approx(ref_value.item(), rel=1e-10)
    assert worst_relative_error(grads, ref_grads) < 1e-9


@pytest.mark.parametrize("route", ["forward", "auto"])
def test_a_users_fx_with_native_layer_norm_is_recomputed_for_the_forward_route(route):
    model, x = make("layernorm", 8), inputs("layernorm")
    ref_value, ref_grads = reference(model, x)
    leaf = x.clone().requires_grad_(True)
    fx = model(leaf)  # native layer norm in its graph
    value = DeltaSEAL(Lorentz(), Vector4(), route=route)(model, leaf, fx=fx)
    grads = param_grads(value, model)
    assert worst_relative_error(grads, ref_grads) < 1e-9


def test_auto_picks_forward_for_many_outputs_and_remembers_it():
    model, x = make("layernorm", 8), inputs("layernorm")
    pen = DeltaSEAL(Lorentz(), Vector4())
    calls = []
    model.register_forward_hook(lambda *a: calls.append(1))
    pen(model, x)
    assert len(calls) == 2  # first call: a plain pass, then the pass by parts
    pen(model, x)
    assert len(calls) == 3  # the shape is known to need the forward route: one pass
    assert pen._route(torch.zeros(3, 8)) == "forward" and pen._route(torch.zeros(3, 6)) == "reverse"


def test_batchnorm_in_training_mode_every_route_matches_the_frozen_statistics_reference():
    model, x = make("batchnorm_eval", 8), inputs("batchnorm_eval", 32)
    model.train()
    frozen = copy.deepcopy(model)
    with torch.no_grad():
        h = frozen[0](x)
        frozen[1].running_mean = h.mean(0)
        frozen[1].running_var = h.var(0, unbiased=False)
    frozen.eval()
    _, ref_grads = reference(frozen, x)
    for route in ROUTES:
        value = DeltaSEAL(Lorentz(), Vector4(), route=route)(model, x)
        grads = param_grads(value, model)
        assert worst_relative_error(grads, ref_grads) < 1e-9, route


def test_the_by_parts_functions_match_torchs():
    from liesoft.penalties.norms import composite_layer_norm

    F = torch.nn.functional
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 5, generator=g, dtype=D)
    q, k, v = (torch.randn(2, 3, n, 5, generator=g, dtype=D) for n in (4, 6, 6))
    mask = torch.rand(4, 6, generator=g) > 0.3
    mask[:, 0] = True
    w, b = torch.randn(5, generator=g, dtype=D), torch.randn(5, generator=g, dtype=D)

    def calls():
        return [F.layer_norm(x, (5,), w, b, 1e-3), torch.layer_norm(x, [5], None, None, 1e-5, False),
                F.softmax(x, -1), torch.softmax(x, 0), x.softmax(-1), F.log_softmax(x, dim=1),
                x.log_softmax(0), torch.softmax(x, 1, torch.float32),
                F.softmax(x, -1, dtype=torch.float32),
                F.scaled_dot_product_attention(q, k, v),
                F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
                F.scaled_dot_product_attention(q, k, v, attn_mask=mask.to(D) * 0.7, scale=0.3),
                F.scaled_dot_product_attention(q, k[:, :, :4], v[:, :, :4], is_causal=True),
                F.scaled_dot_product_attention(q, k[:, :1], v[:, :1], enable_gqa=True)]

    expected = calls()
    with composite_layer_norm(softmax=True):
        got = calls()
    for e, o in zip(expected, got, strict=True):
        assert o.dtype == e.dtype
        if e.dtype == torch.float32:
            # fused and by-parts kernels round differently: each output is a handful of float32
            # operations over <= 6 terms, so they agree to <~ 32 roundings (u = 2^-24) of the
            # output's scale max(1, max|e|); 64 u leaves a factor 2 (a wrong eps, axis or mask
            # changes them by >= 1e-4)
            scale = max(1.0, float(e.abs().max()))
            torch.testing.assert_close(o, e, rtol=0, atol=64 * 2.0**-24 * scale)
        else:
            torch.testing.assert_close(o, e, rtol=1e-13, atol=1e-14)
