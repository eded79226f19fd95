"""The synthetic prong jets of the weaver-tagger tests and benchmarks (data/toy_jets.py)."""

import torch

from examples.hep.data.toy_jets import prong_jets
from examples.hep.evaluation.tagging import auc


def test_prong_jets_are_massless_padded_and_carry_the_jet_pt():
    p, labels = prong_jets(64, 20, seed=3, dtype=torch.float64)
    assert p.shape == (64, 20, 4) and labels.shape == (64,)
    assert set(labels.tolist()) == {0.0, 1.0}
    real = (p != 0).any(-1)
    n = real.sum(1)
    assert n.min() >= 10 and n.max() <= 20
    # padding only after the constituents
    assert (real == (torch.arange(20)[None] < n[:, None])).all()
    m2 = p[..., 0] ** 2 - (p[..., 1:] ** 2).sum(-1)
    torch.testing.assert_close(m2[real] / p[..., 0][real] ** 2, torch.zeros(int(real.sum()),
                               dtype=torch.float64), rtol=0, atol=1e-12)
    jet_pt = p[..., 1:3].sum(1).norm(dim=-1)
    scalar_pt = p[..., 1:3].norm(dim=-1).sum(1)
    assert (scalar_pt >= 550 - 1e-9).all() and (scalar_pt <= 650 + 1e-9).all()
    assert (jet_pt <= scalar_pt + 1e-9).all()


def test_three_prong_jets_are_heavier():
    p, labels = prong_jets(400, 30, seed=1, dtype=torch.float64)
    jet = p.sum(1)
    mass = (jet[:, 0] ** 2 - (jet[:, 1:] ** 2).sum(-1)).clamp_min(0).sqrt()
    assert mass[labels == 1].median() > 2 * mass[labels == 0].median()


def test_the_jet_mass_alone_separates_the_classes():
    """An easy task by construction (a smoke test of training, not physics): the jet mass
    ranks three-prong above one-prong jets almost always."""
    p, labels = prong_jets(400, 30, seed=2, dtype=torch.float64)
    jet = p.sum(1)
    mass = (jet[:, 0] ** 2 - (jet[:, 1:] ** 2).sum(-1)).clamp_min(0).sqrt()
    assert auc(labels.numpy(), mass.numpy()) > 0.95
    assert auc(labels.numpy(), -mass.numpy()) < 0.05
