"""How far is a model from equivariance, as a function of the transformation size?

``invariance_profile`` gives the curve of the paper's Fig. 2 for any model, group and
representation: the mean violation ``|f(g . x) - rho_out(g) f(x)|`` (Euclidean norm over output
components) for elements ``g = exp(theta * n . L)`` of a fixed size along random unit directions
``n`` of each generator family (Lorentz: boosts measured by ``|beta|``, rotations by angle).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from ._checks import check_floating
from .groups.base import LieGroup, _device_of
from .penalties.common import as_residual_dtype, squared_norm
from .reps import Representation, Scalar

__all__ = ["InvarianceProfile", "invariance_profile"]


@dataclass
class InvarianceProfile:
    """Mean violation (and its standard error over samples) per family and magnitude."""

    magnitudes: torch.Tensor
    mean: dict[str, torch.Tensor]
    sem: dict[str, torch.Tensor]

    def rows(self) -> list[dict]:
        """One ``{"family", "magnitude", "mean", "sem"}`` dict per point (for CSV/JSON)."""
        return [{"family": fam, "magnitude": float(m), "mean": float(v), "sem": float(e)}
                for fam in self.mean
                for m, v, e in zip(self.magnitudes, self.mean[fam], self.sem[fam], strict=True)]


@torch.no_grad()
def invariance_profile(f: Callable, x: torch.Tensor, group: LieGroup, in_rep: Representation,
                       out_rep: Representation | None = None, *, args: Sequence = (),
                       magnitudes: Sequence[float] | torch.Tensor = (0.1, 0.3, 0.5, 0.7, 0.9),
                       families: Sequence[str] | None = None, batch_size: int | None = None,
                       generator: torch.Generator | None = None) -> InvarianceProfile:
    """Violation of ``f(g . x) = rho_out(g) f(x)`` versus the size of ``g``, per family.

    Args:
        f: the model, called as ``f(x, *args)`` (put it in ``eval()`` mode first).
        x: inputs ``(B, ..., *in_rep.shape)``; ``args``: per-sample tensors passed along
            (e.g. a padding mask).
        magnitudes: transformation sizes (``|beta|`` for boosts, radians for rotations).
        families: names from ``group.families()`` (default: all of them).
        batch_size: evaluate in chunks of this many samples.
        generator: a ``torch.Generator`` for the random directions.
    """
    check_floating(x, "x")
    out_rep = (Scalar() if out_rep is None else out_rep).bind(group)
    in_rep = in_rep.bind(group)
    fams = group.families()
    families = list(fams) if families is None else list(families)
    for fam in families:
        if fam not in fams:
            raise ValueError(f"unknown family {fam!r} for {group.name}: expected one of "
                             f"{sorted(fams)}")
    mags = torch.as_tensor(magnitudes, dtype=torch.float64).reshape(-1)
    chunk = batch_size or x.shape[0]
    outputs = [f(x[i:i + chunk], *[a[i:i + chunk] for a in args])
               for i in range(0, x.shape[0], chunk)]
    fx = as_residual_dtype(torch.cat(outputs))
    L = group.generators.to(x.device)
    mean, sem = {}, {}
    for fam in families:
        idx = fams[fam]
        m_list, e_list = [], []
        for m in mags.tolist():
            theta = group.family_parameter(fam, m)
            dev = _device_of(generator, "cpu")
            c = torch.randn(x.shape[0], len(idx), generator=generator, dtype=torch.float64,
                            device=dev).to(x.device)
            c = theta * c / c.norm(dim=-1, keepdim=True)
            g = torch.linalg.matrix_exp(torch.einsum("bk,kij->bij", c, L[idx]))
            viol = []
            for i in range(0, x.shape[0], chunk):
                sl = slice(i, i + chunk)
                f_gx = as_residual_dtype(f(in_rep.act(g[sl], x[sl]), *[a[sl] for a in args]))
                viol.append(squared_norm(f_gx - out_rep.act(g[sl], fx[sl])).sqrt())
            v = torch.cat(viol).double()
            m_list.append(v.mean())
            e_list.append(v.std() / v.numel() ** 0.5 if v.numel() > 1 else torch.zeros(()))
        mean[fam], sem[fam] = torch.stack(m_list).cpu(), torch.stack(e_list).cpu()
    return InvarianceProfile(mags, mean, sem)
