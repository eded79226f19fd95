"""The EGNN paper's non-equivariant GNN baseline (its ``GNN``, §5.1): node features
``[x_i, v_i]`` embedded linearly, four message layers with the charge product ``q_i q_j`` as
edge attribute, a two-layer decoder to the predicted positions. Not equivariant: positions
and velocities enter as plain features."""

from __future__ import annotations

import torch
from torch import nn

from .layers import MessageLayer, mlp, unpack

__all__ = ["GNN"]


class GNN(nn.Module):
    def __init__(self, hidden: int = 64, layers: int = 4):
        super().__init__()
        self.embedding = nn.Linear(6, hidden)
        self.layers = nn.ModuleList(MessageLayer(hidden, 1) for _ in range(layers))
        self.decoder = mlp(hidden, hidden, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pos, vel, charge = unpack(x)
        h = self.embedding(torch.cat([pos, vel], dim=-1))
        qq = (charge[:, :, None] * charge[:, None, :])[..., None]
        for layer in self.layers:
            h, _ = layer(h, qq)
        return self.decoder(h)
