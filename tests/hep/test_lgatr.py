"""The L-GATr wrapper (exactly Lorentz-invariant tagger) and its refusal when lgatr is absent."""

import pytest
import torch

from examples.hep import toptag
from examples.hep.models import lgatr_tagger
from examples.hep.studies import top_tagging
from liesoft import Lorentz, Vector4, invariance_profile
from tests.hep import methods as M


def jets(batch=6, n=15, pad=4):
    g = torch.Generator().manual_seed(0)
    p3 = 40 * torch.randn(batch, n, 3, generator=g)
    p3[..., 2] += 400.0
    x = torch.cat([p3.norm(dim=-1, keepdim=True) * 1.0005, p3], dim=-1)
    x[:, n - pad:] = 0.0
    return x


def test_forward_backward_and_padding():
    torch.manual_seed(0)
    model = lgatr_tagger.LGATrTagger(blocks=1, mv_channels=4, s_channels=8)
    x = jets()
    out = model(x)
    assert out.shape == (6, 1) and torch.isfinite(out).all()
    out.sum().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)
    more = torch.cat([x, torch.zeros(6, 3, 4)], dim=1)
    assert torch.allclose(model(more), out, atol=1e-6)
    # the jets without any padding row score the same: attention and pooling use the real
    # constituents, not the padded ones (an inverted mask passes the check above, not this)
    with torch.no_grad():
        assert torch.allclose(model(x[:, :11]), out, atol=1e-6)
        alone = torch.cat([model(x[i:i + 1, : 11 - i]) for i in range(3)])
        ragged = x[:3].clone()
        for i in range(3):
            ragged[i, 11 - i:] = 0.0
        assert torch.allclose(model(ragged), alone, atol=1e-6)
        assert alone.std() > 1e-4


def test_invariant_to_float32_precision_without_spurions_and_broken_with_them():
    torch.manual_seed(0)
    x = jets()
    exact = lgatr_tagger.LGATrTagger(blocks=1, mv_channels=4, s_channels=8).eval()
    with torch.no_grad():
        scale = float(exact(x).abs().mean())
    prof = invariance_profile(exact, x, Lorentz(), Vector4(), magnitudes=[0.5, 0.9],
                              generator=torch.Generator().manual_seed(0))
    worst = max(float(v.max()) for v in prof.mean.values())
    assert worst < 1e-4 * max(scale, 1.0)  # float32 rounding, through a 0.9 boost
    torch.manual_seed(0)
    broken = lgatr_tagger.LGATrTagger(blocks=1, mv_channels=4, s_channels=8,
                                      spurions=True).eval()
    prof_b = invariance_profile(broken, x, Lorentz(), Vector4(), magnitudes=[0.9],
                                generator=torch.Generator().manual_seed(0))
    assert float(prof_b.mean["boost"][0]) > 100 * worst


def test_method_refused_with_a_clear_message_when_lgatr_is_missing(monkeypatch, capsys):
    monkeypatch.setattr(lgatr_tagger, "lgatr", None)
    with pytest.raises(SystemExit):
        toptag.parse_args(["--methods", "baseline,lgatr"])
    err = capsys.readouterr().err
    assert "needs the lgatr package" in err and 'pip install -e ".[hep]"' in err
    with pytest.raises(ImportError, match="needs the lgatr package"):
        lgatr_tagger.LGATrTagger()
    assert [m.name for m in toptag.parse_args(["--methods", "baseline"]).methods] == ["baseline"]


def test_dense_and_sparse_geometric_product_give_the_same_tagger():
    torch.manual_seed(0)
    sparse = lgatr_tagger.LGATrTagger(blocks=1, mv_channels=4, s_channels=8, sparse_gp=True)
    dense = lgatr_tagger.LGATrTagger(blocks=1, mv_channels=4, s_channels=8, sparse_gp=False)
    dense.load_state_dict(sparse.state_dict())
    sparse, dense, x = sparse.double(), dense.double(), jets().double()
    out_s, out_d = sparse(x), dense(x)
    assert torch.allclose(out_s, out_d, rtol=1e-12, atol=1e-12)
    out_s.sum().backward()
    out_d.sum().backward()
    for (name, ps), pd in zip(sparse.named_parameters(), dense.parameters(), strict=True):
        assert torch.allclose(ps.grad, pd.grad, rtol=1e-10, atol=1e-12), name


def test_toptag_picks_the_dense_product_on_cpu_and_the_sparse_one_on_gpu():
    cfg = top_tagging.PRESETS["quick"]
    model = M.build_model(cfg, "lgatr", device="cpu")
    assert model.net.primitives.sparse_gp is False
    assert M.build_model(cfg, "lgatr", device="cuda").net.primitives.sparse_gp is True
