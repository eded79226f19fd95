"""What is trained: a model, a penalty (or none), augmentation (or not).

The inputs are one mixed representation of E(3), ``IN_REP = Point() + Vector() + Scalar()``
acting on the packed ``(B, N, 7)`` tensor: positions are points (``x → R x + t``),
velocities free vectors (``v → R v``), charges scalars; the output positions are points.
liesoft's :class:`~liesoft.Sum` applies each summand's own action (affine ones included)
to its slice of the last axis, so GSEAL and δSEAL need nothing N-body specific.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from liesoft import E3, GSEAL, DeltaSEAL, Point, Scalar, Vector

from .egnn import EGNN, FieldEGNN
from .gnn import GNN

__all__ = ["IN_REP", "OUT_REP", "Method", "METHODS", "field_subgroup"]

IN_REP = Point() + Vector() + Scalar()
OUT_REP = Point()


def field_subgroup(field):
    """The subgroup of E(3) a field leaves, by liesoft's stabiliser API on homogeneous
    vectors: ``"uniform"`` fixes the direction ``(0, 0, 1, 0)`` (rotations about z, every
    translation), ``"trap"`` the origin ``(0, 0, 0, 1)`` (rotations about it); ``None``: E(3)."""
    group = E3()
    if field is None:
        return group
    spurion = {"uniform": [0.0, 0.0, 1.0, 0.0], "trap": [0.0, 0.0, 0.0, 1.0]}[field]
    return group.stabilizer(torch.tensor(spurion, dtype=torch.float64))


@dataclass(frozen=True)
class Method:
    """``build(field, strength)`` -> model; ``penalty(field)`` -> a liesoft penalty or ``None``;
    ``augment``: a random E(3) element applied to inputs and targets at every step."""

    name: str
    build: Callable
    penalty: Callable = lambda field: None
    augment: bool = False
    description: str = ""


def _gnn(field, strength):
    return GNN()


METHODS = {m.name: m for m in (
    Method("baseline", _gnn, description="the paper's GNN"),
    Method("gseal", _gnn, lambda field: GSEAL(E3(), IN_REP, OUT_REP),
           description="GNN + GSEAL under E(3)"),
    Method("dseal", _gnn, lambda field: DeltaSEAL(E3(), IN_REP, OUT_REP),
           description="GNN + δSEAL under E(3)"),
    Method("gseal_sub", _gnn, lambda field: GSEAL(field_subgroup(field), IN_REP, OUT_REP),
           description="GNN + GSEAL on the subgroup the field leaves (breaking known)"),
    Method("augment", _gnn, augment=True, description="GNN + random E(3) augmentation"),
    Method("egnn", lambda field, strength: EGNN(), description="exact EGNN"),
    Method("egnn_field", lambda field, strength: FieldEGNN(field, strength),
           description="exact EGNN given the field as an input"),
)}
