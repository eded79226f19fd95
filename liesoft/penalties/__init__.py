"""The SEAL penalties: GSEAL (eq. 6) and δSEAL (eq. 10)."""

from .common import delta_seal_value, gseal_value, math_attention
from .dseal import DeltaSEAL
from .gseal import GSEAL

__all__ = ["GSEAL", "DeltaSEAL", "gseal_value", "delta_seal_value", "math_attention"]
