"""Mutants of issue 22's λ search (liesoft/lambda_search.py and the toy's search cells):
plausible bugs, each with the tests that must catch it. Replay from the repository root:

    OMP_NUM_THREADS=1 python tests/mutants/replay.py tests/mutants/issue22_search.py

Entries: (id, file, exact original text, mutated text, tests)."""

S = "liesoft/lambda_search.py"
T = ["tests/test_lambda_search.py"]
TOY = "tests/hep/test_toy_regression.py::"
TAG = "tests/hep/test_budget_tagging.py::"
BT = "examples/hep/studies/budget_tagging.py"

MUTANTS = [
    ("newton-step-sign", S,
     "    step = -y0 / s if math.isfinite(s)", "    step = y0 / s if math.isfinite(s)", T),
    ("step-in-lambda-not-log", S,
     "    return x0 + min(max(step, -cap), cap)",
     "    return math.log(max(math.exp(x0) + min(max(step, -cap), cap), 1e-300))", T),
    ("slope-from-farthest-trials", S,
     "    side = sorted(side, key=lambda t: t.lam, reverse=bool(high))",
     "    side = sorted(side, key=lambda t: t.lam, reverse=not high)", T),
    ("regula-falsi-wrong-end", S,
     "            x = xl + (xh - xl) * yl / (yl - yh)",
     "            x = xl + (xh - xl) * yh / (yl - yh)", T),
    ("no-step-cap", S,
     "    cap = math.log(max_step)", "    cap = math.inf", T),
    ("bracket-not-kept-inside", S,
     "            return min(max(x, xl + w), xh - w)", "            return x", T),
    ("band-twice-as-wide", S,
     "    band = math.log1p(rtol)", "    band = 2 * math.log1p(rtol)", T),
    ("never-inactive", S,
     "        if gamma <= target and lam <= lam_min:", "        if False:", T),
    ("infeasible-keeps-last", S,
     "            best = min(range(len(trials)), key=lambda i: trials[i].gamma)",
     "            best = len(trials) - 1", T),
    ("unconverged-keeps-last", S,
     "        return min(range(len(trials)),", "        return max(range(len(trials)),", T),
    ("overlap-not-halved", S,
     "        return 0.5 * (xl + xh)      # Γ", "        return xl      # Γ", T),
    ("gamma-zero-log", S,
     "    return math.log(max(gamma, target * 1e-12) / target)",
     "    return math.log(gamma / target)", T),
    ("flat-response-small-step", S,
     "        s = measured if measured < -_MIN_SLOPE else -math.inf",
     "        s = measured if measured < -_MIN_SLOPE else slope", T),
    ("nan-gamma-accepted", S,
     "            or not math.isfinite(gamma) or gamma < 0:", "            or gamma < 0:", T),
    ("payload-of-the-first-trial", S,
     "        return self.trials[self.chosen].payload", "        return self.trials[0].payload",
     T),
    # ---------------------------------------------------------------- the toy's search cells
    ("toy-search-steers-on-test", "examples/hep/studies/toy_cells.py",
     '        return rec["final_gamma_val"][cell.penalty], rec',
     '        return rec["final_gamma_heldout"][cell.penalty], rec',
     [TOY + "test_search_cells_steer_on_validation_and_share_their_trials"]),
    ("toy-search-trials-in-the-front", "examples/hep/toy_regression.py",
     '                                  os.path.join(out, "search_trials"))',
     '                                  os.path.join(out, "cells"))',
     [TOY + "test_the_search_rule_runs_from_the_command_line"]),
    ("toy-val-gamma-one-draw", "examples/hep/studies/toy_cells.py",
     "final_gamma_val=final_gammas(model, x_val, cfg, device, cfg.gamma_val_draws),",
     "final_gamma_val=final_gammas(model, x_val, cfg, device),",
     [TOY + "test_search_cells_steer_on_validation_and_share_their_trials"]),
    # ---------------------------------------------------------------- the tagger's searches
    ("tagger-search-steers-on-test", BT,
     '        return r["gamma_val"][penalty], r', '        return r["gamma_final"][penalty], r',
     [TAG + "test_a_search_steers_by_the_validation_gamma_and_keeps_its_chosen_trial"]),
    ("tagger-search-cost-of-the-chosen", BT,
     '                  train_s=sum(t.payload["train_s"] for t in search.trials))',
     '                  train_s=chosen["train_s"])',
     [TAG + "test_a_search_steers_by_the_validation_gamma_and_keeps_its_chosen_trial"]),
    ("tagger-trials-in-the-front", BT,
     '        if r["kind"] not in ("baseline", "fixed"):',
     '        if r["kind"] == "budget":',
     [TAG + "test_budget_rows_compare_with_the_fixed_lambda_of_the_same_seed_at_the_target"]),
    ("tagger-draws-ignored", BT,
     '        for d in range(draws if name == "gseal" else 1):', '        for d in range(1):',
     [TAG + "test_held_out_gammas_are_the_training_penalties_on_the_probability_in_chunks"]),
    ("tagger-val-gamma-on-test-jets", BT,
     '"gamma_val": held_out_gammas(model, val["x"], args, draws=VAL_DRAWS),',
     '"gamma_val": held_out_gammas(model, test["x"], args, draws=VAL_DRAWS),',
     [TAG + "test_the_quick_study_trains_the_front_and_the_budgets_and_reports"]),
    ("tagger-val-gamma-one-draw", BT,
     '"gamma_val": held_out_gammas(model, val["x"], args, draws=VAL_DRAWS),',
     '"gamma_val": held_out_gammas(model, val["x"], args),',
     [TAG + "test_the_quick_study_trains_the_front_and_the_budgets_and_reports"]),
]
