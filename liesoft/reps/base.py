"""The ``Representation`` interface.

A representation says how data transform under a group: ``act(g, x)`` for group elements and
``infinitesimal(A, x)`` for algebra elements (the derivative of ``act(exp(tA), x)`` at
``t = 0``). Linear representations also expose the matrices ``rho(g)`` and ``drho(A)`` and get
``act``/``infinitesimal`` for free; an affine action (E(3) positions, :class:`~liesoft.Point`)
overrides ``act``/``infinitesimal`` directly, so penalties never need a special case: they only
call ``act`` and ``infinitesimal``.

**Batch convention.** Group or algebra elements are ``(d, d)`` (one element for every sample)
or ``(B, d, d)`` (one per sample). Data ``x`` have shape ``(B, ..., *rep.shape(d))``: the
action broadcasts over the middle axes, so a jet ``(B, N, 4)`` is transformed particle by
particle with one Lorentz transformation per jet. Elements are moved to ``x``'s device; for
low-precision ``x`` the action is computed in float64 and rounded once to ``x.dtype``.

**Binding.** Representations are not tied to a group when constructed. Used with a group (a
penalty does this for you) they are *bound* with ``rep.bind(group)``, which checks that they
fit (e.g. :class:`~liesoft.Vector4` needs a 4-dimensional group, :class:`~liesoft.Point` an
affine one) and, for an affine group such as :class:`~liesoft.E3`, makes :class:`Vector` act on
free vectors with the rotation block only. Unbound reps read the dimension off the matrices.
"""

from __future__ import annotations

import copy
import functools
import math

import torch

from .._checks import check_floating

__all__ = ["Representation"]


class Representation:
    """Base class of all representations (see the module docstring for the conventions).

    **Writing your own.** Subclass ``Representation`` and implement

    * ``shape(self, d)``: the trailing shape of one datum for a group of ``d x d`` matrices
      (``()`` for a scalar, ``(d,)`` for a vector); raise ``ValueError`` for a ``d`` it does
      not support;
    * ``rho(self, g)``: group elements ``(..., d, d)`` -> matrices ``(..., s, s)`` acting on
      the ``s = prod(shape(d))`` flattened components, a homomorphism
      ``rho(g h) = rho(g) rho(h)``;
    * ``drho(self, A)``: algebra elements ``(..., d, d)`` -> ``(..., s, s)``, the derivative
      ``d/dt rho(exp(t A))`` at ``t = 0`` (linear in ``A``).

    ``act``, ``infinitesimal``, ``infinitesimal_all``, ``size``, binding, dtype handling and
    input checks then come for free, and the rep composes with ``+`` (direct sum), ``*``
    (tensor product), ``k *`` and ``**``. The base class wraps your three methods: callers use
    ``rep.shape()`` (``d`` from the bound group), ``rep.rho(g)``, ``rep.drho(A)``, and your
    ``rho``/``drho`` receive elements already checked to be floating ``(..., d, d)`` matrices
    (in float64 when the data are low precision). A rep whose action is not linear (an affine
    map, like :class:`~liesoft.Point`) sets ``linear = False`` and overrides ``act(g, x)`` and
    ``infinitesimal(A, x)`` as well. :meth:`verify` checks a rep against a group.
    Example, the weight-``k`` representation of dilations, ``rho(g) = det(g)^(k/d)``::

        class Weight(Representation):
            def __init__(self, k):
                super().__init__()
                self.k = k
            def shape(self, d):
                return ()
            def rho(self, g):
                return torch.linalg.det(g).pow(self.k / g.shape[-1])[..., None, None]
            def drho(self, A):
                return (self.k / A.shape[-1]) * torch.diagonal(A, dim1=-2, dim2=-1).sum(-1)[
                    ..., None, None]
            def _key(self):            # equality and hashing (optional)
                return (self.k,)

    (The private ``_shape``/``_rho``/``_drho`` of earlier versions still work.)
    """

    linear: bool = True

    def __init__(self):
        self.group = None

    def __init_subclass__(cls, **kwargs):
        """A subclass's public ``shape``/``rho``/``drho`` become the implementation behind the
        checked public methods (see the class docstring)."""
        super().__init_subclass__(**kwargs)
        for public, private, checked in (("shape", "_shape", _checked_shape),
                                         ("rho", "_rho", _checked_matrices("g")),
                                         ("drho", "_drho", _checked_matrices("A"))):
            impl = cls.__dict__.get(public)
            if impl is not None and private not in cls.__dict__:
                setattr(cls, private, impl)
                # the public name checks its input, then runs this class's own code (so that
                # super().rho(g) in a further subclass reaches it without recursion)
                setattr(cls, public, functools.wraps(impl)(checked(impl)))

    # ------------------------------------------------------------------ binding
    def bind(self, group) -> Representation:
        """A copy of this representation bound to ``group`` (checked to be compatible)."""
        out = copy.copy(self)
        out.group = group
        out._check_group(group)
        return out

    def _check_group(self, group) -> None:
        """Raise ``ValueError`` if the representation cannot be used with ``group``."""

    @property
    def _affine(self) -> bool:
        return bool(self.group is not None and self.group.affine)

    # ------------------------------------------------------------------ shapes
    def _shape(self, d: int) -> tuple[int, ...]:
        raise NotImplementedError

    def _dim(self, d: int | None) -> int:
        if d is None:
            if self.group is None:
                raise ValueError(
                    f"{self!r} is not bound to a group: pass the defining dimension d or call "
                    ".bind(group) first")
            return self.group.dim
        if self.group is not None and d != self.group.dim:
            raise ValueError(
                f"{self!r} is bound to {self.group.name} (d={self.group.dim}), got d={d}")
        return d

    def shape(self, d: int | None = None) -> tuple[int, ...]:
        """Trailing shape of the data for a group of ``d x d`` matrices (default: the bound
        group's)."""
        return _valid_shape(self, self._shape(self._dim(d)))

    def size(self, d: int | None = None) -> int:
        """Number of components, ``prod(shape(d))``."""
        return math.prod(self.shape(d))

    # ------------------------------------------------------------------ matrices
    def _rho(self, g: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _drho(self, A: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def rho(self, g: torch.Tensor) -> torch.Tensor:
        """Group elements ``(..., d, d)`` -> representation matrices ``(..., s, s)``."""
        return self._rho(self._check_elements(g, "g"))

    def drho(self, A: torch.Tensor) -> torch.Tensor:
        """Algebra elements ``(..., d, d)`` -> representation matrices ``(..., s, s)``."""
        return self._drho(self._check_elements(A, "A"))

    # ------------------------------------------------------------------ actions
    def act(self, g: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Transform ``x`` ``(B, ..., *shape)`` by ``g`` ``(d, d)`` or ``(B, d, d)``.

        Low-precision inputs (float32, float16, bfloat16) are transformed in float64 and the
        result is rounded once to ``x.dtype``: a large boost then costs no more precision than
        storing its result.
        """
        gw, xw = self._check_action(g, x, "g")
        return _apply_matrix(self._rho(gw), xw, len(self._shape(gw.shape[-1]))).to(x.dtype)

    def infinitesimal(self, A: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``d/dt act(exp(tA), x)`` at ``t = 0``, same shape and dtype as ``x``."""
        Aw, xw = self._check_action(A, x, "A")
        return _apply_matrix(self._drho(Aw), xw, len(self._shape(Aw.shape[-1]))).to(x.dtype)

    def infinitesimal_all(self, As: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``infinitesimal(A, x)`` for each of ``n`` algebra elements ``As`` ``(n, d, d)``
        (each acting on every sample): returns ``(n, *x.shape)``. One batched contraction for
        linear reps; a loop otherwise."""
        if As.ndim != 3:
            raise ValueError(f"As must have shape (n, d, d), got {tuple(As.shape)}")
        if not self.linear:
            return torch.stack([self.infinitesimal(A, x) for A in As])
        Aw, xw = self._check_action(As[0], x, "A")
        mats = self._drho(As.to(device=xw.device, dtype=xw.dtype))
        k = len(self._shape(As.shape[-1]))
        lead = x.shape[: x.ndim - k]
        out = torch.einsum("nij,mj->nmi", mats, xw.reshape(-1, mats.shape[-1]))
        return out.reshape(As.shape[0], *lead, *x.shape[x.ndim - k:]).to(x.dtype)

    # ------------------------------------------------------------------ checks
    def _check_elements(self, g, name: str) -> torch.Tensor:
        check_floating(g, name)
        if g.ndim < 2 or g.shape[-1] != g.shape[-2]:
            raise ValueError(f"{name} must have shape (..., d, d), got {tuple(g.shape)}")
        if self.group is not None and g.shape[-1] != self.group.dim:
            raise ValueError(
                f"{self!r} is bound to {self.group.name}: {name} must be "
                f"({self.group.dim}, {self.group.dim}) matrices, got {tuple(g.shape)}")
        self._shape(g.shape[-1])  # lets a rep reject an incompatible dimension
        return g

    def _check_action(self, g, x, name: str):
        check_floating(x, "x")
        g = self._check_elements(g, name)
        if g.ndim not in (2, 3):
            raise ValueError(
                f"{name} must have shape (d, d) or (B, d, d), got {tuple(g.shape)}")
        shape = self._shape(g.shape[-1])
        k = len(shape)
        if x.ndim < k or tuple(x.shape[x.ndim - k:]) != shape:
            raise ValueError(
                f"x must have shape (B, ..., {', '.join(map(str, shape))}) for {self!r} with "
                f"d={g.shape[-1]}, got {tuple(x.shape)}")
        if g.ndim == 3:
            if x.ndim < k + 1 or x.shape[0] != g.shape[0]:
                raise ValueError(
                    f"{name} has a batch of {g.shape[0]} elements but x has shape "
                    f"{tuple(x.shape)}: expected x.shape[0] == {g.shape[0]}")
        work = _working_dtype(x)
        return g.to(device=x.device, dtype=work), x.to(work)

    # ------------------------------------------------------------------ self-check
    def verify(self, group, *, n: int = 8, generator: torch.Generator | None = None,
               rtol: float = 1e-7) -> dict[str, float]:
        """Check this rep against ``group`` in float64 and return the worst relative errors.

        * ``"homomorphism"``: ``rho(g h) = rho(g) rho(h)`` for sampled ``g, h`` (each composed
          with a random product of the group's discrete generators);
        * ``"derivative"``: ``drho(L_a) = d/dt rho(exp(t L_a))`` at 0 (central difference);
        * ``"linearity"``: ``drho`` is linear in ``A``;
        * ``"action"``: ``act(g, x) = rho(g) x`` and ``infinitesimal(L_a, x) = drho(L_a) x``
          (linear reps only).

        Raises ``AssertionError`` naming the failed property if one exceeds ``rtol``.
        """
        rep = self.bind(group)
        gen = generator if generator is not None else torch.Generator().manual_seed(0)
        f64 = torch.float64
        g = group.sample(n, generator=gen, dtype=f64) @ group.sample_discrete(
            n, generator=gen, dtype=f64)
        h = group.sample(n, generator=gen, dtype=f64) @ group.sample_discrete(
            n, generator=gen, dtype=f64)
        L = group.generators

        def rel(a, b):
            return float((a - b).abs().max() / b.abs().max().clamp(min=1.0))

        errors = {"homomorphism": rel(rep.rho(g @ h), rep.rho(g) @ rep.rho(h))}
        t = 1e-5
        fd = (rep.rho(torch.linalg.matrix_exp(t * L)) - rep.rho(torch.linalg.matrix_exp(-t * L))
              ) / (2 * t)
        errors["derivative"] = rel(rep.drho(L), fd)
        c = torch.randn(2, generator=gen, dtype=f64)
        errors["linearity"] = rel(rep.drho(c[0] * L[0] + c[1] * L[-1]),
                                  c[0] * rep.drho(L[0]) + c[1] * rep.drho(L[-1]))
        if rep.linear:
            x = torch.randn(n, *rep.shape(), generator=gen, dtype=f64)
            flat = x.reshape(n, -1)
            errors["action"] = max(
                rel(rep.act(g, x).reshape(n, -1), torch.einsum("bij,bj->bi", rep.rho(g), flat)),
                rel(rep.infinitesimal(L[0], x).reshape(n, -1), flat @ rep.drho(L[0]).T))
        bad = {k: v for k, v in errors.items() if not v <= rtol}
        if bad:
            raise AssertionError(f"{self!r} is not a representation of {group.name}: "
                                 + ", ".join(f"{k} error {v:.3g}" for k, v in bad.items())
                                 + f" > rtol {rtol:g}")
        return errors

    # ------------------------------------------------------------------ algebra of reps
    def __add__(self, other: Representation) -> Representation:
        from .linear import Sum

        if not isinstance(other, Representation):
            return NotImplemented
        return Sum(self, other)

    def __mul__(self, other):
        from .linear import Product, Scalar, Sum

        if isinstance(other, bool) or not isinstance(other, (int, Representation)):
            return NotImplemented
        if isinstance(other, int):
            if other < 1:
                raise ValueError(f"k * rep needs k >= 1, got {other}")
            return Sum(*([self] * other)) if other > 1 else self
        if isinstance(other, Scalar):
            return self
        if isinstance(self, Scalar):
            return other
        from .parity import parity_product

        simplified = parity_product(self, other)
        return simplified if simplified is not None else Product(self, other)

    def __rmul__(self, other):
        if isinstance(other, bool) or not isinstance(other, int):
            return NotImplemented
        return self.__mul__(other)

    def __pow__(self, k: int) -> Representation:
        from .linear import Product, Scalar

        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise ValueError(f"rep ** k needs an integer k >= 0, got {k!r}")
        return Scalar() if k == 0 else (self if k == 1 else Product(*([self] * k)))

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._key()))

    def _key(self):
        return ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _valid_shape(rep, shape):
    if not isinstance(shape, tuple) or not all(
            isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape):
        raise TypeError(f"{type(rep).__name__}.shape(d) must return a tuple of positive ints, "
                        f"got {shape!r}")
    return shape


def _checked_shape(impl):
    def shape(self, d: int | None = None) -> tuple[int, ...]:
        return _valid_shape(self, impl(self, self._dim(d)))
    return shape


def _checked_matrices(name: str):
    def wrap(impl):
        def method(self, m):
            return impl(self, self._check_elements(m, name))
        return method
    return wrap


def _working_dtype(x: torch.Tensor) -> torch.dtype:
    """float64 for low-precision data (except on MPS, which has no float64), else x's dtype."""
    if x.dtype in (torch.float32, torch.float16, torch.bfloat16) and x.device.type != "mps":
        return torch.float64
    return x.dtype


def _apply_matrix(R: torch.Tensor, x: torch.Tensor, k: int) -> torch.Tensor:
    """Apply ``R`` ``(s, s)`` or ``(B, s, s)`` to the flattened trailing ``k`` axes of ``x``."""
    lead = x.shape[: x.ndim - k]
    xs = x.reshape(*lead, R.shape[-1])
    if R.ndim == 2:
        out = xs @ R.transpose(-1, -2)
    else:
        out = torch.einsum("bij,b...j->b...i", R, xs)
    return out.reshape(x.shape)
