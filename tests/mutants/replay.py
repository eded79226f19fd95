"""Apply each mutant of a MUTANTS file in turn, run its tests, restore the file; print one
status per mutant and a summary line. Usage (repository root):

    OMP_NUM_THREADS=1 python tests/mutants/replay.py tests/mutants/issue24_groups_reps.py
    OMP_NUM_THREADS=1 python tests/mutants/replay.py SPEC --only id1,id2   # some mutants
    python tests/mutants/replay.py SPEC --list                            # ids and tests
    python tests/mutants/replay.py SPEC --root DIR     # files and tests relative to DIR

Statuses (issue 32 item 2: the lab fails loudly, it cannot pass by accident):

* KILLED   pytest exited 1: a test failed on the mutant. The only status that is a success.
* SURVIVED pytest exited 0: every test passed on the mutant.
* STALE    the original text does not occur exactly once in the file (or the file is
           missing): the mutant was not applied.
* ERROR    any other pytest exit code: 2 (interrupted, e.g. a collection error), 3 (internal
           error), 4 (usage error, e.g. a test file that does not exist), 5 (no tests
           collected), or a crash; the mutant was applied, but nothing was tested.

The exit status is 0 only when every mutant replayed is KILLED; the last line is
``killed K / N, survived S, stale T, errors E``. The root (where the mutated paths and the test
files are relative to, and pytest's working directory) is the repository's unless ``--root``
or the environment variable ``LIESOFT_REPLAY_ROOT`` names another.
"""

import argparse
import os
import pathlib
import runpy
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]

KILLED, SURVIVED, STALE, ERROR = "KILLED", "SURVIVED", "STALE", "ERROR"
PYTEST_CODES = {2: "interrupted (e.g. a collection error)", 3: "internal error",
                4: "usage error (e.g. a test file that does not exist)",
                5: "no tests collected"}


def load(spec):
    """The MUTANTS list of a spec file, checked for shape and unique ids."""
    mutants = runpy.run_path(str(spec))["MUTANTS"]
    ids = [m[0] for m in mutants]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise SystemExit(f"{spec}: duplicate mutant ids {dup}")
    return mutants


def status_of(returncode):
    """KILLED only for pytest's 'tests failed' (1); SURVIVED for 0; ERROR for anything else."""
    if returncode == 1:
        return KILLED, ""
    if returncode == 0:
        return SURVIVED, ""
    return ERROR, f"pytest exit {returncode}: {PYTEST_CODES.get(returncode, 'unexpected')}"


def replay_one(root, mid, path, old, new, tests, timeout=None):
    """Apply one mutant under ``root``, run its tests, restore the file byte for byte.
    Returns (status, detail)."""
    p = root / path
    if not p.is_file():
        return STALE, f"{path} does not exist"
    src = p.read_bytes()
    text = src.decode()
    n = text.count(old)
    if n != 1:
        return STALE, f"the original text occurs {n} times in {path}"
    p.write_text(text.replace(old, new))
    try:
        r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p",
                            "no:cacheprovider", *tests], cwd=root, capture_output=True,
                           text=True, timeout=timeout,
                           env={**os.environ, "OMP_NUM_THREADS": "1"})
    except subprocess.TimeoutExpired:
        return ERROR, f"timed out after {timeout} s"
    finally:
        p.write_bytes(src)
    status, detail = status_of(r.returncode)
    if status == ERROR:
        tail = (r.stdout + r.stderr).strip().splitlines()[-3:]
        detail += ("; " + " | ".join(tail)) if tail else ""
    return status, detail


def summary(counts, n):
    return (f"killed {counts[KILLED]} / {n}, survived {counts[SURVIVED]}, "
            f"stale {counts[STALE]}, errors {counts[ERROR]}")


def main(argv=None):
    """Command line entry; ``argv`` as sys.argv[1:] (a single spec path string is accepted
    too). Returns the exit status."""
    if isinstance(argv, (str, os.PathLike)):
        argv = [str(argv)]
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("spec", help="a MUTANTS file, e.g. tests/mutants/issue24_lab2.py")
    ap.add_argument("--only", default=None,
                    help="comma-separated mutant ids to replay (an unknown id is an error)")
    ap.add_argument("--list", action="store_true",
                    help="print each mutant's id, file and test files; replay nothing")
    ap.add_argument("--root", default=os.environ.get("LIESOFT_REPLAY_ROOT"),
                    help="directory the paths and tests are relative to (default: the "
                         "repository; env LIESOFT_REPLAY_ROOT)")
    ap.add_argument("--timeout", type=float, default=None,
                    help="seconds per mutant's pytest run (default: none); a timeout is ERROR")
    args = ap.parse_args(argv)
    root = pathlib.Path(args.root).resolve() if args.root else ROOT
    mutants = load(args.spec)
    if args.only is not None:
        wanted = [i.strip() for i in args.only.split(",") if i.strip()]
        known = {m[0] for m in mutants}
        unknown = [i for i in wanted if i not in known]
        if unknown:
            print(f"unknown mutant ids: {', '.join(unknown)}", file=sys.stderr)
            return 2
        mutants = [m for m in mutants if m[0] in wanted]
    if args.list:
        for mid, path, _old, _new, tests in mutants:
            print(f"{mid}\t{path}\t{' '.join(tests)}")
        return 0
    counts = {KILLED: 0, SURVIVED: 0, STALE: 0, ERROR: 0}
    bad = []
    for mid, path, old, new, tests in mutants:
        status, detail = replay_one(root, mid, path, old, new, tests, args.timeout)
        counts[status] += 1
        print(f"{mid}: {status}" + (f" ({detail})" if detail else ""), flush=True)
        if status != KILLED:
            bad.append(f"{mid}: {status}")
    if bad:
        print("not killed: " + "; ".join(bad))
    print(summary(counts, len(mutants)))
    return 0 if mutants and counts[KILLED] == len(mutants) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
