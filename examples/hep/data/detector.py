"""A deliberately simple, seedable detector model for jet constituents.

The point of the top-tagging experiment is that a real detector breaks the
Lorentz symmetry of particle-level jets: it has a finite acceptance, a fixed
calorimeter grid in (eta, phi), thresholds and an energy-dependent
resolution, all defined in the lab frame. :func:`apply_detector` reproduces
these four effects, in this order, on the constituents of one jet:

1. **Acceptance**: particles with ``|eta| >= eta_max`` (default 2.5) are lost.
2. **Granularity**: the surviving particles are merged into calorimeter cells
   of ``cell_size x cell_size`` in (eta, phi) (default 0.1 x 0.1). Because
   2*pi is not a multiple of 0.1 the phi axis has ``round(2*pi / cell_size)``
   cells (63 for 0.1, each 0.0997 wide) starting at phi = -pi. A cell's
   four-momentum is *massless*, has the summed *energy* of its particles and
   points to the *cell centre*: ``pT = E / cosh(eta_c)``,
   ``(px, py, pz) = pT * (cos phi_c, sin phi_c, sinh eta_c)``. This is the
   usual calorimeter-tower convention: the cell measures energy, not
   momentum, and its position is only known to the cell size.
3. **Energy smearing**: each cell energy is multiplied by ``1 + r * z`` with
   ``z ~ N(0, 1)`` and relative resolution
   ``r = sqrt((stochastic / sqrt(E))**2 + constant**2)`` (default 50 %/sqrt(E)
   (+) 5 %, E in GeV). Cells smeared to a non-positive energy are dropped.
4. **Threshold**: cells with smeared ``pT < pt_min`` (default 0.5 GeV) are
   dropped.

Optionally (``response > 0``; off by default, so the default detector and its cache key
are those of earlier versions) a **non-compensating calorimeter**: before the smearing, each
cell's energy is multiplied by ``R(E) = 1 - response * (E / 1 GeV) ** -response_power``,
a response below one that rises with the cell energy, as that of hadron calorimeters does
(e/h > 1). The measured jet then underestimates the energy by an amount that depends on how
the jet's energy is shared among its cells: what a jet calibration (``jet_regression.py``)
has to learn.

All four-vectors are ``(E, px, py, pz)`` in GeV. Randomness comes only from
the ``numpy.random.Generator`` passed in, so results are reproducible.
``detector="none"`` (or ``None``) makes :func:`apply_detector` the identity.

The module also holds two small helpers shared by the generator and the
loaders: :func:`kinematics` and :func:`drop_soft`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

__all__ = ["DetectorConfig", "apply_detector", "kinematics", "drop_soft", "resolve_detector"]


@dataclass(frozen=True)
class DetectorConfig:
    """Parameters of the simple detector (see the module docstring).

    Attributes:
        eta_max: constituent acceptance, ``|eta| < eta_max``.
        pt_min: threshold on the smeared cell pT, GeV.
        cell_size: calorimeter cell size in eta and (approximately) phi.
        stochastic: stochastic term ``a`` of ``sigma_E / E = a / sqrt(E) (+) b``.
        constant: constant term ``b``.
        response: amplitude ``a`` of the non-compensating response
            ``R(E) = 1 - a (E / GeV)^-p`` (0: off, the default).
        response_power: its power ``p``.
    """

    eta_max: float = 2.5
    pt_min: float = 0.5
    cell_size: float = 0.1
    stochastic: float = 0.5
    constant: float = 0.05
    response: float = 0.0
    response_power: float = 0.15

    def __post_init__(self) -> None:
        if self.eta_max <= 0 or self.cell_size <= 0:
            raise ValueError("eta_max and cell_size must be positive")
        if self.pt_min < 0 or self.stochastic < 0 or self.constant < 0:
            raise ValueError("pt_min, stochastic and constant must be non-negative")
        if not 0 <= self.response < 1 or self.response_power < 0:
            raise ValueError(f"need 0 <= response < 1 and response_power >= 0, got "
                             f"{self.response}, {self.response_power}")

    def to_dict(self) -> dict:
        """The fields; without the response ones when it is off (the cache key of a detector
        without a calorimeter response is the one it had before the option existed)."""
        out = dataclasses.asdict(self)
        if self.response == 0:
            out.pop("response")
            out.pop("response_power")
        return out


def resolve_detector(detector: DetectorConfig | str | None) -> DetectorConfig | None:
    """Map ``"none"``/``None`` to ``None``; pass a :class:`DetectorConfig` through."""
    if detector is None or (isinstance(detector, str) and detector.lower() == "none"):
        return None
    if isinstance(detector, DetectorConfig):
        return detector
    raise TypeError(f"detector must be a DetectorConfig, 'none' or None, got {detector!r}")


def kinematics(p4: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(pt, eta, phi, m)`` of four-vectors ``(..., 4)`` = (E, px, py, pz).

    ``eta`` is the pseudorapidity (0 where pT = 0); ``m`` is
    ``sqrt(max(m^2, 0))`` so that rounding never yields NaN.
    """
    p4 = np.asarray(p4, dtype=np.float64)
    e, px, py, pz = p4[..., 0], p4[..., 1], p4[..., 2], p4[..., 3]
    pt = np.hypot(px, py)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.where(pt > 0, np.arcsinh(pz / np.where(pt > 0, pt, 1.0)), 0.0)
    phi = np.arctan2(py, px)
    m = np.sqrt(np.maximum(e * e - px * px - py * py - pz * pz, 0.0))
    return pt, eta, phi, m


def drop_soft(p4: np.ndarray, min_pt: float = 1e-3) -> np.ndarray:
    """Zero constituents with ``pT < min_pt`` (GeV) and re-sort by decreasing pT.

    Works on one jet ``(M, 4)`` or a batch ``(N, M, 4)``; padding (all-zero
    rows) stays at the end. Returns a new array of the input dtype.
    """
    p4 = np.array(p4, copy=True)
    pt = np.hypot(p4[..., 1].astype(np.float64), p4[..., 2].astype(np.float64))
    soft = pt < min_pt
    p4[soft] = 0
    pt[soft] = 0.0
    order = np.argsort(-pt, axis=-1, kind="stable")
    return np.take_along_axis(p4, order[..., None], axis=-2)


def apply_detector(
    p4: np.ndarray, config: DetectorConfig | str | None, rng: np.random.Generator
) -> np.ndarray:
    """Apply the detector model to the constituents ``(M, 4)`` of one jet.

    Args:
        p4: particle-level constituents (E, px, py, pz) in GeV, any order;
            all-zero rows are ignored.
        config: a :class:`DetectorConfig`, or ``"none"``/``None`` for identity.
        rng: source of the smearing randomness.

    Returns:
        float64 array ``(K, 4)`` of detector-level constituents (massless
        cells) sorted by decreasing pT; ``K`` may be 0. With ``config="none"``
        a float64 copy of the input, unchanged.
    """
    cfg = resolve_detector(config)
    p4 = np.asarray(p4, dtype=np.float64).reshape(-1, 4)
    if cfg is None:
        return p4.copy()
    pt, eta, phi, _ = kinematics(p4)
    keep = (pt > 0) & (np.abs(eta) < cfg.eta_max)
    if not keep.any():
        return np.zeros((0, 4))
    energy, eta, phi = p4[keep, 0], eta[keep], phi[keep]

    # Granularity: integer cell indices, then sum energies per occupied cell.
    n_phi = max(1, round(2 * np.pi / cfg.cell_size))
    dphi = 2 * np.pi / n_phi
    i_eta = np.floor(eta / cfg.cell_size).astype(np.int64)
    i_phi = np.floor((phi + np.pi) / dphi).astype(np.int64) % n_phi
    cells, inverse = np.unique(i_eta * n_phi + i_phi, return_inverse=True)
    cell_e = np.bincount(inverse.ravel(), weights=energy, minlength=len(cells))
    eta_c = (np.floor_divide(cells, n_phi) + 0.5) * cfg.cell_size
    phi_c = -np.pi + (np.mod(cells, n_phi) + 0.5) * dphi

    # Non-compensating response (optional): R(E) = 1 - a (E / GeV)^-p, before the smearing.
    if cfg.response > 0:
        cell_e = cell_e * (1.0 - cfg.response * np.maximum(cell_e, 1e-3) ** -cfg.response_power)
        cell_e = np.maximum(cell_e, 0.0)

    # Energy smearing (cells with E <= 0 after smearing are lost).
    with np.errstate(divide="ignore"):
        rel = np.sqrt(cfg.stochastic**2 / cell_e + cfg.constant**2)
    rel = np.where(cell_e > 0, rel, 0.0)  # a cell the response took to zero stays zero (lost)
    cell_e = cell_e * (1.0 + rel * rng.standard_normal(len(cell_e)))

    cell_pt = np.where(cell_e > 0, cell_e, 0.0) / np.cosh(eta_c)
    keep = (cell_e > 0) & (cell_pt >= cfg.pt_min)
    cell_e, cell_pt, eta_c, phi_c = cell_e[keep], cell_pt[keep], eta_c[keep], phi_c[keep]
    out = np.stack(
        [cell_e, cell_pt * np.cos(phi_c), cell_pt * np.sin(phi_c), cell_pt * np.sinh(eta_c)],
        axis=-1,
    )
    return out[np.argsort(-cell_pt, kind="stable")]
