"""How far is a model from equivariance, as a function of the transformation size?

``invariance_profile`` gives the curve of the paper's Fig. 2 for any model, group and
representation: the mean violation ``|f(g . x) - rho_out(g) f(x)|`` (Euclidean norm over output
components) for elements ``g = exp(theta * n . L)`` of a fixed size along random unit directions
``n`` of each generator family (Lorentz: boosts measured by ``|beta|``, rotations by angle),
or, with ``per_generator=True``, for ``g = exp(+-theta L_a)`` along each single generator
(``K_x ... J_z``), which shows which symmetry a model or a spurion breaks.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from ._checks import check_floating
from .groups.base import LieGroup, _device_of
from .groups.expm import matrix_exp
from .penalties.common import as_residual_dtype, squared_norm
from .reps import Representation, Scalar

__all__ = ["InvarianceProfile", "invariance_profile"]


MISSING_MATPLOTLIB = ("InvarianceProfile.plot needs matplotlib, which is not installed: "
                      "pip install matplotlib (or liesoft's [hep] extra)")


@dataclass
class InvarianceProfile:
    """Mean violation (and its standard error over samples) per curve and magnitude.

    A curve is a generator family (``"boost"``, ``"rotation"``) or, for a profile made with
    ``per_generator=True``, one generator (``"K_x"``, ..., ``"J_z"``); ``family_of`` then maps
    each generator to the family whose magnitude convention it follows (``|beta|`` or angle).
    """

    magnitudes: torch.Tensor
    mean: dict[str, torch.Tensor]
    sem: dict[str, torch.Tensor]
    family_of: dict[str, str] = field(default_factory=dict)

    @property
    def per_generator(self) -> bool:
        """True when the curves are single generators rather than families."""
        return bool(self.family_of)

    def rows(self) -> list[dict]:
        """One ``{"family", "magnitude", "mean", "sem"}`` dict per point (for CSV/JSON); a
        per-generator profile adds ``"generator"`` (and ``"family"`` is its family)."""
        out = []
        for name in self.mean:
            for m, v, e in zip(self.magnitudes, self.mean[name], self.sem[name], strict=True):
                row = {"family": self.family_of.get(name, name), "magnitude": float(m),
                       "mean": float(v), "sem": float(e)}
                if self.per_generator:
                    row = {"generator": name, **row}
                out.append(row)
        return out

    def to_csv(self, path: str | os.PathLike) -> None:
        """Write :meth:`rows` as CSV (header ``[generator,]family,magnitude,mean,sem``; floats
        with 17 significant digits, so :meth:`from_csv` gives the numbers back exactly)."""
        rows = self.rows()
        cols = (["generator"] if self.per_generator else []) + ["family", "magnitude", "mean",
                                                                 "sem"]
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, cols)
            w.writeheader()
            for r in rows:
                w.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in r.items()})

    @classmethod
    def from_csv(cls, path: str | os.PathLike) -> InvarianceProfile:
        """Read a profile written by :meth:`to_csv`."""
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        if not rows or not {"family", "magnitude", "mean", "sem"} <= set(rows[0]):
            got = list(rows[0]) if rows else "no rows"
            raise ValueError(f"{path}: expected the columns [generator,]family,magnitude,mean,"
                             f"sem of InvarianceProfile.to_csv, got {got}")
        per_gen = "generator" in rows[0]
        key = "generator" if per_gen else "family"
        names = list(dict.fromkeys(r[key] for r in rows))
        mags = [float(r["magnitude"]) for r in rows if r[key] == names[0]]
        pick = lambda name, col: torch.tensor(  # noqa: E731
            [float(r[col]) for r in rows if r[key] == name], dtype=torch.float64)
        family_of = {r["generator"]: r["family"] for r in rows} if per_gen else {}
        return cls(torch.tensor(mags, dtype=torch.float64),
                   {n: pick(n, "mean") for n in names}, {n: pick(n, "sem") for n in names},
                   family_of)

    def plot(self, ax=None, *, xlabel: str | None = None, **plot_kwargs):
        """Draw the curves as in the paper's Fig. 2: mean violation against magnitude on a log
        y axis, with a band of one standard error. Returns the matplotlib ``Axes``.

        Points whose violation is exactly zero (an exact symmetry) cannot be drawn on a log
        axis and are left out. ``plot_kwargs`` go to every ``ax.plot`` call.
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError as exc:
            raise ImportError(MISSING_MATPLOTLIB) from exc
        if ax is None:
            _, ax = plt.subplots(figsize=(5, 3.6))
        x = self.magnitudes.double()
        for name in self.mean:
            m, e = self.mean[name].double(), self.sem[name].double()
            nan = torch.full_like(m, math.nan)
            shown = torch.where(m > 0, m, nan)        # log axis: exact zeros are left out
            low = torch.where(m - e > 0, m - e, m / 10)   # a band reaching 0: cut a decade down
            (line,) = ax.plot(x.numpy(), shown.numpy(), "o-", ms=3, label=name, **plot_kwargs)
            ax.fill_between(x.numpy(), torch.where(m > 0, low, nan).numpy(),
                            torch.where(m > 0, m + e, nan).numpy(), color=line.get_color(),
                            alpha=0.25, lw=0)
        ax.set_yscale("log")
        if xlabel is None:
            fams = set(self.family_of.values()) if self.per_generator else set(self.mean)
            xlabel = ("transformation size (|β| for boosts, angle for rotations)"
                      if {"boost", "rotation"} & fams else "transformation size")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("mean |f(g·x) − ρ(g) f(x)|")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3, which="both")
        return ax


@torch.no_grad()
def invariance_profile(f: Callable, x: torch.Tensor, group: LieGroup, in_rep: Representation,
                       out_rep: Representation | None = None, *, args: Sequence = (),
                       magnitudes: Sequence[float] | torch.Tensor = (0.1, 0.3, 0.5, 0.7, 0.9),
                       families: Sequence[str] | dict | None = None,
                       per_generator: bool = False,
                       batch_size: int | None = None,
                       generator: torch.Generator | None = None) -> InvarianceProfile:
    """Violation of ``f(g . x) = rho_out(g) f(x)`` versus the size of ``g``, per family.

    Args:
        f: the model, called as ``f(x, *args)`` (put it in ``eval()`` mode first).
        x: inputs ``(B, ..., *in_rep.shape)``; ``args``: per-sample tensors passed along
            (e.g. a padding mask).
        magnitudes: transformation sizes (``|beta|`` for boosts, radians for rotations).
        families: names from ``group.families()`` (default: all of them), or a dict
            ``{"name": generators}`` defining the curves for any group: ``generators`` is a list
            of generator names or indices (``{"boost": ["K_x", "K_y"], "rotation": ["J_z"]}``)
            or a tensor ``(k, d, d)`` of algebra elements (a curve along their random unit
            combinations). A name that is also one of ``group.families()`` keeps that
            family's magnitude convention (``|beta|`` for a Lorentz boost); any other family
            uses ``theta = magnitude``. A group can declare its families once with
            ``MatrixLieGroup(..., families=...)``.
        per_generator: one curve per generator of the selected families (named by
            ``group.generator_names``, e.g. ``K_x ... J_z``), from ``g = exp(+-theta L_a)``
            with a random sign per sample and ``theta`` the family's parameter of the magnitude
            (``artanh |beta|`` for a boost, the angle for a rotation). A model that respects a
            subgroup (a beam's ``K_z``, ``J_z``) is invariant along those curves only.
        batch_size: evaluate in chunks of this many samples.
        generator: a ``torch.Generator`` for the random directions.
    """
    check_floating(x, "x")
    out_rep = (Scalar() if out_rep is None else out_rep).bind(group)
    in_rep = in_rep.bind(group)
    curves, family_of = _curves(group, families, per_generator)
    mags = torch.as_tensor(magnitudes, dtype=torch.float64).reshape(-1)
    chunk = batch_size or x.shape[0]
    outputs = [f(x[i:i + chunk], *[a[i:i + chunk] for a in args])
               for i in range(0, x.shape[0], chunk)]
    fx = as_residual_dtype(torch.cat(outputs))
    mean, sem = {}, {}
    known = group.families()
    for name, fam, mats in curves:
        mats = mats.to(x.device)
        m_list, e_list = [], []
        for m in mags.tolist():
            theta = group.family_parameter(fam, m) if fam in known else float(m)
            dev = _device_of(generator, "cpu")
            c = torch.randn(x.shape[0], mats.shape[0], generator=generator,
                            dtype=torch.float64, device=dev).to(x.device)
            c = theta * c / c.norm(dim=-1, keepdim=True)   # one generator: c = +-theta
            g = matrix_exp(torch.einsum("bk,kij->bij", c, mats))
            viol = []
            for i in range(0, x.shape[0], chunk):
                sl = slice(i, i + chunk)
                f_gx = as_residual_dtype(f(in_rep.act(g[sl], x[sl]), *[a[sl] for a in args]))
                viol.append(squared_norm(f_gx - out_rep.act(g[sl], fx[sl])).sqrt())
            v = torch.cat(viol).double()
            m_list.append(v.mean())
            e_list.append(v.std() / math.sqrt(v.numel()) if v.numel() > 1
                          else torch.zeros((), dtype=torch.float64))
        mean[name], sem[name] = torch.stack(m_list).cpu(), torch.stack(e_list).cpu()
    return InvarianceProfile(mags, mean, sem, family_of)


def _curves(group: LieGroup, families, per_generator: bool):
    """``[(curve name, family, algebra elements (k, d, d))]`` and the generator -> family map
    of a per-generator profile."""
    fams = group.families()
    if isinstance(families, dict):
        if not families:
            raise ValueError("families must not be empty")
        spec = {}
        for fam, sel in group.select_families(families).items():
            names = sel.names or [f"{fam}[{i}]" for i in range(sel.matrices.shape[0])]
            spec[fam] = (sel.matrices, list(names))
    else:
        selected = list(fams) if families is None else list(families)
        for fam in selected:
            if fam not in fams:
                raise ValueError(f"unknown family {fam!r} for {group.name}: expected one of "
                                 f"{sorted(fams)}; pass families={{name: generators}} to "
                                 "define your own")
        sels = {fam: group.select_generators(fam) for fam in selected}
        spec = {fam: (sel.matrices, list(sel.names)) for fam, sel in sels.items()}
    if not per_generator:
        return [(fam, fam, mats) for fam, (mats, _) in spec.items()], {}
    family_of, curves = {}, []   # a generator in two selected families follows the first
    for fam, (mats, gen_names) in spec.items():
        for mat, gname in zip(mats, gen_names, strict=True):
            if gname not in family_of:
                family_of[gname] = fam
                curves.append((gname, fam, mat[None]))
    return curves, family_of
