"""The layout of examples/hep (issue 19): scripts import modules, never another script; the
modules import each other without a circle; the library never imports from examples/."""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
HEP = ROOT / "examples" / "hep"


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: pathlib.Path) -> set[str]:
    """Every module ``path`` imports, at any depth of its code (``from a import b`` counts as
    ``a.b`` too: b may be a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def is_script(path: pathlib.Path) -> bool:
    return "__main__" in path.read_text() and path.parent == HEP


def graph(files) -> dict[str, set[str]]:
    names = {module_name(p) for p in files}
    return {module_name(p): {m for m in imports(p) if m in names} for p in files}


def cycle(g: dict[str, set[str]]) -> list[str] | None:
    """A circle of imports in ``g``, or None."""
    state = {}

    def visit(n, stack):
        state[n] = "open"
        for m in sorted(g.get(n, ())):
            if state.get(m) == "open":
                return stack[stack.index(m):] + [m]
            if m not in state and (found := visit(m, stack + [m])):
                return found
        state[n] = "done"
        return None

    for n in sorted(g):
        if n not in state and (found := visit(n, [n])):
            return found
    return None


FILES = sorted(HEP.rglob("*.py"))
SCRIPTS = {module_name(p) for p in FILES if is_script(p)}


def test_the_scripts_are_the_ones_expected():
    assert SCRIPTS == {f"examples.hep.{s}" for s in
                       ("toptag", "jet_regression", "toy_regression", "audit_checkpoint",
                        "data_efficiency", "merge_table1", "budget_tagging")}


def test_no_module_imports_a_script_and_no_import_circle():
    g = graph(FILES)
    bad = {(a, b) for a, bs in g.items() for b in bs if b in SCRIPTS}
    assert not bad, f"imports of a script: {sorted(bad)}"
    assert cycle(g) is None, f"import circle: {' -> '.join(cycle(g))}"


def test_the_cycle_finder_finds_a_circle():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_the_library_never_imports_examples():
    bad = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "liesoft").rglob("*.py"))
           if any(m.split(".")[0] == "examples" for m in imports(p))]
    assert not bad


def calls(path: pathlib.Path) -> set[str]:
    """Names of the methods and functions ``path`` calls (``opt.step()`` -> ``step``)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call):
            f = node.func
            out.add(f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", ""))
    return out


def test_models_hold_models_and_no_training_loop():
    """models/ gives networks; the one training loop is training/loop.py: no module there is
    a script or runs backward passes of its own (a smoke_train.py did)."""
    models = sorted((HEP / "models").glob("*.py"))
    assert models
    scripts = [p.name for p in models if "__main__" in p.read_text()]
    loops = [p.name for p in models if "backward" in calls(p)]
    assert not scripts and not loops, (scripts, loops)
    assert "backward" in calls(HEP / "training" / "loop.py")  # the finder sees the loop


def backward_callers(path: pathlib.Path) -> list[str]:
    """The functions of ``path`` whose body calls ``.backward(`` (nested functions by their own
    name)."""
    found = []

    def visit(node, owner):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(child, child.name)
            elif (isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute)
                  and child.func.attr == "backward"):
                found.append(owner)
                visit(child, owner)
            else:
                visit(child, owner)

    visit(ast.parse(path.read_text(), str(path)), "<module>")
    return found


def test_one_function_of_the_examples_runs_backward_for_training():
    """Issue 30: every example trains through ``training.loop.train_step`` (top tagging, the
    data-efficiency and budget studies, the jet and the toy regression, the interleaved timing);
    weaver's adapter keeps weaver's loop. The finder sees a second loop where one is planted."""
    callers = {(str(p.relative_to(HEP)), f) for p in FILES if p.parent.name != "weaver"
               for f in backward_callers(p)}
    assert callers == {("training/loop.py", "train_step")}, callers
    planted = "def step(loss):\n    loss.backward()\n\ndef other():\n    x.backward()\n"
    tmp = ROOT / "tests" / "hep" / "_planted_loop.py"
    try:
        tmp.write_text(planted)
        assert backward_callers(tmp) == ["step", "other"]
    finally:
        tmp.unlink()


def source_matches(pattern: str, folders) -> list[str]:
    import re

    return [f"{p.relative_to(ROOT)}:{i + 1}" for folder in folders
            for p in sorted(folder.rglob("*.py"))
            for i, line in enumerate(p.read_text().splitlines()) if re.search(pattern, line)]


def test_no_caller_asks_a_penalty_its_type():
    """The library's one call (``penalty(f, x, return_output=True)``) serves GSEAL, δSEAL in
    every mode and fraction and a budget alike: nothing under examples/ inspects penalty
    types or detects a budget by its attributes."""
    examples = [ROOT / "examples"]
    assert not source_matches(r"isinstance\([^)]*(GSEAL|DeltaSEAL)", examples)
    assert not source_matches(r"hasattr\([^)]*[\"']target[\"']", examples)
    assert not source_matches(r"\.mode == [\"']fd[\"']", examples)


def test_models_and_the_training_loop_read_no_argparse_namespace():
    """An experiment is a value resolved once by the scripts: no module under models/ and no
    module of training/ imports argparse or reads an ``args.`` attribute."""
    folders = [HEP / "models", HEP / "training"]
    assert not source_matches(r"\bargs\.[a-z_]+|import argparse", folders)
    assert source_matches(r"\bargs\.[a-z_]+", [HEP])  # the pattern finds the scripts' reads


# the library's floors (../shared/design-notes.md): each imports only what is below it
FLOORS = {"groups": 0, "_checks": 0, "reps": 1, "penalties": 2, "audit": 2, "testing": 2,
          "violation": 2, "lambda_search": 2, "experimental": 3, "budget": 4}


def library_floor_violations() -> list[str]:
    bad = []
    for p in sorted((ROOT / "liesoft").rglob("*.py")):
        rel = p.relative_to(ROOT / "liesoft").with_suffix("").parts
        if rel[0] == "__init__":
            continue
        mine = FLOORS[rel[0]]
        tree = ast.parse(p.read_text(), str(p))
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level == 0 and (node.module or "").split(".")[0] == "liesoft":
                target = (node.module.split(".") + [""])[1]
                names = [target] if target else [a.name for a in node.names]
            elif node.level > 0:
                up = p.parent.relative_to(ROOT / "liesoft").parts[: max(0, len(rel) - node.level)]
                parts = [*up, *((node.module or "").split(".") if node.module else [])]
                names = [parts[0]] if parts else [a.name for a in node.names]
            else:
                continue
            for name in names:
                if name in FLOORS and FLOORS[name] > mine:
                    bad.append(f"{'/'.join(rel)} imports {name}")
    return bad


def test_the_library_imports_only_down_its_floors():
    """groups < reps < penalties, audit, testing, violation, lambda_search < experimental:
    no module imports one above its own floor (the package __init__ gathers them all). The
    finder was checked on planted files (``from ..penalties import gseal`` in groups/,
    ``from liesoft.audit import x`` in reps/): both reported."""
    assert library_floor_violations() == []
    assert set(FLOORS) >= {p.stem if p.is_file() else p.name
                           for p in (ROOT / "liesoft").iterdir()
                           if (p.suffix == ".py" and p.stem != "__init__")
                           or (p.is_dir() and (p / "__init__.py").exists())}
