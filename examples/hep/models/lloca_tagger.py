"""An exactly Lorentz-invariant tagger on the same transformer backbone size: LLoCa (Lorentz
local canonicalization, Spinner et al. 2025, the ``lloca`` package, optional extra ``lloca``).

Same interface as :class:`examples.hep.models.tagger.JetTransformer`: four-momenta ``(B, N, 4)``
(``E, px, py, pz``, GeV, all-zero rows are padding, anywhere in the jet) in, one logit ``(B, 1)``
out.

How it works:

1. **Frames-Net, packed.** lloca's ``LearnedPDFrames`` with ``MLPVectors`` predicts one Lorentz
   frame per constituent from a fully connected message passing over the jet. It takes no
   padding mask in the dense ``(B, N, 4)`` layout (zero padding would be messages from zero
   vectors), so the real constituents are *packed* into ``(sum N_i, 4)`` with ``ptr`` (jet
   boundaries; edges only inside a jet). :meth:`LLoCaTagger.init_standardization` must be called
   once on training data before the first forward (it fixes the edge-feature standardisation).
2. **Local four-momenta** ``p_local = Lambda_i p_i`` (``TensorRepsTransform("1x1n")``): invariant
   under any global Lorentz transformation (``Lambda_i -> Lambda_i g^-1``). The backbone sees
   ``asinh(p_local / scale)`` (an invariant per-component map; ``scale`` in GeV).
3. **Backbone, dense with a key mask.** lloca's ``Transformer`` (pre-norm blocks whose attention
   transforms queries, keys and values between the constituents' frames) runs on the dense
   ``(B, N, C)`` layout with a boolean key-padding mask, which is exact (masked keys get weight
   ``exp(-inf) = 0``); padded tokens carry identity frames and are dropped by the pooling. The
   alternative, one packed sequence with a block-diagonal mask, is identical in value but costs
   ``(sum N_i)^2`` attention scores: up to 0.66 GB per head, 2.6 GB per layer of 4 heads, for
   256 jets of 50 constituents in float32 on CPU (lloca's CPU fallback builds a dense
   ``(sum N_i)^2`` mask).
4. Mean over the real constituents -> the JetTransformer's ReLU head -> one logit.

**Jets with at most 3 constituents** (:data:`MIN_CONSTITUENTS` = 4). ``MLPVectors`` builds each
constituent's vectors from ``p_i + p_j`` over the other constituents ``j``: with 2 or 3
constituents they span at most two directions, so in the rest frame of the predicted boost the
two rotation references are collinear and lloca regularises them with ``torch.randn`` noise — a
*random* frame (and for 2 constituents no equivariant frame exists at all: the pair is fixed by
the rotations about its axis). Such jets never enter the Frames-Net here; they are scored by a
small **invariant fallback head** on their Minkowski products (the sorted squared masses
``p_i.p_i`` and the sorted pair products ``p_i.p_j``, zero for missing constituents, under
``asinh(. / scale^2)``): deterministic and exactly invariant, but a different (weaker) model.
Rare but real: 1 of 1 200 generated jets of a quick-preset sample (median 24 constituents) has
at most 3 (``benchmarks/lloca_real_jets_smoke.py``).

**Determinism.** lloca's regularisers draw ``torch.randn`` on every call (a no-op unless a vector
is lightlike or a reference pair collinear, which for jets with >= 4 generic constituents does
not happen). The Frames-Net runs inside ``torch.random.fork_rng`` with a fixed seed, so the
forward pass is deterministic in training and eval mode and never advances the caller's global
random state (which GSEAL/δSEAL's replay of ``f(x)`` and ``f(g x)`` relies on). A degenerate jet
(>= 4 exactly coplanar or lightlike-degenerate constituents) would still get a seed-dependent
frame whose noise depends on its position in the packed batch.

Numerics: lloca builds the frames in float64 internally; use a float64 model for invariance tests
(<= 1e-9 relative under the paper's sampler, ``|beta|^2 <= 0.95``, with rotations, and up to
``|beta| = 0.9``: ``tests/hep/test_lloca_tagger.py``).
δSEAL's double backward needs ``liesoft.math_attention()`` around the penalty (fused attention
has no double backward).
"""

from __future__ import annotations

from functools import partial

import torch
from torch import nn

try:
    import lloca
    from lloca.backbone.transformer import Transformer as _LLoCaTransformer
    from lloca.framesnet.frames import Frames
except ImportError:  # pragma: no cover - exercised through `available()`
    lloca = None

__all__ = ["available", "LLoCaTagger", "MIN_CONSTITUENTS", "MISSING_MESSAGE", "pack",
           "minkowski_invariants", "get_model"]

MISSING_MESSAGE = ("the LLoCa tagger needs the optional `lloca` package: "
                   "pip install 'lloca==2.0.0' (or this project's `lloca` extra)")

MIN_CONSTITUENTS = 4  # fewer: random lloca frames -> the invariant fallback head
_FRAMES_SEED = 0


def available() -> bool:
    """Whether ``lloca`` is importable."""
    return lloca is not None


def _mdot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return a[..., 0] * b[..., 0] - (a[..., 1:] * b[..., 1:]).sum(-1)


def pack(x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Dense ``(B, N, 4)`` and its mask ``(B, N)`` -> packed real rows ``(sum N_i, 4)`` (jet by
    jet, in row order) and ``ptr`` ``(B + 1,)`` with ``ptr[b]:ptr[b + 1]`` the rows of jet ``b``."""
    counts = mask.sum(1)
    ptr = torch.zeros(x.shape[0] + 1, dtype=torch.long, device=x.device)
    ptr[1:] = counts.cumsum(0)
    return x[mask], ptr


def minkowski_invariants(x: torch.Tensor, k: int = 3) -> torch.Tensor:
    """Invariant features of jets with at most ``k`` constituents ``x`` ``(B, N, 4)`` (padding
    anywhere): the ``k`` sorted ``p_i.p_i`` and the ``k(k-1)/2`` sorted ``p_i.p_j`` (``i < j``)
    of the real constituents, zero-filled; ``(B, k + k(k-1)/2)``. Permutation invariant."""
    mask = (x != 0).any(-1)
    order = torch.argsort((~mask).to(torch.int8), dim=1, stable=True)[:, :k]  # real rows first
    p = torch.gather(x, 1, order[..., None].expand(-1, -1, 4))
    if p.shape[1] < k:
        p = torch.cat([p, p.new_zeros(p.shape[0], k - p.shape[1], 4)], 1)
    gram = _mdot(p[:, :, None, :], p[:, None, :, :])  # (B, k, k); zero rows for padding
    iu = torch.triu_indices(k, k, 1, device=x.device)
    diag = torch.diagonal(gram, dim1=1, dim2=2).sort(-1).values
    off = gram[:, iu[0], iu[1]].sort(-1).values
    return torch.cat([diag, off], -1)


def _head(width: int, hidden: int, hidden_layers: int) -> nn.Sequential:
    mlp = []
    for _ in range(hidden_layers):
        mlp += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    return nn.Sequential(*mlp, nn.Linear(width, 1))


class LLoCaTagger(nn.Module):
    """LLoCa-canonicalised transformer tagger: ``(B, N, 4)`` four-momenta -> logit ``(B, 1)``.

    Args:
        d: backbone width (lloca ``Transformer`` hidden channels), as ``JetTransformer``'s ``d``.
        layers, heads: transformer blocks and attention heads.
        hidden, hidden_layers: the ReLU head after mean pooling (as ``JetTransformer``).
        mlp_factor: feed-forward width ``mlp_factor * d`` (1 = ``JetTransformer``'s width ``d``).
        attn_vectors: four-vector (``1n``) channels per head in the frame-to-frame attention;
            the rest of the head's ``d / heads`` channels are scalars.
        frames_hidden, frames_layers: the Frames-Net's edge MLP (default 32 wide, one hidden
            layer: it runs on every pair of constituents, ``sum N_i^2`` edges, in float64 where
            lloca builds the frames; on CPU 64 x 1 or 32 x 2 cost about 20 % more per step).
        scale: GeV unit of the backbone's ``asinh(p_local / scale)`` inputs and of the fallback
            head's invariants.

    Call :meth:`init_standardization` once on (a batch of) training jets before the first
    forward pass.
    """

    def __init__(self, d: int = 64, layers: int = 2, heads: int = 4, hidden: int = 128,
                 hidden_layers: int = 3, mlp_factor: int = 1, attn_vectors: int = 2,
                 frames_hidden: int = 32, frames_layers: int = 1, scale: float = 100.0):
        if lloca is None:
            raise ImportError(MISSING_MESSAGE)
        super().__init__()
        if d % heads:
            raise ValueError(f"d must be a multiple of heads, got d={d}, heads={heads}")
        per_head = d // heads
        n_scalars = per_head - 4 * attn_vectors
        if attn_vectors < 0 or n_scalars < 0:
            raise ValueError(f"attn_vectors must lie in [0, {per_head // 4}] for d / heads = "
                             f"{per_head} channels per head, got {attn_vectors}")
        reps = "+".join(r for r in (f"{n_scalars}x0n" if n_scalars else "",
                                    f"{attn_vectors}x1n" if attn_vectors else "") if r)
        self.scale = float(scale)
        self.frames_net = lloca.LearnedPDFrames(
            partial(lloca.MLPVectors, num_scalars=0, hidden_channels=frames_hidden,
                    num_layers_mlp=frames_layers))
        self.to_local = lloca.TensorRepsTransform(lloca.TensorReps("1x1n"))
        self.backbone = _LLoCaTransformer(in_channels=4, attn_reps=reps, out_channels=d,
                                          num_blocks=layers, num_heads=heads,
                                          mlp_factor=mlp_factor)
        self.head = _head(d, hidden, hidden_layers)
        n_inv = 3 + 3  # minkowski_invariants(k=3)
        self.fallback = _head(n_inv, hidden, 1)

    # ------------------------------------------------------------------ setup
    def init_standardization(self, x: torch.Tensor) -> None:
        """Fix the Frames-Net's edge-feature mean and std from training jets ``(B, N, 4)``
        (lloca's ``init_standardization``; call once, before training)."""
        self._check_input(x)
        mask = (x != 0).any(-1)
        big = mask.sum(1) >= MIN_CONSTITUENTS
        if not bool(big.any()):
            raise ValueError(f"init_standardization needs jets with >= {MIN_CONSTITUENTS} "
                             "constituents, got none")
        p, ptr = pack(x[big], mask[big])
        with torch.no_grad():
            self.frames_net.equivectors.init_standardization(p, ptr=ptr)

    @property
    def standardized(self) -> bool:
        """Whether :meth:`init_standardization` has run (or a state dict carrying it loaded)."""
        return bool(self.frames_net.equivectors.block.edge_inited)

    @staticmethod
    def _check_input(x: torch.Tensor) -> None:
        if not isinstance(x, torch.Tensor) or x.ndim != 3 or x.shape[-1] != 4:
            raise ValueError("LLoCaTagger expects four-momenta of shape (B, N, 4), got "
                             f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x)}")
        if not x.is_floating_point():
            raise TypeError(f"LLoCaTagger expects floating-point four-momenta, got {x.dtype}")

    # ------------------------------------------------------------------ forward
    def frames(self, p: torch.Tensor, ptr: torch.Tensor):
        """Frames of packed constituents ``(sum N_i, 4)`` with ``ptr`` (deterministic, global RNG
        untouched: see the module docstring)."""
        devices = [p.device] if p.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(_FRAMES_SEED)
            return self.frames_net(p, ptr=ptr)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        if not self.standardized:
            raise RuntimeError("LLoCaTagger: call init_standardization(train_jets) once before "
                               "the first forward pass (the Frames-Net's edge standardisation)")
        B, N, _ = x.shape
        mask = (x != 0).any(-1)
        n = mask.sum(1)
        big = n >= MIN_CONSTITUENTS
        out = self.fallback(torch.asinh(minkowski_invariants(x) / self.scale**2))
        if not bool(big.any()):
            return out
        xb, mb = x[big], mask[big]
        p, ptr = pack(xb, mb)
        frames = self.frames(p, ptr)
        local = self.to_local(p, frames)
        feats = torch.asinh(local / self.scale)
        # back to the dense layout: real rows get their features and frames, padding identity
        dense = feats.new_zeros(xb.shape[0], N, 4).masked_scatter(mb[..., None], feats)
        eye = torch.eye(4, dtype=frames.matrices.dtype, device=x.device)
        mats = eye.expand(xb.shape[0], N, 4, 4).clone()
        inv = mats.clone()
        det = mats.new_ones(xb.shape[0], N)
        mats[mb], inv[mb], det[mb] = frames.matrices, frames.inv, frames.det
        dense_frames = Frames(mats, det=det, inv=inv)
        jet = (xb * mb[..., None]).sum(1)
        key_mask = mb[:, None, None, :]  # (B', heads, query, key): True = attend
        h = self.backbone(dense, dense_frames, p_ref=jet, attn_mask=key_mask)
        m = mb[..., None].to(h.dtype)
        pooled = (h * m).sum(1) / m.sum(1)
        return out.masked_scatter(big[:, None], self.head(pooled))


def get_model(cfg: dict) -> LLoCaTagger:
    """The network file's entry (docs/models.md): LLoCa on the transformer's sizes. Call
    :meth:`LLoCaTagger.init_standardization` on training jets before training."""
    return LLoCaTagger(d=cfg["d"], layers=cfg["layers"], heads=cfg["heads"],
                       hidden=cfg["hidden"], hidden_layers=cfg["hidden_layers"])
