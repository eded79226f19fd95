"""The jet transformer's feature map and padding (examples/hep/models/tagger.py), against values
computed by hand: every feature on its own, a jet straddling phi = +-pi, and padding rows that
must be ignored (not selected instead of the real rows)."""

import math

import pytest
import torch

from examples.hep.models import tagger
from examples.hep.models.tagger import (
    JetTransformer,
    constituent_features,
    masked_mean,
    padding_mask,
)

A, B, PT = 0.3, 0.5, 100.0  # the symmetric jet: (eta, phi) = (+B, pi - A) and (-B, -pi + A)


def p4(pt, eta, phi, m=0.0):
    px, py, pz = pt * math.cos(phi), pt * math.sin(phi), pt * math.sinh(eta)
    return [math.sqrt(px**2 + py**2 + pz**2 + m**2), px, py, pz]


def symmetric_jet():
    """Two massless constituents placed symmetrically about the jet axis eta = 0, phi = pi."""
    return torch.tensor([p4(PT, B, math.pi - A), p4(PT, -B, -math.pi + A)], dtype=torch.float64)


def test_every_feature_of_a_jet_straddling_phi_pi_by_hand():
    feats, mask = constituent_features(symmetric_jet()[None])
    assert mask.tolist() == [[True, True]]
    # jet: pT = 2 PT cos A, eta = 0, phi = pi, E = 2 PT cosh B
    expected = torch.tensor([
        # log E,                   log pT,        log(pT/pT_jet),        log(E/E_jet), Δη, Δφ, ΔR
        [math.log(PT * math.cosh(B)), math.log(PT), -math.log(2 * math.cos(A)), -math.log(2),
         B, -A, math.hypot(A, B)],
        [math.log(PT * math.cosh(B)), math.log(PT), -math.log(2 * math.cos(A)), -math.log(2),
         -B, A, math.hypot(A, B)],
    ], dtype=torch.float64)
    torch.testing.assert_close(feats[0], expected, rtol=0, atol=1e-12)


def reference_features(consts):
    """Independent per-constituent features in plain Python (``consts``: list of (E,px,py,pz))."""
    E = sum(c[0] for c in consts)
    px, py, pz = (sum(c[i] for c in consts) for i in (1, 2, 3))
    jet_pt = math.hypot(px, py)
    jet_eta, jet_phi = math.asinh(pz / jet_pt), math.atan2(py, px)
    rows = []
    for e, cx, cy, cz in consts:
        pt = math.hypot(cx, cy)
        deta = math.asinh(cz / pt) - jet_eta
        dphi = math.remainder(math.atan2(cy, cx) - jet_phi, 2 * math.pi)
        rows.append([math.log(e), math.log(pt), math.log(pt / jet_pt), math.log(e / E),
                     deta, dphi, math.hypot(deta, dphi)])
    return torch.tensor(rows, dtype=torch.float64)


def massive_jet():
    """Massive constituents (E > |p|, so log E != log |p|) around phi = 3.1, across +-pi."""
    return [p4(300.0, 0.8, 3.0, m=5.0), p4(120.0, 0.6, -3.1, m=2.0), p4(40.0, 1.1, 3.12, m=1.0),
            p4(15.0, 0.5, -2.9, m=0.5)]


def test_features_of_a_massive_jet_across_phi_pi_with_padding_in_the_middle():
    consts = massive_jet()
    want = reference_features(consts)
    assert (want[:, 5].abs() < 0.5).all() and (want[:, 5] > 0).any() and (want[:, 5] < 0).any()
    assert (want[:, 0] - want[:, 1]).abs().min() > 1e-3 and (want[:, 2] - want[:, 3]).abs().min(
    ) > 1e-3  # the pairs log E / log pT and the two ratios are told apart
    zero = [0.0] * 4
    x = torch.tensor([[consts[0], zero, consts[1], consts[2], zero, consts[3], zero]],
                     dtype=torch.float64)
    real = [0, 2, 3, 5]
    feats, mask = constituent_features(x)
    assert mask[0].tolist() == [i in real for i in range(7)]
    torch.testing.assert_close(feats[0, real], want, rtol=0, atol=1e-12)
    assert (feats[0, [1, 4, 6]] == 0).all()
    # in a batch with another jet (and more padding), every jet keeps its own features
    other = torch.cat([symmetric_jet(), torch.zeros(5, 4, dtype=torch.float64)])[None]
    both, _ = constituent_features(torch.cat([x, other]))
    torch.testing.assert_close(both[0], feats[0], rtol=0, atol=0)
    torch.testing.assert_close(both[1, :2], constituent_features(symmetric_jet()[None])[0][0],
                               rtol=0, atol=0)


def test_padding_mask_marks_real_rows():
    x = torch.tensor([[[1.0, 0.0, 0.0, 1.0], [0.0] * 4, [0.0, 0.0, 0.0, -1e-9]]])
    assert padding_mask(x).tolist() == [[True, False, True]]  # only an all-zero row is padding


def test_masked_mean_by_hand_ignores_what_padded_rows_hold():
    h = torch.tensor([[[1.0, 2.0], [1e6, -1e6], [3.0, 6.0]],
                      [[5.0, 5.0], [7.0, 7.0], [-4.0, 4.0]],
                      [[9.0, 9.0], [9.0, 9.0], [9.0, 9.0]]])
    mask = torch.tensor([[True, False, True], [False, True, False], [False, False, False]])
    want = torch.tensor([[2.0, 4.0], [7.0, 7.0], [0.0, 0.0]])  # a jet with no real row: zero
    torch.testing.assert_close(masked_mean(h, mask), want, rtol=0, atol=0)


def small_model(seed=0):
    torch.manual_seed(seed)
    return JetTransformer(d=16, layers=2, heads=2, hidden=16, hidden_layers=1).double().eval()


def padded_batch():
    """Three jets with 4, 2 and 1 real constituents, padded (at the end and in the middle)."""
    zero = [0.0] * 4
    jets = [massive_jet(), symmetric_jet().tolist(), [p4(500.0, -0.2, 0.4, m=3.0)]]
    rows = [jets[0] + [zero], [jets[1][0], zero, zero, jets[1][1], zero], [zero] * 4 + jets[2]]
    return torch.tensor(rows, dtype=torch.float64), [torch.tensor([j], dtype=torch.float64)
                                                     for j in jets]


def test_each_padded_jet_scores_as_the_same_jet_without_any_padding():
    """A model that attends to (or pools) the padding instead of the real constituents fails:
    the unpadded jets have no padding row at all."""
    model = small_model()
    x, alone = padded_batch()
    with torch.no_grad():
        out = model(x)
        ref = torch.cat([model(j) for j in alone])
    assert torch.isfinite(ref).all() and ref.std() > 1e-3  # the jets are told apart
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-12)


def test_output_independent_of_what_padded_rows_hold(monkeypatch):
    """Garbage in the padded rows' features must not change the output: the encoder masks the
    padded keys and the pooling skips them."""
    model = small_model(1)
    x, _ = padded_batch()
    with torch.no_grad():
        clean = model(x)
    real = constituent_features

    def garbage(z):
        feats, mask = real(z)
        noise = 50 * torch.randn(feats.shape, generator=torch.Generator().manual_seed(3),
                                 dtype=feats.dtype)
        return torch.where(mask[..., None], feats, noise), mask

    monkeypatch.setattr(tagger, "constituent_features", garbage)
    with torch.no_grad():
        dirty = model(x)
    torch.testing.assert_close(dirty, clean, rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_features_are_exactly_zero_and_gradient_free_on_padding(dtype):
    x, _ = padded_batch()
    x = x.to(dtype).requires_grad_(True)
    feats, mask = constituent_features(x)
    (g,) = torch.autograd.grad(feats.sum(), x)
    assert (feats[~mask] == 0).all() and (g[~mask] == 0).all() and torch.isfinite(g).all()
    assert (feats[mask][:, :2] != 0).all()  # log E and log pT of real rows are not
