"""Evaluation of a trained N-body model, result files, and the report's tables.

* :func:`evaluate`: test MSE and test violation — GSEAL under the full E(3) (Haar rotation,
  unit Gaussian translation, generator seed fixed) of the trained model on the test inputs,
  whatever symmetry it was trained for — and the evaluation's seconds;
* :func:`save_result` / :func:`load_results`: one JSON file per training;
* :func:`report`: markdown tables (test MSE and violation, mean ± std over seeds, per field,
  method and ε; the size study).
"""

from __future__ import annotations

import json
import pathlib
import time
from collections import defaultdict

import numpy as np
import torch

from liesoft import E3, GSEAL

from .models import IN_REP, OUT_REP
from .training import mse, tensors

__all__ = ["violation", "evaluate", "save_result", "load_results", "report"]

VIOLATION_SEED = 1234


def violation(model, x, batch_size: int = 500, seed: int = VIOLATION_SEED) -> float:
    """GSEAL under E(3) on ``x``, the same draws for every model (fixed generator seed)."""
    penalty = GSEAL(E3(), IN_REP, OUT_REP)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        total = sum(float(penalty(model, xb, generator=gen)) * len(xb)
                    for xb in x.split(batch_size))
    return total / len(x)


def evaluate(model, split: dict) -> dict:
    x, y = tensors(split)
    start = time.perf_counter()
    out = {"test_mse": mse(model, x, y), "test_violation": violation(model, x)}
    out["eval_seconds"] = time.perf_counter() - start
    return out


def save_result(path: pathlib.Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1))
    tmp.replace(path)


def load_results(directory) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(pathlib.Path(directory).glob("*.json"))]


def _cell(values) -> str:
    v = np.asarray(values, dtype=float)
    return f"{v.mean():.4g} ± {v.std(ddof=1) if len(v) > 1 else 0.0:.2g} ({len(v)})"


def _table(rows: dict, columns: list, title: str, what: str) -> list[str]:
    lines = [f"### {title}", "", "| method | " + " | ".join(map(str, columns)) + " |",
             "|---|" + "---|" * len(columns)]
    for method, cells in rows.items():
        lines.append(f"| {method} | " + " | ".join(
            _cell(cells[c]) if c in cells else "—" for c in columns) + " |")
    return lines + ["", f"({what}: mean ± std over seeds (n))", ""]


def report(results: list[dict], full_size: int | None = None) -> str:
    """Markdown tables: per field, test MSE and violation by method × ε (trainings on the
    largest size present, or ``full_size``), then MSE by method × training size at ε = 0."""
    if not results:
        return "no results yet\n"
    full = full_size or max(r["train_size"] for r in results)
    lines = []
    for metric in ("test_mse", "test_violation"):
        for fld in sorted({str(r["field"]) for r in results}):
            rows = defaultdict(lambda: defaultdict(list))
            chosen = [r for r in results if str(r["field"]) == fld and r["train_size"] == full]
            for r in chosen:
                rows[r["method"]][r["strength"]].append(r[metric])
            columns = sorted({r["strength"] for r in chosen})
            lines += _table(rows, columns, f"{metric}, field {fld}, {full} trajectories "
                            "(columns: ε)", metric)
    sizes = defaultdict(lambda: defaultdict(list))
    for r in results:
        if r["strength"] == 0:
            sizes[r["method"]][r["train_size"]].append(r["test_mse"])
    columns = sorted({s for cells in sizes.values() for s in cells})
    if len(columns) > 1:
        lines += _table(sizes, columns, "test_mse vs training size, ε = 0", "test_mse")
    return "\n".join(lines)
