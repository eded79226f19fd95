"""GSEAL: the group-sample penalty (paper eq. 6)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..groups.base import LieGroup
from ..groups.sampler import Sampler
from ..reps import Representation, Scalar
from .base import PenaltyBase
from .common import as_residual_dtype, squared_norm

__all__ = ["GSEAL", "gseal_value"]


def gseal_value(f_gx: torch.Tensor, g_fx: torch.Tensor) -> torch.Tensor:
    """Eq. 6: ``Gamma_G = (1/N) sum_i |f(g_i . x_i) - (g_i . f)(x_i)|^2`` from ``f(g_i . x_i)``
    and ``rho_out(g_i) f(x_i)``, both ``(N, ...)``. Every GSEAL value is computed here."""
    return squared_norm(f_gx - g_fx).mean()


class GSEAL(PenaltyBase):
    """Eq. 6: ``(1/N) sum_i |f(g_i . x_i) - rho_out(g_i) f(x_i)|^2``, one fresh random ``g_i``
    per sample per call.

    Args:
        group: the symmetry group (any :class:`~liesoft.LieGroup`, subgroups included).
        in_rep, out_rep: how inputs and outputs transform (``out_rep`` defaults to
            :class:`~liesoft.Scalar`: an invariant model).
        fraction: the penalty is evaluated on a random ``round(fraction * B)`` samples of the
            batch (at least one): an unbiased Monte Carlo estimate of the full-batch value at a
            fraction of the cost.
        discrete: also compose each ``g_i`` with a random product of the group's discrete
            generators (e.g. parity, time reversal for :class:`~liesoft.Lorentz`).
        stochastic: whether the model draws random numbers in its forward pass. ``None``
            (default) detects dropout layers in training mode; set ``True`` for custom noise
            (random particle subsets, noise injection) so that ``f(x)`` and ``f(g . x)`` see the
            same random stream; ``False`` never replays.
        **sampler_options: passed to ``group.sample``, e.g. ``beta_max=0.5`` or
            ``rotations=True`` for :class:`~liesoft.Lorentz`.

    Call ``penalty(f, x, *args, fx=None, generator=None, return_output=False)``:

    * ``f`` is any callable ``f(x, *args)``: a module, or a closure;
    * ``x``: ``(B, ..., *in_rep.shape)``; ``args``: extra per-sample tensors (e.g. a padding
      mask) passed to ``f`` after ``x`` and subset with it. They must be invariant under the
      group (a mask of all-zero padding is: zero four-vectors stay zero);
    * ``fx``: the prediction ``f(x, *args)`` the training loop already computed, reused
      instead of a second forward pass;
    * ``generator``: a ``torch.Generator`` for reproducible draws;
    * ``return_output=True``: returns ``(value, f(x))``, the task pass and the penalty sharing
      the forward pass.

    Returns a 0-dim differentiable tensor (in ``x``'s dtype, float32 for half-precision
    outputs).

    Models with batch normalisation or dropout in training mode: the penalty's passes normalise
    with the clean batch's statistics (no running-statistics update) and share one random stream
    between ``f(x)`` and ``f(g . x)``; a reused ``fx`` is then recomputed under that rule (one
    more forward pass). With ``return_output=True`` and batch normalisation only (no dropout),
    the task pass is the clean pass and no pass is added. See ``docs/models.md``.
    """

    def __init__(self, group: LieGroup, in_rep: Representation,
                 out_rep: Representation | None = None, *, fraction: float = 1.0,
                 discrete: bool = False, stochastic: bool | None = None, **sampler_options):
        super().__init__(group, in_rep, Scalar() if out_rep is None else out_rep, fraction,
                         stochastic)
        self.discrete = bool(discrete)
        self.sampler = Sampler(group, discrete=self.discrete, **sampler_options)

    @property
    def sampler_options(self) -> dict:
        """The options passed to ``group.sample`` (those of :attr:`sampler`)."""
        return dict(self.sampler.options)

    def sample(self, n: int, device, generator=None) -> torch.Tensor:
        """The ``n`` group elements of one call (float64: the action rounds once to the data's
        dtype): ``self.sampler.sample(n, generator=generator, dtype=torch.float64, ...)``."""
        return self.sampler.sample(n, generator=generator, dtype=torch.float64, device=device)

    def forward(self, f: Callable, x: torch.Tensor, *args, fx: torch.Tensor | None = None,
                generator: torch.Generator | None = None, return_output: bool = False):
        """Eq. 6 on the batch ``x``: ``mean_i |f(g_i . x_i) - rho_out(g_i) f(x_i)|^2``.

        Args:
            f: the model, any callable ``f(x, *args)`` (a module, or a closure over one).
            x: the clean batch ``(B, ..., *in_rep.shape)``.
            *args: per-sample tensors passed to ``f`` after ``x`` (a padding mask), subset with
                ``x``; they must be invariant under the group.
            fx: ``f(x, *args)`` from the task pass, reused to save a forward pass (ignored and
                recomputed when the model has batch normalisation or dropout in training mode:
                the task pass's batch coupling and dropout mask are not the penalty's; use
                ``return_output=True`` there instead).
            generator: a ``torch.Generator`` for the group elements, the subset and the dropout
                stream; with it, the global random state is left untouched.
            return_output: also return ``f(x, *args)`` on the whole batch, for the task loss:
                the task pass proper (batch statistics, one running-statistics update, the
                global dropout stream). With batch normalisation and no randomness it is also
                the penalty's clean pass (its batch statistics normalise ``f(g . x)``), so the
                penalty costs one forward pass, as with a reused ``fx``.

        Returns:
            A 0-dim tensor, differentiable with respect to the model's parameters, or
            ``(value, output)`` with ``return_output=True``.
        """
        return super().forward(f, x, *args, fx=fx, generator=generator,
                               return_output=return_output)

    def _check_fx(self, fx, x, return_output: bool) -> None:
        if return_output:
            raise ValueError("pass fx or return_output=True, not both (with "
                             "return_output=True the penalty computes f(x) itself)")
        super()._check_fx(fx, x, return_output)

    def _residual(self, x, args, fx, generator, run):
        """Eq. 6 on the prepared rows: one fresh ``g_i`` per sample."""
        if fx is None:
            fx = self._check_output(run(x, args), x.shape[0])
        g = self.sample(x.shape[0], x.device, generator)
        f_gx = self._check_output(run(self.in_rep.act(g, x), args), x.shape[0])
        fx = as_residual_dtype(fx)
        return gseal_value(as_residual_dtype(f_gx), self.out_rep.act(g, fx)), fx
