"""A few hundred training steps of ParT or ParticleNet with SEAL on synthetic jets
(``toy_jets.prong_jets``: three-prong vs one-prong): a smoke run showing that the task loss
falls with the penalty in the loss, and the held-out AUC it reaches.

    OMP_NUM_THREADS=1 python -m examples.hep.models.smoke_train --model part --method gseal
    OMP_NUM_THREADS=1 python -m examples.hep.models.smoke_train --model particlenet --method dseal

Methods: baseline, gseal (λ = 1, β²max = 0.95), dseal (exact, λ = 0.06 = the paper's 0.01 in
eq. 10's units), dseal_fd. The models train in train mode (their BatchNorm layers use batch
statistics; the penalties' passes too — the library's policy for BatchNorm applies).
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from examples.hep.models.part import PartFromMomenta
from examples.hep.models.particlenet import ParticleNetFromMomenta
from examples.hep.models.toy_jets import prong_jets
from liesoft import GSEAL, DeltaSEAL, Lorentz, Vector4

PENALTIES = {
    "baseline": None,
    "gseal": (lambda: GSEAL(Lorentz(), Vector4(), beta_max=0.95 ** 0.5), 1.0),
    "dseal": (lambda: DeltaSEAL(Lorentz(), Vector4()), 0.06),
    "dseal_fd": (lambda: DeltaSEAL(Lorentz(), Vector4(), mode="fd"), 0.06),
}
MODELS = {"part": PartFromMomenta, "particlenet": ParticleNetFromMomenta}


def auc(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """Area under the ROC curve (probability a positive outranks a negative; ties count 1/2)."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    greater = (pos[:, None] > neg[None, :]).double().mean()
    ties = (pos[:, None] == neg[None, :]).double().mean()
    return float(greater + 0.5 * ties)


def train(model_name="part", method="gseal", steps=300, batch=64, n_train=2048, n_test=1024,
          particles=30, lr=1e-3, seed=0, log_every=25):
    x, y = prong_jets(n_train, particles, seed=seed)
    xt, yt = prong_jets(n_test, particles, seed=seed + 1)
    torch.manual_seed(seed)
    model = MODELS[model_name]()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    spec = PENALTIES[method]
    penalty, lam = (spec[0](), spec[1]) if spec else (None, 0.0)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    gen = torch.Generator().manual_seed(seed)
    history, start = [], time.time()
    model.train()
    for step in range(1, steps + 1):
        idx = torch.randint(0, n_train, (batch,), generator=gen)
        xb, yb = x[idx], y[idx]
        opt.zero_grad()
        if penalty is None:
            task, value = loss_fn(model(xb)[:, 0], yb), None
        elif isinstance(penalty, DeltaSEAL) and penalty.mode != "fd":
            value, fx = penalty(model, xb, return_output=True)
            task = loss_fn(fx[:, 0], yb)
        else:
            fx = model(xb)
            task, value = loss_fn(fx[:, 0], yb), penalty(model, xb, fx=fx)
        loss = task if value is None else task + lam * value
        loss.backward()
        opt.step()
        history.append({"step": step, "task": task.item(),
                        "penalty": None if value is None else value.item()})
        if step % log_every == 0:
            recent = history[-log_every:]
            mean_task = sum(r["task"] for r in recent) / len(recent)
            pen = [r["penalty"] for r in recent if r["penalty"] is not None]
            print(f"step {step:4d}  task loss {mean_task:.4f}" +
                  (f"  penalty {sum(pen) / len(pen):.3e}" if pen else "") +
                  f"  ({time.time() - start:.0f} s)", flush=True)
    model.eval()
    with torch.no_grad():
        scores = torch.cat([model(xt[i:i + 256])[:, 0] for i in range(0, n_test, 256)])
    first = sum(r["task"] for r in history[:log_every]) / log_every
    last = sum(r["task"] for r in history[-log_every:]) / log_every
    result = {"model": model_name, "method": method, "steps": steps, "batch": batch,
              "task_loss_first": first, "task_loss_last": last, "test_auc": auc(scores, yt),
              "seconds": time.time() - start}
    print(json.dumps(result))
    return result


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", choices=sorted(MODELS), default="part")
    ap.add_argument("--method", choices=sorted(PENALTIES), default="gseal")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    return train(args.model, args.method, steps=args.steps, batch=args.batch, seed=args.seed)


if __name__ == "__main__":
    main()
