"""E(n)-equivariant GNN with the paper's velocity update (Satorras et al. 2021, eq. 7 and
§5.1's ``EGNN_vel``), written here: ``egnn-pytorch`` (0.2.8) has no velocity term.

Layer ``l`` (``C = 1 / (N − 1)``):

* ``m_ij = φ_e(h_i, h_j, |x_i − x_j|², a_ij)`` with edge attributes ``a_ij = (q_i q_j,
  |x_i⁰ − x_j⁰|²)`` (the input distance, as the paper's code);
* ``x_i ← x_i + C Σ_j (x_i − x_j) φ_x(m_ij) + φ_v(h_i) v_i`` (the velocity update
  ``v^{l+1} = φ_v(h) v⁰ + C Σ …``, ``x^{l+1} = x^l + v^{l+1}``);
* ``h_i ← h_i + φ_h(h_i, Σ_j m_ij)``.

``h⁰`` embeds ``|v_i|``. Invariant features only, coordinates updated by vectors
(differences, velocities): exactly E(3)-equivariant for positions as points, velocities as
vectors, charges as scalars. The public code clamps each Cartesian component of the
coordinate update at ±100 ("never activated"); that clamp is not rotation covariant and is
left out.

:class:`FieldEGNN` is the same network given the external field as an input: the field's
force on each particle at the input frame, ``F_i`` (``q_i ε ẑ`` uniform, ``−ε x_i`` trap;
a vector per node), enters the invariants of ``h⁰`` (``|F_i|``, ``v_i·F_i``) and each layer's
coordinate update (``+ φ_F(h_i) F_i``). If ``F`` is transformed with the data (the field
rotated with the system) it is exactly equivariant; with the field fixed in the lab it
represents the field's effect (a uniform field's ``½ q ε ẑ t²`` is ``φ_F = ½``).
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import MessageLayer, mlp, off_diagonal, unpack

__all__ = ["EGNN", "FieldEGNN", "field_force"]


def field_force(pos, charge, field, strength):
    """The external force on each particle, torch ``(B, N, 3)`` (the simulator's, in torch)."""
    if field is None or strength == 0:
        return torch.zeros_like(pos)
    if field == "uniform":
        return torch.stack([torch.zeros_like(charge), torch.zeros_like(charge),
                            strength * charge], dim=-1)
    if field == "trap":
        return -strength * pos
    raise ValueError(f"field must be None, 'uniform' or 'trap', got {field!r}")


class EquivariantLayer(MessageLayer):
    """A message layer that also moves the coordinates along differences and node vectors."""

    def __init__(self, hidden: int, edge_dim: int, n_vectors: int):
        super().__init__(hidden, edge_dim + 1)
        self.coord_mlp = mlp(hidden, hidden, 1)
        last = self.coord_mlp[-1]
        last.bias = None  # the paper: no bias, tiny initial weights (xavier, gain 0.001)
        nn.init.xavier_uniform_(last.weight, gain=0.001)
        self.vector_mlps = nn.ModuleList(mlp(hidden, hidden, 1) for _ in range(n_vectors))

    def forward(self, h, x, edge, vectors):
        diff = x[:, :, None, :] - x[:, None, :, :]                       # x_i - x_j
        radial = (diff * diff).sum(-1, keepdim=True)
        h_new, m = super().forward(h, radial, edge)
        n = x.shape[1]
        x = x + (diff * self.coord_mlp(m) * off_diagonal(n, x.device)).sum(2) / (n - 1)
        for phi, v in zip(self.vector_mlps, vectors, strict=True):
            x = x + phi(h) * v
        return h_new, x


class EGNN(nn.Module):
    """The paper's N-body EGNN (4 layers x 64, SiLU). ``forward(x (B, N, 7)) -> (B, N, 3)``."""

    n_scalars, n_vectors = 1, 1

    def __init__(self, hidden: int = 64, layers: int = 4):
        super().__init__()
        self.embedding = nn.Linear(self.n_scalars, hidden)
        self.layers = nn.ModuleList(EquivariantLayer(hidden, 2, self.n_vectors)
                                    for _ in range(layers))

    def run(self, pos, charge, scalars, vectors):
        """The layers, given the node scalars for ``h⁰`` and the node vectors."""
        h = self.embedding(scalars)
        diff = pos[:, :, None, :] - pos[:, None, :, :]
        edge = torch.stack([charge[:, :, None] * charge[:, None, :], (diff * diff).sum(-1)],
                           dim=-1)
        for layer in self.layers:
            h, pos = layer(h, pos, edge, vectors)
        return pos

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pos, vel, charge = unpack(x)
        return self.run(pos, charge, vel.norm(dim=-1, keepdim=True), [vel])


class FieldEGNN(EGNN):
    """:class:`EGNN` given the external field (``field``, ``strength``) as an input.

    ``forward(x)`` computes the field force ``F_i`` at the input positions itself;
    ``forward(x, force)`` takes it given (for the equivariance test, where the field is
    transformed with the data)."""

    n_scalars, n_vectors = 3, 2

    def __init__(self, field=None, strength: float = 0.0, hidden: int = 64, layers: int = 4):
        super().__init__(hidden, layers)
        self.field, self.strength = field, float(strength)

    def forward(self, x: torch.Tensor, force: torch.Tensor | None = None) -> torch.Tensor:
        pos, vel, charge = unpack(x)
        if force is None:
            force = field_force(pos, charge, self.field, self.strength)
        scalars = torch.cat([vel.norm(dim=-1, keepdim=True), force.norm(dim=-1, keepdim=True),
                             (vel * force).sum(-1, keepdim=True)], dim=-1)
        return self.run(pos, charge, scalars, [vel, force])
