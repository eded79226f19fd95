"""Train-step cost of the SEAL penalties relative to a plain step of the same model.

Variants are interleaved step by step in one run (this machine is shared and noisy) and the
median over ``--steps`` steps is reported, after ``--warmup`` untimed rounds.

    python benchmarks/penalty_overhead.py                 # CPU: toy MLP and d=64 jet transformer
    python benchmarks/penalty_overhead.py --paper --device cuda   # paper-size transformer on GPU

(a) toy MLP 4 -> 300 -> 300 -> 300 -> 1 (GELU), batch 256; the 4-vector-output rows use the same
MLP with 4 outputs and compare with its own plain step.
(b) jet transformer on (256, 50, 4) padded jets (features computed inside from the 4-momenta),
d = 64, 2 layers, 4 heads (``--paper``: d = 256, 3 layers, 100 constituents).
"""

from __future__ import annotations

import argparse
import math
import pathlib
import statistics
import sys
import time

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from examples.hep.models.tagger import JetTransformer  # noqa: E402
from liesoft import GSEAL, DeltaSEAL, Lorentz, Vector4  # noqa: E402


def toy_mlp(out: int) -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(4, 300), torch.nn.GELU(),
                               torch.nn.Linear(300, 300), torch.nn.GELU(),
                               torch.nn.Linear(300, 300), torch.nn.GELU(),
                               torch.nn.Linear(300, out))


def toy_batch(batch, out, device, gen):
    x = torch.rand(batch, 4, generator=gen).sub(0.5).to(device)
    y = torch.randn(batch, out, generator=gen).to(device)
    return x, y


def jet_batch(batch, n, device, gen):
    p3 = 50 * torch.randn(batch, n, 3, generator=gen)
    x = torch.cat([p3.norm(dim=-1, keepdim=True) * 1.01, p3], -1)
    lengths = torch.randint(n // 3, n + 1, (batch,), generator=gen)
    x[torch.arange(n)[None, :] >= lengths[:, None]] = 0.0  # zero padding
    y = torch.randint(0, 2, (batch, 1), generator=gen).float()
    return x.to(device), y.to(device)


def make_step(model, opt, x, y, loss_fn, penalty=None, how="fx", autocast=False):
    """One optimiser step; ``how`` says how the penalty shares the forward pass; ``autocast``:
    the forward passes and the penalty under bfloat16 autocast."""

    def step():
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=autocast):
            body()

    def body():
        opt.zero_grad(set_to_none=True)
        if penalty is None:
            loss = loss_fn(model(x), y)
        elif how == "fx":  # GSEAL, fd: reuse the prediction
            fx = model(x)
            loss = loss_fn(fx, y) + 0.1 * penalty(model, x, fx=fx)
        elif how == "shared":  # exact/random δSEAL: one forward serves task and penalty
            value, fx = penalty(model, x, return_output=True)
            loss = loss_fn(fx, y) + 0.1 * value
        else:  # "subset": the penalty runs its own forward on a fraction of the batch
            loss = loss_fn(model(x), y) + 0.1 * penalty(model, x)
        loss.backward()
        opt.step()

    return step


def timed(step, device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def run(variants: dict, steps: int, warmup: int, device) -> dict:
    times = {k: [] for k in variants}
    for i in range(warmup + steps):
        for name, step in variants.items():
            t = timed(step, device)
            if i >= warmup:
                times[name].append(t)
    return {k: statistics.median(v) for k, v in times.items()}


def toy_variants(device, gen):
    L = Lorentz()
    out = {}
    for width in (1, 4):
        torch.manual_seed(0)
        model = toy_mlp(width).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=1e-5)
        x, y = toy_batch(256, width, device, gen)
        mse = torch.nn.functional.mse_loss
        tag = "scalar" if width == 1 else "4-vector"
        out[f"plain ({tag})"] = make_step(model, opt, x, y, mse)
        if width == 1:
            out["GSEAL, fraction 1"] = make_step(model, opt, x, y, mse, GSEAL(L, Vector4()))
            out["GSEAL, fraction 0.25"] = make_step(
                model, opt, x, y, mse, GSEAL(L, Vector4(), fraction=0.25))
            out["δSEAL exact, scalar output"] = make_step(
                model, opt, x, y, mse, DeltaSEAL(L, Vector4()), "shared")
            out["δSEAL exact, fraction 0.25"] = make_step(
                model, opt, x, y, mse, DeltaSEAL(L, Vector4(), fraction=0.25), "subset")
            out["δSEAL fd"] = make_step(model, opt, x, y, mse, DeltaSEAL(L, Vector4(), mode="fd"))
        else:
            out["δSEAL exact, 4-vector output"] = make_step(
                model, opt, x, y, mse, DeltaSEAL(L, Vector4(), Vector4()), "shared")
            out["δSEAL random, 4-vector output"] = make_step(
                model, opt, x, y, mse, DeltaSEAL(L, Vector4(), Vector4(), mode="random"), "shared")
    return out


def jet_variants(device, gen, paper: bool, autocast: bool = False, size=None, batch=256):
    """The jet transformer's steps: plain, GSEAL (fraction 1 and 0.25), δSEAL (exact, exact at
    fraction 0.25, fd). ``size``: ``(d, layers, n constituents)`` instead of the CPU (64, 2, 50)
    or paper (256, 3, 100) size; ``autocast``: under bfloat16 autocast."""
    L = Lorentz()
    torch.manual_seed(0)
    d, layers, n = size or ((256, 3, 100) if paper else (64, 2, 50))
    model = JetTransformer(d=d, layers=layers, heads=4).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x, y = jet_batch(batch, n, device, gen)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    a = dict(autocast=autocast)
    return {
        "plain (scalar)": make_step(model, opt, x, y, bce, **a),
        "GSEAL, fraction 1": make_step(model, opt, x, y, bce, GSEAL(L, Vector4()), **a),
        "GSEAL, fraction 0.25": make_step(model, opt, x, y, bce,
                                          GSEAL(L, Vector4(), fraction=0.25), **a),
        "δSEAL exact, scalar output": make_step(model, opt, x, y, bce, DeltaSEAL(L, Vector4()),
                                                "shared", **a),
        "δSEAL exact, fraction 0.25": make_step(model, opt, x, y, bce,
                                                DeltaSEAL(L, Vector4(), fraction=0.25), "subset",
                                                **a),
        "δSEAL fd": make_step(model, opt, x, y, bce, DeltaSEAL(L, Vector4(), mode="fd"), **a),
    }


ROWS = ["GSEAL, fraction 1", "GSEAL, fraction 0.25", "δSEAL exact, scalar output",
        "δSEAL exact, fraction 0.25", "δSEAL exact, 4-vector output",
        "δSEAL random, 4-vector output", "δSEAL fd"]


def ratios(medians: dict) -> dict:
    out = {}
    for name, t in medians.items():
        if name.startswith("plain"):
            continue
        base = medians["plain (4-vector)" if "4-vector" in name else "plain (scalar)"]
        out[name] = t / base
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--paper", action="store_true", help="paper-size transformer (for a GPU)")
    ap.add_argument("--only", choices=["toy", "jet"], default=None)
    args = ap.parse_args()
    device = torch.device(args.device)
    gen = torch.Generator().manual_seed(0)
    results = {}
    if args.only in (None, "toy"):
        results["toy MLP"] = run(toy_variants(device, gen), args.steps, args.warmup, device)
    if args.only in (None, "jet"):
        results["jet transformer"] = run(jet_variants(device, gen, args.paper), args.steps,
                                         args.warmup, device)
    cols = list(results)
    print(f"device: {device} ({torch.get_num_threads()} threads), torch {torch.__version__}, "
          f"median of {args.steps} interleaved steps")
    print("| variant | " + " | ".join(cols) + " |")
    print("|---|" + "---|" * len(cols))
    rat = {c: ratios(results[c]) for c in cols}
    for row in ROWS:
        cells = [f"{rat[c][row]:.2f}" if row in rat[c] else "—" for c in cols]
        print(f"| {row} | " + " | ".join(cells) + " |")
    print("\nabsolute medians (s per step):")
    for c in cols:
        print(f"  {c}: " + ", ".join(f"{k} {v:.4f}" for k, v in results[c].items()))
    assert all(math.isfinite(v) for c in cols for v in rat[c].values())


if __name__ == "__main__":
    main()
