"""liesoft.find_lambda: the fixed λ whose trained model ends on a violation target.

The trainings are stood in for by functions Γ_final(λ) with known answers: a power law (the
search must land in the steps Newton's method in ln λ takes), curved and noisy responses, a
plateau (the target needs no penalty), a floor above the target (out of reach).
"""

import math
import warnings

import pytest
import torch

import liesoft
from liesoft import LambdaSearch, find_lambda


def power_law(c: float, p: float, calls: list | None = None):
    """Γ_final(λ) = c·λ^(−p); records the λs it is trained with."""
    def train(lam):
        if calls is not None:
            calls.append(lam)
        return c * lam ** (-p)
    return train


def test_exported_at_the_top_level():
    assert liesoft.find_lambda is find_lambda and "find_lambda" in liesoft.__all__


@pytest.mark.parametrize("p", [0.3, 0.5, 0.8, 1.5])
@pytest.mark.parametrize("target", [1e-4, 0.02, 3.0])
def test_lands_on_a_power_law_within_rtol(p, target):
    calls = []
    s = find_lambda(power_law(0.01, p, calls), target, lam=1.0, lam_min=1e-12, lam_max=1e12,
                    max_trainings=12)
    assert s.status == "landed"
    assert 1 / 1.1 <= s.gamma / target <= 1.1
    assert s.gamma == pytest.approx(0.01 * s.lam ** (-p), rel=1e-12)
    assert [t.lam for t in s.trials] == calls       # every training recorded, in order
    # exact in ln λ: the λ that lands is the power law's, within the band's width in λ
    lam_star = (0.01 / target) ** (1 / p)
    assert abs(math.log(s.lam / lam_star)) <= math.log(1.1) / p + 1e-12


def test_newton_in_log_lambda_is_exact_on_a_power_law():
    """With the assumed slope equal to the true one the second training lands exactly; with
    another, the third (the measured slope is exact on a power law). A wrong sign, a step in λ
    instead of ln λ or a slope from the wrong pair of trials misses."""
    s = find_lambda(power_law(1.0, 0.5), 0.01, lam=1.0, slope=-0.5, rtol=1e-9, max_step=1e9)
    assert s.trainings == 2 and s.gamma == pytest.approx(0.01, rel=1e-9)
    assert s.lam == pytest.approx(1e4, rel=1e-9)
    s = find_lambda(power_law(1.0, 0.7), 0.01, lam=1.0, slope=-0.5, rtol=1e-9, max_step=1e9)
    assert s.trainings == 3 and s.gamma == pytest.approx(0.01, rel=1e-9)


def test_the_first_step_follows_the_assumed_slope_and_is_capped():
    calls = []
    with pytest.warns(RuntimeWarning, match="max_trainings=2"):
        find_lambda(power_law(1.0, 1.0, calls), 0.5, lam=1.0, slope=-0.5, max_trainings=2)
    assert calls[1] == pytest.approx(math.exp(math.log(2.0) / 0.5))      # Γ 2× too high → λ×4
    calls = []
    with pytest.warns(RuntimeWarning, match="max_trainings=2"):
        find_lambda(power_law(1.0, 1.0, calls), 1e-6, lam=1.0, max_step=10.0, max_trainings=2)
    assert calls == [1.0, pytest.approx(10.0)]                             # capped at ×10
    calls = []
    with pytest.warns(RuntimeWarning):
        find_lambda(power_law(1.0, 1.0, calls), 1e6, lam=1.0, max_step=10.0, max_trainings=2)
    assert calls == [1.0, pytest.approx(0.1)]       # Γ below the target: λ goes down


def test_bracketed_steps_stay_inside_the_bracket_and_converge_on_a_curved_response():
    """Γ_final(λ) = 0.01 + 1/(1 + λ)²: not a power law; the bracketing steps stay between the
    trials that bracket the target, and the search lands."""
    def response(lam):
        return 0.01 + 1.0 / (1.0 + lam) ** 2

    calls = []
    s = find_lambda(lambda lam: calls.append(lam) or response(lam), 0.05, lam=100.0,
                    slope=-3.0, rtol=0.01, max_trainings=20)
    assert s.status == "landed" and abs(s.gamma / 0.05 - 1) <= 0.01
    bracketed = 0
    for i in range(2, len(calls)):
        high = [lam for lam in calls[:i] if response(lam) > 0.05]
        low = [lam for lam in calls[:i] if response(lam) <= 0.05]
        if high and low:
            bracketed += 1
            assert max(high) < calls[i] < min(low)
    assert bracketed >= 1


def test_a_bracketed_step_keeps_a_tenth_of_the_bracket_from_its_ends():
    """A secant that would land next to one end of the bracket (a response far from linear in
    ln λ) is moved a tenth of the bracket inside: regula falsi would otherwise creep."""
    Trial = liesoft.lambda_search.Trial
    trials = [Trial(1.0, 0.1 * 1.01), Trial(100.0, 0.1 * math.exp(-10.0))]
    x = liesoft.lambda_search._next_log_lam(trials, 0.1, -0.5, 100.0)
    assert math.exp(x) == pytest.approx(100.0 ** 0.1)
    trials = [Trial(1.0, 0.1 * math.exp(10.0)), Trial(100.0, 0.1 / 1.01)]
    x = liesoft.lambda_search._next_log_lam(trials, 0.1, -0.5, 100.0)
    assert math.exp(x) == pytest.approx(100.0 ** 0.9)


def test_a_response_that_does_not_answer_lambda_takes_the_largest_step():
    """Γ_final the same at two λs (a plateau): the measured slope says nothing, the next step
    is the largest allowed (×100), not the assumed slope's."""
    calls = []
    s = find_lambda(lambda lam: calls.append(lam) or 0.05, 0.1, lam=1.0, lam_min=1e-4)
    assert calls == [1.0, pytest.approx(0.25), pytest.approx(0.0025), pytest.approx(1e-4)]
    assert s.status == "inactive"


def test_a_noisy_response_still_lands():
    """Γ_final with ±10 % seed noise around a power law: lands within rtol = 0.2 mostly in
    at most four trainings."""
    gen = torch.Generator().manual_seed(0)
    counts = []
    for _ in range(40):
        def train(lam):
            noise = float(torch.empty(()).uniform_(-0.1, 0.1, generator=gen))
            return 0.3 * lam ** -0.6 * math.exp(noise)
        s = find_lambda(train, 0.01, lam=1.0, rtol=0.2, max_trainings=8)
        assert s.status == "landed" and abs(math.log(s.ratio)) <= math.log(1.2)
        counts.append(s.trainings)
    assert sorted(counts)[len(counts) // 2] <= 4


def test_payload_of_the_chosen_training_is_returned_and_nothing_is_retrained():
    calls = []

    def train(lam):
        calls.append(lam)
        return 2.0 / lam, {"model_trained_at": lam}

    s = find_lambda(train, 1.0, lam=0.5, slope=-1.0)
    assert s.payload == {"model_trained_at": s.lam} and s.lam == pytest.approx(2.0)
    assert len(calls) == s.trainings == 2
    assert [t.payload["model_trained_at"] for t in s.trials] == calls


def test_a_target_met_at_the_smallest_lambda_is_inactive_without_a_warning():
    calls = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = find_lambda(lambda lam: calls.append(lam) or 1e-3, 0.1, lam=1.0, lam_min=1e-4)
    assert s.status == "inactive" and s.lam == pytest.approx(1e-4)
    assert calls == [1.0, pytest.approx(1e-2), pytest.approx(1e-4)]   # ×100 steps down


def test_an_out_of_reach_target_warns_with_the_smallest_gamma_reached():
    """Γ_final = 0.5 + 1/λ never reaches 0.1: λ climbs to lam_max, the warning and the
    result name the smallest Γ reached (at lam_max)."""
    with pytest.warns(RuntimeWarning, match=r"out of reach.*smallest Γ reached 0\.50") as rec:
        s = find_lambda(lambda lam: 0.5 + 1.0 / lam, 0.1, lam=1.0, lam_max=1e4)
    assert rec[0].filename == __file__          # the warning points at the caller's line
    assert s.status == "infeasible" and s.lam == pytest.approx(1e4)
    assert s.gamma == min(t.gamma for t in s.trials)
    # a training that degrades at the largest λ: the smallest Γ is an earlier trial's
    with pytest.warns(RuntimeWarning, match=r"smallest Γ reached 0\.51 at λ=100"):
        s = find_lambda(lambda lam: 0.5 + 1.0 / lam if lam < 1e3 else 3.0, 0.1, lam=1.0,
                        lam_max=1e4)
    assert s.status == "infeasible" and s.lam == pytest.approx(100.0) and s.gamma == 0.51
    assert s.trials[-1].lam == pytest.approx(1e4)


def test_unconverged_keeps_the_training_nearest_the_target():
    """Γ/target 10 at λ = 1, 0.4 at λ = 100 (the capped step): the second is nearer in ln Γ."""
    with pytest.warns(RuntimeWarning, match="max_trainings=2; keeping the nearest"):
        s = find_lambda(lambda lam: 0.5 if lam < 2 else 0.02, 0.05, lam=1.0, max_trainings=2)
    assert s.status == "unconverged" and s.trainings == 2 and s.lam == pytest.approx(100.0)
    assert s.gamma == 0.02


def test_a_jump_across_the_target_stops_instead_of_looping():
    """Γ_final jumps from 2× to 0.5× the target at λ = 3: the bracket shrinks towards the
    jump, the search stops within max_trainings with the nearest training."""
    with pytest.warns(RuntimeWarning, match="keeping the nearest"):
        s = find_lambda(lambda lam: 0.2 if lam < 3.0 else 0.05, 0.1, lam=1.0,
                        max_trainings=60)
    assert s.status == "unconverged" and s.trainings < 60
    assert s.trials[-1].lam == pytest.approx(3.0, rel=1e-4)


def test_a_response_not_monotone_over_the_trials_halves_the_overlap():
    """Noisy trials that overlap (λ = 3 above the target, the smaller λ = 2 below it): the next
    λ is the geometric midpoint of the overlap, not an extrapolation outside it."""
    trials = [liesoft.lambda_search.Trial(3.0, 0.2), liesoft.lambda_search.Trial(2.0, 0.05)]
    x = liesoft.lambda_search._next_log_lam(trials, 0.1, -0.5, 100.0)
    assert math.exp(x) == pytest.approx(math.sqrt(6.0))


def test_gamma_zero_counts_as_below_the_target():
    with pytest.warns(RuntimeWarning):
        s = find_lambda(lambda lam: 0.0 if lam > 1.5 else 1.0, 0.5, lam=1.0, slope=-1.0,
                        max_trainings=3)
    assert [t.gamma for t in s.trials][:2] == [1.0, 0.0]
    assert 1.0 < s.trials[2].lam < 2.0      # bracketed between λ = 1 and 2


def test_a_tensor_gamma_is_accepted():
    s = find_lambda(lambda lam: torch.tensor(0.1 / lam), 0.1, lam=1.0)
    assert s.status == "landed" and s.gamma == pytest.approx(0.1)


@pytest.mark.parametrize("bad", [float("nan"), -1.0, float("inf"), "0.1", None, True,
                                 torch.ones(2)])
def test_train_must_return_a_finite_gamma(bad):
    with pytest.raises(ValueError, match=r"train\(lam=1\) must return the trained model's "
                                         r"final Γ"):
        find_lambda(lambda lam: bad, 0.1)


@pytest.mark.parametrize("kwargs, match", [
    (dict(target=0.0), "target must be a finite number in"),
    (dict(target=-1.0), "target must be a finite number in"),
    (dict(rtol=0.0), "rtol must be"),
    (dict(lam=0.0), "lam must be"),
    (dict(lam=1e7), r"lam must be in \[lam_min, lam_max\]"),
    (dict(lam_min=1.0, lam_max=1.0), "lam_min must be < lam_max"),
    (dict(max_trainings=0), "max_trainings must be an integer >= 1"),
    (dict(max_trainings=2.5), "max_trainings must be an integer >= 1"),
    (dict(max_trainings=True), "max_trainings must be an integer >= 1"),
    (dict(slope=0.5), "slope must be a finite number < 0"),
    (dict(slope=float("-inf")), "slope must be a finite number < 0"),
    (dict(max_step=1.0), "max_step must be > 1"),
])
def test_bad_arguments_are_refused_before_any_training(kwargs, match):
    calls = []
    args = dict(target=0.1) | kwargs
    target = args.pop("target")
    with pytest.raises(ValueError, match=match):
        find_lambda(lambda lam: calls.append(lam) or 0.1, target, **args)
    assert calls == []


def test_train_must_be_callable():
    with pytest.raises(TypeError, match="train must be callable"):
        find_lambda(0.1, 0.1)


def test_the_result_reads_well():
    s = find_lambda(power_law(0.1, 1.0), 0.05, lam=1.0, slope=-1.0)
    assert isinstance(s, LambdaSearch)
    text = str(s)
    assert "landed" in text and "λ=2" in text and "after 2 training(s)" in text
    assert s.ratio == pytest.approx(1.0) and s.trainings == 2


def test_known_trials_cost_nothing_and_steer_the_first_training():
    """A λ scan you already have: its bracket gives the first λ trained (regula falsi between
    the scan's neighbours, not ``lam``); known trials are in ``trials`` (trained=False) but
    not in ``trainings`` nor in ``max_trainings``."""
    calls = []
    train = power_law(1.0, 1.0, calls)
    scan = [(1.0, 1.0), (100.0, 0.01), (10.0, 0.1, "ckpt-10")]       # target 0.03: 10 … 100
    s = find_lambda(train, 0.03, known=scan, rtol=1e-9, max_trainings=1)
    assert calls == [pytest.approx(100 / 3)]                    # exact on a power law, 1 call
    assert s.status == "landed" and s.trainings == 1 and len(s.trials) == 4
    assert [t.trained for t in s.trials] == [False, False, False, True]
    assert s.trials[2].payload == "ckpt-10" and s.lam == pytest.approx(100 / 3)
    # an earlier search's trials resume it
    again = find_lambda(train, 0.03, known=s.trials[:3] + (liesoft.lambda_search.Trial(
        5.0, 0.2),), rtol=1e-9)
    assert again.trials[-1].lam == pytest.approx(100 / 3) and again.trainings == 1


def test_a_known_trial_that_lands_is_returned_without_training():
    calls = []
    s = find_lambda(power_law(1.0, 1.0, calls), 0.1, known=[(1.0, 1.0), (9.5, 1 / 9.5, "m")])
    assert calls == [] and s.status == "landed" and s.trainings == 0 and s.payload == "m"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = find_lambda(power_law(1.0, 1.0, calls), 10.0, known=[(1e-6, 1.0)])
    assert calls == [] and s.status == "inactive"


@pytest.mark.parametrize("known, match", [
    ([(1.0,)], r"each known trial is \(λ, Γ_final\)"),
    ([(0.0, 0.1)], "a known trial's λ must be"),
    ([(1.0, float("nan"))], "a known trial's Γ_final must be a finite number in"),
    ([(1.0, -0.1)], "a known trial's Γ_final must be a finite number in"),
    ([(1.0, "0.1")], "a known trial's Γ_final must be a real number"),
    ([1.0], r"each known trial is \(λ, Γ_final\)"),
    ("1.0", "known must be an iterable"),
    (3, "known must be an iterable"),
])
def test_bad_known_trials_are_refused_before_any_training(known, match):
    calls = []
    with pytest.raises((ValueError, TypeError), match=match):
        find_lambda(lambda lam: calls.append(lam) or 0.1, 0.1, known=known)
    assert calls == []


def test_known_trials_do_not_use_up_max_trainings():
    calls = []
    s = find_lambda(power_law(1.0, 0.7, calls), 0.01, known=[(1.0, 1.0)], rtol=1e-9,
                    max_trainings=2)
    assert s.status == "landed" and s.trainings == 2 == len(calls) and len(s.trials) == 3
