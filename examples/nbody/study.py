"""The issue-31 study as a queue: λ scan, uniform field, trap, size study, step timing, anchor.

    python examples/nbody/nbody.py --study --out docs/nbody      # one worker; start two

Every training is one item of :func:`plan` (in priority order, so an interrupted study is
still useful: the λ scan, then the uniform field cell by cell with all seeds of a cell
together, then the trap, the size study, the step timing, the anchor). Workers share the
queue through claim files (``OUT/claims/TAG``, holding the worker's pid; a claim of a dead
process is taken over), skip items whose result file exists (resumable) and items whose λ is
not chosen yet (the scan of that cell unfinished). The plan's numbers (epochs, λ grid, stop
time) are read from ``OUT/plan.json`` before each item, so they can be changed while the
workers run; :data:`DEFAULT_PLAN` is written there when it is missing.

λ: for each (method, field, ε) of the scan, the λ of the lowest **validation** MSE (best
validation epoch, one seed, ``scan_epochs`` epochs): :func:`chosen_lambdas`, written to
``OUT/lambda.json`` by the report. ``gseal_sub`` takes ``gseal``'s λ of the same cell (same
penalty scale); ``dseal`` at ε ≠ 0 takes its ε = 0 λ; the trap at ε = 0 is the uniform ε = 0
(identical data and models), so it is not trained twice.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import pathlib
import time

import torch

from .data import load_data
from .evaluation import evaluate, load_results, save_result
from .models import METHODS
from .training import Experiment, Schedule, train

__all__ = ["DEFAULT_PLAN", "plan", "chosen_lambdas", "run_worker", "read_plan"]

DEFAULT_PLAN = {
    "epochs": 20,                 # the grid's epochs at 3 000 trajectories (30 steps each)
    "eval_every": 5,
    "scan_epochs": 10,
    "scan_lams": [0.001, 0.01, 0.1, 1.0],
    "seeds": [0, 1, 2],
    "uniform_strengths": [0.0, 0.3, 1.0, 0.03],
    "uniform_methods": ["baseline", "gseal", "egnn", "augment", "gseal_sub", "egnn_field"],
    "dseal_strengths": [0.0, 0.3],
    "trap_strengths": [0.3, 1.0, 0.03],
    "trap_methods": ["baseline", "gseal", "egnn", "egnn_field"],
    "size_methods": ["baseline", "gseal", "egnn"],
    "train_sizes": [100, 300, 1000],
    "anchor_methods": ["egnn", "baseline"],
    "anchor_eval_every": 10,
    "full_size": 3000,
    "stop_at": "18:40",          # UTC: no item starts after this; the anchor stops by it
}
SCAN = {"gseal": [("uniform", 0.0), ("uniform", 0.3), ("uniform", 1.0), ("uniform", 0.03),
                  ("trap", 0.3), ("trap", 1.0), ("trap", 0.03)],
        "dseal": [("uniform", 0.0)]}


def read_plan(out) -> dict:
    path = pathlib.Path(out) / "plan.json"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(DEFAULT_PLAN, indent=1))
    return dict(DEFAULT_PLAN, **json.loads(path.read_text()))


def chosen_lambdas(scan_results: list[dict], plan: dict) -> dict:
    """``{(method, field, ε): λ}`` of the lowest validation MSE, for complete scans only."""
    out = {}
    for method, cells in SCAN.items():
        for fld, eps in cells:
            runs = {r["lam"]: r["val_mse"] for r in scan_results
                    if (r["method"], r["field"], r["strength"]) == (method, fld, eps)}
            if all(lam in runs for lam in plan["scan_lams"]):
                out[(method, fld, eps)] = min(plan["scan_lams"], key=lambda lam: runs[lam])
    return out


def _lam_for(method, fld, eps, lams):
    """The grid's λ of a method in a cell (``None``: not chosen yet)."""
    if method in ("baseline", "augment", "egnn", "egnn_field"):
        return 0.0
    key_method = "gseal" if method == "gseal_sub" else method
    if method == "dseal":
        eps = 0.0
    if fld == "trap" and eps == 0:
        fld = "uniform"
    return lams.get((key_method, fld, eps))


def plan(p: dict, lams: dict) -> list[dict]:
    """The study's items in priority order: ``{"kind", "dir", "exp" or None, ...}``."""
    items = []
    sched = Schedule(epochs=p["scan_epochs"], eval_every=p["eval_every"])
    for method, cells in SCAN.items():
        for fld, eps in cells:
            for lam in p["scan_lams"]:
                items.append({"kind": "scan", "dir": "scan", "exp": Experiment(
                    METHODS[method], fld, eps, lam, 0, p["full_size"], sched)})
    grid = Schedule(epochs=p["epochs"], eval_every=p["eval_every"])

    def cell(fld, eps, methods, size=p["full_size"], schedule=grid):
        for method in methods:
            lam = _lam_for(method, fld, eps, lams)
            for seed in p["seeds"]:
                items.append({"kind": "grid", "dir": "results", "key": (method, fld, eps, seed,
                              size), "exp": None if lam is None else Experiment(
                                  METHODS[method], fld, eps, lam, seed, size, schedule)})

    for eps in p["uniform_strengths"]:
        methods = list(p["uniform_methods"])
        if eps in p["dseal_strengths"]:
            methods.append("dseal")
        cell("uniform", eps, methods)
    for eps in p["trap_strengths"]:
        cell("trap", eps, p["trap_methods"])
    for size in p["train_sizes"]:       # as many optimiser steps as the 3 000 runs
        factor = p["full_size"] // size
        cell("uniform", 0.0, p["size_methods"], size,
             Schedule(epochs=p["epochs"] * factor, eval_every=p["eval_every"] * factor))
    items.append({"kind": "timing", "dir": ".", "exp": None})
    for method in p["anchor_methods"]:
        items.append({"kind": "anchor", "dir": "anchor", "exp": Experiment(
            METHODS[method], "uniform", 0.0, 0.0, 0, p["full_size"],
            Schedule(epochs=100000, eval_every=p["anchor_eval_every"]))})
    return items


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _claim(claims: pathlib.Path, tag: str) -> bool:
    claims.mkdir(parents=True, exist_ok=True)
    path = claims / tag
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                pid = int(path.read_text() or 0)
            except (OSError, ValueError):
                return False
            if pid and _alive(pid):
                return False
            path.unlink(missing_ok=True)      # a dead worker's claim
            continue
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        return True
    return False


def _stop_time(p) -> float:
    hh, mm = map(int, p["stop_at"].split(":"))
    now = dt.datetime.now(dt.timezone.utc)
    stop = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
    return time.time() + (stop - now).total_seconds()


def _tag(item) -> str:
    return item["kind"] if item["kind"] == "timing" else item["exp"].tag


def run_worker(out, cache_dir=None, log=print, timing=None) -> int:
    """Take items until none is left or the stop time passes; returns trainings done."""
    out = pathlib.Path(out)
    data, done = {}, 0
    torch.set_num_threads(1)

    def get(fld, eps):
        if (fld, eps) not in data:
            data.clear()                      # one cell's data at a time (memory)
            data[(fld, eps)] = load_data((3000, 2000, 2000), 0, field=fld, strength=eps,
                                         cache_dir=cache_dir)
        return data[(fld, eps)]

    while True:
        p = read_plan(out)
        stop = _stop_time(p)
        if time.time() > stop:
            log("stop time passed: no new item")
            return done
        lams = chosen_lambdas(load_results(out / "scan"), p)
        item = None
        for it in plan(p, lams):
            if it["exp"] is None and it["kind"] != "timing":
                continue                      # λ not chosen yet
            path = out / it["dir"] / (_tag(it) + ".json")
            if path.exists() or not _claim(out / "claims", _tag(it)):
                continue
            if path.exists():                 # finished between the check and the claim
                (out / "claims" / _tag(it)).unlink(missing_ok=True)
                continue
            item = it
            break
        if item is None:
            log("nothing left to start")
            return done
        tag = _tag(item)
        path = out / item["dir"] / (tag + ".json")
        log(f"[{dt.datetime.now(dt.timezone.utc):%H:%M:%S}] start {tag}")
        if item["kind"] == "timing":
            seconds, evals = timing()
            save_result(path, {"step_seconds": seconds, "eval_seconds": evals,
                               "command": "OMP_NUM_THREADS=1 nice -n 10 python "
                                          "examples/nbody/nbody.py --study (timing item)",
                               "loadavg": os.getloadavg()})
        else:
            exp = item["exp"]
            split = get(exp.field, exp.strength)
            deadline = stop if item["kind"] == "anchor" else None
            model, info = train(exp, split, log=log, deadline=deadline)
            record = {"method": exp.method.name, "field": exp.field, "strength": exp.strength,
                      "seed": exp.seed, "train_size": exp.train_size, "lam": exp.lam,
                      "stage": item["kind"], **evaluate(model, split["test"]), **info,
                      "loadavg_end": os.getloadavg()}
            save_result(path, record)
            log(f"{tag}: test MSE {record['test_mse']:.4g}, violation "
                f"{record['test_violation']:.3g}, {record['train_seconds']:.1f} s")
        (out / "claims" / tag).unlink(missing_ok=True)
        done += 1
