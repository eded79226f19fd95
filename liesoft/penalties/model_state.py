"""The model inside the penalty's passes: batch normalisation, dropout, random state.

The policy (docs/models.md): a penalty measures the symmetry of *the function the model
represents*, never the coupling of samples through batch statistics nor the noise of dropout,
and leaves the model as the task pass alone would.

* Batch normalisation in training mode (``BatchNorm1d/2d/3d``, their lazy versions and
  ``SyncBatchNorm``): the first pass of the penalty on the clean batch records each layer's batch
  mean and (biased) variance, as constants; every penalty pass then normalises with them, the
  way the layer does in eval mode. Each sample's output depends on that sample only, so
  per-sample Jacobians are right, and the running statistics and ``num_batches_tracked`` are
  not touched. ``SyncBatchNorm`` uses the statistics of the local batch (no collective).
* Instance normalisation with ``track_running_stats`` in training mode normalises per sample;
  its running buffers are shielded (the penalty's updates go to throw-away copies).
* Randomness (``Dropout`` and its variants in training mode, or any module when the penalty is
  built with ``stochastic=True``): every pass replays the same random stream, so ``f(x)`` and
  ``f(g . x)`` share their dropout masks. Each pass runs under :func:`torch.random.fork_rng`:
  the model's draws never advance the global random state. The stream's seed is one draw from
  the penalty's ``generator`` (else from the global RNG, like the penalty's other draws), so with
  a ``generator`` the global random state after the penalty is the one before it.

Training flags, buffers and hooks are restored when the penalty returns or raises.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Sequence

import torch
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.dropout import _DropoutNd
from torch.nn.modules.instancenorm import _InstanceNorm

__all__ = ["PenaltyPasses", "modules_of", "dropout_off"]

_NOISE = (_DropoutNd,)


def modules_of(f: Callable) -> list[torch.nn.Module]:
    """The ``torch.nn.Module`` objects the penalty can see in ``f``: ``f`` itself, the module of
    a bound method, a ``functools.partial``'s function and arguments, and the variables a closure
    (``lambda p: model(p, mask)``) captures. Modules reachable only through globals are not seen.
    """
    found, stack, seen = [], [f], set()
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, torch.nn.Module):
            found.append(obj)
        elif isinstance(obj, functools.partial):
            stack.extend([obj.func, *obj.args, *obj.keywords.values()])
        elif hasattr(obj, "__self__") and isinstance(obj.__self__, torch.nn.Module):
            stack.append(obj.__self__)
        elif callable(obj) and getattr(obj, "__closure__", None):
            for cell in obj.__closure__:
                try:
                    stack.append(cell.cell_contents)
                except ValueError:  # empty cell
                    pass
    return found


def _submodules(roots: Sequence[torch.nn.Module]):
    seen = set()
    for root in roots:
        for m in root.modules():
            if id(m) not in seen:
                seen.add(id(m))
                yield m


class PenaltyPasses:
    """Runs the model for a penalty under the policy of this module's docstring.

    ``PenaltyPasses(f, device, generator, stochastic)``; ``active`` is False when nothing needs
    care (no batch normalisation in training mode, no randomness): the penalty then calls ``f``
    directly, at no extra cost. Otherwise use it as a context manager and call :meth:`run` for
    every pass; the first pass that reaches a batch-norm layer records its statistics, so run
    the clean batch first (or call :meth:`capture`).
    """

    def __init__(self, f: Callable, device: torch.device, generator=None,
                 stochastic: bool | None = None):
        self.f = f
        self.device = torch.device(device)
        self.generator = generator
        roots = modules_of(f)
        mods = list(_submodules(roots))
        self.batch_norms = [m for m in mods if isinstance(m, _BatchNorm) and m.training]
        self.instance_norms = [m for m in mods if isinstance(m, _InstanceNorm) and m.training
                               and m.track_running_stats]
        if stochastic is None:
            stochastic = any(isinstance(m, _NOISE) and m.training and m.p > 0 for m in mods)
        self.stochastic = bool(stochastic)
        self.batch_coupled = bool(self.batch_norms)
        self.active = self.batch_coupled or self.stochastic or bool(self.instance_norms)

    # ------------------------------------------------------------------ context
    def __enter__(self):
        self._stats: dict = {}
        self._calls: dict = {}
        self._recording = False
        self._saved: dict = {}  # module -> (training, running_mean, running_var)
        self._handles = []
        self._shielded = []
        try:
            for m in self.batch_norms:
                self._handles.append(m.register_forward_pre_hook(self._batch_norm_hook))
            for m in self.instance_norms:
                bufs = {k: m._buffers[k] for k in ("running_mean", "running_var")}
                self._shielded.append((m, bufs))
                for k, t in bufs.items():
                    if t is not None:
                        m._buffers[k] = t.detach().clone()
            if self.stochastic:
                self._enter_noise()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        for h in self._handles:
            h.remove()
        self._handles = []
        for m, (training, mean, var) in self._saved.items():
            m.training = training
            m._buffers["running_mean"], m._buffers["running_var"] = mean, var
        self._saved = {}
        for m, bufs in self._shielded:
            m._buffers.update(bufs)
        self._shielded = []
        return False

    # ------------------------------------------------------------------ randomness
    def _enter_noise(self):
        # the stream every pass replays: a seed from the penalty's generator (else one draw of
        # the global RNG, like the penalty's other draws)
        gdev = self.generator.device if self.generator is not None else "cpu"
        seed = int(torch.randint(0, 2 ** 62, (1,), generator=self.generator, device=gdev))
        self._seed = seed
        self._cpu_state = torch.Generator().manual_seed(seed).get_state()
        self._dev_state = None
        if self.device.type == "cuda":
            self._dev_state = torch.Generator(device=self.device).manual_seed(seed).get_state()

    @contextlib.contextmanager
    def _replayed_noise(self):
        """Fork the global RNG (restored afterwards) and set it to the penalty's stream."""
        dev = self.device
        on_accel = dev.type not in ("cpu", "meta")
        with torch.random.fork_rng(devices=[dev] if on_accel else [],
                                   device_type=dev.type if on_accel else "cuda"):
            torch.random.set_rng_state(self._cpu_state)
            if self._dev_state is not None:
                torch.cuda.set_rng_state(self._dev_state, dev)
            elif on_accel:  # pragma: no cover - other accelerators: seed them all
                torch.manual_seed(self._seed)
            yield

    # ------------------------------------------------------------------ batch norm
    def _batch_norm_hook(self, module, inputs):
        (h,) = inputs[:1]
        n = self._calls.get(id(module), 0)
        self._calls[id(module)] = n + 1
        key = (id(module), n)
        if key not in self._stats:
            if h.ndim < 2 or h.numel() // h.shape[1] < 2:
                raise ValueError(
                    f"{type(module).__name__} in training mode needs more than one value per "
                    f"channel to take batch statistics, got input of shape {tuple(h.shape)}")
            dims = [0, *range(2, h.ndim)]
            hd = h.detach()
            like = module._buffers.get("running_mean")
            if like is None or isinstance(like, torch.nn.parameter.UninitializedBuffer):
                like = module.weight if module.weight is not None else hd
            dtype = torch.promote_types(hd.dtype, like.dtype)
            hd = hd.to(dtype)
            self._stats[key] = (hd.mean(dims), hd.var(dims, unbiased=False))
        if self._recording:  # the task pass proper: the layer normalises and updates as usual
            return None
        if module not in self._saved:
            self._saved[module] = (module.training, module._buffers.get("running_mean"),
                                   module._buffers.get("running_var"))
        module.training = False
        module._buffers["running_mean"], module._buffers["running_var"] = self._stats[key]
        return None

    # ------------------------------------------------------------------ passes
    def run(self, x: torch.Tensor, args: Sequence = ()) -> torch.Tensor:
        """One pass ``f(x, *args)`` under the policy."""
        self._calls = {}
        if not self.stochastic:
            return self.f(x, *args)
        with self._replayed_noise():
            return self.f(x, *args)

    @property
    def can_record(self) -> bool:
        """Whether :meth:`record` can serve as the clean pass: batch normalisation only (no
        randomness, whose task-pass mask the penalty could not replay; no shielded instance
        norms, whose task pass must update its buffers)."""
        return not self.stochastic and not self.instance_norms

    def record(self, x: torch.Tensor, args: Sequence = ()) -> torch.Tensor:
        """The task pass proper, ``f(x, *args)`` in training mode (batch statistics with their
        gradients, one running-statistics update), recording each batch-norm layer's statistics
        for the passes that follow: the clean pass and the task pass become one."""
        if not self.can_record:
            raise RuntimeError("record() needs a model without randomness or instance norms")
        self._calls, self._recording = {}, True
        try:
            return self.f(x, *args)
        finally:
            self._recording = False

    def capture(self, x: torch.Tensor, args: Sequence = ()) -> None:
        """Record the batch-norm statistics of the clean batch ``x`` (no gradients)."""
        if self.batch_coupled and not self._stats:
            with torch.no_grad():
                self.run(x, args)


@contextlib.contextmanager
def dropout_off(f: Callable):
    """Dropout layers of ``f`` (as :func:`modules_of` sees them) in eval mode, restored after."""
    switched = [m for m in _submodules(modules_of(f)) if isinstance(m, _NOISE) and m.training]
    try:
        for m in switched:
            m.training = False
        yield
    finally:
        for m in switched:
            m.training = True
