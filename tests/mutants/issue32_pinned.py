"""Issue 32: planted bugs for the behaviours of item 6 (no test pinned them) and for the
always-true assertions of item 3, each with the test file that must kill it. Replay from the
repository root:

    OMP_NUM_THREADS=1 python tests/mutants/replay.py tests/mutants/issue32_pinned.py

Entries: (id, file, exact original text, mutated text, test files). The test files are the new
ones only, so a KILLED says that the new test pins the behaviour."""

L = "liesoft/"
H = "examples/hep/"
T_LIB = ["tests/test_pinned_behaviours.py"]
T_HEP = ["tests/hep/test_pinned_examples.py"]
T_DEV = ["tests/test_device.py"]

MUTANTS = [
    # ------------------------------------------------------------ item 6: the library
    ("product-act-float64-out", L + "reps/linear.py",
     "return self._per_axis([r._rho(gw) for r in self.reps], xw, gw.shape[-1]).to(x.dtype)",
     "return self._per_axis([r._rho(gw) for r in self.reps], xw, gw.shape[-1])", T_LIB),
    ("product-infinitesimal-float64-out", L + "reps/linear.py",
     "            out = out + self._per_axis(eye, xw, Aw.shape[-1])\n        return out.to(x.dtype)",
     "            out = out + self._per_axis(eye, xw, Aw.shape[-1])\n        return out", T_LIB),
    ("tensor-lower-first", L + "reps/linear.py",
     "super().__init__(*([Vector()] * p + [Dual(Vector())] * q))",
     "super().__init__(*([Dual(Vector())] * q + [Vector()] * p))", T_LIB),
    ("discrete-dtype-ignored", L + "groups/base.py",
     "        return self._sampled(self._draw_discrete, n, generator, dtype, device, {})",
     "        return self._sampled(self._draw_discrete, n, generator, None, device, {})", T_LIB),
    ("nullspace-absolute-rank-tol", L + "groups/exact.py",
     "rank = int((s > rtol * max(float(scale), 1e-300)).sum())",
     "rank = int((s > rtol).sum())", T_LIB),
    ("identity-component-first-entry", L + "groups/base.py",
     "    return torch.linalg.det(block) > 0\n",
     "    return block[..., 0, 0] > 0\n", T_LIB),
    ("gseal-discrete-replaces-continuous", L + "groups/sampler.py",
     "g = g @ self.group.sample_discrete(n, generator=generator",
     "g = self.group.sample_discrete(n, generator=generator", T_LIB),
    ("gseal-discrete-ignored", L + "groups/sampler.py",
     "        if self.discrete:\n            g = g @",
     "        if False:\n            g = g @", T_LIB),
    ("half-differenced-in-half", L + "penalties/gseal.py",
     "        return gseal_value(as_residual_dtype(f_gx), self.out_rep.act(g, fx)), fx",
     "        return gseal_value(f_gx, self.out_rep.act(g, fx.to(f_gx.dtype))).float(), fx", T_LIB),
    ("budget-eval-returns-gamma", L + "experimental/budget.py",
     "        weighted = value * self.lam      # a Python float",
     "        weighted = value * (self.lam if self.training else 1.0)      # a Python float", T_LIB),
    ("one-sample-sem-nan", L + "audit.py", "if v.numel() > 1", "if v.numel() > 0", T_LIB),
    ("one-sample-sem-is-value", L + "audit.py",
     "                          else torch.zeros((), dtype=torch.float64))",
     "                          else v.mean())", T_LIB),
    # ------------------------------------------------------------ item 6: the HEP examples
    ("predict-in-tev", H + "tasks/regression.py",
     "    return torch.cat(out).numpy() * SCALE\n", "    return torch.cat(out).numpy()\n", T_HEP),
    ("regression-target-in-gev", H + "jet_regression.py",
     "data[\"t\"] = (data[\"p_true\"] / SCALE).astype(np.float32)",
     "data[\"t\"] = data[\"p_true\"].astype(np.float32)", T_HEP),
    ("regression-val-above-cut", H + "jet_regression.py",
     "train, val = inside(train), inside(val)", "train, val = inside(train), val", T_HEP),
    ("regression-cut-strict", H + "jet_regression.py",
     "v[d[\"pt\"] <= cfg[\"pt_cut\"]]", "v[d[\"pt\"] < cfg[\"pt_cut\"]]", T_HEP),
    ("ratio-massless-as-zero", H + "evaluation/regression.py",
     "ratio = ratio[np.isfinite(ratio)]", "ratio = np.where(np.isfinite(ratio), ratio, 0.0)",
     T_HEP),
    ("violation-max-norm", H + "evaluation/regression.py",
     "norm = norm.double().norm(dim=-1).clamp_min(1e-12)",
     "norm = norm.double().abs().amax(-1).clamp_min(1e-12)", T_HEP),
    ("table-above-columns-swapped", H + "evaluation/regression.py",
     "col((\"above\", \"E\", \"resolution\")), col((\"above\", \"m\", \"resolution\")),",
     "col((\"above\", \"m\", \"resolution\")), col((\"above\", \"E\", \"resolution\")),",
     T_HEP),
    ("rejection-ties-strict", H + "evaluation/tagging.py",
     "eps_b = (scores[~labels] >= cut).mean()", "eps_b = (scores[~labels] > cut).mean()", T_HEP),
    ("mass-peak-at-lower-edge", H + "studies/top_tagging.py",
     "float(mass_edges[np.argmax(hist)] + 5.0)", "float(mass_edges[np.argmax(hist)])", T_HEP),
    ("gen-current-format-regenerated", H + "data/jetgen.py",
     "if not targets or found >= TARGETS_FORMAT:", "if not targets or found > TARGETS_FORMAT:",
     T_HEP),
    ("gen-old-format-regenerated-without-targets", H + "data/jetgen.py",
     "if not targets or found >= TARGETS_FORMAT:", "if found >= TARGETS_FORMAT:", T_HEP),
    # ------------------------------------------------------------ item 3: tests that could not fail
    ("dseal-mean-is-sum", L + "penalties/dseal.py",
     "        return squared_norm(r, batch_dims=2).mean()",
     "        return squared_norm(r, batch_dims=2).sum()", T_DEV),
    ("budget-ema-swapped", L + "experimental/budget.py",
     "rho * state[\"ema\"] + (1 - rho) * gamma",
     "(1 - rho) * state[\"ema\"] + rho * gamma", T_DEV),
    ("audit-sem-is-std", L + "audit.py",
     "e_list.append(v.std() / math.sqrt(v.numel()) if v.numel() > 1",
     "e_list.append(v.std() if v.numel() > 1", T_DEV),
    ("efficiency-auc-is-bacc", H + "studies/efficiency.py",
     "\"auc\": run[\"auc\"], \"balanced_accuracy\"",
     "\"auc\": run[\"balanced_accuracy\"], \"balanced_accuracy\"",
     ["tests/hep/test_data_efficiency.py::"
      "test_the_quick_study_writes_results_metrics_and_figures_and_skips_finished_runs"]),
    ("efficiency-metrics-pool-sizes", H + "studies/efficiency.py",
     "{k: ev.mean_std([r[k] for r in rs]) for k in METRICS}",
     "{k: ev.mean_std([r[k] for r in sum(by.values(), [])]) for k in METRICS}",
     ["tests/hep/test_data_efficiency.py::"
      "test_the_quick_study_writes_results_metrics_and_figures_and_skips_finished_runs"]),
    ("budget-gammas-bound-at-import", H + "studies/tagger_budget.py",
     "def run_one(exp, kind, penalty, value, seed, data, cfg, ctx) -> dict:",
     "def run_one(exp, kind, penalty, value, seed, data, cfg, ctx,\n"
     "            held_out_gammas=held_out_gammas) -> dict:",
     ["tests/hep/test_budget_tagging.py::test_the_quick_study_trains_the_front_and_the_budgets_and_reports"]),
    ("fd-central-no-2", L + "penalties/dseal.py",
     "d = (difference(eps) - difference(-eps)) / (2 * eps)",
     "d = (difference(eps) - difference(-eps)) / eps",
     ["tests/test_conventions_mutation.py::test_fd_central_is_the_exact_lie_derivative_for_a_quadratic"]),
]
