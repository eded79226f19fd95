"""The example scripts' command lines (issue 21): every option has a help text that shows its
default and its valid values, the tables the help lists agree with the real ones, and
``--help`` answers without importing torch or the other heavy modules."""

import argparse
import os
import re
import subprocess
import sys
import time

import pytest

from examples.hep import (
    audit_checkpoint,
    experiment,
    jet_regression,
    options,
    toptag,
    toy_regression,
)
from examples.hep.studies import top_tagging
from examples.hep.tasks import regression

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPTS = {"toptag": toptag.parse_args, "jet_regression": jet_regression.parse_args,
           "toy_regression": toy_regression.parse_args, "audit_checkpoint": audit_checkpoint.main}
HEAVY = ("torch", "numpy", "h5py", "matplotlib", "sklearn", "pythia8", "lgatr", "scipy",
         "weaver", "liesoft")


class _Parsed(Exception):
    pass


def parser_of(entry, monkeypatch) -> argparse.ArgumentParser:
    """The parser ``entry`` builds (stopped at its parse_args call)."""
    got = {}

    def grab(self, *args, **kwargs):
        got["parser"] = self
        raise _Parsed

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", grab)
    with pytest.raises(_Parsed):
        entry(["x"])
    return got["parser"]


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_every_option_has_a_help_text_with_its_default(name, monkeypatch):
    ap = parser_of(SCRIPTS[name], monkeypatch)
    text = ap.format_help()
    flat = " ".join(text.split())
    for action in ap._actions:
        if isinstance(action, argparse._HelpAction) or action.help == argparse.SUPPRESS:
            continue
        opt = "/".join(action.option_strings) or action.dest
        assert action.help and len(action.help.split()) >= 2, (name, opt)
        shown = ap.formatter_class("x")._get_help_string(action) % vars(action)
        if action.default not in (None, False, ""):  # the default is printed after the text
            assert f"(default: {action.default})" in " ".join(shown.split()), (name, opt)
        elif action.option_strings and action.nargs != 0:
            assert "default" in shown, (name, opt)  # the text says what its absence means
        if action.choices:
            for c in action.choices:
                assert str(c) in flat, (name, opt, c)
    # the description is the script's whole first paragraph, not a line cut mid-sentence
    desc = " ".join(ap.description.split())
    assert desc.endswith((".", "?")), (name, desc)


def items(help_text: str) -> list[str]:
    """The ``- name:`` items of a help text, one per line."""
    return re.findall(r"^- (\S+?)(?: \(default\))?:", help_text, re.M)


def option(ap, flag):
    return next(a for a in ap._actions if flag in a.option_strings)


def test_toptag_help_lists_every_method_preset_and_study_with_a_line_each(monkeypatch):
    ap = parser_of(toptag.parse_args, monkeypatch)
    # the help is rendered from the table itself (experiment.METHODS), a line per method
    help_text = option(ap, "--methods").help
    assert items(help_text) == list(experiment.TOPTAG_METHODS)
    assert set(experiment.TOPTAG_METHODS) <= set(experiment.METHODS)
    for name in experiment.TOPTAG_METHODS:
        assert f"- {name}: {experiment.METHODS[name][1]}" in help_text
    assert "NET:PENALTY" in help_text and all(n in help_text for n in experiment.NETWORKS)
    assert items(option(ap, "--preset").help) == list(options.TOPTAG_PRESETS)
    assert set(options.TOPTAG_PRESETS) == set(top_tagging.PRESETS)
    assert items(option(ap, "--studies").help) == list(options.TOPTAG_STUDIES)
    assert tuple(options.TOPTAG_STUDIES) == top_tagging.STUDIES
    assert options.TOPTAG_FULL_STUDY == top_tagging.FULL_STUDY
    assert option(ap, "--preset").default == toptag.DEFAULT_PRESET == "first"


def test_jet_regression_and_toy_help_list_their_methods_presets_and_lambdas(monkeypatch):
    ap = parser_of(jet_regression.parse_args, monkeypatch)
    assert items(option(ap, "--methods").help) == list(regression.METHODS)
    assert set(options.REGRESSION_METHODS) == set(regression.METHODS)
    assert items(option(ap, "--preset").help) == list(options.REGRESSION_PRESETS)
    assert set(options.REGRESSION_PRESETS) == set(jet_regression.PRESETS)
    assert options.REGRESSION_LAMBDA_DEFAULT == regression.LAMBDA
    lam = option(ap, "--lam").help
    assert all(f"{k}={v:g}" in lam for k, v in regression.LAMBDA.items())
    assert "override LAMBDA" not in lam
    ap = parser_of(toy_regression.parse_args, monkeypatch)
    assert items(option(ap, "--preset").help) == list(options.TOY_PRESETS)
    assert set(options.TOY_PRESETS) == set(toy_regression.PRESETS)
    ap = parser_of(audit_checkpoint.main, monkeypatch)
    assert set(options.TOPTAG_PRESETS) == set(option(ap, "--preset").choices)


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_help_answers_fast_without_heavy_imports(name):
    """``--help`` in a fresh interpreter: no torch, numpy, h5py, matplotlib, ... imported, and
    fast (measured 0.5-0.7 s on the loaded 2-core machine; the bound is generous)."""
    path = os.path.join(ROOT, "examples", "hep", f"{name}.py")
    code = ("import runpy, sys\n"
            f"sys.argv = [{path!r}, '--help']\n"
            "try:\n"
            f"    runpy.run_path({path!r}, run_name='__main__')\n"
            "except SystemExit:\n"
            "    pass\n"
            f"print('HEAVY', sorted(m for m in {HEAVY!r} if m in sys.modules))\n")
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       timeout=60)
    wall = time.perf_counter() - t0
    assert r.returncode == 0, r.stderr[-2000:]
    assert "usage:" in r.stdout and "HEAVY []" in r.stdout, r.stdout[-500:]
    assert wall < 5.0, wall


def test_the_measured_jet_has_a_dash_not_nan_for_its_violation():
    """The detector-level jet is no model: its log line and its results row print "–" for
    the violation and the step ratio, and the table says why (no unexplained ``nan``)."""
    from examples.hep.evaluation import regression as rev

    q = {"E": {"response": 1.0, "resolution": 0.1}, "m": {"response": 1.0, "resolution": 0.2}}
    raw = {"inside": q, "above": q, "boosted": q}
    lines = []
    ctx = type("Ctx", (), {"log": lambda self, *m: lines.append(" ".join(m))})()
    jet_regression.log_run(ctx, "raw", 0, raw)
    jet_regression.log_run(ctx, "gseal", 0, dict(raw, **{"violation_at_0.5": 2.5e-3}))
    assert "nan" not in lines[0] and "|β| = 0.5: – (no model" in lines[0]
    assert "|β| = 0.5: 2.500e-03" in lines[1]
    table = rev.results_markdown({"raw": [raw], "gseal": [dict(raw, **{
        "violation_at_0.5": 2.5e-3, "train_step_ratio": 2.0})]}, 1000.0)
    raw_row = next(line for line in table.splitlines() if line.startswith("| Detector-level"))
    assert raw_row.rstrip(" |").endswith("– | –") and "nan" not in table
    assert "–: not defined" in table
