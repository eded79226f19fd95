"""Lie groups as data: generators, exp, samplers, membership and subgroups from spurions."""

from .base import LieGroup, MatrixLieGroup, Selection
from .euclidean import E3
from .lorentz import MINKOWSKI, Lorentz
from .rotations import SO, SO3, rotation_matrix
from .sampler import Sampler

__all__ = ["LieGroup", "MatrixLieGroup", "Lorentz", "SO3", "SO", "E3", "MINKOWSKI",
           "rotation_matrix", "Sampler", "Selection"]
