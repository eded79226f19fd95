"""Layer normalisation (and softmax) that stay right at third order (forward routes of δSEAL).

PyTorch's ``native_layer_norm`` saves its mean and inverse standard deviation as outputs without
autograd history. Its first and second derivatives account for them analytically, but anything
that differentiates the *double backward* (δSEAL's ``route="forward"``: a Jacobian-vector
product by double backward, then the parameter gradient) or the forward-mode tangent
(``route="forward_ad"``) treats them as constants: the parameter gradients come out silently
wrong (pytorch/pytorch#175754; the forward-mode form is pytorch/pytorch#196700). Inside
:func:`composite_layer_norm` ``F.layer_norm`` is computed from elementary operations, which
autograd differentiates to any order.

With ``softmax=True`` (route ``"forward_ad"``) softmax, log-softmax and
``scaled_dot_product_attention`` are computed by parts too: in torch 2.13 the backward of a
softmax's forward-mode tangent fails ("modified by an inplace operation").
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

__all__ = ["composite_layer_norm", "layer_norm_by_parts", "softmax_by_parts",
           "attention_by_parts"]


def layer_norm_by_parts(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """``F.layer_norm`` from mean, variance and ``rsqrt`` (differentiable to any order).

    Half-precision inputs are normalised in float32 (as the native op does under autocast)."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    dims = tuple(range(x.ndim - len(shape), x.ndim))
    h = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
    mean = h.mean(dims, keepdim=True)
    centred = h - mean
    y = centred * torch.rsqrt(centred.pow(2).mean(dims, keepdim=True) + eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    if h is not x and not torch.is_autocast_enabled(x.device.type):
        y = y.to(x.dtype)
    return y


def softmax_by_parts(x, dim, log=False, dtype=None):
    """Softmax (or log-softmax) from ``exp`` and sums; the max is a detached shift (softmax does
    not depend on it), so every order of derivative is exact."""
    if dtype is not None:
        x = x.to(dtype)
    shifted = x - x.detach().amax(dim, keepdim=True)
    if log:
        return shifted - shifted.exp().sum(dim, keepdim=True).log()
    e = shifted.exp()
    return e / e.sum(dim, keepdim=True)


def attention_by_parts(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False,
                       scale=None, enable_gqa=False):
    """``F.scaled_dot_product_attention`` written out (the MATH kernel's arithmetic)."""
    L, S = query.shape[-2], key.shape[-2]
    scale = query.shape[-1] ** -0.5 if scale is None else scale
    if enable_gqa and key.shape[-3] != query.shape[-3]:
        rep = query.shape[-3] // key.shape[-3]
        key, value = key.repeat_interleave(rep, -3), value.repeat_interleave(rep, -3)
    scores = query @ key.transpose(-2, -1) * scale
    if is_causal:
        keep = torch.ones(L, S, dtype=torch.bool, device=query.device).tril()
        scores = scores.masked_fill(~keep, float("-inf"))
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            scores = scores.masked_fill(~attn_mask, float("-inf"))
        else:
            scores = scores + attn_mask
    weights = softmax_by_parts(scores, -1)
    if dropout_p > 0:
        weights = F.dropout(weights, dropout_p)
    return weights @ value


def _softmax_args(func, args, kwargs):
    x, dim = args[0], (args[1] if len(args) > 1 else kwargs.get("dim"))
    at = 3 if func in (F.softmax, F.log_softmax) else 2  # F.*: (input, dim, _stacklevel, dtype)
    dtype = args[at] if len(args) > at else kwargs.get("dtype")
    if dim is None:
        raise ValueError("softmax by parts needs an explicit dim")
    return x, dim, dtype


class _CompositeLayerNorm(TorchFunctionMode):
    def __init__(self, softmax: bool = False):
        super().__init__()
        self.softmax = softmax

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is F.layer_norm or func is torch.layer_norm:
            if func is torch.layer_norm:  # (input, shape, weight, bias, eps, cudnn_enable)
                args, kwargs = args[:5], {k: v for k, v in kwargs.items() if k != "cudnn_enable"}
            return layer_norm_by_parts(*args, **kwargs)
        if self.softmax:
            if func in _SOFTMAX or func in _LOG_SOFTMAX:
                x, dim, dtype = _softmax_args(func, args, kwargs)
                return softmax_by_parts(x, dim, log=func in _LOG_SOFTMAX, dtype=dtype)
            if func is F.scaled_dot_product_attention:
                return attention_by_parts(*args, **kwargs)
        return func(*args, **kwargs)


_SOFTMAX = {F.softmax, torch.softmax, torch.Tensor.softmax}
_LOG_SOFTMAX = {F.log_softmax, torch.log_softmax, torch.Tensor.log_softmax}


def composite_layer_norm(softmax: bool = False) -> TorchFunctionMode:
    """Context in which ``F.layer_norm`` (hence ``nn.LayerNorm``) is computed by parts; with
    ``softmax=True`` also softmax, log-softmax and scaled-dot-product attention."""
    return _CompositeLayerNorm(softmax)
