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
                 ``liesoft.ViolationBudget`` so that the penalty (GSEAL at beta_max, or
                 deltaSEAL) settles at a ``target``. Only with ``--budget``, which runs these
                 cells next to the fixed-lambda cells of Fig. 1 (baseline, GSEAL, deltaSEAL) and
                 writes ``budget.csv``, ``budget.md`` and ``budget.png`` (the other reports are
                 left alone; cells are shared with the default run in the same ``--out``).

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

import argparse
import csv
import dataclasses
import json
import math
import os
import sys
import time
from dataclasses import dataclass

import torch
from torch import nn

from liesoft import GSEAL, DeltaSEAL, Lorentz, Scalar, Vector4, ViolationBudget
from liesoft.groups import MINKOWSKI

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
    # --budget: targets of Gamma for ViolationBudget (GSEAL at beta_max2, deltaSEAL exact)
    budget_targets_gseal: tuple = (1e-3, 1e-2, 1e-1)
    budget_targets_dseal: tuple = (3e-4, 3e-3, 3e-2)
    gamma_eval: int = 10_000        # training vectors on which each cell's final Gamma is measured


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
    ),
}

METHODS = ("baseline", "gseal", "dseal", "augment", "invariant", "dualsubnet")
BUDGET_PENALTIES = ("gseal", "dseal")   # method "budget" wraps one of these (--budget only)
SPURION_Z = 1e-3                      # s = (0, 0, 0, 1e-3)
C1, C2 = 20.9983, -0.8431             # the public code's coefficients of (s.p) and (s.p)^2


# ----------------------------------------------------------------------------- task
def minkowski_sq(p: torch.Tensor) -> torch.Tensor:
    eta = MINKOWSKI.diagonal().to(dtype=p.dtype, device=p.device)
    return (p * p * eta).sum(-1)


def truth(p: torch.Tensor, case: str) -> torch.Tensor:
    """The target function (compute it in float64)."""
    m2 = minkowski_sq(p)
    f = m2**2 + 15 * m2
    if case == "broken":
        sp = -SPURION_Z * p[..., 3]   # s.p = s^0 p^0 - s_vec . p_vec
        f = f + C1 * sp + C2 * sp**2
    elif case != "exact":
        raise ValueError(f"unknown case {case!r}")
    return f


def make_data(cfg: Config):
    """Train, validation and test four-vectors (float64), all from one seeded generator."""
    g = torch.Generator().manual_seed(cfg.data_seed)
    draw = lambda n: torch.rand(n, 4, generator=g, dtype=torch.float64) - 0.5  # noqa: E731
    return draw(cfg.n_train), draw(cfg.n_val), draw(cfg.n_test)


# ----------------------------------------------------------------------------- models
def mlp(n_in: int, width: int, depth: int) -> nn.Sequential:
    layers, w = [], n_in
    for _ in range(depth):
        layers += [nn.Linear(w, width), nn.GELU()]
        w = width
    return nn.Sequential(*layers, nn.Linear(w, 1))


class InvariantMLP(nn.Module):
    """An MLP of m^2 = p.eta.p only: exactly Lorentz invariant, blind to the spurion."""

    def __init__(self, width: int, depth: int):
        super().__init__()
        self.net = mlp(1, width, depth)

    def forward(self, p):
        return self.net(minkowski_sq(p)[..., None])


class DualSubnet(nn.Module):
    """``(1 - w) g_inv(m^2) + w g_free(p)`` with the symmetry factor ``w = sigmoid(a)`` learned."""

    def __init__(self, width: int, depth: int, init_logit: float):
        super().__init__()
        self.inv = InvariantMLP(width, depth)
        self.free = mlp(4, width, depth)
        self.logit = nn.Parameter(torch.tensor(float(init_logit)))

    @property
    def w(self) -> float:
        return float(torch.sigmoid(self.logit.detach()))

    def forward(self, p):
        w = torch.sigmoid(self.logit)
        return (1 - w) * self.inv(p) + w * self.free(p)


def build_model(method: str, cfg: Config, seed: int) -> nn.Module:
    torch.manual_seed(seed)  # same initialisation for every method sharing an architecture
    if method == "invariant":
        return InvariantMLP(cfg.width, cfg.depth)
    if method == "dualsubnet":
        return DualSubnet(cfg.width, cfg.depth, cfg.dual_init_logit)
    return mlp(4, cfg.width, cfg.depth)


# ----------------------------------------------------------------------------- cells
@dataclass(frozen=True)
class Cell:
    case: str
    method: str
    lam: float = 0.0
    beta_max2: float | None = None   # GSEAL / augmentation only
    seed: int = 0
    penalty: str | None = None       # "budget" only: the wrapped penalty, gseal or dseal
    target: float | None = None      # "budget" only: the target of Gamma

    @property
    def beta_max(self) -> float | None:
        return None if self.beta_max2 is None else math.sqrt(self.beta_max2)

    @property
    def key(self) -> str:
        b = "none" if self.beta_max2 is None else f"{self.beta_max2:g}"
        if self.method == "budget":
            return (f"{self.case}_budget-{self.penalty}_target{self.target:g}_bmax2-{b}"
                    f"_seed{self.seed}")
        return f"{self.case}_{self.method}_lam{self.lam:g}_bmax2-{b}_seed{self.seed}"


def plan(cfg: Config) -> list[Cell]:
    """Every cell of the run, without duplicates, in execution order."""
    cells = []
    for seed in cfg.seeds:
        for case in cfg.cases:
            def c(*a, case=case, seed=seed):
                return Cell(case, *a, seed=seed)
            cells.append(c("baseline"))
            cells += [c("gseal", lam, cfg.beta_max2) for lam in cfg.lams_gseal]
            cells += [c("dseal", lam) for lam in cfg.lams_dseal]
            cells += [c("gseal", lam, b2) for b2 in cfg.study_beta_max2 for lam in cfg.study_lams]
            cells += [c("gseal", round(lam / cfg.small_beta_max2, 10), cfg.small_beta_max2)
                      for lam in cfg.lams_dseal]
            cells += [c("augment", 0.0, cfg.beta_max2), c("invariant"), c("dualsubnet")]
    return list(dict.fromkeys(cells))


def budget_plan(cfg: Config) -> list[Cell]:
    """``--budget``: the fixed-lambda cells of Fig. 1 (the front the budgets are compared
    with), then one budget cell per penalty and target."""
    cells = []
    for seed in cfg.seeds:
        for case in cfg.cases:
            cells.append(Cell(case, "baseline", seed=seed))
            cells += [Cell(case, "gseal", lam, cfg.beta_max2, seed) for lam in cfg.lams_gseal]
            cells += [Cell(case, "dseal", lam, seed=seed) for lam in cfg.lams_dseal]
    for seed in cfg.seeds:
        for case in cfg.cases:
            cells += [Cell(case, "budget", 0.0, cfg.beta_max2, seed, "gseal", t)
                      for t in cfg.budget_targets_gseal]
            cells += [Cell(case, "budget", 0.0, None, seed, "dseal", t)
                      for t in cfg.budget_targets_dseal]
    return list(dict.fromkeys(cells))


def fingerprint(cfg: Config) -> dict:
    """The settings a cell's result depends on (a cell computed under others is redone)."""
    keep = ("n_train", "n_val", "n_test", "batch", "epochs", "lr", "schedule", "shuffle", "width",
            "depth", "test_betas", "data_seed", "dual_init_logit")
    return {k: getattr(cfg, k) for k in keep}


# ----------------------------------------------------------------------------- training
@torch.inference_mode()
def boosted_mse(model, x: torch.Tensor, case: str, betas, device, chunk: int) -> list[float]:
    """MSE against the true f of x boosted along z by each beta (boost and truth in float64)."""
    model.eval()
    out = []
    for beta in betas:
        L = Lorentz.boost(torch.tensor([0.0, 0.0, float(beta)], dtype=torch.float64))
        xb = x @ L.T
        err = 0.0
        for i in range(0, len(xb), chunk):
            xc = xb[i:i + chunk]
            pred = model(xc.to(device=device, dtype=torch.float32))[:, 0].double().cpu()
            err += float(((pred - truth(xc, case)) ** 2).sum())
        out.append(err / len(xb))
    model.train()
    return out


def final_gammas(model, x: torch.Tensor, cfg: Config, device) -> dict:
    """GSEAL (beta_max2 of the config) and exact deltaSEAL of the trained model on the first
    ``cfg.gamma_eval`` training vectors (fixed boosts): every cell's Gamma on the same footing."""
    x = x[:cfg.gamma_eval].to(device=device, dtype=torch.float32)
    group = Lorentz()
    gseal = GSEAL(group, Vector4(), Scalar(), beta_max=math.sqrt(cfg.beta_max2))
    dseal = DeltaSEAL(group, Vector4(), Scalar()).to(device)
    model.eval()
    with torch.no_grad():   # deltaSEAL still differentiates in x, without a graph
        g = float(gseal(model, x, generator=torch.Generator().manual_seed(30_000)))
        d = float(dseal(model, x))
    model.train()
    return {"gseal": g, "dseal": d}


def train_cell(cell: Cell, cfg: Config, data, device, progress: bool) -> dict:
    from tqdm.auto import tqdm

    x_tr, x_val, x_te = data
    X = x_tr.to(device=device, dtype=torch.float32)
    Y = truth(x_tr, cell.case).to(device=device, dtype=torch.float32)
    model = build_model(cell.method, cfg, cell.seed).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    steps_per_epoch = cfg.n_train // cfg.batch
    total = steps_per_epoch * cfg.epochs
    sched = (torch.optim.lr_scheduler.CosineAnnealingLR(opt, total)
             if cfg.schedule == "cosine" else None)
    order_gen = torch.Generator().manual_seed(10_000 + cell.seed)   # batch order
    boost_gen = torch.Generator().manual_seed(20_000 + cell.seed)   # GSEAL / augmentation draws
    group = Lorentz()
    if cell.method == "gseal":
        penalty = GSEAL(group, Vector4(), Scalar(), beta_max=cell.beta_max)
    elif cell.method == "dseal":
        penalty = DeltaSEAL(group, Vector4(), Scalar()).to(device)
    elif cell.method == "budget":
        inner = (GSEAL(group, Vector4(), Scalar(), beta_max=cell.beta_max)
                 if cell.penalty == "gseal" else DeltaSEAL(group, Vector4(), Scalar()))
        budget = ViolationBudget(inner, cell.target).to(device)
        lam_log = []   # (step, lambda, Gamma-bar) every 50 steps

    t0 = time.perf_counter()
    step, acc, mse_run, pen_run = 0, torch.zeros(2, device=device), float("nan"), float("nan")
    bar = tqdm(total=total, desc=cell.key, disable=not progress, leave=False, mininterval=1.0,
               file=sys.stdout)
    for _ in range(cfg.epochs):
        perm = (torch.randperm(cfg.n_train, generator=order_gen) if cfg.shuffle
                else torch.arange(cfg.n_train))
        for i in range(steps_per_epoch):
            idx = perm[i * cfg.batch:(i + 1) * cfg.batch].to(device)
            x, y = X[idx], Y[idx]
            opt.zero_grad(set_to_none=True)
            pen = torch.zeros((), device=device)
            if cell.method == "dseal":
                pen, fx = penalty(model, x, return_output=True)
            elif cell.method == "budget":
                if cell.penalty == "dseal":
                    weighted, fx = budget(model, x, return_output=True)
                else:
                    fx = model(x)
                    weighted = budget(model, x, fx=fx, generator=boost_gen)
                pen = torch.tensor(budget.value, device=device)
            elif cell.method == "augment":
                g = group.sample(len(x), beta_max=cell.beta_max, generator=boost_gen,
                                 dtype=torch.float64, device=device)
                fx = model(Vector4().act(g, x))      # label: f of the *original* vector
            else:
                fx = model(x)
                if cell.method == "gseal":
                    pen = penalty(model, x, fx=fx, generator=boost_gen)
            mse = ((fx[:, 0] - y) ** 2).mean()
            if cell.method == "budget":
                loss = mse + weighted
            else:
                loss = mse + cell.lam * pen if cell.lam else mse
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            step += 1
            acc += torch.stack([mse.detach(), pen.detach()])
            if step % 50 == 0 or step == total:   # read back rarely (no GPU sync every step)
                n_acc = (step - 1) % 50 + 1
                mse_run, pen_run = (acc / n_acc).tolist()
                acc.zero_()
                bar.set_postfix(mse=f"{mse_run:.2e}", pen=f"{pen_run:.2e}", refresh=False)
                if cell.method == "budget":
                    lam_log.append((step, budget.lam, budget.ema))
            bar.update()
    bar.close()
    train_s = time.perf_counter() - t0
    rec = dict(key=cell.key, case=cell.case, method=cell.method, lam=cell.lam,
               beta_max=cell.beta_max, beta_max2=cell.beta_max2, seed=cell.seed,
               config=fingerprint(cfg), betas=list(cfg.test_betas),
               test_mse=boosted_mse(model, x_te, cell.case, cfg.test_betas, device,
                                    cfg.eval_chunk),
               val_mse=boosted_mse(model, x_val, cell.case, cfg.test_betas, device,
                                   cfg.eval_chunk),
               train_mse_last50=mse_run, penalty_last50=pen_run, steps=total,
               train_seconds=round(train_s, 2), device=str(device),
               final_gamma=final_gammas(model, x_tr, cfg, device))
    if cell.method == "budget":
        rec.update(penalty=cell.penalty, target=cell.target, lam_final=budget.lam,
                   gamma_ema=budget.ema, skipped=budget.skipped, lam_min=budget.lam_min,
                   lam_log=lam_log)
    if isinstance(model, DualSubnet):
        rec["symmetry_factor_w"] = model.w
    return rec


def load_cell(path: str, cfg: Config) -> dict | None:
    """A finished cell computed under the same configuration, else None."""
    try:
        with open(path) as f:
            rec = json.load(f)
    except (OSError, json.JSONDecodeError):
        return None
    want = json.loads(json.dumps(fingerprint(cfg)))   # tuples -> lists, as stored
    return rec if rec.get("config") == want else None


def write_json(path: str, obj) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)   # atomic: an interrupted run never leaves half a cell


# ----------------------------------------------------------------------------- reports
CSV_COLUMNS = ("case", "method", "lam", "beta_max", "seed", "beta", "mse")


def write_results(recs: list[dict], out: str) -> None:
    with open(os.path.join(out, "results.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        for r in recs:
            bm = "" if r["beta_max"] is None else f"{r['beta_max']:.6g}"
            for beta, mse in zip(r["betas"], r["test_mse"], strict=True):
                w.writerow([r["case"], r["method"], f"{r['lam']:g}", bm, r["seed"], f"{beta:g}",
                            f"{mse:.6e}"])


def mean_curve(recs, key="test_mse"):
    """Average over seeds of the records of one (case, method, lam, beta_max2)."""
    n = len(recs)
    return [sum(r[key][i] for r in recs) / n for i in range(len(recs[0][key]))]


def group_runs(recs: list[dict]) -> dict:
    """(case, method, lam, beta_max2) -> dict(test=curve, val=curve, w=...) averaged over seeds."""
    groups: dict = {}
    for r in recs:
        groups.setdefault((r["case"], r["method"], r["lam"], r["beta_max2"]), []).append(r)
    return {k: dict(test=mean_curve(v), val=mean_curve(v, "val_mse"), n=len(v),
                    w=[r.get("symmetry_factor_w") for r in v]) for k, v in groups.items()}


def log_mean(curve) -> float:
    return sum(math.log10(max(v, 1e-300)) for v in curve) / len(curve)


def best_runs(runs: dict, case: str) -> dict:
    """Per method, the (lam, beta_max2) with the lowest mean log10 validation MSE over beta."""
    best = {}
    for (c, m, lam, b2), run in runs.items():
        if c == case and (m not in best or log_mean(run["val"]) < best[m][2]):
            best[m] = (lam, b2, log_mean(run["val"]))
    return best


def label(method, lam, b2) -> str:
    if method == "gseal":
        return f"GSEAL λ={lam:g}, β²max={b2:g}"
    if method == "dseal":
        return f"δSEAL λ={lam:g}"
    if method == "augment":
        return f"augment β²max={b2:g}"
    return method


def make_figures(runs: dict, cfg: Config, out: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    betas = list(cfg.test_betas)
    cases = [c for c in ("exact", "broken") if c in cfg.cases]
    titles = {"exact": "exact", "broken": "broken (s = (0,0,0,1e-3))"}
    all_lams = sorted(set(cfg.lams_gseal) | set(cfg.lams_dseal) | set(cfg.study_lams))
    tab = plt.get_cmap("tab10")
    color = lambda lam: tab(all_lams.index(lam) % 10) if lam in all_lams else "grey"  # noqa: E731

    def base(ax, case):
        if (case, "baseline", 0.0, None) in runs:
            ax.plot(betas, runs[(case, "baseline", 0.0, None)]["test"], "k-", lw=2,
                    label="baseline (λ=0)")

    def finish(ax, title):
        ax.set_yscale("log")
        ax.set_xlabel("test boost β (along z)")
        ax.set_ylabel("MSE")
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=6)

    # Fig. 1: solid dSEAL, dashed GSEAL (beta_max^2 = cfg.beta_max2)
    fig, axes = plt.subplots(1, len(cases), figsize=(6 * len(cases), 4.5), squeeze=False)
    for ax, case in zip(axes[0], cases, strict=True):
        base(ax, case)
        for lam in cfg.lams_dseal:
            if (k := (case, "dseal", lam, None)) in runs:
                ax.plot(betas, runs[k]["test"], "-", color=color(lam), label=label("dseal", lam,
                                                                                    None))
        for lam in cfg.lams_gseal:
            if (k := (case, "gseal", lam, cfg.beta_max2)) in runs:
                ax.plot(betas, runs[k]["test"], "--", color=color(lam),
                        label=label("gseal", lam, cfg.beta_max2))
        finish(ax, f"Fig. 1, {titles[case]}: solid δSEAL, dashed GSEAL (β²max={cfg.beta_max2:g})")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "fig1.png"), dpi=100)
    plt.close(fig)

    # Fig. 6: (a, b) GSEAL vs beta_max at two lambdas; (c) small beta_max, lam_G = lam_d / b2
    study_b2 = sorted(set(cfg.study_beta_max2) | {cfg.beta_max2})
    bcol = {b2: plt.get_cmap("plasma")(0.85 * i / max(len(study_b2) - 1, 1))
            for i, b2 in enumerate(study_b2)}
    ncol = len(cfg.study_lams) + 1
    fig, axes = plt.subplots(len(cases), ncol, figsize=(4.6 * ncol, 4.0 * len(cases)),
                             squeeze=False)
    for row, case in enumerate(cases):
        for col, lam in enumerate(cfg.study_lams):
            ax = axes[row][col]
            base(ax, case)
            for b2 in study_b2:
                if (k := (case, "gseal", lam, b2)) in runs:
                    ax.plot(betas, runs[k]["test"], "--", color=bcol[b2],
                            label=f"GSEAL λ={lam:g}, β²max={b2:g}")
            finish(ax, f"({chr(97 + row * ncol + col)}) {titles[case]}: GSEAL λ={lam:g}, "
                   "varying β²max")
        ax = axes[row][-1]
        base(ax, case)
        sb2 = cfg.small_beta_max2
        for lam in cfg.lams_dseal:
            if (k := (case, "dseal", lam, None)) in runs:
                ax.plot(betas, runs[k]["test"], "-", color=color(lam), label=f"δSEAL λ={lam:g}")
            lg = round(lam / sb2, 10)
            if (k := (case, "gseal", lg, sb2)) in runs:
                ax.plot(betas, runs[k]["test"], "--", color=color(lam),
                        label=f"GSEAL λ={lg:g}, β²max={sb2:g}")
        finish(ax, f"({chr(97 + row * ncol + ncol - 1)}) {titles[case]}: "
                   f"λ_G = λ_δ / β²max, β²max = {sb2:g}")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "fig6.png"), dpi=100)
    plt.close(fig)

    # comparison: every method at its best (lambda, beta_max) on the validation sample
    styles = dict(baseline="k-", gseal="C0--", dseal="C1-", augment="C2-.", invariant="C3:",
                  dualsubnet="C4-")
    fig, axes = plt.subplots(1, len(cases), figsize=(6 * len(cases), 4.5), squeeze=False)
    for ax, case in zip(axes[0], cases, strict=True):
        for m, (lam, b2, _) in best_runs(runs, case).items():
            ax.plot(betas, runs[(case, m, lam, b2)]["test"], styles[m], lw=2,
                    label=label(m, lam, b2))
        finish(ax, f"{titles[case]}: each method at its best λ (validation)")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "comparison.png"), dpi=100)
    plt.close(fig)


def nearest(betas, b) -> int:
    return min(range(len(betas)), key=lambda i: abs(betas[i] - b))


def write_tables(runs: dict, cfg: Config, out: str) -> None:
    """table.md (MSE at cfg.table_betas), best.csv and summary.md (the App. A checks)."""
    betas = list(cfg.test_betas)
    cols = [nearest(betas, b) for b in cfg.table_betas]
    cases = [c for c in ("exact", "broken") if c in cfg.cases]
    order = {m: i for i, m in enumerate(METHODS)}
    keys = sorted({(m, lam, b2) for (_, m, lam, b2) in runs},
                  key=lambda k: (order[k[0]], -1 if k[2] is None else -k[2], k[1]))
    head = "| method | λ | β²max | " + " | ".join(
        f"{c} β={betas[i]:g}" for c in cases for i in cols) + " |"
    lines = [head, "|" + "---|" * (3 + len(cases) * len(cols))]
    for m, lam, b2 in keys:
        vals = []
        for c in cases:
            run = runs.get((c, m, lam, b2))
            vals += [f"{run['test'][i]:.2e}" if run else "—" for i in cols]
        lines.append(f"| {m} | {lam:g} | {'' if b2 is None else f'{b2:g}'} | "
                     + " | ".join(vals) + " |")
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write("\n".join(lines) + "\n")

    with open(os.path.join(out, "best.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(("case", "method", "lam", "beta_max2", "val_mean_log10_mse"))
        for c in cases:
            for m, (lam, b2, v) in best_runs(runs, c).items():
                w.writerow((c, m, f"{lam:g}", "" if b2 is None else f"{b2:g}", f"{v:.4f}"))

    # summary: the numbers behind the three acceptance claims (no thresholds, just numbers)
    s = []
    i0, i4, i8 = (nearest(betas, b) for b in (0.0, 0.4, 0.8))
    for c in cases:
        s.append(f"## {c}\n")
        s.append("flatness log10(MSE(β=0.8)/MSE(β=0)) and range where a curve is below the "
                 "baseline:\n")
        bl = runs.get((c, "baseline", 0.0, None))
        for (cc, m, lam, b2), run in runs.items():   # in plan order
            if cc != c:
                continue
            t = run["test"]
            flat = math.log10(t[i8] / t[i0])
            ref = bl["test"] if bl else [-math.inf] * len(t)
            below = [b for b, v, r in zip(betas, t, ref, strict=True) if v < r]
            s.append(f"- {label(m, lam, b2)}: flatness {flat:+.2f}; MSE β=0 {t[i0]:.2e}, "
                     f"β=0.4 {t[i4]:.2e}, β=0.8 {t[i8]:.2e}; below baseline at "
                     f"{len(below)}/{len(betas)} test β"
                     + (f" ({min(below):g}–{max(below):g})" if below else "")
                     + (f"; w = {run['w']}" if m == "dualsubnet" else ""))
        # best curve per beta among the Fig. 1 curves
        fig1 = {k: v for k, v in runs.items() if k[0] == c and (
            k[1] == "baseline" or (k[1] == "dseal") or (k[1] == "gseal" and k[3] == cfg.beta_max2))}
        winners = []
        for i, b in enumerate(betas):
            k = min(fig1, key=lambda k: fig1[k]["test"][i])
            winners.append(f"β={b:g}: {label(k[1], k[2], k[3])}")
        s.append("\nbest Fig. 1 curve per test β: " + "; ".join(winners) + "\n")
        # Fig. 6c: distance of each dSEAL curve to each small-beta_max GSEAL curve
        sb2 = cfg.small_beta_max2
        g_small = {k[2]: v["test"] for k, v in runs.items()
                   if k[0] == c and k[1] == "gseal" and k[3] == sb2}
        s.append(f"Fig. 6c (β²max = {sb2:g}): mean |log10 MSE_G − log10 MSE_δ| over test "
                 "β ≤ 0.4 / all β, for every GSEAL λ_G (matched: λ_G = λ_δ / β²max):")
        small = [i for i, b in enumerate(betas) if b <= 0.4 + 1e-9]
        for lam in cfg.lams_dseal:
            if (c, "dseal", lam, None) not in runs:
                continue
            d = runs[(c, "dseal", lam, None)]["test"]
            parts = []
            for lg, gcurve in sorted(g_small.items()):
                dist = [abs(math.log10(gcurve[i] / d[i])) for i in range(len(betas))]
                tag = " (matched)" if math.isclose(lg, lam / sb2) else ""
                parts.append(f"λ_G={lg:g}{tag}: {sum(dist[i] for i in small) / len(small):.3f}"
                             f" / {sum(dist) / len(dist):.3f}")
            if bl:
                dist = [abs(math.log10(bl["test"][i] / d[i])) for i in range(len(betas))]
                parts.append(f"baseline: {sum(dist[i] for i in small) / len(small):.3f} / "
                             f"{sum(dist) / len(dist):.3f}")
            s.append(f"- δSEAL λ_δ={lam:g}: " + "; ".join(parts))
        s.append("")
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write("\n".join(s) + "\n")


# ----------------------------------------------------------------------------- budget reports
BUDGET_COLUMNS = ("case", "penalty", "target", "beta_max", "seed", "lam_final", "lam_at_floor",
                  "gamma_ema", "gamma_ema_over_target", "gamma_last50_over_target",
                  "final_gamma", "skipped", "mse_beta0", "mse_beta0.4", "mse_beta0.8",
                  "front_ratio_beta0.8", "position", "gamma_front_ratio_mse0", "gamma_position",
                  "train_seconds")
FLOOR_RTOL = 1e-9    # lambda "at its floor": within this relative distance of lam_min
FRONT_TOL = 1.5      # "on" the fixed-lambda front: MSE(0.8) within this factor of the front's


def pareto(points: list[tuple]) -> list[tuple]:
    """The non-dominated ``(mse0, mse8, ...)`` points (lower is better in both), by mse0."""
    front = [p for p in points
             if not any(q[0] <= p[0] and q[1] <= p[1] and q[:2] != p[:2] for q in points)]
    return sorted(front, key=lambda p: p[0])


def front_position(p0: float, p8: float, front: list[tuple]) -> tuple[float, str]:
    """Where ``(p0, p8)`` lies against a fixed-lambda front (sorted by MSE(0), MSE(0.8)
    decreasing): the ratio of its MSE at beta = 0.8 to the front's at the same beta = 0 MSE
    (log-log interpolation between front points; to the right of the front, the front is flat
    at its lowest MSE(0.8)), and a verdict: ``inside`` (ratio > FRONT_TOL: worse than the
    front), ``beyond`` (ratio < 1 / FRONT_TOL) or ``on``. Left of the front (a lower MSE at
    beta = 0 than any fixed lambda) the ratio is nan and the point is ``beyond`` if it also
    beats the leftmost point at beta = 0.8, else ``on``."""
    lx = [math.log10(q[0]) for q in front]
    ly = [math.log10(q[1]) for q in front]
    x = math.log10(p0)
    if x < lx[0]:
        return math.nan, "beyond" if p8 <= front[0][1] else "on"
    y = ly[-1]
    for i in range(len(lx) - 1):
        if lx[i] <= x <= lx[i + 1]:
            t = (x - lx[i]) / (lx[i + 1] - lx[i]) if lx[i + 1] > lx[i] else 0.0
            y = ly[i] + t * (ly[i + 1] - ly[i])
            break
    ratio = 10 ** (math.log10(p8) - y)
    verdict = "inside" if ratio > FRONT_TOL else "beyond" if ratio < 1 / FRONT_TOL else "on"
    return ratio, verdict


def budget_rows(recs: list[dict], cfg: Config) -> tuple[list[dict], dict]:
    """One row per budget cell (BUDGET_COLUMNS) and the fixed-lambda points per (case, penalty):
    ``(mse0, mse8, label, Gamma of that penalty at the end of training)``."""
    betas = list(cfg.test_betas)
    i0, i4, i8 = (nearest(betas, b) for b in (0.0, 0.4, 0.8))
    fixed: dict = {}
    for r in recs:
        t = r["test_mse"]
        gam = r.get("final_gamma") or {}
        for pen in BUDGET_PENALTIES:
            if r["method"] == "baseline" or (r["method"] == pen and (
                    pen == "dseal" or math.isclose(r["beta_max2"], cfg.beta_max2))):
                name = "baseline" if r["method"] == "baseline" else f"λ={r['lam']:g}"
                fixed.setdefault((r["case"], pen), []).append(
                    (t[i0], t[i8], name, gam.get(pen, math.nan), r["seed"]))
    rows = []
    for r in recs:
        if r["method"] != "budget":
            continue
        t = r["test_mse"]
        pts = [q for q in fixed.get((r["case"], r["penalty"]), []) if q[4] == r["seed"]]
        ratio, verdict = (front_position(t[i0], t[i8], pareto(pts)) if pts
                          else (math.nan, "no fixed-λ cells"))
        # the trade-off the constraint sets: final Γ against test MSE at beta = 0
        gam = (r.get("final_gamma") or {}).get(r["penalty"], math.nan)
        gpts = [(q[3], q[0]) for q in pts if math.isfinite(q[3])]
        g_ratio, g_verdict = (front_position(gam, t[i0], pareto(gpts))
                              if gpts and math.isfinite(gam) else (math.nan, "—"))
        rows.append({
            "case": r["case"], "penalty": r["penalty"], "target": r["target"],
            "beta_max": r["beta_max"], "seed": r["seed"], "lam_final": r["lam_final"],
            "lam_at_floor": abs(r["lam_final"] - r["lam_min"]) <= FLOOR_RTOL * r["lam_min"],
            "gamma_ema": r["gamma_ema"], "gamma_ema_over_target": r["gamma_ema"] / r["target"],
            "gamma_last50_over_target": r["penalty_last50"] / r["target"],
            "final_gamma": (r.get("final_gamma") or {}).get(r["penalty"], math.nan),
            "skipped": r["skipped"], "mse_beta0": t[i0], "mse_beta0.4": t[i4],
            "mse_beta0.8": t[i8], "front_ratio_beta0.8": ratio, "position": verdict,
            "gamma_front_ratio_mse0": g_ratio, "gamma_position": g_verdict,
            "train_seconds": r["train_seconds"]})
    return rows, fixed


def write_budget_reports(recs: list[dict], cfg: Config, out: str) -> list[dict]:
    """budget.csv, budget.md (the budget runs against the fixed-lambda front) and budget.png."""
    rows, fixed = budget_rows(recs, cfg)
    with open(os.path.join(out, "budget.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, BUDGET_COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    name = {"gseal": f"GSEAL (β²max={cfg.beta_max2:g})", "dseal": "δSEAL"}
    lines = []
    for (case, pen), pts in fixed.items():
        lines += [f"## {case}, {name[pen]}\n", "fixed λ (the front; Γ measured after training "
                  f"on {cfg.gamma_eval} training vectors):\n",
                  "| run | Γ final | MSE β=0 | MSE β=0.8 |", "|---|---|---|---|"]
        lines += [f"| {q[2]} (seed {q[4]}) | {q[3]:.2e} | {q[0]:.2e} | {q[1]:.2e} |"
                  for q in sorted(pts, key=lambda q: (q[4], q[0]))]
        lines += ["", "budget:\n", "| target | Γ̄ (EMA) / target | Γ last 50 / target | Γ final | "
                  "λ final | at floor | MSE β=0 | MSE β=0.8 | MSE(0.8) / front | position | "
                  "MSE(0) / Γ-front | Γ-position |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            if (r["case"], r["penalty"]) == (case, pen):
                lines.append(
                    f"| {r['target']:g} | {r['gamma_ema_over_target']:.2f} | "
                    f"{r['gamma_last50_over_target']:.2f} | {r['final_gamma']:.2e} | "
                    f"{r['lam_final']:.3g} | {'yes' if r['lam_at_floor'] else 'no'} | "
                    f"{r['mse_beta0']:.2e} | {r['mse_beta0.8']:.2e} | "
                    f"{r['front_ratio_beta0.8']:.2f} | {r['position']} | "
                    f"{r['gamma_front_ratio_mse0']:.2f} | {r['gamma_position']} |")
        lines.append("")
    lines.append("MSE(0.8) / front: the run's test MSE at β = 0.8 over the fixed-λ front's at the "
                 "same MSE at β = 0 (log-log interpolation; `inside` > "
                 f"{FRONT_TOL:g}, `beyond` < 1/{FRONT_TOL:g}). MSE(0) / Γ-front: the same in "
                 "the plane (final Γ, test MSE at β = 0), the trade-off the constraint sets; "
                 "nan: a lower Γ than any fixed λ reached.\n")
    with open(os.path.join(out, "budget.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    make_budget_figure(rows, fixed, cfg, out)
    return rows


def make_budget_figure(rows: list[dict], fixed: dict, cfg: Config, out: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = [c for c in ("exact", "broken") if c in cfg.cases]
    fig, axes = plt.subplots(1, len(cases), figsize=(6 * len(cases), 4.5), squeeze=False)
    style = {"gseal": ("C0", "o"), "dseal": ("C1", "s")}
    for ax, case in zip(axes[0], cases, strict=True):
        for pen in BUDGET_PENALTIES:
            col, mk = style[pen]
            pts = sorted(fixed.get((case, pen), []),   # in lambda order, baseline first
                         key=lambda q: 0.0 if q[2] == "baseline" else float(q[2][2:]))
            if pts:
                ax.plot([q[0] for q in pts], [q[1] for q in pts], mk + "--", color=col,
                        mfc="none", label=f"{pen} fixed λ (and baseline)")
                for q in pts:
                    ax.annotate(q[2], (q[0], q[1]), fontsize=6, color=col)
            bud = [r for r in rows if (r["case"], r["penalty"]) == (case, pen)]
            if bud:
                ax.plot([r["mse_beta0"] for r in bud], [r["mse_beta0.8"] for r in bud], mk,
                        color=col, ms=8, label=f"{pen} budget")
                for r in bud:
                    ax.annotate(f"target {r['target']:g}", (r["mse_beta0"], r["mse_beta0.8"]),
                                fontsize=6, color=col, xytext=(4, -8), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("test MSE at β = 0")
        ax.set_ylabel("test MSE at β = 0.8")
        ax.set_title(f"{case}: violation budgets vs fixed λ", fontsize=9)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "budget.png"), dpi=100)
    plt.close(fig)


# ----------------------------------------------------------------------------- main
def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda requested but CUDA is not available")
    return torch.device(name)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", choices=sorted(PRESETS), default="default")
    p.add_argument("--quick", action="store_true", help="same as --preset quick (< 1 min)")
    p.add_argument("--out", default=None, help="output folder (default runs/toy_regression)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="training seeds")
    p.add_argument("--cases", nargs="+", choices=("exact", "broken"), default=None)
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default: torch's choice; --quick uses 1)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--budget", action="store_true",
                   help="violation-budget study: the fixed-lambda Fig. 1 cells and the budget "
                        "cells only; writes budget.csv/md/png (docs/budget.md)")
    p.add_argument("--targets-gseal", type=float, nargs="+", default=None,
                   help="--budget: GSEAL targets (default: the preset's)")
    p.add_argument("--targets-dseal", type=float, nargs="+", default=None,
                   help="--budget: deltaSEAL targets (default: the preset's)")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
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
    os.makedirs(os.path.join(out, "cells"), exist_ok=True)
    cells = budget_plan(cfg) if args.budget else plan(cfg)
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
        else:
            rec = train_cell(cell, cfg, data, device, progress=not args.no_progress)
            write_json(path, rec)
            trained += 1
            t = rec["test_mse"]
            extra = (f", λ {rec['lam_final']:.3g}, Γ̄/target {rec['gamma_ema'] / cell.target:.2f}"
                     if cell.method == "budget" else "")
            print(f"[{n}/{len(cells)}] {cell.key}: {rec['train_seconds']:.0f} s, test MSE "
                  f"β=0 {t[0]:.2e}, β={cfg.test_betas[-1]:g} {t[-1]:.2e}{extra}", flush=True)
        recs.append(rec)

    if args.budget:
        write_budget_reports(recs, cfg, out)
        written = "budget.csv, budget.md, budget.png"
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
