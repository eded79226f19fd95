"""What both penalties share: the two equations, input checks, batch subsets, attention kernel."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

import torch

from .._checks import check_floating, check_module_dtype, is_dtype_error
from ..groups.base import LieGroup, _device_of
from ..reps import Representation

__all__ = ["gseal_value", "delta_seal_value", "squared_norm", "math_attention"]


# ---------------------------------------------------------------------------- the equations
def squared_norm(r: torch.Tensor, batch_dims: int = 1) -> torch.Tensor:
    """``|r|^2`` summed over every axis after the first ``batch_dims`` (Euclidean norm over all
    output components, middle axes included)."""
    return r.pow(2).reshape(*r.shape[:batch_dims], -1).sum(-1)


def gseal_value(f_gx: torch.Tensor, g_fx: torch.Tensor) -> torch.Tensor:
    """Eq. 6: ``Gamma_G = (1/N) sum_i |f(g_i . x_i) - (g_i . f)(x_i)|^2``."""
    return squared_norm(f_gx - g_fx).mean()


def delta_seal_value(j_xi: torch.Tensor, drho_f: torch.Tensor) -> torch.Tensor:
    """Eq. 10: ``Gamma_delta = (1/(N n)) sum_i sum_a |J_f(x_i) L_a x_i - dL_a f(x_i)|^2``.

    Both arguments have shape ``(n, N, ...)``: generator, sample, output components.
    """
    return squared_norm(j_xi - drho_f, batch_dims=2).mean()


# ---------------------------------------------------------------------------- helpers
def math_attention():
    """Context forcing PyTorch's MATH attention kernel (double backward and forward-mode AD
    fail through the fused ``scaled_dot_product_attention`` kernels)."""
    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel
    except ImportError:  # pragma: no cover - very old torch
        return contextlib.nullcontext()
    return sdpa_kernel(SDPBackend.MATH)


class PenaltyBase(torch.nn.Module):
    """Shared configuration and checks of :class:`GSEAL` and :class:`DeltaSEAL`.

    A ``torch.nn.Module`` without parameters, so it moves with ``.to()`` and prints nicely.
    """

    def __init__(self, group: LieGroup, in_rep: Representation, out_rep: Representation,
                 fraction: float):
        super().__init__()
        if not isinstance(group, LieGroup):
            raise TypeError(f"group must be a liesoft LieGroup, got {type(group).__name__}")
        for name, rep in (("in_rep", in_rep), ("out_rep", out_rep)):
            if not isinstance(rep, Representation):
                raise TypeError(f"{name} must be a liesoft Representation, got {rep!r}")
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not (
                0 < fraction <= 1):
            raise ValueError(f"fraction must lie in (0, 1], got {fraction!r}")
        self.group = group
        self.in_rep = in_rep.bind(group)
        self.out_rep = out_rep.bind(group)
        self.fraction = float(fraction)

    def extra_repr(self) -> str:
        return (f"group={self.group.name}, in_rep={self.in_rep!r}, out_rep={self.out_rep!r}, "
                f"fraction={self.fraction:g}")

    # -------------------------------------------------------------- checks
    def _check_input(self, x) -> torch.Tensor:
        check_floating(x, "x")
        shape = self.in_rep.shape()
        k = len(shape)
        if x.ndim < k + 1 or tuple(x.shape[x.ndim - k:]) != shape:
            want = ", ".join(["B", "..."] + [str(s) for s in shape])
            raise ValueError(f"x must have shape ({want}) for in_rep {self.in_rep!r} of "
                             f"{self.group.name}, got {tuple(x.shape)}")
        if x.shape[0] == 0:
            raise ValueError("x has an empty batch (shape[0] == 0)")
        return x

    def _check_output(self, y, batch: int, what: str = "model output") -> torch.Tensor:
        if not isinstance(y, torch.Tensor):
            raise TypeError(f"{what} must be a torch.Tensor, got {type(y).__name__}")
        shape = self.out_rep.shape()
        k = len(shape)
        if y.ndim < k + 1 or tuple(y.shape[y.ndim - k:]) != shape or y.shape[0] != batch:
            want = ", ".join([str(batch), "..."] + [str(s) for s in shape])
            raise ValueError(f"{what} must have shape ({want}) for out_rep {self.out_rep!r}, "
                             f"got {tuple(y.shape)}")
        if not y.is_floating_point():
            raise TypeError(f"{what} must be floating point, got dtype {y.dtype}")
        return y

    @staticmethod
    def _check_args(args: Sequence, batch: int) -> None:
        for i, a in enumerate(args):
            if isinstance(a, torch.Tensor) and (a.ndim == 0 or a.shape[0] != batch):
                raise ValueError(
                    f"extra argument {i} must be a per-sample tensor with shape[0] == {batch} "
                    f"(it is subset and passed to the model with x), got {tuple(a.shape)}")

    # -------------------------------------------------------------- subsets
    def _subset(self, x, args, fx, generator):
        """A random subset of ``round(fraction * B)`` samples (at least one), the same rows of
        every per-sample argument; the identity when ``fraction == 1``."""
        batch = x.shape[0]
        self._check_args(args, batch)
        if self.fraction >= 1:
            return x, tuple(args), fx
        m = max(1, round(self.fraction * batch))
        idx = torch.randperm(batch, generator=generator,
                             device=_device_of(generator, "cpu"))[:m]
        idx = idx.to(x.device)
        pick = lambda t: t.index_select(0, idx.to(t.device))  # noqa: E731
        args = tuple(pick(a) if isinstance(a, torch.Tensor) else a for a in args)
        return pick(x), args, (pick(fx) if fx is not None else None)


@contextlib.contextmanager
def named_dtype_errors(what: str, f: Callable, x):
    """Turn PyTorch's raw dtype mismatch raised inside the model (``mat1 and mat2 must have
    the same dtype``: float64 inputs to a float32 model, or the reverse) into a ``TypeError``
    that names the input's dtype and the model's. Nothing is cast: not the user's module, not
    their data. Other errors pass through unchanged."""
    try:
        yield
    except RuntimeError as exc:
        if not is_dtype_error(exc):
            raise
        from .model_state import modules_of

        dtype = getattr(x, "dtype", None)
        hint = (f": make them match, e.g. x.to(<the model's dtype>) or a copy of the model in "
                f"the input's dtype, copy.deepcopy(model).to({dtype}) (liesoft never casts "
                f"your module). PyTorch said: {exc}")
        for module in modules_of(f):
            try:
                check_module_dtype(module, dtype, what, hint)
            except TypeError as named:  # the module's dtype differs from the input's
                raise named from exc
        raise TypeError(
            f"{what} evaluates the model on {dtype} inputs and the model raised a dtype error; "
            f"no module of another dtype is visible to the penalty (pass the module, or a "
            f"closure over it, as f): make the model's parameters and the inputs the same "
            f"dtype (liesoft never casts your module). PyTorch said: {exc}") from exc


def evaluate(f: Callable, x: torch.Tensor, args: Sequence) -> torch.Tensor:
    return f(x, *args)


def as_residual_dtype(y: torch.Tensor) -> torch.Tensor:
    """Half/bfloat16 outputs (autocast) are differenced in float32."""
    return y.float() if y.dtype in (torch.float16, torch.bfloat16) else y
