"""Dense message passing on fully connected graphs of ``N`` nodes (``N = 5`` here).

Every model takes the packed input ``x (B, N, 7)`` = positions, velocities, charge (the mixed
representation ``Point() + Vector() + Scalar()`` of E(3)) and returns positions ``(B, N, 3)``.
Edges are all ordered pairs ``i != j`` held as ``(B, N, N, ·)`` tensors with the diagonal
masked out: for five particles that is faster than index lists and needs no graph library.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["unpack", "pack", "mlp", "pair_features", "off_diagonal", "MessageLayer"]


def unpack(x: torch.Tensor):
    """``(B, N, 7)`` -> positions ``(B, N, 3)``, velocities ``(B, N, 3)``, charges ``(B, N)``."""
    if x.ndim != 3 or x.shape[-1] != 7:
        raise ValueError(f"x must be (B, N, 7) = positions, velocities, charge; got "
                         f"{tuple(x.shape)}")
    return x[..., :3], x[..., 3:6], x[..., 6]


def pack(pos: torch.Tensor, vel: torch.Tensor, charge: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`unpack`."""
    return torch.cat([pos, vel, charge[..., None]], dim=-1)


def mlp(n_in: int, hidden: int, n_out: int, *, last_act: bool = False) -> nn.Sequential:
    """``Linear - SiLU - Linear`` (and a final SiLU if ``last_act``), the paper's blocks."""
    layers = [nn.Linear(n_in, hidden), nn.SiLU(), nn.Linear(hidden, n_out)]
    return nn.Sequential(*layers, nn.SiLU()) if last_act else nn.Sequential(*layers)


def off_diagonal(n: int, device=None) -> torch.Tensor:
    """``(N, N, 1)`` float mask, 0 on the diagonal (no self edges)."""
    return (1.0 - torch.eye(n, device=device))[..., None]


def pair_features(h: torch.Tensor, *edge: torch.Tensor) -> torch.Tensor:
    """``[h_i, h_j, *edge_ij]`` for every ordered pair, ``(B, N, N, 2F + E)``."""
    n = h.shape[1]
    hi = h[:, :, None, :].expand(-1, -1, n, -1)
    hj = h[:, None, :, :].expand(-1, n, -1, -1)
    return torch.cat([hi, hj, *edge], dim=-1)


class MessageLayer(nn.Module):
    """One graph layer of the EGNN paper (its ``GCL``): messages
    ``m_ij = φ_e(h_i, h_j, e_ij)``, node update ``h_i + φ_h(h_i, Σ_j m_ij)`` (residual).
    ``forward`` returns the new ``h`` and the messages (for a coordinate update)."""

    def __init__(self, hidden: int, edge_dim: int):
        super().__init__()
        self.edge_mlp = mlp(2 * hidden + edge_dim, hidden, hidden, last_act=True)
        self.node_mlp = mlp(2 * hidden, hidden, hidden)

    def forward(self, h, *edge):
        m = self.edge_mlp(pair_features(h, *edge)) * off_diagonal(h.shape[1], h.device)
        return h + self.node_mlp(torch.cat([h, m.sum(2)], dim=-1)), m
