"""The violation-target studies' λ search: :func:`liesoft.find_lambda` over fixed-λ trials,
shared by the tagger's (``tagger_budget``) and the toy regression's (``toy_cells``)."""

from __future__ import annotations

import warnings
from collections.abc import Callable

from liesoft import find_lambda

__all__ = ["search_lambda", "rounded"]


def rounded(lam: float) -> float:
    """λ to 6 significant digits: the key of a trial, so searches share the trials they have
    in common."""
    return float(f"{lam:.6g}")


def search_lambda(trial: Callable, target: float, *, lam: float, rtol: float,
                  max_trainings: int, log: Callable = print):
    """``find_lambda`` over ``trial(λ) -> (Γ steering the search, record)`` with λ
    :func:`rounded`; the search's warnings (target out of reach, unconverged) are shown through
    ``log`` and counted. Returns ``(LambdaSearch, warnings)``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        search = find_lambda(lambda x: trial(rounded(x)), target, lam=lam, rtol=rtol,
                             max_trainings=max_trainings)
    for w in caught:
        log(str(w.message))
    return search, len(caught)
