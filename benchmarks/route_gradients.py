"""δSEAL's parameter gradients by every exact route against a torch.func reference.

For each model, output size k and route, prints the largest relative error
``|grad - grad_ref| / |grad_ref|`` over the parameter tensors (float64), with liesoft as it is
and with torch's native layer norm/softmax in the forward routes (``native``: what the routes
gave before liesoft computed those by parts, pytorch/pytorch#175754).

    python benchmarks/route_gradients.py
    python benchmarks/route_gradients.py --timing   # what the by-parts layer norm costs

The reference is eq. 10 from per-sample Jacobians ``vmap(jacrev(model))`` (reverse mode, second
order only). ``auto`` picks ``reverse`` for k = 1 and ``forward`` for k = 8 (n = 6 generators).
"""

from __future__ import annotations

import contextlib
import copy
import pathlib
import sys

import torch
from torch.func import functional_call, jacrev, vmap

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import liesoft.penalties.dseal as dseal  # noqa: E402
from liesoft import DeltaSEAL, Lorentz, Vector4, math_attention  # noqa: E402

D = torch.float64
ROUTES = ("reverse", "forward", "forward_ad", "auto")


class Attention(torch.nn.Module):
    """Jets (B, N, 4): embedding, [LayerNorm], one self-attention layer, mean pooling."""

    def __init__(self, k, layer_norm):
        super().__init__()
        self.embed = torch.nn.Linear(4, 8)
        self.norm = torch.nn.LayerNorm(8) if layer_norm else torch.nn.Identity()
        self.qkv = torch.nn.Linear(8, 24)
        self.out = torch.nn.Linear(8, k)

    def forward(self, x):
        h = self.norm(torch.tanh(self.embed(x)))
        q, k, v = self.qkv(h).reshape(*h.shape[:2], 2, 3, 4).unbind(-2)
        a = torch.nn.functional.scaled_dot_product_attention(
            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        return self.out(torch.tanh(h + a.transpose(1, 2).reshape(h.shape)).mean(1))


def mlp(k, middle):
    return torch.nn.Sequential(torch.nn.Linear(4, 16), *middle, torch.nn.Tanh(),
                               torch.nn.Linear(16, k))


def models(k):
    torch.manual_seed(0)
    bn = mlp(k, [torch.nn.BatchNorm1d(16)])
    with torch.no_grad():
        bn(torch.randn(64, 4) * 2)
    out = {
        "MLP": mlp(k, []),
        "MLP + LayerNorm": mlp(k, [torch.nn.LayerNorm(16)]),
        "MLP + BatchNorm (eval)": bn.eval(),
        "MLP + BatchNorm (train)": copy.deepcopy(bn).train(),
        "attention": Attention(k, False),
        "attention + LayerNorm": Attention(k, True),
    }
    for m in out.values():
        m.to(D)
        with torch.no_grad():
            for mod in m.modules():
                if isinstance(mod, torch.nn.LayerNorm):
                    mod.weight.uniform_(0.5, 1.5)
                    mod.bias.uniform_(-0.3, 0.3)
    return out


def inputs(name):
    g = torch.Generator().manual_seed(1)
    shape = (32, 5, 4) if "attention" in name else (32, 4)
    return torch.randn(*shape, generator=g, dtype=D)


def frozen(model, x):
    """Batch norm in training mode is per-sample with the clean batch's statistics: the
    reference evaluates that function (eval mode with those statistics)."""
    ref = copy.deepcopy(model)
    if not any(isinstance(m, torch.nn.BatchNorm1d) and m.training for m in ref.modules()):
        return ref
    with torch.no_grad():
        h = ref[0](x)
    ref[1].running_mean, ref[1].running_var = h.mean(0), h.var(0, unbiased=False)
    return ref.eval()


def grads_of(value, params):
    gs = torch.autograd.grad(value, params, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for g, p in zip(gs, params, strict=True)]


def reference(model, x, group):
    params = dict(model.named_parameters())

    def value(p):
        def one(xi):
            return functional_call(model, p, (xi[None],))[0]
        with math_attention():
            J = vmap(jacrev(one))(x).reshape(x.shape[0], -1, x[0].numel())
        xi = torch.einsum("nij,b...j->nb...i", group.generators.to(D), x).reshape(
            group.generators.shape[0], x.shape[0], -1)
        return torch.einsum("bki,nbi->nbk", J, xi).pow(2).sum(-1).mean()

    return grads_of(value(params), list(params.values()))


def error(model, x, route, ref, group):
    params = list(model.parameters())
    try:
        g = grads_of(DeltaSEAL(group, Vector4(), route=route)(model, x), params)
    except RuntimeError as e:
        return "fails (in-place error)" if "inplace" in str(e) else "fails"
    return max(float((a - b).norm() / b.norm())
               for a, b in zip(g, ref, strict=True) if b.norm() > 0)


@contextlib.contextmanager
def native_kernels():
    """The forward routes with torch's own layer norm / softmax (liesoft before this fix)."""
    saved = dseal.composite_layer_norm
    dseal.composite_layer_norm = lambda softmax=False: contextlib.nullcontext()
    try:
        yield
    finally:
        dseal.composite_layer_norm = saved


def fmt(v):
    return v if isinstance(v, str) else f"{v:.1e}"


def timing(rounds=30):
    """Median train-step time (float32, batch 256) of δSEAL exact on an MLP with two LayerNorms
    and k = 8 outputs, by route, interleaved; "native" is the forward route with torch's layer
    norm (fast and wrong)."""
    import statistics
    import time

    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 300), torch.nn.LayerNorm(300), torch.nn.GELU(),
        torch.nn.Linear(300, 300), torch.nn.LayerNorm(300), torch.nn.GELU(),
        torch.nn.Linear(300, 8))
    x = torch.randn(256, 4)
    pens = {r: DeltaSEAL(Lorentz(), Vector4(), route=r) for r in ("reverse", "forward")}

    def step(route, native):
        model.zero_grad()
        with native_kernels() if native else contextlib.nullcontext():
            t = time.perf_counter()
            pens[route](model, x).backward()
            return time.perf_counter() - t

    variants = [("reverse", False), ("forward", False), ("forward", True)]
    times = {v: [] for v in variants}
    for r in range(rounds + 3):
        for v in variants if r % 2 else variants[::-1]:
            dt = step(*v)
            if r >= 3:
                times[v].append(dt)
    base = statistics.median(times[("forward", True)])
    for (route, native), ts in times.items():
        label = route + (" (native layer norm)" if native else "")
        print(f"| {label} | {statistics.median(ts) * 1e3:.1f} ms | "
              f"{statistics.median(ts) / base:.2f} |")


def main():
    if "--timing" in sys.argv:
        timing()
        return
    group = Lorentz()
    print("| model | k | " + " | ".join(ROUTES) + " | forward (native) | forward_ad (native) |")
    print("|---|---|" + "---|" * (len(ROUTES) + 2))
    for k in (1, 8):
        for name, model in models(k).items():
            x = inputs(name)
            ref = reference(frozen(model, x), x, group)
            row = [error(model, x, r, ref, group) for r in ROUTES]
            with native_kernels():
                row += [error(model, x, r, ref, group) for r in ("forward", "forward_ad")]
            print(f"| {name} | {k} | " + " | ".join(fmt(v) for v in row) + " |")


if __name__ == "__main__":
    main()
