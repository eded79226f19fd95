"""Charged particles in 3-D, float64 numpy: Coulomb forces, an optional external field,
velocity Verlet.

The physics is the one of the EGNN paper's N-body set-up (Satorras, Hoogeboom, Welling 2021,
§5.1, whose simulator derives from the charged-particles system of Kipf et al. 2018, NRI):
unit masses, charges ``q = ±1``, pairwise force on ``i`` from ``j``
``q_i q_j (x_i − x_j) / |x_i − x_j|³`` (like charges repel), time step ``DT = 1e-3``, total
interaction force on a particle clipped at ``MAX_FORCE = 0.1 / DT``. Written here from that
description; what differs from the public code (clipping, integrator) is said where it is done.

External field of strength ``ε`` (``field=``):

* ``"uniform"``: force ``q ε ẑ`` (an electric field along z): rotations about z and every
  translation still commute with the dynamics, other rotations do not;
* ``"trap"``: force ``−ε x`` (a harmonic trap about the origin, charge independent): every
  rotation about the origin still commutes, translations do not.
"""

from __future__ import annotations

import functools
import math
import numbers

import numpy as np

__all__ = ["DT", "MAX_FORCE", "FIELDS", "simulate", "integrate", "forces", "field_force",
           "energy", "momentum"]

DT = 1e-3
MAX_FORCE = 0.1 / DT
FIELDS = (None, "uniform", "trap")


def _check_field(field, strength):
    if field not in FIELDS:
        raise ValueError(f"field must be one of {FIELDS}, got {field!r}")
    if isinstance(strength, bool) or not isinstance(strength, numbers.Real):
        raise TypeError(f"strength must be a real number >= 0, got {type(strength).__name__} "
                        f"{strength!r}")
    if not (math.isfinite(strength) and strength >= 0):
        raise ValueError(f"strength must be a finite number >= 0, got {strength!r}")
    return float(strength)


def _check_state(pos, vel, charge):
    """Validate and batch: returns ``(pos (B, N, 3), vel (B, N, 3), charge (B, N), batched)``."""
    for name, a in (("pos", pos), ("vel", vel), ("charge", charge)):
        if not isinstance(a, np.ndarray) or a.dtype != np.float64:
            got = a.dtype if isinstance(a, np.ndarray) else type(a).__name__
            raise TypeError(f"{name} must be a numpy float64 array, got {got}")
    if pos.ndim not in (2, 3) or pos.shape[-1] != 3:
        raise ValueError(f"pos must have shape (N, 3) or (B, N, 3), got {pos.shape}")
    if vel.shape != pos.shape:
        raise ValueError(f"vel must have the shape of pos {pos.shape}, got {vel.shape}")
    if charge.shape != pos.shape[:-1]:
        raise ValueError(f"charge must have shape {pos.shape[:-1]} (pos without its last "
                         f"axis), got {charge.shape}")
    batched = pos.ndim == 3
    if not batched:
        pos, vel, charge = pos[None], vel[None], charge[None]
    return pos, vel, charge, batched


@functools.cache
def _pairs(n):
    """Pair indices ``i < j`` and the ``(pairs, n)`` incidence matrix (+1 at i, -1 at j)."""
    i, j = np.triu_indices(n, 1)
    incidence = np.zeros((len(i), n))
    incidence[np.arange(len(i)), i] = 1.0
    incidence[np.arange(len(i)), j] = -1.0
    return i, j, incidence


def field_force(pos, charge, field=None, strength=0.0):
    """The external force on each particle, same shape as ``pos``."""
    if field is None or strength == 0.0:
        return np.zeros_like(pos)
    if field == "uniform":
        out = np.zeros_like(pos)
        out[..., 2] = strength * charge
        return out
    return -strength * pos


def forces(pos, charge, field=None, strength=0.0, max_force=MAX_FORCE):
    """Total force on each particle ``(B, N, 3)``: Coulomb (clipped) plus the external field.

    The public simulator clips each Cartesian component of the interaction force at
    ``±max_force``; that is not rotation covariant (a force of norm 150 along x is cut to 100,
    the same force along the diagonal is not), so here the interaction force on a particle is
    clipped by its norm: ``F → F · min(1, max_force / |F|)``, which commutes with rotations.
    ``max_force=None`` disables clipping (then Newton's third law, hence momentum
    conservation, holds exactly). The field force is never clipped.
    """
    i, j, incidence = _pairs(pos.shape[1])
    diff = pos[:, i] - pos[:, j]                               # x_i - x_j over pairs i < j
    r2 = (diff * diff).sum(-1)
    scale = charge[:, i] * charge[:, j] / (r2 * np.sqrt(r2))
    # pair force on i is +scale·diff, on j its opposite (Newton's third law, exactly)
    f = np.einsum("bpd,pk->bkd", scale[..., None] * diff, incidence)
    if max_force is not None:
        norm = np.sqrt((f * f).sum(-1, keepdims=True))
        f = f * np.minimum(1.0, max_force / np.maximum(norm, 1e-300))
    return f + field_force(pos, charge, field, strength)


def integrate(pos, vel, charge, steps, dt, *, field=None, strength=0.0, max_force=MAX_FORCE):
    """Velocity Verlet (kick–drift–kick) on batched, validated arrays; returns new arrays.

    Second order, symplectic and time reversible; positions and velocities are reported at the
    same time. (The public simulator kicks with a full step ``dt`` before its first drift and
    then alternates drift/kick: symplectic Euler, whose stored velocities lag the positions by
    half a step.)
    """
    pos, vel = pos.copy(), vel.copy()
    f = forces(pos, charge, field, strength, max_force)
    for _ in range(steps):
        vel += 0.5 * dt * f
        pos += dt * vel
        f = forces(pos, charge, field, strength, max_force)
        vel += 0.5 * dt * f
    return pos, vel


def simulate(pos, vel, charge, steps, *, field=None, strength=0.0, max_force=MAX_FORCE):
    """Advance charged particles by ``steps`` integration steps of ``DT`` (the dataset's).

    Args:
        pos, vel: numpy float64 ``(N, 3)`` or batched ``(B, N, 3)``.
        charge: numpy float64 ``(N,)`` or ``(B, N)``.
        steps: integer >= 0.
        field: ``None``, ``"uniform"`` (force ``q ε ẑ``) or ``"trap"`` (force ``−ε x``).
        strength: ``ε``, a finite number >= 0.
        max_force: norm at which the interaction force on a particle is clipped (``None``: no
            clipping).

    Returns:
        ``(pos, vel)`` after ``steps * DT`` time units, shaped as the inputs.
    """
    strength = _check_field(field, strength)
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 0:
        raise TypeError(f"steps must be an integer >= 0, got {type(steps).__name__} {steps!r}")
    if max_force is not None and not (isinstance(max_force, numbers.Real)
                                      and math.isfinite(max_force) and max_force > 0):
        raise ValueError(f"max_force must be None or a finite number > 0, got {max_force!r}")
    p, v, q, batched = _check_state(pos, vel, charge)
    p, v = integrate(p, v, q, int(steps), DT, field=field, strength=strength,
                     max_force=max_force)
    return (p, v) if batched else (p[0], v[0])


def energy(pos, vel, charge, field=None, strength=0.0):
    """Total energy per system ``(B,)`` (or a float for one system): kinetic, Coulomb and the
    field's potential (``−ε Σ q z`` uniform, ``ε Σ |x|² / 2`` trap). Unclipped dynamics
    conserve it."""
    strength = _check_field(field, strength)
    p, v, q, batched = _check_state(pos, vel, charge)
    kinetic = 0.5 * (v * v).sum((-1, -2))
    diff = p[:, :, None, :] - p[:, None, :, :]
    r = np.sqrt((diff * diff).sum(-1))
    iu = np.triu_indices(p.shape[1], 1)
    coulomb = (q[:, :, None] * q[:, None, :] / np.where(r > 0, r, np.inf))[:, iu[0], iu[1]]
    total = kinetic + coulomb.sum(-1)
    if field == "uniform":
        total = total - strength * (q * p[..., 2]).sum(-1)
    elif field == "trap":
        total = total + 0.5 * strength * (p * p).sum((-1, -2))
    return total if batched else float(total[0])


def momentum(vel):
    """Total momentum ``Σ v`` (unit masses), ``(..., 3)``."""
    return np.asarray(vel).sum(-2)
