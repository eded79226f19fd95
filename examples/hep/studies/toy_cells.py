"""The toy regression's study: its cells (case x method x lambda x beta_max x seed), the plan
of a run (Fig. 1 / Fig. 6 or the violation-budget study), how one cell trains and is evaluated
(test MSE on boosted vectors, final Γ), and the cell files that make a run resumable.

``cfg`` everywhere: the toy's configuration, ``toy_regression.Config`` (the script's top).
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
import warnings
from dataclasses import dataclass

import torch

from examples.hep.data.toy import truth
from examples.hep.experiment import Penalty
from examples.hep.models.toy import DualSubnet, build_model
from examples.hep.studies.budget_rules import RULES
from examples.hep.studies.search import search_lambda
from examples.hep.training.loop import fit, objective
from examples.hep.training.penalty import build_penalty
from liesoft import Lorentz, Sampler, Scalar, Vector4, measure_violation


@dataclass(frozen=True)
class Cell:
    case: str
    method: str
    lam: float = 0.0
    beta_max2: float | None = None   # GSEAL / augmentation only
    seed: int = 0
    penalty: str | None = None       # "budget" only: the wrapped penalty, gseal or dseal
    target: float | None = None      # "budget" only: the target of Gamma
    rule: str | None = None          # "budget" only: a key of studies/budget_rules.RULES

    @property
    def beta_max(self) -> float | None:
        return None if self.beta_max2 is None else math.sqrt(self.beta_max2)

    @property
    def key(self) -> str:
        b = "none" if self.beta_max2 is None else f"{self.beta_max2:g}"
        if self.method == "budget":
            rule = "" if self.rule in (None, "lr") else f"-{self.rule}"
            return (f"{self.case}_budget-{self.penalty}{rule}_target{self.target:g}_bmax2-{b}"
                    f"_seed{self.seed}")
        return f"{self.case}_{self.method}_lam{self.lam:g}_bmax2-{b}_seed{self.seed}"


def plan(cfg) -> list[Cell]:
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


SEARCH_RULE = "search"   # not a ViolationBudget: liesoft.find_lambda across fixed-λ trainings


def budget_plan(cfg, fixed_only: bool = False, front: bool = True) -> list[Cell]:
    """``--budget``: the fixed-lambda front (baseline, ``cfg.budget_lams_gseal`` and
    ``cfg.budget_lams_dseal``), then one budget cell per rule (``cfg.budget_rules``), penalty
    and target; ``fixed_only``: the front alone; ``front=False``: the budget cells alone."""
    if fixed_only and not front:
        raise ValueError("budget_plan: fixed_only=True asks for the front alone and front=False "
                         "for no front; got both")
    cells = []
    for seed in cfg.seeds if front else ():
        for case in cfg.cases:
            cells.append(Cell(case, "baseline", seed=seed))
            cells += [Cell(case, "gseal", lam, cfg.beta_max2, seed)
                      for lam in cfg.budget_lams_gseal]
            cells += [Cell(case, "dseal", lam, seed=seed) for lam in cfg.budget_lams_dseal]
    for seed in () if fixed_only else cfg.seeds:
        for rule in cfg.budget_rules:
            for case in cfg.cases:
                cells += [Cell(case, "budget", 0.0, cfg.beta_max2, seed, "gseal", t, rule)
                          for t in cfg.budget_targets_gseal]
                cells += [Cell(case, "budget", 0.0, None, seed, "dseal", t, rule)
                          for t in cfg.budget_targets_dseal]
    return list(dict.fromkeys(cells))


def fingerprint(cfg) -> dict:
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


def final_gammas(model, x: torch.Tensor, cfg, device, draws: int = 1) -> dict:
    """GSEAL (beta_max2 of the config) and exact deltaSEAL of the trained model on the first
    ``cfg.gamma_eval`` vectors of ``x`` (fixed boosts): every cell's Gamma on the same footing.
    ``train_cell`` measures it on training vectors (``final_gamma``), on the held-out test
    vectors (``final_gamma_heldout``, what a budget is judged by) and on the validation vectors
    (``final_gamma_val``, what the λ search steers by) with GSEAL averaged over
    ``cfg.gamma_val_draws`` boost draws: one draw of boosts up to γ = 4.5 on the 5 000
    validation vectors scatters over 0.67–1.34× the mean of 16, more than the landing band
    (``benchmarks/gamma_estimate_noise.py``)."""
    x = x[:cfg.gamma_eval].to(device=device, dtype=torch.float32)
    gseal, _ = build_penalty(Penalty("gseal", 1.0), out_rep=Scalar(),
                             beta_max=math.sqrt(cfg.beta_max2))
    dseal, _ = build_penalty(Penalty("dseal", 1.0), out_rep=Scalar())
    # liesoft.measure_violation: eval() mode, no graph, GSEAL over `draws` seeded draws
    return {"gseal": measure_violation(gseal, model, x, draws=draws, seed=30_000,
                                       generator_device="cpu").mean,
            "dseal": measure_violation(dseal.to(device), model, x, draws=1).mean}


def mse(out, y):
    """The toy's task loss: the squared error of the model's first output."""
    return ((out[:, 0] - y) ** 2).mean()


def cell_penalty(cell: Cell, opt, device):
    """``(penalty, λ)`` of a cell through the examples' one factory (``build_penalty``): GSEAL
    at the cell's β_max, exact δSEAL, a budget (λ = 1 outside) by its rule, or none."""
    if cell.method in ("gseal", "dseal"):
        penalty, lam = build_penalty(Penalty(cell.method, cell.lam), out_rep=Scalar(),
                                     beta_max=cell.beta_max)
        return penalty.to(device), lam
    if cell.method == "budget":
        inner, _ = build_penalty(Penalty(cell.penalty, 1.0), out_rep=Scalar(),
                                 beta_max=cell.beta_max)
        rule = "lr" if cell.rule is None else cell.rule
        if rule not in RULES:
            raise ValueError(f"budget cell {cell.key}: rule must be one of {tuple(RULES)} "
                             f"(search: search_cell), got {cell.rule!r}")
        # "lr": the running target follows the learning rate (docs/budget.md, the schedule);
        # "constant": the rule without schedule, the running Γ̄ held at the target; the
        # alternatives of studies/budget_rules.py
        return RULES[rule](inner, cell.target, opt).to(device), 1.0
    return None, 0.0


def boost_augment(beta_max: float):
    """``augment(x, generator)``: each four-vector boosted by one of GSEAL's boosts (label: f
    of the *original* vector, an invariant target), drawn with the library's sampler (the one
    GSEAL holds)."""
    sampler = Sampler(Lorentz(), beta_max=beta_max)

    def augment(x, generator):
        g = sampler.sample(len(x), generator=generator, dtype=torch.float64, device=x.device)
        return Vector4().act(g, x)

    return augment


def train_cell(cell: Cell, cfg, data, device, progress: bool) -> dict:
    """Train one cell with the examples' loop (``training.fit``): Adam, cosine schedule, the
    cell's penalty or augmentation; then its test/validation MSE and final Γ."""
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
    penalty, lam = cell_penalty(cell, opt, device)
    budget = penalty if cell.method == "budget" else None
    log = {"step": 0, "acc": torch.zeros(2, device=device), "mse": float("nan"),
           "pen": float("nan"), "warned": 0, "lam_log": [],  # (step, λ, Γ̄, target, Γ) / 50
           "lam_max": budget.lam if budget is not None else None}
    loss_fn = objective(model, penalty, lam, loss=mse, generator=boost_gen, budget=budget,
                        augment=boost_augment(cell.beta_max) if cell.method == "augment"
                        else None)
    if budget is not None:
        loss_fn = counting_warnings(loss_fn, cell, log)

    def batches(epoch):
        perm = (torch.randperm(cfg.n_train, generator=order_gen) if cfg.shuffle
                else torch.arange(cfg.n_train))
        for i in range(steps_per_epoch):
            idx = perm[i * cfg.batch:(i + 1) * cfg.batch].to(device)
            yield X[idx], Y[idx]

    bar = tqdm(total=total, desc=cell.key, disable=not progress, leave=False, mininterval=1.0,
               file=sys.stdout)

    def on_step(i, logs):
        task, pen = logs
        log["step"] += 1
        step = log["step"]
        log["acc"] += torch.stack([task.detach(), pen.detach()])
        if budget is not None:
            log["lam_max"] = max(log["lam_max"], budget.lam)
        if step % 50 == 0 or step == total:   # read back rarely (no GPU sync every step)
            n_acc = (step - 1) % 50 + 1
            log["mse"], log["pen"] = (log["acc"] / n_acc).tolist()
            log["acc"].zero_()
            bar.set_postfix(mse=f"{log['mse']:.2e}", pen=f"{log['pen']:.2e}", refresh=False)
            if budget is not None:
                log["lam_log"].append((step, budget.lam, budget.ema, budget.target_now,
                                       log["pen"]))
        bar.update()

    t0 = time.perf_counter()
    fit(model, loss_fn, batches, optimizer=opt, epochs=cfg.epochs, scheduler=sched,
        on_step=on_step)
    bar.close()
    mse_run, pen_run, lam_log = log["mse"], log["pen"], log["lam_log"]
    lam_max_run, warned = log["lam_max"], log["warned"]
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
               final_gamma=final_gammas(model, x_tr, cfg, device),
               final_gamma_val=final_gammas(model, x_val, cfg, device, cfg.gamma_val_draws),
               final_gamma_heldout=final_gammas(model, x_te, cfg, device))
    if cell.method == "budget":
        rule = "lr" if cell.rule is None else cell.rule
        rec.update(penalty=cell.penalty, target=cell.target, rule=rule,
                   lam_final=budget.lam, lam_max_run=lam_max_run, gamma_ema=budget.ema,
                   skipped=budget.skipped, lam_min=budget.lam_min, status=budget.status,
                   infeasible=budget.infeasible, inactive=budget.inactive,
                   best=budget.best, warnings=warned, lam_log=lam_log)
    if isinstance(model, DualSubnet):
        rec["symmetry_factor_w"] = model.w
    return rec


def counting_warnings(loss_fn, cell: Cell, log: dict):
    """``loss_fn`` showing and counting (``log["warned"]``) the budget's infeasibility
    warnings, with the cell and the step."""

    def counted(x, y):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            out = loss_fn(x, y)
        for w in caught:
            log["warned"] += 1
            print(f"{cell.key}, step {log['step']}: {w.message}", flush=True)
        return out

    return counted


def search_cell(cell: Cell, cfg, data, device, progress: bool, trial_dir: str) -> dict:
    """A budget cell of rule ``search``: ``liesoft.find_lambda`` over fixed-λ trainings of the
    cell's penalty (``cfg.search_lam0`` first, ``cfg.search_rtol``, at most
    ``cfg.search_max`` trainings), steered by each training's Γ on the *validation* vectors
    (``final_gamma_val``) and judged, like every budget cell, on the test vectors. Each
    trial is an ordinary fixed-λ cell kept in ``trial_dir`` (not in the front: ``cells/``), so
    searches of the same case, penalty and seed share the trainings they have in common (λ is
    rounded to 6 digits, the cell key's). ``train_seconds``: all the trainings the search used."""
    if cell.method != "budget" or cell.rule != SEARCH_RULE:
        raise ValueError(f"search_cell: a budget cell of rule {SEARCH_RULE!r}, got {cell.key}")
    os.makedirs(trial_dir, exist_ok=True)
    b2 = cfg.beta_max2 if cell.penalty == "gseal" else None

    def train(lam: float):
        trial = Cell(cell.case, cell.penalty, lam, b2, cell.seed)
        path = os.path.join(trial_dir, trial.key + ".json")
        rec = load_cell(path, cfg)
        if rec is None or "final_gamma_val" not in rec:
            rec = train_cell(trial, cfg, data, device, progress)
            write_json(path, rec)
        return rec["final_gamma_val"][cell.penalty], rec

    search, warned = search_lambda(train, cell.target, lam=cfg.search_lam0,
                                   rtol=cfg.search_rtol, max_trainings=cfg.search_max,
                                   log=lambda msg: print(f"{cell.key}: {msg}", flush=True))
    best = search.payload
    keep = ("config", "betas", "test_mse", "val_mse", "train_mse_last50", "penalty_last50",
            "steps", "device", "final_gamma", "final_gamma_val", "final_gamma_heldout")
    rec = dict(key=cell.key, case=cell.case, method="budget", lam=0.0, beta_max=cell.beta_max,
               beta_max2=cell.beta_max2, seed=cell.seed, **{k: best[k] for k in keep},
               train_seconds=round(sum(t.payload["train_seconds"] for t in search.trials), 2),
               penalty=cell.penalty, target=cell.target, rule=SEARCH_RULE,
               lam_final=best["lam"], lam_max_run=max(t.payload["lam"] for t in search.trials),
               gamma_ema=search.gamma, lam_min=1e-6, status=search.status,
               infeasible=search.status == "infeasible", inactive=search.status == "inactive",
               warnings=warned, lam_log=[], trainings=search.trainings,
               trials=[dict(key=t.payload["key"], lam=t.payload["lam"], gamma_val=t.gamma,
                            gamma_test=t.payload["final_gamma_heldout"][cell.penalty],
                            mse_beta0=t.payload["test_mse"][0]) for t in search.trials])
    return rec


def load_cell(path: str, cfg) -> dict | None:
    """A finished cell computed under the same configuration, else None."""
    try:
        with open(path) as f:
            rec = json.load(f)
    except (OSError, json.JSONDecodeError):
        return None
    want = json.loads(json.dumps(fingerprint(cfg)))   # tuples -> lists, as stored
    if "final_gamma_heldout" not in rec:   # a cell from before Γ was measured on held-out data
        return None
    return rec if rec.get("config") == want else None


def write_json(path: str, obj) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)   # atomic: an interrupted run never leaves half a cell
