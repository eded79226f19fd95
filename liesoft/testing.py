"""Equivariance checks for users (like e3nn's ``assert_equivariant``)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ._checks import check_floating, check_module_dtype, named_dtype_errors, resolve_dtype
from .groups.base import LieGroup
from .reps import Representation, Scalar

__all__ = ["equivariance_error", "assert_equivariant", "batch_dependence",
           "assert_batch_independent"]

DTYPE_ADVICE = ("pass dtype= matching the model's parameters (e.g. dtype=torch.float32), or "
                "check a float64 copy, copy.deepcopy(model).double()")


def equivariance_error(f: Callable, group: LieGroup, in_rep: Representation,
                       out_rep: Representation | None = None, x: torch.Tensor | None = None, *,
                       batch: int = 16, generator: torch.Generator | None = None,
                       dtype: torch.dtype | None = None,
                       **sample_options) -> tuple[float, float]:
    """Worst violation of ``f(g . x) = g . f(x)`` over one random ``g`` per sample.

    Args:
        f: the function or module. It is evaluated as given: liesoft never casts or otherwise
            changes your module.
        group, in_rep, out_rep: the symmetry; ``out_rep`` defaults to :class:`Scalar`.
        x: inputs ``(B, ..., *in_rep.shape)``; default ``batch`` standard-normal samples. They
            are cast to ``dtype`` (a copy; your tensor is unchanged).
        generator: a ``torch.Generator`` for reproducible draws.
        dtype: the precision of the check, default float64. A module whose parameters or
            buffers have another dtype (a float32 model) raises ``TypeError`` naming both
            dtypes: pass ``dtype=torch.float32`` to check it in float32 (with a float32
            tolerance in :func:`assert_equivariant`), or a float64 copy
            ``copy.deepcopy(model).double()``.
        **sample_options: passed to ``group.sample`` (e.g. ``beta_max=0.5``).

    Group elements are drawn in float64; the actions on float32 data are computed in float64
    and rounded once. The violation is computed in float64 from the two outputs.

    Returns:
        ``(absolute, relative)``: the largest ``|f(g.x) - g.f(x)|`` over samples and components,
        and the same divided by ``max(1, |g.f(x)|)`` of that sample.
    """
    dtype = torch.float64 if dtype is None else resolve_dtype(dtype)
    check_module_dtype(f, dtype, "the equivariance check",
                       ": pass dtype= matching them (e.g. dtype=torch.float32) or check a "
                       "float64 copy, copy.deepcopy(model).double() (liesoft never casts your "
                       "module)")
    out_rep = Scalar() if out_rep is None else out_rep
    in_rep, out_rep = in_rep.bind(group), out_rep.bind(group)
    if x is None:
        x = torch.randn(batch, *in_rep.shape(), generator=generator, dtype=torch.float64)
    else:
        check_floating(x, "x")
    x = x.detach().to(dtype)
    g = group.sample(x.shape[0], generator=generator, dtype=torch.float64, device=x.device,
                     **sample_options)
    with torch.no_grad(), named_dtype_errors("the equivariance check", dtype, DTYPE_ADVICE,
                                             subject="f"):
        lhs = f(in_rep.act(g, x))
        rhs = out_rep.act(g, f(x))
    lhs, rhs = lhs.to(torch.float64), rhs.to(torch.float64)
    diff = (lhs - rhs).abs().reshape(x.shape[0], -1).amax(-1)
    scale = rhs.abs().reshape(x.shape[0], -1).amax(-1).clamp(min=1.0)
    return float(diff.max()), float((diff / scale).max())


def assert_equivariant(f: Callable, group: LieGroup, in_rep: Representation,
                       out_rep: Representation | None = None, x: torch.Tensor | None = None, *,
                       rtol: float | None = None, batch: int = 16,
                       generator: torch.Generator | None = None,
                       dtype: torch.dtype | None = None, **sample_options) -> float:
    """Raise ``AssertionError`` if ``f`` is not equivariant to relative tolerance ``rtol``.

    Evaluates ``f`` in ``dtype`` (default float64; see :func:`equivariance_error`, which also
    says what happens with a float32 module) and returns the worst relative violation, so it
    can also be logged. ``rtol`` defaults to ``1e-8`` in float64 and to 1000 roundings of
    ``dtype`` otherwise (``1.2e-4`` in float32)::

        assert_equivariant(lambda p: p[..., 0]**2 - (p[..., 1:]**2).sum(-1),
                           Lorentz(), Vector4())
        assert_equivariant(float32_model, SO3(), Vector(), Vector(), dtype=torch.float32)
    """
    work = torch.float64 if dtype is None else resolve_dtype(dtype)
    if rtol is None:
        rtol = 1e-8 if work == torch.float64 else 1e3 * torch.finfo(work).eps
    absolute, relative = equivariance_error(f, group, in_rep, out_rep, x, batch=batch,
                                            generator=generator, dtype=work, **sample_options)
    if not relative <= rtol:
        raise AssertionError(
            f"f is not equivariant under {group.name} ({in_rep!r} -> "
            f"{out_rep if out_rep is not None else Scalar()!r}): worst |f(g.x) - g.f(x)| = "
            f"{absolute:.3e} (relative {relative:.3e} > rtol {rtol:.1e}, {work})")
    return relative


def batch_dependence(f: Callable, x: torch.Tensor, *args,
                     generator: torch.Generator | None = None) -> float:
    """Largest change of a sample's output when the rest of its batch changes, relative to
    ``max(1, max |f(x)|)``, under the penalties' rule for the model's passes.

    Every penalty takes per-sample Jacobians from gradients of batch sums and compares outputs
    of batches it builds itself, so it needs ``f``'s output for sample ``i`` to depend on
    ``x[i]`` (and ``args[i]``) only. Batch normalisation in training mode is run as the
    penalties run it (with the statistics of the full batch ``x``, recorded by its first pass);
    dropout layers are switched off for the check (restored afterwards). The batch is evaluated
    whole, permuted, and in two halves.

    Args:
        f: the model, a callable ``f(x, *args)`` (a module or a closure over one).
        x: a batch ``(B, ...)`` with ``B >= 2``; ``args``: per-sample tensors passed after it.
        generator: a ``torch.Generator`` for the permutation.
    """
    from ._checks import check_floating
    from .penalties.model_state import PenaltyPasses, dropout_off

    check_floating(x, "x")
    batch = x.shape[0]
    if x.ndim == 0 or batch < 2:
        raise ValueError(f"x must be a batch of at least 2 samples, got shape {tuple(x.shape)}")
    for i, a in enumerate(args):
        if isinstance(a, torch.Tensor) and (a.ndim == 0 or a.shape[0] != batch):
            raise ValueError(f"extra argument {i} must be a per-sample tensor with shape[0] == "
                             f"{batch}, got {tuple(a.shape)}")

    def rows(idx):
        return x[idx], tuple(a[idx] if isinstance(a, torch.Tensor) else a for a in args)

    perm = torch.randperm(batch, generator=generator).to(x.device)
    half = batch // 2
    pieces = [perm, torch.arange(half, device=x.device), torch.arange(half, batch, device=x.device)]
    with torch.no_grad(), dropout_off(f), PenaltyPasses(f, x.device, stochastic=False) as passes:
        full = passes.run(x, args)
        if not isinstance(full, torch.Tensor) or full.ndim == 0 or full.shape[0] != batch:
            raise ValueError(f"f must return a tensor with one row per sample (shape[0] == "
                             f"{batch}), got {getattr(full, 'shape', type(full).__name__)}")
        scale = max(1.0, float(full.abs().max()))
        worst = 0.0
        for idx in pieces:
            part = passes.run(*rows(idx))
            worst = max(worst, float((part - full[idx]).abs().max()) / scale)
    return worst


def assert_batch_independent(f: Callable, x: torch.Tensor, *args, rtol: float | None = None,
                             generator: torch.Generator | None = None) -> float:
    """Raise ``AssertionError`` if a sample's output depends on the rest of its batch.

    The penalties need it (see :func:`batch_dependence`, which this calls): a model that mixes
    samples in ways liesoft cannot see — attention or pooling across the batch axis, a custom
    layer normalising with batch statistics, ``torch.nn.functional.batch_norm`` called with
    ``training=True`` inside a custom module — gets wrong δSEAL values silently. Batch
    normalisation layers (``nn.BatchNorm*``, lazy and sync versions) in training mode pass: the
    penalties run them with fixed statistics. Returns the worst relative change::

        assert_batch_independent(model, x_batch)        # once, before training with SEAL

    Args:
        rtol: tolerance relative to ``max(1, max |f(x)|)``; default ``1000 * eps`` of ``x``'s
            dtype (outputs of different batch sizes may round differently).
    """
    worst = batch_dependence(f, x, *args, generator=generator)
    if rtol is None:
        rtol = 1e3 * torch.finfo(x.dtype).eps
    if not worst <= rtol:
        raise AssertionError(
            f"f's output for a sample depends on the rest of its batch: it changes by "
            f"{worst:.3e} (relative to max(1, max|f(x)|)) > rtol {rtol:.1e} when the batch is "
            f"permuted or halved. The penalties need per-sample outputs: remove the coupling "
            f"(attention/pooling across the batch axis, custom batch statistics) or compute it "
            f"outside the model.")
    return worst
