"""Trajectories for the study: the EGNN paper's N-body protocol, deterministic by seed, cached.

Protocol (the public EGNN set-up, ``n_body_system/dataset`` of vgsatorras/egnn, read and
re-implemented here): 5 particles; initial positions ``N(0, 1)`` per coordinate; initial
velocities of norm exactly 0.5 in a uniformly random direction; charges ``±1`` with
probability 1/2 each. The public code stores every 100th step of a 5 000-step trajectory,
starting at step 100 (its frame ``k`` is step ``100 (k + 1)``: frame 0, the initial state, is
overwritten by the first sample), and its "nbody_small" set, the one of the paper's table, takes
frame 30 (step 3 100) as input and frame 40 (step 4 100) as target: 1 000 steps of
``dt = 1e-3`` apart. Here the same: ``BURN_IN = 3100`` steps from the initial state give the
input frame, ``HORIZON = 1000`` further steps the target.

The field acts during the ``HORIZON`` steps only: the burn-in is field free, so the inputs of
a seed are the same for every field and strength and the field changes only the dynamics that
the models learn (the burn-in is cached once per seed and size).

Arrays (float64): ``pos``, ``vel``, ``target`` ``(n, 5, 3)``, ``charge`` ``(n, 5)``.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib

import numpy as np

from .simulator import DT, MAX_FORCE, _check_field, integrate

__all__ = ["N_PARTICLES", "BURN_IN", "HORIZON", "SPLITS", "initial_states", "make_split",
           "load_data", "default_cache_dir"]

N_PARTICLES = 5
BURN_IN = 3100
HORIZON = 1000
SPLITS = ("train", "val", "test")
_VERSION = 1  # bump when the protocol changes: old cache files are then never read


def default_cache_dir() -> pathlib.Path:
    """``$LIESOFT_NBODY_CACHE`` or ``runs/nbody/cache`` (git-ignored)."""
    return pathlib.Path(os.environ.get("LIESOFT_NBODY_CACHE", "runs/nbody/cache"))


def initial_states(n: int, seed: int):
    """``n`` initial states of the EGNN protocol, ``(pos, vel, charge)`` float64."""
    rng = np.random.default_rng(seed)
    pos = rng.standard_normal((n, N_PARTICLES, 3))
    direction = rng.standard_normal((n, N_PARTICLES, 3))
    vel = 0.5 * direction / np.linalg.norm(direction, axis=-1, keepdims=True)
    charge = rng.choice(np.array([-1.0, 1.0]), size=(n, N_PARTICLES))
    return pos, vel, charge


def _cached(cache_dir, params: dict, compute):
    """Load the npz keyed by ``params`` from ``cache_dir`` or compute, save and return it."""
    key = json.dumps(params, sort_keys=True)
    path = pathlib.Path(cache_dir) / f"nbody-{hashlib.sha1(key.encode()).hexdigest()[:16]}.npz"
    if path.exists():
        with np.load(path) as f:
            if str(f["params"]) == key:
                return {k: f[k] for k in f.files if k != "params"}
    arrays = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp.npz")
    np.savez(tmp, params=np.array(key), **arrays)
    os.replace(tmp, path)
    return arrays


def make_split(n: int, seed: int, *, field=None, strength: float = 0.0, cache_dir=None,
               burn_in: int = BURN_IN, horizon: int = HORIZON, max_force=MAX_FORCE) -> dict:
    """``n`` trajectories from ``seed``: ``{"pos", "vel", "charge", "target"}`` (float64).

    Vectorised over trajectories; cached as npz files in ``cache_dir`` (default
    :func:`default_cache_dir`) keyed by every parameter, computed only when missing.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    strength = _check_field(field, strength)
    cache_dir = default_cache_dir() if cache_dir is None else cache_dir
    base = {"version": _VERSION, "n": n, "seed": seed, "burn_in": burn_in, "dt": DT,
            "max_force": max_force, "particles": N_PARTICLES}

    def run_burn_in():
        pos, vel, charge = initial_states(n, seed)
        pos, vel = integrate(pos, vel, charge, burn_in, DT, max_force=max_force)
        return {"pos": pos, "vel": vel, "charge": charge}

    start = _cached(cache_dir, base, run_burn_in)

    def run_horizon():
        target, _ = integrate(start["pos"], start["vel"], start["charge"], horizon, DT,
                              field=field, strength=strength, max_force=max_force)
        return {"target": target}

    params = dict(base, field=field, strength=strength, horizon=horizon)
    return dict(start, **_cached(cache_dir, params, run_horizon))


def load_data(sizes=(3000, 2000, 2000), seed: int = 0, *, field=None, strength: float = 0.0,
              cache_dir=None, **options) -> dict:
    """The train, validation and test splits ``{split: make_split(...)}``, independent seeds
    derived from ``seed`` (the EGNN paper: 3 000 / 2 000 / 2 000)."""
    seeds = np.random.SeedSequence(seed).spawn(len(SPLITS))
    return {name: make_split(size, int(s.generate_state(1)[0]), field=field, strength=strength,
                             cache_dir=cache_dir, **options)
            for name, size, s in zip(SPLITS, sizes, seeds, strict=True)}
