"""One plotting style for every figure of ``examples/hep`` (issue 32, "figures you can read").

* :func:`pyplot` / :func:`subplots`: matplotlib on the Agg backend with mplhep's ATLAS style
  when mplhep is installed (the ``hep`` extra; matplotlib's default style otherwise), readable
  font sizes (nothing under :data:`MIN_FONT` pt) and the constrained layout, which keeps
  legends placed outside the axes inside the figure;
* :func:`method_style` (:func:`color`, :func:`marker`): one fixed colour and marker per method
  (:data:`METHOD_STYLES`, the same in every figure; ``"gseal@0.1"`` is GSEAL's; a name not in
  the table gets a deterministic fallback from :data:`FALLBACK`), and :func:`series_color` for
  curves that are seeds, targets or generators rather than methods;
* :func:`errorbar`: mean ± std over seeds, a hollow marker (no bar) where one seed ran;
  :func:`seed_handles`: the legend entries that say so ("error bars: std over n seeds",
  "hollow: 1 seed");
* :func:`legend`: legends outside the data area (right of the axes, or below the figure),
  identical entries merged;
* :func:`fit` / :func:`fit_data`: axes limited to the data (given, or every point drawn) with a
  small margin (linear or log); :func:`integer_ticks`
  for epochs, trainings and other counts;
* :func:`save`: ``bbox_inches="tight"``, then the figure is closed.

Every artist drawn for a method carries ``gid = "method:<name>"`` (:func:`tag`), so that a test
can check that a method has the same colour in every figure.
"""

from __future__ import annotations

import math
import zlib

import numpy as np

__all__ = ["pyplot", "subplots", "method_style", "color", "marker", "series_color", "tag",
           "errorbar", "seed_handles", "legend", "fit", "fit_data", "data_of", "integer_ticks",
           "save",
           "METHOD_STYLES", "SERIES", "FALLBACK", "MIN_FONT"]

MIN_FONT = 8          # pt: the smallest text in a figure (legends, annotations, ticks)
FONT = 11             # pt: axis labels
DPI = 120

# One colour and one marker per method: the same in every figure. Colours are distinct
# (tests/hep/test_figures.py checks it); families that share a figure get distinct hues.
METHOD_STYLES = {
    # the Table 1 tagger and its variants
    "baseline": ("#1f77b4", "o"),
    "gseal": ("#ff7f0e", "s"),
    "dseal": ("#2ca02c", "D"),
    "dseal_fd": ("#17becf", "d"),
    "dseal_random": ("#98df8a", "v"),
    "gseal_f0.25": ("#8c564b", "<"),
    "gseal_f0.5": ("#e377c2", ">"),
    "gseal_finetune": ("#7f7f7f", "p"),
    "gseal_budget": ("#ad494a", "*"),
    "dseal_budget": ("#637939", "*"),
    "augment": ("#000000", "X"),
    "augment_gseal": ("#bcbd22", "P"),
    "lloca": ("#d62728", "^"),
    "lgatr": ("#9467bd", "v"),
    # the ParT / ParticleNet backbones (circles / squares)
    "part_baseline": ("#08306b", "o"),
    "part_gseal": ("#d95f02", "o"),
    "part_dseal": ("#1b9e77", "o"),
    "part_dseal_fd": ("#66a61e", "o"),
    "particlenet_baseline": ("#7570b3", "s"),
    "particlenet_gseal": ("#e6ab02", "s"),
    "particlenet_dseal": ("#a6761d", "s"),
    "particlenet_dseal_fd": ("#e7298a", "s"),
    # the jet regression ("raw" a filled plus: a marker with a face, drawn hollow for its one
    # "seed"; an "x" has no face and would look the same filled or hollow)
    "raw": ("#525252", "P"),
    "equivariant": ("#6a3d9a", "h"),
    # the toy regression
    "invariant": ("#b15928", "^"),
    "dualsubnet": ("#fb9a99", "v"),
    # violation-budget rules and the λ search (docs/budget.md)
    "lr": ("#3182bd", "o"),
    "constant": ("#e6550d", "x"),
    "search": ("#31a354", "*"),
    "homotopy": ("#756bb1", "^"),
    "lr-a1": ("#9e9ac8", "<"),
    "lr-a4": ("#fd8d3c", ">"),
    "slow": ("#8c6d31", "v"),
    "clip0.25": ("#843c39", "d"),
    "slack6": ("#393b79", "P"),
    "sq4": ("#de9ed6", "h"),
    "sq6": ("#7b4173", "H"),
    "pi": ("#969696", "8"),
    "rate-lr": ("#6baed6", "p"),
    "rate-lr2": ("#0b7d7d", "X"),
    "hold0.9": ("#c7a20b", "D"),
    # the N-body study (examples/nbody; baseline, gseal, dseal and augment as above)
    "gseal_sub": ("#a55194", "^"),
    "egnn": ("#e31a1c", "v"),
    "egnn_field": ("#67001f", "p"),
}
# colours for curves that are not methods (seeds, targets, λs, generators): Okabe-Ito, the
# blue last (the baseline's colour is a blue; the toy's figures draw it beside λ curves)
SERIES = ("#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000", "#f0e442",
          "#0072b2")
# deterministic fallback for names not in METHOD_STYLES (crc32 of the name)
FALLBACK = ("#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#9c755f", "#76b7b2", "#edc948",
            "#ff9da7", "#e15759", "#bab0ac")
FALLBACK_MARKERS = ("o", "s", "D", "^", "v", "<", ">", "p", "h", "P")


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend in the HEP style (mplhep's ATLAS style when
    mplhep is installed, matplotlib's default otherwise) with this module's font sizes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    try:
        import mplhep

        plt.style.use(mplhep.style.ATLAS)
    except ImportError:  # the hep extra installs it; the figures work without it
        plt.style.use("default")
    plt.rcParams.update({
        "font.size": FONT, "axes.labelsize": FONT, "axes.titlesize": FONT,
        "legend.fontsize": 9, "legend.title_fontsize": 9, "xtick.labelsize": 10,
        "ytick.labelsize": 10, "lines.markersize": 5, "legend.frameon": False,
        "figure.autolayout": False, "savefig.dpi": DPI,
        # the axis labels centred: mplhep's top/right placement collides with the legend
        # titles and offset texts of neighbouring panels
        "xaxis.labellocation": "center", "yaxis.labellocation": "center"})
    return plt


def subplots(nrows: int = 1, ncols: int = 1, **kw):
    """``plt.subplots`` in this style with the constrained layout (``squeeze=False`` unless
    given): ``(plt, fig, axes)``."""
    plt = pyplot()
    kw.setdefault("squeeze", False)
    fig, axes = plt.subplots(nrows, ncols, layout="constrained", **kw)
    return plt, fig, axes


# ----------------------------------------------------------------------------- colours
def _base(name: str) -> str:
    return str(name).split("@")[0]


def method_style(name: str) -> dict:
    """``{"color", "marker"}`` of a method, a budget rule or a toy method: the table's entry of
    the name without its ``"@λ"`` suffix; else that of its longest known prefix before an
    ``_`` (``"gseal_f0.25_x"`` -> ``"gseal_f0.25"``); else a deterministic fallback."""
    base = _base(name)
    if base in METHOD_STYLES:
        c, m = METHOD_STYLES[base]
        return {"color": c, "marker": m}
    parts = base.split("_")
    for k in range(len(parts) - 1, 0, -1):
        head = "_".join(parts[:k])
        if head in METHOD_STYLES:
            c, m = METHOD_STYLES[head]
            return {"color": c, "marker": m}
    h = zlib.crc32(base.encode())
    return {"color": FALLBACK[h % len(FALLBACK)],
            "marker": FALLBACK_MARKERS[(h // len(FALLBACK)) % len(FALLBACK_MARKERS)]}


def color(name: str) -> str:
    return method_style(name)["color"]


def marker(name: str) -> str:
    return method_style(name)["marker"]


def series_color(i: int) -> str:
    """The ``i``-th colour for curves that are seeds, targets or generators."""
    return SERIES[int(i) % len(SERIES)]


def tag(artists, method: str):
    """Mark ``artists`` (an artist, or nested tuples / lists / containers of them) as drawn for
    ``method``: ``gid = "method:<name>"``."""
    if isinstance(artists, (tuple, list)):
        for a in artists:
            tag(a, method)
    elif artists is not None and hasattr(artists, "set_gid"):
        artists.set_gid(f"method:{_base(method)}")
    return artists


# ----------------------------------------------------------------------------- seeds
def errorbar(ax, x, mean, std=None, n=1, *, method: str | None = None, color_=None,
             marker_=None, ls="-", label=None, band=False, ms=5):
    """Mean over seeds against ``x``: a line, filled markers with error bars (std over seeds)
    where ``n > 1`` seeds ran, hollow markers without a bar where one did (``n`` per point or
    one number). Returns the legend handle (line and filled marker) with ``label``."""
    from matplotlib.lines import Line2D

    x = np.asarray(x, dtype=float)
    mean = np.asarray(mean, dtype=float)
    std = np.zeros_like(mean) if std is None else np.nan_to_num(np.asarray(std, float))
    n = np.broadcast_to(np.asarray(n), mean.shape)
    c = color_ if color_ is not None else (color(method) if method else "k")
    mk = marker_ if marker_ is not None else (marker(method) if method else "o")
    arts = [ax.plot(x, mean, ls=ls, color=c, lw=1.5)[0]]
    many = n > 1
    if many.any():
        eb = ax.errorbar(x[many], mean[many], yerr=std[many], fmt=mk, color=c, mfc=c, ms=ms,
                         capsize=3, ls="none", elinewidth=1.2)
        arts += [eb[0], *eb[1], *eb[2]]
        if band:
            arts.append(ax.fill_between(x, mean - std, mean + std, color=c, alpha=0.12, lw=0))
    if (~many).any():
        arts.append(ax.plot(x[~many], mean[~many], mk, ls="none", color=c, mfc="white",
                            mec=c, mew=1.4, ms=ms + 1)[0])
    if method:
        tag(arts, method)
    return Line2D([], [], color=c, ls=ls, marker=mk, mfc=c, ms=ms, label=label)


def seed_handles(ns) -> list:
    """Legend entries that say what the error bars and hollow markers are, for the numbers of
    seeds ``ns`` (an iterable of ints) that occur in a figure."""
    from matplotlib.lines import Line2D

    ns = sorted({int(v) for v in np.ravel(np.asarray(list(ns), dtype=float))
                 if math.isfinite(v)})
    many = [v for v in ns if v > 1]
    out = []
    if many:
        text = "/".join(str(v) for v in many)
        out.append(Line2D([], [], color="0.3", marker="o", ls="none", ms=5,
                          label=f"error bar: std over {text} seeds"))
    if 1 in ns:
        out.append(Line2D([], [], color="0.3", marker="o", ls="none", mfc="white", ms=6,
                          label="hollow marker: 1 seed (no error bar)"))
    return out


# ----------------------------------------------------------------------------- legends
def _dedup(handles, labels):
    seen, h2, l2 = set(), [], []
    for h, lab in zip(handles, labels, strict=True):
        if not lab or lab.startswith("_") or lab in seen:
            continue
        seen.add(lab)
        h2.append(h)
        l2.append(lab)
    return h2, l2


def legend(target, handles=None, *, where="right", ncol=1, title=None, fontsize=None):
    """A legend outside the data area: right of an Axes, or right of / below a whole Figure
    (``where="right"`` / ``"below"``; needs :func:`subplots`' constrained layout, which makes
    room for it). ``handles``: artists with labels, else those of the axes; equal labels
    merged."""
    from matplotlib.axes import Axes

    if handles is None:
        axes = [target] if isinstance(target, Axes) else target.axes
        handles, labels = [], []
        for ax in axes:
            h, lab = ax.get_legend_handles_labels()
            handles += h
            labels += lab
    else:
        labels = [h.get_label() for h in handles]
    handles, labels = _dedup(handles, labels)
    if not handles:
        return None
    kw = dict(title=title, fontsize=fontsize, ncol=ncol, frameon=False, handlelength=2.2,
              borderaxespad=0.0, columnspacing=1.2)
    if isinstance(target, Axes):
        return target.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.03, 1.0),
                             **kw)
    loc = "outside lower center" if where == "below" else "outside right upper"
    return target.legend(handles, labels, loc=loc, **kw)


# ----------------------------------------------------------------------------- axes
def _flat(values):
    if isinstance(values, (list, tuple, np.ndarray)) and not np.isscalar(values):
        for v in values:
            yield from _flat(v)
    elif values is not None:
        yield float(values)


def _finite(values, log: bool):
    v = np.fromiter(_flat(values), dtype=float)
    v = v[np.isfinite(v)]
    return v[v > 0] if log else v


def _limits(values, log: bool, margin: float):
    v = _finite(values, log)
    if v.size == 0:
        return None
    lo, hi = float(v.min()), float(v.max())
    if log:
        lo, hi = math.log10(lo), math.log10(hi)
    span = hi - lo
    pad = margin * span if span > 0 else (0.1 if log else 0.05 * max(abs(lo), 1e-12))
    lo, hi = lo - pad, hi + pad
    return (10 ** lo, 10 ** hi) if log else (lo, hi)


def fit(ax, x=None, y=None, margin: float = 0.05) -> None:
    """Limit ``ax`` to the data ``x`` / ``y`` (any nesting of numbers; NaN and, on a log axis,
    non-positive values ignored) plus ``margin`` of the range on each side, in the axis'
    scale: no axis runs far past the data, and no point sits on the frame. Call after
    ``set_xscale`` / ``set_yscale``."""
    if x is not None and (lim := _limits(x, ax.get_xscale() == "log", margin)):
        ax.set_xlim(*lim)
        if ax.get_xscale() == "log":
            _log_ticks(ax.xaxis, *lim)
    if y is not None and (lim := _limits(y, ax.get_yscale() == "log", margin)):
        ax.set_ylim(*lim)
        if ax.get_yscale() == "log":
            _log_ticks(ax.yaxis, *lim)


def _log_ticks(axis, lo: float, hi: float) -> None:
    """On a log axis spanning less than two decades, labels at 1, 2 and 5 × 10^k written as
    plain numbers (``0.2``, ``50``; below 0.8 decades also 1.5, 3 and 7 × 10^k), so that it
    carries more than one or two labels."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    span = math.log10(hi / lo)
    if span >= 2:
        return
    major = (1.0, 2.0, 5.0) if span >= 0.8 else (1.0, 1.5, 2.0, 3.0, 5.0, 7.0)
    axis.set_major_locator(LogLocator(subs=major))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
    axis.set_minor_locator(LogLocator(subs=[v for v in range(2, 10) if v not in major]))
    axis.set_minor_formatter(NullFormatter())


def data_of(ax):
    """``(xs, ys)``: every point drawn by the data artists of ``ax`` (lines and markers in
    data coordinates, error-bar segments; not axhline / axvline / spans); a point with a NaN or
    infinite coordinate is not drawn and is left out."""
    xs, ys = [], []

    def add(x, y):
        x, y = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
        if x.shape == y.shape:
            ok = np.isfinite(x) & np.isfinite(y)
            x, y = x[ok], y[ok]
        xs.append(x)
        ys.append(y)

    for ln in ax.get_lines():
        if ln.get_transform() == ax.transData and ln.get_visible():
            add(ln.get_xdata(), ln.get_ydata())
    for col in ax.collections:
        if col.get_transform() == ax.transData and hasattr(col, "get_segments"):
            for seg in col.get_segments():
                if len(seg):
                    add(np.asarray(seg)[:, 0], np.asarray(seg)[:, 1])
    return (np.concatenate(xs) if xs else np.empty(0)), (np.concatenate(ys) if ys else
                                                         np.empty(0))


def fit_data(ax, margin: float = 0.05, x: bool = True, y: bool = True, extra_x=(),
             extra_y=()) -> None:
    """:func:`fit` to every data point drawn in ``ax`` (:func:`data_of`: markers, lines, error
    bars with their caps) and to ``extra_x`` / ``extra_y`` (e.g. a target line)."""
    xs, ys = data_of(ax)
    fit(ax, [xs, list(extra_x)] if x else None, [ys, list(extra_y)] if y else None, margin)


def integer_ticks(ax, axis: str = "x") -> None:
    """Integer major ticks and no minor ticks on a count axis (epochs, trainings, sizes)."""
    from matplotlib.ticker import MaxNLocator, NullLocator

    for a in ((ax.xaxis,) if axis == "x" else (ax.yaxis,) if axis == "y"
              else (ax.xaxis, ax.yaxis)):
        a.set_major_locator(MaxNLocator(integer=True, min_n_ticks=2))
        a.set_minor_locator(NullLocator())


def save(fig, path, dpi: int = DPI) -> None:
    """Save with ``bbox_inches="tight"`` (nothing clipped) and close the figure."""
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=dpi, bbox_inches="tight", pad_inches=0.05)
    plt.close(fig)
