"""SEAL on an equivariant output: regress the particle-level jet four-momentum from the
detector-level constituents.

    python examples/hep/jet_regression.py                  # the main job: CPU preset, one seed
    python examples/hep/jet_regression.py --quick          # < 2 min smoke run (the tests)
    python examples/hep/jet_regression.py --seeds 2 --resume --out runs/jet_regression
    python examples/hep/jet_regression.py --device cuda --seeds 3

The task. Input: the detector-level constituents ``(B, N, 4)`` (E, px, py, pz) in GeV of
wide-pT top and QCD jets as in ``toptag.py`` (350-3000 GeV), seen by its detector plus a
non-compensating calorimeter response (``DETECTOR``); output: a
four-vector ``(B, 4)`` in TeV (``regressors.SCALE``); target: the particle-level jet
four-momentum (the sum of the particles the detector model was given, ``jetgen``). The map is
Lorentz-*equivariant* at particle level (``f(Λx) = Λ f(x)``), the detector (acceptance, a fixed
cell grid, thresholds, smearing) breaks it: the soft constraint's use case. Training on jets
with detector-level pT <= ``pt_cut`` (1 TeV), testing on all.

Loss (``resolution_loss``): per jet the squared relative errors of the energy, of the
three-momentum and, to first order, of the mass (``p·δp / m²``, regulated by m0 = 10 GeV),
a convex quadratic form in the output, each term Huber-clipped at 10 %. An MSE of the four
components lets a 1 % error of E alone move the mass of a 1 TeV top jet by ~30 %; a loss on the
log of the predicted mass diverged (jets pushed off the mass shell, where its clamp has no
gradient).

Methods (``--methods``):
* ``baseline``: :class:`regressors.JetRegressor`, the tagger's transformer backbone with a
  generic four-output head correcting the measured jet (not equivariant by construction);
* ``gseal``: + GSEAL with ``out_rep=Vector4()``: ``|f(Λx) − Λ f(x)|²`` (eq. 6);
* ``dseal``: + δSEAL, exact (eq. 10, averaged over the six generators). With k = 4 outputs
  and n = 6 generators the ``auto`` route is ``reverse``: one vector-Jacobian product per
  output component (4 double-backward passes) is cheaper than one Jacobian-vector product per
  generator (6);
* ``dseal_random``: + δSEAL ``mode="random"``: the one-pass unbiased estimator (one
  vector-Jacobian product of a Gaussian projection of the output serves all generators);
* ``equivariant``: :class:`regressors.EquivariantRegressor`, ``Σ_i w_i p_i`` with weights from
  Lorentz invariants: exactly equivariant, no penalty.
λ (``LAMBDA`` in ``tasks/regression.py``) was chosen by the scan in
docs/jet_regression.md (``--lam gseal=…,dseal=…``).

Metrics (test set): response (median of predicted / true) and resolution (IQR/2 of that
ratio) of E, pT and m, in and above the training range, per particle-level pT bin, and on the
test jets boosted by GSEAL's sampler with their targets boosted alike; the detector-level jet
(sum of its constituents) as the reference; the relative violation ``|f(Λx) − Λ f(x)|/|f(x)|``
vs |β| (random boosts and per generator); exact vs random δSEAL on the trained models
(``expectation``); the interleaved train-step ratios (``timing``).
Outputs in --out: metrics.json, results.md, fig_resolution_vs_pt.png,
fig_response_vs_pt.png, fig_violation.png, fig_violation_per_generator.png, details.json,
checkpoints/.
"""

# ----------------------------------------------------------------------------- configuration
PRESETS = {
    # the wide-pT settings of toptag.py's cpu preset with the regression's DETECTOR (a cache
    # file of its own): 7 520 training jets below the cut
    # (sized for <= 15 min with all five methods: exact δSEAL with 4 outputs costs ~7 steps)
    "cpu": dict(n_wide=40_000, wide_bins=10, max_constituents=40, d=32, layers=2, heads=4,
                hidden=64, hidden_layers=3, batch=128, epochs=10, lr=1e-3, weight_decay=1e-2,
                patience=10, pt_cut=1000.0, n_audit=1000, n_check=256),  # the best epoch
    # is kept; no early stop (patience 3 stopped a baseline at epoch 5 of a one-cycle schedule)
    "quick": dict(n_wide=1_000, wide_bins=5, max_constituents=30, d=16, layers=1, heads=2,
                  hidden=16, hidden_layers=1, batch=128, epochs=2, lr=2e-3, weight_decay=1e-2,
                  patience=2, pt_cut=1000.0, n_audit=64, n_check=32),
}
# the detector of toptag.py plus a non-compensating calorimeter response R(E) = 1 - 0.5 (E/GeV)^-0.3
# per cell (0.38 at 0.5 GeV, 0.75 at 10 GeV, 0.94 at 1 TeV): without it the measured jet's energy
# is unbiased to 0.2 % and its 2.2 % spread is cell smearing no regression can undo (measured)
DETECTOR = dict(response=0.5, response_power=0.3)  # DetectorConfig fields beyond the defaults
# METHODS (baseline, gseal, dseal, dseal_random, equivariant) and their λ (LAMBDA), the loss and
# the networks: tasks/regression.py
BOOST_MAGNITUDES = (0.1, 0.3, 0.5, 0.7, 0.9)
EXPECTATION_DRAWS = 300  # random-mode draws against one exact δSEAL value
TIMING_STEPS = 20
# -----------------------------------------------------------------------------

import json  # noqa: E402
import time  # noqa: E402

try:  # the repository root is importable (imported as a module, or run from the root) ...
    import examples  # noqa: F401
except ImportError:  # ... or run as a script from elsewhere: examples/hep/_path.py adds it
    import _path  # noqa: F401

from examples.hep import options  # noqa: E402  (no torch: --help answers at once)

# torch, numpy, training, evaluation and models are imported in the functions that use them,
# so that --help does not wait for them


def parse_args(argv=None):
    ap = options.parser(__doc__)
    ap.add_argument("--preset", choices=sorted(PRESETS), default="cpu", metavar="PRESET",
                    help="sizes of data, model and training, one of\n"
                    + options.listing(options.REGRESSION_PRESETS))
    ap.add_argument("--quick", action="store_true", help="same as --preset quick")
    ap.add_argument("--methods", default=",".join(options.REGRESSION_METHODS),
                    help="comma list of methods, among\n"
                    + options.listing(options.REGRESSION_METHODS))
    lams = ",".join(f"{k}={v:g}" for k, v in options.REGRESSION_LAMBDA_DEFAULT.items())
    ap.add_argument("--lam", default="",
                    help="penalty weights λ replacing the defaults (" + lams + ", from the λ "
                         "scan of docs/jet_regression.md) for gseal and/or dseal (dseal also "
                         "sets dseal_random's); values finite and >= 0, e.g. "
                         "gseal=0.1,dseal=10 (default: the defaults)")
    ap.add_argument("--seeds", type=int, default=1,
                    help="trainings per method, >= 1 (mean ± std)")
    ap.add_argument("--no-timing", action="store_true",
                    help="skip the interleaved train-step timing")
    options.add_run_arguments(ap, "runs/jet_regression")
    args = ap.parse_args(argv)
    from examples.hep.tasks.regression import METHODS

    if args.quick:
        args.preset = "quick"
    args.methods = [m for m in args.methods.split(",") if m]
    unknown = [m for m in args.methods if m not in METHODS]
    if unknown or not args.methods:
        ap.error(f"--methods must be a comma list of {list(METHODS)}, got {unknown or '[]'}")
    try:
        args.lams = parse_lambdas(args.lam)
    except ValueError as err:
        ap.error(str(err))
    if args.seeds < 1:
        ap.error(f"--seeds must be >= 1, got {args.seeds}")
    if args.epochs is not None and args.epochs < 1:
        ap.error(f"--epochs must be >= 1, got {args.epochs}")
    return args


def parse_lambdas(text: str) -> dict:
    """``"gseal=0.1,dseal=10"`` -> ``{"gseal": 0.1, "dseal": 10.0}`` (finite, >= 0)."""
    from examples.hep.experiment import parse_values
    from examples.hep.tasks.regression import LAMBDA

    return parse_values(text, "--lam", tuple(LAMBDA), allow_zero=True)


# ----------------------------------------------------------------------------- data
def prepare(source, cfg, ctx) -> dict:
    """The wide sample with its targets: train / validation restricted to detector-level pT
    <= the cut, the whole test set, its boosted copy and the audit jets."""
    import numpy as np
    import torch

    from examples.hep import training as T
    from examples.hep.data.detector import DetectorConfig
    from examples.hep.data.jetgen import WIDE_WINDOW
    from examples.hep.models.regressors import SCALE

    data = T.load_data(source, cfg, ctx, wide=True, targets=True,
                       detector=DetectorConfig(**DETECTOR))
    data["t"] = (data["p_true"] / SCALE).astype(np.float32)
    train, val, test = T.split(data)
    inside = lambda d: {k: v[d["pt"] <= cfg["pt_cut"]] for k, v in d.items()}  # noqa: E731
    train, val = inside(train), inside(val)
    x_b, p_b, p_det_b = T.boost_jets(test["x"], 99, test["p_true"], test["p_det"])
    return {"train": train, "val": val, "test": test, "x_boost": x_b, "p_boost": p_b,
            "path": data["path"], "p_det_boost": p_det_b,
            "edges": np.linspace(*WIDE_WINDOW, cfg["wide_bins"] + 1),
            "audit_x": torch.from_numpy(test["x"][: cfg["n_audit"]]).to(ctx.device)}


def summarise(pred, pred_boost, d, cfg) -> dict:
    """Response and resolution in / above the training range, boosted and per bin."""
    from examples.hep.evaluation import regression as rev

    test = d["test"]
    cut = test["pt"] <= cfg["pt_cut"]
    pt_true = rev.kinematics4(test["p_true"])["pt"]
    return {"inside": rev.response_resolution(pred, test["p_true"], cut),
            "above": rev.response_resolution(pred, test["p_true"], ~cut),
            "boosted": rev.response_resolution(pred_boost, d["p_boost"]),
            "binned": rev.binned_response(pred, test["p_true"], pt_true, d["edges"])}


def evaluate(model, info, d, cfg, ctx, seed) -> dict:
    from examples.hep.evaluation import regression as rev
    from examples.hep.tasks.regression import predict

    run = summarise(predict(model, d["test"]["x"], ctx), predict(model, d["x_boost"], ctx),
                    d, cfg)
    model.eval()
    run["violation"] = rev.relative_violation(model, d["audit_x"], BOOST_MAGNITUDES)
    run["violation_at_0.5"] = run["violation"]["mean"]["boost"][BOOST_MAGNITUDES.index(0.5)]
    if seed == 0:
        run["violation_per_generator"] = rev.relative_violation(
            model, d["audit_x"], BOOST_MAGNITUDES, per_generator=True)
    run.update(train_step_s=info["train_step_s"], history=info["history"],
               epochs_trained=info["epochs_trained"])
    return run


def log_run(ctx, method, seed, run):
    i, b = run["inside"], run["boosted"]
    violation = (f"{run['violation_at_0.5']:.3e}" if "violation_at_0.5" in run
                 else "– (no model: the measured jet)")
    ctx.log(f"[{method}/seed {seed}] inside: σ(E) {i['E']['resolution']:.4f}, σ(m) "
            f"{i['m']['resolution']:.4f}, ⟨E⟩ {i['E']['response']:.4f}; boosted: σ(E) "
            f"{b['E']['resolution']:.4f}, σ(m) {b['m']['resolution']:.4f}; violation at "
            f"|β| = 0.5: {violation}")


# ----------------------------------------------------------------------------- main
def main(argv=None):
    args = parse_args(argv)
    import torch

    from examples.hep import training as T
    from examples.hep.evaluation import regression as rev
    from examples.hep.experiment import Source
    from examples.hep.tasks.regression import LAMBDA, METHODS, REGRESSOR, methods

    cfg = dict(PRESETS[args.preset])
    if args.epochs is not None:
        cfg["epochs"] = args.epochs
    ctx = T.setup(args.device, args.out, progress=not args.no_progress, resume=args.resume)
    if ctx.world > 1:
        raise SystemExit("jet_regression.py runs in one process (no DDP)")
    torch.set_float32_matmul_precision("high")
    t0 = time.perf_counter()
    ctx.log(f"preset {args.preset}, methods {args.methods}, seeds {args.seeds}, device "
            f"{ctx.device}, lambda {dict(LAMBDA, **args.lams)}")
    d = prepare(Source("pythia", args.cache_dir, args.workers), cfg, ctx)
    ctx.log(f"{len(d['train']['t'])} train / {len(d['val']['t'])} val jets (detector pT <= "
            f"{cfg['pt_cut']:g} GeV), {len(d['test']['t'])} test jets")
    details = {"preset": args.preset, "config": cfg, "methods": args.methods,
               "seeds": args.seeds, "lambda": dict(LAMBDA, **args.lams),
               "data": str(d["path"])}
    raw = summarise(d["test"]["p_det"], d["p_det_boost"], d, cfg)
    log_run(ctx, "raw", 0, raw)
    runs = {"raw": [raw]}
    checks = {}
    for m in methods(args.methods):
        method = m.name
        runs[method] = []
        # --lam replaces the default λ (LAMBDA) and names the checkpoints with it
        spec_lam = args.lams.get(m.penalty.kind) if m.penalty is not None else None
        for seed in range(args.seeds):
            model, info = T.train_one("regression", m, seed, d["train"], d["val"], cfg, ctx,
                                      lam=spec_lam, task=REGRESSOR)
            run = evaluate(model, info, d, cfg, ctx, seed)
            runs[method].append(run)
            log_run(ctx, method, seed, run)
            if seed == 0 and method in ("baseline", "dseal", "dseal_random"):
                xc = torch.from_numpy(d["test"]["x"][: cfg["n_check"]]).to(ctx.device)
                checks[method] = rev.expectation_check(  # independent draws per model
                    model, xc, EXPECTATION_DRAWS, seed=list(METHODS).index(method))
                ctx.log(f"[{method}] δSEAL exact {checks[method]['exact']:.4e}, random "
                        f"{checks[method]['random_mean']:.4e} ± {checks[method]['random_sem']:.1e}"
                        f" (z = {checks[method]['z']:.2f})")
    details["runs"], details["expectation"] = runs, checks
    if not args.no_timing:
        t = d["train"]
        timed = methods(args.methods, args.lams)  # at the run's λs
        med = T.interleaved_step_times(timed, cfg, ctx, steps=TIMING_STEPS, task=REGRESSOR,
                                       batch=(torch.from_numpy(t["x"][:cfg["batch"]]),
                                              torch.from_numpy(t["t"][:cfg["batch"]])))
        details["timing"] = {"median_s": med, "steps": TIMING_STEPS, "batch": cfg["batch"]}
        ref = med.get("baseline", next(iter(med.values())))["train"]
        for m in args.methods:
            for r in runs[m]:
                r["train_step_ratio"] = med[m]["train"] / ref
        ctx.log("train step / baseline (interleaved): "
                + ", ".join(f"{m} {med[m]['train'] / ref:.2f}" for m in args.methods))
    write_outputs(runs, details, cfg, ctx)
    details["wall_s"] = time.perf_counter() - t0
    (ctx.out / "details.json").write_text(json.dumps(details, indent=1, default=float))
    ctx.log(f"done in {details['wall_s'] / 60:.1f} min; outputs in {ctx.out}")


def write_outputs(runs, details, cfg, ctx):
    from examples.hep.evaluation import regression as rev

    drop = ("history", "binned", "violation", "violation_per_generator")
    metrics = {m: [{k: v for k, v in r.items() if k not in drop} for r in rs]
               for m, rs in runs.items()}
    metrics_json = {"per_seed": metrics, "expectation": details.get("expectation", {}),
                    "timing": details.get("timing"), "lambda": details["lambda"]}
    (ctx.out / "metrics.json").write_text(json.dumps(metrics_json, indent=1, default=float))
    text = rev.results_markdown(metrics, cfg["pt_cut"])
    (ctx.out / "results.md").write_text(text)
    print("\n" + text)
    rev.write_figures(runs, cfg["pt_cut"], ctx.out)


if __name__ == "__main__":
    main()
