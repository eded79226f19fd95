"""How precisely does one GSEAL evaluation measure a trained model's Γ? (docs/budget.md)

``find_lambda`` steers by the trained model's Γ on held-out data, to within a factor 1.1. GSEAL
is a Monte-Carlo estimate (one random group element per vector); with boosts up to
β² = 0.95 (γ ≈ 4.5) a few vectors dominate it. This trains the toy regression's cell
``exact``, GSEAL λ = 1, seed 0 (``examples/hep/toy_regression.py``'s default configuration,
one thread, ~25 s) and evaluates its Γ on the validation, test and training vectors with
``DRAWS`` independent boost draws each (generator seeds 30 000 + d), printing the mean over
the draws and the range of single draws relative to that mean.

    OMP_NUM_THREADS=1 python benchmarks/gamma_estimate_noise.py
"""

import math
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from examples.hep.data.toy import make_data  # noqa: E402
from examples.hep.studies import toy_cells  # noqa: E402
from examples.hep.toy_regression import Config  # noqa: E402
from liesoft import GSEAL, Lorentz, Scalar, Vector4  # noqa: E402

# ----------------------------------------------------------------------------- configuration
CELL = toy_cells.Cell("exact", "gseal", 1.0, 0.95, 0)
DRAWS = 16
N = 10_000          # vectors per set at most (the validation set has 5 000)
# -----------------------------------------------------------------------------


def main() -> dict:
    torch.set_num_threads(1)
    cfg = Config()
    data = make_data(cfg)
    trained = {}

    def keep(model, x, *args, **kwargs):     # the trained model, as the cell evaluates it
        trained["model"] = model
        return real(model, x, *args, **kwargs)

    real, toy_cells.boosted_mse = toy_cells.boosted_mse, keep
    try:
        toy_cells.train_cell(CELL, cfg, data, torch.device("cpu"), progress=False)
    finally:
        toy_cells.boosted_mse = real
    model = trained["model"].eval()
    gseal = GSEAL(Lorentz(), Vector4(), Scalar(), beta_max=math.sqrt(cfg.beta_max2))
    out = {}
    for name, x in zip(("validation", "test", "train"), (data[1], data[2], data[0]),
                       strict=True):
        x = x[:N].float()
        with torch.no_grad():
            draws = [float(gseal(model, x, generator=torch.Generator().manual_seed(30_000 + d)))
                     for d in range(DRAWS)]
        mean = sum(draws) / DRAWS
        out[name] = dict(vectors=len(x), mean=mean, first=draws[0] / mean,
                         low=min(draws) / mean, high=max(draws) / mean)
        print(f"{name:10s} {len(x):6d} vectors: mean of {DRAWS} draws Γ = {mean:.4g}; single "
              f"draws {min(draws) / mean:.2f}–{max(draws) / mean:.2f}× it (the first, seed "
              f"30000: {draws[0] / mean:.2f}×)")
    return out


if __name__ == "__main__":
    main()
