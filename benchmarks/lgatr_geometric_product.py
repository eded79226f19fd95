"""L-GATr train and evaluation step with lgatr's sparse (gather-and-reduce) and dense geometric
product, interleaved step by step in one run; the medians and their ratio.

    python benchmarks/lgatr_geometric_product.py             # CPU preset tagger of toptag.py
    python benchmarks/lgatr_geometric_product.py --device cuda

Both taggers share the same weights (the products agree to float rounding: tests/hep/
test_lgatr.py). examples/hep/toptag.py uses the dense product on CPU, the sparse one on GPU.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from benchmarks.penalty_overhead import jet_batch, run  # noqa: E402
from examples.hep.models.lgatr_tagger import LGATrTagger  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--constituents", type=int, default=50)
    ap.add_argument("--blocks", type=int, default=2)
    ap.add_argument("--mv", type=int, default=8)
    ap.add_argument("--s", type=int, default=32)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    if args.steps < 1 or args.warmup < 0:
        ap.error(f"--steps must be >= 1 and --warmup >= 0, got {args.steps}, {args.warmup}")
    dev = torch.device(args.device)
    gen = torch.Generator().manual_seed(0)
    x, y = jet_batch(args.batch, args.constituents, dev, gen)
    torch.manual_seed(0)
    models = {"sparse": LGATrTagger(args.blocks, args.mv, args.s, sparse_gp=True).to(dev)}
    models["dense"] = LGATrTagger(args.blocks, args.mv, args.s, sparse_gp=False).to(dev)
    models["dense"].load_state_dict(models["sparse"].state_dict())
    opts = {k: torch.optim.AdamW(m.parameters(), lr=1e-4) for k, m in models.items()}
    loss_fn = torch.nn.functional.binary_cross_entropy_with_logits

    def train(k):
        opts[k].zero_grad(set_to_none=True)
        loss_fn(models[k](x), y).backward()
        opts[k].step()

    @torch.no_grad()
    def evaluate(k):
        models[k](x)

    # interleaved in this order every round: both products see the same machine load
    variants = {(k, w): (lambda k=k, fn=fn: fn(k))
                for k in models for w, fn in (("train", train), ("eval", evaluate))}
    med = run(variants, args.steps, args.warmup, dev)
    print(f"L-GATr {args.blocks} blocks, {args.mv} mv / {args.s} s channels, batch {args.batch} x "
          f"{args.constituents} constituents, {dev}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; median of {args.steps} interleaved steps\n")
    print("| product | train step [s] | eval step [s] |\n|---|---|---|")
    for k in models:
        print(f"| {k} | {med[(k, 'train')]:.3f} | {med[(k, 'eval')]:.3f} |")
    print(f"\nsparse / dense: train {med[('sparse', 'train')] / med[('dense', 'train')]:.2f}x, "
          f"eval {med[('sparse', 'eval')] / med[('dense', 'eval')]:.2f}x")


if __name__ == "__main__":
    main()
