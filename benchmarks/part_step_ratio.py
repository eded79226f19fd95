"""Train-step cost of SEAL on the weaver taggers (ParT, ParticleNet) relative to a plain step.

The methods are interleaved step by step (baseline, GSEAL, δSEAL exact, δSEAL fd, then again)
so that the shared machine's load hits them alike; after ``--warmup`` untimed rounds, each of
``--steps`` rounds times one optimiser step per method. Reported: the median step time and the
median over rounds of each method's time divided by the baseline's of the same round.

    OMP_NUM_THREADS=1 python benchmarks/part_step_ratio.py                  # ParT, CPU config
    OMP_NUM_THREADS=1 python benchmarks/part_step_ratio.py --model particlenet
    python benchmarks/part_step_ratio.py --device cuda --threads 0          # on a GPU

Batch 256 jets of 50 particles (the CPU preset of examples/hep/toptag.py), train mode, Adam,
BCE on one logit; GSEAL λ = 1 (β²max = 0.95, fx reused), δSEAL λ = 0.06 (eq. 10's mean;
the paper's 0.01 per generator sum), exact (one forward pass shared via return_output) and fd
(fx reused).
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

from examples.hep.data.toy_jets import prong_jets  # noqa: E402
from examples.hep.models.part import PartFromMomenta  # noqa: E402
from examples.hep.models.particlenet import ParticleNetFromMomenta  # noqa: E402
from liesoft import GSEAL, DeltaSEAL, Lorentz, Vector4  # noqa: E402

METHODS = {
    "baseline": None,
    "gseal": (lambda: GSEAL(Lorentz(), Vector4(), beta_max=0.95 ** 0.5), 1.0),
    "dseal_exact": (lambda: DeltaSEAL(Lorentz(), Vector4()), 0.06),
    "dseal_fd": (lambda: DeltaSEAL(Lorentz(), Vector4(), mode="fd"), 0.06),
}
MODELS = {"part": PartFromMomenta, "particlenet": ParticleNetFromMomenta}


def make_step(model, opt, x, y, method):
    loss_fn = torch.nn.BCEWithLogitsLoss()
    spec = METHODS[method]
    penalty, lam = (spec[0](), spec[1]) if spec else (None, 0.0)

    def step():
        opt.zero_grad(set_to_none=True)
        if penalty is None:
            loss = loss_fn(model(x)[:, 0], y)
        else:  # the library's one call: the penalty and the task pass it shares
            value, fx = penalty(model, x, return_output=True)
            loss = loss_fn(fx[:, 0], y) + lam * value
        loss.backward()
        opt.step()
        return loss.item()  # also synchronises a GPU

    return step


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", choices=sorted(MODELS), default="part")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--particles", type=int, default=50)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (0: leave as is)")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--json", default=None, help="write the results here")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    methods = args.methods.split(",")
    x, y = prong_jets(args.batch, args.particles, seed=0)
    x, y = x.to(args.device), y.to(args.device)
    steps = {}
    for m in methods:  # one model per method, same initial weights
        torch.manual_seed(0)
        model = MODELS[args.model]().to(args.device).train()
        opt = torch.optim.Adam(model.parameters(), lr=1e-4)
        steps[m] = make_step(model, opt, x, y, m)
    times = {m: [] for m in methods}
    for r in range(args.warmup + args.steps):
        for m in methods:
            t = time.perf_counter()
            steps[m]()
            if r >= args.warmup:
                times[m].append(time.perf_counter() - t)
    base = times.get("baseline")
    device = (torch.cuda.get_device_name() if args.device.startswith("cuda")
              else f"CPU, {torch.get_num_threads()} thread(s)")
    out = {"model": args.model, "device": device, "batch": args.batch,
           "particles": args.particles, "steps": args.steps, "methods": {}}
    print(f"{args.model} on {device}: batch {args.batch} x {args.particles} particles, "
          f"median of {args.steps} interleaved rounds")
    print(f"{'method':<12} {'step [ms]':>10} {'ratio':>7}")
    for m in methods:
        med = statistics.median(times[m])
        ratio = (statistics.median(t / b for t, b in zip(times[m], base, strict=True))
                 if base else None)
        out["methods"][m] = {"median_step_s": med, "median_ratio": ratio}
        print(f"{m:<12} {1e3 * med:>10.1f} {ratio if ratio is not None else float('nan'):>7.2f}")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
