"""tests/mutants/replay.py fails loudly (issue 32 item 2): only a test failure (pytest exit 1)
is KILLED; a surviving mutant, a stale one and any other pytest exit (4: usage error, 5: no
tests collected, ...) make the exit status non-zero, and each is listed.

Everything runs on a throwaway module and test written in tmp_path (``--root``), never on the
repository's files."""

import importlib.util
import pathlib
import textwrap

import pytest

REPLAY = pathlib.Path(__file__).resolve().parent / "mutants" / "replay.py"


def _replay():
    spec = importlib.util.spec_from_file_location("liesoft_mutant_replay", REPLAY)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


replay = _replay()

MODULE = "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n"
TEST = textwrap.dedent("""\
    from toymod import add


    def test_add():
        assert add(2, 3) == 5
    """)
EMPTY_TEST = "# no test functions here\n"

MUTANTS = {
    "killed": ("killed", "toymod.py", "return a + b", "return a - b", ["test_toy.py"]),
    "survived": ("survived", "toymod.py", "return a * b", "return b * a", ["test_toy.py"]),
    "stale": ("stale", "toymod.py", "return a / b", "return b / a", ["test_toy.py"]),
    "no-file": ("no-file", "toymod.py", "return a + b", "return a - b",
                ["test_does_not_exist.py"]),
    "no-tests": ("no-tests", "toymod.py", "return a + b", "return a - b", ["test_empty.py"]),
}
EXPECTED = {"killed": "KILLED", "survived": "SURVIVED", "stale": "STALE", "no-file": "ERROR",
            "no-tests": "ERROR"}


@pytest.fixture
def lab(tmp_path, monkeypatch):
    # the throwaway tests need no plugin: replay's pytest runs start faster without them
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    (tmp_path / "toymod.py").write_text(MODULE)
    (tmp_path / "test_toy.py").write_text(TEST)
    (tmp_path / "test_empty.py").write_text(EMPTY_TEST)
    return tmp_path


def write_spec(path, ids):
    path.write_text("MUTANTS = " + repr([MUTANTS[i] for i in ids]) + "\n")
    return path


def run(lab, ids, capsys, *extra):
    spec = write_spec(lab / "spec_mutants.py", ids)
    rc = replay.main([str(spec), "--root", str(lab), *extra])
    out = capsys.readouterr().out
    return rc, out


def lines_of(out):
    return {line.split(":")[0]: line for line in out.splitlines() if ":" in line
            and not line.startswith("not killed")}


@pytest.mark.parametrize("mid", sorted(MUTANTS))
def test_each_status_and_the_exit_code(lab, capsys, mid):
    """One mutant per run: its status, and exit 0 only for KILLED."""
    rc, out = run(lab, [mid], capsys)
    line = lines_of(out)[mid]
    assert line.startswith(f"{mid}: {EXPECTED[mid]}"), out
    assert rc == (0 if EXPECTED[mid] == "KILLED" else 1), out
    assert (lab / "toymod.py").read_text() == MODULE      # restored byte for byte


def test_pytest_exit_codes_are_named(lab, capsys):
    """The ERROR lines say which pytest exit it was: 4 (file not found), 5 (no tests)."""
    _, out = run(lab, ["no-file", "no-tests"], capsys)
    lines = lines_of(out)
    assert "pytest exit 4" in lines["no-file"], out
    assert "pytest exit 5" in lines["no-tests"], out
    assert "occurs 0 times" in run(lab, ["stale"], capsys)[1]


def test_all_together_summary_and_listing(lab, capsys):
    """All five: exit 1, every non-killed one listed, the summary line last."""
    rc, out = run(lab, list(MUTANTS), capsys)
    assert rc == 1
    assert out.strip().splitlines()[-1] == "killed 1 / 5, survived 1, stale 1, errors 2"
    not_killed = [line for line in out.splitlines() if line.startswith("not killed")]
    assert len(not_killed) == 1
    for mid in ("survived", "stale", "no-file", "no-tests"):
        assert f"{mid}: {EXPECTED[mid]}" in not_killed[0]
    assert "killed: KILLED" not in not_killed[0]
    assert (lab / "toymod.py").read_text() == MODULE


def test_a_stale_text_occurring_twice_is_stale(lab, capsys):
    """'exactly once': a text that occurs twice is not applied either."""
    (lab / "toymod.py").write_text(MODULE + "\n\ndef add2(a, b):\n    return a + b\n")
    rc, out = run(lab, ["killed"], capsys)
    assert rc == 1 and "killed: STALE (the original text occurs 2 times" in out


def test_only_replays_the_named_mutants_and_rejects_unknown_ids(lab, capsys):
    rc, out = run(lab, list(MUTANTS), capsys, "--only", "killed")
    assert rc == 0
    assert set(lines_of(out)) == {"killed"}
    assert out.strip().splitlines()[-1] == "killed 1 / 1, survived 0, stale 0, errors 0"
    rc, out = run(lab, list(MUTANTS), capsys, "--only", "killed,nonesuch")
    assert rc == 2


def test_list_prints_ids_and_tests_and_runs_nothing(lab, capsys):
    rc, out = run(lab, list(MUTANTS), capsys, "--list")
    assert rc == 0
    rows = [line.split("\t") for line in out.strip().splitlines()]
    assert [r[0] for r in rows] == list(MUTANTS)
    assert rows[3] == ["no-file", "toymod.py", "test_does_not_exist.py"]
    assert (lab / "toymod.py").read_text() == MODULE


def test_the_root_can_come_from_the_environment(lab, capsys, monkeypatch):
    monkeypatch.setenv("LIESOFT_REPLAY_ROOT", str(lab))
    spec = write_spec(lab / "spec_env.py", ["killed"])
    assert replay.main([str(spec)]) == 0
    assert "killed: KILLED" in capsys.readouterr().out


def test_status_of_maps_every_pytest_exit_code():
    assert replay.status_of(1)[0] == "KILLED"
    assert replay.status_of(0)[0] == "SURVIVED"
    for code in (2, 3, 4, 5, -9, 137):
        assert replay.status_of(code)[0] == "ERROR"
