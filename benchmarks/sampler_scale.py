"""The numbers of docs/groups.md, "The default sampler scale": operator norms of samples of
Sp(4, R) and SO(2, 1)+ at scale 1 and at the default scale, the Lorentz paper sampler, and GSEAL
of x.y under Sp(4, R) over five seeds.

    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/sampler_scale.py
"""

import torch

from liesoft import GSEAL, Lorentz, MatrixLieGroup, Vector

F64 = torch.float64


def main():
    J = torch.zeros(4, 4, dtype=F64)
    J[:2, 2:], J[2:, :2] = torch.eye(2), -torch.eye(2)
    sp4 = MatrixLieGroup.preserving(J)
    so21 = MatrixLieGroup.preserving(torch.diag(torch.tensor([1.0, -1, -1], dtype=F64)))
    for name, G in (("Sp(4,R)", sp4), ("SO(2,1)+", so21)):
        for s in (1.0, None):
            g = G.sample(10000, generator=torch.Generator().manual_seed(0), dtype=F64, scale=s)
            n = torch.linalg.matrix_norm(g, ord=2)
            label = f"scale={s}" if s else f"default scale={G.scale:.3f}"
            print(f"{name:9s} {label:22s} median {n.median():.2f}  p99 {n.quantile(.99):.1f}  "
                  f"max {n.max():.1f}")
    g = Lorentz().sample(10000, generator=torch.Generator().manual_seed(0), dtype=F64)
    n = torch.linalg.matrix_norm(g, ord=2)
    print(f"Lorentz paper sampler: median {n.median():.2f}  max {n.max():.2f}  "
          f"max gamma {g[:, 0, 0].max():.2f}")
    dot = lambda x: (x[:, :4] * x[:, 4:]).sum(-1)  # noqa: E731
    x = torch.randn(256, 8, generator=torch.Generator().manual_seed(0), dtype=F64)
    for s in (1.0, 0.3, None):
        opts = {} if s is None else {"scale": s}
        vals = [float(GSEAL(sp4, 2 * Vector(), **opts)(
            dot, x, generator=torch.Generator().manual_seed(k))) for k in range(5)]
        print(f"GSEAL of x.y under Sp(4,R), scale={s}: " + ", ".join(f"{v:.3g}" for v in vals))


if __name__ == "__main__":
    main()
