"""Golden numbers that mean the same on every CPU (issue 32 item 1): a few float64 training
steps of every method of the three jet examples through the examples' own machinery —
``training.objective`` (augmentation, the task pass and the penalty in the library's one call,
``task + λ·Γ``), ``training.fit``/``train_step``, the tasks' losses, the penalty factory, the
toy's cell penalties and augmentation — on small deterministic data.

The bit-for-bit golden runs (``golden/__init__.py``) compare where the environment matches a
recorded one; these compare everywhere, at :data:`RTOL`. Why that tolerance: float64 rounds at
u = 1.1e-16; the numbers here are sums of a few thousand products through at most a double
backward and eight SGD steps, and fd δSEAL divides a difference by ε = 1e-4, so rounding that
depends on the CPU's kernels (reduction order, vector width, thread count) can reach
~1e-12 relative. The drift measured on the recording machine between 1 and 2 threads is
``measured_thread_drift`` in ``float64.json``. A change of the arithmetic of one step by 1e-9 relative moves the
updates by ~1e-9 relative (SGD: the update is linear in the gradient): far above the tolerance
(test_golden_float64.py plants one). Record with ``python -c "from tests.hep.golden import
float64; float64.record()"``.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib

import torch

HERE = pathlib.Path(__file__).resolve().parent
PATH = HERE / "float64.json"
RTOL = 1e-10
LR = 0.05
EPOCHS = 2  # of two batches: four steps


def _params(model) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def _summary(model, theta0, logs) -> dict:
    """The per-step task losses and penalties, and the whole update ``θ − θ0`` as its norm and
    its projection on a fixed random direction (SGD: linear in every gradient)."""
    delta = _params(model) - theta0
    v = torch.randn(delta.shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    return {"task": [t for t, _ in logs], "penalty": [p for _, p in logs],
            "update_norm": float(delta.norm()), "update_dot": float(delta @ v)}


def _train(model, loss_fn, x, y) -> dict:
    from examples.hep.training import fit

    opt = torch.optim.SGD(model.parameters(), lr=LR)
    theta0 = _params(model)
    logs = []
    half = len(x) // 2
    fit(model, loss_fn, lambda epoch: [(x[:half], y[:half]), (x[half:], y[half:])],
        optimizer=opt, epochs=EPOCHS,
        on_step=lambda i, l: logs.append([float(l[0].detach()), float(l[1].detach())]))
    return _summary(model, theta0, logs)


def tagger_numbers(names=None) -> dict:
    """The tagger's methods (the quick preset's transformer, double): Table 1's, the cost
    study's fractions and fd, augmentation, a budget and δSEAL on half the batch (``names``:
    only those)."""
    from examples.hep.experiment import Method, Penalty
    from examples.hep.studies.top_tagging import PRESETS
    from examples.hep.training import objective
    from tests.hep.methods import TAGGER, method
    from tests.hep.momenta_samples import physical_jets

    cfg = PRESETS["quick"]
    x = physical_jets(batch=8, length=7, seed=5)
    y = torch.tensor([0, 1, 1, 0, 1, 0, 0, 1], dtype=torch.float64)
    methods = [method(n) for n in ("baseline", "gseal", "dseal", "dseal_fd", "gseal_f0.5",
                                   "augment", "augment_gseal")]
    methods += [method("gseal_budget", target=1e-3),
                Method("dseal_f0.5", penalty=Penalty("dseal", 0.01, fraction=0.5,
                                                     reduction="sum"))]
    out = {}
    for m in methods:
        if names is not None and m.name not in names:
            continue
        torch.manual_seed(0)
        model = TAGGER.build(cfg, m).double()
        penalty, lam = TAGGER.penalty(m.penalty, None, None)
        budget = penalty if (m.penalty is not None and m.penalty.budget) else None
        loss_fn = objective(model, penalty, lam, loss=TAGGER.loss, on=TAGGER.penalty_on,
                            augment=TAGGER.augment if m.augment else None,
                            generator=torch.Generator().manual_seed(11), budget=budget)
        out[m.name] = _train(model, loss_fn, x, y)
    return out


def regression_numbers() -> dict:
    """The jet regression's methods (its quick preset's regressors, double) on targets ``1.05×``
    the summed constituents (TeV)."""
    from examples.hep.jet_regression import PRESETS
    from examples.hep.models.regressors import SCALE
    from examples.hep.tasks import regression
    from examples.hep.training import objective
    from tests.hep.momenta_samples import physical_jets

    cfg = PRESETS["quick"]
    x = physical_jets(batch=8, length=7, seed=6)
    t = 1.05 * x.sum(1) / SCALE
    out = {}
    for m in regression.methods(regression.METHODS):
        torch.manual_seed(0)
        task = regression.REGRESSOR
        model = task.build(cfg, m).double()
        penalty, lam = task.penalty(m.penalty, None, None)
        loss_fn = objective(model, penalty, lam, loss=task.loss, on=task.penalty_on,
                            generator=torch.Generator().manual_seed(12))
        out[m.name] = _train(model, loss_fn, x, t)
    return out


def toy_numbers() -> dict:
    """The toy regression's cells (its quick preset's MLPs, double): GSEAL, δSEAL,
    augmentation and a budget through ``toy_cells``' own penalty and augmentation."""
    from examples.hep.data.toy import make_data as toy_data
    from examples.hep.data.toy import truth
    from examples.hep.studies import toy_cells
    from examples.hep.toy_regression import PRESETS, Config
    from examples.hep.training import objective

    cfg = dataclasses.replace(Config(), **PRESETS["quick"])
    x = toy_data(dataclasses.replace(cfg, n_train=16, n_val=1, n_test=1, data_seed=7))[0]
    out = {}
    cells = [toy_cells.Cell("broken", "gseal", 0.1, 0.5, 0),
             toy_cells.Cell("broken", "dseal", 0.01, None, 0),
             toy_cells.Cell("broken", "augment", 0.0, 0.5, 0),
             toy_cells.Cell("broken", "budget", 0.0, 0.5, 0, "gseal", 1e-3, "constant")]
    for cell in cells:
        y = truth(x, cell.case)
        model = toy_cells.build_model(cell.method, cfg, 0).double()
        penalty, lam = toy_cells.cell_penalty(cell, None, "cpu")
        budget = penalty if cell.method == "budget" else None
        loss_fn = objective(model, penalty, lam, loss=toy_cells.mse, budget=budget,
                            generator=torch.Generator().manual_seed(13),
                            augment=toy_cells.boost_augment(cell.beta_max)
                            if cell.method == "augment" else None)
        out[cell.key] = _train(model, loss_fn, x, y)
    return out


def numbers() -> dict:
    return {"tagger": tagger_numbers(), "regression": regression_numbers(),
            "toy": toy_numbers()}


def differences(got, want, rtol: float = RTOL) -> list[str]:
    """Where ``got`` and ``want`` differ: structure exactly, numbers within ``rtol`` relative
    (``golden.differences``, whose absolute floor is ``rtol`` × 1e-3)."""
    from tests.hep.golden import differences as compare

    return compare(got, want, rtol)


def load() -> dict:
    return json.loads(PATH.read_text())


def record() -> pathlib.Path:
    """Record the numbers (with the environment, for information only: they are compared on
    every CPU) and the drift measured between 1 and 2 threads."""
    from tests.hep.golden import environment

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    one = numbers()
    torch.set_num_threads(2)
    two = numbers()
    torch.set_num_threads(threads)
    drift = max(_relative(one, two))
    PATH.write_text(json.dumps({"environment": environment(1), "rtol": RTOL,
                                "measured_thread_drift": drift, "numbers": one}, indent=1))
    return PATH


def _relative(a, b):
    if isinstance(a, dict):
        for k in a:
            yield from _relative(a[k], b[k])
    elif isinstance(a, list):
        for x, y in zip(a, b, strict=True):
            yield from _relative(x, y)
    else:
        yield abs(a - b) / abs(b) if b else abs(a - b)
