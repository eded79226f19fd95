"""SEAL toy regression: the paper's Fig. 1 and Fig. 6 (Hebbar et al., §3.1 and App. A), and a
comparison with data augmentation, a hard-invariant MLP and a dual-subnet model.

    python examples/hep/toy_regression.py                  # default: CPU, <= 15 min on 2 idle cores
    python examples/hep/toy_regression.py --preset paper --device cuda   # the paper's configuration
    python examples/hep/toy_regression.py --quick --out /tmp/toy         # < 1 min smoke run
    python examples/hep/toy_regression.py --budget --threads 1    # budgets, see docs/budget.md

Task. Four-vectors ``p`` with every component uniform in [-0.5, 0.5] (not on-shell). Exact case
``f(p) = m^4 + 15 m^2`` with ``m^2 = p.eta.p``; broken case adds ``20.9983 (s.p) - 0.8431 (s.p)^2``
with the spurion ``s = (0, 0, 0, 1e-3)`` and ``s.p`` the Minkowski product (``= -1e-3 p_z``).
Test: a held-out sample boosted along z by ``beta``; the MSE is taken against the true ``f`` of
the *boosted* vectors (in the exact case that is ``f`` of the original vector).

Methods (one "cell" = case x method x lambda x beta_max x seed; all share data, initialisation,
batch order, optimiser and step budget):

* ``baseline``   MLP 4 -> 300 -> 300 -> 300 -> 1 (GELU), MSE only;
* ``gseal``      MSE + lambda * GSEAL (eq. 6), boosts with |beta|^2 ~ U[0, beta_max^2];
* ``dseal``      MSE + lambda * deltaSEAL (eq. 10, exact, 6 Lorentz generators);
* ``augment``    every training input replaced by a randomly boosted copy (same sampler as GSEAL,
                 fresh boost each step); the label stays the one of the original vector;
* ``invariant``  the same MLP on ``m^2`` alone (1 -> 300 -> 300 -> 300 -> 1): exactly invariant,
                 blind to the spurion;
* ``dualsubnet`` ``f(p) = (1 - w) g_inv(m^2) + w g_free(p)``, ``w = sigmoid(a)`` with ``a`` a
                 learned scalar (``dual_init_logit`` = -2: w = 0.12 at the start); ``g_inv``
                 is the invariant MLP above, ``g_free`` the baseline MLP (Nabat et al., PRD 111,
                 072002: a symmetry-constrained and an unconstrained subnet combined through a
                 learned symmetry factor). No other term in the loss.
* ``budget``     MSE + lambda * penalty with lambda set while training by
                 ``liesoft.ViolationBudget`` so that the trained model's penalty (GSEAL at
                 beta_max, or deltaSEAL), measured on held-out vectors, ends at a ``target``;
                 rule ``lr`` (the budget follows the optimizer's learning rate) and
                 ``constant`` (the rule without schedule) side by side; rule ``search``
                 instead finds, with ``liesoft.find_lambda``, the fixed lambda whose
                 trained model's validation penalty is the target (trials in
                 ``search_trials/``, studies/toy_cells.py: search_cell). Only with
                 ``--budget``, which runs these cells against a fixed-lambda front (baseline,
                 GSEAL and deltaSEAL at ``budget_lams_*``; ``--fixed-only``: the front alone)
                 and writes ``budget.csv``, ``budget.md``, ``budget.json``, ``budget.png``,
                 ``budget_traces.png`` and ``budget_search.png`` (the other reports are left
                 alone; cells are shared with the default run in the same ``--out``).

Outputs in ``--out`` (default ``runs/toy_regression``, ``..._paper``, ``..._quick``):
``cells/*.json`` (one per finished cell; a rerun skips them), ``results.csv``
(``case,method,lam,beta_max,seed,beta,mse``; ``beta_max`` is the velocity bound, empty for
methods that draw no boosts), ``best.csv`` (lambda picked per method on a separate validation
sample), ``table.md``, ``summary.md``, ``fig1.png``, ``fig6.png`` and ``comparison.png``.

Default configuration vs the paper (see ``docs/toy_regression.md``): 10^5 training vectors as in
the paper but 10 epochs (1000 Adam steps of batch 1000) with lr 3e-3 and a cosine decay instead
of 1000 epochs at a constant 1e-5, lambda in {0.1, 1, 10, 100} (GSEAL) and {0.01, 1, 100}
(deltaSEAL) instead of {1e-4, ..., 1000}, one seed.
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass

try:  # the repository root is importable (imported as a module, or run from the root) ...
    import examples  # noqa: F401
except ImportError:  # ... or run as a script from elsewhere: examples/hep/_path.py adds it
    import _path  # noqa: F401

from examples.hep import options  # noqa: E402  (no torch: --help answers at once)

# torch and the toy's modules (data/toy.py, models/toy.py, studies/toy_cells.py, toy_budget.py,
# evaluation/toy.py) are imported in main(), so that --help does not wait for them

# ----------------------------------------------------------------------------- configuration
# The default preset; `--preset paper` and `--quick` override some fields (PRESETS below).


@dataclass(frozen=True)
class Config:
    n_train: int = 100_000          # paper: 1e5
    n_val: int = 5_000              # validation sample: picks the "best lambda" of each method
    n_test: int = 10_000            # held-out test sample (boosted along z)
    batch: int = 1000               # paper: 1000
    epochs: int = 10                # paper: 1000
    lr: float = 3e-3                # paper: 1e-5 (constant)
    schedule: str = "cosine"        # "cosine" (to 0 over the run) or "constant" (paper)
    shuffle: bool = True            # the paper's public code does not shuffle
    width: int = 300                # paper: 300
    depth: int = 3                  # hidden layers; paper: 3
    beta_max2: float = 0.95         # GSEAL / augmentation sampler, |beta|^2 ~ U[0, beta_max2]
    lams_gseal: tuple = (0.1, 1.0, 10.0, 100.0)
    lams_dseal: tuple = (0.01, 1.0, 100.0)
    study_beta_max2: tuple = (0.01, 0.25)   # App. A: GSEAL with other beta_max^2 ...
    study_lams: tuple = (1.0, 100.0)        # ... at these lambdas
    small_beta_max2: float = 0.01           # Fig. 6c: GSEAL(lam_d / beta_max^2) vs dSEAL(lam_d)
    test_betas: tuple = tuple(round(0.05 * i, 2) for i in range(20))   # 0, 0.05, ..., 0.95
    table_betas: tuple = (0.0, 0.4, 0.8)
    cases: tuple = ("exact", "broken")
    seeds: tuple = (0,)
    data_seed: int = 20260101
    dual_init_logit: float = -2.0   # w = sigmoid(-2) = 0.12 at initialisation
    eval_chunk: int = 50_000
    threads: int | None = None      # torch CPU threads; None leaves torch's default
    # --budget: targets of Gamma for ViolationBudget (GSEAL at beta_max2, deltaSEAL exact),
    # inside the fixed-lambda front below (docs/budget.md), the rules run side by side and the
    # fixed lambdas of the front
    budget_targets_gseal: tuple = (0.012, 0.02, 0.03)
    budget_targets_dseal: tuple = (1e-3, 2e-4, 3e-5)
    budget_rules: tuple = ("lr", "constant")
    budget_lams_gseal: tuple = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0)
    budget_lams_dseal: tuple = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
    gamma_eval: int = 10_000        # vectors on which each cell's final Gamma is measured
    gamma_val_draws: int = 16       # boost draws of GSEAL's Gamma on the validation vectors
    # --budget, rule "search" (liesoft.find_lambda across fixed-lambda trainings): the first
    # lambda, the landing tolerance and the most trainings per search
    search_lam0: float = 1.0
    search_rtol: float = 0.1
    search_max: int = 6


# the rules of studies/budget_rules.py (named here so that --help imports no torch)
BUDGET_RULE_NAMES = ("lr", "constant", "slow", "clip0.25", "slack6", "sq4", "sq6", "pi", "rate-lr",
                     "rate-lr2", "hold0.9", "search")

PRESETS = {
    "default": {},
    "paper": dict(  # the paper's public configuration (GPU): Adam, lr 1e-5, batch 1000
        n_train=100_000, batch=1000, epochs=1000, lr=1e-5, schedule="constant", shuffle=False,
        lams_gseal=(1e-4, 1e-2, 0.1, 1.0, 10.0, 100.0, 1000.0),
        lams_dseal=(1e-4, 1e-2, 0.1, 1.0, 10.0, 100.0, 1000.0),
        study_beta_max2=(0.01, 0.25, 0.5), study_lams=(0.1, 1.0, 10.0, 100.0),
        n_test=100_000, n_val=20_000,
    ),
    "quick": dict(  # smoke test: every method, case and figure in a few seconds
        n_train=2048, n_val=512, n_test=1024, batch=256, epochs=4, lr=1e-2, width=32,
        lams_gseal=(1.0,), lams_dseal=(1.0,), study_beta_max2=(0.25,), study_lams=(1.0,),
        test_betas=(0.0, 0.2, 0.4, 0.6, 0.8, 0.95),
        threads=1,  # a width-32 net gains nothing from threads, and loses a lot on a busy CPU
        budget_targets_gseal=(1e-2,), budget_targets_dseal=(1e-3,), gamma_eval=512,
        budget_lams_gseal=(1.0,), budget_lams_dseal=(1.0,),
    ),
}
# the methods: models/toy.py; the task: data/toy.py; the cells and their training:
# studies/toy_cells.py


def resolve_device(name: str):
    """``auto`` | ``cpu`` | ``cuda`` -> a ``torch.device`` (cuda only when available)."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda requested but CUDA is not available")
    return torch.device(name)


def parse_args(argv=None):
    p = options.parser(__doc__)
    p.add_argument("--preset", choices=sorted(PRESETS), default="default", metavar="PRESET",
                   help="configuration, one of\n" + options.listing(options.TOY_PRESETS))
    p.add_argument("--quick", action="store_true", help="same as --preset quick (< 1 min)")
    p.add_argument("--out", default=None,
                   help="output folder (default: runs/toy_regression, runs/toy_regression_"
                        "PRESET for the other presets)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="auto: cuda when available, else cpu")
    p.add_argument("--seeds", type=int, nargs="+", default=None,
                   help="training seeds, e.g. --seeds 0 1 2 (default: the preset's, 0)")
    p.add_argument("--cases", nargs="+", choices=("exact", "broken"), default=None,
                   help="targets: exact (invariant f) and/or broken (f + spurion terms) "
                        "(default: both)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default: torch's choice; --quick uses 1)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--budget", action="store_true",
                   help="violation-budget study: the fixed-lambda Fig. 1 cells and the budget "
                        "cells only; writes budget.csv/md/png (docs/budget.md)")
    p.add_argument("--rules", nargs="+", choices=BUDGET_RULE_NAMES, default=None,
                   help="--budget: the budget rules to run: lr (follows the optimizer's learning "
                        "rate, the library's default), constant (the rule without schedule), "
                        "an alternative of studies/budget_rules.py, or search (liesoft."
                        "find_lambda across fixed-λ trainings); default lr and constant")
    p.add_argument("--report", action="store_true",
                   help="--budget: train nothing, rebuild the reports from the cells present")
    p.add_argument("--fixed-only", action="store_true",
                   help="--budget: train only the fixed-lambda front (no budget cells)")
    p.add_argument("--no-front", action="store_true",
                   help="--budget: train only the budget cells (no front); writes only "
                        "budget_traces.png, budget_search.png and their data "
                        "budget_traces.json, budget_search.json (the other reports need the front)")
    p.add_argument("--redraw", action="store_true",
                   help="--budget: train nothing, redraw budget_traces.png and budget_search.png "
                        "from budget_traces.json, budget_search.json in --out")
    p.add_argument("--targets-gseal", type=float, nargs="+", default=None,
                   help="--budget: GSEAL targets of Γ, > 0 (default: the preset's, "
                        + ", ".join(f"{t:g}" for t in Config.budget_targets_gseal) + ")")
    p.add_argument("--targets-dseal", type=float, nargs="+", default=None,
                   help="--budget: deltaSEAL targets of Γ, > 0 (default: the preset's, "
                        + ", ".join(f"{t:g}" for t in Config.budget_targets_dseal) + ")")
    args = p.parse_args(argv)
    if (args.report or args.fixed_only or args.rules or args.no_front or args.redraw) \
            and not args.budget:
        p.error("--report, --fixed-only, --no-front, --redraw and --rules go with --budget")
    if args.fixed_only and args.no_front:
        p.error("--fixed-only (the front alone) and --no-front (no front) exclude each other")
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    import torch

    from examples.hep.data.toy import make_data
    from examples.hep.evaluation.toy import group_runs, make_figures, write_results, write_tables
    from examples.hep.studies.toy_budget import (
        redraw_run_figures,
        write_budget_reports,
        write_run_figures,
    )
    from examples.hep.studies.toy_cells import (
        SEARCH_RULE,
        budget_plan,
        load_cell,
        plan,
        search_cell,
        train_cell,
        write_json,
    )

    preset = "quick" if args.quick else args.preset
    cfg = dataclasses.replace(Config(), **PRESETS[preset])
    if args.seeds:
        cfg = dataclasses.replace(cfg, seeds=tuple(args.seeds))
    if args.cases:
        cfg = dataclasses.replace(cfg, cases=tuple(args.cases))
    if args.threads:
        cfg = dataclasses.replace(cfg, threads=args.threads)
    if args.targets_gseal:
        cfg = dataclasses.replace(cfg, budget_targets_gseal=tuple(args.targets_gseal))
    if args.targets_dseal:
        cfg = dataclasses.replace(cfg, budget_targets_dseal=tuple(args.targets_dseal))
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = args.out or os.path.join("runs", "toy_regression" + ("" if preset == "default"
                                                               else f"_{preset}"))
    device = resolve_device(args.device)
    if args.redraw:
        drawn = redraw_run_figures(cfg, out)
        print(f"redrew {', '.join(drawn) or 'nothing'} in {out}", flush=True)
        return dict(preset=preset, out=out, redrawn=drawn)
    os.makedirs(os.path.join(out, "cells"), exist_ok=True)
    if args.rules:
        cfg = dataclasses.replace(cfg, budget_rules=tuple(dict.fromkeys(args.rules)))
    cells = (budget_plan(cfg, fixed_only=args.fixed_only, front=not args.no_front)
             if args.budget else plan(cfg))
    print(f"toy regression: preset {preset}{', budget study' if args.budget else ''}, "
          f"{len(cells)} cells, device {device}, "
          f"torch threads {torch.get_num_threads()}, out {out}", flush=True)

    t0 = time.perf_counter()
    data = make_data(cfg)
    recs, trained, skipped = [], 0, 0
    for n, cell in enumerate(cells, 1):
        path = os.path.join(out, "cells", cell.key + ".json")
        rec = load_cell(path, cfg)
        if rec is not None:
            skipped += 1
            print(f"[{n}/{len(cells)}] {cell.key}: done, skipped", flush=True)
        elif args.report:
            print(f"[{n}/{len(cells)}] {cell.key}: missing, left out of the report", flush=True)
            continue
        else:
            if cell.rule == SEARCH_RULE:
                rec = search_cell(cell, cfg, data, device, not args.no_progress,
                                  os.path.join(out, "search_trials"))
            else:
                rec = train_cell(cell, cfg, data, device, progress=not args.no_progress)
            write_json(path, rec)
            trained += 1
            t = rec["test_mse"]
            extra = (f", λ {rec['lam_final']:.3g}, Γ̄/target {rec['gamma_ema'] / cell.target:.2f}"
                     if cell.method == "budget" else "")
            if cell.rule == SEARCH_RULE:
                extra += f", {rec['status']} after {rec['trainings']} trainings"
            print(f"[{n}/{len(cells)}] {cell.key}: {rec['train_seconds']:.0f} s, test MSE "
                  f"β=0 {t[0]:.2e}, β={cfg.test_betas[-1]:g} {t[-1]:.2e}{extra}", flush=True)
        recs.append(rec)

    if args.budget and args.no_front:
        written = ", ".join(write_run_figures(recs, cfg, out)) or "no figure (no runs)"
    elif args.budget:
        write_budget_reports(recs, cfg, out)
        written = "budget.csv, budget.md, budget.png and the runs' figures with their data"
    else:
        runs = group_runs(recs)
        write_results(recs, out)
        write_tables(runs, cfg, out)
        make_figures(runs, cfg, out)
        written = "results.csv, fig1.png, fig6.png, comparison.png, table.md, summary.md"
    wall = time.perf_counter() - t0
    summary = dict(preset=preset, out=out, cells=len(cells), trained=trained, skipped=skipped,
                   wall_seconds=round(wall, 1), device=str(device), budget=args.budget)
    write_json(os.path.join(out, "budget_run.json" if args.budget else "run.json"),
               dict(summary, config=dataclasses.asdict(cfg)))
    print(f"done: {trained} trained, {skipped} skipped, {wall:.0f} s; wrote {out}/{written}",
          flush=True)
    return summary


if __name__ == "__main__":
    main()
