"""Mutation lab 2 (issue 24 item 15): plausible bugs written by hand across the library
(penalties, model_state, norms, budget, audit, testing, groups, reps; paths and texts follow
the code issue 30 moved) and the HEP examples
(data/, models/, training.py, evaluation/, studies/), each with the test files expected to
catch it. Replay from the repository root:

    OMP_NUM_THREADS=1 python tests/mutants/replay.py tests/mutants/issue24_lab2.py

Entries: (id, file, exact original text, mutated text, test files). Scores and killing tests
are listed in tests/MUTATIONS.md."""

P = "liesoft/penalties/"
H = "examples/hep/"
T_PEN = ["tests/test_conventions_mutation.py", "tests/test_penalties.py", "tests/test_penalty_units.py"]
T_ROUTES = ["tests/test_conventions_mutation.py", "tests/test_routes.py"]
T_MS = ["tests/test_conventions_mutation.py", "tests/test_model_state.py"]
T_BUD = ["tests/test_conventions_mutation.py", "tests/test_budget.py"]
T_AUD = ["tests/test_conventions_mutation.py", "tests/test_audit.py"]
T_TEST = ["tests/test_conventions_mutation.py", "tests/test_testing.py"]
T_REPS = ["tests/test_conventions_mutation.py", "tests/test_reps.py", "tests/test_user_reps.py"]
T_GRP = ["tests/test_conventions_mutation.py", "tests/test_lorentz.py", "tests/test_rotations.py", "tests/test_membership.py"]
T_DET = ["tests/hep/test_invariants_mutation.py", "tests/hep/test_detector.py"]
T_GEN = ["tests/hep/test_invariants_mutation.py", "tests/hep/test_jetgen.py"]
T_LOAD = ["tests/hep/test_invariants_mutation.py", "tests/hep/test_loaders.py"]
T_EVAL = ["tests/hep/test_invariants_mutation.py", "tests/hep/test_evaluation.py"]
T_REG = ["tests/hep/test_invariants_mutation.py", "tests/hep/test_jet_regression.py"]
T_TOP = ["tests/hep/test_invariants_mutation.py", "tests/hep/test_toptag_studies.py", "tests/hep/test_toptag.py"]
T_TOY = ["tests/hep/test_invariants_mutation.py", "tests/hep/test_toy_regression.py"]
T_PART = ["tests/hep/test_invariants_mutation.py", "tests/hep/test_part.py"]

MUTANTS = [
    # ---------------------------------------------------------------- penalties/common.py
    ("gseal-sum-not-mean", P + "gseal.py", "return squared_norm(f_gx - g_fx).mean()",
     "return squared_norm(f_gx - g_fx).sum()", T_PEN),
    ("squared-norm-abs", P + "common.py", "return r.pow(2).reshape(*r.shape[:batch_dims], -1).sum(-1)",
     "return r.abs().reshape(*r.shape[:batch_dims], -1).sum(-1)", T_PEN),
    ("dseal-batch-coupled-sum", P + "dseal.py", "squared_norm(r, batch_dims=2).mean()",
     "squared_norm(r, batch_dims=1).mean()", T_PEN),
    ("subset-can-be-empty", P + "base.py", "m = max(1, round(self.fraction * batch))",
     "m = round(self.fraction * batch)", T_PEN),
    ("half-residual-not-float32", P + "common.py",
     "return y.float() if y.dtype in (torch.float16, torch.bfloat16) else y", "return y",
     ["tests/test_autocast.py", "tests/test_conventions_mutation.py"]),
    # ---------------------------------------------------------------- penalties/gseal.py
    ("gseal-discrete-replaces-continuous", "liesoft/groups/sampler.py",
     "g = g @ self.group.sample_discrete(n, generator=generator",
     "g = self.group.sample_discrete(n, generator=generator", T_PEN),
    ("gseal-out-inverse", P + "gseal.py", "return gseal_value(as_residual_dtype(f_gx), self.out_rep.act(g, fx))",
     "return gseal_value(as_residual_dtype(f_gx), self.out_rep.act(torch.linalg.inv(g), fx))", T_PEN),
    ("gseal-sample-float32", "liesoft/groups/sampler.py",
     "g = self.group.sample(n, generator=generator, dtype=torch.float64, device=device,",
     "g = self.group.sample(n, generator=generator, dtype=torch.float32, device=device,", T_PEN),
    # ---------------------------------------------------------------- penalties/dseal.py
    ("dseal-sum-not-n-times", P + "dseal.py", "            value = value * self.n\n",
     "            value = value\n", T_PEN),
    ("fd-no-divide-n", P + "dseal.py", "return squared_norm(r).mean() / n",
     "return squared_norm(r).mean()", T_PEN),
    ("fd-central-no-2", P + "dseal.py", "d = (difference(eps) - difference(-eps)) / (2 * eps)",
     "d = (difference(eps) - difference(-eps)) / eps", T_PEN),
    ("fd-eps-f32-tiny", P + "dseal.py", "        return 3e-2\n    return 1e-2",
     "        return 3e-2\n    return 1e-4", T_PEN + ["tests/test_autocast.py"]),
    ("auto-route-inverted", P + "dseal.py", 'return "reverse" if k <= self.n else "forward"',
     'return "forward" if k <= self.n else "reverse"', T_ROUTES),
    ("random-uniform-not-gaussian", P + "dseal.py", "u = torch.randn(fx.shape, generator=generator",
     "u = torch.rand(fx.shape, generator=generator", T_PEN),
    ("xi-sign", P + "dseal.py", "return self.in_rep.infinitesimal_all(self.algebra, x)",
     "return -self.in_rep.infinitesimal_all(self.algebra, x)", T_PEN),
    ("exp-near-identity-2nd-order", "liesoft/groups/expm.py",
     "return matrix_exp(M, degree=6, radius=0.05, ord=math.inf, whole_batch=True)",
     "return matrix_exp(M, degree=2, radius=0.05, ord=math.inf, whole_batch=True)", T_PEN),
    ("family-selects-all", "liesoft/groups/base.py", "idx = list(fams[selection])",
     "idx = list(range(len(names)))", T_PEN),
    ("reverse-unit-sign", P + "dseal.py", "unit[:, j] = 1", "unit[:, j] = -1", T_ROUTES + T_PEN),
    # ---------------------------------------------------------------- penalties/norms.py
    ("ln-unbiased-var", P + "norms.py",
     "y = centred * torch.rsqrt(centred.pow(2).mean(dims, keepdim=True) + eps)",
     "y = centred * torch.rsqrt(h.var(dims, keepdim=True) + eps)", T_ROUTES),
    ("logsoftmax-no-log", P + "norms.py", "return shifted - shifted.exp().sum(dim, keepdim=True).log()",
     "return shifted - shifted.exp().sum(dim, keepdim=True)", T_ROUTES),
    ("attention-scale-1-over-d", P + "norms.py", "scale = query.shape[-1] ** -0.5 if scale is None else scale",
     "scale = query.shape[-1] ** -1.0 if scale is None else scale", T_ROUTES + ["tests/test_attention_and_compile.py"]),
    ("causal-mask-upper", P + "norms.py", "dtype=torch.bool, device=query.device).tril()",
     "dtype=torch.bool, device=query.device).triu()", T_ROUTES + ["tests/test_attention_and_compile.py"]),
    # ---------------------------------------------------------------- penalties/model_state.py
    ("bn-unbiased-var", P + "model_state.py", "hd.var(dims, unbiased=False)", "hd.var(dims, unbiased=True)", T_MS),
    ("bn-stats-only-batch-axis", P + "model_state.py", "dims = [0, *range(2, h.ndim)]", "dims = [0]", T_MS),
    ("bn-stats-every-pass", P + "model_state.py", "        if key not in self._stats:\n            if h.ndim",
     "        if True:\n            if h.ndim", T_MS),
    ("noise-not-replayed", P + "model_state.py", "            torch.random.set_rng_state(self._cpu_state)\n",
     "            pass\n", T_MS),
    ("seed-from-global-rng", P + "model_state.py", "seed = int(torch.randint(0, 2 ** 62, (1,), generator=self.generator, device=gdev))",
     "seed = int(torch.randint(0, 2 ** 62, (1,), device=gdev))", T_MS),
    # ---------------------------------------------------------------- budget.py
    ("ema-decay-swapped", "liesoft/experimental/budget.py", "rho * state[\"ema\"] + (1 - rho) * gamma",
     "(1 - rho) * state[\"ema\"] + rho * gamma", T_BUD),
    ("lam-step-sign", "liesoft/experimental/budget.py", "lam * math.exp(self.rate * self.error(ema, target))",
     "lam * math.exp(-self.rate * self.error(ema, target))", T_BUD),
    ("budget-updates-in-eval", "liesoft/experimental/budget.py", "update = (self.training and torch.is_grad_enabled()",
     "update = (True and torch.is_grad_enabled()", T_BUD),
    ("clip-one-sided", "liesoft/experimental/budget.py", "max(-self.clip, min(self.clip,", "max(-100 * self.clip, min(self.clip,", T_BUD),
    ("inf-enters-update", "liesoft/experimental/budget.py", "        if not math.isfinite(gamma):\n",
     "        if math.isnan(gamma):\n", T_BUD),
    # ---------------------------------------------------------------- audit.py
    ("sem-is-std", "liesoft/audit.py", "e_list.append(v.std() / math.sqrt(v.numel()) if v.numel() > 1",
     "e_list.append(v.std() if v.numel() > 1", T_AUD),
    ("direction-not-unit", "liesoft/audit.py", "c = theta * c / c.norm(dim=-1, keepdim=True)",
     "c = theta * c", T_AUD),
    ("one-sample-sem-nan", "liesoft/audit.py", "if v.numel() > 1\n", "if v.numel() > 0\n", T_AUD),
    ("violation-squared", "liesoft/audit.py", "viol.append(squared_norm(f_gx - out_rep.act(g[sl], fx[sl])).sqrt())",
     "viol.append(squared_norm(f_gx - out_rep.act(g[sl], fx[sl])))", T_AUD),
    # ---------------------------------------------------------------- testing.py
    ("batch-dep-permute-only", "liesoft/testing.py",
     "pieces = [perm, torch.arange(half, device=x.device), torch.arange(half, batch, device=x.device)]",
     "pieces = [perm]", T_TEST),
    ("equiv-error-relative-unscaled", "liesoft/testing.py",
     "scale = rhs.abs().reshape(x.shape[0], -1).amax(-1).clamp(min=1.0)",
     "scale = torch.ones_like(diff)", T_TEST),
    # ---------------------------------------------------------------- reps
    ("dual-drho-no-sign", "liesoft/reps/linear.py", "return -self.rep._drho(A).transpose(-1, -2)",
     "return self.rep._drho(A).transpose(-1, -2)", T_REPS),
    ("dual-rho-no-inverse", "liesoft/reps/linear.py", "return torch.linalg.inv(self.rep._rho(g)).transpose(-1, -2)",
     "return self.rep._rho(g).transpose(-1, -2)", T_REPS),
    ("tensor-lower-first", "liesoft/reps/linear.py", "super().__init__(*([Vector()] * p + [Dual(Vector())] * q))",
     "super().__init__(*([Dual(Vector())] * q + [Vector()] * p))", T_REPS),
    ("product-act-float64-out", "liesoft/reps/linear.py",
     "return self._per_axis([r._rho(gw) for r in self.reps], xw, gw.shape[-1]).to(x.dtype)",
     "return self._per_axis([r._rho(gw) for r in self.reps], xw, gw.shape[-1])", T_REPS),
    ("kron-order", "liesoft/reps/linear.py", 'rearrange(out, "... i k j l -> ... (i k) (j l)")',
     'rearrange(out, "... i k j l -> ... (k i) (l j)")', T_REPS),
    ("point-inf-all-no-shift", "liesoft/reps/affine.py",
     "        out = out + shift.reshape(As.shape[0], *([1] * (x.ndim - 1)), shift.shape[-1])\n",
     "", T_REPS + T_PEN),
    # ---------------------------------------------------------------- groups
    ("lorentz-beta-uniform", "liesoft/groups/lorentz.py", "speed = (u * beta_max**2).sqrt()",
     "speed = u * beta_max", T_GRP),
    ("e3-translation-variance", "liesoft/groups/euclidean.py", "g[:, :3, 3] = translation_scale * torch.randn(",
     "g[:, :3, 3] = translation_scale ** 2 * torch.randn(", T_GRP + ["tests/test_groups.py", "--deselect=tests/test_groups.py::test_exp_of_algebra_lies_in_group"]),
    ("so-no-det-fix", "liesoft/groups/rotations.py", "        q[..., :, 0] *= torch.linalg.det(q).unsqueeze(-1)\n",
     "", T_GRP + ["tests/test_groups.py", "--deselect=tests/test_groups.py::test_exp_of_algebra_lies_in_group"]),
    ("discrete-dtype-ignored", "liesoft/groups/base.py",
     "return self._sampled(self._draw_discrete, n, generator, dtype, device, {})",
     "return self._sampled(self._draw_discrete, n, generator, torch.float64, device, {})",
     T_GRP + ["tests/test_groups.py", "--deselect=tests/test_groups.py::test_exp_of_algebra_lies_in_group"]),
    ("boost-active", "liesoft/groups/lorentz.py", "w = torch.cat([1 + gamma, -gamma * b], dim=-1)",
     "w = torch.cat([1 + gamma, gamma * b], dim=-1)", T_GRP),
    ("rodrigues-clockwise", "liesoft/groups/rotations.py", "return (eye + a * K + b * (K @ K)).to(axis_angle.dtype)",
     "return (eye - a * K + b * (K @ K)).to(axis_angle.dtype)", T_GRP),
    # ---------------------------------------------------------------- examples/hep/data
    ("det-phi-centre-half-bin", H + "data/detector.py", "phi_c = -np.pi + (np.mod(cells, n_phi) + 0.5) * dphi",
     "phi_c = -np.pi + np.mod(cells, n_phi) * dphi", T_DET),
    ("det-eta-centre-half-bin", H + "data/detector.py", "eta_c = (np.floor_divide(cells, n_phi) + 0.5) * cfg.cell_size",
     "eta_c = np.floor_divide(cells, n_phi) * cfg.cell_size", T_DET),
    ("det-pz-cosh", H + "data/detector.py", "cell_pt * np.sinh(eta_c)]", "cell_pt * np.cosh(eta_c)]", T_DET),
    ("det-resolution-not-squared", H + "data/detector.py", "rel = np.sqrt(cfg.stochastic**2 / cell_e + cfg.constant**2)",
     "rel = np.sqrt(cfg.stochastic / cell_e + cfg.constant**2)", T_DET),
    ("det-threshold-on-energy", H + "data/detector.py", "keep = (cell_e > 0) & (cell_pt >= cfg.pt_min)",
     "keep = (cell_e > 0) & (cell_e >= cfg.pt_min)", T_DET),
    ("det-acceptance-one-sided", H + "data/detector.py", "keep = (pt > 0) & (np.abs(eta) < cfg.eta_max)",
     "keep = (pt > 0) & (eta < cfg.eta_max)", T_DET),
    ("kin-phi-args-swapped", H + "data/detector.py", "phi = np.arctan2(py, px)", "phi = np.arctan2(px, py)",
     T_DET + T_LOAD),
    ("drop-soft-ascending", H + "data/detector.py", 'order = np.argsort(-pt, axis=-1, kind="stable")',
     'order = np.argsort(pt, axis=-1, kind="stable")', T_DET + T_LOAD),
    ("atlas-mass-mev", H + "data/loaders.py", 'np.asarray(f["fjet_m"][rows]) * MEV,', 'np.asarray(f["fjet_m"][rows]),', T_LOAD),
    ("atlas-energy-mev", H + "data/loaders.py", "p4 = np.stack([e * MEV, pt * np.cos(phi)", "p4 = np.stack([e, pt * np.cos(phi)", T_LOAD),
    ("gen-per-bin-off-by-one", H + "data/jetgen.py", "(i < n_total % len(bins))", "(i <= n_total % len(bins))", T_GEN),
    ("gen-key-hashes-format", H + "data/jetgen.py", "keyed = dict(settings, format_version=KEY_VERSION)",
     "keyed = dict(settings)", T_GEN + T_LOAD),
    ("gen-format2-regenerated", H + "data/jetgen.py", "if not targets or found >= TARGETS_FORMAT:",
     "if not targets or found > TARGETS_FORMAT:", T_GEN),
    ("gen-delta-r-no-wrap", H + "data/jetgen.py", "dphi = np.mod(np.asarray(phi1) - phi2 + np.pi, 2 * np.pi) - np.pi",
     "dphi = np.asarray(phi1) - phi2", T_GEN),
    ("gen-pt-bins-off-by-one", H + "data/jetgen.py", "edges = np.linspace(pt_min, pt_max, n_bins + 1)",
     "edges = np.linspace(pt_min, pt_max, n_bins)", T_GEN),
    ("gen-jets-not-permuted", H + "data/jetgen.py", "f.create_dataset(name, data=jets[perm, i].astype(np.float32))",
     "f.create_dataset(name, data=jets[:, i].astype(np.float32))", T_GEN + T_LOAD),
    ("toy-spurion-sign", H + "data/toy.py", "sp = -SPURION_Z * p[..., 3]", "sp = SPURION_Z * p[..., 3]", T_TOY),
    # ---------------------------------------------------------------- examples/hep training, models
    ("split-overlap", H + "training/data.py", "return take(perm[:a]), take(perm[a:b]), take(perm[b:])",
     "return take(perm[:a]), take(perm[a - 1:b]), take(perm[b:])", T_TOP + T_REG),
    ("np-sigmoid-sign", H + "training/inference.py", "return 1 / (1 + np.exp(-z))", "return 1 / (1 + np.exp(z))", T_TOP),
    ("boost-targets-other-jet", H + "training/data.py", "*(rep.act(g, torch.from_numpy(v).double()).numpy() for v in vectors))",
     "*(rep.act(g.flip(0), torch.from_numpy(v).double()).numpy() for v in vectors))", T_REG),
    ("weaver-v-order", H + "models/jet_inputs.py", "return p[..., [1, 2, 3, 0]].transpose(1, 2)",
     "return p[..., [0, 1, 2, 3]].transpose(1, 2)", T_PART),
    ("extrapolation-val-above-cut", H + "studies/top_tagging.py", "    train, val = keep(train), keep(val)\n",
     "    train, val = keep(train), val\n", T_TOP),
    ("regression-val-above-cut", H + "jet_regression.py", "    train, val = inside(train), inside(val)\n",
     "    train, val = inside(train), val\n", T_REG),
    # ---------------------------------------------------------------- examples/hep/evaluation
    ("resolution-full-iqr", H + "evaluation/regression.py", '"resolution": float((q75 - q25) / 2)',
     '"resolution": float(q75 - q25)', T_EVAL + T_REG),
    ("ratio-keeps-inf", H + "evaluation/regression.py", "ratio = ratio[np.isfinite(ratio)]",
     "ratio = ratio[~np.isnan(ratio)]", T_EVAL + T_REG),
    ("binned-closed-on-right", H + "evaluation/regression.py", "per_bin = [response_resolution(pred, true, (pt >= lo) & (pt < hi))",
     "per_bin = [response_resolution(pred, true, (pt > lo) & (pt <= hi))", T_EVAL + T_REG),
    ("rejection-wrong-quantile", H + "evaluation/tagging.py", "cut = np.quantile(scores[labels], 1 - signal_efficiency)",
     "cut = np.quantile(scores[labels], signal_efficiency)", T_EVAL),
    ("rejection-ties-strict", H + "evaluation/tagging.py", "eps_b = (scores[~labels] >= cut).mean()",
     "eps_b = (scores[~labels] > cut).mean()", T_EVAL),
    ("bacc-threshold-strict", H + "evaluation/tagging.py", "pred = np.asarray(labels).astype(bool), np.asarray(scores) >= threshold",
     "pred = np.asarray(labels).astype(bool), np.asarray(scores) > threshold", T_EVAL),
    ("mean-std-ddof0", H + "evaluation/tagging.py", '"std": float(v.std(ddof=1)) if v.size > 1 else 0.0',
     '"std": float(v.std()) if v.size > 1 else 0.0', T_EVAL),
]
