"""liesoft.measure_violation: Γ of a trained model on held-out data (eval mode, no graph, several
draws seeded seed + d, chunk-size-weighted chunks, mean and standard error over draws)."""

import math

import pytest
import torch

from liesoft import GSEAL, DeltaSEAL, Lorentz, Vector4, Violation, measure_violation


def net(dropout=True):
    torch.manual_seed(0)
    layers = [torch.nn.Linear(4, 16), torch.nn.BatchNorm1d(16), torch.nn.Tanh()]
    if dropout:
        layers.append(torch.nn.Dropout(0.3))
    return torch.nn.Sequential(*layers, torch.nn.Linear(16, 1))


X = torch.rand(50, 4, generator=torch.Generator().manual_seed(1)) - 0.5


@pytest.mark.parametrize("penalty", [GSEAL(Lorentz(), Vector4(), beta_max=0.8),
                                     DeltaSEAL(Lorentz(), Vector4()),
                                     DeltaSEAL(Lorentz(), Vector4(), mode="fd", fraction=0.5)])
def test_one_draw_one_chunk_is_the_penalty_call_in_eval_mode(penalty):
    model = net()
    model.eval()
    with torch.no_grad():
        ref = float(penalty(model, X, generator=torch.Generator().manual_seed(30_000)))
    model.train()
    got = measure_violation(penalty, model, X, draws=1)
    assert got.mean == ref and math.isnan(got.stderr) and (got.draws, got.n) == (1, 50)
    assert float(got) == ref and got.values == (ref,)


def test_training_flags_are_restored_and_nothing_else_changes():
    model = net()
    model[1].eval()                                   # a mixed state comes back as it was
    state = {k: v.clone() for k, v in model.state_dict().items()}
    gseal = GSEAL(Lorentz(), Vector4())
    rng = torch.get_rng_state()
    measure_violation(gseal, lambda z: model(z), X, draws=2, chunk=20)
    assert [m.training for m in model.modules()] == [True, True, False, True, True, True]
    assert gseal.training
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    assert torch.equal(torch.get_rng_state(), rng)    # the draws use their own generators


def test_draws_are_averaged_with_their_standard_error():
    model = net(dropout=False).eval()
    gseal = GSEAL(Lorentz(), Vector4())
    got = measure_violation(gseal, model, X, draws=4, seed=7)
    values = [measure_violation(gseal, model, X, draws=1, seed=7 + d).mean for d in range(4)]
    assert got.values == tuple(values)
    assert got.mean == sum(values) / 4                # the studies' mean over draws
    sd = math.sqrt(sum((v - got.mean) ** 2 for v in values) / 3)
    assert got.stderr == pytest.approx(sd / 2, rel=1e-12) and got.stderr > 0


def test_chunks_are_weighted_by_their_size_with_one_generator_per_draw():
    """Chunks of 20, 20, 10: (20 v1 + 20 v2 + 10 v3) / 50, the generator running across the
    chunks of a draw (budget_tagging's held_out_gammas)."""
    model = net(dropout=False).eval()
    gseal = GSEAL(Lorentz(), Vector4())
    gen = torch.Generator().manual_seed(30_000)
    with torch.no_grad():
        parts = [(float(gseal(model, X[i:i + 20], generator=gen)), len(X[i:i + 20]))
                 for i in range(0, 50, 20)]
    total = 0.0
    for v, k in parts:
        total += v * k
    got = measure_violation(gseal, model, X, draws=1, chunk=20)
    assert got.mean == total / 50
    assert measure_violation(gseal, model, X, draws=1, chunk=50).mean == (
        measure_violation(gseal, model, X, draws=1).mean)


def test_extra_arguments_are_chunked_with_x():
    mask = torch.ones(50, 1)
    seen = []

    def f(z, m):
        seen.append(m.shape[0])
        assert m.shape[0] == z.shape[0]
        return net(dropout=False)(z) * m

    measure_violation(GSEAL(Lorentz(), Vector4()), f, X, mask, draws=1, chunk=30)
    assert set(seen) == {30, 20}


def test_bad_arguments_are_named():
    gseal, model = GSEAL(Lorentz(), Vector4()), net()
    for kwargs, match in (({"draws": 0}, "draws must be a positive int, got 0"),
                          ({"draws": True}, "draws must be a positive int"),
                          ({"chunk": 0}, "chunk must be a positive int or None, got 0"),
                          ({"chunk": 2.5}, "chunk must be a positive int or None")):
        with pytest.raises(ValueError, match=match):
            measure_violation(gseal, model, X, **kwargs)
    with pytest.raises(TypeError, match="seed must be an int"):
        measure_violation(gseal, model, X, seed=1.5)
    with pytest.raises(TypeError, match="x must be a floating-point tensor"):
        measure_violation(gseal, model, X.long())
    with pytest.raises(ValueError, match="non-empty batch"):
        measure_violation(gseal, model, X[:0])
    with pytest.raises(ValueError, match="extra argument 0 must be a per-sample tensor"):
        measure_violation(gseal, model, X, torch.ones(3))
    with pytest.raises(TypeError, match="penalty must be callable"):
        measure_violation("gseal", model, X)
    assert isinstance(measure_violation(gseal, model, X, draws=2), Violation)
