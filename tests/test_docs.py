"""Every ```python block in README.md and docs/*.md runs (blocks of one file share a namespace)."""

import math
import pathlib
import re

import pytest
import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def test_docs_exist():
    for name in ("conventions.md", "groups.md"):
        assert (ROOT / "docs" / name).is_file()


@pytest.mark.parametrize("path", [p for p in DOCS if BLOCK.search(p.read_text())],
                         ids=lambda p: p.name)
def test_python_blocks_run(path, capsys):
    namespace = {"__name__": f"doc_{path.stem}"}
    for i, block in enumerate(BLOCK.findall(path.read_text())):
        try:
            exec(compile(block, f"{path.name}[block {i}]", "exec"), namespace)
        except Exception as exc:  # report which block failed
            raise AssertionError(f"{path.name} block {i} failed: {exc!r}\n{block}") from exc


def test_budget_doc_example_meets_its_target_and_its_unit_checks_hold():
    """docs/budget.md: the λ search lands its trained model within rtol of the target; the
    budget's training example ends with Γ̄ ≤ 1.5 × target and an active λ, and
    the physical-unit statements (√Γ_G = RMS change, |β|√(2Γ_δ) for a rotation-invariant
    output) hold to the stated precision."""
    path = ROOT / "docs" / "budget.md"
    namespace = {"__name__": "doc_budget"}
    blocks = BLOCK.findall(path.read_text())
    assert len(blocks) >= 2
    for i, block in enumerate(blocks):
        exec(compile(block, f"budget.md[block {i}]", "exec"), namespace)
    search = namespace["search"]         # find_lambda lands, its model is the chosen trial's
    assert search.status == "landed" and abs(math.log(search.ratio)) <= math.log(1.1)
    assert isinstance(search.payload, torch.nn.Module) and not search.payload.training
    assert search.trainings == len(search.trials) <= 6
    budget = namespace["budget"]
    assert budget.steps == 300 and budget.skipped == 0
    assert budget.ema <= 1.5 * budget.target and budget.lam > 1
    from liesoft.experimental.budget import STATE
    assert set(namespace["checkpoint"]["budget"]) == {"_lr_ref", *(f"_{k}" for k in STATE)}
    assert abs(namespace["gamma_g"] ** 0.5 / float(namespace["rms"]) - 1) < 1e-12
    assert abs(namespace["ratio"] - 1) < 0.05


def test_readme_quickstart_prints_the_output_it_shows(capsys):
    """README's quickstart is seeded: what it prints is the ```text block after it, to the
    printed precision (4 decimals; 1e-4 allows a last-digit flip from float32 rounding on
    another CPU)."""
    text = (ROOT / "README.md").read_text()
    quick = text[text.index("## Quickstart"):]
    code = BLOCK.search(quick).group(1)
    shown = re.search(r"```text\n(.*?)```", quick, re.S).group(1)
    exec(compile(code, "README quickstart", "exec"), {"__name__": "doc_quickstart"})
    printed = capsys.readouterr().out
    number = re.compile(r"-?\d+\.\d+")
    got, want = number.findall(printed), number.findall(shown)
    assert len(got) == len(want) == 3
    assert all(abs(float(a) - float(b)) <= 1e-4 for a, b in zip(got, want, strict=True))
    assert number.sub("#", printed) == number.sub("#", shown)
    assert text.index("## Quickstart") < text.index("## The main job") < text.index("## Tests")
