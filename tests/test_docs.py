"""Every ```python block in README.md and docs/*.md runs (blocks of one file share a namespace)."""

import pathlib
import re

import pytest

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
