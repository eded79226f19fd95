"""Mutation lab 3 (issue 32 item 7): plausible bugs in the code that landed last, written from
the source and its docstrings (not from the tests): the pass policy for batch norm and dropout
(``penalties/model_state.py``, ``penalties/base.py``), the λ search, the learning-rate-following
budget, δSEAL's routes and the shared task pass, ``measure_violation``, the Sampler and the
generator selection, parity and user representations, group tolerances, the ParT / ParticleNet
/ LLoCa wrappers, augmentation, the data-efficiency schedule, and the experiment and
network-file code of the HEP examples. Replay from the repository root:

    OMP_NUM_THREADS=1 python tests/mutants/replay.py tests/mutants/issue32_lab3.py --timeout 600

Entries: (id, file, exact original text, mutated text, test files); the test files most likely
to catch a mutant come first (``pytest -x`` stops at the first failure). The lab's new tests
(``tests/test_mutation_lab3.py``, ``tests/hep/test_mutation_lab3.py``) come first where a
mutant survived the suite before them. Scores and killing tests: tests/MUTATIONS.md."""

L = "liesoft/"
P = "liesoft/penalties/"
H = "examples/hep/"
NEW = ["tests/test_mutation_lab3.py"]
NEW_HEP = ["tests/hep/test_mutation_lab3.py"]
T_MS = ["tests/test_model_state.py", "tests/test_one_call.py"]
T_ONE = ["tests/test_one_call.py", "tests/test_penalties.py"]
T_SEARCH = ["tests/test_lambda_search.py"]
T_BUD = ["tests/test_budget.py"]
T_DSEAL = ["tests/test_routes.py", "tests/test_penalty_errors.py", "tests/test_penalties.py"]
T_VIOL = ["tests/test_violation.py"]
T_SAMPLER = ["tests/test_sampler.py", "tests/test_penalties.py"]
T_GROUPS = ["tests/test_membership.py", "tests/test_groups.py", "tests/test_subgroups.py"]
T_REPS = ["tests/test_user_reps.py", "tests/test_reps.py", "tests/test_pinned_behaviours.py"]
WEAVER_TABLE1 = "tests/hep/test_toptag_weaver.py::test_weaver_methods_have_table1_penalties_and_lambdas"
T_PART = ["tests/hep/test_part.py", WEAVER_TABLE1]
T_PN = ["tests/hep/test_particlenet.py", WEAVER_TABLE1]
T_LLOCA = ["tests/hep/test_lloca_tagger.py"]
T_AUG = ["tests/hep/test_augment.py", "tests/hep/test_data_efficiency.py"]
# the data-efficiency file without its quick study (minutes; it runs the same functions)
T_EFF = ["tests/hep/test_data_efficiency.py",
         "--deselect=tests/hep/test_data_efficiency.py::test_the_quick_study_writes_results_"
         "metrics_and_figures_and_skips_finished_runs"]
T_EXP = ["tests/hep/test_network_files.py", "tests/hep/test_cli.py", "tests/hep/test_layout.py"]
T_NET = ["tests/hep/test_network_files.py"]
T_LOOP = ["tests/hep/test_golden_float64.py",
          "tests/hep/test_data_efficiency.py::test_train_one_validates_every_val_every_epochs_"
          "and_counts_patience_in_validations", "tests/hep/test_tagger.py"]
T_PEN = ["tests/hep/test_golden_float64.py", "tests/hep/test_tagger.py"]

MUTANTS = [
    # ------------------------------------------------------------ the pass policy (model_state)
    ("ms-training-flag-not-restored", P + "model_state.py",
     "            m.training = training\n            m._buffers[\"running_mean\"], "
     "m._buffers[\"running_var\"] = mean, var",
     "            m._buffers[\"running_mean\"], m._buffers[\"running_var\"] = mean, var",
     NEW + T_MS),
    ("ms-eval-batchnorm-gets-batch-stats", P + "model_state.py",
     "self.batch_norms = [m for m in mods if isinstance(m, _BatchNorm) and m.training]",
     "self.batch_norms = [m for m in mods if isinstance(m, _BatchNorm)]", NEW + T_MS),
    ("ms-eval-dropout-is-stochastic", P + "model_state.py",
     "stochastic = any(isinstance(m, _NOISE) and m.training and m.p > 0 for m in mods)",
     "stochastic = any(isinstance(m, _NOISE) and m.p > 0 for m in mods)", NEW + T_MS),
    ("ms-partial-keywords-unseen", P + "model_state.py",
     "stack.extend([obj.func, *obj.args, *obj.keywords.values()])",
     "stack.extend([obj.func, *obj.args])", NEW + T_MS),
    ("ms-shared-layer-one-stats", P + "model_state.py",
     "        key = (id(module), n)\n", "        key = (id(module), 0)\n", NEW + T_MS),
    ("ms-instance-norm-not-shielded", P + "model_state.py",
     "                        m._buffers[k] = t.detach().clone()",
     "                        m._buffers[k] = t", NEW + T_MS),
    ("ms-dropout-off-not-restored-on-error", P + "model_state.py",
     "    try:\n        for m in switched:\n            m.training = False\n        yield\n"
     "    finally:\n        for m in switched:\n            m.training = True",
     "    for m in switched:\n        m.training = False\n    yield\n"
     "    for m in switched:\n        m.training = True", NEW + T_MS),
    # ------------------------------------------------------------ the shared task pass (base)
    ("base-own-output-with-fraction", P + "base.py",
     "own_output = return_output and not passes.active and not self._reuses_fx and (\n"
     "            self.fraction >= 1)",
     "own_output = return_output and not passes.active and not self._reuses_fx",
     T_ONE + ["tests/test_penalty_errors.py"]),
    ("base-returns-subset-output", P + "base.py",
     "            return value, (fx if own_output else task_fx)",
     "            return value, (fx if own_output or self._reuses_fx else task_fx)",
     T_ONE + ["tests/test_model_state.py"]),
    ("base-subset-ignores-generator", P + "base.py",
     "        idx = torch.randperm(batch, generator=generator,",
     "        idx = torch.randperm(batch, generator=None,", NEW + T_ONE),
    ("base-subset-size-floor", P + "base.py",
     "        m = max(1, round(self.fraction * batch))",
     "        m = max(1, int(self.fraction * batch))", NEW + T_ONE),
    # ------------------------------------------------------------ the λ search
    ("search-band-one-sided", L + "lambda_search.py",
     "        if abs(_log_ratio(t.gamma, target)) <= band:",
     "        if _log_ratio(t.gamma, target) <= band:", NEW + T_SEARCH),
    ("search-bracket-farthest-high", L + "lambda_search.py",
     "lo, hi = max(high, key=lambda t: t.lam), min(low, key=lambda t: t.lam)",
     "lo, hi = min(high, key=lambda t: t.lam), min(low, key=lambda t: t.lam)",
     NEW + T_SEARCH),
    ("search-flat-steps-backwards", L + "lambda_search.py",
     "math.copysign(math.inf, -y0 / slope)", "math.copysign(math.inf, y0 / slope)",
     NEW + T_SEARCH),
    ("search-lam-below-lam-min", L + "lambda_search.py",
     "lam_next = min(max(math.exp(x), lam_min), lam_max)",
     "lam_next = min(math.exp(x), lam_max)", NEW + T_SEARCH),
    ("search-known-payload-dropped", L + "lambda_search.py",
     "out.append(Trial(lam, gamma, item[2] if len(item) == 3 else None, trained=False))",
     "out.append(Trial(lam, gamma, None, trained=False))", NEW + T_SEARCH),
    # ------------------------------------------------------------ the LR-following budget
    ("budget-lr-ratio-smallest", L + "experimental/budget.py",
     "        return max(ratios) if ratios else 1.0",
     "        return min(ratios) if ratios else 1.0", NEW + T_BUD),
    ("budget-reads-first-group-only", L + "experimental/budget.py",
     "        for i, group in enumerate(self.optimizer.param_groups):\n"
     "            lr = _group_lr(group, i)\n            if i >= len(refs):",
     "        for i, group in enumerate(self.optimizer.param_groups[:1]):\n"
     "            lr = _group_lr(group, i)\n            if i >= len(refs):", NEW + T_BUD),
    ("budget-lr-refs-not-loaded", L + "experimental/budget.py",
     "        self._lr_refs = [float(v) for v in self._lr_ref.tolist()]\n",
     "", NEW + T_BUD),
    ("budget-updates-with-eval-model", L + "experimental/budget.py",
     "        update = (self.training and torch.is_grad_enabled()\n"
     "                  and getattr(f, \"training\", True) is not False)",
     "        update = (self.training and torch.is_grad_enabled())", NEW + T_BUD),
    # ------------------------------------------------------------ δSEAL
    ("dseal-auto-route-forgotten", P + "dseal.py",
     "                    self._forward_shapes.add(shape)\n", "", T_DSEAL),
    ("dseal-fd-one-direction-per-batch", P + "dseal.py",
     "        c = torch.randn(x.shape[0], self.n, generator=generator, dtype=torch.float64,",
     "        c = torch.randn(1, self.n, generator=generator, dtype=torch.float64,",
     NEW + T_DSEAL),
    ("dseal-fx-reuse-with-fraction", P + "dseal.py",
     "            if self.fraction < 1:\n                raise ValueError(",
     "            if False:\n                raise ValueError(", NEW + T_DSEAL),
    # ------------------------------------------------------------ measure_violation
    ("violation-same-seed-every-draw", L + "violation.py",
     "            gen = torch.Generator(device=device).manual_seed(int(seed) + d)",
     "            gen = torch.Generator(device=device).manual_seed(int(seed))", NEW + T_VIOL),
    ("violation-stderr-population", L + "violation.py",
     "sum((v - mean) ** 2 for v in values) / (draws - 1) / draws)",
     "sum((v - mean) ** 2 for v in values) / draws / draws)", NEW + T_VIOL),
    ("violation-last-chunk-dropped", L + "violation.py",
     "            for i in range(0, n, chunk):",
     "            for i in range(0, n - chunk + 1, chunk):", NEW + T_VIOL),
    ("violation-flags-not-restored-on-error", L + "violation.py",
     "    try:\n        for m, _ in flags.values():\n            m.training = False\n        yield\n"
     "    finally:\n        for m, training in flags.values():\n            m.training = training",
     "    for m, _ in flags.values():\n        m.training = False\n    yield\n"
     "    for m, training in flags.values():\n        m.training = training", NEW + T_VIOL),
    # ------------------------------------------------------------ Sampler, groups
    ("sampler-check-draws-global-rng", L + "groups/sampler.py",
     "        group.sample(1, generator=torch.Generator(), **self.options)",
     "        group.sample(1, **self.options)", NEW + T_SAMPLER),
    ("select-names-misaligned", L + "groups/base.py",
     "        return Selection(L[idx].clone(), tuple(names[a] for a in idx), idx)",
     "        return Selection(L[idx].clone(), tuple(names[:len(idx)]), idx)",
     NEW + T_SAMPLER + ["tests/test_subgroups.py"]),
    ("contains-form-tolerance-unscaled", L + "groups/base.py",
     "            ok = ok & (r <= atol * size**2)", "            ok = ok & (r <= atol * size)",
     NEW + T_GROUPS),
    ("discrete-flip-probability", L + "groups/base.py",
     "flips = torch.rand(n, D.shape[0], generator=generator, device=dev) < 0.5",
     "flips = torch.rand(n, D.shape[0], generator=generator, device=dev) < 0.25",
     NEW + T_GROUPS + ["tests/test_pinned_behaviours.py"]),
    # ------------------------------------------------------------ representations
    ("rep-pow-zero-is-self", L + "reps/base.py",
     "return Scalar() if k == 0 else (self if k == 1 else Product(*([self] * k)))",
     "return self if k <= 1 else Product(*([self] * k))", NEW + T_REPS),
    ("rep-infinitesimal-all-float64-out", L + "reps/base.py",
     "        return out.reshape(As.shape[0], *lead, *x.shape[x.ndim - k:]).to(x.dtype)",
     "        return out.reshape(As.shape[0], *lead, *x.shape[x.ndim - k:])", NEW + T_REPS),
    ("verify-nan-passes", L + "reps/base.py",
     "        bad = {k: v for k, v in errors.items() if not v <= rtol}",
     "        bad = {k: v for k, v in errors.items() if v > rtol}", NEW + T_REPS),
    ("pseudoscalar-drho-one", L + "reps/parity.py",
     "        return torch.zeros(*A.shape[:-2], 1, 1, dtype=A.dtype, device=A.device)",
     "        return torch.ones(*A.shape[:-2], 1, 1, dtype=A.dtype, device=A.device)", T_REPS),
    # ------------------------------------------------------------ ParT, ParticleNet, inputs
    ("part-dphi-not-wrapped", H + "models/part.py",
     "    dphi = torch.remainder(phii - phij + math.pi, 2 * math.pi) - math.pi",
     "    dphi = phii - phij", NEW_HEP + T_PART),
    ("part-kt-of-the-harder", H + "models/part.py",
     "    ptmin = torch.minimum(pti, ptj)", "    ptmin = torch.maximum(pti, ptj)",
     NEW_HEP + T_PART),
    ("part-m2-energy-index", H + "models/part.py",
     "    m2 = s[:, 3:4] ** 2 - (s[:, :3] ** 2).sum(1, keepdim=True)",
     "    m2 = s[:, 0:1] ** 2 - (s[:, :3] ** 2).sum(1, keepdim=True)", NEW_HEP + T_PART),
    ("part-sqrt-at-zero", H + "models/part.py",
     "    ok = a > 0\n", "    ok = a >= 0\n", T_PART),
    ("inputs-invariants-not-masked", H + "models/jet_inputs.py",
     "    return feats * m, mask", "    return feats, mask", NEW_HEP + T_PART + T_PN),
    ("pn-points-eta-phi-shifted", H + "models/particlenet.py",
     "            points = feats[..., 4:6]  # Δη, Δφ", "            points = feats[..., 5:7]",
     NEW_HEP + T_PN),
    ("pn-k-check-off-by-one", H + "models/particlenet.py",
     "        if p.shape[1] < self.k_max + 1:", "        if p.shape[1] < self.k_max:",
     NEW_HEP + T_PN),
    ("lloca-pool-over-padding", H + "models/lloca_tagger.py",
     "        pooled = (h * m).sum(1) / m.sum(1)", "        pooled = h.mean(1)",
     NEW_HEP + T_LLOCA),
    ("lloca-frames-reset-global-rng", H + "models/lloca_tagger.py",
     "        with torch.random.fork_rng(devices=devices):\n",
     "        if devices is not None:\n", NEW_HEP + T_LLOCA),
    ("lloca-fallback-padding-first", H + "models/lloca_tagger.py",
     "order = torch.argsort((~mask).to(torch.int8), dim=1, stable=True)[:, :k]",
     "order = torch.argsort(mask.to(torch.int8), dim=1, stable=True)[:, :k]",
     NEW_HEP + T_LLOCA),
    # ------------------------------------------------------------ augmentation, efficiency
    ("augment-generator-ignored", H + "data/augment.py",
     "        g = self.sample(x.shape[0], x.device, generator)",
     "        g = self.sample(x.shape[0], x.device)", NEW_HEP + T_AUG),
    ("augment-beta-max-not-squared", H + "data/augment.py",
     "BETA_MAX = 0.95 ** 0.5  # the paper: |beta|^2 < 0.95",
     "BETA_MAX = 0.95  # the paper: |beta|^2 < 0.95", NEW_HEP + T_AUG),
    ("augment-one-boost-per-batch", H + "data/augment.py",
     "        boosted = self.rep.act(g, x)", "        boosted = self.rep.act(g[0], x)",
     NEW_HEP + T_AUG),
    ("eff-patience-in-epochs", H + "studies/efficiency.py",
     "    patience = math.ceil(patience_steps / (val_every * per_epoch))",
     "    patience = math.ceil(patience_steps / per_epoch)", NEW_HEP + T_EFF),
    ("eff-steps-per-epoch-floor", H + "studies/efficiency.py",
     "    per_epoch = math.ceil(n_train / batch)",
     "    per_epoch = max(1, n_train // batch)", NEW_HEP + T_EFF),
    ("eff-subsets-ignore-seed", H + "studies/efficiency.py",
     "    rng = np.random.default_rng(10_007 + seed)",
     "    rng = np.random.default_rng(10_007)", NEW_HEP + T_EFF),
    # ------------------------------------------------------------ experiment, network files
    ("resolve-colon-in-path", H + "experiment.py",
     "        net, _, pen = text.rpartition(\":\")", "        net, _, pen = text.partition(\":\")",
     NEW_HEP + T_EXP),
    ("resolve-stem-keeps-suffix", H + "experiment.py",
     "            net, stem = str(path.resolve()), path.stem",
     "            net, stem = str(path.resolve()), path.name", NEW_HEP + T_EXP),
    ("spec-records-exact-mode", H + "experiment.py",
     "            if p.mode != \"exact\":\n                out[\"mode\"] = p.mode",
     "            out[\"mode\"] = p.mode", NEW_HEP + T_EXP + [WEAVER_TABLE1]),
    ("parse-values-zero-allowed", H + "experiment.py",
     "(number >= 0 if allow_zero else number > 0)", "number >= 0", NEW_HEP + T_EXP),
    ("budget-method-keeps-paper-lam", H + "experiment.py",
     "penalty=dataclasses.replace(_P[kind], lam=1.0,", "penalty=dataclasses.replace(_P[kind],",
     NEW_HEP + T_EXP),
    ("network-file-cache-by-name", H + "models/networks.py",
     "hashlib.sha1(str(path).encode()).hexdigest()[:12]",
     "hashlib.sha1(path.name.encode()).hexdigest()[:12]", NEW_HEP + T_NET),
    ("masked-network-mask-all", H + "models/networks.py",
     "        out = self.model(p, (p != 0).any(-1))", "        out = self.model(p, (p != 0).all(-1))",
     NEW_HEP + T_NET),
    # ------------------------------------------------------------ the training loop, penalty
    ("penalised-output-last-pass", H + "training/penalty.py",
     "        store.setdefault(\"out\", out)", "        store[\"out\"] = out", NEW_HEP + T_PEN),
    ("penalised-prob-logit-swapped", H + "training/penalty.py",
     "        return torch.sigmoid(out) if on == \"prob\" else out",
     "        return torch.sigmoid(out) if on == \"logit\" else out", NEW_HEP + T_PEN),
    ("build-penalty-fraction-dropped", H + "training/penalty.py",
     "mode=spec.mode, fraction=spec.fraction,", "mode=spec.mode,", NEW_HEP + T_PEN),
    ("build-penalty-beta-max-dropped", H + "training/penalty.py",
     "fraction=spec.fraction, beta_max=beta_max)", "fraction=spec.fraction)", NEW_HEP + T_PEN),
    ("train-step-no-zero-grad", H + "training/loop.py",
     "    optimizer.zero_grad(set_to_none=True)\n", "", NEW_HEP + T_LOOP),
    ("objective-augment-global-rng", H + "training/loop.py",
     "                x = augment(x, generator)", "                x = augment(x, None)",
     NEW_HEP + T_LOOP),
    ("objective-logs-lam-gamma", H + "training/loop.py",
     "        if budget is not None:\n            pen = torch.tensor(budget.value, "
     "device=task.device)\n", "", NEW_HEP + T_LOOP),
    ("fit-modules-not-trained", H + "training/loop.py",
     "        for m in modules:\n            m.train()\n", "", NEW_HEP + T_LOOP),
    ("fit-times-list-replaced", H + "training/loop.py",
     "    times = [] if times is None else times", "    times = []", NEW_HEP + T_LOOP),
    ("train-one-cache-ignores-lam", H + "training/loop.py",
     "    key = (tag, method.name, seed, lam)", "    key = (tag, method.name, seed)",
     NEW_HEP + T_LOOP),
    ("train-one-same-order-every-epoch", H + "training/loop.py",
     "            seed * 7919 + epoch))", "            seed * 7919))", NEW_HEP + T_LOOP),
    ("train-one-last-epoch-not-validated", H + "training/loop.py",
     "        if (epoch + 1) % val_every and epoch + 1 < epochs:",
     "        if (epoch + 1) % val_every:", NEW_HEP + T_LOOP),
    ("train-one-patience-off-by-one", H + "training/loop.py",
     "state[\"done\"] = state[\"bad\"] >= cfg[\"patience\"] or", "state[\"done\"] = state[\"bad\"] > "
     "cfg[\"patience\"] or", NEW_HEP + T_LOOP),
]
