"""Representations: how inputs and outputs transform (``rho``, ``drho``, ``act``,
``infinitesimal``)."""

from .affine import Point
from .base import Representation
from .linear import Dual, Product, Scalar, Sum, Tensor, Vector, Vector4
from .parity import AxialVector, Pseudoscalar

__all__ = ["Representation", "Scalar", "Vector", "Vector4", "Tensor", "Point", "Dual", "Sum",
           "Product", "Pseudoscalar", "AxialVector"]
