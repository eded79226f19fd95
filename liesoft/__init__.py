"""liesoft: make any PyTorch model prefer a Lie-group symmetry (SEAL, Hebbar et al. 2026)."""

from .audit import InvarianceProfile, invariance_profile
from .groups import E3, SO, SO3, LieGroup, Lorentz, MatrixLieGroup, Sampler
from .lambda_search import LambdaSearch, find_lambda
from .penalties import GSEAL, DeltaSEAL, math_attention
from .reps import (
    AxialVector,
    Dual,
    Point,
    Product,
    Pseudoscalar,
    Representation,
    Scalar,
    Sum,
    Tensor,
    Vector,
    Vector4,
)
from .testing import (
    assert_batch_independent,
    assert_equivariant,
    batch_dependence,
    equivariance_error,
)
from .violation import Violation, measure_violation

__version__ = "0.1.0"

__all__ = [
    "LieGroup", "MatrixLieGroup", "Lorentz", "SO3", "SO", "E3", "Sampler",
    "Representation", "Scalar", "Vector", "Vector4", "Tensor", "Point", "Dual", "Sum", "Product",
    "Pseudoscalar", "AxialVector",
    "GSEAL", "DeltaSEAL", "math_attention", "find_lambda", "LambdaSearch", "measure_violation",
    "Violation",
    "assert_equivariant", "equivariance_error", "assert_batch_independent",
    "batch_dependence", "invariance_profile", "InvarianceProfile",
]


def __getattr__(name: str):
    """``liesoft.ViolationBudget``: moved to :mod:`liesoft.experimental` (warns once)."""
    if name == "ViolationBudget":
        from .experimental import ViolationBudget, warn_moved

        warn_moved()
        return ViolationBudget
    raise AttributeError(f"module 'liesoft' has no attribute {name!r}")
