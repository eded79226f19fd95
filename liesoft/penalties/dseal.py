"""δSEAL: the infinitesimal penalty (paper eq. 10), exact and estimated."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable

import torch
import torch.autograd.forward_ad as fwAD

from ..groups.base import LieGroup, _device_of
from ..groups.expm import exp_near_identity
from ..reps import Representation, Scalar
from .attention import math_attention
from .base import PenaltyBase
from .common import as_residual_dtype, squared_norm
from .norms import composite_layer_norm

__all__ = ["DeltaSEAL", "delta_seal_value"]

MODES = ("exact", "random", "fd")
ROUTES = ("auto", "reverse", "forward", "forward_ad")
SCHEMES = ("forward", "central")
REDUCTIONS = ("mean", "sum")


def delta_seal_value(j_xi: torch.Tensor, drho_f: torch.Tensor | None = None, *,
                     n: int | None = None) -> torch.Tensor:
    """Eq. 10: ``Gamma_delta = (1/(N n)) sum_i sum_a |J_f(x_i) L_a x_i - dL_a f(x_i)|^2``.
    Every δSEAL value (each mode and route) is computed here.

    ``j_xi`` and ``drho_f`` have shape ``(n, N, ...)``: generator, sample, output components
    (``drho_f=None``: ``j_xi`` is already the difference). With ``n`` given (``mode="fd"``),
    ``j_xi`` is ``(N, ...)``: the difference along one random direction
    ``A = sum_a c_a L_a``, ``c ~ N(0, 1)``, whose squared norm estimates the sum over the ``n``
    generators.
    """
    r = j_xi if drho_f is None else j_xi - drho_f
    if n is None:
        return squared_norm(r, batch_dims=2).mean()
    return squared_norm(r).mean() / n


class DeltaSEAL(PenaltyBase):
    """Eq. 10: ``(1/(N n)) sum_i sum_a |J_f(x_i) xi_a(x_i) - drho_out(L_a) f(x_i)|^2`` with
    ``xi_a(x) = in_rep.infinitesimal(L_a, x)`` over the ``n`` selected generators ``L_a``.

    Correct for any output representation: the Jacobian is contracted per output component
    (the paper's public code differentiates the *sum* of the outputs, right only for a scalar).

    Args:
        group, in_rep, out_rep: the symmetry (``out_rep`` defaults to :class:`~liesoft.Scalar`).
        mode:
            * ``"exact"`` — the value of eq. 10, by the cheapest exact autodiff ``route``;
            * ``"random"`` — unbiased one-pass estimate: project the output on a Gaussian
              vector ``u ~ N(0, 1)`` per sample; one vector-Jacobian product ``J^T u`` serves
              all generators, and ``E_u[(u . r)^2] = |r|^2``;
            * ``"fd"`` — finite differences along a random algebra direction
              ``A = sum_a c_a L_a``, ``c ~ N(0, 1)``:
              ``|f(exp(eps A) x) - rho_out(exp(eps A)) f(x)|^2 / (n eps^2)``. Only first-order
              autodiff, so it works with fused attention kernels and under ``torch.compile``.
              Unbiased for eq. 10 up to O(eps^2) (the O(eps) term is odd in ``c``);
              ``scheme="central"`` uses ``exp(+-eps A)`` and is O(eps^2) per draw.
        fraction: evaluate on a random ``round(fraction * B)`` samples (unbiased, cheaper).
        generators: restrict the sum to some generators: indices, names (``"K_x"``), a family
            name of ``group.families()`` (``"boost"``), or a tensor ``(m, d, d)`` of algebra
            elements. ``n`` in eq. 10 is their number.
        route: for ``mode="exact"``: ``"reverse"`` (one vector-Jacobian product per output
            component, k of them), ``"forward"`` (one Jacobian-vector product per generator,
            by double backward), ``"forward_ad"`` (the same with forward-mode AD), or
            ``"auto"``: reverse when ``k <= n``, else forward. Every route gives the same value
            and parameter gradients (tests against ``torch.func`` per-sample Jacobians): the
            forward routes compute layer norm (and, for ``forward_ad``, softmax and attention)
            from elementary operations, since torch's own third-order derivatives of
            ``layer_norm`` are wrong (pytorch/pytorch#175754). A model calling other fused
            kernels with the same defect would still be wrong on the forward routes; use
            ``"reverse"`` if in doubt (it needs only second-order derivatives).
        eps: step of ``mode="fd"`` (default 1e-4 in float64, 1e-2 in float32, 3e-2 when the
            model runs in 16 bits: under ``torch.autocast`` to float16/bfloat16 or half inputs).
        stochastic: whether the model draws random numbers in its forward pass (``None``:
            detect dropout layers in training mode; see :class:`~liesoft.GSEAL`).
        reduction: over the ``n`` generators: ``"mean"`` (eq. 10 and the paper's toy code,
            the default) or ``"sum"`` (the paper's top-tagging code, which takes the squared
            norm of the vector of the n Lie derivatives per sample). ``"sum"`` is exactly
            ``n`` times ``"mean"`` in every mode: the paper's top-tagging λ_δ is used as is
            with ``reduction="sum"`` (λ_δ = 0.01 there is λ = 0.06 with ``"mean"`` for the six
            Lorentz generators).

    Call ``penalty(f, x, *args, fx=None, generator=None, return_output=False)`` (see
    :class:`~liesoft.GSEAL` for ``args``). The exact and random modes differentiate ``f`` with
    respect to ``x`` and run ``f`` under the MATH attention kernel, so double backward works
    through ``scaled_dot_product_attention``. To reuse the forward pass for the task loss, use
    ``value, fx = penalty(f, x, return_output=True)``, or pass ``fx`` computed from an ``x``
    with ``requires_grad=True`` (and under :func:`liesoft.math_attention` for attention models).

    Models with batch normalisation or dropout in training mode: the penalty's passes normalise
    with the clean batch's statistics, held constant (each sample's output then depends on that
    sample only, so the per-sample Jacobians are right, and running statistics are not
    updated) and replay one random stream (``fd``'s ``f(x)`` and ``f(exp(eps A) x)`` share their
    dropout masks). See ``docs/models.md``.
    """

    def __init__(self, group: LieGroup, in_rep: Representation,
                 out_rep: Representation | None = None, *, mode: str = "exact",
                 fraction: float = 1.0, generators=None, route: str = "auto",
                 eps: float | None = None, scheme: str = "forward",
                 reduction: str = "mean", stochastic: bool | None = None):
        super().__init__(group, in_rep, Scalar() if out_rep is None else out_rep, fraction,
                         stochastic)
        for name, value, allowed in (("mode", mode, MODES), ("route", route, ROUTES),
                                     ("scheme", scheme, SCHEMES),
                                     ("reduction", reduction, REDUCTIONS)):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
        if eps is not None and not (isinstance(eps, (int, float)) and 0 < eps < 1):
            raise ValueError(f"eps must be a number in (0, 1), got {eps!r}")
        self.mode, self.route, self.eps, self.scheme = mode, route, eps, scheme
        self.reduction = reduction
        self.register_buffer("algebra", group.select_generators(generators).matrices,
                             persistent=False)
        self._forward_shapes: set = set()  # input shapes whose auto route is "forward"

    @property
    def n(self) -> int:
        """Number of generators in the sum of eq. 10."""
        return self.algebra.shape[0]

    def extra_repr(self) -> str:
        return super().extra_repr() + f", mode={self.mode}, n={self.n}, " \
            f"reduction={self.reduction}"

    # ------------------------------------------------------------------ entry point
    def forward(self, f: Callable, x: torch.Tensor, *args, fx: torch.Tensor | None = None,
                generator: torch.Generator | None = None, return_output: bool = False):
        """Eq. 10 on the batch ``x`` (times ``n`` with ``reduction="sum"``).

        Args:
            f: the model, any callable ``f(x, *args)`` (a module, or a closure over one).
            x: the batch ``(B, ..., *in_rep.shape)``.
            *args: per-sample tensors passed to ``f`` after ``x`` (a padding mask), subset with
                ``x``; they must be invariant under the group.
            fx: ``f(x, *args)`` from the task pass, reused to save a forward pass. For
                ``mode="exact"``/``"random"`` it must come from an ``x`` with
                ``requires_grad=True``. It is recomputed (one more pass) when the route is
                ``"forward"`` (its graph must compute layer norm by parts) and when the model
                has batch normalisation or dropout in training mode.
            generator: a ``torch.Generator`` for the subset, the random projections (``random``),
                the directions (``fd``) and the dropout stream; with it, the global random
                state is left untouched.
            return_output: also return the model's output on ``x``, for the task loss. With
                batch normalisation or dropout in training mode it is the task pass proper (batch
                statistics, running-statistics update, the global dropout stream), run before
                the penalty's own passes; for ``mode="fd"`` with batch normalisation and no
                randomness it is also fd's clean pass (no pass added, as with a reused ``fx``).

        Returns:
            A 0-dim tensor, differentiable with respect to the model's parameters (detached
            under ``torch.no_grad()``), or ``(value, output)`` with ``return_output=True``.
        """
        return super().forward(f, x, *args, fx=fx, generator=generator,
                               return_output=return_output)

    # ------------------------------------------------------------------ the pass policy's hooks
    @property
    def _reuses_fx(self) -> bool:
        return self.mode == "fd"

    @property
    def _records_task_pass(self) -> bool:
        # fd with fraction < 1 is "fx = f(x); penalty(f, x, fx=fx)", whose passes take the
        # statistics of their own clean pass
        return self.mode == "fd" and self.fraction >= 1

    def _check_fx(self, fx, x, return_output: bool) -> None:
        super()._check_fx(fx, x, return_output)
        if self.mode != "fd":
            if self.fraction < 1:
                raise ValueError(
                    f"fx can be reused by mode={self.mode!r} only with fraction=1; with "
                    "fraction < 1 let the penalty run its own forward on the subset")
            if not (x.requires_grad and fx.requires_grad):
                raise ValueError(
                    f"mode={self.mode!r} differentiates fx with respect to x: compute fx "
                    "from an x with requires_grad=True (or omit fx)")

    def _finish(self, value: torch.Tensor) -> torch.Tensor:
        if self.reduction == "sum":  # sum over generators = n x their mean (eq. 10)
            value = value * self.n
        return value

    # ------------------------------------------------------------------ pieces
    def _residual(self, x, args, fx, generator, run):
        if self.mode == "fd":
            return self._finite_difference(x, args, fx, generator, run)
        return self._autodiff(x, args, fx, generator, run)

    def _xi(self, x: torch.Tensor) -> torch.Tensor:
        """``(n, B, ..., *in_shape)``: the infinitesimal transformations of the input."""
        return self.in_rep.infinitesimal_all(self.algebra, x)

    def _drho_f(self, fx: torch.Tensor) -> torch.Tensor:
        """``(n, B, ..., *out_shape)``: ``drho_out(L_a) f(x)`` (zero for invariant outputs)."""
        return self.out_rep.infinitesimal_all(self.algebra, fx)

    def _autodiff(self, x, args, fx, generator, run):
        create_graph = torch.is_grad_enabled()
        shape = tuple(x.shape[1:])
        with torch.enable_grad():
            if fx is not None and self.mode == "exact" and self._route(fx) == "forward":
                fx = None  # the user's graph has native layer norms: recompute (see norms.py)
            if fx is None:
                leaf = x.detach().requires_grad_(True)
                by_parts = self.mode == "exact" and (
                    self.route == "forward"
                    or (self.route == "auto" and shape in self._forward_shapes))
                fx = self._clean_pass(run, leaf, args, by_parts)
                if self.mode == "exact" and self._route(fx) == "forward":
                    self._forward_shapes.add(shape)
                    if not by_parts:
                        fx = self._clean_pass(run, leaf, args, True)
            else:
                leaf = x
            xi = self._xi(leaf.detach())
            fx_r = as_residual_dtype(fx)
            target = self._drho_f(fx_r)
            if self.mode == "random":
                value = self._random_projection(fx, leaf, xi, target, create_graph, generator)
            else:
                j_xi = jacobian_times(run, leaf, args, fx, xi, self._route(fx), create_graph)
                value = delta_seal_value(as_residual_dtype(j_xi), target)
        return (value if create_graph else value.detach()), fx

    def _clean_pass(self, run, leaf, args, by_parts):
        with math_attention(), (composite_layer_norm() if by_parts else contextlib.nullcontext()):
            return self._check_output(run(leaf, args), leaf.shape[0])

    def _route(self, fx):
        if self.route != "auto":
            return self.route
        k = math.prod(fx.shape[1:])
        return "reverse" if k <= self.n else "forward"

    def _random_projection(self, fx, leaf, xi, target, create_graph, generator):
        """``E_u[(u . (J xi_a - drho f))^2] = |J xi_a - drho f|^2`` for ``u ~ N(0, 1)``."""
        dev = _device_of(generator, fx.device)
        u = torch.randn(fx.shape, generator=generator, dtype=fx.dtype, device=dev).to(fx.device)
        vjp = vector_jacobian(fx, leaf, u, create_graph)
        batch = fx.shape[0]
        projected = torch.einsum("bi,nbi->nb", vjp.reshape(batch, -1),
                                 xi.reshape(self.n, batch, -1))
        projected_target = torch.einsum("bi,nbi->nb", as_residual_dtype(u).reshape(batch, -1),
                                        target.reshape(self.n, batch, -1))
        return delta_seal_value(as_residual_dtype(projected), projected_target)

    def _finite_difference(self, x, args, fx, generator, run):
        if fx is None:
            fx = self._check_output(run(x, args), x.shape[0])
        eps = self.eps if self.eps is not None else default_eps(x)
        dev = _device_of(generator, x.device)
        c = torch.randn(x.shape[0], self.n, generator=generator, dtype=torch.float64,
                        device=dev).to(x.device)
        A = torch.einsum("bn,nij->bij", c, self.algebra.to(x.device, torch.float64))
        fx_r = as_residual_dtype(fx)

        def difference(step):
            g = exp_near_identity(step * A)
            f_gx = self._check_output(run(self.in_rep.act(g, x), args), x.shape[0])
            return as_residual_dtype(f_gx) - self.out_rep.act(g, fx_r)

        if self.scheme == "central":
            d = (difference(eps) - difference(-eps)) / (2 * eps)
        else:
            d = difference(eps) / eps
        return delta_seal_value(d, n=self.n), fx


HALF = (torch.float16, torch.bfloat16)


def default_eps(x: torch.Tensor) -> float:
    """fd's step: 1e-4 in float64, 1e-2 in float32, 3e-2 when the model runs in 16 bits
    (``x`` half, or ``torch.autocast`` to a half type on ``x``'s device). A forward difference
    has truncation error O(eps) and rounding error O(u / eps) (unit roundoff ``u``: 2^-8 for
    bfloat16, 2^-11 for float16); the best step is ~sqrt(u) = 0.06 / 0.02. At 1e-2 the bfloat16
    rounding noise inflated the penalty by 9-14 % (tests/test_autocast.py), at 3e-2 by <= 2 %."""
    if x.dtype == torch.float64:  # autocast leaves float64 alone
        return 1e-4
    dev = x.device.type
    autocast_half = torch.is_autocast_enabled(dev) and torch.get_autocast_dtype(dev) in HALF
    if x.dtype in HALF or autocast_half:
        return 3e-2
    return 1e-2


# ---------------------------------------------------------------------------- autodiff routes
def vector_jacobian(fx, leaf, u, create_graph) -> torch.Tensor:
    """``J^T u`` per sample (``(B, ..., *in_shape)``); zeros when ``f`` ignores ``x``."""
    if not fx.requires_grad:
        return torch.zeros_like(leaf)
    (g,) = torch.autograd.grad(fx, leaf, grad_outputs=u, create_graph=create_graph,
                               retain_graph=True, allow_unused=True)
    return torch.zeros_like(leaf) if g is None else g


def jacobian_times(run, leaf, args, fx, xi, route, create_graph) -> torch.Tensor:
    """``J_f(x) xi_a`` for every ``a``: ``(n, B, *fx.shape[1:])``, by the given route.

    ``run(x, args)`` evaluates the model (route ``"forward_ad"``). Per-sample Jacobians come
    from gradients of batch sums, so the passes must treat samples independently (the
    penalties run batch normalisation with fixed statistics, see ``model_state.py``). Route
    ``"forward"`` needs ``fx`` computed under :func:`composite_layer_norm`.
    """
    n, batch = xi.shape[0], fx.shape[0]
    if route == "reverse":
        flat = fx.reshape(batch, -1)
        rows = []
        for j in range(flat.shape[1]):
            unit = torch.zeros_like(flat)
            unit[:, j] = 1
            rows.append(vector_jacobian(flat, leaf, unit, create_graph))
        jac = torch.stack(rows, dim=1).reshape(batch, flat.shape[1], -1)  # (B, k, in)
        out = torch.einsum("bki,nbi->nbk", jac, xi.reshape(n, batch, -1))
        return out.reshape(n, *fx.shape)
    if route == "forward":
        if not fx.requires_grad:
            return torch.zeros(n, *fx.shape, dtype=fx.dtype, device=fx.device)
        u = torch.zeros_like(fx, requires_grad=True)
        vjp = vector_jacobian(fx, leaf, u, create_graph=True)  # J^T u, linear in u
        outs = []
        for a in range(n):
            if not vjp.requires_grad:
                outs.append(torch.zeros_like(fx))
                continue
            (jv,) = torch.autograd.grad(vjp, u, grad_outputs=xi[a], create_graph=create_graph,
                                        retain_graph=True, allow_unused=True)
            outs.append(torch.zeros_like(fx) if jv is None else jv)
        return torch.stack(outs)
    if route == "forward_ad":
        outs = []
        with math_attention(), composite_layer_norm(softmax=True), fwAD.dual_level():
            for a in range(n):
                y = run(fwAD.make_dual(leaf, xi[a]), args)
                tangent = fwAD.unpack_dual(y).tangent
                outs.append(torch.zeros_like(fx) if tangent is None else tangent)
        return torch.stack(outs)
    raise ValueError(f"unknown route {route!r}")
