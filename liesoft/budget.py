"""Moved: :class:`ViolationBudget` lives in :mod:`liesoft.experimental` (this path warns once).
See :data:`liesoft.experimental.MOVED` for why."""

from .experimental import budget as _budget
from .experimental import warn_moved
from .experimental.budget import *  # noqa: F403

warn_moved()


def __getattr__(name: str):
    return getattr(_budget, name)
