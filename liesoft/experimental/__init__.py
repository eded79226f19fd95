"""Experimental tools, kept for the studies that measured them; not the way we recommend.

* :class:`ViolationBudget` (``budget.py``): steers λ inside one training towards a violation
  target. Measured on the toy regression and the tagger, it does not land the trained model on
  its target (docs/budget.md); to land, use :func:`liesoft.find_lambda` steered by
  :func:`liesoft.measure_violation`.
"""

import warnings

from .budget import ViolationBudget

__all__ = ["ViolationBudget"]

MOVED = ("liesoft.ViolationBudget and liesoft.budget moved to liesoft.experimental "
         "(liesoft.experimental.ViolationBudget): the budget does not land the trained model on "
         "its target (measured, docs/budget.md); to land on a violation target use "
         "liesoft.find_lambda with liesoft.measure_violation. The old names still work.")
_warned = False


def warn_moved(stacklevel: int = 3) -> None:
    """The one ``FutureWarning`` of the old import paths (once per process)."""
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(MOVED, FutureWarning, stacklevel=stacklevel)
