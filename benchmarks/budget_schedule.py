"""Which rule makes a violation budget end on its target? A resumable study on a small toy.

The toy is the toy regression's task shrunk (``examples/hep/toy_regression.py`` is not imported:
the data and model are re-declared here): f(p) = m⁴ + 15 m² of a four-vector p ~ U[-½, ½]⁴
(``exact``), plus a small p_z term (``broken``: s = (0, 0, 0, 1e-3), the toy's coefficients);
an MLP 4 → 64 → 64 → 64 → 1 (GELU), 8 192 training vectors, batch 256, Adam, learning rate 3e-3
with cosine decay to 0 over 1 000 steps, float32. Per case, penalty (GSEAL at β²max = 0.95,
exact δSEAL) and seed:

* a fixed-λ sweep (the front: final Γ against the task metric), and
* one budget run per target and rule: ``constant`` (the running Γ̄ held at the target: the rule
  before the schedule, ``optimizer=None``), ``lr`` (``optimizer=opt``: the running target
  ``target·(1 + A·lr_t/lr_0)``, A = ``slack`` = 2), ``lr-a1`` / ``lr-a4`` (A = 1, 4), and
  ``homotopy`` (ACE-like: the running target follows the largest Γ̄ so far and tightens
  geometrically to the target as the learning rate decays, ``target·(Γ̄_max/target)^(lr_t/lr_0)``).

Each run is measured on held-out data: Γ_final with the penalty's own sampler (GSEAL: a fixed
generator; δSEAL exact) on 8 192 test vectors, and the task metric, the test MSE (β = 0). A
budget run's MSE is divided by the fixed-λ front's at the target (log-log interpolation between
the two fixed-λ runs of the same seed whose Γ_final bracket the target, on the non-dominated
points). λ, Γ̄, the running target and the running Γ are logged every 10 steps.

    OMP_NUM_THREADS=1 python benchmarks/budget_schedule.py              # all cells, resumable
    OMP_NUM_THREADS=1 python benchmarks/budget_schedule.py --report     # tables and figures only
    OMP_NUM_THREADS=1 python benchmarks/budget_schedule.py --time 2     # time 2 runs, exit
    OMP_NUM_THREADS=1 python benchmarks/budget_schedule.py --traces-only  # the traced runs alone
    python benchmarks/budget_schedule.py --redraw       # the figures from their committed data

Cells land in ``--out``/cells/*.json as they finish (a rerun skips them); the report is
``--docs``/schedule.md, schedule.json, schedule_front.png and schedule_traces.png, each figure
beside the data it is drawn from (schedule_front.json: every run's end point;
schedule_traces.json: the traced runs' logs), in the examples' plotting style
(``examples/hep/evaluation/style.py``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import statistics
import sys
import time
import warnings

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from examples.hep.evaluation import style  # noqa: E402
from examples.hep.evaluation.front import front_at, gmean, lam_at  # noqa: E402
from liesoft import GSEAL, DeltaSEAL, Lorentz, Scalar, Vector4  # noqa: E402
from liesoft.experimental import ViolationBudget  # noqa: E402

N_TRAIN, N_TEST, BATCH, STEPS, LR, WIDTH = 8192, 8192, 256, 1000, 3e-3, 64
BETA_MAX2 = 0.95
SPURION_Z, C1, C2 = 1e-3, 20.9983, -0.8431          # the toy regression's broken term
DATA_SEED = 20260101
LOG_EVERY = 10
CASES = ("exact", "broken")
PENALTIES = ("gseal", "dseal")
SEEDS = (0, 1, 2)
LAMS = {"gseal": (0.0, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0),
        "dseal": (0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)}
# inside the fixed-λ fronts' range (GSEAL 6.5e-3 … 0.50, δSEAL 2.6e-4 … 1.0e-2, seed 0)
TARGETS = {"gseal": (0.03, 0.08, 0.2), "dseal": (5e-4, 1.5e-3, 4e-3)}
RULES = ("constant", "lr", "homotopy", "lr-a1", "lr-a4")
ETA = torch.tensor([1.0, -1.0, -1.0, -1.0], dtype=torch.float64)


# ----------------------------------------------------------------------------- the toy
def truth(p: torch.Tensor, case: str) -> torch.Tensor:
    m2 = (p * p * ETA).sum(-1)
    f = m2 ** 2 + 15 * m2
    if case == "broken":
        sp = -SPURION_Z * p[..., 3]
        f = f + C1 * sp + C2 * sp ** 2
    return f


def data():
    g = torch.Generator().manual_seed(DATA_SEED)
    return (torch.rand(N_TRAIN, 4, generator=g, dtype=torch.float64) - 0.5,
            torch.rand(N_TEST, 4, generator=g, dtype=torch.float64) - 0.5)


def model(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    layers, w = [], 4
    for _ in range(3):
        layers += [torch.nn.Linear(w, WIDTH), torch.nn.GELU()]
        w = WIDTH
    return torch.nn.Sequential(*layers, torch.nn.Linear(w, 1))


def make_penalty(name: str):
    if name == "gseal":
        return GSEAL(Lorentz(), Vector4(), Scalar(), beta_max=math.sqrt(BETA_MAX2))
    return DeltaSEAL(Lorentz(), Vector4(), Scalar())


class Homotopy(ViolationBudget):
    """ACE-like: the running target follows the largest Γ̄ reached so far and tightens
    geometrically to the target as the learning rate decays, ``target·(Γ̄_max/target)^r``
    (study only; a fresh network's Γ is small, so starting from the first Γ̄ would be the
    constant rule)."""

    def target_factor(self, ratio: float) -> float:
        self._gmax = max(getattr(self, "_gmax", 1.0), self.ema / self.target)
        return self._gmax ** ratio


PATIENCE = 250    # the infeasibility watch's patience in this study (its longest stalls are
                  # reported, to choose the library default)


def make_budget(rule: str, penalty, target: float, opt):
    if rule == "constant":
        return ViolationBudget(penalty, target, patience=PATIENCE)
    if rule == "homotopy":
        return Homotopy(penalty, target, optimizer=opt, patience=PATIENCE)
    slack = {"lr": 2.0, "lr-a1": 1.0, "lr-a4": 4.0}[rule]
    return ViolationBudget(penalty, target, optimizer=opt, slack=slack, patience=PATIENCE)


def longest_stall(log: list[dict]) -> int:
    """The longest stall of the infeasibility watch (updates), from the 10-step log: logged
    directly, or (older cells) PATIENCE + 10 per further logged row flagged infeasible."""
    if log and "stall_n" in log[0]:
        return max(r["stall_n"] for r in log)
    best = run_len = 0
    for r in log:
        run_len = run_len + 1 if r["status"] == "infeasible" else 0
        best = max(best, run_len)
    return PATIENCE + LOG_EVERY * (best - 1) if best else 0


# ----------------------------------------------------------------------------- one run
def key(case, pen, seed, lam=None, rule=None, target=None) -> str:
    what = f"lam{lam:g}" if rule is None else f"{rule}_target{target:g}"
    return f"{case}_{pen}_seed{seed}_{what}"


def held_out(net, x_te: torch.Tensor, case: str, pen: str) -> tuple[float, float]:
    """(Γ_final with the penalty's own sampler, test MSE at β = 0), on held-out vectors."""
    x = x_te.float()
    net.eval()
    with torch.no_grad():
        mse = float(((net(x)[:, 0].double() - truth(x_te, case)) ** 2).mean())
        if pen == "gseal":
            gamma = float(make_penalty(pen)(net, x, generator=torch.Generator().manual_seed(7)))
        else:
            gamma = float(make_penalty(pen)(net, x))
    net.train()
    return gamma, mse


def run(case, pen, seed, x_tr, x_te, lam=None, rule=None, target=None) -> dict:
    torch.manual_seed(seed)
    net = model(seed)
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, STEPS)
    penalty = make_penalty(pen)
    budget = None if rule is None else make_budget(rule, penalty, target, opt)
    X, Y = x_tr.float(), truth(x_tr, case).float()
    order = torch.Generator().manual_seed(100 + seed)
    boosts = torch.Generator().manual_seed(200 + seed)
    log, acc_g, acc_m, n_acc = [], 0.0, 0.0, 0
    t0 = time.perf_counter()
    perm, pos = torch.randperm(N_TRAIN, generator=order), 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for step in range(1, STEPS + 1):
            if pos + BATCH > N_TRAIN:
                perm, pos = torch.randperm(N_TRAIN, generator=order), 0
            idx = perm[pos:pos + BATCH]
            pos += BATCH
            x, y = X[idx], Y[idx]
            opt.zero_grad(set_to_none=True)
            kw = {} if pen == "dseal" else {"generator": boosts}
            if pen == "dseal":
                wrapped = budget if budget is not None else penalty
                value, fx = wrapped(net, x, return_output=True)
            else:
                fx = net(x)
                value = (budget or penalty)(net, x, fx=fx, **kw)
            g = budget.value if budget is not None else float(value.detach())
            mse = ((fx[:, 0] - y) ** 2).mean()
            loss = mse + (value if budget is not None else (lam * value if lam else 0 * value))
            loss.backward()
            opt.step()
            sched.step()
            acc_g += g
            acc_m += float(mse.detach())
            n_acc += 1
            if step % LOG_EVERY == 0:
                row = {"step": step, "gamma": acc_g / n_acc, "mse": acc_m / n_acc}
                if budget is not None:
                    row.update(lam=budget.lam, ema=budget.ema, target_t=budget.target_now,
                               status=budget.status, stall_n=budget._state["stall_n"])
                log.append(row)
                acc_g, acc_m, n_acc = 0.0, 0.0, 0
    train_s = time.perf_counter() - t0
    gamma, mse = held_out(net, x_te, case, pen)
    rec = dict(key=key(case, pen, seed, lam, rule, target), case=case, penalty=pen, seed=seed,
               lam=lam, rule=rule, target=target, gamma_final=gamma, mse=mse,
               train_seconds=round(train_s, 2), log=log)
    if budget is not None:
        lams = [r["lam"] for r in log]
        rec.update(lam_final=budget.lam, lam_max_run=max(lams), ema_final=budget.ema,
                   best=budget.best, infeasible=budget.infeasible, inactive=budget.inactive,
                   warnings=[str(w.message)[:200] for w in caught
                             if "out of reach" in str(w.message)])
    return rec


def plan(cases, pens, seeds, rules, fixed=True) -> list[dict]:
    cells = []
    for case in cases:
        for pen in pens:
            for seed in seeds:
                if fixed:
                    cells += [dict(case=case, pen=pen, seed=seed, lam=lam) for lam in LAMS[pen]]
                for rule in rules:
                    cells += [dict(case=case, pen=pen, seed=seed, rule=rule, target=t)
                              for t in TARGETS[pen]]
    return cells


# ----------------------------------------------------------------------------- the report
def report(recs: list[dict], out: str) -> dict:
    os.makedirs(out, exist_ok=True)
    fixed = [r for r in recs if r["rule"] is None]
    budgets = [r for r in recs if r["rule"] is not None]
    rows = []
    for r in budgets:
        pts = [(f["gamma_final"], f["mse"]) for f in fixed
               if (f["case"], f["penalty"], f["seed"]) == (r["case"], r["penalty"], r["seed"])]
        r["front_mse"] = front_at(pts, r["target"])
        r["front_lam"] = lam_at([(f["gamma_final"], f["lam"]) for f in fixed
                                 if (f["case"], f["penalty"], f["seed"])
                                 == (r["case"], r["penalty"], r["seed"])], r["target"])
        r["lam_overshoot"] = r["lam_max_run"] / r["front_lam"]
        r["longest_stall"] = longest_stall(r["log"])
        r["ratio_front"] = r["mse"] / r["front_mse"]
        r["gamma_ratio"] = r["gamma_final"] / r["target"]
    groups = {}
    for r in budgets:
        groups.setdefault((r["case"], r["penalty"], r["target"], r["rule"]), []).append(r)
    for (case, pen, target, rule), rs in sorted(groups.items()):
        rows.append(dict(case=case, penalty=pen, target=target, rule=rule, n=len(rs),
                         gamma_ratio=gmean(r["gamma_ratio"] for r in rs),
                         gamma_ratio_min=min(r["gamma_ratio"] for r in rs),
                         gamma_ratio_max=max(r["gamma_ratio"] for r in rs),
                         mse=gmean(r["mse"] for r in rs),
                         ratio_front=gmean(r["ratio_front"] for r in rs),
                         lam_final=gmean(r["lam_final"] for r in rs),
                         lam_overshoot=max(r["lam_overshoot"] for r in rs),
                         front_lam=gmean(r["front_lam"] for r in rs),
                         longest_stall=max(r["longest_stall"] for r in rs),
                         warned=sum(bool(r["warnings"]) for r in rs),
                         inactive=sum(bool(r["inactive"]) for r in rs)))
    summary = {}
    for rule in sorted({r["rule"] for r in rows}):
        sel = [r for r in rows if r["rule"] == rule]
        ok = [r for r in sel if 0.8 <= r["gamma_ratio"] <= 1.25 and r["ratio_front"] <= 1.2]
        summary[rule] = dict(cells=len(sel), pass_both=len(ok),
                             gamma_in_band=sum(0.8 <= r["gamma_ratio"] <= 1.25 for r in sel),
                             front_le_1_2=sum(r["ratio_front"] <= 1.2 for r in sel),
                             gamma_ratio_range=[min(r["gamma_ratio"] for r in sel),
                                                max(r["gamma_ratio"] for r in sel)],
                             ratio_front_range=[min(r["ratio_front"] for r in sel),
                                                max(r["ratio_front"] for r in sel)],
                             ratio_front_gmean=gmean(r["ratio_front"] for r in sel),
                             warned_runs=sum(r["warned"] for r in sel),
                             longest_stall=max(r["longest_stall"] for r in sel),
                             lam_overshoot_max=max(r["lam_overshoot"] for r in sel))
    fronts = {}
    for f in fixed:
        fronts.setdefault(f"{f['case']}_{f['penalty']}_lam{f['lam']:g}", []).append(f)
    front_rows = [dict(case=fs[0]["case"], penalty=fs[0]["penalty"], lam=fs[0]["lam"], n=len(fs),
                       gamma_final=gmean(f["gamma_final"] for f in fs),
                       mse=gmean(f["mse"] for f in fs),
                       gamma_run_end=gmean(statistics.fmean(x["gamma"] for x in f["log"][-5:])
                                           for f in fs),
                       gamma_run_mid=gmean(statistics.fmean(x["gamma"] for x in f["log"][20:30])
                                           for f in fs))
                  for fs in fronts.values()]
    seconds = sum(r["train_seconds"] for r in recs)
    result = dict(rows=rows, summary=summary, fixed=front_rows, runs=len(recs),
                  train_seconds=round(seconds, 1))
    with open(os.path.join(out, "schedule.json"), "w") as fh:
        json.dump(result, fh, indent=1)
    write_md(result, out)
    try:
        figures(recs, out)
    except ImportError:
        print("matplotlib missing: no figures")
    return result


def write_md(result: dict, out: str) -> None:
    lines = [f"{result['runs']} runs, {result['train_seconds'] / 60:.1f} min of training "
             "(1 thread).", "",
             "Per rule: cells (case × penalty × target, geometric mean over seeds) with "
             "Γ_final/target in [0.8, 1.25], with MSE ≤ 1.2× the front at the target, both:", "",
             "| rule | cells | Γ in band | MSE ≤ 1.2× front | both | Γ_final/target range | "
             "MSE/front range | MSE/front (gmean) | max λ / fixed λ at target (worst run) | "
             f"runs warned (patience {PATIENCE}) | longest stall (updates) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for rule, s in result["summary"].items():
        lines.append(f"| {rule} | {s['cells']} | {s['gamma_in_band']} | {s['front_le_1_2']} | "
                     f"{s['pass_both']} | {s['gamma_ratio_range'][0]:.2f}–"
                     f"{s['gamma_ratio_range'][1]:.2f} | {s['ratio_front_range'][0]:.2f}–"
                     f"{s['ratio_front_range'][1]:.2f} | {s['ratio_front_gmean']:.2f} | "
                     f"{s['lam_overshoot_max']:.3g} | {s['warned_runs']} | "
                     f"{s['longest_stall']} |")
    lines += ["", "| case | penalty | target | rule | Γ_final/target (gmean; min–max) | test MSE | "
              "MSE / front at target | λ final | fixed λ at target | max λ / fixed λ at target "
              "(worst seed) | warned | longest stall | inactive |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        lines.append(f"| {r['case']} | {r['penalty']} | {r['target']:g} | {r['rule']} | "
                     f"{r['gamma_ratio']:.2f} ({r['gamma_ratio_min']:.2f}–"
                     f"{r['gamma_ratio_max']:.2f}) | {r['mse']:.3g} | {r['ratio_front']:.2f} | "
                     f"{r['lam_final']:.3g} | {r['front_lam']:.3g} | {r['lam_overshoot']:.3g} | "
                     f"{r['warned']} | {r['longest_stall']} | {r['inactive']} |")
    lines += ["", "Fixed λ (gmean over seeds): Γ_final held out; the running Γ of training at "
              "steps 200–300 and over the last 50 steps.", "",
              "| case | penalty | λ | Γ_final | test MSE | running Γ, steps 200–300 | "
              "running Γ, last 50 |", "|---|---|---|---|---|---|---|"]
    for r in sorted(result["fixed"], key=lambda r: (r["case"], r["penalty"], r["lam"])):
        lines.append(f"| {r['case']} | {r['penalty']} | {r['lam']:g} | {r['gamma_final']:.3g} | "
                     f"{r['mse']:.3g} | {r['gamma_run_mid']:.3g} | {r['gamma_run_end']:.3g} |")
    with open(os.path.join(out, "schedule.md"), "w") as fh:
        fh.write("\n".join(lines) + "\n")


TRACE_DATA, FRONT_DATA = "schedule_traces.json", "schedule_front.json"
_FRONT_KEYS = ("case", "penalty", "seed", "rule", "lam", "target", "gamma_final", "mse")
_TRACE_KEYS = ("case", "penalty", "seed", "rule", "target", "gamma_final")
_TRACE_LOG = ("step", "lam", "ema", "target_t")


def trace_target(pen: str) -> float:
    """The target whose runs schedule_traces.png draws: the middle one of the penalty."""
    return TARGETS[pen][len(TARGETS[pen]) // 2]


def traced(case: str, pen: str, seed: int, rule: str | None, target: float | None) -> bool:
    """Whether a run is one that schedule_traces.png draws: a budget run of the exact case,
    seed 0, at the penalty's middle target (:func:`trace_target`)."""
    return rule is not None and case == "exact" and seed == 0 and target == trace_target(pen)


def figure_data(recs: list[dict]) -> dict:
    """What the two figures draw, small enough to commit beside them: ``{file: data}`` with
    every run's end point (schedule_front.json) and the λ logs of the traced runs (exact case,
    seed 0, each penalty's middle target: schedule_traces.json); a figure without runs gets
    no file."""
    front = [{k: r[k] for k in _FRONT_KEYS} for r in recs]
    logs = [dict({k: r[k] for k in _TRACE_KEYS},
                   log=[{k: x[k] for k in _TRACE_LOG} for x in r["log"]])
              for r in recs
              if traced(r["case"], r["penalty"], r["seed"], r["rule"], r["target"])]
    return {name: dict(targets={k: list(v) for k, v in TARGETS.items()}, records=rs)
            for name, rs in ((FRONT_DATA, front if any(r["rule"] is None for r in front)
                              else []), (TRACE_DATA, logs)) if rs}


def figures(recs: list[dict], out: str) -> list[str]:
    """schedule_front.json / schedule_traces.json (:func:`figure_data`), then the figures drawn
    from them alone (:func:`redraw`)."""
    for name, data in figure_data(recs).items():
        with open(os.path.join(out, name), "w") as fh:
            json.dump(data, fh, separators=(",", ":"))
    return redraw(out)


def redraw(out: str) -> list[str]:
    """schedule_front.png and schedule_traces.png from the data files in ``out`` (``--redraw``);
    returns the figures drawn."""
    drawn = []
    for name, png, draw in ((FRONT_DATA, "schedule_front.png", front_figure),
                            (TRACE_DATA, "schedule_traces.png", trace_figure)):
        path = os.path.join(out, name)
        if os.path.exists(path):
            with open(path) as fh:
                data = json.load(fh)
            draw(data["records"], data["targets"], os.path.join(out, png))
            drawn.append(png)
    if not drawn:
        raise FileNotFoundError(f"redraw: expected {FRONT_DATA} or {TRACE_DATA} in {out}, "
                                "found neither")
    return drawn


def front_figure(recs: list[dict], targets: dict, path: str) -> None:
    """Held-out Γ_final against test MSE per case (columns) and penalty (rows): the fixed-λ
    runs of each seed (grey), every budget run (one colour and marker per rule, the examples'
    style), the targets dotted, one legend outside."""
    from matplotlib.lines import Line2D

    cases = sorted({r["case"] for r in recs})
    pens = [p for p in PENALTIES if any(r["penalty"] == p for r in recs)]
    rules = [r for r in RULES if any(x["rule"] == r for x in recs)]
    _, fig, axes = style.subplots(len(pens), len(cases),
                                  figsize=(4.6 * len(cases) + 2.4, 3.6 * len(pens)))
    for i, pen in enumerate(pens):
        for j, case in enumerate(cases):
            ax = axes[i][j]
            sel = [r for r in recs if (r["case"], r["penalty"]) == (case, pen)]
            fx = [r for r in sel if r["rule"] is None]
            for seed in sorted({r["seed"] for r in fx}):
                pts = sorted((r["gamma_final"], r["mse"]) for r in fx if r["seed"] == seed)
                ax.plot(*zip(*pts, strict=True), "o-", color="0.6", mfc="none", lw=0.8)
            for rule in rules:
                bs = [r for r in sel if r["rule"] == rule]
                style.tag(ax.plot([r["gamma_final"] for r in bs], [r["mse"] for r in bs],
                                  style.marker(rule), color=style.color(rule), ms=5,
                                  ls="none"), rule)
            for t in targets[pen]:
                ax.axvline(t, color="k", ls=":", lw=0.8)
            ax.set(xscale="log", yscale="log", title=f"{case}, {pen}")
            style.fit_data(ax, margin=0.06, extra_x=targets[pen])
            ax.grid(alpha=0.3, which="both")
            if i == len(pens) - 1:
                ax.set_xlabel("held-out $\\Gamma_{final}$")
            if j == 0:
                ax.set_ylabel("test MSE")
    handles = [Line2D([], [], color="0.6", marker="o", mfc="none", lw=0.8,
                      label="fixed λ (one line per seed)")]
    handles += [Line2D([], [], color=style.color(r), marker=style.marker(r), ls="none",
                       label=f"budget, rule {r}") for r in rules]
    handles.append(Line2D([], [], color="k", ls=":", lw=0.8, label="targets"))
    style.legend(fig, handles)
    style.save(fig, path)


def trace_figure(recs: list[dict], targets: dict, path: str) -> None:
    """λ (top) and Γ̄ / target (bottom) against the step of the traced runs, one column per
    penalty, one colour per rule: the running target / target dashed, the held-out Γ_final /
    target ★; one legend outside."""
    from matplotlib.lines import Line2D

    pens = [p for p in PENALTIES if any(r["penalty"] == p for r in recs)]
    rules = [r for r in RULES if any(x["rule"] == r for x in recs)]
    _, fig, axes = style.subplots(2, len(pens), figsize=(4.4 * len(pens) + 2.6, 6.2),
                                  sharex="col")
    for j, pen in enumerate(pens):
        t = targets[pen][len(targets[pen]) // 2]
        lam_ax, g_ax = axes[0][j], axes[1][j]
        extra = [1.0]
        for rule in rules:
            rs = [r for r in recs if (r["penalty"], r["rule"]) == (pen, rule)]
            if not rs:
                continue
            r, c = rs[0], style.color(rule)
            steps = [x["step"] for x in r["log"]]
            style.tag(lam_ax.plot(steps, [x["lam"] for x in r["log"]], color=c, lw=1.3), rule)
            style.tag(g_ax.plot(steps, [x["ema"] / t for x in r["log"]], color=c, lw=1.3), rule)
            g_ax.plot(steps, [x["target_t"] / t for x in r["log"]], color=c, ls="--", lw=0.8)
            g_ax.plot([steps[-1]], [r["gamma_final"] / t], "*", color=c, ms=10, ls="none")
        g_ax.axhline(1.0, color="k", ls=":", lw=0.8)
        lam_ax.set(yscale="log", title=f"exact case, {pen}, target {t:g}, seed 0")
        g_ax.set(yscale="log", xlabel="step")
        style.fit_data(lam_ax, margin=0.05, x=False)
        style.fit_data(g_ax, margin=0.05, extra_y=extra)
        for ax in (lam_ax, g_ax):
            ax.grid(alpha=0.3, which="both")
        if j == 0:
            lam_ax.set_ylabel("λ")
            g_ax.set_ylabel("$\\bar\\Gamma$ / target")
    handles = [Line2D([], [], color=style.color(r), lw=2, label=f"rule {r}") for r in rules]
    handles += [Line2D([], [], color="0.3", ls="--", lw=0.8, label="running target / target"),
                Line2D([], [], color="0.3", marker="*", ms=10, ls="none",
                       label="held-out $\\Gamma_{final}$ / target"),
                Line2D([], [], color="k", ls=":", lw=0.8, label="target")]
    style.legend(fig, handles)
    style.save(fig, path)


# ----------------------------------------------------------------------------- main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="runs/budget_schedule", help="the cells (resumable)")
    ap.add_argument("--docs", default="docs/budget", help="where the report goes")
    ap.add_argument("--targets-gseal", nargs="+", type=float, default=None)
    ap.add_argument("--targets-dseal", nargs="+", type=float, default=None)
    ap.add_argument("--cases", nargs="+", default=list(CASES))
    ap.add_argument("--penalties", nargs="+", default=list(PENALTIES))
    ap.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    ap.add_argument("--rules", nargs="*", default=list(RULES))
    ap.add_argument("--no-fixed", action="store_true", help="budget runs only")
    ap.add_argument("--report", action="store_true", help="tables and figures from the cells")
    ap.add_argument("--traces-only", action="store_true",
                    help="only the runs schedule_traces.png draws (exact case, seed 0, each "
                         "penalty's middle target, every rule); writes that figure and its data")
    ap.add_argument("--redraw", action="store_true",
                    help="train nothing: redraw the figures from schedule_front.json and "
                         "schedule_traces.json in --docs")
    ap.add_argument("--time", type=int, default=0, help="time this many runs of each penalty")
    ap.add_argument("--max-minutes", type=float, default=math.inf,
                    help="stop starting runs after this long (rerun to resume)")
    args = ap.parse_args(argv)
    if args.redraw:
        print("redrew", ", ".join(redraw(args.docs)))
        return
    torch.set_num_threads(1)
    if args.targets_gseal:
        TARGETS["gseal"] = tuple(args.targets_gseal)
    if args.targets_dseal:
        TARGETS["dseal"] = tuple(args.targets_dseal)
    cells_dir = os.path.join(args.out, "cells")
    os.makedirs(cells_dir, exist_ok=True)
    x_tr, x_te = data()
    if args.time:
        for pen in args.penalties:
            for _ in range(args.time):
                rec = run("exact", pen, 0, x_tr, x_te, rule="lr", target=TARGETS[pen][1])
                print(f"{pen}: {rec['train_seconds']} s, Γ_final {rec['gamma_final']:.3g}")
        return
    cells = plan(args.cases, args.penalties, args.seeds, args.rules, fixed=not args.no_fixed)
    if args.traces_only:
        cells = [c for c in cells
                 if traced(c["case"], c["pen"], c["seed"], c.get("rule"), c.get("target"))]
    t_start = time.perf_counter()
    for n, c in enumerate(cells):
        path = os.path.join(cells_dir, key(c["case"], c["pen"], c["seed"], c.get("lam"),
                                           c.get("rule"), c.get("target")) + ".json")
        if args.report or os.path.exists(path):
            continue
        if time.perf_counter() - t_start > 60 * args.max_minutes:
            print("time is up: rerun to resume")
            break
        rec = run(c["case"], c["pen"], c["seed"], x_tr, x_te, lam=c.get("lam"),
                  rule=c.get("rule"), target=c.get("target"))
        with open(path + ".tmp", "w") as fh:
            json.dump(rec, fh)
        os.replace(path + ".tmp", path)
        extra = "" if rec["rule"] is None else (
            f" Γ/target {rec['gamma_final'] / rec['target']:.2f} λ {rec['lam_final']:.3g}")
        print(f"[{n + 1}/{len(cells)}] {rec['key']}: Γ_final {rec['gamma_final']:.3g} "
              f"MSE {rec['mse']:.3g}{extra} ({rec['train_seconds']} s)", flush=True)
    recs = []
    for name in sorted(os.listdir(cells_dir)):
        if name.endswith(".json"):
            with open(os.path.join(cells_dir, name)) as fh:
                recs.append(json.load(fh))
    recs = [r for r in recs if r["case"] in args.cases and r["penalty"] in args.penalties
            and r["seed"] in args.seeds and (r["rule"] is None or (
                r["rule"] in args.rules and r["target"] in TARGETS[r["penalty"]]))]
    if args.traces_only:
        os.makedirs(args.docs, exist_ok=True)
        print("wrote", ", ".join(figures(
            [r for r in recs if traced(r["case"], r["penalty"], r["seed"], r["rule"],
                                       r["target"])], args.docs)))
        return
    result = report(recs, args.docs)
    for rule, s in result["summary"].items():
        print(rule, s)


if __name__ == "__main__":
    main()
