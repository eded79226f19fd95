"""The study's report, rendered from the result files: ``metrics.json``, the λ file, the
figures and the markdown answer ("does SEAL beat X on the error bars?").

    python examples/nbody/nbody.py --report --out docs/nbody --doc docs/nbody.md

* :func:`metrics`: ``{"fields": field → method → ε → {"test_mse", "test_violation"}, "size_study":
  method → training size → {...}}``, every metric ``{"mean", "std", "n"}`` (std: sample
  standard deviation over seeds, 0 for one seed);
* :func:`compare`: the rule — a beats b **on the error bars** only when both cells have
  ``n >= MIN_SEEDS`` and ``mean_b − mean_a > std_a + std_b`` (strictly); the reverse is a loss;
  otherwise "within the error bars" (or "n < 3": not decided);
* :func:`render_answer`: the markdown answer from ``metrics`` alone;
* :func:`figures`: MSE vs ε (one panel per field), MSE vs training size, violation vs ε, the
  anchor's validation curve.
"""

from __future__ import annotations

import json
import pathlib
from collections import defaultdict

import numpy as np

__all__ = ["MIN_SEEDS", "SEAL", "PEERS", "stat", "metrics", "cost", "anchor_summary",
           "compare", "render_answer", "figures", "write_report", "replace_block"]

MIN_SEEDS = 3
SEAL = ("gseal", "gseal_sub", "dseal")
PEERS = ("egnn", "egnn_field", "baseline", "augment")
METRICS = ("test_mse", "test_violation")
BEGIN, END = "<!-- nbody-report:begin -->", "<!-- nbody-report:end -->"
ORDER = ("baseline", "gseal", "gseal_sub", "dseal", "augment", "egnn", "egnn_field")
OFF_SCALE = 30                                  # figures: a mean this far above the rest
PAPER = {"egnn": 0.0071, "baseline": 0.0107}   # EGNN paper, table 2 (GNN = our baseline)


def _key(eps: float) -> str:
    return f"{float(eps):g}"


def stat(values) -> dict:
    v = np.asarray(values, dtype=float)
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
            "n": int(len(v))}


def _sorted(d: dict, order=None) -> dict:
    if order is None:
        return {k: d[k] for k in sorted(d, key=float)}
    return {k: d[k] for k in sorted(d, key=lambda m: (order.index(m) if m in order else 99, m))}


def metrics(results: list[dict], full_size: int = 3000, share_zero: bool = True) -> dict:
    """Aggregate result records (one per training) over seeds.

    ``fields``: trainings on ``full_size`` trajectories. With ``share_zero`` the trap's ε = 0
    cell takes the uniform ε = 0 trainings of the trap's methods (at ε = 0 both fields are
    absent: identical data and models), listed under ``shared``.
    ``size_study``: ε = 0 trainings (field ``uniform`` or none) by training size."""
    cells = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    sizes = defaultdict(lambda: defaultdict(list))
    for r in results:
        fld = str(r["field"])
        if r["train_size"] == full_size:
            cells[fld][r["method"]][_key(r["strength"])].append(r)
        if r["strength"] == 0 and fld in ("uniform", "None"):
            sizes[r["method"]][int(r["train_size"])].append(r)
    shared = []
    if share_zero and "trap" in cells and "uniform" in cells:
        for method in list(cells["trap"]):
            if "0" not in cells["trap"][method] and "0" in cells["uniform"].get(method, {}):
                cells["trap"][method]["0"] = cells["uniform"][method]["0"]
                shared.append(f"trap/{method}/0 = uniform/{method}/0")
    out = {"fields": {}, "size_study": {}, "shared": shared, "full_size": full_size,
           "rule": f"a beats b on the error bars: n_a, n_b >= {MIN_SEEDS} and "
                   "mean_b - mean_a > std_a + std_b (sample std over seeds)"}
    for fld in sorted(cells):
        out["fields"][fld] = _sorted({m: _sorted({e: {k: stat([r[k] for r in rs])
                                                      for k in METRICS}
                                                  for e, rs in eps.items()})
                                      for m, eps in cells[fld].items()}, ORDER)
    for method, by_size in sizes.items():
        out["size_study"][method] = {str(s): {k: stat([r[k] for r in rs]) for k in METRICS}
                                     for s, rs in sorted(by_size.items())}
    out["size_study"] = _sorted({m: c for m, c in out["size_study"].items()
                                 if any(int(s) != full_size for s in c)}, ORDER)
    return out


def cost(results: list[dict], scan=(), anchor=(), timing: dict | None = None) -> dict:
    """Measured cost: seconds per epoch (training only, one thread) per method over the
    study's 3 000-trajectory trainings, the trainings' summed seconds per stage, and the
    interleaved step ratios of ``timing`` (``--timing``'s file) when given."""
    per = defaultdict(list)
    for r in results:
        if r["train_size"] == 3000 and r["epochs"]:
            per[r["method"]].append(r["train_seconds"] / r["epochs"])
    out = {"seconds_per_epoch": _sorted({m: stat(v) for m, v in per.items()}, ORDER),
           "train_seconds": {name: round(sum(r["train_seconds"] + r.get("eval_seconds", 0.0)
                                             for r in rs), 1)
                             for name, rs in (("grid", results), ("scan", scan),
                                              ("anchor", anchor))},
           "trainings": {"grid": len(results), "scan": len(scan), "anchor": len(anchor)}}
    if timing:
        base = timing["step_seconds"]["baseline"]
        out["step_ratio"] = {m: round(t / base, 2) for m, t in timing["step_seconds"].items()}
        out["step_seconds"] = timing["step_seconds"]
        out["timing_loadavg"] = timing.get("loadavg")
    return out


def anchor_summary(anchor: list[dict]) -> dict:
    return {r["method"]: {"epochs": r["epochs"], "best_epoch": r["best_epoch"],
                          "test_mse": r["test_mse"], "val_mse": r["val_mse"],
                          "train_seconds": r["train_seconds"],
                          "paper_test_mse": PAPER.get(r["method"]),
                          "ratio_to_paper": (r["test_mse"] / PAPER[r["method"]]
                                             if r["method"] in PAPER else None)}
            for r in anchor}


def compare(a: dict, b: dict, min_n: int = MIN_SEEDS) -> str:
    """``"win"`` (a's mean below b's by more than std_a + std_b), ``"loss"`` (the reverse),
    ``"tie"`` (within the error bars) or ``"n<3"`` (either cell has fewer than ``min_n``)."""
    if a["n"] < min_n or b["n"] < min_n:
        return f"n<{min_n}"
    spread = a["std"] + b["std"]
    if b["mean"] - a["mean"] > spread:
        return "win"
    if a["mean"] - b["mean"] > spread:
        return "loss"
    return "tie"


WORD = {"win": "**beats**", "loss": "loses to", "tie": "within the error bars of"}


def _fmt(s: dict) -> str:
    return f"{s['mean']:.4g} ± {s['std']:.2g} ({s['n']})"


def _verdicts(table: dict, seal: str, peer: str, metric: str = "test_mse"):
    """``{verdict: [column, ...]}`` over the columns both rows have."""
    out = defaultdict(list)
    for col in table.get(seal, {}):
        if col in table.get(peer, {}):
            out[compare(table[seal][col][metric], table[peer][col][metric])].append(col)
    return out


def _sentence(seal, peer, verdicts, what) -> str:
    parts = []
    for v in ("win", "loss", "tie"):
        if verdicts.get(v):
            parts.append(f"{WORD[v]} `{peer}` at {what} ∈ {{{', '.join(verdicts[v])}}}")
    undecided = [c for k, cols in verdicts.items() if k.startswith("n<") for c in cols]
    if undecided:
        parts.append(f"undecided (n < {MIN_SEEDS}) at {what} ∈ {{{', '.join(undecided)}}}")
    return f"- `{seal}` " + "; ".join(parts) + "." if parts else ""


def _headline(m: dict) -> list[str]:
    """SEAL method × peer: cells won / within the error bars / lost (/ undecided), over
    every field × ε cell and every training size both have; a cell counted once (the trap's
    shared ε = 0 and the size study's full size are the uniform ε = 0 cell)."""
    shared = set(m.get("shared", []))
    tables = [{meth: {e: c for e, c in cells.items()
                      if f"{fld}/{meth}/{e} = uniform/{meth}/{e}" not in shared}
               for meth, cells in t.items()} for fld, t in m["fields"].items()]
    tables.append({meth: {s: c for s, c in cells.items() if int(s) != m["full_size"]}
                   for meth, cells in m.get("size_study", {}).items()})
    counts = {}
    for seal in SEAL:
        for peer in PEERS:
            c = defaultdict(int)
            for t in tables:
                for v, cols in _verdicts(t, seal, peer).items():
                    c["n<" if v.startswith("n<") else v] += len(cols)
            if c:
                counts[(seal, peer)] = c
    if not counts:
        return []
    peers = [p for p in PEERS if any(k[1] == p for k in counts)]
    lines = ["Headline: cells (field × ε, and training sizes at ε = 0) where the SEAL method "
             "**wins** / is within the error bars / loses, against each peer (undecided: "
             f"n < {MIN_SEEDS}).", "",
             "| SEAL method | " + " | ".join(f"vs {p}" for p in peers) + " |",
             "|---|" + "---|" * len(peers)]
    for seal in SEAL:
        if any(k[0] == seal for k in counts):
            cells = []
            for peer in peers:
                c = counts.get((seal, peer))
                cells.append("—" if c is None else
                             f"**{c['win']}** / {c['tie']} / {c['loss']}"
                             + (f" ({c['n<']} undecided)" if c["n<"] else ""))
            lines.append(f"| {seal} | " + " | ".join(cells) + " |")
    return lines + [""]


def _table_block(title: str, table: dict, order, what: str) -> list[str]:
    """A heading, the test-MSE table (method rows, columns sorted by ``order``) and one
    sentence per SEAL method and peer with its verdicts over the columns (``what``)."""
    cols = sorted({c for cells in table.values() for c in cells}, key=order)
    lines = [title, "", "| method | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for method, cells in table.items():
        lines.append(f"| {method} | " + " | ".join(
            _fmt(cells[c]["test_mse"]) if c in cells else "—" for c in cols) + " |")
    lines.append("")
    for seal in SEAL:
        for peer in PEERS:
            if seal in table and peer in table:
                sentence = _sentence(seal, peer, _verdicts(table, seal, peer), what)
                if sentence:
                    lines.append(sentence)
    return lines + [""]


def render_answer(m: dict) -> str:
    """The answer in markdown, from ``metrics`` only (no hand-typed number)."""
    lines = ["### The answer, on the error bars (rendered by `--report` from metrics.json)", "",
             f"Rule: {m['rule']}. Test MSE, mean ± std (n seeds), "
             f"{m['full_size']} training trajectories.", ""]
    head = _headline(m)
    if head:
        lines += head
    if m.get("lambda"):
        lines += ["λ chosen on validation (method/field/ε: λ): " + ", ".join(
            f"{k}: {v:g}" for k, v in m["lambda"].items()) + ".", ""]
    for fld, table in m["fields"].items():
        lines += _table_block(f"#### Field `{fld}`: test MSE (columns: ε)", table, float, "ε")
    size = m.get("size_study", {})
    if len(size) > 1:
        lines += _table_block("#### Training size at ε = 0: test MSE (columns: trajectories)",
                              size, int, "size")
    uni = m["fields"].get("uniform", {})
    zero = {meth: uni[meth]["0"]["test_violation"] for meth in uni if "0" in uni[meth]}
    if zero:
        lines += ["#### Violation at ε = 0 (GSEAL under E(3) on the test inputs, uniform "
                  "field's ε = 0 cell)", "",
                  "| method | violation |", "|---|---|"]
        lines += [f"| {meth} | {s['mean']:.3g} ± {s['std']:.2g} ({s['n']}) |"
                  for meth, s in zero.items()]
        lines.append("")
        if all(k in zero for k in ("egnn", "baseline", "gseal")):
            e, b, g = (zero[k]["mean"] for k in ("egnn", "baseline", "gseal"))
            ok = e < 1e-8 and e < g < b
            lines.append(f"Acceptance (EGNN at float32 rounding, < 1e-8; baseline clearly "
                         f"above; GSEAL between): EGNN {e:.3g}, GSEAL {g:.3g}, baseline "
                         f"{b:.3g}: **{'holds' if ok else 'does not hold'}**.")
            lines.append("")
    c = m.get("cost")
    if c:
        lines += ["#### Cost (measured in the study's own trainings, one thread each, two at a "
                  "time on the shared 2-core machine)", "",
                  "| method | s per epoch (30 steps of 100) | × baseline |"
                  + (" interleaved step ratio (`--timing`) |" if "step_ratio" in c else ""),
                  "|---|---|---|" + ("---|" if "step_ratio" in c else "")]
        base = c["seconds_per_epoch"].get("baseline", {}).get("mean")
        for meth, s in c["seconds_per_epoch"].items():
            ratio = f"{s['mean'] / base:.2f}" if base else "—"
            row = f"| {meth} | {s['mean']:.3g} ± {s['std']:.2g} ({s['n']}) | {ratio} |"
            if "step_ratio" in c:
                row += f" {c['step_ratio'].get(meth, '—')} |"
            lines.append(row)
        t, n = c["train_seconds"], c["trainings"]
        lines += ["", "Summed training + evaluation seconds (core-seconds): "
                  + ", ".join(f"{k} {t[k]:.0f} s ({n[k]} trainings)" for k in t) + ".", ""]
    a = m.get("anchor")
    if a:
        lines += ["#### Anchor (ε = 0, 3 000 trajectories, seed 0, trained until the study's "
                  "stop time)", "",
                  "| method | epochs | best val. epoch | test MSE | paper (10 000 epochs) | "
                  "× paper |", "|---|---|---|---|---|---|"]
        for meth, r in a.items():
            paper = r["paper_test_mse"]
            ratio = f"{r['ratio_to_paper']:.2f}" if paper else "—"
            lines.append(f"| {meth} | {r['epochs']} | {r['best_epoch']} | {r['test_mse']:.4g} | "
                         f"{paper or '—'} | {ratio} |")
        lines.append("")
    return "\n".join(lines)


def replace_block(text: str, block: str) -> str:
    """``text`` with the part between the report markers replaced by ``block``."""
    if BEGIN not in text or END not in text:
        raise ValueError(f"markers {BEGIN} / {END} not found")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{block.rstrip()}\n{END}{tail}"


# ------------------------------------------------------------------------------------ figures
def _series(ax, x, cells, method, metric, cap=np.inf):
    """Mean ± std per cell of ``method`` through ``style.errorbar`` (filled marker and error
    bar: std over n seeds; hollow marker: one seed). A mean above ``cap`` (a diverged
    training) is drawn at ``cap`` as a hollow triangle joined by a dotted line, its error bar
    dropped. Returns ``(legend handle, [n], [(x index, mean), ...] of the off-scale cells)``."""
    from examples.hep.evaluation import style

    pts = [(xx, c[metric]) for xx, c in zip(x, cells, strict=True) if c is not None]
    if not pts:
        return None, [], []
    xs = np.array([p[0] for p in pts], dtype=float)
    mean = np.array([p[1]["mean"] for p in pts], dtype=float)
    std = np.array([p[1]["std"] for p in pts], dtype=float)
    n = np.array([p[1]["n"] for p in pts])
    if metric == "test_violation":
        mean = np.maximum(mean, 1e-16)
    off = mean > cap
    color = style.color(method)
    handle = style.errorbar(ax, xs[~off], mean[~off], std[~off], n[~off], method=method,
                            label=method)
    if off.any():
        capped = np.where(off, cap, mean)
        for i in np.flatnonzero(off):      # dotted from the neighbours to the triangle
            lo, hi = max(i - 1, 0), min(i + 1, len(xs) - 1)
            style.tag(ax.plot(xs[lo:hi + 1], capped[lo:hi + 1], ls=":", color=color, lw=1.2),
                      method)
        style.tag(ax.plot(xs[off], capped[off], ls="none", marker="^", ms=9, mfc="white",
                          mec=color, mew=1.4, zorder=6), method)
    return handle, list(n), [(k, v) for k, v in zip(np.flatnonzero(off), mean[off],
                                                    strict=True)]


def _off_handles(off: list) -> list:
    """Legend entries for the off-scale means: one line saying what the triangle is, then
    one per mean with its value (the values in the legend, not beside the points)."""
    from matplotlib.lines import Line2D

    from examples.hep.evaluation import style

    if not off:
        return []
    out = [Line2D([], [], ls="none", marker="^", mfc="white", mec="0.3", ms=8,
                  label=f"off scale (> {OFF_SCALE:g} × the panel's 75th percentile), "
                        "drawn at the top:")]
    for fld, meth, eps, value in off:
        out.append(Line2D([], [], ls="none", marker="^", mfc="white", mec=style.color(meth),
                          mew=1.4, ms=8, label=f"{meth}, {fld}, ε = {eps}: mean {value:.2g}"))
    return out


def _eps_figure(m: dict, metric: str, ylabel: str, out, name: str) -> None:
    """``metric`` against ε, one panel per field: the ε columns as categories, the methods'
    points offset sideways; y log, limited to the data drawn."""
    from matplotlib.ticker import NullLocator

    from examples.hep.evaluation import style

    fields = m["fields"]
    _, fig, axes = style.subplots(1, len(fields), figsize=(4.3 * len(fields) + 3.4, 3.9))
    handles, ns, off = {}, [], []
    for ax, (fld, table) in zip(axes[0], fields.items(), strict=True):
        cols = sorted({e for cells in table.values() for e in cells}, key=float)
        methods = list(table)
        width = 0.5 / max(len(methods), 1)
        means = [c[metric]["mean"] for cells in table.values() for c in cells.values()]
        cap = OFF_SCALE * float(np.percentile(means, 75))
        for k, meth in enumerate(methods):
            x = [i + (k - (len(methods) - 1) / 2) * width for i in range(len(cols))]
            h, n, o = _series(ax, x, [table[meth].get(c) for c in cols], meth, metric, cap)
            if h is not None:
                handles.setdefault(meth, h)
            ns += n
            present = [c for c in cols if c in table[meth]]
            off += [(fld, meth, present[i], v) for i, v in o]
        ax.set_yscale("log")
        ax.set_xticks(range(len(cols)), cols)
        ax.xaxis.set_minor_locator(NullLocator())
        style.fit_data(ax)
        ax.set_xlabel("field strength ε")
        ax.set_ylabel(ylabel)
        ax.set_title(f"field: {fld}")
    order = sorted(handles, key=lambda k: ORDER.index(k) if k in ORDER else len(ORDER))
    style.legend(fig, [handles[k] for k in order] + style.seed_handles(ns) + _off_handles(off))
    style.save(fig, out / name)


def _size_figure(size: dict, out) -> None:
    """Test MSE at ε = 0 against the number of training trajectories (a count axis: log, a
    tick at each size, limited to the data), the methods offset sideways by a few per cent."""
    from matplotlib.ticker import NullLocator

    from examples.hep.evaluation import style

    _, fig, axes = style.subplots(figsize=(7.4, 3.9))
    ax = axes[0][0]
    handles, ns, sizes = [], [], set()
    for k, (meth, cells) in enumerate(size.items()):
        sz = sorted(cells, key=int)
        shift = 10 ** (0.012 * (k - (len(size) - 1) / 2))
        h, n, _ = _series(ax, [int(s) * shift for s in sz], [cells[s] for s in sz], meth,
                          "test_mse")
        handles.append(h)
        ns += n
        sizes |= {int(s) for s in sz}
    ax.set_xscale("log")
    ax.set_yscale("log")
    style.fit_data(ax)
    ticks = sorted(sizes)
    ax.set_xticks(ticks, [f"{t:d}" for t in ticks])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("training trajectories")
    ax.set_ylabel("test MSE (ε = 0)")
    style.legend(ax, [h for h in handles if h is not None] + style.seed_handles(ns))
    style.save(fig, out / "mse_vs_size.png")


def _anchor_figure(anchor: list[dict], out) -> None:
    """The anchor trainings' validation MSE per epoch (one seed each: curves, no error bars)
    and the EGNN paper's test MSE (dashed)."""
    from examples.hep.evaluation import style

    _, fig, axes = style.subplots(figsize=(7.4, 3.9))
    ax = axes[0][0]
    handles, paper = [], []
    for r in anchor:
        meth, c = r["method"], style.color(r["method"])
        ep = [p["epoch"] for p in r["curve"]]
        val = [p["val_mse"] for p in r["curve"]]
        handles.append(style.tag(ax.plot(ep, val, color=c, lw=1.5,
                                         label=f"{meth}: validation (seed {r.get('seed', 0)})")[0],
                                 meth))
        if meth in PAPER:
            handles.append(style.tag(ax.axhline(PAPER[meth], color=c, ls="--", lw=1.2,
                                                label=f"{meth}: paper's test MSE "
                                                      "(10 000 epochs)"), meth))
            paper.append(PAPER[meth])
    ax.set_xscale("log")
    ax.set_yscale("log")
    style.fit_data(ax, extra_y=paper)
    ax.set_xlabel("epoch (30 steps of 100)")
    ax.set_ylabel("MSE")
    style.legend(ax, handles)
    style.save(fig, out / "anchor_curve.png")


def figures(m: dict, out, anchor: list[dict] | None = None) -> list[str]:
    """Write the figures to ``out`` through examples/hep's plotting style (one colour and
    marker per method, legends outside the data, error bars: std over n seeds, hollow markers:
    one seed, axes limited to the data); returns their file names."""
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    if m["fields"]:
        for metric, name, ylabel in (("test_mse", "mse_vs_eps.png", "test MSE"),
                                     ("test_violation", "violation_vs_eps.png",
                                      "test violation (GSEAL under E(3))")):
            _eps_figure(m, metric, ylabel, out, name)
            written.append(name)
    if m.get("size_study"):
        _size_figure(m["size_study"], out)
        written.append("mse_vs_size.png")
    if anchor:
        _anchor_figure(anchor, out)
        written.append("anchor_curve.png")
    return written


def write_report(out, results: list[dict], *, scan: list[dict] = (), anchor: list[dict] = (),
                 plan: dict | None = None, doc=None, full_size: int = 3000) -> dict:
    """metrics.json, lambda.json (when a scan is present), answer.md, the figures; and the
    rendered answer into ``doc`` between the report markers (when given)."""
    out = pathlib.Path(out)
    m = metrics(results, full_size)
    if scan:
        from .study import DEFAULT_PLAN, SCAN, chosen_lambdas
        p = dict(DEFAULT_PLAN, **(plan or {}))
        chosen = chosen_lambdas(list(scan), p)
        lam = {"rule": f"λ ∈ {p['scan_lams']} of the lowest validation MSE, seed 0, "
                       f"{p['scan_epochs']} epochs of {full_size} trajectories",
               "chosen": {f"{k[0]}/{k[1]}/{_key(k[2])}": v for k, v in chosen.items()},
               "scan": {f"{r['method']}/{r['field']}/{_key(r['strength'])}/lam{r['lam']:g}":
                        {"val_mse": r["val_mse"], "test_violation": r["test_violation"]}
                        for r in scan},
               "cells": [f"{mm}/{f}/{_key(e)}" for mm, cells in SCAN.items() for f, e in cells]}
        (out / "lambda.json").write_text(json.dumps(lam, indent=1, ensure_ascii=False) + "\n")
        m["lambda"] = lam["chosen"]
    timing_path = out / "timing.json"
    m["cost"] = cost(results, list(scan), list(anchor),
                     json.loads(timing_path.read_text()) if timing_path.exists() else None)
    if anchor:
        m["anchor"] = anchor_summary(list(anchor))
    (out / "metrics.json").write_text(json.dumps(m, indent=1, ensure_ascii=False) + "\n")
    answer = render_answer(m)
    (out / "answer.md").write_text(answer + "\n")
    m["figures"] = figures(m, out, list(anchor))
    if doc is not None:
        doc = pathlib.Path(doc)
        doc.write_text(replace_block(doc.read_text(), answer))
    return m
