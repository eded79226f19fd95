"""Boost augmentation: labels kept and paired with their own jets, the draws are GSEAL's,
padding stays zero, masses are preserved, the paper's |beta|^2 distribution."""

import pytest
import torch

from examples.hep.data.augment import BETA_MAX, BoostAugmentation
from liesoft import GSEAL, SO3, Lorentz, Vector4

F64 = torch.float64


def jets(batch=8, n=10, pad=3, seed=0, dtype=F64):
    g = torch.Generator().manual_seed(seed)
    p3 = 50 * torch.randn(batch, n, 3, generator=g, dtype=dtype)
    p3[..., 2] += 300.0 * torch.rand(batch, 1, generator=g, dtype=dtype)  # jets differ
    m = 0.2 + torch.rand(batch, n, 1, generator=g, dtype=dtype)
    x = torch.cat([(p3.square().sum(-1, keepdim=True) + m**2).sqrt(), p3], dim=-1)
    x[:, n - pad:] = 0.0
    return x


def mdot(a, b):
    return a[..., 0] * b[..., 0] - (a[..., 1:] * b[..., 1:]).sum(-1)


def test_labels_kept_and_paired_with_their_own_jets():
    x, y = jets(), torch.arange(8.0)
    xb, yb = BoostAugmentation()(x, y, generator=torch.Generator().manual_seed(1))
    assert torch.equal(yb, y)
    # jet i of the output is a boosted copy of jet i of the input: its invariants (jet mass,
    # constituent masses, pair products) are jet i's, which differ from jet to jet
    jet, jet_b = x.sum(1), xb.sum(1)
    assert torch.allclose(mdot(jet_b, jet_b), mdot(jet, jet), rtol=1e-10)
    assert (mdot(jet, jet)[1:] - mdot(jet, jet)[:-1]).abs().min() > 1.0
    pairs = mdot(x[:, :, None], x[:, None, :])
    assert torch.allclose(mdot(xb[:, :, None], xb[:, None, :]), pairs, rtol=1e-9, atol=1e-6)
    assert not torch.allclose(xb, x, atol=1.0)  # really transformed


def test_draws_are_the_gseal_samplers():
    aug = BoostAugmentation()
    x = jets()
    xb, _, g = aug(x, None, generator=torch.Generator().manual_seed(7), return_elements=True)
    ref = GSEAL(Lorentz(), Vector4(), beta_max=BETA_MAX).sample(
        8, x.device, torch.Generator().manual_seed(7))
    assert torch.equal(g, ref)
    assert torch.allclose(xb, torch.einsum("bij,bnj->bni", ref, x), rtol=1e-13, atol=1e-10)
    # options are GSEAL's too
    rot = BoostAugmentation(rotations=True, beta_max=0.5)
    ref = GSEAL(Lorentz(), Vector4(), rotations=True, beta_max=0.5).sample(
        8, x.device, torch.Generator().manual_seed(3))
    assert torch.equal(rot.sample(8, generator=torch.Generator().manual_seed(3)), ref)
    assert rot.sampler_options == {"rotations": True, "beta_max": 0.5}


def test_paper_beta_distribution():
    g = BoostAugmentation().sample(20_000, generator=torch.Generator().manual_seed(0))
    beta2 = 1 - 1 / g[:, 0, 0] ** 2  # gamma = g_00 for a pure boost
    assert beta2.max() < 0.95
    # |beta|^2 ~ U[0, 0.95]: mean 0.475, std of the mean 0.95 / sqrt(12 * 20000) = 0.002
    assert abs(beta2.mean().item() - 0.475) < 0.01
    assert abs((beta2 < 0.475).double().mean().item() - 0.5) < 0.02


def test_padding_stays_exactly_zero_and_input_untouched():
    x = jets(pad=4)
    before = x.clone()
    for dtype in (F64, torch.float32):
        xb, _ = BoostAugmentation()(x.to(dtype), generator=torch.Generator().manual_seed(2))
        assert xb.dtype == dtype
        assert torch.equal(xb[:, -4:], torch.zeros_like(xb[:, -4:]))
        assert (xb[:, :-4] != 0).any(-1).all()  # real constituents stay nonzero
    assert torch.equal(x, before)


def test_masses_preserved_to_rounding():
    x = jets()
    xb, _ = BoostAugmentation()(x, generator=torch.Generator().manual_seed(4))
    real = (x != 0).any(-1)
    # float64: constituent masses m^2 = E^2 - p^2 (E up to ~2 TeV after gamma <= 4.5):
    # cancellation error ~ eps * E^2
    err = (mdot(xb, xb) - mdot(x, x))[real].abs()
    assert (err <= 1e-15 * 100 * xb[..., 0][real] ** 2).all()
    # float32: the action runs in float64 and rounds once, so the masses carry only the
    # rounding of storing E and p in float32: |dm^2| <~ 4 eps32 E^2
    x32 = x.float()
    xb32, _ = BoostAugmentation()(x32, generator=torch.Generator().manual_seed(4))
    jet32, ref = xb32.double().sum(1), x.sum(1)
    rel = (mdot(jet32, jet32) - mdot(ref, ref)).abs() / jet32[:, 0] ** 2
    assert rel.max() <= 4 * torch.finfo(torch.float32).eps * 10


def test_fresh_draws_reproducible_and_global_rng_untouched():
    aug, x = BoostAugmentation(), jets()
    state = torch.get_rng_state()
    gen = torch.Generator().manual_seed(5)
    a, _ = aug(x, generator=gen)
    b, _ = aug(x, generator=gen)
    assert not torch.allclose(a, b)  # a new element per call (each training step)
    assert torch.equal(torch.get_rng_state(), state)
    c, _ = aug(x, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, c)
    # one element per jet: two copies of the same jet get different boosts
    same = x[:1].expand(4, -1, -1).clone()
    d, _ = aug(same, generator=gen)
    assert not torch.allclose(d[0], d[1])


def test_other_groups_and_refusals():
    # a subgroup of 4x4 matrices (boosts along z, the stabiliser of the x and y axes)
    beam = Lorentz().stabilizer(torch.tensor([0.0, 1.0, 0.0, 0.0]), torch.tensor(
        [0.0, 0.0, 1.0, 0.0]))
    aug = BoostAugmentation(beam)
    assert aug.sampler_options == {}  # no Lorentz default (beta_max) for another group
    xb, _ = aug(jets(), generator=torch.Generator().manual_seed(0))
    assert torch.allclose(xb[..., 1:3], jets()[..., 1:3])  # px, py untouched by K_z
    with pytest.raises(ValueError, match="Vector4"):
        BoostAugmentation(SO3())  # 3x3 matrices cannot act on four-momenta
    aug = BoostAugmentation()
    with pytest.raises(ValueError, match=r"\(B, N, 4\)"):
        aug(torch.zeros(5, 4))
    with pytest.raises(TypeError, match="floating-point"):
        aug(torch.zeros(2, 3, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="one row per jet"):
        aug(jets(), torch.zeros(3))
    with pytest.raises(ValueError, match="empty batch"):
        aug(torch.zeros(0, 3, 4))
    with pytest.raises(ValueError, match="beta_max"):
        BoostAugmentation(beta_max=1.5)


def test_same_draws_as_the_boosted_jet_test():
    # the boosted-jet evaluation (toptag.boost_jets) draws Lorentz().sample(n, beta_max=BETA_MAX,
    # float64, Generator(seed)) and acts in float64 before casting to float32: the augmentation
    # with the same seed gives bit-identical jets
    x32 = jets(dtype=torch.float32)
    g = Lorentz().sample(8, beta_max=0.95 ** 0.5, dtype=F64,
                         generator=torch.Generator().manual_seed(11))
    ref = Vector4().bind(Lorentz()).act(g, x32.double()).float()
    xb, _ = BoostAugmentation()(x32, generator=torch.Generator().manual_seed(11))
    assert torch.equal(xb, ref)
