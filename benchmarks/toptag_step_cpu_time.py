"""Process CPU time of one train and one eval step of top-tagging methods on the CPU preset's
jets, the methods interleaved step by step: the project's own timing code
(``training.interleaved_step_times``, as the ``timing`` study of ``toptag.py`` runs it) with
``training.timed`` measuring ``time.process_time()`` instead of wall time.

On a shared machine the wall time of a one-thread step grows with the load (here 4x at a
load average of about 10 on 2 cores); its CPU time does not, so it estimates the step on a
quiet core. Used for the cost estimate of the ParT / ParticleNet study in docs/models.md.

    OMP_NUM_THREADS=1 python benchmarks/toptag_step_cpu_time.py \
        part_baseline,part_gseal,part_dseal 8
    OMP_NUM_THREADS=1 python benchmarks/toptag_step_cpu_time.py \
        particlenet_baseline,particlenet_gseal,particlenet_dseal 8

Arguments: the comma list of methods (``toptag.py --methods``), the number of timed rounds
(after 2 warm-up rounds); optionally ``--json PATH``. Prints the median seconds per batch of
256 jets, ``{"method": {"train": s, "eval": s}}``.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import tempfile
import time

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from examples.hep import toptag, training  # noqa: E402
from examples.hep.studies.top_tagging import PRESETS  # noqa: E402
from examples.hep.tasks.tagging import tagger_task  # noqa: E402


def cpu_timed(fn, ctx) -> float:
    """CPU seconds of this process spent in ``fn()`` (all its threads)."""
    t = time.process_time()
    fn()
    return time.process_time() - t


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("methods")
    ap.add_argument("steps", type=int)
    ap.add_argument("--preset", default="cpu")
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    training.timed = cpu_timed  # interleaved_step_times looks it up at call time
    with tempfile.TemporaryDirectory() as out:
        args = toptag.parse_args(["--methods", a.methods, "--preset", a.preset, "--device", "cpu",
                                  "--no-progress", "--out", out])
        ctx = training.setup(args.device, out, progress=False)
        torch.set_num_threads(1)
        med = training.interleaved_step_times(args.methods, dict(PRESETS[a.preset]), ctx,
                                              steps=a.steps, warmup=2,
                                              task=tagger_task(a.preset))
    print(json.dumps(med))
    if a.json:
        pathlib.Path(a.json).write_text(json.dumps(med, indent=1))
    return med


if __name__ == "__main__":
    main()
