"""N-body data: the simulator and the study's trajectories.

* ``simulator``: :func:`simulate` (the public entry point), the forces, the external fields
  (``"uniform"``, ``"trap"``), energy and momentum — float64 numpy;
* ``dataset``: the EGNN paper's protocol (input frame after 3 100 steps, target 1 000 steps
  later), :func:`make_split` / :func:`load_data`, deterministic by seed, cached as npz.
"""

from .dataset import BURN_IN, HORIZON, N_PARTICLES, initial_states, load_data, make_split
from .simulator import DT, FIELDS, MAX_FORCE, energy, field_force, forces, momentum, simulate

__all__ = ["simulate", "forces", "field_force", "energy", "momentum", "DT", "MAX_FORCE",
           "FIELDS", "N_PARTICLES", "BURN_IN", "HORIZON", "initial_states", "make_split",
           "load_data"]
