"""Apply each mutant of a MUTANTS file in turn, run its tests, restore the file; print KILLED or
SURVIVED per mutant. Usage (repository root):

    OMP_NUM_THREADS=1 python tests/mutants/replay.py tests/mutants/issue24_groups_reps.py
"""

import os
import pathlib
import runpy
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def main(spec: str) -> int:
    survived = 0
    for mid, path, old, new, tests in runpy.run_path(spec)["MUTANTS"]:
        p = ROOT / path
        src = p.read_text()
        if src.count(old) != 1:
            print(f"{mid}: STALE (the original text occurs {src.count(old)} times)")
            continue
        p.write_text(src.replace(old, new))
        try:
            r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p",
                                "no:cacheprovider", *tests], cwd=ROOT, capture_output=True,
                               text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
        finally:
            p.write_text(src)
        killed = r.returncode != 0
        survived += not killed
        print(f"{mid}: {'KILLED' if killed else 'SURVIVED'}")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
