"""Linear representations: scalars, vectors, duals, tensors, sums and products."""

from __future__ import annotations

import math

import torch
from einops import rearrange

from .base import Representation, _apply_matrix

__all__ = ["Scalar", "Vector", "Vector4", "Dual", "Sum", "Product", "Tensor"]


class Scalar(Representation):
    """The trivial representation: ``rho(g) = 1``, ``drho(A) = 0``; data shape ``()``."""

    def _shape(self, d):
        return ()

    def _rho(self, g):
        return torch.ones(*g.shape[:-2], 1, 1, dtype=g.dtype, device=g.device)

    def _drho(self, A):
        return torch.zeros(*A.shape[:-2], 1, 1, dtype=A.dtype, device=A.device)

    def act(self, g, x):
        self._check_action(g, x, "g")
        return x

    def infinitesimal(self, A, x):
        self._check_action(A, x, "A")
        return torch.zeros_like(x)

    def infinitesimal_all(self, As, x):
        self._check_action(As[0], x, "A")
        return x.new_zeros(As.shape[0], *x.shape)


class Vector(Representation):
    """The group's defining representation, ``rho(g) = g``, ``drho(A) = A``; shape ``(d,)``.

    Bound to an affine group (:class:`~liesoft.E3`), a ``Vector`` is a free vector (a force, a
    velocity): it transforms with the linear block only, ``v -> R v``, and has shape
    ``(d - 1,)``; positions use :class:`~liesoft.Point`.
    """

    def _shape(self, d):
        return (d - 1,) if self._affine else (d,)

    def _rho(self, g):
        return g[..., :-1, :-1] if self._affine else g

    def _drho(self, A):
        return A[..., :-1, :-1] if self._affine else A


class Vector4(Vector):
    """A Lorentz four-vector ``(E, px, py, pz)``: the defining representation of a group of
    4x4 matrices (``ValueError`` for any other dimension)."""

    def _shape(self, d):
        if d != 4:
            raise ValueError(
                f"Vector4 acts on 4-vectors (E, px, py, pz): it needs a group of 4x4 matrices "
                f"such as Lorentz(), got {d}x{d}")
        return super()._shape(d)

    def _check_group(self, group):
        self._shape(group.dim)
        if group.affine:
            raise ValueError(f"Vector4 needs a linear group of 4x4 matrices, got {group.name}, "
                             "which is affine")


class Dual(Representation):
    """The dual (contragredient) of a linear rep: ``rho(g)^-T`` and ``-drho(A)^T`` (a lower
    index). Pairs with the original rep into an invariant: ``<w', v'> = <w, v>``."""

    def __init__(self, rep: Representation):
        super().__init__()
        if not isinstance(rep, Representation) or not rep.linear:
            raise TypeError(f"Dual needs a linear Representation, got {rep!r}")
        self.rep = rep

    def bind(self, group):
        out = super().bind(group)
        out.rep = self.rep.bind(group)
        return out

    def _shape(self, d):
        return self.rep._shape(d)

    def _rho(self, g):
        return torch.linalg.inv(self.rep._rho(g)).transpose(-1, -2)

    def _drho(self, A):
        return -self.rep._drho(A).transpose(-1, -2)

    def _key(self):
        return (self.rep,)

    def __repr__(self):
        return f"Dual({self.rep!r})"


class Sum(Representation):
    """Direct sum: the reps' flattened components concatenated along the last axis.

    Shape ``(sum of sizes,)``. Affine summands (points) are allowed; ``rho``/``drho`` (block
    diagonal) need every summand to be linear.
    """

    def __init__(self, *reps: Representation):
        super().__init__()
        flat = []
        for r in reps:
            if not isinstance(r, Representation):
                raise TypeError(f"Sum needs Representations, got {r!r}")
            flat.extend(r.reps if isinstance(r, Sum) else [r])
        if not flat:
            raise ValueError("Sum needs at least one representation")
        self.reps = tuple(flat)
        self.linear = all(r.linear for r in flat)

    def bind(self, group):
        out = super().bind(group)
        out.reps = tuple(r.bind(group) for r in self.reps)
        return out

    def _sizes(self, d):
        return [math.prod(r._shape(d)) for r in self.reps]

    def _shape(self, d):
        return (sum(self._sizes(d)),)

    def _rho(self, g):
        return _block_diag([r._rho(g) for r in self._linear_reps("rho")])

    def _drho(self, A):
        return _block_diag([r._drho(A) for r in self._linear_reps("drho")])

    def _linear_reps(self, what):
        if not self.linear:
            raise TypeError(f"{what} needs linear summands; {self!r} has an affine one: use act")
        return self.reps

    def _map(self, method, g, x):
        self._check_action(g, x, "g")
        d = g.shape[-1]
        parts = torch.split(x, self._sizes(d), dim=-1)
        out = [getattr(r, method)(g, p.reshape(*p.shape[:-1], *r._shape(d))).reshape(p.shape)
               for r, p in zip(self.reps, parts, strict=True)]
        return torch.cat(out, dim=-1)

    def act(self, g, x):
        return self._map("act", g, x)

    def infinitesimal(self, A, x):
        return self._map("infinitesimal", A, x)

    def _key(self):
        return self.reps

    def __repr__(self):
        return " + ".join(repr(r) for r in self.reps)


class Product(Representation):
    """Tensor product of linear reps; data shape = concatenation of the factors' shapes.

    ``act`` applies each factor's matrix on its own axes (no ``s x s`` Kronecker matrix is
    formed); ``rho`` is the Kronecker product and ``drho`` the sum of ``1 x .. x drho_i x .. x
    1``.
    """

    def __init__(self, *reps: Representation):
        super().__init__()
        flat = []
        for r in reps:
            if not isinstance(r, Representation) or not r.linear:
                raise TypeError(f"tensor products need linear Representations, got {r!r}")
            flat.extend(r.reps if type(r) is Product else [r])
        self.reps = tuple(flat)

    def bind(self, group):
        out = super().bind(group)
        out.reps = tuple(r.bind(group) for r in self.reps)
        return out

    def _shape(self, d):
        return tuple(n for r in self.reps for n in r._shape(d))

    def _rho(self, g):
        out = torch.ones(*g.shape[:-2], 1, 1, dtype=g.dtype, device=g.device)
        for r in self.reps:
            out = _kron(out, r._rho(g))
        return out

    def _drho(self, A):
        mats = [r._drho(A) for r in self.reps]
        sizes = [m.shape[-1] for m in mats]
        total = torch.zeros(*A.shape[:-2], math.prod(sizes), math.prod(sizes), dtype=A.dtype,
                            device=A.device)
        for i, m in enumerate(mats):
            left = torch.eye(math.prod(sizes[:i]), dtype=A.dtype, device=A.device)
            right = torch.eye(math.prod(sizes[i + 1:]), dtype=A.dtype, device=A.device)
            total = total + _kron(_kron(left, m), right)
        return total

    def _per_axis(self, mats, x, d):
        """Apply ``mats[i]`` to the axes of factor ``i`` of ``x`` (its flattened block)."""
        k = len(self._shape(d))
        sizes = [m.shape[-1] for m in mats]
        lead = x.shape[: x.ndim - k]
        y = x.reshape(*lead, *sizes)
        for i, m in enumerate(mats):
            axis = len(lead) + i
            y = _apply_matrix(m, y.movedim(axis, -1), 1).movedim(-1, axis)
        return y.reshape(x.shape)

    def act(self, g, x):
        gw, xw = self._check_action(g, x, "g")
        return self._per_axis([r._rho(gw) for r in self.reps], xw, gw.shape[-1]).to(x.dtype)

    def infinitesimal(self, A, x):
        Aw, xw = self._check_action(A, x, "A")
        mats = [r._drho(Aw) for r in self.reps]
        out = torch.zeros_like(xw)
        for i in range(len(mats)):
            eye = [torch.eye(m.shape[-1], dtype=xw.dtype, device=xw.device) for m in mats]
            eye[i] = mats[i]
            out = out + self._per_axis(eye, xw, Aw.shape[-1])
        return out.to(x.dtype)

    def _key(self):
        return self.reps

    def __repr__(self):
        return " * ".join(f"({r!r})" if isinstance(r, Sum) else repr(r) for r in self.reps)


class Tensor(Product):
    """``Tensor(p, q)``: ``p`` upper (vector) and ``q`` lower (dual) indices, acting on trailing
    axes of shape ``(d,) * (p + q)``, upper indices first. ``Tensor(0, 0)`` is a scalar."""

    def __init__(self, p: int, q: int = 0):
        for name, v in (("p", p), ("q", q)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"Tensor(p, q) needs integers >= 0, got {name}={v!r}")
        self.p, self.q = p, q
        super().__init__(*([Vector()] * p + [Dual(Vector())] * q))

    def _key(self):
        return (self.p, self.q)

    def __repr__(self):
        return f"Tensor({self.p}, {self.q})"


def _kron(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Batched Kronecker product over the last two axes."""
    batch = torch.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a = a.expand(*batch, *a.shape[-2:])
    b = b.expand(*batch, *b.shape[-2:])
    out = a[..., :, None, :, None] * b[..., None, :, None, :]
    return rearrange(out, "... i k j l -> ... (i k) (j l)")


def _block_diag(mats):
    batch = torch.broadcast_shapes(*[m.shape[:-2] for m in mats])
    total = sum(m.shape[-1] for m in mats)
    ref = mats[0]
    out = torch.zeros(*batch, total, total, dtype=ref.dtype, device=ref.device)
    i = 0
    for m in mats:
        s = m.shape[-1]
        out[..., i:i + s, i:i + s] = m
        i += s
    return out
