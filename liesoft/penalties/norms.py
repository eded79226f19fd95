"""Layer normalisation that stays right at third order (forward-mode routes of δSEAL).

PyTorch's ``native_layer_norm`` saves its mean and inverse standard deviation as outputs without
autograd history. Its first and second derivatives account for them analytically, but anything
that differentiates the *double backward* (δSEAL's ``route="forward"``: a Jacobian-vector
product by double backward, then the parameter gradient) or the forward-mode tangent
(``route="forward_ad"``) treats them as constants: the parameter gradients come out silently
wrong (pytorch/pytorch#175754; the forward-mode form is pytorch/pytorch#196700). Inside
:func:`composite_layer_norm` ``F.layer_norm`` is computed from elementary operations, which
autograd differentiates to any order.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

__all__ = ["composite_layer_norm", "layer_norm_by_parts"]


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


class _CompositeLayerNorm(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is F.layer_norm or func is torch.layer_norm:
            if func is torch.layer_norm:  # (input, shape, weight, bias, eps, cudnn_enable)
                args, kwargs = args[:5], {k: v for k, v in kwargs.items() if k != "cudnn_enable"}
            return layer_norm_by_parts(*args, **kwargs)
        return func(*args, **kwargs)


def composite_layer_norm() -> TorchFunctionMode:
    """Context in which ``F.layer_norm`` (hence ``nn.LayerNorm``) is computed by parts."""
    return _CompositeLayerNorm()
