"""How the scripts of ``examples/hep`` find the ``examples`` package: the one place that puts the
repository root on ``sys.path``.

Run as a script (``python examples/hep/toptag.py``), Python puts ``examples/hep`` first on
``sys.path``, so a script's ``import _path`` finds this file, which adds the repository root
(two folders up) once; ``from examples.hep import ...`` then works from any working directory.
Where ``examples`` is importable already (a script imported as a module, as the tests do, or
run with the root on ``sys.path``), a script skips it. Every script starts with::

    try:  # the repository root is importable (imported as a module, or run from the root) ...
        import examples  # noqa: F401
    except ImportError:  # ... or run as a script from elsewhere: examples/hep/_path.py adds it
        import _path  # noqa: F401
"""

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
