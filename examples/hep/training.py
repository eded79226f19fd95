"""The training machinery every jet example shares: set-up (DDP), data, one training loop.

    data (``data/``) -> models (``models/``) -> **training** -> evaluation -> studies -> scripts

* :class:`Context` and :func:`setup`: rank, world size (``torchrun``: DDP), device, output;
  :func:`add_run_arguments`: the command-line options of every example built on :func:`train_one`;
* :func:`load_data` (generated, ATLAS or reference jets) and :func:`split`;
* :class:`Recipe`: what a model gives to be trained — its builder, methods, penalty, forward and
  loss. A new model plugs in by writing one (``models/tagger_recipe.py`` is the tagger's,
  ``models/regressor_recipe.py`` the jet regression's) and passing it to :func:`train_one`;
* :func:`train_one`: the one training loop (AdamW, one-cycle, early stopping on the validation
  loss, checkpoints every epoch, ``--resume``), and its checkpoint helpers;
* inference and timing: :func:`predict_logits`, :func:`timed`, :func:`eval_step_seconds`,
  :func:`interleaved_step_times`; test-set boosts: :func:`boosted`, :func:`boost_jets`.
"""

from __future__ import annotations

import math
import os
import pathlib
import statistics
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.distributed as dist
from tqdm import tqdm

from examples.hep.data.jetgen import generate_jets
from examples.hep.data.loaders import load_atlas, load_generated, load_toptag_reference
from examples.hep.options import add_run_arguments  # noqa: F401  (the scripts' shared options)
from liesoft import GSEAL, Lorentz, Vector4

BETA_MAX = 0.95 ** 0.5  # GSEAL's boosts and the test-set boosts: |beta|^2 <= 0.95
SPLIT = (0.7, 0.1, 0.2)  # train / validation / test


# ----------------------------------------------------------------------------- set-up
@dataclass
class Context:
    rank: int
    world: int
    device: torch.device
    amp: bool
    out: pathlib.Path
    progress: bool
    trained: dict = field(default_factory=dict)  # (tag, method, seed, lam) -> (model, info)
    memo: dict = field(default_factory=dict)  # data and evaluations shared between studies

    @property
    def main(self) -> bool:
        return self.rank == 0

    def log(self, *msg):
        if self.main:
            print(*msg, flush=True)



def setup(args) -> Context:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda requested but no CUDA device is available")
    if world > 1:
        dist.init_process_group("nccl" if args.device == "cuda" else "gloo")
    if args.device == "cuda":
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    else:
        device = torch.device("cpu")
    out = pathlib.Path(args.out)
    if rank == 0:
        (out / "checkpoints").mkdir(parents=True, exist_ok=True)
    return Context(rank, world, device, amp=device.type == "cuda", out=out,
                   progress=not args.no_progress and rank == 0)


def barrier(ctx):
    if ctx.world > 1:
        dist.barrier()

# ----------------------------------------------------------------------------- data
def load_data(args, cfg, ctx, wide: bool, targets: bool = False, detector=None) -> dict:
    """Numpy arrays: ``x (N, M, 4)`` float32 GeV, ``y (N,)``, ``pt (N,)``, ``m (N,)`` (jet
    mass); ``path``: the generated file (None for external data). ``targets`` (generated jets
    only) adds the regression targets ``p_true`` (the particle-level jet four-momentum) and
    ``p_top`` (the top quark, NaN for QCD), and ``p_det`` (the detector-level jet: the sum of
    all stored constituents), ``(N, 4)`` float64. ``detector``: a ``DetectorConfig`` for
    generated jets (default jetgen's)."""
    kind, _, path = args.data.partition(":")
    if targets and kind != "pythia":
        raise SystemExit(f"regression targets exist only for generated jets (--data pythia), "
                         f"got {args.data!r}")
    if kind == "pythia":
        n = cfg["n_wide"] if wide else cfg["n_jets"]
        kwargs = dict(wide_pt=wide, seed=1 if wide else 0, cache_dir=args.cache_dir,
                      workers=args.workers, progress=ctx.progress, targets=targets)
        if detector is not None:
            kwargs["detector"] = detector
        if wide:
            kwargs["n_pt_bins"] = cfg["wide_bins"]
        if ctx.main:  # rank 0 generates; the others then read the cache
            generate_jets(n // 2, n - n // 2, **kwargs)
        barrier(ctx)
        path = generate_jets(n // 2, n - n // 2, **kwargs)
        data = load_generated(path, targets=targets)
    elif kind == "generated" and path:  # a file of generate_jets, read as is (no pythia8)
        data = load_generated(path, targets=targets)
    elif kind == "atlas" and path:
        data = load_atlas(path)
    elif kind == "reference" and path:
        data = load_toptag_reference(path)
    else:
        raise SystemExit(f"--data must be pythia, generated:PATH, atlas:PATH or reference:PATH, "
                         f"got {args.data!r}")
    m = cfg["max_constituents"]
    out = {"x": np.ascontiguousarray(data["constituents"][:, :m], dtype=np.float32),
           "y": np.asarray(data["labels"], dtype=np.float32),
           "pt": np.asarray(data["jet_pt"], dtype=np.float64),
           "m": np.asarray(data["jet_m"], dtype=np.float64),
           "path": path if kind == "pythia" else None}
    if targets:  # and the measured jet: the sum of *all* its constituents, not only m
        out["p_true"], out["p_top"] = data["particle_jet_p4"], data["top_p4"]
        out["p_det"] = data["constituents"].astype(np.float64).sum(1)
    return out


def split(data: dict, seed: int = 1234) -> tuple[dict, dict, dict]:
    """Train / validation / test (``SPLIT``) of the per-jet arrays of ``data``."""
    n = len(data["y"])
    perm = np.random.default_rng(seed).permutation(n)
    a, b = int(SPLIT[0] * n), int((SPLIT[0] + SPLIT[1]) * n)
    arrays = {k: v for k, v in data.items() if isinstance(v, np.ndarray)}
    take = lambda idx: {k: v[idx] for k, v in arrays.items()}  # noqa: E731
    return take(perm[:a]), take(perm[a:b]), take(perm[b:])


# ----------------------------------------------------------------------------- training
def penalised_forward(net, x, method, penalty, on, generator=None, device=None):
    """``(logits, penalty value)`` of one training step, sharing the forward pass. ``on``:
    the penalty sees ``"prob"`` (the sigmoid of the logit) or ``"logit"``. The penalty runs the
    task forward itself (``return_output=True``): GSEAL and fd δSEAL use it as their clean pass
    (with BatchNorm and no dropout too), autodiff δSEAL on a leaf ``x``. With ``fraction < 1``
    δSEAL runs its own forward on the subset (fd reuses the task output's rows)."""
    if penalty is None:
        return net(x), torch.zeros((), device=device)
    store = {}

    def f(z):  # the function the penalty sees: probability or logit
        out = net(z)
        store.setdefault("logits", out)  # the first call is the forward on x itself
        return torch.sigmoid(out) if on == "prob" else out

    inner = getattr(penalty, "wrapped", penalty)  # a ViolationBudget's wrapped penalty
    if isinstance(inner, GSEAL) or inner.fraction >= 1:  # one forward pass shared
        out = penalty(f, x, generator=generator, return_output=True)
        return store["logits"], out[0]
    if inner.mode == "fd":  # on a subset: the task pass's output, subset
        fx = f(x)
        return store["logits"], penalty(f, x, fx=fx, generator=generator)
    logits = net(x)
    return logits, penalty(f, x, generator=generator)



@dataclass(frozen=True)
class Recipe:
    """What :func:`train_one` needs to know about a model and its task, so that the tagger, the
    regression of ``jet_regression.py`` and any new model share one training loop (checkpoints,
    resume, early stopping, step timing). A model plugs in by giving one (e.g.
    ``dataclasses.replace(TAGGER, build=my_build)`` for another tagger network). Each field is
    a function:

    * ``build(cfg, method, args) -> nn.Module``; ``method_spec(method, args) -> dict``;
    * ``make_penalty(method, lam, args, optimizer=None) -> (penalty or None, lambda)``
      (``optimizer``: the training's, for a violation budget's learning-rate schedule);
    * ``forward(net, x, method, penalty, args, generator, device) -> (output, penalty value)``;
    * ``loss(output, y) -> scalar``; ``val_loss(model, val, cfg, ctx) -> float``;

    ``target``: the key of the training targets in the split dicts; ``loss_name``: the name
    of the loss in the history and the logs."""

    build: object
    method_spec: object
    make_penalty: object
    forward: object
    loss: object
    val_loss: object
    target: str = "y"
    loss_name: str = "bce"



def train_one(tag, method, seed, train, val, cfg, ctx, args, lam=None, init=None, *,
              recipe: Recipe):
    """Train one model with early stopping on the validation loss; returns the best model
    and ``{"train_step_s": median seconds per batch, "history": per epoch}``. Checkpoints
    every epoch (``--resume`` continues from them). ``init``: a state dict to start from
    (fine-tuning); the method's ``epochs`` (if any) replaces the preset's. ``cfg["val_every"]``
    (default 1): validate, checkpoint and count ``cfg["patience"]`` every that many epochs
    (and after the last), for tiny training sets with many short epochs. A model trained
    once in this run is reused (same tag, method, seed and lambda). ``recipe``: the model and
    its task (:class:`Recipe`; the tagger's is ``models.tagger_recipe.TAGGER``)."""
    if not isinstance(recipe, Recipe):
        raise TypeError(f"train_one needs recipe= a training.Recipe (the model's build, "
                        f"forward and loss), got {type(recipe).__name__}")
    r = recipe
    key = (tag, method, seed, lam)
    if key in ctx.trained:
        return ctx.trained[key]
    spec = r.method_spec(method, args)
    epochs = spec.get("epochs", cfg["epochs"])
    val_every = cfg.get("val_every", 1)
    if isinstance(val_every, bool) or not isinstance(val_every, int) or val_every < 1:
        raise ValueError(f"cfg['val_every'] must be an integer >= 1, got {cfg['val_every']!r}")
    name = method if lam is None else f"{method}_lam{lam:g}"
    ckpt = ctx.out / "checkpoints" / f"{tag}_{name}_seed{seed}.pt"
    torch.manual_seed(seed)
    model = r.build(cfg, method, args).to(ctx.device)
    if init is not None:
        model.load_state_dict(init)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    n_train = len(train[r.target])
    steps = math.ceil(n_train / (cfg["batch"] * ctx.world))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg["lr"],
                                                total_steps=epochs * steps)
    penalty, lam = r.make_penalty(method, lam, args, optimizer=opt)
    budget = penalty if hasattr(penalty, "target") else None
    gen = torch.Generator(device=ctx.device).manual_seed(seed * 1000 + ctx.rank)
    state = {"epoch": 0, "best": float("inf"), "bad": 0, "history": [], "step_times": [],
             "done": False}
    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    recipe_record = {"config": dict(cfg), "method": dict(spec), "lam": float(lam)}
    if args.resume and ckpt.exists():
        ck = torch.load(ckpt, map_location=ctx.device, weights_only=True)
        check_checkpoint_recipe(ck, recipe_record, ckpt, ctx)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        sched.load_state_dict(ck["sched"])
        gen.set_state(ck["gen"].cpu() if ctx.device.type == "cpu" else ck["gen"])
        if budget is not None:
            budget.load_state_dict(ck["budget"])
        state, best_state = ck["state"], ck["best_model"]
        ctx.log(f"[{tag}/{name}/seed {seed}] resumed after epoch {state['epoch']}"
                + (" (finished)" if state["done"] else ""))
    net = model
    if ctx.world > 1:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None)
    x_all = torch.from_numpy(train["x"])
    y_all = torch.from_numpy(train[r.target])
    for epoch in range(state["epoch"], epochs):
        if state["done"]:
            break
        net.train()
        if budget is not None:
            budget.train()
        order = torch.randperm(n_train, generator=torch.Generator().manual_seed(
            seed * 7919 + epoch))  # DistributedSampler-style: same permutation, one shard each
        shard = order[ctx.rank::ctx.world][: steps * cfg["batch"]]
        bar = tqdm(range(steps), desc=f"{tag}/{name}/s{seed} ep{epoch + 1}",
                   disable=not ctx.progress, leave=False)
        run_loss = run_pen = 0.0
        for i in bar:
            idx = shard[i * cfg["batch"]:(i + 1) * cfg["batch"]]
            if len(idx) == 0:
                continue
            x, y = x_all[idx].to(ctx.device), y_all[idx].to(ctx.device)
            t0 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            with torch.autocast(ctx.device.type, dtype=torch.bfloat16, enabled=ctx.amp):
                out, pen = r.forward(net, x, method, penalty, args, gen, ctx.device)
                loss_task = r.loss(out, y)
                loss = loss_task + lam * pen
            loss.backward()
            if cfg.get("grad_clip"):
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg["grad_clip"])
            opt.step()
            sched.step()
            if ctx.device.type == "cuda":
                torch.cuda.synchronize()
            state["step_times"].append(time.perf_counter() - t0)
            b = loss_task.item()
            q = float(budget.value) if budget is not None else pen.item()  # Γ itself
            run_loss = 0.9 * run_loss + 0.1 * b if i else b
            run_pen = 0.9 * run_pen + 0.1 * q if i else q
            bar.set_postfix({r.loss_name: f"{run_loss:.4f}", "pen": f"{run_pen:.2e}"})
        if (epoch + 1) % val_every and epoch + 1 < epochs:  # validate every val_every epochs
            state["epoch"] = epoch + 1
            continue
        val_loss = r.val_loss(model, val, cfg, ctx)
        record = {"epoch": epoch + 1, r.loss_name: run_loss, "penalty": run_pen,
                  f"val_{r.loss_name}": val_loss}
        if budget is not None:
            record.update(lam=float(budget.lam), penalty_ema=float(budget.ema),
                          target=float(budget.target), target_now=float(budget.target_now),
                          status=budget.status)
        state["history"].append(record)
        ctx.log(f"[{tag}/{name}/seed {seed}] epoch {epoch + 1}: train {r.loss_name} "
                f"{run_loss:.4f}, penalty {run_pen:.3e}, val {r.loss_name} {val_loss:.4f}"
                + (f", lambda {float(budget.lam):.3g}" if budget is not None else ""))
        if val_loss < state["best"]:
            state["best"], state["bad"] = val_loss, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            state["bad"] += 1
        state["epoch"] = epoch + 1
        state["done"] = state["bad"] >= cfg["patience"] or state["epoch"] == epochs
        save_checkpoint(ckpt, model, opt, sched, gen, state, best_state, ctx, budget,
                        recipe_record)
        if args.interrupt_after is not None and state["epoch"] == args.interrupt_after \
                and not state["done"]:
            ctx.log(f"interrupting after epoch {state['epoch']} (--interrupt-after)")
            raise SystemExit(3)
    model.load_state_dict(best_state)
    model.eval()
    times = state["step_times"][5:] or state["step_times"] or [float("nan")]
    result = model, {"train_step_s": statistics.median(times), "history": state["history"],
                     "epochs_trained": state["epoch"],
                     "train_s": float(sum(state["step_times"]))}  # optimizer steps, all epochs
    ctx.trained[key] = result
    return result


def check_checkpoint_recipe(ck: dict, record: dict, path, ctx) -> None:
    """Refuse to resume from a checkpoint trained with another configuration, method or λ
    (e.g. a preset changed since, or other ``--epochs``): the resumed model would mix two
    recipes without a trace. Checkpoints written before recipes were recorded are resumed
    with a warning that they cannot be checked."""
    if "recipe" not in ck:
        ctx.log(f"warning: {path.name} was written before checkpoints recorded their "
                "configuration; resuming it unchecked")
        return
    old = ck["recipe"]
    diff = [f"{part}.{k}: checkpoint {old[part].get(k)!r}, now {record[part].get(k)!r}"
            for part in ("config", "method") for k in sorted(set(old[part]) | set(record[part]))
            if old[part].get(k) != record[part].get(k)]
    if old["lam"] != record["lam"]:
        diff.append(f"lam: checkpoint {old['lam']!r}, now {record['lam']!r}")
    if diff:
        raise SystemExit(f"--resume: {path} was trained with another recipe ("
                         + "; ".join(diff) + "); use a fresh --out or the old settings")


def save_checkpoint(path, model, opt, sched, gen, state, best_state, ctx, budget=None,
                    recipe=None):
    if not ctx.main:
        return
    tmp = path.with_suffix(".tmp")
    extra = {} if budget is None else {"budget": budget.state_dict()}
    if recipe is not None:
        extra["recipe"] = recipe
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(),
                "sched": sched.state_dict(), "gen": gen.get_state(), "state": state,
                "best_model": best_state, **extra}, tmp)
    os.replace(tmp, path)  # an interrupted save never corrupts the checkpoint


# ----------------------------------------------------------------------------- inference
@torch.no_grad()
def predict_logits(model, x: np.ndarray, ctx, batch=1024) -> np.ndarray:
    """Logits for every row of ``x``; with DDP each rank scores a shard, then all gather."""
    idx = np.arange(len(x))[ctx.rank::ctx.world]
    out = []
    for i in range(0, len(idx), batch):
        xb = torch.from_numpy(x[idx[i:i + batch]]).to(ctx.device)
        with torch.autocast(ctx.device.type, dtype=torch.bfloat16, enabled=ctx.amp):
            out.append(model(xb).float().squeeze(-1).cpu())
    mine = torch.cat(out).numpy() if out else np.zeros(0, np.float32)
    if ctx.world == 1:
        return mine
    parts = [None] * ctx.world
    dist.all_gather_object(parts, (idx, mine))
    full = np.empty(len(x), np.float32)
    for i, p in parts:
        full[i] = p
    return full



def timed(fn, ctx) -> float:
    """Seconds taken by ``fn()`` (CUDA work included: synchronised before and after)."""
    if ctx.device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    fn()
    if ctx.device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


@torch.no_grad()
def eval_step_seconds(model, x: np.ndarray, ctx, batch=256, repeats=10) -> float:
    xb = torch.from_numpy(x[:batch]).to(ctx.device)

    def step():
        with torch.autocast(ctx.device.type, dtype=torch.bfloat16, enabled=ctx.amp):
            model(xb)

    times = [timed(step, ctx) for _ in range(repeats + 2)]
    return statistics.median(times[2:])


def boosted(x: np.ndarray, seed: int) -> np.ndarray:
    """Each jet boosted by a random element of GSEAL's sampler (in float64, then cast)."""
    return boost_jets(x, seed)[0]


def boost_jets(x: np.ndarray, seed: int, *vectors: np.ndarray) -> tuple:
    """:func:`boosted` jets ``x`` (float32) and each per-jet four-vector array of ``vectors``
    ``(N, 4)`` boosted by the *same* elements (float64): a regression target moves with its
    jet."""
    g = Lorentz().sample(len(x), beta_max=BETA_MAX, dtype=torch.float64,
                         generator=torch.Generator().manual_seed(seed))
    rep = Vector4()
    return (rep.act(g, torch.from_numpy(x).double()).float().numpy(),
            *(rep.act(g, torch.from_numpy(v).double()).numpy() for v in vectors))


def pt_edges(pt: np.ndarray, n: int) -> np.ndarray:
    lo, hi = np.quantile(pt, [0.01, 0.99])
    return np.linspace(lo, hi, n + 1)


def interleaved_step_times(methods, args, cfg, ctx, steps=20, warmup=3, *,
                           recipe: Recipe, batch=None) -> dict:
    """Median train and eval step per batch of ``cfg['batch']`` jets for every method,
    interleaved step by step in one run (so machine load hits every method alike).
    ``recipe``: the model and its task (:class:`Recipe`); ``batch``: its ``(x, y)`` tensors
    (default the first jets of the window sample)."""
    r = recipe
    if batch is None:
        data = load_data(args, cfg, ctx, wide=False)
        batch = (torch.from_numpy(data["x"][: cfg["batch"]]),
                 torch.from_numpy(data["y"][: cfg["batch"]]))
    x, y = (t.to(ctx.device) for t in batch)
    train_steps, eval_steps = {}, {}
    for method in methods:
        torch.manual_seed(0)
        model = r.build(cfg, method, args).to(ctx.device)
        opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"])
        penalty, lam = r.make_penalty(method, None, args)
        gen = torch.Generator(device=ctx.device).manual_seed(0)

        def train_step(model=model, opt=opt, penalty=penalty, lam=lam, method=method, gen=gen):
            model.train()
            opt.zero_grad(set_to_none=True)
            with torch.autocast(ctx.device.type, dtype=torch.bfloat16, enabled=ctx.amp):
                out, pen = r.forward(model, x, method, penalty, args, gen, ctx.device)
                loss = r.loss(out, y) + lam * pen
            loss.backward()
            opt.step()

        @torch.no_grad()
        def eval_step(model=model):
            model.eval()
            with torch.autocast(ctx.device.type, dtype=torch.bfloat16, enabled=ctx.amp):
                model(x)

        train_steps[method], eval_steps[method] = train_step, eval_step
    times = {m: {"train": [], "eval": []} for m in methods}
    for i in range(warmup + steps):
        for m in methods:
            for kind, fn in (("train", train_steps[m]), ("eval", eval_steps[m])):
                t = timed(fn, ctx)
                if i >= warmup:
                    times[m][kind].append(t)
    return {m: {k: statistics.median(v) for k, v in t.items()} for m, t in times.items()}
