"""Every mutant of the lab applies to the code as it is (issue 32 item 2: a stale mutant is an
error): for each spec in tests/mutants/, each mutant's original text occurs exactly once in its
file, the mutation changes it, and the test files (and test functions) it names exist. A change
that moves a mutated line fails here, at once, instead of turning a replay STALE later; rewrite
the mutant's path and text to plant the same bug in the moved code (keep its id) and note it in
tests/MUTATIONS.md. Reads files only: no mutant is applied."""

import pathlib
import runpy

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SPECS = sorted((ROOT / "tests" / "mutants").glob("issue*.py"))


def test_the_lab_has_its_spec_files():
    names = {p.name for p in SPECS}
    assert {"issue22_budget.py", "issue22_search.py", "issue24_groups_reps.py",
            "issue24_lab2.py", "issue32_pinned.py", "issue32_lab3.py"} <= names


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_every_mutant_applies_once_and_names_existing_tests(spec):
    mutants = runpy.run_path(str(spec))["MUTANTS"]
    ids = [m[0] for m in mutants]
    assert len(ids) == len(set(ids)), "duplicate ids"
    problems = []
    for mid, path, old, new, tests in mutants:
        f = ROOT / path
        if not f.is_file():
            problems.append(f"{mid}: {path} does not exist")
            continue
        n = f.read_text().count(old)
        if n != 1:
            problems.append(f"{mid}: the original text occurs {n} times in {path}")
        if old == new:
            problems.append(f"{mid}: the mutated text equals the original")
        if not [t for t in tests if not t.startswith("-")]:
            problems.append(f"{mid}: no test file")
        for t in tests:
            if t.startswith("-"):          # a pytest option, e.g. --deselect=...
                continue
            file, _, node = t.partition("::")
            if not (ROOT / file).is_file():
                problems.append(f"{mid}: test file {file} does not exist")
            elif node and f"def {node.split('[')[0]}(" not in (ROOT / file).read_text():
                problems.append(f"{mid}: no test {node} in {file}")
    assert not problems, "\n".join(problems)
