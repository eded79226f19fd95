"""Where a run runs: rank and world size (``torchrun``: DDP), device, output folder, logging.

:func:`setup` turns the command line's device, output folder and run options into a
:class:`Context`, once, in the script; everything below reads the context.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import time
from dataclasses import dataclass, field

import torch
import torch.distributed as dist

__all__ = ["Context", "setup", "barrier", "resolve_device"]


@dataclass
class Context:
    """A run's runtime: ``rank``/``world`` (DDP), ``device``, ``amp`` (bfloat16 autocast on
    CUDA), ``out`` (the output folder), ``progress`` (progress bars), ``resume`` (continue from
    the checkpoints in ``out``), ``interrupt_after`` (stop after that epoch: for tests of
    resuming); ``trained`` and ``memo`` share models and data between the studies of a run."""

    rank: int
    world: int
    device: torch.device
    amp: bool
    out: pathlib.Path
    progress: bool
    resume: bool = False
    interrupt_after: int | None = None
    trained: dict = field(default_factory=dict)  # (tag, method name, seed, lam) -> (model, info)
    memo: dict = field(default_factory=dict)  # data and evaluations shared between studies

    @property
    def main(self) -> bool:
        return self.rank == 0

    def log(self, *msg):
        if self.main:
            print(*msg, flush=True)

    @contextlib.contextmanager
    def timed(self, what: str):
        """Log ``"<what> done in X min"`` when the block ends."""
        t0 = time.perf_counter()
        yield
        self.log(f"{what} done in {(time.perf_counter() - t0) / 60:.1f} min")

    def print_report(self, report, table: str) -> None:
        """Rank 0: ``report(out)`` (a study's report: metrics and figures from its result
        files), then print ``out/<table>``, or say that there are no results yet."""
        if self.main:
            done = report(self.out)
            print((self.out / table).read_text() if done
                  else f"no results yet in {self.out}")


def resolve_device(device: str) -> str:
    """``"auto"``: cuda when available, else cpu; ``"cuda"`` without a CUDA device exits."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda requested but no CUDA device is available")
    return device


def setup(device: str, out, *, progress: bool = True, resume: bool = False,
          interrupt_after: int | None = None) -> Context:
    """The run's :class:`Context`: joins the process group under ``torchrun`` (nccl on CUDA,
    gloo on CPU), picks the local GPU, creates ``out/checkpoints`` on rank 0."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    device = resolve_device(device)
    if world > 1:
        dist.init_process_group("nccl" if device == "cuda" else "gloo")
    if device == "cuda":
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        dev = torch.device("cuda", local)
    else:
        dev = torch.device("cpu")
    out = pathlib.Path(out)
    if rank == 0:
        (out / "checkpoints").mkdir(parents=True, exist_ok=True)
    return Context(rank, world, dev, amp=dev.type == "cuda", out=out,
                   progress=progress and rank == 0, resume=resume,
                   interrupt_after=interrupt_after)


def barrier(ctx):
    if ctx.world > 1:
        dist.barrier()
