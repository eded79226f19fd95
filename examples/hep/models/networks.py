"""Networks by name or by file: the one way the examples build a tagger network.

A network is a Python file defining ``get_model(cfg)`` (weaver-core's convention): the files of
this folder listed in :data:`examples.hep.experiment.NETWORKS`, or a file of yours named by its
path (``--methods path/to/net.py:gseal``). The contract for a file of yours (docs/models.md):

* ``get_model(cfg)`` gets the preset's configuration: at least ``cfg["preset"]`` (its name)
  and ``cfg["max_constituents"]`` (N), with the preset's sizes (``d``, ``layers``, ...) and
  ``cfg["device"]``;
* it returns a ``torch.nn.Module`` called as ``model(p, mask)``: ``p`` ``(B, N, 4)``
  four-momenta (E, px, py, pz) in GeV, zero-padded, ``mask`` ``(B, N)`` bool, True for a real
  constituent; it returns logits of shape ``(B,)`` or ``(B, 1)``.

Such a model is wrapped in :class:`MaskedNetwork` (the loop and the penalties call ``net(p)``:
the mask is computed from ``p``, and is invariant, since a zero four-vector stays zero under
any Lorentz transformation), which checks the output's shape on every call. The built-in
networks take ``p`` alone and derive the mask themselves.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import pathlib
import sys
import types

import torch

from examples.hep.experiment import NETWORKS

__all__ = ["load", "sizes", "build", "check", "MaskedNetwork", "is_file"]


def is_file(network: str) -> bool:
    """Whether ``network`` names a file (not a built-in network)."""
    return network not in NETWORKS


def load(network: str) -> types.ModuleType:
    """The module of a built-in network (a name of ``NETWORKS``) or of a network file (a path);
    it must define ``get_model``. Raises ``ValueError`` for a file that does not exist, one
    that fails to import, or one without ``get_model``."""
    if network in NETWORKS:
        module = importlib.import_module(NETWORKS[network][0])
    else:
        path = pathlib.Path(network).expanduser().resolve()
        if not path.is_file():
            raise ValueError(f"network file {str(path)!r} does not exist (expected a .py file "
                             "defining get_model(cfg), docs/models.md)")
        name = "liesoft_network_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
        module = sys.modules.get(name)
        if module is None:
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            try:
                spec.loader.exec_module(module)
            except Exception as exc:
                raise ValueError(f"network file {str(path)!r} failed to import: "
                                 f"{type(exc).__name__}: {exc}") from exc
            sys.modules[name] = module
    if not callable(getattr(module, "get_model", None)):
        raise ValueError(f"network {network!r} ({getattr(module, '__file__', module.__name__)}) "
                         "defines no get_model(cfg): a network file must define "
                         "get_model(cfg) returning a torch.nn.Module (docs/models.md)")
    return module


def sizes(network: str) -> dict | None:
    """A built-in network's sizes per preset (its module's ``SIZES``), else None (the network
    is sized by the preset's configuration; files of yours read ``cfg`` themselves)."""
    if is_file(network):
        return None
    return getattr(load(network), "SIZES", None)


def build(network: str, cfg: dict) -> torch.nn.Module:
    """``get_model(cfg)`` of the network; a file's model wrapped in :class:`MaskedNetwork`."""
    try:
        model = load(network).get_model(cfg)
    except ValueError:
        raise
    except Exception as exc:
        if not is_file(network):
            raise
        raise ValueError(f"get_model of network {network!r} failed: {type(exc).__name__}: "
                         f"{exc}") from exc
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"get_model of network {network!r} must return a torch.nn.Module, "
                         f"got {type(model).__name__}")
    return MaskedNetwork(model, network) if is_file(network) else model


def check(network: str, cfg: dict) -> None:
    """Build the network for ``cfg`` and run it once on two small dummy jets (in eval mode, no
    gradients; the model is then discarded): a file without ``get_model``, a ``get_model``
    that fails or returns no module, and a wrong output shape fail here with their message,
    before any data are loaded or any training starts."""
    model = build(network, cfg)
    n = max(2, min(int(cfg.get("max_constituents", 8)), 8))
    p = torch.zeros(2, n, 4)
    p[:, :2] = torch.tensor([[100.0, 60.0, 0.0, 0.0], [50.0, 30.0, 10.0, 5.0]])
    model.eval()
    try:
        with torch.no_grad():
            model(p)
    except ValueError:
        raise
    except Exception as exc:
        raise ValueError(f"network {network!r} failed on a batch of 2 jets of shape "
                         f"{tuple(p.shape)} (four-momenta, zero-padded): "
                         f"{type(exc).__name__}: {exc}") from exc


class MaskedNetwork(torch.nn.Module):
    """A network of the file contract called as ``net(p)``: runs ``model(p, mask)`` with
    ``mask = (p != 0).any(-1)`` and checks that the output is ``(B,)`` or ``(B, 1)`` logits."""

    def __init__(self, model: torch.nn.Module, source: str = "network"):
        super().__init__()
        self.model = model
        self.source = source

    def forward(self, p: torch.Tensor) -> torch.Tensor:
        out = self.model(p, (p != 0).any(-1))
        if not isinstance(out, torch.Tensor) or not (
                out.shape == p.shape[:1] or out.shape == (p.shape[0], 1)):
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ValueError(f"the model of {self.source} must return logits of shape "
                             f"({p.shape[0]},) or ({p.shape[0]}, 1) for a batch of "
                             f"{p.shape[0]} jets, got {got} (docs/models.md)")
        return out
