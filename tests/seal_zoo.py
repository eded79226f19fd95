"""Pairs exercised by the penalty tests: group, reps, an exactly equivariant function, a
violating one, and an input sampler (float64)."""

import torch

from liesoft import E3, SO3, Lorentz, MatrixLieGroup, Point, Scalar, Tensor, Vector, Vector4

F64 = torch.float64
ETA3 = torch.diag(torch.tensor([1.0, -1.0, -1.0], dtype=F64))


def mink(a, b):
    return a[..., 0] * b[..., 0] - (a[..., 1:] * b[..., 1:]).sum(-1)


def m2(p):
    return mink(p, p)


def jet_features(x):
    """Padded jets (B, N, 4) -> invariant: m^2 of the jet + sum of pairwise products."""
    P = x.sum(-2)
    pair = torch.einsum("bim,bjm,m->b", x, x, torch.tensor([1.0, -1, -1, -1], dtype=x.dtype))
    return m2(P) + 0.1 * pair


def pairwise_energy(x):
    r2 = (x[:, :, None] - x[:, None]).pow(2).sum(-1)
    return torch.exp(-r2).sum((-1, -2))


def pairwise_forces(x):
    diff = x[:, :, None] - x[:, None]
    w = torch.exp(-diff.pow(2).sum(-1, keepdim=True))
    return (diff * w).sum(2)


def _momenta(shape, gen, pad=0):
    p = torch.randn(*shape, 4, generator=gen, dtype=F64)
    p[..., 0] = p[..., 1:].norm(dim=-1) + p[..., 0].abs()  # timelike or lightlike
    if pad:
        p[:, -pad:] = 0.0
    return p


def cases():
    L, S, E = Lorentz(), SO3(), E3()
    so12 = MatrixLieGroup.preserving(ETA3)
    return {
        "lorentz_v4_scalar": (L, Vector4(), Scalar(), m2, lambda p: m2(p) + 0.5 * p[..., 3],
                              lambda g: _momenta((16,), g)),
        "lorentz_v4_v4": (L, Vector4(), Vector4(), lambda p: m2(p)[..., None] * p,
                          lambda p: m2(p)[..., None] * p + p[..., 3:4],
                          lambda g: _momenta((16,), g)),
        "lorentz_v4_tensor20": (L, Vector4(), Tensor(2, 0),
                                lambda p: p[..., :, None] * p[..., None, :],
                                lambda p: p[..., :, None] * p[..., None, :] + torch.diag_embed(p),
                                lambda g: _momenta((16,), g)),
        "lorentz_jets_padded": (L, Vector4(), Scalar(), jet_features,
                                lambda x: jet_features(x) + x[..., 0].sum(-1),
                                lambda g: _momenta((8, 6), g, pad=2)),
        "so3_vector_scalar": (S, Vector(), Scalar(), lambda v: v.pow(2).sum(-1),
                              lambda v: v.pow(2).sum(-1) + v[..., 2],
                              lambda g: torch.randn(16, 3, generator=g, dtype=F64)),
        "so3_vector_vector": (S, Vector(), Vector(), lambda v: v.pow(2).sum(-1, keepdim=True) * v,
                              lambda v: v * v, lambda g: torch.randn(16, 3, generator=g, dtype=F64)),
        "e3_points_energy": (E, Point(), Scalar(), pairwise_energy,
                             lambda x: pairwise_energy(x) + x[..., 0].sum(-1),
                             lambda g: torch.randn(8, 5, 3, generator=g, dtype=F64)),
        "e3_points_forces": (E, Point(), Vector(), pairwise_forces,
                             lambda x: pairwise_forces(x) + 0.1 * x,
                             lambda g: torch.randn(8, 5, 3, generator=g, dtype=F64)),
        "so12_user_scalar": (so12, Vector(), Scalar(), lambda v: v[..., 0] ** 2 - v[..., 1:].pow(2).sum(-1),
                             lambda v: v.pow(2).sum(-1),
                             lambda g: torch.randn(16, 3, generator=g, dtype=F64)),
    }
