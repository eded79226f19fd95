"""The examples' command-line options and their help texts, free of heavy imports.

``--help`` of ``toptag.py``, ``jet_regression.py``, ``toy_regression.py`` and
``audit_checkpoint.py`` must answer in well under 2 s: this module imports nothing but
``argparse``, so the scripts build their parsers from it and import torch, h5py, matplotlib,
scikit-learn, pythia8 and lgatr only once the options are parsed. toptag.py's methods are
listed from their own table (``experiment.METHODS``, torch-free); the names listed here are the
keys of the other real tables (``studies/top_tagging.PRESETS``, ``tasks/regression.METHODS``,
the scripts' own ``PRESETS``); ``tests/hep/test_cli.py`` checks that they agree.
"""

from __future__ import annotations

import argparse

# ----------------------------------------------------------------------------- toptag.py
TOPTAG_PRESETS = {
    "first": "the default: 30k window jets, a d = 48 transformer, 12 epochs; Table 1, Fig. 2-3 "
             "and Table 2 in <= 10 min on 2 CPU cores",
    "cpu": "the documented CPU study (--preset cpu --study full): 30k window + 40k wide-pT "
           "jets, d = 64, 10 epochs",
    "quick": "smoke test in < 2 min (1.2k jets, d = 16, 2 epochs; the tests use it)",
    "paper": "the paper's model and data (GPU): 400k jets, d = 256, 3 layers, 30 epochs",
    "gpu_check": "the paper's model on 20k jets for 2 epochs (benchmarks/gpu_check.py)",
}
TOPTAG_FULL_STUDY = dict(studies="table1,timing,extrapolation,lambda_scan,cost", seeds=3)
TOPTAG_STUDIES = {
    "table1": "Table 1, invariance vs |β| (Fig. 2), balanced accuracy vs pT (Fig. 3)",
    "timing": "train / eval step of every method, interleaved (Table 2)",
    "extrapolation": "train on pT <= --pt-cut, test on 350-3000 GeV (Fig. 4, 5)",
    "lambda_scan": "Fig. 2 for GSEAL λ in {0.1, 1, 10}, δSEAL λ in {0.01, 0.1, 1}",
    "cost": "GSEAL fraction 0.25 / 0.5, δSEAL fd, GSEAL fine-tuning: cost vs gain",
}

# ----------------------------------------------------------------------------- jet_regression.py
REGRESSION_METHODS = {
    "baseline": "transformer regressor correcting the measured jet, no penalty",
    "gseal": "+ GSEAL on the output four-vector, λ = 10",
    "dseal": "+ δSEAL exact, λ = 10",
    "dseal_random": "+ δSEAL mode='random' (one-pass unbiased estimator), λ = 10",
    "equivariant": "Σ w_i p_i with weights from Lorentz invariants: exactly equivariant",
}
REGRESSION_LAMBDA_DEFAULT = {"gseal": 10.0, "dseal": 10.0}  # = tasks/regression.LAMBDA
REGRESSION_PRESETS = {
    "cpu": "the default: 40k wide-pT jets, d = 32, 10 epochs, all five methods (~15 min)",
    "quick": "smoke test (1k jets, d = 16, 2 epochs; the tests use it)",
}

# ----------------------------------------------------------------------------- toy_regression.py
AUDIT_MAGNITUDES = "0.5,0.9"
TOY_PRESETS = {
    "default": "1e5 training vectors, width 300, 10 epochs, cosine schedule (CPU)",
    "paper": "the paper's configuration (GPU): lr 1e-5 constant, 1000 epochs, more λs",
    "quick": "smoke test in < 1 min: 2k vectors, width 32, 4 epochs",
}


def listing(table: dict, default: str | None = None) -> str:
    """One line ``- name: text`` per entry (``(default)`` after ``default``), for a help text."""
    return "\n".join(f"- {k}{' (default)' if k == default else ''}: {v}"
                     for k, v in table.items())


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Help texts keep their line breaks (each line wrapped on its own, list items indented);
    ``(default: X)`` follows every option whose default is not None, False or "" (those
    options say in their text what their absence means); the description stays as written."""

    def _split_lines(self, text, width):
        import textwrap

        lines = []
        for line in text.splitlines():
            indent = "  " if line.startswith("- ") else ""
            lines += textwrap.wrap(line, width, subsequent_indent=indent) or [""]
        return lines

    def _get_help_string(self, action):
        text = action.help or ""
        if (action.option_strings and "%(default)" not in text
                and action.default not in (None, False, "", argparse.SUPPRESS)):
            text += " (default: %(default)s)"
        return text


def parser(doc: str) -> argparse.ArgumentParser:
    """A parser described by the first paragraph of ``doc`` (on one line) whose help shows
    every default."""
    import textwrap

    text = textwrap.fill(" ".join(doc.strip().split("\n\n")[0].split()), 79)
    return argparse.ArgumentParser(description=text, formatter_class=Formatter)


def add_run_arguments(ap: argparse.ArgumentParser, out: str) -> None:
    """The options every example built on ``training.train_one`` shares (output, device,
    resume, jet cache, epochs, progress bar)."""
    ap.add_argument("--out", default=out, help="output folder (tables, figures, metrics, "
                    "checkpoints)")
    ap.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                    help="auto: cuda when available, else cpu")
    ap.add_argument("--resume", action="store_true",
                    help="continue from the checkpoints in --out")
    ap.add_argument("--cache-dir", default=None,
                    help="jet cache folder (default: ~/.cache/liesoft)")
    ap.add_argument("--workers", type=int, default=None,
                    help="jet-generation processes (default: one per CPU core)")
    ap.add_argument("--epochs", type=int, default=None,
                    help="epochs, >= 1 (default: the preset's)")
    ap.add_argument("--no-progress", action="store_true", help="no progress bars")
