"""Train-step time of the data-efficiency study's methods (issue 23) on the CPU preset's backbone,
interleaved (one step of each method per round, so load drift on a shared machine hits all
alike): baseline JetTransformer, + GSEAL (lambda 1, fraction 1 and 0.25), + δSEAL (exact,
paper's units), + boost augmentation, the LLoCa tagger on the same backbone size, and the
smallest L-GATr (the CPU preset's 2 blocks, 8 multivector / 32 scalar channels).

    OMP_NUM_THREADS=1 python benchmarks/data_efficiency_steps.py --rounds 10
    OMP_NUM_THREADS=1 python benchmarks/data_efficiency_steps.py --methods baseline,lloca

Random padded jets: batch 256, N = 50 slots, 20-50 real constituents per jet. Prints the median
seconds per optimizer step (forward, penalty, backward, AdamW) and the ratio to the baseline;
``--json`` writes them.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys
import time

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from examples.hep.data.augment import BETA_MAX, BoostAugmentation  # noqa: E402
from examples.hep.models.tagger import JetTransformer  # noqa: E402
from liesoft import GSEAL, DeltaSEAL, Lorentz, Vector4, math_attention  # noqa: E402

ALL = "baseline,gseal,gseal_f0.25,dseal,augment,lloca,lgatr"


def random_jets(batch, slots, gen):
    n = torch.randint(20, slots + 1, (batch,), generator=gen)
    p3 = 30 * torch.randn(batch, slots, 3, generator=gen)
    p3[..., 0] += 600.0 * torch.rand(batch, 1, generator=gen) + 300.0
    x = torch.cat([p3.norm(dim=-1, keepdim=True), p3], -1)
    x[torch.arange(slots)[None, :] >= n[:, None]] = 0.0
    y = (torch.rand(batch, generator=gen) < 0.5).float()
    return x, y


def make(method, size):
    """``(model, step)``: ``step(x, y)`` runs one optimizer step."""
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    if method == "lloca":
        from examples.hep.models.lloca_tagger import LLoCaTagger

        model = LLoCaTagger(**size)
        model.init_standardization(random_jets(512, 50, torch.Generator().manual_seed(9))[0])
    elif method == "lgatr":
        from examples.hep.models.lgatr_tagger import LGATrTagger

        model = LGATrTagger(blocks=2, mv_channels=8, s_channels=32, heads=size["heads"],
                            sparse_gp=False)
    else:
        model = JetTransformer(**size)
    opt = torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=1e-2)
    penalty = None
    if method.startswith("gseal"):
        frac = 0.25 if method.endswith("0.25") else 1.0
        penalty = GSEAL(Lorentz(), Vector4(), fraction=frac, beta_max=BETA_MAX)
    elif method == "dseal":
        penalty = DeltaSEAL(Lorentz(), Vector4(), reduction="sum")
    augment = BoostAugmentation() if method == "augment" else None
    lam = 0.01 if method == "dseal" else 1.0

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        if augment is not None:
            x, y = augment(x, y, generator=gen)
        if penalty is None:
            logits = model(x)
            pen = 0.0
        else:  # the library's one call: the penalty and the task pass it shares
            with math_attention():
                store = {}

                def f(z):
                    out = model(z)
                    store.setdefault("logits", out)
                    return torch.sigmoid(out)

                pen, _ = penalty(f, x, generator=gen, return_output=True)
                logits = store["logits"]
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits.squeeze(-1), y)
        (loss + lam * pen).backward()
        opt.step()

    model.train()
    return model, step


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--methods", default=ALL)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    size = dict(d=64, layers=2, heads=4, hidden=128, hidden_layers=3)  # the CPU preset
    methods = args.methods.split(",")
    steps = {m: make(m, size)[1] for m in methods}
    gen = torch.Generator().manual_seed(0)
    batches = [random_jets(args.batch, 50, gen) for _ in range(4)]
    times = {m: [] for m in methods}
    for r in range(args.warmup + args.rounds):
        x, y = batches[r % len(batches)]
        for m in methods:
            t0 = time.perf_counter()
            steps[m](x, y)
            if r >= args.warmup:
                times[m].append(time.perf_counter() - t0)
    med = {m: statistics.median(t) for m, t in times.items()}
    base = med.get("baseline")
    print(f"torch threads {torch.get_num_threads()}, batch {args.batch}, N 50, "
          f"{args.rounds} interleaved rounds (median s/step)")
    for m in methods:
        ratio = f"{med[m] / base:5.2f}x" if base else ""
        spread = f"[{min(times[m]):.3f}, {max(times[m]):.3f}]"
        print(f"  {m:12s} {med[m]:.3f} s {spread}  {ratio}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"median_s": med, "times_s": times, "batch": args.batch,
                       "threads": torch.get_num_threads()}, fh, indent=1)


if __name__ == "__main__":
    main()
