"""ParT (weaver-core) on four-momenta with SEAL: inputs, sanitised pair features, penalties
finite on padded jets, zero on an exactly invariant ParT, padding invariance, no trimming."""

from functools import partial

import pytest
import torch

pytest.importorskip("weaver.nn.model.ParticleTransformer")

from weaver.nn.model.ParticleTransformer import pairwise_lv_fts_pp  # noqa: E402

from examples.hep.models.part import PartFromMomenta, safe_pair_features  # noqa: E402
from liesoft import DeltaSEAL, Lorentz, Vector4  # noqa: E402
from tests.hep.momenta_samples import (  # noqa: E402
    PENALTIES,
    all_finite_grads,
    calibrate,
    padded_jets,
    physical_jets,
)


def model(dtype=torch.float64, seed=0, **kw):
    torch.manual_seed(seed)
    return calibrate(PartFromMomenta(**kw).to(dtype), physical_jets(32, 12, dtype=dtype, seed=7))


def test_v_is_channels_first_px_py_pz_e():
    p = physical_jets(3, 8)
    v = PartFromMomenta().double().inputs(p)["v"]
    assert v.shape == (3, 4, 8)
    for b, i in ((0, 0), (1, 1), (2, 0)):
        e, px, py, pz = p[b, i].tolist()
        assert v[b, :, i].tolist() == [px, py, pz, e]


def test_safe_pair_features_equal_weavers_away_from_singular_points():
    p = physical_jets(4, 10, min_real=8, seed=3)[:, :8]  # real particles only
    v = p[..., [1, 2, 3, 0]].transpose(1, 2)
    i, j = torch.triu_indices(8, 8, offset=1)
    xi, xj = v[:, :, i], v[:, :, j]
    torch.testing.assert_close(safe_pair_features(xi, xj), pairwise_lv_fts_pp(xi, xj, 4),
                               rtol=0, atol=1e-10)


def test_safe_pair_features_have_finite_derivatives_of_two_orders_everywhere():
    """All pairs, padding and self-pairs included, with a nonzero upstream gradient on every
    feature (ParT masks padded pairs afterwards; a masked NaN would still poison gradients)."""
    p = padded_jets()
    v = p[..., [1, 2, 3, 0]].transpose(1, 2).requires_grad_(True)
    feats = safe_pair_features(v.unsqueeze(-1), v.unsqueeze(-2))
    assert torch.isfinite(feats).all()
    (grad,) = torch.autograd.grad(feats.sum(), v, create_graph=True)
    assert torch.isfinite(grad).all()
    (grad2,) = torch.autograd.grad(grad.pow(2).sum(), v)
    assert torch.isfinite(grad2).all()


def test_the_pair_mass_part_sees_is_the_invariant_mass_of_the_pair():
    """End to end: the ln m² ParT computes for every real pair is log((p_i + p_j)²) of the
    (E, px, py, pz) rows (a wrong channel order of v breaks it)."""
    p = physical_jets(3, 9, seed=4)
    net = model()
    pe, seen = net.part.pair_embed, []
    inner = pe.pairwise_lv_fts
    pe.pairwise_lv_fts = lambda a, b: seen.append(inner(a, b)) or seen[-1]
    net(p)
    lnm2 = seen[0][:, 3]  # (B, N, N) in the sparse path
    s = p[:, :, None, :] + p[:, None, :, :]
    want = (s[..., 0] ** 2 - (s[..., 1:] ** 2).sum(-1)).log()
    real = (p != 0).any(-1)
    pairs = real[:, :, None] & real[:, None, :] & ~torch.eye(9, dtype=torch.bool)
    torch.testing.assert_close(lnm2[pairs], want[pairs], rtol=0, atol=1e-9)


@pytest.mark.parametrize("name", sorted(PENALTIES))
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_penalties_finite_with_finite_gradients_on_padded_jets(name, dtype):
    net = model(dtype)
    p = padded_jets(dtype)
    value = PENALTIES[name]()(net, p)
    assert torch.isfinite(value) and value > 0
    value.backward()
    assert all_finite_grads(net)


def test_weavers_own_pair_features_give_nan_gradients():
    """The trap the wrapper avoids: weaver's unclamped sqrt/atan2 at padding and self-pairs."""
    net = model()
    net.part.pair_embed.pairwise_lv_fts = partial(pairwise_lv_fts_pp, num_outputs=4, eps=1e-8)
    p = padded_jets().requires_grad_(True)
    net(p).sum().backward()
    assert not torch.isfinite(p.grad).all()
    net.zero_grad()
    DeltaSEAL(Lorentz(), Vector4())(net, padded_jets()).backward()
    assert not all_finite_grads(net)


@pytest.mark.parametrize("name", sorted(PENALTIES))
def test_penalties_vanish_on_an_invariant_part(name):
    p = padded_jets()
    torch.manual_seed(11)
    invariant = PENALTIES[name]()(model(invariant=True), p)
    torch.manual_seed(11)
    standard = PENALTIES[name]()(model(), p)
    assert standard > 1e-3  # the same penalty sees the ordinary ParT's violation
    assert invariant < 1e-16, (name, invariant.item())


@pytest.mark.parametrize("invariant", [False, True])
def test_padding_does_not_change_the_output(invariant):
    net = model(invariant=invariant)
    p = physical_jets(5, 10, seed=5)
    more = torch.cat([p, torch.zeros(5, 6, 4, dtype=p.dtype)], 1)
    scattered = more[:, torch.randperm(16, generator=torch.Generator().manual_seed(0))]
    with torch.no_grad():
        ref = net(p)
        torch.testing.assert_close(net(more), ref, rtol=0, atol=1e-10)
        torch.testing.assert_close(net(scattered), ref, rtol=0, atol=1e-10)


def test_training_mode_has_no_random_trimming():
    """ParT's SequenceTrimmer permutes and cuts particles in training after 5 warm-up calls."""
    torch.manual_seed(0)
    net = PartFromMomenta().double().train()
    p = physical_jets(8, 12, seed=6)
    with torch.no_grad():
        outs = [net(p) for _ in range(8)]
    for y in outs[1:]:
        torch.testing.assert_close(y, outs[0], rtol=0, atol=0)


def test_fx_computed_outside_any_attention_context_serves_exact_dseal():
    p = padded_jets().requires_grad_(True)
    pen = DeltaSEAL(Lorentz(), Vector4())
    net = model()
    pen(net, p, fx=net(p)).backward()
    assert all_finite_grads(net)
    fused = model(math_attention=False)  # what the wrapper's default avoids
    with pytest.raises(RuntimeError, match="not implemented"):
        pen(fused, p, fx=fused(p)).backward()


def test_bad_inputs_are_refused_clearly():
    net = PartFromMomenta()
    with pytest.raises(ValueError, match=r"\(B, N, 4\).*got \(2, 5, 3\)"):
        net(torch.ones(2, 5, 3))
    with pytest.raises(TypeError, match="floating-point.*int64"):
        net(torch.ones(2, 5, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="trim=False"):
        PartFromMomenta(trim=True)


def test_cpu_config_size():
    n = sum(q.numel() for q in PartFromMomenta().parameters())
    assert 1e5 < n < 3e5, n  # ~0.16 M (the paper's ParT: ~2.1 M)
