"""The invariance audit (the curve of the paper's Fig. 2 for any model)."""

import pytest
import torch

from liesoft import E3, Lorentz, Point, Scalar, Vector4, invariance_profile

F64 = torch.float64


def m2(p):
    return p[..., 0] ** 2 - (p[..., 1:] ** 2).sum(-1)


def test_profile_is_zero_for_invariants_and_grows_for_violations():
    x = torch.randn(200, 4, dtype=F64)
    exact = invariance_profile(m2, x, Lorentz(), Vector4(), magnitudes=[0.1, 0.5, 0.9])
    assert set(exact.mean) == {"boost", "rotation"}
    assert all(float(v.max()) < 1e-12 for v in exact.mean.values())
    broken = invariance_profile(lambda p: m2(p) + p[..., 3], x, Lorentz(), Vector4(),
                                magnitudes=[0.1, 0.5, 0.9],
                                generator=torch.Generator().manual_seed(0))
    b = broken.mean["boost"]
    assert bool((b[1:] > b[:-1]).all()) and float(b[0]) > 0
    assert all(float(e) > 0 for e in broken.sem["boost"])
    # energy is rotation invariant but not boost invariant: families are separated
    energy = invariance_profile(lambda p: p[..., 0], x, Lorentz(), Vector4(), magnitudes=[0.5])
    assert float(energy.mean["rotation"][0]) < 1e-12 < float(energy.mean["boost"][0])
    rows = broken.rows()
    assert len(rows) == 6 and set(rows[0]) == {"family", "magnitude", "mean", "sem"}


def test_boost_magnitude_is_beta():
    """A boost of size |beta| along a random direction changes the energy of a particle at
    rest to gamma m exactly."""
    x = torch.tensor([[1.0, 0, 0, 0]], dtype=F64).repeat(50, 1)
    prof = invariance_profile(lambda p: p[..., 0], x, Lorentz(), Vector4(), magnitudes=[0.6],
                              families=["boost"])
    assert torch.allclose(prof.mean["boost"], torch.tensor([1.25 - 1.0], dtype=F64))


def test_chunking_and_args_and_e3():
    cloud = torch.randn(30, 5, 3, dtype=F64)
    mask = torch.ones(30, 5, dtype=torch.bool)
    f = lambda x, m: (x[:, :, None] - x[:, None]).norm(dim=-1).sum((-1, -2)) + x[..., 0].sum(-1)  # noqa: E731
    a = invariance_profile(f, cloud, E3(), Point(), Scalar(), args=(mask,), magnitudes=[1.0],
                           generator=torch.Generator().manual_seed(0))
    b = invariance_profile(f, cloud, E3(), Point(), Scalar(), args=(mask,), magnitudes=[1.0],
                           batch_size=7, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(a.mean["translation"], b.mean["translation"])
    assert set(a.mean) == {"rotation", "translation"}
    with pytest.raises(ValueError, match="unknown family 'boost'"):
        invariance_profile(f, cloud, E3(), Point(), args=(mask,), families=["boost"])
    with pytest.raises(ValueError, match=r"\|beta\| in \[0, 1\)"):
        invariance_profile(m2, torch.randn(4, 4), Lorentz(), Vector4(), magnitudes=[1.0])
