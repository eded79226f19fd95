"""Smoke check of the LLoCa tagger on real generated jets (a jetgen cache file): constituent
multiplicities, how many jets take the <= 3-constituent fallback, and 6 epochs on 1 000 jets
interleaved with the same-size JetTransformer (finite float32 training, validation BCE/AUC on the
other jets, train-step ratio), then the trained LLoCa model's invariance (``invariance_profile``,
boosts |beta| = 0.1 / 0.5 / 0.9, 300 validation jets) in float32 and float64. One seed, a few
dozen steps: a smoke test, not a result.

    OMP_NUM_THREADS=1 python benchmarks/lloca_real_jets_smoke.py ~/.cache/liesoft/jets/<file>.h5
"""

import pathlib
import statistics
import sys
import time

import h5py
import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from sklearn.metrics import roc_auc_score

from examples.hep.models.lloca_tagger import LLoCaTagger  # noqa: E402
from examples.hep.models.tagger import JetTransformer  # noqa: E402
from liesoft import Lorentz, Vector4, invariance_profile  # noqa: E402


def main(path):
    with h5py.File(path, "r") as h:
        x = torch.from_numpy(h["constituents"][:, :50]).float()
        y = torch.from_numpy(h["labels"][:]).float()
    n = (x != 0).any(-1).sum(1)
    print(f"constituents (of 50 slots): min {int(n.min())}, median {float(n.float().median())},"
          f" mean {float(n.float().mean()):.1f}; jets with <= 3: {int((n <= 3).sum())} of {len(n)}")
    torch.manual_seed(0)
    perm = torch.randperm(len(y))
    x, y = x[perm], y[perm]
    xt, yt, xv, yv = x[:1000], y[:1000], x[1000:], y[1000:]  # needs > 1000 jets
    size = dict(d=64, layers=2, heads=4, hidden=128, hidden_layers=3)
    models = {"base": JetTransformer(**size), "lloca": LLoCaTagger(**size)}
    models["lloca"].init_standardization(xt)
    opts = {k: torch.optim.AdamW(m.parameters(), lr=5e-4, weight_decay=1e-2)
            for k, m in models.items()}
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    times = {k: [] for k in models}
    g = torch.Generator().manual_seed(0)
    for ep in range(6):
        order = torch.randperm(1000, generator=g)
        for i in range(0, 1000, 250):
            idx = order[i:i + 250]
            for k, m in models.items():
                m.train()
                t0 = time.perf_counter()
                opts[k].zero_grad()
                loss = bce(m(xt[idx]).squeeze(-1), yt[idx])
                loss.backward()
                opts[k].step()
                times[k].append(time.perf_counter() - t0)
                assert torch.isfinite(loss)
        msg = []
        with torch.no_grad():
            for k, m in models.items():
                out = m.eval()(xv).squeeze(-1)
                auc = roc_auc_score(yv.numpy(), out.numpy())
                msg.append(f"{k}: val BCE {bce(out, yv).item():.4f}, AUC {auc:.3f}")
        print(f"epoch {ep + 1}: " + "; ".join(msg), flush=True)
    med = {k: statistics.median(t) for k, t in times.items()}
    print(f"median s/step (batch 250): base {med['base']:.3f}, lloca {med['lloca']:.3f}, "
          f"ratio {med['lloca'] / med['base']:.2f}")
    for dtype in (torch.float32, torch.float64):
        m = models["lloca"].to(dtype).eval()
        with torch.no_grad():
            prof = invariance_profile(m, xv[:300].to(dtype), Lorentz(), Vector4(),
                                      magnitudes=(0.1, 0.5, 0.9), families=["boost"],
                                      generator=torch.Generator().manual_seed(0))
        vals = " / ".join(f"{v:.2e}" for v in prof.mean["boost"].tolist())
        print(f"trained LLoCa invariance ({dtype}), |beta| = 0.1 / 0.5 / 0.9: {vals}")


if __name__ == "__main__":
    main(sys.argv[1])
