"""Cost of the violation budget: a GSEAL train step with and without ``ViolationBudget``.

Four variants are interleaved step by step in one run (``penalty_overhead.run``): a plain
GSEAL step, the same step through ``ViolationBudget(GSEAL(...))``, the same through
``ViolationBudget(GSEAL(...), optimizer=opt)`` (the learning-rate schedule: it reads the
optimizer's rates at every update; the rate is set below its reference so the loosened target
is computed), and a second plain GSEAL step (an A/A control: the spread of two identical
variants on this machine). Medians over
``--steps`` steps, measured twice, with the variants in forward and in reverse order within
each round (a position effect cancels in the mean of the two ratios). The budget's own
bookkeeping (read-back of Γ, EMA, the update of λ) is also timed alone over many calls.

    python benchmarks/budget_overhead.py              # small jet transformer and the toy MLP
    python benchmarks/budget_overhead.py --only jet --steps 60
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from benchmarks.penalty_overhead import jet_batch, make_step, run, toy_batch, toy_mlp  # noqa: E402
from liesoft import GSEAL, Lorentz, Vector4  # noqa: E402
from liesoft.experimental import ViolationBudget  # noqa: E402


def variants(kind: str, device, gen) -> dict:
    torch.manual_seed(0)
    if kind == "jet":     # a small tagger: d = 64, 2 layers, (256, 50, 4) padded jets
        from examples.hep.models.tagger import JetTransformer
        model = JetTransformer(d=64, layers=2, heads=4).to(device)
        x, y = jet_batch(256, 50, device, gen)
        loss_fn = torch.nn.functional.binary_cross_entropy_with_logits
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    else:                 # the toy-regression MLP, batch 256: the shortest step
        model = toy_mlp(1).to(device)
        x, y = toy_batch(256, 1, device, gen)
        loss_fn = torch.nn.functional.mse_loss
        opt = torch.optim.Adam(model.parameters(), lr=1e-5)
    gseal = GSEAL(Lorentz(), Vector4())
    budget = ViolationBudget(GSEAL(Lorentz(), Vector4()), target=1e-3).to(device)
    scheduled = ViolationBudget(GSEAL(Lorentz(), Vector4()), target=1e-3,
                                optimizer=opt).to(device)
    for group in opt.param_groups:     # below the budget's reference: the schedule is on
        group["lr"] *= 0.5
    return {"GSEAL": make_step(model, opt, x, y, loss_fn, gseal),
            "GSEAL + budget": make_step(model, opt, x, y, loss_fn, budget),
            "GSEAL + budget(optimizer)": make_step(model, opt, x, y, loss_fn, scheduled),
            "GSEAL (A/A control)": make_step(model, opt, x, y, loss_fn, gseal)}


def bookkeeping_seconds(device, calls: int = 20_000, optimizer: bool = False) -> float:
    """Seconds per call of the budget's update alone (the λ·Γ product excluded); with
    ``optimizer``: the scheduled rule, reading an Adam's rate (two param groups, decayed)."""
    opt = None
    if optimizer:
        opt = torch.optim.Adam([{"params": [torch.nn.Parameter(torch.zeros(3))]},
                                {"params": [torch.nn.Parameter(torch.zeros(3))]}], lr=1e-3)
    budget = ViolationBudget(GSEAL(Lorentz(), Vector4()), target=1e-3,
                             optimizer=opt).to(device)
    if opt is not None:
        opt.param_groups[0]["lr"] = 5e-4
    value = torch.tensor(1e-3, device=device)   # at the target: no infeasibility watch fires
    t0 = time.perf_counter()
    for _ in range(calls):
        budget._observe(value, True)
    return (time.perf_counter() - t0) / calls


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--only", choices=["jet", "toy"], default=None)
    ap.add_argument("--threads", type=int, default=None,
                    help="torch CPU threads (1 on a shared, busy CPU: see docs/benchmarks.md)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    gen = torch.Generator().manual_seed(0)
    kinds = [args.only] if args.only else ["jet", "toy"]
    print(f"device: {device} ({torch.get_num_threads()} threads), torch {torch.__version__}, "
          f"median of {args.steps} interleaved steps")
    print("| model | GSEAL step [ms] | with budget / without (forward, reverse: mean) | "
          "with budget(optimizer) / without | A/A control / GSEAL (forward, reverse: mean) |")
    print("|---|---|---|---|---|")
    for kind in kinds:
        steps = variants(kind, device, gen)
        fwd = run(steps, args.steps, args.warmup, device)
        rev = run(dict(reversed(steps.items())), args.steps, args.warmup, device)
        cell = {}
        for name in ("GSEAL + budget", "GSEAL + budget(optimizer)", "GSEAL (A/A control)"):
            a, b = fwd[name] / fwd["GSEAL"], rev[name] / rev["GSEAL"]
            cell[name] = f"{a:.4f}, {b:.4f}: {(a + b) / 2:.4f}"
        base = (fwd["GSEAL"] + rev["GSEAL"]) / 2
        print(f"| {kind} | {1e3 * base:.2f} | {cell['GSEAL + budget']} | "
              f"{cell['GSEAL + budget(optimizer)']} | {cell['GSEAL (A/A control)']} |")
    for opt in (False, True):
        per_call = bookkeeping_seconds(device, optimizer=opt)
        print(f"\nbudget bookkeeping alone{' (optimizer=, 2 groups)' if opt else ''}: "
              f"{1e6 * per_call:.1f} µs per call")


if __name__ == "__main__":
    main()
