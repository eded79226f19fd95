"""Mutants of issue 22 (the violation budget's schedule and its studies): plausible bugs, each
with the tests that must catch it. Replay from the repository root (~3 min):

    OMP_NUM_THREADS=1 python tests/mutants/replay.py tests/mutants/issue22_budget.py

Entries: (id, file, exact original text, mutated text, tests)."""

B = "liesoft/experimental/budget.py"
TB = "tests/test_budget.py::"
TOY = "tests/hep/test_toy_regression.py::"
TAG = "tests/hep/test_budget_tagging.py::"
FR = ["tests/hep/test_budget_front.py"]

MUTANTS = [
    # ---------------------------------------------------------------- the library's schedule
    ("schedule-ignores-optimizer", B,
     "        return self.target * self.target_factor(self.lr_ratio)",
     "        return self.target",
     [TB + "test_the_optimizer_learning_rate_sets_the_running_target"]),
    ("reference-not-the-peak", B,
     "            elif lr > refs[i]:\n                refs[i] = lr",
     "            elif lr > refs[i]:\n                pass",
     [TB + "test_the_reference_is_the_peak_rate_and_the_ratio_the_largest_over_groups"]),
    ("constant-rate-loosens", B,
     '        if self.optimizer is None or not self._state["decayed"]:',
     "        if self.optimizer is None:",
     [TB + "test_a_constant_learning_rate_or_no_optimizer_is_todays_rule"]),
    ("infeasible-never-warns", B,
     '        state["warned"] = 1\n',
     '        state["warned"] = 1\n        return\n',
     [TB + "test_an_unreachable_target_warns_once_with_the_smallest_value"]),
    ("inactive-ignores-target", B,
     '                and s["ema"] <= self.target_now)',
     "                )",
     [TB + "test_a_target_met_without_the_penalty_is_reported_inactive"]),
    ("peak-rate-not-saved", B,
     "        self._lr_ref = torch.tensor(self._lr_refs, dtype=torch.float64,\n"
     "                                    device=self._lr_ref.device)",
     "        pass",
     [TB + "test_the_peak_rate_after_a_warm_up_travels_in_the_state"]),
    ("best-counts-untrained-start", B,
     '        if state["armed"]:\n            state["best"]',
     '        if True:\n            state["best"]',
     [TB + "test_the_smallest_value_counts_once_the_penalty_has_risen_above_the_target"]),
    # ---------------------------------------------------------------- the studies
    ("front-keeps-dominated", "examples/hep/evaluation/front.py",
     "        if m < best:", "        if True:", FR),
    ("gmean-is-arithmetic", "examples/hep/evaluation/front.py",
     "return math.exp(statistics.fmean(math.log(v) for v in values))",
     "return statistics.fmean(values)", FR),
    ("fixed-at-by-gamma-order", "examples/hep/evaluation/front.py",
     "    pts = sorted(runs)\n", "    pts = sorted(runs, key=lambda r: r[1])\n", FR),
    ("toy-front-of-seed-0", "examples/hep/studies/toy_budget.py",
     'pts = fixed.get((r["case"], r["penalty"], r["seed"]), [])',
     'pts = fixed.get((r["case"], r["penalty"], 0), [])',
     [TOY + "test_budget_report_divides_by_the_front_of_the_same_seed_at_the_target"]),
    ("toy-constant-rule-gets-optimizer", "examples/hep/studies/budget_rules.py",
     '"constant": lambda p, t, opt: ViolationBudget(p, t),',
     '"constant": lambda p, t, opt: ViolationBudget(p, t, optimizer=opt),',
     [TOY + "test_budget_cells_run_the_rule_with_and_without_schedule"]),
    ("toy-gamma-on-training-vectors", "examples/hep/studies/toy_cells.py",
     "final_gamma_heldout=final_gammas(model, x_te, cfg, device)",
     "final_gamma_heldout=final_gammas(model, x_tr, cfg, device)",
     [TOY + "test_budget_cells_run_the_rule_with_and_without_schedule"]),
    # issue 32: the chunked mean moved into liesoft.measure_violation (held_out_gammas calls it)
    ("tagger-gamma-chunks-unweighted", "liesoft/violation.py",
     "                total += float(penalty(f, z, *rows, generator=gen)) * len(z)\n"
     "                count += len(z)",
     "                total += float(penalty(f, z, *rows, generator=gen))\n"
     "                count += 1",
     [TAG + "test_held_out_gammas_are_the_training_penalties_on_the_probability_in_chunks"]),
    ("tagger-gamma-on-logit", "examples/hep/studies/tagger_budget.py",
     '    f = (lambda z: torch.sigmoid(model(z))) if on == "prob" else model',
     "    f = model",
     [TAG + "test_held_out_gammas_are_the_training_penalties_on_the_probability_in_chunks"]),
    ("tagger-pass-ignores-auc", "examples/hep/studies/tagger_budget.py",
     "                                   and min(r[\"auc\"] for r in rs) >= 0.95)",
     ")",
     [TAG + "test_budget_rows_compare_with_the_fixed_lambda_of_the_same_seed_at_the_target"]),
    ("tagger-front-of-seed-0", "examples/hep/studies/tagger_budget.py",
     'fixed = [q for q in results if q["seed"] == seed and (',
     'fixed = [q for q in results if q["seed"] == 0 and (',
     [TAG + "test_budget_rows_compare_with_the_fixed_lambda_of_the_same_seed_at_the_target"]),
]
