"""Test helpers: the tagger's methods, penalties and networks by their built-in names, built as
the scripts build them (``experiment.resolve`` for a preset, ``training.build_penalty``,
``models.networks``), so tests can name a method as a user does."""

from examples.hep.experiment import budget_method, resolve
from examples.hep.models import networks
from examples.hep.tasks.tagging import network_config, tagger_task
from examples.hep.training import build_penalty

TAGGER = tagger_task("quick")  # the quick preset's tagger task: BCE, penalty on σ(logit)


def method(name: str, preset: str = "quick", target: float | None = None):
    """The Method of a built-in name (``<kind>_budget`` with ``target``) for ``preset``."""
    if name.endswith("_budget"):
        return budget_method(name.removesuffix("_budget"), target)
    return resolve(name, preset, networks.sizes)


def make_penalty(name: str, lam=None, optimizer=None, preset: str = "quick",
                 target: float | None = None):
    """``(penalty, λ)`` of a built-in method, as ``train_one`` builds it."""
    return build_penalty(method(name, preset, target).penalty, lam, optimizer=optimizer)


def build_model(cfg: dict, name: str, preset: str = "quick", device: str = "cpu",
                lgatr_spurions: bool = False):
    """The network of a built-in method, as ``train_one`` builds it."""
    m = method(name, preset)
    return networks.build(m.network, network_config(cfg, m, preset, device, lgatr_spurions))


def ctx_for(out, resume=False, interrupt_after=None):
    """A one-process CPU context writing into ``out``."""
    import torch

    from examples.hep.training import Context

    return Context(0, 1, torch.device("cpu"), amp=False, out=out, progress=False, resume=resume,
                   interrupt_after=interrupt_after)
