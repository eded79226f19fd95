"""Mutants of issue 22's λ search (liesoft/lambda_search.py and the toy's search cells):
plausible bugs, each with the tests that must catch it. Replay from the repository root:

    OMP_NUM_THREADS=1 python tests/mutants/replay.py tests/mutants/issue22_search.py

Entries: (id, file, exact original text, mutated text, tests)."""

S = "liesoft/lambda_search.py"
T = ["tests/test_lambda_search.py"]
TOY = "tests/hep/test_toy_regression.py::"

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
]
