"""The N-body entry script end to end, tiny (``--quick`` with 40/20/20 trajectories, one
epoch): one result file per method, resumable, and ``--report`` renders them.

Planted bugs, each killed (replayed by hand with the edit in brackets):
* finished trainings retrained [``if path.exists():`` -> ``if False:``]: test_quick_end_to_end;
* ``report`` dropping a method [``rows.pop("egnn", None)``]: test_quick_end_to_end;
* augmentation transforming the inputs only [``x, y = in_rep.act(g, x), y``]:
  test_augmentation_transforms_inputs_and_targets.
All 3 killed.
"""

import copy
import json

import torch

from examples.nbody import nbody
from examples.nbody.models import EGNN, METHODS
from examples.nbody.training import make_step


def test_quick_end_to_end(tmp_path, capsys):
    argv = ["--quick", "--sizes", "40,20,20", "--epochs", "1", "--out", str(tmp_path),
            "--cache-dir", str(tmp_path / "cache")]
    nbody.main(argv)
    files = sorted((tmp_path / "results").glob("*.json"))
    records = {json.loads(f.read_text())["method"]: json.loads(f.read_text()) for f in files}
    assert set(records) == set(METHODS)
    for r in records.values():
        for key in ("method", "field", "strength", "seed", "train_size", "lam", "test_mse",
                    "test_violation", "epochs", "train_seconds"):
            assert key in r, key
        assert r["field"] == "uniform" and r["strength"] == 0.3 and r["train_size"] == 40
    assert records["egnn"]["test_violation"] < 1e-8          # exact: float32 rounding
    assert records["baseline"]["test_violation"] > 1e-2
    assert records["gseal"]["lam"] > 0 and records["baseline"]["lam"] == 0
    stamps = [f.stat().st_mtime_ns for f in files]
    capsys.readouterr()
    nbody.main(argv)                                         # resumable: nothing retrained
    assert [f.stat().st_mtime_ns for f in files] == stamps
    assert capsys.readouterr().out.count("skip ") == len(METHODS)
    nbody.main(["--report", "--out", str(tmp_path)])
    table = capsys.readouterr().out
    for name in METHODS:
        assert f"| {name} |" in table
    assert "test_violation" in table


def test_augmentation_transforms_inputs_and_targets():
    """For an exactly equivariant model the augmented step's loss is the plain step's (MSE is
    invariant when inputs and targets move together), to float32 rounding (1e-5 relative)."""
    torch.manual_seed(0)
    x = torch.randn(8, 5, 7)
    y = x[..., :3] + x[..., 3:6]
    base, losses = EGNN(), {}
    for name in ("baseline", "augment"):
        model = copy.deepcopy(base)
        opt = torch.optim.SGD(model.parameters(), lr=0.0)
        step = make_step(METHODS[name], model, opt, 0.0, None)
        losses[name] = step(x, y, torch.Generator().manual_seed(1))
    assert abs(losses["augment"] - losses["baseline"]) < 1e-5 * losses["baseline"]
    assert losses["baseline"] > 0.1
