"""Top tagging with SEAL on real simulated jets: the paper's Table 1 and Fig. 2-5.

    python examples/hep/toptag.py                      # the first run: preset first, table1+timing
    python examples/hep/toptag.py --quick              # < 2 min smoke run (used by the tests)
    python examples/hep/toptag.py --preset cpu         # the CPU preset's main job (+ extrapolation)
    python examples/hep/toptag.py --preset cpu --study full --resume  # 3 seeds, λ scan, cost
    python examples/hep/toptag.py --budget gseal=2e-3  # a violation budget instead of lambda
    python examples/hep/toptag.py --methods part_baseline,part_gseal,part_dseal --seeds 3 \
        --studies table1,timing                        # ParT (weaver-core) with SEAL
    python examples/hep/toptag.py --preset paper --device cuda --seeds 5
    torchrun --nproc_per_node 4 examples/hep/toptag.py --preset paper   # DDP on 4 GPUs
    python examples/hep/toptag.py --data atlas:/data/train.h5        # ATLAS open data (rec. 15013)
    python examples/hep/toptag.py --data reference:/data/test.h5     # Kasieczka et al. 2019 set

Methods (``--methods``) are a network × a penalty (``experiment.py``): the built-in names
below, or ``NET:PENALTY`` with a network of ``models/`` or a network file of yours
(``--methods my_net.py:baseline,my_net.py:gseal``, docs/models.md).

Studies (``--studies``; their definitions and presets are in ``studies/top_tagging.py``,
the training loop in ``training/loop.py``):
1. *table1*: jets in the default window (550-650 GeV), metrics (AUC, balanced accuracy,
   background rejection 1/eps_B at eps_S = 0.3 and 0.5, step times), invariance under random
   3-D boosts (Fig. 2) and balanced accuracy vs pT on original and boosted jets (Fig. 3);
2. *timing*: train and eval step of every method, interleaved in one run (Table 2);
3. *extrapolation*: wide-pT jets (350-3000 GeV), trained on pT <= --pt-cut, evaluated over
   the whole range (Fig. 4: balanced accuracy, Fig. 5: rejection, vs pT), lambda = 1 (paper);
   its smaller training set runs more epochs, as many optimizer steps as Table 1
   (``studies.top_tagging.matched_schedule``: 29 epochs, patience 9 in the CPU preset);
4. *lambda_scan*: Fig. 2 for GSEAL lambda in {0.1, 1, 10} and δSEAL in {0.01, 0.1, 1} (one seed);
5. *cost*: what SEAL buys per unit of cost: GSEAL with ``fraction`` 0.25 / 0.5, δSEAL
   ``mode="fd"`` and the trained baseline fine-tuned with GSEAL for 2 epochs (one seed).
``--study full`` = all five with 3 seeds (the documented multi-seed study, ``--preset cpu``).
Without ``--studies``, the default preset ``first`` runs table1 and timing, the others
table1, timing and extrapolation; the run ends with a summary (table, outputs, next commands).

δSEAL lambdas are in the paper's units: its top-tagging code sums the six squared Lie
derivatives per jet (``DeltaSEAL(..., reduction="sum")``), eq. 10 averages them, so the
paper's lambda_δ = 0.01 is 0.06 in eq. 10's units (docs/penalties.md).

Penalties act on the tagger's probability sigma(logit) by default, as in the paper, whose
tagger ends in a sigmoid and whose lambdas (GSEAL 1, δSEAL 0.01) are set for it;
``--penalty-on logit`` penalises the logit instead (derivatives of the probability shrink as the
tagger grows confident; logit differences do not, so scale lambda down, roughly by
sigma'(z)^2 <= 1/16). The figures and metrics use the probability.
Outputs in --out: metrics.json, table1.md, fig2_invariance.png, fig3_accuracy_vs_pt.png,
fig4_extrapolation.png, fig5_rejection_vs_pt.png, extrapolation.md, timing.md (train/eval step
per 256 jets, all methods interleaved in one run: the paper's Table 2), lambda_scan.md,
fig2_lambda_scan.png, cost.md, fig_cost_frontier.png, details.json, checkpoints/.
"""

import argparse
import json
import pathlib
import time

try:  # the repository root is importable (imported as a module, or run from the root) ...
    import examples  # noqa: F401
except ImportError:  # ... or run as a script from elsewhere: examples/hep/_path.py adds it
    import _path  # noqa: F401

from examples.hep import experiment, options  # noqa: E402  (no torch: --help answers at once)

# ----------------------------------------------------------------------------- configuration
# PRESETS (cpu, quick, paper), the λs of the extrapolation and the λ scan: studies/top_tagging.py;
# the methods (Table 1's, ParT and ParticleNet with the same penalties, the cost study's
# variants) and the networks: experiment.py. Defaults of the command line:
DEFAULT_METHODS = "baseline,gseal,dseal"
DEFAULT_STUDIES = "table1,timing,extrapolation"
DEFAULT_PRESET = "first"  # no --preset: the first run, Table 1 + Table 2 in <= 10 min on 2 cores
PRESET_STUDIES = {"first": "table1,timing"}  # a preset's own default --studies
# -----------------------------------------------------------------------------


def parse_args(argv=None):
    ap = options.parser(__doc__)
    ap.add_argument("--preset", choices=list(options.TOPTAG_PRESETS), default=DEFAULT_PRESET,
                    metavar="PRESET", help="sizes of data, model and training, one of\n"
                    + options.listing(options.TOPTAG_PRESETS))
    ap.add_argument("--quick", action="store_true", help="same as --preset quick")
    ap.add_argument("--data", default="pythia",
                    help="pythia (jets generated here, cached) | generated:PATH (a jet file "
                         "generated before, read as is) | atlas:PATH (ATLAS open data, "
                         "record 15013) | reference:PATH (Kasieczka et al. 2019 top-tagging set)")
    ap.add_argument("--methods", default=DEFAULT_METHODS,
                    help="comma list of methods, among\n"
                    + experiment.method_help(experiment.TOPTAG_METHODS))

    ap.add_argument("--budget", default="",
                    help="violation-budget methods, e.g. gseal=2e-3,dseal=1e-3 (gseal and/or "
                         "dseal, targets > 0): lambda set while training so that the penalty's "
                         "EMA meets the target; adds gseal_budget / dseal_budget to --methods "
                         "(default: none)")
    ap.add_argument("--seeds", type=int, default=None,
                    help="trainings per method, >= 1 (mean ± std; default: 1, "
                         f"{options.TOPTAG_FULL_STUDY['seeds']} with --study full)")
    ap.add_argument("--pt-cut", type=float, default=None,
                    help="extrapolation study: train on jets with pT <= this [GeV] (default: "
                         "the preset's, 1000)")
    ap.add_argument("--studies", default=None,
                    help="comma list of studies, among\n" + options.listing(options.TOPTAG_STUDIES)
                    + f"\n(default: {PRESET_STUDIES[DEFAULT_PRESET]} with preset "
                    f"{DEFAULT_PRESET}, {DEFAULT_STUDIES} with the others)")
    ap.add_argument("--study", choices=["full"], default=None,
                    help="full: " + options.TOPTAG_FULL_STUDY["studies"]
                    + f" with {options.TOPTAG_FULL_STUDY['seeds']} seeds, the documented study "
                    "with --preset cpu (default: none, the studies of --studies)")
    ap.add_argument("--penalty-on", choices=["prob", "logit"], default="prob",
                    help="penalise the probability sigma(logit) (paper) or the logit")
    ap.add_argument("--lgatr-spurions", action="store_true",
                    help="L-GATr with the beam and time direction as extra spurion tokens")
    options.add_run_arguments(ap, "runs/toptag")
    ap.add_argument("--interrupt-after", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    from examples.hep.models import lgatr_tagger, networks
    from examples.hep.studies.top_tagging import FULL_STUDY, STUDIES
    from examples.hep.tasks.tagging import WEAVER_MISSING_MESSAGE, weaver_available

    if args.quick:
        args.preset = "quick"
    names = [m for m in args.methods.split(",") if m]
    if not (names or args.budget):
        ap.error(f"--methods must not be empty without --budget, got {args.methods!r}")
    try:
        methods = [experiment.resolve(m, args.preset, networks.sizes) for m in names]
    except ValueError as err:
        ap.error(f"--methods must be a comma list of built-in methods or NET:PENALTY "
                 f"(--help lists them): {err}")
    try:
        budgets = experiment.parse_budget(args.budget)
    except ValueError as err:
        ap.error(str(err))
    from examples.hep.studies.top_tagging import PRESETS
    from examples.hep.tasks.tagging import network_config

    for m in methods:  # a network file of yours is checked before any data or training
        if networks.is_file(m.network):
            try:
                networks.check(m.network, network_config(PRESETS[args.preset], m, args.preset))
            except ValueError as err:
                ap.error(str(err))
    if any(m.network == "lgatr" for m in methods) and not lgatr_tagger.available():
        ap.error(lgatr_tagger.MISSING_MESSAGE)
    if any(m.network in experiment.WEAVER_NETWORKS for m in methods) and not weaver_available():
        ap.error(WEAVER_MISSING_MESSAGE)
    args.methods = methods + [experiment.budget_method(p, t) for p, t in budgets.items()]
    full = args.study == "full"
    studies = args.studies or (FULL_STUDY["studies"] if full else
                               PRESET_STUDIES.get(args.preset, DEFAULT_STUDIES))
    args.studies = [s for s in studies.split(",") if s]
    if not set(args.studies) <= set(STUDIES) or not args.studies:
        ap.error(f"--studies must be a comma list of {','.join(STUDIES)}, got {args.studies}")
    if args.seeds is None:
        args.seeds = FULL_STUDY["seeds"] if full else 1
    if args.seeds < 1:
        ap.error("--seeds must be >= 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    import torch
    import torch.distributed as dist

    from examples.hep.studies.top_tagging import PRESETS, STUDIES, STUDY_FUNCTIONS
    from examples.hep.tasks.tagging import tagger_task
    from examples.hep.training import setup

    cfg = dict(PRESETS[args.preset])
    if args.epochs is not None:
        if args.epochs < 1:
            raise SystemExit(f"--epochs must be >= 1, got {args.epochs}")
        cfg["epochs"] = args.epochs
    ctx = setup(args.device, args.out, progress=not args.no_progress, resume=args.resume,
                interrupt_after=args.interrupt_after)
    torch.set_float32_matmul_precision("high")
    exp = experiment.Experiment(
        preset=args.preset, methods=tuple(args.methods), seeds=args.seeds,
        source=experiment.Source(args.data, args.cache_dir, args.workers), pt_cut=args.pt_cut,
        task=tagger_task(args.preset, penalty_on=args.penalty_on, device=ctx.device.type,
                         lgatr_spurions=args.lgatr_spurions))
    names = [m.name for m in exp.methods]
    ctx.log(f"preset {args.preset}, methods {names}, seeds {args.seeds}, device "
            f"{ctx.device}, world size {ctx.world}, data {args.data}")
    details = {"preset": args.preset, "config": cfg, "methods": names,
               "seeds": args.seeds, "data": args.data}
    t0 = time.perf_counter()
    details["study_wall_s"] = {}
    for study in STUDIES:  # in this order, whatever the order given
        if study in args.studies:
            t1 = time.perf_counter()
            STUDY_FUNCTIONS[study](exp, cfg, ctx, details)
            details["study_wall_s"][study] = time.perf_counter() - t1
    details["wall_s"] = time.perf_counter() - t0
    # the training time behind the results, resumed or not: summed train steps per model
    details["training_s"] = {f"{tag}/{method}/seed {seed}" + ("" if lam is None else f"/λ {lam:g}"):
                             info["train_s"] for (tag, method, seed, lam), (_, info)
                             in ctx.trained.items()}
    details["training_s_total"] = sum(details["training_s"].values())
    if ctx.main:
        (ctx.out / "details.json").write_text(json.dumps(details, indent=1, default=float))
        ctx.log(f"done in {details['wall_s'] / 60:.1f} min; outputs in {ctx.out}")
        print(summary(args, details, ctx.out), flush=True)
    if ctx.world > 1:
        dist.destroy_process_group()


def summary(args, details: dict, out) -> str:
    """The closing lines of a run: per method AUC, 1/ε_B at ε_S = 0.3, mean |Δσ| at |β| = 0.5,
    boosted balanced accuracy and the interleaved train-step ratio (seed 0 and the mean over
    seeds where several), the files written to ``out`` and what to run next."""
    from examples.hep.evaluation.tagging import label

    lines = [f"\nSummary: preset {args.preset}, {args.seeds} seed(s), "
             f"{details['wall_s'] / 60:.1f} min"]
    runs = details.get("table1", {})
    steps = details.get("timing", {}).get("median_s", {})
    ref = steps.get("baseline", {}).get("train")
    if runs:
        lines += ["| method | AUC | 1/ε_B (0.3) | mean |Δσ| at |β| = 0.5 | boosted bal. acc. | "
                  "train step / baseline |", "|---|---|---|---|---|---|"]
        for m, rs in runs.items():
            def mean(values):
                return sum(values) / len(values)
            inv = [r["invariance"]["mean"][r["invariance"]["magnitudes"].index(0.5)]
                   for r in rs if "invariance" in r and 0.5 in r["invariance"]["magnitudes"]]
            ratio = (f"{steps[m]['train'] / ref:.2f}" if ref and m in steps else "–")
            lines.append(f"| {label(m)} | {mean([r['auc'] for r in rs]):.4f} | "
                         f"{mean([r['rejection_at_0.3'] for r in rs]):.1f} | "
                         + (f"{mean(inv):.4f}" if inv else "–") + " | "
                         f"{mean([r['boosted']['balanced_accuracy'] for r in rs]):.4f} | "
                         f"{ratio} |")
        lines.append("(–: not measured in this run; ratios from the timing study)")
    written = sorted(p.name for p in pathlib.Path(out).iterdir() if p.is_file())
    lines.append(f"Outputs in {out}: " + ", ".join(written) + "; checkpoints/")
    nxt = ["Next:"]
    if "extrapolation" not in args.studies:
        nxt.append("  the extrapolation to 3 TeV (Fig. 4-5): python examples/hep/toptag.py "
                   f"--preset {args.preset} --studies extrapolation --resume --out {out}")
    if args.preset != "cpu" or args.study != "full":
        nxt.append("  the documented 3-seed study (docs/top_tagging.md; hours on 2 cores): "
                   "python examples/hep/toptag.py --preset cpu --study full --resume "
                   "--out runs/toptag_full")
    nxt.append("  every option: python examples/hep/toptag.py --help")
    return "\n".join(lines + nxt)


if __name__ == "__main__":
    main()
