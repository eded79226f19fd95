"""N-body dynamics under E(3) with the symmetry broken by a field (issue 31): SEAL against an
exact EGNN, the paper's GNN and augmentation.

    python examples/nbody/nbody.py --quick          # every method once, small data (< 5 min)
    python examples/nbody/nbody.py --timing         # seconds per step, batch 100, 3 000 traj.
    python examples/nbody/nbody.py --report         # tables from the result files
    python examples/nbody/nbody.py --fields uniform --strengths 0,0.3 --seeds 0,1,2 \
        --methods baseline,gseal,egnn --epochs 60  # any grid; finished trainings are skipped

One JSON per training in ``--out``/results (method, field, ε, seed, size, λ, test MSE, test
violation, epochs, seconds). The set-up, the measured step times and the proposed study:
docs/nbody.md. Modules: ``data/`` (simulator, dataset), ``models/`` (GNN, EGNN, methods),
``training.py`` (the loop, step timing), ``evaluation.py`` (metrics, tables).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time

if __package__ in (None, ""):  # run as a script: make ``examples`` importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

import torch

from examples.nbody.data import load_data
from examples.nbody.evaluation import evaluate, load_results, report, save_result
from examples.nbody.models import METHODS
from examples.nbody.study import run_worker
from examples.nbody.summary import render_answer, write_report
from examples.nbody.training import Experiment, Schedule, step_seconds, train

# ----------------------------------------------------------------------------- configuration
SIZES = (3000, 2000, 2000)             # train / validation / test (the EGNN paper's)
DATA_SEED = 0
# λ until the validation scan of docs/nbody.md replaces them (penalties sum |Δx|² over the
# 15 output coordinates, the MSE averages them: λ = 0.03 puts λΓ near the MSE at init)
LAMBDA = {"gseal": 0.03, "dseal": 0.03, "gseal_sub": 0.03}
QUICK = {"sizes": (1000, 500, 500), "epochs": 10, "fields": ("uniform",), "strengths": (0.3,),
         "seeds": (0,), "methods": tuple(METHODS), "eval_every": 5}
DEFAULT = {"sizes": SIZES, "epochs": 10, "fields": ("uniform",), "strengths": (0.0,),
           "seeds": (0,), "methods": ("baseline", "gseal", "egnn"), "eval_every": 5}


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="every method once, small data")
    p.add_argument("--report", action="store_true", help="print the tables and stop")
    p.add_argument("--timing", action="store_true",
                   help="median seconds per training step (batch 100) and of a test evaluation"
                        " (written to OUT/timing.json)")
    p.add_argument("--study", action="store_true",
                   help="one worker of the issue-31 study (study.py: plan in OUT/plan.json, "
                        "claims, resumable); start two for two cores")
    p.add_argument("--out", default="runs/nbody", help="results go to OUT/results")
    p.add_argument("--cache-dir", default=None, help="simulated data (default runs/nbody/cache)")
    p.add_argument("--methods", help=f"comma list of {','.join(METHODS)}")
    p.add_argument("--fields", help="comma list of none,uniform,trap")
    p.add_argument("--strengths", help="comma list of ε")
    p.add_argument("--seeds", help="comma list of training seeds")
    p.add_argument("--train-sizes", help="comma list of training sizes (default: all)")
    p.add_argument("--sizes", help="train,val,test trajectories to simulate")
    p.add_argument("--epochs", type=int)
    p.add_argument("--doc", help="with --report: write the rendered answer into this markdown "
                                 "file between its nbody-report markers (docs/nbody.md)")
    p.add_argument("--lam", action="append", default=[], metavar="METHOD=λ",
                   help="override a penalty's λ (repeatable)")
    return p.parse_args(argv)


def _list(text, cast):
    return tuple(cast(v) for v in text.split(","))


def config(args) -> dict:
    """The run's configuration: preset (quick or default) overridden by the options."""
    cfg = dict(QUICK if args.quick else DEFAULT, lam=dict(LAMBDA))
    for key, cast in (("methods", str), ("strengths", float), ("seeds", int), ("sizes", int)):
        if getattr(args, key):
            cfg[key] = _list(getattr(args, key), cast)
    if args.fields:
        cfg["fields"] = tuple(None if f == "none" else f for f in args.fields.split(","))
    cfg["train_sizes"] = _list(args.train_sizes, int) if args.train_sizes else (cfg["sizes"][0],)
    if args.epochs:
        cfg["epochs"] = args.epochs
    for item in args.lam:
        name, value = item.split("=")
        cfg["lam"][name] = float(value)
    unknown = set(cfg["methods"]) - set(METHODS)
    if unknown:
        raise SystemExit(f"unknown methods {sorted(unknown)}; known: {', '.join(METHODS)}")
    return cfg


def experiments(cfg):
    schedule = Schedule(epochs=cfg["epochs"], eval_every=cfg["eval_every"])
    for field in cfg["fields"]:
        for eps in cfg["strengths"]:
            for size in cfg["train_sizes"]:
                for name in cfg["methods"]:
                    for seed in cfg["seeds"]:
                        yield Experiment(METHODS[name], field, eps, cfg["lam"].get(name, 0.0),
                                         seed, size, schedule)


def run_timing(cfg, cache_dir):
    data = load_data(SIZES, DATA_SEED, field="uniform", strength=0.3, cache_dir=cache_dir)
    exps = [Experiment(METHODS[m], "uniform", 0.3, cfg["lam"].get(m, 0.0), 0, SIZES[0],
                       Schedule(epochs=1)) for m in cfg["methods"]]
    seconds = step_seconds(exps, data)
    evals = {}
    for e in exps:
        model = e.method.build(e.field, e.strength)
        evals[e.method.name] = evaluate(model, data["test"])["eval_seconds"]
    print("| method | train step (s, batch 100, median of 30) | test evaluation (s, 2 000) |")
    print("|---|---|---|")
    for name in seconds:
        print(f"| {name} | {seconds[name]:.4f} | {evals[name]:.2f} |")
    return seconds, evals


def main(argv=None):
    args = parse(argv)
    cfg = config(args)
    results = pathlib.Path(args.out) / "results"
    if args.report:
        print(report(load_results(results)))
        out = pathlib.Path(args.out)
        if results.exists():
            plan_path = out / "plan.json"
            m = write_report(out, load_results(results), scan=load_results(out / "scan"),
                             anchor=load_results(out / "anchor"), doc=args.doc,
                             plan=json.loads(plan_path.read_text()) if plan_path.exists()
                             else None)
            print(render_answer(m))
            print(f"wrote {out / 'metrics.json'}, {out / 'answer.md'}, "
                  f"{', '.join(m['figures'])}" + (f"; the answer into {args.doc}"
                                                  if args.doc else ""))
        return
    torch.set_num_threads(1)
    if args.timing:
        seconds, evals = run_timing(cfg, args.cache_dir)
        save_result(pathlib.Path(args.out) / "timing.json",
                    {"step_seconds": seconds, "eval_seconds": evals, "loadavg": os.getloadavg(),
                     "command": "python examples/nbody/nbody.py --timing"})
        return
    if args.study:
        lam = {k: v for k, v in LAMBDA.items()}
        run_worker(args.out, args.cache_dir, timing=lambda: run_timing(
            dict(cfg, methods=tuple(METHODS), lam=lam), args.cache_dir))
        return
    start, data = time.perf_counter(), {}
    for exp in experiments(cfg):
        path = results / f"{exp.tag}.json"
        if path.exists():
            print(f"skip {exp.tag} (done)")
            continue
        key = (exp.field, exp.strength)
        if key not in data:
            data[key] = load_data(cfg["sizes"], DATA_SEED, field=exp.field,
                                  strength=exp.strength, cache_dir=args.cache_dir)
        model, info = train(exp, data[key], log=print)
        record = {"method": exp.method.name, "field": exp.field, "strength": exp.strength,
                  "seed": exp.seed, "train_size": exp.train_size, "lam": exp.lam,
                  **evaluate(model, data[key]["test"]), **info}
        save_result(path, record)
        print(f"{exp.tag}: test MSE {record['test_mse']:.4g}, violation "
              f"{record['test_violation']:.3g}, {record['train_seconds']:.1f} s")
    print(report(load_results(results)))
    print(f"wall time {time.perf_counter() - start:.0f} s; results in {results}")


if __name__ == "__main__":
    main()
