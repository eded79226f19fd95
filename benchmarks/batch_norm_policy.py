"""The penalties on models with BatchNorm and Dropout in training mode (docs/models.md).

    python benchmarks/batch_norm_policy.py

Prints (float64, Lorentz, 64 massive four-vectors):
(a) δSEAL by its three estimators on a non-invariant MLP with two BatchNorm1d layers in
    training mode: exact, and the mean ± standard error of 400 draws of random and fd;
(b) each penalty on an exactly invariant model (it sees only m²) with BatchNorm1d and
    Dropout(0.3) in training mode, divided by the output's mean square;
(c) how far the running statistics moved when the penalties ran after the task pass.
"""

from __future__ import annotations

import copy
import pathlib
import sys

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from liesoft import GSEAL, DeltaSEAL, Lorentz, Vector4  # noqa: E402

D = torch.float64


def batch(n=64):
    g = torch.Generator().manual_seed(0)
    p = torch.randn(n, 3, generator=g, dtype=D)
    m = 0.5 + torch.rand(n, 1, generator=g, dtype=D)
    return torch.cat([(m ** 2 + (p ** 2).sum(-1, keepdim=True)).sqrt(), p], -1)


def bn_mlp():
    torch.manual_seed(1)
    return torch.nn.Sequential(
        torch.nn.Linear(4, 32), torch.nn.BatchNorm1d(32), torch.nn.Tanh(),
        torch.nn.Linear(32, 32), torch.nn.BatchNorm1d(32), torch.nn.Tanh(),
        torch.nn.Linear(32, 1)).to(D).train()


class Invariant(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.body = torch.nn.Sequential(torch.nn.Linear(1, 32), torch.nn.BatchNorm1d(32),
                                        torch.nn.Tanh(), torch.nn.Dropout(0.3),
                                        torch.nn.Linear(32, 3))

    def forward(self, x):
        return self.body(x[..., :1] ** 2 - (x[..., 1:] ** 2).sum(-1, keepdim=True))


def penalties():
    return {"GSEAL": GSEAL(Lorentz(), Vector4(), beta_max=0.6),
            "δSEAL exact": DeltaSEAL(Lorentz(), Vector4()),
            "δSEAL random": DeltaSEAL(Lorentz(), Vector4(), mode="random"),
            "δSEAL fd": DeltaSEAL(Lorentz(), Vector4(), mode="fd")}


def main():
    x = batch()
    print("(a) BatchNorm MLP, training mode")
    model = bn_mlp()
    print(f"    exact  {DeltaSEAL(Lorentz(), Vector4())(model, x).item():.4f}")
    for mode in ("random", "fd"):
        pen, gen = DeltaSEAL(Lorentz(), Vector4(), mode=mode), torch.Generator().manual_seed(3)
        v = torch.tensor([pen(model, x, generator=gen).item() for _ in range(400)])
        print(f"    {mode:6s} {v.mean().item():.4f} ± {v.std().item() / 20:.4f}")
    print("(b) invariant model with BatchNorm + Dropout(0.3), training mode: penalty / E|f|²")
    for name, pen in penalties().items():
        model = Invariant().to(D).train()
        with torch.no_grad():
            scale = model(x).pow(2).sum(-1).mean().item()
        value = pen(model, x, generator=torch.Generator().manual_seed(0)).item()
        print(f"    {name:13s} {value / scale:.2e}")
    print("(c) max |running_mean change| caused by the penalty after the task pass")
    for name, pen in penalties().items():
        alone = Invariant().to(D).train()
        both = copy.deepcopy(alone)
        alone(x)
        both(x)
        pen(both, x)
        diff = (alone.body[1].running_mean - both.body[1].running_mean).abs().max().item()
        tracked = both.body[1].num_batches_tracked.item()
        print(f"    {name:13s} {diff:.2e}  (num_batches_tracked {tracked}, task pass alone 1)")


if __name__ == "__main__":
    main()
