"""N-body models and the ways they are trained.

* ``layers``: packing ``(B, N, 7)`` inputs, dense message passing (the paper's ``GCL``);
* ``gnn``: the EGNN paper's non-equivariant :class:`GNN` baseline;
* ``egnn``: the paper's :class:`EGNN` with its velocity update (written here) and
  :class:`FieldEGNN`, given the external field as an input;
* ``methods``: :class:`Method` (a model, a penalty or none, augmentation or not), the mixed
  representation ``IN_REP = Point() + Vector() + Scalar()`` and the study's methods.
"""

from .egnn import EGNN, FieldEGNN, field_force
from .gnn import GNN
from .layers import pack, unpack
from .methods import IN_REP, METHODS, OUT_REP, Method, field_subgroup

__all__ = ["GNN", "EGNN", "FieldEGNN", "field_force", "pack", "unpack", "Method", "METHODS",
           "IN_REP", "OUT_REP", "field_subgroup"]
