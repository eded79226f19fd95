"""The front arithmetic of the budget studies (examples/hep/evaluation/front.py)."""

import math

import pytest

from examples.hep.evaluation.front import fixed_at, front_at, gmean, lam_at


def test_front_at_interpolates_log_log_between_the_bracketing_non_dominated_points():
    pts = [(1e-3, 1e-1), (1e-2, 1e-3), (1e-1, 1e-4), (3e-2, 5e-2)]   # the last is dominated
    # log midpoint of 1e-2 and 1e-1 → the log midpoint of their metrics, not the dominated one
    assert front_at(pts, math.sqrt(1e-3)) == pytest.approx(math.sqrt(1e-7), rel=1e-12)
    assert front_at(pts, 1e-2) == pytest.approx(1e-3, rel=1e-12)       # on a point
    t = 10 ** -2.5                                                      # a quarter of the way
    assert front_at(pts, t) == pytest.approx(10 ** -2.0, rel=1e-12)   # between 1e-3 and 1e-2
    assert math.isnan(front_at(pts, 1e-4)) and math.isnan(front_at(pts, 1.0))  # outside
    # the order of the points does not matter
    assert front_at(pts[::-1], 3e-2) == pytest.approx(front_at(pts, 3e-2), rel=1e-15)


def test_front_at_skips_points_that_a_smaller_violation_beats():
    # (2e-2, 2e-3) is beaten by (1e-2, 1e-3): the front goes from 1e-2 straight to 1e-1
    pts = [(1e-2, 1e-3), (2e-2, 2e-3), (1e-1, 1e-4)]
    x = 2e-2
    t = math.log(x / 1e-2) / math.log(10)
    assert front_at(pts, x) == pytest.approx(math.exp(math.log(1e-3) + t * math.log(0.1)),
                                             rel=1e-12)


def test_lam_at_and_gmean():
    pts = [(1e-1, 0.1), (1e-2, 1.0), (1e-3, 10.0), (5.0, 0.0)]   # (Γ, λ); λ = 0 ignored
    assert lam_at(pts, math.sqrt(1e-3 * 1e-2)) == pytest.approx(math.sqrt(10.0), rel=1e-12)
    assert lam_at(pts, 1e-2) == pytest.approx(1.0, rel=1e-12)
    assert math.isnan(lam_at(pts, 1.0))     # only the baseline (λ = 0) is above: no fixed λ
    assert gmean([1.0, 4.0, math.nan]) == pytest.approx(2.0, rel=1e-15)
    assert gmean([2.0, 8.0]) == pytest.approx(4.0, rel=1e-15)   # not the arithmetic mean, 5
    assert math.isnan(gmean([math.nan]))


def test_fixed_at_reads_the_lambda_neighbours_that_bracket_the_target():
    # (λ, Γ, metric): here a larger λ improves the metric too (a regularising penalty), so the
    # Pareto front is the single point λ = 10 and does not bracket the target
    runs = [(0.0, 1e-1, 4e-3), (1.0, 1e-2, 2e-3), (10.0, 1e-3, 1e-3)]
    target = math.sqrt(1e-2 * 1e-3)
    metric, lam = fixed_at(runs, target)
    assert metric == pytest.approx(math.sqrt(2e-6), rel=1e-12)
    assert lam == pytest.approx(math.sqrt(10.0), rel=1e-12)
    assert math.isnan(front_at([(g, m) for _, g, m in runs], target))
    metric, lam = fixed_at(runs, math.sqrt(1e-1 * 1e-2))     # between the baseline and λ = 1
    assert metric == pytest.approx(math.sqrt(8e-6), rel=1e-12) and math.isnan(lam)
    assert all(math.isnan(v) for v in fixed_at(runs, 1.0))   # above the baseline's Γ
    # not monotone in λ: the first λ pair (ascending) that brackets the target is used
    runs = [(1.0, 1e-2, 1e-3), (3.0, 2e-3, 3e-3), (10.0, 5e-3, 9e-3), (30.0, 1e-4, 1.0)]
    assert fixed_at(runs[::-1], 3e-3)[1] == pytest.approx(
        math.exp(math.log(3.0) * math.log(3e-3 / 1e-2) / math.log(0.2)), rel=1e-12)
