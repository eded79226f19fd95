"""The jets a run trains on: loading (generated, ATLAS or reference jets), the train /
validation / test split, and the boosted test sets.

:class:`Source` is where the jets come from (resolved once from ``--data``, ``--cache-dir``,
``--workers``); :func:`load_data` returns numpy arrays; :func:`split` the three parts;
:func:`boosted` / :func:`boost_jets` jets boosted by GSEAL's sampler (a regression target
boosted with its jet); :func:`pt_edges` pT bins for the figures.
"""

from __future__ import annotations

import numpy as np
import torch

from examples.hep.data.augment import BETA_MAX  # the test-set boosts are GSEAL's
from examples.hep.data.jetgen import generate_jets
from examples.hep.data.loaders import load_atlas, load_generated, load_toptag_reference
from examples.hep.experiment import Source
from examples.hep.training.runtime import barrier
from liesoft import Lorentz, Sampler, Vector4

__all__ = ["Source", "load_data", "split", "SPLIT", "BETA_MAX", "boosted", "boost_jets",
           "pt_edges"]

SPLIT = (0.7, 0.1, 0.2)  # train / validation / test


def load_data(source: Source, cfg, ctx, wide: bool, targets: bool = False,
              detector=None) -> dict:
    """Numpy arrays: ``x (N, M, 4)`` float32 GeV, ``y (N,)``, ``pt (N,)``, ``m (N,)`` (jet
    mass); ``path``: the generated file (None for external data). ``targets`` (generated jets
    only) adds the regression targets ``p_true`` (the particle-level jet four-momentum) and
    ``p_top`` (the top quark, NaN for QCD), and ``p_det`` (the detector-level jet: the sum of
    all stored constituents), ``(N, 4)`` float64. ``detector``: a ``DetectorConfig`` for
    generated jets (default jetgen's). ``source``: where the jets come from (:class:`Source`)."""
    kind, _, path = source.data.partition(":")
    if targets and kind != "pythia":
        raise SystemExit(f"regression targets exist only for generated jets (--data pythia), "
                         f"got {source.data!r}")
    if kind == "pythia":
        n = cfg["n_wide"] if wide else cfg["n_jets"]
        kwargs = dict(wide_pt=wide, seed=1 if wide else 0, cache_dir=source.cache_dir,
                      workers=source.workers, progress=ctx.progress, targets=targets)
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
                         f"got {source.data!r}")
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


def boosted(x: np.ndarray, seed: int) -> np.ndarray:
    """Each jet boosted by a random element of GSEAL's sampler (in float64, then cast)."""
    return boost_jets(x, seed)[0]


def boost_jets(x: np.ndarray, seed: int, *vectors: np.ndarray) -> tuple:
    """:func:`boosted` jets ``x`` (float32) and each per-jet four-vector array of ``vectors``
    ``(N, 4)`` boosted by the *same* elements (float64): a regression target moves with its
    jet. The boosts are GSEAL's (:class:`liesoft.Sampler`, |β|² ~ U[0, BETA_MAX²])."""
    g = Sampler(Lorentz(), beta_max=BETA_MAX).sample(
        len(x), dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    rep = Vector4()
    return (rep.act(g, torch.from_numpy(x).double()).float().numpy(),
            *(rep.act(g, torch.from_numpy(v).double()).numpy() for v in vectors))


def pt_edges(pt: np.ndarray, n: int) -> np.ndarray:
    lo, hi = np.quantile(pt, [0.01, 0.99])
    return np.linspace(lo, hi, n + 1)
