"""The SEAL penalties: GSEAL (eq. 6, ``gseal.py``) and δSEAL (eq. 10, ``dseal.py``).

Modules: ``base`` (the pass policy both share: subsets, clean and task passes), ``gseal``,
``dseal`` (each with its equation, ``gseal_value`` and ``delta_seal_value``), ``common``
(squared norm, residual dtype), ``model_state`` (BatchNorm and dropout in the passes),
``norms`` (layer norm, softmax, attention by parts), ``attention`` (``math_attention``).
"""

from .attention import math_attention
from .base import PenaltyBase
from .dseal import DeltaSEAL, delta_seal_value
from .gseal import GSEAL, gseal_value

__all__ = ["GSEAL", "DeltaSEAL", "PenaltyBase", "gseal_value", "delta_seal_value",
           "math_attention"]
