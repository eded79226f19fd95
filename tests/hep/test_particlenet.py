"""ParticleNet (weaver-core) on four-momenta with SEAL: points, penalties finite on padded
jets, zero on an exactly invariant ParticleNet, padding invariance, no trimming."""

import math

import pytest
import torch

pytest.importorskip("weaver.nn.model.ParticleNet")

from examples.hep.models.particlenet import ParticleNetFromMomenta  # noqa: E402
from tests.hep.momenta_samples import (  # noqa: E402
    PENALTIES,
    all_finite_grads,
    calibrate,
    padded_jets,
    physical_jets,
)


def model(dtype=torch.float64, seed=0, **kw):
    torch.manual_seed(seed)
    return calibrate(ParticleNetFromMomenta(**kw).to(dtype),
                     physical_jets(32, 12, dtype=dtype, seed=7))


def test_points_are_eta_phi_relative_to_the_jet_axis():
    p = physical_jets(2, 10, seed=2)
    points = ParticleNetFromMomenta().double().inputs(p)["points"]
    assert points.shape == (2, 2, 10)
    for b in range(2):
        real = [r for r in p[b].tolist() if any(r)]
        jet = [sum(r[k] for r in real) for k in range(4)]

        def eta_phi(q):
            return math.asinh(q[3] / math.hypot(q[1], q[2])), math.atan2(q[2], q[1])
        jeta, jphi = eta_phi(jet)
        for i, q in enumerate(real):
            eta, phi = eta_phi(q)
            assert points[b, 0, i].item() == pytest.approx(eta - jeta, abs=1e-12)
            assert points[b, 1, i].item() == pytest.approx(
                math.remainder(phi - jphi, 2 * math.pi), abs=1e-12)


@pytest.mark.parametrize("name", sorted(PENALTIES))
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_penalties_finite_with_finite_gradients_on_padded_jets(name, dtype):
    net = model(dtype)
    value = PENALTIES[name]()(net, padded_jets(dtype))
    assert torch.isfinite(value) and value > 0
    value.backward()
    assert all_finite_grads(net)


@pytest.mark.parametrize("name", sorted(PENALTIES))
def test_penalties_vanish_on_an_invariant_particlenet(name):
    p = padded_jets()
    torch.manual_seed(11)
    invariant = PENALTIES[name]()(model(invariant=True), p)
    torch.manual_seed(11)
    standard = PENALTIES[name]()(model(), p)
    assert standard > 1e-3  # the same penalty sees the ordinary ParticleNet's violation
    assert invariant < 1e-16, (name, invariant.item())


@pytest.mark.parametrize("invariant", [False, True])
def test_padding_does_not_change_the_output(invariant):
    net = model(invariant=invariant)
    p = physical_jets(5, 10, seed=5)
    p[0, 3:] = 0  # fewer than k + 1 real particles: padding among the neighbours
    more = torch.cat([p, torch.zeros(5, 6, 4, dtype=p.dtype)], 1)
    scattered = more[:, torch.randperm(16, generator=torch.Generator().manual_seed(0))]
    with torch.no_grad():
        ref = net(p)
        torch.testing.assert_close(net(more), ref, rtol=0, atol=1e-10)
        torch.testing.assert_close(net(scattered), ref, rtol=0, atol=1e-10)


def test_training_mode_has_no_random_trimming():
    torch.manual_seed(0)
    net = ParticleNetFromMomenta().double().train()
    p = physical_jets(8, 12, seed=6)
    with torch.no_grad():
        outs = [net(p) for _ in range(8)]
    for y in outs[1:]:
        torch.testing.assert_close(y, outs[0], rtol=0, atol=0)


def test_bad_inputs_are_refused_clearly():
    net = ParticleNetFromMomenta()
    with pytest.raises(ValueError, match=r"N >= k \+ 1 = 8.*got N = 5"):
        net(torch.ones(2, 5, 4))
    with pytest.raises(ValueError, match=r"\(B, N, 4\).*got \(2, 9\)"):
        net(torch.ones(2, 9))
    with pytest.raises(ValueError, match="trim=False"):
        ParticleNetFromMomenta(trim=False)
