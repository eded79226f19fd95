"""Generate top and QCD jets with Pythia 8 and cache them as HDF5.

Physics (see :func:`generate_jets` for the options):

* pp collisions at sqrt(s) = 14 TeV (``Beams:eCM`` set explicitly), Pythia 8
  (``pythia8mc`` wheels). Signal: ``Top:qqbar2ttbar`` and ``Top:gg2ttbar``
  with the W forced to decay hadronically (``24:onIfAny = 1 2 3 4 5``).
  Background: ``HardQCD:all``. Multi-parton interactions are off unless
  ``mpi=True``. Each chunk of work has its own ``Random:seed``.
* ``PhaseSpace:pTHatMin/Max`` bracket the jet-pT window by a margin of
  ``max(50 GeV, 8 % of the lower edge)`` on each side (500-700 GeV for the
  default 550-650 GeV window).
* Jets: anti-kt, R = 0.8, from all visible final-state particles (no
  neutrinos), with Pythia's ``SlowJet`` (which runs the bundled fjcore, i.e.
  FastJet: please cite FastJet, EPJC72(2012)1896, when you publish; its
  start-up banner is silenced here). Constituents with pT < 1 MeV
  (``min_constituent_pt``) are dropped.
* Only the **two leading particle-level jets** of each event are candidates,
  for top and QCD alike, and only if their particle-level pT is above
  0.9 ``pt_min`` and below 1.25 ``pt_max`` (and rapidity below ``eta_max + 1``),
  a pre-selection far looser than the detector's effect on a jet. The
  detector model (:mod:`.detector`) is applied to a candidate's constituents,
  the jet is re-formed as the sum of the detector-level constituents, and the
  window ``pt_min <= pT <= pt_max``, ``|eta| < eta_max`` is applied to that
  detector-level jet.
* A top jet must contain, within Delta R(eta, phi) < 0.8 of its axis, the
  quark from the top decay (the b) and both quarks from the W decay; they are
  read from the event record (last copy of each top -> its daughters -> last
  copy of the W -> its daughters). Both tops of an event may give a jet.
* ``wide_pt=True`` (default window 350-3000 GeV) splits the window into
  ``n_pt_bins`` equal jet-pT bins, generates each with its own pTHat range
  and accepts an equal number of jets per bin, in that bin's jet-pT range:
  the union covers the whole window and the pT spectrum is flat at the level
  of the bins.

Output: one HDF5 file per setting in a cache directory, written atomically,
with datasets ``constituents`` (N, 200, 4) float32 (E, px, py, pz) in GeV,
pT-ordered and zero-padded; ``labels`` (N,) int8 (1 = top); ``jet_pt``,
``jet_eta``, ``jet_phi``, ``jet_m`` (float32, the detector-level jet = sum of
*all* its constituents, also those beyond the 200 stored); ``n_constituents``
(int16, number stored); the regression targets (format 2) ``particle_jet_p4`` (N, 4) float64,
the particle-level jet four-momentum (E, px, py, pz) = the sum of the particle-level
constituents the detector model was given (the jet's visible particles with pT >=
``min_constituent_pt``), and ``top_p4`` (N, 4) float64, for a top jet the four-momentum of
the top quark whose three quarks it contains (last copy in the event record), NaN for QCD.
Attributes hold the settings, seeds and versions, ``format_version`` among them. The cache
key (the file name) identifies the *jets*: format 2 added datasets to the same jets (same
seeds, same detector draws), so it kept the key of format 1 (``KEY_VERSION``), and
``generate_jets(..., targets=True)`` regenerates a cached file of format 1 in place (the same
jets, now with the targets); ``loaders.load_generated(..., targets=True)`` refuses one.

Work is split into chunks of at most ``chunk_size`` jets of one class and one
pT bin, each with a seed derived from ``seed``; the output therefore does not
depend on the number of worker processes.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import multiprocessing as mp
import os
import pathlib
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

import h5py
import numpy as np

try:  # package import (python -m examples.hep.data.jetgen, or from a script)
    from .detector import DetectorConfig, apply_detector, kinematics, resolve_detector
except ImportError:  # pragma: no cover - run as a plain script
    from detector import DetectorConfig, apply_detector, kinematics, resolve_detector

__all__ = ["generate_jets", "cache_path", "file_format", "DetectorConfig"]

FORMAT_VERSION = 2  # what a file holds; 2 added particle_jet_p4 and top_p4
KEY_VERSION = 1  # the version the cache key hashes: bump it when the jets themselves change
TARGETS_FORMAT = 2  # the first format with the regression targets
E_CM = 14000.0
JET_R = 0.8
MATCH_DR = 0.8
JETS_PER_EVENT = 2
MAX_CONSTITUENTS = 200
NARROW_WINDOW = (550.0, 650.0)
WIDE_WINDOW = (350.0, 3000.0)
DEFAULT_CACHE = pathlib.Path("~/.cache/liesoft/jets")
_CLASSES = {"top": 1, "qcd": 0}
DEFAULT_DETECTOR = DetectorConfig()


@dataclass(frozen=True)
class _Task:
    """One unit of work: ``n_jets`` jets of one class in one pT bin."""

    label: int
    n_jets: int
    jet_pt: tuple[float, float]
    pthat: tuple[float, float]
    eta_max: float
    mpi: bool
    detector: DetectorConfig | None
    min_constituent_pt: float
    pythia_seed: int
    detector_seed: tuple[int, ...]


# --------------------------------------------------------------------------- settings


def _pthat_range(lo: float, hi: float) -> tuple[float, float]:
    margin = max(50.0, 0.08 * lo)
    return (max(lo - margin, 10.0), hi + margin)


def _pt_bins(pt_min: float, pt_max: float, wide_pt: bool, n_bins: int) -> list[tuple[float, float]]:
    if not wide_pt:
        return [(pt_min, pt_max)]
    edges = np.linspace(pt_min, pt_max, n_bins + 1)
    return [(float(a), float(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def _versions() -> dict:
    import pythia8mc

    try:
        from importlib.metadata import version

        pythia_version = version("pythia8mc")
    except Exception:  # pragma: no cover
        pythia_version = str(pythia8mc.Pythia("", False).settings.parm("Pythia:versionNumber"))
    return {"pythia8mc": pythia_version, "numpy": np.__version__, "h5py": h5py.__version__}


def _settings(**kw) -> dict:
    det = resolve_detector(kw.pop("detector"))
    kw["detector"] = None if det is None else det.to_dict()
    kw["format_version"] = FORMAT_VERSION
    kw["pythia8mc"] = _versions()["pythia8mc"]
    kw.update(
        e_cm=E_CM,
        jet_r=JET_R,
        match_dr=MATCH_DR,
        jets_per_event=JETS_PER_EVENT,
        max_constituents=MAX_CONSTITUENTS,
    )
    return kw


def _settings_hash(settings: dict) -> str:
    keyed = dict(settings, format_version=KEY_VERSION)  # the jets, not the file's layout
    blob = json.dumps(keyed, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def _make_tasks(settings: dict) -> list[_Task]:
    s = settings
    det = None if s["detector"] is None else DetectorConfig(**s["detector"])
    bins = _pt_bins(s["pt_min"], s["pt_max"], s["wide_pt"], s["n_pt_bins"])
    tasks = []
    for cls, label in _CLASSES.items():
        n_total = s[f"n_{cls}"]
        per_bin = [n_total // len(bins) + (i < n_total % len(bins)) for i in range(len(bins))]
        for b, ((lo, hi), n_bin) in enumerate(zip(bins, per_bin, strict=True)):
            for c in range(math.ceil(n_bin / s["chunk_size"])):
                n = min(s["chunk_size"], n_bin - c * s["chunk_size"])
                key = [s["seed"], label, b, c]
                pythia_seed = int(np.random.SeedSequence(key).generate_state(1)[0]) % 900_000_000
                tasks.append(
                    _Task(
                        label,
                        n,
                        (lo, hi),
                        _pthat_range(lo, hi),
                        s["eta_max"],
                        s["mpi"],
                        det,
                        s["min_constituent_pt"],
                        pythia_seed + 1,
                        tuple(key + [1]),
                    )
                )
    return tasks


# --------------------------------------------------------------------------- generation


def _pythia_settings(task: _Task) -> list[str]:
    lines = [
        f"Beams:eCM = {E_CM}",
        f"PhaseSpace:pTHatMin = {task.pthat[0]}",
        f"PhaseSpace:pTHatMax = {task.pthat[1]}",
        f"PartonLevel:MPI = {'on' if task.mpi else 'off'}",
        "Print:quiet = on",
        "Next:numberCount = 0",
        "Random:setSeed = on",
        f"Random:seed = {task.pythia_seed}",
    ]
    if task.label == 1:
        lines += [
            "Top:qqbar2ttbar = on",
            "Top:gg2ttbar = on",
            "24:onMode = off",
            "24:onIfAny = 1 2 3 4 5",
        ]
    else:
        lines += ["HardQCD:all = on"]
    return lines


@contextlib.contextmanager
def _silence_stdout_fd() -> Iterator[None]:
    """Silence C++ writes to file descriptor 1 (fjcore's banner)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _hadronic_tops(event) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each hadronically decaying top of the event: the (eta, phi) of [b, q, q'] ``(3, 2)``
    and the four-momentum (E, px, py, pz) of the top's last copy ``(4,)``."""
    out = []
    hard = [5, 6] if event.size() > 6 else []
    if not all(event[i].idAbs() == 6 for i in hard):  # not a plain 2 -> 2: scan
        hard = [
            i for i in range(event.size()) if event[i].idAbs() == 6 and event[i].status() == -22
        ]
    for i in hard:
        top = event[event[i].iBotCopyId()]
        daughters = [event[d] for d in top.daughterList()]
        ws = [d for d in daughters if d.idAbs() == 24]
        quarks = [d for d in daughters if d.isQuark()]
        if len(ws) != 1 or len(quarks) != 1:
            continue
        w = event[ws[0].iBotCopyId()]
        w_quarks = [event[d] for d in w.daughterList() if event[d].isQuark()]
        if len(w_quarks) != 2:
            continue
        partons = np.array([[p.eta(), p.phi()] for p in (quarks[0], *w_quarks)])
        out.append((partons, np.array([top.e(), top.px(), top.py(), top.pz()], np.float64)))
    return out


def _top_partons(event) -> list[np.ndarray]:
    """(eta, phi) of [b, q, q'] for each hadronically decaying top of the event."""
    return [partons for partons, _ in _hadronic_tops(event)]


def _delta_r(eta1, phi1, eta2, phi2):
    dphi = np.mod(np.asarray(phi1) - phi2 + np.pi, 2 * np.pi) - np.pi
    return np.hypot(np.asarray(eta1) - eta2, dphi)


def _matching_top(tops, jet_eta, jet_phi, r=MATCH_DR) -> int | None:
    """Index of the first top of ``tops`` (``(3, 2)`` arrays of the (eta, phi) of b, q, q')
    whose three quarks all lie within Delta R < ``r`` of the jet axis; None if there is none."""
    for k, t in enumerate(tops):
        if bool(np.all(_delta_r(t[:, 0], t[:, 1], jet_eta, jet_phi) < r)):
            return k
    return None


def _contains_all(tops, jet_eta, jet_phi, r=MATCH_DR) -> bool:
    """Whether, for at least one top of ``tops`` (``_top_partons``: ``(3, 2)`` arrays of the
    (eta, phi) of b, q, q'), all three quarks lie within Delta R < ``r`` of the jet axis."""
    return _matching_top(tops, jet_eta, jet_phi, r) is not None


def _run_task(task: _Task, counter=None) -> dict:
    """Generate ``task.n_jets`` accepted jets; returns arrays for this chunk."""
    import pythia8mc

    pythia = pythia8mc.Pythia("", False)
    for line in _pythia_settings(task):
        if not pythia.readString(line):
            raise RuntimeError(f"Pythia rejected setting {line!r}")
    if not pythia.init():
        raise RuntimeError("Pythia initialisation failed")
    # select = 2: visible final-state particles; massSet = 2: keep masses.
    slowjet = pythia8mc.SlowJet(-1, JET_R, 0.9 * task.jet_pt[0], 10.0, 2, 2)
    rng = np.random.default_rng(np.random.SeedSequence(list(task.detector_seed)))
    const = np.zeros((task.n_jets, MAX_CONSTITUENTS, 4), np.float32)
    jets = np.zeros((task.n_jets, 4), np.float64)  # pt, eta, phi, m
    n_const = np.zeros(task.n_jets, np.int16)
    particle_jet = np.zeros((task.n_jets, 4), np.float64)  # E, px, py, pz before the detector
    top_p4 = np.full((task.n_jets, 4), np.nan)  # the contained top quark (NaN for QCD)
    n_acc = n_events = 0
    n_window = n_uncontained = 0  # top candidates in the window; of those, not contained
    first = True
    while n_acc < task.n_jets:
        if n_acc == 0 and n_events >= 20_000:
            raise RuntimeError(f"no jet accepted in {n_events} events: check the window {task}")
        if not pythia.next():
            continue
        n_events += 1
        event = pythia.event
        if first:
            with _silence_stdout_fd():
                slowjet.analyze(event)
            first = False
        else:
            slowjet.analyze(event)
        tops = _hadronic_tops(event) if task.label == 1 else None
        n_new = 0
        for j in range(min(JETS_PER_EVENT, slowjet.sizeJet())):
            if n_acc >= task.n_jets:
                break
            # Cheap pre-selection on the particle-level jet, with margins far
            # wider than the detector's effect on a jet (a few per cent).
            if slowjet.pT(j) > 1.25 * task.jet_pt[1] or abs(slowjet.y(j)) > task.eta_max + 1:
                continue
            parts = [event[i] for i in slowjet.constituents(j)]
            p4 = np.array([[p.e(), p.px(), p.py(), p.pz()] for p in parts])
            p4 = p4[np.hypot(p4[:, 1], p4[:, 2]) >= task.min_constituent_pt]
            truth = p4.sum(axis=0)  # the particle-level jet (what the detector is given)
            p4 = apply_detector(p4, task.detector, rng)
            if task.detector is not None:  # the cell pT threshold may be < 1 MeV
                p4 = p4[np.hypot(p4[:, 1], p4[:, 2]) >= task.min_constituent_pt]
            if len(p4) == 0:
                continue
            pt, eta, phi, m = kinematics(p4.sum(axis=0))
            if not (task.jet_pt[0] <= pt <= task.jet_pt[1] and abs(eta) < task.eta_max):
                continue
            n_window += 1
            if tops is not None:
                k = _matching_top([t for t, _ in tops], eta, phi)
                if k is None:
                    n_uncontained += 1
                    continue
                top_p4[n_acc] = tops[k][1]
            order = np.argsort(-np.hypot(p4[:, 1], p4[:, 2]), kind="stable")[:MAX_CONSTITUENTS]
            const[n_acc, : len(order)] = p4[order]
            n_const[n_acc] = len(order)
            jets[n_acc] = (pt, eta, phi, m)
            particle_jet[n_acc] = truth
            n_acc += 1
            n_new += 1
        if counter is not None and n_new:
            counter(n_new)
    return {
        "constituents": const,
        "jets": jets,
        "n_constituents": n_const,
        "particle_jet_p4": particle_jet,
        "top_p4": top_p4,
        "labels": np.full(task.n_jets, task.label, np.int8),
        "n_events": n_events,
        "n_in_window": n_window,
        "n_uncontained": n_uncontained,
    }


_SHARED_COUNTER = None


def _init_worker(counter) -> None:
    global _SHARED_COUNTER
    _SHARED_COUNTER = counter


def _count(n: int) -> None:
    with _SHARED_COUNTER.get_lock():
        _SHARED_COUNTER.value += n


def _run_task_in_pool(task: _Task) -> dict:
    return _run_task(task, _count)


def _run_all(tasks: list[_Task], workers: int, progress: bool) -> list[dict]:
    from tqdm.auto import tqdm

    total = sum(t.n_jets for t in tasks)
    with tqdm(total=total, unit="jet", desc="generating jets", disable=not progress) as bar:
        if workers <= 1:
            return [_run_task(t, bar.update) for t in tasks]
        ctx = mp.get_context("spawn")  # no fork: the caller may hold threads (torch)
        counter = ctx.Value("q", 0)
        with ctx.Pool(workers, initializer=_init_worker, initargs=(counter,)) as pool:
            # Longest tasks (tops) first for better load balance; keep result order.
            order = sorted(range(len(tasks)), key=lambda i: (-tasks[i].label, -tasks[i].n_jets))
            pending = {i: pool.apply_async(_run_task_in_pool, (tasks[i],)) for i in order}
            while not all(r.ready() for r in pending.values()):
                for r in pending.values():
                    if r.ready() and not r.successful():
                        r.get()  # re-raise a worker's exception at once
                time.sleep(0.2)
                bar.update(counter.value - bar.n)
            results = [pending[i].get() for i in range(len(tasks))]
            bar.update(total - bar.n)
            return results


# --------------------------------------------------------------------------- output


@contextlib.contextmanager
def _atomic_h5(path: pathlib.Path) -> Iterator[h5py.File]:
    """Write an HDF5 file to a temporary name in the same directory, then rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    os.close(fd)
    try:
        with h5py.File(tmp, "w") as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def _write(
    path: pathlib.Path, results: list[dict], tasks: list[_Task], settings: dict, seconds: float
) -> None:
    const = np.concatenate([r["constituents"] for r in results])
    jets = np.concatenate([r["jets"] for r in results])
    n_const = np.concatenate([r["n_constituents"] for r in results])
    labels = np.concatenate([r["labels"] for r in results])
    perm = np.random.default_rng(settings["seed"]).permutation(len(labels))
    with _atomic_h5(path) as f:
        chunks = (min(len(labels), 1024), MAX_CONSTITUENTS, 4) if len(labels) else None
        f.create_dataset(
            "constituents", data=const[perm], chunks=chunks, compression="gzip", compression_opts=4
        )
        f.create_dataset("labels", data=labels[perm])
        for i, name in enumerate(("jet_pt", "jet_eta", "jet_phi", "jet_m")):
            f.create_dataset(name, data=jets[perm, i].astype(np.float32))
        f.create_dataset("n_constituents", data=n_const[perm])
        for name in ("particle_jet_p4", "top_p4"):
            f.create_dataset(name, data=np.concatenate([r[name] for r in results])[perm])
        f.attrs["settings"] = json.dumps(settings, sort_keys=True)
        for key, value in settings.items():
            f.attrs[key] = json.dumps(value) if isinstance(value, dict | type(None)) else value
        f.attrs["pythia_seeds"] = np.array([t.pythia_seed for t in tasks], np.int64)
        f.attrs["events_generated"] = np.array([r["n_events"] for r in results], np.int64)
        # per task: its jet-pT bin, the candidates in the window and (top) those whose three
        # quarks were not all within MATCH_DR (rejected): the containment loss per bin
        f.attrs["task_jet_pt"] = np.array([t.jet_pt for t in tasks], np.float64)
        f.attrs["task_label"] = np.array([t.label for t in tasks], np.int64)
        f.attrs["candidates_in_window"] = np.array(
            [r["n_in_window"] for r in results], np.int64)
        f.attrs["uncontained_top_candidates"] = np.array(
            [r["n_uncontained"] for r in results], np.int64)
        for name, version in _versions().items():
            f.attrs[f"version_{name}"] = version
        f.attrs["generation_seconds"] = seconds


# --------------------------------------------------------------------------- public API


def file_format(path) -> int:
    """The ``format_version`` of a generated file (1 for files without the attribute)."""
    with h5py.File(path, "r") as f:
        return int(f.attrs.get("format_version", 1))


def cache_path(n_top: int, n_qcd: int, *, cache_dir=None, **options) -> pathlib.Path:
    """Path of the cache file :func:`generate_jets` would use (it may not exist)."""
    settings = _settings_for(n_top, n_qcd, **options)
    return _cache_dir(cache_dir) / f"jets_{_settings_hash(settings)}.h5"


def _cache_dir(cache_dir) -> pathlib.Path:
    return pathlib.Path(cache_dir if cache_dir is not None else DEFAULT_CACHE).expanduser()


def _settings_for(
    n_top,
    n_qcd,
    *,
    pt_min=None,
    pt_max=None,
    eta_max=2.0,
    wide_pt=False,
    n_pt_bins=5,
    detector=DEFAULT_DETECTOR,
    mpi=False,
    seed=0,
    min_constituent_pt=1e-3,
    chunk_size=500,
) -> dict:
    if n_top < 0 or n_qcd < 0:
        raise ValueError("n_top and n_qcd must be non-negative")
    default = WIDE_WINDOW if wide_pt else NARROW_WINDOW
    pt_min = float(default[0] if pt_min is None else pt_min)
    pt_max = float(default[1] if pt_max is None else pt_max)
    if not 0 < pt_min < pt_max:
        raise ValueError(f"need 0 < pt_min < pt_max, got {pt_min}, {pt_max}")
    return _settings(
        n_top=int(n_top),
        n_qcd=int(n_qcd),
        pt_min=pt_min,
        pt_max=pt_max,
        eta_max=float(eta_max),
        wide_pt=bool(wide_pt),
        n_pt_bins=int(n_pt_bins) if wide_pt else 1,
        detector=detector,
        mpi=bool(mpi),
        seed=int(seed),
        min_constituent_pt=float(min_constituent_pt),
        chunk_size=int(chunk_size),
    )


def generate_jets(
    n_top: int,
    n_qcd: int,
    *,
    pt_min: float | None = None,
    pt_max: float | None = None,
    eta_max: float = 2.0,
    wide_pt: bool = False,
    n_pt_bins: int = 5,
    detector: DetectorConfig | str | None = DEFAULT_DETECTOR,
    mpi: bool = False,
    seed: int = 0,
    min_constituent_pt: float = 1e-3,
    chunk_size: int = 500,
    workers: int | None = None,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
    targets: bool = False,
) -> pathlib.Path:
    """Generate (or reuse) a shuffled sample of exactly ``n_top`` top and ``n_qcd`` QCD jets.

    Args:
        n_top, n_qcd: number of jets of each class in the file.
        pt_min, pt_max: detector-level jet-pT window in GeV; default 550-650,
            or 350-3000 with ``wide_pt``.
        eta_max: jets must have ``|eta| < eta_max``.
        wide_pt: generate ``n_pt_bins`` equal pT bins with equal numbers of
            jets (flat spectrum) instead of one window.
        detector: a :class:`DetectorConfig` (default: ``DetectorConfig()``), or
            ``"none"`` (or ``None``) for particle-level jets.
        mpi: switch multi-parton interactions on.
        seed: master seed: Pythia seeds, detector smearing and the final
            shuffle all derive from it.
        min_constituent_pt: constituents below this pT (GeV) are dropped.
        chunk_size: jets per work unit (part of the cache key: it changes
            the seeds).
        workers: processes to use, default ``os.cpu_count()``; the result
            does not depend on it.
        cache_dir: directory of the cache, default ``~/.cache/liesoft/jets``.
        progress: show a tqdm progress bar.
        targets: the caller needs the regression targets (format >= 2): a cached file
            of an older format is regenerated in place (same jets, with the targets).

    Returns:
        Path of the HDF5 file; if it already exists for these settings (and holds the
        targets when ``targets``) it is returned without generating anything.

    With ``workers > 1`` the work runs in a "spawn" process pool, so a
    calling script needs the usual ``if __name__ == "__main__":`` guard.
    """
    settings = _settings_for(
        n_top,
        n_qcd,
        pt_min=pt_min,
        pt_max=pt_max,
        eta_max=eta_max,
        wide_pt=wide_pt,
        n_pt_bins=n_pt_bins,
        detector=detector,
        mpi=mpi,
        seed=seed,
        min_constituent_pt=min_constituent_pt,
        chunk_size=chunk_size,
    )
    directory = _cache_dir(cache_dir)
    path = directory / f"jets_{_settings_hash(settings)}.h5"
    if path.exists():
        found = file_format(path)
        if not targets or found >= TARGETS_FORMAT:
            return path
        print(f"{path}: format {found} has no regression targets; regenerating it "
              f"(format {FORMAT_VERSION}, the same jets)", file=sys.stderr, flush=True)
    directory.mkdir(parents=True, exist_ok=True)
    tasks = _make_tasks(settings)
    workers = (os.cpu_count() or 1) if workers is None else int(workers)
    start = time.perf_counter()
    results = _run_all(tasks, max(1, min(workers, len(tasks))), progress)
    _write(path, results, tasks, settings, time.perf_counter() - start)
    return path


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n_top", type=int)
    parser.add_argument("n_qcd", type=int)
    parser.add_argument("--pt-min", type=float)
    parser.add_argument("--pt-max", type=float)
    parser.add_argument("--wide-pt", action="store_true")
    parser.add_argument("--no-detector", action="store_true")
    parser.add_argument("--mpi", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int)
    parser.add_argument("--cache-dir")
    a = parser.parse_args(argv)
    start = time.perf_counter()
    path = generate_jets(
        a.n_top,
        a.n_qcd,
        pt_min=a.pt_min,
        pt_max=a.pt_max,
        wide_pt=a.wide_pt,
        detector="none" if a.no_detector else DEFAULT_DETECTOR,
        mpi=a.mpi,
        seed=a.seed,
        workers=a.workers,
        cache_dir=a.cache_dir,
    )
    print(f"{path}  ({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
