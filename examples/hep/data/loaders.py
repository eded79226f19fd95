"""Readers for top-tagging jet data sets, all returning the same dictionary.

Every loader returns a dict of numpy arrays, energies and momenta in GeV:

* ``constituents`` (N, M, 4) float32: (E, px, py, pz), ordered by decreasing
  pT, zero-padded; constituents with pT < ``min_pt`` (default 1 MeV) are
  turned into padding (their log pT would otherwise be about -30).
* ``labels`` (N,) int8: 1 = top, 0 = QCD.
* ``jet_pt``, ``jet_eta``, ``jet_phi``, ``jet_m`` (N,) float32.
* ``weights`` (N,) float32, only where the data set provides them.

Supported inputs:

* :func:`load_atlas` - ATLAS Top Tagging Open Data (CERN open data record
  15013), HDF5 with per-constituent ``fjet_clus_{pt,eta,phi,E}`` in MeV.
* :func:`load_toptag_reference` - the Top Quark Tagging Reference Dataset
  (Kasieczka et al. 2019), a pandas HDF5 table with columns ``E_i``,
  ``PX_i``, ``PY_i``, ``PZ_i`` and ``is_signal_new`` (needs pandas + tables).
* :func:`load_generated` - files written by :func:`.jetgen.generate_jets`.

Missing files raise :class:`FileNotFoundError`; files of the wrong layout
raise :class:`JetFileError` (a :class:`ValueError` that is also a
:class:`KeyError`) naming what was expected and what was found.
"""

from __future__ import annotations

import os
import pathlib
import re

import h5py
import numpy as np

try:
    from .detector import drop_soft, kinematics
    from .jetgen import TARGETS_FORMAT
except ImportError:  # pragma: no cover - run as a plain script
    from detector import drop_soft, kinematics
    from jetgen import TARGETS_FORMAT

__all__ = [
    "JetFileError",
    "load_atlas",
    "load_toptag_reference",
    "load_generated",
    "ATLAS_KEYS",
    "GENERATED_KEYS",
    "TARGET_KEYS",
]

ATLAS_KEYS = (
    "fjet_clus_pt",
    "fjet_clus_eta",
    "fjet_clus_phi",
    "fjet_clus_E",
    "fjet_pt",
    "fjet_eta",
    "fjet_phi",
    "fjet_m",
    "labels",
)
ATLAS_WEIGHT_KEYS = ("weights", "training_weights")
GENERATED_KEYS = ("constituents", "labels", "jet_pt", "jet_eta", "jet_phi", "jet_m")
MEV = 1e-3


class JetFileError(ValueError, KeyError):
    """A file exists but does not have the expected layout."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def _check_file(path) -> pathlib.Path:
    path = pathlib.Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"jet data file not found: {path}")
    if not h5py.is_hdf5(path):
        raise JetFileError(f"{path} is not an HDF5 file")
    return path


def _require(path, found, expected, what="keys") -> None:
    missing = [k for k in expected if k not in found]
    if missing:
        shown = sorted(found)
        more = f" ... ({len(shown)} in all)" if len(shown) > 30 else ""
        raise JetFileError(
            f"{path}: missing {what} {missing}; expected {list(expected)}; found {shown[:30]}{more}"
        )


def _finish(p4, labels, jet=None, weights=None, *, min_pt, max_constituents) -> dict:
    """Drop soft constituents, trim padding, compute jet kinematics if not given."""
    p4 = drop_soft(np.asarray(p4, dtype=np.float32), min_pt)
    if max_constituents is not None:
        p4 = p4[:, :max_constituents]
    if jet is None:
        jet = kinematics(p4.astype(np.float64).sum(axis=1))
    out = {
        "constituents": np.ascontiguousarray(p4, dtype=np.float32),
        "labels": np.asarray(labels).astype(np.int8).reshape(-1),
    }
    for name, value in zip(("jet_pt", "jet_eta", "jet_phi", "jet_m"), jet, strict=True):
        out[name] = np.asarray(value, dtype=np.float32).reshape(-1)
    if weights is not None:
        out["weights"] = np.asarray(weights, dtype=np.float32).reshape(-1)
    n = len(out["constituents"])
    bad = {k: v.shape for k, v in out.items() if k != "constituents" and len(v) != n}
    if bad:
        raise JetFileError(f"inconsistent lengths: {n} jets but {bad}")
    return out


def load_atlas(
    path, *, max_jets: int | None = None, max_constituents: int | None = None, min_pt: float = 1e-3
) -> dict:
    """Load an ATLAS Top Tagging Open Data file (CERN open data record 15013).

    Constituents are read from ``fjet_clus_{pt,eta,phi,E}`` (MeV; zero pT is
    padding) and turned into (E, px, py, pz) in GeV; jet kinematics come from
    ``fjet_{pt,eta,phi,m}`` (pt and m converted to GeV). ``weights`` (or
    ``training_weights``) are returned if present. ``max_jets`` reads only the
    first jets; ``max_constituents`` keeps only the leading constituents.
    """
    path = _check_file(path)
    rows = slice(None, max_jets)
    cols = slice(None, max_constituents)
    with h5py.File(path, "r") as f:
        _require(path, f.keys(), ATLAS_KEYS)
        pt, eta, phi, e = (
            np.asarray(f[f"fjet_clus_{k}"][rows, cols], dtype=np.float64)
            for k in ("pt", "eta", "phi", "E")
        )
        jet = (
            np.asarray(f["fjet_pt"][rows]) * MEV,
            f["fjet_eta"][rows],
            f["fjet_phi"][rows],
            np.asarray(f["fjet_m"][rows]) * MEV,
        )
        labels = f["labels"][rows]
        weight_key = next((k for k in ATLAS_WEIGHT_KEYS if k in f), None)
        weights = f[weight_key][rows] if weight_key else None
    pt = pt * MEV
    valid = pt > 0
    p4 = np.stack([e * MEV, pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)], axis=-1)
    p4[~valid] = 0.0
    return _finish(p4, labels, jet, weights, min_pt=min_pt, max_constituents=None)


def _reference_columns(columns) -> tuple[int, list[str]]:
    e_idx = sorted(int(m.group(1)) for c in columns if (m := re.fullmatch(r"E_(\d+)", str(c))))
    n = len(e_idx)
    if n == 0 or e_idx != list(range(n)):
        n = 0
    names = [f"{v}_{i}" for i in range(n) for v in ("E", "PX", "PY", "PZ")]
    return n, names


def load_toptag_reference(
    path,
    *,
    key: str = "table",
    max_jets: int | None = None,
    max_constituents: int | None = None,
    min_pt: float = 1e-3,
    block: int = 100_000,
) -> dict:
    """Load the Top Quark Tagging Reference Dataset (Kasieczka et al. 2019).

    The file is a pandas HDF5 store (``key``, usually ``"table"``) with
    columns ``E_i, PX_i, PY_i, PZ_i`` for i = 0..199 (GeV, zero-padded) and
    ``is_signal_new`` (1 = top). Jet kinematics are computed from the sum of
    the constituents (the set has no jet columns) and there are no weights.
    Rows are read ``block`` at a time to bound memory.
    """
    path = _check_file(path)
    try:
        import pandas as pd
    except ImportError as err:  # pragma: no cover
        raise ImportError(
            "load_toptag_reference needs pandas and tables (pip install pandas tables)"
        ) from err
    with pd.HDFStore(path, mode="r") as store:
        keys = [k.lstrip("/") for k in store.keys()]
        if key.lstrip("/") not in keys:
            raise JetFileError(f"{path}: no pandas object under key {key!r}; found keys {keys}")
        storer = store.get_storer(key)
        n_rows = storer.nrows  # None for the fixed format: shape is [rows, columns]
        n_rows = int(n_rows if n_rows is not None else (storer.shape or [0])[0])
        n_rows = n_rows if max_jets is None else min(n_rows, max_jets)
        p4_blocks, labels = [], []
        for start in range(0, max(n_rows, 1), block):
            df = store.select(key, start=start, stop=min(start + block, n_rows))
            if start == 0:
                n, names = _reference_columns(df.columns)
                expected = ["E_0", "PX_0", "PY_0", "PZ_0", "...", "is_signal_new"]
                if n == 0 or "is_signal_new" not in df.columns:
                    raise JetFileError(
                        f"{path}: expected columns {expected}; found "
                        f"{list(map(str, df.columns[:30]))} "
                        f"({len(df.columns)} in all)"
                    )
                _require(path, set(df.columns), names, what="columns")
                n_keep = n if max_constituents is None else min(n, max_constituents)
                names = names[: 4 * n_keep]
            p4_blocks.append(df[names].to_numpy(np.float32).reshape(len(df), n_keep, 4))
            labels.append(df["is_signal_new"].to_numpy())
    return _finish(
        np.concatenate(p4_blocks), np.concatenate(labels), min_pt=min_pt, max_constituents=None
    )


TARGET_KEYS = ("particle_jet_p4", "top_p4")


def load_generated(
    path: str | os.PathLike,
    *,
    max_jets: int | None = None,
    max_constituents: int | None = None,
    min_pt: float = 1e-3,
    targets: bool = False,
) -> dict:
    """Load a file written by :func:`examples.hep.data.jetgen.generate_jets`.

    With ``targets=True`` the regression targets are returned as well: ``particle_jet_p4``
    ``(N, 4)`` float64 (the particle-level jet four-momentum) and ``top_p4`` ``(N, 4)`` (the
    contained top quark, NaN for QCD jets). They exist from format version 2 on; an older file
    raises :class:`JetFileError` naming its version (it is never read as if it had them).
    """
    path = _check_file(path)
    rows = slice(None, max_jets)
    with h5py.File(path, "r") as f:
        _require(path, f.keys(), GENERATED_KEYS)
        if targets:
            version = f.attrs.get("format_version", None)
            if version is None or int(version) < TARGETS_FORMAT:
                raise JetFileError(
                    f"{path}: jet cache of format version {version}, which has no regression "
                    f"targets {list(TARGET_KEYS)} (they exist from version {TARGETS_FORMAT}); "
                    "generate_jets(..., targets=True) regenerates it (the same jets)")
            _require(path, f.keys(), TARGET_KEYS)
        p4 = f["constituents"][rows, slice(None, max_constituents)]
        if p4.ndim != 3 or p4.shape[-1] != 4:
            raise JetFileError(f"{path}: 'constituents' must be (N, M, 4), got {p4.shape}")
        jet = tuple(f[k][rows] for k in ("jet_pt", "jet_eta", "jet_phi", "jet_m"))
        labels = f["labels"][rows]
        weights = f["weights"][rows] if "weights" in f else None
        extra = {k: np.asarray(f[k][rows], np.float64) for k in TARGET_KEYS} if targets else {}
    out = _finish(p4, labels, jet, weights, min_pt=min_pt, max_constituents=None)
    for k, v in extra.items():
        if v.shape != (len(out["labels"]), 4):
            raise JetFileError(f"{path}: {k!r} must be ({len(out['labels'])}, 4), got {v.shape}")
        out[k] = v
    return out
