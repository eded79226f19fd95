"""Where does SEAL pay? Top tagging with 1 000 to 21 000 training jets: the baseline tagger,
+ GSEAL, + δSEAL, + boost augmentation, and the same backbone made exactly Lorentz invariant
with LLoCa (issue 23; docs/data_efficiency.md).

    python examples/hep/data_efficiency.py                        # the study, resumable
    python examples/hep/data_efficiency.py --methods lloca,dseal  # some methods (another process)
    python examples/hep/data_efficiency.py --timing               # interleaved train-step ratios
    python examples/hep/data_efficiency.py --report               # metrics.json, table, figures
    python examples/hep/data_efficiency.py --quick                # seconds: a smoke run (tests)

Sizes, seeds, the training length per size and the early stopping are in
``studies/efficiency.py`` (configuration at its top); the methods in
``experiment.py``. Every (method, size, seed) writes ``results/<name>.json`` in
``--out`` when it finishes and is skipped afterwards; an interrupted training resumes from its
checkpoint. Processes may share one ``--out`` (e.g. one per core with ``OMP_NUM_THREADS=1``);
each one, and ``--report``, rebuilds ``metrics.json`` (method -> size -> metric -> mean, std,
number of seeds), ``table.md``, ``auc_vs_size.png``, ``rejection_vs_size.png`` and
``invariance_vs_size.png`` from every result present. Train-step ratios: ``--timing`` measures
every method's step interleaved on one batch (``step_times.json``, read by the report).
"""


try:  # the repository root is importable (imported as a module, or run from the root) ...
    import examples  # noqa: F401
except ImportError:  # ... or run as a script from elsewhere: examples/hep/_path.py adds it
    import _path  # noqa: F401

from examples.hep import options  # noqa: E402  (no torch: --help answers at once)

# ----------------------------------------------------------------------------- configuration
DEFAULT_METHODS = "baseline,augment,gseal,lloca,dseal,gseal_f0.25"
DEFAULT_SIZES = "1000,3000,10000,full"
QUICK_SIZES = "100,full"  # with the quick preset: 840 jets in all
# -----------------------------------------------------------------------------


def parse_args(argv=None):
    ap = options.parser(__doc__)
    ap.add_argument("--preset", choices=["cpu", "first", "quick"], default="cpu",
                    help="data, model and optimiser of toptag.py's preset (default: cpu)")
    ap.add_argument("--quick", action="store_true",
                    help=f"the quick preset with sizes {QUICK_SIZES}, 1 seed")
    ap.add_argument("--methods", default=DEFAULT_METHODS,
                    help="comma list among baseline, augment, gseal, lloca, dseal, gseal_f0.25, "
                         f"lgatr, augment_gseal (default: {DEFAULT_METHODS})")
    ap.add_argument("--sizes", default=None,
                    help=f"comma list of training sizes, 'full' = the whole split (default: "
                         f"{DEFAULT_SIZES})")
    ap.add_argument("--seeds", type=int, default=None,
                    help="seeds at every size (default: 3 below the full size, 1 at it)")
    ap.add_argument("--report", action="store_true",
                    help="only rebuild metrics.json, table.md and the figures from --out")
    ap.add_argument("--timing", action="store_true",
                    help="only time every method's train step, interleaved on one batch of "
                         "training jets (step_times.json: the table's train-step ratios)")
    ap.add_argument("--data", default="pythia", help="as toptag.py's --data (default: pythia)")
    options.add_run_arguments(ap, "runs/data_efficiency")
    args = ap.parse_args(argv)
    if args.quick:
        args.preset, args.sizes = "quick", args.sizes or QUICK_SIZES
        args.seeds = args.seeds or 1
    from examples.hep.experiment import resolve
    from examples.hep.models import networks
    from examples.hep.studies.efficiency import METHODS

    names = [m for m in args.methods.split(",") if m]
    bad = [m for m in names if m not in METHODS]
    if bad or not names:
        ap.error(f"--methods must be a comma list of {', '.join(METHODS)}, got {bad or '(none)'}")
    args.methods = tuple(resolve(m, args.preset, networks.sizes) for m in names)
    try:
        args.sizes = [None if s == "full" else int(s)
                      for s in (args.sizes or DEFAULT_SIZES).split(",") if s]
    except ValueError:
        ap.error(f"--sizes must be a comma list of integers and 'full', got {args.sizes!r}")
    if not args.sizes or any(n is not None and n < 2 for n in args.sizes):
        ap.error(f"--sizes must be >= 2 jets each, got {args.sizes}")
    if args.seeds is not None and args.seeds < 1:
        ap.error(f"--seeds must be >= 1, got {args.seeds}")
    return args


def main(argv=None):
    args = parse_args(argv)
    import torch

    from examples.hep.experiment import Experiment, Source
    from examples.hep.studies import efficiency as study
    from examples.hep.studies.top_tagging import PRESETS
    from examples.hep.tasks.tagging import tagger_task
    from examples.hep.training import setup

    cfg = dict(PRESETS[args.preset])
    # always resumable: result files and checkpoints
    ctx = setup(args.device, args.out, progress=not args.no_progress, resume=True)
    exp = Experiment(preset=args.preset, methods=args.methods, seeds=args.seeds,
                     source=Source(args.data, args.cache_dir, args.workers),
                     task=tagger_task(args.preset, device=ctx.device.type))
    if args.timing:
        out = study.timing(exp, cfg, ctx, steps=5 if args.quick else 20)
        ctx.log("train step / baseline: " + ", ".join(f"{m} {r:.2f}"
                                                      for m, r in out["ratio"].items()))
    elif not args.report:
        torch.set_float32_matmul_precision("high")
        if any(m.network == "lloca" for m in exp.methods):
            from examples.hep.models import lloca_tagger

            if not lloca_tagger.available():
                raise SystemExit(lloca_tagger.MISSING_MESSAGE)
        with ctx.timed("trainings"):
            study.run_study(exp, cfg, ctx, args.sizes)
    ctx.print_report(study.report, "table.md")


if __name__ == "__main__":
    main()
