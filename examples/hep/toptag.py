"""Top tagging with SEAL on real simulated jets: the paper's Table 1 and Fig. 2-5.

    python examples/hep/toptag.py                      # CPU preset, <= 20 min on 2 cores
    python examples/hep/toptag.py --quick              # < 2 min smoke run (used by the tests)
    python examples/hep/toptag.py --preset paper --device cuda --seeds 5
    torchrun --nproc_per_node 4 examples/hep/toptag.py --preset paper   # DDP on 4 GPUs
    python examples/hep/toptag.py --data atlas:/data/train.h5        # ATLAS open data (rec. 15013)
    python examples/hep/toptag.py --data reference:/data/test.h5     # Kasieczka et al. 2019 set

Two studies, each training every method for every seed:
1. *table1*: jets in the default window (550-650 GeV), metrics (AUC, balanced accuracy,
   background rejection at eps_S = 0.3, step times), invariance under random 3-D boosts
   (Fig. 2) and balanced accuracy vs pT on original and boosted jets (Fig. 3);
2. *extrapolation*: wide-pT jets, trained on pT <= --pt-cut, evaluated over the whole range
   (Fig. 4: balanced accuracy, Fig. 5: rejection, vs pT), both penalties at lambda = 1.

Penalties act on the tagger's probability sigma(logit) by default, as in the paper, whose
tagger ends in a sigmoid and whose lambdas (GSEAL 1, δSEAL 0.01) are set for it;
``--penalty-on logit`` penalises the logit instead (derivatives of the probability shrink as the
tagger grows confident; logit differences do not, so scale lambda down, roughly by
sigma'(z)^2 <= 1/16). The figures and metrics use the probability.
Outputs in --out: metrics.json, table1.md, fig2_invariance.png, fig3_accuracy_vs_pt.png,
fig4_extrapolation.png, fig5_rejection_vs_pt.png, timing.md (train/eval step per 256 jets,
all methods interleaved in one run: the paper's Table 2), details.json, checkpoints/.
"""

# ----------------------------------------------------------------------------- configuration
PRESETS = {
    # CPU default: a scaled-down transformer on 30k window jets and 24k wide-pT jets
    "cpu": dict(n_jets=30_000, n_wide=24_000, max_constituents=50, d=64, layers=2, heads=4,
                hidden=128, hidden_layers=3, batch=256, epochs=10, lr=1e-3, weight_decay=1e-2,
                patience=3, pt_cut=1000.0, n_audit=2000, lgatr_blocks=2, lgatr_mv=8,
                lgatr_s=32),
    # smoke test: minutes -> seconds
    "quick": dict(n_jets=1_200, n_wide=1_000, max_constituents=30, d=16, layers=1, heads=2,
                  hidden=16, hidden_layers=1, batch=128, epochs=2, lr=2e-3, weight_decay=1e-2,
                  patience=2, pt_cut=1000.0, n_audit=200, lgatr_blocks=1, lgatr_mv=4,
                  lgatr_s=8),
    # the paper (GPU): 256-dim, 3 layers, 4 heads, 3 x 128 ReLU head, 100 constituents
    "paper": dict(n_jets=400_000, n_wide=200_000, max_constituents=100, d=256, layers=3,
                  heads=4, hidden=128, hidden_layers=3, batch=256, epochs=30, lr=3e-4,
                  weight_decay=1e-2, patience=5, pt_cut=1000.0, n_audit=10_000,
                  lgatr_blocks=12, lgatr_mv=16, lgatr_s=32),  # L-GATr paper's tagger size
}
# paper: GSEAL lambda = 1 with beta_max^2 = 0.95; δSEAL lambda = 0.01 (Table 1);
# both lambda = 1 for the extrapolation study
# "lgatr": the exactly Lorentz-invariant L-GATr tagger (no penalty; optional `lgatr` package)
METHODS = {"baseline": {}, "gseal": {"lam": 1.0}, "dseal": {"lam": 0.01}, "lgatr": {}}
EXTRAPOLATION_LAMBDA = 1.0
BETA_MAX = 0.95 ** 0.5
BOOST_MAGNITUDES = (0.1, 0.3, 0.5, 0.7, 0.9)
SPLIT = (0.7, 0.1, 0.2)  # train / validation / test
# -----------------------------------------------------------------------------

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import pathlib  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
from tqdm import tqdm  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from examples.hep import evaluation as ev  # noqa: E402
from examples.hep import lgatr_tagger  # noqa: E402
from examples.hep.jetgen import generate_jets  # noqa: E402
from examples.hep.loaders import load_atlas, load_generated, load_toptag_reference  # noqa: E402
from examples.hep.tagger import JetTransformer  # noqa: E402
from liesoft import GSEAL, DeltaSEAL, Lorentz, Vector4, invariance_profile  # noqa: E402


# ----------------------------------------------------------------------------- set-up
@dataclass
class Context:
    rank: int
    world: int
    device: torch.device
    amp: bool
    out: pathlib.Path
    progress: bool

    @property
    def main(self) -> bool:
        return self.rank == 0

    def log(self, *msg):
        if self.main:
            print(*msg, flush=True)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", choices=sorted(PRESETS), default="cpu")
    ap.add_argument("--quick", action="store_true", help="= --preset quick")
    ap.add_argument("--data", default="pythia", help="pythia | atlas:PATH | reference:PATH")
    ap.add_argument("--methods", default="baseline,gseal,dseal")
    ap.add_argument("--seeds", type=int, default=1, help="trainings per method (mean ± std)")
    ap.add_argument("--pt-cut", type=float, default=None, help="extrapolation training cut")
    ap.add_argument("--studies", default="table1,timing,extrapolation")
    ap.add_argument("--penalty-on", choices=["prob", "logit"], default="prob",
                    help="penalise the probability (paper) or the logit")
    ap.add_argument("--lgatr-spurions", action="store_true",
                    help="L-GATr with the beam and time direction as extra spurion tokens")
    ap.add_argument("--out", default="runs/toptag")
    ap.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    ap.add_argument("--resume", action="store_true", help="continue from checkpoints in --out")
    ap.add_argument("--cache-dir", default=None, help="jet cache (default ~/.cache/liesoft)")
    ap.add_argument("--workers", type=int, default=None, help="jet-generation processes")
    ap.add_argument("--epochs", type=int, default=None, help="override the preset's epochs")
    ap.add_argument("--no-progress", action="store_true")
    ap.add_argument("--interrupt-after", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.quick:
        args.preset = "quick"
    methods = [m for m in args.methods.split(",") if m]
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        ap.error(f"--methods must be a comma list of {sorted(METHODS)}, got {args.methods!r}")
    if "lgatr" in methods and not lgatr_tagger.available():
        ap.error(lgatr_tagger.MISSING_MESSAGE)
    args.methods = methods
    args.studies = [s for s in args.studies.split(",") if s]
    if not set(args.studies) <= {"table1", "timing", "extrapolation"} or not args.studies:
        ap.error("--studies must be a comma list of table1,timing,extrapolation, got "
                 f"{args.studies}")
    if args.seeds < 1:
        ap.error("--seeds must be >= 1")
    return args


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
def load_data(args, cfg, ctx, wide: bool) -> dict:
    """Numpy arrays: ``x (N, M, 4)`` float32 GeV, ``y (N,)``, ``pt (N,)``."""
    kind, _, path = args.data.partition(":")
    if kind == "pythia":
        n = cfg["n_wide"] if wide else cfg["n_jets"]
        kwargs = dict(wide_pt=wide, seed=1 if wide else 0, cache_dir=args.cache_dir,
                      workers=args.workers, progress=ctx.progress)
        if ctx.main:  # rank 0 generates; the others then read the cache
            generate_jets(n // 2, n - n // 2, **kwargs)
        barrier(ctx)
        data = load_generated(generate_jets(n // 2, n - n // 2, **kwargs))
    elif kind == "atlas" and path:
        data = load_atlas(path)
    elif kind == "reference" and path:
        data = load_toptag_reference(path)
    else:
        raise SystemExit(f"--data must be pythia, atlas:PATH or reference:PATH, got {args.data!r}")
    m = cfg["max_constituents"]
    return {"x": np.ascontiguousarray(data["constituents"][:, :m], dtype=np.float32),
            "y": np.asarray(data["labels"], dtype=np.float32),
            "pt": np.asarray(data["jet_pt"], dtype=np.float64)}


def split(data: dict, seed: int = 1234) -> tuple[dict, dict, dict]:
    n = len(data["y"])
    perm = np.random.default_rng(seed).permutation(n)
    a, b = int(SPLIT[0] * n), int((SPLIT[0] + SPLIT[1]) * n)
    take = lambda idx: {k: v[idx] for k, v in data.items()}  # noqa: E731
    return take(perm[:a]), take(perm[a:b]), take(perm[b:])


# ----------------------------------------------------------------------------- training
def make_penalty(method: str, lam: float | None):
    """(penalty, lambda) for a method; the penalty acts on the logit."""
    if method in ("baseline", "lgatr"):
        return None, 0.0
    lam = METHODS[method]["lam"] if lam is None else lam
    if method == "gseal":
        return GSEAL(Lorentz(), Vector4(), beta_max=BETA_MAX), lam
    return DeltaSEAL(Lorentz(), Vector4()), lam


def penalised_forward(net, x, method, penalty, on, generator=None, device=None):
    """``(logits, penalty value)`` of one training step, sharing the forward pass."""
    if penalty is None:
        return net(x), torch.zeros((), device=device)
    store = {}

    def f(z):  # the function the penalty sees: probability or logit
        out = net(z)
        store.setdefault("logits", out)  # the first call is the forward on x itself
        return torch.sigmoid(out) if on == "prob" else out

    if method == "gseal":
        fx = f(x)
        return store["logits"], penalty(f, x, fx=fx, generator=generator)
    pen, _ = penalty(f, x, generator=generator, return_output=True)
    return store["logits"], pen


def build_model(cfg, method="baseline", args=None) -> torch.nn.Module:
    if method == "lgatr":
        return lgatr_tagger.LGATrTagger(
            blocks=cfg["lgatr_blocks"], mv_channels=cfg["lgatr_mv"], s_channels=cfg["lgatr_s"],
            heads=cfg["heads"], spurions=bool(args is not None and args.lgatr_spurions),
            # dense geometric product in eager CPU mode (faster there, docs/benchmarks.md);
            # lgatr's sparse kernel on GPU
            sparse_gp=args is not None and args.device == "cuda")
    return JetTransformer(d=cfg["d"], layers=cfg["layers"], heads=cfg["heads"],
                          hidden=cfg["hidden"], hidden_layers=cfg["hidden_layers"])


def bce(logits, y):
    return torch.nn.functional.binary_cross_entropy_with_logits(logits.float().squeeze(-1), y)


def train_one(tag, method, seed, train, val, cfg, ctx, args, lam=None):
    """Train one model with early stopping on the validation loss; returns the best model
    and ``{"train_step_s": median seconds per batch}``. Checkpoints every epoch."""
    ckpt = ctx.out / "checkpoints" / f"{tag}_{method}_seed{seed}.pt"
    torch.manual_seed(seed)
    model = build_model(cfg, method, args).to(ctx.device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    n_train = len(train["y"])
    steps = math.ceil(n_train / (cfg["batch"] * ctx.world))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg["lr"],
                                                total_steps=cfg["epochs"] * steps)
    penalty, lam = make_penalty(method, lam)
    gen = torch.Generator(device=ctx.device).manual_seed(seed * 1000 + ctx.rank)
    state = {"epoch": 0, "best": float("inf"), "bad": 0, "history": [], "step_times": [],
             "done": False}
    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if args.resume and ckpt.exists():
        ck = torch.load(ckpt, map_location=ctx.device, weights_only=True)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        sched.load_state_dict(ck["sched"])
        gen.set_state(ck["gen"].cpu() if ctx.device.type == "cpu" else ck["gen"])
        state, best_state = ck["state"], ck["best_model"]
        ctx.log(f"[{tag}/{method}/seed {seed}] resumed after epoch {state['epoch']}"
                + (" (finished)" if state["done"] else ""))
    net = model
    if ctx.world > 1:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None)
    x_all = torch.from_numpy(train["x"])
    y_all = torch.from_numpy(train["y"])
    for epoch in range(state["epoch"], cfg["epochs"]):
        if state["done"]:
            break
        net.train()
        order = torch.randperm(n_train, generator=torch.Generator().manual_seed(
            seed * 7919 + epoch))  # DistributedSampler-style: same permutation, one shard each
        shard = order[ctx.rank::ctx.world][: steps * cfg["batch"]]
        bar = tqdm(range(steps), desc=f"{tag}/{method}/s{seed} ep{epoch + 1}",
                   disable=not ctx.progress, leave=False)
        run_bce = run_pen = 0.0
        for i in bar:
            idx = shard[i * cfg["batch"]:(i + 1) * cfg["batch"]]
            if len(idx) == 0:
                continue
            x, y = x_all[idx].to(ctx.device), y_all[idx].to(ctx.device)
            t0 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            with torch.autocast(ctx.device.type, dtype=torch.bfloat16, enabled=ctx.amp):
                logits, pen = penalised_forward(net, x, method, penalty, args.penalty_on,
                                                gen, ctx.device)
                loss_bce = bce(logits, y)
                loss = loss_bce + lam * pen
            loss.backward()
            opt.step()
            sched.step()
            if ctx.device.type == "cuda":
                torch.cuda.synchronize()
            state["step_times"].append(time.perf_counter() - t0)
            b, q = loss_bce.item(), pen.item()
            run_bce = 0.9 * run_bce + 0.1 * b if i else b
            run_pen = 0.9 * run_pen + 0.1 * q if i else q
            bar.set_postfix(bce=f"{run_bce:.4f}", pen=f"{run_pen:.2e}")
        val_loss = validation_loss(model, val, cfg, ctx)
        state["history"].append({"epoch": epoch + 1, "bce": run_bce, "penalty": run_pen,
                                 "val_bce": val_loss})
        ctx.log(f"[{tag}/{method}/seed {seed}] epoch {epoch + 1}: train bce {run_bce:.4f}, "
                f"penalty {run_pen:.3e}, val bce {val_loss:.4f}")
        if val_loss < state["best"]:
            state["best"], state["bad"] = val_loss, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            state["bad"] += 1
        state["epoch"] = epoch + 1
        state["done"] = state["bad"] >= cfg["patience"] or state["epoch"] == cfg["epochs"]
        save_checkpoint(ckpt, model, opt, sched, gen, state, best_state, ctx)
        if args.interrupt_after is not None and state["epoch"] == args.interrupt_after \
                and not state["done"]:
            ctx.log(f"interrupting after epoch {state['epoch']} (--interrupt-after)")
            raise SystemExit(3)
    model.load_state_dict(best_state)
    model.eval()
    times = state["step_times"][5:] or state["step_times"] or [float("nan")]
    return model, {"train_step_s": statistics.median(times), "history": state["history"]}


def save_checkpoint(path, model, opt, sched, gen, state, best_state, ctx):
    if not ctx.main:
        return
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(),
                "sched": sched.state_dict(), "gen": gen.get_state(), "state": state,
                "best_model": best_state}, tmp)
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


def validation_loss(model, val, cfg, ctx) -> float:
    model.eval()
    logits = predict_logits(model, val["x"], ctx)
    model.train()
    y = torch.from_numpy(val["y"])
    return float(torch.nn.functional.binary_cross_entropy_with_logits(
        torch.from_numpy(logits), y))


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def timed(fn, ctx) -> float:
    """Seconds taken by ``fn()`` (CUDA work included: synchronised before and after)."""
    if ctx.device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    fn()
    if ctx.device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


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
    g = Lorentz().sample(len(x), beta_max=BETA_MAX, dtype=torch.float64,
                         generator=torch.Generator().manual_seed(seed))
    return Vector4().act(g, torch.from_numpy(x).double()).float().numpy()


def pt_edges(pt: np.ndarray, n: int) -> np.ndarray:
    lo, hi = np.quantile(pt, [0.01, 0.99])
    return np.linspace(lo, hi, n + 1)


# ----------------------------------------------------------------------------- studies
def table1_study(args, cfg, ctx, details):
    data = load_data(args, cfg, ctx, wide=False)
    train, val, test = split(data)
    ctx.log(f"table1: {len(train['y'])} train / {len(val['y'])} val / {len(test['y'])} test "
            f"jets, {cfg['max_constituents']} constituents max")
    edges = pt_edges(test["pt"], 5)
    x_boost = boosted(test["x"], seed=99)
    audit_x = torch.from_numpy(test["x"][: cfg["n_audit"]]).to(ctx.device)
    runs = {m: [] for m in args.methods}
    for method in args.methods:
        for seed in range(args.seeds):
            model, info = train_one("table1", method, seed, train, val, cfg, ctx, args)
            p = sigmoid(predict_logits(model, test["x"], ctx))
            p_boost = sigmoid(predict_logits(model, x_boost, ctx))
            run = dict(ev.summary(test["y"], p), train_step_s=info["train_step_s"],
                       eval_step_s=eval_step_seconds(model, test["x"], ctx),
                       history=info["history"],
                       binned=ev.binned(test["pt"], test["y"], p, edges),
                       binned_boosted=ev.binned(test["pt"], test["y"], p_boost, edges),
                       boosted=ev.summary(test["y"], p_boost))
            if ctx.main:
                prof = invariance_profile(lambda z, m=model: torch.sigmoid(m(z)), audit_x,
                                          Lorentz(), Vector4(), magnitudes=BOOST_MAGNITUDES,
                                          families=["boost"], batch_size=512,
                                          generator=torch.Generator().manual_seed(7))
                run["invariance"] = {"magnitudes": prof.magnitudes.tolist(),
                                     "mean": prof.mean["boost"].tolist(),
                                     "sem": prof.sem["boost"].tolist()}
            runs[method].append(run)
            ctx.log(f"[table1/{method}/seed {seed}] AUC {run['auc']:.4f}, balanced accuracy "
                    f"{run['balanced_accuracy']:.4f}, 1/eps_B(0.3) {run['rejection_at_0.3']:.1f}")
    details["table1"] = runs
    if not ctx.main:
        return
    keys = ["auc", "balanced_accuracy", "rejection_at_0.3", "train_step_s", "eval_step_s"]
    metrics = {m: {k: ev.mean_std([r[k] for r in rs]) for k in keys} for m, rs in runs.items()}
    (ctx.out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    (ctx.out / "table1.md").write_text(ev.table1_markdown(metrics))
    ev.plot_invariance({m: [(r["invariance"]["magnitudes"], r["invariance"]["mean"])
                            for r in rs] for m, rs in runs.items()},
                       ctx.out / "fig2_invariance.png")
    ev.plot_accuracy_vs_pt({m: {"original": [r["binned"] for r in rs],
                                "boosted": [r["binned_boosted"] for r in rs]}
                            for m, rs in runs.items()}, ctx.out / "fig3_accuracy_vs_pt.png")
    print("\nTable 1 (test set, mean ± std over seeds):\n" + ev.table1_markdown(metrics))


def timing_study(args, cfg, ctx, details, steps=20, warmup=3):
    """Train and evaluation step per batch of ``cfg['batch']`` jets for every method,
    interleaved step by step in one run (medians): the paper's Table 2."""
    if ctx.world > 1:
        ctx.log("timing: skipped under DDP (run it in a single process)")
        return
    data = load_data(args, cfg, ctx, wide=False)
    x = torch.from_numpy(data["x"][: cfg["batch"]]).to(ctx.device)
    y = torch.from_numpy(data["y"][: cfg["batch"]]).to(ctx.device)
    train_steps, eval_steps = {}, {}
    for method in args.methods:
        torch.manual_seed(0)
        model = build_model(cfg, method, args).to(ctx.device)
        opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"])
        penalty, lam = make_penalty(method, None)

        def train_step(model=model, opt=opt, penalty=penalty, lam=lam, method=method):
            model.train()
            opt.zero_grad(set_to_none=True)
            with torch.autocast(ctx.device.type, dtype=torch.bfloat16, enabled=ctx.amp):
                logits, pen = penalised_forward(model, x, method, penalty, args.penalty_on)
                loss = bce(logits, y) + lam * pen
            loss.backward()
            opt.step()

        @torch.no_grad()
        def eval_step(model=model):
            model.eval()
            with torch.autocast(ctx.device.type, dtype=torch.bfloat16, enabled=ctx.amp):
                model(x)

        train_steps[method], eval_steps[method] = train_step, eval_step
    times = {m: {"train": [], "eval": []} for m in args.methods}
    for i in range(warmup + steps):
        for m in args.methods:
            for kind, fn in (("train", train_steps[m]), ("eval", eval_steps[m])):
                t = timed(fn, ctx)
                if i >= warmup:
                    times[m][kind].append(t)
    med = {m: {k: statistics.median(v) for k, v in t.items()} for m, t in times.items()}
    details["timing"] = {"batch": cfg["batch"], "steps": steps, "median_s": med,
                         "device": str(ctx.device)}
    ref = med.get("baseline", next(iter(med.values())))
    lines = [f"Per batch of {cfg['batch']} jets, median of {steps} interleaved steps on "
             f"{ctx.device} (preset {args.preset}).", "",
             "| method | train step [s] | eval step [s] | train / baseline | eval / baseline |",
             "|---|---|---|---|---|"]
    for m, t in med.items():
        lines.append(f"| {ev.LABELS.get(m, m)} | {t['train']:.4f} | {t['eval']:.4f} | "
                     f"{t['train'] / ref['train']:.2f} | {t['eval'] / ref['eval']:.2f} |")
    if ctx.main:
        (ctx.out / "timing.md").write_text("\n".join(lines) + "\n")
    ctx.log("\n".join(lines))


def extrapolation_study(args, cfg, ctx, details):
    cut = args.pt_cut if args.pt_cut is not None else cfg["pt_cut"]
    data = load_data(args, cfg, ctx, wide=True)
    train, val, test = split(data, seed=4321)
    keep = lambda d: {k: v[d["pt"] <= cut] for k, v in d.items()}  # noqa: E731
    train, val = keep(train), keep(val)
    ctx.log(f"extrapolation: {len(train['y'])} train jets with pT <= {cut:g} GeV, "
            f"{len(test['y'])} test jets over {test['pt'].min():.0f}-{test['pt'].max():.0f} GeV")
    edges = np.linspace(test["pt"].min(), test["pt"].max() + 1e-6, 11)
    runs = {m: [] for m in args.methods}
    for method in args.methods:
        for seed in range(args.seeds):
            model, info = train_one("extrapolation", method, seed, train, val, cfg, ctx, args,
                                    lam=EXTRAPOLATION_LAMBDA)
            p = sigmoid(predict_logits(model, test["x"], ctx))
            below, above = test["pt"] <= cut, test["pt"] > cut
            runs[method].append({"binned": ev.binned(test["pt"], test["y"], p, edges),
                                 "below_cut": ev.summary(test["y"][below], p[below]),
                                 "above_cut": ev.summary(test["y"][above], p[above]),
                                 "history": info["history"]})
            a = runs[method][-1]["above_cut"]
            ctx.log(f"[extrapolation/{method}/seed {seed}] above the cut: AUC {a['auc']:.4f}, "
                    f"balanced accuracy {a['balanced_accuracy']:.4f}, "
                    f"1/eps_B(0.3) {a['rejection_at_0.3']:.1f}")
    details["extrapolation"] = {"pt_cut": cut, "runs": runs}
    if ctx.main:
        curves = {m: [r["binned"] for r in rs] for m, rs in runs.items()}
        ev.plot_extrapolation(curves, cut, "balanced_accuracy", "balanced accuracy",
                              ctx.out / "fig4_extrapolation.png")
        ev.plot_extrapolation(curves, cut, "rejection_at_0.3", "1/ε_B at ε_S = 0.3",
                              ctx.out / "fig5_rejection_vs_pt.png", log=True)


def main(argv=None):
    args = parse_args(argv)
    cfg = dict(PRESETS[args.preset])
    if args.epochs is not None:
        if args.epochs < 1:
            raise SystemExit(f"--epochs must be >= 1, got {args.epochs}")
        cfg["epochs"] = args.epochs
    ctx = setup(args)
    torch.set_float32_matmul_precision("high")
    ctx.log(f"preset {args.preset}, methods {args.methods}, seeds {args.seeds}, device "
            f"{ctx.device}, world size {ctx.world}, data {args.data}")
    details = {"preset": args.preset, "config": cfg, "methods": args.methods,
               "seeds": args.seeds, "data": args.data}
    t0 = time.perf_counter()
    if "table1" in args.studies:
        table1_study(args, cfg, ctx, details)
    if "timing" in args.studies:
        timing_study(args, cfg, ctx, details)
    if "extrapolation" in args.studies:
        extrapolation_study(args, cfg, ctx, details)
    details["wall_s"] = time.perf_counter() - t0
    if ctx.main:
        (ctx.out / "details.json").write_text(json.dumps(details, indent=1, default=float))
        ctx.log(f"done in {details['wall_s'] / 60:.1f} min; outputs in {ctx.out}")
    if ctx.world > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
