"""The data-efficiency study of ``data_efficiency.py`` (issue 23): where does SEAL pay?

Every method trains the CPU preset's tagger on class-balanced, nested subsets of Table 1's
training split (1 000, 3 000, 10 000 jets and the whole split) and is evaluated on Table 1's
validation and test sets, the same for all: AUC, 1/ε_B at ε_S = 0.3 and 0.5, invariance under
random boosts (|β| = 0.1 / 0.5 / 0.9), balanced accuracy on boosted test jets.

Training length: ``S = max(MIN_EPOCHS epochs, MIN_STEPS optimizer steps)`` (a 1 000-jet set
gets 200 epochs of 4 steps, not 40 steps), the one-cycle schedule spanning ``S``; validation
every ``max(1 epoch, VAL_STEPS steps)`` and early stopping after ``PATIENCE_STEPS`` steps
without improvement (:func:`schedule`; at the full size this is Table 1's 10 epochs, patience
3). One result file per (method, size, seed) in ``out/results/``: finished trainings are
skipped, interrupted ones resume from their checkpoints, and :func:`report` rebuilds
``metrics.json`` and the figures from every result file present (several processes may share
one ``out``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import time

import numpy as np

from examples.hep import training
from examples.hep.evaluation import style
from examples.hep.evaluation import tagging as ev
from examples.hep.studies import top_tagging

# ----------------------------------------------------------------------------- configuration
SIZES = (1_000, 3_000, 10_000, None)  # None: Table 1's whole training split
SEEDS_BELOW_FULL = 3
SEEDS_FULL = 1
MIN_EPOCHS, MIN_STEPS = 10, 800
VAL_STEPS, PATIENCE_STEPS = 40, 240
# the quick preset (smoke runs, tests): the same rules, scaled down
QUICK_SCHEDULE = dict(min_epochs=2, min_steps=24, val_steps=8, patience_steps=16)
# in priority order (an interrupted study is still useful); lgatr only where time allows
METHODS = ("baseline", "augment", "gseal", "lloca", "dseal", "gseal_f0.25", "lgatr",
           "augment_gseal")
BETAS = (0.1, 0.5, 0.9)
METRICS = ("auc", "balanced_accuracy", "rejection_at_0.3", "rejection_at_0.5",
           "boosted_balanced_accuracy", *(f"invariance_at_{b:g}" for b in BETAS),
           "epochs_trained", "steps_trained", "train_s")
# -----------------------------------------------------------------------------


def schedule(n_train: int, batch: int, *, min_epochs: int = MIN_EPOCHS,
             min_steps: int = MIN_STEPS, val_steps: int = VAL_STEPS,
             patience_steps: int = PATIENCE_STEPS) -> dict:
    """Epochs, validation interval and patience (in validations) of a training on ``n_train``
    jets: ``max(min_epochs, ceil(min_steps / steps per epoch))`` epochs, validation every
    ``ceil(val_steps / steps per epoch)`` epochs, patience ``ceil(patience_steps / steps per
    validation)``."""
    if n_train < 1 or batch < 1:
        raise ValueError(f"n_train and batch must be >= 1, got {n_train} and {batch}")
    per_epoch = math.ceil(n_train / batch)
    epochs = max(min_epochs, math.ceil(min_steps / per_epoch))
    val_every = max(1, math.ceil(val_steps / per_epoch))
    patience = math.ceil(patience_steps / (val_every * per_epoch))
    return {"epochs": epochs, "val_every": val_every, "patience": patience,
            "steps_per_epoch": per_epoch}


def balanced_order(y: np.ndarray, seed: int) -> np.ndarray:
    """A permutation of the training jets whose every prefix of even length holds as many
    signal as background jets (while both last): seed ``seed``'s nested subsets are its
    prefixes, so a larger set contains the smaller ones."""
    rng = np.random.default_rng(10_007 + seed)
    sig = rng.permutation(np.flatnonzero(y == 1))
    bkg = rng.permutation(np.flatnonzero(y == 0))
    k = min(len(sig), len(bkg))
    head = np.empty(2 * k, dtype=np.int64)
    head[0::2], head[1::2] = sig[:k], bkg[:k]
    return np.concatenate([head, sig[k:], bkg[k:]])


def subset(train: dict, n: int | None, seed: int) -> dict:
    """The first ``n`` jets of :func:`balanced_order` (``None``: the whole split, as is)."""
    if n is None or n >= len(train["y"]):
        return train
    idx = balanced_order(train["y"], seed)[:n]
    return {k: v[idx] for k, v in train.items()}


def size_name(n: int | None, n_full: int) -> str:
    return str(n_full if n is None else n)


def task_for(task, method, train_x: np.ndarray):
    """The experiment's tagger ``task``; LLoCa's build also fixes its Frames-Net
    standardisation from the training jets (part of the state dict, so checkpoints resume).
    ``method=None``: a task that does so for whichever method it builds (the timing)."""
    if method is not None and method.network != "lloca":
        return task
    import torch

    def build(cfg, method):
        model = task.build(cfg, method)
        if hasattr(model, "init_standardization"):
            model.init_standardization(torch.from_numpy(train_x[:5000]))
        return model

    return dataclasses.replace(task, build=build)


def timing(exp, cfg, ctx, steps: int = 20, warmup: int = 3) -> dict:
    """Train and eval step of every method on one batch of training jets, interleaved step by
    step (``training.interleaved_step_times``, as toptag.py's timing study); writes
    ``step_times.json`` with the ratios to the baseline."""
    train = top_tagging.table1_data(exp, cfg, ctx)[0]
    import torch

    batch = (torch.from_numpy(train["x"][: cfg["batch"]]),
             torch.from_numpy(train["y"][: cfg["batch"]]))
    med = training.interleaved_step_times(exp.methods, cfg, ctx, steps, warmup,
                                          task=task_for(exp.task, None, train["x"]),
                                          batch=batch)
    ref = med.get("baseline", next(iter(med.values())))
    out = {"batch": cfg["batch"], "steps": steps, "warmup": warmup, "median_s": med,
           "ratio": {m: t["train"] / ref["train"] for m, t in med.items()}}
    if ctx.main:
        (ctx.out / "step_times.json").write_text(json.dumps(out, indent=1))
    return out


def run_one(exp, method, n, seed, data, cfg, ctx) -> dict:
    """Train (or resume) and evaluate one (method, size, seed); the result is also written."""
    train, val, test, extra = data
    n_full = len(train["y"])
    name = f"{method.name}_{size_name(n, n_full)}_seed{seed}"
    path = ctx.out / "results" / f"{name}.json"
    if path.exists():
        return json.loads(path.read_text())
    part = subset(train, n, seed)
    sched = schedule(len(part["y"]), cfg["batch"],
                     **(QUICK_SCHEDULE if exp.preset == "quick" else {}))
    run_cfg = dict(cfg, epochs=sched["epochs"], val_every=sched["val_every"],
                   patience=sched["patience"])
    t0 = time.perf_counter()
    model, info = training.train_one(f"eff{size_name(n, n_full)}", method, seed, part, val,
                                     run_cfg, ctx, task=task_for(exp.task, method, part["x"]))
    run = top_tagging.evaluate_tagger(model, info, test, extra, ctx)
    result = {"method": method.name, "size": len(part["y"]), "seed": seed,
              "signal_fraction": float(part["y"].mean()), **sched,
              "auc": run["auc"], "balanced_accuracy": run["balanced_accuracy"],
              **{k: run[k] for k in top_tagging.REJECTIONS},
              "boosted_balanced_accuracy": run["boosted"]["balanced_accuracy"],
              **{f"invariance_at_{b:g}": top_tagging.invariance_at(run, b) for b in BETAS},
              "invariance": run["invariance"], "epochs_trained": info["epochs_trained"],
              "steps_trained": info["epochs_trained"] * sched["steps_per_epoch"],
              "train_s": info["train_s"], "train_step_s": info["train_step_s"],
              "wall_s": time.perf_counter() - t0, "history": info["history"]}
    if ctx.main:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=1, default=float))
    top_tagging.log_run(ctx, f"eff{result['size']}", method.name, seed, run)
    return result


def run_study(exp, cfg, ctx, sizes) -> None:
    """Every (method, size, seed) of the experiment's methods × ``sizes`` (``exp.seeds`` seeds
    each, or the study's own: :data:`SEEDS_BELOW_FULL`, :data:`SEEDS_FULL`)."""
    data = top_tagging.table1_data(exp, cfg, ctx)
    ctx.log(f"data efficiency: {len(data[0]['y'])} training jets in all, "
            f"{len(data[1]['y'])} validation, {len(data[2]['y'])} test; sizes "
            f"{[size_name(n, len(data[0]['y'])) for n in sizes]}, methods "
            f"{[m.name for m in exp.methods]}")
    for method in exp.methods:
        for n in sizes:
            seeds = SEEDS_FULL if n is None or n >= len(data[0]["y"]) else SEEDS_BELOW_FULL
            for seed in range(exp.seeds if exp.seeds else seeds):
                run_one(exp, method, n, seed, data, cfg, ctx)


# ----------------------------------------------------------------------------- report
def load_results(out) -> list[dict]:
    folder = out / "results"
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))] \
        if folder.exists() else []


def metrics(results: list[dict]) -> dict:
    """``method -> size -> metric -> {mean, std, n, of}`` (sizes as strings, ascending)."""
    out: dict = {}
    for r in results:
        out.setdefault(r["method"], {}).setdefault(r["size"], []).append(r)
    return {m: {str(n): {k: ev.mean_std([r[k] for r in rs]) for k in METRICS}
                for n, rs in sorted(by.items())}
            for m, by in sorted(out.items(), key=lambda kv: _order(kv[0]))}


def _order(method: str) -> int:
    return METHODS.index(method) if method in METHODS else len(METHODS)


def table_markdown(met: dict, step_ratios: dict | None = None) -> str:
    """One row per method and size: mean ± std (n seeds)."""
    def cell(s, fmt):
        text = f"{s['mean']:{fmt}}"
        return text + (f" ± {s['std']:{fmt}}" if s["n"] > 1 else "")

    lines = ["| method | jets | seeds | AUC | 1/ε_B(0.3) | 1/ε_B(0.5) | mean \\|Δσ\\| at "
             "\\|β\\| = 0.5 | boosted bal. acc. | steps | train step / baseline |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for m, by in met.items():
        ratio = (f"{step_ratios[m]:.2f}" if step_ratios and m in step_ratios else "–")
        for n, s in by.items():
            lines.append(f"| {ev.label(m)} | {n} | {s['auc']['of']} | {cell(s['auc'], '.4f')} | "
                         f"{cell(s['rejection_at_0.3'], '.1f')} | "
                         f"{cell(s['rejection_at_0.5'], '.1f')} | "
                         f"{cell(s['invariance_at_0.5'], '.2e')} | "
                         f"{cell(s['boosted_balanced_accuracy'], '.4f')} | "
                         f"{s['steps_trained']['mean']:.0f} | {ratio} |")
    return "\n".join(lines) + "\n"


def plot_vs_size(met: dict, key: str, ylabel: str, path, log_y: bool = False) -> None:
    """``key`` against the training size (log x, a tick at each size), mean ± std over the
    seeds, hollow markers where one seed ran, one curve per method (the methods' points
    offset sideways by a few per cent so that their error bars do not hide each other)."""
    from matplotlib.ticker import NullLocator

    _, fig, axes = style.subplots(figsize=(7.6, 4.3))
    ax = axes[0][0]
    handles, ns, sizes, ys = [], [], set(), []
    for i, (m, by) in enumerate(met.items()):
        x = [int(n) * 10 ** (0.012 * (i - (len(met) - 1) / 2)) for n in by]
        mean = [s[key]["mean"] for s in by.values()]
        std = [s[key]["std"] if s[key]["n"] > 1 else 0.0 for s in by.values()]
        n = [s[key]["n"] for s in by.values()]
        handles.append(style.errorbar(ax, x, mean, std, n, method=m, label=ev.label(m)))
        ns += n
        sizes |= {int(n) for n in by}
        ys += [v - e for v, e in zip(mean, std, strict=True)]
        ys += [v + e for v, e in zip(mean, std, strict=True)]
    ax.set_xscale("log")
    if log_y:
        ax.set_yscale("log")
    style.fit(ax, [min(sizes) / 1.05, max(sizes) * 1.05], ys, margin=0.07)
    ticks = sorted(sizes)
    ax.set_xticks(ticks, [f"{t / 1000:g}k" for t in ticks])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("training jets (largest: the whole training split)")
    ax.set_ylabel(ylabel)
    style.legend(ax, handles + style.seed_handles(ns))
    style.save(fig, path)


def report(out, step_ratios: dict | None = None) -> dict:
    """``metrics.json``, ``table.md`` and the figures from every result file in ``out``; the
    train-step ratios from ``step_ratios`` or else ``out/step_times.json`` (:func:`timing`)."""
    met = metrics(load_results(out))
    if step_ratios is None and (out / "step_times.json").exists():
        step_ratios = json.loads((out / "step_times.json").read_text())["ratio"]
    if not met:
        return met
    (out / "metrics.json").write_text(json.dumps(met, indent=2))
    (out / "table.md").write_text(table_markdown(met, step_ratios))
    plot_vs_size(met, "auc", "AUC", out / "auc_vs_size.png")
    plot_vs_size(met, "rejection_at_0.3", r"$1/\epsilon_B$ at $\epsilon_S = 0.3$",
                 out / "rejection_vs_size.png", log_y=True)
    plot_vs_size(met, "invariance_at_0.5", r"mean $|\Delta\sigma|$ at $|\beta| = 0.5$",
                 out / "invariance_vs_size.png", log_y=True)
    return met
