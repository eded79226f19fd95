"""Every GPU check in one command: the library on the device, the paper-size step timing and a
short paper-model training; one JSON and one markdown report.

    python benchmarks/gpu_check.py --prepare       # here (pythia8): jets -> runs/gpu_check_jets
    python benchmarks/gpu_check.py --device cuda   # on the GPU machine (<= 8 min on an H100)
    python benchmarks/gpu_check.py --tiny --device cpu   # CI mode (tests/test_gpu_check.py)

Parts (each timed, each recorded as passed / failed with its output tail):
1. *tests*: ``pytest tests/test_device.py --device DEVICE``: GSEAL, δSEAL exact / random / fd
   (values and gradients), a ViolationBudget step and the audit on the device against the
   CPU in float64, and the penalties under bfloat16 autocast on the device;
2. *timing*: ``benchmarks/penalty_overhead.py``'s jet-transformer steps (plain, GSEAL
   fraction 1 and 0.25, δSEAL exact, exact at fraction 0.25, fd), interleaved, at the paper's
   size (d = 256, 3 layers, 100 constituents, batch 256), in float32 and under bfloat16
   autocast; the train-step ratios over the plain step;
3. *training*: ``examples/hep/toptag.py --preset gpu_check`` (the paper's model on 20k window
   jets, 2 epochs: ~330 optimizer steps for baseline, GSEAL and δSEAL) on the jets that
   ``--prepare`` generated (``--data generated:FILE``: the GPU machine has no pythia8), the
   studies table1 and timing.

Outputs in ``--out`` (default ``runs/gpu_check``): ``report.json``, ``report.md`` and the
training's own outputs in ``toptag/``. ``--tiny``: small sizes everywhere (a d = 16 model, a few
steps, ``--preset quick`` on the jets of ``--prepare --tiny``) so that the whole check runs in
well under a minute on a CPU.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import platform
import re
import shutil
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

JETS = ROOT / "runs" / "gpu_check_jets"
TRAINING = {  # preset, jets file, methods, studies and the budget of each part
    "full": dict(preset="gpu_check", jets="gpu_check.h5", methods="baseline,gseal,dseal",
                 studies="table1,timing", timing_steps=20, timing_size=None, timeout=330),
    "tiny": dict(preset="quick", jets="tiny.h5", methods="baseline,gseal,dseal",
                 studies="table1", timing_steps=2, timing_size=(16, 1, 12), timeout=120),
}


def prepare(tiny: bool, workers: int | None) -> pathlib.Path:
    """Generate the training jets here (pythia8) and copy them to ``runs/gpu_check_jets``."""
    import torch

    from examples.hep import training
    from examples.hep.studies.top_tagging import PRESETS

    spec = TRAINING["tiny" if tiny else "full"]
    args = argparse.Namespace(data="pythia", cache_dir=None, workers=workers)
    ctx = training.Context(0, 1, torch.device("cpu"), amp=False, out=None, progress=False)
    cfg = PRESETS[spec["preset"]]
    data = training.load_data(args, cfg, ctx, wide=False)
    JETS.mkdir(parents=True, exist_ok=True)
    dest = JETS / spec["jets"]
    shutil.copyfile(data["path"], dest)
    print(f"{len(data['y'])} jets ({cfg['n_jets']} asked) -> {dest} "
          f"({dest.stat().st_size / 2**20:.1f} MiB)")
    return dest


def run_tests(device: str, timeout: int) -> dict:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
           str(ROOT / "tests" / "test_device.py"), "--device", device]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=timeout)
    counts = {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|skipped|error)",
                                               r.stdout)}
    return {"ok": r.returncode == 0 and counts.get("passed", 0) > 0, "wall_s":
            time.perf_counter() - t0, "counts": counts, "command": " ".join(cmd[1:]),
            "tail": r.stdout[-1500:] + r.stderr[-500:]}


def run_timing(device: str, tiny: bool) -> dict:
    """penalty_overhead.py's jet steps in float32 and under bfloat16 autocast."""
    import torch

    from benchmarks import penalty_overhead as po

    spec = TRAINING["tiny" if tiny else "full"]
    dev = torch.device(device)
    out = {"size": spec["timing_size"] or (256, 3, 100), "batch": 256,
           "steps": spec["timing_steps"]}
    t0 = time.perf_counter()
    for name, autocast in (("float32", False), ("bf16_autocast", True)):
        gen = torch.Generator().manual_seed(0)
        variants = po.jet_variants(dev, gen, paper=True, autocast=autocast,
                                   size=spec["timing_size"])
        med = po.run(variants, spec["timing_steps"], 3 if not tiny else 1, dev)
        out[name] = {"median_s": med, "ratio": po.ratios(med)}
    out["wall_s"] = time.perf_counter() - t0
    out["ok"] = all(v > 0 for k in ("float32", "bf16_autocast")
                    for v in out[k]["median_s"].values())
    return out


def run_training(device: str, tiny: bool, out: pathlib.Path) -> dict:
    spec = TRAINING["tiny" if tiny else "full"]
    jets = JETS / spec["jets"]
    if not jets.is_file():
        flag = " --tiny" if tiny else ""
        return {"ok": False, "error": f"no jet file {jets}: run --prepare{flag} on a machine "
                "with pythia8 first (and carry runs/gpu_check_jets)"}
    cmd = [sys.executable, str(ROOT / "examples" / "hep" / "toptag.py"), "--preset",
           spec["preset"], "--device", device, "--data", f"generated:{jets}", "--methods",
           spec["methods"], "--studies", spec["studies"], "--out", str(out / "toptag"),
           "--no-progress"]
    t0 = time.perf_counter()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT,
                           timeout=spec["timeout"])
    except subprocess.TimeoutExpired as err:
        return {"ok": False, "error": f"timed out after {spec['timeout']} s",
                "tail": (err.stdout or b"")[-2000:].decode(errors="replace")
                if isinstance(err.stdout, bytes) else str(err.stdout)[-2000:]}
    res = {"ok": r.returncode == 0, "wall_s": time.perf_counter() - t0,
           "command": " ".join(cmd[1:]), "tail": r.stdout[-2500:] + r.stderr[-1000:]}
    metrics = out / "toptag" / "metrics.json"
    if metrics.is_file():
        m = json.loads(metrics.read_text())
        res["auc"] = {k: v["auc"]["mean"] for k, v in m.items()}
        res["train_step_s"] = {k: v["train_step_s"]["mean"] for k, v in m.items()}
    details = out / "toptag" / "details.json"
    if details.is_file():
        d = json.loads(details.read_text())
        res["timing_median_s"] = d.get("timing", {}).get("median_s")
    return res


def environment(device: str) -> dict:
    import torch

    env = {"torch": torch.__version__, "python": platform.python_version(),
           "device": device, "host": platform.node()}
    if device.startswith("cuda") and torch.cuda.is_available():
        env["gpu"] = torch.cuda.get_device_name(torch.device(device))
        env["cuda"] = torch.version.cuda
    else:
        env["cpu_threads"] = torch.get_num_threads()
    return env


def markdown(report: dict) -> str:
    env = report["environment"]
    lines = [f"# GPU check ({'tiny, ' if report['tiny'] else ''}{env.get('gpu', env['device'])})",
             "", f"torch {env['torch']}, device {env['device']}, total {report['wall_s']:.0f} s; "
             f"command: `{report['command']}`", ""]
    t = report["tests"]
    lines += [f"## Library on the device: {'passed' if t['ok'] else 'FAILED'}", "",
              f"`{t.get('command', '')}`: {t.get('counts')}, {t.get('wall_s', 0):.0f} s", ""]
    tm = report["timing"]
    if "float32" in tm:
        lines += [f"## Train-step ratios over the plain step (d, layers, constituents = "
                  f"{tuple(tm['size'])}, batch {tm['batch']}, median of {tm['steps']} "
                  "interleaved steps)", "", "| variant | float32 | bf16 autocast |",
                  "|---|---|---|"]
        lines.append(f"| plain step [s] | {tm['float32']['median_s']['plain (scalar)']:.4f} | "
                     f"{tm['bf16_autocast']['median_s']['plain (scalar)']:.4f} |")
        for k in tm["float32"]["ratio"]:
            lines.append(f"| {k} | {tm['float32']['ratio'][k]:.2f} | "
                         f"{tm['bf16_autocast']['ratio'][k]:.2f} |")
        lines.append("")
    else:
        lines += ["## Timing: FAILED", "", f"```\n{tm.get('error', '')}\n```", ""]
    tr = report["training"]
    lines += [f"## Training: {'passed' if tr['ok'] else 'FAILED'}", ""]
    if "auc" in tr:
        lines += ["| method | AUC | train step [s] |", "|---|---|---|"]
        lines += [f"| {m} | {a:.4f} | {tr['train_step_s'][m]:.4f} |" for m, a in tr["auc"].items()]
        lines.append("")
    if not tr["ok"]:
        lines += ["```", (tr.get("error") or "") + "\n" + tr.get("tail", "")[-1500:], "```"]
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--device", default="cuda", help="device of the checks (cuda, cuda:1, cpu)")
    ap.add_argument("--tiny", action="store_true", help="small sizes (CI, CPU): < 1 min")
    ap.add_argument("--prepare", action="store_true",
                    help="only generate the training jets into runs/gpu_check_jets (needs "
                         "pythia8; run it here, then carry that folder to the GPU machine)")
    ap.add_argument("--workers", type=int, default=None,
                    help="--prepare: jet-generation processes (None: one per CPU core)")
    ap.add_argument("--out", default="runs/gpu_check", help="report folder")
    ap.add_argument("--skip", default="", help="comma list of parts to skip: tests,timing,training")
    args = ap.parse_args(argv)
    if args.prepare:
        prepare(args.tiny, args.workers)
        return {}
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    skip = {s for s in args.skip.split(",") if s}
    t0 = time.perf_counter()
    report = {"tiny": args.tiny, "command": " ".join(["python", "benchmarks/gpu_check.py",
                                                       *(argv if argv is not None
                                                         else sys.argv[1:])]),
              "environment": environment(args.device)}
    report["tests"] = ({"ok": True, "skipped": True} if "tests" in skip
                       else run_tests(args.device, 120 if args.tiny else 150))
    print(f"tests: {'passed' if report['tests']['ok'] else 'FAILED'}", flush=True)
    try:
        report["timing"] = ({"ok": True, "skipped": True} if "timing" in skip
                            else run_timing(args.device, args.tiny))
    except Exception as err:  # a failed part is reported, the others still run
        report["timing"] = {"ok": False, "error": f"{type(err).__name__}: {err}"}
    print(f"timing: {'done' if report['timing']['ok'] else 'FAILED'}", flush=True)
    report["training"] = ({"ok": True, "skipped": True} if "training" in skip
                          else run_training(args.device, args.tiny, out))
    print(f"training: {'passed' if report['training']['ok'] else 'FAILED'}", flush=True)
    report["wall_s"] = time.perf_counter() - t0
    report["ok"] = all(report[k]["ok"] for k in ("tests", "timing", "training"))
    (out / "report.json").write_text(json.dumps(report, indent=1, default=str))
    (out / "report.md").write_text(markdown(report))
    print(markdown(report))
    print(f"report: {out / 'report.json'}, {out / 'report.md'}")
    return report


if __name__ == "__main__":
    main()
