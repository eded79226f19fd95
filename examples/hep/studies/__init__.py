"""Studies: what the scripts run, each with its configuration, its trainings (resumable: one
result file or checkpoint per training) and its report.

* ``top_tagging``: ``toptag.py``'s studies (Table 1, timing, extrapolation, λ scan, cost)
  and their presets;
* ``efficiency``: ``data_efficiency.py``'s training sizes × methods, and its report;
* ``tagger_budget``: ``budget_tagging.py``'s fixed-λ front, violation budgets and λ searches
  on the tagger; ``toy_cells`` and ``toy_budget``: ``toy_regression.py``'s cells and its
  violation-budget study; ``budget_rules``: the in-training budget rules compared there
  (``liesoft.experimental.ViolationBudget`` and variants);
* ``search``: the λ search both budget studies share (``liesoft.find_lambda`` over trials).
"""
