"""Lie groups as data: a basis of the Lie algebra (generators) plus a sampler.

Conventions (see ``docs/conventions.md``):

* a group of ``d x d`` matrices acts on column vectors, ``x' = g x``;
* ``generators`` is a float64 master copy of shape ``(n, d, d)``; it is cast to the dtype and
  device of the data on use (``generators_as``);
* batches of group elements have shape ``(B, d, d)``, one element per sample;
* every sampler has the signature ``sample(n, *, generator=None, dtype=None, device=None,
  **options)``. With a ``torch.Generator`` the draw is reproducible and the global RNG is left
  untouched; with ``generator=None`` the default PyTorch RNG is used, as ``torch.randn`` does.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Sequence
from typing import NamedTuple

import torch

from .._checks import check_floating, check_square_batch, default_atol, resolve_dtype
from .exact import nullspace, numerical_nullspace, project_onto_span
from .expm import matrix_exp
from .logm import principal_log

__all__ = ["LieGroup", "MatrixLieGroup", "Selection"]


class Selection(NamedTuple):
    """Generators selected by :meth:`LieGroup.select_generators`: ``matrices`` float64
    ``(m, d, d)``; ``names`` and ``indices`` (``None`` for a tensor of algebra elements)."""

    matrices: torch.Tensor
    names: tuple[str, ...] | None
    indices: list[int] | None


def _as_float64_matrices(mats, name: str) -> torch.Tensor:
    if isinstance(mats, torch.Tensor):
        t = mats
    elif isinstance(mats, Sequence) and len(mats) and isinstance(mats[0], torch.Tensor):
        t = torch.stack(list(mats))
    else:
        t = torch.as_tensor(mats)
    if not (t.is_floating_point() or t.dtype in (torch.int16, torch.int32, torch.int64)):
        raise TypeError(f"{name} must be real numbers, got dtype {t.dtype}")
    t = t.detach().to("cpu", torch.float64)
    if t.ndim == 2:
        t = t.unsqueeze(0)
    if t.ndim != 3 or t.shape[-1] != t.shape[-2] or t.shape[0] == 0:
        raise ValueError(f"{name} must have shape (n, d, d) with n >= 1, got {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} contains non-finite entries")
    return t


def _bracket(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return a @ b - b @ a


SAMPLE_NOTE = """

        Call ``sample(n, *, generator=None, dtype=None, device=None, **options)``: float64
        draws cast once to ``dtype`` (default: the default dtype) on ``device`` (default: the
        generator's device, else the CPU); with a ``torch.Generator`` the global random state
        is untouched."""


def _device_of(generator: torch.Generator | None, device) -> torch.device:
    """Random numbers are drawn where the generator lives (CPU unless it is a CUDA generator)."""
    if generator is not None:
        return generator.device
    return torch.device(device) if device is not None else torch.device("cpu")


class LieGroup(abc.ABC):
    """A connected matrix Lie group given by its algebra and a sampler.

    Subclasses provide ``generators`` (a float64 ``(n, d, d)`` basis of the Lie algebra in the
    defining representation), ``sample`` and ``contains``. Everything else (``exp``, structure
    constants, subgroups from spurions) follows from the generators.

    Attributes:
        name: a short human-readable name.
        affine: ``True`` for groups of homogeneous affine matrices (last row ``0 ... 0 1``),
            e.g. :class:`~liesoft.E3`; representations use it to act on points and vectors.
        generator_names: one name per generator.
    """

    name: str = "G"
    affine: bool = False

    def __init_subclass__(cls, **kwargs):
        """A group that writes its draw (``_draw``) gets a ``sample`` whose docstring is the
        draw's (``help(Lorentz.sample)`` documents the options); the code is the template's."""
        super().__init_subclass__(**kwargs)
        draw = cls.__dict__.get("_draw")
        if draw is not None and draw.__doc__ and "sample" not in cls.__dict__:
            def sample(self, n: int, *, generator=None, dtype=None, device=None, **options):
                return LieGroup.sample(self, n, generator=generator, dtype=dtype, device=device,
                                       **options)

            sample.__doc__ = draw.__doc__ + SAMPLE_NOTE
            sample.__qualname__ = f"{cls.__qualname__}.sample"
            cls.sample = sample

    # ------------------------------------------------------------------ algebra
    @property
    @abc.abstractmethod
    def generators(self) -> torch.Tensor:
        """Basis of the Lie algebra, float64, shape ``(n, d, d)``."""

    @property
    def discrete_generators(self) -> torch.Tensor:
        """Optional discrete symmetries (e.g. parity), float64 ``(k, d, d)``; ``k`` may be 0."""
        return torch.zeros(0, self.dim, self.dim, dtype=torch.float64)

    @property
    def discrete_names(self) -> tuple[str, ...]:
        """One name per discrete generator (default ``D0, D1, ...``; parity is ``P``)."""
        return tuple(f"D{i}" for i in range(self.discrete_generators.shape[0]))

    @property
    def generator_names(self) -> tuple[str, ...]:
        return tuple(f"L{a}" for a in range(self.n_generators))

    @property
    def dim(self) -> int:
        """Size ``d`` of the defining matrices."""
        return self.generators.shape[-1]

    @property
    def n_generators(self) -> int:
        """Dimension ``n`` of the Lie algebra."""
        return self.generators.shape[0]

    def families(self) -> dict[str, list[int]]:
        """Named groups of generator indices (e.g. boosts and rotations), used by the audit."""
        return {"all": list(range(self.n_generators))}

    def family_parameter(self, family: str, magnitude: float) -> float:
        """The algebra coefficient norm ``theta`` whose ``exp(theta * unit direction)`` has the
        given physical size: an angle for rotations, a distance for translations, ``|beta|``
        for Lorentz boosts (``theta = artanh |beta|``). Default: ``theta = magnitude``."""
        if family not in self.families():
            raise ValueError(f"unknown family {family!r} for {self.name}: expected one of "
                             f"{sorted(self.families())}")
        return float(magnitude)

    def generators_as(self, dtype=None, device=None) -> torch.Tensor:
        """The generators cast to ``dtype`` (default: the default dtype) and ``device``."""
        return self.generators.to(device=device, dtype=resolve_dtype(dtype))

    def algebra_element(self, coefficients: torch.Tensor) -> torch.Tensor:
        """``sum_a c_a L_a`` for coefficients of shape ``(..., n)`` -> ``(..., d, d)``."""
        check_floating(coefficients, "coefficients")
        if coefficients.shape[-1:] != (self.n_generators,):
            raise ValueError(
                f"coefficients must have shape (..., {self.n_generators}) for {self.name}, "
                f"got {tuple(coefficients.shape)}"
            )
        gens = self.generators_as(coefficients.dtype, coefficients.device)
        return torch.einsum("...a,aij->...ij", coefficients, gens)

    def exp(self, A: torch.Tensor) -> torch.Tensor:
        """Batched matrix exponential ``(..., d, d) -> (..., d, d)``."""
        check_floating(A, "A")
        if A.ndim < 2 or tuple(A.shape[-2:]) != (self.dim, self.dim):
            raise ValueError(
                f"A must have shape (..., {self.dim}, {self.dim}) for {self.name}, "
                f"got {tuple(A.shape)}"
            )
        return matrix_exp(A)

    def structure_constants(self) -> torch.Tensor:
        """``f`` of shape ``(n, n, n)`` with ``[L_a, L_b] = sum_c f[a, b, c] L_c`` (float64)."""
        cached = getattr(self, "_structure_constants", None)
        if cached is not None:
            return cached
        L = self.generators
        n, d = L.shape[0], L.shape[-1]
        brackets = _bracket(L[:, None], L[None, :]).reshape(n * n, d * d)
        coeffs, residual = project_onto_span(L.reshape(n, d * d), brackets)
        scale = max(1.0, float(brackets.abs().max()))
        if float(residual.max()) > 1e-9 * scale:
            a, b = divmod(int(residual.argmax()), n)
            names = self.generator_names
            raise ValueError(f"{self.name}: the generators are not closed under the bracket: "
                             f"[{names[a]}, {names[b]}] is not in their span")
        f = coeffs.reshape(n, n, n)
        f = torch.where(f.abs() < 1e-13, torch.zeros_like(f), f)
        self._structure_constants = f
        return f

    # ------------------------------------------------------------------ generator selection
    def select_generators(self, selection=None, *, what: str = "generators") -> Selection:
        """The algebra elements a selection names: float64 ``(m, d, d)``, with their names and
        indices. The one reader of such selections (δSEAL's ``generators=``, the audit's
        families, :class:`MatrixLieGroup`'s ``families=``).

        Args:
            selection: ``None`` (every generator); an index or a name (``"K_x"``); a family of
                :meth:`families` (``"boost"``); a list of names and indices; or a floating
                tensor ``(m, d, d)`` of algebra elements (then ``names`` and ``indices`` are
                ``None``).
            what: how error messages name the selection.
        """
        L, names = self.generators, self.generator_names
        if selection is None:
            return Selection(L.clone(), names, list(range(len(names))))
        if isinstance(selection, torch.Tensor):
            check_floating(selection, what)
            A = selection.detach().to("cpu", torch.float64)
            if A.ndim != 3 or A.shape[1:] != L.shape[1:] or A.shape[0] == 0:
                raise ValueError(f"{what} must be generator names or indices, a family or a "
                                 f"(k, {self.dim}, {self.dim}) tensor of algebra elements, got "
                                 f"shape {tuple(A.shape)}")
            return Selection(A, None, None)
        fams = self.families()
        if isinstance(selection, str) and selection in fams:
            idx = list(fams[selection])
        else:
            items = [selection] if isinstance(selection, (str, int)) else selection
            if not isinstance(items, Sequence) or len(items) == 0:
                raise ValueError(f"{what} must be generator names or indices, a family or a "
                                 f"(k, {self.dim}, {self.dim}) tensor, got {selection!r}")
            idx = [self._generator_index(item, what, fams) for item in items]
        return Selection(L[idx].clone(), tuple(names[a] for a in idx), idx)

    def _generator_index(self, item, what: str, fams) -> int:
        names = self.generator_names
        if isinstance(item, str):
            if item not in names:
                raise ValueError(f"{what}: unknown generator {item!r} for {self.name}: expected "
                                 f"one of {names} or a family of {sorted(fams)}")
            return names.index(item)
        if isinstance(item, int) and not isinstance(item, bool) and 0 <= item < len(names):
            return item
        raise ValueError(f"{what}: generator index must be an int in [0, {len(names)}), "
                         f"got {item!r} (generators are given by name or by index "
                         f"0..{len(names) - 1})")

    def select_families(self, families, *, what: str = "families") -> dict[str, Selection]:
        """``{"name": selection}`` -> ``{"name": Selection}`` by :meth:`select_generators`
        (``families={"boost": ["K_x", "K_y"], "rotation": ["J_z"]}``)."""
        if not isinstance(families, dict) or not families:
            raise TypeError(f"{what} must be a non-empty dict {{name: [generator names or "
                            f"indices]}}, got {families!r}")
        out = {}
        for fam, members in families.items():
            if not isinstance(fam, str):
                raise TypeError(f"{what}: family names must be strings, got {fam!r}")
            out[fam] = self.select_generators(members, what=f"{what}[{fam!r}]")
        return out

    # ------------------------------------------------------------------ sampling and membership
    def sample(self, n: int, *, generator=None, dtype=None, device=None, **options) -> torch.Tensor:
        """``n`` random group elements ``(n, d, d)`` in ``dtype`` (default: the default dtype)
        on ``device`` (default: the generator's device, else the CPU).

        A template: the checks of ``n``, ``dtype`` and ``generator`` and the final cast are
        written here once; a group implements only its draw, :meth:`_draw`. (A subclass may
        also override ``sample`` itself, keeping this signature.)
        """
        return self._sampled(self._draw, n, generator, dtype, device, options)

    def _draw(self, n: int, generator, device: torch.device, **options) -> torch.Tensor:
        """The draw of :meth:`sample`: ``n`` float64 elements ``(n, d, d)`` on ``device``
        (where the generator draws), with the group's ``options`` (checked here)."""
        raise NotImplementedError(f"{type(self).__name__} has no sampler: implement "
                                  f"_draw(n, generator, device, **options) (or sample)")

    def _sampled(self, draw, n, generator, dtype, device, options) -> torch.Tensor:
        _check_n(n)
        dtype = resolve_dtype(dtype)
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator or None, got "
                            f"{type(generator).__name__}")
        dev = _device_of(generator, device)
        g = draw(n, generator, dev, **options)
        return g.to(device=device if device is not None else dev, dtype=dtype)

    def sampler(self, *, discrete: bool = False, **options):
        """A :class:`~liesoft.Sampler` of this group with these options (checked now)."""
        from .sampler import Sampler

        return Sampler(self, discrete=discrete, **options)

    @abc.abstractmethod
    def contains(self, g: torch.Tensor, atol: float | None = None) -> torch.Tensor:
        """Whether each matrix of ``g`` (``(d, d)`` or ``(B, d, d)``) lies in the group."""

    def sample_discrete(self, n: int, *, generator=None, dtype=None, device=None) -> torch.Tensor:
        """``n`` random products of the discrete generators, each included with probability 1/2.

        Returns identities when the group has no discrete generators.
        """
        return self._sampled(self._draw_discrete, n, generator, dtype, device, {})

    def _draw_discrete(self, n, generator, dev) -> torch.Tensor:
        D = self.discrete_generators.to(dev)
        out = torch.eye(self.dim, dtype=torch.float64, device=dev).expand(n, -1, -1).clone()
        if D.shape[0]:
            flips = torch.rand(n, D.shape[0], generator=generator, device=dev) < 0.5
            eye = torch.eye(self.dim, dtype=torch.float64, device=dev)
            for k in range(D.shape[0]):
                out = out @ torch.where(flips[:, k, None, None], D[k], eye)
        return out

    def _draw_gaussian_algebra(self, n, scale, generator, dev) -> torch.Tensor:
        """``exp(sum_a c_a L_a)`` with ``c ~ N(0, scale^2)``: the generic draw."""
        if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
            raise ValueError(f"scale must be a positive finite number, got {scale!r}")
        c = scale * torch.randn(n, self.n_generators, generator=generator, dtype=torch.float64,
                                device=dev)
        return matrix_exp(torch.einsum("na,aij->nij", c, self.generators.to(dev)))

    # ------------------------------------------------------------------ subgroups
    def subgroup(self, coefficients: torch.Tensor, *, name: str | None = None,
                 names: Sequence[str] | None = None) -> MatrixLieGroup:
        """The connected subgroup whose algebra is spanned by ``coefficients @ generators``.

        ``coefficients`` has shape ``(k, n)``; the span must be a subalgebra.
        """
        coefficients = torch.as_tensor(coefficients, dtype=torch.float64)
        if coefficients.ndim != 2 or coefficients.shape[1] != self.n_generators:
            raise ValueError(
                f"coefficients must have shape (k, {self.n_generators}), "
                f"got {tuple(coefficients.shape)}"
            )
        if coefficients.shape[0] == 0:
            raise ValueError(f"the requested subgroup of {self.name} is trivial (no generators)")
        gens = torch.einsum("ka,aij->kij", coefficients, self.generators)
        if names is None:
            names = tuple(_combination_name(row, self.generator_names) for row in coefficients)
        return MatrixLieGroup(gens, names=names, name=name or f"subgroup of {self.name}",
                              parent=self, affine=self.affine)

    def stabilizer(self, *vectors) -> MatrixLieGroup:
        """The subgroup fixing each vector: algebra ``{A : A v = 0 for every v}``.

        Example: in :class:`~liesoft.Lorentz`, the stabiliser of ``t = (1, 0, 0, 0)`` is the
        rotations, of ``z = (0, 0, 0, 1)`` it is SO(1,2) = span{K_x, K_y, J_z}.
        """
        vs = self._spurions(vectors, "stabilizer")
        L = self.generators
        # condition matrix: rows (vector, component), columns = algebra coefficients
        c = torch.einsum("aij,vj->via", L, vs).reshape(-1, self.n_generators)
        basis, _ = nullspace(c)
        return self.subgroup(basis, name=f"stabilizer in {self.name}")

    def preserving_subspace(self, *vectors) -> MatrixLieGroup:
        """The subgroup mapping ``span(vectors)`` into itself: ``{A : A V ⊂ span V}``.

        Example: ``Lorentz().preserving_subspace(t, z)`` is span{K_z, J_z}, boosts along the
        beam and rotations about it.
        """
        vs = self._spurions(vectors, "preserving_subspace")
        annihilator, _ = nullspace(vs)  # covectors w with w . v = 0 for every v
        if annihilator.shape[0] == 0:
            return self.subgroup(torch.eye(self.n_generators, dtype=torch.float64),
                                 name=self.name)
        c = torch.einsum("wi,aij,vj->wva", annihilator, self.generators, vs)
        basis, _ = nullspace(c.reshape(-1, self.n_generators))
        return self.subgroup(basis, name=f"subgroup of {self.name} preserving a subspace")

    def _spurions(self, vectors, what: str) -> torch.Tensor:
        if not vectors:
            raise ValueError(f"{what} needs at least one vector of length {self.dim}")
        out = []
        for i, v in enumerate(vectors):
            v = torch.as_tensor(v)
            if not (v.is_floating_point() or v.dtype in (torch.int32, torch.int64)):
                raise TypeError(f"{what}: vector {i} must be real, got dtype {v.dtype}")
            if v.shape != (self.dim,):
                raise ValueError(
                    f"{what}: vector {i} must have shape ({self.dim},) for {self.name}, "
                    f"got {tuple(v.shape)}"
                )
            out.append(v.detach().to("cpu", torch.float64))
        return torch.stack(out)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, n={self.n_generators}, d={self.dim})"


def _check_n(n) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")


def _combination_name(row: torch.Tensor, names: Sequence[str]) -> str:
    terms = [(float(c), nm) for c, nm in zip(row, names, strict=True) if abs(float(c)) > 1e-12]
    if len(terms) == 1 and terms[0][0] == 1.0:
        return terms[0][1]
    return " + ".join(f"{c:g}*{nm}" for c, nm in terms)


class MatrixLieGroup(LieGroup):
    """A group given by any basis of a matrix Lie algebra.

    Args:
        generators: ``(n, d, d)`` matrices. They must be linearly independent and closed under
            the bracket ``[A, B] = AB - BA``, else ``ValueError``.
        discrete_generators: optional ``(k, d, d)`` discrete symmetries (e.g. a parity).
        names: one name per generator (default ``L0, L1, ...``); error messages use them.
        name: the group's name.
        scale: standard deviation of the algebra coefficients of the default sampler,
            ``g = exp(sum_a c_a L_a)`` with ``c_a ~ N(0, scale^2)``. ``None`` (the default)
            picks it from the generators: the largest ``scale <= 1`` whose samples have a
            median operator norm ``|g|_2 <= 2`` (see :meth:`default_scale`), so compact groups
            get 1 and non-compact ones (Sp(4, R), SO(2, 1)) moderate elements.
        families: named groups of generators for the audit, ``{"boost": ["K_x", "K_y"],
            "rotation": ["J_z"]}`` (names or indices); default one family ``"all"``.
        discrete_names: one name per discrete generator (default ``D0, D1, ...``).
        affine: ``True`` if the matrices are homogeneous affine maps (last row zero in every
            generator).
        parent: the group this one is a subgroup of (set by ``subgroup``); ``contains`` then
            also requires membership of the parent.

    ``contains`` checks necessary conditions computed from the algebra: ``det g > 0``, ``g``
    preserves every algebra-invariant vector, covector and bilinear form, and ``g`` normalises
    the algebra (``g L_a g^-1`` stays in its span). For a group built by :meth:`preserving`
    from a non-degenerate symmetric form these conditions and the identity-component test
    (e.g. orthochronous for SO(1,2)+) characterise the group. For any other group (given by
    generators, or a subgroup) ``g`` must also be a product ``exp(A) h^-1`` with ``A`` in the
    span of the generators and ``h`` one of a fixed set of elements of the group (the identity
    first), found from the principal logarithm of ``g h``: an accepted element is in the
    group, up to the tolerance. Tolerances scale with the size ``max|g|`` and the condition
    number of ``g`` and with the dtype's rounding (see :meth:`contains`).
    """

    def __init__(self, generators, *, discrete_generators=None, names: Sequence[str] | None = None,
                 name: str | None = None, scale: float | None = None, affine: bool = False,
                 parent: LieGroup | None = None, families=None,
                 discrete_names: Sequence[str] | None = None):
        gens = _as_float64_matrices(generators, "generators")
        n, d = gens.shape[0], gens.shape[-1]
        if names is not None:
            names = tuple(names)
            if len(names) != n:
                raise ValueError(f"names must have {n} entries, got {len(names)}")
        shown = names if names is not None else tuple(f"L{a}" for a in range(n))
        flat = gens.reshape(n, d * d)
        rank = int(torch.linalg.matrix_rank(flat, rtol=1e-10))
        if rank < n:
            raise ValueError(
                f"generators must be linearly independent: got {n} matrices spanning only "
                f"{rank} dimensions"
            )
        brackets = _bracket(gens[:, None], gens[None, :]).reshape(n * n, d * d)
        _, residual = project_onto_span(flat, brackets)
        scale_b = max(1.0, float(brackets.abs().max()))
        worst = int(residual.argmax())
        if float(residual[worst]) > 1e-9 * scale_b:
            a, b = divmod(worst, n)
            raise ValueError(
                f"generators are not closed under the bracket: [{shown[a]}, {shown[b]}] is not "
                f"in their span (residual {float(residual[worst]):.3g})"
            )
        if affine and not torch.all(gens[:, -1, :] == 0):
            raise ValueError("affine=True requires every generator to have a zero last row")
        self._generators = gens
        if discrete_generators is None:
            self._discrete = torch.zeros(0, d, d, dtype=torch.float64)
        else:
            self._discrete = _as_float64_matrices(discrete_generators, "discrete_generators")
            if self._discrete.shape[-1] != d:
                raise ValueError(
                    f"discrete_generators must be ({d}, {d}) matrices like the generators, "
                    f"got {tuple(self._discrete.shape)}"
                )
        self._names = names
        self.name = name or f"MatrixLieGroup(n={n}, d={d})"
        if scale is not None and (isinstance(scale, bool) or not isinstance(scale, (int, float))
                                  or not math.isfinite(scale) or scale <= 0):
            raise ValueError(f"scale must be a positive finite number or None, got {scale!r}")
        self._scale = None if scale is None else float(scale)
        self.affine = bool(affine)
        self.parent = parent
        self._component_form: torch.Tensor | None = None
        self._invariants = None
        self._log_shifts = None
        self._families = None if families is None else {
            fam: sel.indices for fam, sel in self.select_families(families).items()}
        if discrete_names is not None:
            discrete_names = tuple(discrete_names)
            if len(discrete_names) != self._discrete.shape[0]:
                raise ValueError(f"discrete_names must have {self._discrete.shape[0]} entries "
                                 f"(one per discrete generator), got {len(discrete_names)}")
        self._discrete_names = discrete_names

    @property
    def generators(self) -> torch.Tensor:
        return self._generators

    @property
    def discrete_generators(self) -> torch.Tensor:
        return self._discrete

    @property
    def generator_names(self) -> tuple[str, ...]:
        return self._names if self._names is not None else super().generator_names

    @property
    def discrete_names(self) -> tuple[str, ...]:
        names = getattr(self, "_discrete_names", None)
        return names if names is not None else super().discrete_names

    def families(self) -> dict[str, list[int]]:
        """The families given to the constructor, else one family ``"all"``."""
        fams = getattr(self, "_families", None)
        return {k: list(v) for k, v in fams.items()} if fams else super().families()

    @property
    def scale(self) -> float:
        """Standard deviation of the default sampler's algebra coefficients (the
        constructor's ``scale``, else :meth:`default_scale`)."""
        if self._scale is None:
            self._scale = self.default_scale()
        return self._scale

    @scale.setter
    def scale(self, value: float) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                math.isfinite(value) and value > 0):
            raise ValueError(f"scale must be a positive finite number, got {value!r}")
        self._scale = float(value)

    def default_scale(self, *, target_norm: float = 2.0, draws: int = 512) -> float:
        """The largest ``scale <= 1`` whose samples ``exp(sum_a c_a L_a)``,
        ``c_a ~ N(0, scale^2)``, have a median operator norm ``|g|_2 <= target_norm``.

        Computed by bisection on ``draws`` fixed-seed standard-normal coefficient vectors
        (deterministic, independent of the global RNG). A compact group (every element of
        norm 1) gets 1; so does a group whose elements at ``scale = 1`` are moderate.
        """
        gen = torch.Generator().manual_seed(0)
        z = torch.randn(draws, self.n_generators, generator=gen, dtype=torch.float64)
        L = self.generators

        def median_norm(s: float) -> float:
            g = torch.linalg.matrix_exp(torch.einsum("na,aij->nij", s * z, L))
            return float(torch.linalg.matrix_norm(g, ord=2).median())

        if median_norm(1.0) <= target_norm:
            return 1.0
        lo, hi = 0.0, 1.0
        for _ in range(16):     # 2^-16: far finer than the median's sampling noise
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if median_norm(mid) <= target_norm else (lo, mid)
        return lo

    # ------------------------------------------------------------------ constructors
    @classmethod
    def preserving(cls, metric, *, name: str | None = None, **kwargs) -> MatrixLieGroup:
        """Identity component of ``{g : g^T M g = M}``; algebra ``{A : A^T M + M A = 0}``.

        The algebra basis is computed exactly with sympy when ``M`` is rational. Example:
        ``MatrixLieGroup.preserving(torch.diag(torch.tensor([1., -1., -1.])))`` is SO(1,2)+.
        """
        M = torch.as_tensor(metric).detach().to("cpu", torch.float64)
        if M.ndim != 2 or M.shape[0] != M.shape[1] or M.shape[0] == 0:
            raise ValueError(f"metric must be a square (d, d) matrix, got {tuple(M.shape)}")
        d = M.shape[0]
        units = torch.eye(d * d, dtype=torch.float64).reshape(d * d, d, d)
        # column j of the condition = vec(E_j^T M + M E_j) for the unit matrix E_j
        cond = (units.transpose(-1, -2) @ M + M @ units).reshape(d * d, d * d).T
        basis, _ = nullspace(cond)
        if basis.shape[0] == 0:
            raise ValueError("no non-trivial matrix preserves this form (its algebra is {0})")
        group = cls(basis.reshape(-1, d, d), name=name or f"preserving({_fmt_form(M)})", **kwargs)
        if torch.allclose(M, M.T) and torch.linalg.matrix_rank(M) == d:
            group._component_form = M
        return group

    # ------------------------------------------------------------------ sampling
    def _draw(self, n, generator, device, scale=None, **options) -> torch.Tensor:
        """``exp(sum_a c_a L_a)`` with ``c_a ~ N(0, scale^2)`` (the option ``scale`` defaults to
        ``self.scale``, see the class docstring). Returns ``(n, d, d)``."""
        if options:
            raise TypeError(f"unknown sampler options for {self.name}: {sorted(options)}")
        return self._draw_gaussian_algebra(n, self.scale if scale is None else scale,
                                           generator, device)

    # ------------------------------------------------------------------ membership
    def contains(self, g: torch.Tensor, atol: float | None = None) -> torch.Tensor:
        """Whether each matrix of ``g`` (``(d, d)`` or ``(B, d, d)``) lies in the group.

        ``atol`` is a relative tolerance (default 1000 roundings of ``g.dtype``); each test is
        scaled by what limits its precision: invariants by powers of ``max|g|``, the normaliser
        and logarithm tests by the condition number ``max|g| * max|g^-1| * d`` (a boost of
        size 1e3 is only known to ~1e6 roundings). See the class docstring for the tests.
        """
        check_square_batch(g, self.dim, "g")
        atol = default_atol(g.dtype) if atol is None else float(atol)
        g64 = g.detach().to(torch.float64)
        ok = _finite_positive_det(g64, atol)
        size = g64.abs().amax(dim=(-1, -2)).clamp(min=1.0)
        if self.parent is not None:
            ok = ok & self.parent.contains(g, atol=atol)
        if self.affine:
            last = torch.zeros(self.dim, dtype=torch.float64, device=g64.device)
            last[-1] = 1
            ok = ok & ((g64[..., -1, :] - last).abs().amax(-1) <= atol * size)
        vecs, covecs, forms = self._algebra_invariants()
        vecs, covecs, forms = (t.to(g64.device) for t in (vecs, covecs, forms))
        if vecs.shape[0]:
            r = (torch.einsum("...ij,kj->...ki", g64, vecs) - vecs).abs().amax((-1, -2))
            ok = ok & (r <= atol * size)
        if covecs.shape[0]:
            r = (torch.einsum("...ji,kj->...ki", g64, covecs) - covecs).abs().amax((-1, -2))
            ok = ok & (r <= atol * size)
        if forms.shape[0]:
            gt = g64.transpose(-1, -2)
            r = (gt.unsqueeze(-3) @ forms @ g64.unsqueeze(-3) - forms).abs().amax((-1, -2, -3))
            ok = ok & (r <= atol * size**2)
        ok = ok & self._normalises_algebra(g64, atol)
        if self._component_form is not None:
            ok = ok & _in_identity_component(g64, self._component_form.to(g64.device))
        elif bool(ok.any()):
            flat = g64.reshape(-1, self.dim, self.dim)
            mask = ok.reshape(-1)
            found = torch.zeros_like(mask)
            found[mask] = self._exp_of_span(flat[mask], atol)
            ok = found.reshape(ok.shape)
        return ok

    def _shifts(self) -> torch.Tensor:
        """Fixed elements ``h`` of the group tried by the logarithm test: the identity, then
        ``exp(+-L_a)`` and a few fixed-seed samples (float64)."""
        if self._log_shifts is None:
            L = self.generators
            eye = torch.eye(self.dim, dtype=torch.float64)[None]
            gen = torch.Generator().manual_seed(1)
            c = torch.randn(8, self.n_generators, generator=gen, dtype=torch.float64)
            algebra = torch.cat([L, -L, 1.5 * torch.einsum("na,aij->nij", c, L)])
            self._log_shifts = torch.cat([eye, torch.linalg.matrix_exp(algebra)])
        return self._log_shifts

    def _exp_of_span(self, g64: torch.Tensor, atol: float) -> torch.Tensor:
        """``g h = exp(A)`` with ``A`` in the span of the generators for one of the fixed
        ``h`` in the group (so ``g`` is in the group): the principal log of ``g h`` is real and
        its part outside the span is within ``atol`` times the condition number of ``g``."""
        L = self.generators.to(g64.device)
        n, d = L.shape[0], L.shape[-1]
        flat = L.reshape(n, d * d)
        proj = torch.linalg.pinv(flat) @ flat
        found = torch.zeros(g64.shape[0], dtype=torch.bool, device=g64.device)
        for h in self._shifts().to(g64.device):
            todo = ~found
            if not bool(todo.any()):
                break
            gh = g64[todo] @ h
            A, real = principal_log(gh)
            cond = gh.abs().amax((-1, -2)) * torch.linalg.inv(
                torch.where(real[:, None, None], gh, torch.eye(d, dtype=gh.dtype,
                                                               device=gh.device))
            ).abs().amax((-1, -2)) * d
            a = A.reshape(-1, d * d)
            resid = (a - a @ proj.T).abs().amax(-1)
            size = a.abs().amax(-1).clamp(min=1.0)
            found[todo] = real & (resid <= atol * cond * size)
        return found

    def _algebra_invariants(self):
        """Invariant vectors, covectors and bilinear forms of the algebra (numerical bases)."""
        if self._invariants is None:
            L = self.generators
            n, d = L.shape[0], L.shape[-1]
            vecs = numerical_nullspace(L.reshape(n * d, d))
            covecs = numerical_nullspace(L.transpose(-1, -2).reshape(n * d, d))
            units = torch.eye(d * d, dtype=torch.float64).reshape(d * d, d, d)
            cond = (L.transpose(-1, -2)[:, None] @ units[None] + units[None] @ L[:, None])
            cond = cond.reshape(n, d * d, d * d).transpose(1, 2).reshape(n * d * d, d * d)
            forms = numerical_nullspace(cond).reshape(-1, d, d)
            self._invariants = (vecs, covecs, forms)
        return self._invariants

    def _normalises_algebra(self, g64: torch.Tensor, atol: float) -> torch.Tensor:
        L = self.generators.to(g64.device)
        n, d = L.shape[0], L.shape[-1]
        flat = L.reshape(n, d * d)
        proj = torch.linalg.pinv(flat) @ flat  # projector onto span(L), (d*d, d*d)
        g_inv = torch.linalg.inv(g64)
        conj = g64.unsqueeze(-3) @ L @ g_inv.unsqueeze(-3)
        conj = conj.reshape(*g64.shape[:-2], n, d * d)
        resid = (conj - conj @ proj.T).abs().amax((-1, -2))
        size = conj.abs().amax((-1, -2)).clamp(min=1.0)
        # g^-1 carries cond(g) roundings of g: the conjugate is only that precise
        cond = g64.abs().amax((-1, -2)) * g_inv.abs().amax((-1, -2)) * d
        return resid <= atol * size * cond.clamp(min=10.0)


def _finite_positive_det(g64: torch.Tensor, atol: float) -> torch.Tensor:
    finite = torch.isfinite(g64).all(-1).all(-1)
    det = torch.linalg.det(torch.where(finite[..., None, None], g64, torch.eye(
        g64.shape[-1], dtype=g64.dtype, device=g64.device)))
    return finite & (det > atol)


def _in_identity_component(g64: torch.Tensor, M: torch.Tensor) -> torch.Tensor:
    """For ``g`` preserving a non-degenerate symmetric ``M`` of signature (p, q) with
    ``det g = 1``: in an ``M``-orthonormal basis, the ``p x p`` block of positive directions has
    positive determinant exactly on the identity component."""
    lam, V = torch.linalg.eigh(M)
    pos = lam > 0
    p = int(pos.sum())
    if p in (0, M.shape[0]):
        return torch.ones(g64.shape[:-2], dtype=torch.bool, device=g64.device)
    W = V * lam.abs().rsqrt()
    W_inv = (V * lam.abs().sqrt()).T
    g_on = W_inv @ g64 @ W
    block = g_on[..., pos, :][..., :, pos]
    return torch.linalg.det(block) > 0


def _fmt_form(M: torch.Tensor) -> str:
    if torch.equal(M, torch.diag(torch.diagonal(M))):
        return "diag(" + ", ".join(f"{float(x):g}" for x in torch.diagonal(M)) + ")"
    return f"{M.shape[0]}x{M.shape[0]} form"
