"""A 30-second tour of liesoft: groups, representations and an equivariance check.

Run: python examples/demo.py
"""

import torch

from liesoft import E3, Lorentz, Point, Scalar, Tensor, Vector4, equivariance_error

torch.manual_seed(0)
L = Lorentz()
print(L, "generators:", L.generator_names)

# a batch of jets: 8 jets x 20 constituents x (E, px, py, pz), one random boost per jet
p3 = 50 * torch.randn(8, 20, 3, dtype=torch.float64)
jets = torch.cat([p3.norm(dim=-1, keepdim=True), p3], dim=-1)
g = L.sample(8, dtype=torch.float64)  # the paper's sampler: |beta|^2 uniform on [0, 0.95]
boosted = Vector4().act(g, jets)


def jet_mass2(j):
    P = j.sum(-2)
    return P[..., 0] ** 2 - (P[..., 1:] ** 2).sum(-1)


print("jet m^2 before/after boost (max abs diff):",
      float((jet_mass2(boosted) - jet_mass2(jets)).abs().max()))

# how badly does a non-invariant observable (the jet energy) violate the symmetry?
for name, f, out in [("m^2", jet_mass2, Scalar()),
                     ("energy", lambda j: j[..., 0].sum(-1), Scalar()),
                     ("P (x) P", lambda j: j.sum(-2)[..., :, None] * j.sum(-2)[..., None, :],
                      Tensor(2, 0))]:
    _, rel = equivariance_error(f, L, Vector4(), out, jets)
    print(f"{name:8s} relative violation {rel:.2e}")

# E(3): pairwise distances of a point cloud are invariant
cloud = torch.randn(4, 10, 3, dtype=torch.float64)
dist = lambda x: (x[:, :, None] - x[:, None]).norm(dim=-1).sum((-1, -2))  # noqa: E731
print("E(3) pairwise distances relative violation:",
      f"{equivariance_error(dist, E3(), Point(), Scalar(), cloud)[1]:.2e}")
