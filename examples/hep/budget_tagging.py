"""Violation budgets on the tagger against its fixed-λ front (issue 22; docs/budget.md).

    python examples/hep/budget_tagging.py                 # the study (preset first), resumable
    python examples/hep/budget_tagging.py --fixed-only    # the front alone (one process) ...
    python examples/hep/budget_tagging.py --budgets-only  # ... the budgets (another process)
    python examples/hep/budget_tagging.py --budgets-only --rules search --penalties gseal
    python examples/hep/budget_tagging.py --report        # metrics.json, report.md, figures
    python examples/hep/budget_tagging.py --quick         # seconds: a smoke run (tests)

Per seed: the baseline, GSEAL and δSEAL at fixed λs (the front) and, per penalty at its target
(``--targets``), a ``ViolationBudget`` (rule ``lr``) and a ``liesoft.find_lambda`` search
(rule ``search``, its trials steered by Γ on validation jets), trained with the tagger's recipe
(AdamW, one-cycle learning rate, early stopping); every trained model's Γ is measured on
held-out test jets with the penalty itself. The λs, targets and seeds are at the top of
``studies/tagger_budget.py``. One result file per training in ``--out/results`` (finished
trainings are skipped; processes may share ``--out``); each process, and ``--report``,
rebuilds the report from every result present.
"""


try:  # the repository root is importable (imported as a module, or run from the root) ...
    import examples  # noqa: F401
except ImportError:  # ... or run as a script from elsewhere: examples/hep/_path.py adds it
    import _path  # noqa: F401

from examples.hep import options  # noqa: E402  (no torch: --help answers at once)

# ----------------------------------------------------------------------------- configuration
DEFAULT_PRESET = "first"   # toptag.py's first-run tagger: 12 epochs, 30 constituents, d = 48
# -----------------------------------------------------------------------------


def parse_args(argv=None):
    ap = options.parser(__doc__)
    ap.add_argument("--preset", choices=["cpu", "first", "quick"], default=DEFAULT_PRESET,
                    help=f"data, model and optimiser of toptag.py's preset (default: "
                         f"{DEFAULT_PRESET})")
    ap.add_argument("--quick", action="store_true", help="the quick preset, 1 seed")
    ap.add_argument("--seeds", type=int, default=None, help="seeds 0 … N−1 (default: 3)")
    ap.add_argument("--first-seed", type=int, default=0, help="start at this seed (default 0)")
    ap.add_argument("--penalties", default="gseal,dseal",
                    help="comma list of gseal, dseal (default: both)")
    ap.add_argument("--targets", default=None,
                    help="budget targets, e.g. gseal=1e-2,dseal=0.1 (default: the study's)")
    ap.add_argument("--rules", default="lr,search",
                    help="comma list of the budget rules to run: lr (ViolationBudget following "
                         "the learning rate), search (liesoft.find_lambda); default both")
    ap.add_argument("--fixed-only", action="store_true", help="only the baseline and fixed λs")
    ap.add_argument("--budgets-only", action="store_true", help="only the budget runs")
    ap.add_argument("--report", action="store_true",
                    help="only rebuild metrics.json, report.md and the figures from --out")
    ap.add_argument("--data", default="pythia", help="as toptag.py's --data (default: pythia)")
    options.add_run_arguments(ap, "runs/budget_tagging")
    args = ap.parse_args(argv)
    if args.quick:
        args.preset, args.seeds = "quick", args.seeds or 1
    args.penalties = [p for p in args.penalties.split(",") if p]
    if not args.penalties or any(p not in ("gseal", "dseal") for p in args.penalties):
        ap.error(f"--penalties must be a comma list of gseal, dseal, got {args.penalties}")
    args.rules = [r for r in args.rules.split(",") if r]
    if not args.rules or any(r not in ("lr", "search") for r in args.rules):
        ap.error(f"--rules must be a comma list of lr, search, got {args.rules}")
    if args.fixed_only and args.budgets_only:
        ap.error("--fixed-only and --budgets-only exclude each other")
    if args.seeds is not None and args.seeds < 1:
        ap.error(f"--seeds must be >= 1, got {args.seeds}")
    from examples.hep.experiment import parse_budget

    try:
        args.targets = parse_budget(args.targets) if args.targets else None
    except ValueError as err:
        ap.error(str(err))
    return args


def main(argv=None):
    args = parse_args(argv)
    import torch

    from examples.hep.experiment import Experiment, Source
    from examples.hep.studies import tagger_budget as study
    from examples.hep.studies.top_tagging import PRESETS
    from examples.hep.tasks.tagging import tagger_task
    from examples.hep.training import setup

    cfg = dict(PRESETS[args.preset])
    if args.epochs:
        cfg["epochs"] = args.epochs
    # always resumable: result files and checkpoints
    ctx = setup(args.device, args.out, progress=not args.no_progress, resume=True)
    exp = Experiment(preset=args.preset, methods=(), seeds=args.seeds,
                     source=Source(args.data, args.cache_dir, args.workers),
                     task=tagger_task(args.preset, device=ctx.device.type))
    if not args.report:
        torch.set_float32_matmul_precision("high")
        targets = dict(study.TARGETS, **(args.targets or {}))
        runs = [r for r in study.plan(args.first_seed + (args.seeds or study.SEEDS),
                                      args.penalties, targets, args.budgets_only,
                                      args.fixed_only, args.rules) if r[3] >= args.first_seed]
        with ctx.timed("trainings"):
            study.run_study(exp, cfg, ctx, runs)
    ctx.print_report(study.report, "report.md")


if __name__ == "__main__":
    main()
