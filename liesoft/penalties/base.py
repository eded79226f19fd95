"""The base of both penalties: configuration, input checks, batch subsets, and the pass policy.

A penalty implements only its residual, ``_residual(x, args, fx, generator, run)``: its value
on prepared inputs (the batch or its subset, the clean output ``fx`` when it may reuse one,
``run(x, args)`` evaluating the model). :meth:`PenaltyBase.forward` owns everything around it,
once for both penalties: the subset (``fraction``), the clean pass, the task pass shared with
``return_output=True``, and the model's state in the passes (batch normalisation and dropout
in training mode, :class:`~liesoft.penalties.model_state.PenaltyPasses`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import torch

from .._checks import check_floating, named_dtype_errors
from ..groups.base import LieGroup, _device_of
from ..reps import Representation
from .common import evaluate
from .model_state import PenaltyPasses, modules_of

__all__ = ["PenaltyBase"]

DTYPE_ADVICE = ("make the model's parameters and the inputs the same dtype, e.g. x.to(<the "
                "model's dtype>) or a copy of the model in the input's dtype, "
                "copy.deepcopy(model).to({dtype}) (liesoft never casts your module; it sees a "
                "module passed as f or captured by a closure f)")


class PenaltyBase(torch.nn.Module):
    """Shared configuration, checks and pass policy of :class:`GSEAL` and :class:`DeltaSEAL`.

    A ``torch.nn.Module`` without parameters, so it moves with ``.to()`` and prints nicely.
    Subclasses implement :meth:`_residual` and say how it relates to the task pass
    (:attr:`_reuses_fx`, :attr:`_records_task_pass`).
    """

    def __init__(self, group: LieGroup, in_rep: Representation, out_rep: Representation,
                 fraction: float, stochastic: bool | None = None):
        super().__init__()
        if not isinstance(group, LieGroup):
            raise TypeError(f"group must be a liesoft LieGroup, got {type(group).__name__}")
        for name, rep in (("in_rep", in_rep), ("out_rep", out_rep)):
            if not isinstance(rep, Representation):
                raise TypeError(f"{name} must be a liesoft Representation, got {rep!r}")
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not (
                0 < fraction <= 1):
            raise ValueError(f"fraction must lie in (0, 1], got {fraction!r}")
        if stochastic is not None and not isinstance(stochastic, bool):
            raise TypeError(f"stochastic must be None, True or False, got {stochastic!r}")
        self.group = group
        self.in_rep = in_rep.bind(group)
        self.out_rep = out_rep.bind(group)
        self.fraction = float(fraction)
        self.stochastic = stochastic

    def extra_repr(self) -> str:
        return (f"group={self.group.name}, in_rep={self.in_rep!r}, out_rep={self.out_rep!r}, "
                f"fraction={self.fraction:g}")

    # -------------------------------------------------------------- what a penalty implements
    def _residual(self, x, args, fx, generator, run) -> tuple[torch.Tensor, torch.Tensor]:
        """``(value, clean output)`` on prepared inputs: ``x``, ``args`` (the batch or its
        subset), ``fx`` (the clean output of those rows, or ``None``: compute it with ``run``),
        ``run(x, args)`` one pass of the model under the pass policy."""
        raise NotImplementedError

    @property
    def _reuses_fx(self) -> bool:
        """Whether :meth:`_residual` works on a given clean output (the task pass's rows);
        ``False``: it computes its own (δSEAL's autodiff, on a leaf ``x``)."""
        return True

    @property
    def _records_task_pass(self) -> bool:
        """With ``return_output=True`` and batch normalisation only: whether the task pass
        proper is also the clean pass (its batch statistics normalise the penalty's passes)."""
        return self._reuses_fx

    def _check_fx(self, fx, x, return_output: bool) -> None:
        self._check_output(fx, x.shape[0], "fx")

    def _finish(self, value: torch.Tensor) -> torch.Tensor:
        return value

    # -------------------------------------------------------------- the call
    def forward(self, f: Callable, x: torch.Tensor, *args, fx: torch.Tensor | None = None,
                generator: torch.Generator | None = None, return_output: bool = False):
        """The penalty on the batch ``x`` (see the subclass), ``(value, f(x, *args))`` with
        ``return_output=True``."""
        dtype = getattr(x, "dtype", None)
        with named_dtype_errors(type(self).__name__, dtype, DTYPE_ADVICE.format(dtype=dtype),
                                modules=lambda: modules_of(f)):
            x = self._check_input(x)
            if fx is not None:
                self._check_fx(fx, x, return_output)
            value, output = self._passes(f, x, args, fx, generator, return_output)
            value = self._finish(value)
        return (value, output) if return_output else value

    def _passes(self, f, x, args, fx, generator, return_output):
        """The pass policy: ``(value, task output or None)``.

        * Nothing needs care (no batch normalisation or randomness in training mode): the
          penalty calls ``f``; with ``return_output=True`` the task pass ``f(x, *args)`` on the
          whole batch comes first and its rows are the clean output (for a penalty that
          reuses one), except for δSEAL's autodiff on the whole batch, whose own pass on a
          leaf ``x`` is the output.
        * Batch normalisation only, ``return_output=True`` and a penalty that records the
          task pass: the task pass proper records the statistics and is the clean pass.
        * Otherwise the task pass (``return_output=True``) runs as it alone would, then the
          penalty's passes run with the whole batch's statistics and one replayed random
          stream, on the subset.
        """
        passes = PenaltyPasses(f, x.device, generator, self.stochastic)
        own_output = return_output and not passes.active and not self._reuses_fx and (
            self.fraction >= 1)
        record = (return_output and fx is None and passes.active and passes.can_record
                  and self._records_task_pass)
        task_fx = fx
        if return_output and fx is None and not (own_output or record):
            # the task pass as the task pass alone computes it
            task_fx = self._check_output(evaluate(f, x, args), x.shape[0])
            fx = task_fx if self._reuses_fx else None
        if not passes.active:
            x, args, fx = self._subset(x, args, fx, generator)
            value, fx = self._residual(x, args, fx, generator, functools.partial(evaluate, f))
            return value, (fx if own_output else task_fx)
        with passes:
            if record:  # the task pass is the clean pass: its statistics normalise the rest
                task_fx = self._check_output(passes.record(x, args), x.shape[0])
                x, args, fx = self._subset(x, args, task_fx, generator)
            else:
                if self.fraction < 1:  # statistics of the whole batch, as in the task pass
                    self._check_args(args, x.shape[0])
                    passes.capture(x, args)
                x, args, fx = self._subset(x, args, None, generator)
            value, _ = self._residual(x, args, fx, generator, passes.run)
        return value, task_fx

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
