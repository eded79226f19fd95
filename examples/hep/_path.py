"""How the scripts of ``examples/hep`` find the ``examples`` package: the one place that puts the
repository root on ``sys.path``.

Run as a script (``python examples/hep/toptag.py``), Python puts ``examples/hep`` first on
``sys.path``, so a script's ``import _path`` finds this file, which adds the repository root
(two folders up) once; ``from examples.hep import ...`` then works from any working directory.
Imported as a module (``from examples.hep import toptag``, the tests), a script skips it: the
root is already importable. Every script starts with::

    if __package__ in (None, ""):  # run as a script: put the repository root on sys.path
        import _path  # noqa: F401  (examples/hep/_path.py)
"""

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
