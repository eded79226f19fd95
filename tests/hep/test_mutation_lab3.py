"""Mutation lab 3 (issue 32 item 7), the HEP examples: behaviours of the weaver and LLoCa
wrappers, augmentation, the data-efficiency schedule, the experiment values, network files and
the training loop that the suite did not pin, written from their docstrings; every test's
docstring names the mutants of ``tests/mutants/issue32_lab3.py`` it kills. Values in float64
at 1e-12 relative, or exact equalities."""

import dataclasses
import math

import numpy as np
import pytest
import torch

import examples.hep.training.loop as loop
from examples.hep import training
from examples.hep.data.augment import BETA_MAX, BoostAugmentation
from examples.hep.experiment import (
    METHODS,
    Penalty,
    budget_method,
    parse_values,
    resolve,
)
from examples.hep.models import lloca_tagger, networks
from examples.hep.models.jet_inputs import invariant_inputs
from examples.hep.models.part import safe_pair_features
from examples.hep.models.particlenet import ParticleNetFromMomenta
from examples.hep.studies import efficiency, top_tagging
from examples.hep.training.penalty import build_penalty, penalised_output
from liesoft import GSEAL, Lorentz, Vector4
from liesoft.experimental import ViolationBudget
from tests.hep import methods as M
from tests.hep.test_toptag import jets, tiny_split

F64 = torch.float64


def _massless(pt, eta, phi):
    """(E, px, py, pz) of a massless particle."""
    return [pt * math.cosh(eta), pt * math.cos(phi), pt * math.sin(phi), pt * math.sinh(eta)]


# --------------------------------------------------------------------------- ParT, ParticleNet
def test_part_pair_features_of_a_pair_across_phi_pi_by_hand():
    """Kills part-dphi-not-wrapped, part-kt-of-the-harder and part-m2-energy-index: ParT's
    'pp' features (ln kT, ln z, ln ΔR, ln m²) of two massless particles at rapidity 0 on either
    side of φ = ±π (ΔR = 0.1, not 2π − 0.1), kT = min(pT)·ΔR, z = min(pT)/(pT_i + pT_j),
    m² = E² − |p|² of the pair (E is the fourth channel of weaver's v)."""
    a, b = _massless(10.0, 0.0, math.pi - 0.05), _massless(20.0, 0.0, -math.pi + 0.05)
    v = lambda q: torch.tensor([q[1], q[2], q[3], q[0]], dtype=F64)[None, :, None]  # noqa: E731
    out = safe_pair_features(v(a), v(b))[0, :, 0]
    m2 = 2 * 10.0 * 20.0 * (1 - math.cos(0.1))
    expected = [math.log(10.0 * 0.1), math.log(10.0 / 30.0), math.log(0.1), math.log(m2)]
    assert out.tolist() == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_invariant_inputs_are_exactly_zero_on_padding():
    """Kills inputs-invariants-not-masked: padding (all-zero rows) gets zero features (the
    module docstring), although log(1 + m_J²) of the jet is not zero there."""
    p = jets(batch=2, n=6, pad=2)
    feats, mask = invariant_inputs(p)
    assert not mask[:, 4:].any() and mask[:, :4].all()
    assert torch.equal(feats[:, 4:], torch.zeros_like(feats[:, 4:]))
    assert (feats[:, :4] != 0).all()


def _square_jet():
    """Four massless 100 GeV particles at (η, φ) = (±0.2, ±0.1): the jet axis is (0, 0)."""
    etas_phis = [(0.2, 0.1), (-0.2, -0.1), (0.2, -0.1), (-0.2, 0.1)]
    p = torch.tensor([[_massless(100.0, e, f) for e, f in etas_phis]], dtype=F64)
    return p, etas_phis


def test_particlenet_points_are_delta_eta_delta_phi_to_the_jet_axis():
    """Kills pn-points-eta-phi-shifted: ParticleNet's points are (Δη, Δφ) of each constituent
    to the jet axis (module docstring)."""
    torch.manual_seed(0)
    net = ParticleNetFromMomenta(conv_params=((3, (8, 8)),), fc_params=((8, 0.0),)).double()
    p, etas_phis = _square_jet()
    points = net.inputs(p)["points"][0]
    assert points.shape == (2, 4)
    assert points.T.flatten().tolist() == pytest.approx([v for t in etas_phis for v in t],
                                                        abs=1e-12)


def test_particlenet_needs_k_plus_one_particles_and_runs_with_exactly_that_many():
    """Kills pn-k-check-off-by-one: 'The total length N must be at least k + 1 for every
    EdgeConv's k: a shorter input raises ValueError'."""
    torch.manual_seed(0)
    net = ParticleNetFromMomenta(conv_params=((3, (8, 8)),), fc_params=((8, 0.0),)).double()
    net.eval()
    p, _ = _square_jet()                                 # N = 4 = k + 1
    assert net(p).shape == (1, 1)
    with pytest.raises(ValueError, match="N >= k"):
        net(p[:, :3])


# --------------------------------------------------------------------------- LLoCa
needs_lloca = pytest.mark.skipif(not lloca_tagger.available(),
                                 reason="needs the optional lloca package")


@needs_lloca
def test_lloca_pools_over_real_constituents_and_keeps_the_global_random_state():
    """Kills lloca-pool-over-padding and lloca-frames-reset-global-rng: the mean runs over the
    real constituents (more padding, the same logit), and the Frames-Net's fixed seed lives in
    a forked random state (the caller's is untouched)."""
    torch.manual_seed(0)
    m = lloca_tagger.LLoCaTagger(d=16, layers=1, heads=2, hidden=8, hidden_layers=1,
                                 frames_hidden=8).double().eval()
    x = jets(batch=3, n=8, pad=2)
    m.init_standardization(x)
    torch.manual_seed(123)
    state = torch.get_rng_state()
    with torch.no_grad():
        out = m(x)
        more = m(torch.cat([x, torch.zeros(3, 3, 4, dtype=F64)], 1))
    assert torch.equal(torch.get_rng_state(), state)
    assert more.flatten().tolist() == pytest.approx(out.flatten().tolist(), rel=1e-12,
                                                    abs=1e-12)


@needs_lloca
def test_fallback_invariants_of_a_two_constituent_jet_with_padding_first():
    """Kills lloca-fallback-padding-first: minkowski_invariants takes the real constituents
    wherever the padding is: the sorted p_i.p_i and the sorted p_i.p_j, zero-filled."""
    a = torch.tensor([50.0, 10.0, 20.0, 30.0], dtype=F64)
    b = torch.tensor([80.0, -5.0, 40.0, 10.0], dtype=F64)
    x = torch.zeros(1, 5, 4, dtype=F64)
    x[0, 1], x[0, 3] = a, b
    dot = lambda u, w: float(u[0] * w[0] - (u[1:] * w[1:]).sum())  # noqa: E731
    out = lloca_tagger.minkowski_invariants(x)[0].tolist()
    assert out == pytest.approx([0.0, *sorted([dot(a, a), dot(b, b)]), 0.0, 0.0, dot(a, b)],
                                rel=1e-12)


# --------------------------------------------------------------------------- augmentation
def test_augmentation_draws_one_paper_boost_per_jet_from_the_generator():
    """Kills augment-generator-ignored, augment-beta-max-not-squared and
    augment-one-boost-per-batch: one element per jet, drawn with the given generator (the
    global random state untouched), |β|² up to 0.95 (the paper), each jet boosted by its own."""
    aug = BoostAugmentation()
    assert BETA_MAX ** 2 == pytest.approx(0.95, rel=1e-15)
    x = jets(batch=2000, n=3, pad=1)
    state = torch.get_rng_state()
    xb, _, g = aug(x, None, generator=torch.Generator().manual_seed(0), return_elements=True)
    assert torch.equal(torch.get_rng_state(), state)
    beta2 = (g[:, 0, 1:].pow(2).sum(-1) / g[:, 0, 0] ** 2)
    assert float(beta2.max()) > 0.93 and float(beta2.max()) <= 0.95 + 1e-12
    by_jet = torch.einsum("bij,bnj->bni", g, x)
    assert xb.flatten().tolist() == pytest.approx(by_jet.flatten().tolist(), rel=1e-12,
                                                  abs=1e-9)


# --------------------------------------------------------------------------- the schedule
def test_schedule_by_hand():
    """Kills eff-patience-in-epochs and eff-steps-per-epoch-floor: 1000 jets in batches of 256
    are ceil(1000/256) = 4 steps per epoch (the last batch partial); validation every
    ceil(10/4) = 3 epochs; patience ceil(30 / (3 * 4)) = 3 validations."""
    s = efficiency.schedule(1000, 256, min_epochs=1, min_steps=10, val_steps=10,
                            patience_steps=30)
    assert s == {"epochs": 3, "val_every": 3, "patience": 3, "steps_per_epoch": 4}


def test_balanced_orders_are_permutations_that_depend_on_the_seed():
    """Kills eff-subsets-ignore-seed: each seed has its own nested subsets, every one a
    permutation of all the training jets."""
    y = np.array([1, 0] * 20 + [1] * 5)
    a, b = efficiency.balanced_order(y, 0), efficiency.balanced_order(y, 1)
    assert sorted(a.tolist()) == list(range(45)) == sorted(b.tolist())
    assert a.tolist() != b.tolist()


# --------------------------------------------------------------------------- experiment
NET_FILE = ("import torch\nVALUE = {v}\n"
            "def get_model(cfg):\n    return torch.nn.Linear(4, 1)\n")


def test_a_network_file_in_a_folder_with_a_colon_resolves_to_its_stem():
    """Kills resolve-colon-in-path and resolve-stem-keeps-suffix: the penalty is after the
    *last* ':' (a folder may hold one), and the method is named <stem>_<penalty>."""
    import pathlib
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        path = pathlib.Path(d) / "v1:nets" / "mynet.py"
        path.parent.mkdir()
        path.write_text(NET_FILE.format(v=1))
        m = resolve(f"{path}:gseal")
        assert m.name == "mynet_gseal" and m.network == str(path.resolve())
        assert m.penalty == METHODS["gseal"][0].penalty


def test_a_spec_records_only_what_differs_from_the_first_runs_defaults():
    """Kills spec-records-exact-mode: the checkpoint record of the first runs' format has no
    'mode' for exact penalties (a run recorded so still resumes)."""
    assert METHODS["gseal"][0].spec == {"penalty": "gseal", "lam": 1.0}
    assert METHODS["dseal"][0].spec == {"penalty": "dseal", "lam": 0.01}
    assert METHODS["dseal_fd"][0].spec == {"penalty": "dseal", "lam": 0.01, "mode": "fd"}


def test_values_are_positive_unless_zero_is_allowed_and_a_budget_has_lambda_one():
    """Kills parse-values-zero-allowed and budget-method-keeps-paper-lam."""
    with pytest.raises(ValueError, match="> 0"):
        parse_values("gseal=0", "--targets", ("gseal", "dseal"))
    assert parse_values("gseal=0", "--x", ("gseal",), allow_zero=True) == {"gseal": 0.0}
    m = budget_method("dseal", 1e-3)
    assert m.penalty.lam == 1.0 and m.penalty.target == 1e-3 and m.penalty.reduction == "sum"


def test_two_network_files_of_the_same_name_are_two_networks(tmp_path):
    """Kills network-file-cache-by-name: a network file is its path, not its name."""
    paths = []
    for i in (1, 2):
        (tmp_path / f"d{i}").mkdir()
        p = tmp_path / f"d{i}" / "net.py"
        p.write_text(NET_FILE.format(v=i))
        paths.append(str(p))
    assert [networks.load(p).VALUE for p in paths] == [1, 2]


def test_the_mask_of_a_network_file_marks_every_nonzero_four_vector():
    """Kills masked-network-mask-all: mask = (p != 0).any(-1): a real particle with py = pz =
    0 is real."""
    seen = []

    class Spy(torch.nn.Module):
        def forward(self, p, mask):
            seen.append(mask)
            return p.sum((1, 2))

    p = torch.zeros(1, 3, 4)
    p[0, 0] = torch.tensor([100.0, 60.0, 0.0, 0.0])
    p[0, 1] = torch.tensor([50.0, 30.0, 10.0, 5.0])
    networks.MaskedNetwork(Spy())(p)
    assert seen[0].tolist() == [[True, True, False]]


# --------------------------------------------------------------------------- penalty, loop
class Logit(torch.nn.Module):
    """(B, N, 4) -> (B,): a linear function of the jet's four-momentum (not invariant)."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor([0.01, 0.02, -0.01, 0.03], dtype=F64))

    def forward(self, p):
        return p.sum(1) @ self.w - 3.0


def test_the_shared_pass_returns_the_task_output_and_the_penalty_of_the_probability():
    """Kills penalised-output-last-pass and penalised-prob-logit-swapped: the output is the
    network on x (the first pass, not a boosted one); with on='prob' the penalty is that of
    sigmoid(output)."""
    net = Logit()
    x = jets(batch=5, n=4, pad=1)
    pen = GSEAL(Lorentz(), Vector4())
    out, value = penalised_output(net, x, pen, on="prob",
                                  generator=torch.Generator().manual_seed(2))
    assert torch.equal(out, net(x))
    ref = pen(lambda z: torch.sigmoid(net(z)), x, generator=torch.Generator().manual_seed(2))
    assert float(value.detach()) == pytest.approx(float(ref.detach()), rel=1e-12)


def test_build_penalty_passes_the_fraction_and_the_boost_range():
    """Kills build-penalty-fraction-dropped and build-penalty-beta-max-dropped."""
    d, _ = build_penalty(Penalty("dseal", 0.01, fraction=0.5, reduction="sum"))
    assert d.fraction == 0.5 and d.reduction == "sum"
    g, lam = build_penalty(Penalty("gseal", 1.0, fraction=0.25), beta_max=0.3)
    assert g.fraction == 0.25 and g.sampler_options == {"beta_max": 0.3} and lam == 1.0


def test_each_train_step_starts_from_zero_gradients():
    """Kills train-step-no-zero-grad: two SGD steps of loss = c·θ move θ by exactly 2c·lr."""
    theta = torch.nn.Parameter(torch.zeros(2, dtype=F64))
    c = torch.tensor([1.0, -2.0], dtype=F64)
    opt = torch.optim.SGD([theta], lr=0.5)
    for _ in range(2):
        loop.train_step(opt, lambda: ((c * theta).sum(),))
    assert theta.tolist() == [-1.0, 2.0]


def test_the_objective_hands_its_generator_to_augmentation_and_logs_the_budgets_gamma():
    """Kills objective-augment-global-rng and objective-logs-lam-gamma: augmentation draws with
    the run's generator; with a budget the Γ returned is the budget's own Γ, not λ·Γ."""
    net = Logit()
    x = jets(batch=4, n=4, pad=1)
    y = torch.ones(4, dtype=F64)
    got = []

    def augment(z, generator):
        got.append(generator)
        return z

    gen = torch.Generator().manual_seed(0)
    budget = ViolationBudget(GSEAL(Lorentz(), Vector4()), 1e-3, lam_init=5.0)
    fn = loop.objective(net, budget, 1.0, loss=torch.nn.functional.binary_cross_entropy_with_logits,
                        augment=augment, generator=gen, budget=budget)
    total, task, pen = fn(x, y)
    assert got == [gen]
    # Γ logged as a default-dtype (float32) tensor: equal at float32 rounding
    assert float(pen) == pytest.approx(budget.value, rel=2 ** -23)
    assert float(total - task) == pytest.approx(
        5.0 * budget.value, rel=1e-12)


def test_fit_trains_the_modules_and_extends_the_given_times():
    """Kills fit-modules-not-trained and fit-times-list-replaced: each epoch puts the model and
    ``modules`` in training mode; the step times are appended to the list given (the resumed
    run's)."""
    theta = torch.nn.Parameter(torch.zeros(1, dtype=F64))
    model, extra = torch.nn.Linear(1, 1).eval(), torch.nn.Identity().eval()
    opt = torch.optim.SGD([theta], lr=0.1)
    times = [9.0]
    out = loop.fit(model, lambda: ((theta ** 2).sum(),), lambda e: [(), ()], optimizer=opt,
                   epochs=1, modules=(extra,), times=times)
    assert out is times and len(times) == 3 and times[0] == 9.0
    assert model.training and extra.training


def _train(tmp_path, cfg, val_losses, lam=None, seed=0, ctx=None):
    calls = []

    def val_loss(*a, **k):
        calls.append(1)
        return val_losses[len(calls) - 1]

    ctx = ctx or M.ctx_for(tmp_path)
    (tmp_path / "checkpoints").mkdir(exist_ok=True)
    task = dataclasses.replace(M.TAGGER, val_loss=val_loss)
    data = tiny_split(16)                # one step of 16 jets per epoch
    result = training.train_one("t", M.method("baseline"), seed, data, data, cfg, ctx,
                                lam=lam, task=task)
    return result, ctx


CFG = dict(top_tagging.PRESETS["quick"], batch=16, epochs=1, patience=5)


def test_a_model_is_reused_only_for_the_same_lambda(tmp_path):
    """Kills train-one-cache-ignores-lam: 'A model trained once in this run is reused (same
    tag, method, seed and lambda)': a λ scan's second λ trains anew."""
    first, ctx = _train(tmp_path, CFG, [0.5], lam=0.1)
    again, _ = _train(tmp_path, CFG, [0.5], lam=0.1, ctx=ctx)
    other, _ = _train(tmp_path, CFG, [0.5], lam=1.0, ctx=ctx)
    assert again is first and other is not first


def test_each_epoch_draws_its_own_batch_order(tmp_path, monkeypatch):
    """Kills train-one-same-order-every-epoch: the permutation of an epoch is seeded by the
    run's seed and the epoch."""
    orders = []

    def spy(model, loss_fn, batches, **kw):
        for epoch in (0, 1):
            orders.append(torch.cat([x for x, _ in batches(epoch)]))
        return []

    monkeypatch.setattr(loop, "fit", spy)
    _train(tmp_path, CFG, [0.5])
    assert orders[0].shape == orders[1].shape and not torch.equal(orders[0], orders[1])


def test_the_last_epoch_is_validated(tmp_path):
    """Kills train-one-last-epoch-not-validated: with 3 epochs and validation every 2, the
    validations are after epochs 2 and 3 ('and after the last')."""
    (_, info), _ = _train(tmp_path, dict(CFG, epochs=3, val_every=2), [0.5, 0.4])
    assert [h["epoch"] for h in info["history"]] == [2, 3]


def test_patience_counts_validations_without_improvement(tmp_path):
    """Kills train-one-patience-off-by-one: with patience 1 the first validation that does not
    improve stops the training."""
    (_, info), _ = _train(tmp_path, dict(CFG, epochs=10, patience=1), [0.5, 0.6, 0.7, 0.8])
    assert [h["epoch"] for h in info["history"]] == [1, 2] and info["epochs_trained"] == 2
