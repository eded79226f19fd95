"""Issue 30: a network file outside the repository trains through ``toptag.py`` as weaver's
``--network-config`` does (docs/models.md "Your own network"): the file defines
``get_model(cfg)``, its model is called as ``model(p, mask)`` and returns ``(B,)`` or
``(B, 1)`` logits; ``--methods FILE:baseline,FILE:gseal`` trains it without and with GSEAL and
writes its rows under ``<stem>_<penalty>``. A missing ``get_model``, a wrong output shape and a
file that does not exist each give one clear error before any training."""

import json
import re
import textwrap

import pytest
import torch

from examples.hep import experiment, toptag
from examples.hep.models import networks

# the complete example file of docs/models.md (tests/hep/test_docs_models.py checks they agree)
NET = textwrap.dedent('''
    import torch


    class DeepSet(torch.nn.Module):
        """Per-particle MLP on (log E, px/E, py/E, pz/E), masked mean, MLP: one logit."""

        def __init__(self, width):
            super().__init__()
            self.phi = torch.nn.Sequential(torch.nn.Linear(4, width), torch.nn.ReLU())
            self.rho = torch.nn.Linear(width, 1)

        def forward(self, p, mask):
            e = p[..., :1].clamp_min(1e-3)                   # padding: E = 0, sanitised
            h = self.phi(torch.cat([e.log(), p[..., 1:] / e], -1)) * mask[..., None]
            return self.rho(h.sum(1) / mask.sum(1, keepdim=True).clamp_min(1))


    def get_model(cfg):
        return DeepSet(width=8 if cfg["preset"] == "quick" else 64)
''')


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_a_network_file_resolves_to_a_method_named_after_it(tmp_path):
    path = write(tmp_path, "my_net.py", NET)
    for pen in ("baseline", "gseal", "dseal", "dseal_fd"):
        m = experiment.resolve(f"{path}:{pen}", "quick", networks.sizes)
        assert m.name == f"my_net_{pen}" and m.network == str((tmp_path / "my_net.py").resolve())
        assert m.penalty == experiment.PENALTIES[pen][0] and m.options is None
    model = networks.build(m.network, {"preset": "quick", "max_constituents": 5})
    p = torch.zeros(3, 5, 4)
    p[:, 0] = torch.tensor([100.0, 60.0, 0.0, 0.0])
    mask = (p != 0).any(-1)
    # the wrapper calls the file's model with the padding mask: the same logits
    torch.testing.assert_close(model(p), model.model(p, mask), rtol=0, atol=0)
    assert model(p).shape == (3, 1)


@pytest.fixture(scope="module")
def cache(quick_jet_cache):
    return quick_jet_cache


def test_toptag_trains_a_network_file_without_and_with_gseal(tmp_path, cache):
    path = write(tmp_path, "my_net.py", NET)
    out = tmp_path / "run"
    toptag.main(["--quick", "--no-progress", "--cache-dir", cache, "--workers", "1",
                 "--methods", f"{path}:baseline,{path}:gseal", "--studies", "table1",
                 "--out", str(out)])
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {"my_net_baseline", "my_net_gseal"}
    details = json.loads((out / "details.json").read_text())
    base = details["table1"]["my_net_baseline"][0]["history"]
    gseal = details["table1"]["my_net_gseal"][0]["history"]
    assert all(h["penalty"] == 0 for h in base)          # no penalty without one
    assert all(h["penalty"] > 1e-9 for h in gseal)       # GSEAL in the loss of the other
    ck = torch.load(out / "checkpoints" / "table1_my_net_gseal_seed0.pt", weights_only=True)
    assert ck["recipe"]["method"] == {"model": str((tmp_path / "my_net.py").resolve()),
                                      "penalty": "gseal", "lam": 1.0}
    assert "| my_net_gseal |" in (out / "table1.md").read_text()


@pytest.mark.parametrize("text, message", [
    ("import torch\n\n\ndef build(cfg):\n    return torch.nn.Linear(4, 1)\n",
     "defines no get_model"),
    ("import torch\n\n\nclass Two(torch.nn.Module):\n    def forward(self, p, mask):\n"
     "        return p.sum(1)[:, :2]\n\n\ndef get_model(cfg):\n    return Two()\n",
     r"must return logits of shape \(2,\) or \(2, 1\) for a batch of 2 jets, got \(2, 2\)"),
    ("def get_model(cfg):\n    return 3\n", "must return a torch.nn.Module, got int"),
    ("def get_model(cfg):\n    return cfg['no such key']\n", "get_model of network .* failed"),
    ("import no_such_module_anywhere\n", "failed to import: ModuleNotFoundError"),
])
def test_a_bad_network_file_is_refused_with_one_clear_error(tmp_path, capsys, text, message):
    path = write(tmp_path, "bad_net.py", text)
    with pytest.raises(ValueError, match=message):
        networks.check(path, {"preset": "quick", "max_constituents": 4})
    with pytest.raises(SystemExit):
        toptag.parse_args(["--quick", "--methods", f"{path}:gseal"])
    last = capsys.readouterr().err.strip().splitlines()[-1]   # argparse's one error line
    assert "error:" in last and "bad_net" in last and re.search(message, last), last


def test_a_missing_network_file_or_a_bad_penalty_is_refused(tmp_path, capsys):
    for bad, message in ((f"{tmp_path}/nowhere.py:gseal", "does not exist"),
                         (f"{write(tmp_path, 'n.py', NET)}:gsael", "penalty after ':'"),
                         ("transformr:gseal", "network before ':'")):
        with pytest.raises(ValueError, match=message):
            experiment.resolve(bad, "quick", networks.sizes)
        with pytest.raises(SystemExit):
            toptag.parse_args(["--quick", "--methods", bad])
        assert message in capsys.readouterr().err
    with pytest.raises(ValueError, match="does not exist"):
        networks.load(str(tmp_path / "nowhere.py"))


def test_built_in_networks_resolve_as_aliases_of_network_and_penalty():
    """``part:gseal`` is ``part_gseal``; the built-in names keep their old keys."""
    a = experiment.resolve("part:gseal", "quick", networks.sizes)
    b = experiment.resolve("part_gseal", "quick", networks.sizes)
    assert a.network == b.network == "part" and a.penalty == b.penalty
    assert a.options == b.options == networks.sizes("part")["quick"]
    assert experiment.resolve("transformer:dseal", "quick").penalty == \
        experiment.resolve("dseal", "quick").penalty


def test_the_docs_show_this_very_network_file_and_the_command():
    """docs/models.md "Your own network" holds the example file this module trains, the
    contract and the command; README links it."""
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[2]
    doc = (root / "docs" / "models.md").read_text()
    section = doc[doc.index("## Your own network"):]
    assert NET.strip() in section
    assert "model(p, mask)" in section and "get_model(cfg)" in section
    assert ("--methods path/to/my_net.py:baseline,path/to/my_net.py:gseal" in section)
    assert "docs/models.md#your-own-network" in (root / "README.md").read_text()
