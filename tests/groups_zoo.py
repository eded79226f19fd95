"""Every group the property tests run on, with the condition its algebra must satisfy."""

import torch

from liesoft import E3, SO, SO3, Lorentz, MatrixLieGroup

F64 = torch.float64
ETA = torch.diag(torch.tensor([1.0, -1.0, -1.0, -1.0], dtype=F64))
ETA3 = torch.diag(torch.tensor([1.0, -1.0, -1.0], dtype=F64))
SYMPLECTIC4 = torch.tensor([[0, 0, 1, 0], [0, 0, 0, 1], [-1, 0, 0, 0], [0, -1, 0, 0]], dtype=F64)
T_AXIS = torch.tensor([1.0, 0, 0, 0])
Z_AXIS = torch.tensor([0, 0, 0, 1.0])


def _form_condition(M):
    return lambda A: A.transpose(-1, -2) @ M + M @ A


def sl2():
    """A user-defined group: SL(2, R) from the basis H, E, F of sl(2)."""
    H = torch.tensor([[1.0, 0], [0, -1]])
    E = torch.tensor([[0.0, 1], [0, 0]])
    F = torch.tensor([[0.0, 0], [1, 0]])
    return MatrixLieGroup(torch.stack([H, E, F]), names=("H", "E", "F"), name="SL(2,R)",
                          scale=0.5)


def _e3_condition(A):
    lin = A[..., :3, :3]
    return torch.cat([(lin + lin.transpose(-1, -2)).flatten(-2), A[..., 3, :]], dim=-1)


# name -> (factory, condition on algebra elements that must vanish)
GROUPS = {
    "lorentz": (Lorentz, _form_condition(ETA)),
    "so3": (SO3, lambda A: A + A.transpose(-1, -2)),
    "so2": (lambda: SO(2), lambda A: A + A.transpose(-1, -2)),
    "so3_qr": (lambda: SO(3), lambda A: A + A.transpose(-1, -2)),
    "so5": (lambda: SO(5), lambda A: A + A.transpose(-1, -2)),
    "e3": (E3, _e3_condition),
    "sl2_user": (sl2, lambda A: torch.diagonal(A, dim1=-2, dim2=-1).sum(-1)),
    "so12_preserving": (lambda: MatrixLieGroup.preserving(ETA3), _form_condition(ETA3)),
    "sp4_preserving": (lambda: MatrixLieGroup.preserving(SYMPLECTIC4),
                       _form_condition(SYMPLECTIC4)),
    "lorentz_beam": (lambda: Lorentz().preserving_subspace(T_AXIS, Z_AXIS),
                     _form_condition(ETA)),
    "lorentz_stab_z": (lambda: Lorentz().stabilizer(Z_AXIS), _form_condition(ETA)),
}



# ---------------------------------------------------------------------------- group elements
# name -> membership of group *elements* (B, d, d) -> bool (B,), written out from each group's
# definition, independently of ``contains`` and of the samplers.
def _form_kept(M, g, tol=1e-9):
    """``g^T M g = M`` relative to ``max|g|^2``."""
    size = g.abs().amax((-1, -2)).clamp(min=1.0)
    return (g.transpose(-1, -2) @ M @ g - M).abs().amax((-1, -2)) <= tol * size**2


def _unit_det(g, tol=1e-9):
    return (torch.linalg.det(g) - 1).abs() <= tol * g.abs().amax((-1, -2)).clamp(min=1.0) ** g.shape[-1]


def _lorentz_element(g):
    return _form_kept(ETA, g) & _unit_det(g) & (g[..., 0, 0] >= 1)


def _rotation(g):
    return _form_kept(torch.eye(g.shape[-1], dtype=F64), g) & _unit_det(g)


def _e3_element(g):
    last = torch.tensor([0.0, 0, 0, 1], dtype=F64)
    return (g[..., 3, :] == last).all(-1) & _rotation(g[..., :3, :3])


def _beam_element(g):
    """Lorentz, and span(t, z) and span(x, y) are each mapped into themselves."""
    tz, xy = [0, 3], [1, 2]
    off = torch.cat([g[..., tz, :][..., :, xy].flatten(-2), g[..., xy, :][..., :, tz].flatten(-2)], -1)
    return _lorentz_element(g) & (off.abs().amax(-1) <= 1e-12 * g.abs().amax((-1, -2)))


def _stab_z_element(g):
    z = Z_AXIS.to(F64)
    return _lorentz_element(g) & ((g @ z - z).abs().amax(-1) <= 1e-12 * g.abs().amax((-1, -2)))


ELEMENTS = {
    "lorentz": _lorentz_element,
    "so3": _rotation,
    "so2": _rotation,
    "so3_qr": _rotation,
    "so5": _rotation,
    "e3": _e3_element,
    "sl2_user": _unit_det,
    "so12_preserving": lambda g: _form_kept(ETA3, g) & _unit_det(g) & (g[..., 0, 0] >= 1),
    "sp4_preserving": lambda g: _form_kept(SYMPLECTIC4, g),
    "lorentz_beam": _beam_element,
    "lorentz_stab_z": _stab_z_element,
}
assert set(ELEMENTS) == set(GROUPS)

_CACHE = {}


def group(name):
    if name not in _CACHE:
        _CACHE[name] = GROUPS[name][0]()
    return _CACHE[name]
