"""SO(3) and SO(n) Haar samplers, E(3) sampler (statistical tests at fixed seeds)."""

import math

import numpy as np
import pytest
import torch
from scipy import stats

from liesoft import E3, SO, SO3

F64 = torch.float64


def haar_angle_cdf(t):
    return (t - np.sin(t)) / math.pi


@pytest.mark.parametrize("group", [SO3(), SO(3)], ids=["quaternion", "qr"])
def test_so3_rotation_angle_follows_haar_density(group):
    R = group.sample(4000, generator=torch.Generator().manual_seed(11), dtype=F64)
    cos = ((torch.diagonal(R, dim1=-2, dim2=-1).sum(-1) - 1) / 2).clamp(-1, 1)
    theta = torch.arccos(cos).numpy()
    assert stats.kstest(theta, haar_angle_cdf).pvalue > 0.01
    # the rotation axis is uniform on the sphere: cos(polar angle) and azimuth are uniform
    axis = torch.stack([R[:, 2, 1] - R[:, 1, 2], R[:, 0, 2] - R[:, 2, 0], R[:, 1, 0] - R[:, 0, 1]], -1)
    axis = axis[torch.as_tensor(theta).sin() > 0.1]  # well-defined axes
    axis = axis / axis.norm(dim=-1, keepdim=True)
    assert stats.kstest(((axis[:, 2] + 1) / 2).numpy(), "uniform").pvalue > 0.01
    phi = torch.atan2(axis[:, 1], axis[:, 0])
    assert stats.kstest(((phi + math.pi) / (2 * math.pi)).numpy(), "uniform").pvalue > 0.01


@pytest.mark.parametrize("n", [2, 4, 6])
def test_so_n_haar_columns_uniform_on_sphere(n):
    R = SO(n).sample(4000, generator=torch.Generator().manual_seed(n), dtype=F64)
    assert torch.allclose(torch.linalg.det(R), torch.ones(4000, dtype=F64), atol=1e-10)
    # first column uniform on S^{n-1}: its first coordinate x has (x+1)/2 ~ Beta((n-1)/2, (n-1)/2)
    x = R[:, 0, 0].numpy()
    a = (n - 1) / 2
    assert stats.kstest((x + 1) / 2, stats.beta(a, a).cdf).pvalue > 0.01
    # Haar on SO(n): every entry has mean 0 and variance 1/n
    assert abs(float(R.mean(0).abs().max())) < 0.06
    assert torch.allclose(R.pow(2).mean(0), torch.full((n, n), 1 / n, dtype=F64), atol=0.03)


def test_e3_sampler_translation_scale_and_rotation():
    g = E3().sample(5000, generator=torch.Generator().manual_seed(0), dtype=F64,
                    translation_scale=2.5)
    t = g[:, :3, 3]
    assert abs(float(t.std()) - 2.5) < 0.05 and abs(float(t.mean())) < 0.1
    cos = ((torch.diagonal(g[:, :3, :3], dim1=-2, dim2=-1).sum(-1) - 1) / 2).clamp(-1, 1)
    assert stats.kstest(torch.arccos(cos).numpy(), haar_angle_cdf).pvalue > 0.01
    assert torch.equal(g[:, 3], torch.tensor([0.0, 0, 0, 1], dtype=F64).expand(5000, -1))


def test_rotation_helper_matches_exp():
    S = SO3()
    w = torch.tensor([[0.3, -1.2, 0.5], [0.0, 0.0, 0.0], [1e-10, 0, 0]], dtype=F64)
    assert torch.allclose(S.rotation(w), S.exp(S.algebra_element(w)), atol=1e-14)
