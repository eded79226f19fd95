"""An experiment is a value: what a run trains, resolved once from the command line.

A **method** is a network × a penalty (:class:`Method`, :class:`Penalty`): ``gseal`` is the
transformer with GSEAL at the paper's λ, ``part_dseal`` ParT with δSEAL, ``nets/my.py:gseal``
the network of a file of yours with GSEAL. The scripts turn ``--methods`` into such values
with :func:`resolve` and pass them down; the training loop, the models and the studies read
their fields, never a method's name nor the argparse namespace.

The tables here are the only place a name is described: :data:`NETWORKS` (the network files
of ``models/``), :data:`PENALTIES` (what ``NET:PENALTY`` may name) and :data:`METHODS` (the
built-in names, aliases of ``network:penalty`` and the cost/efficiency variants); ``--help``
is rendered from them (:func:`method_help`). This module imports nothing heavy, so ``--help``
answers at once.
"""

from __future__ import annotations

import dataclasses
import math
import pathlib
from dataclasses import dataclass, field

__all__ = ["Penalty", "Method", "Source", "Experiment", "NETWORKS", "PENALTIES", "METHODS",
           "resolve", "parse_values", "parse_budget", "method_help", "budget_method"]

KINDS = ("gseal", "dseal")
MODES = ("exact", "random", "fd")


@dataclass(frozen=True)
class Penalty:
    """A penalty of ``loss = task + λ·Γ``: ``kind`` ``"gseal"`` (eq. 6) or ``"dseal"`` (eq. 10),
    its weight ``lam``, δSEAL's ``mode``, the batch ``fraction`` it sees, δSEAL's
    ``reduction`` over generators (``"sum"``: the paper's top-tagging units) and, for a
    violation budget, the ``target`` of Γ (λ then set while training; experimental)."""

    kind: str
    lam: float
    mode: str = "exact"
    fraction: float = 1.0
    reduction: str = "mean"
    target: float | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"penalty kind must be one of {KINDS}, got {self.kind!r}")
        if self.mode not in MODES or (self.kind == "gseal" and self.mode != "exact"):
            raise ValueError(f"penalty mode must be one of {MODES} (gseal: exact), got "
                             f"{self.mode!r} for {self.kind}")
        for name, value, low_open in (("lam", self.lam, False), ("fraction", self.fraction, True)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value) or value < 0 or (low_open and value == 0):
                raise ValueError(f"penalty {name} must be a finite number "
                                 f"{'> 0' if low_open else '>= 0'}, got {value!r}")
        if self.fraction > 1:
            raise ValueError(f"penalty fraction must lie in (0, 1], got {self.fraction!r}")
        if self.target is not None and not (math.isfinite(self.target) and self.target > 0):
            raise ValueError(f"budget target must be finite and > 0, got {self.target!r}")

    @property
    def budget(self) -> bool:
        """Whether λ is set while training (a violation budget) instead of fixed."""
        return self.target is not None


@dataclass(frozen=True)
class Method:
    """What one training trains: ``network`` (a name of :data:`NETWORKS` or the path of a
    network file, see docs/models.md) with ``penalty`` (None: none), on boosted copies of each
    batch when ``augment``; ``finetune``: start from the trained weights of that method;
    ``epochs``: replaces the preset's; ``options``: the network's sizes for the run's preset
    (recorded in checkpoints, so a run resumes only with the same sizes). ``name`` keys the
    method's rows in tables, metrics and checkpoints."""

    name: str
    network: str = "transformer"
    penalty: Penalty | None = None
    augment: bool = False
    finetune: str | None = None
    epochs: int | None = None
    options: dict | None = field(default=None, compare=False)
    recorded: dict | None = field(default=None, compare=False)

    @property
    def spec(self) -> dict:
        """The method as checkpoints record it (the format of the first runs, so that their
        checkpoints still resume): ``penalty``/``lam``/``mode``/``fraction``/``budget``,
        ``model`` (a network other than the transformer), ``model_options``, ``augment``,
        ``finetune``, ``epochs``; or ``recorded``, where a task's first runs recorded its
        methods otherwise (the jet regression's)."""
        if self.recorded is not None:
            return dict(self.recorded)
        out: dict = {}
        if self.network != "transformer":
            out["model"] = self.network
        p = self.penalty
        if p is not None:
            out.update(penalty=p.kind, lam=p.lam)
            if p.mode != "exact":
                out["mode"] = p.mode
            if p.fraction != 1:
                out["fraction"] = p.fraction
            if p.target is not None:
                out["budget"] = p.target
        if self.augment:
            out["augment"] = True
        if self.finetune is not None:
            out["finetune"] = self.finetune
        if self.epochs is not None:
            out["epochs"] = self.epochs
        if self.options is not None:
            out["model_options"] = self.options
        return out


@dataclass(frozen=True)
class Source:
    """Where the jets come from: ``data`` is ``pythia`` (generated here, cached in
    ``cache_dir``, default ~/.cache/liesoft, by ``workers`` processes), ``generated:PATH`` (a
    file of ``generate_jets``, read as is), ``atlas:PATH`` (ATLAS open data, record 15013) or
    ``reference:PATH`` (the Kasieczka et al. 2019 top-tagging set)."""

    data: str = "pythia"
    cache_dir: str | None = None
    workers: int | None = None


@dataclass(frozen=True)
class Experiment:
    """A tagging run, resolved once by its script and passed to the studies: the ``preset``'s
    name (its configuration is passed beside, as ``cfg``), the ``methods``, ``seeds``
    trainings of each (None: the study's own number), the jets' ``source``, the ``task`` the
    networks are trained for (a ``training.Task``: loss, penalty, what the penalty sees), and
    the extrapolation study's training cut ``pt_cut`` (None: the preset's)."""

    preset: str
    methods: tuple
    seeds: int
    source: Source = Source()
    task: object = None
    pt_cut: float | None = None

    def __post_init__(self):
        if not all(isinstance(m, Method) for m in self.methods):
            raise TypeError(f"methods must be Method values, got {self.methods!r}")
        if self.seeds is not None and (isinstance(self.seeds, bool)
                                       or not isinstance(self.seeds, int) or self.seeds < 1):
            raise ValueError(f"seeds must be an integer >= 1 or None, got {self.seeds!r}")

    def method(self, name: str) -> Method:
        """The experiment's method of that name."""
        for m in self.methods:
            if m.name == name:
                return m
        raise KeyError(f"no method {name!r} in this experiment ({[m.name for m in self.methods]})")


# ----------------------------------------------------------------------------- the tables
# network name -> (module in examples/hep/models/ with get_model(cfg), help). A module with a
# SIZES table (preset -> options) gets those options for the run's preset (Method.options).
NETWORKS = {
    "transformer": ("examples.hep.models.tagger",
                    "our jet transformer (the paper's tagger, sized by the preset)"),
    "lgatr": ("examples.hep.models.lgatr_tagger",
              "the exactly Lorentz-invariant L-GATr tagger (optional lgatr package)"),
    "lloca": ("examples.hep.models.lloca_tagger",
              "the transformer canonicalised by LLoCa: exactly invariant (optional lloca)"),
    "part": ("examples.hep.models.part", "Particle Transformer (weaver-core)"),
    "particlenet": ("examples.hep.models.particlenet", "ParticleNet (weaver-core)"),
}
# the penalty names of NET:PENALTY with the paper's λs (Table 1): GSEAL λ = 1, β_max² = 0.95;
# δSEAL λ = 0.01 in the paper's units (its top-tagging code sums the six squared Lie derivatives
# per jet: reduction "sum", = 0.06 in eq. 10's units, docs/penalties.md); by finite differences
# the same eq. 10 and λ (about as cheap as GSEAL, where exact δSEAL differentiates twice)
PENALTIES = {
    "baseline": (None, "no penalty"),
    "gseal": (Penalty("gseal", 1.0), "+ GSEAL (eq. 6), λ = 1, β_max² = 0.95 (paper)"),
    "dseal": (Penalty("dseal", 0.01, reduction="sum"),
              "+ δSEAL exact (eq. 10), λ = 0.01 in the paper's units (sum over generators)"),
    "dseal_fd": (Penalty("dseal", 0.01, mode="fd", reduction="sum"),
                 "+ δSEAL by finite differences, mode='fd'"),
}
_P = {k: v[0] for k, v in PENALTIES.items()}
# the built-in method names: name -> (Method, help). Table 1's (the transformer with each
# penalty, L-GATr), the cost study's variants, the data-efficiency study's comparisons (boost
# augmentation: each batch replaced by boosted copies, GSEAL's sampler, labels kept; LLoCa on
# the transformer's sizes), and ParT / ParticleNet with Table 1's penalties (part_gseal, ...)
METHODS = {
    "baseline": (Method("baseline"), "the transformer tagger, no penalty"),
    "gseal": (Method("gseal", penalty=_P["gseal"]), PENALTIES["gseal"][1]),
    "dseal": (Method("dseal", penalty=_P["dseal"]), PENALTIES["dseal"][1]),
    "lgatr": (Method("lgatr", network="lgatr"), NETWORKS["lgatr"][1]),
    "gseal_f0.25": (Method("gseal_f0.25", penalty=dataclasses.replace(_P["gseal"], fraction=0.25)),
                    "GSEAL on a random quarter of each batch (cost study)"),
    "gseal_f0.5": (Method("gseal_f0.5", penalty=dataclasses.replace(_P["gseal"], fraction=0.5)),
                   "GSEAL on a random half of each batch (cost study)"),
    "dseal_fd": (Method("dseal_fd", penalty=_P["dseal_fd"]),
                 "δSEAL by finite differences, mode='fd' (cost study)"),
    "gseal_finetune": (Method("gseal_finetune", penalty=_P["gseal"], finetune="baseline",
                              epochs=2),
                       "the trained baseline fine-tuned with GSEAL for 2 epochs (cost study)"),
    "augment": (Method("augment", augment=True),
                "the transformer on boosted copies of each batch (data-efficiency study)"),
    "lloca": (Method("lloca", network="lloca"), NETWORKS["lloca"][1]),
    "augment_gseal": (Method("augment_gseal", augment=True, penalty=_P["gseal"]),
                      "augmentation and GSEAL together (data-efficiency study)"),
}
WEAVER_NETWORKS = ("part", "particlenet")
for _net in WEAVER_NETWORKS:
    for _pen in ("baseline", "gseal", "dseal", "dseal_fd"):
        _name = f"{_net}_{_pen}"
        METHODS[_name] = (Method(_name, network=_net, penalty=_P[_pen]),
                          NETWORKS[_net][1] + (", no penalty" if _pen == "baseline"
                                               else f", + {_pen} as {_pen}"))
# the methods toptag.py lists in --help (the others belong to the studies that use them)
TOPTAG_METHODS = tuple(m for m in METHODS if m not in ("augment", "lloca", "augment_gseal"))


def method_help(names=None) -> str:
    """One line ``- name: text`` per built-in method (``names``: those, default all), then how
    to name a network file: for ``--help``."""
    names = list(METHODS) if names is None else list(names)
    lines = [f"- {n}: {METHODS[n][1]}" for n in names]
    lines.append("or NET:PENALTY, a network of " + ", ".join(NETWORKS) + " or a network file "
                 "path/to/net.py (docs/models.md) with a penalty of " + ", ".join(PENALTIES))
    return "\n".join(lines)


def parse_values(text: str, option: str, names, word: str = "value",
                 allow_zero: bool = False) -> dict:
    """``"gseal=2e-3,dseal=1e-3"`` -> ``{"gseal": 0.002, "dseal": 0.001}``: ``NAME=NUMBER``
    items of a command-line ``option`` with names among ``names`` and finite numbers > 0
    (>= 0 with ``allow_zero``); a ``ValueError`` naming the option and the bad item."""
    out = {}
    both = " and/or ".join(f"{n}={word.upper()}" for n in names)
    for item in (t for t in text.split(",") if t):
        name, sep, value = item.partition("=")
        if not sep or name not in names:
            raise ValueError(f"{option} takes {both}, got {item!r}")
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"{option} {word} must be a number, got {value!r}") from None
        if not (math.isfinite(number) and (number >= 0 if allow_zero else number > 0)):
            raise ValueError(f"{option} {word} must be finite and {'>=' if allow_zero else '>'} "
                             f"0, got {value!r}")
        out[name] = number
    return out


def parse_budget(text: str) -> dict:
    """``--budget``: ``"gseal=2e-3,dseal=1e-3"`` -> ``{"gseal": 0.002, "dseal": 0.001}``
    (targets > 0)."""
    return parse_values(text, "--budget", KINDS, "target")


def budget_method(kind: str, target: float) -> Method:
    """``<kind>_budget``: the transformer with a violation budget on ``kind`` (λ = 1 outside:
    the budget returns λ·Γ)."""
    return Method(f"{kind}_budget", penalty=dataclasses.replace(_P[kind], lam=1.0,
                                                                  target=target))


def resolve(text: str, preset: str | None = None, sizes=None) -> Method:
    """The :class:`Method` a ``--methods`` item names: a built-in name (:data:`METHODS`) or
    ``NET:PENALTY`` with ``NET`` a name of :data:`NETWORKS` or the path of a network file
    (``.py``) and ``PENALTY`` a name of :data:`PENALTIES`; such a method's name is
    ``<stem>_<penalty>`` (``mynet_gseal``). ``sizes(network) -> {preset: options}`` (or None)
    gives a network's per-preset sizes; with ``preset`` they are attached (``Method.options``).
    Raises ``ValueError`` naming what was expected."""
    if not isinstance(text, str) or not text:
        raise ValueError(f"a method must be a non-empty name, got {text!r}")
    if text in METHODS:
        method = METHODS[text][0]
    elif ":" in text:
        net, _, pen = text.rpartition(":")
        if pen not in PENALTIES:
            raise ValueError(f"method {text!r}: the penalty after ':' must be one of "
                             f"{list(PENALTIES)}, got {pen!r}")
        if net in NETWORKS:
            stem = net
        elif net.endswith(".py"):
            path = pathlib.Path(net).expanduser()
            if not path.is_file():
                raise ValueError(f"method {text!r}: network file {str(path)!r} does not exist "
                                 "(expected a .py file defining get_model(cfg), docs/models.md)")
            net, stem = str(path.resolve()), path.stem
        else:
            raise ValueError(f"method {text!r}: the network before ':' must be one of "
                             f"{list(NETWORKS)} or a path to a .py network file, got {net!r}")
        method = Method(f"{stem}_{pen}", network=net, penalty=_P[pen])
    else:
        raise ValueError(f"unknown method {text!r}: expected one of {list(METHODS)} or "
                         "NET:PENALTY (docs/models.md)")
    table = sizes(method.network) if (sizes is not None and preset is not None) else None
    if table is not None:
        if preset not in table:
            raise ValueError(f"network {method.network!r} has no sizes for preset {preset!r} "
                             f"(it has {sorted(table)})")
        method = dataclasses.replace(method, options=table[preset])
    return method
