"""Re-audit a trained toptag.py model in float32 and float64: is its boost violation rounding?

    python examples/hep/audit_checkpoint.py runs/toptag/checkpoints/table1_lgatr_seed0.pt \
        --cache-dir /tmp/freshcache --jets 300

Loads the best weights of a ``toptag.py`` checkpoint (the method and study are read from its
file name ``{study}_{method}_seed{n}.pt``), takes the first ``--jets`` test jets of that study's
data (same generation, cut and split as toptag.py) and prints the mean |σ(f(Λx)) − σ(f(x))| for
random boosts of each ``--magnitudes``, once with the model in float32 and once in float64. An
exactly invariant model (L-GATr) drops to ~1e-12 in float64; a soft-constrained one does not.
"""

from __future__ import annotations

import pathlib
import re

try:  # the repository root is importable (imported as a module, or run from the root) ...
    import examples  # noqa: F401
except ImportError:  # ... or run as a script from elsewhere: examples/hep/_path.py adds it
    import _path  # noqa: F401

from examples.hep import options  # noqa: E402  (no torch: --help answers at once)


def main(argv=None):
    ap = options.parser(__doc__)
    ap.add_argument("checkpoint", help="a toptag.py checkpoint, "
                    "OUT/checkpoints/{table1|extrapolation}_{method}_seed{n}.pt")
    ap.add_argument("--preset", choices=list(options.TOPTAG_PRESETS), default="cpu",
                    metavar="PRESET", help="the toptag.py preset the checkpoint was trained "
                    "with (its data and model sizes), one of\n"
                    + options.listing(options.TOPTAG_PRESETS))
    ap.add_argument("--cache-dir", default=None,
                    help="jet cache folder of that run (default: ~/.cache/liesoft)")
    ap.add_argument("--jets", type=int, default=300, help="test jets to audit, >= 1")
    ap.add_argument("--magnitudes", default=options.AUDIT_MAGNITUDES,
                    help="comma list of boost magnitudes |β| in [0, 1)")
    ap.add_argument("--lgatr-spurions", action="store_true",
                    help="the checkpoint is an L-GATr with spurion tokens "
                         "(toptag.py --lgatr-spurions)")
    args = ap.parse_args(argv)
    import torch

    from examples.hep import training
    from examples.hep.experiment import METHODS, Source, resolve
    from examples.hep.models import lgatr_tagger, networks
    from examples.hep.studies.top_tagging import PRESETS
    from examples.hep.tasks.tagging import network_config
    from liesoft import Lorentz, Vector4, invariance_profile
    path = pathlib.Path(args.checkpoint)
    match = re.fullmatch(r"(table1|extrapolation)_([a-z]+)_seed\d+\.pt", path.name)
    if match is None or match.group(2) not in METHODS:
        ap.error(f"expected a toptag checkpoint named {{table1|extrapolation}}_{{method}}_seed"
                 f"{{n}}.pt with method in {sorted(METHODS)}, got {path.name!r}")
    if match.group(2) == "lgatr" and not lgatr_tagger.available():
        ap.error(lgatr_tagger.MISSING_MESSAGE)
    if not path.is_file():
        ap.error(f"no such checkpoint: {path}")
    if args.jets < 1:
        ap.error(f"--jets must be >= 1, got {args.jets}")
    study, name = match.groups()
    magnitudes = [float(m) for m in args.magnitudes.split(",")]
    cfg = PRESETS[args.preset]
    ctx = training.Context(0, 1, torch.device("cpu"), False, path.parent, False)
    data = training.load_data(Source("pythia", args.cache_dir), cfg, ctx,
                              wide=study == "extrapolation")
    x = torch.from_numpy(training.split(data)[2]["x"][: args.jets])
    method = resolve(name, args.preset, networks.sizes)
    model = networks.build(method.network, network_config(
        cfg, method, args.preset, "cpu", lgatr_spurions=args.lgatr_spurions))
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True)["best_model"])
    model.eval()
    print(f"{path.name}: mean |σ(f(Λx)) − σ(f(x))| on {len(x)} test jets, random boosts")
    for dtype in (torch.float32, torch.float64):
        m = model.to(dtype)
        prof = invariance_profile(lambda z, m=m: torch.sigmoid(m(z)), x.to(dtype), Lorentz(),
                                  Vector4(), magnitudes=magnitudes, families=["boost"],
                                  generator=torch.Generator().manual_seed(7))
        cells = ", ".join(f"|β| {b}: {v:.2e}" for b, v in zip(magnitudes,
                                                               prof.mean["boost"].tolist(),
                                                               strict=True))
        print(f"  {str(dtype).removeprefix('torch.')}: {cells}")


if __name__ == "__main__":
    main()
