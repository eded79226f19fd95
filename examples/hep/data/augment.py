"""Boost augmentation: train on randomly boosted copies of the jets, the cheapest way to teach a
network a symmetry, for comparison with the SEAL penalties (issue 23).

:class:`BoostAugmentation` replaces every jet of a batch by a copy transformed by one group element
drawn per jet, **with the sampler of the GSEAL penalty** (it holds a :class:`liesoft.Sampler`, the
object GSEAL draws with: the same group, the same options, the same draws for the same generator).
The default is the paper's: Lorentz boosts with a uniform direction and ``|beta|^2 ~ U[0, 0.95]``
(``beta_max = 0.95 ** 0.5``, as ``BETA_MAX`` in ``toptag.py`` and the boosted-jet test).

Labels are kept (an invariant target); all-zero padding rows stay exactly zero (a linear map of
zero is zero), so padding masks are unchanged. Invariant masses are preserved up to float
rounding: the elements are drawn in float64 and applied as the penalty applies them
(``in_rep.act``), rounding once to the data's dtype.

Typical use, once per training step::

    augment = BoostAugmentation()
    gen = torch.Generator().manual_seed(seed)
    x, y = augment(x, y, generator=gen)   # fresh draws every step
"""

from __future__ import annotations

import torch

from liesoft import LieGroup, Lorentz, Sampler, Vector4

__all__ = ["BETA_MAX", "BoostAugmentation"]

BETA_MAX = 0.95 ** 0.5  # the paper: |beta|^2 < 0.95


class BoostAugmentation:
    """Per-jet random group elements applied to four-momenta ``(B, N, 4)``, labels kept.

    Args:
        group: the group to sample (default :class:`liesoft.Lorentz`).
        discrete: also compose with random discrete generators (as ``GSEAL(discrete=True)``).
        **sampler_options: passed to ``group.sample`` exactly as GSEAL passes them (default
            ``beta_max=BETA_MAX`` for the Lorentz group); e.g. ``rotations=True``.

    Bad options fail at construction (the :class:`liesoft.Sampler` validates them).
    """

    def __init__(self, group: LieGroup | None = None, *, discrete: bool = False,
                 **sampler_options):
        group = Lorentz() if group is None else group
        if isinstance(group, Lorentz):
            sampler_options.setdefault("beta_max", BETA_MAX)
        self.sampler = Sampler(group, discrete=discrete, **sampler_options)
        self.rep = Vector4().bind(group)

    @property
    def sampler_options(self) -> dict:
        """The options passed to ``group.sample`` (those of an equivalent GSEAL)."""
        return dict(self.sampler.options)

    def sample(self, n: int, device=None, generator: torch.Generator | None = None):
        """``n`` float64 group elements ``(n, 4, 4)``: exactly ``GSEAL(...).sample`` with the same
        group, options and generator state (both draw with a :class:`liesoft.Sampler`)."""
        return self.sampler.sample(n, generator=generator, dtype=torch.float64, device=device)

    def __call__(self, x: torch.Tensor, y: torch.Tensor | None = None, *,
                 generator: torch.Generator | None = None, return_elements: bool = False):
        """Boosted copies of the jets ``x`` ``(B, N, 4)`` and the labels ``y`` unchanged.

        Returns ``(x_boosted, y)`` (``x_boosted`` a new tensor in ``x``'s dtype; ``x`` is not
        modified), plus the ``(B, 4, 4)`` elements with ``return_elements=True``. ``generator``:
        a ``torch.Generator`` (with it the global random state is untouched).
        """
        if not isinstance(x, torch.Tensor) or x.ndim != 3 or x.shape[-1] != 4:
            raise ValueError("BoostAugmentation expects four-momenta of shape (B, N, 4), got "
                             f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x)}")
        if not x.is_floating_point():
            raise TypeError(f"BoostAugmentation expects floating-point four-momenta, got {x.dtype}")
        if x.shape[0] == 0:
            raise ValueError("BoostAugmentation got an empty batch (shape[0] == 0)")
        if y is not None and (not isinstance(y, torch.Tensor) or y.ndim == 0
                              or y.shape[0] != x.shape[0]):
            raise ValueError(f"labels must be a tensor with one row per jet ({x.shape[0]}), got "
                             f"{tuple(y.shape) if isinstance(y, torch.Tensor) else type(y)}")
        g = self.sample(x.shape[0], x.device, generator)
        boosted = self.rep.act(g, x)
        return (boosted, y, g) if return_elements else (boosted, y)
